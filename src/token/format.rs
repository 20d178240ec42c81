//! The access-token format seam: what an access token's text is, and how a presented one is
//! read back.
//!
//! Every grant mints its access token through the server's [`AccessTokenFormat`], inside the
//! issuing step, and bearer validation reads a presented token through it; neither knows which
//! format it is. The default, [`Opaque`], is 256 random bits whose meaning storage keeps. A
//! signed format (a JWT, say) puts the token's record in the text itself, so that bearer
//! validation needs no storage lookup.
//!
//! Whatever the format, storage keeps every access token's record under the SHA-256 digest of
//! its text: revocation and introspection find any token that way, and grant revocation
//! reaches every token of a grant. Revoking a self-contained token that its format reads as
//! not [revocable](Reading::SelfContained) makes it inactive at introspection, but bearer
//! validation accepts it until it expires: that is what "not revocable" means.

use crate::error::Error;
use crate::storage::TokenRecord;
use crate::time::Timestamp;
use crate::token::AccessToken;

/// How access tokens are written and read. Register one with
/// [`ServerBuilder::access_token_format`](crate::ServerBuilder::access_token_format).
///
/// ```
/// use grantor::storage::TokenRecord;
/// use grantor::token::{AccessTokenFormat, Reading};
/// use grantor::{AccessToken, Error, Timestamp};
///
/// /// Opaque tokens with a recognisable prefix, so that secret scanners can find leaked ones.
/// struct Prefixed;
///
/// impl AccessTokenFormat for Prefixed {
///     fn mint(&self, _record: &TokenRecord) -> Result<AccessToken, Error> {
///         Ok(AccessToken::new(format!("myapp_at_{}", AccessToken::generate().secret())))
///     }
///
///     fn read(&self, token: &str, _now: Timestamp) -> Reading {
///         if token.starts_with("myapp_at_") { Reading::Stored } else { Reading::NotMine }
///     }
/// }
/// ```
pub trait AccessTokenFormat: Send + Sync + 'static {
    /// The text of a new access token for `record`. Runs inside the storage step that stores
    /// the record, so it must only compute (no I/O). An opaque format ignores the record; a
    /// self-contained one encodes and signs it.
    fn mint(&self, record: &TokenRecord) -> Result<AccessToken, Error>;

    /// Reads a presented access token. `now` is the time of the request, for formats that
    /// check expiry themselves.
    fn read(&self, token: &str, now: Timestamp) -> Reading;
}

/// What an [`AccessTokenFormat`] makes of a presented token.
#[derive(Debug)]
#[non_exhaustive]
// A reading lives for one validation and is matched at once: boxing the record would cost an
// allocation per self-contained token for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Reading {
    /// Not a token of this format: the next registered format is asked.
    NotMine,
    /// A token of this format whose record is in storage, under the SHA-256 digest of the text.
    Stored,
    /// A token of this format whose signature the format verified (with its issuer, type and
    /// expiry), and whose record is in storage, under the SHA-256 digest of the text: storage
    /// still decides whether it is live (not revoked, its grant not revoked).
    Verified,
    /// A token of this format that carries its own record, verified by the format (a signature
    /// checked with a key it trusts). When `revocable`, bearer validation also checks that
    /// storage still holds the token (not revoked, its grant not revoked); otherwise the token
    /// is good until it expires, without a storage lookup.
    SelfContained {
        /// The token's record, as the format verified it.
        record: TokenRecord,
        /// Whether revocation applies before the token expires.
        revocable: bool,
    },
    /// A token of this format that is not valid (a bad signature, a malformed body).
    Invalid,
}

/// The default format: 256 random bits, base64url (43 characters), meaningful only to
/// storage, which keeps the record under the token's digest. It recognises its own tokens by
/// their shape, so the formats registered after it are asked about anything else (and a
/// host that imported tokens of another shape into storage reads them with a format of its
/// own that answers [`Reading::Stored`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Opaque;

impl AccessTokenFormat for Opaque {
    fn mint(&self, _record: &TokenRecord) -> Result<AccessToken, Error> {
        Ok(AccessToken::generate())
    }

    fn read(&self, token: &str, _now: Timestamp) -> Reading {
        let base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        if token.len() == 43 && token.bytes().all(base64url) {
            Reading::Stored
        } else {
            Reading::NotMine
        }
    }
}
