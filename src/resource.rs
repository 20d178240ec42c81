//! Protected resources: the APIs a server issues access tokens for (RFC 8707 resource
//! indicators, RFC 9728 protected-resource metadata).
//!
//! The host registers each resource on the [`Config`](crate::Config) with its identifier (the
//! URL clients call, or its base), the scopes it understands, the format of its access tokens
//! and, optionally, their lifetime. Clients name the resources they want tokens for with
//! `resource` at the authorization and token endpoints; the token's audience is the resources
//! named (or the configured default), and a route checks it with
//! [`Requirement::resource`](crate::Requirement::resource).

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::client::Client;
use crate::error::{Error, OAuthError};
use crate::scope::ScopeSet;

/// The path below which protected-resource metadata is served (RFC 9728 §3).
pub const PROTECTED_RESOURCE_METADATA: &str = "/.well-known/oauth-protected-resource";

/// How a resource's access tokens are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenFormat {
    /// The server's access-token format (by default opaque: 256 random bits that only the
    /// server can read, by validation or introspection).
    #[default]
    Opaque,
    /// A signed JWT (RFC 9068) that a resource server checks with the server's JWKS alone;
    /// needs an OpenID Provider's signing keys (feature `oidc`).
    Jwt,
}

/// A protected resource registered on the server.
///
/// ```
/// use std::time::Duration;
/// use grantor::{Resource, TokenFormat};
///
/// let api = Resource::new("https://api.example.com/mail")?
///     .scopes("mail:read mail:send")?
///     .access_token_format(TokenFormat::Jwt)
///     .access_token_lifetime(Duration::from_secs(300));
/// assert_eq!(
///     api.metadata_url(),
///     "https://api.example.com/.well-known/oauth-protected-resource/mail"
/// );
/// # Ok::<(), grantor::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    id: Arc<str>,
    url: Url,
    scopes: ScopeSet,
    format: TokenFormat,
    lifetime: Option<Duration>,
}

impl Resource {
    /// A resource with this identifier: an absolute `https` URL (`http` on a loopback host,
    /// for development) without a fragment (RFC 8707 §2, RFC 9728 §1.2). Its tokens are in
    /// the server's default format and lifetime, and it lists no scopes.
    pub fn new(id: &str) -> Result<Self, Error> {
        let url = Url::parse(id)
            .map_err(|_| Error::config("a resource identifier must be an absolute URL"))?;
        let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        let secure = url.scheme() == "https" || (url.scheme() == "http" && loopback);
        if !secure || id.contains('#') || url.host_str().is_none() {
            return Err(Error::config(
                "a resource identifier must be an https URL (http only on a loopback host) \
                 without a fragment",
            ));
        }
        Ok(Self {
            id: id.into(),
            url,
            scopes: ScopeSet::new(),
            format: TokenFormat::Opaque,
            lifetime: None,
        })
    }

    /// The space-delimited scopes the resource understands, listed in its metadata.
    pub fn scopes(mut self, scopes: &str) -> Result<Self, Error> {
        self.scopes =
            ScopeSet::parse(scopes).map_err(|_| Error::config("malformed scopes of a resource"))?;
        Ok(self)
    }

    /// The format of the resource's access tokens (default [`TokenFormat::Opaque`]).
    pub fn access_token_format(mut self, format: TokenFormat) -> Self {
        self.format = format;
        self
    }

    /// How long the resource's access tokens are valid (default: the server's access-token
    /// lifetime). A token for several resources gets the shortest of their lifetimes.
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = Some(lifetime);
        self
    }

    /// The resource identifier, exactly as registered.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The scopes the resource understands.
    pub fn scope(&self) -> &ScopeSet {
        &self.scopes
    }

    /// The format of the resource's access tokens.
    pub fn format(&self) -> TokenFormat {
        self.format
    }

    /// The lifetime of the resource's access tokens, when it has its own.
    pub fn lifetime(&self) -> Option<Duration> {
        self.lifetime
    }

    /// The path of the resource's metadata document on its host: the well-known prefix
    /// followed by the identifier's path (none for a resource at the root of its host;
    /// RFC 9728 §3.1).
    pub fn metadata_path(&self) -> String {
        // Only the slash that is the whole path goes (RFC 9728 §3.1); `/mail/` keeps its own.
        let path = match self.url.path() {
            "/" => "",
            path => path,
        };
        let mut out = format!("{PROTECTED_RESOURCE_METADATA}{path}");
        if let Some(query) = self.url.query() {
            out.push('?');
            out.push_str(query);
        }
        out
    }

    /// Whether `host` (`name` or `name:port`, lower case, as a `Host` header says) is the
    /// resource's host.
    pub(crate) fn serves_host(&self, host: &str) -> bool {
        let Ok(sent) = Url::parse(&format!("{}://{host}/", self.url.scheme())) else {
            return false;
        };
        sent.host_str() == self.url.host_str()
            && sent.port_or_known_default() == self.url.port_or_known_default()
    }

    /// The URL of the resource's metadata document (RFC 9728 §3.1): what a `401` from the
    /// resource names as `resource_metadata`.
    pub fn metadata_url(&self) -> String {
        let origin = self.url.origin().ascii_serialization();
        format!("{origin}{}", self.metadata_path())
    }
}

/// The resources a token may be for: the server's registered resources and the default.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resources {
    list: Vec<Resource>,
    default: Option<Arc<str>>,
}

impl Resources {
    /// Registers a resource; a resource already registered with the same identifier is
    /// replaced.
    pub(crate) fn register(&mut self, resource: Resource) {
        match self.list.iter_mut().find(|known| known.id == resource.id) {
            Some(slot) => *slot = resource,
            None => self.list.push(resource),
        }
    }

    /// Makes `id` the audience of tokens whose request names no resource.
    pub(crate) fn set_default(&mut self, id: &str) {
        self.default = Some(id.into());
    }

    /// Checks that the default resource is registered.
    pub(crate) fn check(&self) -> Result<(), Error> {
        match &self.default {
            Some(id) if self.find(id).is_none() => Err(Error::config(
                "the default resource must be a registered resource",
            )),
            _ => Ok(()),
        }
    }

    /// The registered resources.
    pub(crate) fn all(&self) -> &[Resource] {
        &self.list
    }

    /// The registered resource with this identifier.
    pub(crate) fn find(&self, id: &str) -> Option<&Resource> {
        self.list.iter().find(|resource| &*resource.id == id)
    }

    /// The default resource's identifier, if one is configured.
    pub(crate) fn default_id(&self) -> Option<&str> {
        self.default.as_deref()
    }

    /// The audience of a new grant for `client` that named `requested` (C-RI-1): the resources
    /// named, each registered and allowed for the client, or without any, the default resource
    /// when the client may have it (else none). `invalid_target` for a malformed, unknown or
    /// forbidden resource.
    pub(crate) fn resolve(
        &self,
        client: &Client,
        requested: &[&str],
    ) -> Result<Vec<String>, OAuthError> {
        if requested.is_empty() {
            return Ok(self
                .default
                .iter()
                .filter(|id| client.allows_resource(id))
                .map(|id| id.to_string())
                .collect());
        }
        let mut audience: Vec<String> = Vec::with_capacity(requested.len());
        for &id in requested {
            check_indicator(id)?;
            if self.find(id).is_none() {
                return Err(OAuthError::invalid_target("the resource is unknown"));
            }
            if !client.allows_resource(id) {
                return Err(OAuthError::invalid_target(
                    "the client may not have tokens for the resource",
                ));
            }
            if !audience.iter().any(|known| known == id) {
                audience.push(id.to_owned());
            }
        }
        Ok(audience)
    }

    /// The audience of tokens that `client` gets from an existing grant (a code, a refresh
    /// token) whose resources are `granted` (C-RI-1): without `requested`, those of them still
    /// registered and allowed for the client; else the resources requested, each of which must
    /// be among them and still registered and allowed (a request may narrow the audience, never
    /// widen it). `invalid_target` otherwise.
    pub(crate) fn narrow(
        &self,
        client: &Client,
        granted: &[String],
        requested: &[&str],
    ) -> Result<Vec<String>, OAuthError> {
        let usable = |id: &str| self.find(id).is_some() && client.allows_resource(id);
        if requested.is_empty() {
            return Ok(granted.iter().filter(|id| usable(id)).cloned().collect());
        }
        let mut audience: Vec<String> = Vec::with_capacity(requested.len());
        for &id in requested {
            check_indicator(id)?;
            if !granted.iter().any(|known| known == id) {
                return Err(OAuthError::invalid_target(
                    "the resource was not part of the grant",
                ));
            }
            if !usable(id) {
                return Err(OAuthError::invalid_target(
                    "the resource is no longer available to the client",
                ));
            }
            if !audience.iter().any(|known| known == id) {
                audience.push(id.to_owned());
            }
        }
        Ok(audience)
    }

    /// The format and lifetime of an access token for `audience`: JWT when any of its
    /// resources wants JWTs, and the shortest lifetime among them (else `None`: the server's).
    pub(crate) fn token_settings(&self, audience: &[String]) -> (TokenFormat, Option<Duration>) {
        let mut format = TokenFormat::Opaque;
        let mut lifetime: Option<Duration> = None;
        for resource in audience.iter().filter_map(|id| self.find(id)) {
            if resource.format == TokenFormat::Jwt {
                format = TokenFormat::Jwt;
            }
            if let Some(own) = resource.lifetime {
                lifetime = Some(lifetime.map_or(own, |known| known.min(own)));
            }
        }
        (format, lifetime)
    }
}

/// A `resource` value must be an absolute URI without a fragment (RFC 8707 §2).
fn check_indicator(id: &str) -> Result<(), OAuthError> {
    match Url::parse(id) {
        Ok(_) if !id.contains('#') => Ok(()),
        _ => Err(OAuthError::invalid_target(
            "a resource must be an absolute URI without a fragment",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Client;

    fn resources() -> Resources {
        let mut resources = Resources::default();
        resources.register(Resource::new("https://api.example/a").unwrap());
        resources.register(
            Resource::new("https://api.example/b")
                .unwrap()
                .access_token_format(TokenFormat::Jwt)
                .access_token_lifetime(Duration::from_secs(60)),
        );
        resources.set_default("https://api.example/a");
        resources
    }

    #[test]
    fn a_resource_knows_its_host() {
        let api = Resource::new("https://api.example/mail").unwrap();
        for host in ["api.example", "api.example:443", "API.example"] {
            assert!(api.serves_host(&host.to_ascii_lowercase()), "{host}");
        }
        for host in ["other.example", "api.example:8443", "api.example.evil", ""] {
            assert!(!api.serves_host(host), "{host}");
        }
        let local = Resource::new("http://[::1]:8080/notes").unwrap();
        assert!(local.serves_host("[::1]:8080"));
        assert!(!local.serves_host("[::1]"));
    }

    #[test]
    fn identifiers_are_absolute_https_urls_without_fragment() {
        for bad in [
            "/api",
            "http://api.example/",
            "https://api.example/#x",
            "urn:x:y",
        ] {
            assert!(Resource::new(bad).is_err(), "{bad}");
        }
        assert!(Resource::new("http://127.0.0.1:8080/api").is_ok());
        let root = Resource::new("https://api.example/").unwrap();
        assert_eq!(
            root.metadata_url(),
            "https://api.example/.well-known/oauth-protected-resource"
        );
    }

    // C-RI-1: resolution of the requested resources.
    #[test]
    fn resolves_requested_default_and_refuses_the_rest() {
        let resources = resources();
        let any = Client::public("c")
            .redirect_uri("https://c.example/cb")
            .build()
            .unwrap();
        assert_eq!(
            resources.resolve(&any, &[]).unwrap(),
            ["https://api.example/a"]
        );
        assert_eq!(
            resources
                .resolve(&any, &["https://api.example/b", "https://api.example/b"])
                .unwrap(),
            ["https://api.example/b"]
        );
        for bad in [
            "https://api.example/c",
            "not a uri",
            "https://api.example/a#f",
        ] {
            let error = resources.resolve(&any, &[bad]).unwrap_err();
            assert_eq!(error.code().as_str(), "invalid_target", "{bad}");
        }
        let limited = Client::public("c")
            .redirect_uri("https://c.example/cb")
            .resources(["https://api.example/b"])
            .build()
            .unwrap();
        assert!(resources.resolve(&limited, &[]).unwrap().is_empty());
        let error = resources
            .resolve(&limited, &["https://api.example/a"])
            .unwrap_err();
        assert_eq!(error.code().as_str(), "invalid_target");
    }

    #[test]
    fn narrowing_never_widens_nor_keeps_what_was_withdrawn() {
        let resources = resources();
        let client = Client::public("c")
            .redirect_uri("https://c.example/cb")
            .build()
            .unwrap();
        let granted = vec!["https://api.example/a".to_owned()];
        assert_eq!(resources.narrow(&client, &granted, &[]).unwrap(), granted);
        let a = ["https://api.example/a"];
        assert_eq!(resources.narrow(&client, &granted, &a).unwrap(), granted);
        // B is registered, but not part of the grant.
        let b = ["https://api.example/b"];
        let error = resources.narrow(&client, &granted, &b).unwrap_err();
        assert_eq!(error.code().as_str(), "invalid_target");
        // A resource withdrawn since the grant: dropped, or refused when asked for.
        let withdrawn = vec!["https://api.example/gone".to_owned()];
        assert!(
            resources
                .narrow(&client, &withdrawn, &[])
                .unwrap()
                .is_empty()
        );
        let gone = ["https://api.example/gone"];
        let error = resources.narrow(&client, &withdrawn, &gone).unwrap_err();
        assert_eq!(error.code().as_str(), "invalid_target");
        // A resource the client may no longer have.
        let limited = Client::public("c")
            .redirect_uri("https://c.example/cb")
            .resources(["https://api.example/b"])
            .build()
            .unwrap();
        assert!(
            resources
                .narrow(&limited, &granted, &[])
                .unwrap()
                .is_empty()
        );
        let error = resources.narrow(&limited, &granted, &a).unwrap_err();
        assert_eq!(error.code().as_str(), "invalid_target");
    }

    #[test]
    fn the_strictest_resource_sets_format_and_lifetime() {
        let resources = resources();
        let both = [
            "https://api.example/a".to_owned(),
            "https://api.example/b".to_owned(),
        ];
        assert_eq!(
            resources.token_settings(&both),
            (TokenFormat::Jwt, Some(Duration::from_secs(60)))
        );
        assert_eq!(
            resources.token_settings(&both[..1]),
            (TokenFormat::Opaque, None)
        );
    }
}
