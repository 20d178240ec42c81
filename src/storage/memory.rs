//! [`MemoryStorage`]: the embedded default storage, for a single process.
//!
//! Maps are split into shards, each behind its own `RwLock`, so concurrent requests rarely wait
//! for each other and bearer validation takes one read lock. Every grant has an index entry that
//! lists what was issued under it. Everything that changes a grant — issuing into it, redeeming
//! its code, rotating its refresh token, revoking it — holds the lock of the grant's index shard
//! from start to end, so these steps are atomic with respect to each other, as a SQL transaction
//! would make them. Locks are only ever nested grant-index shard first, then one record shard at
//! a time, so they cannot deadlock.
//!
//! Expired records are dropped on their own: when a shard has doubled in size since its last
//! sweep, the next insert sweeps it, so memory stays proportional to the live records at an
//! amortised constant cost per insert. [`TokenStore::purge_expired`] sweeps everything at once.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::{
    ClientStore, Consent, ConsentStore, Exchange, ExchangeFn, ExchangeKind, ExchangeRecord,
    KeyRecord, KeyStore, NewTokens, ReplayCache, StoredRecord, StoredToken, TokenRecord,
    TokenStore,
};
use crate::BoxFuture;
use crate::authenticator::OwnerId;
use crate::client::{Client, ClientId};
use crate::error::Error;
use crate::time::Timestamp;
use crate::token::{Digest, GrantId};

/// How many shards each map is split into. More shards mean less lock contention; the number
/// also sets where the hash tables sit in their doubling cycle for a given record count (40
/// shards keep 1,000,000 tokens at 76% table load; see BENCHMARKS.md).
const SHARDS: usize = 40;
const MIN_SWEEP_LEN: usize = 64;

/// In-process storage: fast, concurrent, and gone when the process exits. Clones share the same
/// data.
///
/// ```
/// use grantor::MemoryStorage;
///
/// let storage = MemoryStorage::new();
/// let shared = storage.clone(); // the same data, e.g. for an admin task
/// assert_eq!(shared.stats().access_tokens, 0);
/// ```
#[derive(Clone, Default)]
pub struct MemoryStorage {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    clients: RwLock<HashMap<String, Client>>,
    grants: Shards<GrantId, GrantEntry>,
    /// Shared records, so that bearer validation hands them out without copying.
    access: Shards<Digest, Arc<TokenRecord>>,
    /// Exchange records of every kind (codes, refresh tokens, extensions' records).
    records: Shards<Digest, ExchangeRecord>,
    /// Identifiers seen once, until they expire.
    replays: Shards<Digest, Timestamp>,
    /// Signing keys by `kid`.
    keys: RwLock<BTreeMap<String, KeyRecord>>,
    /// Remembered consent and the grants it started, by owner and client.
    consents: RwLock<HashMap<(OwnerId, ClientId), ConsentEntry>>,
}

/// A pair's remembered consent, and the grants it started.
#[derive(Default)]
struct ConsentEntry {
    consent: Option<Consent>,
    /// A set, not a list: one owner approving one client many times must not make each
    /// approval scan every earlier grant.
    grants: BTreeSet<GrantId>,
    /// When `grants` reaches this size, grants that no longer exist are dropped from it (the
    /// automatic sweep removes grants but does not visit consents), so a pair's entry stays
    /// proportional to its live grants between two `purge_expired` calls.
    prune_at: usize,
}

/// How many records a [`MemoryStorage`] holds, expired ones not yet swept included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MemoryStats {
    /// Registered clients.
    pub clients: usize,
    /// Grant index entries.
    pub grants: usize,
    /// Access tokens.
    pub access_tokens: usize,
    /// Exchange records (codes, refresh tokens, extensions' records), spent ones kept for
    /// replay detection included.
    pub records: usize,
    /// Identifiers in the replay cache.
    pub replays: usize,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts the records held.
    pub fn stats(&self) -> MemoryStats {
        let inner = &self.inner;
        MemoryStats {
            clients: read(&inner.clients).len(),
            grants: inner.grants.len(),
            access_tokens: inner.access.len(),
            records: inner.records.len(),
            replays: inner.replays.len(),
        }
    }

    /// Adds tokens to their grant unless it was revoked. Returns whether they were stored.
    /// The caller holds the grant's shard lock.
    fn attach(
        &self,
        grants: &mut Shard<GrantId, GrantEntry>,
        tokens: NewTokens,
        now: Timestamp,
    ) -> bool {
        let inner = &self.inner;
        let entry = grants.entry(tokens.grant(), now);
        if entry.revoked {
            return false;
        }
        let StoredToken { digest, record } = tokens.access;
        entry.include(Member::Access(digest), record.expires_at, now);
        inner.access.write(&digest).insert(digest, record, now);
        if let Some(StoredRecord { digest, record }) = tokens.refresh {
            entry.include(Member::Record(digest), record.retain_until, now);
            inner.records.write(&digest).insert(digest, record, now);
        }
        true
    }

    /// The grant of the record of this kind under `digest`, if there is one.
    fn grant_of(&self, kind: ExchangeKind, digest: &Digest) -> Option<GrantId> {
        let shard = self.inner.records.read(digest);
        shard
            .map
            .get(digest)
            .filter(|record| record.kind == kind)
            .map(|record| record.grant)
    }
}

impl ClientStore for MemoryStorage {
    async fn client(&self, id: &str) -> Result<Option<Client>, Error> {
        Ok(read(&self.inner.clients).get(id).cloned())
    }

    async fn save_client(&self, client: Client) -> Result<(), Error> {
        write(&self.inner.clients).insert(client.id().as_str().to_owned(), client);
        Ok(())
    }

    /// Removes the client first, so that no new request authenticates it, then finds its
    /// grants by scanning the tokens and records (a rare step, linear in what is stored) and
    /// revokes them.
    async fn delete_client(&self, id: &str) -> Result<bool, Error> {
        let inner = &self.inner;
        let deleted = write(&inner.clients).remove(id).is_some();
        let mut grants = std::collections::HashSet::new();
        inner.access.for_each(|record| {
            if record.client_id.as_str() == id {
                grants.insert(record.grant);
            }
        });
        inner.records.for_each(|record| {
            if record.client_id().as_deref() == Some(id) {
                grants.insert(record.grant);
            }
        });
        for grant in &grants {
            self.revoke_grant(grant).await?;
        }
        write(&inner.consents).retain(|(_, client), _| client.as_str() != id);
        Ok(deleted)
    }
}

impl TokenStore for MemoryStorage {
    async fn save_tokens(&self, tokens: NewTokens) -> Result<bool, Error> {
        let now = tokens.access.record.issued_at;
        let mut grants = self.inner.grants.write(&tokens.grant());
        Ok(self.attach(&mut grants, tokens, now))
    }

    async fn access_token(
        &self,
        digest: &Digest,
        now: Timestamp,
    ) -> Result<Option<Arc<TokenRecord>>, Error> {
        let access = self.inner.access.read(digest);
        Ok(access
            .map
            .get(digest)
            .filter(|record| record.expires_at > now)
            .cloned())
    }

    async fn revoke_access_token(&self, digest: &Digest) -> Result<(), Error> {
        self.inner.access.write(digest).map.remove(digest);
        Ok(())
    }

    async fn save_record(
        &self,
        digest: Digest,
        record: ExchangeRecord,
        now: Timestamp,
    ) -> Result<(), Error> {
        let inner = &self.inner;
        let mut grants = inner.grants.write(&record.grant);
        let entry = grants.entry(record.grant, now);
        if !entry.revoked {
            entry.include(Member::Record(digest), record.retain_until, now);
            inner.records.write(&digest).insert(digest, record, now);
        }
        Ok(())
    }

    async fn record(
        &self,
        kind: ExchangeKind,
        digest: &Digest,
    ) -> Result<Option<ExchangeRecord>, Error> {
        let shard = self.inner.records.read(digest);
        Ok(shard
            .map
            .get(digest)
            .filter(|record| record.kind == kind)
            .cloned())
    }

    /// The grant of a record never changes: find it, then hold the grant's lock across the
    /// read, the decision and the write, so that a revocation is ordered before or after the
    /// exchange, never in between. The record's own shard is locked only while the decision is
    /// made and the record rewritten: the new tokens may belong in the same shard.
    async fn exchange<F: ExchangeFn>(
        &self,
        kind: ExchangeKind,
        digest: &Digest,
        now: Timestamp,
        exchange: F,
    ) -> Result<Exchange, Error> {
        let Some(grant) = self.grant_of(kind, digest) else {
            return Ok(Exchange::Unknown);
        };
        let mut grants = self.inner.grants.write(&grant);
        let mut decision = {
            let mut shard = self.inner.records.write(digest);
            let Some(record) = shard.map.get_mut(digest).filter(|r| r.kind == kind) else {
                // Revoked (and removed) between the lookup and the lock.
                return Ok(Exchange::Unknown);
            };
            let mut decision = exchange(record);
            if let Some(changed) = decision.take_record() {
                let kept_until = record.expires_at();
                record.spent = changed.spent;
                record.expires_at = changed.expires_at;
                record.retain_until = changed.retain_until;
                record.data = changed.data;
                // Kept longer than the grant's index knows (a spent code, kept as long as its
                // tokens): list it again with its new time, so that pruning the index never
                // drops it while it is kept. The stale listing is pruned in time; revoking
                // twice is harmless.
                let until = record.expires_at();
                if until > kept_until {
                    grants
                        .entry(grant, now)
                        .include(Member::Record(*digest), until, now);
                }
            }
            decision
        };
        let stored = match decision.take_tokens(grant) {
            Some(tokens) => self.attach(&mut grants, tokens, now),
            None => true,
        };
        Ok(decision.finish(grant, stored))
    }

    async fn revoke_grant(&self, grant: &GrantId) -> Result<(), Error> {
        let inner = &self.inner;
        let mut grants = inner.grants.write(grant);
        let Some(entry) = grants.map.get_mut(grant) else {
            return Ok(());
        };
        entry.revoked = true;
        for member in std::mem::take(&mut entry.members).into_members() {
            match member {
                Member::Access(d) => drop(inner.access.write(&d).map.remove(&d)),
                Member::Record(d) => drop(inner.records.write(&d).map.remove(&d)),
            }
        }
        Ok(())
    }

    fn consent_store(&self) -> Option<&dyn ConsentStore> {
        Some(self)
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<u64, Error> {
        let inner = &self.inner;
        let mut removed = inner.access.sweep(now)
            + inner.records.sweep(now)
            + inner.grants.sweep(now)
            + inner.replays.sweep(now);
        let mut consents = write(&inner.consents);
        consents.retain(|_, entry| {
            let before = entry.grants.len() + usize::from(entry.consent.is_some());
            // A pair's record of a grant goes with the grant.
            entry
                .grants
                .retain(|grant| inner.grants.read(grant).map.contains_key(grant));
            entry.consent = entry.consent.take().filter(|c| c.is_live(now));
            removed += before - entry.grants.len() - usize::from(entry.consent.is_some());
            entry.consent.is_some() || !entry.grants.is_empty()
        });
        Ok(removed as u64)
    }
}

impl ReplayCache for MemoryStorage {
    fn first_use<'a>(
        &'a self,
        key: &'a Digest,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> BoxFuture<'a, Result<bool, Error>> {
        let mut shard = self.inner.replays.write(key);
        let first = match shard.map.get(key) {
            Some(until) if *until > now => false,
            _ => {
                shard.insert(*key, expires_at, now);
                true
            }
        };
        Box::pin(std::future::ready(Ok(first)))
    }
}

impl KeyStore for MemoryStorage {
    fn keys(&self) -> BoxFuture<'_, Result<Vec<KeyRecord>, Error>> {
        let keys = read(&self.inner.keys).values().cloned().collect();
        Box::pin(std::future::ready(Ok(keys)))
    }

    fn save_key(&self, key: KeyRecord) -> BoxFuture<'_, Result<(), Error>> {
        write(&self.inner.keys).insert(key.kid.clone(), key);
        Box::pin(std::future::ready(Ok(())))
    }

    fn delete_key<'a>(&'a self, kid: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        write(&self.inner.keys).remove(kid);
        Box::pin(std::future::ready(Ok(())))
    }
}

impl ConsentStore for MemoryStorage {
    fn consent<'a>(
        &'a self,
        owner: &'a OwnerId,
        client_id: &'a ClientId,
    ) -> BoxFuture<'a, Result<Option<Consent>, Error>> {
        let consents = read(&self.inner.consents);
        let key = (owner.clone(), client_id.clone());
        let consent = consents.get(&key).and_then(|entry| entry.consent.clone());
        Box::pin(std::future::ready(Ok(consent)))
    }

    fn save_consent(&self, consent: Consent) -> BoxFuture<'_, Result<(), Error>> {
        let key = (consent.owner.clone(), consent.client_id.clone());
        write(&self.inner.consents).entry(key).or_default().consent = Some(consent);
        Box::pin(std::future::ready(Ok(())))
    }

    fn record_grant<'a>(
        &'a self,
        owner: &'a OwnerId,
        client_id: &'a ClientId,
        grant: GrantId,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let inner = &self.inner;
        let mut consents = write(&inner.consents);
        let entry = consents
            .entry((owner.clone(), client_id.clone()))
            .or_default();
        entry.grants.insert(grant);
        if entry.grants.len() >= entry.prune_at.max(64) {
            // Amortized: the next pruning waits until the set has doubled again.
            entry
                .grants
                .retain(|g| *g == grant || inner.grants.read(g).map.contains_key(g));
            entry.prune_at = entry.grants.len() * 2;
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn forget<'a>(
        &'a self,
        owner: &'a OwnerId,
        client_id: &'a ClientId,
    ) -> BoxFuture<'a, Result<Vec<GrantId>, Error>> {
        let key = (owner.clone(), client_id.clone());
        let entry = write(&self.inner.consents).remove(&key).unwrap_or_default();
        Box::pin(std::future::ready(Ok(entry.grants.into_iter().collect())))
    }
}

impl std::fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStorage")
            .field("stats", &self.stats())
            .finish()
    }
}

/// A record that stops mattering at some point in time.
trait Expiring {
    fn expires_at(&self) -> Timestamp;
}

impl Expiring for Arc<TokenRecord> {
    fn expires_at(&self) -> Timestamp {
        self.expires_at
    }
}

impl Expiring for ExchangeRecord {
    fn expires_at(&self) -> Timestamp {
        self.retain_until.max(self.expires_at)
    }
}

impl Expiring for Timestamp {
    fn expires_at(&self) -> Timestamp {
        *self
    }
}

/// A record issued under a grant, by kind and digest.
#[derive(Clone, Copy)]
enum Member {
    Access(Digest),
    Record(Digest),
}

/// What was issued under one grant, kept until the last of it expires.
struct GrantEntry {
    members: Members,
    expires_at: Timestamp,
    revoked: bool,
}

impl GrantEntry {
    /// Adds a member that stops mattering at `expires_at`.
    fn include(&mut self, member: Member, expires_at: Timestamp, now: Timestamp) {
        // A lone member expires with its grant, so its time needs no storing.
        let first_until = self.expires_at;
        self.members = match std::mem::take(&mut self.members) {
            Members::None => Members::One(member),
            Members::One(first) => Members::Many(vec![(first, first_until), (member, expires_at)]),
            Members::Many(mut all) => {
                // A grant refreshed forever keeps gaining members, so whenever the list reaches a
                // power of two the expired ones are dropped: amortised O(1), and the list stays
                // proportional to the grant's live records.
                if all.len() >= 8 && all.len().is_power_of_two() {
                    all.retain(|(_, until)| *until > now);
                }
                all.push((member, expires_at));
                Members::Many(all)
            }
        };
        self.expires_at = self.expires_at.max(expires_at);
    }
}

/// The members of a grant. Most grants (client credentials, password without refresh) only
/// ever have one, kept inline so that the grant index costs no allocation per token; with more,
/// each carries the time it stops mattering.
#[derive(Default)]
enum Members {
    #[default]
    None,
    One(Member),
    Many(Vec<(Member, Timestamp)>),
}

impl Members {
    fn into_members(self) -> Vec<Member> {
        match self {
            Members::None => Vec::new(),
            Members::One(member) => vec![member],
            Members::Many(all) => all.into_iter().map(|(member, _)| member).collect(),
        }
    }
}

impl Expiring for GrantEntry {
    fn expires_at(&self) -> Timestamp {
        self.expires_at
    }
}

impl Shard<GrantId, GrantEntry> {
    /// The entry of a grant, created empty if new.
    fn entry(&mut self, grant: GrantId, now: Timestamp) -> &mut GrantEntry {
        if !self.map.contains_key(&grant) {
            self.maybe_sweep(now);
        }
        self.map.entry(grant).or_insert_with(|| GrantEntry {
            members: Members::None,
            expires_at: now,
            revoked: false,
        })
    }
}

/// A key whose bytes are uniformly random, so they pick a shard and a hash bucket directly.
trait RandomKey: Hash + Eq {
    fn shard(&self) -> usize;
}

impl RandomKey for Digest {
    fn shard(&self) -> usize {
        shard_of(self.as_bytes())
    }
}

impl RandomKey for GrantId {
    fn shard(&self) -> usize {
        shard_of(self.as_bytes())
    }
}

/// The hash uses bytes 0..8; the shard uses bytes 8..10, so the two are independent (and 16
/// bits keep the shards even when `SHARDS` is not a power of two).
fn shard_of(random: &[u8]) -> usize {
    usize::from(u16::from_le_bytes([random[8], random[9]])) % SHARDS
}

/// Passes through the 64-bit value `Digest` and `GrantId` hash to: they are already random.
#[derive(Default)]
struct PassThroughHasher(u64);

impl Hasher for PassThroughHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only reached by keys that do not hash as a single u64; mix them in FNV-1a style.
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

type Map<K, V> = HashMap<K, V, BuildHasherDefault<PassThroughHasher>>;

struct Shard<K, V> {
    map: Map<K, V>,
    /// The size at which the next insert sweeps expired records.
    sweep_at: usize,
}

impl<K, V> Default for Shard<K, V> {
    fn default() -> Self {
        Self {
            map: Map::default(),
            sweep_at: MIN_SWEEP_LEN,
        }
    }
}

impl<K: RandomKey, V: Expiring> Shard<K, V> {
    fn insert(&mut self, key: K, value: V, now: Timestamp) {
        self.maybe_sweep(now);
        self.map.insert(key, value);
    }

    fn maybe_sweep(&mut self, now: Timestamp) {
        if self.map.len() >= self.sweep_at {
            self.sweep(now);
            self.sweep_at = (self.map.len() * 2).max(MIN_SWEEP_LEN);
        }
    }

    /// Drops expired records, and gives memory back when the table has become mostly empty.
    fn sweep(&mut self, now: Timestamp) -> usize {
        let before = self.map.len();
        self.map.retain(|_, v| v.expires_at() > now);
        if self.map.capacity() > 4 * self.map.len().max(MIN_SWEEP_LEN) {
            self.map.shrink_to_fit();
        }
        before - self.map.len()
    }
}

struct Shards<K, V>(Box<[PaddedShard<K, V>]>);

/// One shard behind its lock, alone on its cache lines.
type PaddedShard<K, V> = Padded<RwLock<Shard<K, V>>>;

/// Keeps each shard's lock and table header on cache lines of its own (128 bytes: two lines,
/// as adjacent-line prefetchers pull pairs), so that threads working on different shards never
/// invalidate each other's lines.
#[repr(align(128))]
#[derive(Default)]
struct Padded<T>(T);

impl<K, V> Default for Shards<K, V> {
    fn default() -> Self {
        Self((0..SHARDS).map(|_| Padded::default()).collect())
    }
}

impl<K: RandomKey, V: Expiring> Shards<K, V> {
    fn read(&self, key: &K) -> RwLockReadGuard<'_, Shard<K, V>> {
        read(&self.0[key.shard()].0)
    }

    fn write(&self, key: &K) -> RwLockWriteGuard<'_, Shard<K, V>> {
        write(&self.0[key.shard()].0)
    }

    fn len(&self) -> usize {
        self.0.iter().map(|s| read(&s.0).map.len()).sum()
    }

    fn sweep(&self, now: Timestamp) -> usize {
        self.0.iter().map(|s| write(&s.0).sweep(now)).sum()
    }

    /// Visits every value, one shard's read lock at a time.
    fn for_each(&self, mut visit: impl FnMut(&V)) {
        for shard in &self.0 {
            read(&shard.0).map.values().for_each(&mut visit);
        }
    }
}

// A panic while a lock is held cannot leave a map half-updated (every update is a single
// insert or remove), so a poisoned lock is safe to keep using.
fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u8) -> Digest {
        Digest::from_bytes([n; 32])
    }

    // A grant refreshed forever keeps only its live members.
    #[test]
    fn grant_members_stay_proportional_to_live_records() {
        let mut entry = GrantEntry {
            members: Members::None,
            expires_at: Timestamp::from_secs(0),
            revoked: false,
        };
        for t in 0..1000u64 {
            let now = Timestamp::from_secs(t);
            entry.include(Member::Access(digest(1)), Timestamp::from_secs(t + 3), now);
        }
        let Members::Many(all) = &entry.members else {
            panic!("a thousand members are many");
        };
        assert!(all.len() <= 16, "{}", all.len());
        assert_eq!(entry.expires_at, Timestamp::from_secs(1002));
    }

    // One owner approving one client many times: the pair's record keeps the grants that still
    // exist and the one just recorded, not every grant it ever started.
    #[test]
    fn consent_grants_stay_proportional_to_live_grants() {
        let storage = MemoryStorage::new();
        let (owner, client) = (
            OwnerId::new("alice"),
            ClientId::new("app").expect("valid id"),
        );
        let mut last = None;
        for _ in 0..1000 {
            // None of these grants exists in the store (as if swept).
            let grant = GrantId::generate();
            let mut recorded = storage.record_grant(&owner, &client, grant);
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            assert!(matches!(
                recorded.as_mut().poll(&mut cx),
                std::task::Poll::Ready(Ok(()))
            ));
            last = Some(grant);
        }
        let consents = read(&storage.inner.consents);
        let entry = &consents[&(owner, client)];
        assert!(entry.grants.len() <= 64, "{}", entry.grants.len());
        assert!(entry.grants.contains(&last.expect("recorded")));
    }
}
