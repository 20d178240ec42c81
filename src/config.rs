//! Server configuration: a plain value built once with [`Config::builder`], with secure
//! defaults (DESIGN.md principle 9) and every lifetime configurable separately.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::audit::{AuditEvent, AuditSink};
use crate::error::{Error, ErrorContext};
use crate::limit::{Limiter, MemoryLimiter};
use crate::resource::{Resource, Resources};
use crate::scope::ScopeSet;
use crate::time::{Clock, SystemClock};
use crate::token::TokenContext;

/// The longest lifetime an authorization code may have (RFC 6749 §4.1.2 recommends at most ten
/// minutes).
pub const MAX_CODE_LIFETIME: Duration = Duration::from_secs(600);

type ErrorHook = Arc<dyn Fn(&Error, &ErrorContext<'_>) + Send + Sync>;
type FieldsHook =
    Arc<dyn Fn(&TokenContext<'_>) -> serde_json::Map<String, serde_json::Value> + Send + Sync>;

/// The longest lifetime a pushed authorization request's `request_uri` may have (RFC 9126 §2.2
/// suggests between 5 and 600 seconds).
pub const MAX_PUSHED_REQUEST_LIFETIME: Duration = Duration::from_secs(600);

/// How a [`Server`](crate::Server) behaves. Build with [`Config::builder`].
#[derive(Clone)]
pub struct Config {
    pub(crate) issuer: String,
    /// The issuer urlencoded, as the `iss` parameter of authorization responses carries it.
    issuer_encoded: String,
    pub(crate) code_lifetime: Duration,
    pub(crate) access_token_lifetime: Duration,
    pub(crate) refresh_token_lifetime: Duration,
    pub(crate) issue_refresh_tokens: bool,
    pub(crate) rotate_refresh_tokens: bool,
    pub(crate) refresh_grace_period: Option<Duration>,
    pub(crate) refresh_grace_retries: u32,
    pub(crate) refresh_tokens_for_client_credentials: bool,
    pub(crate) require_pkce_for_all: bool,
    pub(crate) allow_plain_pkce: bool,
    pub(crate) require_state: bool,
    pub(crate) issuer_parameter: bool,
    pub(crate) offline_access_required: bool,
    pub(crate) always_granted_scopes: ScopeSet,
    pub(crate) bearer_in_query: bool,
    pub(crate) bearer_in_body: bool,
    pub(crate) realm: String,
    pub(crate) max_parameter_bytes: usize,
    pub(crate) max_extra_parameters: usize,
    pub(crate) max_extra_parameter_bytes: usize,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) on_internal_error: Option<ErrorHook>,
    pub(crate) audit: Option<Arc<dyn AuditSink>>,
    pub(crate) limiter: Option<Arc<dyn Limiter>>,
    pub(crate) token_response_fields: Option<FieldsHook>,
    pub(crate) endpoints: Endpoints,
    pub(crate) resources: Resources,
    pub(crate) device_code_lifetime: Duration,
    pub(crate) device_poll_interval: Duration,
    pub(crate) device_user_code_attempts: u32,
    pub(crate) device_user_code_window: Duration,
    pub(crate) device_user_code_budget: u32,
    /// DPoP (RFC 9449), when the server accepts proofs.
    #[cfg(feature = "jose")]
    pub(crate) dpop: Option<crate::dpop::Dpop>,
    /// Whether the FAPI 2.0 Security Profile is on.
    pub(crate) fapi2: bool,
    pub(crate) pushed_request_lifetime: Duration,
    pub(crate) require_pushed_authorization_requests: bool,
    /// Client assertions (RFC 7523), when the server accepts them.
    #[cfg(feature = "jose")]
    pub(crate) client_assertions: Option<crate::client_auth::assertion::ClientAssertions>,
}

impl Config {
    /// Starts a configuration for the server with this issuer identifier: an `https` URL (or
    /// `http` on a loopback host, for development) without query or fragment (RFC 8414 §2).
    pub fn builder(issuer: &str) -> ConfigBuilder {
        ConfigBuilder {
            issuer: issuer.to_owned(),
            always_granted_scopes: String::new(),
            realm: None,
            config: Config {
                issuer: String::new(),
                issuer_encoded: String::new(),
                code_lifetime: Duration::from_secs(60),
                access_token_lifetime: Duration::from_secs(3600),
                refresh_token_lifetime: Duration::from_secs(30 * 24 * 3600),
                issue_refresh_tokens: true,
                rotate_refresh_tokens: true,
                refresh_grace_period: None,
                refresh_grace_retries: 1,
                refresh_tokens_for_client_credentials: false,
                require_pkce_for_all: false,
                allow_plain_pkce: false,
                require_state: false,
                issuer_parameter: true,
                offline_access_required: false,
                always_granted_scopes: ScopeSet::new(),
                bearer_in_query: false,
                bearer_in_body: true,
                realm: String::new(),
                max_parameter_bytes: 16 * 1024,
                max_extra_parameters: 32,
                max_extra_parameter_bytes: 4 * 1024,
                clock: Arc::new(SystemClock),
                on_internal_error: None,
                audit: None,
                limiter: Some(Arc::new(MemoryLimiter::default())),
                token_response_fields: None,
                endpoints: Endpoints::default(),
                resources: Resources::default(),
                device_code_lifetime: Duration::from_secs(600),
                device_poll_interval: Duration::from_secs(5),
                device_user_code_attempts: 10,
                device_user_code_window: Duration::from_secs(600),
                device_user_code_budget: 1_000,
                #[cfg(feature = "jose")]
                dpop: None,
                fapi2: false,
                pushed_request_lifetime: Duration::from_secs(60),
                require_pushed_authorization_requests: false,
                #[cfg(feature = "jose")]
                client_assertions: None,
            },
        }
    }

    /// The issuer identifier, exactly as configured.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// How long an authorization code can be redeemed.
    pub fn code_lifetime(&self) -> Duration {
        self.code_lifetime
    }

    /// How long an access token is valid.
    pub fn access_token_lifetime(&self) -> Duration {
        self.access_token_lifetime
    }

    /// How long a refresh token is valid.
    pub fn refresh_token_lifetime(&self) -> Duration {
        self.refresh_token_lifetime
    }

    /// Whether the code and password grants issue refresh tokens (a host's grant decides for
    /// itself, and may follow this).
    pub fn issues_refresh_tokens(&self) -> bool {
        self.issue_refresh_tokens
    }

    /// Whether each refresh replaces the refresh token (public clients' always do).
    pub fn rotates_refresh_tokens(&self) -> bool {
        self.rotate_refresh_tokens
    }

    /// The refresh grace window (C-RG-1): how long after a refresh token was rotated the same
    /// client may present it again and get fresh tokens of the same family instead of having
    /// the family revoked. `None` (the default): off.
    pub fn refresh_grace_period(&self) -> Option<Duration> {
        self.refresh_grace_period
    }

    /// How many times a rotated refresh token is answered within the grace window (default 1).
    pub fn refresh_grace_retries(&self) -> u32 {
        self.refresh_grace_retries
    }

    /// The authorization endpoint's URL, as the metadata advertises it.
    pub fn authorization_endpoint(&self) -> &str {
        self.endpoints.authorization.as_deref().unwrap_or_default()
    }

    /// The token endpoint's URL, as the metadata advertises it (what a proof of possession
    /// names as its `htu`).
    pub fn token_endpoint(&self) -> &str {
        self.endpoints.token.as_deref().unwrap_or_default()
    }

    /// The revocation endpoint's URL, as the metadata advertises it.
    pub fn revocation_endpoint(&self) -> &str {
        self.endpoints.revocation.as_deref().unwrap_or_default()
    }

    /// The introspection endpoint's URL, as the metadata advertises it.
    pub fn introspection_endpoint(&self) -> &str {
        self.endpoints.introspection.as_deref().unwrap_or_default()
    }

    /// The UserInfo endpoint's URL, as OpenID Connect discovery advertises it.
    pub fn userinfo_endpoint(&self) -> &str {
        self.endpoints.userinfo.as_deref().unwrap_or_default()
    }

    /// The URL of the JSON Web Key Set the server's signatures are checked with (`jwks_uri`).
    pub fn jwks_uri(&self) -> &str {
        self.endpoints.jwks.as_deref().unwrap_or_default()
    }

    /// The protected resources tokens may be issued for (RFC 8707), in the order registered.
    pub fn resources(&self) -> &[Resource] {
        self.resources.all()
    }

    /// The registered resource with this identifier.
    pub fn resource(&self, id: &str) -> Option<&Resource> {
        self.resources.find(id)
    }

    /// The resource that tokens are for when their request names none, if one is configured.
    pub fn default_resource(&self) -> Option<&str> {
        self.resources.default_id()
    }

    /// The device authorization endpoint's URL (RFC 8628 §3.1), as the metadata advertises it
    /// when the device grant is registered.
    pub fn device_authorization_endpoint(&self) -> &str {
        self.endpoints
            .device_authorization
            .as_deref()
            .unwrap_or_default()
    }

    /// The verification URI shown to the user of a device (RFC 8628 §3.2): the host's page
    /// where a user code is entered.
    pub fn device_verification_uri(&self) -> &str {
        self.endpoints
            .device_verification
            .as_deref()
            .unwrap_or_default()
    }

    /// How long a device code can be polled and its user code entered (RFC 8628 `expires_in`).
    pub fn device_code_lifetime(&self) -> Duration {
        self.device_code_lifetime
    }

    /// The interval a device starts polling at (RFC 8628 `interval`).
    pub fn device_poll_interval(&self) -> Duration {
        self.device_poll_interval
    }

    /// The pushed authorization request endpoint's URL (RFC 9126 §5), as the metadata
    /// advertises it.
    pub fn pushed_authorization_request_endpoint(&self) -> &str {
        self.endpoints
            .pushed_authorization_request
            .as_deref()
            .unwrap_or_default()
    }

    /// How long a pushed request's `request_uri` can be used (RFC 9126 `expires_in`).
    pub fn pushed_request_lifetime(&self) -> Duration {
        self.pushed_request_lifetime
    }

    /// Whether every authorization request must be pushed first (RFC 9126 §5), whatever its
    /// client's registration says.
    pub fn requires_pushed_authorization_requests(&self) -> bool {
        self.require_pushed_authorization_requests
    }

    /// The client registration endpoint's URL (RFC 7591), as the metadata advertises it when
    /// registration is open; a registered client manages its registration at this URL followed
    /// by `/` and its client id (RFC 7592).
    pub fn registration_endpoint(&self) -> &str {
        self.endpoints.registration.as_deref().unwrap_or_default()
    }

    /// Whether OpenID grants get refresh tokens only with `offline_access`.
    pub fn requires_offline_access(&self) -> bool {
        self.offline_access_required
    }

    /// The scopes added to every user token.
    pub fn always_granted_scopes(&self) -> &ScopeSet {
        &self.always_granted_scopes
    }

    /// The realm named in `WWW-Authenticate` challenges.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Whether PKCE `plain` is accepted.
    pub fn allows_plain_pkce(&self) -> bool {
        self.allow_plain_pkce
    }

    /// The urlencoded `iss` value for authorization responses, when they carry one.
    pub(crate) fn issuer_parameter_value(&self) -> Option<&str> {
        self.issuer_parameter
            .then_some(self.issuer_encoded.as_str())
    }

    /// Whether authorization responses carry `iss` (RFC 9207).
    pub fn sends_issuer_parameter(&self) -> bool {
        self.issuer_parameter
    }

    /// The clock the server reads.
    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// How DPoP proofs are checked (RFC 9449), when the server accepts them.
    #[cfg(feature = "jose")]
    pub fn dpop(&self) -> Option<&crate::dpop::Dpop> {
        self.dpop.as_ref()
    }

    /// Whether the FAPI 2.0 Security Profile is on (see [`fapi`](crate::fapi)).
    pub fn is_fapi2(&self) -> bool {
        self.fapi2
    }

    /// How client assertions (`private_key_jwt`, `client_secret_jwt`) are checked, when the
    /// server accepts them.
    #[cfg(feature = "jose")]
    pub fn client_assertions(&self) -> Option<&crate::ClientAssertions> {
        self.client_assertions.as_ref()
    }

    /// What `Debug` shows of the DPoP and client-assertion settings.
    fn jose_debug(&self) -> (&dyn fmt::Debug, &dyn fmt::Debug) {
        #[cfg(feature = "jose")]
        return (&self.dpop, &self.client_assertions);
        #[cfg(not(feature = "jose"))]
        return (&"unavailable", &"unavailable");
    }

    /// Hands the event `make` builds to the audit sink, if one is installed (C-OB-2); with none,
    /// `make` is not called.
    pub(crate) fn audit(&self, make: impl FnOnce() -> AuditEvent) {
        if let Some(sink) = &self.audit {
            sink.record(&make());
        }
    }

    /// Hands an internal error to the host's hook, if any.
    pub(crate) fn report(&self, error: &Error, context: ErrorContext<'_>) {
        if let Some(hook) = &self.on_internal_error {
            hook(error, &context);
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("issuer", &self.issuer())
            .field("code_lifetime", &self.code_lifetime)
            .field("access_token_lifetime", &self.access_token_lifetime)
            .field("refresh_token_lifetime", &self.refresh_token_lifetime)
            .field("issue_refresh_tokens", &self.issue_refresh_tokens)
            .field("rotate_refresh_tokens", &self.rotate_refresh_tokens)
            .field("refresh_grace_period", &self.refresh_grace_period)
            .field("refresh_grace_retries", &self.refresh_grace_retries)
            .field("require_pkce_for_all", &self.require_pkce_for_all)
            .field("allow_plain_pkce", &self.allow_plain_pkce)
            .field("require_state", &self.require_state)
            .field("issuer_parameter", &self.issuer_parameter)
            .field("offline_access_required", &self.offline_access_required)
            .field("always_granted_scopes", &self.always_granted_scopes)
            .field("bearer_in_query", &self.bearer_in_query)
            .field("bearer_in_body", &self.bearer_in_body)
            .field("realm", &self.realm)
            .field("max_parameter_bytes", &self.max_parameter_bytes)
            .field("max_extra_parameters", &self.max_extra_parameters)
            .field("max_extra_parameter_bytes", &self.max_extra_parameter_bytes)
            .field("audit", &self.audit.is_some())
            .field("limiter", &self.limiter.is_some())
            .field("endpoints", &self.endpoints)
            .field("resources", &self.resources)
            .field("device_code_lifetime", &self.device_code_lifetime)
            .field("device_poll_interval", &self.device_poll_interval)
            .field("device_user_code_attempts", &self.device_user_code_attempts)
            .field("device_user_code_window", &self.device_user_code_window)
            .field("device_user_code_budget", &self.device_user_code_budget)
            .field("dpop", &self.jose_debug().0)
            .field("client_assertions", &self.jose_debug().1)
            .field("fapi2", &self.fapi2)
            .field("pushed_request_lifetime", &self.pushed_request_lifetime)
            .field(
                "require_pushed_authorization_requests",
                &self.require_pushed_authorization_requests,
            )
            .finish_non_exhaustive()
    }
}

/// Builds a [`Config`]; every setting has a secure default.
///
/// ```
/// use std::time::Duration;
/// use grantor::Config;
///
/// let config = Config::builder("https://auth.example.com")
///     .access_token_lifetime(Duration::from_secs(900))
///     .require_state(true)
///     .build()?;
/// assert_eq!(config.issuer(), "https://auth.example.com");
/// # Ok::<(), grantor::Error>(())
/// ```
#[must_use]
pub struct ConfigBuilder {
    issuer: String,
    always_granted_scopes: String,
    realm: Option<String>,
    config: Config,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                self.config.$name = value;
                self
            }
        )*
    };
}

impl ConfigBuilder {
    setters! {
        /// How long an authorization code can be redeemed (default 60 s, at most 10 min).
        code_lifetime: Duration;
        /// How long an access token is valid (default 1 h).
        access_token_lifetime: Duration;
        /// How long a refresh token is valid (default 30 days).
        refresh_token_lifetime: Duration;
        /// Whether the code and password grants issue refresh tokens (default on).
        issue_refresh_tokens: bool;
        /// Whether each refresh replaces the refresh token, with reuse detection (default on,
        /// RFC 9700 §4.14.2). Public clients' refresh tokens rotate even when this is off.
        rotate_refresh_tokens: bool;
        /// Whether the client credentials grant issues refresh tokens (default off, RFC 6749
        /// §4.4.3).
        refresh_tokens_for_client_credentials: bool;
        /// Whether confidential clients must use PKCE too (public clients always must; default
        /// off).
        require_pkce_for_all: bool;
        /// Whether PKCE `plain` is accepted (default off, RFC 9700 §2.1.1).
        allow_plain_pkce: bool;
        /// Whether authorization requests must carry `state` (default off, C-AZ-10).
        require_state: bool;
        /// Whether authorization responses carry `iss` (default on, RFC 9207).
        issuer_parameter: bool;
        /// Whether an OpenID Connect grant gets a refresh token only with the `offline_access`
        /// scope, which is dropped unless the owner saw the consent page (default off: OpenID
        /// grants get refresh tokens as OAuth grants do; OpenID Connect Core §11).
        offline_access_required: bool;
        /// Whether the resource server accepts `access_token` in the query string (default off,
        /// RFC 6750 §2.3 discourages it).
        bearer_in_query: bool;
        /// Whether the resource server accepts `access_token` in a form body (default on).
        bearer_in_body: bool;
        /// The largest query string or form body accepted, in bytes (default 16 KiB).
        max_parameter_bytes: usize;
        /// How many parameters grantor does not interpret an authorization request may carry
        /// for the host ([`AuthorizationRequest::extras`](crate::AuthorizationRequest::extras);
        /// default 32). More is `invalid_request`.
        max_extra_parameters: usize;
        /// How many bytes those parameters' names and values may take together (default 4 KiB).
        /// More is `invalid_request`.
        max_extra_parameter_bytes: usize;
        /// How long a device code and its user code stay valid (RFC 8628 `expires_in`; default
        /// 600 s).
        device_code_lifetime: Duration;
        /// The interval a device must wait between polls (RFC 8628 `interval`; default 5 s).
        /// Polling sooner is answered `slow_down`, and the interval grows by 5 s.
        device_poll_interval: Duration;
        /// How many wrong user codes one key (the caller's address, say) may enter within
        /// [`device_user_code_window`](Self::device_user_code_window) before every entry from
        /// it is refused, the right code included (C-DV-3; default 10).
        device_user_code_attempts: u32;
        /// The sliding window over which wrong user codes are counted (default 600 s; at least
        /// the device code lifetime, so that a code's whole life is covered).
        device_user_code_window: Duration;
        /// How many wrong user codes the server takes from all keys together within the window
        /// before every entry is refused (default 1,000): the bound on guessing when an
        /// attacker has many addresses. With `n` live codes, the chance that the budget finds
        /// one is about `budget × n / 20⁸` (1,000 live codes: 1 in 26,000). Counted by each
        /// instance of a fleet.
        device_user_code_budget: u32;
        /// How long a pushed authorization request's `request_uri` can be used (RFC 9126
        /// `expires_in`; default 60 s, between 1 s and 10 min).
        pushed_request_lifetime: Duration;
        /// Whether every authorization request must be pushed to the pushed authorization
        /// request endpoint first (RFC 9126 §5; default off: only clients registered with
        /// [`require_pushed_authorization_requests`](crate::ClientBuilder::require_pushed_authorization_requests)
        /// must). A request without `request_uri` is then refused with `invalid_request`.
        require_pushed_authorization_requests: bool;
    }

    /// Space-delimited scopes added to every user token, e.g. `"basic"` (C-SC-2).
    pub fn always_granted_scopes(mut self, scopes: &str) -> Self {
        scopes.clone_into(&mut self.always_granted_scopes);
        self
    }

    /// Turns on the refresh grace window (C-RG-1; default off): a rotated refresh token
    /// presented again **by the client it was issued to**, less than `period` after its
    /// rotation, is answered with fresh tokens of the same grant family (a new access token and
    /// a new refresh token) instead of revoking the family, at most
    /// [`refresh_grace_retries`](Self::refresh_grace_retries) times. This covers a refresh
    /// response lost on the way and two tabs refreshing at once. The refresh token issued by
    /// the first rotation stays valid too: every refresh token of the family is usable once.
    /// After the window, from another client, or beyond the retries, a replay revokes the
    /// family as without the window (C-TK-11). A zero `period` turns the window off.
    ///
    /// Keep the window short (seconds): within it, a stolen rotated token is as good as the
    /// legitimate one, and its answer starts a branch of the family that replay detection no
    /// longer sees. For a public client, "the client it was issued to" is only its public
    /// `client_id`: the window weakens rotation's theft detection for such clients most.
    ///
    /// ```
    /// use std::time::Duration;
    /// use grantor::Config;
    ///
    /// let config = Config::builder("https://auth.example.com")
    ///     .refresh_grace_period(Duration::from_secs(30))
    ///     .build()?;
    /// assert_eq!(config.refresh_grace_period(), Some(Duration::from_secs(30)));
    /// assert_eq!(config.refresh_grace_retries(), 1);
    /// # Ok::<(), grantor::Error>(())
    /// ```
    pub fn refresh_grace_period(mut self, period: Duration) -> Self {
        self.config.refresh_grace_period = Some(period).filter(|period| !period.is_zero());
        self
    }

    /// How many times, within the [grace window](Self::refresh_grace_period), a rotated
    /// refresh token is answered (default 1; 0 answers none, as if the window were off).
    pub fn refresh_grace_retries(mut self, retries: u32) -> Self {
        self.config.refresh_grace_retries = retries;
        self
    }

    /// The realm named in `WWW-Authenticate` challenges (default: the issuer).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// The clock the server reads (default: the system clock; tests use a
    /// [`ManualClock`](crate::ManualClock)).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.config.clock = Arc::new(clock);
        self
    }

    /// A hook that sees every internal error (storage, authenticator) before the client gets a
    /// bare `server_error`, with where it happened (the endpoint, and the client the request
    /// named): the place to log it.
    ///
    /// ```
    /// use grantor::Config;
    ///
    /// let config = Config::builder("https://auth.example.com")
    ///     .on_internal_error(|error, context| {
    ///         eprintln!("{} (client {:?}): {error}", context.endpoint, context.client_id);
    ///     })
    ///     .build()?;
    /// # Ok::<(), grantor::Error>(())
    /// ```
    pub fn on_internal_error(
        mut self,
        hook: impl Fn(&Error, &ErrorContext<'_>) + Send + Sync + 'static,
    ) -> Self {
        self.config.on_internal_error = Some(Arc::new(hook));
        self
    }

    /// The sink of audit events (C-OB-2; default none): tokens issued, refresh tokens rotated,
    /// replays detected, failed client authentications and password checks, revocations,
    /// consent decisions and registrations, each delivered after the storage step it reports
    /// has committed, and never carrying a secret. See [`AuditEvent`].
    ///
    /// ```
    /// use grantor::{AuditEvent, Config};
    ///
    /// let config = Config::builder("https://auth.example.com")
    ///     .audit(|event: &AuditEvent| eprintln!("audit: {} {:?}", event.kind, event.client_id))
    ///     .build()?;
    /// # Ok::<(), grantor::Error>(())
    /// ```
    pub fn audit(mut self, sink: impl AuditSink) -> Self {
        self.config.audit = Some(Arc::new(sink));
        self
    }

    /// The limiter of failed client-secret and password checks (C-OB-3; default: a
    /// [`MemoryLimiter`] allowing 10 failures per key within 5 minutes). A refused attempt
    /// computes no hash; see [`Limiter`] for the keys and the errors.
    ///
    /// ```
    /// use std::time::Duration;
    /// use grantor::{Config, MemoryLimiter};
    ///
    /// let config = Config::builder("https://auth.example.com")
    ///     .limiter(MemoryLimiter::new(5, Duration::from_secs(900)))
    ///     .build()?;
    /// # Ok::<(), grantor::Error>(())
    /// ```
    pub fn limiter(mut self, limiter: impl Limiter) -> Self {
        self.config.limiter = Some(Arc::new(limiter));
        self
    }

    /// Accepts DPoP proofs (RFC 9449) as [`Dpop`](crate::dpop::Dpop) says: tokens requested
    /// with a proof are bound to its key and presented with `Authorization: DPoP`.
    #[cfg(feature = "jose")]
    pub fn dpop(mut self, dpop: crate::dpop::Dpop) -> Self {
        self.config.dpop = Some(dpop);
        self
    }

    /// Turns on the FAPI 2.0 Security Profile (C-FA-1): pushed authorization requests, PKCE
    /// S256 and DPoP proofs required; `private_key_jwt` the only client authentication; no
    /// implicit, hybrid or password grant; `iss` in authorization responses; codes living at
    /// most 60 s; PS256, ES256 or EdDSA only. [`build`](Self::build) refuses a configuration
    /// without [`dpop`](Self::dpop) or [`client_assertions`](Self::client_assertions). See
    /// [`fapi`](crate::fapi) for the details.
    ///
    /// ```
    /// use grantor::dpop::Dpop;
    /// use grantor::{ClientAssertions, Config, MemoryStorage};
    ///
    /// let storage = MemoryStorage::new();
    /// let config = Config::builder("https://bank.example.com")
    ///     .dpop(Dpop::new(storage.clone()))
    ///     .client_assertions(ClientAssertions::new(storage.clone()))
    ///     .fapi2_security_profile()
    ///     .build()?;
    /// assert!(config.is_fapi2() && config.dpop().is_some_and(|d| d.requires_proofs()));
    /// assert!(Config::builder("https://bank.example.com").fapi2_security_profile().build().is_err());
    /// # Ok::<(), grantor::Error>(())
    /// ```
    #[cfg(feature = "jose")]
    pub fn fapi2_security_profile(mut self) -> Self {
        self.config.fapi2 = true;
        self
    }

    /// Accepts client assertions (`private_key_jwt`, and `client_secret_jwt` with a
    /// [`ClientSecretKeys`](crate::ClientSecretKeys)) checked as `assertions` says (RFC 7523,
    /// C-CA-1); the metadata lists the methods and their algorithms.
    #[cfg(feature = "jose")]
    pub fn client_assertions(mut self, assertions: crate::ClientAssertions) -> Self {
        self.config.client_assertions = Some(assertions);
        self
    }

    /// Turns the limiter of failed checks off (not recommended: a host without it must limit
    /// failed attempts in front of the server).
    pub fn without_limiter(mut self) -> Self {
        self.config.limiter = None;
        self
    }

    /// A hook that adds fields to every successful token response, whatever the grant (a
    /// host's own included), e.g. Adobe's `user_id`. It cannot replace the standard fields
    /// (`access_token`, `token_type`, `expires_in`, `refresh_token`, `scope`); such names are
    /// ignored.
    ///
    /// ```
    /// use grantor::Config;
    ///
    /// let config = Config::builder("https://auth.example.com")
    ///     .token_response_fields(|issued| {
    ///         let mut fields = serde_json::Map::new();
    ///         if let Some(owner) = issued.owner {
    ///             fields.insert("user_id".into(), owner.as_str().into());
    ///         }
    ///         fields
    ///     })
    ///     .build()?;
    /// # Ok::<(), grantor::Error>(())
    /// ```
    pub fn token_response_fields(
        mut self,
        hook: impl Fn(&TokenContext<'_>) -> serde_json::Map<String, serde_json::Value>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.config.token_response_fields = Some(Arc::new(hook));
        self
    }

    /// The authorization endpoint's URL, as advertised in the metadata (default: the issuer
    /// followed by `/authorize`). Absolute, `https` (or `http` on a loopback host).
    pub fn authorization_endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.endpoints.authorization = Some(url.into());
        self
    }

    /// The token endpoint's URL, as advertised in the metadata (default: the issuer followed by
    /// `/token`).
    pub fn token_endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.endpoints.token = Some(url.into());
        self
    }

    /// The revocation endpoint's URL, as advertised in the metadata (default: the issuer followed
    /// by `/revoke`).
    pub fn revocation_endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.endpoints.revocation = Some(url.into());
        self
    }

    /// The introspection endpoint's URL, as advertised in the metadata (default: the issuer
    /// followed by `/introspect`).
    pub fn introspection_endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.endpoints.introspection = Some(url.into());
        self
    }

    /// The UserInfo endpoint's URL, as OpenID Connect discovery advertises it (default: the
    /// issuer followed by `/userinfo`).
    pub fn userinfo_endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.endpoints.userinfo = Some(url.into());
        self
    }

    /// The URL of the JSON Web Key Set document, as the metadata advertises it (default: the
    /// issuer followed by `/jwks`).
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.config.endpoints.jwks = Some(url.into());
        self
    }

    /// The device authorization endpoint's URL (default: the issuer followed by
    /// `/device_authorization`), as advertised in the metadata.
    pub fn device_authorization_endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.endpoints.device_authorization = Some(url.into());
        self
    }

    /// The verification URI a device shows its user (default: the issuer followed by
    /// `/device`): the host's page that takes a user code. `verification_uri_complete` is it
    /// with `?user_code=` (or `&user_code=`) appended.
    pub fn device_verification_uri(mut self, url: impl Into<String>) -> Self {
        self.config.endpoints.device_verification = Some(url.into());
        self
    }

    /// The pushed authorization request endpoint's URL (default: the issuer followed by
    /// `/par`), as advertised in the metadata (RFC 9126 §5).
    pub fn pushed_authorization_request_endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.endpoints.pushed_authorization_request = Some(url.into());
        self
    }

    /// The client registration endpoint's URL (default: the issuer followed by `/register`);
    /// see [`ServerBuilder::registration`](crate::ServerBuilder::registration).
    pub fn registration_endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.endpoints.registration = Some(url.into());
        self
    }

    /// The space-delimited scopes the metadata lists as `scopes_supported` (default: the
    /// always-granted scopes; RFC 8414 lets a server keep some of its scopes unlisted).
    pub fn scopes_supported(mut self, scopes: &str) -> Self {
        self.config.endpoints.scopes_supported_text = Some(scopes.to_owned());
        self
    }

    /// Registers a protected resource that clients may ask tokens for with `resource`
    /// (RFC 8707); one registered before with the same identifier is replaced. A request
    /// naming a resource that is not registered is refused with `invalid_target`.
    pub fn resource(mut self, resource: Resource) -> Self {
        self.config.resources.register(resource);
        self
    }

    /// The registered resource whose identifier is the audience of tokens whose request names
    /// no resource (for a client allowed it), so that clients that send no `resource` keep
    /// working (default: none, and such tokens have no audience).
    pub fn default_resource(mut self, id: &str) -> Self {
        self.config.resources.set_default(id);
        self
    }

    /// Validates and builds the configuration.
    pub fn build(self) -> Result<Config, Error> {
        let mut config = self.config;
        check_issuer(&self.issuer)?;
        config.issuer_encoded =
            url::form_urlencoded::byte_serialize(self.issuer.as_bytes()).collect();
        config.issuer = self.issuer;
        if config.code_lifetime.as_secs() == 0 || config.code_lifetime > MAX_CODE_LIFETIME {
            return Err(Error::config(
                "the code lifetime must be between 1 s and 10 min",
            ));
        }
        if config.pushed_request_lifetime.as_secs() == 0
            || config.pushed_request_lifetime > MAX_PUSHED_REQUEST_LIFETIME
        {
            return Err(Error::config(
                "the pushed request lifetime must be between 1 s and 10 min",
            ));
        }
        if config.device_user_code_attempts == 0
            || config.device_user_code_budget == 0
            || config.device_user_code_window < config.device_code_lifetime
        {
            return Err(Error::config(
                "user-code entry needs at least one attempt per key and overall, counted over \
                 a window at least as long as the device code lifetime (C-DV-3)",
            ));
        }
        if config.access_token_lifetime.as_secs() == 0
            || config.refresh_token_lifetime.as_secs() == 0
        {
            return Err(Error::config("token lifetimes must be at least one second"));
        }
        #[cfg(feature = "jose")]
        if config.fapi2 {
            crate::fapi::apply(&mut config)?;
        }
        config.always_granted_scopes = ScopeSet::parse(&self.always_granted_scopes)
            .map_err(|_| Error::config("malformed always-granted scopes"))?;
        config.endpoints.resolve(&config.issuer)?;
        config.resources.check()?;
        config.realm = self.realm.unwrap_or_else(|| config.issuer().to_owned());
        if config.realm.contains(['"', '\\']) || !config.realm.is_ascii() {
            return Err(Error::config(
                "the realm must be ASCII without quotes or backslashes",
            ));
        }
        Ok(config)
    }
}

/// Where the host mounted the endpoints, and which scopes the metadata lists. Set through the
/// [`ConfigBuilder`]; [`resolve`](Self::resolve) fills in the defaults.
#[derive(Debug, Clone, Default)]
pub(crate) struct Endpoints {
    pub(crate) authorization: Option<String>,
    pub(crate) token: Option<String>,
    pub(crate) revocation: Option<String>,
    pub(crate) introspection: Option<String>,
    pub(crate) userinfo: Option<String>,
    pub(crate) jwks: Option<String>,
    pub(crate) registration: Option<String>,
    pub(crate) device_authorization: Option<String>,
    pub(crate) device_verification: Option<String>,
    pub(crate) pushed_authorization_request: Option<String>,
    pub(crate) scopes_supported_text: Option<String>,
    pub(crate) scopes_supported: Option<ScopeSet>,
}

impl Endpoints {
    /// Checks the URLs the host set, fills in the defaults below `issuer`, and parses the
    /// advertised scopes.
    fn resolve(&mut self, issuer: &str) -> Result<(), Error> {
        let base = issuer.trim_end_matches('/');
        for (url, default) in [
            (&mut self.authorization, "/authorize"),
            (&mut self.token, "/token"),
            (&mut self.revocation, "/revoke"),
            (&mut self.introspection, "/introspect"),
            (&mut self.userinfo, "/userinfo"),
            (&mut self.jwks, "/jwks"),
            (&mut self.registration, "/register"),
            (&mut self.device_authorization, "/device_authorization"),
            (&mut self.device_verification, "/device"),
            (&mut self.pushed_authorization_request, "/par"),
        ] {
            match url {
                Some(url) => check_endpoint(url)?,
                None => *url = Some(format!("{base}{default}")),
            }
        }
        if let Some(text) = &self.scopes_supported_text {
            let scopes = ScopeSet::parse(text)
                .map_err(|_| Error::config("malformed scopes_supported list"))?;
            self.scopes_supported = Some(scopes);
        }
        Ok(())
    }
}

/// An endpoint URL must be absolute, without fragment, and use `https` (or `http` on a loopback
/// host, for development) (RFC 6749 §3.1, §3.2).
fn check_endpoint(url: &str) -> Result<(), Error> {
    let parsed =
        Url::parse(url).map_err(|_| Error::config("an endpoint must be an absolute URL"))?;
    let secure = parsed.scheme() == "https" || (parsed.scheme() == "http" && is_loopback(&parsed));
    if !secure || parsed.fragment().is_some() || url.contains('#') {
        return Err(Error::config(
            "an endpoint URL must use https (http only on a loopback host) and have no fragment",
        ));
    }
    Ok(())
}

fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

fn check_issuer(issuer: &str) -> Result<(), Error> {
    let url =
        Url::parse(issuer).map_err(|_| Error::config("the issuer must be an absolute URL"))?;
    if url.scheme() != "https" && !(url.scheme() == "http" && is_loopback(&url)) {
        return Err(Error::config(
            "the issuer must use https (http only on a loopback host)",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || issuer.contains(['?', '#']) {
        return Err(Error::config(
            "the issuer must not have a query or fragment",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_defaults() {
        let c = Config::builder("https://auth.example.com").build().unwrap();
        assert_eq!(c.issuer(), "https://auth.example.com");
        assert_eq!(c.code_lifetime(), Duration::from_secs(60));
        assert!(c.rotate_refresh_tokens && c.issuer_parameter && !c.allow_plain_pkce);
        assert!(!c.bearer_in_query);
        assert_eq!(c.realm(), "https://auth.example.com");
        assert_eq!(c.token_endpoint(), "https://auth.example.com/token");
        assert_eq!(
            c.authorization_endpoint(),
            "https://auth.example.com/authorize"
        );
    }

    #[test]
    fn endpoints_default_below_the_issuer_and_are_checked() {
        let mut endpoints = Endpoints::default();
        endpoints.resolve("https://a.example/tenant1/").unwrap();
        assert_eq!(
            endpoints.revocation.as_deref(),
            Some("https://a.example/tenant1/revoke")
        );
        for bad in ["/token", "http://a.example/token", "https://a.example/t#x"] {
            let mut endpoints = Endpoints {
                token: Some(bad.to_owned()),
                ..Endpoints::default()
            };
            assert!(endpoints.resolve("https://a.example").is_err(), "{bad}");
        }
        let mut endpoints = Endpoints {
            scopes_supported_text: Some("a  b".to_owned()),
            ..Endpoints::default()
        };
        assert!(endpoints.resolve("https://a.example").is_err());
    }

    #[test]
    fn rejects_unsafe_settings() {
        for issuer in [
            "http://auth.example.com",
            "https://a.example?x=1",
            "https://a.example#f",
            "nope",
        ] {
            assert!(Config::builder(issuer).build().is_err(), "{issuer}");
        }
        assert!(Config::builder("http://127.0.0.1:8080").build().is_ok());
        for lifetime in [Duration::from_secs(601), Duration::from_millis(500)] {
            let config = Config::builder("https://a.example")
                .code_lifetime(lifetime)
                .build();
            assert!(config.is_err(), "{lifetime:?}");
        }
        assert_eq!(
            Config::builder("https://a.example/tenant/")
                .build()
                .unwrap()
                .issuer(),
            "https://a.example/tenant/"
        );
    }
}
