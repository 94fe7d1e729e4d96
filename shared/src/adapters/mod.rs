//! Adapters behind the ports. `local`: SQLite + filesystem, the embedded default.
pub mod local;
