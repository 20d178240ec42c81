//! What the server starts with: its clients and users, from `--config FILE` or the built-in demo.
//!
//! The file is JSON (see `config.sample.json` beside this file and the README):
//!
//! ```json
//! {"clients": [{"client_id": "…", "client_secret": "…", "name": "…", "redirect_uris": ["…"],
//!               "grant_types": ["authorization_code", "refresh_token"], "scopes": ["profile"]}],
//!  "users": [{"username": "…", "password": "…"}]}
//! ```
//!
//! A client without `client_secret` is public (it must use PKCE). A real host keeps clients in
//! its database and registers them through grantor's `Storage`; this file is for trying things.

use std::error::Error;
use std::path::Path;

use grantor::{Client, ClientSecret, GrantType};
use serde::Deserialize;

/// The contents of a configuration file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    /// The clients to register.
    #[serde(default)]
    pub clients: Vec<ClientEntry>,
    /// The users who can log in.
    #[serde(default)]
    pub users: Vec<UserEntry>,
}

/// One client. Its `Debug` leaves the secret out.
#[derive(Deserialize)]
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
            .finish()
    }
}

/// One user. The password is in clear only because this is a demo file: it is hashed with
/// argon2 at startup, and only the hash is kept.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    /// The login name, also used as the user's id in tokens.
    pub username: String,
    /// The password, in clear.
    pub password: String,
}

impl std::fmt::Debug for UserEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserEntry")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The demo client's id.
pub const DEMO_CLIENT: &str = "demo-app";
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

    /// The built-in demo: one public client whose redirect URI is this server's `/callback`
    /// page, and one user.
    pub fn demo(issuer: &str) -> Self {
        Self {
            clients: vec![ClientEntry {
                client_id: DEMO_CLIENT.to_owned(),
                client_secret: None,
                name: Some("Demo App".to_owned()),
                redirect_uris: vec![format!("{issuer}/callback")],
                grant_types: None,
                scopes: ["profile", "email", "messages"].map(String::from).to_vec(),
            }],
            users: vec![UserEntry {
                username: DEMO_USER.0.to_owned(),
                password: DEMO_USER.1.to_owned(),
            }],
        }
    }

    /// Builds the clients, checking every entry (unknown grant types, bad redirect URIs, …).
    pub fn clients(&self) -> Result<Vec<Client>, grantor::Error> {
        self.clients.iter().map(ClientEntry::build).collect()
    }
}

impl ClientEntry {
    fn build(&self) -> Result<Client, grantor::Error> {
        let mut builder = match &self.client_secret {
            Some(secret) => Client::confidential(&self.client_id, &ClientSecret::new(secret)),
            None => Client::public(&self.client_id),
        };
        if let Some(names) = &self.grant_types {
            let grants = names
                .iter()
                .map(|name| name.parse::<GrantType>())
                .collect::<Result<Vec<_>, _>>()?;
            builder = builder.grant_types(grants);
        }
        if let Some(name) = &self.name {
            builder = builder.name(name);
        }
        for uri in &self.redirect_uris {
            builder = builder.redirect_uri(uri);
        }
        let scopes = self.scopes.join(" ");
        builder
            .allowed_scopes(scopes.clone())
            .default_scopes(scopes)
            .build()
    }
}
