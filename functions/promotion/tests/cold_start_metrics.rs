//! The real function binary's cold start, run against the local AWS: a successful one counts
//! no failure, a failed one counts exactly one (issue 17: an ordinary log line of
//! `cold_start.rs` used to be taken for the failure metric on every cold start).
//!
//! The binary runs until its cold start is done; it then looks for the Lambda Runtime API,
//! which is not there, and exits. What it printed up to then is what is checked.

use engage_testkit::*;
use std::process::{Command, Stdio};

/// Runs the promotion binary with `env` (besides the local AWS's) and returns its stdout and
/// stderr.
fn run_cold_start(env: &[(&str, &str)], unset: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_promotion"));
    cmd.env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_REGION", "eu-north-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("ENGAGE_SIGNING_SECRETS", SIGNING_SECRET)
        // Nothing listens here: the runtime loop fails at once after the cold start.
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .env("AWS_LAMBDA_FUNCTION_NAME", "promotion")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env_remove("ENGAGE_SECRETS_ARN")
        .env_remove("RUST_LOG")
        .env_remove("AWS_LAMBDA_LOG_LEVEL")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    for k in unset {
        cmd.env_remove(k);
    }
    let out = cmd.output().expect("the promotion binary runs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn failure_metrics(output: &str) -> usize {
    output
        .lines()
        .filter(|l| l.contains("\"ColdStartFailures\""))
        .count()
}

#[tokio::test]
async fn a_successful_cold_start_counts_no_failure_and_a_failed_one_counts_one() {
    let sdk = local_aws().await;
    let table = new_table(&sdk, "pk").await;
    let queue = new_queue(&sdk, false).await;

    let ok = run_cold_start(
        &[("DEDUP_TABLE", &table), ("PROMOTION_QUEUE_URL", &queue)],
        &[],
    );
    assert!(
        ok.contains("access checks configured"),
        "the cold start got as far as its info line:\n{ok}"
    );
    assert_eq!(failure_metrics(&ok), 0, "{ok}");

    let failed = run_cold_start(&[("PROMOTION_QUEUE_URL", &queue)], &["DEDUP_TABLE"]);
    assert!(failed.contains("DEDUP_TABLE is not set"), "{failed}");
    assert_eq!(failure_metrics(&failed), 1, "{failed}");

    // A TTL above one year once wrapped the expiry and turned dedup off: now it stops the
    // cold start, naming the variable.
    let too_long = run_cold_start(
        &[
            ("DEDUP_TABLE", &table),
            ("PROMOTION_QUEUE_URL", &queue),
            ("DEDUP_TTL_SECONDS", "18446744073709551615"),
        ],
        &[],
    );
    assert!(
        too_long.contains("DEDUP_TTL_SECONDS is invalid"),
        "{too_long}"
    );
    assert_eq!(failure_metrics(&too_long), 1, "{too_long}");
}
