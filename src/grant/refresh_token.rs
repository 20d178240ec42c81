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
//!
//! With the refresh grace window configured
//! ([`ConfigBuilder::refresh_grace_period`](crate::ConfigBuilder::refresh_grace_period),
//! C-RG-1), a rotated token presented again by its own client shortly after its rotation is
//! answered with fresh tokens of the same family instead, a limited number of times: the spent
//! record keeps when it was rotated and how many such answers it has had ([`Rotation`]), and
//! the decision is taken inside the same exactly-once step, so racing requests on several
//! instances count every answer.

use std::borrow::Cow;

use crate::BoxFuture;
use crate::client::Client;
use crate::client::GrantType;
use crate::error::{Failure, OAuthError};
use crate::grant::{Grant, GrantContext, Issue, unusable};
use crate::storage::{
    Decision, ExchangeKind, ExchangeRecord, RecordData, Rotation, Storage, TokenRecord,
};
use crate::time::Timestamp;
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
            let grace = Grace {
                period: ctx.config().refresh_grace_period,
                retries: ctx.config().refresh_grace_retries,
            };
            ctx.redeem(ExchangeKind::REFRESH_TOKEN, token, |record, minter| {
                let now = minter.now();
                // C-RG-1: a spent token within the grace window is answered once more; any
                // other spent token is a replay (C-TK-11).
                let retry = match grace.retry(record, client, now)? {
                    Some(rotation) => Some(rotation),
                    None => {
                        if let Some(decision) = unusable(record, now) {
                            return Ok(decision);
                        }
                        None
                    }
                };
                let old: Cow<'_, TokenRecord> = record.data.get()?;
                if old.client_id != *client.id() {
                    return Ok(Decision::refuse(OAuthError::invalid_grant(
                        "the refresh token was issued to another client",
                    )));
                }
                // C-DP-1: a public client's bound refresh token is used only with a proof by its
                // key (RFC 9449 §5); a confidential client, which authenticates, may bind the
                // new tokens to the key of a new proof.
                let bound = old.confirmation.as_ref();
                if bound.is_some() && !client.is_confidential() && bound != minter.proof() {
                    return Ok(Decision::refuse(OAuthError::invalid_grant(
                        "the refresh token is bound to a DPoP key this request did not prove",
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
                    .refresh_resources(old.resources.to_vec())
                    .in_grant(record.grant)
                    .with_refresh_token(rotate);
                // A bound grant stays bound: without a new proof, to the same key.
                if let (Some(bound), None) = (bound, minter.proof()) {
                    issue = issue.bound_to(bound.clone());
                }
                // C-OI-6: an OpenID grant's new ID token tells the original authentication,
                // without the nonce, which belonged to the first one.
                if let Some(context) = &old.openid {
                    issue = issue.with_openid(context.without_nonce());
                }
                let tokens = minter.issue(issue)?;
                let rotated = tokens.refresh.is_some();
                let decision = Decision::issue(tokens);
                let mut data = old.into_owned();
                Ok(match retry {
                    // The token stays spent, with one more grace answer counted.
                    Some(rotation) => {
                        data.rotation = Some(Box::new(Rotation {
                            retries: rotation.retries.saturating_add(1),
                            ..rotation
                        }));
                        decision.with_record(record.with_data(RecordData::new(data)))
                    }
                    None if rotated => {
                        data.rotation = Some(Box::new(Rotation::new(now)));
                        decision.with_record(
                            record
                                .spend(record.expires_at)
                                .with_data(RecordData::new(data)),
                        )
                    }
                    None => decision,
                })
            })
            .await
        })
    }
}

/// The refresh grace window as configured (C-RG-1).
#[derive(Debug, Clone, Copy)]
struct Grace {
    period: Option<std::time::Duration>,
    retries: u32,
}

impl Grace {
    /// The rotation of a spent refresh token that may be answered once more: presented by the
    /// client it was issued to, unexpired, within the window after its rotation, with fewer
    /// than the allowed answers so far. `None` for any other record.
    fn retry(
        &self,
        record: &ExchangeRecord,
        client: &Client,
        now: Timestamp,
    ) -> Result<Option<Rotation>, crate::Error> {
        let Some(period) = self.period else {
            return Ok(None);
        };
        if !record.spent || now >= record.expires_at {
            return Ok(None);
        }
        let data: Cow<'_, TokenRecord> = record.data.get()?;
        Ok(data.rotation.as_deref().copied().filter(|rotation| {
            data.client_id == *client.id()
                && now < rotation.at.after(period)
                && rotation.retries < self.retries
        }))
    }
}
