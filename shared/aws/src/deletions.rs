//! Deletion records in DynamoDB. The table only holds outstanding deletions (the worker
//! removes each record when done), so finding the due ones is a filtered `Scan`. It also
//! holds one record per recently deleted account (key `account:<user id>`), which
//! `sweep_deleted_accounts` reads and the video listings skip.

use super::dynamo::{is_condition_failure, n, s, Item, Tables};
use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use reel_core::domain::{DeletionRecord, Limit, Timestamp, UserId, VideoId};
use reel_core::ports::{Deletions, StoreError, StoreResult};
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
    pub fn new(db: Tables) -> Self {
        Self { db }
    }

    /// Every deleted account's record: (user id, deleted at).
    async fn deleted_accounts(&self) -> anyhow::Result<Vec<(UserId, i64)>> {
        let pages = self
            .db
            .client
            .scan()
            .table_name(&self.db.deletions)
            .filter_expression("begins_with(video_id, :account)")
            .expression_attribute_values(":account", s(ACCOUNT_PREFIX))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();
        let items: Vec<Item> = pages.collect::<Result<_, _>>().await?;
        items
            .into_iter()
            .map(|item| {
                let record: DeletionItem = serde_dynamo::from_item(item)?;
                Ok((UserId::parse(&record.author_id)?, record.requested))
            })
            .collect()
    }

    /// One deleted account's pass of the sweep: how many late videos it hid.
    async fn sweep_account(
        &self,
        user: &UserId,
        deleted_us: i64,
        settled_before: Timestamp,
    ) -> StoreResult<u64> {
        super::users::delete_sessions_of(&self.db, user).await?;
        let comments = super::comments::delete_comments_by(&self.db, user).await?;
        if comments > 0 {
            tracing::info!(%user, comments, "deleted account's comments deleted");
        }
        let ids = super::users::videos_of(&self.db, user).await?;
        if ids.is_empty() {
            // Forgotten once settled and found clean (comments written since this pass
            // began are found by the next one).
            if deleted_us < settled_before.as_micros() && comments == 0 {
                self.db
                    .client
                    .delete_item()
                    .table_name(&self.db.deletions)
                    .key("video_id", s(format!("{ACCOUNT_PREFIX}{user}")))
                    .send()
                    .await
                    .context("forgetting a swept account")?;
            }
            return Ok(0);
        }
        let at = Timestamp::from_micros(deleted_us);
        super::users::hide_videos(&self.db, &ids, user, at).await?;
        tracing::info!(%user, videos = ids.len(), "deleted account's videos hidden");
        Ok(ids.len() as u64)
    }
}

/// Key prefix of a deleted account's record.
const ACCOUNT_PREFIX: &str = "account:";
/// Video records only (not the deleted accounts'), for scans.
const VIDEO_RECORDS: &str = "NOT begins_with(video_id, :account)";

/// The note that `user`'s account was deleted at `at`, for the sweep: a write of the
/// transaction that deletes the user.
pub(super) fn account_deletion_record(
    db: &Tables,
    user: &UserId,
    at: Timestamp,
) -> anyhow::Result<TransactWriteItem> {
    let key = format!("{ACCOUNT_PREFIX}{user}");
    let put = Put::builder()
        .table_name(&db.deletions)
        .set_item(Some(super::users::deletion_record(
            &key,
            &user.to_string(),
            at,
        )))
        .build()
        .context("an account deletion record")?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Which of `authors` have a deleted-account record (one strongly consistent
/// `BatchGetItem`, none when the list is empty): their videos are gone for every read,
/// though the sweep has not hidden them yet.
pub(super) async fn deleted_among(
    db: &Tables,
    authors: &[UserId],
) -> anyhow::Result<std::collections::HashSet<UserId>> {
    let distinct: std::collections::HashSet<&UserId> = authors.iter().collect();
    if distinct.is_empty() {
        return Ok(Default::default());
    }
    let keys = distinct
        .iter()
        .map(|a| {
            let key = Item::from([("video_id".to_owned(), s(format!("{ACCOUNT_PREFIX}{a}")))]);
            (db.deletions.as_str(), key)
        })
        .collect();
    let found = db.batch_get(keys, "deleted-account records").await?;
    let mut deleted = std::collections::HashSet::new();
    for item in found.get(&db.deletions).into_iter().flatten() {
        let record: DeletionItem =
            serde_dynamo::from_item(item.clone()).context("decoding a deletion record")?;
        deleted.insert(UserId::parse(&record.author_id)?);
    }
    Ok(deleted)
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
    ) -> StoreResult<Vec<DeletionRecord>> {
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
                .filter_expression(format!(
                    "(attribute_not_exists(dispatched) OR dispatched < :before) AND {VIDEO_RECORDS}"
                ))
                .expression_attribute_values(":before", n(dispatched_before.as_micros()))
                .expression_attribute_values(":account", s(ACCOUNT_PREFIX))
                .limit((want - records.len()) as i32)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .context("scanning deletion records")?;
            for item in out.items.unwrap_or_default() {
                records.push(
                    serde_dynamo::from_item::<_, DeletionItem>(item)
                        .context("decoding a deletion record")?
                        .into_record()?,
                );
            }
            start = out.last_evaluated_key;
            if records.len() >= want || start.is_none() {
                return Ok(records);
            }
        }
    }

    /// Only records that still exist are marked: a record the worker removed meanwhile
    /// must not come back.
    async fn mark_dispatched(&self, videos: &[VideoId], at: Timestamp) -> StoreResult<()> {
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

    async fn remove(&self, video: &VideoId) -> StoreResult<()> {
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

    /// Per account: the sessions' items the `by_user` index lists deleted (they no
    /// longer serve), the comments the comments' `by_author` index lists deleted, and
    /// the videos' `by_author` index's videos hidden with their deletion records; the
    /// account's record removed once it is settled and nothing was found.
    /// One account's failure does not stop the others': the pass then fails with the
    /// first failure (the later ones are logged here), and the next pass tries those
    /// accounts again.
    async fn sweep_deleted_accounts(&self, settled_before: Timestamp) -> StoreResult<u64> {
        let mut found = 0;
        let mut first_failure: Option<StoreError> = None;
        for (user, deleted_us) in self.deleted_accounts().await? {
            match self.sweep_account(&user, deleted_us, settled_before).await {
                Ok(hidden) => found += hidden,
                Err(e) if first_failure.is_none() => first_failure = Some(e),
                Err(e) => {
                    let cause = format!("{:#}", anyhow::Error::new(e));
                    tracing::error!(%user, cause, "sweeping a deleted account failed");
                }
            }
        }
        match first_failure {
            Some(e) => Err(e),
            None => Ok(found),
        }
    }

    /// A `Scan` with `Select COUNT`, page by page: an operator's command, not a request path.
    async fn count(&self) -> StoreResult<u64> {
        let mut total = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .db
                .client
                .scan()
                .table_name(&self.db.deletions)
                .select(aws_sdk_dynamodb::types::Select::Count)
                .filter_expression(VIDEO_RECORDS)
                .expression_attribute_values(":account", s(ACCOUNT_PREFIX))
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
