//! The device authorization grant (RFC 8628) through the `Server` facade: the device
//! authorization endpoint, the host's verification page, and every polling answer, on memory,
//! SQLite and (when `GRANTOR_TEST_POSTGRES_URL` is set) PostgreSQL.

mod common;

use common::*;
use grantor::ConfigBuilder;
use grantor::grant::{DEVICE_CODE_GRANT_TYPE, DeviceCodeGrant};
use grantor::storage::ClientStore;
use grantor::storage::TokenStore;
use grantor::{
    Client, ClientId, ClientSecret, DeviceError, GrantType, MemoryStorage, OwnerId, Requirement,
    Resource, ScopeSet, Storage,
};
use http::Response;
use std::time::Duration;

/// A public client of the device grant (a TV).
const TV: &str = "tv";
/// A confidential client of the device grant.
const BOX: &str = "settop";
const BOX_SECRET: &str = "settop-secret-long-enough-for-the-tests";
/// Who enters user codes in these tests (the page's caller address).
const ADDR: &str = "198.51.100.7";

fn device_clients() -> Vec<Client> {
    vec![
        Client::public(TV)
            .name("Living-room TV")
            .grant_types([DeviceCodeGrant::grant_type(), GrantType::RefreshToken])
            .allowed_scopes("read write")
            .default_scopes("read")
            .build()
            .unwrap(),
        Client::confidential(BOX, &ClientSecret::new(BOX_SECRET))
            .grant_types([DeviceCodeGrant::grant_type()])
            .allowed_scopes("read")
            .default_scopes("read")
            .build()
            .unwrap(),
    ]
}

async fn fixture_on<S: Storage>(storage: S) -> Fixture<S> {
    fixture_with(storage, |c| c).await
}

async fn fixture_with<S: Storage>(
    storage: S,
    configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> Fixture<S> {
    let fx = Fixture::with_server(storage, configure, |b| b.grant(DeviceCodeGrant)).await;
    for client in device_clients() {
        fx.server.register_client(client).await.unwrap();
    }
    fx
}

async fn fixture() -> Fixture {
    fixture_on(MemoryStorage::new()).await
}

async fn authorize_device<S: Storage>(
    fx: &Fixture<S>,
    pairs: &[(&str, &str)],
) -> Response<Vec<u8>> {
    fx.server
        .device_authorization(&post_form("/device_authorization", form_body(pairs)))
        .await
}

/// A device authorization of `tv` for `scope`: (device code, user code as shown).
async fn start<S: Storage>(fx: &Fixture<S>, scope: &str) -> (String, String) {
    let response = authorize_device(fx, &[("client_id", TV), ("scope", scope)]).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let body = json(&response);
    (
        text(&body, "device_code").to_owned(),
        text(&body, "user_code").to_owned(),
    )
}

async fn poll<S: Storage>(fx: &Fixture<S>, client: &str, device_code: &str) -> Response<Vec<u8>> {
    fx.server
        .token(&token_request(&[
            ("grant_type", DEVICE_CODE_GRANT_TYPE),
            ("device_code", device_code),
            ("client_id", client),
        ]))
        .await
}

async fn approve<S: Storage>(fx: &Fixture<S>, user_code: &str, granted: &str) {
    let request = fx.server.device_request(user_code, ADDR).await.unwrap();
    fx.server
        .approve_device(
            request,
            &OwnerId::new("user-alice"),
            &ScopeSet::parse(granted).unwrap(),
        )
        .await
        .unwrap();
}

// C-DV-1: the device authorization response carries every field, the codes in their format.
#[tokio::test]
async fn device_authorization_answers_codes_and_uris() {
    let fx = fixture().await;
    let response = authorize_device(&fx, &[("client_id", TV), ("scope", "read write")]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = json(&response);
    let device_code = text(&body, "device_code");
    assert!(device_code.len() >= 43, "256 bits, base64url");
    let user_code = text(&body, "user_code");
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(
        user_code
            .chars()
            .filter(|c| *c != '-')
            .all(|c| "BCDFGHJKLMNPQRSTVWXZ".contains(c))
    );
    assert_eq!(body["verification_uri"], format!("{ISSUER}/device"));
    assert_eq!(
        body["verification_uri_complete"],
        format!("{ISSUER}/device?user_code={user_code}")
    );
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["interval"], 5);
    // The device code is stored only as its digest: the verification page finds the request
    // by the user code, with the scope asked.
    let request = fx.server.device_request(user_code, ADDR).await.unwrap();
    assert_eq!(request.client().id().as_str(), TV);
    assert_eq!(request.scope().to_string(), "read write");
    assert_eq!(request.user_code(), user_code);

    // A confidential client authenticates; the default scope applies without `scope`.
    let response = fx
        .server
        .device_authorization(&basic_post("/device_authorization", BOX, BOX_SECRET, &[]))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
}

// C-DV-1: the endpoint checks the client, its permission, the scope and the resources.
#[tokio::test]
async fn device_authorization_refuses_what_an_authorization_request_refuses() {
    let fx = fixture().await;
    // `app` is not registered for the device grant.
    let response = authorize_device(&fx, &[("client_id", APP)]).await;
    assert_error(&response, 400, "unauthorized_client");
    let response = authorize_device(&fx, &[("client_id", TV), ("scope", "admin")]).await;
    assert_error(&response, 400, "invalid_scope");
    let response = authorize_device(
        &fx,
        &[("client_id", TV), ("resource", "https://unknown.example/")],
    )
    .await;
    assert_error(&response, 400, "invalid_target");
    let response = fx
        .server
        .device_authorization(&basic_post("/device_authorization", BOX, "wrong", &[]))
        .await;
    assert_error(&response, 401, "invalid_client");
    let response = authorize_device(&fx, &[("client_id", "nobody")]).await;
    assert_error(&response, 400, "invalid_client");

    // Without the grant registered, the endpoint is off and the metadata does not list it.
    let plain = Fixture::new().await;
    let response = plain
        .server
        .device_authorization(&post_form(
            "/device_authorization",
            form_body(&[("client_id", APP)]),
        ))
        .await;
    assert_error(&response, 400, "unsupported_grant_type");
    assert!(
        plain.server.metadata()["device_authorization_endpoint"].is_null(),
        "not listed without the grant"
    );
    let metadata = fx.server.metadata();
    assert_eq!(
        metadata["device_authorization_endpoint"],
        format!("{ISSUER}/device_authorization")
    );
    assert!(
        metadata["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&DEVICE_CODE_GRANT_TYPE.into())
    );
}

// C-DV-2: every polling answer, in order: pending, slow_down (the interval grows by 5 s each
// time), pending again at the new interval, then the tokens exactly once.
#[tokio::test]
async fn polling_answers_pending_slow_down_and_then_tokens_once() {
    let fx = fixture().await;
    let (device_code, user_code) = start(&fx, "read write").await;

    assert_error(
        &poll(&fx, TV, &device_code).await,
        400,
        "authorization_pending",
    );
    // Polled again at once: slow_down, and the interval is now 10 s.
    let response = poll(&fx, TV, &device_code).await;
    assert_error(&response, 400, "slow_down");
    assert!(body_text(&response).contains("every 10 seconds"));
    // 9 s later is still too soon for 10 s: slow_down again, now 15 s.
    fx.advance(9);
    let response = poll(&fx, TV, &device_code).await;
    assert_error(&response, 400, "slow_down");
    assert!(body_text(&response).contains("every 15 seconds"));
    // Keeping 15 s: pending.
    fx.advance(15);
    assert_error(
        &poll(&fx, TV, &device_code).await,
        400,
        "authorization_pending",
    );

    approve(&fx, &user_code, "read").await;
    fx.advance(15);
    let response = poll(&fx, TV, &device_code).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let tokens = json(&response);
    assert_eq!(tokens["scope"], "read", "the scope as approved");
    assert!(tokens["refresh_token"].is_string());
    let grant = fx
        .server
        .validate_bearer(
            &bearer("/api", text(&tokens, "access_token")),
            &Requirement::user().scopes("read").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(grant.owner().unwrap().as_str(), "user-alice");

    // Presented again: refused; the tokens already issued stay valid.
    fx.advance(15);
    let response = poll(&fx, TV, &device_code).await;
    assert_error(&response, 400, "invalid_grant");
    assert!(body_text(&response).contains("already used"));
    assert!(access_is_live(&fx, text(&tokens, "access_token")).await);
}

// C-DV-2: after its lifetime, polling is expired_token (approved or not), and the user code
// is gone.
#[tokio::test]
async fn an_expired_device_code_is_expired_token() {
    let fx = fixture().await;
    let (device_code, user_code) = start(&fx, "read").await;
    fx.advance(599);
    assert_error(
        &poll(&fx, TV, &device_code).await,
        400,
        "authorization_pending",
    );
    fx.advance(1);
    assert_error(&poll(&fx, TV, &device_code).await, 400, "expired_token");
    assert!(matches!(
        fx.server.device_request(&user_code, ADDR).await,
        Err(DeviceError::UnknownCode)
    ));

    let (device_code, user_code) = start(&fx, "read").await;
    approve(&fx, &user_code, "read").await;
    fx.advance(600);
    assert_error(&poll(&fx, TV, &device_code).await, 400, "expired_token");
    // Past its retention (a lifetime after expiry), the records are purged like any others:
    // the code is then simply invalid.
    fx.advance(601);
    let purged = fx.storage().purge_expired(fx.server.now()).await.unwrap();
    assert!(
        purged >= 2,
        "the device code and user code records: {purged}"
    );
    assert_error(&poll(&fx, TV, &device_code).await, 400, "invalid_grant");
}

// C-DV-2: a poll without device_code is invalid_request.
#[tokio::test]
async fn a_poll_without_a_device_code_is_invalid_request() {
    let fx = fixture().await;
    let response = fx
        .server
        .token(&token_request(&[
            ("grant_type", DEVICE_CODE_GRANT_TYPE),
            ("client_id", TV),
        ]))
        .await;
    assert_error(&response, 400, "invalid_request");
}

// C-DV-2: after a denial, polling is access_denied and the code is spent; the user code no
// longer finds a pending request.
#[tokio::test]
async fn denial_is_access_denied_once_and_then_the_code_is_spent() {
    let fx = fixture().await;
    let (device_code, user_code) = start(&fx, "read").await;
    let request = fx.server.device_request(&user_code, ADDR).await.unwrap();
    fx.server.deny_device(request.clone()).await.unwrap();
    // Answered once: approving the same request afterwards fails.
    assert!(matches!(
        fx.server
            .approve_device(
                request,
                &OwnerId::new("user-alice"),
                &ScopeSet::parse("read").unwrap()
            )
            .await,
        Err(DeviceError::UnknownCode)
    ));
    assert!(matches!(
        fx.server.device_request(&user_code, ADDR).await,
        Err(DeviceError::UnknownCode)
    ));
    assert_error(&poll(&fx, TV, &device_code).await, 400, "access_denied");
    fx.advance(5);
    assert_error(&poll(&fx, TV, &device_code).await, 400, "invalid_grant");
}

// C-DV-2: a request is answered once: a second approval fails.
#[tokio::test]
async fn a_device_request_is_approved_only_once() {
    let fx = fixture().await;
    let (_, user_code) = start(&fx, "read").await;
    let request = fx.server.device_request(&user_code, ADDR).await.unwrap();
    let alice = OwnerId::new("user-alice");
    let read = ScopeSet::parse("read").unwrap();
    fx.server
        .approve_device(request.clone(), &alice, &read)
        .await
        .unwrap();
    assert!(matches!(
        fx.server.approve_device(request, &alice, &read).await,
        Err(DeviceError::UnknownCode)
    ));
}

// C-DV-2: the device code is bound to its client.
#[tokio::test]
async fn another_clients_device_code_is_invalid_grant() {
    let fx = fixture().await;
    let (device_code, user_code) = start(&fx, "read").await;
    approve(&fx, &user_code, "read").await;
    let response = fx
        .server
        .token(&basic_token_request(
            BOX,
            BOX_SECRET,
            &[
                ("grant_type", DEVICE_CODE_GRANT_TYPE),
                ("device_code", &device_code),
            ],
        ))
        .await;
    assert_error(&response, 400, "invalid_grant");
    // The rightful client still gets its tokens.
    assert_eq!(poll(&fx, TV, &device_code).await.status(), 200);
    // A client not allowed the grant is stopped before the code is looked at.
    assert_error(
        &poll(&fx, APP, &device_code).await,
        400,
        "unauthorized_client",
    );
}

// C-DV-1: user-code entry ignores case, hyphens and spaces.
#[tokio::test]
async fn user_codes_are_entered_case_insensitively_with_or_without_separators() {
    let fx = fixture().await;
    let (_, user_code) = start(&fx, "read").await;
    let bare = user_code.replace('-', "");
    for entered in [
        user_code.clone(),
        user_code.to_lowercase(),
        bare.clone(),
        format!(" {} {} ", &bare[..4], &bare[4..].to_lowercase()),
        format!("{}-{}-", &bare[..2], &bare[2..]),
    ] {
        let request = fx.server.device_request(&entered, ADDR).await;
        assert_eq!(
            request.expect("the code is found").user_code(),
            user_code,
            "{entered:?}"
        );
    }
}

// C-DV-3: wrong user codes are counted per key; after 10 within the window, even the right
// code is refused until the oldest wrong one leaves the window; an unknown code says only so.
#[tokio::test]
async fn wrong_user_codes_are_limited() {
    let fx = fixture().await;
    let (_, user_code) = start(&fx, "read").await;
    for attempt in 0..10 {
        let wrong = if attempt % 2 == 0 {
            "BCDF-GHJK"
        } else {
            "not a code"
        };
        let error = fx.server.device_request(wrong, ADDR).await.unwrap_err();
        assert!(matches!(error, DeviceError::UnknownCode), "{error:?}");
        assert_eq!(error.to_string(), "the code is unknown or has expired");
        fx.advance(1);
    }
    // The 11th entry, the right code: refused, with the time left.
    let error = fx
        .server
        .device_request(&user_code, ADDR)
        .await
        .unwrap_err();
    assert!(
        matches!(error, DeviceError::TooManyAttempts { retry_after: 590 }),
        "{error:?}"
    );
    // Another key is not affected, and a right code costs it no attempt.
    for _ in 0..12 {
        assert!(
            fx.server
                .device_request(&user_code, "203.0.113.9")
                .await
                .is_ok()
        );
    }
    // Once the first wrong attempt leaves the 600 s window, one more attempt is allowed (the
    // first code has expired by then: a new one).
    fx.advance(589);
    assert!(matches!(
        fx.server.device_request(&user_code, ADDR).await,
        Err(DeviceError::TooManyAttempts { retry_after: 1 })
    ));
    fx.advance(1);
    let (_, fresh) = start(&fx, "read").await;
    assert!(fx.server.device_request(&fresh, ADDR).await.is_ok());
}

// C-DV-3: an attacker with many addresses meets the server's budget: once the wrong codes of
// all keys together reach it, every entry is refused, the right code included, until the
// oldest leaves the window. A window shorter than the codes' lifetime is refused.
#[tokio::test]
async fn the_servers_budget_bounds_guessing_from_many_keys() {
    let fx = fixture_with(MemoryStorage::new(), |c| c.device_user_code_budget(3)).await;
    let (_, user_code) = start(&fx, "read").await;
    for key in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        let error = fx
            .server
            .device_request("BCDF-GHJK", key)
            .await
            .unwrap_err();
        assert!(matches!(error, DeviceError::UnknownCode), "{error:?}");
    }
    let error = fx
        .server
        .device_request(&user_code, "198.51.100.4")
        .await
        .unwrap_err();
    assert!(
        matches!(error, DeviceError::TooManyAttempts { retry_after: 600 }),
        "{error:?}"
    );
    fx.advance(600);
    let (_, fresh) = start(&fx, "read").await;
    assert!(
        fx.server
            .device_request(&fresh, "198.51.100.4")
            .await
            .is_ok()
    );

    let short = grantor::Config::builder(ISSUER)
        .device_code_lifetime(Duration::from_secs(1800))
        .device_user_code_window(Duration::from_secs(600))
        .build();
    assert!(short.is_err());
    for bad in [
        grantor::Config::builder(ISSUER)
            .device_user_code_attempts(0)
            .build(),
        grantor::Config::builder(ISSUER)
            .device_user_code_budget(0)
            .build(),
    ] {
        assert!(bad.is_err());
    }
}

// C-DV-1, C-DV-2: the resources named at the device authorization endpoint are the tokens'
// audience; the scope is what the user granted within the request's.
#[tokio::test]
async fn tokens_are_for_the_requested_resources_and_the_granted_scope() {
    const MAIL: &str = "https://mail.example/";
    let fx = fixture_with(MemoryStorage::new(), |c| {
        c.resource(Resource::new(MAIL).unwrap().scopes("read").unwrap())
    })
    .await;
    let response = authorize_device(
        &fx,
        &[
            ("client_id", TV),
            ("scope", "read write"),
            ("resource", MAIL),
        ],
    )
    .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let body = json(&response);
    let request = fx
        .server
        .device_request(text(&body, "user_code"), ADDR)
        .await
        .unwrap();
    assert_eq!(request.resources(), [MAIL]);
    let alice = OwnerId::new("user-alice");
    // Nothing granted within the request's scope: refused, the request still pending.
    assert!(matches!(
        fx.server
            .approve_device(request.clone(), &alice, &ScopeSet::parse("admin").unwrap())
            .await,
        Err(DeviceError::NothingGranted)
    ));
    fx.server
        .approve_device(request, &alice, &ScopeSet::parse("read admin").unwrap())
        .await
        .unwrap();
    let response = poll(&fx, TV, text(&body, "device_code")).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let tokens = json(&response);
    assert_eq!(tokens["scope"], "read");
    let checked = fx
        .server
        .validate_bearer(
            &bearer("/mail", text(&tokens, "access_token")),
            &Requirement::user().resource(MAIL),
        )
        .await;
    assert!(checked.is_ok(), "{checked:?}");
}

// C-DV-2: an approval is a grant like any other: revoking the user's consent to the client
// revokes its tokens, and deleting the client forgets its pending device requests.
#[tokio::test]
async fn device_grants_are_revoked_with_consent_and_client() {
    let fx = fixture().await;
    let (device_code, user_code) = start(&fx, "read").await;
    approve(&fx, &user_code, "read").await;
    let tokens = json(&poll(&fx, TV, &device_code).await);
    let alice = OwnerId::new("user-alice");
    let tv = ClientId::new(TV).unwrap();
    assert_eq!(fx.server.revoke_consent(&alice, &tv).await.unwrap(), 1);
    assert!(!access_is_live(&fx, text(&tokens, "access_token")).await);
    assert!(!refresh_is_live(&fx, text(&tokens, "refresh_token")).await);

    let (device_code, user_code) = start(&fx, "read").await;
    assert!(fx.storage().delete_client(TV).await.unwrap());
    assert!(matches!(
        fx.server.device_request(&user_code, ADDR).await,
        Err(DeviceError::UnknownCode)
    ));
    assert_error(&poll(&fx, TV, &device_code).await, 400, "invalid_client");
}

/// Two pollers racing after the approval: exactly one gets tokens.
async fn racing_pollers_get_one_set_of_tokens<S: Storage>(fx: Fixture<S>) {
    let (device_code, user_code) = start(&fx, "read").await;
    approve(&fx, &user_code, "read").await;
    let (first, second) = tokio::join!(poll(&fx, TV, &device_code), poll(&fx, TV, &device_code));
    let statuses = [first.status().as_u16(), second.status().as_u16()];
    assert!(
        statuses.contains(&200) && statuses.contains(&400),
        "{statuses:?}"
    );
    let (issued, refused) = if first.status() == 200 {
        (&first, &second)
    } else {
        (&second, &first)
    };
    assert_error(refused, 400, "invalid_grant");
    // One set of tokens, and it stays valid.
    let tokens = json(issued);
    assert!(access_is_live(&fx, text(&tokens, "access_token")).await);
    assert!(refresh_is_live(&fx, text(&tokens, "refresh_token")).await);
}

// C-DV-2: tokens exactly once, through the generic exactly-once primitive, on every backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_pollers_on_memory() {
    racing_pollers_get_one_set_of_tokens(fixture().await).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_pollers_on_sqlite() {
    let db = common::sqlite::TempDb::new();
    racing_pollers_get_one_set_of_tokens(fixture_on(db.open().await).await).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_pollers_on_postgres() {
    use common::postgres::TestSchema;
    let Some(schema) = TestSchema::create("racing_pollers_on_postgres").await else {
        return;
    };
    racing_pollers_get_one_set_of_tokens(fixture_on(schema.storage().await).await).await;
    schema.drop().await;
}
