//! The grant seam: how a token request turns into tokens (RFC 6749 §4, §6).
//!
//! Every grant of the token endpoint implements [`Grant`] and is registered on the server by
//! its `grant_type`; the endpoint dispatches through that registry. What every grant shares
//! runs outside it, the same for the built-in grants and a host's own: parsing the request,
//! authenticating the client, checking that the client may use the grant, and writing the
//! response with its headers and the host's hook. A grant only does what is its own — check
//! its parameters, decide whom the tokens are for — and issues through the one issuing step
//! ([`GrantContext::issue`], or [`GrantContext::redeem`] for a record that may be exchanged only
//! once), so that every grant's tokens are the same records, in the same grant families, with
//! the same revocation.
//!
//! The built-in grants: [`AuthorizationCodeGrant`], [`RefreshTokenGrant`],
//! [`ClientCredentialsGrant`], [`PasswordGrant`] (registered with an
//! [`Authenticator`](crate::Authenticator)), and, registered by the host,
//! [`DeviceCodeGrant`] (RFC 8628) and [`TokenExchangeGrant`] (RFC 8693, with its policy). The
//! implicit grant has no token request; the
//! authorization endpoint issues its token through the same issuing step.

mod authorization_code;
mod client_credentials;
pub(crate) mod device;
mod issue;
mod password;
mod refresh_token;
mod token_exchange;

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, Method, Uri};

pub use authorization_code::AuthorizationCodeGrant;
pub use client_credentials::ClientCredentialsGrant;
pub use device::{
    DEVICE_CODE, DEVICE_CODE_GRANT_TYPE, DeviceCodeGrant, USER_CODE, USER_CODE_ALPHABET,
    USER_CODE_LENGTH,
};
pub use issue::{Issue, Issuer, Minter};
pub use password::PasswordGrant;
pub use refresh_token::RefreshTokenGrant;
pub use token_exchange::{
    ACCESS_TOKEN_TYPE, Allowance, ExchangePolicy, ExchangeRequest, ExchangeToken,
    ExchangeTokenType, ID_TOKEN_TYPE, JWT_TOKEN_TYPE, JwtVerifier, RefuseAll, TOKEN_EXCHANGE,
    TokenExchangeGrant,
};

use crate::BoxFuture;
use crate::audit::{AuditEvent, AuditKind};
use crate::client::{Client, GrantType};
use crate::config::Config;
use crate::error::{Error, Failure, OAuthError};
use crate::form::Params;
use crate::scope::ScopeSet;
use crate::server::Server;
use crate::storage::{Decision, Exchange, ExchangeKind, ExchangeRecord, Storage, TokenRecord};
use crate::time::Timestamp;
use crate::token::{Digest, TokenResponse};

/// A grant type of the token endpoint: what it does with a token request whose client has been
/// authenticated and allowed this grant.
///
/// A host adds a grant by implementing this trait and registering it with
/// [`ServerBuilder::grant`](crate::ServerBuilder::grant); registering a grant type that is
/// already registered replaces it. The server lists every registered grant type in its
/// metadata (`grant_types_supported`).
///
/// ```
/// use grantor::grant::{Grant, GrantContext, Issue};
/// use grantor::storage::Storage;
/// use grantor::token::TokenResponse;
/// use grantor::{BoxFuture, Failure, GrantType, OAuthError, OwnerId};
///
/// /// Exchanges an API key the host issued for a token of the key's owner.
/// struct ApiKeyGrant;
///
/// impl<S: Storage> Grant<S> for ApiKeyGrant {
///     fn grant_type(&self) -> GrantType {
///         GrantType::extension("urn:example:grant-type:api-key").expect("an absolute URI")
///     }
///
///     fn exchange<'a>(&'a self, ctx: GrantContext<'a, S>) -> BoxFuture<'a, Result<TokenResponse, Failure>> {
///         Box::pin(async move {
///             let key = ctx.require("api_key")?;
///             let owner = match key.strip_prefix("key-of-") {
///                 Some(user) => OwnerId::new(user),
///                 None => return Err(OAuthError::invalid_grant("unknown API key").into()),
///             };
///             let scope = ctx.user_scope()?;
///             ctx.issue(Issue::user(owner, scope).with_refresh_token(true)).await
///         })
///     }
/// }
/// ```
pub trait Grant<S>: Send + Sync + 'static {
    /// The `grant_type` this grant answers.
    fn grant_type(&self) -> GrantType;

    /// Answers a token request of this grant type: the token response, or why not. The client
    /// was authenticated and may use this grant type; the response's headers and the host's
    /// hook are applied afterwards, for every grant alike.
    fn exchange<'a>(
        &'a self,
        ctx: GrantContext<'a, S>,
    ) -> BoxFuture<'a, Result<TokenResponse, Failure>>;
}

/// What a [`Grant`] gets to answer one token request: the authenticated client, the request's
/// parameters and headers, the configuration, the clock, storage, and the issuing step. Never
/// the whole server.
pub struct GrantContext<'a, S> {
    grant_type: &'a GrantType,
    params: &'a Params,
    request: RequestHead<'a>,
    storage: &'a S,
    server: &'a Server<S>,
    issuer: Issuer<'a>,
}

/// The parts of the HTTP request a grant may read besides its parameters.
pub(crate) struct RequestHead<'a> {
    pub(crate) method: &'a Method,
    pub(crate) uri: &'a Uri,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) extensions: &'a http::Extensions,
}

impl<S> fmt::Debug for GrantContext<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantContext")
            .field("grant_type", self.grant_type)
            .field("params", self.params)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl<'a, S: Storage> GrantContext<'a, S> {
    pub(crate) fn new(
        grant_type: &'a GrantType,
        params: &'a Params,
        request: RequestHead<'a>,
        server: &'a Server<S>,
        issuer: Issuer<'a>,
    ) -> Self {
        Self {
            grant_type,
            params,
            request,
            storage: server.storage(),
            server,
            issuer,
        }
    }

    /// The live record of an access token this server issued, read as bearer validation reads
    /// it (through the server's access-token formats, then storage): `None` when the token is
    /// unknown, expired or revoked.
    pub async fn access_token(&self, token: &str) -> Result<Option<Arc<TokenRecord>>, Error> {
        crate::endpoint::bearer::read(self.server, token).await
    }

    /// The server, for the built-in grants that need more than the context gives a host's
    /// grant (its OpenID Provider, say).
    pub(crate) fn server(&self) -> &'a Server<S> {
        self.server
    }

    /// The grant type of the request.
    pub fn grant_type(&self) -> &GrantType {
        self.grant_type
    }

    /// The authenticated client.
    pub fn client(&self) -> &'a Client {
        self.issuer.client()
    }

    /// A parameter of the request: `None` when absent or empty, `invalid_request` when sent
    /// more than once.
    pub fn param(&self, name: &str) -> Result<Option<&'a str>, OAuthError> {
        self.params.get(name)
    }

    /// A required parameter: `invalid_request` when absent, empty or repeated.
    pub fn require(&self, name: &str) -> Result<&'a str, OAuthError> {
        self.params.require(name)
    }

    /// The request's headers (e.g. for a proof of possession).
    pub fn headers(&self) -> &'a HeaderMap {
        self.request.headers
    }

    /// The request's extensions, as the host's HTTP stack handed them over (a
    /// [`ClientAddress`](crate::ClientAddress) the host inserted, say).
    pub fn extensions(&self) -> &'a http::Extensions {
        self.request.extensions
    }

    /// The request's method (`POST`).
    pub fn method(&self) -> &'a Method {
        self.request.method
    }

    /// The request's URI, as the host's HTTP stack handed it over.
    pub fn uri(&self) -> &'a Uri {
        self.request.uri
    }

    /// The server's configuration.
    pub fn config(&self) -> &'a Config {
        self.issuer.config()
    }

    /// The storage backend.
    pub fn storage(&self) -> &'a S {
        self.storage
    }

    /// The time of the request, from the configured clock.
    pub fn now(&self) -> Timestamp {
        self.issuer.now()
    }

    /// The issuing step, for minting inside a storage step of the grant's own.
    pub fn issuer(&self) -> &Issuer<'a> {
        &self.issuer
    }

    /// The request's `scope` parameter, parsed against the client's registered sets; `None`
    /// when absent.
    pub fn requested_scope(&self) -> Result<Option<ScopeSet>, OAuthError> {
        self.param("scope")?
            .map(|text| self.client().parse_scope(text))
            .transpose()
    }

    /// The scope of a user token for this request (C-AZ-8, C-SC-1, C-SC-2): the requested
    /// scope, or the client's default; `invalid_scope` when the client may not have it; the
    /// always-granted scopes added.
    pub fn user_scope(&self) -> Result<ScopeSet, OAuthError> {
        let always = &self.config().always_granted_scopes;
        let scope = self
            .client()
            .resolve_scope(self.requested_scope()?, always)?;
        Ok(scope.union(always))
    }

    /// The scope of an app token for this request: as [`user_scope`](Self::user_scope), without
    /// the always-granted scopes, which are for user tokens.
    pub fn app_scope(&self) -> Result<ScopeSet, OAuthError> {
        self.client()
            .resolve_scope(self.requested_scope()?, &ScopeSet::new())
    }

    /// The request's `resource` parameters (RFC 8707), in the order sent.
    pub fn requested_resources(&self) -> Vec<&'a str> {
        self.params.all("resource").collect()
    }

    /// The resources of a new grant's tokens (C-RI-1): those the request names, each
    /// registered and allowed for the client, or without any, the configured default (when
    /// the client may have it). `invalid_target` for a malformed, unknown or forbidden one.
    pub fn resources(&self) -> Result<Vec<String>, OAuthError> {
        let requested = self.requested_resources();
        self.config().resources.resolve(self.client(), &requested)
    }

    /// The resources of tokens issued from a grant whose resources are `granted` (a code, a
    /// refresh token): those still registered and allowed for the client, or those the request
    /// names, which must be among them (a request may narrow the audience, never widen it;
    /// C-RI-1). `invalid_target` otherwise.
    pub fn narrow_resources(&self, granted: &[String]) -> Result<Vec<String>, OAuthError> {
        let requested = self.requested_resources();
        self.config()
            .resources
            .narrow(self.client(), granted, &requested)
    }

    /// Issues the tokens of `issue` to the client and stores them: the issuing step every grant
    /// shares. The tokens start a new grant family unless
    /// [`Issue::in_grant`] names an existing one.
    /// `invalid_grant` when the tokens would join a grant that was revoked.
    pub async fn issue(&self, issue: Issue) -> Result<TokenResponse, Failure> {
        self.issuer.issue_and_store(self.storage, issue).await
    }

    /// Redeems the record of `kind` that `secret` names, exactly once: the issuing step for a
    /// record exchanged for tokens (a code, a refresh token, a device code).
    ///
    /// `decide` runs inside storage's exactly-once step ([`TokenStore::exchange`]) with the
    /// record as stored — live, expired or spent — and a [`Minter`] to issue tokens with; what
    /// it returns is applied atomically. Then: tokens issued are answered; a refusal is
    /// answered as it is; a [`Decision::replay`] revokes the record's whole grant and answers
    /// `invalid_grant`, as does an unknown record. An `Err` from `decide` changes nothing and
    /// answers `server_error`. [`unusable`] is the usual first step of `decide`.
    ///
    /// [`TokenStore::exchange`]: crate::storage::TokenStore::exchange
    pub async fn redeem<F>(
        &self,
        kind: ExchangeKind,
        secret: &str,
        decide: F,
    ) -> Result<TokenResponse, Failure>
    where
        F: FnOnce(&ExchangeRecord, &mut Minter<'_>) -> Result<Decision, Error> + Send,
    {
        let mut minter = Minter::new(&self.issuer);
        let mut failed = None;
        let digest = Digest::of(secret);
        let exchange = self.storage.exchange(kind, &digest, self.now(), |record| {
            decide(record, &mut minter).unwrap_or_else(|error| {
                failed = Some(error);
                Decision::refuse(OAuthError::server_error("the tokens could not be issued"))
            })
        });
        let outcome = crate::observe::storage("exchange", exchange).await?;
        if let Some(error) = failed {
            return Err(error.into());
        }
        match outcome {
            Exchange::Issued => minter.into_response().ok_or_else(|| {
                // A backend that breaks the contract: `Issued` without running the exchange.
                Error::storage("storage reported tokens that the exchange function did not issue")
                    .into()
            }),
            Exchange::Refused(error) => Err(error.into()),
            Exchange::Replayed(grant) => {
                let revoked = self.storage.revoke_grant(&grant);
                crate::observe::storage("revoke_grant", revoked).await?;
                self.config().audit(|| {
                    AuditEvent::new(AuditKind::ReplayDetected, self.now())
                        .client(self.client().id())
                        .grant(Some(grant))
                });
                Err(
                    OAuthError::invalid_grant(format!("the {} was already used", kind.label()))
                        .into(),
                )
            }
            _ => Err(not_live(kind).into()),
        }
    }
}

/// The usual first step of a [`GrantContext::redeem`] decision: the decision for a record that
/// cannot be exchanged — a spent one is a replay, an expired one is refused with
/// `invalid_grant` — or `None` for a live one.
pub fn unusable(record: &ExchangeRecord, now: Timestamp) -> Option<Decision> {
    if record.spent {
        Some(Decision::replay())
    } else if !record.is_live(now) {
        Some(Decision::refuse(not_live(record.kind)))
    } else {
        None
    }
}

/// The error of a record that is unknown, expired or revoked.
fn not_live(kind: ExchangeKind) -> OAuthError {
    OAuthError::invalid_grant(format!("the {} is invalid or expired", kind.label()))
}

/// The grants a server answers, by `grant_type`, in the order registered.
pub(crate) struct Grants<S> {
    list: Vec<(GrantType, Arc<dyn Grant<S>>)>,
}

impl<S: 'static> Grants<S> {
    pub(crate) fn new() -> Self {
        Self { list: Vec::new() }
    }

    /// Registers a grant, replacing one of the same type (in place, keeping the order).
    pub(crate) fn register(&mut self, grant: Arc<dyn Grant<S>>) {
        let grant_type = grant.grant_type();
        match self.list.iter_mut().find(|(known, _)| *known == grant_type) {
            Some(slot) => slot.1 = grant,
            None => self.list.push((grant_type, grant)),
        }
    }

    /// Removes the grant of a type, if registered.
    pub(crate) fn remove(&mut self, grant_type: &GrantType) {
        self.list.retain(|(known, _)| known != grant_type);
    }

    /// The grant registered for a `grant_type` value.
    pub(crate) fn find(&self, name: &str) -> Option<(&GrantType, &dyn Grant<S>)> {
        self.list
            .iter()
            .find(|(grant_type, _)| grant_type.as_str() == name)
            .map(|(grant_type, grant)| (grant_type, &**grant))
    }

    /// Whether a grant type is registered.
    pub(crate) fn contains(&self, grant_type: &GrantType) -> bool {
        self.list.iter().any(|(known, _)| known == grant_type)
    }

    /// The registered grant types, in order.
    pub(crate) fn types(&self) -> impl Iterator<Item = &GrantType> {
        self.list.iter().map(|(grant_type, _)| grant_type)
    }
}
