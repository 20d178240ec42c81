//! The routes, and the state they share: grantor's endpoints, the host's login and consent
//! pages, a protected API, and the demo client's redirect page.
//!
//! The flow a browser goes through:
//!
//! 1. `GET /authorize?…` — grantor validates the request. The host keeps the validated request
//!    in the user's session and shows the login page (or, when logged in, the consent page).
//! 2. `POST /login` — the host checks the password, then `303`s to `GET /consent?request=…`.
//! 3. `POST /consent` — the host takes the request out of the session (once), and grantor
//!    approves it with the scopes left checked, or denies it. grantor's answer is the `303`
//!    back to the client, with a code or with `error=access_denied`.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, FromRequest, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use grantor::{
    AuthorizationError, AuthorizationRequest, Config, ErrorCode, Requirement, ScopeSet, Server,
    Storage,
};

use super::axum_glue::{Buffered, protected_json, reply};
use super::demo_client;
use super::pages;
use super::sessions::{Session, Sessions};
use super::setup::{DEMO_CLIENT, DEMO_VERIFIER, Setup};
use super::users::Users;

/// The routes' shared state: the grantor server, the users and the browser sessions.
pub struct App<S> {
    /// The authorization server, checking passwords against [`Users`] for the password grant.
    pub server: Arc<Server<S>>,
    /// The users, for the login page.
    pub users: Arc<Users>,
    sessions: Arc<Sessions>,
}

impl<S> Clone for App<S> {
    fn clone(&self) -> Self {
        Self {
            server: Arc::clone(&self.server),
            users: Arc::clone(&self.users),
            sessions: Arc::clone(&self.sessions),
        }
    }
}

impl<S: Storage> App<S> {
    /// A server with this configuration and storage, and the clients and users of `setup`.
    pub async fn new(
        config: Config,
        storage: S,
        setup: &Setup,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        // Host's choice: cookies get `Secure` whenever the server is reached over TLS.
        let secure = config.issuer().starts_with("https://");
        let users = Arc::new(Users::new(&setup.users)?);
        let server = Server::new(config, storage).with_authenticator(Arc::clone(&users));
        for client in setup.clients()? {
            server.register_client(client).await?;
        }
        Ok(Self {
            server: Arc::new(server),
            users,
            sessions: Arc::new(Sessions::new(secure)),
        })
    }
}

/// The routes.
pub fn router<S: Storage>(app: App<S>) -> Router {
    let metadata_path = app.server.metadata_path();
    Router::new()
        // grantor's endpoints: each is one line around one `Server` method.
        .route("/authorize", get(authorize::<S>))
        .route("/token", post(token::<S>))
        .route("/revoke", post(revoke::<S>))
        .route("/introspect", post(introspect::<S>))
        // `/.well-known/oauth-authorization-server`, plus the issuer's path if it has one.
        .route(&metadata_path, get(metadata::<S>))
        // The host's pages around the authorization endpoint.
        .route("/login", post(login::<S>))
        .route("/consent", get(show_consent::<S>).post(answer_consent::<S>))
        // The host's API, protected by grantor's bearer-token check.
        .route("/api/me", get(me::<S>))
        // The demo client's redirect URI (a real client is a separate app).
        .route("/callback", get(callback::<S>))
        .with_state(app)
}

/// `GET /authorize`: grantor validates; the host keeps the request and asks the user.
async fn authorize<S: Storage>(State(app): State<App<S>>, Buffered(request): Buffered) -> Response {
    let pending = match app.server.authorize(&request).await {
        Ok(pending) => pending,
        // The client or its redirect URI cannot be trusted: tell the user, never redirect.
        Err(AuthorizationError::Direct(error)) => {
            let status = match error.code() {
                ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            let message = error.description().unwrap_or(error.code().as_str());
            return pages::error(status, "The application's request is invalid", message);
        }
        // Anything else goes back to the client, as grantor's 303 redirect.
        Err(error) => return reply(error.into_response()),
    };
    let now = app.server.now();
    let (session, new) = match app.sessions.resume(request.headers(), now) {
        Some(session) => (session, false),
        None => (app.sessions.start(now), true),
    };
    let request_id = super::sessions::request_id();
    let page = ask(&session, &pending, &request_id);
    app.sessions.hold(&session, request_id, pending, now);
    if new {
        app.with_cookie(page, &session)
    } else {
        page
    }
}

/// `POST /login`: check the password, then on to the consent page.
async fn login<S: Storage>(State(app): State<App<S>>, checked: CheckedForm) -> Response {
    let CheckedForm { session, form } = checked;
    let now = app.server.now();
    let request_id = form.one("request").unwrap_or_default();
    let held = app.sessions.with_pending(&session, request_id, now, |_| ());
    if held.is_none() {
        return pages::unknown_request();
    }
    let (username, password) = (form.one("username"), form.one("password"));
    // Host's choice: throttle failed logins (per account and per address) in a real deployment.
    let user = match (username, password) {
        (Some(username), Some(password)) => app.users.verify(username, password).await,
        _ => Ok(None),
    };
    match user {
        Ok(Some(user)) => {
            let session = app.sessions.log_in(&session, user, now);
            let target = format!("/consent?{}", query("request", request_id));
            // Post/Redirect/Get: `Redirect::to` answers 303 See Other.
            app.with_cookie(Redirect::to(&target).into_response(), &session)
        }
        Ok(None) => app
            .sessions
            .with_pending(&session, request_id, now, |pending| {
                pages::login(pending, &session.csrf, request_id, true)
            })
            .unwrap_or_else(pages::unknown_request),
        Err(_) => internal_error(),
    }
}

/// `GET /consent?request=…`: the consent page for a request this session holds.
async fn show_consent<S: Storage>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let now = app.server.now();
    let Some(session) = app.sessions.resume(&headers, now) else {
        return pages::session_expired();
    };
    let params = Fields(params.map(|Query(params)| params).unwrap_or_default());
    let request_id = params.one("request").unwrap_or_default();
    app.sessions
        .with_pending(&session, request_id, now, |pending| {
            ask(&session, pending, request_id)
        })
        .unwrap_or_else(pages::unknown_request)
}

/// `POST /consent`: the user's answer. The request leaves the session here, so a second answer
/// (a replayed POST, a double click) finds nothing and no second code is issued.
async fn answer_consent<S: Storage>(State(app): State<App<S>>, checked: CheckedForm) -> Response {
    let CheckedForm { session, form } = checked;
    let now = app.server.now();
    let Some(user) = session.user.clone() else {
        // The consent page is only shown after login, so this form did not come from it.
        return pages::forged_form();
    };
    let approve = match form.one("decision") {
        Some("approve") => true,
        Some("deny") => false,
        _ => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "No decision",
                "Choose Approve or Deny on the consent page.",
            );
        }
    };
    let request_id = form.one("request").unwrap_or_default();
    let Some(pending) = app.sessions.take(&session, request_id, now) else {
        return pages::unknown_request();
    };
    if !approve {
        return reply(app.server.deny(pending));
    }
    // Only the boxes left checked; grantor drops anything that was not requested.
    let granted: ScopeSet = form
        .all("scope")
        .filter_map(|scope| scope.parse().ok())
        .collect();
    match app.server.approve(pending, &user, &granted).await {
        Ok(redirect) => reply(redirect),
        Err(_) => internal_error(),
    }
}

/// `POST /token`: every grant type behind one call.
async fn token<S: Storage>(State(app): State<App<S>>, Buffered(request): Buffered) -> Response {
    reply(app.server.token(&request).await)
}

/// `POST /revoke`: a client revokes a token, e.g. at logout (RFC 7009).
async fn revoke<S: Storage>(State(app): State<App<S>>, Buffered(request): Buffered) -> Response {
    reply(app.server.revoke(&request).await)
}

/// `POST /introspect`: a client or resource server asks whether a token is active (RFC 7662).
async fn introspect<S: Storage>(
    State(app): State<App<S>>,
    Buffered(request): Buffered,
) -> Response {
    reply(app.server.introspect(&request).await)
}

/// `GET /.well-known/oauth-authorization-server`: the server's metadata (RFC 8414).
async fn metadata<S: Storage>(State(app): State<App<S>>, request: Request) -> Response {
    reply(app.server.metadata_response(&request))
}

/// `GET /api/me`: a protected resource. Any valid access token will do; it answers with the
/// user (none for an app token), the client and the granted scopes, also in `X-OAuth-Scopes`.
async fn me<S: Storage>(State(app): State<App<S>>, Buffered(request): Buffered) -> Response {
    // Host's choice: name the scopes a route needs, e.g. `Requirement::user().scopes("profile")`.
    let checked = app
        .server
        .validate_bearer(&request, &Requirement::any())
        .await;
    protected_json(checked, |grant| {
        serde_json::json!({
            "owner": grant.owner().map(|owner| owner.as_str()),
            "client_id": grant.client_id().as_str(),
            "scope": grant.scope().to_string(),
        })
    })
}

/// `GET /callback`: the demo client's page, showing the code and how to exchange it.
async fn callback<S: Storage>(
    State(app): State<App<S>>,
    Query(params): Query<Vec<(String, String)>>,
) -> Html<String> {
    let issuer = app.server.config().issuer();
    demo_client::callback_page(issuer, DEMO_CLIENT, DEMO_VERIFIER, &params)
}

impl<S> App<S> {
    fn with_cookie(&self, mut response: Response, session: &Session) -> Response {
        let cookie = self.sessions.cookie(session);
        response.headers_mut().insert(header::SET_COOKIE, cookie);
        response
    }
}

/// The login page, or the consent page once the user is logged in.
fn ask(session: &Session, request: &AuthorizationRequest, request_id: &str) -> Response {
    match &session.user {
        Some(user) => pages::consent(request, user, &session.csrf, request_id),
        None => pages::login(request, &session.csrf, request_id, false),
    }
}

/// A form POST that passed the checks every form passes first: a live session, a readable
/// form, and the session's CSRF token in it. As an extractor, it refuses the others with a page.
struct CheckedForm {
    session: Session,
    form: Fields,
}

impl<S: Storage> FromRequest<App<S>> for CheckedForm {
    type Rejection = Refused;

    async fn from_request(request: Request, app: &App<S>) -> Result<Self, Refused> {
        let session = app
            .sessions
            .resume(request.headers(), app.server.now())
            .ok_or(Refused::NoSession)?;
        let Form(fields) = Form::<Vec<(String, String)>>::from_request(request, app)
            .await
            .map_err(|_| Refused::Unreadable)?;
        let form = Fields(fields);
        if !session.csrf_matches(form.one("csrf")) {
            return Err(Refused::Forged);
        }
        Ok(Self { session, form })
    }
}

/// Why a form POST was refused before its content was looked at.
enum Refused {
    /// The session is gone (expired, or the browser sent no cookie).
    NoSession,
    /// The body is not a form.
    Unreadable,
    /// The CSRF token is missing or wrong.
    Forged,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Self::NoSession => pages::session_expired(),
            Self::Unreadable => pages::error(
                StatusCode::BAD_REQUEST,
                "The form could not be read",
                "Go back to the application and try again.",
            ),
            Self::Forged => pages::forged_form(),
        }
    }
}

/// Form or query fields.
struct Fields(Vec<(String, String)>);

impl Fields {
    /// The value of a field sent exactly once.
    fn one<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        let mut values = self.all(name);
        let first = values.next();
        values.next().is_none().then_some(first).flatten()
    }

    /// Every value of a repeated field, such as the checked `scope` boxes.
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn query(name: &str, value: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair(name, value)
        .finish()
}

fn internal_error() -> Response {
    pages::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not finish this step. Nothing was shared. Try again later.",
    )
}
