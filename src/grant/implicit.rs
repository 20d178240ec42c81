//! The implicit grant (RFC 6749 §4.2): an access token delivered in the redirect URI's fragment,
//! never with a refresh token (C-AZ-7). Off unless a client is registered for it; new apps should
//! use the code grant with PKCE instead (RFC 9700 §2.1.2).

use crate::authenticator::OwnerId;
use crate::client::Client;
use crate::error::Error;
use crate::grant::{TokenResponse, issue_new_grant};
use crate::scope::ScopeSet;
use crate::server::Server;
use crate::storage::Storage;

/// Issues and stores an access token for an approved implicit-grant request.
pub(crate) async fn issue_token<S: Storage, A>(
    server: &Server<S, A>,
    client: &Client,
    owner: &OwnerId,
    scope: ScopeSet,
) -> Result<TokenResponse, Error> {
    issue_new_grant(server, client, Some(owner), &scope, false).await
}
