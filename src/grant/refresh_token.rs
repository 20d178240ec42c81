//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2).
//!
//! A refresh token moves Active → Rotated exactly once, inside
//! [`Storage::rotate_refresh_token`]: each use issues a new refresh token (when rotation is on,
//! the default, and always for public clients), and a rotated token presented again revokes the whole grant family (C-TK-11).
//! A request the grant refuses (another client's token, a wider scope) changes nothing.
//!
//! The new access token may have a narrower scope than the original grant; the new refresh
//! token keeps the original scope (§6), so the client can later ask for the rest again. Each
//! rotation gives the new refresh token a full refresh-token lifetime.

use crate::client::Client;
use crate::error::{Failure, OAuthError};
use crate::form::Params;
use crate::grant::{Secrets, Subject, TokenResponse, scope_param, settle};
use crate::server::Server;
use crate::storage::Storage;
use crate::token::Digest;

/// Exchanges a refresh token for new tokens (C-TK-10, C-TK-11).
pub(crate) async fn exchange<S: Storage, A>(
    server: &Server<S, A>,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, Failure> {
    let token = params.require("refresh_token")?;
    let requested = scope_param(params, client)?;
    let config = server.config();
    // Public clients' refresh tokens always rotate: they are not sender-constrained, so
    // rotation is their only replay detection (RFC 9700 §4.14.2).
    let secrets = Secrets::mint(config.rotate_refresh_tokens || !client.is_confidential());
    let now = server.now();
    let mut granted = None;
    let outcome = server
        .storage()
        .rotate_refresh_token(&Digest::of(token), now, |record| {
            if record.client_id != *client.id() {
                return Err(OAuthError::invalid_grant(
                    "the refresh token was issued to another client",
                ));
            }
            let scope = match &requested {
                None => record.scope.clone(),
                Some(requested) if record.scope.satisfies_all(requested) => match record.owner {
                    Some(_) => requested.union(&config.always_granted_scopes),
                    None => requested.clone(),
                },
                Some(_) => {
                    return Err(OAuthError::invalid_scope(
                        "the requested scope exceeds the scope originally granted",
                    ));
                }
            };
            let subject = Subject {
                refresh_scope: &record.scope,
                ..Subject::new(
                    record.grant,
                    &record.client_id,
                    record.owner.as_ref(),
                    &scope,
                )
            };
            let (tokens, issued) = secrets.issue(&subject, config, now);
            granted = Some(issued);
            Ok(tokens)
        })
        .await?;
    settle(server, outcome, secrets, granted, "refresh token").await
}
