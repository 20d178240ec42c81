//! The example's defences against floods (issue 16, item 5): the session store is bounded by
//! bytes as well as by count, its eviction keeps the newest sessions even when they all start
//! within one second, the cookie is `__Host-` over HTTPS, and failed logins cannot make the
//! server run unbounded password hashes.

use std::sync::Arc;

use axum::http::{HeaderMap, Request, StatusCode, header};
use grantor::MemoryStorage;

use super::axum_server::app::App;
use super::axum_server::demo_client::authorization_url;
use super::axum_server::sessions::{COOKIE, Held, Limits, SECURE_COOKIE, Session, Sessions};
use super::axum_server::setup::{DEMO_CLIENT, DEMO_USER, DEMO_VERIFIER, Setup};
use super::{Browser, START, start};

fn cookie_of(sessions: &Sessions, session: &Session) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let set = sessions.cookie(session);
    let pair = set.to_str().unwrap().split(';').next().unwrap().to_owned();
    headers.insert(header::COOKIE, pair.parse().unwrap());
    headers
}

// Item 5(c): many sessions started within the same second. Eviction by "seen after the
// median" second dropped every one of them; the least recently used half goes, by exact order.
#[test]
fn a_flood_within_one_second_evicts_only_the_older_half() {
    let limits = Limits {
        sessions: 1000,
        bytes: usize::MAX,
    };
    let sessions = Sessions::with_limits(false, limits);
    let started: Vec<Session> = (0..5000).map(|_| sessions.start(START)).collect();
    let held = sessions.len();
    assert!((500..=1000).contains(&held), "{held} sessions held");
    // The newest sessions all survive; the oldest is gone.
    for session in &started[started.len() - 400..] {
        assert!(
            sessions
                .resume(&cookie_of(&sessions, session), START)
                .is_some()
        );
    }
    assert!(
        sessions
            .resume(&cookie_of(&sessions, &started[0]), START)
            .is_none()
    );
}

// Item 5(c): using a session makes it recent: an old session resumed in the same second
// survives the eviction that newer, unused ones do not.
#[test]
fn a_session_in_use_survives_eviction() {
    let limits = Limits {
        sessions: 100,
        bytes: usize::MAX,
    };
    let sessions = Sessions::with_limits(false, limits);
    let kept = sessions.start(START);
    for _ in 0..1000 {
        sessions.start(START);
        assert!(
            sessions
                .resume(&cookie_of(&sessions, &kept), START)
                .is_some()
        );
    }
    assert!(sessions.len() <= 100);
}

/// A validated authorization request of the demo client carrying `padding` bytes of an extra
/// parameter.
async fn big_request(app: &App<MemoryStorage>, padding: usize) -> Held {
    let path = format!(
        "{}&padding={}",
        authorization_url("", DEMO_CLIENT, "profile", DEMO_VERIFIER),
        "x".repeat(padding)
    );
    let request = Request::get(path).body(Vec::<u8>::new()).unwrap();
    let pending = app.server.authorize(&request).await.unwrap();
    Held::new(pending, START)
}

async fn demo_app(issuer: &str) -> App<MemoryStorage> {
    let setup = Setup::demo(issuer);
    let config = setup.config(issuer).unwrap().build().unwrap();
    let storage = MemoryStorage::new();
    App::new(config, storage.clone(), Arc::new(storage), &setup)
        .await
        .unwrap()
}

// Item 5(a): the store is bounded by bytes, not only by count: sessions holding large
// waiting requests are evicted (least recently used first) once their bytes pass the bound.
#[tokio::test]
async fn sessions_are_bounded_by_bytes() {
    let app = demo_app("http://127.0.0.1:8080").await;
    let limits = Limits {
        sessions: 1_000_000,
        bytes: 1_000_000,
    };
    let sessions = Sessions::with_limits(false, limits);
    // One request's weight is counted.
    let one = sessions.start(START);
    let before = sessions.bytes();
    sessions.put_back(&one, big_request(&app, 4000).await, START);
    assert!(sessions.bytes() >= before + 4000, "{}", sessions.bytes());

    let mut last = None;
    for _ in 0..500 {
        let session = sessions.start(START);
        sessions.put_back(&session, big_request(&app, 4000).await, START);
        assert!(sessions.bytes() <= 1_000_000, "{}", sessions.bytes());
        last = Some(session);
    }
    assert!(sessions.len() < 500, "{}", sessions.len());
    // The newest session and its request are still there.
    let last = last.unwrap();
    let resumed = sessions
        .resume(&cookie_of(&sessions, &last), START)
        .unwrap();
    assert_eq!(resumed.id, last.id);
    // Taking a request out gives its bytes back.
    let held = sessions.bytes();
    let request_id = big_request(&app, 0).await.id; // an unknown id takes nothing
    assert!(sessions.take(&last, &request_id, START).is_none());
    assert_eq!(sessions.bytes(), held);
}

// Item 5(d): over HTTPS the cookie is `__Host-grantor_session` with `Secure`, `Path=/` and no
// `Domain`; over plain HTTP (a local demo) it is `grantor_session` without `Secure`, which a
// browser would not send back over HTTP.
#[tokio::test]
async fn the_cookie_is_host_prefixed_over_https() {
    let path = authorization_url("", DEMO_CLIENT, "profile", DEMO_VERIFIER);
    for (issuer, name, secure) in [
        ("https://auth.example.com", SECURE_COOKIE, true),
        ("http://127.0.0.1:8080", COOKIE, false),
    ] {
        let (router, _clock) = start(issuer).await;
        let mut browser = Browser::new(&router);
        let login = browser.get(&path).await;
        assert_eq!(login.status, StatusCode::OK);
        let cookie = login.headers[header::SET_COOKIE].to_str().unwrap();
        assert!(cookie.starts_with(&format!("{name}=")), "{cookie}");
        assert!(cookie.contains("; Path=/;"), "{cookie}");
        assert!(!cookie.to_ascii_lowercase().contains("domain"), "{cookie}");
        assert_eq!(cookie.contains("; Secure"), secure, "{cookie}");
        // The session works under its name, and only under it.
        let form = [
            ("csrf", login.field("csrf")),
            ("request", login.field("request")),
            ("username", DEMO_USER.0.to_owned()),
            ("password", "wrong".to_owned()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let again = browser.post("/login", &form).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);
        let other = if secure { COOKIE } else { SECURE_COOKIE };
        let value = browser.cookie.as_ref().unwrap().split_once('=').unwrap().1;
        browser.cookie = Some(format!("{other}={value}"));
        let refused = browser.post("/login", &form).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(
            refused.body.contains("session has expired"),
            "{}",
            refused.body
        );
    }
}

mod logins {
    use std::time::Duration;

    use super::super::axum_server::setup::DEMO_USER;
    use super::super::axum_server::users::{
        FAILURE_WINDOW, FAILURES_PER_ACCOUNT, FAILURES_PER_ADDRESS, HASHING_PERMITS, Users, Verdict,
    };
    use super::*;

    async fn users() -> Users {
        let setup = Setup::demo("http://127.0.0.1:8080");
        Users::new(&setup.users).unwrap()
    }

    // Item 5(b): concurrent failed logins queue for a few hashing permits instead of each
    // running an argon2 hash (19 MiB) at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_password_checks_share_a_few_permits() {
        let users = users().await;
        let checks: Vec<_> = (0..6)
            .map(|i| {
                let users = users.clone();
                tokio::spawn(async move {
                    let address = format!("192.0.2.{i}");
                    let name = format!("nobody{i}");
                    users.check(&name, "wrong", Some(&address), START).await
                })
            })
            .collect();
        for check in checks {
            assert_eq!(check.await.unwrap().unwrap(), Verdict::Invalid);
        }
        assert_eq!(users.hashes_run(), 6);
        assert!(
            users.peak_hashing() <= HASHING_PERMITS,
            "{}",
            users.peak_hashing()
        );
    }

    // Item 5(b): past the failures allowed per account in the window, even the right password
    // waits, and no hash is computed; the window slides.
    #[tokio::test]
    async fn failed_logins_are_throttled_per_account() {
        let users = users().await;
        let (name, password) = DEMO_USER;
        for i in 0..FAILURES_PER_ACCOUNT {
            let address = format!("198.51.100.{i}");
            let verdict = users.check(name, "wrong", Some(&address), START).await;
            assert_eq!(verdict.unwrap(), Verdict::Invalid);
        }
        let hashed = users.hashes_run();
        let refused = users
            .check(name, password, Some("203.0.113.9"), START)
            .await;
        assert_eq!(refused.unwrap(), Verdict::TryLater);
        assert_eq!(
            users.hashes_run(),
            hashed,
            "no hash for a throttled attempt"
        );
        // Other accounts are not affected.
        let other = users
            .check("someone", "x", Some("203.0.113.9"), START)
            .await;
        assert_eq!(other.unwrap(), Verdict::Invalid);
        // Once the failures leave the window, the right password works again.
        let later = START.after(FAILURE_WINDOW + Duration::from_secs(1));
        let verdict = users.check(name, password, None, later).await.unwrap();
        assert!(matches!(verdict, Verdict::Valid(_)), "{verdict:?}");
    }

    // Item 5(b): one address guessing many accounts is throttled too.
    #[tokio::test]
    async fn failed_logins_are_throttled_per_address() {
        let users = users().await;
        for i in 0..FAILURES_PER_ADDRESS {
            let name = format!("guess{i}");
            let verdict = users.check(&name, "x", Some("192.0.2.1"), START).await;
            assert_eq!(verdict.unwrap(), Verdict::Invalid);
        }
        let hashed = users.hashes_run();
        let refused = users
            .check("guess-more", "x", Some("192.0.2.1"), START)
            .await;
        assert_eq!(refused.unwrap(), Verdict::TryLater);
        assert_eq!(users.hashes_run(), hashed);
        let elsewhere = users
            .check("guess-more", "x", Some("192.0.2.2"), START)
            .await;
        assert_eq!(elsewhere.unwrap(), Verdict::Invalid);
    }

    // Item 5(b), through the login page: a throttled attempt gets the login page again with
    // "try again later" and `429`.
    #[tokio::test]
    async fn the_login_page_says_try_again_later() {
        let (router, _clock) = start("http://127.0.0.1:8080").await;
        let mut browser = Browser::new(&router);
        let path = authorization_url("", DEMO_CLIENT, "profile", DEMO_VERIFIER);
        let mut page = browser.get(&path).await;
        for attempt in 0..=FAILURES_PER_ACCOUNT {
            let form = [
                ("csrf", page.field("csrf")),
                ("request", page.field("request")),
                ("username", DEMO_USER.0.to_owned()),
                ("password", "wrong".to_owned()),
            ];
            let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
            page = browser.post("/login", &form).await;
            if attempt < FAILURES_PER_ACCOUNT {
                assert_eq!(page.status, StatusCode::OK);
                assert!(page.body.contains("Wrong username or password"));
            }
        }
        assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(page.body.contains("Too many attempts"), "{}", page.body);
    }
}

/// What a new user tripped on (issue 16, item 8).
mod newcomer {
    use std::time::Duration;

    use axum::http::{Method, Uri};

    use super::super::axum_server::app::request_line;
    use super::super::axum_server::describe_storage;
    use super::*;

    // The consent page describes scopes: the setup's `scope_descriptions`, and built-in words
    // for OpenID Connect's standard scopes.
    #[tokio::test]
    async fn the_consent_page_describes_the_scopes() {
        let (router, _clock) = start("http://127.0.0.1:8080").await;
        let mut browser = Browser::new(&router);
        let path = authorization_url("", DEMO_CLIENT, "openid email messages", DEMO_VERIFIER);
        let login = browser.get(&path).await;
        let form = [
            ("csrf", login.field("csrf")),
            ("request", login.field("request")),
            ("username", DEMO_USER.0.to_owned()),
            ("password", DEMO_USER.1.to_owned()),
        ];
        let form: Vec<(&str, &str)> = form.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let redirect = browser.post("/login", &form).await;
        let consent = browser.get(redirect.location()).await;
        assert_eq!(consent.status, StatusCode::OK);
        for words in [
            "<code>messages</code>: read and send your messages",
            "<code>email</code>: your email address",
            "<code>openid</code>: sign you in",
        ] {
            assert!(consent.body.contains(words), "{words}: {}", consent.body);
        }
    }

    // A file's descriptions replace the built-in ones and add to them.
    #[test]
    fn a_file_describes_its_own_scopes() {
        let setup: Setup = serde_json::from_str(
            r#"{"scope_descriptions": {"email": "where we write to you", "x:read": "read x"}}"#,
        )
        .unwrap();
        let words = setup.scope_descriptions();
        assert_eq!(words["email"], "where we write to you");
        assert_eq!(words["x:read"], "read x");
        assert_eq!(words["profile"], "your name and basic profile");
    }

    // The demo client's callback page says how long the code lives.
    #[tokio::test]
    async fn the_callback_page_says_the_code_expires() {
        let (router, _clock) = start("http://127.0.0.1:8080").await;
        let mut browser = Browser::new(&router);
        let page = browser.get("/callback?code=abc&state=demo-state").await;
        assert!(page.body.contains("within 60 seconds"), "{}", page.body);
    }

    // One log line per request, without the query (codes and `state` stay out of logs).
    #[test]
    fn the_request_log_never_shows_the_query() {
        let uri: Uri = "/callback?code=SECRET-CODE&state=s".parse().unwrap();
        let line = request_line(
            &Method::GET,
            &uri,
            StatusCode::OK,
            Duration::from_micros(1500),
        );
        assert_eq!(line, "GET /callback 200 1.500ms");
    }

    // The banner names the storage, never a database password.
    #[test]
    fn the_banner_names_the_storage() {
        assert!(describe_storage("memory").starts_with("memory"));
        assert_eq!(
            describe_storage("sqlite:grantor.db"),
            "SQLite, file grantor.db"
        );
        let postgres = describe_storage("postgres://grantor:hunter2@db.internal/auth");
        assert!(postgres.starts_with("PostgreSQL, "), "{postgres}");
        assert!(postgres.contains("db.internal/auth"), "{postgres}");
        assert!(!postgres.contains("hunter2"), "{postgres}");
    }
}
