//! The device authorization grant (RFC 8628) at the example server: `/device_authorization`,
//! the verification page `/device` (pre-filled from `verification_uri_complete`), the same
//! login and consent pages as the code flow, then polling at `/token` (C-DV-1, C-DV-2, C-DV-3).

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use super::axum_server::setup::{DEMO_CLI, DEMO_USER, DEVICE_CODE_GRANT_TYPE};
use super::{Browser, Page, call, start};

const ISSUER: &str = "http://127.0.0.1:8080";

async fn post_form(router: &Router, uri: &str, form: &[(&str, &str)]) -> Page {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    call(router, request).await
}

/// The device's first step: its codes, as JSON.
pub(super) async fn device_authorization(router: &Router) -> serde_json::Value {
    let page = post_form(
        router,
        "/device_authorization",
        &[("client_id", DEMO_CLI), ("scope", "openid profile")],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    serde_json::from_str(&page.body).unwrap()
}

/// One poll of the device at `/token`.
pub(super) async fn poll(router: &Router, device_code: &str) -> (StatusCode, serde_json::Value) {
    let page = post_form(
        router,
        "/token",
        &[
            ("grant_type", DEVICE_CODE_GRANT_TYPE),
            ("device_code", device_code),
            ("client_id", DEMO_CLI),
        ],
    )
    .await;
    (page.status, serde_json::from_str(&page.body).unwrap())
}

/// The user opens `verification_uri_complete`, submits the pre-filled code and logs in: the
/// consent page.
async fn consent_page(router: &Router, codes: &serde_json::Value) -> (Browser, Page) {
    let complete = codes["verification_uri_complete"].as_str().unwrap();
    let path = complete.strip_prefix(ISSUER).unwrap();
    let mut browser = Browser::new(router);
    let entry = browser.get(path).await;
    assert_eq!(entry.status, StatusCode::OK);
    assert!(entry.forbids_framing());
    let user_code = entry.field("user_code");
    assert_eq!(
        user_code,
        codes["user_code"].as_str().unwrap(),
        "pre-filled"
    );
    // C-DV-1: entered in lower case, without the hyphen.
    let typed = user_code.replace('-', "").to_lowercase();
    let login = browser
        .post(
            "/device",
            &[("csrf", &entry.field("csrf")), ("user_code", &typed)],
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    assert!(login.body.contains("Log in"), "{}", login.body);
    assert!(login.body.contains("Demo CLI"));
    let redirect = browser
        .post(
            "/login",
            &[
                ("csrf", &login.field("csrf")),
                ("request", &login.field("request")),
                ("username", DEMO_USER.0),
                ("password", DEMO_USER.1),
            ],
        )
        .await;
    assert_eq!(redirect.status, StatusCode::SEE_OTHER, "{}", redirect.body);
    let consent = browser.get(redirect.location()).await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    assert!(consent.body.contains("Demo CLI wants access"));
    assert!(consent.body.contains(&user_code), "the page shows the code");
    (browser, consent)
}

async fn answer(browser: &mut Browser, consent: &Page, decision: &str) -> Page {
    browser
        .post(
            "/consent",
            &[
                ("csrf", &consent.field("csrf")),
                ("request", &consent.field("request")),
                ("decision", decision),
                ("scope", "openid"),
                ("scope", "profile"),
            ],
        )
        .await
}

// C-DV-1, C-DV-2: the device flow end to end: codes, the verification page, login, consent,
// then the poll gets tokens (with an ID token: the scope holds `openid`), and UserInfo names
// the user.
#[tokio::test]
async fn a_device_logs_in_through_the_verification_page() {
    let (router, clock) = start(ISSUER).await;
    let codes = device_authorization(&router).await;
    assert_eq!(codes["verification_uri"], format!("{ISSUER}/device"));
    assert_eq!(codes["interval"], 5);
    let device_code = codes["device_code"].as_str().unwrap();
    let (status, body) = poll(&router, device_code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "authorization_pending");

    let (mut browser, consent) = consent_page(&router, &codes).await;
    let done = answer(&mut browser, &consent, "approve").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Device connected"), "{}", done.body);

    clock.advance(std::time::Duration::from_secs(5));
    let (status, tokens) = poll(&router, device_code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "openid profile");
    assert!(tokens["id_token"].is_string());
    let userinfo = call(
        &router,
        Request::get("/userinfo")
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", tokens["access_token"].as_str().unwrap()),
            )
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(userinfo.status, StatusCode::OK, "{}", userinfo.body);
    assert!(userinfo.body.contains("Alice Liddell"), "{}", userinfo.body);

    // Answered once: the consent form posted again finds nothing.
    let again = answer(&mut browser, &consent, "approve").await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
}

// C-DV-2: denied on the consent page: the page says so, and the poll is access_denied.
#[tokio::test]
async fn a_denied_device_is_told_access_denied() {
    let (router, _clock) = start(ISSUER).await;
    let codes = device_authorization(&router).await;
    let (mut browser, consent) = consent_page(&router, &codes).await;
    let done = answer(&mut browser, &consent, "deny").await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.body.contains("was not allowed"), "{}", done.body);
    let (status, body) = poll(&router, codes["device_code"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "access_denied");
}

// C-DV-3: a wrong code is refused on the page without saying anything about other codes;
// after ten, even the right one is refused for a while.
#[tokio::test]
async fn wrong_user_codes_are_refused_and_limited() {
    let (router, _clock) = start(ISSUER).await;
    let codes = device_authorization(&router).await;
    let mut browser = Browser::new(&router);
    let entry = browser.get("/device").await;
    assert_eq!(entry.field("user_code"), "");
    let csrf = entry.field("csrf");
    for _ in 0..10 {
        let refused = browser
            .post("/device", &[("csrf", &csrf), ("user_code", "BCDF-GHJK")])
            .await;
        assert_eq!(refused.status, StatusCode::OK);
        assert!(
            refused.body.contains("the code is unknown or has expired"),
            "{}",
            refused.body
        );
    }
    let right = codes["user_code"].as_str().unwrap();
    let refused = browser
        .post("/device", &[("csrf", &csrf), ("user_code", right)])
        .await;
    assert!(
        refused.body.contains("too many wrong codes were entered"),
        "{}",
        refused.body
    );
}
