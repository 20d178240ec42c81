//! Bytes per live access token in `MemoryStorage` at 1,000,000 tokens, and proof that expired
//! tokens are reclaimed, both by `Storage::purge_expired` and by the automatic sweep.
//!
//! Tokens are issued through the client credentials grant (one grant, one access token each),
//! and a counting global allocator measures the heap held before and after. Run with
//! `cargo bench --bench memory`.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use grantor::storage::TokenStore;
use http::StatusCode;
use support::*;

/// Counts the bytes currently allocated, then defers to the system allocator.
struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the counter
// is only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(new_size, Ordering::Relaxed);
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const TOKENS: usize = 1_000_000;

fn allocated() -> usize {
    ALLOCATED.load(Ordering::Relaxed)
}

fn main() {
    let (server, clock) = grantor_server();
    let storage = server.storage();
    let request = client_credentials_request();
    let issue = |n: usize| {
        for _ in 0..n {
            let response = run(server.token(&request));
            assert_eq!(response.status(), StatusCode::OK);
        }
    };

    let empty = allocated();
    issue(TOKENS);
    let full = allocated();
    let per_token = (full - empty) as f64 / TOKENS as f64;
    println!(
        "memory/live_tokens: {TOKENS} access tokens, {:?}",
        storage.stats()
    );
    println!(
        "memory/bytes_per_token: {per_token:.1} bytes per live access token ({} bytes in all)",
        full - empty
    );

    // Past every token's lifetime: an explicit purge gives the memory back.
    expire(&clock);
    let removed = run(storage.purge_expired(server.now())).expect("purge");
    let purged = allocated();
    println!(
        "memory/purge_expired: removed {removed} records; {} bytes still held ({:.1}% of the 1M-token peak), {:?}",
        purged - empty,
        100.0 * (purged - empty) as f64 / (full - empty) as f64,
        storage.stats()
    );

    // Without a purge: fill up again, let everything expire, and keep issuing. The automatic
    // sweep drops the expired tokens as the shards grow, so the store holds the live tokens, not
    // every token ever issued.
    issue(TOKENS);
    expire(&clock);
    issue(TOKENS);
    let swept = allocated();
    let stats = storage.stats();
    println!(
        "memory/automatic_sweep: after {} tokens issued, {TOKENS} of them live: {} access tokens held, {:.1} bytes per live token, {:?}",
        2 * TOKENS,
        stats.access_tokens,
        (swept - empty) as f64 / TOKENS as f64,
        stats
    );
}
