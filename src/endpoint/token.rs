//! The token endpoint (RFC 6749 §3.2, §5): one entry point that checks the request, the
//! client's authentication and its permission for the grant, then hands the request to the
//! grant registered for its `grant_type` and writes the grant's answer. Everything here runs
//! the same for every grant, the built-in ones and a host's own.

use http::{Method, Request, Response, StatusCode};

use crate::audit::{AuditEvent, AuditKind};
use crate::client::GrantType;
use crate::client_auth;
use crate::config::Config;
use crate::endpoint::{failure_json, json_bytes};
use crate::error::{ErrorCode, Failure, OAuthError};
use crate::form::Params;
use crate::grant::{GrantContext, RequestHead};
use crate::observe;
use crate::server::Server;
use crate::storage::Storage;
use crate::token::TokenContext;

/// Answers a token request: the token response, or the RFC error as JSON (C-TK-6, C-TK-7).
pub(crate) async fn respond<S: Storage, B: AsRef<[u8]>>(
    server: &Server<S>,
    request: &Request<B>,
) -> Response<Vec<u8>> {
    match handle(server, request).await {
        Ok(body) => {
            #[cfg_attr(not(feature = "jose"), allow(unused_mut))]
            let mut response = json_bytes(StatusCode::OK, body);
            // RFC 9449 §8.2: a fresh nonce with each answer, when proofs must carry one.
            #[cfg(feature = "jose")]
            if let Some(nonce) = server.config().dpop().and_then(|d| d.nonce(server.now())) {
                crate::endpoint::set_header(&mut response, crate::token::DPOP_NONCE, &nonce);
            }
            response
        }
        Err(failure) => failure_json(server.config(), failure, "token", request),
    }
}

async fn handle<S: Storage, B: AsRef<[u8]>>(
    server: &Server<S>,
    request: &Request<B>,
) -> Result<Vec<u8>, Failure> {
    let config = server.config();
    let params = parse(config, request)?;
    let (grant_type, grant) = server
        .grants()
        .find(params.require("grant_type")?)
        .ok_or_else(|| {
            OAuthError::new(ErrorCode::UnsupportedGrantType)
                .with_description("this grant type is not supported")
        })?;
    observe::grant_type(grant_type.as_str());
    let client =
        client_auth::authenticate(server, request, &params, server.config().token_endpoint())
            .await?;
    observe::client(client.id().as_str());
    if !client.allows_grant(grant_type) {
        return Err(
            OAuthError::unauthorized_client("the client may not use this grant type").into(),
        );
    }
    let now = server.now();
    server.load_keys(now).await?;
    let issuer = server.issuer(&client, now);
    #[cfg(feature = "jose")]
    let issuer = match proof(server, request, &client, now).await? {
        Some(proof) => issuer.with_proof(proof.confirmation()),
        None => issuer,
    };
    let head = RequestHead {
        method: request.method(),
        uri: request.uri(),
        headers: request.headers(),
        extensions: request.extensions(),
    };
    let context = GrantContext::new(grant_type, &params, head, server, issuer);
    let mut response = grant.exchange(context).await?;
    if let Some(hook) = &config.token_response_fields {
        for (name, value) in hook(&TokenContext::of(&response, grant_type, client.id())) {
            // The standard fields cannot be replaced: `insert` refuses their names.
            response.insert(name, value);
        }
    }
    // After the hook, which cannot replace it: the ID token, signed once storage committed
    // the tokens it describes (C-OI-1, C-OI-6).
    #[cfg(feature = "oidc")]
    add_id_token(server, &client, &mut response).await?;
    // C-OB-2: the tokens are stored (and their ID token signed) by now.
    config.audit(|| {
        let refresh_rotated =
            *grant_type == GrantType::RefreshToken && response.refresh_token().is_some();
        let kind = AuditKind::TokensIssued {
            grant_type: grant_type.clone(),
            refresh_rotated,
        };
        AuditEvent::new(kind, now)
            .client(client.id())
            .owner(response.owner())
            .grant(response.grant())
    });
    Ok(response.to_json())
}

/// The DPoP proof of a token request, checked against the token endpoint's URL (C-DP-1);
/// `invalid_request` when the server or the client requires one and there is none.
#[cfg(feature = "jose")]
async fn proof<S: Storage, B>(
    server: &Server<S>,
    request: &Request<B>,
    client: &crate::Client,
    now: crate::Timestamp,
) -> Result<Option<crate::dpop::Proof>, Failure> {
    let config = server.config();
    let Some(dpop) = config.dpop() else {
        return Ok(None);
    };
    let target = crate::dpop::Target {
        method: request.method(),
        url: config.token_endpoint(),
        access_token: None,
    };
    let proof = crate::dpop::check(dpop, request.headers(), &target, now).await?;
    if proof.is_none() && (dpop.requires_proofs() || client.requires_dpop()) {
        return Err(OAuthError::new(crate::ErrorCode::InvalidDpopProof)
            .with_description(
                "a DPoP proof is required: access tokens of this client are sender-constrained",
            )
            .into());
    }
    Ok(proof)
}

/// Signs the ID token a response owes, if it owes one and the server is an OpenID Provider.
/// The tokens are stored by then: if signing fails, their grant is revoked, so that a
/// `server_error` leaves nothing live behind.
#[cfg(feature = "oidc")]
async fn add_id_token<S: Storage>(
    server: &Server<S>,
    client: &crate::Client,
    response: &mut crate::token::TokenResponse,
) -> Result<(), Failure> {
    let Some(owed) = response.take_openid() else {
        return Ok(());
    };
    let (context, grant) = *owed;
    let (Some(provider), Some(owner)) = (server.openid(), response.owner()) else {
        return Ok(());
    };
    let signed = provider
        .id_token(crate::oidc::IdTokenInput {
            issuer: server.config().issuer(),
            client,
            owner,
            context: &context,
            access_token: Some(response.access_token().secret()),
            code: None,
            scope_claims: None,
            now: server.now(),
        })
        .await;
    match signed {
        Ok(id_token) => {
            response.insert("id_token", id_token);
            Ok(())
        }
        Err(error) => {
            server.storage().revoke_grant(&grant).await?;
            Err(error.into())
        }
    }
}
/// Checks method and content type and parses the form body (C-TK-1); shared by the endpoints
/// that take a client's form `POST` (token, revocation, introspection).
pub(crate) fn parse<B: AsRef<[u8]>>(
    config: &Config,
    request: &Request<B>,
) -> Result<Params, OAuthError> {
    if request.method() != Method::POST {
        return Err(OAuthError::invalid_request(
            "this endpoint accepts only POST",
        ));
    }
    Params::from_form_body(request, config.max_parameter_bytes)
}
