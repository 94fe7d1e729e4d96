//! `web` feature: the server-rendered pages and their static assets, same-origin with the
//! API (no proxy). Templates and assets are compiled into the binary; assets are served
//! under a content-hash directory with a year-long immutable cache.

use crate::error::ApiError;
use crate::extract::Origin;
use crate::extract::{ApiPath, AuthUser};
use crate::state::AppState;
use crate::state::BlobUrlSigner;
use crate::videos::existing_video;
use crate::views::VideoViews;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use minijinja::{context, Environment};
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

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.add_filter("duration", duration);
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

/// The signed-in user if there is one; pages redirect instead of answering 401.
pub struct MaybeUser(pub Option<AuthUser>);

impl<S> FromRequestParts<S> for MaybeUser
where
    AppState: axum::extract::FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match AuthUser::from_request_parts(parts, state).await {
            Ok(user) => Ok(MaybeUser(Some(user))),
            Err(ApiError::Unauthorized) => Ok(MaybeUser(None)),
            Err(other) => Err(other),
        }
    }
}

/// Context every page shares. The session id goes into a meta tag for the scripts,
/// which send it as `X-Session-Id`; the cookie itself stays HttpOnly.
fn page_context(state: &AppState, user: &AuthUser) -> minijinja::Value {
    context! {
        static => format!("/static/{}", assets_version()),
        session => user.session.as_str(),
        user_name => user.name.as_str(),
        user_id => user.id.to_string(),
        max_upload_bytes => state.config.api.max_upload_bytes.get(),
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
    let ctx = context! { static => format!("/static/{}", assets_version()), next => next.unwrap_or("/userhome") };
    render(StatusCode::OK, "index.html", ctx)
}

async fn userhome(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
) -> Result<Response, ApiError> {
    let Some(user) = user else {
        return Ok(found("/"));
    };
    render(StatusCode::OK, "userhome.html", page_context(&state, &user))
}

async fn watch(
    State(state): State<AppState>,
    State(BlobUrlSigner(urls)): State<BlobUrlSigner>,
    MaybeUser(user): MaybeUser,
    origin: Origin,
    ApiPath(vid): ApiPath<String>,
) -> Result<Response, ApiError> {
    let Some(user) = user else {
        let back = format!("/?next=/watch/{}", safe_path_segment(&vid));
        return Ok(found(&back));
    };
    let base = page_context(&state, &user);
    match existing_video(&state, &vid).await {
        Ok(video) if crate::videos::visible_to(&video, &user) => {
            let views = VideoViews::new(urls.as_ref(), &origin, state.clock.now());
            let ctx = context! { video => views.of(video).await?, ..base };
            render(StatusCode::OK, "watch.html", ctx)
        }
        Ok(_) | Err(ApiError::NotFound(_)) => render(StatusCode::NOT_FOUND, "not_found.html", base),
        Err(other) => Err(other),
    }
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
        ] {
            assert!(templates().get_template(name).is_ok(), "{name}");
        }
        assert!(ASSETS.iter().all(|a| !a.bytes.is_empty()));
        assert_eq!(assets_version().len(), 12);
    }
}
