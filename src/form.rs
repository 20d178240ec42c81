//! Strict `application/x-www-form-urlencoded` parsing for query strings and request bodies.
//!
//! Unlike lenient parsers, this one rejects what the RFCs call malformed instead of guessing:
//! invalid percent-escapes and invalid UTF-8 are `invalid_request` (C-SE-3), a parameter sent
//! twice is `invalid_request` when an endpoint asks for it (C-AZ-1, C-TK-1), and an empty value
//! counts as absent (RFC 6749 §3.1).

use http::header::CONTENT_TYPE;
use http::{HeaderMap, Request};

use crate::error::OAuthError;

/// The parameters of one request, in the order they were sent. Its `Debug` shows the names
/// only: values may be passwords, secrets or codes.
#[derive(Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pairs.iter().map(|(name, _)| name))
            .finish()
    }
}

impl Params {
    /// Parses an urlencoded string (a query string or a form body).
    pub(crate) fn parse(input: &[u8], max_len: usize) -> Result<Self, OAuthError> {
        if input.len() > max_len {
            return Err(OAuthError::invalid_request(
                "request parameters are too large",
            ));
        }
        let mut pairs = Vec::new();
        for piece in input.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match piece.iter().position(|&b| b == b'=') {
                Some(i) => (&piece[..i], &piece[i + 1..]),
                None => (piece, &[][..]),
            };
            let name = decode(name)?;
            let value = decode(value)?;
            pairs.push((name, value));
        }
        Ok(Self { pairs })
    }

    /// The parameters of a request's query string (empty without one).
    pub(crate) fn from_query<B>(request: &Request<B>, max_len: usize) -> Result<Self, OAuthError> {
        let query = request.uri().query().unwrap_or("");
        Self::parse(query.as_bytes(), max_len)
    }

    /// The parameters of a form body, after checking the content type.
    pub(crate) fn from_form_body<B: AsRef<[u8]>>(
        request: &Request<B>,
        max_len: usize,
    ) -> Result<Self, OAuthError> {
        if !is_form(request.headers()) {
            return Err(OAuthError::invalid_request(
                "the request body must be application/x-www-form-urlencoded",
            ));
        }
        Self::parse(request.body().as_ref(), max_len)
    }

    /// The value of a parameter: `None` if absent or empty, an error if sent more than once.
    pub(crate) fn get(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut found = None;
        for (n, v) in &self.pairs {
            if n == name {
                if found.is_some() {
                    return Err(OAuthError::invalid_request(format!(
                        "parameter '{name}' is repeated"
                    )));
                }
                found = Some(v.as_str());
            }
        }
        Ok(found.filter(|v| !v.is_empty()))
    }

    /// The value of a required parameter.
    pub(crate) fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("parameter '{name}' is missing")))
    }

    /// The parameters whose names are not in `known`, in the order sent.
    pub(crate) fn extras(&self, known: &[&str]) -> Vec<(String, String)> {
        self.pairs
            .iter()
            .filter(|(n, _)| !known.contains(&n.as_str()))
            .cloned()
            .collect()
    }
}

/// Finds one parameter in an urlencoded string without judging the rest of it: the host's own
/// form fields may be large or use encodings grantor would reject, and that must not stop a
/// request that carries its access token elsewhere. Only this parameter's value is decoded
/// strictly; a repeat is `invalid_request`; an empty value counts as absent.
pub(crate) fn find_param(input: &[u8], name: &str) -> Result<Option<String>, OAuthError> {
    let mut found = None;
    for piece in input.split(|&b| b == b'&') {
        let (raw_name, raw_value) = match piece.iter().position(|&b| b == b'=') {
            Some(i) => (&piece[..i], &piece[i + 1..]),
            None => (piece, &[][..]),
        };
        if decode(raw_name).ok().as_deref() != Some(name) {
            continue;
        }
        if found.is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter '{name}' is repeated"
            )));
        }
        found = Some(decode(raw_value)?);
    }
    Ok(found.filter(|v| !v.is_empty()))
}

/// Whether the request declares an `application/x-www-form-urlencoded` body (parameters such as
/// `charset` are allowed).
pub(crate) fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Decodes one urlencoded component: `+` is a space, `%XX` a byte; the result must be UTF-8.
pub(crate) fn decode(input: &[u8]) -> Result<String, OAuthError> {
    let malformed = || OAuthError::invalid_request("malformed urlencoded parameters");
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = input.get(i + 1..i + 3).ok_or_else(malformed)?;
                let high = hex_value(hex[0]).ok_or_else(malformed)?;
                let low = hex_value(hex[1]).ok_or_else(malformed)?;
                out.push(high << 4 | low);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| OAuthError::invalid_request("parameters must be valid UTF-8"))
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Encodes `(name, value)` pairs as `application/x-www-form-urlencoded`.
pub(crate) fn encode<'n, 'v>(pairs: impl IntoIterator<Item = (&'n str, &'v str)>) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    const MAX: usize = 1024;

    #[test]
    fn decodes_plus_and_percent_escapes() {
        let p = Params::parse(b"a=x+y%20z&b=%C3%A9&c&d=", MAX).unwrap();
        assert_eq!(p.get("a").unwrap(), Some("x y z"));
        assert_eq!(p.get("b").unwrap(), Some("\u{e9}"));
        assert_eq!(p.get("c").unwrap(), None);
        assert_eq!(p.get("d").unwrap(), None);
    }

    // C-SE-3: malformed encodings are invalid_request, not a panic or a guess.
    #[test]
    fn rejects_malformed_input() {
        for bad in [&b"a=%"[..], b"a=%4", b"a=%zz", b"a=%FF", b"a=\xff"] {
            let err = Params::parse(bad, MAX).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidRequest);
        }
        let err = Params::parse(&[b'a'; 2000], MAX).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
    }

    #[test]
    fn repeated_parameters_are_errors_only_when_asked_for() {
        let p = Params::parse(b"a=1&a=2&b=3", MAX).unwrap();
        assert_eq!(p.get("a").unwrap_err().code(), ErrorCode::InvalidRequest);
        assert_eq!(p.require("b").unwrap(), "3");
        assert_eq!(
            p.require("zz").unwrap_err().code(),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn find_param_ignores_the_rest_of_the_input() {
        let input = b"note=100%&big=\xff\xfe&access_token=abc%2B&x";
        assert_eq!(
            find_param(input, "access_token").unwrap().as_deref(),
            Some("abc+")
        );
        assert_eq!(find_param(input, "missing").unwrap(), None);
        assert_eq!(find_param(b"access_token=", "access_token").unwrap(), None);
        let repeated = find_param(b"access_token=a&access_token=b", "access_token");
        assert_eq!(repeated.unwrap_err().code(), ErrorCode::InvalidRequest);
        assert!(find_param(b"access_token=%zz", "access_token").is_err());
    }

    #[test]
    fn content_type_may_carry_parameters() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8"
                .parse()
                .unwrap(),
        );
        assert!(is_form(&headers));
        headers.insert(CONTENT_TYPE, "application/json".parse().unwrap());
        assert!(!is_form(&headers));
    }
}
