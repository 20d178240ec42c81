//! The growth bench's purge: runs `purge_expired` on a database for a time `SECONDS` ahead of
//! now (so that rows the server still serves count as expired), and prints how many rows it
//! deleted and how long it took.
//!
//! ```sh
//! bench_http_purge sqlite:/tmp/grantor-growth.db 10800
//! bench_http_purge postgres://postgres@127.0.0.1:5432/grantor_growth 10800
//! ```

use std::time::Instant;

use grantor::storage::TokenStore;
use grantor::{Clock, SystemClock, Timestamp};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("usage: bench_http_purge URL SECONDS")?;
    let ahead: u64 = args.next().ok_or("missing SECONDS")?.parse()?;
    let at = Timestamp::from_secs(SystemClock.now().as_secs() + ahead);
    let started = Instant::now();
    let deleted = if url.starts_with("sqlite:") {
        let storage = grantor::storage::SqliteStorage::open(&url).await?;
        storage.purge_expired(at).await?
    } else {
        let storage = grantor::storage::PostgresStorage::connect(&url).await?;
        storage.purge_expired(at).await?
    };
    println!(
        "purge_expired deleted {deleted} rows in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
