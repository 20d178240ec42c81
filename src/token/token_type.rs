//! Token types and confirmations: how an access token must be presented, as data rather than
//! string literals.
//!
//! A token's [`TokenType`] follows from its [`Confirmation`] (RFC 7800's `cnf`): a token bound
//! to a key is presented with that key's proof, never as a plain bearer token. The token
//! response, the implicit grant's fragment, introspection and the resource-server check all
//! read the type from [`TokenRecord::token_type`](crate::storage::TokenRecord::token_type).

use std::fmt;

use http::HeaderName;
use serde::{Deserialize, Serialize};

/// The `DPoP` request header that carries a proof (RFC 9449 §4.1).
pub const DPOP: HeaderName = HeaderName::from_static("dpop");

/// The `DPoP-Nonce` response header that hands a client the nonce to put in its proofs
/// (RFC 9449 §8).
pub const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// How an access token is presented to a resource server (the `token_type` of RFC 6749 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenType {
    /// A bearer token (RFC 6750): whoever holds it may use it.
    Bearer,
    /// A token bound to a client key, presented with a proof of possession of that key
    /// (RFC 9449).
    DPoP,
}

impl TokenType {
    /// The name on the wire: the `token_type` value and the `Authorization` scheme.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "Bearer",
            Self::DPoP => "DPoP",
        }
    }

    /// Whether an `Authorization` scheme names this type (schemes are case-insensitive,
    /// RFC 9110 §11.1).
    pub fn is_scheme(self, scheme: &[u8]) -> bool {
        scheme.eq_ignore_ascii_case(self.as_str().as_bytes())
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TokenType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// What a token is bound to (RFC 7800 `cnf`): the key whose holder alone may use it.
///
/// Serialized as the `cnf` object of introspection and JWT claims, e.g. `{"jkt": "…"}`. One
/// pointer wide, so that an unbound record pays 8 bytes for the possibility.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Confirmation(Box<ConfirmationMethod>);

/// How a [`Confirmation`] names its key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ConfirmationMethod {
    /// The RFC 7638 thumbprint (base64url SHA-256) of a DPoP public key (RFC 9449 §6).
    #[serde(rename = "jkt")]
    JwkThumbprint(String),
}

impl Confirmation {
    /// A binding to the DPoP key with this RFC 7638 thumbprint.
    pub fn jwk_thumbprint(thumbprint: impl Into<String>) -> Self {
        Self(Box::new(ConfirmationMethod::JwkThumbprint(
            thumbprint.into(),
        )))
    }

    /// How the key is named.
    pub fn method(&self) -> &ConfirmationMethod {
        &self.0
    }

    /// The JWK thumbprint (`jkt`) the token is bound to, if it is bound that way.
    pub fn jkt(&self) -> Option<&str> {
        match &*self.0 {
            ConfirmationMethod::JwkThumbprint(thumbprint) => Some(thumbprint),
        }
    }

    /// The token type a token with this binding is presented as.
    pub fn token_type(&self) -> TokenType {
        match &*self.0 {
            ConfirmationMethod::JwkThumbprint(_) => TokenType::DPoP,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirmations_serialize_as_cnf_members() {
        let cnf = Confirmation::jwk_thumbprint("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
        assert_eq!(
            serde_json::to_value(&cnf).unwrap(),
            serde_json::json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"})
        );
        assert_eq!(cnf.token_type(), TokenType::DPoP);
        assert_eq!(
            cnf.jkt(),
            Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
        );
        let read: Confirmation = serde_json::from_str(r#"{"jkt":"abc"}"#).unwrap();
        assert_eq!(read, Confirmation::jwk_thumbprint("abc"));
        assert_eq!(std::mem::size_of::<Option<Confirmation>>(), 8);
        assert!(TokenType::Bearer.is_scheme(b"bEaReR"));
        assert!(!TokenType::Bearer.is_scheme(b"DPoP"));
    }
}
