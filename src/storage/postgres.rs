//! [`PostgresStorage`]: storage in PostgreSQL, shared by every server instance of a fleet.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::sql::{self, sql_storage};
use crate::error::Error;

sql_storage! {
    /// Storage in PostgreSQL: the store that several server instances behind a load balancer
    /// share. A token issued by one instance is valid at all of them, and the exactly-once
    /// steps (redeeming a code, rotating a refresh token) hold across instances: they lock the
    /// record they exchange (`SELECT … FOR UPDATE`) inside one transaction.
    ///
    /// Connecting applies grantor's migrations (its `grantor_*` tables, in the connection's
    /// `search_path`). Expired rows stay until the host calls
    /// [`TokenStore::purge_expired`](crate::storage::TokenStore::purge_expired), e.g. every few minutes from
    /// one instance.
    ///
    /// ```no_run
    /// use grantor::storage::PostgresStorage;
    /// use grantor::storage::sqlx::postgres::PgPoolOptions;
    ///
    /// # async fn run() -> Result<(), grantor::Error> {
    /// let storage = PostgresStorage::connect("postgres://grantor@db.internal/auth").await?;
    /// // or, with pool settings:
    /// let options = "postgres://grantor@db.internal/auth"
    ///     .parse()
    ///     .map_err(grantor::Error::storage)?;
    /// let pool = PostgresStorage::pool_options().max_connections(20);
    /// let storage = PostgresStorage::connect_with(options, pool).await?;
    /// # Ok(()) }
    /// ```
    PostgresStorage {
        database: sqlx::Postgres,
        pool: PgPool,
        migrator: sql::migrator(sqlx::migrate!("migrations/postgres")),
        begin_write: "BEGIN",
        select_record_for_exchange: sql::SELECT_RECORD_FOR_UPDATE,
        select_client_grants: sql::SELECT_CLIENT_GRANTS_POSTGRES,
        save_tokens_statement: Some(sql::SAVE_TOKENS_POSTGRES),
        serialize_writers: false,
        purge_batch: 5000,
    }
}

impl PostgresStorage {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`) with
    /// default pool settings.
    pub async fn connect(url: &str) -> Result<Self, Error> {
        let options = PgConnectOptions::from_str(url).map_err(sql::db)?;
        Self::connect_with(options, Self::pool_options()).await
    }

    /// Connects with explicit connection and pool settings (maximum connections, timeouts…;
    /// start from [`pool_options`](Self::pool_options)).
    pub async fn connect_with(
        options: PgConnectOptions,
        pool: PgPoolOptions,
    ) -> Result<Self, Error> {
        let pool = pool.connect_with(options).await.map_err(sql::db)?;
        Self::from_pool(pool).await
    }
}
