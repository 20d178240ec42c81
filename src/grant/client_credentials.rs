//! The client credentials grant (RFC 6749 §4.4): a confidential client gets an *app token* for
//! itself. App tokens have no owner, which is how routes tell them from user tokens (C-SC-4).
//! No refresh token unless configured (§4.4.3, C-TK-9), and always-granted scopes, which are
//! for user tokens, are not added.

use crate::BoxFuture;
use crate::client::GrantType;
use crate::error::{Failure, OAuthError};
use crate::grant::{Grant, GrantContext, Issue};
use crate::storage::Storage;
use crate::token::TokenResponse;

/// The `client_credentials` grant: an app token for an authenticated confidential client.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientCredentialsGrant;

impl<S: Storage> Grant<S> for ClientCredentialsGrant {
    fn grant_type(&self) -> GrantType {
        GrantType::ClientCredentials
    }

    fn exchange<'a>(
        &'a self,
        ctx: GrantContext<'a, S>,
    ) -> BoxFuture<'a, Result<TokenResponse, Failure>> {
        Box::pin(async move {
            if !ctx.client().is_confidential() {
                return Err(OAuthError::unauthorized_client(
                    "the client credentials grant is for confidential clients only",
                )
                .into());
            }
            let scope = ctx.app_scope()?;
            let resources = ctx.resources()?;
            let with_refresh = ctx.config().refresh_tokens_for_client_credentials;
            let issue = Issue::app(scope)
                .for_resources(resources)
                .with_refresh_token(with_refresh);
            ctx.issue(issue).await
        })
    }
}
