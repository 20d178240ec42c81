//! The plain-hyper example's handler, called in process with `http_body_util::Full` bodies:
//! grantor works the same without axum.

#[path = "../examples/hyper_server.rs"]
#[allow(dead_code)]
mod hyper_server;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use grantor::{Client, CodeChallenge, MemoryStorage, OwnerId, ScopeSet, Server};
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

const ISSUER: &str = "http://127.0.0.1:8081";
const VERIFIER: &str = "hyper-test-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

async fn send(server: &Server<MemoryStorage>, request: Request<Full<Bytes>>) -> Reply {
    let response = hyper_server::handle(server, request).await;
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

fn form(uri: &str) -> http::request::Builder {
    Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
}

/// A code issued by `server` to a public client registered for this test.
async fn code(server: &Server<MemoryStorage>) -> String {
    let client = Client::public("cli")
        .redirect_uri("http://127.0.0.1/cb")
        .allowed_scopes(hyper_server::SCOPE)
        .build()
        .unwrap();
    server.register_client(client).await.unwrap();
    let uri = format!(
        "/authorize?response_type=code&client_id=cli&scope={}&code_challenge={}&code_challenge_method=S256",
        hyper_server::SCOPE,
        CodeChallenge::s256(VERIFIER).value()
    );
    let pending = server
        .authorize(&Request::get(uri).body(Vec::new()).unwrap())
        .await
        .unwrap();
    let scope = ScopeSet::parse(hyper_server::SCOPE).unwrap();
    let redirect = server
        .approve(pending, &OwnerId::new("alice"), &scope)
        .await
        .unwrap();
    let location = redirect.headers()[header::LOCATION].to_str().unwrap();
    let url = url::Url::parse(location).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned()
}

// C-TK-6, C-BR-5, C-BR-6: a token from the hyper token endpoint opens the hyper route.
#[tokio::test]
async fn token_endpoint_and_protected_route_on_hyper() {
    let (server, _secret) = hyper_server::demo(ISSUER).await.unwrap();
    let code = code(&server).await;
    let body =
        format!("grant_type=authorization_code&code={code}&client_id=cli&code_verifier={VERIFIER}");
    let tokens = send(&server, form("/token").body(Full::from(body)).unwrap()).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    assert_eq!(tokens.headers[header::CACHE_CONTROL], "no-store");
    let tokens: serde_json::Value = serde_json::from_str(&tokens.body).unwrap();
    let access = tokens["access_token"].as_str().unwrap();

    let request = Request::get("/api/reports")
        .header(header::AUTHORIZATION, format!("Bearer {access}"))
        .body(Full::default())
        .unwrap();
    let reports = send(&server, request).await;
    assert_eq!(reports.status, StatusCode::OK, "{}", reports.body);
    assert_eq!(reports.headers["x-oauth-scopes"], hyper_server::SCOPE);
    assert_eq!(reports.headers[header::CONTENT_TYPE], "application/json");
    let reports: serde_json::Value = serde_json::from_str(&reports.body).unwrap();
    assert_eq!(reports["client_id"], "cli");

    let anonymous = send(
        &server,
        Request::get("/api/reports").body(Full::default()).unwrap(),
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.headers[header::WWW_AUTHENTICATE],
        format!("Bearer realm=\"{ISSUER}\"")
    );
}

// C-TK-3: the demo client's credentials are checked (with HTTP Basic, a 401 and a challenge).
#[tokio::test]
async fn wrong_client_secret_is_invalid_client() {
    let (server, _secret) = hyper_server::demo(ISSUER).await.unwrap();
    let basic = STANDARD.encode(format!("{}:wrong-secret", hyper_server::CLIENT_ID));
    let body = "grant_type=client_credentials";
    let request = form("/token")
        .header(header::AUTHORIZATION, format!("Basic {basic}"))
        .body(Full::from(body))
        .unwrap();
    let refused = send(&server, request).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused.headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert!(refused.body.contains("\"invalid_client\""));
}

// C-TK-1, C-SE-3: wrong method, unknown path, oversized body.
#[tokio::test]
async fn bad_requests_get_clear_answers() {
    let (server, _secret) = hyper_server::demo(ISSUER).await.unwrap();
    let get = send(
        &server,
        Request::get("/token").body(Full::default()).unwrap(),
    )
    .await;
    assert_eq!(get.status, StatusCode::BAD_REQUEST);
    assert!(get.body.contains("\"invalid_request\""));

    let missing = send(
        &server,
        Request::get("/nowhere").body(Full::default()).unwrap(),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let huge = "a".repeat(65 * 1024);
    let request = form("/token").body(Full::from(huge)).unwrap();
    let refused = send(&server, request).await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
}

// C-TK-9, C-SC-4: the example's own demo client gets an app token with client credentials over
// hyper, and the protected route accepts it.
#[tokio::test]
async fn client_credentials_then_protected_route() {
    let (server, secret) = hyper_server::demo(ISSUER).await.unwrap();
    let basic = STANDARD.encode(format!("{}:{}", hyper_server::CLIENT_ID, secret.secret()));
    let request = form("/token")
        .header(header::AUTHORIZATION, format!("Basic {basic}"))
        .body(Full::new(Bytes::from_static(
            b"grant_type=client_credentials",
        )))
        .unwrap();
    let tokens = send(&server, request).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    let tokens: serde_json::Value = serde_json::from_str(&tokens.body).unwrap();
    assert_eq!(tokens["scope"], hyper_server::SCOPE);
    assert!(tokens.get("refresh_token").is_none());
    let access = tokens["access_token"].as_str().unwrap();
    let request = Request::get("/api/reports")
        .header(header::AUTHORIZATION, format!("Bearer {access}"))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let reply = send(&server, request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.headers["x-oauth-scopes"], hyper_server::SCOPE);
}
