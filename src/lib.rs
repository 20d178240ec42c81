//! # grantor
//!
//! A standards-correct OAuth 2.0 authorization server for the web application you already have,
//! in any Rust HTTP stack. grantor takes `http::Request`s and gives back `http::Response`s; your
//! framework (axum, actix-web, hyper, …) moves them, and your app keeps what is its own: users,
//! login, consent pages, sessions and TLS.
//!
//! ## Quickstart
//!
//! ```
//! use grantor::{Client, CodeChallenge, Config, MemoryStorage, OwnerId, Requirement, ScopeSet, Server};
//! use http::{Request, header};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Server::new(Config::builder("https://auth.example.com").build()?, MemoryStorage::new());
//! let app = Client::public("my-app").redirect_uri("https://app.example.com/cb").allowed_scopes("read").build()?;
//! server.register_client(app).await?;
//!
//! // 1. The browser arrives at GET /authorize; the client sent a PKCE challenge.
//! let verifier = "a-long-random-verifier-of-at-least-43-characters";
//! let challenge = CodeChallenge::s256(verifier);
//! let uri = format!(
//!     "/authorize?response_type=code&client_id=my-app&scope=read&state=xyz&code_challenge={}&code_challenge_method=S256",
//!     challenge.value()
//! );
//! let pending = server.authorize(&Request::get(uri).body(Vec::new())?).await?;
//!
//! // 2. Your login and consent pages run here; then the owner approves.
//! let redirect = server.approve(pending, &OwnerId::new("alice"), &ScopeSet::parse("read")?).await?;
//! let location = redirect.headers()[header::LOCATION].to_str()?;
//! let code = url::Url::parse(location)?.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
//!
//! // 3. The client exchanges the code at POST /token.
//! let body = format!("grant_type=authorization_code&code={code}&client_id=my-app&code_verifier={verifier}");
//! let token_request = Request::post("/token")
//!     .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
//!     .body(body.into_bytes())?;
//! let response = server.token(&token_request).await;
//! let json: serde_json::Value = serde_json::from_slice(response.body())?;
//!
//! // 4. Your API checks the bearer token.
//! let api_request = Request::get("/api/me")
//!     .header(header::AUTHORIZATION, format!("Bearer {}", json["access_token"].as_str().unwrap()))
//!     .body(Vec::new())?;
//! let grant = server.validate_bearer(&api_request, &Requirement::user().scopes("read")?).await?;
//! assert_eq!(grant.owner(), Some(&OwnerId::new("alice")));
//! # Ok(())
//! # }
//! ```
//!
//! ## Map
//!
//! | module | what it is for |
//! |---|---|
//! | [`Server`], [`Config`] | the facade you hold and how it behaves |
//! | [`AuthorizationRequest`] | the authorization endpoint: validate, then approve or deny |
//! | [`Server::token`] | the token endpoint: every grant behind one entry point |
//! | [`Server::revoke`], [`Server::introspect`] | revocation (RFC 7009) and introspection (RFC 7662) |
//! | [`Server::metadata`], [`Server::metadata_path`] | discovery metadata (RFC 8414) |
//! | [`Server::validate_bearer`], [`Requirement`] | protecting your API routes (RFC 6750) |
//! | [`Server::register`], [`RegistrationPolicy`] | dynamic client registration and its management (RFC 7591, RFC 7592) |
//! | [`Client`] | registered clients and their permissions |
//! | [`ScopeSet`] | scopes, including extended `base:qualifier` scopes |
//! | [`Resource`] | protected resources: audience-bound tokens (RFC 8707), JWT access tokens (RFC 9068), protected-resource metadata (RFC 9728) |
//! | [`CodeChallenge`] | PKCE (RFC 7636) |
//! | [`Storage`], [`MemoryStorage`] | where codes and tokens live, and the embedded default |
//! | [`storage`] | the focused store traits, the exactly-once primitive, the SQLite and PostgreSQL backends and the storage test kit (cargo features) |
//! | [`grant`] | the grant seam: add your own `grant_type` ([`ServerBuilder::grant`]) |
//! | [`token`] | the access-token format seam, token types and the token response |
//! | [`Authenticator`] | your user store, for the password grant |
//! | [`OAuthError`], [`Error`] | what clients see, and what went wrong inside |
//!
//! Requirement ids such as `C-TK-5` in these docs refer to `docs/CONFORMANCE.md` in the
//! repository, which lists each requirement; the tests that prove them cite the same ids.
//!
//! ## Security defaults
//!
//! Exact redirect-URI matching; PKCE `S256` required for public clients (`plain` off);
//! single-use, short-lived codes bound to client, redirect URI, owner, scope and challenge; a
//! replayed code or rotated refresh token revokes its whole grant; secrets are 256-bit random
//! values stored only as SHA-256 digests and compared in constant time; no secret in any `Debug`
//! output or error description.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod audit;
mod authenticator;
mod charset;
mod client;
mod client_auth;
mod config;
#[cfg(feature = "jose")]
pub mod dpop;
mod endpoint;
mod error;
#[cfg(feature = "jose")]
pub mod fapi;
mod form;
pub mod grant;
#[cfg(any(feature = "axum", feature = "actix"))]
pub mod integration;
#[cfg(feature = "jose")]
pub mod jose;
mod limit;
mod observe;
#[cfg(feature = "oidc")]
pub mod oidc;
mod pkce;
mod resource;
mod scope;
mod server;
pub mod storage;
mod time;
pub mod token;

pub use audit::{AuditEvent, AuditKind, AuditSink};
pub use authenticator::{Authenticator, OwnerId, Password};
pub use client::{
    AuthMethod, Client, ClientBuilder, ClientId, ExtensionGrantType, GrantType, RedirectUri,
    ResponseType,
};
#[cfg(feature = "jose")]
pub use client_auth::assertion::{ClientAssertions, ClientSecretKeys, JwksFetcher};
pub use config::{Config, ConfigBuilder, MAX_CODE_LIFETIME, MAX_PUSHED_REQUEST_LIFETIME};
pub use endpoint::authorize::{
    Approval, AuthorizationError, AuthorizationRequest, Interaction, OpenIdRequest, Prompt,
    ResponseMode, SavedAuthorization,
};
pub use endpoint::bearer::{AccessGrant, Audience, BearerError, Requirement, X_OAUTH_SCOPES};
pub use endpoint::device::{DeviceError, DeviceRequest};
pub use endpoint::par::{PUSHED_REQUEST, REQUEST_URI_PREFIX};
pub use endpoint::register::{
    ClientMetadata, RegistrationContext, RegistrationHook, RegistrationOperation,
    RegistrationPolicy, RegistrationRefusal,
};
pub use error::{Error, ErrorCode, ErrorContext, Failure, OAuthError};
pub use limit::{Check, ClientAddress, LimitKey, Limiter, MemoryLimiter};
pub use pkce::{ChallengeMethod, CodeChallenge};
pub use resource::{PROTECTED_RESOURCE_METADATA, Resource, TokenFormat};
pub use scope::{Scope, ScopeError, ScopeSet};
pub use server::{Server, ServerBuilder};
pub use storage::{MemoryStorage, Storage};
pub use time::{Clock, ManualClock, SystemClock, Timestamp};
pub use token::{AccessToken, ClientSecret, RefreshToken};

/// A boxed future that is `Send`: what the object-safe seams ([`grant::Grant`],
/// [`storage::ReplayCache`]) return.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// The README's code blocks, compiled and run as doctests (with the storage features they use).
#[cfg(all(
    doctest,
    feature = "sqlite",
    feature = "postgres",
    feature = "testkit",
    feature = "axum"
))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
