use super::db::{CachedStatements, SqliteStore};
use anyhow::Context;
use async_trait::async_trait;
use reel_core::domain::{DeletionRecord, Limit, Timestamp, UserId, VideoId};
use reel_core::ports::{Deletions, StoreResult};
use rusqlite::params;

#[async_trait]
impl Deletions for SqliteStore {
    async fn list(
        &self,
        dispatched_before: Timestamp,
        after: Option<&VideoId>,
        limit: Limit,
    ) -> StoreResult<Vec<DeletionRecord>> {
        let after = after.map(|v| v.to_string()).unwrap_or_default();
        let before = dispatched_before.as_micros();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT video_id, author_id, requested_us, dispatched_us FROM deletion_records
                 WHERE video_id > ?1 AND (dispatched_us IS NULL OR dispatched_us < ?3)
                 ORDER BY video_id LIMIT ?2",
            )?;
            let rows = stmt
                .query_map(params![after, limit.get(), before], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()
                .context("listing deletion records")?;
            rows.into_iter()
                .map(|(video, author, requested, dispatched)| {
                    Ok(DeletionRecord {
                        video_id: VideoId::parse(&video)?,
                        author_id: UserId::parse(&author)?,
                        requested: Timestamp::from_micros(requested),
                        dispatched: dispatched.map(Timestamp::from_micros),
                    })
                })
                .collect()
        })
        .await
    }

    async fn mark_dispatched(&self, videos: &[VideoId], at: Timestamp) -> StoreResult<()> {
        let ids: Vec<String> = videos.iter().map(|v| v.to_string()).collect();
        self.write(move |conn| {
            {
                let mut stmt = conn.prepare_cached(
                    "UPDATE deletion_records SET dispatched_us = ?2 WHERE video_id = ?1",
                )?;
                for id in &ids {
                    stmt.execute(params![id, at.as_micros()])?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn remove(&self, video: &VideoId) -> StoreResult<()> {
        let video = video.to_string();
        self.write(move |conn| {
            conn.execute_cached("DELETE FROM deletion_records WHERE video_id = ?1", [video])
                .context("removing deletion record")?;
            Ok(())
        })
        .await
    }

    /// One write: the videos found leave `videos` as the account's others did, and the
    /// comments found are deleted as the account's others were.
    async fn sweep_deleted_accounts(&self, settled_before: Timestamp) -> StoreResult<u64> {
        self.write(move |conn| {
            let accounts: Vec<(String, i64)> = conn
                .prepare_cached("SELECT user_id, deleted_us FROM deleted_accounts")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let mut found = 0;
            for (user, deleted_us) in accounts {
                let hidden = hide_videos_of(conn, &user, Timestamp::from_micros(deleted_us))?;
                // A comment posted by a request still in flight during the deletion.
                let late_comments =
                    conn.execute_cached("DELETE FROM comments WHERE author_id = ?1", [&user])?;
                if hidden == 0 && late_comments == 0 && deleted_us < settled_before.as_micros() {
                    conn.execute_cached(
                        "DELETE FROM deleted_accounts WHERE user_id = ?1",
                        [&user],
                    )?;
                }
                found += hidden;
            }
            Ok(found)
        })
        .await
    }

    async fn count(&self) -> StoreResult<u64> {
        self.read(|conn| {
            let n: i64 = conn
                .query_row_cached("SELECT COUNT(*) FROM deletion_records", [], |r| r.get(0))
                .context("counting deletion records")?;
            Ok(n as u64)
        })
        .await
    }
}

/// Moves every video of `author` from `videos` to `deletion_records` (requested at
/// `at`), inside the caller's write; returns how many.
pub(super) fn hide_videos_of(
    conn: &rusqlite::Connection,
    author: &str,
    at: Timestamp,
) -> anyhow::Result<u64> {
    conn.execute_cached(
        "INSERT OR IGNORE INTO deletion_records (video_id, author_id, requested_us)
         SELECT id, author_id, ?2 FROM videos WHERE author_id = ?1",
        params![author, at.as_micros()],
    )?;
    let hidden = conn.execute_cached("DELETE FROM videos WHERE author_id = ?1", [author])?;
    Ok(hidden as u64)
}
