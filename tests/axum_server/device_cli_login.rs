//! `examples/device_cli.rs` against the example server, both on real sockets: the CLI asks for
//! codes, the user approves (here through the server's verification step, as the `/device`
//! page does), and the CLI's polling gets tokens and reads UserInfo (C-DV-1, C-DV-2).

use std::sync::Arc;

use grantor::{MemoryStorage, OwnerId, ScopeSet};

use crate::axum_server::app::{self, App};
use crate::axum_server::setup::Setup;
use crate::device_cli;

#[tokio::test]
async fn the_device_cli_logs_in_through_the_example() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let setup = Setup::demo(&issuer);
    // The real clock: the CLI waits real seconds between polls.
    let config = setup.config(&issuer).unwrap().build().unwrap();
    let storage = MemoryStorage::new();
    let app = App::new(config, storage.clone(), Arc::new(storage), &setup)
        .await
        .unwrap();
    let server = app.server.clone();
    tokio::spawn(async move { axum::serve(listener, app::router(app)).await });

    let (shown, user_code) = tokio::sync::oneshot::channel::<String>();
    // The user: enters the code the CLI shows, and approves.
    let user = tokio::spawn(async move {
        let code = user_code.await.unwrap();
        let pending = server.device_request(&code, "127.0.0.1").await.unwrap();
        assert_eq!(pending.client().id().as_str(), "demo-cli");
        let granted = ScopeSet::parse("openid profile").unwrap();
        server
            .approve_device(pending, &OwnerId::new("alice"), &granted)
            .await
            .unwrap();
    });
    let me = device_cli::log_in(&issuer, "demo-cli", move |codes| {
        let code = codes["user_code"].as_str().unwrap().to_owned();
        assert_eq!(code.len(), 9, "XXXX-XXXX");
        assert!(
            codes["verification_uri_complete"]
                .as_str()
                .unwrap()
                .contains("user_code=")
        );
        shown.send(code).unwrap();
    })
    .await
    .unwrap();
    user.await.unwrap();
    assert_eq!(me["sub"], "alice");
    assert_eq!(me["name"], "Alice Liddell");
}
