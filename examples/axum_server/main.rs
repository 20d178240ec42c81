//! A complete authorization server on axum, with the parts grantor leaves to its host: a user
//! store with hashed passwords, login and consent pages, sessions and CSRF protection.
//!
//! ```sh
//! cargo run --example axum_server                # listens on 127.0.0.1:8080
//! cargo run --example axum_server -- --addr 127.0.0.1:9000 --issuer https://auth.example.com
//! cargo run --example axum_server -- --config examples/axum_server/config.sample.json
//! cargo run --example axum_server --features sqlite -- --storage sqlite:grantor.db
//! cargo run --example axum_server --features postgres -- --storage postgres://localhost/grantor
//! ```
//!
//! The modules, in the order a newcomer wants them: [`app`] (the routes), [`pages`] (login and
//! consent), [`sessions`], [`users`] (where your user store goes), [`setup`] (the config file).

pub mod app;
#[path = "../support/axum_glue.rs"]
pub mod axum_glue;
#[path = "../support/demo_client.rs"]
pub mod demo_client;
#[path = "../support/html.rs"]
pub mod html;
pub mod pages;
pub mod sessions;
pub mod setup;
pub mod users;

use std::error::Error;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use grantor::{Config, MemoryStorage, Storage};

use setup::{DEMO_CLIENT, DEMO_USER, DEMO_VERIFIER, Setup, UserEntry};

const USAGE: &str = "usage: axum_server [--addr HOST:PORT] [--issuer URL] [--config FILE] \
                     [--storage memory|sqlite:PATH|postgres://…]";

/// The command line.
struct Options {
    /// `HOST:PORT`; the host may be a name (`localhost:8080`).
    addr: String,
    issuer: Option<String>,
    config: Option<PathBuf>,
    /// `memory` (the default), `sqlite:PATH` or a `postgres://` URL.
    storage: String,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut options = Options {
            addr: "127.0.0.1:8080".to_owned(),
            issuer: None,
            config: None,
            storage: "memory".to_owned(),
        };
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or(format!("{flag} needs a value\n{USAGE}"));
            match flag.as_str() {
                "--addr" => {
                    options.addr = value()?.parse().map_err(|e| format!("--addr: {e}"))?;
                }
                "--issuer" => options.issuer = Some(value()?),
                "--config" => options.config = Some(value()?.into()),
                "--storage" => options.storage = value()?,
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

async fn run(options: Options) -> Result<(), Box<dyn Error>> {
    let listener = tokio::net::TcpListener::bind(&options.addr)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", options.addr))?;
    let addr = listener.local_addr()?;
    // The issuer is the server's public URL: behind a TLS proxy, pass `--issuer https://…`.
    let issuer = options
        .issuer
        .unwrap_or_else(|| match options.addr.strip_suffix(":0") {
            Some(_) => format!("http://{addr}"), // port 0: the port the system picked
            None => format!("http://{}", options.addr),
        });
    let issuer = issuer.trim_end_matches('/').to_owned();
    let setup = match &options.config {
        Some(path) => Setup::load(path)?,
        None => Setup::demo(&issuer),
    };
    let config = Config::builder(&issuer).build()?;

    // The storage backend, chosen here and nowhere else. `MemoryStorage` keeps everything in
    // this process; SQLite keeps it in one file across restarts; PostgreSQL is shared by every
    // instance of a fleet. Any `grantor::Storage` implementation fits.
    let storage = options.storage.as_str();
    if storage == "memory" {
        return serve(listener, config, MemoryStorage::new(), &setup).await;
    }
    #[cfg(feature = "sqlite")]
    if storage.starts_with("sqlite:") {
        let storage = grantor::storage::SqliteStorage::open(storage).await?;
        return serve(listener, config, storage, &setup).await;
    }
    #[cfg(feature = "postgres")]
    if storage.starts_with("postgres://") || storage.starts_with("postgresql://") {
        let storage = grantor::storage::PostgresStorage::connect(storage).await?;
        return serve(listener, config, storage, &setup).await;
    }
    Err(format!(
        "--storage {storage}: use memory, sqlite:PATH (build with --features sqlite) or \
         postgres://… (build with --features postgres)"
    )
    .into())
}

/// Registers the setup's clients in `storage` and serves until the process is stopped.
async fn serve<S: Storage>(
    listener: tokio::net::TcpListener,
    config: Config,
    storage: S,
    setup: &Setup,
) -> Result<(), Box<dyn Error>> {
    let addr = listener.local_addr()?;
    let issuer = config.issuer().to_owned();
    let app = app::App::new(config, storage, setup).await?;
    let metadata_path = app.server.metadata_path();
    print_welcome(&addr, &issuer, &metadata_path, setup);
    axum::serve(listener, app::router(app)).await?;
    Ok(())
}

fn print_welcome(addr: &SocketAddr, issuer: &str, metadata_path: &str, setup: &Setup) {
    // The well-known path hangs off the issuer's origin, before any issuer path (RFC 8414 §3).
    let origin = url::Url::parse(issuer)
        .map_or_else(|_| issuer.to_owned(), |u| u.origin().ascii_serialization());
    println!("grantor axum_server listening on {addr}, issuer {issuer}\n");
    println!("Endpoints:");
    println!("  GET  {issuer}/authorize   authorization (login and consent pages)");
    println!("  POST {issuer}/token       token, every grant type");
    println!("  POST {issuer}/revoke      revocation (RFC 7009)");
    println!("  POST {issuer}/introspect  introspection (RFC 7662)");
    println!("  GET  {origin}{metadata_path}  metadata (RFC 8414)");
    println!("  GET  {issuer}/api/me      protected resource (any valid access token)\n");
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
}
