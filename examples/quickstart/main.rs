//! The smallest complete grantor server: one public demo client, one demo user who is always
//! logged in, and the authorization code flow with PKCE end to end.
//!
//! ```sh
//! cargo run --example quickstart            # listens on 127.0.0.1:8080
//! cargo run --example quickstart -- --addr 127.0.0.1:9000
//! ```
//!
//! For login pages, sessions, CSRF protection and every endpoint, see `examples/axum_server`.

mod app;

use std::net::SocketAddr;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = match std::env::args().skip_while(|a| a != "--addr").nth(1) {
        Some(addr) => addr.parse()?,
        None => "127.0.0.1:8080".parse()?,
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let demo = app::Demo::new(&base).await?;

    println!("grantor quickstart listening on {base}\n");
    println!(
        "Demo client: {} (public, PKCE S256), redirect URI {base}/callback",
        app::CLIENT_ID
    );
    println!(
        "Demo user:   {} (logged in automatically)\n",
        app::DEMO_USER
    );
    println!(
        "1. Open this URL in your browser:\n\n   {}\n",
        demo.authorization_url()
    );
    println!("2. Approve the request on the consent page (uncheck a scope to grant less).");
    println!("3. The callback page shows the code and the two curl commands that exchange it");
    println!("   at POST {base}/token and call the protected GET {base}/api/me.\n");
    println!(
        "Clients discover the endpoints (token, revocation, introspection) from {base}{}",
        demo.server().metadata_path()
    );

    axum::serve(listener, app::router(demo)).await?;
    Ok(())
}
