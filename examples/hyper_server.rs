//! grantor on plain hyper, with no web framework: a token endpoint and a protected route.
//!
//! grantor's entry points take an `http::Request` and return an `http::Response`, the types every
//! Rust HTTP stack shares, so the whole integration is: read the body, call grantor, send its
//! answer. This example is a machine-to-machine server: one confidential client using the
//! client credentials grant, no browser and no login page.
//!
//! ```sh
//! cargo run --example hyper_server        # listens on 127.0.0.1:8081, prints the client secret
//! curl -s -u reports-service:SECRET -d grant_type=client_credentials -d scope=reports:read \
//!      http://127.0.0.1:8081/token
//! curl -s http://127.0.0.1:8081/api/reports -H "Authorization: Bearer ACCESS_TOKEN"
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use grantor::{Client, ClientSecret, Config, GrantType, MemoryStorage, Requirement, Server};
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Bytes};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// The demo client's id.
pub const CLIENT_ID: &str = "reports-service";
/// The scope the protected route needs.
pub const SCOPE: &str = "reports:read";
/// The largest request body read for grantor.
const BODY_LIMIT: usize = 64 * 1024;

/// A server whose issuer is `issuer`, with the demo client; returns the client's secret too.
pub async fn demo(issuer: &str) -> Result<(Server<MemoryStorage>, ClientSecret), grantor::Error> {
    let server = Server::new(Config::builder(issuer).build()?, MemoryStorage::new());
    // Only the secret's SHA-256 digest is stored: show the secret once, to its developer.
    let secret = ClientSecret::generate();
    let client = Client::confidential(CLIENT_ID, &secret)
        .name("Reports Service")
        .grant_types([GrantType::ClientCredentials])
        .allowed_scopes(SCOPE)
        .default_scopes(SCOPE)
        .build()?;
    server.register_client(client).await?;
    Ok((server, secret))
}

/// Answers one request. Generic over the body type so that tests can call it without a socket.
pub async fn handle<B>(server: &Server<MemoryStorage>, request: Request<B>) -> Response<Full<Bytes>>
where
    B: Body,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    // 1. Read the body, with a limit: grantor takes the request with its body in memory.
    let (parts, body) = request.into_parts();
    let bytes = match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"),
    };
    let request = Request::from_parts(parts, bytes);

    // 2. Route, and let grantor answer.
    let response = match request.uri().path() {
        // grantor checks the method and content type itself.
        "/token" => server.token(&request).await,
        "/api/reports" if request.method() == Method::GET => reports(server, &request).await,
        _ => return plain(StatusCode::NOT_FOUND, "not found"),
    };

    // 3. Hand grantor's response to hyper.
    response.map(|body| Full::new(Bytes::from(body)))
}

/// `GET /api/reports`: needs a token carrying `reports:read`.
async fn reports(server: &Server<MemoryStorage>, request: &Request<Bytes>) -> Response<Vec<u8>> {
    // SCOPE is well-formed, so this never fails; if it did, nothing would be served (never a
    // requirement that takes any token).
    let Ok(requirement) = Requirement::any().scopes(SCOPE) else {
        let mut response = Response::new(Vec::new());
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        return response;
    };
    match server.validate_bearer(request, &requirement).await {
        Ok(grant) => {
            let body = serde_json::json!({
                "client_id": grant.client_id().as_str(),
                "reports": ["2026-q1", "2026-q2"],
            });
            let mut response = Response::new(body.to_string().into_bytes());
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json"),
            );
            grant.insert_scopes_header(response.headers_mut());
            response
        }
        Err(error) => error.into_response(),
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = match std::env::args().skip_while(|a| a != "--addr").nth(1) {
        Some(addr) => addr.parse()?,
        None => "127.0.0.1:8081".parse()?,
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (server, secret) = demo(&base).await?;
    let server = Arc::new(server);

    println!("grantor on hyper, listening on {base}\n");
    println!(
        "Client {CLIENT_ID}, secret {} (shown once)\n",
        secret.secret()
    );
    println!("Get an app token:\n");
    println!(
        "  curl -s -u {CLIENT_ID}:{} -d grant_type=client_credentials -d scope={SCOPE} {base}/token\n",
        secret.secret()
    );
    println!("Call the protected route:\n");
    println!("  curl -s {base}/api/reports -H \"Authorization: Bearer ACCESS_TOKEN\"\n");

    loop {
        let (stream, _) = listener.accept().await?;
        let server = Arc::clone(&server);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let server = Arc::clone(&server);
                async move { Ok::<_, Infallible>(handle(&server, request).await) }
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("connection error: {error}");
            }
        });
    }
}
