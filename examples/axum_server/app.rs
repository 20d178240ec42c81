//! The routes, and the state they share: grantor's endpoints, the host's login and consent
//! pages, a protected API, and the demo client's redirect page.
//!
//! The flow a browser goes through:
//!
//! 1. `GET /authorize?…` — grantor validates the request, then tells the host what the user must
//!    see ([`Server::interaction`]): the login page (nobody is logged in, or OpenID Connect's
//!    `prompt=login` or `max_age` asks for a fresh login), the consent page, or nothing — when
//!    the user already consented to this client during the session, the request is approved
//!    at once, and `prompt=none` requests that would need a page get an error instead
//!    (`login_required`, `consent_required`). The host keeps a validated request in the user's
//!    session while a page is shown.
//! 2. `POST /login` — the host checks the password and records when the user logged in (the
//!    ID token's `auth_time`), then `303`s to `GET /consent?request=…`, which asks grantor again
//!    and shows the consent page (or approves at once, with remembered consent).
//! 3. `POST /consent` — the host takes the request out of the session (once), and grantor
//!    approves it with the scopes left checked, or denies it. grantor's answer is the `303`
//!    back to the client, with a code or with `error=access_denied`. The consent is remembered
//!    for the session's life.
//!
//! A device without a browser (RFC 8628, `examples/device_cli.rs`) posts to
//! `/device_authorization` and shows the user a code; the user opens `GET /device` (the
//! `verification_uri_complete` pre-fills the code), posts the code, and then goes through the
//! same login and consent pages, the device request held in the session like an authorization
//! request. Approving or denying answers the device's next poll at `/token`.
//!
//! The OpenID Provider's endpoints are one line each: UserInfo (`GET`/`POST /userinfo`), the
//! signing keys (`GET /jwks`), and discovery (`/.well-known/openid-configuration`, the same
//! document as RFC 8414's metadata).

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{
    ConnectInfo, Form, FromRequest, FromRequestParts, Path, Query, Request, State,
};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use grantor::grant::DeviceCodeGrant;
use grantor::oidc::{KeyRing, OpenIdProvider, RotationPolicy};
use grantor::storage::KeyStore;
use grantor::{
    Approval, AuthorizationError, ClientMetadata, Config, DeviceError, ErrorCode, Interaction,
    OwnerId, PROTECTED_RESOURCE_METADATA, RegistrationContext, RegistrationRefusal, Requirement,
    ScopeSet, Server, Storage, Timestamp,
};

use super::axum_glue::{Buffered, protected_json, reply};
use super::demo_client;
use super::pages::{self, LoginReason};
use super::sessions::{Held, Login, Pending, Session, Sessions};
use super::setup::{self, DEMO_CLIENT, DEMO_VERIFIER, Setup};
use super::users::{Users, Verdict};

/// The routes' shared state: the grantor server, the users and the browser sessions.
pub struct App<S> {
    /// The authorization server and OpenID Provider, checking passwords against [`Users`] for
    /// the password grant and reading their claims for UserInfo.
    pub server: Arc<Server<S>>,
    /// The users, for the login page.
    pub users: Users,
    sessions: Arc<Sessions>,
    /// What the consent page says of each scope (the setup's `scope_descriptions`).
    descriptions: Arc<std::collections::HashMap<String, String>>,
}

impl<S> Clone for App<S> {
    fn clone(&self) -> Self {
        Self {
            server: Arc::clone(&self.server),
            users: self.users.clone(),
            sessions: Arc::clone(&self.sessions),
            descriptions: Arc::clone(&self.descriptions),
        }
    }
}

impl<S: Storage> App<S> {
    /// A server with this configuration and storage, the clients and users of `setup`, and
    /// its ID-token signing keys in `keys` (see [`keys`](super::keys)): loaded, or generated
    /// before this returns, so that no request waits for a key.
    pub async fn new(
        config: Config,
        storage: S,
        keys: Arc<dyn KeyStore>,
        setup: &Setup,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        // Host's choice: cookies get `Secure` whenever the server is reached over TLS.
        let secure = config.issuer().starts_with("https://");
        let users = Users::new(&setup.users)?;
        // The OpenID Provider: keys for RS256 and every algorithm a client registered, rotated
        // by grantor (a new key every 90 days, published a day before it signs); the users'
        // claims from the user store.
        let policy = RotationPolicy::new().algorithms(setup.signing_algorithms()?);
        let ring = KeyRing::shared(keys, policy)?;
        ring.maintain(config.clock().now()).await?;
        let provider = OpenIdProvider::builder(ring, users.clone())
            .claims_supported(users.claim_names())
            .build()?;
        let offered = registrable_scopes(&config);
        let exchange = setup.exchange_grant(config.issuer())?;
        let mut server = Server::builder(config, storage)
            .authenticator(users.clone())
            .openid(provider)
            // The device authorization grant (RFC 8628): clients opt in with its grant type.
            .grant(DeviceCodeGrant);
        // Token exchange (RFC 8693), when the file has a policy for it.
        if let Some(grant) = exchange {
            server = server.grant(grant);
        }
        if let Some(policy) = setup.registration.as_ref().and_then(|r| r.policy()) {
            // Host's choice: a client registering itself may have the scopes of the demo's
            // resources and OpenID Connect's; one that names none gets them all.
            let offered = offered.clone();
            server = server.registration(policy.hook(
                move |metadata: &mut ClientMetadata, _: &RegistrationContext<'_>| {
                    if metadata.scope.is_empty() {
                        metadata.scope = offered.clone();
                    } else if !offered.satisfies_all(&metadata.scope) {
                        return Err(RegistrationRefusal::invalid_metadata(
                            "the scope asks for more than this server offers",
                        ));
                    }
                    Ok(())
                },
            ));
        }
        let server = server.build();
        for client in setup.clients(server.config().issuer())? {
            server.register_client(client).await?;
        }
        Ok(Self {
            server: Arc::new(server),
            users,
            sessions: Arc::new(Sessions::new(secure)),
            descriptions: Arc::new(setup.scope_descriptions()),
        })
    }
}

/// The scopes a client registering itself may have: those of the registered resources, and
/// OpenID Connect's.
fn registrable_scopes(config: &Config) -> ScopeSet {
    let mut scopes = ScopeSet::parse("openid profile email").unwrap_or_default();
    for resource in config.resources() {
        scopes = scopes.union(resource.scope());
    }
    scopes
}

/// The routes.
pub fn router<S: Storage>(app: App<S>) -> Router {
    let metadata_path = app.server.metadata_path();
    let discovery_path = app.server.openid_configuration_path();
    Router::new()
        // grantor's endpoints: each is one line around one `Server` method.
        .route("/authorize", get(authorize::<S>))
        .route("/token", post(token::<S>))
        .route("/revoke", post(revoke::<S>))
        .route("/introspect", post(introspect::<S>))
        // Pushed authorization requests (RFC 9126): the client's back-channel `POST`, whose
        // `request_uri` the browser then brings to `/authorize`.
        .route("/par", post(push_authorization_request::<S>))
        // Device authorization (RFC 8628): the device's endpoint, and the user's page.
        .route("/device_authorization", post(device_authorization::<S>))
        .route(
            "/device",
            get(show_device::<S>).post(enter_device_code::<S>),
        )
        // Dynamic client registration (RFC 7591) and each client's configuration (RFC 7592);
        // they answer 403 when the setup does not open registration.
        .route("/register", post(register::<S>))
        .route(
            "/register/{client_id}",
            get(configure::<S>)
                .put(configure::<S>)
                .delete(configure::<S>),
        )
        // `/.well-known/oauth-authorization-server`, plus the issuer's path if it has one.
        .route(&metadata_path, get(metadata::<S>))
        // OpenID Connect: discovery (the same document), UserInfo and the signing keys.
        .route(&discovery_path, get(metadata::<S>))
        .route("/userinfo", get(userinfo::<S>).post(userinfo::<S>))
        .route("/jwks", get(jwks::<S>))
        // The host's pages around the authorization endpoint.
        .route("/login", post(login::<S>))
        .route("/consent", get(show_consent::<S>).post(answer_consent::<S>))
        // The host's API, protected by grantor's bearer-token check, and the metadata of the
        // protected resources (RFC 9728) that a 401 from it points to.
        .route("/api/me", get(me::<S>))
        .route(PROTECTED_RESOURCE_METADATA, get(resource_metadata::<S>))
        .route(
            &format!("{PROTECTED_RESOURCE_METADATA}/{{*path}}"),
            get(resource_metadata::<S>),
        )
        // The demo client's redirect URI (a real client is a separate app).
        .route("/callback", get(callback::<S>))
        .with_state(app)
}

/// The router with one log line per request on standard output: method, path, status and
/// latency. Never the query string, which can hold authorization codes, `state` and other
/// values that do not belong in logs. Host's choice: `tower_http::trace::TraceLayer` and a
/// `tracing` subscriber do the same with spans (grantor's own spans carry the endpoint, the
/// client and the outcome, target `grantor`).
pub fn with_request_log(router: Router) -> Router {
    router.layer(axum::middleware::from_fn(log_request))
}

async fn log_request(request: Request, next: axum::middleware::Next) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    println!(
        "{}",
        request_line(&method, &uri, response.status(), started.elapsed())
    );
    response
}

/// One request's log line: `GET /authorize 200 1.234ms`, the path without its query.
pub fn request_line(
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    status: StatusCode,
    elapsed: std::time::Duration,
) -> String {
    let millis = elapsed.as_secs_f64() * 1000.0;
    format!("{method} {} {} {millis:.3}ms", uri.path(), status.as_u16())
}

/// `GET /authorize`: grantor validates, and says whether the user must see a page; the host
/// keeps the request while they do.
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
    let session = app.sessions.resume(request.headers(), now);
    let login = session.as_ref().and_then(|session| session.login.as_ref());
    match app.next_step(Held::new(pending, now), login).await {
        Step::Done(response) => response,
        Step::Show(ask, held) => match session {
            Some(session) => app.show(ask, *held, &session, now),
            // A session only when there is a page to show.
            None => {
                let session = app.sessions.start(now);
                let page = app.show(ask, *held, &session, now);
                app.with_cookie(page, &session)
            }
        },
    }
}

/// `POST /login`: check the password, then on to whatever the request needs next. The check
/// is throttled per account and per caller address, and at most a few password hashes run at
/// once (see [`users`](super::users)): a refused attempt shows the login page again with "try
/// again later" (`429`) and costs no hash.
async fn login<S: Storage>(
    State(app): State<App<S>>,
    Caller(caller): Caller,
    checked: CheckedForm,
) -> Response {
    let CheckedForm { session, form } = checked;
    let now = app.server.now();
    let request_id = form.one("request").unwrap_or_default();
    let Some(held) = app.sessions.take(&session, request_id, now) else {
        return pages::unknown_request();
    };
    let (username, password) = (form.one("username"), form.one("password"));
    let verdict = match (username, password) {
        (Some(username), Some(password)) => {
            app.users
                .check(username, password, Some(&caller), now)
                .await
        }
        _ => Ok(Verdict::Invalid),
    };
    match verdict {
        Ok(Verdict::Valid(user)) => {
            let target = format!("/consent?{}", query("request", &held.id));
            let session = app.sessions.log_in(&session, user, now);
            app.sessions.put_back(&session, held, now);
            // Post/Redirect/Get: `Redirect::to` answers 303 See Other.
            app.with_cookie(Redirect::to(&target).into_response(), &session)
        }
        Ok(Verdict::Invalid) => app.show(Ask::Login(LoginReason::Failed), held, &session, now),
        Ok(Verdict::TryLater) => {
            let mut page = app.show(Ask::Login(LoginReason::TryLater), held, &session, now);
            *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            page
        }
        Err(_) => {
            app.sessions.put_back(&session, held, now);
            internal_error()
        }
    }
}

/// `GET /consent?request=…`: the page a request this session holds needs now (the consent
/// page, or the login page again), or grantor's answer when it needs none.
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
    let Some(held) = app.sessions.take(&session, request_id, now) else {
        return pages::unknown_request();
    };
    match app.next_step(held, session.login.as_ref()).await {
        Step::Done(response) => response,
        Step::Show(ask, held) => app.show(ask, *held, &session, now),
    }
}

/// `POST /consent`: the user's answer. The request leaves the session here, so a second answer
/// (a replayed POST, a double click) finds nothing and no second code is issued.
async fn answer_consent<S: Storage>(State(app): State<App<S>>, checked: CheckedForm) -> Response {
    let CheckedForm { session, form } = checked;
    let now = app.server.now();
    let Some(login) = session.login.clone() else {
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
    let Some(Held { request, .. }) = app.sessions.take(&session, request_id, now) else {
        return pages::unknown_request();
    };
    // Only the boxes left checked, and only what was requested.
    let checked: ScopeSet = form
        .all("scope")
        .filter_map(|scope| scope.parse().ok())
        .collect();
    let request = match request {
        Pending::Code(request) => request,
        Pending::Device(request) => {
            return app.answer_device(request, &login, approve, &checked).await;
        }
    };
    if !approve {
        return reply(app.server.deny(request));
    }
    let granted = checked.restricted_to(request.scope());
    // Remembered for the session's life, once the approval succeeds: this client's next
    // requests for no more than this skip the consent page.
    let remember = Some(session.expires_at);
    app.approve(request, &login, granted, remember).await
}

/// What an authorization request needs next.
enum Step {
    /// Nothing more from the user: the request is answered (grantor's redirect to the client,
    /// or an error page).
    Done(Response),
    /// The user must see a page first; the request waits in the session meanwhile (boxed:
    /// a pending request is large).
    Show(Ask, Box<Held>),
}

/// The page to show.
enum Ask {
    /// The login page.
    Login(LoginReason),
    /// The consent page, for this logged-in user.
    Consent(OwnerId),
}

impl<S: Storage> App<S> {
    /// Asks grantor what `held` needs given who is logged in (C-OI-3), and answers it when it
    /// needs nothing: `prompt=none` requests that would need a page are refused, and requests
    /// that remembered consent covers are approved.
    async fn next_step(&self, held: Held, login: Option<&Login>) -> Step {
        let request = match &held.request {
            Pending::Code(request) => request,
            // A device request always shows the consent page, remembered consent or not: the
            // user confirms that the device in front of them is the one asking (RFC 8628 §5.4).
            Pending::Device(_) => {
                return match login {
                    Some(login) => Step::Show(Ask::Consent(login.user.clone()), Box::new(held)),
                    None => Step::Show(Ask::Login(LoginReason::NoLogin), Box::new(held)),
                };
            }
        };
        let who = login.map(|login| (&login.user, login.at));
        let interaction = match self.server.interaction(request, who).await {
            Ok(interaction) => interaction,
            Err(_) => return Step::Done(internal_error()),
        };
        match (interaction, login) {
            // `prompt=none`: never a page, the error goes back to the client.
            (Interaction::Refuse(error), _) => match held.request {
                Pending::Code(request) => Step::Done(reply(self.server.reject(request, error))),
                Pending::Device(_) => Step::Done(internal_error()),
            },
            (Interaction::Ready, Some(login)) => self.approve_remembered(held, login).await,
            (Interaction::Consent, Some(login)) => {
                Step::Show(Ask::Consent(login.user.clone()), Box::new(held))
            }
            (_, None) => Step::Show(Ask::Login(LoginReason::NoLogin), Box::new(held)),
            // A fresh login (`prompt=login`, `max_age`) or another account (`id_token_hint`,
            // `prompt=select_account`): the login page lets the user log in as they choose.
            (_, Some(_)) => Step::Show(Ask::Login(LoginReason::Again), Box::new(held)),
        }
    }

    /// Approves a request that the user's remembered consent covers, with the requested
    /// scopes that consent covers, without showing a page.
    async fn approve_remembered(&self, held: Held, login: &Login) -> Step {
        let client_id = held.request.client().id();
        let remembered = match self.server.consent(&login.user, client_id).await {
            Ok(Some(consent)) => consent.scope,
            // Expired since grantor looked: ask again.
            Ok(None) => return Step::Show(Ask::Consent(login.user.clone()), Box::new(held)),
            Err(_) => return Step::Done(internal_error()),
        };
        let granted = held.request.scope().restricted_to(&remembered);
        match held.request {
            Pending::Code(request) => Step::Done(self.approve(request, login, granted, None).await),
            Pending::Device(_) => Step::Show(Ask::Consent(login.user.clone()), Box::new(held)),
        }
    }

    /// Answers a device request from the consent page: grantor records the answer, which the
    /// device's next poll gets; the page tells the user.
    async fn answer_device(
        &self,
        request: grantor::DeviceRequest,
        login: &Login,
        approve: bool,
        checked: &ScopeSet,
    ) -> Response {
        let client = request.client().name().to_owned();
        let answered = if approve {
            let granted = checked.restricted_to(request.scope());
            self.server
                .approve_device(request, &login.user, &granted)
                .await
        } else {
            self.server.deny_device(request).await
        };
        match answered {
            Ok(()) => pages::device_answered(approve, &client),
            Err(DeviceError::NothingGranted) => pages::error(
                StatusCode::BAD_REQUEST,
                "Nothing was checked",
                "Enter the code again and check what the device may access, or deny it.",
            ),
            Err(DeviceError::Internal(_)) => internal_error(),
            Err(_) => pages::unknown_request(),
        }
    }

    /// Approves a request for the logged-in user: grantor's redirect with the code (or
    /// `login_required`, when the login has grown too old for the request meanwhile).
    async fn approve(
        &self,
        request: grantor::AuthorizationRequest,
        login: &Login,
        granted: ScopeSet,
        remember_until: Option<Timestamp>,
    ) -> Response {
        // The consent page was shown exactly when the consent is to be remembered now.
        let mut approval = Approval::new(login.user.clone(), granted)
            .authenticated_at(login.at)
            .amr(["pwd"])
            .consent_shown(remember_until.is_some());
        if let Some(until) = remember_until {
            approval = approval.remember_consent(Some(until));
        }
        match self.server.approve_with(request, approval).await {
            Ok(redirect) => reply(redirect),
            Err(_) => internal_error(),
        }
    }
}

/// `POST /token`: every grant type behind one call.
async fn token<S: Storage>(State(app): State<App<S>>, Buffered(request): Buffered) -> Response {
    reply(app.server.token(&request).await)
}

/// `POST /device_authorization`: a device asks for a device code and a user code (RFC 8628).
async fn device_authorization<S: Storage>(
    State(app): State<App<S>>,
    Buffered(request): Buffered,
) -> Response {
    reply(app.server.device_authorization(&request).await)
}

/// `GET /device?user_code=…`: the verification page, the code pre-filled when the device's
/// `verification_uri_complete` was opened. It starts a session (for the form's CSRF token).
async fn show_device<S: Storage>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let now = app.server.now();
    let params = Fields(params.map(|Query(params)| params).unwrap_or_default());
    let user_code = params.one("user_code").unwrap_or_default();
    match app.sessions.resume(&headers, now) {
        Some(session) => pages::device(user_code, &session.csrf, None),
        None => {
            let session = app.sessions.start(now);
            app.with_cookie(pages::device(user_code, &session.csrf, None), &session)
        }
    }
}

/// `POST /device`: the user entered a code. grantor finds the pending device request (wrong
/// codes are counted per caller address, C-DV-3), which then waits in the session through the
/// login and consent pages, as an authorization request does.
async fn enter_device_code<S: Storage>(
    State(app): State<App<S>>,
    Caller(caller): Caller,
    checked: CheckedForm,
) -> Response {
    let CheckedForm { session, form } = checked;
    let now = app.server.now();
    let entered = form.one("user_code").unwrap_or_default();
    let request = match app.server.device_request(entered, &caller).await {
        Ok(request) => request,
        Err(DeviceError::Internal(_)) => return internal_error(),
        Err(error) => {
            return pages::device(entered, &session.csrf, Some(&error.to_string()));
        }
    };
    let held = Held::device(request, now);
    match app.next_step(held, session.login.as_ref()).await {
        Step::Done(response) => response,
        Step::Show(ask, held) => app.show(ask, *held, &session, now),
    }
}

/// The caller's address, which wrong user codes are counted by: an IPv4 address, or an IPv6
/// address's /64 (one subscriber usually holds a whole /64, so counting single IPv6 addresses
/// would give them 2⁶⁴ counts); `unknown` when the server was not started with connection info.
/// Host's choice: behind a reverse proxy every caller has the proxy's address, so they would
/// share one count: take the client's address from the proxy's header (`X-Forwarded-For`,
/// checked against your proxy) instead. The server's own budget bounds guessing whatever the
/// keys (`ConfigBuilder::device_user_code_budget`).
struct Caller(String);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let address = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|ConnectInfo(address)| match address.ip() {
                std::net::IpAddr::V4(ip) => ip.to_string(),
                std::net::IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
                    // An IPv4 caller of a dual-stack listener.
                    Some(v4) => v4.to_string(),
                    None => {
                        let [a, b, c, d, ..] = ip.segments();
                        format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
                    }
                },
            });
        Ok(Self(address.unwrap_or_else(|| "unknown".to_owned())))
    }
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

/// `POST /par`: a client pushes its authorization request and gets the `request_uri` to send
/// the browser to `/authorize` with (RFC 9126).
async fn push_authorization_request<S: Storage>(
    State(app): State<App<S>>,
    Buffered(request): Buffered,
) -> Response {
    reply(app.server.push_authorization_request(&request).await)
}

/// `GET /.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`: the
/// server's metadata (RFC 8414, OpenID Connect Discovery).
async fn metadata<S: Storage>(State(app): State<App<S>>, request: Request) -> Response {
    reply(app.server.metadata_response(&request))
}

/// `GET` or `POST /userinfo`: the claims about the user of an access token holding `openid`,
/// those its scopes allow (OpenID Connect Core §5.3).
async fn userinfo<S: Storage>(State(app): State<App<S>>, Buffered(request): Buffered) -> Response {
    reply(app.server.userinfo(&request).await)
}

/// `GET /jwks`: the public keys ID tokens are verified with.
async fn jwks<S: Storage>(State(app): State<App<S>>, Buffered(request): Buffered) -> Response {
    reply(app.server.jwks_response(&request).await)
}

/// `GET /api/me`: a protected resource, whose identifier is its URL (the issuer plus
/// `/api/me`). Any valid access token issued for it will do (the default resource, so also one
/// whose request named no resource); it answers with the user (none for an app token), the
/// client and the granted scopes, also in `X-OAuth-Scopes`. A `401` names the resource's
/// metadata (`resource_metadata`, RFC 9728), where a client learns which server issues its
/// tokens.
async fn me<S: Storage>(State(app): State<App<S>>, Buffered(request): Buffered) -> Response {
    // Host's choice: name the scopes a route needs, e.g. `Requirement::user().scopes("profile")`.
    let resource = setup::absolute(setup::API_ME, app.server.config().issuer());
    let requirement = Requirement::any().resource(&resource);
    let checked = app.server.validate_bearer(&request, &requirement).await;
    protected_json(checked, |grant| {
        serde_json::json!({
            "owner": grant.owner().map(|owner| owner.as_str()),
            "client_id": grant.client_id().as_str(),
            "scope": grant.scope().to_string(),
        })
    })
}

/// `POST /register`: a client registers itself (RFC 7591).
async fn register<S: Storage>(State(app): State<App<S>>, Buffered(request): Buffered) -> Response {
    reply(app.server.register(&request).await)
}

/// `GET`, `PUT` or `DELETE /register/{client_id}`: a registered client reads, replaces or
/// deletes its registration with its registration access token (RFC 7592).
async fn configure<S: Storage>(
    State(app): State<App<S>>,
    Path(client_id): Path<String>,
    Buffered(request): Buffered,
) -> Response {
    reply(app.server.client_configuration(&request, &client_id).await)
}

/// `GET /.well-known/oauth-protected-resource/…`: a registered resource's metadata.
async fn resource_metadata<S: Storage>(
    State(app): State<App<S>>,
    Buffered(request): Buffered,
) -> Response {
    reply(app.server.resource_metadata_response(&request))
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
    /// Renders the page `ask` names for `held`, and keeps the request in the session until
    /// the page's form comes back.
    fn show(&self, ask: Ask, held: Held, session: &Session, now: Timestamp) -> Response {
        let page = match &ask {
            Ask::Login(reason) => pages::login(&held.request, &session.csrf, &held.id, *reason),
            Ask::Consent(user) => pages::consent(
                &held.request,
                user,
                &session.csrf,
                &held.id,
                &self.descriptions,
            ),
        };
        self.sessions.put_back(session, held, now);
        page
    }

    fn with_cookie(&self, mut response: Response, session: &Session) -> Response {
        let cookie = self.sessions.cookie(session);
        response.headers_mut().insert(header::SET_COOKIE, cookie);
        response
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
