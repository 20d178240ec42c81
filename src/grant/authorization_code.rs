//! The authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636).
//!
//! A code moves Issued → Redeemed exactly once, inside [`Storage::redeem_code`]. Any failed
//! redemption — wrong client, wrong `redirect_uri`, wrong or missing `code_verifier` — spends the
//! code all the same: a code that was presented with the wrong proof may have been stolen, and a
//! legitimate client never needs a second try (RFC 9700 §2.1.1). A code presented after it was
//! redeemed revokes every token issued from it (RFC 6749 §4.1.2, §10.5).

use crate::authenticator::OwnerId;
use crate::client::{Client, GrantType};
use crate::endpoint::authorize::AuthorizationRequest;
use crate::error::{Error, Failure, OAuthError};
use crate::form::Params;
use crate::grant::{Secrets, Subject, TokenResponse, settle};
use crate::scope::ScopeSet;
use crate::server::Server;
use crate::storage::{CodeRecord, Storage};
use crate::token::{AuthorizationCode, Digest, GrantId};

/// Issues and stores a code for an approved request.
pub(crate) async fn issue_code<S: Storage, A>(
    server: &Server<S, A>,
    request: &AuthorizationRequest,
    owner: &OwnerId,
    scope: ScopeSet,
) -> Result<AuthorizationCode, Error> {
    let now = server.now();
    let code = AuthorizationCode::generate();
    let record = CodeRecord {
        grant: GrantId::generate(),
        client_id: request.client().id().clone(),
        owner: owner.clone(),
        redirect_uri: request.redirect_uri().to_owned(),
        redirect_uri_sent: request.redirect_uri_sent(),
        scope,
        challenge: request.code_challenge().cloned(),
        issued_at: now,
        expires_at: now.after(server.config().code_lifetime),
    };
    server.storage().save_code(code.digest(), record).await?;
    Ok(code)
}

/// Exchanges a code for tokens at the token endpoint (C-TK-4, C-TK-5, C-PK-3, C-PK-4).
pub(crate) async fn exchange<S: Storage, A>(
    server: &Server<S, A>,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, Failure> {
    let code = params.require("code")?;
    let redirect_uri = params.get("redirect_uri")?;
    let verifier = params.get("code_verifier")?;
    let config = server.config();
    let secrets =
        Secrets::mint(config.issue_refresh_tokens && client.allows_grant(GrantType::RefreshToken));
    let now = server.now();
    let mut granted = None;
    let outcome = server
        .storage()
        .redeem_code(&Digest::of(code), now, |record| {
            check(record, client, redirect_uri, verifier)?;
            let subject = Subject::new(
                record.grant,
                &record.client_id,
                Some(&record.owner),
                &record.scope,
            );
            let (tokens, issued) = secrets.issue(&subject, config, now);
            granted = Some(issued);
            Ok(tokens)
        })
        .await?;
    settle(server, outcome, secrets, granted, "authorization code").await
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
