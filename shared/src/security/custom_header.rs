//! The custom header token of Engage's set-up steps: Engage (Svix) adds a header of the
//! retailer's choosing with a secret token to every webhook, and only requests that carry it
//! are read any further.
//!
//! `ENGAGE_CUSTOM_HEADER` names the header (case-insensitive, as HTTP header names are); the
//! accepted tokens, one or more for rotation, come from the secret (`customHeaderTokens`) or,
//! locally, `ENGAGE_CUSTOM_HEADER_TOKENS`. A token is the header's whole value and holds no
//! commas or whitespace (they separate the list).
//!
//! Comparison is in constant time and independent of length: the configured tokens are kept
//! only as SHA-256 digests (made at cold start), the presented value is hashed the same way,
//! and the 32-byte digests are compared with `subtle`'s constant-time equality against every
//! token, with no early exit. How long the check takes depends only on the length of what the
//! caller sent and on how many tokens are configured, never on how much of a token matched or
//! on a token's length.

use crate::config::{split_list, ConfigError, CUSTOM_HEADER};
use http::{HeaderMap, HeaderName};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

/// The shortest token accepted, in characters: the token is a shared secret sent on every
/// request, so it must be long enough that it cannot be guessed (32 random characters, as
/// `openssl rand -hex 16` or a password generator makes).
pub const MIN_TOKEN_CHARS: usize = 32;

/// The check, built once at cold start.
#[derive(Clone)]
pub struct CustomHeaderCheck {
    name: HeaderName,
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for CustomHeaderCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CustomHeaderCheck({}, {} tokens)",
            self.name,
            self.digests.len()
        )
    }
}

/// Why a request's custom header was refused (all answered 401 `invalid_custom_header`; the
/// distinction is for tests, never for the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomHeaderRefusal {
    Missing,
    /// Sent more than once: never guessed which one counts.
    Repeated,
    Wrong,
}

/// Header names that Svix, HTTP or AWS already use: a custom header of that name would clash.
const RESERVED_PREFIXES: [&str; 4] = ["svix-", "webhook-", "x-amz", "x-forwarded-"];
const RESERVED_NAMES: [&str; 7] = [
    "host",
    "content-type",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "user-agent",
    "connection",
];

/// The header name setting: `None` when unset or blank (the check is off). Refused when it is
/// not a valid header name or names a header Svix, HTTP or AWS sets itself.
pub fn header_name(name: Option<&str>) -> Result<Option<HeaderName>, ConfigError> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
        ConfigError::invalid(CUSTOM_HEADER, "is not a valid HTTP header name".into())
    })?;
    let lower = name.as_str();
    if RESERVED_NAMES.contains(&lower) || RESERVED_PREFIXES.iter().any(|p| lower.starts_with(p)) {
        return Err(ConfigError::invalid(
            CUSTOM_HEADER,
            "names a header that Svix, HTTP or AWS already sets; choose your own (for example X-Engage-Token)".into(),
        ));
    }
    Ok(Some(name))
}

impl CustomHeaderCheck {
    /// The check for header `name` with `tokens` (the list from the secret or the environment;
    /// `tokens_source` is the setting to name when it is empty or invalid). A name with no
    /// token stops the cold start, so the check can never be on and accept nothing, or seem on
    /// and accept anything.
    pub fn new(
        name: HeaderName,
        tokens: Option<&str>,
        tokens_source: &'static str,
    ) -> Result<Self, ConfigError> {
        let digests = split_list(tokens.unwrap_or(""))
            .enumerate()
            .map(|(i, token)| {
                if !token.bytes().all(|b| b.is_ascii_graphic()) {
                    Err(ConfigError::invalid(
                        tokens_source,
                        format!(
                            "token {} holds characters a header value cannot carry (use visible ASCII)",
                            i + 1
                        ),
                    ))
                } else if token.len() < MIN_TOKEN_CHARS {
                    // Visible ASCII: bytes and characters are the same count.
                    Err(ConfigError::invalid(
                        tokens_source,
                        format!(
                            "token {} has {} characters; a custom header token needs at least {MIN_TOKEN_CHARS}",
                            i + 1,
                            token.len()
                        ),
                    ))
                } else {
                    Ok(digest(token.as_bytes()))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if digests.is_empty() {
            return Err(ConfigError::invalid(
                tokens_source,
                format!("{CUSTOM_HEADER} is set but no token is given"),
            ));
        }
        Ok(CustomHeaderCheck { name, digests })
    }

    /// [`header_name`] and [`CustomHeaderCheck::new`] together: `None` when no name is set.
    pub fn from_settings(
        name: Option<&str>,
        tokens: Option<&str>,
        tokens_source: &'static str,
    ) -> Result<Option<Self>, ConfigError> {
        header_name(name)?
            .map(|name| CustomHeaderCheck::new(name, tokens, tokens_source))
            .transpose()
    }

    /// The header's name, lower case.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    pub fn token_count(&self) -> usize {
        self.digests.len()
    }

    /// Accepts the request when the header is present once and its value (surrounding
    /// whitespace aside) equals one of the tokens.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), CustomHeaderRefusal> {
        let mut values = headers.get_all(&self.name).iter();
        let value = values.next().ok_or(CustomHeaderRefusal::Missing)?;
        if values.next().is_some() {
            return Err(CustomHeaderRefusal::Repeated);
        }
        if self.matches(value.as_bytes().trim_ascii()) {
            Ok(())
        } else {
            Err(CustomHeaderRefusal::Wrong)
        }
    }

    /// Constant-time: every token's digest is compared, and the results are combined without
    /// branching.
    fn matches(&self, presented: &[u8]) -> bool {
        let presented = digest(presented);
        let mut any = Choice::from(0);
        for token in &self.digests {
            any |= token.ct_eq(&presented);
        }
        bool::from(any)
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CUSTOM_HEADER_TOKENS;
    use http::HeaderValue;

    const SOURCE: &str = CUSTOM_HEADER_TOKENS;
    /// Tokens of the minimum length (32 characters).
    const TOK: &str = "tok-A1-0123456789abcdef012345678";
    const OLD: &str = "old-token-0123456789abcdef012345";
    const NEW: &str = "new-token-0123456789abcdef012345";
    const THIRD: &str = "third-0123456789abcdef0123456789";

    fn check(name: &str, tokens: &str) -> CustomHeaderCheck {
        CustomHeaderCheck::from_settings(Some(name), Some(tokens), SOURCE)
            .unwrap()
            .expect("on")
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn off_when_no_name_is_set() {
        for name in [None, Some(""), Some("  ")] {
            assert!(CustomHeaderCheck::from_settings(name, Some(TOK), SOURCE)
                .unwrap()
                .is_none());
        }
        assert!(CustomHeaderCheck::from_settings(None, None, SOURCE)
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_name_without_a_token_stops_the_cold_start() {
        for tokens in [None, Some(""), Some(" , \n")] {
            let err = CustomHeaderCheck::from_settings(Some("X-Engage-Token"), tokens, SOURCE)
                .unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with(SOURCE), "{text}");
            assert!(text.contains(CUSTOM_HEADER), "{text}");
        }
        // The source named is the one the tokens were read from.
        let err =
            CustomHeaderCheck::from_settings(Some("X-Engage-Token"), None, "ENGAGE_SECRETS_ARN")
                .unwrap_err();
        assert!(err.to_string().starts_with("ENGAGE_SECRETS_ARN"));
    }

    #[test]
    fn invalid_or_reserved_names_are_refused_without_echoing_tokens() {
        for name in [
            "X Engage",
            "X-Engage:",
            "Svix-Signature",
            "webhook-id",
            "Host",
            "X-Forwarded-For",
            "x-amzn-trace-id",
        ] {
            let err = CustomHeaderCheck::from_settings(Some(name), Some("s3cret-token"), SOURCE)
                .unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with(CUSTOM_HEADER), "{name}: {text}");
            assert!(!text.contains("s3cret"), "{text}");
        }
        let err = CustomHeaderCheck::from_settings(
            Some("X-Engage-Token"),
            Some(&format!("{TOK} {TOK}\u{7f}")),
            SOURCE,
        )
        .unwrap_err();
        assert!(err.to_string().contains("token 2 "), "{err}");
        assert!(!err.to_string().contains(TOK), "{err}");
    }

    #[test]
    fn a_token_shorter_than_32_characters_stops_the_cold_start() {
        let short = "0123456789abcdef0123456789abcde";
        assert_eq!(short.len(), 31);
        for list in [short.to_string(), format!("{TOK} {short}")] {
            let err = CustomHeaderCheck::from_settings(Some("X-Engage-Token"), Some(&list), SOURCE)
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(SOURCE), "{err}");
            assert!(err.contains("31 characters"), "{err}");
            assert!(err.contains("at least 32"), "{err}");
            assert!(!err.contains(short), "{err}");
        }
        let err = CustomHeaderCheck::from_settings(
            Some("X-Engage-Token"),
            Some(short),
            "ENGAGE_SECRETS_ARN (customHeaderTokens)",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("ENGAGE_SECRETS_ARN (customHeaderTokens)"),
            "{err}"
        );
        let ok = format!("{short}f");
        assert_eq!(ok.len(), 32);
        let c = check("X-Engage-Token", &ok);
        assert_eq!(c.check(&headers(&[("x-engage-token", &ok)])), Ok(()));
    }

    #[test]
    fn the_right_token_passes_and_the_name_is_case_insensitive() {
        let c = check("X-Engage-Token", TOK);
        assert_eq!(c.name(), "x-engage-token");
        for name in ["x-engage-token", "X-ENGAGE-TOKEN", "X-Engage-Token"] {
            assert_eq!(c.check(&headers(&[(name, TOK)])), Ok(()), "{name}");
        }
        // Optional whitespace around a field value is not part of it (RFC 9110).
        assert_eq!(
            c.check(&headers(&[("x-engage-token", &format!(" {TOK} "))])),
            Ok(())
        );
    }

    #[test]
    fn missing_wrong_and_repeated_headers_are_refused() {
        let c = check("X-Engage-Token", TOK);
        assert_eq!(
            c.check(&HeaderMap::new()),
            Err(CustomHeaderRefusal::Missing)
        );
        assert_eq!(
            c.check(&headers(&[("x-other", TOK)])),
            Err(CustomHeaderRefusal::Missing)
        );
        for wrong in [
            String::new(),
            TOK.to_lowercase(),
            TOK[..TOK.len() - 1].to_string(),
            format!("{TOK}x"),
            format!("x{TOK}"),
            format!("{TOK},{TOK}"),
            format!("Bearer {TOK}"),
        ] {
            assert_eq!(
                c.check(&headers(&[("x-engage-token", &wrong)])),
                Err(CustomHeaderRefusal::Wrong),
                "{wrong:?}"
            );
        }
        assert_eq!(
            c.check(&headers(&[
                ("x-engage-token", TOK),
                ("X-Engage-Token", TOK)
            ])),
            Err(CustomHeaderRefusal::Repeated)
        );
    }

    #[test]
    fn a_token_differing_only_in_its_last_byte_is_refused() {
        let token = "0123456789abcdef0123456789abcdef";
        let c = check("X-Engage-Token", token);
        let mut near = token.as_bytes().to_vec();
        *near.last_mut().unwrap() ^= 0x01;
        let near = String::from_utf8(near).unwrap();
        assert_eq!(near.len(), token.len());
        assert_eq!(
            c.check(&headers(&[("x-engage-token", &near)])),
            Err(CustomHeaderRefusal::Wrong)
        );
        assert_eq!(c.check(&headers(&[("x-engage-token", token)])), Ok(()));
    }

    #[test]
    fn any_of_several_tokens_passes_for_rotation() {
        let c = check("X-Engage-Token", &format!("{OLD},\n {NEW}  {THIRD}"));
        assert_eq!(c.token_count(), 3);
        for t in [OLD, NEW, THIRD] {
            assert_eq!(c.check(&headers(&[("x-engage-token", t)])), Ok(()), "{t}");
        }
        assert_eq!(
            c.check(&headers(&[("x-engage-token", &format!("{OLD} {NEW}"))])),
            Err(CustomHeaderRefusal::Wrong)
        );
    }

    #[test]
    fn tokens_are_kept_as_digests_only() {
        let c = check("X-Engage-Token", "very-secret-token-0123456789abcd");
        let shown = format!("{c:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("1 tokens"), "{shown}");
    }
}
