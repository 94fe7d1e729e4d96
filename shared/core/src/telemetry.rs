//! Logging set-up shared by every binary: JSON lines (Lambda, `REEL_LOG_FORMAT=json`) or
//! human-readable ones, filtered by `RUST_LOG` (`info`, `reel=debug,tower_http=warn`, ...),
//! else by Lambda's `AWS_LAMBDA_LOG_LEVEL` (the function's `LoggingConfig`), else `info`.
//!
//! The filter is a plain per-target one (`Targets`) rather than `EnvFilter`, whose span
//! and field matching needs the `regex` engines: a quarter of a megabyte in every
//! Lambda binary for directives nobody sets.

use crate::settings::Settings;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::prelude::*;

/// The filter `RUST_LOG` (or `AWS_LAMBDA_LOG_LEVEL`) asks for; one that does not parse
/// falls back to `info`, said once on standard error.
fn filter() -> Targets {
    let directives = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| "info".into());
    directives.to_ascii_lowercase().parse().unwrap_or_else(|e| {
        eprintln!("ignoring the log filter {directives:?} ({e}); logging at info");
        Targets::new().with_default(tracing::Level::INFO)
    })
}

/// Logging as `settings` say, and metric lines when they name a namespace.
pub fn init(settings: &Settings) {
    crate::metrics::init(&settings.metrics);
    let json = settings.log.json();
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal, never into CloudWatch or a log file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    // `try_init`: tests may initialise more than once.
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .finish()
            .with(filter())
            .try_init()
    } else {
        builder.finish().with(filter()).try_init()
    };
}
