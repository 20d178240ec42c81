//! Browser sessions for the login and consent pages.
//!
//! An in-memory store keyed by a random id that the browser keeps in a cookie (`HttpOnly`, so
//! scripts cannot read it; `SameSite=Lax`, so other sites cannot post forms with it). A session
//! holds three things: who is logged in and since when (OpenID Connect's `prompt=login` and
//! `max_age` ask for a login newer than some time), the CSRF token its forms must carry, and the
//! authorization requests waiting for the user's decision, each under a random id that the
//! consent form posts back. A request is removed when it is answered, so a replayed consent POST
//! finds nothing.
//!
//! Host's choice: most apps already have a session layer (tower-sessions, actix-session, a
//! signed cookie, …). Use it and keep the same three things in it; what matters is that the
//! pending `AuthorizationRequest` stays on the server, where the user cannot edit it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grantor::{AuthorizationRequest, Client, DeviceRequest, OwnerId, ScopeSet, Timestamp};
use subtle::ConstantTimeEq;

/// The session cookie's name over plain HTTP (a local demo).
pub const COOKIE: &str = "grantor_session";
/// The session cookie's name over HTTPS: the `__Host-` prefix makes browsers accept it only
/// with `Secure`, `Path=/` and no `Domain`, so neither a sibling subdomain nor a plain-HTTP
/// page can plant or overwrite it.
pub const SECURE_COOKIE: &str = "__Host-grantor_session";
/// A session unused for this long is gone (the user logs in again).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How long a user may take to answer one authorization request.
pub const REQUEST_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Requests one session may have waiting; the oldest is dropped beyond this.
const MAX_PENDING: usize = 8;
/// Host's choice: the most sessions kept in memory; past it, the least recently seen half go.
pub const MAX_SESSIONS: usize = 100_000;
/// Host's choice: the most bytes the sessions may hold (an estimate: ids, logins and the
/// waiting requests); past it, the least recently seen half go. A session holds at most
/// `MAX_PENDING` requests, but a request can carry long parameters, so counting sessions
/// alone does not bound memory.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;
/// The smallest store size at which idle sessions are swept.
const MIN_SWEEP: usize = 1024;

/// What a handler sees of a session: a snapshot.
#[derive(Clone)]
pub struct Session {
    /// The id in the cookie.
    pub id: String,
    /// The token every form of this session carries.
    pub csrf: String,
    /// Who is logged in, if anyone.
    pub login: Option<Login>,
    /// When the session ends if it is not used again.
    pub expires_at: Timestamp,
}

/// A user's login: who, and when they entered their password (the ID token's `auth_time`).
#[derive(Clone)]
pub struct Login {
    /// The logged-in user.
    pub user: OwnerId,
    /// When they logged in.
    pub at: Timestamp,
}

impl Session {
    /// Whether a form carried this session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, sent: Option<&str>) -> bool {
        sent.is_some_and(|sent| bool::from(self.csrf.as_bytes().ct_eq(sent.as_bytes())))
    }
}

struct Entry {
    csrf: String,
    login: Option<Login>,
    pending: Vec<Held>,
    last_seen: Timestamp,
    /// When the session was last used, as a strictly increasing counter: the exact order of
    /// use, where `last_seen` (whole seconds) ties for every session of the same second.
    used: u64,
    /// The estimated bytes of this entry, counted in [`Store::bytes`].
    bytes: usize,
}

impl Entry {
    /// Estimated memory of the entry: the fixed part, its key and strings, and its requests.
    fn estimate(&self, id: &str) -> usize {
        ENTRY_OVERHEAD
            + id.len()
            + self.csrf.len()
            + self
                .login
                .as_ref()
                .map_or(0, |login| login.user.as_str().len())
            + self.pending.iter().map(|held| held.bytes).sum::<usize>()
    }
}

/// The fixed cost of one entry: the map's slot, the struct, and allocator slack.
const ENTRY_OVERHEAD: usize = 64 + std::mem::size_of::<(String, Entry)>();

/// The sessions and what they weigh.
struct Store {
    entries: HashMap<String, Entry>,
    /// The sum of the entries' `bytes`.
    bytes: usize,
    /// The next value of `Entry::used`.
    clock: u64,
    /// The store size at which the next new session sweeps idle ones.
    sweep_at: usize,
}

impl Store {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn remove(&mut self, id: &str) -> Option<Entry> {
        let entry = self.entries.remove(id)?;
        self.bytes -= entry.bytes;
        Some(entry)
    }

    /// Re-estimates the entry `id` after a change to it.
    fn reweigh(&mut self, id: &str) {
        if let Some(entry) = self.entries.get_mut(id) {
            let bytes = entry.estimate(id);
            self.bytes = self.bytes - entry.bytes + bytes;
            entry.bytes = bytes;
        }
    }

    /// Drops the least recently used half of the sessions, by exact order of use (never
    /// by a timestamp that many sessions can share).
    fn evict_older_half(&mut self) {
        let mut order: Vec<u64> = self.entries.values().map(|entry| entry.used).collect();
        let half = order.len() / 2;
        if half == 0 {
            return;
        }
        // The `half`-th oldest use: everything before it goes, and uses are unique.
        let (_, cut, _) = order.select_nth_unstable(half);
        let cut = *cut;
        let mut freed = 0;
        self.entries.retain(|_, entry| {
            let keep = entry.used >= cut;
            if !keep {
                freed += entry.bytes;
            }
            keep
        });
        self.bytes -= freed;
    }

    /// Keeps the store within its bounds after it grew: idle sessions are swept each time
    /// the store has doubled since the last sweep (O(1) per new session, amortized), and
    /// past either bound the least recently used half goes, so memory stays bounded under
    /// a flood (anyone can start sessions: every `GET /authorize` does).
    fn make_room(&mut self, now: Timestamp, limits: Limits) {
        if self.entries.len() >= self.sweep_at {
            let mut freed = 0;
            self.entries.retain(|_, entry| {
                let live = entry.last_seen.after(IDLE_TIMEOUT) > now;
                if !live {
                    freed += entry.bytes;
                }
                live
            });
            self.bytes -= freed;
            self.sweep_at = (self.entries.len() * 2).max(MIN_SWEEP).min(limits.sessions);
        }
        if self.entries.len() > limits.sessions || self.bytes > limits.bytes {
            self.evict_older_half();
            self.sweep_at = (self.entries.len() * 2).max(MIN_SWEEP).min(limits.sessions);
        }
    }
}

/// How much a store may hold.
#[derive(Clone, Copy)]
pub struct Limits {
    /// The most sessions.
    pub sessions: usize,
    /// The most estimated bytes.
    pub bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            sessions: MAX_SESSIONS,
            bytes: MAX_BYTES,
        }
    }
}

/// What waits for the user's answer: an authorization request of the code flow, or a device
/// request whose user code was entered on `/device` (RFC 8628). Both go through the same
/// login and consent pages.
// Most waiting requests are authorization requests; boxing them would cost an allocation each
// for the rarer, smaller device requests' sake.
#[allow(clippy::large_enum_variant)]
pub enum Pending {
    /// A validated authorization request.
    Code(AuthorizationRequest),
    /// A pending device request.
    Device(DeviceRequest),
}

impl Pending {
    /// The client asking.
    pub fn client(&self) -> &Client {
        match self {
            Self::Code(request) => request.client(),
            Self::Device(request) => request.client(),
        }
    }

    /// The scope to ask the user about.
    pub fn scope(&self) -> &ScopeSet {
        match self {
            Self::Code(request) => request.scope(),
            Self::Device(request) => request.scope(),
        }
    }

    /// The resources (RFC 8707) the tokens will be for.
    pub fn resources(&self) -> &[String] {
        match self {
            Self::Code(request) => request.resources(),
            Self::Device(request) => request.resources(),
        }
    }
}

/// A waiting request, taken out of its session by [`Sessions::take`]: answer it, or give it
/// back with [`Sessions::put_back`].
pub struct Held {
    /// The validated request.
    pub request: Pending,
    /// Its id in the session, which the pages' forms post back.
    pub id: String,
    created: Timestamp,
    /// The estimated memory the request takes.
    bytes: usize,
}

impl Held {
    /// A request to keep under a new id, from `now`.
    pub fn new(request: AuthorizationRequest, now: Timestamp) -> Self {
        Self::of(Pending::Code(request), now)
    }

    /// A device request to keep under a new id, from `now`.
    pub fn device(request: DeviceRequest, now: Timestamp) -> Self {
        Self::of(Pending::Device(request), now)
    }

    fn of(request: Pending, now: Timestamp) -> Self {
        let bytes = estimate(&request);
        Self {
            request,
            id: random_id(),
            created: now,
            bytes,
        }
    }

    fn is_live(&self, now: Timestamp) -> bool {
        self.created.after(REQUEST_LIFETIME) > now
    }
}

/// The session store.
pub struct Sessions {
    store: Mutex<Store>,
    limits: Limits,
    /// Whether cookies get `Secure` and the `__Host-` name (the issuer is `https`).
    secure: bool,
}

impl Sessions {
    /// An empty store with the default [`Limits`]; `secure` (always, behind TLS) names the
    /// cookie `__Host-grantor_session` and adds the `Secure` attribute.
    pub fn new(secure: bool) -> Self {
        Self::with_limits(secure, Limits::default())
    }

    /// An empty store that holds no more than `limits`.
    pub fn with_limits(secure: bool, limits: Limits) -> Self {
        Self {
            store: Mutex::new(Store {
                entries: HashMap::new(),
                bytes: 0,
                clock: 0,
                sweep_at: MIN_SWEEP.min(limits.sessions),
            }),
            limits,
            secure,
        }
    }

    /// The session the request's cookie names, unless it is unknown or has been idle too long.
    pub fn resume(&self, headers: &HeaderMap, now: Timestamp) -> Option<Session> {
        let id = cookie_value(headers, self.cookie_name())?;
        let mut store = self.lock();
        let used = store.tick();
        let entry = store.entries.get_mut(id)?;
        if entry.last_seen.after(IDLE_TIMEOUT) <= now {
            store.remove(id);
            return None;
        }
        entry.last_seen = now;
        entry.used = used;
        Some(Session {
            id: id.to_owned(),
            csrf: entry.csrf.clone(),
            login: entry.login.clone(),
            expires_at: now.after(IDLE_TIMEOUT),
        })
    }

    /// A new, anonymous session.
    pub fn start(&self, now: Timestamp) -> Session {
        self.insert(None, Vec::new(), now)
    }

    /// Logs `user` in at `now`. The session gets a new id and CSRF token (so an id planted in
    /// the browser before login is worthless afterwards) and keeps its waiting requests.
    pub fn log_in(&self, session: &Session, user: OwnerId, now: Timestamp) -> Session {
        let pending = self
            .lock()
            .remove(&session.id)
            .map(|entry| entry.pending)
            .unwrap_or_default();
        self.insert(Some(Login { user, at: now }), pending, now)
    }

    /// Keeps a request in the session until the user answers it: a new one from
    /// [`Held::new`], or one given back after [`take`](Self::take) (with its id and age).
    /// The oldest waiting request is dropped when too many wait.
    pub fn put_back(&self, session: &Session, held: Held, now: Timestamp) {
        let mut store = self.lock();
        let used = store.tick();
        let Some(entry) = store.entries.get_mut(&session.id) else {
            return;
        };
        entry.pending.retain(|p| p.is_live(now));
        if entry.pending.len() >= MAX_PENDING {
            entry.pending.remove(0);
        }
        entry.pending.push(held);
        entry.used = used;
        store.reweigh(&session.id);
        store.make_room(now, self.limits);
    }

    /// Removes and returns the waiting request with this id, to answer it or to work out what
    /// to show next: only one caller at a time gets it, and a request is never copied.
    pub fn take(&self, session: &Session, id: &str, now: Timestamp) -> Option<Held> {
        let mut store = self.lock();
        let pending = &mut store.entries.get_mut(&session.id)?.pending;
        let index = pending.iter().position(|p| p.id == id)?;
        let held = pending.remove(index);
        store.reweigh(&session.id);
        held.is_live(now).then_some(held)
    }

    /// The cookie's name: `__Host-grantor_session` over HTTPS, `grantor_session` otherwise.
    pub fn cookie_name(&self) -> &'static str {
        if self.secure { SECURE_COOKIE } else { COOKIE }
    }

    /// The `Set-Cookie` value for a session: `HttpOnly`, `SameSite=Lax`, `Path=/` and never a
    /// `Domain` (host-only); over HTTPS also `Secure`, under the `__Host-` name.
    pub fn cookie(&self, session: &Session) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie = format!(
            "{}={}; Path=/; HttpOnly; SameSite=Lax{secure}",
            self.cookie_name(),
            session.id
        );
        // Ids are base64url, so the value is always a valid header; no cookie if it ever were not.
        HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    fn insert(&self, login: Option<Login>, pending: Vec<Held>, now: Timestamp) -> Session {
        let session = Session {
            id: random_id(),
            csrf: random_id(),
            login,
            expires_at: now.after(IDLE_TIMEOUT),
        };
        let mut store = self.lock();
        let used = store.tick();
        let mut entry = Entry {
            csrf: session.csrf.clone(),
            login: session.login.clone(),
            pending,
            last_seen: now,
            used,
            bytes: 0,
        };
        entry.bytes = entry.estimate(&session.id);
        store.bytes += entry.bytes;
        store.entries.insert(session.id.clone(), entry);
        // The new session is the most recently used, so it survives any eviction.
        store.make_room(now, self.limits);
        session
    }

    /// How many sessions are held.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.lock().entries.is_empty()
    }

    /// The estimated bytes the sessions hold.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        // A panic elsewhere while holding the lock leaves the map itself intact.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Estimated memory of a waiting request: its saved form (every string it holds), plus the
/// fixed part.
fn estimate(request: &Pending) -> usize {
    let held = std::mem::size_of::<Held>();
    match request {
        Pending::Code(request) => {
            held + serde_json::to_vec(&request.save()).map_or(held, |saved| saved.len())
        }
        Pending::Device(request) => {
            held + request.user_code().len()
                + request.client().id().as_str().len()
                + request.scope().to_string().len()
                + request.resources().iter().map(String::len).sum::<usize>()
        }
    }
}

/// The session id from the request's `Cookie` headers.
fn cookie_value<'h>(headers: &'h HeaderMap, cookie: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == cookie)
        .map(|(_, value)| value)
}

/// 256 random bits, base64url: unguessable session, CSRF and request ids.
fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}
