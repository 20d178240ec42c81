//! JWS built for tests by `jsonwebtoken`, a JOSE implementation independent of grantor's: DPoP
//! proofs (RFC 9449) and client keys, with every header and claim under the test's control, so
//! that malformed proofs can be built as easily as good ones.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey};
use jwt_simple::prelude::{ES256KeyPair, Ed25519KeyPair};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A client's key pair: the private key for signing, the public JWK, its RFC 7638 thumbprint.
pub struct ClientKey {
    pub alg: Algorithm,
    pub private: EncodingKey,
    pub public_jwk: Value,
    /// The JWK with its private members (`d`), for the test that sends one.
    pub private_jwk: Value,
    pub thumbprint: String,
}

impl ClientKey {
    /// A new P-256 key (ES256).
    pub fn es256() -> Self {
        let pair = ES256KeyPair::generate();
        let pem = pair.to_pem().unwrap();
        Self::of(
            Algorithm::ES256,
            EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
            &pair.public_key().to_jwk(),
            &pair.to_jwk(),
        )
    }

    /// A new Ed25519 key (EdDSA).
    pub fn ed25519() -> Self {
        let pair = Ed25519KeyPair::generate();
        Self::of(
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(pair.to_pem().as_bytes()).unwrap(),
            &pair.public_key().to_jwk(),
            &pair.to_jwk(),
        )
    }

    fn of(alg: Algorithm, private: EncodingKey, public: &str, private_jwk: &str) -> Self {
        let public_jwk: Value = serde_json::from_str(public).unwrap();
        // The thumbprint as jsonwebtoken computes it, not as grantor does.
        let jwk: Jwk = serde_json::from_value(public_jwk.clone()).unwrap();
        Self {
            alg,
            private,
            thumbprint: jwk.thumbprint(ThumbprintHash::SHA256).unwrap(),
            public_jwk,
            private_jwk: serde_json::from_str(private_jwk).unwrap(),
        }
    }

    /// The `alg` header value.
    pub fn alg_name(&self) -> &'static str {
        match self.alg {
            Algorithm::ES256 => "ES256",
            Algorithm::EdDSA => "EdDSA",
            _ => unreachable!("only ES256 and EdDSA test keys"),
        }
    }

    /// A JWS of `header` and `claims` signed by this key (whatever `alg` the header says).
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &self.private, self.alg).unwrap();
        format!("{input}.{signature}")
    }

    /// The header of a good DPoP proof by this key.
    pub fn proof_header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": self.alg_name(), "jwk": self.public_jwk})
    }

    /// A good DPoP proof for `method` and `url` made at `iat`, with a fresh `jti`; with `ath`
    /// for `access_token` when given.
    pub fn proof(&self, method: &str, url: &str, iat: u64, access_token: Option<&str>) -> String {
        self.sign(
            &self.proof_header(),
            &proof_claims(method, url, iat, access_token),
        )
    }
}

/// The claims of a good DPoP proof, with a fresh random `jti`.
pub fn proof_claims(method: &str, url: &str, iat: u64, access_token: Option<&str>) -> Value {
    let mut claims = json!({
        "htm": method,
        "htu": url,
        "iat": iat,
        "jti": grantor::AccessToken::generate().secret()[..22].to_owned(),
    });
    if let Some(token) = access_token {
        claims["ath"] = ath(token).into();
    }
    claims
}

/// The `ath` of a proof presented with `token`: base64url SHA-256.
pub fn ath(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}
