//! The resource-owner password credentials grant (RFC 6749 §4.3), for clients given that
//! permission only. The client collects the user's password, so new apps should use the code
//! grant with PKCE instead (RFC 9700 §2.4 says this grant MUST NOT be used).
//!
//! Credentials are checked by the host's [`Authenticator`]; an unknown user and a wrong password
//! get the same `invalid_grant`, so the answer never tells which field was wrong (C-TK-8).

use crate::authenticator::{Authenticator, Password};
use crate::client::{Client, GrantType};
use crate::error::{Failure, OAuthError};
use crate::form::Params;
use crate::grant::{TokenResponse, issue_new_grant, scope_param};
use crate::server::Server;
use crate::storage::Storage;

/// The one answer for every refused owner: unknown user, wrong password, or not the owner of
/// an owner-only client (C-TK-8).
fn refused() -> OAuthError {
    OAuthError::invalid_grant("invalid resource owner credentials")
}

/// Exchanges a username and password for tokens.
pub(crate) async fn exchange<S: Storage, A: Authenticator>(
    server: &Server<S, A>,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, Failure> {
    let username = params.require("username")?;
    let password = params.require("password")?;
    let config = server.config();
    let scope =
        client.resolve_scope(scope_param(params, client)?, &config.always_granted_scopes)?;
    let owner = server
        .authenticator()
        .authenticate(username, Password::new(password))
        .await?
        .ok_or_else(refused)?;
    if client.is_owner_only() && client.owner() != Some(&owner) {
        // C-SC-5: only the client's owner may authorize it. The answer is the same as for a
        // wrong password, or the client's developer could test other users' passwords.
        return Err(refused().into());
    }
    let scope = scope.union(&config.always_granted_scopes);
    let with_refresh = config.issue_refresh_tokens && client.allows_grant(GrantType::RefreshToken);
    Ok(issue_new_grant(server, client, Some(&owner), &scope, with_refresh).await?)
}
