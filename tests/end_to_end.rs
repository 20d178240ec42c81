//! The whole code flow over real HTTP on 127.0.0.1, through the quickstart example's router:
//! authorization request, consent, code exchange, protected resource.

#[path = "../examples/quickstart/app.rs"]
#[allow(dead_code)]
mod app;

use std::collections::HashMap;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct Reply {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

/// Sends one raw HTTP/1.1 request and reads the whole response.
async fn raw(addr: &str, request: String) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn get(addr: &str, target: &str, extra: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n")
}

fn post_form(addr: &str, target: &str, body: &str) -> String {
    format!(
        "POST {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn query_param(location: &str, name: &str) -> Option<String> {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

// C-AZ-9, C-TK-6, C-BR-5, C-BR-6: one flow from the authorization request to the API call.
#[tokio::test]
async fn code_flow_over_http() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let base = format!("http://{addr}");
    let demo = app::Demo::new(&base).await.unwrap();
    let authorization_url = demo.authorization_url();
    tokio::spawn(async move { axum::serve(listener, app::router(demo)).await });

    // 1. The consent page.
    let target = authorization_url.strip_prefix(&base).unwrap();
    let page = raw(&addr, get(&addr, target, "")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Quickstart Demo App wants access"));
    assert!(
        page.body
            .contains(r#"name="granted" value="messages" checked"#)
    );
    assert_eq!(page.headers["x-frame-options"], "DENY");

    // 2. Approve only `profile`: the form posts back the original parameters.
    let query = target.split_once('?').unwrap().1;
    let consent = format!("{query}&granted=profile&decision=approve");
    let redirect = raw(&addr, post_form(&addr, "/authorize", &consent)).await;
    assert_eq!(redirect.status, 303);
    let location = &redirect.headers["location"];
    assert!(location.starts_with(&format!("{base}/callback?code=")));
    assert_eq!(
        query_param(location, "state").as_deref(),
        Some("demo-state")
    );
    assert_eq!(query_param(location, "iss").as_deref(), Some(base.as_str()));
    let code = query_param(location, "code").unwrap();

    // 3. Exchange the code.
    let body = format!(
        "grant_type=authorization_code&code={code}&client_id={}&code_verifier={}",
        app::CLIENT_ID,
        app::VERIFIER
    );
    let tokens = raw(&addr, post_form(&addr, "/token", &body)).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    assert_eq!(tokens.headers["cache-control"], "no-store");
    let json: serde_json::Value = serde_json::from_str(&tokens.body).unwrap();
    assert_eq!(json["scope"], "profile");
    let access = json["access_token"].as_str().unwrap();

    // 4. The protected resource, with and without the token.
    let me = raw(
        &addr,
        get(
            &addr,
            "/api/me",
            &format!("Authorization: Bearer {access}\r\n"),
        ),
    )
    .await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.headers["x-oauth-scopes"], "profile");
    let me: serde_json::Value = serde_json::from_str(&me.body).unwrap();
    assert_eq!(me["owner"], app::DEMO_USER);
    assert_eq!(me["scope"], "profile");

    let anonymous = raw(&addr, get(&addr, "/api/me", "")).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        anonymous.headers["www-authenticate"],
        format!("Bearer realm=\"{base}\"")
    );

    // 5. The code is spent; the replay revokes the token.
    let replay = raw(&addr, post_form(&addr, "/token", &body)).await;
    assert_eq!(replay.status, 400);
    assert!(replay.body.contains("invalid_grant"));
    let me = raw(
        &addr,
        get(
            &addr,
            "/api/me",
            &format!("Authorization: Bearer {access}\r\n"),
        ),
    )
    .await;
    assert_eq!(me.status, 401);

    // Denying redirects with access_denied.
    let denied = raw(
        &addr,
        post_form(&addr, "/authorize", &format!("{query}&decision=deny")),
    )
    .await;
    assert_eq!(denied.status, 303);
    assert_eq!(
        query_param(&denied.headers["location"], "error").as_deref(),
        Some("access_denied")
    );
}

// Issue 16, item 5(e): the consent form's answer comes from the user, never from the client's
// own query: a request carrying `decision` or `granted` is refused (back to the client with
// `invalid_request`, no code), and the form never copies those fields from the query.
#[tokio::test]
async fn the_client_cannot_answer_its_own_consent() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let base = format!("http://{addr}");
    let demo = app::Demo::new(&base).await.unwrap();
    let authorization_url = demo.authorization_url();
    tokio::spawn(async move { axum::serve(listener, app::router(demo)).await });
    let target = authorization_url.strip_prefix(&base).unwrap();

    for answer in [
        "&decision=approve",
        "&granted=messages",
        "&decision=approve&granted=profile&granted=messages",
    ] {
        let page = raw(&addr, get(&addr, &format!("{target}{answer}"), "")).await;
        assert_eq!(page.status, 303, "{answer}: {}", page.body);
        let location = &page.headers["location"];
        assert_eq!(
            query_param(location, "error").as_deref(),
            Some("invalid_request"),
            "{location}"
        );
        assert!(query_param(location, "code").is_none());
    }

    // The consent page's hidden fields are the client's parameters only.
    let page = raw(&addr, get(&addr, target, "")).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(r#"type="hidden" name="decision""#));
    assert!(!page.body.contains(r#"type="hidden" name="granted""#));
}
