//! Registered clients (RFC 6749 §2): their identity, type, redirect URIs and permissions.
//! How a request authenticates its client is [`client_auth`](crate::client_auth)'s business.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use url::{Host, Url};

use crate::authenticator::OwnerId;
use crate::error::{Error, OAuthError};
use crate::scope::ScopeSet;
use crate::token::{ClientSecret, Digest};

/// A client identifier: 1 to 255 printable ASCII characters (RFC 6749 Appendix A.1).
/// Serialized as its text.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(Arc<str>);

impl ClientId {
    /// Validates a client identifier.
    pub fn new(id: &str) -> Result<Self, Error> {
        if (1..=255).contains(&id.len()) && id.bytes().all(|b| (0x20..=0x7E).contains(&b)) {
            Ok(Self(id.into()))
        } else {
            Err(Error::config(
                "a client id is 1 to 255 printable ASCII characters",
            ))
        }
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientId({:?})", &*self.0)
    }
}

impl FromStr for ClientId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for ClientId {
    type Error = Error;
    fn try_from(id: String) -> Result<Self, Self::Error> {
        Self::new(&id)
    }
}

impl From<ClientId> for String {
    fn from(id: ClientId) -> Self {
        id.as_str().to_owned()
    }
}

/// A registered redirect URI: absolute and without a fragment (RFC 6749 §3.1.2). Compared with
/// the URI a client sends by exact string match (C-AZ-2).
#[derive(Clone, PartialEq, Eq)]
pub struct RedirectUri {
    text: Arc<str>,
    url: Url,
}

impl RedirectUri {
    /// Validates a redirect URI for registration: absolute, visible ASCII, no fragment, not a
    /// `javascript:`, `data:` or `file:` URI, and `http` only on a loopback host (RFC 9700
    /// §2.6: native apps and local development).
    pub fn new(uri: &str) -> Result<Self, Error> {
        if !uri.bytes().all(|b| (0x21..=0x7E).contains(&b)) {
            return Err(Error::config("a redirect URI is visible ASCII only"));
        }
        let url =
            Url::parse(uri).map_err(|_| Error::config("a redirect URI must be an absolute URI"))?;
        if url.fragment().is_some() || uri.contains('#') {
            return Err(Error::config("a redirect URI must not have a fragment"));
        }
        match url.scheme() {
            "javascript" | "data" | "file" => {
                return Err(Error::config("this redirect URI scheme is not allowed"));
            }
            "http" if !is_loopback_host(&url) => {
                return Err(Error::config(
                    "an http redirect URI must be on a loopback host; use https",
                ));
            }
            _ => {}
        }
        Ok(Self {
            text: uri.into(),
            url,
        })
    }

    /// The URI as registered.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed URI.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Whether a URI sent by a client matches this registered one: the exact same string, or,
    /// when `any_loopback_port` is set (native apps, RFC 8252 §7.3), the same `http` loopback IP
    /// URI with any port.
    pub fn matches(&self, sent: &str, any_loopback_port: bool) -> bool {
        if *self.text == *sent {
            return true;
        }
        if !any_loopback_port || !is_loopback_http(&self.url) {
            return false;
        }
        let Ok(sent) = Url::parse(sent) else {
            return false;
        };
        is_loopback_http(&sent)
            && sent.host() == self.url.host()
            && sent.path() == self.url.path()
            && sent.query() == self.url.query()
            && sent.fragment().is_none()
            && sent.username().is_empty()
            && sent.password().is_none()
    }
}

fn is_loopback_http(url: &Url) -> bool {
    url.scheme() == "http"
        && match url.host() {
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            _ => false,
        }
}

/// A loopback IP literal, or `localhost` (for local development).
fn is_loopback_host(url: &Url) -> bool {
    is_loopback_http(url) || url.host_str() == Some("localhost")
}

impl fmt::Debug for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedirectUri({:?})", &*self.text)
    }
}

/// A way for a client to obtain tokens (RFC 6749 §4), as registered for each client and as
/// named by a token request's `grant_type`.
///
/// Besides the RFC 6749 grants, an *extension grant* (§4.5) is named by an absolute URI, such
/// as `urn:ietf:params:oauth:grant-type:device_code`; a host registers its own with
/// [`ServerBuilder::grant`](crate::ServerBuilder::grant).
///
/// ```
/// use grantor::GrantType;
///
/// let api_key = GrantType::extension("urn:example:grant-type:api-key")?;
/// assert_eq!(api_key.as_str(), "urn:example:grant-type:api-key");
/// assert_eq!("refresh_token".parse::<GrantType>()?, GrantType::RefreshToken);
/// assert!(GrantType::extension("api-key").is_err(), "not an absolute URI");
/// # Ok::<(), grantor::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum GrantType {
    /// `authorization_code` (§4.1), with PKCE.
    AuthorizationCode,
    /// The implicit grant, `response_type=token` (§4.2).
    Implicit,
    /// `password`: resource-owner password credentials (§4.3).
    Password,
    /// `client_credentials` (§4.4).
    ClientCredentials,
    /// `refresh_token` (§6).
    RefreshToken,
    /// An extension grant (§4.5), named by an absolute URI. Build it with
    /// [`GrantType::extension`].
    Extension(ExtensionGrantType),
}

/// The absolute URI that names an extension grant (RFC 6749 §4.5); see
/// [`GrantType::extension`].
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ExtensionGrantType(Arc<str>);

impl ExtensionGrantType {
    /// The URI as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ExtensionGrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl GrantType {
    /// The grant types RFC 6749 defines.
    pub const BUILT_IN: [GrantType; 5] = [
        Self::AuthorizationCode,
        Self::Implicit,
        Self::Password,
        Self::ClientCredentials,
        Self::RefreshToken,
    ];

    /// An extension grant type: an absolute URI of visible ASCII (RFC 6749 §4.5), e.g.
    /// `urn:ietf:params:oauth:grant-type:token-exchange`.
    pub fn extension(uri: &str) -> Result<Self, Error> {
        let visible = !uri.is_empty() && uri.bytes().all(|b| (0x21..=0x7E).contains(&b));
        if !visible || Url::parse(uri).is_err() {
            return Err(Error::config(
                "an extension grant type is an absolute URI of visible ASCII",
            ));
        }
        Ok(Self::Extension(ExtensionGrantType(uri.into())))
    }

    /// The name used in `grant_type` and in server metadata (`implicit` for the implicit grant).
    pub fn as_str(&self) -> &str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::Implicit => "implicit",
            Self::Password => "password",
            Self::ClientCredentials => "client_credentials",
            Self::RefreshToken => "refresh_token",
            Self::Extension(uri) => uri.as_str(),
        }
    }
}

impl FromStr for GrantType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match Self::BUILT_IN.into_iter().find(|g| g.as_str() == s) {
            Some(grant) => Ok(grant),
            None => {
                Self::extension(s).map_err(|_| Error::config(format!("unknown grant type {s:?}")))
            }
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A registered client. Cheap to clone.
///
/// Build one with [`Client::confidential`] or [`Client::public`]:
///
/// ```
/// use grantor::{Client, ClientSecret, GrantType};
///
/// let secret = ClientSecret::generate(); // show it to the developer once
/// let client = Client::confidential("billing-service", &secret)
///     .name("Billing")
///     .redirect_uri("https://billing.example.com/callback")
///     .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
///     .allowed_scopes("invoices:read invoices:write")
///     .default_scopes("invoices:read")
///     .build()?;
/// assert!(client.is_confidential());
/// # Ok::<(), grantor::Error>(())
/// ```
#[derive(Clone)]
pub struct Client(Arc<ClientData>);

struct ClientData {
    id: ClientId,
    name: String,
    secret: Option<Digest>,
    redirect_uris: Vec<RedirectUri>,
    grant_types: Vec<GrantType>,
    allowed_scopes: ScopeSet,
    default_scopes: ScopeSet,
    owner: Option<OwnerId>,
    owner_only: bool,
    native: bool,
    introspects_any_token: bool,
}

impl Client {
    /// Starts a confidential client that authenticates with this secret (only its SHA-256
    /// digest is kept).
    pub fn confidential(id: &str, secret: &ClientSecret) -> ClientBuilder {
        ClientBuilder::new(id, Some(secret.digest()))
    }

    /// Starts a confidential client from a stored secret digest (as a storage backend loads it).
    pub fn with_secret_digest(id: &str, digest: Digest) -> ClientBuilder {
        ClientBuilder::new(id, Some(digest))
    }

    /// Starts a public client: one that cannot keep a secret (a native or browser app). Public
    /// clients must use PKCE.
    pub fn public(id: &str) -> ClientBuilder {
        ClientBuilder::new(id, None)
    }

    /// The client identifier.
    pub fn id(&self) -> &ClientId {
        &self.0.id
    }

    /// The human-readable name shown on consent pages.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Whether the client has a secret (RFC 6749 §2.1).
    pub fn is_confidential(&self) -> bool {
        self.0.secret.is_some()
    }

    /// The digest of the client's secret, if it is confidential.
    pub fn secret_digest(&self) -> Option<&Digest> {
        self.0.secret.as_ref()
    }

    /// The registered redirect URIs.
    pub fn redirect_uris(&self) -> &[RedirectUri] {
        &self.0.redirect_uris
    }

    /// The grant types this client may use.
    pub fn grant_types(&self) -> &[GrantType] {
        &self.0.grant_types
    }

    /// Whether this client may use a grant type.
    pub fn allows_grant(&self, grant: &GrantType) -> bool {
        self.0.grant_types.contains(grant)
    }

    /// The scopes this client may request.
    pub fn allowed_scopes(&self) -> &ScopeSet {
        &self.0.allowed_scopes
    }

    /// The scopes used when a request names none.
    pub fn default_scopes(&self) -> &ScopeSet {
        &self.0.default_scopes
    }

    /// The owner of the client (the developer who registered it), if recorded.
    pub fn owner(&self) -> Option<&OwnerId> {
        self.0.owner.as_ref()
    }

    /// Whether only the client's owner may authorize it (C-SC-5).
    pub fn is_owner_only(&self) -> bool {
        self.0.owner_only
    }

    /// Whether the client is a native app whose loopback redirect URIs match on any port.
    pub fn is_native(&self) -> bool {
        self.0.native
    }

    /// Whether the client may introspect tokens issued to other clients (a resource server,
    /// RFC 7662). Every client may introspect its own tokens.
    pub fn introspects_any_token(&self) -> bool {
        self.0.introspects_any_token
    }

    /// Checks a presented secret against the stored digest in constant time.
    pub fn verify_secret(&self, secret: &str) -> bool {
        self.0
            .secret
            .as_ref()
            .is_some_and(|digest| digest.ct_eq(&Digest::of(secret)))
    }

    /// Parses a requested scope list. A list that spells out the client's default or allowed
    /// scopes yields the client's shared copy, so tokens do not each keep their own.
    pub(crate) fn parse_scope(&self, text: &str) -> Result<ScopeSet, OAuthError> {
        let registered = [self.default_scopes(), self.allowed_scopes()];
        if let Some(set) = registered.iter().find(|set| set.is_spelled(text)) {
            return Ok((*set).clone());
        }
        let parsed = ScopeSet::parse(text)?;
        Ok(registered
            .into_iter()
            .find(|set| **set == parsed)
            .map_or(parsed, ScopeSet::clone))
    }

    /// The scope a request gets (C-AZ-8, C-SC-1): the requested scope, or the client's default
    /// when none was requested. `invalid_scope` when it asks for what the client may not have,
    /// or when it ends up empty and nothing would be granted.
    pub(crate) fn resolve_scope(
        &self,
        requested: Option<ScopeSet>,
        always_granted: &ScopeSet,
    ) -> Result<ScopeSet, OAuthError> {
        let scope = match requested {
            None => self.default_scopes().clone(),
            Some(scope) => scope,
        };
        if scope.is_empty() && always_granted.is_empty() {
            return Err(OAuthError::invalid_scope(
                "no scope was requested and the client has no default scope",
            ));
        }
        if !self.allowed_scopes().satisfies_all(&scope) {
            return Err(OAuthError::invalid_scope(
                "the client may not request this scope",
            ));
        }
        Ok(scope)
    }

    /// The registered redirect URI that matches `sent`, if any.
    pub(crate) fn find_redirect_uri(&self, sent: &str) -> Option<&RedirectUri> {
        self.0
            .redirect_uris
            .iter()
            .find(|uri| uri.matches(sent, self.0.native))
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.0.id)
            .field("name", &self.0.name)
            .field("confidential", &self.is_confidential())
            .field("redirect_uris", &self.0.redirect_uris)
            .field("grant_types", &self.0.grant_types)
            .field("allowed_scopes", &self.0.allowed_scopes)
            .field("default_scopes", &self.0.default_scopes)
            .field("owner", &self.0.owner)
            .field("owner_only", &self.0.owner_only)
            .field("native", &self.0.native)
            .field("introspects_any_token", &self.0.introspects_any_token)
            .finish()
    }
}

/// Builds a [`Client`]; errors are reported by [`ClientBuilder::build`].
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    id: String,
    name: Option<String>,
    secret: Option<Digest>,
    redirect_uris: Vec<String>,
    grant_types: Vec<GrantType>,
    allowed_scopes: String,
    default_scopes: String,
    owner: Option<OwnerId>,
    owner_only: bool,
    native: bool,
    introspects_any_token: bool,
}

impl ClientBuilder {
    fn new(id: &str, secret: Option<Digest>) -> Self {
        Self {
            id: id.to_owned(),
            name: None,
            secret,
            redirect_uris: Vec::new(),
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            allowed_scopes: String::new(),
            default_scopes: String::new(),
            owner: None,
            owner_only: false,
            native: false,
            introspects_any_token: false,
        }
    }

    /// The name shown on consent pages (defaults to the client id).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Adds a redirect URI.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// Sets the grant types the client may use (default: authorization code and refresh token).
    pub fn grant_types(mut self, grants: impl IntoIterator<Item = GrantType>) -> Self {
        self.grant_types = grants.into_iter().collect();
        self.grant_types.sort_unstable();
        self.grant_types.dedup();
        self
    }

    /// Sets the space-delimited scopes the client may request.
    pub fn allowed_scopes(mut self, scopes: impl Into<String>) -> Self {
        self.allowed_scopes = scopes.into();
        self
    }

    /// Sets the space-delimited scopes used when a request names none.
    pub fn default_scopes(mut self, scopes: impl Into<String>) -> Self {
        self.default_scopes = scopes.into();
        self
    }

    /// Records the client's owner (the developer who registered it).
    pub fn owner(mut self, owner: OwnerId) -> Self {
        self.owner = Some(owner);
        self
    }

    /// Lets only the owner authorize this client (App.net's non-developer apps, C-SC-5).
    pub fn owner_only(mut self, owner_only: bool) -> Self {
        self.owner_only = owner_only;
        self
    }

    /// Marks the client as a native app: its `http` loopback redirect URIs match on any port
    /// (RFC 8252 §7.3).
    pub fn native(mut self, native: bool) -> Self {
        self.native = native;
        self
    }

    /// Lets the client introspect any access token, not only its own (default off): for a
    /// resource server that checks tokens at the introspection endpoint (RFC 7662). Only
    /// confidential clients may have this permission.
    pub fn introspects_any_token(mut self, allowed: bool) -> Self {
        self.introspects_any_token = allowed;
        self
    }

    /// Validates and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let id = ClientId::new(&self.id)?;
        let redirect_uris = self
            .redirect_uris
            .iter()
            .map(|u| RedirectUri::new(u))
            .collect::<Result<Vec<_>, _>>()?;
        let scopes = |text: &str| {
            ScopeSet::parse(text).map_err(|_| Error::config("malformed scope list in client"))
        };
        let allowed_scopes = scopes(&self.allowed_scopes)?;
        let default_scopes = scopes(&self.default_scopes)?;
        if !allowed_scopes.satisfies_all(&default_scopes) {
            return Err(Error::config(
                "a client's default scopes must be allowed scopes",
            ));
        }
        let redirecting = self
            .grant_types
            .iter()
            .any(|g| matches!(g, GrantType::AuthorizationCode | GrantType::Implicit));
        if redirecting && redirect_uris.is_empty() {
            return Err(Error::config(
                "a client using the code or implicit grant needs a redirect URI",
            ));
        }
        if self.secret.is_none() && self.grant_types.contains(&GrantType::ClientCredentials) {
            return Err(Error::config(
                "the client credentials grant is for confidential clients only",
            ));
        }
        if self.introspects_any_token && self.secret.is_none() {
            return Err(Error::config(
                "only confidential clients may introspect other clients' tokens",
            ));
        }
        if self.owner_only && self.owner.is_none() {
            return Err(Error::config("an owner-only client needs an owner"));
        }
        Ok(Client(Arc::new(ClientData {
            name: self.name.unwrap_or_else(|| self.id.clone()),
            id,
            secret: self.secret,
            redirect_uris,
            grant_types: self.grant_types,
            allowed_scopes,
            default_scopes,
            owner: self.owner,
            owner_only: self.owner_only,
            native: self.native,
            introspects_any_token: self.introspects_any_token,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_absolute_without_fragment() {
        assert!(RedirectUri::new("https://a.example/cb").is_ok());
        assert!(RedirectUri::new("/cb").is_err());
        assert!(RedirectUri::new("https://a.example/cb#x").is_err());
        assert!(RedirectUri::new("https://a.example/cb#").is_err());
        assert!(RedirectUri::new("https://a.example/c\tb").is_err());
        assert!(RedirectUri::new("https://a.example/c b").is_err());
    }

    // RFC 9700 §2.6: http only for loopback; no script, data or file URIs.
    #[test]
    fn redirect_uri_schemes() {
        for ok in [
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "http://localhost:3000/cb",
            "com.example.app:/oauth",
        ] {
            assert!(RedirectUri::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example/cb",
            "javascript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
        ] {
            assert!(RedirectUri::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn exact_match_unless_native_loopback() {
        let uri = RedirectUri::new("http://127.0.0.1/cb").unwrap();
        assert!(uri.matches("http://127.0.0.1/cb", false));
        assert!(!uri.matches("http://127.0.0.1:5000/cb", false));
        assert!(uri.matches("http://127.0.0.1:5000/cb", true));
        assert!(!uri.matches("http://127.0.0.1:5000/other", true));
        assert!(!uri.matches("http://127.0.0.1:5000/cb#x", true));
        let web = RedirectUri::new("https://a.example/cb").unwrap();
        assert!(!web.matches("https://a.example/cb/", true));
        assert!(!web.matches("https://A.example/cb", false));
    }

    // A scope list that spells out a registered set yields the client's shared set; others are
    // parsed (and refused when malformed).
    #[test]
    fn requested_scopes_reuse_the_registered_sets() {
        let client = Client::public("app")
            .redirect_uri("https://app.example/cb")
            .allowed_scopes("read write")
            .default_scopes("read")
            .build()
            .unwrap();
        for (text, shared) in [
            ("read", client.default_scopes()),
            ("read write", client.allowed_scopes()),
            ("write read", client.allowed_scopes()),
        ] {
            let parsed = client.parse_scope(text).unwrap();
            assert_eq!(&parsed, shared);
            assert!(parsed.shares_storage_with(shared), "{text:?}");
        }
        let other = client.parse_scope("write").unwrap();
        assert_eq!(other.to_string(), "write");
        for bad in ["read ", " read", "read  write"] {
            assert!(client.parse_scope(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn extension_grant_types_are_absolute_uris() {
        for ok in [
            "urn:ietf:params:oauth:grant-type:device_code",
            "urn:example:grant-type:api-key",
            "https://grants.example/api-key",
        ] {
            let grant = GrantType::extension(ok).unwrap();
            assert_eq!(grant.as_str(), ok);
            assert_eq!(ok.parse::<GrantType>().unwrap(), grant);
        }
        for bad in [
            "",
            "api-key",
            "/relative/path",
            "urn:with space",
            "urn:tab\there",
            "urn:caf\u{e9}",
        ] {
            assert!(GrantType::extension(bad).is_err(), "{bad:?}");
            assert!(bad.parse::<GrantType>().is_err(), "{bad:?}");
        }
        for name in [
            "authorization_code",
            "implicit",
            "password",
            "client_credentials",
        ] {
            let parsed: GrantType = name.parse().unwrap();
            assert!(!matches!(parsed, GrantType::Extension(_)), "{name}");
        }
    }

    #[test]
    fn builder_enforces_registration_rules() {
        let secret = ClientSecret::generate();
        assert!(
            Client::public("app")
                .grant_types([GrantType::ClientCredentials])
                .build()
                .is_err()
        );
        assert!(
            Client::public("app").build().is_err(),
            "code grant needs a redirect URI"
        );
        assert!(
            Client::confidential("svc", &secret)
                .grant_types([GrantType::ClientCredentials])
                .allowed_scopes("a")
                .default_scopes("b")
                .build()
                .is_err()
        );
        let c = Client::confidential("svc", &secret)
            .grant_types([GrantType::ClientCredentials])
            .build()
            .unwrap();
        assert!(c.verify_secret(secret.secret()));
        assert!(!c.verify_secret("wrong"));
        assert!(!format!("{c:?}").contains(secret.secret()));
    }
}
