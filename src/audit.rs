//! Audit events (C-OB-2): a typed record of what the server did that an operator may need to
//! answer for later — tokens issued, a refresh token rotated, a replay detected and its grant
//! revoked, a failed client authentication or password check, a revocation, a consent decision,
//! a client registered, updated or deleted.
//!
//! A host installs a sink with [`ConfigBuilder::audit`](crate::ConfigBuilder::audit). Each
//! event is delivered after the storage step it describes has committed: a step that failed
//! emits no event of success. Events carry identifiers only — grant id, client id, owner,
//! username of a failed password check — and never a token, code, secret, password, assertion
//! or registration access token. With no sink installed, nothing is built.
//!
//! The sink is called synchronously, on the request's task: keep it quick (push onto a channel
//! or a log), it must not block.

use std::fmt;

use crate::authenticator::OwnerId;
use crate::client::{ClientId, GrantType};
use crate::time::Timestamp;
use crate::token::GrantId;

/// One audit event: what happened, to which client, owner and grant, and when (by the server's
/// clock).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditEvent {
    /// What happened.
    pub kind: AuditKind,
    /// The client concerned, when known.
    pub client_id: Option<ClientId>,
    /// The resource owner concerned, when known.
    pub owner: Option<OwnerId>,
    /// The grant (token family) concerned, when known.
    pub grant: Option<GrantId>,
    /// When it happened, by the server's clock.
    pub at: Timestamp,
}

/// What an [`AuditEvent`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditKind {
    /// The token endpoint issued tokens, and storage holds them. `refresh_rotated` is `true`
    /// when the refresh grant replaced the refresh token presented (the old one is spent).
    TokensIssued {
        /// The grant type of the request.
        grant_type: GrantType,
        /// Whether a refresh token was rotated.
        refresh_rotated: bool,
    },
    /// A spent code, refresh token or device code was presented again (at the token or the
    /// revocation endpoint), and its whole grant has been revoked.
    ReplayDetected,
    /// A client's authentication failed (wrong secret, unknown client, a confidential client
    /// without credentials). `client_id` is the id the request named, which may be unknown.
    ClientAuthenticationFailed,
    /// The password grant's [`Authenticator`](crate::Authenticator) refused a username and
    /// password.
    PasswordCheckFailed {
        /// The username presented (not a secret; never the password).
        username: String,
    },
    /// An attempt was refused by the [`Limiter`](crate::Limiter) before any check ran
    /// (C-OB-3). For a password, `client_id` is the client that sent it.
    AttemptLimited {
        /// Which check was refused.
        check: crate::limit::Check,
    },
    /// The revocation endpoint revoked a token: an access token alone, or a refresh token's
    /// whole grant.
    TokenRevoked {
        /// `true` for a refresh token (its whole grant revoked), `false` for an access token.
        refresh: bool,
    },
    /// An owner approved an authorization request, and the code or tokens answered are stored.
    /// The implicit grant's tokens are reported by this event alone (no
    /// [`TokensIssued`](Self::TokensIssued)): they are issued at the authorization endpoint.
    ConsentApproved,
    /// An authorization request was answered `access_denied` (the owner declined, or the host
    /// rejected it).
    ConsentDenied,
    /// An owner approved a device's user code (RFC 8628), and the approval is stored.
    DeviceApproved,
    /// An owner denied a device's user code, and the denial is stored.
    DeviceDenied,
    /// The registration endpoint registered a client (RFC 7591), and storage holds it.
    ClientRegistered,
    /// A client updated its registration (RFC 7592), and storage holds the update.
    ClientUpdated,
    /// A client deleted its registration (RFC 7592).
    ClientDeleted,
}

/// Where audit events go: a host's log, queue or table. Any `Fn(&AuditEvent) + Send + Sync`
/// closure is one.
pub trait AuditSink: Send + Sync + 'static {
    /// Takes one event. Called on the request's task after the step it reports committed;
    /// must not block.
    fn record(&self, event: &AuditEvent);
}

impl<F: Fn(&AuditEvent) + Send + Sync + 'static> AuditSink for F {
    fn record(&self, event: &AuditEvent) {
        self(event);
    }
}

impl AuditEvent {
    /// An event of `kind` at `at`, with nothing else known yet.
    pub(crate) fn new(kind: AuditKind, at: Timestamp) -> Self {
        Self {
            kind,
            client_id: None,
            owner: None,
            grant: None,
            at,
        }
    }

    /// With the client.
    pub(crate) fn client(mut self, id: &ClientId) -> Self {
        self.client_id = Some(id.clone());
        self
    }

    /// With the client named by a request (which may not exist).
    pub(crate) fn named_client(mut self, id: Option<&str>) -> Self {
        self.client_id = id.and_then(|id| ClientId::new(id).ok());
        self
    }

    /// With the owner, if known.
    pub(crate) fn owner(mut self, owner: Option<&OwnerId>) -> Self {
        self.owner = owner.cloned();
        self
    }

    /// With the grant, if known.
    pub(crate) fn grant(mut self, grant: Option<GrantId>) -> Self {
        self.grant = grant;
        self
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TokensIssued { .. } => "tokens_issued",
            Self::ReplayDetected => "replay_detected",
            Self::ClientAuthenticationFailed => "client_authentication_failed",
            Self::PasswordCheckFailed { .. } => "password_check_failed",
            Self::AttemptLimited { .. } => "attempt_limited",
            Self::TokenRevoked { .. } => "token_revoked",
            Self::ConsentApproved => "consent_approved",
            Self::ConsentDenied => "consent_denied",
            Self::DeviceApproved => "device_approved",
            Self::DeviceDenied => "device_denied",
            Self::ClientRegistered => "client_registered",
            Self::ClientUpdated => "client_updated",
            Self::ClientDeleted => "client_deleted",
        })
    }
}
