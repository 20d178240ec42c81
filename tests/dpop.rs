//! DPoP (RFC 9449): proofs at the token endpoint and at a protected resource, the code and
//! refresh-token bindings, nonces, and replay across instances. Proofs are built by
//! `jsonwebtoken` (tests/common/jose.rs), not by grantor.

mod common;

use std::time::Duration;

use common::jose::{ClientKey, ath, proof_claims};
use common::*;
use grantor::dpop::{DPOP, DPOP_NONCE, Dpop};
use grantor::jose::SigningAlgorithm;
use grantor::{Client, ClientSecret, GrantType, MemoryStorage, Requirement};
use http::header::WWW_AUTHENTICATE;
use http::{Request, Response};
use serde_json::{Value, json};

const TOKEN_URL: &str = "https://auth.example.com/token";
const API_URL: &str = "https://api.example.com/me";
const NONCE_KEY: &[u8] = b"a nonce key of at least thirty-two bytes";

/// A server that takes DPoP proofs as `configure` says, its replay cache in its storage.
async fn fixture_with(configure: impl FnOnce(Dpop) -> Dpop) -> Fixture {
    let storage = MemoryStorage::new();
    let dpop = configure(Dpop::new(storage.clone()));
    // The API the tests call is a registered resource: its host is one the server serves.
    let api = grantor::Resource::new(API_URL).unwrap();
    Fixture::with_storage(storage, |c| c.dpop(dpop).resource(api)).await
}

async fn fixture() -> Fixture {
    fixture_with(|dpop| dpop).await
}

fn now() -> u64 {
    START
}

/// A good proof by `key` for a token request now.
fn token_proof(key: &ClientKey) -> String {
    key.proof("POST", TOKEN_URL, now(), None)
}

fn with_proof(mut request: Request<Vec<u8>>, proof: &str) -> Request<Vec<u8>> {
    request.headers_mut().append(DPOP, proof.parse().unwrap());
    request
}

/// A client-credentials request of `worker` with this proof.
fn worker_request(proof: Option<&str>) -> Request<Vec<u8>> {
    let request = basic_token_request(
        WORKER,
        WORKER_SECRET,
        &[("grant_type", "client_credentials")],
    );
    match proof {
        Some(proof) => with_proof(request, proof),
        None => request,
    }
}

/// A call to the API with `Authorization: <scheme> <token>` and, if given, a proof.
fn api_call(scheme: &str, token: &str, proof: Option<&str>) -> Request<Vec<u8>> {
    let mut request = Request::get(API_URL)
        .header(http::header::AUTHORIZATION, format!("{scheme} {token}"))
        .body(Vec::new())
        .unwrap();
    if let Some(proof) = proof {
        request.headers_mut().append(DPOP, proof.parse().unwrap());
    }
    request
}

fn challenges(response: &Response<Vec<u8>>) -> Vec<String> {
    response
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

async fn access_tokens_stored(fx: &Fixture) -> usize {
    fx.storage().stats().access_tokens
}

/// A DPoP-bound token of `worker` for `key`.
async fn bound_token(fx: &Fixture, key: &ClientKey) -> String {
    let proof = token_proof(key);
    let response = fx.server.token(&worker_request(Some(&proof))).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    text(&json(&response), "access_token").to_owned()
}

// C-DP-1: a token request with a good proof gets `token_type: DPoP` and an access token bound
// to the key's thumbprint (as jsonwebtoken computes it), which introspection shows as `cnf`.
#[tokio::test]
async fn a_proof_at_the_token_endpoint_binds_the_access_token() {
    let fx = fixture().await;
    for key in [ClientKey::es256(), ClientKey::ed25519()] {
        let proof = token_proof(&key);
        let response = fx.server.token(&worker_request(Some(&proof))).await;
        assert_eq!(response.status(), 200, "{}", body_text(&response));
        let body = json(&response);
        assert_eq!(body["token_type"], "DPoP");
        let token = text(&body, "access_token");
        let introspect = basic_post("/introspect", WORKER, WORKER_SECRET, &[("token", token)]);
        let info = json(&fx.server.introspect(&introspect).await);
        assert_eq!(info["active"], true);
        assert_eq!(info["token_type"], "DPoP");
        assert_eq!(info["cnf"], json!({"jkt": key.thumbprint}));
    }
    // Without a proof, the same client still gets a bearer token.
    let response = fx.server.token(&worker_request(None)).await;
    assert_eq!(json(&response)["token_type"], "Bearer");
}

// C-DP-1: the RFC 9449 §4.3 checks one by one. Each refused proof is 400 `invalid_dpop_proof`
// and stores no token.
#[tokio::test]
async fn every_malformed_or_mismatched_proof_is_refused() {
    let fx = fixture().await;
    let key = ClientKey::es256();
    let other = ClientKey::es256();
    let header = key.proof_header();
    let claims = proof_claims("POST", TOKEN_URL, now(), None);
    let with = |mut value: Value, name: &str, new: Value| {
        if new.is_null() {
            value.as_object_mut().unwrap().remove(name);
        } else {
            value[name] = new;
        }
        value
    };
    let unsigned = |header: &Value, claims: &Value| {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.",
            b64.encode(header.to_string()),
            b64.encode(claims.to_string())
        )
    };
    let hs256 = {
        let header = json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}});
        let input = {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            format!(
                "{}.{}",
                b64.encode(header.to_string()),
                b64.encode(claims.to_string())
            )
        };
        let key =
            jsonwebtoken::EncodingKey::from_secret(b"secret-secret-secret-secret-secret").unwrap();
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)
                .unwrap();
        format!("{input}.{signature}")
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "typ JWT",
            key.sign(&with(header.clone(), "typ", "JWT".into()), &claims),
        ),
        (
            "no typ",
            key.sign(&with(header.clone(), "typ", Value::Null), &claims),
        ),
        (
            "alg none",
            unsigned(&with(header.clone(), "alg", "none".into()), &claims),
        ),
        ("symmetric alg", hs256),
        (
            "private key in jwk",
            key.sign(
                &with(header.clone(), "jwk", key.private_jwk.clone()),
                &claims,
            ),
        ),
        (
            "no jwk",
            key.sign(&with(header.clone(), "jwk", Value::Null), &claims),
        ),
        (
            "jwk of another key",
            key.sign(
                &with(header.clone(), "jwk", other.public_jwk.clone()),
                &claims,
            ),
        ),
        (
            "alg of another key type",
            key.sign(&with(header.clone(), "alg", "EdDSA".into()), &claims),
        ),
        (
            "wrong htm",
            key.sign(&header, &with(claims.clone(), "htm", "GET".into())),
        ),
        (
            "wrong htu",
            key.sign(
                &header,
                &with(
                    claims.clone(),
                    "htu",
                    "https://auth.example.com/other".into(),
                ),
            ),
        ),
        (
            "htu of another host",
            key.sign(
                &header,
                &with(claims.clone(), "htu", "https://evil.example/token".into()),
            ),
        ),
        (
            "stale iat",
            key.sign(&header, &with(claims.clone(), "iat", (now() - 61).into())),
        ),
        (
            "future iat",
            key.sign(&header, &with(claims.clone(), "iat", (now() + 6).into())),
        ),
        (
            "no iat",
            key.sign(&header, &with(claims.clone(), "iat", Value::Null)),
        ),
        (
            "no jti",
            key.sign(&header, &with(claims.clone(), "jti", Value::Null)),
        ),
        ("not a JWS", "not.a.jws".to_owned()),
    ];
    for (case, proof) in cases {
        let response = fx.server.token(&worker_request(Some(&proof))).await;
        assert_error(&response, 400, "invalid_dpop_proof");
        assert_eq!(access_tokens_stored(&fx).await, 0, "{case}");
    }
    // Two DPoP headers.
    let twice = with_proof(worker_request(Some(&token_proof(&key))), &token_proof(&key));
    assert_error(&fx.server.token(&twice).await, 400, "invalid_dpop_proof");
    // The htu is compared without query and fragment (RFC 9449 §4.3), and a proof made a few
    // seconds ahead of the server's clock is accepted.
    let lenient = with(claims.clone(), "htu", format!("{TOKEN_URL}?x=1#f").into());
    let lenient = key.sign(&header, &with(lenient, "iat", (now() + 4).into()));
    assert_eq!(
        fx.server
            .token(&worker_request(Some(&lenient)))
            .await
            .status(),
        200
    );
    // A replayed proof (the same jti) is refused.
    let proof = token_proof(&key);
    assert_eq!(
        fx.server
            .token(&worker_request(Some(&proof)))
            .await
            .status(),
        200
    );
    assert_error(
        &fx.server.token(&worker_request(Some(&proof))).await,
        400,
        "invalid_dpop_proof",
    );
    assert_eq!(access_tokens_stored(&fx).await, 2);
}

// C-DP-1: only the configured algorithms are accepted, and the metadata says which.
#[tokio::test]
async fn only_allowed_algorithms_are_accepted() {
    let fx = fixture_with(|dpop| dpop.algorithms([SigningAlgorithm::Es256])).await;
    let metadata = fx.server.metadata();
    assert_eq!(
        metadata["dpop_signing_alg_values_supported"],
        json!(["ES256"])
    );
    // RFC 9728: a resource's metadata names them too.
    let with_resource = Fixture::with_storage(MemoryStorage::new(), |c| {
        c.resource(grantor::Resource::new(API_URL).unwrap())
            .dpop(Dpop::new(MemoryStorage::new()).algorithms([SigningAlgorithm::EdDsa]))
    })
    .await;
    let resource = with_resource.server.resource_metadata(API_URL).unwrap();
    assert_eq!(
        resource["dpop_signing_alg_values_supported"],
        json!(["EdDSA"])
    );
    assert_eq!(resource["dpop_bound_access_tokens_required"], false);
    let ed = ClientKey::ed25519();
    let response = fx
        .server
        .token(&worker_request(Some(&token_proof(&ed))))
        .await;
    assert_error(&response, 400, "invalid_dpop_proof");
    let es = ClientKey::es256();
    let response = fx
        .server
        .token(&worker_request(Some(&token_proof(&es))))
        .await;
    assert_eq!(response.status(), 200);
}

// C-DP-1: with nonces required, a proof without the current nonce is answered
// `use_dpop_nonce` with the nonce in `DPoP-Nonce`; a retry carrying it succeeds, and the
// response hands out the nonce again.
#[tokio::test]
async fn a_server_nonce_is_required_when_configured() {
    let fx = fixture_with(|dpop| {
        dpop.require_nonce(NONCE_KEY, Duration::from_secs(300))
            .unwrap()
    })
    .await;
    let key = ClientKey::es256();
    let response = fx
        .server
        .token(&worker_request(Some(&token_proof(&key))))
        .await;
    assert_error(&response, 400, "use_dpop_nonce");
    let nonce = response.headers()[DPOP_NONCE].to_str().unwrap().to_owned();
    let mut claims = proof_claims("POST", TOKEN_URL, now(), None);
    claims["nonce"] = json!("forged-nonce");
    let forged = key.sign(&key.proof_header(), &claims);
    assert_error(
        &fx.server.token(&worker_request(Some(&forged))).await,
        400,
        "use_dpop_nonce",
    );
    let mut claims = proof_claims("POST", TOKEN_URL, now(), None);
    claims["nonce"] = json!(nonce);
    let response = fx
        .server
        .token(&worker_request(Some(
            &key.sign(&key.proof_header(), &claims),
        )))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert!(response.headers().contains_key(DPOP_NONCE));
    let token = text(&json(&response), "access_token").to_owned();

    // At the resource too (RFC 9449 §9): 401 with a DPoP challenge and the nonce.
    let proof = key.proof("GET", API_URL, now(), Some(&token));
    let refused = fx
        .server
        .validate_bearer(&api_call("DPoP", &token, Some(&proof)), &Requirement::any())
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.error_code().unwrap().as_str(), "use_dpop_nonce");
    let response = refused.into_response();
    assert_eq!(response.headers()[DPOP_NONCE].to_str().unwrap(), nonce);
    assert!(
        challenges(&response)[0].starts_with("DPoP "),
        "{:?}",
        challenges(&response)
    );
    assert!(challenges(&response)[0].contains("error=\"use_dpop_nonce\""));
    let mut claims = proof_claims("GET", API_URL, now(), Some(&token));
    claims["nonce"] = json!(nonce);
    let proof = key.sign(&key.proof_header(), &claims);
    assert!(
        fx.server
            .validate_bearer(&api_call("DPoP", &token, Some(&proof)), &Requirement::any())
            .await
            .is_ok()
    );
    // The nonce of the previous period is still good; two periods later it is not.
    fx.advance(300);
    let mut claims = proof_claims("POST", TOKEN_URL, now() + 300, None);
    claims["nonce"] = json!(nonce);
    assert_eq!(
        fx.server
            .token(&worker_request(Some(
                &key.sign(&key.proof_header(), &claims)
            )))
            .await
            .status(),
        200
    );
    fx.advance(300);
    let mut claims = proof_claims("POST", TOKEN_URL, now() + 600, None);
    claims["nonce"] = json!(nonce);
    assert_error(
        &fx.server
            .token(&worker_request(Some(
                &key.sign(&key.proof_header(), &claims),
            )))
            .await,
        400,
        "use_dpop_nonce",
    );
}

// C-DP-2: a bound token is accepted with `Authorization: DPoP` and a proof by its key with the
// token's hash; refused (401, a `DPoP` challenge with `algs`) as a bearer token, without a
// proof, with a proof by another key, for another method or URL, without or with a wrong
// `ath`, or replayed.
#[tokio::test]
async fn a_bound_token_is_accepted_only_with_a_proof_by_its_key() {
    let fx = fixture().await;
    let key = ClientKey::es256();
    let token = bound_token(&fx, &key).await;
    let requirement = Requirement::any();
    let good = key.proof("GET", API_URL, now(), Some(&token));
    let grant = fx
        .server
        .validate_bearer(&api_call("DPoP", &token, Some(&good)), &requirement)
        .await
        .unwrap();
    assert_eq!(grant.client_id().as_str(), WORKER);

    let other = ClientKey::es256();
    let mut no_ath = proof_claims("GET", API_URL, now(), None);
    let wrong_ath = {
        let mut claims = proof_claims("GET", API_URL, now(), None);
        claims["ath"] = json!(ath("another-token"));
        key.sign(&key.proof_header(), &claims)
    };
    no_ath["jti"] = json!("no-ath-jti");
    let cases: Vec<(&str, Request<Vec<u8>>, &str)> = vec![
        (
            "as a bearer token",
            api_call("Bearer", &token, None),
            "invalid_token",
        ),
        (
            "as a bearer token with a proof",
            api_call(
                "Bearer",
                &token,
                Some(&key.proof("GET", API_URL, now(), Some(&token))),
            ),
            "invalid_token",
        ),
        (
            "without a proof",
            api_call("DPoP", &token, None),
            "invalid_dpop_proof",
        ),
        (
            "by another key",
            api_call(
                "DPoP",
                &token,
                Some(&other.proof("GET", API_URL, now(), Some(&token))),
            ),
            "invalid_dpop_proof",
        ),
        (
            "for another method",
            api_call(
                "DPoP",
                &token,
                Some(&key.proof("POST", API_URL, now(), Some(&token))),
            ),
            "invalid_dpop_proof",
        ),
        (
            "for another URL",
            api_call(
                "DPoP",
                &token,
                Some(&key.proof("GET", "https://api.example.com/other", now(), Some(&token))),
            ),
            "invalid_dpop_proof",
        ),
        (
            "without ath",
            api_call(
                "DPoP",
                &token,
                Some(&key.sign(&key.proof_header(), &no_ath)),
            ),
            "invalid_dpop_proof",
        ),
        (
            "with a wrong ath",
            api_call("DPoP", &token, Some(&wrong_ath)),
            "invalid_dpop_proof",
        ),
        (
            "replayed",
            api_call("DPoP", &token, Some(&good)),
            "invalid_dpop_proof",
        ),
    ];
    for (case, request, error) in cases {
        let refused = fx
            .server
            .validate_bearer(&request, &requirement)
            .await
            .unwrap_err();
        assert_eq!(refused.status(), 401, "{case}");
        assert_eq!(refused.error_code().unwrap().as_str(), error, "{case}");
        let response = refused.into_response();
        let challenges = challenges(&response);
        assert_eq!(challenges.len(), 1, "{case}: {challenges:?}");
        assert!(challenges[0].starts_with("DPoP "), "{case}: {challenges:?}");
        assert!(
            challenges[0].contains("algs=\"ES256 EdDSA PS256 RS256\""),
            "{case}"
        );
        assert!(
            challenges[0].contains(&format!("error=\"{error}\"")),
            "{case}"
        );
    }
    // An unbound token is not accepted under the DPoP scheme, and a request without a token is
    // challenged with both schemes.
    let bearer_token = text(
        &json(&fx.server.token(&worker_request(None)).await),
        "access_token",
    )
    .to_owned();
    let proof = key.proof("GET", API_URL, now(), Some(&bearer_token));
    let refused = fx
        .server
        .validate_bearer(&api_call("DPoP", &bearer_token, Some(&proof)), &requirement)
        .await
        .unwrap_err();
    assert_eq!(refused.error_code().unwrap().as_str(), "invalid_token");
    let bare = Request::get(API_URL).body(Vec::new()).unwrap();
    let refused = fx
        .server
        .validate_bearer(&bare, &requirement)
        .await
        .unwrap_err();
    let response = refused.into_response();
    let challenges = challenges(&response);
    assert_eq!(challenges.len(), 2, "{challenges:?}");
    assert!(challenges[0].starts_with("Bearer "));
    assert!(challenges[1].starts_with("DPoP ") && challenges[1].contains("algs="));
}

// C-DP-2: the request's URL comes from its Host header when the server serves that host, and
// behind a proxy, the host names the URL the client addressed.
#[tokio::test]
async fn the_request_url_comes_from_the_host_header_or_the_host() {
    let fx = fixture().await;
    let key = ClientKey::es256();
    let token = bound_token(&fx, &key).await;
    // A relative URI with a Host header: the issuer's scheme.
    let proof = key.proof("GET", "https://api.example.com/me", now(), Some(&token));
    let mut request = Request::get("/me")
        .header(http::header::HOST, "api.example.com")
        .header(http::header::AUTHORIZATION, format!("DPoP {token}"))
        .body(Vec::new())
        .unwrap();
    request.headers_mut().append(DPOP, proof.parse().unwrap());
    assert!(
        fx.server
            .validate_bearer(&request, &Requirement::any())
            .await
            .is_ok()
    );
    // A host the server does not serve (neither the issuer's nor a registered resource's)
    // is the client's word only: a proof for it is refused, with the token's key or not.
    let proof = key.proof("GET", "https://elsewhere.example/me", now(), Some(&token));
    let mut request = Request::get("/me")
        .header(http::header::HOST, "elsewhere.example")
        .header(http::header::AUTHORIZATION, format!("DPoP {token}"))
        .body(Vec::new())
        .unwrap();
    request.headers_mut().append(DPOP, proof.parse().unwrap());
    let refused = fx
        .server
        .validate_bearer(&request, &Requirement::any())
        .await
        .unwrap_err();
    assert_eq!(refused.error_code().unwrap().as_str(), "invalid_dpop_proof");
    // The host says what the client saw.
    let proof = key.proof("GET", "https://public.example/v1/me", now(), Some(&token));
    let mut request = api_call("DPoP", &token, Some(&proof));
    request.extensions_mut().insert(grantor::dpop::RequestUrl(
        "https://public.example/v1/me".into(),
    ));
    assert!(
        fx.server
            .validate_bearer(&request, &Requirement::any())
            .await
            .is_ok()
    );
}

/// The authorization query of `app` with `dpop_jkt`.
fn bound_code_query(jkt: &str) -> String {
    format!("{}&dpop_jkt={jkt}", app_query())
}

fn app_code_request(code: &str, proof: Option<&str>) -> Request<Vec<u8>> {
    let request = token_request(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", APP),
        ("code_verifier", VERIFIER),
    ]);
    match proof {
        Some(proof) => with_proof(request, proof),
        None => request,
    }
}

async fn bound_code(fx: &Fixture, key: &ClientKey) -> String {
    let response = fx
        .approve(&bound_code_query(&key.thumbprint), "alice", "read")
        .await;
    redirect_params(&response)["code"].clone()
}

// C-DP-3: `dpop_jkt` binds the code: redeemed without a proof or with a proof by another key,
// it is `invalid_grant` (and spent, like any failed redemption); with the key, the tokens are
// bound to it. A malformed `dpop_jkt` is refused at the authorization endpoint.
#[tokio::test]
async fn dpop_jkt_binds_the_code() {
    let fx = fixture().await;
    let key = ClientKey::es256();
    let other = ClientKey::es256();
    let pending = fx
        .server
        .authorize(&get(&format!(
            "/authorize?{}",
            bound_code_query(&key.thumbprint)
        )))
        .await
        .unwrap();
    assert_eq!(pending.dpop_jkt(), Some(key.thumbprint.as_str()));

    let code = bound_code(&fx, &key).await;
    let response = fx.server.token(&app_code_request(&code, None)).await;
    assert_error(&response, 400, "invalid_grant");
    let code = bound_code(&fx, &key).await;
    let response = fx
        .server
        .token(&app_code_request(&code, Some(&token_proof(&other))))
        .await;
    assert_error(&response, 400, "invalid_grant");
    let response = fx
        .server
        .token(&app_code_request(&code, Some(&token_proof(&key))))
        .await;
    assert_error(&response, 400, "invalid_grant");
    assert_eq!(access_tokens_stored(&fx).await, 0);

    let code = bound_code(&fx, &key).await;
    let response = fx
        .server
        .token(&app_code_request(&code, Some(&token_proof(&key))))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert_eq!(json(&response)["token_type"], "DPoP");

    let response = fx
        .server
        .authorize(&get(&format!(
            "/authorize?{}",
            bound_code_query("not-a-thumbprint")
        )))
        .await;
    let error = response.unwrap_err();
    assert!(format!("{error:?}").contains("dpop_jkt"), "{error:?}");
}

// C-DP-1: a public client's refresh token is bound to the key too: refreshed only with a proof
// by that key (else `invalid_grant`, and the token stays usable), and the new tokens are bound.
#[tokio::test]
async fn a_public_clients_refresh_token_is_bound() {
    let fx = fixture().await;
    let key = ClientKey::es256();
    let other = ClientKey::es256();
    let code = fx.app_code().await;
    let response = fx
        .server
        .token(&app_code_request(&code, Some(&token_proof(&key))))
        .await;
    let body = json(&response);
    assert_eq!(body["token_type"], "DPoP");
    let refresh = text(&body, "refresh_token").to_owned();
    let refresh_with = |proof: Option<String>| {
        let request = refresh_request((APP, None), &refresh, &[]);
        match proof {
            Some(proof) => with_proof(request, &proof),
            None => request,
        }
    };
    assert_error(
        &fx.server.token(&refresh_with(None)).await,
        400,
        "invalid_grant",
    );
    assert_error(
        &fx.server
            .token(&refresh_with(Some(token_proof(&other))))
            .await,
        400,
        "invalid_grant",
    );
    assert!(
        refresh_is_live(&fx, &refresh).await,
        "a refused refresh spends nothing"
    );
    let response = fx
        .server
        .token(&refresh_with(Some(token_proof(&key))))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let body = json(&response);
    assert_eq!(body["token_type"], "DPoP");
    let token = text(&body, "access_token");
    let proof = key.proof("GET", API_URL, now(), Some(token));
    assert!(
        fx.server
            .validate_bearer(&api_call("DPoP", token, Some(&proof)), &Requirement::any())
            .await
            .is_ok()
    );
}

// C-DP-1: a confidential client's refresh token is not bound to the key (RFC 9449 §5): a
// refresh with a proof by a new key binds the new tokens to that key; without a proof they
// stay bound to the grant's latest key, never bearer tokens.
#[tokio::test]
async fn a_confidential_client_may_move_to_a_new_key() {
    let fx = fixture().await;
    let (first, second) = (ClientKey::es256(), ClientKey::ed25519());
    let request = with_proof(
        password_request("alice", "wonderland", &[]),
        &token_proof(&first),
    );
    let body = json(&fx.server.token(&request).await);
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let refresh = text(&body, "refresh_token").to_owned();
    let request = with_proof(
        refresh_request((TRUSTED, Some(TRUSTED_SECRET)), &refresh, &[]),
        &token_proof(&second),
    );
    let body = json(&fx.server.token(&request).await);
    let token = text(&body, "access_token");
    let introspect = basic_post("/introspect", TRUSTED, TRUSTED_SECRET, &[("token", token)]);
    assert_eq!(
        json(&fx.server.introspect(&introspect).await)["cnf"],
        json!({"jkt": second.thumbprint})
    );
    let refresh = text(&body, "refresh_token").to_owned();
    let body = json(
        &fx.server
            .token(&refresh_request(
                (TRUSTED, Some(TRUSTED_SECRET)),
                &refresh,
                &[],
            ))
            .await,
    );
    assert_eq!(body["token_type"], "DPoP");
    let introspect = basic_post(
        "/introspect",
        TRUSTED,
        TRUSTED_SECRET,
        &[("token", text(&body, "access_token"))],
    );
    assert_eq!(
        json(&fx.server.introspect(&introspect).await)["cnf"],
        json!({"jkt": second.thumbprint})
    );
}

// C-DP-1: a client registered with `dpop_bound_access_tokens`, or any client of a server that
// requires proofs, is refused without one.
#[tokio::test]
async fn proofs_can_be_required_per_client_and_per_server() {
    let fx = fixture().await;
    let client = Client::confidential("bound", &ClientSecret::new(WORKER_SECRET))
        .grant_types([GrantType::ClientCredentials])
        .allowed_scopes("stats")
        .default_scopes("stats")
        .dpop_bound_access_tokens(true)
        .build()
        .unwrap();
    assert!(client.requires_dpop());
    fx.server.register_client(client).await.unwrap();
    let request = basic_token_request(
        "bound",
        WORKER_SECRET,
        &[("grant_type", "client_credentials")],
    );
    assert_error(&fx.server.token(&request).await, 400, "invalid_dpop_proof");
    let key = ClientKey::es256();
    let request = with_proof(
        basic_token_request(
            "bound",
            WORKER_SECRET,
            &[("grant_type", "client_credentials")],
        ),
        &token_proof(&key),
    );
    assert_eq!(json(&fx.server.token(&request).await)["token_type"], "DPoP");
    assert_eq!(fx.server.token(&worker_request(None)).await.status(), 200);

    let strict = fixture_with(|dpop| dpop.require_proofs(true)).await;
    assert_error(
        &strict.server.token(&worker_request(None)).await,
        400,
        "invalid_dpop_proof",
    );
    assert_eq!(strict.storage().stats().access_tokens, 0);
}

// C-DP-1: the replay cache lives in storage, so a proof replayed to another instance of a
// fleet is refused there: two servers over one PostgreSQL database.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_proof_replayed_to_another_instance_is_refused() {
    let Some(schema) = common::postgres::TestSchema::create("dpop replay across instances").await
    else {
        return;
    };
    let (one, two) = (schema.storage().await, schema.storage().await);
    let instance = |storage: grantor::storage::PostgresStorage| async move {
        let dpop = Dpop::new(storage.clone());
        Fixture::with_storage(storage, |c| c.dpop(dpop)).await
    };
    let (a, b) = (instance(one).await, instance(two).await);
    let key = ClientKey::es256();
    let proof = token_proof(&key);
    assert_eq!(
        a.server.token(&worker_request(Some(&proof))).await.status(),
        200
    );
    assert_error(
        &b.server.token(&worker_request(Some(&proof))).await,
        400,
        "invalid_dpop_proof",
    );
    let fresh = token_proof(&key);
    assert_eq!(
        b.server.token(&worker_request(Some(&fresh))).await.status(),
        200
    );
    schema.drop().await;
}

const PAR_URL: &str = "https://auth.example.com/par";

/// A push of `app`'s authorization request (with `extra` parameters), with a proof if given.
fn app_push(extra: &[(&str, &str)], proof: Option<&str>) -> Request<Vec<u8>> {
    let challenge = grantor::CodeChallenge::s256(VERIFIER);
    let mut pairs = vec![
        ("client_id", APP),
        ("response_type", "code"),
        ("scope", "read"),
        ("code_challenge", challenge.value()),
        ("code_challenge_method", "S256"),
    ];
    pairs.extend_from_slice(extra);
    let request = post_form("/par", form_body(&pairs));
    match proof {
        Some(proof) => with_proof(request, proof),
        None => request,
    }
}

// C-DP-3, C-PA-1 (RFC 9449 §10.1): a DPoP proof sent with a pushed authorization request binds
// the code like `dpop_jkt`; a pushed `dpop_jkt` for another key, or a bad proof, is refused.
#[tokio::test]
async fn a_proof_with_a_pushed_request_binds_the_code() {
    let fx = fixture().await;
    let key = ClientKey::es256();
    let response = fx
        .server
        .push_authorization_request(&app_push(
            &[],
            Some(&key.proof("POST", PAR_URL, now(), None)),
        ))
        .await;
    assert_eq!(response.status(), 201, "{}", body_text(&response));
    let request_uri = text(&json(&response), "request_uri").to_owned();
    let pending = fx
        .server
        .authorize(&get(&format!(
            "/authorize?client_id={APP}&request_uri={}",
            enc(&request_uri)
        )))
        .await
        .unwrap();
    assert_eq!(pending.dpop_jkt(), Some(key.thumbprint.as_str()));

    let other = ClientKey::es256();
    let mismatched = app_push(
        &[("dpop_jkt", &other.thumbprint)],
        Some(&key.proof("POST", PAR_URL, now(), None)),
    );
    let response = fx.server.push_authorization_request(&mismatched).await;
    assert_error(&response, 400, "invalid_dpop_proof");
    let wrong_url = app_push(&[], Some(&token_proof(&key)));
    let response = fx.server.push_authorization_request(&wrong_url).await;
    assert_error(&response, 400, "invalid_dpop_proof");
}

// C-DP-1, RFC 9449 §5.2: `dpop_bound_access_tokens` is a registration field: it round-trips,
// and the registered client's token requests without a proof are refused.
#[tokio::test]
async fn dpop_bound_access_tokens_can_be_registered() {
    let storage = MemoryStorage::new();
    let fx = Fixture::with_server(
        storage.clone(),
        |c| c.scopes_supported("stats").dpop(Dpop::new(storage.clone())),
        |b| b.registration(grantor::RegistrationPolicy::open().app_clients(true)),
    )
    .await;
    let body = json!({
        "grant_types": ["client_credentials"],
        "scope": "stats",
        "dpop_bound_access_tokens": true,
    });
    let response = fx
        .server
        .register(&json_request(http::Method::POST, "/register", &body))
        .await;
    assert_eq!(response.status(), 201, "{}", body_text(&response));
    let answer = json(&response);
    assert_eq!(answer["dpop_bound_access_tokens"], true);
    let id = text(&answer, "client_id").to_owned();
    let secret = text(&answer, "client_secret").to_owned();
    let client = grantor::storage::ClientStore::client(fx.storage(), &id)
        .await
        .unwrap()
        .unwrap();
    assert!(client.requires_dpop());
    let request = || basic_token_request(&id, &secret, &[("grant_type", "client_credentials")]);
    assert_error(
        &fx.server.token(&request()).await,
        400,
        "invalid_dpop_proof",
    );
    let key = ClientKey::es256();
    let response = fx
        .server
        .token(&with_proof(request(), &token_proof(&key)))
        .await;
    assert_eq!(
        json(&response)["token_type"],
        "DPoP",
        "{}",
        body_text(&response)
    );
}
