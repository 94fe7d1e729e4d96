use super::db::{CachedStatements, SqliteStore};
use anyhow::Context;
use async_trait::async_trait;
use reel_core::domain::{SessionId, Timestamp, UserId, UserName, Window};
use reel_core::ports::{Attempt, Found, PathItem, Session, Sessions, StoreResult, Users, Videos};
use rusqlite::{params, Connection, OptionalExtension};

/// How long failed sign-ins are kept at most (longer than any sensible throttle window).
const FAILURE_RETENTION_SECS: i64 = 24 * 3600;

/// Only a digest of the session id is stored.
fn digest(id: &SessionId) -> String {
    id.digest()
}

/// Inserts the session; expired ones are swept as new ones are made, so the table
/// stays small.
fn insert_session(conn: &Connection, key: &str, s: &Session) -> anyhow::Result<()> {
    conn.execute_cached(
        "DELETE FROM sessions WHERE expires_us <= ?1",
        [Timestamp::now().as_micros()],
    )?;
    conn.execute_cached(
        "INSERT INTO sessions (id_hash, user_id, user_name, expires_us) VALUES (?1, ?2, ?3, ?4)",
        params![
            key,
            s.user_id.to_string(),
            s.user_name.as_str(),
            s.expires.as_micros()
        ],
    )?;
    Ok(())
}

/// The row of a reserved attempt: its token.
pub(crate) fn attempt_row(attempt: &Attempt) -> anyhow::Result<i64> {
    attempt
        .token
        .parse()
        .context("not an attempt of this store")
}

pub(crate) fn delete_attempt(conn: &Connection, row: i64) -> anyhow::Result<()> {
    conn.execute_cached("DELETE FROM sign_in_failures WHERE rowid = ?1", [row])
        .context("releasing a sign-in attempt")?;
    Ok(())
}

#[async_trait]
impl Sessions for SqliteStore {
    async fn create(&self, id: &SessionId, session: &Session) -> StoreResult<()> {
        let (key, s) = (digest(id), session.clone());
        self.write(move |conn| insert_session(conn, &key, &s)).await
    }

    async fn create_releasing(
        &self,
        id: &SessionId,
        session: &Session,
        attempt: &Attempt,
    ) -> StoreResult<()> {
        let (key, s, row) = (digest(id), session.clone(), attempt_row(attempt)?);
        self.write(move |conn| {
            insert_session(conn, &key, &s)?;
            delete_attempt(conn, row)
        })
        .await
    }

    /// Two reads on the caller's thread: SQLite has no round trip to save.
    async fn get_with(
        &self,
        id: &SessionId,
        now: Timestamp,
        item: PathItem<'_>,
    ) -> StoreResult<(Option<Session>, Found)> {
        let session = Sessions::get(self, id, now).await?;
        let found = match item {
            PathItem::User(name) => Found::User(Users::by_name(self, name).await?),
            PathItem::Video(video) => Found::Video(Videos::get(self, video).await?),
        };
        Ok((session, found))
    }

    async fn get(&self, id: &SessionId, now: Timestamp) -> StoreResult<Option<Session>> {
        let key = digest(id);
        self.read(move |conn| {
            let row = conn
                .query_row_cached(
                    // Bound to the account's id: a deleted, re-created or disabled
                    // account's sessions are not found.
                    "SELECT s.user_id, s.user_name, s.expires_us FROM sessions s
                     JOIN users u ON u.id = s.user_id AND u.name = s.user_name
                     WHERE s.id_hash = ?1 AND s.expires_us > ?2 AND u.disabled = 0",
                    params![key, now.as_micros()],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?)),
                )
                .optional()
                .context("reading session")?;
            row.map(|(user_id, user_name, expires)| {
                Ok(Session {
                    user_id: UserId::parse(&user_id).context("stored user id")?,
                    user_name: UserName::parse(&user_name).context("stored user name")?,
                    expires: Timestamp::from_micros(expires),
                })
            })
            .transpose()
        })
        .await
    }

    async fn delete(&self, id: &SessionId) -> StoreResult<()> {
        let key = digest(id);
        self.write(move |conn| {
            conn.execute_cached("DELETE FROM sessions WHERE id_hash = ?1", [key])
                .context("deleting session")?;
            Ok(())
        })
        .await
    }

    async fn reserve_attempt(
        &self,
        name: &UserName,
        client: &str,
        window: Window,
        now: Timestamp,
        max: u32,
    ) -> StoreResult<Option<Attempt>> {
        let (owner, address) = (name.clone(), client.to_owned());
        let token: Option<String> = self
            .write(
                move |conn: &rusqlite::Connection| -> anyhow::Result<Option<String>> {
                    // One write on the store's one writer: the count and the insert cannot
                    // interleave with another reservation.
                    // Attempts a day old matter to no window in use: swept as new ones come
                    // (indexed by time).
                    conn.execute_cached(
                        "DELETE FROM sign_in_failures WHERE at_us < ?1",
                        [now.plus_seconds(-FAILURE_RETENTION_SECS).as_micros()],
                    )?;
                    let counted: u32 = conn.query_row_cached(
                        "SELECT COUNT(*) FROM sign_in_failures
                     WHERE user_name = ?1 AND client = ?2 AND at_us >= ?3 AND at_us < ?4",
                        params![
                            owner.as_str(),
                            address,
                            window.start.as_micros(),
                            window.end.as_micros()
                        ],
                        |r| r.get(0),
                    )?;
                    if counted >= max {
                        return Ok(None);
                    }
                    conn.execute_cached(
                    "INSERT INTO sign_in_failures (user_name, client, at_us) VALUES (?1, ?2, ?3)",
                    params![owner.as_str(), address, now.as_micros()],
                )?;
                    let row = conn.last_insert_rowid();
                    Ok(Some(row.to_string()))
                },
            )
            .await?;
        Ok(token.map(|token| Attempt {
            name: name.clone(),
            client: client.to_owned(),
            token,
        }))
    }

    async fn release_attempt(&self, attempt: &Attempt) -> StoreResult<()> {
        let row = attempt_row(attempt)?;
        self.write(move |conn| delete_attempt(conn, row)).await
    }
}
