//! grantor in actix-web through the `actix` feature: the authorization code flow with PKCE end
//! to end, with one public demo client and one demo user who is always logged in and approves
//! whatever is asked (a real host shows its login and consent pages in [`authorize`]; see
//! `examples/axum_server`). Never expose it beyond localhost.
//!
//! ```sh
//! cargo run --example actix_server --features actix            # listens on 127.0.0.1:8081
//! cargo run --example actix_server --features actix -- --addr 127.0.0.1:9000
//! ```

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};
use grantor::integration::actix::{Buffered, Require, endpoints, reply};
use grantor::integration::{Authorized, RequirementSpec};
use grantor::{
    AccessGrant, Client, CodeChallenge, Config, MemoryStorage, OwnerId, Requirement, ScopeError,
    Server,
};

/// The demo client's id.
pub const CLIENT_ID: &str = "actix-demo";
/// The demo user, logged in automatically.
pub const DEMO_USER: &str = "alice";
/// The demo client's PKCE verifier. A real client makes a fresh random one per request.
pub const VERIFIER: &str = "actix-demo-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";

/// The authorization server.
pub type Auth = Arc<Server<MemoryStorage>>;

/// A server whose issuer is `base` (e.g. `http://127.0.0.1:8081`), with the demo client.
pub async fn server(base: &str) -> Result<Auth, grantor::Error> {
    let server = Server::new(Config::builder(base).build()?, MemoryStorage::new());
    let client = Client::public(CLIENT_ID)
        .name("actix-web Demo App")
        .redirect_uri(format!("{base}/callback"))
        .allowed_scopes("profile messages")
        .default_scopes("profile")
        .build()?;
    server.register_client(client).await?;
    Ok(Arc::new(server))
}

/// Where the demo client sends the browser to start the flow.
pub fn authorization_url(base: &str, scope: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("scope", scope)
        .append_pair("state", "demo-state")
        .append_pair("code_challenge", CodeChallenge::s256(VERIFIER).value())
        .append_pair("code_challenge_method", "S256")
        .finish();
    format!("{base}/authorize?{query}")
}

/// The routes: grantor's endpoints, the authorization endpoint, the demo client's callback,
/// `/api/me` (guarded by the extractor) and `/api/messages/…` (guarded by the middleware).
pub fn routes(auth: Auth, base: String) -> impl Fn(&mut web::ServiceConfig) + Clone + 'static {
    let mount = endpoints(Arc::clone(&auth));
    move |config: &mut web::ServiceConfig| {
        // "messages" is a well-formed scope: this never fails (and if it did, nothing would be
        // served under /api/messages, never a scope open to any token).
        let messages = Requirement::user().scopes("messages");
        config
            .app_data(web::Data::new(Arc::clone(&auth)))
            .app_data(web::Data::new(base.clone()))
            .configure(mount.clone())
            .route("/authorize", web::get().to(authorize))
            .route("/callback", web::get().to(callback))
            .route("/api/me", web::get().to(me));
        if let Ok(messages) = messages {
            config.service(
                web::scope("/api/messages")
                    .wrap(Require::new(Arc::clone(&auth), messages))
                    .route("", web::get().to(inbox)),
            );
        }
    }
}

/// `GET /authorize`: validate; the demo user approves everything asked at once. A real host
/// keeps `pending` in the session and shows its login and consent pages here.
async fn authorize(auth: web::Data<Auth>, Buffered(request): Buffered) -> HttpResponse {
    let pending = match auth.authorize(&request).await {
        Ok(pending) => pending,
        Err(error) => return reply(error.into_response()),
    };
    let granted = pending.scope().clone();
    match auth
        .approve(pending, &OwnerId::new(DEMO_USER), &granted)
        .await
    {
        Ok(redirect) => reply(redirect),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

/// `GET /callback`: the demo client's redirect URI; it shows the code and the commands that
/// exchange it (within 60 s) and call the API.
async fn callback(
    base: web::Data<String>,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let get = |name: &str| {
        query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let Some(code) = get("code") else {
        let error = get("error").unwrap_or_default();
        return HttpResponse::BadRequest().body(format!("authorization failed: {error}\n"));
    };
    let base = base.as_str();
    HttpResponse::Ok().content_type("text/plain").body(format!(
        "code: {code} (expires in 60 s)\n\n\
         curl -s {base}/token -d grant_type=authorization_code -d code={code} \\\n  \
         -d client_id={CLIENT_ID} -d redirect_uri={base}/callback -d code_verifier={VERIFIER}\n\n\
         curl -s {base}/api/me -H \"Authorization: Bearer $ACCESS_TOKEN\"\n"
    ))
}

/// What `/api/me` asks of a token: a user's, holding `profile`.
pub struct Profile;

impl RequirementSpec for Profile {
    fn requirement() -> Result<Requirement, ScopeError> {
        Requirement::user().scopes("profile")
    }
}

/// `GET /api/me`: guarded by the extractor.
async fn me(grant: Authorized<Profile>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "owner": grant.owner().map(OwnerId::as_str),
        "client_id": grant.client_id().as_str(),
        "scope": grant.scope().to_string(),
    }))
}

/// `GET /api/messages`: guarded by the middleware, which hands over the grant.
async fn inbox(grant: web::ReqData<AccessGrant>) -> HttpResponse {
    let owner = grant.owner().map(OwnerId::as_str).unwrap_or_default();
    HttpResponse::Ok().json(serde_json::json!({ "owner": owner, "messages": [] }))
}

fn main() -> std::io::Result<()> {
    actix_web::rt::System::new().block_on(run())
}

async fn run() -> std::io::Result<()> {
    let addr = std::env::args()
        .skip_while(|a| a != "--addr")
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".to_owned());
    let listener = TcpListener::bind(addr)?;
    let base = format!("http://{}", listener.local_addr()?);
    let auth = server(&base).await.map_err(std::io::Error::other)?;
    println!("grantor on actix-web listening on {base} (storage: memory)\n");
    println!("Demo client: {CLIENT_ID} (public, PKCE S256), redirect URI {base}/callback");
    println!("Demo user:   {DEMO_USER} (logged in, approves everything)\n");
    println!("Open {}\n", authorization_url(&base, "profile messages"));
    println!("Metadata: {base}{}", auth.metadata_path());
    let routes = routes(auth, base);
    HttpServer::new(move || App::new().configure(routes.clone()))
        .listen(listener)?
        .run()
        .await
}
