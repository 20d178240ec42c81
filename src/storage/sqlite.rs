//! [`SqliteStorage`]: durable storage in one SQLite file, for a single server process.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use super::sql::{self, sql_storage};
use crate::error::Error;

sql_storage! {
    /// Storage in a SQLite database file: tokens survive a restart. The durable choice for a
    /// single server process (several processes on one file work, but writes are serialized;
    /// for a fleet use PostgreSQL).
    ///
    /// Opening applies grantor's migrations (its `grantor_*` tables). Expired rows stay until
    /// the host calls [`TokenStore::purge_expired`](crate::storage::TokenStore::purge_expired), e.g. every
    /// few minutes.
    ///
    /// ```no_run
    /// use grantor::storage::SqliteStorage;
    ///
    /// # async fn run() -> Result<(), grantor::Error> {
    /// let storage = SqliteStorage::open("sqlite:/var/lib/myapp/grantor.db").await?;
    /// # Ok(()) }
    /// ```
    SqliteStorage {
        database: sqlx::Sqlite,
        pool: SqlitePool,
        migrator: sql::migrator(sqlx::migrate!("migrations/sqlite")),
        // One writer at a time: take the write lock when the transaction starts, so the check
        // and the update of an exchange cannot interleave with another writer.
        begin_write: "BEGIN IMMEDIATE",
        select_record_for_exchange: sql::SELECT_RECORD,
        select_client_grants: sql::SELECT_CLIENT_GRANTS_SQLITE,
        // SQLite has one writer at a time: this process's writers queue in arrival order for
        // their turn, instead of each polling the file's lock (`busy_timeout`), which let an
        // unlucky writer wait half a second under load; the writes that queue meanwhile share
        // one transaction and commit (`sql_batch`).
        save_tokens_statement: None::<&str>,
        serialize_writers: true,
        purge_batch: 1000,
    }
}

impl SqliteStorage {
    /// Opens (creating it if missing) the database at `location`: a `sqlite:` URL such as
    /// `sqlite:data/grantor.db`, or a plain file path. The file is put in WAL mode so that
    /// reads do not wait for writes.
    pub async fn open(location: &str) -> Result<Self, Error> {
        let options = if location.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(location).map_err(sql::db)?
        } else {
            SqliteConnectOptions::new().filename(location)
        };
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        Self::open_with(options, Self::pool_options()).await
    }

    /// Opens a database with explicit connection and pool settings (start from
    /// [`pool_options`](Self::pool_options)).
    pub async fn open_with(
        options: SqliteConnectOptions,
        pool: SqlitePoolOptions,
    ) -> Result<Self, Error> {
        let pool = pool.connect_with(options).await.map_err(sql::db)?;
        Self::from_pool(pool).await
    }
}
