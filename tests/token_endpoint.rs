//! The token endpoint and the authorization code grant: RFC 6749 §3.2, §4.1.3, §5, RFC 7636.

mod common;

use common::*;
use grantor::storage::{ClientStore, Digest, ExchangeKind, TokenRecord, TokenStore};
use grantor::{CodeChallenge, MemoryStorage, Requirement};
use http::Request;

async fn svc_code(fx: &Fixture, with_redirect: bool, with_challenge: bool) -> String {
    let mut query = format!("response_type=code&client_id={SVC}&scope=read");
    if with_redirect {
        query.push_str(&format!("&redirect_uri={}", enc(SVC_REDIRECT)));
    }
    if with_challenge {
        query.push_str(&format!(
            "&code_challenge={}&code_challenge_method=S256",
            CodeChallenge::s256(VERIFIER).value()
        ));
    }
    redirect_params(&fx.approve(&query, "alice", "read").await)["code"].clone()
}

// C-TK-1: POST only, form-urlencoded only (charset allowed), repeated parameters refused.
#[tokio::test]
async fn method_content_type_and_repeats() {
    let fx = Fixture::new().await;
    let code = fx.app_code().await;
    let body = form_body(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("client_id", APP),
        ("code_verifier", VERIFIER),
    ]);
    let get = Request::get("/token").body(body.clone()).unwrap();
    assert_error(&fx.server.token(&get).await, 400, "invalid_request");
    let json_request = Request::post("/token")
        .header("content-type", "application/json")
        .body(body.clone())
        .unwrap();
    let response = fx.server.token(&json_request).await;
    assert_error(&response, 400, "invalid_request");
    assert!(
        json(&response)["error_description"]
            .as_str()
            .unwrap()
            .contains("application/x-www-form-urlencoded")
    );
    let no_type = Request::post("/token").body(body.clone()).unwrap();
    assert_error(&fx.server.token(&no_type).await, 400, "invalid_request");

    let mut repeated = body.clone();
    repeated.extend_from_slice(b"&grant_type=authorization_code");
    assert_error(
        &fx.server.token(&post_form("/token", repeated)).await,
        400,
        "invalid_request",
    );

    // None of that spent the code; with a charset parameter the request succeeds.
    let ok = Request::post("/token")
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .body(body)
        .unwrap();
    assert_eq!(fx.server.token(&ok).await.status(), 200);
}

// C-TK-2: HTTP Basic with form-urlencoded id and secret, and credentials in the body, both
// work; two methods at once are invalid_request.
#[tokio::test]
async fn client_authentication_methods() {
    let fx = Fixture::new().await;
    let code = svc_code(&fx, false, false).await;
    let grant = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
    ];
    let both = {
        let mut pairs = grant.to_vec();
        pairs.push(("client_secret", SVC_SECRET));
        basic_token_request(SVC, SVC_SECRET, &pairs)
    };
    assert_error(&fx.server.token(&both).await, 400, "invalid_request");
    let response = fx
        .server
        .token(&basic_token_request(SVC, SVC_SECRET, &grant))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));

    let code = svc_code(&fx, false, false).await;
    let post = token_request(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("client_id", SVC),
        ("client_secret", SVC_SECRET),
    ]);
    assert_eq!(fx.server.token(&post).await.status(), 200);
}

// C-TK-2: ids and secrets with reserved characters are form-urlencoded before base64.
#[tokio::test]
async fn basic_credentials_are_urlencoded() {
    let fx = Fixture::new().await;
    let id = "odd id:+%";
    let secret = grantor::ClientSecret::new("s3cr:t with spaces+%");
    let client = grantor::Client::confidential(id, &secret)
        .redirect_uri("https://odd.example/cb")
        .allowed_scopes("read")
        .build()
        .unwrap();
    fx.server.register_client(client).await.unwrap();
    // invalid_grant (an unknown code) rather than invalid_client proves the credentials were
    // accepted.
    let request = basic_token_request(
        id,
        secret.secret(),
        &[("grant_type", "authorization_code"), ("code", "x")],
    );
    assert_error(&fx.server.token(&request).await, 400, "invalid_grant");
}

// C-TK-3: failed authentication is invalid_client: 401 with a Basic challenge when the header
// was used, 400 otherwise, and never says which part was wrong.
#[tokio::test]
async fn failed_client_authentication() {
    let fx = Fixture::new().await;
    let grant = [("grant_type", "authorization_code"), ("code", "whatever")];
    let wrong_secret = fx
        .server
        .token(&basic_token_request(SVC, "wrong", &grant))
        .await;
    let unknown_id = fx
        .server
        .token(&basic_token_request("nobody", SVC_SECRET, &grant))
        .await;
    for response in [&wrong_secret, &unknown_id] {
        assert_error(response, 401, "invalid_client");
        assert_eq!(
            response.headers()["www-authenticate"],
            format!("Basic realm=\"{ISSUER}\"")
        );
    }
    assert_eq!(
        json(&wrong_secret),
        json(&unknown_id),
        "no hint which part failed"
    );

    let mut body = grant.to_vec();
    body.extend([("client_id", SVC), ("client_secret", "wrong")]);
    let response = fx.server.token(&token_request(&body)).await;
    assert_error(&response, 400, "invalid_client");
    assert!(response.headers().get("www-authenticate").is_none());

    // A confidential client that sends no secret, and a request with no client at all.
    let id_only = [
        ("grant_type", "authorization_code"),
        ("code", "x"),
        ("client_id", SVC),
    ];
    assert_error(
        &fx.server.token(&token_request(&id_only)).await,
        400,
        "invalid_client",
    );
    assert_error(
        &fx.server.token(&token_request(&grant)).await,
        400,
        "invalid_client",
    );
    // A malformed Basic header is also invalid_client with a challenge.
    let mut bad = token_request(&grant);
    bad.headers_mut()
        .insert("authorization", "Basic %%%".parse().unwrap());
    assert_error(&fx.server.token(&bad).await, 401, "invalid_client");
}

// C-TK-4: the code must have been issued to this client, and redirect_uri must be repeated
// identically when the authorization request carried it.
#[tokio::test]
async fn code_is_bound_to_client_and_redirect_uri() {
    let fx = Fixture::new().await;
    // Issued to `app`, presented by `svc`.
    let code = fx.app_code().await;
    let stolen = basic_token_request(
        SVC,
        SVC_SECRET,
        &[("grant_type", "authorization_code"), ("code", &code)],
    );
    assert_error(&fx.server.token(&stolen).await, 400, "invalid_grant");

    let auth = |pairs: &[(&str, &str)]| basic_token_request(SVC, SVC_SECRET, pairs);
    // The authorization request carried redirect_uri: the token request must repeat it.
    let code = svc_code(&fx, true, false).await;
    let missing = auth(&[("grant_type", "authorization_code"), ("code", &code)]);
    assert_error(&fx.server.token(&missing).await, 400, "invalid_grant");
    let code = svc_code(&fx, true, false).await;
    let different = auth(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", "https://svc.example/cb?tenant=8"),
    ]);
    assert_error(&fx.server.token(&different).await, 400, "invalid_grant");
    let code = svc_code(&fx, true, false).await;
    let same = auth(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", SVC_REDIRECT),
    ]);
    assert_eq!(fx.server.token(&same).await.status(), 200);
}

// C-TK-5: a code presented a second time is invalid_grant and revokes what it issued.
#[tokio::test]
async fn code_replay_revokes_its_tokens() {
    let fx = Fixture::new().await;
    let code = fx.app_code().await;
    let first = json(&fx.redeem_app_code(&code).await);
    let access = first["access_token"].as_str().unwrap();
    let refresh = first["refresh_token"].as_str().unwrap();
    let storage = fx.storage();
    let now = fx.server.now();
    assert!(
        storage
            .access_token(&Digest::of(access), now)
            .await
            .unwrap()
            .is_some()
    );

    assert_error(&fx.redeem_app_code(&code).await, 400, "invalid_grant");
    assert!(
        storage
            .access_token(&Digest::of(access), now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!refresh_is_live(&fx, refresh).await);
    let api = fx
        .server
        .validate_bearer(&bearer("/api", access), &Requirement::any())
        .await;
    assert_eq!(api.unwrap_err().status(), 401);
}

// C-TK-5: a replay after the code's own lifetime still revokes what it issued: the redeemed
// code is kept as long as its tokens.
#[tokio::test]
async fn late_code_replay_still_revokes() {
    let fx = Fixture::new().await;
    let code = fx.app_code().await;
    let tokens = json(&fx.redeem_app_code(&code).await);
    let access = tokens["access_token"].as_str().unwrap();
    fx.advance(600);
    let api = fx
        .server
        .validate_bearer(&bearer("/api", access), &Requirement::any())
        .await;
    assert!(api.is_ok(), "the token outlives the code");
    assert_error(&fx.redeem_app_code(&code).await, 400, "invalid_grant");
    let api = fx
        .server
        .validate_bearer(&bearer("/api", access), &Requirement::any())
        .await;
    assert_eq!(api.unwrap_err().status(), 401);
}

// C-TK-6: the success response's fields and headers.
#[tokio::test]
async fn success_response_shape() {
    let fx = Fixture::new().await;
    let code = fx.app_code().await;
    let response = fx.redeem_app_code(&code).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body = json(&response);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["expires_in"].is_u64());
    assert_eq!(body["access_token"].as_str().unwrap().len(), 43);
    assert_eq!(body["refresh_token"].as_str().unwrap().len(), 43);
    assert_eq!(body["scope"], "read write");
    let keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
}

// C-TK-7: unknown grant types, missing grant_type and grants the client may not use.
#[tokio::test]
async fn grant_type_errors() {
    let fx = Fixture::new().await;
    let unknown = basic_token_request(SVC, SVC_SECRET, &[("grant_type", "urn:example:magic")]);
    assert_error(
        &fx.server.token(&unknown).await,
        400,
        "unsupported_grant_type",
    );
    // `implicit` is a response type, not a grant type of the token endpoint.
    let implicit = basic_token_request(SVC, SVC_SECRET, &[("grant_type", "implicit")]);
    assert_error(
        &fx.server.token(&implicit).await,
        400,
        "unsupported_grant_type",
    );
    let missing = basic_token_request(SVC, SVC_SECRET, &[("code", "x")]);
    assert_error(&fx.server.token(&missing).await, 400, "invalid_request");
    // `svc` is registered for the code and refresh grants only.
    let password = basic_token_request(
        SVC,
        SVC_SECRET,
        &[
            ("grant_type", "password"),
            ("username", "a"),
            ("password", "b"),
        ],
    );
    assert_error(
        &fx.server.token(&password).await,
        400,
        "unauthorized_client",
    );
}

// C-PK-3: a wrong or malformed verifier is invalid_grant, and it spends the code.
#[tokio::test]
async fn wrong_verifier_spends_the_code() {
    let fx = Fixture::new().await;
    let other_verifier = "a".repeat(43);
    for verifier in [
        other_verifier.as_str(),
        "short",
        &"b".repeat(129),
        &format!("{}!", &VERIFIER[..43]),
    ] {
        let code = fx.app_code().await;
        let wrong = token_request(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", APP),
            ("code_verifier", verifier),
        ]);
        assert_error(&fx.server.token(&wrong).await, 400, "invalid_grant");
        // The code is spent: even the right verifier fails now.
        assert_error(&fx.redeem_app_code(&code).await, 400, "invalid_grant");
    }
}

// C-PK-4: no downgrade in either direction.
#[tokio::test]
async fn pkce_downgrade_is_refused() {
    let fx = Fixture::new().await;
    // A code with a challenge, redeemed without a verifier.
    let code = fx.app_code().await;
    let without = token_request(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("client_id", APP),
    ]);
    assert_error(&fx.server.token(&without).await, 400, "invalid_grant");
    // A code without a challenge, redeemed with a verifier.
    let code = svc_code(&fx, false, false).await;
    let with = basic_token_request(
        SVC,
        SVC_SECRET,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", VERIFIER),
        ],
    );
    assert_error(&fx.server.token(&with).await, 400, "invalid_grant");
    // And a confidential client that used PKCE must prove it.
    let code = svc_code(&fx, false, true).await;
    let ok = basic_token_request(
        SVC,
        SVC_SECRET,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", VERIFIER),
        ],
    );
    assert_eq!(fx.server.token(&ok).await.status(), 200);
}

// C-SE-1: storage is keyed by the digest of each secret: the issued tokens are found under
// `Digest::of(token)` and the client under its secret's digest. (That nothing storage is given
// holds a clear secret is proven over every grant in tests/secrets.rs.)
#[tokio::test]
async fn storage_keeps_only_digests() {
    let fx = Fixture::new().await;
    let code = fx.app_code().await;
    let tokens = json(&fx.redeem_app_code(&code).await);
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let now = fx.server.now();
    let storage = fx.storage();
    let access = storage
        .access_token(&Digest::of(access), now)
        .await
        .unwrap();
    let refresh = storage
        .record(ExchangeKind::REFRESH_TOKEN, &Digest::of(refresh))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(access.unwrap().client_id.as_str(), APP);
    let refresh = refresh.data.get::<TokenRecord>().unwrap();
    assert_eq!(refresh.client_id.as_str(), APP);
    let client = storage.client(SVC).await.unwrap().unwrap();
    assert_eq!(client.secret_digest(), Some(&Digest::of(SVC_SECRET)));
}

// C-SE-3: malformed bodies get RFC errors, never a panic or a 500, and change nothing.
#[tokio::test]
async fn malformed_bodies_change_nothing() {
    let fx = Fixture::new().await;
    let code = fx.app_code().await;
    let before = fx.storage().stats();
    let bodies: Vec<Vec<u8>> = vec![
        vec![0xff, 0xfe, 0xfd],
        b"grant_type=authorization_code&code=%".to_vec(),
        b"grant_type=authorization%5Fcode&code=%G0".to_vec(),
        format!("grant_type=authorization_code&code={}", "x".repeat(40_000)).into_bytes(),
        b"&&&===&&".to_vec(),
        Vec::new(),
    ];
    for body in bodies {
        let response = fx.server.token(&post_form("/token", body)).await;
        assert_eq!(response.status(), 400, "{}", body_text(&response));
        let error = json(&response)["error"].as_str().unwrap().to_owned();
        assert!(
            ["invalid_request", "invalid_client"].contains(&error.as_str()),
            "{error}"
        );
    }
    assert_eq!(fx.storage().stats(), before);
    assert_eq!(fx.redeem_app_code(&code).await.status(), 200);
}

// C-SE-2: error descriptions never contain secrets or client-supplied values.
#[tokio::test]
async fn errors_do_not_echo_secrets() {
    let fx = Fixture::new().await;
    let secret_like = "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1uZXZlci1hcHBlYXI";
    let response = fx
        .server
        .token(&basic_token_request(
            SVC,
            secret_like,
            &[("grant_type", "authorization_code"), ("code", secret_like)],
        ))
        .await;
    assert!(!body_text(&response).contains(secret_like));
    let response = fx
        .server
        .token(&token_request(&[
            ("grant_type", "authorization_code"),
            ("code", secret_like),
            ("client_id", APP),
            ("code_verifier", secret_like),
        ]))
        .await;
    assert_error(&response, 400, "invalid_grant");
    assert!(!body_text(&response).contains(secret_like));
}

// C-SE-4: concurrent redemptions of one code produce exactly one success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_redemption_has_one_winner() {
    let fx = std::sync::Arc::new(Fixture::new().await);
    for _ in 0..20 {
        let code = fx.app_code().await;
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let fx = fx.clone();
                let code = code.clone();
                tokio::spawn(async move { fx.redeem_app_code(&code).await.status().as_u16() })
            })
            .collect();
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        assert_eq!(
            statuses.iter().filter(|&&s| s == 200).count(),
            1,
            "{statuses:?}"
        );
        assert!(statuses.iter().all(|&s| s == 200 || s == 400));
    }
}

#[test]
fn memory_storage_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<MemoryStorage>();
}
