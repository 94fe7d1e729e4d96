//! `videos` feature: create, list, look up and delete videos.

use crate::cursor;
use crate::dto::{ListParams, NewVideo, VideoList, VideoView};
use crate::error::{ApiError, ErrorBody};
use crate::extract::Origin;
use crate::extract::{ApiJson, ApiPath, ApiQuery, AuthPathUser, AuthUser, AuthVideo, Owner};
use crate::reply::Reply;
use crate::state::{AppState, BlobUrlSigner};
use crate::views::VideoViews;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::Router;
use reel_core::domain::{Video, VideoId, VideoName, VideoStatus};

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AppState: axum::extract::FromRef<S>,
    BlobUrlSigner: axum::extract::FromRef<S>,
{
    Router::new()
        .route(
            "/user/{user_name}/videos",
            post(create_video).get(list_videos),
        )
        .route("/videos/{vid}/info", get(video_info))
        .route("/user/{user_name}/videos/{vid}", delete(delete_video))
}

/// The video named by a path segment; a malformed id is just as absent as an unknown one.
pub(super) async fn existing_video(state: &AppState, raw: &str) -> Result<Video, ApiError> {
    let id = VideoId::parse(raw).map_err(|_| ApiError::NotFound("video"))?;
    state
        .videos
        .get(&id)
        .await?
        .ok_or(ApiError::NotFound("video"))
}

/// 403 when a body's optional `author_id` names someone other than the signed-in user.
pub(super) fn check_author_id(claimed: Option<&str>, me: &AuthUser) -> Result<(), ApiError> {
    match claimed {
        Some(id) if id != me.id.to_string() => {
            Err(ApiError::Forbidden("author_id must be your own id"))
        }
        _ => Ok(()),
    }
}

/// Create a video (its bytes come later through `POST /upload/{vid}`).
#[utoipa::path(post, path = "/user/{user_name}/videos", tag = "videos",
    params(("user_name" = String, Path)), request_body = NewVideo,
    security(("session_header" = [])),
    responses(
        (status = 201, body = VideoView),
        (status = 400, description = "`001` invalid name", body = ErrorBody),
        (status = 401, description = "`002` not signed in", body = ErrorBody),
        (status = 403, description = "`007` not the path's user, or someone else's author_id", body = ErrorBody),
        (status = 429, description = "`008` too many of the user's videos are waiting for their bytes (`REEL_MAX_PENDING_VIDEOS`)", body = ErrorBody),
    ))]
pub async fn create_video(
    State(state): State<AppState>,
    Owner(me): Owner,
    ApiJson(body): ApiJson<NewVideo>,
) -> Result<Reply<VideoView>, ApiError> {
    let name = VideoName::parse(&body.name)?;
    check_author_id(body.author_id.as_deref(), &me)?;
    crate::quota::check_room_for_a_video(&state, &me.id).await?;
    let video = Video::new_pending(
        VideoId::new(),
        me.id,
        me.name.clone(),
        name,
        state.clock.now(),
    );
    state.videos.create(&video).await?;
    Ok(Reply(StatusCode::CREATED, VideoView::new(video, None)))
}

/// A user's videos, newest first (their rejected uploads to themselves alone).
#[utoipa::path(get, path = "/user/{user_name}/videos", tag = "videos",
    params(("user_name" = String, Path), ListParams),
    security(("session_header" = []), ("session_cookie" = [])),
    responses(
        (status = 200, body = VideoList),
        (status = 400, description = "`001` bad limit or cursor", body = ErrorBody),
        (status = 401, description = "`002` not signed in", body = ErrorBody),
        (status = 404, description = "`005` no such user", body = ErrorBody),
    ))]
pub async fn list_videos(
    State(state): State<AppState>,
    State(BlobUrlSigner(urls)): State<BlobUrlSigner>,
    AuthPathUser { me, user: author }: AuthPathUser,
    origin: Origin,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Reply<VideoList>, ApiError> {
    let (videos, next_cursor) = cursor::one_page(
        &state.cursors,
        &format!("videos:{}", author.id),
        params.limit.as_deref(),
        params.cursor.as_deref(),
        |after, limit| async move {
            let videos = &state.videos;
            videos
                .list_by_author(&author.id, after.as_ref(), limit)
                .await
        },
    )
    .await?;
    let views = VideoViews::new(urls.as_ref(), &origin, state.clock.now());
    let visible = videos.into_iter().filter(|v| visible_to(v, &me)).collect();
    let videos = views.all(visible).await?;
    Ok(Reply(
        StatusCode::OK,
        VideoList {
            videos,
            next_cursor,
        },
    ))
}

/// A rejected upload is its owner's business alone.
pub(crate) fn visible_to(video: &Video, viewer: &AuthUser) -> bool {
    video.status != VideoStatus::Rejected || video.author_id == viewer.id
}

/// One video's metadata.
#[utoipa::path(get, path = "/videos/{vid}/info", tag = "videos",
    params(("vid" = String, Path)),
    security(("session_header" = []), ("session_cookie" = [])),
    responses(
        (status = 200, body = VideoView),
        (status = 401, description = "`002` not signed in", body = ErrorBody),
        (status = 404, description = "`005` no such video", body = ErrorBody),
    ))]
pub async fn video_info(
    State(state): State<AppState>,
    State(BlobUrlSigner(urls)): State<BlobUrlSigner>,
    AuthVideo { video, .. }: AuthVideo,
    origin: Origin,
) -> Result<Reply<VideoView>, ApiError> {
    let views = VideoViews::new(urls.as_ref(), &origin, state.clock.now());
    Ok(Reply(StatusCode::OK, views.of(video).await?))
}

/// Delete a video: it disappears from every read at once; the deletion pipeline removes
/// its bytes and comments.
#[utoipa::path(delete, path = "/user/{user_name}/videos/{vid}", tag = "videos",
    params(("user_name" = String, Path), ("vid" = String, Path)),
    security(("session_header" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "`002` not signed in", body = ErrorBody),
        (status = 403, description = "`007` not the owner", body = ErrorBody),
        (status = 404, description = "`005` no such video", body = ErrorBody),
    ))]
pub async fn delete_video(
    State(state): State<AppState>,
    Owner(me): Owner,
    ApiPath((_user, vid)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let video = existing_video(&state, &vid).await?;
    if video.author_id != me.id {
        return Err(ApiError::Forbidden("only the owner may delete a video"));
    }
    if !state.videos.delete(&video, state.clock.now()).await? {
        return Err(ApiError::NotFound("video"));
    }
    tracing::info!(video = %video.id, "video deleted");
    Ok(StatusCode::NO_CONTENT)
}
