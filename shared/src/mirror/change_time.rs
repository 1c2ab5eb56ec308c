//! When a preference or consent changed: Engage's `dateChanged`, else when Svix created the
//! message (its id's time, the same on every retry), else the signed Svix timestamp of the
//! delivery. Kept both as sent (with its offset) and as UTC epoch
//! microseconds, which is what changes are ordered by.
//!
//! A `dateChanged` later than the message's own time (its Svix message time, else the signed
//! timestamp) plus [`MAX_AHEAD_OF_SIGNATURE`] (the signature's 5-minute tolerance) is not
//! believed: Engage cannot send a change before it happens, and believing it would freeze the
//! flag or consent until that date (every real later change would be stale). Such a change is
//! dated by its message time instead, like an undated one.

use crate::clock::now_millis;
use crate::error::WebhookError;
use crate::message_time::{MessageTime, MAX_AHEAD_OF_SIGNATURE};
use std::borrow::Cow;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeTime {
    /// As sent: `dateChanged` verbatim, or the Svix timestamp in RFC 3339 UTC.
    pub text: String,
    /// The same instant in UTC epoch microseconds (finer digits are truncated).
    pub micros: i64,
}

impl ChangeTime {
    /// An RFC 3339 date-time. Leniently, an offset written with hours only (`+01`, as
    /// PostgreSQL prints it) or without its colon (`+0100`) is read as `+01:00`: Voyado does
    /// not publish these payloads, and refusing a readable time would only stall the event.
    pub fn parse(text: &str) -> Option<ChangeTime> {
        let at = OffsetDateTime::parse(&with_full_offset(text), &Rfc3339).ok()?;
        Some(ChangeTime {
            text: text.to_string(),
            micros: i64::try_from(at.unix_timestamp_nanos() / 1000).ok()?,
        })
    }

    pub fn at_unix_seconds(seconds: i64) -> ChangeTime {
        ChangeTime {
            text: utc_text(seconds),
            micros: seconds.saturating_mul(1_000_000),
        }
    }

    /// A message time (Unix milliseconds), as RFC 3339 UTC with milliseconds.
    pub fn at_unix_millis(millis: i64) -> ChangeTime {
        ChangeTime {
            text: utc_text_millis(millis),
            micros: millis.saturating_mul(1000),
        }
    }

    /// The change time of an event: its `dateChanged` (blank counts as absent) unless that is
    /// past the message's time plus the tolerance, else when Svix created the message (the
    /// same on every retry, so a late retry stays as old as it is), else when Svix signed this
    /// attempt, else now. An unreadable `dateChanged` is refused, unquoted.
    pub fn of_event(
        date_changed: Option<&str>,
        message_time: Option<MessageTime>,
        signed_at: Option<i64>,
    ) -> Result<ChangeTime, WebhookError> {
        let sent = match message_time {
            Some(created) => ChangeTime::at_unix_millis(created.millis()),
            None => ChangeTime::at_unix_seconds(signed_at.unwrap_or_else(|| now_millis() / 1000)),
        };
        let Some(text) = date_changed.filter(|d| !d.trim().is_empty()) else {
            return Ok(sent);
        };
        let dated = ChangeTime::parse(text).ok_or_else(|| {
            WebhookError::InvalidPayload("dateChanged is not an RFC 3339 date-time".into())
        })?;
        let latest = sent
            .micros
            .saturating_add(MAX_AHEAD_OF_SIGNATURE.as_micros() as i64);
        Ok(if dated.micros > latest { sent } else { dated })
    }
}

/// Unix seconds as RFC 3339 in UTC (`2026-01-20T15:28:38Z`).
pub fn utc_text(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

/// Unix milliseconds as RFC 3339 in UTC (`2026-01-20T15:28:38.984Z`).
pub fn utc_text_millis(millis: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

/// `+01` / `+0100` at the end (after `YYYY-MM-DDTHH:MM:SS`) become `+01:00`.
fn with_full_offset(text: &str) -> Cow<'_, str> {
    const DATE_AND_TIME: usize = "YYYY-MM-DDTHH:MM:SS".len();
    let Some(sign) = text
        .bytes()
        .rposition(|b| b == b'+' || b == b'-')
        .filter(|&at| at >= DATE_AND_TIME)
    else {
        return Cow::Borrowed(text);
    };
    // `sign` indexes an ASCII byte, so both slices fall on character boundaries.
    let (head, offset) = (&text[..=sign], &text[sign + 1..]);
    let digits = offset.bytes().all(|b| b.is_ascii_digit());
    match offset.len() {
        2 if digits => Cow::Owned(format!("{head}{offset}:00")),
        4 if digits => Cow::Owned(format!("{head}{}:{}", &offset[..2], &offset[2..])),
        _ => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UTC_15_28_38_985631: i64 = 1_768_922_918_985_631;

    #[test]
    fn rfc3339_in_every_offset_spelling_engage_uses() {
        for text in [
            "2026-01-20T16:28:38.985631+01:00",
            "2026-01-20T16:28:38.985631+01",
            "2026-01-20T16:28:38.985631+0100",
            "2026-01-20T15:28:38.985631Z",
            "2026-01-20T15:28:38.985631z",
            "2026-01-20T14:28:38.985631-01",
            "2026-01-20 15:28:38.985631+00:00",
            "2026-01-20T15:28:38.9856319Z",
        ] {
            let t = ChangeTime::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(t.micros, UTC_15_28_38_985631, "{text}");
            assert_eq!(t.text, text, "kept as sent");
        }
    }

    #[test]
    fn offsets_are_compared_in_utc() {
        let local = ChangeTime::parse("2026-03-01T10:00:00+01:00").unwrap();
        let utc = ChangeTime::parse("2026-03-01T09:30:00Z").unwrap();
        assert!(utc.micros > local.micros);
    }

    #[test]
    fn anything_else_is_refused_without_being_quoted() {
        for text in [
            "yesterday",
            "2026-01-20",
            "2026-01-20T16:28:38",
            "2026-01-20T16:28:38+1",
            "2026-01-20T16:28:38+01:0",
            "2026-13-20T16:28:38Z",
            "2026-01-20T16:28:38+24:00",
            "2026-01-20T16:28:38Zjunk",
            "20ä6-01-20T16:28:38+01",
        ] {
            assert!(ChangeTime::parse(text).is_none(), "{text}");
            let err = ChangeTime::of_event(Some(text), None, Some(0)).unwrap_err();
            assert_eq!(err.reason(), "invalid_payload");
            assert!(!err.to_string().contains(text), "{err}");
        }
    }

    #[test]
    fn without_date_changed_the_message_time_is_used_before_the_signed_timestamp() {
        let created = Some(MessageTime::from_millis(1_768_922_918_984));
        let t = ChangeTime::of_event(None, created, Some(1_768_999_999)).unwrap();
        assert_eq!(t.text, "2026-01-20T15:28:38.984Z");
        assert_eq!(t.micros, 1_768_922_918_984_000);
        assert_eq!(ChangeTime::parse(&t.text).unwrap().micros, t.micros);
        let dated = ChangeTime::of_event(Some("2026-01-20T16:28:38+01:00"), created, None);
        assert_eq!(
            dated.unwrap().micros,
            1_768_922_918_000_000,
            "dateChanged first"
        );
        let whole = ChangeTime::at_unix_millis(1_768_922_918_000);
        assert_eq!(ChangeTime::parse(&whole.text).unwrap().micros, whole.micros);
    }

    #[test]
    fn a_date_changed_past_the_message_time_and_tolerance_is_dated_by_the_message() {
        let created = Some(MessageTime::from_millis(1_768_922_918_984));
        let tolerance = "2026-01-20T15:33:38.984Z";
        assert_eq!(
            ChangeTime::of_event(Some(tolerance), created, None)
                .unwrap()
                .text,
            tolerance,
            "exactly at the tolerance: believed"
        );
        let t = ChangeTime::of_event(Some("2026-01-20T15:33:38.985Z"), created, None).unwrap();
        assert_eq!(t.text, "2026-01-20T15:28:38.984Z");
        assert_eq!(t.micros, 1_768_922_918_984_000);
        let far = ChangeTime::of_event(Some("2099-01-01T00:00:00+01"), None, Some(1_768_922_918));
        assert_eq!(
            far.unwrap().micros,
            1_768_922_918_000_000,
            "the signed time"
        );
        let past = ChangeTime::of_event(Some("2020-01-01T00:00:00Z"), created, None).unwrap();
        assert_eq!(
            past.text, "2020-01-01T00:00:00Z",
            "any past date is believed"
        );
    }

    #[test]
    fn without_date_changed_the_signed_timestamp_is_used() {
        let t = ChangeTime::of_event(None, None, Some(1_768_922_918)).unwrap();
        assert_eq!(t.text, "2026-01-20T15:28:38Z");
        assert_eq!(t.micros, 1_768_922_918_000_000);
        assert_eq!(
            ChangeTime::of_event(Some("  "), None, Some(5))
                .unwrap()
                .micros,
            5_000_000
        );
        let now = now_millis() * 1000;
        assert!((ChangeTime::of_event(None, None, None).unwrap().micros - now).abs() < 5_000_000);
    }
}
