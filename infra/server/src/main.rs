//! `reel`: the whole site in one process. `cargo run --release` at the workspace root
//! runs `reel serve` with the defaults: embedded storage (SQLite + files) in `./data`.
//! `--backend aws` runs the same site on DynamoDB, S3 and SQS (or an emulator named by
//! `AWS_ENDPOINT_URL`). `reel deletions ...` and `reel users ...` are the operator's
//! commands (see `admin.rs`).

mod admin;

use clap::{Parser, Subcommand, ValueEnum};
use reel_core::config::Config;
use reel_server::aws::AwsHost;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "reel", version, about = "Reel video sharing in one process")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the site (the default). Flags override the REEL_* environment variables.
    Serve(ServeArgs),
    /// Create the AWS tables, bucket and queues that are missing, then exit
    /// (REEL_TABLE_PREFIX, REEL_BUCKET, REEL_DELETION_QUEUE name them).
    Provision,
    /// Inspect and repair the deletion pipeline.
    #[command(subcommand)]
    Deletions(admin::DeletionsCommand),
    /// Manage accounts.
    #[command(subcommand)]
    Users(admin::UsersCommand),
}

#[derive(Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Backend {
    /// SQLite + files in the data directory.
    #[default]
    Local,
    /// DynamoDB + S3 + SQS, wherever the AWS environment points.
    Aws,
}

#[derive(clap::Args, Default)]
struct ServeArgs {
    /// Address to listen on [env: REEL_ADDR] [default: 127.0.0.1:8080]
    #[arg(long)]
    addr: Option<SocketAddr>,
    #[command(flatten)]
    store: StoreArgs,
    /// Simultaneous byte-serving responses before 429 [env: REEL_STREAM_CONCURRENCY] [default: 64]
    #[arg(long)]
    stream_concurrency: Option<usize>,
    /// Seconds between runs of the deletion dispatcher [env: REEL_DELETION_INTERVAL_SECS] [default: 3]
    #[arg(long)]
    deletion_interval: Option<u64>,
    /// With `--backend aws`: first create any missing table, index, bucket and queue.
    #[arg(long)]
    provision: bool,
}

/// Which storage to use: `reel serve` and the operator commands take the same flags.
#[derive(clap::Args, Default)]
pub(crate) struct StoreArgs {
    /// Where the database, videos and signing key live [env: REEL_DATA_DIR] [default: ./data]
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Storage backend [env: REEL_BACKEND] [default: local]
    #[arg(long, value_enum)]
    backend: Option<Backend>,
}

impl StoreArgs {
    /// Applies `--data-dir` to `config` and picks the backend (flags over `REEL_*`).
    pub(crate) fn resolve(&self, config: &mut Config) -> anyhow::Result<Backend> {
        if let Some(dir) = &self.data_dir {
            config.data_dir = dir.clone();
        }
        match self.backend {
            Some(backend) => Ok(backend),
            None => backend_from_env(),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    let command = Cli::parse()
        .command
        .unwrap_or(Command::Serve(ServeArgs::default()));
    let mut config = Config::from_env()?;
    let args = match command {
        Command::Serve(args) => args,
        Command::Provision => {
            reel_core::telemetry::init(config.log_json);
            AwsHost::from_env(&config).await?.provision().await?;
            return Ok(std::process::ExitCode::SUCCESS);
        }
        Command::Deletions(command) => return Ok(admin::deletions(command, config).await),
        Command::Users(command) => return Ok(admin::users(command, config).await),
    };
    config.addr = args.addr.unwrap_or(config.addr);
    let backend = args.store.resolve(&mut config)?;
    config.stream_concurrency = args.stream_concurrency.unwrap_or(config.stream_concurrency);
    config.deletion_interval_secs = args
        .deletion_interval
        .unwrap_or(config.deletion_interval_secs);
    config.check()?;
    reel_core::telemetry::init(config.log_json);
    let shutdown = reel_server::site::shutdown_signal();
    match backend {
        Backend::Local => reel_server::site::serve(&config, shutdown).await?,
        Backend::Aws => {
            if config.cursor_key.is_none() {
                std::fs::create_dir_all(&config.data_dir)?;
                config.cursor_key = Some(reel_embedded::load_or_create_key(&config.data_dir)?);
            }
            let host = AwsHost::from_env(&config).await?;
            if args.provision {
                host.provision().await?;
            }
            reel_server::site::serve_site(&config, host.site()?, shutdown).await?
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn backend_from_env() -> anyhow::Result<Backend> {
    match std::env::var("REEL_BACKEND").ok().as_deref() {
        None | Some("local") => Ok(Backend::Local),
        Some("aws") => Ok(Backend::Aws),
        Some(other) => anyhow::bail!("REEL_BACKEND must be local or aws, not {other:?}"),
    }
}
