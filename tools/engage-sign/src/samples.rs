//! The sample events of `events/sam/` (`sam local invoke` events, signed now, plaintext and
//! encrypted) and `events/env.json`, their `--env-vars` file, from `events/local.env`.

use crate::envelope::{prepare, Options};
use crate::settings::Secrets;
use crate::signing::{new_msg_id, now_seconds, sign, SignedHeaders};
use engage_webhooks::{Family, PayloadKey};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
        event["headers"][name.as_str()] = Value::String(value);
    }
    event["requestContext"]["timeEpoch"] = Value::from(headers.timestamp() * 1000);
    if let Some(time) = clf_time(headers.timestamp()) {
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

/// The local AWS `scripts/sam-local.sh` starts for `sam local invoke`: moto on a fixed
/// loopback port, reached from the Lambda containers over the host network.
pub const LOCAL_AWS_ENDPOINT: &str = "http://127.0.0.1:5000";

/// moto's default account, in the queue URLs of the resources `scripts/resources.py` creates.
const LOCAL_ACCOUNT: &str = "123456789012";

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
        let own = engage_webhooks::family_signing_secrets_var(family);
        if let Some(list) = file.get(own) {
            put(own, list);
        }
        put("ENGAGE_PAYLOAD_CIPHER", secrets.cipher.as_str());
        put("ENGAGE_SECRETS_ARN", "");
        put("AWS_ENDPOINT_URL", LOCAL_AWS_ENDPOINT);
        put("DEDUP_TABLE", "engage-dedup");
        put("RUST_LOG", "info");
        match family {
            Family::Contact | Family::Consent => put("CONTACTS_TABLE", "engage-contacts"),
            Family::Loyalty => put(
                "LOYALTY_QUEUE_URL",
                &format!("{LOCAL_AWS_ENDPOINT}/{LOCAL_ACCOUNT}/engage-loyalty"),
            ),
            Family::Promotion => put(
                "PROMOTION_QUEUE_URL",
                &format!("{LOCAL_AWS_ENDPOINT}/{LOCAL_ACCOUNT}/engage-promotion"),
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
            // Each family with its own endpoint's secret, as the functions check it.
            let secret = secrets.signing_secret_for(Some(family))?;
            let headers = sign(secret, &new_msg_id(), ts, &p.body, false)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_time_matches_api_gateway() {
        assert_eq!(
            clf_time(1795342530).as_deref(),
            Some("22/Nov/2026:10:15:30 +0000")
        );
        assert_eq!(clf_time(0).as_deref(), Some("01/Jan/1970:00:00:00 +0000"));
    }
}
