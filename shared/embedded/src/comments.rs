use super::db::{CachedStatements, SqliteStore};
use super::page::query_page;
use anyhow::Context;
use async_trait::async_trait;
use reel_core::domain::{
    Comment, CommentContent, CommentId, Limit, Page, Timestamp, UserId, UserName, VideoId,
};
use reel_core::ports::{Comments, SortKey, StoreResult, TimeWindow};
use rusqlite::{params, OptionalExtension, Row};

const COLUMNS: &str = "id, video_id, author_id, author_name, content, time_us";

/// The columns of [`COLUMNS`], as SQLite stores them.
type CommentRow = (String, String, String, String, String, i64);

fn comment_from_row(r: &Row<'_>) -> rusqlite::Result<anyhow::Result<Comment>> {
    let row: CommentRow = r.try_into()?;
    Ok(comment_of(row).context("stored comment row"))
}

fn comment_of(
    (id, video, author_id, author, content, time): CommentRow,
) -> anyhow::Result<Comment> {
    Ok(Comment {
        id: CommentId::parse(&id)?,
        video_id: VideoId::parse(&video)?,
        author_id: UserId::parse(&author_id)?,
        author: UserName::parse(&author)?,
        content: CommentContent::parse(&content)?,
        time: Timestamp::from_micros(time),
    })
}

/// The window as a half-open range of microseconds: whole seconds `from < s <= to`.
pub(crate) fn window_micros(window: TimeWindow) -> (i64, i64) {
    let low = window.from.map_or(i64::MIN, |f| {
        Timestamp::from_unix_seconds(f.saturating_add(1)).as_micros()
    });
    let high = window.to.map_or(i64::MAX, |t| {
        Timestamp::from_unix_seconds(t.saturating_add(1)).as_micros()
    });
    (low, high)
}

#[async_trait]
impl Comments for SqliteStore {
    async fn create(&self, comment: &Comment) -> StoreResult<()> {
        let c = comment.clone();
        self.write(move |conn| {
            conn.execute_cached(
                &format!("INSERT INTO comments ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
                params![
                    c.id.to_string(),
                    c.video_id.to_string(),
                    c.author_id.to_string(),
                    c.author.as_str(),
                    c.content.as_str(),
                    c.time.as_micros()
                ],
            )
            .context("inserting comment")?;
            Ok(())
        })
        .await
    }

    async fn get(&self, id: &CommentId) -> StoreResult<Option<Comment>> {
        let id = id.to_string();
        self.read(move |conn| {
            conn.query_row_cached(
                &format!("SELECT {COLUMNS} FROM comments WHERE id = ?1"),
                [id],
                comment_from_row,
            )
            .optional()
            .context("reading comment")?
            .transpose()
        })
        .await
    }

    async fn list(
        &self,
        video: &VideoId,
        window: TimeWindow,
        after: Option<&SortKey>,
        limit: Limit,
    ) -> StoreResult<Page<Comment, SortKey>> {
        let (video, after) = (video.to_string(), after.cloned());
        let (low, high) = window_micros(window);
        self.read(move |conn| {
            let sql = format!(
                "SELECT {COLUMNS} FROM comments WHERE video_id = ?1
                 AND time_us >= ?2 AND time_us < ?3
                 AND (time_us, id) < (?4, ?5)
                 ORDER BY time_us DESC, id DESC LIMIT ?6"
            );
            let key = |c: &Comment| SortKey {
                at: c.time,
                id: c.id.to_string(),
            };
            let params: [&dyn rusqlite::ToSql; 3] = [&video, &low, &high];
            query_page(
                conn,
                &sql,
                &params,
                after.as_ref(),
                limit,
                comment_from_row,
                key,
            )
            .context("listing comments")
        })
        .await
    }

    async fn delete_all_of_video(&self, video: &VideoId) -> StoreResult<u64> {
        // In writes of 500, so one video with many comments never holds up other writes
        // for long: each batch is a write of its own in the group commit.
        let mut total = 0u64;
        loop {
            let video = video.to_string();
            let deleted = self
                .write(move |conn| {
                    conn.execute_cached(
                        "DELETE FROM comments WHERE rowid IN
                         (SELECT rowid FROM comments WHERE video_id = ?1 LIMIT 500)",
                        [&video],
                    )
                    .context("deleting a video's comments")
                })
                .await?;
            total += deleted as u64;
            if deleted == 0 {
                return Ok(total);
            }
        }
    }

    async fn delete(&self, comment: &Comment) -> StoreResult<bool> {
        let id = comment.id.to_string();
        self.write(move |conn| {
            let n = conn
                .execute_cached("DELETE FROM comments WHERE id = ?1", [id])
                .context("deleting comment")?;
            Ok(n == 1)
        })
        .await
    }
}
