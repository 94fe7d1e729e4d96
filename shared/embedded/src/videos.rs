use super::db::{CachedStatements, SqliteStore};
use super::page::query_page;
use anyhow::Context;
use async_trait::async_trait;
use reel_core::domain::{
    Limit, Page, Timestamp, UserId, UserName, Video, VideoContentType, VideoId, VideoName,
    VideoStatus,
};
use reel_core::ports::{PendingUsage, SortKey, StoreResult, Videos};
use rusqlite::{params, OptionalExtension, Row};

const COLUMNS: &str = "id, author_id, author_name, name, created_us, status, size, content_type";

/// The columns of [`COLUMNS`], as SQLite stores them.
type VideoRow = (
    String,
    String,
    String,
    String,
    i64,
    String,
    i64,
    Option<String>,
);

fn video_from_row(r: &Row<'_>) -> rusqlite::Result<anyhow::Result<Video>> {
    let row: VideoRow = r.try_into()?;
    Ok(video_of(row).context("stored video row"))
}

fn video_of(
    (id, author_id, author, name, created, status, size, content_type): VideoRow,
) -> anyhow::Result<Video> {
    Ok(Video {
        id: VideoId::parse(&id)?,
        author_id: UserId::parse(&author_id)?,
        author: UserName::parse(&author)?,
        name: VideoName::parse(&name)?,
        created: Timestamp::from_micros(created),
        status: VideoStatus::from_stored(&status)?,
        size: u64::try_from(size)?,
        content_type,
    })
}

#[async_trait]
impl Videos for SqliteStore {
    async fn create(&self, video: &Video) -> StoreResult<()> {
        let v = video.clone();
        self.write(move |conn| {
            conn.execute_cached(
                &format!("INSERT INTO videos ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![
                    v.id.to_string(),
                    v.author_id.to_string(),
                    v.author.as_str(),
                    v.name.as_str(),
                    v.created.as_micros(),
                    v.status.as_str(),
                    i64::try_from(v.size)?,
                    v.content_type
                ],
            )
            .context("inserting video")?;
            Ok(())
        })
        .await
    }

    async fn get(&self, id: &VideoId) -> StoreResult<Option<Video>> {
        let id = id.to_string();
        self.read(move |conn| {
            conn.query_row_cached(
                &format!("SELECT {COLUMNS} FROM videos WHERE id = ?1"),
                [id],
                video_from_row,
            )
            .optional()
            .context("reading video")?
            .transpose()
        })
        .await
    }

    async fn list_by_author(
        &self,
        author: &UserId,
        after: Option<&SortKey>,
        limit: Limit,
    ) -> StoreResult<Page<Video, SortKey>> {
        let (author, after) = (author.to_string(), after.cloned());
        self.read(move |conn| {
            let sql = format!(
                "SELECT {COLUMNS} FROM videos WHERE author_id = ?1
                 AND (created_us, id) < (?2, ?3)
                 ORDER BY created_us DESC, id DESC LIMIT ?4"
            );
            let key = |v: &Video| SortKey {
                at: v.created,
                id: v.id.to_string(),
            };
            query_page(
                conn,
                &sql,
                &[&author],
                after.as_ref(),
                limit,
                video_from_row,
                key,
            )
            .context("listing videos")
        })
        .await
    }

    async fn pending_usage(
        &self,
        author: &UserId,
        except: Option<&VideoId>,
    ) -> StoreResult<PendingUsage> {
        let (author, except) = (author.to_string(), except.map(|v| v.to_string()));
        self.read(move |conn| {
            // `status = 'pending'` as a literal: the partial index serves it.
            let (videos, bytes): (i64, i64) = conn
                .query_row_cached(
                    "SELECT COUNT(*), COALESCE(SUM(granted_bytes), 0) FROM videos \
                     WHERE author_id = ?1 AND status = 'pending' AND id IS NOT ?2",
                    params![author, except],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .context("counting pending videos")?;
            Ok(PendingUsage {
                videos: u64::try_from(videos)?,
                granted_bytes: u64::try_from(bytes)?,
            })
        })
        .await
    }

    async fn record_grant(&self, video: &VideoId, size: u64) -> StoreResult<bool> {
        let id = video.to_string();
        self.write(move |conn| {
            let n = conn
                .execute_cached(
                    "UPDATE videos SET granted_bytes = ?2 WHERE id = ?1 AND status = 'pending'",
                    params![id, i64::try_from(size)?],
                )
                .context("recording an upload grant")?;
            Ok(n == 1)
        })
        .await
    }

    async fn mark_ready(
        &self,
        id: &VideoId,
        size: u64,
        content_type: &VideoContentType,
    ) -> StoreResult<bool> {
        let (id, ct) = (id.to_string(), content_type.as_str().to_owned());
        self.write(move |conn| {
            let n = conn
                .execute_cached(
                    "UPDATE videos SET status = 'ready', size = ?2, content_type = ?3 WHERE id = ?1 \
                     AND EXISTS (SELECT 1 FROM users WHERE id = videos.author_id AND disabled = 0)",
                    params![id, i64::try_from(size)?, ct],
                )
                .context("marking video ready")?;
            Ok(n == 1)
        })
        .await
    }

    async fn delete(&self, video: &Video, now: Timestamp) -> StoreResult<bool> {
        let id = video.id.to_string();
        self.write(move |conn| {
            let author: Option<String> = conn
                .query_row_cached("SELECT author_id FROM videos WHERE id = ?1", [&id], |r| r.get(0))
                .optional()?;
            let Some(author) = author else {
                return Ok(false);
            };
            conn.execute_cached(
                "INSERT OR IGNORE INTO deletion_records (video_id, author_id, requested_us) VALUES (?1, ?2, ?3)",
                params![id, author, now.as_micros()],
            )?;
            conn.execute_cached("DELETE FROM videos WHERE id = ?1", [&id])?;
            Ok(true)
        })
        .await
    }
}
