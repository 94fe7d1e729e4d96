//! Group commit: one thread owns the database's only write connection. It takes every
//! write waiting in its queue, runs them in one transaction (each in its own savepoint, so
//! one failing write undoes only itself), commits once — one WAL sync covers them all —
//! and only then answers each caller. Readers use their own connections (WAL), so they
//! never wait behind it.

use rusqlite::{Connection, ErrorCode};
use std::collections::VecDeque;
use tokio::sync::{mpsc, oneshot};

/// At most this many writes share one transaction, so one group's answer never waits
/// behind an unbounded queue.
const MAX_GROUP: usize = 256;

/// Why a write that ran did not stay: the group's transaction failed to commit.
#[derive(Debug, Clone, thiserror::Error)]
#[error("committing a group of {writes} writes failed: {message}")]
pub(crate) struct GroupFailed {
    writes: usize,
    pub(crate) code: Option<ErrorCode>,
    message: String,
}

impl GroupFailed {
    fn of(writes: usize, error: &rusqlite::Error) -> Self {
        Self {
            writes,
            code: error.sqlite_error_code(),
            message: error.to_string(),
        }
    }

    fn rolled_back(writes: usize) -> Self {
        Self {
            writes,
            code: None,
            message: "SQLite rolled the transaction back".into(),
        }
    }
}

/// Sends a write's outcome to its caller once its group's commit is known.
type Reply = Box<dyn FnOnce(Result<(), GroupFailed>) + Send>;
/// A write: runs on the writer's connection inside the group's transaction, or, given
/// none, does not run because its group could not begin.
type Job = Box<dyn FnOnce(Option<&Connection>) -> Reply + Send>;

/// What a writer committed before its queue closed: the tests' view of the grouping.
#[derive(Debug, Default)]
struct WriteStats {
    groups: u64,
    writes: u64,
}

/// The queue into the writer thread; cheap to clone.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Writer {
    /// Starts the writer thread on `conn`; it ends when the last `Writer` is dropped.
    pub(crate) fn start(conn: Connection) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run(conn, queue))?;
        Ok(Self { jobs })
    }

    /// Runs `work` in the next group and answers once that group is durable.
    pub(crate) async fn write<T, F>(&self, work: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
    {
        let (job, answered) = job(work);
        self.jobs
            .send(job)
            .map_err(|_| anyhow::anyhow!("the database writer has stopped"))?;
        answered
            .await
            .map_err(|_| anyhow::anyhow!("the database writer stopped before answering"))?
    }
}

/// `work` as a job for the writer, and where its answer will arrive.
fn job<T, F>(work: F) -> (Job, oneshot::Receiver<anyhow::Result<T>>)
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
{
    let (answer, answered) = oneshot::channel();
    let job: Job = Box::new(move |conn| {
        let outcome = conn.map(|conn| in_savepoint(conn, work));
        Box::new(move |committed| {
            let result = match (outcome, committed) {
                (_, Err(failed)) => Err(failed.into()),
                (Some(outcome), Ok(())) => outcome,
                (None, Ok(())) => Err(anyhow::anyhow!("the write did not run")),
            };
            let _ = answer.send(result);
        })
    });
    (job, answered)
}

/// Runs `work` so that its failure undoes its own changes and nothing else.
fn in_savepoint<T>(
    conn: &Connection,
    work: impl FnOnce(&Connection) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    conn.execute_batch("SAVEPOINT write")?;
    match work(conn) {
        Ok(value) => {
            conn.execute_batch("RELEASE write")?;
            Ok(value)
        }
        Err(error) => {
            if !conn.is_autocommit() {
                conn.execute_batch("ROLLBACK TO write; RELEASE write")?;
            }
            Err(error)
        }
    }
}

/// The writer thread: waits for a write, then commits everything queued by then; ends
/// when the queue closes.
fn run(conn: Connection, mut queue: mpsc::UnboundedReceiver<Job>) -> WriteStats {
    let mut stats = WriteStats::default();
    let mut pending = VecDeque::new();
    while let Some(first) = queue.blocking_recv() {
        pending.push_back(first);
        while let Ok(job) = queue.try_recv() {
            pending.push_back(job);
        }
        while !pending.is_empty() {
            commit_group(&conn, &mut pending, &mut stats);
        }
    }
    stats
}

/// Runs up to [`MAX_GROUP`] of `pending` in one transaction and answers each of them.
/// Writes left in `pending` (past the limit, or after SQLite ended the transaction on
/// its own) go in the next group.
fn commit_group(conn: &Connection, pending: &mut VecDeque<Job>, stats: &mut WriteStats) {
    if let Err(error) = conn.execute_batch("BEGIN IMMEDIATE") {
        // Not even begun (another process holds the write lock past the busy timeout):
        // each waiting write fails alike.
        let failed = GroupFailed::of(pending.len(), &error);
        for job in pending.drain(..) {
            job(None)(Err(failed.clone()));
        }
        return;
    }
    let mut replies = Vec::new();
    while replies.len() < MAX_GROUP {
        let Some(job) = pending.pop_front() else {
            break;
        };
        replies.push(job(Some(conn)));
        if conn.is_autocommit() {
            break; // SQLite rolled the whole transaction back (disk full, I/O error)
        }
    }
    let committed = if conn.is_autocommit() {
        Err(GroupFailed::rolled_back(replies.len()))
    } else {
        conn.execute_batch("COMMIT").map_err(|error| {
            let _ = conn.execute_batch("ROLLBACK");
            GroupFailed::of(replies.len(), &error)
        })
    };
    // Each caller logs its own failure, at the HTTP boundary.
    if committed.is_ok() {
        stats.groups += 1;
        stats.writes += replies.len() as u64;
    }
    for reply in replies {
        reply(committed.as_ref().map(|_| ()).map_err(GroupFailed::clone));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Answer = oneshot::Receiver<anyhow::Result<()>>;
    type Work = Box<dyn FnOnce(&Connection) -> anyhow::Result<()> + Send>;

    fn database() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("t.db")).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE t (v INTEGER PRIMARY KEY)")
            .unwrap();
        (dir, conn)
    }

    fn insert(v: i64) -> impl FnOnce(&Connection) -> anyhow::Result<()> + Send {
        move |conn| {
            conn.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
            Ok(())
        }
    }

    /// Queues `works` before the writer looks, runs the writer until the queue is done,
    /// and returns each write's answer in order.
    fn run_queued(conn: Connection, works: Vec<Work>) -> (Vec<anyhow::Result<()>>, WriteStats) {
        let (jobs, queue) = mpsc::unbounded_channel();
        let answers: Vec<Answer> = works
            .into_iter()
            .map(|work| {
                let (job, answer) = job(work);
                jobs.send(job).unwrap();
                answer
            })
            .collect();
        drop(jobs);
        let stats = run(conn, queue);
        let answers = answers
            .into_iter()
            .map(|mut a| a.try_recv().expect("every write is answered"))
            .collect();
        (answers, stats)
    }

    fn stored(dir: &tempfile::TempDir) -> Vec<i64> {
        let conn = Connection::open(dir.path().join("t.db")).unwrap();
        let mut stmt = conn.prepare("SELECT v FROM t ORDER BY v").unwrap();
        let values = stmt.query_map([], |r| r.get(0)).unwrap();
        values.collect::<Result<_, _>>().unwrap()
    }

    #[test]
    fn writes_waiting_together_commit_in_one_transaction() {
        let (dir, conn) = database();
        let works = (0..50).map(|v| Box::new(insert(v)) as _).collect();
        let (answers, stats) = run_queued(conn, works);
        assert!(answers.iter().all(|a| a.is_ok()));
        assert_eq!((stats.groups, stats.writes), (1, 50));
        assert_eq!(stored(&dir), (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn a_group_holds_at_most_max_group_writes() {
        let (dir, conn) = database();
        let n = MAX_GROUP as i64 + 10;
        let works = (0..n).map(|v| Box::new(insert(v)) as _).collect();
        let (_, stats) = run_queued(conn, works);
        assert_eq!((stats.groups, stats.writes), (2, n as u64));
        assert_eq!(stored(&dir).len(), n as usize);
    }

    #[test]
    fn a_failing_write_undoes_only_its_own_changes() {
        let (dir, conn) = database();
        let failing = |conn: &Connection| -> anyhow::Result<()> {
            conn.execute("INSERT INTO t (v) VALUES (2)", [])?;
            anyhow::bail!("refused after writing")
        };
        let duplicate = insert(1); // a constraint violation
        let works = vec![
            Box::new(insert(1)) as _,
            Box::new(failing) as _,
            Box::new(duplicate) as _,
            Box::new(insert(3)) as _,
        ];
        let (answers, stats) = run_queued(conn, works);
        let ok: Vec<bool> = answers.iter().map(|a| a.is_ok()).collect();
        assert_eq!(ok, [true, false, false, true]);
        assert_eq!(stats.groups, 1);
        assert_eq!(stored(&dir), [1, 3]);
    }

    #[test]
    fn when_the_group_cannot_begin_every_write_fails_as_busy_and_none_runs() {
        let (dir, conn) = database();
        conn.busy_timeout(std::time::Duration::ZERO).unwrap();
        let other = Connection::open(dir.path().join("t.db")).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let works = (0..3).map(|v| Box::new(insert(v)) as _).collect();
        let (answers, stats) = run_queued(conn, works);
        other.execute_batch("ROLLBACK").unwrap();
        for answer in answers {
            let error = answer.unwrap_err();
            let failed = error
                .downcast_ref::<GroupFailed>()
                .expect("a group failure");
            assert_eq!(failed.code, Some(ErrorCode::DatabaseBusy));
        }
        assert_eq!(stats.groups, 0);
        assert!(stored(&dir).is_empty());
    }
}
