//! DPoP (RFC 9449): proofs of possession of a client key, and the tokens bound to that key.
//!
//! A client that holds a key pair sends, with each token request and each call to a protected
//! resource, a `DPoP` header: a JWS of type `dpop+jwt`, signed by its key, whose header carries
//! the public key and whose claims say which request it is for (`htm`, `htu`), when it was made
//! (`iat`), a unique id (`jti`), and, at a resource, the hash of the access token (`ath`). The
//! token endpoint binds the access token to the key's RFC 7638 thumbprint (`cnf.jkt`), and a
//! public client's refresh token too; a bound token is accepted only with a proof by that key.
//!
//! [`Dpop`] is the configuration: the accepted algorithms, how old a proof may be, the replay
//! cache (shared by a fleet, so that a proof replayed to another instance is refused), server
//! nonces, and whether every token request must carry a proof. The proof check is one, shared
//! by every endpoint; its failures say which rule was broken, for logs and tests, and are
//! answered as `invalid_dpop_proof` (or `use_dpop_nonce`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Method};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;
use url::Url;

use crate::error::{Error, ErrorCode, OAuthError};
use crate::jose::{Jws, PublicKey, SigningAlgorithm};
use crate::storage::ReplayCache;
use crate::time::Timestamp;
use crate::token::{Confirmation, Digest};
pub use crate::token::{DPOP, DPOP_NONCE};

/// The `typ` of a DPoP proof (RFC 9449 §4.2).
const PROOF_TYPE: &str = "dpop+jwt";

/// The longest `jti` accepted.
const MAX_JTI_LENGTH: usize = 256;

/// How the server checks DPoP proofs (RFC 9449), set with
/// [`ConfigBuilder::dpop`](crate::ConfigBuilder::dpop).
///
/// ```
/// use std::time::Duration;
/// use grantor::dpop::Dpop;
/// use grantor::jose::SigningAlgorithm;
/// use grantor::{Config, MemoryStorage};
///
/// let storage = MemoryStorage::new();
/// let dpop = Dpop::new(storage.clone())
///     .algorithms([SigningAlgorithm::Es256, SigningAlgorithm::EdDsa])
///     .proof_window(Duration::from_secs(60))
///     .require_nonce(b"a nonce key of at least thirty-two bytes", Duration::from_secs(300))?;
/// let config = Config::builder("https://auth.example.com").dpop(dpop).build()?;
/// # Ok::<(), grantor::Error>(())
/// ```
#[derive(Clone)]
pub struct Dpop {
    cache: Arc<dyn ReplayCache>,
    algorithms: Vec<SigningAlgorithm>,
    window: Duration,
    leeway: Duration,
    nonces: Option<Nonces>,
    required: bool,
}

impl Dpop {
    /// DPoP with `cache` remembering proofs' `jti` (a storage backend: every grantor backend is
    /// a [`ReplayCache`]), accepting the algorithms grantor knows (ES256, EdDSA, PS256, RS256),
    /// proofs made up to 60 s ago (and 5 s ahead, for clock skew), no nonces, and token
    /// requests without a proof.
    pub fn new(cache: impl ReplayCache) -> Self {
        Self::shared(Arc::new(cache))
    }

    /// As [`new`](Self::new), with a cache already shared.
    pub fn shared(cache: Arc<dyn ReplayCache>) -> Self {
        Self {
            cache,
            algorithms: vec![
                SigningAlgorithm::Es256,
                SigningAlgorithm::EdDsa,
                SigningAlgorithm::Ps256,
                SigningAlgorithm::Rs256,
            ],
            window: Duration::from_secs(60),
            leeway: Duration::from_secs(5),
            nonces: None,
            required: false,
        }
    }

    /// The algorithms a proof may be signed with (`dpop_signing_alg_values_supported`); others,
    /// `none` and symmetric ones among them, are refused.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = SigningAlgorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// How long ago a proof may have been made (its `iat`); its `jti` is remembered as long.
    pub fn proof_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// How far ahead of the server's clock a proof's `iat` may be.
    pub fn clock_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Requires a server nonce in every proof (RFC 9449 §8, §9): a proof without the current
    /// nonce is answered `use_dpop_nonce` with the nonce in a `DPoP-Nonce` header. Nonces are
    /// derived from `key` and the time (a new one every `lifetime`, the previous one still
    /// accepted), so every instance of a fleet that has the same key accepts them, without
    /// storage. `key` must be at least 32 bytes of secret randomness.
    pub fn require_nonce(mut self, key: &[u8], lifetime: Duration) -> Result<Self, Error> {
        if key.len() < 32 {
            return Err(Error::config("a DPoP nonce key must be at least 32 bytes"));
        }
        if lifetime.as_secs() == 0 {
            return Err(Error::config("a DPoP nonce must live at least a second"));
        }
        self.nonces = Some(Nonces {
            key: key.into(),
            lifetime: lifetime.as_secs(),
        });
        Ok(self)
    }

    /// Requires a proof with every token request, so that every access token is
    /// sender-constrained (FAPI 2.0). Without it, only the clients registered with
    /// `dpop_bound_access_tokens` must send one.
    pub fn require_proofs(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    /// The accepted algorithms.
    pub fn signing_algorithms(&self) -> &[SigningAlgorithm] {
        &self.algorithms
    }

    /// Whether every token request must carry a proof.
    pub fn requires_proofs(&self) -> bool {
        self.required
    }

    /// The names of the accepted algorithms, as metadata lists them
    /// (`dpop_signing_alg_values_supported`).
    pub(crate) fn algorithm_names(&self) -> Vec<&'static str> {
        self.algorithms.iter().map(|alg| alg.as_str()).collect()
    }

    /// The `algs` of a `DPoP` challenge: the accepted algorithms, space-separated.
    pub(crate) fn algs(&self) -> String {
        self.algorithm_names().join(" ")
    }

    /// The nonce to hand out now, when nonces are required.
    pub(crate) fn nonce(&self, now: Timestamp) -> Option<String> {
        self.nonces.as_ref().map(|nonces| nonces.at(now))
    }
}

impl fmt::Debug for Dpop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dpop")
            .field("algorithms", &self.algorithms)
            .field("window", &self.window)
            .field("leeway", &self.leeway)
            .field("nonces", &self.nonces.is_some())
            .field("required", &self.required)
            .finish_non_exhaustive()
    }
}

/// Stateless server nonces: the time step, and a MAC of it under the server's key.
#[derive(Clone)]
struct Nonces {
    key: Arc<[u8]>,
    lifetime: u64,
}

impl Nonces {
    fn mac(&self, step: u64) -> [u8; 16] {
        let mut input = b"grantor dpop nonce ".to_vec();
        input.extend_from_slice(&step.to_be_bytes());
        let mac = hmac_sha256::HMAC::mac(&input, &self.key);
        let mut short = [0; 16];
        short.copy_from_slice(&mac[..16]);
        short
    }

    fn encode(&self, step: u64) -> String {
        let mut bytes = step.to_be_bytes().to_vec();
        bytes.extend_from_slice(&self.mac(step));
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The nonce of the current time step.
    fn at(&self, now: Timestamp) -> String {
        self.encode(now.as_secs() / self.lifetime)
    }

    /// Whether `nonce` is the current step's or the previous one's.
    fn accepts(&self, nonce: &str, now: Timestamp) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        let Some((step, mac)) = bytes.split_first_chunk::<8>() else {
            return false;
        };
        let step = u64::from_be_bytes(*step);
        let current = now.as_secs() / self.lifetime;
        (step == current || step.saturating_add(1) == current)
            && bool::from(self.mac(step).ct_eq(mac))
    }
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProofError {
    /// The proof is invalid: the reason, for the error description.
    Invalid(&'static str),
    /// The proof lacks the current server nonce: the nonce to send.
    UseNonce(String),
}

impl ProofError {
    /// The token endpoint's answer (RFC 9449 §5, §8): `invalid_dpop_proof`, or
    /// `use_dpop_nonce` with the nonce in a `DPoP-Nonce` header.
    pub(crate) fn into_oauth(self) -> OAuthError {
        match self {
            Self::Invalid(reason) => {
                OAuthError::new(ErrorCode::InvalidDpopProof).with_description(reason)
            }
            Self::UseNonce(nonce) => OAuthError::new(ErrorCode::UseDpopNonce)
                .with_description("the DPoP proof must carry the server's nonce")
                .with_dpop_nonce(nonce),
        }
    }
}

/// What the request a proof must be for: its method and URL, and at a protected resource the
/// access token presented with it.
pub(crate) struct Target<'a> {
    pub(crate) method: &'a Method,
    pub(crate) url: &'a str,
    pub(crate) access_token: Option<&'a str>,
}

/// A checked proof: the thumbprint of the key that signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Proof {
    pub(crate) jkt: String,
}

impl Proof {
    /// The binding of tokens issued with this proof.
    pub(crate) fn confirmation(&self) -> Confirmation {
        Confirmation::jwk_thumbprint(self.jkt.clone())
    }
}

/// Checks the request's DPoP proof, if it has one (C-DP-1, C-DP-2): `Ok(None)` without a
/// `DPoP` header. The `jti` is recorded only for a proof that passed every other check, so a
/// refused proof does not use it up.
pub(crate) async fn check(
    dpop: &Dpop,
    headers: &HeaderMap,
    target: &Target<'_>,
    now: Timestamp,
) -> Result<Option<Proof>, crate::error::Failure> {
    let mut values = headers.get_all(DPOP).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let invalid = |reason| Err(ProofError::Invalid(reason).into_oauth().into());
    if values.next().is_some() {
        return invalid("more than one DPoP header");
    }
    let Ok(text) = value.to_str() else {
        return invalid("the DPoP header is not a JWS");
    };
    let (jws, key) = match verify(dpop, text, target, now) {
        Ok(checked) => checked,
        Err(reason) => return invalid(reason),
    };
    if let Some(nonces) = &dpop.nonces {
        let fresh = jws
            .claim_str("nonce")
            .is_some_and(|nonce| nonces.accepts(nonce, now));
        if !fresh {
            return Err(ProofError::UseNonce(nonces.at(now)).into_oauth().into());
        }
    }
    let jti = jws.claim_str("jti").unwrap_or_default();
    let replay_key = Digest::of(&format!("dpop\0{}\0{jti}", key.thumbprint()));
    let keep_until = now.after(dpop.window + dpop.leeway);
    let first = dpop.cache.first_use(&replay_key, keep_until, now);
    if !crate::observe::storage("first_use", first).await? {
        return invalid("the DPoP proof was already used");
    }
    Ok(Some(Proof {
        jkt: key.thumbprint().to_owned(),
    }))
}

/// Every check of a proof but the nonce and the replay: its form, key, signature, and the
/// request and time it was made for.
fn verify<'t>(
    dpop: &Dpop,
    text: &'t str,
    target: &Target<'_>,
    now: Timestamp,
) -> Result<(Jws<'t>, PublicKey), &'static str> {
    let jws = Jws::parse(text).map_err(|_| "the DPoP proof is not a well-formed JWS")?;
    if !jws
        .header_str("typ")
        .is_some_and(|typ| typ.eq_ignore_ascii_case(PROOF_TYPE))
    {
        return Err("the DPoP proof's typ is not dpop+jwt");
    }
    let alg = jws
        .header_str("alg")
        .and_then(|alg| alg.parse::<SigningAlgorithm>().ok())
        .filter(|alg| dpop.algorithms.contains(alg))
        .ok_or("the DPoP proof's alg is not accepted")?;
    let jwk = jws
        .header()
        .get("jwk")
        .filter(|jwk| jwk.is_object())
        .ok_or("the DPoP proof has no jwk")?;
    let key = PublicKey::from_jwk(alg, &jwk.to_string())
        .map_err(|_| "the DPoP proof's jwk is not a public key of its alg")?;
    if !jws.verified_by(&key) {
        return Err("the DPoP proof's signature is invalid");
    }
    if jws.claim_str("htm") != Some(target.method.as_str()) {
        return Err("the DPoP proof is for another method");
    }
    if !jws
        .claim_str("htu")
        .is_some_and(|htu| same_resource(htu, target.url))
    {
        return Err("the DPoP proof is for another URL");
    }
    let iat = jws.claim_secs("iat").ok_or("the DPoP proof has no iat")?;
    let now_secs = now.as_secs();
    if iat.saturating_add(dpop.window.as_secs()) < now_secs
        || iat > now_secs.saturating_add(dpop.leeway.as_secs())
    {
        return Err("the DPoP proof's iat is outside the accepted window");
    }
    if !jws
        .claim_str("jti")
        .is_some_and(|jti| !jti.is_empty() && jti.len() <= MAX_JTI_LENGTH)
    {
        return Err("the DPoP proof has no valid jti");
    }
    match (target.access_token, jws.claim_str("ath")) {
        (None, _) => {}
        (Some(token), Some(ath)) if ath == access_token_hash(token) => {}
        (Some(_), _) => return Err("the DPoP proof's ath is not the access token's hash"),
    }
    Ok((jws, key))
}

/// The URL of a protected request as its client addressed it, for the `htu` check of DPoP
/// proofs at a resource (C-DP-2). Insert it into the request's extensions when the server sees
/// another URL than the client (behind a proxy that rewrites the host or the path); without
/// it, the URL is the request's absolute URI, or its path under its `Host` header, with the
/// issuer's scheme — and then only when that host is the issuer's or a registered
/// [`Resource`](crate::Resource)'s, since the client chose it: a proof made for another
/// server's URL is not accepted by naming that server's host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestUrl(pub String);

/// The URL a proof presented with `request` must name; `None` when the request names a host
/// this server does not serve.
pub(crate) fn request_url<B>(config: &crate::Config, request: &http::Request<B>) -> Option<String> {
    if let Some(RequestUrl(url)) = request.extensions().get::<RequestUrl>() {
        return Some(url.clone());
    }
    let uri = request.uri();
    let path = uri.path();
    let issuer = Url::parse(config.issuer()).ok()?;
    let (scheme, host) = match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => (scheme, authority.as_str().to_ascii_lowercase()),
        _ => {
            let host = request.headers().get(http::header::HOST)?.to_str().ok()?;
            (issuer.scheme(), host.to_ascii_lowercase())
        }
    };
    let url = Url::parse(&format!("{scheme}://{host}{path}")).ok()?;
    let the_issuers = url.host() == issuer.host()
        && url.port_or_known_default() == issuer.port_or_known_default();
    let served = the_issuers || config.resources().iter().any(|r| r.serves_host(&host));
    served.then(|| format!("{scheme}://{host}{path}"))
}

/// The `ath` of a proof presented with `token`: base64url SHA-256 of its text (RFC 9449 §4.2).
pub(crate) fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// Whether a proof's `htu` names the request URL, ignoring query and fragment (RFC 9449
/// §4.3), after the URL syntax normalization the `url` crate applies (scheme and host case,
/// default port, percent-encoding, dot segments).
fn same_resource(htu: &str, url: &str) -> bool {
    let (Ok(htu), Ok(url)) = (Url::parse(htu), Url::parse(url)) else {
        return false;
    };
    htu.scheme() == url.scheme()
        && htu.host() == url.host()
        && htu.port_or_known_default() == url.port_or_known_default()
        && htu.path() == url.path()
}

/// The `dpop_jkt` of an authorization request (RFC 9449 §10): `invalid_request` when it is
/// not a JWK thumbprint.
pub(crate) fn requested_key(params: &crate::form::Params) -> Result<Option<String>, OAuthError> {
    match params.get("dpop_jkt")? {
        Some(jkt) if is_thumbprint(jkt) => Ok(Some(jkt.to_owned())),
        Some(_) => Err(OAuthError::invalid_request(
            "dpop_jkt is not a JWK SHA-256 thumbprint",
        )),
        None => Ok(None),
    }
}

/// Whether `jkt` is a well-formed JWK thumbprint: base64url SHA-256, 43 characters
/// (`dpop_jkt`, RFC 9449 §10).
pub(crate) fn is_thumbprint(jkt: &str) -> bool {
    jkt.len() == 43
        && URL_SAFE_NO_PAD
            .decode(jkt)
            .is_ok_and(|bytes| bytes.len() == 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_rotate_and_the_previous_one_is_still_accepted() {
        let nonces = Nonces {
            key: Arc::from(&b"k".repeat(32)[..]),
            lifetime: 300,
        };
        let at = |secs| Timestamp::from_secs(secs);
        let first = nonces.at(at(1_000));
        assert!(nonces.accepts(&first, at(1_000)));
        assert!(nonces.accepts(&first, at(1_300)), "the previous step");
        assert!(!nonces.accepts(&first, at(1_800)), "two steps later");
        let other = Nonces {
            key: Arc::from(&b"x".repeat(32)[..]),
            lifetime: 300,
        };
        assert!(!other.accepts(&first, at(1_000)), "another key");
        assert!(!nonces.accepts("not-a-nonce", at(1_000)));
    }

    #[test]
    fn htu_ignores_query_fragment_and_syntax_differences() {
        let url = "https://auth.example.com/token";
        assert!(same_resource(
            "https://AUTH.example.com:443/token?x=1#f",
            url
        ));
        assert!(same_resource("https://auth.example.com/a/../token", url));
        assert!(!same_resource("http://auth.example.com/token", url));
        assert!(!same_resource("https://auth.example.com/token/", url));
        assert!(!same_resource("https://auth.example.com:8443/token", url));
        assert!(!same_resource("/token", url));
    }

    #[test]
    fn thumbprints_are_43_base64url_characters() {
        assert!(is_thumbprint("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"));
        assert!(!is_thumbprint("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4"));
        assert!(!is_thumbprint(
            "0ZcOCORZNYy+DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        ));
    }
}
