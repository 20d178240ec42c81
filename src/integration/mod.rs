//! Framework integrations, behind cargo features: [`axum`] (feature `axum`) and
//! [`actix`] (feature `actix`).
//!
//! Each gives the same three pieces:
//!
//! 1. **The endpoints, mounted**: the token, revocation, introspection and pushed authorization
//!    request (RFC 9126) endpoints, the metadata documents (RFC 8414 and OpenID discovery),
//!    UserInfo and JWKS (for an OpenID Provider), registration and client configuration (when registration is enabled), device
//!    authorization (when the device grant is registered) and the protected-resource metadata
//!    (when resources are registered). Bodies are read up to [`BODY_LIMIT`].
//! 2. **An extractor** ([`Authorized`]) that yields the validated [`AccessGrant`] for the
//!    [`Requirement`] a [`RequirementSpec`] names, or answers grantor's `401`/`403` with its
//!    `WWW-Authenticate` challenge.
//! 3. **A middleware** that protects a whole router or scope with one [`Requirement`] and puts
//!    the [`AccessGrant`] in the request's extensions for the handlers.
//!
//! The authorization endpoint stays yours (login and consent are your pages); a `Buffered`
//! extractor hands it the request as grantor takes it.
//!
//! # Where the endpoints are mounted
//!
//! Each endpoint is mounted at the path of its URL in the [`Config`](crate::Config) (the
//! defaults: `/token`, `/revoke`, `/introspect`, `/userinfo`, `/jwks`, `/register`,
//! `/device_authorization`, `/par`, after the issuer's path), **when that URL is below the issuer**
//! (it starts with the issuer followed by `/`). An endpoint configured elsewhere (another host,
//! say) is not mounted: serve it where you configured it. The metadata is mounted at
//! [`Server::metadata_path`] and, for an OpenID Provider, at
//! [`Server::openid_configuration_path`]; client configuration at the registration path
//! followed by `/{client_id}`; protected-resource metadata at
//! [`PROTECTED_RESOURCE_METADATA`](crate::PROTECTED_RESOURCE_METADATA) and below it. Paths are
//! absolute on the issuer's host: with the issuer `https://a.example/tenant1`, the token
//! endpoint is mounted at `/tenant1/token`. A path mounted twice is mounted once.
//!
//! # Bearer tokens
//!
//! The extractor and the middleware read the token from the `Authorization` header
//! (RFC 6750 §2.1, the way nearly every client sends it), or from the query when
//! [`ConfigBuilder::bearer_in_query`](crate::ConfigBuilder::bearer_in_query) allows it. They do
//! not read the body, so the route's handler still can: a route that must accept the token in
//! a form body (RFC 6750 §2.2) reads the request with `Buffered` and calls
//! [`Server::validate_bearer`] itself.

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
pub mod axum;

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use http::{Request, Response};

use crate::{AccessGrant, BearerError, BoxFuture, Requirement, ScopeError, Server, Storage};

/// The largest request body the integrations read: OAuth requests are small, and grantor
/// applies its own, tighter limits on parameters as well. Larger bodies get `413`.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What a protected route asks of a token, named by a type, for [`Authorized`].
///
/// Implement it on a zero-sized type, one per kind of route:
///
/// ```
/// use grantor::integration::RequirementSpec;
/// use grantor::{Requirement, ScopeError};
///
/// /// A user's token holding `profile`.
/// struct Profile;
///
/// impl RequirementSpec for Profile {
///     fn requirement() -> Result<Requirement, ScopeError> {
///         Requirement::user().scopes("profile")
///     }
/// }
/// ```
///
/// A requirement that fails to build (a malformed scope) refuses every request with `500`:
/// never a route that takes any token.
pub trait RequirementSpec: Send + Sync + 'static {
    /// The requirement.
    fn requirement() -> Result<Requirement, ScopeError>;
}

/// The validated token of a request to a protected route, for the route's requirement `R`:
/// the framework extractor (an axum `FromRequestParts`, an actix-web `FromRequest`). It
/// dereferences to the [`AccessGrant`]. Without a valid token, the request is answered with
/// grantor's `401` or `403` and its `WWW-Authenticate` challenge.
pub struct Authorized<R> {
    grant: AccessGrant,
    requirement: PhantomData<fn() -> R>,
}

impl<R> Authorized<R> {
    fn new(grant: AccessGrant) -> Self {
        Self {
            grant,
            requirement: PhantomData,
        }
    }

    /// The grant.
    pub fn into_grant(self) -> AccessGrant {
        self.grant
    }
}

impl<R> Deref for Authorized<R> {
    type Target = AccessGrant;

    fn deref(&self) -> &AccessGrant {
        &self.grant
    }
}

impl<R> fmt::Debug for Authorized<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Authorized").field(&self.grant).finish()
    }
}

/// A [`Server`] as the extractors and middlewares see it, whatever its storage: it validates
/// bearer tokens. Make one with `Validator::from(server)`; cloning it is cheap.
#[derive(Clone)]
pub struct Validator(Arc<dyn Validate>);

impl Validator {
    /// Validates the bearer token of the request whose head is `parts`, as
    /// [`Server::validate_bearer`] does without a body; gives the head back.
    async fn check(
        &self,
        parts: http::request::Parts,
        requirement: &Requirement,
    ) -> (http::request::Parts, Result<AccessGrant, BearerError>) {
        let probe = Request::from_parts(parts, Vec::new());
        let checked = self.0.validate(&probe, requirement).await;
        (probe.into_parts().0, checked)
    }
}

impl<S: Storage> From<Arc<Server<S>>> for Validator {
    fn from(server: Arc<Server<S>>) -> Self {
        Self(server)
    }
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Validator")
    }
}

/// [`Server::validate_bearer`] without the storage type.
trait Validate: Send + Sync {
    fn validate<'a>(
        &'a self,
        request: &'a Request<Vec<u8>>,
        requirement: &'a Requirement,
    ) -> BoxFuture<'a, Result<AccessGrant, BearerError>>;
}

impl<S: Storage> Validate for Server<S> {
    fn validate<'a>(
        &'a self,
        request: &'a Request<Vec<u8>>,
        requirement: &'a Requirement,
    ) -> BoxFuture<'a, Result<AccessGrant, BearerError>> {
        Box::pin(self.validate_bearer(request, requirement))
    }
}

/// An endpoint the integrations mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Token,
    Revoke,
    Introspect,
    Metadata,
    #[cfg(feature = "oidc")]
    UserInfo,
    #[cfg(feature = "oidc")]
    Jwks,
    Register,
    ClientConfiguration,
    DeviceAuthorization,
    PushedAuthorizationRequest,
    ResourceMetadata,
}

impl Endpoint {
    /// Whether only `POST` is answered (the framework answers `405` to other methods); the
    /// other endpoints check the method themselves.
    fn post_only(self) -> bool {
        matches!(
            self,
            Self::Token
                | Self::Revoke
                | Self::Introspect
                | Self::DeviceAuthorization
                | Self::PushedAuthorizationRequest
        )
    }
}

/// A path the framework can route literally: no parameter or wildcard syntax of either
/// framework (`{…}`, `:name`, `*name`).
fn literal(path: &str) -> bool {
    path.starts_with('/')
        && !path.contains(['{', '}'])
        && !path
            .split('/')
            .any(|segment| segment.starts_with([':', '*']))
}

/// The path of `url` when it is below `issuer`.
fn below_issuer(issuer: &str, url: &str) -> Option<String> {
    let base = issuer.trim_end_matches('/');
    let rest = url.strip_prefix(base)?;
    if !rest.starts_with('/') {
        return None;
    }
    let parsed = url::Url::parse(url).ok()?;
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return None;
    }
    Some(parsed.path().to_owned())
}

/// The routes to mount for `server`: each literal path, once, with its endpoint. The client
/// configuration path is the registration path; the framework appends its `client_id`
/// parameter. The protected-resource metadata path is the prefix; the framework mounts it and
/// everything below it.
fn routes<S: 'static>(server: &Server<S>) -> Vec<(String, Endpoint)> {
    let config = server.config();
    let issuer = config.issuer();
    let mut wanted: Vec<(Option<String>, Endpoint)> = vec![
        (
            below_issuer(issuer, config.token_endpoint()),
            Endpoint::Token,
        ),
        (
            below_issuer(issuer, config.revocation_endpoint()),
            Endpoint::Revoke,
        ),
        (
            below_issuer(issuer, config.introspection_endpoint()),
            Endpoint::Introspect,
        ),
        (
            below_issuer(issuer, config.pushed_authorization_request_endpoint()),
            Endpoint::PushedAuthorizationRequest,
        ),
        (Some(server.metadata_path()), Endpoint::Metadata),
    ];
    #[cfg(feature = "oidc")]
    if server.is_openid_provider() {
        wanted.extend([
            (Some(server.openid_configuration_path()), Endpoint::Metadata),
            (
                below_issuer(issuer, config.userinfo_endpoint()),
                Endpoint::UserInfo,
            ),
            (below_issuer(issuer, config.jwks_uri()), Endpoint::Jwks),
        ]);
    }
    if server.registration_enabled() {
        let path = below_issuer(issuer, config.registration_endpoint());
        wanted.push((path.clone(), Endpoint::Register));
        wanted.push((path, Endpoint::ClientConfiguration));
    }
    if server.device_flow_enabled() {
        wanted.push((
            below_issuer(issuer, config.device_authorization_endpoint()),
            Endpoint::DeviceAuthorization,
        ));
    }
    if !config.resources().is_empty() {
        wanted.push((
            Some(crate::PROTECTED_RESOURCE_METADATA.to_owned()),
            Endpoint::ResourceMetadata,
        ));
    }
    let mut seen = HashSet::new();
    wanted
        .into_iter()
        .filter_map(|(path, endpoint)| {
            let path = path.filter(|path| literal(path))?;
            // Client configuration lives below the registration path: a distinct route.
            let key = (path.clone(), endpoint == Endpoint::ClientConfiguration);
            seen.insert(key).then_some((path, endpoint))
        })
        .collect()
}

/// Answers `request` at `endpoint`; `client_id` is the client configuration path's parameter.
async fn dispatch<S: Storage, B: AsRef<[u8]> + Sync>(
    server: &Server<S>,
    endpoint: Endpoint,
    request: &Request<B>,
    client_id: &str,
) -> Response<Vec<u8>> {
    match endpoint {
        Endpoint::Token => server.token(request).await,
        Endpoint::Revoke => server.revoke(request).await,
        Endpoint::Introspect => server.introspect(request).await,
        Endpoint::Metadata => server.metadata_response(request),
        #[cfg(feature = "oidc")]
        Endpoint::UserInfo => server.userinfo(request).await,
        #[cfg(feature = "oidc")]
        Endpoint::Jwks => server.jwks_response(request).await,
        Endpoint::Register => server.register(request).await,
        Endpoint::ClientConfiguration => server.client_configuration(request, client_id).await,
        Endpoint::DeviceAuthorization => server.device_authorization(request).await,
        Endpoint::PushedAuthorizationRequest => server.push_authorization_request(request).await,
        Endpoint::ResourceMetadata => server.resource_metadata_response(request),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_urls_below_the_issuer_are_mounted() {
        let issuer = "https://a.example/tenant1";
        assert_eq!(
            below_issuer(issuer, "https://a.example/tenant1/token").as_deref(),
            Some("/tenant1/token")
        );
        assert_eq!(
            below_issuer(issuer, "https://a.example/tenant1x/token"),
            None
        );
        assert_eq!(
            below_issuer(issuer, "https://b.example/tenant1/token"),
            None
        );
        assert_eq!(
            below_issuer(issuer, "https://a.example/tenant1/t?x=1"),
            None
        );
        assert!(literal("/.well-known/oauth-authorization-server/tenant1"));
        assert!(!literal("/a/:id"));
        assert!(!literal("/a/*rest"));
    }
}
