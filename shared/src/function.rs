//! What the four functions have in common: a handler of one Lambda HTTP request, answering
//! per the contract, for one family of events; and the `main` that serves it.

use crate::config::ConfigError;
use crate::event::Family;
use crate::logging::Telemetry;
use crate::metrics::COLD_START_TARGET;
use lambda_http::{Body, Request, Response};
use std::convert::Infallible;
use std::future::Future;
use std::io::Write as _;

/// A webhook function: the fan-out functions (loyalty, promotion) and the mirror functions
/// (contact, consent). The Lambda runtime, tests and tools drive any of them through this one
/// trait.
pub trait WebhookFunction: Send + Sync {
    /// Answers one delivery; never fails (every failure is a JSON answer with its status).
    fn handle(&self, req: Request) -> impl Future<Output = Response<Body>> + Send;

    /// The family of events this function accepts.
    fn family(&self) -> Family;
}

/// Every function's `main`: logs and metrics set up from Lambda's logging controls (see
/// [`Telemetry`]), the function built once per cold start by `build`, then each request
/// answered by it. A failed cold start is logged (naming the variable, never a value) and
/// counted (`ColdStartFailures`, dimension `Family`) before the process exits with the error.
pub async fn serve<F, B>(
    family: Family,
    build: impl FnOnce() -> B,
) -> Result<(), lambda_http::Error>
where
    F: WebhookFunction,
    B: Future<Output = Result<F, ConfigError>>,
{
    let (telemetry, bad_setting) = match Telemetry::from_env() {
        Ok(telemetry) => (telemetry, None),
        // Still count the failure, in the default namespace.
        Err(e) => (Telemetry::default_from_env(), Some(e)),
    };
    telemetry.init();
    let built = match bad_setting {
        Some(e) => Err(e),
        None => build().await,
    };
    let function = &cold_started(family, built)?;
    lambda_http::run(lambda_http::service_fn(move |req| async move {
        Ok::<_, Infallible>(function.handle(req).await)
    }))
    .await
}

/// The cold start's result; a failure is logged and counted first.
pub(crate) fn cold_started<F>(
    family: Family,
    built: Result<F, ConfigError>,
) -> Result<F, ConfigError> {
    if let Err(e) = &built {
        tracing::event!(
            target: COLD_START_TARGET,
            tracing::Level::ERROR,
            family = family.as_str(),
            error = %e,
            "cold start failed"
        );
        // The process exits next: whatever stdout holds must reach the log.
        let _ = std::io::stdout().flush();
    }
    built
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_cold_start_is_logged_and_counted_once() {
        let telemetry = Telemetry::json("info", "EngageWebhooks/test");
        let (result, out) = telemetry
            .capture(async {
                cold_started::<()>(Family::Consent, Err(ConfigError::Missing("DEDUP_TABLE")))
            })
            .await;
        assert!(result.is_err());
        let logs = out.log_lines();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0]["level"], "ERROR");
        assert_eq!(logs[0]["error"], "DEDUP_TABLE is not set");
        assert_eq!(logs[0]["family"], "consent");
        let metrics = out.metric_lines();
        assert_eq!(metrics.len(), 1);
        assert_eq!(metrics[0]["ColdStartFailures"], 1);
        assert_eq!(metrics[0]["Family"], "consent");
        let directive = &metrics[0]["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "EngageWebhooks/test");
        assert_eq!(directive["Metrics"][0]["Name"], "ColdStartFailures");

        let (ok, out) = telemetry
            .capture(async { cold_started(Family::Consent, Ok(1)) })
            .await;
        assert_eq!(ok.unwrap(), 1);
        assert!(out.text().is_empty(), "a good cold start prints nothing");
    }
}
