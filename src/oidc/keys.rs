//! Signing keys: generation, the published key set (JWKS), and rotation (C-KY-1…3).
//!
//! A [`KeyRing`] keeps one active signing key per algorithm of its [`RotationPolicy`], read
//! from a [`KeyStore`] that every instance of a fleet shares. Rotation is a timed sequence that
//! never strands a token:
//!
//! 1. A successor is generated and **published** a while (`publish_ahead`) before it signs, so
//!    that relying parties that cache the JWKS have it before they meet its first token.
//! 2. At its `signs_from` the successor **signs**; its predecessor retires.
//! 3. The retired key stays published for `keep_retired` (at least the longest lifetime of a
//!    token it signed), then is **removed**: a token it signed no longer verifies.
//!
//! The times are derived from the keys' order alone, so instances that run the rotation at
//! the same moment converge on the same result. Keys are generated and read by the
//! `jwt-simple` crate: JWK import and export with strict validation, RFC 7638 thumbprints
//! (each key's `kid`), and signatures; nothing here touches key material by hand.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use jwt_simple::prelude::{
    ECDSAP256KeyPairLike, ECDSAP256PublicKeyLike, ES256KeyPair, Ed25519KeyPair, EdDSAKeyPairLike,
    EdDSAPublicKeyLike, HeaderOptions, JWTClaims, PS256KeyPair, RS256KeyPair, RSAKeyPairLike,
    RSAPublicKeyLike, VerificationOptions,
};

use crate::error::Error;
pub use crate::jose::SigningAlgorithm;
use crate::storage::{KeyRecord, KeyStore};
use crate::time::Timestamp;

/// The claims of a JWT as grantor signs and reads them: the registered ones, then any others.
pub(crate) type Claims = JWTClaims<serde_json::Map<String, serde_json::Value>>;

/// The size of the RSA keys grantor generates.
const RSA_BITS: usize = 2048;

/// A key pair of one of the algorithms, with its `kid` attached.
enum KeyPair {
    Rs256(RS256KeyPair),
    Ps256(PS256KeyPair),
    Es256(ES256KeyPair),
    EdDsa(Ed25519KeyPair),
}

fn jose(error: impl fmt::Display) -> Error {
    // jwt-simple's errors name what failed, never key material.
    Error::other(format!("signing key: {error}"))
}

impl KeyPair {
    /// A new key pair whose `kid` is its RFC 7638 thumbprint.
    fn generate(alg: SigningAlgorithm) -> Result<Self, Error> {
        let pair = match alg {
            SigningAlgorithm::Rs256 => Self::Rs256(RS256KeyPair::generate(RSA_BITS).map_err(jose)?),
            SigningAlgorithm::Ps256 => Self::Ps256(PS256KeyPair::generate(RSA_BITS).map_err(jose)?),
            SigningAlgorithm::Es256 => Self::Es256(ES256KeyPair::generate()),
            SigningAlgorithm::EdDsa => Self::EdDsa(Ed25519KeyPair::generate()),
        };
        let kid = pair.thumbprint();
        Ok(pair.with_kid(&kid))
    }

    /// Reads a private JWK (strictly: complete, consistent, of the algorithm's key type).
    fn from_jwk(alg: SigningAlgorithm, jwk: &str, kid: &str) -> Result<Self, Error> {
        let pair = match alg {
            SigningAlgorithm::Rs256 => Self::Rs256(RS256KeyPair::from_jwk(jwk).map_err(jose)?),
            SigningAlgorithm::Ps256 => Self::Ps256(PS256KeyPair::from_jwk(jwk).map_err(jose)?),
            SigningAlgorithm::Es256 => Self::Es256(ES256KeyPair::from_jwk(jwk).map_err(jose)?),
            SigningAlgorithm::EdDsa => Self::EdDsa(Ed25519KeyPair::from_jwk(jwk).map_err(jose)?),
        };
        Ok(pair.with_kid(kid))
    }

    fn with_kid(self, kid: &str) -> Self {
        match self {
            Self::Rs256(pair) => Self::Rs256(pair.with_key_id(kid)),
            Self::Ps256(pair) => Self::Ps256(pair.with_key_id(kid)),
            Self::Es256(pair) => Self::Es256(pair.with_key_id(kid)),
            Self::EdDsa(pair) => Self::EdDsa(pair.with_key_id(kid)),
        }
    }

    fn thumbprint(&self) -> String {
        match self {
            Self::Rs256(pair) => pair.jwk_thumbprint(),
            Self::Ps256(pair) => pair.jwk_thumbprint(),
            Self::Es256(pair) => pair.jwk_thumbprint(),
            Self::EdDsa(pair) => pair.jwk_thumbprint(),
        }
    }

    /// The key pair as a JWK, private members included: for the key store only.
    fn private_jwk(&self) -> String {
        match self {
            Self::Rs256(pair) => pair.to_jwk(),
            Self::Ps256(pair) => pair.to_jwk(),
            Self::Es256(pair) => pair.to_jwk(),
            Self::EdDsa(pair) => pair.to_jwk(),
        }
    }

    /// The public key as a JWK, with `kid`, `alg` and `use: sig`.
    fn public_jwk(&self) -> String {
        match self {
            Self::Rs256(pair) => pair.public_key().to_jwk(),
            Self::Ps256(pair) => pair.public_key().to_jwk(),
            Self::Es256(pair) => pair.public_key().to_jwk(),
            Self::EdDsa(pair) => pair.public_key().to_jwk(),
        }
    }

    /// Signs `claims`, with `typ` in the header (`JWT` when `None`).
    fn sign(&self, claims: Claims, typ: Option<&str>) -> Result<String, Error> {
        let options = HeaderOptions {
            signature_type: typ.map(str::to_owned),
            ..HeaderOptions::default()
        };
        match self {
            Self::Rs256(pair) => pair.sign_with_options(claims, &options),
            Self::Ps256(pair) => pair.sign_with_options(claims, &options),
            Self::Es256(pair) => pair.sign_with_options(claims, &options),
            Self::EdDsa(pair) => pair.sign_with_options(claims, &options),
        }
        .map_err(jose)
    }

    /// Verifies a token this key signed; `None` for a bad signature, expired token (as the
    /// options tell) or wrong algorithm.
    fn verify(&self, token: &str, options: VerificationOptions) -> Option<Claims> {
        let options = Some(options);
        match self {
            Self::Rs256(pair) => pair.public_key().verify_token(token, options),
            Self::Ps256(pair) => pair.public_key().verify_token(token, options),
            Self::Es256(pair) => pair.public_key().verify_token(token, options),
            Self::EdDsa(pair) => pair.public_key().verify_token(token, options),
        }
        .ok()
    }
}

/// How a [`KeyRing`] rotates its keys.
///
/// ```
/// use std::time::Duration;
/// use grantor::oidc::{RotationPolicy, SigningAlgorithm};
///
/// let policy = RotationPolicy::new()
///     .algorithms([SigningAlgorithm::Rs256, SigningAlgorithm::Es256])
///     .rotate_every(Duration::from_secs(30 * 24 * 3600));
/// assert_eq!(policy.signing_algorithms().len(), 2);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RotationPolicy {
    algorithms: Vec<SigningAlgorithm>,
    rotate_every: Duration,
    publish_ahead: Duration,
    keep_retired: Duration,
    reload_every: Duration,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl RotationPolicy {
    /// RS256 keys that sign for 90 days each, published a day before they sign, kept a day
    /// after they retire; the key set is read again from the store every minute.
    pub fn new() -> Self {
        Self {
            algorithms: vec![SigningAlgorithm::Rs256],
            rotate_every: Duration::from_secs(90 * 24 * 3600),
            publish_ahead: Duration::from_secs(24 * 3600),
            keep_retired: Duration::from_secs(24 * 3600),
            reload_every: Duration::from_secs(60),
        }
    }

    /// The algorithms to keep a signing key for (default RS256, which OpenID Connect requires
    /// every provider to offer). Duplicates are ignored.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = SigningAlgorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self.algorithms.sort_unstable();
        self.algorithms.dedup();
        self
    }

    /// How long each key signs before its successor takes over (default 90 days).
    pub fn rotate_every(mut self, period: Duration) -> Self {
        self.rotate_every = period;
        self
    }

    /// How long a successor is published before it signs (default 1 day): longer than
    /// relying parties cache the JWKS.
    pub fn publish_ahead(mut self, lead: Duration) -> Self {
        self.publish_ahead = lead;
        self
    }

    /// How long a retired key stays published (default 1 day): at least the longest lifetime
    /// of a token it signed, which the provider checks.
    pub fn keep_retired(mut self, period: Duration) -> Self {
        self.keep_retired = period;
        self
    }

    /// How often an instance reads the key set again from the store, and runs the rotation
    /// if a step is due (default 1 minute): how soon it sees a key another instance added.
    pub fn reload_every(mut self, period: Duration) -> Self {
        self.reload_every = period;
        self
    }

    /// The algorithms kept.
    pub fn signing_algorithms(&self) -> &[SigningAlgorithm] {
        &self.algorithms
    }

    /// How long a retired key stays published.
    pub fn retired_key_lifetime(&self) -> Duration {
        self.keep_retired
    }

    /// How long a JWKS response may be cached: half the time a key is published before it
    /// signs (so that a cache always sees a key before its first token), at most an hour.
    pub fn cache_lifetime(&self) -> Duration {
        (self.publish_ahead / 2).min(Duration::from_secs(3600))
    }

    /// How old a token a key of this policy signed can be while the key is still published:
    /// the longest a key signs, plus how long it stays published after.
    pub(crate) fn hint_tolerance(&self) -> Duration {
        self.rotate_every + self.publish_ahead + self.keep_retired
    }

    fn check(&self) -> Result<(), Error> {
        if self.algorithms.is_empty() {
            return Err(Error::config("a key ring needs at least one algorithm"));
        }
        if self.rotate_every <= self.publish_ahead {
            return Err(Error::config(
                "keys must sign for longer than they are published ahead",
            ));
        }
        if self.reload_every >= self.publish_ahead {
            return Err(Error::config(
                "instances must read the key set again more often than keys are published \
                 ahead, or one may sign with a key another has not published yet",
            ));
        }
        Ok(())
    }
}

/// A key as a [`KeyRing`] holds it: its record and its parsed key pair.
struct LoadedKey {
    record: KeyRecord,
    alg: SigningAlgorithm,
    pair: KeyPair,
}

impl LoadedKey {
    fn is_published(&self, now: Timestamp) -> bool {
        self.record.published_at <= now && self.record.removed_at.is_none_or(|at| now < at)
    }
}

/// The keys of one moment, in the order rotation sees them: by algorithm, then by the time
/// they start signing.
struct KeySet {
    loaded_at: Timestamp,
    keys: Vec<Arc<LoadedKey>>,
}

impl KeySet {
    /// The key that signs `alg` tokens at `now`: the latest that has started signing.
    fn signer(&self, alg: SigningAlgorithm, now: Timestamp) -> Option<&Arc<LoadedKey>> {
        self.keys.iter().rfind(|key| {
            key.alg == alg
                && key.record.signs_from <= now
                && key.record.retires_at.is_none_or(|at| now < at)
                && key.is_published(now)
        })
    }

    /// A published key by `kid`.
    fn published(&self, kid: &str, now: Timestamp) -> Option<&Arc<LoadedKey>> {
        self.keys
            .iter()
            .find(|key| key.record.kid == kid && key.is_published(now))
    }
}

/// A signing key, ready to sign: what the ID-token step gets from the ring.
pub(crate) struct Signer {
    key: Arc<LoadedKey>,
}

impl Signer {
    /// The key's algorithm.
    pub(crate) fn alg(&self) -> SigningAlgorithm {
        self.key.alg
    }

    /// Signs `claims` into a compact JWS with `kid` in its header.
    pub(crate) fn sign(&self, claims: Claims) -> Result<String, Error> {
        self.key.pair.sign(claims, None)
    }

    /// Signs `claims` into a compact JWS with `kid` and this `typ` in its header.
    pub(crate) fn sign_typed(&self, claims: Claims, typ: &str) -> Result<String, Error> {
        self.key.pair.sign(claims, Some(typ))
    }
}

/// The signing keys of a provider, shared through a [`KeyStore`] by every instance of a fleet,
/// and rotated by [`RotationPolicy`] (C-KY-2, C-KY-3).
///
/// The ring runs the rotation itself, whenever it reads the store again
/// ([`RotationPolicy::reload_every`]) and on its first use; a host may also call
/// [`maintain`](Self::maintain) from a timer, at start-up say, so that the first request does
/// not wait for a key to be generated.
///
/// ```
/// use grantor::oidc::{KeyRing, RotationPolicy};
/// use grantor::{MemoryStorage, Timestamp};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), grantor::Error> {
/// let storage = MemoryStorage::new();
/// let ring = KeyRing::new(storage.clone(), RotationPolicy::new())?;
/// ring.maintain(Timestamp::from_secs(1_700_000_000)).await?;
/// let jwks = ring.jwks(Timestamp::from_secs(1_700_000_000)).await?;
/// assert_eq!(jwks["keys"][0]["alg"], "RS256");
/// assert!(jwks["keys"][0].get("d").is_none(), "public keys only");
/// # Ok(()) }
/// ```
pub struct KeyRing {
    store: Arc<dyn KeyStore>,
    policy: RotationPolicy,
    cache: RwLock<Option<Arc<KeySet>>>,
    /// Whether a request is reading the key set anew: the others keep using the cached one
    /// meanwhile, instead of all reading (and perhaps generating) at once.
    refreshing: AtomicBool,
}

/// Clears [`KeyRing::refreshing`] when the refresh ends, however it ends.
struct Refreshing<'a>(&'a AtomicBool);

impl Drop for Refreshing<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl KeyRing {
    /// A ring over `store`, rotated by `policy`.
    pub fn new(store: impl KeyStore, policy: RotationPolicy) -> Result<Self, Error> {
        Self::shared(Arc::new(store), policy)
    }

    /// A ring over a store already shared as a trait object.
    pub fn shared(store: Arc<dyn KeyStore>, policy: RotationPolicy) -> Result<Self, Error> {
        policy.check()?;
        Ok(Self {
            store,
            policy,
            cache: RwLock::new(None),
            refreshing: AtomicBool::new(false),
        })
    }

    /// The rotation policy.
    pub fn policy(&self) -> &RotationPolicy {
        &self.policy
    }

    /// Runs the rotation at `now`: generates a first key for each algorithm that has none,
    /// publishes a successor when the active key is due to retire within `publish_ahead`,
    /// sets each superseded key's retirement and removal, deletes removed keys, and reads the
    /// key set anew. Safe to run on several instances at once.
    pub async fn maintain(&self, now: Timestamp) -> Result<(), Error> {
        let records = self.store.keys().await?;
        let mut keys = Vec::with_capacity(records.len() + 1);
        for record in records {
            if record.removed_at.is_some_and(|at| at <= now) {
                self.store.delete_key(&record.kid).await?;
                continue;
            }
            keys.push(load(record)?);
        }
        let bootstrap = keys.is_empty();
        for &alg in &self.policy.algorithms {
            let (mut active, mut pending) = (None, false);
            for key in keys.iter().filter(|key| key.alg == alg) {
                if key.record.signs_from <= now {
                    active = active.max(Some(key.record.signs_from));
                } else {
                    pending = true;
                }
            }
            let successor_due = match active {
                // The ring's first keys sign at once: no relying party can have cached a key
                // set yet. A key for an algorithm added later is published ahead, like a
                // successor.
                None if bootstrap => Some(now),
                None if pending => None,
                None => Some(now.after(self.policy.publish_ahead)),
                Some(since) if !pending => {
                    let handover = since.after(self.policy.rotate_every);
                    (now.after(self.policy.publish_ahead) >= handover)
                        .then(|| handover.max(now.after(self.policy.publish_ahead)))
                }
                Some(_) => None,
            };
            if let Some(signs_from) = successor_due {
                let pair = KeyPair::generate(alg)?;
                let record = KeyRecord::new(
                    pair.thumbprint(),
                    alg.as_str(),
                    pair.private_jwk(),
                    now,
                    signs_from,
                );
                self.store.save_key(record.clone()).await?;
                keys.push(LoadedKey { record, alg, pair });
            }
        }
        sort(&mut keys);
        // Each key retires when its successor starts signing (a key of an algorithm the policy
        // dropped, now), and leaves the JWKS once every token it could have signed has expired.
        for i in 0..keys.len() {
            let successor = keys[i + 1..]
                .iter()
                .find(|next| next.alg == keys[i].alg)
                .map(|next| next.record.signs_from);
            let dropped = !self.policy.algorithms.contains(&keys[i].alg);
            let retires_at = match (successor, keys[i].record.retires_at) {
                (Some(at), _) => at,
                (None, Some(at)) if dropped => at,
                (None, _) if dropped => now,
                (None, _) => continue,
            };
            let removed_at = retires_at.after(self.policy.keep_retired);
            let record = &mut keys[i].record;
            if record.retires_at != Some(retires_at) || record.removed_at != Some(removed_at) {
                record.retires_at = Some(retires_at);
                record.removed_at = Some(removed_at);
                self.store.save_key(record.clone()).await?;
            }
        }
        let set = Arc::new(KeySet {
            loaded_at: now,
            keys: keys.into_iter().map(Arc::new).collect(),
        });
        *self.cache.write().unwrap_or_else(|e| e.into_inner()) = Some(set);
        Ok(())
    }

    /// The key set at `now`, read again (and rotated) when the cached one is older than
    /// `reload_every`.
    async fn current(&self, now: Timestamp) -> Result<Arc<KeySet>, Error> {
        let cached = self.cache.read().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(set) = cached {
            let fresh = set.loaded_at <= now && now < set.loaded_at.after(self.policy.reload_every);
            if fresh || self.refreshing.swap(true, Ordering::Acquire) {
                return Ok(set);
            }
        } else {
            self.refreshing.store(true, Ordering::Release);
        }
        let _refreshing = Refreshing(&self.refreshing);
        self.maintain(now).await?;
        let cached = self.cache.read().unwrap_or_else(|e| e.into_inner()).clone();
        cached.ok_or_else(|| Error::other("the key ring could not load its keys"))
    }

    /// The key that signs `alg` tokens at `now`.
    pub(crate) async fn signer(
        &self,
        alg: SigningAlgorithm,
        now: Timestamp,
    ) -> Result<Signer, Error> {
        let set = self.current(now).await?;
        let key = set.signer(alg, now).ok_or_else(|| {
            Error::config(format!(
                "no {alg} signing key: add the algorithm to the rotation policy"
            ))
        })?;
        Ok(Signer { key: key.clone() })
    }

    /// The key set as last read, if it has been read.
    fn cached(&self) -> Option<Arc<KeySet>> {
        self.cache.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reads the key set again (and rotates) if the cached one is older than `reload_every`,
    /// so that the synchronous [`cached_signer`](Self::cached_signer) and
    /// [`cached_verify`](Self::cached_verify) that follow see the keys of `now`.
    pub(crate) async fn refresh(&self, now: Timestamp) -> Result<(), Error> {
        self.current(now).await.map(drop)
    }

    /// The key that signs `alg` tokens at `now`, from the key set as last read (see
    /// [`refresh`](Self::refresh)).
    pub(crate) fn cached_signer(&self, alg: SigningAlgorithm, now: Timestamp) -> Option<Signer> {
        let set = self.cached()?;
        let key = set.signer(alg, now)?.clone();
        Some(Signer { key })
    }

    /// As [`verify`](Self::verify), with the key set as last read (see
    /// [`refresh`](Self::refresh)).
    pub(crate) fn cached_verify(
        &self,
        token: &str,
        now: Timestamp,
        options: VerificationOptions,
    ) -> Option<Claims> {
        verify_with(&*self.cached()?, token, now, options)
    }

    /// Whether the ring keeps a signing key for `alg` (its policy names the algorithm).
    pub fn signs_with(&self, alg: SigningAlgorithm) -> bool {
        self.policy.algorithms.contains(&alg)
    }

    /// Whether a key signs `alg` tokens at `now`: `false` for an algorithm whose first key is
    /// still being published ahead.
    pub async fn can_sign(&self, alg: SigningAlgorithm, now: Timestamp) -> Result<bool, Error> {
        Ok(self.current(now).await?.signer(alg, now).is_some())
    }

    /// How long a key is read from the cache before the store is asked again.
    pub(crate) fn reload_period(&self) -> Duration {
        self.policy.reload_every
    }

    /// The JSON Web Key Set to publish at `now`: the public half of every published key (the
    /// active ones, their announced successors, and retired ones not yet removed), each with
    /// `kid`, `kty`, `alg` and `use: sig`, and no private member (C-KY-1).
    pub async fn jwks(&self, now: Timestamp) -> Result<serde_json::Value, Error> {
        let set = self.current(now).await?;
        let mut keys = Vec::new();
        for key in set.keys.iter().filter(|key| key.is_published(now)) {
            let jwk: serde_json::Value = serde_json::from_str(&key.pair.public_jwk())
                .map_err(|_| Error::other("a public key did not export as JSON"))?;
            keys.push(jwk);
        }
        Ok(serde_json::json!({ "keys": keys }))
    }

    /// The claims of `token` if a key published at `now` signed it, read with `options`
    /// (issuer, audience, time tolerance); `None` otherwise.
    pub(crate) async fn verify(
        &self,
        token: &str,
        now: Timestamp,
        options: VerificationOptions,
    ) -> Result<Option<Claims>, Error> {
        if jwt_simple::token::Token::decode_metadata(token).is_err() {
            return Ok(None);
        }
        let set = self.current(now).await?;
        Ok(verify_with(&set, token, now, options))
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The claims of `token` if a key of `set` published at `now` signed it with the key's own
/// algorithm (never `none`, never a symmetric one: the ring holds asymmetric keys only).
fn verify_with(
    set: &KeySet,
    token: &str,
    now: Timestamp,
    options: VerificationOptions,
) -> Option<Claims> {
    let metadata = jwt_simple::token::Token::decode_metadata(token).ok()?;
    let kid = metadata.key_id()?;
    set.published(kid, now)
        .filter(|key| key.alg.as_str() == metadata.algorithm())
        .and_then(|key| key.pair.verify(token, options))
}

/// Parses a stored key: its algorithm and private JWK.
fn load(record: KeyRecord) -> Result<LoadedKey, Error> {
    let alg: SigningAlgorithm = record.alg.parse()?;
    let pair = KeyPair::from_jwk(alg, &record.private_jwk, &record.kid)?;
    Ok(LoadedKey { record, alg, pair })
}

fn sort(keys: &mut [LoadedKey]) {
    keys.sort_by(|a, b| {
        (a.alg, a.record.signs_from, &a.record.kid).cmp(&(
            b.alg,
            b.record.signs_from,
            &b.record.kid,
        ))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    const DAY: u64 = 24 * 3600;

    fn at(days: u64) -> Timestamp {
        Timestamp::from_secs(1_700_000_000 + days * DAY)
    }

    fn kids(jwks: &serde_json::Value) -> Vec<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["kid"].as_str().unwrap().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn rotation_publishes_ahead_signs_then_retires_and_removes() {
        let store = MemoryStorage::new();
        let policy = RotationPolicy::new()
            .algorithms([SigningAlgorithm::Es256])
            .rotate_every(Duration::from_secs(10 * DAY))
            .publish_ahead(Duration::from_secs(2 * DAY))
            .keep_retired(Duration::from_secs(3 * DAY));
        let ring = KeyRing::new(store.clone(), policy).unwrap();
        ring.maintain(at(0)).await.unwrap();
        let first = ring.signer(SigningAlgorithm::Es256, at(0)).await.unwrap();
        let first_kid = first.key.record.kid.clone();
        assert_eq!(
            kids(&ring.jwks(at(0)).await.unwrap()),
            vec![first_kid.clone()]
        );

        // Day 8: a successor is published, but the first key still signs.
        ring.maintain(at(8)).await.unwrap();
        let jwks = kids(&ring.jwks(at(8)).await.unwrap());
        assert_eq!(jwks.len(), 2);
        let second_kid = jwks.iter().find(|kid| **kid != first_kid).unwrap().clone();
        let signer = ring.signer(SigningAlgorithm::Es256, at(8)).await.unwrap();
        assert_eq!(
            signer.key.record.kid, first_kid,
            "published before it signs"
        );

        // Day 10: the successor signs; the first key is retired but still published.
        ring.maintain(at(10)).await.unwrap();
        let signer = ring.signer(SigningAlgorithm::Es256, at(10)).await.unwrap();
        assert_eq!(signer.key.record.kid, second_kid);
        assert_eq!(kids(&ring.jwks(at(10)).await.unwrap()).len(), 2);

        // Day 13: the first key is removed from the JWKS and from the store.
        ring.maintain(at(13)).await.unwrap();
        assert_eq!(kids(&ring.jwks(at(13)).await.unwrap()), [second_kid]);
        assert_eq!(store.keys().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn instances_sharing_a_store_converge_on_one_key_set() {
        let store = MemoryStorage::new();
        let policy = RotationPolicy::new().algorithms([SigningAlgorithm::EdDsa]);
        let (a, b) = (
            KeyRing::new(store.clone(), policy.clone()).unwrap(),
            KeyRing::new(store.clone(), policy).unwrap(),
        );
        a.maintain(at(0)).await.unwrap();
        b.maintain(at(0)).await.unwrap();
        assert_eq!(a.jwks(at(0)).await.unwrap(), b.jwks(at(0)).await.unwrap());
        // Both schedule a successor at once: the later one wins, the other retires at once,
        // and both stay published until every token either signed has expired.
        a.maintain(at(89)).await.unwrap();
        let b_clock = Timestamp::from_secs(at(89).as_secs() + 1);
        store
            .save_key({
                let pair = KeyPair::generate(SigningAlgorithm::EdDsa).unwrap();
                KeyRecord::new(
                    pair.thumbprint(),
                    "EdDSA",
                    pair.private_jwk(),
                    b_clock,
                    b_clock.after(Duration::from_secs(DAY)),
                )
            })
            .await
            .unwrap();
        // Day 90.5: the first key retired at day 90 and is still published until day 91.
        let later = Timestamp::from_secs(at(90).as_secs() + DAY / 2);
        a.maintain(later).await.unwrap();
        b.maintain(later).await.unwrap();
        assert_eq!(a.jwks(later).await.unwrap(), b.jwks(later).await.unwrap());
        assert_eq!(kids(&a.jwks(later).await.unwrap()).len(), 3);
        let records = store.keys().await.unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(
            records.iter().filter(|r| r.removed_at.is_none()).count(),
            1,
            "exactly one key is current; the others are scheduled for removal"
        );
    }

    #[tokio::test]
    async fn an_algorithm_added_later_is_published_before_it_signs() {
        let store = MemoryStorage::new();
        let policy = RotationPolicy::new().publish_ahead(Duration::from_secs(DAY));
        let ring = KeyRing::new(store.clone(), policy.clone()).unwrap();
        ring.maintain(at(0)).await.unwrap();
        assert!(ring.can_sign(SigningAlgorithm::Rs256, at(0)).await.unwrap());
        let wider = policy.algorithms([SigningAlgorithm::Rs256, SigningAlgorithm::EdDsa]);
        let ring = KeyRing::new(store.clone(), wider).unwrap();
        ring.maintain(at(1)).await.unwrap();
        assert_eq!(
            kids(&ring.jwks(at(1)).await.unwrap()).len(),
            2,
            "published at once"
        );
        assert!(!ring.can_sign(SigningAlgorithm::EdDsa, at(1)).await.unwrap());
        ring.maintain(at(2)).await.unwrap();
        assert!(ring.can_sign(SigningAlgorithm::EdDsa, at(2)).await.unwrap());
        assert_eq!(
            store.keys().await.unwrap().len(),
            2,
            "one key each, no duplicates"
        );
    }

    #[tokio::test]
    async fn keys_of_an_algorithm_the_policy_dropped_retire_and_leave() {
        let store = MemoryStorage::new();
        let both = RotationPolicy::new()
            .algorithms([SigningAlgorithm::Es256, SigningAlgorithm::EdDsa])
            .keep_retired(Duration::from_secs(DAY));
        KeyRing::new(store.clone(), both)
            .unwrap()
            .maintain(at(0))
            .await
            .unwrap();
        let es_only = RotationPolicy::new()
            .algorithms([SigningAlgorithm::Es256])
            .keep_retired(Duration::from_secs(DAY));
        let ring = KeyRing::new(store.clone(), es_only).unwrap();
        ring.maintain(at(1)).await.unwrap();
        assert!(ring.signer(SigningAlgorithm::EdDsa, at(1)).await.is_err());
        assert_eq!(
            kids(&ring.jwks(at(1)).await.unwrap()).len(),
            2,
            "still published"
        );
        ring.maintain(at(2)).await.unwrap();
        assert_eq!(kids(&ring.jwks(at(2)).await.unwrap()).len(), 1);
        assert_eq!(store.keys().await.unwrap().len(), 1);
    }

    #[test]
    fn generated_keys_round_trip_through_their_private_jwk_and_hide_it_from_debug() {
        for alg in SigningAlgorithm::ALL {
            let pair = KeyPair::generate(alg).unwrap();
            let kid = pair.thumbprint();
            let again = KeyPair::from_jwk(alg, &pair.private_jwk(), &kid).unwrap();
            assert_eq!(again.thumbprint(), kid);
            let public: serde_json::Value = serde_json::from_str(&pair.public_jwk()).unwrap();
            assert_eq!(public["kid"], kid.as_str());
            assert_eq!(public["alg"], alg.as_str());
            assert_eq!(public["use"], "sig");
            for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
                assert!(public.get(private).is_none(), "{alg}: {private}");
            }
            let record = KeyRecord::new(kid, alg.as_str(), pair.private_jwk(), at(0), at(0));
            let shown = format!("{record:?}");
            assert!(!shown.contains(&pair.private_jwk()), "{shown}");
        }
    }
}
