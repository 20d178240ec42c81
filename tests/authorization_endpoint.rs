//! The authorization endpoint: RFC 6749 §3.1, §4.1, RFC 7636 and RFC 9207, black-box.

mod common;

use common::*;
use grantor::{AuthorizationError, CodeChallenge, ErrorCode, OwnerId, ResponseType, ScopeSet};
use http::Request;

async fn refuse(fx: &Fixture, request: Request<Vec<u8>>) -> AuthorizationError {
    fx.server
        .authorize(&request)
        .await
        .expect_err("request must be refused")
}

fn challenge() -> String {
    CodeChallenge::s256(VERIFIER).value().to_owned()
}

/// A valid `app` query with one parameter replaced or removed (`None`).
fn app_query_with(name: &str, value: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(app_query().as_bytes())
        .into_owned()
        .filter(|(n, _)| n != name)
        .collect();
    if let Some(value) = value {
        pairs.push((name.to_owned(), value.to_owned()));
    }
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn assert_direct(error: &AuthorizationError, code: ErrorCode) {
    match error {
        AuthorizationError::Direct(e) => assert_eq!(e.code(), code, "{e}"),
        other => panic!("expected a direct error, got {other:?}"),
    }
}

/// Asserts a redirected error and returns the redirect's parameters.
fn assert_redirected(
    error: AuthorizationError,
    code: &str,
) -> std::collections::HashMap<String, String> {
    assert!(
        matches!(error, AuthorizationError::Redirect { .. }),
        "{error:?}"
    );
    let response = error.into_response();
    assert_eq!(response.status(), 303);
    let params = redirect_params(&response);
    assert_eq!(params["error"], code, "{params:?}");
    params
}

// C-AZ-1: GET works, POST works too.
#[tokio::test]
async fn get_and_post_are_accepted() {
    let fx = Fixture::new().await;
    let pending = fx
        .server
        .authorize(&get(&format!("/authorize?{}", app_query())))
        .await
        .unwrap();
    assert_eq!(pending.client().name(), "The App");
    assert_eq!(pending.response_type(), ResponseType::CODE);
    assert_eq!(pending.scope().to_string(), "read write");
    assert_eq!(pending.state(), Some("st ate"));
    assert_eq!(pending.redirect_uri(), APP_REDIRECT);

    let post = post_form("/authorize", app_query().into_bytes());
    assert!(fx.server.authorize(&post).await.is_ok());

    // Any other method, or a POST that is not a form, is refused without a redirect.
    let put = Request::put(format!("/authorize?{}", app_query()))
        .body(Vec::new())
        .unwrap();
    assert_direct(&refuse(&fx, put).await, ErrorCode::InvalidRequest);
    let json_post = Request::post("/authorize")
        .header("content-type", "application/json")
        .body(app_query().into_bytes())
        .unwrap();
    assert_direct(&refuse(&fx, json_post).await, ErrorCode::InvalidRequest);
}

// C-AZ-1: repeated parameters are invalid_request; unknown ones are ignored; empty means absent.
#[tokio::test]
async fn repeated_unknown_and_empty_parameters() {
    let fx = Fixture::new().await;
    // A repeated client_id: nothing can be trusted, so the error is shown directly.
    let repeated_client = format!("/authorize?{}&client_id={APP}", app_query());
    assert_direct(
        &refuse(&fx, get(&repeated_client)).await,
        ErrorCode::InvalidRequest,
    );
    // A repeated scope after the redirect URI is trusted: redirected invalid_request.
    let repeated_scope = format!("/authorize?{}&scope=read", app_query());
    let params = assert_redirected(refuse(&fx, get(&repeated_scope)).await, "invalid_request");
    assert_eq!(params["state"], "st ate");
    // Unknown parameters are ignored, and kept for the host.
    let unknown = format!("/authorize?{}&adnview=appstore&x=1&x=2", app_query());
    let pending = fx.server.authorize(&get(&unknown)).await.unwrap();
    assert_eq!(pending.extra("adnview").unwrap(), Some("appstore"));
    // A repeated unknown parameter is kept whole, but never read as one of its values.
    assert_eq!(
        pending.extra("x").unwrap_err().code(),
        ErrorCode::InvalidRequest
    );
    let xs: Vec<_> = pending.extras().iter().filter(|(n, _)| n == "x").collect();
    assert_eq!(xs.len(), 2);
    assert_eq!(pending.extra("absent").unwrap(), None);
    // An empty scope counts as absent: the client's default scope is used.
    let empty_scope = format!("/authorize?{}", app_query_with("scope", Some("")));
    let pending = fx.server.authorize(&get(&empty_scope)).await.unwrap();
    assert_eq!(pending.scope().to_string(), "read");
}

// C-AZ-2: unknown or missing client, missing/unregistered/mismatched redirect URI: never redirect.
#[tokio::test]
async fn untrusted_client_or_redirect_uri_is_never_redirected() {
    let fx = Fixture::new().await;
    let cases = [
        app_query_with("client_id", None),
        app_query_with("client_id", Some("nobody")),
        app_query_with("redirect_uri", Some("https://evil.example/cb")),
        app_query_with("redirect_uri", Some("https://app.example/cb/")),
        app_query_with("redirect_uri", Some("https://app.example/cb?x=1")),
        app_query_with("redirect_uri", Some("https://APP.example/cb")),
        app_query_with("redirect_uri", Some("not a uri")),
    ];
    for query in cases {
        let error = refuse(&fx, get(&format!("/authorize?{query}"))).await;
        assert_direct(&error, ErrorCode::InvalidRequest);
        let response = error.into_response();
        assert_eq!(response.status(), 400, "{query}");
        assert!(response.headers().get("location").is_none());
    }
}

// C-AZ-3: one registered URI and none sent → use it; several registered → redirect_uri required.
#[tokio::test]
async fn redirect_uri_defaults_only_when_unambiguous() {
    let fx = Fixture::new().await;
    let pending = fx
        .server
        .authorize(&get(&format!(
            "/authorize?{}",
            app_query_with("redirect_uri", None)
        )))
        .await
        .unwrap();
    assert_eq!(pending.redirect_uri(), APP_REDIRECT);

    let multi =
        "/authorize?response_type=code&client_id=multi&code_challenge_method=S256&code_challenge=";
    let error = refuse(&fx, get(&format!("{multi}{}", challenge()))).await;
    assert_direct(&error, ErrorCode::InvalidRequest);
    let chosen = format!(
        "{multi}{}&redirect_uri={}",
        challenge(),
        enc("https://multi.example/two")
    );
    let pending = fx.server.authorize(&get(&chosen)).await.unwrap();
    assert_eq!(pending.redirect_uri(), "https://multi.example/two");
}

// C-AZ-4: missing response_type → invalid_request; unknown → unsupported_response_type; not
// allowed for this client → unauthorized_client; all redirected.
#[tokio::test]
async fn response_type_errors_are_redirected() {
    let fx = Fixture::new().await;
    let missing = app_query_with("response_type", None);
    assert_redirected(
        refuse(&fx, get(&format!("/authorize?{missing}"))).await,
        "invalid_request",
    );
    let unknown = app_query_with("response_type", Some("code id_token"));
    assert_redirected(
        refuse(&fx, get(&format!("/authorize?{unknown}"))).await,
        "unsupported_response_type",
    );
    // `app` is not registered for the implicit grant; the error goes to the fragment.
    let token = app_query_with("response_type", Some("token"));
    let error = refuse(&fx, get(&format!("/authorize?{token}"))).await;
    let location = location(&error.into_response());
    assert!(
        location.starts_with(&format!("{APP_REDIRECT}#")),
        "{location}"
    );
    assert!(location.contains("error=unauthorized_client"));
}

// C-AZ-5, C-IS-1: redirected errors carry error, error_description, the exact state and iss.
#[tokio::test]
async fn redirected_errors_echo_state_and_iss() {
    let fx = Fixture::new().await;
    let query = app_query_with("state", Some("a b&c=d/é")) + "&scope=read";
    let error = refuse(&fx, get(&format!("/authorize?{query}"))).await;
    let params = assert_redirected(error, "invalid_request");
    assert_eq!(params["state"], "a b&c=d/é");
    assert_eq!(params["iss"], ISSUER);
    let description = &params["error_description"];
    assert!(
        description
            .bytes()
            .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\')
    );
}

// C-AZ-5: a registered redirect URI's own query is kept.
#[tokio::test]
async fn registered_query_is_kept() {
    let fx = Fixture::new().await;
    let query = format!(
        "response_type=code&client_id={SVC}&scope=read&state=s&code_challenge={}&code_challenge_method=S256",
        challenge()
    );
    let response = fx.approve(&query, "alice", "read").await;
    let location = location(&response);
    assert!(
        location.starts_with("https://svc.example/cb?tenant=7&code="),
        "{location}"
    );
    let params = redirect_params(&response);
    assert_eq!(params["tenant"], "7");
    assert_eq!(params["state"], "s");
}

// C-AZ-6: codes carry at least 128 bits, expire (default 60 s) and are single-use.
#[tokio::test]
async fn codes_are_random_short_lived_and_single_use() {
    let fx = Fixture::new().await;
    let code = fx.app_code().await;
    assert_eq!(code.len(), 43, "256 bits, base64url");
    assert_ne!(code, fx.app_code().await);

    fx.advance(60);
    assert_error(&fx.redeem_app_code(&code).await, 400, "invalid_grant");

    let code = fx.app_code().await;
    fx.advance(59);
    assert_eq!(fx.redeem_app_code(&code).await.status(), 200);
    assert_error(&fx.redeem_app_code(&code).await, 400, "invalid_grant");
}

// C-AZ-8: absent scope → the client's default, or invalid_scope when it has none; scopes the
// client may not request → invalid_scope; malformed lists → invalid_scope.
#[tokio::test]
async fn scope_defaults_and_limits() {
    let fx = Fixture::new().await;
    let svc_no_scope = format!(
        "/authorize?response_type=code&client_id={SVC}&state=s&code_challenge={}&code_challenge_method=S256",
        challenge()
    );
    let params = assert_redirected(refuse(&fx, get(&svc_no_scope)).await, "invalid_scope");
    assert_eq!(params["state"], "s");
    for scope in ["admin", "read admin", "read  write", "Read"] {
        let query = app_query_with("scope", Some(scope));
        assert_redirected(
            refuse(&fx, get(&format!("/authorize?{query}"))).await,
            "invalid_scope",
        );
    }
    // Case-sensitive and space-delimited: "write read" is the set {read, write}.
    let query = app_query_with("scope", Some("write read"));
    let pending = fx
        .server
        .authorize(&get(&format!("/authorize?{query}")))
        .await
        .unwrap();
    assert_eq!(pending.scope(), &ScopeSet::parse("read write").unwrap());
}

// C-AZ-9: the redirect after the consent POST is 303 See Other, never 307.
#[tokio::test]
async fn approval_redirect_is_303() {
    let fx = Fixture::new().await;
    let consent = post_form(
        "/authorize",
        format!("{}&decision=approve", app_query()).into_bytes(),
    );
    let pending = fx.server.authorize(&consent).await.unwrap();
    assert_eq!(pending.extra("decision").unwrap(), Some("approve"));
    let scope = pending.scope().clone();
    let response = fx
        .server
        .approve(pending, &OwnerId::new("alice"), &scope)
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let params = redirect_params(&response);
    assert_eq!(params["state"], "st ate");
    assert_eq!(params["iss"], ISSUER);
    assert!(params.contains_key("code"));

    // Another request, denied this time (a request is answered once).
    let pending = fx.server.authorize(&consent).await.unwrap();
    let denied = fx.server.deny(pending);
    assert_eq!(denied.status(), 303);
    let params = redirect_params(&denied);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "st ate");
    assert!(!params.contains_key("code"));
}

// C-PK-1: S256 accepted, plain refused unless enabled, unknown methods refused.
#[tokio::test]
async fn pkce_methods() {
    let fx = Fixture::new().await;
    for method in [Some("plain"), Some("S384"), None] {
        let query = app_query_with("code_challenge_method", method);
        assert_redirected(
            refuse(&fx, get(&format!("/authorize?{query}"))).await,
            "invalid_request",
        );
    }
    let plain = Fixture::with(|c| c.allow_plain_pkce(true)).await;
    let query = app_query_with("code_challenge", Some(VERIFIER));
    let query = query.replace("code_challenge_method=S256", "code_challenge_method=plain");
    assert!(
        plain
            .server
            .authorize(&get(&format!("/authorize?{query}")))
            .await
            .is_ok()
    );
}

// C-PK-2: public clients must send a challenge; confidential ones too when configured.
#[tokio::test]
async fn pkce_is_required_for_public_clients() {
    let fx = Fixture::new().await;
    let query = app_query_with("code_challenge", None);
    let query = query.replace("&code_challenge_method=S256", "");
    let params = assert_redirected(
        refuse(&fx, get(&format!("/authorize?{query}"))).await,
        "invalid_request",
    );
    assert!(params["error_description"].contains("code_challenge"));

    let svc = format!("/authorize?response_type=code&client_id={SVC}&scope=read");
    assert!(fx.server.authorize(&get(&svc)).await.is_ok());
    let strict = Fixture::with(|c| c.require_pkce_for_all(true)).await;
    assert_redirected(refuse(&strict, get(&svc)).await, "invalid_request");
}

// C-AZ-10: state can be made mandatory.
#[tokio::test]
async fn state_can_be_required() {
    let fx = Fixture::with(|c| c.require_state(true)).await;
    let query = app_query_with("state", None);
    let params = assert_redirected(
        refuse(&fx, get(&format!("/authorize?{query}"))).await,
        "invalid_request",
    );
    assert!(!params.contains_key("state"));
    assert!(
        fx.server
            .authorize(&get(&format!("/authorize?{}", app_query())))
            .await
            .is_ok()
    );
}

const IMPLICIT: &str = "implicit-app";
const IMPLICIT_REDIRECT: &str = "https://spa.example/cb";

/// A fixture with an extra client registered for the implicit grant.
async fn with_implicit_client(
    configure: impl FnOnce(grantor::ConfigBuilder) -> grantor::ConfigBuilder,
) -> Fixture {
    let fx = Fixture::with(configure).await;
    let client = grantor::Client::public(IMPLICIT)
        .redirect_uri(IMPLICIT_REDIRECT)
        .grant_types([grantor::GrantType::Implicit])
        .allowed_scopes("read")
        .build()
        .unwrap();
    fx.server.register_client(client).await.unwrap();
    fx
}

/// Every kind of authorization response, each as a 303 response: code success, redirected
/// error, denial, implicit success (fragment) and implicit error (fragment).
async fn every_authorization_response(
    fx: &Fixture,
) -> Vec<(&'static str, http::Response<Vec<u8>>)> {
    let code = fx.approve(&app_query(), "alice", "read").await;
    let error_query = app_query_with("scope", Some("admin"));
    let error = refuse(fx, get(&format!("/authorize?{error_query}"))).await;
    let pending = fx
        .server
        .authorize(&get(&format!("/authorize?{}", app_query())))
        .await
        .unwrap();
    let denied = fx.server.deny(pending);
    let implicit_query = format!("response_type=token&client_id={IMPLICIT}&scope=read&state=s");
    let implicit = fx.approve(&implicit_query, "alice", "read").await;
    let implicit_error = format!("response_type=token&client_id={IMPLICIT}&scope=admin&state=s");
    let implicit_error = refuse(fx, get(&format!("/authorize?{implicit_error}"))).await;
    vec![
        ("code", code),
        ("error", error.into_response()),
        ("denied", denied),
        ("implicit", implicit),
        ("implicit error", implicit_error.into_response()),
    ]
}

// C-IS-1: iss, exactly the issuer, on every authorization response by default: success and
// error, query and fragment (RFC 9207 §2).
#[tokio::test]
async fn iss_is_on_every_authorization_response() {
    let fx = with_implicit_client(|c| c).await;
    for (kind, response) in every_authorization_response(&fx).await {
        assert_eq!(response.status(), 303, "{kind}");
        let location = location(&response);
        let params = redirect_params(&response);
        assert_eq!(
            params.get("iss").map(String::as_str),
            Some(ISSUER),
            "{kind}: {location}"
        );
        let in_fragment = kind.starts_with("implicit");
        assert_eq!(location.contains('#'), in_fragment, "{kind}: {location}");
    }
}

// C-IS-1: iss can be turned off, for every kind of response.
#[tokio::test]
async fn iss_parameter_can_be_disabled() {
    let fx = with_implicit_client(|c| c.issuer_parameter(false)).await;
    for (kind, response) in every_authorization_response(&fx).await {
        let params = redirect_params(&response);
        assert!(params.contains_key("state"), "{kind}");
        assert!(!params.contains_key("iss"), "{kind}: {params:?}");
    }
}

// C-SE-3: malformed query strings never panic and never redirect when nothing is trusted.
#[tokio::test]
async fn malformed_queries_are_invalid_request() {
    let fx = Fixture::new().await;
    let long = format!("/authorize?{}&pad={}", app_query(), "a".repeat(20_000));
    for uri in [
        "/authorize?client_id=%ZZ",
        "/authorize?client_id=%FF%FE",
        "/authorize?client_id=app%",
        long.as_str(),
    ] {
        assert_direct(&refuse(&fx, get(uri)).await, ErrorCode::InvalidRequest);
    }
    let body = Request::post("/authorize")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![0xff, 0xfe, b'=', 0x00])
        .unwrap();
    assert_direct(&refuse(&fx, body).await, ErrorCode::InvalidRequest);
    assert_eq!(fx.storage().stats().records, 0);
}

// C-SC-1: the owner may grant a subset; the code carries only what was granted, and scopes
// outside the request are dropped.
#[tokio::test]
async fn owner_grants_a_subset() {
    let fx = Fixture::new().await;
    let response = fx.approve(&app_query(), "alice", "read admin").await;
    let code = redirect_params(&response)["code"].clone();
    let tokens = json(&fx.redeem_app_code(&code).await);
    assert_eq!(tokens["scope"], "read");
}

// C-AZ-8, C-SC-1: an owner who grants none of the requested scopes refuses the request; the
// client never gets a token whose missing `scope` it would read as "everything asked for".
#[tokio::test]
async fn granting_nothing_is_access_denied() {
    let fx = Fixture::new().await;
    let before = fx.storage().stats();
    let response = fx.approve(&app_query(), "alice", "admin").await;
    let params = redirect_params(&response);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "st ate");
    assert!(!params.contains_key("code"));
    assert_eq!(fx.storage().stats(), before);
}

// C-AZ-1, C-SE-3: the unknown parameters kept for the host are capped in count and bytes, so a
// pending request never costs more than configured; beyond the cap the request is
// invalid_request, redirected (the redirect URI is trusted by then).
#[tokio::test]
async fn unknown_parameters_are_capped() {
    let fx = Fixture::with(|c| c.max_extra_parameters(4).max_extra_parameter_bytes(64)).await;
    let four = format!("/authorize?{}&a=1&b=2&c=3&d=4", app_query());
    let pending = fx.server.authorize(&get(&four)).await.unwrap();
    assert_eq!(pending.extras().len(), 4);
    let five = format!("/authorize?{}&a=1&b=2&c=3&d=4&e=5", app_query());
    let params = assert_redirected(refuse(&fx, get(&five)).await, "invalid_request");
    assert_eq!(params["state"], "st ate");
    let at_cap = format!("/authorize?{}&note={}", app_query(), "x".repeat(60));
    assert!(
        fx.server.authorize(&get(&at_cap)).await.is_ok(),
        "4 + 60 bytes: at the cap"
    );
    let long = format!("/authorize?{}&note={}", app_query(), "x".repeat(61));
    assert_redirected(refuse(&fx, get(&long)).await, "invalid_request");
    // Empty pieces are not parameters; empty names and values are, and count.
    let empties = format!("/authorize?{}&&&&&&&&&&&", app_query());
    assert!(fx.server.authorize(&get(&empties)).await.is_ok());
    let named = format!("/authorize?{}&=&=&=&=&=", app_query());
    assert_redirected(refuse(&fx, get(&named)).await, "invalid_request");

    // The defaults: 32 parameters, 4 KiB. A 16 KiB query of thousands of empty parameters is
    // refused instead of kept.
    let fx = Fixture::new().await;
    let flood = format!("/authorize?{}{}", app_query(), "&x=".repeat(5_000));
    assert_redirected(refuse(&fx, get(&flood)).await, "invalid_request");
    let many: String = (0..33).map(|i| format!("&p{i}=v")).collect();
    let many = format!("/authorize?{}{many}", app_query());
    assert_redirected(refuse(&fx, get(&many)).await, "invalid_request");
}

// A pending request saved in a session store a fleet shares is resumed on another instance,
// approved there, and its code is redeemed like any other.
#[tokio::test]
async fn a_saved_request_is_resumed_on_another_instance() {
    let storage = grantor::MemoryStorage::new();
    let first = Fixture::with_storage(storage.clone(), |c| c).await;
    let query = format!("{}&adnview=appstore", app_query());
    let pending = first
        .server
        .authorize(&get(&format!("/authorize?{query}")))
        .await
        .unwrap();
    let saved = serde_json::to_string(&pending.save()).unwrap();
    assert!(
        !saved.contains(VERIFIER),
        "the verifier never reaches the client's request"
    );

    let second = Fixture::with_storage(storage, |c| c).await;
    let resumed = second
        .server
        .resume(serde_json::from_str(&saved).unwrap())
        .await
        .unwrap();
    assert_eq!(resumed.client().id().as_str(), APP);
    assert_eq!(resumed.state(), Some("st ate"));
    assert_eq!(resumed.scope(), pending.scope());
    assert_eq!(resumed.extra("adnview").unwrap(), Some("appstore"));
    let response = second
        .server
        .approve(resumed, &OwnerId::new("alice"), pending.scope())
        .await
        .unwrap();
    let code = redirect_params(&response)["code"].clone();
    let tokens = first.redeem_app_code(&code).await;
    assert_eq!(tokens.status(), 200, "{}", body_text(&tokens));
}

// C-AZ-2: a saved request is checked against the client's registration when resumed: a
// client whose redirect URI (or grant) changed meanwhile gets a direct error, never a redirect.
#[tokio::test]
async fn a_resumed_request_is_checked_against_the_current_registration() {
    let fx = Fixture::new().await;
    let pending = fx
        .server
        .authorize(&get(&format!("/authorize?{}", app_query())))
        .await
        .unwrap();
    let saved = pending.save();
    let moved = grantor::Client::public(APP)
        .redirect_uri("https://app.example/new-callback")
        .allowed_scopes("read write")
        .build()
        .unwrap();
    fx.server.register_client(moved).await.unwrap();
    assert_direct(
        &fx.server.resume(saved.clone()).await.unwrap_err(),
        ErrorCode::InvalidRequest,
    );
    let implicit_only = grantor::Client::public(APP)
        .redirect_uri(APP_REDIRECT)
        .grant_types([grantor::GrantType::Implicit])
        .allowed_scopes("read write")
        .build()
        .unwrap();
    fx.server.register_client(implicit_only).await.unwrap();
    assert_direct(
        &fx.server.resume(saved.clone()).await.unwrap_err(),
        ErrorCode::InvalidRequest,
    );
    // Narrowed scopes: the saved request asks for more than the client may now have.
    let narrowed = grantor::Client::public(APP)
        .redirect_uri(APP_REDIRECT)
        .allowed_scopes("read")
        .build()
        .unwrap();
    fx.server.register_client(narrowed).await.unwrap();
    assert_direct(
        &fx.server.resume(saved.clone()).await.unwrap_err(),
        ErrorCode::InvalidRequest,
    );
    let storage = grantor::MemoryStorage::new();
    let elsewhere = Fixture::with_storage(storage, |c| c).await;
    let gone = serde_json::to_string(&saved)
        .unwrap()
        .replace("\"app\"", "\"deleted-app\"");
    assert_direct(
        &elsewhere
            .server
            .resume(serde_json::from_str(&gone).unwrap())
            .await
            .unwrap_err(),
        ErrorCode::InvalidRequest,
    );
}

// C-PK-2: a saved request is checked against the PKCE rules when resumed: a confidential
// client's request without a challenge is refused once every client must use PKCE.
#[tokio::test]
async fn a_resumed_request_is_checked_against_the_pkce_rules() {
    let storage = grantor::MemoryStorage::new();
    let lax = Fixture::with_storage(storage.clone(), |c| c).await;
    let query = format!("response_type=code&client_id={SVC}&scope=read&state=s");
    let pending = lax
        .server
        .authorize(&get(&format!("/authorize?{query}")))
        .await
        .unwrap();
    let saved = pending.save();
    assert!(lax.server.resume(saved.clone()).await.is_ok());
    let strict = Fixture::with_storage(storage, |c| c.require_pkce_for_all(true)).await;
    assert_direct(
        &strict.server.resume(saved).await.unwrap_err(),
        ErrorCode::InvalidRequest,
    );
}

// C-AZ-5: the host can refuse a request with an error of its choosing, redirected with
// `state` and `iss` like every other authorization error.
#[tokio::test]
async fn the_host_can_reject_a_request() {
    let fx = Fixture::new().await;
    let repeated = format!("/authorize?{}&decision=approve&decision=deny", app_query());
    let pending = fx.server.authorize(&get(&repeated)).await.unwrap();
    let error = pending.extra("decision").unwrap_err();
    let response = fx.server.reject(pending, error);
    assert_eq!(response.status(), 303);
    let params = redirect_params(&response);
    assert_eq!(params["error"], "invalid_request");
    assert_eq!(params["state"], "st ate");
    assert_eq!(params["iss"], ISSUER);
    assert!(!params.contains_key("code"));
}

// C-AZ-4: a server without the code grant answers `response_type=code` with
// unsupported_response_type, and its metadata does not offer `code`.
#[tokio::test]
async fn no_code_without_the_code_grant() {
    let fx = Fixture::with_server(
        grantor::MemoryStorage::new(),
        |c| c,
        |s| s.without_grant(&grantor::GrantType::AuthorizationCode),
    )
    .await;
    let params = assert_redirected(
        refuse(&fx, get(&format!("/authorize?{}", app_query()))).await,
        "unsupported_response_type",
    );
    assert_eq!(params["state"], "st ate");
    let metadata = fx.server.metadata();
    assert_eq!(
        metadata["response_types_supported"],
        serde_json::json!(["token"])
    );
    assert!(
        !metadata["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&"authorization_code".into())
    );
}
