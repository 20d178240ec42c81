//! Character classes of the RFCs' grammars (PKCE verifiers, `b64token`, urlencoding's plain
//! characters) as byte tables: checking a string costs one table lookup per byte.

/// A set of bytes.
pub(crate) struct ByteSet([bool; 256]);

impl ByteSet {
    /// ASCII letters and digits, and the bytes of `extra`.
    pub(crate) const fn alphanumeric_and(extra: &[u8]) -> Self {
        let mut set = Self::of(extra);
        let mut b = 0;
        while b < 256 {
            if (b as u8).is_ascii_alphanumeric() {
                set.0[b] = true;
            }
            b += 1;
        }
        set
    }

    /// Exactly the bytes of `members`.
    pub(crate) const fn of(members: &[u8]) -> Self {
        let mut table = [false; 256];
        let mut i = 0;
        while i < members.len() {
            table[members[i] as usize] = true;
            i += 1;
        }
        Self(table)
    }

    /// Whether every byte of `text` is in the set (true for an empty text). Eight bytes at a
    /// time without a branch between them: a rejected string is rare, so an early exit would
    /// buy nothing.
    pub(crate) fn contains_all(&self, text: &[u8]) -> bool {
        let member = |ok: bool, &b: &u8| ok & self.0[usize::from(b)];
        let mut chunks = text.chunks_exact(8);
        let words = chunks
            .by_ref()
            .fold(true, |ok, chunk| chunk.iter().fold(ok, member));
        words && chunks.remainder().iter().fold(true, member)
    }
}

/// RFC 7636 §4.1 `unreserved`, the characters of a PKCE verifier and challenge.
pub(crate) static UNRESERVED: ByteSet = ByteSet::alphanumeric_and(b"-._~");

/// RFC 6750 §2.1 `b64token` without its trailing `=` padding.
pub(crate) static B64TOKEN: ByteSet = ByteSet::alphanumeric_and(b"-._~+/");

/// What `application/x-www-form-urlencoded` serialization leaves as it is.
pub(crate) static FORM_PLAIN: ByteSet = ByteSet::alphanumeric_and(b"*-._");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_hold_exactly_their_bytes() {
        for b in 0..=255u8 {
            let alnum = b.is_ascii_alphanumeric();
            assert_eq!(UNRESERVED.0[usize::from(b)], alnum || b"-._~".contains(&b));
            assert_eq!(B64TOKEN.0[usize::from(b)], alnum || b"-._~+/".contains(&b));
            assert_eq!(FORM_PLAIN.0[usize::from(b)], alnum || b"*-._".contains(&b));
        }
        assert!(UNRESERVED.contains_all(b"aZ09-._~"));
        assert!(!UNRESERVED.contains_all(b"a+b"));
        assert!(B64TOKEN.contains_all(b""));
    }
}
