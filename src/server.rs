//! [`Server`]: the facade a host holds, and [`ServerBuilder`], which assembles it. One method
//! per endpoint, each taking an `http::Request` and returning an `http::Response` (or, for the
//! steps the host takes part in, a typed value).
//!
//! The server owns the registries of the open core: the grants the token endpoint answers (by
//! `grant_type`) and the access-token formats it mints and reads. Endpoints get what they need
//! from it; a grant gets a [`GrantContext`](crate::grant::GrantContext), never the server.

use std::fmt;
use std::sync::Arc;

use http::{Request, Response};

use crate::authenticator::{Authenticator, OwnerId};
use crate::client::{Client, ClientId, GrantType};
use crate::config::Config;
use crate::endpoint::authorize::{
    self, Approval, AuthorizationError, AuthorizationRequest, Interaction, SavedAuthorization,
};
use crate::endpoint::bearer::{self, AccessGrant, BearerError, Requirement};
use crate::endpoint::device::{self, AttemptLimiter, DeviceError, DeviceRequest};
use crate::endpoint::register::{self, RegistrationPolicy};
#[cfg(feature = "oidc")]
use crate::endpoint::userinfo;
use crate::endpoint::{introspect, metadata, par, resource_metadata, revoke, token};
use crate::error::Error;
use crate::grant::{
    AuthorizationCodeGrant, ClientCredentialsGrant, Grant, Grants, Issuer, PasswordGrant,
    RefreshTokenGrant,
};
use crate::observe;
#[cfg(feature = "oidc")]
use crate::oidc::{JwtAccessTokens, OpenIdProvider};
use crate::scope::ScopeSet;
use crate::storage::{Consent, ConsentStore, Storage};
use crate::time::Timestamp;
use crate::token::{AccessTokenFormat, Opaque};

/// An OAuth 2.0 authorization server over a storage backend `S`.
///
/// A `Server` is shared by every request: put it in an `Arc` (or your framework's state).
pub struct Server<S> {
    config: Config,
    storage: S,
    grants: Grants<S>,
    /// The access-token formats: the first mints, all are tried in order to read.
    formats: Vec<Arc<dyn AccessTokenFormat>>,
    /// What makes the server an OpenID Provider, if it is one.
    #[cfg(feature = "oidc")]
    openid: Option<Arc<OpenIdProvider>>,
    /// The JWT access-token format, for resources that ask for it (an OpenID Provider's).
    #[cfg(feature = "oidc")]
    jwt: Option<Arc<JwtAccessTokens>>,
    /// Who may register clients dynamically; `None`: nobody.
    registration: Option<RegistrationPolicy>,
    /// Wrong user codes entered on the device verification page, by key (C-DV-3).
    device_attempts: AttemptLimiter,
}

impl<S: Storage> Server<S> {
    /// A server with this configuration and storage, the built-in grants (without the password
    /// grant, which needs an [`Authenticator`]) and opaque access tokens.
    pub fn new(config: Config, storage: S) -> Self {
        Self::builder(config, storage).build()
    }

    /// Starts a server with this configuration and storage; register authenticators, grants
    /// and access-token formats on the builder.
    ///
    /// ```
    /// use grantor::{Config, MemoryStorage, Server};
    /// use grantor::grant::ClientCredentialsGrant;
    ///
    /// let server = Server::builder(Config::builder("https://a.example").build()?, MemoryStorage::new())
    ///     .grant(ClientCredentialsGrant)
    ///     .build();
    /// assert_eq!(server.metadata()["grant_types_supported"][0], "authorization_code");
    /// # Ok::<(), grantor::Error>(())
    /// ```
    pub fn builder(config: Config, storage: S) -> ServerBuilder<S> {
        let mut grants = Grants::new();
        grants.register(Arc::new(AuthorizationCodeGrant));
        if config.issue_refresh_tokens || config.refresh_tokens_for_client_credentials {
            grants.register(Arc::new(RefreshTokenGrant));
        }
        grants.register(Arc::new(ClientCredentialsGrant));
        ServerBuilder {
            server: Server {
                config,
                storage,
                grants,
                formats: vec![Arc::new(Opaque)],
                #[cfg(feature = "oidc")]
                openid: None,
                #[cfg(feature = "oidc")]
                jwt: None,
                registration: None,
                device_attempts: AttemptLimiter::default(),
            },
        }
    }

    /// The same server, checking resource-owner passwords with `authenticator`: the password
    /// grant is registered. Shorthand for [`ServerBuilder::authenticator`].
    pub fn with_authenticator<A: Authenticator>(mut self, authenticator: A) -> Self {
        // C-FA-1: the FAPI 2.0 profile has no password grant, whenever it is asked for.
        if !self.config.is_fapi2() {
            self.grants
                .register(Arc::new(PasswordGrant::new(authenticator)));
        }
        self
    }
}

impl<S: 'static> Server<S> {
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The storage backend.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The current time, from the configured clock.
    pub fn now(&self) -> Timestamp {
        self.config.clock.now()
    }

    /// The path at which to serve [`metadata_response`](Self::metadata_response):
    /// `/.well-known/oauth-authorization-server`, followed by the issuer's path if it has one
    /// (RFC 8414 §3.1).
    ///
    /// ```
    /// use grantor::{Config, MemoryStorage, Server};
    ///
    /// let config = Config::builder("https://a.example/tenant1").build()?;
    /// let server = Server::new(config, MemoryStorage::new());
    /// assert_eq!(server.metadata_path(), "/.well-known/oauth-authorization-server/tenant1");
    /// # Ok::<(), grantor::Error>(())
    /// ```
    pub fn metadata_path(&self) -> String {
        metadata::path(self.config.issuer())
    }

    /// The grant types the token endpoint answers, in the order registered.
    pub fn grant_types(&self) -> impl Iterator<Item = &GrantType> {
        self.grants.types()
    }

    /// The registered grants.
    pub(crate) fn grants(&self) -> &Grants<S> {
        &self.grants
    }

    /// The access-token formats, the minting one first.
    pub(crate) fn formats(&self) -> impl Iterator<Item = &dyn AccessTokenFormat> {
        self.formats.iter().map(|format| &**format)
    }

    /// Whether the server is an OpenID Provider (it was given an
    /// [`OpenIdProvider`](crate::oidc::OpenIdProvider)).
    pub fn is_openid_provider(&self) -> bool {
        #[cfg(feature = "oidc")]
        return self.openid.is_some();
        #[cfg(not(feature = "oidc"))]
        false
    }

    /// The OpenID Provider side of the server, if it is one: its keys, for a host's timer
    /// that runs [`KeyRing::maintain`](crate::oidc::KeyRing::maintain), say.
    #[cfg(feature = "oidc")]
    pub fn openid(&self) -> Option<&OpenIdProvider> {
        self.openid.as_deref()
    }

    /// The path at which to serve the metadata for OpenID Connect discovery:
    /// `/.well-known/openid-configuration` after the issuer's path (OpenID Connect Discovery
    /// §4; RFC 8414 §5). The document is [`metadata_response`](Self::metadata_response)'s.
    ///
    /// ```
    /// use grantor::{Config, MemoryStorage, Server};
    ///
    /// let config = Config::builder("https://a.example/tenant1").build()?;
    /// let server = Server::new(config, MemoryStorage::new());
    /// assert_eq!(server.openid_configuration_path(), "/tenant1/.well-known/openid-configuration");
    /// # Ok::<(), grantor::Error>(())
    /// ```
    pub fn openid_configuration_path(&self) -> String {
        metadata::openid_path(self.config.issuer())
    }

    /// The counter of wrong user codes.
    pub(crate) fn device_attempts(&self) -> &AttemptLimiter {
        &self.device_attempts
    }

    /// Whether the device authorization grant (RFC 8628) is registered: the device
    /// authorization endpoint answers, and the metadata lists it.
    pub fn device_flow_enabled(&self) -> bool {
        self.grants
            .contains(&crate::grant::DeviceCodeGrant::grant_type())
    }

    /// The registration policy, when dynamic client registration is enabled.
    pub(crate) fn registration(&self) -> Option<&RegistrationPolicy> {
        self.registration.as_ref()
    }

    /// Whether clients may register dynamically (the server has a [`RegistrationPolicy`]).
    pub fn registration_enabled(&self) -> bool {
        self.registration.is_some()
    }

    /// The issuing step for tokens issued to `client` at `now`.
    pub(crate) fn issuer<'a>(&'a self, client: &'a Client, now: Timestamp) -> Issuer<'a> {
        let refresh_grant = self.grants.contains(&GrantType::RefreshToken);
        #[cfg(feature = "oidc")]
        let jwt = self
            .jwt
            .as_ref()
            .zip(self.openid.as_ref())
            .map(|(jwt, provider)| {
                (
                    &**jwt as &dyn AccessTokenFormat,
                    provider.longest_signed_lifetime(),
                )
            });
        #[cfg(not(feature = "oidc"))]
        let jwt = None;
        let formats = (&*self.formats[0], jwt);
        Issuer::new(&self.config, formats, refresh_grant, client, now)
    }

    /// Makes sure the formats that sign (JWT access tokens) hold the signing keys of `now`:
    /// minting and reading a token must not wait, so they read the keys as last loaded.
    pub(crate) async fn load_keys(&self, now: Timestamp) -> Result<(), Error> {
        #[cfg(feature = "oidc")]
        if let Some(jwt) = &self.jwt {
            jwt.refresh_keys(now).await?;
        }
        let _ = now;
        Ok(())
    }
}

impl<S: Storage> Server<S> {
    /// Registers (or replaces) a client.
    pub async fn register_client(&self, client: Client) -> Result<(), Error> {
        #[cfg(feature = "jose")]
        if self.config.is_fapi2()
            && let Some(why) = crate::fapi::refuses(&client)
        {
            return Err(Error::config(why));
        }
        self.storage.save_client(client).await
    }

    /// Validates an authorization request (`GET` or `POST` to the authorization endpoint).
    ///
    /// On success, show the owner your login and consent pages for the returned request, then
    /// call [`approve`](Self::approve) or [`deny`](Self::deny). On failure, answer with
    /// [`AuthorizationError::into_response`] (or your own page for
    /// [`AuthorizationError::Direct`]).
    ///
    /// A request carrying a `request_uri` from
    /// [`push_authorization_request`](Self::push_authorization_request) (and the `client_id`
    /// of the client that pushed it) is the pushed request: it is spent here, when accepted,
    /// so it is used once; an unknown, expired, used or another client's `request_uri` is a
    /// direct `invalid_request_uri`, and any other parameter that does not repeat a pushed one
    /// is `invalid_request` (C-PA-1). A client registered with
    /// [`require_pushed_authorization_requests`](crate::ClientBuilder::require_pushed_authorization_requests)
    /// (or every client, with the [`ConfigBuilder`](crate::ConfigBuilder) switch of that name)
    /// gets `invalid_request` without a `request_uri`.
    pub async fn authorize<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
    ) -> Result<AuthorizationRequest, AuthorizationError> {
        if !observe::active() {
            return authorize::validate(self, request).await;
        }
        let validated = authorize::validate(self, request);
        observe::run("authorize", validated, |result| match result {
            Ok(_) => "ok".to_owned(),
            Err(error) => error.error().code().as_str().to_owned(),
        })
        .await
    }

    /// Turns a [saved](AuthorizationRequest::save) request back into a pending one, checked
    /// against the client's current registration (it must still exist, with the same redirect
    /// URI and response type); any mismatch is an [`AuthorizationError::Direct`].
    pub async fn resume(
        &self,
        saved: SavedAuthorization,
    ) -> Result<AuthorizationRequest, AuthorizationError> {
        authorize::resume(self, saved).await
    }

    /// What the host must show before `request` can be approved, given who is logged in and
    /// since when (`None`: nobody): the login page, an account chooser, the consent page, or
    /// nothing ([`Interaction::Ready`]); for `prompt=none`, the error to
    /// [`reject`](Self::reject) the request with instead of showing anything (C-OI-3).
    ///
    /// A login is fresh enough unless `prompt=login` asks for one after the request arrived,
    /// `max_age` has passed since it, or the `id_token_hint` names another owner. Consent is
    /// needed unless a [remembered](Self::remember_consent) consent covers the request's scope
    /// and `prompt=consent` was not asked.
    pub async fn interaction(
        &self,
        request: &AuthorizationRequest,
        login: Option<(&OwnerId, Timestamp)>,
    ) -> Result<Interaction, Error> {
        authorize::interaction(self, request, login).await
    }

    /// Approves a request on behalf of `owner`, who granted `granted` (a subset of
    /// [`AuthorizationRequest::scope`]; anything else is dropped). Returns the `303` redirect
    /// (or `form_post` page) that delivers the code or tokens to the client. For OpenID
    /// requests, say when the owner authenticated with [`approve_with`](Self::approve_with).
    pub async fn approve(
        &self,
        request: AuthorizationRequest,
        owner: &OwnerId,
        granted: &ScopeSet,
    ) -> Result<Response<Vec<u8>>, Error> {
        let approval = Approval::new(owner.clone(), granted.clone());
        self.approve_with(request, approval).await
    }

    /// Approves a request as `approval` says: who granted what, and how they logged in (the
    /// ID token's `auth_time`, `acr`, `amr`). An OpenID request whose login is not fresh
    /// enough (`prompt=login`, `max_age`, `id_token_hint`) is answered `login_required`
    /// instead; an `Err` is an internal failure, or an approval that lacks the
    /// authentication time the request needs.
    pub async fn approve_with(
        &self,
        request: AuthorizationRequest,
        approval: Approval,
    ) -> Result<Response<Vec<u8>>, Error> {
        if !observe::active() {
            return authorize::approve(self, request, approval).await;
        }
        let client_id = request.client().id().clone();
        let approved = async {
            observe::client(client_id.as_str());
            authorize::approve(self, request, approval).await
        };
        observe::run("approve", approved, |result| match result {
            Ok(response) => observe::outcome(response),
            Err(_) => "server_error".to_owned(),
        })
        .await
    }

    /// Remembers that `owner` consented to `scope` for the client, for the `resources` (RFC
    /// 8707; e.g. [`AuthorizationRequest::resources`]), until `until` (`None`: until revoked),
    /// added to what they consented to before: later requests within it get
    /// [`Interaction::Ready`] and skip the consent page; a request for another resource needs
    /// consent again. Fails with a backend that keeps no consent
    /// ([`TokenStore::consent_store`](crate::storage::TokenStore::consent_store)).
    pub async fn remember_consent(
        &self,
        owner: &OwnerId,
        client_id: &ClientId,
        scope: &ScopeSet,
        resources: &[String],
        until: Option<Timestamp>,
    ) -> Result<(), Error> {
        let consents = self.consent_store()?;
        let consented = (scope, resources);
        authorize::remember(self, consents, owner, client_id, consented, until).await
    }

    /// The consent `owner` gave the client, if one is remembered and live.
    pub async fn consent(
        &self,
        owner: &OwnerId,
        client_id: &ClientId,
    ) -> Result<Option<Consent>, Error> {
        let consent = self.consent_store()?.consent(owner, client_id).await?;
        Ok(consent.filter(|consent| consent.is_live(self.now())))
    }

    /// Revokes everything `owner` granted the client: forgets the remembered consent and
    /// revokes every grant their approvals started (codes, access and refresh tokens, and
    /// ID-token refreshes with them). Returns how many grants were revoked.
    pub async fn revoke_consent(
        &self,
        owner: &OwnerId,
        client_id: &ClientId,
    ) -> Result<usize, Error> {
        let consents = self.consent_store()?;
        let grants = consents.forget(owner, client_id).await?;
        for (done, grant) in grants.iter().enumerate() {
            if let Err(error) = self.storage.revoke_grant(grant).await {
                // Keep the grants not yet revoked findable, so that a retry revokes them.
                for left in &grants[done..] {
                    let _ = consents.record_grant(owner, client_id, *left).await;
                }
                return Err(error);
            }
        }
        Ok(grants.len())
    }

    fn consent_store(&self) -> Result<&dyn ConsentStore, Error> {
        self.storage
            .consent_store()
            .ok_or_else(|| Error::config("this storage backend keeps no consent"))
    }

    /// Denies a request: the `303` redirect that tells the client `access_denied`.
    pub fn deny(&self, request: AuthorizationRequest) -> Response<Vec<u8>> {
        authorize::deny(self, request)
    }

    /// Refuses a request with `error`: the `303` redirect that tells the client why (for
    /// example `invalid_request` for a repeated parameter
    /// [`extra`](AuthorizationRequest::extra) refused).
    pub fn reject(
        &self,
        request: AuthorizationRequest,
        error: crate::OAuthError,
    ) -> Response<Vec<u8>> {
        authorize::reject(self, request, error)
    }

    /// Answers a token-endpoint request (`POST`), whatever its grant type.
    pub async fn token<B: AsRef<[u8]>>(&self, request: &Request<B>) -> Response<Vec<u8>> {
        if !observe::active() {
            return token::respond(self, request).await;
        }
        observe::respond("token", token::respond(self, request)).await
    }

    /// Answers a pushed authorization request (`POST`, RFC 9126 §2, C-PA-1), served at
    /// [`Config::pushed_authorization_request_endpoint`](crate::Config::pushed_authorization_request_endpoint).
    /// The client authenticates as at the token endpoint; the other parameters are those of an
    /// authorization request, validated as [`authorize`](Self::authorize) validates them
    /// (`request_uri` itself is `invalid_request`). `201` with `request_uri`
    /// (`urn:ietf:params:oauth:request_uri:…`, usable once, by this client only) and
    /// `expires_in` ([`pushed_request_lifetime`](crate::ConfigBuilder::pushed_request_lifetime));
    /// errors as JSON: `400` (`invalid_request`, `invalid_scope`, …), `401 invalid_client`.
    /// See [`authorize`](Self::authorize) for how the `request_uri` is then used.
    pub async fn push_authorization_request<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
    ) -> Response<Vec<u8>> {
        if !observe::active() {
            return par::respond(self, request).await;
        }
        observe::respond("pushed_authorization_request", par::respond(self, request)).await
    }

    /// Answers a device authorization request (`POST`, RFC 8628 §3.1, C-DV-1), served at
    /// [`Config::device_authorization_endpoint`](crate::Config::device_authorization_endpoint).
    /// The client authenticates as at the token endpoint (a public client by its
    /// `client_id`) and must be allowed the device grant type (else `unauthorized_client`);
    /// `scope` and `resource` are resolved as in an authorization request (`invalid_scope`,
    /// `invalid_target`). `200` with `device_code`, `user_code` (`XXXX-XXXX`),
    /// `verification_uri`, `verification_uri_complete`, `expires_in` and `interval`.
    /// `unsupported_grant_type` when [`DeviceCodeGrant`](crate::grant::DeviceCodeGrant) is not
    /// registered.
    pub async fn device_authorization<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
    ) -> Response<Vec<u8>> {
        if !observe::active() {
            return device::respond(self, request).await;
        }
        observe::respond("device_authorization", device::respond(self, request)).await
    }

    /// The pending device request a user entered `user_code` for, on the host's verification
    /// page (C-DV-3). Entry ignores case, hyphens and white space. `key` names who is
    /// entering codes (the caller's address, say): after
    /// [`device_user_code_attempts`](crate::ConfigBuilder::device_user_code_attempts) wrong
    /// codes (default 10) within
    /// [`device_user_code_window`](crate::ConfigBuilder::device_user_code_window) (default
    /// 600 s), every code from that key is refused with [`DeviceError::TooManyAttempts`], the
    /// right one included. An unknown, expired or already answered code is
    /// [`DeviceError::UnknownCode`], whichever it is. The count is kept in this server's
    /// memory.
    pub async fn device_request(
        &self,
        user_code: &str,
        key: &str,
    ) -> Result<DeviceRequest, DeviceError> {
        if !observe::active() {
            return device::find(self, user_code, key).await;
        }
        let found = device::find(self, user_code, key);
        observe::run("device_verification", found, |result| {
            match result {
                Ok(_) => "ok",
                Err(DeviceError::UnknownCode) => "unknown_code",
                Err(DeviceError::TooManyAttempts { .. }) => "too_many_attempts",
                Err(_) => "server_error",
            }
            .to_owned()
        })
        .await
    }

    /// Approves a device request on behalf of `owner`, who granted `granted` (a subset of
    /// [`DeviceRequest::scope`]; anything else is dropped): the device's next poll gets the
    /// tokens. A request is answered once: approving or denying it again (or after it
    /// expired) is [`DeviceError::UnknownCode`].
    pub async fn approve_device(
        &self,
        request: DeviceRequest,
        owner: &OwnerId,
        granted: &ScopeSet,
    ) -> Result<(), DeviceError> {
        device::approve(self, request, owner, granted).await
    }

    /// Denies a device request: the device's next poll is answered `access_denied`.
    pub async fn deny_device(&self, request: DeviceRequest) -> Result<(), DeviceError> {
        device::deny(self, request).await
    }

    /// Answers a revocation request (`POST`, RFC 7009): `200` when the token is revoked or was
    /// not live anyway. Revoking a refresh token revokes every token of its grant; revoking an
    /// access token revokes only that token. Another client's token is refused with
    /// `unauthorized_client`.
    pub async fn revoke<B: AsRef<[u8]>>(&self, request: &Request<B>) -> Response<Vec<u8>> {
        if !observe::active() {
            return revoke::respond(self, request).await;
        }
        observe::respond("revoke", revoke::respond(self, request)).await
    }

    /// Answers an introspection request (`POST`, RFC 7662): `{"active":false}` for any token
    /// the authenticated client may not see, else the token's state. A client sees its own
    /// tokens; one registered with
    /// [`introspects_any_token`](crate::ClientBuilder::introspects_any_token) sees every access
    /// token.
    pub async fn introspect<B: AsRef<[u8]>>(&self, request: &Request<B>) -> Response<Vec<u8>> {
        if !observe::active() {
            return introspect::respond(self, request).await;
        }
        observe::respond("introspect", introspect::respond(self, request)).await
    }

    /// The authorization server metadata document (RFC 8414), listing only what this server
    /// does.
    pub fn metadata(&self) -> serde_json::Value {
        metadata::document(self)
    }

    /// Answers a `GET` of the metadata document, served at
    /// [`metadata_path`](Self::metadata_path); other methods get `405`.
    pub fn metadata_response<B>(&self, request: &Request<B>) -> Response<Vec<u8>> {
        metadata::respond(self, request)
    }

    /// The protected-resource metadata document (RFC 9728) of the registered resource `id`,
    /// or `None` when no resource is registered with that identifier.
    pub fn resource_metadata(&self, id: &str) -> Option<serde_json::Value> {
        let resource = self.config.resource(id)?;
        Some(resource_metadata::document(self, resource))
    }

    /// Answers a `GET` of a protected resource's metadata (RFC 9728, C-PR-1), the resource
    /// found by the request's path: route
    /// `/.well-known/oauth-protected-resource/*` (and the bare prefix, for a resource at the
    /// root of its host) here. `404` for a path that names no registered resource.
    pub fn resource_metadata_response<B>(&self, request: &Request<B>) -> Response<Vec<u8>> {
        resource_metadata::respond(self, request)
    }

    /// Answers a UserInfo request (`GET` or `POST`, OpenID Connect Core §5.3): the claims about
    /// the owner of an access token holding `openid`, as JSON; RFC 6750 errors with their
    /// `WWW-Authenticate` challenge otherwise (C-OI-4). `404` when the server is not an
    /// OpenID Provider. UserInfo is the provider's own endpoint, not a registered resource: it
    /// accepts a token holding `openid` whatever its audience (RFC 8707 resources).
    #[cfg(feature = "oidc")]
    pub async fn userinfo<B: AsRef<[u8]>>(&self, request: &Request<B>) -> Response<Vec<u8>> {
        observe::respond("userinfo", userinfo::respond(self, request)).await
    }

    /// Answers a `GET` of the JSON Web Key Set (served at
    /// [`Config::jwks_uri`](crate::Config::jwks_uri)): the public signing keys (C-KY-1).
    /// `404` when the server is not an OpenID Provider.
    ///
    /// Only the method is read, before the future starts: the future does not hold the request,
    /// so any body type will do.
    #[cfg(feature = "oidc")]
    pub fn jwks_response<B>(
        &self,
        request: &Request<B>,
    ) -> impl Future<Output = Response<Vec<u8>>> + Send + '_ {
        let method = request.method().clone();
        async move { userinfo::jwks(self, &method).await }
    }

    /// Answers a client registration request (RFC 7591, C-DR-1): `POST` with the client's
    /// metadata as JSON, served at [`Config::registration_endpoint`]. `201` with the
    /// registered metadata, the client id, the client secret (for confidential clients) and
    /// the registration access token; `400` with `invalid_client_metadata` or
    /// `invalid_redirect_uri`; `401 invalid_token` without the initial access token the
    /// policy asks for; `403 access_denied` when registration is closed (no
    /// [`ServerBuilder::registration`]). See [`RegistrationPolicy`] for the order of checks.
    pub async fn register<B: AsRef<[u8]>>(&self, request: &Request<B>) -> Response<Vec<u8>> {
        observe::respond("register", register::register(self, request)).await
    }

    /// Answers a request to a registered client's configuration endpoint (RFC 7592, C-DR-2):
    /// the registration endpoint's URL followed by `/` and `client_id`, which the host routes
    /// here. With the client's registration access token as `Authorization: Bearer`, `GET`
    /// reads its metadata (`200`), `PUT` replaces it in full (`200`), `DELETE` deletes the
    /// client and revokes everything issued to it (`204`); any other token, or none, is
    /// `401 invalid_token`, whether the client exists or not.
    pub async fn client_configuration<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
        client_id: &str,
    ) -> Response<Vec<u8>> {
        let configured = async {
            observe::client(client_id);
            register::configure(self, request, client_id).await
        };
        observe::respond("client_configuration", configured).await
    }

    /// Validates the bearer token of a request to a protected route.
    ///
    /// On failure, answer with [`BearerError::into_response`]: it carries the status and
    /// `WWW-Authenticate` challenge RFC 6750 requires.
    pub async fn validate_bearer<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
        requirement: &Requirement,
    ) -> Result<AccessGrant, BearerError> {
        if !observe::active() {
            return bearer::validate(self, request, requirement).await;
        }
        let validated = bearer::validate(self, request, requirement);
        observe::run("bearer", validated, |result| match result {
            Ok(_) => "ok".to_owned(),
            Err(error) => error
                .error_code()
                .map_or("no_token", |code| code.as_str())
                .to_owned(),
        })
        .await
    }
}

impl<S: fmt::Debug + 'static> fmt::Debug for Server<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .field("storage", &self.storage)
            .field("grant_types", &self.grants.types().collect::<Vec<_>>())
            .field("access_token_formats", &self.formats.len())
            .field("registration", &self.registration)
            .finish()
    }
}

/// Assembles a [`Server`]: its grants, its authenticator and its access-token format. Start
/// one with [`Server::builder`].
#[must_use]
pub struct ServerBuilder<S> {
    server: Server<S>,
}

impl<S: Storage> ServerBuilder<S> {
    /// Checks resource-owner passwords with `authenticator`: registers the
    /// [`PasswordGrant`](crate::grant::PasswordGrant).
    pub fn authenticator<A: Authenticator>(mut self, authenticator: A) -> Self {
        self.server = self.server.with_authenticator(authenticator);
        self
    }

    /// Registers a grant for its `grant_type`, replacing a grant of the same type (built-in
    /// or not). The token endpoint authenticates the client and checks its permission for the
    /// grant type before the grant runs, and the metadata lists it.
    pub fn grant(mut self, grant: impl Grant<S>) -> Self {
        self.server.grants.register(Arc::new(grant));
        self
    }

    /// Removes the grant of a type: the token endpoint then answers it with
    /// `unsupported_grant_type`, and the metadata no longer lists it.
    pub fn without_grant(mut self, grant_type: &GrantType) -> Self {
        self.server.grants.remove(grant_type);
        self
    }

    /// Mints access tokens in `format` (default: [`Opaque`]); tokens of the previous minting
    /// format are still read, after it.
    pub fn access_token_format(mut self, format: impl AccessTokenFormat) -> Self {
        self.server.formats.insert(0, Arc::new(format));
        self
    }

    /// Reads access tokens in `format` too, after the others, without minting in it: for
    /// tokens minted by a format the server has moved away from, until they expire.
    pub fn accept_access_token_format(mut self, format: impl AccessTokenFormat) -> Self {
        self.server.formats.push(Arc::new(format));
        self
    }

    /// Makes the server an OpenID Provider: requests with the `openid` scope get ID tokens,
    /// and the UserInfo, JWKS and discovery endpoints answer.
    #[cfg(feature = "oidc")]
    pub fn openid(mut self, provider: OpenIdProvider) -> Self {
        let provider = Arc::new(provider);
        // Resources registered for JWT access tokens get them signed by the provider's keys,
        // and every server of the provider reads them.
        let jwt = Arc::new(JwtAccessTokens::new(
            provider.clone(),
            self.server.config.issuer(),
        ));
        if let Some(old) = self.server.jwt.replace(jwt.clone()) {
            let old: Arc<dyn AccessTokenFormat> = old;
            self.server
                .formats
                .retain(|format| !Arc::ptr_eq(format, &old));
        }
        self.server.formats.push(jwt);
        self.server.openid = Some(provider);
        self
    }

    /// Opens dynamic client registration (RFC 7591) and its management (RFC 7592) under
    /// `policy`: to anyone, or to holders of an initial access token, with the host's hook.
    /// Without this, registration is closed and the metadata does not list
    /// `registration_endpoint`.
    pub fn registration(mut self, policy: RegistrationPolicy) -> Self {
        self.server.registration = Some(policy);
        self
    }

    /// The server. Under the FAPI 2.0 profile, without the password grant.
    pub fn build(mut self) -> Server<S> {
        if self.server.config.is_fapi2() {
            self.server.grants.remove(&GrantType::Password);
        }
        self.server
    }
}

impl<S: fmt::Debug + 'static> fmt::Debug for ServerBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("server", &self.server)
            .finish()
    }
}
