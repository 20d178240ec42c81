//! What the SQL backends share: the SQL they run, how records map to columns, and the one
//! implementation of [`Storage`](super::Storage) that `sql_storage!` instantiates for each
//! database.
//!
//! # How the exactly-once steps hold across processes
//!
//! Every write that must be atomic runs in one transaction that first takes the lock it needs:
//! on PostgreSQL the presented code or refresh token is read with `SELECT … FOR UPDATE`, so a
//! racing exchange waits and then sees it spent; SQLite has one writer at a time and the
//! transaction takes the write lock up front (`BEGIN IMMEDIATE`). Spending the code, marking the
//! refresh token rotated and storing the new tokens commit together or not at all.
//!
//! Adding codes or tokens to a grant locks its `grantor_grants` row (an upsert that returns
//! `revoked`) and adds nothing if it is revoked. Revocation deletes the grant's codes and
//! tokens — waiting there for any exchange that holds one of them, which keeps the lock order
//! of exchanges (record, then grant) and so cannot deadlock — then marks the grant revoked
//! (waiting for anyone adding to it), then deletes again. On PostgreSQL the second pass is what
//! removes tokens committed by an exchange the first pass waited for: a statement that waited
//! for a row lock does not see rows inserted meanwhile. After the flag, nothing more is added.

use crate::authenticator::OwnerId;
use crate::client::{Client, ClientId, GrantType};
use crate::error::Error;
use crate::pkce::{ChallengeMethod, CodeChallenge};
use crate::scope::ScopeSet;
use crate::storage::{CodeRecord, TokenRecord};
use crate::time::Timestamp;
use crate::token::{Digest, GrantId};

pub(crate) const SELECT_CLIENT: &str = "SELECT id, name, secret_digest, redirect_uris, \
    grant_types, allowed_scopes, default_scopes, owner, owner_only, native, \
    introspects_any_token FROM grantor_clients WHERE id = $1";

pub(crate) const UPSERT_CLIENT: &str = "INSERT INTO grantor_clients (id, name, secret_digest, \
    redirect_uris, grant_types, allowed_scopes, default_scopes, owner, owner_only, native, \
    introspects_any_token) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
    ON CONFLICT (id) DO UPDATE SET name = excluded.name, secret_digest = excluded.secret_digest, \
    redirect_uris = excluded.redirect_uris, grant_types = excluded.grant_types, \
    allowed_scopes = excluded.allowed_scopes, default_scopes = excluded.default_scopes, \
    owner = excluded.owner, owner_only = excluded.owner_only, native = excluded.native, \
    introspects_any_token = excluded.introspects_any_token";

/// Creates the grant's row or extends its lifetime, locking it; returns whether it is revoked.
pub(crate) const UPSERT_GRANT: &str = "INSERT INTO grantor_grants (id, revoked, expires_at) \
    VALUES ($1, FALSE, $2) \
    ON CONFLICT (id) DO UPDATE SET expires_at = CASE \
    WHEN excluded.expires_at > grantor_grants.expires_at THEN excluded.expires_at \
    ELSE grantor_grants.expires_at END \
    RETURNING revoked";

pub(crate) const INSERT_CODE: &str = "INSERT INTO grantor_codes (digest, grant_id, client_id, \
    owner, redirect_uri, redirect_uri_sent, scope, challenge_method, challenge, issued_at, \
    expires_at, redeemed, retain_until) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, FALSE, $11)";

macro_rules! select_code {
    () => {
        "SELECT grant_id, client_id, owner, redirect_uri, redirect_uri_sent, scope, \
         challenge_method, challenge, issued_at, expires_at, redeemed \
         FROM grantor_codes WHERE digest = $1"
    };
}

/// Reads a code (SQLite: inside a `BEGIN IMMEDIATE` transaction, which already excludes writers).
#[cfg(feature = "sqlite")]
pub(crate) const SELECT_CODE: &str = select_code!();
/// Reads and locks a code (PostgreSQL).
#[cfg(feature = "postgres")]
pub(crate) const SELECT_CODE_FOR_UPDATE: &str = concat!(select_code!(), " FOR UPDATE");

/// Spends a code; `$2` is how long to keep it: as long as the tokens it issued, so that a late
/// replay is still recognised (C-TK-5).
pub(crate) const REDEEM_CODE: &str = "UPDATE grantor_codes SET redeemed = TRUE, retain_until = \
    CASE WHEN $2 > retain_until THEN $2 ELSE retain_until END WHERE digest = $1";

pub(crate) const INSERT_TOKEN: &str = "INSERT INTO grantor_tokens (digest, kind, grant_id, \
    client_id, owner, scope, issued_at, expires_at, rotated) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, FALSE)";

macro_rules! select_token {
    () => {
        "SELECT grant_id, client_id, owner, scope, issued_at, expires_at, rotated \
         FROM grantor_tokens WHERE digest = $1 AND kind = $2"
    };
}

/// Reads a token of a kind.
pub(crate) const SELECT_TOKEN: &str = select_token!();
/// Reads and locks a token of a kind (PostgreSQL).
#[cfg(feature = "postgres")]
pub(crate) const SELECT_TOKEN_FOR_UPDATE: &str = concat!(select_token!(), " FOR UPDATE");

pub(crate) const ROTATE_TOKEN: &str = "UPDATE grantor_tokens SET rotated = TRUE WHERE digest = $1";

pub(crate) const DELETE_ACCESS_TOKEN: &str =
    "DELETE FROM grantor_tokens WHERE digest = $1 AND kind = 'access'";

/// The steps of [`Storage::revoke_grant`](super::Storage::revoke_grant), in this order (see
/// the module docs for why the deletes run twice).
pub(crate) const REVOKE_GRANT: [&str; 5] = [
    "DELETE FROM grantor_codes WHERE grant_id = $1",
    "DELETE FROM grantor_tokens WHERE grant_id = $1",
    "UPDATE grantor_grants SET revoked = TRUE WHERE id = $1",
    "DELETE FROM grantor_codes WHERE grant_id = $1",
    "DELETE FROM grantor_tokens WHERE grant_id = $1",
];

/// The steps of [`Storage::purge_expired`](super::Storage::purge_expired).
pub(crate) const PURGE_EXPIRED: [&str; 3] = [
    "DELETE FROM grantor_codes WHERE retain_until <= $1",
    "DELETE FROM grantor_tokens WHERE expires_at <= $1",
    "DELETE FROM grantor_grants WHERE expires_at <= $1",
];

/// The `kind` column of access tokens.
pub(crate) const ACCESS: &str = "access";
/// The `kind` column of refresh tokens.
pub(crate) const REFRESH: &str = "refresh";

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
        builder.build().map_err(|_| corrupt("client"))
    }
}

/// A row of `grantor_codes`.
#[derive(sqlx::FromRow)]
pub(crate) struct CodeRow {
    grant_id: Vec<u8>,
    client_id: String,
    owner: String,
    redirect_uri: String,
    redirect_uri_sent: bool,
    scope: String,
    challenge_method: Option<String>,
    challenge: Option<String>,
    issued_at: i64,
    expires_at: i64,
    pub(crate) redeemed: bool,
}

impl CodeRow {
    /// Whether the code can still be redeemed at `now`.
    pub(crate) fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at > secs(now)
    }

    pub(crate) fn record(&self) -> Result<CodeRecord, Error> {
        let challenge = match (self.challenge_method.as_deref(), &self.challenge) {
            (None, None) => None,
            (Some("S256"), Some(value)) => Some(CodeChallenge::new(ChallengeMethod::S256, value)),
            (Some("plain"), Some(value)) => Some(CodeChallenge::new(ChallengeMethod::Plain, value)),
            _ => return Err(corrupt("code challenge")),
        };
        Ok(CodeRecord {
            grant: grant_id(&self.grant_id)?,
            client_id: client_id(&self.client_id)?,
            owner: OwnerId::new(&self.owner),
            redirect_uri: self.redirect_uri.clone(),
            redirect_uri_sent: self.redirect_uri_sent,
            scope: scope(&self.scope)?,
            challenge,
            issued_at: timestamp(self.issued_at),
            expires_at: timestamp(self.expires_at),
        })
    }

    pub(crate) fn grant(&self) -> Result<GrantId, Error> {
        grant_id(&self.grant_id)
    }
}

/// A row of `grantor_tokens`.
#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    grant_id: Vec<u8>,
    client_id: String,
    owner: Option<String>,
    scope: String,
    issued_at: i64,
    expires_at: i64,
    pub(crate) rotated: bool,
}

impl TokenRow {
    /// Whether the token is unexpired at `now` (rotation is checked separately).
    pub(crate) fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at > secs(now)
    }

    pub(crate) fn record(&self) -> Result<TokenRecord, Error> {
        Ok(TokenRecord {
            grant: grant_id(&self.grant_id)?,
            client_id: client_id(&self.client_id)?,
            owner: self.owner.as_deref().map(OwnerId::new),
            scope: scope(&self.scope)?,
            issued_at: timestamp(self.issued_at),
            expires_at: timestamp(self.expires_at),
        })
    }
}

/// Implements a SQL storage backend over one sqlx database: the struct, its pool, migrations
/// and the [`Storage`](crate::Storage) implementation. Everything that differs between the
/// databases is a parameter; everything else is written once, here.
macro_rules! sql_storage {
    (
        $(#[$doc:meta])*
        $name:ident {
            database: $db:ty,
            pool: $pool:ty,
            migrator: $migrator:expr,
            begin_write: $begin:expr,
            select_code: $select_code:expr,
            select_token: $select_token:expr,
        }
    ) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            pool: $pool,
        }

        impl $name {
            /// Uses an existing pool, first applying the migrations grantor ships (creating or
            /// upgrading its `grantor_*` tables).
            pub async fn from_pool(pool: $pool) -> Result<Self, $crate::Error> {
                $migrator.run(&pool).await.map_err($crate::Error::storage)?;
                Ok(Self { pool })
            }

            /// The connection pool, e.g. to close it or to run the host's own queries.
            pub fn pool(&self) -> &$pool {
                &self.pool
            }

            /// The token of this kind stored under `digest`, live or not.
            async fn token(
                &self,
                digest: &$crate::Digest,
                kind: &str,
            ) -> Result<Option<$crate::storage::sql::TokenRow>, $crate::Error> {
                sqlx::query_as($crate::storage::sql::SELECT_TOKEN)
                    .bind(&digest.as_bytes()[..])
                    .bind(kind)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::storage::sql::db)
            }

            async fn begin_write(&self) -> Result<sqlx::Transaction<'static, $db>, $crate::Error> {
                self.pool.begin_with($begin).await.map_err($crate::storage::sql::db)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("connections", &self.pool.size())
                    .finish()
            }
        }

        /// Adds tokens to their grant unless it was revoked; returns whether they were stored.
        async fn attach(
            conn: &mut <$db as sqlx::Database>::Connection,
            tokens: &$crate::storage::NewTokens,
        ) -> Result<bool, $crate::Error> {
            use $crate::storage::sql::{self, db, secs};
            let expires_at = tokens
                .refresh
                .iter()
                .map(|r| r.record.expires_at)
                .fold(tokens.access.record.expires_at, std::cmp::max);
            let revoked: bool = sqlx::query_scalar(sql::UPSERT_GRANT)
                .bind(&tokens.grant().as_bytes()[..])
                .bind(secs(expires_at))
                .fetch_one(&mut *conn)
                .await
                .map_err(db)?;
            if revoked {
                return Ok(false);
            }
            let kinds = [
                (sql::ACCESS, Some(&tokens.access)),
                (sql::REFRESH, tokens.refresh.as_ref()),
            ];
            for (kind, token) in kinds {
                let Some(token) = token else { continue };
                let record = &token.record;
                sqlx::query(sql::INSERT_TOKEN)
                    .bind(&token.digest.as_bytes()[..])
                    .bind(kind)
                    .bind(&record.grant.as_bytes()[..])
                    .bind(record.client_id.as_str())
                    .bind(record.owner.as_ref().map(|o| o.as_str()))
                    .bind(record.scope.to_string())
                    .bind(secs(record.issued_at))
                    .bind(secs(record.expires_at))
                    .execute(&mut *conn)
                    .await
                    .map_err(db)?;
            }
            Ok(true)
        }

        /// Stores the tokens an accepted exchange produced and commits, or reports the grant
        /// gone.
        async fn finish(
            mut tx: sqlx::Transaction<'static, $db>,
            outcome: Result<$crate::storage::NewTokens, $crate::OAuthError>,
        ) -> Result<$crate::storage::Exchange, $crate::Error> {
            use $crate::storage::Exchange;
            let exchange = match outcome {
                Ok(tokens) => {
                    if attach(&mut tx, &tokens).await? {
                        Exchange::Issued
                    } else {
                        Exchange::Unknown
                    }
                }
                Err(error) => Exchange::Refused(error),
            };
            tx.commit().await.map_err($crate::storage::sql::db)?;
            Ok(exchange)
        }

        impl $crate::Storage for $name {
            async fn client(&self, id: &str) -> Result<Option<$crate::Client>, $crate::Error> {
                use $crate::storage::sql::{self, db, ClientRow};
                let row: Option<ClientRow> = sqlx::query_as(sql::SELECT_CLIENT)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?;
                row.map(ClientRow::into_client).transpose()
            }

            async fn save_client(&self, client: $crate::Client) -> Result<(), $crate::Error> {
                use $crate::storage::sql::{self, db, ClientRow};
                let row = ClientRow::from_client(&client)?;
                sqlx::query(sql::UPSERT_CLIENT)
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
                    .execute(&self.pool)
                    .await
                    .map_err(db)?;
                Ok(())
            }

            async fn save_code(
                &self,
                digest: $crate::Digest,
                code: $crate::storage::CodeRecord,
            ) -> Result<(), $crate::Error> {
                use $crate::storage::sql::{self, db, secs};
                let mut tx = self.begin_write().await?;
                let revoked: bool = sqlx::query_scalar(sql::UPSERT_GRANT)
                    .bind(&code.grant.as_bytes()[..])
                    .bind(secs(code.expires_at))
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
                if !revoked {
                    let challenge = code.challenge.as_ref();
                    sqlx::query(sql::INSERT_CODE)
                        .bind(&digest.as_bytes()[..])
                        .bind(&code.grant.as_bytes()[..])
                        .bind(code.client_id.as_str())
                        .bind(code.owner.as_str())
                        .bind(code.redirect_uri.as_str())
                        .bind(code.redirect_uri_sent)
                        .bind(code.scope.to_string())
                        .bind(challenge.map(|c| c.method().as_str()))
                        .bind(challenge.map(|c| c.value()))
                        .bind(secs(code.issued_at))
                        .bind(secs(code.expires_at))
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                tx.commit().await.map_err(db)
            }

            async fn redeem_code<F: $crate::storage::ExchangeFn<$crate::storage::CodeRecord>>(
                &self,
                digest: &$crate::Digest,
                now: $crate::Timestamp,
                exchange: F,
            ) -> Result<$crate::storage::Exchange, $crate::Error> {
                use $crate::storage::sql::{self, db, CodeRow};
                use $crate::storage::Exchange;
                let mut tx = self.begin_write().await?;
                let row: Option<CodeRow> = sqlx::query_as($select_code)
                    .bind(&digest.as_bytes()[..])
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?;
                // A spent code is a replay even after it expired, for as long as it is kept.
                let row = match row {
                    Some(row) if row.redeemed => return Ok(Exchange::Replayed(row.grant()?)),
                    Some(row) if row.is_live(now) => row,
                    _ => return Ok(Exchange::Unknown),
                };
                let record = row.record()?;
                // The code is spent whatever the exchange decides.
                let outcome = exchange(&record);
                let retain_until = outcome
                    .as_ref()
                    .map_or(record.expires_at, $crate::storage::NewTokens::expires_at);
                sqlx::query(sql::REDEEM_CODE)
                    .bind(&digest.as_bytes()[..])
                    .bind(sql::secs(retain_until))
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                finish(tx, outcome).await
            }

            async fn save_tokens(
                &self,
                tokens: $crate::storage::NewTokens,
            ) -> Result<(), $crate::Error> {
                let mut tx = self.begin_write().await?;
                attach(&mut tx, &tokens).await?;
                tx.commit().await.map_err($crate::storage::sql::db)
            }

            async fn access_token(
                &self,
                digest: &$crate::Digest,
                now: $crate::Timestamp,
            ) -> Result<Option<std::sync::Arc<$crate::storage::TokenRecord>>, $crate::Error> {
                self.token(digest, $crate::storage::sql::ACCESS)
                    .await?
                    .filter(|row| row.is_live(now))
                    .map(|row| row.record().map(std::sync::Arc::new))
                    .transpose()
            }

            async fn refresh_token(
                &self,
                digest: &$crate::Digest,
                now: $crate::Timestamp,
            ) -> Result<Option<$crate::storage::TokenRecord>, $crate::Error> {
                self.token(digest, $crate::storage::sql::REFRESH)
                    .await?
                    .filter(|row| !row.rotated && row.is_live(now))
                    .map(|row| row.record())
                    .transpose()
            }

            async fn rotate_refresh_token<
                F: $crate::storage::ExchangeFn<$crate::storage::TokenRecord>,
            >(
                &self,
                digest: &$crate::Digest,
                now: $crate::Timestamp,
                exchange: F,
            ) -> Result<$crate::storage::Exchange, $crate::Error> {
                use $crate::storage::sql::{self, db, TokenRow};
                use $crate::storage::Exchange;
                let mut tx = self.begin_write().await?;
                let row: Option<TokenRow> = sqlx::query_as($select_token)
                    .bind(&digest.as_bytes()[..])
                    .bind(sql::REFRESH)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db)?;
                // A rotated token is a replay even after it expired, for as long as it is kept.
                let row = match row {
                    Some(row) if row.rotated => return Ok(Exchange::Replayed(row.record()?.grant)),
                    Some(row) if row.is_live(now) => row,
                    _ => return Ok(Exchange::Unknown),
                };
                let record = row.record()?;
                let outcome = exchange(&record);
                match &outcome {
                    Ok(tokens) if tokens.refresh.is_some() => {
                        sqlx::query(sql::ROTATE_TOKEN)
                            .bind(&digest.as_bytes()[..])
                            .execute(&mut *tx)
                            .await
                            .map_err(db)?;
                    }
                    Ok(_) => {}
                    // A refusal changes nothing: the transaction rolls back when dropped.
                    Err(error) => return Ok(Exchange::Refused(error.clone())),
                }
                finish(tx, outcome).await
            }

            async fn revoke_access_token(
                &self,
                digest: &$crate::Digest,
            ) -> Result<(), $crate::Error> {
                use $crate::storage::sql::{self, db};
                sqlx::query(sql::DELETE_ACCESS_TOKEN)
                    .bind(&digest.as_bytes()[..])
                    .execute(&self.pool)
                    .await
                    .map_err(db)?;
                Ok(())
            }

            async fn revoke_grant(&self, grant: &$crate::GrantId) -> Result<(), $crate::Error> {
                use $crate::storage::sql::{self, db};
                let mut tx = self.begin_write().await?;
                for statement in sql::REVOKE_GRANT {
                    sqlx::query(statement)
                        .bind(&grant.as_bytes()[..])
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                tx.commit().await.map_err(db)
            }

            async fn purge_expired(&self, now: $crate::Timestamp) -> Result<u64, $crate::Error> {
                use $crate::storage::sql::{self, db, secs};
                let mut tx = self.begin_write().await?;
                let mut deleted = 0;
                for statement in sql::PURGE_EXPIRED {
                    deleted += sqlx::query(statement)
                        .bind(secs(now))
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?
                        .rows_affected();
                }
                tx.commit().await.map_err(db)?;
                Ok(deleted)
            }
        }
    };
}

pub(crate) use sql_storage;
