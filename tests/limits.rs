//! Abuse limits (C-OB-3), black-box: failed password and client-secret checks are limited per
//! key (account, client, address); the N+1st failed attempt is refused without a hash being
//! computed, with a clear, documented error; a success is not counted; keys are independent.

mod common;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use grantor::{
    AuditEvent, AuditKind, Authenticator, Check, ClientAddress, Error, MemoryLimiter,
    MemoryStorage, OwnerId, Password,
};

const REFUSED: &str = "too many failed attempts, try again later";

/// The test users, counting every password check (each would be a hash in a real store).
#[derive(Clone, Default)]
struct Counting(Arc<AtomicUsize>);

impl Counting {
    fn checks(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Authenticator for Counting {
    async fn authenticate(
        &self,
        username: &str,
        password: Password<'_>,
    ) -> Result<Option<OwnerId>, Error> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Users.authenticate(username, password).await
    }
}

async fn fixture(users: &Counting, events: &Arc<std::sync::Mutex<Vec<AuditEvent>>>) -> Fixture {
    let events = events.clone();
    Fixture::with_server(
        MemoryStorage::new(),
        |c| {
            c.limiter(MemoryLimiter::new(3, Duration::from_secs(60)))
                .audit(move |event: &AuditEvent| events.lock().unwrap().push(event.clone()))
        },
        |b| b.authenticator(users.clone()),
    )
    .await
}

fn from(address: &str, mut request: http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
    let ip: IpAddr = address.parse().unwrap();
    request.extensions_mut().insert(ClientAddress(ip));
    request
}

fn description(response: &http::Response<Vec<u8>>) -> String {
    json(response)["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

// C-OB-3: the 4th failed password of an account within the window is refused as
// `400 invalid_grant` "too many failed attempts", the right password too, and the
// authenticator (the hash) is not called; other accounts are not affected; after the window,
// the account may try again.
#[tokio::test]
async fn the_password_check_after_the_limit_is_refused_without_a_hash() {
    let users = Counting::default();
    let events = Arc::default();
    let fx = fixture(&users, &events).await;
    for _ in 0..3 {
        let response = fx
            .server
            .token(&password_request("alice", "guess", &[]))
            .await;
        assert_error(&response, 400, "invalid_grant");
        assert_eq!(description(&response), "invalid resource owner credentials");
    }
    assert_eq!(users.checks(), 3);
    for password in ["guess", "wonderland"] {
        let response = fx
            .server
            .token(&password_request("alice", password, &[]))
            .await;
        assert_error(&response, 400, "invalid_grant");
        assert_eq!(description(&response), REFUSED);
    }
    assert_eq!(
        users.checks(),
        3,
        "a refused attempt reached the authenticator"
    );
    let limited = events
        .lock()
        .unwrap()
        .iter()
        .filter(|event| {
            event.kind
                == AuditKind::AttemptLimited {
                    check: Check::Password,
                }
        })
        .count();
    assert_eq!(limited, 2);

    // Another account is its own key.
    let response = fx
        .server
        .token(&password_request("olivia", "owner-pass", &[]))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(users.checks(), 4);

    // The window slides: a minute later, alice may try again.
    fx.advance(61);
    let response = fx
        .server
        .token(&password_request("alice", "wonderland", &[]))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
}

// C-OB-3: successes are not counted.
#[tokio::test]
async fn successes_are_not_counted() {
    let users = Counting::default();
    let events = Arc::default();
    let fx = fixture(&users, &events).await;
    for _ in 0..2 {
        let response = fx
            .server
            .token(&password_request("alice", "guess", &[]))
            .await;
        assert_error(&response, 400, "invalid_grant");
    }
    for _ in 0..5 {
        let response = fx
            .server
            .token(&password_request("alice", "wonderland", &[]))
            .await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(users.checks(), 7);
}

// C-OB-3: with the caller's address passed, failures from one address count together across
// accounts; another address is not affected; IPv6 addresses count by their /64.
#[tokio::test]
async fn failures_are_counted_by_address_when_the_host_passes_it() {
    let users = Counting::default();
    let events = Arc::default();
    let fx = fixture(&users, &events).await;
    for (user, address) in [
        ("u1", "2001:db8::1"),
        ("u2", "2001:db8::2"),
        ("u3", "2001:db8::3"),
    ] {
        let request = from(address, password_request(user, "guess", &[]));
        assert_error(&fx.server.token(&request).await, 400, "invalid_grant");
    }
    let request = from("2001:db8::4", password_request("alice", "wonderland", &[]));
    let response = fx.server.token(&request).await;
    assert_error(&response, 400, "invalid_grant");
    assert_eq!(description(&response), REFUSED);
    assert_eq!(users.checks(), 3);
    let request = from("203.0.113.9", password_request("alice", "wonderland", &[]));
    assert_eq!(fx.server.token(&request).await.status(), 200);
}

// C-OB-3: the 4th failed client secret is refused as `401 invalid_client` with the Basic
// challenge and a description that says why (the unit test `a_limited_attempt_hashes_nothing`
// shows no secret is hashed); `client_secret_post` gets `400`, as its failures do; other
// clients are not affected.
#[tokio::test]
async fn the_client_secret_after_the_limit_is_refused() {
    let users = Counting::default();
    let events = Arc::default();
    let fx = fixture(&users, &events).await;
    let request =
        |secret: &str| basic_token_request(WORKER, secret, &[("grant_type", "client_credentials")]);
    for _ in 0..3 {
        assert_error(
            &fx.server.token(&request("wrong")).await,
            401,
            "invalid_client",
        );
    }
    let response = fx.server.token(&request(WORKER_SECRET)).await;
    assert_error(&response, 401, "invalid_client");
    assert_eq!(description(&response), REFUSED);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let post = token_request(&[
        ("grant_type", "client_credentials"),
        ("client_id", WORKER),
        ("client_secret", WORKER_SECRET),
    ]);
    let response = fx.server.token(&post).await;
    assert_error(&response, 400, "invalid_client");
    assert_eq!(description(&response), REFUSED);
    assert!(!response.headers().contains_key("www-authenticate"));
    // Another client is its own key.
    let response = fx
        .server
        .token(&password_request("alice", "wonderland", &[]))
        .await;
    assert_eq!(response.status(), 200);
}
