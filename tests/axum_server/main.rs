//! The `axum_server` example, driven from the outside: the HTTP-level flows, OAuth and OpenID
//! Connect (ID tokens, UserInfo, discovery, `prompt` and `max_age`, remembered consent, the keys
//! file), and every bad input of its login and consent pages (`flows`), and the OpenID Connect
//! code flow in a real, headless Chromium (`browser`, skipped when Chromium is not installed),
//! `examples/resource_server.rs` checking the example's JWT access tokens (`jwt_api`), and the
//! device authorization grant through `/device_authorization` and the `/device` page (`device`),
//! and a pushed authorization request through `/par` (`par`).

#[path = "../../examples/axum_server/main.rs"]
#[allow(dead_code)]
mod axum_server;
#[path = "../../examples/device_cli.rs"]
#[allow(dead_code)]
mod device_cli;
#[path = "../../examples/resource_server.rs"]
#[allow(dead_code)]
mod resource_server;

mod browser;
mod crash;
mod device;
mod device_cli_login;
mod exchange;
mod fapi;
mod flows;
mod hardening;
mod jwt_api;
mod par;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use grantor::storage::KeyStore;
use grantor::{ManualClock, MemoryStorage, Timestamp};
use tower::ServiceExt;

use axum_server::app::{self, App};
use axum_server::setup::Setup;

/// The example's router on a manual clock, with the built-in demo setup.
pub async fn start(issuer: &str) -> (Router, ManualClock) {
    start_with(issuer, &Setup::demo(issuer)).await
}

/// The example's router on a manual clock, with these clients and users.
pub async fn start_with(issuer: &str, setup: &Setup) -> (Router, ManualClock) {
    let clock = ManualClock::new(START);
    let router = start_on(issuer, setup, &clock, None).await;
    (router, clock)
}

/// When the manual clocks of [`start`] and [`start_with`] start.
pub const START: Timestamp = Timestamp::from_secs(1_700_000_000);

/// The example's router on `clock`, with these clients and users, keeping its signing keys in
/// `keys` (`None`: in its storage, as without `--keys`).
pub async fn start_on(
    issuer: &str,
    setup: &Setup,
    clock: &ManualClock,
    keys: Option<Arc<dyn KeyStore>>,
) -> Router {
    let storage = MemoryStorage::new();
    let config = setup.config(issuer).unwrap().clock(clock.clone());
    let config = setup.security(config, storage.clone()).build().unwrap();
    let keys = keys.unwrap_or_else(|| Arc::new(storage.clone()));
    let app = App::new(config, storage, keys, setup).await.unwrap();
    app::router(app)
}

/// A response, read whole.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// The value of the hidden form field `name`.
    pub fn field(&self, name: &str) -> String {
        let marker = format!(r#"name="{name}" value=""#);
        let start = self.body.find(&marker).expect(&marker) + marker.len();
        let end = self.body[start..].find('"').unwrap();
        self.body[start..start + end].to_owned()
    }

    /// The `Location` header.
    pub fn location(&self) -> &str {
        self.headers[header::LOCATION].to_str().unwrap()
    }

    /// A query parameter of the `Location` header.
    pub fn location_param(&self, name: &str) -> Option<String> {
        query_param(self.location(), name)
    }

    /// Whether the page carries the anti-framing headers.
    pub fn forbids_framing(&self) -> bool {
        self.headers[header::X_FRAME_OPTIONS] == "DENY"
            && self.headers[header::CONTENT_SECURITY_POLICY] == "frame-ancestors 'none'"
    }
}

/// A query parameter of an absolute or relative URI.
pub fn query_param(uri: &str, name: &str) -> Option<String> {
    let url = url::Url::parse("http://base.invalid/")
        .unwrap()
        .join(uri)
        .unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A minimal browser: it keeps the session cookie the server sets and sends it back.
pub struct Browser {
    router: Router,
    pub cookie: Option<String>,
}

impl Browser {
    pub fn new(router: &Router) -> Self {
        Self {
            router: router.clone(),
            cookie: None,
        }
    }

    pub async fn get(&mut self, uri: &str) -> Page {
        self.send(Request::get(uri), Body::empty()).await
    }

    pub async fn post(&mut self, uri: &str, form: &[(&str, &str)]) -> Page {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request =
            Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        self.send(request, Body::from(body)).await
    }

    async fn send(&mut self, mut request: axum::http::request::Builder, body: Body) -> Page {
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let page = call(&self.router, request.body(body).unwrap()).await;
        if let Some(set) = page.headers.get(header::SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            self.cookie = Some(pair.to_owned());
        }
        page
    }
}

/// Sends one request through the router.
pub async fn call(router: &Router, request: Request<Body>) -> Page {
    let response = router.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    Page {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// Exchanges a code of the demo client at `/token`; returns the JSON response.
pub async fn exchange(router: &Router, code: &str, verifier: &str) -> serde_json::Value {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("client_id", axum_server::setup::DEMO_CLIENT)
        .append_pair("code_verifier", verifier)
        .finish();
    let request = Request::post("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let page = call(router, request).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    serde_json::from_str(&page.body).unwrap()
}

/// Calls `GET /api/me` with an access token.
pub async fn api_me(router: &Router, access_token: &str) -> Page {
    let request = Request::get("/api/me")
        .header(header::AUTHORIZATION, format!("Bearer {access_token}"))
        .body(Body::empty())
        .unwrap();
    call(router, request).await
}

/// How long sessions last without use, plus a second.
pub fn past_idle_timeout() -> Duration {
    axum_server::sessions::IDLE_TIMEOUT + Duration::from_secs(1)
}

/// `GET uri` through the router; the JSON body of a `200`.
pub async fn get_json(router: &Router, uri: &str) -> serde_json::Value {
    let page = call(router, Request::get(uri).body(Body::empty()).unwrap()).await;
    assert_eq!(page.status, StatusCode::OK, "{uri}: {}", page.body);
    serde_json::from_str(&page.body).unwrap()
}

/// Verifies an ID token with `jsonwebtoken` (a JOSE implementation grantor does not use)
/// against a JWKS: the signature by the key its `kid` names, `alg`, `iss` and `aud` (the demo
/// client), and `exp` against `now` (the servers run on a manual clock). Returns the claims;
/// `None` when it does not verify.
pub fn verify_id_token(
    jwks: &serde_json::Value,
    token: &str,
    alg: jsonwebtoken::Algorithm,
    issuer: &str,
    now: Timestamp,
) -> Option<serde_json::Value> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    assert_eq!(header.alg, alg);
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(set.find(header.kid.as_deref()?)?).unwrap();
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[axum_server::setup::DEMO_CLIENT]);
    validation.validate_exp = false; // checked below, against the manual clock
    let claims = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation)
        .ok()?
        .claims;
    (claims["exp"].as_u64()? > now.as_secs()).then_some(claims)
}

/// The `kid` in a JWS header.
pub fn kid(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

/// The left half of the SHA-256 of `value`, base64url: `at_hash` and `c_hash` of the `*256`
/// algorithms, computed here rather than by grantor.
pub fn half_sha256(value: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(value.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The value of the hidden form field `name` of an HTML page.
pub fn form_field(page: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = page.find(&marker).expect(&marker) + marker.len();
    let end = page[start..].find('"').unwrap();
    page[start..start + end].to_owned()
}

/// Over real HTTP: follows the authorization URL `authorize` to the example's login page, logs
/// `alice` in, and approves `scopes` on the consent page. Returns the server's answer (a
/// redirect to the client) and the session cookie.
pub async fn log_in_and_approve(
    http: &reqwest::Client,
    base: &str,
    authorize: &str,
    scopes: &[&str],
) -> (reqwest::Response, String) {
    let cookie_of = |response: &reqwest::Response| {
        response
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(str::to_owned)
    };
    let login = http.get(authorize).send().await.unwrap();
    let mut cookie = cookie_of(&login).expect("a session cookie");
    let page = login.text().await.unwrap();
    let form = [
        ("csrf", form_field(&page, "csrf")),
        ("request", form_field(&page, "request")),
        ("username", "alice".to_owned()),
        ("password", "wonderland".to_owned()),
    ];
    let logged_in = http
        .post(format!("{base}/login"))
        .header(reqwest::header::COOKIE, &cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    cookie = cookie_of(&logged_in).unwrap_or(cookie);
    let consent_path = logged_in.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let page = http
        .get(format!("{base}{consent_path}"))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut form = vec![
        ("csrf", form_field(&page, "csrf")),
        ("request", form_field(&page, "request")),
        ("decision", "approve".to_owned()),
    ];
    form.extend(scopes.iter().map(|scope| ("scope", (*scope).to_owned())));
    let answer = http
        .post(format!("{base}/consent"))
        .header(reqwest::header::COOKIE, &cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    (answer, cookie)
}
