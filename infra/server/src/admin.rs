//! The operator's commands: `reel deletions status|redrive`, `reel users disable|enable`.
//! They act on the same storage as `reel serve` (a running server's data directory, or
//! the AWS resources `REEL_*` names) through `reel_core::ops`. What they did goes to standard
//! output, errors to standard error; the exit code says which:
//! 0 done, 1 failed (storage unreachable, ...), 2 bad usage, 3 no such user.

use clap::Subcommand;
use reel_core::domain::UserName;
use reel_core::ops::{AccountChange, Operations};
use reel_core::settings::{Backend, Settings};
use std::process::ExitCode;

#[derive(Subcommand)]
pub(crate) enum DeletionsCommand {
    /// Deletions pending in the queue, in flight, dead-lettered, and unfinished.
    Status,
    /// Send every dead letter back to the deletion queue (after fixing the cause).
    Redrive,
}

#[derive(Subcommand)]
pub(crate) enum UsersCommand {
    /// Sign every session of the account out and refuse its sign-ins.
    Disable {
        /// The user name.
        name: String,
    },
    /// Allow a disabled account to sign in again.
    Enable {
        /// The user name.
        name: String,
    },
}

const FAILED: u8 = 1;
const USAGE: u8 = 2;
const NO_SUCH_USER: u8 = 3;

pub(crate) async fn deletions(command: DeletionsCommand, settings: Settings) -> ExitCode {
    let ops = match operations(&settings).await {
        Ok(ops) => ops,
        Err(e) => return failed(e),
    };
    match command {
        DeletionsCommand::Status => match ops.deletion_status().await {
            Ok(status) => println!("{status}"),
            Err(e) => return failed(e.context("reading the deletion pipeline's state")),
        },
        DeletionsCommand::Redrive => match ops.redrive_deletions().await {
            Ok(0) => println!("no dead letters: nothing to redrive"),
            Ok(n) => println!("redrove {n} dead letter(s) into the deletion queue"),
            Err(e) => return failed(e.context("redriving dead letters")),
        },
    }
    ExitCode::SUCCESS
}

pub(crate) async fn users(command: UsersCommand, settings: Settings) -> ExitCode {
    let (raw, disable) = match &command {
        UsersCommand::Disable { name } => (name, true),
        UsersCommand::Enable { name } => (name, false),
    };
    let name = match UserName::parse(raw) {
        Ok(name) => name,
        Err(e) => {
            eprintln!("error: {raw:?} is not a user name: {}", e.0);
            return ExitCode::from(USAGE);
        }
    };
    let ops = match operations(&settings).await {
        Ok(ops) => ops,
        Err(e) => return failed(e),
    };
    match ops.set_disabled(&name, disable).await {
        Ok(AccountChange::NoSuchUser) => {
            eprintln!("error: no user named {name}");
            ExitCode::from(NO_SUCH_USER)
        }
        Ok(AccountChange::Done { sessions_ended }) if disable => {
            println!(
                "disabled {name}: {sessions_ended} session(s) signed out; sign-in is refused until `reel users enable {name}`"
            );
            ExitCode::SUCCESS
        }
        Ok(AccountChange::Done { .. }) => {
            println!("enabled {name}: sign-in is allowed again");
            ExitCode::SUCCESS
        }
        Err(e) => failed(e.context(format!("changing user {name}"))),
    }
}

/// The ports of the chosen backend.
async fn operations(settings: &Settings) -> anyhow::Result<Operations> {
    match settings.server.backend {
        Backend::Local => reel_server::site::operations(settings),
        Backend::Aws => Ok(reel_server::aws::AwsHost::from_settings(settings)
            .await?
            .operations()),
    }
}

fn failed(e: anyhow::Error) -> ExitCode {
    eprintln!("error: {e:#}");
    ExitCode::from(FAILED)
}
