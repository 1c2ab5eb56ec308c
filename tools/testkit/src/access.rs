//! Requests as the access checks see them: from a chosen client address (the event's
//! `requestContext.http.sourceIp`, which AWS fills in and the function reads), with any body
//! bytes (base64-encoded in the event, as API Gateway and Function URLs pass a body that is not
//! text), signed with any secret.

use crate::fixtures::unique;
use crate::requests::{lambda_request, send, Shape};
use base64::Engine;
use engage_webhooks::{Settings, WebhookFunction};
use lambda_http::Request;
use std::collections::HashMap;

/// A Lambda request of `shape` from `source_ip` carrying `body` and `headers`, parsed by
/// lambda_http as the runtime parses a real event. A body that is not UTF-8, and every body of
/// [`Shape::FunctionUrlBase64`], travels base64-encoded (`isBase64Encoded: true`).
pub fn request_from(
    shape: Shape,
    source_ip: &str,
    body: &[u8],
    headers: &[(String, String)],
) -> Request {
    lambda_request(shape, Some(source_ip), body, headers)
}

/// A POST of `body` from `source_ip`, signed now with `secret` (over the raw bytes, as Svix's
/// HMAC is), with the `extra` headers besides the signature's.
pub fn signed_from(
    shape: Shape,
    source_ip: &str,
    secret: &str,
    body: impl AsRef<[u8]>,
    extra: &[(&str, &str)],
) -> Request {
    let body = body.as_ref();
    let mut headers = signature_headers_for_bytes(secret, &format!("msg_{}", unique("s")), body);
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    request_from(shape, source_ip, body, &headers)
}

/// `function`'s answer to [`signed_from`]`(shape, source_ip, secret, body, extra)`.
pub async fn send_signed(
    function: &impl WebhookFunction,
    shape: Shape,
    source_ip: &str,
    secret: &str,
    body: impl AsRef<[u8]>,
    extra: &[(&str, &str)],
) -> (u16, String) {
    send(function, signed_from(shape, source_ip, secret, body, extra)).await
}

/// Settings as a cold start reads them from the environment: `base`, then `extra` over it (a
/// blank value unsets a setting, as a blank variable does).
pub fn settings_with(
    base: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> Settings<impl Fn(&str) -> Option<String>> {
    let mut map: HashMap<String, String> = base
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (k, v) in extra {
        map.insert(k.to_string(), v.to_string());
    }
    Settings::new(move |k| map.get(k).cloned())
}

/// The three `svix-*` headers for any body bytes, signed now with `secret` exactly as Svix
/// signs (HMAC-SHA256 over `id.timestamp.body` with the secret's decoded key). Svix's own
/// signer refuses a body that is not UTF-8; this one signs it, so that a test can show such a
/// body refused for what it is, not for its signature.
pub fn signature_headers_for_bytes(
    secret: &str,
    msg_id: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64
        .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
        .expect("a base64 secret");
    let timestamp = engage_sign::now_seconds();
    let mut signed = format!("{msg_id}.{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    let mac = hmac_sha256::HMAC::mac(&signed, &key);
    vec![
        ("svix-id".into(), msg_id.into()),
        ("svix-timestamp".into(), timestamp.to_string()),
        ("svix-signature".into(), format!("v1,{}", b64.encode(mac))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::SIGNING_SECRET;

    #[test]
    fn the_byte_signer_signs_text_as_svix_does() {
        let body = br#"{"test": 2432232314}"#;
        let ours = signature_headers_for_bytes(SIGNING_SECRET, "msg_1", body);
        let ts: i64 = ours[1].1.parse().unwrap();
        let svix = engage_webhooks::sign(SIGNING_SECRET, "msg_1", ts, body).unwrap();
        assert_eq!(ours[2].1, svix);
    }

    #[test]
    fn the_source_address_and_raw_body_reach_the_request() {
        for shape in Shape::ALL {
            let req = request_from(shape, "2001:db8::7", &[0xff, 0x00, 0x41], &[]);
            assert_eq!(engage_webhooks::source_ip(&req), Some("2001:db8::7"));
            assert_eq!(req.body().as_ref(), &[0xff, 0x00, 0x41]);
        }
    }
}
