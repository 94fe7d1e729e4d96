//! What an operator does by hand (`reel deletions ...`, `reel users ...`), on either
//! backend: the same ports the site uses, so the commands mean the same everywhere.

use crate::domain::UserName;
use crate::ports::{Deletions, Queue, QueueDepth, Users};
use std::fmt;
use std::sync::Arc;

/// The ports the operator commands need.
pub struct Operations {
    pub users: Arc<dyn Users>,
    pub deletions: Arc<dyn Deletions>,
    pub queue: Arc<dyn Queue>,
}

/// Where the deletion pipeline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeletionStatus {
    /// Deletions requested and not finished (records the worker has not removed yet).
    pub records: u64,
    pub queue: QueueDepth,
}

impl fmt::Display for DeletionStatus {
    /// One `name: count` line each, then what the number means.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let q = &self.queue;
        writeln!(
            f,
            "pending: {}  (in the deletion queue, waiting for the worker)",
            q.waiting
        )?;
        writeln!(
            f,
            "in flight: {}  (received by the worker, not yet done)",
            q.in_flight
        )?;
        writeln!(
            f,
            "dead letters: {}  (failed every attempt; fix the cause, then `reel deletions redrive`)",
            q.dead_letters
        )?;
        write!(
            f,
            "unfinished deletions: {}  (requested videos whose bytes, comments or record remain)",
            self.records
        )
    }
}

/// What `reel users disable|enable` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountChange {
    NoSuchUser,
    /// Done; how many sessions were ended.
    Done {
        sessions_ended: u64,
    },
}

impl Operations {
    pub async fn deletion_status(&self) -> anyhow::Result<DeletionStatus> {
        Ok(DeletionStatus {
            records: self.deletions.count().await?,
            queue: self.queue.depth().await?,
        })
    }

    /// Sends every dead letter back to the deletion queue; returns how many.
    pub async fn redrive_deletions(&self) -> anyhow::Result<u64> {
        let moved = self.queue.redrive().await?;
        tracing::info!(moved, "dead letters redriven");
        Ok(moved)
    }

    /// Disables (refusing sign-in and ending every session) or enables an account.
    pub async fn set_disabled(
        &self,
        name: &UserName,
        disabled: bool,
    ) -> anyhow::Result<AccountChange> {
        Ok(match self.users.set_disabled(name, disabled).await? {
            None => AccountChange::NoSuchUser,
            Some(sessions_ended) => {
                tracing::info!(user = %name, disabled, sessions_ended, "account changed");
                AccountChange::Done { sessions_ended }
            }
        })
    }
}
