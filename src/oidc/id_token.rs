//! ID tokens (OpenID Connect Core §2, §3.1.3.6, §3.3.2.11; C-OI-1, C-OI-2, C-OI-6): the
//! claims, the hashes that bind an ID token to the access token and code issued with it, and
//! the signature.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_simple::prelude::{Audiences, UnixTimeStamp};
use sha2::{Digest, Sha256, Sha512};

use super::claims::{self, ClaimSet};
use super::keys::{Claims, SigningAlgorithm};
use super::{OpenIdProvider, subject};
use crate::authenticator::OwnerId;
use crate::client::Client;
use crate::error::Error;
use crate::scope::ScopeSet;
use crate::storage::OpenIdContext;
use crate::time::Timestamp;

/// What an ID token is made from. Its `Debug` hides the access token and the code.
pub(crate) struct IdTokenInput<'a> {
    /// The issuer (`iss`).
    pub(crate) issuer: &'a str,
    /// The client it is for (`aud`), whose registration says how to sign it.
    pub(crate) client: &'a Client,
    /// Whom it is about.
    pub(crate) owner: &'a OwnerId,
    /// The authorization's nonce, authentication and requested claims.
    pub(crate) context: &'a OpenIdContext,
    /// The access token issued with it, for `at_hash`.
    pub(crate) access_token: Option<&'a str>,
    /// The code issued with it, for `c_hash`.
    pub(crate) code: Option<&'a str>,
    /// The granted scope, when its claims go in the ID token (no access token for UserInfo).
    pub(crate) scope_claims: Option<&'a ScopeSet>,
    /// The time of issue.
    pub(crate) now: Timestamp,
}

impl std::fmt::Debug for IdTokenInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |value: Option<&str>| value.map(|_| "<redacted>");
        f.debug_struct("IdTokenInput")
            .field("issuer", &self.issuer)
            .field("client", self.client.id())
            .field("owner", self.owner)
            .field("access_token", &hidden(self.access_token))
            .field("code", &hidden(self.code))
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

/// The left half of the hash of `value` that the ID token's algorithm uses, base64url: the
/// `at_hash` and `c_hash` claims. SHA-256 for the `*256` algorithms, SHA-512 for EdDSA with
/// Ed25519 (OpenID Connect Core §3.1.3.6, §3.3.2.11).
pub(crate) fn half_hash(alg: SigningAlgorithm, value: &str) -> String {
    let digest = match alg {
        SigningAlgorithm::EdDsa => Sha512::digest(value.as_bytes()).to_vec(),
        _ => Sha256::digest(value.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

fn unix(at: Timestamp) -> UnixTimeStamp {
    UnixTimeStamp::from_secs(at.as_secs())
}

impl OpenIdProvider {
    /// Signs an ID token with the key of the client's registered algorithm.
    pub(crate) async fn id_token(&self, input: IdTokenInput<'_>) -> Result<String, Error> {
        let alg: SigningAlgorithm = input.client.id_token_signed_response_alg().parse()?;
        let signer = self.keys.signer(alg, input.now).await?;
        let context = input.context;
        let mut custom = ClaimSet::new();
        // Claims the client may see in the ID token itself: its scope's, when no access token
        // lets it call UserInfo, and those its `claims` parameter asks for there.
        let wanted = claims::wanted(input.scope_claims, context.claims.as_ref(), "id_token");
        if !wanted.is_empty() {
            let found = self.claims.claims(input.owner, &wanted).await?;
            // An ID token about an owner the user store no longer knows is not issued.
            let found = found.ok_or_else(|| {
                Error::other("the claims source does not know the owner any more")
            })?;
            custom.extend(claims::filter(found, &wanted));
        }
        if let Some(auth_time) = context.auth_time {
            custom.insert("auth_time".into(), auth_time.as_secs().into());
        }
        if let Some(acr) = &context.acr {
            custom.insert("acr".into(), acr.as_str().into());
        }
        if !context.amr.is_empty() {
            custom.insert("amr".into(), context.amr.clone().into());
        }
        if let Some(token) = input.access_token {
            custom.insert("at_hash".into(), half_hash(signer.alg(), token).into());
        }
        if let Some(code) = input.code {
            custom.insert("c_hash".into(), half_hash(signer.alg(), code).into());
        }
        let claims = Claims {
            issued_at: Some(unix(input.now)),
            expires_at: Some(unix(input.now.after(self.id_token_lifetime))),
            invalid_before: None,
            issuer: Some(input.issuer.to_owned()),
            subject: Some(subject::of(
                input.owner,
                input.client,
                self.pairwise_salt.as_deref(),
            )?),
            audiences: Some(Audiences::AsString(input.client.id().as_str().to_owned())),
            jwt_id: None,
            nonce: context.nonce.clone(),
            custom,
        };
        signer.sign(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_hashes_follow_the_signing_algorithm() {
        // OpenID Connect Core §A.3: the at_hash of this access token with RS256.
        assert_eq!(
            half_hash(
                SigningAlgorithm::Rs256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        let ed = half_hash(SigningAlgorithm::EdDsa, "token");
        assert_eq!(ed.len(), 43, "half of SHA-512 is 32 bytes");
    }
}
