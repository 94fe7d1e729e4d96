//! Extractors: authentication, ownership, and JSON/query/path parsing whose rejections
//! come back in the API's error envelope.

use crate::error::ApiError;
use crate::proxy::{is_host, Viewer as ProxyViewer};
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Path, Request};
use axum::http::{header, request::Parts, HeaderMap, Method};
use bytes::Bytes;
use reel_core::domain::{
    Access, ClientKey, SessionId, User, UserId, UserName, Video, VideoId, Viewer,
};
use reel_core::ports::{Found, PathItem};
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::net::SocketAddr;

pub const SESSION_HEADER: &str = "x-session-id";
pub const SESSION_COOKIE: &str = "session";

/// The signed-in user, from the `X-Session-Id` header or, for GET/HEAD only, the
/// `session` cookie (a cookie alone never authorises a state change: CSRF defence).
/// Identity comes only from the server-side session; `X-User-Name` is ignored.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: UserId,
    pub name: UserName,
    pub session: SessionId,
}

impl AuthUser {
    /// 403 unless `path_user` is this user.
    pub fn require_self(&self, path_user: &str) -> Result<(), ApiError> {
        if path_user == self.name.as_str() {
            Ok(())
        } else {
            Err(ApiError::Forbidden("only the owner may do this"))
        }
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_owned())
}

/// The session id the request presents: the header, else (GET/HEAD only) the cookie.
fn presented_session(parts: &Parts) -> Result<SessionId, ApiError> {
    let from_header = parts
        .headers
        .get(SESSION_HEADER)
        .map(|v| v.to_str().unwrap_or(""));
    let safe_method = parts.method == Method::GET || parts.method == Method::HEAD;
    let raw = match from_header {
        Some(raw) => raw.to_owned(),
        None if safe_method => session_cookie(&parts.headers).ok_or(ApiError::Unauthorized)?,
        None => return Err(ApiError::Unauthorized),
    };
    SessionId::parse(raw.trim()).map_err(|_| ApiError::Unauthorized)
}

impl AuthUser {
    /// The request's user (401 without a live session) and, when `item` names one, the
    /// path's user or video, read together with the session ([`Sessions::get_with`]).
    async fn authenticate(
        parts: &Parts,
        state: &AppState,
        item: Option<PathItem<'_>>,
    ) -> Result<(Self, Option<Found>), ApiError> {
        let id = presented_session(parts)?;
        let now = state.clock.now();
        let (session, found) = match item {
            Some(item) => {
                let (session, found) = state.sessions.get_with(&id, now, item).await?;
                (session, Some(found))
            }
            None => (state.sessions.get(&id, now).await?, None),
        };
        let session = session.ok_or(ApiError::Unauthorized)?;
        let user = AuthUser {
            id: session.user_id,
            name: session.user_name,
            session: id,
        };
        Ok((user, found))
    }
}

impl AuthUser {
    /// Like [`AuthUser::authenticate`] for a route anyone may call: no session, or one
    /// that is unknown or expired, is an anonymous caller (`None`), not a 401 — the
    /// route's own rules then say what an anonymous caller gets. The path's item is
    /// read with the session when there is one (one round trip), else on its own.
    async fn authenticate_if_any(
        parts: &Parts,
        state: &AppState,
        item: Option<PathItem<'_>>,
    ) -> Result<(Option<Self>, Option<Found>), ApiError> {
        if presented_session(parts).is_ok() {
            match AuthUser::authenticate(parts, state, item).await {
                Ok((user, found)) => return Ok((Some(user), found)),
                Err(ApiError::Unauthorized) => {}
                Err(other) => return Err(other),
            }
        }
        let found = match item {
            Some(item) => Some(read_item(state, item).await?),
            None => None,
        };
        Ok((None, found))
    }
}

/// The path's user or video read without a session.
async fn read_item(state: &AppState, item: PathItem<'_>) -> Result<Found, ApiError> {
    Ok(match item {
        PathItem::User(name) => Found::User(state.users.by_name(name).await?),
        PathItem::Video(id) => Found::Video(state.videos.get(id).await?),
    })
}

/// Whether the request presents a session at all (valid or not): a reply to it is
/// never shared by a cache (see [`crate::cache`]).
pub fn carries_session(headers: &HeaderMap) -> bool {
    headers.contains_key(SESSION_HEADER) || session_cookie(headers).is_some()
}

/// Who is asking, for the access decision.
pub fn viewer_of(user: Option<&AuthUser>) -> Viewer<'_> {
    match user {
        Some(user) => Viewer::SignedIn(&user.id),
        None => Viewer::Anonymous,
    }
}

/// The one access decision ([`reel_core::domain::Exposure::access`]) as a reply: 401
/// `002` when signing in would let the caller read the video, 404 `005` when nothing
/// would (it is as if there were no such video).
pub fn require_access(video: &Video, user: Option<&AuthUser>) -> Result<(), ApiError> {
    match video.exposure().access(viewer_of(user)) {
        Access::Read => Ok(()),
        Access::SignInFirst => Err(ApiError::Unauthorized),
        Access::Hidden => Err(ApiError::NotFound("video")),
    }
}

/// The signed-in user if the request presents a live session, else `None` (an
/// anonymous caller, for the routes anyone may call).
pub struct MaybeUser(pub Option<AuthUser>);

impl<S> FromRequestParts<S> for MaybeUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = AppState::from_ref(state);
        Ok(MaybeUser(
            AuthUser::authenticate_if_any(parts, &state, None).await?.0,
        ))
    }
}

impl<S> FromRequestParts<S> for AuthUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = AppState::from_ref(state);
        Ok(AuthUser::authenticate(parts, &state, None).await?.0)
    }
}

/// One named parameter of the path, as sent.
async fn path_param<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
    name: &str,
) -> Result<String, ApiError> {
    let Path(mut params) =
        Path::<HashMap<String, String>>::from_request_parts(parts, state).await?;
    Ok(params.remove(name).unwrap_or_default())
}

/// The video of the path's `{vid}` and whoever asks for it, for the routes anyone may
/// call (info, stream, comment list, watch page): read with the session in one round
/// trip when there is one ([`Sessions::get_with`]), alone otherwise; then the access
/// decision ([`require_access`]): 404 `005` for an unknown, malformed or deleted video
/// or one the caller may not read, 401 `002` for one they may read once signed in.
pub struct ReadableVideo {
    pub viewer: Option<AuthUser>,
    pub video: Video,
}

impl<S> FromRequestParts<S> for ReadableVideo
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let PathVideo { viewer, video } = PathVideo::from_request_parts(parts, state).await?;
        let video = video.ok_or(ApiError::NotFound("video"))?;
        require_access(&video, viewer.as_ref())?;
        Ok(ReadableVideo { viewer, video })
    }
}

/// The path's `{vid}` as found (`None`: unknown, malformed or deleted) and whoever
/// asks, before any access decision: what a page needs to choose between the video,
/// a sign-in redirect and its 404 page (with the viewer's header).
pub struct PathVideo {
    pub viewer: Option<AuthUser>,
    pub video: Option<Video>,
}

impl<S> FromRequestParts<S> for PathVideo
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let id = VideoId::parse(&path_param(parts, state, "vid").await?).ok();
        let state = AppState::from_ref(state);
        let item = id.as_ref().map(PathItem::Video);
        let (viewer, found) = AuthUser::authenticate_if_any(parts, &state, item).await?;
        let video = match found {
            Some(Found::Video(Some(video))) => Some(state.videos.current(video).await?),
            _ => None,
        };
        Ok(PathVideo { viewer, video })
    }
}

/// [`ReadableVideo`] for the routes that need a session (posting a comment, upload
/// grants, edits): 401 without a live session, then the same access decision.
pub struct AuthVideo {
    pub me: AuthUser,
    pub video: Video,
}

impl<S> FromRequestParts<S> for AuthVideo
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let id = VideoId::parse(&path_param(parts, state, "vid").await?).ok();
        let state = AppState::from_ref(state);
        let item = id.as_ref().map(PathItem::Video);
        let (me, found) = AuthUser::authenticate(parts, &state, item).await?;
        let Some(Found::Video(Some(video))) = found else {
            return Err(ApiError::NotFound("video"));
        };
        let video = state.videos.current(video).await?;
        require_access(&video, Some(&me))?;
        Ok(AuthVideo { me, video })
    }
}

/// The signed-in user and the user of the path's `{user_name}`, read in one round trip:
/// 401 without a live session, then 404 `005` for an unknown or malformed name.
pub struct AuthPathUser {
    pub me: AuthUser,
    pub user: User,
}

impl<S> FromRequestParts<S> for AuthPathUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let name = UserName::parse(&path_param(parts, state, "user_name").await?).ok();
        let state = AppState::from_ref(state);
        let item = name.as_ref().map(PathItem::User);
        let (me, found) = AuthUser::authenticate(parts, &state, item).await?;
        let Some(Found::User(Some(user))) = found else {
            return Err(ApiError::NotFound("user"));
        };
        Ok(AuthPathUser { me, user })
    }
}

/// The user of the path's `{user_name}` and whoever asks (anyone may: a channel), read
/// in one round trip when there is a session: 404 `005` for an unknown or malformed name.
pub struct PathUser {
    pub viewer: Option<AuthUser>,
    pub user: User,
}

impl<S> FromRequestParts<S> for PathUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let MaybePathUser { viewer, user } =
            MaybePathUser::from_request_parts(parts, state).await?;
        let user = user.ok_or(ApiError::NotFound("user"))?;
        Ok(PathUser { viewer, user })
    }
}

/// [`PathUser`] with an unknown user as `None`, for a page that answers it with its 404
/// page.
pub struct MaybePathUser {
    pub viewer: Option<AuthUser>,
    pub user: Option<User>,
}

impl<S> FromRequestParts<S> for MaybePathUser
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let name = UserName::parse(&path_param(parts, state, "user_name").await?).ok();
        let state = AppState::from_ref(state);
        let item = name.as_ref().map(PathItem::User);
        let (viewer, found) = AuthUser::authenticate_if_any(parts, &state, item).await?;
        let user = match found {
            Some(Found::User(user)) => user,
            _ => None,
        };
        Ok(MaybePathUser { viewer, user })
    }
}

/// The signed-in user, who must be the `{user_name}` of the path (else 403). Checked
/// before the body is read, so a stranger learns nothing from body validation.
#[derive(Debug, Clone)]
pub struct Owner(pub AuthUser);

impl<S> FromRequestParts<S> for Owner
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        user.require_self(&path_param(parts, state, "user_name").await?)?;
        Ok(Owner(user))
    }
}

/// The signed-in user, who must be the `{user_name}` of the path (else 403, before the
/// body is read, as [`Owner`]), and that user's account read in the same round trip:
/// `None` if the name no longer holds the session's account.
pub struct OwnAccount {
    pub me: AuthUser,
    pub account: Option<User>,
}

impl<S> FromRequestParts<S> for OwnAccount
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = path_param(parts, state, "user_name").await?;
        let state = AppState::from_ref(state);
        let name = UserName::parse(&raw).ok();
        let item = name.as_ref().map(PathItem::User);
        let (me, found) = AuthUser::authenticate(parts, &state, item).await?;
        me.require_self(&raw)?;
        let account = match found {
            Some(Found::User(user)) => user.filter(|u| u.id == me.id),
            _ => None,
        };
        Ok(OwnAccount { me, account })
    }
}

/// A JSON body, whatever `Content-Type` the client declared (like the original, so
/// `curl -d` works). Malformed JSON, wrong types and missing fields are 400 `001`; a body
/// over the route's limit is 413 `009`. A browser's cross-site request is refused (403):
/// with sign-up and sign-in needing no session header, that stops login CSRF by forms.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let cross_site = req
            .headers()
            .get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
        if cross_site {
            return Err(ApiError::Forbidden("cross-site requests are refused"));
        }
        let bytes = Bytes::from_request(req, state).await?;
        let invalid = |e: serde_json::Error| {
            ApiError::bad_request(format!("request body is not correct: {e}"))
        };
        // Bodies are JSON objects; serde would otherwise also accept an array by position.
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(invalid)?;
        if !value.is_object() {
            return Err(ApiError::bad_request("request body must be a JSON object"));
        }
        serde_json::from_value(value).map(ApiJson).map_err(invalid)
    }
}

/// Query parameters, rejections in the envelope.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// Path parameters, rejections in the envelope.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// The client's address, the key sign-in throttling counts failures under (an IPv6
/// client's /64: see [`ClientKey`]): the [`PeerAddr`] its host supplied (API Gateway's
/// `requestContext.http.sourceIp` on Lambda, which API Gateway sets itself), else the
/// socket's peer (`ConnectInfo`, as the local server and axum's own servers insert it),
/// or, when that peer is one of `REEL_TRUSTED_PROXIES`, the client its
/// `X-Forwarded-For` names ([`reel_core::domain::TrustedProxies::client_of`]). Forwarded headers from
/// anyone else are never believed; CloudFront's viewer address is, on a request that
/// carried the origin secret (see [`crate::proxy`]).
pub struct ClientAddr(pub String);

/// The client's address as a host that does not serve from a socket of its own knows
/// it, as a request extension: the Lambda host inserts API Gateway's source address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAddr(pub String);

impl<S> FromRequestParts<S> for ClientAddr
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let vouched = parts
            .extensions
            .get::<ProxyViewer>()
            .and_then(|v| v.addr.clone())
            .or_else(|| parts.extensions.get::<PeerAddr>().map(|p| p.0.clone()));
        if let Some(addr) = vouched {
            return Ok(ClientAddr(ClientKey::opaque(&addr).as_str().to_owned()));
        }
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Ok(ClientAddr("unknown".to_owned()));
        };
        let forwarded_for = joined(&parts.headers, "x-forwarded-for");
        let proxies = &AppState::from_ref(state).config.api.trusted_proxies;
        let client = proxies.client_of(peer.ip(), forwarded_for.as_deref());
        Ok(ClientAddr(ClientKey::of(client).as_str().to_owned()))
    }
}

/// A header's values joined with commas (a list header may be sent as several).
fn joined(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// Whether `X-Forwarded-Proto` comes from someone who sets it: API Gateway (the Lambda
/// host, which supplies a [`PeerAddr`]) or a trusted proxy in front of the socket.
fn forwarded_proto_believed(parts: &Parts, state: &AppState) -> bool {
    if parts.extensions.get::<PeerAddr>().is_some() {
        return true;
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(peer)| state.config.api.trusted_proxies.contains(peer.ip()))
}

/// The site's origin as the client sees it, for URLs handed to the client:
/// `REEL_PUBLIC_URL`; else CloudFront's viewer host (on a request that carried the
/// origin secret); else the request's `Host`, over HTTPS only when `X-Forwarded-Proto`
/// says so and comes from API Gateway or a trusted proxy. A `Host` is only reflected to
/// the client that sent it (these replies are never cached), but a deployment that is
/// reachable by name should set `REEL_PUBLIC_URL`.
pub struct Origin(pub String);

impl Origin {
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// A URL for the client: one on this site (a path, as the embedded byte endpoint
    /// signs them) gets this origin in front; an absolute one (S3's) is kept.
    pub fn resolve(&self, url: String) -> String {
        if url.starts_with('/') {
            format!("{}{url}", self.0)
        } else {
            url
        }
    }
}

impl<S> FromRequestParts<S> for Origin
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let state = AppState::from_ref(state);
        if let Some(url) = &state.config.api.public_url {
            return Ok(Origin(url.clone()));
        }
        // Through the CloudFront distribution: the viewer's host, over HTTPS.
        if let Some(host) = parts
            .extensions
            .get::<ProxyViewer>()
            .and_then(|v| v.host.as_ref())
        {
            return Ok(Origin(format!("https://{host}")));
        }
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .filter(|h| is_host(h))
            .ok_or_else(|| ApiError::bad_request("a valid Host header is required"))?;
        let https = forwarded_proto_believed(parts, &state)
            && parts
                .headers
                .get("x-forwarded-proto")
                .is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"));
        let scheme = if https { "https" } else { "http" };
        Ok(Origin(format!("{scheme}://{host}")))
    }
}

#[cfg(test)]
mod tests {
    use super::Origin;

    #[test]
    fn a_path_on_the_site_gets_the_origin_and_an_absolute_url_is_kept() {
        let origin = Origin("http://127.0.0.1:8080".into());
        assert_eq!(
            origin.resolve("/blobs/v1?sig=x".into()),
            "http://127.0.0.1:8080/blobs/v1?sig=x"
        );
        let s3 = "https://bucket.s3.amazonaws.com/videos/v1?X-Amz-Signature=y";
        assert_eq!(origin.resolve(s3.into()), s3);
    }
}
