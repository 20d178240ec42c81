//! The HTML pages the host owns: login, consent, the device verification page and errors.
//!
//! Every page is sent with `X-Frame-Options: DENY` and `Content-Security-Policy:
//! frame-ancestors 'none'` (no other site may frame them and trick a click on "Approve") and
//! `Cache-Control: no-store` (they carry CSRF tokens). Every value from a request or a client
//! registration is escaped.

use std::collections::HashMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use grantor::OwnerId;

use super::sessions::Pending;

use super::html::escape;

/// Why the login page is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginReason {
    /// Nobody is logged in.
    NoLogin,
    /// The password was wrong (or the user unknown): try again.
    Failed,
    /// Someone is logged in, but the application asks for a fresh login (OpenID Connect's
    /// `prompt=login` or `max_age`), or for another account.
    Again,
    /// Too many failed attempts for this account or from this address lately, or the server
    /// is busy checking passwords: nothing was checked.
    TryLater,
}

/// The login form: fields `username` and `password`, posted to `/login` with the CSRF token and
/// the id of the waiting authorization request. The username is pre-filled with the request's
/// `login_hint`, if it has one.
pub fn login(request: &Pending, csrf: &str, request_id: &str, reason: LoginReason) -> Response {
    let notice = match reason {
        LoginReason::NoLogin => "",
        LoginReason::Failed => r#"<p class="error" role="alert">Wrong username or password.</p>"#,
        LoginReason::Again => "<p>The application asks you to log in again.</p>",
        LoginReason::TryLater => {
            r#"<p class="error" role="alert">Too many attempts. Wait a few minutes and try again.</p>"#
        }
    };
    let hint = match request {
        Pending::Code(request) => request
            .openid()
            .and_then(|openid| openid.login_hint())
            .unwrap_or_default(),
        Pending::Device(_) => "",
    };
    let body = format!(
        r#"<h1>Log in</h1>
<p>to continue to <b>{client}</b>.</p>
{notice}
<form method="post" action="/login">
  <input type="hidden" name="csrf" value="{csrf}">
  <input type="hidden" name="request" value="{request_id}">
  <label>Username <input name="username" value="{hint}" autocomplete="username" required autofocus></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <button>Log in</button>
</form>"#,
        client = escape(request.client().name()),
        csrf = escape(csrf),
        request_id = escape(request_id),
        hint = escape(hint),
    );
    page(StatusCode::OK, "Log in", &body)
}

/// The consent page: the client's name, the requested scopes as pre-checked checkboxes (each
/// with its description from `descriptions`, when there is one) named
/// `scope`, and two buttons named `decision` (`approve`, `deny`). An approval is remembered
/// for the session's life (see [`app`](super::app)).
pub fn consent(
    request: &Pending,
    user: &OwnerId,
    csrf: &str,
    request_id: &str,
    descriptions: &HashMap<String, String>,
) -> Response {
    // Each scope with the host's words for it (the setup's `scope_descriptions`), if any.
    let scopes: String = request
        .scope()
        .iter()
        .map(|scope| {
            let words = descriptions
                .get(scope.as_str())
                .map(|words| format!(": {}", escape(words)))
                .unwrap_or_default();
            format!(
                r#"  <label><input type="checkbox" name="scope" value="{0}" checked> <code>{0}</code>{words}</label>
"#,
                escape(scope.as_str())
            )
        })
        .collect();
    // The APIs the tokens will be for (RFC 8707), so the user knows where access goes.
    let resources = match request.resources() {
        [] => String::new(),
        list => {
            let items: String = list
                .iter()
                .map(|id| format!("<li><code>{}</code></li>", escape(id)))
                .collect();
            format!("<p>For these APIs:</p>\n<ul>{items}</ul>\n")
        }
    };
    // Where the answer goes: back to the client's redirect URI, or to the device that showed
    // the code (RFC 8628 §5.4: say so, since the user did not start this in the browser).
    let destination = match request {
        Pending::Code(request) => {
            let host = url::Url::parse(request.redirect_uri())
                .ok()
                .and_then(|url| url.host_str().map(str::to_owned))
                .unwrap_or_default();
            format!(
                "You will be sent back to <b>{}</b>. If you approve, {} will not ask again \
                 while you stay logged in.",
                escape(&host),
                escape(request.client().name())
            )
        }
        Pending::Device(request) => format!(
            "Approve only if the device in front of you shows the code <b>{}</b>: it will be \
             signed in to your account.",
            escape(request.user_code())
        ),
    };
    let body = format!(
        r#"<h1>{client} wants access to your account</h1>
<p>Signed in as <b>{user}</b>. Uncheck what you do not want to share.</p>
<form method="post" action="/consent">
  <input type="hidden" name="csrf" value="{csrf}">
  <input type="hidden" name="request" value="{request_id}">
{scopes}{resources}  <p>{destination}</p>
  <button name="decision" value="approve">Approve</button>
  <button name="decision" value="deny" class="secondary">Deny</button>
</form>"#,
        client = escape(request.client().name()),
        user = escape(user.as_str()),
        csrf = escape(csrf),
        request_id = escape(request_id),
    );
    page(StatusCode::OK, "Authorize", &body)
}

/// The device verification page (RFC 8628 §3.3): a form with the `user_code` field, pre-filled
/// from `verification_uri_complete`, posted to `/device` with the CSRF token. `notice` says
/// why the code was refused, if it was.
pub fn device(user_code: &str, csrf: &str, notice: Option<&str>) -> Response {
    let notice = notice
        .map(|notice| format!(r#"<p class="error" role="alert">{}</p>"#, escape(notice)))
        .unwrap_or_default();
    let body = format!(
        r#"<h1>Connect a device</h1>
<p>Enter the code your device shows.</p>
{notice}
<form method="post" action="/device">
  <input type="hidden" name="csrf" value="{csrf}">
  <label>Code <input name="user_code" value="{user_code}" autocomplete="off" autocapitalize="characters" required autofocus></label>
  <button>Continue</button>
</form>"#,
        csrf = escape(csrf),
        user_code = escape(user_code),
    );
    page(StatusCode::OK, "Connect a device", &body)
}

/// The page after a device request was answered on the consent page.
pub fn device_answered(approved: bool, client: &str) -> Response {
    if approved {
        let message = format!("{client} is signed in. You can return to your device.");
        let body = format!("<h1>Device connected</h1>\n<p>{}</p>", escape(&message));
        page(StatusCode::OK, "Device connected", &body)
    } else {
        let message = format!("{client} was not allowed to access your account.");
        let body = format!("<h1>Device not allowed</h1>\n<p>{}</p>", escape(&message));
        page(StatusCode::OK, "Device not allowed", &body)
    }
}

/// An error page: what went wrong and what the user can do.
pub fn error(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!("<h1>{}</h1>\n<p>{}</p>", escape(title), escape(message));
    page(status, title, &body)
}

/// The page for a form whose session is gone (expired, or cookies are off).
pub fn session_expired() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "Your session has expired",
        "Nothing was shared. Go back to the application and sign in again.",
    )
}

/// The page for a form without the right CSRF token (forged, or from an older session).
pub fn forged_form() -> Response {
    error(
        StatusCode::FORBIDDEN,
        "This form could not be verified",
        "It was not sent by this site's page, or it belongs to an older session. Nothing was \
         shared. Go back to the application and try again.",
    )
}

/// The page for a consent answer to a request this session is not waiting for: never shown,
/// already answered, or too old.
pub fn unknown_request() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "This request is no longer waiting for an answer",
        "It was already answered, it has expired, or it was never shown to you. Nothing more was \
         shared. Go back to the application and start again.",
    )
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 28rem; margin: 4rem auto; padding: 0 1rem; }}
h1 {{ font-size: 1.6rem; line-height: 1.25; }}
label {{ display: block; margin: .5rem 0; }}
input:not([type]), input[type=password] {{ display: block; width: 100%; padding: .4rem; }}
button {{ margin: 1rem .5rem 0 0; padding: .5rem 1.2rem; }}
.error {{ color: #b00020; }}
</style></head>
<body>
{body}
</body></html>
"#,
        title = escape(title),
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
