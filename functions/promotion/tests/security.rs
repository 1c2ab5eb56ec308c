//! Issue 9's defences through the real fan-out function, built from settings as a cold start
//! builds it, in every request shape: the source-IP lock, the custom header token, the UTF-8
//! body check, the tenant lock and per-family signing secrets (from the environment and from
//! Secrets Manager), their cold-start validation, and the order of the checks.
//!
//! "No effect" is shown on the local server: nothing in the queue and no dedup record, and
//! the same event accepted afterwards as a first delivery (`processed`, not `duplicate`).

use engage_testkit::*;
use engage_webhooks::{
    ConfigError, Family, FanOutFunction, ALLOWED_SOURCE_IPS, CONTACT_SIGNING_SECRETS,
    CUSTOM_HEADER, CUSTOM_HEADER_TOKENS, DEDUP_TABLE, PROMOTION_QUEUE_URL,
    PROMOTION_SIGNING_SECRETS, SECRETS_ARN, SIGNING_SECRETS, TENANTS,
};

const EVENT: &str = "promotion.multichannel.assigned";
/// Svix's published EU source addresses (docs.svix.com/receiving/source-ips), as docs/security.md
/// gives them to paste, and one documentation range for IPv4 CIDR edges.
const SVIX_EU: &str = "52.215.16.239, 54.216.8.72, 63.33.109.123, 2a05:d028:17:8000::/56";
const ALLOWED: &str =
    "52.215.16.239, 54.216.8.72, 63.33.109.123, 2a05:d028:17:8000::/56 198.51.100.64/26";
const SVIX_IP: &str = "52.215.16.239";
const STRANGER: &str = "203.0.113.9";
/// Other endpoints' secrets (Svix gives every endpoint its own).
const PROMOTION_SECRET: &str = "whsec_cHJvbW90aW9uLWVuZHBvaW50LXNlY3JldC0wMDAw";
const CONTACT_SECRET: &str = "whsec_Y29udGFjdC1lbmRwb2ludC1zZWNyZXQtMDAwMDAw";
const TOKEN_OLD: &str = "old-token-9f2c1d7e5b3a4c6d8e0f1a2b";
const TOKEN_NEW: &str = "new-token-1a2b3c4d5e6f7a8b9c0d3e4f";

/// The two request shapes (HTTP API and Function URL), and the Function URL's base64 body.
const SHAPES: [Shape; 3] = Shape::ALL;

struct Stack {
    rig: FanOutRig,
}

impl Stack {
    async fn new() -> Self {
        Stack {
            rig: FanOutRig::new(Family::Promotion, false).await,
        }
    }

    /// The function as a cold start builds it, from the stack's resources, the test signing
    /// secret as the shared list, and `extra` (a blank value unsets a setting).
    async fn function(&self, extra: &[(&str, &str)]) -> Result<FanOutFunction, ConfigError> {
        let base = [
            (DEDUP_TABLE, self.rig.table.as_str()),
            (PROMOTION_QUEUE_URL, self.rig.queue_url.as_str()),
            (SIGNING_SECRETS, SIGNING_SECRET),
        ];
        let settings = settings_with(&base, extra);
        FanOutFunction::from_settings(Family::Promotion, PROMOTION_QUEUE_URL, &settings).await
    }

    async fn built(&self, extra: &[(&str, &str)]) -> FanOutFunction {
        self.function(extra).await.expect("the settings are valid")
    }

    async fn messages(&self) -> usize {
        self.rig.messages().await.len()
    }

    async fn records(&self) -> usize {
        item_count(&self.rig.sdk, &self.rig.table).await
    }

    /// Nothing on the queue and no dedup record.
    async fn assert_no_effect(&self) {
        assert_eq!(self.messages().await, 0, "a refused request sends nothing");
        assert_eq!(self.records().await, 0, "a refused request records nothing");
    }
}

/// A fresh event from `ip`, signed now with `secret`, with `extra` headers: `f`'s answer.
async fn send_fresh(
    f: &FanOutFunction,
    shape: Shape,
    ip: &str,
    secret: &str,
    extra: &[(&str, &str)],
) -> (u16, String) {
    let (env, _) = fresh_envelope(EVENT);
    send(f, signed_from(shape, ip, secret, &env, extra)).await
}

/// A fresh event in every shape for each `(source address, extra headers)` case: each one
/// processed, and one message for each on the queue (which held none before).
async fn assert_all_served(stack: &Stack, f: &FanOutFunction, cases: &[(&str, &[(&str, &str)])]) {
    let mut served = 0;
    for shape in SHAPES {
        for (ip, extra) in cases {
            assert_eq!(
                send_fresh(f, shape, ip, SIGNING_SECRET, extra).await,
                processed(),
                "{ip} {extra:?} {shape:?}"
            );
            served += 1;
        }
    }
    assert_eq!(stack.messages().await, served);
}

/// Under each of `settings`, a fresh event in every shape from each of `ips`: processed.
async fn assert_served_under(stack: &Stack, settings: &[&[(&str, &str)]], ips: &[&str]) {
    for setting in settings {
        let f = stack.built(setting).await;
        for shape in SHAPES {
            for ip in ips {
                assert_eq!(
                    send_fresh(&f, shape, ip, SIGNING_SECRET, &[]).await,
                    processed(),
                    "{setting:?} {ip}"
                );
            }
        }
    }
}

/// A refusal before the signature, observed: one log line with status and reason, no AWS
/// call, no age (its headers are not believed), and none of `secrets` (addresses, tokens) in
/// the output.
async fn assert_refused_quietly(
    f: &FanOutFunction,
    req: lambda_http::Request,
    status: u16,
    reason: &'static str,
    secrets: &[&str],
) {
    let (got, out) = observe(f, req).await;
    let want = Want {
        family: "promotion",
        status,
        reason,
        event_type: "unknown",
        calls: 0,
        age: Age::Absent,
    };
    let (log, _) = check_delivery(&got, &out, &want);
    assert!(log.get("tenant").is_none_or(|t| t.is_null()), "{log}");
    let text = out.text();
    for s in secrets {
        assert!(!text.contains(s), "{s:?} leaked into the output:\n{text}");
    }
}

// --- Source-IP lock -----------------------------------------------------------------------

#[tokio::test]
async fn the_ip_lock_refuses_other_addresses_before_the_signature_with_no_effect() {
    let stack = Stack::new().await;
    let f = stack.built(&[(ALLOWED_SOURCE_IPS, ALLOWED)]).await;
    for shape in SHAPES {
        let (env, _) = fresh_envelope(EVENT);
        let body = env.as_bytes();
        // Not even signed: the address is refused first (403, not 401).
        let unsigned = request_from(shape, STRANGER, body, &[]);
        assert_eq!(
            send(&f, unsigned).await,
            refused(403, "source_ip_not_allowed")
        );
        // Correctly signed, and X-Forwarded-For names an allowed address: sourceIp decides.
        let forwarded = signed_from(
            shape,
            STRANGER,
            SIGNING_SECRET,
            body,
            &[("X-Forwarded-For", SVIX_IP)],
        );
        assert_eq!(
            send(&f, forwarded).await,
            refused(403, "source_ip_not_allowed")
        );
        // Just outside each range, on each side; IPv6 too.
        for outside in [
            "52.215.16.238",
            "52.215.16.240",
            "198.51.100.63",
            "198.51.100.128",
            "2a05:d028:17:7fff:ffff:ffff:ffff:ffff",
            "2a05:d028:17:8100::",
            "::1",
            "127.0.0.1",
        ] {
            assert_eq!(
                send_signed(&f, shape, outside, SIGNING_SECRET, body, &[]).await,
                refused(403, "source_ip_not_allowed"),
                "{outside} {shape:?}"
            );
        }
    }
    stack.assert_no_effect().await;

    // The edges just inside, a single address, and an IPv4-mapped IPv6 client: served.
    let inside = [
        SVIX_IP,
        "::ffff:52.215.16.239",
        "198.51.100.64",
        "198.51.100.127",
        "2a05:d028:17:8000::",
        "2a05:d028:17:80ff:ffff:ffff:ffff:ffff",
    ];
    let cases: Vec<(&str, &[(&str, &str)])> = inside.iter().map(|ip| (*ip, &[][..])).collect();
    assert_all_served(&stack, &f, &cases).await;
}

#[tokio::test]
async fn an_event_refused_for_its_address_is_processed_once_it_comes_from_svix() {
    let stack = Stack::new().await;
    let f = stack.built(&[(ALLOWED_SOURCE_IPS, SVIX_EU)]).await;
    let (env, _) = fresh_envelope(EVENT);
    for shape in SHAPES {
        assert_eq!(
            send_signed(&f, shape, STRANGER, SIGNING_SECRET, &env, &[]).await,
            refused(403, "source_ip_not_allowed")
        );
    }
    // The same event, now from Svix: a first delivery, not a duplicate.
    assert_eq!(
        send_signed(&f, Shape::FunctionUrl, SVIX_IP, SIGNING_SECRET, &env, &[],).await,
        processed()
    );
    assert_eq!(stack.messages().await, 1);
}

#[tokio::test]
async fn without_the_setting_every_address_is_served() {
    let stack = Stack::new().await;
    let settings: [&[(&str, &str)]; 3] = [
        &[],
        &[(ALLOWED_SOURCE_IPS, "")],
        &[(ALLOWED_SOURCE_IPS, " ,\n ")],
    ];
    assert_served_under(&stack, &settings, &[STRANGER, "2001:db8::1"]).await;
}

#[tokio::test]
async fn an_ip_refusal_is_one_log_line_without_the_address_and_no_aws_call() {
    let stack = Stack::new().await;
    let f = stack.built(&[(ALLOWED_SOURCE_IPS, SVIX_EU)]).await;
    for shape in SHAPES {
        let (env, _) = fresh_envelope(EVENT);
        let req = signed_from(
            shape,
            "203.0.113.77",
            SIGNING_SECRET,
            &env,
            &[("X-Forwarded-For", "198.51.100.222")],
        );
        assert_refused_quietly(
            &f,
            req,
            403,
            "source_ip_not_allowed",
            &["203.0.113.77", "198.51.100.222"],
        )
        .await;
    }
}

// --- Custom header token --------------------------------------------------------------------

fn header_settings(tokens: &str) -> [(&'static str, &str); 2] {
    [
        (CUSTOM_HEADER, "X-Engage-Token"),
        (CUSTOM_HEADER_TOKENS, tokens),
    ]
}

#[tokio::test]
async fn the_custom_header_must_carry_one_of_the_tokens() {
    let stack = Stack::new().await;
    let tokens = format!("{TOKEN_OLD},\n {TOKEN_NEW}");
    let f = stack.built(&header_settings(&tokens)).await;
    let mut last_byte = TOKEN_NEW.as_bytes().to_vec();
    *last_byte.last_mut().unwrap() ^= 0x01;
    let last_byte = String::from_utf8(last_byte).unwrap();
    for shape in SHAPES {
        let (env, _) = fresh_envelope(EVENT);
        let body = env.as_bytes();
        let from_svix =
            |extra: &[(&str, &str)]| signed_from(shape, SVIX_IP, SIGNING_SECRET, body, extra);
        // Missing, even unsigned: refused as a missing header (401), before the signature.
        let req = request_from(shape, SVIX_IP, body, &[]);
        assert_eq!(send(&f, req).await, refused(401, "invalid_custom_header"));
        for wrong in [
            last_byte.as_str(),
            "",
            "new-token",
            &format!("{TOKEN_NEW}x"),
            &format!("{TOKEN_OLD} {TOKEN_NEW}"),
            &format!("Bearer {TOKEN_NEW}"),
        ] {
            assert_eq!(
                send(&f, from_svix(&[("X-Engage-Token", wrong)])).await,
                refused(401, "invalid_custom_header"),
                "{wrong:?}"
            );
        }
        // The right token under another header name is still missing.
        assert_eq!(
            send(&f, from_svix(&[("X-Engage", TOKEN_NEW)])).await,
            refused(401, "invalid_custom_header")
        );
    }
    stack.assert_no_effect().await;

    // Either token (rotation), under the name in any case.
    let cases: [(&str, &[(&str, &str)]); 3] = [
        (SVIX_IP, &[("x-engage-token", TOKEN_OLD)]),
        (SVIX_IP, &[("X-ENGAGE-TOKEN", TOKEN_NEW)]),
        (SVIX_IP, &[("X-Engage-Token", TOKEN_NEW)]),
    ];
    assert_all_served(&stack, &f, &cases).await;
}

#[tokio::test]
async fn a_custom_header_refusal_is_one_log_line_without_the_token() {
    let stack = Stack::new().await;
    let f = stack.built(&header_settings(TOKEN_NEW)).await;
    let near = format!("{}X", &TOKEN_NEW[..TOKEN_NEW.len() - 1]);
    for shape in SHAPES {
        let (env, _) = fresh_envelope(EVENT);
        let req = signed_from(
            shape,
            SVIX_IP,
            SIGNING_SECRET,
            &env,
            &[("X-Engage-Token", &near)],
        );
        assert_refused_quietly(&f, req, 401, "invalid_custom_header", &[TOKEN_NEW, &near]).await;
    }
}

#[tokio::test]
async fn without_a_header_name_there_is_no_custom_header_check() {
    let stack = Stack::new().await;
    // Tokens alone do not turn the check on (the cold start warns instead).
    let settings: [&[(&str, &str)]; 2] = [
        &[],
        &[(CUSTOM_HEADER, " "), (CUSTOM_HEADER_TOKENS, TOKEN_NEW)],
    ];
    assert_served_under(&stack, &settings, &[STRANGER]).await;
}

// --- UTF-8 body (issue 10 item 6) -------------------------------------------------------------

#[tokio::test]
async fn a_correctly_signed_body_that_is_not_utf8_is_400_invalid_body_with_no_effect() {
    let stack = Stack::new().await;
    let f = stack.built(&[]).await;
    let (env, _) = fresh_envelope(EVENT);
    // The sample with one byte of its contact id replaced by an invalid UTF-8 byte.
    let mut body = env.into_bytes();
    let at = body
        .windows(8)
        .position(|w| w == b"515c1b2a")
        .expect("the sample contact");
    body[at] = 0xff;
    assert!(std::str::from_utf8(&body).is_err());
    for shape in SHAPES {
        // Correctly signed (over the raw bytes, as Svix's HMAC is): invalid_body, not 401.
        assert_eq!(
            send_signed(&f, shape, SVIX_IP, SIGNING_SECRET, &body, &[]).await,
            refused(400, "invalid_body"),
            "{shape:?}"
        );
        // Signed with a secret nobody here knows: still invalid_body, the check comes first.
        assert_eq!(
            send_signed(&f, shape, SVIX_IP, CONTACT_SECRET, &body, &[]).await,
            refused(400, "invalid_body"),
            "{shape:?}"
        );
    }
    stack.assert_no_effect().await;
    let req = signed_from(
        Shape::FunctionUrlBase64,
        SVIX_IP,
        SIGNING_SECRET,
        &body,
        &[],
    );
    assert_refused_quietly(&f, req, 400, "invalid_body", &[]).await;
}

// --- Tenant lock ---------------------------------------------------------------------------

#[tokio::test]
async fn a_signed_event_of_another_tenant_is_403_with_no_effect() {
    let stack = Stack::new().await;
    let f = stack
        .built(&[(TENANTS, "otherRetailer, mytenantname")])
        .await;
    let (refused_event, _) = fresh_envelope(EVENT);
    for shape in SHAPES {
        // The sample's tenant is myTenantName: neither listed name (exact, case-sensitive).
        assert_eq!(
            send_signed(&f, shape, SVIX_IP, SIGNING_SECRET, &refused_event, &[],).await,
            refused(403, "tenant_not_allowed")
        );
        // Before routing: an unknown type or another family's event of that tenant, too.
        let (unknown, _) = fresh_envelope(EVENT);
        let unknown = with_fields(&unknown, &[("eventType", "\"promotion.expired\"")]);
        assert_eq!(
            send_signed(&f, shape, SVIX_IP, SIGNING_SECRET, &unknown, &[]).await,
            refused(403, "tenant_not_allowed")
        );
        let (points, _) = fresh_envelope("loyalty.addPoints");
        assert_eq!(
            send_signed(&f, shape, SVIX_IP, SIGNING_SECRET, &points, &[]).await,
            refused(403, "tenant_not_allowed")
        );
    }
    stack.assert_no_effect().await;

    // Observed: one log line, signed (so its age is known), no AWS call, no payload value.
    let (env, _) = fresh_envelope(EVENT);
    let (got, out) = observe(&f, signed_request(Shape::FunctionUrl, &env)).await;
    let want = Want {
        family: "promotion",
        status: 403,
        reason: "tenant_not_allowed",
        event_type: EVENT,
        calls: 0,
        age: Age::SignedNow,
    };
    check_delivery(&got, &out, &want);
    assert_private(&out, &[&env]);

    // Listed, and without the setting: served.
    for setting in [&[(TENANTS, "otherRetailer myTenantName")][..], &[]] {
        let f = stack.built(setting).await;
        for shape in SHAPES {
            let (env, _) = fresh_envelope(EVENT);
            assert_eq!(deliver(&f, shape, &env).await, processed(), "{setting:?}");
        }
    }
    // The refused event itself is a first delivery once its tenant is served.
    let f = stack.built(&[(TENANTS, "myTenantName")]).await;
    assert_eq!(
        deliver(&f, Shape::FunctionUrl, &refused_event).await,
        processed()
    );
}

// --- Per-family signing secrets ----------------------------------------------------------

#[tokio::test]
async fn a_function_with_its_own_secrets_accepts_only_them() {
    let stack = Stack::new().await;
    let f = stack
        .built(&[
            (PROMOTION_SIGNING_SECRETS, PROMOTION_SECRET),
            (CONTACT_SIGNING_SECRETS, CONTACT_SECRET),
        ])
        .await;
    for shape in SHAPES {
        // The shared list (still set) and another endpoint's secret are refused.
        for other in [SIGNING_SECRET, CONTACT_SECRET] {
            assert_eq!(
                send_fresh(&f, shape, SVIX_IP, other, &[]).await,
                refused(401, "invalid_signature")
            );
        }
        assert_eq!(
            send_fresh(&f, shape, SVIX_IP, PROMOTION_SECRET, &[]).await,
            processed()
        );
    }
    assert_eq!(stack.messages().await, SHAPES.len());

    // Only the shared list: an event signed with it is accepted through it, and another
    // family's own list does not change this function.
    let f = stack
        .built(&[(CONTACT_SIGNING_SECRETS, CONTACT_SECRET)])
        .await;
    assert_only_the_shared_secret_is_accepted(&f).await;
    // The family's list alone, no shared one.
    let f = stack
        .built(&[
            (SIGNING_SECRETS, ""),
            (PROMOTION_SIGNING_SECRETS, PROMOTION_SECRET),
        ])
        .await;
    assert_eq!(
        send_fresh(&f, Shape::ApiGatewayHttp, SVIX_IP, PROMOTION_SECRET, &[]).await,
        processed()
    );
}

/// In every shape: an event signed with the shared test secret is processed, one signed with
/// the contact endpoint's secret is refused.
async fn assert_only_the_shared_secret_is_accepted(f: &FanOutFunction) {
    for shape in SHAPES {
        assert_eq!(
            send_fresh(f, shape, SVIX_IP, SIGNING_SECRET, &[]).await,
            processed()
        );
        assert_eq!(
            send_fresh(f, shape, SVIX_IP, CONTACT_SECRET, &[]).await,
            refused(401, "invalid_signature")
        );
    }
}

async fn new_secret(sdk: &aws_config::SdkConfig, value: &str) -> String {
    aws_sdk_secretsmanager::Client::new(sdk)
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

#[tokio::test]
async fn per_family_secrets_and_header_tokens_come_from_secrets_manager() {
    let stack = Stack::new().await;
    let sdk = &stack.rig.sdk;
    let arn = new_secret(
        sdk,
        &format!(
            r#"{{"promotionSigningSecrets":"{PROMOTION_SECRET}","contactSigningSecrets":"{CONTACT_SECRET}","signingSecrets":"{SIGNING_SECRET}","customHeaderTokens":"{TOKEN_OLD} {TOKEN_NEW}"}}"#
        ),
    )
    .await;
    // The secret replaces the environment: its own variables are ignored.
    let f = stack
        .built(&[
            (SECRETS_ARN, &arn),
            (CUSTOM_HEADER, "X-Engage-Token"),
            (CUSTOM_HEADER_TOKENS, "env-token-is-not-used"),
            (PROMOTION_SIGNING_SECRETS, SIGNING_SECRET),
        ])
        .await;
    for shape in SHAPES {
        for (secret, token, want) in [
            (PROMOTION_SECRET, TOKEN_OLD, processed()),
            (PROMOTION_SECRET, TOKEN_NEW, processed()),
            (
                PROMOTION_SECRET,
                "env-token-is-not-used",
                refused(401, "invalid_custom_header"),
            ),
            (SIGNING_SECRET, TOKEN_NEW, refused(401, "invalid_signature")),
            (CONTACT_SECRET, TOKEN_NEW, refused(401, "invalid_signature")),
        ] {
            assert_eq!(
                send_fresh(&f, shape, SVIX_IP, secret, &[("X-Engage-Token", token)]).await,
                want,
                "{shape:?} {token}"
            );
        }
    }

    // A secret with only the shared list (and another family's): accepted through it.
    let arn = new_secret(
        sdk,
        &format!(r#"{{"signingSecrets":"{SIGNING_SECRET}","contactSigningSecrets":"{CONTACT_SECRET}","promotionSigningSecrets":""}}"#),
    )
    .await;
    let f = stack.built(&[(SECRETS_ARN, &arn)]).await;
    assert_only_the_shared_secret_is_accepted(&f).await;

    // A header name with no token in the secret stops the cold start, naming the field.
    let err = stack
        .function(&[(SECRETS_ARN, &arn), (CUSTOM_HEADER, "X-Engage-Token")])
        .await
        .err()
        .expect("no token");
    assert_eq!(
        err.to_string(),
        "ENGAGE_SECRETS_ARN (customHeaderTokens) is invalid: ENGAGE_CUSTOM_HEADER is set but no token is given"
    );
    // A secret with neither this family's list nor the shared one.
    let arn = new_secret(
        sdk,
        &format!(r#"{{"contactSigningSecrets":"{CONTACT_SECRET}"}}"#),
    )
    .await;
    let err = stack
        .function(&[(SECRETS_ARN, &arn)])
        .await
        .err()
        .expect("no list");
    let text = err.to_string();
    assert!(text.starts_with("ENGAGE_SECRETS_ARN is invalid"), "{text}");
    assert!(text.contains("promotionSigningSecrets is empty"), "{text}");
    assert!(!text.contains("whsec_"), "{text}");
}

// --- Cold-start validation ------------------------------------------------------------------

#[tokio::test]
async fn malformed_access_settings_stop_the_cold_start_naming_the_variable() {
    let stack = Stack::new().await;
    let cases: [(&[(&str, &str)], &str); 6] = [
        (
            &[(ALLOWED_SOURCE_IPS, "52.215.16.239, 10.0.0.300")],
            "ENGAGE_ALLOWED_SOURCE_IPS is invalid: entry 2 is not an IP address or CIDR range",
        ),
        (
            &[(ALLOWED_SOURCE_IPS, "2a05:d028:17:8000::/56 10.1.2.3/8")],
            "ENGAGE_ALLOWED_SOURCE_IPS is invalid: entry 2 has bits set after its prefix length (write the range's first address)",
        ),
        (
            &[(CUSTOM_HEADER, "X-Engage-Token")],
            "ENGAGE_CUSTOM_HEADER_TOKENS is invalid: ENGAGE_CUSTOM_HEADER is set but no token is given",
        ),
        (
            &[(CUSTOM_HEADER, "X-Engage-Token"), (CUSTOM_HEADER_TOKENS, " , ")],
            "ENGAGE_CUSTOM_HEADER_TOKENS is invalid: ENGAGE_CUSTOM_HEADER is set but no token is given",
        ),
        (
            &[(CUSTOM_HEADER, "X Engage Token"), (CUSTOM_HEADER_TOKENS, TOKEN_NEW)],
            "ENGAGE_CUSTOM_HEADER is invalid: is not a valid HTTP header name",
        ),
        (
            &[(SIGNING_SECRETS, "")],
            "neither ENGAGE_PROMOTION_SIGNING_SECRETS nor ENGAGE_SIGNING_SECRETS is set (one of them is needed)",
        ),
    ];
    for (settings, message) in cases {
        let err = stack.function(settings).await.err().expect("must fail");
        assert_eq!(err.to_string(), message);
        assert!(!err.to_string().contains("10.0.0.300"));
    }
    let err = stack
        .function(&[(
            PROMOTION_SIGNING_SECRETS,
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw nope",
        )])
        .await
        .err()
        .expect("must fail");
    assert_eq!(
        err.to_string(),
        "ENGAGE_PROMOTION_SIGNING_SECRETS is invalid: entry 2 does not start with whsec_"
    );
}

// --- The order of the checks ----------------------------------------------------------------

#[tokio::test]
async fn the_checks_run_in_the_contract_order() {
    let stack = Stack::new().await;
    let f = stack
        .built(&[
            (ALLOWED_SOURCE_IPS, SVIX_EU),
            (CUSTOM_HEADER, "X-Engage-Token"),
            (CUSTOM_HEADER_TOKENS, TOKEN_NEW),
            (TENANTS, "otherRetailer"),
        ])
        .await;
    let (env, _) = fresh_envelope(EVENT);
    let text = env.as_bytes();
    let mut broken = text.to_vec();
    broken[0] = 0xfe;
    let big = vec![b' '; (1 << 20) + 1];
    let token = [("X-Engage-Token", TOKEN_NEW)];
    for shape in SHAPES {
        let unsigned = |ip: &str, body: &[u8], h: &[(&str, &str)]| {
            let h: Vec<(String, String)> = h
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            request_from(shape, ip, body, &h)
        };
        let mut get = unsigned(STRANGER, &broken, &[]);
        *get.method_mut() = lambda_http::http::Method::GET;
        let steps: Vec<(lambda_http::Request, (u16, String))> = vec![
            (get, refused(405, "method_not_allowed")),
            (
                unsigned(STRANGER, &big, &[]),
                refused(413, "payload_too_large"),
            ),
            (
                unsigned(STRANGER, &broken, &[]),
                refused(403, "source_ip_not_allowed"),
            ),
            (
                unsigned(SVIX_IP, &broken, &[]),
                refused(401, "invalid_custom_header"),
            ),
            (
                unsigned(SVIX_IP, &broken, &token),
                refused(400, "invalid_body"),
            ),
            (
                unsigned(SVIX_IP, text, &token),
                refused(401, "missing_signature"),
            ),
            (
                signed_from(shape, SVIX_IP, CONTACT_SECRET, text, &token),
                refused(401, "invalid_signature"),
            ),
            (
                signed_from(shape, SVIX_IP, SIGNING_SECRET, b"{\"tenant\":1}", &token),
                refused(400, "invalid_envelope"),
            ),
            (
                signed_from(shape, SVIX_IP, SIGNING_SECRET, text, &token),
                refused(403, "tenant_not_allowed"),
            ),
        ];
        for (i, (req, want)) in steps.into_iter().enumerate() {
            assert_eq!(send(&f, req).await, want, "step {} {shape:?}", i + 1);
        }
    }
    stack.assert_no_effect().await;
}
