use crate::domain::{Limit, Timestamp, VideoId};
use crate::ports::{Deletions, Queue};
use anyhow::Context;
use std::sync::Arc;

/// Records read per page while dispatching.
const PAGE: u32 = 100;
/// SQS's largest batch.
const BATCH: usize = 10;
/// How long after an account deletion its videos are still looked for: longer than any
/// API request may run (`REEL_REQUEST_TIMEOUT_SECS`, 25 s on Lambda and 30 s by
/// default), and than a DynamoDB index takes to catch up (normally under a second).
pub const ACCOUNT_SETTLE_SECS: i64 = 120;

/// Sends pending deletion records to the queue in batches of 10, marking each as
/// dispatched; a record is sent again only if it is still pending `grace_secs` later (its
/// message was lost, or ended in the dead-letter queue and the cause has been fixed).
#[derive(Clone)]
pub struct Dispatcher {
    deletions: Arc<dyn Deletions>,
    queue: Arc<dyn Queue>,
    grace_secs: i64,
}

impl Dispatcher {
    pub fn new(deletions: Arc<dyn Deletions>, queue: Arc<dyn Queue>, grace_secs: i64) -> Self {
        Self {
            deletions,
            queue,
            grace_secs,
        }
    }

    /// One pass: first the sweep of deleted accounts (which hides their videos and
    /// records their deletion: on AWS, the account deletion leaves that to it), then
    /// every due record; returns how many were sent. A failed sweep does not hold up the
    /// dispatch of the records already due (it is reported after them, and retried by
    /// the next pass); a failed dispatch stops the pass, and what was not marked is
    /// simply sent by the next one.
    pub async fn run_once(&self, now: Timestamp) -> anyhow::Result<usize> {
        let swept = self
            .deletions
            .sweep_deleted_accounts(now.plus_seconds(-ACCOUNT_SETTLE_SECS))
            .await;
        let sent = self.dispatch_due(now).await?;
        swept.context("sweeping deleted accounts (the due deletions were dispatched)")?;
        Ok(sent)
    }

    async fn dispatch_due(&self, now: Timestamp) -> anyhow::Result<usize> {
        let due_before = now.plus_seconds(-self.grace_secs);
        let limit = Limit::parse(&PAGE.to_string()).expect("PAGE is a valid limit");
        let mut after: Option<VideoId> = None;
        let mut sent = 0;
        loop {
            let page = self
                .deletions
                .list(due_before, after.as_ref(), limit)
                .await?;
            for chunk in page.chunks(BATCH) {
                let ids: Vec<VideoId> = chunk.iter().map(|r| r.video_id).collect();
                // Send, then mark: a crash in between only means one more (harmless) send.
                self.queue.send_batch(&ids).await?;
                self.deletions.mark_dispatched(&ids, now).await?;
                sent += ids.len();
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize => after = Some(last.video_id),
                _ => return Ok(sent),
            }
        }
    }
}
