//! CloudWatch metrics in the embedded metric format (EMF): one JSON document per delivery, and
//! one when a cold start fails, printed as its own line on stdout. CloudWatch Logs extracts
//! the metrics from the log stream, so there is no CloudWatch API call, no extra permission
//! and nothing on the request's path but formatting one line.
//!
//! The documents come from the same tracing events as the log lines ([`crate::answer`] emits
//! one per delivery, [`crate::function::serve`] one per failed cold start): [`EmfLayer`] turns
//! them into EMF, whatever the log level, and writes them to its own writer (stdout in Lambda,
//! memory in tests). The contract (names, units, dimensions) is fixed; the template's alarms
//! and dashboard read exactly these:
//!
//! - dimensions `[["Family"]]`: `Deliveries` (1), `Processed` (0/1), `ServerErrors` (0/1:
//!   status >= 500), `Unauthorized` (0/1: status 401), `Refused` (0/1: signature verified and
//!   answered 4xx, except the transient `in_progress`), `Latency` (ms), `EventAge` (ms, only
//!   when known), `AwsCalls`;
//! - dimensions `[["Family","EventType","Outcome"]]`: `Deliveries` (1);
//! - a failed cold start: dimensions `[["Family"]]`, `ColdStartFailures` (1).
//!
//! Lambda's log-level filter treats a JSON line without `level` as INFO and drops it when the
//! function's application log level is WARN or stricter. A metric line therefore carries the
//! configured level when that is stricter than its own, so metrics never depend on how much
//! is logged.

use crate::config::ConfigError;
use std::fmt::{self, Write as _};
use std::io::Write as _;
use tracing::field::{Field, Visit};
use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};

use lambda_http::tracing::subscriber as tracing_subscriber;

/// The CloudWatch namespace of every metric (the template sets `EngageWebhooks/<stack>`).
pub const METRICS_NAMESPACE: &str = "ENGAGE_METRICS_NAMESPACE";
pub const DEFAULT_NAMESPACE: &str = "EngageWebhooks";

/// The tracing target of the one event per delivery (log line and metrics). The metric
/// targets contain `-` and `/`, which no Rust module path can: an ordinary log line (whose
/// default target is its module path, e.g. `engage_webhooks::cold_start`) can never be taken
/// for a metric event.
pub(crate) const DELIVERY_TARGET: &str = "engage-webhooks/delivery";
/// The tracing target of the event of a failed cold start (and of nothing else).
pub(crate) const COLD_START_TARGET: &str = "engage-webhooks/cold-start-failure";

/// The namespace setting: CloudWatch's rules (1 to 255 of `0-9 A-Z a-z . - _ / # :` and
/// space, not starting with `AWS/`), else an error naming the variable.
pub fn namespace(raw: Option<&str>) -> Result<String, ConfigError> {
    let Some(ns) = raw.map(str::trim).filter(|ns| !ns.is_empty()) else {
        return Ok(DEFAULT_NAMESPACE.to_string());
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c);
    if ns.len() > 255 || !ns.chars().all(allowed) || ns.starts_with("AWS/") {
        return Err(ConfigError::invalid(
            METRICS_NAMESPACE,
            "a CloudWatch namespace is 1 to 255 of A-Z a-z 0-9 . - _ / # : and space, not starting with AWS/".into(),
        ));
    }
    Ok(ns.to_string())
}

/// Lambda's application log levels, least severe first, from INFO (a metric line is never
/// less than INFO).
const LEVELS: [&str; 4] = ["INFO", "WARN", "ERROR", "FATAL"];

/// The `level` a metric line carries: its own (`natural`, an index into [`LEVELS`]), raised to
/// the function's application log level (`AWS_LAMBDA_LOG_LEVEL`) when that is stricter.
fn line_level(natural: usize, configured: Option<&str>) -> &'static str {
    let configured = configured
        .and_then(|c| LEVELS.iter().position(|l| l.eq_ignore_ascii_case(c.trim())))
        .unwrap_or(0);
    LEVELS[natural.max(configured).min(LEVELS.len() - 1)]
}

/// The `level` of an ordinary metric line (INFO, or the application log level when that is
/// stricter): for metric lines written outside [`EmfLayer`], such as the relay's.
pub fn metric_line_level(application_log_level: Option<&str>) -> &'static str {
    line_level(0, application_log_level)
}

/// The constant parts of the documents, built once at cold start.
#[derive(Debug, Clone)]
pub(crate) struct EmfFormat {
    /// Everything up to the `Timestamp` value, with and without `EventAge` declared.
    delivery_with_age: String,
    delivery_without_age: String,
    cold_start: String,
    delivery_level: &'static str,
    cold_start_level: &'static str,
}

impl EmfFormat {
    pub(crate) fn new(namespace: &str, application_log_level: Option<&str>) -> Self {
        // The namespace was validated (no quote or backslash), but encode it as JSON anyway.
        let ns =
            serde_json::to_string(namespace).unwrap_or_else(|_| format!("\"{DEFAULT_NAMESPACE}\""));
        let count = |name: &str| format!(r#"{{"Name":"{name}","Unit":"Count"}}"#);
        let millis = |name: &str| format!(r#"{{"Name":"{name}","Unit":"Milliseconds"}}"#);
        let delivery = |with_age: bool| {
            let mut family_metrics = vec![
                count("Deliveries"),
                count("Processed"),
                count("ServerErrors"),
                count("Unauthorized"),
                count("Refused"),
                millis("Latency"),
            ];
            if with_age {
                family_metrics.push(millis("EventAge"));
            }
            family_metrics.push(count("AwsCalls"));
            format!(
                r#"{{"_aws":{{"CloudWatchMetrics":[{{"Namespace":{ns},"Dimensions":[["Family"]],"Metrics":[{}]}},{{"Namespace":{ns},"Dimensions":[["Family","EventType","Outcome"]],"Metrics":[{}]}}],"Timestamp":"#,
                family_metrics.join(","),
                count("Deliveries"),
            )
        };
        EmfFormat {
            delivery_with_age: delivery(true),
            delivery_without_age: delivery(false),
            cold_start: format!(
                r#"{{"_aws":{{"CloudWatchMetrics":[{{"Namespace":{ns},"Dimensions":[["Family"]],"Metrics":[{}]}}],"Timestamp":"#,
                count("ColdStartFailures")
            ),
            delivery_level: line_level(0, application_log_level),
            cold_start_level: line_level(2, application_log_level),
        }
    }

    /// One delivery's document, one line ending in `\n`.
    pub(crate) fn delivery(&self, d: &DeliveryFields, now_millis: i64) -> String {
        let head = if d.event_age_ms.is_some() {
            &self.delivery_with_age
        } else {
            &self.delivery_without_age
        };
        let mut line = String::with_capacity(head.len() + 320);
        line.push_str(head);
        let _ = write!(
            line,
            r#"{now_millis}}},"level":"{}","timestamp":"{}","Family":"{}","EventType":"{}","Outcome":"{}","Deliveries":1,"Processed":{},"ServerErrors":{},"Unauthorized":{},"Refused":{},"Latency":{},"AwsCalls":{}"#,
            self.delivery_level,
            Rfc3339Millis(now_millis),
            d.family,
            d.event_type,
            d.outcome,
            u8::from(d.outcome == "processed"),
            u8::from(d.status >= 500),
            u8::from(d.status == 401),
            u8::from(d.refused()),
            d.latency_ms,
            d.aws_calls,
        );
        if let Some(age) = d.event_age_ms {
            let _ = write!(line, r#","EventAge":{age}"#);
        }
        line.push_str("}\n");
        line
    }

    /// The document of a failed cold start of `family`.
    pub(crate) fn cold_start_failure(&self, family: &str, now_millis: i64) -> String {
        format!(
            "{}{now_millis}}},\"level\":\"{}\",\"timestamp\":\"{}\",\"Family\":\"{family}\",\"ColdStartFailures\":1}}\n",
            self.cold_start,
            self.cold_start_level,
            Rfc3339Millis(now_millis),
        )
    }
}

/// The fields of a delivery event the metrics use. Family, event type and outcome are
/// dimension values: [`crate::answer`] only ever gives it names from a fixed vocabulary.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct DeliveryFields {
    pub family: String,
    pub event_type: String,
    pub outcome: String,
    pub status: u64,
    pub latency_ms: f64,
    pub aws_calls: u64,
    pub event_age_ms: Option<i64>,
    /// The signature was verified: Engage sent it.
    pub signed: bool,
}

impl DeliveryFields {
    /// A delivery Engage really sent that we refused with a 4xx: a rotated key, a payload we
    /// cannot read, a wrong endpoint, a foreign tenant. Svix retries it for 27 h and then drops
    /// it, so it is alarmed on. `in_progress` (409 while another delivery of the event runs) is
    /// transient and succeeds on retry: not counted.
    fn refused(&self) -> bool {
        self.signed && (400..500).contains(&self.status) && self.outcome != "in_progress"
    }
}

impl Visit for DeliveryFields {
    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == "signed" {
            self.signed = value;
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let value = dimension(value);
        match field.name() {
            "family" => self.family = value.to_string(),
            "event_type" => self.event_type = value.to_string(),
            "reason" => self.outcome = value.to_string(),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "status" => self.status = value,
            "aws_calls" => self.aws_calls = value,
            "event_age_ms" => self.event_age_ms = Some(i64::try_from(value).unwrap_or(i64::MAX)),
            _ => {}
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        match field.name() {
            "event_age_ms" => self.event_age_ms = Some(value.max(0)),
            "status" | "aws_calls" => self.record_u64(field, value.max(0) as u64),
            _ => {}
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "duration_ms" && value.is_finite() {
            self.latency_ms = value.max(0.0);
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn fmt::Debug) {}
}

/// `value` when it is a plain name: 1 to `max` of `A-Z a-z 0-9 . _ -`, so never free text (the
/// one rule for every id and name that reaches a log field or a metric dimension).
pub(crate) fn plain_name(value: &str, max: usize) -> Option<&str> {
    let plain = !value.is_empty()
        && value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    plain.then_some(value)
}

/// A dimension value is a plain name of at most 128 bytes; anything else is `unknown`.
fn dimension(value: &str) -> &str {
    plain_name(value, 128).unwrap_or("unknown")
}

/// The field a cold start event names its family with.
#[derive(Default)]
struct FamilyField(Option<String>);

impl Visit for FamilyField {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "family" && value.bytes().all(|b| b.is_ascii_lowercase()) {
            self.0 = Some(value.to_string());
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn fmt::Debug) {}
}

/// The tracing layer that writes the EMF documents. It sees only the delivery and cold start
/// events (its filter is in [`crate::logging`]), whatever the log level.
pub(crate) struct EmfLayer<W> {
    format: EmfFormat,
    writer: W,
}

impl<W> EmfLayer<W> {
    pub(crate) fn new(format: EmfFormat, writer: W) -> Self {
        EmfLayer { format, writer }
    }
}

impl<S, W> Layer<S> for EmfLayer<W>
where
    S: Subscriber,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let now = crate::clock::now_millis();
        let line = match event.metadata().target() {
            DELIVERY_TARGET => {
                let mut fields = DeliveryFields::default();
                event.record(&mut fields);
                self.format.delivery(&fields, now)
            }
            COLD_START_TARGET => {
                let mut family = FamilyField::default();
                event.record(&mut family);
                let family = family.0.unwrap_or_else(|| "unknown".into());
                self.format.cold_start_failure(&family, now)
            }
            _ => return,
        };
        // One write of the whole line: lines never interleave. A failed write to stdout has
        // nowhere to be reported.
        let _ = self.writer.make_writer().write_all(line.as_bytes());
    }
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds (`2026-01-20T15:28:38.985Z`).
pub(crate) struct Rfc3339Millis(pub i64);

impl fmt::Display for Rfc3339Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.max(0);
        let (days, in_day) = (ms / 86_400_000, ms % 86_400_000);
        // Howard Hinnant's civil_from_days, for days since 1970-01-01 (non-negative here).
        let z = days + 719_468;
        let era = z / 146_097;
        let doe = z % 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
            in_day / 3_600_000,
            in_day / 60_000 % 60,
            in_day / 1000 % 60,
            in_day % 1000
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;

    fn delivery(outcome: &str, status: u64, age: Option<i64>) -> DeliveryFields {
        DeliveryFields {
            family: "loyalty".into(),
            event_type: "reward.voucher.created".into(),
            outcome: outcome.into(),
            status,
            latency_ms: 12.345,
            aws_calls: 3,
            event_age_ms: age,
            signed: true,
        }
    }

    fn metrics_of(doc: &Value, directive: usize) -> Vec<(&str, &str)> {
        doc["_aws"]["CloudWatchMetrics"][directive]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["Name"].as_str().unwrap(), m["Unit"].as_str().unwrap()))
            .collect()
    }

    #[test]
    fn a_delivery_is_one_emf_document_with_the_contracts_two_directives() {
        let format = EmfFormat::new("EngageWebhooks/my-stack", None);
        let line = format.delivery(&delivery("processed", 200, Some(1500)), 1_768_922_918_985);
        assert!(line.ends_with("}\n") && line.matches('\n').count() == 1);
        let doc: Value = serde_json::from_str(&line).unwrap();
        let aws = &doc["_aws"];
        assert_eq!(aws["Timestamp"], 1_768_922_918_985i64);
        for d in 0..2 {
            assert_eq!(
                aws["CloudWatchMetrics"][d]["Namespace"],
                "EngageWebhooks/my-stack"
            );
        }
        assert_eq!(
            aws["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["Family"]])
        );
        assert_eq!(
            metrics_of(&doc, 0),
            [
                ("Deliveries", "Count"),
                ("Processed", "Count"),
                ("ServerErrors", "Count"),
                ("Unauthorized", "Count"),
                ("Refused", "Count"),
                ("Latency", "Milliseconds"),
                ("EventAge", "Milliseconds"),
                ("AwsCalls", "Count"),
            ]
        );
        assert_eq!(
            aws["CloudWatchMetrics"][1]["Dimensions"],
            serde_json::json!([["Family", "EventType", "Outcome"]])
        );
        assert_eq!(metrics_of(&doc, 1), [("Deliveries", "Count")]);
        // Every dimension and metric the directives name is a member of the document.
        for (key, want) in [
            ("Family", Value::from("loyalty")),
            ("EventType", Value::from("reward.voucher.created")),
            ("Outcome", Value::from("processed")),
            ("Deliveries", Value::from(1)),
            ("Processed", Value::from(1)),
            ("ServerErrors", Value::from(0)),
            ("Unauthorized", Value::from(0)),
            ("Refused", Value::from(0)),
            ("Latency", Value::from(12.345)),
            ("EventAge", Value::from(1500)),
            ("AwsCalls", Value::from(3)),
            ("level", Value::from("INFO")),
            ("timestamp", Value::from("2026-01-20T15:28:38.985Z")),
        ] {
            assert_eq!(doc[key], want, "{key}");
        }
    }

    #[test]
    fn an_unknown_age_is_neither_declared_nor_sent_and_statuses_set_their_flags() {
        let format = EmfFormat::new(DEFAULT_NAMESPACE, None);
        let doc: Value =
            serde_json::from_str(&format.delivery(&delivery("invalid_signature", 401, None), 1))
                .unwrap();
        assert!(!metrics_of(&doc, 0).iter().any(|(n, _)| *n == "EventAge"));
        assert!(doc.get("EventAge").is_none());
        assert_eq!(
            (doc["Unauthorized"].clone(), doc["ServerErrors"].clone()),
            (1.into(), 0.into())
        );
        let doc: Value =
            serde_json::from_str(&format.delivery(&delivery("queue_unavailable", 503, None), 1))
                .unwrap();
        assert_eq!(
            (
                doc["Unauthorized"].clone(),
                doc["ServerErrors"].clone(),
                doc["Processed"].clone()
            ),
            (0.into(), 1.into(), 0.into())
        );
    }

    #[test]
    fn metric_lines_survive_lambdas_log_level_filter() {
        let level = |configured| {
            let doc: Value = serde_json::from_str(
                &EmfFormat::new(DEFAULT_NAMESPACE, configured)
                    .delivery(&delivery("processed", 200, None), 1),
            )
            .unwrap();
            doc["level"].as_str().unwrap().to_string()
        };
        assert_eq!(level(None), "INFO");
        assert_eq!(level(Some("DEBUG")), "INFO");
        assert_eq!(level(Some("trace")), "INFO");
        assert_eq!(level(Some("WARN")), "WARN");
        assert_eq!(level(Some("error")), "ERROR");
        assert_eq!(level(Some("FATAL")), "FATAL");
        let cold = |configured| {
            let doc: Value = serde_json::from_str(
                &EmfFormat::new(DEFAULT_NAMESPACE, configured).cold_start_failure("consent", 5),
            )
            .unwrap();
            (doc["level"].as_str().unwrap().to_string(), doc)
        };
        assert_eq!(cold(Some("WARN")).0, "ERROR");
        assert_eq!(cold(Some("FATAL")).0, "FATAL");
        let (_, doc) = cold(None);
        assert_eq!(doc["ColdStartFailures"], 1);
        assert_eq!(doc["Family"], "consent");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["Family"]])
        );
        assert_eq!(metrics_of(&doc, 0), [("ColdStartFailures", "Count")]);
    }

    #[test]
    fn the_namespace_follows_cloudwatchs_rules() {
        assert_eq!(namespace(None).unwrap(), DEFAULT_NAMESPACE);
        assert_eq!(namespace(Some(" ")).unwrap(), DEFAULT_NAMESPACE);
        assert_eq!(
            namespace(Some("EngageWebhooks/my-stack")).unwrap(),
            "EngageWebhooks/my-stack"
        );
        for bad in ["AWS/Lambda", "a\"b", "x{y}", &"n".repeat(256)] {
            let err = namespace(Some(bad)).unwrap_err().to_string();
            assert!(err.contains(METRICS_NAMESPACE), "{err}");
            assert!(!err.contains(bad), "{err}");
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        for ms in [
            0,
            951_782_400_000,
            1_768_922_918_985,
            4_102_444_799_999,
            1_709_164_800_123,
        ] {
            let want = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                .unwrap()
                .format(&Rfc3339)
                .unwrap();
            let got = Rfc3339Millis(ms).to_string();
            // `time` drops trailing zero fractions; compare the instants.
            let parsed = OffsetDateTime::parse(&got, &Rfc3339).unwrap();
            assert_eq!(
                parsed,
                OffsetDateTime::parse(&want, &Rfc3339).unwrap(),
                "{got}"
            );
            assert_eq!(got.len(), 24, "{got}");
        }
    }

    #[test]
    fn free_text_never_becomes_a_dimension() {
        assert_eq!(
            dimension("reward.voucher.created"),
            "reward.voucher.created"
        );
        assert_eq!(dimension("in_progress"), "in_progress");
        assert_eq!(dimension("john@example.com"), "unknown");
        assert_eq!(dimension("processed\",\"x\":\"y"), "unknown");
        assert_eq!(dimension(""), "unknown");
        assert_eq!(dimension(&"a".repeat(129)), "unknown");
    }
}
