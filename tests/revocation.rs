//! The revocation endpoint: RFC 7009, black-box.

mod common;

use common::*;
use http::Request;

fn revoke(pairs: &[(&str, &str)]) -> Request<Vec<u8>> {
    post_form("/revoke", form_body(pairs))
}

/// Asserts the RFC 7009 §2.2 success answer: 200, empty body, not cacheable.
fn assert_revoked(response: &http::Response<Vec<u8>>) {
    assert_eq!(response.status(), 200, "{}", body_text(response));
    assert!(response.body().is_empty());
    assert_eq!(response.headers()["cache-control"], "no-store");
}

// C-RV-1: revoking a refresh token revokes every token of its grant, and nothing else.
#[tokio::test]
async fn refresh_token_revokes_its_grant() {
    let fx = Fixture::new().await;
    let tokens = fx.app_tokens().await;
    let other = fx.app_tokens().await;
    let (access, refresh) = (
        text(&tokens, "access_token"),
        text(&tokens, "refresh_token"),
    );

    let request = revoke(&[
        ("token", refresh),
        ("token_type_hint", "refresh_token"),
        ("client_id", APP),
    ]);
    assert_revoked(&fx.server.revoke(&request).await);

    assert!(!refresh_is_live(&fx, refresh).await);
    assert!(!access_is_live(&fx, access).await);
    let api = fx
        .server
        .validate_bearer(&bearer("/api", access), &grantor::Requirement::any())
        .await;
    assert!(api.is_err(), "the grant's access token no longer works");
    // Another grant of the same client and owner is untouched.
    assert!(access_is_live(&fx, text(&other, "access_token")).await);
    assert!(refresh_is_live(&fx, text(&other, "refresh_token")).await);
}

// C-RV-1: revoking an access token revokes that token only; the grant's refresh token stays.
#[tokio::test]
async fn access_token_revokes_only_itself() {
    let fx = Fixture::new().await;
    let tokens = svc_tokens(&fx).await;
    let (access, refresh) = (
        text(&tokens, "access_token"),
        text(&tokens, "refresh_token"),
    );
    let request = basic_post("/revoke", SVC, SVC_SECRET, &[("token", access)]);
    assert_revoked(&fx.server.revoke(&request).await);
    assert!(!access_is_live(&fx, access).await);
    assert!(refresh_is_live(&fx, refresh).await);
}

// C-RV-1: the hint only orders the search: a wrong or unknown hint still finds the token.
#[tokio::test]
async fn wrong_or_unknown_hints_still_find_the_token() {
    let fx = Fixture::new().await;
    for hint in ["refresh_token", "id_token", "something_else"] {
        let tokens = fx.app_tokens().await;
        let access = text(&tokens, "access_token");
        let request = revoke(&[
            ("token", access),
            ("token_type_hint", hint),
            ("client_id", APP),
        ]);
        assert_revoked(&fx.server.revoke(&request).await);
        assert!(!access_is_live(&fx, access).await, "{hint}");
    }
    let tokens = fx.app_tokens().await;
    let refresh = text(&tokens, "refresh_token");
    let request = revoke(&[
        ("token", refresh),
        ("token_type_hint", "access_token"),
        ("client_id", APP),
    ]);
    assert_revoked(&fx.server.revoke(&request).await);
    assert!(!refresh_is_live(&fx, refresh).await);
}

// C-RV-1: unknown, expired and already revoked tokens are answered 200 too.
#[tokio::test]
async fn unknown_expired_and_revoked_tokens_get_200() {
    let fx = Fixture::new().await;
    let unknown = revoke(&[("token", "never-issued"), ("client_id", APP)]);
    assert_revoked(&fx.server.revoke(&unknown).await);

    let tokens = fx.app_tokens().await;
    let access = text(&tokens, "access_token");
    let request = revoke(&[("token", access), ("client_id", APP)]);
    assert_revoked(&fx.server.revoke(&request).await);
    assert_revoked(&fx.server.revoke(&request).await);

    let tokens = fx.app_tokens().await;
    fx.advance(3600);
    let expired = revoke(&[("token", text(&tokens, "access_token")), ("client_id", APP)]);
    assert_revoked(&fx.server.revoke(&expired).await);
}

// C-RV-1: a client cannot revoke another client's token: the request is refused with
// unauthorized_client (RFC 7009 §2.1, RFC 6749 §5.2) and both tokens stay live.
#[tokio::test]
async fn another_clients_token_is_refused() {
    let fx = Fixture::new().await;
    let tokens = fx.app_tokens().await;
    let (access, refresh) = (
        text(&tokens, "access_token"),
        text(&tokens, "refresh_token"),
    );
    for token in [access, refresh] {
        let request = basic_post("/revoke", SVC, SVC_SECRET, &[("token", token)]);
        assert_error(
            &fx.server.revoke(&request).await,
            400,
            "unauthorized_client",
        );
    }
    let mine = svc_tokens(&fx).await;
    let request = revoke(&[("token", text(&mine, "access_token")), ("client_id", APP)]);
    assert_error(
        &fx.server.revoke(&request).await,
        400,
        "unauthorized_client",
    );
    assert!(access_is_live(&fx, access).await);
    assert!(refresh_is_live(&fx, refresh).await);
    assert!(access_is_live(&fx, text(&mine, "access_token")).await);
}

// C-RV-1: client authentication is required and checked before the token is looked at.
#[tokio::test]
async fn client_authentication_is_required() {
    let fx = Fixture::new().await;
    let tokens = svc_tokens(&fx).await;
    let access = text(&tokens, "access_token");

    let anonymous = revoke(&[("token", access)]);
    assert_error(&fx.server.revoke(&anonymous).await, 400, "invalid_client");
    // A confidential client without its secret is not authenticated.
    let id_only = revoke(&[("token", access), ("client_id", SVC)]);
    assert_error(&fx.server.revoke(&id_only).await, 400, "invalid_client");
    let wrong = basic_post("/revoke", SVC, "wrong-secret", &[("token", access)]);
    let response = fx.server.revoke(&wrong).await;
    assert_error(&response, 401, "invalid_client");
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic realm=")
    );
    let missing_token = revoke(&[("client_id", APP)]);
    let response = fx.server.revoke(&missing_token).await;
    assert_error(&response, 400, "invalid_request");
    assert!(access_is_live(&fx, access).await);
}

// C-RV-1: POST with a form body only; repeated parameters are invalid_request.
#[tokio::test]
async fn malformed_requests_are_invalid_request() {
    let fx = Fixture::new().await;
    let tokens = fx.app_tokens().await;
    let access = text(&tokens, "access_token");
    let body = form_body(&[("token", access), ("client_id", APP)]);

    let get = Request::get(format!("/revoke?token={access}&client_id={APP}"))
        .body(Vec::new())
        .unwrap();
    assert_error(&fx.server.revoke(&get).await, 400, "invalid_request");
    let json_body = Request::post("/revoke")
        .header("content-type", "application/json")
        .body(body.clone())
        .unwrap();
    assert_error(&fx.server.revoke(&json_body).await, 400, "invalid_request");
    let repeated = revoke(&[("token", access), ("token", "x"), ("client_id", APP)]);
    assert_error(&fx.server.revoke(&repeated).await, 400, "invalid_request");
    let repeated_hint = revoke(&[
        ("token", access),
        ("token_type_hint", "access_token"),
        ("token_type_hint", "refresh_token"),
        ("client_id", APP),
    ]);
    assert_error(
        &fx.server.revoke(&repeated_hint).await,
        400,
        "invalid_request",
    );
    assert!(access_is_live(&fx, access).await);
}

// C-RV-1: revoking a refresh token that was already rotated revokes its grant, successors
// included: whoever refreshed with it first may not be the client (RFC 9700 §4.14.2).
#[tokio::test]
async fn revoking_a_rotated_refresh_token_revokes_its_successors() {
    let fx = Fixture::new().await;
    let r1 = fx.app_tokens().await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let next = json(
        &fx.server
            .token(&refresh_request((APP, None), &r1, &[]))
            .await,
    );
    let a2 = next["access_token"].as_str().unwrap();
    let r2 = next["refresh_token"].as_str().unwrap();
    let revoke = post_form("/revoke", form_body(&[("token", &r1), ("client_id", APP)]));
    let response = fx.server.revoke(&revoke).await;
    assert_eq!(response.status(), 200);
    assert!(!access_is_live(&fx, a2).await);
    assert!(!refresh_is_live(&fx, r2).await);

    // An unknown token changes nothing.
    let live = fx.app_tokens().await;
    let unknown = post_form(
        "/revoke",
        form_body(&[("token", "never-issued"), ("client_id", APP)]),
    );
    assert_eq!(fx.server.revoke(&unknown).await.status(), 200);
    let access = live["access_token"].as_str().unwrap();
    assert!(access_is_live(&fx, access).await);
}
