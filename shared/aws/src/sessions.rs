//! Sessions and sign-in failures in DynamoDB. Both expire through native TTL, which
//! deletes lazily (up to days later), so reads check expiry themselves.
//!
//! Authenticating a request is one strongly consistent `GetItem`: a session is written
//! in one `TransactWriteItems` with a condition check that its account exists under its
//! id and is not disabled, and is then marked `verified`. Disabling or deleting the
//! account deletes its sessions afterwards (the `by_user` index), and a session written
//! while that was not so (a sign-in racing the change) is written unverified: every read
//! of it checks the account again, so it serves if and only if the account is live.
//! Items written before sessions were verified have no flag and are checked the same way.
//! The index is eventually consistent: a verified session written a moment before the
//! account changed may be listed late, so a disable sweeps twice, a second apart, and
//! the dispatcher's sweep of deleted accounts deletes the late sessions of a deleted one
//! (at most a few minutes later: `ACCOUNT_SETTLE_SECS` plus its schedule).

use super::dynamo::{
    is_condition_failure, is_transaction_condition_failure, n, padded, s, Item, Tables,
};
use super::users::UserItem;
use super::videos::VideoItem;
use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
use reel_core::domain::{SessionId, Timestamp, UserId, UserName, Window};
use reel_core::ports::{Attempt, Found, PathItem, Session, Sessions, StoreResult};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How long a failure is kept: the throttling window is far shorter.
const FAILURE_RETENTION_SECS: i64 = 24 * 3600;

#[derive(Serialize, Deserialize)]
struct SessionItem {
    session_digest: String,
    user_id: String,
    user_name: String,
    /// Microseconds, checked on every read.
    expires: i64,
    /// Unix seconds, for DynamoDB's TTL.
    ttl: i64,
    /// Written together with a check that the account was live: no read checks it
    /// again (disabling or deleting the account deletes the session instead).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    verified: bool,
}

pub struct DynamoSessions {
    db: Tables,
}

impl DynamoSessions {
    pub fn new(db: Tables) -> Self {
        Self { db }
    }

    /// One strongly consistent read of the session's account: its id and flag.
    async fn account_is_live(&self, session: &SessionItem) -> anyhow::Result<bool> {
        let out = self
            .db
            .client
            .get_item()
            .table_name(&self.db.users)
            .key("user_name", s(&session.user_name))
            .consistent_read(true)
            .projection_expression("user_id, disabled")
            .send()
            .await
            .context("reading a session's account")?;
        Ok(is_live_account_of(session, out.item.as_ref()))
    }

    /// The session an item holds, if it serves at `now`: not expired, and verified or
    /// its account live. `account` is the account's item when the caller has read it
    /// already (strongly consistent); otherwise an unverified session reads it.
    async fn serving(
        &self,
        item: SessionItem,
        now: Timestamp,
        account: Option<Option<&Item>>,
    ) -> anyhow::Result<Option<Session>> {
        if item.expires <= now.as_micros() {
            return Ok(None);
        }
        let live = match account {
            _ if item.verified => true,
            Some(account) => is_live_account_of(&item, account),
            None => self.account_is_live(&item).await?,
        };
        if !live {
            return Ok(None);
        }
        Ok(Some(Session {
            user_id: UserId::parse(&item.user_id).context("a session's user id")?,
            user_name: UserName::parse(&item.user_name).context("a session's user name")?,
            expires: Timestamp::from_micros(item.expires),
        }))
    }

    /// The session's put, and the check that its account is live under its id: the
    /// two items of a verified session's transaction.
    fn verified_session_writes(
        &self,
        id: &SessionId,
        session: &Session,
    ) -> anyhow::Result<Vec<TransactWriteItem>> {
        let put = Put::builder()
            .table_name(&self.db.sessions)
            .set_item(Some(session_item(id, session, true)?))
            .build()
            .context("a session's put")?;
        let account_is_live = ConditionCheck::builder()
            .table_name(&self.db.users)
            .key("user_name", s(session.user_name.as_str()))
            .condition_expression(
                "user_id = :id AND (attribute_not_exists(disabled) OR disabled = :f)",
            )
            .expression_attribute_values(":id", s(session.user_id.to_string()))
            .expression_attribute_values(":f", AttributeValue::Bool(false))
            .build()
            .context("a session's account check")?;
        Ok(vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder()
                .condition_check(account_is_live)
                .build(),
        ])
    }

    /// Writes the session verified in one transaction with `writes`, on condition that
    /// its account is live; `false` (nothing written) when it is not.
    async fn create_verified(
        &self,
        id: &SessionId,
        session: &Session,
        writes: Vec<TransactWriteItem>,
    ) -> anyhow::Result<bool> {
        let mut items = self.verified_session_writes(id, session)?;
        items.extend(writes);
        let written = self
            .db
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match written {
            Ok(_) => Ok(true),
            Err(e) if is_transaction_condition_failure(&e) => Ok(false),
            Err(e) => Err(anyhow::Error::new(e).context("creating a session")),
        }
    }

    /// A session whose account check failed (a sign-in racing a disable or deletion):
    /// written unverified, so that its reads find the account not live (unless it
    /// becomes live again).
    async fn create_unverified(&self, id: &SessionId, session: &Session) -> anyhow::Result<()> {
        self.db
            .client
            .put_item()
            .table_name(&self.db.sessions)
            .set_item(Some(session_item(id, session, false)?))
            .send()
            .await
            .context("creating an unverified session")?;
        Ok(())
    }
}

/// The session is bound to its user's id: the account (its item, `None` when there is
/// none) must still exist under that id (not deleted, not made anew under the same
/// name) and not be disabled.
fn is_live_account_of(session: &SessionItem, account: Option<&Item>) -> bool {
    let Some(user) = account else {
        return false;
    };
    let same_id =
        matches!(user.get("user_id"), Some(AttributeValue::S(id)) if *id == session.user_id);
    let disabled = matches!(user.get("disabled"), Some(AttributeValue::Bool(true)));
    same_id && !disabled
}

/// Gives back one reserved attempt: its counter's `ADD -1`. Unconditional, so that it
/// can share a transaction with the writes of the request that checked the password; a
/// counter outlives that request by a day (its TTL), so it is there to decrement.
pub(super) fn release_update(db: &Tables, attempt: &Attempt) -> anyhow::Result<TransactWriteItem> {
    let update = Update::builder()
        .table_name(&db.sign_in_failures)
        .key("subject", s(subject(&attempt.name, &attempt.client)))
        .key("at_id", s(&attempt.token))
        .update_expression("ADD attempts :minus_one")
        .expression_attribute_values(":minus_one", n(-1))
        .build()
        .context("an attempt's release")?;
    Ok(TransactWriteItem::builder().update(update).build())
}

fn session_item(id: &SessionId, session: &Session, verified: bool) -> anyhow::Result<Item> {
    serde_dynamo::to_item(SessionItem {
        session_digest: id.digest(),
        user_id: session.user_id.to_string(),
        user_name: session.user_name.as_str().to_owned(),
        expires: session.expires.as_micros(),
        ttl: session.expires.unix_seconds(),
        verified,
    })
    .context("encoding a session")
}

/// Decodes the one item a batch read found in `table`, if any.
fn only_item<T: serde::de::DeserializeOwned>(
    found: &mut HashMap<String, Vec<Item>>,
    table: &str,
    what: &str,
) -> anyhow::Result<Option<T>> {
    found
        .remove(table)
        .and_then(|items| items.into_iter().next())
        .map(serde_dynamo::from_item)
        .transpose()
        .with_context(|| format!("decoding {what}"))
}

/// Failures are counted per (name, client); NUL cannot occur in either.
fn subject(name: &UserName, client: &str) -> String {
    format!("{}\u{0}{client}", name.as_str())
}

#[async_trait]
impl Sessions for DynamoSessions {
    /// One `TransactWriteItems`: the verified session, on condition that its account is
    /// live under its id. When it is not, the session is written unverified.
    async fn create(&self, id: &SessionId, session: &Session) -> StoreResult<()> {
        if !self.create_verified(id, session, Vec::new()).await? {
            self.create_unverified(id, session).await?;
        }
        Ok(())
    }

    /// The attempt's release joins the verified session's transaction. When the account
    /// check fails, the session is written unverified and the attempt released apart.
    async fn create_releasing(
        &self,
        id: &SessionId,
        session: &Session,
        attempt: &Attempt,
    ) -> StoreResult<()> {
        let release = vec![release_update(&self.db, attempt)?];
        if !self.create_verified(id, session, release).await? {
            self.create_unverified(id, session).await?;
            self.release_attempt(attempt).await?;
        }
        Ok(())
    }

    async fn get(&self, id: &SessionId, now: Timestamp) -> StoreResult<Option<Session>> {
        // Strongly consistent: a session deleted a moment ago is gone.
        let table = &self.db.sessions;
        let found = self
            .db
            .get(table, "session_digest", id.digest(), "a session");
        let Some(item): Option<SessionItem> = found.await? else {
            return Ok(None);
        };
        Ok(self.serving(item, now, None).await?)
    }

    /// One `BatchGetItem` of the session and the path's user or video, both strongly
    /// consistent. An unverified session whose account is the path's user needs no
    /// read of its own.
    async fn get_with(
        &self,
        id: &SessionId,
        now: Timestamp,
        item: PathItem<'_>,
    ) -> StoreResult<(Option<Session>, Found)> {
        let session_key = Item::from([("session_digest".to_owned(), s(id.digest()))]);
        let (table, key) = match item {
            PathItem::User(name) => (&self.db.users, ("user_name", name.as_str().to_owned())),
            PathItem::Video(video) => (&self.db.videos, ("video_id", video.to_string())),
        };
        let path_key = Item::from([(key.0.to_owned(), s(key.1))]);
        let keys = vec![
            (self.db.sessions.as_str(), session_key),
            (table.as_str(), path_key),
        ];
        let mut found = self.db.batch_get(keys, "a session and its path").await?;
        let path_item = found
            .remove(table.as_str())
            .and_then(|i| i.into_iter().next());
        let session_item: Option<SessionItem> =
            only_item(&mut found, &self.db.sessions, "a session")?;
        let account = match (item, &session_item) {
            (PathItem::User(name), Some(session)) if name.as_str() == session.user_name => {
                Some(path_item.as_ref())
            }
            _ => None,
        };
        let session = match session_item {
            Some(session) => self.serving(session, now, account).await?,
            None => None,
        };
        let found = match item {
            PathItem::User(_) => Found::User(
                path_item
                    .map(|i| serde_dynamo::from_item::<_, UserItem>(i)?.into_user())
                    .transpose()
                    .context("decoding a user")?,
            ),
            PathItem::Video(_) => Found::Video(
                path_item
                    .map(|i| serde_dynamo::from_item::<_, VideoItem>(i)?.into_video())
                    .transpose()
                    .context("decoding a video")?,
            ),
        };
        Ok((session, found))
    }

    async fn delete(&self, id: &SessionId) -> StoreResult<()> {
        self.db
            .client
            .delete_item()
            .table_name(&self.db.sessions)
            .key("session_digest", s(id.digest()))
            .send()
            .await
            .context("deleting a session")?;
        Ok(())
    }

    /// One item per (name, client, window) counts its attempts; a conditional `ADD`
    /// reserves one only while the count is under `max`, atomically in DynamoDB.
    async fn reserve_attempt(
        &self,
        name: &UserName,
        client: &str,
        window: Window,
        now: Timestamp,
        max: u32,
    ) -> StoreResult<Option<Attempt>> {
        let window = window_key(window.start);
        let reserved = self
            .db
            .client
            .update_item()
            .table_name(&self.db.sign_in_failures)
            .key("subject", s(subject(name, client)))
            .key("at_id", s(&window))
            .update_expression("ADD attempts :one SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(attempts) OR attempts < :max")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(i64::from(max)))
            .expression_attribute_values(":ttl", n(now.unix_seconds() + FAILURE_RETENTION_SECS))
            .send()
            .await;
        match reserved {
            Ok(_) => Ok(Some(Attempt {
                name: name.clone(),
                client: client.to_owned(),
                token: window,
            })),
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(anyhow::Error::new(e)
                .context("reserving a sign-in attempt")
                .into()),
        }
    }

    async fn release_attempt(&self, attempt: &Attempt) -> StoreResult<()> {
        let released = self
            .db
            .client
            .update_item()
            .table_name(&self.db.sign_in_failures)
            .key("subject", s(subject(&attempt.name, &attempt.client)))
            .key("at_id", s(&attempt.token))
            .update_expression("ADD attempts :minus_one")
            .condition_expression("attempts > :zero")
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match released {
            Ok(_) => Ok(()),
            // Already gone (its TTL passed): nothing to give back.
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(anyhow::Error::new(e)
                .context("releasing a sign-in attempt")
                .into()),
        }
    }
}

/// The sort key of a window's attempt counter: `window#` and its zero-padded start.
fn window_key(window_start: Timestamp) -> String {
    format!("window#{}", padded(window_start.as_micros()))
}
