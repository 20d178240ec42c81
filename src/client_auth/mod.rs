//! Client authentication (RFC 6749 §2.3): how a request to the token, revocation or
//! introspection endpoint proves which client sent it.
//!
//! Each method is read here from the request, and only one may be used per request (C-TK-2):
//! HTTP Basic ([`basic`]), `client_id` and `client_secret` in the body, or a public client's
//! `client_id` alone. Verification runs the same for every endpoint; it never tells which part
//! of the credentials was wrong (C-TK-3), and it hashes a presented secret even for an unknown
//! client, so that timing does not tell either.

pub(crate) mod basic;

use std::fmt;

use http::header::AUTHORIZATION;
use http::{HeaderMap, Request};

use crate::audit::{AuditEvent, AuditKind};
use crate::client::Client;
use crate::error::{Failure, OAuthError};
use crate::form::Params;
use crate::limit::{self, Check, LimitKey};
use crate::server::Server;
use crate::storage::Storage;
use crate::token::Digest;

/// The `token_endpoint_auth_methods_supported` of the metadata (RFC 8414 §2): the methods this
/// module reads, by their registered names.
pub(crate) const METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];

/// How a request identified its client. Borrows from the parsed body; its `Debug` never shows
/// the secret.
pub(crate) enum Credentials<'a> {
    /// HTTP Basic (`client_secret_basic`).
    Basic(basic::BasicCredentials),
    /// `client_id` and `client_secret` in the body (`client_secret_post`).
    Post { id: &'a str, secret: &'a str },
    /// Only `client_id` in the body: a public client (`none`).
    IdOnly { id: &'a str },
    /// Nothing at all.
    Absent,
}

impl fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic(basic) => basic.fmt(f),
            Self::Post { id, .. } => write!(f, "Post({id:?}, <redacted>)"),
            Self::IdOnly { id } => write!(f, "IdOnly({id:?})"),
            Self::Absent => f.write_str("Absent"),
        }
    }
}

/// Authenticates the client of a token, revocation, introspection or device authorization
/// request (C-TK-2, C-TK-3). A failure is reported to the audit sink (C-OB-2).
pub(crate) async fn authenticate<S: Storage, B>(
    server: &Server<S>,
    request: &Request<B>,
    params: &Params,
) -> Result<Client, Failure> {
    let config = server.config();
    let credentials = Credentials::from_request(request.headers(), params)?;
    // C-OB-3: a secret is checked only when the limiter allows it; a refusal hashes nothing.
    let limited = match (
        &config.limiter,
        credentials.secret(),
        credentials.client_id(),
    ) {
        (Some(limiter), Some(_), Some(id)) => {
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
    match credentials.verify(client) {
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

impl<'a> Credentials<'a> {
    /// Reads the client credentials from the `Authorization` header and the body (C-TK-2).
    pub(crate) fn from_request(
        headers: &HeaderMap,
        params: &'a Params,
    ) -> Result<Self, OAuthError> {
        let body_id = params.get("client_id")?;
        let body_secret = params.get("client_secret")?;
        let mut all = headers.get_all(AUTHORIZATION).iter();
        let header = all.next();
        if all.next().is_some() {
            return Err(OAuthError::invalid_request("repeated Authorization header"));
        }
        if let Some(header) = header {
            let basic = basic::decode(header.as_bytes())?;
            if body_secret.is_some() {
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
        let failed = || self.error("client authentication failed");
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
            Self::IdOnly { .. } | Self::Absent => None,
        }
    }

    /// The client id named by the request, if any.
    pub(crate) fn client_id(&self) -> Option<&str> {
        match self {
            Self::Basic(basic) => Some(basic.id()),
            Self::Post { id, .. } | Self::IdOnly { id } => Some(id),
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
                let result = authenticate(server, &request, &params).await;
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
