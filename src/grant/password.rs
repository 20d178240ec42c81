//! The resource-owner password credentials grant (RFC 6749 §4.3), for clients given that
//! permission only. The client collects the user's password, so new apps should use the code
//! grant with PKCE instead (RFC 9700 §2.4 says this grant MUST NOT be used).
//!
//! Credentials are checked by the host's [`Authenticator`]; an unknown user and a wrong password
//! get the same `invalid_grant`, so the answer never tells which field was wrong (C-TK-8).

use crate::BoxFuture;
use crate::audit::{AuditEvent, AuditKind};
use crate::authenticator::{Authenticator, Password};
use crate::client::GrantType;
use crate::error::{Failure, OAuthError};
use crate::grant::{Grant, GrantContext, Issue};
use crate::limit::{self, Check, LimitKey};
use crate::storage::Storage;
use crate::token::TokenResponse;

/// The `password` grant, checking owners' credentials with an [`Authenticator`]. A server has
/// it only when given one
/// ([`ServerBuilder::authenticator`](crate::ServerBuilder::authenticator)).
#[derive(Debug, Clone, Default)]
pub struct PasswordGrant<A> {
    authenticator: A,
}

impl<A: Authenticator> PasswordGrant<A> {
    /// The grant, checking passwords with `authenticator`.
    pub fn new(authenticator: A) -> Self {
        Self { authenticator }
    }

    /// The authenticator.
    pub fn authenticator(&self) -> &A {
        &self.authenticator
    }
}

/// The one answer for every refused owner: unknown user, wrong password, or not the owner of
/// an owner-only client (C-TK-8).
fn refused() -> OAuthError {
    OAuthError::invalid_grant("invalid resource owner credentials")
}

impl<S: Storage, A: Authenticator> Grant<S> for PasswordGrant<A> {
    fn grant_type(&self) -> GrantType {
        GrantType::Password
    }

    fn exchange<'a>(
        &'a self,
        ctx: GrantContext<'a, S>,
    ) -> BoxFuture<'a, Result<TokenResponse, Failure>> {
        Box::pin(async move {
            let username = ctx.require("username")?;
            let password = ctx.require("password")?;
            let scope = ctx.user_scope()?;
            let resources = ctx.resources()?;
            // C-OB-3: the password is checked only when the limiter allows it; a refusal
            // reaches no authenticator, so no hash.
            let config = ctx.config();
            let limited = match &config.limiter {
                Some(limiter) => {
                    let account = LimitKey::Account(username.to_owned());
                    let keys = limit::keys(account, ctx.extensions());
                    if !limiter.allow(Check::Password, &keys, ctx.now()).await? {
                        config.audit(|| {
                            let kind = AuditKind::AttemptLimited {
                                check: Check::Password,
                            };
                            AuditEvent::new(kind, ctx.now()).client(ctx.client().id())
                        });
                        return Err(OAuthError::invalid_grant(limit::REFUSED).into());
                    }
                    Some((limiter, keys))
                }
                None => None,
            };
            let Some(owner) = self
                .authenticator
                .authenticate(username, Password::new(password))
                .await?
            else {
                if let Some((limiter, keys)) = limited {
                    limiter.failed(Check::Password, &keys, ctx.now()).await?;
                }
                config.audit(|| {
                    let kind = AuditKind::PasswordCheckFailed {
                        username: username.to_owned(),
                    };
                    AuditEvent::new(kind, ctx.now()).client(ctx.client().id())
                });
                return Err(refused().into());
            };
            let client = ctx.client();
            if client.is_owner_only() && client.owner() != Some(&owner) {
                // C-SC-5: only the client's owner may authorize it. The answer is the same as
                // for a wrong password, or the client's developer could test other users'
                // passwords.
                return Err(refused().into());
            }
            let with_refresh = ctx.config().issue_refresh_tokens;
            let issue = Issue::user(owner, scope)
                .for_resources(resources)
                .with_refresh_token(with_refresh);
            ctx.issue(issue).await
        })
    }
}
