//! When Svix created a message, read from the message's id: the order of `contact.updated`
//! snapshots, and the change time of last resort for a preference or consent.
//!
//! Svix names each message `msg_` followed by a KSUID with millisecond precision (svix-server
//! builds message ids with `svix_ksuid::KsuidMs`): 4 bytes of seconds since the KSUID epoch
//! (Unix 1 400 000 000, May 2014), 1 byte counting 4 ms steps within that second, then 15
//! random bytes, all in base62 (27 characters). The id, and so this time, is the same on every
//! retry of the message, while `svix-timestamp` is signed anew on every attempt.
//!
//! Svix does not document the id's format as a contract. Anything that is not exactly this
//! shape has no time (`None`) and its readers fall back to arrival order; so does an id whose
//! time is later than the attempt's signed timestamp allows.

use crate::signature::{delivery_id, delivery_timestamp};
use http::HeaderMap;
use std::str::FromStr;
use std::time::Duration;
use svix_ksuid::{KsuidLike, KsuidMs};

/// The prefix of Svix message ids.
pub const MESSAGE_ID_PREFIX: &str = "msg_";
/// A KSUID in base62.
const KSUID_CHARS: usize = 27;
/// The largest 160-bit value in base62: a larger 27-character string is not a KSUID.
const MAX_KSUID: &str = "aWgEPTl1tmebfsQzFP4bxwgy80V";
/// `KsuidMs` counts 4 ms steps in one byte, so a second has 250 of them (0..=249).
const STEPS_PER_SECOND: u8 = 250;
/// Svix creates a message before it signs any attempt of it; a message time later than the
/// attempt's signed timestamp by more than the signature tolerance is not believed.
pub const MAX_AHEAD_OF_SIGNATURE: Duration = Duration::from_secs(5 * 60);

/// When Svix created a message: Unix milliseconds, in steps of 4 ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageTime(i64);

impl MessageTime {
    /// The time of the delivery's message: its `svix-id` (or `webhook-id`), bounded by its
    /// signed timestamp.
    pub fn of_delivery(headers: &HeaderMap) -> Option<MessageTime> {
        MessageTime::of_message_id(delivery_id(headers)?, delivery_timestamp(headers))
    }

    /// The creation time of the Svix message `id`, if `id` is a Svix message id whose time is
    /// not after `signed_at` (Unix seconds, when known) plus [`MAX_AHEAD_OF_SIGNATURE`].
    pub fn of_message_id(id: &str, signed_at: Option<i64>) -> Option<MessageTime> {
        let ksuid = id.strip_prefix(MESSAGE_ID_PREFIX)?;
        // The crate decodes any base62 text and keeps its last 20 bytes, and reads a
        // non-ASCII character by its low byte: only an exact KSUID is passed to it.
        if ksuid.len() != KSUID_CHARS
            || !ksuid.bytes().all(|b| b.is_ascii_alphanumeric())
            || ksuid > MAX_KSUID
        {
            return None;
        }
        let parsed = KsuidMs::from_str(ksuid).ok()?;
        if parsed.bytes()[4] >= STEPS_PER_SECOND {
            return None;
        }
        let millis = parsed.timestamp_millis();
        let latest = signed_at.map_or(i64::MAX, |s| {
            s.saturating_mul(1000)
                .saturating_add(MAX_AHEAD_OF_SIGNATURE.as_millis() as i64)
        });
        (millis <= latest).then_some(MessageTime(millis))
    }

    pub const fn from_millis(millis: i64) -> MessageTime {
        MessageTime(millis)
    }

    /// Unix milliseconds.
    pub const fn millis(self) -> i64 {
        self.0
    }
}

/// A Svix message id created at `at_millis` (Unix ms) with a random part, as svix-server
/// builds them: for tests and tools that play Svix.
pub fn svix_message_id(at_millis: i64) -> String {
    format!(
        "{MESSAGE_ID_PREFIX}{}",
        KsuidMs::from_millis(Some(at_millis), None)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use svix_ksuid::Ksuid;

    /// 2026-01-20T15:28:38.985Z
    const NOW: i64 = 1_768_922_918_985;
    const SIGNED: Option<i64> = Some(NOW / 1000);

    fn time_of(id: &str) -> Option<i64> {
        MessageTime::of_message_id(id, SIGNED).map(MessageTime::millis)
    }

    #[test]
    fn a_svix_message_id_gives_its_creation_time_in_4_ms_steps() {
        for millis in [
            NOW,
            NOW - 3,
            NOW - 27 * 3600 * 1000,
            1_400_000_000_000,
            NOW + 60_000,
        ] {
            let id = svix_message_id(millis);
            assert_eq!(id.len(), 31, "{id}");
            assert_eq!(time_of(&id), Some(millis - millis % 4), "{id}");
        }
        let (a, b) = (svix_message_id(NOW), svix_message_id(NOW));
        assert_ne!(a, b, "random parts differ");
        assert_eq!(time_of(&a), time_of(&b));
    }

    #[test]
    fn times_order_like_the_messages_and_tie_within_a_4_ms_step() {
        let newer = time_of(&svix_message_id(NOW)).unwrap();
        assert!(time_of(&svix_message_id(NOW - 1000)).unwrap() < newer);
        assert_eq!(
            time_of(&svix_message_id(NOW - 1)),
            Some(newer),
            ".984 and .985 fall in one step"
        );
        assert!(time_of(&svix_message_id(NOW - 2)).unwrap() < newer);
    }

    #[test]
    fn anything_else_has_no_time() {
        let good = svix_message_id(NOW);
        let ksuid = &good[4..];
        for id in [
            "msg_abc".to_string(),
            // Svix's documentation example: 24 characters, not a KSUID.
            "msg_p5jXN8AQM9LWM0D4loKWxJek".to_string(),
            ksuid.to_string(),
            format!("evt_{ksuid}"),
            format!("msg_{ksuid}0"),
            format!("msg_{}", &ksuid[1..]),
            format!("msg_{}-", &ksuid[1..]),
            // A non-ASCII character whose low byte is '0'.
            format!("msg_{}İ", &ksuid[2..]),
            // Above 2^160.
            "msg_zzzzzzzzzzzzzzzzzzzzzzzzzzz".to_string(),
            "e8f7d6c5-1b2a-4c3d-9e0f-a1b2c3d4e5f6".to_string(),
            String::new(),
        ] {
            assert_eq!(time_of(&id), None, "{id}");
        }
    }

    #[test]
    fn a_time_after_the_signature_allows_is_not_believed() {
        let ahead = svix_message_id(NOW + MAX_AHEAD_OF_SIGNATURE.as_millis() as i64 + 1000);
        assert_eq!(time_of(&ahead), None);
        assert!(MessageTime::of_message_id(&ahead, None).is_some());
    }

    #[test]
    fn a_fifth_byte_that_is_no_4_ms_step_is_not_a_ksuid_ms() {
        let mut bytes = [0u8; 20];
        bytes[..4].copy_from_slice(&368_922_918u32.to_be_bytes());
        bytes[4] = 250;
        assert_eq!(time_of(&format!("msg_{}", Ksuid::from_bytes(bytes))), None);
        bytes[4] = 249;
        assert_eq!(
            time_of(&format!("msg_{}", Ksuid::from_bytes(bytes))),
            Some(1_768_922_918_996)
        );
    }

    #[test]
    fn the_extremes_decode_without_panicking() {
        let zero = format!("msg_{}", "0".repeat(KSUID_CHARS));
        assert_eq!(time_of(&zero), Some(1_400_000_000_000));
        let max = format!("msg_{MAX_KSUID}");
        assert_eq!(time_of(&max), None, "its fifth byte is 255");
    }

    #[test]
    fn the_delivery_headers_give_the_time_svix_id_first() {
        let id = svix_message_id(NOW);
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", HeaderValue::from_str(&id).unwrap());
        headers.insert("webhook-timestamp", HeaderValue::from(NOW / 1000));
        assert_eq!(
            MessageTime::of_delivery(&headers).map(MessageTime::millis),
            Some(NOW - 1)
        );
        headers.insert("svix-id", HeaderValue::from_static("msg_abc"));
        assert_eq!(MessageTime::of_delivery(&headers), None);
        assert_eq!(MessageTime::of_delivery(&HeaderMap::new()), None);
    }
}
