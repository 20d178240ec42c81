//! Server-level scenarios the SQL backends share: issuing tokens through the code flow,
//! checking them at a server, dumping tables for clear secrets (C-SE-1), and failures of the
//! database in the middle of a request.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use grantor::storage::sqlx::{self, AssertSqlSafe, ColumnIndex, Database, Decode, Pool, Row, Type};
use grantor::{ConfigBuilder, Digest, Error, OwnerId, Requirement, Storage};

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
        config.on_internal_error(move |error| {
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
    "grantor_codes",
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
