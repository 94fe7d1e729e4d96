//! `web` feature: the server-rendered pages and their static assets, same-origin with the
//! API (no proxy). Templates and assets are compiled into the binary; assets are served
//! under a content-hash directory with a year-long immutable cache.

use crate::cache::shared_if_anonymous;
use crate::dto::VideoView;
use crate::error::ApiError;
use crate::extract::{viewer_of, ApiPath, AuthUser, MaybePathUser, MaybeUser, Origin, PathVideo};
use crate::state::AppState;
use crate::state::BlobUrlSigner;
use crate::views::VideoViews;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use minijinja::{context, Environment};
use reel_core::domain::{Access, Timestamp, Video, VideoStatus, Visibility};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use tower_http::set_header::SetResponseHeaderLayer;

/// Scripts, styles and media only from this origin (plus the blob store's, for S3); no
/// inline script; never framed.
const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; \
media-src 'self' blob: https:; connect-src 'self' https:; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AppState: axum::extract::FromRef<S>,
    BlobUrlSigner: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/", get(index))
        .route("/userhome", get(userhome))
        .route("/watch/{vid}", get(watch))
        .route("/explore", get(explore))
        .route("/u/{user_name}", get(channel))
        .route("/static/{version}/{file}", get(asset))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
}

/// One embedded static file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!("../web/static/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("api.js", JS),
    asset!("format.js", JS),
    asset!("comments.js", JS),
    asset!("signin.js", JS),
    asset!("home.js", JS),
    asset!("watch.js", JS),
    asset!("poster.js", JS),
    asset!("cards.js", JS),
    asset!("explore.js", JS),
    asset!("edit.js", JS),
    asset!("multipart.js", JS),
    asset!("favicon.svg", "image/svg+xml"),
];

/// A hash over every asset: the directory they are served under, so any change gives
/// new URLs and caches can keep old ones forever. Modules import each other relatively,
/// so they stay within one version.
fn assets_version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut hasher = Sha256::new();
        for a in ASSETS {
            hasher.update(a.name.as_bytes());
            hasher.update(a.bytes);
        }
        hex::encode(&hasher.finalize()[..6])
    })
}

/// Milliseconds as the pages show a length: `3:07`, `1:02:05`.
fn duration(ms: u64) -> String {
    let s = (ms + 500) / 1000;
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// The start of a text for a link preview: at most 200 characters, on one line, cut
/// at a word with "…" when longer.
fn excerpt(text: &str) -> String {
    const MAX: usize = 200;
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= MAX {
        return flat;
    }
    let cut: String = flat.chars().take(MAX - 1).collect();
    let at_word = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{at_word}…")
}

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.add_filter("duration", duration);
        env.add_filter("excerpt", excerpt);
        // `.html` names are auto-escaped: every user string renders as text.
        for (name, source) in [
            ("base.html", include_str!("../web/templates/base.html")),
            ("index.html", include_str!("../web/templates/index.html")),
            (
                "userhome.html",
                include_str!("../web/templates/userhome.html"),
            ),
            ("watch.html", include_str!("../web/templates/watch.html")),
            (
                "explore.html",
                include_str!("../web/templates/explore.html"),
            ),
            (
                "channel.html",
                include_str!("../web/templates/channel.html"),
            ),
            (
                "video_card.html",
                include_str!("../web/templates/video_card.html"),
            ),
            (
                "visibility_options.html",
                include_str!("../web/templates/visibility_options.html"),
            ),
            (
                "not_found.html",
                include_str!("../web/templates/not_found.html"),
            ),
        ] {
            env.add_template(name, source)
                .expect("embedded templates are valid");
        }
        env
    })
}

fn render(status: StatusCode, name: &str, ctx: minijinja::Value) -> Result<Response, ApiError> {
    let html = templates()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| {
            ApiError::Internal(anyhow::Error::new(e).context(format!("rendering {name}")))
        })?;
    Ok((status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response())
}

/// Videos on a page's grid (the feed, a channel): the first page in the HTML, more by
/// script.
const GRID_PAGE: &str = "24";

/// Context every page shares. The session id goes into a meta tag for the scripts,
/// which send it as `X-Session-Id`; the cookie itself stays HttpOnly. `indexable`:
/// whether search engines may index the page (only pages of public content).
fn page_context(state: &AppState, user: Option<&AuthUser>, indexable: bool) -> minijinja::Value {
    context! {
        static => format!("/static/{}", assets_version()),
        session => user.map(|u| u.session.as_str()),
        user_name => user.map(|u| u.name.as_str()),
        user_id => user.map(|u| u.id.to_string()),
        max_upload_bytes => state.config.api.max_upload_bytes.get(),
        noindex => !indexable,
    }
}

/// A video on a grid: its view and its age as text ("3 d ago").
#[derive(serde::Serialize)]
struct Card {
    #[serde(flatten)]
    video: VideoView,
    age: String,
}

/// The grid's cards of `videos`, their posters signed by `views`.
async fn cards(
    views: &VideoViews<'_>,
    videos: Vec<Video>,
    now: Timestamp,
) -> Result<Vec<Card>, ApiError> {
    let mut cards = Vec::with_capacity(videos.len());
    for video in videos {
        let age = age(video.created, now);
        cards.push(Card {
            video: views.of(video).await?,
            age,
        });
    }
    Ok(cards)
}

/// How long ago `then` was, as the pages' script also writes it.
fn age(then: Timestamp, now: Timestamp) -> String {
    match (now.unix_seconds() - then.unix_seconds()).max(0) {
        s if s < 60 => "just now".to_owned(),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s if s < 28 * 86_400 => format!("{} d ago", s / 86_400),
        _ => then.rfc3339()[..10].to_owned(),
    }
}

#[derive(serde::Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// `next` when it can only lead to a page of this site: a path (with an optional query)
/// that starts with one `/`, and holds no backslash, whitespace or control character.
/// Browsers drop tab, CR and LF inside URLs and read `\` as `/`, so `/\t/evil.example`
/// or `/\\evil.example` would leave the site: everything of the kind is refused.
fn safe_next(next: Option<&str>) -> Option<&str> {
    next.filter(|n| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n
                .chars()
                .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
            && n.parse::<axum::http::uri::PathAndQuery>().is_ok()
    })
}

async fn index(MaybeUser(user): MaybeUser, Query(next): Query<Next>) -> Result<Response, ApiError> {
    let next = safe_next(next.next.as_deref());
    if user.is_some() {
        return Ok(found(next.unwrap_or("/userhome")));
    }
    let ctx = context! { static => format!("/static/{}", assets_version()), next => next.unwrap_or("/userhome"), signing_in => true };
    render(StatusCode::OK, "index.html", ctx)
}

async fn userhome(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
) -> Result<Response, ApiError> {
    let Some(user) = user else {
        return Ok(found("/"));
    };
    render(
        StatusCode::OK,
        "userhome.html",
        page_context(&state, Some(&user), false),
    )
}

/// The 404 page, with the viewer's header.
fn not_found_page(
    state: &AppState,
    user: Option<&AuthUser>,
    what: &str,
) -> Result<Response, ApiError> {
    let ctx = context! { what => what, ..page_context(state, user, false) };
    render(StatusCode::NOT_FOUND, "not_found.html", ctx)
}

/// A video's page: to whoever may read it (without a session for a public or unlisted
/// one, with link-preview tags); an internal video without a session sends the visitor
/// to sign in first; anything else is the 404 page.
async fn watch(
    State(state): State<AppState>,
    State(BlobUrlSigner(urls)): State<BlobUrlSigner>,
    PathVideo { viewer, video }: PathVideo,
    origin: Origin,
    ApiPath(vid): ApiPath<String>,
) -> Result<Response, ApiError> {
    let user = viewer.as_ref();
    let Some(video) = video else {
        return not_found_page(&state, user, "video");
    };
    match video.exposure().access(viewer_of(user)) {
        Access::Read => {}
        Access::SignInFirst => {
            return Ok(found(&format!("/?next=/watch/{}", safe_path_segment(&vid))));
        }
        Access::Hidden => return not_found_page(&state, user, "video"),
    }
    let public = video.in_feed();
    let previewed = video.status == VideoStatus::Ready
        && matches!(video.visibility, Visibility::Public | Visibility::Unlisted);
    let owner = user.is_some_and(|u| u.id == video.author_id);
    let page_url = format!("{}/watch/{}", origin.0, video.id);
    let views = VideoViews::new(urls.as_ref(), &origin, state.clock.now());
    let ctx = context! {
        video => views.of(video).await?,
        page_url => page_url,
        preview => previewed,
        owner => owner,
        ..page_context(&state, user, public)
    };
    let page = render(StatusCode::OK, "watch.html", ctx)?;
    Ok(shared_if_anonymous(page, user))
}

/// `/explore`: the feed as a grid.
async fn explore(
    State(state): State<AppState>,
    State(BlobUrlSigner(urls)): State<BlobUrlSigner>,
    MaybeUser(user): MaybeUser,
    origin: Origin,
) -> Result<Response, ApiError> {
    let (videos, next_cursor) = crate::videos::feed_page(&state, Some(GRID_PAGE), None).await?;
    let now = state.clock.now();
    let views = VideoViews::new(urls.as_ref(), &origin, now);
    let ctx = context! {
        videos => cards(&views, videos, now).await?,
        next_cursor => next_cursor,
        ..page_context(&state, user.as_ref(), true)
    };
    let page = render(StatusCode::OK, "explore.html", ctx)?;
    Ok(shared_if_anonymous(page, user.as_ref()))
}

/// `/u/{user_name}`: a channel, the user's videos the viewer may see in that list.
async fn channel(
    State(state): State<AppState>,
    State(BlobUrlSigner(urls)): State<BlobUrlSigner>,
    MaybePathUser {
        viewer,
        user: author,
    }: MaybePathUser,
    origin: Origin,
) -> Result<Response, ApiError> {
    let user = viewer.as_ref();
    let Some(author) = author else {
        return not_found_page(&state, user, "channel");
    };
    let (videos, next_cursor) =
        crate::videos::author_page(&state, user, &author, Some(GRID_PAGE), None).await?;
    let now = state.clock.now();
    let views = VideoViews::new(urls.as_ref(), &origin, now);
    let ctx = context! {
        channel => author.name.as_str(),
        own => user.is_some_and(|u| u.id == author.id),
        videos => cards(&views, videos, now).await?,
        next_cursor => next_cursor,
        ..page_context(&state, user, true)
    };
    let page = render(StatusCode::OK, "channel.html", ctx)?;
    Ok(shared_if_anonymous(page, user))
}

/// 302, as the contract (and the original) has it; axum's `Redirect` offers 303/307/308.
fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => (
            StatusCode::FOUND,
            [(header::LOCATION, HeaderValue::from_static("/"))],
        )
            .into_response(),
    }
}

/// Keeps a path segment from smuggling query or fragment characters into a redirect.
fn safe_path_segment(segment: &str) -> String {
    segment
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

async fn asset(ApiPath((version, file)): ApiPath<(String, String)>) -> Result<Response, ApiError> {
    let found = ASSETS.iter().find(|a| a.name == file);
    match found {
        Some(a) if version == assets_version() => Ok((
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            a.bytes,
        )
            .into_response()),
        _ => Err(ApiError::NotFound("asset")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_get_one_line_of_at_most_200_characters() {
        assert_eq!(excerpt("Day one.\nDay  two."), "Day one. Day two.");
        let long = "word ".repeat(100);
        let cut = excerpt(&long);
        assert!(
            cut.chars().count() <= 200 && cut.ends_with("word…"),
            "{cut}"
        );
    }

    #[test]
    fn ages_read_as_the_scripts_write_them() {
        let now = Timestamp::from_unix_seconds(1_790_000_000);
        let ago = |s: i64| age(now.plus_seconds(-s), now);
        assert_eq!(ago(5), "just now");
        assert_eq!(ago(-30), "just now", "clock skew");
        assert_eq!(ago(59 * 60 + 59), "59 min ago");
        assert_eq!(ago(5 * 3600), "5 h ago");
        assert_eq!(ago(3 * 86_400), "3 d ago");
        assert_eq!(
            ago(40 * 86_400),
            now.plus_seconds(-40 * 86_400).rfc3339()[..10]
        );
    }

    #[test]
    fn lengths_read_as_clocks() {
        assert_eq!(super::duration(187_000), "3:07");
        assert_eq!(super::duration(1_499), "0:01");
        assert_eq!(super::duration(3_725_000), "1:02:05");
    }

    #[test]
    fn next_must_stay_on_this_site() {
        assert_eq!(safe_next(Some("/watch/x")), Some("/watch/x"));
        assert_eq!(safe_next(Some("/watch/x?t=1")), Some("/watch/x?t=1"));
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "watch",
            "",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/ /evil.example",
            "/\u{a0}/evil.example",
            "/\u{0}/x",
            "/\u{7f}/x",
            "/x\\y",
        ] {
            assert_eq!(safe_next(Some(bad)), None, "{bad:?}");
        }
    }

    #[test]
    fn every_template_and_asset_is_embedded() {
        for name in [
            "index.html",
            "userhome.html",
            "watch.html",
            "not_found.html",
            "explore.html",
            "channel.html",
        ] {
            assert!(templates().get_template(name).is_ok(), "{name}");
        }
        assert!(ASSETS.iter().all(|a| !a.bytes.is_empty()));
        assert_eq!(assets_version().len(), 12);
    }
}
