//! Where grantor keeps clients, codes and tokens: the [`Storage`] trait, the records it stores,
//! and [`MemoryStorage`], the embedded default.
//!
//! # The contract
//!
//! * Codes and tokens are stored under the SHA-256 [`Digest`] of their secret, never in clear.
//! * Lookups by digest return only live records: not expired (`now < expires_at`), not revoked,
//!   and for refresh tokens not yet rotated.
//! * The exactly-once steps are single calls, decided by storage, never read-then-write in the
//!   grant logic:
//!   [`redeem_code`](Storage::redeem_code) and
//!   [`rotate_refresh_token`](Storage::rotate_refresh_token) take an `exchange` function — pure,
//!   synchronous, provided by grantor — and must, atomically, check the presented code or token
//!   is live, run `exchange` on its record, spend it, and store the tokens `exchange` returns.
//!   A SQL backend does this in one transaction, so a crash never leaves a spent code without
//!   its tokens.
//! * Everything issued under one authorization shares a [`GrantId`];
//!   [`revoke_grant`](Storage::revoke_grant) revokes all of it, including tokens that an
//!   exchange racing with the revocation is about to store.
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

mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use memory::{MemoryStats, MemoryStorage};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStorage;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStorage;
/// The sqlx crate the SQL backends are built on, for its connection and pool option types.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sqlx;

use std::future::Future;
use std::sync::Arc;

use crate::authenticator::OwnerId;
use crate::client::{Client, ClientId};
use crate::error::{Error, OAuthError};
use crate::pkce::CodeChallenge;
use crate::scope::ScopeSet;
use crate::time::Timestamp;
use crate::token::{Digest, GrantId};

/// An authorization code as stored under the digest of the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    /// The grant the code starts; its tokens share it.
    pub grant: GrantId,
    /// The client the code was issued to.
    pub client_id: ClientId,
    /// The resource owner who approved it.
    pub owner: OwnerId,
    /// The redirect URI the code was delivered to.
    pub redirect_uri: String,
    /// Whether the authorization request named `redirect_uri` (then the token request must
    /// repeat it, RFC 6749 §4.1.3).
    pub redirect_uri_sent: bool,
    /// The scope the owner granted.
    pub scope: ScopeSet,
    /// The PKCE challenge the code is bound to, if any.
    pub challenge: Option<CodeChallenge>,
    /// When the code was issued.
    pub issued_at: Timestamp,
    /// When the code stops being redeemable.
    pub expires_at: Timestamp,
}

/// An access or refresh token as stored under the digest of the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The grant the token belongs to.
    pub grant: GrantId,
    /// The client the token was issued to.
    pub client_id: ClientId,
    /// The resource owner, or `None` for an app token (client credentials).
    pub owner: Option<OwnerId>,
    /// The granted scope.
    pub scope: ScopeSet,
    /// When the token was issued.
    pub issued_at: Timestamp,
    /// When the token expires.
    pub expires_at: Timestamp,
}

/// A token's digest together with its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    /// The digest of the token's secret: the storage key.
    pub digest: Digest,
    /// What the token grants.
    pub record: TokenRecord,
}

/// The tokens issued by one grant step, to be stored together. Both belong to the same grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTokens {
    /// The new access token.
    pub access: StoredToken,
    /// The new refresh token, if one is issued.
    pub refresh: Option<StoredToken>,
}

impl NewTokens {
    /// The grant the tokens belong to.
    pub fn grant(&self) -> GrantId {
        self.access.record.grant
    }

    /// When the last of these tokens expires.
    pub fn expires_at(&self) -> Timestamp {
        let access = self.access.record.expires_at;
        self.refresh
            .as_ref()
            .map_or(access, |refresh| access.max(refresh.record.expires_at))
    }
}

/// The outcome of an exactly-once exchange ([`Storage::redeem_code`],
/// [`Storage::rotate_refresh_token`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exchange {
    /// The exchange succeeded: the presented code or refresh token is spent and the tokens the
    /// exchange function returned are stored.
    Issued,
    /// The exchange function refused with this error. A code is spent all the same; a refresh
    /// token is left as it was.
    Refused(OAuthError),
    /// The code was already redeemed, or the refresh token already rotated: a replay. The caller
    /// revokes the grant.
    Replayed(GrantId),
    /// No live code or refresh token has this digest (never issued, expired or revoked).
    Unknown,
}

/// The pure, synchronous check-and-mint step grantor runs inside an exchange.
pub trait ExchangeFn<R>: FnOnce(&R) -> Result<NewTokens, OAuthError> + Send {}
impl<R, F: FnOnce(&R) -> Result<NewTokens, OAuthError> + Send> ExchangeFn<R> for F {}

/// Persistent state of an authorization server. See the [module docs](self) for the contract.
///
/// Implementations are shared by every request (`&self`), so they synchronize internally.
pub trait Storage: Send + Sync + 'static {
    /// The registered client with this id.
    fn client(&self, id: &str) -> impl Future<Output = Result<Option<Client>, Error>> + Send;

    /// Registers a client, replacing any client with the same id.
    fn save_client(&self, client: Client) -> impl Future<Output = Result<(), Error>> + Send;

    /// Stores a new authorization code under its digest.
    fn save_code(
        &self,
        digest: Digest,
        code: CodeRecord,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Atomically redeems a code: if it is live, runs `exchange` on it, marks it redeemed
    /// whatever `exchange` returns, and stores the tokens on success. A redeemed code is kept
    /// until the tokens it issued expire ([`NewTokens::expires_at`]) — past its own expiry —
    /// and presenting it again yields [`Exchange::Replayed`] all that time, so that a late replay
    /// still revokes them (RFC 6749 §4.1.2).
    fn redeem_code<F: ExchangeFn<CodeRecord>>(
        &self,
        digest: &Digest,
        now: Timestamp,
        exchange: F,
    ) -> impl Future<Output = Result<Exchange, Error>> + Send;

    /// Stores freshly issued tokens of a new grant.
    fn save_tokens(&self, tokens: NewTokens) -> impl Future<Output = Result<(), Error>> + Send;

    /// The live access token with this digest. Bearer validation calls this on every protected
    /// request; the record is shared so that a backend holding it in memory hands it out
    /// without copying it (a copy would touch the reference counts of the client id and scope
    /// that all of a client's tokens share, from every thread at once).
    fn access_token(
        &self,
        digest: &Digest,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<Arc<TokenRecord>>, Error>> + Send;

    /// The live (unexpired, unrevoked, not rotated) refresh token with this digest.
    fn refresh_token(
        &self,
        digest: &Digest,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<TokenRecord>, Error>> + Send;

    /// Atomically exchanges a refresh token: if it is live, runs `exchange` on it; on success
    /// stores the new tokens and, when they include a new refresh token, marks the presented one
    /// rotated (kept until it expires, so that a replay is recognised). On refusal nothing
    /// changes. A rotated token yields [`Exchange::Replayed`] for as long as it is kept.
    fn rotate_refresh_token<F: ExchangeFn<TokenRecord>>(
        &self,
        digest: &Digest,
        now: Timestamp,
        exchange: F,
    ) -> impl Future<Output = Result<Exchange, Error>> + Send;

    /// Revokes one access token. Unknown digests are not an error.
    fn revoke_access_token(
        &self,
        digest: &Digest,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Revokes everything issued under a grant: codes, access tokens and refresh tokens, and
    /// refuses tokens an in-flight exchange would still add to it.
    fn revoke_grant(&self, grant: &GrantId) -> impl Future<Output = Result<(), Error>> + Send;

    /// Deletes expired records; returns how many were deleted. Hosts of SQL backends schedule
    /// this; [`MemoryStorage`] also does it on its own.
    fn purge_expired(&self, now: Timestamp) -> impl Future<Output = Result<u64, Error>> + Send;
}
