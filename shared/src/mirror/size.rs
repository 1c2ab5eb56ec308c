//! How much of DynamoDB's 400 KB item a write takes, by DynamoDB's own sizing rules, so that a
//! change that could never fit is refused (400 `invalid_payload`) before anything is written
//! instead of failing at every one of Svix's retries.
//!
//! The budget of one contact item: the profile up to [`MAX_PROFILE_BYTES`], each preference
//! or consent entry up to [`MAX_ENTRY_BYTES`]; the key, tenant and bookkeeping are small. The
//! sum over many consents is bounded by DynamoDB itself: a write that would take the item
//! past 400 KB is refused by DynamoDB, and that refusal is answered 400 `invalid_payload`
//! too (see `commit`), with nothing written.

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// DynamoDB's limit for one item (names and values).
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// The profile attribute (name and map), at most: three quarters of the item, leaving room
/// for the preferences and consents.
pub const MAX_PROFILE_BYTES: usize = 300 * 1024;
/// One preference or consent entry (name, value and its change time and event id), at most.
/// Engage's consents are booleans or short texts; anything near this is not a consent.
pub const MAX_ENTRY_BYTES: usize = 16 * 1024;

/// A preference or consent entry besides its attribute name, value, change time text and
/// event id: the map's overhead, its four field names and the change time in microseconds.
const ENTRY_OVERHEAD_BYTES: usize = 64;

/// The size of a preference or consent entry (see `item`), an upper bound.
pub fn entry_bytes(
    attribute: &str,
    value: &AttributeValue,
    at_text: &str,
    event_id: &str,
) -> usize {
    attribute_bytes(attribute, value) + at_text.len() + event_id.len() + ENTRY_OVERHEAD_BYTES
}

/// The size of a map attribute `name` holding `fields`.
pub fn map_attribute_bytes(name: &str, fields: &HashMap<String, AttributeValue>) -> usize {
    name.len() + map_bytes(fields)
}

fn map_bytes(fields: &HashMap<String, AttributeValue>) -> usize {
    3 + fields
        .iter()
        .map(|(k, v)| 1 + attribute_bytes(k, v))
        .sum::<usize>()
}

/// The size of attribute `name` holding `value`.
pub fn attribute_bytes(name: &str, value: &AttributeValue) -> usize {
    name.len() + value_bytes(value)
}

/// DynamoDB's size of a value: strings and binaries by their bytes, a number by about half
/// its significant digits plus one, booleans and nulls one byte, a list or map 3 bytes plus
/// one per element plus its elements (and their names).
pub fn value_bytes(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_bytes(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + value_bytes(v)).sum::<usize>(),
        AttributeValue::M(map) => map_bytes(map),
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Ns(set) => set.iter().map(|n| number_bytes(n)).sum(),
        AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len()).sum(),
        // A kind added to the SDK later: counted at its largest plausible, never as nothing.
        _ => MAX_ITEM_BYTES,
    }
}

/// Every digit is counted, leading and trailing zeros too: an upper bound of DynamoDB's size.
fn number_bytes(n: &str) -> usize {
    let mantissa = n.split(['e', 'E']).next().unwrap_or(n);
    let digits = mantissa.bytes().filter(u8::is_ascii_digit).count();
    digits.div_ceil(2) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_dynamodbs_rules() {
        assert_eq!(attribute_bytes("name", &AttributeValue::S("åbc".into())), 8);
        assert_eq!(value_bytes(&AttributeValue::N("12345".into())), 4);
        assert_eq!(value_bytes(&AttributeValue::N("-1.5E+3".into())), 2);
        assert_eq!(value_bytes(&AttributeValue::Bool(true)), 1);
        assert_eq!(value_bytes(&AttributeValue::Null(true)), 1);
        let list = AttributeValue::L(vec![AttributeValue::S("ab".into()); 2]);
        assert_eq!(value_bytes(&list), 3 + 2 * 3);
        let map = AttributeValue::M(HashMap::from([("k".into(), list)]));
        assert_eq!(value_bytes(&map), 3 + 1 + 1 + 9);
        let AttributeValue::M(fields) = &map else {
            unreachable!()
        };
        assert_eq!(map_attribute_bytes("profile", fields), 7 + 14);
        let entry = entry_bytes(
            "consent_terms",
            &AttributeValue::Bool(true),
            "2026-01-20T15:28:38Z",
            "e",
        );
        assert_eq!(entry, 13 + 1 + 20 + 1 + ENTRY_OVERHEAD_BYTES);
    }
}
