//! Argon2 is deliberately slow (~20 ms); run it off the async workers.

use super::error::ApiError;
use crate::domain::{Password, PasswordHash};

pub async fn hash(password: Password) -> Result<PasswordHash, ApiError> {
    tokio::task::spawn_blocking(move || password.hash())
        .await
        .map_err(|e| ApiError::Internal(e.into()))?
        .map_err(ApiError::Internal)
}

/// Verifies against the user's hash, or against a dummy one when there is no such user,
/// so a wrong name and a wrong password cost the same time.
pub async fn verify(password: Password, hash: Option<PasswordHash>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || match hash {
        Some(h) => password.matches(&h),
        None => {
            password.matches(PasswordHash::dummy());
            false
        }
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))
}
