//! Interoperability: the `openidconnect` crate (v4, with its reqwest client), an independent and
//! widely used OpenID Connect relying-party library, signs in through the `axum_server`
//! example served over plain HTTP on 127.0.0.1. What it proves:
//!
//! - C-OI-5: the library's discovery accepts the example's `/.well-known/openid-configuration`
//!   (issuer identical to the one it asked for and to the RFC 8414 document's), and finds the
//!   JWKS through it;
//! - C-OI-1, C-OI-2: the ID token of a code flow with PKCE S256 and a nonce passes the
//!   library's verification (signature by a published key, `iss`, `aud`, `exp`, `iat`, the
//!   nonce), and its `at_hash` matches the access token issued with it;
//! - C-OI-4: UserInfo answers the library with the same `sub` and the email claim the granted
//!   scope allows, and nothing the scope does not.
//!
//! - C-DR-1, C-RI-1, C-JT-1: the library registers itself dynamically (its registration
//!   request, and its strict parsing of the `201` answer), then signs in with `resource`, and
//!   the access token is a JWT for that resource that the API accepts.
//!
//! The user's part — the login and consent pages — is played by a second HTTP client that
//! posts the example's forms and keeps its session cookie.

#[path = "../examples/axum_server/main.rs"]
#[allow(dead_code)]
mod axum_server;

use std::sync::Arc;

use axum_server::app::{self, App};
use axum_server::setup::{DEMO_CLIENT, DEMO_USER, Setup};
use grantor::MemoryStorage;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreClientRegistrationRequest,
    CoreGrantType, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims,
};
use openidconnect::registration::EmptyAdditionalClientMetadata;
use openidconnect::reqwest;
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientName, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, ResponseTypes, Scope, TokenResponse,
};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use tokio::net::TcpListener;

/// Serves the example (built-in demo setup, memory storage, the system clock) on a free port of
/// 127.0.0.1; returns its issuer, `http://127.0.0.1:PORT`.
async fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let setup = Setup::demo(&issuer);
    let config = setup.config(&issuer).unwrap().build().unwrap();
    let storage = MemoryStorage::new();
    let keys = Arc::new(storage.clone());
    let app = App::new(config, storage, keys, &setup).await.unwrap();
    let router = app::router(app);
    tokio::spawn(async move { axum::serve(listener, router).await });
    issuer
}

/// An HTTP client that follows no redirects: the library's (as its docs require, against
/// SSRF), and the user's, which looks at each redirect itself.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

// C-OI-1, C-OI-2, C-OI-4, C-OI-5: discovery, the code flow with PKCE and a nonce, ID-token
// verification with at_hash, and UserInfo, all by the openidconnect crate.
#[tokio::test]
async fn openidconnect_crate_discovers_signs_in_and_reads_userinfo() {
    let issuer = serve().await;
    let http = http_client();

    // 1. Discovery: the provider metadata and, through its jwks_uri, the signing keys.
    let issuer_url = IssuerUrl::new(issuer.clone()).unwrap();
    let metadata = CoreProviderMetadata::discover_async(issuer_url, &http)
        .await
        .expect("the library accepts the discovery document and the JWKS");
    assert_eq!(metadata.issuer().as_str(), issuer);
    let rfc8414 = http
        .get(format!("{issuer}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let rfc8414: serde_json::Value = serde_json::from_slice(&rfc8414).unwrap();
    assert_eq!(rfc8414["issuer"], issuer.as_str());
    assert!(!metadata.jwks().keys().is_empty());

    // 2. The authorization URL the library builds: code flow, PKCE S256, a nonce, `email`.
    let client =
        CoreClient::from_provider_metadata(metadata, ClientId::new(DEMO_CLIENT.to_owned()), None)
            .set_redirect_uri(RedirectUrl::new(format!("{issuer}/callback")).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".to_owned()))
        .set_pkce_challenge(challenge)
        .url();

    // 3. The user logs in and approves on the example's pages.
    let callback = sign_in(&http, authorize_url.as_str()).await;
    let param = |name: &str| {
        callback
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    assert_eq!(param("state").as_deref(), Some(state.secret().as_str()));
    assert_eq!(param("iss").as_deref(), Some(issuer.as_str()));
    let code = param("code").expect("a code in the redirect");

    // 4. The code exchange, with the PKCE verifier.
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("the library accepts the token response");

    // 5. The ID token: signature (with the JWKS found by discovery), iss, aud, exp, nonce.
    let id_token = tokens.id_token().expect("an ID token");
    let id_token_verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&id_token_verifier, &nonce)
        .expect("the library verifies the ID token");
    assert_eq!(claims.subject().as_str(), DEMO_USER.0);
    assert_eq!(claims.nonce().map(Nonce::secret), Some(nonce.secret()));
    let expected_hash = claims.access_token_hash().expect("at_hash");
    let actual_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_token_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(actual_hash, *expected_hash);

    // 6. UserInfo: the same subject, the email claims (the `email` scope was granted), and no
    //    profile claim (the `profile` scope was not asked for).
    let userinfo: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().to_owned(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http)
        .await
        .expect("the library accepts the UserInfo response");
    assert_eq!(userinfo.subject(), claims.subject());
    let email = userinfo.email().map(|email| email.as_str());
    assert_eq!(email, Some("alice@example.com"));
    assert_eq!(userinfo.email_verified(), Some(true));
    assert!(userinfo.name().is_none());
}

// C-DR-1, C-RI-1, C-JT-1: dynamic registration by the library, then the code flow for a
// resource, whose audience-bound JWT access token the example's API accepts.
#[tokio::test]
async fn openidconnect_crate_registers_itself_and_signs_in_for_a_resource() {
    let issuer = serve().await;
    let http = http_client();
    let api = format!("{issuer}/api/me");
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.clone()).unwrap(), &http)
            .await
            .unwrap();
    let registration_url = metadata
        .registration_endpoint()
        .expect("discovery names the registration endpoint")
        .clone();

    // A public client, as a native app registers itself.
    let redirect = RedirectUrl::new("http://127.0.0.1:47011/callback".to_owned()).unwrap();
    let registered = CoreClientRegistrationRequest::new(
        vec![redirect.clone()],
        EmptyAdditionalClientMetadata {},
    )
    .set_client_name(Some(
        vec![(None, ClientName::new("Interop Native App".to_owned()))]
            .into_iter()
            .collect(),
    ))
    .set_token_endpoint_auth_method(Some(CoreClientAuthMethod::None))
    .set_grant_types(Some(vec![
        CoreGrantType::AuthorizationCode,
        CoreGrantType::RefreshToken,
    ]))
    .set_response_types(Some(vec![ResponseTypes::new(vec![CoreResponseType::Code])]))
    .register_async(&registration_url, &http)
    .await
    .expect("the library accepts the registration response");
    assert!(registered.client_secret().is_none(), "a public client");
    assert!(registered.registration_access_token().is_some());
    assert_eq!(registered.redirect_uris(), &vec![redirect.clone()]);

    let client = CoreClient::from_provider_metadata(metadata, registered.client_id().clone(), None)
        .set_redirect_uri(redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, _state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("messages".to_owned()))
        .add_extra_param("resource", &api)
        .set_pkce_challenge(challenge)
        .url();
    let callback = sign_in(&http, authorize_url.as_str()).await;
    let code = callback
        .query_pairs()
        .find(|(key, _)| key == "code")
        .map(|(_, value)| value.into_owned())
        .expect("a code in the redirect");
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .add_extra_param("resource", &api)
        .request_async(&http)
        .await
        .expect("the library accepts the token response");
    let id_token = tokens.id_token().expect("an ID token");
    id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the library verifies the ID token");

    // The access token is a JWT for the API (typ at+jwt), and the API takes it.
    let access = tokens.access_token().secret();
    let header = jsonwebtoken::decode_header(access).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let me = http.get(&api).bearer_auth(access).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["client_id"], registered.client_id().as_str());
    assert_eq!(me["owner"], DEMO_USER.0);
}

/// The user's part: opens the authorization URL, logs in as the demo user and approves every
/// scope asked, posting the example's forms with its session cookie. Returns the redirect back
/// to the client.
async fn sign_in(http: &reqwest::Client, authorize_url: &str) -> url::Url {
    let mut user = User { http, cookie: None };
    let login = user.get(authorize_url).await;
    let form = [
        ("csrf", field(&login, "csrf")),
        ("request", field(&login, "request")),
        ("username", DEMO_USER.0.to_owned()),
        ("password", DEMO_USER.1.to_owned()),
    ];
    let to_consent = user.post(&absolute(authorize_url, "/login"), &form).await;
    let consent_url = absolute(authorize_url, &location(&to_consent));
    let consent = user.get(&consent_url).await;
    let mut form = vec![
        ("csrf", field(&consent, "csrf")),
        ("request", field(&consent, "request")),
        ("decision", "approve".to_owned()),
    ];
    for scope in checkboxes(&consent) {
        form.push(("scope", scope));
    }
    let approved = user.post(&absolute(authorize_url, "/consent"), &form).await;
    url::Url::parse(&location(&approved)).unwrap()
}

/// A user's browser, as far as these pages need one: it keeps the session cookie.
struct User<'a> {
    http: &'a reqwest::Client,
    cookie: Option<String>,
}

/// A response, read whole: status, `Location`, body.
struct Answer {
    status: u16,
    location: Option<String>,
    body: String,
}

impl User<'_> {
    async fn get(&mut self, url: &str) -> Answer {
        self.send(self.http.get(url)).await
    }

    async fn post(&mut self, url: &str, form: &[(&str, String)]) -> Answer {
        self.send(self.http.post(url).form(form)).await
    }

    async fn send(&mut self, mut request: reqwest::RequestBuilder) -> Answer {
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        let response = request.send().await.unwrap();
        if let Some(set) = response.headers().get(SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            self.cookie = Some(pair.to_owned());
        }
        let location = response
            .headers()
            .get(LOCATION)
            .map(|value| value.to_str().unwrap().to_owned());
        Answer {
            status: response.status().as_u16(),
            location,
            body: response.text().await.unwrap(),
        }
    }
}

/// The value of a page's hidden form field.
fn field(page: &Answer, name: &str) -> String {
    assert_eq!(page.status, 200, "{}", page.body);
    let marker = format!(r#"name="{name}" value=""#);
    let start = page.body.find(&marker).expect(&marker) + marker.len();
    let end = page.body[start..].find('"').unwrap();
    page.body[start..start + end].to_owned()
}

/// The values of the consent page's scope checkboxes.
fn checkboxes(page: &Answer) -> Vec<String> {
    let marker = r#"name="scope" value=""#;
    page.body
        .match_indices(marker)
        .map(|(at, _)| {
            let rest = &page.body[at + marker.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

/// The `Location` of a `303`.
fn location(answer: &Answer) -> String {
    assert_eq!(answer.status, 303, "{}", answer.body);
    answer.location.clone().expect("a Location header")
}

/// `path` on the server of `url`.
fn absolute(url: &str, path: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .join(path)
        .unwrap()
        .to_string()
}
