//! HTTP Basic client authentication (`client_secret_basic`, RFC 6749 §2.3.1): the client id
//! and secret, each form-urlencoded, joined by `:` and base64-encoded.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use crate::error::OAuthError;
use crate::form;

/// The decoded id and secret of an HTTP Basic header, back to back in one buffer. Its `Debug`
/// never shows the secret.
pub(crate) struct BasicCredentials {
    text: String,
    id_len: usize,
}

impl BasicCredentials {
    /// The client id.
    pub(crate) fn id(&self) -> &str {
        self.text.get(..self.id_len).unwrap_or_default()
    }

    /// The client secret.
    pub(crate) fn secret(&self) -> &str {
        self.text.get(self.id_len..).unwrap_or_default()
    }
}

impl fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Basic({:?}, <redacted>)", self.id())
    }
}

/// The error of a Basic header that cannot be read: `invalid_client` with the `Basic`
/// challenge (C-TK-3), never saying which part was wrong.
pub(crate) fn failed() -> OAuthError {
    OAuthError::invalid_client("client authentication failed").with_basic_challenge()
}

/// Decodes `Basic base64(urlencode(id) ":" urlencode(secret))`. Padded and unpadded base64
/// are accepted; each part must be UTF-8 on its own.
pub(crate) fn decode(header: &[u8]) -> Result<BasicCredentials, OAuthError> {
    let header = header.trim_ascii();
    let space = header.iter().position(|&b| b == b' ').ok_or_else(failed)?;
    let (scheme, encoded) = header.split_at(space);
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return Err(failed());
    }
    let encoded = encoded.trim_ascii();
    let decoded = STANDARD
        .decode(encoded)
        .or_else(|_| STANDARD_NO_PAD.decode(encoded))
        .map_err(|_| failed())?;
    let colon = decoded.iter().position(|&b| b == b':').ok_or_else(failed)?;
    if colon == 0 {
        return Err(failed());
    }
    let (id, secret) = decoded.split_at(colon);
    let mut text = String::with_capacity(decoded.len());
    form::decode_into(id, &mut text).map_err(|_| failed())?;
    // Never empty: the raw id is not, and every byte or escape decodes to a byte.
    let id_len = text.len();
    form::decode_into(secret.get(1..).unwrap_or_default(), &mut text).map_err(|_| failed())?;
    Ok(BasicCredentials { text, id_len })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(raw: &[u8]) -> Result<(String, String), OAuthError> {
        let header = format!("Basic {}", STANDARD.encode(raw));
        decode(header.as_bytes()).map(|basic| (basic.id().to_owned(), basic.secret().to_owned()))
    }

    // C-TK-2: the id and secret are form-urlencoded before base64 (RFC 6749 §2.3.1).
    #[test]
    fn basic_credentials_are_form_decoded() {
        // id "a b", secret "p:w%"
        assert_eq!(
            decoded(b"a+b:p%3Aw%25").unwrap(),
            ("a b".to_owned(), "p:w%".to_owned())
        );
        assert_eq!(
            decoded(b"svc:s3cret").unwrap(),
            ("svc".into(), "s3cret".into())
        );
        assert_eq!(decoded(b"svc:a:b").unwrap(), ("svc".into(), "a:b".into()));
        assert_eq!(
            decoded("\u{e9}t\u{e9}:x".as_bytes()).unwrap(),
            ("\u{e9}t\u{e9}".into(), "x".into())
        );
        assert_eq!(decoded(b"svc:").unwrap(), ("svc".into(), String::new()));
        // Each part must be UTF-8 on its own, even when the bytes around the colon would join.
        assert!(decoded(b"\xc3:\xa9").is_err());
        assert!(decoded(b":x").is_err());
        assert!(decoded(b"no-colon").is_err());
        assert!(decoded(b"svc:%zz").is_err());
        // Unpadded base64 is accepted too.
        let unpadded = format!("Basic {}", STANDARD_NO_PAD.encode("svc:s3cret1"));
        assert_eq!(decode(unpadded.as_bytes()).unwrap().secret(), "s3cret1");
        assert!(decode(b"Bearer abc").unwrap_err().basic_challenge());
        assert!(decode(b"Basic !!!").is_err());
    }

    mod properties {
        use base64::Engine;
        use base64::engine::general_purpose::STANDARD;
        use proptest::prelude::*;

        use super::super::decode;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(10_000))]

            // Any header value is answered, never a panic.
            #[test]
            fn decoding_any_header_never_panics(
                header in proptest::collection::vec(any::<u8>(), 0..120),
            ) {
                let _ = decode(&header);
            }

            // Any id and secret, form-encoded then base64-encoded as RFC 6749 §2.3.1 says,
            // decode back exactly (the `url` crate's encoder as the reference).
            #[test]
            fn encoded_credentials_decode_back(id in "\\PC{1,20}", secret in "\\PC{0,30}") {
                let encode = |text: &str| -> String {
                    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
                };
                let raw = format!("{}:{}", encode(&id), encode(&secret));
                let header = format!("Basic {}", STANDARD.encode(raw));
                let credentials = decode(header.as_bytes()).unwrap();
                prop_assert_eq!(credentials.id(), id.as_str());
                prop_assert_eq!(credentials.secret(), secret.as_str());
            }
        }
    }
}
