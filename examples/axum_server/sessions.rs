//! Browser sessions for the login and consent pages.
//!
//! An in-memory store keyed by a random id that the browser keeps in a cookie (`HttpOnly`, so
//! scripts cannot read it; `SameSite=Lax`, so other sites cannot post forms with it). A session
//! holds three things: who is logged in, the CSRF token its forms must carry, and the
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
use grantor::{AuthorizationRequest, OwnerId, Timestamp};
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
    /// The logged-in user, if any.
    pub user: Option<OwnerId>,
}

impl Session {
    /// Whether a form carried this session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, sent: Option<&str>) -> bool {
        sent.is_some_and(|sent| bool::from(self.csrf.as_bytes().ct_eq(sent.as_bytes())))
    }
}

struct Entry {
    csrf: String,
    user: Option<OwnerId>,
    pending: Vec<Pending>,
    last_seen: Timestamp,
}

struct Pending {
    id: String,
    request: AuthorizationRequest,
    created: Timestamp,
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
            user: entry.user.clone(),
        })
    }

    /// A new, anonymous session.
    pub fn start(&self, now: Timestamp) -> Session {
        self.insert(None, Vec::new(), now)
    }

    /// Logs `user` in. The session gets a new id and CSRF token (so an id planted in the
    /// browser before login is worthless afterwards) and keeps its waiting requests.
    pub fn log_in(&self, session: &Session, user: OwnerId, now: Timestamp) -> Session {
        let pending = self
            .lock()
            .remove(&session.id)
            .map(|entry| entry.pending)
            .unwrap_or_default();
        self.insert(Some(user), pending, now)
    }

    /// Keeps a validated request until the user answers it, under `id` (from [`request_id`]).
    pub fn hold(
        &self,
        session: &Session,
        id: String,
        request: AuthorizationRequest,
        now: Timestamp,
    ) {
        if let Some(entry) = self.lock().get_mut(&session.id) {
            entry
                .pending
                .retain(|p| p.created.after(REQUEST_LIFETIME) > now);
            if entry.pending.len() >= MAX_PENDING {
                entry.pending.remove(0);
            }
            entry.pending.push(Pending {
                id,
                request,
                created: now,
            });
        }
    }

    /// Shows the waiting request with this id to `page`, leaving it in place (to render the
    /// login or consent page): a request is never copied, only taken once to be answered.
    pub fn with_pending<R>(
        &self,
        session: &Session,
        id: &str,
        now: Timestamp,
        page: impl FnOnce(&AuthorizationRequest) -> R,
    ) -> Option<R> {
        let entries = self.lock();
        let pending = entries
            .get(&session.id)?
            .pending
            .iter()
            .find(|p| p.id == id)?;
        (pending.created.after(REQUEST_LIFETIME) > now).then(|| page(&pending.request))
    }

    /// Removes and returns the waiting request with this id (to answer it): only the first
    /// caller gets it.
    pub fn take(
        &self,
        session: &Session,
        id: &str,
        now: Timestamp,
    ) -> Option<AuthorizationRequest> {
        let mut entries = self.lock();
        let pending = &mut entries.get_mut(&session.id)?.pending;
        let index = pending.iter().position(|p| p.id == id)?;
        let pending = pending.remove(index);
        (pending.created.after(REQUEST_LIFETIME) > now).then_some(pending.request)
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

    fn insert(&self, user: Option<OwnerId>, pending: Vec<Pending>, now: Timestamp) -> Session {
        let session = Session {
            id: random_id(),
            csrf: random_id(),
            user,
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
                user: session.user.clone(),
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
/// A new id for a request to [`Sessions::hold`].
pub fn request_id() -> String {
    random_id()
}

fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}
