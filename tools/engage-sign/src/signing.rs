//! The Svix headers of one delivery attempt, built by the shared crate's
//! [`signed_headers`](engage_webhooks::signed_headers): the one place that names
//! and fills them, for the functions' own tests, this tool and the test kit alike.

use base64::Engine;
use http::HeaderMap;

/// The Svix headers of one delivery attempt (`svix-id`, `svix-timestamp`, `svix-signature`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    msg_id: String,
    timestamp: i64,
    headers: HeaderMap,
}

impl SignedHeaders {
    /// The message id (`svix-id`), the same on every retry of a message.
    pub fn msg_id(&self) -> &str {
        &self.msg_id
    }

    /// The attempt's signed time, Unix seconds (`svix-timestamp`).
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The signature header's value (`v1,<base64>`).
    pub fn signature(&self) -> &str {
        self.headers
            .get("svix-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The headers as a map, as a function receives them.
    pub fn header_map(&self) -> &HeaderMap {
        &self.headers
    }

    /// Adds a header sent beside the signature, such as the custom header Engage can be set to
    /// add (`ENGAGE_CUSTOM_HEADER`). `spec` is `Name: value`; the name and value are checked
    /// as HTTP allows, and neither is echoed in the error.
    pub fn with_header(mut self, spec: &str) -> Result<Self, String> {
        let (name, value) = spec
            .split_once(':')
            .ok_or("a header is given as Name: value")?;
        let name = http::HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| "the header name is not a valid HTTP header name".to_string())?;
        let value = http::HeaderValue::from_str(value.trim())
            .map_err(|_| "the header value is not a valid HTTP header value".to_string())?;
        self.headers.append(name, value);
        Ok(self)
    }

    /// The headers as (name, value) pairs, in the order Svix sends them.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_string(), value)
            })
            .collect()
    }
}

/// Signs `body` with `secret`; with `bad`, with a random secret instead, so the signature is
/// well-formed and verifies against nothing.
pub fn sign(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &str,
    bad: bool,
) -> Result<SignedHeaders, String> {
    let secret = if bad {
        random_secret()
    } else {
        secret.to_string()
    };
    let headers = engage_webhooks::signed_headers(&secret, msg_id, timestamp, body.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(SignedHeaders {
        msg_id: msg_id.to_string(),
        timestamp,
        headers,
    })
}

fn random_secret() -> String {
    let bytes: [u8; 24] = rand::random();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// A fresh Svix message id, created now, as svix-server creates them. The receivers read a
/// message's creation time from its id (ordering, and the change time of last resort), so an
/// id of random characters would date the message anywhere from 2014 to 2150 and make the
/// samples' outcomes depend on chance.
pub fn new_msg_id() -> String {
    engage_webhooks::svix_message_id(engage_webhooks::now_millis())
}

pub fn now_seconds() -> i64 {
    engage_webhooks::now_millis() / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn extra_headers_are_sent_beside_the_signature_and_bad_ones_are_refused() {
        let signed = sign(SECRET, "msg_1", 1, "{}", false)
            .unwrap()
            .with_header("X-Engage-Token:  s3cret ")
            .unwrap();
        assert_eq!(signed.header_map()["x-engage-token"], "s3cret");
        assert!(signed
            .pairs()
            .contains(&("x-engage-token".into(), "s3cret".into())));
        assert_eq!(signed.pairs().len(), 4, "the three svix headers stay");
        let no_colon = sign(SECRET, "msg_1", 1, "{}", false)
            .unwrap()
            .with_header("X-Engage-Token s3cret");
        assert!(no_colon.is_err());
        let bad_name = sign(SECRET, "msg_1", 1, "{}", false)
            .unwrap()
            .with_header("Bad Name: s3cret")
            .err()
            .unwrap();
        assert!(!bad_name.contains("s3cret"), "{bad_name}");
    }

    #[test]
    fn a_bad_signature_is_well_formed_and_different() {
        let good = sign(SECRET, "msg_1", 1, "{}", false).unwrap();
        let bad = sign(SECRET, "msg_1", 1, "{}", true).unwrap();
        assert!(bad.signature().starts_with("v1,"));
        assert_ne!(good.signature(), bad.signature());
    }

    #[test]
    fn a_new_message_id_is_a_svix_id_dated_now() {
        for _ in 0..200 {
            let before = engage_webhooks::now_millis();
            let id = new_msg_id();
            let after = engage_webhooks::now_millis();
            assert!(id.starts_with("msg_") && id.len() == 31, "{id}");
            let created = engage_webhooks::MessageTime::of_message_id(&id, Some(after / 1000))
                .unwrap_or_else(|| panic!("{id} has no message time"))
                .millis();
            // KsuidMs keeps 4 ms steps: the time is rounded down to one.
            assert!(created > before - 4 && created <= after, "{id}: {created}");
        }
        assert_ne!(new_msg_id(), new_msg_id(), "the random part differs");
    }

    /// The order the text and curl outputs print them in.
    #[test]
    fn the_headers_come_in_svix_order() {
        let h = sign(SECRET, "msg_1", 1700000000, "{}", false).unwrap();
        assert_eq!(
            h.pairs(),
            [
                ("svix-id".to_string(), "msg_1".to_string()),
                ("svix-timestamp".to_string(), "1700000000".to_string()),
                ("svix-signature".to_string(), h.signature().to_string()),
            ]
        );
        assert_eq!((h.msg_id(), h.timestamp()), ("msg_1", 1700000000));
        assert_eq!(h.header_map().len(), 3);
        assert!(sign("not-a-secret", "msg_1", 1, "{}", false).is_err());
    }
}
