//! The container parsers under random and mutated input: they must never panic, never
//! hang, and never fetch more than the cap, whatever the file says about itself.
//!
//! CI runs a brief pass (`REEL_FUZZ_CASES`, default 512 cases per property); a long run
//! by hand: `REEL_FUZZ_CASES=200000 cargo test --release -p reel-media --test fuzz`.

use proptest::prelude::*;
use reel_media::{probe, CappedSource, ProbeError};
use std::path::PathBuf;

fn cases() -> u32 {
    std::env::var("REEL_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(512)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        // A failing input is reported as found: shrinking a slow one takes too long.
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    }
}

fn fixtures() -> Vec<Vec<u8>> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../infra/server/tests/fixtures/media");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "json"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// [`probe_within_bounds`] on a thread of its own that must finish within 10 s (a loop
/// is a failure, not a hung test run); a hanging input is kept in the temporary
/// directory for a look.
fn probe_in_time(bytes: &[u8], claimed: u64, cap: u64) {
    let (done, finished) = std::sync::mpsc::channel();
    let input = bytes.to_vec();
    let worker = std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(|| probe_within_bounds(&input, claimed, cap));
        let _ = done.send(());
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    });
    if finished
        .recv_timeout(std::time::Duration::from_secs(10))
        .is_err()
    {
        let kept = std::env::temp_dir().join("reel-media-fuzz-hang.bin");
        std::fs::write(&kept, bytes).unwrap();
        panic!(
            "the probe of {} bytes (claimed {claimed}) did not finish in 10 s: {}",
            bytes.len(),
            kept.display()
        );
    }
    if let Err(panic) = worker.join() {
        std::panic::resume_unwind(panic);
    }
}

/// Probes `bytes` as an object of `claimed` bytes (zeros past the real ones) under
/// `cap`, and checks the bounds every probe must keep.
fn probe_within_bounds(bytes: &[u8], claimed: u64, cap: u64) {
    let fetch = |offset: u64, len: usize| {
        assert!(
            len as u64 <= cap,
            "one fetch of {len} bytes under a cap of {cap}"
        );
        let end = offset.saturating_add(len as u64).min(claimed);
        Ok((offset..end)
            .map(|at| bytes.get(at as usize).copied().unwrap_or(0))
            .collect())
    };
    let mut source = CappedSource::new(fetch, claimed, cap);
    match probe(&mut source) {
        Ok(_) | Err(ProbeError::Rejected(_)) => {}
        Err(ProbeError::Read(e)) => panic!("an in-memory read cannot fail: {e}"),
    }
    let stats = source.stats();
    assert!(stats.bytes <= cap, "{stats:?} past the cap of {cap}");
}

/// A fixture with up to 16 bytes overwritten, mostly in its first 512 bytes (where the
/// headers are), and maybe cut short.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let files = fixtures();
    (
        0..files.len(),
        prop::collection::vec((any::<bool>(), any::<usize>(), any::<u8>()), 0..16),
        prop::option::of(any::<usize>()),
    )
        .prop_map(move |(which, edits, cut)| {
            let mut file = files[which].clone();
            for (in_header, at, byte) in edits {
                let span = if in_header {
                    file.len().min(512)
                } else {
                    file.len()
                };
                let at = at % span.max(1);
                if let Some(b) = file.get_mut(at) {
                    *b = byte;
                }
            }
            if let Some(cut) = cut {
                file.truncate(cut % (file.len() + 1));
            }
            file
        })
}

/// Random bytes behind one of the magic numbers, so the parsers go past the first check.
fn random_with_magic() -> impl Strategy<Value = Vec<u8>> {
    let magics: Vec<&'static [u8]> = vec![
        b"\0\0\0\x18ftypisom",
        b"\x1a\x45\xdf\xa3",
        b"\0\0\0\0moov",
        b"\0\0\0\x01mdat",
        b"",
    ];
    (0..magics.len(), prop::collection::vec(any::<u8>(), 0..2048))
        .prop_map(move |(m, tail)| [magics[m], tail.as_slice()].concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_fixtures_never_panic_or_overread(file in mutated()) {
        probe_in_time(&file, file.len() as u64, reel_media::READ_CAP);
    }

    #[test]
    fn random_headers_never_panic_or_overread(file in random_with_magic()) {
        probe_in_time(&file, file.len() as u64, reel_media::READ_CAP);
    }

    #[test]
    fn files_claiming_to_be_huge_stay_under_a_small_cap(
        file in mutated(),
        claimed in 0u64..(64 << 30),
    ) {
        let claimed = claimed.max(file.len() as u64);
        probe_in_time(&file, claimed, 256 * 1024);
    }
}
