//! Keys built from a tenant and an id: the dedup record's key, the contact mirror item's key,
//! the FIFO deduplication id and the FIFO message group.
//!
//! The plain form is `<tenant>#<id>`, which is what dedup records have always been keyed by.
//! It is unambiguous only while the tenant holds no `#` (tenant `a#b` with id `c` and tenant
//! `a` with id `b#c` would share `a#b#c`), and it must fit its store. Anything else gets the
//! hashed form `sha256:` + 64 hex digits, over the tenant's length, the tenant and the id. A
//! hashed key has no `#`, and every plain key has one, so the two forms never meet; and
//! records of tenants without `#` keep the keys they were written under.

use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// DynamoDB's limit for a partition key, in UTF-8 bytes.
pub const MAX_DEDUP_KEY_BYTES: usize = 2048;
/// SQS's limit for `MessageDeduplicationId` and `MessageGroupId`, in characters.
pub const MAX_FIFO_ID_CHARS: usize = 128;
const HASHED_PREFIX: &str = "sha256:";

/// The dedup table key of event `id` of `tenant`.
pub fn dedup_key(tenant: &str, id: &str) -> String {
    scoped(tenant, id, |key| key.len() <= MAX_DEDUP_KEY_BYTES)
}

/// The contacts table key (`contactId`) of Engage contact `contact_id` of `tenant`: a stack
/// may serve several tenants, and one tenant's events must never touch another's contact
/// with the same id. A shop reads its contact with `GetItem` on `<tenant>#<contactId>`
/// (Engage tenant names hold no `#`; see docs/contact-mirror.md).
pub fn mirror_key(tenant: &str, contact_id: &str) -> String {
    scoped(tenant, contact_id, |key| key.len() <= MAX_DEDUP_KEY_BYTES)
}

/// A FIFO `MessageDeduplicationId` or `MessageGroupId` for `id` of `tenant`: at most 128
/// characters, each alphanumeric or punctuation (`!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~`), which
/// is exactly ASCII's visible characters.
pub fn fifo_id(tenant: &str, id: &str) -> String {
    scoped(tenant, id, |key| {
        key.len() <= MAX_FIFO_ID_CHARS && key.bytes().all(|b| b.is_ascii_graphic())
    })
}

fn scoped(tenant: &str, id: &str, fits: impl Fn(&str) -> bool) -> String {
    if !tenant.contains('#') {
        let plain = format!("{tenant}#{id}");
        if fits(&plain) {
            return plain;
        }
    }
    hashed(tenant, id)
}

fn hashed(tenant: &str, id: &str) -> String {
    let mut h = Sha256::new();
    h.update((tenant.len() as u64).to_be_bytes());
    h.update(tenant.as_bytes());
    h.update(id.as_bytes());
    let mut out = String::with_capacity(HASHED_PREFIX.len() + 64);
    out.push_str(HASHED_PREFIX);
    for b in h.finalize() {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_without_a_hash_sign_keep_the_plain_key() {
        assert_eq!(dedup_key("myTenantName", "e-1"), "myTenantName#e-1");
        assert_eq!(dedup_key("t", "a#b"), "t#a#b");
        assert_eq!(fifo_id("myTenantName", "515c1b2a"), "myTenantName#515c1b2a");
    }

    #[test]
    fn a_hash_sign_in_the_tenant_cannot_make_two_events_meet() {
        let a = dedup_key("a#b", "c");
        let b = dedup_key("a", "b#c");
        assert_eq!(b, "a#b#c");
        assert_ne!(a, b);
        assert!(a.starts_with("sha256:") && !a.contains('#'), "{a}");
        assert_eq!(a.len(), 71);
        assert_eq!(dedup_key("a#b", "c"), a, "stable");
        assert_ne!(dedup_key("a#", "bc"), dedup_key("a#b", "c"));
        assert_ne!(fifo_id("a#b", "c"), fifo_id("a", "b#c"));
    }

    #[test]
    fn a_mirror_key_is_the_tenant_and_the_contact_id() {
        assert_eq!(
            mirror_key("myTenantName", "515c1b2a-7124-4bb9-826b-aedbbe5da8c4"),
            "myTenantName#515c1b2a-7124-4bb9-826b-aedbbe5da8c4"
        );
        assert_ne!(mirror_key("a#b", "c"), mirror_key("a", "b#c"));
        assert!(mirror_key("t", &"c".repeat(MAX_DEDUP_KEY_BYTES)).starts_with(HASHED_PREFIX));
    }

    #[test]
    fn tenants_scope_every_key() {
        assert_ne!(mirror_key("t1", "c"), mirror_key("t2", "c"));
        assert_ne!(dedup_key("t1", "e"), dedup_key("t2", "e"));
        assert_ne!(fifo_id("t1", "e"), fifo_id("t2", "e"));
        let long = "e".repeat(200);
        assert_ne!(fifo_id("t1", &long), fifo_id("t2", &long));
        assert_ne!(
            dedup_key("t1", &"e".repeat(3000)),
            dedup_key("t2", &"e".repeat(3000))
        );
    }

    #[test]
    fn keys_fit_their_store() {
        let fits = "x".repeat(MAX_DEDUP_KEY_BYTES - 2);
        assert_eq!(dedup_key("t", &fits), format!("t#{fits}"));
        let long = "x".repeat(MAX_DEDUP_KEY_BYTES);
        assert!(dedup_key("t", &long).starts_with(HASHED_PREFIX));
        assert_eq!(fifo_id("t", &"x".repeat(126)).len(), MAX_FIFO_ID_CHARS);
        for id in [
            "x".repeat(127),
            "ä".to_string(),
            "with space".to_string(),
            "tab\t".to_string(),
            "\u{0}".to_string(),
        ] {
            let fifo = fifo_id("t", &id);
            assert!(fifo.starts_with(HASHED_PREFIX), "{fifo}");
            assert!(fifo.len() <= MAX_FIFO_ID_CHARS);
            assert!(fifo.bytes().all(|b| b.is_ascii_graphic()));
        }
        let punctuation = r##"!"$%&'()*+,-./:;<=>?@[\]^_`{|}~"##;
        assert_eq!(fifo_id("t", punctuation), format!("t#{punctuation}"));
    }
}
