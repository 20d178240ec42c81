//! A PostgreSQL schema of its own for each test, in the database `GRANTOR_TEST_POSTGRES_URL`
//! names; tests without the variable say they were skipped.

use std::str::FromStr;

use grantor::AccessToken;
use grantor::storage::PostgresStorage;
use grantor::storage::sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use grantor::storage::sqlx::{self, AssertSqlSafe};

pub const URL_VARIABLE: &str = "GRANTOR_TEST_POSTGRES_URL";

/// A schema of its own in the test database, so that tests and concurrent runs never collide.
pub struct TestSchema {
    url: String,
    pub name: String,
    pub admin: PgPool,
}

impl TestSchema {
    /// Creates the schema, or returns `None` (after saying so) when no database is configured.
    pub async fn create(test: &str) -> Option<Self> {
        let Ok(url) = std::env::var(URL_VARIABLE) else {
            super::postgres_skipped(test);
            return None;
        };
        let admin = PgPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {URL_VARIABLE}: {e}"));
        let name = format!(
            "grantor_test_{}",
            &AccessToken::generate().digest().to_hex()[..16]
        );
        admin.execute_sql(&format!("CREATE SCHEMA {name}")).await;
        Some(Self { url, name, admin })
    }

    /// Connection options whose tables live in this schema; connections are named after it.
    pub fn options(&self) -> PgConnectOptions {
        PgConnectOptions::from_str(&self.url)
            .unwrap()
            .options([("search_path", &self.name)])
            .application_name(&self.name)
    }

    pub async fn storage(&self) -> PostgresStorage {
        self.storage_with(PgPoolOptions::new()).await
    }

    pub async fn storage_with(&self, pool: PgPoolOptions) -> PostgresStorage {
        PostgresStorage::connect_with(self.options(), pool)
            .await
            .unwrap()
    }

    pub async fn drop(self) {
        self.admin
            .execute_sql(&format!("DROP SCHEMA {} CASCADE", self.name))
            .await;
        self.admin.close().await;
    }
}

pub trait ExecuteSql {
    async fn execute_sql(&self, sql: &str);
}

impl ExecuteSql for PgPool {
    async fn execute_sql(&self, sql: &str) {
        sqlx::query(AssertSqlSafe(sql))
            .execute(self)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}
