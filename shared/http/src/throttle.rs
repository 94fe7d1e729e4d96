//! The password-check throttle, shared by every route that verifies a password (sign-in,
//! account deletion): per (user name, client address), at most the configured number of
//! failures in a fixed window; past it, 429 `008` until the window ends. The attempt is
//! reserved before the password is verified, so parallel guesses cannot outrun the count.

use crate::error::ApiError;
use crate::passwords;
use crate::state::AppState;
use reel_core::domain::{Password, PasswordHash, UserName, Window};
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

/// Verifies the password under a reserved attempt. A check that could not run (503 `011`
/// busy: hashing is saturated; or an internal failure) gives the attempt back: it is no
/// failed guess, and counting it would let a flood of strangers' sign-ins lock the owner
/// out of their account.
pub(super) async fn verify(
    state: &AppState,
    attempt: &Attempt,
    password: Password,
    hash: Option<PasswordHash>,
) -> Result<bool, ApiError> {
    match passwords::verify(password, hash).await {
        Ok(matches) => Ok(matches),
        Err(unchecked) => {
            if let Err(e) = release(state, attempt).await {
                // The check's own error is the one answered and logged; this one only
                // means the attempt stays counted until its window ends.
                tracing::warn!(cause = %e, "giving back an unchecked attempt");
            }
            Err(unchecked)
        }
    }
}
