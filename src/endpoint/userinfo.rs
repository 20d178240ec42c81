//! The endpoints of an OpenID Provider beside the OAuth ones: UserInfo (OpenID Connect Core
//! §5.3, C-OI-4) and the JSON Web Key Set (C-KY-1).

use http::header::{ALLOW, CACHE_CONTROL, HeaderValue};
use http::{Method, Request, Response, StatusCode};

use crate::endpoint::bearer::{self, BearerError, Requirement};
use crate::endpoint::json;
use crate::error::{Error, ErrorContext};
use crate::scope::OPENID;
use crate::server::Server;
use crate::storage::Storage;

/// Answers a UserInfo request: `GET` or `POST`, the access token in the `Authorization`
/// header or (for `POST`) the form body.
pub(crate) async fn respond<S: Storage, B: AsRef<[u8]>>(
    server: &Server<S>,
    request: &Request<B>,
) -> Response<Vec<u8>> {
    if request.method() != Method::GET && request.method() != Method::POST {
        return method_not_allowed("GET, POST");
    }
    let Some(provider) = server.openid() else {
        return not_found();
    };
    let config = server.config();
    let Ok(requirement) = Requirement::user().scopes(OPENID) else {
        return BearerError::internal(config.realm()).into_response();
    };
    let in_body = request.method() == Method::POST;
    let grant = match bearer::validate_with(server, request, &requirement, in_body).await {
        Ok(grant) => grant,
        Err(error) => return error.into_response(),
    };
    let record = grant.record();
    let internal = |error: Error| {
        let client = Some(record.client_id.as_str());
        config.report(&error, ErrorContext::new("userinfo").client(client));
        BearerError::internal(config.realm()).into_response()
    };
    let client = match server.storage().client(record.client_id.as_str()).await {
        Ok(Some(client)) => client,
        Ok(None) => return BearerError::invalid_token(config.realm()).into_response(),
        Err(error) => return internal(error),
    };
    let Some(owner) = &record.owner else {
        return BearerError::invalid_token(config.realm()).into_response();
    };
    let context = record.openid.as_deref();
    match provider
        .userinfo(owner, &client, &record.scope, context)
        .await
    {
        Ok(Some(claims)) => json(StatusCode::OK, &claims),
        // The owner is gone: the token stands for no one any more.
        Ok(None) => BearerError::invalid_token(config.realm()).into_response(),
        Err(error) => internal(error),
    }
}

/// Answers a request for the JSON Web Key Set: `GET` (or `HEAD`) only. Cacheable for half of
/// the time a new key is published ahead, so that every cache sees a key before it signs.
pub(crate) async fn jwks<S: Storage>(server: &Server<S>, method: &Method) -> Response<Vec<u8>> {
    if method != Method::GET && method != Method::HEAD {
        return method_not_allowed("GET, HEAD");
    }
    let Some(provider) = server.openid() else {
        return not_found();
    };
    let keys = provider.keys();
    match keys.jwks(server.now()).await {
        Ok(document) => {
            let mut response = json(StatusCode::OK, &document);
            let max_age = keys.policy().cache_lifetime().as_secs();
            if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
                response.headers_mut().insert(CACHE_CONTROL, value);
            }
            response
        }
        Err(error) => {
            server.config().report(&error, ErrorContext::new("jwks"));
            let mut response = Response::new(Vec::new());
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response
        }
    }
}

fn method_not_allowed(allowed: &'static str) -> Response<Vec<u8>> {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allowed));
    response
}

fn not_found() -> Response<Vec<u8>> {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}
