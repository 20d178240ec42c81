//! The HTTP endpoints, one module each: what they accept, in what order they check it, and how
//! they answer. Every endpoint takes an `http::Request` and produces an `http::Response` whose
//! body is ready to send; the [`Server`](crate::Server) methods are the public entry points.

pub(crate) mod authorize;
pub(crate) mod bearer;
pub(crate) mod device;
pub(crate) mod introspect;
pub(crate) mod metadata;
pub(crate) mod par;
mod presented;
pub(crate) mod register;
pub(crate) mod resource_metadata;
pub(crate) mod revoke;
pub(crate) mod token;
#[cfg(feature = "oidc")]
pub(crate) mod userinfo;

use http::header::{
    CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue, LOCATION, PRAGMA, WWW_AUTHENTICATE,
};
use http::{Response, StatusCode};
use serde::Serialize;

use crate::config::Config;
use crate::error::{ErrorCode, ErrorContext, Failure, OAuthError};

/// A JSON response that no cache may keep (RFC 6749 §5.1).
pub(crate) fn json<T: Serialize>(status: StatusCode, body: &T) -> Response<Vec<u8>> {
    let body = serde_json::to_vec(body).unwrap_or_else(|_| br#"{"error":"server_error"}"#.to_vec());
    json_bytes(status, body)
}

/// A JSON response, as [`json`], from a body already serialized.
pub(crate) fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The JSON form of an OAuth error (RFC 6749 §5.2): 400, or 401 with a `Basic` challenge when
/// client authentication through the `Authorization` header failed (C-TK-3, C-TK-7).
pub(crate) fn error_json(error: &OAuthError, realm: &str) -> Response<Vec<u8>> {
    let body: serde_json::Map<String, serde_json::Value> = error
        .pairs()
        .map(|(name, value)| (name.to_owned(), value.into()))
        .collect();
    let status = match error.code() {
        ErrorCode::InvalidClient if error.basic_challenge() => StatusCode::UNAUTHORIZED,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut response = json(status, &body);
    if status == StatusCode::UNAUTHORIZED {
        set_header(
            &mut response,
            WWW_AUTHENTICATE,
            &format!("Basic realm=\"{realm}\""),
        );
    }
    if let Some(nonce) = error.dpop_nonce() {
        set_header(&mut response, crate::token::DPOP_NONCE, nonce);
    }
    response
}

/// The JSON error response of a direct request (token, revocation, introspection) that failed;
/// internal errors are reported to the host's hook and shown as a bare `server_error`.
pub(crate) fn failure_json<B: AsRef<[u8]>>(
    config: &Config,
    failure: Failure,
    endpoint: &'static str,
    request: &http::Request<B>,
) -> Response<Vec<u8>> {
    // Only on the error path: which client the request named, for the host's hook.
    let named = match &failure {
        Failure::Internal(_) => named_client(request),
        Failure::OAuth(_) => None,
    };
    let context = ErrorContext::new(endpoint).client(named.as_deref());
    error_json(&failure.into_oauth(config, context), config.realm())
}

/// The client a direct request names: its `client_id` parameter, or the id of its HTTP Basic
/// credentials.
fn named_client<B: AsRef<[u8]>>(request: &http::Request<B>) -> Option<String> {
    if let Ok(Some(id)) = crate::form::find_param(request.body().as_ref(), "client_id") {
        return Some(id);
    }
    let header = request.headers().get(http::header::AUTHORIZATION)?;
    crate::client_auth::basic::decode(header.as_bytes())
        .ok()
        .map(|basic| basic.id().to_owned())
}

/// A `303 See Other` redirect: safe after a POST (RFC 9700 §4.12, C-AZ-9) and after a GET.
pub(crate) fn redirect(location: &str) -> Response<Vec<u8>> {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = StatusCode::SEE_OTHER;
    set_header(&mut response, LOCATION, location);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Sets a header whose value grantor built; values that are not valid header text (which
/// grantor never builds) are dropped rather than panicking.
pub(crate) fn set_header(response: &mut Response<Vec<u8>>, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}
