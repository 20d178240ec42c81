//! The one exactly-once primitive: [`TokenStore::exchange`](super::TokenStore::exchange).
//!
//! Authorization codes, refresh tokens, and the records of grants a host or a later feature
//! adds (device codes, pushed requests…) are all [`ExchangeRecord`]s: a record stored under the
//! digest of a secret, of some [`ExchangeKind`], belonging to a grant, carrying the grant's own
//! data. Exchanging one is a single storage step: the backend finds the record, hands it to a
//! pure, synchronous function grantor provides, and applies the [`Decision`] that function
//! returns — the record's new state and the tokens to store — atomically, so that two racing
//! requests never both see the record as it was.
//!
//! The backend decides nothing about codes or refresh tokens: when a record is spent, kept,
//! updated or replayed is the grant's business, decided inside the function. That is why a new
//! grant that needs exactly-once steps (RFC 8628 device-code polling, say) needs no new backend
//! code: it picks a kind, stores its data, and exchanges it.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::records::NewTokens;
use crate::error::{Error, OAuthError};
use crate::time::Timestamp;
use crate::token::GrantId;

/// What an [`ExchangeRecord`] is: a code, a refresh token, or an extension's kind. Backends
/// store the name and look records up by kind and digest, so a secret of one kind is never
/// taken for another. An extension picks a name of its own: `authorization_code` and
/// `refresh_token` are grantor's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExchangeKind(&'static str);

impl ExchangeKind {
    /// An authorization code (data: [`CodeRecord`](super::CodeRecord)).
    pub const CODE: Self = Self("authorization_code");
    /// A refresh token (data: [`TokenRecord`](super::TokenRecord)).
    pub const REFRESH_TOKEN: Self = Self("refresh_token");

    /// A kind of an extension, e.g. `ExchangeKind::new("device_code")`. The name is what
    /// storage keeps and what error descriptions call the record (`_` read as a space).
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// The name storage keeps.
    pub const fn as_str(self) -> &'static str {
        self.0
    }

    /// How error descriptions call a record of this kind, e.g. "refresh token".
    pub(crate) fn label(self) -> String {
        self.0.replace('_', " ")
    }
}

/// The data of an [`ExchangeRecord`]: any serde type, kept as the value itself by an
/// in-memory backend and as JSON by a SQL one. Its `Debug` shows nothing of the data.
#[derive(Clone)]
pub struct RecordData(Repr);

#[derive(Clone)]
enum Repr {
    Value(Arc<dyn StoredValue>),
    Json(Arc<str>),
}

/// A value kept as it is, which can still be written as JSON.
trait StoredValue: Any + Send + Sync {
    fn to_json(&self) -> Result<String, serde_json::Error>;
    fn as_any(&self) -> &dyn Any;
}

impl<T: Serialize + Send + Sync + 'static> StoredValue for T {
    fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl RecordData {
    /// Data holding `value`.
    pub fn new<T: Serialize + DeserializeOwned + Send + Sync + 'static>(value: T) -> Self {
        Self(Repr::Value(Arc::new(value)))
    }

    /// Data a backend read back as JSON.
    pub fn from_json(json: impl Into<Arc<str>>) -> Self {
        Self(Repr::Json(json.into()))
    }

    /// The data as JSON, for a backend that stores text.
    pub fn to_json(&self) -> Result<Cow<'_, str>, Error> {
        match &self.0 {
            Repr::Value(value) => value.to_json().map(Cow::Owned).map_err(Error::storage),
            Repr::Json(json) => Ok(Cow::Borrowed(json)),
        }
    }

    /// The data as a `T`: borrowed when it is kept as a `T`, decoded when it is JSON. An error
    /// when it is neither (storage handed back another kind's data, or corrupt JSON).
    pub fn get<T: DeserializeOwned + Clone + 'static>(&self) -> Result<Cow<'_, T>, Error> {
        match &self.0 {
            Repr::Value(value) => value
                .as_any()
                .downcast_ref::<T>()
                .map(Cow::Borrowed)
                .ok_or_else(|| Error::storage("exchange record data of another type")),
            Repr::Json(json) => serde_json::from_str(json)
                .map(Cow::Owned)
                .map_err(|_| Error::storage("corrupt exchange record data")),
        }
    }
}

impl fmt::Debug for RecordData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The data may hold a PKCE `plain` challenge, which is the verifier itself.
        f.write_str("RecordData(<redacted>)")
    }
}

/// Two data are equal when they hold the same JSON value (so a value and its JSON read back
/// from a database compare equal).
impl PartialEq for RecordData {
    fn eq(&self, other: &Self) -> bool {
        if let (Repr::Value(a), Repr::Value(b)) = (&self.0, &other.0)
            && Arc::ptr_eq(a, b)
        {
            return true;
        }
        let value = |data: &RecordData| {
            data.to_json()
                .ok()
                .and_then(|json| serde_json::from_str::<serde_json::Value>(&json).ok())
        };
        match (value(self), value(other)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        }
    }
}

/// A record exchanged for tokens at most as often as its grant allows: an authorization code,
/// a refresh token, or an extension's record. Stored under the digest of its secret.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ExchangeRecord {
    /// What the record is.
    pub kind: ExchangeKind,
    /// The grant the record belongs to: revoking the grant deletes it.
    pub grant: GrantId,
    /// Until when the record may be exchanged.
    pub expires_at: Timestamp,
    /// Whether the record was spent (a redeemed code, a rotated refresh token). A spent record
    /// is kept, so that presenting it again is recognised as a replay.
    pub spent: bool,
    /// Until when storage must keep the record, spent or not (never before `expires_at`).
    pub retain_until: Timestamp,
    /// The grant's own data.
    pub data: RecordData,
}

impl ExchangeRecord {
    /// A live record, kept until it expires.
    pub fn new(
        kind: ExchangeKind,
        grant: GrantId,
        expires_at: Timestamp,
        data: RecordData,
    ) -> Self {
        Self {
            kind,
            grant,
            expires_at,
            spent: false,
            retain_until: expires_at,
            data,
        }
    }

    /// Whether the record can be exchanged at `now`: not spent, not expired.
    pub fn is_live(&self, now: Timestamp) -> bool {
        !self.spent && now < self.expires_at
    }

    /// The record spent, kept until `retain_until` (or its expiry, if later).
    pub fn spend(&self, retain_until: Timestamp) -> Self {
        Self {
            spent: true,
            retain_until: self.retain_until.max(retain_until),
            ..self.clone()
        }
    }

    /// The client the record's data names in its `client_id` field, if any: how storage finds
    /// the records issued to a client it deletes.
    pub(crate) fn client_id(&self) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct Named {
            client_id: Option<String>,
        }
        // grantor's own kinds are read as they are kept, without a trip through JSON.
        if self.kind == ExchangeKind::CODE
            && let Ok(code) = self.data.get::<super::CodeRecord>()
        {
            return Some(code.client_id.as_str().to_owned());
        }
        if self.kind == ExchangeKind::REFRESH_TOKEN
            && let Ok(token) = self.data.get::<super::TokenRecord>()
        {
            return Some(token.client_id.as_str().to_owned());
        }
        let json = self.data.to_json().ok()?;
        serde_json::from_str::<Named>(&json).ok()?.client_id
    }

    /// The record with new data (an extension's state change, e.g. the time of the last poll).
    pub fn with_data(&self, data: RecordData) -> Self {
        Self {
            data,
            ..self.clone()
        }
    }
}

/// What an exchange function decides about the record it was handed: what to answer, which
/// tokens to store, and what becomes of the record. Storage applies it atomically.
#[derive(Debug)]
#[must_use]
pub struct Decision {
    record: Option<ExchangeRecord>,
    outcome: Outcome,
}

#[derive(Debug)]
enum Outcome {
    /// Tokens to store; `None` once the backend took them, or when they belonged to another
    /// grant than the record's (then nothing is stored, and the answer is `Unknown`).
    Issue(Option<NewTokens>, Foreign),
    Refuse(OAuthError),
    Replay,
}

/// Whether the tokens of an [`Outcome::Issue`] named another grant than the record's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Foreign(bool);

impl Decision {
    /// Store these tokens; the exchange succeeded.
    pub fn issue(tokens: NewTokens) -> Self {
        Self {
            record: None,
            outcome: Outcome::Issue(Some(tokens), Foreign(false)),
        }
    }

    /// Answer this error; nothing is issued.
    pub fn refuse(error: OAuthError) -> Self {
        Self {
            record: None,
            outcome: Outcome::Refuse(error),
        }
    }

    /// The record was presented again after it was spent: nothing is issued, and the caller
    /// revokes the grant.
    pub fn replay() -> Self {
        Self {
            record: None,
            outcome: Outcome::Replay,
        }
    }

    /// Stores the record in this new state (spent, or with new data) as part of the step;
    /// without this the record is left as it was.
    pub fn with_record(mut self, record: ExchangeRecord) -> Self {
        self.record = Some(record);
        self
    }

    /// For the backend: the record's new state, if it changes (the kind, grant and digest
    /// stay as they were).
    pub fn take_record(&mut self) -> Option<ExchangeRecord> {
        self.record.take()
    }

    /// For the backend: the tokens to store, if the exchange issues any. Tokens always join
    /// the record's `grant`: tokens of another grant are withheld (and the exchange answers
    /// [`Exchange::Unknown`]), so a backend only ever attaches tokens to the grant it holds.
    pub fn take_tokens(&mut self, grant: GrantId) -> Option<NewTokens> {
        match &mut self.outcome {
            Outcome::Issue(tokens, foreign) => {
                let tokens = tokens.take()?;
                if tokens.grant() == grant {
                    Some(tokens)
                } else {
                    *foreign = Foreign(true);
                    None
                }
            }
            Outcome::Refuse(_) | Outcome::Replay => None,
        }
    }

    /// For the backend, once the step is applied: the answer, given the record's `grant` and
    /// whether the tokens were stored (`false` when their grant had been revoked).
    pub fn finish(self, grant: GrantId, stored: bool) -> Exchange {
        match self.outcome {
            Outcome::Issue(_, Foreign(false)) if stored => Exchange::Issued,
            Outcome::Issue(..) => Exchange::Unknown,
            Outcome::Refuse(error) => Exchange::Refused(error),
            Outcome::Replay => Exchange::Replayed(grant),
        }
    }
}

/// The outcome of [`TokenStore::exchange`](super::TokenStore::exchange).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Exchange {
    /// The exchange succeeded: the tokens the decision named are stored.
    Issued,
    /// The decision refused with this error.
    Refused(OAuthError),
    /// The record was already spent: a replay. The caller revokes the grant.
    Replayed(GrantId),
    /// No record of this kind has this digest, or its grant was revoked.
    Unknown,
}

/// The pure, synchronous step grantor runs inside an exchange: it sees the record as stored
/// (live, expired or spent) and decides.
pub trait ExchangeFn: FnOnce(&ExchangeRecord) -> Decision + Send {}
impl<F: FnOnce(&ExchangeRecord) -> Decision + Send> ExchangeFn for F {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::ScopeSet;

    #[test]
    fn data_is_borrowed_as_kept_or_decoded_from_json() {
        let data = RecordData::new(ScopeSet::parse("a b").unwrap());
        assert!(matches!(data.get::<ScopeSet>().unwrap(), Cow::Borrowed(_)));
        let json = data.to_json().unwrap().into_owned();
        assert_eq!(json, "\"a b\"");
        let read_back = RecordData::from_json(json);
        assert!(matches!(
            read_back.get::<ScopeSet>().unwrap(),
            Cow::Owned(_)
        ));
        assert_eq!(read_back, data);
        assert!(data.get::<u64>().is_err());
        assert!(RecordData::from_json("{").get::<ScopeSet>().is_err());
        assert_eq!(format!("{data:?}"), "RecordData(<redacted>)");
    }

    #[test]
    fn decisions_finish_as_exchanges() {
        let grant = GrantId::generate();
        let mut refused = Decision::refuse(OAuthError::invalid_grant("no"));
        assert!(refused.take_tokens(grant).is_none());
        assert!(matches!(refused.finish(grant, true), Exchange::Refused(_)));
        assert_eq!(
            Decision::replay().finish(grant, true),
            Exchange::Replayed(grant)
        );
    }
}
