//! What a test sends: the test secrets, the sample envelopes of `events/envelopes/`, edits of
//! them (fields, payload fields, a fresh event id) and the ways Engage may seal a payload.
//! Envelopes stay JSON text, edited through `engage-sign`'s [`Fields`], so numbers keep their
//! exact digits.

use engage_sign::Fields;
use engage_webhooks::{EngageSecrets, Family, PayloadCipher, PayloadKey, Receiver};
use std::path::PathBuf;

/// The test signing secret and payload key (also in `events/local.env`). Never used in a
/// deployed stack: that reads its own from Secrets Manager.
pub const SIGNING_SECRET: &str = "whsec_dGVzdC1vbmx5LXNpZ25pbmctc2VjcmV0LTAwMDAwMDAw";
pub const PAYLOAD_KEY: &str = "LocalTestKeyOnly0123456789abcdEF";

/// Every way Engage may send a payload: in plain text, or encrypted with either cipher.
pub const CIPHERS: [Option<PayloadCipher>; 3] = [
    None,
    Some(PayloadCipher::Aes256Gcm),
    Some(PayloadCipher::Aes256Cbc),
];

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:016x}", rand::random::<u64>())
}

/// The sample envelope of `event_type` from `events/envelopes/`.
pub fn envelope(event_type: &str) -> String {
    let path = repo_root().join(format!("events/envelopes/{event_type}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The sample envelope of `event_type` under a fresh event id (in `eventId`, or in `id` where
/// Voyado's example uses that), returned with the id.
pub fn fresh_envelope(event_type: &str) -> (String, String) {
    let mut fields = fields(&envelope(event_type));
    let id = unique("ev");
    fields.set_event_id(&id);
    (fields.to_json(), id)
}

/// The sample envelope of `event_type` under a fresh event id, for contact `contact_id`;
/// returned with the event id.
pub fn contact_envelope(event_type: &str, contact_id: &str) -> (String, String) {
    let (env, id) = fresh_envelope(event_type);
    let contact = serde_json::to_string(contact_id).expect("a string serialises");
    (with_payload(&env, &[("contactId", &contact)], &[]), id)
}

/// Replaces envelope fields (given as raw JSON text), keeping every other byte's meaning;
/// numbers are never re-encoded through floats.
pub fn with_fields(envelope: &str, fields_to_set: &[(&str, &str)]) -> String {
    let mut fields = fields(envelope);
    for (name, raw_json) in fields_to_set {
        fields.set(name, raw_json.to_string());
    }
    fields.to_json()
}

/// The envelope with payload fields set (as raw JSON text) and others removed; the other
/// fields keep their exact text.
pub fn with_payload(envelope: &str, set: &[(&str, &str)], remove: &[&str]) -> String {
    let mut payload = self::fields(&payload_of(envelope));
    for name in remove {
        payload.remove(name);
    }
    for (name, raw_json) in set {
        payload.set(name, raw_json.to_string());
    }
    with_fields(envelope, &[("payload", &payload.to_json())])
}

/// The raw payload text of an envelope.
pub fn payload_of(envelope: &str) -> String {
    let fields = fields(envelope);
    let payload = fields.get("payload").expect("the envelope has a payload");
    payload.get().to_string()
}

/// The envelope with its payload encrypted with [`PAYLOAD_KEY`] the way Engage does.
pub fn encrypted(envelope: &str, cipher: PayloadCipher) -> String {
    let key = PayloadKey::parse(PAYLOAD_KEY).expect("the test key is well-formed");
    let mut fields = fields(envelope);
    fields
        .encrypt_payload(cipher, &key)
        .expect("a plaintext envelope");
    fields.to_json()
}

/// The envelope as Engage sends it under `cipher` ([`CIPHERS`]): encrypted, or as is.
pub fn sealed(envelope: &str, cipher: Option<PayloadCipher>) -> String {
    match cipher {
        Some(c) => encrypted(envelope, c),
        None => envelope.to_string(),
    }
}

/// A receiver for `family` with the test secret and, for `Some(cipher)`, the test key.
pub fn receiver(family: Family, cipher: Option<PayloadCipher>) -> Receiver {
    let secrets = EngageSecrets {
        signing_secrets: SIGNING_SECRET.into(),
        payload_keys: cipher.map(|_| PAYLOAD_KEY.into()),
    };
    Receiver::from_secrets(family, &secrets, cipher.unwrap_or(PayloadCipher::Aes256Gcm))
        .expect("the test settings are valid")
}

fn fields(json_object: &str) -> Fields {
    Fields::parse(json_object).unwrap_or_else(|e| panic!("{e}"))
}
