//! Every setting of every host, in one typed tree parsed once at start-up: each field
//! names its `REEL_*` variable and its default here and nowhere else, so `reel serve
//! --help` lists them all by itself, and a typo stops the process with a clear message
//! instead of misbehaving later. Flags (`--addr`, ...) override the variables on the
//! server's command line; a Lambda function reads only the environment
//! ([`Settings::from_env`]).

use crate::domain::TrustedProxies;
use anyhow::Context;
use clap::{Args, CommandFactory, FromArgMatches, Parser};
use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Args)]
pub struct Settings {
    #[command(flatten)]
    pub server: ServerSettings,
    #[command(flatten)]
    pub api: ApiSettings,
    #[command(flatten)]
    pub deletion: DeletionSettings,
    #[command(flatten)]
    pub aws: AwsSettings,
    #[command(flatten)]
    pub metrics: MetricsSettings,
    #[command(flatten)]
    pub log: LogSettings,
}

/// The one-process server (`reel serve`): where it listens and keeps its data, and the
/// bounds on its connections.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Server")]
pub struct ServerSettings {
    /// Address to listen on
    #[arg(
        long,
        env = "REEL_ADDR",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub addr: SocketAddr,
    /// Where the database, videos and signing key live
    #[arg(long, env = "REEL_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// Storage backend
    #[arg(long, env = "REEL_BACKEND", value_enum, default_value_t, global = true)]
    pub backend: Backend,
    /// Simultaneous byte-serving responses before 429
    #[arg(
        long,
        env = "REEL_STREAM_CONCURRENCY",
        default_value = "64",
        global = true
    )]
    pub stream_concurrency: NonZeroUsize,
    /// Seconds a request head may take to arrive (slow-header attacks)
    #[arg(long = "header-read-timeout-secs", env = "REEL_HEADER_READ_TIMEOUT_SECS",
        default_value = "10", value_parser = seconds, global = true)]
    pub header_read_timeout: Duration,
    /// Seconds a connection may move no byte either way (an idle keep-alive, or a
    /// client that stopped reading) before it is closed
    #[arg(long = "idle-timeout-secs", env = "REEL_IDLE_TIMEOUT_SECS", default_value = "30",
        value_parser = seconds, global = true)]
    pub idle_timeout: Duration,
    /// Open connections served at once; more wait in the listen backlog
    #[arg(
        long,
        env = "REEL_MAX_CONNECTIONS",
        default_value = "1024",
        global = true
    )]
    pub max_connections: NonZeroUsize,
    /// Open connections from one client address (an IPv6 client's /64) at once;
    /// trusted proxies are exempt. More are closed at once
    #[arg(
        long,
        env = "REEL_MAX_CONNECTIONS_PER_ADDRESS",
        default_value = "64",
        global = true
    )]
    pub max_connections_per_address: NonZeroUsize,
    /// Uploads are refused (503, retry later) while the data directory's disk has less
    /// than this many bytes free, counting uploads in progress: SQLite needs room
    #[arg(
        long,
        env = "REEL_MIN_FREE_DISK_BYTES",
        default_value = "1073741824",
        global = true
    )]
    pub min_free_disk_bytes: u64,
    /// Seconds between runs of the deletion dispatcher
    #[arg(long = "deletion-interval", env = "REEL_DELETION_INTERVAL_SECS", default_value = "3",
        value_parser = seconds, global = true)]
    pub deletion_interval: Duration,
}

/// What the API does, alike on every host.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "API")]
pub struct ApiSettings {
    /// Seconds an API request may take (not byte transfers)
    #[arg(long = "request-timeout-secs", env = "REEL_REQUEST_TIMEOUT_SECS",
        default_value = "30", value_parser = seconds, global = true)]
    pub request_timeout: Duration,
    /// The largest video accepted, in bytes
    #[arg(
        long,
        env = "REEL_MAX_UPLOAD_BYTES",
        default_value = "53687091200",
        global = true
    )]
    pub max_upload_bytes: NonZeroU64,
    /// Uploads up to this many bytes go in one signed PUT, larger ones in parts
    /// (at most 5 GiB, S3's largest PUT)
    #[arg(
        long,
        env = "REEL_MULTIPART_THRESHOLD_BYTES",
        default_value = "67108864",
        value_parser = single_put_limit,
        global = true
    )]
    pub multipart_threshold_bytes: NonZeroU64,
    /// Seconds a session stays valid
    #[arg(long = "session-ttl-secs", env = "REEL_SESSION_TTL_SECS", default_value = "2592000",
        value_parser = seconds, global = true)]
    pub session_ttl: Duration,
    /// Seconds an upload URL stays valid
    #[arg(long = "upload-url-ttl-secs", env = "REEL_UPLOAD_URL_TTL_SECS",
        default_value = "3600", value_parser = seconds, global = true)]
    pub upload_url_ttl: Duration,
    /// Seconds a streaming URL stays valid
    #[arg(long = "stream-url-ttl-secs", env = "REEL_STREAM_URL_TTL_SECS",
        default_value = "600", value_parser = seconds, global = true)]
    pub stream_url_ttl: Duration,
    /// Failed sign-ins tolerated per (user name, client address) in a window
    #[arg(
        long,
        env = "REEL_SIGN_IN_MAX_FAILURES",
        default_value = "10",
        global = true
    )]
    pub sign_in_max_failures: NonZeroU32,
    /// Seconds of the window failed sign-ins are counted in
    #[arg(long = "sign-in-window-secs", env = "REEL_SIGN_IN_WINDOW_SECS",
        default_value = "900", value_parser = seconds, global = true)]
    pub sign_in_window: Duration,
    /// Videos one user may have waiting for their bytes at once
    #[arg(
        long,
        env = "REEL_MAX_PENDING_VIDEOS",
        default_value = "20",
        global = true
    )]
    pub max_pending_videos: NonZeroU32,
    /// Bytes one user may have granted for upload and not yet received, over all their
    /// pending videos
    #[arg(
        long,
        env = "REEL_MAX_PENDING_UPLOAD_BYTES",
        default_value = "107374182400",
        global = true
    )]
    pub max_pending_upload_bytes: NonZeroU64,
    /// Reverse proxies (addresses and CIDR blocks, comma separated) whose
    /// X-Forwarded-For and X-Forwarded-Proto are believed; by default, nobody's
    #[arg(long, env = "REEL_TRUSTED_PROXIES", value_parser = trusted_proxies,
        default_value = "", global = true)]
    pub trusted_proxies: TrustedProxies,
    /// The site's origin as clients see it (behind a proxy); else the request's Host
    #[arg(long, env = "REEL_PUBLIC_URL", value_parser = public_url, global = true)]
    pub public_url: Option<String>,
    /// Behind the template's CloudFront distribution: the secret header its requests
    /// carry (32+ characters); only then are its viewer address and host believed
    #[arg(long, env = "REEL_ORIGIN_SECRET", value_parser = origin_secret, hide_env_values = true,
        global = true)]
    pub origin_secret: Option<String>,
    /// 32 bytes in base64 that sign list cursors; every Lambda function needs the same
    /// one (the server keeps its own in the data directory)
    #[arg(long, env = "REEL_CURSOR_KEY", value_parser = cursor_key, hide_env_values = true,
        global = true)]
    pub cursor_key: Option<CursorKey>,
}

impl ApiSettings {
    /// The origin secret, if one is set (an empty `REEL_ORIGIN_SECRET` is none).
    pub fn origin_secret(&self) -> Option<&str> {
        self.origin_secret.as_deref().filter(|s| !s.is_empty())
    }
}

/// The deletion pipeline.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Deletion pipeline")]
pub struct DeletionSettings {
    /// Seconds after which a dispatched deletion still pending is sent again
    #[arg(long = "deletion-grace-secs", env = "REEL_DELETION_GRACE_SECS", default_value = "600",
        value_parser = seconds, global = true)]
    pub grace: Duration,
    /// Seconds a received deletion stays hidden from other workers
    #[arg(long = "queue-visibility-secs", env = "REEL_QUEUE_VISIBILITY_SECS",
        default_value = "30", value_parser = seconds, global = true)]
    pub queue_visibility: Duration,
    /// Receives before a deletion moves to the dead-letter queue
    #[arg(
        long,
        env = "REEL_QUEUE_MAX_RECEIVES",
        default_value = "5",
        global = true
    )]
    pub queue_max_receives: NonZeroU32,
}

/// Where the AWS resources are (the template sets these per stack).
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(next_help_heading = "AWS resources (--backend aws, Lambda)")]
pub struct AwsSettings {
    /// Tables are `{prefix}-{table}`
    #[arg(long, env = "REEL_TABLE_PREFIX", default_value = "reel", global = true)]
    pub table_prefix: String,
    /// The video bucket
    #[arg(
        long,
        env = "REEL_BUCKET",
        default_value = "reel-videos",
        global = true
    )]
    pub bucket: String,
    /// The deletion queue; its dead-letter queue is `{name}-dlq`
    #[arg(
        long = "deletion-queue",
        env = "REEL_DELETION_QUEUE",
        default_value = "reel-deletions",
        global = true
    )]
    pub queue_name: String,
}

impl AwsSettings {
    /// The full name of the table named `name` in the schema.
    pub fn table(&self, name: &str) -> String {
        format!("{}-{name}", self.table_prefix)
    }

    pub fn dead_letter_queue_name(&self) -> String {
        format!("{}-dlq", self.queue_name)
    }
}

/// CloudWatch metrics (see `metrics`): printed only when a namespace is set.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Metrics")]
pub struct MetricsSettings {
    /// CloudWatch namespace of the metric lines (the template sets `Reel-<Stage>`);
    /// unset, none are printed
    #[arg(long, env = "REEL_METRICS_NAMESPACE", global = true)]
    pub metrics_namespace: Option<String>,
    /// The metrics' `Function` dimension
    #[arg(long, env = "REEL_FUNCTION", default_value = "local", global = true)]
    pub function: String,
}

/// Log lines (the filter is `RUST_LOG`, see `telemetry`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Logs")]
pub struct LogSettings {
    /// `json` or `pretty` [default: json on Lambda, else pretty]
    #[arg(long, env = "REEL_LOG_FORMAT", value_enum, global = true)]
    pub log_format: Option<LogFormat>,
    /// Lambda's own log format setting, the default for `log_format`
    #[arg(long, env = "AWS_LAMBDA_LOG_FORMAT", hide = true, global = true)]
    pub aws_lambda_log_format: Option<String>,
}

impl LogSettings {
    pub fn json(&self) -> bool {
        match self.log_format {
            Some(format) => format == LogFormat::Json,
            None => self
                .aws_lambda_log_format
                .as_deref()
                .is_some_and(|f| f.eq_ignore_ascii_case("json")),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// SQLite + files in the data directory
    #[default]
    Local,
    /// DynamoDB + S3 + SQS, wherever the AWS environment points
    Aws,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// A 32-byte key (`REEL_CURSOR_KEY`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CursorKey(pub [u8; 32]);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

/// Only the environment (and the defaults): what a Lambda function parses.
#[derive(Parser)]
struct FromEnv {
    #[command(flatten)]
    settings: Settings,
}

impl Settings {
    /// The defaults overridden by the `REEL_*` variables set. A bad value is refused
    /// with the variable's name (clap's own message names the flag).
    pub fn from_env() -> anyhow::Result<Self> {
        match FromEnv::try_parse_from(["reel"]) {
            Ok(parsed) => Ok(parsed.settings),
            Err(e) => {
                Err(anyhow::anyhow!(naming_the_variable(&e))).context("reading the REEL_* settings")
            }
        }
    }
}

impl Default for Settings {
    /// The defaults alone, whatever the environment says (tests start from these).
    fn default() -> Self {
        Settings::from_flags_alone(&[]).expect("the defaults parse")
    }
}

impl Settings {
    /// `flags` over the defaults, with every `REEL_*` variable ignored.
    fn from_flags_alone(flags: &[&str]) -> Result<Self, clap::Error> {
        let command = Settings::augment_args(clap::Command::new("reel"))
            .mut_args(|arg| arg.env(None::<&str>));
        let matches =
            command.try_get_matches_from(std::iter::once("reel").chain(flags.iter().copied()))?;
        Settings::from_arg_matches(&matches)
    }
}

/// `REEL_X=value is not valid: why` for an error clap reports against a flag.
fn naming_the_variable(error: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let context = |kind| match error.get(kind) {
        Some(ContextValue::String(text)) => Some(text.clone()),
        _ => None,
    };
    let flag = context(ContextKind::InvalidArg);
    let variable = flag.as_deref().and_then(|flag| {
        let long = flag.trim_start_matches("--").split(' ').next()?;
        let command = FromEnv::command();
        let arg = command
            .get_arguments()
            .find(|a| a.get_long() == Some(long))?;
        let name = arg.get_env()?.to_string_lossy().into_owned();
        Some((name, arg.is_hide_env_values_set()))
    });
    match (variable, context(ContextKind::InvalidValue)) {
        (Some((variable, secret)), Some(value)) => {
            let valid = match error.get(ContextKind::ValidValue) {
                Some(ContextValue::Strings(values)) => Some(values.join(", ")),
                _ => None,
            };
            let text = error.to_string();
            let first = text.lines().next().unwrap_or_default();
            let why = match (first.rsplit_once("': "), valid) {
                (Some((_, why)), _) => why.to_owned(),
                (None, Some(valid)) => format!("one of {valid}"),
                (None, None) => first.to_owned(),
            };
            if secret {
                format!("{variable} is not valid: {why}")
            } else {
                format!("{variable}={value:?} is not valid: {why}")
            }
        }
        _ => error.to_string().trim().to_owned(),
    }
}

/// Whole seconds, at least one.
fn seconds(raw: &str) -> Result<Duration, String> {
    match raw.trim().parse::<u64>() {
        Ok(0) => Err("must be at least 1 second".into()),
        Ok(secs) => Ok(Duration::from_secs(secs)),
        Err(e) => Err(format!("not a whole number of seconds: {e}")),
    }
}

/// The single-PUT threshold: 1 byte to 5 GiB (S3 takes no larger `PUT`).
fn single_put_limit(raw: &str) -> Result<NonZeroU64, String> {
    let bytes: u64 = raw
        .trim()
        .parse()
        .map_err(|e| format!("not a whole number of bytes: {e}"))?;
    if bytes > crate::domain::MAX_SINGLE_PUT {
        return Err("at most 5368709120 (5 GiB, S3's largest single PUT)".into());
    }
    NonZeroU64::new(bytes).ok_or_else(|| "must be at least 1 byte".into())
}

fn trusted_proxies(raw: &str) -> Result<TrustedProxies, String> {
    TrustedProxies::parse(raw).map_err(|e| e.to_string())
}

fn public_url(raw: &str) -> Result<String, String> {
    let url = raw.trim_end_matches('/');
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url.to_owned())
    } else {
        Err("must start with http:// or https://".into())
    }
}

/// Empty is accepted and means unset (see [`ApiSettings::origin_secret`]).
fn origin_secret(raw: &str) -> Result<String, String> {
    if raw.is_empty() || raw.len() >= 32 {
        Ok(raw.to_owned())
    } else {
        Err("must be at least 32 characters".into())
    }
}

/// A 32-byte key in base64 (standard or URL-safe, padding optional).
fn cursor_key(raw: &str) -> Result<CursorKey, String> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    use base64::Engine;
    let trimmed = raw.trim().trim_end_matches('=');
    let bytes = URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| STANDARD_NO_PAD.decode(trimmed))
        .map_err(|_| "not base64".to_owned())?;
    let key = bytes
        .try_into()
        .map_err(|_| "must be 32 bytes (44 base64 characters)".to_owned())?;
    Ok(CursorKey(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(flags: &[&str]) -> Result<Settings, clap::Error> {
        Settings::from_flags_alone(flags)
    }

    #[test]
    fn defaults_match_the_contract() {
        let s = Settings::default();
        assert_eq!(s.server.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.server.stream_concurrency.get(), 64);
        assert_eq!(s.server.backend, Backend::Local);
        assert_eq!(s.api.session_ttl, Duration::from_secs(30 * 24 * 3600));
        assert_eq!(s.api.max_upload_bytes.get(), 50 << 30);
        assert_eq!(s.api.multipart_threshold_bytes.get(), 64 << 20);
        assert_eq!(
            (s.api.sign_in_max_failures.get(), s.api.sign_in_window),
            (10, Duration::from_secs(900))
        );
        assert_eq!(s.aws.table("users"), "reel-users");
        assert_eq!(s.aws.dead_letter_queue_name(), "reel-deletions-dlq");
        assert_eq!(s.metrics.metrics_namespace, None);
        assert!(!s.log.json());
    }

    #[test]
    fn a_bad_value_is_refused_with_its_variable_and_a_secret_is_not_repeated() {
        let message = |args: &[&str]| {
            let error =
                FromEnv::try_parse_from(std::iter::once("reel").chain(args.iter().copied()))
                    .err()
                    .unwrap();
            naming_the_variable(&error)
        };
        assert_eq!(
            message(&["--session-ttl-secs", "0"]),
            "REEL_SESSION_TTL_SECS=\"0\" is not valid: must be at least 1 second"
        );
        assert_eq!(
            message(&["--backend", "s3"]),
            "REEL_BACKEND=\"s3\" is not valid: one of local, aws"
        );
        assert_eq!(
            message(&["--cursor-key", "c2hvcnQ="]),
            "REEL_CURSOR_KEY is not valid: must be 32 bytes (44 base64 characters)"
        );
    }

    #[test]
    fn reads_and_checks_values() {
        let s = from(&[
            "--stream-concurrency",
            "3",
            "--aws-lambda-log-format",
            "JSON",
        ])
        .unwrap();
        assert_eq!(s.server.stream_concurrency.get(), 3);
        assert!(s.log.json(), "Lambda's JSON format is the default");
        let pretty = from(&["--aws-lambda-log-format", "JSON", "--log-format", "pretty"]);
        assert!(!pretty.unwrap().log.json());
        for bad in [
            &["--stream-concurrency", "0"][..],
            &["--stream-concurrency", "many"],
            &["--log-format", "xml"],
            &["--public-url", "example.com"],
            &["--session-ttl-secs", "-5"],
            &["--session-ttl-secs", "0"],
            &["--origin-secret", "short"],
            &["--cursor-key", "c2hvcnQ="],
            &["--backend", "s3"],
        ] {
            assert!(from(bad).is_err(), "{bad:?} was accepted");
        }
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let s = from(&["--cursor-key", key]).unwrap();
        assert_eq!(s.api.cursor_key.unwrap().0[31], 31);
        assert_eq!(
            from(&["--origin-secret", ""]).unwrap().api.origin_secret(),
            None
        );
        let s = from(&["--public-url", "https://reel.example/"]).unwrap();
        assert_eq!(s.api.public_url.as_deref(), Some("https://reel.example"));
    }
}
