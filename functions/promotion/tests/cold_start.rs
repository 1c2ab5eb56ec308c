//! Cold-start configuration from the process environment and from Secrets Manager (on the
//! local wire server). One test function: it sets process-wide environment variables.

use engage_testkit::*;

#[tokio::test]
async fn configuration_is_read_once_from_env_or_secrets_manager_and_names_what_is_wrong() {
    let sdk = local_aws().await;
    let table = new_table(&sdk, "pk").await;
    let queue = new_queue(&sdk, false).await;
    // SAFETY (edition 2021: set_var is safe but process-wide): this binary has one test.
    std::env::set_var("AWS_REGION", "eu-north-1");
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");

    // Missing queue URL: the error names the variable.
    std::env::remove_var("PROMOTION_QUEUE_URL");
    let err = promotion::from_env().await.err().expect("must fail");
    assert_eq!(err.to_string(), "PROMOTION_QUEUE_URL is not set");

    std::env::set_var("PROMOTION_QUEUE_URL", &queue);
    std::env::set_var("DEDUP_TABLE", &table);
    std::env::remove_var("ENGAGE_SIGNING_SECRETS");
    std::env::remove_var("ENGAGE_SECRETS_ARN");
    let err = promotion::from_env().await.err().expect("must fail");
    assert_eq!(
        err.to_string(),
        "neither ENGAGE_PROMOTION_SIGNING_SECRETS nor ENGAGE_SIGNING_SECRETS is set (one of them is needed)"
    );

    // Malformed cipher.
    std::env::set_var("ENGAGE_SIGNING_SECRETS", SIGNING_SECRET);
    std::env::set_var("ENGAGE_PAYLOAD_CIPHER", "des");
    let err = promotion::from_env().await.err().expect("must fail");
    assert!(
        err.to_string()
            .starts_with("ENGAGE_PAYLOAD_CIPHER is invalid"),
        "{err}"
    );
    std::env::remove_var("ENGAGE_PAYLOAD_CIPHER");

    // From the environment: a working function.
    let function = promotion::from_env().await.expect("configured from env");
    let (env, _) = fresh_envelope("promotion.multichannel.assigned");
    let got = deliver(&function, Shape::FunctionUrl, &env).await;
    assert_eq!(got, (200, "processed".into()));

    // From Secrets Manager: the secret's values win over the environment's.
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let unfilled = secrets
        .create_secret()
        .name(unique("engage-unfilled"))
        .secret_string(r#"{"signingSecrets":"","payloadKeys":""}"#)
        .send()
        .await
        .unwrap();
    std::env::set_var("ENGAGE_SECRETS_ARN", unfilled.arn().unwrap());
    let err = promotion::from_env()
        .await
        .err()
        .expect("an unfilled secret must fail");
    assert!(err.to_string().contains("signingSecrets is empty"), "{err}");

    let filled = secrets
        .create_secret()
        .name(unique("engage"))
        .secret_string(format!(
            r#"{{"signingSecrets":"whsec_b3RoZXItc2VjcmV0LWZvci1yb3RhdGlvbg== {SIGNING_SECRET}","payloadKeys":"{PAYLOAD_KEY}"}}"#
        ))
        .send()
        .await
        .unwrap();
    std::env::set_var("ENGAGE_SECRETS_ARN", filled.arn().unwrap());
    std::env::set_var(
        "ENGAGE_SIGNING_SECRETS",
        "whsec_bm90LXRoZS1vbmUtaW4tdXNlLTAwMDAwMA==",
    );
    let function = promotion::from_env()
        .await
        .expect("configured from the secret");
    let (env, _) = fresh_envelope("promotion.multichannel.assigned");
    let sealed = encrypted(&env, engage_webhooks::PayloadCipher::Aes256Gcm);
    let got = deliver(&function, Shape::FunctionUrl, &sealed).await;
    assert_eq!(
        got,
        (200, "processed".into()),
        "key and secret came from Secrets Manager"
    );
    assert_eq!(messages(&sdk, &queue).await.len(), 2);
}
