//! [`Server`]: the facade a host holds. One method per endpoint, each taking an
//! `http::Request` and returning an `http::Response` (or, for the steps the host takes part in,
//! a typed value).

use http::{Request, Response};

use crate::authenticator::{Authenticator, NoAuthenticator, OwnerId};
use crate::client::Client;
use crate::config::Config;
use crate::endpoint::authorize::{self, AuthorizationError, AuthorizationRequest};
use crate::endpoint::bearer::{self, AccessGrant, BearerError, Requirement};
use crate::endpoint::{introspect, metadata, revoke, token};
use crate::error::Error;
use crate::scope::ScopeSet;
use crate::storage::Storage;
use crate::time::Timestamp;

/// An OAuth 2.0 authorization server over a storage backend `S` and, for the password grant,
/// an [`Authenticator`] `A`.
///
/// A `Server` is shared by every request: put it in an `Arc` (or your framework's state).
#[derive(Debug)]
pub struct Server<S, A = NoAuthenticator> {
    config: Config,
    storage: S,
    authenticator: A,
}

impl<S: Storage> Server<S> {
    /// A server with this configuration and storage, without an authenticator (the password
    /// grant then always fails).
    pub fn new(config: Config, storage: S) -> Self {
        Self {
            config,
            storage,
            authenticator: NoAuthenticator,
        }
    }
}

impl<S, A> Server<S, A> {
    /// The same server, checking resource-owner passwords with `authenticator`.
    pub fn with_authenticator<A2: Authenticator>(self, authenticator: A2) -> Server<S, A2> {
        Server {
            config: self.config,
            storage: self.storage,
            authenticator,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The storage backend.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The authenticator.
    pub fn authenticator(&self) -> &A {
        &self.authenticator
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
}

impl<S: Storage, A: Authenticator> Server<S, A> {
    /// Registers (or replaces) a client.
    pub async fn register_client(&self, client: Client) -> Result<(), Error> {
        self.storage.save_client(client).await
    }

    /// Validates an authorization request (`GET` or `POST` to the authorization endpoint).
    ///
    /// On success, show the owner your login and consent pages for the returned request, then
    /// call [`approve`](Self::approve) or [`deny`](Self::deny). On failure, answer with
    /// [`AuthorizationError::into_response`] (or your own page for
    /// [`AuthorizationError::Direct`]).
    pub async fn authorize<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
    ) -> Result<AuthorizationRequest, AuthorizationError> {
        authorize::validate(self, request).await
    }

    /// Approves a request on behalf of `owner`, who granted `granted` (a subset of
    /// [`AuthorizationRequest::scope`]; anything else is dropped). Returns the `303` redirect
    /// that delivers the code (or, for the implicit grant, the token) to the client.
    pub async fn approve(
        &self,
        request: AuthorizationRequest,
        owner: &OwnerId,
        granted: &ScopeSet,
    ) -> Result<Response<Vec<u8>>, Error> {
        authorize::approve(self, request, owner, granted).await
    }

    /// Denies a request: the `303` redirect that tells the client `access_denied`.
    pub fn deny(&self, request: &AuthorizationRequest) -> Response<Vec<u8>> {
        authorize::deny(self, request)
    }

    /// Answers a token-endpoint request (`POST`), whatever its grant type.
    pub async fn token<B: AsRef<[u8]>>(&self, request: &Request<B>) -> Response<Vec<u8>> {
        token::respond(self, request).await
    }

    /// Answers a revocation request (`POST`, RFC 7009): `200` when the token is revoked or was
    /// not live anyway. Revoking a refresh token revokes every token of its grant; revoking an
    /// access token revokes only that token. Another client's token is refused with
    /// `unauthorized_client`.
    pub async fn revoke<B: AsRef<[u8]>>(&self, request: &Request<B>) -> Response<Vec<u8>> {
        revoke::respond(self, request).await
    }

    /// Answers an introspection request (`POST`, RFC 7662): `{"active":false}` for any token
    /// the authenticated client may not see, else the token's state. A client sees its own
    /// tokens; one registered with
    /// [`introspects_any_token`](crate::ClientBuilder::introspects_any_token) sees every access
    /// token.
    pub async fn introspect<B: AsRef<[u8]>>(&self, request: &Request<B>) -> Response<Vec<u8>> {
        introspect::respond(self, request).await
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

    /// Validates the bearer token of a request to a protected route.
    ///
    /// On failure, answer with [`BearerError::into_response`]: it carries the status and
    /// `WWW-Authenticate` challenge RFC 6750 requires.
    pub async fn validate_bearer<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
        requirement: &Requirement,
    ) -> Result<AccessGrant, BearerError> {
        bearer::validate(self, request, requirement).await
    }
}
