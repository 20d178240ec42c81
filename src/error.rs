//! The two error layers: [`OAuthError`] is what OAuth clients see (the RFC error codes), and
//! [`Error`] is what went wrong inside (storage, configuration), which clients only ever see as
//! `server_error` without details.

use std::borrow::Cow;
use std::fmt;

/// An error code defined by RFC 6749 (§4.1.2.1, §5.2), RFC 6750 (§3.1), RFC 7009 (§2.2.1),
/// RFC 7591 (§3.2.2), RFC 8707 (§2), RFC 8628 (§3.5), RFC 9101 (§6.2) or OpenID Connect Core
/// (§3.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The request is missing a parameter, repeats one, or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The code, refresh token or owner credentials are invalid, expired, revoked or were issued
    /// to another client.
    InvalidGrant,
    /// The client is not allowed to use this grant or response type.
    UnauthorizedClient,
    /// The grant type is not supported by this server.
    UnsupportedGrantType,
    /// The response type is not supported by this server.
    UnsupportedResponseType,
    /// The requested scope is invalid, unknown, malformed or wider than allowed.
    InvalidScope,
    /// The resource owner or the server denied the request.
    AccessDenied,
    /// The server met an unexpected condition.
    ServerError,
    /// The server is temporarily unable to handle the request.
    TemporarilyUnavailable,
    /// The access token is expired, revoked, malformed or invalid (RFC 6750).
    InvalidToken,
    /// The access token lacks the scope the resource requires (RFC 6750).
    InsufficientScope,
    /// The server cannot revoke tokens of the given type (RFC 7009).
    UnsupportedTokenType,
    /// `prompt=none`, and the owner must log in (OpenID Connect Core §3.1.2.6).
    LoginRequired,
    /// `prompt=none`, and the owner must consent.
    ConsentRequired,
    /// `prompt=none`, and the owner must interact with the server otherwise.
    InteractionRequired,
    /// `prompt=none`, and the owner must choose an account.
    AccountSelectionRequired,
    /// The request carried a request object (`request`), which the server does not take.
    RequestNotSupported,
    /// The request carried a `request_uri` the server does not take.
    RequestUriNotSupported,
    /// The request carried `registration`, which the server does not take.
    RegistrationNotSupported,
    /// The `request_uri` of an authorization request names no pushed request this client may
    /// use: unknown, expired, already used, or pushed by another client (RFC 9101 §6.2,
    /// RFC 9126 §4).
    InvalidRequestUri,
    /// A requested resource is invalid, unknown, malformed or not allowed for the client
    /// (RFC 8707).
    InvalidTarget,
    /// A redirect URI sent for registration is invalid (RFC 7591 §3.2.2).
    InvalidRedirectUri,
    /// A client metadata field sent for registration is invalid, or the fields are
    /// inconsistent (RFC 7591 §3.2.2).
    InvalidClientMetadata,
    /// The user has not yet answered the device authorization request (RFC 8628 §3.5): poll
    /// again after the interval.
    AuthorizationPending,
    /// The device polls too often (RFC 8628 §3.5): the interval it must keep grew by 5 s.
    SlowDown,
    /// The device code expired (RFC 8628 §3.5): start a new device authorization.
    ExpiredToken,
    /// The DPoP proof is missing a required part, malformed, or does not match the request
    /// (RFC 9449 §5, §7.1).
    InvalidDpopProof,
    /// The DPoP proof must carry the nonce the server sent in its `DPoP-Nonce` header
    /// (RFC 9449 §8, §9).
    UseDpopNonce,
}

impl ErrorCode {
    /// The code as it appears on the wire, e.g. `invalid_grant`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::AccountSelectionRequired => "account_selection_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::RegistrationNotSupported => "registration_not_supported",
            Self::InvalidRequestUri => "invalid_request_uri",
            Self::InvalidTarget => "invalid_target",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::ExpiredToken => "expired_token",
            Self::InvalidDpopProof => "invalid_dpop_proof",
            Self::UseDpopNonce => "use_dpop_nonce",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as an OAuth client sees it: a code, an optional human-readable description and an
/// optional URI of a page about it.
///
/// Descriptions are restricted to the characters RFC 6749 §5.2 allows (printable ASCII without
/// `"` and `\`); anything else is replaced by `?`. grantor never puts a secret or a
/// client-supplied value into a description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    code: ErrorCode,
    description: Option<Cow<'static, str>>,
    uri: Option<Cow<'static, str>>,
    basic_challenge: bool,
    /// The nonce of a `use_dpop_nonce` error, sent in the `DPoP-Nonce` header. A thin
    /// pointer: errors are in every result, and should stay small.
    dpop_nonce: Option<std::sync::Arc<String>>,
}

macro_rules! shorthand {
    ($($(#[$doc:meta])* $name:ident => $code:ident;)*) => {
        $(
            $(#[$doc])*
            // Errors are the rare path: kept out of line, so that the code of the common path
            // stays small and in the instruction cache.
            #[cold]
            pub fn $name(description: impl Into<Cow<'static, str>>) -> Self {
                Self::new(ErrorCode::$code).with_description(description)
            }
        )*
    };
}

impl OAuthError {
    /// An error with this code and no description.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            description: None,
            uri: None,
            basic_challenge: false,
            dpop_nonce: None,
        }
    }

    shorthand! {
        /// `invalid_request` with a description.
        invalid_request => InvalidRequest;
        /// `invalid_client` with a description.
        invalid_client => InvalidClient;
        /// `invalid_grant` with a description.
        invalid_grant => InvalidGrant;
        /// `unauthorized_client` with a description.
        unauthorized_client => UnauthorizedClient;
        /// `invalid_scope` with a description.
        invalid_scope => InvalidScope;
        /// `access_denied` with a description.
        access_denied => AccessDenied;
        /// `server_error` with a description.
        server_error => ServerError;
        /// `invalid_target` with a description (RFC 8707).
        invalid_target => InvalidTarget;
        /// `invalid_redirect_uri` with a description (RFC 7591).
        invalid_redirect_uri => InvalidRedirectUri;
        /// `invalid_client_metadata` with a description (RFC 7591).
        invalid_client_metadata => InvalidClientMetadata;
    }

    /// Sets the human-readable description (characters outside RFC 6749's set become `?`).
    #[cold]
    pub fn with_description(mut self, description: impl Into<Cow<'static, str>>) -> Self {
        let description = description.into();
        self.description = Some(if description.chars().all(allowed_in_description) {
            description
        } else {
            Cow::Owned(
                description
                    .chars()
                    .map(|c| if allowed_in_description(c) { c } else { '?' })
                    .collect(),
            )
        });
        self
    }

    /// Sets the URI of a page that explains the error.
    pub fn with_uri(mut self, uri: impl Into<Cow<'static, str>>) -> Self {
        let uri = uri.into();
        if uri.chars().all(allowed_in_description) {
            self.uri = Some(uri);
        }
        self
    }

    /// Marks an `invalid_client` error as answering HTTP Basic authentication: it is rendered
    /// as 401 with `WWW-Authenticate: Basic` (RFC 6749 §5.2).
    pub(crate) fn with_basic_challenge(mut self) -> Self {
        self.basic_challenge = true;
        self
    }

    /// Attaches the server's DPoP nonce, which the answer sends in a `DPoP-Nonce` header.
    #[cfg_attr(not(feature = "jose"), allow(dead_code))]
    pub(crate) fn with_dpop_nonce(mut self, nonce: String) -> Self {
        self.dpop_nonce = Some(std::sync::Arc::new(nonce));
        self
    }

    /// The DPoP nonce the answer must send, if any.
    pub(crate) fn dpop_nonce(&self) -> Option<&str> {
        self.dpop_nonce.as_deref().map(String::as_str)
    }

    /// The error code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The human-readable description, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The URI of a page about the error, if any.
    pub fn uri(&self) -> Option<&str> {
        self.uri.as_deref()
    }

    /// Whether the client authenticated with HTTP Basic, so the answer must be a 401 challenge.
    pub(crate) fn basic_challenge(&self) -> bool {
        self.basic_challenge
    }

    /// The parameters of this error as `(name, value)` pairs, in RFC order.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            Some(("error", self.code.as_str())),
            self.description().map(|d| ("error_description", d)),
            self.uri().map(|u| ("error_uri", u)),
        ]
        .into_iter()
        .flatten()
    }
}

fn allowed_in_description(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.description {
            Some(d) => write!(f, "{}: {}", self.code, d),
            None => write!(f, "{}", self.code),
        }
    }
}

impl std::error::Error for OAuthError {}

impl From<ErrorCode> for OAuthError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

/// Where an internal error happened, for the host's
/// [`on_internal_error`](crate::ConfigBuilder::on_internal_error) hook: the endpoint, and the
/// client the request named, when it named one (authenticated or not: the request failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorContext<'a> {
    /// The endpoint: `token`, `revoke`, `introspect`, `authorize`, `userinfo`, `bearer`,
    /// `register`, `device_authorization`…
    pub endpoint: &'static str,
    /// The client the request named, if any.
    pub client_id: Option<&'a str>,
}

impl<'a> ErrorContext<'a> {
    /// The context of a call of `endpoint`, for no particular client.
    pub fn new(endpoint: &'static str) -> Self {
        Self {
            endpoint,
            client_id: None,
        }
    }

    /// The same context, for the client `id`.
    pub fn client(mut self, id: Option<&'a str>) -> Self {
        self.client_id = id;
        self
    }
}

/// A failure inside the server: storage, the authenticator or the configuration.
///
/// Clients never see these details; the endpoints answer `server_error` and hand the error to
/// [`ConfigBuilder::on_internal_error`](crate::ConfigBuilder::on_internal_error) for logging.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage backend failed.
    #[error("storage failure: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The authenticator failed (not: the credentials were wrong).
    #[error("authenticator failure: {0}")]
    Authenticator(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A configuration or registration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The host called grantor in a way it does not allow (for example, approved an OpenID
    /// request with `max_age` without saying when the owner authenticated).
    #[error("misuse: {0}")]
    Usage(String),
    /// A host's extension failed: a grant, an access-token format, a claims source.
    #[error("extension failure: {0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// Wraps a storage backend's error.
    pub fn storage(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Storage(error.into())
    }

    /// Wraps an authenticator's error.
    pub fn authenticator(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Authenticator(error.into())
    }

    /// A configuration error with this message.
    pub fn config(message: impl Into<String>) -> Self {
        Self::Config(message.into())
    }

    /// A misuse of grantor's API, with this message.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::Usage(message.into())
    }

    /// Wraps the error of a host's extension (a grant, an access-token format…).
    pub fn other(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Other(error.into())
    }
}

/// Why a request failed: an OAuth error for the client, or an internal error that the client
/// sees as a bare `server_error` (and the host's
/// [`on_internal_error`](crate::ConfigBuilder::on_internal_error) hook sees whole).
///
/// What a [`Grant`](crate::grant::Grant) returns when it refuses; `?` turns either kind of
/// error into it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Failure {
    /// An error the client sees as it is.
    OAuth(OAuthError),
    /// An internal failure (storage, the authenticator).
    Internal(Error),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OAuth(error) => error.fmt(f),
            Self::Internal(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::OAuth(error) => Some(error),
            Self::Internal(error) => Some(error),
        }
    }
}

impl From<crate::scope::ScopeError> for Failure {
    fn from(error: crate::scope::ScopeError) -> Self {
        Self::OAuth(error.into())
    }
}

impl From<OAuthError> for Failure {
    fn from(error: OAuthError) -> Self {
        Self::OAuth(error)
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self::Internal(error)
    }
}

impl Failure {
    /// The error the client sees; internal errors are reported to the host's hook first.
    pub(crate) fn into_oauth(
        self,
        config: &crate::Config,
        context: ErrorContext<'_>,
    ) -> OAuthError {
        match self {
            Self::OAuth(error) => error,
            Self::Internal(error) => {
                config.report(&error, context);
                OAuthError::server_error("the server could not complete the request")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_restricted_to_the_rfc_character_set() {
        let e = OAuthError::invalid_request("bad \"quote\" and \\ and é\n");
        assert_eq!(e.description(), Some("bad ?quote? and ? and ??"));
    }

    #[test]
    fn failures_convert_and_display() {
        let scope: Failure = crate::ScopeSet::parse("a  b").unwrap_err().into();
        assert!(matches!(&scope, Failure::OAuth(e) if e.code() == ErrorCode::InvalidScope));
        let internal: Failure = Error::other("claims source down").into();
        assert_eq!(
            internal.to_string(),
            "extension failure: claims source down"
        );
        assert!(std::error::Error::source(&internal).is_some());
        let oauth: Failure = OAuthError::invalid_grant("no").into();
        assert_eq!(oauth.to_string(), "invalid_grant: no");
    }

    #[test]
    fn pairs_are_in_rfc_order() {
        let e = OAuthError::invalid_grant("nope").with_uri("https://example.com/e");
        let pairs: Vec<_> = e.pairs().collect();
        assert_eq!(
            pairs,
            [
                ("error", "invalid_grant"),
                ("error_description", "nope"),
                ("error_uri", "https://example.com/e")
            ]
        );
    }
}
