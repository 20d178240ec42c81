//! Interoperability: the `oauth2` crate (v5, with its reqwest client), an independent and widely
//! used OAuth client library, drives grantor over real HTTPS on 127.0.0.1 through the quickstart
//! example's router: discovery, a code grant with PKCE, introspection and revocation.
//!
//! HTTPS rather than plain HTTP because the `oauth2` crate refuses to revoke over anything else,
//! as RFC 7009 §2 requires of clients. The certificate is generated for 127.0.0.1 when the test
//! runs and trusted by the test's client only.

#[path = "../examples/quickstart/app.rs"]
#[allow(dead_code)]
mod app;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use grantor::{Client as Registration, ClientSecret as Secret, OwnerId, ScopeSet};
use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenType};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    IntrospectionUrl, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError,
    RevocationUrl, Scope, StandardRevocableToken, TokenIntrospectionResponse, TokenResponse,
    TokenUrl, reqwest,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::PrivateKeyDer;
use tokio_rustls::server::TlsStream;

const RS: &str = "api-gateway";
const RS_SECRET: &str = "api-gateway-secret-for-the-interop-test";

/// A TLS listener for `axum::serve`: connections whose handshake fails are dropped.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// Serves the quickstart over HTTPS on 127.0.0.1 with a fresh self-signed certificate, with one
/// extra confidential client allowed to introspect: returns the demo (for the in-process
/// authorization step) and an HTTP client that trusts the certificate and follows no redirects.
async fn serve() -> (app::Demo, reqwest::Client) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let tls = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("https://{}", tcp.local_addr().unwrap());
    let demo = app::Demo::new(&issuer).await.unwrap();
    let gateway = Registration::confidential(RS, &Secret::new(RS_SECRET))
        .grant_types([])
        .introspects_any_token(true)
        .build()
        .unwrap();
    demo.server().register_client(gateway).await.unwrap();
    let listener = TlsListener {
        tcp,
        acceptor: TlsAcceptor::from(Arc::new(tls)),
    };
    let router = app::router(demo.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let trusted = reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(trusted)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (demo, http)
}

// C-MD-1, C-IS-1, C-TK-6, C-IN-1, C-RV-1: a widely used client library discovers the server,
// redeems a code with PKCE, introspects the token and revokes it at logout.
#[tokio::test]
async fn oauth2_crate_discovers_exchanges_introspects_and_revokes() {
    let (demo, http) = serve().await;
    let issuer = demo.server().config().issuer().to_owned();

    // 1. Discovery: fetch the metadata document and build the client from its URLs.
    let metadata_url = format!("{issuer}/.well-known/oauth-authorization-server");
    let response = http.get(&metadata_url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let metadata: serde_json::Value =
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(metadata["issuer"], issuer.as_str());
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
    let endpoint = |name: &str| metadata[name].as_str().unwrap().to_owned();
    let app = BasicClient::new(ClientId::new(app::CLIENT_ID.to_owned()))
        .set_auth_uri(AuthUrl::new(endpoint("authorization_endpoint")).unwrap())
        .set_token_uri(TokenUrl::new(endpoint("token_endpoint")).unwrap())
        .set_revocation_url(RevocationUrl::new(endpoint("revocation_endpoint")).unwrap())
        .set_introspection_url(IntrospectionUrl::new(endpoint("introspection_endpoint")).unwrap())
        .set_redirect_uri(RedirectUrl::new(format!("{issuer}/callback")).unwrap());

    // 2. Authorization: the URL the library builds, validated and approved in-process (the
    //    quickstart's consent step is an HTML page for a person).
    let (params, verifier, csrf) = authorize(&demo, &app).await;
    assert_eq!(params["state"], *csrf.secret());
    // RFC 9207 §2.4: the client checks iss against the issuer it discovered.
    assert_eq!(params["iss"], metadata["issuer"].as_str().unwrap());
    let code = AuthorizationCode::new(params["code"].clone());

    // 3. The code exchange, over HTTPS, with the PKCE verifier.
    let tokens = app
        .exchange_code(code.clone())
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(*tokens.token_type(), BasicTokenType::Bearer);
    assert_eq!(tokens.expires_in().map(|d| d.as_secs()), Some(3600));
    let scopes: Vec<&str> = tokens
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(scopes, ["messages", "profile"]);
    let refresh = tokens.refresh_token().unwrap().clone();

    // The library understands grantor's errors: the same code again is invalid_grant.
    let (_, second_verifier) = PkceCodeChallenge::new_random_sha256();
    let replay = app
        .exchange_code(code)
        .set_pkce_verifier(second_verifier)
        .request_async(&http)
        .await
        .unwrap_err();
    match replay {
        RequestTokenError::ServerResponse(error) => {
            assert_eq!(*error.error(), BasicErrorResponseType::InvalidGrant)
        }
        other => panic!("expected invalid_grant, got {other:?}"),
    }
    // The replay revoked the grant (C-TK-5); start a fresh one for the rest.
    let (params, verifier, _) = authorize(&demo, &app).await;
    let tokens = app
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let access = tokens.access_token().clone();
    let refresh_after_replay = tokens.refresh_token().unwrap().clone();
    assert_ne!(refresh.secret(), refresh_after_replay.secret());

    // 4. Introspection by a resource server, with HTTP Basic client authentication.
    let gateway = BasicClient::new(ClientId::new(RS.to_owned()))
        .set_client_secret(ClientSecret::new(RS_SECRET.to_owned()))
        .set_introspection_url(IntrospectionUrl::new(endpoint("introspection_endpoint")).unwrap());
    let info = gateway
        .introspect(&access)
        .request_async(&http)
        .await
        .unwrap();
    assert!(info.active());
    assert_eq!(info.client_id().map(|c| c.as_str()), Some(app::CLIENT_ID));
    assert_eq!(info.sub(), Some(app::DEMO_USER));
    assert_eq!(info.token_type(), Some(&BasicTokenType::Bearer));
    assert_eq!(info.iss(), Some(issuer.as_str()));
    let scopes: Vec<&str> = info.scopes().unwrap().iter().map(|s| s.as_str()).collect();
    assert_eq!(scopes, ["messages", "profile"]);
    let (exp, iat) = (info.exp().unwrap(), info.iat().unwrap());
    assert_eq!((exp - iat).num_seconds(), 3600);

    // 5. Logout: the app revokes its refresh token, which revokes the grant's access token.
    app.revoke_token(StandardRevocableToken::RefreshToken(refresh_after_replay))
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    let info = gateway
        .introspect(&access)
        .request_async(&http)
        .await
        .unwrap();
    assert!(!info.active());
    assert!(info.client_id().is_none() && info.scopes().is_none());

    // The protected API refuses the revoked token.
    let api = http
        .get(format!("{issuer}/api/me"))
        .bearer_auth(access.secret())
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
}

/// The demo client as the library types it once discovery set its endpoints.
type App = BasicClient<EndpointSet, EndpointNotSet, EndpointSet, EndpointSet, EndpointSet>;

/// The authorization step, in-process: the URL the library builds (PKCE S256, `profile` and
/// `messages`) is validated and approved for the demo user. Returns the parameters of the
/// redirect back to the client, the PKCE verifier and the state sent.
async fn authorize(
    demo: &app::Demo,
    app: &App,
) -> (HashMap<String, String>, PkceCodeVerifier, CsrfToken) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, csrf) = app
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("profile".to_owned()))
        .add_scope(Scope::new("messages".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    let target = &authorize_url[url::Position::BeforePath..];
    let request = http::Request::get(target).body(Vec::new()).unwrap();
    let pending = demo.server().authorize(&request).await.unwrap();
    let owner = OwnerId::new(app::DEMO_USER);
    let granted = ScopeSet::parse("profile messages").unwrap();
    let redirect = demo
        .server()
        .approve(pending, &owner, &granted)
        .await
        .unwrap();
    let location = redirect.headers()[http::header::LOCATION].to_str().unwrap();
    let params = url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    (params, verifier, csrf)
}
