//! The revocation endpoint (RFC 7009): a client tells the server it no longer needs a token, for
//! example when its user logs out.
//!
//! A request is a `POST` with the client's authentication (the same methods as the token
//! endpoint), `token` and an optional `token_type_hint`. The checks run in the RFC's order: the
//! request's form, then the client's credentials, then the token.
//!
//! # Decisions
//!
//! * **Unknown tokens:** answered `200` like revoked ones (RFC 7009 §2.2): tokens that are
//!   unknown, expired, already revoked or (refresh tokens) already rotated need no revoking, and
//!   a client that gets `200` may discard its copy.
//! * **Another client's token:** refused with `400 unauthorized_client`. RFC 7009 §2.1 says the
//!   server "verifies whether the token was issued to the client making the revocation request.
//!   If this validation fails, the request is refused and the client is informed of the error",
//!   in the error format of RFC 6749 §5.2. Of that section's codes, `unauthorized_client` ("the
//!   authenticated client is not authorized …") is the one that describes an authenticated
//!   client asking for something it may not do; `invalid_client` would wrongly tell it that its
//!   credentials failed. Nothing is revoked. The answer reveals that the token exists, but only
//!   to a caller who already holds the token itself.
//! * **A refresh token** revokes its whole grant: every access token issued under the same
//!   authorization and every refresh token of its rotation chain (RFC 7009 §2.1 SHOULD).
//! * **An access token** revokes that access token only, not the refresh token of its grant.
//!   RFC 7009 leaves this open ("MAY"). A client that revokes an access token (say, one it
//!   handed to a component it no longer trusts) still holds the refresh token and can expect it
//!   to work; a client that wants the whole authorization gone revokes the refresh token, which
//!   is what logout does. Revoking more than asked would make the two requests impossible to
//!   tell apart.
//! * **A refresh token that was already rotated** is a replay: its successor may be in a
//!   thief's hands, so the whole grant is revoked, as the token endpoint does (RFC 9700 §4.14.2).
//! * `unsupported_token_type` is never returned: grantor revokes both kinds of token it issues.

use http::header::{CACHE_CONTROL, HeaderValue};
use http::{Request, Response};

use crate::audit::{AuditEvent, AuditKind};
use crate::client_auth;
use crate::endpoint::failure_json;
use crate::endpoint::presented::{self, Presented, TokenKind};
use crate::endpoint::token::parse;
use crate::error::{Failure, OAuthError};
use crate::server::Server;
use crate::storage::Storage;

/// Answers a revocation request: `200` with an empty body, or the RFC error as JSON.
pub(crate) async fn respond<S: Storage, B: AsRef<[u8]>>(
    server: &Server<S>,
    request: &Request<B>,
) -> Response<Vec<u8>> {
    match handle(server, request).await {
        Ok(()) => {
            let mut response = Response::new(Vec::new());
            response
                .headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(failure) => failure_json(server.config(), failure, "revoke", request),
    }
}

async fn handle<S: Storage, B: AsRef<[u8]>>(
    server: &Server<S>,
    request: &Request<B>,
) -> Result<(), Failure> {
    let params = parse(server.config(), request)?;
    let storage = server.storage();
    let endpoint = server.config().revocation_endpoint();
    let client = client_auth::authenticate(server, request, &params, endpoint).await?;
    crate::observe::client(client.id().as_str());
    match presented::find(storage, &params, server.now()).await? {
        Presented::Live {
            kind,
            digest,
            record,
        } => {
            if record.client_id != *client.id() {
                return Err(OAuthError::unauthorized_client(
                    "the token was not issued to this client",
                )
                .into());
            }
            match kind {
                TokenKind::Access => storage.revoke_access_token(&digest).await?,
                TokenKind::Refresh => storage.revoke_grant(&record.grant).await?,
            }
            server.config().audit(|| {
                let refresh = matches!(kind, TokenKind::Refresh);
                AuditEvent::new(AuditKind::TokenRevoked { refresh }, server.now())
                    .client(client.id())
                    .owner(record.owner.as_ref())
                    .grant(Some(record.grant))
            });
        }
        // A refresh token that was already rotated is not live, but presenting it is a replay:
        // someone else may hold its successor (a thief who refreshed first). As at the token
        // endpoint, the whole grant is revoked (RFC 9700 §4.14.2).
        Presented::Rotated(grant) => {
            storage.revoke_grant(&grant).await?;
            server.config().audit(|| {
                AuditEvent::new(AuditKind::ReplayDetected, server.now())
                    .client(client.id())
                    .grant(Some(grant))
            });
        }
        Presented::Unknown => {}
    }
    Ok(())
}
