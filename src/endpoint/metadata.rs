//! Authorization server metadata (RFC 8414): the JSON document strict clients read to discover
//! the server, and where it is served.
//!
//! The document is built from the [`Config`](crate::Config) and the server's
//! [`Authenticator`], so it never advertises what the server does not do: `plain` PKCE only when
//! enabled, the `password` grant only with a real authenticator, `refresh_token` only when
//! refresh tokens are issued, `iss` support (RFC 9207) only when it is on.
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

use crate::authenticator::Authenticator;
use crate::endpoint::json;
use crate::error::Error;
use crate::scope::ScopeSet;
use crate::server::Server;

/// The well-known URI suffix of RFC 8414 §3.
const WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";

/// The client authentication methods of the token, revocation and introspection endpoints
/// (RFC 6749 §2.3.1; `none` for public clients).
const AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];

/// Where the host mounted the endpoints, and which scopes the document lists. Set through the
/// [`ConfigBuilder`](crate::ConfigBuilder); [`resolve`](Self::resolve) fills in the defaults.
#[derive(Debug, Clone, Default)]
pub(crate) struct Settings {
    pub(crate) authorization_endpoint: Option<String>,
    pub(crate) token_endpoint: Option<String>,
    pub(crate) revocation_endpoint: Option<String>,
    pub(crate) introspection_endpoint: Option<String>,
    pub(crate) scopes_supported_text: Option<String>,
    scopes_supported: Option<ScopeSet>,
}

impl Settings {
    /// Checks the URLs the host set, fills in the defaults below `issuer`, and parses the
    /// advertised scopes.
    pub(crate) fn resolve(&mut self, issuer: &str) -> Result<(), Error> {
        let base = issuer.trim_end_matches('/');
        for (url, default) in [
            (&mut self.authorization_endpoint, "/authorize"),
            (&mut self.token_endpoint, "/token"),
            (&mut self.revocation_endpoint, "/revoke"),
            (&mut self.introspection_endpoint, "/introspect"),
        ] {
            match url {
                Some(url) => check_endpoint(url)?,
                None => *url = Some(format!("{base}{default}")),
            }
        }
        if let Some(text) = &self.scopes_supported_text {
            let scopes = ScopeSet::parse(text)
                .map_err(|_| Error::config("malformed scopes_supported list"))?;
            self.scopes_supported = Some(scopes);
        }
        Ok(())
    }
}

/// An endpoint URL must be absolute, without fragment, and use `https` (or `http` on a loopback
/// host, for development) (RFC 6749 §3.1, §3.2).
fn check_endpoint(url: &str) -> Result<(), Error> {
    let parsed =
        Url::parse(url).map_err(|_| Error::config("an endpoint must be an absolute URL"))?;
    let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    let secure = parsed.scheme() == "https" || (parsed.scheme() == "http" && loopback);
    if !secure || parsed.fragment().is_some() || url.contains('#') {
        return Err(Error::config(
            "an endpoint URL must use https (http only on a loopback host) and have no fragment",
        ));
    }
    Ok(())
}

/// The path of the metadata document for `issuer` (RFC 8414 §3.1).
pub(crate) fn path(issuer: &str) -> String {
    let issuer_path = Url::parse(issuer)
        .map(|url| url.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    format!("{WELL_KNOWN}{issuer_path}")
}

/// The metadata document (RFC 8414 §2, RFC 9207 §3).
pub(crate) fn document<S, A: Authenticator>(server: &Server<S, A>) -> serde_json::Value {
    #[derive(Serialize)]
    struct Document<'a> {
        issuer: &'a str,
        authorization_endpoint: Option<&'a str>,
        token_endpoint: Option<&'a str>,
        revocation_endpoint: Option<&'a str>,
        introspection_endpoint: Option<&'a str>,
        scopes_supported: Vec<&'a str>,
        response_types_supported: [&'static str; 2],
        grant_types_supported: Vec<&'static str>,
        code_challenge_methods_supported: Vec<&'static str>,
        token_endpoint_auth_methods_supported: [&'static str; 3],
        revocation_endpoint_auth_methods_supported: [&'static str; 3],
        introspection_endpoint_auth_methods_supported: [&'static str; 3],
        authorization_response_iss_parameter_supported: bool,
    }
    let config = server.config();
    let settings = &config.metadata;
    let mut grants = vec!["authorization_code", "implicit"];
    if config.issue_refresh_tokens || config.refresh_tokens_for_client_credentials {
        grants.push("refresh_token");
    }
    grants.push("client_credentials");
    if server.authenticator().checks_passwords() {
        grants.push("password");
    }
    let mut challenge_methods = vec!["S256"];
    if config.allow_plain_pkce {
        challenge_methods.push("plain");
    }
    serde_json::to_value(Document {
        issuer: config.issuer(),
        authorization_endpoint: settings.authorization_endpoint.as_deref(),
        token_endpoint: settings.token_endpoint.as_deref(),
        revocation_endpoint: settings.revocation_endpoint.as_deref(),
        introspection_endpoint: settings.introspection_endpoint.as_deref(),
        // Always present (C-MD-1): the configured list, else the scopes every user token gets.
        // RFC 8414 §2 lets a server leave some of its scopes unlisted.
        scopes_supported: settings
            .scopes_supported
            .as_ref()
            .unwrap_or(&config.always_granted_scopes)
            .iter()
            .map(|scope| scope.as_str())
            .collect(),
        response_types_supported: ["code", "token"],
        grant_types_supported: grants,
        code_challenge_methods_supported: challenge_methods,
        token_endpoint_auth_methods_supported: AUTH_METHODS,
        revocation_endpoint_auth_methods_supported: AUTH_METHODS,
        introspection_endpoint_auth_methods_supported: AUTH_METHODS,
        authorization_response_iss_parameter_supported: config.issuer_parameter,
    })
    .unwrap_or_default()
}

/// Answers a request for the metadata document: `200` with the JSON for `GET` and `HEAD`, `405`
/// for any other method.
pub(crate) fn respond<S, A: Authenticator, B>(
    server: &Server<S, A>,
    request: &Request<B>,
) -> Response<Vec<u8>> {
    if request.method() == Method::GET || request.method() == Method::HEAD {
        return json(StatusCode::OK, &document(server));
    }
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
    }

    #[test]
    fn endpoints_default_below_the_issuer_and_are_checked() {
        let mut settings = Settings::default();
        settings.resolve("https://a.example/tenant1/").unwrap();
        assert_eq!(
            settings.revocation_endpoint.as_deref(),
            Some("https://a.example/tenant1/revoke")
        );
        for bad in ["/token", "http://a.example/token", "https://a.example/t#x"] {
            let mut settings = Settings {
                token_endpoint: Some(bad.to_owned()),
                ..Settings::default()
            };
            assert!(settings.resolve("https://a.example").is_err(), "{bad}");
        }
        let mut settings = Settings {
            scopes_supported_text: Some("a  b".to_owned()),
            ..Settings::default()
        };
        assert!(settings.resolve("https://a.example").is_err());
    }
}
