//! Dynamic client registration (RFC 7591, C-DR-1) and its management (RFC 7592, C-DR-2),
//! driven through `Server::register` and `Server::client_configuration` with raw requests.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use grantor::storage::{ClientStore, Digest};
use grantor::{
    ClientMetadata, CodeChallenge, MemoryStorage, OwnerId, RegistrationContext,
    RegistrationOperation, RegistrationPolicy, RegistrationRefusal, Requirement, ScopeSet,
};
use http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Method, Request, Response};
use serde_json::{Value, json};

const IAT: &str = "initial-access-token-for-developers";

async fn fixture(policy: Option<RegistrationPolicy>) -> Fixture {
    Fixture::with_server(
        MemoryStorage::new(),
        |c| c.scopes_supported("read write messages stats"),
        |builder| match policy {
            Some(policy) => builder.registration(policy),
            None => builder,
        },
    )
    .await
}

async fn open() -> Fixture {
    fixture(Some(RegistrationPolicy::open().app_clients(true))).await
}

fn with_bearer(mut request: Request<Vec<u8>>, token: &str) -> Request<Vec<u8>> {
    let value = format!("Bearer {token}").parse().unwrap();
    request.headers_mut().insert(AUTHORIZATION, value);
    request
}

async fn register(fx: &Fixture, body: &Value) -> Response<Vec<u8>> {
    fx.server
        .register(&json_request(Method::POST, "/register", body))
        .await
}

/// Registers `body` and returns the 201 answer's JSON.
async fn registered(fx: &Fixture, body: &Value) -> Value {
    let response = register(fx, body).await;
    assert_eq!(response.status(), 201, "{}", body_text(&response));
    json(&response)
}

fn clients(fx: &Fixture) -> usize {
    fx.storage().stats().clients
}

fn native_app() -> Value {
    json!({
        "redirect_uris": ["http://127.0.0.1/callback"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_name": "Native CLI",
        "scope": "read write",
        "software_id": "cli-4f2a",
        "software_version": "1.2.3",
        "contacts": ["dev@app.example"],
    })
}

fn service() -> Value {
    json!({
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "stats",
        "client_name": "Stats service",
    })
}

/// A request to a client's configuration endpoint.
fn configuration(method: Method, client_id: &str, token: Option<&str>) -> Request<Vec<u8>> {
    let request = Request::builder()
        .method(method)
        .uri(format!("/register/{client_id}"))
        .body(Vec::new())
        .unwrap();
    match token {
        Some(token) => with_bearer(request, token),
        None => request,
    }
}

async fn client_credentials(fx: &Fixture, id: &str, secret: &str) -> Response<Vec<u8>> {
    let pairs = [("grant_type", "client_credentials")];
    fx.server
        .token(&basic_token_request(id, secret, &pairs))
        .await
}

fn assert_unauthorized(response: &Response<Vec<u8>>) {
    assert_error(response, 401, "invalid_token");
    let challenge = response.headers()[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
}

// C-DR-1: without a policy, registration is closed: 403 access_denied, nothing stored, no
// registration_endpoint in the metadata; management is closed too.
#[tokio::test]
async fn registration_is_closed_by_default() {
    let fx = fixture(None).await;
    let before = clients(&fx);
    let response = register(&fx, &native_app()).await;
    assert_error(&response, 403, "access_denied");
    assert_eq!(clients(&fx), before);
    let read = fx
        .server
        .client_configuration(&configuration(Method::GET, APP, Some("x")), APP)
        .await;
    assert_error(&read, 403, "access_denied");
    assert!(fx.server.metadata().get("registration_endpoint").is_none());
}

// C-DR-1, C-MD-1: the metadata lists registration_endpoint only when registration is enabled,
// at the configured URL, which registration_client_uri follows.
#[tokio::test]
async fn metadata_lists_the_registration_endpoint_when_enabled() {
    let fx = open().await;
    let document = fx.server.metadata();
    assert_eq!(
        document["registration_endpoint"],
        format!("{ISSUER}/register")
    );
    let elsewhere = Fixture::with_server(
        MemoryStorage::new(),
        |c| {
            c.registration_endpoint("https://auth.example.com/clients/")
                .scopes_supported("read write")
        },
        |b| b.registration(RegistrationPolicy::open().app_clients(true)),
    )
    .await;
    assert_eq!(
        elsewhere.server.metadata()["registration_endpoint"],
        "https://auth.example.com/clients/"
    );
    let answer = json(&register(&elsewhere, &native_app()).await);
    assert_eq!(
        answer["registration_client_uri"],
        format!(
            "https://auth.example.com/clients/{}",
            text(&answer, "client_id")
        )
    );
}

// C-DR-1: a public native app registers (201, its metadata, no secret) and then completes the
// code flow with PKCE from a loopback redirect on any port.
#[tokio::test]
async fn a_native_app_registers_and_completes_the_code_flow() {
    let fx = open().await;
    let response = register(&fx, &native_app()).await;
    assert_eq!(response.status(), 201, "{}", body_text(&response));
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["content-type"], "application/json");
    let answer = json(&response);
    let id = text(&answer, "client_id");
    assert!(id.len() >= 22, "{id}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(answer["client_id_issued_at"], START);
    assert!(answer.get("client_secret").is_none(), "{answer}");
    assert!(answer.get("client_secret_expires_at").is_none(), "{answer}");
    assert_eq!(text(&answer, "registration_access_token").len(), 43);
    assert_eq!(
        answer["registration_client_uri"],
        format!("{ISSUER}/register/{id}")
    );
    for (field, value) in native_app().as_object().unwrap() {
        assert_eq!(&answer[field], value, "{field}");
    }

    let verifier = "a-native-app-verifier-of-at-least-43-characters";
    let query = format!(
        "response_type=code&client_id={id}&redirect_uri={}&scope=read&code_challenge={}&code_challenge_method=S256",
        enc("http://127.0.0.1:53124/callback"),
        CodeChallenge::s256(verifier).value()
    );
    let redirect = fx.approve(&query, "alice", "read").await;
    assert!(location(&redirect).starts_with("http://127.0.0.1:53124/callback?"));
    let code = redirect_params(&redirect)["code"].clone();
    let response = fx
        .server
        .token(&token_request(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", id),
            ("redirect_uri", "http://127.0.0.1:53124/callback"),
            ("code_verifier", verifier),
        ]))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let tokens = json(&response);
    assert!(tokens["refresh_token"].is_string());
    let api = bearer("/api", text(&tokens, "access_token"));
    let grant = fx
        .server
        .validate_bearer(&api, &Requirement::user().scopes("read").unwrap())
        .await
        .unwrap();
    assert_eq!(grant.owner(), Some(&OwnerId::new("alice")));
    assert_eq!(grant.client_id().as_str(), id);
}

// C-DR-1, C-SE-1: a confidential client gets a secret that works at the token endpoint, and
// storage keeps only its digest and the registration access token's.
#[tokio::test]
async fn a_confidential_client_gets_a_secret_that_works() {
    let fx = open().await;
    let answer = registered(&fx, &service()).await;
    let id = text(&answer, "client_id");
    let secret = text(&answer, "client_secret");
    let token = text(&answer, "registration_access_token");
    assert_eq!(secret.len(), 43);
    assert_eq!(answer["client_secret_expires_at"], 0);
    assert_eq!(answer["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(answer["grant_types"], json!(["client_credentials"]));
    assert_eq!(answer["response_types"], json!([]));
    assert!(answer.get("redirect_uris").is_some_and(|u| u == &json!([])));

    let response = client_credentials(&fx, id, secret).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert_eq!(
        json(&response)["scope"],
        "stats",
        "the registered scope is the default"
    );
    let wrong = client_credentials(&fx, id, "not-the-secret").await;
    assert_error(&wrong, 401, "invalid_client");

    let stored = fx.storage().client(id).await.unwrap().unwrap();
    assert!(stored.is_confidential() && stored.is_dynamically_registered());
    assert_eq!(stored.secret_digest(), Some(&Digest::of(secret)));
    let shown = format!("{stored:?}");
    assert!(!shown.contains(secret) && !shown.contains(token), "{shown}");
    assert!(!shown.contains(&Digest::of(token).to_hex()), "{shown}");
}

// C-DR-1: with an initial access token required, a registration without it or with another
// one is 401 invalid_token with a Bearer challenge, and stores nothing; with it, 201.
#[tokio::test]
async fn an_initial_access_token_may_be_required() {
    let fx = fixture(Some(
        RegistrationPolicy::initial_access_token(IAT).app_clients(true),
    ))
    .await;
    let before = clients(&fx);
    let missing = register(&fx, &native_app()).await;
    assert_unauthorized(&missing);
    let request = json_request(Method::POST, "/register", &native_app());
    let wrong = fx.server.register(&with_bearer(request, "guessed")).await;
    assert_unauthorized(&wrong);
    assert_eq!(clients(&fx), before);
    let request = json_request(Method::POST, "/register", &native_app());
    let right = fx.server.register(&with_bearer(request, IAT)).await;
    assert_eq!(right.status(), 201, "{}", body_text(&right));
    assert_eq!(clients(&fx), before + 1);
}

// C-DR-1: every bad request gets its exact error and registers nothing.
#[tokio::test]
async fn bad_metadata_is_refused_and_registers_nothing() {
    let fx = open().await;
    let before = clients(&fx);
    let with = |field: &str, value: Value| {
        let mut body = native_app();
        body[field] = value;
        body
    };
    let cases = [
        (
            with("redirect_uris", json!(["http://app.example/cb"])),
            "invalid_redirect_uri",
        ),
        (
            with("redirect_uris", json!(["https://app.example/cb#x"])),
            "invalid_redirect_uri",
        ),
        (
            with("redirect_uris", json!(["myapp:/cb"])),
            "invalid_redirect_uri",
        ),
        (with("redirect_uris", json!([])), "invalid_redirect_uri"),
        (
            with("token_endpoint_auth_method", json!("private_key_jwt")),
            "invalid_client_metadata",
        ),
        (
            with("response_types", json!(["token"])),
            "invalid_client_metadata",
        ),
        (with("response_types", json!([])), "invalid_client_metadata"),
        (
            with("logo_uri", json!("http://app.example/logo.png")),
            "invalid_client_metadata",
        ),
        (
            with("policy_uri", json!("not a url")),
            "invalid_client_metadata",
        ),
        (
            with("scope", json!("read  write")),
            "invalid_client_metadata",
        ),
        (with("scope", json!(42)), "invalid_client_metadata"),
        (
            with("redirect_uris", json!("https://app.example/cb")),
            "invalid_client_metadata",
        ),
        (
            with("grant_types", json!(["password"])),
            "invalid_client_metadata",
        ),
        (
            with(
                "grant_types",
                json!(["authorization_code", "client_credentials"]),
            ),
            "invalid_client_metadata",
        ),
        (
            with("grant_types", json!(["urn:example:unknown"])),
            "invalid_client_metadata",
        ),
        (
            with("id_token_signed_response_alg", json!("none")),
            "invalid_client_metadata",
        ),
        (
            with(
                "sector_identifier_uri",
                json!("https://app.example/sector.json"),
            ),
            "invalid_client_metadata",
        ),
        (json!(["not", "an", "object"]), "invalid_request"),
    ];
    for (body, error) in cases {
        let response = register(&fx, &body).await;
        assert_error(&response, 400, error);
        assert_eq!(clients(&fx), before, "{body}");
    }
    let malformed = Request::post("/register")
        .header(CONTENT_TYPE, "application/json")
        .body(b"{\"redirect_uris\": [".to_vec())
        .unwrap();
    assert_error(
        &fx.server.register(&malformed).await,
        400,
        "invalid_request",
    );
    let form = post_form("/register", form_body(&[("client_name", "x")]));
    assert_error(&fx.server.register(&form).await, 400, "invalid_request");
    let huge = json!({ "client_name": "x".repeat(20 * 1024) });
    assert_error(&register(&fx, &huge).await, 400, "invalid_request");
    let get = fx.server.register(&get("/register")).await;
    assert_eq!(get.status(), 405);
    assert_eq!(clients(&fx), before);
}

// C-DR-1: the host's hook amends a registration (forces a scope) and refuses others: a rate
// limit (429 temporarily_unavailable with Retry-After) and a denial (403 access_denied).
#[tokio::test]
async fn the_hook_amends_and_refuses() {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let policy = RegistrationPolicy::open().app_clients(true).hook(
        move |metadata: &mut ClientMetadata, context: &RegistrationContext<'_>| {
            if metadata.client_name.as_deref() == Some("Evil") {
                return Err(RegistrationRefusal::denied("this client is not welcome"));
            }
            if context.operation() == RegistrationOperation::Register
                && counter.fetch_add(1, Ordering::SeqCst) >= 2
            {
                return Err(RegistrationRefusal::rate_limited(Duration::from_secs(30)));
            }
            metadata.scope = ScopeSet::parse("read").unwrap();
            Ok(())
        },
    );
    let fx = fixture(Some(policy)).await;
    let before = clients(&fx);
    let answer = registered(&fx, &native_app()).await;
    assert_eq!(answer["scope"], "read", "the hook forced the scope");
    let stored = fx
        .storage()
        .client(text(&answer, "client_id"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.allowed_scopes(), &ScopeSet::parse("read").unwrap());

    let mut evil = native_app();
    evil["client_name"] = json!("Evil");
    assert_error(&register(&fx, &evil).await, 403, "access_denied");

    registered(&fx, &native_app()).await;
    let limited = register(&fx, &native_app()).await;
    assert_error(&limited, 429, "temporarily_unavailable");
    assert_eq!(limited.headers()["retry-after"], "30");
    assert_eq!(clients(&fx), before + 2);
}

// C-DR-2: the registration access token reads the registration; no token, another token or
// another client's id is 401 invalid_token.
#[tokio::test]
async fn management_reads_with_the_registration_access_token() {
    let fx = open().await;
    let answer = registered(&fx, &service()).await;
    let id = text(&answer, "client_id");
    let token = text(&answer, "registration_access_token");
    let other = registered(&fx, &native_app()).await;

    let response = fx
        .server
        .client_configuration(&configuration(Method::GET, id, Some(token)), id)
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert_eq!(response.headers()["cache-control"], "no-store");
    let read = json(&response);
    assert!(read.get("client_secret").is_none(), "{read}");
    let mut expected = answer.clone();
    expected.as_object_mut().unwrap().remove("client_secret");
    assert_eq!(read, expected);

    for (token, client) in [
        (None, id),
        (Some("wrong-token"), id),
        (Some(text(&other, "registration_access_token")), id),
        (Some(token), "no-such-client"),
        (Some(token), APP),
    ] {
        let request = configuration(Method::GET, client, token);
        let response = fx.server.client_configuration(&request, client).await;
        assert_unauthorized(&response);
    }
    let post = configuration(Method::POST, id, Some(token));
    assert_eq!(
        fx.server.client_configuration(&post, id).await.status(),
        405
    );
}

// C-DR-2: PUT replaces the metadata in full (new redirect URIs take effect); bad metadata or
// a foreign client_id changes nothing; the secret and the token stay.
#[tokio::test]
async fn management_replaces_the_metadata() {
    let fx = open().await;
    let answer = registered(&fx, &native_app()).await;
    let id = text(&answer, "client_id");
    let token = text(&answer, "registration_access_token");
    let put = |body: &Value| {
        with_bearer(
            json_request(Method::PUT, &format!("/register/{id}"), body),
            token,
        )
    };

    let mut replacement = json!({
        "client_id": id,
        "redirect_uris": ["com.example.cli:/oauth"],
        "token_endpoint_auth_method": "none",
        "scope": "read",
    });
    let response = fx.server.client_configuration(&put(&replacement), id).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let updated = json(&response);
    assert_eq!(updated["redirect_uris"], json!(["com.example.cli:/oauth"]));
    assert_eq!(updated["grant_types"], json!(["authorization_code"]));
    assert!(updated.get("client_name").is_none(), "a full replacement");
    assert!(updated.get("software_id").is_none(), "a full replacement");
    assert_eq!(
        updated["client_id_issued_at"],
        answer["client_id_issued_at"]
    );
    let stored = fx.storage().client(id).await.unwrap().unwrap();
    assert_eq!(stored.redirect_uris()[0].as_str(), "com.example.cli:/oauth");
    assert_eq!(stored.redirect_uris().len(), 1);

    let before = format!("{stored:?}");
    let mut bad = replacement.clone();
    bad["redirect_uris"] = json!(["http://evil.example/cb"]);
    let response = fx.server.client_configuration(&put(&bad), id).await;
    assert_error(&response, 400, "invalid_redirect_uri");
    let mut foreign = replacement.clone();
    foreign["client_id"] = json!(APP);
    let response = fx.server.client_configuration(&put(&foreign), id).await;
    assert_error(&response, 400, "invalid_request");
    replacement["token_endpoint_auth_method"] = json!("client_secret_basic");
    let response = fx.server.client_configuration(&put(&replacement), id).await;
    assert_error(&response, 400, "invalid_client_metadata");
    let unchanged = fx.storage().client(id).await.unwrap().unwrap();
    assert_eq!(format!("{unchanged:?}"), before);

    // The registration access token still works after the update.
    let read = configuration(Method::GET, id, Some(token));
    assert_eq!(
        fx.server.client_configuration(&read, id).await.status(),
        200
    );
}

// C-DR-2: a confidential client's update keeps its secret, and a client_secret sent with it
// must be the client's own.
#[tokio::test]
async fn a_confidential_update_keeps_the_secret() {
    let fx = open().await;
    let answer = registered(&fx, &service()).await;
    let id = text(&answer, "client_id");
    let secret = text(&answer, "client_secret");
    let token = text(&answer, "registration_access_token");
    let mut body = service();
    body["client_id"] = json!(id);
    body["client_secret"] = json!("not-the-secret");
    let put = |body: &Value| {
        with_bearer(
            json_request(Method::PUT, &format!("/register/{id}"), body),
            token,
        )
    };
    assert_error(
        &fx.server.client_configuration(&put(&body), id).await,
        400,
        "invalid_request",
    );
    body["client_secret"] = json!(secret);
    body["client_name"] = json!("Renamed");
    let response = fx.server.client_configuration(&put(&body), id).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let updated = json(&response);
    assert_eq!(updated["client_name"], "Renamed");
    assert!(updated.get("client_secret").is_none());
    let tokens = client_credentials(&fx, id, secret).await;
    assert_eq!(tokens.status(), 200, "{}", body_text(&tokens));
}

// C-DR-2: DELETE answers 204; the client can no longer authenticate, its access and refresh
// tokens issued before stop working, and its registration can no longer be read.
#[tokio::test]
async fn management_deletes_the_client_and_revokes_its_tokens() {
    let fx = open().await;
    let answer = registered(&fx, &service()).await;
    let id = text(&answer, "client_id");
    let secret = text(&answer, "client_secret");
    let token = text(&answer, "registration_access_token");
    let issued = json(&client_credentials(&fx, id, secret).await);
    let access = text(&issued, "access_token");
    let api = bearer("/api", access);
    let app = Requirement::app();
    assert!(fx.server.validate_bearer(&api, &app).await.is_ok());

    let request = configuration(Method::DELETE, id, Some(token));
    let response = fx.server.client_configuration(&request, id).await;
    assert_eq!(response.status(), 204);
    assert!(response.body().is_empty());
    assert!(fx.storage().client(id).await.unwrap().is_none());

    assert_error(
        &client_credentials(&fx, id, secret).await,
        401,
        "invalid_client",
    );
    let refused = fx.server.validate_bearer(&api, &app).await.unwrap_err();
    assert_eq!(refused.status(), 401);
    let read = configuration(Method::GET, id, Some(token));
    assert_unauthorized(&fx.server.client_configuration(&read, id).await);
    let again = configuration(Method::DELETE, id, Some(token));
    assert_unauthorized(&fx.server.client_configuration(&again, id).await);
}

// C-DR-2: a deleted public client's refresh token is refused, and its access token too.
#[tokio::test]
async fn a_deleted_public_client_cannot_refresh() {
    let fx = open().await;
    let answer = registered(&fx, &native_app()).await;
    let id = text(&answer, "client_id");
    let token = text(&answer, "registration_access_token");
    let verifier = "another-native-app-verifier-of-at-least-43-chars";
    let query = format!(
        "response_type=code&client_id={id}&scope=read&code_challenge={}&code_challenge_method=S256",
        CodeChallenge::s256(verifier).value()
    );
    let code = redirect_params(&fx.approve(&query, "alice", "read").await)["code"].clone();
    let response = fx
        .server
        .token(&token_request(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", id),
            ("code_verifier", verifier),
        ]))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let tokens = json(&response);
    let refresh = text(&tokens, "refresh_token");
    assert!(refresh_is_live(&fx, refresh).await);

    let delete = configuration(Method::DELETE, id, Some(token));
    assert_eq!(
        fx.server.client_configuration(&delete, id).await.status(),
        204
    );
    assert!(!refresh_is_live(&fx, refresh).await);
    assert!(!access_is_live(&fx, text(&tokens, "access_token")).await);
    let refused = fx
        .server
        .token(&refresh_request((id, None), refresh, &[]))
        .await;
    assert_error(&refused, 400, "invalid_client");
}

// C-DR-1: open registration, by default, offers no client credentials grant (tokens without
// any user's consent) and no scope beyond what the server advertises; either is refused and
// registers nothing.
#[tokio::test]
async fn open_registration_refuses_app_clients_and_unadvertised_scopes() {
    let fx = fixture(Some(RegistrationPolicy::open())).await;
    let before = clients(&fx);
    let app = json!({
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "read",
    });
    let response = register(&fx, &app).await;
    assert_error(&response, 400, "invalid_client_metadata");
    let mut wide = native_app();
    wide["scope"] = json!("read admin");
    let response = register(&fx, &wide).await;
    assert_error(&response, 400, "invalid_client_metadata");
    assert_eq!(clients(&fx), before);
    // An explicit list replaces the advertised scopes.
    let fx = fixture(Some(
        RegistrationPolicy::open().scopes(ScopeSet::parse("read").unwrap()),
    ))
    .await;
    let response = register(&fx, &native_app()).await;
    assert_error(&response, 400, "invalid_client_metadata");
    let mut narrow = native_app();
    narrow["scope"] = json!("read");
    registered(&fx, &narrow).await;
}

// C-DR-2: updating and deleting need the registration access token too: without it, or with a
// wrong one, both are 401 and change nothing.
#[tokio::test]
async fn update_and_delete_without_the_token_change_nothing() {
    let fx = open().await;
    let answer = registered(&fx, &native_app()).await;
    let id = text(&answer, "client_id").to_owned();
    let token = text(&answer, "registration_access_token").to_owned();
    let mut replacement = native_app();
    replacement["client_id"] = json!(id);
    replacement["redirect_uris"] = json!(["http://127.0.0.1/elsewhere"]);
    for presented in [None, Some("wrong-token")] {
        let mut put = json_request(Method::PUT, &format!("/register/{id}"), &replacement);
        if let Some(presented) = presented {
            put = with_bearer(put, presented);
        }
        assert_unauthorized(&fx.server.client_configuration(&put, &id).await);
        let delete = configuration(Method::DELETE, &id, presented);
        assert_unauthorized(&fx.server.client_configuration(&delete, &id).await);
    }
    let read = configuration(Method::GET, &id, Some(&token));
    let read = json(&fx.server.client_configuration(&read, &id).await);
    assert_eq!(read["redirect_uris"], json!(["http://127.0.0.1/callback"]));
}

// C-DR-1, C-DR-2, C-SE-1: SQLite keeps the registration access token and the client secret
// only as SHA-256 digests: neither appears in the stored row.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn registration_secrets_are_stored_as_digests() {
    use grantor::storage::SqliteStorage;
    let storage = SqliteStorage::open("sqlite::memory:").await.unwrap();
    let fx = Fixture::with_server(
        storage,
        |c| c.scopes_supported("read write stats"),
        |b| b.registration(RegistrationPolicy::open().app_clients(true)),
    )
    .await;
    let request = json_request(Method::POST, "/register", &service());
    let response = fx.server.register(&request).await;
    assert_eq!(response.status(), 201, "{}", body_text(&response));
    let answer = json(&response);
    let token = text(&answer, "registration_access_token");
    let secret = text(&answer, "client_secret");
    let rows: Vec<(String, Option<Vec<u8>>)> = grantor::storage::sqlx::query_as(
        "SELECT metadata, secret_digest FROM grantor_clients WHERE id = $1",
    )
    .bind(text(&answer, "client_id"))
    .fetch_all(fx.storage().pool())
    .await
    .unwrap();
    let (metadata, secret_digest) = &rows[0];
    assert!(
        !metadata.contains(token) && !metadata.contains(secret),
        "{metadata}"
    );
    assert!(metadata.contains(&Digest::of(token).to_hex()), "{metadata}");
    assert_eq!(
        secret_digest.as_deref(),
        Some(Digest::of(secret).as_bytes().as_slice())
    );
}
