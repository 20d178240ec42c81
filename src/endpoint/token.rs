//! The token endpoint (RFC 6749 §3.2, §5): one entry point that checks the request, the
//! client's authentication and its permission for the grant, then dispatches on `grant_type`.

use http::{Method, Request, Response, StatusCode};

use crate::authenticator::Authenticator;
use crate::client::{Client, Credentials, GrantType};
use crate::endpoint::{failure_json, json_bytes};
use crate::error::{ErrorCode, Failure, OAuthError};
use crate::form::Params;
use crate::grant::{
    TokenResponse, authorization_code, client_credentials, password, refresh_token,
};
use crate::server::Server;
use crate::storage::Storage;

/// Answers a token request: the token response, or the RFC error as JSON (C-TK-6, C-TK-7).
pub(crate) async fn respond<S: Storage, A: Authenticator, B: AsRef<[u8]>>(
    server: &Server<S, A>,
    request: &Request<B>,
) -> Response<Vec<u8>> {
    match handle(server, request).await {
        Ok((grant, client, tokens)) => json_bytes(
            StatusCode::OK,
            tokens.to_json(grant, client.id(), server.config()),
        ),
        Err(failure) => failure_json(server.config(), failure),
    }
}

async fn handle<S: Storage, A: Authenticator, B: AsRef<[u8]>>(
    server: &Server<S, A>,
    request: &Request<B>,
) -> Result<(GrantType, Client, TokenResponse), Failure> {
    let params = parse(server, request)?;
    let grant = match params.require("grant_type")? {
        "authorization_code" => GrantType::AuthorizationCode,
        "refresh_token" => GrantType::RefreshToken,
        // Without a real authenticator the password grant cannot succeed; the metadata does
        // not advertise it either.
        "password" if server.authenticator().checks_passwords() => GrantType::Password,
        "client_credentials" => GrantType::ClientCredentials,
        _ => {
            return Err(OAuthError::new(ErrorCode::UnsupportedGrantType)
                .with_description("this grant type is not supported")
                .into());
        }
    };
    let client = authenticate_client(server, request, &params).await?;
    if !client.allows_grant(grant) {
        return Err(
            OAuthError::unauthorized_client("the client may not use this grant type").into(),
        );
    }
    let tokens = match grant {
        GrantType::AuthorizationCode => {
            authorization_code::exchange(server, &client, &params).await
        }
        GrantType::RefreshToken => refresh_token::exchange(server, &client, &params).await,
        GrantType::Password => password::exchange(server, &client, &params).await,
        GrantType::ClientCredentials => {
            client_credentials::exchange(server, &client, &params).await
        }
        GrantType::Implicit => Err(OAuthError::new(ErrorCode::UnsupportedGrantType).into()),
    }?;
    Ok((grant, client, tokens))
}

/// Checks method and content type and parses the form body (C-TK-1).
pub(crate) fn parse<S, A, B: AsRef<[u8]>>(
    server: &Server<S, A>,
    request: &Request<B>,
) -> Result<Params, OAuthError> {
    if request.method() != Method::POST {
        return Err(OAuthError::invalid_request(
            "this endpoint accepts only POST",
        ));
    }
    Params::from_form_body(request, server.config().max_parameter_bytes)
}

/// Authenticates the client of a token, revocation or introspection request (C-TK-2, C-TK-3).
pub(crate) async fn authenticate_client<S: Storage, A, B>(
    server: &Server<S, A>,
    request: &Request<B>,
    params: &Params,
) -> Result<Client, Failure> {
    let credentials = Credentials::from_request(request.headers(), params)?;
    let client = match credentials.client_id() {
        Some(id) => server.storage().client(id).await?,
        None => None,
    };
    Ok(credentials.verify(client)?)
}
