//! Tracing (C-OB-1): a `tracing` span for every endpoint call, with the fields a dashboard
//! needs — `endpoint`, `client_id`, `grant_type`, `outcome` (`ok` or the error code), `status`
//! and `latency_us` — and one `grantor::request` event when the call ends; inside it, a
//! `grantor.storage` span (debug level) for each storage step of the token path (`exchange`,
//! `save_tokens`, `revoke_grant`, `access_token`).
//!
//! Only identifiers and error codes go into spans and events: never a token, code, secret,
//! password, assertion or key, and never an error description (which may quote what a client
//! sent). With no subscriber installed, a span is a disabled handle and nothing is measured.

use std::future::Future;
use std::time::Instant;

use http::Response;
use tracing::field::Empty;
use tracing::{Instrument, Span};

/// The target of grantor's spans and events, for subscribers' filters.
pub(crate) const TARGET: &str = "grantor";

/// Whether any subscriber may want grantor's spans: one atomic load, so that with none
/// installed the endpoints pay nothing else (no span, no clock, no thread-local look-up).
/// The entry points test it first and call the endpoint directly when it is off, so that its
/// future is not moved into a wrapper either.
pub(crate) fn active() -> bool {
    tracing::level_enabled!(tracing::Level::INFO)
}

/// A new span for a call of `endpoint`, its other fields to be recorded as they become known.
pub(crate) fn span(endpoint: &'static str) -> Span {
    tracing::info_span!(
        target: TARGET,
        "grantor",
        endpoint,
        client_id = Empty,
        grant_type = Empty,
        outcome = Empty,
        status = Empty,
        latency_us = Empty,
    )
}

/// Runs a storage step in a `grantor.storage` span (debug level) named by `step`, inside the
/// endpoint's span: how long storage took, apart from the rest of the request.
pub(crate) async fn storage<F: Future>(step: &'static str, call: F) -> F::Output {
    if !active() {
        return call.await;
    }
    call.instrument(tracing::debug_span!(target: TARGET, "grantor.storage", step))
        .await
}

/// Records the client the current call is for, once authenticated or identified.
pub(crate) fn client(id: &str) {
    if active() {
        Span::current().record("client_id", id);
    }
}

/// Records the grant type of the current token request.
pub(crate) fn grant_type(name: &str) {
    if active() {
        Span::current().record("grant_type", name);
    }
}

/// Runs `call` in a span of `endpoint`, then records how it ended (from the response: `ok`
/// below 400 unless a redirect carries an error, else the error code of the JSON body or of
/// the `WWW-Authenticate` challenge) and emits the closing event.
pub(crate) async fn respond<F>(endpoint: &'static str, call: F) -> Response<Vec<u8>>
where
    F: Future<Output = Response<Vec<u8>>>,
{
    traced(endpoint, call, |response| {
        (Some(response.status().as_u16()), outcome(response))
    })
    .await
}

/// Runs `call` in a span of `endpoint` for an entry point that answers with a typed value;
/// `outcome` says how a result ended (`ok`, or an error code).
pub(crate) async fn run<F, T>(endpoint: &'static str, call: F, outcome: impl Fn(&T) -> String) -> T
where
    F: Future<Output = T>,
{
    traced(endpoint, call, |result| (None, outcome(result))).await
}

/// Runs `call` in a span of `endpoint`; `ended` reads the HTTP status (if any) and the outcome
/// from its result.
async fn traced<F, T>(
    endpoint: &'static str,
    call: F,
    ended: impl Fn(&T) -> (Option<u16>, String),
) -> T
where
    F: Future<Output = T>,
{
    if !active() {
        return call.await;
    }
    let span = span(endpoint);
    if span.is_disabled() {
        return call.await;
    }
    let started = Instant::now();
    let result = call.instrument(span.clone()).await;
    let (status, outcome) = ended(&result);
    finish(&span, started, status, &outcome);
    result
}

/// Records the end of a call on its span, and emits the closing event in it.
fn finish(span: &Span, started: Instant, status: Option<u16>, outcome: &str) {
    let latency = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    span.record("outcome", outcome);
    if let Some(status) = status {
        span.record("status", status);
    }
    span.record("latency_us", latency);
    tracing::info!(target: TARGET, parent: span, outcome, latency_us = latency, "grantor::request");
}

/// How a response ended: `ok`, or the OAuth error code it carries.
pub(crate) fn outcome(response: &Response<Vec<u8>>) -> String {
    let status = response.status();
    if status.is_redirection() {
        // An authorization response: the error, if any, is a parameter of the redirect.
        let location = response
            .headers()
            .get(http::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        let error = location
            .split(['?', '#', '&'])
            .find_map(|pair| pair.strip_prefix("error="));
        return error.map_or_else(|| "ok".to_owned(), sanitize);
    }
    if !status.is_client_error() && !status.is_server_error() {
        return "ok".to_owned();
    }
    let from_body = serde_json::from_slice::<serde_json::Value>(response.body())
        .ok()
        .and_then(|body| body.get("error")?.as_str().map(sanitize));
    let from_challenge = || {
        let challenge = response.headers().get(http::header::WWW_AUTHENTICATE)?;
        let challenge = challenge.to_str().ok()?;
        let rest = challenge.split("error=\"").nth(1)?;
        rest.split('"').next().map(sanitize)
    };
    from_body
        .or_else(from_challenge)
        .unwrap_or_else(|| format!("http_{}", status.as_u16()))
}

/// An error code as it may appear in a field: the RFC's characters only (a code is a fixed
/// word; anything else is not one of grantor's and is not echoed).
fn sanitize(code: &str) -> String {
    if !code.is_empty()
        && code.len() <= 40
        && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    {
        code.to_owned()
    } else {
        "other".to_owned()
    }
}
