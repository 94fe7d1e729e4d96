//! The deletion queue on SQS. Queue URLs are looked up once, on first use, so a
//! function that never touches the queue pays nothing for it at start-up.

use super::AwsSettings;
use anyhow::Context;
use async_trait::async_trait;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use reel_core::domain::VideoId;
use reel_core::ports::{Queue, QueueDepth, QueueMessage, StoreResult};
use std::collections::HashMap;
use tokio::sync::OnceCell;

pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    name: String,
    dead_letter_name: String,
    url: OnceCell<String>,
    dead_letter_url: OnceCell<String>,
    /// `WaitTimeSeconds` of a receive: 0 answers at once (Lambda's event source does its
    /// own polling); a long-running worker waits for messages instead of spinning.
    wait_secs: i32,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, settings: &AwsSettings) -> Self {
        Self {
            client,
            name: settings.queue_name.clone(),
            dead_letter_name: settings.dead_letter_queue_name(),
            url: OnceCell::new(),
            dead_letter_url: OnceCell::new(),
            wait_secs: 0,
        }
    }

    /// Receives wait up to `secs` (at most 20) for a message to arrive.
    pub fn long_polling(mut self, secs: u8) -> Self {
        self.wait_secs = i32::from(secs.min(20));
        self
    }

    async fn url_of(&self, cell: &OnceCell<String>, name: &str) -> anyhow::Result<String> {
        let url = cell
            .get_or_try_init(|| async {
                let out = self
                    .client
                    .get_queue_url()
                    .queue_name(name)
                    .send()
                    .await
                    .with_context(|| format!("looking up queue {name}"))?;
                out.queue_url.context("GetQueueUrl returned no URL")
            })
            .await?;
        Ok(url.clone())
    }

    pub async fn url(&self) -> anyhow::Result<String> {
        self.url_of(&self.url, &self.name).await
    }

    async fn dead_letter_url(&self) -> anyhow::Result<String> {
        self.url_of(&self.dead_letter_url, &self.dead_letter_name)
            .await
    }

    /// The queue's approximate message counts, by attribute.
    async fn counts(
        &self,
        url: String,
        names: &[QueueAttributeName],
    ) -> anyhow::Result<HashMap<QueueAttributeName, u64>> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .set_attribute_names(Some(names.to_vec()))
            .send()
            .await
            .context("reading a queue's message counts")?;
        Ok(out
            .attributes
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(name, value)| Some((name, value.parse().ok()?)))
            .collect())
    }

    /// Moves one batch of dead letters back: send to the queue first, then delete from
    /// the dead-letter queue, so a failure in between duplicates and never loses.
    /// Returns how many moved; 0 once the dead-letter queue is empty.
    async fn redrive_batch(&self, from: &str, to: &str) -> anyhow::Result<u64> {
        let messages = self
            .client
            .receive_message()
            .queue_url(from)
            .max_number_of_messages(10)
            .visibility_timeout(REDRIVE_VISIBILITY_SECS)
            // A long poll asks every SQS server, so an empty answer means empty.
            .wait_time_seconds(1)
            .send()
            .await
            .context("receiving dead letters")?
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            return Ok(0);
        }
        let mut sends = Vec::with_capacity(messages.len());
        let mut deletes = Vec::with_capacity(messages.len());
        for (i, m) in messages.into_iter().enumerate() {
            let receipt = m
                .receipt_handle
                .context("a dead letter without a receipt")?;
            sends.push(
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(m.body.unwrap_or_default())
                    .build()?,
            );
            deletes.push(
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(receipt)
                    .build()?,
            );
        }
        let moved = sends.len() as u64;
        let sent = self
            .client
            .send_message_batch()
            .queue_url(to)
            .set_entries(Some(sends))
            .send()
            .await
            .context("sending dead letters back to the queue")?;
        anyhow::ensure!(
            sent.failed().is_empty(),
            "SQS refused {} redriven messages; they stay dead letters",
            sent.failed().len()
        );
        self.client
            .delete_message_batch()
            .queue_url(from)
            .set_entries(Some(deletes))
            .send()
            .await
            .context("removing redriven dead letters")?;
        Ok(moved)
    }
}

/// How long a dead letter being redriven stays hidden: far longer than one batch takes.
const REDRIVE_VISIBILITY_SECS: i32 = 120;

impl SqsQueue {
    /// Messages in the dead-letter queue: one GetQueueAttributes on it.
    async fn dead_letter_count(&self) -> anyhow::Result<u64> {
        let visible = QueueAttributeName::ApproximateNumberOfMessages;
        let counts = self
            .counts(
                self.dead_letter_url().await?,
                std::slice::from_ref(&visible),
            )
            .await?;
        Ok(counts.get(&visible).copied().unwrap_or(0))
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send_batch(&self, videos: &[VideoId]) -> StoreResult<()> {
        if videos.len() > 10 {
            return Err(anyhow::anyhow!("an SQS batch holds at most 10 messages").into());
        }
        if videos.is_empty() {
            return Ok(());
        }
        let entries = videos
            .iter()
            .enumerate()
            .map(|(i, v)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(v.to_string())
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .context("building a message batch")?;
        let out = self
            .client
            .send_message_batch()
            .queue_url(self.url().await?)
            .set_entries(Some(entries))
            .send()
            .await
            .context("sending deletions")?;
        // Partial failures: the records stay undispatched and the next run resends them.
        let failed = out.failed();
        if !failed.is_empty() {
            return Err(anyhow::anyhow!(
                "SQS refused {} of {} deletions (first: {})",
                failed.len(),
                videos.len(),
                failed[0].message().unwrap_or(failed[0].code())
            )
            .into());
        }
        Ok(())
    }

    async fn receive(&self, max: u32, visibility_secs: i64) -> StoreResult<Vec<QueueMessage>> {
        let out = self
            .client
            .receive_message()
            .queue_url(self.url().await?)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .visibility_timeout(
                i32::try_from(visibility_secs).context("visibility timeout out of range")?,
            )
            .wait_time_seconds(self.wait_secs)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .context("receiving deletions")?;
        out.messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1);
                Ok(QueueMessage {
                    ack_handle: m.receipt_handle.context("a message without a receipt")?,
                    body: m.body.unwrap_or_default(),
                    receive_count,
                })
            })
            .collect()
    }

    async fn ack(&self, ack_handle: &str) -> StoreResult<()> {
        self.client
            .delete_message()
            .queue_url(self.url().await?)
            .receipt_handle(ack_handle)
            .send()
            .await
            .context("acknowledging a deletion")?;
        Ok(())
    }

    async fn depth(&self) -> StoreResult<QueueDepth> {
        let (visible, hidden) = (
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        );
        let counts = self
            .counts(self.url().await?, &[visible.clone(), hidden.clone()])
            .await?;
        Ok(QueueDepth {
            waiting: counts.get(&visible).copied().unwrap_or(0),
            in_flight: counts.get(&hidden).copied().unwrap_or(0),
            dead_letters: self.dead_letter_count().await?,
        })
    }

    async fn redrive(&self) -> StoreResult<u64> {
        let (from, to) = (self.dead_letter_url().await?, self.url().await?);
        let mut moved = 0;
        loop {
            match self.redrive_batch(&from, &to).await? {
                0 => return Ok(moved),
                n => moved += n,
            }
        }
    }
}
