//! The scope model and the providers' policies: allowed, default and always-granted scopes,
//! extended scopes, app and user tokens, owner-only clients, the token-response hook.

mod common;

use common::*;
use grantor::{Client, GrantType, OwnerId, Requirement};

// C-SC-1: scopes the client may not have are invalid_scope at every entry point; the owner may
// grant a subset; the token carries only what was granted.
#[tokio::test]
async fn client_allowed_scopes_and_owner_subset() {
    let fx = Fixture::new().await;
    let before = fx.storage().stats();
    let response = fx
        .server
        .token(&password_request(
            "alice",
            "wonderland",
            &[("scope", "read admin")],
        ))
        .await;
    assert_error(&response, 400, "invalid_scope");
    assert_eq!(
        fx.storage().stats(),
        before,
        "a refused request stores nothing"
    );

    let response = fx.approve(&app_query(), "alice", "write").await;
    let code = redirect_params(&response)["code"].clone();
    let tokens = json(&fx.redeem_app_code(&code).await);
    assert_eq!(tokens["scope"], "write");
    let token = tokens["access_token"].as_str().unwrap();
    let read = Requirement::any().scopes("read").unwrap();
    let error = fx
        .server
        .validate_bearer(&bearer("/api", token), &read)
        .await
        .unwrap_err();
    assert_eq!(error.status(), 403);
}

// C-SC-2: always-granted scopes are added to every user token, never to app tokens.
#[tokio::test]
async fn always_granted_scopes() {
    let fx = Fixture::with(|c| c.always_granted_scopes("basic")).await;
    // Code grant: the owner granted only `read`.
    let response = fx.approve(&app_query(), "alice", "read").await;
    let code = redirect_params(&response)["code"].clone();
    let tokens = json(&fx.redeem_app_code(&code).await);
    assert_eq!(tokens["scope"], "basic read");
    // Refresh with a narrower scope keeps `basic`.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let narrowed = json(
        &fx.server
            .token(&refresh_request((APP, None), refresh, &[("scope", "read")]))
            .await,
    );
    assert_eq!(narrowed["scope"], "basic read");
    // Implicit and password grants.
    let implicit = fx
        .approve(
            &format!("response_type=token&client_id={SPA}&scope=read"),
            "alice",
            "read",
        )
        .await;
    assert_eq!(redirect_params(&implicit)["scope"], "basic read");
    let password = json(
        &fx.server
            .token(&password_request("alice", "wonderland", &[]))
            .await,
    );
    assert_eq!(password["scope"], "basic read");
    // App token: no `basic`.
    let app = basic_token_request(
        WORKER,
        WORKER_SECRET,
        &[("grant_type", "client_credentials")],
    );
    assert_eq!(json(&fx.server.token(&app).await)["scope"], "stats");
}

// C-SC-3: a client allowed the base scope may request its extended scopes; the base scope on a
// token satisfies a route's extended scope, and not the other way round.
#[tokio::test]
async fn extended_scopes() {
    let fx = Fixture::new().await;
    let pm = "messages:net.app.core.pm";
    let response = fx
        .server
        .token(&password_request("alice", "wonderland", &[("scope", pm)]))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let token = json(&response)["access_token"].as_str().unwrap().to_owned();
    let pm_route = Requirement::user().scopes(pm).unwrap();
    assert!(
        fx.server
            .validate_bearer(&bearer("/api", &token), &pm_route)
            .await
            .is_ok()
    );
    let base_route = Requirement::user().scopes("messages").unwrap();
    let error = fx
        .server
        .validate_bearer(&bearer("/api", &token), &base_route)
        .await
        .unwrap_err();
    assert_eq!(error.status(), 403);

    // A client allowed only one extended scope may not request the base scope.
    let narrow = Client::public("narrow")
        .redirect_uri("https://narrow.example/cb")
        .allowed_scopes(pm)
        .build()
        .unwrap();
    fx.server.register_client(narrow).await.unwrap();
    let query = format!(
        "/authorize?response_type=code&client_id=narrow&scope=messages&code_challenge={}&code_challenge_method=S256",
        grantor::CodeChallenge::s256(VERIFIER).value()
    );
    let error = fx.server.authorize(&get(&query)).await.unwrap_err();
    assert_eq!(error.error().code(), grantor::ErrorCode::InvalidScope);
}

// C-SC-4: user and app tokens are told apart, and routes can require either or any.
#[tokio::test]
async fn app_and_user_tokens() {
    let fx = Fixture::new().await;
    let user = fx.app_tokens().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let app_request = basic_token_request(
        WORKER,
        WORKER_SECRET,
        &[("grant_type", "client_credentials")],
    );
    let app = json(&fx.server.token(&app_request).await)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for (token, user_ok, app_ok) in [(&user, true, false), (&app, false, true)] {
        let as_user = fx
            .server
            .validate_bearer(&bearer("/api", token), &Requirement::user())
            .await;
        let as_app = fx
            .server
            .validate_bearer(&bearer("/api", token), &Requirement::app())
            .await;
        let as_any = fx
            .server
            .validate_bearer(&bearer("/api", token), &Requirement::any())
            .await;
        assert_eq!(as_user.is_ok(), user_ok);
        assert_eq!(as_app.is_ok(), app_ok);
        assert_eq!(as_any.unwrap().is_app_token(), app_ok);
    }
}

// C-SC-5: a client restricted to its owner can be authorized only by that owner.
#[tokio::test]
async fn owner_only_clients() {
    let fx = Fixture::new().await;
    let query = format!(
        "response_type=code&client_id={OWNED}&state=s&code_challenge={}&code_challenge_method=S256",
        grantor::CodeChallenge::s256(VERIFIER).value()
    );
    let before = fx.storage().stats();
    let response = fx.approve(&query, "user-alice", "read").await;
    let params = redirect_params(&response);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "s");
    assert!(!params.contains_key("code"));
    assert_eq!(fx.storage().stats(), before);
    let response = fx.approve(&query, "user-olivia", "read").await;
    assert!(redirect_params(&response).contains_key("code"));

    // The password grant enforces the same rule.
    let owned = Client::confidential("owned-trusted", &grantor::ClientSecret::new("owned-secret"))
        .grant_types([GrantType::Password])
        .allowed_scopes("read")
        .default_scopes("read")
        .owner(OwnerId::new("user-olivia"))
        .owner_only(true)
        .build()
        .unwrap();
    fx.server.register_client(owned).await.unwrap();
    let by = |user: &str, pass: &str| {
        basic_token_request(
            "owned-trusted",
            "owned-secret",
            &[
                ("grant_type", "password"),
                ("username", user),
                ("password", pass),
            ],
        )
    };
    assert_error(
        &fx.server.token(&by("alice", "wonderland")).await,
        400,
        "invalid_grant",
    );
    assert_eq!(
        fx.server.token(&by("olivia", "owner-pass")).await.status(),
        200
    );
}

// C-TK-6: the host's hook adds fields (Adobe's user_id, client_id) but cannot override the
// standard ones.
#[tokio::test]
async fn token_response_hook() {
    let fx = Fixture::with(|c| {
        c.token_response_fields(|issued| {
            let mut fields = serde_json::Map::new();
            fields.insert("client_id".into(), issued.client_id.as_str().into());
            if let Some(owner) = issued.owner {
                fields.insert("user_id".into(), owner.as_str().into());
            }
            fields.insert("access_token".into(), "forged".into());
            fields.insert("token_type".into(), "MAC".into());
            fields.insert("grant".into(), issued.grant_type.as_str().into());
            fields
        })
    })
    .await;
    let tokens = json(
        &fx.server
            .token(&password_request("alice", "wonderland", &[]))
            .await,
    );
    assert_eq!(tokens["user_id"], "user-alice");
    assert_eq!(tokens["client_id"], TRUSTED);
    assert_eq!(tokens["grant"], "password");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["access_token"].as_str().unwrap().len(), 43);
    // Error responses are untouched.
    let error = json(
        &fx.server
            .token(&password_request("alice", "nope", &[]))
            .await,
    );
    assert!(error.get("user_id").is_none() && error.get("client_id").is_none());
    // The code and refresh grants hand the hook the owner of the grant too.
    let tokens = fx.app_tokens().await;
    assert_eq!(
        (&tokens["user_id"], &tokens["grant"]),
        (&"alice".into(), &"authorization_code".into())
    );
    let refresh = text(&tokens, "refresh_token");
    let refreshed = json(
        &fx.server
            .token(&refresh_request((APP, None), refresh, &[]))
            .await,
    );
    assert_eq!(
        (&refreshed["user_id"], &refreshed["grant"]),
        (&"alice".into(), &"refresh_token".into())
    );
    // An app token has no owner to show.
    let response = fx
        .server
        .token(&basic_token_request(
            WORKER,
            WORKER_SECRET,
            &[("grant_type", "client_credentials")],
        ))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let app_token = json(&response);
    assert!(app_token.get("user_id").is_none(), "{app_token}");
    assert_eq!(
        (&app_token["client_id"], &app_token["grant"]),
        (&WORKER.into(), &"client_credentials".into())
    );
}
