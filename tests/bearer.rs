//! Bearer tokens at the resource server: RFC 6750.

mod common;

use common::*;
use grantor::{ErrorCode, OwnerId, Requirement, X_OAUTH_SCOPES};
use http::Request;
use http::header::{AUTHORIZATION, CONTENT_TYPE};

async fn token(fx: &Fixture) -> String {
    fx.app_tokens().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn challenge(response: &http::Response<Vec<u8>>) -> String {
    response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned()
}

// C-BR-1: `Authorization: Bearer`, scheme case-insensitive.
#[tokio::test]
async fn header_scheme_is_case_insensitive() {
    let fx = Fixture::new().await;
    let token = token(&fx).await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let request = Request::get("/api")
            .header(AUTHORIZATION, format!("{scheme} {token}"))
            .body(Vec::new())
            .unwrap();
        let grant = fx
            .server
            .validate_bearer(&request, &Requirement::any())
            .await
            .unwrap();
        assert_eq!(grant.owner(), Some(&OwnerId::new("alice")));
        assert_eq!(grant.client_id().as_str(), APP);
        assert!(!grant.is_app_token());
    }
}

// C-BR-2: a form body only for application/x-www-form-urlencoded and not GET.
#[tokio::test]
async fn form_body_token() {
    let fx = Fixture::new().await;
    let token = token(&fx).await;
    let body = form_body(&[("access_token", &token), ("other", "x")]);
    let post = post_form("/api", body.clone());
    assert!(
        fx.server
            .validate_bearer(&post, &Requirement::any())
            .await
            .is_ok()
    );

    let get = Request::get("/api")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body.clone())
        .unwrap();
    let error = fx
        .server
        .validate_bearer(&get, &Requirement::any())
        .await
        .unwrap_err();
    assert_eq!(error.status(), 401);
    assert_eq!(error.error_code(), None);

    let json = Request::post("/api")
        .header(CONTENT_TYPE, "application/json")
        .body(body.clone())
        .unwrap();
    let error = fx
        .server
        .validate_bearer(&json, &Requirement::any())
        .await
        .unwrap_err();
    assert_eq!(error.status(), 401);

    let off = Fixture::with(|c| c.bearer_in_body(false)).await;
    let token = off.app_tokens().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let post = post_form("/api", form_body(&[("access_token", &token)]));
    assert_eq!(
        off.server
            .validate_bearer(&post, &Requirement::any())
            .await
            .unwrap_err()
            .status(),
        401
    );
}

// C-BR-3: the query string only when enabled.
#[tokio::test]
async fn query_token_only_when_enabled() {
    let fx = Fixture::new().await;
    let token = token(&fx).await;
    let request = get(&format!("/api?access_token={token}"));
    let error = fx
        .server
        .validate_bearer(&request, &Requirement::any())
        .await
        .unwrap_err();
    assert_eq!(error.status(), 401);
    assert_eq!(error.error_code(), None);

    let on = Fixture::with(|c| c.bearer_in_query(true)).await;
    let token = on.app_tokens().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let request = get(&format!("/api?access_token={token}"));
    assert!(
        on.server
            .validate_bearer(&request, &Requirement::any())
            .await
            .is_ok()
    );
}

// C-BR-4: more than one method is 400 invalid_request.
#[tokio::test]
async fn two_methods_are_invalid_request() {
    let fx = Fixture::with(|c| c.bearer_in_query(true)).await;
    let token = token(&fx).await;
    let mut request = post_form(&format!("/api?access_token={token}"), Vec::new());
    request
        .headers_mut()
        .insert(AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    let error = fx
        .server
        .validate_bearer(&request, &Requirement::any())
        .await
        .unwrap_err();
    assert_eq!(error.status(), 400);
    assert_eq!(error.error_code(), Some(ErrorCode::InvalidRequest));

    let mut request = post_form("/api", form_body(&[("access_token", &token)]));
    request
        .headers_mut()
        .insert(AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    let response = fx
        .server
        .validate_bearer(&request, &Requirement::any())
        .await
        .unwrap_err()
        .into_response();
    assert_eq!(response.status(), 400);
    assert!(challenge(&response).contains("error=\"invalid_request\""));
}

// C-BR-5: no token → 401 bare challenge; bad/expired/revoked → 401 invalid_token; missing
// scope → 403 insufficient_scope with scope="…".
#[tokio::test]
async fn challenges() {
    let fx = Fixture::new().await;
    let response = fx
        .server
        .validate_bearer(&get("/api"), &Requirement::any())
        .await
        .unwrap_err()
        .into_response();
    assert_eq!(response.status(), 401);
    assert_eq!(challenge(&response), format!("Bearer realm=\"{ISSUER}\""));

    let response = fx
        .server
        .validate_bearer(&bearer("/api", "not-a-real-token"), &Requirement::any())
        .await
        .unwrap_err()
        .into_response();
    assert_eq!(response.status(), 401);
    assert!(challenge(&response).starts_with(&format!(
        "Bearer realm=\"{ISSUER}\", error=\"invalid_token\""
    )));
    assert_eq!(json(&response)["error"], "invalid_token");

    let token = token(&fx).await;
    let requirement = Requirement::any().scopes("read admin").unwrap();
    let response = fx
        .server
        .validate_bearer(&bearer("/api", &token), &requirement)
        .await
        .unwrap_err()
        .into_response();
    assert_eq!(response.status(), 403);
    let header = challenge(&response);
    assert!(header.contains("error=\"insufficient_scope\""), "{header}");
    assert!(header.ends_with("scope=\"admin read\""), "{header}");

    // Expired.
    fx.advance(3600);
    let error = fx
        .server
        .validate_bearer(&bearer("/api", &token), &Requirement::any())
        .await
        .unwrap_err();
    assert_eq!(error.status(), 401);
    assert_eq!(error.error_code(), Some(ErrorCode::InvalidToken));

    // Malformed header values are invalid_request.
    for value in ["Bearer ", "Bearer a b", "Bearer ä"] {
        let request = Request::get("/api")
            .header(AUTHORIZATION, value)
            .body(Vec::new())
            .unwrap();
        let error = fx
            .server
            .validate_bearer(&request, &Requirement::any())
            .await
            .unwrap_err();
        assert_eq!(error.status(), 400, "{value}");
    }
}

// C-BR-5: a revoked token (here: through code replay) is invalid_token.
#[tokio::test]
async fn revoked_token_is_invalid() {
    let fx = Fixture::new().await;
    let code = fx.app_code().await;
    let token = json(&fx.redeem_app_code(&code).await)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        fx.server
            .validate_bearer(&bearer("/api", &token), &Requirement::any())
            .await
            .is_ok()
    );
    fx.redeem_app_code(&code).await;
    let error = fx
        .server
        .validate_bearer(&bearer("/api", &token), &Requirement::any())
        .await
        .unwrap_err();
    assert_eq!(error.error_code(), Some(ErrorCode::InvalidToken));
}

// C-BR-6, C-SC-3: granted scopes as X-OAuth-Scopes; the base scope satisfies extended scopes.
#[tokio::test]
async fn scopes_header_and_extended_scopes() {
    let fx = Fixture::new().await;
    let query = app_query().replace("scope=read+write", "scope=read+messages");
    let response = fx.approve(&query, "alice", "read messages").await;
    let code = redirect_params(&response)["code"].clone();
    let token = json(&fx.redeem_app_code(&code).await)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let requirement = Requirement::user()
        .scopes("messages:net.app.core.pm")
        .unwrap();
    let grant = fx
        .server
        .validate_bearer(&bearer("/api", &token), &requirement)
        .await
        .unwrap();
    let mut headers = http::HeaderMap::new();
    grant.insert_scopes_header(&mut headers);
    assert_eq!(headers[X_OAUTH_SCOPES], "messages,read");
    // A user token does not satisfy an app-only route (C-SC-4).
    let error = fx
        .server
        .validate_bearer(&bearer("/api", &token), &Requirement::app())
        .await
        .unwrap_err();
    assert_eq!(error.status(), 403);
}

// C-BR-1, C-SE-3: a header token works whatever the host's own form body holds — large, or with
// encodings grantor would reject — because only `access_token` is looked for in a body.
#[tokio::test]
async fn header_token_with_an_odd_form_body() {
    let fx = Fixture::new().await;
    let token = token(&fx).await;
    let big = format!("upload={}", "x".repeat(100_000));
    for body in [big.into_bytes(), b"note=100%&bin=\xff".to_vec()] {
        let mut request = post_form("/api", body);
        request
            .headers_mut()
            .insert(AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        assert!(
            fx.server
                .validate_bearer(&request, &Requirement::any())
                .await
                .is_ok()
        );
    }
    // A malformed access_token itself is still invalid_request.
    let request = post_form("/api", b"access_token=%zz".to_vec());
    let error = fx
        .server
        .validate_bearer(&request, &Requirement::any())
        .await
        .unwrap_err();
    assert_eq!(error.status(), 400);
}
