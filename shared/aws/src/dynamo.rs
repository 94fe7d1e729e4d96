//! What every DynamoDB adapter shares: the client, the table names, and helpers for the
//! calls that need retries or pagination.

use super::schema::{self, Table};
use super::AwsSettings;
use anyhow::Context;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, KeysAndAttributes, WriteRequest};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::time::Duration;

pub type Item = HashMap<String, AttributeValue>;

/// BatchWriteItem's largest batch.
const BATCH_WRITE: usize = 25;
/// Attempts at items DynamoDB left unprocessed (throttling) before giving up.
const UNPROCESSED_ATTEMPTS: u32 = 8;

#[derive(Clone)]
pub struct Tables {
    pub client: Client,
    pub users: String,
    pub sessions: String,
    pub sign_in_failures: String,
    pub videos: String,
    pub comments: String,
    pub deletions: String,
}

impl Tables {
    pub fn new(client: Client, settings: &AwsSettings) -> Self {
        let name = |t: &Table| settings.table(t.name);
        Self {
            client,
            users: name(&schema::USERS),
            sessions: name(&schema::SESSIONS),
            sign_in_failures: name(&schema::SIGN_IN_FAILURES),
            videos: name(&schema::VIDEOS),
            comments: name(&schema::COMMENTS),
            deletions: name(&schema::DELETIONS),
        }
    }

    /// The item of `table` whose string key `key` is `value`, read strongly consistent
    /// (a write a moment ago is seen) and decoded; `None` when there is none. `what`
    /// names the item in errors.
    pub async fn get<T: serde::de::DeserializeOwned>(
        &self,
        table: &str,
        key: &str,
        value: String,
        what: &str,
    ) -> anyhow::Result<Option<T>> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .key(key, AttributeValue::S(value))
            .consistent_read(true)
            .send()
            .await
            .with_context(|| format!("reading {what}"))?;
        out.item
            .map(serde_dynamo::from_item)
            .transpose()
            .with_context(|| format!("decoding {what}"))
    }

    /// Items by key from several tables in one `BatchGetItem`, read strongly consistent,
    /// retrying what DynamoDB leaves unprocessed with a growing pause: each table's
    /// items, keyed by the table's name (a key with no item is simply not there).
    pub async fn batch_get(
        &self,
        keys: Vec<(&str, Item)>,
        what: &str,
    ) -> anyhow::Result<HashMap<String, Vec<Item>>> {
        let mut requests: HashMap<String, KeysAndAttributes> = HashMap::new();
        for (table, key) in keys {
            let entry = requests.entry(table.to_owned()).or_insert_with(|| {
                KeysAndAttributes::builder()
                    .consistent_read(true)
                    .set_keys(Some(Vec::new()))
                    .build()
                    .expect("keys are set")
            });
            entry.keys.push(key);
        }
        let mut found: HashMap<String, Vec<Item>> = HashMap::new();
        for attempt in 0.. {
            let out = self
                .client
                .batch_get_item()
                .set_request_items(Some(requests))
                .send()
                .await
                .with_context(|| format!("reading {what}"))?;
            for (table, items) in out.responses.unwrap_or_default() {
                found.entry(table).or_default().extend(items);
            }
            requests = out.unprocessed_keys.unwrap_or_default();
            if requests.is_empty() {
                break;
            }
            anyhow::ensure!(
                attempt < UNPROCESSED_ATTEMPTS,
                "DynamoDB kept reads of {what} unprocessed"
            );
            tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
        }
        Ok(found)
    }

    /// Deletes items by key, 25 per `BatchWriteItem`, retrying what DynamoDB leaves
    /// unprocessed with a growing pause.
    pub async fn delete_keys(&self, table: &str, keys: Vec<Item>) -> anyhow::Result<()> {
        for chunk in keys.chunks(BATCH_WRITE) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|key| {
                    let delete = DeleteRequest::builder().set_key(Some(key.clone())).build();
                    delete.map(|d| WriteRequest::builder().delete_request(d).build())
                })
                .collect::<Result<_, _>>()?;
            for attempt in 0.. {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(table, requests)
                    .send()
                    .await
                    .with_context(|| format!("BatchWriteItem on {table}"))?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(table))
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                anyhow::ensure!(
                    attempt < UNPROCESSED_ATTEMPTS,
                    "DynamoDB kept {} deletes unprocessed on {table}",
                    requests.len()
                );
                tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
            }
        }
        Ok(())
    }
}

/// A string attribute value.
pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute value.
pub fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// True when a write was refused by its condition expression (an expected outcome, e.g.
/// a taken name), as opposed to a failure.
pub fn is_condition_failure<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

/// True when a transaction was cancelled because one of its conditions failed.
pub fn is_transaction_condition_failure<R>(
    error: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> bool {
    match error.as_service_error() {
        Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .iter()
            .any(|r| r.code() == Some("ConditionalCheckFailed")),
        _ => false,
    }
}

/// A zero-padded time (micros) so that strings sort like numbers in sort keys.
pub fn padded(micros: i64) -> String {
    format!("{:020}", micros.max(0))
}
