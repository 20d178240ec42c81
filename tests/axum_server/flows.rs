//! The login and consent pages over HTTP, in process: the happy paths, and every bad input
//! getting a clear page (or the RFC error) and never a code.

use axum::http::{StatusCode, header};

use super::axum_server::demo_client::authorization_url;
use super::axum_server::setup::{DEMO_CLIENT, DEMO_USER, DEMO_VERIFIER, Setup};
use super::{Browser, Page, api_me, call, exchange, past_idle_timeout, start, start_with};

const ISSUER: &str = "https://auth.example.com";

/// The demo client's authorization request, as a path on the server.
fn authorization_path(scope: &str) -> String {
    authorization_url("", DEMO_CLIENT, scope, DEMO_VERIFIER)
}

/// Logs in as the demo user: returns the browser and the consent page it lands on.
async fn consent_page(router: &axum::Router) -> (Browser, Page) {
    consent_page_for(router, &authorization_path("profile email messages")).await
}

/// Logs in as the demo user for this authorization request.
async fn consent_page_for(router: &axum::Router, authorization_path: &str) -> (Browser, Page) {
    let mut browser = Browser::new(router);
    let login = browser.get(authorization_path).await;
    assert_eq!(login.status, StatusCode::OK);
    let redirect = log_in(&mut browser, &login, DEMO_USER.0, DEMO_USER.1).await;
    assert_eq!(redirect.status, StatusCode::SEE_OTHER, "{}", redirect.body);
    let consent = browser.get(redirect.location()).await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    (browser, consent)
}

/// Posts the login form of `login` with these credentials.
pub(super) async fn log_in(
    browser: &mut Browser,
    login: &Page,
    username: &str,
    password: &str,
) -> Page {
    let form = [
        ("csrf", login.field("csrf")),
        ("request", login.field("request")),
        ("username", username.to_owned()),
        ("password", password.to_owned()),
    ];
    post(browser, "/login", &form).await
}

/// The consent form's fields, answering with `decision` and these scopes.
pub(super) fn answer<'a>(
    consent: &'a Page,
    decision: &'a str,
    scopes: &[&'a str],
) -> Vec<(&'a str, String)> {
    let mut form = vec![
        ("csrf", consent.field("csrf")),
        ("request", consent.field("request")),
        ("decision", decision.to_owned()),
    ];
    form.extend(scopes.iter().map(|scope| ("scope", (*scope).to_owned())));
    form
}

/// Posts the consent form of `consent` with `decision` and these scopes checked.
async fn respond(browser: &mut Browser, consent: &Page, decision: &str, scopes: &[&str]) -> Page {
    post(browser, "/consent", &answer(consent, decision, scopes)).await
}

pub(super) async fn post(browser: &mut Browser, uri: &str, form: &[(&str, String)]) -> Page {
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post(uri, &form).await
}

/// A clear page (the status, the message, the anti-framing headers) and nothing that would let
/// the flow go on: no redirect, no code.
fn assert_refusal(page: &Page, status: StatusCode, message: &str) {
    assert_eq!(page.status, status, "{}", page.body);
    assert!(page.body.contains(message), "{}", page.body);
    assert!(page.forbids_framing());
    assert_no_redirect(page);
}

/// A 303 back to the demo client with this error, the state, and no code.
pub(super) fn assert_error_redirect(page: &Page, error: &str) {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(page.location().starts_with(&format!("{ISSUER}/callback?")));
    assert_eq!(page.location_param("error").as_deref(), Some(error));
    assert_eq!(page.location_param("state").as_deref(), Some("demo-state"));
    assert_eq!(page.location_param("code"), None);
}

fn assert_no_redirect(page: &Page) {
    assert!(
        page.headers.get(header::LOCATION).is_none(),
        "{:?}",
        page.headers
    );
    assert!(!page.body.contains("code="), "{}", page.body);
}

// C-AZ-9, C-SC-1, C-BR-6: log in, grant less than asked, exchange, call the API.
#[tokio::test]
async fn login_partial_consent_exchange_and_api_call() {
    let (router, _clock) = start(ISSUER).await;
    let mut browser = Browser::new(&router);

    let login = browser
        .get(&authorization_path("profile email messages"))
        .await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.forbids_framing());
    assert_eq!(login.headers[header::CACHE_CONTROL], "no-store");
    assert!(login.body.contains(r#"name="username""#));
    assert!(login.body.contains(r#"name="password" type="password""#));
    let cookie = login.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("__Host-grantor_session="));
    for attribute in ["; HttpOnly", "; SameSite=Lax", "; Secure", "; Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let anonymous_cookie = browser.cookie.clone();

    let redirect = log_in(&mut browser, &login, DEMO_USER.0, DEMO_USER.1).await;
    assert_eq!(redirect.status, StatusCode::SEE_OTHER);
    assert!(redirect.location().starts_with("/consent?request="));
    // Logging in replaces the session id (no session fixation).
    assert_ne!(browser.cookie, anonymous_cookie);

    let consent = browser.get(redirect.location()).await;
    assert_eq!(consent.status, StatusCode::OK);
    assert!(consent.forbids_framing());
    assert!(
        consent
            .body
            .contains("Demo App wants access to your account")
    );
    for scope in ["profile", "email", "messages"] {
        let checkbox = format!(r#"name="scope" value="{scope}" checked"#);
        assert!(consent.body.contains(&checkbox), "{checkbox}");
    }
    assert!(consent.body.contains(r#"name="decision" value="approve""#));
    assert!(consent.body.contains(r#"name="decision" value="deny""#));
    // A fresh CSRF token after login.
    assert_ne!(consent.field("csrf"), login.field("csrf"));

    let form = answer(&consent, "approve", &["profile", "messages"]);
    let approved = post(&mut browser, "/consent", &form).await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER);
    assert!(
        approved
            .location()
            .starts_with(&format!("{ISSUER}/callback?code="))
    );
    assert_eq!(
        approved.location_param("state").as_deref(),
        Some("demo-state")
    );
    let code = approved.location_param("code").unwrap();

    let tokens = exchange(&router, &code, DEMO_VERIFIER).await;
    let mut scope: Vec<&str> = tokens["scope"].as_str().unwrap().split(' ').collect();
    scope.sort_unstable();
    assert_eq!(scope, ["messages", "profile"]);

    let me = api_me(&router, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let mut header: Vec<&str> = me.headers["x-oauth-scopes"]
        .to_str()
        .unwrap()
        .split(',')
        .collect();
    header.sort_unstable();
    assert_eq!(header, ["messages", "profile"]);
    let me: serde_json::Value = serde_json::from_str(&me.body).unwrap();
    assert_eq!(me["owner"], DEMO_USER.0);
    assert_eq!(me["client_id"], DEMO_CLIENT);

    // The same consent POST again: the request was answered, so no second code.
    let replayed = post(&mut browser, "/consent", &form).await;
    assert_refusal(
        &replayed,
        StatusCode::BAD_REQUEST,
        "no longer waiting for an answer",
    );
}

// C-AZ-9: denying sends the client `access_denied`, with a 303.
#[tokio::test]
async fn deny_redirects_with_access_denied() {
    let (router, _clock) = start(ISSUER).await;
    let (mut browser, consent) = consent_page(&router).await;
    let denied = respond(&mut browser, &consent, "deny", &["profile"]).await;
    assert_error_redirect(&denied, "access_denied");
}

#[tokio::test]
async fn a_logged_in_user_goes_straight_to_consent() {
    let (router, _clock) = start(ISSUER).await;
    let (mut browser, _) = consent_page(&router).await;
    let again = browser.get(&authorization_path("profile")).await;
    assert_refusal(&again, StatusCode::OK, "Demo App wants access");
    assert!(again.headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn wrong_password_or_unknown_user_shows_the_login_page_again() {
    let (router, _clock) = start(ISSUER).await;
    let mut browser = Browser::new(&router);
    let login = browser.get(&authorization_path("profile")).await;
    let cookie = browser.cookie.clone();
    for (username, password) in [
        (DEMO_USER.0, "not-the-password"),
        ("mallory", DEMO_USER.1),
        (DEMO_USER.0, ""),
    ] {
        let retry = log_in(&mut browser, &login, username, password).await;
        assert_refusal(&retry, StatusCode::OK, "Wrong username or password.");
        assert!(retry.body.contains(r#"name="password""#));
        assert!(retry.forbids_framing());
        assert_no_redirect(&retry);
        assert_eq!(browser.cookie, cookie, "still not logged in");
    }
    // The request is still waiting: the right password continues the flow.
    let ok = log_in(&mut browser, &login, DEMO_USER.0, DEMO_USER.1).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn missing_or_forged_csrf_tokens_are_refused() {
    let (router, _clock) = start(ISSUER).await;
    let mut browser = Browser::new(&router);
    let login = browser.get(&authorization_path("profile")).await;
    let request = login.field("request");
    for csrf in [None, Some("forged"), Some("")] {
        let mut form = vec![
            ("request", request.as_str()),
            ("username", DEMO_USER.0),
            ("password", DEMO_USER.1),
        ];
        form.extend(csrf.map(|csrf| ("csrf", csrf)));
        let refused = browser.post("/login", &form).await;
        assert_refusal(
            &refused,
            StatusCode::FORBIDDEN,
            "This form could not be verified",
        );
    }

    let (mut browser, consent) = consent_page(&router).await;
    let mut forged = answer(&consent, "approve", &["profile"]);
    forged[0].1 = login.field("csrf"); // a real token, of another session
    let refused = post(&mut browser, "/consent", &forged).await;
    assert_refusal(
        &refused,
        StatusCode::FORBIDDEN,
        "This form could not be verified",
    );
    forged.remove(0);
    let refused = post(&mut browser, "/consent", &forged).await;
    assert_refusal(
        &refused,
        StatusCode::FORBIDDEN,
        "This form could not be verified",
    );

    // Refused forms did not use the request up: the real answer still works.
    let approved = respond(&mut browser, &consent, "approve", &["profile"]).await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_expired_session_gets_a_clear_page() {
    let (router, clock) = start(ISSUER).await;
    let (mut browser, consent) = consent_page(&router).await;
    clock.advance(past_idle_timeout());
    let expired = respond(&mut browser, &consent, "approve", &["profile"]).await;
    assert_refusal(
        &expired,
        StatusCode::BAD_REQUEST,
        "Your session has expired",
    );

    // Without any session cookie, the same.
    let mut stranger = Browser::new(&router);
    let expired = respond(&mut stranger, &consent, "approve", &["profile"]).await;
    assert_refusal(
        &expired,
        StatusCode::BAD_REQUEST,
        "Your session has expired",
    );
    let expired = stranger
        .get(&format!("/consent?request={}", consent.field("request")))
        .await;
    assert_refusal(
        &expired,
        StatusCode::BAD_REQUEST,
        "Your session has expired",
    );
}

#[tokio::test]
async fn a_request_waits_for_an_answer_only_so_long() {
    let (router, clock) = start(ISSUER).await;
    let (mut browser, consent) = consent_page(&router).await;
    clock.advance(super::axum_server::sessions::REQUEST_LIFETIME);
    let stale = browser
        .get(&format!("/consent?request={}", consent.field("request")))
        .await;
    assert_refusal(&stale, StatusCode::BAD_REQUEST, "no longer waiting");
    let stale = respond(&mut browser, &consent, "approve", &["profile"]).await;
    assert_refusal(&stale, StatusCode::BAD_REQUEST, "no longer waiting");
}

#[tokio::test]
async fn consent_for_a_request_the_user_never_saw_is_refused() {
    let (router, _clock) = start(ISSUER).await;
    let (mut alice, alices_consent) = consent_page(&router).await;
    let (mut other, others_consent) = consent_page(&router).await;

    // Another session's request id, with this session's CSRF token.
    let mut form = answer(&alices_consent, "approve", &["profile"]);
    form[1].1 = others_consent.field("request");
    let refused = post(&mut alice, "/consent", &form).await;
    assert_refusal(&refused, StatusCode::BAD_REQUEST, "no longer waiting");

    // An id that was never issued, and none at all.
    form[1].1 = "made-up".to_owned();
    let refused = post(&mut alice, "/consent", &form).await;
    assert_refusal(&refused, StatusCode::BAD_REQUEST, "no longer waiting");
    form.remove(1);
    let refused = post(&mut alice, "/consent", &form).await;
    assert_refusal(&refused, StatusCode::BAD_REQUEST, "no longer waiting");

    // The other session's request is untouched.
    let approved = respond(&mut other, &others_consent, "approve", &["profile"]).await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn consent_before_login_or_without_a_decision_is_refused() {
    let (router, _clock) = start(ISSUER).await;
    let mut browser = Browser::new(&router);
    let login = browser.get(&authorization_path("profile")).await;
    // An anonymous session's own CSRF token and request id: still no consent without login.
    let form = answer(&login, "approve", &["profile"]);
    let refused = post(&mut browser, "/consent", &form).await;
    assert_refusal(
        &refused,
        StatusCode::FORBIDDEN,
        "This form could not be verified",
    );

    let (mut browser, consent) = consent_page(&router).await;
    for decision in ["", "maybe"] {
        let refused = respond(&mut browser, &consent, decision, &["profile"]).await;
        assert_refusal(&refused, StatusCode::BAD_REQUEST, "No decision");
    }
    // The consent page without a request id.
    let refused = browser.get("/consent").await;
    assert_refusal(&refused, StatusCode::BAD_REQUEST, "no longer waiting");
}

// C-AZ-2: an untrusted client or redirect URI gets a page, never a redirect.
#[tokio::test]
async fn untrusted_authorization_requests_get_an_error_page() {
    let (router, _clock) = start(ISSUER).await;
    let mut browser = Browser::new(&router);
    let unknown = browser
        .get("/authorize?response_type=code&client_id=nobody&redirect_uri=https%3A%2F%2Fevil.example%2F")
        .await;
    assert_refusal(&unknown, StatusCode::BAD_REQUEST, "unknown client");

    let wrong_uri = format!(
        "{}&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
        authorization_path("profile")
    );
    let refused = browser.get(&wrong_uri).await;
    assert_refusal(
        &refused,
        StatusCode::BAD_REQUEST,
        "redirect_uri is not registered",
    );
}

// C-AZ-5: once the redirect URI is trusted, errors go back to the client.
#[tokio::test]
async fn other_authorization_errors_go_back_to_the_client() {
    let (router, _clock) = start(ISSUER).await;
    let mut browser = Browser::new(&router);
    let refused = browser.get(&authorization_path("profile admin")).await;
    assert_error_redirect(&refused, "invalid_scope");
}

// C-BR-5, C-PR-1: the protected route without a token: a challenge naming its metadata.
#[tokio::test]
async fn the_api_needs_a_token() {
    let (router, _clock) = start(ISSUER).await;
    let anonymous = Browser::new(&router).get("/api/me").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let metadata = format!("{ISSUER}/.well-known/oauth-protected-resource/api/me");
    assert_eq!(
        anonymous.headers[header::WWW_AUTHENTICATE],
        format!("Bearer realm=\"{ISSUER}\", resource_metadata=\"{metadata}\"")
    );
    let document = crate::get_json(&router, "/.well-known/oauth-protected-resource/api/me").await;
    assert_eq!(document["resource"], format!("{ISSUER}/api/me"));
    assert_eq!(document["authorization_servers"][0], ISSUER);
    let forged = api_me(&router, "not-a-token").await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert!(
        forged.headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
}

#[tokio::test]
async fn the_sample_config_loads() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/axum_server/config.sample.json"
    );
    let setup = Setup::load(path.as_ref()).unwrap();
    let clients = setup.clients("http://127.0.0.1:8080").unwrap();
    let ids: Vec<&str> = clients.iter().map(|c| c.id().as_str()).collect();
    assert_eq!(
        ids,
        [
            "demo-app",
            "billing-service",
            "legacy-cli",
            "team-wiki",
            "living-room-tv"
        ]
    );
    // A device client (RFC 8628) by its grant type's URN.
    assert!(clients[4].allows_grant(&grantor::grant::DeviceCodeGrant::grant_type()));
    assert!(!clients[4].is_confidential());
    assert!(!clients[0].is_confidential());
    assert!(clients[0].allowed_scopes().contains("openid"));
    assert!(clients[1].is_confidential());
    assert!(clients[1].verify_secret("change-me-to-a-long-random-secret"));
    assert!(clients[2].allows_grant(&grantor::GrantType::Password));
    assert!(clients[3].allows_response_type(grantor::ResponseType::CODE_ID_TOKEN));
    assert_eq!(clients[3].id_token_signed_response_alg(), "ES256");
    let algorithms = setup.signing_algorithms().unwrap();
    assert_eq!(
        algorithms.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        ["RS256", "ES256"]
    );
    // C-SE-2: the configuration's Debug output holds no client secret.
    assert!(!format!("{setup:?}").contains("change-me-to-a-long-random-secret"));
    assert_eq!(setup.users.len(), 2);
    assert_eq!(setup.users[0].claims["email"], "alice@example.com");
}

// C-CA-1: the configuration's per-client `token_endpoint_auth_method` and `jwks` register a
// private_key_jwt client, which gets a token at /token with an assertion (made with
// jsonwebtoken), and not with its id alone.
#[tokio::test]
async fn a_private_key_jwt_client_from_the_config() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use jwt_simple::prelude::ES256KeyPair;

    let pair = ES256KeyPair::generate();
    let jwk: serde_json::Value = serde_json::from_str(&pair.public_key().to_jwk()).unwrap();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("private-key-jwt.json");
    let config = serde_json::json!({"clients": [{
        "client_id": "batch",
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [jwk]},
        "grant_types": ["client_credentials"],
        "scopes": ["profile"],
    }]});
    std::fs::write(&path, config.to_string()).unwrap();
    let (router, _clock) = start_with(ISSUER, &Setup::load(&path).unwrap()).await;
    let now = super::START.as_secs();
    let claims = serde_json::json!({
        "iss": "batch", "sub": "batch", "aud": format!("{ISSUER}/token"),
        "jti": "assertion-1", "iat": now, "exp": now + 60,
    });
    let key = EncodingKey::from_ec_pem(pair.to_pem().unwrap().as_bytes()).unwrap();
    let assertion = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &key).unwrap();
    let post = |form: &[(&str, &str)]| {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        axum::http::Request::post("/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    let page = call(
        &router,
        post(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion),
        ]),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let page = call(
        &router,
        post(&[("grant_type", "client_credentials"), ("client_id", "batch")]),
    )
    .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(page.body.contains("invalid_client"));
}

#[tokio::test]
async fn a_bad_config_is_reported() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("bad-grant.json");
    std::fs::write(&path, r#"{"clients": [{"client_id": "x", "grant_types": ["magic"], "redirect_uris": ["https://x.example/cb"]}]}"#).unwrap();
    let error = Setup::load(&path)
        .unwrap()
        .clients("http://127.0.0.1:8080")
        .unwrap_err();
    assert!(
        error.to_string().contains("unknown grant type \"magic\""),
        "{error}"
    );

    std::fs::write(&path, r#"{"clients": [{"id": "x"}]}"#).unwrap();
    let error = Setup::load(&path).unwrap_err();
    assert!(
        error.to_string().contains("is not a valid configuration"),
        "{error}"
    );
}

#[tokio::test]
async fn pages_escape_what_clients_and_requests_send() {
    let mut setup = Setup::demo(ISSUER);
    setup.clients[0].name = Some("Evil <script>alert(1)</script>".to_owned());
    setup.clients[0].scopes.push("x'<y>&z".to_owned());
    let (router, _clock) = start_with(ISSUER, &setup).await;
    let (_, consent) = consent_page_for(&router, &authorization_path("profile x'<y>&z")).await;
    assert!(
        consent
            .body
            .contains("Evil &lt;script&gt;alert(1)&lt;/script&gt; wants access")
    );
    assert!(!consent.body.contains("<script>"));
    assert!(
        consent
            .body
            .contains(r#"value="x&#39;&lt;y&gt;&amp;z" checked"#)
    );
}

/// A form POST authenticated with HTTP Basic.
async fn basic_post(
    router: &axum::Router,
    uri: &str,
    id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> Page {
    use base64::Engine;
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let request = axum::http::Request::post(uri)
        .header(
            axum::http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(
            axum::http::header::AUTHORIZATION,
            format!("Basic {credentials}"),
        )
        .body(axum::body::Body::from(body))
        .unwrap();
    call(router, request).await
}

// C-TK-9, C-TK-8, C-IN-1, C-RV-1, C-MD-1: the sample configuration's confidential clients use the
// client credentials and password grants, introspect and revoke through the example's routes.
#[tokio::test]
async fn app_tokens_password_grant_introspection_and_revocation() {
    let issuer = "http://127.0.0.1:8080";
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/axum_server/config.sample.json"
    );
    let (router, _clock) = start_with(issuer, &Setup::load(path.as_ref()).unwrap()).await;
    let billing = ("billing-service", "change-me-to-a-long-random-secret");

    let tokens = basic_post(
        &router,
        "/token",
        billing.0,
        billing.1,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let tokens: serde_json::Value = serde_json::from_str(&tokens.body).unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let me = call(
        &router,
        axum::http::Request::get("/api/me")
            .header(
                axum::http::header::AUTHORIZATION,
                format!("Bearer {access}"),
            )
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let me: serde_json::Value = serde_json::from_str(&me.body).unwrap();
    assert_eq!(me["client_id"], "billing-service");

    let active = basic_post(
        &router,
        "/introspect",
        billing.0,
        billing.1,
        &[("token", &access)],
    )
    .await;
    let active: serde_json::Value = serde_json::from_str(&active.body).unwrap();
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], "billing-service");

    let revoked = basic_post(
        &router,
        "/revoke",
        billing.0,
        billing.1,
        &[("token", &access)],
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let inactive = basic_post(
        &router,
        "/introspect",
        billing.0,
        billing.1,
        &[("token", &access)],
    )
    .await;
    assert_eq!(inactive.body, r#"{"active":false}"#);

    let cli = ("legacy-cli", "another-long-random-secret-for-the-cli");
    let form = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "wonderland"),
    ];
    let password = basic_post(&router, "/token", cli.0, cli.1, &form).await;
    assert_eq!(password.status, StatusCode::OK, "{}", password.body);
    let wrong = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "nope"),
    ];
    let wrong = basic_post(&router, "/token", cli.0, cli.1, &wrong).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.body.contains("invalid_grant"));

    let metadata = call(
        &router,
        axum::http::Request::get("/.well-known/oauth-authorization-server")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    let metadata: serde_json::Value = serde_json::from_str(&metadata.body).unwrap();
    assert_eq!(metadata["issuer"], issuer);
    assert_eq!(metadata["revocation_endpoint"], format!("{issuer}/revoke"));
    assert!(
        metadata["grant_types_supported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == "password")
    );
}

// C-SE-3: anyone can start sessions (every GET /authorize does); a flood of them stays bounded
// and the newest sessions keep working.
#[test]
fn a_flood_of_sessions_stays_bounded() {
    use super::axum_server::sessions::{MAX_SESSIONS, Sessions};
    let sessions = Sessions::new(false);
    let mut last = None;
    for i in 0..(MAX_SESSIONS + MAX_SESSIONS / 2) as u64 {
        last = Some(sessions.start(grantor::Timestamp::from_secs(1_700_000_000 + i / 1000)));
    }
    assert!(sessions.len() <= MAX_SESSIONS, "{}", sessions.len());
    let last = last.unwrap();
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(header::COOKIE, sessions.cookie(&last));
    let now = grantor::Timestamp::from_secs(1_700_000_000 + 150);
    assert!(sessions.resume(&headers, now).is_some());
}

/// OpenID Connect through the example: ID tokens, UserInfo, discovery, `prompt`, `max_age` and
/// `login_hint`, remembered consent, the configuration's OpenID fields and the keys file.
mod openid {
    use std::sync::Arc;
    use std::time::Duration;

    use axum::body::Body;
    use axum::http::{Method, Request};
    use grantor::{Clock, ManualClock, ResponseType};
    use jsonwebtoken::Algorithm;
    use serde_json::{Value, json};

    use super::super::axum_server::keys::JwksFile;
    use super::super::{START, get_json, half_sha256, kid, start_on, verify_id_token};
    use super::*;

    const NONCE: &str = "n-0S6_WzA2Mj";

    /// The demo client's authorization request for `scope`, with more parameters.
    fn openid_path(scope: &str, extra: &[(&str, &str)]) -> String {
        let extra = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(extra)
            .finish();
        format!("{}&{extra}", authorization_path(scope))
    }

    /// Logs in as the demo user for `path` and approves `scopes` on the consent page: the
    /// browser, and the redirect back to the client.
    async fn approve_for(router: &axum::Router, path: &str, scopes: &[&str]) -> (Browser, Page) {
        let (mut browser, consent) = consent_page_for(router, path).await;
        let approved = respond(&mut browser, &consent, "approve", scopes).await;
        assert_code_redirect(&approved);
        (browser, approved)
    }

    /// A 303 straight back to the demo client with a code: no page was shown.
    fn assert_code_redirect(page: &Page) {
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let location = page.location();
        assert!(
            location.starts_with(&format!("{ISSUER}/callback?code=")),
            "{location}"
        );
    }

    /// The login page, asking for a new login although someone is logged in.
    fn assert_login_again(page: &Page) {
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains(r#"name="password""#), "{}", page.body);
        assert!(
            page.body.contains("asks you to log in again"),
            "{}",
            page.body
        );
    }

    /// The consent page.
    fn assert_consent_page(page: &Page) {
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("Demo App wants access"), "{}", page.body);
    }

    /// The token response for the code in a redirect to the demo client.
    async fn tokens_for(router: &axum::Router, redirect: &Page) -> Value {
        let code = redirect.location_param("code").expect("a code");
        exchange(router, &code, DEMO_VERIFIER).await
    }

    /// The ID token of a complete code flow with `openid`, for a new browser.
    async fn id_token_from(router: &axum::Router) -> String {
        let path = openid_path("openid", &[("nonce", NONCE)]);
        let (_, approved) = approve_for(router, &path, &["openid"]).await;
        let tokens = tokens_for(router, &approved).await;
        tokens["id_token"].as_str().expect("an id_token").to_owned()
    }

    /// UserInfo by `GET` (token in the header) or `POST` (token in the form body).
    async fn userinfo(router: &axum::Router, method: Method, token: &str) -> Page {
        let request = match method {
            Method::GET => Request::get("/userinfo")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty()),
            _ => Request::post("/userinfo")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("access_token={token}"))),
        };
        call(router, request.unwrap()).await
    }

    fn sorted_scope(tokens: &Value) -> Vec<String> {
        let mut scope: Vec<String> = tokens["scope"]
            .as_str()
            .unwrap()
            .split(' ')
            .map(str::to_owned)
            .collect();
        scope.sort_unstable();
        scope
    }

    // C-OI-1, C-OI-2, C-KY-1: the code flow with `openid` and a nonce returns an ID token signed
    // by a published key (verified with another JOSE library against the example's /jwks),
    // echoing the nonce, with the access token's at_hash and the login's auth_time and amr —
    // and none of the user's claims, which UserInfo serves.
    #[tokio::test]
    async fn the_code_flow_with_openid_returns_a_verifiable_id_token() {
        let (router, clock) = start(ISSUER).await;
        let path = openid_path("openid profile email", &[("nonce", NONCE)]);
        let scopes = ["openid", "profile", "email"];
        let (_, approved) = approve_for(&router, &path, &scopes).await;
        let tokens = tokens_for(&router, &approved).await;
        let access = tokens["access_token"].as_str().unwrap();
        let id_token = tokens["id_token"].as_str().expect("an id_token");

        let jwks = get_json(&router, "/jwks").await;
        for key in jwks["keys"].as_array().unwrap() {
            for member in ["kid", "kty", "alg"] {
                assert!(key[member].is_string(), "{member}: {key}");
            }
            assert_eq!(key["use"], "sig");
            for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
                assert!(key.get(private).is_none(), "{private}: {key}");
            }
        }
        let claims = verify_id_token(&jwks, id_token, Algorithm::RS256, ISSUER, clock.now())
            .expect("the ID token verifies against the published keys");
        assert_eq!(claims["sub"], DEMO_USER.0);
        assert_eq!(claims["nonce"], NONCE);
        assert_eq!(claims["at_hash"], half_sha256(access));
        assert_eq!(claims["iat"], START.as_secs());
        assert_eq!(claims["auth_time"], START.as_secs());
        assert_eq!(claims["amr"], json!(["pwd"]));
        for claim in ["name", "email", "email_verified"] {
            assert!(claims.get(claim).is_none(), "{claim} in the ID token");
        }
    }

    // C-OI-4: UserInfo, by GET and by POST, tells `sub` and the configured claims of the granted
    // scopes only; a token without `openid` is insufficient_scope; none, or a bad one, gets the
    // RFC 6750 challenge.
    #[tokio::test]
    async fn userinfo_tells_only_what_the_granted_scopes_allow() {
        let (router, _clock) = start(ISSUER).await;
        // `email` unchecked on the consent page.
        let path = openid_path("openid profile email", &[]);
        let (mut browser, approved) = approve_for(&router, &path, &["openid", "profile"]).await;
        let tokens = tokens_for(&router, &approved).await;
        let token = tokens["access_token"].as_str().unwrap();
        for method in [Method::GET, Method::POST] {
            let info = userinfo(&router, method.clone(), token).await;
            assert_eq!(info.status, StatusCode::OK, "{method}: {}", info.body);
            let info: Value = serde_json::from_str(&info.body).unwrap();
            assert_eq!(info, json!({"sub": "alice", "name": "Alice Liddell"}));
        }

        // `email` now (never approved before, so the consent page shows).
        let consent = browser.get(&openid_path("openid email", &[])).await;
        assert_consent_page(&consent);
        let approved = respond(&mut browser, &consent, "approve", &["openid", "email"]).await;
        let tokens = tokens_for(&router, &approved).await;
        let info = userinfo(
            &router,
            Method::GET,
            tokens["access_token"].as_str().unwrap(),
        )
        .await;
        let info: Value = serde_json::from_str(&info.body).unwrap();
        let expected =
            json!({"sub": "alice", "email": "alice@example.com", "email_verified": true});
        assert_eq!(info, expected);

        // Without `openid` (remembered consent covers `profile`: no page), no ID token and no
        // UserInfo.
        let approved = browser.get(&authorization_path("profile")).await;
        assert_code_redirect(&approved);
        let tokens = tokens_for(&router, &approved).await;
        assert!(tokens.get("id_token").is_none(), "{tokens}");
        let refused = userinfo(
            &router,
            Method::GET,
            tokens["access_token"].as_str().unwrap(),
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let challenge = refused.headers[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(
            challenge.contains(r#"error="insufficient_scope""#),
            "{challenge}"
        );

        let anonymous = call(
            &router,
            Request::get("/userinfo").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            anonymous.headers[header::WWW_AUTHENTICATE],
            format!("Bearer realm=\"{ISSUER}\"")
        );
        let forged = userinfo(&router, Method::POST, "not-a-token").await;
        assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
        let challenge = forged.headers[header::WWW_AUTHENTICATE].to_str().unwrap();
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{challenge}"
        );
    }

    // C-OI-5, C-MD-1: discovery at /.well-known/openid-configuration is RFC 8414's document,
    // with the UserInfo and JWKS endpoints the example serves, `openid` among the scopes, and
    // every signing algorithm a client registered.
    #[tokio::test]
    async fn discovery_is_the_metadata_with_the_openid_endpoints() {
        let mut setup = Setup::demo(ISSUER);
        setup.clients[0].id_token_signed_response_alg = Some("ES256".to_owned());
        let (router, _clock) = start_with(ISSUER, &setup).await;
        let discovery = get_json(&router, "/.well-known/openid-configuration").await;
        let metadata = get_json(&router, "/.well-known/oauth-authorization-server").await;
        assert_eq!(discovery, metadata);
        assert_eq!(discovery["issuer"], ISSUER);
        assert_eq!(discovery["userinfo_endpoint"], format!("{ISSUER}/userinfo"));
        assert_eq!(discovery["jwks_uri"], format!("{ISSUER}/jwks"));
        assert!(
            discovery["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("openid"))
        );
        assert_eq!(
            discovery["id_token_signing_alg_values_supported"],
            json!(["RS256", "ES256"])
        );
        assert_eq!(discovery["subject_types_supported"], json!(["public"]));
        // The advertised endpoints answer: one key per algorithm, and UserInfo's challenge.
        let jwks = get_json(&router, "/jwks").await;
        let mut algs: Vec<&str> = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["alg"].as_str().unwrap())
            .collect();
        algs.sort_unstable();
        assert_eq!(algs, ["ES256", "RS256"]);
        let anonymous = call(
            &router,
            Request::post("/userinfo").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    }

    // C-OI-3: prompt=none never shows a page: without a session → login_required (and no
    // session is started); logged in without remembered consent → consent_required; with it →
    // the code at once. `none` with another value is invalid_request.
    #[tokio::test]
    async fn prompt_none_answers_without_a_page() {
        let (router, _clock) = start(ISSUER).await;
        let silent = openid_path("openid profile", &[("prompt", "none")]);
        let refused = Browser::new(&router).get(&silent).await;
        assert_error_redirect(&refused, "login_required");
        assert!(refused.headers.get(header::SET_COOKIE).is_none());

        // Logged in, with a consent page open: nothing remembered yet.
        let path = openid_path("openid profile", &[]);
        let (mut browser, consent) = consent_page_for(&router, &path).await;
        let refused = browser.get(&silent).await;
        assert_error_redirect(&refused, "consent_required");

        let approved = respond(&mut browser, &consent, "approve", &["openid", "profile"]).await;
        assert_code_redirect(&approved);
        let silent_success = browser.get(&silent).await;
        assert_code_redirect(&silent_success);
        tokens_for(&router, &silent_success).await;

        let mixed = openid_path("openid", &[("prompt", "none login")]);
        assert_error_redirect(&browser.get(&mixed).await, "invalid_request");
    }

    // C-OI-3: prompt=login shows the login page although the user is logged in; the new login
    // is the ID token's auth_time.
    #[tokio::test]
    async fn prompt_login_asks_for_the_password_again() {
        let (router, clock) = start(ISSUER).await;
        let path = openid_path("openid profile", &[]);
        let (mut browser, _) = approve_for(&router, &path, &["openid", "profile"]).await;
        clock.advance(Duration::from_secs(60));

        let again = openid_path("openid profile", &[("prompt", "login"), ("nonce", NONCE)]);
        let login = browser.get(&again).await;
        assert_login_again(&login);
        let redirect = log_in(&mut browser, &login, DEMO_USER.0, DEMO_USER.1).await;
        assert_eq!(redirect.status, StatusCode::SEE_OTHER, "{}", redirect.body);
        // The consent is remembered: after the login, straight back to the client.
        let answered = browser.get(redirect.location()).await;
        assert_code_redirect(&answered);
        let tokens = tokens_for(&router, &answered).await;
        let jwks = get_json(&router, "/jwks").await;
        let id_token = tokens["id_token"].as_str().unwrap();
        let claims = verify_id_token(&jwks, id_token, Algorithm::RS256, ISSUER, clock.now())
            .expect("verifies");
        assert_eq!(claims["auth_time"], START.as_secs() + 60);
        assert_eq!(claims["nonce"], NONCE);
    }

    // C-OI-3: a login older than max_age needs a new one (max_age=0: every time); a younger one
    // does not, and the ID token tells the original login's time; a malformed max_age is
    // invalid_request.
    #[tokio::test]
    async fn max_age_bounds_the_age_of_the_login() {
        let (router, clock) = start(ISSUER).await;
        let path = openid_path("openid profile", &[]);
        let (mut browser, _) = approve_for(&router, &path, &["openid", "profile"]).await;
        clock.advance(Duration::from_secs(120));
        let jwks = get_json(&router, "/jwks").await;
        let auth_time = |tokens: &Value| {
            let id_token = tokens["id_token"].as_str().unwrap();
            verify_id_token(&jwks, id_token, Algorithm::RS256, ISSUER, clock.now())
                .expect("verifies")["auth_time"]
                .clone()
        };

        let young_enough = openid_path("openid profile", &[("max_age", "300")]);
        let answered = browser.get(&young_enough).await;
        assert_code_redirect(&answered);
        let tokens = tokens_for(&router, &answered).await;
        assert_eq!(auth_time(&tokens), START.as_secs());

        for max_age in ["60", "0"] {
            let too_old = openid_path("openid profile", &[("max_age", max_age)]);
            assert_login_again(&browser.get(&too_old).await);
        }
        let login = browser
            .get(&openid_path("openid profile", &[("max_age", "0")]))
            .await;
        let redirect = log_in(&mut browser, &login, DEMO_USER.0, DEMO_USER.1).await;
        let answered = browser.get(redirect.location()).await;
        assert_code_redirect(&answered);
        let tokens = tokens_for(&router, &answered).await;
        assert_eq!(auth_time(&tokens), START.as_secs() + 120);

        for malformed in ["-1", "soon", "1.5"] {
            let path = openid_path("openid profile", &[("max_age", malformed)]);
            assert_error_redirect(&browser.get(&path).await, "invalid_request");
        }
    }

    // An approval is remembered for the session's life: the same user's next requests of the
    // same client for no more than was approved skip the consent page; more scope, or
    // prompt=consent, show it; after the session has expired it shows again.
    #[tokio::test]
    async fn approved_consent_is_remembered_for_the_session() {
        let (router, clock) = start(ISSUER).await;
        let path = openid_path("openid profile messages", &[]);
        let scopes = ["openid", "profile", "messages"];
        let (mut browser, _) = approve_for(&router, &path, &scopes).await;

        for scope in ["openid profile messages", "openid messages", "messages"] {
            let again = browser.get(&openid_path(scope, &[])).await;
            assert_code_redirect(&again);
            let tokens = tokens_for(&router, &again).await;
            let mut expected: Vec<&str> = scope.split(' ').collect();
            expected.sort_unstable();
            assert_eq!(sorted_scope(&tokens), expected);
        }
        let more = browser.get(&openid_path("openid profile email", &[])).await;
        assert_consent_page(&more);
        let forced = openid_path("openid profile", &[("prompt", "consent")]);
        assert_consent_page(&browser.get(&forced).await);

        clock.advance(past_idle_timeout());
        let (_, consent) = consent_page_for(&router, &openid_path("openid profile", &[])).await;
        assert_consent_page(&consent);
    }

    // The login page offers the request's login_hint as the username, escaped.
    #[tokio::test]
    async fn the_login_page_prefills_the_login_hint() {
        let (router, _clock) = start(ISSUER).await;
        let hinted = openid_path("openid", &[("login_hint", "alice")]);
        let page = Browser::new(&router).get(&hinted).await;
        assert!(
            page.body.contains(r#"name="username" value="alice""#),
            "{}",
            page.body
        );

        let hostile = openid_path("openid", &[("login_hint", r#""><script>x</script>"#)]);
        let page = Browser::new(&router).get(&hostile).await;
        assert!(
            page.body
                .contains(r#"value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;""#),
            "{}",
            page.body
        );
        assert!(!page.body.contains("<script>"));
    }

    // C-OI-1, C-OI-2, C-OI-7: a client configured with `response_types` and
    // `id_token_signed_response_alg` may ask for `code id_token`: both come back in the
    // fragment, the ID token signed ES256 (the key ring gained an ES256 key for the client)
    // with the nonce and the code's c_hash; the code's ID token is ES256 too.
    #[tokio::test]
    async fn configured_response_types_and_signing_algorithm_are_honoured() {
        let mut setup = Setup::demo(ISSUER);
        setup.clients[0].response_types = Some(vec!["code".into(), "code id_token".into()]);
        setup.clients[0].id_token_signed_response_alg = Some("ES256".into());
        let (router, clock) = start_with(ISSUER, &setup).await;
        let path = openid_path("openid profile", &[("nonce", NONCE)]).replacen(
            "response_type=code&",
            "response_type=code+id_token&",
            1,
        );
        let (mut browser, consent) = consent_page_for(&router, &path).await;
        let approved = respond(&mut browser, &consent, "approve", &["openid", "profile"]).await;
        assert_eq!(approved.status, StatusCode::SEE_OTHER);
        let location = url::Url::parse(approved.location()).unwrap();
        let fragment: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(location.fragment().expect("a fragment").as_bytes())
                .into_owned()
                .collect();
        let id_token = &fragment["id_token"];
        let code = &fragment["code"];
        let jwks = get_json(&router, "/jwks").await;
        let now = clock.now();
        let claims = verify_id_token(&jwks, id_token, Algorithm::ES256, ISSUER, now)
            .expect("the front-channel ID token verifies");
        assert_eq!(claims["nonce"], NONCE);
        assert_eq!(claims["c_hash"], half_sha256(code));

        let tokens = exchange(&router, code, DEMO_VERIFIER).await;
        let id_token = tokens["id_token"].as_str().unwrap();
        assert!(verify_id_token(&jwks, id_token, Algorithm::ES256, ISSUER, now).is_some());
    }

    // One configuration file works across versions: the fields later versions read are
    // accepted (and ignored, never shown by Debug); the OpenID fields are used; any other field
    // is still refused.
    #[tokio::test]
    async fn a_config_with_the_fields_of_later_versions_loads() {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
        let path = dir.join(format!("later-fields-{}.json", std::process::id()));
        let config = json!({
            "resources": [{"resource": "https://api.example.com", "scopes": ["messages"], "access_token_format": "jwt"}],
            "default_resource": "https://api.example.com",
            "registration": {"open": false, "initial_access_token": "registration-secret-12345"},
            "profile": "fapi2",
            "exchange": [{"client_id": "gateway", "from_audience": "https://api.example.com",
                          "to_resource": "https://api.example.com", "scopes": ["messages"]}],
            "refresh_grace_seconds": 30,
            "clients": [{
                "client_id": "wiki",
                "client_secret": "wiki-secret-0123456789-abcdefghijkl",
                "redirect_uris": ["https://wiki.example.com/cb"],
                "scopes": ["openid", "profile"],
                "resources": ["https://api.example.com"],
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]},
                "dpop_bound_access_tokens": true,
                "require_pushed_authorization_requests": true,
                "response_types": ["code", "code id_token"],
                "id_token_signed_response_alg": "PS256"
            }],
            "users": [{"username": "carol", "password": "carols-password", "claims": {"name": "Carol"}}]
        });
        std::fs::write(&path, config.to_string()).unwrap();
        let setup = Setup::load(&path).unwrap();
        let clients = setup.clients("http://127.0.0.1:8080").unwrap();
        assert!(clients[0].allows_response_type(ResponseType::CODE_ID_TOKEN));
        assert!(!clients[0].allows_response_type(ResponseType::ID_TOKEN));
        assert_eq!(clients[0].id_token_signed_response_alg(), "PS256");
        // C-PA-1: the per-client PAR switch is read now.
        assert!(clients[0].requires_pushed_authorization_requests());
        assert_eq!(clients[0].resources(), ["https://api.example.com"]);
        let config = setup
            .config("http://127.0.0.1:8080")
            .unwrap()
            .build()
            .unwrap();
        assert_eq!(config.default_resource(), Some("https://api.example.com"));
        // C-RG-1: `refresh_grace_seconds` turns the grace window on.
        assert_eq!(
            config.refresh_grace_period(),
            Some(std::time::Duration::from_secs(30))
        );
        assert!(
            setup
                .exchange_grant("http://127.0.0.1:8080")
                .unwrap()
                .is_some()
        );
        let api = config.resource("https://api.example.com").unwrap();
        assert_eq!(api.format(), grantor::TokenFormat::Jwt);
        let algorithms = setup.signing_algorithms().unwrap();
        assert_eq!(
            algorithms.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
            ["RS256", "PS256"]
        );
        assert_eq!(setup.users[0].claims["name"], "Carol");
        let shown = format!("{setup:?}");
        assert!(!shown.contains("registration-secret"), "{shown}");
        assert!(!shown.contains("wiki-secret"), "{shown}");

        for unknown in [
            json!({"resource": "https://api.example.com"}),
            json!({"clients": [{"client_id": "x", "dpop": true}]}),
            json!({"users": [{"username": "u", "password": "p", "email": "u@example.com"}]}),
        ] {
            std::fs::write(&path, unknown.to_string()).unwrap();
            let error = Setup::load(&path).unwrap_err().to_string();
            assert!(error.contains("unknown field"), "{error}");
        }
        let bad_alg =
            json!({"clients": [{"client_id": "x", "id_token_signed_response_alg": "HS256"}]});
        std::fs::write(&path, bad_alg.to_string()).unwrap();
        assert!(Setup::load(&path).unwrap().signing_algorithms().is_err());
        std::fs::remove_file(&path).unwrap();
    }

    // C-KY-2, C-KY-3 (`--keys FILE`): the signing keys live in a JWKS file created at the first
    // start (private keys, readable by the owner only); a server started again over it
    // publishes and signs with the same key, so an ID token signed before the restart verifies
    // after it. A hand-made key set (no grantor times) loads too; a file that is not a key set
    // is refused with a clear message.
    #[tokio::test]
    async fn signing_keys_survive_a_restart_in_the_keys_file() {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
        let path = dir.join(format!("signing-keys-{}.jwks.json", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let setup = Setup::demo(ISSUER);
        let clock = ManualClock::new(START);
        let keys = Arc::new(JwksFile::open(&path, clock.now()).unwrap());
        let first = start_on(ISSUER, &setup, &clock, Some(keys)).await;

        let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let stored = &file["keys"][0];
        assert!(stored["d"].is_string(), "the file holds the private key");
        assert_eq!(stored["grantor_published_at"], START.as_secs());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let before = id_token_from(&first).await;
        assert_eq!(kid(&before), stored["kid"].as_str().unwrap());
        let jwks = get_json(&first, "/jwks").await;
        assert!(jwks["keys"][0].get("d").is_none());

        // The restart: new storage and sessions, the same file, ten minutes later.
        clock.advance(Duration::from_secs(600));
        let keys = Arc::new(JwksFile::open(&path, clock.now()).unwrap());
        let second = start_on(ISSUER, &setup, &clock, Some(keys)).await;
        let jwks_after = get_json(&second, "/jwks").await;
        assert_eq!(jwks_after, jwks);
        assert!(
            verify_id_token(&jwks_after, &before, Algorithm::RS256, ISSUER, clock.now()).is_some()
        );
        assert_eq!(kid(&id_token_from(&second).await), kid(&before));

        // The same key, hand-made: no grantor times.
        let mut hand_made = file.clone();
        if let Some(key) = hand_made["keys"][0].as_object_mut() {
            key.retain(|name, _| !name.starts_with("grantor_"));
        }
        std::fs::write(&path, hand_made.to_string()).unwrap();
        let keys = Arc::new(JwksFile::open(&path, clock.now()).unwrap());
        let third = start_on(ISSUER, &setup, &clock, Some(keys)).await;
        assert_eq!(get_json(&third, "/jwks").await, jwks);
        assert_eq!(kid(&id_token_from(&third).await), kid(&before));

        for broken in ["{}", r#"{"keys": [{"kty": "RSA"}]}"#, "not json"] {
            std::fs::write(&path, broken).unwrap();
            let error = JwksFile::open(&path, clock.now()).unwrap_err().to_string();
            assert!(error.contains("is not a JSON Web Key Set"), "{error}");
        }
        std::fs::remove_file(&path).unwrap();
    }
}

/// What a Model Context Protocol client does with nothing but the URL of a protected API:
/// discovery from a `401`, dynamic registration, the code flow with PKCE and `resource`, and the
/// call with an audience-bound token (C-PR-1, C-DR-1, C-RI-1, C-JT-1).
mod mcp {
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use grantor::CodeChallenge;
    use serde_json::{Value, json};

    use super::{ISSUER, answer, call, log_in, post, start};
    use crate::Browser;
    use crate::axum_server::setup::DEMO_USER;

    const REDIRECT: &str = "http://127.0.0.1:33418/oauth/callback";
    const VERIFIER: &str = "mcp-client-verifier-0123456789-abcdefghijklmnopqrstuvw";

    /// The path and query of an absolute URL on the server.
    fn local(url: &str) -> &str {
        url.strip_prefix(ISSUER).expect("a URL on the server")
    }

    async fn post_json(router: &axum::Router, uri: &str, body: &Value) -> (StatusCode, Value) {
        let request = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let page = call(router, request).await;
        (page.status, serde_json::from_str(&page.body).unwrap())
    }

    #[tokio::test]
    async fn an_mcp_client_discovers_registers_authorizes_and_calls_the_api() {
        let (router, _clock) = start(ISSUER).await;
        let api = format!("{ISSUER}/api/me");

        // 1. The API refuses the anonymous call and names its metadata.
        let refused = call(
            &router,
            Request::get("/api/me").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        let challenge = refused.headers[header::WWW_AUTHENTICATE].to_str().unwrap();
        let metadata_url = challenge
            .split("resource_metadata=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the challenge names the resource metadata");

        // 2. The protected-resource metadata: the resource is the URL called (RFC 9728 §3.3),
        //    and it names the authorization server.
        let resource: Value = crate::get_json(&router, local(metadata_url)).await;
        assert_eq!(resource["resource"], api.as_str());
        let issuer = resource["authorization_servers"][0].as_str().unwrap();
        assert_eq!(issuer, ISSUER);

        // 3. The authorization server's metadata (RFC 8414).
        let server: Value =
            crate::get_json(&router, "/.well-known/oauth-authorization-server").await;
        assert_eq!(server["issuer"], ISSUER);
        assert!(
            server["code_challenge_methods_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("S256"))
        );
        let registration = server["registration_endpoint"].as_str().unwrap();

        // 4. Dynamic registration of a public native client (RFC 7591).
        let (status, registered) = post_json(
            &router,
            local(registration),
            &json!({
                "client_name": "MCP Inspector",
                "redirect_uris": [REDIRECT],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
                "scope": "messages",
            }),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{registered}");
        let client_id = registered["client_id"].as_str().unwrap().to_owned();
        assert!(registered.get("client_secret").is_none());

        // 5. The code flow with PKCE and the resource, through the login and consent pages.
        let challenge = CodeChallenge::s256(VERIFIER);
        let authorization = url::Url::parse_with_params(
            server["authorization_endpoint"].as_str().unwrap(),
            &[
                ("response_type", "code"),
                ("client_id", client_id.as_str()),
                ("redirect_uri", REDIRECT),
                ("scope", "messages"),
                ("state", "mcp-state"),
                ("code_challenge", challenge.value()),
                ("code_challenge_method", "S256"),
                ("resource", api.as_str()),
            ],
        )
        .unwrap();
        let mut browser = Browser::new(&router);
        let login = browser.get(local(authorization.as_str())).await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.body);
        let redirect = log_in(&mut browser, &login, DEMO_USER.0, DEMO_USER.1).await;
        let consent = browser.get(redirect.location()).await;
        assert!(consent.body.contains("MCP Inspector"), "{}", consent.body);
        let api_listed = format!("<li><code>{api}</code></li>");
        assert!(consent.body.contains(&api_listed), "{}", consent.body);
        let approved = post(
            &mut browser,
            "/consent",
            &answer(&consent, "approve", &["messages"]),
        )
        .await;
        assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
        assert!(approved.location().starts_with(REDIRECT));
        assert_eq!(
            approved.location_param("state").as_deref(),
            Some("mcp-state")
        );
        let code = approved.location_param("code").unwrap();

        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", &code)
            .append_pair("client_id", &client_id)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("code_verifier", VERIFIER)
            .append_pair("resource", &api)
            .finish();
        let request = Request::post(local(server["token_endpoint"].as_str().unwrap()))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let tokens = call(&router, request).await;
        assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
        let tokens: Value = serde_json::from_str(&tokens.body).unwrap();
        let token = tokens["access_token"].as_str().unwrap();

        // The token is a JWT for the API (the demo's /api/me wants JWTs), audience-bound.
        let payload = token.split('.').nth(1).unwrap();
        use base64::Engine;
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["aud"], api.as_str());
        assert_eq!(claims["client_id"], client_id.as_str());

        // 6. The call succeeds.
        let me = crate::api_me(&router, token).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        let me: Value = serde_json::from_str(&me.body).unwrap();
        assert_eq!(me["owner"], DEMO_USER.0);
        assert_eq!(me["client_id"], client_id.as_str());
    }

    // C-DR-1: the example's registration hook: no scope gets the offered ones, a scope beyond
    // them is refused and registers nothing.
    #[tokio::test]
    async fn the_example_reviews_the_scope_of_each_registration() {
        let (router, _clock) = start(ISSUER).await;
        let (status, registered) = post_json(
            &router,
            "/register",
            &json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{registered}");
        let mut scope: Vec<&str> = registered["scope"].as_str().unwrap().split(' ').collect();
        scope.sort_unstable();
        assert_eq!(scope, ["email", "messages", "openid", "profile"]);
        let (status, refused) = post_json(
            &router,
            "/register",
            &json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
                    "scope": "messages admin"}),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(refused["error"], "invalid_client_metadata");
    }
}
