//! ISO-BMFF (MP4, MOV, M4V): the top-level box headers are walked (a few bytes each,
//! the `mdat` never read), then only `moov` is read and decoded with `mp4-atom`.

use crate::codecs;
use crate::source::{CappedSource, Fetch};
use crate::{MediaInfo, ProbeError, Rejection, READ_CAP};
use mp4_atom::{Codec, DecodeAtom, FourCC, Header, Moov, Trak};

/// Top-level boxes a file can start with (QuickTime's `wide` and `pnot` included).
const FIRST_BOXES: [&[u8; 4]; 8] = [
    b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot",
];

/// Top-level boxes walked at most: a file is a handful; more is not a file to serve.
const MAX_BOXES: usize = 1024;

/// Boxes looked at after `moov` (to find a cut-off `mdat` that follows it); a fragmented
/// file's thousands of fragments are not walked.
const BOXES_AFTER_MOOV: usize = 4;

pub fn looks_like(magic: &[u8]) -> bool {
    let (Some(size), Some(kind)) = (magic.get(..4), magic.get(4..8)) else {
        return false;
    };
    let size = u32::from_be_bytes([size[0], size[1], size[2], size[3]]);
    (size == 0 || size == 1 || size >= 8) && FIRST_BOXES.iter().any(|k| k.as_slice() == kind)
}

/// A top-level box: its type, where its body starts, and how long the body is.
struct BoxHeader {
    kind: [u8; 4],
    body_at: u64,
    body_len: u64,
}

fn rejected(r: Rejection) -> ProbeError {
    ProbeError::Rejected(r)
}

/// The header of the box at `offset` (its 32-bit size, or 64-bit when it says 1, or to
/// the end of the file when it says 0).
fn header_at<F: Fetch>(source: &mut CappedSource<F>, offset: u64) -> Result<BoxHeader, ProbeError> {
    let len = source.len();
    if len - offset < 8 {
        return Err(rejected(Rejection::Truncated));
    }
    let head = source.read_at(offset, 8).map_err(ProbeError::Read)?;
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as u64;
    let kind = [head[4], head[5], head[6], head[7]];
    let (header_len, total) = match size {
        0 => (8, len - offset),
        1 => {
            let large = source.read_at(offset + 8, 8).map_err(ProbeError::Read)?;
            let mut b = [0; 8];
            b.copy_from_slice(&large);
            (16, u64::from_be_bytes(b))
        }
        n => (8, n),
    };
    if total < header_len {
        return Err(rejected(Rejection::Damaged));
    }
    Ok(BoxHeader {
        kind,
        body_at: offset + header_len,
        body_len: total - header_len,
    })
}

pub fn probe<F: Fetch>(source: &mut CappedSource<F>) -> Result<MediaInfo, ProbeError> {
    let len = source.len();
    let mut offset = 0;
    let mut mdat_seen = false;
    let mut found: Option<MediaInfo> = None;
    let mut after_moov = 0;
    for _ in 0..MAX_BOXES {
        if offset >= len {
            break;
        }
        if found.is_some() {
            after_moov += 1;
            if after_moov > BOXES_AFTER_MOOV {
                break;
            }
        }
        let b = header_at(source, offset)?;
        let end = b.body_at.checked_add(b.body_len).filter(|end| *end <= len);
        let Some(end) = end else {
            return Err(rejected(Rejection::Truncated));
        };
        match &b.kind {
            b"moov" if found.is_none() => {
                if b.body_len > READ_CAP {
                    return Err(rejected(Rejection::HeaderTooLarge));
                }
                let body = source
                    .read_at(b.body_at, b.body_len as usize)
                    .map_err(ProbeError::Read)?;
                let header = Header {
                    kind: FourCC::new(&b.kind),
                    size: Some(body.len()),
                };
                let moov = Moov::decode_atom(&header, &mut body.as_slice())
                    .map_err(|_| rejected(Rejection::Damaged))?;
                found = Some(describe(&moov, !mdat_seen));
            }
            b"mdat" => mdat_seen = true,
            _ => {}
        }
        offset = end;
    }
    found.ok_or_else(|| {
        // Media data without its index is a file cut short before the end, where a
        // recorder or encoder writes the index.
        if mdat_seen || offset >= len {
            rejected(Rejection::Truncated)
        } else {
            rejected(Rejection::HeaderTooLarge)
        }
    })
}

fn describe(moov: &Moov, faststart: bool) -> MediaInfo {
    let video = moov.trak.iter().find(|t| is_handler(t, b"vide"));
    let audio = moov.trak.iter().find(|t| is_handler(t, b"soun"));
    let visual = video.and_then(|t| first_codec(t)).and_then(Codec::visual);
    MediaInfo {
        duration_ms: duration_ms(moov),
        width: visual.map(|v| u32::from(v.width)).filter(|w| *w > 0),
        height: visual.map(|v| u32::from(v.height)).filter(|h| *h > 0),
        video_codec: video.and_then(first_codec).and_then(video_codec),
        audio_codec: audio.and_then(first_codec).and_then(audio_codec),
        faststart,
    }
}

fn is_handler(trak: &Trak, handler: &[u8; 4]) -> bool {
    trak.mdia.hdlr.handler == FourCC::new(handler)
}

fn first_codec(trak: &Trak) -> Option<&Codec> {
    trak.mdia.minf.stbl.stsd.codecs.first()
}

/// The movie's duration, or for a fragmented file (whose `mvhd` says 0) its `mehd`'s.
fn duration_ms(moov: &Moov) -> Option<u64> {
    let timescale = u128::from(moov.mvhd.timescale);
    let duration = match moov.mvhd.duration {
        0 | u64::MAX => moov.mvex.as_ref()?.mehd.as_ref()?.fragment_duration,
        d => d,
    };
    if timescale == 0 || duration == 0 {
        return None;
    }
    u64::try_from(u128::from(duration) * 1000 / timescale).ok()
}

fn video_codec(codec: &Codec) -> Option<String> {
    Some(match codec {
        Codec::Avc1(c) => avc("avc1", &c.avcc),
        Codec::Avc3(c) => avc("avc3", &c.avcc),
        Codec::Hvc1(c) => codecs::hevc("hvc1", &hevc_config(&c.hvcc)),
        Codec::Hev1(c) => codecs::hevc("hev1", &hevc_config(&c.hvcc)),
        Codec::Vp09(c) => codecs::vp9(c.vpcc.profile, c.vpcc.level, c.vpcc.bit_depth),
        Codec::Vp08(_) => "vp8".to_owned(),
        Codec::Av01(c) => {
            let a = &c.av1c;
            let record = [
                0x81,
                (a.seq_profile << 5) | (a.seq_level_idx_0 & 0x1f),
                (u8::from(a.seq_tier_0) << 7)
                    | (u8::from(a.high_bitdepth) << 6)
                    | (u8::from(a.twelve_bit) << 5),
            ];
            codecs::av1_of_record(&record)?
        }
        Codec::Jpeg(_) => "jpeg".to_owned(),
        other => other.visual().map(|_| "unknown".to_owned())?,
    })
}

fn avc(entry: &str, c: &mp4_atom::Avcc) -> String {
    codecs::avc(
        entry,
        c.avc_profile_indication,
        c.profile_compatibility,
        c.avc_level_indication,
    )
}

fn hevc_config(c: &mp4_atom::Hvcc) -> codecs::HevcConfig {
    codecs::HevcConfig {
        profile_space: c.general_profile_space,
        tier_high: c.general_tier_flag,
        profile_idc: c.general_profile_idc,
        compatibility_flags: u32::from_be_bytes(c.general_profile_compatibility_flags),
        constraint_flags: c.general_constraint_indicator_flags,
        level_idc: c.general_level_idc,
    }
}

fn audio_codec(codec: &Codec) -> Option<String> {
    Some(match codec {
        Codec::Mp4a(c) => {
            let config = &c.esds.es_desc.dec_config;
            let aot = config.dec_specific.as_ref().map(|d| d.profile);
            codecs::mp4a(config.object_type_indication, aot)
        }
        Codec::Opus(_) => "opus".to_owned(),
        Codec::Flac(_) => "flac".to_owned(),
        Codec::Mp3(_) => "mp3".to_owned(),
        Codec::Ac3(_) => "ac-3".to_owned(),
        Codec::Eac3(_) => "ec-3".to_owned(),
        _ => return None,
    })
}
