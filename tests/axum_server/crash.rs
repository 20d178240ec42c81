//! Crash safety (issue 16, item 7), on SQLite and PostgreSQL: the example server runs in a process of its
//! own (this test binary, re-run as `crash::server_process`), serves a load of
//! client-credentials and refresh requests, is killed with SIGKILL in the middle of it, and
//! restarts on the same database. Then every access token a client got a `200` for is still
//! active, every refresh token a client got (and did not spend) works exactly once, and no
//! token was issued twice. A refresh in flight at the kill is in doubt: after the restart it
//! either works (it was not spent) or is refused (it was spent and its tokens were stored).
//! The PostgreSQL run uses a schema of its own in the database `GRANTOR_TEST_POSTGRES_URL`
//! names, and says it was skipped without the variable. The load holds code exchanges too:
//! codes minted first through the example's login and consent pages (one login; the session's
//! remembered consent answers the rest at once), each exchanged once during the load; a code in
//! flight at the kill is spent with its tokens or not spent at all.
#![cfg(all(feature = "sqlite", unix))]

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

const CHILD: &str = "GRANTOR_CRASH_TEST_SERVER";
const CHILD_CONFIG: &str = "GRANTOR_CRASH_TEST_CONFIG";
const CONFIG: &str = "examples/axum_server/config.sample.json";
const SERVICE: (&str, &str) = ("billing-service", "change-me-to-a-long-random-secret");
const CLI: (&str, &str) = ("legacy-cli", "another-long-random-secret-for-the-cli");
/// The sample's public client of the code flow, its redirect URI and a PKCE verifier.
const APP: &str = "demo-app";
const APP_REDIRECT: &str = "http://127.0.0.1:8080/callback";
const VERIFIER: &str = "crash-test-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";

/// Not a test of its own: the server process the crash test starts (and kills). Without the
/// variable it does nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_process() {
    let Ok(storage) = std::env::var(CHILD) else {
        return;
    };
    let config = std::env::var(CHILD_CONFIG).unwrap();
    let args = [
        "--addr",
        "127.0.0.1:0",
        "--config",
        &config,
        "--storage",
        &storage,
    ];
    let args = args.map(String::from).into_iter();
    super::axum_server::serve_command_line(args).await.unwrap();
}

/// The server process, killed (SIGKILL) when dropped, so that a failing test leaves none behind.
struct Server(Child);

impl Server {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts the server on `storage` with the clients of `config`; returns the process and its
/// base URL.
fn start(storage: &str, config: &std::path::Path) -> (Server, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash::server_process", "--nocapture"])
        .env(CHILD, storage)
        .env(CHILD_CONFIG, config)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix("grantor axum_server listening on ") {
                let addr = rest.split(',').next().unwrap().to_owned();
                if let Some(tx) = tx.take() {
                    let _ = tx.send(addr);
                }
            }
            // Keep draining, so that the server never blocks on a full pipe.
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the server did not start");
    (Server(child), format!("http://{addr}"))
}

/// What the clients received.
#[derive(Default)]
struct Ledger {
    /// Access tokens from `200`s, with the client that holds them.
    access: Vec<(&'static str, &'static str, String)>,
    /// Every refresh token from a `200`.
    refresh: Vec<String>,
    /// The refresh token each chain sent when the server died: spent or not, nobody knows.
    in_doubt: Vec<String>,
    /// The codes whose exchange was in flight when the server died, and those never tried.
    codes_in_doubt: Vec<String>,
}

/// Codes of the sample's public client for alice: one login and consent through the example's
/// pages, then the session's remembered consent answers every further request at once.
async fn mint_codes(http: &reqwest::Client, base: &str, count: usize) -> Vec<String> {
    let challenge = grantor::CodeChallenge::s256(VERIFIER);
    let authorize = url::Url::parse_with_params(
        &format!("{base}/authorize"),
        &[
            ("response_type", "code"),
            ("client_id", APP),
            ("redirect_uri", APP_REDIRECT),
            ("scope", "profile"),
            ("state", "crash"),
            ("code_challenge", challenge.value()),
            ("code_challenge_method", "S256"),
        ],
    )
    .unwrap();
    let (mut answer, cookie) =
        super::log_in_and_approve(http, base, authorize.as_str(), &["profile"]).await;
    let mut codes = Vec::new();
    loop {
        let location = answer.headers()[reqwest::header::LOCATION]
            .to_str()
            .unwrap()
            .to_owned();
        let url = url::Url::parse(&location).unwrap();
        let code = url.query_pairs().find(|(k, _)| k == "code");
        codes.push(code.expect("a code in the redirect").1.into_owned());
        if codes.len() == count {
            return codes;
        }
        answer = http
            .get(authorize.as_str())
            .header(reqwest::header::COOKIE, &cookie)
            .send()
            .await
            .unwrap();
    }
}

/// Redeems a code of the sample's public client.
async fn redeem(
    http: &reqwest::Client,
    base: &str,
    code: &str,
) -> Result<(u16, Value), reqwest::Error> {
    let response = http
        .post(format!("{base}/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", APP),
            ("redirect_uri", APP_REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.json::<Value>().await?))
}

async fn token(
    http: &reqwest::Client,
    base: &str,
    client: (&str, &str),
    form: &[(&str, &str)],
) -> Result<(u16, Value), reqwest::Error> {
    let response = http
        .post(format!("{base}/token"))
        .basic_auth(client.0, Some(client.1))
        .form(form)
        .send()
        .await?;
    let status = response.status().as_u16();
    let body = response.json::<Value>().await?;
    Ok((status, body))
}

fn field(body: &Value, name: &str) -> String {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: {body}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_server_keeps_every_token_it_issued() {
    let dir = std::env::temp_dir().join(format!("grantor-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let storage = format!("sqlite:{}", dir.join("grantor.db").display());
    killed_mid_load(&storage, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_server_keeps_every_token_it_issued_on_postgres() {
    use grantor::storage::sqlx::postgres::PgPoolOptions;
    use grantor::storage::sqlx::{self, AssertSqlSafe};

    let Ok(url) = std::env::var("GRANTOR_TEST_POSTGRES_URL") else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED a_killed_server_keeps_every_token_it_issued_on_postgres: set \
             GRANTOR_TEST_POSTGRES_URL to run it"
        );
        return;
    };
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    let schema = format!("grantor_crash_{}", std::process::id());
    let run = |sql: String| {
        let admin = admin.clone();
        async move {
            sqlx::query(AssertSqlSafe(sql))
                .execute(&admin)
                .await
                .unwrap();
        }
    };
    run(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
    run(format!("CREATE SCHEMA {schema}")).await;
    // The server's connections work in the schema (libpq's `options` parameter).
    let separator = if url.contains('?') { '&' } else { '?' };
    let storage = format!("{url}{separator}options=-c%20search_path%3D{schema}");
    let dir = std::env::temp_dir().join(format!("grantor-crash-pg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    killed_mid_load(&storage, &dir).await;
    let tables: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM pg_tables WHERE schemaname = '{schema}'"
    )))
    .fetch_one(&admin)
    .await
    .unwrap();
    assert!(tables > 0, "the server used its own schema");
    run(format!("DROP SCHEMA {schema} CASCADE")).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the load against a server on `storage`, kills it, restarts it, and checks what the
/// clients were given; `dir` holds the configuration file.
async fn killed_mid_load(storage: &str, dir: &std::path::Path) {
    let storage = storage.to_owned();
    // The sample's clients and users, without its refresh grace window: every refresh token
    // is then good exactly once.
    let mut setup: Value = serde_json::from_str(&std::fs::read_to_string(CONFIG).unwrap()).unwrap();
    setup
        .as_object_mut()
        .unwrap()
        .remove("refresh_grace_seconds");
    let config = dir.join("config.json");
    std::fs::write(&config, setup.to_string()).unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let (mut server, base) = start(&storage, &config);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    // A few refresh chains, each started by the password grant.
    let mut seeds = Vec::new();
    for _ in 0..3 {
        let form = [
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "wonderland"),
            ("scope", "profile"),
        ];
        let (status, body) = token(&http, &base, CLI, &form).await.unwrap();
        assert_eq!(status, 200, "{body}");
        let refresh = field(&body, "refresh_token");
        let mut ledger = ledger.lock().unwrap();
        ledger
            .access
            .push((CLI.0, CLI.1, field(&body, "access_token")));
        ledger.refresh.push(refresh.clone());
        seeds.push(refresh);
    }

    // Codes to exchange during the load, minted first.
    let codes = mint_codes(&http, &base, 1500).await;

    let mut load = Vec::new();
    {
        let (http, base, ledger) = (http.clone(), base.clone(), Arc::clone(&ledger));
        load.push(tokio::spawn(async move {
            let mut codes = codes.into_iter();
            while let Some(code) = codes.next() {
                match redeem(&http, &base, &code).await {
                    Ok((status, body)) => {
                        assert_eq!(status, 200, "{body}");
                        ledger
                            .lock()
                            .unwrap()
                            .access
                            .push((APP, "", field(&body, "access_token")));
                    }
                    Err(_) => {
                        let mut ledger = ledger.lock().unwrap();
                        ledger.codes_in_doubt.push(code);
                        ledger.codes_in_doubt.extend(codes);
                        return;
                    }
                }
            }
        }));
    }
    for _ in 0..2 {
        let (http, base, ledger) = (http.clone(), base.clone(), Arc::clone(&ledger));
        load.push(tokio::spawn(async move {
            let form = [
                ("grant_type", "client_credentials"),
                ("scope", "invoices:read"),
            ];
            while let Ok((status, body)) = token(&http, &base, SERVICE, &form).await {
                assert_eq!(status, 200, "{body}");
                ledger.lock().unwrap().access.push((
                    SERVICE.0,
                    SERVICE.1,
                    field(&body, "access_token"),
                ));
            }
        }));
    }
    for seed in seeds {
        let (http, base, ledger) = (http.clone(), base.clone(), Arc::clone(&ledger));
        load.push(tokio::spawn(async move {
            let mut current = seed;
            loop {
                let form = [
                    ("grant_type", "refresh_token"),
                    ("refresh_token", current.as_str()),
                ];
                match token(&http, &base, CLI, &form).await {
                    Ok((status, body)) => {
                        assert_eq!(status, 200, "{body}");
                        let next = field(&body, "refresh_token");
                        let mut ledger = ledger.lock().unwrap();
                        ledger
                            .access
                            .push((CLI.0, CLI.1, field(&body, "access_token")));
                        ledger.refresh.push(next.clone());
                        current = next;
                    }
                    Err(_) => {
                        ledger.lock().unwrap().in_doubt.push(current);
                        return;
                    }
                }
            }
        }));
    }
    // Let the load run, then kill the server in the middle of it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill(); // SIGKILL
    for task in load {
        task.await.unwrap();
    }

    let (mut server, base) = start(&storage, &config);
    let ledger = std::mem::take(&mut *ledger.lock().unwrap());
    assert!(
        ledger.access.len() > 10,
        "too little load: {}",
        ledger.access.len()
    );
    // Nothing was issued twice.
    let unique: HashSet<&String> = ledger.access.iter().map(|(_, _, t)| t).collect();
    assert_eq!(unique.len(), ledger.access.len());
    let unique: HashSet<&String> = ledger.refresh.iter().collect();
    assert_eq!(unique.len(), ledger.refresh.len());

    // Every access token a client got a `200` for is still active (rotation leaves access
    // tokens alone). The public client introspects its own by client id.
    for (client, secret, access) in &ledger.access {
        let request = http.post(format!("{base}/introspect"));
        let request = match *secret {
            "" => request.form(&[("token", access.as_str()), ("client_id", *client)]),
            secret => request
                .basic_auth(client, Some(secret))
                .form(&[("token", access.as_str())]),
        };
        let response = request.send().await.unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["active"], true, "{client}'s token is gone: {body}");
    }

    // Each chain's last refresh token was in flight at the kill: spent with its successor
    // stored (refused now: `invalid_grant`), or not spent (works now, exactly once). Checked
    // last: a refused one is a replay, which revokes its grant.
    assert_eq!(ledger.in_doubt.len(), 3);
    for refresh in &ledger.in_doubt {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ];
        let (status, body) = token(&http, &base, CLI, &form).await.unwrap();
        assert!(
            status == 200 || body["error"] == "invalid_grant",
            "{status} {body}"
        );
        if status == 200 {
            let (again, body) = token(&http, &base, CLI, &form).await.unwrap();
            assert_eq!(again, 400, "a refresh token worked twice: {body}");
        }
    }
    // A code whose exchange was in flight at the kill was spent with its tokens stored (a
    // second use is refused) or not spent (it works now, once); codes never tried work once.
    assert!(
        !ledger.codes_in_doubt.is_empty(),
        "the kill came after every code was used"
    );
    for code in &ledger.codes_in_doubt {
        let (status, body) = redeem(&http, &base, code).await.unwrap();
        assert!(
            status == 200 || body["error"] == "invalid_grant",
            "{status} {body}"
        );
        if status == 200 {
            let (again, body) = redeem(&http, &base, code).await.unwrap();
            assert_eq!(again, 400, "a code worked twice: {body}");
        }
    }
    let exchanged = ledger.access.iter().filter(|(c, _, _)| *c == APP).count();
    assert!(exchanged > 0, "no code was exchanged before the kill");
    eprintln!(
        "crash test on {}: {} access tokens ({exchanged} from codes) and {} refresh tokens \
         before the kill; {} codes in doubt or unused",
        storage.split(':').next().unwrap_or_default(),
        ledger.access.len(),
        ledger.refresh.len(),
        ledger.codes_in_doubt.len()
    );
    server.kill();
}
