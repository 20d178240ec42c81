//! The introspection endpoint (RFC 7662): a resource server, or a client, asks whether a token
//! is active and what it grants.
//!
//! A request is a `POST` with the caller's client authentication (the same methods as the token
//! endpoint; a request without credentials, or with wrong ones, is `invalid_client`), `token`
//! and an optional `token_type_hint`.
//!
//! # Who may see what
//!
//! * Every authenticated client may introspect the tokens issued **to itself**, access and
//!   refresh tokens alike. This includes public clients, which authenticate with their
//!   `client_id` alone: they can only ask about tokens they already hold, and a 256-bit token
//!   cannot be guessed, so this opens no token-scanning attack (RFC 7662 §4).
//! * A client registered with
//!   [`ClientBuilder::introspects_any_token`](crate::ClientBuilder::introspects_any_token) (a
//!   resource server; confidential clients only) may also introspect the **access tokens** of
//!   other clients. Never their refresh tokens: a refresh token is only ever presented by the
//!   client it was issued to, and a resource server that got one presented as a bearer token
//!   must not be told it is active.
//! * Everything else — unknown, expired, revoked or rotated tokens, and tokens the caller may
//!   not see — is answered with exactly `{"active":false}`, so a caller cannot tell a token it
//!   may not see from one that does not exist (RFC 7662 §2.2).
//!
//! # The active response
//!
//! `active`, `scope`, `client_id`, `token_type` (the access token's type, `Bearer` or `DPoP`;
//! `refresh_token` for refresh tokens), `cnf` for a token bound to a key (RFC 7800), `exp`,
//! `iat`, `iss`, `aud` (the resources the token is for, RFC 8707), `act` for a delegated token
//! (its actor, RFC 8693 §4.1), and `sub`: the resource owner's [`OwnerId`]. App tokens
//! (client credentials) have no owner and no `sub`, so a resource server can tell them from user
//! tokens. grantor knows no human-readable user name, so `username` is never sent.
//!
//! [`OwnerId`]: crate::OwnerId

use http::{Request, Response, StatusCode};
use serde::Serialize;

use crate::client::Client;
use crate::client_auth;
use crate::endpoint::presented::{self, Presented, TokenKind};
use crate::endpoint::token::parse;
use crate::endpoint::{failure_json, json};
use crate::error::Failure;
use crate::server::Server;
use crate::storage::{Actor, Storage, TokenRecord};
use crate::token::Confirmation;

/// Answers an introspection request: the token's state as JSON, or the RFC error.
pub(crate) async fn respond<S: Storage, B: AsRef<[u8]>>(
    server: &Server<S>,
    request: &Request<B>,
) -> Response<Vec<u8>> {
    match handle(server, request).await {
        Ok(body) => json(StatusCode::OK, &body),
        Err(failure) => failure_json(server.config(), failure, "introspect", request),
    }
}

async fn handle<S: Storage, B: AsRef<[u8]>>(
    server: &Server<S>,
    request: &Request<B>,
) -> Result<serde_json::Value, Failure> {
    let params = parse(server.config(), request)?;
    let storage = server.storage();
    let endpoint = server.config().introspection_endpoint();
    let client = client_auth::authenticate(server, request, &params, endpoint).await?;
    crate::observe::client(client.id().as_str());
    Ok(
        match presented::find(storage, &params, server.now()).await? {
            Presented::Live { kind, record, .. } if may_see(&client, kind, &record) => {
                active(kind, &record, server.config().issuer())
            }
            _ => serde_json::json!({ "active": false }),
        },
    )
}

/// Whether `client` may learn about a token: its own, or any access token for a client with the
/// permission.
fn may_see(client: &Client, kind: TokenKind, record: &TokenRecord) -> bool {
    record.client_id == *client.id()
        || (kind == TokenKind::Access && client.introspects_any_token())
}

/// A token's `aud`: its one resource as a string, several as an array (RFC 7519 §4.1.3).
#[derive(Serialize)]
#[serde(untagged)]
enum Audience<'a> {
    One(&'a str),
    Many(&'a [String]),
}

/// The response for an active token (RFC 7662 §2.2).
fn active(kind: TokenKind, record: &TokenRecord, issuer: &str) -> serde_json::Value {
    #[derive(Serialize)]
    struct Active<'a> {
        active: bool,
        #[serde(skip_serializing_if = "String::is_empty")]
        scope: String,
        client_id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        sub: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        aud: Option<Audience<'a>>,
        token_type: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        cnf: Option<&'a Confirmation>,
        #[serde(skip_serializing_if = "Option::is_none")]
        act: Option<&'a Actor>,
        exp: u64,
        iat: u64,
        iss: &'a str,
    }
    serde_json::to_value(Active {
        active: true,
        scope: record.scope.to_string(),
        client_id: record.client_id.as_str(),
        sub: record.owner.as_ref().map(|owner| owner.as_str()),
        aud: match &record.resources[..] {
            [] => None,
            [one] => Some(Audience::One(one)),
            many => Some(Audience::Many(many)),
        },
        token_type: match kind {
            TokenKind::Access => record.token_type().as_str(),
            TokenKind::Refresh => "refresh_token",
        },
        cnf: record.confirmation.as_ref(),
        act: record.actor.as_deref(),
        exp: record.expires_at.as_secs(),
        iat: record.issued_at.as_secs(),
        iss: issuer,
    })
    .unwrap_or_else(|_| serde_json::json!({ "active": false }))
}
