//! The storage contract from a host's side: a backend written outside the crate that
//! implements only the required stores passes the conformance suite and serves every flow;
//! and what grantor does when a backend breaks the contract.
#![cfg(feature = "testkit")]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use common::*;
use grantor::storage::{
    ClientStore, Digest, DynStorage, Exchange, ExchangeFn, ExchangeKind, ExchangeRecord, GrantId,
    NewTokens, TokenRecord, TokenStore,
};
use grantor::{Client, Error, MemoryStorage, Requirement, Timestamp};

/// The simplest backend a host could write: one map per store behind one lock, and only the
/// two required stores (no replay cache). Every step holds the lock, so every step is atomic.
#[derive(Clone, Default)]
struct Minimal(Arc<Mutex<Maps>>);

#[derive(Default)]
struct Maps {
    clients: HashMap<String, Client>,
    access: HashMap<Digest, Arc<TokenRecord>>,
    records: HashMap<Digest, ExchangeRecord>,
    revoked: Vec<GrantId>,
}

impl Minimal {
    fn maps(&self) -> MutexGuard<'_, Maps> {
        self.0.lock().unwrap()
    }
}

impl Maps {
    /// Stores tokens unless their grant was revoked; whether they were stored.
    fn attach(&mut self, tokens: NewTokens) -> bool {
        if self.revoked.contains(&tokens.grant()) {
            return false;
        }
        let access = tokens.access;
        self.access.insert(access.digest, access.record);
        if let Some(refresh) = tokens.refresh {
            self.records.insert(refresh.digest, refresh.record);
        }
        true
    }
}

impl ClientStore for Minimal {
    async fn client(&self, id: &str) -> Result<Option<Client>, Error> {
        Ok(self.maps().clients.get(id).cloned())
    }

    async fn save_client(&self, client: Client) -> Result<(), Error> {
        let id = client.id().as_str().to_owned();
        self.maps().clients.insert(id, client);
        Ok(())
    }
}

impl TokenStore for Minimal {
    async fn save_tokens(&self, tokens: NewTokens) -> Result<bool, Error> {
        Ok(self.maps().attach(tokens))
    }

    async fn access_token(
        &self,
        digest: &Digest,
        now: Timestamp,
    ) -> Result<Option<Arc<TokenRecord>>, Error> {
        let maps = self.maps();
        Ok(maps.access.get(digest).filter(|r| r.is_live(now)).cloned())
    }

    async fn revoke_access_token(&self, digest: &Digest) -> Result<(), Error> {
        self.maps().access.remove(digest);
        Ok(())
    }

    async fn save_record(
        &self,
        digest: Digest,
        record: ExchangeRecord,
        _: Timestamp,
    ) -> Result<(), Error> {
        let mut maps = self.maps();
        if !maps.revoked.contains(&record.grant) {
            maps.records.insert(digest, record);
        }
        Ok(())
    }

    async fn record(
        &self,
        kind: ExchangeKind,
        digest: &Digest,
    ) -> Result<Option<ExchangeRecord>, Error> {
        let maps = self.maps();
        Ok(maps.records.get(digest).filter(|r| r.kind == kind).cloned())
    }

    async fn exchange<F: ExchangeFn>(
        &self,
        kind: ExchangeKind,
        digest: &Digest,
        _: Timestamp,
        exchange: F,
    ) -> Result<Exchange, Error> {
        let mut maps = self.maps();
        let Some(record) = maps.records.get(digest).filter(|r| r.kind == kind) else {
            return Ok(Exchange::Unknown);
        };
        let grant = record.grant;
        let mut decision = exchange(record);
        if let Some(changed) = decision.take_record() {
            maps.records.insert(*digest, changed);
        }
        let stored = match decision.take_tokens(grant) {
            Some(tokens) => maps.attach(tokens),
            None => true,
        };
        Ok(decision.finish(grant, stored))
    }

    async fn revoke_grant(&self, grant: &GrantId) -> Result<(), Error> {
        let mut maps = self.maps();
        maps.access.retain(|_, r| r.grant != *grant);
        maps.records.retain(|_, r| r.grant != *grant);
        maps.revoked.push(*grant);
        Ok(())
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<u64, Error> {
        let mut maps = self.maps();
        let before = maps.access.len() + maps.records.len();
        maps.access.retain(|_, r| r.is_live(now));
        maps.records
            .retain(|_, r| r.retain_until.max(r.expires_at) > now);
        Ok((before - maps.access.len() - maps.records.len()) as u64)
    }
}

// C-SE-4, C-TK-5, C-TK-11: a backend that implements only the required stores keeps the
// contract…
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backend_of_only_the_required_stores_passes_the_testkit() {
    grantor::storage::testkit::run(Minimal::default()).await;
}

// …and serves the flows: the code grant, a refresh, bearer validation and revocation.
#[tokio::test]
async fn a_backend_of_only_the_required_stores_serves_every_flow() {
    let fx = Fixture::with_storage(Minimal::default(), |c| c).await;
    let tokens = fx.app_tokens().await;
    let refresh = text(&tokens, "refresh_token");
    let response = fx
        .server
        .token(&refresh_request((APP, None), refresh, &[]))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let access = text(&json(&response), "access_token").to_owned();
    let grant = fx
        .server
        .validate_bearer(&bearer("/api", &access), &Requirement::user())
        .await;
    assert!(grant.is_ok(), "{grant:?}");
    // The rotated refresh token presented again revokes the family (C-TK-11).
    let replay = fx
        .server
        .token(&refresh_request((APP, None), refresh, &[]))
        .await;
    assert_error(&replay, 400, "invalid_grant");
    assert!(!access_is_live(&fx, &access).await);
}

// Any backend behind one type: `DynStorage` keeps the contract of the backend it wraps, and a
// server over it serves the flows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dyn_storage_passes_the_testkit_and_serves_the_flows() {
    grantor::storage::testkit::run(DynStorage::new(MemoryStorage::new())).await;
    let fx = Fixture::with_storage(DynStorage::new(Minimal::default()), |c| c).await;
    let tokens = fx.app_tokens().await;
    let access = text(&tokens, "access_token");
    assert!(access_is_live(&fx, access).await);
}

/// `MemoryStorage`, except that every exchange claims success without running the exchange
/// function or storing anything.
#[derive(Default)]
struct Careless(MemoryStorage);

impl ClientStore for Careless {
    async fn client(&self, id: &str) -> Result<Option<Client>, Error> {
        self.0.client(id).await
    }

    async fn save_client(&self, client: Client) -> Result<(), Error> {
        self.0.save_client(client).await
    }
}

impl TokenStore for Careless {
    async fn save_tokens(&self, tokens: NewTokens) -> Result<bool, Error> {
        self.0.save_tokens(tokens).await
    }

    async fn access_token(
        &self,
        digest: &Digest,
        now: Timestamp,
    ) -> Result<Option<Arc<TokenRecord>>, Error> {
        self.0.access_token(digest, now).await
    }

    async fn revoke_access_token(&self, digest: &Digest) -> Result<(), Error> {
        self.0.revoke_access_token(digest).await
    }

    async fn save_record(
        &self,
        digest: Digest,
        record: ExchangeRecord,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.0.save_record(digest, record, now).await
    }

    async fn record(
        &self,
        kind: ExchangeKind,
        digest: &Digest,
    ) -> Result<Option<ExchangeRecord>, Error> {
        self.0.record(kind, digest).await
    }

    async fn exchange<F: ExchangeFn>(
        &self,
        _: ExchangeKind,
        _: &Digest,
        _: Timestamp,
        _: F,
    ) -> Result<Exchange, Error> {
        Ok(Exchange::Issued)
    }

    async fn revoke_grant(&self, grant: &GrantId) -> Result<(), Error> {
        self.0.revoke_grant(grant).await
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<u64, Error> {
        self.0.purge_expired(now).await
    }
}

// A backend that reports `Issued` without running the exchange is a `server_error` reported
// to the host, never a token response with made-up contents.
#[tokio::test]
async fn issued_without_an_exchange_is_a_server_error() {
    let reported = Arc::new(Mutex::new(Vec::new()));
    let sink = reported.clone();
    let fx = Fixture::with_storage(Careless::default(), move |c| {
        c.on_internal_error(move |error, _| sink.lock().unwrap().push(error.to_string()))
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
