//! Authorization server metadata (RFC 8414): the JSON document strict clients read to discover
//! the server, and where it is served.
//!
//! The document is built from the [`Config`](crate::Config) and the server's registered
//! grants, so it never advertises what the server does not do: `grant_types_supported` lists
//! the registered grants (the `password` grant only with an authenticator, `refresh_token`
//! only when refresh tokens are issued, a host's extension grants), `plain` PKCE only when
//! enabled, `iss` support (RFC 9207) only when it is on, `registration_endpoint` (RFC 7591)
//! only when registration is open, `device_authorization_endpoint` (RFC 8628) only when the
//! device grant is registered, `private_key_jwt` (and `client_secret_jwt`) with their
//! algorithms only when client assertions are accepted. `pushed_authorization_request_endpoint`
//! (RFC 9126 §5) is always there, with `require_pushed_authorization_requests` saying whether
//! every client must use it.
//!
//! Endpoint URLs default to the issuer followed by `/authorize`, `/token`, `/revoke` and
//! `/introspect`; hosts that mount the routes elsewhere say where with
//! [`ConfigBuilder::authorization_endpoint`](crate::ConfigBuilder::authorization_endpoint) and
//! its siblings.
//!
//! The document is served at `/.well-known/oauth-authorization-server`, with the issuer's path
//! (if any, without a trailing `/`) appended: the issuer `https://a.example/tenant1` is described
//! at `https://a.example/.well-known/oauth-authorization-server/tenant1` (RFC 8414 §3.1).
//! [`Server::metadata_path`](crate::Server::metadata_path) gives the path to route.

use http::header::{ALLOW, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use serde::Serialize;
use url::Url;

use crate::client::{GrantType, ResponseType};
use crate::client_auth;
use crate::endpoint::authorize::{self, ResponseMode};
use crate::endpoint::json;
use crate::scope::OPENID;
use crate::server::Server;
use crate::storage::Storage;

/// The well-known URI suffix of RFC 8414 §3.
const WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";
/// The well-known URI suffix of OpenID Connect Discovery §4.
const OPENID_WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// The path of the metadata document for `issuer` (RFC 8414 §3.1).
pub(crate) fn path(issuer: &str) -> String {
    let issuer_path = Url::parse(issuer)
        .map(|url| url.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    format!("{WELL_KNOWN}{issuer_path}")
}

/// The path of the OpenID Connect discovery document for `issuer`: the well-known suffix after
/// the issuer's path (OpenID Connect Discovery §4.1).
pub(crate) fn openid_path(issuer: &str) -> String {
    let issuer_path = Url::parse(issuer)
        .map(|url| url.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    format!("{issuer_path}{OPENID_WELL_KNOWN}")
}

/// The metadata document (RFC 8414 §2, RFC 9207 §3), with the OpenID Provider's fields when
/// the server is one (OpenID Connect Discovery §3, C-OI-5): the same document is served at
/// both well-known paths.
pub(crate) fn document<S: Storage>(server: &Server<S>) -> serde_json::Value {
    #[derive(Serialize)]
    struct Document<'a> {
        issuer: &'a str,
        authorization_endpoint: Option<&'a str>,
        token_endpoint: Option<&'a str>,
        revocation_endpoint: Option<&'a str>,
        introspection_endpoint: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        jwks_uri: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        userinfo_endpoint: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        registration_endpoint: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        device_authorization_endpoint: Option<&'a str>,
        pushed_authorization_request_endpoint: &'a str,
        require_pushed_authorization_requests: bool,
        scopes_supported: Vec<&'a str>,
        response_types_supported: Vec<&'static str>,
        response_modes_supported: Vec<&'static str>,
        grant_types_supported: Vec<&'a str>,
        code_challenge_methods_supported: Vec<&'static str>,
        token_endpoint_auth_methods_supported: &'a [&'static str],
        revocation_endpoint_auth_methods_supported: &'a [&'static str],
        introspection_endpoint_auth_methods_supported: &'a [&'static str],
        #[serde(skip_serializing_if = "<[&str]>::is_empty")]
        token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
        authorization_response_iss_parameter_supported: bool,
    }
    let config = server.config();
    let endpoints = &config.endpoints;
    // The grants registered, in order, with the implicit grant (the authorization endpoint's
    // `response_type=token`) after the code grant.
    let mut grants = Vec::new();
    for grant_type in server.grants().types() {
        grants.push(grant_type.as_str());
        if *grant_type == GrantType::AuthorizationCode {
            grants.push(GrantType::Implicit.as_str());
        }
    }
    if !grants.contains(&GrantType::Implicit.as_str()) {
        grants.insert(0, GrantType::Implicit.as_str());
    }
    // C-FA-1: no implicit grant under the FAPI 2.0 profile.
    if config.is_fapi2() {
        grants.retain(|grant| *grant != GrantType::Implicit.as_str());
    }
    // `code` only when the code grant is there to redeem it, `id_token` only from an OpenID
    // Provider.
    let response_types: Vec<&str> = ResponseType::ALL
        .into_iter()
        .filter(|response_type| authorize::answers(server, *response_type))
        .map(ResponseType::as_str)
        .collect();
    let openid = server.is_openid_provider();
    let mut scopes: Vec<&str> = endpoints
        .scopes_supported
        .as_ref()
        .unwrap_or(&config.always_granted_scopes)
        .iter()
        .map(|scope| scope.as_str())
        .collect();
    if openid && !scopes.contains(&OPENID) {
        scopes.insert(0, OPENID);
    }
    let mut challenge_methods = vec!["S256"];
    if config.allow_plain_pkce {
        challenge_methods.push("plain");
    }
    let auth_methods = client_auth::methods(config);
    let auth_algs = client_auth::signing_algs(config);
    #[cfg_attr(not(feature = "jose"), allow(unused_mut))]
    let mut document = serde_json::to_value(Document {
        issuer: config.issuer(),
        authorization_endpoint: endpoints.authorization.as_deref(),
        token_endpoint: endpoints.token.as_deref(),
        revocation_endpoint: endpoints.revocation.as_deref(),
        introspection_endpoint: endpoints.introspection.as_deref(),
        jwks_uri: openid.then_some(config.jwks_uri()),
        userinfo_endpoint: openid.then_some(config.userinfo_endpoint()),
        registration_endpoint: server
            .registration_enabled()
            .then_some(config.registration_endpoint()),
        device_authorization_endpoint: server
            .device_flow_enabled()
            .then_some(config.device_authorization_endpoint()),
        // RFC 9126 §5: PAR is always on; the switch says whether it is the only way in.
        pushed_authorization_request_endpoint: config.pushed_authorization_request_endpoint(),
        require_pushed_authorization_requests: config.require_pushed_authorization_requests,
        // Always present (C-MD-1): the configured list, else the scopes every user token gets,
        // with `openid` on an OpenID Provider. RFC 8414 §2 lets a server leave some of its
        // scopes unlisted.
        scopes_supported: scopes,
        response_types_supported: response_types,
        response_modes_supported: ResponseMode::ALL.map(ResponseMode::as_str).into(),
        grant_types_supported: grants,
        code_challenge_methods_supported: challenge_methods,
        token_endpoint_auth_methods_supported: &auth_methods,
        revocation_endpoint_auth_methods_supported: &auth_methods,
        introspection_endpoint_auth_methods_supported: &auth_methods,
        token_endpoint_auth_signing_alg_values_supported: auth_algs,
        authorization_response_iss_parameter_supported: config.issuer_parameter,
    })
    .unwrap_or_default();
    // RFC 9449 §5.1: the algorithms DPoP proofs may use, when the server takes them.
    #[cfg(feature = "jose")]
    if let (Some(dpop), Some(fields)) = (config.dpop(), document.as_object_mut()) {
        let algs = dpop.algorithm_names();
        fields.insert("dpop_signing_alg_values_supported".into(), algs.into());
    }
    #[cfg(feature = "oidc")]
    if let (Some(provider), Some(fields)) = (server.openid(), document.as_object_mut())
        && let serde_json::Value::Object(openid) = provider.discovery()
    {
        fields.extend(openid);
        // C-FA-1: the profile's ID tokens are signed with its algorithms only.
        #[cfg(feature = "jose")]
        if config.is_fapi2()
            && let Some(serde_json::Value::Array(algs)) =
                fields.get_mut("id_token_signing_alg_values_supported")
        {
            let allowed = crate::jose::SigningAlgorithm::FAPI2.map(|alg| alg.as_str());
            algs.retain(|alg| alg.as_str().is_some_and(|alg| allowed.contains(&alg)));
        }
    }
    document
}

/// Answers a request for the metadata document: `200` with the JSON for `GET` and `HEAD`, `405`
/// for any other method.
pub(crate) fn respond<S: Storage, B>(
    server: &Server<S>,
    request: &Request<B>,
) -> Response<Vec<u8>> {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        return json(StatusCode::OK, &document(server));
    }
    method_not_allowed()
}

/// `405 Method Not Allowed`, for a document that is only read.
pub(crate) fn method_not_allowed() -> Response<Vec<u8>> {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_path_goes_before_the_issuer_path() {
        assert_eq!(path("https://a.example"), WELL_KNOWN);
        assert_eq!(path("https://a.example/"), WELL_KNOWN);
        assert_eq!(
            path("https://a.example/tenant1"),
            "/.well-known/oauth-authorization-server/tenant1"
        );
        assert_eq!(
            path("https://a.example/t/1/"),
            "/.well-known/oauth-authorization-server/t/1"
        );
        assert_eq!(openid_path("https://a.example"), OPENID_WELL_KNOWN);
        assert_eq!(
            openid_path("https://a.example/t/1/"),
            "/t/1/.well-known/openid-configuration"
        );
    }
}
