use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use reel_core::domain::Timestamp;
use reel_core::jobs::{Dispatcher, Worker};
use reel_core::ports::QueueMessage;

/// The EventBridge schedule's tick: one dispatcher pass.
pub async fn on_schedule(dispatcher: &Dispatcher) -> anyhow::Result<usize> {
    let sent = dispatcher.run_once(Timestamp::now()).await?;
    tracing::info!(sent, "deletions dispatched");
    Ok(sent)
}

/// An SQS batch: every message processed, failures reported per item
/// (`ReportBatchItemFailures`), so only they come back — and after the queue's maximum
/// receives, move to the dead-letter queue.
pub async fn on_deletion_batch(worker: &Worker, event: SqsEvent) -> SqsBatchResponse {
    let messages: Vec<QueueMessage> = event
        .records
        .into_iter()
        .map(|record| QueueMessage {
            receive_count: record
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1),
            // The batch response names failures by message id.
            ack_handle: record.message_id.unwrap_or_default(),
            body: record.body.unwrap_or_default(),
        })
        .collect();
    let outcome = worker.process_batch(&messages).await;
    let mut response = SqsBatchResponse::default();
    response.set_failures(outcome.failed);
    response
}
