//! The device authorization endpoint (RFC 8628 §3.1, §3.2, C-DV-1) and the host's side of the
//! verification page: finding the pending request a user code stands for (C-DV-3), and
//! recording the user's answer through storage's exactly-once step.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use http::{Request, Response, StatusCode};
use serde::Serialize;

use crate::audit::{AuditEvent, AuditKind};
use crate::authenticator::OwnerId;
use crate::client::Client;
use crate::client_auth;
use crate::endpoint::token::parse;
use crate::endpoint::{failure_json, json};
use crate::error::{Error, ErrorCode, Failure, OAuthError};
use crate::grant::device::{
    self, Answer, DEVICE_CODE, DeviceCodeGrant, DeviceRecord, USER_CODE, UserCodeRecord,
};
use crate::scope::ScopeSet;
use crate::server::Server;
use crate::storage::{Decision, Digest, Exchange, ExchangeRecord, GrantId, RecordData, Storage};
use crate::time::Timestamp;

/// Answers a device authorization request: `200` with the codes, or the RFC error as JSON.
pub(crate) async fn respond<S: Storage, B: AsRef<[u8]>>(
    server: &Server<S>,
    request: &Request<B>,
) -> Response<Vec<u8>> {
    match handle(server, request).await {
        Ok(body) => json(StatusCode::OK, &body),
        Err(failure) => failure_json(server.config(), failure, "device_authorization", request),
    }
}

/// The device authorization response (RFC 8628 §3.2).
#[derive(Serialize)]
struct Body {
    device_code: String,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: String,
    expires_in: u64,
    interval: u64,
}

async fn handle<S: Storage, B: AsRef<[u8]>>(
    server: &Server<S>,
    request: &Request<B>,
) -> Result<Body, Failure> {
    let config = server.config();
    let grant_type = DeviceCodeGrant::grant_type();
    if !server.grants().contains(&grant_type) {
        return Err(OAuthError::new(ErrorCode::UnsupportedGrantType)
            .with_description("device authorization is not enabled")
            .into());
    }
    let params = parse(config, request)?;
    let endpoint = server.config().device_authorization_endpoint();
    let client = client_auth::authenticate(server, request, &params, endpoint).await?;
    crate::observe::client(client.id().as_str());
    if !client.allows_grant(&grant_type) {
        return Err(OAuthError::unauthorized_client(
            "the client may not use the device authorization grant",
        )
        .into());
    }
    // The scope and resources as an authorization request resolves them (C-SC-1, C-RI-1).
    let always = &config.always_granted_scopes;
    let requested = params
        .get("scope")?
        .map(|text| client.parse_scope(text))
        .transpose()?;
    let scope = client.resolve_scope(requested, always)?.union(always);
    let resources: Vec<&str> = params.all("resource").collect();
    let resources = config.resources.resolve(&client, &resources)?;

    let now = server.now();
    let lifetime = config.device_code_lifetime;
    let expires_at = now.after(lifetime);
    let interval = config.device_poll_interval.as_secs().max(1);
    let grant = GrantId::generate();
    let device_code = crate::token::random_secret();
    let device_digest = Digest::of(&device_code);
    // A collision with a kept user code is improbable (20⁸ codes); five draws that all
    // collide mean the code space is crowded, and the request fails rather than reuse one.
    let mut user_code = None;
    for _ in 0..5 {
        let drawn = device::generate_user_code();
        let taken = server
            .storage()
            .record(USER_CODE, &Digest::of(&drawn))
            .await?;
        if taken.is_none() {
            user_code = Some(drawn);
            break;
        }
    }
    let user_code = user_code.ok_or_else(|| {
        Error::other("no free user code after five draws: too many device requests are kept")
    })?;
    let data = DeviceRecord {
        client_id: client.id().as_str().to_owned(),
        scope,
        resources,
        interval,
        last_poll: None,
        answer: Answer::Pending,
    };
    // Kept a lifetime past expiry, so that a late poll is told `expired_token`.
    let retain_until = expires_at.after(lifetime);
    let mut record = ExchangeRecord::new(DEVICE_CODE, grant, expires_at, RecordData::new(data));
    record.retain_until = retain_until;
    server
        .storage()
        .save_record(device_digest, record, now)
        .await?;
    let pointer = UserCodeRecord {
        client_id: client.id().as_str().to_owned(),
        device_code: *device_digest.as_bytes(),
    };
    let record = ExchangeRecord::new(USER_CODE, grant, expires_at, RecordData::new(pointer));
    server
        .storage()
        .save_record(Digest::of(&user_code), record, now)
        .await?;

    let shown = device::display_user_code(&user_code);
    let verification_uri = config.device_verification_uri().to_owned();
    let separator = if verification_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    Ok(Body {
        device_code,
        verification_uri_complete: format!("{verification_uri}{separator}user_code={shown}"),
        verification_uri,
        user_code: shown,
        expires_in: lifetime.as_secs(),
        interval,
    })
}

/// A pending device authorization request, found by its user code on the host's verification
/// page: show the user the client and the scope, then
/// [approve](crate::Server::approve_device) or [deny](crate::Server::deny_device) it. Its
/// `Debug` leaves the user code out: it is what authorizes the device while it waits.
#[derive(Clone)]
pub struct DeviceRequest {
    client: Client,
    scope: ScopeSet,
    resources: Vec<String>,
    user_code: String,
    device: Digest,
    expires_at: Timestamp,
}

impl fmt::Debug for DeviceRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceRequest")
            .field("client", self.client.id())
            .field("scope", &self.scope)
            .field("resources", &self.resources)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl DeviceRequest {
    /// The client the device is.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The scope to ask the user about: the requested scope, or the client's default.
    pub fn scope(&self) -> &ScopeSet {
        &self.scope
    }

    /// The resources the tokens will be for (RFC 8707).
    pub fn resources(&self) -> &[String] {
        &self.resources
    }

    /// The user code, as shown (`XXXX-XXXX`): what a host keeps in its session to find the
    /// request again.
    pub fn user_code(&self) -> &str {
        &self.user_code
    }

    /// Until when the request can be answered.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }
}

/// Why a user code cannot be answered.
#[derive(Debug)]
#[non_exhaustive]
pub enum DeviceError {
    /// No pending request has this user code: it is unknown, expired or already answered
    /// (which of them is not said, C-DV-3). Counted as a wrong attempt.
    UnknownCode,
    /// Too many wrong user codes came from this key: every code is refused, the right one
    /// included, for `retry_after` seconds more (C-DV-3).
    TooManyAttempts {
        /// Seconds until the oldest counted attempt leaves the window.
        retry_after: u64,
    },
    /// The approval granted no scope: deny the request instead.
    NothingGranted,
    /// The client may be authorized only by its owner (C-SC-5), and this is someone else.
    NotOwner,
    /// An internal failure (storage).
    Internal(Error),
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownCode => f.write_str("the code is unknown or has expired"),
            Self::TooManyAttempts { retry_after } => write!(
                f,
                "too many wrong codes were entered; try again in {retry_after} seconds"
            ),
            Self::NothingGranted => f.write_str("the approval granted no scope"),
            Self::NotOwner => f.write_str("only the client's owner may authorize it"),
            Self::Internal(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for DeviceError {}

impl From<Error> for DeviceError {
    fn from(error: Error) -> Self {
        Self::Internal(error)
    }
}

/// Counts wrong user codes per key and overall in a sliding window (C-DV-3). Kept in the
/// server's memory: each instance of a fleet counts its own.
///
/// An entry reserves its attempt before the code is looked up, under one lock, so that
/// entries sent at once cannot all pass the check before any is counted; a right code gives
/// its attempt back.
#[derive(Debug, Default)]
pub(crate) struct AttemptLimiter {
    state: Mutex<Attempts>,
}

/// The attempts of the window: per key, and all of them (the global budget).
#[derive(Debug, Default)]
struct Attempts {
    per_key: HashMap<String, VecDeque<Timestamp>>,
    all: VecDeque<Timestamp>,
}

/// The limits an entry is checked against.
#[derive(Debug, Clone, Copy)]
struct Limits {
    per_key: u32,
    budget: u32,
    window: Duration,
}

impl AttemptLimiter {
    /// Reserves an attempt of `key` at `now`, or `Err(retry_after)` when the key or the
    /// server's budget has none left.
    fn reserve(&self, key: &str, now: Timestamp, limits: Limits) -> Result<(), u64> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let live = |t: &Timestamp| t.after(limits.window) > now;
        while state.all.front().is_some_and(|t| !live(t)) {
            state.all.pop_front();
        }
        // Keys are forgotten once their attempts leave the window; those in it are at most
        // the budget's, so the map stays small.
        if state.per_key.len() > limits.budget as usize {
            state
                .per_key
                .retain(|_, times| times.back().is_some_and(live));
        }
        let times = state.per_key.entry(key.to_owned()).or_default();
        while times.front().is_some_and(|t| !live(t)) {
            times.pop_front();
        }
        let retry = |oldest: Option<&Timestamp>| {
            oldest.map_or(1, |oldest| {
                now.seconds_until(oldest.after(limits.window)).max(1)
            })
        };
        if times.len() >= limits.per_key as usize {
            return Err(retry(times.front()));
        }
        times.push_back(now);
        if state.all.len() >= limits.budget as usize {
            if let Some(times) = state.per_key.get_mut(key) {
                times.pop_back();
            }
            return Err(retry(state.all.front()));
        }
        state.all.push_back(now);
        Ok(())
    }

    /// Gives back the attempt `key` reserved at `now`: the code was right.
    fn refund(&self, key: &str, now: Timestamp) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(times) = state.per_key.get_mut(key)
            && let Some(at) = times.iter().rposition(|t| *t == now)
        {
            times.remove(at);
        }
        if let Some(at) = state.all.iter().rposition(|t| *t == now) {
            state.all.remove(at);
        }
    }
}

/// The pending request `entered` names, for a caller known by `key` (C-DV-3).
pub(crate) async fn find<S: Storage>(
    server: &Server<S>,
    entered: &str,
    key: &str,
) -> Result<DeviceRequest, DeviceError> {
    let config = server.config();
    let now = server.now();
    let limits = Limits {
        per_key: config.device_user_code_attempts,
        budget: config.device_user_code_budget,
        window: config.device_user_code_window,
    };
    let limiter = server.device_attempts();
    if let Err(retry_after) = limiter.reserve(key, now, limits) {
        return Err(DeviceError::TooManyAttempts { retry_after });
    }
    match lookup(server, entered, now).await {
        Ok(Some(request)) => {
            limiter.refund(key, now);
            Ok(request)
        }
        Ok(None) => Err(DeviceError::UnknownCode),
        Err(error) => {
            // A storage failure says nothing about the code: the attempt is not counted.
            limiter.refund(key, now);
            Err(error.into())
        }
    }
}

/// The pending request of a user code, if there is one.
async fn lookup<S: Storage>(
    server: &Server<S>,
    entered: &str,
    now: Timestamp,
) -> Result<Option<DeviceRequest>, Error> {
    let Some(code) = device::normalize_user_code(entered) else {
        return Ok(None);
    };
    let storage = server.storage();
    let Some(pointer) = storage.record(USER_CODE, &Digest::of(&code)).await? else {
        return Ok(None);
    };
    if !pointer.is_live(now) {
        return Ok(None);
    }
    let device = Digest::from_bytes(pointer.data.get::<UserCodeRecord>()?.device_code);
    let Some(record) = storage.record(DEVICE_CODE, &device).await? else {
        return Ok(None);
    };
    if !record.is_live(now) {
        return Ok(None);
    }
    let data = record.data.get::<DeviceRecord>()?;
    if data.answer != Answer::Pending {
        return Ok(None);
    }
    let Some(client) = storage.client(&data.client_id).await? else {
        return Ok(None);
    };
    Ok(Some(DeviceRequest {
        client,
        scope: data.scope.clone(),
        resources: data.resources.clone(),
        user_code: device::display_user_code(&code),
        device,
        expires_at: record.expires_at,
    }))
}

/// Approves a request for `owner`, who granted `granted` (within the request's scope).
pub(crate) async fn approve<S: Storage>(
    server: &Server<S>,
    request: DeviceRequest,
    owner: &OwnerId,
    granted: &ScopeSet,
) -> Result<(), DeviceError> {
    let client = &request.client;
    if client.is_owner_only() && client.owner() != Some(owner) {
        return Err(DeviceError::NotOwner);
    }
    let scope = granted
        .restricted_to(&request.scope)
        .union(&server.config().always_granted_scopes);
    if scope.is_empty() {
        return Err(DeviceError::NothingGranted);
    }
    let answer = Answer::Approved {
        owner: owner.clone(),
        scope,
    };
    let grant = answer_request(server, &request, answer).await?;
    if let Some(consents) = server.storage().consent_store() {
        // So that revoking the owner's consent to the client revokes this grant too.
        if let Err(error) = consents.record_grant(owner, client.id(), grant).await {
            let _ = server.storage().revoke_grant(&grant).await;
            return Err(error.into());
        }
    }
    server.config().audit(|| {
        AuditEvent::new(AuditKind::DeviceApproved, server.now())
            .client(client.id())
            .owner(Some(owner))
            .grant(Some(grant))
    });
    Ok(())
}

/// Denies a request: the device's next poll is answered `access_denied`.
pub(crate) async fn deny<S: Storage>(
    server: &Server<S>,
    request: DeviceRequest,
) -> Result<(), DeviceError> {
    let grant = answer_request(server, &request, Answer::Denied).await?;
    server.config().audit(|| {
        AuditEvent::new(AuditKind::DeviceDenied, server.now())
            .client(request.client.id())
            .grant(Some(grant))
    });
    Ok(())
}

/// Records the user's answer on a pending device code, exactly once: of two answers racing,
/// one is recorded, the other is [`DeviceError::UnknownCode`]. Returns the grant.
async fn answer_request<S: Storage>(
    server: &Server<S>,
    request: &DeviceRequest,
    answer: Answer,
) -> Result<GrantId, DeviceError> {
    let now = server.now();
    let mut outcome: Option<Result<GrantId, DeviceError>> = None;
    let exchanged = server
        .storage()
        .exchange(DEVICE_CODE, &request.device, now, |record| {
            let decided = match record.data.get::<DeviceRecord>() {
                Err(error) => Err(DeviceError::Internal(error)),
                Ok(_) if !record.is_live(now) => Err(DeviceError::UnknownCode),
                Ok(data) if data.answer != Answer::Pending => Err(DeviceError::UnknownCode),
                Ok(data) => {
                    let mut next = data.into_owned();
                    next.answer = answer;
                    Ok(record.with_data(RecordData::new(next)))
                }
            };
            // The step answers nothing to a client: the refusal only carries the new state.
            let carrier = Decision::refuse(OAuthError::access_denied("answered"));
            match decided {
                Ok(updated) => {
                    outcome = Some(Ok(record.grant));
                    carrier.with_record(updated)
                }
                Err(error) => {
                    outcome = Some(Err(error));
                    carrier
                }
            }
        })
        .await?;
    match exchanged {
        Exchange::Refused(_) => outcome.unwrap_or(Err(DeviceError::UnknownCode)),
        _ => Err(DeviceError::UnknownCode),
    }
}
