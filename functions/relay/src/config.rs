//! The relay's settings, read once at init.

use std::time::Duration;

/// The voucher service's URL: `https://…` (plain `http://` only to loopback, for local runs).
pub const VOUCHER_SERVICE_URL: &str = "VOUCHER_SERVICE_URL";
/// The Secrets Manager secret holding the relay's own `whsec_` signing secret.
pub const RELAY_SECRET_ARN: &str = "RELAY_SECRET_ARN";
/// The bound on one request, connect to last body byte (default 3000 ms).
pub const REQUEST_TIMEOUT_MS: &str = "RELAY_REQUEST_TIMEOUT_MS";
/// The stack-wide cap on requests per second (0 = none); split over `MAX_CONCURRENCY`.
pub const RATE_PER_SECOND: &str = "RELAY_RATE_PER_SECOND";
/// The backoff after the first failed try, seconds (default 10); doubles per receive.
pub const FIRST_RETRY_SECONDS: &str = "RELAY_FIRST_RETRY_SECONDS";
/// The event source mapping's maximum concurrency (the instances sharing the cap).
pub const MAX_CONCURRENCY: &str = "RELAY_MAX_CONCURRENCY";

#[derive(Debug, thiserror::Error)]
pub enum RelayConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{0} is not valid: {1}")]
    Invalid(&'static str, String),
    #[error("the relay secret could not be loaded: {0}")]
    Secret(String),
}

#[derive(Debug, Clone)]
pub struct RelaySettings {
    pub url: http::Uri,
    pub request_timeout: Duration,
    /// The least time between two requests of one instance (zero = no cap).
    pub spacing: Duration,
    /// The backoff after the first failed try.
    pub first_retry: Duration,
    /// The `level` of the metric lines: the application log level when stricter than INFO,
    /// so Lambda's log-level filter never drops a metric.
    pub metric_level: &'static str,
}

impl RelaySettings {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, RelayConfigError> {
        let url_text =
            get(VOUCHER_SERVICE_URL).ok_or(RelayConfigError::Missing(VOUCHER_SERVICE_URL))?;
        let url = parse_url(&url_text)?;
        let number = |name: &'static str, default: u64| -> Result<u64, RelayConfigError> {
            match get(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse()
                    .map_err(|_| RelayConfigError::Invalid(name, v)),
            }
        };
        let timeout_ms = number(REQUEST_TIMEOUT_MS, 3000)?;
        if timeout_ms == 0 {
            return Err(RelayConfigError::Invalid(REQUEST_TIMEOUT_MS, "0".into()));
        }
        let rate = number(RATE_PER_SECOND, 0)?;
        let concurrency = number(MAX_CONCURRENCY, 1)?.max(1);
        let spacing = if rate == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(concurrency as f64 / rate as f64)
        };
        let first_retry = Duration::from_secs(number(
            FIRST_RETRY_SECONDS,
            engage_webhooks::relay::FIRST_RETRY_DELAY.as_secs(),
        )?);
        Ok(RelaySettings {
            metric_level: engage_webhooks::metric_line_level(
                get(engage_webhooks::LOG_LEVEL).as_deref(),
            ),
            first_retry,
            url,
            request_timeout: Duration::from_millis(timeout_ms),
            spacing,
        })
    }
}

fn parse_url(text: &str) -> Result<http::Uri, RelayConfigError> {
    let invalid = |why: &str| RelayConfigError::Invalid(VOUCHER_SERVICE_URL, why.into());
    let url: http::Uri = text.trim().parse().map_err(|_| invalid("not a URL"))?;
    let host = url.host().ok_or_else(|| invalid("no host"))?;
    match url.scheme_str() {
        Some("https") => Ok(url),
        // The secret-signed body never crosses a network in plain text.
        Some("http") if matches!(host, "127.0.0.1" | "localhost" | "[::1]") => Ok(url),
        _ => Err(invalid("must be https")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<RelaySettings, RelayConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        RelaySettings::from_lookup(|k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(settings(&[(VOUCHER_SERVICE_URL, "http://vouchers.example.com/v")]).is_err());
        assert!(settings(&[(VOUCHER_SERVICE_URL, "http://127.0.0.1:9/v")]).is_ok());
        assert!(settings(&[(VOUCHER_SERVICE_URL, "https://vouchers.example.com/v")]).is_ok());
    }

    #[test]
    fn the_rate_is_shared_by_the_instances() {
        let s = settings(&[
            (VOUCHER_SERVICE_URL, "https://v.example.com"),
            (RATE_PER_SECOND, "20"),
            (MAX_CONCURRENCY, "5"),
        ])
        .unwrap();
        assert_eq!(s.spacing, Duration::from_millis(250));
    }

    #[test]
    fn metric_lines_follow_a_stricter_application_log_level() {
        let url = (VOUCHER_SERVICE_URL, "https://v.example.com");
        assert_eq!(settings(&[url]).unwrap().metric_level, "INFO");
        assert_eq!(
            settings(&[url, (engage_webhooks::LOG_LEVEL, "DEBUG")])
                .unwrap()
                .metric_level,
            "INFO"
        );
        assert_eq!(
            settings(&[url, (engage_webhooks::LOG_LEVEL, "WARN")])
                .unwrap()
                .metric_level,
            "WARN"
        );
    }
}
