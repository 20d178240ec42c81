//! The axum integration (`grantor::integration::axum`) runs the code flow end to end: the
//! host's one-line authorization handler approves, the mounted token endpoint issues, and a
//! route guarded by the extractor and a router guarded by the layer answer `200`, `401` or
//! `403` as grantor decides.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use grantor::integration::axum::{Buffered, RequireLayer, endpoints, reply};
use grantor::integration::{Authorized, RequirementSpec};
use grantor::{
    AccessGrant, Client, CodeChallenge, Config, MemoryStorage, OwnerId, Requirement, ScopeError,
    Server,
};
use http::{Request, StatusCode, header};
use tower::ServiceExt;

type Auth = Arc<Server<MemoryStorage>>;

const VERIFIER: &str = "integration-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";
const REDIRECT: &str = "https://app.example/cb";

struct Profile;

impl RequirementSpec for Profile {
    fn requirement() -> Result<Requirement, ScopeError> {
        Requirement::user().scopes("profile")
    }
}

/// The host's authorization endpoint; a real host shows login and consent before approving.
async fn authorize(State(auth): State<Auth>, Buffered(request): Buffered) -> Response {
    match auth.authorize(&request).await {
        Ok(pending) => {
            let granted = pending.scope().clone();
            reply(
                auth.approve(pending, &OwnerId::new("alice"), &granted)
                    .await
                    .unwrap(),
            )
        }
        Err(error) => reply(error.into_response()),
    }
}

async fn me(grant: Authorized<Profile>) -> String {
    format!("hello {}", grant.owner().unwrap().as_str())
}

async fn layered(Extension(grant): Extension<AccessGrant>) -> String {
    format!("layered {}", grant.client_id().as_str())
}

async fn app(issuer: &str) -> (Auth, Router) {
    let config = Config::builder(issuer).build().unwrap();
    let server = Server::new(config, MemoryStorage::new());
    let client = Client::public("app")
        .redirect_uri(REDIRECT)
        .allowed_scopes("profile admin")
        .build()
        .unwrap();
    server.register_client(client).await.unwrap();
    let auth: Auth = Arc::new(server);
    let profile = Router::new()
        .route("/layered/me", get(layered))
        .layer(RequireLayer::new(
            auth.clone(),
            Requirement::user().scopes("profile").unwrap(),
        ));
    let admin = Router::new()
        .route("/layered/admin", get(layered))
        .layer(RequireLayer::new(
            auth.clone(),
            Requirement::user().scopes("admin").unwrap(),
        ));
    let router = Router::new()
        .route("/authorize", get(authorize))
        .route("/api/me", get(me))
        .merge(profile)
        .merge(admin)
        .merge(endpoints(auth.clone()))
        .with_state(auth.clone());
    (auth, router)
}

async fn send(router: &Router, request: Request<Body>) -> (StatusCode, http::HeaderMap, String) {
    let response = router.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (
        parts.status,
        parts.headers,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

fn get_with(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut request = Request::get(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::empty()).unwrap()
}

fn form(uri: &str, body: String) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

/// The code flow through the router: an access token for `scope`.
async fn token(router: &Router, scope: &str) -> String {
    let challenge = CodeChallenge::s256(VERIFIER);
    let uri = format!(
        "/authorize?response_type=code&client_id=app&scope={scope}&state=s1&redirect_uri={REDIRECT}&code_challenge={}&code_challenge_method=S256",
        challenge.value()
    );
    let (status, headers, _) = send(router, get_with(&uri, None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = url::Url::parse(headers[header::LOCATION].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let body = format!(
        "grant_type=authorization_code&code={code}&client_id=app&redirect_uri={REDIRECT}&code_verifier={VERIFIER}"
    );
    let (status, _, text) = send(router, form("/token", body)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_code_flow_runs_through_the_router_the_extractor_and_the_layer() {
    let (_, router) = app("https://auth.example.com").await;
    let access = token(&router, "profile").await;

    // The extractor.
    let (status, _, text) = send(&router, get_with("/api/me", Some(&access))).await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "hello alice"));
    let (status, headers, _) = send(&router, get_with("/api/me", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = headers[header::WWW_AUTHENTICATE].to_str().unwrap();
    assert!(challenge.starts_with("Bearer realm="), "{challenge}");
    assert!(
        !challenge.contains("error="),
        "no token, no error code: {challenge}"
    );
    let (status, headers, _) = send(&router, get_with("/api/me", Some("not-a-token"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );

    // The layer.
    let (status, _, text) = send(&router, get_with("/layered/me", Some(&access))).await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "layered app"));
    let (status, headers, _) = send(&router, get_with("/layered/me", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Bearer realm=")
    );
    let (status, headers, _) = send(&router, get_with("/layered/admin", Some(&access))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let challenge = headers[header::WWW_AUTHENTICATE].to_str().unwrap();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
    assert!(challenge.contains(r#"scope="admin""#), "{challenge}");

    // The extractor refuses a token without `profile` with 403.
    let admin_only = token(&router, "admin").await;
    let (status, headers, _) = send(&router, get_with("/api/me", Some(&admin_only))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );

    // Introspection and revocation are mounted too: a revoked token opens nothing.
    let (status, _, text) = send(
        &router,
        form("/revoke", format!("token={access}&client_id=app")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (status, _, _) = send(&router, get_with("/api/me", Some(&access))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let body = format!("token={admin_only}&client_id=app");
    let (status, _, text) = send(&router, form("/introspect", body)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["active"], true, "{text}");
    assert_eq!(json["scope"], "admin", "{text}");
}

#[tokio::test]
async fn metadata_and_endpoints_are_served_at_the_issuers_paths() {
    let (auth, router) = app("https://auth.example.com/tenant1").await;
    let (status, _, text) = send(
        &router,
        get_with("/.well-known/oauth-authorization-server/tenant1", None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json, auth.metadata());
    assert_eq!(
        json["token_endpoint"],
        "https://auth.example.com/tenant1/token"
    );

    // The token endpoint is where the metadata says, and takes only POST.
    let (status, _, text) = send(&router, form("/tenant1/token", "grant_type=nope".into())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    let (status, _, _) = send(&router, get_with("/tenant1/token", None)).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _, _) = send(&router, form("/token", "grant_type=nope".into())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // C-PA-1: the pushed authorization request endpoint is mounted, POST only; a client that
    // does not authenticate is 401.
    let (status, _, text) = send(&router, form("/tenant1/par", "response_type=code".into())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
    let (status, _, _) = send(&router, get_with("/tenant1/par", None)).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    // Not an OpenID Provider, no registration: nothing else is mounted.
    for path in [
        "/tenant1/.well-known/openid-configuration",
        "/tenant1/register",
        "/tenant1/userinfo",
    ] {
        let (status, _, _) = send(&router, get_with(path, None)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn bodies_beyond_the_limit_are_refused() {
    let (_, router) = app("https://auth.example.com").await;
    let body = format!(
        "grant_type=client_credentials&pad={}",
        "x".repeat(grantor::integration::BODY_LIMIT)
    );
    let (status, _, _) = send(&router, form("/token", body)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn registration_device_and_resource_metadata_are_mounted_when_the_server_has_them() {
    let config = Config::builder("https://auth.example.com")
        .scopes_supported("profile")
        .resource(grantor::Resource::new("https://auth.example.com/api").unwrap())
        .build()
        .unwrap();
    let server = Server::builder(config, MemoryStorage::new())
        .registration(grantor::RegistrationPolicy::open())
        .grant(grantor::grant::DeviceCodeGrant)
        .build();
    let router: Router = endpoints(Arc::new(server));

    let metadata = r#"{"redirect_uris":["https://new.example/cb"],"token_endpoint_auth_method":"none","scope":"profile","grant_types":["authorization_code","urn:ietf:params:oauth:grant-type:device_code"]}"#;
    let request = Request::post("/register")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(metadata))
        .unwrap();
    let (status, _, text) = send(&router, request).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let registered: serde_json::Value = serde_json::from_str(&text).unwrap();
    let client_id = registered["client_id"].as_str().unwrap();
    let token = registered["registration_access_token"].as_str().unwrap();

    let uri = format!("/register/{client_id}");
    let (status, _, text) = send(&router, get_with(&uri, Some(token))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let (status, _, _) = send(&router, get_with(&uri, None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let body = format!("client_id={client_id}&scope=profile");
    let (status, _, text) = send(&router, form("/device_authorization", body)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("user_code"), "{text}");

    let request = Request::get("/.well-known/oauth-protected-resource/api")
        .header(header::HOST, "auth.example.com")
        .body(Body::empty())
        .unwrap();
    let (status, _, text) = send(&router, request).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(
        text.contains(r#""resource":"https://auth.example.com/api""#),
        "{text}"
    );
}
