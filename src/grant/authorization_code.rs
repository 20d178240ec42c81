//! The authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636).
//!
//! A code is an exchange record of kind [`ExchangeKind::CODE`], redeemed through storage's
//! exactly-once step. Any failed redemption — wrong client, wrong `redirect_uri`, wrong or
//! missing `code_verifier` — spends the code all the same: a code that was presented with the
//! wrong proof may have been stolen, and a legitimate client never needs a second try
//! (RFC 9700 §2.1.1). A code presented after it was spent revokes every token issued from it
//! (RFC 6749 §4.1.2, §10.5); the spent code is kept as long as those tokens live, so that a
//! late replay still does.

use std::borrow::Cow;

use crate::BoxFuture;
use crate::client::{Client, GrantType};
use crate::error::{Failure, OAuthError};
use crate::grant::{Grant, GrantContext, Issue, unusable};
use crate::storage::{CodeRecord, Decision, ExchangeKind, Storage};
use crate::token::{Confirmation, TokenResponse};

/// The `authorization_code` grant: exchanges a code from the authorization endpoint for tokens
/// (C-TK-4, C-TK-5, C-PK-3, C-PK-4), with a refresh token when the configuration issues them.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthorizationCodeGrant;

impl<S: Storage> Grant<S> for AuthorizationCodeGrant {
    fn grant_type(&self) -> GrantType {
        GrantType::AuthorizationCode
    }

    fn exchange<'a>(
        &'a self,
        ctx: GrantContext<'a, S>,
    ) -> BoxFuture<'a, Result<TokenResponse, Failure>> {
        Box::pin(async move {
            let code = ctx.require("code")?;
            let redirect_uri = ctx.param("redirect_uri")?;
            let verifier = ctx.param("code_verifier")?;
            let with_refresh = ctx.config().issue_refresh_tokens;
            let client = ctx.client();
            let requested = ctx.requested_resources();
            ctx.redeem(ExchangeKind::CODE, code, |record, minter| {
                if let Some(decision) = unusable(record, minter.now()) {
                    return Ok(decision);
                }
                let code: Cow<'_, CodeRecord> = record.data.get()?;
                if let Err(error) = check(&code, client, redirect_uri, verifier)
                    .and_then(|()| check_key(&code, minter.proof()))
                {
                    return Ok(Decision::refuse(error).with_record(record.spend(record.expires_at)));
                }
                // C-RI-1: the token request may narrow the code's resources, never widen them;
                // a request that tries is refused and the code stays redeemable.
                let resources =
                    match minter
                        .config()
                        .resources
                        .narrow(client, &code.resources, &requested)
                    {
                        Ok(resources) => resources,
                        Err(error) => return Ok(Decision::refuse(error)),
                    };
                let mut issue = Issue::user(code.owner.clone(), code.scope.clone())
                    .for_resources(resources)
                    .refresh_resources(code.resources.clone())
                    .in_grant(record.grant)
                    .with_refresh_token(with_refresh);
                if let Some(context) = &code.openid {
                    // C-OI-1: the code of an OpenID request is exchanged for an ID token too.
                    issue = issue.with_openid(context.clone());
                }
                let tokens = minter.issue(issue)?;
                // Kept as long as its tokens, so that a late replay still revokes them.
                let kept = tokens.expires_at();
                Ok(Decision::issue(tokens).with_record(record.spend(kept)))
            })
            .await
        })
    }
}

/// Checks a code bound to a DPoP key (`dpop_jkt`) against the key the token request proved
/// (C-DP-3).
fn check_key(record: &CodeRecord, proof: Option<&Confirmation>) -> Result<(), OAuthError> {
    match &record.dpop_jkt {
        Some(jkt) if proof.and_then(Confirmation::jkt) != Some(jkt.as_str()) => Err(
            OAuthError::invalid_grant("the authorization code is bound to another DPoP key"),
        ),
        _ => Ok(()),
    }
}

/// Checks a presented code's binding to client, redirect URI and PKCE challenge.
fn check(
    record: &CodeRecord,
    client: &Client,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<(), OAuthError> {
    if record.client_id != *client.id() {
        return Err(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        ));
    }
    let redirect_matches = match redirect_uri {
        Some(sent) => sent == record.redirect_uri,
        None => !record.redirect_uri_sent,
    };
    if !redirect_matches {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&record.challenge, verifier) {
        (Some(challenge), Some(verifier)) if challenge.verify(verifier) => Ok(()),
        (Some(_), Some(_)) => Err(OAuthError::invalid_grant("code_verifier is invalid")),
        (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is required")),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier was sent for a code issued without code_challenge",
        )),
        (None, None) => Ok(()),
    }
}
