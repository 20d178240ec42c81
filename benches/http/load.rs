//! The HTTP bench's load client for the flows wrk cannot drive alone: it holds a fixed number
//! of HTTP/1.1 keep-alive connections (one task each, on one thread, like `wrk -t1`), sends one
//! request at a time on each, and reports requests/s, p50 and p99 latency, errors, and the CPU
//! the server, the database and the client itself used during the timed window.
//!
//! ```sh
//! bench_http_load http://127.0.0.1:8766 SCENARIO [--connections 16] [--duration 10]
//!     [--codes 20000] [--server-pid PID] [--db-uid UID]
//! ```
//!
//! Scenarios, against `examples/axum_server` with `benches/http/axum_server.json`:
//!
//! - `client_credentials`: `POST /token` with HTTP Basic, the confidential client `bench`;
//! - `bearer`: `GET /api/me` with one access token of `bench`;
//! - `introspect`: `POST /introspect` of that token, `bench` authenticating;
//! - `refresh`: each connection first gets a refresh token of its own (a code of the public
//!   client `bench-app`, minted before the timed window), then chains it: every response's
//!   new refresh token is the next request's, so every request rotates;
//! - `code`: `--codes` codes of `bench-app` (PKCE S256) minted through the example's login
//!   and consent pages before the timed window (one login; the session's remembered consent
//!   answers every further `/authorize` at once), then each exchanged once at `/token`; the
//!   window ends when the last code is spent (or at `--duration`).
//!
//! Any response other than `200` counts as an error; run.sh fails the run on any.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

const CLIENT_ID: &str = "bench";
const CLIENT_SECRET: &str = "bench-secret-0123456789-abcdefghijklmnopqrstuv";
const APP: &str = "bench-app";
const APP_REDIRECT: &str = "http://127.0.0.1/callback";
const USER: (&str, &str) = ("alice", "wonderland");
const VERIFIER: &str = "bench-verifier-0123456789-0123456789-0123456789-abcdef";

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Options {
    base: String,
    scenario: String,
    connections: usize,
    duration: Duration,
    codes: usize,
    server_pid: Option<u32>,
    db_uid: Option<u32>,
}

fn options() -> Result<Options, Error> {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .ok_or("usage: bench_http_load BASE SCENARIO [options]")?;
    let scenario = args.next().ok_or("missing SCENARIO")?;
    let mut options = Options {
        base: base.trim_end_matches('/').to_owned(),
        scenario,
        connections: 16,
        duration: Duration::from_secs(10),
        codes: 20_000,
        server_pid: None,
        db_uid: None,
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--connections" => options.connections = value.parse()?,
            "--duration" => options.duration = Duration::from_secs_f64(value.parse()?),
            "--codes" => options.codes = value.parse()?,
            "--server-pid" => options.server_pid = Some(value.parse()?),
            "--db-uid" => options.db_uid = Some(value.parse()?),
            _ => return Err(format!("unknown option {flag}").into()),
        }
    }
    Ok(options)
}

/// One keep-alive HTTP/1.1 connection.
struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Connection {
    async fn open(base: &str) -> Result<Self, Error> {
        let host = base
            .strip_prefix("http://")
            .ok_or("BASE must be http://HOST:PORT")?
            .to_owned();
        let stream = tokio::net::TcpStream::connect(&host).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Self { sender, host })
    }

    /// Sends a request; returns the status and the body.
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<(u16, Bytes), Error> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Full::new(Bytes::from(body)))?,
            None => request.body(Full::new(Bytes::new()))?,
        };
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

fn basic() -> String {
    let credentials = format!("{CLIENT_ID}:{CLIENT_SECRET}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

fn field(body: &[u8], name: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get(name)?.as_str().map(str::to_owned)
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// What one connection measured.
#[derive(Default)]
struct Stats {
    latencies_us: Vec<u32>,
    errors: u64,
}

/// A flow's next request on one connection and what to do with its response.
enum Flow {
    ClientCredentials,
    Bearer(Arc<str>),
    Introspect(Arc<str>),
    Refresh(String),
    Code(Arc<Mutex<Vec<String>>>),
}

impl Flow {
    /// Sends the next request; `None` when there is nothing left to send.
    async fn step(&mut self, conn: &mut Connection, auth: &str) -> Option<Result<u16, Error>> {
        let result = match self {
            Flow::ClientCredentials => conn
                .send(
                    Method::POST,
                    "/token",
                    &[("authorization", auth)],
                    Some("grant_type=client_credentials&scope=read".to_owned()),
                )
                .await
                .map(|(status, _)| status),
            Flow::Bearer(token) => {
                let header = format!("Bearer {token}");
                conn.send(Method::GET, "/api/me", &[("authorization", &header)], None)
                    .await
                    .map(|(status, _)| status)
            }
            Flow::Introspect(token) => conn
                .send(
                    Method::POST,
                    "/introspect",
                    &[("authorization", auth)],
                    Some(format!("token={}", encode(token))),
                )
                .await
                .map(|(status, body)| match field_bool(&body, "active") {
                    Some(true) => status,
                    _ => 599, // an inactive token counts as an error
                }),
            Flow::Refresh(token) => {
                let body = format!(
                    "grant_type=refresh_token&client_id={APP}&refresh_token={}",
                    encode(token)
                );
                match conn.send(Method::POST, "/token", &[], Some(body)).await {
                    Ok((200, body)) => match field(&body, "refresh_token") {
                        Some(next) => {
                            *token = next;
                            Ok(200)
                        }
                        None => Ok(598),
                    },
                    other => other.map(|(status, _)| status),
                }
            }
            Flow::Code(codes) => {
                let code = codes.lock().ok()?.pop()?;
                conn.send(Method::POST, "/token", &[], Some(exchange_body(&code)))
                    .await
                    .map(|(status, _)| status)
            }
        };
        Some(result)
    }
}

fn field_bool(body: &[u8], name: &str) -> Option<bool> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get(name)?.as_bool()
}

fn exchange_body(code: &str) -> String {
    format!(
        "grant_type=authorization_code&code={}&client_id={APP}&redirect_uri={}&code_verifier={VERIFIER}",
        encode(code),
        encode(APP_REDIRECT)
    )
}

async fn run_connection(
    base: String,
    mut flow: Flow,
    deadline: Instant,
    auth: Arc<str>,
) -> Result<Stats, Error> {
    let mut conn = Connection::open(&base).await?;
    let mut stats = Stats::default();
    while Instant::now() < deadline {
        let started = Instant::now();
        let Some(result) = flow.step(&mut conn, &auth).await else {
            break;
        };
        let elapsed = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        match result {
            Ok(200) => stats.latencies_us.push(elapsed),
            Ok(_) => stats.errors += 1,
            Err(_) => {
                stats.errors += 1;
                conn = Connection::open(&base).await?;
            }
        }
        if stats.errors > 0 && matches!(flow, Flow::Refresh(_)) {
            break; // the chain is broken: its token is spent or its family revoked
        }
    }
    Ok(stats)
}

/// CPU time (user + system, in clock ticks) of one process.
fn ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    let Some(after) = stat.rfind(')') else {
        return 0;
    };
    let fields: Vec<&str> = stat[after + 2..].split_whitespace().collect();
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(11) + get(12) // utime, stime (fields 14 and 15 of stat)
}

/// CPU ticks of every process of a user (the database server's processes), by pid.
fn user_ticks(uid: u32) -> Vec<(u32, u64)> {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            (entry.metadata().ok()?.uid() == uid).then(|| (pid, ticks(pid)))
        })
        .collect()
}

fn db_delta(before: &[(u32, u64)], after: &[(u32, u64)]) -> u64 {
    after
        .iter()
        .map(|(pid, t)| {
            let start = before.iter().find(|(p, _)| p == pid).map_or(0, |(_, t)| *t);
            t.saturating_sub(start)
        })
        .sum()
}

/// Codes of `bench-app` for alice: one login and consent through the example's pages, then
/// the session's remembered consent answers each further `/authorize` at once.
async fn mint_codes(base: &str, count: usize, connections: usize) -> Result<Vec<String>, Error> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let challenge = grantor::CodeChallenge::s256(VERIFIER);
    let authorize = url::Url::parse_with_params(
        &format!("{base}/authorize"),
        &[
            ("response_type", "code"),
            ("client_id", APP),
            ("redirect_uri", APP_REDIRECT),
            ("scope", "profile"),
            ("state", "bench"),
            ("code_challenge", challenge.value()),
            ("code_challenge_method", "S256"),
        ],
    )?;
    let cookie_of = |response: &reqwest::Response| {
        response
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(str::to_owned)
    };
    let login = http.get(authorize.as_str()).send().await?;
    let mut cookie = cookie_of(&login).ok_or("no session cookie")?;
    let page = login.text().await?;
    let form = [
        ("csrf", form_field(&page, "csrf")?),
        ("request", form_field(&page, "request")?),
        ("username", USER.0.to_owned()),
        ("password", USER.1.to_owned()),
    ];
    let logged_in = http
        .post(format!("{base}/login"))
        .header(reqwest::header::COOKIE, &cookie)
        .form(&form)
        .send()
        .await?;
    cookie = cookie_of(&logged_in).unwrap_or(cookie);
    let consent_path = location(&logged_in)?;
    let mut codes = vec![consent(&http, base, &consent_path, &cookie).await?];
    let remaining = count.saturating_sub(1);
    let mut tasks = Vec::new();
    for i in 0..connections {
        let share = remaining / connections + usize::from(i < remaining % connections);
        let (http, cookie, authorize) = (http.clone(), cookie.clone(), authorize.clone());
        tasks.push(tokio::spawn(async move {
            let mut codes = Vec::with_capacity(share);
            for _ in 0..share {
                let answer = http
                    .get(authorize.as_str())
                    .header(reqwest::header::COOKIE, &cookie)
                    .send()
                    .await?;
                codes.push(code_of(&location(&answer)?)?);
            }
            Ok::<_, Error>(codes)
        }));
    }
    for task in tasks {
        codes.extend(task.await??);
    }
    Ok(codes)
}

/// Approves the consent page; returns the code of the redirect.
async fn consent(
    http: &reqwest::Client,
    base: &str,
    consent_path: &str,
    cookie: &str,
) -> Result<String, Error> {
    let shown = http
        .get(format!("{base}{consent_path}"))
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await?;
    if shown.status().is_redirection() {
        // Consent remembered by an earlier run: the page answers with the code.
        return code_of(&location(&shown)?);
    }
    let page = shown.text().await?;
    let form = [
        ("csrf", form_field(&page, "csrf")?),
        ("request", form_field(&page, "request")?),
        ("decision", "approve".to_owned()),
        ("scope", "profile".to_owned()),
    ];
    let answer = http
        .post(format!("{base}/consent"))
        .header(reqwest::header::COOKIE, cookie)
        .form(&form)
        .send()
        .await?;
    code_of(&location(&answer)?)
}

fn location(response: &reqwest::Response) -> Result<String, Error> {
    Ok(response
        .headers()
        .get(reqwest::header::LOCATION)
        .ok_or_else(|| format!("no redirect: {}", response.status()))?
        .to_str()?
        .to_owned())
}

fn code_of(location: &str) -> Result<String, Error> {
    let url = url::Url::parse(location)?;
    let code = url.query_pairs().find(|(k, _)| k == "code");
    Ok(code.ok_or("no code in the redirect")?.1.into_owned())
}

fn form_field(page: &str, name: &str) -> Result<String, Error> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = page.find(&marker).ok_or(marker.clone())? + marker.len();
    let end = page[start..].find('"').ok_or("unterminated field")?;
    Ok(page[start..start + end].to_owned())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let options = options()?;
    let base = options.base.clone();
    let auth: Arc<str> = basic().into();
    let c = options.connections;
    // Everything a flow needs is obtained here, outside the timed window.
    let mut flows: Vec<Flow> = Vec::with_capacity(c);
    match options.scenario.as_str() {
        "client_credentials" => flows.extend((0..c).map(|_| Flow::ClientCredentials)),
        "bearer" | "introspect" => {
            let mut conn = Connection::open(&base).await?;
            let (status, body) = conn
                .send(
                    Method::POST,
                    "/token",
                    &[("authorization", &auth)],
                    Some("grant_type=client_credentials&scope=read".to_owned()),
                )
                .await?;
            let token: Arc<str> = field(&body, "access_token")
                .ok_or(format!("no access token ({status})"))?
                .into();
            let bearer = options.scenario == "bearer";
            flows.extend((0..c).map(|_| match bearer {
                true => Flow::Bearer(token.clone()),
                false => Flow::Introspect(token.clone()),
            }));
        }
        "refresh" => {
            let codes = mint_codes(&base, c, c.min(8)).await?;
            let mut conn = Connection::open(&base).await?;
            for code in codes {
                let (status, body) = conn
                    .send(Method::POST, "/token", &[], Some(exchange_body(&code)))
                    .await?;
                let token =
                    field(&body, "refresh_token").ok_or(format!("no refresh token ({status})"))?;
                flows.push(Flow::Refresh(token));
            }
        }
        "code" => {
            let started = Instant::now();
            let codes = mint_codes(&base, options.codes, c).await?;
            eprintln!(
                "minted {} codes in {:.1}s",
                codes.len(),
                started.elapsed().as_secs_f64()
            );
            let shared = Arc::new(Mutex::new(codes));
            flows.extend((0..c).map(|_| Flow::Code(shared.clone())));
        }
        other => return Err(format!("unknown scenario {other}").into()),
    }

    let server_before = options.server_pid.map_or(0, ticks);
    let db_before = options.db_uid.map(user_ticks).unwrap_or_default();
    let self_before = ticks(std::process::id());
    let started = Instant::now();
    let deadline = started + options.duration;
    let tasks: Vec<_> = flows
        .into_iter()
        .map(|flow| tokio::spawn(run_connection(base.clone(), flow, deadline, auth.clone())))
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let stats = task.await??;
        latencies.extend(stats.latencies_us);
        errors += stats.errors;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let hz = 100.0; // USER_HZ on Linux
    let percent = |ticks: u64| ticks as f64 / hz / elapsed * 100.0;
    let server_cpu = options
        .server_pid
        .map(|pid| percent(ticks(pid).saturating_sub(server_before)));
    let db_cpu = options
        .db_uid
        .map(|uid| percent(db_delta(&db_before, &user_ticks(uid))));
    let self_cpu = percent(ticks(std::process::id()).saturating_sub(self_before));

    latencies.sort_unstable();
    let quantile = |q: f64| {
        let i = ((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1);
        latencies.get(i).map_or(0.0, |&us| f64::from(us) / 1000.0)
    };
    let show = |cpu: Option<f64>| cpu.map_or("-".to_owned(), |c| format!("{c:.0}%"));
    // One line, tab-separated, for run.sh's tables.
    println!(
        "{}\t{}\t{:.0}\t{:.2}\t{:.2}\t{}\t{}\t{}\t{:.0}%\t{}",
        options.scenario,
        c,
        latencies.len() as f64 / elapsed,
        quantile(0.50),
        quantile(0.99),
        errors,
        show(server_cpu),
        show(db_cpu),
        self_cpu,
        latencies.len(),
    );
    if errors > 0 {
        std::process::exit(1);
    }
    Ok(())
}
