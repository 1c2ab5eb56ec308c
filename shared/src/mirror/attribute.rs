//! Engage's JSON text converted to DynamoDB attribute values, exactly: numbers are sent to
//! DynamoDB as the digits Engage wrote (never through a float), strings, booleans, nulls,
//! lists and maps keep their shape and field names.
//!
//! The converter works on the raw text and recurses by peeking at each value's first
//! character. A number DynamoDB cannot hold (more than 38 significant digits, or a magnitude
//! outside 1E-130..1E+126) is kept as a string of the same text rather than rounded.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::value::RawValue;
use std::collections::HashMap;

/// DynamoDB nests documents at most 32 levels deep.
pub const MAX_DEPTH: usize = 32;
/// DynamoDB numbers carry at most 38 significant digits...
const MAX_DIGITS: usize = 38;
/// ... with a decimal exponent (of the leading digit) in this range.
const MIN_EXPONENT: i64 = -130;
const MAX_EXPONENT: i64 = 125;

/// Why a JSON text cannot be mirrored. Never carries the text itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unconvertible {
    Malformed,
    TooDeep,
    EmptyName,
}

impl Unconvertible {
    pub fn describe(self) -> &'static str {
        match self {
            Unconvertible::Malformed => "is not well-formed JSON",
            Unconvertible::TooDeep => "nests deeper than DynamoDB's 32 levels",
            Unconvertible::EmptyName => "has a field with an empty name",
        }
    }
}

/// One JSON value (any kind) as an attribute value.
pub fn from_json(text: &str) -> Result<AttributeValue, Unconvertible> {
    convert(text, 1)
}

/// A JSON object as the attribute map of a `M` value, leaving out the top-level fields named
/// in `skip`.
pub fn object_without(
    text: &str,
    skip: &[&str],
) -> Result<HashMap<String, AttributeValue>, Unconvertible> {
    map(text, 1, skip)
}

fn convert(text: &str, depth: usize) -> Result<AttributeValue, Unconvertible> {
    if depth > MAX_DEPTH {
        return Err(Unconvertible::TooDeep);
    }
    let text = text.trim_matches([' ', '\t', '\n', '\r']);
    match text.as_bytes().first() {
        Some(b'{') => Ok(AttributeValue::M(map(text, depth, &[])?)),
        Some(b'[') => {
            let items: Vec<&RawValue> =
                serde_json::from_str(text).map_err(|_| Unconvertible::Malformed)?;
            let list = items
                .into_iter()
                .map(|item| convert(item.get(), depth + 1))
                .collect::<Result<_, _>>()?;
            Ok(AttributeValue::L(list))
        }
        Some(b'"') => serde_json::from_str::<String>(text)
            .map(AttributeValue::S)
            .map_err(|_| Unconvertible::Malformed),
        Some(b't' | b'f') => serde_json::from_str::<bool>(text)
            .map(AttributeValue::Bool)
            .map_err(|_| Unconvertible::Malformed),
        Some(b'n') if text == "null" => Ok(AttributeValue::Null(true)),
        Some(b'-' | b'0'..=b'9') => match fits_dynamodb(text) {
            Some(true) => Ok(AttributeValue::N(text.to_string())),
            Some(false) => Ok(AttributeValue::S(text.to_string())),
            None => Err(Unconvertible::Malformed),
        },
        _ => Err(Unconvertible::Malformed),
    }
}

fn map(
    text: &str,
    depth: usize,
    skip: &[&str],
) -> Result<HashMap<String, AttributeValue>, Unconvertible> {
    let fields: HashMap<String, &RawValue> =
        serde_json::from_str(text).map_err(|_| Unconvertible::Malformed)?;
    fields
        .into_iter()
        .filter(|(name, _)| !skip.contains(&name.as_str()))
        .map(|(name, value)| {
            if name.is_empty() {
                return Err(Unconvertible::EmptyName);
            }
            Ok((name, convert(value.get(), depth + 1)?))
        })
        .collect()
}

/// `Some(true)` when `text` is a JSON number DynamoDB stores exactly, `Some(false)` when it is
/// a JSON number out of DynamoDB's range or precision, `None` when it is not a JSON number.
fn fits_dynamodb(text: &str) -> Option<bool> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (mantissa, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || (int.len() > 1 && int.starts_with('0')) {
        return None;
    }
    if frac.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    let exponent = match exponent {
        None => Some(0),
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if !all_digits(digits) {
                return None;
            }
            // Valid syntax; an exponent beyond i64 is simply out of range.
            e.parse::<i64>().ok()
        }
    };
    let digits: Vec<u8> = int.bytes().chain(frac.unwrap_or("").bytes()).collect();
    let Some(first) = digits.iter().position(|&d| d != b'0') else {
        return Some(true); // zero
    };
    let last = digits.iter().rposition(|&d| d != b'0').unwrap_or(first);
    let Some(exponent) = exponent else {
        return Some(false);
    };
    let leading = (int.len() as i64 - first as i64 - 1).checked_add(exponent);
    Some(
        last - first < MAX_DIGITS
            && leading.is_some_and(|e| (MIN_EXPONENT..=MAX_EXPONENT).contains(&e)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> AttributeValue {
        AttributeValue::N(s.into())
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    #[test]
    fn every_json_kind_converts() {
        let got = from_json(
            r#" {"a":"x\"y\u00e4","b":true,"c":null,"d":[1,"2",false,{"e":[]}],"f":{}} "#,
        )
        .unwrap();
        let want = AttributeValue::M(HashMap::from([
            ("a".into(), s("x\"yä")),
            ("b".into(), AttributeValue::Bool(true)),
            ("c".into(), AttributeValue::Null(true)),
            (
                "d".into(),
                AttributeValue::L(vec![
                    n("1"),
                    s("2"),
                    AttributeValue::Bool(false),
                    AttributeValue::M(HashMap::from([("e".into(), AttributeValue::L(vec![]))])),
                ]),
            ),
            ("f".into(), AttributeValue::M(HashMap::new())),
        ]));
        assert_eq!(got, want);
    }

    #[test]
    fn numbers_keep_the_text_engage_sent() {
        for text in [
            "0",
            "-0",
            "12.50",
            "0.1000000000000000055511151231257827",
            "12345678901234567890123456789012345678",
            "1E+2",
            "-2.5e-3",
            "1e-130",
            "9.9999999999999999999999999999999999999E+125",
            "100000000000000000000000000000000000000000000",
        ] {
            assert_eq!(from_json(text).unwrap(), n(text), "{text}");
        }
    }

    #[test]
    fn numbers_dynamodb_cannot_hold_stay_as_their_text() {
        for text in [
            "123456789012345678901234567890123456789",
            "1e126",
            "1e-131",
            "1e400",
            "-1e99999999999999999999999",
        ] {
            assert_eq!(from_json(text).unwrap(), s(text), "{text}");
        }
    }

    #[test]
    fn malformed_text_is_refused() {
        for text in [
            "", "nul", "tru", "01", "1.", ".5", "1e", "+1", "{", "[1,]", "x",
        ] {
            assert_eq!(from_json(text), Err(Unconvertible::Malformed), "{text}");
        }
    }

    #[test]
    fn depth_and_empty_names_are_bounded() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(from_json(&ok).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(from_json(&deep), Err(Unconvertible::TooDeep));
        assert_eq!(from_json(r#"{"a":{"":1}}"#), Err(Unconvertible::EmptyName));
    }

    #[test]
    fn objects_can_leave_fields_out() {
        let got = object_without(
            r#"{"keep":1,"changedValues":[{"value":"x"}]}"#,
            &["changedValues"],
        )
        .unwrap();
        assert_eq!(got, HashMap::from([("keep".into(), n("1"))]));
        assert_eq!(object_without("[1]", &[]), Err(Unconvertible::Malformed));
    }
}
