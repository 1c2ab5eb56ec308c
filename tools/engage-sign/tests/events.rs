//! The generated events are accepted by the real receiving core, exactly as a function
//! receives them: parsed by lambda_http from the event JSON, verified, routed and decrypted.

use engage_sign::{
    encrypted_sample_id, env_json, minify, parse_env_file, prepare, read_envelopes, sample_events,
    sign, Options, Secrets, FAMILIES,
};
use engage_testkit::{receiver, repo_root, PAYLOAD_KEY, SIGNING_SECRET};
use engage_webhooks::{EventType, Family, PayloadCipher, PayloadKey, Received, WebhookError};
use serde_json::Value;
use std::collections::BTreeMap;

fn local_env() -> BTreeMap<String, String> {
    parse_env_file(&std::fs::read_to_string(repo_root().join("events/local.env")).unwrap())
}

/// A receiver of `family` that verifies with the secret `secrets` signs `signer`'s events with
/// (each Engage endpoint has its own), with the test payload key.
fn endpoint_receiver(
    secrets: &Secrets,
    signer: Family,
    family: Family,
) -> engage_webhooks::Receiver {
    let own = engage_webhooks::EngageSecrets {
        signing_secrets: secrets.signing_secret_for(Some(signer)).unwrap().into(),
        payload_keys: Some(PAYLOAD_KEY.into()),
    };
    engage_webhooks::Receiver::from_secrets(family, &own, secrets.cipher).unwrap()
}

fn envelopes() -> Vec<(String, String)> {
    read_envelopes(&repo_root().join("events/envelopes")).unwrap()
}

fn template() -> String {
    std::fs::read_to_string(repo_root().join("events/requests/apigw-http-v2.json")).unwrap()
}

fn payload_text(envelope: &str) -> String {
    let v: BTreeMap<String, Box<serde_json::value::RawValue>> =
        serde_json::from_str(&minify(envelope).unwrap()).unwrap();
    v["payload"].get().to_string()
}

#[test]
fn local_env_holds_the_testkit_settings() {
    let s = Secrets::from_file(&local_env()).unwrap();
    assert_eq!(s.signing_secret, SIGNING_SECRET);
    assert_eq!(s.payload_key.as_deref(), Some(PAYLOAD_KEY));
}

#[test]
fn every_sample_event_is_accepted_by_its_family_and_only_by_it() {
    let secrets = Secrets::from_file(&local_env()).unwrap();
    let envelopes = envelopes();
    assert_eq!(envelopes.len(), 11, "one envelope per event type");
    let events = sample_events(&envelopes, &template(), &secrets).unwrap();
    assert_eq!(events.len(), 22);
    for family in FAMILIES {
        assert!(
            events.iter().any(|e| e.family == family && e.encrypted),
            "no encrypted sample for {family}"
        );
    }
    for event in &events {
        let (_, envelope) = envelopes
            .iter()
            .find(|(name, _)| *name == format!("{}.json", event.event_type))
            .unwrap();
        let parsed: Value = serde_json::from_str(&event.json).unwrap();
        let path = format!("/webhooks/{}", event.family);
        assert_eq!(parsed["rawPath"], path.as_str());
        assert_eq!(parsed["requestContext"]["http"]["path"], path.as_str());
        assert_eq!(parsed["pathParameters"]["family"], event.family.as_str());

        let req = lambda_http::request::from_str(&event.json).expect("a Lambda HTTP event");
        // Signed with the family's own endpoint secret: the shared test secret does not verify.
        assert_eq!(
            receiver(event.family, Some(secrets.cipher))
                .receive(&req)
                .unwrap_err(),
            WebhookError::InvalidSignature,
            "{} is not signed with its endpoint's secret",
            event.file_name
        );
        let r = endpoint_receiver(&secrets, event.family, event.family);
        let Ok(Received::Event(ev)) = r.receive(&req) else {
            panic!(
                "{} was not accepted: {:?}",
                event.file_name,
                r.receive(&req)
            );
        };
        assert_eq!(ev.event_type, EventType::parse(&event.event_type).unwrap());
        assert_eq!(ev.event_type.family(), event.family);
        // The payload arrives with exactly the bytes of the envelope file (minus whitespace
        // between tokens), whether sent in clear or decrypted.
        assert_eq!(
            ev.payload.get(),
            payload_text(envelope),
            "{}",
            event.file_name
        );
        let plain_id = prepare(envelope, &Options::default())
            .unwrap()
            .event_id
            .unwrap();
        if event.encrypted {
            assert_eq!(ev.id, encrypted_sample_id(&plain_id));
            assert!(
                !event.json.contains("contactId"),
                "{} leaks its payload",
                event.file_name
            );
        } else {
            assert_eq!(ev.id, plain_id);
        }

        let other = FAMILIES.into_iter().find(|f| *f != event.family).unwrap();
        assert_eq!(
            endpoint_receiver(&secrets, event.family, other)
                .receive(&req)
                .unwrap_err(),
            WebhookError::WrongEndpoint(event.family)
        );
    }
}

#[test]
fn encrypted_payloads_decrypt_to_the_exact_payload_text_with_either_cipher() {
    let envelope = engage_testkit::envelope("loyalty.addPoints");
    let original = payload_text(&envelope);
    assert!(original.contains(r#""amount":150.50"#), "{original}");
    for cipher in [PayloadCipher::Aes256Gcm, PayloadCipher::Aes256Cbc] {
        let p = prepare(
            &envelope,
            &Options {
                encrypt: Some((cipher, PayloadKey::parse(PAYLOAD_KEY).unwrap())),
                ..Options::default()
            },
        )
        .unwrap();
        assert!(p.encrypted);
        assert!(!p.body.contains("150.50"));
        let req = function_url_request(&p.body, false);
        let Received::Event(ev) = receiver(Family::Loyalty, Some(cipher))
            .receive(&req)
            .unwrap()
        else {
            panic!("not an event")
        };
        assert_eq!(ev.payload.get(), original, "{cipher:?}");
    }
}

#[test]
fn a_bad_signature_is_refused() {
    let p = prepare(
        &engage_testkit::envelope("contact.created"),
        &Options::default(),
    )
    .unwrap();
    let req = function_url_request(&p.body, true);
    assert_eq!(
        receiver(Family::Contact, None).receive(&req).unwrap_err(),
        WebhookError::InvalidSignature
    );
}

/// The committed events are signed with the test secret over their own body (only their
/// timestamps go stale), and there is one plaintext and one encrypted event per envelope.
#[test]
fn the_committed_sample_events_are_consistent() {
    let secrets = Secrets::from_file(&local_env()).unwrap();
    let dir = repo_root().join("events/sam");
    for (name, envelope) in envelopes() {
        let stem = name.trim_end_matches(".json");
        for file in [format!("{stem}.json"), format!("{stem}.encrypted.json")] {
            let path = dir.join(&file);
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}; run `cargo run -p engage-sign -- resign --out events`",
                    path.display()
                )
            });
            let event: Value = serde_json::from_str(&text).unwrap();
            let h = &event["headers"];
            let body = event["body"].as_str().unwrap();
            let ts: i64 = h["svix-timestamp"].as_str().unwrap().parse().unwrap();
            let family = prepare(&envelope, &Options::default()).unwrap().family;
            let expected = sign(
                secrets.signing_secret_for(family).unwrap(),
                h["svix-id"].as_str().unwrap(),
                ts,
                body,
                false,
            )
            .unwrap();
            let stale = "is out of date: run `cargo run -p engage-sign -- resign --out events`";
            assert_eq!(
                h["svix-signature"].as_str(),
                Some(expected.signature()),
                "events/sam/{file} {stale}"
            );
            let sent = prepare(body, &Options::default()).unwrap();
            let original = prepare(&envelope, &Options::default()).unwrap();
            assert_eq!(
                sent.event_type, original.event_type,
                "events/sam/{file} {stale}"
            );
            if file.contains("encrypted") {
                assert_eq!(
                    sent.event_id,
                    original.event_id.as_deref().map(encrypted_sample_id),
                    "events/sam/{file} {stale}"
                );
            } else {
                assert_eq!(
                    body,
                    minify(&envelope).unwrap(),
                    "events/sam/{file} {stale}"
                );
            }
        }
    }
}

#[test]
fn the_committed_env_json_matches_local_env() {
    let committed = std::fs::read_to_string(repo_root().join("events/env.json")).unwrap();
    assert_eq!(committed, env_json(&local_env()).unwrap());
    let v: Value = serde_json::from_str(&committed).unwrap();
    for f in [
        "ContactFunction",
        "ConsentFunction",
        "LoyaltyFunction",
        "PromotionFunction",
    ] {
        assert_eq!(v[f]["ENGAGE_SIGNING_SECRETS"], SIGNING_SECRET);
        let own = format!(
            "ENGAGE_{}_SIGNING_SECRETS",
            f.trim_end_matches("Function").to_uppercase()
        );
        assert!(
            v[f][&own]
                .as_str()
                .is_some_and(|s| s.starts_with("whsec_") && s != SIGNING_SECRET),
            "{f} has its own endpoint secret"
        );
        assert_eq!(v[f]["ENGAGE_PAYLOAD_KEYS"], PAYLOAD_KEY);
        assert_eq!(v[f]["ENGAGE_SECRETS_ARN"], "");
        assert_eq!(v[f]["DEDUP_TABLE"], "engage-dedup");
    }
    assert_eq!(v["ContactFunction"]["CONTACTS_TABLE"], "engage-contacts");
    assert!(v["LoyaltyFunction"]["LOYALTY_QUEUE_URL"]
        .as_str()
        .unwrap()
        .ends_with("/engage-loyalty"));
}

/// The command line, end to end: `send --json` without a URL prints a request the receiver
/// accepts, with the secret and key taken from the environment over events/local.env.
#[test]
fn the_cli_prints_a_verifiable_request() {
    let other_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_engage-sign"))
        .args([
            "send",
            "--json",
            "--encrypt",
            "aes-256-cbc",
            "--event-id",
            "ev-cli",
        ])
        .arg(repo_root().join("events/envelopes/reward.voucher.created.json"))
        .env(
            "ENGAGE_SIGNING_SECRETS",
            format!("{other_secret} whsec_ignored"),
        )
        .env_remove("ENGAGE_PAYLOAD_KEYS")
        .current_dir(repo_root().join("tools"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["family"], "loyalty");
    assert_eq!(line["eventId"], "ev-cli");
    let body = line["body"].as_str().unwrap();
    let headers: Vec<(String, String)> = line["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let req = engage_testkit::request(engage_testkit::Shape::ApiGatewayHttp, body, &headers);
    let secrets = engage_webhooks::EngageSecrets {
        signing_secrets: other_secret.into(),
        payload_keys: Some(PAYLOAD_KEY.into()),
    };
    let r = engage_webhooks::Receiver::from_secrets(
        Family::Loyalty,
        &secrets,
        PayloadCipher::Aes256Cbc,
    )
    .unwrap();
    let Received::Event(ev) = r.receive(&req).unwrap() else {
        panic!("not an event")
    };
    assert_eq!(ev.id, "ev-cli");
    assert!(ev.payload.get().contains(r#""Amount":100.00"#));

    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_engage-sign"))
        .args(["send", "--encrypt", "rot13", "x.json"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// A Function URL request carrying `body`, signed now by engage-sign (badly when `bad`).
fn function_url_request(body: &str, bad: bool) -> lambda_http::Request {
    let signed = sign(
        SIGNING_SECRET,
        "msg_x",
        engage_sign::now_seconds(),
        body,
        bad,
    )
    .unwrap();
    engage_testkit::request(engage_testkit::Shape::FunctionUrl, body, &signed.pairs())
}
