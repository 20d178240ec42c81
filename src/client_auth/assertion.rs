//! Client assertions (RFC 7523 §2.2, OpenID Connect Core §9, C-CA-1): `private_key_jwt` and
//! `client_secret_jwt`.
//!
//! The client sends `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
//! and a JWT as `client_assertion`. It is accepted when `iss` and `sub` are the client id, `aud`
//! names the issuer or the URL of the endpoint being called, `exp` is in the future and at
//! most [`max_lifetime`](ClientAssertions::max_lifetime) ahead, `iat` and `nbf` (if present)
//! are not in the future, `jti` was not seen before (the [`ReplayCache`] is shared by a fleet,
//! and keyed by client id and `jti`), the `alg` is allowed, and the signature is made by a key
//! of the client's JWK Set (`private_key_jwt`) or, for `client_secret_jwt`, with its secret
//! (HS256). Every failure is the same `invalid_client`, which never says which check failed.
//!
//! Keys come from the client's registered `jwks`, or from its `jwks_uri` through the host's
//! [`JwksFetcher`] (grantor has no HTTP client): fetched sets are cached for
//! [`jwks_cache_ttl`](ClientAssertions::jwks_cache_ttl), and fetched again once when an
//! assertion names a `kid` the cached set lacks (a rotated key).
//!
//! `client_secret_jwt` needs the client's secret in clear, which grantor never keeps (it
//! stores secret digests only). The host that wants the method gives a [`ClientSecretKeys`]
//! that returns each client's HMAC key from wherever it keeps keys (a KMS, a vault, the
//! environment). That trades the "digest only" property for those clients: whoever reads that
//! key store can impersonate them, as with any shared secret the server must read back. Prefer
//! `private_key_jwt`; without a `ClientSecretKeys`, `client_secret_jwt` is not offered.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::BoxFuture;
use crate::client::{AuthMethod, Client, ClientId};
use crate::error::{Error, Failure};
use crate::jose::{Jws, PublicKey, SigningAlgorithm};
use crate::storage::ReplayCache;
use crate::time::Timestamp;
use crate::token::{ClientSecret, Digest};

/// The only `alg` of `client_secret_jwt`.
const HS256: &str = "HS256";

/// The longest `jti` accepted.
const MAX_JTI_LENGTH: usize = 256;

/// The most keys of one JWK Set tried against an assertion without a `kid`.
const MAX_KEYS_TRIED: usize = 16;

/// How the server checks client assertions, set with
/// [`ConfigBuilder::client_assertions`](crate::ConfigBuilder::client_assertions). Without it,
/// neither `private_key_jwt` nor `client_secret_jwt` is accepted or advertised.
///
/// ```
/// use std::time::Duration;
/// use grantor::jose::SigningAlgorithm;
/// use grantor::{ClientAssertions, Config, MemoryStorage};
///
/// let storage = MemoryStorage::new();
/// let assertions = ClientAssertions::new(storage.clone())
///     .algorithms([SigningAlgorithm::Ps256, SigningAlgorithm::Es256])
///     .max_lifetime(Duration::from_secs(120));
/// let config = Config::builder("https://auth.example.com")
///     .client_assertions(assertions)
///     .build()?;
/// # Ok::<(), grantor::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientAssertions {
    cache: Arc<dyn ReplayCache>,
    algorithms: Vec<SigningAlgorithm>,
    max_lifetime: Duration,
    leeway: Duration,
    fetcher: Option<Arc<dyn JwksFetcher>>,
    jwks_cache: Arc<JwksCache>,
    secret_keys: Option<Arc<dyn ClientSecretKeys>>,
    /// Whether `aud` must be the issuer alone, as a string (FAPI 2.0).
    strict_audience: bool,
}

impl ClientAssertions {
    /// Assertions whose `jti` `cache` remembers (a storage backend: every grantor backend is a
    /// [`ReplayCache`]), signed with RS256, PS256, ES256 or EdDSA, expiring at most 5 minutes
    /// ahead, with 30 s of clock leeway; keys from registered `jwks` only, no
    /// `client_secret_jwt`.
    pub fn new(cache: impl ReplayCache) -> Self {
        Self::shared(Arc::new(cache))
    }

    /// As [`new`](Self::new), with a cache already shared.
    pub fn shared(cache: Arc<dyn ReplayCache>) -> Self {
        Self {
            cache,
            algorithms: SigningAlgorithm::ALL.to_vec(),
            max_lifetime: Duration::from_secs(300),
            leeway: Duration::from_secs(30),
            fetcher: None,
            jwks_cache: Arc::new(JwksCache::new(Duration::from_secs(300), 1024)),
            secret_keys: None,
            strict_audience: false,
        }
    }

    /// The profile's assertions: `algorithms` only, no `client_secret_jwt` (FAPI 2.0 allows
    /// `private_key_jwt` alone), and `aud` the issuer alone, as a string (FAPI 2.0 §5.3.2.1:
    /// an assertion meant for another server's endpoint cannot be replayed here).
    pub(crate) fn restricted_to(mut self, algorithms: Vec<SigningAlgorithm>) -> Self {
        self.algorithms = algorithms;
        self.secret_keys = None;
        self.strict_audience = true;
        self
    }

    /// The algorithms a `private_key_jwt` assertion may be signed with
    /// (`token_endpoint_auth_signing_alg_values_supported`, with HS256 when
    /// `client_secret_jwt` is on); others, `none` among them, are refused.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = SigningAlgorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// How far ahead an assertion's `exp` may be (default 5 minutes).
    pub fn max_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_lifetime = lifetime;
        self
    }

    /// How far the client's clock may be off from the server's (default 30 s).
    pub fn clock_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Fetches the JWK Sets of clients registered with a `jwks_uri`.
    pub fn jwks_fetcher(mut self, fetcher: impl JwksFetcher) -> Self {
        self.fetcher = Some(Arc::new(fetcher));
        self
    }

    /// How long a fetched JWK Set is used before it is fetched again (default 5 minutes), and
    /// how many are kept at most (default 1024).
    pub fn jwks_cache_ttl(mut self, ttl: Duration, capacity: usize) -> Self {
        self.jwks_cache = Arc::new(JwksCache::new(ttl, capacity));
        self
    }

    /// Accepts `client_secret_jwt`, with each client's HMAC key from `keys`.
    pub fn client_secret_keys(mut self, keys: impl ClientSecretKeys) -> Self {
        self.secret_keys = Some(Arc::new(keys));
        self
    }

    /// The algorithms a `private_key_jwt` assertion may be signed with.
    pub fn signing_algorithms(&self) -> &[SigningAlgorithm] {
        &self.algorithms
    }

    /// Whether `client_secret_jwt` is accepted.
    pub fn accepts_client_secret_jwt(&self) -> bool {
        self.secret_keys.is_some()
    }

    /// The `alg` values of the metadata: the asymmetric ones, and HS256 with
    /// `client_secret_jwt`.
    pub(crate) fn alg_values(&self) -> Vec<&'static str> {
        let mut values: Vec<&str> = self.algorithms.iter().map(|alg| alg.as_str()).collect();
        if self.accepts_client_secret_jwt() {
            values.push(HS256);
        }
        values
    }
}

impl fmt::Debug for ClientAssertions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAssertions")
            .field("algorithms", &self.algorithms)
            .field("max_lifetime", &self.max_lifetime)
            .field("leeway", &self.leeway)
            .field("jwks_fetcher", &self.fetcher.is_some())
            .field("client_secret_jwt", &self.secret_keys.is_some())
            .finish_non_exhaustive()
    }
}

/// Fetches a client's JWK Set from its `jwks_uri`, with the host's HTTP client. Object-safe.
///
/// ```
/// use grantor::{BoxFuture, Error, JwksFetcher};
///
/// struct Fixed(String);
///
/// impl JwksFetcher for Fixed {
///     fn fetch<'a>(&'a self, _uri: &'a str) -> BoxFuture<'a, Result<String, Error>> {
///         Box::pin(async move { Ok(self.0.clone()) })
///     }
/// }
/// ```
pub trait JwksFetcher: Send + Sync + 'static {
    /// The JWK Set at `uri`, as JSON text. An error counts as a failed authentication of the
    /// client, and is not cached.
    fn fetch<'a>(&'a self, uri: &'a str) -> BoxFuture<'a, Result<String, Error>>;
}

/// The HMAC keys of the clients that use `client_secret_jwt`, kept by the host in clear
/// (grantor keeps only secret digests). Object-safe.
pub trait ClientSecretKeys: Send + Sync + 'static {
    /// The secret of `client`, if it has one for `client_secret_jwt`.
    fn secret_key<'a>(
        &'a self,
        client: &'a ClientId,
    ) -> BoxFuture<'a, Result<Option<ClientSecret>, Error>>;
}

/// Fetched JWK Sets by URL, with the time each was fetched.
struct JwksCache {
    ttl: Duration,
    capacity: usize,
    sets: Mutex<HashMap<String, (Value, Timestamp)>>,
}

impl JwksCache {
    fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            sets: Mutex::new(HashMap::new()),
        }
    }

    /// The cached set at `uri`, if it is fresh.
    fn get(&self, uri: &str, now: Timestamp) -> Option<Value> {
        let sets = self.sets.lock().ok()?;
        let (set, fetched) = sets.get(uri)?;
        (now < fetched.after(self.ttl)).then(|| set.clone())
    }

    fn put(&self, uri: &str, set: Value, now: Timestamp) {
        let Ok(mut sets) = self.sets.lock() else {
            return;
        };
        if sets.len() >= self.capacity && !sets.contains_key(uri) {
            let ttl = self.ttl;
            sets.retain(|_, (_, fetched)| now < fetched.after(ttl));
            if sets.len() >= self.capacity {
                sets.clear();
            }
        }
        sets.insert(uri.to_owned(), (set, now));
    }
}

/// The subject an assertion names, read before it is verified, to find the client.
pub(crate) fn subject(assertion: &str) -> Option<String> {
    Jws::parse(assertion)
        .ok()?
        .claim_str("sub")
        .map(str::to_owned)
}

/// What an assertion is checked against.
pub(crate) struct Expected<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) endpoint: &'a str,
    pub(crate) now: Timestamp,
}

/// Verifies `assertion` for `client` (C-CA-1): `Ok(Some(client))` when every check passes,
/// `Ok(None)` when one fails, `Err` only for a storage failure.
pub(crate) async fn verify(
    assertions: &ClientAssertions,
    assertion: &str,
    client: Option<Client>,
    expected: &Expected<'_>,
) -> Result<Option<Client>, Failure> {
    let Some(client) = client else {
        return Ok(None);
    };
    let Ok(jws) = Jws::parse(assertion) else {
        return Ok(None);
    };
    let Some(exp) = claims_hold(assertions, &jws, client.id().as_str(), expected) else {
        return Ok(None);
    };
    let alg = jws.header_str("alg").unwrap_or_default();
    if client
        .token_endpoint_auth_signing_alg()
        .is_some_and(|registered| registered != alg)
    {
        return Ok(None);
    }
    let signed = match client.token_endpoint_auth_method() {
        Some(AuthMethod::PrivateKeyJwt) => signed_by_key(assertions, &jws, &client, expected).await,
        Some(AuthMethod::ClientSecretJwt) => signed_by_secret(assertions, &jws, &client).await?,
        _ => false,
    };
    if !signed {
        return Ok(None);
    }
    let jti = jws.claim_str("jti").unwrap_or_default();
    let key = Digest::of(&format!("client_assertion\0{}\0{jti}", client.id()));
    let keep_until = Timestamp::from_secs(exp).after(assertions.leeway);
    let first = assertions.cache.first_use(&key, keep_until, expected.now);
    if !crate::observe::storage("first_use", first).await? {
        return Ok(None);
    }
    Ok(Some(client))
}

/// The claims' checks (all but the signature and the replay): the `exp` when they hold.
fn claims_hold(
    assertions: &ClientAssertions,
    jws: &Jws<'_>,
    client_id: &str,
    expected: &Expected<'_>,
) -> Option<u64> {
    let now = expected.now.as_secs();
    let leeway = assertions.leeway.as_secs();
    if jws.claim_str("iss") != Some(client_id) || jws.claim_str("sub") != Some(client_id) {
        return None;
    }
    let named = |aud: &str| aud == expected.issuer || aud == expected.endpoint;
    let audience = match jws.claims().get("aud")? {
        // FAPI 2.0 (§5.3.2.1): the issuer alone, as a string, against audience injection.
        Value::String(aud) if assertions.strict_audience => aud == expected.issuer,
        Value::String(aud) => named(aud),
        Value::Array(auds) if !assertions.strict_audience => {
            auds.iter().filter_map(Value::as_str).any(named)
        }
        _ => false,
    };
    let exp = jws.claim_secs("exp")?;
    let latest = now
        .saturating_add(assertions.max_lifetime.as_secs())
        .saturating_add(leeway);
    let timely = exp.saturating_add(leeway) > now && exp <= latest;
    let not_future = |name: &str| match jws.claims().get(name) {
        None => true,
        Some(_) => jws
            .claim_secs(name)
            .is_some_and(|at| at <= now.saturating_add(leeway)),
    };
    let jti = jws
        .claim_str("jti")
        .is_some_and(|jti| !jti.is_empty() && jti.len() <= MAX_JTI_LENGTH);
    (audience && timely && not_future("iat") && not_future("nbf") && jti).then_some(exp)
}

/// Whether a key of the client's JWK Set, of an allowed algorithm, made the signature.
async fn signed_by_key(
    assertions: &ClientAssertions,
    jws: &Jws<'_>,
    client: &Client,
    expected: &Expected<'_>,
) -> bool {
    let Some(alg) = jws
        .header_str("alg")
        .and_then(|alg| alg.parse::<SigningAlgorithm>().ok())
        .filter(|alg| assertions.algorithms.contains(alg))
    else {
        return false;
    };
    let kid = jws.header_str("kid");
    if let Some(jwks) = client.jwks() {
        return signed_by_set(jws, alg, kid, jwks);
    }
    let (Some(uri), Some(fetcher)) = (client.jwks_uri(), &assertions.fetcher) else {
        return false;
    };
    let cache = &assertions.jwks_cache;
    let cached = cache.get(uri, expected.now);
    if let Some(set) = &cached {
        let knows_kid = kid.is_none_or(|kid| keys(set).any(|key| key_id(key) == Some(kid)));
        if knows_kid {
            return signed_by_set(jws, alg, kid, set);
        }
    }
    // Not cached, stale, or a `kid` the cached set lacks (a rotated key): fetch once.
    let fetched = fetcher
        .fetch(uri)
        .await
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .filter(|set| crate::client::check_public_jwks(set).is_ok());
    let Some(set) = fetched else {
        return false;
    };
    let signed = signed_by_set(jws, alg, kid, &set);
    cache.put(uri, set, expected.now);
    signed
}

/// The keys of a JWK Set.
fn keys(set: &Value) -> impl Iterator<Item = &Value> {
    set.get("keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn key_id(key: &Value) -> Option<&str> {
    key.get("kid").and_then(Value::as_str)
}

/// Whether a key of `set` verifies the signature: the key with the header's `kid`, or without
/// one, each key whose type and `alg` fit (a few at most).
fn signed_by_set(jws: &Jws<'_>, alg: SigningAlgorithm, kid: Option<&str>, set: &Value) -> bool {
    keys(set)
        .filter(|key| kid.is_none_or(|kid| key_id(key) == Some(kid)))
        .filter(|key| {
            key.get("use")
                .and_then(Value::as_str)
                .is_none_or(|u| u == "sig")
        })
        .take(MAX_KEYS_TRIED)
        .filter_map(|key| PublicKey::from_jwk(alg, &key.to_string()).ok())
        .any(|key| key.alg() == alg && jws.verified_by(&key))
}

/// Whether the HS256 MAC was made with the client's secret, as the host's
/// [`ClientSecretKeys`] holds it. A secret shorter than 32 bytes is refused (RFC 7518 §3.2).
async fn signed_by_secret(
    assertions: &ClientAssertions,
    jws: &Jws<'_>,
    client: &Client,
) -> Result<bool, Failure> {
    let Some(keys) = &assertions.secret_keys else {
        return Ok(false);
    };
    if jws.header_str("alg") != Some(HS256) {
        return Ok(false);
    }
    let secret = crate::observe::storage("secret_key", keys.secret_key(client.id())).await?;
    Ok(secret.is_some_and(|secret| {
        let key = secret.secret().as_bytes();
        key.len() >= 32 && jws.verified_by_secret(key)
    }))
}
