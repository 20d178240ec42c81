//! Audit events (C-OB-2), black-box: every scenario's events, exactly, with their client,
//! owner, grant and time; each delivered after the storage step it reports committed (a
//! refused or failed step emits no event of success); and no secret in any event.

mod common;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use grantor::grant::{DEVICE_CODE_GRANT_TYPE, DeviceCodeGrant};
use grantor::storage::{
    ClientStore, Digest, Exchange, ExchangeFn, ExchangeKind, ExchangeRecord, GrantId, NewTokens,
    TokenRecord, TokenStore,
};
use grantor::{
    AuditEvent, AuditKind, Client, ClientId, Error, GrantType, MemoryStorage, OwnerId,
    RegistrationPolicy, ScopeSet, Timestamp,
};
use http::Method;
use serde_json::{Value, json};

/// The events a sink received, in order.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<AuditEvent>>>);

impl Events {
    fn take(&self) -> Vec<AuditEvent> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// What the assertions compare: kind, client, owner, whether a grant is named, time.
fn summary(event: &AuditEvent) -> (AuditKind, Option<&str>, Option<&str>, bool, u64) {
    (
        event.kind.clone(),
        event.client_id.as_ref().map(ClientId::as_str),
        event.owner.as_ref().map(OwnerId::as_str),
        event.grant.is_some(),
        event.at.as_secs(),
    )
}

fn issued(grant_type: GrantType, refresh_rotated: bool) -> AuditKind {
    AuditKind::TokensIssued {
        grant_type,
        refresh_rotated,
    }
}

async fn fixture(events: &Events) -> Fixture {
    let sink = events.clone();
    let fx = Fixture::with_server(
        MemoryStorage::new(),
        move |c| {
            c.scopes_supported("read write")
                .audit(move |event: &AuditEvent| sink.0.lock().unwrap().push(event.clone()))
        },
        |b| {
            b.registration(RegistrationPolicy::open())
                .grant(DeviceCodeGrant)
        },
    )
    .await;
    let tv = Client::public("tv")
        .grant_types([DeviceCodeGrant::grant_type()])
        .allowed_scopes("read")
        .build()
        .unwrap();
    fx.server.register_client(tv).await.unwrap();
    events.take();
    fx
}

// C-OB-2: issuance, rotation, replay (with its revocation), client-authentication and password
// failures, revocation, consent decisions (authorization and device) and registration, each
// with its client, owner, grant and the server's time; no secret in any event.
#[tokio::test]
async fn every_scenario_emits_its_events_and_no_secret() {
    let events = Events::default();
    let fx = fixture(&events).await;
    let mut secrets: Vec<String> = vec![
        SVC_SECRET.into(),
        TRUSTED_SECRET.into(),
        WORKER_SECRET.into(),
        "wonderland".into(),
        "wrong-password".into(),
        VERIFIER.into(),
    ];
    let mut all = Vec::new();
    let now = START;

    // The code flow: consent approved, then the code's tokens, in that order and one grant.
    let approved = fx.approve(&app_query(), "user-alice", "read write").await;
    let code = redirect_params(&approved)["code"].clone();
    let got = events.take();
    assert_eq!(
        got.iter().map(summary).collect::<Vec<_>>(),
        [(
            AuditKind::ConsentApproved,
            Some(APP),
            Some("user-alice"),
            true,
            now
        )]
    );
    let grant = got[0].grant;
    all.extend(got);
    let tokens = json(&fx.redeem_app_code(&code).await);
    let refresh = text(&tokens, "refresh_token").to_owned();
    secrets.extend([
        code,
        text(&tokens, "access_token").to_owned(),
        refresh.clone(),
    ]);
    fx.advance(5);
    let rotated = json(
        &fx.server
            .token(&refresh_request((APP, None), &refresh, &[]))
            .await,
    );
    secrets.push(text(&rotated, "access_token").to_owned());
    secrets.push(text(&rotated, "refresh_token").to_owned());
    // The spent refresh token again: a replay, and the grant is revoked.
    let replay = fx
        .server
        .token(&refresh_request((APP, None), &refresh, &[]))
        .await;
    assert_error(&replay, 400, "invalid_grant");
    let got = events.take();
    assert_eq!(
        got.iter().map(summary).collect::<Vec<_>>(),
        [
            (
                issued(GrantType::AuthorizationCode, false),
                Some(APP),
                Some("user-alice"),
                true,
                now
            ),
            (
                issued(GrantType::RefreshToken, true),
                Some(APP),
                Some("user-alice"),
                true,
                now + 5
            ),
            (AuditKind::ReplayDetected, Some(APP), None, true, now + 5),
        ]
    );
    assert!(got.iter().all(|event| event.grant == grant));
    all.extend(got);

    // A denied request.
    let pending = fx
        .server
        .authorize(&get(&format!("/authorize?{}", app_query())))
        .await
        .unwrap();
    fx.server.deny(pending);
    let got = events.take();
    assert_eq!(
        got.iter().map(summary).collect::<Vec<_>>(),
        [(AuditKind::ConsentDenied, Some(APP), None, false, now + 5)]
    );
    all.extend(got);

    // A wrong client secret, then a wrong password and a right one.
    let wrong = fx
        .server
        .token(&basic_token_request(
            SVC,
            "not-the-secret",
            &[("grant_type", "client_credentials")],
        ))
        .await;
    assert_error(&wrong, 401, "invalid_client");
    secrets.push("not-the-secret".into());
    let refused = fx
        .server
        .token(&password_request("alice", "wrong-password", &[]))
        .await;
    assert_error(&refused, 400, "invalid_grant");
    let password = json(
        &fx.server
            .token(&password_request("alice", "wonderland", &[]))
            .await,
    );
    secrets.push(text(&password, "access_token").to_owned());
    secrets.push(text(&password, "refresh_token").to_owned());
    let got = events.take();
    assert_eq!(
        got.iter().map(summary).collect::<Vec<_>>(),
        [
            (
                AuditKind::ClientAuthenticationFailed,
                Some(SVC),
                None,
                false,
                now + 5
            ),
            (
                AuditKind::PasswordCheckFailed {
                    username: "alice".into()
                },
                Some(TRUSTED),
                None,
                false,
                now + 5
            ),
            (
                issued(GrantType::Password, false),
                Some(TRUSTED),
                Some("user-alice"),
                true,
                now + 5
            ),
        ]
    );
    all.extend(got);

    // Revocation: an access token, then a refresh token (its grant).
    let app_tokens = svc_like_worker_tokens(&fx).await;
    secrets.push(text(&app_tokens, "access_token").to_owned());
    let revoke = |token: &str, id: &str, secret: &str| {
        basic_post("/revoke", id, secret, &[("token", token)])
    };
    let response = fx
        .server
        .revoke(&revoke(
            text(&app_tokens, "access_token"),
            WORKER,
            WORKER_SECRET,
        ))
        .await;
    assert_eq!(response.status(), 200);
    let response = fx
        .server
        .revoke(&revoke(
            text(&password, "refresh_token"),
            TRUSTED,
            TRUSTED_SECRET,
        ))
        .await;
    assert_eq!(response.status(), 200);
    let got = events.take();
    assert_eq!(
        got.iter().map(summary).collect::<Vec<_>>(),
        [
            (
                issued(GrantType::ClientCredentials, false),
                Some(WORKER),
                None,
                true,
                now + 5
            ),
            (
                AuditKind::TokenRevoked { refresh: false },
                Some(WORKER),
                None,
                true,
                now + 5
            ),
            (
                AuditKind::TokenRevoked { refresh: true },
                Some(TRUSTED),
                Some("user-alice"),
                true,
                now + 5
            ),
        ]
    );
    all.extend(got);

    // The device flow: one code approved, one denied, then the approved one's tokens.
    let start = || async {
        let started = json(
            &fx.server
                .device_authorization(&post_form(
                    "/device_authorization",
                    form_body(&[("client_id", "tv"), ("scope", "read")]),
                ))
                .await,
        );
        let device_code = text(&started, "device_code").to_owned();
        let user_code = text(&started, "user_code").to_owned();
        (device_code, user_code)
    };
    let (device_code, user_code) = start().await;
    let (other_device_code, other_user_code) = start().await;
    secrets.extend([
        device_code.clone(),
        user_code.clone(),
        other_device_code,
        other_user_code.clone(),
    ]);
    let alice = OwnerId::new("user-alice");
    let read = ScopeSet::parse("read").unwrap();
    let pending = fx.server.device_request(&user_code, "k").await.unwrap();
    fx.server
        .approve_device(pending, &alice, &read)
        .await
        .unwrap();
    let pending = fx
        .server
        .device_request(&other_user_code, "k")
        .await
        .unwrap();
    fx.server.deny_device(pending).await.unwrap();
    let device_tokens = json(
        &fx.server
            .token(&token_request(&[
                ("grant_type", DEVICE_CODE_GRANT_TYPE),
                ("device_code", device_code.as_str()),
                ("client_id", "tv"),
            ]))
            .await,
    );
    secrets.push(text(&device_tokens, "access_token").to_owned());
    let got = events.take();
    assert_eq!(
        got.iter().map(summary).collect::<Vec<_>>(),
        [
            (
                AuditKind::DeviceApproved,
                Some("tv"),
                Some("user-alice"),
                true,
                now + 5
            ),
            (AuditKind::DeviceDenied, Some("tv"), None, true, now + 5),
            (
                issued(DeviceCodeGrant::grant_type(), false),
                Some("tv"),
                Some("user-alice"),
                true,
                now + 5
            ),
        ]
    );
    assert_eq!(got[0].grant, got[2].grant);
    all.extend(got);

    // Registration: registered, updated, deleted.
    let metadata = json!({
        "redirect_uris": ["https://registered.example/cb"],
        "grant_types": ["authorization_code"],
        "scope": "read",
    });
    let request = json_request(Method::POST, "/register", &metadata);
    let registered: Value = json(&fx.server.register(&request).await);
    let id = text(&registered, "client_id").to_owned();
    let token = text(&registered, "registration_access_token").to_owned();
    secrets.push(text(&registered, "client_secret").to_owned());
    secrets.push(token.clone());
    let mut update = metadata.clone();
    update["client_id"] = json!(id);
    let manage = |method: Method, body: Vec<u8>| {
        http::Request::builder()
            .method(method)
            .uri(format!("/register/{id}"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(body)
            .unwrap()
    };
    let updated = fx
        .server
        .client_configuration(
            &manage(Method::PUT, serde_json::to_vec(&update).unwrap()),
            &id,
        )
        .await;
    assert_eq!(updated.status(), 200, "{}", body_text(&updated));
    let deleted = fx
        .server
        .client_configuration(&manage(Method::DELETE, Vec::new()), &id)
        .await;
    assert_eq!(deleted.status(), 204);
    let got = events.take();
    assert_eq!(
        got.iter().map(summary).collect::<Vec<_>>(),
        [
            (
                AuditKind::ClientRegistered,
                Some(id.as_str()),
                None,
                false,
                now + 5
            ),
            (
                AuditKind::ClientUpdated,
                Some(id.as_str()),
                None,
                false,
                now + 5
            ),
            (
                AuditKind::ClientDeleted,
                Some(id.as_str()),
                None,
                false,
                now + 5
            ),
        ]
    );
    all.extend(got);

    // No secret in any event, however it is shown.
    let shown = format!("{all:?} {all:#?}");
    for secret in &secrets {
        assert!(!secret.is_empty());
        assert!(
            !shown.contains(secret.as_str()),
            "a secret in an event: {secret}"
        );
    }
}

/// The `worker` client's client-credentials tokens.
async fn svc_like_worker_tokens(fx: &Fixture) -> Value {
    let response = fx
        .server
        .token(&basic_token_request(
            WORKER,
            WORKER_SECRET,
            &[("grant_type", "client_credentials")],
        ))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    json(&response)
}

/// MemoryStorage whose `save_tokens` can be made to refuse (as for a revoked grant) or fail.
#[derive(Clone, Default)]
struct Refusing {
    inner: MemoryStorage,
    /// 0: store; 1: refuse (`Ok(false)`); 2: fail (`Err`).
    mode: Arc<AtomicU8>,
}

impl ClientStore for Refusing {
    async fn client(&self, id: &str) -> Result<Option<Client>, Error> {
        self.inner.client(id).await
    }

    async fn save_client(&self, client: Client) -> Result<(), Error> {
        self.inner.save_client(client).await
    }
}

impl TokenStore for Refusing {
    async fn save_tokens(&self, tokens: NewTokens) -> Result<bool, Error> {
        match self.mode.load(Ordering::SeqCst) {
            0 => self.inner.save_tokens(tokens).await,
            1 => Ok(false),
            _ => Err(Error::storage("the database is down")),
        }
    }

    async fn access_token(
        &self,
        digest: &Digest,
        now: Timestamp,
    ) -> Result<Option<Arc<TokenRecord>>, Error> {
        self.inner.access_token(digest, now).await
    }

    async fn revoke_access_token(&self, digest: &Digest) -> Result<(), Error> {
        self.inner.revoke_access_token(digest).await
    }

    async fn save_record(
        &self,
        digest: Digest,
        record: ExchangeRecord,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.inner.save_record(digest, record, now).await
    }

    async fn record(
        &self,
        kind: ExchangeKind,
        digest: &Digest,
    ) -> Result<Option<ExchangeRecord>, Error> {
        self.inner.record(kind, digest).await
    }

    async fn exchange<F: ExchangeFn>(
        &self,
        kind: ExchangeKind,
        digest: &Digest,
        now: Timestamp,
        exchange: F,
    ) -> Result<Exchange, Error> {
        self.inner.exchange(kind, digest, now, exchange).await
    }

    async fn revoke_grant(&self, grant: &GrantId) -> Result<(), Error> {
        self.inner.revoke_grant(grant).await
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<u64, Error> {
        self.inner.purge_expired(now).await
    }
}

// C-OB-2: an event of success follows the storage step it reports: when storage refuses the
// tokens (their grant was revoked) or fails, no `TokensIssued` is emitted.
#[tokio::test]
async fn no_success_event_when_storage_refused_or_failed() {
    let events = Events::default();
    let sink = events.clone();
    let storage = Refusing::default();
    let fx = Fixture::with_storage(storage.clone(), move |c| {
        c.audit(move |event: &AuditEvent| sink.0.lock().unwrap().push(event.clone()))
    })
    .await;
    let request = || {
        basic_token_request(
            WORKER,
            WORKER_SECRET,
            &[("grant_type", "client_credentials")],
        )
    };
    storage.mode.store(1, Ordering::SeqCst);
    assert_error(&fx.server.token(&request()).await, 400, "invalid_grant");
    storage.mode.store(2, Ordering::SeqCst);
    assert_eq!(fx.server.token(&request()).await.status(), 500);
    assert_eq!(events.take(), []);
    // Once storage keeps them, the event follows.
    storage.mode.store(0, Ordering::SeqCst);
    assert_eq!(fx.server.token(&request()).await.status(), 200);
    let got = events.take();
    assert_eq!(
        got.iter().map(summary).collect::<Vec<_>>(),
        [(
            issued(GrantType::ClientCredentials, false),
            Some(WORKER),
            None,
            true,
            START
        )]
    );
}
