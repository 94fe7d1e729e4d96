//! Sessions and sign-in failures in DynamoDB. Both expire through native TTL, which
//! deletes lazily (up to days later), so reads check expiry themselves.

use super::dynamo::{n, padded, s, Item, Tables};
use crate::domain::{SessionId, Timestamp, UserId, UserName};
use crate::ports::{Session, Sessions};
use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::Select;
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
    pub(crate) fn new(db: Tables) -> Self {
        Self { db }
    }
}

/// Failures are counted per (name, client); NUL cannot occur in either.
fn subject(name: &UserName, client: &str) -> String {
    format!("{}\u{0}{client}", name.as_str())
}

#[async_trait]
impl Sessions for DynamoSessions {
    async fn create(&self, id: &SessionId, session: &Session) -> anyhow::Result<()> {
        let item: Item = serde_dynamo::to_item(SessionItem {
            session_digest: id.digest(),
            user_id: session.user_id.to_string(),
            user_name: session.user_name.as_str().to_owned(),
            expires: session.expires.as_micros(),
            ttl: session.expires.unix_seconds(),
        })?;
        self.db
            .client
            .put_item()
            .table_name(&self.db.sessions)
            .set_item(Some(item))
            .send()
            .await
            .context("creating a session")?;
        Ok(())
    }

    async fn get(&self, id: &SessionId, now: Timestamp) -> anyhow::Result<Option<Session>> {
        let out = self
            .db
            .client
            .get_item()
            .table_name(&self.db.sessions)
            .key("session_digest", s(id.digest()))
            .send()
            .await
            .context("reading a session")?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let item: SessionItem = serde_dynamo::from_item(item)?;
        if item.expires <= now.as_micros() {
            return Ok(None);
        }
        Ok(Some(Session {
            user_id: UserId::parse(&item.user_id)?,
            user_name: UserName::parse(&item.user_name)?,
            expires: Timestamp::from_micros(item.expires),
        }))
    }

    async fn delete(&self, id: &SessionId) -> anyhow::Result<()> {
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

    async fn record_sign_in_failure(
        &self,
        name: &UserName,
        client: &str,
        at: Timestamp,
    ) -> anyhow::Result<()> {
        let at_id = format!("{}#{}", padded(at.as_micros()), uuid::Uuid::new_v4());
        self.db
            .client
            .put_item()
            .table_name(&self.db.sign_in_failures)
            .item("subject", s(subject(name, client)))
            .item("at_id", s(at_id))
            .item("ttl", n(at.unix_seconds() + FAILURE_RETENTION_SECS))
            .send()
            .await
            .context("recording a sign-in failure")?;
        Ok(())
    }

    async fn sign_in_failures(
        &self,
        name: &UserName,
        client: &str,
        since: Timestamp,
    ) -> anyhow::Result<u32> {
        let mut pages = self
            .db
            .client
            .query()
            .table_name(&self.db.sign_in_failures)
            .key_condition_expression("subject = :s AND at_id >= :since")
            .expression_attribute_values(":s", s(subject(name, client)))
            .expression_attribute_values(":since", s(padded(since.as_micros())))
            .select(Select::Count)
            .into_paginator()
            .send();
        let mut count = 0;
        while let Some(page) = pages.next().await {
            count += page.context("counting sign-in failures")?.count;
        }
        Ok(u32::try_from(count).unwrap_or(0))
    }
}
