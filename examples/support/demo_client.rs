//! The examples' demo client: a public client using PKCE (`S256`) whose redirect URI is a page of
//! the example itself. A real client is a separate app; this page shows what it does next.

use axum::response::Html;
use grantor::CodeChallenge;

use super::html::escape;

/// Where the demo client sends the browser to start the code flow. `verifier` is the PKCE code
/// verifier; a real client makes a fresh random one for every request.
pub fn authorization_url(base: &str, client_id: &str, scope: &str, verifier: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("scope", scope)
        .append_pair("state", "demo-state")
        .append_pair("code_challenge", CodeChallenge::s256(verifier).value())
        .append_pair("code_challenge_method", "S256")
        .finish();
    format!("{base}/authorize?{query}")
}

/// The demo client's redirect URI page: the code and the two `curl` commands that exchange it
/// and call the protected API, or the error the authorization server sent.
pub fn callback_page(
    base: &str,
    client_id: &str,
    verifier: &str,
    params: &[(String, String)],
) -> Html<String> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    Html(match (get("code"), get("error")) {
        (Some(code), _) => format!(
            "<!doctype html><title>Approved</title><h1>Approved</h1>\
             <p>The client received a code. Exchange it <b>within 60 seconds</b> (an \
             authorization code lives 60 seconds by default and works once; after that, \
             start again from the authorization URL):</p>\
             <pre>curl -s -X POST {base}/token -d grant_type=authorization_code \\\n  -d code={code} -d client_id={client_id} \\\n  -d code_verifier={verifier}</pre>\
             <p>Then call the API with the access token:</p>\
             <pre>curl -s {base}/api/me -H \"Authorization: Bearer ACCESS_TOKEN\"</pre>",
            code = escape(code),
        ),
        (None, Some(error)) => format!(
            "<!doctype html><title>Not approved</title><h1>Not approved</h1><p>error: {}</p>",
            escape(error)
        ),
        (None, None) => "<!doctype html><title>Callback</title><h1>Nothing to show</h1>".to_owned(),
    })
}
