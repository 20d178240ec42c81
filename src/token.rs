//! Minting and hashing of secrets: access tokens, refresh tokens, authorization codes and
//! client secrets.
//!
//! Every secret grantor mints is 256 random bits, base64url-encoded without padding (43
//! characters). Storage only ever sees a secret's SHA-256 [`Digest`], so a dump of storage yields
//! no usable credential (C-SE-1), and every secret type has a redacting `Debug` (C-SE-2).

use std::fmt;

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 digest of a secret: how storage keys tokens and codes and keeps client secrets.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest of a secret's text.
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// A digest from its 32 raw bytes (as a storage backend reads it back).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Compares two digests in constant time.
    pub fn ct_eq(&self, other: &Digest) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    /// Lower-case hexadecimal form (64 characters).
    pub fn to_hex(&self) -> String {
        use fmt::Write;
        self.0.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

impl std::hash::Hash for Digest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Digests are uniformly random: eight bytes are as good a hash as any.
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(first));
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A digest is not a credential, but a short prefix is all a log ever needs.
        write!(f, "Digest({}…)", &self.to_hex()[..8])
    }
}

/// 256 random bits, base64url without padding.
fn random_secret() -> String {
    // `fill` draws the bytes in bulk; `random::<[u8; N]>()` would draw them one at a time.
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes[..]);
    ascii_string(&base64url(&bytes))
}

/// The text of an encoder's output (always ASCII, so never lossy). `from_utf8` first: its
/// ASCII check is a few word-wide steps, where `from_utf8_lossy` alone walks the text in chunks
/// at several times the cost; the lossy form only keeps this free of `unwrap`.
pub(crate) fn ascii_string(encoded: &[u8]) -> String {
    String::from_utf8(encoded.to_vec())
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

/// The base64url alphabet (RFC 4648 §5).
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding of 32 bytes (a secret, a SHA-256 digest): 43 characters. Written
/// for this one size, it costs a fraction of a general-purpose encoder.
pub(crate) fn base64url(bytes: &[u8; 32]) -> [u8; 43] {
    let char = |bits: u32, shift: u32| BASE64URL[(bits >> shift & 63) as usize];
    let mut out = [0u8; 43];
    // Ten groups of three bytes become four characters each; the last two bytes become three.
    for group in 0..10 {
        let bits = u32::from(bytes[3 * group]) << 16
            | u32::from(bytes[3 * group + 1]) << 8
            | u32::from(bytes[3 * group + 2]);
        out[4 * group] = char(bits, 18);
        out[4 * group + 1] = char(bits, 12);
        out[4 * group + 2] = char(bits, 6);
        out[4 * group + 3] = char(bits, 0);
    }
    let bits = u32::from(bytes[30]) << 16 | u32::from(bytes[31]) << 8;
    out[40] = char(bits, 18);
    out[41] = char(bits, 12);
    out[42] = char(bits, 6);
    out
}

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Mints a new value: 256 random bits, base64url-encoded.
            pub fn generate() -> Self {
                Self(random_secret())
            }

            /// Wraps a value received from a client or chosen by the host.
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
    AccessToken
}
secret_type! {
    /// A refresh token in clear, as handed to a client once.
    RefreshToken
}
secret_type! {
    /// An authorization code in clear, as put in the redirect once.
    AuthorizationCode
}
secret_type! {
    /// A client secret in clear, as given to the client's developer once at registration.
    ClientSecret
}

/// The identifier shared by everything issued under one authorization: its code, its access
/// tokens and every refresh token in its rotation chain. Revoking a grant revokes them all.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GrantId([u8; 16]);

impl std::hash::Hash for GrantId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Grant ids are uniformly random: eight bytes are as good a hash as any.
        let mut first = [0u8; 8];
        first.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(first));
    }
}

impl GrantId {
    /// A new random grant id.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        rand::fill(&mut bytes[..]);
        Self(bytes)
    }

    /// A grant id from its 16 raw bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The 16 raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GrantId(")?;
        for b in &self.0[..4] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
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

    #[test]
    fn base64url_matches_the_general_encoder() {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        for seed in 0..=255u8 {
            let bytes: [u8; 32] = std::array::from_fn(|i| {
                seed.wrapping_mul(31)
                    .wrapping_add((i as u8).wrapping_mul(97))
            });
            assert_eq!(
                base64url(&bytes).as_slice(),
                URL_SAFE_NO_PAD.encode(bytes).as_bytes()
            );
        }
        assert_eq!(
            base64url(&[0xff; 32]).as_slice(),
            URL_SAFE_NO_PAD.encode([0xff; 32]).as_bytes()
        );
    }

    #[test]
    fn digest_matches_sha256() {
        assert_eq!(
            Digest::of("abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(Digest::of("a").ct_eq(&Digest::of("a")));
        assert!(!Digest::of("a").ct_eq(&Digest::of("b")));
    }
}
