//! The actix-web integration (`grantor::integration::actix`) runs the code flow end to end
//! through `examples/actix_server.rs`: its authorization handler approves, the mounted token
//! endpoint issues, and a route guarded by the extractor and a scope guarded by the middleware
//! answer `200`, `401` or `403` as grantor decides.

#[allow(dead_code)]
#[path = "../examples/actix_server.rs"]
mod example;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header;
use actix_web::{App, test};
use grantor::integration::actix::endpoints;

const BASE: &str = "http://localhost:8081";

fn run<F: Future>(future: F) -> F::Output {
    actix_web::rt::System::new().block_on(future)
}

async fn body_text(response: ServiceResponse) -> String {
    String::from_utf8(test::read_body(response).await.to_vec()).unwrap()
}

fn bearer(uri: &str, token: Option<&str>) -> actix_http::Request {
    let mut request = test::TestRequest::get().uri(uri);
    if let Some(token) = token {
        request = request.insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
    }
    request.to_request()
}

/// The code flow through the app: an access token for `scope`.
async fn token<S>(app: &S, scope: &str) -> String
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let uri = example::authorization_url(BASE, scope).replace(BASE, "");
    let response = test::call_service(app, test::TestRequest::get().uri(&uri).to_request()).await;
    assert_eq!(response.status(), 303);
    let location = response
        .headers()
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap();
    let location = url::Url::parse(location).unwrap();
    assert_eq!(location.path(), "/callback");
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", example::CLIENT_ID),
        ("redirect_uri", &format!("{BASE}/callback")),
        ("code_verifier", example::VERIFIER),
    ];
    let request = test::TestRequest::post()
        .uri("/token")
        .set_form(form)
        .to_request();
    let response = test::call_service(app, request).await;
    assert_eq!(response.status(), 200);
    let json: serde_json::Value = serde_json::from_str(&body_text(response).await).unwrap();
    json["access_token"].as_str().unwrap().to_owned()
}

#[test]
fn the_code_flow_runs_through_the_example_the_extractor_and_the_middleware() {
    run(async {
        let auth = example::server(BASE).await.unwrap();
        let app =
            test::init_service(App::new().configure(example::routes(auth, BASE.into()))).await;
        let profile = token(&app, "profile").await;

        // The extractor.
        let response = test::call_service(&app, bearer("/api/me", Some(&profile))).await;
        assert_eq!(response.status(), 200);
        let json: serde_json::Value = serde_json::from_str(&body_text(response).await).unwrap();
        assert_eq!(json["owner"], example::DEMO_USER);
        let response = test::call_service(&app, bearer("/api/me", None)).await;
        assert_eq!(response.status(), 401);
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .unwrap()
            .to_str()
            .unwrap();
        assert!(challenge.starts_with("Bearer realm="), "{challenge}");
        assert!(!challenge.contains("error="), "{challenge}");
        let response = test::call_service(&app, bearer("/api/me", Some("forged"))).await;
        assert_eq!(response.status(), 401);
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            challenge.contains(r#"error="invalid_token""#),
            "{challenge}"
        );

        // The middleware.
        let response = test::call_service(&app, bearer("/api/messages", Some(&profile))).await;
        assert_eq!(response.status(), 403);
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            challenge.contains(r#"error="insufficient_scope""#),
            "{challenge}"
        );
        assert!(challenge.contains(r#"scope="messages""#), "{challenge}");
        let response = test::call_service(&app, bearer("/api/messages", None)).await;
        assert_eq!(response.status(), 401);
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
        let messages = token(&app, "messages").await;
        let response = test::call_service(&app, bearer("/api/messages", Some(&messages))).await;
        assert_eq!(response.status(), 200);
        let json: serde_json::Value = serde_json::from_str(&body_text(response).await).unwrap();
        assert_eq!(json["owner"], example::DEMO_USER);

        // The extractor refuses a token without `profile` with 403.
        let response = test::call_service(&app, bearer("/api/me", Some(&messages))).await;
        assert_eq!(response.status(), 403);

        // Revocation is mounted: a revoked token opens nothing.
        let form = [
            ("token", profile.as_str()),
            ("client_id", example::CLIENT_ID),
        ];
        let request = test::TestRequest::post()
            .uri("/revoke")
            .set_form(form)
            .to_request();
        assert_eq!(test::call_service(&app, request).await.status(), 200);
        let response = test::call_service(&app, bearer("/api/me", Some(&profile))).await;
        assert_eq!(response.status(), 401);
    });
}

#[test]
fn metadata_and_endpoints_are_served_at_the_issuers_paths() {
    run(async {
        let auth = example::server("https://auth.example.com/tenant1")
            .await
            .unwrap();
        let app = test::init_service(App::new().configure(endpoints(auth.clone()))).await;
        let request = bearer("/.well-known/oauth-authorization-server/tenant1", None);
        let response = test::call_service(&app, request).await;
        assert_eq!(response.status(), 200);
        let json: serde_json::Value = serde_json::from_str(&body_text(response).await).unwrap();
        assert_eq!(json, auth.metadata());
        assert_eq!(
            json["token_endpoint"],
            "https://auth.example.com/tenant1/token"
        );

        let form = [("grant_type", "nope")];
        let request = test::TestRequest::post()
            .uri("/tenant1/token")
            .set_form(form)
            .to_request();
        assert_eq!(test::call_service(&app, request).await.status(), 400);
        let response = test::call_service(&app, bearer("/tenant1/token", None)).await;
        assert_eq!(response.status(), 405);
        let request = test::TestRequest::post()
            .uri("/token")
            .set_form(form)
            .to_request();
        assert_eq!(test::call_service(&app, request).await.status(), 404);

        // C-PA-1: the pushed authorization request endpoint is mounted, POST only; a client
        // that does not authenticate is 401.
        let request = test::TestRequest::post()
            .uri("/tenant1/par")
            .set_form([("response_type", "code")])
            .to_request();
        assert_eq!(test::call_service(&app, request).await.status(), 401);
        let response = test::call_service(&app, bearer("/tenant1/par", None)).await;
        assert_eq!(response.status(), 405);

        // Bodies beyond the limit are refused.
        let pad = "x".repeat(grantor::integration::BODY_LIMIT);
        let form = [("grant_type", "client_credentials"), ("pad", pad.as_str())];
        let request = test::TestRequest::post()
            .uri("/tenant1/token")
            .set_form(form)
            .to_request();
        assert_eq!(test::call_service(&app, request).await.status(), 413);
    });
}
