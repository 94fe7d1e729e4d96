//! Matroska and WebM: the EBML header, `Info` (duration) and `Tracks`, read with
//! `matroska-demuxer`, which follows the `SeekHead` and never reads a cluster's frames.

use crate::codecs;
use crate::source::{CappedSource, Fetch};
use crate::{MediaInfo, ProbeError, Rejection};
use matroska_demuxer::{DemuxError, MatroskaFile, TrackEntry, TrackType};

const EBML_MAGIC: [u8; 4] = [0x1a, 0x45, 0xdf, 0xa3];

pub fn is_ebml(magic: &[u8]) -> bool {
    magic.starts_with(&EBML_MAGIC)
}

pub fn probe<F: Fetch>(source: &mut CappedSource<F>) -> Result<MediaInfo, ProbeError> {
    use std::io::{Seek, SeekFrom};
    if segment_starts_with_crc32(source)? {
        return Err(ProbeError::Rejected(Rejection::Damaged));
    }
    source.seek(SeekFrom::Start(0)).map_err(ProbeError::Read)?;
    let file = MatroskaFile::open(&mut *source).map_err(|e| match e {
        DemuxError::IoError(io) => ProbeError::Read(io),
        DemuxError::UnsupportedDocType(_) => ProbeError::Rejected(Rejection::NotAVideo),
        DemuxError::ElementSizeExceedsStream { .. } => ProbeError::Rejected(Rejection::Truncated),
        _ => ProbeError::Rejected(Rejection::Damaged),
    })?;
    let tracks = file.tracks();
    let video = tracks.iter().find(|t| t.track_type() == TrackType::Video);
    let audio = tracks.iter().find(|t| t.track_type() == TrackType::Audio);
    let info = file.info();
    let scale_ns = info.timestamp_scale().get() as f64;
    let duration_ms = info
        .duration()
        .filter(|d| d.is_finite() && *d > 0.0)
        .map(|d| (d * scale_ns / 1e6).round())
        .filter(|ms| *ms < u64::MAX as f64)
        .map(|ms| ms as u64);
    let picture = video.and_then(TrackEntry::video);
    Ok(MediaInfo {
        duration_ms,
        width: picture.and_then(|v| u32::try_from(v.pixel_width().get()).ok()),
        height: picture.and_then(|v| u32::try_from(v.pixel_height().get()).ok()),
        video_codec: video.map(video_codec),
        audio_codec: audio.and_then(audio_codec),
        faststart: true,
    })
}

/// matroska-demuxer 0.8.1 loops forever on a Segment whose first child is a CRC-32
/// element (its `search_seek_head` seeks back to the Segment's start on every
/// `continue`; found by `tests/fuzz.rs`). Encoders put CRC-32 elements inside the
/// level-1 elements, not first in the Segment, so such a file is refused before the crate
/// sees it: the EBML header and the Segment's header are stepped over (an id and a
/// size each), and the next byte is compared with CRC-32's one-byte id.
fn segment_starts_with_crc32<F: Fetch>(source: &mut CappedSource<F>) -> Result<bool, ProbeError> {
    const CRC32_ID: u8 = 0xbf;
    let Some((header_len, payload)) = element_header(source, 0) else {
        return Ok(false);
    };
    let Some(segment_at) = header_len.checked_add(payload) else {
        return Ok(false);
    };
    let Some((segment_header_len, _)) = element_header(source, segment_at) else {
        return Ok(false);
    };
    let first_child = segment_at.saturating_add(segment_header_len);
    Ok(source
        .read_at(first_child, 1)
        .is_ok_and(|b| b[0] == CRC32_ID))
}

/// The length of the element header at `at` (its id and its size) and the size it
/// declares; `None` when it cannot be read (the crate then says what is wrong).
fn element_header<F: Fetch>(source: &mut CappedSource<F>, at: u64) -> Option<(u64, u64)> {
    let bytes = source.read_at(at, 16).ok()?;
    let id_len = vint_len(bytes[0]);
    let size_len = vint_len(*bytes.get(id_len)?);
    let size = vint_value(bytes.get(id_len..id_len + size_len)?);
    Some(((id_len + size_len) as u64, size))
}

/// An EBML variable-length integer's length in bytes, from its first byte (1..=8; an
/// invalid first byte counts as 8).
fn vint_len(first: u8) -> usize {
    (first.leading_zeros() as usize + 1).min(8)
}

/// The value of a variable-length integer (its length marker bit removed).
fn vint_value(bytes: &[u8]) -> u64 {
    let marker = 0x80u8.checked_shr(bytes.len() as u32 - 1).unwrap_or(0);
    let first = u64::from(bytes[0] & !marker);
    bytes[1..]
        .iter()
        .fold(first, |v, b| (v << 8) | u64::from(*b))
}

/// Matroska codec ids (`V_VP9`, ...) as RFC 6381 strings, from `CodecPrivate` where it
/// carries the configuration record.
fn video_codec(track: &TrackEntry) -> String {
    let private = track.codec_private().unwrap_or_default();
    let named = match track.codec_id() {
        "V_VP9" => Some(vp9_of_features(private)),
        "V_VP8" => Some("vp8".to_owned()),
        "V_AV1" => codecs::av1_of_record(private),
        "V_MPEG4/ISO/AVC" if private.len() >= 4 => {
            Some(codecs::avc("avc1", private[1], private[2], private[3]))
        }
        "V_MPEGH/ISO/HEVC" => {
            codecs::hevc_config_of_record(private).map(|c| codecs::hevc("hvc1", &c))
        }
        _ => None,
    };
    named.unwrap_or_else(|| track.codec_id().to_ascii_lowercase())
}

/// VP9 in WebM: `CodecPrivate` is optional "codec feature metadata" (id 1 profile,
/// 2 level, 3 bit depth; one byte each); what it leaves out is profile 0, level 1
/// ("10"), 8 bits.
fn vp9_of_features(private: &[u8]) -> String {
    let (mut profile, mut level, mut bit_depth) = (0, 10, 8);
    let mut rest = private;
    while let [id, len, tail @ ..] = rest {
        let len = usize::from(*len);
        let Some(value) = tail.get(..len) else { break };
        if let [v] = value {
            match id {
                1 => profile = *v,
                2 => level = *v,
                3 => bit_depth = *v,
                _ => {}
            }
        }
        rest = &tail[len..];
    }
    codecs::vp9(profile, level, bit_depth)
}

fn audio_codec(track: &TrackEntry) -> Option<String> {
    Some(match track.codec_id() {
        "A_OPUS" => "opus".to_owned(),
        "A_VORBIS" => "vorbis".to_owned(),
        "A_FLAC" => "flac".to_owned(),
        "A_AAC" => codecs::mp4a(
            0x40,
            codecs::audio_object_type(track.codec_private().unwrap_or_default()),
        ),
        "A_MPEG/L3" => "mp3".to_owned(),
        other => other.to_ascii_lowercase(),
    })
}
