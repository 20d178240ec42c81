//! The introspection endpoint: RFC 7662, black-box.

mod common;

use common::*;
use grantor::storage::{GrantId, NewTokens, StoredToken, TokenRecord, TokenStore};
use grantor::{AccessToken, Client, ClientId, ClientSecret, ScopeSet, Timestamp};
use http::Response;
use serde_json::json;

const RS: &str = "resource-server";
const RS_SECRET: &str = "resource-server-secret-long-enough-for-tests";

/// The fixture plus a resource server allowed to introspect any access token.
async fn fixture() -> Fixture {
    let fx = Fixture::new().await;
    let rs = Client::confidential(RS, &ClientSecret::new(RS_SECRET))
        .grant_types([])
        .introspects_any_token(true)
        .build()
        .unwrap();
    fx.server.register_client(rs).await.unwrap();
    fx
}

async fn introspect_as(fx: &Fixture, id: &str, secret: &str, token: &str) -> Response<Vec<u8>> {
    let request = basic_post("/introspect", id, secret, &[("token", token)]);
    fx.server.introspect(&request).await
}

async fn introspect_as_app(fx: &Fixture, token: &str) -> Response<Vec<u8>> {
    let request = post_form(
        "/introspect",
        form_body(&[("token", token), ("client_id", APP)]),
    );
    fx.server.introspect(&request).await
}

/// Asserts exactly `{"active":false}` with the no-store headers.
fn assert_inactive(response: &Response<Vec<u8>>) {
    assert_eq!(response.status(), 200);
    assert_eq!(body_text(response), r#"{"active":false}"#);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["content-type"], "application/json");
}

// C-IN-1: an active access token: every member, with the right values, and nothing else.
#[tokio::test]
async fn active_access_token_has_every_member() {
    let fx = fixture().await;
    let tokens = fx.app_tokens().await;
    let expected = json!({
        "active": true,
        "scope": "read write",
        "client_id": APP,
        "sub": "alice",
        "token_type": "Bearer",
        "exp": START + 3600,
        "iat": START,
        "iss": ISSUER,
    });
    // The resource server, allowed to see any access token.
    let response = introspect_as(&fx, RS, RS_SECRET, text(&tokens, "access_token")).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(json(&response), expected);
    // The client the token was issued to.
    let response = introspect_as_app(&fx, text(&tokens, "access_token")).await;
    assert_eq!(json(&response), expected);
}

// C-IN-1: a client sees its own refresh token; nobody else does, not even a resource server.
#[tokio::test]
async fn refresh_tokens_are_visible_only_to_their_client() {
    let fx = fixture().await;
    let tokens = fx.app_tokens().await;
    let refresh = text(&tokens, "refresh_token");
    let request = post_form(
        "/introspect",
        form_body(&[
            ("token", refresh),
            ("token_type_hint", "refresh_token"),
            ("client_id", APP),
        ]),
    );
    let body = json(&fx.server.introspect(&request).await);
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "refresh_token");
    assert_eq!(body["exp"], START + 30 * 24 * 3600);
    assert_eq!(body["sub"], "alice");
    assert_inactive(&introspect_as(&fx, RS, RS_SECRET, refresh).await);
    assert_inactive(&introspect_as(&fx, SVC, SVC_SECRET, refresh).await);
}

// C-IN-1: a client without the permission never learns about another client's tokens.
#[tokio::test]
async fn other_clients_tokens_are_inactive_without_permission() {
    let fx = fixture().await;
    let tokens = fx.app_tokens().await;
    let access = text(&tokens, "access_token");
    assert_inactive(&introspect_as(&fx, SVC, SVC_SECRET, access).await);
    let svc = svc_tokens(&fx).await;
    assert_inactive(&introspect_as_app(&fx, text(&svc, "access_token")).await);
    // Its own token, it sees.
    let own = json(&introspect_as(&fx, SVC, SVC_SECRET, text(&svc, "access_token")).await);
    assert_eq!(own["active"], true);
    assert_eq!(own["client_id"], SVC);
    assert_eq!(own["sub"], "bob");
}

// C-IN-1: unknown, expired and revoked tokens are exactly {"active":false}.
#[tokio::test]
async fn unknown_expired_and_revoked_tokens_are_inactive() {
    let fx = fixture().await;
    assert_inactive(&introspect_as(&fx, RS, RS_SECRET, "never-issued").await);

    let revoked = fx.app_tokens().await;
    let request = post_form(
        "/revoke",
        form_body(&[
            ("token", text(&revoked, "refresh_token")),
            ("client_id", APP),
        ]),
    );
    assert_eq!(fx.server.revoke(&request).await.status(), 200);
    assert_inactive(&introspect_as(&fx, RS, RS_SECRET, text(&revoked, "access_token")).await);
    assert_inactive(&introspect_as_app(&fx, text(&revoked, "refresh_token")).await);

    let expiring = fx.app_tokens().await;
    let access = text(&expiring, "access_token");
    fx.advance(3599);
    assert_eq!(
        json(&introspect_as(&fx, RS, RS_SECRET, access).await)["active"],
        true
    );
    fx.advance(1);
    assert_inactive(&introspect_as(&fx, RS, RS_SECRET, access).await);
}

// C-IN-1: an app token (no resource owner) has no sub, so it cannot pass for a user's.
#[tokio::test]
async fn app_tokens_have_no_sub() {
    let fx = fixture().await;
    let token = AccessToken::generate();
    let record = TokenRecord::new(
        GrantId::generate(),
        ClientId::new(SVC).unwrap(),
        None,
        ScopeSet::parse("read").unwrap(),
        Timestamp::from_secs(START),
        Timestamp::from_secs(START + 60),
    );
    let tokens = NewTokens::new(StoredToken::new(token.digest(), record), None);
    assert!(fx.storage().save_tokens(tokens).await.unwrap());
    let body = json(&introspect_as(&fx, RS, RS_SECRET, token.secret()).await);
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], SVC);
    assert!(body.get("sub").is_none(), "{body}");
    assert!(body.get("username").is_none(), "{body}");
}

// C-IN-1: unauthenticated callers get invalid_client, whatever the token.
#[tokio::test]
async fn callers_must_authenticate() {
    let fx = fixture().await;
    let tokens = fx.app_tokens().await;
    let access = text(&tokens, "access_token");
    let anonymous = post_form("/introspect", form_body(&[("token", access)]));
    assert_error(
        &fx.server.introspect(&anonymous).await,
        400,
        "invalid_client",
    );
    let no_secret = post_form(
        "/introspect",
        form_body(&[("token", access), ("client_id", RS)]),
    );
    assert_error(
        &fx.server.introspect(&no_secret).await,
        400,
        "invalid_client",
    );
    let response = introspect_as(&fx, RS, "wrong", access).await;
    assert_error(&response, 401, "invalid_client");
    assert!(response.headers().contains_key("www-authenticate"));
    let unknown = introspect_as(&fx, "nobody", RS_SECRET, access).await;
    assert_error(&unknown, 401, "invalid_client");
    assert_eq!(
        json(&unknown)["error_description"],
        json(&response)["error_description"]
    );
    // Authenticated, but no token.
    let request = basic_post("/introspect", RS, RS_SECRET, &[]);
    assert_error(
        &fx.server.introspect(&request).await,
        400,
        "invalid_request",
    );
    let get = get(&format!("/introspect?token={access}&client_id={APP}"));
    assert_error(&fx.server.introspect(&get).await, 400, "invalid_request");
}

// C-IN-1: only a confidential client can hold the permission to introspect any token.
#[test]
fn public_clients_cannot_introspect_any_token() {
    let result = Client::public("spa")
        .redirect_uri("https://spa.example/cb")
        .introspects_any_token(true)
        .build();
    assert!(result.is_err());
}
