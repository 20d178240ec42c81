//! JWT access tokens (RFC 9068): the access-token format of resources registered with
//! [`TokenFormat::Jwt`](crate::TokenFormat::Jwt), signed by the provider's key ring, so that
//! a resource server in another process checks them with the JWKS alone.
//!
//! Like every access token, a JWT's record is also stored under the digest of its text: the
//! server's own bearer validation checks the signature, `typ`, issuer and expiry, then storage,
//! so that revoking the token, or its whole grant (a replayed refresh token, a deleted client),
//! takes effect at once on every instance sharing the storage (C-JT-2). A resource server that
//! only has the JWKS cannot see revocation; keep these tokens short-lived, or have it
//! introspect.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_simple::prelude::{Duration as JoseDuration, UnixTimeStamp};
use jwt_simple::prelude::{JWTClaims, VerificationOptions};

use super::OpenIdProvider;
use super::keys::SigningAlgorithm;
use crate::error::Error;
use crate::storage::TokenRecord;
use crate::time::Timestamp;
use crate::token::{AccessToken, AccessTokenFormat, Reading};

/// The `typ` header of a JWT access token (RFC 9068 §2.1).
pub(crate) const AT_JWT: &str = "at+jwt";

/// The clock difference tolerated between instances of a fleet when reading a JWT (`iat`
/// slightly ahead, `exp` just passed); storage decides expiry exactly in any case.
const LEEWAY_SECONDS: u64 = 5;

/// The JWT access-token format (RFC 9068): header `typ: at+jwt` and `kid`; claims `iss`,
/// `exp`, `aud` (the token's resources), `sub` (the owner, or the client for an app token),
/// `client_id`, `iat`, `jti`, `scope`, and `auth_time`, `acr`, `cnf` and `act` (the actor of a
/// delegated token, RFC 8693 §4.1) when known (C-JT-1).
///
/// A server that is an OpenID Provider mints a resource's tokens in this format when the
/// resource asks for it ([`TokenFormat::Jwt`](crate::TokenFormat::Jwt)), and reads them
/// back: there is nothing to register.
pub struct JwtAccessTokens {
    provider: Arc<OpenIdProvider>,
    issuer: String,
}

impl JwtAccessTokens {
    /// The format of `provider`'s tokens for the server whose issuer is `issuer`.
    pub(crate) fn new(provider: Arc<OpenIdProvider>, issuer: &str) -> Self {
        Self {
            provider,
            issuer: issuer.to_owned(),
        }
    }

    /// The algorithm the tokens are signed with.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.provider.access_token_algorithm()
    }

    /// Reads the key set again if it is stale, so that minting and reading (which must not
    /// wait) see the keys of `now`.
    pub(crate) async fn refresh_keys(&self, now: Timestamp) -> Result<(), Error> {
        self.provider.keys().refresh(now).await
    }
}

impl std::fmt::Debug for JwtAccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAccessTokens")
            .field("issuer", &self.issuer)
            .field("alg", &self.algorithm())
            .finish()
    }
}

fn unix(at: Timestamp) -> UnixTimeStamp {
    UnixTimeStamp::from_secs(at.as_secs())
}

impl AccessTokenFormat for JwtAccessTokens {
    fn mint(&self, record: &TokenRecord) -> Result<AccessToken, Error> {
        let alg = self.algorithm();
        let signer = self
            .provider
            .keys()
            .cached_signer(alg, record.issued_at)
            .ok_or_else(|| Error::other(format!("no {alg} key signs access tokens yet")))?;
        let mut custom = serde_json::Map::new();
        custom.insert("client_id".into(), record.client_id.as_str().into());
        custom.insert("scope".into(), record.scope.to_string().into());
        if let Some(context) = &record.openid {
            if let Some(auth_time) = context.auth_time {
                custom.insert("auth_time".into(), auth_time.as_secs().into());
            }
            if let Some(acr) = &context.acr {
                custom.insert("acr".into(), acr.as_str().into());
            }
        }
        if let Some(confirmation) = &record.confirmation {
            let cnf = serde_json::to_value(confirmation).map_err(Error::other)?;
            custom.insert("cnf".into(), cnf);
        }
        // A delegated token names its actor (RFC 8693 §4.1).
        if let Some(actor) = &record.actor {
            let act = serde_json::to_value(actor).map_err(Error::other)?;
            custom.insert("act".into(), act);
        }
        let subject = match &record.owner {
            Some(owner) => owner.as_str(),
            None => record.client_id.as_str(),
        };
        // One resource as a string, several as an array in the order requested (RFC 7519
        // §4.1.3); jwt-simple's own `aud` would put several in a set, in no fixed order.
        let aud = match &record.resources[..] {
            [one] => serde_json::Value::from(one.as_str()),
            many => many.iter().map(String::as_str).collect(),
        };
        custom.insert("aud".into(), aud);
        let mut jti = [0u8; 16];
        rand::fill(&mut jti[..]);
        let claims = JWTClaims {
            issued_at: Some(unix(record.issued_at)),
            expires_at: Some(unix(record.expires_at)),
            invalid_before: None,
            issuer: Some(self.issuer.clone()),
            subject: Some(subject.to_owned()),
            audiences: None,
            jwt_id: Some(URL_SAFE_NO_PAD.encode(jti)),
            nonce: None,
            custom,
        };
        signer.sign_typed(claims, AT_JWT).map(AccessToken::new)
    }

    fn read(&self, token: &str, now: Timestamp) -> Reading {
        // A compact JWS has three parts; anything else is another format's.
        if token.bytes().filter(|&b| b == b'.').count() != 2 {
            return Reading::NotMine;
        }
        let options = VerificationOptions {
            required_signature_type: Some(AT_JWT.to_owned()),
            allowed_issuers: Some([self.issuer.clone()].into()),
            // A little leeway for clocks that differ across a fleet; the stored record, which
            // bearer validation reads next, expires exactly.
            time_tolerance: Some(JoseDuration::from_secs(LEEWAY_SECONDS)),
            artificial_time: Some(unix(now)),
            ..VerificationOptions::default()
        };
        match self.provider.keys().cached_verify(token, now, options) {
            Some(claims) if claims.expires_at.is_some() && claims.jwt_id.is_some() => {
                Reading::Verified
            }
            _ => Reading::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use jwt_simple::prelude::{HS256Key, HeaderOptions, MACLike};

    use super::*;
    use crate::client::ClientId;
    use crate::oidc::{KeyRing, NoClaims, RotationPolicy};
    use crate::scope::ScopeSet;
    use crate::storage::MemoryStorage;
    use crate::token::GrantId;

    const ISSUER: &str = "https://auth.example.com";
    const NOW: Timestamp = Timestamp::from_secs(1_700_000_000);

    async fn format(issuer: &str, provider: &Arc<OpenIdProvider>) -> JwtAccessTokens {
        provider.keys().maintain(NOW).await.unwrap();
        JwtAccessTokens::new(provider.clone(), issuer)
    }

    async fn provider() -> Arc<OpenIdProvider> {
        let policy = RotationPolicy::new().algorithms([SigningAlgorithm::Es256]);
        let ring = KeyRing::new(MemoryStorage::new(), policy).unwrap();
        let provider = OpenIdProvider::builder(ring, NoClaims)
            .require_rs256(false)
            .build()
            .unwrap();
        Arc::new(provider)
    }

    fn record() -> TokenRecord {
        let mut record = TokenRecord::new(
            GrantId::generate(),
            ClientId::new("app").unwrap(),
            None,
            ScopeSet::parse("read").unwrap(),
            NOW,
            NOW.after(std::time::Duration::from_secs(300)),
        );
        record.resources = vec!["https://api.example/a".to_owned()].into();
        record
    }

    fn claims(expires: bool) -> JWTClaims<serde_json::Map<String, serde_json::Value>> {
        JWTClaims {
            issued_at: Some(unix(NOW)),
            expires_at: expires.then(|| unix(NOW.after(std::time::Duration::from_secs(300)))),
            invalid_before: None,
            issuer: Some(ISSUER.to_owned()),
            subject: Some("app".to_owned()),
            audiences: None,
            jwt_id: Some("jti-1".to_owned()),
            nonce: None,
            custom: serde_json::Map::new(),
        }
    }

    fn is_verified(reading: Reading) -> bool {
        matches!(reading, Reading::Verified)
    }

    fn is_invalid(reading: Reading) -> bool {
        matches!(reading, Reading::Invalid)
    }

    // C-JT-2: what the format checks itself, before storage has its say.
    #[tokio::test]
    async fn reading_checks_type_issuer_algorithm_signature_and_expiry() {
        let provider = provider().await;
        let format = format(ISSUER, &provider).await;
        let token = format.mint(&record()).unwrap();
        let token = token.secret();
        assert!(is_verified(format.read(token, NOW)));
        assert!(matches!(format.read("opaque-token", NOW), Reading::NotMine));

        // Expired (no leeway beyond the tolerance), and without `exp` at all.
        let later = NOW.after(std::time::Duration::from_secs(300 + LEEWAY_SECONDS + 1));
        assert!(is_invalid(format.read(token, later)));
        let signer = provider
            .keys()
            .cached_signer(SigningAlgorithm::Es256, NOW)
            .unwrap();
        let endless = signer.sign_typed(claims(false), AT_JWT).unwrap();
        assert!(is_invalid(format.read(&endless, NOW)));
        // The same claims, typed `at+jwt`, verify: the refusals above are the format's.
        let typed = signer.sign_typed(claims(true), AT_JWT).unwrap();
        assert!(is_verified(format.read(&typed, NOW)));
        // Typed as a plain JWT (as an ID token is), or as another kind of JWT.
        let plain = signer.sign(claims(true)).unwrap();
        assert!(is_invalid(format.read(&plain, NOW)));
        let dpop = signer.sign_typed(claims(true), "dpop+jwt").unwrap();
        assert!(is_invalid(format.read(&dpop, NOW)));
        // Another issuer's format does not accept this issuer's tokens.
        let other = JwtAccessTokens::new(provider.clone(), "https://other.example");
        assert!(is_invalid(other.read(token, NOW)));

        // `alg: none`, and HS256 keyed with the public key (the classic confusion).
        let kid = jwt_simple::token::Token::decode_metadata(token)
            .unwrap()
            .key_id()
            .unwrap()
            .to_owned();
        let payload = token.split('.').nth(1).unwrap();
        let none_header =
            URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"none","typ":"at+jwt","kid":"{kid}"}}"#));
        let unsigned = format!("{none_header}.{payload}.");
        assert!(is_invalid(format.read(&unsigned, NOW)));
        let jwks = provider.keys().jwks(NOW).await.unwrap();
        let public = serde_json::to_vec(&jwks["keys"][0]).unwrap();
        let hmac = HS256Key::from_bytes(&public).with_key_id(&kid);
        let options = HeaderOptions {
            signature_type: Some(AT_JWT.to_owned()),
            ..HeaderOptions::default()
        };
        let confused = hmac
            .authenticate_with_options(claims(true), &options)
            .unwrap();
        assert!(is_invalid(format.read(&confused, NOW)));
        // A changed payload under a good signature.
        let parts: Vec<&str> = token.split('.').collect();
        let forged_payload =
            URL_SAFE_NO_PAD.encode(br#"{"iss":"https://auth.example.com","scope":"admin"}"#);
        let tampered = format!("{}.{forged_payload}.{}", parts[0], parts[2]);
        assert!(is_invalid(format.read(&tampered, NOW)));
    }
}
