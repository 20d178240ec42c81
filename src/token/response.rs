//! The token endpoint's successful answer (RFC 6749 §5.1), and what the host's response hook
//! sees of it.

use std::fmt;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::authenticator::OwnerId;
use crate::client::{ClientId, GrantType};
use crate::scope::ScopeSet;
use crate::storage::OpenIdContext;
use crate::token::{AccessToken, GrantId, RefreshToken, TokenType};

/// A successful token response: `access_token`, `token_type`, `expires_in`, `refresh_token`
/// when one was issued, `scope`, and the fields a hook or a feature added (an OpenID Connect
/// `id_token`, a host's `user_id`). Serialized as the JSON body; its `Debug` hides the tokens.
///
/// `scope` is always included: RFC 6749 makes it optional only when it equals the request's,
/// and clients are better off not having to remember what they asked for.
pub struct TokenResponse {
    access_token: AccessToken,
    expires_in: u64,
    refresh_token: Option<RefreshToken>,
    scope: ScopeSet,
    token_type: TokenType,
    extra: serde_json::Map<String, serde_json::Value>,
    /// The resource owner, for the host's hook; not part of the body.
    owner: Option<OwnerId>,
    /// The OpenID Connect context of an ID token still to be signed and added, once storage
    /// has committed the tokens, with the tokens' grant (revoked if signing fails); not part
    /// of the body.
    openid: Option<Box<(OpenIdContext, GrantId)>>,
    /// The grant of the tokens, for audit events; not part of the body.
    grant: Option<GrantId>,
}

/// The body: the standard fields, then the added ones.
impl Serialize for TokenResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = 4 + usize::from(self.refresh_token.is_some()) + self.extra.len();
        let mut map = serializer.serialize_map(Some(fields))?;
        map.serialize_entry("access_token", self.access_token.secret())?;
        map.serialize_entry("expires_in", &self.expires_in)?;
        if let Some(refresh_token) = &self.refresh_token {
            map.serialize_entry("refresh_token", refresh_token.secret())?;
        }
        map.serialize_entry("scope", &self.scope)?;
        map.serialize_entry("token_type", &self.token_type)?;
        for (name, value) in &self.extra {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// The fields a [`TokenResponse`] always has, which nothing added may replace.
const STANDARD_FIELDS: [&str; 5] = [
    "access_token",
    "token_type",
    "expires_in",
    "refresh_token",
    "scope",
];

impl TokenResponse {
    /// The response for tokens just issued.
    pub(crate) fn new(
        access_token: AccessToken,
        token_type: TokenType,
        expires_in: u64,
        refresh_token: Option<RefreshToken>,
        scope: ScopeSet,
        owner: Option<OwnerId>,
    ) -> Self {
        Self {
            access_token,
            expires_in,
            refresh_token,
            scope,
            token_type,
            extra: serde_json::Map::new(),
            owner,
            openid: None,
            grant: None,
        }
    }

    /// Records the grant of the tokens (for audit events).
    pub(crate) fn set_grant(&mut self, grant: GrantId) {
        self.grant = Some(grant);
    }

    /// The grant of the tokens, when minted by the issuing step.
    pub(crate) fn grant(&self) -> Option<GrantId> {
        self.grant
    }

    /// Marks the response as owing an ID token built from `context`, for tokens of `grant`.
    pub(crate) fn set_openid(&mut self, context: Option<OpenIdContext>, grant: GrantId) {
        self.openid = context.map(|context| Box::new((context, grant)));
    }

    /// The context of the ID token the response owes, and the tokens' grant, if any, taken out
    /// of it.
    #[cfg_attr(not(feature = "oidc"), allow(dead_code))]
    pub(crate) fn take_openid(&mut self) -> Option<Box<(OpenIdContext, GrantId)>> {
        self.openid.take()
    }

    /// The access token.
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    /// How the access token is presented.
    pub fn token_type(&self) -> TokenType {
        self.token_type
    }

    /// Seconds until the access token expires.
    pub fn expires_in(&self) -> u64 {
        self.expires_in
    }

    /// The refresh token, if one was issued.
    pub fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }

    /// The granted scope.
    pub fn scope(&self) -> &ScopeSet {
        &self.scope
    }

    /// The resource owner, or `None` for an app token.
    pub fn owner(&self) -> Option<&OwnerId> {
        self.owner.as_ref()
    }

    /// Adds a field to the body (an `id_token`, a host's `user_id`…). A standard field's name
    /// (`access_token`, `token_type`, `expires_in`, `refresh_token`, `scope`) is refused:
    /// `false`, and nothing changes. A later field of the same name replaces an earlier one.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<serde_json::Value>) -> bool {
        let name = name.into();
        if STANDARD_FIELDS.contains(&name.as_str()) {
            return false;
        }
        self.extra.insert(name, value.into());
        true
    }

    /// The fields added with [`insert`](Self::insert).
    pub fn extra(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.extra
    }

    /// The JSON body.
    pub(crate) fn to_json(&self) -> Vec<u8> {
        // Room for two tokens and the other standard fields, so the common body is written
        // without growing the buffer.
        let mut body = Vec::with_capacity(256);
        // Serializing strings, numbers and a map of JSON values cannot fail.
        match serde_json::to_writer(&mut body, self) {
            Ok(()) => body,
            Err(_) => Vec::new(),
        }
    }
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &self.access_token)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token)
            .field("scope", &self.scope)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// What the host's token-response hook sees about the tokens just issued
/// ([`ConfigBuilder::token_response_fields`](crate::ConfigBuilder::token_response_fields)).
#[derive(Debug)]
#[non_exhaustive]
pub struct TokenContext<'a> {
    /// The grant that issued the tokens.
    pub grant_type: &'a GrantType,
    /// The client the tokens were issued to.
    pub client_id: &'a ClientId,
    /// The resource owner, or `None` for an app token.
    pub owner: Option<&'a OwnerId>,
    /// The granted scope.
    pub scope: &'a ScopeSet,
}

impl<'a> TokenContext<'a> {
    /// The context of `response`, issued by `grant_type` to `client_id`.
    pub(crate) fn of(
        response: &'a TokenResponse,
        grant_type: &'a GrantType,
        client_id: &'a ClientId,
    ) -> Self {
        Self {
            grant_type,
            client_id,
            owner: response.owner.as_ref(),
            scope: &response.scope,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_fields_cannot_be_replaced_and_secrets_stay_out_of_debug() {
        let mut response = TokenResponse::new(
            AccessToken::new("at-secret"),
            TokenType::Bearer,
            3600,
            Some(RefreshToken::new("rt-secret")),
            ScopeSet::parse("read").unwrap(),
            None,
        );
        assert!(!response.insert("access_token", "forged"));
        assert!(!response.insert("token_type", "forged"));
        assert!(response.insert("user_id", "u-1"));
        let body: serde_json::Value = serde_json::from_slice(&response.to_json()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "access_token": "at-secret", "expires_in": 3600, "refresh_token": "rt-secret",
                "scope": "read", "token_type": "Bearer", "user_id": "u-1"
            })
        );
        let shown = format!("{response:?}");
        assert!(
            !shown.contains("at-secret") && !shown.contains("rt-secret"),
            "{shown}"
        );
    }
}
