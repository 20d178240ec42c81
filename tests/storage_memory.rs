//! The storage conformance suite against the embedded [`MemoryStorage`].
#![cfg(feature = "testkit")]

use grantor::MemoryStorage;

// C-SE-1, C-SE-4, C-TK-5, C-TK-11: the memory store keeps the whole Storage contract.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_storage_passes_the_testkit() {
    grantor::storage::testkit::run(MemoryStorage::new()).await;
}

// C-SE-4: its replay cache tells a first use from a replay, also under races.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_storage_passes_the_replay_cache_testkit() {
    grantor::storage::testkit::replay_cache(MemoryStorage::new()).await;
}
