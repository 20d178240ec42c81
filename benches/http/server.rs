//! The HTTP bench's server: grantor's token endpoint and a protected route mounted the way the
//! examples mount them (buffer the axum request, hand it to grantor, send grantor's response),
//! next to a bare axum handler that returns a fixed JSON body: the framework's floor.
//!
//! `cargo run --release --example bench_http_server -- 127.0.0.1:8765`, then
//! `benches/http/run.sh http://127.0.0.1:8765` (which starts it for you when given no URL).

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use grantor::{Client, ClientSecret, Config, GrantType, MemoryStorage, Requirement, Server};

/// The confidential client the load generator authenticates as.
const CLIENT_ID: &str = "bench";
/// Its secret (a bench fixture, not a real credential).
const CLIENT_SECRET: &str = "bench-secret-0123456789-abcdefghijklmnopqrstuv";

type App = Arc<Server<MemoryStorage>>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8765".to_owned());
    let server = Server::new(
        Config::builder(&format!("http://{addr}")).build()?,
        MemoryStorage::new(),
    );
    let client = Client::confidential(CLIENT_ID, &ClientSecret::new(CLIENT_SECRET))
        .grant_types([GrantType::ClientCredentials])
        .allowed_scopes("read")
        .default_scopes("read")
        .build()?;
    server.register_client(client).await?;
    let app = Router::new()
        .route("/token", post(token))
        .route("/api/me", get(me))
        .route("/bare", get(bare))
        .with_state(Arc::new(server));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("listening on http://{addr}");
    axum::serve(listener, app).await?;
    Ok(())
}

/// Buffers an axum request into the `http::Request<Bytes>` grantor takes.
async fn buffered(request: Request) -> Result<http::Request<Bytes>, Response> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
    Ok(http::Request::from_parts(parts, bytes))
}

/// `POST /token`: grantor's token endpoint.
async fn token(State(server): State<App>, request: Request) -> Response {
    match buffered(request).await {
        Ok(request) => server.token(&request).await.map(Body::from),
        Err(response) => response,
    }
}

/// `GET /api/me`: a protected route that needs an app token with `read`.
async fn me(State(server): State<App>, request: Request) -> Response {
    let request = match buffered(request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let Ok(requirement) = Requirement::app().scopes("read") else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    match server.validate_bearer(&request, &requirement).await {
        Ok(grant) => {
            let body = serde_json::json!({
                "client_id": grant.client_id().as_str(),
                "scope": grant.scope().to_string(),
            });
            axum::Json(body).into_response()
        }
        Err(error) => error.into_response().map(Body::from),
    }
}

/// `GET /bare`: the floor, a fixed JSON body.
async fn bare() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"access_token":"fixed","token_type":"Bearer","expires_in":3600}"#,
    )
        .into_response()
}
