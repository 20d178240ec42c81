//! What the SQL backends share: the SQL they run, how records map to columns, and the one
//! implementation of the store traits that `sql_storage!` instantiates for each database.
//!
//! # How the exactly-once steps hold across processes
//!
//! [`TokenStore::exchange`](super::TokenStore::exchange) runs in one transaction that first
//! takes the lock it needs: on PostgreSQL the presented record is read with
//! `SELECT … FOR UPDATE`, so a racing exchange waits and then sees the record as the first one
//! left it; SQLite has one writer at a time and the transaction takes the write lock up front
//! (`BEGIN IMMEDIATE`). The record's new state and the new tokens commit together or not at
//! all. On SQLite, concurrent writes share one such transaction and its commit
//! ([`sql_batch`](super::sql_batch)); each sees the ones before it, as if they ran one after
//! the other.
//!
//! Adding records or tokens to a grant locks its `grantor_grants` row (an upsert that returns
//! `revoked`) and adds nothing if it is revoked. Revocation deletes the grant's records and
//! tokens — waiting there for any exchange that holds one of them, which keeps the lock order
//! of exchanges (record, then grant) and so cannot deadlock — then marks the grant revoked
//! (waiting for anyone adding to it), then deletes again. On PostgreSQL the second pass is what
//! removes tokens committed by an exchange the first pass waited for: a statement that waited
//! for a row lock does not see rows inserted meanwhile. After the flag, nothing more is added.
//!
//! Records keep their grant's data as JSON ([`RecordData::to_json`]), so a new kind of record
//! needs no new table or column.

use crate::authenticator::OwnerId;
use crate::client::{Client, ClientId, GrantType};
use crate::error::Error;
use crate::scope::ScopeSet;
use crate::storage::{Consent, ExchangeKind, ExchangeRecord, KeyRecord, RecordData, TokenRecord};
use crate::time::Timestamp;
use crate::token::Confirmation;
use crate::token::{Digest, GrantId};

pub(crate) const SELECT_CLIENT: &str = "SELECT id, name, secret_digest, redirect_uris, \
    grant_types, allowed_scopes, default_scopes, owner, owner_only, native, \
    introspects_any_token, metadata FROM grantor_clients WHERE id = $1";

pub(crate) const UPSERT_CLIENT: &str = "INSERT INTO grantor_clients (id, name, secret_digest, \
    redirect_uris, grant_types, allowed_scopes, default_scopes, owner, owner_only, native, \
    introspects_any_token, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
    ON CONFLICT (id) DO UPDATE SET name = excluded.name, secret_digest = excluded.secret_digest, \
    redirect_uris = excluded.redirect_uris, grant_types = excluded.grant_types, \
    allowed_scopes = excluded.allowed_scopes, default_scopes = excluded.default_scopes, \
    owner = excluded.owner, owner_only = excluded.owner_only, native = excluded.native, \
    introspects_any_token = excluded.introspects_any_token, metadata = excluded.metadata";

pub(crate) const DELETE_CLIENT: &str = "DELETE FROM grantor_clients WHERE id = $1";

macro_rules! client_grants {
    ($records_client_id:literal) => {
        concat!(
            "SELECT grant_id FROM grantor_tokens WHERE client_id = $1 UNION \
             SELECT grant_id FROM grantor_records WHERE ",
            $records_client_id,
            " = $1"
        )
    };
}

/// The grants of a client's access tokens and exchange records (whose JSON data names the
/// client in `client_id`), on SQLite.
#[cfg(feature = "sqlite")]
pub(crate) const SELECT_CLIENT_GRANTS_SQLITE: &str =
    client_grants!("json_extract(data, '$.client_id')");
/// The grants of a client's access tokens and exchange records, on PostgreSQL.
#[cfg(feature = "postgres")]
pub(crate) const SELECT_CLIENT_GRANTS_POSTGRES: &str =
    client_grants!("(data::json ->> 'client_id')");

/// What a deleted client leaves besides its grants: its remembered consent.
pub(crate) const FORGET_CLIENT: [&str; 2] = [
    "DELETE FROM grantor_consents WHERE client_id = $1",
    "DELETE FROM grantor_consent_grants WHERE client_id = $1",
];

/// Creates the grant's row or extends its lifetime, locking it; returns whether it is revoked.
pub(crate) const UPSERT_GRANT: &str = "INSERT INTO grantor_grants (id, revoked, expires_at) \
    VALUES ($1, FALSE, $2) \
    ON CONFLICT (id) DO UPDATE SET expires_at = CASE \
    WHEN excluded.expires_at > grantor_grants.expires_at THEN excluded.expires_at \
    ELSE grantor_grants.expires_at END \
    RETURNING revoked";

pub(crate) const INSERT_RECORD: &str = "INSERT INTO grantor_records (digest, kind, grant_id, \
    data, expires_at, spent, retain_until) VALUES ($1, $2, $3, $4, $5, $6, $7)";

macro_rules! select_record {
    () => {
        "SELECT grant_id, data, expires_at, spent, retain_until FROM grantor_records \
         WHERE digest = $1 AND kind = $2"
    };
}

/// Reads a record of a kind (SQLite exchanges: inside a `BEGIN IMMEDIATE` transaction, which
/// already excludes writers).
pub(crate) const SELECT_RECORD: &str = select_record!();
/// Reads and locks a record of a kind (PostgreSQL exchanges).
#[cfg(feature = "postgres")]
pub(crate) const SELECT_RECORD_FOR_UPDATE: &str = concat!(select_record!(), " FOR UPDATE");

/// Writes a record's new state after an exchange.
pub(crate) const UPDATE_RECORD: &str = "UPDATE grantor_records SET data = $2, expires_at = $3, \
    spent = $4, retain_until = $5 WHERE digest = $1";

pub(crate) const INSERT_TOKEN: &str = "INSERT INTO grantor_tokens (digest, grant_id, \
    client_id, owner, scope, issued_at, expires_at, confirmation, openid, resources, actor) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

/// [`TokenStore::save_tokens`](super::TokenStore::save_tokens), and the writes of an exchange
/// that issues tokens, in one statement (PostgreSQL, whose statements may write through
/// several `WITH` clauses): the exchanged record's new state is written (`$19`…, nothing when
/// `$19` is NULL; the exchange already holds its row's lock), the grant's row is created or
/// extended and locked as by [`UPSERT_GRANT`], and the access token (`$3`…) and the refresh
/// token's record (`$12`…, absent when `$12` is NULL) are inserted unless the grant is
/// revoked; answers whether they were. One round trip instead of up to seven, with the same
/// locks in the same order.
#[cfg(feature = "postgres")]
pub(crate) const SAVE_TOKENS_POSTGRES: &str = "WITH exchanged AS ( \
    UPDATE grantor_records SET data = $20, expires_at = $21, spent = $22, retain_until = $23 \
    WHERE $19::BYTEA IS NOT NULL AND digest = $19), \
    grant_row AS ( \
    INSERT INTO grantor_grants (id, revoked, expires_at) VALUES ($1, FALSE, $2) \
    ON CONFLICT (id) DO UPDATE SET expires_at = \
    GREATEST(grantor_grants.expires_at, excluded.expires_at) RETURNING revoked), \
    access AS (INSERT INTO grantor_tokens (digest, grant_id, client_id, owner, scope, \
    issued_at, expires_at, confirmation, openid, resources, actor) \
    SELECT $3, $1, $4, $5, $6, $7, $8, $9, $10, $11, $17 FROM grant_row WHERE NOT revoked), \
    refresh AS (INSERT INTO grantor_records (digest, kind, grant_id, data, expires_at, spent, \
    retain_until) SELECT $12, $13, $1, $14, $15, $16, $18 FROM grant_row \
    WHERE NOT revoked AND $12::BYTEA IS NOT NULL) \
    SELECT NOT revoked FROM grant_row";

/// How long a pooled connection may sit idle before it is checked again when handed out.
pub(crate) const CHECK_IDLE_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// Reads an access token.
pub(crate) const SELECT_TOKEN: &str = "SELECT grant_id, client_id, owner, scope, issued_at, \
    expires_at, confirmation, openid, resources, actor FROM grantor_tokens WHERE digest = $1";

pub(crate) const DELETE_ACCESS_TOKEN: &str = "DELETE FROM grantor_tokens WHERE digest = $1";

/// The steps of [`TokenStore::revoke_grant`](super::TokenStore::revoke_grant), in this order
/// (see the module docs for why the deletes run twice).
pub(crate) const REVOKE_GRANT: [&str; 5] = [
    "DELETE FROM grantor_records WHERE grant_id = $1",
    "DELETE FROM grantor_tokens WHERE grant_id = $1",
    "UPDATE grantor_grants SET revoked = TRUE WHERE id = $1",
    "DELETE FROM grantor_records WHERE grant_id = $1",
    "DELETE FROM grantor_tokens WHERE grant_id = $1",
];

/// The steps of [`TokenStore::purge_expired`](super::TokenStore::purge_expired) but the
/// grants': each deletes at most `$2` expired rows (found through the table's expiry index) and
/// runs again until it deletes fewer, so that no statement holds its locks for long.
pub(crate) const PURGE_EXPIRED: [&str; 5] = [
    "DELETE FROM grantor_limits WHERE (key, bucket) IN (SELECT key, bucket FROM grantor_limits \
     WHERE expires_at <= $1 LIMIT $2)",
    "DELETE FROM grantor_records WHERE digest IN (SELECT digest FROM grantor_records \
     WHERE retain_until <= $1 AND expires_at <= $1 LIMIT $2)",
    "DELETE FROM grantor_tokens WHERE digest IN (SELECT digest FROM grantor_tokens \
     WHERE expires_at <= $1 LIMIT $2)",
    "DELETE FROM grantor_replays WHERE key IN (SELECT key FROM grantor_replays \
     WHERE expires_at <= $1 LIMIT $2)",
    "DELETE FROM grantor_consents WHERE (owner, client_id) IN (SELECT owner, client_id \
     FROM grantor_consents WHERE expires_at <= $1 LIMIT $2)",
];

/// A batch of expired grants, in an order both statements of a batch agree on.
macro_rules! expired_grants {
    () => {
        "SELECT id FROM grantor_grants WHERE expires_at <= $1 ORDER BY expires_at, id LIMIT $2"
    };
}

/// A batch of expired grants goes in one transaction: first the pairs' records of them, then
/// the grants' rows (the expiry of a grant's row is the last of its records', so no record
/// is left to it).
pub(crate) const PURGE_GRANTS: [&str; 2] = [
    concat!(
        "DELETE FROM grantor_consent_grants WHERE grant_id IN (",
        expired_grants!(),
        ")"
    ),
    concat!(
        "DELETE FROM grantor_grants WHERE id IN (",
        expired_grants!(),
        ")"
    ),
];

/// The last step of [`TokenStore::purge_expired`](super::TokenStore::purge_expired), in
/// batches of `$1`: a pair's record of a grant that has no row (any more).
pub(crate) const PURGE_CONSENT_GRANTS: &str = "DELETE FROM grantor_consent_grants \
    WHERE (owner, client_id, grant_id) IN (SELECT owner, client_id, grant_id \
    FROM grantor_consent_grants WHERE NOT EXISTS (SELECT 1 FROM grantor_grants \
    WHERE grantor_grants.id = grantor_consent_grants.grant_id) LIMIT $1)";

/// The failures of a limiter key in buckets after the window's start.
pub(crate) const COUNT_FAILURES: &str = "SELECT CAST(COALESCE(SUM(failures), 0) AS BIGINT) \
    FROM grantor_limits WHERE key = $1 AND bucket > $2";

/// Counts one failure of a limiter key in its bucket.
pub(crate) const ADD_FAILURE: &str = "INSERT INTO grantor_limits (key, bucket, failures, \
    expires_at) VALUES ($1, $2, 1, $3) ON CONFLICT (key, bucket) \
    DO UPDATE SET failures = grantor_limits.failures + 1";

pub(crate) const SELECT_KEYS: &str = "SELECT kid, alg, private_jwk, published_at, signs_from, \
    retires_at, removed_at FROM grantor_keys ORDER BY signs_from, kid";

pub(crate) const UPSERT_KEY: &str = "INSERT INTO grantor_keys (kid, alg, private_jwk, \
    published_at, signs_from, retires_at, removed_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
    ON CONFLICT (kid) DO UPDATE SET alg = excluded.alg, private_jwk = excluded.private_jwk, \
    published_at = excluded.published_at, signs_from = excluded.signs_from, \
    retires_at = excluded.retires_at, removed_at = excluded.removed_at";

pub(crate) const DELETE_KEY: &str = "DELETE FROM grantor_keys WHERE kid = $1";

pub(crate) const SELECT_CONSENT: &str = "SELECT scope, resources, granted_at, expires_at \
    FROM grantor_consents WHERE owner = $1 AND client_id = $2";

pub(crate) const UPSERT_CONSENT: &str = "INSERT INTO grantor_consents (owner, client_id, \
    scope, granted_at, expires_at, resources) VALUES ($1, $2, $3, $4, $5, $6) \
    ON CONFLICT (owner, client_id) DO UPDATE SET scope = excluded.scope, \
    resources = excluded.resources, \
    granted_at = excluded.granted_at, expires_at = excluded.expires_at";

/// Records a grant of a pair.
pub(crate) const RECORD_CONSENT_GRANT: &str = "INSERT INTO grantor_consent_grants (owner, \
    client_id, grant_id) VALUES ($1, $2, $3) ON CONFLICT (owner, client_id, grant_id) DO NOTHING";

pub(crate) const SELECT_CONSENT_GRANTS: &str = "SELECT grant_id FROM grantor_consent_grants \
    WHERE owner = $1 AND client_id = $2";

pub(crate) const FORGET_CONSENT: [&str; 2] = [
    "DELETE FROM grantor_consents WHERE owner = $1 AND client_id = $2",
    "DELETE FROM grantor_consent_grants WHERE owner = $1 AND client_id = $2",
];

/// Records a one-time identifier, or renews one that has expired; affects no row when the
/// identifier is recorded and live: a replay.
pub(crate) const FIRST_USE: &str = "INSERT INTO grantor_replays (key, expires_at) \
    VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at \
    WHERE grantor_replays.expires_at <= $3";

/// The table that records which of grantor's migrations a database has: its own, so that the
/// host's sqlx migrations (`_sqlx_migrations`) and grantor's never see each other's versions.
pub(crate) const MIGRATIONS_TABLE: &str = "grantor_migrations";

/// grantor's migrations for one database, recorded in [`MIGRATIONS_TABLE`].
pub(crate) fn migrator(mut migrator: sqlx::migrate::Migrator) -> sqlx::migrate::Migrator {
    // "Dangerous" only when an existing database moves from one table to another; grantor
    // has always used this one.
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator
}

/// Wraps a database error.
pub(crate) fn db(error: sqlx::Error) -> Error {
    Error::storage(error)
}

/// A timestamp as a SQL `BIGINT` (saturating: [`Timestamp::MAX`] is stored as `i64::MAX`).
pub(crate) fn secs(t: Timestamp) -> i64 {
    i64::try_from(t.as_secs()).unwrap_or(i64::MAX)
}

fn timestamp(secs: i64) -> Timestamp {
    Timestamp::from_secs(u64::try_from(secs).unwrap_or(0))
}

fn corrupt(what: &str) -> Error {
    Error::storage(format!("corrupt {what} in the database"))
}

/// A 32-byte digest read from a column.
pub(crate) fn digest(bytes: &[u8]) -> Result<Digest, Error> {
    <[u8; 32]>::try_from(bytes)
        .map(Digest::from_bytes)
        .map_err(|_| corrupt("digest"))
}

fn grant_id(bytes: &[u8]) -> Result<GrantId, Error> {
    <[u8; 16]>::try_from(bytes)
        .map(GrantId::from_bytes)
        .map_err(|_| corrupt("grant id"))
}

fn client_id(text: &str) -> Result<ClientId, Error> {
    text.parse().map_err(|_| corrupt("client id"))
}

fn scope(text: &str) -> Result<ScopeSet, Error> {
    ScopeSet::parse(text).map_err(|_| corrupt("scope"))
}

/// An optional value as a JSON column.
pub(crate) fn json_column<T: serde::Serialize>(value: Option<&T>) -> Result<Option<String>, Error> {
    value
        .map(serde_json::to_string)
        .transpose()
        .map_err(Error::storage)
}

/// The JSON columns of tokens to store, serialized before any statement runs, so that a
/// write of several statements fails in the database or not at all.
pub(crate) struct TokensJson {
    /// The access token's `confirmation` column.
    pub(crate) confirmation: Option<String>,
    /// The access token's `openid` column.
    pub(crate) openid: Option<String>,
    /// The access token's `resources` column (none when it names no resource).
    pub(crate) resources: Option<String>,
    /// The access token's `actor` column.
    pub(crate) actor: Option<String>,
    /// The refresh token record's `data` column, if the tokens have one.
    pub(crate) refresh: Option<String>,
}

impl TokensJson {
    pub(crate) fn of(tokens: &crate::storage::NewTokens) -> Result<Self, Error> {
        let record = &tokens.access.record;
        let refresh = match &tokens.refresh {
            Some(refresh) => Some(refresh.record.data.to_json()?.into_owned()),
            None => None,
        };
        Ok(Self {
            confirmation: json_column(record.confirmation.as_ref())?,
            openid: json_column(record.openid.as_ref())?,
            resources: json_column(Some(&record.resources).filter(|r| !r.is_empty()))?,
            actor: json_column(record.actor.as_ref())?,
            refresh,
        })
    }
}

/// An optional JSON column as a value.
fn from_json_column<T: serde::de::DeserializeOwned>(
    json: Option<&str>,
    what: &str,
) -> Result<Option<T>, Error> {
    json.map(serde_json::from_str)
        .transpose()
        .map_err(|_| corrupt(what))
}

/// A grant id read from a column.
pub(crate) fn grant_id_column(bytes: &[u8]) -> Result<GrantId, Error> {
    grant_id(bytes)
}

/// A row of `grantor_keys`.
#[derive(sqlx::FromRow)]
pub(crate) struct KeyRow {
    kid: String,
    alg: String,
    private_jwk: String,
    published_at: i64,
    signs_from: i64,
    retires_at: Option<i64>,
    removed_at: Option<i64>,
}

impl KeyRow {
    pub(crate) fn record(self) -> KeyRecord {
        let mut key = KeyRecord::new(
            self.kid,
            self.alg,
            self.private_jwk,
            timestamp(self.published_at),
            timestamp(self.signs_from),
        );
        key.retires_at = self.retires_at.map(timestamp);
        key.removed_at = self.removed_at.map(timestamp);
        key
    }
}

/// A row of `grantor_consents`, read for the owner and client the query named.
#[derive(sqlx::FromRow)]
pub(crate) struct ConsentRow {
    scope: String,
    resources: Option<String>,
    granted_at: i64,
    expires_at: Option<i64>,
}

impl ConsentRow {
    pub(crate) fn consent(self, owner: &OwnerId, client_id: &ClientId) -> Result<Consent, Error> {
        let resources =
            from_json_column(self.resources.as_deref(), "consent resources")?.unwrap_or_default();
        Ok(Consent::new(
            owner.clone(),
            client_id.clone(),
            scope(&self.scope)?,
            timestamp(self.granted_at),
            self.expires_at.map(timestamp),
        )
        .for_resources(resources))
    }
}

/// A row of `grantor_clients`.
#[derive(sqlx::FromRow)]
pub(crate) struct ClientRow {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) secret_digest: Option<Vec<u8>>,
    pub(crate) redirect_uris: String,
    pub(crate) grant_types: String,
    pub(crate) allowed_scopes: String,
    pub(crate) default_scopes: String,
    pub(crate) owner: Option<String>,
    pub(crate) owner_only: bool,
    pub(crate) native: bool,
    pub(crate) introspects_any_token: bool,
    pub(crate) metadata: String,
}

impl ClientRow {
    pub(crate) fn from_client(client: &Client) -> Result<Self, Error> {
        let uris: Vec<&str> = client.redirect_uris().iter().map(|u| u.as_str()).collect();
        let grant_types: Vec<&str> = client.grant_types().iter().map(|g| g.as_str()).collect();
        Ok(Self {
            id: client.id().as_str().to_owned(),
            name: client.name().to_owned(),
            secret_digest: client.secret_digest().map(|d| d.as_bytes().to_vec()),
            redirect_uris: serde_json::to_string(&uris).map_err(Error::storage)?,
            grant_types: grant_types.join(" "),
            allowed_scopes: client.allowed_scopes().to_string(),
            default_scopes: client.default_scopes().to_string(),
            owner: client.owner().map(|o| o.as_str().to_owned()),
            owner_only: client.is_owner_only(),
            native: client.is_native(),
            introspects_any_token: client.introspects_any_token(),
            metadata: serde_json::to_string(client.profile()).map_err(Error::storage)?,
        })
    }

    pub(crate) fn into_client(self) -> Result<Client, Error> {
        let mut builder = match &self.secret_digest {
            Some(bytes) => Client::with_secret_digest(&self.id, digest(bytes)?),
            None => Client::public(&self.id),
        };
        let uris: Vec<String> =
            serde_json::from_str(&self.redirect_uris).map_err(|_| corrupt("redirect URIs"))?;
        for uri in uris {
            builder = builder.redirect_uri(uri);
        }
        let grant_types = self
            .grant_types
            .split_whitespace()
            .map(str::parse::<GrantType>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| corrupt("grant types"))?;
        builder = builder
            .name(self.name)
            .grant_types(grant_types)
            .allowed_scopes(self.allowed_scopes)
            .default_scopes(self.default_scopes)
            .owner_only(self.owner_only)
            .native(self.native)
            .introspects_any_token(self.introspects_any_token);
        if let Some(owner) = self.owner {
            builder = builder.owner(OwnerId::new(owner));
        }
        let profile =
            serde_json::from_str(&self.metadata).map_err(|_| corrupt("client metadata"))?;
        builder
            .profile(profile)
            .build()
            .map_err(|_| corrupt("client"))
    }
}

/// A row of `grantor_records`, read for a kind the query named.
#[derive(sqlx::FromRow)]
pub(crate) struct RecordRow {
    grant_id: Vec<u8>,
    data: String,
    expires_at: i64,
    spent: bool,
    retain_until: i64,
}

impl RecordRow {
    pub(crate) fn record(self, kind: ExchangeKind) -> Result<ExchangeRecord, Error> {
        let mut record = ExchangeRecord::new(
            kind,
            grant_id(&self.grant_id)?,
            timestamp(self.expires_at),
            RecordData::from_json(self.data),
        );
        record.spent = self.spent;
        record.retain_until = timestamp(self.retain_until);
        Ok(record)
    }
}

/// A row of `grantor_tokens`: an access token.
#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    grant_id: Vec<u8>,
    client_id: String,
    owner: Option<String>,
    scope: String,
    issued_at: i64,
    expires_at: i64,
    confirmation: Option<String>,
    openid: Option<String>,
    resources: Option<String>,
    actor: Option<String>,
}

impl TokenRow {
    /// Whether the token is unexpired at `now`.
    pub(crate) fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at > secs(now)
    }

    pub(crate) fn record(&self) -> Result<TokenRecord, Error> {
        let mut record = TokenRecord::new(
            grant_id(&self.grant_id)?,
            client_id(&self.client_id)?,
            self.owner.as_deref().map(OwnerId::new),
            scope(&self.scope)?,
            timestamp(self.issued_at),
            timestamp(self.expires_at),
        );
        record.confirmation =
            from_json_column::<Confirmation>(self.confirmation.as_deref(), "confirmation")?;
        record.openid = from_json_column(self.openid.as_deref(), "OpenID context")?;
        record.resources =
            from_json_column(self.resources.as_deref(), "resources")?.unwrap_or_default();
        record.actor = from_json_column(self.actor.as_deref(), "actor")?;
        Ok(record)
    }
}

/// Binds the columns of an access-token record from `client_id` to `resources`, in table
/// order: the part of a token's row that the SQLite insert and PostgreSQL's one-statement save
/// bind alike (an expression of the query, whatever its kind).
macro_rules! bind_token_columns {
    ($query:expr, $record:expr, $json:expr) => {
        $query
            .bind($record.client_id.as_str())
            .bind($record.owner.as_ref().map(|o| o.as_str()))
            .bind($record.scope.to_string())
            .bind($crate::storage::sql::secs($record.issued_at))
            .bind($crate::storage::sql::secs($record.expires_at))
            .bind($json.confirmation)
            .bind($json.openid)
            .bind($json.resources)
    };
}
pub(crate) use bind_token_columns;

/// Implements a SQL storage backend over one sqlx database: the struct, its pool, migrations
/// and the store trait implementations. Everything that differs between the databases is a
/// parameter; everything else is written once, here.
macro_rules! sql_storage {
    (
        $(#[$doc:meta])*
        $name:ident {
            database: $db:ty,
            pool: $pool:ty,
            migrator: $migrator:expr,
            begin_write: $begin:expr,
            select_record_for_exchange: $select_record:expr,
            select_client_grants: $select_client_grants:expr,
            save_tokens_statement: $save_tokens:expr,
            serialize_writers: $serialize:expr,
            purge_batch: $purge_batch:expr,
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            pool: $pool,
            /// The writers' queue, where the database has one writer at a time (SQLite): a
            /// write waits here, in arrival order, instead of polling the database's lock, and
            /// concurrent writes share a commit (see [`sql_batch`](crate::storage::sql_batch)).
            writers: Option<std::sync::Arc<$crate::storage::sql_batch::WriteQueue<$db>>>,
            /// How many rows each statement of `purge_expired` deletes at most.
            purge_batch: i64,
            /// Clients read recently; `None`: every lookup reads the database.
            clients: Option<std::sync::Arc<$crate::storage::read_cache::ReadCache<String, $crate::Client>>>,
            /// Access tokens read recently, by digest; `None`: every lookup reads the database.
            tokens: Option<
                std::sync::Arc<
                    $crate::storage::read_cache::ReadCache<
                        [u8; 32],
                        std::sync::Arc<$crate::storage::TokenRecord>,
                    >,
                >,
            >,
        }

        impl $name {
            /// Uses an existing pool, first applying the migrations grantor ships (creating or
            /// upgrading its `grantor_*` tables).
            pub async fn from_pool(pool: $pool) -> Result<Self, $crate::Error> {
                $migrator.run(&pool).await.map_err($crate::Error::storage)?;
                let writers = $serialize
                    .then(|| std::sync::Arc::new($crate::storage::sql_batch::WriteQueue::new($begin)));
                Ok(Self { pool, writers, purge_batch: $purge_batch, clients: None, tokens: None })
            }

            /// The pool settings `open`/`connect` use, to start from when passing your own:
            /// sqlx's defaults, except that a connection is checked (pinged) before it is handed
            /// out only if it sat idle for a second or more. sqlx checks every connection it
            /// hands out by default: a round trip before every query, which under load found
            /// nothing (the connection had been used a moment before) and cost PostgreSQL a
            /// third of its work on a bearer validation. A connection broken while in use is
            /// dropped when it is returned (sqlx checks it then, whatever these settings).
            pub fn pool_options() -> sqlx::pool::PoolOptions<$db> {
                sqlx::pool::PoolOptions::new()
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for >= $crate::storage::sql::CHECK_IDLE_AFTER {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
            }

            /// The connection pool, e.g. to close it or to run the host's own queries.
            pub fn pool(&self) -> &$pool {
                &self.pool
            }

            /// Sets how many rows each statement of
            /// [`purge_expired`](crate::storage::TokenStore::purge_expired) deletes at most
            #[doc = concat!("(default ", stringify!($purge_batch), "; at least 1).")]
            /// Each batch is a transaction of its own, so requests wait at most for one batch.
            pub fn with_purge_batch(mut self, rows: u32) -> Self {
                self.purge_batch = i64::from(rows.max(1));
                self
            }

            /// Keeps each client read from the database for `lifetime`, so that a token request
            /// of a recently seen client skips one query. Saving or deleting a client through
            /// this storage (or a clone) takes effect at once on this instance; another
            /// instance sharing the database may serve a changed or deleted client until its
            /// own entry is `lifetime` old, so keep it short (a second) or leave it off in a
            /// fleet that deletes clients. Off by default; `Duration::ZERO` turns it off.
            pub fn with_client_cache(mut self, lifetime: std::time::Duration) -> Self {
                self.clients = (!lifetime.is_zero()).then(|| {
                    std::sync::Arc::new($crate::storage::read_cache::ReadCache::new(lifetime))
                });
                self
            }

            /// Keeps each access token read from the database for `lifetime`, so that a
            /// token presented again soon (bearer validation, introspection) skips its query;
            /// only tokens found are kept, and a kept token still expires on time. Revoking a
            /// token or a grant, or deleting a client, through this storage (or a clone) takes
            /// effect at once on this instance: no revoked token passes here once the call that
            /// revoked it has returned. Another instance sharing the database may accept a
            /// token it revoked until its own entry is `lifetime` old: keep it short (a second)
            /// or leave it off where a fleet must refuse a revoked token everywhere at once.
            /// Off by default; `Duration::ZERO` turns it off.
            pub fn with_token_cache(mut self, lifetime: std::time::Duration) -> Self {
                self.tokens = (!lifetime.is_zero()).then(|| {
                    std::sync::Arc::new($crate::storage::read_cache::ReadCache::new(lifetime))
                });
                self
            }

            /// Forgets every cached token (a grant's revocation: its tokens are not known here).
            fn forget_tokens(&self) {
                if let Some(cache) = self.tokens.as_deref() {
                    cache.clear();
                }
            }

            /// Between two batches of a purge, where writes are serialized (SQLite): waits as
            /// long as the batch took (at most 50 ms), so that writers of *other* processes,
            /// which poll the file's lock, get it between batches too. This process's own
            /// writers queue fairly with the purge anyway.
            async fn after_batch(&self, started: std::time::Instant) {
                if self.writers.is_some() {
                    let pause = started.elapsed().min(std::time::Duration::from_millis(50));
                    tokio::time::sleep(pause).await;
                }
            }

            /// Runs a purge statement (the query `batch` builds, deleting at most a batch of
            /// rows) until it deletes fewer than a batch, each run alone in its own turn;
            /// returns how many rows it deleted.
            async fn purge_batches<'q>(
                &self,
                batch: impl Fn() -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
            ) -> Result<u64, $crate::Error> {
                let full = u64::try_from(self.purge_batch).unwrap_or(1);
                let mut deleted = 0;
                loop {
                    let started = std::time::Instant::now();
                    let turn = self.write_turn().await?;
                    let n = batch()
                        .execute(&self.pool)
                        .await
                        .map_err($crate::storage::sql::db)?
                        .rows_affected();
                    drop(turn);
                    deleted += n;
                    if n < full {
                        return Ok(deleted);
                    }
                    self.after_batch(started).await;
                }
            }

            /// Waits for this process's turn to write alone, where writes are serialized: any
            /// open batch of writes is committed first.
            async fn write_turn(
                &self,
            ) -> Result<
                Option<tokio::sync::OwnedMutexGuard<$crate::storage::sql_batch::Batch<$db>>>,
                $crate::Error,
            > {
                match &self.writers {
                    Some(writers) => Ok(Some(writers.turn().await?)),
                    None => Ok(None),
                }
            }

            /// Begins a write transaction of its own, once it is this process's turn to write
            /// alone; the turn ends when the returned guard is dropped (after the commit).
            async fn begin_write(
                &self,
            ) -> Result<
                (
                    Option<tokio::sync::OwnedMutexGuard<$crate::storage::sql_batch::Batch<$db>>>,
                    sqlx::Transaction<'static, $db>,
                ),
                $crate::Error,
            > {
                let turn = self.write_turn().await?;
                let tx = self.pool.begin_with($begin).await.map_err($crate::storage::sql::db)?;
                Ok((turn, tx))
            }

            /// Begins a write that may share its transaction and commit with concurrent ones
            /// (where writes are serialized), or a transaction of its own.
            async fn begin_shared_write(
                &self,
            ) -> Result<$crate::storage::sql_batch::Write<$db>, $crate::Error> {
                use $crate::storage::sql_batch::Write;
                match &self.writers {
                    Some(writers) => Ok(Write::Batched(writers.begin(&self.pool).await?)),
                    None => Ok(Write::Alone(
                        self.pool.begin_with($begin).await.map_err($crate::storage::sql::db)?,
                    )),
                }
            }

            /// Runs one writing statement: in a shared batch where writes are serialized, on
            /// its own (autocommit) otherwise.
            async fn execute_write<'q>(
                &self,
                query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
            ) -> Result<u64, $crate::Error> {
                use $crate::storage::sql::db;
                match &self.writers {
                    Some(writers) => {
                        let mut write = writers.begin(&self.pool).await?;
                        let result = query.execute(&mut *write).await;
                        write.finish(result.map(|done| done.rows_affected()).map_err(db)).await
                    }
                    None => Ok(query.execute(&self.pool).await.map_err(db)?.rows_affected()),
                }
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("connections", &self.pool.size())
                    .finish()
            }
        }

        /// Creates or extends the grant's row until `until`, locking it; returns whether the
        /// grant is live (not revoked).
        async fn hold_grant(
            conn: &mut <$db as sqlx::Database>::Connection,
            grant: &$crate::storage::GrantId,
            until: $crate::Timestamp,
        ) -> Result<bool, $crate::Error> {
            use $crate::storage::sql::{self, db, secs};
            let revoked: bool = sqlx::query_scalar(sql::UPSERT_GRANT)
                .bind(&grant.as_bytes()[..])
                .bind(secs(until))
                .fetch_one(&mut *conn)
                .await
                .map_err(db)?;
            Ok(!revoked)
        }

        /// Inserts an exchange record (its grant row already held), whose data is `data`.
        async fn insert_record(
            conn: &mut <$db as sqlx::Database>::Connection,
            digest: &$crate::storage::Digest,
            record: &$crate::storage::ExchangeRecord,
            data: &str,
        ) -> Result<(), $crate::Error> {
            use $crate::storage::sql::{self, db, secs};
            sqlx::query(sql::INSERT_RECORD)
                .bind(&digest.as_bytes()[..])
                .bind(record.kind.as_str())
                .bind(&record.grant.as_bytes()[..])
                .bind(data)
                .bind(secs(record.expires_at))
                .bind(record.spent)
                .bind(secs(record.retain_until.max(record.expires_at)))
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            Ok(())
        }

        /// Revokes a grant inside a write transaction (see the module docs for the order).
        async fn revoke_in(
            conn: &mut <$db as sqlx::Database>::Connection,
            grant: &[u8],
        ) -> Result<(), $crate::Error> {
            use $crate::storage::sql::{self, db};
            for statement in sql::REVOKE_GRANT {
                sqlx::query(statement)
                    .bind(grant)
                    .execute(&mut *conn)
                    .await
                    .map_err(db)?;
            }
            Ok(())
        }

        /// Adds tokens (their JSON columns in `json`) to their grant unless it was revoked;
        /// returns whether they were stored.
        async fn attach(
            conn: &mut <$db as sqlx::Database>::Connection,
            tokens: &$crate::storage::NewTokens,
            json: $crate::storage::sql::TokensJson,
        ) -> Result<bool, $crate::Error> {
            use $crate::storage::sql::{self, db};
            let access = &tokens.access;
            let record = &access.record;
            if !hold_grant(&mut *conn, &tokens.grant(), tokens.expires_at()).await? {
                return Ok(false);
            }
            let query = sqlx::query(sql::INSERT_TOKEN)
                .bind(&access.digest.as_bytes()[..])
                .bind(&record.grant.as_bytes()[..]);
            $crate::storage::sql::bind_token_columns!(query, record, json)
                .bind(json.actor)
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            if let (Some(refresh), Some(data)) = (&tokens.refresh, json.refresh) {
                insert_record(&mut *conn, &refresh.digest, &refresh.record, &data).await?;
            }
            Ok(true)
        }

        /// Saves tokens with one statement (see [`sql::SAVE_TOKENS_POSTGRES`]), after the new
        /// state of the record they were exchanged for, if any (`changed`; until when its
        /// grant must live, the record's digest and the record).
        #[allow(dead_code)] // SQLite saves in a transaction
        async fn save_tokens_at_once<'e>(
            executor: impl sqlx::Executor<'e, Database = $db>,
            statement: &'static str,
            tokens: &$crate::storage::NewTokens,
            changed: Option<(
                $crate::Timestamp,
                &$crate::storage::Digest,
                &$crate::storage::ExchangeRecord,
            )>,
        ) -> Result<bool, $crate::Error> {
            use $crate::storage::sql::{self, db, secs};
            let access = &tokens.access;
            let record = &access.record;
            let refresh = tokens.refresh.as_ref();
            let json = sql::TokensJson::of(tokens)?;
            let changed_data = match changed {
                Some((_, _, record)) => Some(record.data.to_json()?.into_owned()),
                None => None,
            };
            let until = match changed {
                Some((until, _, _)) => until.max(tokens.expires_at()),
                None => tokens.expires_at(),
            };
            let grant = tokens.grant();
            let query = sqlx::query_scalar::<_, bool>(statement)
                .bind(&grant.as_bytes()[..])
                .bind(secs(until))
                .bind(&access.digest.as_bytes()[..]);
            $crate::storage::sql::bind_token_columns!(query, record, json)
                .bind(refresh.map(|r| r.digest.as_bytes().to_vec()))
                .bind(refresh.map(|r| r.record.kind.as_str()))
                .bind(json.refresh)
                .bind(refresh.map(|r| secs(r.record.expires_at)))
                .bind(refresh.map(|r| r.record.spent))
                .bind(json.actor)
                .bind(refresh.map(|r| secs(r.record.retain_until.max(r.record.expires_at))))
                .bind(changed.map(|(_, digest, _)| digest.as_bytes().to_vec()))
                .bind(changed_data)
                .bind(changed.map(|(_, _, r)| secs(r.expires_at)))
                .bind(changed.map(|(_, _, r)| r.spent))
                .bind(changed.map(|(until, _, _)| secs(until)))
                .fetch_one(executor)
                .await
                .map_err(db)
        }

        impl $crate::storage::ClientStore for $name {
            async fn client(&self, id: &str) -> Result<Option<$crate::Client>, $crate::Error> {
                use $crate::storage::sql::{self, db, ClientRow};
                let generation = match self.clients.as_deref().map(|cache| cache.get(id)) {
                    Some(Ok(client)) => return Ok(Some(client)),
                    Some(Err(generation)) => Some(generation),
                    None => None,
                };
                let row: Option<ClientRow> = sqlx::query_as(sql::SELECT_CLIENT)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?;
                let client = row.map(ClientRow::into_client).transpose()?;
                if let (Some(cache), Some(generation), Some(client)) =
                    (self.clients.as_deref(), generation, &client)
                {
                    cache.put(client.id().as_str().to_owned(), client.clone(), generation);
                }
                Ok(client)
            }

            async fn save_client(&self, client: $crate::Client) -> Result<(), $crate::Error> {
                use $crate::storage::sql::{self, ClientRow};
                let row = ClientRow::from_client(&client)?;
                let saved = self.execute_write(sqlx::query(sql::UPSERT_CLIENT)
                    .bind(row.id)
                    .bind(row.name)
                    .bind(row.secret_digest)
                    .bind(row.redirect_uris)
                    .bind(row.grant_types)
                    .bind(row.allowed_scopes)
                    .bind(row.default_scopes)
                    .bind(row.owner)
                    .bind(row.owner_only)
                    .bind(row.native)
                    .bind(row.introspects_any_token)
                    .bind(row.metadata))
                    .await;
                if let Some(cache) = self.clients.as_deref() {
                    cache.invalidate(client.id().as_str());
                }
                saved?;
                Ok(())
            }

            /// One transaction: the client's row goes first (so that the grants found next
            /// are all it has), then every grant of its tokens and records is revoked, then
            /// its remembered consent is forgotten.
            async fn delete_client(&self, id: &str) -> Result<bool, $crate::Error> {
                use $crate::storage::sql::{self, db};
                let deleted = async {
                    let (_turn, mut tx) = self.begin_write().await?;
                    let deleted = sqlx::query(sql::DELETE_CLIENT)
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?
                        .rows_affected()
                        > 0;
                    let grants: Vec<Vec<u8>> = sqlx::query_scalar($select_client_grants)
                        .bind(id)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db)?;
                    for grant in &grants {
                        revoke_in(&mut tx, grant).await?;
                    }
                    for statement in sql::FORGET_CLIENT {
                        sqlx::query(statement)
                            .bind(id)
                            .execute(&mut *tx)
                            .await
                            .map_err(db)?;
                    }
                    tx.commit().await.map_err(db)?;
                    Ok::<_, $crate::Error>(deleted)
                }
                .await;
                if let Some(cache) = self.clients.as_deref() {
                    cache.invalidate(id);
                }
                self.forget_tokens();
                deleted
            }
        }

        impl $crate::storage::TokenStore for $name {
            async fn save_tokens(
                &self,
                tokens: $crate::storage::NewTokens,
            ) -> Result<bool, $crate::Error> {
                if let Some(statement) = $save_tokens {
                    return save_tokens_at_once(&self.pool, statement, &tokens, None).await;
                }
                let json = $crate::storage::sql::TokensJson::of(&tokens)?;
                let mut write = self.begin_shared_write().await?;
                let stored = attach(&mut write, &tokens, json).await;
                write.finish(stored).await
            }

            async fn access_token(
                &self,
                digest: &$crate::storage::Digest,
                now: $crate::Timestamp,
            ) -> Result<Option<std::sync::Arc<$crate::storage::TokenRecord>>, $crate::Error> {
                use $crate::storage::sql::{self, db, TokenRow};
                let generation = match self.tokens.as_deref().map(|cache| cache.get(digest.as_bytes())) {
                    Some(Ok(record)) => return Ok(Some(record).filter(|r| r.is_live(now))),
                    Some(Err(generation)) => Some(generation),
                    None => None,
                };
                let row: Option<TokenRow> = sqlx::query_as(sql::SELECT_TOKEN)
                    .bind(&digest.as_bytes()[..])
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?;
                let record = row
                    .filter(|row| row.is_live(now))
                    .map(|row| row.record().map(std::sync::Arc::new))
                    .transpose()?;
                if let (Some(cache), Some(generation), Some(record)) =
                    (self.tokens.as_deref(), generation, &record)
                {
                    cache.put(*digest.as_bytes(), record.clone(), generation);
                }
                Ok(record)
            }

            async fn revoke_access_token(
                &self,
                digest: &$crate::storage::Digest,
            ) -> Result<(), $crate::Error> {
                use $crate::storage::sql::{self};
                let deleted = self
                    .execute_write(sqlx::query(sql::DELETE_ACCESS_TOKEN).bind(&digest.as_bytes()[..]))
                    .await;
                if let Some(cache) = self.tokens.as_deref() {
                    cache.invalidate(digest.as_bytes());
                }
                deleted.map(drop)
            }

            async fn save_record(
                &self,
                digest: $crate::storage::Digest,
                record: $crate::storage::ExchangeRecord,
                _now: $crate::Timestamp,
            ) -> Result<(), $crate::Error> {
                let data = record.data.to_json()?;
                let until = record.retain_until.max(record.expires_at);
                let mut write = self.begin_shared_write().await?;
                let saved = async {
                    if hold_grant(&mut write, &record.grant, until).await? {
                        insert_record(&mut write, &digest, &record, &data).await?;
                    }
                    Ok(())
                }
                .await;
                write.finish(saved).await
            }

            async fn record(
                &self,
                kind: $crate::storage::ExchangeKind,
                digest: &$crate::storage::Digest,
            ) -> Result<Option<$crate::storage::ExchangeRecord>, $crate::Error> {
                use $crate::storage::sql::{self, db, RecordRow};
                let row: Option<RecordRow> = sqlx::query_as(sql::SELECT_RECORD)
                    .bind(&digest.as_bytes()[..])
                    .bind(kind.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?;
                row.map(|row| row.record(kind)).transpose()
            }

            async fn exchange<F: $crate::storage::ExchangeFn>(
                &self,
                kind: $crate::storage::ExchangeKind,
                digest: &$crate::storage::Digest,
                _now: $crate::Timestamp,
                exchange: F,
            ) -> Result<$crate::storage::Exchange, $crate::Error> {
                use $crate::storage::sql::{self, db, secs, RecordRow};
                use $crate::storage::Exchange;
                let mut write = self.begin_shared_write().await?;
                let read = async {
                    let row: Option<RecordRow> = sqlx::query_as($select_record)
                        .bind(&digest.as_bytes()[..])
                        .bind(kind.as_str())
                        .fetch_optional(&mut *write)
                        .await
                        .map_err(db)?;
                    row.map(|row| row.record(kind)).transpose()
                }
                .await;
                // Until the decision, the write has only read: ending it here changes nothing.
                let record = match read {
                    Ok(Some(record)) => record,
                    Ok(None) => {
                        write.unchanged();
                        return Ok(Exchange::Unknown);
                    }
                    Err(error) => {
                        write.unchanged();
                        return Err(error);
                    }
                };
                let exchanged = async {
                    let mut decision = exchange(&record);
                    let changed = decision.take_record();
                    let tokens = decision.take_tokens(record.grant);
                    if let (Some(statement), Some(tokens)) = ($save_tokens, &tokens) {
                        // The record's new state and the tokens in one statement.
                        let changed = changed.as_ref().map(|changed| {
                            (changed.retain_until.max(changed.expires_at), digest, changed)
                        });
                        let stored =
                            save_tokens_at_once(&mut *write, statement, tokens, changed).await?;
                        return Ok(decision.finish(record.grant, stored));
                    }
                    // Everything but the statements first (see `attach`).
                    let tokens = match tokens {
                        Some(tokens) => Some((sql::TokensJson::of(&tokens)?, tokens)),
                        None => None,
                    };
                    if let Some(changed) = changed {
                        let until = changed.retain_until.max(changed.expires_at);
                        sqlx::query(sql::UPDATE_RECORD)
                            .bind(&digest.as_bytes()[..])
                            .bind(changed.data.to_json()?.as_ref())
                            .bind(secs(changed.expires_at))
                            .bind(changed.spent)
                            .bind(secs(until))
                            .execute(&mut *write)
                            .await
                            .map_err(db)?;
                        hold_grant(&mut write, &record.grant, until).await?;
                    }
                    let stored = match tokens {
                        Some((json, tokens)) => attach(&mut write, &tokens, json).await?,
                        None => true,
                    };
                    Ok(decision.finish(record.grant, stored))
                }
                .await;
                write.finish(exchanged).await
            }

            async fn revoke_grant(
                &self,
                grant: &$crate::storage::GrantId,
            ) -> Result<(), $crate::Error> {
                use $crate::storage::sql::db;
                let revoked = async {
                    let (_turn, mut tx) = self.begin_write().await?;
                    revoke_in(&mut tx, &grant.as_bytes()[..]).await?;
                    tx.commit().await.map_err(db)
                }
                .await;
                self.forget_tokens();
                revoked
            }

            fn consent_store(&self) -> Option<&dyn $crate::storage::ConsentStore> {
                Some(self)
            }

            /// In batches of at most [`with_purge_batch`](Self::with_purge_batch) rows, each
            /// batch a transaction of its own: requests wait for one batch at most, never for
            /// the whole purge.
            async fn purge_expired(&self, now: $crate::Timestamp) -> Result<u64, $crate::Error> {
                use $crate::storage::sql::{self, db, secs};
                let batch = u64::try_from(self.purge_batch).unwrap_or(1);
                let mut deleted = 0;
                for statement in sql::PURGE_EXPIRED {
                    deleted += self
                        .purge_batches(|| {
                            sqlx::query(statement).bind(secs(now)).bind(self.purge_batch)
                        })
                        .await?;
                }
                loop {
                    let started = std::time::Instant::now();
                    let (turn, mut tx) = self.begin_write().await?;
                    let mut n = 0;
                    for statement in sql::PURGE_GRANTS {
                        n = sqlx::query(statement)
                            .bind(secs(now))
                            .bind(self.purge_batch)
                            .execute(&mut *tx)
                            .await
                            .map_err(db)?
                            .rows_affected();
                        deleted += n;
                    }
                    tx.commit().await.map_err(db)?;
                    drop(turn);
                    if n < batch {
                        break;
                    }
                    self.after_batch(started).await;
                }
                deleted += self
                    .purge_batches(|| sqlx::query(sql::PURGE_CONSENT_GRANTS).bind(self.purge_batch))
                    .await?;
                Ok(deleted)
            }
        }

        impl $crate::Limiter for $crate::storage::SqlLimiter<$name> {
            fn allow<'a>(
                &'a self,
                check: $crate::Check,
                keys: &'a [$crate::LimitKey],
                now: $crate::Timestamp,
            ) -> $crate::BoxFuture<'a, Result<bool, $crate::Error>> {
                Box::pin(async move {
                    use $crate::storage::sql::{self, db, secs};
                    let (since, _, _) = self.buckets(now);
                    for key in keys {
                        let failures: i64 = sqlx::query_scalar(sql::COUNT_FAILURES)
                            .bind($crate::storage::SqlLimiter::<$name>::key(check, key))
                            .bind(secs(since))
                            .fetch_one(self.storage().pool())
                            .await
                            .map_err(db)?;
                        if failures >= i64::from(self.max_failures()) {
                            return Ok(false);
                        }
                    }
                    Ok(true)
                })
            }

            fn failed<'a>(
                &'a self,
                check: $crate::Check,
                keys: &'a [$crate::LimitKey],
                now: $crate::Timestamp,
            ) -> $crate::BoxFuture<'a, Result<(), $crate::Error>> {
                Box::pin(async move {
                    use $crate::storage::sql::{self, secs};
                    let (_, bucket, expires_at) = self.buckets(now);
                    for key in keys {
                        self.storage()
                            .execute_write(
                                sqlx::query(sql::ADD_FAILURE)
                                    .bind($crate::storage::SqlLimiter::<$name>::key(check, key))
                                    .bind(secs(bucket))
                                    .bind(secs(expires_at)),
                            )
                            .await?;
                    }
                    Ok(())
                })
            }
        }

        impl $crate::storage::KeyStore for $name {
            fn keys(
                &self,
            ) -> $crate::BoxFuture<'_, Result<Vec<$crate::storage::KeyRecord>, $crate::Error>> {
                use $crate::storage::sql::{self, db, KeyRow};
                Box::pin(async move {
                    let rows: Vec<KeyRow> = sqlx::query_as(sql::SELECT_KEYS)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db)?;
                    Ok(rows.into_iter().map(KeyRow::record).collect())
                })
            }

            fn save_key(
                &self,
                key: $crate::storage::KeyRecord,
            ) -> $crate::BoxFuture<'_, Result<(), $crate::Error>> {
                use $crate::storage::sql::{self, secs};
                Box::pin(async move {
                    self.execute_write(
                        sqlx::query(sql::UPSERT_KEY)
                            .bind(key.kid)
                            .bind(key.alg)
                            .bind(key.private_jwk)
                            .bind(secs(key.published_at))
                            .bind(secs(key.signs_from))
                            .bind(key.retires_at.map(secs))
                            .bind(key.removed_at.map(secs)),
                    )
                    .await?;
                    Ok(())
                })
            }

            fn delete_key<'a>(
                &'a self,
                kid: &'a str,
            ) -> $crate::BoxFuture<'a, Result<(), $crate::Error>> {
                use $crate::storage::sql::{self};
                Box::pin(async move {
                    self.execute_write(sqlx::query(sql::DELETE_KEY).bind(kid)).await?;
                    Ok(())
                })
            }
        }

        impl $crate::storage::ConsentStore for $name {
            fn consent<'a>(
                &'a self,
                owner: &'a $crate::OwnerId,
                client_id: &'a $crate::ClientId,
            ) -> $crate::BoxFuture<'a, Result<Option<$crate::storage::Consent>, $crate::Error>>
            {
                use $crate::storage::sql::{self, db, ConsentRow};
                Box::pin(async move {
                    let row: Option<ConsentRow> = sqlx::query_as(sql::SELECT_CONSENT)
                        .bind(owner.as_str())
                        .bind(client_id.as_str())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db)?;
                    row.map(|row| row.consent(owner, client_id)).transpose()
                })
            }

            fn save_consent(
                &self,
                consent: $crate::storage::Consent,
            ) -> $crate::BoxFuture<'_, Result<(), $crate::Error>> {
                use $crate::storage::sql::{self, secs};
                Box::pin(async move {
                    self.execute_write(
                        sqlx::query(sql::UPSERT_CONSENT)
                            .bind(consent.owner.as_str())
                            .bind(consent.client_id.as_str())
                            .bind(consent.scope.to_string())
                            .bind(secs(consent.granted_at))
                            .bind(consent.expires_at.map(secs))
                            .bind(sql::json_column(
                                Some(&consent.resources).filter(|r| !r.is_empty()),
                            )?),
                    )
                    .await?;
                    Ok(())
                })
            }

            fn record_grant<'a>(
                &'a self,
                owner: &'a $crate::OwnerId,
                client_id: &'a $crate::ClientId,
                grant: $crate::storage::GrantId,
            ) -> $crate::BoxFuture<'a, Result<(), $crate::Error>> {
                use $crate::storage::sql::{self};
                Box::pin(async move {
                    self.execute_write(
                        sqlx::query(sql::RECORD_CONSENT_GRANT)
                            .bind(owner.as_str())
                            .bind(client_id.as_str())
                            .bind(&grant.as_bytes()[..]),
                    )
                    .await?;
                    Ok(())
                })
            }

            fn forget<'a>(
                &'a self,
                owner: &'a $crate::OwnerId,
                client_id: &'a $crate::ClientId,
            ) -> $crate::BoxFuture<'a, Result<Vec<$crate::storage::GrantId>, $crate::Error>> {
                use $crate::storage::sql::{self, db};
                Box::pin(async move {
                    let (_turn, mut tx) = self.begin_write().await?;
                    let grants: Vec<Vec<u8>> = sqlx::query_scalar(sql::SELECT_CONSENT_GRANTS)
                        .bind(owner.as_str())
                        .bind(client_id.as_str())
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db)?;
                    for statement in sql::FORGET_CONSENT {
                        sqlx::query(statement)
                            .bind(owner.as_str())
                            .bind(client_id.as_str())
                            .execute(&mut *tx)
                            .await
                            .map_err(db)?;
                    }
                    tx.commit().await.map_err(db)?;
                    grants
                        .iter()
                        .map(|bytes| sql::grant_id_column(bytes))
                        .collect()
                })
            }
        }

        impl $crate::storage::ReplayCache for $name {
            fn first_use<'a>(
                &'a self,
                key: &'a $crate::storage::Digest,
                expires_at: $crate::Timestamp,
                now: $crate::Timestamp,
            ) -> $crate::BoxFuture<'a, Result<bool, $crate::Error>> {
                use $crate::storage::sql::{self, secs};
                Box::pin(async move {
                    let affected = self
                        .execute_write(
                            sqlx::query(sql::FIRST_USE)
                                .bind(&key.as_bytes()[..])
                                .bind(secs(expires_at))
                                .bind(secs(now)),
                        )
                        .await?;
                    Ok(affected == 1)
                })
            }
        }
    };
}

pub(crate) use sql_storage;
