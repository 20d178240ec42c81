//! Where grantor keeps clients, codes and tokens: the focused store traits, the records they
//! keep, and [`MemoryStorage`], the embedded default.
//!
//! # The stores
//!
//! | trait | keeps | needed |
//! |---|---|---|
//! | [`ClientStore`] | registered clients | always |
//! | [`TokenStore`] | access tokens, [`ExchangeRecord`]s (codes, refresh tokens, extensions' records) and grants | always |
//! | [`ReplayCache`] | identifiers seen once (a proof's or assertion's `jti`) | by the features that check them |
//! | [`KeyStore`] | signing keys, shared by a fleet | by OpenID Connect (feature `oidc`) |
//! | [`ConsentStore`] | what an owner granted a client, and the grants it started | by remembered consent |
//!
//! A backend implements [`ClientStore`] and [`TokenStore`]; [`Storage`] is implemented for
//! every type that has both. The optional stores are plugged in where a feature needs them,
//! so a backend implements only what it serves. [`DynStorage`] puts any storage behind one
//! type, for a host that picks its backend at run time.
//!
//! # The contract
//!
//! * Codes and tokens are stored under the SHA-256 [`Digest`] of their secret (of an access
//!   token's whole text, whatever its format), never in clear.
//! * [`TokenStore::access_token`] returns only live records: unexpired (`now < expires_at`) and
//!   unrevoked.
//! * The exactly-once steps are single calls, never read-then-write in the grant logic:
//!   [`TokenStore::exchange`] takes a function — pure, synchronous, provided by grantor — and
//!   must, atomically, find the record of that kind and digest, run the function on it, store
//!   the record's new state and the tokens the function's [`Decision`] names. A SQL backend
//!   does this in one transaction that locks the record, so that a crash never leaves a spent
//!   code without its tokens and two racing requests never both see the record unspent.
//! * Everything issued under one authorization shares a [`GrantId`];
//!   [`TokenStore::revoke_grant`] revokes all of it, including tokens that an exchange racing
//!   with the revocation is about to store.
//! * A record is kept until its `retain_until`, spent or not, so that a late replay of a code or
//!   of a rotated refresh token is still recognised; [`TokenStore::purge_expired`] deletes what
//!   is past it.
//!
//! # Backends
//!
//! | backend | feature | for |
//! |---|---|---|
//! | [`MemoryStorage`] | always | tests, demos, one process whose tokens may die with it |
//! | `SqliteStorage` | `sqlite` | one server process whose tokens survive a restart |
//! | `PostgresStorage` | `postgres` | several server instances sharing one store |
//!
//! To write your own, run the conformance suite in `testkit` (feature `testkit`) against it.

mod dynamic;
mod exchange;
mod memory;
mod optional;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) mod read_cache;
mod records;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) mod sql;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) mod sql_batch;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql_limiter;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use dynamic::DynStorage;
pub use exchange::{Decision, Exchange, ExchangeFn, ExchangeKind, ExchangeRecord, RecordData};
pub use memory::{MemoryStats, MemoryStorage};
pub use optional::{Consent, ConsentStore, KeyRecord, KeyStore, ReplayCache};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStorage;
pub use records::{
    Actor, CodeRecord, NewTokens, OpenIdContext, Rotation, StoredRecord, StoredToken, TokenRecord,
};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sql_limiter::SqlLimiter;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStorage;
/// The sqlx crate the SQL backends are built on, for its connection and pool option types.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sqlx;

pub use crate::token::keys::{Digest, GrantId};

use std::future::Future;
use std::sync::Arc;

use crate::client::Client;
use crate::error::Error;
use crate::time::Timestamp;

/// Where registered clients live.
///
/// Implementations are shared by every request (`&self`), so they synchronize internally.
pub trait ClientStore: Send + Sync + 'static {
    /// The registered client with this id.
    fn client(&self, id: &str) -> impl Future<Output = Result<Option<Client>, Error>> + Send;

    /// Registers a client, replacing any client with the same id.
    fn save_client(&self, client: Client) -> impl Future<Output = Result<(), Error>> + Send;

    /// Deletes a client and, in the same step, revokes everything issued to it: the grants of
    /// its access tokens and of the exchange records whose data names it in `client_id`
    /// (codes, refresh tokens, an extension's records that follow this convention) are
    /// revoked as [`TokenStore::revoke_grant`] revokes them, and the consent remembered for
    /// it is forgotten. Returns whether a client was deleted (`false`: there was none; its
    /// tokens are revoked all the same).
    ///
    /// The default refuses with an error saying the backend cannot delete clients, so that a
    /// backend written before this method keeps compiling; every grantor backend implements
    /// it. `testkit::client_deletion` (feature `testkit`) checks an implementation.
    fn delete_client(&self, id: &str) -> impl Future<Output = Result<bool, Error>> + Send {
        let _ = id;
        std::future::ready(Err(Error::config(
            "this storage backend cannot delete clients",
        )))
    }
}

/// Where codes, tokens and grants live. See the [module docs](self) for the contract.
///
/// Implementations are shared by every request (`&self`), so they synchronize internally.
pub trait TokenStore: Send + Sync + 'static {
    /// Stores freshly issued tokens as part of their grant: `true` when stored, `false` when
    /// the grant was revoked (then nothing is stored).
    fn save_tokens(&self, tokens: NewTokens) -> impl Future<Output = Result<bool, Error>> + Send;

    /// The live access token with this digest. Bearer validation calls this on every protected
    /// request; the record is shared so that a backend holding it in memory hands it out
    /// without copying it (a copy would touch the reference counts of the client id and scope
    /// that all of a client's tokens share, from every thread at once).
    fn access_token(
        &self,
        digest: &Digest,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<Arc<TokenRecord>>, Error>> + Send;

    /// Revokes one access token. Unknown digests are not an error.
    fn revoke_access_token(
        &self,
        digest: &Digest,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Stores a new exchange record (a code, an extension's record) under the digest of its
    /// secret, as part of its grant. A record of a revoked grant is dropped. `now` is the time
    /// of the request (a backend may drop records expired by then).
    fn save_record(
        &self,
        digest: Digest,
        record: ExchangeRecord,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// The record of this kind under this digest, as stored: live, expired or spent, for as
    /// long as it is kept (until its `retain_until`). `None` when there is none, or it belongs
    /// to a revoked grant.
    fn record(
        &self,
        kind: ExchangeKind,
        digest: &Digest,
    ) -> impl Future<Output = Result<Option<ExchangeRecord>, Error>> + Send;

    /// The exactly-once primitive. Atomically: finds the record of this kind under this digest
    /// (as [`record`](Self::record) would; [`Exchange::Unknown`] without running `exchange`
    /// when there is none), runs `exchange` on it, then applies the [`Decision`]: stores the
    /// record's new state ([`Decision::take_record`]) and the tokens it names
    /// ([`Decision::take_tokens`]: always of the record's grant, attached to it unless it was
    /// revoked), and answers [`Decision::finish`]. Nothing else may change the record between the read and
    /// the write. `now` is the time of the request (for housekeeping only: the decision is the
    /// function's).
    fn exchange<F: ExchangeFn>(
        &self,
        kind: ExchangeKind,
        digest: &Digest,
        now: Timestamp,
        exchange: F,
    ) -> impl Future<Output = Result<Exchange, Error>> + Send;

    /// Revokes everything issued under a grant: its records and access tokens, and refuses
    /// tokens and records an in-flight exchange would still add to it.
    fn revoke_grant(&self, grant: &GrantId) -> impl Future<Output = Result<(), Error>> + Send;

    /// Deletes expired records (those past their `retain_until`, access tokens past their
    /// `expires_at`); returns how many were deleted. Hosts of SQL backends schedule this;
    /// [`MemoryStorage`] also does it on its own.
    fn purge_expired(&self, now: Timestamp) -> impl Future<Output = Result<u64, Error>> + Send;

    /// The backend's [`ConsentStore`], if it keeps remembered consent (every grantor backend
    /// does; the default is `None`). With one, each approval records its grant for the owner
    /// and client, and [`Server::revoke_consent`](crate::Server::revoke_consent) revokes
    /// those grants.
    fn consent_store(&self) -> Option<&dyn ConsentStore> {
        None
    }
}

/// Persistent state of an authorization server: a [`ClientStore`] and a [`TokenStore`].
/// Implemented for every type that is both; implement those two.
pub trait Storage: ClientStore + TokenStore {}

impl<T: ClientStore + TokenStore> Storage for T {}
