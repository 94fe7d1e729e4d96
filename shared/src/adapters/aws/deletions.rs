//! Deletion records in DynamoDB. The table only holds outstanding deletions (the worker
//! removes each record when done), so finding the due ones is a filtered `Scan`.

use super::dynamo::{is_condition_failure, n, s, Item, Tables};
use crate::domain::{DeletionRecord, Limit, Timestamp, UserId, VideoId};
use crate::ports::Deletions;
use anyhow::Context;
use async_trait::async_trait;
use serde::Deserialize;

#[derive(Deserialize)]
struct DeletionItem {
    video_id: String,
    author_id: String,
    requested: i64,
    #[serde(default)]
    dispatched: Option<i64>,
}

impl DeletionItem {
    fn into_record(self) -> anyhow::Result<DeletionRecord> {
        Ok(DeletionRecord {
            video_id: VideoId::parse(&self.video_id)?,
            author_id: UserId::parse(&self.author_id)?,
            requested: Timestamp::from_micros(self.requested),
            dispatched: self.dispatched.map(Timestamp::from_micros),
        })
    }
}

pub struct DynamoDeletions {
    db: Tables,
}

impl DynamoDeletions {
    pub(crate) fn new(db: Tables) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Deletions for DynamoDeletions {
    /// In the table's scan order (stable, by key hash), resuming after `after`; scans
    /// on past pages the filter emptied until `limit` records are found or none are left.
    async fn list(
        &self,
        dispatched_before: Timestamp,
        after: Option<&VideoId>,
        limit: Limit,
    ) -> anyhow::Result<Vec<DeletionRecord>> {
        let want = limit.get() as usize;
        let mut start: Option<Item> =
            after.map(|v| Item::from([("video_id".to_owned(), s(v.to_string()))]));
        let mut records = Vec::new();
        loop {
            let out = self
                .db
                .client
                .scan()
                .table_name(&self.db.deletions)
                .filter_expression("attribute_not_exists(dispatched) OR dispatched < :before")
                .expression_attribute_values(":before", n(dispatched_before.as_micros()))
                .limit((want - records.len()) as i32)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .context("scanning deletion records")?;
            for item in out.items.unwrap_or_default() {
                records.push(serde_dynamo::from_item::<_, DeletionItem>(item)?.into_record()?);
            }
            start = out.last_evaluated_key;
            if records.len() >= want || start.is_none() {
                return Ok(records);
            }
        }
    }

    /// Only records that still exist are marked: a record the worker removed meanwhile
    /// must not come back.
    async fn mark_dispatched(&self, videos: &[VideoId], at: Timestamp) -> anyhow::Result<()> {
        let updates = videos.iter().map(|video| async move {
            let updated = self
                .db
                .client
                .update_item()
                .table_name(&self.db.deletions)
                .key("video_id", s(video.to_string()))
                .update_expression("SET dispatched = :at")
                .condition_expression("attribute_exists(video_id)")
                .expression_attribute_values(":at", n(at.as_micros()))
                .send()
                .await;
            match updated {
                Ok(_) => Ok(()),
                Err(e) if is_condition_failure(&e) => Ok(()),
                Err(e) => Err(e).context("marking a deletion dispatched"),
            }
        });
        futures_util::future::try_join_all(updates).await?;
        Ok(())
    }

    async fn remove(&self, video: &VideoId) -> anyhow::Result<()> {
        self.db
            .client
            .delete_item()
            .table_name(&self.db.deletions)
            .key("video_id", s(video.to_string()))
            .send()
            .await
            .context("removing a deletion record")?;
        Ok(())
    }

    /// A `Scan` with `Select COUNT`, page by page: an operator's command, not a request path.
    async fn count(&self) -> anyhow::Result<u64> {
        let mut total = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .db
                .client
                .scan()
                .table_name(&self.db.deletions)
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .context("counting deletion records")?;
            total += u64::try_from(out.count).unwrap_or(0);
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(total),
            }
        }
    }
}
