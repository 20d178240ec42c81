//! Strict `application/x-www-form-urlencoded` parsing for query strings and request bodies.
//!
//! Unlike lenient parsers, this one rejects what the RFCs call malformed instead of guessing:
//! invalid percent-escapes and invalid UTF-8 are `invalid_request` (C-SE-3), a parameter sent
//! twice is `invalid_request` when an endpoint asks for it (C-AZ-1, C-TK-1), and an empty value
//! counts as absent (RFC 6749 §3.1).

use http::header::CONTENT_TYPE;
use http::{HeaderMap, Request};

use crate::charset::FORM_PLAIN;
use crate::error::OAuthError;

/// The decoded parameters of a query string or form body, in the order sent. Its `Debug` shows
/// the names only: values may be passwords, secrets or codes.
///
/// All names and values live in one buffer, so parsing costs two allocations (three beyond
/// eight parameters).
#[derive(Default)]
pub(crate) struct Params {
    /// Every decoded name and value, back to back in the order sent.
    text: String,
    /// Each pair as `[name start, name end, value end]` in `text`: its value starts where its
    /// name ends.
    pairs: Vec<[usize; 3]>,
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pairs().map(|(name, _)| name))
            .finish()
    }
}

impl Params {
    /// Parses an urlencoded string (a query string or a form body): splits it on `&` and the
    /// first `=` of each piece, skips empty pieces, and unescapes each name and value.
    pub(crate) fn parse(input: &[u8], max_len: usize) -> Result<Self, OAuthError> {
        if input.len() > max_len {
            return Err(OAuthError::invalid_request(
                "request parameters are too large",
            ));
        }
        // Unescaping never makes the text longer.
        let mut text = Vec::with_capacity(input.len());
        let mut pairs = Vec::with_capacity(8);
        // Where the current piece's name starts in `text`, and where it ends once its first
        // `=` has been read.
        let (mut name_start, mut name_end) = (0, None);
        let mut rest = input;
        loop {
            // Copy the bytes up to the next one that means something, then deal with it.
            let plain = rest
                .iter()
                .position(|b| matches!(b, b'&' | b'=' | b'+' | b'%'))
                .unwrap_or(rest.len());
            text.extend_from_slice(&rest[..plain]);
            rest = &rest[plain..];
            match rest.first() {
                None | Some(b'&') => {
                    // The end of a piece; an empty one (`a=1&&b=2`) is skipped.
                    if name_end.is_some() || text.len() > name_start {
                        let value_start = name_end.unwrap_or(text.len());
                        pairs.push([name_start, value_start, text.len()]);
                    }
                    if rest.is_empty() {
                        break;
                    }
                    (name_start, name_end) = (text.len(), None);
                }
                Some(b'=') if name_end.is_none() => name_end = Some(text.len()),
                Some(b'%') => {
                    text.push(unescape(rest)?);
                    rest = &rest[2..];
                }
                Some(b'+') => text.push(b' '),
                // An `=` after the first is part of the value.
                Some(&b) => text.push(b),
            }
            rest = &rest[1..];
        }
        // Each name and value must be UTF-8 on its own: the whole text is, and every one of
        // them starts and ends on a character boundary.
        let text = String::from_utf8(text).map_err(|_| not_utf8())?;
        if !pairs.iter().flatten().all(|&at| text.is_char_boundary(at)) {
            return Err(not_utf8());
        }
        Ok(Self { text, pairs })
    }

    /// Parameters already decoded (a pushed authorization request's, as stored), in order.
    pub(crate) fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut params = Self::default();
        for (name, value) in pairs {
            let start = params.text.len();
            params.text.push_str(name);
            let name_end = params.text.len();
            params.text.push_str(value);
            params.pairs.push([start, name_end, params.text.len()]);
        }
        params
    }

    /// The `(name, value)` pairs, in the order sent.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|&[name_start, name_end, value_end]| {
            (
                self.text.get(name_start..name_end).unwrap_or_default(),
                self.text.get(name_end..value_end).unwrap_or_default(),
            )
        })
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
        let bytes = self.text.as_bytes();
        let mut matching = self
            .pairs
            .iter()
            .filter(|&&[start, end, _]| bytes.get(start..end) == Some(name.as_bytes()));
        let Some(&[_, name_end, value_end]) = matching.next() else {
            return Ok(None);
        };
        if matching.next().is_some() {
            return Err(repeated(name));
        }
        Ok(self.text.get(name_end..value_end).filter(|v| !v.is_empty()))
    }

    /// The non-empty values of a parameter that may be repeated (`resource`, RFC 8707), in the
    /// order sent.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs()
            .filter(move |(key, value)| *key == name && !value.is_empty())
            .map(|(_, value)| value)
    }

    /// The value of a required parameter.
    pub(crate) fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("parameter '{name}' is missing")))
    }
}

/// Finds one parameter in an urlencoded string without judging the rest of it: the host's own
/// form fields may be large or use encodings grantor would reject, and that must not stop a
/// request that carries its access token elsewhere. Only this parameter's value is decoded
/// strictly; a repeat is `invalid_request`; an empty value counts as absent.
pub(crate) fn find_param(input: &[u8], name: &str) -> Result<Option<String>, OAuthError> {
    let mut found = None;
    for piece in input.split(|&b| b == b'&') {
        let (raw_name, raw_value) = split_pair(piece);
        if decode(raw_name).ok().as_deref() != Some(name) {
            continue;
        }
        if found.is_some() {
            return Err(repeated(name));
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
    let mut out = String::with_capacity(input.len());
    decode_into(input, &mut out)?;
    Ok(out)
}

/// Decodes one urlencoded component onto the end of `out`; it must be UTF-8 on its own.
pub(crate) fn decode_into(input: &[u8], out: &mut String) -> Result<(), OAuthError> {
    if !has_escapes(input) {
        // Nothing to unescape (client credentials, mostly): check and copy.
        out.push_str(std::str::from_utf8(input).map_err(|_| not_utf8())?);
        return Ok(());
    }
    let mut bytes = Vec::with_capacity(input.len());
    unescape_into(input, &mut bytes)?;
    out.push_str(std::str::from_utf8(&bytes).map_err(|_| not_utf8())?);
    Ok(())
}

/// Whether the input holds a `+` or a `%`, i.e. anything to unescape. It looks at every byte
/// without stopping early, which lets the compiler check sixteen at a time. Out of line on
/// purpose: inlined where Basic credentials are read it was not vectorized, and a whole client
/// credentials request cost 1.6% more instructions (callgrind, `bench_profile`).
#[inline(never)]
pub(crate) fn has_escapes(input: &[u8]) -> bool {
    input
        .iter()
        .fold(false, |found, &b| found | (b == b'+') | (b == b'%'))
}

/// Splits a piece of an urlencoded string at its first `=`; without one, the value is empty.
fn split_pair(piece: &[u8]) -> (&[u8], &[u8]) {
    match piece.iter().position(|&b| b == b'=') {
        Some(at) => (&piece[..at], &piece[at + 1..]),
        None => (piece, &[]),
    }
}

/// Appends one urlencoded component to `out`, unescaped: `+` is a space, `%XX` a byte.
fn unescape_into(raw: &[u8], out: &mut Vec<u8>) -> Result<(), OAuthError> {
    let mut rest = raw;
    while let Some(escape) = rest.iter().position(|&b| b == b'+' || b == b'%') {
        out.extend_from_slice(&rest[..escape]);
        rest = &rest[escape..];
        if rest[0] == b'+' {
            out.push(b' ');
        } else {
            out.push(unescape(rest)?);
            rest = &rest[2..];
        }
        rest = &rest[1..];
    }
    out.extend_from_slice(rest);
    Ok(())
}

/// The byte of the `%XX` escape at the start of `escape`; `invalid_request` when the `%` has
/// no two hexadecimal digits after it.
fn unescape(escape: &[u8]) -> Result<u8, OAuthError> {
    escape
        .get(1..3)
        .and_then(hex_byte)
        .ok_or_else(|| OAuthError::invalid_request("malformed urlencoded parameters"))
}

/// The byte two hexadecimal digits stand for.
fn hex_byte(hex: &[u8]) -> Option<u8> {
    let &[high, low] = hex else {
        return None;
    };
    Some(hex_value(high)? << 4 | hex_value(low)?)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn not_utf8() -> OAuthError {
    OAuthError::invalid_request("parameters must be valid UTF-8")
}

fn repeated(name: &str) -> OAuthError {
    OAuthError::invalid_request(format!("parameter '{name}' is repeated"))
}

/// Appends `name=value` pairs, `application/x-www-form-urlencoded`, to the end of a string.
pub(crate) struct FormWriter<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> FormWriter<'a> {
    /// Starts writing pairs after what `out` already holds (e.g. `https://c.example/cb?`).
    pub(crate) fn new(out: &'a mut String) -> Self {
        Self { out, first: true }
    }

    /// Appends one pair, after a `&` unless it is the first.
    pub(crate) fn pair(&mut self, name: &str, value: &str) {
        self.separate();
        encode_component(self.out, name);
        self.out.push('=');
        encode_component(self.out, value);
    }

    /// Appends one pair whose value is urlencoded already.
    pub(crate) fn encoded_pair(&mut self, name: &str, encoded: &str) {
        self.separate();
        encode_component(self.out, name);
        self.out.push('=');
        self.out.push_str(encoded);
    }

    fn separate(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.out.push('&');
        }
    }
}

/// Appends one urlencoded component. Codes, tokens and most states need no escaping and are
/// copied as they are.
fn encode_component(out: &mut String, text: &str) {
    if FORM_PLAIN.contains_all(text.as_bytes()) {
        out.push_str(text);
    } else {
        out.extend(url::form_urlencoded::byte_serialize(text.as_bytes()));
    }
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
        for bad in [
            &b"a=%"[..],
            b"a=%4",
            b"a=%zz",
            b"a=%FF",
            b"a=\xff",
            b"abcdefghij=%",
            b"abcdefgh%zz",
            b"abcdefgh%4",
            b"abcdefghijklmnop=abc+def%",
        ] {
            let err = Params::parse(bad, MAX).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidRequest);
        }
        let err = Params::parse(&[b'a'; 2000], MAX).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
    }

    #[test]
    fn splits_on_ampersands_and_the_first_equals_sign() {
        let p = Params::parse(b"&a=b=c&&d&=e&", MAX).unwrap();
        assert_eq!(p.get("a").unwrap(), Some("b=c"));
        assert_eq!(p.get("d").unwrap(), None);
        assert_eq!(p.get("").unwrap(), Some("e"));
        assert!(p.pairs().eq([("a", "b=c"), ("d", ""), ("", "e")]));
    }

    // C-SE-3: each name and value must be UTF-8 on its own, even when the bytes of two would
    // join into a valid character.
    #[test]
    fn utf8_is_checked_per_name_and_value() {
        for bad in [&b"a%C3=%A9"[..], b"a=%C3&%A9=b", b"a=%C3"] {
            let err = Params::parse(bad, MAX).unwrap_err();
            assert_eq!(err.code(), ErrorCode::InvalidRequest);
        }
        assert_eq!(
            Params::parse(b"a%C3%A9=%C3%A9", MAX)
                .unwrap()
                .get("a\u{e9}")
                .unwrap(),
            Some("\u{e9}")
        );
    }

    // C-SE-2: parameter values (secrets, codes, passwords) never appear in `Debug`.
    #[test]
    fn debug_shows_names_only() {
        let p = Params::parse(b"grant_type=password&password=hunter2", MAX).unwrap();
        assert_eq!(format!("{p:?}"), r#"["grant_type", "password"]"#);
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
    fn encoding_escapes_only_what_it_must() {
        let mut encoded = "https://c.example/cb?".to_owned();
        let mut writer = FormWriter::new(&mut encoded);
        writer.pair("code", "Ab-_.*9");
        writer.pair("state", "a b&c=d/é");
        assert_eq!(
            encoded,
            "https://c.example/cb?code=Ab-_.*9&state=a+b%26c%3Dd%2F%C3%A9"
        );
        let decoded = Params::parse(encoded.split_once('?').unwrap().1.as_bytes(), MAX).unwrap();
        assert_eq!(decoded.get("state").unwrap(), Some("a b&c=d/é"));
    }

    /// The pairs of `input` as `Params` gives them, or its error.
    fn our_pairs(input: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
        let params = Params::parse(input, MAX)?;
        Ok(params
            .pairs()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect())
    }

    /// The pairs of `input` as the `url` crate's (lenient) parser gives them.
    fn url_pairs(input: &[u8]) -> Vec<(String, String)> {
        url::form_urlencoded::parse(input)
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect()
    }

    #[test]
    fn valid_inputs_give_the_pairs_the_url_crate_gives() {
        for input in [
            &b"a=b=c&&d&=e&"[..],
            b"grant_type=refresh_token&refresh_token=abc-DEF_123&client_id=app",
            b"&&=&x",
            b"",
            b"caf\xc3\xa9=th\xc3\xa9&\xc3\xa9",
            b"a%C3%A9=b%E2%82%AC&%C3%A9=+%2B+",
        ] {
            assert_eq!(our_pairs(input).unwrap(), url_pairs(input), "{input:?}");
        }
    }

    /// One urlencoded component decoded without our code: `None` when a `%` lacks two
    /// hexadecimal digits after it or the bytes are not UTF-8.
    fn reference_decode(raw: &[u8]) -> Option<String> {
        let escapes_valid = raw.iter().enumerate().all(|(i, &b)| {
            b != b'%'
                || raw
                    .get(i + 1..i + 3)
                    .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
        });
        let spaced: Vec<u8> = raw
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        let decoded = percent_encoding::percent_decode(&spaced)
            .decode_utf8()
            .ok()?;
        escapes_valid.then(|| decoded.into_owned())
    }

    /// The raw `(name, value)` of each non-empty piece, split on the first `=`.
    fn reference_pieces(input: &[u8]) -> Vec<(&[u8], &[u8])> {
        input
            .split(|&b| b == b'&')
            .filter(|piece| !piece.is_empty())
            .map(|piece| {
                let mut halves = piece.splitn(2, |&b| b == b'=');
                (halves.next().unwrap(), halves.next().unwrap_or_default())
            })
            .collect()
    }

    /// Pieces that are valid on their own (joined, they may still repeat a name).
    const VALID_PIECES: [&[u8]; 32] = [
        b"a",
        b"A",
        b"#",
        b";",
        b"\x00",
        b"\t",
        b"\x7f",
        "\u{1f511}".as_bytes(),
        b"%F0%9F%94%91",
        b"%00",
        b"bcdefghij",
        b"xyz0123456789",
        b"-._~*",
        b"&",
        b"&&",
        b"=",
        b"==",
        b"+",
        b"%41",
        b"%61",
        b"%2B",
        b"%2b",
        b"%26",
        b"%3D",
        b"%20",
        b"%C3%A9",
        b"%c3%a9",
        b"%E2%82%AC",
        "\u{e9}".as_bytes(),
        "\u{20ac}".as_bytes(),
        b"a=%C3%A9",
        b"",
    ];

    /// Pieces that are invalid on their own: bad escapes, escaped or raw bytes that are not
    /// UTF-8 alone (a lead byte next to a continuation byte makes a valid character).
    const RISKY_PIECES: [&[u8]; 11] = [
        b"%", b"%4", b"%zz", b"%G1", b"%FF", b"%C3", b"%80", b"%E2%82", b"\xff", b"\xc3", b"\x80",
    ];

    // C-SE-3: the strict parser against the `url` crate's over generated inputs. Valid input
    // (every `%` starts an escape, every name and value is UTF-8) gives the same pairs in the
    // same order; anything else is `invalid_request`. `find_param` and `get` agree with both.
    #[test]
    fn differential_against_the_url_crate() {
        const INPUTS: usize = 100_000;
        // splitmix64: deterministic, no dependency.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut random = move |below: usize| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) % below as u64) as usize
        };
        let (mut valid_count, mut input) = (0, Vec::new());
        for n in 0..INPUTS {
            input.clear();
            for _ in 0..random(12) {
                if random(16) == 0 {
                    // Any bytes at all, one to three of them.
                    for _ in 0..=random(3) {
                        input.push(random(256) as u8);
                    }
                    continue;
                }
                let piece = if random(8) == 0 {
                    RISKY_PIECES[random(RISKY_PIECES.len())]
                } else {
                    VALID_PIECES[random(VALID_PIECES.len())]
                };
                input.extend_from_slice(piece);
            }
            let shown = String::from_utf8_lossy(&input);
            let pieces = reference_pieces(&input);
            let decoded: Option<Vec<(String, String)>> = pieces
                .iter()
                .map(|&(n, v)| Some((reference_decode(n)?, reference_decode(v)?)))
                .collect();
            let name = ["a", "A", "\u{e9}"][n % 3];
            let found = match &decoded {
                Some(reference) => {
                    valid_count += 1;
                    let pairs = url_pairs(&input);
                    assert_eq!(&pairs, reference, "{shown}");
                    let params = Params::parse(&input, MAX).unwrap();
                    assert!(
                        params.pairs().eq(pairs.iter().map(|(n, v)| (&**n, &**v))),
                        "{shown}"
                    );
                    let values: Vec<&str> = pairs
                        .iter()
                        .filter(|(n, _)| n == name)
                        .map(|(_, v)| &**v)
                        .collect();
                    let expected = match values[..] {
                        [] => Some(None),
                        [value] => Some(Some(value).filter(|v| !v.is_empty())),
                        _ => None,
                    };
                    let got = params.get(name);
                    assert_eq!(got.as_ref().ok().copied(), expected, "{shown}");
                    expected.map(|value| value.map(str::to_owned))
                }
                None => {
                    let err = Params::parse(&input, MAX).unwrap_err();
                    assert_eq!(err.code(), ErrorCode::InvalidRequest, "{shown}");
                    // `find_param` judges only the pieces whose name is `name`.
                    let values: Vec<Option<String>> = pieces
                        .iter()
                        .filter(|&&(n, _)| reference_decode(n).as_deref() == Some(name))
                        .map(|&(_, v)| reference_decode(v))
                        .collect();
                    match &values[..] {
                        [] => Some(None),
                        [Some(value)] => Some(Some(value.clone()).filter(|v| !v.is_empty())),
                        _ => None,
                    }
                }
            };
            match (find_param(&input, name), found) {
                (Ok(got), Some(expected)) => assert_eq!(got, expected, "{shown}"),
                (Err(err), None) => assert_eq!(err.code(), ErrorCode::InvalidRequest),
                (got, expected) => panic!("{shown}: find_param {got:?}, expected {expected:?}"),
            }
        }
        // Both outcomes are well covered.
        assert!(valid_count > INPUTS / 4, "{valid_count} valid inputs");
        assert!(valid_count < INPUTS * 3 / 4, "{valid_count} valid inputs");
    }

    // One component, as `client` decodes Basic credentials: `&` and `=` are its own.
    #[test]
    fn decodes_one_component() {
        assert_eq!(decode(b"a&b=c+%2B%C3%A9").unwrap(), "a&b=c +\u{e9}");
        for bad in [&b"%"[..], b"a%4", b"%zz", b"%C3", b"\xff"] {
            assert_eq!(decode(bad).unwrap_err().code(), ErrorCode::InvalidRequest);
        }
        let plain = b"svc:secret-0123456789-abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJKLMNOP";
        assert!(!has_escapes(plain));
        for at in 0..plain.len() {
            for escape in [b'+', b'%'] {
                let mut input = plain.to_vec();
                input[at] = escape;
                assert!(has_escapes(&input[..=at]) && has_escapes(&input[at..]));
                assert!(!has_escapes(&input[..at]));
            }
        }
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

    mod properties {
        use proptest::prelude::*;

        use super::super::Params;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(20_000))]

            // Whatever the bytes, parsing answers (never panics), within the size limit.
            #[test]
            fn parsing_any_bytes_never_panics(
                input in proptest::collection::vec(any::<u8>(), 0..200),
            ) {
                let _ = Params::parse(&input, 1024);
            }

            // What a standard encoder writes reads back as it was, pair by pair, in order
            // (`url`'s form_urlencoded as the reference).
            #[test]
            fn encoded_pairs_read_back(
                pairs in proptest::collection::vec(("\\PC{1,12}", "\\PC{0,12}"), 0..6),
            ) {
                let encoded = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&pairs)
                    .finish();
                let params = Params::parse(encoded.as_bytes(), 1 << 16).unwrap();
                let read: Vec<(String, String)> = params
                    .pairs()
                    .map(|(name, value)| (name.to_owned(), value.to_owned()))
                    .collect();
                prop_assert_eq!(read, pairs);
            }
        }
    }
}
