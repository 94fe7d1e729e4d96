//! The workspace's Lambda function binaries, for tests that run them as Lambda would
//! (under the Runtime API emulator): built once per test process, debug profile.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Every function crate (`functions/<name>`, package `reel-<name>`).
pub const FUNCTIONS: [&str; 10] = [
    "users",
    "sessions",
    "videos",
    "uploads",
    "comments",
    "stream",
    "web",
    "video-events",
    "deletion-dispatcher",
    "deletion-worker",
];

/// The path of a workspace binary (`reel-users`, ..., or `reel`, the local server that
/// provisions moto), building every function and the server on first use.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    BUILT.get_or_init(|| build(&root));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    target.join("debug").join(name)
}

fn build(root: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = std::process::Command::new(cargo);
    build
        .current_dir(root)
        .args(["build", "--quiet", "-p", "reel-server"]);
    // The variables cargo sets for the calling test would reach the nested build's
    // build scripts and make them (ring, rustls, ...) rebuild on every run.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        let keep = ["CARGO_HOME", "CARGO_TARGET_DIR"].contains(&key.as_str());
        if (key.starts_with("CARGO_") && !keep) || key == "OUT_DIR" {
            build.env_remove(key);
        }
    }
    for f in FUNCTIONS {
        build.args(["-p", &format!("reel-{f}")]);
    }
    let status = build.status().expect("running cargo build");
    assert!(status.success(), "building the function binaries failed");
}
