//! The crates' dependencies go one way, as the README's Layout draws them: Cargo
//! forbids cycles, and this test forbids the rest (an SQLite or AWS dependency in the
//! core, an adapter crate reaching for the other adapters or a host, ...).

use std::path::Path;

/// The names under a manifest's `[dependencies]` (not dev- or build-dependencies).
fn dependencies(krate: &str) -> Vec<String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(krate)
        .join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    text.lines()
        .skip_while(|line| line.trim() != "[dependencies]")
        .skip(1)
        .take_while(|line| !line.starts_with('['))
        .filter_map(|line| line.split(['.', ' ', '=']).next())
        .filter(|name| !name.is_empty() && !name.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn assert_none_of(krate: &str, forbidden: &[&str]) {
    let deps = dependencies(krate);
    assert!(!deps.is_empty(), "{krate} has no [dependencies] section");
    for dep in &deps {
        let refused = forbidden.iter().any(|f| match f.strip_suffix('*') {
            Some(prefix) => dep.starts_with(prefix),
            None => dep == f,
        });
        assert!(!refused, "reel-{krate} must not depend on {dep}");
    }
}

#[test]
fn the_core_knows_no_storage_no_aws_no_http_framework_and_no_other_crate_of_ours() {
    // reel-media (the container parsers) is a leaf the core builds on.
    assert_none_of(
        "core",
        &[
            "aws*",
            "rusqlite*",
            "axum",
            "tower*",
            "hyper*",
            "lambda*",
            "reel-http",
            "reel-embedded",
            "reel-aws",
            "reel-lambda",
            "reel-server",
            "reel-testkit",
        ],
    );
}

#[test]
fn the_media_parsers_are_a_leaf_that_does_no_io_of_its_own() {
    assert_none_of(
        "media",
        &[
            "aws*",
            "rusqlite*",
            "axum",
            "tower*",
            "hyper*",
            "lambda*",
            "tokio",
            "reel-*",
        ],
    );
}

#[test]
fn the_http_layer_knows_the_core_only() {
    assert_none_of(
        "http",
        &[
            "aws*",
            "rusqlite*",
            "lambda*",
            "reel-embedded",
            "reel-aws",
            "reel-lambda",
            "reel-server",
        ],
    );
}

#[test]
fn each_adapter_crate_knows_nothing_of_the_other_or_of_a_host() {
    assert_none_of(
        "embedded",
        &["aws*", "lambda*", "reel-aws", "reel-lambda", "reel-server"],
    );
    assert_none_of(
        "aws",
        &[
            "rusqlite*",
            "axum",
            "lambda*",
            "reel-http",
            "reel-embedded",
            "reel-lambda",
            "reel-server",
        ],
    );
}

#[test]
fn the_lambda_host_carries_no_embedded_storage() {
    assert_none_of("lambda", &["rusqlite*", "reel-embedded", "reel-server"]);
}
