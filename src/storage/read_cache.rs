//! A short-lived cache of rows a SQL backend read (clients, access tokens), off unless the
//! host sets a lifetime (`with_client_cache`, `with_token_cache`).
//!
//! A change made through the same storage value (or a clone of it) drops the entries it
//! touches before the call that made it returns, and a read that raced with the change is not
//! cached (every change bumps a generation; a read caches what it read only if the generation
//! is still the one it started at). So on this instance nothing changed or removed is served
//! once the call that changed or removed it has returned. Another instance (or process) keeps
//! serving its own entry until the entry's lifetime ends.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// At most this many entries are kept; a full cache starts over.
const ENTRIES: usize = 10_000;

/// Rows read recently, by key, each kept for the cache's lifetime.
pub(crate) struct ReadCache<K, V> {
    lifetime: Duration,
    inner: Mutex<Inner<K, V>>,
}

struct Inner<K, V> {
    /// Bumped by every change, so that a read that began before it is not cached after it.
    generation: u64,
    entries: HashMap<K, (Instant, V)>,
}

impl<K: Eq + Hash, V: Clone> ReadCache<K, V> {
    /// A cache whose entries live for `lifetime`.
    pub(crate) fn new(lifetime: Duration) -> Self {
        Self {
            lifetime,
            inner: Mutex::new(Inner {
                generation: 0,
                entries: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        // A panic while holding the lock leaves nothing half-written worth refusing.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached value, if fresh; else the generation a read from the database starts at.
    pub(crate) fn get<Q>(&self, key: &Q) -> Result<V, u64>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let inner = self.lock();
        match inner.entries.get(key) {
            Some((read_at, value)) if read_at.elapsed() < self.lifetime => Ok(value.clone()),
            _ => Err(inner.generation),
        }
    }

    /// Caches a value read at `generation`, unless a change came in since.
    pub(crate) fn put(&self, key: K, value: V, generation: u64) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(key, (Instant::now(), value));
    }

    /// Drops a key's entry, and keeps any read in flight from caching what it read.
    pub(crate) fn invalidate<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let mut inner = self.lock();
        inner.generation = inner.generation.wrapping_add(1);
        inner.entries.remove(key);
    }

    /// Drops every entry (a change whose keys are not known, e.g. a grant's revocation), and
    /// keeps any read in flight from caching what it read.
    pub(crate) fn clear(&self) {
        let mut inner = self.lock();
        inner.generation = inner.generation.wrapping_add(1);
        inner.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_changes_win_over_reads_in_flight() {
        let cache = ReadCache::<String, u32>::new(Duration::from_secs(60));
        let generation = cache.get("a").unwrap_err();
        cache.put("a".to_owned(), 1, generation);
        assert_eq!(cache.get("a"), Ok(1));

        // A read that started before a change does not cache what it read.
        let before = cache.get("b").unwrap_err();
        cache.invalidate("b");
        cache.put("b".to_owned(), 2, before);
        assert!(cache.get("b").is_err());

        cache.invalidate("a");
        assert!(cache.get("a").is_err());

        let generation = cache.get("a").unwrap_err();
        cache.put("a".to_owned(), 3, generation);
        let before = cache.get("c").unwrap_err();
        cache.clear();
        assert!(cache.get("a").is_err());
        cache.put("c".to_owned(), 4, before);
        assert!(cache.get("c").is_err());

        let short = ReadCache::<String, u32>::new(Duration::ZERO);
        let generation = short.get("a").unwrap_err();
        short.put("a".to_owned(), 1, generation);
        assert!(
            short.get("a").is_err(),
            "an entry older than the lifetime is not served"
        );
    }
}
