//! The example's user store: usernames with argon2id password hashes and OpenID Connect claims.
//!
//! **This is where a host plugs in its own users.** grantor never sees a password hash: it asks
//! the [`Authenticator`] "who is this?" for the password grant, and the login page below asks the
//! same question. Replace [`Users`] with a type that queries your user table and verifies with the
//! hasher you already use; keep the two rules shown here: hash with a slow, salted algorithm, and
//! answer "unknown user" and "wrong password" the same way, in the same time.
//!
//! The same store answers grantor's [`ClaimsSource`]: what UserInfo may tell a client about a
//! user (grantor keeps only the claims the client's granted scopes allow).

use std::collections::HashMap;
use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use grantor::oidc::{ClaimSet, ClaimsSource};
use grantor::{Authenticator, BoxFuture, Error, OwnerId, Password};

use super::setup::UserEntry;

/// Users, their argon2id hashes (PHC strings, salt included) and their claims. Cloning is
/// cheap and shares the store: the login page, the password grant and the claims source hold
/// one each.
#[derive(Clone)]
pub struct Users(Arc<Directory>);

struct Directory {
    accounts: HashMap<String, Account>,
    /// Verified when the username is unknown, so that a missing user costs as much time as a
    /// wrong password and response times do not reveal who has an account.
    decoy: String,
}

struct Account {
    hash: String,
    claims: ClaimSet,
}

impl Users {
    /// Hashes each user's password (argon2id, default parameters, random salt).
    pub fn new(entries: &[UserEntry]) -> Result<Self, Error> {
        let accounts = entries
            .iter()
            .map(|user| {
                let account = Account {
                    hash: hash(&user.password)?,
                    claims: user.claims.clone(),
                };
                Ok((user.username.clone(), account))
            })
            .collect::<Result<_, Error>>()?;
        Ok(Self(Arc::new(Directory {
            accounts,
            decoy: hash("decoy password for unknown users")?,
        })))
    }

    /// Every claim name some user has: what discovery lists as `claims_supported`.
    pub fn claim_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .0
            .accounts
            .values()
            .flat_map(|account| account.claims.keys().cloned())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The user with these credentials, if they are right.
    ///
    /// Argon2 is deliberately slow (tens of milliseconds): it runs on the blocking thread pool,
    /// never on the async runtime's workers.
    pub async fn verify(&self, username: &str, password: &str) -> Result<Option<OwnerId>, Error> {
        let known = self.0.accounts.get(username);
        let hash = known.map_or(&self.0.decoy, |account| &account.hash).clone();
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            Argon2::default()
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok()
        })
        .await
        .map_err(Error::authenticator)?;
        // The user's id in tokens; a real host would use its stable user id, not the login name.
        Ok((matches && known.is_some()).then(|| OwnerId::new(username)))
    }
}

/// The password grant asks the same store as the login page.
impl Authenticator for Users {
    async fn authenticate(
        &self,
        username: &str,
        password: Password<'_>,
    ) -> Result<Option<OwnerId>, Error> {
        self.verify(username, password.secret()).await
    }
}

/// UserInfo's claims: those of the user's configured `claims` that grantor asks for (`wanted`,
/// from the granted scopes and the request's `claims` parameter); `None` for a user who no
/// longer exists, which makes grantor refuse the token.
impl ClaimsSource for Users {
    fn claims<'a>(
        &'a self,
        owner: &'a OwnerId,
        wanted: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Option<ClaimSet>, Error>> {
        let claims = self.0.accounts.get(owner.as_str()).map(|account| {
            account
                .claims
                .iter()
                .filter(|(name, _)| wanted.contains(&name.as_str()))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect()
        });
        Box::pin(std::future::ready(Ok(claims)))
    }
}

fn hash(password: &str) -> Result<String, Error> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| Error::authenticator(e.to_string()))
}
