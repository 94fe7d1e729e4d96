//! Argon2 is deliberately slow (~20 ms of a core) and memory-hungry (19 MiB a call), so
//! it is bounded: at most one hash per core at a time, a short queue behind them (a few
//! hundred milliseconds of hashing), and past that an immediate 503 `011` (busy, retry
//! later) instead of a pile of blocked threads and memory.
//!
//! Hashes run on threads of their own, one per core, not on Tokio's blocking pool: the
//! database calls that share that pool never wait behind them, and the 19 MiB blocks are
//! reused by the same few threads. (On the blocking pool, each of its many threads kept
//! its own freed block in its malloc arena: 150 parallel sign-ins once left 10 GB of RSS.)

use crate::error::ApiError;
use reel_core::domain::{Password, PasswordHash};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use tokio::sync::Semaphore;

/// Hashes waiting for a core, per core, before new ones are refused: at ~20 ms a hash, a
/// wait of well under a second.
const QUEUE_PER_CORE: usize = 32;

pub async fn hash(password: Password) -> Result<PasswordHash, ApiError> {
    limit()
        .run(move || password.hash())
        .await?
        .map_err(ApiError::Internal)
}

/// Verifies against the user's hash, or against a dummy one when there is no such user,
/// so a wrong name and a wrong password cost the same time.
pub async fn verify(password: Password, hash: Option<PasswordHash>) -> Result<bool, ApiError> {
    limit()
        .run(move || match hash {
            Some(h) => password.matches(&h),
            None => {
                password.matches(PasswordHash::dummy());
                false
            }
        })
        .await
}

/// The process's limit, sized by the cores it may use.
fn limit() -> &'static HashingLimit {
    static LIMIT: OnceLock<HashingLimit> = OnceLock::new();
    LIMIT.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        HashingLimit::new(cores, cores * QUEUE_PER_CORE)
    })
}

/// `running` hashes at once on as many threads, `queue` more waiting; the rest are
/// refused.
pub(crate) struct HashingLimit {
    running: Semaphore,
    waiting: AtomicUsize,
    queue: usize,
    threads: HashThreads,
}

impl HashingLimit {
    pub(crate) fn new(running: usize, queue: usize) -> Self {
        let running = running.max(1);
        Self {
            running: Semaphore::new(running),
            waiting: AtomicUsize::new(0),
            queue,
            threads: HashThreads::start(running),
        }
    }

    /// Runs `work` on a hashing thread under a permit, or answers 503 `011` when every
    /// permit is taken and the queue is full.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = match self.running.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                let _in_queue = QueueSlot::take(&self.waiting, self.queue).ok_or(ApiError::Busy)?;
                self.running
                    .acquire()
                    .await
                    .map_err(|e| ApiError::Internal(e.into()))?
            }
        };
        self.threads.run(work).await
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads taking jobs from one queue. With a permit per thread taken
/// before a job is sent, a job never waits for a thread.
struct HashThreads {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl HashThreads {
    fn start(count: usize) -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        for i in 0..count {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || loop {
                    let job = match queue.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    match job {
                        // A panicking job must not take its thread with it.
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => return,
                    }
                })
                .expect("starting a password-hashing thread");
        }
        Self { jobs }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs.send(job).map_err(|_| {
            ApiError::Internal(anyhow::anyhow!("the password-hashing threads are gone"))
        })?;
        result
            .await
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("a password hash panicked")))
    }
}

/// A place in the queue, given back when dropped (also when the request is abandoned).
struct QueueSlot<'a>(&'a AtomicUsize);

impl<'a> QueueSlot<'a> {
    fn take(waiting: &'a AtomicUsize, queue: usize) -> Option<Self> {
        let taken = waiting.fetch_add(1, Ordering::AcqRel);
        if taken >= queue {
            waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Self(waiting))
    }
}

impl Drop for QueueSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    /// A hash that holds its permit until told to finish.
    fn held(
        limit: &Arc<HashingLimit>,
    ) -> (
        tokio::task::JoinHandle<Result<(), ApiError>>,
        std::sync::mpsc::Sender<()>,
    ) {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let limit = limit.clone();
        let task = tokio::spawn(async move {
            limit
                .run(move || {
                    let _ = wait.recv();
                })
                .await
        });
        (task, release)
    }

    async fn until(condition: impl Fn() -> bool) {
        for _ in 0..500 {
            if condition() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("condition never held");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_the_running_and_the_queue_it_is_busy() {
        let limit = Arc::new(HashingLimit::new(1, 1));
        let (running, finish_running) = held(&limit);
        until(|| limit.running.available_permits() == 0).await;
        let (queued, finish_queued) = held(&limit);
        until(|| limit.waiting.load(Ordering::Acquire) == 1).await;

        let refused = limit.run(|| ()).await;
        assert!(matches!(refused, Err(ApiError::Busy)), "{refused:?}");

        finish_running.send(()).unwrap();
        running.await.unwrap().unwrap();
        finish_queued.send(()).unwrap();
        queued.await.unwrap().unwrap();
        assert_eq!(limit.waiting.load(Ordering::Acquire), 0);
        assert!(limit.run(|| ()).await.is_ok(), "free again");
    }

    #[tokio::test]
    async fn an_abandoned_wait_gives_its_place_back() {
        let limit = Arc::new(HashingLimit::new(1, 1));
        let (running, finish_running) = held(&limit);
        until(|| limit.running.available_permits() == 0).await;
        let waiter = limit.run(|| ());
        let abandoned = tokio::time::timeout(Duration::from_millis(20), waiter).await;
        assert!(abandoned.is_err(), "still waiting when given up");
        assert_eq!(limit.waiting.load(Ordering::Acquire), 0);
        finish_running.send(()).unwrap();
        running.await.unwrap().unwrap();
    }
}
