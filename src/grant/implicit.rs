//! The implicit grant (RFC 6749 §4.2): an access token delivered in the redirect URI's fragment,
//! never with a refresh token (C-AZ-7). Off unless a client is registered for it; new apps should
//! use the code grant with PKCE instead (RFC 9700 §2.1.2).

use crate::authenticator::OwnerId;
use crate::client::Client;
use crate::error::Error;
use crate::grant::{Secrets, Subject};
use crate::scope::ScopeSet;
use crate::server::Server;
use crate::storage::Storage;
use crate::token::{AccessToken, GrantId};

/// An access token issued at the authorization endpoint.
pub(crate) struct ImplicitToken {
    pub(crate) access_token: AccessToken,
    pub(crate) expires_in: u64,
    pub(crate) scope: ScopeSet,
}

/// Issues and stores an access token for an approved implicit-grant request.
pub(crate) async fn issue_token<S: Storage, A>(
    server: &Server<S, A>,
    client: &Client,
    owner: &OwnerId,
    scope: ScopeSet,
) -> Result<ImplicitToken, Error> {
    let now = server.now();
    let secrets = Secrets::mint(false);
    let subject = Subject {
        grant: GrantId::generate(),
        client_id: client.id(),
        owner: Some(owner),
        scope: &scope,
    };
    let tokens = secrets.records(&subject, server.config(), now);
    let expires_in = now.seconds_until(tokens.access.record.expires_at);
    server.storage().save_tokens(tokens).await?;
    Ok(ImplicitToken {
        access_token: secrets.access_token().clone(),
        expires_in,
        scope,
    })
}
