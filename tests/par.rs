//! Pushed authorization requests (RFC 9126, C-PA-1), black-box: `Server::push_authorization_request`
//! and the authorization endpoint's `request_uri`, through raw requests, with the stored
//! record checked in storage.

mod common;

use common::*;
use grantor::storage::Digest;
use grantor::{
    AuthorizationError, Client, CodeChallenge, Config, ErrorCode, MemoryStorage, PUSHED_REQUEST,
    REQUEST_URI_PREFIX, RegistrationPolicy, Server, Storage,
};
use http::{Method, Request, Response};
use serde_json::json;
use std::time::Duration;

/// A client that must push its requests (RFC 9126 §6).
const PUSHER: &str = "pusher";
const PUSHER_SECRET: &str = "pusher-secret-with-enough-entropy-here";
const PUSHER_REDIRECT: &str = "https://pusher.example/cb";

async fn fixture_with(
    configure: impl FnOnce(grantor::ConfigBuilder) -> grantor::ConfigBuilder,
) -> Fixture {
    let fx = Fixture::with(configure).await;
    let pusher = Client::confidential(PUSHER, &grantor::ClientSecret::new(PUSHER_SECRET))
        .redirect_uri(PUSHER_REDIRECT)
        .allowed_scopes("read")
        .default_scopes("read")
        .require_pushed_authorization_requests(true)
        .build()
        .unwrap();
    fx.server.register_client(pusher).await.unwrap();
    fx
}

async fn fixture() -> Fixture {
    fixture_with(|c| c).await
}

/// The authorization parameters of `app` as [`app_query`] has them, without `client_id`.
fn app_params() -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".to_owned()),
        ("scope", "read write".to_owned()),
        ("state", "st ate".to_owned()),
        (
            "code_challenge",
            CodeChallenge::s256(VERIFIER).value().to_owned(),
        ),
        ("code_challenge_method", "S256".to_owned()),
    ]
}

/// A push of the public client `app` (authenticated by its id) with `params`.
fn app_push(params: &[(&str, String)]) -> Request<Vec<u8>> {
    let mut pairs: Vec<(&str, &str)> = vec![("client_id", APP)];
    pairs.extend(params.iter().map(|(n, v)| (*n, v.as_str())));
    post_form("/par", form_body(&pairs))
}

/// Pushes `request` and returns the `request_uri`, asserting the `201` answer (C-PA-1).
async fn pushed<S: Storage>(fx: &Fixture<S>, request: Request<Vec<u8>>) -> String {
    let response = fx.server.push_authorization_request(&request).await;
    assert_eq!(response.status(), 201, "{}", body_text(&response));
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = json(&response);
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    text(&body, "request_uri").to_owned()
}

/// The stored record of a `request_uri`, if any.
async fn record<S: Storage>(
    fx: &Fixture<S>,
    request_uri: &str,
) -> Option<grantor::storage::ExchangeRecord> {
    let random = request_uri.strip_prefix(REQUEST_URI_PREFIX).unwrap();
    fx.storage()
        .record(PUSHED_REQUEST, &Digest::of(random))
        .await
        .unwrap()
}

/// The authorization endpoint's answer to `client_id` and `request_uri` (plus `extra`).
async fn authorize<S: Storage>(
    fx: &Fixture<S>,
    client_id: &str,
    request_uri: &str,
    extra: &[(&str, &str)],
) -> Result<grantor::AuthorizationRequest, AuthorizationError> {
    let mut pairs = vec![("client_id", client_id), ("request_uri", request_uri)];
    pairs.extend_from_slice(extra);
    let query = String::from_utf8(form_body(&pairs)).unwrap();
    fx.server
        .authorize(&get(&format!("/authorize?{query}")))
        .await
}

/// Asserts a direct `invalid_request_uri` (C-PA-1: no trusted redirect without the pushed
/// request).
fn assert_unusable(result: Result<grantor::AuthorizationRequest, AuthorizationError>) {
    match result {
        Err(AuthorizationError::Direct(error)) => {
            assert_eq!(error.code(), ErrorCode::InvalidRequestUri, "{error}");
            assert_eq!(error.code().as_str(), "invalid_request_uri");
        }
        other => panic!("not a direct invalid_request_uri: {other:?}"),
    }
}

/// The authorization endpoint's refusal of a front-channel request (`query`) from a client
/// that must use PAR: `invalid_request`, redirected.
async fn refused_without_push<S: Storage>(fx: &Fixture<S>, query: &str) -> Response<Vec<u8>> {
    let error = fx
        .server
        .authorize(&get(&format!("/authorize?{query}")))
        .await
        .unwrap_err();
    assert_eq!(error.error().code(), ErrorCode::InvalidRequest);
    error.into_response()
}

/// Asserts an error redirected to `redirect` with `code`.
fn assert_redirected(response: &Response<Vec<u8>>, redirect: &str, code: &str) {
    assert_eq!(response.status(), 303);
    assert!(
        location(response).starts_with(redirect),
        "{}",
        location(response)
    );
    assert_eq!(redirect_params(response)["error"], code);
}

// C-PA-1: push → 201 {request_uri, expires_in} → authorize with client_id and request_uri only
// → approve → code → tokens; the stored record is the pushing client's, spent once accepted.
#[tokio::test]
async fn a_pushed_request_completes_the_code_flow() {
    let fx = fixture().await;
    let response = fx
        .server
        .push_authorization_request(&app_push(&app_params()))
        .await;
    assert_eq!(response.status(), 201, "{}", body_text(&response));
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = json(&response);
    assert_eq!(body["expires_in"], 60);
    let request_uri = text(&body, "request_uri").to_owned();
    let random = request_uri.strip_prefix(REQUEST_URI_PREFIX).unwrap();
    assert!(random.len() >= 43, "{random}");

    let stored = record(&fx, &request_uri).await.unwrap();
    assert!(stored.is_live(fx.server.now()));
    assert_eq!(
        stored.expires_at,
        fx.server.now().after(Duration::from_secs(60))
    );
    assert!(
        stored
            .data
            .to_json()
            .unwrap()
            .contains(r#""client_id":"app""#)
    );

    let pending = authorize(&fx, APP, &request_uri, &[]).await.unwrap();
    assert_eq!(pending.client().id().as_str(), APP);
    assert_eq!(pending.scope().to_string(), "read write");
    assert_eq!(pending.state(), Some("st ate"));
    assert_eq!(pending.redirect_uri(), APP_REDIRECT);
    assert!(pending.code_challenge().is_some());
    assert!(record(&fx, &request_uri).await.unwrap().spent);

    let granted = grantor::ScopeSet::parse("read write").unwrap();
    let owner = grantor::OwnerId::new("alice");
    let response = fx.server.approve(pending, &owner, &granted).await.unwrap();
    let params = redirect_params(&response);
    assert_eq!(params["state"], "st ate");
    let response = fx.redeem_app_code(&params["code"]).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert_eq!(json(&response)["scope"], "read write");
}

// C-PA-1: a confidential client pushes with HTTP Basic (no client_id in the body); its
// secret is not stored with the request.
#[tokio::test]
async fn a_confidential_client_pushes_with_basic_and_its_secret_is_not_kept() {
    let fx = fixture().await;
    let pairs = [
        ("response_type", "code"),
        ("scope", "read"),
        ("state", "s"),
        ("redirect_uri", SVC_REDIRECT),
    ];
    let request = basic_post("/par", SVC, SVC_SECRET, &pairs);
    let request_uri = pushed(&fx, request).await;
    let data = record(&fx, &request_uri).await.unwrap().data;
    assert!(!data.to_json().unwrap().contains(SVC_SECRET));

    let post = [
        ("client_id", SVC),
        ("client_secret", SVC_SECRET),
        ("response_type", "code"),
        ("scope", "write"),
    ];
    let request_uri = pushed(&fx, post_form("/par", form_body(&post))).await;
    let data = record(&fx, &request_uri).await.unwrap().data;
    assert!(!data.to_json().unwrap().contains(SVC_SECRET));
    let pending = authorize(&fx, SVC, &request_uri, &[]).await.unwrap();
    assert_eq!(pending.redirect_uri(), SVC_REDIRECT);
}

// C-PA-1: a request_uri is used once: the second use, however sent, is a direct
// invalid_request_uri.
#[tokio::test]
async fn a_request_uri_is_used_once() {
    let fx = fixture().await;
    let request_uri = pushed(&fx, app_push(&app_params())).await;
    authorize(&fx, APP, &request_uri, &[]).await.unwrap();
    assert_unusable(authorize(&fx, APP, &request_uri, &[]).await);
    let response = fx
        .server
        .authorize(&post_form(
            "/authorize",
            form_body(&[("client_id", APP), ("request_uri", &request_uri)]),
        ))
        .await;
    assert_unusable(response);
    // Unknown and malformed ones too.
    let unknown = format!("{REQUEST_URI_PREFIX}no-such-request");
    assert_unusable(authorize(&fx, APP, &unknown, &[]).await);
    assert_unusable(authorize(&fx, APP, REQUEST_URI_PREFIX, &[]).await);
}

// C-PA-1: a request_uri expires after the configured lifetime (default 60 s), read from the
// config's clock; the lifetime is bounded by RFC 9126's guidance.
#[tokio::test]
async fn a_request_uri_expires() {
    let fx = fixture().await;
    let early = pushed(&fx, app_push(&app_params())).await;
    let late = pushed(&fx, app_push(&app_params())).await;
    fx.advance(59);
    authorize(&fx, APP, &early, &[]).await.unwrap();
    fx.advance(1);
    assert_unusable(authorize(&fx, APP, &late, &[]).await);

    let fx = fixture_with(|c| c.pushed_request_lifetime(Duration::from_secs(10))).await;
    let response = fx
        .server
        .push_authorization_request(&app_push(&app_params()))
        .await;
    assert_eq!(json(&response)["expires_in"], 10);
    assert_eq!(
        fx.server.config().pushed_request_lifetime(),
        Duration::from_secs(10)
    );
    fx.advance(10);
    assert_unusable(authorize(&fx, APP, text(&json(&response), "request_uri"), &[]).await);

    for secs in [0, 601] {
        let built = Config::builder(ISSUER)
            .pushed_request_lifetime(Duration::from_secs(secs))
            .build();
        assert!(built.is_err(), "{secs} s was accepted");
    }
    assert_eq!(
        grantor::MAX_PUSHED_REQUEST_LIFETIME,
        Duration::from_secs(600)
    );
}

// C-PA-1: a request_uri is bound to the client that pushed it: another client_id gets a direct
// invalid_request_uri, and the request stays usable by its own client.
#[tokio::test]
async fn a_request_uri_is_bound_to_its_client() {
    let fx = fixture().await;
    let pairs = [("response_type", "code"), ("scope", "read")];
    let request_uri = pushed(&fx, basic_post("/par", SVC, SVC_SECRET, &pairs)).await;
    assert_unusable(authorize(&fx, APP, &request_uri, &[]).await);
    assert!(!record(&fx, &request_uri).await.unwrap().spent);
    // Without client_id, the request is refused before the request_uri is read.
    let response = fx
        .server
        .authorize(&get(&format!(
            "/authorize?request_uri={}",
            enc(&request_uri)
        )))
        .await;
    match response {
        Err(AuthorizationError::Direct(error)) => {
            assert_eq!(error.code(), ErrorCode::InvalidRequest)
        }
        other => panic!("{other:?}"),
    }
    authorize(&fx, SVC, &request_uri, &[]).await.unwrap();
}

// C-PA-1 (strict choice): a front-channel parameter that does not repeat a pushed one with
// the same value is refused with invalid_request at the pushed redirect URI, and the request
// is not spent; repeating a pushed parameter exactly is accepted.
#[tokio::test]
async fn contradicting_front_channel_parameters_are_refused() {
    let fx = fixture().await;
    let request_uri = pushed(&fx, app_push(&app_params())).await;
    for extra in [
        [("scope", "read")],
        [("redirect_uri", "https://app.example/cb")],
        [("code_challenge_method", "plain")],
        [("prompt", "none")],
    ] {
        let error = authorize(&fx, APP, &request_uri, &extra).await.unwrap_err();
        assert_eq!(error.error().code(), ErrorCode::InvalidRequest, "{extra:?}");
        let response = error.into_response();
        assert_redirected(&response, APP_REDIRECT, "invalid_request");
        assert_eq!(redirect_params(&response)["state"], "st ate");
        assert!(!record(&fx, &request_uri).await.unwrap().spent);
    }
    let same = [("scope", "read write"), ("state", "st ate")];
    let pending = authorize(&fx, APP, &request_uri, &same).await.unwrap();
    assert_eq!(pending.scope().to_string(), "read write");
}

// C-PA-1: the pushed request is validated as the authorization endpoint validates one, with
// the errors as JSON (400); request_uri cannot be pushed.
#[tokio::test]
async fn pushed_parameters_are_validated_like_authorization_requests() {
    let fx = fixture().await;
    let without = |name: &str| {
        let params: Vec<_> = app_params()
            .into_iter()
            .filter(|(n, _)| *n != name)
            .collect();
        app_push(&params)
    };
    let with = |name: &'static str, value: &str| {
        let mut params = app_params();
        params.retain(|(n, _)| *n != name);
        params.push((name, value.to_owned()));
        app_push(&params)
    };
    let mut get = app_push(&app_params());
    *get.method_mut() = Method::GET;
    for (request, error) in [
        (get, "invalid_request"),
        (
            with("request_uri", "urn:ietf:params:oauth:request_uri:x"),
            "invalid_request",
        ),
        (without("code_challenge"), "invalid_request"),
        (without("response_type"), "invalid_request"),
        (with("response_type", "magic"), "unsupported_response_type"),
        (with("scope", "admin"), "invalid_scope"),
        (
            with("redirect_uri", "https://evil.example/cb"),
            "invalid_request",
        ),
        (with("code_challenge_method", "plain"), "invalid_request"),
        (
            with("resource", "https://unknown.example"),
            "invalid_target",
        ),
        (with("response_mode", "bogus"), "invalid_request"),
        (with("response_type", "token"), "unauthorized_client"),
    ] {
        let response = fx.server.push_authorization_request(&request).await;
        assert_error(&response, 400, error);
    }
    assert_eq!(fx.storage().stats().records, 0);
}

// C-PA-1, RFC 9126 §2.3: a client that fails to authenticate is answered 401 invalid_client
// with a Basic challenge, whichever way it tried, and nothing is stored.
#[tokio::test]
async fn an_unauthenticated_push_is_401_invalid_client() {
    let fx = fixture().await;
    let pairs = [("response_type", "code"), ("scope", "read")];
    let wrong_basic = basic_post("/par", SVC, "wrong-secret", &pairs);
    let wrong_post = post_form(
        "/par",
        form_body(&[
            ("client_id", SVC),
            ("client_secret", "wrong"),
            ("response_type", "code"),
        ]),
    );
    let id_only = post_form(
        "/par",
        form_body(&[("client_id", SVC), ("response_type", "code")]),
    );
    let unknown = post_form(
        "/par",
        form_body(&[("client_id", "nobody"), ("response_type", "code")]),
    );
    let nothing = post_form("/par", form_body(&[("response_type", "code")]));
    for request in [wrong_basic, wrong_post, id_only, unknown, nothing] {
        let response = fx.server.push_authorization_request(&request).await;
        assert_error(&response, 401, "invalid_client");
        let challenge = format!("Basic realm=\"{ISSUER}\"");
        assert_eq!(response.headers()["www-authenticate"], challenge.as_str());
    }
    assert_eq!(fx.storage().stats().records, 0);
}

// C-PA-1: a client registered to require PAR gets invalid_request (redirected: its redirect
// URI is trusted) from the front channel, and is served through PAR.
#[tokio::test]
async fn a_client_can_require_pushed_requests() {
    let fx = fixture().await;
    let query = format!("response_type=code&client_id={PUSHER}&scope=read&state=s");
    let response = refused_without_push(&fx, &query).await;
    assert_redirected(&response, PUSHER_REDIRECT, "invalid_request");
    assert_eq!(redirect_params(&response)["state"], "s");

    let pairs = [("response_type", "code"), ("state", "s")];
    let request_uri = pushed(&fx, basic_post("/par", PUSHER, PUSHER_SECRET, &pairs)).await;
    let pending = authorize(&fx, PUSHER, &request_uri, &[]).await.unwrap();
    assert!(pending.client().requires_pushed_authorization_requests());
    // Other clients still may use the front channel.
    fx.server
        .authorize(&get(&format!("/authorize?{}", app_query())))
        .await
        .unwrap();
}

// C-PA-1: with the server-wide switch, every front-channel request without request_uri is
// refused, and the metadata says so.
#[tokio::test]
async fn the_server_can_require_pushed_requests() {
    let fx = fixture_with(|c| c.require_pushed_authorization_requests(true)).await;
    assert!(fx.server.config().requires_pushed_authorization_requests());
    let response = refused_without_push(&fx, &app_query()).await;
    assert_redirected(&response, APP_REDIRECT, "invalid_request");
    let request_uri = pushed(&fx, app_push(&app_params())).await;
    authorize(&fx, APP, &request_uri, &[]).await.unwrap();
    assert_eq!(
        fx.server.metadata()["require_pushed_authorization_requests"],
        true
    );
}

// C-PA-1, RFC 9126 §5: the metadata lists the endpoint (configurable) and the switch.
#[test]
fn metadata_lists_the_endpoint() {
    let server = |config: grantor::ConfigBuilder| {
        Server::new(config.build().unwrap(), MemoryStorage::new()).metadata()
    };
    let plain = server(Config::builder(ISSUER));
    assert_eq!(
        plain["pushed_authorization_request_endpoint"],
        format!("{ISSUER}/par")
    );
    assert_eq!(plain["require_pushed_authorization_requests"], false);
    let moved = server(
        Config::builder(ISSUER).pushed_authorization_request_endpoint("https://par.example/push"),
    );
    assert_eq!(
        moved["pushed_authorization_request_endpoint"],
        "https://par.example/push"
    );
    let bad = Config::builder(ISSUER)
        .pushed_authorization_request_endpoint("http://par.example/push")
        .build();
    assert!(bad.is_err());
}

// C-PA-1, RFC 9126 §6: require_pushed_authorization_requests is a registration field that
// round-trips through registration and management, and takes effect.
#[tokio::test]
async fn the_registration_field_round_trips() {
    let fx = Fixture::with_server(
        MemoryStorage::new(),
        |c| c.scopes_supported("read"),
        |b| b.registration(RegistrationPolicy::open()),
    )
    .await;
    let body = json!({
        "redirect_uris": ["https://reg.example/cb"],
        "scope": "read",
        "require_pushed_authorization_requests": true,
    });
    let response = fx
        .server
        .register(&json_request(Method::POST, "/register", &body))
        .await;
    assert_eq!(response.status(), 201, "{}", body_text(&response));
    let answer = json(&response);
    assert_eq!(answer["require_pushed_authorization_requests"], true);
    let id = text(&answer, "client_id");
    let secret = text(&answer, "client_secret");
    let token = text(&answer, "registration_access_token");

    let mut read = get(&format!("/register/{id}"));
    let bearer = format!("Bearer {token}").parse().unwrap();
    read.headers_mut()
        .insert(http::header::AUTHORIZATION, bearer);
    let read = fx.server.client_configuration(&read, id).await;
    assert_eq!(json(&read)["require_pushed_authorization_requests"], true);

    let client = grantor::storage::ClientStore::client(fx.storage(), id)
        .await
        .unwrap()
        .unwrap();
    assert!(client.requires_pushed_authorization_requests());
    let query = format!("response_type=code&client_id={id}&scope=read");
    let response = refused_without_push(&fx, &query).await;
    assert_redirected(&response, "https://reg.example/cb", "invalid_request");
    let pairs = [("response_type", "code"), ("scope", "read")];
    let request_uri = pushed(&fx, basic_post("/par", id, secret, &pairs)).await;
    authorize(&fx, id, &request_uri, &[]).await.unwrap();

    // Absent means false, and false is not shown.
    let body = json!({"redirect_uris": ["https://reg2.example/cb"], "scope": "read"});
    let response = fx
        .server
        .register(&json_request(Method::POST, "/register", &body))
        .await;
    assert!(
        json(&response)
            .get("require_pushed_authorization_requests")
            .is_none()
    );
}

/// Two uses of one request_uri at once: exactly one is accepted (storage's exactly-once step).
async fn racing_uses_get_one_request<S: Storage>(fx: Fixture<S>) {
    for _ in 0..10 {
        let request_uri = pushed(&fx, app_push(&app_params())).await;
        let (a, b) = tokio::join!(
            authorize(&fx, APP, &request_uri, &[]),
            authorize(&fx, APP, &request_uri, &[]),
        );
        let accepted = [&a, &b].iter().filter(|result| result.is_ok()).count();
        assert_eq!(accepted, 1, "{a:?} {b:?}");
        for result in [a, b].into_iter().filter(Result::is_err) {
            assert_unusable(result);
        }
        assert!(record(&fx, &request_uri).await.unwrap().spent);
    }
}

// C-PA-1: single use holds under a race, on memory and on SQL (where the pushed parameters
// go through JSON).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_uses_on_memory() {
    racing_uses_get_one_request(fixture().await).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_uses_on_sqlite() {
    let db = common::sqlite::TempDb::new();
    racing_uses_get_one_request(Fixture::with_storage(db.open().await, |c| c).await).await;
}

// C-PA-1, C-DP-3: a `dpop_jkt` pushed with the request binds the code as one sent through the
// front channel does: the pushed parameters go through the same validation.
#[cfg(feature = "jose")]
#[tokio::test]
async fn a_pushed_dpop_jkt_binds_the_request() {
    let storage = MemoryStorage::new();
    let dpop = grantor::dpop::Dpop::new(storage.clone());
    let fx = Fixture::with_storage(storage, |c| c.dpop(dpop)).await;
    let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    let mut params = app_params();
    params.push(("dpop_jkt", jkt.to_owned()));
    let request_uri = pushed(&fx, app_push(&params)).await;
    let pending = authorize(&fx, APP, &request_uri, &[]).await.unwrap();
    assert_eq!(pending.dpop_jkt(), Some(jkt));
    params.retain(|(name, _)| *name != "dpop_jkt");
    params.push(("dpop_jkt", "not-a-thumbprint".to_owned()));
    let response = fx
        .server
        .push_authorization_request(&app_push(&params))
        .await;
    assert_error(&response, 400, "invalid_request");
}
