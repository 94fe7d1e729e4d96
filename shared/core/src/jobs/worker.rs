use crate::domain::VideoId;
use crate::metrics::{self, Metric};
use crate::ports::{Blobs, Comments, Deletions, QueueMessage};
use anyhow::Context;
use std::sync::Arc;

/// Removes what a deleted video leaves behind: its object, every comment, then its
/// deletion record — in that order, so a record only disappears once nothing is left.
/// Idempotent: a repeat after a partial run finishes the job; a missing object is success.
#[derive(Clone)]
pub struct Worker {
    blobs: Arc<dyn Blobs>,
    comments: Arc<dyn Comments>,
    deletions: Arc<dyn Deletions>,
}

/// What became of one batch: ack handles to acknowledge, and those that failed (reported
/// as batch item failures, so only they come back).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub done: Vec<String>,
    pub failed: Vec<String>,
}

impl Worker {
    pub fn new(
        blobs: Arc<dyn Blobs>,
        comments: Arc<dyn Comments>,
        deletions: Arc<dyn Deletions>,
    ) -> Self {
        Self {
            blobs,
            comments,
            deletions,
        }
    }

    pub async fn delete_video(&self, video: &VideoId) -> anyhow::Result<()> {
        self.blobs
            .delete(video)
            .await
            .context("deleting the object")?;
        self.delete_rest(video).await
    }

    /// What follows the object: the comments, then the record.
    async fn delete_rest(&self, video: &VideoId) -> anyhow::Result<()> {
        let comments = self
            .comments
            .delete_all_of_video(video)
            .await
            .context("deleting comments")?;
        self.deletions
            .remove(video)
            .await
            .context("removing the deletion record")?;
        tracing::info!(%video, comments, "video deleted for good");
        Ok(())
    }

    /// Processes a batch: the batch's objects in one bulk delete, then each video's
    /// comments and record concurrently; one failure does not hold up the others.
    pub async fn process_batch(&self, messages: &[QueueMessage]) -> BatchOutcome {
        let videos: Vec<VideoId> = messages
            .iter()
            .filter_map(|m| VideoId::parse(m.body.trim()).ok())
            .collect();
        let objects_failed = self.blobs.delete_many(&videos).await;
        let results = futures_util::future::join_all(messages.iter().map(|m| {
            let objects_failed = &objects_failed;
            async move {
                let result = match VideoId::parse(m.body.trim()) {
                    Ok(video) if objects_failed.contains(&video) => {
                        Err(anyhow::anyhow!("deleting the object failed"))
                    }
                    Ok(video) => self.delete_rest(&video).await,
                    Err(e) => Err(anyhow::Error::new(e).context("malformed deletion message")),
                };
                (m, result)
            }
        }))
        .await;
        let mut outcome = BatchOutcome::default();
        for (message, result) in results {
            match result {
                Ok(()) => outcome.done.push(message.ack_handle.clone()),
                Err(e) => {
                    tracing::warn!(body = %message.body, receive_count = message.receive_count,
                        cause = format!("{e:#}"), "deletion failed; it will be retried");
                    outcome.failed.push(message.ack_handle.clone());
                }
            }
        }
        // Once per batch, failures too when there are none: a zero is a data point.
        metrics::count(Metric::DeletionsDone, outcome.done.len() as u64);
        metrics::count(Metric::DeletionsFailed, outcome.failed.len() as u64);
        outcome
    }
}
