//! Typed configuration from `REEL_*` environment variables, checked at start-up so a
//! typo stops the process with a clear message instead of misbehaving later.

use anyhow::{bail, Context};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

#[derive(Debug, Clone)]
pub struct Config {
    /// `REEL_ADDR`: where the local server listens.
    pub addr: SocketAddr,
    /// `REEL_DATA_DIR`: SQLite database, video files and the signing key.
    pub data_dir: PathBuf,
    /// `REEL_STREAM_CONCURRENCY`: simultaneous responses of the byte-serving endpoint.
    pub stream_concurrency: usize,
    /// `REEL_SESSION_TTL_SECS`: how long a session stays valid.
    pub session_ttl_secs: i64,
    /// `REEL_MAX_UPLOAD_BYTES`: the largest video accepted.
    pub max_upload_bytes: u64,
    /// `REEL_UPLOAD_URL_TTL_SECS`: validity of an upload URL.
    pub upload_url_ttl_secs: i64,
    /// `REEL_STREAM_URL_TTL_SECS`: validity of a streaming URL.
    pub stream_url_ttl_secs: i64,
    /// `REEL_SIGN_IN_MAX_FAILURES`: failures tolerated per (user name, client address).
    pub sign_in_max_failures: u32,
    /// `REEL_SIGN_IN_WINDOW_SECS`: the window those failures are counted in.
    pub sign_in_window_secs: i64,
    /// `REEL_REQUEST_TIMEOUT_SECS`: limit for API requests (not for byte transfers).
    pub request_timeout_secs: u64,
    /// `REEL_HEADER_READ_TIMEOUT_SECS`: the local server closes a connection whose request
    /// head has not fully arrived in this time (slow-header attacks).
    pub header_read_timeout_secs: u64,
    /// `REEL_IDLE_TIMEOUT_SECS`: the local server closes a connection that moves no byte
    /// either way for this long: an idle keep-alive, or a client that stopped reading a
    /// response (which then frees its stream slot).
    pub idle_timeout_secs: u64,
    /// `REEL_MAX_CONNECTIONS`: open connections the local server serves at once; more
    /// wait in the listen backlog until one closes.
    pub max_connections: usize,
    /// `REEL_PUBLIC_URL`: the site's origin as clients see it (e.g. behind a proxy);
    /// when unset, URLs are built from the request's `Host`.
    pub public_url: Option<String>,
    /// `REEL_ORIGIN_SECRET`: set when the functions sit behind the template's optional
    /// CloudFront distribution and WAF. Requests must then carry it (CloudFront adds it)
    /// and only then are CloudFront's viewer address and host believed.
    pub origin_secret: Option<String>,
    /// `REEL_LOG_FORMAT`: `json` or `pretty` (default `json` on Lambda, else `pretty`).
    pub log_json: bool,
    /// `REEL_DELETION_INTERVAL_SECS`: how often the local dispatcher runs.
    pub deletion_interval_secs: u64,
    /// `REEL_DELETION_GRACE_SECS`: a dispatched record still pending this long is re-sent.
    pub deletion_grace_secs: i64,
    /// `REEL_QUEUE_VISIBILITY_SECS`: how long a received deletion stays hidden.
    pub queue_visibility_secs: i64,
    /// `REEL_QUEUE_MAX_RECEIVES`: receives before a deletion goes to the dead-letter queue.
    pub queue_max_receives: u32,
    /// `REEL_CURSOR_KEY`: 32 bytes, base64, that sign list cursors. Every Lambda function
    /// needs the same one; the local server keeps its own in the data directory.
    pub cursor_key: Option<[u8; 32]>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            stream_concurrency: 64,
            session_ttl_secs: 30 * 24 * 3600,
            max_upload_bytes: 2 * 1024 * 1024 * 1024,
            upload_url_ttl_secs: 3600,
            stream_url_ttl_secs: 600,
            sign_in_max_failures: 10,
            sign_in_window_secs: 15 * 60,
            request_timeout_secs: 30,
            header_read_timeout_secs: 10,
            idle_timeout_secs: 30,
            max_connections: 1024,
            public_url: None,
            origin_secret: None,
            log_json: false,
            deletion_interval_secs: 3,
            deletion_grace_secs: 600,
            queue_visibility_secs: 30,
            queue_max_receives: 5,
            cursor_key: None,
        }
    }
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Builds the config from any key lookup (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let d = Self::default();
        let lambda_json =
            get("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
        let log_json = match get("REEL_LOG_FORMAT").as_deref() {
            None => lambda_json,
            Some("json") => true,
            Some("pretty") => false,
            Some(other) => bail!("REEL_LOG_FORMAT must be json or pretty, not {other:?}"),
        };
        let public_url = get("REEL_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned());
        if let Some(url) = &public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("REEL_PUBLIC_URL must start with http:// or https://");
            }
        }
        let origin_secret = get("REEL_ORIGIN_SECRET").filter(|s| !s.is_empty());
        if origin_secret.as_ref().is_some_and(|s| s.len() < 32) {
            bail!("REEL_ORIGIN_SECRET must be at least 32 characters");
        }
        let config = Self {
            addr: parse(&get, "REEL_ADDR", d.addr)?,
            origin_secret,
            data_dir: get("REEL_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or(d.data_dir),
            stream_concurrency: parse(&get, "REEL_STREAM_CONCURRENCY", d.stream_concurrency)?,
            session_ttl_secs: parse(&get, "REEL_SESSION_TTL_SECS", d.session_ttl_secs)?,
            max_upload_bytes: parse(&get, "REEL_MAX_UPLOAD_BYTES", d.max_upload_bytes)?,
            upload_url_ttl_secs: parse(&get, "REEL_UPLOAD_URL_TTL_SECS", d.upload_url_ttl_secs)?,
            stream_url_ttl_secs: parse(&get, "REEL_STREAM_URL_TTL_SECS", d.stream_url_ttl_secs)?,
            sign_in_max_failures: parse(&get, "REEL_SIGN_IN_MAX_FAILURES", d.sign_in_max_failures)?,
            sign_in_window_secs: parse(&get, "REEL_SIGN_IN_WINDOW_SECS", d.sign_in_window_secs)?,
            request_timeout_secs: parse(&get, "REEL_REQUEST_TIMEOUT_SECS", d.request_timeout_secs)?,
            header_read_timeout_secs: parse(
                &get,
                "REEL_HEADER_READ_TIMEOUT_SECS",
                d.header_read_timeout_secs,
            )?,
            idle_timeout_secs: parse(&get, "REEL_IDLE_TIMEOUT_SECS", d.idle_timeout_secs)?,
            max_connections: parse(&get, "REEL_MAX_CONNECTIONS", d.max_connections)?,
            public_url,
            log_json,
            deletion_interval_secs: parse(
                &get,
                "REEL_DELETION_INTERVAL_SECS",
                d.deletion_interval_secs,
            )?,
            deletion_grace_secs: parse(&get, "REEL_DELETION_GRACE_SECS", d.deletion_grace_secs)?,
            queue_visibility_secs: parse(
                &get,
                "REEL_QUEUE_VISIBILITY_SECS",
                d.queue_visibility_secs,
            )?,
            queue_max_receives: parse(&get, "REEL_QUEUE_MAX_RECEIVES", d.queue_max_receives)?,
            cursor_key: get("REEL_CURSOR_KEY")
                .map(|raw| parse_key(&raw))
                .transpose()?,
        };
        config.check()?;
        Ok(config)
    }

    /// Refuses values that would make the server misbehave.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.stream_concurrency == 0 {
            bail!("stream concurrency must be at least 1");
        }
        for (name, value) in [
            ("REEL_SESSION_TTL_SECS", self.session_ttl_secs),
            ("REEL_UPLOAD_URL_TTL_SECS", self.upload_url_ttl_secs),
            ("REEL_STREAM_URL_TTL_SECS", self.stream_url_ttl_secs),
            ("REEL_SIGN_IN_WINDOW_SECS", self.sign_in_window_secs),
            ("REEL_DELETION_GRACE_SECS", self.deletion_grace_secs),
            ("REEL_QUEUE_VISIBILITY_SECS", self.queue_visibility_secs),
        ] {
            if value <= 0 {
                bail!("{name} must be positive");
            }
        }
        if self.max_upload_bytes == 0 || self.request_timeout_secs == 0 {
            bail!("REEL_MAX_UPLOAD_BYTES and REEL_REQUEST_TIMEOUT_SECS must be positive");
        }
        if self.header_read_timeout_secs == 0
            || self.idle_timeout_secs == 0
            || self.max_connections == 0
        {
            bail!("REEL_HEADER_READ_TIMEOUT_SECS, REEL_IDLE_TIMEOUT_SECS and REEL_MAX_CONNECTIONS must be positive");
        }
        if self.deletion_interval_secs == 0 || self.queue_max_receives == 0 {
            bail!("REEL_DELETION_INTERVAL_SECS and REEL_QUEUE_MAX_RECEIVES must be positive");
        }
        Ok(())
    }
}

/// A 32-byte key in base64 (standard or URL-safe, padding optional).
fn parse_key(raw: &str) -> anyhow::Result<[u8; 32]> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    use base64::Engine;
    let trimmed = raw.trim().trim_end_matches('=');
    let bytes = URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| STANDARD_NO_PAD.decode(trimmed))
        .context("REEL_CURSOR_KEY is not base64")?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("REEL_CURSOR_KEY must be 32 bytes (44 base64 characters)"))
}

fn parse<T>(get: &impl Fn(&str) -> Option<String>, key: &str, default: T) -> anyhow::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    match get(key) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .with_context(|| format!("{key}={raw:?} is not valid")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> anyhow::Result<Config> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_contract() {
        let c = from(&[]).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(c.stream_concurrency, 64);
        assert_eq!(c.session_ttl_secs, 30 * 24 * 3600);
        assert_eq!(c.max_upload_bytes, 2 << 30);
        assert_eq!((c.sign_in_max_failures, c.sign_in_window_secs), (10, 900));
        assert!(!c.log_json);
    }

    #[test]
    fn reads_and_checks_values() {
        let c = from(&[
            ("REEL_STREAM_CONCURRENCY", "3"),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ])
        .unwrap();
        assert_eq!(c.stream_concurrency, 3);
        assert!(c.log_json);
        assert!(from(&[("REEL_STREAM_CONCURRENCY", "0")]).is_err());
        assert!(from(&[("REEL_STREAM_CONCURRENCY", "many")]).is_err());
        assert!(from(&[("REEL_LOG_FORMAT", "xml")]).is_err());
        assert!(from(&[("REEL_PUBLIC_URL", "example.com")]).is_err());
        assert!(from(&[("REEL_SESSION_TTL_SECS", "-5")]).is_err());
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        assert_eq!(
            from(&[("REEL_CURSOR_KEY", key)])
                .unwrap()
                .cursor_key
                .unwrap()[31],
            31
        );
        assert!(from(&[("REEL_CURSOR_KEY", "c2hvcnQ=")]).is_err());
    }
}
