//! Proof Key for Code Exchange (RFC 7636): the challenge a client sends with its authorization
//! request and the verifier it later proves it holds.
//!
//! `S256` is always supported; `plain` only when [`ConfigBuilder::allow_plain_pkce`] enables it
//! (RFC 9700 §2.1.1 forbids it by default). Verifiers are compared in constant time.
//!
//! [`ConfigBuilder::allow_plain_pkce`]: crate::ConfigBuilder::allow_plain_pkce

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use crate::charset::UNRESERVED;
use crate::error::OAuthError;

/// How the challenge was derived from the verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum ChallengeMethod {
    /// `BASE64URL(SHA256(verifier))`.
    S256,
    /// The verifier itself (only when enabled).
    #[serde(rename = "plain")]
    Plain,
}

impl ChallengeMethod {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::S256 => "S256",
            Self::Plain => "plain",
        }
    }
}

/// A code challenge bound to an authorization code.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CodeChallenge {
    method: ChallengeMethod,
    value: String,
}

impl CodeChallenge {
    /// Reads the challenge from an authorization request's `code_challenge` and
    /// `code_challenge_method` (C-PK-1). The method defaults to `plain` per RFC 7636 §4.3, which
    /// is refused unless `allow_plain`.
    pub(crate) fn from_request(
        challenge: Option<&str>,
        method: Option<&str>,
        allow_plain: bool,
    ) -> Result<Option<Self>, OAuthError> {
        let Some(challenge) = challenge else {
            return match method {
                Some(_) => Err(OAuthError::invalid_request(
                    "code_challenge_method was sent without code_challenge",
                )),
                None => Ok(None),
            };
        };
        let method = match method {
            Some("S256") => ChallengeMethod::S256,
            Some("plain") | None if allow_plain => ChallengeMethod::Plain,
            _ => {
                return Err(OAuthError::invalid_request(
                    "transform algorithm not supported: use code_challenge_method=S256",
                ));
            }
        };
        // An S256 challenge is a SHA-256 digest in base64url: exactly 43 characters of that
        // alphabet. Anything else could never verify, so it is refused now, not at the token
        // endpoint (RFC 7636 §4.2).
        let shaped = match method {
            ChallengeMethod::S256 => is_s256_shaped(challenge),
            ChallengeMethod::Plain => is_verifier_shaped(challenge),
        };
        if !shaped {
            return Err(OAuthError::invalid_request("malformed code_challenge"));
        }
        Ok(Some(Self::new(method, challenge)))
    }

    /// A challenge as a storage backend reads it back.
    pub fn new(method: ChallengeMethod, value: impl Into<String>) -> Self {
        Self {
            method,
            value: value.into(),
        }
    }

    /// The S256 challenge for a verifier (what a client computes).
    pub fn s256(verifier: &str) -> Self {
        Self::new(ChallengeMethod::S256, s256(verifier))
    }

    /// The transform method.
    pub fn method(&self) -> ChallengeMethod {
        self.method
    }

    /// The challenge value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether `verifier` is well-formed (C-PK-3: 43–128 characters of `[A-Za-z0-9-._~]`) and
    /// matches this challenge, compared in constant time.
    pub fn verify(&self, verifier: &str) -> bool {
        if !is_verifier_shaped(verifier) {
            return false;
        }
        let expected = self.value.as_bytes();
        match self.method {
            ChallengeMethod::S256 => s256_bytes(verifier).ct_eq(expected).into(),
            ChallengeMethod::Plain => verifier.as_bytes().ct_eq(expected).into(),
        }
    }
}

/// Whether `challenge` can be an S256 challenge: 43 base64url characters (256 bits, unpadded).
fn is_s256_shaped(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        // The last character carries 2 bits of padding, which must be zero.
        && URL_SAFE_NO_PAD.decode(challenge).is_ok()
}

impl fmt::Debug for CodeChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A plain challenge is the verifier itself: never print the value.
        write!(f, "CodeChallenge({}, <redacted>)", self.method.as_str())
    }
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `BASE64URL(SHA256(verifier))` (RFC 7636 §4.2), encoded into a buffer of its own: verifying
/// allocates nothing.
fn s256_bytes(verifier: &str) -> [u8; 43] {
    let mut encoded = [0u8; 43];
    // 32 bytes always encode to exactly 43 characters; were it otherwise, the zeros left in
    // the buffer would match no challenge.
    let _ = URL_SAFE_NO_PAD.encode_slice(Sha256::digest(verifier.as_bytes()), &mut encoded);
    encoded
}

fn is_verifier_shaped(value: &str) -> bool {
    (43..=128).contains(&value.len()) && UNRESERVED.contains_all(value.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    // C-PK-1, C-PK-3
    #[test]
    fn s256_matches_the_rfc_example() {
        let c = CodeChallenge::from_request(Some(CHALLENGE), Some("S256"), false)
            .unwrap()
            .unwrap();
        assert!(c.verify(VERIFIER));
        assert!(!c.verify(&VERIFIER.replace('d', "e")));
        assert_eq!(CodeChallenge::s256(VERIFIER), c);
    }

    // C-PK-1: plain is off unless enabled, and it is the default method.
    #[test]
    fn plain_is_refused_unless_enabled() {
        for method in [None, Some("plain"), Some("S512"), Some("s256")] {
            let err = CodeChallenge::from_request(Some(VERIFIER), method, false).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidRequest);
        }
        let plain = CodeChallenge::from_request(Some(VERIFIER), None, true)
            .unwrap()
            .unwrap();
        assert_eq!(plain.method(), ChallengeMethod::Plain);
        assert!(plain.verify(VERIFIER));
    }

    // C-PK-3: verifiers are 43–128 unreserved characters.
    #[test]
    fn malformed_verifiers_never_verify() {
        let short = &VERIFIER[..42];
        let plain = CodeChallenge::new(ChallengeMethod::Plain, short);
        assert!(!plain.verify(short));
        let long = "a".repeat(129);
        assert!(!CodeChallenge::new(ChallengeMethod::Plain, long.clone()).verify(&long));
        let bad = format!("{}+", &VERIFIER[..43]);
        assert!(!CodeChallenge::new(ChallengeMethod::Plain, bad.clone()).verify(&bad));
        assert!(CodeChallenge::from_request(Some("short"), Some("S256"), false).is_err());
        assert!(CodeChallenge::from_request(None, Some("S256"), false).is_err());
    }

    // C-PK-1: an S256 challenge is exactly 43 base64url characters (a SHA-256 digest); a
    // longer one, a padded one, one outside the alphabet, or one whose last character sets
    // padding bits could never verify and is refused at once.
    #[test]
    fn s256_challenges_are_exactly_a_digest() {
        let refused = [
            format!("{CHALLENGE}A"),
            "a".repeat(64),
            "a".repeat(128),
            format!("{CHALLENGE}="),
            CHALLENGE[..42].to_owned(),
            format!("{}.", &CHALLENGE[..42]),
            format!("{}~", &CHALLENGE[..42]),
            // `N` (13 = 0b001101) leaves the padding bits set.
            format!("{}N", &CHALLENGE[..42]),
        ];
        for challenge in refused {
            let result = CodeChallenge::from_request(Some(&challenge), Some("S256"), false);
            assert!(result.is_err(), "{challenge}");
        }
        // Any verifier's S256 challenge is accepted.
        for verifier in [VERIFIER.to_owned(), "x".repeat(43), "~".repeat(128)] {
            let challenge = CodeChallenge::s256(&verifier);
            let read = CodeChallenge::from_request(Some(challenge.value()), Some("S256"), false);
            assert_eq!(read.unwrap().unwrap(), challenge);
        }
    }

    #[test]
    fn debug_hides_the_value() {
        let c = CodeChallenge::new(ChallengeMethod::Plain, VERIFIER);
        assert!(!format!("{c:?}").contains(VERIFIER));
    }
}
