//! Pushed authorization requests (RFC 9126, C-PA-1): the client sends its authorization
//! request's parameters straight to the server, authenticated, and gets a short-lived
//! `request_uri` to send the user agent with instead.
//!
//! The pushed endpoint ([`Server::push_authorization_request`](crate::Server::push_authorization_request))
//! authenticates the client as the token endpoint does, refuses a pushed `request_uri`, and
//! validates the parameters exactly as the authorization endpoint validates a front-channel
//! request (the same function runs), answering any error as JSON (`400`, or `401
//! invalid_client`). The parameters are then kept as they were sent — without the client's
//! credentials — in an [`ExchangeRecord`] of kind [`PUSHED_REQUEST`], stored under the digest
//! of the random part of the `request_uri` and naming the client that pushed it.
//!
//! At the authorization endpoint, a request whose `request_uri` starts with
//! [`REQUEST_URI_PREFIX`] is resolved here: its `client_id` must name the client that pushed
//! it, and the stored parameters are validated again (the client's registration may have
//! changed) — the same way, so a parameter read there (`dpop_jkt`, say) means the same pushed
//! or not. The choices made here:
//!
//! * **Strict about the front channel.** Any other front-channel parameter must repeat one of
//!   the pushed parameters with the same value; anything else (a different `scope`, a
//!   `redirect_uri` that was not pushed, an extra parameter) is `invalid_request`, sent to the
//!   pushed (trusted) redirect URI.
//! * **Used once, when accepted.** The pushed request is spent by storage's exactly-once step
//!   when the authorization endpoint accepts it (validation passed), before the host shows any
//!   page: a second use — a reload, a replay, a race — is `invalid_request_uri`. A host keeps
//!   the validated [`AuthorizationRequest`] (or its [saved](AuthorizationRequest::save) form)
//!   while the login and consent pages are shown, as it does without PAR.
//! * **Direct errors until the request is resolved.** An unknown, expired, spent or another
//!   client's `request_uri` is `invalid_request_uri` as a direct error: without the pushed
//!   request there is no trusted redirect URI.

use http::{Request, Response, StatusCode};
use serde::{Deserialize, Serialize};

use super::authorize::{self, AuthorizationError, AuthorizationRequest, Channel};
use super::token::parse;
use super::{error_json, failure_json, json};
use crate::client::Client;
use crate::client_auth;
use crate::error::{ErrorCode, ErrorContext, Failure, OAuthError};
use crate::form::Params;
use crate::server::Server;
use crate::storage::{
    Decision, Digest, Exchange, ExchangeKind, ExchangeRecord, GrantId, RecordData, Storage,
};

/// What every `request_uri` the pushed authorization request endpoint issues starts with
/// (RFC 9126 §2.2); a random 256-bit value follows.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// The record kind of a pushed authorization request (data: the client and the parameters it
/// pushed), stored under the digest of the random part of its `request_uri`.
pub const PUSHED_REQUEST: ExchangeKind = ExchangeKind::new("pushed_authorization_request");

/// The parameters of client authentication, which are not part of the authorization request
/// and are never stored (RFC 9126 §2.1).
const CLIENT_AUTHENTICATION: [&str; 4] = [
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];

/// The data of a pushed request's record. No `Debug`: the parameters may hold a PKCE `plain`
/// challenge, which is the verifier itself.
#[derive(Clone, Serialize, Deserialize)]
struct PushedRecord {
    /// The client that pushed the request (named so, so that deleting the client deletes it).
    client_id: String,
    /// The authorization request's parameters, in the order pushed.
    parameters: Vec<(String, String)>,
}

impl PushedRecord {
    /// The parameters, as the authorization endpoint reads them.
    fn params(&self) -> Params {
        Params::from_pairs(
            self.parameters
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
        )
    }
}

/// The pushed authorization response (RFC 9126 §2.2).
#[derive(Serialize)]
struct Body {
    request_uri: String,
    expires_in: u64,
}

/// Answers a pushed authorization request: `201` with `request_uri` and `expires_in`, or the
/// error as JSON (`401` with a `Basic` challenge for `invalid_client`).
pub(crate) async fn respond<S: Storage, B: AsRef<[u8]>>(
    server: &Server<S>,
    request: &Request<B>,
) -> Response<Vec<u8>> {
    match handle(server, request).await {
        Ok(body) => json(StatusCode::CREATED, &body),
        // RFC 9126 §2.3: a client that failed to authenticate is answered `401`, however it
        // tried (the token endpoint answers `400` unless it used the Authorization header).
        Err(Failure::OAuth(error)) if error.code() == ErrorCode::InvalidClient => {
            error_json(&error.with_basic_challenge(), server.config().realm())
        }
        Err(failure) => failure_json(
            server.config(),
            failure,
            "pushed_authorization_request",
            request,
        ),
    }
}

async fn handle<S: Storage, B: AsRef<[u8]>>(
    server: &Server<S>,
    request: &Request<B>,
) -> Result<Body, Failure> {
    let config = server.config();
    let params = parse(config, request)?;
    let endpoint = config.pushed_authorization_request_endpoint();
    let client = client_auth::authenticate(server, request, &params, endpoint).await?;
    crate::observe::client(client.id().as_str());
    if params.get("request_uri")?.is_some() {
        return Err(OAuthError::invalid_request("request_uri cannot be pushed").into());
    }
    #[cfg_attr(not(feature = "jose"), allow(unused_mut))]
    let mut parameters = pushed_parameters(&params);
    #[cfg(feature = "jose")]
    bind_to_proof(server, request, &mut parameters).await?;
    let pushed = PushedRecord {
        client_id: client.id().as_str().to_owned(),
        parameters,
    };
    // The authorization endpoint's own checks, answered here instead of at a redirect URI.
    authorize::validate_params(server, &pushed.params(), client, Channel::Pushed)
        .await
        .map_err(AuthorizationError::into_error)?;

    let now = server.now();
    let lifetime = config.pushed_request_lifetime;
    let secret = crate::token::random_secret();
    let record = ExchangeRecord::new(
        PUSHED_REQUEST,
        GrantId::generate(),
        now.after(lifetime),
        RecordData::new(pushed),
    );
    server
        .storage()
        .save_record(Digest::of(&secret), record, now)
        .await?;
    Ok(Body {
        request_uri: format!("{REQUEST_URI_PREFIX}{secret}"),
        expires_in: lifetime.as_secs(),
    })
}

/// The parameters of a pushed request as stored: everything sent but the client's
/// credentials, in order.
///
/// A `DPoP` proof sent with the pushed request binds the code like `dpop_jkt` does (RFC 9449
/// §10.1): [`bind_to_proof`] adds its key's thumbprint to these parameters.
fn pushed_parameters(params: &Params) -> Vec<(String, String)> {
    params
        .pairs()
        .filter(|(name, _)| !CLIENT_AUTHENTICATION.contains(name))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

/// Binds a pushed request to the key of its DPoP proof, if it has one (RFC 9449 §10.1,
/// C-DP-3): the proof is checked against the PAR endpoint's URL, and its key's thumbprint
/// stored as `dpop_jkt`, which the authorization endpoint reads as it reads a front-channel
/// one. A pushed `dpop_jkt` naming another key is `invalid_dpop_proof`.
#[cfg(feature = "jose")]
async fn bind_to_proof<S: Storage, B>(
    server: &Server<S>,
    request: &Request<B>,
    parameters: &mut Vec<(String, String)>,
) -> Result<(), Failure> {
    let config = server.config();
    let Some(dpop) = config.dpop() else {
        return Ok(());
    };
    let target = crate::dpop::Target {
        method: request.method(),
        url: config.pushed_authorization_request_endpoint(),
        access_token: None,
    };
    let Some(proof) = crate::dpop::check(dpop, request.headers(), &target, server.now()).await?
    else {
        return Ok(());
    };
    match parameters.iter().find(|(name, _)| name == "dpop_jkt") {
        Some((_, jkt)) if *jkt != proof.jkt => Err(OAuthError::new(ErrorCode::InvalidDpopProof)
            .with_description("dpop_jkt is not the thumbprint of the DPoP proof's key")
            .into()),
        Some(_) => Ok(()),
        None => {
            parameters.push(("dpop_jkt".to_owned(), proof.jkt));
            Ok(())
        }
    }
}

/// Whether a `request_uri` is one the pushed authorization request endpoint issues (other
/// `request_uri` values are request objects by reference, which grantor does not take).
pub(crate) fn is_pushed(request_uri: &str) -> bool {
    request_uri.starts_with(REQUEST_URI_PREFIX)
}

/// The authorization request `client` pushed as `request_uri`, validated and spent (C-PA-1);
/// `front` are the parameters the user agent brought.
pub(crate) async fn resolve<S: Storage>(
    server: &Server<S>,
    front: &Params,
    client: Client,
    request_uri: &str,
) -> Result<AuthorizationRequest, AuthorizationError> {
    let digest = Digest::of(request_uri.strip_prefix(REQUEST_URI_PREFIX).unwrap_or(""));
    let now = server.now();
    let client_id = client.id().as_str().to_owned();
    let storage_failed = |error: crate::Error| {
        let context = ErrorContext::new("authorize").client(Some(&client_id));
        server.config().report(&error, context);
        AuthorizationError::Direct(OAuthError::server_error(
            "the server could not look up the pushed request",
        ))
    };
    let record = server
        .storage()
        .record(PUSHED_REQUEST, &digest)
        .await
        .map_err(storage_failed)?;
    let pushed = match &record {
        Some(record) if record.is_live(now) => record.data.get::<PushedRecord>().ok(),
        _ => None,
    };
    let Some(pushed) = pushed.filter(|pushed| pushed.client_id == client_id) else {
        return Err(unusable());
    };
    let pushed = pushed.into_owned();
    let request =
        authorize::validate_params(server, &pushed.params(), client, Channel::Pushed).await?;
    let contradicted = front
        .pairs()
        .filter(|(name, _)| !matches!(*name, "client_id" | "request_uri"))
        .find(|&(name, value)| {
            !pushed
                .parameters
                .iter()
                .any(|(n, v)| n == name && v == value)
        });
    if let Some((name, _)) = contradicted {
        let error = OAuthError::invalid_request(format!(
            "parameter '{name}' was not pushed with this value: send only client_id and \
             request_uri"
        ));
        let responder = request.responder(server.config().issuer_parameter_value());
        return Err(responder.error(error));
    }
    // Spent now, exactly once: of two uses racing, one gets the request.
    let mut spent = false;
    let exchanged = server
        .storage()
        .exchange(PUSHED_REQUEST, &digest, now, |record| {
            // The step answers nothing to a client: the refusal only carries the new state.
            let carrier = Decision::refuse(OAuthError::invalid_request("used"));
            let same_client = record
                .data
                .get::<PushedRecord>()
                .is_ok_and(|data| data.client_id == client_id);
            if !record.is_live(now) || !same_client {
                return carrier;
            }
            spent = true;
            carrier.with_record(record.spend(record.retain_until))
        })
        .await
        .map_err(storage_failed)?;
    match exchanged {
        Exchange::Refused(_) if spent => Ok(request),
        _ => Err(unusable()),
    }
}

/// `invalid_request_uri`, as a direct error: the pushed request cannot be used.
fn unusable() -> AuthorizationError {
    AuthorizationError::Direct(
        OAuthError::new(ErrorCode::InvalidRequestUri).with_description(
            "the request_uri is unknown, expired or used, or another client pushed it",
        ),
    )
}
