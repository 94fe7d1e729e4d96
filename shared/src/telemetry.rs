//! Logging set-up shared by every binary: JSON lines (Lambda, `REEL_LOG_FORMAT=json`) or
//! human-readable ones, filtered by `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
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
            .try_init()
    } else {
        builder.try_init()
    };
}
