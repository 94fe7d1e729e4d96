use super::db::SqliteStore;
use crate::domain::{DeletionRecord, Limit, Timestamp, UserId, VideoId};
use crate::ports::Deletions;
use anyhow::Context;
use async_trait::async_trait;
use rusqlite::params;

#[async_trait]
impl Deletions for SqliteStore {
    async fn list(
        &self,
        dispatched_before: Timestamp,
        after: Option<&VideoId>,
        limit: Limit,
    ) -> anyhow::Result<Vec<DeletionRecord>> {
        let after = after.map(|v| v.to_string()).unwrap_or_default();
        let before = dispatched_before.as_micros();
        self.call(move |conn| {
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

    async fn mark_dispatched(&self, videos: &[VideoId], at: Timestamp) -> anyhow::Result<()> {
        let ids: Vec<String> = videos.iter().map(|v| v.to_string()).collect();
        self.call(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "UPDATE deletion_records SET dispatched_us = ?2 WHERE video_id = ?1",
                )?;
                for id in &ids {
                    stmt.execute(params![id, at.as_micros()])?;
                }
            }
            tx.commit().context("marking deletion records dispatched")?;
            Ok(())
        })
        .await
    }

    async fn remove(&self, video: &VideoId) -> anyhow::Result<()> {
        let video = video.to_string();
        self.call(move |conn| {
            conn.execute("DELETE FROM deletion_records WHERE video_id = ?1", [video])
                .context("removing deletion record")?;
            Ok(())
        })
        .await
    }

    async fn count(&self) -> anyhow::Result<u64> {
        self.call(|conn| {
            let n: i64 = conn
                .query_row("SELECT COUNT(*) FROM deletion_records", [], |r| r.get(0))
                .context("counting deletion records")?;
            Ok(n as u64)
        })
        .await
    }
}
