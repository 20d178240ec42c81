//! Bearer-token validation for the host's API routes (RFC 6750): finding the token in the
//! request, reading it through the server's access-token formats, checking it is live and
//! presented as its type requires, checking the route's [`Requirement`], and answering failures
//! with the right status and `WWW-Authenticate` challenge.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::header::{AUTHORIZATION, HeaderName, HeaderValue, WWW_AUTHENTICATE};
use http::{HeaderMap, Method, Request, Response, StatusCode};

use crate::authenticator::OwnerId;
use crate::charset::B64TOKEN;
use crate::client::ClientId;
use crate::config::Config;
use crate::endpoint::{json, set_header};
use crate::error::{Error, ErrorCode, ErrorContext, OAuthError};
use crate::form;
use crate::resource::Resource;
use crate::scope::{ScopeError, ScopeSet};
use crate::server::Server;
use crate::storage::{Storage, TokenRecord};
use crate::time::Timestamp;
use crate::token::{Digest, Reading, TokenType};

/// The `X-OAuth-Scopes` header (C-BR-6).
pub const X_OAUTH_SCOPES: HeaderName = HeaderName::from_static("x-oauth-scopes");

/// Whose token a route accepts (C-SC-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Audience {
    /// Any valid token.
    Any,
    /// Only tokens issued on behalf of a resource owner.
    User,
    /// Only app tokens (client credentials), which have no owner.
    App,
}

/// What a route needs from an access token: whose token, and which scopes.
///
/// There is no default: a route says whose token it takes, even when that is
/// [`Requirement::any`].
///
/// ```
/// use grantor::Requirement;
///
/// let read_messages = Requirement::user().scopes("messages:net.app.core.pm")?;
/// # Ok::<(), grantor::ScopeError>(())
/// ```
///
/// ```compile_fail
/// // Fail closed: nothing accepts every token by default.
/// let anything = grantor::Requirement::default();
/// ```
#[derive(Debug, Clone)]
pub struct Requirement {
    audience: Audience,
    scopes: ScopeSet,
    resource: Option<Arc<str>>,
}

impl Requirement {
    fn of(audience: Audience) -> Self {
        Self {
            audience,
            scopes: ScopeSet::new(),
            resource: None,
        }
    }

    /// Any valid token, with no scope required.
    pub fn any() -> Self {
        Self::of(Audience::Any)
    }

    /// A user token.
    pub fn user() -> Self {
        Self::of(Audience::User)
    }

    /// An app token.
    pub fn app() -> Self {
        Self::of(Audience::App)
    }

    /// Requires every scope of this space-delimited list (a base scope satisfies its extended
    /// scopes). A malformed list is the same [`ScopeError`] as [`ScopeSet::parse`]'s.
    pub fn scopes(mut self, scopes: &str) -> Result<Self, ScopeError> {
        self.scopes = ScopeSet::parse(scopes)?;
        Ok(self)
    }

    /// Requires a token issued for this resource (RFC 8707: its identifier among the token's
    /// resources, the `aud` of a JWT access token; C-JT-2): a token for another resource, or
    /// for none, is `invalid_token`. A requirement without a resource accepts tokens whatever
    /// their audience: once a server has resources, give every route of them its resource,
    /// or a token meant for one API is accepted by another. When the resource is registered on the
    /// [`Config`](crate::Config), every challenge names its metadata (`resource_metadata`,
    /// RFC 9728 §5.1).
    ///
    /// ```
    /// use grantor::Requirement;
    ///
    /// let mail = Requirement::user().scopes("mail:read")?.resource("https://api.example.com/mail");
    /// assert_eq!(mail.required_resource(), Some("https://api.example.com/mail"));
    /// # Ok::<(), grantor::ScopeError>(())
    /// ```
    pub fn resource(mut self, id: &str) -> Self {
        self.resource = Some(id.into());
        self
    }

    /// The resource required, if any.
    pub fn required_resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// The audience required.
    pub fn audience(&self) -> Audience {
        self.audience
    }

    /// The scopes required.
    pub fn required_scopes(&self) -> &ScopeSet {
        &self.scopes
    }
}

/// A valid access token, as the host's route sees it.
#[derive(Debug, Clone)]
pub struct AccessGrant {
    record: Arc<TokenRecord>,
}

impl AccessGrant {
    /// The client the token was issued to.
    pub fn client_id(&self) -> &ClientId {
        &self.record.client_id
    }

    /// The resource owner, or `None` for an app token.
    pub fn owner(&self) -> Option<&OwnerId> {
        self.record.owner.as_ref()
    }

    /// Whether this is an app token (client credentials: no owner).
    pub fn is_app_token(&self) -> bool {
        self.record.owner.is_none()
    }

    /// The granted scopes.
    pub fn scope(&self) -> &ScopeSet {
        &self.record.scope
    }

    /// When the token was issued.
    pub fn issued_at(&self) -> Timestamp {
        self.record.issued_at
    }

    /// When the token expires.
    pub fn expires_at(&self) -> Timestamp {
        self.record.expires_at
    }

    /// The token's record.
    #[cfg(feature = "oidc")]
    pub(crate) fn record(&self) -> &TokenRecord {
        &self.record
    }

    /// Adds `X-OAuth-Scopes: a,b,c` with the granted scopes to a response's headers (C-BR-6).
    pub fn insert_scopes_header(&self, headers: &mut HeaderMap) {
        if let Ok(value) = HeaderValue::from_str(&self.record.scope.to_header_value()) {
            headers.insert(X_OAUTH_SCOPES, value);
        }
    }
}

/// Why a protected request was refused.
#[derive(Debug)]
pub struct BearerError {
    kind: BearerErrorKind,
    realm: String,
    /// The URL of the protected resource's metadata, named in the challenge (RFC 9728 §5.1).
    resource_metadata: Option<String>,
}

#[derive(Debug)]
enum BearerErrorKind {
    /// No token at all: a bare challenge (RFC 6750 §3.1).
    Missing,
    Malformed(OAuthError),
    InvalidToken,
    InsufficientScope {
        required: ScopeSet,
        audience: bool,
    },
    Internal,
}

impl BearerError {
    /// A valid token that no longer stands for anyone (its owner or client is gone), or a
    /// token that is not the one the endpoint needs.
    pub(crate) fn invalid_token(realm: &str) -> Self {
        Self {
            kind: BearerErrorKind::InvalidToken,
            realm: realm.to_owned(),
            resource_metadata: None,
        }
    }

    /// A failure inside the server while answering a protected request.
    #[cfg(feature = "oidc")]
    pub(crate) fn internal(realm: &str) -> Self {
        Self {
            kind: BearerErrorKind::Internal,
            realm: realm.to_owned(),
            resource_metadata: None,
        }
    }

    /// The HTTP status: 400, 401, 403, or 500 when storage failed.
    pub fn status(&self) -> StatusCode {
        match self.kind {
            BearerErrorKind::Missing | BearerErrorKind::InvalidToken => StatusCode::UNAUTHORIZED,
            BearerErrorKind::Malformed(_) => StatusCode::BAD_REQUEST,
            BearerErrorKind::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            BearerErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The RFC 6750 error code, or `None` when the request carried no token.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self.kind {
            BearerErrorKind::Missing => None,
            BearerErrorKind::Malformed(_) => Some(ErrorCode::InvalidRequest),
            BearerErrorKind::InvalidToken => Some(ErrorCode::InvalidToken),
            BearerErrorKind::InsufficientScope { .. } => Some(ErrorCode::InsufficientScope),
            BearerErrorKind::Internal => Some(ErrorCode::ServerError),
        }
    }

    fn error(&self) -> Option<OAuthError> {
        let description = match &self.kind {
            BearerErrorKind::Missing => return None,
            BearerErrorKind::Malformed(error) => return Some(error.clone()),
            BearerErrorKind::InvalidToken => "the access token is invalid, expired or revoked",
            BearerErrorKind::InsufficientScope { audience: true, .. } => {
                "this resource does not accept this kind of token"
            }
            BearerErrorKind::InsufficientScope { .. } => "the access token lacks a required scope",
            BearerErrorKind::Internal => "the server could not check the access token",
        };
        self.error_code()
            .map(|code| OAuthError::new(code).with_description(description))
    }

    /// The `WWW-Authenticate` challenge (C-BR-5).
    pub fn challenge(&self) -> String {
        let mut challenge = format!("{} realm=\"{}\"", TokenType::Bearer, self.realm);
        if let Some(error) = self.error() {
            for (name, value) in error.pairs() {
                challenge.push_str(&format!(", {name}=\"{value}\""));
            }
        }
        if let BearerErrorKind::InsufficientScope { required, .. } = &self.kind
            && !required.is_empty()
        {
            challenge.push_str(&format!(", scope=\"{required}\""));
        }
        if let Some(url) = &self.resource_metadata {
            challenge.push_str(&format!(", resource_metadata=\"{url}\""));
        }
        challenge
    }

    /// The URL of the protected resource's metadata that the challenge names, if any
    /// (RFC 9728 §5.1).
    pub fn resource_metadata(&self) -> Option<&str> {
        self.resource_metadata.as_deref()
    }

    /// The response: the status, the challenge, and the error as JSON when there is one.
    pub fn into_response(self) -> Response<Vec<u8>> {
        let mut response = match self.error() {
            Some(error) => {
                let body: serde_json::Map<_, _> = error
                    .pairs()
                    .map(|(n, v)| (n.to_owned(), v.into()))
                    .collect();
                json(self.status(), &body)
            }
            None => {
                let mut response = Response::new(Vec::new());
                *response.status_mut() = self.status();
                response
            }
        };
        if self.status() != StatusCode::INTERNAL_SERVER_ERROR {
            set_header(&mut response, WWW_AUTHENTICATE, &self.challenge());
        }
        response
    }
}

impl fmt::Display for BearerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.error() {
            Some(error) => error.fmt(f),
            None => f.write_str("no access token"),
        }
    }
}

impl std::error::Error for BearerError {}

impl From<BearerError> for Response<Vec<u8>> {
    fn from(error: BearerError) -> Self {
        error.into_response()
    }
}

/// Validates the bearer token of a protected request against a requirement.
pub(crate) async fn validate<S: Storage, B: AsRef<[u8]>>(
    server: &Server<S>,
    request: &Request<B>,
    requirement: &Requirement,
) -> Result<AccessGrant, BearerError> {
    let in_body = server.config().bearer_in_body;
    validate_with(server, request, requirement, in_body).await
}

/// As [`validate`], with the form body accepted as a way to send the token or not, whatever
/// the configuration says (UserInfo takes it there, OpenID Connect Core §5.3.1).
pub(crate) async fn validate_with<S: Storage, B: AsRef<[u8]>>(
    server: &Server<S>,
    request: &Request<B>,
    requirement: &Requirement,
    in_body: bool,
) -> Result<AccessGrant, BearerError> {
    let config = server.config();
    let metadata = requirement
        .resource
        .as_deref()
        .and_then(|id| config.resource(id));
    let fail = |kind| BearerError {
        kind,
        realm: config.realm().to_owned(),
        resource_metadata: metadata.map(Resource::metadata_url),
    };
    let token =
        extract(config, request, in_body).map_err(|e| fail(BearerErrorKind::Malformed(e)))?;
    let token = token.ok_or_else(|| fail(BearerErrorKind::Missing))?;
    let record = match read(server, &token).await {
        Ok(Some(record)) => {
            crate::observe::client(record.client_id.as_str());
            record
        }
        Ok(None) => return Err(fail(BearerErrorKind::InvalidToken)),
        Err(error) => {
            config.report(&error, ErrorContext::new("bearer"));
            return Err(fail(BearerErrorKind::Internal));
        }
    };
    // Every way `extract` finds a token is a bearer token's way: a token bound to a key is
    // never accepted as one.
    if record.token_type() != TokenType::Bearer {
        return Err(fail(BearerErrorKind::InvalidToken));
    }
    // C-JT-2: a token for another resource is not valid here (RFC 9068 §4).
    if let Some(resource) = &requirement.resource
        && !record.resources.iter().any(|id| **id == **resource)
    {
        return Err(fail(BearerErrorKind::InvalidToken));
    }
    let audience_ok = match requirement.audience {
        Audience::Any => true,
        Audience::User => record.owner.is_some(),
        Audience::App => record.owner.is_none(),
    };
    if !audience_ok || !record.scope.satisfies_all(&requirement.scopes) {
        return Err(fail(BearerErrorKind::InsufficientScope {
            required: requirement.scopes.clone(),
            audience: !audience_ok,
        }));
    }
    Ok(AccessGrant { record })
}

/// The live record of a presented access token, read through the server's formats: from
/// storage for a stored token, from the token itself for a self-contained one (and then from
/// storage too, when revocation applies to it).
pub(crate) async fn read<S: Storage>(
    server: &Server<S>,
    token: &str,
) -> Result<Option<Arc<TokenRecord>>, Error> {
    let now = server.now();
    // Only a JWS (three parts) needs the signing keys: an outage of the key store must not
    // stop opaque tokens from being checked.
    if token.bytes().filter(|&b| b == b'.').count() == 2 {
        server.load_keys(now).await?;
    }
    for format in server.formats() {
        return match format.read(token, now) {
            Reading::NotMine => continue,
            Reading::Stored | Reading::Verified => {
                let digest = Digest::of(token);
                let lookup = server.storage().access_token(&digest, now);
                crate::observe::storage("access_token", lookup).await
            }
            Reading::SelfContained { record, revocable } => {
                if !record.is_live(now) {
                    return Ok(None);
                }
                if revocable
                    && server
                        .storage()
                        .access_token(&Digest::of(token), now)
                        .await?
                        .is_none()
                {
                    return Ok(None);
                }
                Ok(Some(Arc::new(record)))
            }
            _ => Ok(None),
        };
    }
    Ok(None)
}

/// Finds the access token: the `Authorization` header, a form body, or (when enabled) the
/// query. More than one method is `invalid_request` (C-BR-1…4).
fn extract<'r, B: AsRef<[u8]>>(
    config: &Config,
    request: &'r Request<B>,
    in_body: bool,
) -> Result<Option<Cow<'r, str>>, OAuthError> {
    // The token from the header is borrowed from the request; from a body or query, copied.
    let mut found: Option<Cow<'r, str>> = None;
    let mut methods = 0;

    let mut headers = request.headers().get_all(AUTHORIZATION).iter();
    if let Some(header) = headers.next() {
        if headers.next().is_some() {
            return Err(OAuthError::invalid_request("repeated Authorization header"));
        }
        if let Some(token) = from_header(header)? {
            found = Some(Cow::Borrowed(token));
            methods += 1;
        }
    }
    if in_body
        && request.method() != Method::GET
        && form::is_form(request.headers())
        && let Some(token) = form::find_param(request.body().as_ref(), "access_token")?
    {
        found = Some(Cow::Owned(token));
        methods += 1;
    }
    if config.bearer_in_query {
        let query = request.uri().query().unwrap_or("");
        if let Some(token) = form::find_param(query.as_bytes(), "access_token")? {
            found = Some(Cow::Owned(token));
            methods += 1;
        }
    }
    match methods {
        0 | 1 => Ok(found),
        _ => Err(OAuthError::invalid_request(
            "the access token was sent by more than one method",
        )),
    }
}

/// Reads `Bearer <b64token>` (scheme case-insensitive). Other schemes are not a bearer token.
pub(crate) fn from_header(header: &HeaderValue) -> Result<Option<&str>, OAuthError> {
    let malformed = || OAuthError::invalid_request("malformed Authorization header");
    let bytes = header.as_bytes();
    let (scheme, rest) = match bytes.iter().position(|&b| b == b' ') {
        Some(at) => (&bytes[..at], &bytes[at + 1..]),
        None => (bytes, &[][..]),
    };
    if !TokenType::Bearer.is_scheme(scheme) {
        return match header.to_str() {
            Ok(_) => Ok(None),
            Err(_) => Err(malformed()),
        };
    }
    let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
    let token = &rest[start..];
    let padding = token.iter().rev().take_while(|&&b| b == b'=').count();
    let body = &token[..token.len() - padding];
    if body.is_empty() || !B64TOKEN.contains_all(body) {
        return Err(malformed());
    }
    // Only b64token characters and `=`: ASCII.
    std::str::from_utf8(token)
        .map(Some)
        .map_err(|_| malformed())
}

#[cfg(test)]
mod tests {
    mod properties {
        use http::HeaderValue;
        use proptest::prelude::*;

        use super::super::from_header;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(10_000))]

            // Any header value is answered, never a panic; a bearer token is found only in a
            // `Bearer` header, and then it is the header's token part.
            #[test]
            fn any_authorization_header_is_answered(
                value in proptest::collection::vec(32u8..127, 0..80),
            ) {
                let Ok(header) = HeaderValue::from_bytes(&value) else { return Ok(()); };
                if let Ok(Some(token)) = from_header(&header) {
                    let text = String::from_utf8(value.clone()).unwrap();
                    prop_assert!(text.to_ascii_lowercase().starts_with("bearer "));
                    prop_assert!(text.ends_with(token));
                }
            }

            // Every b64token (RFC 6750 §2.1) is extracted exactly.
            #[test]
            fn every_b64token_is_extracted(token in "[A-Za-z0-9._~+/-]{1,60}=*") {
                let header = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
                prop_assert_eq!(from_header(&header).unwrap(), Some(token.as_str()));
            }
        }
    }
}
