//! Users in DynamoDB: one item per name, made unique by a conditional put.

use super::dynamo::{is_condition_failure, n, s, Item, Tables};
use super::schema;
use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use reel_core::domain::{PasswordHash, Timestamp, User, UserId, UserName, VideoId};
use reel_core::ports::{Attempt, StoreError, StoreResult, Users};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub(super) struct UserItem {
    user_name: String,
    user_id: String,
    password_hash: String,
    created: i64,
    /// Absent on accounts never disabled.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    disabled: bool,
}

impl UserItem {
    pub(super) fn into_user(self) -> anyhow::Result<User> {
        Ok(User {
            id: UserId::parse(&self.user_id)?,
            name: UserName::parse(&self.user_name)?,
            password_hash: PasswordHash::from_stored(self.password_hash),
            created: Timestamp::from_micros(self.created),
            disabled: self.disabled,
        })
    }
}

/// A deletion record as the videos adapter and account deletion write it.
pub(super) fn deletion_record(video: &str, author: &str, now: Timestamp) -> Item {
    Item::from([
        ("video_id".to_owned(), s(video)),
        ("author_id".to_owned(), s(author)),
        ("requested".to_owned(), n(now.as_micros())),
    ])
}

/// The `attribute` (the table's key) of every item `index` lists under `key` = `value`,
/// over all pages. Indexes are eventually consistent: a write a moment ago may be
/// missing (the deletion sweep looks again later).
async fn listed_by_index(
    db: &Tables,
    (table, index): (&str, &str),
    (key, value): (&str, String),
    attribute: &str,
) -> anyhow::Result<Vec<AttributeValue>> {
    let pages = db
        .client
        .query()
        .table_name(table)
        .index_name(index)
        .key_condition_expression("#k = :v")
        .expression_attribute_names("#k", key)
        .expression_attribute_values(":v", s(value))
        .projection_expression(attribute)
        .into_paginator()
        .items()
        .send();
    let items: Vec<Item> = pages.collect::<Result<_, _>>().await?;
    items
        .into_iter()
        .map(|mut i| i.remove(attribute))
        .map(|v| v.with_context(|| format!("an item of {index} without {attribute}")))
        .collect()
}

/// Every video of the author the `by_author` index lists.
pub(super) async fn videos_of(db: &Tables, author: &UserId) -> anyhow::Result<Vec<String>> {
    let index = (db.videos.as_str(), schema::VIDEOS_BY_AUTHOR);
    let ids = listed_by_index(db, index, ("author_id", author.to_string()), "video_id").await?;
    ids.into_iter()
        .map(|id| match id {
            AttributeValue::S(id) => Ok(id),
            _ => anyhow::bail!("a video id that is not a string"),
        })
        .collect()
}

/// Deletes each video item and writes its deletion record, in transactions; a video
/// already gone (deleted concurrently) is skipped, not an error.
pub(super) async fn hide_videos(
    db: &Tables,
    ids: &[String],
    author: &UserId,
    now: Timestamp,
) -> anyhow::Result<()> {
    let author = author.to_string();
    for chunk in ids.chunks(VIDEOS_PER_TRANSACTION) {
        let mut writes = Vec::with_capacity(chunk.len() * 2);
        for id in chunk {
            writes.push(hide_video(db, id)?);
            writes.push(record_deletion(db, id, &author, now)?);
        }
        let sent = db
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        match sent {
            Ok(_) => {}
            Err(e) if super::dynamo::is_transaction_condition_failure(&e) => {
                // One of them vanished meanwhile: fall back to one transaction each.
                for id in chunk {
                    hide_one(db, id, &author, now).await?;
                }
            }
            Err(e) => return Err(e).context("hiding the account's videos"),
        }
    }
    Ok(())
}

/// Videos hidden per transaction while deleting an account (two items each, under
/// DynamoDB's 100-item limit).
const VIDEOS_PER_TRANSACTION: usize = 25;

pub struct DynamoUsers {
    db: Tables,
}

impl DynamoUsers {
    pub fn new(db: Tables) -> Self {
        Self { db }
    }
}

/// How long a disable waits before sweeping the account's sessions a second time.
const INDEX_SETTLE: std::time::Duration = std::time::Duration::from_secs(1);

/// The keys of every session of the user the `by_user` index lists.
async fn session_keys_of(db: &Tables, user: &UserId) -> anyhow::Result<Vec<Item>> {
    let index = (db.sessions.as_str(), schema::SESSIONS_BY_USER);
    let digests = listed_by_index(db, index, ("user_id", user.to_string()), "session_digest");
    Ok(digests
        .await?
        .into_iter()
        .map(|digest| Item::from([("session_digest".to_owned(), digest)]))
        .collect())
}

/// Deletes every session of the user the `by_user` index lists; returns how many.
pub(super) async fn delete_sessions_of(db: &Tables, user: &UserId) -> anyhow::Result<u64> {
    let keys = session_keys_of(db, user).await?;
    let ended = keys.len() as u64;
    db.delete_keys(&db.sessions, keys).await?;
    Ok(ended)
}

/// DynamoDB's most items in one transaction.
const TRANSACTION_ITEMS: usize = 100;

/// Runs the writes as one transaction; `false` when one of its conditions failed (and
/// nothing was written).
async fn transact(db: &Tables, writes: Vec<TransactWriteItem>) -> anyhow::Result<bool> {
    let sent = db
        .client
        .transact_write_items()
        .set_transact_items(Some(writes))
        .send()
        .await;
    match sent {
        Ok(_) => Ok(true),
        Err(e) if super::dynamo::is_transaction_condition_failure(&e) => Ok(false),
        Err(e) => Err(e).context("deleting an account"),
    }
}

/// The user's delete, on condition that the name still holds this account (not one
/// made anew under the same name).
fn delete_user(db: &Tables, user: &User) -> anyhow::Result<TransactWriteItem> {
    let delete = Delete::builder()
        .table_name(&db.users)
        .key("user_name", s(user.name.as_str()))
        .condition_expression("user_id = :id")
        .expression_attribute_values(":id", s(user.id.to_string()))
        .build()
        .context("the user's delete")?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

fn delete_session(db: &Tables, key: Item) -> anyhow::Result<TransactWriteItem> {
    let delete = Delete::builder()
        .table_name(&db.sessions)
        .set_key(Some(key))
        .build()
        .context("a session's delete")?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

pub(super) fn hide_video(db: &Tables, id: &str) -> anyhow::Result<TransactWriteItem> {
    let delete = Delete::builder()
        .table_name(&db.videos)
        .key("video_id", s(id))
        .condition_expression("attribute_exists(video_id)")
        .build()?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

pub(super) fn record_deletion(
    db: &Tables,
    id: &str,
    author: &str,
    now: Timestamp,
) -> anyhow::Result<TransactWriteItem> {
    let put = Put::builder()
        .table_name(&db.deletions)
        .set_item(Some(deletion_record(id, author, now)))
        .build()?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// Hides one video and records its deletion atomically; `false` if it was already gone.
pub(super) async fn hide_one(
    db: &Tables,
    id: &str,
    author: &str,
    now: Timestamp,
) -> anyhow::Result<bool> {
    let sent = db
        .client
        .transact_write_items()
        .transact_items(hide_video(db, id)?)
        .transact_items(record_deletion(db, id, author, now)?)
        .send()
        .await;
    match sent {
        Ok(_) => Ok(true),
        Err(e) if super::dynamo::is_transaction_condition_failure(&e) => Ok(false),
        Err(e) => Err(e).context("hiding a video and recording its deletion"),
    }
}

#[async_trait]
impl Users for DynamoUsers {
    async fn create(&self, user: &User) -> StoreResult<()> {
        let item: Item = serde_dynamo::to_item(UserItem {
            user_name: user.name.as_str().to_owned(),
            user_id: user.id.to_string(),
            password_hash: user.password_hash.as_str().to_owned(),
            created: user.created.as_micros(),
            disabled: user.disabled,
        })
        .context("encoding a user")?;
        let put = self
            .db
            .client
            .put_item()
            .table_name(&self.db.users)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(user_name)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(StoreError::Conflict),
            Err(e) => Err(anyhow::Error::from(e).context("creating a user").into()),
        }
    }

    async fn by_name(&self, name: &UserName) -> StoreResult<Option<User>> {
        let table = &self.db.users;
        let found = self
            .db
            .get(table, "user_name", name.as_str().to_owned(), "a user");
        let item: Option<UserItem> = found.await?;
        Ok(item.map(UserItem::into_user).transpose()?)
    }

    /// Two queries (the account's sessions and videos, through their indexes) and one
    /// transaction: the sessions deleted, the videos hidden with their records, the user
    /// deleted with a record for the sweep, and the password check's attempt given back.
    /// An account with more than fits in one transaction, or whose video another request
    /// deleted meanwhile, takes several: the videos and sessions first and the user
    /// last, so an interruption leaves the user in place and repeating the request
    /// finishes it. The sweep of deleted accounts looks for videos and sessions again
    /// later: those an eventually consistent index had not listed yet, or that a
    /// request in flight made meanwhile (a sign-in with the right password racing the
    /// deletion).
    async fn delete_account(
        &self,
        user: &User,
        now: Timestamp,
        attempt: Option<&Attempt>,
    ) -> StoreResult<Vec<VideoId>> {
        let db = &self.db;
        let (sessions, ids) =
            futures_util::try_join!(session_keys_of(db, &user.id), videos_of(db, &user.id))?;
        let mut last = vec![delete_user(db, user)?];
        last.push(super::deletions::account_deletion_record(
            db, &user.id, now,
        )?);
        if let Some(attempt) = attempt {
            last.push(super::sessions::release_update(db, attempt)?);
        }
        let author = user.id.to_string();
        let mut writes = Vec::with_capacity(ids.len() * 2 + sessions.len() + last.len());
        for id in &ids {
            writes.push(hide_video(db, id)?);
            writes.push(record_deletion(db, id, &author, now)?);
        }
        for key in &sessions {
            writes.push(delete_session(db, key.clone())?);
        }
        writes.extend(last.iter().cloned());
        let at_once = writes.len() <= TRANSACTION_ITEMS && transact(db, writes).await?;
        if !at_once {
            hide_videos(db, &ids, &user.id, now).await?;
            db.delete_keys(&db.sessions, sessions).await?;
            // Refused only when the name no longer holds this account: a request that
            // raced this one deleted it, and wrote its own record.
            transact(db, last).await?;
        }
        ids.iter()
            .map(|id| VideoId::parse(id).map_err(|e| anyhow::Error::from(e).into()))
            .collect()
    }

    /// The flag first (a conditional update: only an existing user), then the sessions.
    /// A sign-in racing the update writes its session unverified, and `Sessions::get`
    /// refuses every unverified session of a disabled account.
    async fn set_disabled(&self, name: &UserName, disabled: bool) -> StoreResult<Option<u64>> {
        let update = self
            .db
            .client
            .update_item()
            .table_name(&self.db.users)
            .key("user_name", s(name.as_str()))
            .condition_expression("attribute_exists(user_name)")
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew);
        let update = if disabled {
            update
                .update_expression("SET disabled = :t")
                .expression_attribute_values(":t", AttributeValue::Bool(true))
        } else {
            update.update_expression("REMOVE disabled")
        };
        let user = match update.send().await {
            Ok(out) => serde_dynamo::from_item::<_, UserItem>(
                out.attributes
                    .context("UpdateItem returned no attributes")?,
            )
            .context("decoding a user")?
            .into_user()?,
            Err(e) if is_condition_failure(&e) => return Ok(None),
            Err(e) => return Err(anyhow::Error::new(e).context("disabling a user").into()),
        };
        if !disabled {
            return Ok(Some(0));
        }
        // The `by_user` index is eventually consistent (typically well under a second):
        // a sign-in that passed its account check just before the flag was set wrote a
        // verified session the first sweep may not list, so it sweeps again after a pause.
        let ended = delete_sessions_of(&self.db, &user.id).await?;
        tokio::time::sleep(INDEX_SETTLE).await;
        Ok(Some(ended + delete_sessions_of(&self.db, &user.id).await?))
    }
}
