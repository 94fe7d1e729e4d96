//! `users` feature: sign up, look up a user, delete one's own account.

use crate::dto::{Credentials, PasswordConfirmation, SessionCreated, UserView};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, AuthPathUser, ClientAddr, Origin, OwnAccount};
use crate::passwords;
use crate::reply::Reply;
use crate::sessions::{clear_cookie, start_session};
use crate::state::AppState;
use crate::throttle;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use reel_core::domain::{Password, User, UserId, UserName};
use reel_core::metrics::{self, Metric};
use reel_core::ports::StoreError;

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AppState: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/user", post(sign_up))
        .route("/user/{user_name}", get(get_user).delete(delete_account))
}

/// Sign up and get a session.
#[utoipa::path(post, path = "/user", tag = "users", request_body = Credentials,
    responses(
        (status = 201, description = "Account created; the session cookie is set too", body = SessionCreated),
        (status = 400, description = "`001` invalid name or password", body = ErrorBody),
        (status = 409, description = "`006` the name is taken", body = ErrorBody),
        (status = 503, description = "`011` busy: password hashing is saturated; retry after `Retry-After` seconds", body = ErrorBody),
        (status = 413, description = "`009` body over 64 KiB", body = ErrorBody),
    ))]
pub async fn sign_up(
    axum::extract::State(state): axum::extract::State<AppState>,
    origin: Origin,
    ApiJson(body): ApiJson<Credentials>,
) -> Result<Response, ApiError> {
    let name = UserName::parse(&body.user_name)?;
    let password = Password::parse(&body.pwd)?;
    let user = User {
        id: UserId::new(),
        name,
        password_hash: passwords::hash(password).await?,
        created: state.clock.now(),
        disabled: false,
    };
    state.users.create(&user).await.map_err(|e| match e {
        StoreError::Conflict => ApiError::Conflict("user name is already taken"),
        other => other.into(),
    })?;
    tracing::info!(user = %user.name, "signed up");
    metrics::count(Metric::SignUps, 1);
    start_session(&state, &user, None, &origin, StatusCode::CREATED).await
}

/// Any signed-in user may look up a user.
#[utoipa::path(get, path = "/user/{user_name}", tag = "users",
    params(("user_name" = String, Path)),
    security(("session_header" = []), ("session_cookie" = [])),
    responses(
        (status = 200, body = UserView),
        (status = 401, description = "`002` not signed in", body = ErrorBody),
        (status = 404, description = "`005` no such user", body = ErrorBody),
    ))]
pub async fn get_user(
    AuthPathUser { user, .. }: AuthPathUser,
) -> Result<Reply<UserView>, ApiError> {
    Ok(Reply(StatusCode::OK, UserView::from(&user)))
}

/// Delete one's own account: its sessions at once, its videos through the deletion
/// pipeline.
#[utoipa::path(delete, path = "/user/{user_name}", tag = "users",
    params(("user_name" = String, Path)), request_body = PasswordConfirmation,
    security(("session_header" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "`001` malformed body", body = ErrorBody),
        (status = 401, description = "`002` not signed in, or wrong password", body = ErrorBody),
        (status = 403, description = "`007` another user's account", body = ErrorBody),
        (status = 429, description = "`008` too many failed password checks from this address", body = ErrorBody),
        (status = 503, description = "`011` busy: password hashing is saturated; retry after `Retry-After` seconds", body = ErrorBody),
    ))]
pub async fn delete_account(
    axum::extract::State(state): axum::extract::State<AppState>,
    OwnAccount { me, account }: OwnAccount,
    ClientAddr(client): ClientAddr,
    origin: Origin,
    ApiJson(body): ApiJson<PasswordConfirmation>,
) -> Result<Response, ApiError> {
    let password = Password::parse(&body.pwd).map_err(|_| ApiError::Unauthorized)?;
    // The same throttle as sign-in: a stolen session is no unlimited password oracle.
    let attempt = throttle::reserve(&state, &me.name, &client).await?;
    let Some(user) = account else {
        return Err(ApiError::Unauthorized);
    };
    let hash = Some(user.password_hash.clone());
    if !throttle::verify(&state, &attempt, password, hash).await? {
        return Err(ApiError::Unauthorized);
    }
    let now = state.clock.now();
    let videos = state
        .users
        .delete_account(&user, now, Some(&attempt))
        .await?;
    // A store may leave the videos to the dispatcher's sweep (AWS), and then hides none now.
    tracing::info!(user = %user.name, videos_hidden_now = videos.len(), "account deleted");
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, clear_cookie(&origin))],
    )
        .into_response())
}
