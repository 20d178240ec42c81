//! Access-token validation for the host's API routes (RFC 6750, and RFC 9449 for DPoP):
//! finding the token in the request, reading it through the server's access-token formats,
//! checking it is live and presented as its type requires (a DPoP-bound token only with
//! `Authorization: DPoP` and a proof by its key), checking the route's [`Requirement`], and
//! answering failures with the right status and `WWW-Authenticate` challenges.

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
    /// When the server takes DPoP: its challenge (RFC 9449 §7.1). Boxed: the error path
    /// should not make every result larger.
    dpop: Option<Box<DpopChallenge>>,
}

/// The `DPoP` challenge of a refusal, when the server takes DPoP proofs.
#[derive(Debug)]
struct DpopChallenge {
    /// The accepted algorithms (`algs`).
    algs: String,
    /// Whether the error is about DPoP (a DPoP-bound token or a proof): then the challenge
    /// carries it, and there is no `Bearer` challenge.
    failed: bool,
    /// The nonce of a `use_dpop_nonce` refusal.
    nonce: Option<String>,
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
    /// The DPoP proof is missing, invalid, or not the token's key's (RFC 9449 §7.1).
    #[cfg_attr(not(feature = "jose"), allow(dead_code))]
    InvalidDpopProof(&'static str),
    /// The DPoP proof lacks the server's current nonce.
    #[cfg_attr(not(feature = "jose"), allow(dead_code))]
    UseDpopNonce,
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
            dpop: None,
        }
    }

    /// A failure inside the server while answering a protected request.
    #[cfg(feature = "oidc")]
    pub(crate) fn internal(realm: &str) -> Self {
        Self {
            kind: BearerErrorKind::Internal,
            realm: realm.to_owned(),
            resource_metadata: None,
            dpop: None,
        }
    }

    /// The HTTP status: 400, 401, 403, or 500 when storage failed.
    pub fn status(&self) -> StatusCode {
        match self.kind {
            BearerErrorKind::Missing
            | BearerErrorKind::InvalidToken
            | BearerErrorKind::InvalidDpopProof(_)
            | BearerErrorKind::UseDpopNonce => StatusCode::UNAUTHORIZED,
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
            BearerErrorKind::InvalidDpopProof(_) => Some(ErrorCode::InvalidDpopProof),
            BearerErrorKind::UseDpopNonce => Some(ErrorCode::UseDpopNonce),
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
            BearerErrorKind::InvalidDpopProof(reason) => reason,
            BearerErrorKind::UseDpopNonce => "the DPoP proof must carry the server's nonce",
            BearerErrorKind::Internal => "the server could not check the access token",
        };
        self.error_code()
            .map(|code| OAuthError::new(code).with_description(description))
    }

    /// The `WWW-Authenticate` challenge that carries the error (C-BR-5): `Bearer`, or `DPoP`
    /// when the refusal is about a DPoP-bound token or a DPoP proof (C-DP-2).
    pub fn challenge(&self) -> String {
        match &self.dpop {
            Some(dpop) if dpop.failed => self.challenge_of(TokenType::DPoP, true),
            _ => self.challenge_of(TokenType::Bearer, true),
        }
    }

    /// Every `WWW-Authenticate` challenge of the answer: the one carrying the error, then,
    /// when the server takes DPoP and the refusal was not about DPoP, a `DPoP` challenge
    /// naming the accepted algorithms (RFC 9449 §7.1).
    pub fn challenges(&self) -> Vec<String> {
        let mut challenges = vec![self.challenge()];
        if self.dpop.as_ref().is_some_and(|dpop| !dpop.failed) {
            challenges.push(self.challenge_of(TokenType::DPoP, false));
        }
        challenges
    }

    /// The nonce a `use_dpop_nonce` refusal hands the client (`DPoP-Nonce`), if any.
    pub fn dpop_nonce(&self) -> Option<&str> {
        self.dpop.as_ref().and_then(|dpop| dpop.nonce.as_deref())
    }

    /// A challenge of `scheme`, with the error when `with_error`.
    fn challenge_of(&self, scheme: TokenType, with_error: bool) -> String {
        let mut challenge = format!("{scheme} realm=\"{}\"", self.realm);
        if let (TokenType::DPoP, Some(dpop)) = (scheme, &self.dpop) {
            challenge.push_str(&format!(", algs=\"{}\"", dpop.algs));
        }
        if let Some(error) = self.error().filter(|_| with_error) {
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
            for challenge in self.challenges() {
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    response.headers_mut().append(WWW_AUTHENTICATE, value);
                }
            }
        }
        if let Some(nonce) = self.dpop_nonce() {
            set_header(&mut response, crate::token::DPOP_NONCE, nonce);
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
        dpop: dpop_challenge(config),
    };
    let presented =
        extract(config, request, in_body).map_err(|e| fail(BearerErrorKind::Malformed(e)))?;
    let (token, scheme) = presented.ok_or_else(|| fail(BearerErrorKind::Missing))?;
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
    // A token is accepted only as its type says: a bound one with a proof by its key (C-DP-2),
    // never as a bearer token; an unbound one never under the DPoP scheme.
    if record.token_type() != scheme {
        let mut error = fail(BearerErrorKind::InvalidToken);
        if let Some(dpop) = &mut error.dpop {
            dpop.failed = true;
        }
        return Err(error);
    }
    #[cfg(feature = "jose")]
    if scheme == TokenType::DPoP {
        check_proof(server, request, &token, &record)
            .await
            .map_err(|(kind, nonce)| {
                let mut error = fail(kind);
                if let Some(dpop) = &mut error.dpop {
                    dpop.failed = true;
                    dpop.nonce = nonce;
                }
                error
            })?;
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

/// The `DPoP` challenge of the server's refusals, when it takes DPoP proofs.
fn dpop_challenge(config: &Config) -> Option<Box<DpopChallenge>> {
    #[cfg(feature = "jose")]
    return config.dpop().map(|dpop| {
        Box::new(DpopChallenge {
            algs: dpop.algs(),
            failed: false,
            nonce: None,
        })
    });
    #[cfg(not(feature = "jose"))]
    {
        let _ = config;
        None
    }
}

/// Checks the DPoP proof of a request presenting a DPoP-bound token (C-DP-2): by the token's
/// key, for this request's method and URL, with the token's hash (`ath`), not replayed. A
/// refusal is the error and, for `use_dpop_nonce`, the nonce to send.
#[cfg(feature = "jose")]
async fn check_proof<S: Storage, B>(
    server: &Server<S>,
    request: &Request<B>,
    token: &str,
    record: &TokenRecord,
) -> Result<(), (BearerErrorKind, Option<String>)> {
    use crate::dpop::{Target, check, request_url};
    let config = server.config();
    let internal = || (BearerErrorKind::Internal, None);
    let dpop = config.dpop().ok_or_else(internal)?;
    let url = request_url(config, request).ok_or((
        BearerErrorKind::InvalidDpopProof("the request's URL is unknown"),
        None,
    ))?;
    let target = Target {
        method: request.method(),
        url: &url,
        access_token: Some(token),
    };
    let proof = match check(dpop, request.headers(), &target, server.now()).await {
        Ok(Some(proof)) => proof,
        Ok(None) => {
            let missing = BearerErrorKind::InvalidDpopProof("a DPoP proof is required");
            return Err((missing, None));
        }
        Err(crate::error::Failure::OAuth(error)) => {
            return Err(match error.dpop_nonce() {
                Some(nonce) => (BearerErrorKind::UseDpopNonce, Some(nonce.to_owned())),
                None => (
                    BearerErrorKind::InvalidDpopProof("the DPoP proof is invalid"),
                    None,
                ),
            });
        }
        Err(crate::error::Failure::Internal(error)) => {
            config.report(&error, ErrorContext::new("bearer"));
            return Err(internal());
        }
    };
    match record.confirmation.as_ref().and_then(|cnf| cnf.jkt()) {
        Some(jkt) if jkt == proof.jkt => Ok(()),
        _ => Err((
            BearerErrorKind::InvalidDpopProof("the DPoP proof is not by the token's key"),
            None,
        )),
    }
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

/// Finds the access token and the scheme it was presented with: the `Authorization` header
/// (`Bearer` or `DPoP`), a form body, or (when enabled) the query, the last two as bearer
/// tokens. More than one method is `invalid_request` (C-BR-1…4).
fn extract<'r, B: AsRef<[u8]>>(
    config: &Config,
    request: &'r Request<B>,
    in_body: bool,
) -> Result<Option<(Cow<'r, str>, TokenType)>, OAuthError> {
    // The token from the header is borrowed from the request; from a body or query, copied.
    let mut found: Option<(Cow<'r, str>, TokenType)> = None;
    let mut methods = 0;

    let mut headers = request.headers().get_all(AUTHORIZATION).iter();
    if let Some(header) = headers.next() {
        if headers.next().is_some() {
            return Err(OAuthError::invalid_request("repeated Authorization header"));
        }
        if let Some((token, scheme)) = from_header(header)? {
            found = Some((Cow::Borrowed(token), scheme));
            methods += 1;
        }
    }
    if in_body
        && request.method() != Method::GET
        && form::is_form(request.headers())
        && let Some(token) = form::find_param(request.body().as_ref(), "access_token")?
    {
        found = Some((Cow::Owned(token), TokenType::Bearer));
        methods += 1;
    }
    if config.bearer_in_query {
        let query = request.uri().query().unwrap_or("");
        if let Some(token) = form::find_param(query.as_bytes(), "access_token")? {
            found = Some((Cow::Owned(token), TokenType::Bearer));
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

/// Reads `Bearer <b64token>` or `DPoP <b64token>` (schemes case-insensitive), with the
/// scheme. Other schemes carry no access token.
pub(crate) fn from_header(header: &HeaderValue) -> Result<Option<(&str, TokenType)>, OAuthError> {
    let malformed = || OAuthError::invalid_request("malformed Authorization header");
    let bytes = header.as_bytes();
    let (scheme, rest) = match bytes.iter().position(|&b| b == b' ') {
        Some(at) => (&bytes[..at], &bytes[at + 1..]),
        None => (bytes, &[][..]),
    };
    let Some(scheme) = [TokenType::Bearer, TokenType::DPoP]
        .into_iter()
        .find(|known| known.is_scheme(scheme))
    else {
        return match header.to_str() {
            Ok(_) => Ok(None),
            Err(_) => Err(malformed()),
        };
    };
    let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
    let token = &rest[start..];
    let padding = token.iter().rev().take_while(|&&b| b == b'=').count();
    let body = &token[..token.len() - padding];
    if body.is_empty() || !B64TOKEN.contains_all(body) {
        return Err(malformed());
    }
    // Only b64token characters and `=`: ASCII.
    std::str::from_utf8(token)
        .map(|token| Some((token, scheme)))
        .map_err(|_| malformed())
}

#[cfg(test)]
mod tests {
    mod properties {
        use http::HeaderValue;
        use proptest::prelude::*;

        use super::super::from_header;
        use crate::token::TokenType;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(10_000))]

            // Any header value is answered, never a panic; a token is found only in a `Bearer`
            // or `DPoP` header, with that scheme, and then it is the header's token part.
            #[test]
            fn any_authorization_header_is_answered(
                value in proptest::collection::vec(32u8..127, 0..80),
            ) {
                let Ok(header) = HeaderValue::from_bytes(&value) else { return Ok(()); };
                if let Ok(Some((token, scheme))) = from_header(&header) {
                    let text = String::from_utf8(value.clone()).unwrap();
                    let prefix = format!("{} ", scheme.as_str().to_ascii_lowercase());
                    prop_assert!(text.to_ascii_lowercase().starts_with(&prefix));
                    prop_assert!(text.ends_with(token));
                }
            }

            // Every b64token (RFC 6750 §2.1) is extracted exactly.
            #[test]
            fn every_b64token_is_extracted(token in "[A-Za-z0-9._~+/-]{1,60}=*") {
                for scheme in [TokenType::Bearer, TokenType::DPoP] {
                    let header = HeaderValue::from_str(&format!("{scheme} {token}")).unwrap();
                    prop_assert_eq!(from_header(&header).unwrap(), Some((token.as_str(), scheme)));
                }
            }
        }
    }
}
