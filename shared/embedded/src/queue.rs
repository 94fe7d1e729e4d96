use super::db::{CachedStatements, SqliteStore};
use anyhow::Context;
use async_trait::async_trait;
use reel_core::domain::{Timestamp, VideoId};
use reel_core::ports::{Queue, QueueDepth, QueueMessage, StoreResult};
use rusqlite::params;

/// The deletion queue in the local database: durable across crashes, with SQS's
/// visibility timeout, receive count and dead-letter queue.
#[derive(Clone)]
pub struct SqliteQueue {
    store: SqliteStore,
    max_receives: u32,
}

impl SqliteQueue {
    /// A message delivered `max_receives` times without being acknowledged moves to the
    /// dead-letter table at its next receive (SQS's `maxReceiveCount`).
    pub fn new(store: SqliteStore, max_receives: u32) -> Self {
        Self {
            store,
            max_receives,
        }
    }
}

/// An ack handle names one delivery: the message id and its receive count.
fn ack_handle(id: i64, count: u32) -> String {
    format!("{id}:{count}")
}

#[async_trait]
impl Queue for SqliteQueue {
    async fn send_batch(&self, videos: &[VideoId]) -> StoreResult<()> {
        if videos.len() > 10 {
            return Err(anyhow::anyhow!("a batch holds at most 10 messages").into());
        }
        let bodies: Vec<String> = videos.iter().map(|v| v.to_string()).collect();
        self.store
            .write(move |conn| {
                let now = Timestamp::now().as_micros();
                {
                    let mut stmt = conn.prepare_cached(
                        "INSERT INTO queue_messages (body, visible_us, sent_us) VALUES (?1, ?2, ?2)",
                    )?;
                    for body in &bodies {
                        stmt.execute(params![body, now])?;
                    }
                }
                Ok(())
            })
            .await
    }

    async fn receive(&self, max: u32, visibility_secs: i64) -> StoreResult<Vec<QueueMessage>> {
        let max_receives = self.max_receives;
        self.store
            .write(move |conn| {
                let now = Timestamp::now();
                // Redrive: exhausted messages leave for the dead-letter table.
                conn.execute_cached(
                    "INSERT INTO dead_letters (id, body, receive_count, sent_us, moved_us)
                     SELECT id, body, receive_count, sent_us, ?2 FROM queue_messages
                     WHERE visible_us <= ?1 AND receive_count >= ?3",
                    params![now.as_micros(), now.as_micros(), max_receives],
                )?;
                conn.execute_cached(
                    "DELETE FROM queue_messages WHERE visible_us <= ?1 AND receive_count >= ?2",
                    params![now.as_micros(), max_receives],
                )?;
                let taken: Vec<(i64, String, u32)> = conn
                    .prepare_cached(
                        "UPDATE queue_messages SET receive_count = receive_count + 1, visible_us = ?2
                         WHERE id IN (SELECT id FROM queue_messages WHERE visible_us <= ?1
                                      ORDER BY visible_us, id LIMIT ?3)
                         RETURNING id, body, receive_count",
                    )?
                    .query_map(
                        params![now.as_micros(), now.plus_seconds(visibility_secs).as_micros(), max.min(10)],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )?
                    .collect::<Result<_, _>>()?;
                Ok(taken
                    .into_iter()
                    .map(|(id, body, count)| QueueMessage { ack_handle: ack_handle(id, count), body, receive_count: count })
                    .collect())
            })
            .await
    }

    async fn ack(&self, ack_handle: &str) -> StoreResult<()> {
        let (id, count) = ack_handle
            .split_once(':')
            .and_then(|(i, c)| Some((i.parse::<i64>().ok()?, c.parse::<u32>().ok()?)))
            .context("not an ack handle of this queue")?;
        self.store
            .write(move |conn| {
                // A stale handle (the message was delivered again since) deletes nothing.
                conn.execute_cached(
                    "DELETE FROM queue_messages WHERE id = ?1 AND receive_count = ?2",
                    params![id, count],
                )
                .context("acknowledging a queue message")?;
                Ok(())
            })
            .await
    }

    async fn depth(&self) -> StoreResult<QueueDepth> {
        self.store
            .read(|conn| {
                let now = Timestamp::now().as_micros();
                let (waiting, in_flight, dead_letters): (i64, i64, i64) = conn
                    .query_row_cached(
                        "SELECT (SELECT COUNT(*) FROM queue_messages WHERE visible_us <= ?1),
                                (SELECT COUNT(*) FROM queue_messages WHERE visible_us > ?1),
                                (SELECT COUNT(*) FROM dead_letters)",
                        [now],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .context("counting queue messages")?;
                Ok(QueueDepth {
                    waiting: waiting as u64,
                    in_flight: in_flight as u64,
                    dead_letters: dead_letters as u64,
                })
            })
            .await
    }

    async fn redrive(&self) -> StoreResult<u64> {
        self.store
            .write(|conn| {
                let now = Timestamp::now().as_micros();
                // One write: every dead letter is back in the queue or none is.
                let moved = conn.execute_cached(
                    "INSERT INTO queue_messages (body, receive_count, visible_us, sent_us)
                     SELECT body, 0, ?1, sent_us FROM dead_letters ORDER BY id",
                    [now],
                )?;
                conn.execute_cached("DELETE FROM dead_letters", [])?;
                Ok(moved as u64)
            })
            .await
    }
}
