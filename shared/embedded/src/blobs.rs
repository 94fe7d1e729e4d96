//! Video bytes on the local filesystem, and the local flavour of S3 presigning: URLs
//! signed with an HMAC and an expiry, served by `http::blobs`. Clients use the same
//! protocol against both stores.

use anyhow::Context;
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reel_core::domain::{
    PartNumber, Poster, PosterType, Timestamp, UploadId, UserId, VideoContentType, VideoId,
};
use reel_core::ports::{poster_url_expiry, BlobUrls, Blobs, PresignedRequest, StoreResult};
use reel_core::signing::Signer;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

const PURPOSE: &str = "blob-url";

/// The query string of a signed blob URL.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BlobQuery {
    /// `put` or `get`.
    pub op: String,
    /// PUT: the exact number of bytes allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// PUT: the required `Content-Type`; GET: the `Content-Type` to answer with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ct: Option<String>,
    /// Unix seconds after which the URL is refused.
    pub exp: i64,
    /// Posters: the grant time (micros) of the poster the URL is for; a replaced
    /// poster's URL differs from its successor's, so browsers fetch the new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v: Option<i64>,
    /// GET: whom the stream route granted it to, a user id or [`ANONYMOUS`]; the byte
    /// endpoint asks the access decision for this viewer on every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<String>,
    /// `part`: the multipart upload the part belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<String>,
    /// `part`: the part's number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<u64>,
    pub sig: String,
}

/// [`BlobQuery::who`] of a URL granted to a caller without a session.
pub const ANONYMOUS: &str = "anonymous";

/// Why a blob URL was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("the signature does not match")]
    BadSignature,
    #[error("the URL has expired")]
    Expired,
}

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the body is larger than the signed size")]
    TooLarge,
    #[error("the body is shorter than the signed size")]
    TooShort,
    #[error("the upload was interrupted")]
    Interrupted(#[source] anyhow::Error),
    #[error(transparent)]
    StorageLow(StorageLow),
    #[error(transparent)]
    Io(#[from] anyhow::Error),
}

/// An object opened for reading.
pub struct BlobFile {
    pub file: std::fs::File,
    pub len: u64,
    pub modified: std::time::SystemTime,
}

pub struct LocalBlobs {
    root: PathBuf,
    posters: PathBuf,
    tmp: PathBuf,
    /// Multipart uploads in progress: `<uploads>/<video>/<upload id>/` holds its parts
    /// (see `parts.rs`).
    pub(crate) uploads: PathBuf,
    /// Held while a part is put in place, so two PUTs of one part cannot each remove
    /// the other's file.
    pub(crate) part_commit: tokio::sync::Mutex<()>,
    signer: Signer,
    upload_ttl_secs: i64,
    stream_ttl_secs: i64,
    /// Uploads are refused while the disk would have less free than this.
    free_space_floor: u64,
    /// Bytes of the uploads in progress, not yet counted by the filesystem's free space.
    reserved: Arc<AtomicU64>,
}

/// Room on the disk for one upload in progress ([`LocalBlobs::reserve_room`]), given
/// back when dropped.
pub struct RoomReservation {
    size: u64,
    reserved: Arc<AtomicU64>,
}

impl Drop for RoomReservation {
    fn drop(&mut self) {
        self.reserved.fetch_sub(self.size, Ordering::SeqCst);
    }
}

/// The disk is too full for an upload: it would leave less than the free-space floor.
#[derive(Debug, thiserror::Error)]
#[error("the disk is too full for this upload")]
pub struct StorageLow;

impl LocalBlobs {
    /// Uses `<data_dir>/blobs` for objects and `<data_dir>/tmp` for uploads in flight
    /// (same filesystem, so the final rename is atomic). Leftover partial uploads from a
    /// crash are removed.
    pub fn open(
        data_dir: &Path,
        signer: Signer,
        upload_ttl_secs: i64,
        stream_ttl_secs: i64,
    ) -> anyhow::Result<Self> {
        let root = data_dir.join("blobs");
        let posters = data_dir.join("posters");
        let tmp = data_dir.join("tmp");
        let uploads = data_dir.join("uploads");
        crate::private::private_dir(&root)?;
        crate::private::private_dir(&posters)?;
        crate::private::private_dir(&uploads)?;
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).context("clearing partial uploads")?;
        }
        crate::private::private_dir(&tmp)?;
        Ok(Self {
            root,
            posters,
            tmp,
            uploads,
            part_commit: tokio::sync::Mutex::new(()),
            signer,
            upload_ttl_secs,
            stream_ttl_secs,
            free_space_floor: 0,
            reserved: Arc::default(),
        })
    }

    /// Refuses uploads that would leave the disk with less than `bytes` free
    /// (`REEL_MIN_FREE_DISK_BYTES`): SQLite, on the same disk, needs room to commit.
    pub fn with_free_space_floor(mut self, bytes: u64) -> Self {
        self.free_space_floor = bytes;
        self
    }

    /// Room for an upload of `size` bytes: the disk's free space, less what the uploads
    /// in progress will still take, must stay above the floor after it.
    pub fn reserve_room(&self, size: u64) -> Result<RoomReservation, UploadError> {
        let stats = rustix::fs::statvfs(&self.root).context("reading the disk's free space")?;
        let available = stats.f_bavail.saturating_mul(stats.f_frsize);
        let before = self.reserved.fetch_add(size, Ordering::SeqCst);
        let reservation = RoomReservation {
            size,
            reserved: self.reserved.clone(),
        };
        let needed = before
            .saturating_add(size)
            .saturating_add(self.free_space_floor);
        if available < needed {
            return Err(UploadError::StorageLow(StorageLow));
        }
        Ok(reservation)
    }

    /// A `VideoId` is a canonical UUID, so this never leaves `root`.
    pub(crate) fn path(&self, video: &VideoId) -> PathBuf {
        self.root.join(video.to_string())
    }

    fn poster_path(&self, video: &VideoId) -> PathBuf {
        self.posters.join(video.to_string())
    }

    fn message(q: &BlobQuery, video: &VideoId) -> String {
        let mut m = format!(
            "{}\n{video}\n{}\n{}\n{}",
            q.op,
            q.size.map(|s| s.to_string()).unwrap_or_default(),
            q.ct.as_deref().unwrap_or(""),
            q.exp
        );
        if let Some(v) = q.v {
            m.push_str(&format!("\n{v}"));
        }
        if let Some(who) = &q.who {
            m.push_str(&format!("\nwho={who}"));
        }
        if let (Some(upload), Some(part)) = (&q.upload, q.part) {
            m.push_str(&format!("\nupload={upload}\npart={part}"));
        }
        m
    }

    /// The endpoint's path and signed query: a URL on the site itself, which the HTTP
    /// layer makes absolute with the origin the client used (see `PresignedRequest`).
    /// Poster operations (`poster-put`, `poster-get`) are served under `/poster`.
    fn signed_url(&self, video: &VideoId, mut query: BlobQuery) -> anyhow::Result<String> {
        query.sig = self
            .signer
            .sign(PURPOSE, Self::message(&query, video).as_bytes());
        let path = if query.op.starts_with("poster-") {
            format!("/blobs/{video}/poster")
        } else {
            format!("/blobs/{video}")
        };
        Ok(format!("{path}?{}", serde_urlencoded::to_string(&query)?))
    }

    fn query(op: &str, size: Option<u64>, ct: Option<&str>, exp: i64, v: Option<i64>) -> BlobQuery {
        BlobQuery {
            op: op.to_owned(),
            size,
            ct: ct.map(str::to_owned),
            exp,
            v,
            who: None,
            upload: None,
            part: None,
            sig: String::new(),
        }
    }

    /// Checks a URL's signature, then its expiry.
    pub fn verify(
        &self,
        video: &VideoId,
        query: &BlobQuery,
        now: Timestamp,
    ) -> Result<(), UrlError> {
        let message = Self::message(query, video);
        if !self.signer.verify(PURPOSE, message.as_bytes(), &query.sig) {
            return Err(UrlError::BadSignature);
        }
        if now.unix_seconds() > query.exp {
            return Err(UrlError::Expired);
        }
        Ok(())
    }

    /// A new file name in the directory of uploads in flight (cleared at start).
    pub(crate) fn tmp_path(&self, prefix: &str) -> PathBuf {
        self.tmp.join(format!("{prefix}.{}", uuid::Uuid::new_v4()))
    }

    /// Streams `body` to a temporary file, refusing more or fewer than `expected` bytes,
    /// then renames it into place. Memory use is one chunk at a time.
    pub async fn write<S, E>(
        &self,
        video: &VideoId,
        body: S,
        expected: u64,
    ) -> Result<u64, UploadError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let tmp = self.tmp_path(&video.to_string());
        let result = self.write_tmp(&tmp, body, expected, |_| {}).await;
        match result {
            Ok(written) => {
                tokio::fs::rename(&tmp, self.path(video))
                    .await
                    .context("moving upload into place")?;
                sync_dir(&self.root).await?;
                Ok(written)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(e)
            }
        }
    }

    /// Streams `body` into a new file at `tmp` (the owner's alone), exactly `expected`
    /// bytes, each chunk also shown to `observe` (a part's MD5), then syncs it.
    pub(crate) async fn write_tmp<S, E>(
        &self,
        tmp: &Path,
        mut body: S,
        expected: u64,
        mut observe: impl FnMut(&[u8]),
    ) -> Result<u64, UploadError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        // The owner's alone, like the directory (the rename keeps the mode).
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(tmp)
            .await
            .context("creating upload file")?;
        let mut written: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| UploadError::Interrupted(anyhow::anyhow!(e.into())))?;
            written += chunk.len() as u64;
            if written > expected {
                return Err(UploadError::TooLarge);
            }
            observe(&chunk);
            file.write_all(&chunk).await.context("writing upload")?;
        }
        if written < expected {
            return Err(UploadError::TooShort);
        }
        file.sync_all().await.context("syncing upload")?;
        Ok(written)
    }

    /// Opens the object (`None` if there is none) and reads what its headers need, in one
    /// trip to the blocking pool.
    pub async fn open_for_read(&self, video: &VideoId) -> anyhow::Result<Option<BlobFile>> {
        let path = self.path(video);
        let opened = tokio::task::spawn_blocking(move || match std::fs::File::open(path) {
            Ok(file) => {
                let meta = file.metadata().context("reading object metadata")?;
                Ok(Some(BlobFile {
                    file,
                    len: meta.len(),
                    modified: meta.modified().context("object mtime")?,
                }))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(anyhow::Error::new(e).context("opening object")),
        });
        opened.await.context("opening object")?
    }
}

/// Makes a rename durable: the directory entry itself must reach the disk.
pub(crate) async fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || std::fs::File::open(&dir)?.sync_all())
        .await
        .context("syncing directory")?
        .context("syncing directory")
}

#[async_trait]
impl BlobUrls for LocalBlobs {
    async fn presign_put(
        &self,
        video: &VideoId,
        size: u64,
        content_type: &VideoContentType,
        now: Timestamp,
    ) -> StoreResult<PresignedRequest> {
        let expires = now.plus_seconds(self.upload_ttl_secs);
        let ct = content_type.as_str();
        Ok(PresignedRequest {
            url: self.signed_url(
                video,
                Self::query("put", Some(size), Some(ct), expires.unix_seconds(), None),
            )?,
            headers: vec![("Content-Type".into(), ct.into())],
            expires,
        })
    }

    async fn presign_get(
        &self,
        video: &VideoId,
        content_type: Option<&str>,
        viewer: Option<&UserId>,
        now: Timestamp,
    ) -> StoreResult<PresignedRequest> {
        let expires = now.plus_seconds(self.stream_ttl_secs);
        let mut query = Self::query("get", None, content_type, expires.unix_seconds(), None);
        query.who = Some(viewer.map_or_else(|| ANONYMOUS.to_owned(), |id| id.to_string()));
        Ok(PresignedRequest {
            url: self.signed_url(video, query)?,
            headers: vec![],
            expires,
        })
    }

    async fn presign_part(
        &self,
        video: &VideoId,
        upload: &UploadId,
        part: PartNumber,
        len: u64,
        now: Timestamp,
    ) -> StoreResult<PresignedRequest> {
        let expires = now.plus_seconds(self.upload_ttl_secs);
        let mut query = Self::query("part", Some(len), None, expires.unix_seconds(), None);
        query.upload = Some(upload.as_str().to_owned());
        query.part = Some(part.get());
        Ok(PresignedRequest {
            url: self.signed_url(video, query)?,
            headers: vec![],
            expires,
        })
    }

    async fn presign_poster_put(
        &self,
        video: &VideoId,
        size: u64,
        content_type: PosterType,
        now: Timestamp,
    ) -> StoreResult<PresignedRequest> {
        let expires = now.plus_seconds(self.upload_ttl_secs);
        let ct = content_type.as_str();
        let query = Self::query(
            "poster-put",
            Some(size),
            Some(ct),
            expires.unix_seconds(),
            Some(now.as_micros()),
        );
        Ok(PresignedRequest {
            url: self.signed_url(video, query)?,
            headers: vec![("Content-Type".into(), ct.into())],
            expires,
        })
    }

    async fn poster_url(
        &self,
        video: &VideoId,
        poster: &Poster,
        now: Timestamp,
    ) -> StoreResult<String> {
        let exp = poster_url_expiry(now).unix_seconds();
        let ct = poster.content_type.as_str();
        let query = Self::query(
            "poster-get",
            None,
            Some(ct),
            exp,
            Some(poster.at.as_micros()),
        );
        Ok(self.signed_url(video, query)?)
    }
}

/// Removes a file; a missing one is success.
async fn remove(path: PathBuf, what: &'static str) -> StoreResult<()> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context(what).into()),
    }
}

/// Up to `len` bytes of the file at `path` from `offset`, on the blocking pool; `None`
/// when there is no such file.
async fn read_at(path: PathBuf, offset: u64, len: u64) -> anyhow::Result<Option<Vec<u8>>> {
    use std::io::{Read, Seek, SeekFrom};
    tokio::task::spawn_blocking(move || {
        let mut file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(anyhow::Error::new(e).context("opening the file")),
        };
        file.seek(SeekFrom::Start(offset)).context("seeking")?;
        let mut bytes = Vec::new();
        file.take(len).read_to_end(&mut bytes).context("reading")?;
        Ok(Some(bytes))
    })
    .await
    .context("the read's task")?
}

impl LocalBlobs {
    /// Stores a checked poster (small: held in memory) in place of any earlier one:
    /// written to a temporary file, synced, then renamed.
    pub async fn write_poster(&self, video: &VideoId, bytes: Bytes) -> anyhow::Result<()> {
        let tmp = self
            .tmp
            .join(format!("poster-{video}.{}", uuid::Uuid::new_v4()));
        let written = async {
            let mut file = tokio::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .await?;
            file.write_all(&bytes).await?;
            file.sync_all().await?;
            tokio::fs::rename(&tmp, self.poster_path(video)).await
        };
        if let Err(e) = written.await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(anyhow::Error::new(e).context("storing a poster"));
        }
        sync_dir(&self.posters).await
    }

    /// The poster's bytes, whole (`None` if there is none).
    pub async fn read_poster(&self, video: &VideoId) -> anyhow::Result<Option<Vec<u8>>> {
        read_at(self.poster_path(video), 0, reel_media::poster::MAX_BYTES).await
    }
}

#[async_trait]
impl Blobs for LocalBlobs {
    async fn read_range(&self, video: &VideoId, offset: u64, len: u64) -> StoreResult<Vec<u8>> {
        let bytes = read_at(self.path(video), offset, len).await?;
        Ok(bytes.ok_or_else(|| anyhow::anyhow!("the object is not there"))?)
    }

    async fn read_poster_head(&self, video: &VideoId, len: u64) -> StoreResult<Option<Vec<u8>>> {
        Ok(read_at(self.poster_path(video), 0, len).await?)
    }

    async fn delete_poster(&self, video: &VideoId) -> StoreResult<()> {
        remove(self.poster_path(video), "deleting a poster").await
    }

    /// Its multipart uploads' parts go too: deleting a pending video aborts its upload.
    async fn delete(&self, video: &VideoId) -> StoreResult<()> {
        remove(self.path(video), "deleting object").await?;
        remove(self.poster_path(video), "deleting a poster").await?;
        Ok(self.remove_uploads_of(video).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> LocalBlobs {
        LocalBlobs::open(dir, Signer::new([1; 32]), 60, 60).unwrap()
    }

    fn query_of(url: &str) -> BlobQuery {
        serde_urlencoded::from_str(url.split_once('?').unwrap().1).unwrap()
    }

    #[tokio::test]
    async fn signed_urls_verify_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        let (vid, now) = (VideoId::new(), Timestamp::from_unix_seconds(1_000));
        let ct = VideoContentType::parse("video/mp4").unwrap();
        let put = blobs.presign_put(&vid, 10, &ct, now).await.unwrap();
        assert!(put.url.starts_with(&format!("/blobs/{vid}?")));
        let q = query_of(&put.url);
        assert_eq!(
            (q.size, q.ct.as_deref(), q.exp),
            (Some(10), Some("video/mp4"), 1_060)
        );
        assert_eq!(blobs.verify(&vid, &q, now), Ok(()));
        assert_eq!(
            blobs.verify(&vid, &q, now.plus_seconds(61)),
            Err(UrlError::Expired)
        );
        assert_eq!(
            blobs.verify(&VideoId::new(), &q, now),
            Err(UrlError::BadSignature)
        );
        let tampered = BlobQuery {
            size: Some(11),
            ..q.clone()
        };
        assert_eq!(
            blobs.verify(&vid, &tampered, now),
            Err(UrlError::BadSignature)
        );
        let as_get = BlobQuery {
            op: "get".into(),
            ..q
        };
        assert_eq!(
            blobs.verify(&vid, &as_get, now),
            Err(UrlError::BadSignature)
        );
    }

    #[tokio::test]
    async fn writes_exact_sizes_only_and_leaves_no_partial_files() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = store(dir.path());
        let vid = VideoId::new();
        let chunks = |parts: &[&'static [u8]]| {
            futures_util::stream::iter(
                parts
                    .iter()
                    .map(|p| Ok::<_, std::io::Error>(Bytes::from_static(p)))
                    .collect::<Vec<_>>(),
            )
        };
        assert!(matches!(
            blobs.write(&vid, chunks(&[b"abc", b"def"]), 5).await,
            Err(UploadError::TooLarge)
        ));
        assert!(matches!(
            blobs.write(&vid, chunks(&[b"abc"]), 5).await,
            Err(UploadError::TooShort)
        ));
        assert!(blobs.open_for_read(&vid).await.unwrap().is_none());
        assert_eq!(
            blobs
                .write(&vid, chunks(&[b"abc", b"de"]), 5)
                .await
                .unwrap(),
            5
        );
        assert_eq!(blobs.open_for_read(&vid).await.unwrap().unwrap().len, 5);
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
        blobs.delete(&vid).await.unwrap();
        blobs.delete(&vid).await.unwrap();
        assert!(blobs.open_for_read(&vid).await.unwrap().is_none());
    }
}
