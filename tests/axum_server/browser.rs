//! The OpenID Connect code flow, and the device flow's verification page, in a real browser:
//! headless Chromium driven through chromedriver (WebDriver) with fantoccini, against the
//! example's router listening on a free localhost port.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without them the
//! test says it was skipped and passes.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use grantor::Clock;
use hyper_util::client::legacy::connect::HttpConnector;

use super::axum_server::demo_client::authorization_url;
use super::axum_server::setup::{DEMO_CLIENT, DEMO_USER, DEMO_VERIFIER};
use super::{api_me, device, exchange, get_json, query_param, start, verify_id_token};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Where the consent page's screenshot goes (under `target/`).
fn screenshot_path() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-consent-page.png")
}

/// The nonce the browser's requests carry.
const NONCE: &str = "browser-nonce-4f1c";

/// The demo client's OpenID Connect authorization URL for `scope`, with the nonce.
fn openid_url(base: &str, scope: &str) -> String {
    let url = authorization_url(base, DEMO_CLIENT, scope, DEMO_VERIFIER);
    format!("{url}&nonce={NONCE}")
}

// C-AZ-9, C-SC-1, C-OI-1, C-OI-2: log in, uncheck a scope, approve, exchange (an ID token with
// the nonce), call the API; then deny a request for more; then a request for no more than
// was approved skips the consent page.
#[tokio::test]
async fn code_flow_in_headless_chromium() {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        // Written to stderr directly, so that it shows even though the test passes.
        let _ = writeln!(
            std::io::stderr(),
            "browser test skipped: chromium/chromedriver not installed"
        );
        return;
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (router, clock) = start(&base).await;
    let server = router.clone();
    tokio::spawn(async move { axum::serve(listener, server).await });

    let driver = Chromedriver::start().await;
    let browser = driver.session().await;

    // 1. The client sends the browser to the authorization endpoint: the login page.
    let url = openid_url(&base, "openid profile email messages");
    browser.goto(&url).await.unwrap();
    find(&browser, "input[name=username]")
        .await
        .send_keys(DEMO_USER.0)
        .await
        .unwrap();
    find(&browser, "input[name=password]")
        .await
        .send_keys(DEMO_USER.1)
        .await
        .unwrap();
    find(&browser, "form button").await.click().await.unwrap();

    // 2. The consent page, after the 303 from the login POST.
    let email = find(&browser, "input[name=scope][value=email]").await;
    let heading = find(&browser, "h1").await;
    assert_eq!(
        heading.text().await.unwrap(),
        "Demo App wants access to your account"
    );
    let cookie = browser.get_named_cookie("grantor_session").await.unwrap();
    let cookie = cookie.to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    let png = browser.screenshot().await.unwrap();
    std::fs::write(screenshot_path(), png).unwrap();
    let _ = writeln!(
        std::io::stderr(),
        "consent page screenshot: {}",
        screenshot_path().display()
    );

    // 3. Uncheck `email`, approve.
    assert!(email.is_selected().await.unwrap());
    email.click().await.unwrap();
    assert!(!email.is_selected().await.unwrap());
    let approve = "button[name=decision][value=approve]";
    find(&browser, approve).await.click().await.unwrap();

    // 4. The browser lands on the client's redirect URI with a code.
    let landed = landing(&browser, &base).await;
    assert_eq!(query_param(&landed, "state").as_deref(), Some("demo-state"));
    let code = query_param(&landed, "code").expect("a code in the redirect");

    // 5. The client exchanges it: an ID token for the user, with the nonce; then it calls the
    //    API: only the scopes left checked.
    let tokens = exchange(&router, &code, DEMO_VERIFIER).await;
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    let jwks = get_json(&router, "/jwks").await;
    let alg = jsonwebtoken::Algorithm::RS256;
    let claims = verify_id_token(&jwks, id_token, alg, &base, clock.now()).expect("verifies");
    assert_eq!(claims["sub"], DEMO_USER.0);
    assert_eq!(claims["nonce"], NONCE);
    let me = api_me(&router, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(me.status, 200, "{}", me.body);
    let mut granted: Vec<&str> = me.headers["x-oauth-scopes"]
        .to_str()
        .unwrap()
        .split(',')
        .collect();
    granted.sort_unstable();
    assert_eq!(granted, ["messages", "openid", "profile"]);
    let me: serde_json::Value = serde_json::from_str(&me.body).unwrap();
    assert_eq!(me["owner"], DEMO_USER.0);

    // 6. The same request again, in the same session: straight to consent (for `email`, which
    //    was not approved); deny it.
    browser.goto(&url).await.unwrap();
    let deny = "button[name=decision][value=deny]";
    find(&browser, deny).await.click().await.unwrap();
    let landed = landing(&browser, &base).await;
    assert_eq!(
        query_param(&landed, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_param(&landed, "code"), None);

    // 7. A request for no more than was approved: the consent is remembered, no page at all.
    let remembered = openid_url(&base, "openid profile");
    browser.goto(&remembered).await.unwrap();
    let landed = landing(&browser, &base).await;
    let code = query_param(&landed, "code").expect("a code without a consent page");
    let tokens = exchange(&router, &code, DEMO_VERIFIER).await;
    assert!(tokens["id_token"].is_string());

    browser.close().await.unwrap();
}

// C-DV-1, C-DV-2: the device flow's verification page in a real browser: the user types the
// code (lower case, without the hyphen), logs in, approves on the consent page, and the
// device's next poll gets the tokens.
#[tokio::test]
async fn device_code_entry_in_headless_chromium() {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        let _ = writeln!(
            std::io::stderr(),
            "browser test skipped: chromium/chromedriver not installed"
        );
        return;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (router, _clock) = start(&base).await;
    let server = router.clone();
    tokio::spawn(async move { axum::serve(listener, server).await });

    let codes = device::device_authorization(&router).await;
    let device_code = codes["device_code"].as_str().unwrap();
    let typed = codes["user_code"]
        .as_str()
        .unwrap()
        .replace('-', "")
        .to_lowercase();

    let driver = Chromedriver::start().await;
    let browser = driver.session().await;
    browser
        .goto(codes["verification_uri"].as_str().unwrap())
        .await
        .unwrap();
    find(&browser, "input[name=user_code]")
        .await
        .send_keys(&typed)
        .await
        .unwrap();
    find(&browser, "form button").await.click().await.unwrap();
    find(&browser, "input[name=username]")
        .await
        .send_keys(DEMO_USER.0)
        .await
        .unwrap();
    find(&browser, "input[name=password]")
        .await
        .send_keys(DEMO_USER.1)
        .await
        .unwrap();
    find(&browser, "form button").await.click().await.unwrap();
    let approve = find(&browser, "button[name=decision][value=approve]").await;
    assert_eq!(
        find(&browser, "h1").await.text().await.unwrap(),
        "Demo CLI wants access to your account"
    );
    approve.click().await.unwrap();
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath("//h1[text()='Device connected']"))
        .await
        .unwrap();

    let (status, tokens) = device::poll(&router, device_code).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["id_token"].is_string());
    browser.close().await.unwrap();
}

/// Waits (page loads follow clicks) for an element matching a CSS selector.
async fn find(browser: &Client, css: &str) -> Element {
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("{css}: {error}"))
}

/// Waits for the demo client's callback page and returns its URL.
async fn landing(browser: &Client, base: &str) -> String {
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath(
            "//h1[text()='Approved' or text()='Not approved']",
        ))
        .await
        .unwrap();
    let url = browser.current_url().await.unwrap().to_string();
    assert!(url.starts_with(&format!("{base}/callback?")), "{url}");
    url
}

/// A chromedriver process on a free localhost port, killed when dropped.
struct Chromedriver {
    process: Child,
    port: u16,
    profile: PathBuf,
}

impl Chromedriver {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            // Its own process group, so that the browsers it starts can be ended with it.
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait until it accepts connections (it starts in well under a second).
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("chromium-profile-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        Self {
            process,
            port,
            profile,
        }
    }

    /// A headless Chromium session with a fresh profile.
    async fn session(&self) -> Client {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=800,900",
        ]
        .map(String::from)
        .into_iter()
        .chain([format!("--user-data-dir={}", self.profile.display())])
        .collect::<Vec<_>>();
        let capabilities = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal");
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("chromedriver starts a Chromium session")
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // Ends chromedriver and any Chromium left behind by a failed test: this group only.
        let group = format!("-{}", self.process.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
