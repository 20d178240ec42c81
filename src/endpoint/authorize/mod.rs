//! The authorization endpoint (RFC 6749 §3.1, §4.1.1, §4.2.1; OpenID Connect Core §3).
//!
//! [`Server::authorize`](crate::Server::authorize) validates a request into an
//! [`AuthorizationRequest`], or fails with an [`AuthorizationError`]. The checks run in the order
//! the RFC requires: first everything that decides whether the redirect URI can be trusted
//! (client, redirect URI), and only then the rest, whose errors go back to the client through
//! the redirect, in the request's response mode. The host asks
//! [`Server::interaction`](crate::Server::interaction) what to show (login, consent, nothing),
//! shows it, then calls [`Server::approve_with`](crate::Server::approve_with) (or
//! [`approve`](crate::Server::approve)), [`deny`](crate::Server::deny) or
//! [`reject`](crate::Server::reject), each of which consumes the request, so that it is
//! answered once.
//!
//! A pending request can be [saved](AuthorizationRequest::save) into a serializable
//! [`SavedAuthorization`] (for a session store a fleet shares) and
//! [resumed](crate::Server::resume) on any instance, which checks it against the client's
//! current registration.
//!
//! The response types are `code`, `token` and, on an OpenID Provider, `id_token` alone or with
//! the others ([`ResponseType`]); `response` delivers them in the query, the fragment or an
//! auto-posting form; `openid` reads the OpenID Connect parameters.

pub(crate) mod openid;
pub(crate) mod response;

use http::{Method, Request, Response};
use serde::{Deserialize, Serialize};

use crate::audit::{AuditEvent, AuditKind};
use crate::authenticator::OwnerId;
use crate::client::ClientId;
use crate::client::{Client, GrantType, ResponseType};
use crate::endpoint::{error_json, par};
use crate::error::{Error, ErrorCode, ErrorContext, OAuthError};
use crate::form::Params;
use crate::grant::Issue;
use crate::pkce::{ChallengeMethod, CodeChallenge};
use crate::scope::{OFFLINE_ACCESS, OPENID, ScopeSet};
use crate::server::Server;
use crate::storage::{CodeRecord, Consent, ConsentStore, GrantId, OpenIdContext, Storage};
use crate::time::Timestamp;
use crate::token::AuthorizationCode;

pub use openid::{OpenIdRequest, Prompt};
pub use response::ResponseMode;
use response::{Delivery, Responder};

/// Whether the authorization endpoint interprets a parameter; all others are passed to the host.
fn is_known(name: &str, openid: bool) -> bool {
    matches!(
        name,
        "response_type"
            | "response_mode"
            | "client_id"
            | "redirect_uri"
            | "scope"
            | "state"
            | "code_challenge"
            | "code_challenge_method"
            | "resource"
            | "dpop_jkt"
    ) || (openid && openid::PARAMETERS.contains(&name))
}

/// A validated authorization request, waiting for the resource owner's decision.
///
/// Only a value of this type can be approved or denied, and answering it consumes it. Keep it
/// server-side (for example in the user's session) while the login and consent pages are
/// shown — as it is, or [saved](Self::save) in a shared session store — or validate the
/// original request again when the consent form comes back.
///
/// ```compile_fail
/// # async fn answer(server: grantor::Server<grantor::MemoryStorage>, pending: grantor::AuthorizationRequest) {
/// let denied = server.deny(pending);
/// let again = server.deny(pending); // answered already: `pending` was moved
/// # }
/// ```
#[derive(Debug)]
pub struct AuthorizationRequest {
    client: Client,
    response_type: ResponseType,
    response_mode: ResponseMode,
    redirect_uri: String,
    redirect_uri_sent: bool,
    requested_scope: Option<ScopeSet>,
    scope: ScopeSet,
    resources: Vec<String>,
    state: Option<String>,
    challenge: Option<CodeChallenge>,
    dpop_jkt: Option<String>,
    openid: Option<OpenIdRequest>,
    received_at: Timestamp,
    extra: Vec<(String, String)>,
}

impl AuthorizationRequest {
    /// The client asking for access (its name is for the consent page).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// What the client asked for: a code, tokens, or both.
    pub fn response_type(&self) -> ResponseType {
        self.response_type
    }

    /// How the answer reaches the client.
    pub fn response_mode(&self) -> ResponseMode {
        self.response_mode
    }

    /// The redirect URI the response will go to.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The scope to ask the owner about: the requested scope, or the client's default scope
    /// when the request named none.
    pub fn scope(&self) -> &ScopeSet {
        &self.scope
    }

    /// The resources the tokens will be for (RFC 8707): those the request named, or the
    /// configured default. For the consent page.
    pub fn resources(&self) -> &[String] {
        &self.resources
    }

    /// The `state` the client sent, echoed in the response.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// The PKCE challenge the code will be bound to.
    pub fn code_challenge(&self) -> Option<&CodeChallenge> {
        self.challenge.as_ref()
    }

    /// The thumbprint of the DPoP key the code will be bound to (`dpop_jkt`, RFC 9449 §10).
    pub fn dpop_jkt(&self) -> Option<&str> {
        self.dpop_jkt.as_deref()
    }

    /// The OpenID Connect parameters, when the server is an OpenID Provider and the scope
    /// holds `openid`.
    pub fn openid(&self) -> Option<&OpenIdRequest> {
        self.openid.as_ref()
    }

    /// When the request arrived: a login at or after it is a fresh one (`prompt=login`).
    pub fn received_at(&self) -> Timestamp {
        self.received_at
    }

    /// A parameter grantor does not interpret (e.g. App.net's `adnview=appstore`), untouched:
    /// `None` when absent or empty, `invalid_request` when the request carries it more than
    /// once (never a guess at which value counts).
    pub fn extra(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut matching = self.extra.iter().filter(|(n, _)| n == name);
        let value = matching.next().map(|(_, v)| v.as_str());
        if matching.next().is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter '{name}' is repeated"
            )));
        }
        Ok(value.filter(|v| !v.is_empty()))
    }

    /// Every parameter grantor does not interpret, in the order sent, repeats included (at
    /// most [`max_extra_parameters`](crate::ConfigBuilder::max_extra_parameters) of them).
    pub fn extras(&self) -> &[(String, String)] {
        &self.extra
    }

    /// The request as plain data, to keep in a session store and
    /// [resume](crate::Server::resume) later, possibly on another instance of a fleet.
    pub fn save(&self) -> SavedAuthorization {
        SavedAuthorization {
            client_id: self.client.id().as_str().to_owned(),
            response_type: self.response_type,
            response_mode: Some(self.response_mode),
            redirect_uri: self.redirect_uri.clone(),
            redirect_uri_sent: self.redirect_uri_sent,
            requested_scope: self.requested_scope.clone(),
            scope: self.scope.clone(),
            resources: self.resources.clone(),
            state: self.state.clone(),
            challenge: self.challenge.clone(),
            dpop_jkt: self.dpop_jkt.clone(),
            openid: self.openid.clone(),
            received_at: self.received_at,
            extra: self.extra.clone(),
        }
    }

    /// Where errors and results go, and how.
    pub(crate) fn responder<'a>(&'a self, issuer: Option<&'a str>) -> Responder<'a> {
        Responder {
            redirect_uri: &self.redirect_uri,
            mode: self.response_mode,
            state: self.state.as_deref(),
            issuer,
        }
    }
}

/// A pending [`AuthorizationRequest`] as plain data (`Serialize`, `Deserialize`), from
/// [`AuthorizationRequest::save`], for [`Server::resume`](crate::Server::resume). Keep it where
/// only the server reads and writes (a server-side session), and take it out when the request
/// is answered: resuming it twice gives two requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedAuthorization {
    client_id: String,
    response_type: ResponseType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response_mode: Option<ResponseMode>,
    redirect_uri: String,
    redirect_uri_sent: bool,
    requested_scope: Option<ScopeSet>,
    scope: ScopeSet,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    resources: Vec<String>,
    state: Option<String>,
    challenge: Option<CodeChallenge>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dpop_jkt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    openid: Option<OpenIdRequest>,
    #[serde(default = "epoch")]
    received_at: Timestamp,
    extra: Vec<(String, String)>,
}

/// Requests saved before `received_at` was kept count as made at the epoch: any login is
/// fresh for them.
fn epoch() -> Timestamp {
    Timestamp::from_secs(0)
}

/// Why an authorization request was refused.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthorizationError {
    /// The client or redirect URI cannot be trusted (C-AZ-2): show the error to the user and
    /// never redirect.
    Direct(OAuthError),
    /// The error goes back to the client at its redirect URI, in the query or fragment.
    Redirect {
        /// The error sent to the client.
        error: OAuthError,
        /// The full redirect URI, with the error parameters in the query or fragment.
        location: String,
    },
    /// The error goes back to the client in a `form_post` page (`response_mode=form_post`).
    FormPost {
        /// The error sent to the client.
        error: OAuthError,
        /// The HTML page that posts the error parameters to the redirect URI.
        page: String,
    },
}

impl AuthorizationError {
    /// The OAuth error, wherever it was to go.
    pub(crate) fn into_error(self) -> OAuthError {
        match self {
            Self::Direct(error) | Self::Redirect { error, .. } | Self::FormPost { error, .. } => {
                error
            }
        }
    }

    /// The OAuth error, wherever it goes.
    pub fn error(&self) -> &OAuthError {
        match self {
            Self::Direct(error) | Self::Redirect { error, .. } | Self::FormPost { error, .. } => {
                error
            }
        }
    }

    /// The response: a JSON error with status 400 (500 for `server_error`) for
    /// [`Direct`](Self::Direct), a `303 See Other` for [`Redirect`](Self::Redirect), the page
    /// for [`FormPost`](Self::FormPost). Hosts with an HTML error page render
    /// [`Direct`](Self::Direct) themselves.
    pub fn into_response(self) -> Response<Vec<u8>> {
        match self {
            Self::Direct(error) => error_json(&error, ""),
            Self::Redirect { location, .. } => Delivery::Redirect(location).into_response(),
            Self::FormPost { page, .. } => Delivery::FormPost(page).into_response(),
        }
    }
}

/// What the owner decided, and what the host knows about how they logged in: the input of
/// [`Server::approve_with`](crate::Server::approve_with).
///
/// ```
/// use grantor::{Approval, OwnerId, ScopeSet, Timestamp};
///
/// let approval = Approval::new(OwnerId::new("alice"), ScopeSet::parse("openid profile")?)
///     .authenticated_at(Timestamp::from_secs(1_700_000_000))
///     .amr(["pwd"])
///     .consent_shown(true);
/// # Ok::<(), grantor::ScopeError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Approval {
    owner: OwnerId,
    scope: ScopeSet,
    authenticated_at: Option<Timestamp>,
    acr: Option<String>,
    amr: Vec<String>,
    consent_shown: bool,
    claims: Vec<String>,
    remember_consent: Option<Option<Timestamp>>,
}

impl Approval {
    /// `owner` granted `scope` (a subset of [`AuthorizationRequest::scope`]; anything else is
    /// dropped).
    pub fn new(owner: OwnerId, scope: ScopeSet) -> Self {
        Self {
            owner,
            scope,
            authenticated_at: None,
            acr: None,
            amr: Vec::new(),
            consent_shown: false,
            claims: Vec::new(),
            remember_consent: None,
        }
    }

    /// When the owner last authenticated (their login's time, not the approval's): the ID
    /// token's `auth_time`. Required for an OpenID request with `max_age` or `prompt=login`,
    /// or from a client that requires `auth_time`.
    pub fn authenticated_at(mut self, at: Timestamp) -> Self {
        self.authenticated_at = Some(at);
        self
    }

    /// The authentication context class the login satisfied (`acr`).
    pub fn acr(mut self, acr: impl Into<String>) -> Self {
        self.acr = Some(acr.into());
        self
    }

    /// The authentication methods the login used (`amr`, RFC 8176: `pwd`, `otp`, `hwk`…).
    pub fn amr<I: IntoIterator<Item = T>, T: Into<String>>(mut self, methods: I) -> Self {
        self.amr = methods.into_iter().map(Into::into).collect();
        self
    }

    /// Whether the owner saw the consent page for this request. An OpenID request's
    /// `offline_access` is kept only then (or with `prompt=consent`) when
    /// [`offline_access_required`](crate::ConfigBuilder::offline_access_required) is on.
    pub fn consent_shown(mut self, shown: bool) -> Self {
        self.consent_shown = shown;
        self
    }

    /// Claims beyond those of the granted scope that the owner agreed to release, because the
    /// request's `claims` parameter asked for them and the consent page showed them. Without
    /// this, a `claims` request releases only claims the granted scopes stand for.
    pub fn claims<I: IntoIterator<Item = T>, T: Into<String>>(mut self, names: I) -> Self {
        self.claims = names.into_iter().map(Into::into).collect();
        self
    }

    /// Remembers the owner's consent to the granted scope for this client until `until`
    /// (`None`: until revoked), once the approval has succeeded: later requests it covers
    /// skip the consent page ([`Interaction::Ready`]). Needs a backend that keeps consent.
    pub fn remember_consent(mut self, until: Option<Timestamp>) -> Self {
        self.remember_consent = Some(until);
        self
    }
}

/// What the host must do before a request can be approved: the answer of
/// [`Server::interaction`](crate::Server::interaction).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Interaction {
    /// Show the login page: nobody is logged in, or the request wants a fresh login
    /// (`prompt=login`, `max_age` elapsed) or another owner (`id_token_hint`).
    Login,
    /// Let the owner choose an account (`prompt=select_account`).
    SelectAccount,
    /// Show the consent page: `prompt=consent`, or no remembered consent covers the scope.
    Consent,
    /// Nothing to show: approve with the remembered consent's scope.
    Ready,
    /// `prompt=none`, and the owner would have to interact: answer with
    /// [`Server::reject`](crate::Server::reject) and this error (`login_required`,
    /// `consent_required`, `account_selection_required`).
    Refuse(OAuthError),
}

/// Where the parameters of an authorization request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    /// The front channel: the user agent brought them to the authorization endpoint.
    Front,
    /// The back channel: the authenticated client pushed them (RFC 9126, C-PA-1).
    Pushed,
}

/// Validates an authorization request (C-AZ-1…5, C-AZ-8, C-AZ-10, C-PK-1, C-PK-2, C-OI-2,
/// C-OI-3, C-OI-7), or resolves the pushed request its `request_uri` names (C-PA-1).
pub(crate) async fn validate<S: Storage, B: AsRef<[u8]>>(
    server: &Server<S>,
    request: &Request<B>,
) -> Result<AuthorizationRequest, AuthorizationError> {
    let config = server.config();
    let direct = AuthorizationError::Direct;
    let max = config.max_parameter_bytes;
    let params = match *request.method() {
        Method::GET => Params::from_query(request, max),
        Method::POST => Params::from_form_body(request, max),
        _ => Err(OAuthError::invalid_request(
            "the authorization endpoint accepts GET and POST",
        )),
    }
    .map_err(direct)?;

    // Until the redirect URI is trusted, errors are shown, never redirected (C-AZ-2, C-AZ-3).
    let client_id = params.get("client_id").map_err(direct)?.ok_or_else(|| {
        direct(OAuthError::invalid_request(
            "parameter 'client_id' is missing",
        ))
    })?;
    let client = registered_client(server, client_id).await?;
    crate::observe::client(client.id().as_str());
    match params.get("request_uri").map_err(direct)? {
        Some(uri) if par::is_pushed(uri) => par::resolve(server, &params, client, uri).await,
        _ => validate_params(server, &params, client, Channel::Front).await,
    }
}

/// Validates the parameters of an authorization request from `client` (already looked up by
/// its `client_id`), sent through `channel`: the same checks whether the user agent brought
/// them or the client pushed them.
pub(crate) async fn validate_params<S: Storage>(
    server: &Server<S>,
    params: &Params,
    client: Client,
    channel: Channel,
) -> Result<AuthorizationRequest, AuthorizationError> {
    let config = server.config();
    let direct = AuthorizationError::Direct;
    let sent_redirect_uri = params.get("redirect_uri").map_err(direct)?;
    let redirect_uri = trusted_redirect_uri(&client, sent_redirect_uri)?;

    // From here on, errors go back to the client, in the mode the request asked for when it
    // may have it, else in its response type's default (tokens never in the query).
    let response_type = params.get("response_type");
    let response_mode = params.get("response_mode");
    let parsed_type = response_type
        .as_ref()
        .ok()
        .copied()
        .flatten()
        .and_then(|text| text.parse::<ResponseType>().ok());
    let default_mode = parsed_type.map_or(ResponseMode::Query, ResponseMode::default_for);
    let error_mode = response_mode
        .as_ref()
        .ok()
        .copied()
        .flatten()
        .and_then(|text| text.parse::<ResponseMode>().ok())
        .filter(|mode| parsed_type.is_none_or(|t| mode.allows(t)))
        .unwrap_or(default_mode);
    let state = params.get("state");
    let responder = Responder {
        redirect_uri: &redirect_uri,
        mode: error_mode,
        state: state.as_ref().ok().copied().flatten(),
        issuer: config.issuer_parameter_value(),
    };
    let back = |error: OAuthError| responder.error(error);
    // C-PA-1: a client (or a server) that requires PAR takes no request from the front channel.
    let push_required = config.require_pushed_authorization_requests
        || client.requires_pushed_authorization_requests();
    if channel == Channel::Front && push_required {
        return Err(back(OAuthError::invalid_request(
            "this client must push its authorization requests to the pushed authorization \
             request endpoint first (request_uri)",
        )));
    }

    let state = state.map_err(back)?;
    let response_type = match response_type.map_err(back)? {
        None => {
            return Err(back(OAuthError::invalid_request(
                "parameter 'response_type' is missing",
            )));
        }
        Some(_) => parsed_type.filter(|t| answers(server, *t)).ok_or_else(|| {
            back(
                OAuthError::new(ErrorCode::UnsupportedResponseType)
                    .with_description("this response_type is not supported"),
            )
        })?,
    };
    if !client.allows_response_type(response_type) {
        return Err(back(OAuthError::unauthorized_client(
            "the client may not use this response type",
        )));
    }
    let response_mode = match response_mode.map_err(back)? {
        None => default_mode,
        Some(text) => {
            let mode = text.parse::<ResponseMode>().map_err(back)?;
            if !mode.allows(response_type) {
                return Err(back(OAuthError::invalid_request(
                    "response_mode=query cannot carry tokens",
                )));
            }
            mode
        }
    };
    if config.require_state && state.is_none() {
        return Err(back(OAuthError::invalid_request(
            "parameter 'state' is required",
        )));
    }

    let requested_scope = params
        .get("scope")
        .map_err(back)?
        .map(|text| client.parse_scope(text))
        .transpose()
        .map_err(back)?;
    let scope = client
        .resolve_scope(requested_scope.clone(), &config.always_granted_scopes)
        .map_err(back)?;
    // C-RI-1: the resources the tokens will be for, refused by redirect when unknown.
    let requested_resources: Vec<&str> = params.all("resource").collect();
    let resources = config
        .resources
        .resolve(&client, &requested_resources)
        .map_err(back)?;
    let openid = match server.is_openid_provider() && scope.contains(OPENID) {
        true => Some(openid_request(server, params, &client, response_type).await),
        false => None,
    }
    .transpose()
    .map_err(back)?;
    if response_type.includes_id_token() && openid.is_none() {
        return Err(back(OAuthError::invalid_request(
            "an id_token response type needs the openid scope",
        )));
    }
    let extra = extras(params, config, openid.is_some()).map_err(back)?;

    let challenge = match response_type.includes_code() {
        true => {
            let challenge = CodeChallenge::from_request(
                params.get("code_challenge").map_err(back)?,
                params.get("code_challenge_method").map_err(back)?,
                config.allow_plain_pkce,
            )
            .map_err(back)?;
            check_pkce(&client, config, challenge.as_ref()).map_err(back)?;
            challenge
        }
        false => None,
    };
    // C-DP-3: the code is bound to the DPoP key the client names, when the server takes DPoP.
    #[cfg(feature = "jose")]
    let dpop_jkt = match (response_type.includes_code(), config.dpop()) {
        (true, Some(_)) => crate::dpop::requested_key(params).map_err(back)?,
        _ => None,
    };
    #[cfg(not(feature = "jose"))]
    let dpop_jkt = None;

    Ok(AuthorizationRequest {
        response_type,
        response_mode,
        redirect_uri_sent: sent_redirect_uri.is_some(),
        requested_scope,
        scope,
        resources,
        state: state.map(str::to_owned),
        challenge,
        dpop_jkt,
        openid,
        received_at: server.now(),
        extra,
        redirect_uri,
        client,
    })
}

/// Whether the server answers a response type: a code only when the code grant is there to
/// redeem it; the ID token and combined types (OpenID Connect's) only from an OpenID Provider.
pub(crate) fn answers<S: Storage>(server: &Server<S>, response_type: ResponseType) -> bool {
    // C-FA-1: the FAPI 2.0 profile answers the code flow only.
    if server.config().is_fapi2() && response_type != ResponseType::CODE {
        return false;
    }
    let oauth = matches!(response_type, ResponseType::CODE | ResponseType::TOKEN);
    (!response_type.includes_code() || server.grants().contains(&GrantType::AuthorizationCode))
        && (oauth || server.is_openid_provider())
}

/// The OpenID Connect parameters of a request whose scope holds `openid` (C-OI-2, C-OI-3), with
/// its `id_token_hint` verified.
async fn openid_request<S: Storage>(
    server: &Server<S>,
    params: &Params,
    client: &Client,
    response_type: ResponseType,
) -> Result<OpenIdRequest, OAuthError> {
    let request = openid::parse(params, client)?;
    // Implicit and hybrid requests bind their ID tokens to the request with a nonce (OpenID
    // Connect Core §3.2.2.1, §3.3.2.11).
    let front_channel = response_type.includes_id_token()
        || (response_type.includes_code() && response_type.includes_token());
    if front_channel && request.nonce().is_none() {
        return Err(OAuthError::invalid_request(
            "nonce is required for this response type",
        ));
    }
    #[cfg(feature = "oidc")]
    if let Some(provider) = server.openid() {
        let now = server.now();
        provider
            .check_algorithm(client.id_token_signed_response_alg(), now)
            .await
            .map_err(|failure| {
                failure.into_oauth(server.config(), ErrorContext::new("authorize"))
            })?;
        let mut request = request;
        if let Some(hint) = params.get("id_token_hint")? {
            let subject = provider
                .verify_hint(hint, server.config().issuer(), client, now)
                .await
                .map_err(|failure| {
                    failure.into_oauth(server.config(), ErrorContext::new("authorize"))
                })?;
            request.set_hint_subject(subject);
        }
        return Ok(request);
    }
    let _ = server;
    Ok(request)
}

/// The registered client of an authorization request; any failure is a direct error (C-AZ-2).
async fn registered_client<S: Storage>(
    server: &Server<S>,
    client_id: &str,
) -> Result<Client, AuthorizationError> {
    let direct = AuthorizationError::Direct;
    match server.storage().client(client_id).await {
        Ok(Some(client)) => Ok(client),
        Ok(None) => Err(direct(OAuthError::invalid_request("unknown client"))),
        Err(error) => {
            let context = ErrorContext::new("authorize").client(Some(client_id));
            server.config().report(&error, context);
            Err(direct(OAuthError::server_error(
                "the server could not look up the client",
            )))
        }
    }
}

/// The redirect URI a request's responses go to: the one sent, if registered, or the client's
/// only registered one (C-AZ-2, C-AZ-3). Any failure is a direct error: there is nowhere
/// trusted to redirect to.
fn trusted_redirect_uri(client: &Client, sent: Option<&str>) -> Result<String, AuthorizationError> {
    let direct = |description| {
        Err(AuthorizationError::Direct(OAuthError::invalid_request(
            description,
        )))
    };
    match (sent, client.redirect_uris()) {
        (Some(sent), _) if client.find_redirect_uri(sent).is_some() => Ok(sent.to_owned()),
        (Some(_), _) => direct("redirect_uri is not registered for this client"),
        (None, [only]) => Ok(only.as_str().to_owned()),
        (None, []) => direct("the client has no registered redirect URI"),
        (None, _) => direct("redirect_uri is required: the client registered several"),
    }
}

/// The parameters grantor does not interpret, kept for the host: at most
/// `max_extra_parameters` of them in `max_extra_parameter_bytes`, or `invalid_request`, so that
/// a pending request never costs more than the configuration allows.
fn extras(
    params: &Params,
    config: &crate::Config,
    openid: bool,
) -> Result<Vec<(String, String)>, OAuthError> {
    let mut extras = Vec::new();
    let mut bytes = 0;
    for (name, value) in params.pairs().filter(|(name, _)| !is_known(name, openid)) {
        bytes += name.len() + value.len();
        if extras.len() == config.max_extra_parameters || bytes > config.max_extra_parameter_bytes {
            return Err(OAuthError::invalid_request(
                "the request carries too many or too large unknown parameters",
            ));
        }
        extras.push((name.to_owned(), value.to_owned()));
    }
    Ok(extras)
}

/// Whether a code's PKCE challenge (or its absence) is acceptable for this client (C-PK-1,
/// C-PK-2): public clients (and every client, when configured) must send one; `plain` only
/// when enabled.
fn check_pkce(
    client: &Client,
    config: &crate::Config,
    challenge: Option<&CodeChallenge>,
) -> Result<(), OAuthError> {
    match challenge {
        None if !client.is_confidential() || config.require_pkce_for_all => Err(
            OAuthError::invalid_request("code_challenge is required (PKCE, method S256)"),
        ),
        Some(c) if c.method() == ChallengeMethod::Plain && !config.allow_plain_pkce => Err(
            OAuthError::invalid_request("transform algorithm not supported: use S256"),
        ),
        _ => Ok(()),
    }
}

/// Turns a saved request back into a pending one, checked again against the client's current
/// registration and the configuration: the client must still exist, the redirect URI still be
/// registered, the response type, the scope and the PKCE challenge still allowed. Any failure is
/// a direct error: a saved request is the host's data, and what changed is for the host to show.
pub(crate) async fn resume<S: Storage>(
    server: &Server<S>,
    saved: SavedAuthorization,
) -> Result<AuthorizationRequest, AuthorizationError> {
    let client = registered_client(server, &saved.client_id).await?;
    let sent = saved
        .redirect_uri_sent
        .then_some(saved.redirect_uri.as_str());
    let redirect_uri = trusted_redirect_uri(&client, sent)?;
    let config = server.config();
    let response_type = saved.response_type;
    let response_mode = saved
        .response_mode
        .unwrap_or_else(|| ResponseMode::default_for(response_type));
    let scopes_allowed = [Some(&saved.scope), saved.requested_scope.as_ref()]
        .into_iter()
        .flatten()
        .all(|scope| client.allowed_scopes().satisfies_all(scope));
    let pkce_ok = match response_type.includes_code() {
        true => check_pkce(&client, config, saved.challenge.as_ref()).is_ok(),
        false => saved.challenge.is_none(),
    };
    let openid_ok = saved.openid.is_none() || server.is_openid_provider();
    let resources_ok = saved
        .resources
        .iter()
        .all(|id| config.resource(id).is_some() && client.allows_resource(id));
    if redirect_uri != saved.redirect_uri
        || !resources_ok
        || !client.allows_response_type(response_type)
        || !answers(server, response_type)
        || !response_mode.allows(response_type)
        || !scopes_allowed
        || !pkce_ok
        || !openid_ok
    {
        return Err(AuthorizationError::Direct(OAuthError::invalid_request(
            "the client's registration changed since the request was made",
        )));
    }
    Ok(AuthorizationRequest {
        client,
        response_type,
        response_mode,
        redirect_uri,
        redirect_uri_sent: saved.redirect_uri_sent,
        requested_scope: saved.requested_scope,
        scope: saved.scope,
        resources: saved.resources,
        state: saved.state,
        challenge: saved.challenge,
        dpop_jkt: saved.dpop_jkt,
        openid: saved.openid,
        received_at: saved.received_at,
        extra: saved.extra,
    })
}

/// What the host must show before `request` can be approved, given who is logged in and
/// since when (C-OI-3).
pub(crate) async fn interaction<S: Storage>(
    server: &Server<S>,
    request: &AuthorizationRequest,
    login: Option<(&OwnerId, Timestamp)>,
) -> Result<Interaction, Error> {
    let silent = request
        .openid
        .as_ref()
        .is_some_and(|openid| openid.prompt().contains(Prompt::NONE));
    let refuse = |code| Ok(Interaction::Refuse(OAuthError::new(code)));
    let (owner, authenticated_at) = match login {
        Some((owner, at)) if login_problem(server, request, owner, Some(at))?.is_none() => {
            (owner, at)
        }
        _ if silent => return refuse(ErrorCode::LoginRequired),
        _ => return Ok(Interaction::Login),
    };
    let prompt = request.openid.as_ref().map(OpenIdRequest::prompt);
    let prompted = |value| prompt.is_some_and(|prompt| prompt.contains(value));
    if prompted(Prompt::SELECT_ACCOUNT) && authenticated_at < request.received_at {
        return Ok(Interaction::SelectAccount);
    }
    let covered = !prompted(Prompt::CONSENT) && consent_covers(server, owner, request).await?;
    match (covered, silent) {
        (true, _) => Ok(Interaction::Ready),
        (false, true) => refuse(ErrorCode::ConsentRequired),
        (false, false) => Ok(Interaction::Consent),
    }
}

/// Whether a live remembered consent of `owner` to the request's client covers the request:
/// its scope, its resources, and every claim its `claims` parameter asks for (which must be among the claims
/// of the consented scopes). Never, with a backend that keeps no consent.
async fn consent_covers<S: Storage>(
    server: &Server<S>,
    owner: &OwnerId,
    request: &AuthorizationRequest,
) -> Result<bool, Error> {
    let Some(store) = server.storage().consent_store() else {
        return Ok(false);
    };
    let Some(consent) = store.consent(owner, request.client.id()).await? else {
        return Ok(false);
    };
    let claims = request.openid.as_ref().and_then(OpenIdRequest::claims);
    let resources_covered = request
        .resources
        .iter()
        .all(|resource| consent.resources.contains(resource));
    Ok(consent.is_live(server.now())
        && resources_covered
        && consent.scope.satisfies_all(&request.scope)
        && claims.is_none_or(|claims| openid::within_scope(claims, &consent.scope)))
}

/// Why `owner`, authenticated at `authenticated_at`, may not approve an OpenID request without
/// logging in again: `prompt=login` and a login older than the request, `max_age` elapsed, or
/// an `id_token_hint` naming someone else (C-OI-3). `None` when they may, or for a request
/// that is not OpenID Connect's.
fn login_problem<S: Storage>(
    server: &Server<S>,
    request: &AuthorizationRequest,
    owner: &OwnerId,
    authenticated_at: Option<Timestamp>,
) -> Result<Option<&'static str>, Error> {
    let Some(openid) = &request.openid else {
        return Ok(None);
    };
    let needs_time = openid.max_age().is_some() || openid.prompt().contains(Prompt::LOGIN);
    let authenticated_at = match authenticated_at {
        Some(at) => at,
        None if needs_time => {
            return Err(Error::usage(
                "this OpenID request (max_age or prompt=login) needs the time the owner \
                 authenticated: pass it with Approval::authenticated_at",
            ));
        }
        None => Timestamp::from_secs(0),
    };
    if openid.prompt().contains(Prompt::LOGIN) && authenticated_at < request.received_at {
        return Ok(Some("prompt=login asks for a login after the request"));
    }
    // A login made for this request is fresh whatever max_age says (max_age=0 included); an
    // earlier one must be younger than max_age.
    if let Some(max_age) = openid.max_age()
        && authenticated_at < request.received_at
        && authenticated_at.after(max_age) < server.now()
    {
        return Ok(Some("the owner's login is older than max_age"));
    }
    if let Some(hint) = openid.hint_subject()
        && !hinted_owner(server, &request.client, owner, hint)?
    {
        return Ok(Some("the id_token_hint names another owner"));
    }
    Ok(None)
}

/// Whether `owner` is the subject `hint` names for `client`.
fn hinted_owner<S: Storage>(
    server: &Server<S>,
    client: &Client,
    owner: &OwnerId,
    hint: &str,
) -> Result<bool, Error> {
    #[cfg(feature = "oidc")]
    if let Some(provider) = server.openid() {
        return Ok(provider.subject(owner, client)? == hint);
    }
    let _ = (server, client);
    Ok(owner.as_str() == hint)
}

/// Issues what an approved request asked for — a code, an access token, an ID token — and
/// answers the client in the request's response mode (C-AZ-5, C-AZ-7, C-OI-1, C-OI-7).
///
/// Everything is minted (and the ID token signed) before anything is stored, and what is stored
/// is one grant: a failure after the first write revokes the grant, so an `Err` leaves nothing
/// live behind.
pub(crate) async fn approve<S: Storage>(
    server: &Server<S>,
    request: AuthorizationRequest,
    approval: Approval,
) -> Result<Response<Vec<u8>>, Error> {
    let config = server.config();
    let responder = request.responder(config.issuer_parameter_value());
    let client = &request.client;
    let owner = &approval.owner;
    let refuse = |error: OAuthError| {
        if error.code() == ErrorCode::AccessDenied {
            config.audit(|| {
                AuditEvent::new(AuditKind::ConsentDenied, server.now())
                    .client(client.id())
                    .owner(Some(owner))
            });
        }
        Ok(responder.error(error).into_response())
    };
    if client.is_owner_only() && client.owner() != Some(owner) {
        // C-SC-5: only the owner may authorize this client.
        return refuse(OAuthError::access_denied(
            "only the client's owner may authorize it",
        ));
    }
    // The owner may grant less than asked, never more (C-SC-1); always-granted scopes are added
    // to every user token (C-SC-2).
    let mut scope = approval
        .scope
        .restricted_to(&request.scope)
        .union(&config.always_granted_scopes);
    if scope.is_empty() {
        // Nothing granted is a refusal, not a token whose scope the client would misread.
        return refuse(OAuthError::access_denied(
            "the resource owner granted no scope",
        ));
    }
    let openid = match &request.openid {
        Some(openid) if scope.contains(OPENID) => Some(openid),
        _ => None,
    };
    let response_type = request.response_type;
    if response_type.includes_id_token() && openid.is_none() {
        return refuse(OAuthError::access_denied(
            "an ID token needs the openid scope, which was not granted",
        ));
    }
    let context = match openid {
        None => None,
        Some(openid) => {
            if let Some(why) = login_problem(server, &request, owner, approval.authenticated_at)? {
                return refuse(OAuthError::new(ErrorCode::LoginRequired).with_description(why));
            }
            let consented = approval.consent_shown || openid.prompt().contains(Prompt::CONSENT);
            if config.offline_access_required && !consented {
                // C-OI-6: offline access only with consent the owner saw.
                scope = scope.without(OFFLINE_ACCESS);
            }
            Some(openid_context(&request, openid, &approval, &scope)?)
        }
    };
    let consents = server.storage().consent_store();
    if approval.remember_consent.is_some() && consents.is_none() {
        return Err(Error::config("this storage backend keeps no consent"));
    }

    let now = server.now();
    let grant = GrantId::generate();
    let code = response_type.includes_code().then(|| {
        let mut record = CodeRecord::new(
            grant,
            client.id().clone(),
            owner.clone(),
            request.redirect_uri.as_str(),
            scope.clone(),
            now,
            now.after(config.code_lifetime),
        );
        record.redirect_uri_sent = request.redirect_uri_sent;
        record.challenge = request.challenge.clone();
        record.dpop_jkt = request.dpop_jkt.clone();
        record.openid = context.clone();
        record.resources = request.resources.clone();
        (AuthorizationCode::generate(), record)
    });
    // The implicit grant (C-AZ-7): the token in the fragment, never a refresh token.
    let minted = match response_type.includes_token() {
        true => {
            let mut issue = Issue::user(owner.clone(), scope.clone())
                .for_resources(request.resources.clone())
                .in_grant(grant);
            if let Some(context) = &context {
                issue = issue.with_openid(context.clone());
            }
            server.load_keys(now).await?;
            Some(server.issuer(client, now).mint(issue)?)
        }
        false => None,
    };
    #[cfg(feature = "oidc")]
    let id_token = match (response_type.includes_id_token(), server.openid(), &context) {
        (true, Some(provider), Some(context)) => Some(
            provider
                .id_token(crate::oidc::IdTokenInput {
                    issuer: config.issuer(),
                    client,
                    owner,
                    context,
                    access_token: minted.as_ref().map(|(_, t)| t.access_token().secret()),
                    code: code.as_ref().map(|(code, _)| code.secret()),
                    // Only with no access token at all, now or from the code, do the scope's
                    // claims go in the ID token (OpenID Connect Core §5.4).
                    scope_claims: (response_type == ResponseType::ID_TOKEN).then_some(&scope),
                    now,
                })
                .await?,
        ),
        _ => None,
    };

    let code_record = code
        .as_ref()
        .map(|(secret, record)| (secret.digest(), record.clone()));
    let tokens = minted.as_ref().map(|(tokens, _)| tokens.clone());
    let stored = store_grant(server, code_record, tokens, now).await;
    let remembered = match (stored, consents) {
        (Err(error), _) => Err(error),
        (Ok(()), None) => Ok(()),
        (Ok(()), Some(consents)) => {
            // So that revoking the owner's consent to the client revokes this grant too.
            let recorded = consents.record_grant(owner, client.id(), grant).await;
            match (recorded, approval.remember_consent) {
                (Err(error), _) => Err(error),
                (Ok(()), None) => Ok(()),
                (Ok(()), Some(until)) => {
                    let consented = (&scope, request.resources.as_slice());
                    remember(server, consents, owner, client.id(), consented, until).await
                }
            }
        }
    };
    if let Err(error) = remembered {
        // Whatever was stored goes: the client gets no answer for it.
        let _ = server.storage().revoke_grant(&grant).await;
        return Err(error);
    }
    // C-OB-2: the code, tokens and consent are stored by now.
    config.audit(|| {
        AuditEvent::new(AuditKind::ConsentApproved, now)
            .client(client.id())
            .owner(Some(owner))
            .grant(Some(grant))
    });

    let expires_in = minted.as_ref().map(|(_, t)| t.expires_in().to_string());
    let granted = minted.as_ref().map(|(_, t)| t.scope().to_string());
    let mut params: Vec<(&str, &str)> = Vec::with_capacity(6);
    if let Some((code, _)) = &code {
        params.push(("code", code.secret()));
    }
    if let (Some((_, issued)), Some(expires_in)) = (&minted, &expires_in) {
        params.push(("access_token", issued.access_token().secret()));
        params.push(("token_type", issued.token_type().as_str()));
        params.push(("expires_in", expires_in));
        if let Some(granted) = &granted
            && request.requested_scope.as_ref() != Some(issued.scope())
        {
            params.push(("scope", granted));
        }
    }
    #[cfg(feature = "oidc")]
    if let Some(id_token) = &id_token {
        params.push(("id_token", id_token));
    }
    Ok(responder.deliver(params).into_response())
}

/// Stores an approval's code and tokens, the code first.
async fn store_grant<S: Storage>(
    server: &Server<S>,
    code: Option<(crate::storage::Digest, CodeRecord)>,
    tokens: Option<crate::storage::NewTokens>,
    now: Timestamp,
) -> Result<(), Error> {
    let storage = server.storage();
    if let Some((digest, record)) = code {
        storage
            .save_record(digest, record.into_exchange_record(), now)
            .await?;
    }
    if let Some(tokens) = tokens
        && !storage.save_tokens(tokens).await?
    {
        // A new grant cannot have been revoked: storage broke its contract.
        return Err(Error::storage("storage refused the tokens of a new grant"));
    }
    Ok(())
}

/// Remembers `owner`'s consent to `scope` for a client until `until`, added to what they
/// consented to before (if that is still live).
pub(crate) async fn remember<S: Storage>(
    server: &Server<S>,
    consents: &dyn ConsentStore,
    owner: &OwnerId,
    client_id: &ClientId,
    (scope, resources): (&ScopeSet, &[String]),
    until: Option<Timestamp>,
) -> Result<(), Error> {
    let now = server.now();
    let earlier = consents
        .consent(owner, client_id)
        .await?
        .filter(|consent| consent.is_live(now));
    let (earlier_scope, mut all_resources) = earlier
        .map(|consent| (consent.scope, consent.resources))
        .unwrap_or_default();
    for resource in resources {
        if !all_resources.contains(resource) {
            all_resources.push(resource.clone());
        }
    }
    let consent = Consent::new(
        owner.clone(),
        client_id.clone(),
        earlier_scope.union(scope),
        now,
        until,
    )
    .for_resources(all_resources);
    consents.save_consent(consent).await
}

/// What an approved OpenID request carries to its ID tokens and UserInfo: its `claims`
/// request cut down to what the owner consented to (C-OI-4).
fn openid_context(
    request: &AuthorizationRequest,
    openid: &OpenIdRequest,
    approval: &Approval,
    scope: &ScopeSet,
) -> Result<OpenIdContext, Error> {
    let claims = openid
        .claims()
        .map(|claims| openid::consented_claims(claims, scope, &approval.claims));
    let auth_time_asked = claims
        .as_ref()
        .is_some_and(|claims| openid::asks_for(claims, "auth_time"));
    let auth_time_required =
        openid.max_age().is_some() || request.client.requires_auth_time() || auth_time_asked;
    if auth_time_required && approval.authenticated_at.is_none() {
        return Err(Error::usage(
            "this OpenID request needs auth_time in its ID token: pass the owner's login time \
             with Approval::authenticated_at",
        ));
    }
    let mut context = OpenIdContext::new();
    context.nonce = openid.nonce().map(str::to_owned);
    context.auth_time = approval.authenticated_at;
    context.auth_time_required = auth_time_required;
    context.acr = approval.acr.clone();
    context.amr = approval.amr.clone();
    context.claims = claims;
    Ok(context)
}

/// Redirects back to the client with `error` (for example `login_required` after
/// `prompt=none`, or `invalid_request` for a parameter the host refused).
pub(crate) fn reject<S: Storage>(
    server: &Server<S>,
    request: AuthorizationRequest,
    error: OAuthError,
) -> Response<Vec<u8>> {
    let config = server.config();
    if error.code() == ErrorCode::AccessDenied {
        config.audit(|| {
            AuditEvent::new(AuditKind::ConsentDenied, server.now()).client(request.client.id())
        });
    }
    let responder = request.responder(config.issuer_parameter_value());
    responder.error(error).into_response()
}

/// Redirects back to the client with `access_denied`.
pub(crate) fn deny<S: Storage>(
    server: &Server<S>,
    request: AuthorizationRequest,
) -> Response<Vec<u8>> {
    let error = OAuthError::access_denied("the resource owner denied the request");
    reject(server, request, error)
}

impl std::fmt::Display for AuthorizationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error().fmt(f)
    }
}

impl std::error::Error for AuthorizationError {}

impl From<AuthorizationError> for Response<Vec<u8>> {
    fn from(error: AuthorizationError) -> Self {
        error.into_response()
    }
}
