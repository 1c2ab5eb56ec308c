//! The functions' output: JSON log lines (Lambda's JSON log format) and EMF metric lines, both
//! from tracing events, to writers that tests can replace.
//!
//! Like lambda_http's `init_default_subscriber` it reads Lambda's advanced logging controls:
//! `AWS_LAMBDA_LOG_FORMAT=JSON` gives one JSON object per line, `AWS_LAMBDA_LOG_LEVEL` (else
//! `RUST_LOG`, which may also name targets, else `info`) sets the level. It adds what an
//! on-call engineer's queries need: the event's fields at the top level of the line (`filter
//! event_id = "..."` in Logs Insights), an RFC 3339 `timestamp` (Lambda reads the level of a
//! line only when it also has a valid timestamp), FATAL read as ERROR, and the metric lines,
//! which no log level filters out.
//!
//! The level applies to this project's code only ([`OWN_TARGETS`]). Everything else (the
//! Lambda runtime, the AWS SDK, hyper, h2, rustls, tower, `log` records) is capped at INFO
//! whatever the setting: at DEBUG and TRACE those crates print raw events, request and
//! response bodies and headers, which carry the custom header token and personal data. The
//! cap is a second filter beside the level's, so it holds for any `RUST_LOG` too.

use crate::config::ConfigError;
use crate::metrics::{self, EmfFormat, EmfLayer, COLD_START_TARGET, DELIVERY_TARGET};
use lambda_http::tracing::subscriber as tracing_subscriber;
use serde_json::Value;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use tracing::instrument::WithSubscriber;
use tracing::Dispatch;
use tracing::{Level, Metadata};
use tracing_subscriber::filter::{filter_fn, EnvFilter, FilterExt, LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

pub const LOG_FORMAT: &str = "AWS_LAMBDA_LOG_FORMAT";
pub const LOG_LEVEL: &str = "AWS_LAMBDA_LOG_LEVEL";
pub const RUST_LOG: &str = "RUST_LOG";

/// The targets (crate names, each followed by nothing or `::`) the configured level applies
/// to: the shared crate, its metric targets (`engage-webhooks/...`) and the function crates.
/// Any other target logs at most INFO.
const OWN_TARGETS: [&str; 7] = [
    "engage_webhooks",
    "engage-webhooks",
    "contact",
    "consent",
    "loyalty",
    "promotion",
    "relay",
];

/// Whether a line passes the cap on other crates: INFO or more severe, or from our own code.
fn within_cap(meta: &Metadata<'_>) -> bool {
    *meta.level() <= Level::INFO || is_own(meta.target())
}

fn is_own(target: &str) -> bool {
    OWN_TARGETS.iter().any(|own| {
        target
            .strip_prefix(own)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::") || rest.starts_with('/'))
    })
}

/// How the function writes logs and metrics, read once at cold start.
#[derive(Debug, Clone)]
pub struct Telemetry {
    json: bool,
    /// `EnvFilter` directives for the log lines.
    directives: String,
    emf: EmfFormat,
}

impl Telemetry {
    /// From the environment; an invalid `ENGAGE_METRICS_NAMESPACE` is a configuration error.
    pub fn from_env() -> Result<Telemetry, ConfigError> {
        Telemetry::from_lookup(|var| std::env::var(var).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Telemetry, ConfigError> {
        let namespace = metrics::namespace(lookup(metrics::METRICS_NAMESPACE).as_deref())?;
        let lambda_level = lookup(LOG_LEVEL).filter(|l| !l.trim().is_empty());
        let directives = match (&lambda_level, lookup(RUST_LOG)) {
            (Some(level), _) => level_directive(level).to_string(),
            (None, Some(rust_log)) if EnvFilter::try_new(&rust_log).is_ok() => rust_log,
            _ => "info".to_string(),
        };
        Ok(Telemetry {
            json: lookup(LOG_FORMAT).is_some_and(|f| f.trim().eq_ignore_ascii_case("json")),
            directives,
            emf: EmfFormat::new(&namespace, lambda_level.as_deref()),
        })
    }

    /// As [`Telemetry::from_env`], but in the default namespace whatever the setting says:
    /// how a bad namespace setting still gets its cold start failure counted.
    pub fn default_from_env() -> Telemetry {
        Telemetry::from_lookup(|var| {
            (var != metrics::METRICS_NAMESPACE)
                .then(|| std::env::var(var).ok())
                .flatten()
        })
        .unwrap_or_else(|_| Telemetry::json("info", metrics::DEFAULT_NAMESPACE))
    }

    /// JSON logs at `level` (e.g. `info`), metrics in `namespace`: what tests and the
    /// benchmark use.
    pub fn json(level: &str, namespace: &str) -> Telemetry {
        Telemetry {
            json: true,
            directives: level_directive(level).to_string(),
            emf: EmfFormat::new(namespace, None),
        }
    }

    /// The subscriber writing log lines to `logs` and metric lines to `metrics`.
    pub fn dispatch<L, M>(&self, logs: L, metrics: M) -> Dispatch
    where
        L: for<'w> MakeWriter<'w> + Send + Sync + 'static,
        M: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        let filter = EnvFilter::try_new(&self.directives)
            .unwrap_or_else(|_| EnvFilter::new(LevelFilter::INFO.to_string()))
            .and(filter_fn(within_cap));
        let fmt = tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_writer(logs);
        let log_layer = if self.json {
            fmt.json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .with_filter(filter)
                .boxed()
        } else {
            fmt.without_time().with_filter(filter).boxed()
        };
        let emf_layer = EmfLayer::new(self.emf.clone(), metrics).with_filter(
            Targets::new()
                .with_target(DELIVERY_TARGET, LevelFilter::TRACE)
                .with_target(COLD_START_TARGET, LevelFilter::TRACE),
        );
        Dispatch::new(
            tracing_subscriber::registry()
                .with(log_layer)
                .with(emf_layer),
        )
    }

    /// Installs the subscriber for the process, both kinds of line to stdout.
    pub fn init(&self) {
        let _ = tracing::dispatcher::set_global_default(
            self.dispatch(std::io::stdout, std::io::stdout),
        );
    }

    /// Runs `fut` with its log and metric lines captured in memory instead (tests; concurrent
    /// captures do not see each other's lines).
    pub async fn capture<F: Future>(&self, fut: F) -> (F::Output, Captured) {
        keep_interest_per_dispatcher();
        let captured = Captured::default();
        let dispatch = self.dispatch(captured.logs.clone(), captured.metrics.clone());
        (fut.with_subscriber(dispatch).await, captured)
    }
}

/// tracing caches whether each log statement is wanted. While only one subscriber exists it
/// asks just the thread's current one, so a statement first reached where no subscriber is
/// current (a test delivering outside a capture, while another test's capture exists) would
/// stay off in every later capture. A second, inert subscriber that lives as long as the
/// process makes tracing ask each subscriber at each statement instead. Tests only: a
/// function has its one global subscriber, whose cached answers are right, and asking at each
/// of the SDK's many trace statements would cost.
fn keep_interest_per_dispatcher() {
    static INERT: OnceLock<Dispatch> = OnceLock::new();
    INERT.get_or_init(|| Dispatch::new(tracing_subscriber::registry()));
}

/// The `EnvFilter` directive of one of Lambda's levels (`TRACE` ... `FATAL`), INFO if unknown.
fn level_directive(level: &str) -> &'static str {
    match level.trim().to_ascii_lowercase().as_str() {
        "trace" => "trace",
        "debug" => "debug",
        "warn" | "warning" => "warn",
        "error" | "fatal" => "error",
        "off" => "off",
        _ => "info",
    }
}

/// Lines written to memory.
#[derive(Debug, Clone, Default)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

/// What a [`Telemetry::capture`] run printed.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    pub logs: Buffer,
    pub metrics: Buffer,
}

impl Captured {
    /// Each log line as JSON (a line that is not JSON is a test failure).
    pub fn log_lines(&self) -> Vec<Value> {
        json_lines(&self.logs.text())
    }

    /// Each metric line as JSON.
    pub fn metric_lines(&self) -> Vec<Value> {
        json_lines(&self.metrics.text())
    }

    /// Everything printed, logs and metrics.
    pub fn text(&self) -> String {
        self.logs.text() + &self.metrics.text()
    }
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Telemetry, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Telemetry::from_lookup(move |var| {
            pairs.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone())
        })
    }

    async fn one_of_each(t: &Telemetry) -> Captured {
        t.capture(async {
            tracing::debug!("debug detail");
            tracing::event!(target: DELIVERY_TARGET, tracing::Level::INFO, family = "loyalty", event_type = "loyalty.addPoints", reason = "processed", status = 200u16, duration_ms = 1.5, aws_calls = 3u32, event_age_ms = 20i64, "delivery handled");
            tracing::warn!(reason = "x", "a warning");
        })
        .await
        .1
    }

    #[tokio::test]
    async fn lambdas_level_rules_the_log_lines_and_never_the_metrics() {
        let t = settings(&[
            (LOG_FORMAT, "JSON"),
            (LOG_LEVEL, "WARN"),
            (RUST_LOG, "debug"),
        ])
        .unwrap();
        let out = one_of_each(&t).await;
        let logs = out.log_lines();
        assert_eq!(logs.len(), 1, "{logs:?}");
        assert_eq!(logs[0]["level"], "WARN");
        assert_eq!(logs[0]["message"], "a warning");
        assert_eq!(logs[0]["reason"], "x", "fields are top-level");
        assert!(logs[0]["timestamp"].as_str().unwrap().ends_with('Z'));
        let metrics = out.metric_lines();
        assert_eq!(metrics.len(), 1);
        assert_eq!(metrics[0]["level"], "WARN", "raised so Lambda keeps it");
        assert_eq!(metrics[0]["EventAge"], 20);
        assert_eq!(metrics[0]["AwsCalls"], 3);
        assert_eq!(metrics[0]["Latency"], 1.5);
    }

    #[tokio::test]
    async fn rust_log_applies_without_lambdas_level_and_fatal_is_error() {
        let t = settings(&[(LOG_FORMAT, "json"), (RUST_LOG, "debug")]).unwrap();
        assert_eq!(one_of_each(&t).await.log_lines().len(), 3);
        let t = settings(&[(LOG_FORMAT, "json")]).unwrap();
        assert_eq!(one_of_each(&t).await.log_lines().len(), 2);
        let t = settings(&[(LOG_FORMAT, "json"), (LOG_LEVEL, "FATAL")]).unwrap();
        let out = one_of_each(&t).await;
        assert!(out.log_lines().is_empty());
        assert_eq!(out.metric_lines()[0]["level"], "FATAL");
    }

    #[tokio::test]
    async fn without_lambdas_json_format_logs_are_text_and_metrics_stay_json() {
        let out = one_of_each(&settings(&[]).unwrap()).await;
        let text = out.logs.text();
        assert!(
            text.contains("delivery handled") && !text.starts_with('{'),
            "{text}"
        );
        assert_eq!(
            out.metric_lines()[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "EngageWebhooks"
        );
    }

    #[tokio::test]
    async fn the_level_applies_to_our_crates_and_other_crates_stay_at_info() {
        for pairs in [
            &[(LOG_FORMAT, "JSON"), (LOG_LEVEL, "TRACE")][..],
            &[
                (LOG_FORMAT, "JSON"),
                (RUST_LOG, "trace,hyper=trace,aws_smithy_runtime=trace"),
            ],
        ] {
            let t = settings(pairs).unwrap();
            let out = t
                .capture(async {
                    tracing::trace!(target: "lambda_runtime::layers", "raw event");
                    tracing::debug!(target: "aws_smithy_runtime::client", "request body");
                    tracing::trace!(target: "hyper::proto", "bytes");
                    tracing::trace!(target: "engage_webhooksx", "a look-alike crate");
                    tracing::info!(target: "aws_config::profile", "sdk info");
                    tracing::trace!(target: "engage_webhooks::receive", "our trace");
                    tracing::debug!(target: "loyalty", "function debug");
                })
                .await
                .1;
            let messages: Vec<String> = out
                .log_lines()
                .iter()
                .map(|l| l["message"].as_str().unwrap_or_default().to_string())
                .collect();
            assert_eq!(
                messages,
                ["sdk info", "our trace", "function debug"],
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn a_bad_namespace_is_a_configuration_error() {
        let err = settings(&[(metrics::METRICS_NAMESPACE, "AWS/Lambda")]).unwrap_err();
        assert!(err.to_string().contains(metrics::METRICS_NAMESPACE));
        let ok = settings(&[(metrics::METRICS_NAMESPACE, "EngageWebhooks/s")]).unwrap();
        assert!(format!("{:?}", ok.emf).contains("EngageWebhooks/s"));
    }
}
