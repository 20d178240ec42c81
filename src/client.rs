//! Registered clients (RFC 6749 §2): their identity, type, redirect URIs and permissions.
//! How a request authenticates its client is [`client_auth`](crate::client_auth)'s business.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

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

    /// An extension grant type whose URI grantor itself defines (known to be valid).
    pub(crate) fn known_extension(uri: &'static str) -> Self {
        Self::Extension(ExtensionGrantType(uri.into()))
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

/// What a client asks the authorization endpoint for (RFC 6749 §3.1.1): `code`, `token`, and
/// with OpenID Connect `id_token`, alone or together (OAuth 2.0 Multiple Response Type
/// Encoding Practices). Written as the space-delimited list, in any order.
///
/// ```
/// use grantor::ResponseType;
///
/// let hybrid: ResponseType = "id_token code".parse()?;
/// assert_eq!(hybrid, ResponseType::CODE_ID_TOKEN);
/// assert_eq!(hybrid.as_str(), "code id_token");
/// assert!(hybrid.includes_code() && hybrid.includes_id_token() && !hybrid.includes_token());
/// assert!("code code".parse::<ResponseType>().is_err());
/// # Ok::<(), grantor::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResponseType(u8);

impl ResponseType {
    const CODE_BIT: u8 = 1;
    const TOKEN_BIT: u8 = 2;
    const ID_TOKEN_BIT: u8 = 4;

    /// `code`: an authorization code, delivered in the query (§4.1).
    pub const CODE: Self = Self(Self::CODE_BIT);
    /// `token`: an access token, delivered in the fragment (implicit grant, §4.2).
    pub const TOKEN: Self = Self(Self::TOKEN_BIT);
    /// `id_token`: an ID token, delivered in the fragment (OpenID Connect implicit flow).
    pub const ID_TOKEN: Self = Self(Self::ID_TOKEN_BIT);
    /// `id_token token`.
    pub const ID_TOKEN_TOKEN: Self = Self(Self::ID_TOKEN_BIT | Self::TOKEN_BIT);
    /// `code id_token` (OpenID Connect hybrid flow).
    pub const CODE_ID_TOKEN: Self = Self(Self::CODE_BIT | Self::ID_TOKEN_BIT);
    /// `code token` (OpenID Connect hybrid flow).
    pub const CODE_TOKEN: Self = Self(Self::CODE_BIT | Self::TOKEN_BIT);
    /// `code id_token token` (OpenID Connect hybrid flow).
    pub const CODE_ID_TOKEN_TOKEN: Self =
        Self(Self::CODE_BIT | Self::ID_TOKEN_BIT | Self::TOKEN_BIT);

    /// Every response type grantor answers.
    pub const ALL: [Self; 7] = [
        Self::CODE,
        Self::TOKEN,
        Self::ID_TOKEN,
        Self::ID_TOKEN_TOKEN,
        Self::CODE_ID_TOKEN,
        Self::CODE_TOKEN,
        Self::CODE_ID_TOKEN_TOKEN,
    ];

    /// Whether a code is returned.
    pub fn includes_code(self) -> bool {
        self.0 & Self::CODE_BIT != 0
    }

    /// Whether an access token is returned from the authorization endpoint.
    pub fn includes_token(self) -> bool {
        self.0 & Self::TOKEN_BIT != 0
    }

    /// Whether an ID token is returned from the authorization endpoint.
    pub fn includes_id_token(self) -> bool {
        self.0 & Self::ID_TOKEN_BIT != 0
    }

    /// Whether the response carries a token (access or ID token): then it must not go in the
    /// query, where it would end up in logs and `Referer` headers.
    pub fn returns_tokens(self) -> bool {
        self.includes_token() || self.includes_id_token()
    }

    /// The value on the wire, its words in the registered order (`code id_token token`).
    pub fn as_str(self) -> &'static str {
        match self.0 {
            1 => "code",
            2 => "token",
            4 => "id_token",
            6 => "id_token token",
            5 => "code id_token",
            3 => "code token",
            _ => "code id_token token",
        }
    }

    /// The grant the response type belongs to, for the client's permission: the code grant
    /// when it returns a code, the implicit grant otherwise.
    pub(crate) fn grant(self) -> GrantType {
        if self.includes_code() {
            GrantType::AuthorizationCode
        } else {
            GrantType::Implicit
        }
    }
}

impl FromStr for ResponseType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unsupported = || Error::config(format!("unsupported response_type {s:?}"));
        let mut bits = 0u8;
        for word in s.split(' ') {
            let bit = match word {
                "code" => Self::CODE_BIT,
                "token" => Self::TOKEN_BIT,
                "id_token" => Self::ID_TOKEN_BIT,
                _ => return Err(unsupported()),
            };
            if bits & bit != 0 {
                return Err(unsupported());
            }
            bits |= bit;
        }
        Ok(Self(bits))
    }
}

impl fmt::Display for ResponseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ResponseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResponseType({:?})", self.as_str())
    }
}

impl serde::Serialize for ResponseType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ResponseType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// How a client authenticates at the token endpoint and every other endpoint that
/// authenticates clients (`token_endpoint_auth_method`, RFC 7591 §2).
///
/// ```
/// use grantor::AuthMethod;
///
/// assert_eq!("private_key_jwt".parse::<AuthMethod>()?, AuthMethod::PrivateKeyJwt);
/// assert_eq!(AuthMethod::ClientSecretBasic.as_str(), "client_secret_basic");
/// # Ok::<(), grantor::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
#[non_exhaustive]
pub enum AuthMethod {
    /// The client id and secret in an HTTP Basic header (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// The client id and secret in the body (RFC 6749 §2.3.1).
    ClientSecretPost,
    /// A JWT signed by a key of the client's registered JWKS (RFC 7523 §2.2).
    PrivateKeyJwt,
    /// A JWT with an HS256 MAC made with the client's secret (RFC 7523 §2.2).
    ClientSecretJwt,
    /// No authentication: a public client sends its `client_id` alone.
    None,
}

impl AuthMethod {
    /// Every method, in the order the metadata lists them.
    pub const ALL: [Self; 5] = [
        Self::ClientSecretBasic,
        Self::ClientSecretPost,
        Self::PrivateKeyJwt,
        Self::ClientSecretJwt,
        Self::None,
    ];

    /// The registered name of the method.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::ClientSecretJwt => "client_secret_jwt",
            Self::None => "none",
        }
    }

    /// Whether the method proves that the client is confidential.
    fn is_confidential(self) -> bool {
        self != Self::None
    }
}

impl FromStr for AuthMethod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|method| method.as_str() == s)
            .ok_or_else(|| Error::config(format!("unknown token_endpoint_auth_method {s:?}")))
    }
}

impl TryFrom<String> for AuthMethod {
    type Error = Error;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<AuthMethod> for &'static str {
    fn from(method: AuthMethod) -> Self {
        method.as_str()
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The members a JWK has only when it holds a private or secret key (RFC 7518 §6).
const PRIVATE_JWK_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Checks that `jwks` is a JWK Set (RFC 7517 §5): an object whose `keys` is an array of
/// objects with a `kty`, none of them holding a private or secret key.
pub(crate) fn check_public_jwks(jwks: &serde_json::Value) -> Result<(), &'static str> {
    let keys = jwks
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .ok_or("a JWK Set is an object with a keys array")?;
    for key in keys {
        let key = key.as_object().ok_or("a JWK is a JSON object")?;
        if !key.get("kty").is_some_and(serde_json::Value::is_string) {
            return Err("a JWK has a kty");
        }
        if PRIVATE_JWK_MEMBERS
            .iter()
            .any(|name| key.contains_key(*name))
        {
            return Err("a client's JWK Set holds public keys only");
        }
    }
    Ok(())
}

/// The JWS algorithms an ID token may be signed with.
pub(crate) const SIGNING_ALGORITHMS: [&str; 4] = ["RS256", "PS256", "ES256", "EdDSA"];

/// The registration fields beyond RFC 6749's, kept together (SQL backends store them as one
/// JSON column, so a field added later needs no migration).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Profile {
    /// The response types registered explicitly; empty: those the grant types imply.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) response_types: Vec<ResponseType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id_token_signed_response_alg: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) require_auth_time: bool,
    /// Whether the client's authorization requests must be pushed first (RFC 9126 §6).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) require_pushed_authorization_requests: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) default_max_age: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sector_identifier: Option<String>,
    /// The resources the client may have tokens for (RFC 8707); empty: any registered one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) resources: Vec<String>,
    /// Whether the client's token requests must carry a DPoP proof (RFC 9449 §5.2).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) dpop_bound_access_tokens: bool,
    /// `token_endpoint_auth_method`; `None`: the secret methods for a confidential client,
    /// `none` for a public one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) auth_method: Option<AuthMethod>,
    /// The client's public keys (`jwks`), for `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) jwks: Option<serde_json::Value>,
    /// Where the client publishes its public keys (`jwks_uri`), for `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) jwks_uri: Option<String>,
    /// The one algorithm the client's assertions must use (`token_endpoint_auth_signing_alg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) auth_signing_alg: Option<String>,
    /// What dynamic registration keeps beyond the client's own fields, for a client registered
    /// through the registration endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) registration: Option<Registered>,
}

/// The dynamic-registration fields of a client (RFC 7591 §2) that nothing else reads, and the
/// digest of its registration access token (RFC 7592). Its `Debug` hides the digest.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Registered {
    /// The SHA-256 digest of the registration access token, in hexadecimal.
    pub(crate) token_digest: String,
    /// When the client id was issued, in seconds since the epoch.
    pub(crate) issued_at: u64,
    /// `token_endpoint_auth_method`, as registered.
    pub(crate) auth_method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) client_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) logo_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) policy_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tos_uri: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) contacts: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) software_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) software_version: Option<String>,
    /// Whether `client_name` was registered (else the name is the id).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) named: bool,
}

impl Registered {
    /// Whether `presented` is the digest of the registration access token, compared in
    /// constant time.
    pub(crate) fn token_matches(&self, presented: &Digest) -> bool {
        let presented = presented.to_hex();
        subtle::ConstantTimeEq::ct_eq(presented.as_bytes(), self.token_digest.as_bytes()).into()
    }
}

impl fmt::Debug for Registered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registered")
            .field("token_digest", &"<redacted>")
            .field("issued_at", &self.issued_at)
            .field("auth_method", &self.auth_method)
            .field("client_uri", &self.client_uri)
            .field("logo_uri", &self.logo_uri)
            .field("policy_uri", &self.policy_uri)
            .field("tos_uri", &self.tos_uri)
            .field("contacts", &self.contacts)
            .field("software_id", &self.software_id)
            .field("software_version", &self.software_version)
            .field("named", &self.named)
            .finish()
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
    profile: Profile,
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

    /// Whether the client can authenticate (RFC 6749 §2.1): it has a secret, or is registered
    /// for a method other than `none`.
    pub fn is_confidential(&self) -> bool {
        self.0.secret.is_some()
            || self
                .0
                .profile
                .auth_method
                .is_some_and(AuthMethod::is_confidential)
    }

    /// The `token_endpoint_auth_method` the client is registered for. `None`: it was not
    /// named, and a confidential client may use `client_secret_basic` or
    /// `client_secret_post`, a public one `none`.
    pub fn token_endpoint_auth_method(&self) -> Option<AuthMethod> {
        self.0.profile.auth_method
    }

    /// Whether the client may authenticate with `method`: the one it is registered for, or
    /// by default the secret methods (confidential) or `none` (public).
    pub fn accepts_auth_method(&self, method: AuthMethod) -> bool {
        match self.0.profile.auth_method {
            Some(registered) => registered == method,
            None if self.0.secret.is_some() => {
                matches!(
                    method,
                    AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
                )
            }
            None => method == AuthMethod::None,
        }
    }

    /// The client's registered JWK Set (`jwks`), if any.
    pub fn jwks(&self) -> Option<&serde_json::Value> {
        self.0.profile.jwks.as_ref()
    }

    /// The URL of the client's JWK Set (`jwks_uri`), if registered.
    pub fn jwks_uri(&self) -> Option<&str> {
        self.0.profile.jwks_uri.as_deref()
    }

    /// The one algorithm the client's assertions must be signed with
    /// (`token_endpoint_auth_signing_alg`), if registered.
    pub fn token_endpoint_auth_signing_alg(&self) -> Option<&str> {
        self.0.profile.auth_signing_alg.as_deref()
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

    /// The response types the client may ask for: those it registered, or else `code` with
    /// the code grant and `token` with the implicit grant.
    pub fn response_types(&self) -> Vec<ResponseType> {
        if !self.0.profile.response_types.is_empty() {
            return self.0.profile.response_types.clone();
        }
        let mut types = Vec::new();
        if self.allows_grant(&GrantType::AuthorizationCode) {
            types.push(ResponseType::CODE);
        }
        if self.allows_grant(&GrantType::Implicit) {
            types.push(ResponseType::TOKEN);
        }
        types
    }

    /// Whether the client may ask for a response type.
    pub fn allows_response_type(&self, response_type: ResponseType) -> bool {
        self.allows_grant(&response_type.grant())
            && match &self.0.profile.response_types[..] {
                [] => matches!(response_type, ResponseType::CODE | ResponseType::TOKEN),
                registered => registered.contains(&response_type),
            }
    }

    /// The algorithm the client's ID tokens are signed with (default `RS256`).
    pub fn id_token_signed_response_alg(&self) -> &str {
        self.0
            .profile
            .id_token_signed_response_alg
            .as_deref()
            .unwrap_or("RS256")
    }

    /// Whether the client's ID tokens always carry `auth_time`.
    pub fn requires_auth_time(&self) -> bool {
        self.0.profile.require_auth_time
    }

    /// Whether the client's authorization requests must be pushed to the pushed authorization
    /// request endpoint first (RFC 9126 §6): one sent without `request_uri` is refused.
    pub fn requires_pushed_authorization_requests(&self) -> bool {
        self.0.profile.require_pushed_authorization_requests
    }

    /// The `max_age` applied when a request names none.
    pub fn default_max_age(&self) -> Option<Duration> {
        self.0.profile.default_max_age.map(Duration::from_secs)
    }

    /// The sector the client's subject identifiers are pairwise for, if it has one (OpenID
    /// Connect Core §8.1); without one its subjects are public.
    pub fn sector_identifier(&self) -> Option<&str> {
        self.0.profile.sector_identifier.as_deref()
    }

    /// The resources the client may ask tokens for (RFC 8707); empty: every resource the
    /// server registered.
    pub fn resources(&self) -> &[String] {
        &self.0.profile.resources
    }

    /// Whether the client may have tokens for the resource `id`.
    pub fn allows_resource(&self, id: &str) -> bool {
        let resources = &self.0.profile.resources;
        resources.is_empty() || resources.iter().any(|allowed| allowed == id)
    }

    /// Whether the client's token requests must carry a DPoP proof, so that all its access
    /// tokens are bound to a key (`dpop_bound_access_tokens`, RFC 9449 §5.2).
    pub fn requires_dpop(&self) -> bool {
        self.0.profile.dpop_bound_access_tokens
    }

    /// The registration fields beyond RFC 6749's.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(crate) fn profile(&self) -> &Profile {
        &self.0.profile
    }

    /// What dynamic registration keeps about the client, if it was registered that way.
    pub(crate) fn registered(&self) -> Option<&Registered> {
        self.0.profile.registration.as_ref()
    }

    /// Whether the client was registered through the registration endpoint (RFC 7591), so
    /// that it can manage its registration (RFC 7592).
    pub fn is_dynamically_registered(&self) -> bool {
        self.0.profile.registration.is_some()
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
            .field("profile", &self.0.profile)
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
    profile: Profile,
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
            profile: Profile::default(),
        }
    }

    /// Registers the response types the client may ask for (default: `code` with the code
    /// grant, `token` with the implicit grant). Those with `code` need the code grant; the
    /// others, which return tokens from the authorization endpoint, the implicit grant.
    pub fn response_types(mut self, types: impl IntoIterator<Item = ResponseType>) -> Self {
        self.profile.response_types = types.into_iter().collect();
        self.profile.response_types.sort_unstable();
        self.profile.response_types.dedup();
        self
    }

    /// The algorithm of the client's ID tokens: `RS256` (the default), `PS256`, `ES256` or
    /// `EdDSA`.
    pub fn id_token_signed_response_alg(mut self, alg: impl Into<String>) -> Self {
        self.profile.id_token_signed_response_alg = Some(alg.into());
        self
    }

    /// Whether the client's ID tokens always carry `auth_time` (default off: only when
    /// `max_age` was asked).
    pub fn require_auth_time(mut self, required: bool) -> Self {
        self.profile.require_auth_time = required;
        self
    }

    /// Whether the client's authorization requests must be pushed to the pushed authorization
    /// request endpoint first (RFC 9126 §6; default off): one sent to the authorization
    /// endpoint without `request_uri` is refused with `invalid_request`.
    pub fn require_pushed_authorization_requests(mut self, required: bool) -> Self {
        self.profile.require_pushed_authorization_requests = required;
        self
    }

    /// The `max_age` applied to the client's requests that name none.
    pub fn default_max_age(mut self, max_age: Duration) -> Self {
        self.profile.default_max_age = Some(max_age.as_secs());
        self
    }

    /// Makes the client's subject identifiers pairwise for this sector (OpenID Connect Core
    /// §8.1): clients of one sector see one `sub` per owner, other clients another.
    pub fn sector_identifier(mut self, sector: impl Into<String>) -> Self {
        self.profile.sector_identifier = Some(sector.into());
        self
    }

    /// Limits the client to tokens for these resources (RFC 8707 resource identifiers, as
    /// registered on the [`Config`](crate::Config)); by default it may ask for any registered
    /// resource.
    pub fn resources<I: IntoIterator<Item = T>, T: Into<String>>(mut self, resources: I) -> Self {
        self.profile.resources = resources.into_iter().map(Into::into).collect();
        self
    }

    /// Requires a DPoP proof with each of the client's token requests
    /// (`dpop_bound_access_tokens`, RFC 9449 §5.2); a request without one is refused.
    pub fn dpop_bound_access_tokens(mut self, required: bool) -> Self {
        self.profile.dpop_bound_access_tokens = required;
        self
    }

    /// The method the client authenticates with (`token_endpoint_auth_method`); a client
    /// registered for one method is refused when it uses another. `private_key_jwt` needs
    /// [`jwks`](Self::jwks) or [`jwks_uri`](Self::jwks_uri); a client registered for it or for
    /// `client_secret_jwt` is confidential even without a secret kept here.
    pub fn token_endpoint_auth_method(mut self, method: AuthMethod) -> Self {
        self.profile.auth_method = Some(method);
        self
    }

    /// The client's public keys, as a JWK Set (RFC 7517 §5) in JSON, for `private_key_jwt`.
    /// A key with private members, or text that is not a JWK Set, fails
    /// [`build`](Self::build).
    pub fn jwks(mut self, jwks: &str) -> Self {
        // Unreadable text is kept as a JSON string, which `build` refuses as not a JWK Set.
        self.profile.jwks = Some(
            serde_json::from_str(jwks).unwrap_or_else(|_| serde_json::Value::String(jwks.into())),
        );
        self
    }

    /// Where the client publishes its JWK Set, for `private_key_jwt`: fetched through the
    /// host's [`JwksFetcher`](crate::JwksFetcher).
    pub fn jwks_uri(mut self, uri: impl Into<String>) -> Self {
        self.profile.jwks_uri = Some(uri.into());
        self
    }

    /// The one algorithm the client's assertions must be signed with
    /// (`token_endpoint_auth_signing_alg`, OpenID Connect Dynamic Client Registration §2).
    pub fn token_endpoint_auth_signing_alg(mut self, alg: impl Into<String>) -> Self {
        self.profile.auth_signing_alg = Some(alg.into());
        self
    }

    /// The registration fields beyond RFC 6749's, as a storage backend read them back.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(crate) fn profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// What dynamic registration keeps about the client.
    pub(crate) fn registered(mut self, registered: Registered) -> Self {
        self.profile.registration = Some(registered);
        self
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

    /// The authentication method's rules: the secret methods need a secret, `none` has none,
    /// `private_key_jwt` needs keys (a JWK Set or its URL, not both), keys are public.
    fn check_auth_method(&self) -> Result<(), Error> {
        let profile = &self.profile;
        if let Some(jwks) = &profile.jwks {
            check_public_jwks(jwks).map_err(Error::config)?;
        }
        if profile.jwks.is_some() && profile.jwks_uri.is_some() {
            return Err(Error::config("a client has jwks or jwks_uri, not both"));
        }
        if let Some(uri) = &profile.jwks_uri
            && Url::parse(uri).map_or(true, |url| url.scheme() != "https")
        {
            return Err(Error::config("a client's jwks_uri is an https URL"));
        }
        let has_keys = profile.jwks.is_some() || profile.jwks_uri.is_some();
        match profile.auth_method {
            Some(AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost)
                if self.secret.is_none() =>
            {
                Err(Error::config(
                    "the client secret methods need a client secret",
                ))
            }
            Some(AuthMethod::None) if self.secret.is_some() => Err(Error::config(
                "a client with a secret cannot use the none method",
            )),
            Some(AuthMethod::PrivateKeyJwt) if !has_keys => {
                Err(Error::config("private_key_jwt needs jwks or jwks_uri"))
            }
            _ => Ok(()),
        }
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
        for response_type in &self.profile.response_types {
            if !self.grant_types.contains(&response_type.grant()) {
                return Err(Error::config(format!(
                    "response type {response_type} needs the {} grant",
                    response_type.grant()
                )));
            }
        }
        if let Some(alg) = &self.profile.id_token_signed_response_alg
            && !SIGNING_ALGORITHMS.contains(&alg.as_str())
        {
            return Err(Error::config(
                "id_token_signed_response_alg is one of RS256, PS256, ES256 and EdDSA",
            ));
        }
        if self
            .profile
            .sector_identifier
            .as_ref()
            .is_some_and(|sector| sector.is_empty())
        {
            return Err(Error::config("a sector identifier is not empty"));
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
        self.check_auth_method()?;
        let confidential = self.secret.is_some()
            || self
                .profile
                .auth_method
                .is_some_and(AuthMethod::is_confidential);
        if !confidential && self.grant_types.contains(&GrantType::ClientCredentials) {
            return Err(Error::config(
                "the client credentials grant is for confidential clients only",
            ));
        }
        if self.introspects_any_token && !confidential {
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
            profile: self.profile,
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

    mod properties {
        use proptest::prelude::*;

        use crate::client::RedirectUri;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(10_000))]

            // C-AZ-2: a registered URI matches exactly the same string, and nothing else,
            // whatever is sent.
            #[test]
            fn matching_is_exact(path in "[a-z0-9/._~-]{0,20}", sent in "\\PC{0,40}") {
                let registered =
                    RedirectUri::new(&format!("https://app.example/{path}")).unwrap();
                prop_assert_eq!(registered.matches(&sent, false), sent == registered.as_str());
                prop_assert!(registered.matches(registered.as_str(), false));
                // An https URI is never relaxed, even for a native app.
                prop_assert_eq!(registered.matches(&sent, true), sent == registered.as_str());
            }

            // RFC 8252 §7.3: for a loopback IP redirect of a native app, any port matches, and
            // nothing else differs.
            #[test]
            fn loopback_ports_are_relaxed_and_nothing_else(
                port in 1u16..,
                path in "[a-z]{0,8}",
                other in "[a-z]{0,8}",
            ) {
                let registered = RedirectUri::new(&format!("http://127.0.0.1/{path}")).unwrap();
                let same = format!("http://127.0.0.1:{port}/{path}");
                prop_assert!(registered.matches(&same, true));
                // Without the relaxation, only the registered string itself matches.
                prop_assert!(!registered.matches(&same, false));
                let elsewhere = format!("http://127.0.0.1:{port}/{path}{other}x");
                prop_assert!(!registered.matches(&elsewhere, true));
                let host = format!("http://localhost:{port}/{path}");
                prop_assert!(!registered.matches(&host, true));
            }
        }
    }
}
