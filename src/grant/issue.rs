//! The issuing step: one place that mints, stores and answers tokens, for every grant.
//!
//! A grant says *what* to issue with an [`Issue`]; the [`Issuer`] decides *how*, the same for
//! every grant: the access token's text comes from the server's access-token format, its record
//! carries the token type and binding, lifetimes come from the configuration, a refresh token
//! is added only for a client allowed the refresh grant, and everything issued joins one grant
//! family so that it is revoked together.

use std::fmt;
use std::time::Duration;

use crate::authenticator::OwnerId;
use crate::client::{Client, GrantType};
use crate::config::Config;
use crate::error::{Error, Failure, OAuthError};
use crate::resource::TokenFormat;
use crate::scope::{OFFLINE_ACCESS, OPENID, ScopeSet};
use crate::storage::{
    Actor, ExchangeKind, ExchangeRecord, NewTokens, OpenIdContext, RecordData, StoredRecord,
    StoredToken, TokenRecord, TokenStore,
};
use crate::time::Timestamp;
use crate::token::{AccessTokenFormat, Confirmation, GrantId, RefreshToken, TokenResponse};

/// What a grant asks the issuing step for: whose tokens, with what scope, and whether with a
/// refresh token.
///
/// ```
/// use grantor::grant::Issue;
/// use grantor::{OwnerId, ScopeSet};
///
/// let issue = Issue::user(OwnerId::new("alice"), ScopeSet::parse("read")?).with_refresh_token(true);
/// # Ok::<(), grantor::ScopeError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Issue {
    grant: Option<GrantId>,
    owner: Option<OwnerId>,
    scope: ScopeSet,
    refresh_scope: Option<ScopeSet>,
    refresh_token: bool,
    confirmation: Option<Confirmation>,
    openid: Option<OpenIdContext>,
    resources: Vec<String>,
    refresh_resources: Option<Vec<String>>,
    actor: Option<Actor>,
    lifetime: Option<Duration>,
    not_after: Option<Timestamp>,
}

impl Issue {
    /// A user token for `owner` with `scope`, without a refresh token.
    pub fn user(owner: OwnerId, scope: ScopeSet) -> Self {
        Self::new(Some(owner), scope)
    }

    /// An app token (no owner, C-SC-4) with `scope`, without a refresh token.
    pub fn app(scope: ScopeSet) -> Self {
        Self::new(None, scope)
    }

    /// A token for `owner` (`None`: an app token) with `scope`, without a refresh token.
    pub fn new(owner: Option<OwnerId>, scope: ScopeSet) -> Self {
        Self {
            grant: None,
            owner,
            scope,
            refresh_scope: None,
            refresh_token: false,
            confirmation: None,
            openid: None,
            resources: Vec::new(),
            refresh_resources: None,
            actor: None,
            lifetime: None,
            not_after: None,
        }
    }

    /// Records who acts on the owner's behalf with the access token (a delegating token
    /// exchange, RFC 8693 §4.1): its `act` claim, in a JWT access token and in introspection.
    pub fn acting(mut self, actor: Actor) -> Self {
        self.actor = Some(actor);
        self
    }

    /// The access token's lifetime, instead of the configured one (or its resource's). A JWT
    /// access token still lives no longer than its signing key may stay published.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = Some(lifetime);
        self
    }

    /// The access token expires at `at` at the latest (a token exchange's token never
    /// outlives its subject token).
    pub fn expires_by(mut self, at: Timestamp) -> Self {
        self.not_after = Some(at);
        self
    }

    /// Whether to issue a refresh token too. It is issued only when the client may use the
    /// refresh grant and the server has it.
    pub fn with_refresh_token(mut self, refresh_token: bool) -> Self {
        self.refresh_token = refresh_token;
        self
    }

    /// The refresh token's scope, when it differs from the access token's: on a refresh that
    /// narrows the scope, the new refresh token keeps the original (RFC 6749 §6).
    pub fn refresh_scope(mut self, scope: ScopeSet) -> Self {
        self.refresh_scope = Some(scope);
        self
    }

    /// Binds the access token to a key: it is then presented with that key's proof, not as a
    /// bearer token.
    pub fn bound_to(mut self, confirmation: Confirmation) -> Self {
        self.confirmation = Some(confirmation);
        self
    }

    /// Makes the tokens an OpenID Connect grant's: when the scope holds `openid` and the tokens
    /// have an owner, the response gets an ID token built from `context` (its `nonce`, when and
    /// how the owner authenticated), and the tokens keep the context, without the nonce, for
    /// UserInfo and for the ID tokens of later refreshes.
    pub fn with_openid(mut self, context: OpenIdContext) -> Self {
        self.openid = Some(context);
        self
    }

    /// The resources the access token is for (RFC 8707; its audience), as resolved by
    /// [`GrantContext::resources`](crate::grant::GrantContext::resources) or narrowed from a
    /// grant's by [`GrantContext::narrow_resources`](crate::grant::GrantContext::narrow_resources).
    /// Their registration decides the token's format and lifetime.
    pub fn for_resources(mut self, resources: Vec<String>) -> Self {
        self.resources = resources;
        self
    }

    /// The refresh token's resources, when they differ from the access token's: on a refresh
    /// that narrows the audience, the new refresh token keeps the grant's.
    pub fn refresh_resources(mut self, resources: Vec<String>) -> Self {
        self.refresh_resources = Some(resources);
        self
    }

    /// Issues into an existing grant family (a refresh), instead of starting a new one.
    pub fn in_grant(mut self, grant: GrantId) -> Self {
        self.grant = Some(grant);
        self
    }
}

/// The issuing step of one request: the client, the clock, the configuration and the
/// server's access-token format.
pub struct Issuer<'a> {
    config: &'a Config,
    format: &'a dyn AccessTokenFormat,
    /// The JWT format, for resources that ask for it (when the server can sign), with the
    /// longest lifetime its tokens may have.
    jwt: Option<(&'a dyn AccessTokenFormat, Duration)>,
    /// Whether the server answers the refresh grant (else refresh tokens would be useless).
    refresh_grant: bool,
    client: &'a Client,
    now: Timestamp,
    /// The key the request proved possession of, which the access tokens are bound to.
    proof: Option<Confirmation>,
}

impl<'a> Issuer<'a> {
    pub(crate) fn new(
        config: &'a Config,
        (format, jwt): (
            &'a dyn AccessTokenFormat,
            Option<(&'a dyn AccessTokenFormat, Duration)>,
        ),
        refresh_grant: bool,
        client: &'a Client,
        now: Timestamp,
    ) -> Self {
        Self {
            config,
            format,
            jwt,
            refresh_grant,
            client,
            now,
            proof: None,
        }
    }

    /// Binds every access token minted here to the key of the request's proof (DPoP).
    #[cfg_attr(not(feature = "jose"), allow(dead_code))]
    pub(crate) fn with_proof(mut self, proof: Confirmation) -> Self {
        self.proof = Some(proof);
        self
    }

    /// The key the request proved possession of (its DPoP proof's), if any: every access
    /// token minted here is bound to it, unless the [`Issue`] names another binding.
    pub fn proof(&self) -> Option<&Confirmation> {
        self.proof.as_ref()
    }

    /// The client the tokens are for.
    pub fn client(&self) -> &'a Client {
        self.client
    }

    /// The configuration.
    pub fn config(&self) -> &'a Config {
        self.config
    }

    /// The time of the request.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Mints the tokens of `issue`: the records storage keeps and the response that hands out
    /// their secrets. Touches no storage, so it can run inside a storage step.
    pub fn mint(&self, issue: Issue) -> Result<(NewTokens, TokenResponse), Error> {
        let (config, client, now) = (self.config, self.client, self.now);
        let grant = issue.grant.unwrap_or_else(GrantId::generate);
        // The audience's registration decides the token's format and lifetime.
        let (format, lifetime) = config.resources.token_settings(&issue.resources);
        let (format, lifetime) = match format {
            TokenFormat::Opaque => (
                self.format,
                issue
                    .lifetime
                    .or(lifetime)
                    .unwrap_or(config.access_token_lifetime),
            ),
            _ => {
                let (format, longest) = self.jwt.ok_or_else(|| {
                    Error::config(
                        "a resource asks for JWT access tokens, but the server has no signing \
                         keys: make it an OpenID Provider",
                    )
                })?;
                let lifetime = issue
                    .lifetime
                    .or(lifetime)
                    .unwrap_or(config.access_token_lifetime);
                (format, lifetime.min(longest))
            }
        };
        let mut access = TokenRecord::new(
            grant,
            client.id().clone(),
            issue.owner,
            issue.scope,
            now,
            issue
                .not_after
                .map_or(now.after(lifetime), |at| at.min(now.after(lifetime))),
        );
        access.confirmation = issue.confirmation.or_else(|| self.proof.clone());
        access.actor = issue.actor.map(Box::new);
        let refresh_resources = issue
            .refresh_resources
            .unwrap_or_else(|| issue.resources.clone());
        access.resources = issue.resources.into();
        // The OpenID context goes with each token whose scope holds `openid`: a refresh token
        // keeps it even when the access token of a narrowed refresh does not (C-OI-6).
        let context = issue.openid.filter(|_| access.owner.is_some());
        let for_scope = |scope: &ScopeSet| {
            context
                .as_ref()
                .filter(|_| scope.contains(OPENID))
                .map(|context| Box::new(context.without_nonce()))
        };
        access.openid = for_scope(&access.scope);
        let access_token = format.mint(&access)?;
        let refresh_scope = issue.refresh_scope.unwrap_or_else(|| access.scope.clone());
        let refresh_openid = for_scope(&refresh_scope);
        // C-OI-6: when so configured, an OpenID grant is refreshed only with offline_access.
        let offline_ok = refresh_openid.is_none()
            || !config.offline_access_required
            || refresh_scope.contains(OFFLINE_ACCESS);
        let with_refresh = issue.refresh_token
            && offline_ok
            && self.refresh_grant
            && client.allows_grant(&GrantType::RefreshToken);
        let refresh = with_refresh.then(|| {
            let expires_at = now.after(config.refresh_token_lifetime);
            let mut record = TokenRecord::new(
                grant,
                access.client_id.clone(),
                access.owner.clone(),
                refresh_scope,
                now,
                expires_at,
            );
            // The refresh token keeps the binding and the OpenID context: the tokens it yields
            // stay bound (a public client's only with a proof by the same key, RFC 9449 §5),
            // and their ID tokens tell the same authentication.
            record.confirmation = access.confirmation.clone();
            record.openid = refresh_openid;
            record.resources = refresh_resources.into();
            let secret = RefreshToken::generate();
            let record = ExchangeRecord::new(
                ExchangeKind::REFRESH_TOKEN,
                grant,
                expires_at,
                RecordData::new(record),
            );
            (StoredRecord::new(secret.digest(), record), secret)
        });
        let (refresh, refresh_secret) = refresh.unzip();
        let mut response = TokenResponse::new(
            access_token,
            access.token_type(),
            now.seconds_until(access.expires_at),
            refresh_secret,
            access.scope.clone(),
            access.owner.clone(),
        );
        // The ID token is owed only with an access token holding `openid`, and keeps the nonce.
        response.set_openid(context.filter(|_| access.scope.contains(OPENID)), grant);
        response.set_grant(grant);
        let digest = response.access_token().digest();
        Ok((
            NewTokens::new(StoredToken::new(digest, access), refresh),
            response,
        ))
    }

    /// Mints the tokens of `issue` and stores them: the response, or `invalid_grant` when
    /// storage refused the tokens because their grant was revoked.
    pub(crate) async fn issue_and_store<S: TokenStore>(
        &self,
        storage: &S,
        issue: Issue,
    ) -> Result<TokenResponse, Failure> {
        let (tokens, response) = self.mint(issue)?;
        if crate::observe::storage("save_tokens", storage.save_tokens(tokens)).await? {
            Ok(response)
        } else {
            Err(OAuthError::invalid_grant("the grant was revoked").into())
        }
    }
}

impl fmt::Debug for Issuer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("client", self.client.id())
            .field("now", &self.now)
            .field("refresh_grant", &self.refresh_grant)
            .finish_non_exhaustive()
    }
}

/// The issuing step inside a storage step ([`GrantContext::redeem`]): mints tokens and keeps
/// their response until storage has committed them.
///
/// [`GrantContext::redeem`]: crate::grant::GrantContext::redeem
pub struct Minter<'a> {
    issuer: &'a Issuer<'a>,
    response: Option<TokenResponse>,
}

impl<'a> Minter<'a> {
    pub(crate) fn new(issuer: &'a Issuer<'a>) -> Self {
        Self {
            issuer,
            response: None,
        }
    }

    /// Mints the tokens of `issue`; return them in [`Decision::issue`](crate::storage::Decision::issue).
    pub fn issue(&mut self, issue: Issue) -> Result<NewTokens, Error> {
        let (tokens, response) = self.issuer.mint(issue)?;
        self.response = Some(response);
        Ok(tokens)
    }

    /// The time of the request.
    pub fn now(&self) -> Timestamp {
        self.issuer.now
    }

    /// The client the tokens are for.
    pub fn client(&self) -> &'a Client {
        self.issuer.client
    }

    /// The key the request proved possession of (its DPoP proof's), if any.
    pub fn proof(&self) -> Option<&Confirmation> {
        self.issuer.proof()
    }

    /// The configuration.
    pub fn config(&self) -> &'a Config {
        self.issuer.config
    }

    pub(crate) fn into_response(self) -> Option<TokenResponse> {
        self.response
    }
}

impl fmt::Debug for Minter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Minter")
            .field("issuer", self.issuer)
            .field("issued", &self.response.is_some())
            .finish()
    }
}
