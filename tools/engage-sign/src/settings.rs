//! The signing secret, payload key and cipher the tool uses: the process environment where
//! set, else `events/local.env` (the test settings the local runs use).

use engage_webhooks::{family_signing_secrets_var, Family, PayloadCipher, SIGNING_SECRETS};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The test settings of `events/local.env`, or whatever the environment overrides them with.
#[derive(Clone, PartialEq, Eq)]
pub struct Secrets {
    /// The first of `ENGAGE_SIGNING_SECRETS`, the shared list (empty when only per-family
    /// lists are set).
    pub signing_secret: String,
    /// The first of each `ENGAGE_<FAMILY>_SIGNING_SECRETS` that is set: that endpoint's own.
    pub family_signing_secrets: Vec<(Family, String)>,
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

const FAMILIES: [Family; 4] = [
    Family::Contact,
    Family::Consent,
    Family::Loyalty,
    Family::Promotion,
];

/// Every variable that holds signing secrets.
const SIGNING_VARS: [&str; 5] = [
    SIGNING_SECRETS,
    family_signing_secrets_var(Family::Contact),
    family_signing_secrets_var(Family::Consent),
    family_signing_secrets_var(Family::Loyalty),
    family_signing_secrets_var(Family::Promotion),
];

/// The first entry of a comma- or whitespace-separated list, as the functions read them.
fn first_entry(list: &str) -> Option<String> {
    engage_webhooks::split_list(list).next().map(str::to_string)
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
        // The signing lists come from one place, as a function reads them: the environment
        // when it sets any of them, else the file.
        let env_signs = SIGNING_VARS
            .iter()
            .any(|v| lookup(v).is_some_and(|x| !x.trim().is_empty()));
        let signing = |name: &str| {
            if env_signs {
                lookup(name).as_deref().and_then(first_entry)
            } else {
                file.get(name).map(String::as_str).and_then(first_entry)
            }
        };
        let family_signing_secrets: Vec<(Family, String)> = FAMILIES
            .into_iter()
            .filter_map(|f| signing(family_signing_secrets_var(f)).map(|s| (f, s)))
            .collect();
        let signing_secret = signing(SIGNING_SECRETS).unwrap_or_default();
        if signing_secret.is_empty() && family_signing_secrets.is_empty() {
            return Err(
                "no signing secret: set ENGAGE_SIGNING_SECRETS (or ENGAGE_<FAMILY>_SIGNING_SECRETS) or pass --secret"
                    .into(),
            );
        }
        let payload_key = get("ENGAGE_PAYLOAD_KEYS").as_deref().and_then(first_entry);
        let cipher = match get("ENGAGE_PAYLOAD_CIPHER") {
            Some(c) => c
                .parse()
                .map_err(|e| format!("ENGAGE_PAYLOAD_CIPHER: {e}"))?,
            None => PayloadCipher::Aes256Gcm,
        };
        Ok(Secrets {
            signing_secret,
            family_signing_secrets,
            payload_key,
            cipher,
        })
    }

    /// The secret that signs `family`'s events, chosen as the function chooses: its own
    /// endpoint's (`ENGAGE_<FAMILY>_SIGNING_SECRETS`) when set, else the shared list's.
    pub fn signing_secret_for(&self, family: Option<Family>) -> Result<&str, String> {
        family
            .and_then(|f| self.family_signing_secrets.iter().find(|(g, _)| *g == f))
            .map(|(_, s)| s.as_str())
            .or((!self.signing_secret.is_empty()).then_some(self.signing_secret.as_str()))
            .ok_or_else(|| {
                let var = family.map_or("ENGAGE_<FAMILY>_SIGNING_SECRETS", family_signing_secrets_var);
                format!("no signing secret for this event: set {var} or ENGAGE_SIGNING_SECRETS, or pass --secret")
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
    fn each_family_is_signed_with_its_own_secret_else_the_shared_one() {
        let m = parse_env_file(&format!(
            "{ENV}ENGAGE_LOYALTY_SIGNING_SECRETS=whsec_loyalty whsec_next\nENGAGE_CONTACT_SIGNING_SECRETS=\n"
        ));
        let s = Secrets::from_file(&m).unwrap();
        assert_eq!(
            s.signing_secret_for(Some(Family::Loyalty)),
            Ok("whsec_loyalty")
        );
        let shared = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        assert_eq!(s.signing_secret_for(Some(Family::Contact)), Ok(shared));
        assert_eq!(s.signing_secret_for(None), Ok(shared));
        // The environment's lists replace the file's as a whole: a shared secret set there
        // signs every family, whatever the file's per-family lists say.
        let s = Secrets::resolve(
            |k| (k == "ENGAGE_SIGNING_SECRETS").then(|| "whsec_env".to_string()),
            &m,
        )
        .unwrap();
        assert_eq!(s.signing_secret_for(Some(Family::Loyalty)), Ok("whsec_env"));
        // Only per-family lists: a family without one has no secret, and says which to set.
        let only = parse_env_file("ENGAGE_PROMOTION_SIGNING_SECRETS=whsec_p\n");
        let s = Secrets::from_file(&only).unwrap();
        assert_eq!(s.signing_secret_for(Some(Family::Promotion)), Ok("whsec_p"));
        let err = s.signing_secret_for(Some(Family::Consent)).unwrap_err();
        assert!(err.contains("ENGAGE_CONSENT_SIGNING_SECRETS"), "{err}");
    }
}
