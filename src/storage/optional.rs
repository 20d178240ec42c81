//! The optional stores: small, object-safe traits that the features needing them take as
//! `Arc<dyn …>`, so that a backend implements only what it serves. Every grantor backend
//! implements all of them.

use std::fmt;

use crate::BoxFuture;
use crate::authenticator::OwnerId;
use crate::client::ClientId;
use crate::error::Error;
use crate::scope::ScopeSet;
use crate::time::Timestamp;
use crate::token::{Digest, GrantId};

/// Identifiers that may be used once within their lifetime: the `jti` of a DPoP proof or a
/// client assertion, shared by every instance of a fleet so that a replay to another instance
/// is refused too. Object-safe: a feature holds it as `Arc<dyn ReplayCache>`.
///
/// ```
/// use grantor::storage::{Digest, MemoryStorage, ReplayCache};
/// use grantor::Timestamp;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), grantor::Error> {
/// let cache = MemoryStorage::new();
/// let key = Digest::of("dpop:client-1:e1j3V_bKic8-LAEB");
/// let (now, until) = (Timestamp::from_secs(100), Timestamp::from_secs(400));
/// assert!(cache.first_use(&key, until, now).await?);
/// assert!(!cache.first_use(&key, until, now).await?, "a replay");
/// # Ok(()) }
/// ```
pub trait ReplayCache: Send + Sync + 'static {
    /// Records `key` as used until `expires_at`. `true` if this is its first use; `false` if it
    /// was recorded before and has not expired at `now`. Atomic: of two racing calls with one
    /// key, one gets `true`.
    fn first_use<'a>(
        &'a self,
        key: &'a Digest,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<bool, Error>>;
}

/// A signing key as a [`KeyStore`] keeps it: the private key as a JWK, and the times of its
/// life. A key is published (in the JWKS) from `published_at`, signs from `signs_from` until
/// `retires_at` (when its successor takes over), and is removed from the JWKS at
/// `removed_at`, once every token it signed has expired. Its `Debug` hides the private key.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyRecord {
    /// The key id (`kid`), unique in the store.
    pub kid: String,
    /// The JWS algorithm the key signs with (`RS256`, `PS256`, `ES256`, `EdDSA`).
    pub alg: String,
    /// The key pair as a JWK with its private members. A store that encrypts keys at rest
    /// encrypts this when saving and decrypts it when reading.
    pub private_jwk: String,
    /// From when the public key is published.
    pub published_at: Timestamp,
    /// From when the key signs.
    pub signs_from: Timestamp,
    /// When the key stops signing, once a successor is scheduled.
    pub retires_at: Option<Timestamp>,
    /// When the public key leaves the JWKS, once the key is retired.
    pub removed_at: Option<Timestamp>,
}

impl KeyRecord {
    /// A key published at `published_at` that signs from `signs_from`.
    pub fn new(
        kid: impl Into<String>,
        alg: impl Into<String>,
        private_jwk: impl Into<String>,
        published_at: Timestamp,
        signs_from: Timestamp,
    ) -> Self {
        Self {
            kid: kid.into(),
            alg: alg.into(),
            private_jwk: private_jwk.into(),
            published_at,
            signs_from,
            retires_at: None,
            removed_at: None,
        }
    }
}

impl fmt::Debug for KeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // C-KY-3: the private key never shows.
        f.debug_struct("KeyRecord")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private_jwk", &"<redacted>")
            .field("published_at", &self.published_at)
            .field("signs_from", &self.signs_from)
            .field("retires_at", &self.retires_at)
            .field("removed_at", &self.removed_at)
            .finish()
    }
}

/// Where the signing keys live, so that every instance of a fleet signs with, and publishes,
/// the same key set (C-KY-3). Object-safe.
///
/// Private keys are kept as JWKs. Encrypting them at rest is the host's choice: wrap the store
/// in one that encrypts [`KeyRecord::private_jwk`] in `save_key` (with a key from the host's
/// KMS, say) and decrypts it in `keys`; grantor only ever sees the clear JWK in memory.
pub trait KeyStore: Send + Sync + 'static {
    /// Every key kept, whatever its state.
    fn keys(&self) -> BoxFuture<'_, Result<Vec<KeyRecord>, Error>>;

    /// Saves a key, replacing the one with the same `kid`.
    fn save_key(&self, key: KeyRecord) -> BoxFuture<'_, Result<(), Error>>;

    /// Deletes the key with this `kid` (none is not an error).
    fn delete_key<'a>(&'a self, kid: &'a str) -> BoxFuture<'a, Result<(), Error>>;
}

/// What an owner granted a client, remembered so that a later request it covers can skip
/// the consent page.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Consent {
    /// Who consented.
    pub owner: OwnerId,
    /// To which client.
    pub client_id: ClientId,
    /// The scope consented to.
    pub scope: ScopeSet,
    /// The resources (RFC 8707) the consent is for: a request for any other resource needs
    /// consent again.
    pub resources: Vec<String>,
    /// When.
    pub granted_at: Timestamp,
    /// Until when it is remembered (`None`: until revoked).
    pub expires_at: Option<Timestamp>,
}

impl Consent {
    /// `owner`'s consent to `scope` for `client_id`, remembered until `expires_at`, for no
    /// particular resource.
    pub fn new(
        owner: OwnerId,
        client_id: ClientId,
        scope: ScopeSet,
        granted_at: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> Self {
        Self {
            owner,
            client_id,
            scope,
            resources: Vec::new(),
            granted_at,
            expires_at,
        }
    }

    /// The same consent, for these resources.
    pub fn for_resources(mut self, resources: Vec<String>) -> Self {
        self.resources = resources;
        self
    }

    /// Whether the consent is remembered at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|until| now < until)
    }
}

/// Where remembered consent lives, with the grants each owner–client pair started, so that
/// revoking a client's access for an owner is one call. Object-safe.
pub trait ConsentStore: Send + Sync + 'static {
    /// The consent `owner` gave `client_id`, if remembered.
    fn consent<'a>(
        &'a self,
        owner: &'a OwnerId,
        client_id: &'a ClientId,
    ) -> BoxFuture<'a, Result<Option<Consent>, Error>>;

    /// Remembers a consent, replacing the pair's earlier one.
    fn save_consent(&self, consent: Consent) -> BoxFuture<'_, Result<(), Error>>;

    /// Records that `grant` was started for the pair, to be revoked with its consent. Kept as
    /// long as the grant lives: a backend drops it in
    /// [`purge_expired`](crate::storage::TokenStore::purge_expired) once the grant is gone,
    /// however often its refresh tokens were rotated.
    fn record_grant<'a>(
        &'a self,
        owner: &'a OwnerId,
        client_id: &'a ClientId,
        grant: GrantId,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// Forgets the pair's consent and grants; returns the grants, for the caller to revoke.
    fn forget<'a>(
        &'a self,
        owner: &'a OwnerId,
        client_id: &'a ClientId,
    ) -> BoxFuture<'a, Result<Vec<GrantId>, Error>>;
}
