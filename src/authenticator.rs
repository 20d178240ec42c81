//! Resource owners: their identity ([`OwnerId`]) and the [`Authenticator`] the host implements to
//! check their credentials for the password grant.
//!
//! grantor never stores user passwords. The host keeps its users wherever it already does and
//! checks passwords with the hasher it already trusts (argon2, bcrypt, …).

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::error::Error;

/// The host's identifier of a resource owner (a user id, never a password). Serialized as its
/// text.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct OwnerId(Arc<str>);

impl OwnerId {
    /// Wraps the host's user identifier.
    pub fn new(id: impl AsRef<str>) -> Self {
        Self(Arc::from(id.as_ref()))
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OwnerId({:?})", &*self.0)
    }
}

impl From<&str> for OwnerId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

/// A password as sent by a client in a password-grant request; its `Debug` is redacted.
pub struct Password<'a>(&'a str);

impl<'a> Password<'a> {
    pub(crate) fn new(password: &'a str) -> Self {
        Self(password)
    }

    /// The password in clear, to check against the host's stored hash.
    pub fn secret(&self) -> &'a str {
        self.0
    }
}

impl fmt::Debug for Password<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Checks resource-owner credentials for the password grant (RFC 6749 §4.3). A server has the
/// password grant only when given one
/// ([`ServerBuilder::authenticator`](crate::ServerBuilder::authenticator)).
///
/// Return `Ok(Some(owner))` for valid credentials, `Ok(None)` for invalid ones (unknown user and
/// wrong password alike: grantor answers both with the same `invalid_grant`), and `Err` only when
/// the check itself failed (e.g. the user database is down).
///
/// ```
/// use grantor::{Authenticator, Error, OwnerId, Password};
///
/// struct Users;
///
/// impl Authenticator for Users {
///     async fn authenticate(&self, username: &str, password: Password<'_>) -> Result<Option<OwnerId>, Error> {
///         // Look the user up and verify the password with your own hasher.
///         Ok((username == "alice" && password.secret() == "correct horse").then(|| OwnerId::new("user-1")))
///     }
/// }
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// Checks a username and password.
    fn authenticate(
        &self,
        username: &str,
        password: Password<'_>,
    ) -> impl Future<Output = Result<Option<OwnerId>, Error>> + Send;
}

/// A shared authenticator: the host's user store, used by the password grant and by the host's
/// own login page alike.
impl<A: Authenticator> Authenticator for Arc<A> {
    fn authenticate(
        &self,
        username: &str,
        password: Password<'_>,
    ) -> impl Future<Output = Result<Option<OwnerId>, Error>> + Send {
        (**self).authenticate(username, password)
    }
}
