//! Sessions and sign-in failures in DynamoDB. Both expire through native TTL, which
//! deletes lazily (up to days later), so reads check expiry themselves.
//!
//! Every read of a session checks its account, strongly consistent, in the same
//! request: a session id names its user (`SessionId::user_name`), so the session and
//! the account are one `BatchGetItem` (with the path's user or video, for
//! [`Sessions::get_with`]). A session serves only while its account exists under the
//! session's user id and is not disabled, so deleting or disabling an account ends its
//! sessions at once, and neither has to find them first. Their items go by TTL, or
//! by the sweeps of disabled and deleted accounts. A session whose id does not name its
//! user (issued before ids did) reads its account apart: a second request.

use super::dynamo::{is_condition_failure, n, padded, s, Item, Tables};
use super::users::UserItem;
use super::videos::VideoItem;
use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use reel_core::domain::{SessionId, Timestamp, UserId, UserName, Window};
use reel_core::ports::{Attempt, Found, PathItem, Session, Sessions, StoreResult};
use serde::{Deserialize, Serialize};

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

    /// The session an item holds, if it serves at `now`: not expired, and its account
    /// live. `account` is the account's item when the caller has read it already
    /// (strongly consistent); otherwise it is read here.
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

    /// Writes the session, in one transaction with `writes` when there are any.
    async fn put(
        &self,
        id: &SessionId,
        session: &Session,
        writes: Vec<TransactWriteItem>,
    ) -> anyhow::Result<()> {
        let item = session_item(id, session)?;
        if writes.is_empty() {
            let put = self.db.client.put_item().table_name(&self.db.sessions);
            put.set_item(Some(item))
                .send()
                .await
                .context("creating a session")?;
            return Ok(());
        }
        let put = Put::builder()
            .table_name(&self.db.sessions)
            .set_item(Some(item))
            .build()
            .context("a session's put")?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        items.extend(writes);
        self.db
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .context("creating a session")?;
        Ok(())
    }

    /// One `BatchGetItem`: the session, the account its id names, and `path` (a table
    /// and a key) when given.
    async fn read_with_account(
        &self,
        id: &SessionId,
        path: Option<(&str, Item)>,
    ) -> anyhow::Result<ReadSession> {
        let session_key = (self.db.sessions.as_str(), digest_key(id));
        let account_key = id
            .user_name()
            .map(|name| (self.db.users.as_str(), user_key(name.as_str())));
        let mut keys = vec![session_key.clone()];
        // A key asked twice fails the whole batch, and the path's user is often the
        // session's own.
        for key in account_key.iter().chain(&path) {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
        let found = self.db.batch_get(keys, "a session").await?;
        let item_at = |(table, key): &(&str, Item)| {
            let is_it = |item: &&Item| key.iter().all(|(k, v)| item.get(k) == Some(v));
            found.get(*table)?.iter().find(is_it).cloned()
        };
        let session = item_at(&session_key)
            .map(serde_dynamo::from_item)
            .transpose()
            .context("decoding a session")?;
        Ok(ReadSession {
            session,
            account: account_key.as_ref().map(item_at),
            path_item: path.as_ref().and_then(item_at),
        })
    }
}

/// What [`DynamoSessions::read_with_account`] found.
struct ReadSession {
    session: Option<SessionItem>,
    /// `Some` when the id names its account (which was read): its item, or `None` when
    /// there is none.
    account: Option<Option<Item>>,
    path_item: Option<Item>,
}

fn digest_key(id: &SessionId) -> Item {
    Item::from([("session_digest".to_owned(), s(id.digest()))])
}

fn user_key(name: &str) -> Item {
    Item::from([("user_name".to_owned(), s(name))])
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

fn session_item(id: &SessionId, session: &Session) -> anyhow::Result<Item> {
    serde_dynamo::to_item(SessionItem {
        session_digest: id.digest(),
        user_id: session.user_id.to_string(),
        user_name: session.user_name.as_str().to_owned(),
        expires: session.expires.as_micros(),
        ttl: session.expires.unix_seconds(),
    })
    .context("encoding a session")
}

/// Failures are counted per (name, client); NUL cannot occur in either.
fn subject(name: &UserName, client: &str) -> String {
    format!("{}\u{0}{client}", name.as_str())
}

#[async_trait]
impl Sessions for DynamoSessions {
    /// One `PutItem`. No check of the account: every read checks it.
    async fn create(&self, id: &SessionId, session: &Session) -> StoreResult<()> {
        Ok(self.put(id, session, Vec::new()).await?)
    }

    /// One `TransactWriteItems`: the session and the attempt's release.
    async fn create_releasing(
        &self,
        id: &SessionId,
        session: &Session,
        attempt: &Attempt,
    ) -> StoreResult<()> {
        let release = vec![release_update(&self.db, attempt)?];
        Ok(self.put(id, session, release).await?)
    }

    /// One `BatchGetItem` of the session and its account.
    async fn get(&self, id: &SessionId, now: Timestamp) -> StoreResult<Option<Session>> {
        let read = self.read_with_account(id, None).await?;
        let Some(session) = read.session else {
            return Ok(None);
        };
        let account = read.account.as_ref().map(Option::as_ref);
        Ok(self.serving(session, now, account).await?)
    }

    /// One `BatchGetItem` of the session, its account and the path's user or video, all
    /// strongly consistent.
    async fn get_with(
        &self,
        id: &SessionId,
        now: Timestamp,
        item: PathItem<'_>,
    ) -> StoreResult<(Option<Session>, Found)> {
        let path = match item {
            PathItem::User(name) => (self.db.users.as_str(), user_key(name.as_str())),
            PathItem::Video(video) => {
                let key = Item::from([("video_id".to_owned(), s(video.to_string()))]);
                (self.db.videos.as_str(), key)
            }
        };
        let read = self.read_with_account(id, Some(path)).await?;
        let session = match read.session {
            Some(session) => {
                // An id that names no account: the path's user may be the session's.
                let path_is_account = matches!(item,
                    PathItem::User(name) if name.as_str() == session.user_name);
                let account = match &read.account {
                    Some(account) => Some(account.as_ref()),
                    None if path_is_account => Some(read.path_item.as_ref()),
                    None => None,
                };
                self.serving(session, now, account).await?
            }
            None => None,
        };
        let path_item = read.path_item;
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
