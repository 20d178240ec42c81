//! A token presented to the revocation or introspection endpoint (RFC 7009 §2.1, RFC 7662 §2.1):
//! the `token` and `token_type_hint` parameters, and the search for the token's record.
//!
//! Whatever its format, an access token is found by the SHA-256 digest of its text, and a
//! refresh token is the exchange record of its digest. The hint only decides where to look
//! first: a token not found where the hint points is looked for among the other types too
//! (RFC 7009 §2.1 requires it), and a hint grantor does not know is ignored, as both RFCs allow.

use std::sync::Arc;

use crate::error::Failure;
use crate::form::Params;
use crate::storage::{ExchangeKind, Storage, TokenRecord};
use crate::time::Timestamp;
use crate::token::{Digest, GrantId};

/// The kinds of token grantor can find by their secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// An access token.
    Access,
    /// A refresh token.
    Refresh,
}

/// What a presented token turned out to be.
#[derive(Debug)]
pub(crate) enum Presented {
    /// A live token.
    Live {
        kind: TokenKind,
        digest: Digest,
        record: Arc<TokenRecord>,
    },
    /// A refresh token that was already rotated: presenting it is a replay.
    Rotated(GrantId),
    /// Unknown, expired or revoked.
    Unknown,
}

/// Finds the token named by the `token` parameter (required: `invalid_request` without it),
/// looking first where `token_type_hint` points.
pub(crate) async fn find<S: Storage>(
    storage: &S,
    params: &Params,
    now: Timestamp,
) -> Result<Presented, Failure> {
    let digest = Digest::of(params.require("token")?);
    let order = match params.get("token_type_hint")? {
        Some("refresh_token") => [TokenKind::Refresh, TokenKind::Access],
        _ => [TokenKind::Access, TokenKind::Refresh],
    };
    for kind in order {
        let found = match kind {
            TokenKind::Access => storage.access_token(&digest, now).await?,
            TokenKind::Refresh => {
                let Some(record) = storage.record(ExchangeKind::REFRESH_TOKEN, &digest).await?
                else {
                    continue;
                };
                if record.spent {
                    return Ok(Presented::Rotated(record.grant));
                }
                let token = record.data.get::<TokenRecord>()?;
                record.is_live(now).then(|| Arc::new(token.into_owned()))
            }
        };
        if let Some(record) = found {
            return Ok(Presented::Live {
                kind,
                digest,
                record,
            });
        }
    }
    Ok(Presented::Unknown)
}
