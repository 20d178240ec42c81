//! A SQLite database file of its own for a test, deleted when dropped.

use std::path::PathBuf;

use grantor::AccessToken;
use grantor::storage::SqliteStorage;

/// A database file of its own in the temporary directory, deleted (with its WAL files) when
/// dropped.
pub struct TempDb(pub PathBuf);

impl TempDb {
    pub fn new() -> Self {
        let name = format!(
            "grantor-test-{}.db",
            &AccessToken::generate().digest().to_hex()[..16]
        );
        Self(std::env::temp_dir().join(name))
    }

    pub fn url(&self) -> String {
        format!("sqlite:{}", self.0.display())
    }

    pub async fn open(&self) -> SqliteStorage {
        SqliteStorage::open(&self.url()).await.unwrap()
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}
