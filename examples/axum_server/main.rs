//! A complete authorization server and OpenID Provider on axum, with the parts grantor leaves
//! to its host: a user store with hashed passwords and OpenID Connect claims, login and consent
//! pages (honouring `prompt`, `max_age` and `login_hint`, and remembering consent), sessions
//! and CSRF protection, and where the ID-token signing keys are kept.
//!
//! ```sh
//! cargo run --example axum_server                # listens on 127.0.0.1:8080
//! cargo run --example axum_server -- --addr 127.0.0.1:9000 --issuer https://auth.example.com
//! cargo run --example axum_server -- --config examples/axum_server/config.sample.json
//! cargo run --example axum_server -- --keys signing-keys.jwks.json
//! cargo run --example axum_server --features sqlite -- --storage sqlite:grantor.db
//! cargo run --example axum_server --features postgres -- --storage postgres://localhost/grantor
//! ```
//!
//! The options:
//!
//! | option | meaning |
//! |---|---|
//! | `--addr HOST:PORT` | where to listen (default `127.0.0.1:8080`; port 0 picks a free port) |
//! | `--issuer URL` | the server's public URL, as clients reach it (default `http://` + the address; behind a TLS proxy, its `https://` URL) |
//! | `--config FILE` | the clients and users (JSON; every field is described in [`setup`]); default: the built-in demo client and user |
//! | `--storage …` | `memory` (default), `sqlite:PATH` (feature `sqlite`) or a `postgres://` URL (feature `postgres`) |
//! | `--client-cache SECONDS` | SQLite and PostgreSQL: keep clients read from the database this long (fractions allowed), so that a token request of a recently seen client skips its lookup; off by default (see `with_client_cache` for what holds across instances) |
//! | `--token-cache SECONDS` | SQLite and PostgreSQL: keep access tokens read from the database this long (fractions allowed), so that a token presented again soon skips its lookup; off by default (see `with_token_cache`: another instance may accept a token revoked here for that long) |
//! | `--keys FILE` | keep the ID-token signing keys in this JWKS file (created if missing), so that tokens verify across restarts (see [`keys`]); default: in the storage backend |
//!
//! The configuration file (`--config`; `config.sample.json` beside this file is one) has
//! `clients` — each with `client_id`, `client_secret` (confidential clients), `name`,
//! `redirect_uris`, `grant_types`, `response_types`, `scopes` (`openid` for OpenID Connect),
//! `id_token_signed_response_alg`, `token_endpoint_auth_method` and `jwks` (RFC 7523),
//! `dpop_bound_access_tokens` (RFC 9449) and `require_pushed_authorization_requests` (RFC 9126) — and
//! `users` — each with `username`, `password` and the OpenID Connect `claims` UserInfo serves —
//! plus `resources` (the protected APIs, their scopes and token format, JWT or opaque),
//! `default_resource`, `registration` (`{"open": true}` or an `initial_access_token`) and
//! `profile` (`"fapi2"`: the FAPI 2.0 Security Profile); [`setup`] describes every field.
//! DPoP proofs are accepted at `/token` and `/api/me` whatever the file says.
//!
//! Without `--config`, the demo registers `/api/me` (the default resource) and the notes API
//! of `examples/resource_server.rs` as resources with JWT access tokens, and opens dynamic
//! registration: a Model Context Protocol client that knows only `/api/me` finds everything
//! else from the `401` (`resource_metadata`), registers, and logs in.
//!
//! The modules, in the order a newcomer wants them: [`app`] (the routes), [`pages`] (login and
//! consent), [`sessions`], [`users`] (where your user store and its claims go), [`setup`] (the
//! config file), [`keys`] (the signing keys' file).

pub mod app;
#[path = "../support/axum_glue.rs"]
pub mod axum_glue;
#[path = "../support/demo_client.rs"]
pub mod demo_client;
#[path = "../support/html.rs"]
pub mod html;
pub mod keys;
pub mod pages;
pub mod sessions;
pub mod setup;
pub mod users;

use std::error::Error;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use grantor::storage::{KeyStore, ReplayCache};
use grantor::{ConfigBuilder, MemoryStorage, Storage};

use setup::{DEMO_CLIENT, DEMO_USER, DEMO_VERIFIER, Setup, UserEntry};

const USAGE: &str = "usage: axum_server [--addr HOST:PORT] [--issuer URL] [--config FILE] \
                     [--storage memory|sqlite:PATH|postgres://…] [--client-cache SECONDS] \
                     [--token-cache SECONDS] [--keys FILE]\n\
                     --keys FILE  keep the ID-token signing keys in this JWKS file (private \
                     keys; created if missing) instead of the storage backend";

/// The command line.
struct Options {
    /// `HOST:PORT`; the host may be a name (`localhost:8080`).
    addr: String,
    issuer: Option<String>,
    config: Option<PathBuf>,
    /// `memory` (the default), `sqlite:PATH` or a `postgres://` URL.
    storage: String,
    /// The JWKS file of the signing keys; `None`: the storage backend keeps them.
    keys: Option<PathBuf>,
    /// How long a SQL backend keeps a client it read; zero: not at all.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    client_cache: std::time::Duration,
    /// How long a SQL backend keeps an access token it read; zero: not at all.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    token_cache: std::time::Duration,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut options = Options {
            addr: "127.0.0.1:8080".to_owned(),
            issuer: None,
            config: None,
            storage: "memory".to_owned(),
            keys: None,
            client_cache: std::time::Duration::ZERO,
            token_cache: std::time::Duration::ZERO,
        };
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or(format!("{flag} needs a value\n{USAGE}"));
            let seconds = |value: String| {
                value
                    .parse::<f64>()
                    .map_err(|e| e.to_string())
                    .and_then(|s| {
                        std::time::Duration::try_from_secs_f64(s).map_err(|e| e.to_string())
                    })
                    .map_err(|e| format!("{flag}: {e}"))
            };
            match flag.as_str() {
                "--addr" => {
                    options.addr = value()?.parse().map_err(|e| format!("--addr: {e}"))?;
                }
                "--issuer" => options.issuer = Some(value()?),
                "--config" => options.config = Some(value()?.into()),
                "--storage" => options.storage = value()?,
                "--keys" => options.keys = Some(value()?.into()),
                "--client-cache" => options.client_cache = seconds(value()?)?,
                "--token-cache" => options.token_cache = seconds(value()?)?,
                "--help" | "-h" => return Err(USAGE.to_owned()),
                _ => return Err(format!("unknown option {flag}\n{USAGE}")),
            }
        }
        Ok(options)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("axum_server: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Parses a command line (without the program name) and serves, as `main` does: for tests
/// that run the server in a process of its own (and kill it).
pub async fn serve_command_line(args: impl Iterator<Item = String>) -> Result<(), Box<dyn Error>> {
    run(Options::parse(args)?).await
}

async fn run(options: Options) -> Result<(), Box<dyn Error>> {
    let listener = tokio::net::TcpListener::bind(&options.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", options.addr))?;
    let addr = listener.local_addr()?;
    // The issuer is the server's public URL: behind a TLS proxy, pass `--issuer https://…`.
    let issuer = options
        .issuer
        .clone()
        .unwrap_or_else(|| match options.addr.strip_suffix(":0") {
            Some(_) => format!("http://{addr}"), // port 0: the port the system picked
            None => format!("http://{}", options.addr),
        });
    let issuer = issuer.trim_end_matches('/').to_owned();
    let setup = match &options.config {
        Some(path) => Setup::load(path)?,
        None => Setup::demo(&issuer),
    };
    let config = setup.config(&issuer)?;

    // The storage backend, chosen here and nowhere else. `MemoryStorage` keeps everything in
    // this process; SQLite keeps it in one file across restarts; PostgreSQL is shared by every
    // instance of a fleet. Any `grantor::Storage` implementation fits.
    let storage = options.storage.as_str();
    if storage == "memory" {
        return serve(listener, config, MemoryStorage::new(), &options, &setup).await;
    }
    #[cfg(feature = "sqlite")]
    if storage.starts_with("sqlite:") {
        let storage = grantor::storage::SqliteStorage::open(storage)
            .await?
            .with_client_cache(options.client_cache)
            .with_token_cache(options.token_cache);
        return serve(listener, config, storage, &options, &setup).await;
    }
    #[cfg(feature = "postgres")]
    if storage.starts_with("postgres://") || storage.starts_with("postgresql://") {
        let storage = grantor::storage::PostgresStorage::connect(storage)
            .await?
            .with_client_cache(options.client_cache)
            .with_token_cache(options.token_cache);
        return serve(listener, config, storage, &options, &setup).await;
    }
    Err(format!(
        "--storage {storage}: use memory, sqlite:PATH (build with --features sqlite) or \
         postgres://… (build with --features postgres)"
    )
    .into())
}

/// Registers the setup's clients in `storage` and serves until the process is stopped.
async fn serve<S: Storage + KeyStore + ReplayCache + Clone>(
    listener: tokio::net::TcpListener,
    config: ConfigBuilder,
    storage: S,
    options: &Options,
    setup: &Setup,
) -> Result<(), Box<dyn Error>> {
    // DPoP proofs' ids are kept in the storage, shared by every instance of a fleet.
    let config = setup.security(config, storage.clone()).build()?;
    let addr = listener.local_addr()?;
    let issuer = config.issuer().to_owned();
    // The signing keys: in the JWKS file `--keys` names, or else beside everything else in
    // the storage backend (a real deployment's choice: its database, shared by the fleet).
    let keys: Arc<dyn KeyStore> = match &options.keys {
        Some(path) => Arc::new(keys::JwksFile::open(path, config.clock().now())?),
        None => Arc::new(storage.clone()),
    };
    let app = app::App::new(config, storage, keys, setup).await?;
    print_welcome(&addr, &issuer, &app.server, setup);
    println!("Storage: {}", describe_storage(&options.storage));
    match &options.keys {
        Some(path) => println!("Signing keys: {}", path.display()),
        None => println!("Signing keys: in the storage backend"),
    }
    println!("\nOne line per request follows (method, path, status, latency).");
    // With each connection's address, which the device page counts wrong user codes by
    // (and which the login page throttles failed attempts by).
    let router = app::with_request_log(app::router(app));
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).await?;
    Ok(())
}

/// What the banner says of `--storage`: the backend, and where it keeps things (a database
/// URL's password is never printed).
pub fn describe_storage(storage: &str) -> String {
    if storage == "memory" {
        return "memory (everything is lost when the server stops; --storage sqlite:PATH keeps \
                it)"
        .to_owned();
    }
    if let Some(path) = storage.strip_prefix("sqlite:") {
        return format!("SQLite, file {path}");
    }
    match url::Url::parse(storage) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            format!("PostgreSQL, {url}")
        }
        Err(_) => "PostgreSQL".to_owned(),
    }
}

fn print_welcome<S: Storage>(
    addr: &SocketAddr,
    issuer: &str,
    server: &grantor::Server<S>,
    setup: &Setup,
) {
    // The well-known paths hang off the issuer's origin: RFC 8414's before any issuer path,
    // OpenID Connect Discovery's after it (the server's paths say which).
    let origin = url::Url::parse(issuer)
        .map_or_else(|_| issuer.to_owned(), |u| u.origin().ascii_serialization());
    let metadata_path = server.metadata_path();
    let discovery_path = server.openid_configuration_path();
    println!("grantor axum_server listening on {addr}, issuer {issuer}\n");
    println!("Endpoints:");
    println!("  GET  {issuer}/authorize   authorization (login and consent pages)");
    println!("  POST {issuer}/token       token, every grant type");
    println!("  POST {issuer}/revoke      revocation (RFC 7009)");
    println!("  POST {issuer}/introspect  introspection (RFC 7662)");
    println!("  POST {issuer}/par         pushed authorization requests (RFC 9126)");
    println!("  POST {issuer}/device_authorization  device authorization (RFC 8628)");
    println!("  GET  {issuer}/device      the device verification page (enter a user code)");
    println!("  GET  {issuer}/userinfo    UserInfo, also POST (OpenID Connect)");
    println!("  GET  {issuer}/jwks        signing keys of ID tokens and JWT access tokens (JWKS)");
    if server.registration_enabled() {
        println!("  POST {issuer}/register    dynamic client registration (RFC 7591), open");
    }
    println!("  GET  {origin}{metadata_path}  metadata (RFC 8414)");
    println!("  GET  {origin}{discovery_path}  discovery (OpenID Connect)");
    println!("  GET  {issuer}/api/me      protected resource (tokens for {issuer}/api/me)");
    println!("\nResources (RFC 8707) and their metadata (RFC 9728):");
    for resource in server.config().resources() {
        println!(
            "  {} ({:?} access tokens)",
            resource.id(),
            resource.format()
        );
        println!("    {}", resource.metadata_url());
    }
    println!();
    println!("Clients:");
    for client in &setup.clients {
        let kind = match client.client_secret {
            Some(_) => "confidential",
            None => "public, PKCE S256",
        };
        println!("  {} ({kind})", client.client_id);
    }
    let users: Vec<&str> = setup.users.iter().map(|u| u.username.as_str()).collect();
    println!("Users: {}", users.join(", "));
    if let Some(demo) = setup.clients.iter().find(|c| c.client_id == DEMO_CLIENT) {
        let is_demo_user = |u: &UserEntry| (u.username.as_str(), u.password.as_str()) == DEMO_USER;
        if setup.users.iter().any(is_demo_user) {
            println!("\nDemo user: {} / {}", DEMO_USER.0, DEMO_USER.1);
        }
        let scope = demo.scopes.join(" ");
        let url = demo_client::authorization_url(issuer, DEMO_CLIENT, &scope, DEMO_VERIFIER);
        println!("\nOpen this URL in a browser, log in, and approve:\n\n  {url}\n");
        println!("The demo client's callback page then shows how to exchange the code.");
    }
    if setup.clients.iter().any(|c| c.client_id == setup::DEMO_CLI) {
        println!(
            "Or log in a device: cargo run --example device_cli -- {issuer} (then open {issuer}/device)"
        );
    }
}
