//! The authorization endpoint (RFC 6749 §3.1, §4.1.1, §4.2.1).
//!
//! [`Server::authorize`](crate::Server::authorize) validates a request into an
//! [`AuthorizationRequest`], or fails with an [`AuthorizationError`]. The checks run in the order
//! the RFC requires: first everything that decides whether the redirect URI can be trusted
//! (client, redirect URI), and only then the rest, whose errors go back to the client through
//! the redirect. The host shows login and consent, then calls
//! [`Server::approve`](crate::Server::approve) or [`Server::deny`](crate::Server::deny), each
//! of which consumes the request, so that it is answered once.
//!
//! A pending request can be [saved](AuthorizationRequest::save) into a serializable
//! [`SavedAuthorization`] (for a session store a fleet shares) and
//! [resumed](crate::Server::resume) on any instance, which checks it against the client's
//! current registration.

use http::{Method, Request, Response};
use serde::{Deserialize, Serialize};

use crate::authenticator::OwnerId;
use crate::client::{Client, GrantType};
use crate::endpoint::{error_json, redirect};
use crate::error::{Error, ErrorCode, Failure, OAuthError};
use crate::form::{FormWriter, Params};
use crate::grant::{Issue, issue_code};
use crate::pkce::{ChallengeMethod, CodeChallenge};
use crate::scope::ScopeSet;
use crate::server::Server;
use crate::storage::{CodeRecord, GrantId, Storage};

/// Whether the authorization endpoint interprets a parameter; all others are passed to the host.
fn is_known(name: &str) -> bool {
    matches!(
        name,
        "response_type"
            | "client_id"
            | "redirect_uri"
            | "scope"
            | "state"
            | "code_challenge"
            | "code_challenge_method"
    )
}

/// What the client asks the authorization endpoint for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResponseType {
    /// `code`: an authorization code, delivered in the query (§4.1).
    Code,
    /// `token`: an access token, delivered in the fragment (implicit grant, §4.2).
    Token,
}

impl ResponseType {
    /// The value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Token => "token",
        }
    }

    fn grant(self) -> GrantType {
        match self {
            Self::Code => GrantType::AuthorizationCode,
            Self::Token => GrantType::Implicit,
        }
    }
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
    redirect_uri: String,
    redirect_uri_sent: bool,
    requested_scope: Option<ScopeSet>,
    scope: ScopeSet,
    state: Option<String>,
    challenge: Option<CodeChallenge>,
    extra: Vec<(String, String)>,
}

impl AuthorizationRequest {
    /// The client asking for access (its name is for the consent page).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Whether a code or a token was asked for.
    pub fn response_type(&self) -> ResponseType {
        self.response_type
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

    /// The `state` the client sent, echoed in the response.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// The PKCE challenge the code will be bound to.
    pub fn code_challenge(&self) -> Option<&CodeChallenge> {
        self.challenge.as_ref()
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
            redirect_uri: self.redirect_uri.clone(),
            redirect_uri_sent: self.redirect_uri_sent,
            requested_scope: self.requested_scope.clone(),
            scope: self.scope.clone(),
            state: self.state.clone(),
            challenge: self.challenge.clone(),
            extra: self.extra.clone(),
        }
    }

    /// Where errors and results go, and how.
    fn responder<'a>(&'a self, issuer: Option<&'a str>) -> Responder<'a> {
        Responder {
            redirect_uri: &self.redirect_uri,
            fragment: self.response_type == ResponseType::Token,
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
    redirect_uri: String,
    redirect_uri_sent: bool,
    requested_scope: Option<ScopeSet>,
    scope: ScopeSet,
    state: Option<String>,
    challenge: Option<CodeChallenge>,
    extra: Vec<(String, String)>,
}

/// Why an authorization request was refused.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthorizationError {
    /// The client or redirect URI cannot be trusted (C-AZ-2): show the error to the user and
    /// never redirect.
    Direct(OAuthError),
    /// The error goes back to the client at its redirect URI.
    Redirect {
        /// The error sent to the client.
        error: OAuthError,
        /// The full redirect URI, with the error parameters in the query or fragment.
        location: String,
    },
}

impl AuthorizationError {
    /// The OAuth error, wherever it goes.
    pub fn error(&self) -> &OAuthError {
        match self {
            Self::Direct(error) | Self::Redirect { error, .. } => error,
        }
    }

    /// The response: a JSON error with status 400 (500 for `server_error`) for
    /// [`Direct`](Self::Direct), a `303 See Other` for [`Redirect`](Self::Redirect). Hosts with
    /// an HTML error page render [`Direct`](Self::Direct) themselves.
    pub fn into_response(self) -> Response<Vec<u8>> {
        match self {
            Self::Direct(error) => error_json(&error, ""),
            Self::Redirect { location, .. } => redirect(&location),
        }
    }
}

/// Builds authorization responses: the redirect URI with parameters in the query (`code`) or
/// fragment (`token`), `state` echoed exactly and `iss` when enabled (C-AZ-5, C-IS-1).
struct Responder<'a> {
    redirect_uri: &'a str,
    fragment: bool,
    state: Option<&'a str>,
    /// The issuer, urlencoded, when responses carry `iss`.
    issuer: Option<&'a str>,
}

impl Responder<'_> {
    fn location<'n, 'v>(&self, params: impl IntoIterator<Item = (&'n str, &'v str)>) -> String {
        let separator = if self.fragment {
            '#'
        } else if self.redirect_uri.contains('?') {
            // Registered URIs may carry a query, which is kept (RFC 6749 §3.1.2).
            '&'
        } else {
            '?'
        };
        let mut location = String::with_capacity(self.redirect_uri.len() + 160);
        location.push_str(self.redirect_uri);
        location.push(separator);
        let mut writer = FormWriter::new(&mut location);
        for (name, value) in params {
            writer.pair(name, value);
        }
        if let Some(state) = self.state {
            writer.pair("state", state);
        }
        if let Some(issuer) = self.issuer {
            writer.encoded_pair("iss", issuer);
        }
        location
    }

    fn error(&self, error: OAuthError) -> AuthorizationError {
        let location = self.location(error.pairs());
        AuthorizationError::Redirect { error, location }
    }
}

/// Validates an authorization request (C-AZ-1…5, C-AZ-8, C-AZ-10, C-PK-1, C-PK-2).
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
    let sent_redirect_uri = params.get("redirect_uri").map_err(direct)?;
    let redirect_uri = trusted_redirect_uri(&client, sent_redirect_uri)?;

    // From here on, errors go back to the client. The response mode follows response_type.
    let response_type = params.get("response_type");
    let fragment = matches!(response_type, Ok(Some("token")));
    let state = params.get("state");
    let responder = Responder {
        redirect_uri: &redirect_uri,
        fragment,
        state: state.as_ref().ok().copied().flatten(),
        issuer: config.issuer_parameter_value(),
    };
    let back = |error: OAuthError| responder.error(error);

    let state = state.map_err(back)?;
    let response_type = match response_type.map_err(back)? {
        None => {
            return Err(back(OAuthError::invalid_request(
                "parameter 'response_type' is missing",
            )));
        }
        // A code only when the server can redeem it.
        Some("code") if server.grants().contains(&GrantType::AuthorizationCode) => {
            ResponseType::Code
        }
        Some("token") => ResponseType::Token,
        Some(_) => {
            return Err(back(
                OAuthError::new(ErrorCode::UnsupportedResponseType)
                    .with_description("this response_type is not supported"),
            ));
        }
    };
    if !client.allows_grant(&response_type.grant()) {
        return Err(back(OAuthError::unauthorized_client(
            "the client may not use this response type",
        )));
    }
    if config.require_state && state.is_none() {
        return Err(back(OAuthError::invalid_request(
            "parameter 'state' is required",
        )));
    }

    let extra = extras(&params, config).map_err(back)?;
    let requested_scope = params
        .get("scope")
        .map_err(back)?
        .map(|text| client.parse_scope(text))
        .transpose()
        .map_err(back)?;
    let scope = client
        .resolve_scope(requested_scope.clone(), &config.always_granted_scopes)
        .map_err(back)?;

    let challenge = match response_type {
        ResponseType::Code => {
            let challenge = CodeChallenge::from_request(
                params.get("code_challenge").map_err(back)?,
                params.get("code_challenge_method").map_err(back)?,
                config.allow_plain_pkce,
            )
            .map_err(back)?;
            check_pkce(&client, config, challenge.as_ref()).map_err(back)?;
            challenge
        }
        ResponseType::Token => None,
    };

    Ok(AuthorizationRequest {
        response_type,
        redirect_uri_sent: sent_redirect_uri.is_some(),
        requested_scope,
        scope,
        state: state.map(str::to_owned),
        challenge,
        extra,
        redirect_uri,
        client,
    })
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
            server.config().report(&error);
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
fn extras(params: &Params, config: &crate::Config) -> Result<Vec<(String, String)>, OAuthError> {
    let mut extras = Vec::new();
    let mut bytes = 0;
    for (name, value) in params.pairs().filter(|(name, _)| !is_known(name)) {
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
    let code_redeemable = saved.response_type != ResponseType::Code
        || server.grants().contains(&GrantType::AuthorizationCode);
    let scopes_allowed = [Some(&saved.scope), saved.requested_scope.as_ref()]
        .into_iter()
        .flatten()
        .all(|scope| client.allowed_scopes().satisfies_all(scope));
    let pkce_ok = match saved.response_type {
        ResponseType::Code => check_pkce(&client, config, saved.challenge.as_ref()).is_ok(),
        _ => saved.challenge.is_none(),
    };
    if redirect_uri != saved.redirect_uri
        || !client.allows_grant(&saved.response_type.grant())
        || !code_redeemable
        || !scopes_allowed
        || !pkce_ok
    {
        return Err(AuthorizationError::Direct(OAuthError::invalid_request(
            "the client's registration changed since the request was made",
        )));
    }
    Ok(AuthorizationRequest {
        client,
        response_type: saved.response_type,
        redirect_uri,
        redirect_uri_sent: saved.redirect_uri_sent,
        requested_scope: saved.requested_scope,
        scope: saved.scope,
        state: saved.state,
        challenge: saved.challenge,
        extra: saved.extra,
    })
}

/// Issues a code or token for an approved request and redirects back to the client.
pub(crate) async fn approve<S: Storage>(
    server: &Server<S>,
    request: AuthorizationRequest,
    owner: &OwnerId,
    granted: &ScopeSet,
) -> Result<Response<Vec<u8>>, Error> {
    let config = server.config();
    let responder = request.responder(config.issuer_parameter_value());
    let client = &request.client;
    if client.is_owner_only() && client.owner() != Some(owner) {
        // C-SC-5: only the owner may authorize this client.
        let error = OAuthError::access_denied("only the client's owner may authorize it");
        return Ok(responder.error(error).into_response());
    }
    // The owner may grant less than asked, never more (C-SC-1); always-granted scopes are added
    // to every user token (C-SC-2).
    let scope = granted
        .restricted_to(&request.scope)
        .union(&config.always_granted_scopes);
    if scope.is_empty() {
        // Nothing granted is a refusal, not a token whose scope the client would misread.
        let error = OAuthError::access_denied("the resource owner granted no scope");
        return Ok(responder.error(error).into_response());
    }
    let now = server.now();
    let location = match request.response_type {
        ResponseType::Code => {
            let mut record = CodeRecord::new(
                GrantId::generate(),
                client.id().clone(),
                owner.clone(),
                request.redirect_uri.as_str(),
                scope,
                now,
                now.after(config.code_lifetime),
            );
            record.redirect_uri_sent = request.redirect_uri_sent;
            record.challenge = request.challenge.clone();
            let code = issue_code(server.storage(), record, now).await?;
            responder.location([("code", code.secret())])
        }
        ResponseType::Token => {
            // The implicit grant (C-AZ-7): the token in the fragment, never a refresh token.
            let issued = server
                .issuer(client, now)
                .issue_and_store(server.storage(), Issue::user(owner.clone(), scope))
                .await
                .map_err(|failure| match failure {
                    Failure::Internal(error) => error,
                    // A new grant cannot have been revoked: storage broke its contract.
                    Failure::OAuth(error) => Error::storage(error),
                })?;
            let expires_in = issued.expires_in().to_string();
            let mut params = vec![
                ("access_token", issued.access_token().secret()),
                ("token_type", issued.token_type().as_str()),
                ("expires_in", expires_in.as_str()),
            ];
            let scope = issued.scope().to_string();
            if request.requested_scope.as_ref() != Some(issued.scope()) {
                params.push(("scope", scope.as_str()));
            }
            responder.location(params)
        }
    };
    Ok(redirect(&location))
}

/// Redirects back to the client with `error` (for example `login_required` after
/// `prompt=none`, or `invalid_request` for a parameter the host refused).
pub(crate) fn reject<S: Storage>(
    server: &Server<S>,
    request: AuthorizationRequest,
    error: OAuthError,
) -> Response<Vec<u8>> {
    let responder = request.responder(server.config().issuer_parameter_value());
    responder.error(error).into_response()
}

/// Redirects back to the client with `access_denied`.
pub(crate) fn deny<S: Storage>(
    server: &Server<S>,
    request: AuthorizationRequest,
) -> Response<Vec<u8>> {
    let config = server.config();
    let responder = request.responder(config.issuer_parameter_value());
    let error = OAuthError::access_denied("the resource owner denied the request");
    responder.error(error).into_response()
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
