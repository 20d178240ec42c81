//! A command-line client that logs in with the device authorization grant (RFC 8628), as a
//! TV or a CLI without a browser does, against the `axum_server` example.
//!
//! ```sh
//! cargo run --example axum_server                 # the authorization server, on :8080
//! cargo run --example device_cli                  # this client (default issuer and client)
//! cargo run --example device_cli -- http://127.0.0.1:8080 demo-cli
//! ```
//!
//! It reads the server's metadata (RFC 8414) for the device authorization and token endpoints,
//! asks for a device code and a user code (`openid profile`), prints where to enter the code,
//! then polls the token endpoint: waiting `interval` seconds between polls, 5 s more after each
//! `slow_down`, until the user approves (tokens), denies (`access_denied`) or the code expires
//! (`expired_token`). With the access token it calls UserInfo and prints the user.

use std::time::Duration;

use serde_json::Value;

const DEVICE_CODE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let issuer = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    let client_id = args.next().unwrap_or_else(|| "demo-cli".to_owned());
    let user = log_in(&issuer, &client_id, |codes| {
        let text = |name: &str| codes[name].as_str().unwrap_or_default().to_owned();
        println!("To sign in, open {}", text("verification_uri"));
        println!("and enter the code {}", text("user_code"));
        println!("(or open {})", text("verification_uri_complete"));
    })
    .await?;
    println!("Signed in as {}", serde_json::to_string_pretty(&user)?);
    Ok(())
}

/// Logs in as `client_id` at `issuer` with the device flow: `show` gets the device
/// authorization response (the codes and where to enter them) to show the user; the answer is
/// what UserInfo says about the user who approved.
pub async fn log_in(
    issuer: &str,
    client_id: &str,
    show: impl FnOnce(&Value),
) -> Result<Value, Box<dyn std::error::Error>> {
    let http = reqwest::Client::new();

    let metadata: Value = http
        .get(format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        ))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let endpoint = |name: &str| -> Result<String, String> {
        metadata[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("the server's metadata has no {name}"))
    };
    let device_endpoint = endpoint("device_authorization_endpoint")?;
    let token_endpoint = endpoint("token_endpoint")?;
    let userinfo_endpoint = endpoint("userinfo_endpoint")?;

    // RFC 8628 §3.1: the device authorization request.
    let response = http
        .post(&device_endpoint)
        .form(&[("client_id", client_id), ("scope", "openid profile")])
        .send()
        .await?;
    let status = response.status();
    let codes: Value = response.json().await?;
    if !status.is_success() {
        return Err(format!("device authorization refused: {codes}").into());
    }
    let device_code = codes["device_code"].as_str().unwrap_or_default().to_owned();
    show(&codes);
    let mut interval = codes["interval"].as_u64().unwrap_or(5);

    // RFC 8628 §3.4, §3.5: poll until the user answers.
    let tokens = loop {
        tokio::time::sleep(Duration::from_secs(interval)).await;
        let response = http
            .post(&token_endpoint)
            .form(&[
                ("grant_type", DEVICE_CODE_GRANT_TYPE),
                ("device_code", device_code.as_str()),
                ("client_id", client_id),
            ])
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if status.is_success() {
            break body;
        }
        match body["error"].as_str() {
            Some("authorization_pending") => {}
            Some("slow_down") => interval += 5,
            Some("access_denied") => return Err("the request was denied".into()),
            Some("expired_token") => return Err("the code expired; run again".into()),
            _ => return Err(format!("the token endpoint refused: {body}").into()),
        }
    };

    let access_token = tokens["access_token"].as_str().unwrap_or_default();
    let user: Value = http
        .get(&userinfo_endpoint)
        .bearer_auth(access_token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(user)
}
