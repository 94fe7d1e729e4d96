//! `reel`: the whole site in one process. `cargo run --release` at the workspace root
//! runs `reel serve` with the defaults: embedded storage (SQLite + files) in `./data`.
//! `--backend aws` runs the same site on DynamoDB, S3 and SQS (or an emulator named by
//! `AWS_ENDPOINT_URL`). `reel deletions ...` and `reel users ...` are the operator's
//! commands (see `admin.rs`). Every setting is a flag and a `REEL_*` variable
//! (`reel serve --help` lists them with their defaults).

mod admin;

/// mimalloc, not glibc's malloc: requests allocate on one worker thread and free on
/// another, and glibc's arena locks were the largest item of a listing's profile.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use reel_core::settings::{Backend, CursorKey, Settings};
use reel_server::aws::AwsHost;

#[derive(Parser)]
#[command(name = "reel", version, about = "Reel video sharing in one process")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Flags override the REEL_* variables, which override the defaults.
    #[command(flatten)]
    settings: Settings,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the site (the default).
    Serve {
        /// With `--backend aws`: first create any missing table, index, bucket and queue.
        #[arg(long)]
        provision: bool,
    },
    /// Create the AWS tables, bucket and queues that are missing, then exit
    /// (--table-prefix, --bucket and --deletion-queue name them).
    Provision,
    /// Inspect and repair the deletion pipeline.
    #[command(subcommand)]
    Deletions(admin::DeletionsCommand),
    /// Manage accounts.
    #[command(subcommand)]
    Users(admin::UsersCommand),
}

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    let Cli { command, settings } = Cli::parse();
    let provision = match command.unwrap_or(Command::Serve { provision: false }) {
        Command::Serve { provision } => provision,
        Command::Provision => {
            reel_core::telemetry::init(&settings);
            AwsHost::from_settings(&settings).await?.provision().await?;
            return Ok(std::process::ExitCode::SUCCESS);
        }
        Command::Deletions(command) => return Ok(admin::deletions(command, settings).await),
        Command::Users(command) => return Ok(admin::users(command, settings).await),
    };
    serve(settings, provision).await?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn serve(mut settings: Settings, provision: bool) -> anyhow::Result<()> {
    reel_core::telemetry::init(&settings);
    let shutdown = reel_server::site::shutdown_signal();
    match settings.server.backend {
        Backend::Local => reel_server::site::serve(&settings, shutdown).await,
        Backend::Aws => {
            if settings.api.cursor_key.is_none() {
                let dir = &settings.server.data_dir;
                reel_embedded::private_dir(dir)?;
                settings.api.cursor_key = Some(CursorKey(reel_embedded::load_or_create_key(dir)?));
            }
            let host = AwsHost::from_settings(&settings).await?;
            if provision {
                host.provision().await?;
            }
            reel_server::site::serve_site(&settings, host.site()?, shutdown).await
        }
    }
}
