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
async fn log_in(browser: &mut Browser, login: &Page, username: &str, password: &str) -> Page {
    let form = [
        ("csrf", login.field("csrf")),
        ("request", login.field("request")),
        ("username", username.to_owned()),
        ("password", password.to_owned()),
    ];
    post(browser, "/login", &form).await
}

/// The consent form's fields, answering with `decision` and these scopes.
fn answer<'a>(consent: &'a Page, decision: &'a str, scopes: &[&'a str]) -> Vec<(&'a str, String)> {
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

async fn post(browser: &mut Browser, uri: &str, form: &[(&str, String)]) -> Page {
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
fn assert_error_redirect(page: &Page, error: &str) {
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
    assert!(cookie.starts_with("grantor_session="));
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

// C-BR-5: the protected route without a token.
#[tokio::test]
async fn the_api_needs_a_token() {
    let (router, _clock) = start(ISSUER).await;
    let anonymous = Browser::new(&router).get("/api/me").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.headers[header::WWW_AUTHENTICATE],
        format!("Bearer realm=\"{ISSUER}\"")
    );
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
    let clients = setup.clients().unwrap();
    let ids: Vec<&str> = clients.iter().map(|c| c.id().as_str()).collect();
    assert_eq!(ids, ["demo-app", "billing-service", "legacy-cli"]);
    assert!(!clients[0].is_confidential());
    assert!(clients[1].is_confidential());
    assert!(clients[1].verify_secret("change-me-to-a-long-random-secret"));
    assert!(clients[2].allows_grant(&grantor::GrantType::Password));
    // C-SE-2: the configuration's Debug output holds no client secret.
    assert!(!format!("{setup:?}").contains("change-me-to-a-long-random-secret"));
    assert_eq!(setup.users.len(), 2);
}

#[tokio::test]
async fn a_bad_config_is_reported() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("bad-grant.json");
    std::fs::write(&path, r#"{"clients": [{"client_id": "x", "grant_types": ["magic"], "redirect_uris": ["https://x.example/cb"]}]}"#).unwrap();
    let error = Setup::load(&path).unwrap().clients().unwrap_err();
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
