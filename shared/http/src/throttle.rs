//! The password-check throttle, shared by every route that verifies a password (sign-in,
//! account deletion): per (user name, client address), at most the configured number of
//! failures in a fixed window; past it, 429 `008` until the window ends. The attempt is
//! reserved before the password is verified, so parallel guesses cannot outrun the count.

use crate::error::ApiError;
use crate::state::AppState;
use reel_core::domain::{UserName, Window};
use reel_core::ports::Attempt;

/// Reserves one password check, or refuses with 429 when the pair is throttled.
pub(super) async fn reserve(
    state: &AppState,
    name: &UserName,
    client: &str,
) -> Result<Attempt, ApiError> {
    let now = state.clock.now();
    let window = Window::containing(now, state.config.api.sign_in_window.as_secs() as i64);
    let max = state.config.api.sign_in_max_failures.get();
    let attempt = state
        .sessions
        .reserve_attempt(name, client, window, now, max)
        .await?;
    attempt.ok_or_else(|| {
        tracing::warn!(user = %name, client, "sign-in throttled");
        ApiError::TooManyRequests("too many failed sign-ins; try again later")
    })
}

/// Gives back the attempt of a password that was right: it is not a failure.
pub(super) async fn release(state: &AppState, attempt: &Attempt) -> Result<(), ApiError> {
    Ok(state.sessions.release_attempt(attempt).await?)
}
