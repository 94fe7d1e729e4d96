use super::db::{CachedStatements, SqliteStore};
use super::page::query_page;
use anyhow::Context;
use async_trait::async_trait;
use reel_core::domain::{
    Audience, Limit, MediaInfo, MultipartUpload, Page, PartPlan, Poster, PosterType, Timestamp,
    UploadId, UserId, UserName, Video, VideoChanges, VideoContentType, VideoDescription, VideoId,
    VideoName, VideoStatus, Visibility,
};
use reel_core::ports::{BeginMultipart, PendingUsage, SortKey, StoreResult, Videos};
use rusqlite::{params, OptionalExtension, Row};

const COLUMNS: &str = "id, author_id, author_name, name, created_us, status, size, content_type, \
     duration_ms, width, height, video_codec, audio_codec, faststart, reason, \
     poster_type, poster_us, poster_pending_type, poster_pending_us, description, visibility, \
     upload_id, upload_size, upload_part_size, upload_type, upload_expires";

fn video_from_row(r: &Row<'_>) -> rusqlite::Result<anyhow::Result<Video>> {
    let text = |i: usize| r.get::<_, String>(i);
    let (id, author_id, author, name) = (text(0)?, text(1)?, text(2)?, text(3)?);
    let (created, status, size): (i64, String, i64) = (r.get(4)?, r.get(5)?, r.get(6)?);
    let content_type: Option<String> = r.get(7)?;
    let media = match r.get::<_, Option<bool>>(13)? {
        Some(faststart) => Some(MediaInfo {
            duration_ms: r.get(8)?,
            width: r.get(9)?,
            height: r.get(10)?,
            video_codec: r.get(11)?,
            audio_codec: r.get(12)?,
            faststart,
        }),
        None => None,
    };
    let reason: Option<String> = r.get(14)?;
    let poster = (
        r.get::<_, Option<String>>(15)?,
        r.get::<_, Option<i64>>(16)?,
    );
    let pending = (
        r.get::<_, Option<String>>(17)?,
        r.get::<_, Option<i64>>(18)?,
    );
    let (description, visibility) = (text(19)?, text(20)?);
    let upload = (
        r.get::<_, Option<String>>(21)?,
        r.get::<_, Option<i64>>(22)?,
        r.get::<_, Option<i64>>(23)?,
        r.get::<_, Option<String>>(24)?,
        r.get::<_, Option<i64>>(25)?,
    );
    Ok((|| -> anyhow::Result<Video> {
        Ok(Video {
            id: VideoId::parse(&id)?,
            author_id: UserId::parse(&author_id)?,
            author: UserName::parse(&author)?,
            name: VideoName::parse(&name)?,
            description: VideoDescription::parse(&description)?,
            visibility: Visibility::parse(&visibility)?,
            created: Timestamp::from_micros(created),
            status: VideoStatus::from_stored(&status)?,
            size: u64::try_from(size)?,
            content_type,
            media,
            reason,
            poster: poster_of(poster)?,
            poster_pending: poster_of(pending)?,
            upload: upload_of(upload)?,
        })
    })()
    .context("stored video row"))
}

type UploadColumns = (
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

/// The multipart upload columns as a record: all set, or none.
fn upload_of(columns: UploadColumns) -> anyhow::Result<Option<MultipartUpload>> {
    let (Some(id), Some(size), Some(part_size), Some(ct), Some(expires)) = columns else {
        return Ok(None);
    };
    let plan = PartPlan::stored(u64::try_from(size)?, u64::try_from(part_size)?)
        .context("a stored multipart plan that is not the computed one")?;
    Ok(Some(MultipartUpload {
        id: UploadId::parse(&id)?,
        plan,
        content_type: VideoContentType::parse(&ct)?,
        expires: Timestamp::from_unix_seconds(expires),
    }))
}

/// A listed video's position, for the next page's cursor.
fn sort_key(v: &Video) -> SortKey {
    SortKey {
        at: v.created,
        id: v.id.to_string(),
    }
}

fn poster_of((kind, at): (Option<String>, Option<i64>)) -> anyhow::Result<Option<Poster>> {
    match (kind, at) {
        (Some(kind), Some(at)) => Ok(Some(Poster {
            content_type: PosterType::parse(&kind).context("stored poster type")?,
            at: Timestamp::from_micros(at),
        })),
        _ => Ok(None),
    }
}

#[async_trait]
impl Videos for SqliteStore {
    async fn create(&self, video: &Video) -> StoreResult<()> {
        let v = video.clone();
        self.write(move |conn| {
            conn.execute_cached(
                "INSERT INTO videos (id, author_id, author_name, name, created_us, status, size, \
                 content_type, description, visibility) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    v.id.to_string(),
                    v.author_id.to_string(),
                    v.author.as_str(),
                    v.name.as_str(),
                    v.created.as_micros(),
                    v.status.as_str(),
                    i64::try_from(v.size)?,
                    v.content_type,
                    v.description.as_str(),
                    v.visibility.as_str()
                ],
            )
            .context("inserting video")?;
            Ok(())
        })
        .await
    }

    async fn get(&self, id: &VideoId) -> StoreResult<Option<Video>> {
        let id = id.to_string();
        self.read(move |conn| {
            conn.query_row_cached(
                &format!("SELECT {COLUMNS} FROM videos WHERE id = ?1"),
                [id],
                video_from_row,
            )
            .optional()
            .context("reading video")?
            .transpose()
        })
        .await
    }

    async fn list_by_author(
        &self,
        author: &UserId,
        audience: Audience,
        after: Option<&SortKey>,
        limit: Limit,
    ) -> StoreResult<Page<Video, SortKey>> {
        let (author, after) = (author.to_string(), after.cloned());
        let shown = match audience.shows() {
            None => String::new(),
            Some(visibilities) => {
                let quoted: Vec<String> = visibilities
                    .iter()
                    .map(|v| format!("'{}'", v.as_str()))
                    .collect();
                format!(
                    "AND status = 'ready' AND visibility IN ({})",
                    quoted.join(", ")
                )
            }
        };
        self.read(move |conn| {
            let sql = format!(
                "SELECT {COLUMNS} FROM videos WHERE author_id = ?1 {shown}
                 AND (created_us, id) < (?2, ?3)
                 ORDER BY created_us DESC, id DESC LIMIT ?4"
            );
            query_page(
                conn,
                &sql,
                &[&author],
                after.as_ref(),
                limit,
                video_from_row,
                sort_key,
            )
            .context("listing videos")
        })
        .await
    }

    /// The partial index `videos_feed`, named (`INDEXED BY`: the query fails rather
    /// than scan if it is missing). A deleted account's videos left with its
    /// deletion's transaction.
    async fn list_feed(
        &self,
        after: Option<&SortKey>,
        limit: Limit,
    ) -> StoreResult<Page<Video, SortKey>> {
        let after = after.cloned();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {COLUMNS} FROM videos INDEXED BY videos_feed
                 WHERE status = 'ready' AND visibility = 'public'
                 AND (created_us, id) < (?1, ?2)
                 ORDER BY created_us DESC, id DESC LIMIT ?3"
            );
            query_page(
                conn,
                &sql,
                &[],
                after.as_ref(),
                limit,
                video_from_row,
                sort_key,
            )
            .context("listing the feed")
        })
        .await
    }

    async fn update_details(
        &self,
        video: &Video,
        changes: &VideoChanges,
    ) -> StoreResult<Option<Video>> {
        let id = video.id.to_string();
        let (name, description, visibility) = (
            changes.name.as_ref().map(|n| n.as_str().to_owned()),
            changes.description.as_ref().map(|d| d.as_str().to_owned()),
            changes.visibility.map(|v| v.as_str()),
        );
        self.write(move |conn| {
            conn.query_row_cached(
                &format!(
                    "UPDATE videos SET name = COALESCE(?2, name), \
                     description = COALESCE(?3, description), \
                     visibility = COALESCE(?4, visibility) WHERE id = ?1 RETURNING {COLUMNS}"
                ),
                params![id, name, description, visibility],
                video_from_row,
            )
            .optional()
            .context("editing a video")?
            .transpose()
        })
        .await
    }

    async fn pending_usage(
        &self,
        author: &UserId,
        except: Option<&VideoId>,
    ) -> StoreResult<PendingUsage> {
        let (author, except) = (author.to_string(), except.map(|v| v.to_string()));
        self.read(move |conn| {
            // `status = 'pending'` as a literal: the partial index serves it.
            let (videos, bytes): (i64, i64) = conn
                .query_row_cached(
                    "SELECT COUNT(*), COALESCE(SUM(granted_bytes), 0) FROM videos \
                     WHERE author_id = ?1 AND status = 'pending' AND id IS NOT ?2",
                    params![author, except],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .context("counting pending videos")?;
            Ok(PendingUsage {
                videos: u64::try_from(videos)?,
                granted_bytes: u64::try_from(bytes)?,
            })
        })
        .await
    }

    async fn record_grant(&self, video: &VideoId, size: u64) -> StoreResult<bool> {
        let id = video.to_string();
        self.write(move |conn| {
            let n = conn
                .execute_cached(
                    "UPDATE videos SET granted_bytes = ?2 WHERE id = ?1 AND status = 'pending'",
                    params![id, i64::try_from(size)?],
                )
                .context("recording an upload grant")?;
            Ok(n == 1)
        })
        .await
    }

    async fn begin_multipart(
        &self,
        video: &VideoId,
        upload: &MultipartUpload,
        now: Timestamp,
    ) -> StoreResult<BeginMultipart> {
        let id = video.to_string();
        let u = upload.clone();
        self.write(move |conn| {
            let begun = conn
                .execute_cached(
                    "UPDATE videos SET upload_id = ?2, upload_size = ?3, upload_part_size = ?4, \
                     upload_type = ?5, upload_expires = ?6, granted_bytes = ?3 \
                     WHERE id = ?1 AND status = 'pending' \
                     AND (upload_expires IS NULL OR upload_expires <= ?7)",
                    params![
                        id,
                        u.id.as_str(),
                        i64::try_from(u.plan.size())?,
                        i64::try_from(u.plan.part_size())?,
                        u.content_type.as_str(),
                        u.expires.unix_seconds(),
                        now.unix_seconds()
                    ],
                )
                .context("beginning a multipart upload")?;
            if begun == 1 {
                return Ok(BeginMultipart::Begun);
            }
            let pending: Option<bool> = conn
                .query_row_cached(
                    "SELECT status = 'pending' FROM videos WHERE id = ?1",
                    [&id],
                    |r| r.get(0),
                )
                .optional()
                .context("reading the video's status")?;
            Ok(match pending {
                Some(true) => BeginMultipart::InProgress,
                _ => BeginMultipart::NotPending,
            })
        })
        .await
    }

    async fn end_multipart(&self, video: &VideoId, upload: &UploadId) -> StoreResult<bool> {
        let (id, upload) = (video.to_string(), upload.as_str().to_owned());
        self.write(move |conn| {
            let n = conn
                .execute_cached(
                    "UPDATE videos SET upload_id = NULL, upload_size = NULL, \
                     upload_part_size = NULL, upload_type = NULL, upload_expires = NULL \
                     WHERE id = ?1 AND upload_id = ?2",
                    params![id, upload],
                )
                .context("ending a multipart upload")?;
            Ok(n == 1)
        })
        .await
    }

    async fn mark_ready(
        &self,
        id: &VideoId,
        size: u64,
        content_type: &VideoContentType,
        media: &MediaInfo,
    ) -> StoreResult<bool> {
        let (id, ct, m) = (
            id.to_string(),
            content_type.as_str().to_owned(),
            media.clone(),
        );
        self.write(move |conn| {
            let n = conn
                .execute_cached(
                    "UPDATE videos SET status = 'ready', size = ?2, content_type = ?3, \
                     duration_ms = ?4, width = ?5, height = ?6, video_codec = ?7, \
                     audio_codec = ?8, faststart = ?9 WHERE id = ?1 \
                     AND EXISTS (SELECT 1 FROM users WHERE id = videos.author_id AND disabled = 0)",
                    params![
                        id,
                        i64::try_from(size)?,
                        ct,
                        m.duration_ms.map(i64::try_from).transpose()?,
                        m.width,
                        m.height,
                        m.video_codec,
                        m.audio_codec,
                        m.faststart
                    ],
                )
                .context("marking video ready")?;
            Ok(n == 1)
        })
        .await
    }

    async fn mark_rejected(
        &self,
        id: &VideoId,
        size: u64,
        reason: &str,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let (id, reason) = (id.to_string(), reason.to_owned());
        self.write(move |conn| {
            let n = conn
                .execute_cached(
                    "UPDATE videos SET status = 'rejected', size = ?2, reason = ?3 WHERE id = ?1",
                    params![id, i64::try_from(size)?, reason],
                )
                .context("marking video rejected")?;
            if n == 1 {
                // The bytes go through the deletion pipeline; the row stays, listed to
                // its owner as rejected.
                conn.execute_cached(
                    "INSERT OR IGNORE INTO deletion_records (video_id, author_id, requested_us) \
                     SELECT id, author_id, ?2 FROM videos WHERE id = ?1",
                    params![id, now.as_micros()],
                )
                .context("recording the rejected bytes' deletion")?;
            }
            Ok(n == 1)
        })
        .await
    }

    async fn grant_poster(&self, id: &VideoId, poster: &Poster) -> StoreResult<bool> {
        let (id, p) = (id.to_string(), *poster);
        self.write(move |conn| {
            let n = conn
                .execute_cached(
                    "UPDATE videos SET poster_pending_type = ?2, poster_pending_us = ?3 WHERE id = ?1",
                    params![id, p.content_type.as_str(), p.at.as_micros()],
                )
                .context("recording a poster grant")?;
            Ok(n == 1)
        })
        .await
    }

    async fn set_poster(&self, id: &VideoId, poster: &Poster) -> StoreResult<bool> {
        let (id, p) = (id.to_string(), *poster);
        self.write(move |conn| {
            let n = conn
                .execute_cached(
                    "UPDATE videos SET poster_type = ?2, poster_us = ?3, \
                     poster_pending_type = CASE WHEN poster_pending_us = ?3 THEN NULL ELSE poster_pending_type END, \
                     poster_pending_us = CASE WHEN poster_pending_us = ?3 THEN NULL ELSE poster_pending_us END \
                     WHERE id = ?1",
                    params![id, p.content_type.as_str(), p.at.as_micros()],
                )
                .context("recording a poster")?;
            Ok(n == 1)
        })
        .await
    }

    async fn delete(&self, video: &Video, now: Timestamp) -> StoreResult<bool> {
        let id = video.id.to_string();
        self.write(move |conn| {
            let author: Option<String> = conn
                .query_row_cached("SELECT author_id FROM videos WHERE id = ?1", [&id], |r| r.get(0))
                .optional()?;
            let Some(author) = author else {
                return Ok(false);
            };
            conn.execute_cached(
                "INSERT OR IGNORE INTO deletion_records (video_id, author_id, requested_us) VALUES (?1, ?2, ?3)",
                params![id, author, now.as_micros()],
            )?;
            conn.execute_cached("DELETE FROM videos WHERE id = ?1", [&id])?;
            Ok(true)
        })
        .await
    }
}
