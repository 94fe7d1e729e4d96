//! `reel`: the whole site on embedded storage (SQLite + files) in one process.
//! `cargo run --release` at the workspace root runs `reel serve` with the defaults.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "reel", version, about = "Reel video sharing, served locally")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the site (the default). Flags override the REEL_* environment variables.
    Serve(ServeArgs),
}

#[derive(clap::Args, Default)]
struct ServeArgs {
    /// Address to listen on [env: REEL_ADDR] [default: 127.0.0.1:8080]
    #[arg(long)]
    addr: Option<SocketAddr>,
    /// Where the database, videos and signing key live [env: REEL_DATA_DIR] [default: ./data]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Simultaneous byte-serving responses before 429 [env: REEL_STREAM_CONCURRENCY] [default: 64]
    #[arg(long)]
    stream_concurrency: Option<usize>,
    /// Seconds between runs of the deletion dispatcher [env: REEL_DELETION_INTERVAL_SECS] [default: 3]
    #[arg(long)]
    deletion_interval: Option<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Command::Serve(args) = Cli::parse()
        .command
        .unwrap_or(Command::Serve(ServeArgs::default()));
    let mut config = reel::config::Config::from_env()?;
    config.addr = args.addr.unwrap_or(config.addr);
    config.data_dir = args.data_dir.unwrap_or(config.data_dir);
    config.stream_concurrency = args.stream_concurrency.unwrap_or(config.stream_concurrency);
    config.deletion_interval_secs = args
        .deletion_interval
        .unwrap_or(config.deletion_interval_secs);
    config.check()?;
    reel::telemetry::init(config.log_json);
    reel::local_host::serve(&config, reel::local_host::shutdown_signal()).await
}
