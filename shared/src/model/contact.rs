use serde::Deserialize;

/// `contact.created` / `contact.updated`. Only the id is modelled: the mirror stores the
/// whole payload under Engage's own field names, custom attributes included.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactProfile {
    pub contact_id: String,
}

/// `contact.deleted`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactDeleted {
    pub contact_id: String,
    #[serde(default)]
    pub deletion_reason: Option<String>,
}

/// `contact.acceptsEmail.changed`, `contact.acceptsSms.changed`,
/// `contact.acceptsPostal.changed`. Voyado does not publish these payloads: the new value is
/// read from the flag's own name (`acceptsEmail`, ...), else `value`, else `newValue`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreferenceChanged {
    pub contact_id: String,
    #[serde(default)]
    pub accepts_email: Option<bool>,
    #[serde(default)]
    pub accepts_sms: Option<bool>,
    #[serde(default)]
    pub accepts_postal: Option<bool>,
    #[serde(default)]
    pub value: Option<bool>,
    #[serde(default)]
    pub new_value: Option<bool>,
    #[serde(default)]
    pub date_changed: Option<String>,
}

impl PreferenceChanged {
    /// The new value of `flag` (`"acceptsEmail"`, `"acceptsSms"` or `"acceptsPostal"`).
    pub fn value_of(&self, flag: &str) -> Option<bool> {
        let own = match flag {
            "acceptsEmail" => self.accepts_email,
            "acceptsSms" => self.accepts_sms,
            "acceptsPostal" => self.accepts_postal,
            _ => None,
        };
        own.or(self.value).or(self.new_value)
    }
}

/// `contact.consent.changed`: the consent named `consentAlias` now has `consentValue`.
/// The value is kept as raw JSON text: consents may be numbers, and a `serde_json::Value`
/// would pass them through `f64`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentChanged {
    pub contact_id: String,
    pub consent_alias: String,
    pub consent_value: Box<serde_json::value::RawValue>,
    #[serde(default)]
    pub date_changed: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preference_value_prefers_the_flags_own_name() {
        let p: PreferenceChanged =
            serde_json::from_str(r#"{"contactId":"c","acceptsSms":false,"value":true}"#).unwrap();
        assert_eq!(p.value_of("acceptsSms"), Some(false));
        assert_eq!(p.value_of("acceptsEmail"), Some(true));
        let p: PreferenceChanged =
            serde_json::from_str(r#"{"contactId":"c","newValue":true}"#).unwrap();
        assert_eq!(p.value_of("acceptsPostal"), Some(true));
        let p: PreferenceChanged = serde_json::from_str(r#"{"contactId":"c"}"#).unwrap();
        assert_eq!(p.value_of("acceptsPostal"), None);
    }

    #[test]
    fn consent_reads_the_published_example() {
        let p: ConsentChanged = serde_json::from_str(
            r#"{"consentAlias":"myConsentAlias","consentValue":true,"contactId":"e5f70fe1","dateChanged":"2026-01-20T16:28:38.985631+01:00"}"#,
        )
        .unwrap();
        assert_eq!(p.consent_alias, "myConsentAlias");
        assert_eq!(p.consent_value.get(), "true");
        assert_eq!(
            p.date_changed.as_deref(),
            Some("2026-01-20T16:28:38.985631+01:00")
        );
    }
}
