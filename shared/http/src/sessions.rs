//! `sessions` feature: sign in (throttled) and sign out.

use crate::dto::{Credentials, SessionCreated};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ClientAddr, Origin, Owner, SESSION_COOKIE};
use crate::reply::json;
use crate::state::AppState;
use crate::throttle;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::Router;
use cookie::{Cookie, SameSite};
use reel_core::domain::{Password, SessionId, User, UserName};
use reel_core::metrics::{self, Metric};
use reel_core::ports::{Attempt, Session};

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AppState: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/user/{user_name}", post(sign_in))
        .route("/user/{user_name}/session", delete(sign_out))
}

/// Creates a session for `user` and answers with its id, setting the session cookie.
/// A sign-in's reserved attempt is given back in the same write.
pub(super) async fn start_session(
    state: &AppState,
    user: &User,
    attempt: Option<&Attempt>,
    origin: &Origin,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let id = SessionId::generate_for(&user.name);
    let ttl = state.config.api.session_ttl.as_secs();
    let session = Session {
        user_id: user.id,
        user_name: user.name.clone(),
        expires: state.clock.now().plus_seconds(ttl as i64),
    };
    match attempt {
        Some(attempt) => {
            state
                .sessions
                .create_releasing(&id, &session, attempt)
                .await?
        }
        None => state.sessions.create(&id, &session).await?,
    }
    let body = SessionCreated {
        success: true,
        session_id: id.as_str().to_owned(),
    };
    let mut response = json(status, &body);
    let cookie = session_cookie(id.as_str(), ttl as i64, origin);
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A `Set-Cookie` value that removes the session cookie.
pub(super) fn clear_cookie(origin: &Origin) -> HeaderValue {
    session_cookie("", 0, origin)
}

/// The session cookie's `Set-Cookie` value: HttpOnly (page scripts never read it),
/// SameSite=Lax, for the whole site, Secure when the site is reached over HTTPS.
fn session_cookie(value: &str, max_age_secs: i64, origin: &Origin) -> HeaderValue {
    let cookie = Cookie::build((SESSION_COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(time::Duration::seconds(max_age_secs))
        .secure(origin.is_https())
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("session ids are URL-safe text")
}

/// Sign in. The configured number of failures for one name from one client address
/// within a window refuses that pair (429) until the window has passed; other addresses
/// are unaffected, so a stranger cannot lock a user out. See [`throttle`].
#[utoipa::path(post, path = "/user/{user_name}", tag = "sessions",
    params(("user_name" = String, Path)), request_body = Credentials,
    responses(
        (status = 200, description = "Signed in; the session cookie is set too", body = SessionCreated),
        (status = 400, description = "`001` malformed body, or body name differs from the path", body = ErrorBody),
        (status = 401, description = "`002` wrong user name or password, or the account is disabled", body = ErrorBody),
        (status = 429, description = "`008` too many failed sign-ins", body = ErrorBody),
        (status = 503, description = "`011` busy: password hashing is saturated; retry after `Retry-After` seconds", body = ErrorBody),
    ))]
pub async fn sign_in(
    State(state): State<AppState>,
    ApiPath(path_name): ApiPath<String>,
    ClientAddr(client): ClientAddr,
    origin: Origin,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<Response, ApiError> {
    if body.user_name != path_name {
        return Err(ApiError::bad_request(
            "user_name in the body must match the path",
        ));
    }
    // Malformed names and passwords cannot match any account: same answer as a wrong one.
    let name = UserName::parse(&body.user_name).map_err(|_| refused())?;
    let password = Password::parse(&body.pwd).map_err(|_| refused())?;
    let attempt = throttle::reserve(&state, &name, &client).await?;
    let user = state.users.by_name(&name).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let password_ok = throttle::verify(&state, &attempt, password, hash).await?;
    match user {
        Some(user) if password_ok => {
            if user.disabled {
                throttle::release(&state, &attempt).await?;
                // Only the right password learns that the account is disabled.
                return Err(ApiError::AccountDisabled);
            }
            start_session(&state, &user, Some(&attempt), &origin, StatusCode::OK).await
        }
        // The reserved attempt stays counted: a failure.
        _ => Err(refused()),
    }
}

/// A sign-in refused for its credentials (401), counted as [`Metric::SignInFailures`].
/// A throttled one (429) is not: it is turned away before any password is checked.
fn refused() -> ApiError {
    metrics::count(Metric::SignInFailures, 1);
    ApiError::Unauthorized
}

/// Sign out: ends the presenting session.
#[utoipa::path(delete, path = "/user/{user_name}/session", tag = "sessions",
    params(("user_name" = String, Path)),
    security(("session_header" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "`002` not signed in", body = ErrorBody),
        (status = 403, description = "`007` another user's path", body = ErrorBody),
    ))]
pub async fn sign_out(
    State(state): State<AppState>,
    Owner(me): Owner,
    origin: Origin,
) -> Result<Response, ApiError> {
    state.sessions.delete(&me.session).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, clear_cookie(&origin))],
    )
        .into_response())
}
