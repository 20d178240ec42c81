//! The grants, one module each: how an authorization turns into tokens (RFC 6749 §4, §6).
//!
//! Each grant does only what is its own: checking the grant's parameters and its record. The
//! common steps live here: minting the secrets, building the records storage keeps, and the
//! token response.

pub(crate) mod authorization_code;
pub(crate) mod implicit;

use serde::Serialize;

use crate::authenticator::OwnerId;
use crate::client::ClientId;
use crate::config::Config;
use crate::scope::ScopeSet;
use crate::storage::{NewTokens, StoredToken, TokenRecord};
use crate::time::Timestamp;
use crate::token::{AccessToken, GrantId, RefreshToken};

/// What a grant step hands out: the secrets in clear, minted before storage is touched so that
/// the exchange inside storage stays pure.
pub(crate) struct Secrets {
    access: AccessToken,
    refresh: Option<RefreshToken>,
}

/// Who and what a set of tokens is for.
pub(crate) struct Subject<'a> {
    pub(crate) grant: GrantId,
    pub(crate) client_id: &'a ClientId,
    pub(crate) owner: Option<&'a OwnerId>,
    pub(crate) scope: &'a ScopeSet,
}

impl Secrets {
    /// Mints an access token and, if asked, a refresh token.
    pub(crate) fn mint(with_refresh: bool) -> Self {
        Self {
            access: AccessToken::generate(),
            refresh: with_refresh.then(RefreshToken::generate),
        }
    }

    /// The records storage keeps for these secrets.
    pub(crate) fn records(
        &self,
        subject: &Subject<'_>,
        config: &Config,
        now: Timestamp,
    ) -> NewTokens {
        let record = |expires_at| TokenRecord {
            grant: subject.grant,
            client_id: subject.client_id.clone(),
            owner: subject.owner.cloned(),
            scope: subject.scope.clone(),
            issued_at: now,
            expires_at,
        };
        NewTokens {
            access: StoredToken {
                digest: self.access.digest(),
                record: record(now.after(config.access_token_lifetime)),
            },
            refresh: self.refresh.as_ref().map(|refresh| StoredToken {
                digest: refresh.digest(),
                record: record(now.after(config.refresh_token_lifetime)),
            }),
        }
    }

    /// The token response for the stored access-token record (C-TK-6).
    pub(crate) fn response(self, access: &TokenRecord, now: Timestamp) -> TokenResponse {
        TokenResponse {
            access_token: self.access,
            expires_in: now.seconds_until(access.expires_at),
            refresh_token: self.refresh,
            scope: access.scope.clone(),
        }
    }

    /// The access token in clear.
    pub(crate) fn access_token(&self) -> &AccessToken {
        &self.access
    }
}

/// A successful token response (RFC 6749 §5.1). `scope` is always included: the RFC makes it
/// optional only when it equals the request's, and clients are better off not having to
/// remember what they asked for.
#[derive(Debug)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: AccessToken,
    pub(crate) expires_in: u64,
    pub(crate) refresh_token: Option<RefreshToken>,
    pub(crate) scope: ScopeSet,
}

impl TokenResponse {
    /// The JSON body.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        #[derive(Serialize)]
        struct Body<'a> {
            access_token: &'a str,
            token_type: &'static str,
            expires_in: u64,
            #[serde(skip_serializing_if = "Option::is_none")]
            refresh_token: Option<&'a str>,
            #[serde(skip_serializing_if = "String::is_empty")]
            scope: String,
        }
        serde_json::to_value(Body {
            access_token: self.access_token.secret(),
            token_type: "Bearer",
            expires_in: self.expires_in,
            refresh_token: self.refresh_token.as_ref().map(RefreshToken::secret),
            scope: self.scope.to_string(),
        })
        .unwrap_or_default()
    }
}
