//! Runs the pipeline inside a long-lived process: the dispatcher on an interval (the
//! EventBridge schedule's stand-in) and a worker polling the queue (the SQS event
//! source's stand-in). Both stop when `stop` turns true.

use super::{Dispatcher, Worker};
use crate::domain::Timestamp;
use crate::ports::Queue;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How long an idle worker waits before asking the queue again.
const IDLE_POLL: Duration = Duration::from_millis(250);

pub async fn run_dispatcher(
    dispatcher: Dispatcher,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.changed() => return,
        }
        match dispatcher.run_once(Timestamp::now()).await {
            Ok(0) => {}
            Ok(sent) => tracing::info!(sent, "deletions dispatched"),
            Err(e) => tracing::error!(
                cause = format!("{e:#}"),
                "dispatching deletions failed; next tick retries"
            ),
        }
    }
}

pub async fn run_worker(
    worker: Worker,
    queue: Arc<dyn Queue>,
    visibility_secs: i64,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        let messages = match queue.receive(10, visibility_secs).await {
            Ok(messages) => messages,
            Err(e) => {
                tracing::error!(cause = format!("{e:#}"), "receiving deletions failed");
                Vec::new()
            }
        };
        if messages.is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(IDLE_POLL) => {}
                _ = stop.changed() => return,
            }
            continue;
        }
        let outcome = worker.process_batch(&messages).await;
        for ack_handle in &outcome.done {
            if let Err(e) = queue.ack(ack_handle).await {
                // Not acknowledged: it comes back and is (idempotently) done again.
                tracing::warn!(cause = format!("{e:#}"), "acknowledging a deletion failed");
            }
        }
    }
}
