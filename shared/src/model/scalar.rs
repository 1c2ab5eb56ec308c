use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// A decimal amount, kept as the exact text Engage sent: never parsed into `f64`.
/// Accepts a JSON number or a string holding one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal(String);

impl Decimal {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(d)?;
        let text = raw.get();
        let number = match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            Some(inner) => inner.trim(),
            None => text,
        };
        if is_json_number(number) {
            Ok(Decimal(number.to_string()))
        } else {
            Err(D::Error::custom("invalid type: expected a decimal number"))
        }
    }
}

/// JSON's number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(c) if c.is_ascii_digit() => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// An identifier that Engage's examples show sometimes as a string, sometimes as a number
/// (`pointDefinitionId: Int`, `definitionId: String`): either is accepted, kept as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Id(String);

impl Id {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(d)?;
        let text = raw.get();
        if text.starts_with('"') {
            let s: String = serde_json::from_str(text).map_err(D::Error::custom)?;
            Ok(Id(s))
        } else if is_json_number(text) {
            Ok(Id(text.to_string()))
        } else {
            Err(D::Error::custom(
                "invalid type: expected a string or number id",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_their_exact_text() {
        for (json, text) in [
            ("12.50", "12.50"),
            ("-0.10", "-0.10"),
            ("100", "100"),
            (
                "0.1000000000000000055511151231257827",
                "0.1000000000000000055511151231257827",
            ),
            ("1E+2", "1E+2"),
            ("\"99.90\"", "99.90"),
        ] {
            let d: Decimal = serde_json::from_str(json).unwrap();
            assert_eq!(d.as_str(), text);
        }
    }

    #[test]
    fn non_numbers_are_not_decimals() {
        for json in [
            "\"abc\"", "true", "null", "{}", "\"1.\"", "\"01\"", "\"-\"", "\"1e\"",
        ] {
            assert!(serde_json::from_str::<Decimal>(json).is_err(), "{json}");
        }
    }

    #[test]
    fn ids_accept_strings_and_numbers() {
        assert_eq!(
            serde_json::from_str::<Id>("\"a-1\"").unwrap().as_str(),
            "a-1"
        );
        assert_eq!(serde_json::from_str::<Id>("42").unwrap().as_str(), "42");
        assert!(serde_json::from_str::<Id>("[1]").is_err());
    }
}
