//! Requests as the access checks see them: from a chosen client address (the event's
//! `requestContext.http.sourceIp`, which AWS fills in and the function reads), with any body
//! bytes (base64-encoded in the event, as API Gateway and Function URLs pass a body that is not
//! text), signed with any secret.

use crate::fixtures::repo_root;
use crate::requests::Shape;
use base64::Engine;
use lambda_http::Request;
use serde_json::Value;

/// A Lambda request of `shape` from `source_ip` carrying `body` and `headers`, parsed by
/// lambda_http as the runtime parses a real event. A body that is not UTF-8, and every body of
/// [`Shape::FunctionUrlBase64`], travels base64-encoded (`isBase64Encoded: true`).
pub fn request_from(
    shape: Shape,
    source_ip: &str,
    body: &[u8],
    headers: &[(String, String)],
) -> Request {
    let file = match shape {
        Shape::ApiGatewayHttp => "apigw-http-v2.json",
        Shape::FunctionUrl | Shape::FunctionUrlBase64 => "function-url.json",
    };
    let path = repo_root().join("events/requests").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut event: Value = serde_json::from_str(&text).expect("a JSON request shape");
    event["requestContext"]["http"]["sourceIp"] = Value::String(source_ip.into());
    for (k, v) in headers {
        event["headers"][k.to_ascii_lowercase()] = Value::String(v.clone());
    }
    match std::str::from_utf8(body) {
        Ok(text) if shape != Shape::FunctionUrlBase64 => {
            event["body"] = Value::String(text.into());
        }
        _ => {
            event["body"] = Value::String(base64::engine::general_purpose::STANDARD.encode(body));
            event["isBase64Encoded"] = Value::Bool(true);
        }
    }
    lambda_http::request::from_str(&event.to_string()).expect("a valid Lambda HTTP event")
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
