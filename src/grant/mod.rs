//! The grants, one module each: how an authorization turns into tokens (RFC 6749 §4, §6).
//!
//! Each grant does only what is its own: checking the grant's parameters and its record. The
//! common steps live here: minting the secrets, building the records storage keeps, and the
//! token response.

pub(crate) mod authorization_code;
pub(crate) mod client_credentials;
pub(crate) mod implicit;
pub(crate) mod password;
pub(crate) mod refresh_token;

use crate::authenticator::OwnerId;
use crate::client::Client;
use crate::client::{ClientId, GrantType};
use crate::config::Config;
use crate::error::OAuthError;
use crate::error::{Error, Failure};
use crate::form::Params;
use crate::scope::ScopeSet;
use crate::server::Server;
use crate::storage::{Exchange, NewTokens, Storage, StoredToken, TokenRecord};
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
    /// The access token's scope.
    pub(crate) scope: &'a ScopeSet,
    /// The refresh token's scope: the access token's, except on refresh with a narrower scope,
    /// where the new refresh token keeps the original scope (RFC 6749 §6).
    pub(crate) refresh_scope: &'a ScopeSet,
}

impl<'a> Subject<'a> {
    /// A subject whose access and refresh tokens have the same scope.
    pub(crate) fn new(
        grant: GrantId,
        client_id: &'a ClientId,
        owner: Option<&'a OwnerId>,
        scope: &'a ScopeSet,
    ) -> Self {
        Self {
            grant,
            client_id,
            owner,
            scope,
            refresh_scope: scope,
        }
    }
}

/// Mints and stores the tokens of a new grant (implicit, password, client credentials).
pub(crate) async fn issue_new_grant<S: Storage, A>(
    server: &Server<S, A>,
    client: &Client,
    owner: Option<&OwnerId>,
    scope: &ScopeSet,
    with_refresh: bool,
) -> Result<TokenResponse, Error> {
    let now = server.now();
    let secrets = Secrets::mint(with_refresh);
    let subject = Subject::new(GrantId::generate(), client.id(), owner, scope);
    let (tokens, granted) = secrets.issue(&subject, server.config(), now);
    server.storage().save_tokens(tokens).await?;
    Ok(secrets.response(granted))
}

/// What the token response tells about the access token just issued, taken from its record
/// (the record itself goes to storage).
pub(crate) struct Granted {
    scope: ScopeSet,
    owner: Option<OwnerId>,
    expires_in: u64,
}

impl Granted {
    /// The response's view of a new access-token record. The owner is only kept for the host's
    /// token-response hook: copying it would otherwise be wasted work.
    pub(crate) fn of(access: &TokenRecord, config: &Config) -> Self {
        Self {
            scope: access.scope.clone(),
            owner: access
                .owner
                .as_ref()
                .filter(|_| config.token_response_fields.is_some())
                .cloned(),
            expires_in: access.issued_at.seconds_until(access.expires_at),
        }
    }
}

/// Turns the outcome of an exactly-once exchange into the token response or the RFC error.
/// A replay revokes the whole grant (C-TK-5, C-TK-11). `granted` is what the exchange function
/// recorded when it issued the tokens.
pub(crate) async fn settle<S: Storage, A>(
    server: &Server<S, A>,
    outcome: Exchange,
    secrets: Secrets,
    granted: Option<Granted>,
    what: &'static str,
) -> Result<TokenResponse, Failure> {
    match (outcome, granted) {
        (Exchange::Issued, Some(granted)) => Ok(secrets.response(granted)),
        // A backend that breaks the contract: `Issued` without running the exchange.
        (Exchange::Issued, None) => Err(Error::storage(
            "storage reported tokens that the exchange function did not issue",
        )
        .into()),
        (Exchange::Refused(error), _) => Err(error.into()),
        (Exchange::Replayed(grant), _) => {
            server.storage().revoke_grant(&grant).await?;
            Err(OAuthError::invalid_grant(format!("the {what} was already used")).into())
        }
        (Exchange::Unknown, _) => {
            Err(OAuthError::invalid_grant(format!("the {what} is invalid or expired")).into())
        }
    }
}

/// The optional `scope` parameter of a token request.
pub(crate) fn scope_param(
    params: &Params,
    client: &Client,
) -> Result<Option<ScopeSet>, OAuthError> {
    params
        .get("scope")?
        .map(|text| client.parse_scope(text))
        .transpose()
}

/// What the host's token-response hook sees about the tokens just issued
/// ([`ConfigBuilder::token_response_fields`](crate::ConfigBuilder::token_response_fields)).
#[derive(Debug)]
pub struct TokenContext<'a> {
    /// The grant that issued the tokens.
    pub grant_type: GrantType,
    /// The client the tokens were issued to.
    pub client_id: &'a ClientId,
    /// The resource owner, or `None` for an app token.
    pub owner: Option<&'a OwnerId>,
    /// The granted scope.
    pub scope: &'a ScopeSet,
}

impl Secrets {
    /// Mints an access token and, if asked, a refresh token.
    pub(crate) fn mint(with_refresh: bool) -> Self {
        Self {
            access: AccessToken::generate(),
            refresh: with_refresh.then(RefreshToken::generate),
        }
    }

    /// The records storage keeps for these secrets, and what the token response tells about
    /// them.
    pub(crate) fn issue(
        &self,
        subject: &Subject<'_>,
        config: &Config,
        now: Timestamp,
    ) -> (NewTokens, Granted) {
        let tokens = self.records(subject, config, now);
        let granted = Granted::of(&tokens.access.record, config);
        (tokens, granted)
    }

    /// The records storage keeps for these secrets.
    fn records(&self, subject: &Subject<'_>, config: &Config, now: Timestamp) -> NewTokens {
        let record = |scope: &ScopeSet, expires_at| TokenRecord {
            grant: subject.grant,
            client_id: subject.client_id.clone(),
            owner: subject.owner.cloned(),
            scope: scope.clone(),
            issued_at: now,
            expires_at,
        };
        NewTokens {
            access: StoredToken {
                digest: self.access.digest(),
                record: record(subject.scope, now.after(config.access_token_lifetime)),
            },
            refresh: self.refresh.as_ref().map(|refresh| StoredToken {
                digest: refresh.digest(),
                record: record(
                    subject.refresh_scope,
                    now.after(config.refresh_token_lifetime),
                ),
            }),
        }
    }

    /// The token response for these secrets (C-TK-6).
    pub(crate) fn response(self, granted: Granted) -> TokenResponse {
        TokenResponse {
            access_token: self.access,
            expires_in: granted.expires_in,
            refresh_token: self.refresh,
            scope: granted.scope,
            owner: granted.owner,
        }
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
    /// The resource owner, kept only when the host's token-response hook needs it.
    owner: Option<OwnerId>,
}

/// The fields of a token response that the host's hook may not replace.
const STANDARD_FIELDS: [&str; 5] = [
    "access_token",
    "token_type",
    "expires_in",
    "refresh_token",
    "scope",
];

impl TokenResponse {
    /// The JSON body, with the host's extra fields (which never replace a standard one).
    ///
    /// Without a hook the body is written straight from the response, with no intermediate
    /// `serde_json::Value`; with one, the standard fields and the host's are merged in a map.
    /// Either way the fields come out in the same (alphabetical) order.
    pub(crate) fn to_json(
        &self,
        grant_type: GrantType,
        client_id: &ClientId,
        config: &Config,
    ) -> Vec<u8> {
        let Some(hook) = &config.token_response_fields else {
            return self.standard_json();
        };
        let mut body: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&self.standard_json()).unwrap_or_default();
        let context = TokenContext {
            grant_type,
            client_id,
            owner: self.owner.as_ref(),
            scope: &self.scope,
        };
        for (name, value) in hook(&context) {
            if !STANDARD_FIELDS.contains(&name.as_str()) {
                body.insert(name, value);
            }
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// The standard fields, in alphabetical order (the order a `serde_json` map keeps).
    fn standard_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(192);
        out.extend_from_slice(b"{\"access_token\":");
        push_minted(&mut out, self.access_token.secret());
        out.extend_from_slice(b",\"expires_in\":");
        push_decimal(&mut out, self.expires_in);
        if let Some(refresh) = &self.refresh_token {
            out.extend_from_slice(b",\"refresh_token\":");
            push_minted(&mut out, refresh.secret());
        }
        // Scope characters (RFC 6749 §3.3) exclude `"` and `\`: nothing to escape.
        out.extend_from_slice(b",\"scope\":\"");
        for (i, scope) in self.scope.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(scope.as_str().as_bytes());
        }
        out.push(b'"');
        out.extend_from_slice(b",\"token_type\":\"Bearer\"}");
        out
    }
}

/// Appends a number in decimal.
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// Appends a secret grantor minted as a JSON string. A token response only ever holds secrets
/// from [`Secrets::mint`], which are base64url: there is nothing to escape.
fn push_minted(out: &mut Vec<u8>, secret: &str) {
    debug_assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    out.push(b'"');
    out.extend_from_slice(secret.as_bytes());
    out.push(b'"');
}
