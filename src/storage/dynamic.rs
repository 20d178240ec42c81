//! [`DynStorage`]: any [`Storage`] behind one type.
//!
//! The store traits return `impl Future` and take a generic exchange function, so that the
//! server calls a backend without boxing anything on the hot path; that also makes them
//! unusable as `dyn` trait objects. A host that chooses its backend at run time (from a
//! command-line flag, say) wraps it in a [`DynStorage`] instead, which erases the type behind
//! an object-safe mirror of the traits at the cost of one boxed future per call.

use std::fmt;
use std::sync::Arc;

use super::{
    ClientStore, ConsentStore, Decision, Digest, Exchange, ExchangeKind, ExchangeRecord, GrantId,
    NewTokens, Storage, TokenRecord, TokenStore,
};
use crate::BoxFuture;
use crate::client::Client;
use crate::error::Error;
use crate::time::Timestamp;

/// Any storage, its type erased: a server over `DynStorage` works with whichever backend it
/// was given at run time. Cheap to clone (clones share the backend). It erases the required
/// stores only; an optional store such as a [`ReplayCache`](super::ReplayCache) is object-safe
/// already and is handed to the feature that needs it as an `Arc<dyn …>`.
///
/// ```
/// use grantor::storage::{DynStorage, MemoryStorage};
/// use grantor::{Config, Server};
///
/// # fn main() -> Result<(), grantor::Error> {
/// let storage = DynStorage::new(MemoryStorage::new()); // or a SQL backend, chosen at run time
/// let server: Server<DynStorage> = Server::new(Config::builder("https://a.example").build()?, storage);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DynStorage(Arc<dyn ErasedStorage>);

impl DynStorage {
    /// Erases the type of `storage`.
    pub fn new<S: Storage>(storage: S) -> Self {
        Self(Arc::new(storage))
    }
}

impl fmt::Debug for DynStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DynStorage")
    }
}

type BoxedExchangeFn<'a> = Box<dyn FnOnce(&ExchangeRecord) -> Decision + Send + 'a>;

/// The object-safe mirror of [`ClientStore`] and [`TokenStore`].
trait ErasedStorage: Send + Sync {
    fn client<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Client>, Error>>;
    fn save_client(&self, client: Client) -> BoxFuture<'_, Result<(), Error>>;
    fn delete_client<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, Error>>;
    fn save_tokens(&self, tokens: NewTokens) -> BoxFuture<'_, Result<bool, Error>>;
    fn access_token<'a>(
        &'a self,
        digest: &'a Digest,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<Option<Arc<TokenRecord>>, Error>>;
    fn revoke_access_token<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, Result<(), Error>>;
    fn save_record(
        &self,
        digest: Digest,
        record: ExchangeRecord,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<(), Error>>;
    fn record<'a>(
        &'a self,
        kind: ExchangeKind,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<Option<ExchangeRecord>, Error>>;
    fn exchange<'a>(
        &'a self,
        kind: ExchangeKind,
        digest: &'a Digest,
        now: Timestamp,
        exchange: BoxedExchangeFn<'a>,
    ) -> BoxFuture<'a, Result<Exchange, Error>>;
    fn revoke_grant<'a>(&'a self, grant: &'a GrantId) -> BoxFuture<'a, Result<(), Error>>;
    fn purge_expired(&self, now: Timestamp) -> BoxFuture<'_, Result<u64, Error>>;
    fn consent_store(&self) -> Option<&dyn ConsentStore>;
}

impl<S: Storage> ErasedStorage for S {
    fn client<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Client>, Error>> {
        Box::pin(ClientStore::client(self, id))
    }

    fn save_client(&self, client: Client) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(ClientStore::save_client(self, client))
    }

    fn delete_client<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(ClientStore::delete_client(self, id))
    }

    fn save_tokens(&self, tokens: NewTokens) -> BoxFuture<'_, Result<bool, Error>> {
        Box::pin(TokenStore::save_tokens(self, tokens))
    }

    fn access_token<'a>(
        &'a self,
        digest: &'a Digest,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<Option<Arc<TokenRecord>>, Error>> {
        Box::pin(TokenStore::access_token(self, digest, now))
    }

    fn revoke_access_token<'a>(&'a self, digest: &'a Digest) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(TokenStore::revoke_access_token(self, digest))
    }

    fn save_record(
        &self,
        digest: Digest,
        record: ExchangeRecord,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(TokenStore::save_record(self, digest, record, now))
    }

    fn record<'a>(
        &'a self,
        kind: ExchangeKind,
        digest: &'a Digest,
    ) -> BoxFuture<'a, Result<Option<ExchangeRecord>, Error>> {
        Box::pin(TokenStore::record(self, kind, digest))
    }

    fn exchange<'a>(
        &'a self,
        kind: ExchangeKind,
        digest: &'a Digest,
        now: Timestamp,
        exchange: BoxedExchangeFn<'a>,
    ) -> BoxFuture<'a, Result<Exchange, Error>> {
        Box::pin(TokenStore::exchange(self, kind, digest, now, exchange))
    }

    fn revoke_grant<'a>(&'a self, grant: &'a GrantId) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(TokenStore::revoke_grant(self, grant))
    }

    fn purge_expired(&self, now: Timestamp) -> BoxFuture<'_, Result<u64, Error>> {
        Box::pin(TokenStore::purge_expired(self, now))
    }

    fn consent_store(&self) -> Option<&dyn ConsentStore> {
        TokenStore::consent_store(self)
    }
}

impl ClientStore for DynStorage {
    async fn client(&self, id: &str) -> Result<Option<Client>, Error> {
        self.0.client(id).await
    }

    async fn save_client(&self, client: Client) -> Result<(), Error> {
        self.0.save_client(client).await
    }

    async fn delete_client(&self, id: &str) -> Result<bool, Error> {
        self.0.delete_client(id).await
    }
}

impl TokenStore for DynStorage {
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

    async fn exchange<F: super::ExchangeFn>(
        &self,
        kind: ExchangeKind,
        digest: &Digest,
        now: Timestamp,
        exchange: F,
    ) -> Result<Exchange, Error> {
        self.0.exchange(kind, digest, now, Box::new(exchange)).await
    }

    async fn revoke_grant(&self, grant: &GrantId) -> Result<(), Error> {
        self.0.revoke_grant(grant).await
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<u64, Error> {
        self.0.purge_expired(now).await
    }

    fn consent_store(&self) -> Option<&dyn ConsentStore> {
        self.0.consent_store()
    }
}
