use super::db::{CachedStatements, SqliteStore};
use anyhow::Context;
use async_trait::async_trait;
use reel_core::domain::{PasswordHash, Timestamp, User, UserId, UserName, VideoId};
use reel_core::ports::{Attempt, StoreError, StoreResult, Users};
use rusqlite::{params, ErrorCode, OptionalExtension};

#[async_trait]
impl Users for SqliteStore {
    async fn create(&self, user: &User) -> StoreResult<()> {
        let user = user.clone();
        let inserted = self
            .write(move |conn| {
                let inserted = conn.execute_cached(
                    "INSERT INTO users (id, name, pwd_hash, created_us) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        user.id.to_string(),
                        user.name.as_str(),
                        user.password_hash.as_str(),
                        user.created.as_micros()
                    ],
                );
                match inserted {
                    Ok(_) => Ok(true),
                    Err(rusqlite::Error::SqliteFailure(e, _))
                        if e.code == ErrorCode::ConstraintViolation =>
                    {
                        Ok(false)
                    }
                    Err(e) => Err(anyhow::Error::new(e).context("inserting user")),
                }
            })
            .await?;
        if inserted {
            Ok(())
        } else {
            Err(StoreError::Conflict)
        }
    }

    async fn by_name(&self, name: &UserName) -> StoreResult<Option<User>> {
        let name = name.clone();
        self.read(move |conn| {
            let row = conn
                .query_row_cached(
                    "SELECT id, pwd_hash, created_us, disabled FROM users WHERE name = ?1",
                    [name.as_str()],
                    |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
                .context("reading user")?;
            row.map(|(id, hash, created, disabled)| {
                Ok(User {
                    id: UserId::parse(&id).context("stored user id")?,
                    name,
                    password_hash: PasswordHash::from_stored(hash),
                    created: Timestamp::from_micros(created),
                    disabled,
                })
            })
            .transpose()
        })
        .await
    }

    async fn delete_account(
        &self,
        user: &User,
        now: Timestamp,
        attempt: Option<&Attempt>,
    ) -> StoreResult<Vec<VideoId>> {
        let user = user.id.to_string();
        let attempt = attempt.map(super::sessions::attempt_row).transpose()?;
        self.write(move |conn| {
            if let Some(row) = attempt {
                super::sessions::delete_attempt(conn, row)?;
            }
            let videos: Vec<String> = conn
                .prepare_cached("SELECT id FROM videos WHERE author_id = ?1")?
                .query_map([&user], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            super::deletions::hide_videos_of(conn, &user, now)?;
            // Left under its name, a comment would read as written by whoever takes
            // the name next.
            conn.execute_cached("DELETE FROM comments WHERE author_id = ?1", [&user])?;
            conn.execute_cached("DELETE FROM sessions WHERE user_id = ?1", [&user])?;
            conn.execute_cached("DELETE FROM users WHERE id = ?1", [&user])?;
            conn.execute_cached(
                "INSERT OR REPLACE INTO deleted_accounts (user_id, deleted_us) VALUES (?1, ?2)",
                params![user, now.as_micros()],
            )?;
            videos
                .iter()
                .map(|id| VideoId::parse(id).context("stored video id"))
                .collect()
        })
        .await
    }

    async fn set_disabled(&self, name: &UserName, disabled: bool) -> StoreResult<Option<u64>> {
        let name = name.clone();
        self.write(move |conn| {
            let id: Option<String> = conn
                .query_row_cached(
                    "UPDATE users SET disabled = ?2 WHERE name = ?1 RETURNING id",
                    params![name.as_str(), disabled],
                    |r| r.get(0),
                )
                .optional()
                .context("disabling user")?;
            let Some(id) = id else { return Ok(None) };
            // The flag and the sign-out commit together: no session survives a disable.
            let ended = if disabled {
                conn.execute_cached("DELETE FROM sessions WHERE user_id = ?1", [&id])?
            } else {
                0
            };
            Ok(Some(ended as u64))
        })
        .await
    }
}
