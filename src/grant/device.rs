//! The device authorization grant (RFC 8628): a device without a browser (a TV, a CLI) gets a
//! device code and a user code at the device authorization endpoint
//! ([`Server::device_authorization`](crate::Server::device_authorization)), shows the user code,
//! and polls the token endpoint with `grant_type=urn:ietf:params:oauth:grant-type:device_code`
//! while the user enters the code on the host's verification page
//! ([`Server::device_request`](crate::Server::device_request)) and approves or denies it.
//!
//! A device code is an exchange record of kind [`DEVICE_CODE`], stored under the digest of the
//! code; its user code is a second record, of kind [`USER_CODE`], stored under the digest of
//! the normalised user code and naming the device code's digest. Both belong to the grant the
//! tokens will start, so revoking it (or deleting the client) deletes them. Every state change
//! — a poll (its time and the interval it must keep), the user's answer, the issuing of the
//! tokens — goes through storage's exactly-once step, so that a code is answered once and
//! redeemed once on every backend (C-DV-2).

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::BoxFuture;
use crate::authenticator::OwnerId;
use crate::client::GrantType;
use crate::error::{ErrorCode, Failure, OAuthError};
use crate::grant::{Grant, GrantContext, Issue};
use crate::scope::ScopeSet;
use crate::storage::{Decision, ExchangeKind, OpenIdContext, RecordData, Storage};
use crate::time::Timestamp;
use crate::token::TokenResponse;

/// The `grant_type` of device-code polling (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The record kind of a device code (data: the pending request and its polling state).
pub const DEVICE_CODE: ExchangeKind = ExchangeKind::new("device_code");

/// The record kind of a user code (data: the digest of its device code).
pub const USER_CODE: ExchangeKind = ExchangeKind::new("device_user_code");

/// The alphabet of user codes (RFC 8628 §6.1): base-20 without vowels, so that no word is
/// spelled by accident, and no character is confused with another.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// How many characters a user code has (shown as `XXXX-XXXX`): 20^8 ≈ 2.6 × 10^10 codes.
pub const USER_CODE_LENGTH: usize = 8;

/// By how much the interval a device must keep grows with each `slow_down` (RFC 8628 §3.5).
const SLOW_DOWN_STEP: u64 = 5;

/// The `urn:ietf:params:oauth:grant-type:device_code` grant (RFC 8628 §3.4, C-DV-2): polling
/// answers `authorization_pending` until the user answered, `slow_down` when the device polls
/// sooner than its interval allows (and the interval grows by 5 s), `access_denied` after a
/// denial, `expired_token` after the code's lifetime, and the tokens exactly once after an
/// approval, with a refresh token when the configuration issues them. A device code polled by
/// another client than its own is `invalid_grant`, and so is one polled again after its
/// tokens were issued (or after the denial was answered): of two pollers racing, one gets the
/// tokens, the other `invalid_grant`, and the tokens stay valid. Unlike an authorization code,
/// which travels through the browser and may leak there, a device code stays on the device, so
/// a second poll is its own retry and revokes nothing.
///
/// Not registered by default: register it with
/// [`ServerBuilder::grant`](crate::ServerBuilder::grant), and allow clients the grant type
/// [`DeviceCodeGrant::grant_type`]. The device authorization endpoint and the metadata's
/// `device_authorization_endpoint` follow the registration.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeviceCodeGrant;

impl DeviceCodeGrant {
    /// The grant type clients are allowed to use it: [`DEVICE_CODE_GRANT_TYPE`].
    pub fn grant_type() -> GrantType {
        GrantType::known_extension(DEVICE_CODE_GRANT_TYPE)
    }
}

/// Who answered a device request, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub(crate) enum Answer {
    Pending,
    Approved { owner: OwnerId, scope: ScopeSet },
    Denied,
}

/// The data of a device code's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct DeviceRecord {
    /// The client the device code was issued to (named so, so that deleting the client
    /// revokes it).
    pub(crate) client_id: String,
    /// The scope to ask the user about.
    pub(crate) scope: ScopeSet,
    /// The resources the tokens will be for.
    pub(crate) resources: Vec<String>,
    /// The interval the device must keep between polls, in seconds.
    pub(crate) interval: u64,
    /// When the device last polled.
    pub(crate) last_poll: Option<Timestamp>,
    /// The user's answer.
    pub(crate) answer: Answer,
}

/// The data of a user code's record: which device code it stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct UserCodeRecord {
    pub(crate) client_id: String,
    pub(crate) device_code: [u8; 32],
}

/// A fresh user code, 8 characters of [`USER_CODE_ALPHABET`] drawn uniformly.
pub(crate) fn generate_user_code() -> String {
    let mut code = String::with_capacity(USER_CODE_LENGTH);
    let mut bytes = [0u8; 32];
    while code.len() < USER_CODE_LENGTH {
        rand::fill(&mut bytes[..]);
        for byte in bytes {
            // 240 = 12 × 20: rejecting the rest keeps every character equally likely.
            if byte < 240 && code.len() < USER_CODE_LENGTH {
                code.push(char::from(USER_CODE_ALPHABET[usize::from(byte % 20)]));
            }
        }
    }
    code
}

/// A user code as shown: `XXXX-XXXX`.
pub(crate) fn display_user_code(code: &str) -> String {
    let (head, tail) = code.split_at(code.len() / 2);
    format!("{head}-{tail}")
}

/// A user code as entered, normalised (C-DV-1): upper case, hyphens and white space dropped.
/// `None` when what is left is not 8 characters of the alphabet.
pub(crate) fn normalize_user_code(entered: &str) -> Option<String> {
    let code: String = entered
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid =
        code.len() == USER_CODE_LENGTH && code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then_some(code)
}

impl<S: Storage> Grant<S> for DeviceCodeGrant {
    fn grant_type(&self) -> GrantType {
        Self::grant_type()
    }

    fn exchange<'a>(
        &'a self,
        ctx: GrantContext<'a, S>,
    ) -> BoxFuture<'a, Result<TokenResponse, Failure>> {
        Box::pin(async move {
            let device_code = ctx.require("device_code")?;
            let with_refresh = ctx.config().issue_refresh_tokens;
            let client = ctx.client();
            ctx.redeem(DEVICE_CODE, device_code, |record, minter| {
                let now = minter.now();
                let data: Cow<'_, DeviceRecord> = record.data.get()?;
                // C-DV-2: the device code is bound to its client; another client's attempt
                // changes nothing.
                if data.client_id != client.id().as_str() {
                    return Ok(Decision::refuse(OAuthError::invalid_grant(
                        "the device code was issued to another client",
                    )));
                }
                if record.spent {
                    // A second poll after the tokens (or the denial): refused, and nothing is
                    // revoked. A device code never passes through a browser, so a second
                    // poll is the device's own retry or race, not a leak to punish.
                    return Ok(Decision::refuse(OAuthError::invalid_grant(
                        "the device code was already used",
                    )));
                }
                if now >= record.expires_at {
                    return Ok(Decision::refuse(
                        OAuthError::new(ErrorCode::ExpiredToken)
                            .with_description("the device code expired"),
                    ));
                }
                match &data.answer {
                    Answer::Denied => Ok(Decision::refuse(OAuthError::access_denied(
                        "the user denied the request",
                    ))
                    .with_record(record.spend(record.retain_until))),
                    Answer::Approved { owner, scope } => {
                        let issue = Issue::user(owner.clone(), scope.clone())
                            .for_resources(data.resources.clone())
                            .in_grant(record.grant)
                            .with_refresh_token(with_refresh)
                            .with_openid(OpenIdContext::new());
                        let tokens = minter.issue(issue)?;
                        Ok(Decision::issue(tokens).with_record(record.spend(record.retain_until)))
                    }
                    Answer::Pending => {
                        let mut next = data.into_owned();
                        let too_soon = next.last_poll.is_some_and(|last| {
                            now < last.after(Duration::from_secs(next.interval))
                        });
                        next.last_poll = Some(now);
                        let error = if too_soon {
                            next.interval += SLOW_DOWN_STEP;
                            OAuthError::new(ErrorCode::SlowDown).with_description(format!(
                                "poll at most every {} seconds",
                                next.interval
                            ))
                        } else {
                            OAuthError::new(ErrorCode::AuthorizationPending)
                                .with_description("the user has not answered yet")
                        };
                        let updated = record.with_data(RecordData::new(next));
                        Ok(Decision::refuse(error).with_record(updated))
                    }
                }
            })
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_drawn_from_the_alphabet_and_normalised() {
        for _ in 0..100 {
            let code = generate_user_code();
            assert_eq!(code.len(), USER_CODE_LENGTH);
            assert!(code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)));
            let shown = display_user_code(&code);
            assert_eq!(shown.len(), 9);
            assert_eq!(normalize_user_code(&shown).as_deref(), Some(code.as_str()));
            let sloppy = format!(" {} ", shown.to_ascii_lowercase().replace('-', " - "));
            assert_eq!(normalize_user_code(&sloppy).as_deref(), Some(code.as_str()));
        }
        assert_eq!(normalize_user_code("ABCD-EFGH"), None, "vowels");
        assert_eq!(normalize_user_code("BCDF-GHJ"), None, "too short");
        assert_eq!(normalize_user_code("BCDF-GHJKL"), None, "too long");
        assert_eq!(
            DeviceCodeGrant::grant_type().as_str(),
            DEVICE_CODE_GRANT_TYPE
        );
        assert_eq!(
            DEVICE_CODE_GRANT_TYPE.parse::<GrantType>().ok(),
            Some(DeviceCodeGrant::grant_type()),
            "a client's configured grant type is the grant's"
        );
    }
}
