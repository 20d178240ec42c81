//! Pushed authorization requests (RFC 9126, C-PA-1) through the example's `/par`, with the demo
//! client configured to require them.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use super::axum_server::demo_client::authorization_url;
use super::axum_server::setup::{DEMO_CLIENT, DEMO_USER, DEMO_VERIFIER, Setup};
use super::flows::{answer, assert_error_redirect, log_in, post};
use super::{Browser, call, exchange, get_json, start_with};

const ISSUER: &str = "https://auth.example.com";

// C-PA-1: the demo client, set to require PAR, is refused at `/authorize` without a
// request_uri; it pushes to `/par` (201), the browser brings client_id and request_uri, logs
// in and consents, and the code is exchanged; the request_uri then is spent.
#[tokio::test]
async fn the_demo_client_pushes_its_request() {
    let mut setup = Setup::demo(ISSUER);
    let demo = setup
        .clients
        .iter_mut()
        .find(|client| client.client_id == DEMO_CLIENT)
        .unwrap();
    demo.require_pushed_authorization_requests = Some(true);
    let (router, _clock) = start_with(ISSUER, &setup).await;
    let metadata = get_json(&router, "/.well-known/oauth-authorization-server").await;
    assert_eq!(
        metadata["pushed_authorization_request_endpoint"],
        format!("{ISSUER}/par")
    );

    let front = authorization_url("", DEMO_CLIENT, "profile", DEMO_VERIFIER);
    let mut browser = Browser::new(&router);
    assert_error_redirect(&browser.get(&front).await, "invalid_request");

    let (_, query) = front.split_once('?').unwrap();
    let push = Request::post("/par")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(query.to_owned()))
        .unwrap();
    let pushed = call(&router, push).await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.body);
    assert_eq!(pushed.headers[header::CACHE_CONTROL], "no-store");
    let pushed: serde_json::Value = serde_json::from_str(&pushed.body).unwrap();
    assert_eq!(pushed["expires_in"], 60);
    let request_uri = pushed["request_uri"].as_str().unwrap();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));

    let path = format!(
        "/authorize?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", DEMO_CLIENT)
            .append_pair("request_uri", request_uri)
            .finish()
    );
    let login = browser.get(&path).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let redirect = log_in(&mut browser, &login, DEMO_USER.0, DEMO_USER.1).await;
    let consent = browser.get(redirect.location()).await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    let approved = post(
        &mut browser,
        "/consent",
        &answer(&consent, "approve", &["profile"]),
    )
    .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    assert_eq!(
        approved.location_param("state").as_deref(),
        Some("demo-state")
    );
    let code = approved.location_param("code").unwrap();
    let tokens = exchange(&router, &code, DEMO_VERIFIER).await;
    assert_eq!(tokens["scope"], "profile");

    // Used once: the same request_uri again is an error page, never a redirect.
    let again = browser.get(&path).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);
    assert!(again.headers.get(header::LOCATION).is_none());
}
