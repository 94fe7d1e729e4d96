//! `videos` feature: create, list, look up and delete videos.

use crate::cache::{shared, shared_if_anonymous};
use crate::cursor;
use crate::dto::{ListParams, NewVideo, VideoList, VideoPatch, VideoView};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{viewer_of, Origin};
use crate::extract::{ApiJson, ApiPath, ApiQuery, AuthUser, AuthVideo, Owner};
use crate::extract::{PathUser, ReadableVideo};
use crate::reply::Reply;
use crate::state::{AppState, BlobUrlSigner};
use crate::views::VideoViews;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use reel_core::domain::{
    Audience, Listing, User, Video, VideoChanges, VideoDescription, VideoId, VideoName, Visibility,
};

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
        .route("/videos", get(feed))
        .route("/videos/{vid}/info", get(video_info))
        .route("/videos/{vid}", axum::routing::patch(edit_video))
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
    let description = body
        .description
        .as_deref()
        .map(VideoDescription::parse)
        .transpose()?;
    check_author_id(body.author_id.as_deref(), &me)?;
    crate::quota::check_room_for_a_video(&state, &me.id).await?;
    let mut video = Video::new_pending(
        VideoId::new(),
        me.id,
        me.name.clone(),
        name,
        state.clock.now(),
    );
    if let Some(description) = description {
        video.description = description;
    }
    if let Some(visibility) = body.visibility {
        video.visibility = visibility.into();
    }
    state.videos.create(&video).await?;
    Ok(Reply(StatusCode::CREATED, VideoView::new(video, None)))
}

/// A user's videos, newest first, as far as the caller may see them in that list:
/// everything for the owner, ready public and internal videos for other signed-in
/// users, ready public ones without a session (API.md's table).
#[utoipa::path(get, path = "/user/{user_name}/videos", tag = "videos",
    params(("user_name" = String, Path), ListParams),
    security((), ("session_header" = []), ("session_cookie" = [])),
    responses(
        (status = 200, body = VideoList, description = "Without a session: `Cache-Control: public, max-age=60` and an `ETag`"),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 400, description = "`001` bad limit or cursor", body = ErrorBody),
        (status = 404, description = "`005` no such user", body = ErrorBody),
    ))]
pub async fn list_videos(
    State(state): State<AppState>,
    State(BlobUrlSigner(urls)): State<BlobUrlSigner>,
    PathUser {
        viewer,
        user: author,
    }: PathUser,
    origin: Origin,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    let (videos, next_cursor) = author_page(
        &state,
        viewer.as_ref(),
        &author,
        params.limit.as_deref(),
        params.cursor.as_deref(),
    )
    .await?;
    let views = VideoViews::new(urls.as_ref(), &origin, state.clock.now());
    let list = views.list(videos, next_cursor).await?;
    Ok(shared_if_anonymous(
        Reply(StatusCode::OK, list),
        viewer.as_ref(),
    ))
}

/// One page of `author`'s list as `viewer` may see it (the API's and the channel
/// page's): the store filters by the audience, and every video is checked against the
/// one decision.
pub(crate) async fn author_page(
    state: &AppState,
    viewer: Option<&AuthUser>,
    author: &User,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<(Vec<Video>, Option<String>), ApiError> {
    let audience = Audience::of(viewer_of(viewer), &author.id);
    let (videos, next) = cursor::one_page(
        &state.cursors,
        &format!("videos:{}", author.id),
        limit,
        cursor,
        |after, limit| async move {
            let videos = &state.videos;
            videos
                .list_by_author(&author.id, audience, after.as_ref(), limit)
                .await
        },
    )
    .await?;
    let listed = |v: &Video| v.exposure().listed(viewer_of(viewer), Listing::Author);
    Ok((videos.into_iter().filter(listed).collect(), next))
}

/// The feed: every user's ready public videos, newest first. The same for everyone,
/// so the session is not even read.
#[utoipa::path(get, path = "/videos", tag = "videos",
    params(ListParams),
    security(()),
    responses(
        (status = 200, body = VideoList, description = "Without a session: `Cache-Control: public, max-age=60` and an `ETag`"),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 400, description = "`001` bad limit or cursor", body = ErrorBody),
    ))]
pub async fn feed(
    State(state): State<AppState>,
    State(BlobUrlSigner(urls)): State<BlobUrlSigner>,
    origin: Origin,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    let (videos, next_cursor) =
        feed_page(&state, params.limit.as_deref(), params.cursor.as_deref()).await?;
    let views = VideoViews::new(urls.as_ref(), &origin, state.clock.now());
    let list = views.list(videos, next_cursor).await?;
    Ok(shared(Reply(StatusCode::OK, list)))
}

/// One page of the feed (the API's and `/explore`'s), each video checked against the
/// one decision as every list is.
pub(crate) async fn feed_page(
    state: &AppState,
    limit: Option<&str>,
    cursor: Option<&str>,
) -> Result<(Vec<Video>, Option<String>), ApiError> {
    let (videos, next) = cursor::one_page(
        &state.cursors,
        "feed",
        limit,
        cursor,
        |after, limit| async move { state.videos.list_feed(after.as_ref(), limit).await },
    )
    .await?;
    let in_feed = |v: &Video| {
        v.exposure()
            .listed(reel_core::domain::Viewer::Anonymous, Listing::Feed)
    };
    Ok((videos.into_iter().filter(in_feed).collect(), next))
}

/// One video's metadata, to whoever may read it.
#[utoipa::path(get, path = "/videos/{vid}/info", tag = "videos",
    params(("vid" = String, Path)),
    security((), ("session_header" = []), ("session_cookie" = [])),
    responses(
        (status = 200, body = VideoView, description = "Without a session (a public or unlisted video): `Cache-Control: public, max-age=60` and an `ETag`"),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 401, description = "`002` an internal video, without a session", body = ErrorBody),
        (status = 404, description = "`005` no such video, or one the caller may not read", body = ErrorBody),
    ))]
pub async fn video_info(
    State(state): State<AppState>,
    State(BlobUrlSigner(urls)): State<BlobUrlSigner>,
    ReadableVideo { viewer, video }: ReadableVideo,
    origin: Origin,
) -> Result<Response, ApiError> {
    let views = VideoViews::new(urls.as_ref(), &origin, state.clock.now());
    let view = views.of(video).await?;
    Ok(shared_if_anonymous(
        Reply(StatusCode::OK, view),
        viewer.as_ref(),
    ))
}

/// Edit a video's name, description and visibility (its owner). Takes effect at once
/// on every route the server answers; a stream URL already handed out lasts until it
/// expires (`REEL_STREAM_URL_TTL_SECS`).
#[utoipa::path(patch, path = "/videos/{vid}", tag = "videos",
    params(("vid" = String, Path)), request_body = VideoPatch,
    security(("session_header" = [])),
    responses(
        (status = 200, body = VideoView),
        (status = 400, description = "`001` empty body, unknown field or bad value", body = ErrorBody),
        (status = 401, description = "`002` not signed in", body = ErrorBody),
        (status = 403, description = "`007` not the owner (of a video the caller may read)", body = ErrorBody),
        (status = 404, description = "`005` no such video, or one the caller may not read", body = ErrorBody),
    ))]
pub async fn edit_video(
    State(state): State<AppState>,
    State(BlobUrlSigner(urls)): State<BlobUrlSigner>,
    AuthVideo { me, video }: AuthVideo,
    origin: Origin,
    ApiJson(body): ApiJson<VideoPatch>,
) -> Result<Reply<VideoView>, ApiError> {
    if video.author_id != me.id {
        return Err(ApiError::Forbidden("only the owner may edit a video"));
    }
    let changes = VideoChanges {
        name: body.name.as_deref().map(VideoName::parse).transpose()?,
        description: body
            .description
            .as_deref()
            .map(VideoDescription::parse)
            .transpose()?,
        visibility: body.visibility.map(Visibility::from),
    };
    if changes.is_empty() {
        return Err(ApiError::bad_request(
            "name, description or visibility is required",
        ));
    }
    let edited = state
        .videos
        .update_details(&video, &changes)
        .await?
        .ok_or(ApiError::NotFound("video"))?;
    tracing::info!(video = %edited.id, visibility = edited.visibility.as_str(), "video edited");
    let views = VideoViews::new(urls.as_ref(), &origin, state.clock.now());
    Ok(Reply(StatusCode::OK, views.of(edited).await?))
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
    crate::extract::require_access(&video, Some(&me))?;
    if video.author_id != me.id {
        return Err(ApiError::Forbidden("only the owner may delete a video"));
    }
    if !state.videos.delete(&video, state.clock.now()).await? {
        return Err(ApiError::NotFound("video"));
    }
    tracing::info!(video = %video.id, "video deleted");
    Ok(StatusCode::NO_CONTENT)
}
