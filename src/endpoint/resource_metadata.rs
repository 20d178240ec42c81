//! Protected-resource metadata (RFC 9728): the document a client reads to learn which
//! authorization server issues tokens for a resource, and with which scopes, after a `401`
//! from the resource named it (`resource_metadata` in the `WWW-Authenticate` challenge).
//!
//! Each resource registered on the [`Config`](crate::Config) has a document, served at
//! `/.well-known/oauth-protected-resource` followed by the resource identifier's path
//! ([`Resource::metadata_path`](crate::Resource::metadata_path)) on the resource's host: for
//! `https://api.example.com/mail`, at
//! `https://api.example.com/.well-known/oauth-protected-resource/mail`. Its `resource` is the
//! identifier exactly as registered, which a client must check against the URL it called
//! (RFC 9728 §3.3), so register the URL clients call.

use http::header::HOST;
use http::{Method, Request, Response, StatusCode};
use serde::Serialize;

use crate::endpoint::json;
use crate::endpoint::metadata::method_not_allowed;
use crate::resource::Resource;
use crate::server::Server;
use crate::storage::Storage;

/// The metadata document of `resource` (RFC 9728 §2, C-PR-1).
pub(crate) fn document<S>(server: &Server<S>, resource: &Resource) -> serde_json::Value
where
    S: 'static,
{
    #[derive(Serialize)]
    struct Document<'a> {
        resource: &'a str,
        authorization_servers: [&'a str; 1],
        #[serde(skip_serializing_if = "Vec::is_empty")]
        scopes_supported: Vec<&'a str>,
        bearer_methods_supported: Vec<&'static str>,
    }
    let config = server.config();
    let mut bearer_methods = vec!["header"];
    if config.bearer_in_body {
        bearer_methods.push("body");
    }
    if config.bearer_in_query {
        bearer_methods.push("query");
    }
    #[cfg_attr(not(feature = "jose"), allow(unused_mut))]
    let mut document = serde_json::to_value(Document {
        resource: resource.id(),
        authorization_servers: [config.issuer()],
        scopes_supported: resource
            .scope()
            .iter()
            .map(|scope| scope.as_str())
            .collect(),
        bearer_methods_supported: bearer_methods,
    })
    .unwrap_or_default();
    // RFC 9728 §2: the DPoP algorithms the resource takes proofs in, and whether it takes
    // DPoP-bound tokens only (every token is bound when the server requires proofs).
    #[cfg(feature = "jose")]
    if let (Some(dpop), Some(fields)) = (config.dpop(), document.as_object_mut()) {
        let algs = dpop.algorithm_names();
        fields.insert("dpop_signing_alg_values_supported".into(), algs.into());
        fields.insert(
            "dpop_bound_access_tokens_required".into(),
            dpop.requires_proofs().into(),
        );
    }
    document
}

/// Answers a `GET` of a resource's metadata, found by the request's path (and host, when the
/// request names one): `200` with the document, `404` when no registered resource has its metadata there, `405` for methods other
/// than `GET` and `HEAD`.
pub(crate) fn respond<S: Storage, B>(
    server: &Server<S>,
    request: &Request<B>,
) -> Response<Vec<u8>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return method_not_allowed();
    }
    let path = request.uri().path();
    // The host the request reached, when it says: resources of other hosts may share a path.
    let host = request
        .uri()
        .authority()
        .map(|authority| authority.as_str().to_ascii_lowercase())
        .or_else(|| {
            let header = request.headers().get(HOST)?.to_str().ok()?;
            Some(header.to_ascii_lowercase())
        });
    let found = server.config().resources().iter().find(|resource| {
        let own = resource.metadata_path();
        own.split('?').next() == Some(path)
            && host
                .as_deref()
                .is_none_or(|host| resource.serves_host(host))
    });
    match found {
        Some(resource) => json(StatusCode::OK, &document(server, resource)),
        None => {
            let mut response = Response::new(Vec::new());
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
    }
}
