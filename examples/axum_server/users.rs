//! The example's user store: usernames with argon2id password hashes and OpenID Connect claims.
//!
//! **This is where a host plugs in its own users.** grantor never sees a password hash: it asks
//! the [`Authenticator`] "who is this?" for the password grant, and the login page below asks the
//! same question. Replace [`Users`] with a type that queries your user table and verifies with the
//! hasher you already use; keep the two rules shown here: hash with a slow, salted algorithm, and
//! answer "unknown user" and "wrong password" the same way, in the same time.
//!
//! Every password check runs argon2id, which takes about 19 MiB and tens of milliseconds: left
//! alone, a burst of failed logins costs memory in proportion to its size. So at most
//! [`HASHING_PERMITS`] hashes run at once (callers queue for a permit, at most [`MAX_QUEUED`] of
//! them; past that, "try again" without hashing), and failed attempts are counted per account
//! and per caller address over a sliding window ([`Throttle`]): past the limit the answer is
//! "try again later", again without hashing.
//!
//! The same store answers grantor's [`ClaimsSource`]: what UserInfo may tell a client about a
//! user (grantor keeps only the claims the client's granted scopes allow).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use grantor::oidc::{ClaimSet, ClaimsSource};
use grantor::{Authenticator, BoxFuture, Clock, Error, OwnerId, Password, SystemClock, Timestamp};
use tokio::sync::Semaphore;

use super::setup::UserEntry;

/// Users, their argon2id hashes (PHC strings, salt included) and their claims. Cloning is
/// cheap and shares the store: the login page, the password grant and the claims source hold
/// one each.
#[derive(Clone)]
pub struct Users(Arc<Directory>);

/// Host's choice: how many password hashes may run at once (each argon2id with default
/// parameters takes 19 MiB).
pub const HASHING_PERMITS: usize = 2;
/// Host's choice: how many password checks may wait for a permit; past it, a check is turned
/// away at once ("try again").
pub const MAX_QUEUED: usize = 32;
/// Host's choice: the sliding window failed attempts are counted over.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(5 * 60);
/// Host's choice: failed attempts per account within the window before it must wait.
pub const FAILURES_PER_ACCOUNT: usize = 5;
/// Host's choice: failed attempts per caller address within the window before it must wait.
pub const FAILURES_PER_ADDRESS: usize = 20;
/// The most accounts and addresses the throttle remembers (memory stays bounded).
const MAX_TRACKED: usize = 100_000;

struct Directory {
    accounts: HashMap<String, Account>,
    /// Verified when the username is unknown, so that a missing user costs as much time as a
    /// wrong password and response times do not reveal who has an account.
    decoy: String,
    /// Permits to run a hash.
    hashing: Semaphore,
    /// Checks waiting for a permit.
    queued: AtomicUsize,
    /// Hashes run so far, and running now, and the most ever running at once (what the
    /// tests count).
    hashes: AtomicUsize,
    running: AtomicUsize,
    peak: AtomicUsize,
    throttle: Mutex<Throttle>,
}

/// The answer to a password check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The password is right.
    Valid(OwnerId),
    /// Unknown user or wrong password (the two are not told apart).
    Invalid,
    /// Too many failed attempts for this account or from this address lately, or too many
    /// checks waiting: no hash was computed; try again later.
    TryLater,
}

/// Failed attempts per key (an account, or a caller address), each a list of the failures'
/// times within the window: a sliding window, exact, and small (at most the limit's number of
/// times are kept per key).
#[derive(Default)]
pub struct Throttle {
    failures: HashMap<String, VecDeque<Timestamp>>,
}

impl Throttle {
    /// Whether `key` has had fewer than `limit` failures in the window before `now`.
    fn allows(&mut self, key: &str, limit: usize, now: Timestamp) -> bool {
        let Some(times) = self.failures.get_mut(key) else {
            return true;
        };
        while times
            .front()
            .is_some_and(|t| t.after(FAILURE_WINDOW) <= now)
        {
            times.pop_front();
        }
        if times.is_empty() {
            self.failures.remove(key);
            return true;
        }
        times.len() < limit
    }

    /// Counts a failure of `key` at `now`, keeping no more than `limit` times.
    fn fail(&mut self, key: &str, limit: usize, now: Timestamp) {
        if self.failures.len() >= MAX_TRACKED && !self.failures.contains_key(key) {
            // Forget keys whose failures have all left the window; if every key is still
            // busy, the oldest-failing half goes (a flood of keys cannot grow the map).
            self.failures
                .retain(|_, times| times.back().is_some_and(|t| t.after(FAILURE_WINDOW) > now));
            if self.failures.len() >= MAX_TRACKED {
                let mut last: Vec<Timestamp> = self
                    .failures
                    .values()
                    .filter_map(|times| times.back().copied())
                    .collect();
                let half = last.len() / 2;
                let (_, cut, _) = last.select_nth_unstable(half);
                let cut = *cut;
                self.failures
                    .retain(|_, times| times.back().is_some_and(|t| *t > cut));
            }
        }
        let times = self.failures.entry(key.to_owned()).or_default();
        if times.len() >= limit {
            times.pop_front();
        }
        times.push_back(now);
    }

    fn forget(&mut self, key: &str) {
        self.failures.remove(key);
    }
}

fn account_key(username: &str) -> String {
    format!("user:{username}")
}

fn address_key(address: &str) -> String {
    format!("addr:{address}")
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
            hashing: Semaphore::new(HASHING_PERMITS),
            queued: AtomicUsize::new(0),
            hashes: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            throttle: Mutex::new(Throttle::default()),
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

    /// Checks a login: refused without hashing when the account or the caller's `address`
    /// (`None`: not known, e.g. the password grant) failed too often within the window, or
    /// when too many checks already wait; otherwise the password is hashed (on the blocking
    /// thread pool, at most [`HASHING_PERMITS`] at once) and a failure is counted.
    pub async fn check(
        &self,
        username: &str,
        password: &str,
        address: Option<&str>,
        now: Timestamp,
    ) -> Result<Verdict, Error> {
        let account = account_key(username);
        let address = address.map(address_key);
        {
            let mut throttle = self.throttle();
            let account_ok = throttle.allows(&account, FAILURES_PER_ACCOUNT, now);
            let address_ok = address
                .as_ref()
                .is_none_or(|key| throttle.allows(key, FAILURES_PER_ADDRESS, now));
            if !(account_ok && address_ok) {
                return Ok(Verdict::TryLater);
            }
        }
        match self.verify(username, password).await? {
            Verdict::Valid(owner) => {
                // A success clears the account's failures (not the address's).
                self.throttle().forget(&account);
                Ok(Verdict::Valid(owner))
            }
            Verdict::Invalid => {
                let mut throttle = self.throttle();
                throttle.fail(&account, FAILURES_PER_ACCOUNT, now);
                if let Some(key) = &address {
                    throttle.fail(key, FAILURES_PER_ADDRESS, now);
                }
                Ok(Verdict::Invalid)
            }
            Verdict::TryLater => Ok(Verdict::TryLater),
        }
    }

    /// Hashes run so far.
    pub fn hashes_run(&self) -> usize {
        self.0.hashes.load(Ordering::Relaxed)
    }

    /// The most hashes that ever ran at once.
    pub fn peak_hashing(&self) -> usize {
        self.0.peak.load(Ordering::Relaxed)
    }

    fn throttle(&self) -> std::sync::MutexGuard<'_, Throttle> {
        self.0
            .throttle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Hashes `password` against the user's hash (the decoy's for an unknown user), once a
    /// permit is free; `TryLater` without hashing when too many checks already wait.
    async fn verify(&self, username: &str, password: &str) -> Result<Verdict, Error> {
        // Queue for a permit, unless the queue is full.
        if self.0.queued.fetch_add(1, Ordering::AcqRel) >= MAX_QUEUED {
            self.0.queued.fetch_sub(1, Ordering::AcqRel);
            return Ok(Verdict::TryLater);
        }
        let permit = self.0.hashing.acquire().await;
        self.0.queued.fetch_sub(1, Ordering::AcqRel);
        let _permit = permit.map_err(Error::authenticator)?;
        let known = self.0.accounts.get(username);
        let hash = known.map_or(&self.0.decoy, |account| &account.hash).clone();
        let password = password.to_owned();
        self.0.hashes.fetch_add(1, Ordering::Relaxed);
        let running = self.0.running.fetch_add(1, Ordering::AcqRel) + 1;
        self.0.peak.fetch_max(running, Ordering::AcqRel);
        let matches = tokio::task::spawn_blocking(move || {
            Argon2::default()
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok()
        })
        .await;
        self.0.running.fetch_sub(1, Ordering::AcqRel);
        let matches = matches.map_err(Error::authenticator)?;
        // The user's id in tokens; a real host would use its stable user id, not the login name.
        Ok(match (matches, known) {
            (true, Some(_)) => Verdict::Valid(OwnerId::new(username)),
            _ => Verdict::Invalid,
        })
    }
}

/// The password grant asks the same store as the login page.
impl Authenticator for Users {
    async fn authenticate(
        &self,
        username: &str,
        password: Password<'_>,
    ) -> Result<Option<OwnerId>, Error> {
        // The password grant does not see the caller's address: throttled per account only.
        // Refused or throttled alike, the client gets `invalid_grant`.
        let now = SystemClock.now();
        match self.check(username, password.secret(), None, now).await? {
            Verdict::Valid(owner) => Ok(Some(owner)),
            Verdict::Invalid | Verdict::TryLater => Ok(None),
        }
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
