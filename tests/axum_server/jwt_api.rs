//! `examples/resource_server.rs` against the example authorization server, both on real
//! sockets: the API checks JWT access tokens with the JWKS alone (C-JT-1, C-JT-2), names its
//! metadata in every challenge (C-PR-1), and follows a key rotation.

use std::sync::Arc;
use std::time::Duration;

use grantor::Clock as _;
use grantor::{Client, ClientSecret, GrantType, ManualClock, MemoryStorage, SystemClock};
use serde_json::Value;

use crate::axum_server::app::{self, App};
use crate::axum_server::setup::{API_ME, ResourceEntry, Setup};
use crate::resource_server::{self, Verifier};

const CLIENT: &str = "notes-reader";
const SECRET: &str = "notes-reader-secret-with-enough-entropy";

/// The two servers, listening, and what the test needs of them.
struct Running {
    issuer: String,
    notes: String,
    server: Arc<grantor::Server<MemoryStorage>>,
    storage: MemoryStorage,
    clock: ManualClock,
    verifier: Arc<Verifier>,
    http: reqwest::Client,
}

async fn start() -> Running {
    let as_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rs_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", as_listener.local_addr().unwrap());
    let notes = format!("http://{}/notes", rs_listener.local_addr().unwrap());
    let mut setup = Setup::demo(&issuer);
    setup.resources = Some(vec![
        ResourceEntry {
            resource: API_ME.to_owned(),
            scopes: vec!["messages".to_owned()],
            access_token_format: Some("jwt".to_owned()),
            access_token_lifetime: None,
        },
        ResourceEntry {
            resource: notes.clone(),
            scopes: vec!["messages".to_owned()],
            access_token_format: Some("jwt".to_owned()),
            access_token_lifetime: Some(600),
        },
    ]);
    // The resource server checks expiry on the real clock: start the manual one there.
    let clock = ManualClock::new(SystemClock.now());
    let config = setup
        .config(&issuer)
        .unwrap()
        .clock(clock.clone())
        .build()
        .unwrap();
    let storage = MemoryStorage::new();
    let app = App::new(config, storage.clone(), Arc::new(storage.clone()), &setup)
        .await
        .unwrap();
    let server = app.server.clone();
    let reader = Client::confidential(CLIENT, &ClientSecret::new(SECRET))
        .grant_types([GrantType::ClientCredentials])
        .allowed_scopes("messages stats")
        .build()
        .unwrap();
    server.register_client(reader).await.unwrap();
    tokio::spawn(async move { axum::serve(as_listener, app::router(app)).await });
    let verifier = Arc::new(Verifier::discover(&issuer, &notes).await.unwrap());
    let router = resource_server::router(verifier.clone());
    tokio::spawn(async move { axum::serve(rs_listener, router).await });
    Running {
        issuer,
        notes,
        server,
        storage,
        clock,
        verifier,
        http: reqwest::Client::new(),
    }
}

impl Running {
    /// An app token of the reader with these extra token-request parameters.
    async fn token(&self, extra: &[(&str, &str)]) -> String {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend_from_slice(extra);
        let response = self
            .http
            .post(format!("{}/token", self.issuer))
            .basic_auth(CLIENT, Some(SECRET))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// `GET /notes` with this bearer token (none: no `Authorization`).
    async fn notes(&self, token: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(&self.notes);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    fn metadata_url(&self) -> String {
        let origin = self.notes.trim_end_matches("/notes");
        format!("{origin}/.well-known/oauth-protected-resource/notes")
    }
}

fn challenge(response: &reqwest::Response) -> String {
    response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned()
}

// C-JT-1, C-JT-2, C-PR-1: a JWT access token for the notes API is accepted there with nothing
// but the JWKS; tokens for another resource, ID-token-like substitutes, missing scope and no
// token are refused with the challenge naming the API's metadata.
#[tokio::test]
async fn the_resource_server_checks_jwt_access_tokens_with_the_jwks_alone() {
    let running = start().await;
    let token = running
        .token(&[("resource", &running.notes), ("scope", "messages")])
        .await;
    let response = running.notes(Some(&token)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["client_id"], CLIENT);
    assert_eq!(
        body["owner"], CLIENT,
        "an app token's subject is its client"
    );

    // A token for the authorization server's own /api/me (its default resource).
    let other = running.token(&[("scope", "messages")]).await;
    let response = running.notes(Some(&other)).await;
    assert_eq!(response.status(), 401);
    let value = challenge(&response);
    assert!(value.contains("error=\"invalid_token\""), "{value}");
    assert!(
        value.contains(&format!("resource_metadata=\"{}\"", running.metadata_url())),
        "{value}"
    );

    // The right resource, without the scope the route needs.
    let narrow = running
        .token(&[("resource", &running.notes), ("scope", "stats")])
        .await;
    let response = running.notes(Some(&narrow)).await;
    assert_eq!(response.status(), 403);
    assert!(challenge(&response).contains("insufficient_scope"));

    // No token: a bare challenge that tells the client where to look.
    let response = running.notes(None).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        challenge(&response),
        format!("Bearer resource_metadata=\"{}\"", running.metadata_url())
    );
    let metadata: Value = running
        .http
        .get(running.metadata_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["resource"], running.notes.as_str());
    assert_eq!(
        metadata["authorization_servers"][0],
        running.issuer.as_str()
    );

    // A token typed as a plain JWT (as an ID token is), signed by the server's own key with
    // the claims of a good access token: refused for its `typ` alone.
    let claims: Value = {
        use base64::Engine;
        let payload = token.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let record = grantor::storage::KeyStore::keys(&running.storage)
        .await
        .unwrap()
        .into_iter()
        .find(|key| key.alg == "RS256")
        .unwrap();
    let pair = {
        use jwt_simple::prelude::*;
        RS256KeyPair::from_jwk(&record.private_jwk)
            .unwrap()
            .with_key_id(&record.kid)
    };
    let resign = |typ: &str| {
        use jwt_simple::prelude::*;
        let custom: serde_json::Map<String, Value> = claims.as_object().unwrap().clone();
        let jwt = JWTClaims {
            issued_at: None,
            expires_at: None,
            invalid_before: None,
            issuer: None,
            subject: None,
            audiences: None,
            jwt_id: None,
            nonce: None,
            custom,
        };
        let options = HeaderOptions {
            signature_type: Some(typ.to_owned()),
            ..HeaderOptions::default()
        };
        pair.sign_with_options(jwt, &options).unwrap()
    };
    assert_eq!(running.notes(Some(&resign("at+jwt"))).await.status(), 200);
    assert_eq!(running.notes(Some(&resign("JWT"))).await.status(), 401);
    // `alg: none`.
    let parts: Vec<&str> = token.split('.').collect();
    let none = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#)
    };
    let unsigned = format!("{none}.{}.", parts[1]);
    assert_eq!(running.notes(Some(&unsigned)).await.status(), 401);

    // A token whose signature does not hold.
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(running.notes(Some(&forged)).await.status(), 401);
}

// The resource server follows the authorization server's key rotation: a token signed by a key
// it has not seen makes it fetch the JWKS again (no more often than every ten seconds).
#[tokio::test]
async fn the_resource_server_fetches_the_keys_again_for_an_unknown_kid() {
    let running = start().await;
    let first = running
        .token(&[("resource", &running.notes), ("scope", "messages")])
        .await;
    assert_eq!(running.notes(Some(&first)).await.status(), 200);
    // 90 days on, the successor key (published a day ahead) signs.
    let ring = running.server.openid().unwrap().keys();
    running
        .clock
        .advance(Duration::from_secs(89 * 24 * 3600 + 60));
    ring.maintain(running.clock.now()).await.unwrap();
    running.clock.advance(Duration::from_secs(24 * 3600));
    ring.maintain(running.clock.now()).await.unwrap();
    let second = running
        .token(&[("resource", &running.notes), ("scope", "messages")])
        .await;
    let kid = |token: &str| jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    assert_ne!(kid(&first), kid(&second), "a new key signs");
    // Fetched at start, less than ten seconds ago: not fetched again yet.
    assert_eq!(running.notes(Some(&second)).await.status(), 401);
    running.verifier.allow_refetch();
    assert_eq!(running.notes(Some(&second)).await.status(), 200);
}
