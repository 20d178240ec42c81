//! The example's token exchange policy (`"exchange"`) and refresh grace window
//! (`"refresh_grace_seconds"`), from the sample configuration.

use axum::http::StatusCode;
use base64::Engine;
use serde_json::Value;

use super::axum_server::setup::Setup;
use super::{Page, call, start_with};

const ISSUER: &str = "http://127.0.0.1:8080";
const BILLING: (&str, &str) = ("billing-service", "change-me-to-a-long-random-secret");
const CLI: (&str, &str) = ("legacy-cli", "another-long-random-secret-for-the-cli");
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

async fn sample() -> axum::Router {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/axum_server/config.sample.json"
    );
    start_with(ISSUER, &Setup::load(path.as_ref()).unwrap())
        .await
        .0
}

/// A form POST to `uri` authenticated with HTTP Basic as `client`.
async fn post(
    router: &axum::Router,
    uri: &str,
    client: (&str, &str),
    form: &[(&str, &str)],
) -> Page {
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", client.0, client.1));
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

fn body(page: &Page) -> Value {
    serde_json::from_str(&page.body).unwrap()
}

/// alice's tokens of `legacy-cli` (password grant): `profile`, for `/api/me`.
async fn alice(router: &axum::Router) -> Value {
    let page = post(
        router,
        "/token",
        CLI,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "wonderland"),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    body(&page)
}

// C-TX-1, C-TX-2: the sample's rule lets billing-service trade a user's `/api/me` token for a
// token for its API with `profile`; anything else is refused.
#[tokio::test]
async fn the_sample_policy_allows_its_exchange_only() {
    let router = sample().await;
    let tokens = alice(&router).await;
    let subject = tokens["access_token"].as_str().unwrap();
    let exchange = |resource: &'static str, client: (&'static str, &'static str)| {
        let router = router.clone();
        let subject = subject.to_owned();
        async move {
            post(
                &router,
                "/token",
                client,
                &[
                    ("grant_type", TOKEN_EXCHANGE),
                    ("subject_token", &subject),
                    ("subject_token_type", ACCESS_TOKEN),
                    ("resource", resource),
                ],
            )
            .await
        }
    };
    let page = exchange("https://billing.example.com/api", BILLING).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let issued = body(&page);
    assert_eq!(issued["issued_token_type"], ACCESS_TOKEN);
    assert_eq!(issued["token_type"], "Bearer");
    assert_eq!(issued["scope"], "profile");
    let seen = post(
        &router,
        "/introspect",
        BILLING,
        &[("token", issued["access_token"].as_str().unwrap())],
    )
    .await;
    let seen = body(&seen);
    assert_eq!(seen["sub"], "alice");
    assert_eq!(seen["aud"], "https://billing.example.com/api");

    // Another resource: no rule.
    let page = exchange("http://127.0.0.1:8080/api/me", BILLING).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert_eq!(body(&page)["error"], "unauthorized_client");
}

// C-RG-1: the sample's 30-second grace window answers a lost refresh response once.
#[tokio::test]
async fn the_sample_grace_window_answers_a_retried_refresh() {
    let router = sample().await;
    let tokens = alice(&router).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    for _ in 0..2 {
        let page = post(&router, "/token", CLI, &form).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    }
    let page = post(&router, "/token", CLI, &form).await;
    assert_eq!(body(&page)["error"], "invalid_grant");
}
