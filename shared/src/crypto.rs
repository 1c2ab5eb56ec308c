//! End-to-end payload decryption (and, for tests and tools, encryption).
//!
//! Engage sends `payload` as base64 of `IV/nonce || ciphertext`. The shared key is 32
//! characters of a-z, A-Z, 0-9, used as its 32 ASCII bytes (AES-256). Voyado documents
//! AES-256-CBC with PKCS#7 for soft identification, which webhook payloads follow "in the same
//! way"; the customer asked for AES-256-GCM. Both are supported; the cipher is a setting.

use aes::Aes256;
use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use std::str::FromStr;

const GCM_NONCE: usize = 12;
const GCM_TAG: usize = 16;
const CBC_IV: usize = 16;
const CBC_BLOCK: usize = 16;

const TOLERANT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(false)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, TOLERANT);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, TOLERANT);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadCipher {
    /// 12-byte nonce, then the ciphertext with its 16-byte tag at the end.
    Aes256Gcm,
    /// 16-byte IV, then the PKCS#7-padded ciphertext.
    Aes256Cbc,
}

/// A cipher name that is neither `aes-256-gcm` nor `aes-256-cbc`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected aes-256-gcm or aes-256-cbc")]
pub struct UnknownCipher;

impl FromStr for PayloadCipher {
    type Err = UnknownCipher;
    fn from_str(s: &str) -> Result<Self, UnknownCipher> {
        match s.trim().to_ascii_lowercase().as_str() {
            "aes-256-gcm" => Ok(PayloadCipher::Aes256Gcm),
            "aes-256-cbc" => Ok(PayloadCipher::Aes256Cbc),
            _ => Err(UnknownCipher),
        }
    }
}

impl PayloadCipher {
    pub fn as_str(self) -> &'static str {
        match self {
            PayloadCipher::Aes256Gcm => "aes-256-gcm",
            PayloadCipher::Aes256Cbc => "aes-256-cbc",
        }
    }
}

/// A shared payload key: exactly 32 characters of a-z, A-Z, 0-9.
#[derive(Clone)]
pub struct PayloadKey([u8; 32]);

impl std::fmt::Debug for PayloadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PayloadKey([redacted])")
    }
}

/// Why a text is not a payload key. Never quotes the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("a key must be 32 characters, got {0}")]
    WrongLength(usize),
    #[error("a key may only hold a-z, A-Z and 0-9")]
    NotAlphanumeric,
}

impl PayloadKey {
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let bytes: [u8; 32] = text
            .as_bytes()
            .try_into()
            .map_err(|_| KeyError::WrongLength(text.len()))?;
        if !bytes.iter().all(u8::is_ascii_alphanumeric) {
            return Err(KeyError::NotAlphanumeric);
        }
        Ok(PayloadKey(bytes))
    }
}

/// Key material prepared once at cold start (the GCM key schedule is not redone per event).
enum PreparedKey {
    Gcm(Box<Aes256Gcm>),
    Cbc([u8; 32]),
}

/// Decrypts payloads with one or more keys, tried in order (for key rotation).
pub struct PayloadDecryptor {
    cipher: PayloadCipher,
    keys: Vec<PreparedKey>,
}

impl std::fmt::Debug for PayloadDecryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PayloadDecryptor({}, {} keys)",
            self.cipher.as_str(),
            self.keys.len()
        )
    }
}

/// Decryption failed. Deliberately carries no detail: which step failed is no business of
/// the sender, and must not become a padding oracle.
#[derive(Debug, PartialEq, Eq)]
pub struct DecryptionFailed;

impl PayloadDecryptor {
    pub fn new(cipher: PayloadCipher, keys: &[PayloadKey]) -> Self {
        let keys = keys
            .iter()
            .map(|k| match cipher {
                PayloadCipher::Aes256Gcm => PreparedKey::Gcm(Box::new(Aes256Gcm::new(&k.0.into()))),
                PayloadCipher::Aes256Cbc => PreparedKey::Cbc(k.0),
            })
            .collect();
        PayloadDecryptor { cipher, keys }
    }

    pub fn cipher(&self) -> PayloadCipher {
        self.cipher
    }

    /// Decodes and decrypts `encoded`, returning the plaintext. The first key that yields an
    /// authentic (GCM) or well-padded UTF-8 (CBC) plaintext wins; the caller still checks
    /// that the plaintext is a JSON object, which with CBC also rejects the rare wrong key
    /// whose output happens to be well padded.
    pub fn decrypt(&self, encoded: &str) -> Result<String, DecryptionFailed> {
        let data = decode_base64(encoded).ok_or(DecryptionFailed)?;
        // Decryption works in place: only keys that may still fail get a copy.
        let (last, earlier) = self.keys.split_last().ok_or(DecryptionFailed)?;
        for key in earlier {
            if let Some(plain) = decrypt_with(key, data.clone()) {
                return Ok(plain);
            }
        }
        decrypt_with(last, data).ok_or(DecryptionFailed)
    }
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if text.bytes().any(|b| b == b'+' || b == b'/') {
        STANDARD.decode(text).ok()
    } else {
        URL_SAFE.decode(text).ok()
    }
}

fn decrypt_with(key: &PreparedKey, mut buf: Vec<u8>) -> Option<String> {
    match key {
        PreparedKey::Gcm(aead) => {
            if buf.len() < GCM_NONCE + GCM_TAG {
                return None;
            }
            let tag_at = buf.len() - GCM_TAG;
            let (head, tag) = buf.split_at_mut(tag_at);
            let (nonce, body) = head.split_at_mut(GCM_NONCE);
            let nonce = Nonce::try_from(&*nonce).ok()?;
            let tag = Tag::try_from(&*tag).ok()?;
            aead.decrypt_inout_detached(&nonce, b"", body.into(), &tag)
                .ok()?;
            buf.truncate(tag_at);
            buf.drain(..GCM_NONCE);
        }
        PreparedKey::Cbc(key) => {
            if buf.len() < CBC_IV + CBC_BLOCK || !(buf.len() - CBC_IV).is_multiple_of(CBC_BLOCK) {
                return None;
            }
            let (iv, body) = buf.split_at_mut(CBC_IV);
            let decryptor = cbc::Decryptor::<Aes256>::new(key.into(), (&*iv).try_into().ok()?);
            let plain_len = decryptor.decrypt_padded::<Pkcs7>(body).ok()?.len();
            buf.truncate(CBC_IV + plain_len);
            buf.drain(..CBC_IV);
        }
    }
    String::from_utf8(buf).ok()
}

/// Encrypts `plaintext` the way Engage does, for tests, sample events and the signing tool.
/// `iv` must be 12 bytes for GCM and 16 for CBC (fresh and random for real use). The output is
/// URL-safe base64 without padding, as in Voyado's soft-identification scheme.
pub fn encrypt(cipher: PayloadCipher, key: &PayloadKey, iv: &[u8], plaintext: &[u8]) -> String {
    let mut out = iv.to_vec();
    match cipher {
        PayloadCipher::Aes256Gcm => {
            assert_eq!(iv.len(), GCM_NONCE, "GCM needs a 12-byte nonce");
            let aead = Aes256Gcm::new(&key.0.into());
            let nonce = Nonce::try_from(iv).expect("length checked");
            let mut body = plaintext.to_vec();
            let tag = aead
                .encrypt_inout_detached(&nonce, b"", body.as_mut_slice().into())
                .expect("plaintext below GCM's limit");
            out.extend_from_slice(&body);
            out.extend_from_slice(&tag);
        }
        PayloadCipher::Aes256Cbc => {
            assert_eq!(iv.len(), CBC_IV, "CBC needs a 16-byte IV");
            let iv: &[u8; 16] = iv.try_into().expect("length checked");
            let enc = cbc::Encryptor::<Aes256>::new((&key.0).into(), iv.into());
            out.extend_from_slice(&enc.encrypt_padded_vec::<Pkcs7>(plaintext));
        }
    }
    URL_SAFE.encode(out)
}

/// A random IV or nonce of the right length for `cipher`.
pub fn random_iv(cipher: PayloadCipher) -> Vec<u8> {
    let len = match cipher {
        PayloadCipher::Aes256Gcm => GCM_NONCE,
        PayloadCipher::Aes256Cbc => CBC_IV,
    };
    (0..len).map(|_| rand::random::<u8>()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "abcdefghijklmnopqrstuvwxyzABCDEF";
    const KEY_B: &str = "0123456789abcdefghijABCDEFGHIJKL";
    const PLAIN: &str = r#"{"contactId":"c-1","amount":12.50}"#;

    fn key(k: &str) -> PayloadKey {
        PayloadKey::parse(k).unwrap()
    }

    fn both() -> [PayloadCipher; 2] {
        [PayloadCipher::Aes256Gcm, PayloadCipher::Aes256Cbc]
    }

    #[test]
    fn round_trips_with_either_cipher() {
        for c in both() {
            let enc = encrypt(c, &key(KEY_A), &random_iv(c), PLAIN.as_bytes());
            let dec = PayloadDecryptor::new(c, &[key(KEY_A)]);
            assert_eq!(dec.decrypt(&enc).unwrap(), PLAIN, "{c:?}");
        }
    }

    #[test]
    fn accepts_standard_or_url_safe_base64_with_or_without_padding() {
        for c in both() {
            // An IV full of 0xfb/0xff produces '+' '/' in standard and '-' '_' in URL-safe.
            let iv = vec![0xfb; random_iv(c).len()];
            let url = encrypt(c, &key(KEY_A), &iv, PLAIN.as_bytes());
            let raw = URL_SAFE.decode(&url).unwrap();
            let standard_padded = base64::engine::general_purpose::STANDARD.encode(&raw);
            let url_padded = base64::engine::general_purpose::URL_SAFE.encode(&raw);
            assert!(standard_padded.contains('+') || standard_padded.contains('/'));
            let dec = PayloadDecryptor::new(c, &[key(KEY_A)]);
            for form in [&url, &standard_padded, &url_padded] {
                assert_eq!(dec.decrypt(form).unwrap(), PLAIN, "{c:?} {form}");
            }
        }
    }

    #[test]
    fn tries_every_key_in_order_for_rotation() {
        for c in both() {
            let dec = PayloadDecryptor::new(c, &[key(KEY_A), key(KEY_B)]);
            for k in [KEY_A, KEY_B] {
                let enc = encrypt(c, &key(k), &random_iv(c), PLAIN.as_bytes());
                assert_eq!(dec.decrypt(&enc).unwrap(), PLAIN);
            }
        }
    }

    #[test]
    fn a_wrong_key_fails() {
        for c in both() {
            let enc = encrypt(c, &key(KEY_A), &random_iv(c), PLAIN.as_bytes());
            let dec = PayloadDecryptor::new(c, &[key(KEY_B)]);
            // CBC has no tag: a wrong key yields garbage that fails padding or UTF-8 (or, very
            // rarely, passes both and is then refused as not-JSON by the envelope layer).
            if let Ok(garbage) = dec.decrypt(&enc) {
                assert_eq!(c, PayloadCipher::Aes256Cbc);
                assert_ne!(garbage, PLAIN);
            }
        }
        let c = PayloadCipher::Aes256Gcm;
        let enc = encrypt(c, &key(KEY_A), &random_iv(c), PLAIN.as_bytes());
        assert_eq!(
            PayloadDecryptor::new(c, &[key(KEY_B)]).decrypt(&enc),
            Err(DecryptionFailed)
        );
    }

    #[test]
    fn tampering_with_gcm_ciphertext_is_detected() {
        let c = PayloadCipher::Aes256Gcm;
        let enc = encrypt(c, &key(KEY_A), &random_iv(c), PLAIN.as_bytes());
        let mut raw = URL_SAFE.decode(&enc).unwrap();
        raw[GCM_NONCE + 3] ^= 1;
        let dec = PayloadDecryptor::new(c, &[key(KEY_A)]);
        assert_eq!(dec.decrypt(&URL_SAFE.encode(raw)), Err(DecryptionFailed));
    }

    #[test]
    fn malformed_input_fails_cleanly() {
        for c in both() {
            let dec = PayloadDecryptor::new(c, &[key(KEY_A)]);
            for bad in [
                "",
                "not base64 at all!",
                "AAAA",
                "-_+/",
                &URL_SAFE.encode([0u8; 20]),
            ] {
                assert_eq!(dec.decrypt(bad), Err(DecryptionFailed), "{c:?} {bad:?}");
            }
        }
        // CBC ciphertext that is not a whole number of blocks.
        let dec = PayloadDecryptor::new(PayloadCipher::Aes256Cbc, &[key(KEY_A)]);
        assert_eq!(
            dec.decrypt(&URL_SAFE.encode([0u8; 40])),
            Err(DecryptionFailed)
        );
    }

    #[test]
    fn keys_are_validated() {
        assert!(PayloadKey::parse(KEY_A).is_ok());
        assert!(PayloadKey::parse("short").is_err());
        assert!(PayloadKey::parse("abcdefghijklmnopqrstuvwxyzABCDE!").is_err());
        assert!(PayloadKey::parse("abcdefghijklmnopqrstuvwxyzABCDEFG").is_err());
        let err = PayloadKey::parse("abc").unwrap_err();
        assert_eq!(err, KeyError::WrongLength(3));
        assert!(
            !err.to_string().contains("abc"),
            "a key must never be echoed"
        );
        // Lists of keys (`ENGAGE_PAYLOAD_KEYS`) are the configuration's: see config.rs.
    }

    #[test]
    fn cipher_names_parse() {
        assert_eq!("aes-256-gcm".parse(), Ok(PayloadCipher::Aes256Gcm));
        assert_eq!("AES-256-CBC".parse(), Ok(PayloadCipher::Aes256Cbc));
        assert!("aes-128-gcm".parse::<PayloadCipher>().is_err());
    }

    #[test]
    fn debug_output_never_shows_key_material() {
        let dec = PayloadDecryptor::new(PayloadCipher::Aes256Gcm, &[key(KEY_A)]);
        let shown = format!("{dec:?} {:?}", key(KEY_A));
        assert!(!shown.contains(KEY_A));
    }
}
