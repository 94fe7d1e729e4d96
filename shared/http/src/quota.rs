//! Per-user upload quotas, so that one account cannot claim the site's storage in a
//! burst: at most `REEL_MAX_PENDING_VIDEOS` videos waiting for their bytes (429 `008`
//! past it), and at most `REEL_MAX_PENDING_UPLOAD_BYTES` granted for them altogether
//! (413 `009` past it). A video leaves the count when its bytes land or it is deleted.
//!
//! Checked before the write, against the store's count: requests of one account in
//! flight at the same moment can pass together, by at most their number (on DynamoDB
//! also by what its index has not caught up with, normally under a second).

use crate::error::ApiError;
use crate::state::AppState;
use reel_core::domain::{UserId, VideoId};

/// Room for one more pending video of `me`.
pub(crate) async fn check_room_for_a_video(state: &AppState, me: &UserId) -> Result<(), ApiError> {
    let usage = state.videos.pending_usage(me, None).await?;
    let max = u64::from(state.config.api.max_pending_videos.get());
    if usage.videos >= max {
        return Err(ApiError::TooManyRequests(
            "too many videos waiting for their bytes; upload or delete some first",
        ));
    }
    Ok(())
}

/// Room for an upload of `size` bytes to `video` (whose earlier grant it replaces). The
/// grant is then noted for the next check: by [`reserve_upload`], or for a multipart
/// upload by `Videos::begin_multipart` in the same write that records the upload.
pub(crate) async fn check_room_for_upload(
    state: &AppState,
    me: &UserId,
    video: &VideoId,
    size: u64,
) -> Result<(), ApiError> {
    let others = state.videos.pending_usage(me, Some(video)).await?;
    let max = state.config.api.max_pending_upload_bytes.get();
    if others.granted_bytes.saturating_add(size) > max {
        return Err(ApiError::PayloadTooLarge(
            "your uploads in progress would exceed your upload quota; finish or delete some first",
        ));
    }
    Ok(())
}

/// [`check_room_for_upload`], then the grant noted. `false` when the video is no longer
/// pending.
pub(crate) async fn reserve_upload(
    state: &AppState,
    me: &UserId,
    video: &VideoId,
    size: u64,
) -> Result<bool, ApiError> {
    check_room_for_upload(state, me, video, size).await?;
    Ok(state.videos.record_grant(video, size).await?)
}
