//! OpenID Connect (cargo feature `oidc`, on by default): grantor as an OpenID Provider.
//!
//! Give the server an [`OpenIdProvider`] ([`ServerBuilder::openid`](crate::ServerBuilder::openid))
//! and requests whose scope holds `openid` become OpenID Connect requests:
//!
//! - the authorization endpoint reads their parameters (`nonce`, `prompt`, `max_age`,
//!   `claims`, `id_token_hint`…, see [`OpenIdRequest`](crate::OpenIdRequest)), answers the
//!   `id_token` response types, and tells the host what to show
//!   ([`Server::interaction`](crate::Server::interaction));
//! - the code grant (and a refresh of its grant) returns an `id_token`, signed with the
//!   client's registered algorithm by the current key of a [`KeyRing`];
//! - [`Server::userinfo`](crate::Server::userinfo) serves the owner's claims from the host's
//!   [`ClaimsSource`], filtered by the granted scopes and the `claims` parameter;
//! - [`Server::jwks_response`](crate::Server::jwks_response) publishes the public keys, and the
//!   metadata (also served as `/.well-known/openid-configuration`) lists what is enabled.
//!
//! The parts: [`keys`](KeyRing) (generation, JWKS, rotation), `id_token` (claims, hashes,
//! signature), [`claims`](ClaimsSource) (the host's claims and their filtering) and `subject`
//! (public or pairwise `sub`). Signatures and keys come from the `jwt-simple` crate; see
//! docs/ARCHITECTURE.md for why.

mod access_token;
mod claims;
mod id_token;
mod keys;
mod subject;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jwt_simple::prelude::VerificationOptions;

pub use access_token::JwtAccessTokens;
pub use claims::{ClaimSet, ClaimsSource, NoClaims};
pub(crate) use id_token::IdTokenInput;
pub use keys::{KeyRing, RotationPolicy, SigningAlgorithm};

use crate::authenticator::OwnerId;
use crate::client::Client;
use crate::error::{Error, Failure, OAuthError};
use crate::scope::ScopeSet;
use crate::storage::OpenIdContext;
use crate::time::Timestamp;

/// What an ID token this server signed says, for token exchange.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedIdToken {
    pub(crate) subject: String,
    pub(crate) audience: Vec<String>,
    pub(crate) expires_at: Timestamp,
}

/// What makes a server an OpenID Provider: its signing keys, where the owners' claims come
/// from, and how subjects and ID tokens are made. Build one with [`OpenIdProvider::builder`].
///
/// ```
/// use grantor::oidc::{KeyRing, NoClaims, OpenIdProvider, RotationPolicy};
/// use grantor::{Config, MemoryStorage, Server};
///
/// # fn main() -> Result<(), grantor::Error> {
/// let storage = MemoryStorage::new();
/// let keys = KeyRing::new(storage.clone(), RotationPolicy::new())?;
/// let provider = OpenIdProvider::builder(keys, NoClaims).build()?;
/// let server = Server::builder(Config::builder("https://id.example").build()?, storage)
///     .openid(provider)
///     .build();
/// assert!(server.is_openid_provider());
/// # Ok(()) }
/// ```
pub struct OpenIdProvider {
    keys: KeyRing,
    claims: Arc<dyn ClaimsSource>,
    pairwise_salt: Option<Vec<u8>>,
    id_token_lifetime: Duration,
    claims_supported: Vec<String>,
    access_token_alg: Option<SigningAlgorithm>,
}

impl OpenIdProvider {
    /// Starts a provider signing with `keys` and telling the claims `claims` supplies.
    pub fn builder(keys: KeyRing, claims: impl ClaimsSource) -> OpenIdProviderBuilder {
        OpenIdProviderBuilder {
            require_rs256: true,
            provider: Self {
                keys,
                claims: Arc::new(claims),
                pairwise_salt: None,
                id_token_lifetime: Duration::from_secs(3600),
                claims_supported: Vec::new(),
                access_token_alg: None,
            },
        }
    }

    /// The signing keys.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// How long an ID token is valid.
    pub fn id_token_lifetime(&self) -> Duration {
        self.id_token_lifetime
    }

    /// The algorithm JWT access tokens are signed with: the one set with
    /// [`access_token_algorithm`](OpenIdProviderBuilder::access_token_algorithm), else RS256
    /// when the key ring signs with it (RFC 9068 §4), else the ring's first algorithm.
    pub fn access_token_algorithm(&self) -> SigningAlgorithm {
        let policy = self.keys.policy().signing_algorithms();
        self.access_token_alg.unwrap_or_else(|| {
            if policy.contains(&SigningAlgorithm::Rs256) {
                SigningAlgorithm::Rs256
            } else {
                policy.first().copied().unwrap_or(SigningAlgorithm::Rs256)
            }
        })
    }

    /// The longest a token signed now may live: until its key may leave the JWKS (a retired
    /// key may still sign on an instance that has not read the key set again yet).
    pub(crate) fn longest_signed_lifetime(&self) -> Duration {
        self.keys
            .policy()
            .retired_key_lifetime()
            .saturating_sub(self.keys.reload_period())
    }

    /// Whether the provider signs ID tokens with `alg` (a JWS `alg` name) at `now`: an error
    /// for the client when its policy does not name the algorithm (`unauthorized_client`) or
    /// the algorithm's first key is still being published ahead
    /// (`temporarily_unavailable`).
    pub(crate) async fn check_algorithm(&self, alg: &str, now: Timestamp) -> Result<(), Failure> {
        let alg = alg.parse().ok().filter(|alg| self.keys.signs_with(*alg));
        let Some(alg) = alg else {
            return Err(OAuthError::unauthorized_client(
                "the server does not sign ID tokens with the client's registered algorithm",
            )
            .into());
        };
        if !self.keys.can_sign(alg, now).await? {
            return Err(OAuthError::new(crate::ErrorCode::TemporarilyUnavailable)
                .with_description("the client's ID-token signing key is not published yet")
                .into());
        }
        Ok(())
    }

    /// The subject of `owner` for `client`: public, or pairwise for the client's sector.
    pub(crate) fn subject(&self, owner: &OwnerId, client: &Client) -> Result<String, Error> {
        subject::of(owner, client, self.pairwise_salt.as_deref())
    }

    /// The subject of an `id_token_hint` that this server signed for `client`; expired hints
    /// are accepted (they only name the owner), as long as their key is published.
    pub(crate) async fn verify_hint(
        &self,
        hint: &str,
        issuer: &str,
        client: &Client,
        now: Timestamp,
    ) -> Result<String, Failure> {
        let options = VerificationOptions {
            allowed_issuers: Some([issuer.to_owned()].into()),
            allowed_audiences: Some([client.id().as_str().to_owned()].into()),
            // Explicit typing (RFC 8725 §3.11): an ID token is `JWT`, never an access token
            // (`at+jwt`) signed by the same keys.
            required_signature_type: Some("JWT".to_owned()),
            artificial_time: Some(jwt_simple::prelude::UnixTimeStamp::from_secs(now.as_secs())),
            // A key signs at most `rotate_every` and is published `keep_retired` longer: no
            // hint it signed can be older than that.
            time_tolerance: Some(jwt_simple::prelude::Duration::from_secs(
                (self.keys.policy().hint_tolerance()).as_secs(),
            )),
            ..VerificationOptions::default()
        };
        let claims = self.keys.verify(hint, now, options).await?;
        claims.and_then(|claims| claims.subject).ok_or_else(|| {
            OAuthError::invalid_request(
                "the id_token_hint was not issued by this server for this client",
            )
            .into()
        })
    }

    /// An unexpired ID token this server signed (token exchange, RFC 8693): its subject, its
    /// audience and its expiry; `None` when the token is not one (a bad signature, another
    /// issuer, expired, or a JWT access token, whose `typ` is `at+jwt`).
    pub(crate) async fn verify_id_token(
        &self,
        token: &str,
        issuer: &str,
        now: Timestamp,
    ) -> Result<Option<VerifiedIdToken>, Error> {
        let typ = jwt_simple::token::Token::decode_metadata(token)
            .ok()
            .and_then(|metadata| metadata.signature_type().map(str::to_owned));
        if typ.as_deref() == Some(access_token::AT_JWT) {
            return Ok(None);
        }
        let options = VerificationOptions {
            allowed_issuers: Some([issuer.to_owned()].into()),
            artificial_time: Some(jwt_simple::prelude::UnixTimeStamp::from_secs(now.as_secs())),
            time_tolerance: Some(jwt_simple::prelude::Duration::from_secs(0)),
            ..VerificationOptions::default()
        };
        let Some(claims) = self.keys.verify(token, now, options).await? else {
            return Ok(None);
        };
        let (Some(subject), Some(expires_at), Some(audience)) =
            (claims.subject, claims.expires_at, claims.audiences)
        else {
            return Ok(None);
        };
        let mut audience: Vec<String> = audience.into_set().into_iter().collect();
        audience.sort();
        Ok(Some(VerifiedIdToken {
            subject,
            audience,
            expires_at: Timestamp::from_secs(expires_at.as_secs()),
        }))
    }

    /// The claims UserInfo returns for a token of `owner` with `scope`: `sub`, then the claims
    /// the scope and the `claims` parameter allow (C-OI-4). `None` when the owner is gone.
    pub(crate) async fn userinfo(
        &self,
        owner: &OwnerId,
        client: &Client,
        scope: &ScopeSet,
        context: Option<&OpenIdContext>,
    ) -> Result<Option<claims::ClaimSet>, Error> {
        let requested = context.and_then(|context| context.claims.as_ref());
        let wanted = claims::wanted(Some(scope), requested, "userinfo");
        let Some(found) = self.claims.claims(owner, &wanted).await? else {
            return Ok(None);
        };
        let mut body = claims::ClaimSet::new();
        body.insert("sub".into(), self.subject(owner, client)?.into());
        body.extend(claims::filter(found, &wanted));
        Ok(Some(body))
    }

    /// The discovery fields of an OpenID Provider (OpenID Connect Discovery §3).
    pub(crate) fn discovery(&self) -> serde_json::Value {
        let mut subject_types = vec!["public"];
        if self.pairwise_salt.is_some() {
            subject_types.push("pairwise");
        }
        let mut claims: Vec<&str> = [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "acr",
            "amr",
            "at_hash",
            "c_hash",
        ]
        .into();
        claims.extend(self.claims_supported.iter().map(String::as_str));
        let algorithms: Vec<&str> = self
            .keys
            .policy()
            .signing_algorithms()
            .iter()
            .map(|alg| alg.as_str())
            .collect();
        serde_json::json!({
            "subject_types_supported": subject_types,
            "id_token_signing_alg_values_supported": algorithms,
            "claims_supported": claims,
            "claims_parameter_supported": true,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "prompt_values_supported": crate::endpoint::authorize::Prompt::supported().collect::<Vec<_>>(),
        })
    }
}

impl fmt::Debug for OpenIdProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenIdProvider")
            .field("keys", &self.keys)
            .field("pairwise", &self.pairwise_salt.is_some())
            .field("id_token_lifetime", &self.id_token_lifetime)
            .field("claims_supported", &self.claims_supported)
            .finish_non_exhaustive()
    }
}

/// Configures an [`OpenIdProvider`].
#[must_use]
pub struct OpenIdProviderBuilder {
    provider: OpenIdProvider,
    require_rs256: bool,
}

impl OpenIdProviderBuilder {
    /// How long an ID token is valid (default 1 hour). At most the key ring's
    /// [`keep_retired`](RotationPolicy::keep_retired), so that a token always outlives its
    /// key's publication.
    pub fn id_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.provider.id_token_lifetime = lifetime;
        self
    }

    /// The secret that pairwise subjects are derived with: turns on pairwise subjects for
    /// clients registered with a
    /// [`sector_identifier`](crate::ClientBuilder::sector_identifier). At least 16 bytes;
    /// keep it secret and never change it (every pairwise subject would change).
    pub fn pairwise_salt(mut self, salt: impl Into<Vec<u8>>) -> Self {
        self.provider.pairwise_salt = Some(salt.into());
        self
    }

    /// The owner claims discovery lists in `claims_supported`, beside the protocol claims
    /// (default: none): those your claims source supplies, e.g. `["name", "email",
    /// "email_verified"]`.
    pub fn claims_supported<I: IntoIterator<Item = T>, T: Into<String>>(
        mut self,
        names: I,
    ) -> Self {
        self.provider.claims_supported = names.into_iter().map(Into::into).collect();
        self
    }

    /// The algorithm JWT access tokens are signed with (RFC 9068; default RS256, or the key
    /// ring's first algorithm when it does not sign RS256). The key ring must sign with it.
    pub fn access_token_algorithm(mut self, alg: SigningAlgorithm) -> Self {
        self.provider.access_token_alg = Some(alg);
        self
    }

    /// Whether the key ring must sign RS256, which OpenID Connect Discovery §3 requires of
    /// every provider (default on). Turn it off only for a profile that forbids RS256, such as
    /// FAPI 2.0.
    pub fn require_rs256(mut self, required: bool) -> Self {
        self.require_rs256 = required;
        self
    }

    /// Checks the settings and builds the provider.
    pub fn build(self) -> Result<OpenIdProvider, Error> {
        let provider = self.provider;
        if provider.id_token_lifetime.as_secs() == 0 {
            return Err(Error::config("the ID token lifetime must be at least 1 s"));
        }
        // A retired key may still sign on an instance whose cached key set is not yet read
        // again: its tokens must expire before it leaves the JWKS all the same.
        let last_signature = provider.id_token_lifetime + provider.keys.reload_period();
        if last_signature > provider.keys.policy().retired_key_lifetime() {
            return Err(Error::config(
                "ID tokens must not outlive the publication of their key: raise the key \
                 ring's keep_retired above the ID token lifetime plus reload_every",
            ));
        }
        if !provider.keys.signs_with(provider.access_token_algorithm()) {
            return Err(Error::config(
                "the key ring must sign with the access-token algorithm",
            ));
        }
        if self.require_rs256 && !provider.keys.signs_with(SigningAlgorithm::Rs256) {
            return Err(Error::config(
                "OpenID Connect Discovery requires RS256 among the key ring's algorithms",
            ));
        }
        if provider
            .pairwise_salt
            .as_ref()
            .is_some_and(|salt| salt.len() < 16)
        {
            return Err(Error::config("the pairwise salt must be at least 16 bytes"));
        }
        Ok(provider)
    }
}

impl fmt::Debug for OpenIdProviderBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenIdProviderBuilder")
            .field("provider", &self.provider)
            .finish()
    }
}
