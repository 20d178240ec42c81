//! Shared fixtures for the black-box tests: a server on a manual clock with a few registered
//! clients, and helpers to build raw requests and read responses.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use grantor::{
    Client, ClientSecret, CodeChallenge, Config, ConfigBuilder, GrantType, ManualClock,
    MemoryStorage, OwnerId, ScopeSet, Server, Storage, Timestamp,
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
        let clock = ManualClock::new(Timestamp::from_secs(START));
        let config = configure(Config::builder(ISSUER).clock(clock.clone()))
            .build()
            .unwrap();
        let server = Server::new(config, storage);
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

pub fn bearer(uri: &str, token: &str) -> Request<Vec<u8>> {
    Request::get(uri)
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .body(Vec::new())
        .unwrap()
}
