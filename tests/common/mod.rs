//! Shared fixtures for the black-box tests: a server on a manual clock with a few registered
//! clients, and helpers to build raw requests and read responses.
#![allow(dead_code)]

#[cfg(feature = "jose")]
pub mod jose;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use grantor::{
    Authenticator, Client, ClientSecret, CodeChallenge, Config, ConfigBuilder, Error, GrantType,
    ManualClock, MemoryStorage, OwnerId, Password, ScopeSet, Server, ServerBuilder, Storage,
    Timestamp,
};
use http::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION};
use http::{Request, Response};

pub const ISSUER: &str = "https://auth.example.com";
pub const APP: &str = "app";
pub const APP_REDIRECT: &str = "https://app.example/cb";
pub const SVC: &str = "svc";
pub const SVC_SECRET: &str = "svc-secret-with-enough-entropy-for-a-test";
pub const SVC_REDIRECT: &str = "https://svc.example/cb?tenant=7";
pub const MULTI: &str = "multi";
pub const SPA: &str = "spa";
pub const SPA_REDIRECT: &str = "https://spa.example/cb";
pub const TRUSTED: &str = "trusted";
pub const TRUSTED_SECRET: &str = "trusted-secret-with-enough-entropy";
pub const WORKER: &str = "worker";
pub const WORKER_SECRET: &str = "worker-secret-with-enough-entropy";
pub const OWNED: &str = "owned";
pub const OWNED_REDIRECT: &str = "https://owned.example/cb";
/// The users the test authenticator knows: (username, password, owner id).
pub const USERS: [(&str, &str, &str); 2] = [
    ("alice", "wonderland", "user-alice"),
    ("olivia", "owner-pass", "user-olivia"),
];
/// A username whose check fails inside the authenticator (its database is "down").
pub const BROKEN_USER: &str = "broken";

/// The test user store.
#[derive(Debug, Default)]
pub struct Users;

impl Authenticator for Users {
    async fn authenticate(
        &self,
        username: &str,
        password: Password<'_>,
    ) -> Result<Option<OwnerId>, Error> {
        if username == BROKEN_USER {
            return Err(Error::authenticator("user database unreachable"));
        }
        Ok(USERS
            .iter()
            .find(|(u, p, _)| *u == username && *p == password.secret())
            .map(|(_, _, id)| OwnerId::new(id)))
    }
}
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const START: u64 = 1_700_000_000;

pub struct Fixture<S = MemoryStorage> {
    pub server: Server<S>,
    pub clock: ManualClock,
}

impl Fixture {
    pub async fn new() -> Self {
        Self::with(|c| c).await
    }

    pub async fn with(configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> Self {
        Self::with_storage(MemoryStorage::new(), configure).await
    }
}

impl<S: Storage> Fixture<S> {
    /// A server over `storage` on a manual clock at [`START`], with [`clients`] registered.
    pub async fn with_storage(
        storage: S,
        configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
    ) -> Self {
        Self::with_server(storage, configure, |server| server).await
    }

    /// As [`with_storage`](Self::with_storage), with the server's builder configured too
    /// (grants, access-token formats); the password grant checks [`Users`].
    pub async fn with_server(
        storage: S,
        configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
        assemble: impl FnOnce(ServerBuilder<S>) -> ServerBuilder<S>,
    ) -> Self {
        let clock = ManualClock::new(Timestamp::from_secs(START));
        let config = configure(Config::builder(ISSUER).clock(clock.clone()))
            .build()
            .unwrap();
        let server = assemble(Server::builder(config, storage).authenticator(Users)).build();
        for client in clients() {
            server.register_client(client).await.unwrap();
        }
        Self { server, clock }
    }

    pub fn storage(&self) -> &S {
        self.server.storage()
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// Runs the authorization step for `query` and approves it for `owner` with `granted`.
    pub async fn approve(&self, query: &str, owner: &str, granted: &str) -> Response<Vec<u8>> {
        let pending = self
            .server
            .authorize(&get(&format!("/authorize?{query}")))
            .await
            .expect("authorization request is valid");
        self.server
            .approve(
                pending,
                &OwnerId::new(owner),
                &ScopeSet::parse(granted).unwrap(),
            )
            .await
            .unwrap()
    }

    /// A code for the public client `app`, bound to the S256 challenge of [`VERIFIER`].
    pub async fn app_code(&self) -> String {
        let response = self.approve(&app_query(), "alice", "read write").await;
        redirect_params(&response)["code"].clone()
    }

    /// Exchanges a code of `app` with the right verifier.
    pub async fn redeem_app_code(&self, code: &str) -> Response<Vec<u8>> {
        self.server
            .token(&token_request(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("client_id", APP),
                ("code_verifier", VERIFIER),
            ]))
            .await
    }

    /// An access token for `alice` through the code flow of `app`.
    pub async fn app_tokens(&self) -> serde_json::Value {
        let code = self.app_code().await;
        let response = self.redeem_app_code(&code).await;
        assert_eq!(response.status(), 200, "{}", body_text(&response));
        json(&response)
    }
}

pub fn clients() -> Vec<Client> {
    vec![
        Client::public(APP)
            .name("The App")
            .redirect_uri(APP_REDIRECT)
            .allowed_scopes("read write messages")
            .default_scopes("read")
            .build()
            .unwrap(),
        Client::confidential(SVC, &ClientSecret::new(SVC_SECRET))
            .redirect_uri(SVC_REDIRECT)
            .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .allowed_scopes("read write")
            .build()
            .unwrap(),
        Client::public(MULTI)
            .redirect_uri("https://multi.example/one")
            .redirect_uri("https://multi.example/two")
            .allowed_scopes("read")
            .default_scopes("read")
            .build()
            .unwrap(),
        Client::public(SPA)
            .redirect_uri(SPA_REDIRECT)
            .grant_types([GrantType::Implicit])
            .allowed_scopes("read write messages")
            .default_scopes("read")
            .build()
            .unwrap(),
        Client::confidential(TRUSTED, &ClientSecret::new(TRUSTED_SECRET))
            .grant_types([GrantType::Password, GrantType::RefreshToken])
            .allowed_scopes("read write messages")
            .default_scopes("read")
            .build()
            .unwrap(),
        Client::confidential(WORKER, &ClientSecret::new(WORKER_SECRET))
            .grant_types([GrantType::ClientCredentials, GrantType::RefreshToken])
            .allowed_scopes("stats messages")
            .default_scopes("stats")
            .build()
            .unwrap(),
        Client::public(OWNED)
            .redirect_uri(OWNED_REDIRECT)
            .allowed_scopes("read")
            .default_scopes("read")
            .owner(OwnerId::new("user-olivia"))
            .owner_only(true)
            .build()
            .unwrap(),
    ]
}

/// The authorization query of `app` for `read write` with state and an S256 challenge; no
/// `redirect_uri`, so the sole registered one is used and the token request need not repeat it.
pub fn app_query() -> String {
    format!(
        "response_type=code&client_id={APP}&scope=read+write&state=st%20ate&code_challenge={}&code_challenge_method=S256",
        CodeChallenge::s256(VERIFIER).value()
    )
}

pub fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A request with a JSON body (registration and its management).
pub fn json_request(method: http::Method, uri: &str, body: &serde_json::Value) -> Request<Vec<u8>> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(body).unwrap())
        .unwrap()
}

pub fn get(uri: &str) -> Request<Vec<u8>> {
    Request::get(uri).body(Vec::new()).unwrap()
}

pub fn form_body(pairs: &[(&str, &str)]) -> Vec<u8> {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
        .into_bytes()
}

pub fn post_form(uri: &str, body: Vec<u8>) -> Request<Vec<u8>> {
    Request::post(uri)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .unwrap()
}

pub fn token_request(pairs: &[(&str, &str)]) -> Request<Vec<u8>> {
    post_form("/token", form_body(pairs))
}

/// A token request authenticated with HTTP Basic (RFC 6749 §2.3.1 encoding).
pub fn basic_token_request(id: &str, secret: &str, pairs: &[(&str, &str)]) -> Request<Vec<u8>> {
    let mut request = token_request(pairs);
    request
        .headers_mut()
        .insert(AUTHORIZATION, basic(id, secret).parse().unwrap());
    request
}

pub fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

pub fn location(response: &Response<Vec<u8>>) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// The parameters of a redirect, from the fragment if there is one, else the query.
pub fn redirect_params(response: &Response<Vec<u8>>) -> HashMap<String, String> {
    let url = url::Url::parse(&location(response)).unwrap();
    let pairs = match url.fragment() {
        Some(fragment) => url::form_urlencoded::parse(fragment.as_bytes())
            .into_owned()
            .collect::<Vec<_>>(),
        None => url.query_pairs().into_owned().collect(),
    };
    let mut map = HashMap::new();
    for (k, v) in pairs {
        assert!(map.insert(k.clone(), v).is_none(), "{k} appears twice");
    }
    map
}

pub fn json(response: &Response<Vec<u8>>) -> serde_json::Value {
    serde_json::from_slice(response.body())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", body_text(response)))
}

pub fn body_text(response: &Response<Vec<u8>>) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}

/// Asserts a JSON error response with this status and error code.
pub fn assert_error(response: &Response<Vec<u8>>, status: u16, error: &str) {
    assert_eq!(response.status(), status, "{}", body_text(response));
    assert_eq!(json(response)["error"], error, "{}", body_text(response));
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    assert_eq!(response.headers()["content-type"], "application/json");
}

/// A password-grant request of the `trusted` client.
pub fn password_request(
    username: &str,
    password: &str,
    extra: &[(&str, &str)],
) -> Request<Vec<u8>> {
    let mut pairs = vec![
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
    ];
    pairs.extend_from_slice(extra);
    basic_token_request(TRUSTED, TRUSTED_SECRET, &pairs)
}

/// A refresh request of `client` authenticated with Basic (or by id only for public clients).
pub fn refresh_request(
    client: (&str, Option<&str>),
    token: &str,
    extra: &[(&str, &str)],
) -> Request<Vec<u8>> {
    let mut pairs = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    pairs.extend_from_slice(extra);
    match client {
        (id, Some(secret)) => basic_token_request(id, secret, &pairs),
        (id, None) => {
            pairs.push(("client_id", id));
            token_request(&pairs)
        }
    }
}

pub fn bearer(uri: &str, token: &str) -> Request<Vec<u8>> {
    Request::get(uri)
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .body(Vec::new())
        .unwrap()
}

/// A form `POST` to `uri` authenticated with HTTP Basic (revocation, introspection).
pub fn basic_post(uri: &str, id: &str, secret: &str, pairs: &[(&str, &str)]) -> Request<Vec<u8>> {
    let mut request = post_form(uri, form_body(pairs));
    request
        .headers_mut()
        .insert(AUTHORIZATION, basic(id, secret).parse().unwrap());
    request
}

/// Tokens for `bob` through the code flow of the confidential client `svc`.
pub async fn svc_tokens(fx: &Fixture) -> serde_json::Value {
    let query = format!("response_type=code&client_id={SVC}&scope=read&state=s");
    let code = redirect_params(&fx.approve(&query, "bob", "read").await)["code"].clone();
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
    ];
    let response = fx
        .server
        .token(&basic_token_request(SVC, SVC_SECRET, &pairs))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    json(&response)
}

/// The string value of a JSON field.
pub fn text<'a>(value: &'a serde_json::Value, field: &str) -> &'a str {
    value[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string {field} in {value}"))
}

/// Whether storage holds a live access token with this secret.
pub async fn access_is_live<S: Storage>(fx: &Fixture<S>, token: &str) -> bool {
    let digest = grantor::storage::Digest::of(token);
    let found = fx.storage().access_token(&digest, fx.server.now()).await;
    found.unwrap().is_some()
}

/// Whether storage holds a live (unrotated) refresh token with this secret.
pub async fn refresh_is_live<S: Storage>(fx: &Fixture<S>, token: &str) -> bool {
    let digest = grantor::storage::Digest::of(token);
    let found = fx
        .storage()
        .record(grantor::storage::ExchangeKind::REFRESH_TOKEN, &digest)
        .await;
    found
        .unwrap()
        .is_some_and(|record| record.is_live(fx.server.now()))
}

/// Says that a PostgreSQL test was skipped because `GRANTOR_TEST_POSTGRES_URL` is not set, on
/// the terminal itself: written to the process's stderr, which the test harness's output
/// capture (that hides `eprintln!` of passing tests) does not intercept.
pub fn postgres_skipped(test: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: PostgreSQL test, set GRANTOR_TEST_POSTGRES_URL \
         (e.g. postgres://postgres@127.0.0.1:5432/test) to run it"
    );
}
