//! `comments` feature: post, list (by time window, newest first) and delete comments.

use crate::cache::shared_if_anonymous;
use crate::cursor;
use crate::dto::{CommentList, CommentParams, CommentView, NewComment};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, AuthVideo, ReadableVideo};
use crate::reply::Reply;
use crate::state::AppState;
use crate::videos::check_author_id;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::Router;
use reel_core::domain::{Comment, CommentContent, CommentId};
use reel_core::metrics::{self, Metric};
use reel_core::ports::TimeWindow;

pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AppState: axum::extract::FromRef<S>,
{
    Router::new()
        .route(
            "/videos/{vid}/comments",
            post(post_comment).get(list_comments),
        )
        .route("/videos/{vid}/comments/{cid}", delete(delete_comment))
}

/// Comment on a video.
#[utoipa::path(post, path = "/videos/{vid}/comments", tag = "comments",
    params(("vid" = String, Path)), request_body = NewComment,
    security(("session_header" = [])),
    responses(
        (status = 201, body = CommentView),
        (status = 400, description = "`001` invalid content", body = ErrorBody),
        (status = 401, description = "`002` not signed in", body = ErrorBody),
        (status = 403, description = "`007` someone else's author_id", body = ErrorBody),
        (status = 404, description = "`005` no such video, or one the caller may not read", body = ErrorBody),
    ))]
pub async fn post_comment(
    State(state): State<AppState>,
    AuthVideo { me, video }: AuthVideo,
    ApiJson(body): ApiJson<NewComment>,
) -> Result<Reply<CommentView>, ApiError> {
    check_author_id(body.author_id.as_deref(), &me)?;
    let comment = Comment {
        id: CommentId::new(),
        video_id: video.id,
        author_id: me.id,
        author: me.name.clone(),
        content: CommentContent::parse(&body.content)?,
        time: state.clock.now(),
    };
    state.comments.create(&comment).await?;
    metrics::count(Metric::Comments, 1);
    Ok(Reply(StatusCode::CREATED, CommentView::from(comment)))
}

fn unix_seconds(raw: Option<&str>, name: &str) -> Result<Option<i64>, ApiError> {
    raw.filter(|r| !r.is_empty())
        .map(|r| {
            r.parse::<i64>()
                .ok()
                .filter(|s| *s >= 0)
                .ok_or_else(|| ApiError::bad_request(format!("{name} must be Unix seconds")))
        })
        .transpose()
}

/// A video's comments, newest first; `from` exclusive, `to` inclusive (Unix seconds).
#[utoipa::path(get, path = "/videos/{vid}/comments", tag = "comments",
    params(("vid" = String, Path), CommentParams),
    security((), ("session_header" = []), ("session_cookie" = [])),
    responses(
        (status = 200, body = CommentList, description = "Without a session (a public or unlisted video): `Cache-Control: public, max-age=60` and an `ETag`"),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 400, description = "`001` bad from/to/limit/cursor", body = ErrorBody),
        (status = 401, description = "`002` an internal video, without a session", body = ErrorBody),
        (status = 404, description = "`005` no such video, or one the caller may not read", body = ErrorBody),
    ))]
pub async fn list_comments(
    State(state): State<AppState>,
    ReadableVideo { viewer, video }: ReadableVideo,
    ApiQuery(params): ApiQuery<CommentParams>,
) -> Result<axum::response::Response, ApiError> {
    let window = TimeWindow {
        from: unix_seconds(params.from.as_deref(), "from")?,
        to: unix_seconds(params.to.as_deref(), "to")?,
    };
    // The window is part of the scope: a cursor is only valid for the list it came from.
    let scope = format!("comments:{}:{:?}:{:?}", video.id, window.from, window.to);
    let (comments, next_cursor) = cursor::one_page(
        &state.cursors,
        &scope,
        params.limit.as_deref(),
        params.cursor.as_deref(),
        |after, limit| async move {
            let comments = &state.comments;
            comments
                .list(&video.id, window, after.as_ref(), limit)
                .await
        },
    )
    .await?;
    let list = CommentList {
        comments: comments.into_iter().map(CommentView::from).collect(),
        next_cursor,
    };
    Ok(shared_if_anonymous(
        Reply(StatusCode::OK, list),
        viewer.as_ref(),
    ))
}

/// Delete a comment: its author or the video's owner.
#[utoipa::path(delete, path = "/videos/{vid}/comments/{cid}", tag = "comments",
    params(("vid" = String, Path), ("cid" = String, Path)),
    security(("session_header" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "`002` not signed in", body = ErrorBody),
        (status = 403, description = "`007` neither the comment's author nor the video's owner", body = ErrorBody),
        (status = 404, description = "`005` no such video or comment", body = ErrorBody),
    ))]
pub async fn delete_comment(
    State(state): State<AppState>,
    AuthVideo { me, video }: AuthVideo,
    ApiPath((_vid, cid)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = CommentId::parse(&cid).map_err(|_| ApiError::NotFound("comment"))?;
    let comment = state
        .comments
        .get(&id)
        .await?
        .filter(|c| c.video_id == video.id)
        .ok_or(ApiError::NotFound("comment"))?;
    if comment.author_id != me.id && video.author_id != me.id {
        return Err(ApiError::Forbidden(
            "only the comment's author or the video's owner may delete it",
        ));
    }
    state.comments.delete(&comment).await?;
    Ok(StatusCode::NO_CONTENT)
}
