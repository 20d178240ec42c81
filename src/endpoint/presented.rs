//! A token presented to the revocation or introspection endpoint (RFC 7009 §2.1, RFC 7662 §2.1):
//! the `token` and `token_type_hint` parameters, and the search for the token's live record.
//!
//! The hint only decides where to look first: a token not found where the hint points is looked
//! for among the other types too (RFC 7009 §2.1 requires it), and a hint grantor does not know is
//! ignored, as both RFCs allow.

use std::sync::Arc;

use crate::error::Failure;
use crate::form::Params;
use crate::server::Server;
use crate::storage::{Storage, TokenRecord};
use crate::token::Digest;

/// The kinds of token grantor can find by their secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// An access token.
    Access,
    /// A refresh token.
    Refresh,
}

/// A live token found by the secret a client presented.
#[derive(Debug)]
pub(crate) struct Found {
    pub(crate) kind: TokenKind,
    pub(crate) digest: Digest,
    pub(crate) record: Arc<TokenRecord>,
}

/// Finds the live token named by the `token` parameter (required: `invalid_request` without it),
/// looking first where `token_type_hint` points. `None` for a token that is unknown, expired,
/// revoked or (for a refresh token) already rotated.
pub(crate) async fn find<S: Storage, A>(
    server: &Server<S, A>,
    params: &Params,
) -> Result<Option<Found>, Failure> {
    let digest = Digest::of(params.require("token")?);
    let order = match params.get("token_type_hint")? {
        Some("refresh_token") => [TokenKind::Refresh, TokenKind::Access],
        _ => [TokenKind::Access, TokenKind::Refresh],
    };
    let storage = server.storage();
    let now = server.now();
    for kind in order {
        let record = match kind {
            TokenKind::Access => storage.access_token(&digest, now).await?,
            TokenKind::Refresh => storage.refresh_token(&digest, now).await?.map(Arc::new),
        };
        if let Some(record) = record {
            return Ok(Some(Found {
                kind,
                digest,
                record,
            }));
        }
    }
    Ok(None)
}
