//! The example's user store: usernames with argon2id password hashes.
//!
//! **This is where a host plugs in its own users.** grantor never sees a password hash: it asks
//! the [`Authenticator`] "who is this?" for the password grant, and the login page below asks the
//! same question. Replace [`Users`] with a type that queries your user table and verifies with the
//! hasher you already use; keep the two rules shown here: hash with a slow, salted algorithm, and
//! answer "unknown user" and "wrong password" the same way, in the same time.

use std::collections::HashMap;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use grantor::{Authenticator, Error, OwnerId, Password};

use super::setup::UserEntry;

/// Users and their argon2id hashes (PHC strings, salt included).
pub struct Users {
    hashes: HashMap<String, String>,
    /// Verified when the username is unknown, so that a missing user costs as much time as a
    /// wrong password and response times do not reveal who has an account.
    decoy: String,
}

impl Users {
    /// Hashes each user's password (argon2id, default parameters, random salt).
    pub fn new(entries: &[UserEntry]) -> Result<Self, Error> {
        let hashes = entries
            .iter()
            .map(|user| Ok((user.username.clone(), hash(&user.password)?)))
            .collect::<Result<_, Error>>()?;
        Ok(Self {
            hashes,
            decoy: hash("decoy password for unknown users")?,
        })
    }

    /// The user with these credentials, if they are right.
    ///
    /// Argon2 is deliberately slow (tens of milliseconds): it runs on the blocking thread pool,
    /// never on the async runtime's workers.
    pub async fn verify(&self, username: &str, password: &str) -> Result<Option<OwnerId>, Error> {
        let known = self.hashes.get(username);
        let hash = known.unwrap_or(&self.decoy).clone();
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

fn hash(password: &str) -> Result<String, Error> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| Error::authenticator(e.to_string()))
}
