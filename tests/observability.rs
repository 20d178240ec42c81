//! Tracing (C-OB-1), black-box: every endpoint call is a span with its endpoint, client,
//! grant type and outcome, and nothing a client must keep secret appears in any span or event.
#![cfg(feature = "oidc")]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use grantor::grant::{
    ACCESS_TOKEN_TYPE, Allowance, DEVICE_CODE_GRANT_TYPE, DeviceCodeGrant, ExchangeRequest,
    TokenExchangeGrant,
};
use grantor::oidc::{KeyRing, NoClaims, OpenIdProvider, RotationPolicy, SigningAlgorithm};
use grantor::{
    Client, ClientSecret, MemoryStorage, OwnerId, RegistrationPolicy, Requirement, ScopeSet,
};
use http::Method;
use serde_json::{Value, json};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

const GATEWAY_SECRET: &str = "gateway-secret-with-enough-entropy";

/// Everything the subscriber writes, kept for the assertions.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

// C-OB-1: a full run of every endpoint and grant, with every event and span captured: the
// spans name endpoint, client, grant type and outcome; no secret issued or sent appears.
#[tokio::test(flavor = "current_thread")]
async fn every_endpoint_call_is_a_span_and_no_secret_is_traced() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::FULL)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let storage = MemoryStorage::new();
    let policy = RotationPolicy::new().algorithms([SigningAlgorithm::Es256]);
    let ring = KeyRing::new(storage.clone(), policy).unwrap();
    let provider = OpenIdProvider::builder(ring, NoClaims)
        .require_rs256(false)
        .build()
        .unwrap();
    let fx = Fixture::with_server(
        storage,
        |c| c.scopes_supported("read write"),
        |b| {
            b.openid(provider)
                .registration(RegistrationPolicy::open())
                .grant(DeviceCodeGrant)
                .grant(TokenExchangeGrant::new(|_: &ExchangeRequest<'_>| {
                    Ok(Allowance::new().scope(ScopeSet::parse("read").unwrap()))
                }))
        },
    )
    .await;
    let tv = Client::public("tv")
        .grant_types([DeviceCodeGrant::grant_type()])
        .allowed_scopes("read")
        .build()
        .unwrap();
    fx.server.register_client(tv).await.unwrap();
    let gateway = Client::confidential("gateway", &ClientSecret::new(GATEWAY_SECRET))
        .grant_types([TokenExchangeGrant::grant_type()])
        .allowed_scopes("read")
        .build()
        .unwrap();
    fx.server.register_client(gateway).await.unwrap();
    let mut secrets: Vec<String> = vec![
        GATEWAY_SECRET.to_owned(),
        SVC_SECRET.to_owned(),
        TRUSTED_SECRET.to_owned(),
        WORKER_SECRET.to_owned(),
        VERIFIER.to_owned(),
        "wonderland".to_owned(),
        "not-the-password".to_owned(),
    ];

    // The code flow with PKCE, its refresh, and a replayed code.
    let code = fx.app_code().await;
    secrets.push(code.clone());
    let tokens = json(&fx.redeem_app_code(&code).await);
    let replay = fx.redeem_app_code(&code).await;
    assert_eq!(replay.status(), 400);
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    secrets.extend([access.clone(), refresh.clone()]);
    // The replay revoked the grant; a new code flow for the rest.
    let tokens = fx.app_tokens().await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let refreshed = json(
        &fx.server
            .token(&refresh_request((APP, None), &refresh, &[]))
            .await,
    );
    secrets.extend([
        access.clone(),
        refresh,
        refreshed["refresh_token"].to_string(),
    ]);
    secrets.push(refreshed["access_token"].as_str().unwrap().to_owned());

    // Password (right and wrong), client credentials, a bad client secret.
    let password = json(
        &fx.server
            .token(&password_request("alice", "wonderland", &[]))
            .await,
    );
    secrets.push(password["access_token"].as_str().unwrap().to_owned());
    let wrong = fx
        .server
        .token(&password_request("alice", "not-the-password", &[]))
        .await;
    assert_eq!(wrong.status(), 400);
    let app = svc_tokens(&fx).await;
    secrets.push(app["access_token"].as_str().unwrap().to_owned());
    let bad_secret = fx
        .server
        .token(&basic_token_request(
            WORKER,
            "a-wrong-secret-value",
            &[("grant_type", "client_credentials")],
        ))
        .await;
    assert_eq!(bad_secret.status(), 401);
    secrets.push("a-wrong-secret-value".to_owned());

    // Bearer validation, UserInfo, introspection, revocation.
    let granted = fx
        .server
        .validate_bearer(&bearer("/api", &access), &Requirement::user())
        .await;
    assert!(granted.is_ok());
    let _ = fx.server.userinfo(&bearer("/userinfo", &access)).await;
    let request = post_form(
        "/introspect",
        form_body(&[("token", &access), ("client_id", APP)]),
    );
    assert_eq!(json(&fx.server.introspect(&request).await)["active"], true);
    let request = post_form(
        "/revoke",
        form_body(&[("token", &access), ("client_id", APP)]),
    );
    assert_eq!(fx.server.revoke(&request).await.status(), 200);
    let refused = fx
        .server
        .validate_bearer(&bearer("/api", &access), &Requirement::user())
        .await;
    assert!(refused.is_err());

    // An OpenID code flow: its ID token is a secret of the client too.
    let pending = fx
        .server
        .authorize(&get(&format!(
            "/authorize?response_type=code&client_id={SVC}&scope=read&state=s"
        )))
        .await
        .unwrap();
    let approved = fx
        .server
        .approve(
            pending,
            &OwnerId::new("bob"),
            &ScopeSet::parse("read").unwrap(),
        )
        .await
        .unwrap();
    secrets.push(redirect_params(&approved)["code"].clone());

    // The device flow: authorization, a pending poll, the user's code, approval, tokens.
    let started = json(
        &fx.server
            .device_authorization(&post_form(
                "/device_authorization",
                form_body(&[("client_id", "tv"), ("scope", "read")]),
            ))
            .await,
    );
    let device_code = started["device_code"].as_str().unwrap().to_owned();
    let user_code = started["user_code"].as_str().unwrap().to_owned();
    secrets.extend([device_code.clone(), user_code.clone()]);
    let poll = || {
        token_request(&[
            ("grant_type", DEVICE_CODE_GRANT_TYPE),
            ("device_code", device_code.as_str()),
            ("client_id", "tv"),
        ])
    };
    assert_eq!(fx.server.token(&poll()).await.status(), 400);
    let pending = fx
        .server
        .device_request(&user_code, "203.0.113.9")
        .await
        .unwrap();
    let alice = OwnerId::new("alice");
    let read = ScopeSet::parse("read").unwrap();
    fx.server
        .approve_device(pending, &alice, &read)
        .await
        .unwrap();
    fx.advance(10);
    let device_tokens = json(&fx.server.token(&poll()).await);
    secrets.push(device_tokens["access_token"].as_str().unwrap().to_owned());

    // Token exchange: the gateway trades the user's token for its own.
    let subject = fx.app_tokens().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.push(subject.clone());
    let exchanged = fx
        .server
        .token(&basic_token_request(
            "gateway",
            GATEWAY_SECRET,
            &[
                ("grant_type", TokenExchangeGrant::grant_type().as_str()),
                ("subject_token", subject.as_str()),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
            ],
        ))
        .await;
    assert_eq!(exchanged.status(), 200, "{}", body_text(&exchanged));
    secrets.push(
        json(&exchanged)["access_token"]
            .as_str()
            .unwrap()
            .to_owned(),
    );

    // Registration and its management.
    let registration = json!({
        "redirect_uris": ["https://registered.example/cb"],
        "grant_types": ["authorization_code"],
        "scope": "read",
    });
    let request = json_request(Method::POST, "/register", &registration);
    let registered: Value = json(&fx.server.register(&request).await);
    let id = registered["client_id"].as_str().unwrap().to_owned();
    let token = registered["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.push(registered["client_secret"].as_str().unwrap().to_owned());
    secrets.push(token.clone());
    let read = http::Request::builder()
        .uri(format!("/register/{id}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Vec::new())
        .unwrap();
    assert_eq!(
        fx.server.client_configuration(&read, &id).await.status(),
        200
    );

    let text = captured.text();
    for secret in &secrets {
        assert!(!secret.is_empty());
        assert!(
            !text.contains(secret.as_str()),
            "a secret was traced: {secret}\n{text}"
        );
    }
    // The spans a dashboard reads: some line carries all of each set of fields.
    let has = |fields: &[&str]| {
        text.lines()
            .any(|line| fields.iter().all(|f| line.contains(f)))
    };
    for expected in [
        &[
            "endpoint=\"token\"",
            "client_id=\"app\"",
            "grant_type=\"authorization_code\"",
        ][..],
        &[
            "endpoint=\"token\"",
            "client_id=\"app\"",
            "grant_type=\"refresh_token\"",
        ],
        &[
            "endpoint=\"token\"",
            "client_id=\"trusted\"",
            "grant_type=\"password\"",
        ],
        &[
            "endpoint=\"token\"",
            "client_id=\"trusted\"",
            "outcome=\"invalid_grant\"",
        ],
        &[
            "endpoint=\"token\"",
            "grant_type=\"client_credentials\"",
            "outcome=\"invalid_client\"",
        ],
        &[
            "endpoint=\"token\"",
            "client_id=\"app\"",
            "outcome=\"invalid_grant\"",
        ],
        &[
            "endpoint=\"authorize\"",
            "client_id=\"app\"",
            "outcome=\"ok\"",
        ],
        &[
            "endpoint=\"approve\"",
            "client_id=\"app\"",
            "outcome=\"ok\"",
        ],
        &["endpoint=\"bearer\"", "client_id=\"app\"", "outcome=\"ok\""],
        &["endpoint=\"bearer\"", "outcome=\"invalid_token\""],
        &["endpoint=\"introspect\"", "client_id=\"app\"", "status=200"],
        &["endpoint=\"revoke\"", "client_id=\"app\"", "outcome=\"ok\""],
        &["endpoint=\"userinfo\"", "client_id=\"app\""],
        &["endpoint=\"register\"", "status=201"],
        &["endpoint=\"client_configuration\"", "status=200"],
        &["grantor.storage{step=\"exchange\"}"],
        &["grantor.storage{step=\"save_tokens\"}"],
        &["grantor.storage{step=\"revoke_grant\"}"],
        &["grantor.storage{step=\"access_token\"}"],
        &[
            "endpoint=\"device_authorization\"",
            "client_id=\"tv\"",
            "status=200",
        ],
        &[
            "endpoint=\"token\"",
            "client_id=\"tv\"",
            "outcome=\"authorization_pending\"",
        ],
        &["endpoint=\"token\"", "client_id=\"tv\"", "status=200"],
        &["endpoint=\"device_verification\"", "outcome=\"ok\""],
        &["endpoint=\"token\"", "client_id=\"gateway\"", "status=200"],
    ] {
        assert!(has(expected), "missing {expected:?}\n{text}");
    }
    assert!(text.contains("latency_us="), "{text}");
}
