//! Client authentication (RFC 6749 §2.3): how a request to the token, revocation,
//! introspection or device authorization endpoint proves which client sent it.
//!
//! Each method is read here from the request, and only one may be used per request (C-TK-2):
//! HTTP Basic ([`basic`]), `client_id` and `client_secret` in the body, a JWT client assertion
//! (`private_key_jwt` or `client_secret_jwt`, [`assertion`]), or a public client's `client_id`
//! alone. A client registered for one method is refused when it uses another. Verification
//! runs the same for every endpoint; it never tells which part of the credentials was wrong
//! (C-TK-3, C-CA-1), and it hashes a presented secret even for an unknown client, so that
//! timing does not tell either. Secrets and assertions pass the limiter first (C-OB-3).

#[cfg(feature = "jose")]
pub(crate) mod assertion;
pub(crate) mod basic;

use std::fmt;

use http::header::AUTHORIZATION;
use http::{HeaderMap, Request};

use crate::Config;
use crate::audit::{AuditEvent, AuditKind};
use crate::client::{AuthMethod, Client};
use crate::error::{Failure, OAuthError};
use crate::form::Params;
use crate::limit::{self, Check, LimitKey};
use crate::server::Server;
use crate::storage::Storage;
use crate::token::Digest;

/// The `client_assertion_type` of a JWT assertion (RFC 7523 §2.2).
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The `token_endpoint_auth_methods_supported` of the metadata (RFC 8414 §2): the methods the
/// server accepts with `config`, by their registered names.
pub(crate) fn methods(config: &Config) -> Vec<&'static str> {
    // C-FA-1: the FAPI 2.0 profile takes private_key_jwt alone.
    if config.is_fapi2() {
        return vec![AuthMethod::PrivateKeyJwt.as_str()];
    }
    let mut methods = vec![AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost];
    #[cfg(feature = "jose")]
    if let Some(assertions) = config.client_assertions() {
        methods.push(AuthMethod::PrivateKeyJwt);
        if assertions.accepts_client_secret_jwt() {
            methods.push(AuthMethod::ClientSecretJwt);
        }
    }
    #[cfg(not(feature = "jose"))]
    let _ = config;
    methods.push(AuthMethod::None);
    methods.into_iter().map(AuthMethod::as_str).collect()
}

/// The `token_endpoint_auth_signing_alg_values_supported` of the metadata: the algorithms of
/// the client assertions the server accepts with `config` (none without assertions).
pub(crate) fn signing_algs(config: &Config) -> Vec<&'static str> {
    #[cfg(feature = "jose")]
    if let Some(assertions) = config.client_assertions() {
        return assertions.alg_values();
    }
    #[cfg(not(feature = "jose"))]
    let _ = config;
    Vec::new()
}

/// How a request identified its client. Borrows from the parsed body; its `Debug` never shows
/// the secret.
pub(crate) enum Credentials<'a> {
    /// HTTP Basic (`client_secret_basic`).
    Basic(basic::BasicCredentials),
    /// `client_id` and `client_secret` in the body (`client_secret_post`).
    Post { id: &'a str, secret: &'a str },
    /// Only `client_id` in the body: a public client (`none`).
    IdOnly { id: &'a str },
    /// A JWT assertion (`private_key_jwt` or `client_secret_jwt`) and the client it names: its
    /// `sub`, read before verification, when the body's `client_id` (if any) agrees.
    Assertion { id: Option<String>, jwt: &'a str },
    /// Nothing at all.
    Absent,
}

impl fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic(basic) => basic.fmt(f),
            Self::Post { id, .. } => write!(f, "Post({id:?}, <redacted>)"),
            Self::IdOnly { id } => write!(f, "IdOnly({id:?})"),
            Self::Assertion { id, .. } => write!(f, "Assertion({id:?}, <redacted>)"),
            Self::Absent => f.write_str("Absent"),
        }
    }
}

/// Authenticates the client of a request to `endpoint` (the URL of the token, revocation,
/// introspection or device authorization endpoint, which an assertion's `aud` may name)
/// (C-TK-2, C-TK-3, C-CA-1). A failure is reported to the audit sink (C-OB-2).
pub(crate) async fn authenticate<S: Storage, B>(
    server: &Server<S>,
    request: &Request<B>,
    params: &Params,
    endpoint: &str,
) -> Result<Client, Failure> {
    let config = server.config();
    let credentials = Credentials::from_request(request.headers(), params)?;
    // C-FA-1: under the FAPI 2.0 profile, a client authenticates with an assertion
    // (private_key_jwt) or not at all.
    if config.is_fapi2() && !matches!(credentials, Credentials::Assertion { .. }) {
        return Err(credentials.error(FAILED).into());
    }
    // C-OB-3: a secret is checked only when the limiter allows it; a refusal hashes nothing.
    let limited = match (
        &config.limiter,
        credentials.is_checked(),
        credentials.client_id(),
    ) {
        (Some(limiter), true, Some(id)) => {
            let keys = limit::keys(LimitKey::Client(id.to_owned()), request.extensions());
            let now = server.now();
            if !limiter.allow(Check::ClientSecret, &keys, now).await? {
                config.audit(|| {
                    let kind = AuditKind::AttemptLimited {
                        check: Check::ClientSecret,
                    };
                    AuditEvent::new(kind, now).named_client(Some(id))
                });
                return Err(credentials.error(limit::REFUSED).into());
            }
            Some((limiter, keys))
        }
        _ => None,
    };
    let client = match credentials.client_id() {
        Some(id) => server.storage().client(id).await?,
        None => None,
    };
    let verified = match &credentials {
        Credentials::Assertion { jwt, .. } => {
            match verify_assertion(server, jwt, client, endpoint).await? {
                Some(client) => Ok(client),
                None => Err(credentials.error(FAILED)),
            }
        }
        _ => credentials.verify(client),
    };
    // C-FA-1: a client stored without the registration's checks (or before the profile was
    // on) that does not conform to the profile is not authenticated.
    #[cfg(feature = "jose")]
    let verified = verified.and_then(|client| match config.is_fapi2() {
        true if crate::fapi::refuses(&client).is_some() => Err(credentials.error(FAILED)),
        _ => Ok(client),
    });
    match verified {
        Ok(client) => Ok(client),
        Err(error) => {
            if let Some((limiter, keys)) = limited {
                limiter
                    .failed(Check::ClientSecret, &keys, server.now())
                    .await?;
            }
            config.audit(|| {
                AuditEvent::new(AuditKind::ClientAuthenticationFailed, server.now())
                    .named_client(credentials.client_id())
            });
            Err(error.into())
        }
    }
}

/// The one description of every failed client authentication (C-TK-3, C-CA-1).
const FAILED: &str = "client authentication failed";

/// Verifies a client assertion with the server's settings (C-CA-1): `None` when it fails or
/// the server accepts no assertions (as without the `jose` feature).
async fn verify_assertion<S: Storage>(
    server: &Server<S>,
    jwt: &str,
    client: Option<Client>,
    endpoint: &str,
) -> Result<Option<Client>, Failure> {
    #[cfg(feature = "jose")]
    if let Some(assertions) = server.config().client_assertions() {
        let expected = assertion::Expected {
            issuer: server.config().issuer(),
            endpoint,
            now: server.now(),
        };
        return assertion::verify(assertions, jwt, client, &expected).await;
    }
    #[cfg(not(feature = "jose"))]
    let _ = (server, jwt, client, endpoint);
    Ok(None)
}

/// The `client_assertion` of a request, if it has one of the known type.
fn assertion(params: &Params) -> Result<Option<&str>, OAuthError> {
    match (
        params.get("client_assertion_type")?,
        params.get("client_assertion")?,
    ) {
        (None, None) => Ok(None),
        (Some(JWT_BEARER), Some(jwt)) => Ok(Some(jwt)),
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "unsupported client_assertion_type",
        )),
        _ => Err(OAuthError::invalid_request(
            "client_assertion and client_assertion_type go together",
        )),
    }
}

/// The `sub` of an assertion, read without verifying it.
fn subject(jwt: &str) -> Option<String> {
    #[cfg(feature = "jose")]
    return assertion::subject(jwt);
    #[cfg(not(feature = "jose"))]
    {
        let _ = jwt;
        None
    }
}

impl<'a> Credentials<'a> {
    /// Reads the client credentials from the `Authorization` header and the body (C-TK-2).
    pub(crate) fn from_request(
        headers: &HeaderMap,
        params: &'a Params,
    ) -> Result<Self, OAuthError> {
        let body_id = params.get("client_id")?;
        let body_secret = params.get("client_secret")?;
        let jwt = assertion(params)?;
        let mut all = headers.get_all(AUTHORIZATION).iter();
        let header = all.next();
        if all.next().is_some() {
            return Err(OAuthError::invalid_request("repeated Authorization header"));
        }
        if let Some(header) = header {
            let basic = basic::decode(header.as_bytes())?;
            if body_secret.is_some() || jwt.is_some() {
                return Err(OAuthError::invalid_request(
                    "use only one client authentication method",
                ));
            }
            if body_id.is_some_and(|body_id| body_id != basic.id()) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the authenticated client",
                ));
            }
            return Ok(Self::Basic(basic));
        }
        if let Some(jwt) = jwt {
            if body_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "use only one client authentication method",
                ));
            }
            // A `client_id` that is not the assertion's subject names no client to check.
            let id = subject(jwt).filter(|sub| body_id.is_none_or(|id| id == sub));
            return Ok(Self::Assertion { id, jwt });
        }
        Ok(match (body_id, body_secret) {
            (Some(id), Some(secret)) => Self::Post { id, secret },
            (Some(id), None) => Self::IdOnly { id },
            (None, Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "client_secret was sent without client_id",
                ));
            }
            (None, None) => Self::Absent,
        })
    }

    /// Authenticates the client against its registration (C-TK-3). The error never says whether
    /// the id or the secret was wrong.
    pub(crate) fn verify(&self, client: Option<Client>) -> Result<Client, OAuthError> {
        let failed = || self.error(FAILED);
        let client = client.filter(|c| c.accepts_auth_method(self.method()));
        if let Some(secret) = self.secret() {
            // Hash even for an unknown client, so timing does not tell which part failed.
            #[cfg(test)]
            tests::HASHES.with(|hashes| hashes.set(hashes.get() + 1));
            let presented = Digest::of(secret);
            return match client {
                Some(c) if c.secret_digest().is_some_and(|d| d.ct_eq(&presented)) => Ok(c),
                _ => Err(failed()),
            };
        }
        match (self, client) {
            (Self::IdOnly { .. }, Some(c)) if !c.is_confidential() => Ok(c),
            _ => Err(failed()),
        }
    }

    /// `invalid_client` with `description`, and the `Basic` challenge when Basic was used.
    fn error(&self, description: &'static str) -> OAuthError {
        let error = OAuthError::invalid_client(description);
        match self {
            Self::Basic(_) => error.with_basic_challenge(),
            _ => error,
        }
    }

    /// The client secret presented, if any.
    fn secret(&self) -> Option<&str> {
        match self {
            Self::Basic(basic) => Some(basic.secret()),
            Self::Post { secret, .. } => Some(secret),
            Self::IdOnly { .. } | Self::Assertion { .. } | Self::Absent => None,
        }
    }

    /// Whether the credentials are a secret or an assertion, which the limiter guards.
    fn is_checked(&self) -> bool {
        self.secret().is_some() || matches!(self, Self::Assertion { .. })
    }

    /// The method used, as a client registers it (an assertion's is decided by the client's
    /// registration, and checked there).
    fn method(&self) -> AuthMethod {
        match self {
            Self::Basic(_) => AuthMethod::ClientSecretBasic,
            Self::Post { .. } => AuthMethod::ClientSecretPost,
            Self::Assertion { .. } => AuthMethod::PrivateKeyJwt,
            Self::IdOnly { .. } | Self::Absent => AuthMethod::None,
        }
    }

    /// The client id named by the request, if any.
    pub(crate) fn client_id(&self) -> Option<&str> {
        match self {
            Self::Basic(basic) => Some(basic.id()),
            Self::Post { id, .. } | Self::IdOnly { id } => Some(id),
            Self::Assertion { id, .. } => id.as_deref(),
            Self::Absent => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    thread_local! {
        /// How many presented secrets this thread hashed.
        pub(super) static HASHES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    // C-OB-3: once a client's failures reach the limit, an attempt naming it is refused before
    // its secret is hashed, with `invalid_client`, the Basic challenge, and a description that
    // says why; a success is not counted, and other clients are not affected.
    #[tokio::test(flavor = "current_thread")]
    async fn a_limited_attempt_hashes_nothing() {
        use std::time::Duration;

        use crate::{ClientSecret, Config, MemoryLimiter, MemoryStorage, Server};

        let config = Config::builder("https://auth.example.com")
            .limiter(MemoryLimiter::new(2, Duration::from_secs(60)))
            .build()
            .unwrap();
        let server = Server::new(config, MemoryStorage::new());
        for id in ["svc", "other"] {
            let client = Client::confidential(id, &ClientSecret::new("right-secret-of-enough"))
                .grant_types([crate::GrantType::ClientCredentials])
                .build()
                .unwrap();
            server.register_client(client).await.unwrap();
        }
        let attempt = |id: &str, secret: &str| {
            let header = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
            let request = Request::builder()
                .header(AUTHORIZATION, header)
                .body(Vec::<u8>::new())
                .unwrap();
            let server = &server;
            async move {
                let params = Params::parse(b"", 1024).unwrap();
                let before = HASHES.with(std::cell::Cell::get);
                let result = authenticate(server, &request, &params, "https://a.example/t").await;
                let hashed = HASHES.with(std::cell::Cell::get) - before;
                (result.map(|client| client.id().clone()), hashed)
            }
        };
        let right = "right-secret-of-enough";
        for _ in 0..3 {
            assert_eq!(attempt("svc", right).await.1, 1, "a success is not counted");
        }
        for _ in 0..2 {
            let (result, hashed) = attempt("svc", "wrong").await;
            assert!(result.is_err());
            assert_eq!(hashed, 1);
        }
        let (result, hashed) = attempt("svc", right).await;
        assert_eq!(hashed, 0, "the refused attempt hashed a secret");
        let Err(Failure::OAuth(error)) = result else {
            panic!("not refused: {result:?}");
        };
        assert_eq!(error.code(), crate::ErrorCode::InvalidClient);
        assert!(error.basic_challenge());
        assert_eq!(
            error.description(),
            Some("too many failed attempts, try again later")
        );
        assert_eq!(attempt("other", right).await.1, 1);
    }

    // C-SE-2: the credentials' Debug never shows the secret, however they were sent.
    #[test]
    fn credentials_debug_hides_the_secret() {
        let mut headers = HeaderMap::new();
        let header = format!("Basic {}", STANDARD.encode("svc:hunter2-basic"));
        headers.insert(AUTHORIZATION, header.parse().unwrap());
        let params = Params::parse(b"grant_type=client_credentials", 1024).unwrap();
        let basic = Credentials::from_request(&headers, &params).unwrap();
        let params = Params::parse(b"client_id=svc&client_secret=hunter2-post", 1024).unwrap();
        let post = Credentials::from_request(&HeaderMap::new(), &params).unwrap();
        for (credentials, secret) in [(basic, "hunter2-basic"), (post, "hunter2-post")] {
            let shown = format!("{credentials:?}");
            assert!(shown.contains("svc") && !shown.contains(secret), "{shown}");
        }
    }
}
