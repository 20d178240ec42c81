//! Token exchange (RFC 8693; C-TX-1, C-TX-2): a client trades a token it holds — a user's
//! access token, an ID token, another issuer's JWT — for an access token of its own, typically
//! narrower and for a downstream resource.
//!
//! The request (`grant_type=urn:ietf:params:oauth:grant-type:token-exchange`) names the
//! `subject_token` and its `subject_token_type`, optionally an `actor_token` with its
//! `actor_token_type` (delegation: the actor acts on the subject's behalf), the
//! `requested_token_type` (only [`ACCESS_TOKEN_TYPE`] is issued), the `resource`s and
//! `audience`s the new token is for (registered resource identifiers, both), and a `scope`.
//!
//! The subject (and actor) token types read:
//!
//! * [`ACCESS_TOKEN_TYPE`]: an access token of this server, read as bearer validation reads it
//!   (through the access-token formats, then storage): unknown, expired and revoked tokens are
//!   `invalid_grant`, and so are tokens bound to a key (their proof cannot be checked here).
//! * [`ID_TOKEN_TYPE`]: an ID token this server signed (feature `oidc`, a server that is an
//!   OpenID Provider), unexpired. Its subject must be public: an ID token with a pairwise
//!   subject cannot be traced back to an owner and is `invalid_grant`.
//! * [`JWT_TOKEN_TYPE`]: a JWT of another issuer, checked by the host's [`JwtVerifier`]
//!   ([`TokenExchangeGrant::jwt_verifier`]); without one, this type is unsupported.
//!
//! Every exchange is decided by the host's [`ExchangePolicy`], in process; the default,
//! [`RefuseAll`], refuses every exchange with `unauthorized_client`. What the policy allows
//! ([`Allowance`]) is bounded by the subject token: the new token's scope is within the
//! subject's and it expires no later than the subject, unless the policy says otherwise with
//! [`Allowance::beyond_subject`].
//!
//! An exchanged access token of this server's subject joins the subject's grant family, so that
//! revoking the subject's grant (a replayed refresh token, a deleted client, a logout) revokes
//! the exchanged tokens too, and a subject whose grant was revoked is `invalid_grant`. Other
//! subjects start a family of their own. (So deleting the exchanging client, which revokes the
//! grants its tokens belong to, revokes the subject's grant too.) No refresh token is issued.
//! The exchanging client's registered scopes do not bound the new token — it is the subject's
//! token, not the client's own: the policy and the subject token do. With an actor, the new
//! token records it ([`Actor`], the `act` claim of JWT access tokens and of introspection);
//! without one (impersonation) it does not.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::BoxFuture;
use crate::authenticator::OwnerId;
use crate::client::{Client, GrantType};
use crate::error::{Error, Failure, OAuthError};
use crate::grant::{Grant, GrantContext, Issue};
use crate::scope::ScopeSet;
use crate::storage::{Actor, Storage};
use crate::time::Timestamp;
use crate::token::{GrantId, TokenResponse};

/// The `grant_type` of token exchange.
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The token type of an OAuth 2.0 access token (RFC 8693 §3).
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The token type of an OpenID Connect ID token (RFC 8693 §3).
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// The token type of a JWT (RFC 8693 §3).
pub const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// The kind of a token presented to a token exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExchangeTokenType {
    /// An access token of this server ([`ACCESS_TOKEN_TYPE`]).
    AccessToken,
    /// An ID token of this server ([`ID_TOKEN_TYPE`]).
    IdToken,
    /// A JWT of another issuer, checked by the host's [`JwtVerifier`] ([`JWT_TOKEN_TYPE`]).
    Jwt,
}

impl ExchangeTokenType {
    /// The token type's URI.
    pub const fn uri(self) -> &'static str {
        match self {
            Self::AccessToken => ACCESS_TOKEN_TYPE,
            Self::IdToken => ID_TOKEN_TYPE,
            Self::Jwt => JWT_TOKEN_TYPE,
        }
    }

    fn parse(uri: &str) -> Option<Self> {
        [Self::AccessToken, Self::IdToken, Self::Jwt]
            .into_iter()
            .find(|kind| kind.uri() == uri)
    }
}

/// A verified subject or actor token: who it stands for, what it grants, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExchangeToken {
    /// What kind of token it was.
    pub token_type: ExchangeTokenType,
    /// Who issued it: this server's issuer, or the other issuer of a JWT.
    pub issuer: String,
    /// Its subject: the owner's id, the client's id for an app token, or another issuer's
    /// `sub`.
    pub subject: String,
    /// The resource owner of this server it stands for, if any: the owner of an access or ID
    /// token of this server; for another issuer's JWT, whom the [`JwtVerifier`] mapped it to.
    /// A token without one yields an app token (no owner).
    pub owner: Option<OwnerId>,
    /// The client it was issued to, when known.
    pub client_id: Option<String>,
    /// What it grants (empty for an ID token, and for a JWT the verifier gave no scope).
    pub scope: ScopeSet,
    /// Its audience: the resources of an access token, the clients of an ID token.
    pub audience: Vec<String>,
    /// When it expires.
    pub expires_at: Timestamp,
    /// Who acted for the subject, when the token was itself delegated (an access token of
    /// this server issued by an earlier exchange): a policy may refuse to delegate further.
    pub actor: Option<Actor>,
    /// The grant family of an access token of this server.
    grant: Option<GrantId>,
}

impl ExchangeToken {
    /// A JWT of `issuer` about `subject`, expiring at `expires_at`, without owner, client,
    /// scope or audience: what a [`JwtVerifier`] returns, with those it knows added.
    pub fn jwt(
        issuer: impl Into<String>,
        subject: impl Into<String>,
        expires_at: Timestamp,
    ) -> Self {
        Self {
            token_type: ExchangeTokenType::Jwt,
            issuer: issuer.into(),
            subject: subject.into(),
            owner: None,
            client_id: None,
            scope: ScopeSet::new(),
            audience: Vec::new(),
            actor: None,
            expires_at,
            grant: None,
        }
    }

    /// The owner of this server the token stands for.
    pub fn owner(mut self, owner: OwnerId) -> Self {
        self.owner = Some(owner);
        self
    }

    /// What the token grants.
    pub fn scope(mut self, scope: ScopeSet) -> Self {
        self.scope = scope;
        self
    }

    /// The token's audience.
    pub fn audience(mut self, audience: Vec<String>) -> Self {
        self.audience = audience;
        self
    }

    /// The client the token was issued to.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Whether the token's audience holds `audience`.
    pub fn has_audience(&self, audience: &str) -> bool {
        self.audience.iter().any(|known| known == audience)
    }

    /// The actor this token makes of its holder in a delegated token.
    fn as_actor(&self, server_issuer: &str) -> Actor {
        let actor = Actor::new(self.subject.clone());
        if self.issuer == server_issuer {
            actor
        } else {
            actor.of_issuer(self.issuer.clone())
        }
    }
}

/// Checks JWTs of other issuers presented as [`JWT_TOKEN_TYPE`] subject or actor tokens: their
/// signature (with the issuer's keys, which the host fetches and caches), issuer, audience and
/// expiry, and maps their subject to an owner of this server when it stands for one.
pub trait JwtVerifier: Send + Sync + 'static {
    /// The verified token, `Ok(None)` when it is invalid or expired (`invalid_grant`), or an
    /// error when it could not be checked (`server_error`).
    fn verify<'a>(
        &'a self,
        token: &'a str,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<Option<ExchangeToken>, Error>>;
}

/// What a token exchange asks, for the [`ExchangePolicy`] to decide.
#[derive(Debug)]
#[non_exhaustive]
pub struct ExchangeRequest<'a> {
    /// The authenticated client asking.
    pub client: &'a Client,
    /// The verified subject token.
    pub subject: &'a ExchangeToken,
    /// The verified actor token, when the exchange delegates.
    pub actor: Option<&'a ExchangeToken>,
    /// The resources asked for (`resource` and `audience`), registered and allowed for the
    /// client; or the configured default resource when none was asked for.
    pub resources: &'a [String],
    /// The scope asked for, if any.
    pub scope: Option<&'a ScopeSet>,
}

/// What an [`ExchangePolicy`] allows for one exchange. By default: the resources asked for,
/// the scope asked for (or the subject's), the configured lifetime; always within the
/// subject's scope and lifetime unless [`scope_beyond_subject`](Self::scope_beyond_subject)
/// or [`outlive_subject`](Self::outlive_subject).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct Allowance {
    scope: Option<ScopeSet>,
    resources: Option<Vec<String>>,
    lifetime: Option<Duration>,
    scope_beyond_subject: bool,
    outlive_subject: bool,
}

impl Allowance {
    /// The default allowance.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most scope the new token may have: a request asking for more is `invalid_scope`; a
    /// request asking for none gets all of it (within the subject's).
    pub fn scope(mut self, scope: ScopeSet) -> Self {
        self.scope = Some(scope);
        self
    }

    /// The resources the new token is for, instead of those asked for.
    pub fn resources(mut self, resources: Vec<String>) -> Self {
        self.resources = Some(resources);
        self
    }

    /// The new token's lifetime, instead of the configured one (still no longer than the
    /// subject's, unless [`outlive_subject`](Self::outlive_subject)).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = Some(lifetime);
        self
    }

    /// Lets the new token have scope the subject token does not have (C-TX-2: only when the
    /// policy says so), e.g. for an ID token, which carries none.
    pub fn scope_beyond_subject(mut self) -> Self {
        self.scope_beyond_subject = true;
        self
    }

    /// Lets the new token outlive the subject token (C-TX-2: only when the policy says so).
    /// Mind that an ID token cannot be revoked: a token outliving one outlives a logout too.
    pub fn outlive_subject(mut self) -> Self {
        self.outlive_subject = true;
        self
    }

    /// Both: more scope than the subject's, and a longer life.
    pub fn beyond_subject(self) -> Self {
        self.scope_beyond_subject().outlive_subject()
    }
}

/// The host's decision over every token exchange (C-TX-2), in process: the [`Allowance`], or
/// the error to answer (`unauthorized_client` when the client may not exchange this subject,
/// `invalid_target` when not for these resources, `invalid_scope`…).
///
/// A closure of the same signature is a policy:
///
/// ```
/// use grantor::grant::{Allowance, ExchangeRequest, TokenExchangeGrant};
/// use grantor::OAuthError;
///
/// // The client `gateway` may trade tokens for `https://api.example.com` for tokens for
/// // `https://billing.example.com`, with at most `billing:read`.
/// let grant = TokenExchangeGrant::new(|request: &ExchangeRequest<'_>| {
///     if request.client.id().as_str() == "gateway"
///         && request.subject.has_audience("https://api.example.com")
///         && request.resources == ["https://billing.example.com"]
///     {
///         Ok(Allowance::new().scope(grantor::ScopeSet::parse("billing:read").unwrap()))
///     } else {
///         Err(OAuthError::unauthorized_client("this exchange is not allowed"))
///     }
/// });
/// ```
pub trait ExchangePolicy: Send + Sync + 'static {
    /// Decides one exchange.
    fn decide(&self, request: &ExchangeRequest<'_>) -> Result<Allowance, OAuthError>;
}

impl<F> ExchangePolicy for F
where
    F: Fn(&ExchangeRequest<'_>) -> Result<Allowance, OAuthError> + Send + Sync + 'static,
{
    fn decide(&self, request: &ExchangeRequest<'_>) -> Result<Allowance, OAuthError> {
        self(request)
    }
}

/// The default policy: every exchange is refused with `unauthorized_client`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefuseAll;

impl ExchangePolicy for RefuseAll {
    fn decide(&self, _: &ExchangeRequest<'_>) -> Result<Allowance, OAuthError> {
        Err(OAuthError::unauthorized_client(
            "the client may not exchange this token",
        ))
    }
}

/// The token exchange grant (RFC 8693): register it with
/// [`ServerBuilder::grant`](crate::ServerBuilder::grant), and allow clients its grant type
/// ([`TokenExchangeGrant::grant_type`]).
#[derive(Clone)]
pub struct TokenExchangeGrant {
    policy: Arc<dyn ExchangePolicy>,
    verifier: Option<Arc<dyn JwtVerifier>>,
}

impl TokenExchangeGrant {
    /// The grant deciding with `policy`, reading access tokens and ID tokens of this server.
    pub fn new(policy: impl ExchangePolicy) -> Self {
        Self {
            policy: Arc::new(policy),
            verifier: None,
        }
    }

    /// Also reads JWTs of other issuers ([`JWT_TOKEN_TYPE`]), checked by `verifier`.
    pub fn jwt_verifier(mut self, verifier: impl JwtVerifier) -> Self {
        self.verifier = Some(Arc::new(verifier));
        self
    }

    /// The grant type, for a client's registration.
    pub fn grant_type() -> GrantType {
        GrantType::extension(TOKEN_EXCHANGE).expect("an absolute URI")
    }
}

impl Default for TokenExchangeGrant {
    /// The grant refusing every exchange ([`RefuseAll`]).
    fn default() -> Self {
        Self::new(RefuseAll)
    }
}

impl fmt::Debug for TokenExchangeGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenExchangeGrant")
            .field("jwt_verifier", &self.verifier.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: Storage> Grant<S> for TokenExchangeGrant {
    fn grant_type(&self) -> GrantType {
        Self::grant_type()
    }

    fn exchange<'a>(
        &'a self,
        ctx: GrantContext<'a, S>,
    ) -> BoxFuture<'a, Result<TokenResponse, Failure>> {
        Box::pin(async move {
            // C-TX-1: the request's shape first, then its targets, then its tokens.
            let subject_token = ctx.require("subject_token")?;
            let subject_type = self.token_type(&ctx, ctx.require("subject_token_type")?)?;
            let actor = match (ctx.param("actor_token")?, ctx.param("actor_token_type")?) {
                (Some(token), Some(kind)) => Some((token, self.token_type(&ctx, kind)?)),
                (None, None) => None,
                (Some(_), None) => {
                    return Err(OAuthError::invalid_request(
                        "actor_token_type is required with actor_token",
                    )
                    .into());
                }
                (None, Some(_)) => {
                    return Err(OAuthError::invalid_request(
                        "actor_token_type without actor_token",
                    )
                    .into());
                }
            };
            if let Some(requested) = ctx.param("requested_token_type")?
                && requested != ACCESS_TOKEN_TYPE
            {
                return Err(OAuthError::invalid_request(
                    "only access tokens are issued by token exchange",
                )
                .into());
            }
            let mut requested: Vec<&str> = ctx.requested_resources();
            requested.extend(ctx.params.all("audience"));
            let resources = ctx.config().resources.resolve(ctx.client(), &requested)?;
            let scope = ctx
                .param("scope")?
                .map(ScopeSet::parse)
                .transpose()
                .map_err(|_| OAuthError::invalid_scope("the scope is malformed"))?;

            let subject = self.read(&ctx, subject_token, subject_type).await?;
            // An app token of another client stands for no owner: the token issued for it
            // would be the exchanging client's own, with the other's scope and nothing saying
            // whose it was. Only a client's own app tokens are exchanged.
            let own = subject.client_id.as_deref() == Some(ctx.client().id().as_str());
            if subject.owner.is_none() && !own {
                return Err(OAuthError::invalid_grant(
                    "an app token of another client cannot be exchanged",
                )
                .into());
            }
            let actor = match actor {
                Some((token, kind)) => Some(self.read(&ctx, token, kind).await?),
                None => None,
            };
            let allowance = self.policy.decide(&ExchangeRequest {
                client: ctx.client(),
                subject: &subject,
                actor: actor.as_ref(),
                resources: &resources,
                scope: scope.as_ref(),
            })?;

            // C-TX-2: never more scope, never longer, than the subject, unless the policy says.
            let mut ceiling = allowance.scope.unwrap_or_else(|| subject.scope.clone());
            if !allowance.scope_beyond_subject {
                ceiling = ceiling.restricted_to(&subject.scope);
            }
            let granted = match scope {
                Some(scope) if ceiling.satisfies_all(&scope) => scope,
                Some(_) => {
                    return Err(OAuthError::invalid_scope(
                        "the requested scope exceeds what the exchange allows",
                    )
                    .into());
                }
                None => ceiling,
            };
            let issuer = ctx.config().issuer();
            let mut issue = Issue::new(subject.owner.clone(), granted)
                .for_resources(allowance.resources.unwrap_or(resources));
            if let Some(lifetime) = allowance.lifetime {
                issue = issue.lifetime(lifetime);
            }
            if !allowance.outlive_subject {
                issue = issue.expires_by(subject.expires_at);
            }
            if let Some(grant) = subject.grant {
                issue = issue.in_grant(grant);
            }
            // Delegation names the new actor, after any the subject already had; impersonation
            // keeps the subject's actor, so that an exchanged token never hides who acted.
            let acting = match &actor {
                Some(actor) => Some(actor.as_actor(issuer).after(subject.actor.clone())),
                None => subject.actor.clone(),
            };
            if let Some(acting) = acting {
                issue = issue.acting(acting);
            }
            let mut response = ctx.issue(issue).await?;
            response.insert("issued_token_type", ACCESS_TOKEN_TYPE);
            Ok(response)
        })
    }
}

impl TokenExchangeGrant {
    /// A token type this grant reads, or `invalid_request`.
    fn token_type<S: Storage>(
        &self,
        ctx: &GrantContext<'_, S>,
        uri: &str,
    ) -> Result<ExchangeTokenType, OAuthError> {
        let supported = |kind: &ExchangeTokenType| match kind {
            ExchangeTokenType::AccessToken => true,
            ExchangeTokenType::IdToken => ctx.server().is_openid_provider(),
            ExchangeTokenType::Jwt => self.verifier.is_some(),
        };
        ExchangeTokenType::parse(uri)
            .filter(supported)
            .ok_or_else(|| OAuthError::invalid_request("the token type is not supported"))
    }

    /// The verified token, or `invalid_grant`.
    async fn read<S: Storage>(
        &self,
        ctx: &GrantContext<'_, S>,
        token: &str,
        kind: ExchangeTokenType,
    ) -> Result<ExchangeToken, Failure> {
        let invalid = || OAuthError::invalid_grant("the token is invalid, expired or revoked");
        let now = ctx.now();
        let found = match kind {
            ExchangeTokenType::AccessToken => {
                ctx.access_token(token).await?.and_then(|record| {
                    // A token bound to a key is exchanged only with its proof, which this grant
                    // does not check.
                    if record.confirmation.is_some() || !record.is_live(now) {
                        return None;
                    }
                    Some(ExchangeToken {
                        token_type: kind,
                        issuer: ctx.config().issuer().to_owned(),
                        subject: record
                            .owner
                            .as_ref()
                            .map_or(record.client_id.as_str(), |owner| owner.as_str())
                            .to_owned(),
                        owner: record.owner.clone(),
                        client_id: Some(record.client_id.as_str().to_owned()),
                        scope: record.scope.clone(),
                        audience: record.resources.to_vec(),
                        actor: record.actor.as_deref().cloned(),
                        expires_at: record.expires_at,
                        grant: Some(record.grant),
                    })
                })
            }
            ExchangeTokenType::IdToken => self.read_id_token(ctx, token).await?,
            ExchangeTokenType::Jwt => match &self.verifier {
                Some(verifier) => verifier
                    .verify(token, now)
                    .await?
                    .filter(|found| now < found.expires_at)
                    .map(|found| ExchangeToken {
                        token_type: ExchangeTokenType::Jwt,
                        grant: None,
                        ..found
                    }),
                None => None,
            },
        };
        found.ok_or_else(|| invalid().into())
    }

    #[cfg(feature = "oidc")]
    async fn read_id_token<S: Storage>(
        &self,
        ctx: &GrantContext<'_, S>,
        token: &str,
    ) -> Result<Option<ExchangeToken>, Error> {
        let server = ctx.server();
        let Some(provider) = server.openid() else {
            return Ok(None);
        };
        let issuer = ctx.config().issuer();
        let Some(verified) = provider.verify_id_token(token, issuer, ctx.now()).await? else {
            return Ok(None);
        };
        // Its subject must be the owner's id: a pairwise subject cannot be traced back.
        let [audience] = verified.audience.as_slice() else {
            return Ok(None);
        };
        let Some(client) = ctx.storage().client(audience).await? else {
            return Ok(None);
        };
        if client.sector_identifier().is_some() {
            return Ok(None);
        }
        Ok(Some(ExchangeToken {
            token_type: ExchangeTokenType::IdToken,
            issuer: issuer.to_owned(),
            owner: Some(OwnerId::new(verified.subject.clone())),
            subject: verified.subject,
            client_id: Some(client.id().as_str().to_owned()),
            scope: ScopeSet::new(),
            audience: verified.audience,
            actor: None,
            expires_at: verified.expires_at,
            grant: None,
        }))
    }

    #[cfg(not(feature = "oidc"))]
    async fn read_id_token<S: Storage>(
        &self,
        _: &GrantContext<'_, S>,
        _: &str,
    ) -> Result<Option<ExchangeToken>, Error> {
        Ok(None)
    }
}
