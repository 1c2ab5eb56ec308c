//! The real function binary stops its cold start, naming the setting and never quoting the
//! value, when a signing secret decodes to fewer than 24 bytes or a custom header token is
//! shorter than 32 characters (issue 14, item 4) — from the environment and from the
//! Secrets Manager secret alike.
//!
//! The binary runs until its cold start is done or fails; it then looks for the Lambda
//! Runtime API, which is not there, and exits. What it printed up to then is what is checked.

use engage_testkit::*;
use std::process::{Command, Stdio};

/// 23 bytes once decoded: one short of the minimum.
const SHORT_SECRET: &str = "whsec_c2hvcnQtc2lnbmluZy1zZWNyZXQtMDA=";
/// 31 characters: one short of the minimum.
const SHORT_TOKEN: &str = "short-token-0123456789abcdef012";

/// Runs the promotion binary with `env` (besides the local AWS's) and returns its stdout and
/// stderr.
fn run_cold_start(env: &[(&str, &str)]) -> String {
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
        .env_remove("ENGAGE_PROMOTION_SIGNING_SECRETS")
        .env_remove("ENGAGE_CUSTOM_HEADER")
        .env_remove("ENGAGE_CUSTOM_HEADER_TOKENS")
        .env_remove("RUST_LOG")
        .env_remove("AWS_LAMBDA_LOG_LEVEL")
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the promotion binary runs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_stopped(output: &str, message: &str, secret: &str) {
    assert!(output.contains(message), "want {message:?} in:\n{output}");
    assert!(
        !output.contains("access checks configured"),
        "the cold start must stop:\n{output}"
    );
    assert!(
        !output.contains(secret),
        "the value is never echoed:\n{output}"
    );
}

#[tokio::test]
async fn a_short_signing_secret_or_header_token_stops_the_cold_start_naming_it() {
    let sdk = local_aws().await;
    let table = new_table(&sdk, "pk").await;
    let queue = new_queue(&sdk, false).await;
    let base = [
        ("DEDUP_TABLE", table.as_str()),
        ("PROMOTION_QUEUE_URL", &queue),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut env = base.to_vec();
        env.extend_from_slice(extra);
        run_cold_start(&env)
    };

    // The shared list, with a valid secret first: every entry is checked.
    let shared = format!("{SIGNING_SECRET} {SHORT_SECRET}");
    let mut env = base.to_vec();
    env.push(("ENGAGE_SIGNING_SECRETS", &shared));
    assert_stopped(
        &run_cold_start(&env),
        "ENGAGE_SIGNING_SECRETS is invalid: entry 2 decodes to 23 bytes; a signing secret needs at least 24",
        &SHORT_SECRET[6..],
    );
    // The family's own list.
    assert_stopped(
        &with(&[("ENGAGE_PROMOTION_SIGNING_SECRETS", SHORT_SECRET)]),
        "ENGAGE_PROMOTION_SIGNING_SECRETS is invalid: entry 1 decodes to 23 bytes",
        &SHORT_SECRET[6..],
    );
    // The custom header token from the environment.
    assert_stopped(
        &with(&[
            ("ENGAGE_CUSTOM_HEADER", "X-Engage-Token"),
            ("ENGAGE_CUSTOM_HEADER_TOKENS", SHORT_TOKEN),
        ]),
        "ENGAGE_CUSTOM_HEADER_TOKENS is invalid: token 1 has 31 characters; a custom header token needs at least 32",
        SHORT_TOKEN,
    );

    // The same limits on the Secrets Manager secret's fields.
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let new_secret = |value: String| {
        let secrets = secrets.clone();
        async move {
            secrets
                .create_secret()
                .name(unique("engage"))
                .secret_string(value)
                .send()
                .await
                .expect("create the secret")
                .arn()
                .expect("an ARN")
                .to_string()
        }
    };
    let arn = new_secret(format!(
        r#"{{"signingSecrets":"{SIGNING_SECRET}","promotionSigningSecrets":"{SHORT_SECRET}"}}"#
    ))
    .await;
    let mut env = base.to_vec();
    env.push(("ENGAGE_SECRETS_ARN", &arn));
    assert_stopped(
        &run_cold_start(&env),
        "ENGAGE_SECRETS_ARN (promotionSigningSecrets) is invalid: entry 1 decodes to 23 bytes",
        &SHORT_SECRET[6..],
    );
    let arn = new_secret(format!(
        r#"{{"signingSecrets":"{SIGNING_SECRET}","customHeaderTokens":"{SHORT_TOKEN}"}}"#
    ))
    .await;
    let mut env = base.to_vec();
    env.push(("ENGAGE_SECRETS_ARN", &arn));
    env.push(("ENGAGE_CUSTOM_HEADER", "X-Engage-Token"));
    assert_stopped(
        &run_cold_start(&env),
        "ENGAGE_SECRETS_ARN (customHeaderTokens) is invalid: token 1 has 31 characters",
        SHORT_TOKEN,
    );

    // At the limits exactly, the cold start goes through.
    let secret_24 = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let token_32 = "token-0123456789abcdef0123456789";
    assert_eq!(token_32.len(), 32);
    let ok = with(&[
        ("ENGAGE_PROMOTION_SIGNING_SECRETS", secret_24),
        ("ENGAGE_CUSTOM_HEADER", "X-Engage-Token"),
        ("ENGAGE_CUSTOM_HEADER_TOKENS", token_32),
    ]);
    assert!(ok.contains("access checks configured"), "{ok}");
}
