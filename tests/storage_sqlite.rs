//! [`SqliteStorage`]: the storage conformance suite, tokens surviving a restart, a database
//! failing mid-request, and a table dump free of clear secrets.
#![cfg(all(feature = "sqlite", feature = "testkit"))]

mod common;
mod storage_scenarios;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use grantor::storage::SqliteStorage;
use grantor::storage::TokenStore;
use grantor::storage::sqlx;

use common::sqlite::TempDb;
use common::*;
use storage_scenarios::*;

// C-SE-1, C-SE-4, C-TK-5, C-TK-11, C-KY-3: the SQLite store keeps the whole Storage contract,
// and its optional stores theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_storage_passes_the_testkit() {
    let db = TempDb::new();
    grantor::storage::testkit::run(db.open().await).await;
    grantor::storage::testkit::replay_cache(db.open().await).await;
    grantor::storage::testkit::key_store(db.open().await).await;
    grantor::storage::testkit::consent_store(db.open().await).await;
    grantor::storage::testkit::client_deletion(db.open().await).await;
}

// C-OB-3: a fleet's limiter shares its failure counts in the database.
#[tokio::test]
async fn the_sql_limiter_is_shared_through_the_database() {
    let db = TempDb::new();
    shared_limiter(db.open().await, db.open().await).await;
}

#[tokio::test]
async fn open_accepts_a_url_or_a_path_and_creates_the_file() {
    let db = TempDb::new();
    assert!(!db.0.exists());
    let storage = SqliteStorage::open(db.0.to_str().unwrap()).await.unwrap();
    assert!(db.0.exists());
    storage.pool().close().await;
    // Reopening applies no migration twice.
    let again = db.open().await;
    assert_eq!(
        again.purge_expired(grantor::Timestamp::MAX).await.unwrap(),
        0
    );
}

// grantor records its migrations in a table of its own, so a host's sqlx migrations on the
// same database (in `_sqlx_migrations`) never meet versions they do not know.
#[tokio::test]
async fn migrations_are_recorded_in_their_own_table() {
    let db = TempDb::new();
    let storage = db.open().await;
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(storage.pool())
            .await
            .unwrap();
    assert_eq!(
        tables,
        [
            "grantor_clients",
            "grantor_consent_grants",
            "grantor_consents",
            "grantor_grants",
            "grantor_keys",
            "grantor_limits",
            "grantor_migrations",
            "grantor_records",
            "grantor_replays",
            "grantor_tokens"
        ]
    );
}

// C-TK-5, C-TK-11: upgrading a database keeps what it held: pending and redeemed codes, live
// and rotated refresh tokens move to the open core's tables and mean what they meant.
#[tokio::test]
async fn an_upgraded_database_keeps_its_codes_and_refresh_tokens() {
    let db = TempDb::new();
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&db.0)
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    migrator("migrations/sqlite")
        .await
        .run_to(FIRST_MIGRATION, &pool)
        .await
        .unwrap();
    insert_legacy_rows(&pool).await;
    pool.close().await;

    let fx = Fixture::with_storage(db.open().await, |c| c).await;
    assert_legacy_rows_upgraded(&fx).await;
}

// C-TK-5: tokens and replay detection survive a restart of the server.
#[tokio::test]
async fn tokens_survive_a_restart() {
    let db = TempDb::new();
    let before = Fixture::with_storage(db.open().await, |c| c).await;
    let issued = issue(&before).await;
    before.storage().pool().close().await;
    drop(before);

    let after = Fixture::with_storage(db.open().await, |c| c).await;
    assert_valid(&after, &issued.access).await;
    // The code is remembered as redeemed: its replay revokes what it issued.
    let replay = after.redeem_app_code(&issued.code).await;
    assert_error(&replay, 400, "invalid_grant");
    assert_invalid(&after, &issued.access).await;
}

// C-SE-1: a dump of every grantor table holds digests, never a secret in clear.
#[tokio::test]
async fn a_table_dump_holds_no_clear_secret() {
    let db = TempDb::new();
    let fx = Fixture::with_storage(db.open().await, |c| c).await;
    let issued = issue(&fx).await;
    let dump = dump(fx.storage().pool()).await;
    assert_no_clear_secret(&dump, &issued);
}

// C-SE-3: a failure in the middle of a code exchange (the token insert fails after the code
// was marked redeemed) is a server_error that leaves the code unspent.
#[tokio::test]
async fn a_failure_mid_exchange_leaves_no_half_issued_grant() {
    let db = TempDb::new();
    let errors = Arc::new(AtomicUsize::new(0));
    let fx = Fixture::with_storage(db.open().await, counting(&errors)).await;
    let issued = issue(&fx).await;
    let code = fx.app_code().await;
    let pool = fx.storage().pool();
    sqlx::query(
        "CREATE TRIGGER fail_token_insert BEFORE INSERT ON grantor_tokens \
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
    )
    .execute(pool)
    .await
    .unwrap();
    let response = fx.redeem_app_code(&code).await;
    assert_error(&response, 500, "server_error");
    assert_eq!(errors.load(std::sync::atomic::Ordering::SeqCst), 1);

    sqlx::query("DROP TRIGGER fail_token_insert")
        .execute(pool)
        .await
        .unwrap();
    assert_recovered(&fx, &code, &issued.access).await;
}

// C-SE-3: while the database is unreachable every request is a server_error; once it is back
// nothing was lost or half-done.
#[tokio::test]
async fn a_closed_database_is_a_server_error_and_recovers() {
    let db = TempDb::new();
    let errors = Arc::new(AtomicUsize::new(0));
    let fx = Fixture::with_storage(db.open().await, counting(&errors)).await;
    let issued = issue(&fx).await;
    let code = fx.app_code().await;
    fx.storage().pool().close().await;
    assert_outage(&fx, &errors, &code, &issued.access).await;

    let back = Fixture::with_storage(db.open().await, |c| c).await;
    assert_recovered(&back, &code, &issued.access).await;
}

// `purge_expired` deletes in batches (each its own transaction, so that requests wait for one
// batch at most) and goes on until every expired row is gone: here 25 tokens, 25 grants with
// a pair's record each, and an orphaned record, in batches of 10.
#[tokio::test]
async fn purge_expired_deletes_every_batch() {
    let db = TempDb::new();
    let storage = db.open().await.with_purge_batch(10);
    let pool = storage.pool();
    for i in 0..25u8 {
        sqlx::query(
            "INSERT INTO grantor_tokens (digest, grant_id, client_id, scope, issued_at, \
             expires_at) VALUES (?, ?, 'c', 'read', 1, 2)",
        )
        .bind(vec![i; 32])
        .bind(vec![i; 16])
        .execute(pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO grantor_grants (id, revoked, expires_at) VALUES (?, FALSE, 2)")
            .bind(vec![i; 16])
            .execute(pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO grantor_consent_grants (owner, client_id, grant_id) VALUES ('o', 'c', ?)",
        )
        .bind(vec![i; 16])
        .execute(pool)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO grantor_consent_grants (owner, client_id, grant_id) VALUES ('o', 'c', ?)",
    )
    .bind(vec![255u8; 16])
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO grantor_tokens (digest, grant_id, client_id, scope, issued_at, expires_at) \
         VALUES (?, ?, 'c', 'read', 1, 1000)",
    )
    .bind(vec![200u8; 32])
    .bind(vec![200u8; 16])
    .execute(pool)
    .await
    .unwrap();

    let purged = storage
        .purge_expired(grantor::Timestamp::from_secs(10))
        .await
        .unwrap();
    assert_eq!(purged, 25 + 25 + 25 + 1);
    for (table, left) in [
        ("grantor_tokens", 1),
        ("grantor_grants", 0),
        ("grantor_consent_grants", 0),
    ] {
        let count: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(pool)
                .await
                .unwrap();
        assert_eq!(count, left, "{table}");
    }
}

// C-SE-3: concurrent writes share their transaction and commit on SQLite. Whatever happens to
// the others of its batch — one failing in the database (a trigger refuses the tokens of the
// client `doomed`), one abandoned midway (its task aborted) — a write reports success exactly
// when its tokens are stored, seen from another connection; and writing goes on afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_are_stored_exactly_when_they_report_success() {
    use grantor::Clock;
    let db = TempDb::new();
    let storage = db.open().await;
    sqlx::query(
        "CREATE TRIGGER doomed BEFORE INSERT ON grantor_tokens WHEN NEW.client_id = 'doomed' \
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
    )
    .execute(storage.pool())
    .await
    .unwrap();
    let now = grantor::SystemClock.now();
    let mut writes = Vec::new();
    let mut abandoned = Vec::new();
    for round in 0..20 {
        for i in 0..12 {
            let client = if i == 5 { "doomed" } else { "app" };
            let tokens = tokens_of(client, now);
            let digest = tokens.access.digest;
            let storage = storage.clone();
            let task = tokio::spawn(async move { storage.save_tokens(tokens).await });
            if i == 7 && round % 2 == 0 {
                abandoned.push(task);
            } else {
                writes.push((client, digest, task));
            }
        }
        tokio::task::yield_now().await;
        for task in abandoned.drain(..) {
            task.abort();
        }
    }
    let reader = db.open().await;
    let (mut stored, mut failed) = (0, 0);
    for (client, digest, task) in writes {
        let result = task.await.unwrap();
        let found = reader.access_token(&digest, now).await.unwrap();
        match result {
            Ok(true) => {
                assert!(found.is_some(), "reported stored, but absent");
                assert_eq!(client, "app");
                stored += 1;
            }
            Ok(false) => panic!("a fresh grant is not revoked"),
            Err(_) => {
                assert!(found.is_none(), "reported failed, but stored");
                failed += 1;
            }
        }
    }
    assert!(stored > 0, "no write succeeded");
    assert!(failed >= 20, "each doomed write fails: {failed}");
    let after = tokens_of("app", now);
    let digest = after.access.digest;
    assert!(storage.save_tokens(after).await.unwrap());
    assert!(reader.access_token(&digest, now).await.unwrap().is_some());
    // No batch was left open (it would hold the file's write lock): another pool, whose
    // writes meet that lock, writes at once.
    assert!(reader.save_tokens(tokens_of("app", now)).await.unwrap());
}

// C-SE-3: an exchange that finds nothing only read: it answers at once and leaves no open
// transaction behind (whose write lock would keep every other connection from writing).
#[tokio::test]
async fn an_exchange_that_finds_nothing_holds_no_lock() {
    use grantor::storage::{Decision, Exchange, ExchangeKind};
    let db = TempDb::new();
    let storage = db.open().await;
    let other = db.open().await;
    let now = grantor::Timestamp::from_secs(1_800_000_000);
    let unknown = grantor::AccessToken::generate().digest();
    let exchanged = storage
        .exchange(
            ExchangeKind::REFRESH_TOKEN,
            &unknown,
            now,
            |_| -> Decision { unreachable!("no record to decide on") },
        )
        .await
        .unwrap();
    assert_eq!(exchanged, Exchange::Unknown);
    let written = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        other.save_tokens(tokens_of("app", now)),
    )
    .await
    .expect("another connection waited for a lock the exchange left");
    assert!(written.unwrap());
}

// C-BR-5, C-RV-1, C-IN-1: with the client and token caches on, a revocation or a deletion holds
// at once on its instance, and on another after the cache's lifetime.
#[tokio::test]
async fn caches_follow_changes_on_their_instance() {
    let db = TempDb::new();
    let lifetime = std::time::Duration::from_millis(300);
    let cached = || async {
        db.open()
            .await
            .with_client_cache(lifetime)
            .with_token_cache(lifetime)
    };
    caches_follow_changes(cached().await, cached().await, lifetime).await;
}
