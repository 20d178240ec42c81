//! What the server starts with: its clients and users, from `--config FILE` or the built-in demo.
//!
//! The file is JSON (see `config.sample.json` beside this file and the README):
//!
//! ```json
//! {"clients": [{"client_id": "…", "client_secret": "…", "name": "…", "redirect_uris": ["…"],
//!               "grant_types": ["authorization_code", "refresh_token"],
//!               "scopes": ["openid", "profile"],
//!               "response_types": ["code", "code id_token"],
//!               "id_token_signed_response_alg": "ES256"}],
//!  "users": [{"username": "…", "password": "…",
//!             "claims": {"name": "…", "email": "…", "email_verified": true}}]}
//! ```
//!
//! Top level:
//!
//! | field | meaning |
//! |---|---|
//! | `clients` | the clients to register (default none) |
//! | `users` | the users who can log in (default none) |
//! | `resources` | the protected resources tokens are for (RFC 8707), each `{"resource": URL or path below the issuer, "scopes": […], "access_token_format": "opaque" \| "jwt", "access_token_lifetime": seconds}`; default: this server's `/api/me`, opaque |
//! | `default_resource` | the resource a request naming none is for (default `/api/me` when registered) |
//! | `registration` | dynamic client registration at `/register`: `{"open": true}`, or `{"initial_access_token": "…"}` to require that token; default closed |
//! | `exchange` | token exchange (RFC 8693) at `/token`: a list of `{"client_id": …, "from_audience": …, "to_resource": …, "scopes": […]}`, each letting that client (registered for the grant type `urn:ietf:params:oauth:grant-type:token-exchange`) trade a subject token whose audience includes `from_audience` (a resource, or a client id for an ID token) for a token for `to_resource` with at most `scopes` (within the subject token's; an ID token, which has none, gets them); absent: the grant is not offered; any other exchange is refused |
//! | `scope_descriptions` | what each scope means, shown on the consent page beside its id: `{"messages": "read and send your messages"}`; OpenID Connect's standard scopes (`openid`, `profile`, `email`, `address`, `phone`, `offline_access`) have built-in descriptions, which these replace |
//! | `refresh_grace_seconds` | the refresh grace window: for how many seconds a rotated refresh token may be presented once more by its client (a lost response, two tabs) before a replay revokes its family; 0 or absent: off |
//! | `profile` | `"fapi2"`: the FAPI 2.0 Security Profile (PAR, PKCE S256, DPoP proofs and `private_key_jwt` required; no implicit or password grant; codes live 60 s; PS256, ES256 or EdDSA only); absent: none. DPoP proofs are accepted at `/token` and `/api/me` either way |
//!
//! Each client:
//!
//! | field | meaning |
//! |---|---|
//! | `client_id` | the client identifier (required) |
//! | `client_secret` | the secret of a confidential client; absent: a public client, which must use PKCE |
//! | `name` | the name shown on the login and consent pages (default: the id) |
//! | `redirect_uris` | the registered redirect URIs (needed by the code and implicit grants) |
//! | `grant_types` | grant type names (default `authorization_code` and `refresh_token`; `urn:ietf:params:oauth:grant-type:device_code` for a device, RFC 8628) |
//! | `scopes` | the scopes the client may request; a request that names none gets all of them. Add `openid` for OpenID Connect |
//! | `response_types` | the response types the client may ask for, e.g. `"code"`, `"code id_token"` (default: those its grant types imply) |
//! | `id_token_signed_response_alg` | how its ID tokens are signed: `RS256` (default), `PS256`, `ES256` or `EdDSA` |
//! | `resources` | the resources the client may ask tokens for (default: all) |
//! | `token_endpoint_auth_method` | `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none` (default: the secret methods with a secret, else `none`). `client_secret_jwt` needs the host to hold the secret in clear, which this example does not do |
//! | `jwks` | the client's public keys, a JWK Set (`{"keys": […]}`), for `private_key_jwt`: the client then signs a JWT assertion (RFC 7523) instead of sending a secret |
//! | `dpop_bound_access_tokens` | `true`: the client's token requests must carry a DPoP proof (RFC 9449 §5.2); default `false` |
//! | `require_pushed_authorization_requests` | `true`: the client must push its authorization requests to `/par` first (RFC 9126); default `false` |
//!
//! Each user:
//!
//! | field | meaning |
//! |---|---|
//! | `username` | the login name, also the user's id (`sub`) in tokens (required) |
//! | `password` | the password, in clear (hashed at startup; required) |
//! | `claims` | standard OpenID Connect claims (`name`, `email`, `email_verified`, …), served by UserInfo to clients granted the matching scope (`profile`, `email`, `address`, `phone`) |
//!
//!
//! Any other field is an error, so that a typo does not go unnoticed.
//!
//! A real host keeps clients in its database and registers them through grantor's `Storage`;
//! this file is for trying things.

use std::error::Error;
use std::path::Path;

use std::sync::Arc;
use std::time::Duration;

use grantor::dpop::Dpop;
use grantor::grant::{Allowance, ExchangeRequest, ExchangeTokenType, TokenExchangeGrant};
use grantor::oidc::{ClaimSet, SigningAlgorithm};
use grantor::storage::ReplayCache;
use grantor::{
    Client, ClientAssertions, ClientSecret, Config, ConfigBuilder, GrantType, OAuthError,
    RegistrationPolicy, Resource, ResponseType, ScopeSet, TokenFormat,
};
use serde::Deserialize;

/// The contents of a configuration file (`Default`: no clients, no users).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    /// The clients to register.
    #[serde(default)]
    pub clients: Vec<ClientEntry>,
    /// The users who can log in.
    #[serde(default)]
    pub users: Vec<UserEntry>,
    /// The protected resources clients may ask tokens for (RFC 8707); absent: this server's
    /// own `/api/me`, with opaque tokens.
    pub resources: Option<Vec<ResourceEntry>>,
    /// The resource a request naming none is for (absent: `/api/me` when it is registered).
    pub default_resource: Option<String>,
    /// Whether and how clients may register themselves at `/register` (RFC 7591, RFC 7592);
    /// absent: they may not.
    pub registration: Option<RegistrationEntry>,
    /// A security profile to switch on: `"fapi2"`, the FAPI 2.0 Security Profile (C-FA-1).
    pub profile: Option<SecurityProfile>,
    /// The token-exchange policy (RFC 8693: C-TX-1, C-TX-2): which client may trade which
    /// subject tokens for which resource; absent: the grant is not offered.
    pub exchange: Option<Vec<ExchangeEntry>>,
    /// The refresh-token grace window in seconds (C-RG-1); 0 or absent: off.
    pub refresh_grace_seconds: Option<u64>,
    /// What each scope means, in words the consent page shows beside the scope's id
    /// (`{"messages": "read and send your messages"}`). OpenID Connect's standard scopes have
    /// built-in descriptions, which these replace.
    #[serde(default)]
    pub scope_descriptions: std::collections::HashMap<String, String>,
}

/// A security profile the server can be switched to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecurityProfile {
    /// The FAPI 2.0 Security Profile: PAR, PKCE S256, DPoP and `private_key_jwt` required.
    Fapi2,
}

/// The built-in descriptions of OpenID Connect's standard scopes (Core §5.4, §11).
pub const STANDARD_SCOPE_DESCRIPTIONS: [(&str, &str); 6] = [
    ("openid", "sign you in with your account"),
    ("profile", "your name and basic profile"),
    ("email", "your email address"),
    ("address", "your postal address"),
    ("phone", "your phone number"),
    ("offline_access", "keep access while you are away"),
];

/// One rule of the token-exchange policy: `client_id` may trade a subject token whose audience
/// includes `from_audience` for a token for `to_resource`, with at most `scopes`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeEntry {
    /// The client asking for the exchange.
    pub client_id: String,
    /// An audience of the subject token: a resource (a path below the issuer, or a URL), or
    /// a client id for an ID token.
    pub from_audience: String,
    /// The resource the new token is for (a path below the issuer, or a URL).
    pub to_resource: String,
    /// The most scope the new token may have (it never has more than the subject token).
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// One client. Its `Debug` leaves the secret out. `Default` is an entry with every optional
/// field absent, for struct-update syntax (its `client_id` is empty: set it).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEntry {
    /// The client identifier.
    pub client_id: String,
    /// The secret of a confidential client; absent for a public client.
    pub client_secret: Option<String>,
    /// The name shown on the consent page (defaults to the id).
    pub name: Option<String>,
    /// The registered redirect URIs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Grant type names; absent means `authorization_code` and `refresh_token`.
    pub grant_types: Option<Vec<String>>,
    /// The scopes the client may request; a request that names none gets all of them.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Response types (`"code"`, `"code id_token"`, …); absent means those the grant types
    /// imply.
    pub response_types: Option<Vec<String>>,
    /// The JWS algorithm of the client's ID tokens; absent means `RS256`.
    pub id_token_signed_response_alg: Option<String>,
    /// The resources the client may ask tokens for (absent: every registered one).
    pub resources: Option<Vec<String>>,
    /// How the client authenticates at the token endpoint (`client_secret_basic`,
    /// `client_secret_post`, `private_key_jwt`, `none`); absent: the secret methods for a
    /// client with a secret, else `none`.
    pub token_endpoint_auth_method: Option<String>,
    /// The client's public keys, a JWK Set, for `private_key_jwt` (RFC 7523, C-CA-1).
    pub jwks: Option<serde_json::Value>,
    /// Whether the client's token requests must carry a DPoP proof, so that all its access
    /// tokens are bound to a key (RFC 9449 §5.2).
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// Whether the client must push its authorization requests to `/par` first (RFC 9126
    /// §6, C-PA-1); absent: no.
    pub require_pushed_authorization_requests: Option<bool>,
}

impl std::fmt::Debug for ClientEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientEntry")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("name", &self.name)
            .field("redirect_uris", &self.redirect_uris)
            .field("grant_types", &self.grant_types)
            .field("scopes", &self.scopes)
            .field("response_types", &self.response_types)
            .field(
                "id_token_signed_response_alg",
                &self.id_token_signed_response_alg,
            )
            .finish_non_exhaustive()
    }
}

/// One user. The password is in clear only because this is a demo file: it is hashed with
/// argon2 at startup, and only the hash is kept. Its `Debug` shows the username only.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    /// The login name, also used as the user's id in tokens.
    pub username: String,
    /// The password, in clear.
    pub password: String,
    /// The user's OpenID Connect claims (`name`, `email`, …), for UserInfo.
    #[serde(default)]
    pub claims: ClaimSet,
}

impl std::fmt::Debug for UserEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserEntry")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Dynamic client registration: `{"open": true}` lets anyone register a client;
/// `{"initial_access_token": "…"}` lets only those who present that token. Its `Debug` leaves
/// the token out.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationEntry {
    /// Whether anyone may register (without an initial access token).
    #[serde(default)]
    pub open: bool,
    /// The token a registration must present as `Authorization: Bearer` (it wins over
    /// `open`).
    pub initial_access_token: Option<String>,
}

impl RegistrationEntry {
    /// The policy grantor applies, or `None` when registration stays closed.
    pub fn policy(&self) -> Option<RegistrationPolicy> {
        match (&self.initial_access_token, self.open) {
            (Some(token), _) => Some(RegistrationPolicy::initial_access_token(token)),
            (None, true) => Some(RegistrationPolicy::open()),
            (None, false) => None,
        }
    }
}

impl std::fmt::Debug for RegistrationEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistrationEntry")
            .field("open", &self.open)
            .field(
                "initial_access_token",
                &self.initial_access_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// One protected resource.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceEntry {
    /// The resource identifier: the URL clients call. A path (`/api/me`) is below the issuer.
    pub resource: String,
    /// The scopes it understands, listed in its metadata.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `"opaque"` (default) or `"jwt"` (RFC 9068, checkable with the JWKS alone).
    pub access_token_format: Option<String>,
    /// How long its access tokens live, in seconds (default: the server's hour).
    pub access_token_lifetime: Option<u64>,
}

impl ResourceEntry {
    /// The resource as grantor registers it; `issuer` completes a path into a URL.
    pub fn build(&self, issuer: &str) -> Result<Resource, grantor::Error> {
        let mut resource =
            Resource::new(&absolute(&self.resource, issuer))?.scopes(&self.scopes.join(" "))?;
        resource = match self.access_token_format.as_deref() {
            None | Some("opaque") => resource,
            Some("jwt") => resource.access_token_format(TokenFormat::Jwt),
            Some(other) => {
                return Err(grantor::Error::config(format!(
                    "access_token_format {other:?}: use \"opaque\" or \"jwt\""
                )));
            }
        };
        if let Some(seconds) = self.access_token_lifetime {
            resource = resource.access_token_lifetime(Duration::from_secs(seconds));
        }
        Ok(resource)
    }
}

/// A resource identifier as written in the file: a path is below the issuer.
pub fn absolute(resource: &str, issuer: &str) -> String {
    match resource.starts_with('/') {
        true => format!("{}{resource}", issuer.trim_end_matches('/')),
        false => resource.to_owned(),
    }
}

/// The path of this server's own protected API.
pub const API_ME: &str = "/api/me";
/// The notes API of `examples/resource_server.rs`, as it runs by default.
pub const NOTES_API: &str = "http://127.0.0.1:8081/notes";

/// The demo client's id.
pub const DEMO_CLIENT: &str = "demo-app";
/// The device-flow demo client's id (`examples/device_cli.rs`).
pub const DEMO_CLI: &str = "demo-cli";
/// The grant type of device-code polling (RFC 8628), as client entries name it.
pub const DEVICE_CODE_GRANT_TYPE: &str = grantor::grant::DEVICE_CODE_GRANT_TYPE;
/// The demo client's PKCE code verifier, for the authorization URL printed at startup and the
/// callback page. A real client makes a fresh random verifier for every request.
pub const DEMO_VERIFIER: &str = "demo-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";
/// The demo user's name and password.
pub const DEMO_USER: (&str, &str) = ("alice", "wonderland");

impl Setup {
    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<Self, Box<dyn Error>> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a valid configuration: {e}", path.display()).into())
    }

    /// The built-in demo: one public OpenID Connect client whose redirect URI is this
    /// server's `/callback` page, one public device-flow client (`demo-cli`), one user with a
    /// name and an email address, `/api/me` and the resource server example's notes API as
    /// resources with JWT access tokens, and open registration.
    pub fn demo(issuer: &str) -> Self {
        Self {
            clients: vec![
                ClientEntry {
                    client_id: DEMO_CLIENT.to_owned(),
                    name: Some("Demo App".to_owned()),
                    redirect_uris: vec![format!("{issuer}/callback")],
                    scopes: ["openid", "profile", "email", "messages"]
                        .map(String::from)
                        .to_vec(),
                    ..ClientEntry::default()
                },
                // `examples/device_cli.rs`: a public client of the device grant (RFC 8628).
                ClientEntry {
                    client_id: DEMO_CLI.to_owned(),
                    name: Some("Demo CLI".to_owned()),
                    grant_types: Some(vec![
                        DEVICE_CODE_GRANT_TYPE.to_owned(),
                        "refresh_token".to_owned(),
                    ]),
                    scopes: ["openid", "profile"].map(String::from).to_vec(),
                    ..ClientEntry::default()
                },
            ],
            users: vec![UserEntry {
                username: DEMO_USER.0.to_owned(),
                password: DEMO_USER.1.to_owned(),
                claims: ClaimSet::from_iter([
                    ("name".to_owned(), "Alice Liddell".into()),
                    ("email".to_owned(), "alice@example.com".into()),
                    ("email_verified".to_owned(), true.into()),
                ]),
            }],
            // This server's `/api/me`, and the notes API of `examples/resource_server.rs` (in
            // its own process on port 8081): JWT access tokens, which that API checks with
            // the JWKS alone. `/api/me` is the default, for clients that name no resource.
            resources: Some(vec![
                ResourceEntry {
                    resource: API_ME.to_owned(),
                    scopes: ["openid", "profile", "email", "messages"]
                        .map(String::from)
                        .to_vec(),
                    access_token_format: Some("jwt".to_owned()),
                    access_token_lifetime: None,
                },
                ResourceEntry {
                    resource: NOTES_API.to_owned(),
                    scopes: vec!["messages".to_owned()],
                    access_token_format: Some("jwt".to_owned()),
                    access_token_lifetime: Some(600),
                },
            ]),
            // Clients may register themselves (what an MCP client does): a demo's choice. A
            // real server requires an initial access token, or reviews each registration
            // with a hook.
            registration: Some(RegistrationEntry {
                open: true,
                initial_access_token: None,
            }),
            scope_descriptions: [("messages", "read and send your messages")]
                .into_iter()
                .map(|(scope, words)| (scope.to_owned(), words.to_owned()))
                .collect(),
            ..Setup::default()
        }
    }

    /// What the consent page says of each scope: the built-in descriptions of the standard
    /// scopes, replaced or added to by the file's `scope_descriptions`.
    pub fn scope_descriptions(&self) -> std::collections::HashMap<String, String> {
        let mut words: std::collections::HashMap<String, String> = STANDARD_SCOPE_DESCRIPTIONS
            .iter()
            .map(|(scope, words)| ((*scope).to_owned(), (*words).to_owned()))
            .collect();
        words.extend(self.scope_descriptions.clone());
        words
    }

    /// Builds the clients, checking every entry (unknown grant types, bad redirect URIs, …).
    pub fn clients(&self, issuer: &str) -> Result<Vec<Client>, grantor::Error> {
        self.clients
            .iter()
            .map(|client| client.build(issuer))
            .collect()
    }

    /// The server's configuration for `issuer`, with the resources (and the default one):
    /// those of the file, else this server's `/api/me` with opaque tokens, its default.
    pub fn config(&self, issuer: &str) -> Result<ConfigBuilder, grantor::Error> {
        let mut config = Config::builder(issuer);
        let own = || ResourceEntry {
            resource: API_ME.to_owned(),
            scopes: Vec::new(),
            access_token_format: None,
            access_token_lifetime: None,
        };
        let entries = match &self.resources {
            Some(entries) => entries.iter().map(|e| e.build(issuer)).collect(),
            None => vec![own().build(issuer)],
        };
        let mut registered = Vec::new();
        for resource in entries {
            let resource = resource?;
            registered.push(resource.id().to_owned());
            config = config.resource(resource);
        }
        let api_me = absolute(API_ME, issuer);
        let default = match &self.default_resource {
            Some(id) => Some(absolute(id, issuer)),
            None => registered.contains(&api_me).then_some(api_me),
        };
        if let Some(id) = default {
            config = config.default_resource(&id);
        }
        if let Some(seconds) = self.refresh_grace_seconds.filter(|&seconds| seconds > 0) {
            config = config.refresh_grace_period(Duration::from_secs(seconds));
        }
        Ok(config)
    }

    /// What the server adds for proofs of possession, once its storage is known: DPoP
    /// (RFC 9449) and client assertions (`private_key_jwt`, RFC 7523), whose `jti`s are kept
    /// in `replay` (the storage: every instance of a fleet sees the same), and the FAPI 2.0
    /// profile when the file asks for it.
    pub fn security(&self, config: ConfigBuilder, replay: impl ReplayCache) -> ConfigBuilder {
        let replay: Arc<dyn ReplayCache> = Arc::new(replay);
        let config = config
            .dpop(Dpop::shared(replay.clone()))
            .client_assertions(ClientAssertions::shared(replay));
        match self.profile {
            Some(SecurityProfile::Fapi2) => config.fapi2_security_profile(),
            None => config,
        }
    }

    /// The token-exchange grant with the file's policy, when the file has one: an exchange is
    /// allowed when a rule names the client, an audience of the subject token, and exactly the
    /// resource asked for; its token gets at most the rule's scopes.
    pub fn exchange_grant(
        &self,
        issuer: &str,
    ) -> Result<Option<TokenExchangeGrant>, grantor::Error> {
        let Some(entries) = &self.exchange else {
            return Ok(None);
        };
        let rules = entries
            .iter()
            .map(|entry| {
                let scopes = ScopeSet::parse(&entry.scopes.join(" "))
                    .map_err(|_| grantor::Error::config("malformed exchange scopes"))?;
                Ok((
                    entry.client_id.clone(),
                    absolute(&entry.from_audience, issuer),
                    absolute(&entry.to_resource, issuer),
                    scopes,
                ))
            })
            .collect::<Result<Vec<_>, grantor::Error>>()?;
        let policy = move |request: &ExchangeRequest<'_>| {
            rules
                .iter()
                .find(|(client, from, to, _)| {
                    request.client.id().as_str() == client
                        && request.subject.has_audience(from)
                        && request.resources == [to.as_str()]
                })
                .map(|(_, _, _, scopes)| {
                    let allowance = Allowance::new().scope(scopes.clone());
                    // An ID token carries no scope: the rule's scopes are granted explicitly.
                    match request.subject.token_type {
                        ExchangeTokenType::IdToken => allowance.scope_beyond_subject(),
                        _ => allowance,
                    }
                })
                .ok_or_else(|| OAuthError::unauthorized_client("this exchange is not allowed"))
        };
        Ok(Some(TokenExchangeGrant::new(policy)))
    }

    /// The algorithms the server signs ID tokens with: RS256, which every OpenID Provider
    /// offers, and those the clients registered.
    pub fn signing_algorithms(&self) -> Result<Vec<SigningAlgorithm>, grantor::Error> {
        let registered = self
            .clients
            .iter()
            .filter_map(|client| client.id_token_signed_response_alg.as_deref())
            .map(str::parse::<SigningAlgorithm>);
        std::iter::once(Ok(SigningAlgorithm::Rs256))
            .chain(registered)
            .collect()
    }
}

impl ClientEntry {
    fn build(&self, issuer: &str) -> Result<Client, grantor::Error> {
        let mut builder = match &self.client_secret {
            Some(secret) => Client::confidential(&self.client_id, &ClientSecret::new(secret)),
            None => Client::public(&self.client_id),
        };
        if let Some(names) = &self.grant_types {
            let grants = parse_all::<GrantType>(names)?;
            builder = builder.grant_types(grants);
        }
        if let Some(names) = &self.response_types {
            let types = parse_all::<ResponseType>(names)?;
            builder = builder.response_types(types);
        }
        if let Some(alg) = &self.id_token_signed_response_alg {
            builder = builder.id_token_signed_response_alg(alg);
        }
        if let Some(name) = &self.name {
            builder = builder.name(name);
        }
        for uri in &self.redirect_uris {
            builder = builder.redirect_uri(uri);
        }
        if let Some(resources) = &self.resources {
            builder = builder.resources(resources.iter().map(|id| absolute(id, issuer)));
        }
        if let Some(method) = &self.token_endpoint_auth_method {
            builder = builder.token_endpoint_auth_method(method.parse()?);
        }
        if let Some(jwks) = &self.jwks {
            builder = builder.jwks(&jwks.to_string());
        }
        builder = builder.dpop_bound_access_tokens(self.dpop_bound_access_tokens);
        let par = self.require_pushed_authorization_requests.unwrap_or(false);
        let scopes = self.scopes.join(" ");
        builder
            .require_pushed_authorization_requests(par)
            .allowed_scopes(scopes.clone())
            .default_scopes(scopes)
            .build()
    }
}

/// Parses every name of a list (grant types, response types), or fails on the first bad one.
fn parse_all<T: std::str::FromStr<Err = grantor::Error>>(
    names: &[String],
) -> Result<Vec<T>, grantor::Error> {
    names.iter().map(|name| name.parse()).collect()
}
