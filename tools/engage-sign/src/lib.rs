//! Signs (and optionally encrypts) Engage webhook envelopes the way Svix and Engage do, for
//! the sample events in `events/sam/`, the local demo and deliveries to a deployed function.
//!
//! Envelopes are handled as JSON text, never as parsed numbers: the only transformation is
//! removing insignificant whitespace, so every number, string and unknown field travels with
//! exactly the bytes it had in the file.

use base64::Engine;
use engage_webhooks::crypto::{encrypt, random_iv, PayloadCipher, PayloadKey};
use engage_webhooks::{EventType, Family};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub mod http;

/// The test settings of `events/local.env`, or whatever the environment overrides them with.
#[derive(Clone, PartialEq, Eq)]
pub struct Secrets {
    pub signing_secret: String,
    pub payload_key: Option<String>,
    pub cipher: PayloadCipher,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets([redacted], {})", self.cipher.as_str())
    }
}

/// Parses a `KEY=VALUE` file (`#` comments, blank lines, optional `export ` and quotes).
pub fn parse_env_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("export ").unwrap_or(l).split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            (k.trim().to_string(), v.to_string())
        })
        .collect()
}

/// The first entry of a comma- or whitespace-separated list, as the functions read them.
fn first_entry(list: &str) -> Option<String> {
    engage_webhooks::signature::split_list(list)
        .next()
        .map(str::to_string)
}

impl Secrets {
    /// Settings from `lookup` (the process environment) where set, else from the env file.
    pub fn resolve(
        lookup: impl Fn(&str) -> Option<String>,
        file: &BTreeMap<String, String>,
    ) -> Result<Secrets, String> {
        let get = |name: &str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .or_else(|| file.get(name).cloned().filter(|v| !v.trim().is_empty()))
        };
        let signing_secret = get("ENGAGE_SIGNING_SECRETS")
            .as_deref()
            .and_then(first_entry)
            .ok_or("no signing secret: set ENGAGE_SIGNING_SECRETS or pass --secret")?;
        let payload_key = get("ENGAGE_PAYLOAD_KEYS").as_deref().and_then(first_entry);
        let cipher = match get("ENGAGE_PAYLOAD_CIPHER") {
            Some(c) => c
                .parse()
                .map_err(|e| format!("ENGAGE_PAYLOAD_CIPHER: {e}"))?,
            None => PayloadCipher::Aes256Gcm,
        };
        Ok(Secrets {
            signing_secret,
            payload_key,
            cipher,
        })
    }

    /// Only what `events/local.env` says, whatever the environment holds: the sample events
    /// must match the settings the local runs use.
    pub fn from_file(file: &BTreeMap<String, String>) -> Result<Secrets, String> {
        Secrets::resolve(|_| None, file)
    }
}

/// The repository root: the nearest directory at or above `start` holding
/// `events/local.env`, else the one this tool was built from.
pub fn find_root(start: &Path) -> PathBuf {
    start
        .ancestors()
        .find(|d| d.join("events/local.env").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// Removes the whitespace between JSON tokens, after checking that `text` is JSON. Every
/// token keeps its exact bytes, so numbers are never re-encoded.
pub fn minify(text: &str) -> Result<String, String> {
    serde_json::from_str::<&RawValue>(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
    Ok(out)
}

/// A JSON object's members in their original order, each value as raw JSON text.
#[derive(Debug, Clone)]
pub struct Fields(pub Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        d.deserialize_map(V)
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Fields {
    pub fn parse(text: &str) -> Result<Fields, String> {
        serde_json::from_str(text).map_err(|e| format!("the envelope is not a JSON object: {e}"))
    }

    pub fn get(&self, name: &str) -> Option<&RawValue> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }

    /// The value of a string member.
    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name)
            .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
    }

    /// Replaces a member in place, or appends it.
    pub fn set(&mut self, name: &str, raw_json: String) {
        let value = RawValue::from_string(raw_json).expect("callers pass valid JSON");
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value,
            None => self.0.push((name.to_string(), value)),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("raw values serialise")
    }
}

/// How an envelope is turned into a request body.
#[derive(Debug, Default)]
pub struct Options {
    /// Replaces the event id (`eventId`, or `id` where the envelope uses that).
    pub event_id: Option<String>,
    /// Encrypts the payload with this cipher and key, as Engage does.
    pub encrypt: Option<(PayloadCipher, PayloadKey)>,
}

/// A request body ready to be signed, with what the reports need to know about it.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub body: String,
    pub event_type: String,
    pub event_id: Option<String>,
    /// `None` for an event type none of the functions knows.
    pub family: Option<Family>,
    /// The plaintext payload, exactly as it appears in the (minified) envelope.
    pub payload: String,
    pub encrypted: bool,
}

/// Minifies the envelope, then applies `options`.
pub fn prepare(envelope: &str, options: &Options) -> Result<Prepared, String> {
    let mut fields = Fields::parse(&minify(envelope)?)?;
    let event_type = fields
        .string("eventType")
        .ok_or("the envelope has no string eventType")?;
    let payload = fields
        .get("payload")
        .ok_or("the envelope has no payload")?
        .get()
        .to_string();
    let already_encrypted = fields.get("isEncrypted").map(RawValue::get) == Some("true");
    if let Some(id) = &options.event_id {
        let field = if fields.get("eventId").is_none() && fields.get("id").is_some() {
            "id"
        } else {
            "eventId"
        };
        fields.set(field, json_string(id));
    }
    let mut encrypted = already_encrypted;
    if let Some((cipher, key)) = &options.encrypt {
        if already_encrypted || !payload.starts_with('{') {
            return Err(
                "only a plaintext envelope (isEncrypted false, payload an object) can be encrypted"
                    .into(),
            );
        }
        let sealed = encrypt(*cipher, key, &random_iv(*cipher), payload.as_bytes());
        fields.set("payload", json_string(&sealed));
        fields.set("isEncrypted", "true".into());
        encrypted = true;
    }
    let event_id = fields.string("eventId").or_else(|| fields.string("id"));
    Ok(Prepared {
        body: fields.to_json(),
        family: EventType::parse(&event_type).map(EventType::family),
        event_type,
        event_id,
        payload,
        encrypted,
    })
}

fn json_string(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// The three Svix headers of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub msg_id: String,
    pub timestamp: i64,
    pub signature: String,
}

impl SignedHeaders {
    pub fn pairs(&self) -> [(&'static str, String); 3] {
        [
            ("svix-id", self.msg_id.clone()),
            ("svix-timestamp", self.timestamp.to_string()),
            ("svix-signature", self.signature.clone()),
        ]
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
    let signature = engage_webhooks::signature::sign(&secret, msg_id, timestamp, body.as_bytes())?;
    Ok(SignedHeaders {
        msg_id: msg_id.to_string(),
        timestamp,
        signature,
    })
}

fn random_secret() -> String {
    let bytes: [u8; 24] = rand::random();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// A fresh Svix-style message id.
pub fn new_msg_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let id: String = (0..27)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("msg_{id}")
}

pub fn now_seconds() -> i64 {
    engage_webhooks::receiver::now_millis() / 1000
}

/// A `sam local invoke` event in the API Gateway HTTP API (payload 2.0) shape of `template`,
/// posting `body` with `headers` to `/webhooks/<family>`.
pub fn sam_event(
    template: &str,
    family: Family,
    body: &str,
    headers: &SignedHeaders,
) -> Result<Value, String> {
    let mut event: Value =
        serde_json::from_str(template).map_err(|e| format!("request template: {e}"))?;
    let path = format!("/webhooks/{family}");
    event["rawPath"] = Value::String(path.clone());
    event["requestContext"]["http"]["path"] = Value::String(path);
    event["pathParameters"]["family"] = Value::String(family.to_string());
    for (name, value) in headers.pairs() {
        event["headers"][name] = Value::String(value);
    }
    event["requestContext"]["timeEpoch"] = Value::from(headers.timestamp * 1000);
    if let Some(time) = clf_time(headers.timestamp) {
        event["requestContext"]["time"] = Value::String(time);
    }
    event["body"] = Value::String(body.to_string());
    event["isBase64Encoded"] = Value::Bool(false);
    Ok(event)
}

/// API Gateway's request time format, `22/Nov/2026:10:15:30 +0000`.
fn clf_time(unix: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).ok()?;
    let month = t.month().to_string();
    Some(format!(
        "{:02}/{}/{}:{:02}:{:02}:{:02} +0000",
        t.day(),
        month.get(..3)?,
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// The event id the encrypted sample of an envelope gets, so that it is processed as an event
/// of its own rather than as a duplicate of the plaintext sample.
pub fn encrypted_sample_id(id: &str) -> String {
    format!("{id}-encrypted")
}

/// The template's logical id of each family's function.
pub fn function_logical_id(family: Family) -> &'static str {
    match family {
        Family::Contact => "ContactFunction",
        Family::Consent => "ConsentFunction",
        Family::Loyalty => "LoyaltyFunction",
        Family::Promotion => "PromotionFunction",
    }
}

pub const FAMILIES: [Family; 4] = [
    Family::Contact,
    Family::Consent,
    Family::Loyalty,
    Family::Promotion,
];

/// Names of the local resources `scripts/resources.py` creates (moto's default account).
const LOCAL_QUEUE_BASE: &str = "http://127.0.0.1:5000/123456789012";

/// `events/env.json`: the `sam local invoke --env-vars` file, from `events/local.env`.
pub fn env_json(file: &BTreeMap<String, String>) -> Result<String, String> {
    let secrets = Secrets::from_file(file)?;
    let mut doc = serde_json::Map::new();
    for family in FAMILIES {
        let mut vars = serde_json::Map::new();
        let mut put = |k: &str, v: &str| {
            vars.insert(k.to_string(), Value::String(v.to_string()));
        };
        put(
            "ENGAGE_SIGNING_SECRETS",
            file.get("ENGAGE_SIGNING_SECRETS")
                .map(String::as_str)
                .unwrap_or(&secrets.signing_secret),
        );
        put(
            "ENGAGE_PAYLOAD_KEYS",
            file.get("ENGAGE_PAYLOAD_KEYS")
                .map(String::as_str)
                .unwrap_or(""),
        );
        put("ENGAGE_PAYLOAD_CIPHER", secrets.cipher.as_str());
        put("ENGAGE_SECRETS_ARN", "");
        put("DEDUP_TABLE", "engage-dedup");
        put("RUST_LOG", "info");
        match family {
            Family::Contact | Family::Consent => put("CONTACTS_TABLE", "engage-contacts"),
            Family::Loyalty => put(
                "LOYALTY_QUEUE_URL",
                &format!("{LOCAL_QUEUE_BASE}/engage-loyalty"),
            ),
            Family::Promotion => put(
                "PROMOTION_QUEUE_URL",
                &format!("{LOCAL_QUEUE_BASE}/engage-promotion"),
            ),
        }
        doc.insert(function_logical_id(family).into(), Value::Object(vars));
    }
    let mut text = serde_json::to_string_pretty(&Value::Object(doc)).expect("a JSON object");
    text.push('\n');
    Ok(text)
}

/// One generated sample event file.
#[derive(Debug)]
pub struct SampleEvent {
    pub file_name: String,
    pub event_type: String,
    pub family: Family,
    pub encrypted: bool,
    pub json: String,
}

/// Every sample event for `events/sam/`: for each envelope a plaintext event and an encrypted
/// one (its own event id), signed now.
pub fn sample_events(
    envelopes: &[(String, String)],
    template: &str,
    secrets: &Secrets,
) -> Result<Vec<SampleEvent>, String> {
    let key = secrets
        .payload_key
        .as_deref()
        .ok_or("no payload key in events/local.env")
        .and_then(|k| PayloadKey::parse(k).map_err(|_| "the payload key is malformed"))?;
    let ts = now_seconds();
    let mut out = Vec::new();
    for (name, text) in envelopes {
        for encrypted in [false, true] {
            let mut options = Options::default();
            if encrypted {
                let plain =
                    prepare(text, &Options::default()).map_err(|e| format!("{name}: {e}"))?;
                let id = plain
                    .event_id
                    .ok_or_else(|| format!("{name}: the envelope has no eventId or id"))?;
                options.event_id = Some(encrypted_sample_id(&id));
                options.encrypt = Some((secrets.cipher, key.clone()));
            }
            let p = prepare(text, &options).map_err(|e| format!("{name}: {e}"))?;
            let family = p
                .family
                .ok_or_else(|| format!("{name}: unknown event type {}", p.event_type))?;
            let headers = sign(&secrets.signing_secret, &new_msg_id(), ts, &p.body, false)?;
            let event = sam_event(template, family, &p.body, &headers)?;
            let mut json = serde_json::to_string_pretty(&event).expect("a JSON value");
            json.push('\n');
            let suffix = if encrypted { ".encrypted" } else { "" };
            out.push(SampleEvent {
                file_name: format!("{}{suffix}.json", p.event_type),
                event_type: p.event_type,
                family,
                encrypted,
                json,
            });
        }
    }
    Ok(out)
}

/// The `*.json` envelopes of `dir`, by file name.
pub fn read_envelopes(dir: &Path) -> Result<Vec<(String, String)>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            let name = p.file_name().unwrap_or_default().to_string_lossy().into();
            Ok((name, text))
        })
        .collect()
}

/// The reason of a function's JSON answer (`status` on success, `error` otherwise).
pub fn answer_reason(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    v.get("status")
        .or_else(|| v.get("error"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A shell word in single quotes.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A ready `curl` command for a signed request.
pub fn curl_command(url: &str, headers: &SignedHeaders, body: &str) -> String {
    let mut cmd = format!("curl -sS -X POST {}", shell_quote(url));
    cmd.push_str(" \\\n  -H 'content-type: application/json'");
    for (name, value) in headers.pairs() {
        cmd.push_str(&format!(
            " \\\n  -H {}",
            shell_quote(&format!("{name}: {value}"))
        ));
    }
    cmd.push_str(&format!(" \\\n  --data-binary {}", shell_quote(body)));
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: &str = "# comment\n\nENGAGE_SIGNING_SECRETS=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, whsec_b\nexport ENGAGE_PAYLOAD_KEYS=\"abcdefghijklmnopqrstuvwxyzABCDEF\"\nENGAGE_PAYLOAD_CIPHER=aes-256-cbc\n";

    #[test]
    fn env_files_parse_like_the_shell_reads_them() {
        let m = parse_env_file(ENV);
        assert_eq!(m.len(), 3);
        assert_eq!(m["ENGAGE_PAYLOAD_KEYS"], "abcdefghijklmnopqrstuvwxyzABCDEF");
        let s = Secrets::from_file(&m).unwrap();
        assert_eq!(s.signing_secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assert_eq!(s.cipher, PayloadCipher::Aes256Cbc);
        assert!(!format!("{s:?}").contains("whsec"));
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let m = parse_env_file(ENV);
        let s = Secrets::resolve(
            |k| (k == "ENGAGE_SIGNING_SECRETS").then(|| " whsec_x,whsec_y".to_string()),
            &m,
        )
        .unwrap();
        assert_eq!(s.signing_secret, "whsec_x");
        assert_eq!(
            s.payload_key.as_deref(),
            Some("abcdefghijklmnopqrstuvwxyzABCDEF")
        );
        assert!(Secrets::resolve(|_| None, &BTreeMap::new()).is_err());
    }

    #[test]
    fn minify_only_drops_whitespace_between_tokens() {
        let text = "{\n  \"a\" : 150.50,\n \"s\": \"x  \\\" y\\\\\",\"n\":[1e400, -0.0 ,{ }]\n}\n";
        assert_eq!(
            minify(text).unwrap(),
            r#"{"a":150.50,"s":"x  \" y\\","n":[1e400,-0.0,{}]}"#
        );
        assert!(minify("{\"a\":").is_err());
        assert!(minify("not json").is_err());
    }

    #[test]
    fn fields_keep_order_and_raw_numbers() {
        let mut f = Fields::parse(r#"{"z":1,"eventType":"x","payload":{"amount":12.50}}"#).unwrap();
        f.set("eventType", json_string("y"));
        f.set("new", "true".into());
        assert_eq!(
            f.to_json(),
            r#"{"z":1,"eventType":"y","payload":{"amount":12.50},"new":true}"#
        );
        assert!(Fields::parse("[1]").is_err());
    }

    #[test]
    fn prepare_sets_the_id_where_the_envelope_keeps_it() {
        let p = prepare(
            r#"{"eventType":"loyalty.addPoints","id":"a","payload":{"amount":1.10}}"#,
            &Options {
                event_id: Some("b".into()),
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(
            p.body,
            r#"{"eventType":"loyalty.addPoints","id":"b","payload":{"amount":1.10}}"#
        );
        assert_eq!(p.family, Some(Family::Loyalty));
        assert_eq!(p.event_id.as_deref(), Some("b"));
        let p = prepare(
            r#"{"eventType":"other","payload":{}}"#,
            &Options {
                event_id: Some("c".into()),
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(p.family, None);
        assert_eq!(
            p.body,
            r#"{"eventType":"other","payload":{},"eventId":"c"}"#
        );
    }

    #[test]
    fn only_plaintext_object_payloads_are_encrypted() {
        let key = PayloadKey::parse("abcdefghijklmnopqrstuvwxyzABCDEF").unwrap();
        let options = Options {
            encrypt: Some((PayloadCipher::Aes256Gcm, key)),
            ..Options::default()
        };
        assert!(prepare(
            r#"{"eventType":"x","isEncrypted":true,"payload":"abc"}"#,
            &options
        )
        .is_err());
        assert!(prepare(r#"{"eventType":"x","payload":"abc"}"#, &options).is_err());
        assert!(prepare(r#"{"payload":{}}"#, &Options::default()).is_err());
    }

    #[test]
    fn a_bad_signature_is_well_formed_and_different() {
        let good = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_1",
            1,
            "{}",
            false,
        )
        .unwrap();
        let bad = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_1",
            1,
            "{}",
            true,
        )
        .unwrap();
        assert!(bad.signature.starts_with("v1,"));
        assert_ne!(good.signature, bad.signature);
        assert!(new_msg_id().starts_with("msg_") && new_msg_id().len() == 31);
    }

    #[test]
    fn curl_commands_quote_the_body() {
        let h = SignedHeaders {
            msg_id: "msg_1".into(),
            timestamp: 5,
            signature: "v1,x".into(),
        };
        let cmd = curl_command("http://h/", &h, r#"{"a":"it's"}"#);
        assert!(cmd.contains(r#"--data-binary '{"a":"it'\''s"}'"#), "{cmd}");
        assert!(cmd.contains("-H 'svix-timestamp: 5'"));
    }

    #[test]
    fn reasons_are_read_from_either_field() {
        assert_eq!(
            answer_reason(r#"{"status":"processed","message":"m"}"#).as_deref(),
            Some("processed")
        );
        assert_eq!(
            answer_reason(r#"{"error":"invalid_signature"}"#).as_deref(),
            Some("invalid_signature")
        );
        assert_eq!(answer_reason("Internal Server Error"), None);
    }

    #[test]
    fn clf_time_matches_api_gateway() {
        assert_eq!(
            clf_time(1795342530).as_deref(),
            Some("22/Nov/2026:10:15:30 +0000")
        );
        assert_eq!(clf_time(0).as_deref(), Some("01/Jan/1970:00:00:00 +0000"));
    }
}
