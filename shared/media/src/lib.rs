//! What an uploaded file is, read from its container's header with bounded ranged reads
//! (never the whole object): ISO-BMFF (MP4, MOV, M4V) and Matroska (WebM, MKV). Also
//! what a poster image is, from its first bytes.
//!
//! The parsing is synchronous over [`CappedSource`] (`Read + Seek`); the store's async
//! range reads are bridged to it by the caller (`reel_core::media`).

mod codecs;
mod isobmff;
mod matroska;
pub mod poster;
mod source;

pub use source::{CappedSource, Fetch, ReadStats, MIN_FETCH};

/// The most a probe reads of an object: a `moov` with the sample tables of hours of
/// video is a few MiB.
pub const READ_CAP: u64 = 16 * 1024 * 1024;

/// What the container says about a video.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaInfo {
    pub duration_ms: Option<u64>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// RFC 6381, e.g. `avc1.64001f`.
    pub video_codec: Option<String>,
    /// RFC 6381, e.g. `mp4a.40.2`, `opus`; `None` without an audio track.
    pub audio_codec: Option<String>,
    /// The index (`moov`) comes before the media data: playback can start before the
    /// whole file is read. Matroska files always are (their index is optional).
    pub faststart: bool,
}

/// Why an upload is not a video Reel will serve: what its owner is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("not a video file")]
    NotAVideo,
    #[error("no video track")]
    NoVideoTrack,
    #[error("truncated file")]
    Truncated,
    #[error("damaged video header")]
    Damaged,
    #[error("video header too large")]
    HeaderTooLarge,
}

impl Rejection {
    /// The reason as stored and shown.
    pub fn reason(self) -> String {
        self.to_string()
    }
}

/// A probe's outcome other than success.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The file is not one Reel serves.
    #[error("{0}")]
    Rejected(Rejection),
    /// Reading it failed (the store, not the file): try again later.
    #[error("reading the object failed")]
    Read(#[source] std::io::Error),
}

/// Reads the container's header of the object behind `source` and says what it is.
pub fn probe<F: Fetch>(source: &mut CappedSource<F>) -> Result<MediaInfo, ProbeError> {
    let magic = match source.read_at(0, 8) {
        Ok(magic) => magic,
        Err(e) => return Err(read_failure(source, e, Rejection::NotAVideo)),
    };
    let outcome = if matroska::is_ebml(&magic) {
        matroska::probe(source)
    } else if isobmff::looks_like(&magic) {
        isobmff::probe(source)
    } else {
        return Err(ProbeError::Rejected(Rejection::NotAVideo));
    };
    let info = outcome.map_err(|e| match e {
        ProbeError::Read(io) => read_failure(source, io, Rejection::Damaged),
        rejected => rejected,
    })?;
    if info.video_codec.is_none() {
        return Err(ProbeError::Rejected(Rejection::NoVideoTrack));
    }
    Ok(info)
}

/// What an I/O error during parsing means: the store failed, the cap was reached, or
/// the file ran out (`UnexpectedEof`: truncated) or held nonsense (`otherwise`).
fn read_failure<F: Fetch>(
    source: &CappedSource<F>,
    error: std::io::Error,
    otherwise: Rejection,
) -> ProbeError {
    use source::ReadFailure;
    match source.failure() {
        Some(ReadFailure::Store) => ProbeError::Read(error),
        Some(ReadFailure::Cap) => ProbeError::Rejected(Rejection::HeaderTooLarge),
        None if error.kind() == std::io::ErrorKind::UnexpectedEof => {
            ProbeError::Rejected(Rejection::Truncated)
        }
        None => ProbeError::Rejected(otherwise),
    }
}

/// [`probe`] of bytes in memory (tests, fuzzing, tools).
pub fn probe_bytes(bytes: &[u8]) -> (Result<MediaInfo, ProbeError>, ReadStats) {
    let fetch = |offset: u64, len: usize| {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let end = start.saturating_add(len).min(bytes.len());
        Ok(bytes[start..end].to_vec())
    };
    let mut source = CappedSource::new(fetch, bytes.len() as u64, READ_CAP);
    let outcome = probe(&mut source);
    (outcome, source.stats())
}
