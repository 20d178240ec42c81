//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2).
//!
//! A refresh token is an exchange record of kind [`ExchangeKind::REFRESH_TOKEN`], used through
//! storage's exactly-once step: each use issues a new refresh token (when rotation is on, the
//! default, and always for public clients) and spends the one presented; a spent token
//! presented again revokes the whole grant family (C-TK-11). A request the grant refuses
//! (another client's token, a wider scope) changes nothing.
//!
//! The new access token may have a narrower scope than the original grant; the new refresh
//! token keeps the original scope (§6), so the client can later ask for the rest again. Each
//! rotation gives the new refresh token a full refresh-token lifetime. Tokens bound to a key
//! (`cnf`) stay bound to it through every refresh.

use std::borrow::Cow;

use crate::BoxFuture;
use crate::client::GrantType;
use crate::error::{Failure, OAuthError};
use crate::grant::{Grant, GrantContext, Issue, unusable};
use crate::storage::{Decision, ExchangeKind, Storage, TokenRecord};
use crate::token::TokenResponse;

/// The `refresh_token` grant: exchanges a refresh token for new tokens of the same grant
/// (C-TK-10, C-TK-11).
#[derive(Debug, Clone, Copy, Default)]
pub struct RefreshTokenGrant;

impl<S: Storage> Grant<S> for RefreshTokenGrant {
    fn grant_type(&self) -> GrantType {
        GrantType::RefreshToken
    }

    fn exchange<'a>(
        &'a self,
        ctx: GrantContext<'a, S>,
    ) -> BoxFuture<'a, Result<TokenResponse, Failure>> {
        Box::pin(async move {
            let token = ctx.require("refresh_token")?;
            let requested = ctx.requested_scope()?;
            let client = ctx.client();
            let always = &ctx.config().always_granted_scopes;
            // Public clients' refresh tokens always rotate: they are not sender-constrained, so
            // rotation is their only replay detection (RFC 9700 §4.14.2).
            let rotate = ctx.config().rotate_refresh_tokens || !client.is_confidential();
            let requested_resources = ctx.requested_resources();
            ctx.redeem(ExchangeKind::REFRESH_TOKEN, token, |record, minter| {
                if let Some(decision) = unusable(record, minter.now()) {
                    return Ok(decision);
                }
                let old: Cow<'_, TokenRecord> = record.data.get()?;
                if old.client_id != *client.id() {
                    return Ok(Decision::refuse(OAuthError::invalid_grant(
                        "the refresh token was issued to another client",
                    )));
                }
                let scope = match &requested {
                    None => old.scope.clone(),
                    Some(requested) if old.scope.satisfies_all(requested) => match old.owner {
                        Some(_) => requested.union(always),
                        None => requested.clone(),
                    },
                    Some(_) => {
                        return Ok(Decision::refuse(OAuthError::invalid_scope(
                            "the requested scope exceeds the scope originally granted",
                        )));
                    }
                };
                // C-RI-1: a refresh may narrow the grant's resources, never widen them; the new
                // refresh token keeps them all. A refused request changes nothing.
                let resources = match minter.config().resources.narrow(
                    client,
                    &old.resources,
                    &requested_resources,
                ) {
                    Ok(resources) => resources,
                    Err(error) => return Ok(Decision::refuse(error)),
                };
                let mut issue = Issue::new(old.owner.clone(), scope)
                    .refresh_scope(old.scope.clone())
                    .for_resources(resources)
                    .refresh_resources(old.resources.clone())
                    .in_grant(record.grant)
                    .with_refresh_token(rotate);
                // A bound grant stays bound: its new tokens are bound to the same key.
                if let Some(confirmation) = &old.confirmation {
                    issue = issue.bound_to(confirmation.clone());
                }
                // C-OI-6: an OpenID grant's new ID token tells the original authentication,
                // without the nonce, which belonged to the first one.
                if let Some(context) = &old.openid {
                    issue = issue.with_openid(context.without_nonce());
                }
                let tokens = minter.issue(issue)?;
                let rotated = tokens.refresh.is_some();
                let decision = Decision::issue(tokens);
                Ok(if rotated {
                    decision.with_record(record.spend(record.expires_at))
                } else {
                    decision
                })
            })
            .await
        })
    }
}
