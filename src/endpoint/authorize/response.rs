//! How the authorization endpoint answers the client: the response modes (OAuth 2.0 Multiple
//! Response Type Encoding Practices §2, OAuth 2.0 Form Post Response Mode).
//!
//! `query` and `fragment` redirect with `303 See Other` and the parameters in the redirect URI;
//! `form_post` answers an HTML page whose form the browser posts to the redirect URI at once.
//! Every answer echoes `state` exactly and carries `iss` when enabled (C-AZ-5, C-IS-1). The
//! page is built from constants and escaped values only, with a Content-Security-Policy that
//! lets no script but its own run, forbids framing, and is never cached (C-OI-7).

use std::fmt::Write as _;
use std::str::FromStr;

use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue, PRAGMA};
use http::{Response, StatusCode};
use serde::{Deserialize, Serialize};

use crate::client::ResponseType;
use crate::endpoint::redirect;
use crate::error::OAuthError;
use crate::form::{FormWriter, decode};

/// How the authorization response reaches the client (`response_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResponseMode {
    /// Parameters in the redirect URI's query: the default for `code`.
    Query,
    /// Parameters in the redirect URI's fragment: the default for every type that returns a
    /// token, which must stay out of server logs and `Referer` headers.
    Fragment,
    /// An auto-submitting HTML form that posts the parameters to the redirect URI.
    FormPost,
}

impl ResponseMode {
    /// Every response mode, as metadata lists them.
    pub const ALL: [Self; 3] = [Self::Query, Self::Fragment, Self::FormPost];

    /// The value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Query => "query",
            Self::Fragment => "fragment",
            Self::FormPost => "form_post",
        }
    }

    /// The mode a response type uses when the request names none.
    pub fn default_for(response_type: ResponseType) -> Self {
        if response_type.returns_tokens() {
            Self::Fragment
        } else {
            Self::Query
        }
    }

    /// Whether a response type may be answered in this mode: tokens never go in the query.
    pub fn allows(self, response_type: ResponseType) -> bool {
        self != Self::Query || !response_type.returns_tokens()
    }
}

impl FromStr for ResponseMode {
    type Err = OAuthError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.as_str() == s)
            .ok_or_else(|| OAuthError::invalid_request("unsupported response_mode"))
    }
}

/// Builds authorization responses for one request: where they go, how, and what every one of
/// them carries (`state`, `iss`).
pub(crate) struct Responder<'a> {
    pub(crate) redirect_uri: &'a str,
    pub(crate) mode: ResponseMode,
    pub(crate) state: Option<&'a str>,
    /// The issuer, urlencoded, when responses carry `iss`.
    pub(crate) issuer: Option<&'a str>,
}

/// What the authorization endpoint sends back to the client, in its response mode.
pub(crate) enum Delivery {
    /// A `303` to this location.
    Redirect(String),
    /// A `200` HTML page that posts the parameters.
    FormPost(String),
}

impl Delivery {
    pub(crate) fn into_response(self) -> Response<Vec<u8>> {
        match self {
            Self::Redirect(location) => redirect(&location),
            Self::FormPost(page) => form_post_page(page),
        }
    }
}

impl Responder<'_> {
    /// The answer carrying `params`, then `state` and `iss`.
    pub(crate) fn deliver<'n, 'v>(
        &self,
        params: impl IntoIterator<Item = (&'n str, &'v str)>,
    ) -> Delivery {
        match self.mode {
            ResponseMode::FormPost => Delivery::FormPost(self.page(params)),
            ResponseMode::Query | ResponseMode::Fragment => {
                Delivery::Redirect(self.location(params))
            }
        }
    }

    fn location<'n, 'v>(&self, params: impl IntoIterator<Item = (&'n str, &'v str)>) -> String {
        let separator = if self.mode == ResponseMode::Fragment {
            '#'
        } else if self.redirect_uri.contains('?') {
            // Registered URIs may carry a query, which is kept (RFC 6749 §3.1.2).
            '&'
        } else {
            '?'
        };
        let mut location = String::with_capacity(self.redirect_uri.len() + 160);
        location.push_str(self.redirect_uri);
        location.push(separator);
        let mut writer = FormWriter::new(&mut location);
        for (name, value) in params {
            writer.pair(name, value);
        }
        if let Some(state) = self.state {
            writer.pair("state", state);
        }
        if let Some(issuer) = self.issuer {
            writer.encoded_pair("iss", issuer);
        }
        location
    }

    fn page<'n, 'v>(&self, params: impl IntoIterator<Item = (&'n str, &'v str)>) -> String {
        let mut page = String::with_capacity(1024);
        page.push_str(PAGE_START);
        push_escaped(&mut page, self.redirect_uri);
        page.push_str("\">\n");
        let issuer = self
            .issuer
            .and_then(|encoded| decode(encoded.as_bytes()).ok());
        for (name, value) in params {
            push_input(&mut page, name, value);
        }
        if let Some(state) = self.state {
            push_input(&mut page, "state", state);
        }
        if let Some(issuer) = &issuer {
            push_input(&mut page, "iss", issuer);
        }
        page.push_str(PAGE_END);
        page
    }

    /// The error answer for `error`.
    pub(crate) fn error(&self, error: OAuthError) -> super::AuthorizationError {
        match self.deliver(error.pairs()) {
            Delivery::Redirect(location) => super::AuthorizationError::Redirect { error, location },
            Delivery::FormPost(page) => super::AuthorizationError::FormPost { error, page },
        }
    }
}

/// The page's script: submit the one form. Its hash is in the Content-Security-Policy, so no
/// other script can run (the page carries it in [`PAGE_END`]; a test checks both).
#[cfg(test)]
const SCRIPT: &str = "document.forms[0].submit();";

/// The base64 SHA-256 of [`SCRIPT`], for `script-src` (checked by a test).
const SCRIPT_HASH: &str = "sha256-8lDeP0UDwCO6/RhblgeH/ctdBzjVpJxrXizsnIk3cEQ=";

const PAGE_START: &str = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
<meta name=\"referrer\" content=\"no-referrer\"><title>Signing you in</title></head>\n\
<body><form method=\"post\" action=\"";

const PAGE_END: &str = "<noscript><p>JavaScript is off: press the button to continue.</p>\
<button type=\"submit\">Continue</button></noscript>\n</form>\n\
<script>document.forms[0].submit();</script>\n</body></html>\n";

/// The `200` answer for a `form_post` page: HTML, never cached, never framed, no script but
/// the page's own, no `Referer` (C-OI-7).
fn form_post_page(page: String) -> Response<Vec<u8>> {
    let mut response = Response::new(page.into_bytes());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    let mut csp = String::from("default-src 'none'; script-src '");
    let _ = write!(
        csp,
        "{SCRIPT_HASH}'; frame-ancestors 'none'; base-uri 'none'"
    );
    let fixed: [(HeaderName, &'static str); 5] = [
        (CONTENT_TYPE, "text/html; charset=utf-8"),
        (CACHE_CONTROL, "no-store"),
        (PRAGMA, "no-cache"),
        (HeaderName::from_static("x-frame-options"), "DENY"),
        (HeaderName::from_static("referrer-policy"), "no-referrer"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(HeaderName::from_static("content-security-policy"), value);
    }
    response
}

/// Appends a hidden input carrying one parameter.
fn push_input(page: &mut String, name: &str, value: &str) {
    page.push_str("<input type=\"hidden\" name=\"");
    push_escaped(page, name);
    page.push_str("\" value=\"");
    push_escaped(page, value);
    page.push_str("\">\n");
}

/// Appends `text` escaped for an HTML attribute value in double quotes (and for text content):
/// `&`, `<`, `>`, `"` and `'` become character references.
fn push_escaped(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#x27;",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use sha2::{Digest, Sha256};

    #[test]
    fn the_policy_allows_exactly_the_page_script() {
        let hash = Sha256::digest(SCRIPT.as_bytes());
        let expected = base64::engine::general_purpose::STANDARD.encode(hash);
        assert_eq!(SCRIPT_HASH, format!("sha256-{expected}"));
        assert!(PAGE_END.contains(&format!("<script>{SCRIPT}</script>")));
    }

    #[test]
    fn escaping_covers_every_character_that_ends_an_attribute_or_starts_markup() {
        let mut out = String::new();
        push_escaped(&mut out, "a\"><script>x='1'&y</script>é");
        assert_eq!(
            out,
            "a&quot;&gt;&lt;script&gt;x=&#x27;1&#x27;&amp;y&lt;/script&gt;é"
        );
    }

    #[test]
    fn tokens_never_go_in_the_query() {
        for response_type in ResponseType::ALL {
            let default = ResponseMode::default_for(response_type);
            assert!(default.allows(response_type));
            assert_eq!(
                ResponseMode::Query.allows(response_type),
                response_type == ResponseType::CODE
            );
            assert!(ResponseMode::FormPost.allows(response_type));
        }
    }
}
