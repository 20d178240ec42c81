//! Client assertions (RFC 7523 §2.2, OpenID Connect Core §9): `private_key_jwt` and
//! `client_secret_jwt` at every endpoint that authenticates clients (C-CA-1).
//!
//! The assertions are made by `jsonwebtoken`, a JOSE implementation independent of grantor's;
//! the keys by `jwt-simple`.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use grantor::grant::DeviceCodeGrant;
use grantor::jose::SigningAlgorithm;
use grantor::storage::ClientStore;
use grantor::{
    AuthMethod, BoxFuture, Client, ClientAssertions, ClientId, ClientSecret, ClientSecretKeys,
    ConfigBuilder, Error, GrantType, JwksFetcher, MemoryLimiter, MemoryStorage, RegistrationPolicy,
    ScopeSet, Server,
};
use http::header::AUTHORIZATION;
use http::{Method, Request, Response, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use jwt_simple::prelude::{ES256KeyPair, Ed25519KeyPair};
use serde_json::{Value, json};

const TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// A client registered for `private_key_jwt` with an inline JWK Set.
const PKJ: &str = "pkj";
/// A client registered for `private_key_jwt` with a `jwks_uri`.
const URI_CLIENT: &str = "pkj-uri";
const JWKS_URI: &str = "https://client.example/jwks.json";
/// A client registered for `client_secret_jwt`.
const CSJ: &str = "csj";
const CSJ_SECRET: &str = "csj-secret-of-at-least-thirty-two-bytes";
const TOKEN_URL: &str = "https://auth.example.com/token";
const FAILED: &str = "client authentication failed";

/// A key pair: the private key for jsonwebtoken, the public JWK (with its `kid`).
struct Key {
    private: EncodingKey,
    alg: Algorithm,
    jwk: Value,
}

fn es256(kid: &str) -> Key {
    let pair = ES256KeyPair::generate();
    let mut jwk: Value = serde_json::from_str(&pair.public_key().to_jwk()).unwrap();
    jwk["kid"] = json!(kid);
    Key {
        private: EncodingKey::from_ec_pem(pair.to_pem().unwrap().as_bytes()).unwrap(),
        alg: Algorithm::ES256,
        jwk,
    }
}

fn eddsa(kid: &str) -> Key {
    let pair = Ed25519KeyPair::generate();
    let mut jwk: Value = serde_json::from_str(&pair.public_key().to_jwk()).unwrap();
    jwk["kid"] = json!(kid);
    Key {
        private: EncodingKey::from_ed_pem(pair.to_pem().as_bytes()).unwrap(),
        alg: Algorithm::EdDSA,
        jwk,
    }
}

fn jwks(keys: &[&Key]) -> String {
    json!({ "keys": keys.iter().map(|key| key.jwk.clone()).collect::<Vec<_>>() }).to_string()
}

/// Claims of a valid assertion by `id` for `aud`, with a fresh `jti`.
fn claims(id: &str, aud: &str) -> Value {
    let jti = URL_SAFE_NO_PAD.encode(rand_bytes());
    json!({
        "iss": id, "sub": id, "aud": aud, "jti": jti,
        "iat": START, "exp": START + 60,
    })
}

fn rand_bytes() -> [u8; 16] {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&(n as u64).to_be_bytes());
    bytes
}

/// `claims` signed by `key`, with its `kid` in the header.
fn sign(key: &Key, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = key.jwk["kid"].as_str().map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key.private).unwrap()
}

fn hs256(secret: &str, claims: &Value) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).unwrap()
}

/// A form request to `path` authenticated by `assertion`, with more `pairs`.
fn asserted(path: &str, assertion: &str, pairs: &[(&str, &str)]) -> Request<Vec<u8>> {
    let mut all = vec![
        ("client_assertion_type", TYPE),
        ("client_assertion", assertion),
    ];
    all.extend_from_slice(pairs);
    post_form(path, form_body(&all))
}

fn client_credentials(assertion: &str) -> Request<Vec<u8>> {
    asserted("/token", assertion, &[("grant_type", "client_credentials")])
}

/// Holds each `client_secret_jwt` client's secret in clear, as a host's key store would.
struct SecretKeys(HashMap<String, String>);

impl ClientSecretKeys for SecretKeys {
    fn secret_key<'a>(
        &'a self,
        client: &'a ClientId,
    ) -> BoxFuture<'a, Result<Option<ClientSecret>, Error>> {
        let secret = self.0.get(client.as_str()).map(ClientSecret::new);
        Box::pin(std::future::ready(Ok(secret)))
    }
}

/// Serves one JWK Set, which the test replaces, and counts the fetches.
#[derive(Clone, Default)]
struct Fetcher {
    set: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
}

impl JwksFetcher for Fetcher {
    fn fetch<'a>(&'a self, uri: &'a str) -> BoxFuture<'a, Result<String, Error>> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let set = self.set.lock().unwrap().clone();
        let found = (uri == JWKS_URI).then_some(set);
        Box::pin(std::future::ready(
            found.ok_or_else(|| Error::config("no such JWK Set")),
        ))
    }
}

struct Setup {
    fx: Fixture,
    storage: MemoryStorage,
    key: Key,
    fetcher: Fetcher,
}

/// A server that accepts assertions (ES256 and EdDSA only), with the device grant, a
/// `private_key_jwt` client of each kind and a `client_secret_jwt` client.
async fn setup(configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> Setup {
    let storage = MemoryStorage::new();
    let fetcher = Fetcher::default();
    let secrets = SecretKeys(HashMap::from([(CSJ.to_owned(), CSJ_SECRET.to_owned())]));
    let assertions = ClientAssertions::new(storage.clone())
        .algorithms([SigningAlgorithm::Es256, SigningAlgorithm::EdDsa])
        .jwks_fetcher(fetcher.clone())
        .client_secret_keys(secrets);
    let fx = Fixture::with_server(
        storage.clone(),
        |c| configure(c.client_assertions(assertions)),
        |b| b.grant(DeviceCodeGrant),
    )
    .await;
    let key = es256("k1");
    let grants = [GrantType::ClientCredentials, DeviceCodeGrant::grant_type()];
    let clients = [
        Client::public(PKJ)
            .token_endpoint_auth_method(AuthMethod::PrivateKeyJwt)
            .jwks(&jwks(&[&es256("other"), &key])),
        Client::public(URI_CLIENT)
            .token_endpoint_auth_method(AuthMethod::PrivateKeyJwt)
            .jwks_uri(JWKS_URI),
        Client::public(CSJ).token_endpoint_auth_method(AuthMethod::ClientSecretJwt),
    ];
    for client in clients {
        let client = client
            .grant_types(grants.clone())
            .allowed_scopes("read")
            .default_scopes("read")
            .build()
            .unwrap();
        fx.server.register_client(client).await.unwrap();
    }
    Setup {
        fx,
        storage,
        key,
        fetcher,
    }
}

/// `invalid_client` for credentials sent in the body: 400 without a challenge (C-TK-3), with
/// the one description that does not say which check failed (C-CA-1).
impl Setup {
    /// A client-credentials request authenticated by `assertion`, at the token endpoint.
    async fn token(&self, assertion: &str) -> Response<Vec<u8>> {
        self.fx.server.token(&client_credentials(assertion)).await
    }

    /// Checks that the token endpoint refuses `assertion` (see [`assert_refused`]).
    async fn refuses(&self, assertion: &str, why: &str) {
        assert_refused(&self.token(assertion).await, why);
    }
}

/// [`setup`] without the limiter, so that the failures of one test do not add up.
async fn unlimited() -> Setup {
    setup(|c| c.without_limiter()).await
}

fn assert_refused(response: &Response<Vec<u8>>, why: &str) {
    let body = json(response);
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{why}: {body}");
    assert!(
        response.headers().get("www-authenticate").is_none(),
        "{why}"
    );
    assert_eq!(body["error"], "invalid_client", "{why}");
    assert_eq!(
        body["error_description"], FAILED,
        "{why}: says which check failed"
    );
}

// C-CA-1: a private_key_jwt assertion authenticates the client at the token endpoint (client
// credentials), the introspection, revocation and device authorization endpoints, with `aud`
// the endpoint's URL or the issuer; the revoked token is inactive afterwards.
#[tokio::test]
async fn private_key_jwt_works_at_every_endpoint() {
    let s = unlimited().await;
    let response = s.token(&sign(&s.key, &claims(PKJ, TOKEN_URL))).await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", json(&response));
    let token = json(&response)["access_token"].as_str().unwrap().to_owned();

    let introspect = |aud: &str| {
        asserted(
            "/introspect",
            &sign(&s.key, &claims(PKJ, aud)),
            &[("token", &token)],
        )
    };
    let response = s.fx.server.introspect(&introspect(ISSUER)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(&response)["active"], true);
    assert_eq!(json(&response)["client_id"], PKJ);

    let revoke = asserted(
        "/revoke",
        &sign(&s.key, &claims(PKJ, &format!("{ISSUER}/revoke"))),
        &[("token", &token)],
    );
    assert_eq!(s.fx.server.revoke(&revoke).await.status(), StatusCode::OK);
    let response =
        s.fx.server
            .introspect(&introspect(&format!("{ISSUER}/introspect")))
            .await;
    assert_eq!(json(&response)["active"], false, "the token was revoked");

    let device = asserted(
        "/device_authorization",
        &sign(
            &s.key,
            &claims(PKJ, &format!("{ISSUER}/device_authorization")),
        ),
        &[("scope", "read")],
    );
    let response = s.fx.server.device_authorization(&device).await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", json(&response));
    assert!(json(&response)["device_code"].is_string());

    // An assertion for one endpoint is not accepted at another.
    let for_revocation = sign(&s.key, &claims(PKJ, &format!("{ISSUER}/revoke")));
    s.refuses(&for_revocation, "aud names another endpoint")
        .await;
}

// C-CA-1: each check on its own makes the assertion fail with the same invalid_client.
#[tokio::test]
async fn every_failed_check_is_the_same_invalid_client() {
    let s = unlimited().await;
    let key = &s.key;
    let with = |changes: Value| {
        let mut claims = claims(PKJ, TOKEN_URL);
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        claims
    };
    let unregistered = es256("k1");
    let not_allowed = {
        // A PS256 key would need a 2048-bit RSA key; an allowed key type with a refused
        // algorithm is the point: the server accepts only ES256 and EdDSA here, and RS256 is
        // refused even by name.
        let mut header = Header::new(Algorithm::HS384);
        header.kid = Some("k1".into());
        let key = EncodingKey::from_secret(b"a-secret-of-enough-length-for-hs384-tests!").unwrap();
        jsonwebtoken::encode(&header, &claims(PKJ, TOKEN_URL), &key).unwrap()
    };
    let none = {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"k1"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims(PKJ, TOKEN_URL).to_string());
        format!("{header}.{body}.")
    };
    let cases = [
        (
            "wrong aud",
            sign(key, &with(json!({"aud": "https://other.example/token"}))),
        ),
        (
            "aud array without us",
            sign(key, &with(json!({"aud": ["https://other.example"]}))),
        ),
        ("expired", sign(key, &with(json!({"exp": START - 60})))),
        (
            "exp too far",
            sign(key, &with(json!({"exp": START + 3600}))),
        ),
        ("no exp", sign(key, &with(json!({"exp": null})))),
        ("no jti", sign(key, &with(json!({"jti": null})))),
        (
            "iat in the future",
            sign(key, &with(json!({"iat": START + 600}))),
        ),
        (
            "nbf in the future",
            sign(key, &with(json!({"nbf": START + 600}))),
        ),
        ("wrong iss", sign(key, &with(json!({"iss": SVC})))),
        (
            "sub of another client",
            sign(key, &with(json!({"sub": URI_CLIENT}))),
        ),
        (
            "key not registered",
            sign(&unregistered, &claims(PKJ, TOKEN_URL)),
        ),
        ("alg not allowed (HS384)", not_allowed),
        ("alg none", none),
        (
            "HS256 for private_key_jwt",
            hs256(CSJ_SECRET, &claims(PKJ, TOKEN_URL)),
        ),
        ("malformed", "not.a-jwt".to_owned()),
        ("unknown client", sign(key, &claims("nobody", TOKEN_URL))),
    ];
    for (why, assertion) in cases {
        s.refuses(&assertion, why).await;
    }
    // An algorithm grantor knows but this server does not accept: EdDSA is accepted, so
    // configure a server with ES256 only.
    let eddsa_key = eddsa("ed");
    let storage = MemoryStorage::new();
    let only_es256 = ClientAssertions::new(storage.clone()).algorithms([SigningAlgorithm::Es256]);
    let fx = Fixture::with_storage(storage, |c| c.client_assertions(only_es256)).await;
    let client = Client::public("ed")
        .token_endpoint_auth_method(AuthMethod::PrivateKeyJwt)
        .jwks(&jwks(&[&eddsa_key]))
        .grant_types([GrantType::ClientCredentials])
        .build()
        .unwrap();
    fx.server.register_client(client).await.unwrap();
    let response = fx
        .server
        .token(&client_credentials(&sign(
            &eddsa_key,
            &claims("ed", TOKEN_URL),
        )))
        .await;
    assert_refused(&response, "EdDSA not in the allow-list");
    // The valid assertion still works after all those failures.
    let response = s.token(&sign(key, &claims(PKJ, TOKEN_URL))).await;
    assert_eq!(response.status(), StatusCode::OK);
}

// C-CA-1: a `jti` is single-use, also across two servers that share one storage (a fleet).
#[tokio::test]
async fn a_replayed_assertion_is_refused_across_instances() {
    let s = unlimited().await;
    let assertion = sign(&s.key, &claims(PKJ, TOKEN_URL));
    let first = s.token(&assertion).await;
    assert_eq!(first.status(), StatusCode::OK);
    s.refuses(&assertion, "replayed").await;

    let replayed_elsewhere = sign(&s.key, &claims(PKJ, TOKEN_URL));
    let other = Server::builder(s.fx.server.config().clone(), s.storage.clone()).build();
    let on_other = other.token(&client_credentials(&replayed_elsewhere)).await;
    assert_eq!(on_other.status(), StatusCode::OK);
    s.refuses(&replayed_elsewhere, "replayed to another instance")
        .await;
}

// C-CA-1, C-TK-2: one method per request; a `client_id` must be the assertion's subject.
#[tokio::test]
async fn assertions_do_not_mix_with_other_methods() {
    let s = unlimited().await;
    let assertion = sign(&s.key, &claims(PKJ, TOKEN_URL));
    let mut with_basic = client_credentials(&assertion);
    with_basic
        .headers_mut()
        .insert(AUTHORIZATION, basic(PKJ, "x").parse().unwrap());
    let with_secret = asserted(
        "/token",
        &assertion,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", PKJ),
            ("client_secret", "x"),
        ],
    );
    let without_type = post_form(
        "/token",
        form_body(&[
            ("grant_type", "client_credentials"),
            ("client_assertion", &assertion),
        ]),
    );
    let other_type = post_form(
        "/token",
        form_body(&[
            ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:example:saml"),
            ("client_assertion", &assertion),
        ]),
    );
    for (why, request) in [
        ("Basic too", with_basic),
        ("client_secret too", with_secret),
        ("no type", without_type),
        ("another type", other_type),
    ] {
        let response = s.fx.server.token(&request).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{why}");
        assert_eq!(json(&response)["error"], "invalid_request", "{why}");
    }
    let other_id = asserted(
        "/token",
        &assertion,
        &[("grant_type", "client_credentials"), ("client_id", SVC)],
    );
    assert_refused(
        &s.fx.server.token(&other_id).await,
        "client_id is not the sub",
    );
    let same_id = asserted(
        "/token",
        &assertion,
        &[("grant_type", "client_credentials"), ("client_id", PKJ)],
    );
    assert_eq!(s.fx.server.token(&same_id).await.status(), StatusCode::OK);
}

// C-CA-1: a client registered for one method is refused when it uses another, even with the
// right credentials for that other method.
#[tokio::test]
async fn a_client_uses_only_its_registered_method() {
    let s = unlimited().await;
    let secret = "secret-of-a-key-client-long-enough";
    let key = es256("k");
    for (id, method) in [
        ("keyed", AuthMethod::PrivateKeyJwt),
        ("posting", AuthMethod::ClientSecretPost),
    ] {
        let client = Client::confidential(id, &ClientSecret::new(secret))
            .token_endpoint_auth_method(method)
            .jwks(&jwks(&[&key]))
            .grant_types([GrantType::ClientCredentials])
            .allowed_scopes("read")
            .default_scopes("read")
            .build()
            .unwrap();
        s.fx.server.register_client(client).await.unwrap();
    }
    let pairs = [("grant_type", "client_credentials")];
    let response =
        s.fx.server
            .token(&basic_token_request("keyed", secret, &pairs))
            .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(&response)["error"], "invalid_client");
    let response =
        s.fx.server
            .token(&basic_token_request("posting", secret, &pairs))
            .await;
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "Basic for a post client"
    );
    let assertion = sign(&key, &claims("posting", TOKEN_URL));
    s.refuses(&assertion, "an assertion from a post client")
        .await;
    let post = token_request(&[
        ("grant_type", "client_credentials"),
        ("client_id", "posting"),
        ("client_secret", secret),
    ]);
    assert_eq!(s.fx.server.token(&post).await.status(), StatusCode::OK);
    // A client with no registered method keeps today's behaviour: Basic or post.
    let response =
        s.fx.server
            .token(&basic_token_request(SVC, SVC_SECRET, &pairs))
            .await;
    assert_ne!(response.status(), StatusCode::UNAUTHORIZED);
    // And a private_key_jwt client is not a public one: its id alone is refused.
    let id_only = token_request(&[("grant_type", "client_credentials"), ("client_id", PKJ)]);
    assert_refused(&s.fx.server.token(&id_only).await, "id alone");
}

// C-CA-1: client_secret_jwt, with the secret from the host's key store: an HS256 MAC with it
// is accepted, with another secret or an asymmetric key it is not.
#[tokio::test]
async fn client_secret_jwt_with_the_hosts_secret() {
    let s = unlimited().await;
    let response = s.token(&hs256(CSJ_SECRET, &claims(CSJ, TOKEN_URL))).await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", json(&response));
    let wrong = hs256(
        "another-secret-of-thirty-two-bytes!!",
        &claims(CSJ, TOKEN_URL),
    );
    s.refuses(&wrong, "wrong secret").await;
    let signed = sign(&s.key, &claims(CSJ, TOKEN_URL));
    s.refuses(&signed, "ES256").await;
}

// C-CA-1: keys from a jwks_uri come through the host's fetcher, are cached, and are fetched
// again once when an assertion names an unknown `kid` (a rotated key) or the cache is stale.
#[tokio::test]
async fn jwks_uri_keys_are_fetched_cached_and_refetched_for_a_new_kid() {
    let s = unlimited().await;
    let (k1, k2, k3) = (es256("k1"), es256("k2"), es256("k3"));
    *s.fetcher.set.lock().unwrap() = jwks(&[&k1]);
    let fetches = || s.fetcher.fetches.load(Ordering::SeqCst);
    let server = &s.fx.server;
    let attempt = |key: &Key| {
        let request = client_credentials(&sign(key, &claims(URI_CLIENT, TOKEN_URL)));
        async move { server.token(&request).await }
    };
    assert_eq!(attempt(&k1).await.status(), StatusCode::OK);
    assert_eq!(fetches(), 1);
    assert_eq!(attempt(&k1).await.status(), StatusCode::OK);
    assert_eq!(fetches(), 1, "cached");

    // The client rotates to k2: the first assertion with k2's kid fetches the set again.
    *s.fetcher.set.lock().unwrap() = jwks(&[&k2]);
    assert_eq!(attempt(&k2).await.status(), StatusCode::OK);
    assert_eq!(fetches(), 2);
    assert_eq!(attempt(&k2).await.status(), StatusCode::OK);
    assert_eq!(fetches(), 2);
    // A kid the set does not have: one fetch, then refused.
    assert_refused(&attempt(&k3).await, "unknown kid");
    assert_eq!(fetches(), 3);
    // A stale cache is fetched again.
    s.fx.advance(301);
    let mut late = claims(URI_CLIENT, TOKEN_URL);
    late["iat"] = json!(START + 301);
    late["exp"] = json!(START + 361);
    let response = s.token(&sign(&k2, &late)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(fetches(), 4);
}

// C-OB-3, C-CA-1: failed assertions count against the client like failed secrets; once the
// limit is reached, even a valid assertion is refused, saying why.
#[tokio::test]
async fn failed_assertions_are_limited() {
    let s = setup(|c| c.limiter(MemoryLimiter::new(2, Duration::from_secs(60)))).await;
    let wrong = sign(&es256("k1"), &claims(PKJ, TOKEN_URL));
    for _ in 0..2 {
        s.refuses(&wrong, "wrong key").await;
    }
    let valid = sign(&s.key, &claims(PKJ, TOKEN_URL));
    let response = s.token(&valid).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(&response)["error"], "invalid_client");
    assert_eq!(
        json(&response)["error_description"],
        "too many failed attempts, try again later"
    );
}

// C-CA-1, RFC 8414 §2: the metadata lists the assertion methods and their algorithms only when
// the server accepts them.
#[tokio::test]
async fn metadata_lists_the_methods_and_algorithms() {
    let s = setup(|c| c).await;
    let metadata = s.fx.server.metadata();
    for field in [
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_methods_supported",
    ] {
        assert_eq!(
            metadata[field],
            json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "client_secret_jwt",
                "none"
            ]),
            "{field}"
        );
    }
    assert_eq!(
        metadata["token_endpoint_auth_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "HS256"])
    );
    let plain = Fixture::new().await.server.metadata();
    assert_eq!(
        plain["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert!(plain["token_endpoint_auth_signing_alg_values_supported"].is_null());
}

// C-CA-1, C-DR-1: a client registers for private_key_jwt with its public keys, gets no secret,
// and authenticates with an assertion; the keys' rules are checked.
#[tokio::test]
async fn registration_of_private_key_jwt_clients() {
    let storage = MemoryStorage::new();
    let assertions = ClientAssertions::new(storage.clone());
    let fx = Fixture::with_server(
        storage,
        |c| c.client_assertions(assertions).without_limiter(),
        |b| {
            let read = ScopeSet::parse("read").unwrap();
            b.registration(RegistrationPolicy::open().app_clients(true).scopes(read))
        },
    )
    .await;
    let key = es256("reg");
    let register = |body: Value| {
        let request = json_request(Method::POST, "/register", &body);
        let server = &fx.server;
        async move { server.register(&request).await }
    };
    let response = register(json!({
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": serde_json::from_str::<Value>(&jwks(&[&key])).unwrap(),
        "token_endpoint_auth_signing_alg": "ES256",
        "grant_types": ["client_credentials"],
        "scope": "read",
    }))
    .await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        json(&response)
    );
    let registered = json(&response);
    assert!(
        registered.get("client_secret").is_none(),
        "no secret for a key client"
    );
    assert_eq!(registered["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(registered["jwks"]["keys"][0]["kid"], "reg");
    let id = registered["client_id"].as_str().unwrap();
    let stored = fx.storage().client(id).await.unwrap().unwrap();
    assert_eq!(
        stored.token_endpoint_auth_method(),
        Some(AuthMethod::PrivateKeyJwt)
    );
    assert!(stored.secret_digest().is_none() && stored.is_confidential());
    let response = fx
        .server
        .token(&client_credentials(&sign(&key, &claims(id, TOKEN_URL))))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", json(&response));

    let private = ES256KeyPair::generate().to_jwk();
    let public_set = serde_json::from_str::<Value>(&jwks(&[&key])).unwrap();
    for (why, body) in [
        (
            "no keys",
            json!({"token_endpoint_auth_method": "private_key_jwt"}),
        ),
        (
            "jwks and jwks_uri",
            json!({
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": public_set,
                "jwks_uri": "https://client.example/jwks",
            }),
        ),
        (
            "private key",
            json!({
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [serde_json::from_str::<Value>(&private).unwrap()]},
            }),
        ),
        (
            "not a JWK Set",
            json!({"token_endpoint_auth_method": "private_key_jwt", "jwks": ["x"]}),
        ),
        (
            "http jwks_uri",
            json!({
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks_uri": "http://client.example/jwks",
            }),
        ),
        (
            "client_secret_jwt",
            json!({"token_endpoint_auth_method": "client_secret_jwt"}),
        ),
        (
            "unsupported alg",
            json!({
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": public_set,
                "token_endpoint_auth_signing_alg": "HS256",
            }),
        ),
    ] {
        let mut body = body;
        body["grant_types"] = json!(["client_credentials"]);
        let response = register(body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{why}");
        assert_eq!(json(&response)["error"], "invalid_client_metadata", "{why}");
    }
    // Without client assertions on the server, private_key_jwt is not registrable.
    let closed = Fixture::with_server(
        MemoryStorage::new(),
        |c| c,
        |b| b.registration(RegistrationPolicy::open()),
    )
    .await;
    let request = json_request(
        Method::POST,
        "/register",
        &json!({
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": public_set,
            "redirect_uris": [APP_REDIRECT],
        }),
    );
    let response = closed.server.register(&request).await;
    assert_eq!(json(&response)["error"], "invalid_client_metadata");
}

// C-CA-1: the client builder enforces the same rules as registration.
#[test]
fn the_client_builder_checks_keys_and_methods() {
    let key = es256("b");
    let private = ES256KeyPair::generate().to_jwk();
    let base = |id: &str| Client::public(id).grant_types([GrantType::ClientCredentials]);
    assert!(
        base("a")
            .token_endpoint_auth_method(AuthMethod::PrivateKeyJwt)
            .build()
            .is_err()
    );
    assert!(
        base("a")
            .token_endpoint_auth_method(AuthMethod::PrivateKeyJwt)
            .jwks(&format!("{{\"keys\":[{private}]}}"))
            .build()
            .is_err()
    );
    assert!(
        base("a")
            .token_endpoint_auth_method(AuthMethod::PrivateKeyJwt)
            .jwks(&jwks(&[&key]))
            .jwks_uri(JWKS_URI)
            .build()
            .is_err()
    );
    assert!(
        base("a")
            .token_endpoint_auth_method(AuthMethod::ClientSecretBasic)
            .build()
            .is_err(),
        "a secret method without a secret"
    );
    assert!(
        base("a").build().is_err(),
        "client credentials for a public client"
    );
    let client = base("a")
        .token_endpoint_auth_method(AuthMethod::PrivateKeyJwt)
        .jwks(&jwks(&[&key]))
        .build()
        .unwrap();
    assert!(client.is_confidential());
    assert!(client.accepts_auth_method(AuthMethod::PrivateKeyJwt));
    assert!(!client.accepts_auth_method(AuthMethod::ClientSecretBasic));
}
