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
//! account changed may be listed late, so account deletion looks again after deleting
//! the user, and the dispatcher's sweep of deleted accounts once more.

use super::dynamo::{
    is_condition_failure, is_transaction_condition_failure, n, padded, s, Item, Tables,
};
use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem};
use reel_core::domain::{SessionId, Timestamp, UserId, UserName, Window};
use reel_core::ports::{Attempt, Session, Sessions, StoreResult};
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

    /// The session is bound to its user's id: the account must still exist under that
    /// id (not deleted, not made anew under the same name) and not be disabled. One
    /// strongly consistent read of the user's id and flag.
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
        let Some(user) = out.item else {
            return Ok(false);
        };
        let same_id =
            matches!(user.get("user_id"), Some(AttributeValue::S(id)) if *id == session.user_id);
        let disabled = matches!(user.get("disabled"), Some(AttributeValue::Bool(true)));
        Ok(same_id && !disabled)
    }
}

/// Failures are counted per (name, client); NUL cannot occur in either.
fn subject(name: &UserName, client: &str) -> String {
    format!("{}\u{0}{client}", name.as_str())
}

#[async_trait]
impl Sessions for DynamoSessions {
    /// One `TransactWriteItems`: the verified session, on condition that its account is
    /// live under its id. When it is not, the session is written unverified (its reads
    /// then find the account not live, unless it becomes live again).
    async fn create(&self, id: &SessionId, session: &Session) -> StoreResult<()> {
        let item = |verified| {
            serde_dynamo::to_item::<_, Item>(SessionItem {
                session_digest: id.digest(),
                user_id: session.user_id.to_string(),
                user_name: session.user_name.as_str().to_owned(),
                expires: session.expires.as_micros(),
                ttl: session.expires.unix_seconds(),
                verified,
            })
            .context("encoding a session")
        };
        let put = Put::builder()
            .table_name(&self.db.sessions)
            .set_item(Some(item(true)?))
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
        let written = self
            .db
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(account_is_live)
                    .build(),
            )
            .send()
            .await;
        match written {
            Ok(_) => return Ok(()),
            Err(e) if is_transaction_condition_failure(&e) => {}
            Err(e) => return Err(anyhow::Error::new(e).context("creating a session").into()),
        }
        self.db
            .client
            .put_item()
            .table_name(&self.db.sessions)
            .set_item(Some(item(false)?))
            .send()
            .await
            .context("creating an unverified session")?;
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
        if item.expires <= now.as_micros()
            || !(item.verified || self.account_is_live(&item).await?)
        {
            return Ok(None);
        }
        Ok(Some(Session {
            user_id: UserId::parse(&item.user_id).context("a session's user id")?,
            user_name: UserName::parse(&item.user_name).context("a session's user name")?,
            expires: Timestamp::from_micros(item.expires),
        }))
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
