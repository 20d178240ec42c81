//! [`SqlLimiter`]: the failed-attempt counts of a fleet, shared in a SQL backend's
//! `grantor_limits` table.

use std::fmt;
use std::time::Duration;

use crate::limit::{Check, LimitKey};
use crate::time::Timestamp;
use crate::token::Digest;

/// A [`Limiter`](crate::Limiter) for a fleet: failed attempts counted in the `grantor_limits`
/// table of a [`SqliteStorage`](crate::storage::SqliteStorage) or
/// [`PostgresStorage`](crate::storage::PostgresStorage), so that every instance sees every
/// other's failures (C-OB-3).
///
/// At most `max_failures` failed attempts per key within `window`, the window sliding in
/// tenths of itself (failures are counted in buckets of a tenth of the window, at least one
/// second; the oldest bucket leaves whole). Keys are stored as SHA-256 digests, never a
/// username in clear. [`TokenStore::purge_expired`](crate::storage::TokenStore::purge_expired)
/// deletes buckets that have left the window. Each check is one query per key; a database
/// error refuses the attempt with `server_error`.
///
/// ```no_run
/// use std::time::Duration;
/// use grantor::Config;
/// use grantor::storage::{PostgresStorage, SqlLimiter};
///
/// # async fn run(storage: PostgresStorage) -> Result<(), grantor::Error> {
/// let config = Config::builder("https://auth.example.com")
///     .limiter(SqlLimiter::new(storage.clone(), 10, Duration::from_secs(300)))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SqlLimiter<S> {
    storage: S,
    max_failures: u32,
    window: Duration,
}

impl<S> SqlLimiter<S> {
    /// A limiter allowing `max_failures` failed attempts per key within `window` (at least one
    /// failure, and one second), counted in `storage`'s database.
    pub fn new(storage: S, max_failures: u32, window: Duration) -> Self {
        Self {
            storage,
            max_failures: max_failures.max(1),
            window: window.max(Duration::from_secs(1)),
        }
    }

    pub(crate) fn storage(&self) -> &S {
        &self.storage
    }

    pub(crate) fn max_failures(&self) -> u32 {
        self.max_failures
    }

    /// At `now`: the last instant before the window (buckets after it count), the start of the
    /// current bucket, and when that bucket leaves every window.
    pub(crate) fn buckets(&self, now: Timestamp) -> (Timestamp, Timestamp, Timestamp) {
        let window = self.window.as_secs();
        let length = (window / 10).max(1);
        let now = now.as_secs();
        let bucket = now - now % length;
        (
            Timestamp::from_secs(now.saturating_sub(window)),
            Timestamp::from_secs(bucket),
            Timestamp::from_secs(bucket.saturating_add(length).saturating_add(window)),
        )
    }

    /// The stored key: a digest of the check, the kind of key and its value.
    pub(crate) fn key(check: Check, key: &LimitKey) -> String {
        let check = match check {
            Check::ClientSecret => "client_secret",
            Check::Password => "password",
        };
        let text = match key {
            LimitKey::Client(id) => format!("{check}\nclient\n{id}"),
            LimitKey::Account(name) => format!("{check}\naccount\n{name}"),
            LimitKey::Address(ip) => format!("{check}\naddress\n{ip}"),
        };
        Digest::of(&text).to_hex()
    }
}

impl<S> fmt::Debug for SqlLimiter<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlLimiter")
            .field("max_failures", &self.max_failures)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}
