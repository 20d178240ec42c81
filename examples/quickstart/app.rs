//! The quickstart's routes: how a host wires grantor into axum. The end-to-end test runs this
//! same router.

#[path = "../support/axum_glue.rs"]
mod axum_glue;
#[path = "../support/demo_client.rs"]
mod demo_client;
#[path = "../support/html.rs"]
mod html;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use grantor::{
    AuthorizationRequest, Client, Config, MemoryStorage, OwnerId, Requirement, ScopeSet, Server,
};

use axum_glue::{Buffered, protected_json, reply};
use html::escape;

/// The demo client's id.
pub const CLIENT_ID: &str = "quickstart-app";
/// The demo user, logged in automatically (a real host shows its login page here).
pub const DEMO_USER: &str = "alice";
/// The demo client's PKCE verifier. A real client makes a fresh random one per request.
pub const VERIFIER: &str = "quickstart-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";

/// The server and what the demo needs to explain itself.
#[derive(Clone)]
pub struct Demo {
    server: Arc<Server<MemoryStorage>>,
    base: String,
}

impl Demo {
    /// A server whose issuer is `base` (e.g. `http://127.0.0.1:8080`), with the demo client.
    pub async fn new(base: &str) -> Result<Self, grantor::Error> {
        let config = Config::builder(base).build()?;
        let server = Server::new(config, MemoryStorage::new());
        let client = Client::public(CLIENT_ID)
            .name("Quickstart Demo App")
            .redirect_uri(format!("{base}/callback"))
            .allowed_scopes("profile messages")
            .default_scopes("profile")
            .build()?;
        server.register_client(client).await?;
        Ok(Self {
            server: Arc::new(server),
            base: base.to_owned(),
        })
    }

    /// The authorization server, for steps a host runs in-process.
    pub fn server(&self) -> &Server<MemoryStorage> {
        &self.server
    }

    /// Where the demo client sends the browser to start the flow.
    pub fn authorization_url(&self) -> String {
        demo_client::authorization_url(&self.base, CLIENT_ID, "profile messages", VERIFIER)
    }
}

/// The routes: the OAuth endpoints (authorization, token, revocation, introspection and the
/// metadata document clients discover them from), the demo client's callback and a protected API.
pub fn router(demo: Demo) -> Router {
    Router::new()
        .route("/authorize", get(authorize).post(consent))
        .route("/token", axum::routing::post(token))
        .route("/revoke", axum::routing::post(revoke))
        .route("/introspect", axum::routing::post(introspect))
        .route(&demo.server.metadata_path(), get(metadata))
        .route("/callback", get(callback))
        .route("/api/me", get(me))
        .with_state(demo)
}

/// `GET /authorize`: validate, then show the consent page (the demo user is already "logged in").
/// A request that already carries the form's own fields (`decision`, `granted`) is refused:
/// only the user answers the consent form.
async fn authorize(State(demo): State<Demo>, Buffered(request): Buffered) -> Response {
    match demo.server.authorize(&request).await {
        Ok(pending)
            if FORM_FIELDS
                .iter()
                .any(|f| pending.extras().iter().any(|(n, _)| n == f)) =>
        {
            let error = grantor::OAuthError::invalid_request("the request answers its own consent");
            reply(demo.server.reject(pending, error))
        }
        Ok(pending) => consent_page(&pending, request.uri().query().unwrap_or("")),
        Err(error) => reply(error.into_response()),
    }
}

/// `POST /authorize`: the consent form comes back with the original parameters; validate them
/// again, then approve with the scopes left checked, or deny.
///
/// The quickstart has no login and no CSRF token, so any page could post this form for the
/// auto-logged-in demo user: never expose it beyond localhost. `examples/axum_server` shows the
/// real thing (login, session cookie, CSRF token, server-side pending requests).
async fn consent(State(demo): State<Demo>, Buffered(request): Buffered) -> Response {
    let pending = match demo.server.authorize(&request).await {
        Ok(pending) => pending,
        Err(error) => return reply(error.into_response()),
    };
    // A decision sent twice (one from the client's own query, say) is no decision: deny.
    if pending.extra("decision") != Ok(Some("approve")) {
        return reply(demo.server.deny(pending));
    }
    let granted: ScopeSet = pending
        .extras()
        .iter()
        .filter(|(name, _)| name == "granted")
        .filter_map(|(_, scope)| scope.parse().ok())
        .collect();
    match demo
        .server
        .approve(pending, &OwnerId::new(DEMO_USER), &granted)
        .await
    {
        Ok(response) => reply(response),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `POST /token`: every grant type behind one call.
async fn token(State(demo): State<Demo>, Buffered(request): Buffered) -> Response {
    reply(demo.server.token(&request).await)
}

/// `POST /revoke`: a client revokes a token, e.g. at logout (RFC 7009).
async fn revoke(State(demo): State<Demo>, Buffered(request): Buffered) -> Response {
    reply(demo.server.revoke(&request).await)
}

/// `POST /introspect`: a client or resource server asks about a token (RFC 7662).
async fn introspect(State(demo): State<Demo>, Buffered(request): Buffered) -> Response {
    reply(demo.server.introspect(&request).await)
}

/// `GET /.well-known/oauth-authorization-server`: the server's metadata (RFC 8414).
async fn metadata(State(demo): State<Demo>, request: axum::extract::Request) -> Response {
    reply(demo.server.metadata_response(&request))
}

/// `GET /api/me`: a protected route that needs a user token with `profile`.
async fn me(State(demo): State<Demo>, Buffered(request): Buffered) -> Response {
    // "profile" is a well-formed scope, so this never fails; if it did, nothing would be
    // served (never a requirement that takes any token).
    let Ok(requirement) = Requirement::user().scopes("profile") else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let checked = demo.server.validate_bearer(&request, &requirement).await;
    protected_json(checked, |grant| {
        serde_json::json!({
            "owner": grant.owner().map(OwnerId::as_str),
            "client_id": grant.client_id().as_str(),
            "scope": grant.scope().to_string(),
        })
    })
}

/// `GET /callback`: the demo client's redirect URI. It shows what the client does next.
async fn callback(
    State(demo): State<Demo>,
    Query(params): Query<Vec<(String, String)>>,
) -> Html<String> {
    demo_client::callback_page(&demo.base, CLIENT_ID, VERIFIER, &params)
}

/// The consent form's own fields: only the user's clicks set them. The client's parameters are
/// carried back as hidden fields, but never under these names, or a client could answer its
/// own consent by adding `decision=approve&granted=…` to its authorization URL.
const FORM_FIELDS: [&str; 2] = ["decision", "granted"];

fn consent_page(pending: &AuthorizationRequest, query: &str) -> Response {
    let hidden: String = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| !FORM_FIELDS.contains(&name.as_ref()))
        .map(|(name, value)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                escape(&name),
                escape(&value)
            )
        })
        .collect();
    let scopes: String = pending
        .scope()
        .iter()
        .map(|scope| {
            format!(
                r#"<label><input type="checkbox" name="granted" value="{0}" checked> {0}</label><br>"#,
                escape(scope.as_str())
            )
        })
        .collect();
    let page = format!(
        "<!doctype html><title>Authorize</title>\
         <h1>{name} wants access to your account</h1>\
         <p>Signed in as <b>{DEMO_USER}</b>.</p>\
         <form method=\"post\" action=\"/authorize\">{hidden}{scopes}\
         <button name=\"decision\" value=\"approve\">Approve</button>\
         <button name=\"decision\" value=\"deny\">Deny</button></form>",
        name = escape(pending.client().name()),
    );
    let mut response = Html(page).into_response();
    response.headers_mut().insert(
        header::X_FRAME_OPTIONS,
        header::HeaderValue::from_static("DENY"),
    );
    response
}
