//! The FAPI 2.0 flow, end to end, with a strict client library nobody here wrote: panva's
//! `oauth4webapi` (npm; run by Node.js from `tests/interop/fapi2.mjs`) against the example
//! server started from its command line with `"profile": "fapi2"` (C-FA-1, C-PA-1, C-CA-1,
//! C-DP-1…3): discovery, a pushed authorization request authenticated with `private_key_jwt`
//! and carrying a DPoP proof, the user's login and consent on the example's pages, the code
//! exchange with PKCE, DPoP and `private_key_jwt`, a refresh, and a DPoP-protected API call.
//! The library checks what it receives (`iss` in the authorization response, the ID token's
//! claims, `token_type`), so the server's answers must be right for it to finish.
//!
//! Skipped, saying so, when Node.js or `tests/interop/node_modules` is missing (`.ci/run`
//! installs it with `npm ci --prefix tests/interop`).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use jwt_simple::prelude::ES256KeyPair;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const CLIENT: &str = "fapi-client";
const REDIRECT: &str = "https://client.example/cb";

/// Whether Node.js and the installed client library are here; says why not otherwise.
fn node_ready(dir: &Path) -> bool {
    let node = std::process::Command::new("node").arg("--version").output();
    let installed = dir.join("node_modules/oauth4webapi/package.json").exists();
    if node.is_err() || !installed {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED fapi::oauth4webapi_completes_a_fapi2_flow: needs Node.js and \
             `npm ci --prefix tests/interop`"
        );
        return false;
    }
    true
}

/// A free port on the loopback interface.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth4webapi_completes_a_fapi2_flow() {
    let interop = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    if !node_ready(&interop) {
        return;
    }
    // The client's key: its public half registered in the server's configuration file, its
    // private half handed to the client library.
    let key = ES256KeyPair::generate().with_key_id("fapi-client-key-1");
    let public: Value = serde_json::from_str(&key.public_key().to_jwk()).unwrap();
    let private: Value = serde_json::from_str(&key.to_jwk()).unwrap();
    let setup = json!({
        "profile": "fapi2",
        "users": [{"username": "alice", "password": "wonderland", "claims": {"name": "Alice"}}],
        "clients": [{
            "client_id": CLIENT,
            "name": "FAPI Client",
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "scopes": ["openid", "profile", "offline_access"],
            "id_token_signed_response_alg": "ES256",
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [public]},
            "dpop_bound_access_tokens": true,
            "require_pushed_authorization_requests": true
        }]
    });
    let dir = std::env::temp_dir().join(format!("grantor-fapi-{}", free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("fapi.json");
    std::fs::write(&config, setup.to_string()).unwrap();

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let args = [
        "--addr",
        &format!("127.0.0.1:{port}"),
        "--config",
        config.to_str().unwrap(),
    ];
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    // On a runtime of its own: the example's error type is not `Send`. The thread ends with
    // the test process.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let _ = runtime.block_on(super::axum_server::serve_command_line(args.into_iter()));
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata_url = format!("{base}/.well-known/oauth-authorization-server");
    let mut metadata = None;
    for _ in 0..600 {
        if let Ok(response) = http.get(&metadata_url).send().await {
            metadata = Some(response.json::<Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let metadata = metadata.expect("the example server did not start");
    // C-FA-1: the metadata says what the profile requires.
    assert_eq!(metadata["require_pushed_authorization_requests"], true);
    assert_eq!(
        metadata["token_endpoint_auth_methods_supported"],
        json!(["private_key_jwt"])
    );
    assert_eq!(metadata["response_types_supported"], json!(["code"]));
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
    for algs in [
        "dpop_signing_alg_values_supported",
        "id_token_signing_alg_values_supported",
    ] {
        let algs = metadata[algs].as_array().unwrap();
        assert!(
            !algs.is_empty() && !algs.contains(&json!("RS256")),
            "{algs:?}"
        );
    }
    // C-PA-1, C-FA-1: a front-channel request that did not go through PAR is refused.
    let challenge =
        grantor::CodeChallenge::s256("a-verifier-of-at-least-forty-three-characters-long");
    let front = url::Url::parse_with_params(
        &format!("{base}/authorize"),
        &[
            ("response_type", "code"),
            ("client_id", CLIENT),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("code_challenge", challenge.value()),
            ("code_challenge_method", "S256"),
        ],
    )
    .unwrap();
    let refused = http.get(front.as_str()).send().await.unwrap();
    // C-PA-1: refused with `invalid_request`, sent back to the client's redirect URI.
    let location = refused
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|location| location.to_str().ok())
        .unwrap_or_default();
    assert!(refused.status().is_redirection(), "{}", refused.status());
    assert!(
        location.starts_with(REDIRECT) && location.contains("error=invalid_request"),
        "a request without PAR was answered {location:?}"
    );

    let mut node = tokio::process::Command::new("node")
        .arg(interop.join("fapi2.mjs"))
        .env("ISSUER", &base)
        .env("CLIENT_ID", CLIENT)
        .env("CLIENT_KEY", private.to_string())
        .env("REDIRECT_URI", REDIRECT)
        .env("API_URL", format!("{base}/api/me"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = node.stdin.take().unwrap();
    let mut lines = BufReader::new(node.stdout.take().unwrap()).lines();
    let mut next = async || -> Value {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the client library answered in time")
            .unwrap()
            .expect("the client library printed a line");
        let step: Value = serde_json::from_str(&line).unwrap();
        assert!(
            step.get("error").is_none(),
            "the client library failed: {step}"
        );
        step
    };

    let par = next().await;
    assert_eq!(par["step"], "par");
    let request_uri = par["request_uri"].as_str().unwrap();
    assert!(
        request_uri.starts_with("urn:ietf:params:oauth:request_uri:"),
        "{request_uri}"
    );
    assert!(
        par["expires_in"]
            .as_u64()
            .is_some_and(|secs| secs > 0 && secs <= 600)
    );
    let authorize = par["authorize"].as_str().unwrap();
    let scopes = ["openid", "profile", "offline_access"];
    let (answer, _) = super::log_in_and_approve(&http, &base, authorize, &scopes).await;
    let callback = answer.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        callback.starts_with(REDIRECT) && callback.contains("iss="),
        "{callback}"
    );
    stdin
        .write_all(format!("{callback}\n").as_bytes())
        .await
        .unwrap();
    stdin.flush().await.unwrap();

    let code = next().await;
    assert_eq!(code["step"], "code");
    assert!(
        code["token_type"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("dpop"),
        "{code}"
    );
    assert_eq!(code["sub"], "alice");
    assert_eq!(code["has_refresh_token"], true);
    let refresh = next().await;
    assert!(
        refresh["token_type"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("dpop"),
        "{refresh}"
    );
    // FAPI 2.0 §5.3.2.1: refresh tokens are not rotated.
    assert_eq!(refresh["rotated"], false);
    let api = next().await;
    assert_eq!(api["status"], 200, "{api}");
    assert_eq!(api["body"]["owner"], "alice", "{api}");
    // The same token without its key: refused, with a DPoP challenge.
    assert_eq!(api["as_bearer"], 401, "{api}");
    assert!(
        api["challenge"].as_str().unwrap().starts_with("DPoP "),
        "{api}"
    );

    let status = tokio::time::timeout(Duration::from_secs(30), node.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    let _ = std::fs::remove_dir_all(&dir);
}
