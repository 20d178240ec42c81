//! The OpenID Connect parameters of an authorization request (OpenID Connect Core §3.1.2.1):
//! parsed and checked here, carried on the pending request for the host, and turned into what
//! the host must do before approving ([`Interaction`](crate::Interaction)).
//!
//! They are read only when the server is an OpenID Provider and the request's scope holds
//! `openid`; otherwise they are parameters like any other the host may read.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{ErrorCode, OAuthError};
use crate::form::Params;
use crate::scope::ScopeSet;

/// The parameters this module interprets.
pub(crate) const PARAMETERS: [&str; 11] = [
    "nonce",
    "prompt",
    "max_age",
    "claims",
    "login_hint",
    "id_token_hint",
    "ui_locales",
    "claims_locales",
    "acr_values",
    "display",
    "registration",
];

/// The `prompt` values of a request: what the owner must (or must not) be shown.
///
/// ```
/// use grantor::Prompt;
///
/// let prompt: Prompt = "login consent".parse()?;
/// assert!(prompt.contains(Prompt::LOGIN) && prompt.contains(Prompt::CONSENT));
/// assert!("none login".parse::<Prompt>().is_err(), "none stands alone");
/// assert!("later".parse::<Prompt>().is_err(), "unknown values are refused");
/// # Ok::<(), grantor::OAuthError>(())
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Prompt(u8);

impl Prompt {
    /// `none`: show no page at all; fail with `login_required`, `consent_required` or
    /// `interaction_required` instead.
    pub const NONE: Self = Self(1);
    /// `login`: authenticate the owner again, even with a session.
    pub const LOGIN: Self = Self(2);
    /// `consent`: show the consent page, even when consent is remembered.
    pub const CONSENT: Self = Self(4);
    /// `select_account`: let the owner choose among their accounts.
    pub const SELECT_ACCOUNT: Self = Self(8);

    const NAMES: [(Self, &'static str); 4] = [
        (Self::NONE, "none"),
        (Self::LOGIN, "login"),
        (Self::CONSENT, "consent"),
        (Self::SELECT_ACCOUNT, "select_account"),
    ];

    /// The values every request may use, for metadata.
    #[cfg(feature = "oidc")]
    pub(crate) fn supported() -> impl Iterator<Item = &'static str> {
        Self::NAMES.iter().map(|(_, name)| *name)
    }

    /// Whether every value of `other` is among these.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }

    /// Whether the request named no prompt.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::str::FromStr for Prompt {
    type Err = OAuthError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut bits = 0;
        for word in s.split(' ').filter(|word| !word.is_empty()) {
            let (value, _) = Self::NAMES
                .iter()
                .find(|(_, name)| *name == word)
                .ok_or_else(|| OAuthError::invalid_request("unsupported prompt value"))?;
            bits |= value.0;
        }
        if bits & Self::NONE.0 != 0 && bits != Self::NONE.0 {
            return Err(OAuthError::invalid_request(
                "prompt=none cannot be combined with other values",
            ));
        }
        Ok(Self(bits))
    }
}

impl fmt::Display for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names = Self::NAMES
            .iter()
            .filter(|(value, _)| self.contains(*value));
        if let Some((_, first)) = names.next() {
            f.write_str(first)?;
        }
        for (_, name) in names {
            write!(f, " {name}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Prompt({:?})", self.to_string())
    }
}

impl Serialize for Prompt {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Prompt {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The OpenID Connect side of a pending authorization request: what the client asked about
/// the owner's authentication, for the host's login and consent pages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OpenIdRequest {
    nonce: Option<String>,
    prompt: Prompt,
    max_age: Option<u64>,
    claims: Option<serde_json::Value>,
    login_hint: Option<String>,
    /// The `sub` of the verified `id_token_hint`.
    hint_subject: Option<String>,
    ui_locales: Option<String>,
    acr_values: Option<String>,
    display: Option<String>,
}

impl OpenIdRequest {
    /// The `nonce` to echo in the ID token.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// The `prompt` values.
    pub fn prompt(&self) -> Prompt {
        self.prompt
    }

    /// The `max_age` (or the client's default): the owner must have authenticated within it.
    pub fn max_age(&self) -> Option<Duration> {
        self.max_age.map(Duration::from_secs)
    }

    /// The `claims` parameter (OpenID Connect Core §5.5), a JSON object.
    pub fn claims(&self) -> Option<&serde_json::Value> {
        self.claims.as_ref()
    }

    /// The `login_hint`: who the client thinks is logging in (an email address, say), for
    /// the login form.
    pub fn login_hint(&self) -> Option<&str> {
        self.login_hint.as_deref()
    }

    /// The subject of the `id_token_hint`, which grantor verified it had signed for this
    /// client: only that owner may approve the request.
    pub fn hint_subject(&self) -> Option<&str> {
        self.hint_subject.as_deref()
    }

    /// The `ui_locales` the owner prefers, in order (BCP 47 tags).
    pub fn ui_locales(&self) -> impl Iterator<Item = &str> {
        words(self.ui_locales.as_deref())
    }

    /// The `acr_values` the client asks for, in order of preference.
    pub fn acr_values(&self) -> impl Iterator<Item = &str> {
        words(self.acr_values.as_deref())
    }

    /// The `display` the client asks for (`page`, `popup`, `touch`, `wap`).
    pub fn display(&self) -> Option<&str> {
        self.display.as_deref()
    }

    #[cfg(feature = "oidc")]
    pub(crate) fn set_hint_subject(&mut self, subject: String) {
        self.hint_subject = Some(subject);
    }
}

fn words(text: Option<&str>) -> impl Iterator<Item = &str> {
    text.unwrap_or("")
        .split(' ')
        .filter(|word| !word.is_empty())
}

/// The standard claims each scope stands for (OpenID Connect Core §5.4).
pub(crate) const SCOPE_CLAIMS: [(&str, &[&str]); 4] = [
    (
        "profile",
        &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
    ),
    ("email", &["email", "email_verified"]),
    ("address", &["address"]),
    ("phone", &["phone_number", "phone_number_verified"]),
];

/// The claims about the authentication itself that a `claims` request may ask for: no
/// consent is needed to tell them to the client.
const AUTHENTICATION_CLAIMS: [&str; 4] = ["sub", "auth_time", "acr", "amr"];

/// The claims `scope` stands for.
pub(crate) fn scope_claims(scope: &ScopeSet) -> impl Iterator<Item = &'static str> + '_ {
    SCOPE_CLAIMS
        .iter()
        .filter(|(name, _)| scope.contains(name))
        .flat_map(|(_, claims)| claims.iter().copied())
}

/// The `claims` members that name claims: what goes to UserInfo and what goes in the ID token.
const MEMBERS: [&str; 2] = ["userinfo", "id_token"];

/// Whether every claim a `claims` request asks for is one of `scope`'s, or about the
/// authentication: then consent to the scope covers it.
pub(crate) fn within_scope(claims: &serde_json::Value, scope: &ScopeSet) -> bool {
    MEMBERS.iter().all(|member| {
        claims
            .get(member)
            .and_then(serde_json::Value::as_object)
            .is_none_or(|requests| {
                requests.keys().all(|name| {
                    AUTHENTICATION_CLAIMS.contains(&name.as_str())
                        || scope_claims(scope).any(|claim| claim == name)
                })
            })
    })
}

/// A `claims` request cut down to what the owner consented to: the claims of the granted
/// `scope`, the ones the host says the owner approved one by one, and those about the
/// authentication (C-OI-4).
pub(crate) fn consented_claims(
    claims: &serde_json::Value,
    scope: &ScopeSet,
    approved: &[String],
) -> serde_json::Value {
    let mut kept = serde_json::Map::new();
    for member in MEMBERS {
        let Some(requests) = claims.get(member).and_then(serde_json::Value::as_object) else {
            continue;
        };
        let allowed: serde_json::Map<_, _> = requests
            .iter()
            .filter(|(name, _)| {
                AUTHENTICATION_CLAIMS.contains(&name.as_str())
                    || approved.iter().any(|claim| claim == *name)
                    || scope_claims(scope).any(|claim| claim == *name)
            })
            .map(|(name, request)| (name.clone(), request.clone()))
            .collect();
        kept.insert(member.to_owned(), allowed.into());
    }
    kept.into()
}

/// Whether a `claims` request asks for `name`, in either member.
pub(crate) fn asks_for(claims: &serde_json::Value, name: &str) -> bool {
    MEMBERS
        .iter()
        .any(|member| claims.get(member).and_then(|m| m.get(name)).is_some())
}

/// The `display` values of OpenID Connect Core §3.1.2.1.
const DISPLAYS: [&str; 4] = ["page", "popup", "touch", "wap"];

/// Reads the OpenID Connect parameters of a request for `client`: `invalid_request` for a
/// malformed one (C-OI-3), `request_not_supported` and friends for request objects and
/// registration, which grantor does not take.
pub(crate) fn parse(params: &Params, client: &Client) -> Result<OpenIdRequest, OAuthError> {
    for (name, code) in [
        ("request", ErrorCode::RequestNotSupported),
        ("request_uri", ErrorCode::RequestUriNotSupported),
        ("registration", ErrorCode::RegistrationNotSupported),
    ] {
        if params.get(name)?.is_some() {
            return Err(OAuthError::new(code)
                .with_description(format!("the {name} parameter is not supported")));
        }
    }
    let prompt = params
        .get("prompt")?
        .map(str::parse::<Prompt>)
        .transpose()?
        .unwrap_or_default();
    let max_age = match params.get("max_age")? {
        Some(text) => Some(parse_max_age(text)?),
        None => client.default_max_age().map(|age| age.as_secs()),
    };
    let claims = params.get("claims")?.map(parse_claims).transpose()?;
    let display = params.get("display")?;
    if display.is_some_and(|display| !DISPLAYS.contains(&display)) {
        return Err(OAuthError::invalid_request("unsupported display value"));
    }
    let owned = |name| params.get(name).map(|value| value.map(str::to_owned));
    Ok(OpenIdRequest {
        nonce: owned("nonce")?,
        prompt,
        max_age,
        claims,
        login_hint: owned("login_hint")?,
        hint_subject: None,
        ui_locales: owned("ui_locales")?,
        acr_values: owned("acr_values")?,
        display: display.map(str::to_owned),
    })
}

/// `max_age`: a non-negative whole number of seconds.
fn parse_max_age(text: &str) -> Result<u64, OAuthError> {
    let invalid = || OAuthError::invalid_request("max_age must be a whole number of seconds");
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    text.parse().map_err(|_| invalid())
}

/// The `claims` parameter: a JSON object whose `userinfo` and `id_token` members, when
/// present, are objects of claim requests (`null` or an object).
fn parse_claims(text: &str) -> Result<serde_json::Value, OAuthError> {
    let invalid = |why: &str| OAuthError::invalid_request(format!("claims {why}"));
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|_| invalid("is not valid JSON"))?;
    let object = value
        .as_object()
        .ok_or_else(|| invalid("must be a JSON object"))?;
    for member in ["userinfo", "id_token"] {
        let Some(requests) = object.get(member) else {
            continue;
        };
        let requests = requests
            .as_object()
            .ok_or_else(|| invalid("members must be JSON objects"))?;
        if requests
            .values()
            .any(|request| !(request.is_null() || request.is_object()))
        {
            return Err(invalid("requests must be null or JSON objects"));
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_values_are_a_set_and_none_stands_alone() {
        let prompt: Prompt = "consent login".parse().unwrap();
        assert_eq!(prompt.to_string(), "login consent");
        assert!(prompt.contains(Prompt::LOGIN) && !prompt.contains(Prompt::NONE));
        assert!("none".parse::<Prompt>().unwrap().contains(Prompt::NONE));
        assert!("none consent".parse::<Prompt>().is_err());
        assert!("login LOGIN".parse::<Prompt>().is_err());
        assert!(!Prompt::default().contains(Prompt::NONE));
        let json = serde_json::to_string(&prompt).unwrap();
        assert_eq!(serde_json::from_str::<Prompt>(&json).unwrap(), prompt);
    }

    #[test]
    fn claims_requests_are_cut_to_the_consented_scope() {
        let request = serde_json::json!({
            "userinfo": {"email": null, "phone_number": {"essential": true}},
            "id_token": {"auth_time": {"essential": true}, "name": null}
        });
        let email = ScopeSet::parse("openid email").unwrap();
        assert!(!within_scope(&request, &email));
        let kept = consented_claims(&request, &email, &[]);
        assert_eq!(
            kept,
            serde_json::json!({
                "userinfo": {"email": null},
                "id_token": {"auth_time": {"essential": true}}
            })
        );
        assert!(within_scope(&kept, &email));
        let approved = consented_claims(&request, &email, &["name".to_owned()]);
        assert_eq!(approved["id_token"]["name"], serde_json::Value::Null);
        assert!(approved["id_token"].get("name").is_some());
        assert!(asks_for(&request, "auth_time") && !asks_for(&kept, "name"));
    }

    #[test]
    fn max_age_is_digits_only() {
        assert_eq!(parse_max_age("0").unwrap(), 0);
        assert_eq!(parse_max_age("3600").unwrap(), 3600);
        for bad in ["-1", "+5", "1.5", "1e3", " 5", "99999999999999999999999"] {
            assert_eq!(
                parse_max_age(bad).unwrap_err().code(),
                ErrorCode::InvalidRequest,
                "{bad}"
            );
        }
    }

    #[test]
    fn claims_must_be_an_object_of_objects() {
        assert!(parse_claims(r#"{"userinfo":{"email":null,"name":{"essential":true}}}"#).is_ok());
        for bad in [
            "not json",
            "[1]",
            r#"{"userinfo":[]}"#,
            r#"{"id_token":{"email":true}}"#,
        ] {
            assert!(parse_claims(bad).is_err(), "{bad}");
        }
    }
}
