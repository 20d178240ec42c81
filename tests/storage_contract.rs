//! What grantor does when a storage backend breaks the `Storage` contract: an exchange that
//! reports `Issued` without having run the exchange function is a `server_error` reported to
//! the host, never a token response with made-up contents.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use grantor::storage::{CodeRecord, Exchange, ExchangeFn, NewTokens, TokenRecord};
use grantor::{Client, Digest, Error, GrantId, MemoryStorage, Storage, Timestamp};

/// `MemoryStorage`, except that redeeming a code or rotating a refresh token claims success
/// without running the exchange function or storing anything.
#[derive(Default)]
struct Careless(MemoryStorage);

impl Storage for Careless {
    async fn client(&self, id: &str) -> Result<Option<Client>, Error> {
        self.0.client(id).await
    }

    async fn save_client(&self, client: Client) -> Result<(), Error> {
        self.0.save_client(client).await
    }

    async fn save_code(&self, digest: Digest, code: CodeRecord) -> Result<(), Error> {
        self.0.save_code(digest, code).await
    }

    async fn redeem_code<F: ExchangeFn<CodeRecord>>(
        &self,
        _: &Digest,
        _: Timestamp,
        _: F,
    ) -> Result<Exchange, Error> {
        Ok(Exchange::Issued)
    }

    async fn save_tokens(&self, tokens: NewTokens) -> Result<(), Error> {
        self.0.save_tokens(tokens).await
    }

    async fn access_token(
        &self,
        digest: &Digest,
        now: Timestamp,
    ) -> Result<Option<Arc<TokenRecord>>, Error> {
        self.0.access_token(digest, now).await
    }

    async fn refresh_token(
        &self,
        digest: &Digest,
        now: Timestamp,
    ) -> Result<Option<TokenRecord>, Error> {
        self.0.refresh_token(digest, now).await
    }

    async fn rotate_refresh_token<F: ExchangeFn<TokenRecord>>(
        &self,
        _: &Digest,
        _: Timestamp,
        _: F,
    ) -> Result<Exchange, Error> {
        Ok(Exchange::Issued)
    }

    async fn revoke_access_token(&self, digest: &Digest) -> Result<(), Error> {
        self.0.revoke_access_token(digest).await
    }

    async fn revoke_grant(&self, grant: &GrantId) -> Result<(), Error> {
        self.0.revoke_grant(grant).await
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<u64, Error> {
        self.0.purge_expired(now).await
    }
}

#[tokio::test]
async fn issued_without_an_exchange_is_a_server_error() {
    let reported = Arc::new(Mutex::new(Vec::new()));
    let sink = reported.clone();
    let fx = Fixture::with_storage(Careless::default(), move |c| {
        c.on_internal_error(move |error| sink.lock().unwrap().push(error.to_string()))
    })
    .await;

    let code = fx.app_code().await;
    let response = fx.redeem_app_code(&code).await;
    assert_error(&response, 500, "server_error");
    assert!(!body_text(&response).contains("access_token"));

    let response = fx
        .server
        .token(&refresh_request((APP, None), "a-refresh-token", &[]))
        .await;
    assert_error(&response, 500, "server_error");

    let reported = reported.lock().unwrap();
    assert_eq!(reported.len(), 2, "{reported:?}");
    assert!(reported[0].contains("did not issue"), "{reported:?}");
    assert_eq!(fx.storage().0.stats().access_tokens, 0);
}
