//! The storage conformance suite against the embedded [`MemoryStorage`].
#![cfg(feature = "testkit")]

mod common;

use grantor::MemoryStorage;

// C-SE-1, C-SE-4, C-TK-5, C-TK-11: the memory store keeps the whole Storage contract.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_storage_passes_the_testkit() {
    grantor::storage::testkit::run(MemoryStorage::new()).await;
}

// C-SE-4, C-KY-3: its replay cache tells a first use from a replay, also under races, and its
// key and consent stores keep their contracts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_storage_passes_the_optional_store_testkits() {
    grantor::storage::testkit::replay_cache(MemoryStorage::new()).await;
    grantor::storage::testkit::key_store(MemoryStorage::new()).await;
    grantor::storage::testkit::consent_store(MemoryStorage::new()).await;
    grantor::storage::testkit::client_deletion(MemoryStorage::new()).await;
}

// C-TK-5: a spent code is kept (and revoked with its grant) as long as its tokens, even when
// the grant's index has been pruned many times since: a grant refreshed for a long while past
// the code's own expiry still revokes its code.
#[tokio::test]
async fn a_long_refreshed_grant_still_revokes_its_spent_code() {
    use grantor::storage::{Digest, ExchangeKind, TokenStore};

    let fx = common::Fixture::new().await;
    let code = fx.app_code().await;
    let tokens = common::json(&fx.redeem_app_code(&code).await);
    let mut refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    for _ in 0..40 {
        fx.advance(120);
        let response = fx
            .server
            .token(&common::refresh_request((common::APP, None), &refresh, &[]))
            .await;
        assert_eq!(response.status(), 200, "{}", common::body_text(&response));
        refresh = common::json(&response)["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
    }
    let digest = Digest::of(&code);
    let stored = fx
        .storage()
        .record(ExchangeKind::CODE, &digest)
        .await
        .unwrap();
    assert!(stored.is_some_and(|r| r.spent), "the spent code is kept");
    let replay = fx.redeem_app_code(&code).await;
    common::assert_error(&replay, 400, "invalid_grant");
    assert!(!common::refresh_is_live(&fx, &refresh).await);
    let stored = fx
        .storage()
        .record(ExchangeKind::CODE, &digest)
        .await
        .unwrap();
    assert!(stored.is_none(), "revoking the grant removes its code");
}
