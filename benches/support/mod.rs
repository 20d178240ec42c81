//! What the bench targets share: driving grantor's futures without a runtime, and a grantor
//! server with the clients every bench uses.
#![allow(dead_code)]

pub mod oxide;

use std::future::Future;
use std::pin::pin;
use std::sync::LazyLock;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use grantor::oidc::{KeyRing, NoClaims, OpenIdProvider, RotationPolicy, SigningAlgorithm};
use grantor::{
    Client, ClientSecret, Clock, CodeChallenge, Config, GrantType, ManualClock, MemoryStorage,
    OwnerId, ScopeSet, Server, Timestamp,
};
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, LOCATION};
use http::{Method, Request, Response, Uri};

/// The confidential client (client credentials, HTTP Basic).
pub const SVC: &str = "svc";
/// Its secret.
pub const SVC_SECRET: &str = "svc-secret-0123456789-abcdefghijklmnopqrstuvw";
/// The public client (code flow with PKCE, refresh).
pub const APP: &str = "app";
/// Its redirect URI.
pub const APP_REDIRECT: &str = "https://app.example/cb";
/// The owner who approves.
pub const OWNER: &str = "alice";
/// The PKCE verifier (RFC 7636 appendix B) and its S256 challenge.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// Where the manual clock starts.
pub const START: u64 = 1_700_000_000;

/// Runs a future that never waits (grantor over `MemoryStorage`) to completion, without a runtime,
/// so that the benches time the library and not an executor.
pub fn run<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// A grantor server on a manual clock with the two clients registered.
pub fn grantor_server() -> (Server<MemoryStorage>, ManualClock) {
    let clock = ManualClock::new(Timestamp::from_secs(START));
    let config = Config::builder("https://auth.example.com")
        .clock(clock.clone())
        .refresh_token_lifetime(Duration::from_secs(3 * 3600))
        .build()
        .expect("valid config");
    let server = Server::new(config, MemoryStorage::new());
    let svc = Client::confidential(SVC, &ClientSecret::new(SVC_SECRET))
        .grant_types([GrantType::ClientCredentials])
        .allowed_scopes("read write")
        .default_scopes("read")
        .build()
        .expect("valid client");
    let app = Client::public(APP)
        .redirect_uri(APP_REDIRECT)
        .allowed_scopes("read write")
        .default_scopes("read")
        .build()
        .expect("valid client");
    run(server.register_client(svc)).expect("registered");
    run(server.register_client(app)).expect("registered");
    (server, clock)
}

/// An OpenID Provider like [`grantor_server`]'s, whose public client signs its ID tokens with
/// `alg` (its key generated before the bench starts).
pub fn grantor_openid_server(alg: SigningAlgorithm) -> (Server<MemoryStorage>, ManualClock) {
    let clock = ManualClock::new(Timestamp::from_secs(START));
    let config = Config::builder("https://auth.example.com")
        .clock(clock.clone())
        .refresh_token_lifetime(Duration::from_secs(3 * 3600))
        .build()
        .expect("valid config");
    let storage = MemoryStorage::new();
    let policy = RotationPolicy::new().algorithms([SigningAlgorithm::Rs256, alg]);
    let keys = KeyRing::new(storage.clone(), policy).expect("valid policy");
    run(keys.maintain(clock.now())).expect("keys generated");
    let provider = OpenIdProvider::builder(keys, NoClaims)
        .build()
        .expect("valid provider");
    let server = Server::builder(config, storage).openid(provider).build();
    let app = Client::public(APP)
        .redirect_uri(APP_REDIRECT)
        .allowed_scopes("openid read")
        .id_token_signed_response_alg(alg.as_str())
        .build()
        .expect("valid client");
    run(server.register_client(app)).expect("registered");
    (server, clock)
}

/// Moves the clock past every code's and access token's lifetime and past the refresh tokens
/// issued before the previous move, so the automatic sweep reclaims what a bench issued. A
/// refresh token issued since the previous move (3 h lifetime) stays live.
pub fn expire(clock: &ManualClock) {
    clock.advance(Duration::from_secs(2 * 3600));
}

/// `POST /token` with a form body and optional `Authorization` header, built the way an HTTP
/// server hands a request over (no builder checks: the values are known to be valid).
pub fn token_request(body: String, authorization: Option<&str>) -> Request<Vec<u8>> {
    let mut request = Request::new(body.into_bytes());
    *request.method_mut() = Method::POST;
    static TOKEN: LazyLock<Uri> = LazyLock::new(|| Uri::from_static("/token"));
    *request.uri_mut() = TOKEN.clone();
    let headers = request.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    if let Some(value) = authorization {
        headers.insert(AUTHORIZATION, value.parse().expect("valid header"));
    }
    request
}

/// The HTTP Basic header of the confidential client.
pub fn svc_basic() -> String {
    format!("Basic {}", STANDARD.encode(format!("{SVC}:{SVC_SECRET}")))
}

/// The client credentials request.
pub fn client_credentials_request() -> Request<Vec<u8>> {
    token_request(
        "grant_type=client_credentials&scope=read".to_owned(),
        Some(&svc_basic()),
    )
}

/// The authorization request of the public client, with its PKCE challenge.
/// The OpenID authorization request of the public client: scope `openid read`, a nonce.
pub fn openid_authorization_request() -> Request<Vec<u8>> {
    let uri = format!(
        "/authorize?response_type=code&client_id={APP}&redirect_uri={}&scope=openid%20read&state=xyz&nonce=n-0S6_WzA2Mj&code_challenge={}&code_challenge_method=S256",
        urlencode(APP_REDIRECT),
        CodeChallenge::s256(VERIFIER).value()
    );
    Request::get(uri).body(Vec::new()).expect("valid request")
}

pub fn authorization_request() -> Request<Vec<u8>> {
    let uri = format!(
        "/authorize?response_type=code&client_id={APP}&redirect_uri={}&scope=read&state=xyz&code_challenge={}&code_challenge_method=S256",
        urlencode(APP_REDIRECT),
        CodeChallenge::s256(VERIFIER).value()
    );
    Request::get(uri).body(Vec::new()).expect("valid request")
}

/// Appends `name=value` to a form body, percent-encoding the value (a client's work, the same
/// for both libraries).
fn push_param(body: &mut String, name: &str, value: &str) {
    if !body.is_empty() {
        body.push('&');
    }
    body.push_str(name);
    body.push('=');
    let plain = value.bytes().fold(true, |ok, b| {
        ok & (b.is_ascii_alphanumeric() | matches!(b, b'-' | b'.' | b'_' | b'*'))
    });
    if plain {
        body.push_str(value);
    } else {
        body.extend(url::form_urlencoded::byte_serialize(value.as_bytes()));
    }
}

/// The token request that redeems `code`, as read from the redirect (already urlencoded).
/// The rest of the body is the same for every code, so the client encodes it once.
pub fn code_token_request(code: &str) -> Request<Vec<u8>> {
    static REST: LazyLock<String> = LazyLock::new(|| {
        let mut rest = String::new();
        push_param(&mut rest, "redirect_uri", APP_REDIRECT);
        push_param(&mut rest, "client_id", APP);
        push_param(&mut rest, "code_verifier", VERIFIER);
        rest
    });
    let mut body = String::with_capacity(64 + REST.len());
    body.push_str("grant_type=authorization_code&code=");
    body.push_str(code);
    body.push('&');
    body.push_str(&REST);
    token_request(body, None)
}

/// The refresh request of the public client.
pub fn refresh_request(refresh_token: &str) -> Request<Vec<u8>> {
    let mut body = String::with_capacity(128);
    push_param(&mut body, "grant_type", "refresh_token");
    push_param(&mut body, "refresh_token", refresh_token);
    push_param(&mut body, "client_id", APP);
    token_request(body, None)
}

/// A protected request carrying `token`.
pub fn protected_request(token: &str) -> Request<Vec<u8>> {
    Request::get("/api/me")
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .body(Vec::new())
        .expect("valid request")
}

/// Percent-encodes the characters of a URL that a query value may not hold.
pub fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The value of `name` in a redirect's `Location` query, as a client reads it.
pub fn location_param(response: &Response<Vec<u8>>, name: &str) -> String {
    let location = response.headers()[LOCATION]
        .to_str()
        .expect("ASCII location");
    query_param(location, name)
}

/// The value of `name` in a URL's query (values here need no decoding).
pub fn query_param(url: &str, name: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        .expect("parameter present")
        .to_owned()
}

/// A string field of a flat JSON token response, as a client reads it (values here are
/// base64url, so they need no unescaping).
pub fn json_field(body: &[u8], name: &str) -> String {
    // Between quotes: ..., name, `:`, value, ...
    let mut parts = body.split(|&b| b == b'"');
    while let Some(part) = parts.next() {
        if part == name.as_bytes() && parts.next() == Some(b":") {
            let value = parts.next().expect("a string value");
            return String::from_utf8(value.to_vec()).expect("UTF-8 value");
        }
    }
    panic!("no {name} in {}", String::from_utf8_lossy(body))
}

/// A code flow on grantor: authorize, approve, redeem. Returns the token response.
pub fn grantor_code_flow(
    server: &Server<MemoryStorage>,
    authorize: &Request<Vec<u8>>,
) -> Response<Vec<u8>> {
    let pending = run(server.authorize(authorize)).expect("valid authorization request");
    let scope = pending.scope().clone();
    let redirect = run(server.approve(pending, &OwnerId::new(OWNER), &scope)).expect("approved");
    let code = location_param(&redirect, "code");
    run(server.token(&code_token_request(&code)))
}

/// The granted scope the benches ask for.
pub fn read_scope() -> ScopeSet {
    ScopeSet::parse("read").expect("valid scope")
}
