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
pub const AT_JWT: &str = "at+jwt";

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
        let aud = match record.resources.as_slice() {
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
            // The server's clock decides, without leeway: storage's record expires then too.
            time_tolerance: Some(JoseDuration::from_secs(0)),
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
