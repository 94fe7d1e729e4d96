//! Business and latency metrics as CloudWatch Embedded Metric Format (EMF): one JSON
//! object per line on standard output, which CloudWatch Logs turns into metrics as it
//! ingests the function's log stream.
//!
//! Why EMF rather than `PutMetricData`: a metric costs one `write` to a pipe Lambda
//! already reads — no API call on the request path, no added latency or failure mode,
//! no CloudWatch client linked into the binaries, and no `cloudwatch:PutMetricData`
//! permission (the execution role's log permissions suffice). The line stays in the log
//! too, so Logs Insights can query it beside the request's other lines.
//!
//! Configuration ([`MetricsSettings`], set once per process by [`init`]):
//! - `REEL_METRICS_NAMESPACE` (the template sets `Reel-<Stage>`): the namespace. Unset
//!   or empty — the local server, tests — nothing is printed (stdout stays clean).
//! - `REEL_FUNCTION` (the template sets `users`, `sessions`, ..., `deletion-worker`):
//!   the value of the one dimension, `Function`; `local` when unset.
//!
//! Every metric has the dimension set `[["Function"]]`, so a dashboard or alarm names a
//! metric by namespace, metric name and `Function` alone. Latency has a second one,
//! `["Function", "Route"]` (the route template: a bounded set), for p50/p99 per route. Whether printed or
//! not, every value is added to a process-wide total ([`total`]) that tests read.

use crate::settings::MetricsSettings;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The one dimension every metric carries.
pub const DIMENSION: &str = "Function";
/// Latency's second dimension: the route template (`/user/{user_name}`, `unmatched`).
pub const ROUTE: &str = "Route";

/// What the code measures. Names are the CloudWatch metric names ([`Metric::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// An account created (`users`).
    SignUps,
    /// A sign-in answered 401: wrong password, unknown user, or a name or password that
    /// cannot be valid (`sessions`). Throttled attempts (429) are not counted: they are
    /// refused before any password is checked, and show as the API's 4xx.
    SignInFailures,
    /// An upload URL handed out (`videos`).
    UploadGrants,
    /// A video made ready by its uploaded object (`video-events`; S3 notifications are
    /// at least once, so a redelivered event may count again).
    UploadsCompleted,
    /// A 307 to a signed streaming URL (`stream`).
    StreamRedirects,
    /// A comment posted (`comments`).
    Comments,
    /// Deletions finished, per worker batch (`deletion-worker`).
    DeletionsDone,
    /// Deletions failed and left for a retry, per worker batch (`deletion-worker`).
    DeletionsFailed,
    /// Time from request to response head in an HTTP function, in milliseconds, per
    /// function and per route (status and request id ride along as properties).
    Latency,
}

impl Metric {
    pub const ALL: [Metric; 9] = [
        Metric::SignUps,
        Metric::SignInFailures,
        Metric::UploadGrants,
        Metric::UploadsCompleted,
        Metric::StreamRedirects,
        Metric::Comments,
        Metric::DeletionsDone,
        Metric::DeletionsFailed,
        Metric::Latency,
    ];

    /// The CloudWatch metric name.
    pub fn name(self) -> &'static str {
        match self {
            Metric::SignUps => "SignUps",
            Metric::SignInFailures => "SignInFailures",
            Metric::UploadGrants => "UploadGrants",
            Metric::UploadsCompleted => "UploadsCompleted",
            Metric::StreamRedirects => "StreamRedirects",
            Metric::Comments => "Comments",
            Metric::DeletionsDone => "DeletionsDone",
            Metric::DeletionsFailed => "DeletionsFailed",
            Metric::Latency => "Latency",
        }
    }

    /// The CloudWatch unit.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::Latency => "Milliseconds",
            _ => "Count",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Adds `n` to a counting metric.
pub fn count(metric: Metric, n: u64) {
    debug_assert_eq!(metric.unit(), "Count", "{metric:?} is not a count");
    totals::add(metric, n);
    emit(metric, n as f64, &[]);
}

/// Records one request's latency, with its route template (also a dimension), status and
/// request id as properties (searchable in Logs Insights; as dimensions they would
/// multiply the number of billed metrics).
pub fn latency(ms: f64, route: &str, status: u16, request_id: Option<&str>) {
    totals::add(Metric::Latency, 1);
    let mut properties = vec![(ROUTE, json!(route)), ("Status", json!(status))];
    if let Some(id) = request_id {
        properties.push(("RequestId", json!(id)));
    }
    emit(Metric::Latency, ms, &properties);
}

pub use totals::total;

/// Process-wide totals of what was recorded, whether or not lines are printed: what
/// the metric tests compare (one relaxed atomic add per value).
mod totals {
    use super::Metric;
    use std::sync::atomic::{AtomicU64, Ordering};

    static TOTALS: [AtomicU64; Metric::ALL.len()] =
        [const { AtomicU64::new(0) }; Metric::ALL.len()];

    pub(super) fn add(metric: Metric, n: u64) {
        TOTALS[metric.index()].fetch_add(n, Ordering::Relaxed);
    }

    /// What this process has recorded so far: the sum of a count, or the number of
    /// latency observations, whether or not metrics are printed.
    pub fn total(metric: Metric) -> u64 {
        TOTALS[metric.index()].load(Ordering::Relaxed)
    }
}

/// Where lines go: `None` when no namespace is configured.
struct Sink {
    namespace: String,
    function: String,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Prints metric lines from now on if `settings` name a namespace. Once per process
/// (`telemetry::init` calls it); a later call changes nothing.
pub fn init(settings: &MetricsSettings) {
    if let Some(sink) = sink_from(settings) {
        let _ = SINK.set(sink);
    }
}

fn sink() -> Option<&'static Sink> {
    SINK.get()
}

fn sink_from(settings: &MetricsSettings) -> Option<Sink> {
    let namespace = settings
        .metrics_namespace
        .clone()
        .filter(|ns| !ns.trim().is_empty())?;
    let function = Some(settings.function.clone())
        .filter(|f| !f.trim().is_empty())
        .unwrap_or_else(|| "local".to_owned());
    Some(Sink {
        namespace,
        function,
    })
}

fn emit(metric: Metric, value: f64, properties: &[(&str, Value)]) {
    let Some(sink) = sink() else { return };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut line = emf_line(
        &sink.namespace,
        &sink.function,
        metric,
        value,
        now,
        properties,
    );
    line.push('\n');
    // One `write_all` under the lock: lines of concurrent requests never interleave.
    // A metric is not worth failing a request for, so errors are ignored.
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.flush();
}

/// One EMF document (without the newline): `value` of `metric` with dimension
/// `Function = function` in `namespace`, at `timestamp_ms` (milliseconds since the Unix
/// epoch), plus `properties` as top-level members that are not metrics.
pub fn emf_line(
    namespace: &str,
    function: &str,
    metric: Metric,
    value: f64,
    timestamp_ms: u64,
    properties: &[(&str, Value)],
) -> String {
    // A latency with its route is also a metric per route: a second dimension set.
    let by_route = metric == Metric::Latency && properties.iter().any(|(k, _)| *k == ROUTE);
    let dimensions = if by_route {
        json!([[DIMENSION], [DIMENSION, ROUTE]])
    } else {
        json!([[DIMENSION]])
    };
    // Properties first, so none can overwrite the directive, dimension or value.
    let mut doc: Map<String, Value> = properties
        .iter()
        .map(|(key, property)| ((*key).to_owned(), property.clone()))
        .collect();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": dimensions,
                "Metrics": [{ "Name": metric.name(), "Unit": metric.unit() }],
            }],
        }),
    );
    doc.insert(DIMENSION.into(), json!(function));
    doc.insert(metric.name().into(), number(value));
    Value::Object(doc).to_string()
}

/// Whole values as JSON integers (`1`, not `1.0`); others as they are. A non-finite
/// value, which JSON cannot carry, becomes 0.
fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9_007_199_254_740_992.0 {
        json!(value as i64)
    } else {
        serde_json::Number::from_f64(value).map_or(json!(0), Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Value {
        assert!(!line.contains('\n'), "one line: {line}");
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn a_count_is_an_emf_document() {
        let line = emf_line(
            "Reel-dev",
            "users",
            Metric::SignUps,
            1.0,
            1_700_000_000_123,
            &[],
        );
        let doc = parse(&line);
        let aws = &doc["_aws"];
        assert_eq!(aws["Timestamp"], 1_700_000_000_123u64);
        let directives = aws["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 1);
        assert_eq!(directives[0]["Namespace"], "Reel-dev");
        assert_eq!(directives[0]["Dimensions"], json!([["Function"]]));
        assert_eq!(
            directives[0]["Metrics"],
            json!([{"Name": "SignUps", "Unit": "Count"}])
        );
        assert_eq!(doc["Function"], "users");
        // An integer, as the EMF examples have it.
        assert_eq!(doc["SignUps"], json!(1));
        assert!(doc["SignUps"].is_u64());
        // Nothing else at the top level.
        assert_eq!(doc.as_object().unwrap().len(), 3, "{line}");
    }

    #[test]
    fn latency_is_in_milliseconds_per_function_and_route() {
        let properties = [
            ("Route", json!("/user/{user_name}")),
            ("Status", json!(201)),
            ("RequestId", json!("abc")),
        ];
        let line = emf_line(
            "Reel-prod",
            "sessions",
            Metric::Latency,
            12.5,
            1,
            &properties,
        );
        let doc = parse(&line);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Reel-prod");
        assert_eq!(
            directive["Dimensions"],
            json!([["Function"], ["Function", "Route"]])
        );
        assert_eq!(directive["Metrics"][0]["Name"], "Latency");
        assert_eq!(directive["Metrics"][0]["Unit"], "Milliseconds");
        assert_eq!(doc["Latency"].as_f64(), Some(12.5));
        assert_eq!(doc["Function"], "sessions");
        assert_eq!(doc["Route"], "/user/{user_name}");
        assert_eq!(doc["Status"], 201);
        assert_eq!(doc["RequestId"], "abc");
    }

    #[test]
    fn the_dimension_and_value_win_over_a_clashing_property() {
        let properties = [
            ("Function", json!("forged")),
            ("Comments", json!(99)),
            ("_aws", json!(null)),
        ];
        let doc = parse(&emf_line(
            "ns",
            "comments",
            Metric::Comments,
            2.0,
            1,
            &properties,
        ));
        assert_eq!(doc["Function"], "comments");
        assert_eq!(doc["Comments"], 2);
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "ns");
    }

    #[test]
    fn strings_are_escaped() {
        let doc = parse(&emf_line(
            "ns\"\n",
            "f\\",
            Metric::Latency,
            1.0,
            1,
            &[("Route", json!("/a\"b\n"))],
        ));
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "ns\"\n");
        assert_eq!(doc["Function"], "f\\");
        assert_eq!(doc["Route"], "/a\"b\n");
    }

    #[test]
    fn names_and_units() {
        let names: Vec<_> = Metric::ALL.iter().map(|m| (m.name(), m.unit())).collect();
        assert_eq!(
            names,
            [
                ("SignUps", "Count"),
                ("SignInFailures", "Count"),
                ("UploadGrants", "Count"),
                ("UploadsCompleted", "Count"),
                ("StreamRedirects", "Count"),
                ("Comments", "Count"),
                ("DeletionsDone", "Count"),
                ("DeletionsFailed", "Count"),
                ("Latency", "Milliseconds"),
            ]
        );
        for (i, metric) in Metric::ALL.iter().enumerate() {
            assert_eq!(metric.index(), i);
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(number(0.0), json!(0));
        assert_eq!(number(3.0), json!(3));
        assert_eq!(number(0.25), json!(0.25));
        assert_eq!(number(f64::NAN), json!(0));
        assert_eq!(number(f64::INFINITY), json!(0));
    }

    #[test]
    fn configuration() {
        let settings = |namespace: Option<&str>, function: &str| MetricsSettings {
            metrics_namespace: namespace.map(str::to_owned),
            function: function.to_owned(),
        };
        let defaults = crate::settings::Settings::default().metrics;
        assert!(sink_from(&defaults).is_none());
        assert!(sink_from(&settings(Some(" "), "users")).is_none());
        let sink = sink_from(&settings(Some("Reel-dev"), &defaults.function)).unwrap();
        assert_eq!(
            (sink.namespace.as_str(), sink.function.as_str()),
            ("Reel-dev", "local")
        );
        let sink = sink_from(&settings(Some("Reel-dev"), "deletion-worker")).unwrap();
        assert_eq!(sink.function, "deletion-worker");
    }

    #[test]
    fn counts_are_totalled() {
        // Other unit tests may count too (in parallel): only an increase is certain.
        let before = total(Metric::UploadsCompleted);
        count(Metric::UploadsCompleted, 3);
        assert!(total(Metric::UploadsCompleted) >= before + 3);
    }
}
