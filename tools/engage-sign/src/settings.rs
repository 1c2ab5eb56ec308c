//! The signing secret, payload key and cipher the tool uses: the process environment where
//! set, else `events/local.env` (the test settings the local runs use).

use engage_webhooks::PayloadCipher;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

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
}
