//! Claims about the owner: where they come from ([`ClaimsSource`], the host's user store) and
//! which of them a client may see (OpenID Connect Core §5.4, §5.5).
//!
//! A client sees the claims its granted scopes stand for (`profile`, `email`, `address`,
//! `phone`) and those its request's `claims` parameter names, never more: whatever the source
//! returns is filtered to those names, and the protocol claims (`sub`, `iss`, `aud`, times,
//! hashes) are grantor's alone.

use crate::BoxFuture;
use crate::authenticator::OwnerId;
use crate::endpoint::authorize::openid::scope_claims;
use crate::error::Error;
use crate::scope::ScopeSet;

/// A JSON object of claims.
pub type ClaimSet = serde_json::Map<String, serde_json::Value>;

/// Where the claims about an owner come from: the host's user store.
///
/// ```
/// use grantor::oidc::{ClaimSet, ClaimsSource};
/// use grantor::{BoxFuture, Error, OwnerId};
///
/// struct Directory;
///
/// impl ClaimsSource for Directory {
///     fn claims<'a>(&'a self, owner: &'a OwnerId, wanted: &'a [&'a str]) -> BoxFuture<'a, Result<Option<ClaimSet>, Error>> {
///         Box::pin(async move {
///             let mut claims = ClaimSet::new();
///             if wanted.contains(&"name") {
///                 claims.insert("name".into(), format!("User {}", owner.as_str()).into());
///             }
///             Ok(Some(claims))
///         })
///     }
/// }
/// ```
pub trait ClaimsSource: Send + Sync + 'static {
    /// The claims about `owner`, at least those of `wanted` that the source knows (others are
    /// dropped); `None` when the owner no longer exists (UserInfo then refuses the token).
    fn claims<'a>(
        &'a self,
        owner: &'a OwnerId,
        wanted: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Option<ClaimSet>, Error>>;
}

/// A shared claims source: the host's user store, used by its own pages too.
impl<C: ClaimsSource> ClaimsSource for std::sync::Arc<C> {
    fn claims<'a>(
        &'a self,
        owner: &'a OwnerId,
        wanted: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Option<ClaimSet>, Error>> {
        (**self).claims(owner, wanted)
    }
}

/// A source with no claims: ID tokens and UserInfo tell only the subject.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoClaims;

impl ClaimsSource for NoClaims {
    fn claims<'a>(
        &'a self,
        _owner: &'a OwnerId,
        _wanted: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Option<ClaimSet>, Error>> {
        Box::pin(std::future::ready(Ok(Some(ClaimSet::new()))))
    }
}

/// The claims grantor sets itself, which no source may supply.
pub(crate) const PROTOCOL_CLAIMS: [&str; 15] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "sid",
];

/// The claim names a client may see: those `scope` stands for, when given, and those the
/// `claims` parameter asks for in `member` (`userinfo` or `id_token`), without duplicates or
/// protocol claims.
pub(crate) fn wanted<'a>(
    scope: Option<&ScopeSet>,
    claims: Option<&'a serde_json::Value>,
    member: &str,
) -> Vec<&'a str> {
    let mut names: Vec<&str> = Vec::new();
    for claim in scope.into_iter().flat_map(scope_claims) {
        names.push(claim);
    }
    names.extend(requested_claims(claims, member));
    names.retain(|name| !PROTOCOL_CLAIMS.contains(name));
    names.sort_unstable();
    names.dedup();
    names
}

/// The claim names a `claims` parameter asks for in one member (`userinfo` or `id_token`).
fn requested_claims<'a>(
    claims: Option<&'a serde_json::Value>,
    member: &str,
) -> impl Iterator<Item = &'a str> {
    claims
        .and_then(|claims| claims.get(member))
        .and_then(serde_json::Value::as_object)
        .into_iter()
        .flat_map(|requests| requests.keys().map(String::as_str))
}

/// Keeps, of what a source returned, only the `wanted` claims.
pub(crate) fn filter(mut claims: ClaimSet, wanted: &[&str]) -> ClaimSet {
    claims.retain(|name, _| wanted.contains(&name.as_str()));
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_the_claims_parameter_decide_and_protocol_claims_never_leak() {
        let scope = ScopeSet::parse("openid email").unwrap();
        let request = serde_json::json!({
            "userinfo": {"name": null, "sub": {"value": "someone-else"}, "email": null},
            "id_token": {"locale": null}
        });
        let names = wanted(Some(&scope), Some(&request), "userinfo");
        assert_eq!(names, ["email", "email_verified", "name"]);
        assert_eq!(wanted(None, Some(&request), "id_token"), ["locale"]);
        let mut from_source = ClaimSet::new();
        for (name, value) in [("email", "a@x"), ("phone_number", "1"), ("sub", "forged")] {
            from_source.insert(name.into(), value.into());
        }
        let kept = filter(from_source, &names);
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["email"]);
    }
}
