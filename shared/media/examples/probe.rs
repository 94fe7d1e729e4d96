//! Prints what `reel_media::probe` finds in the files named: `cargo run -p reel-media --example probe -- FILE...`
fn main() {
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path).expect("reading the file");
        let (outcome, stats) = reel_media::probe_bytes(&bytes);
        println!(
            "{path}: {outcome:?} ({} requests, {} bytes read)",
            stats.requests, stats.bytes
        );
    }
}
