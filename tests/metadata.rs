//! Authorization server metadata: RFC 8414 (and RFC 9207's metadata member), black-box.

mod common;

use common::*;
use grantor::{Authenticator, Config, Error, MemoryStorage, OwnerId, Password, Server};
use http::Request;
use serde_json::json;

struct Users;

impl Authenticator for Users {
    async fn authenticate(&self, _: &str, _: Password<'_>) -> Result<Option<OwnerId>, Error> {
        Ok(None)
    }
}

fn server(config: grantor::ConfigBuilder) -> Server<MemoryStorage> {
    Server::new(config.build().unwrap(), MemoryStorage::new())
}

// C-MD-1, C-IS-1, C-PA-1: the default document: the configured issuer, endpoints below it, and only what
// the server does (no password grant without an authenticator, no plain PKCE).
#[tokio::test]
async fn default_document_lists_only_what_is_on() {
    let plain = server(Config::builder(ISSUER));
    let expected = json!({
        "issuer": ISSUER,
        "authorization_endpoint": format!("{ISSUER}/authorize"),
        "token_endpoint": format!("{ISSUER}/token"),
        "revocation_endpoint": format!("{ISSUER}/revoke"),
        "introspection_endpoint": format!("{ISSUER}/introspect"),
        // C-PA-1: PAR is always on, not required unless configured (RFC 9126 §5).
        "pushed_authorization_request_endpoint": format!("{ISSUER}/par"),
        "require_pushed_authorization_requests": false,
        "scopes_supported": [],
        "response_types_supported": ["code", "token"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["authorization_code", "implicit", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "authorization_response_iss_parameter_supported": true,
    });
    assert_eq!(plain.metadata(), expected);

    let response = plain.metadata_response(&get("/.well-known/oauth-authorization-server"));
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(json(&response), expected);
}

// C-MD-1: what the configuration turns on or off shows in the document.
#[test]
fn document_follows_the_configuration() {
    let plain = server(Config::builder(ISSUER).allow_plain_pkce(true));
    assert_eq!(
        plain.metadata()["code_challenge_methods_supported"],
        json!(["S256", "plain"])
    );

    let password = server(Config::builder(ISSUER)).with_authenticator(Users);
    assert_eq!(
        password.metadata()["grant_types_supported"],
        json!([
            "authorization_code",
            "implicit",
            "refresh_token",
            "client_credentials",
            "password"
        ])
    );

    let no_refresh = server(Config::builder(ISSUER).issue_refresh_tokens(false));
    let grants = no_refresh.metadata()["grant_types_supported"].clone();
    assert!(!grants.as_array().unwrap().contains(&json!("refresh_token")));

    let scopes = server(Config::builder(ISSUER).scopes_supported("write read messages"));
    assert_eq!(
        scopes.metadata()["scopes_supported"],
        json!(["messages", "read", "write"])
    );
    assert_eq!(plain.metadata()["scopes_supported"], json!([]));
    let basic = server(Config::builder(ISSUER).always_granted_scopes("basic"));
    assert_eq!(basic.metadata()["scopes_supported"], json!(["basic"]));
}

// C-IS-1: without the iss parameter, the metadata does not claim it.
#[test]
fn iss_support_follows_the_configuration() {
    let off = server(Config::builder(ISSUER).issuer_parameter(false));
    assert_eq!(
        off.metadata()["authorization_response_iss_parameter_supported"],
        false
    );
}

// C-MD-1: hosts mount the endpoints where they like; the document says where, and the
// configuration refuses URLs a client could not safely use.
#[test]
fn endpoint_urls_are_configurable() {
    let custom = server(
        Config::builder(ISSUER)
            .authorization_endpoint("https://login.example.com/oauth/authorize")
            .token_endpoint("https://api.example.com/oauth/token")
            .revocation_endpoint("https://api.example.com/oauth/revoke")
            .introspection_endpoint("https://internal.example.com/introspect"),
    );
    let document = custom.metadata();
    assert_eq!(document["issuer"], ISSUER);
    assert_eq!(
        document["authorization_endpoint"],
        "https://login.example.com/oauth/authorize"
    );
    assert_eq!(
        document["token_endpoint"],
        "https://api.example.com/oauth/token"
    );
    assert_eq!(
        document["revocation_endpoint"],
        "https://api.example.com/oauth/revoke"
    );
    assert_eq!(
        document["introspection_endpoint"],
        "https://internal.example.com/introspect"
    );
    for bad in [
        "/oauth/token",
        "http://api.example.com/token",
        "https://api.example.com/token#x",
    ] {
        assert!(
            Config::builder(ISSUER).token_endpoint(bad).build().is_err(),
            "{bad}"
        );
    }
    assert!(
        Config::builder(ISSUER)
            .scopes_supported("read  write")
            .build()
            .is_err()
    );
}

// C-MD-1: an issuer with a path: the well-known suffix goes between host and path
// (RFC 8414 §3.1), the issuer is echoed exactly, and the endpoints default below it.
#[test]
fn issuer_with_a_path() {
    for issuer in ["https://a.example/tenant1", "https://a.example/tenant1/"] {
        let tenant = server(Config::builder(issuer));
        assert_eq!(
            tenant.metadata_path(),
            "/.well-known/oauth-authorization-server/tenant1"
        );
        let document = tenant.metadata();
        assert_eq!(document["issuer"], issuer);
        assert_eq!(
            document["token_endpoint"],
            "https://a.example/tenant1/token"
        );
    }
    let root = server(Config::builder("https://a.example"));
    assert_eq!(
        root.metadata_path(),
        "/.well-known/oauth-authorization-server"
    );
}

// C-MD-1: the document is fetched with GET (or HEAD); other methods get 405.
#[test]
fn only_get_and_head_are_answered() {
    let server = server(Config::builder(ISSUER));
    let head = Request::head("/.well-known/oauth-authorization-server")
        .body(Vec::<u8>::new())
        .unwrap();
    assert_eq!(server.metadata_response(&head).status(), 200);
    let post = post_form("/.well-known/oauth-authorization-server", Vec::new());
    let response = server.metadata_response(&post);
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
}
