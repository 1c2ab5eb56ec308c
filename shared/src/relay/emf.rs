//! The relay's metric line, one per message tried, in the project's EMF style (dimension
//! `Family` = `relay`): `Relayed`, `Failed`, `Permanent` (0/1) and `DownstreamLatency` (ms,
//! only when a request was made). The template's alarms and dashboard read exactly these.
//! Each line carries `level` ([`crate::metric_line_level`]), so Lambda's log-level filter
//! never drops it, whatever the function's application log level.

use super::Verdict;
use serde_json::json;

pub const RELAY_FAMILY: &str = "relay";

/// One EMF document at `timestamp_ms`, at log level `level`.
pub fn metric_line(
    namespace: &str,
    level: &str,
    timestamp_ms: u64,
    verdict: Verdict,
    latency_ms: Option<u64>,
) -> String {
    let flag = |v: Verdict| u8::from(verdict == v);
    let mut metrics = vec![
        json!({"Name": "Relayed", "Unit": "Count"}),
        json!({"Name": "Failed", "Unit": "Count"}),
        json!({"Name": "Permanent", "Unit": "Count"}),
    ];
    let mut doc = json!({
        "level": level,
        "Family": RELAY_FAMILY,
        "Relayed": flag(Verdict::Relayed),
        "Failed": flag(Verdict::Retry),
        "Permanent": flag(Verdict::Permanent),
    });
    if let Some(ms) = latency_ms {
        metrics.push(json!({"Name": "DownstreamLatency", "Unit": "Milliseconds"}));
        doc["DownstreamLatency"] = json!(ms);
    }
    doc["_aws"] = json!({
        "Timestamp": timestamp_ms,
        "CloudWatchMetrics": [{
            "Namespace": namespace,
            "Dimensions": [["Family"]],
            "Metrics": metrics,
        }],
    });
    doc.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_permanent_failure_counts_once() {
        let line: serde_json::Value = serde_json::from_str(&metric_line(
            "Ns",
            crate::metric_line_level(Some("ERROR")),
            5,
            Verdict::Permanent,
            Some(12),
        ))
        .unwrap();
        assert_eq!(line["level"], "ERROR", "kept by Lambda's filter at ERROR");
        assert_eq!(line["Permanent"], 1);
        assert_eq!(line["Relayed"], 0);
        assert_eq!(line["DownstreamLatency"], 12);
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Ns");
    }
}
