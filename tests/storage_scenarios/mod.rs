//! Server-level scenarios the SQL backends share: issuing tokens through the code flow,
//! checking them at a server, dumping tables for clear secrets (C-SE-1), and failures of the
//! database in the middle of a request.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use grantor::storage::Digest;
use grantor::storage::sqlx::{self, AssertSqlSafe, ColumnIndex, Database, Decode, Pool, Row, Type};
use grantor::{ConfigBuilder, Error, OwnerId, Requirement, Storage};

use crate::common::*;

/// The secrets a code flow handed out.
pub struct Issued {
    pub code: String,
    pub access: String,
    pub refresh: String,
}

/// Runs the code flow of `app` for alice at `fx`.
pub async fn issue<S: Storage>(fx: &Fixture<S>) -> Issued {
    let code = fx.app_code().await;
    let response = fx.redeem_app_code(&code).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let body = json(&response);
    Issued {
        code,
        access: body["access_token"].as_str().unwrap().to_owned(),
        refresh: body["refresh_token"].as_str().unwrap().to_owned(),
    }
}

/// Asserts that `token` is a valid access token of alice at `fx`.
pub async fn assert_valid<S: Storage>(fx: &Fixture<S>, token: &str) {
    let grant = fx
        .server
        .validate_bearer(&bearer("/api", token), &Requirement::any())
        .await
        .unwrap_or_else(|e| panic!("token refused: {e:?}"));
    assert_eq!(grant.owner(), Some(&OwnerId::new("alice")));
}

/// Asserts that `token` is refused at `fx` with 401 `invalid_token`.
pub async fn assert_invalid<S: Storage>(fx: &Fixture<S>, token: &str) {
    let error = fx
        .server
        .validate_bearer(&bearer("/api", token), &Requirement::any())
        .await
        .expect_err("token must be refused");
    assert_eq!(error.status(), 401);
    assert_eq!(
        error.error_code().map(|c| c.as_str()),
        Some("invalid_token")
    );
}

/// Configures a fixture to count the internal errors it reports.
pub fn counting(errors: &Arc<AtomicUsize>) -> impl FnOnce(ConfigBuilder) -> ConfigBuilder {
    let errors = errors.clone();
    move |config| {
        config.on_internal_error(move |error, _| {
            assert!(matches!(error, Error::Storage(_)), "{error}");
            errors.fetch_add(1, Ordering::SeqCst);
        })
    }
}

/// While storage fails: redeeming `code` gets 500 `server_error`, and so does checking `access`;
/// both report a storage error to the host.
pub async fn assert_outage<S: Storage>(
    fx: &Fixture<S>,
    errors: &AtomicUsize,
    code: &str,
    access: &str,
) {
    let before = errors.load(Ordering::SeqCst);
    let response = fx.redeem_app_code(code).await;
    assert_error(&response, 500, "server_error");
    let error = fx
        .server
        .validate_bearer(&bearer("/api", access), &Requirement::any())
        .await
        .expect_err("storage is down");
    assert_eq!(error.status(), 500);
    assert_eq!(error.error_code().map(|c| c.as_str()), Some("server_error"));
    assert_eq!(errors.load(Ordering::SeqCst), before + 2);
}

/// Once storage is back, a code whose redemption failed is still good, exactly once, and a
/// token issued before the outage still works.
pub async fn assert_recovered<S: Storage>(fx: &Fixture<S>, code: &str, access: &str) {
    let response = fx.redeem_app_code(code).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert_valid(fx, json(&response)["access_token"].as_str().unwrap()).await;
    assert_valid(fx, access).await;
    let replay = fx.redeem_app_code(code).await;
    assert_error(&replay, 400, "invalid_grant");
}

/// A cell of a dumped table.
#[derive(Debug)]
pub enum Cell {
    Text(String),
    Bytes(Vec<u8>),
    Int(i64),
    Bool(bool),
    Null,
}

/// Reads every column of a row, whatever its type.
pub fn cells<R>(row: &R) -> Vec<Cell>
where
    R: Row,
    usize: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
{
    (0..row.len())
        .map(|i| {
            if let Ok(value) = row.try_get::<Option<String>, _>(i) {
                value.map_or(Cell::Null, Cell::Text)
            } else if let Ok(value) = row.try_get::<Option<Vec<u8>>, _>(i) {
                value.map_or(Cell::Null, Cell::Bytes)
            } else if let Ok(value) = row.try_get::<Option<i64>, _>(i) {
                value.map_or(Cell::Null, Cell::Int)
            } else if let Ok(value) = row.try_get::<Option<bool>, _>(i) {
                value.map_or(Cell::Null, Cell::Bool)
            } else {
                panic!("column {i} has an unexpected type")
            }
        })
        .collect()
}

/// The tables a dump must cover.
pub const TABLES: [&str; 4] = [
    "grantor_clients",
    "grantor_grants",
    "grantor_records",
    "grantor_tokens",
];

/// Every cell of every grantor table (each must have rows).
pub async fn dump<DB>(pool: &Pool<DB>) -> Vec<Cell>
where
    DB: Database,
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    usize: ColumnIndex<DB::Row>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Vec<u8>: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> bool: Decode<'r, DB> + Type<DB>,
{
    let mut dump = Vec::new();
    for table in TABLES {
        let rows = sqlx::query(AssertSqlSafe(format!("SELECT * FROM {table}")))
            .fetch_all(pool)
            .await
            .unwrap();
        assert!(!rows.is_empty(), "{table} is empty");
        dump.extend(rows.iter().flat_map(cells));
    }
    dump
}

/// C-SE-1: no secret appears in clear in a dump of every grantor table, while the digests of
/// all of them do (so the dump is of the right rows).
pub fn assert_no_clear_secret(dump: &[Cell], issued: &Issued) {
    let secrets = [
        issued.code.as_str(),
        issued.access.as_str(),
        issued.refresh.as_str(),
        SVC_SECRET,
    ];
    for secret in secrets {
        for cell in dump {
            match cell {
                Cell::Text(text) => assert!(!text.contains(secret), "clear secret in {text:?}"),
                Cell::Bytes(bytes) => assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "clear secret in a binary column"
                ),
                Cell::Int(_) | Cell::Bool(_) | Cell::Null => {}
            }
        }
        let digest = Digest::of(secret);
        assert!(
            dump.iter()
                .any(|cell| matches!(cell, Cell::Bytes(b) if b[..] == digest.as_bytes()[..])),
            "the digest of every secret is stored"
        );
    }
}

/// The version of grantor's first migration: its tables as they were before the open core
/// (codes in `grantor_codes`, refresh tokens beside access tokens in `grantor_tokens`).
pub const FIRST_MIGRATION: i64 = 20261123000000;

/// grantor's migrations for a database, read from `dir` at run time, recorded in grantor's
/// own table.
pub async fn migrator(dir: &str) -> sqlx::migrate::Migrator {
    let mut migrator = sqlx::migrate::Migrator::new(std::path::Path::new(dir))
        .await
        .unwrap();
    migrator.dangerous_set_table_name("grantor_migrations");
    migrator
}

/// The secrets of the rows [`insert_legacy_rows`] writes in the first migration's tables.
pub mod legacy {
    /// A code not yet redeemed, bound to the S256 challenge of `VERIFIER`.
    pub const CODE: &str = "legacy-code-not-yet-redeemed-with-enough-entropy";
    /// A code already redeemed, whose grant's access token is [`REDEEMED_ACCESS`].
    pub const REDEEMED_CODE: &str = "legacy-code-already-redeemed-with-enough-entropy";
    /// The access token the redeemed code issued (shaped as grantor mints them: 43
    /// characters of base64url).
    pub const REDEEMED_ACCESS: &str = "legacy-access-token-of-the-redeemed-code-gr";
    /// A live refresh token.
    pub const REFRESH: &str = "legacy-live-refresh-token-with-enough-entropy";
    /// A refresh token of the same grant, already rotated.
    pub const ROTATED: &str = "legacy-rotated-refresh-token-with-enough-entropy";
}

/// Writes, in the tables of the first migration, the rows a server had before upgrading: a
/// pending code, a redeemed code with its access token, a live refresh token and a rotated one.
pub async fn insert_legacy_rows<DB>(pool: &Pool<DB>)
where
    DB: Database,
    for<'c> &'c Pool<DB>: sqlx::Executor<'c, Database = DB>,
    for<'q> DB::Arguments: sqlx::IntoArguments<DB>,
    for<'q> Vec<u8>: sqlx::Encode<'q, DB> + Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: sqlx::Encode<'q, DB> + Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + Type<DB>,
{
    let digest = |secret: &str| Digest::of(secret).as_bytes().to_vec();
    let (code_grant, redeemed_grant, refresh_grant) = ([1u8; 16], [2u8; 16], [3u8; 16]);
    let start = START as i64;
    let challenge = grantor::CodeChallenge::s256(VERIFIER).value().to_owned();
    for (secret, grant, challenge, redeemed, retain) in [
        (legacy::CODE, code_grant, Some(challenge), false, start + 60),
        (
            legacy::REDEEMED_CODE,
            redeemed_grant,
            None,
            true,
            start + 3_600,
        ),
    ] {
        sqlx::query(
            "INSERT INTO grantor_codes (digest, grant_id, client_id, owner, redirect_uri, \
             redirect_uri_sent, scope, challenge_method, challenge, issued_at, expires_at, \
             redeemed, retain_until) \
             VALUES ($1, $2, $3, 'alice', $4, FALSE, 'read write', $5, $6, $7, $8, $9, $10)",
        )
        .bind(digest(secret))
        .bind(grant.to_vec())
        .bind(APP.to_owned())
        .bind(APP_REDIRECT.to_owned())
        .bind(challenge.as_ref().map(|_| "S256".to_owned()))
        .bind(challenge)
        .bind(start - 30)
        .bind(start + 30)
        .bind(redeemed)
        .bind(retain)
        .execute(pool)
        .await
        .unwrap();
    }
    for (secret, kind, grant, rotated, expires) in [
        (
            legacy::REDEEMED_ACCESS,
            "access",
            redeemed_grant,
            false,
            start + 3_600,
        ),
        (
            legacy::REFRESH,
            "refresh",
            refresh_grant,
            false,
            start + 86_400,
        ),
        (
            legacy::ROTATED,
            "refresh",
            refresh_grant,
            true,
            start + 86_400,
        ),
    ] {
        sqlx::query(
            "INSERT INTO grantor_tokens (digest, kind, grant_id, client_id, owner, scope, \
             issued_at, expires_at, rotated) \
             VALUES ($1, $2, $3, $4, 'alice', 'read write', $5, $6, $7)",
        )
        .bind(digest(secret))
        .bind(kind.to_owned())
        .bind(grant.to_vec())
        .bind(APP.to_owned())
        .bind(start - 30)
        .bind(expires)
        .bind(rotated)
        .execute(pool)
        .await
        .unwrap();
    }
    for grant in [code_grant, redeemed_grant, refresh_grant] {
        sqlx::query("INSERT INTO grantor_grants (id, revoked, expires_at) VALUES ($1, FALSE, $2)")
            .bind(grant.to_vec())
            .bind(start + 86_400)
            .execute(pool)
            .await
            .unwrap();
    }
}

/// After the upgrade, every legacy row means what it meant: the pending code is redeemed with
/// its verifier, the redeemed code is a replay that revokes its grant's access token, the live
/// refresh token refreshes, and the rotated one is a replay that revokes its grant.
pub async fn assert_legacy_rows_upgraded<S: Storage>(fx: &Fixture<S>) {
    let redeemed = fx.redeem_app_code(legacy::CODE).await;
    assert_eq!(redeemed.status(), 200, "{}", body_text(&redeemed));
    assert_eq!(json(&redeemed)["scope"], "read write");

    assert_valid(fx, legacy::REDEEMED_ACCESS).await;
    let replay = fx.redeem_app_code(legacy::REDEEMED_CODE).await;
    assert_error(&replay, 400, "invalid_grant");
    assert_invalid(fx, legacy::REDEEMED_ACCESS).await;

    let refreshed = fx
        .server
        .token(&refresh_request((APP, None), legacy::REFRESH, &[]))
        .await;
    assert_eq!(refreshed.status(), 200, "{}", body_text(&refreshed));
    let access = json(&refreshed)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_valid(fx, &access).await;
    let replay = fx
        .server
        .token(&refresh_request((APP, None), legacy::ROTATED, &[]))
        .await;
    assert_error(&replay, 400, "invalid_grant");
    assert_invalid(fx, &access).await;
}

/// C-OB-3: two instances' limiters over one database see each other's failures; keys and
/// checks are independent; the window slides; `purge_expired` removes what left it.
pub async fn shared_limiter<S>(a: S, b: S)
where
    S: Storage + Clone,
    grantor::storage::SqlLimiter<S>: grantor::Limiter,
{
    use std::time::Duration;

    use grantor::storage::SqlLimiter;
    use grantor::{Check, LimitKey, Limiter, Timestamp};

    let first = SqlLimiter::new(a.clone(), 3, Duration::from_secs(100));
    let second = SqlLimiter::new(b, 3, Duration::from_secs(100));
    let alice = [
        LimitKey::Account("alice".into()),
        LimitKey::address("2001:db8::1".parse().unwrap()),
    ];
    let bob = [LimitKey::Account("bob".into())];
    let at = |secs: u64| Timestamp::from_secs(START + secs);
    for (limiter, secs) in [(&first, 0), (&second, 5), (&first, 50)] {
        assert!(
            limiter
                .allow(Check::Password, &alice, at(secs))
                .await
                .unwrap()
        );
        limiter
            .failed(Check::Password, &alice, at(secs))
            .await
            .unwrap();
    }
    assert!(!second.allow(Check::Password, &alice, at(51)).await.unwrap());
    // The address key alone is at its limit too, from another account.
    let same_address = [
        LimitKey::Account("carol".into()),
        LimitKey::address("2001:db8::2".parse().unwrap()),
    ];
    assert!(
        !first
            .allow(Check::Password, &same_address, at(51))
            .await
            .unwrap()
    );
    assert!(first.allow(Check::Password, &bob, at(51)).await.unwrap());
    assert!(
        first
            .allow(Check::ClientSecret, &alice, at(51))
            .await
            .unwrap()
    );
    // The failures at 0 and 5 leave the window (buckets of 10 s): two remain.
    assert!(
        second
            .allow(Check::Password, &alice, at(111))
            .await
            .unwrap()
    );
    assert!(a.purge_expired(at(1_000)).await.unwrap() >= 2);
    assert!(
        first
            .allow(Check::Password, &alice, at(1_000))
            .await
            .unwrap()
    );
}

/// Access tokens of a fresh grant of `client`, live for an hour from `now`.
pub fn tokens_of(client: &str, now: grantor::Timestamp) -> grantor::storage::NewTokens {
    use grantor::storage::{GrantId, NewTokens, StoredToken, TokenRecord};
    let record = TokenRecord::new(
        GrantId::generate(),
        grantor::ClientId::new(client).unwrap(),
        None,
        grantor::ScopeSet::parse("read").unwrap(),
        now,
        grantor::Timestamp::from_secs(now.as_secs() + 3600),
    );
    NewTokens::new(
        StoredToken::new(grantor::AccessToken::generate().digest(), record),
        None,
    )
}

/// C-BR-5, C-RV-1, C-IN-1: the client and token caches of two instances over one database, each cache's
/// entries living `lifetime`. On the instance that revokes a token, revokes a grant or
/// deletes a client, nothing revoked or deleted is served once the call has returned; the
/// other instance serves its cached entry until the entry is `lifetime` old, then not.
pub async fn caches_follow_changes<S: Storage>(here: S, there: S, lifetime: std::time::Duration) {
    use grantor::{Client, Clock, SystemClock};

    let now = SystemClock.now();
    let client = Client::public("cached-app")
        .redirect_uri("https://app.example/cb")
        .build()
        .unwrap();
    here.save_client(client).await.unwrap();
    let [by_token, by_grant, by_client] = [(); 3].map(|_| tokens_of("cached-app", now));
    let digests = [&by_token, &by_grant, &by_client].map(|t| t.access.digest);
    for tokens in [&by_token, &by_grant] {
        assert!(here.save_tokens(tokens.clone()).await.unwrap());
    }
    assert!(here.save_tokens(by_client.clone()).await.unwrap());
    // Both instances read (and cache) the client and every token.
    for storage in [&here, &there] {
        assert!(storage.client("cached-app").await.unwrap().is_some());
        for digest in &digests {
            assert!(storage.access_token(digest, now).await.unwrap().is_some());
        }
    }

    here.revoke_access_token(&digests[0]).await.unwrap();
    assert!(here.access_token(&digests[0], now).await.unwrap().is_none());
    here.revoke_grant(&by_grant.grant()).await.unwrap();
    assert!(here.access_token(&digests[1], now).await.unwrap().is_none());
    assert!(here.delete_client("cached-app").await.unwrap());
    assert!(here.client("cached-app").await.unwrap().is_none());
    assert!(here.access_token(&digests[2], now).await.unwrap().is_none());

    // The other instance still serves what it cached, until the entries are `lifetime` old.
    assert!(there.client("cached-app").await.unwrap().is_some());
    for digest in &digests {
        assert!(there.access_token(digest, now).await.unwrap().is_some());
    }
    // A cached token still expires on time.
    let later = grantor::Timestamp::from_secs(now.as_secs() + 3600);
    assert!(
        there
            .access_token(&digests[0], later)
            .await
            .unwrap()
            .is_none()
    );
    tokio::time::sleep(lifetime).await;
    assert!(there.client("cached-app").await.unwrap().is_none());
    for digest in &digests {
        assert!(there.access_token(digest, now).await.unwrap().is_none());
    }
}
