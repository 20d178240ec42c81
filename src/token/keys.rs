//! The keys storage files records under: the SHA-256 [`Digest`] of a secret, and the
//! [`GrantId`] that ties together everything issued under one authorization.

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
        hex(&self.0)
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

/// Lower-case hexadecimal form of bytes.
fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
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

impl GrantId {
    /// Lower-case hexadecimal form (32 characters), as grant ids are serialized.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// A grant id from its hexadecimal form.
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 16];
        if text.len() != 32 || !text.is_ascii() {
            return None;
        }
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
            let pair = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(Self(bytes))
    }
}

impl serde::Serialize for GrantId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for GrantId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_hex(&text).ok_or_else(|| serde::de::Error::custom("malformed grant id"))
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
    fn grant_ids_round_trip_through_hex() {
        let grant = GrantId::generate();
        assert_eq!(GrantId::from_hex(&grant.to_hex()), Some(grant));
        let json = serde_json::to_string(&grant).unwrap();
        assert_eq!(serde_json::from_str::<GrantId>(&json).unwrap(), grant);
        for bad in ["", "00", &"g".repeat(32), &"é".repeat(16)] {
            assert_eq!(GrantId::from_hex(bad), None, "{bad:?}");
        }
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
