//! An API in its own process that accepts a grantor server's JWT access tokens (RFC 9068),
//! checking them with nothing but the server's published keys: no introspection call, no
//! shared database.
//!
//! ```sh
//! cargo run --example axum_server                      # the authorization server, on :8080
//! cargo run --example resource_server                  # this API, on :8081
//! cargo run --example resource_server -- --issuer https://auth.example.com \
//!     --addr 0.0.0.0:9000 --resource https://notes.example.com/notes
//! ```
//!
//! At start it reads the authorization server's metadata (RFC 8414) for its `jwks_uri` and
//! fetches the key set. Each request's token is then checked locally ([`Verifier`]): the
//! header's `typ` must be `at+jwt` (an ID token is not an access token), its `alg` one of the
//! asymmetric algorithms grantor signs with (never `none`, never HMAC), its `kid` a published
//! key; the signature, `iss`, `aud` (this API's resource identifier), `exp` with a small
//! leeway, and the scope the route needs. A token signed by a key the cached set does not have
//! makes it fetch the set again (at most every ten seconds), which is how it follows the
//! server's key rotation. What it cannot see is revocation: grantor's JWT access tokens are
//! short-lived for that reason (the demo gives this API's tokens ten minutes).
//!
//! The API serves `GET /notes` (the `messages` scope), and its protected-resource metadata
//! (RFC 9728) at `/.well-known/oauth-protected-resource/notes`, which every `401` names in
//! `resource_metadata`: that is how a client that knows only this API finds the server to get
//! a token from. The axum_server demo registers this API's identifier
//! (`http://127.0.0.1:8081/notes`) as a resource with JWT access tokens.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

/// The algorithms a grantor key ring signs with; anything else (`none`, HMAC) is refused.
const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];
/// How much clock difference with the authorization server is tolerated.
const LEEWAY_SECONDS: u64 = 30;
/// The shortest time between two fetches of the key set for unknown `kid`s.
const REFETCH_AFTER: Duration = Duration::from_secs(10);
/// The scope `GET /notes` needs.
const NOTES_SCOPE: &str = "messages";

/// Why a token was refused.
#[derive(Debug)]
pub enum Rejection {
    /// No bearer token in the request: a bare challenge.
    Missing,
    /// The token is not a valid access token for this API.
    InvalidToken(&'static str),
    /// The token is valid but lacks the scope the route needs.
    InsufficientScope(&'static str),
}

/// Checks JWT access tokens for one resource, with the key set of one authorization server.
pub struct Verifier {
    issuer: String,
    resource: String,
    jwks_uri: String,
    http: reqwest::Client,
    keys: RwLock<(JwkSet, Instant)>,
}

impl Verifier {
    /// Reads the metadata of the server `issuer` (RFC 8414) and its key set, to check tokens
    /// whose audience is `resource`.
    pub async fn discover(issuer: &str, resource: &str) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        let url = url::Url::parse(issuer).map_err(|e| format!("issuer: {e}"))?;
        let path = url.path().trim_end_matches('/');
        let origin = url.origin().ascii_serialization();
        let metadata_url = format!("{origin}/.well-known/oauth-authorization-server{path}");
        let metadata: Value = fetch_json(&http, &metadata_url).await?;
        // RFC 8414 §3.3: the document must be the issuer's own.
        if metadata["issuer"] != issuer {
            return Err(format!("{metadata_url} describes another issuer"));
        }
        let jwks_uri = metadata["jwks_uri"]
            .as_str()
            .ok_or("the server publishes no jwks_uri: it cannot sign JWT access tokens")?
            .to_owned();
        let keys: JwkSet = fetch_json(&http, &jwks_uri).await?;
        Ok(Self {
            issuer: issuer.to_owned(),
            resource: resource.to_owned(),
            jwks_uri,
            http,
            keys: RwLock::new((keys, Instant::now())),
        })
    }

    /// The resource identifier tokens must be for.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The claims of `token` if it is a valid access token for this resource holding `scope`.
    pub async fn verify(&self, token: &str, scope: &str) -> Result<Value, Rejection> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| Rejection::InvalidToken("not a JWT"))?;
        let typ = header
            .typ
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if typ != "at+jwt" && typ != "application/at+jwt" {
            return Err(Rejection::InvalidToken("not an access token (typ)"));
        }
        if !ALGORITHMS.contains(&header.alg) {
            return Err(Rejection::InvalidToken("algorithm not allowed"));
        }
        let kid = header
            .kid
            .as_deref()
            .ok_or(Rejection::InvalidToken("no kid"))?;
        let jwk = match self.key(kid) {
            Some(jwk) => jwk,
            None => {
                self.refetch().await;
                self.key(kid)
                    .ok_or(Rejection::InvalidToken("unknown signing key"))?
            }
        };
        // A key of another family than the header's `alg` (an EC key for RS256) fails below.
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| Rejection::InvalidToken("bad key"))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.resource]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|_| Rejection::InvalidToken("signature, issuer, audience or expiry"))?
            .claims;
        if claims["client_id"].as_str().is_none() || claims["jti"].as_str().is_none() {
            return Err(Rejection::InvalidToken("missing client_id or jti"));
        }
        let granted = claims["scope"].as_str().unwrap_or_default();
        if !scope.is_empty() && !granted.split(' ').any(|s| s == scope) {
            return Err(Rejection::InsufficientScope(NOTES_SCOPE));
        }
        Ok(claims)
    }

    fn key(&self, kid: &str) -> Option<Jwk> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.0.find(kid).cloned()
    }

    /// Fetches the key set again, unless it was fetched less than [`REFETCH_AFTER`] ago (a
    /// flood of tokens with made-up `kid`s must not become a flood of requests to the server).
    async fn refetch(&self) {
        let due = {
            let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
            keys.1.elapsed() >= REFETCH_AFTER
        };
        if !due {
            return;
        }
        if let Ok(set) = fetch_json::<JwkSet>(&self.http, &self.jwks_uri).await {
            *self.keys.write().unwrap_or_else(|e| e.into_inner()) = (set, Instant::now());
        }
    }

    /// Forgets when the key set was fetched, so the next unknown `kid` fetches it at once
    /// (for tests that rotate keys).
    pub fn allow_refetch(&self) {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        if let Some(past) = Instant::now().checked_sub(REFETCH_AFTER) {
            keys.1 = past;
        }
    }
}

async fn fetch_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<T, String> {
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url}: {}", response.status()));
    }
    response.json().await.map_err(|e| format!("{url}: {e}"))
}

/// The path of the metadata document of `resource` on its host (RFC 9728 §3.1).
pub fn metadata_path(resource: &str) -> String {
    let path = url::Url::parse(resource)
        .map(|url| match url.path() {
            "/" => String::new(),
            path => path.to_owned(),
        })
        .unwrap_or_default();
    format!("/.well-known/oauth-protected-resource{path}")
}

/// The API's routes: `GET /notes` (the path of the resource identifier) and its metadata.
pub fn router(verifier: Arc<Verifier>) -> Router {
    let path = url::Url::parse(verifier.resource())
        .map(|url| url.path().to_owned())
        .unwrap_or_else(|_| "/notes".to_owned());
    Router::new()
        .route(&path, get(notes))
        .route(&metadata_path(verifier.resource()), get(metadata))
        .with_state(verifier)
}

/// `GET /notes`: the notes of the token's user.
async fn notes(State(verifier): State<Arc<Verifier>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let checked = match token {
        Some(token) => verifier.verify(token, NOTES_SCOPE).await,
        None => Err(Rejection::Missing),
    };
    match checked {
        Ok(claims) => axum::Json(json!({
            "owner": claims["sub"],
            "client_id": claims["client_id"],
            "notes": ["Buy milk", "Rotate the signing keys"],
        }))
        .into_response(),
        Err(rejection) => challenge(&verifier, rejection),
    }
}

/// A `401` or `403` with its `WWW-Authenticate` challenge, naming the resource's metadata.
fn challenge(verifier: &Verifier, rejection: Rejection) -> Response {
    let origin = url::Url::parse(verifier.resource())
        .map(|url| url.origin().ascii_serialization())
        .unwrap_or_default();
    let metadata = format!("{origin}{}", metadata_path(verifier.resource()));
    let (status, error) = match rejection {
        Rejection::Missing => (StatusCode::UNAUTHORIZED, String::new()),
        Rejection::InvalidToken(why) => (
            StatusCode::UNAUTHORIZED,
            format!(", error=\"invalid_token\", error_description=\"{why}\""),
        ),
        Rejection::InsufficientScope(scope) => (
            StatusCode::FORBIDDEN,
            format!(", error=\"insufficient_scope\", scope=\"{scope}\""),
        ),
    };
    let value = format!("Bearer resource_metadata=\"{metadata}\"{error}");
    let mut response = status.into_response();
    if let Ok(value) = HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// `GET /.well-known/oauth-protected-resource/notes`: the resource's metadata (RFC 9728).
async fn metadata(State(verifier): State<Arc<Verifier>>) -> Response {
    axum::Json(json!({
        "resource": verifier.resource(),
        "authorization_servers": [verifier.issuer],
        "scopes_supported": [NOTES_SCOPE],
        "bearer_methods_supported": ["header"],
    }))
    .into_response()
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut issuer = "http://127.0.0.1:8080".to_owned();
    let mut addr = "127.0.0.1:8081".to_owned();
    let mut resource = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--issuer" => issuer = value,
            "--addr" => addr = value,
            "--resource" => resource = Some(value),
            _ => {
                return Err("usage: resource_server [--issuer URL] [--addr HOST:PORT] \
                            [--resource URL]"
                    .into());
            }
        }
    }
    let resource = resource.unwrap_or_else(|| format!("http://{addr}/notes"));
    let verifier = Arc::new(Verifier::discover(&issuer, &resource).await?);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("resource_server: {resource}, tokens from {issuer}");
    println!(
        "  GET {resource}  (scope {NOTES_SCOPE})\n  GET {}{}",
        url::Url::parse(&resource)?.origin().ascii_serialization(),
        metadata_path(&resource)
    );
    axum::serve(listener, router(verifier)).await?;
    Ok(())
}
