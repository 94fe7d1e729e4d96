//! Every media fixture (made with ffmpeg by `scripts/make-media-fixtures.sh`) against
//! the table beside it: what ffprobe read of it, and what Reel must make of it.

use reel_media::{probe, probe_bytes, CappedSource, MediaInfo, ProbeError, READ_CAP};
use serde_json::Value;
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/server/tests/fixtures/media")
}

fn table() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap()
}

#[test]
fn every_fixture_is_read_as_ffprobe_reads_it() {
    let table = table();
    assert_eq!(table.len(), 9, "the issue's nine fixtures");
    for (name, expected) in table {
        let (outcome, _) = probe_bytes(&fixture(&name));
        let reel = &expected["reel"];
        match (reel["status"].as_str().unwrap(), outcome) {
            ("ready", Ok(info)) => {
                let want = MediaInfo {
                    duration_ms: expected["duration_ms"].as_u64(),
                    width: expected["width"].as_u64().map(|w| w as u32),
                    height: expected["height"].as_u64().map(|h| h as u32),
                    video_codec: reel["video_codec"].as_str().map(str::to_owned),
                    audio_codec: reel["audio_codec"].as_str().map(str::to_owned),
                    faststart: expected["faststart"].as_bool().unwrap_or(true),
                };
                assert_eq!(info, want, "{name}");
            }
            ("rejected", Err(ProbeError::Rejected(why))) => {
                assert_eq!(why.reason(), reel["reason"].as_str().unwrap(), "{name}");
            }
            (status, outcome) => panic!("{name}: expected {status}, got {outcome:?}"),
        }
    }
}

/// An object of `len` bytes that is `head`, zeros, then `tail` at its end, read through
/// a counting fetch: a file of any size without the memory.
fn sparse(
    head: Vec<u8>,
    tail: Vec<u8>,
    len: u64,
) -> impl FnMut(u64, usize) -> std::io::Result<Vec<u8>> {
    let tail_at = len - tail.len() as u64;
    move |offset, want| {
        let end = (offset + want as u64).min(len);
        Ok((offset..end)
            .map(|at| {
                if at < head.len() as u64 {
                    head[at as usize]
                } else if at >= tail_at {
                    tail[(at - tail_at) as usize]
                } else {
                    0
                }
            })
            .collect())
    }
}

/// The boxes of an MP4 file: (type, bytes including the header).
fn boxes(file: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= file.len() {
        let size = u32::from_be_bytes(file[at..at + 4].try_into().unwrap()) as usize;
        let kind = String::from_utf8_lossy(&file[at + 4..at + 8]).into_owned();
        out.push((kind, file[at..at + size].to_vec()));
        at += size;
    }
    out
}

#[test]
fn a_gigabyte_file_with_its_index_at_the_end_costs_a_few_small_reads() {
    // ftyp, then a 1 GiB `mdat` (64-bit size), then the fixture's own `moov`.
    let file = fixture("h264-aac-moov-last.mp4");
    let parts = boxes(&file);
    let ftyp = parts.iter().find(|(k, _)| k == "ftyp").unwrap().1.clone();
    let moov = parts.iter().find(|(k, _)| k == "moov").unwrap().1.clone();
    let mdat_len: u64 = 1 << 30;
    let mut head = ftyp.clone();
    head.extend_from_slice(&1u32.to_be_bytes());
    head.extend_from_slice(b"mdat");
    head.extend_from_slice(&mdat_len.to_be_bytes());
    let len = ftyp.len() as u64 + mdat_len + moov.len() as u64;
    let mut source = CappedSource::new(sparse(head, moov, len), len, READ_CAP);
    let info = probe(&mut source).unwrap();
    assert_eq!(info.duration_ms, Some(2000));
    assert!(!info.faststart);
    let stats = source.stats();
    assert!(stats.requests <= 3, "{stats:?}");
    assert!(stats.bytes <= 256 * 1024, "{stats:?}");
}

#[test]
fn a_small_video_padded_with_a_free_box_is_still_that_video() {
    let mut file = fixture("h264-aac-faststart.mp4");
    let (plain, _) = probe_bytes(&file);
    let padding = 3 * 1024 * 1024;
    file.extend_from_slice(&(padding as u32).to_be_bytes());
    file.extend_from_slice(b"free");
    file.resize(file.len() + padding - 8, 0);
    let (padded, stats) = probe_bytes(&file);
    assert_eq!(padded.unwrap(), plain.unwrap());
    assert!(
        stats.bytes < 200 * 1024,
        "the padding is not read: {stats:?}"
    );
}

#[test]
fn an_index_larger_than_the_cap_is_refused_unread() {
    let mut file = fixture("h264-aac-faststart.mp4")[..32].to_vec();
    file.truncate(boxes(&file)[0].1.len());
    let moov_len = READ_CAP as u32 + 1024;
    file.extend_from_slice(&moov_len.to_be_bytes());
    file.extend_from_slice(b"moov");
    let len = file.len() as u64 + u64::from(moov_len);
    let mut source = CappedSource::new(sparse(file, vec![0], len), len, READ_CAP);
    match probe(&mut source) {
        Err(ProbeError::Rejected(why)) => assert_eq!(why.reason(), "video header too large"),
        other => panic!("{other:?}"),
    }
    assert!(source.stats().bytes < 1024 * 1024);
}

#[test]
fn a_segment_that_starts_with_a_crc32_element_is_refused_not_looped_on() {
    // The fuzz harness's find: the WebM fixture with its SeekHead's first id byte made
    // CRC-32's (0xbf), on which matroska-demuxer 0.8.1 loops forever.
    let mut file = fixture("vp9-opus.webm");
    assert_eq!(
        file[48], 0x11,
        "the Segment's first child (SeekHead) starts at 48"
    );
    file[48] = 0xbf;
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(probe_bytes(&file).0.map_err(|e| e.to_string())));
    let outcome = finished
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the probe finishes");
    assert_eq!(outcome, Err("damaged video header".to_owned()));
}
