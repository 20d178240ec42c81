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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use grantor::{AuthorizationRequest, Client, DeviceRequest, OwnerId, ScopeSet, Timestamp};
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const COOKIE: &str = "grantor_session";
/// A session unused for this long is gone (the user logs in again).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How long a user may take to answer one authorization request.
pub const REQUEST_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// Requests one session may have waiting; the oldest is dropped beyond this.
const MAX_PENDING: usize = 8;
/// Host's choice: the most sessions kept in memory; past it, the least recently seen go.
pub const MAX_SESSIONS: usize = 100_000;
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
        Self {
            request,
            id: random_id(),
            created: now,
        }
    }

    fn is_live(&self, now: Timestamp) -> bool {
        self.created.after(REQUEST_LIFETIME) > now
    }
}

/// The session store.
pub struct Sessions {
    entries: Mutex<HashMap<String, Entry>>,
    /// The store size at which the next new session sweeps idle ones.
    sweep_at: AtomicUsize,
    /// Whether cookies get `Secure` (the issuer is `https`).
    secure: bool,
}

impl Sessions {
    /// An empty store; `secure` adds the `Secure` attribute to cookies (always, behind TLS).
    pub fn new(secure: bool) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            sweep_at: AtomicUsize::new(MIN_SWEEP),
            secure,
        }
    }

    /// The session the request's cookie names, unless it is unknown or has been idle too long.
    pub fn resume(&self, headers: &HeaderMap, now: Timestamp) -> Option<Session> {
        let id = cookie_value(headers)?;
        let mut entries = self.lock();
        let entry = entries.get_mut(id)?;
        if entry.last_seen.after(IDLE_TIMEOUT) <= now {
            entries.remove(id);
            return None;
        }
        entry.last_seen = now;
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
        if let Some(entry) = self.lock().get_mut(&session.id) {
            entry.pending.retain(|p| p.is_live(now));
            if entry.pending.len() >= MAX_PENDING {
                entry.pending.remove(0);
            }
            entry.pending.push(held);
        }
    }

    /// Removes and returns the waiting request with this id, to answer it or to work out what
    /// to show next: only one caller at a time gets it, and a request is never copied.
    pub fn take(&self, session: &Session, id: &str, now: Timestamp) -> Option<Held> {
        let mut entries = self.lock();
        let pending = &mut entries.get_mut(&session.id)?.pending;
        let index = pending.iter().position(|p| p.id == id)?;
        let held = pending.remove(index);
        held.is_live(now).then_some(held)
    }

    /// The `Set-Cookie` value for a session.
    pub fn cookie(&self, session: &Session) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie = format!(
            "{COOKIE}={}; Path=/; HttpOnly; SameSite=Lax{secure}",
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
        let mut entries = self.lock();
        // Reclaim idle sessions as new ones arrive (a database-backed store would expire them):
        // each time the store has doubled since the last sweep, so the cost stays O(1) per new
        // session. Anyone can start sessions (every `GET /authorize` does), so past MAX_SESSIONS
        // the least recently seen half goes too: memory stays bounded under a flood.
        if entries.len() >= self.sweep_at.load(Ordering::Relaxed) {
            entries.retain(|_, entry| entry.last_seen.after(IDLE_TIMEOUT) > now);
            if entries.len() >= MAX_SESSIONS {
                let mut seen: Vec<Timestamp> = entries.values().map(|e| e.last_seen).collect();
                let middle = seen.len() / 2;
                let (_, median, _) = seen.select_nth_unstable(middle);
                let median = *median;
                entries.retain(|_, entry| entry.last_seen > median);
            }
            let next = (entries.len() * 2).clamp(MIN_SWEEP, MAX_SESSIONS);
            self.sweep_at.store(next, Ordering::Relaxed);
        }
        entries.insert(
            session.id.clone(),
            Entry {
                csrf: session.csrf.clone(),
                login: session.login.clone(),
                pending,
                last_seen: now,
            },
        );
        session
    }

    /// How many sessions are held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic elsewhere while holding the lock leaves the map itself intact.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The session id from the request's `Cookie` headers.
fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// 256 random bits, base64url: unguessable session, CSRF and request ids.
fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}
