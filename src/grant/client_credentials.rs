//! The client credentials grant (RFC 6749 §4.4): a confidential client gets an *app token* for
//! itself. App tokens have no owner, which is how routes tell them from user tokens (C-SC-4).
//! No refresh token unless configured (§4.4.3, C-TK-9), and always-granted scopes, which are
//! for user tokens, are not added.

use crate::client::{Client, GrantType};
use crate::error::{Failure, OAuthError};
use crate::form::Params;
use crate::grant::{TokenResponse, issue_new_grant, scope_param};
use crate::scope::ScopeSet;
use crate::server::Server;
use crate::storage::Storage;

/// Issues an app token to an authenticated confidential client.
pub(crate) async fn exchange<S: Storage, A>(
    server: &Server<S, A>,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, Failure> {
    if !client.is_confidential() {
        return Err(OAuthError::unauthorized_client(
            "the client credentials grant is for confidential clients only",
        )
        .into());
    }
    let scope = client.resolve_scope(scope_param(params, client)?, &ScopeSet::new())?;
    let config = server.config();
    let with_refresh = config.refresh_tokens_for_client_credentials
        && client.allows_grant(GrantType::RefreshToken);
    Ok(issue_new_grant(server, client, None, &scope, with_refresh).await?)
}
