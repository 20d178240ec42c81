//! Tokens: the secret types ([`AccessToken`], [`RefreshToken`], [`ClientSecret`]), the
//! access-token format seam ([`AccessTokenFormat`]), token types and confirmations
//! ([`TokenType`], [`Confirmation`]), and the token endpoint's answer ([`TokenResponse`]).
//!
//! Every secret grantor mints is 256 random bits, base64url-encoded without padding (43
//! characters). Storage only ever sees a secret's SHA-256 digest
//! ([`storage::Digest`](crate::storage::Digest)), so a dump of storage yields no usable
//! credential (C-SE-1), and every secret type has a redacting `Debug` (C-SE-2).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

mod format;
pub(crate) mod keys;
mod response;
mod token_type;

pub use format::{AccessTokenFormat, Opaque, Reading};
pub(crate) use keys::{Digest, GrantId};
pub use response::{TokenContext, TokenResponse};
pub use token_type::{Confirmation, ConfirmationMethod, DPOP, DPOP_NONCE, TokenType};

/// 256 random bits, base64url without padding (43 characters).
pub(crate) fn random_secret() -> String {
    // `fill` draws the bytes in bulk; `random::<[u8; N]>()` would draw them one at a time.
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes[..]);
    // Encoded on the stack, then copied once: `encode` would zero a buffer of its own first.
    // (32 bytes always fit the 43 characters, and base64 is ASCII; were it otherwise, `encode`
    // would still give the right text.)
    let mut encoded = [0u8; 43];
    match URL_SAFE_NO_PAD.encode_slice(bytes, &mut encoded) {
        Ok(43) => match std::str::from_utf8(&encoded) {
            Ok(text) => text.to_owned(),
            Err(_) => URL_SAFE_NO_PAD.encode(bytes),
        },
        _ => URL_SAFE_NO_PAD.encode(bytes),
    }
}

macro_rules! secret_type {
    ($(#[$doc:meta])* $vis:vis $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        $vis struct $name(String);

        impl $name {
            /// Mints a new value: 256 random bits, base64url-encoded.
            pub fn generate() -> Self {
                Self(random_secret())
            }

            /// Wraps a value received from a client or chosen by the host.
            // Authorization codes are only ever minted, never wrapped.
            #[allow(dead_code)]
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret in clear. Only hand it to the party it belongs to.
            pub fn secret(&self) -> &str {
                &self.0
            }

            /// The SHA-256 digest under which storage keeps it.
            pub fn digest(&self) -> Digest {
                Digest::of(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

secret_type! {
    /// An access token in clear, as handed to a client once.
    pub AccessToken
}
secret_type! {
    /// A refresh token in clear, as handed to a client once.
    pub RefreshToken
}
secret_type! {
    /// An authorization code in clear, as put in the redirect once.
    pub(crate) AuthorizationCode
}
secret_type! {
    /// A client secret in clear, as given to the client's developer once at registration.
    pub ClientSecret
}
secret_type! {
    /// A registration access token in clear (RFC 7591 §3.2.1), as given to a dynamically
    /// registered client once: it manages the registration (RFC 7592).
    pub(crate) RegistrationToken
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_secrets_are_256_bit_base64url() {
        let t = AccessToken::generate();
        assert_eq!(t.secret().len(), 43);
        assert!(
            t.secret()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(t, AccessToken::generate());
    }

    // C-SE-2: secret-bearing types never print their value.
    #[test]
    fn debug_is_redacted() {
        let t = RefreshToken::new("super-secret-value");
        assert_eq!(format!("{t:?}"), "RefreshToken(<redacted>)");
        let s = ClientSecret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        let d = Digest::of("hunter2");
        assert_eq!(format!("{d:?}").len(), "Digest(01234567…)".len());
    }
}
