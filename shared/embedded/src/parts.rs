//! Multipart uploads on the filesystem, S3's protocol kept: parts PUT by signed URLs
//! (the byte endpoint's `op=part`), each with its MD5 as its ETag, listed, assembled
//! into the video's object, or discarded.
//!
//! Layout: `<data>/uploads/<video>/<upload id>/` holds `begun` (the Unix second it
//! began, what the sweep reads) and one `part-<number>-<md5>` per stored part. A part is
//! streamed into a `.tmp-*` file of that directory, synced, renamed into place and the
//! directory synced before its 200, so after a crash at any point the parts listed are
//! exactly the complete ones (leftover `.tmp-*` files are never listed). Assembly
//! streams the parts into a temporary object, syncs and renames it into place: the
//! object is whole or absent, and the parts stay until the video is settled, so an
//! interrupted completion can be repeated.

use crate::blobs::{sync_dir, LocalBlobs, UploadError};
use anyhow::Context;
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;
use md5::{Digest, Md5};
use reel_core::domain::{
    MultipartUpload, PartNumber, StoredPart, Timestamp, UploadId, VideoContentType, VideoId,
    MULTIPART_LIFETIME_SECS,
};
use reel_core::media::{settle_upload, Settled};
use reel_core::ports::{Blobs, MultipartStore, StoreError, StoreResult, Videos};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The embedded store's upload ids: 32 lowercase hex digits (a v4 UUID), so an id
/// from a client can name no other path.
fn local_id(upload: &UploadId) -> Option<&str> {
    let id = upload.as_str();
    (id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(id)
}

/// `part-00042-<md5>`: the number padded so names sort by it.
fn part_name(number: u64, md5_hex: &str) -> String {
    format!("part-{number:05}-{md5_hex}")
}

/// A stored part's number and MD5 from its file name; `None` for anything else.
fn parse_part_name(name: &str) -> Option<(u64, &str)> {
    let rest = name.strip_prefix("part-")?;
    let (number, md5) = rest.split_once('-')?;
    let valid = md5.len() == 32 && md5.bytes().all(|b| b.is_ascii_hexdigit());
    valid.then_some((number.parse().ok()?, md5))
}

/// A stored part's file.
struct PartFile {
    number: u64,
    md5: String,
    size: u64,
    path: PathBuf,
}

impl LocalBlobs {
    fn upload_dir(&self, video: &VideoId, upload: &UploadId) -> Option<PathBuf> {
        let id = local_id(upload)?;
        Some(self.uploads.join(video.to_string()).join(id))
    }

    /// Begins an upload: its directory, with the time it began.
    pub async fn create_upload(&self, video: &VideoId, now: Timestamp) -> anyhow::Result<UploadId> {
        let id = UploadId::parse(&uuid::Uuid::new_v4().simple().to_string())?;
        let dir = self.uploads.join(video.to_string()).join(id.as_str());
        tokio::fs::create_dir_all(&dir)
            .await
            .context("creating an upload's directory")?;
        tokio::fs::write(dir.join("begun"), now.unix_seconds().to_string())
            .await
            .context("recording when an upload began")?;
        sync_dir(&dir).await?;
        sync_dir(dir.parent().context("an upload's directory has a parent")?).await?;
        Ok(id)
    }

    /// Stores one part: exactly `len` bytes of `body`, synced and in place before this
    /// returns its ETag (the MD5, quoted, as S3 gives it). A part stored again
    /// replaces the earlier one. `Ok(None)` when there is no such upload.
    pub async fn write_part<S, E>(
        &self,
        video: &VideoId,
        upload: &UploadId,
        part: PartNumber,
        len: u64,
        body: S,
    ) -> Result<Option<String>, UploadError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let Some(dir) = self.upload_dir(video, upload).filter(|d| d.is_dir()) else {
            return Ok(None);
        };
        let tmp = dir.join(format!(
            ".tmp-{}-{}",
            part.get(),
            uuid::Uuid::new_v4().simple()
        ));
        let mut md5 = Md5::new();
        let written = self
            .write_tmp(&tmp, body, len, |chunk| md5.update(chunk))
            .await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        let md5_hex = hex::encode(md5.finalize());
        let name = part_name(part.get(), &md5_hex);
        match self
            .put_part_in_place(dir, tmp.clone(), part.get(), name)
            .await
        {
            Ok(true) => Ok(Some(format!("\"{md5_hex}\""))),
            Ok(false) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Ok(None)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(UploadError::Io(e))
            }
        }
    }

    /// Renames a written part into place and removes the part it replaces, then syncs
    /// the directory; under [`LocalBlobs::part_commit`], so two PUTs of one part keep
    /// exactly one. `false` when the upload was discarded meanwhile.
    async fn put_part_in_place(
        &self,
        dir: PathBuf,
        tmp: PathBuf,
        number: u64,
        name: String,
    ) -> anyhow::Result<bool> {
        let _one_at_a_time = self.part_commit.lock().await;
        tokio::task::spawn_blocking(move || -> anyhow::Result<bool> {
            if !dir.is_dir() {
                return Ok(false);
            }
            let earlier: Vec<PathBuf> = std::fs::read_dir(&dir)
                .context("listing an upload's parts")?
                .filter_map(Result::ok)
                .filter(|e| {
                    let file_name = e.file_name();
                    let file_name = file_name.to_string_lossy();
                    parse_part_name(&file_name).is_some_and(|(n, _)| n == number)
                        && *file_name != name
                })
                .map(|e| e.path())
                .collect();
            match std::fs::rename(&tmp, dir.join(&name)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
                Err(e) => return Err(anyhow::Error::new(e).context("putting a part in place")),
            }
            for old in earlier {
                let _ = std::fs::remove_file(old);
            }
            std::fs::File::open(&dir)
                .and_then(|d| d.sync_all())
                .context("syncing an upload's directory")?;
            Ok(true)
        })
        .await
        .context("the part's task")?
    }

    /// The stored parts, one per number, ascending; `None` when there is no such upload.
    async fn part_files(
        &self,
        video: &VideoId,
        upload: &UploadId,
    ) -> anyhow::Result<Option<Vec<PartFile>>> {
        let Some(dir) = self.upload_dir(video, upload) else {
            return Ok(None);
        };
        tokio::task::spawn_blocking(move || -> anyhow::Result<Option<Vec<PartFile>>> {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(anyhow::Error::new(e).context("listing an upload's parts")),
            };
            // A crash between a replacing part's rename and the removal of the one it
            // replaced leaves two complete files: the newer is the part.
            let mut newest: BTreeMap<u64, (std::time::SystemTime, PartFile)> = BTreeMap::new();
            for entry in entries {
                let entry = entry.context("listing an upload's parts")?;
                let file_name = entry.file_name();
                let Some((number, md5)) =
                    parse_part_name(&file_name.to_string_lossy()).map(|(n, m)| (n, m.to_owned()))
                else {
                    continue;
                };
                let meta = entry.metadata().context("reading a part's size")?;
                let modified = meta.modified().context("reading a part's time")?;
                let file = PartFile {
                    number,
                    md5,
                    size: meta.len(),
                    path: entry.path(),
                };
                if newest.get(&number).is_none_or(|(at, _)| modified >= *at) {
                    newest.insert(number, (modified, file));
                }
            }
            Ok(Some(newest.into_values().map(|(_, f)| f).collect()))
        })
        .await
        .context("the listing's task")?
    }

    /// Streams `parts` (their files, in order) into the video's object: a temporary
    /// file, synced, renamed into place, the directory synced. `size` is what they add
    /// up to; the copy runs in the kernel (`copy_file_range`), with no buffer here.
    async fn assemble(
        &self,
        video: &VideoId,
        parts: Vec<PathBuf>,
        size: u64,
    ) -> Result<(), UploadError> {
        let _room = self.reserve_room(size)?;
        let tmp = self.tmp_path(&format!("assemble-{video}"));
        let target = self.path(video);
        let copy_tmp = tmp.clone();
        let copied = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            use std::os::unix::fs::OpenOptionsExt;
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&copy_tmp)
                .context("creating the assembled object")?;
            for part in parts {
                let mut input = std::fs::File::open(&part).context("opening a part")?;
                std::io::copy(&mut input, &mut out).context("copying a part")?;
            }
            anyhow::ensure!(
                out.metadata()?.len() == size,
                "the parts do not add up to the declared size"
            );
            out.sync_all().context("syncing the assembled object")?;
            std::fs::rename(&copy_tmp, &target).context("moving the object into place")?;
            Ok(())
        })
        .await
        .context("the assembly's task");
        match copied.and_then(|r| r) {
            Ok(()) => Ok(sync_dir(self.path(video).parent().context("objects' directory")?).await?),
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(UploadError::Io(e))
            }
        }
    }

    /// Removes an upload's directory and its parts; a missing one is success.
    async fn remove_upload(&self, video: &VideoId, upload: &UploadId) -> anyhow::Result<()> {
        let Some(dir) = self.upload_dir(video, upload) else {
            return Ok(());
        };
        let _no_part_lands_meanwhile = self.part_commit.lock().await;
        remove_dir(dir.clone()).await?;
        // The video's directory goes with its last upload (kept if another is there).
        if let Some(video_dir) = dir.parent() {
            let _ = tokio::fs::remove_dir(video_dir).await;
        }
        Ok(())
    }

    /// Removes every upload of the video (it is being deleted).
    pub(crate) async fn remove_uploads_of(&self, video: &VideoId) -> anyhow::Result<()> {
        let _no_part_lands_meanwhile = self.part_commit.lock().await;
        remove_dir(self.uploads.join(video.to_string())).await
    }

    /// Discards the uploads begun more than two days before `now`
    /// ([`MULTIPART_LIFETIME_SECS`], as the bucket's lifecycle rule does on S3), with
    /// everything in their directories (the `.tmp-*` leftovers of part PUTs a crash
    /// interrupted included: those go with their upload, here or when it completes or
    /// is aborted). Returns how many uploads went.
    pub async fn sweep_uploads(&self, now: Timestamp) -> anyhow::Result<u64> {
        let root = self.uploads.clone();
        let cutoff = now.unix_seconds() - MULTIPART_LIFETIME_SECS;
        let _no_part_lands_meanwhile = self.part_commit.lock().await;
        tokio::task::spawn_blocking(move || sweep(&root, cutoff))
            .await
            .context("the sweep's task")?
    }
}

/// See [`LocalBlobs::sweep_uploads`].
fn sweep(root: &Path, cutoff: i64) -> anyhow::Result<u64> {
    let mut removed = 0;
    for video in std::fs::read_dir(root).context("listing uploads")? {
        let video = video?.path();
        for upload in std::fs::read_dir(&video)? {
            let upload = upload?.path();
            let begun = std::fs::read_to_string(upload.join("begun"))
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok());
            // No record of its start: a crash interrupted its creation.
            if begun.is_none_or(|at| at <= cutoff) {
                std::fs::remove_dir_all(&upload).context("removing an abandoned upload")?;
                removed += 1;
            }
        }
        // Empty once its uploads are gone (fails harmlessly otherwise).
        let _ = std::fs::remove_dir(&video);
    }
    Ok(removed)
}

async fn remove_dir(dir: PathBuf) -> anyhow::Result<()> {
    match tokio::fs::remove_dir_all(&dir).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context("removing an upload's parts")),
    }
}

/// The [`MultipartStore`] of the embedded host: parts in the data directory, assembled
/// and settled here (the byte endpoint's counterpart of a single PUT landing).
pub struct LocalMultipart {
    pub blobs: Arc<LocalBlobs>,
    pub videos: Arc<dyn Videos>,
    /// The byte endpoint's set of videos whose bytes are being written: a completion
    /// and a single PUT of one video never both write its object.
    pub uploading: Arc<Mutex<HashSet<VideoId>>>,
    pub clock: Arc<dyn reel_core::clock::Clock>,
}

#[async_trait]
impl MultipartStore for LocalMultipart {
    async fn create(
        &self,
        video: &VideoId,
        _content_type: &VideoContentType,
    ) -> StoreResult<UploadId> {
        Ok(self.blobs.create_upload(video, self.clock.now()).await?)
    }

    async fn list_parts(
        &self,
        video: &VideoId,
        upload: &UploadId,
    ) -> StoreResult<Option<Vec<StoredPart>>> {
        let files = self.blobs.part_files(video, upload).await?;
        Ok(files.map(|files| {
            files
                .into_iter()
                .map(|f| StoredPart {
                    number: f.number,
                    etag: format!("\"{}\"", f.md5),
                    size: f.size,
                })
                .collect()
        }))
    }

    async fn complete(
        &self,
        video: &VideoId,
        upload: &MultipartUpload,
        parts: &[(PartNumber, String)],
    ) -> StoreResult<Option<Settled>> {
        let Some(_claim) = crate::endpoint::UploadClaim::take(&self.uploading, *video) else {
            return Err(StoreError::Conflict);
        };
        let Some(files) = self.blobs.part_files(video, &upload.id).await? else {
            return Ok(None);
        };
        // The caller checked the names against a listing; the files are taken by
        // number and ETag again here, under the claim.
        let mut paths = Vec::with_capacity(parts.len());
        for (number, etag) in parts {
            let file = files
                .iter()
                .find(|f| f.number == number.get() && reel_core::domain::same_etag(&f.md5, etag));
            let file = file.with_context(|| format!("part {} changed meanwhile", number.get()))?;
            paths.push(file.path.clone());
        }
        let size = upload.plan.size();
        self.blobs
            .assemble(video, paths, size)
            .await
            .map_err(|e| match e {
                // Retry later (503 `011`), as a single PUT is told.
                UploadError::StorageLow(low) => StoreError::Unavailable(low.into()),
                other => StoreError::Other(other.into()),
            })?;
        let blobs: Arc<dyn Blobs> = self.blobs.clone();
        let settled = settle_upload(
            self.videos.as_ref(),
            blobs,
            video,
            size,
            &upload.content_type,
            self.clock.now(),
        )
        .await?;
        self.blobs.remove_upload(video, &upload.id).await?;
        if let Settled::Ready(_) = settled {
            // As the byte endpoint counts a single PUT's (`video-events` on AWS).
            reel_core::metrics::count(reel_core::metrics::Metric::UploadsCompleted, 1);
        }
        Ok(Some(settled))
    }

    async fn abort(&self, video: &VideoId, upload: &UploadId) -> StoreResult<()> {
        Ok(self.blobs.remove_upload(video, upload).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reel_core::signing::Signer;

    #[tokio::test]
    async fn uploads_begun_two_days_ago_are_swept_and_newer_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::open(dir.path(), Signer::new([1; 32]), 60, 60).unwrap();
        let now = Timestamp::from_unix_seconds(1_800_000_000);
        let (old_video, new_video) = (VideoId::new(), VideoId::new());
        let old = blobs
            .create_upload(&old_video, now.plus_seconds(-MULTIPART_LIFETIME_SECS))
            .await
            .unwrap();
        let new = blobs
            .create_upload(&new_video, now.plus_seconds(-60))
            .await
            .unwrap();
        let part = PartNumber::signed(1);
        let body =
            || futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"abc"))]);
        blobs
            .write_part(&old_video, &old, part, 3, body())
            .await
            .unwrap()
            .unwrap();
        blobs
            .write_part(&new_video, &new, part, 3, body())
            .await
            .unwrap()
            .unwrap();

        assert_eq!(blobs.sweep_uploads(now).await.unwrap(), 1);
        assert!(blobs.part_files(&old_video, &old).await.unwrap().is_none());
        assert!(!dir
            .path()
            .join("uploads")
            .join(old_video.to_string())
            .exists());
        assert_eq!(
            blobs
                .part_files(&new_video, &new)
                .await
                .unwrap()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(blobs.sweep_uploads(now).await.unwrap(), 0);
    }

    #[test]
    fn only_names_this_store_wrote_are_parts_or_ids() {
        assert_eq!(
            parse_part_name(&part_name(42, &"a".repeat(32))),
            Some((42, "a".repeat(32).as_str()))
        );
        assert_eq!(parse_part_name(".tmp-1-abc"), None);
        assert_eq!(parse_part_name("part-1-short"), None);
        assert_eq!(parse_part_name("begun"), None);
        let ok = UploadId::parse(&"0f".repeat(16)).unwrap();
        assert!(local_id(&ok).is_some());
        for bad in ["../../etc", "ABCDEF0123456789ABCDEF0123456789", "0f"] {
            assert!(local_id(&UploadId::parse(bad).unwrap()).is_none(), "{bad}");
        }
    }
}
