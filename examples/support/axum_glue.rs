//! The glue between axum and grantor, shared by the axum examples and their tests.
//!
//! grantor's entry points take an `http::Request` whose body is already in memory and return an
//! `http::Response<Vec<u8>>`. axum streams bodies, so a handler reads the body first
//! ([`Buffered`]) and converts the answer back ([`reply`]). Any framework needs these two steps.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use grantor::{AccessGrant, BearerError};

/// The largest body read for grantor. OAuth requests are small, and grantor applies its own,
/// tighter limit on parameters as well.
const BODY_LIMIT: usize = 64 * 1024;

/// An extractor: the request with its body read into memory, ready for grantor.
pub struct Buffered(pub http::Request<Bytes>);

impl<S: Send + Sync> FromRequest<S> for Buffered {
    type Rejection = Response;

    async fn from_request(request: Request, _: &S) -> Result<Self, Response> {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, BODY_LIMIT)
            .await
            .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
        Ok(Self(http::Request::from_parts(parts, bytes)))
    }
}

/// Turns grantor's response into axum's.
pub fn reply(response: http::Response<Vec<u8>>) -> Response {
    response.map(Body::from)
}

/// The answer of a protected JSON route: on a valid token, the JSON `body` builds, with the
/// granted scopes in `X-OAuth-Scopes`; otherwise grantor's `401`/`403` with its challenge.
pub fn protected_json(
    checked: Result<AccessGrant, BearerError>,
    body: impl FnOnce(&AccessGrant) -> serde_json::Value,
) -> Response {
    match checked {
        Ok(grant) => {
            let mut response = axum::Json(body(&grant)).into_response();
            grant.insert_scopes_header(response.headers_mut());
            response
        }
        Err(error) => reply(error.into_response()),
    }
}
