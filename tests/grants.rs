//! The implicit, password, client credentials and refresh token grants (RFC 6749 §4.2–4.4, §6;
//! RFC 9700 §4.14).

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use grantor::{OwnerId, Requirement};

fn spa_query(extra: &str) -> String {
    format!("response_type=token&client_id={SPA}&state=xyz{extra}")
}

// C-AZ-7: the implicit grant delivers the token in the fragment, never a refresh token.
#[tokio::test]
async fn implicit_token_in_fragment() {
    let fx = Fixture::new().await;
    let response = fx
        .approve(&spa_query("&scope=read+write"), "alice", "read write")
        .await;
    assert_eq!(response.status(), 303);
    let location = location(&response);
    assert!(
        location.starts_with(&format!("{SPA_REDIRECT}#")),
        "{location}"
    );
    assert!(!location.contains('?'), "nothing in the query: {location}");
    let params = redirect_params(&response);
    assert_eq!(params["token_type"], "Bearer");
    assert_eq!(params["expires_in"], "3600");
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], ISSUER);
    assert!(!params.contains_key("refresh_token"));
    assert!(
        !params.contains_key("scope"),
        "scope equals the request: omitted"
    );
    assert_eq!(fx.storage().stats().records, 0, "no refresh token");
    let grant = fx
        .server
        .validate_bearer(
            &bearer("/api", &params["access_token"]),
            &Requirement::user(),
        )
        .await
        .unwrap();
    assert_eq!(grant.owner(), Some(&OwnerId::new("alice")));
    assert_eq!(grant.scope().to_string(), "read write");
}

// C-AZ-7, C-AZ-8: scope is in the fragment when it differs from the request.
#[tokio::test]
async fn implicit_scope_when_it_differs() {
    let fx = Fixture::new().await;
    let response = fx
        .approve(&spa_query("&scope=read+write"), "alice", "read")
        .await;
    assert_eq!(redirect_params(&response)["scope"], "read");
    // No scope requested: the default is used, and the response says which.
    let response = fx.approve(&spa_query(""), "alice", "read").await;
    assert_eq!(redirect_params(&response)["scope"], "read");
}

// C-AZ-5, C-AZ-7: implicit-grant errors go to the fragment.
#[tokio::test]
async fn implicit_errors_in_fragment() {
    let fx = Fixture::new().await;
    let error = fx
        .server
        .authorize(&get(&format!("/authorize?{}", spa_query("&scope=admin"))))
        .await
        .unwrap_err();
    let response = error.into_response();
    assert!(location(&response).starts_with(&format!("{SPA_REDIRECT}#error=invalid_scope")));
    assert_eq!(redirect_params(&response)["state"], "xyz");

    let pending = fx
        .server
        .authorize(&get(&format!("/authorize?{}", spa_query(""))))
        .await
        .unwrap();
    let denied = fx.server.deny(pending);
    assert!(location(&denied).starts_with(&format!("{SPA_REDIRECT}#error=access_denied")));
}

// C-TK-8: the password grant works for clients with that permission, and only for them.
#[tokio::test]
async fn password_grant() {
    let fx = Fixture::new().await;
    let response = fx
        .server
        .token(&password_request(
            "alice",
            "wonderland",
            &[("scope", "read write")],
        ))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let tokens = json(&response);
    assert_eq!(tokens["scope"], "read write");
    assert!(tokens["refresh_token"].is_string());
    let grant = fx
        .server
        .validate_bearer(
            &bearer("/api", tokens["access_token"].as_str().unwrap()),
            &Requirement::user(),
        )
        .await
        .unwrap();
    assert_eq!(grant.owner(), Some(&OwnerId::new("user-alice")));

    // `app` has no password permission.
    let request = token_request(&[
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "wonderland"),
        ("client_id", APP),
    ]);
    assert_error(&fx.server.token(&request).await, 400, "unauthorized_client");
}

// C-TK-8: a wrong password and an unknown user get the same invalid_grant.
#[tokio::test]
async fn password_failures_give_no_hint() {
    let fx = Fixture::new().await;
    let wrong_password = fx
        .server
        .token(&password_request("alice", "nope", &[]))
        .await;
    let unknown_user = fx
        .server
        .token(&password_request("mallory", "wonderland", &[]))
        .await;
    assert_error(&wrong_password, 400, "invalid_grant");
    assert_eq!(wrong_password.body(), unknown_user.body());
    assert!(!body_text(&wrong_password).contains("alice"));
    assert_eq!(fx.storage().stats().access_tokens, 0);

    let missing = fx
        .server
        .token(&basic_token_request(
            TRUSTED,
            TRUSTED_SECRET,
            &[("grant_type", "password"), ("username", "alice")],
        ))
        .await;
    assert_error(&missing, 400, "invalid_request");
}

// C-SE-2, C-SE-3: an authenticator failure is a bare server_error, reported to the host's hook
// with where it happened: the endpoint and the client the request named.
#[tokio::test]
async fn authenticator_failure_is_server_error() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let fx = Fixture::with(move |c| {
        c.on_internal_error(move |e, context| {
            let client = context.client_id.map(str::to_owned);
            sink.lock()
                .unwrap()
                .push((e.to_string(), context.endpoint, client));
        })
    })
    .await;
    let response = fx
        .server
        .token(&password_request(BROKEN_USER, "whatever", &[]))
        .await;
    assert_eq!(response.status(), 500);
    assert_eq!(json(&response)["error"], "server_error");
    assert!(
        !body_text(&response).contains("unreachable"),
        "no internals to the client"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].0.contains("user database unreachable"));
    assert_eq!(seen[0].1, "token");
    assert_eq!(seen[0].2.as_deref(), Some(TRUSTED));
}

// C-TK-9, C-SC-4: client credentials give an app token, no refresh token by default.
#[tokio::test]
async fn client_credentials_grant() {
    let fx = Fixture::new().await;
    let request = basic_token_request(
        WORKER,
        WORKER_SECRET,
        &[("grant_type", "client_credentials")],
    );
    let response = fx.server.token(&request).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let tokens = json(&response);
    assert_eq!(tokens["scope"], "stats");
    assert!(tokens.get("refresh_token").is_none());
    let token = tokens["access_token"].as_str().unwrap();
    let grant = fx
        .server
        .validate_bearer(&bearer("/api", token), &Requirement::app())
        .await
        .unwrap();
    assert!(grant.is_app_token());
    assert_eq!(grant.owner(), None);
    assert_eq!(grant.client_id().as_str(), WORKER);
    let error = fx
        .server
        .validate_bearer(&bearer("/api", token), &Requirement::user())
        .await
        .unwrap_err();
    assert_eq!(error.status(), 403);
    assert!(
        fx.server
            .validate_bearer(&bearer("/api", token), &Requirement::any())
            .await
            .is_ok()
    );

    // A wider scope than allowed is invalid_scope; public clients cannot use the grant.
    let wide = basic_token_request(
        WORKER,
        WORKER_SECRET,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "stats admin"),
        ],
    );
    assert_error(&fx.server.token(&wide).await, 400, "invalid_scope");
    let public = token_request(&[("grant_type", "client_credentials"), ("client_id", APP)]);
    assert_error(&fx.server.token(&public).await, 400, "unauthorized_client");
}

// C-TK-9: the client credentials grant is for confidential clients only: a public client cannot
// even be registered for it.
#[test]
fn client_credentials_need_a_confidential_client() {
    let public =
        grantor::Client::public("cli").grant_types([grantor::GrantType::ClientCredentials]);
    assert!(public.build().is_err());
}

// C-TK-9: a refresh token for client credentials only when configured.
#[tokio::test]
async fn client_credentials_refresh_when_configured() {
    let fx = Fixture::with(|c| c.refresh_tokens_for_client_credentials(true)).await;
    let request = basic_token_request(
        WORKER,
        WORKER_SECRET,
        &[("grant_type", "client_credentials")],
    );
    let tokens = json(&fx.server.token(&request).await);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let response = fx
        .server
        .token(&refresh_request(
            (WORKER, Some(WORKER_SECRET)),
            refresh,
            &[],
        ))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let token = json(&response)["access_token"].as_str().unwrap().to_owned();
    let grant = fx
        .server
        .validate_bearer(&bearer("/api", &token), &Requirement::app())
        .await
        .unwrap();
    assert!(grant.is_app_token());
}

// C-TK-10: a refresh token is bound to its client; wider scope is invalid_scope; omitted scope
// is the original; a narrower one is allowed. Refused requests change nothing.
#[tokio::test]
async fn refresh_binding_and_scope() {
    let fx = Fixture::new().await;
    let tokens = fx.app_tokens().await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let stolen = refresh_request((SVC, Some(SVC_SECRET)), &refresh, &[]);
    assert_error(&fx.server.token(&stolen).await, 400, "invalid_grant");
    let wider = refresh_request((APP, None), &refresh, &[("scope", "read write messages")]);
    assert_error(&fx.server.token(&wider).await, 400, "invalid_scope");
    let malformed = refresh_request((APP, None), &refresh, &[("scope", "read  write")]);
    assert_error(&fx.server.token(&malformed).await, 400, "invalid_scope");

    // Still usable after the refused requests; narrower scope for the access token.
    let narrow = fx
        .server
        .token(&refresh_request(
            (APP, None),
            &refresh,
            &[("scope", "read")],
        ))
        .await;
    assert_eq!(narrow.status(), 200, "{}", body_text(&narrow));
    let narrow = json(&narrow);
    assert_eq!(narrow["scope"], "read");
    // The new refresh token keeps the original scope (RFC 6749 §6).
    let next = narrow["refresh_token"].as_str().unwrap();
    let full = json(
        &fx.server
            .token(&refresh_request((APP, None), next, &[]))
            .await,
    );
    assert_eq!(full["scope"], "read write");
}

// C-TK-11: rotation issues a new refresh token each time; presenting a rotated one revokes the
// whole family.
#[tokio::test]
async fn rotation_and_reuse_detection() {
    let fx = Fixture::new().await;
    let first = fx.app_tokens().await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let second = json(
        &fx.server
            .token(&refresh_request((APP, None), &r1, &[]))
            .await,
    );
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    let a2 = second["access_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    let third = json(
        &fx.server
            .token(&refresh_request((APP, None), &r2, &[]))
            .await,
    );
    let r3 = third["refresh_token"].as_str().unwrap().to_owned();
    let a3 = third["access_token"].as_str().unwrap().to_owned();

    // r1 was rotated: presenting it again is invalid_grant and revokes everything.
    assert_error(
        &fx.server
            .token(&refresh_request((APP, None), &r1, &[]))
            .await,
        400,
        "invalid_grant",
    );
    for access in [first["access_token"].as_str().unwrap(), &a2, &a3] {
        assert!(!access_is_live(&fx, access).await);
    }
    assert!(!refresh_is_live(&fx, &r3).await);
    assert_error(
        &fx.server
            .token(&refresh_request((APP, None), &r3, &[]))
            .await,
        400,
        "invalid_grant",
    );
}

// C-TK-11: with rotation off, a confidential client's refresh token stays and no new one is
// issued; a public client's refresh token rotates all the same (RFC 9700 §4.14.2).
#[tokio::test]
async fn rotation_can_be_turned_off_for_confidential_clients() {
    let fx = Fixture::with(|c| c.rotate_refresh_tokens(false)).await;
    let tokens = json(
        &fx.server
            .token(&password_request("alice", "wonderland", &[]))
            .await,
    );
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        let request = refresh_request((TRUSTED, Some(TRUSTED_SECRET)), &refresh, &[]);
        let response = json(&fx.server.token(&request).await);
        assert!(response["access_token"].is_string(), "{response}");
        assert!(response.get("refresh_token").is_none());
    }

    let public = fx.app_tokens().await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = json(
        &fx.server
            .token(&refresh_request((APP, None), &public, &[]))
            .await,
    );
    assert!(response["refresh_token"].is_string());
    assert_error(
        &fx.server
            .token(&refresh_request((APP, None), &public, &[]))
            .await,
        400,
        "invalid_grant",
    );
}

// Refresh tokens expire.
#[tokio::test]
async fn refresh_tokens_expire() {
    let fx =
        Fixture::with(|c| c.refresh_token_lifetime(std::time::Duration::from_secs(7200))).await;
    let refresh = fx.app_tokens().await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    fx.advance(7200);
    assert_error(
        &fx.server
            .token(&refresh_request((APP, None), &refresh, &[]))
            .await,
        400,
        "invalid_grant",
    );
}

// C-SE-4: concurrent use of one refresh token has exactly one winner, and the family is
// consistent afterwards: the losers' replays revoked it, so the winner's tokens are dead too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refresh_has_one_winner() {
    let fx = Arc::new(Fixture::new().await);
    for _ in 0..10 {
        let refresh = fx.app_tokens().await["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let fx = fx.clone();
                let refresh = refresh.clone();
                tokio::spawn(async move {
                    let response = fx
                        .server
                        .token(&refresh_request((APP, None), &refresh, &[]))
                        .await;
                    (response.status().as_u16(), json(&response))
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        let winners: Vec<_> = results.iter().filter(|(s, _)| *s == 200).collect();
        assert_eq!(winners.len(), 1, "{results:?}");
        assert!(
            results
                .iter()
                .all(|(s, b)| *s == 200 || (*s == 400 && b["error"] == "invalid_grant"))
        );
        let winner = &winners[0].1;
        assert!(!access_is_live(&fx, winner["access_token"].as_str().unwrap()).await);
        assert!(!refresh_is_live(&fx, winner["refresh_token"].as_str().unwrap()).await);
    }
}

// C-TK-7: without an authenticator the password grant is unsupported, as the metadata says.
#[tokio::test]
async fn password_grant_needs_an_authenticator() {
    let config = grantor::Config::builder(ISSUER).build().unwrap();
    let server = grantor::Server::new(config, grantor::MemoryStorage::new());
    for client in clients() {
        server.register_client(client).await.unwrap();
    }
    let response = server
        .token(&password_request("alice", "wonderland", &[]))
        .await;
    assert_error(&response, 400, "unsupported_grant_type");
    let grants = server.metadata()["grant_types_supported"].clone();
    assert!(
        !grants.as_array().unwrap().iter().any(|g| g == "password"),
        "{grants}"
    );
}
