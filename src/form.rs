//! Strict `application/x-www-form-urlencoded` parsing for query strings and request bodies.
//!
//! Unlike lenient parsers, this one rejects what the RFCs call malformed instead of guessing:
//! invalid percent-escapes and invalid UTF-8 are `invalid_request` (C-SE-3), a parameter sent
//! twice is `invalid_request` when an endpoint asks for it (C-AZ-1, C-TK-1), and an empty value
//! counts as absent (RFC 6749 §3.1).

use http::header::CONTENT_TYPE;
use http::{HeaderMap, Request};

use crate::charset::{FORM_PLAIN, FORM_SPECIAL};
use crate::error::OAuthError;

/// The decoded parameters of a query string or form body, in the order sent. Its `Debug` shows
/// the names only: values may be passwords, secrets or codes.
///
/// All names and values live in one buffer, so parsing costs two allocations (three beyond
/// eight parameters).
#[derive(Default)]
pub(crate) struct Params {
    /// Every decoded name and value. When nothing needed decoding, this is the input as sent
    /// and the pairs skip its `&` and `=`; otherwise names and values are back to back.
    text: String,
    /// Each pair as `[name start, name end, value start, value end]` in `text`.
    pairs: Vec<[usize; 4]>,
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.pairs().map(|(name, _)| name))
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
        let (text, pairs) = if has_escapes(input) {
            decode_pairs(input)?
        } else {
            (input.to_vec(), split_pairs(input))
        };
        // Each name and value must be UTF-8 on its own: the whole text is, and no component
        // starts or ends inside a character.
        let text = String::from_utf8(text).map_err(|_| not_utf8())?;
        let on_boundaries = |pair: &[usize; 4]| pair.iter().all(|&at| text.is_char_boundary(at));
        if !text.is_ascii() && !pairs.iter().all(on_boundaries) {
            return Err(not_utf8());
        }
        Ok(Self { text, pairs })
    }

    /// The `(name, value)` pairs, in the order sent.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs
            .iter()
            .map(|&[name_start, name_end, value_start, value_end]| {
                (
                    self.text.get(name_start..name_end).unwrap_or_default(),
                    self.text.get(value_start..value_end).unwrap_or_default(),
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
            .filter(|&&[start, end, ..]| bytes.get(start..end) == Some(name.as_bytes()));
        let Some(&[_, _, start, end]) = matching.next() else {
            return Ok(None);
        };
        if matching.next().is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter '{name}' is repeated"
            )));
        }
        Ok(self.text.get(start..end).filter(|v| !v.is_empty()))
    }

    /// The value of a required parameter.
    pub(crate) fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("parameter '{name}' is missing")))
    }

    /// The parameters whose names are not `known`, in the order sent.
    pub(crate) fn extras(&self, known: impl Fn(&str) -> bool) -> Vec<(String, String)> {
        self.pairs()
            .filter(|(n, _)| !known(n))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }
}

/// Splits an urlencoded string with nothing to unescape on `&` and the first `=` of each
/// piece; the pairs index the input itself. Empty pieces (`a=1&&b=2`) are skipped.
fn split_pairs(input: &[u8]) -> Vec<[usize; 4]> {
    let mut pairs = Vec::with_capacity(8);
    let (mut start, mut equals, mut i) = (0, None, 0);
    loop {
        // With no `%` or `+` in the input, a plain run ends at `&`, `=` or the end.
        i += plain_len(input.get(i..).unwrap_or_default());
        match input.get(i) {
            Some(b'=') => {
                equals = equals.or(Some(i));
                i += 1;
            }
            _ => {
                if i > start {
                    pairs.push(match equals {
                        Some(at) => [start, at, at + 1, i],
                        None => [start, i, i, i],
                    });
                }
                if i >= input.len() {
                    return pairs;
                }
                i += 1;
                (start, equals) = (i, None);
            }
        }
    }
}

/// Decodes an urlencoded string into one buffer of names and values back to back, splitting on
/// `&` and the first `=` of each piece and unescaping `+` and `%XX` in one pass. Empty pieces
/// are skipped.
fn decode_pairs(input: &[u8]) -> Result<(Vec<u8>, Vec<[usize; 4]>), OAuthError> {
    // Decoding never makes the text longer: `w <= i` throughout, and the 8 spare bytes take
    // the whole-word stores below.
    let mut text = vec![0u8; input.len() + 8];
    let mut pairs = Vec::with_capacity(8);
    let (mut name_start, mut name_end) = (0, None);
    let (mut i, mut w) = (0, 0);
    loop {
        // Plain bytes go eight at a time: the word is stored whole, and whatever follows its
        // first special byte is overwritten next.
        while let Some(word) = input.get(i..).and_then(<[u8]>::first_chunk::<8>) {
            let plain = plain_in_word(word);
            text[w..w + 8].copy_from_slice(word);
            (i, w) = (i + plain, w + plain);
            if plain < 8 {
                break;
            }
        }
        let byte = input.get(i).copied();
        match byte {
            None | Some(b'&') => {
                if w > name_start || name_end.is_some() {
                    let mid = name_end.unwrap_or(w);
                    pairs.push([name_start, mid, mid, w]);
                }
                if byte.is_none() {
                    text.truncate(w);
                    return Ok((text, pairs));
                }
                (name_start, name_end) = (w, None);
            }
            Some(b'=') if name_end.is_none() => name_end = Some(w),
            Some(b'%') => {
                text[w] = unescape(input, i)?;
                w += 1;
                i += 2;
            }
            Some(b) => {
                // `+` is a space; anything else (a plain byte near the end, an `=` inside a
                // value) is itself.
                text[w] = if b == b'+' { b' ' } else { b };
                w += 1;
            }
        }
        i += 1;
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
    let mut out = String::with_capacity(input.len());
    decode_into(input, &mut out)?;
    Ok(out)
}

/// Decodes one urlencoded component onto the end of `out`; it must be UTF-8 on its own.
pub(crate) fn decode_into(input: &[u8], out: &mut String) -> Result<(), OAuthError> {
    if !has_escapes(input) {
        // Nothing to decode (the common case): check and copy.
        out.push_str(std::str::from_utf8(input).map_err(|_| not_utf8())?);
        return Ok(());
    }
    let mut bytes = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => bytes.push(b' '),
            b'%' => {
                bytes.push(unescape(input, i)?);
                i += 2;
            }
            b => bytes.push(b),
        }
        i += 1;
    }
    out.push_str(std::str::from_utf8(&bytes).map_err(|_| not_utf8())?);
    Ok(())
}

/// How many bytes at the start of `bytes` are plain, i.e. none of `&`, `=`, `+` and `%`, eight
/// at a time.
fn plain_len(bytes: &[u8]) -> usize {
    let mut len = 0;
    while let Some(word) = bytes.get(len..).and_then(<[u8]>::first_chunk::<8>) {
        let plain = plain_in_word(word);
        len += plain;
        if plain < 8 {
            return len;
        }
    }
    let tail = bytes.get(len..).unwrap_or_default();
    len + tail
        .iter()
        .position(|&b| FORM_SPECIAL.contains(b))
        .unwrap_or(tail.len())
}

/// How many of a word's bytes, from the first, are plain (8 when all are).
fn plain_in_word(word: &[u8; 8]) -> usize {
    (special_bytes(u64::from_le_bytes(*word)).trailing_zeros() / 8) as usize
}

/// The byte of the `%XX` escape at `input[at]`; `invalid_request` when it is cut short or not
/// hexadecimal.
fn unescape(input: &[u8], at: usize) -> Result<u8, OAuthError> {
    let malformed = || OAuthError::invalid_request("malformed urlencoded parameters");
    let hex = input.get(at + 1..at + 3).ok_or_else(malformed)?;
    let high = hex_value(hex[0]).ok_or_else(malformed)?;
    let low = hex_value(hex[1]).ok_or_else(malformed)?;
    Ok(high << 4 | low)
}

/// Whether the input holds a `+` or a `%`, i.e. anything to unescape; eight bytes at a time.
pub(crate) fn has_escapes(input: &[u8]) -> bool {
    let mut words = input.chunks_exact(8);
    let found = words.by_ref().fold(0, |found, word| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        found | flag_bytes(u64::from_le_bytes(bytes), [b'+', b'%'])
    });
    found != 0 || words.remainder().iter().any(|&b| b == b'+' || b == b'%')
}

/// Flags the bytes of a little-endian word that are `&`, `=`, `+` or `%`: a byte equal to one
/// of them is a zero byte after an XOR, and the classic zero-byte test flags it. Its false
/// positives only ever lie above a real match, so the lowest flagged byte is exact (zero when
/// there is none).
fn special_bytes(word: u64) -> u64 {
    flag_bytes(word, [b'&', b'=', b'+', b'%'])
}

/// Flags (high bit set) the bytes of a word equal to one of `targets`; exact for the lowest
/// flagged byte, see [`special_bytes`].
fn flag_bytes<const N: usize>(word: u64, targets: [u8; N]) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    targets.iter().fold(0, |found, &target| {
        let x = word ^ (ONES * u64::from(target));
        found | (x.wrapping_sub(ONES) & !x & HIGHS)
    })
}

fn not_utf8() -> OAuthError {
    OAuthError::invalid_request("parameters must be valid UTF-8")
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
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
        assert_eq!(
            p.extras(|_| false),
            [("a", "b=c"), ("d", ""), ("", "e")].map(|(n, v)| (n.to_owned(), v.to_owned()))
        );
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

    // The input is split in place when nothing needs unescaping, decoded otherwise: both give
    // the same pairs.
    #[test]
    fn splitting_and_decoding_agree() {
        for input in [
            &b"a=b=c&&d&=e&"[..],
            b"grant_type=refresh_token&refresh_token=abc-DEF_123&client_id=app",
            b"&&=&x",
            b"",
            b"caf\xc3\xa9=th\xc3\xa9&\xc3\xa9",
        ] {
            let (text, pairs) = decode_pairs(input).unwrap();
            let decoded = Params {
                text: String::from_utf8(text).unwrap(),
                pairs,
            };
            let split = Params::parse(input, MAX).unwrap();
            assert!(split.pairs().eq(decoded.pairs()), "{input:?}");
        }
    }

    // Long and short runs, escapes at every offset of the eight-byte words: the same pairs as
    // the `url` crate's decoder gives for valid input.
    #[test]
    fn decoding_matches_a_reference_decoder() {
        let pieces: [&[u8]; 10] = [
            b"a",
            b"bcdefghij",
            b"=",
            b"&",
            b"+",
            b"%41",
            b"%C3%A9",
            b"xyz0123456789",
            b"-._~",
            b"==",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..5000 {
            let mut input = Vec::new();
            for _ in 0..seed % 14 {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                input.extend_from_slice(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            let ours: Vec<(String, String)> = Params::parse(&input, MAX)
                .unwrap()
                .pairs()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect();
            let reference: Vec<(String, String)> = url::form_urlencoded::parse(&input)
                .map(|(n, v)| (n.into_owned(), v.into_owned()))
                .collect();
            assert_eq!(ours, reference, "{:?}", String::from_utf8_lossy(&input));
        }
    }

    #[test]
    fn plain_runs_end_at_the_first_special_byte() {
        let text = b"abcdefgh-ijklmno.pqrs_tuv\xc3\xa9wxyz0123456789";
        for special in [b'&', b'=', b'+', b'%'] {
            for at in 0..text.len() {
                let mut input = text.to_vec();
                input[at] = special;
                if at + 3 < input.len() {
                    input[at + 3] = special;
                }
                assert_eq!(plain_len(&input), at, "{special} at {at}");
            }
        }
        assert_eq!(plain_len(text), text.len());
        assert_eq!(plain_len(b""), 0);
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
