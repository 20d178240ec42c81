//! Abuse limits (C-OB-3): a [`Limiter`] is asked before each client-secret and password check
//! whether the attempt may go ahead, and told of each one that failed. A refused attempt is
//! answered at once, before any hashing, with an error that says so:
//!
//! * **client authentication** (`client_secret_basic`, `client_secret_post`):
//!   `invalid_client`, description "too many failed attempts, try again later", answered as a
//!   failed authentication of the same method is: `401` with the `Basic` challenge for Basic,
//!   `400` for `client_secret_post`;
//! * **the password grant**: `400 invalid_grant`, description "too many failed attempts, try
//!   again later". RFC 6749 §5.2 defines no `429` or `temporarily_unavailable` for the token
//!   endpoint, so clients already handle this answer; its description tells it apart from a
//!   wrong password.
//!
//! Attempts are keyed by the client id named (client secrets), by the username (passwords),
//! and by the caller's address when the host puts a [`ClientAddress`] into the request's
//! extensions. Only failed checks count: a success is neither counted nor resets the count (a
//! reset would give a guesser who also knows the right credentials new attempts).
//!
//! Every key can be locked by anyone who fails on purpose: a client id or username under
//! attack is refused for the window even with the right credentials. That is the price of
//! computing no hash for a refused attempt; keep windows short, and pass the address so that
//! its key, rather than the shared ones, stops most guessing.
//!
//! The device flow's user codes keep their own limiter (C-DV-3,
//! [`ConfigBuilder::device_user_code_attempts`](crate::ConfigBuilder::device_user_code_attempts)),
//! which reserves each attempt atomically before the lookup.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use crate::BoxFuture;
use crate::error::Error;
use crate::time::Timestamp;

/// The address of the caller, as the host's HTTP stack knows it (the peer address, or the one
/// a trusted proxy reported). Insert it into the request's extensions
/// (`request.extensions_mut().insert(ClientAddress(ip))`) for failed attempts to be counted
/// by address too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddress(pub IpAddr);

/// Which kind of check an attempt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Check {
    /// A client secret (`client_secret_basic` or `client_secret_post`) or a client assertion
    /// (`private_key_jwt`, `client_secret_jwt`).
    ClientSecret,
    /// A resource owner's password (the password grant).
    Password,
}

/// What failed attempts are counted by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitKey {
    /// The client id a request named.
    Client(String),
    /// The username a password request named.
    Account(String),
    /// The caller's address; an IPv6 address counts by its /64, which one host usually has.
    Address(IpAddr),
}

impl LimitKey {
    /// The key of an address: IPv6 by its /64 prefix.
    pub fn address(ip: IpAddr) -> Self {
        Self::Address(match ip {
            IpAddr::V4(_) => ip,
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
        })
    }
}

/// Decides whether a check may be attempted, from the failures recorded for its keys.
///
/// Object-safe: the server holds an `Arc<dyn Limiter>`. An `Err` refuses the attempt with
/// `server_error` (a limiter that cannot answer fails closed).
pub trait Limiter: Send + Sync + 'static {
    /// Whether an attempt of `check` keyed by every one of `keys` may go ahead: `false` when
    /// any key has reached its limit.
    fn allow<'a>(
        &'a self,
        check: Check,
        keys: &'a [LimitKey],
        now: Timestamp,
    ) -> BoxFuture<'a, Result<bool, Error>>;

    /// Records one failed attempt of `check` against each of `keys`.
    fn failed<'a>(
        &'a self,
        check: Check,
        keys: &'a [LimitKey],
        now: Timestamp,
    ) -> BoxFuture<'a, Result<(), Error>>;
}

/// The default [`Limiter`]: at most `max_failures` failed attempts per key within a sliding
/// `window`, counted in this process (each instance of a fleet counts its own), in a map of at
/// most `capacity` keys. When the map is full, keys whose failures have all left the window go
/// first, then an arbitrary key: flooding it with fresh keys can make it forget some, never
/// grow without bound.
///
/// Default: 10 failures per key within 5 minutes, 100,000 keys.
pub struct MemoryLimiter {
    max_failures: u32,
    window: Duration,
    capacity: usize,
    failures: Mutex<HashMap<(Check, LimitKey), VecDeque<Timestamp>>>,
}

impl MemoryLimiter {
    /// A limiter allowing `max_failures` failed attempts per key within `window` (at least one
    /// failure, and one second).
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window: window.max(Duration::from_secs(1)),
            capacity: 100_000,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The most keys kept (default 100,000; at least 1).
    #[must_use]
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// The first instant still inside the window.
    fn since(&self, now: Timestamp) -> u64 {
        now.as_secs().saturating_sub(self.window.as_secs())
    }

    fn recent(&self, times: &VecDeque<Timestamp>, now: Timestamp) -> usize {
        let since = self.since(now);
        times.iter().filter(|at| at.as_secs() > since).count()
    }
}

impl Default for MemoryLimiter {
    fn default() -> Self {
        Self::new(10, Duration::from_secs(300))
    }
}

impl fmt::Debug for MemoryLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryLimiter")
            .field("max_failures", &self.max_failures)
            .field("window", &self.window)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl Limiter for MemoryLimiter {
    fn allow<'a>(
        &'a self,
        check: Check,
        keys: &'a [LimitKey],
        now: Timestamp,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let max = usize::try_from(self.max_failures).unwrap_or(usize::MAX);
        // The common case, no failure recorded at all: no key is copied to be looked up.
        let allowed = failures.is_empty()
            || keys.iter().all(|key| {
                failures
                    .get(&(check, key.clone()))
                    .is_none_or(|times| self.recent(times, now) < max)
            });
        Box::pin(std::future::ready(Ok(allowed)))
    }

    fn failed<'a>(
        &'a self,
        check: Check,
        keys: &'a [LimitKey],
        now: Timestamp,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let since = self.since(now);
        let max = usize::try_from(self.max_failures).unwrap_or(usize::MAX);
        for key in keys {
            let entry = (check, key.clone());
            if failures.len() >= self.capacity && !failures.contains_key(&entry) {
                failures.retain(|_, times| times.back().is_some_and(|at| at.as_secs() > since));
                if failures.len() >= self.capacity
                    && let Some(victim) = failures.keys().next().cloned()
                {
                    failures.remove(&victim);
                }
            }
            let times = match failures.entry(entry) {
                Entry::Occupied(occupied) => occupied.into_mut(),
                Entry::Vacant(vacant) => vacant.insert(VecDeque::new()),
            };
            while times.front().is_some_and(|at| at.as_secs() <= since) || times.len() >= max {
                times.pop_front();
            }
            times.push_back(now);
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

/// Keys of a request: `own` and, when the host passed one, the caller's address.
pub(crate) fn keys(own: LimitKey, extensions: &http::Extensions) -> Vec<LimitKey> {
    let mut keys = vec![own];
    if let Some(ClientAddress(ip)) = extensions.get::<ClientAddress>() {
        keys.push(LimitKey::address(*ip));
    }
    keys
}

/// The description of a refused attempt.
pub(crate) const REFUSED: &str = "too many failed attempts, try again later";

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Timestamp {
        Timestamp::from_secs(secs)
    }

    async fn allowed(limiter: &MemoryLimiter, key: &LimitKey, now: u64) -> bool {
        limiter
            .allow(Check::Password, std::slice::from_ref(key), at(now))
            .await
            .unwrap()
    }

    async fn fail(limiter: &MemoryLimiter, key: &LimitKey, now: u64) {
        limiter
            .failed(Check::Password, std::slice::from_ref(key), at(now))
            .await
            .unwrap();
    }

    // C-OB-3: a sliding window per key, bounded in keys.
    #[tokio::test]
    async fn memory_limiter_counts_failures_in_a_sliding_window() {
        let limiter = MemoryLimiter::new(2, Duration::from_secs(10)).capacity(2);
        let alice = LimitKey::Account("alice".into());
        let bob = LimitKey::Account("bob".into());
        fail(&limiter, &alice, 100).await;
        assert!(allowed(&limiter, &alice, 100).await);
        fail(&limiter, &alice, 105).await;
        assert!(!allowed(&limiter, &alice, 105).await);
        assert!(allowed(&limiter, &bob, 105).await);
        // Another check of the same key counts apart.
        let keys = [alice.clone()];
        assert!(
            limiter
                .allow(Check::ClientSecret, &keys, at(105))
                .await
                .unwrap()
        );
        // The first failure leaves the window at 110, the second at 115.
        assert!(allowed(&limiter, &alice, 110).await);
        fail(&limiter, &alice, 111).await;
        assert!(!allowed(&limiter, &alice, 114).await);
        assert!(allowed(&limiter, &alice, 121).await);
        // Bounded: a third key evicts one, the map never exceeds its capacity.
        fail(&limiter, &bob, 121).await;
        fail(&limiter, &LimitKey::Account("carol".into()), 121).await;
        assert!(limiter.failures.lock().unwrap().len() <= 2);
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(LimitKey::address(a), LimitKey::address(b));
        assert_ne!(LimitKey::address(a), LimitKey::address(c));
        let v4: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(LimitKey::address(v4), LimitKey::Address(v4));
    }
}
