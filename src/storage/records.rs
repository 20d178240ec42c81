//! The records grantor stores: authorization codes, access and refresh tokens, and the tokens
//! one grant step issues together.
//!
//! Records are `#[non_exhaustive]`: build them with their constructors, read their fields. A
//! field added later has a default, so a record serialized before it was added still reads
//! back.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::exchange::{ExchangeKind, ExchangeRecord, RecordData};
use crate::authenticator::OwnerId;
use crate::client::ClientId;
use crate::pkce::CodeChallenge;
use crate::scope::ScopeSet;
use crate::time::Timestamp;
use crate::token::{Confirmation, TokenType};
use crate::token::{Digest, GrantId};

/// An authorization code: what the owner approved, kept under the digest of the code as the
/// data of an [`ExchangeRecord`] of kind [`ExchangeKind::CODE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CodeRecord {
    /// The grant the code starts; its tokens share it.
    pub grant: GrantId,
    /// The client the code was issued to.
    pub client_id: ClientId,
    /// The resource owner who approved it.
    pub owner: OwnerId,
    /// The redirect URI the code was delivered to.
    pub redirect_uri: String,
    /// Whether the authorization request named `redirect_uri` (then the token request must
    /// repeat it, RFC 6749 §4.1.3).
    pub redirect_uri_sent: bool,
    /// The scope the owner granted.
    pub scope: ScopeSet,
    /// The PKCE challenge the code is bound to, if any.
    pub challenge: Option<CodeChallenge>,
    /// When the code was issued.
    pub issued_at: Timestamp,
    /// When the code stops being redeemable.
    pub expires_at: Timestamp,
    /// The OpenID Connect request's context (nonce, authentication, claims), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<OpenIdContext>,
    /// The resources the owner granted access to (RFC 8707): the audience of the code's
    /// tokens, unless the token request narrows it. Empty: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// The thumbprint of the DPoP key the code is bound to (`dpop_jkt`, RFC 9449 §10): the
    /// token request must carry a proof by that key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
}

impl CodeRecord {
    /// A code of `grant` for `client_id`, approved by `owner` with `scope`, delivered to
    /// `redirect_uri` (which the authorization request named), without a PKCE challenge.
    pub fn new(
        grant: GrantId,
        client_id: ClientId,
        owner: OwnerId,
        redirect_uri: impl Into<String>,
        scope: ScopeSet,
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> Self {
        Self {
            grant,
            client_id,
            owner,
            redirect_uri: redirect_uri.into(),
            redirect_uri_sent: true,
            scope,
            challenge: None,
            issued_at,
            expires_at,
            openid: None,
            resources: Vec::new(),
            dpop_jkt: None,
        }
    }

    /// This code as the record storage exchanges it for tokens.
    pub fn into_exchange_record(self) -> ExchangeRecord {
        ExchangeRecord::new(
            ExchangeKind::CODE,
            self.grant,
            self.expires_at,
            RecordData::new(self),
        )
    }
}

/// An access or refresh token: what it grants. Access tokens are stored under the digest of
/// their text; a refresh token is the data of an [`ExchangeRecord`] of kind
/// [`ExchangeKind::REFRESH_TOKEN`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenRecord {
    /// The grant the token belongs to.
    pub grant: GrantId,
    /// The client the token was issued to.
    pub client_id: ClientId,
    /// The resource owner, or `None` for an app token (client credentials).
    pub owner: Option<OwnerId>,
    /// The granted scope.
    pub scope: ScopeSet,
    /// When the token was issued.
    pub issued_at: Timestamp,
    /// When the token expires.
    pub expires_at: Timestamp,
    /// The key the token is bound to (RFC 7800 `cnf`), if any: then it is not a bearer token.
    #[serde(default, rename = "cnf", skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<Confirmation>,
    /// What the OpenID Connect authorization behind the token carries along (when and how
    /// the owner authenticated, the claims requested), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<Box<OpenIdContext>>,
    /// The resources the token is for (RFC 8707; its `aud`). Empty: no particular resource. A
    /// refresh token's are those of its grant, which a refresh may narrow but never widen.
    /// (A boxed slice: every live access token carries one, most of them empty.)
    #[serde(default, skip_serializing_if = "<[String]>::is_empty")]
    pub resources: Box<[String]>,
    /// For a rotated refresh token: when it was rotated, and how many times it was answered
    /// again within the refresh grace window (C-RG-1). `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<Box<Rotation>>,
    /// Who acts on the owner's behalf with this token (RFC 8693 §4.1 `act`): set on a token
    /// issued by a delegating token exchange, `None` otherwise.
    #[serde(default, rename = "act", skip_serializing_if = "Option::is_none")]
    pub actor: Option<Box<Actor>>,
}

/// The party acting on the subject's behalf with a delegated token: the `act` claim of RFC 8693
/// §4.1, in JWT access tokens and in introspection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Actor {
    /// The actor's subject: an owner id, a client id for an app token, or another issuer's
    /// subject.
    pub sub: String,
    /// The actor token's issuer, when it is not this server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The actor before this one, when the subject token was itself delegated (RFC 8693 §4.1:
    /// the chain of delegation, the most recent actor outermost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Box<Actor>>,
}

impl Actor {
    /// The actor `sub`, of this server.
    pub fn new(sub: impl Into<String>) -> Self {
        Self {
            sub: sub.into(),
            iss: None,
            act: None,
        }
    }

    /// The same actor, acting after `previous` in a chain of delegation.
    pub fn after(mut self, previous: Option<Actor>) -> Self {
        self.act = previous.map(Box::new);
        self
    }

    /// The same actor, of another issuer.
    pub fn of_issuer(mut self, iss: impl Into<String>) -> Self {
        self.iss = Some(iss.into());
        self
    }
}

/// When a refresh token was rotated, and how many grace answers it has had since (C-RG-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Rotation {
    /// When the token was first rotated.
    pub at: Timestamp,
    /// How many times it was answered again within the grace window.
    #[serde(default)]
    pub retries: u32,
}

impl Rotation {
    /// A rotation at `at`, with no grace answer yet.
    pub fn new(at: Timestamp) -> Self {
        Self { at, retries: 0 }
    }
}

impl TokenRecord {
    /// An unbound token of `grant` for `client_id`, on behalf of `owner` (`None` for an app
    /// token).
    pub fn new(
        grant: GrantId,
        client_id: ClientId,
        owner: Option<OwnerId>,
        scope: ScopeSet,
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> Self {
        Self {
            grant,
            client_id,
            owner,
            scope,
            issued_at,
            expires_at,
            confirmation: None,
            openid: None,
            resources: Box::default(),
            rotation: None,
            actor: None,
        }
    }

    /// The same record, bound to a key.
    pub fn with_confirmation(mut self, confirmation: Confirmation) -> Self {
        self.confirmation = Some(confirmation);
        self
    }

    /// How the token must be presented: a bearer token unless it is bound to a key.
    pub fn token_type(&self) -> TokenType {
        self.confirmation
            .as_ref()
            .map_or(TokenType::Bearer, Confirmation::token_type)
    }

    /// Whether the token is unexpired at `now`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }
}

/// What an OpenID Connect authorization carries from the authorization endpoint to its ID
/// tokens and UserInfo: the request's `nonce` (codes only), when and how the owner
/// authenticated, as the host said at approval, and the `claims` the request asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OpenIdContext {
    /// The request's `nonce`, echoed in the ID token (kept on codes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// When the owner authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<Timestamp>,
    /// The authentication context class the host reported (`acr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The authentication methods the host reported (`amr`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// The request's `claims` parameter (OpenID Connect Core §5.5), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<serde_json::Value>,
    /// Whether `auth_time` must be in the ID token (`max_age` was asked, or the client
    /// requires it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auth_time_required: bool,
}

impl OpenIdContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// The context without its `nonce`: what tokens keep, since a nonce belongs to the one
    /// ID token of the authorization response or code exchange (OpenID Connect Core §12.2).
    pub fn without_nonce(&self) -> Self {
        Self {
            nonce: None,
            ..self.clone()
        }
    }
}

/// An access token's digest together with its record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredToken {
    /// The SHA-256 digest of the token's text: the storage key.
    pub digest: Digest,
    /// What the token grants, shared: a backend that keeps records in memory stores it as it
    /// is, and [`TokenStore::access_token`](super::TokenStore::access_token) hands it out.
    pub record: Arc<TokenRecord>,
}

impl StoredToken {
    /// An access token's record under its digest.
    pub fn new(digest: Digest, record: TokenRecord) -> Self {
        Self {
            digest,
            record: Arc::new(record),
        }
    }
}

/// An exchangeable record (a refresh token, a code…) under the digest of its secret.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StoredRecord {
    /// The SHA-256 digest of the secret: the storage key.
    pub digest: Digest,
    /// The record.
    pub record: ExchangeRecord,
}

impl StoredRecord {
    /// A record under its digest.
    pub fn new(digest: Digest, record: ExchangeRecord) -> Self {
        Self { digest, record }
    }
}

/// The tokens issued by one grant step, to be stored together. Both belong to the same grant.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NewTokens {
    /// The new access token.
    pub access: StoredToken,
    /// The new refresh token, if one is issued: an exchange record of kind
    /// [`ExchangeKind::REFRESH_TOKEN`].
    pub refresh: Option<StoredRecord>,
}

impl NewTokens {
    /// An access token and, optionally, a refresh token of the same grant.
    pub fn new(access: StoredToken, refresh: Option<StoredRecord>) -> Self {
        Self { access, refresh }
    }

    /// The grant the tokens belong to.
    pub fn grant(&self) -> GrantId {
        self.access.record.grant
    }

    /// When the last of these tokens stops mattering: the access token's expiry, or the
    /// refresh token's if later.
    pub fn expires_at(&self) -> Timestamp {
        let access = self.access.record.expires_at;
        self.refresh
            .as_ref()
            .map_or(access, |refresh| access.max(refresh.record.retain_until))
    }
}
