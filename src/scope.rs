//! Scopes (RFC 6749 §3.3) and sets of them, including *extended* scopes.
//!
//! A scope is a case-sensitive token of printable ASCII without space, `"` or `\`. A scope of the
//! form `base:qualifier` (for example `messages:net.app.core.pm`) is an extended scope: holding
//! the base scope `messages` satisfies it, but holding the extended scope does not satisfy the
//! base (C-SC-3). The split is at the first `:`, so a URI-shaped scope such as
//! `https://api.example.com/read` is an extended scope of `https`; hosts using URI scopes simply
//! never grant a bare `https` scope.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::error::{Error, OAuthError};

/// One scope token, e.g. `read` or `messages:net.app.core.pm`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(Arc<str>);

impl Scope {
    /// Validates a scope token: non-empty, characters `%x21 / %x23-5B / %x5D-7E`.
    pub fn new(token: &str) -> Result<Self, ScopeError> {
        if !token.is_empty() && token.bytes().all(is_scope_char) {
            Ok(Self(token.into()))
        } else {
            Err(ScopeError(()))
        }
    }

    /// The scope token.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the first `:`, or the whole scope if it has no qualifier.
    pub fn base(&self) -> &str {
        self.0.split_once(':').map_or(&self.0, |(base, _)| base)
    }

    /// The part after the first `:`, if this is an extended scope.
    pub fn qualifier(&self) -> Option<&str> {
        self.0.split_once(':').map(|(_, q)| q)
    }

    /// Whether holding `self` satisfies a requirement for `other`: equal, or `self` is the base
    /// scope of the extended scope `other`.
    pub fn satisfies(&self, other: &Scope) -> bool {
        self == other
            || (self.qualifier().is_none()
                && other.qualifier().is_some()
                && *self.0 == *other.base())
    }
}

fn is_scope_char(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// A scope or scope list that breaks RFC 6749 §3.3's grammar: an empty token (a leading,
/// trailing or doubled space) or a character outside `%x21 / %x23-5B / %x5D-7E`.
///
/// The one error of every scope parser ([`Scope::new`], [`ScopeSet::parse`],
/// [`Requirement::scopes`](crate::Requirement::scopes)). A client sees it as `invalid_scope`;
/// in a host's own configuration it is an [`Error::Config`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "malformed scope: scopes are space-delimited tokens of printable ASCII without '\"' or '\\'"
)]
pub struct ScopeError(());

impl From<ScopeError> for OAuthError {
    fn from(_: ScopeError) -> Self {
        OAuthError::invalid_scope("malformed scope")
    }
}

impl From<ScopeError> for Error {
    fn from(error: ScopeError) -> Self {
        Error::config(error.to_string())
    }
}

impl Borrow<str> for Scope {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl FromStr for Scope {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// The scope that makes a request an OpenID Connect request.
pub(crate) const OPENID: &str = "openid";
/// The scope that asks for a refresh token in an OpenID Connect request.
pub(crate) const OFFLINE_ACCESS: &str = "offline_access";

/// A set of scopes, kept sorted and without duplicates; cheap to clone.
///
/// Its text form (also when serialized) is the RFC's space-delimited list, e.g.
/// `"profile read write"`.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ScopeSet(Arc<[Scope]>);

impl ScopeSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a space-delimited scope list (RFC 6749 §3.3). Empty tokens (leading, trailing or
    /// doubled spaces) and invalid characters are a [`ScopeError`].
    pub fn parse(text: &str) -> Result<Self, ScopeError> {
        if text.is_empty() {
            return Ok(Self::new());
        }
        text.split(' ').map(Scope::new).collect()
    }

    /// Whether `text` lists exactly this set's scopes in its (sorted) order, without parsing it.
    pub(crate) fn is_spelled(&self, text: &str) -> bool {
        let mut parts = text.split(' ');
        !self.is_empty()
            && self
                .iter()
                .all(|scope| parts.next() == Some(scope.as_str()))
            && parts.next().is_none()
    }

    /// Whether both sets are the same shared allocation (not merely equal).
    #[cfg(test)]
    pub(crate) fn shares_storage_with(&self, other: &ScopeSet) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The scopes in sorted order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &Scope> {
        self.0.iter()
    }

    /// Whether exactly this scope token is in the set.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.binary_search_by(|s| s.as_str().cmp(scope)).is_ok()
    }

    /// Whether some scope in the set satisfies `scope`: the scope itself, or the base scope of an
    /// extended scope (C-SC-3).
    pub fn satisfies(&self, scope: &Scope) -> bool {
        self.contains(scope.as_str())
            || (scope.qualifier().is_some() && self.contains(scope.base()))
    }

    /// Whether every scope of `other` is satisfied by this set.
    pub fn satisfies_all(&self, other: &ScopeSet) -> bool {
        other.iter().all(|s| self.satisfies(s))
    }

    /// The scopes of `self` that `other` satisfies.
    pub fn restricted_to(&self, other: &ScopeSet) -> ScopeSet {
        if other.satisfies_all(self) {
            return self.clone();
        }
        self.iter()
            .filter(|s| other.satisfies(s))
            .cloned()
            .collect()
    }

    /// The set without the scope token `scope` (the same set when it is not there).
    pub fn without(&self, scope: &str) -> ScopeSet {
        if !self.contains(scope) {
            return self.clone();
        }
        self.iter()
            .filter(|s| s.as_str() != scope)
            .cloned()
            .collect()
    }

    /// Every scope in either set.
    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        if other.is_empty() {
            return self.clone();
        }
        self.iter().chain(other.iter()).cloned().collect()
    }

    /// The comma-separated form used by the `X-OAuth-Scopes` header (C-BR-6).
    pub fn to_header_value(&self) -> String {
        self.join(",")
    }

    fn join(&self, separator: &str) -> String {
        let mut out = String::new();
        for (i, scope) in self.iter().enumerate() {
            if i > 0 {
                out.push_str(separator);
            }
            out.push_str(scope.as_str());
        }
        out
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut scopes: Vec<Scope> = iter.into_iter().collect();
        scopes.sort_unstable();
        scopes.dedup();
        Self(scopes.into())
    }
}

impl FromStr for ScopeSet {
    type Err = ScopeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

impl serde::Serialize for ScopeSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &*self.0 {
            // The common case, a single scope, needs no joining.
            [one] => serializer.serialize_str(one.as_str()),
            _ => serializer.serialize_str(&self.join(" ")),
        }
    }
}

impl<'de> serde::Deserialize<'de> for ScopeSet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        ScopeSet::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn set(s: &str) -> ScopeSet {
        ScopeSet::parse(s).unwrap()
    }

    // C-AZ-8: space-delimited and case-sensitive.
    #[test]
    fn parses_space_delimited_case_sensitive_sets() {
        let s = set("write read Read read");
        assert_eq!(s.to_string(), "Read read write");
        assert!(s.contains("Read") && s.contains("read"));
        assert_eq!(ScopeSet::parse("").unwrap(), ScopeSet::new());
    }

    #[test]
    fn rejects_malformed_lists() {
        for bad in [
            " read",
            "read ",
            "a  b",
            "a\"b",
            "a\\b",
            "caf\u{e9}",
            "a\tb",
        ] {
            let err = ScopeSet::parse(bad).unwrap_err();
            assert_eq!(
                OAuthError::from(err).code(),
                ErrorCode::InvalidScope,
                "{bad:?}"
            );
        }
    }

    // C-SC-3: the base scope satisfies its extended scopes, not the other way round.
    #[test]
    fn base_scope_satisfies_extended_scopes() {
        let pm = Scope::new("messages:net.app.core.pm").unwrap();
        let messages = Scope::new("messages").unwrap();
        assert_eq!(pm.base(), "messages");
        assert_eq!(pm.qualifier(), Some("net.app.core.pm"));
        assert!(messages.satisfies(&pm));
        assert!(!pm.satisfies(&messages));
        assert!(set("messages").satisfies(&pm));
        assert!(!set("messages:net.app.core.pm").satisfies(&messages));
        assert!(!set("message").satisfies(&pm));
        assert!(set("basic messages").satisfies_all(&set("basic messages:x messages:y")));
    }

    // A request spelling out a registered set is recognised without parsing; anything else is
    // not (and then goes through the parser, which rejects what is malformed).
    #[test]
    fn spelled_sets() {
        let s = set("read write");
        assert!(s.is_spelled("read write"));
        for other in [
            "write read",
            "read",
            "read write admin",
            " read write",
            "read write ",
            "read  write",
            "read read write",
            "",
        ] {
            assert!(!s.is_spelled(other), "{other:?}");
        }
        assert!(!ScopeSet::new().is_spelled(""));
    }

    #[test]
    fn restriction_and_union() {
        // When the other set covers all of `self`, `self` comes back whole.
        assert_eq!(set("a b").restricted_to(&set("a b c")), set("a b"));
        assert_eq!(
            set("messages:pm").restricted_to(&set("messages")),
            set("messages:pm")
        );
        let requested = set("a b messages:pm");
        assert_eq!(
            requested.restricted_to(&set("a messages")).to_string(),
            "a messages:pm"
        );
        assert_eq!(set("b").union(&set("a")).to_string(), "a b");
        assert_eq!(set("b a").to_header_value(), "a,b");
    }

    mod properties {
        use proptest::prelude::*;

        use crate::scope::ScopeSet;

        /// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, tokens separated by
        /// single spaces; the empty string is the empty set.
        fn reference(text: &str) -> bool {
            let nqchar =
                |b: u8| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b);
            text.is_empty()
                || text
                    .split(' ')
                    .all(|token| !token.is_empty() && token.bytes().all(nqchar))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(10_000))]

            // Any text: parsed exactly when the grammar says so, never a panic.
            #[test]
            fn parsing_agrees_with_the_grammar(text in "[ -~\\t\"\\\\é]{0,30}") {
                prop_assert_eq!(ScopeSet::parse(&text).is_ok(), reference(&text));
            }

            // A valid list reads back as a set: each token in it, and its text parses to the
            // same set.
            #[test]
            fn valid_lists_round_trip(
                tokens in proptest::collection::vec("[!#-\\[\\]-~]{1,10}", 1..6),
            ) {
                let text = tokens.join(" ");
                let set = ScopeSet::parse(&text).unwrap();
                for token in &tokens {
                    prop_assert!(set.contains(token));
                }
                prop_assert_eq!(ScopeSet::parse(&set.to_string()).unwrap(), set);
            }
        }
    }
}
