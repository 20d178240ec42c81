//! [`PostgresStorage`]: the storage conformance suite, two server instances sharing one
//! database, a database failing mid-request, and a table dump free of clear secrets.
//!
//! The tests run against the database named by `GRANTOR_TEST_POSTGRES_URL` (for example
//! `postgres://postgres@127.0.0.1:5432/test`), each in a schema of its own that it drops at the
//! end; without the variable each says on the terminal (past the harness's output capture)
//! that it was skipped, and passes.
#![cfg(all(feature = "postgres", feature = "testkit"))]

mod common;
mod storage_scenarios;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use grantor::storage::sqlx;
use grantor::storage::sqlx::postgres::PgPoolOptions;
use grantor::storage::{
    Decision, Exchange, ExchangeKind, ExchangeRecord, GrantId, NewTokens, RecordData, StoredRecord,
    StoredToken, TokenRecord, TokenStore,
};
use grantor::{AccessToken, ClientId, OwnerId, RefreshToken, ScopeSet, Timestamp};

use common::*;
use storage_scenarios::*;

use common::postgres::{ExecuteSql, TestSchema};

// C-SE-1, C-SE-4, C-TK-5, C-TK-11, C-KY-3: the PostgreSQL store keeps the whole Storage
// contract, and its optional stores theirs (shared by every instance of a fleet).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_storage_passes_the_testkit() {
    let Some(schema) = TestSchema::create("postgres_storage_passes_the_testkit").await else {
        return;
    };
    grantor::storage::testkit::run(schema.storage().await).await;
    grantor::storage::testkit::replay_cache(schema.storage().await).await;
    grantor::storage::testkit::key_store(schema.storage().await).await;
    grantor::storage::testkit::consent_store(schema.storage().await).await;
    grantor::storage::testkit::client_deletion(schema.storage().await).await;
    schema.drop().await;
}

// C-TK-5, C-TK-11: upgrading a database keeps what it held: pending and redeemed codes, live
// and rotated refresh tokens move to the open core's tables and mean what they meant.
#[tokio::test]
async fn an_upgraded_database_keeps_its_codes_and_refresh_tokens() {
    let test = "an_upgraded_database_keeps_its_codes_and_refresh_tokens";
    let Some(schema) = TestSchema::create(test).await else {
        return;
    };
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(schema.options())
        .await
        .unwrap();
    migrator("migrations/postgres")
        .await
        .run_to(FIRST_MIGRATION, &pool)
        .await
        .unwrap();
    insert_legacy_rows(&pool).await;
    pool.close().await;

    let fx = Fixture::with_storage(schema.storage().await, |c| c).await;
    assert_legacy_rows_upgraded(&fx).await;
    fx.storage().pool().close().await;
    schema.drop().await;
}

// C-SE-4, C-TK-5: two servers on one database act as one: a token issued by one is valid at
// the other, a code redeemed at both at once succeeds exactly once, and a revocation at one
// (the replayed code) is seen at the other.
// C-OB-3: a fleet's limiter shares its failure counts in the database.
#[tokio::test]
async fn the_sql_limiter_is_shared_through_the_database() {
    let Some(schema) = TestSchema::create("the_sql_limiter_is_shared_through_the_database").await
    else {
        return;
    };
    shared_limiter(schema.storage().await, schema.storage().await).await;
    schema.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_share_one_database() {
    let Some(schema) = TestSchema::create("two_servers_share_one_database").await else {
        return;
    };
    let a = Fixture::with_storage(schema.storage().await, |c| c).await;
    let b = Fixture::with_storage(schema.storage().await, |c| c).await;

    let issued = issue(&a).await;
    assert_valid(&b, &issued.access).await;

    for _ in 0..8 {
        let code = a.app_code().await;
        let (at_a, at_b) = tokio::join!(a.redeem_app_code(&code), b.redeem_app_code(&code));
        let (winner, loser) = match (at_a.status().as_u16(), at_b.status().as_u16()) {
            (200, _) => (at_a, at_b),
            (_, 200) => (at_b, at_a),
            _ => panic!("no redemption succeeded: {}", body_text(&at_a)),
        };
        assert_error(&loser, 400, "invalid_grant");
        // The loser saw a replay and revoked the grant: the winner's token is dead everywhere.
        let token = json(&winner)["access_token"].as_str().unwrap().to_owned();
        assert_invalid(&a, &token).await;
        assert_invalid(&b, &token).await;
    }

    // A revocation at B (the code's replay) is seen at A.
    assert_valid(&a, &issued.access).await;
    let replay = b.redeem_app_code(&issued.code).await;
    assert_error(&replay, 400, "invalid_grant");
    assert_invalid(&a, &issued.access).await;

    a.storage().pool().close().await;
    b.storage().pool().close().await;
    schema.drop().await;
}

// C-SE-1: a dump of every grantor table holds digests, never a secret in clear.
#[tokio::test]
async fn a_table_dump_holds_no_clear_secret() {
    let Some(schema) = TestSchema::create("a_table_dump_holds_no_clear_secret").await else {
        return;
    };
    let fx = Fixture::with_storage(schema.storage().await, |c| c).await;
    let issued = issue(&fx).await;
    let dump = dump(fx.storage().pool()).await;
    assert_no_clear_secret(&dump, &issued);
    fx.storage().pool().close().await;
    schema.drop().await;
}

// C-SE-3: a failure in the middle of a code exchange (the token insert fails after the code
// was marked redeemed) is a server_error that leaves the code unspent.
#[tokio::test]
async fn a_failure_mid_exchange_leaves_no_half_issued_grant() {
    let test = "a_failure_mid_exchange_leaves_no_half_issued_grant";
    let Some(schema) = TestSchema::create(test).await else {
        return;
    };
    let errors = Arc::new(AtomicUsize::new(0));
    let fx = Fixture::with_storage(schema.storage().await, counting(&errors)).await;
    let issued = issue(&fx).await;
    let code = fx.app_code().await;
    let pool = fx.storage().pool();
    pool.execute_sql(
        "CREATE FUNCTION fail_token_insert() RETURNS trigger LANGUAGE plpgsql \
         AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$",
    )
    .await;
    pool.execute_sql(
        "CREATE TRIGGER fail_token_insert BEFORE INSERT ON grantor_tokens \
         FOR EACH ROW EXECUTE FUNCTION fail_token_insert()",
    )
    .await;
    let response = fx.redeem_app_code(&code).await;
    assert_error(&response, 500, "server_error");
    assert_eq!(errors.load(Ordering::SeqCst), 1);

    pool.execute_sql("DROP TRIGGER fail_token_insert ON grantor_tokens")
        .await;
    assert_recovered(&fx, &code, &issued.access).await;
    fx.storage().pool().close().await;
    schema.drop().await;
}

// C-SE-3: when the database drops the server's connections (pg_terminate_backend), requests
// are a server_error; once connections are back nothing was lost or half-done.
#[tokio::test]
async fn terminated_connections_are_a_server_error_and_recover() {
    let test = "terminated_connections_are_a_server_error_and_recover";
    let Some(schema) = TestSchema::create(test).await else {
        return;
    };
    let errors = Arc::new(AtomicUsize::new(0));
    // No check before handing out a connection, so the request meets the dead one.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false);
    let fx = Fixture::with_storage(schema.storage_with(pool).await, counting(&errors)).await;
    let issued = issue(&fx).await;
    let code = fx.app_code().await;
    assert_eq!(terminate_connections(&schema).await, [true]);
    // The pool may notice the dead connection and open a new one; the database must be gone
    // for that one too, so the schema holding grantor's tables goes away until the test is done.
    let away = format!("{}_away", schema.name);
    schema
        .admin
        .execute_sql(&format!("ALTER SCHEMA {} RENAME TO {away}", schema.name))
        .await;

    let response = fx.redeem_app_code(&code).await;
    schema
        .admin
        .execute_sql(&format!("ALTER SCHEMA {away} RENAME TO {}", schema.name))
        .await;
    assert_error(&response, 500, "server_error");
    assert_eq!(errors.load(Ordering::SeqCst), 1);

    let back = Fixture::with_storage(schema.storage().await, |c| c).await;
    assert_recovered(&back, &code, &issued.access).await;
    fx.storage().pool().close().await;
    back.storage().pool().close().await;
    schema.drop().await;
}

/// Tokens of `grant` (an access token and a refresh token) issued at [`START`].
fn tokens(grant: GrantId) -> NewTokens {
    let record = TokenRecord::new(
        grant,
        ClientId::new(APP).unwrap(),
        Some(OwnerId::new("alice")),
        ScopeSet::parse("read").unwrap(),
        Timestamp::from_secs(START),
        Timestamp::from_secs(START + 3_600),
    );
    let refresh = ExchangeRecord::new(
        ExchangeKind::REFRESH_TOKEN,
        grant,
        record.expires_at,
        RecordData::new(record.clone()),
    );
    NewTokens::new(
        StoredToken::new(AccessToken::generate().digest(), record),
        Some(StoredRecord::new(
            RefreshToken::generate().digest(),
            refresh,
        )),
    )
}

// C-TK-11: a revocation that starts while a refresh exchange holds its token (and so must wait
// for it) still revokes the tokens that exchange adds. The exchange is held inside its
// transaction until PostgreSQL shows the revocation waiting on its lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_waiting_on_a_refresh_exchange_revokes_its_tokens() {
    let test = "a_revocation_waiting_on_a_refresh_exchange_revokes_its_tokens";
    let Some(schema) = TestSchema::create(test).await else {
        return;
    };
    let storage = Arc::new(schema.storage().await);
    let grant = GrantId::generate();
    let first = tokens(grant);
    storage.save_tokens(first.clone()).await.unwrap();
    let refresh = first.refresh.clone().unwrap();
    let second = tokens(grant);

    let (inside, entered) = std::sync::mpsc::channel();
    let (release, go) = std::sync::mpsc::channel::<()>();
    let exchange = {
        let storage = storage.clone();
        let second = second.clone();
        let now = Timestamp::from_secs(START + 1);
        tokio::spawn(async move {
            storage
                .exchange(
                    ExchangeKind::REFRESH_TOKEN,
                    &refresh.digest,
                    now,
                    move |record: &ExchangeRecord| {
                        inside.send(()).unwrap();
                        go.recv().unwrap();
                        Decision::issue(second).with_record(record.spend(record.expires_at))
                    },
                )
                .await
        })
    };
    tokio::task::spawn_blocking(move || entered.recv().unwrap())
        .await
        .unwrap();
    let revocation = {
        let storage = storage.clone();
        tokio::spawn(async move { storage.revoke_grant(&grant).await })
    };
    // Wait until the revocation is blocked on the refresh token's row lock (the bound only
    // turns a hang into a failure).
    for attempt in 0.. {
        assert!(
            attempt < 10_000,
            "the revocation never waited for the exchange"
        );
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE application_name = $1 AND wait_event_type = 'Lock'",
        )
        .bind(&schema.name)
        .fetch_one(&schema.admin)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    release.send(()).unwrap();
    let exchanged = exchange.await.unwrap().unwrap();
    assert!(matches!(exchanged, Exchange::Issued), "{exchanged:?}");
    revocation.await.unwrap().unwrap();

    let now = Timestamp::from_secs(START + 2);
    for token in [&first, &second] {
        assert_eq!(
            storage
                .access_token(&token.access.digest, now)
                .await
                .unwrap(),
            None
        );
        let refresh = token.refresh.as_ref().unwrap();
        assert_eq!(
            storage
                .record(ExchangeKind::REFRESH_TOKEN, &refresh.digest)
                .await
                .unwrap(),
            None
        );
    }
    storage.pool().close().await;
    schema.drop().await;
}

// `purge_expired` deletes in batches (each its own transaction, so that requests wait for one
// batch at most) and goes on until every expired row is gone: here 25 tokens, 25 grants with
// a pair's record each, and an orphaned record, in batches of 10.
#[tokio::test]
async fn purge_expired_deletes_every_batch() {
    let Some(schema) = TestSchema::create("purge_expired_deletes_every_batch").await else {
        return;
    };
    let storage = schema.storage().await.with_purge_batch(10);
    let pool = storage.pool();
    for i in 0..25u8 {
        sqlx::query(
            "INSERT INTO grantor_tokens (digest, grant_id, client_id, scope, issued_at, \
             expires_at) VALUES ($1, $2, 'c', 'read', 1, 2)",
        )
        .bind(vec![i; 32])
        .bind(vec![i; 16])
        .execute(pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO grantor_grants (id, revoked, expires_at) VALUES ($1, FALSE, 2)")
            .bind(vec![i; 16])
            .execute(pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO grantor_consent_grants (owner, client_id, grant_id) \
             VALUES ('o', 'c', $1)",
        )
        .bind(vec![i; 16])
        .execute(pool)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO grantor_consent_grants (owner, client_id, grant_id) VALUES ('o', 'c', $1)",
    )
    .bind(vec![255u8; 16])
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO grantor_tokens (digest, grant_id, client_id, scope, issued_at, expires_at) \
         VALUES ($1, $2, 'c', 'read', 1, 1000)",
    )
    .bind(vec![200u8; 32])
    .bind(vec![200u8; 16])
    .execute(pool)
    .await
    .unwrap();

    let purged = storage
        .purge_expired(Timestamp::from_secs(10))
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
    storage.pool().close().await;
    schema.drop().await;
}

// C-BR-5, C-RV-1, C-IN-1: with the client and token caches on, a revocation or a deletion holds
// at once on its instance, and on another after the cache's lifetime.
#[tokio::test]
async fn caches_follow_changes_on_their_instance() {
    let Some(schema) = TestSchema::create("caches_follow_changes_on_their_instance").await else {
        return;
    };
    let lifetime = std::time::Duration::from_millis(300);
    let cached = || async {
        schema
            .storage()
            .await
            .with_client_cache(lifetime)
            .with_token_cache(lifetime)
    };
    caches_follow_changes(cached().await, cached().await, lifetime).await;
    schema.drop().await;
}

// C-SE-3: with grantor's pool settings, a connection that sat idle for a second is checked
// before it is handed out, so a request after the database dropped it (a restart, an idle
// timeout) gets a new connection and succeeds.
#[tokio::test]
async fn an_idle_connection_dropped_by_the_database_is_replaced_unseen() {
    let test = "an_idle_connection_dropped_by_the_database_is_replaced_unseen";
    let Some(schema) = TestSchema::create(test).await else {
        return;
    };
    let errors = Arc::new(AtomicUsize::new(0));
    let pool = grantor::storage::PostgresStorage::pool_options().max_connections(1);
    let fx = Fixture::with_storage(schema.storage_with(pool).await, counting(&errors)).await;
    let issued = issue(&fx).await;
    assert_eq!(terminate_connections(&schema).await, [true]);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_valid(&fx, &issued.access).await;
    assert_eq!(errors.load(Ordering::SeqCst), 0);
    fx.storage().pool().close().await;
    schema.drop().await;
}

/// Terminates the connections of `schema`'s storages (`pg_terminate_backend`); one `true` per
/// connection terminated.
async fn terminate_connections(schema: &TestSchema) -> Vec<bool> {
    sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(&schema.name)
    .fetch_all(&schema.admin)
    .await
    .unwrap()
}
