//! JSON Web Signatures that clients send: the algorithms grantor accepts, public keys read from
//! JWKs, and the check of a compact JWS against such a key. DPoP proofs (RFC 9449) carry their
//! key in the header; client assertions (RFC 7523) are signed by a key of the client's JWKS or,
//! for `client_secret_jwt`, with its secret.
//!
//! Keys are read and thumbprinted (RFC 7638) by the `jwt-simple` crate, whose JWK import is
//! strict: the key type must be the algorithm's, a JWK with private members is refused, RSA
//! moduli are 2048 to 4096 bits. Its token verifier cannot read a header whose `jwk` is an
//! object, as every DPoP proof's is, so the signature itself is checked here with the RustCrypto
//! primitives `jwt-simple` is built on (`p256`, `rsa`, `ed25519-compact`, `hmac-sha256`), on the
//! JWS signing input. Nothing here implements cryptography; what is written here is the JWS
//! compact serialization (RFC 7515 §7.1) and the mapping of `alg` to a primitive.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_simple::prelude::{
    ECDSAP256PublicKeyLike, ES256PublicKey, Ed25519PublicKey, EdDSAPublicKeyLike, PS256PublicKey,
    RS256PublicKey,
};
use rsa::pkcs8::DecodePublicKey;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::error::Error;

/// A JWS algorithm grantor signs with, and accepts in DPoP proofs and client assertions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (2048-bit keys): what every relying party supports.
    Rs256,
    /// RSASSA-PSS with SHA-256 (2048-bit keys), as FAPI 2.0 asks.
    Ps256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// EdDSA with Ed25519.
    EdDsa,
}

impl SigningAlgorithm {
    /// Every algorithm grantor signs with.
    pub const ALL: [Self; 4] = [Self::Rs256, Self::Ps256, Self::Es256, Self::EdDsa];

    /// The algorithms FAPI 2.0's security profile allows (§5.4): PS256, ES256 and EdDSA.
    pub const FAPI2: [Self; 3] = [Self::Ps256, Self::Es256, Self::EdDsa];

    /// The `alg` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }
}

impl FromStr for SigningAlgorithm {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|alg| alg.as_str() == s)
            .ok_or_else(|| Error::config(format!("unsupported signing algorithm {s:?}")))
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a JWS or a key was refused. The reasons are for logs and tests: callers answer with their
/// protocol's error, which (for client authentication) says nothing of which check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct JoseError(&'static str);

/// The largest JWS grantor reads, in bytes: a proof or assertion with a 4096-bit RSA key in its
/// header fits in well under half of it.
pub(crate) const MAX_JWS_LENGTH: usize = 8192;

/// A compact JWS split into its parts, its header and claims decoded as JSON objects. Nothing
/// in it is trusted until [`verified_by`](Self::verified_by) says so.
pub(crate) struct Jws<'a> {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

impl<'a> Jws<'a> {
    /// Splits and decodes a compact JWS (RFC 7515 §7.1): three base64url parts without
    /// padding, a header and a payload that are JSON objects. `crit` is refused, as no
    /// extension is understood (RFC 7515 §4.1.11).
    pub(crate) fn parse(token: &'a str) -> Result<Self, JoseError> {
        if token.len() > MAX_JWS_LENGTH {
            return Err(JoseError("the JWS is too long"));
        }
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError("not a compact JWS"));
        };
        let object = |part: &str| -> Result<Map<String, Value>, JoseError> {
            let bytes = decode(part)?;
            match serde_json::from_slice(&bytes) {
                Ok(Value::Object(map)) => Ok(map),
                _ => Err(JoseError("a JWS part is not a JSON object")),
            }
        };
        let header = object(header)?;
        if header.contains_key("crit") {
            return Err(JoseError("the JWS names critical extensions"));
        }
        Ok(Self {
            claims: object(claims)?,
            header,
            signing_input: &token[..token.len() - signature.len() - 1],
            signature: decode(signature)?,
        })
    }

    /// The protected header.
    pub(crate) fn header(&self) -> &Map<String, Value> {
        &self.header
    }

    /// A header member that is a string.
    pub(crate) fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// The claims.
    pub(crate) fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// A claim that is a string.
    pub(crate) fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A claim that is a whole number of seconds (a NumericDate, RFC 7519 §2, without a
    /// fraction).
    pub(crate) fn claim_secs(&self, name: &str) -> Option<u64> {
        self.claims.get(name).and_then(Value::as_u64)
    }

    /// Whether `key` made the signature, with the header's `alg` being the key's algorithm.
    pub(crate) fn verified_by(&self, key: &PublicKey) -> bool {
        if self.header_str("alg") != Some(key.alg.as_str()) {
            return false;
        }
        let input = self.signing_input.as_bytes();
        match &key.verifier {
            Verifier::Es256(key) => {
                use p256::ecdsa::signature::Verifier as _;
                p256::ecdsa::Signature::from_slice(&self.signature)
                    .is_ok_and(|signature| key.verify(input, &signature).is_ok())
            }
            Verifier::EdDsa(key) => ed25519_compact::Signature::from_slice(&self.signature)
                .is_ok_and(|signature| key.verify(input, &signature).is_ok()),
            Verifier::Rs256(key) => {
                use rsa::signature::Verifier as _;
                rsa::pkcs1v15::Signature::try_from(self.signature.as_slice())
                    .is_ok_and(|signature| key.verify(input, &signature).is_ok())
            }
            Verifier::Ps256(key) => {
                use rsa::signature::Verifier as _;
                rsa::pss::Signature::try_from(self.signature.as_slice())
                    .is_ok_and(|signature| key.verify(input, &signature).is_ok())
            }
        }
    }

    /// Whether the JWS is an `HS256` MAC made with `secret` (`client_secret_jwt`, RFC 7523
    /// §2.2 with RFC 7518 §3.2), compared in constant time.
    pub(crate) fn verified_by_secret(&self, secret: &[u8]) -> bool {
        if self.header_str("alg") != Some("HS256") {
            return false;
        }
        let mac = hmac_sha256::HMAC::mac(self.signing_input.as_bytes(), secret);
        mac.ct_eq(self.signature.as_slice()).into()
    }
}

/// Strict base64url without padding.
fn decode(part: &str) -> Result<Vec<u8>, JoseError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JoseError("a JWS part is not base64url"))
}

/// A public key of one algorithm, read from a JWK, with its RFC 7638 thumbprint.
pub(crate) struct PublicKey {
    alg: SigningAlgorithm,
    verifier: Verifier,
    thumbprint: String,
}

enum Verifier {
    Rs256(rsa::pkcs1v15::VerifyingKey<sha2::Sha256>),
    Ps256(rsa::pss::VerifyingKey<sha2::Sha256>),
    Es256(p256::ecdsa::VerifyingKey),
    EdDsa(ed25519_compact::PublicKey),
}

impl PublicKey {
    /// Reads a public JWK (a JSON object's text) as a key of `alg`. Refused: a JWK of another
    /// key type or curve, one whose `alg` names another algorithm, one with private members, a
    /// weak RSA key.
    pub(crate) fn from_jwk(alg: SigningAlgorithm, jwk: &str) -> Result<Self, JoseError> {
        let refused = |_| JoseError("the JWK is not a public key of the algorithm");
        let rsa = |der: Vec<u8>| {
            rsa::RsaPublicKey::from_public_key_der(&der)
                .map_err(|_| JoseError("the RSA key cannot be read"))
        };
        let der = |result: Result<Vec<u8>, jwt_simple::Error>| {
            result.map_err(|_| JoseError("the RSA key cannot be encoded"))
        };
        let (verifier, thumbprint) = match alg {
            SigningAlgorithm::Rs256 => {
                let key = RS256PublicKey::from_jwk(jwk).map_err(refused)?;
                let public = rsa(der(key.to_der())?)?;
                (
                    Verifier::Rs256(rsa::pkcs1v15::VerifyingKey::new(public)),
                    key.jwk_thumbprint(),
                )
            }
            SigningAlgorithm::Ps256 => {
                let key = PS256PublicKey::from_jwk(jwk).map_err(refused)?;
                let public = rsa(der(key.to_der())?)?;
                (
                    Verifier::Ps256(rsa::pss::VerifyingKey::new(public)),
                    key.jwk_thumbprint(),
                )
            }
            SigningAlgorithm::Es256 => {
                let key = ES256PublicKey::from_jwk(jwk).map_err(refused)?;
                (
                    Verifier::Es256(*key.public_key().as_ref()),
                    key.jwk_thumbprint(),
                )
            }
            SigningAlgorithm::EdDsa => {
                let key = Ed25519PublicKey::from_jwk(jwk).map_err(refused)?;
                (
                    Verifier::EdDsa(*key.public_key().as_ref()),
                    key.jwk_thumbprint(),
                )
            }
        };
        Ok(Self {
            alg,
            verifier,
            thumbprint,
        })
    }

    /// The algorithm the key verifies.
    pub(crate) fn alg(&self) -> SigningAlgorithm {
        self.alg
    }

    /// The key's RFC 7638 thumbprint: base64url SHA-256 of its required members.
    pub(crate) fn thumbprint(&self) -> &str {
        &self.thumbprint
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("alg", &self.alg)
            .field("thumbprint", &self.thumbprint)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    //! The JWS here are made by `jsonwebtoken`, a JOSE implementation independent of the one
    //! grantor reads them with; the keys by `jwt-simple`.

    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use jwt_simple::prelude::{ES256KeyPair, Ed25519KeyPair, PS256KeyPair, RS256KeyPair};
    use serde_json::json;

    use super::*;

    /// A key pair of `alg`: its private key for jsonwebtoken, its public JWK.
    fn key_pair(alg: SigningAlgorithm) -> (EncodingKey, String) {
        match alg {
            SigningAlgorithm::Es256 => {
                let pair = ES256KeyPair::generate();
                let pem = pair.to_pem().unwrap();
                (
                    EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
                    pair.public_key().to_jwk(),
                )
            }
            SigningAlgorithm::EdDsa => {
                let pair = Ed25519KeyPair::generate();
                (
                    EncodingKey::from_ed_pem(pair.to_pem().as_bytes()).unwrap(),
                    pair.public_key().to_jwk(),
                )
            }
            SigningAlgorithm::Rs256 => {
                let pair = RS256KeyPair::generate(2048).unwrap();
                let pem = pair.to_pem().unwrap();
                (
                    EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
                    pair.public_key().to_jwk(),
                )
            }
            SigningAlgorithm::Ps256 => {
                let pair = PS256KeyPair::generate(2048).unwrap();
                let pem = pair.to_pem().unwrap();
                (
                    EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
                    pair.public_key().to_jwk(),
                )
            }
        }
    }

    fn algorithm(alg: SigningAlgorithm) -> Algorithm {
        match alg {
            SigningAlgorithm::Rs256 => Algorithm::RS256,
            SigningAlgorithm::Ps256 => Algorithm::PS256,
            SigningAlgorithm::Es256 => Algorithm::ES256,
            SigningAlgorithm::EdDsa => Algorithm::EdDSA,
        }
    }

    /// A JWS of `alg` with the public key in its header, as a DPoP proof carries it.
    fn signed(alg: SigningAlgorithm, key: &EncodingKey, jwk: &str) -> String {
        let mut header = Header::new(algorithm(alg));
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(serde_json::from_str::<Jwk>(jwk).unwrap());
        jsonwebtoken::encode(&header, &json!({"jti": "a", "iat": 1}), key).unwrap()
    }

    // C-DP-1 (the signature part): a JWS of every accepted algorithm made by another JOSE
    // implementation verifies with the key of its header; tampered, or checked against another
    // key or algorithm, it does not.
    #[test]
    fn signatures_of_every_algorithm_verify_and_tampering_is_caught() {
        for alg in SigningAlgorithm::ALL {
            let (private, jwk) = key_pair(alg);
            let token = signed(alg, &private, &jwk);
            let jws = Jws::parse(&token).unwrap();
            let header_jwk = jws.header()["jwk"].to_string();
            let key = PublicKey::from_jwk(alg, &header_jwk).unwrap();
            assert!(jws.verified_by(&key), "{alg}");
            assert_eq!(jws.claim_str("jti"), Some("a"));
            assert_eq!(jws.claim_secs("iat"), Some(1));
            assert_eq!(key.alg(), alg);
            assert_eq!(key.thumbprint().len(), 43, "base64url SHA-256");

            let (_, other) = key_pair(alg);
            let other = PublicKey::from_jwk(alg, &other).unwrap();
            assert!(!jws.verified_by(&other), "{alg}: another key");
            assert_ne!(other.thumbprint(), key.thumbprint());

            let (head, rest) = token.split_once('.').unwrap();
            let (_, signature) = rest.rsplit_once('.').unwrap();
            let forged_claims = URL_SAFE_NO_PAD.encode(br#"{"jti":"b","iat":1}"#);
            let forged = format!("{head}.{forged_claims}.{signature}");
            assert!(!Jws::parse(&forged).unwrap().verified_by(&key), "{alg}");
        }
        // The header's alg must be the key's.
        let (private, jwk) = key_pair(SigningAlgorithm::Es256);
        let token = signed(SigningAlgorithm::Es256, &private, &jwk);
        let jws = Jws::parse(&token).unwrap();
        assert!(PublicKey::from_jwk(SigningAlgorithm::EdDsa, &jwk).is_err());
        let key = PublicKey::from_jwk(SigningAlgorithm::Es256, &jwk).unwrap();
        let mut relabelled = Jws::parse(&token).unwrap();
        relabelled.header.insert("alg".into(), json!("ES384"));
        assert!(jws.verified_by(&key) && !relabelled.verified_by(&key));
    }

    // C-DP-1: a JWK with private members is refused as a public key.
    #[test]
    fn a_private_jwk_is_refused() {
        let pair = ES256KeyPair::generate();
        assert!(PublicKey::from_jwk(SigningAlgorithm::Es256, &pair.to_jwk()).is_err());
        assert!(PublicKey::from_jwk(SigningAlgorithm::Es256, &pair.public_key().to_jwk()).is_ok());
        assert!(
            PublicKey::from_jwk(SigningAlgorithm::Es256, r#"{"kty":"oct","k":"c2VjcmV0"}"#)
                .is_err()
        );
    }

    // C-CA-1 (client_secret_jwt): an HS256 JWS verifies with its secret only.
    #[test]
    fn hs256_verifies_with_the_secret_only() {
        let secret = b"a-client-secret-of-thirty-two-bytes!";
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &json!({"iss": "c"}),
            &EncodingKey::from_secret(secret).unwrap(),
        )
        .unwrap();
        let jws = Jws::parse(&token).unwrap();
        assert!(jws.verified_by_secret(secret));
        assert!(!jws.verified_by_secret(b"another-secret-of-thirty-two-bytes!!"));
        let (private, jwk) = key_pair(SigningAlgorithm::Es256);
        let asymmetric = signed(SigningAlgorithm::Es256, &private, &jwk);
        assert!(!Jws::parse(&asymmetric).unwrap().verified_by_secret(secret));
    }

    #[test]
    fn malformed_compact_serializations_are_refused() {
        let good = URL_SAFE_NO_PAD.encode(b"{}");
        for token in [
            String::new(),
            "a.b".into(),
            format!("{good}.{good}.AA.AA"),
            format!("{good}.{good}.A=="),
            format!("{}.{good}.AA", URL_SAFE_NO_PAD.encode(b"[]")),
            format!(
                "{}.{good}.AA",
                URL_SAFE_NO_PAD.encode(br#"{"crit":["b64"]}"#)
            ),
            format!("{good}.{good}.{}", "A".repeat(MAX_JWS_LENGTH)),
        ] {
            assert!(Jws::parse(&token).is_err(), "{token:.40}");
        }
        assert!(Jws::parse(&format!("{good}.{good}.AA")).is_ok());
    }
}
