//! Dynamic client registration (RFC 7591, C-DR-1) and its management (RFC 7592, C-DR-2).
//!
//! Registration is closed unless the host gives the server a [`RegistrationPolicy`]
//! ([`ServerBuilder::registration`](crate::ServerBuilder::registration)): open to anyone, or
//! only to requests that present an initial access token (`Authorization: Bearer …`). Without
//! a policy, both endpoints answer `403` with `access_denied`, and store nothing.
//!
//! A registration is checked in this order, and a failed step stores nothing: the method
//! (`POST`), the initial access token (`401 invalid_token` with a `Bearer` challenge), the
//! body (`application/json`, a JSON object, at most
//! [`max_parameter_bytes`](crate::ConfigBuilder::max_parameter_bytes): else
//! `400 invalid_request`), the fields' types and values (`400 invalid_client_metadata` or
//! `400 invalid_redirect_uri`), then the host's [`RegistrationHook`], which may amend the
//! metadata or refuse, and whose amendments are checked again. The client is then stored and
//! answered `201` with its metadata, `client_id`, `client_id_issued_at`, for a confidential
//! client a fresh `client_secret` (`client_secret_expires_at: 0`: it does not expire), and the
//! `registration_access_token` and `registration_client_uri` that manage it. Secrets are shown
//! once: storage keeps only their SHA-256 digests.
//!
//! At `registration_client_uri` (the registration endpoint's URL, `/`, the client id) the
//! client reads (`GET`), replaces (`PUT`, the whole metadata, with its `client_id`) or deletes
//! (`DELETE`) its registration with its registration access token; any other token, or none,
//! is `401 invalid_token`, whether the client exists or not. Its answers carry the metadata,
//! the token the request presented and `registration_client_uri`, never the client secret
//! (storage has only its digest). An update keeps the client id,
//! the client secret and the registration access token (none is rotated, and the secret is
//! never shown again), and cannot turn a confidential client into a public one or back. A
//! deletion revokes everything issued to the client
//! ([`ClientStore::delete_client`](crate::storage::ClientStore::delete_client)).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::{Extensions, HeaderMap, Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::BoxFuture;
use crate::audit::{AuditEvent, AuditKind};
use crate::client::{
    AuthMethod, Client, ClientId, GrantType, RedirectUri, Registered, ResponseType,
};
use crate::client_auth;
use crate::endpoint::authorize;
use crate::endpoint::bearer::{self, BearerError};
use crate::endpoint::{error_json, json, set_header};
use crate::error::{Error, ErrorCode, ErrorContext, OAuthError};
use crate::scope::ScopeSet;
use crate::server::Server;
use crate::storage::Storage;
use crate::token::{ClientSecret, Digest, RegistrationToken, TokenType};

/// Who may register clients at the registration endpoint, and the host's say on each
/// registration. Give it to [`ServerBuilder::registration`](crate::ServerBuilder::registration);
/// without one, registration is closed.
///
/// ```
/// use grantor::{ClientMetadata, Config, MemoryStorage, RegistrationContext,
///     RegistrationPolicy, RegistrationRefusal, ScopeSet, Server};
///
/// // Only requests with `Authorization: Bearer <the initial access token>` may register, and
/// // every client gets the scope `read`, whatever it asked for.
/// let policy = RegistrationPolicy::initial_access_token("a-token-handed-to-developers")
///     .hook(|metadata: &mut ClientMetadata, _: &RegistrationContext<'_>| {
///         metadata.scope = ScopeSet::parse("read").map_err(|_| RegistrationRefusal::denied("no"))?;
///         Ok(())
///     });
/// let config = Config::builder("https://auth.example.com").build()?;
/// let server = Server::builder(config, MemoryStorage::new()).registration(policy).build();
/// assert_eq!(server.metadata()["registration_endpoint"], "https://auth.example.com/register");
/// # Ok::<(), grantor::Error>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct RegistrationPolicy {
    /// The digest of the initial access token a registration must present, if one is needed.
    initial_token: Option<Digest>,
    hook: Option<Arc<dyn RegistrationHook>>,
    /// The scopes a registered client may have; `None`: those the server advertises.
    scopes: Option<ScopeSet>,
    /// Whether registered clients may use grants without a user (client credentials).
    app_clients: bool,
}

impl RegistrationPolicy {
    /// Anyone may register a client (RFC 7591 open registration).
    pub fn open() -> Self {
        Self {
            initial_token: None,
            hook: None,
            scopes: None,
            app_clients: false,
        }
    }

    /// Only requests that present this initial access token as `Authorization: Bearer` may
    /// register a client (RFC 7591 §3). Only its SHA-256 digest is kept.
    pub fn initial_access_token(token: &str) -> Self {
        Self {
            initial_token: Some(Digest::of(token)),
            ..Self::open()
        }
    }

    /// The scopes a registered client may have (default: those the server advertises: its
    /// `scopes_supported`, the always-granted scopes, the registered resources' scopes, and
    /// OpenID Connect's on an OpenID Provider). A registration asking for more is
    /// `invalid_client_metadata`, after the hook had its say.
    pub fn scopes(mut self, scopes: ScopeSet) -> Self {
        self.scopes = Some(scopes);
        self
    }

    /// Lets registered confidential clients use the client credentials grant, which issues
    /// tokens without any user's consent (default off: such a registration is
    /// `invalid_client_metadata`). Turn it on only with an initial access token or a hook
    /// that vets each registration.
    pub fn app_clients(mut self, allowed: bool) -> Self {
        self.app_clients = allowed;
        self
    }

    /// Whether the policy lets a client with `metadata` register (after the hook): no grant
    /// without a user unless allowed, and no scope beyond the registrable ones.
    fn permits<S: Storage>(
        &self,
        server: &Server<S>,
        metadata: &ClientMetadata,
    ) -> Result<(), OAuthError> {
        if !self.app_clients && metadata.grant_types.contains(&GrantType::ClientCredentials) {
            return Err(bad_metadata(
                "the client credentials grant is not open to registration",
            ));
        }
        let registrable = match &self.scopes {
            Some(scopes) => scopes.clone(),
            None => advertised_scopes(server),
        };
        if !registrable.satisfies_all(&metadata.scope) {
            return Err(bad_metadata(
                "the scope asks for more than this server offers to registered clients",
            ));
        }
        Ok(())
    }

    /// Runs `hook` on every registration and update, after grantor's checks: it may amend the
    /// metadata (then checked again) or refuse.
    pub fn hook(mut self, hook: impl RegistrationHook) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// Whether the request presents the initial access token, when one is needed. The digest
    /// is computed and compared in constant time.
    fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(expected) = &self.initial_token else {
            return true;
        };
        presented_token(headers).is_some_and(|token| Digest::of(token).ct_eq(expected))
    }
}

impl fmt::Debug for RegistrationPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistrationPolicy")
            .field(
                "initial_access_token",
                &self.initial_token.as_ref().map(|_| "<redacted>"),
            )
            .field("hook", &self.hook.is_some())
            .field("scopes", &self.scopes)
            .field("app_clients", &self.app_clients)
            .finish()
    }
}

/// The host's say on each registration and update: approve it, amend the metadata (force a
/// scope, a name, drop a grant type), or refuse it (deny it, limit its rate). Install it with
/// [`RegistrationPolicy::hook`].
///
/// A closure `Fn(&mut ClientMetadata, &RegistrationContext<'_>) -> Result<(),
/// RegistrationRefusal>` is a hook (annotate its parameter types); implement the trait for a
/// hook that awaits something (a rate limiter in a shared store, say).
pub trait RegistrationHook: Send + Sync + 'static {
    /// Reviews a registration (or update) whose metadata passed grantor's checks. `Ok` lets it
    /// through as amended (the metadata is checked again); an `Err` is the answer.
    fn review<'a>(
        &'a self,
        metadata: &'a mut ClientMetadata,
        context: &'a RegistrationContext<'a>,
    ) -> BoxFuture<'a, Result<(), RegistrationRefusal>>;
}

impl<F> RegistrationHook for F
where
    F: Fn(&mut ClientMetadata, &RegistrationContext<'_>) -> Result<(), RegistrationRefusal>
        + Send
        + Sync
        + 'static,
{
    fn review<'a>(
        &'a self,
        metadata: &'a mut ClientMetadata,
        context: &'a RegistrationContext<'a>,
    ) -> BoxFuture<'a, Result<(), RegistrationRefusal>> {
        Box::pin(std::future::ready(self(metadata, context)))
    }
}

/// What a [`RegistrationHook`] is told about the request besides the metadata. Its `Debug`
/// shows the header names only (the `Authorization` header carries a token).
pub struct RegistrationContext<'a> {
    headers: &'a HeaderMap,
    extensions: &'a Extensions,
    client_id: &'a ClientId,
    operation: RegistrationOperation,
}

impl RegistrationContext<'_> {
    /// The request's headers (the `Authorization` header included).
    pub fn headers(&self) -> &HeaderMap {
        self.headers
    }

    /// The request's extensions: where a framework puts the peer's address, for a limit per
    /// address.
    pub fn extensions(&self) -> &Extensions {
        self.extensions
    }

    /// The client id: the one about to be issued, or the one being updated.
    pub fn client_id(&self) -> &ClientId {
        self.client_id
    }

    /// Whether this is a new registration or an update.
    pub fn operation(&self) -> RegistrationOperation {
        self.operation
    }
}

impl fmt::Debug for RegistrationContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistrationContext")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("client_id", &self.client_id)
            .field("operation", &self.operation)
            .finish_non_exhaustive()
    }
}

/// What a request to the registration endpoints does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistrationOperation {
    /// A new client (RFC 7591, `POST` to the registration endpoint).
    Register,
    /// A full replacement of a client's metadata (RFC 7592, `PUT`).
    Update,
}

/// Why a [`RegistrationHook`] refused a registration: the answer the client gets, as JSON.
#[derive(Debug)]
pub struct RegistrationRefusal(Refusal);

#[derive(Debug)]
enum Refusal {
    Answer(StatusCode, OAuthError, Option<Duration>),
    Internal(Error),
}

impl RegistrationRefusal {
    /// `403` with `access_denied`: the host does not register this client.
    pub fn denied(description: impl Into<Cow<'static, str>>) -> Self {
        Self::answer(
            StatusCode::FORBIDDEN,
            OAuthError::access_denied(description),
        )
    }

    /// `400` with `invalid_client_metadata`: a field is not acceptable to the host.
    pub fn invalid_metadata(description: impl Into<Cow<'static, str>>) -> Self {
        let error = OAuthError::invalid_client_metadata(description);
        Self::answer(StatusCode::BAD_REQUEST, error)
    }

    /// `400` with `invalid_redirect_uri`: a redirect URI is not acceptable to the host.
    pub fn invalid_redirect_uri(description: impl Into<Cow<'static, str>>) -> Self {
        let error = OAuthError::invalid_redirect_uri(description);
        Self::answer(StatusCode::BAD_REQUEST, error)
    }

    /// `429 Too Many Requests` with `temporarily_unavailable` and a `Retry-After` header (in
    /// whole seconds): too many registrations, try again later.
    pub fn rate_limited(retry_after: Duration) -> Self {
        let error = OAuthError::new(ErrorCode::TemporarilyUnavailable)
            .with_description("too many registrations; try again later");
        Self(Refusal::Answer(
            StatusCode::TOO_MANY_REQUESTS,
            error,
            Some(retry_after),
        ))
    }

    /// The hook failed inside (its store is down): the client gets a bare `server_error`, and
    /// the error goes to [`on_internal_error`](crate::ConfigBuilder::on_internal_error).
    pub fn internal(error: Error) -> Self {
        Self(Refusal::Internal(error))
    }

    fn answer(status: StatusCode, error: OAuthError) -> Self {
        Self(Refusal::Answer(status, error, None))
    }
}

/// A client's registration metadata (RFC 7591 §2, with the OpenID Connect Dynamic Client
/// Registration fields grantor's clients support), as checked by grantor: what a
/// [`RegistrationHook`] reviews and may amend. Fields not listed here are ignored, as RFC 7591
/// §2 asks, except `sector_identifier_uri` and a pairwise `subject_type`, which are refused:
/// grantor does not fetch sector documents.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientMetadata {
    /// `redirect_uris`: `https`, `http` on a loopback host (native apps), or a private-use
    /// scheme in reverse domain-name form such as `com.example.app:/cb` (RFC 8252 §7.1);
    /// never with a fragment.
    pub redirect_uris: Vec<String>,
    /// `token_endpoint_auth_method`: `client_secret_basic` (the default),
    /// `client_secret_post`, `private_key_jwt` (when the server accepts client assertions), or
    /// `none` for a public client. `client_secret_jwt` cannot be registered: the server would
    /// have to keep the secret in clear.
    pub token_endpoint_auth_method: String,
    /// `jwks`: the client's public keys, a JWK Set, for `private_key_jwt` (or `jwks_uri`, not
    /// both). A key with private members is refused.
    pub jwks: Option<serde_json::Value>,
    /// `jwks_uri` (`https`): where the client publishes its JWK Set, for `private_key_jwt`.
    pub jwks_uri: Option<String>,
    /// `token_endpoint_auth_signing_alg`: the one algorithm of the client's assertions.
    pub token_endpoint_auth_signing_alg: Option<String>,
    /// `grant_types` (default `authorization_code`). The password grant cannot be registered.
    pub grant_types: Vec<GrantType>,
    /// `response_types` (default `code` with the code grant, none without it).
    pub response_types: Vec<ResponseType>,
    /// `scope`: the scopes the client may request, and gets when a request names none.
    pub scope: ScopeSet,
    /// `client_name`: shown on consent pages.
    pub client_name: Option<String>,
    /// `client_uri` (`https`).
    pub client_uri: Option<String>,
    /// `logo_uri` (`https`).
    pub logo_uri: Option<String>,
    /// `policy_uri` (`https`).
    pub policy_uri: Option<String>,
    /// `tos_uri` (`https`).
    pub tos_uri: Option<String>,
    /// `contacts`: people responsible for the client, usually e-mail addresses.
    pub contacts: Vec<String>,
    /// `software_id`.
    pub software_id: Option<String>,
    /// `software_version`.
    pub software_version: Option<String>,
    /// `id_token_signed_response_alg`: `RS256` (the default), `PS256`, `ES256` or `EdDSA`.
    pub id_token_signed_response_alg: Option<String>,
    /// `require_auth_time`.
    pub require_auth_time: bool,
    /// `require_pushed_authorization_requests` (RFC 9126 §6): the client's authorization
    /// requests must be pushed first.
    pub require_pushed_authorization_requests: bool,
    /// `dpop_bound_access_tokens` (RFC 9449 §5.2): the client's token requests must carry a
    /// DPoP proof.
    pub dpop_bound_access_tokens: bool,
    /// `default_max_age`, in seconds.
    pub default_max_age: Option<u64>,
}

/// The auth method of a public client.
const NONE: &str = "none";

impl ClientMetadata {
    /// Whether the client is public (`token_endpoint_auth_method` is `none`): it gets no
    /// client secret.
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == NONE
    }

    /// Whether the client authenticates with a client secret (`client_secret_basic` or
    /// `client_secret_post`), and so gets one.
    pub fn uses_secret(&self) -> bool {
        matches!(
            self.token_endpoint_auth_method.parse(),
            Ok(AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost)
        )
    }

    /// The metadata of a dynamically registered client, as stored.
    fn of(client: &Client, registered: &Registered) -> Self {
        Self {
            redirect_uris: client
                .redirect_uris()
                .iter()
                .map(|uri| uri.as_str().to_owned())
                .collect(),
            token_endpoint_auth_method: registered.auth_method.clone(),
            jwks: client.jwks().cloned(),
            jwks_uri: client.jwks_uri().map(str::to_owned),
            token_endpoint_auth_signing_alg: client
                .token_endpoint_auth_signing_alg()
                .map(str::to_owned),
            grant_types: client.grant_types().to_vec(),
            response_types: client.response_types(),
            scope: client.allowed_scopes().clone(),
            client_name: registered.named.then(|| client.name().to_owned()),
            client_uri: registered.client_uri.clone(),
            logo_uri: registered.logo_uri.clone(),
            policy_uri: registered.policy_uri.clone(),
            tos_uri: registered.tos_uri.clone(),
            contacts: registered.contacts.clone(),
            software_id: registered.software_id.clone(),
            software_version: registered.software_version.clone(),
            id_token_signed_response_alg: client.profile().id_token_signed_response_alg.clone(),
            require_auth_time: client.requires_auth_time(),
            require_pushed_authorization_requests: client.requires_pushed_authorization_requests(),
            dpop_bound_access_tokens: client.requires_dpop(),
            default_max_age: client.default_max_age().map(|age| age.as_secs()),
        }
    }
}

/// The request body as sent: every field optional, unknown ones ignored. Its `client_secret`
/// (in an update) is never shown: the type has no `Debug`.
#[derive(Default, Deserialize)]
#[serde(default)]
struct Sent {
    redirect_uris: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    jwks: Option<serde_json::Value>,
    jwks_uri: Option<String>,
    token_endpoint_auth_signing_alg: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    scope: Option<String>,
    client_name: Option<String>,
    client_uri: Option<String>,
    logo_uri: Option<String>,
    policy_uri: Option<String>,
    tos_uri: Option<String>,
    contacts: Option<Vec<String>>,
    software_id: Option<String>,
    software_version: Option<String>,
    id_token_signed_response_alg: Option<String>,
    require_auth_time: Option<bool>,
    require_pushed_authorization_requests: Option<bool>,
    dpop_bound_access_tokens: Option<bool>,
    default_max_age: Option<u64>,
    subject_type: Option<String>,
    sector_identifier_uri: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn bad_metadata(description: &'static str) -> OAuthError {
    OAuthError::invalid_client_metadata(description)
}

fn bad_redirect_uri(description: &'static str) -> OAuthError {
    OAuthError::invalid_redirect_uri(description)
}

impl Sent {
    /// Reads the body: a JSON object (else `invalid_request`) whose fields have their types
    /// (else `invalid_client_metadata`).
    fn parse(headers: &HeaderMap, body: &[u8], max_bytes: usize) -> Result<Self, OAuthError> {
        let json = headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(OAuthError::invalid_request(
                "the body must be application/json",
            ));
        }
        if body.len() > max_bytes {
            return Err(OAuthError::invalid_request("the body is too large"));
        }
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|_| OAuthError::invalid_request("the body is not valid JSON"))?;
        if !value.is_object() {
            return Err(OAuthError::invalid_request(
                "the body must be a JSON object",
            ));
        }
        serde_json::from_value(value)
            .map_err(|_| bad_metadata("a client metadata field has the wrong type"))
    }

    /// The metadata, its values parsed and defaults applied (RFC 7591 §2).
    fn metadata(self) -> Result<ClientMetadata, OAuthError> {
        if self.sector_identifier_uri.is_some() {
            return Err(bad_metadata("sector_identifier_uri is not supported"));
        }
        if self.subject_type.as_deref().is_some_and(|t| t != "public") {
            return Err(bad_metadata("only the public subject_type is supported"));
        }
        let grant_types = match self.grant_types {
            None => vec![GrantType::AuthorizationCode],
            Some(names) => names
                .iter()
                .map(|name| name.parse())
                .collect::<Result<_, _>>()
                .map_err(|_| bad_metadata("unknown grant type"))?,
        };
        let response_types = match self.response_types {
            None if grant_types.contains(&GrantType::AuthorizationCode) => {
                vec![ResponseType::CODE]
            }
            None => Vec::new(),
            Some(names) => names
                .iter()
                .map(|name| name.parse())
                .collect::<Result<_, _>>()
                .map_err(|_| bad_metadata("unknown response type"))?,
        };
        let scope = match self.scope {
            None => ScopeSet::new(),
            Some(text) => ScopeSet::parse(&text).map_err(|_| bad_metadata("malformed scope"))?,
        };
        Ok(ClientMetadata {
            redirect_uris: self.redirect_uris.unwrap_or_default(),
            token_endpoint_auth_method: self
                .token_endpoint_auth_method
                .unwrap_or_else(|| "client_secret_basic".to_owned()),
            jwks: self.jwks,
            jwks_uri: self.jwks_uri,
            token_endpoint_auth_signing_alg: self.token_endpoint_auth_signing_alg,
            grant_types,
            response_types,
            scope,
            client_name: self.client_name,
            client_uri: self.client_uri,
            logo_uri: self.logo_uri,
            policy_uri: self.policy_uri,
            tos_uri: self.tos_uri,
            contacts: self.contacts.unwrap_or_default(),
            software_id: self.software_id,
            software_version: self.software_version,
            id_token_signed_response_alg: self.id_token_signed_response_alg,
            require_auth_time: self.require_auth_time.unwrap_or(false),
            require_pushed_authorization_requests: self
                .require_pushed_authorization_requests
                .unwrap_or(false),
            dpop_bound_access_tokens: self.dpop_bound_access_tokens.unwrap_or(false),
            default_max_age: self.default_max_age,
        })
    }
}

/// Checks metadata against the rules and what the server does (C-DR-1). Pure: run before and
/// after the host's hook.
fn check<S: Storage>(server: &Server<S>, metadata: &ClientMetadata) -> Result<(), OAuthError> {
    check_auth_method(server, metadata)?;
    for grant in &metadata.grant_types {
        let offered =
            *grant == GrantType::Implicit || server.grant_types().any(|offered| offered == grant);
        if !offered || *grant == GrantType::Password {
            return Err(bad_metadata("a grant type cannot be registered"));
        }
    }
    if metadata.is_public() && metadata.grant_types.contains(&GrantType::ClientCredentials) {
        return Err(bad_metadata(
            "the client credentials grant needs a confidential client",
        ));
    }
    let has = |grant: GrantType| metadata.grant_types.contains(&grant);
    for response_type in &metadata.response_types {
        if !authorize::answers(server, *response_type) {
            return Err(bad_metadata("a response type is not supported"));
        }
        let needs_code = response_type.includes_code() && !has(GrantType::AuthorizationCode);
        let needs_implicit = response_type.returns_tokens() && !has(GrantType::Implicit);
        if needs_code || needs_implicit {
            return Err(bad_metadata(
                "a response type needs a grant type that is not registered",
            ));
        }
    }
    let responds =
        |wanted: fn(ResponseType) -> bool| metadata.response_types.iter().any(|r| wanted(*r));
    if has(GrantType::AuthorizationCode) && !responds(ResponseType::includes_code)
        || has(GrantType::Implicit) && !responds(ResponseType::returns_tokens)
    {
        return Err(bad_metadata(
            "a grant type needs a response type that is not registered",
        ));
    }
    for uri in &metadata.redirect_uris {
        check_redirect_uri(uri)?;
    }
    let redirecting = has(GrantType::AuthorizationCode) || has(GrantType::Implicit);
    if redirecting && metadata.redirect_uris.is_empty() {
        return Err(bad_redirect_uri(
            "the code and implicit grants need a redirect URI",
        ));
    }
    let pages = [
        &metadata.client_uri,
        &metadata.logo_uri,
        &metadata.policy_uri,
        &metadata.tos_uri,
    ];
    for uri in pages.into_iter().flatten() {
        if Url::parse(uri).map_or(true, |url| url.scheme() != "https") {
            return Err(bad_metadata(
                "client_uri, logo_uri, policy_uri and tos_uri must be https URLs",
            ));
        }
    }
    if metadata
        .id_token_signed_response_alg
        .as_deref()
        .is_some_and(|alg| !crate::client::SIGNING_ALGORITHMS.contains(&alg))
    {
        return Err(bad_metadata("unsupported id_token_signed_response_alg"));
    }
    Ok(())
}

/// The authentication method and its keys (C-CA-1): a method the server accepts, but not
/// `client_secret_jwt`; `private_key_jwt` with `jwks` or `jwks_uri` (not both), public keys
/// only, and a signing algorithm the server accepts.
fn check_auth_method<S: Storage>(
    server: &Server<S>,
    metadata: &ClientMetadata,
) -> Result<(), OAuthError> {
    let method = metadata.token_endpoint_auth_method.as_str();
    if !client_auth::methods(server.config()).contains(&method)
        || method == AuthMethod::ClientSecretJwt.as_str()
    {
        return Err(bad_metadata("unsupported token_endpoint_auth_method"));
    }
    if let Some(jwks) = &metadata.jwks {
        crate::client::check_public_jwks(jwks).map_err(bad_metadata)?;
    }
    if let Some(uri) = &metadata.jwks_uri
        && Url::parse(uri).map_or(true, |url| url.scheme() != "https")
    {
        return Err(bad_metadata("jwks_uri must be an https URL"));
    }
    let keys = [metadata.jwks.is_some(), metadata.jwks_uri.is_some()];
    if method == AuthMethod::PrivateKeyJwt.as_str()
        && keys != [true, false]
        && keys != [false, true]
    {
        return Err(bad_metadata(
            "private_key_jwt needs jwks or jwks_uri, and not both",
        ));
    }
    if let Some(alg) = &metadata.token_endpoint_auth_signing_alg {
        let accepted = client_auth::signing_algs(server.config()).contains(&alg.as_str());
        if !accepted || method != AuthMethod::PrivateKeyJwt.as_str() {
            return Err(bad_metadata("unsupported token_endpoint_auth_signing_alg"));
        }
    }
    Ok(())
}

/// A redirect URI a client may register: `https`, `http` on a loopback host, or a private-use
/// scheme with a dot (reverse domain name, RFC 8252 §7.1); absolute, without fragment.
fn check_redirect_uri(uri: &str) -> Result<(), OAuthError> {
    let invalid = || {
        bad_redirect_uri(
            "a redirect URI must be https, http on a loopback host, or a private-use scheme \
             such as com.example.app:/cb, without a fragment",
        )
    };
    let parsed = RedirectUri::new(uri).map_err(|_| invalid())?;
    match parsed.url().scheme() {
        "https" | "http" => Ok(()),
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(invalid()),
    }
}

/// Whether the client is a native app: public, with a redirect URI that is not `https`
/// (loopback or private-use scheme), so its loopback URIs match on any port (RFC 8252 §7.3).
fn is_native(metadata: &ClientMetadata) -> bool {
    metadata.is_public()
        && metadata
            .redirect_uris
            .iter()
            .any(|uri| !uri.starts_with("https:"))
}

/// The client, if the server may register it: under the FAPI 2.0 profile, only a client that
/// conforms to it (C-FA-1), else `invalid_client_metadata` saying why.
fn conforming<S: Storage>(server: &Server<S>, client: Client) -> Result<Client, OAuthError> {
    #[cfg(feature = "jose")]
    if server.config().is_fapi2()
        && let Some(why) = crate::fapi::refuses(&client)
    {
        return Err(OAuthError::invalid_client_metadata(why));
    }
    #[cfg(not(feature = "jose"))]
    let _ = server;
    Ok(client)
}
/// The client the metadata describes, with this id, secret digest and registration record.
fn build_client(
    id: &ClientId,
    secret: Option<Digest>,
    metadata: &ClientMetadata,
    token_digest: String,
    issued_at: u64,
) -> Result<Client, OAuthError> {
    let mut builder = match secret {
        Some(digest) => Client::with_secret_digest(id.as_str(), digest),
        None => Client::public(id.as_str()),
    };
    if let Ok(method) = metadata.token_endpoint_auth_method.parse::<AuthMethod>() {
        builder = builder.token_endpoint_auth_method(method);
    }
    if let Some(jwks) = &metadata.jwks {
        builder = builder.jwks(&jwks.to_string());
    }
    if let Some(uri) = &metadata.jwks_uri {
        builder = builder.jwks_uri(uri.as_str());
    }
    if let Some(alg) = &metadata.token_endpoint_auth_signing_alg {
        builder = builder.token_endpoint_auth_signing_alg(alg.as_str());
    }
    for uri in &metadata.redirect_uris {
        builder = builder.redirect_uri(uri.as_str());
    }
    if let Some(name) = &metadata.client_name {
        builder = builder.name(name.as_str());
    }
    if let Some(alg) = &metadata.id_token_signed_response_alg {
        builder = builder.id_token_signed_response_alg(alg.as_str());
    }
    if let Some(max_age) = metadata.default_max_age {
        builder = builder.default_max_age(Duration::from_secs(max_age));
    }
    builder
        .grant_types(metadata.grant_types.iter().cloned())
        .response_types(metadata.response_types.iter().copied())
        .allowed_scopes(metadata.scope.to_string())
        .default_scopes(metadata.scope.to_string())
        .native(is_native(metadata))
        .require_auth_time(metadata.require_auth_time)
        .require_pushed_authorization_requests(metadata.require_pushed_authorization_requests)
        .dpop_bound_access_tokens(metadata.dpop_bound_access_tokens)
        .registered(Registered {
            token_digest,
            issued_at,
            auth_method: metadata.token_endpoint_auth_method.clone(),
            client_uri: metadata.client_uri.clone(),
            logo_uri: metadata.logo_uri.clone(),
            policy_uri: metadata.policy_uri.clone(),
            tos_uri: metadata.tos_uri.clone(),
            contacts: metadata.contacts.clone(),
            software_id: metadata.software_id.clone(),
            software_version: metadata.software_version.clone(),
            named: metadata.client_name.is_some(),
        })
        .build()
        // The checks above are stricter than the builder's; a client they let through that the
        // builder refuses is still the metadata's fault, and the builder's message is not shown.
        .map_err(|_| bad_metadata("the client metadata is inconsistent"))
}

/// The JSON of a registration (RFC 7591 §3.2.1, RFC 7592 §3): the metadata, the client's
/// identity, and the secrets shown in this response.
#[derive(Serialize)]
struct Shown<'a> {
    client_id: &'a str,
    client_id_issued_at: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret_expires_at: Option<u64>,
    registration_access_token: &'a str,
    registration_client_uri: String,
    redirect_uris: &'a [String],
    token_endpoint_auth_method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_endpoint_auth_signing_alg: Option<&'a str>,
    grant_types: Vec<&'a str>,
    response_types: &'a [ResponseType],
    #[serde(skip_serializing_if = "ScopeSet::is_empty")]
    scope: &'a ScopeSet,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logo_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tos_uri: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    contacts: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    software_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    software_version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token_signed_response_alg: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    require_auth_time: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    require_pushed_authorization_requests: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dpop_bound_access_tokens: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_max_age: Option<u64>,
}

/// The answer about a registered client: `status`, its metadata, the registration access
/// token (new, or the one the request presented) and the secret when it is new.
fn answer<S: Storage>(
    server: &Server<S>,
    status: StatusCode,
    client: &Client,
    token: &str,
    secret: Option<&ClientSecret>,
) -> Response<Vec<u8>> {
    let Some(registered) = client.registered() else {
        return internal(
            server,
            Error::usage("the client was not registered dynamically"),
        );
    };
    let metadata = ClientMetadata::of(client, registered);
    let endpoint = server
        .config()
        .registration_endpoint()
        .trim_end_matches('/');
    let shown = Shown {
        client_id: client.id().as_str(),
        client_id_issued_at: registered.issued_at,
        client_secret: secret.map(ClientSecret::secret),
        client_secret_expires_at: client.secret_digest().is_some().then_some(0),
        registration_access_token: token,
        registration_client_uri: format!("{endpoint}/{}", client.id()),
        redirect_uris: &metadata.redirect_uris,
        token_endpoint_auth_method: &metadata.token_endpoint_auth_method,
        jwks: metadata.jwks.as_ref(),
        jwks_uri: metadata.jwks_uri.as_deref(),
        token_endpoint_auth_signing_alg: metadata.token_endpoint_auth_signing_alg.as_deref(),
        grant_types: metadata.grant_types.iter().map(GrantType::as_str).collect(),
        response_types: &metadata.response_types,
        scope: &metadata.scope,
        client_name: metadata.client_name.as_deref(),
        client_uri: metadata.client_uri.as_deref(),
        logo_uri: metadata.logo_uri.as_deref(),
        policy_uri: metadata.policy_uri.as_deref(),
        tos_uri: metadata.tos_uri.as_deref(),
        contacts: &metadata.contacts,
        software_id: metadata.software_id.as_deref(),
        software_version: metadata.software_version.as_deref(),
        id_token_signed_response_alg: metadata.id_token_signed_response_alg.as_deref(),
        require_auth_time: metadata.require_auth_time,
        require_pushed_authorization_requests: metadata.require_pushed_authorization_requests,
        dpop_bound_access_tokens: metadata.dpop_bound_access_tokens,
        default_max_age: metadata.default_max_age,
    };
    json(status, &shown)
}

/// Answers a registration request (`POST` to the registration endpoint).
pub(crate) async fn register<S: Storage, B: AsRef<[u8]>>(
    server: &Server<S>,
    request: &Request<B>,
) -> Response<Vec<u8>> {
    let Some(policy) = server.registration() else {
        return closed(server);
    };
    if request.method() != Method::POST {
        return method_not_allowed("POST");
    }
    if !policy.admits(request.headers()) {
        return BearerError::invalid_token(server.config().realm()).into_response();
    }
    let config = server.config();
    let sent = match Sent::parse(
        request.headers(),
        request.body().as_ref(),
        config.max_parameter_bytes,
    ) {
        Ok(sent) => sent,
        Err(error) => return error_json(&error, config.realm()),
    };
    let id = new_client_id();
    let metadata = match sent.metadata() {
        Ok(metadata) => metadata,
        Err(error) => return error_json(&error, config.realm()),
    };
    let context = RegistrationContext {
        headers: request.headers(),
        extensions: request.extensions(),
        client_id: &id,
        operation: RegistrationOperation::Register,
    };
    let metadata = match reviewed(server, policy, metadata, &context).await {
        Ok(metadata) => metadata,
        Err(response) => return response,
    };
    let secret = metadata.uses_secret().then(ClientSecret::generate);
    let token = RegistrationToken::generate();
    let client = match build_client(
        &id,
        secret.as_ref().map(ClientSecret::digest),
        &metadata,
        token.digest().to_hex(),
        server.now().as_secs(),
    )
    .and_then(|client| conforming(server, client))
    {
        Ok(client) => client,
        Err(error) => return error_json(&error, config.realm()),
    };
    if let Err(error) = server.storage().save_client(client.clone()).await {
        return internal(server, error);
    }
    server.config().audit(|| {
        AuditEvent::new(AuditKind::ClientRegistered, server.now())
            .client(client.id())
            .owner(client.owner())
    });
    answer(
        server,
        StatusCode::CREATED,
        &client,
        token.secret(),
        secret.as_ref(),
    )
}

/// Checks the metadata, runs the host's hook on it, and checks it again.
async fn reviewed<S: Storage>(
    server: &Server<S>,
    policy: &RegistrationPolicy,
    mut metadata: ClientMetadata,
    context: &RegistrationContext<'_>,
) -> Result<ClientMetadata, Response<Vec<u8>>> {
    let realm = server.config().realm();
    check(server, &metadata).map_err(|error| error_json(&error, realm))?;
    let Some(hook) = &policy.hook else {
        policy
            .permits(server, &metadata)
            .map_err(|error| error_json(&error, realm))?;
        return Ok(metadata);
    };
    if let Err(RegistrationRefusal(refusal)) = hook.review(&mut metadata, context).await {
        return Err(match refusal {
            Refusal::Answer(status, error, retry_after) => {
                let mut response = error_json(&error, realm);
                *response.status_mut() = status;
                if let Some(after) = retry_after {
                    set_header(&mut response, RETRY_AFTER, &after.as_secs().to_string());
                }
                response
            }
            Refusal::Internal(error) => internal(server, error),
        });
    }
    check(server, &metadata).map_err(|error| error_json(&error, realm))?;
    policy
        .permits(server, &metadata)
        .map_err(|error| error_json(&error, realm))?;
    Ok(metadata)
}

/// The scopes a server advertises: its `scopes_supported` list, the always-granted scopes,
/// the registered resources' scopes, and OpenID Connect's on an OpenID Provider.
fn advertised_scopes<S: Storage>(server: &Server<S>) -> ScopeSet {
    let config = server.config();
    let mut scopes = config.always_granted_scopes().clone();
    if let Some(listed) = &config.endpoints.scopes_supported {
        scopes = scopes.union(listed);
    }
    for resource in config.resources() {
        scopes = scopes.union(resource.scope());
    }
    if server.is_openid_provider() {
        let openid = ScopeSet::parse("openid profile email address phone offline_access");
        scopes = scopes.union(&openid.unwrap_or_default());
    }
    scopes
}

/// Answers a request to a client's configuration endpoint (`GET`, `PUT`, `DELETE` at
/// `registration_client_uri`).
pub(crate) async fn configure<S: Storage, B: AsRef<[u8]>>(
    server: &Server<S>,
    request: &Request<B>,
    client_id: &str,
) -> Response<Vec<u8>> {
    let Some(policy) = server.registration() else {
        return closed(server);
    };
    let method = request.method();
    if method != Method::GET && method != Method::PUT && method != Method::DELETE {
        return method_not_allowed("GET, PUT, DELETE");
    }
    let unauthorized = || BearerError::invalid_token(server.config().realm()).into_response();
    let Some(token) = presented_token(request.headers()) else {
        return unauthorized();
    };
    let client = match server.storage().client(client_id).await {
        Ok(client) => client,
        Err(error) => return internal(server, error),
    };
    // The digest is computed whether or not the client exists: the answer does not tell which.
    let presented = Digest::of(token);
    let client = match client {
        Some(client)
            if client
                .registered()
                .is_some_and(|registered| registered.token_matches(&presented)) =>
        {
            client
        }
        _ => return unauthorized(),
    };
    if method == Method::GET {
        answer(server, StatusCode::OK, &client, token, None)
    } else if method == Method::PUT {
        update(server, policy, request, &client, token).await
    } else {
        match server.storage().delete_client(client.id().as_str()).await {
            Ok(_) => {
                server.config().audit(|| {
                    AuditEvent::new(AuditKind::ClientDeleted, server.now())
                        .client(client.id())
                        .owner(client.owner())
                });
                let mut response = Response::new(Vec::new());
                *response.status_mut() = StatusCode::NO_CONTENT;
                response
                    .headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
            Err(error) => internal(server, error),
        }
    }
}

/// Replaces a client's metadata (RFC 7592 §2.2), keeping its id, secret and registration
/// access token.
async fn update<S: Storage, B: AsRef<[u8]>>(
    server: &Server<S>,
    policy: &RegistrationPolicy,
    request: &Request<B>,
    client: &Client,
    token: &str,
) -> Response<Vec<u8>> {
    let config = server.config();
    let realm = config.realm();
    let Some(registered) = client.registered() else {
        return BearerError::invalid_token(realm).into_response();
    };
    let sent = match Sent::parse(
        request.headers(),
        request.body().as_ref(),
        config.max_parameter_bytes,
    ) {
        Ok(sent) => sent,
        Err(error) => return error_json(&error, realm),
    };
    if sent.client_id.as_deref() != Some(client.id().as_str()) {
        let error = OAuthError::invalid_request("client_id must be the client's own");
        return error_json(&error, realm);
    }
    if let Some(secret) = &sent.client_secret
        && !client.verify_secret(secret)
    {
        let error = OAuthError::invalid_request("client_secret is not the client's");
        return error_json(&error, realm);
    }
    let metadata = match sent.metadata() {
        Ok(metadata) => metadata,
        Err(error) => return error_json(&error, realm),
    };
    let flipped = |metadata: &ClientMetadata| {
        let error = bad_metadata("a client cannot change between confidential and public");
        (metadata.is_public() == client.is_confidential()).then(|| error_json(&error, realm))
    };
    if let Some(response) = flipped(&metadata) {
        return response;
    }
    let context = RegistrationContext {
        headers: request.headers(),
        extensions: request.extensions(),
        client_id: client.id(),
        operation: RegistrationOperation::Update,
    };
    let metadata = match reviewed(server, policy, metadata, &context).await {
        Ok(metadata) => metadata,
        Err(response) => return response,
    };
    if let Some(response) = flipped(&metadata) {
        return response;
    }
    let updated = match build_client(
        client.id(),
        client.secret_digest().copied(),
        &metadata,
        registered.token_digest.clone(),
        registered.issued_at,
    )
    .and_then(|client| conforming(server, client))
    {
        Ok(updated) => updated,
        Err(error) => return error_json(&error, realm),
    };
    if let Err(error) = server.storage().save_client(updated.clone()).await {
        return internal(server, error);
    }
    server.config().audit(|| {
        AuditEvent::new(AuditKind::ClientUpdated, server.now())
            .client(updated.id())
            .owner(updated.owner())
    });
    answer(server, StatusCode::OK, &updated, token, None)
}

/// The token of `Authorization: Bearer <token>`, if the request carries exactly one such
/// header.
fn presented_token(headers: &HeaderMap) -> Option<&str> {
    let mut all = headers.get_all(AUTHORIZATION).iter();
    let header = all.next()?;
    if all.next().is_some() {
        return None;
    }
    match bearer::from_header(header) {
        Ok(Some((token, TokenType::Bearer))) => Some(token),
        _ => None,
    }
}

/// A new client id: 128 random bits, base64url (22 characters).
fn new_client_id() -> ClientId {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes[..]);
    let text = URL_SAFE_NO_PAD.encode(bytes);
    // 22 base64url characters are always a valid client id.
    ClientId::new(&text).unwrap_or_else(|_| new_client_id())
}

/// The answer when registration is closed: `403 access_denied`.
fn closed<S: Storage>(server: &Server<S>) -> Response<Vec<u8>> {
    let error = OAuthError::access_denied("dynamic client registration is closed");
    let mut response = error_json(&error, server.config().realm());
    *response.status_mut() = StatusCode::FORBIDDEN;
    response
}

fn internal<S: Storage>(server: &Server<S>, error: Error) -> Response<Vec<u8>> {
    let config = server.config();
    config.report(&error, ErrorContext::new("register"));
    error_json(
        &OAuthError::server_error("the server could not complete the request"),
        config.realm(),
    )
}

fn method_not_allowed(allowed: &'static str) -> Response<Vec<u8>> {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allowed));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_for_registration() {
        for ok in [
            "https://app.example/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "http://localhost:3000/cb",
            "com.example.app:/oauth",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example/cb",
            "https://app.example/cb#frag",
            "myapp:/cb",
            "javascript:alert(1)",
            "/relative",
        ] {
            let error = check_redirect_uri(bad).unwrap_err();
            assert_eq!(error.code(), ErrorCode::InvalidRedirectUri, "{bad}");
        }
    }

    #[test]
    fn client_ids_are_22_base64url_characters() {
        let id = new_client_id();
        assert_eq!(id.as_str().len(), 22);
        assert_ne!(id, new_client_id());
    }

    // C-SE-2: the policy's Debug hides the initial access token.
    #[test]
    fn policy_debug_hides_the_initial_access_token() {
        let policy = RegistrationPolicy::initial_access_token("iat-secret");
        let shown = format!("{policy:?}");
        assert!(
            !shown.contains("iat-secret") && shown.contains("redacted"),
            "{shown}"
        );
    }
}
