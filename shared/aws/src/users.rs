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
        if !transact(db, writes, "hiding the account's videos").await? {
            // One of them vanished meanwhile: fall back to one transaction each.
            for id in chunk {
                hide_one(db, id, &author, now).await?;
            }
        }
    }
    Ok(())
}

/// Runs the writes as one transaction; `false` when one of its conditions failed (and
/// nothing was written).
pub(super) async fn transact(
    db: &Tables,
    writes: Vec<TransactWriteItem>,
    what: &'static str,
) -> anyhow::Result<bool> {
    let sent = db
        .client
        .transact_write_items()
        .set_transact_items(Some(writes))
        .send()
        .await;
    match sent {
        Ok(_) => Ok(true),
        Err(e) if super::dynamo::is_transaction_condition_failure(&e) => Ok(false),
        Err(e) => Err(e).context(what),
    }
}

/// Videos hidden per transaction by the sweep of a deleted account (two items each,
/// under DynamoDB's 100-item limit).
const VIDEOS_PER_TRANSACTION: usize = 25;

pub struct DynamoUsers {
    db: Tables,
}

impl DynamoUsers {
    pub fn new(db: Tables) -> Self {
        Self { db }
    }
}

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
    let writes = vec![hide_video(db, id)?, record_deletion(db, id, author, now)?];
    transact(db, writes, "hiding a video and recording its deletion").await
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

    /// One transaction: the user deleted (on condition that the name still holds this
    /// account), the account's deletion record written, and the password check's attempt
    /// given back. Its sessions stop serving at once, since every session read checks
    /// its account. Its videos are scheduled, not hidden here: the dispatcher's sweep of
    /// deleted accounts hides them and records their deletion at its next pass (a
    /// minute, on the template's schedule), and deletes the sessions' items. Finding
    /// them here would take two index queries, which no transaction can hold; the API
    /// budgets a write at three requests (this one's session read and throttle
    /// reservation come first). Returns no ids, for the same reason.
    async fn delete_account(
        &self,
        user: &User,
        now: Timestamp,
        attempt: Option<&Attempt>,
    ) -> StoreResult<Vec<VideoId>> {
        let db = &self.db;
        let mut writes = vec![
            delete_user(db, user)?,
            super::deletions::account_deletion_record(db, &user.id, now)?,
        ];
        if let Some(attempt) = attempt {
            writes.push(super::sessions::release_update(db, attempt)?);
        }
        // Refused only when the name no longer holds this account: a request that
        // raced this one deleted it, and wrote its own record.
        transact(db, writes, "deleting an account").await?;
        Ok(Vec::new())
    }

    /// The flag (a conditional update: only an existing user), which ends the account's
    /// sessions at once (every session read checks it); then the sessions the `by_user`
    /// index lists are deleted, for tidiness and the count.
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
        Ok(Some(delete_sessions_of(&self.db, &user.id).await?))
    }
}
