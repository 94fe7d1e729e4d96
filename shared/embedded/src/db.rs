use crate::writer::{GroupFailed, Writer};
use anyhow::Context;
use reel_core::ports::{StoreError, StoreResult};
use rusqlite::{Connection, ErrorCode};
use rusqlite_migration::{Migrations, M};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran
/// (rusqlite_migration's bookkeeping, which this store used before adopting it).
const MIGRATIONS: &[M<'static>] = &[
    M::up(
        r#"
CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    pwd_hash   TEXT NOT NULL,
    created_us INTEGER NOT NULL
);
-- Session ids are stored only as SHA-256 digests: a copy of the database signs nobody in.
CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    user_name  TEXT NOT NULL,
    expires_us INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_us);
CREATE TABLE sign_in_failures (
    user_name TEXT NOT NULL,
    client    TEXT NOT NULL,
    at_us     INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_by_pair ON sign_in_failures (user_name, client, at_us);
CREATE TABLE videos (
    id           TEXT PRIMARY KEY,
    author_id    TEXT NOT NULL,
    author_name  TEXT NOT NULL,
    name         TEXT NOT NULL,
    created_us   INTEGER NOT NULL,
    status       TEXT NOT NULL,
    size         INTEGER NOT NULL DEFAULT 0,
    content_type TEXT
);
CREATE INDEX videos_by_author ON videos (author_id, created_us DESC, id DESC);
CREATE TABLE comments (
    id          TEXT PRIMARY KEY,
    video_id    TEXT NOT NULL,
    author_id   TEXT NOT NULL,
    author_name TEXT NOT NULL,
    content     TEXT NOT NULL,
    time_us     INTEGER NOT NULL
);
CREATE INDEX comments_by_video ON comments (video_id, time_us DESC, id DESC);
-- A deleted video's row leaves `videos` in the same transaction that writes this record,
-- so it vanishes from every read at once; the deletion pipeline removes the rest.
CREATE TABLE deletion_records (
    video_id      TEXT PRIMARY KEY,
    author_id     TEXT NOT NULL,
    requested_us  INTEGER NOT NULL,
    dispatched_us INTEGER
);
"#,
    ),
    M::up(
        r#"
-- The durable deletion queue (SQS semantics): a received message is hidden until
-- `visible_us`; after the maximum number of receives it moves to `dead_letters`.
CREATE TABLE queue_messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    body          TEXT NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    visible_us    INTEGER NOT NULL,
    sent_us       INTEGER NOT NULL
);
CREATE INDEX queue_messages_by_visibility ON queue_messages (visible_us);
CREATE TABLE dead_letters (
    id            INTEGER PRIMARY KEY,
    body          TEXT NOT NULL,
    receive_count INTEGER NOT NULL,
    sent_us       INTEGER NOT NULL,
    moved_us      INTEGER NOT NULL
);
CREATE INDEX deletion_records_by_dispatch ON deletion_records (dispatched_us);
"#,
    ),
    M::up(
        r#"
-- An operator's switch (`reel users disable`): 1 refuses the account's sign-ins.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
-- The sweep of day-old sign-in attempts deletes by time alone.
CREATE INDEX sign_in_failures_by_time ON sign_in_failures (at_us);
"#,
    ),
    M::up(
        r#"
-- Accounts deleted recently: a request in flight during the deletion may still have
-- made a video; `Deletions::sweep_deleted_accounts` looks for such videos once no
-- request can still be running, and forgets the account when it finds none.
CREATE TABLE deleted_accounts (
    user_id    TEXT PRIMARY KEY,
    deleted_us INTEGER NOT NULL
);
"#,
    ),
    M::up(
        r#"
-- A deleted account's comments go with it (left under its name, they would read as
-- written by whoever takes the name next): found by author.
CREATE INDEX comments_by_author ON comments (author_id);
"#,
    ),
    M::up(
        r#"
-- The per-user upload quotas: the size of the upload granted for a pending video, and
-- an index of the pending videos alone, so counting them never reads the ready ones.
ALTER TABLE videos ADD COLUMN granted_bytes INTEGER NOT NULL DEFAULT 0;
CREATE INDEX videos_pending_by_author ON videos (author_id) WHERE status = 'pending';
"#,
    ),
    M::up(
        r#"
-- What a video's container says once its bytes land (NULL before), why it was
-- rejected, and its poster: the live one and one granted but not landed yet (type and
-- grant time each).
ALTER TABLE videos ADD COLUMN duration_ms INTEGER;
ALTER TABLE videos ADD COLUMN width INTEGER;
ALTER TABLE videos ADD COLUMN height INTEGER;
ALTER TABLE videos ADD COLUMN video_codec TEXT;
ALTER TABLE videos ADD COLUMN audio_codec TEXT;
ALTER TABLE videos ADD COLUMN faststart INTEGER;
ALTER TABLE videos ADD COLUMN reason TEXT;
ALTER TABLE videos ADD COLUMN poster_type TEXT;
ALTER TABLE videos ADD COLUMN poster_us INTEGER;
ALTER TABLE videos ADD COLUMN poster_pending_type TEXT;
ALTER TABLE videos ADD COLUMN poster_pending_us INTEGER;
"#,
    ),
    M::up(
        r#"
-- Who may read a video and its author's words about it (API.md, "Visibility, channels
-- and the feed"); every existing video keeps today's rule, internal. The feed reads a
-- partial index of the ready public videos alone, so its cost does not grow with the
-- others.
ALTER TABLE videos ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE videos ADD COLUMN visibility TEXT NOT NULL DEFAULT 'internal';
CREATE INDEX videos_feed ON videos (created_us DESC, id DESC)
    WHERE status = 'ready' AND visibility = 'public';
"#,
    ),
    M::up(
        r#"
-- The multipart upload a pending video has in progress (API.md, "Multipart uploads"):
-- its id, declared size and part size, type, and when it is abandoned.
ALTER TABLE videos ADD COLUMN upload_id TEXT;
ALTER TABLE videos ADD COLUMN upload_size INTEGER;
ALTER TABLE videos ADD COLUMN upload_part_size INTEGER;
ALTER TABLE videos ADD COLUMN upload_type TEXT;
ALTER TABLE videos ADD COLUMN upload_expires INTEGER;
"#,
    ),
];

/// Every embedded port, over one SQLite database in WAL mode.
///
/// Writes go to the one writer thread, which commits them in groups ([`Writer`]); reads
/// run on a pool of read-only connections, on the caller's thread, so a read never waits
/// behind a write or a thread hand-off (each is one indexed query of microseconds).
#[derive(Clone)]
pub struct SqliteStore {
    writer: Writer,
    readers: Arc<ReadPool>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        // SQLite gives its WAL and shared-memory files the database file's mode.
        crate::private::private_file(path)?;
        for journal in ["-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(journal);
            crate::private::restrict_if_present(Path::new(&name), 0o600)?;
        }
        let mut conn = connect(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        migrate(&mut conn)?;
        Ok(Self {
            writer: Writer::start(conn).context("starting the database writer")?,
            readers: Arc::new(ReadPool {
                path: path.to_owned(),
                idle: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Runs `work` on a read connection. Its failure becomes a [`StoreError`] as
    /// [`store_error`] says.
    pub(crate) async fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        F: FnOnce(&Connection) -> anyhow::Result<T>,
    {
        let conn = self.readers.take().map_err(store_error)?;
        let outcome = work(&conn);
        self.readers.put(conn);
        outcome.map_err(store_error)
    }

    /// Runs `work` in the writer's next group commit; answers once it is durable (or
    /// undone: a failing `work` rolls back its own changes only).
    pub(crate) async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
    {
        self.writer.write(work).await.map_err(store_error)
    }
}

/// Statements through each connection's prepared-statement cache: a request's queries
/// are parsed and planned once per connection, not once per request (the parser was a
/// quarter of a user lookup's time in the profile).
pub(crate) trait CachedStatements {
    fn execute_cached(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize>;

    fn query_row_cached<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T>;
}

impl CachedStatements for Connection {
    fn execute_cached(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn query_row_cached<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, row)
    }
}

/// Distinct statements one connection keeps prepared (the writer runs about 30).
const STATEMENT_CACHE: usize = 64;

/// A connection with the settings every connection here shares.
fn connect(path: &Path) -> anyhow::Result<Connection> {
    let conn =
        Connection::open(path).with_context(|| format!("opening database {}", path.display()))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // FULL: a committed (acknowledged) write survives a power cut, not only a crash.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// Idle read connections; one is opened when none is idle, so there are as many as reads
/// ever ran at once (a few: reads run on the runtime's worker threads).
struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    fn take(&self) -> anyhow::Result<Connection> {
        if let Some(conn) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(conn);
        }
        let conn = connect(&self.path)?;
        // A read connection that tried to write would bypass the group commit.
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    }

    fn put(&self, conn: Connection) {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn);
    }
}

/// SQLite's busy and locked results are the store being unavailable for now: the
/// statement's own, or the group commit's its write was part of.
fn store_error(error: anyhow::Error) -> StoreError {
    let busy = error.chain().any(|cause| {
        let code = match cause.downcast_ref::<rusqlite::Error>() {
            Some(rusqlite::Error::SqliteFailure(e, _)) => Some(e.code),
            _ => cause.downcast_ref::<GroupFailed>().and_then(|g| g.code),
        };
        matches!(
            code,
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        )
    });
    if busy {
        StoreError::Unavailable(error)
    } else {
        StoreError::from(error)
    }
}

fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    Migrations::new(MIGRATIONS.to_vec())
        .to_latest(conn)
        .context("bringing the database schema up to date")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_migrations_apply_to_an_empty_database_and_leave_it_valid() {
        assert!(Migrations::new(MIGRATIONS.to_vec()).validate().is_ok());
    }

    #[test]
    fn reopening_a_database_at_the_latest_version_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reel.db");
        drop(SqliteStore::open(&path).unwrap());
        drop(SqliteStore::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        let version: usize = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
    }

    fn sqlite_failure(code: std::ffi::c_int) -> anyhow::Error {
        let error = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None);
        anyhow::Error::new(error).context("inserting a comment")
    }

    #[test]
    fn busy_and_locked_are_unavailable_and_a_constraint_is_other() {
        for code in [rusqlite::ffi::SQLITE_BUSY, rusqlite::ffi::SQLITE_LOCKED] {
            let error = store_error(sqlite_failure(code));
            assert!(matches!(error, StoreError::Unavailable(_)), "{code}");
        }
        let error = store_error(sqlite_failure(rusqlite::ffi::SQLITE_CONSTRAINT));
        assert!(matches!(error, StoreError::Other(_)));
    }

    #[tokio::test]
    async fn a_write_whose_group_could_not_begin_for_a_lock_is_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reel.db");
        let store = SqliteStore::open(&path).unwrap();
        store
            .write(|conn| Ok(conn.busy_timeout(std::time::Duration::ZERO)?))
            .await
            .unwrap();
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let error = store.write(|_| Ok(())).await.unwrap_err();
        assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    }

    #[tokio::test]
    async fn a_read_connection_refuses_to_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("reel.db")).unwrap();
        let refused = store
            .read(|conn| Ok(conn.execute("DELETE FROM users", [])?))
            .await;
        assert!(refused.is_err(), "a read connection wrote");
    }
}
