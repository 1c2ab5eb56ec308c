//! Issue 14 item 1: the real contact binary at TRACE, driven by a loopback Lambda Runtime API
//! against the local AWS, with the custom header check on. lambda_runtime prints the raw event
//! (body and headers) at TRACE; the configured level applies to this project's crates only,
//! so no token, secret or personal value may appear anywhere in what it prints.

use engage_testkit::*;

const TOKEN: &str = "tok-3f9a1c7e5b2d4a6f8e0c1b3d5f7a9e2c";

#[tokio::test]
async fn at_trace_no_token_secret_or_personal_value_reaches_the_output() {
    let rig = MirrorRig::new().await;
    let contact = unique("contact");
    let (created, _) = contact_envelope("contact.created", &contact);
    let (updated, _) = contact_envelope("contact.updated", &contact);
    let events: Vec<String> = [&created, &updated]
        .iter()
        .map(|body| {
            let mut headers = signature_headers(body, &format!("msg_{}", unique("t")));
            headers.push(("x-engage-token".into(), TOKEN.into()));
            function_url_event(body, &headers)
        })
        .collect();
    let endpoint = endpoint();
    let run = run_binary(
        env!("CARGO_BIN_EXE_contact"),
        &[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
            ("AWS_REGION", "eu-north-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_ENDPOINT_URL", &endpoint),
            ("DEDUP_TABLE", &rig.dedup_table),
            ("CONTACTS_TABLE", &rig.contacts_table),
            ("ENGAGE_SIGNING_SECRETS", SIGNING_SECRET),
            ("ENGAGE_CUSTOM_HEADER", "x-engage-token"),
            ("ENGAGE_CUSTOM_HEADER_TOKENS", TOKEN),
        ],
        events,
    );
    let text = &run.output;
    assert_eq!(run.answers.len(), 2, "both answered:\n{text}");
    for answer in &run.answers {
        assert_eq!(answer["statusCode"], 200, "{answer}\n{text}");
    }
    assert!(
        rig.contact(&contact).await.is_some(),
        "the mirror was written"
    );
    assert!(
        text.contains("delivery handled"),
        "the deliveries were logged:\n{text}"
    );
    let key = SIGNING_SECRET.trim_start_matches("whsec_");
    for secret in [
        TOKEN,
        key,
        "John",
        "john.doe@example.com",
        "+46701234567",
        "20040217-7935",
    ] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
    for envelope in [&created, &updated] {
        let payload: serde_json::Value = serde_json::from_str(&payload_of(envelope)).unwrap();
        for (field, value) in payload.as_object().unwrap() {
            if let Some(s) = value.as_str().filter(|s| s.len() >= 4) {
                assert!(!text.contains(s), "{field} leaked:\n{text}");
            }
        }
    }
}
