//! OpenID Connect, black-box: ID tokens (verified with `jsonwebtoken`, a JOSE implementation
//! grantor does not use), the authorization request's OpenID parameters, response types and
//! modes, UserInfo, discovery, remembered consent, and the signing keys' rotation.
#![cfg(feature = "oidc")]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use grantor::oidc::{
    ClaimSet, ClaimsSource, KeyRing, OpenIdProvider, RotationPolicy, SigningAlgorithm,
};
use grantor::storage::{KeyStore, MemoryStorage};
use grantor::{
    Approval, AuthorizationError, AuthorizationRequest, BoxFuture, Client, ClientSecret,
    CodeChallenge, ConfigBuilder, Error, ErrorCode, GrantType, Interaction, OwnerId, Prompt,
    ResponseMode, ResponseType, ScopeSet, Timestamp,
};
use http::Response;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha512};

/// A confidential relying party using the code flow (RS256, the default).
const RP: &str = "rp";
const RP_SECRET: &str = "rp-secret-with-enough-entropy-for-tests";
const RP_REDIRECT: &str = "https://rp.example/cb";
/// A public client registered for every response type, signing with ES256.
const SPA: &str = "spa-oidc";
const SPA_REDIRECT: &str = "https://spa-oidc.example/cb";
/// A public client in sector A with EdDSA that always wants `auth_time`.
const ED: &str = "ed-rp";
const ED_REDIRECT: &str = "https://ed.example/cb";
/// A confidential client in sector B with PS256.
const PS: &str = "ps-rp";
const PS_SECRET: &str = "ps-secret-with-enough-entropy-for-tests";
const PS_REDIRECT: &str = "https://ps.example/cb";
const NONCE: &str = "n-0S6_WzA2Mj";
const SALT: &[u8] = b"pairwise salt of the test provider";

/// The claims source of the tests: alice has every kind of claim; anyone else is unknown.
struct Directory;

impl ClaimsSource for Directory {
    fn claims<'a>(
        &'a self,
        owner: &'a OwnerId,
        _wanted: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Option<ClaimSet>, Error>> {
        let claims = (owner.as_str() == "alice").then(|| {
            let value = json!({
                "name": "Alice Liddell",
                "given_name": "Alice",
                "email": "alice@example.com",
                "email_verified": true,
                "phone_number": "+1 555 0100",
                "address": {"locality": "Oxford"},
                "sub": "forged-subject",
                "iss": "https://forged.example",
            });
            match value {
                Value::Object(map) => map,
                _ => ClaimSet::new(),
            }
        });
        Box::pin(async move { Ok(claims) })
    }
}

fn policy() -> RotationPolicy {
    RotationPolicy::new().algorithms(SigningAlgorithm::ALL)
}

/// An OpenID Provider over `storage` with the common clients and the OpenID ones.
async fn provider_over(
    storage: MemoryStorage,
    policy: RotationPolicy,
    configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> Fixture {
    let ring = KeyRing::new(storage.clone(), policy).unwrap();
    let provider = OpenIdProvider::builder(ring, Directory)
        .pairwise_salt(SALT)
        .claims_supported([
            "name",
            "given_name",
            "email",
            "email_verified",
            "phone_number",
        ])
        .build()
        .unwrap();
    let fx = Fixture::with_server(storage, configure, |builder| builder.openid(provider)).await;
    for client in openid_clients() {
        fx.server.register_client(client).await.unwrap();
    }
    fx
}

async fn op() -> Fixture {
    provider_over(MemoryStorage::new(), policy(), |c| c).await
}

fn openid_clients() -> Vec<Client> {
    let scopes = "openid profile email phone address offline_access read";
    vec![
        Client::confidential(RP, &ClientSecret::new(RP_SECRET))
            .redirect_uri(RP_REDIRECT)
            .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .allowed_scopes(scopes)
            .build()
            .unwrap(),
        Client::public(SPA)
            .redirect_uri(SPA_REDIRECT)
            .grant_types([GrantType::AuthorizationCode, GrantType::Implicit])
            .response_types(ResponseType::ALL)
            .allowed_scopes(scopes)
            .id_token_signed_response_alg("ES256")
            .build()
            .unwrap(),
        Client::public(ED)
            .redirect_uri(ED_REDIRECT)
            .allowed_scopes(scopes)
            .id_token_signed_response_alg("EdDSA")
            .require_auth_time(true)
            .sector_identifier("https://sector-a.example")
            .build()
            .unwrap(),
        Client::confidential(PS, &ClientSecret::new(PS_SECRET))
            .redirect_uri(PS_REDIRECT)
            .allowed_scopes(scopes)
            .id_token_signed_response_alg("PS256")
            .sector_identifier("https://sector-b.example")
            .build()
            .unwrap(),
    ]
}

fn challenge() -> String {
    CodeChallenge::s256(VERIFIER).value().to_owned()
}

/// An authorization query: the parameters given, plus PKCE for types that return a code.
fn query(pairs: &[(&str, &str)]) -> String {
    let mut all: Vec<(String, String)> = pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    let with_code = pairs
        .iter()
        .any(|(n, v)| *n == "response_type" && v.split(' ').any(|w| w == "code"));
    if with_code && !pairs.iter().any(|(n, _)| *n == "code_challenge") {
        all.push(("code_challenge".into(), challenge()));
        all.push(("code_challenge_method".into(), "S256".into()));
    }
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(all)
        .finish()
}

/// The usual code-flow query of `client` for `scope`, with a nonce.
fn code_query(client: &str, redirect: &str, scope: &str, extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", redirect),
        ("scope", scope),
        ("state", "af0ifjsldkj"),
        ("nonce", NONCE),
    ];
    pairs.extend_from_slice(extra);
    query(&pairs)
}

async fn pending(fx: &Fixture, query: &str) -> AuthorizationRequest {
    fx.server
        .authorize(&get(&format!("/authorize?{query}")))
        .await
        .unwrap_or_else(|e| panic!("valid request refused: {e:?}"))
}

async fn refused(fx: &Fixture, query: &str) -> AuthorizationError {
    fx.server
        .authorize(&get(&format!("/authorize?{query}")))
        .await
        .expect_err("the request must be refused")
}

/// The login of the tests: alice, who authenticated 30 s before now with a password.
fn login(fx: &Fixture) -> Timestamp {
    Timestamp::from_secs(fx.server.now().as_secs() - 30)
}

fn approval(fx: &Fixture, scope: &str) -> Approval {
    Approval::new(OwnerId::new("alice"), ScopeSet::parse(scope).unwrap())
        .authenticated_at(login(fx))
        .acr("urn:example:loa:2")
        .amr(["pwd", "otp"])
        .consent_shown(true)
}

/// Approves `query` for alice with `scope`.
async fn approve(fx: &Fixture, query: &str, scope: &str) -> Response<Vec<u8>> {
    let request = pending(fx, query).await;
    fx.server
        .approve_with(request, approval(fx, scope))
        .await
        .unwrap()
}

/// Runs the code flow of `client` and returns the token response.
async fn code_flow(
    fx: &Fixture,
    client: (&str, Option<&str>, &str),
    scope: &str,
    extra: &[(&str, &str)],
) -> Value {
    let tokens = code_flow_with(fx, client, scope, extra, approval(fx, scope)).await;
    assert_eq!(tokens.status(), 200, "{}", body_text(&tokens));
    json(&tokens)
}

/// The code flow of `client` approved as `approval` says; returns the token endpoint's answer.
async fn code_flow_with(
    fx: &Fixture,
    client: (&str, Option<&str>, &str),
    scope: &str,
    extra: &[(&str, &str)],
    approval: Approval,
) -> Response<Vec<u8>> {
    let (id, secret, redirect) = client;
    let request = pending(fx, &code_query(id, redirect, scope, extra)).await;
    let response = fx.server.approve_with(request, approval).await.unwrap();
    let params = redirect_params(&response);
    let code = params
        .get("code")
        .unwrap_or_else(|| panic!("no code: {params:?}"))
        .clone();
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect),
        ("code_verifier", VERIFIER),
    ];
    let request = match secret {
        Some(secret) => basic_token_request(id, secret, &pairs),
        None => {
            pairs.push(("client_id", id));
            token_request(&pairs)
        }
    };
    fx.server.token(&request).await
}

const RP_CLIENT: (&str, Option<&str>, &str) = (RP, Some(RP_SECRET), RP_REDIRECT);

async fn jwks(fx: &Fixture) -> Value {
    let response = fx.server.jwks_response(&get("/jwks")).await;
    assert_eq!(response.status(), 200);
    json(&response)
}

/// Verifies an ID token with `jsonwebtoken` against a JWKS: the signature by the key its `kid`
/// names, `alg`, `iss` and `aud`, and expiry against the server's clock. Returns the claims.
fn verify(fx: &Fixture, jwks: &Value, token: &str, alg: Algorithm, aud: &str) -> Value {
    try_verify(fx, jwks, token, alg, aud).expect("the ID token verifies")
}

fn try_verify(fx: &Fixture, jwks: &Value, token: &str, alg: Algorithm, aud: &str) -> Option<Value> {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, alg);
    let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let jwk = set.find(header.kid.as_deref()?)?;
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[aud]);
    // The server runs on a manual clock: expiry is checked against it below.
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .ok()?
        .claims;
    let now = fx.server.now().as_secs();
    (claims["exp"].as_u64()? > now).then_some(claims)
}

/// The left half of the hash of `value`, base64url, computed here (not by grantor).
fn half_hash(alg: Algorithm, value: &str) -> String {
    let digest = match alg {
        Algorithm::EdDSA => Sha512::digest(value.as_bytes()).to_vec(),
        _ => Sha256::digest(value.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

fn assert_redirected_error(error: AuthorizationError, code: &str) -> HashMap<String, String> {
    assert!(
        matches!(error, AuthorizationError::Redirect { .. }),
        "{error:?}"
    );
    let response = error.into_response();
    assert_eq!(response.status(), 303);
    let params = redirect_params(&response);
    assert_eq!(params["error"], code, "{params:?}");
    params
}

// C-OI-1, C-OI-2, C-KY-1: the code flow's token response carries an ID token signed with
// RS256 by a key of the JWKS, with every claim the request and the approval call for.
#[tokio::test]
async fn the_code_grant_returns_an_id_token_a_second_implementation_verifies() {
    let fx = op().await;
    let tokens = code_flow(&fx, RP_CLIENT, "openid email", &[("max_age", "600")]).await;
    let id_token = text(&tokens, "id_token");
    let jwks = jwks(&fx).await;
    let claims = verify(&fx, &jwks, id_token, Algorithm::RS256, RP);
    let now = fx.server.now().as_secs();
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], "alice", "public subject: the owner's id");
    assert_eq!(claims["aud"], RP);
    assert_eq!(claims["iat"], now);
    assert_eq!(claims["exp"], now + 3600);
    assert_eq!(claims["auth_time"], now - 30, "max_age was sent");
    assert_eq!(claims["nonce"], NONCE, "echoed exactly");
    assert_eq!(claims["acr"], "urn:example:loa:2");
    assert_eq!(claims["amr"], json!(["pwd", "otp"]));
    assert_eq!(
        claims["at_hash"],
        half_hash(Algorithm::RS256, text(&tokens, "access_token"))
    );
    assert!(claims.get("c_hash").is_none() && claims.get("azp").is_none());
    // With an access token for UserInfo, the scope's claims stay out of the ID token.
    assert!(claims.get("email").is_none(), "{claims}");
    // C-KY-1: the JWKS holds public keys only, each with kid, kty, alg and use.
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 4, "one per algorithm of the policy");
    for key in keys {
        for member in ["kid", "kty", "alg"] {
            assert!(key[member].is_string(), "{key}");
        }
        assert_eq!(key["use"], "sig");
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "{private} in {key}");
        }
    }
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert!(
        keys.iter()
            .any(|k| k["kid"] == header.kid.clone().unwrap().as_str())
    );
}

// C-OI-1: each client's tokens are signed with its registered algorithm; pairwise subjects
// differ across sectors and are stable within one.
#[tokio::test]
async fn each_client_gets_its_algorithm_and_its_sector_subject() {
    let fx = op().await;
    let jwks = jwks(&fx).await;
    let ed = code_flow(&fx, (ED, None, ED_REDIRECT), "openid", &[]).await;
    let ed_claims = verify(&fx, &jwks, text(&ed, "id_token"), Algorithm::EdDSA, ED);
    assert_eq!(
        ed_claims["at_hash"],
        half_hash(Algorithm::EdDSA, text(&ed, "access_token")),
        "EdDSA (Ed25519) hashes with SHA-512"
    );
    assert!(
        ed_claims["auth_time"].is_u64(),
        "the client requires auth_time"
    );
    let ps = code_flow(&fx, (PS, Some(PS_SECRET), PS_REDIRECT), "openid", &[]).await;
    let ps_claims = verify(&fx, &jwks, text(&ps, "id_token"), Algorithm::PS256, PS);
    let (a, b) = (text(&ed_claims, "sub"), text(&ps_claims, "sub"));
    assert_ne!(a, b, "pairwise subjects differ across sectors");
    assert!(a.len() <= 255 && a.is_ascii() && a != "alice");
    let again = code_flow(&fx, (ED, None, ED_REDIRECT), "openid", &[]).await;
    let again = verify(&fx, &jwks, text(&again, "id_token"), Algorithm::EdDSA, ED);
    assert_eq!(again["sub"], a, "and stable");
}

// C-OI-1: auth_time is required when max_age is sent or the client requires it; an approval
// that cannot tell it is a host error, not a token without it.
#[tokio::test]
async fn an_approval_without_the_login_time_is_refused_when_auth_time_is_needed() {
    let fx = op().await;
    for (client, redirect, extra) in [
        (RP, RP_REDIRECT, vec![("max_age", "60")]),
        (ED, ED_REDIRECT, vec![]),
    ] {
        let request = pending(&fx, &code_query(client, redirect, "openid", &extra)).await;
        let approval = Approval::new(OwnerId::new("alice"), ScopeSet::parse("openid").unwrap());
        let result = fx.server.approve_with(request, approval).await;
        assert!(matches!(result, Err(Error::Usage(_))), "{result:?}");
    }
    assert_eq!(fx.storage().stats().records, 0, "no code was issued");
}

// C-OI-6: a refresh of an OpenID grant returns a new ID token: same iss, sub and aud, the
// original auth_time, no nonce; its at_hash is the new access token's.
#[tokio::test]
async fn a_refresh_returns_an_id_token_of_the_original_authentication() {
    let fx = op().await;
    let first = code_flow(&fx, RP_CLIENT, "openid profile", &[("max_age", "600")]).await;
    let jwks = jwks(&fx).await;
    let original = verify(&fx, &jwks, text(&first, "id_token"), Algorithm::RS256, RP);
    fx.advance(600);
    let response = fx
        .server
        .token(&refresh_request(
            (RP, Some(RP_SECRET)),
            text(&first, "refresh_token"),
            &[],
        ))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let refreshed = json(&response);
    let claims = verify(
        &fx,
        &jwks,
        text(&refreshed, "id_token"),
        Algorithm::RS256,
        RP,
    );
    for same in ["iss", "sub", "aud", "auth_time", "acr", "amr"] {
        assert_eq!(claims[same], original[same], "{same}");
    }
    assert!(claims.get("nonce").is_none());
    assert_eq!(claims["iat"], fx.server.now().as_secs());
    assert_eq!(
        claims["at_hash"],
        half_hash(Algorithm::RS256, text(&refreshed, "access_token"))
    );
    // A refresh narrowed to exclude openid gets no ID token.
    let narrowed = fx
        .server
        .token(&refresh_request(
            (RP, Some(RP_SECRET)),
            text(&refreshed, "refresh_token"),
            &[("scope", "profile")],
        ))
        .await;
    assert_eq!(narrowed.status(), 200);
    assert!(json(&narrowed).get("id_token").is_none());
}

// C-OI-6: with offline_access required, an OpenID grant gets a refresh token only with
// offline_access, which is dropped unless the owner saw the consent page.
#[tokio::test]
async fn offline_access_governs_refresh_tokens_when_configured() {
    let fx = provider_over(MemoryStorage::new(), policy(), |c| {
        c.offline_access_required(true)
    })
    .await;
    let without = code_flow(&fx, RP_CLIENT, "openid", &[]).await;
    assert!(without.get("refresh_token").is_none(), "{without}");
    let with = code_flow(&fx, RP_CLIENT, "openid offline_access", &[]).await;
    assert!(with["refresh_token"].is_string(), "{with}");
    assert_eq!(with["scope"], "offline_access openid");

    let query = code_query(RP, RP_REDIRECT, "openid offline_access", &[]);
    let request = pending(&fx, &query).await;
    let unseen = approval(&fx, "openid offline_access").consent_shown(false);
    let response = fx.server.approve_with(request, unseen).await.unwrap();
    let code = redirect_params(&response)["code"].clone();
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", RP_REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let tokens = json(
        &fx.server
            .token(&basic_token_request(RP, RP_SECRET, &pairs))
            .await,
    );
    assert_eq!(tokens["scope"], "openid", "offline_access dropped");
    assert!(tokens.get("refresh_token").is_none());
    // prompt=consent counts as the consent page shown.
    let response = code_flow_with(
        &fx,
        RP_CLIENT,
        "openid offline_access",
        &[("prompt", "consent")],
        unseen_approval(&fx),
    )
    .await;
    let tokens = json(&response);
    assert_eq!(
        tokens["scope"], "offline_access openid",
        "kept: prompt=consent"
    );
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
}

fn unseen_approval(fx: &Fixture) -> Approval {
    approval(fx, "openid offline_access").consent_shown(false)
}

// C-OI-3: prompt=none shows nothing: the host learns what is missing, and the client gets
// login_required or consent_required by redirect, with state.
#[tokio::test]
async fn prompt_none_answers_by_redirect_when_the_owner_would_have_to_interact() {
    let fx = op().await;
    let alice = OwnerId::new("alice");
    let silent = code_query(RP, RP_REDIRECT, "openid email", &[("prompt", "none")]);
    let request = pending(&fx, &silent).await;
    assert_eq!(request.openid().unwrap().prompt(), Prompt::NONE);
    let Interaction::Refuse(error) = fx.server.interaction(&request, None).await.unwrap() else {
        panic!("prompt=none without a login must be refused");
    };
    assert_eq!(error.code(), ErrorCode::LoginRequired);
    let response = fx.server.reject(request, error);
    let params = redirect_params(&response);
    assert_eq!(params["error"], "login_required");
    assert_eq!(params["state"], "af0ifjsldkj");

    let request = pending(&fx, &silent).await;
    let logged_in = Some((&alice, login(&fx)));
    let interaction = fx.server.interaction(&request, logged_in).await.unwrap();
    assert_eq!(
        interaction,
        Interaction::Refuse(grantor::OAuthError::new(ErrorCode::ConsentRequired))
    );
    // Once consent is remembered, the same request is served silently.
    fx.server
        .remember_consent(
            &alice,
            &RP.parse().unwrap(),
            request.scope(),
            request.resources(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        fx.server.interaction(&request, logged_in).await.unwrap(),
        Interaction::Ready
    );
    let scope = request.scope().clone();
    let approval = Approval::new(alice.clone(), scope).authenticated_at(login(&fx));
    let response = fx.server.approve_with(request, approval).await.unwrap();
    assert!(redirect_params(&response).contains_key("code"));
    assert_eq!(fx.storage().stats().records, 1);
}

// C-OI-3: prompt=login and max_age force a new login; prompt=consent forces the consent page
// even when consent is remembered; an approval with a stale login is login_required.
#[tokio::test]
async fn prompt_login_max_age_and_consent_force_the_pages() {
    let fx = op().await;
    let alice = OwnerId::new("alice");
    let client = RP.parse().unwrap();
    let scope = ScopeSet::parse("openid").unwrap();
    fx.server
        .remember_consent(&alice, &client, &scope, &[], None)
        .await
        .unwrap();
    let earlier = login(&fx);
    let ask = |extra: &'static [(&'static str, &'static str)]| {
        code_query(RP, RP_REDIRECT, "openid", extra)
    };
    for (extra, expected) in [
        (&[][..], Interaction::Ready),
        (&[("prompt", "login")][..], Interaction::Login),
        (&[("max_age", "10")][..], Interaction::Login),
        (&[("max_age", "3600")][..], Interaction::Ready),
        (&[("prompt", "consent")][..], Interaction::Consent),
        (
            &[("prompt", "select_account")][..],
            Interaction::SelectAccount,
        ),
    ] {
        let request = pending(&fx, &ask(extra)).await;
        let interaction = fx
            .server
            .interaction(&request, Some((&alice, earlier)))
            .await
            .unwrap();
        assert_eq!(interaction, expected, "{extra:?}");
    }
    // A login after the request satisfies prompt=login.
    let request = pending(&fx, &ask(&[("prompt", "login")])).await;
    fx.advance(5);
    let fresh = fx.server.now();
    assert_eq!(
        fx.server
            .interaction(&request, Some((&alice, fresh)))
            .await
            .unwrap(),
        Interaction::Ready
    );
    // A host that approves with the old login anyway gets login_required for the client.
    let stale = Approval::new(alice.clone(), scope.clone()).authenticated_at(earlier);
    let response = fx.server.approve_with(request, stale).await.unwrap();
    assert_eq!(redirect_params(&response)["error"], "login_required");
    let request = pending(&fx, &ask(&[("max_age", "10")])).await;
    let stale = Approval::new(alice, scope).authenticated_at(earlier);
    let response = fx.server.approve_with(request, stale).await.unwrap();
    assert_eq!(redirect_params(&response)["error"], "login_required");
    assert_eq!(fx.storage().stats().records, 0, "no code was issued");
}

// C-OI-3, C-OI-2, C-OI-7: bad OpenID parameters get the specified error, by redirect with
// state, and change nothing.
#[tokio::test]
async fn bad_openid_parameters_are_refused_and_change_nothing() {
    let fx = op().await;
    let other_keys = {
        let storage = MemoryStorage::new();
        provider_over(storage, policy(), |c| c).await
    };
    let foreign_hint = text(
        &code_flow(&other_keys, RP_CLIENT, "openid", &[]).await,
        "id_token",
    )
    .to_owned();
    let cases: Vec<(String, &str)> = vec![
        (
            code_query(RP, RP_REDIRECT, "openid", &[("prompt", "later")]),
            "invalid_request",
        ),
        (
            code_query(RP, RP_REDIRECT, "openid", &[("prompt", "none login")]),
            "invalid_request",
        ),
        (
            code_query(RP, RP_REDIRECT, "openid", &[("max_age", "ten")]),
            "invalid_request",
        ),
        (
            code_query(RP, RP_REDIRECT, "openid", &[("max_age", "-1")]),
            "invalid_request",
        ),
        (
            code_query(RP, RP_REDIRECT, "openid", &[("claims", "{not json")]),
            "invalid_request",
        ),
        (
            code_query(RP, RP_REDIRECT, "openid", &[("claims", "[1,2]")]),
            "invalid_request",
        ),
        (
            code_query(RP, RP_REDIRECT, "openid", &[("display", "hologram")]),
            "invalid_request",
        ),
        (
            code_query(
                RP,
                RP_REDIRECT,
                "openid",
                &[("id_token_hint", foreign_hint.as_str())],
            ),
            "invalid_request",
        ),
        (
            code_query(RP, RP_REDIRECT, "openid", &[("id_token_hint", "not.a.jwt")]),
            "invalid_request",
        ),
        (
            code_query(
                RP,
                RP_REDIRECT,
                "openid",
                &[("request", "eyJhbGciOiJub25lIn0.e30.")],
            ),
            "request_not_supported",
        ),
        (
            code_query(
                RP,
                RP_REDIRECT,
                "openid",
                &[("request_uri", "https://rp.example/r")],
            ),
            "request_uri_not_supported",
        ),
        (
            code_query(RP, RP_REDIRECT, "openid", &[("response_mode", "shouting")]),
            "invalid_request",
        ),
        (
            query(&[
                ("response_type", "id_token"),
                ("client_id", SPA),
                ("scope", "openid"),
                ("state", "af0ifjsldkj"),
            ]),
            "invalid_request", // C-OI-2: no nonce
        ),
        (
            query(&[
                ("response_type", "id_token token"),
                ("client_id", SPA),
                ("scope", "openid"),
                ("state", "af0ifjsldkj"),
                ("nonce", NONCE),
                ("response_mode", "query"),
            ]),
            "invalid_request", // C-OI-7: tokens never in the query
        ),
        (
            query(&[
                ("response_type", "id_token"),
                ("client_id", SPA),
                ("scope", "profile"),
                ("state", "af0ifjsldkj"),
                ("nonce", NONCE),
            ]),
            "invalid_request", // an ID token needs the openid scope
        ),
        (
            query(&[
                ("response_type", "code id_token"),
                ("client_id", RP),
                ("scope", "openid"),
                ("state", "af0ifjsldkj"),
                ("nonce", NONCE),
            ]),
            "unauthorized_client", // C-OI-7: not registered for it
        ),
    ];
    for (query, code) in cases {
        let params = assert_redirected_error(refused(&fx, &query).await, code);
        assert_eq!(params["state"], "af0ifjsldkj", "{query}");
    }
    // The token-returning type's error went to the fragment, not the query.
    let error = refused(
        &fx,
        &query(&[
            ("response_type", "id_token token"),
            ("client_id", SPA),
            ("scope", "openid"),
            ("state", "s"),
            ("nonce", NONCE),
            ("response_mode", "query"),
        ]),
    )
    .await;
    assert!(location(&error.into_response()).contains('#'));
    let stats = fx.storage().stats();
    assert_eq!((stats.records, stats.access_tokens), (0, 0));
}

// C-OI-3: an id_token_hint this server signed for the client names the only owner who may
// approve; anyone else is login_required.
#[tokio::test]
async fn an_id_token_hint_names_the_owner_who_may_approve() {
    let fx = op().await;
    let hint = text(&code_flow(&fx, RP_CLIENT, "openid", &[]).await, "id_token").to_owned();
    // Hints need not be live: an expired one still names the owner.
    fx.advance(7200);
    let with_hint = code_query(
        RP,
        RP_REDIRECT,
        "openid",
        &[("id_token_hint", hint.as_str())],
    );
    let request = pending(&fx, &with_hint).await;
    assert_eq!(request.openid().unwrap().hint_subject(), Some("alice"));
    let bob = OwnerId::new("bob");
    let interaction = fx
        .server
        .interaction(&request, Some((&bob, fx.server.now())))
        .await
        .unwrap();
    assert_eq!(interaction, Interaction::Login);
    let as_bob = Approval::new(bob, ScopeSet::parse("openid").unwrap());
    let response = fx.server.approve_with(request, as_bob).await.unwrap();
    assert_eq!(redirect_params(&response)["error"], "login_required");
    let request = pending(&fx, &with_hint).await;
    let response = fx
        .server
        .approve_with(request, approval(&fx, "openid"))
        .await
        .unwrap();
    assert!(redirect_params(&response).contains_key("code"));
}

// C-OI-7, C-OI-1, C-OI-2: the implicit and hybrid response types deliver in the fragment by
// default, with at_hash and c_hash binding the ID token to what came with it, and the scope's
// claims in the ID token when there is no access token.
#[tokio::test]
async fn implicit_and_hybrid_response_types_bind_their_id_tokens() {
    let fx = op().await;
    let jwks = jwks(&fx).await;
    let run = |response_type: &'static str| {
        query(&[
            ("response_type", response_type),
            ("client_id", SPA),
            ("scope", "openid email"),
            ("state", "xyz"),
            ("nonce", NONCE),
        ])
    };

    let response = approve(&fx, &run("id_token"), "openid email").await;
    assert!(location(&response).starts_with(&format!("{SPA_REDIRECT}#")));
    let params = redirect_params(&response);
    assert_eq!(params["state"], "xyz");
    assert!(!params.contains_key("access_token") && !params.contains_key("code"));
    let claims = verify(&fx, &jwks, &params["id_token"], Algorithm::ES256, SPA);
    assert_eq!(claims["nonce"], NONCE);
    assert_eq!(
        claims["email"], "alice@example.com",
        "no UserInfo: claims inline"
    );
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["sub"], "alice", "the source cannot forge sub");
    assert!(claims.get("name").is_none() && claims.get("at_hash").is_none());

    let params = redirect_params(&approve(&fx, &run("id_token token"), "openid email").await);
    let claims = verify(&fx, &jwks, &params["id_token"], Algorithm::ES256, SPA);
    assert_eq!(
        claims["at_hash"],
        half_hash(Algorithm::ES256, &params["access_token"])
    );
    assert_eq!(params["token_type"], "Bearer");
    assert!(claims.get("email").is_none(), "UserInfo serves them");

    let params = redirect_params(&approve(&fx, &run("code id_token"), "openid email").await);
    let claims = verify(&fx, &jwks, &params["id_token"], Algorithm::ES256, SPA);
    assert_eq!(
        claims["c_hash"],
        half_hash(Algorithm::ES256, &params["code"])
    );
    assert!(claims.get("at_hash").is_none());
    // The code of a hybrid response is redeemed as usual, for another ID token.
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", params["code"].as_str()),
        ("client_id", SPA),
        ("code_verifier", VERIFIER),
    ];
    let tokens = json(&fx.server.token(&token_request(&pairs)).await);
    let redeemed = verify(&fx, &jwks, text(&tokens, "id_token"), Algorithm::ES256, SPA);
    assert_eq!(redeemed["nonce"], NONCE);
    assert_eq!(redeemed["sub"], claims["sub"]);

    let params = redirect_params(&approve(&fx, &run("code id_token token"), "openid").await);
    let claims = verify(&fx, &jwks, &params["id_token"], Algorithm::ES256, SPA);
    assert_eq!(
        claims["c_hash"],
        half_hash(Algorithm::ES256, &params["code"])
    );
    assert_eq!(
        claims["at_hash"],
        half_hash(Algorithm::ES256, &params["access_token"])
    );

    let params = redirect_params(&approve(&fx, &run("code token"), "openid").await);
    assert!(params.contains_key("code") && params.contains_key("access_token"));
    assert!(!params.contains_key("id_token"));
}

// C-OI-7: form_post answers an auto-submitting page, escaped, not framable, not cached.
#[tokio::test]
async fn form_post_answers_an_escaped_page_that_cannot_be_framed_or_cached() {
    let fx = op().await;
    let state = r#"x"><script>alert(1)</script>"#;
    let form_post = query(&[
        ("response_type", "code id_token"),
        ("client_id", SPA),
        ("scope", "openid"),
        ("state", state),
        ("nonce", NONCE),
        ("response_mode", "form_post"),
    ]);
    let request = pending(&fx, &form_post).await;
    assert_eq!(request.response_mode(), ResponseMode::FormPost);
    let response = fx
        .server
        .approve_with(request, approval(&fx, "openid"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-frame-options"], "DENY");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"));
    let page = body_text(&response);
    assert!(page.contains(&format!(r#"<form method="post" action="{SPA_REDIRECT}">"#)));
    assert!(
        page.contains(r#"name="state" value="x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;""#)
    );
    assert!(!page.contains("<script>alert"), "{page}");
    for field in ["code", "id_token", "iss"] {
        assert!(
            page.contains(&format!(r#"name="{field}" value=""#)),
            "{field}"
        );
    }
    // Errors go the same way.
    let error = refused(
        &fx,
        &query(&[
            ("response_type", "id_token"),
            ("client_id", SPA),
            ("scope", "openid"),
            ("state", "s"),
            ("response_mode", "form_post"),
        ]),
    )
    .await;
    assert!(matches!(error, AuthorizationError::FormPost { .. }));
    let page = body_text(&error.into_response());
    assert!(
        page.contains(r#"name="error" value="invalid_request""#),
        "{page}"
    );
}

// C-OI-4: UserInfo answers GET and POST with the claims the scope and the claims parameter
// allow, and the ID token's subject; RFC 6750 errors otherwise.
#[tokio::test]
async fn userinfo_serves_what_the_grant_allows_and_refuses_the_rest() {
    let fx = op().await;
    let claims_parameter = r#"{"userinfo":{"name":null,"nickname":{"essential":true}}}"#;
    let asking = [("claims", claims_parameter)];
    // A claims request alone releases nothing beyond the granted scope...
    let unapproved = json(
        &code_flow_with(
            &fx,
            RP_CLIENT,
            "openid email",
            &asking,
            approval(&fx, "openid email"),
        )
        .await,
    );
    let response = fx
        .server
        .userinfo(&bearer("/userinfo", text(&unapproved, "access_token")))
        .await;
    assert!(
        json(&response).get("name").is_none(),
        "{}",
        body_text(&response)
    );
    // ... unless the owner approved that claim on the consent page.
    let with_name = approval(&fx, "openid email").claims(["name"]);
    let tokens = json(&code_flow_with(&fx, RP_CLIENT, "openid email", &asking, with_name).await);
    let access = text(&tokens, "access_token");
    let jwks = jwks(&fx).await;
    let id_claims = verify(&fx, &jwks, text(&tokens, "id_token"), Algorithm::RS256, RP);

    let response = fx.server.userinfo(&bearer("/userinfo", access)).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert_eq!(response.headers()["cache-control"], "no-store");
    let info = json(&response);
    assert_eq!(
        info,
        json!({
            "sub": id_claims["sub"],
            "email": "alice@example.com",
            "email_verified": true,
            "name": "Alice Liddell",
        }),
        "email by scope, name by the claims parameter and the owner's approval, nothing else"
    );
    let post = post_form("/userinfo", form_body(&[("access_token", access)]));
    let response = fx.server.userinfo(&post).await;
    assert_eq!(json(&response), info, "POST with the token in the body");

    let missing = fx.server.userinfo(&get("/userinfo")).await;
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.headers()["www-authenticate"],
        format!("Bearer realm=\"{ISSUER}\"")
    );
    let invalid = fx
        .server
        .userinfo(&bearer("/userinfo", "not-a-token"))
        .await;
    assert_eq!(invalid.status(), 401);
    let challenge = invalid.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    // A token without openid (the OAuth client `app`) is not for UserInfo.
    let oauth = fx.app_tokens().await;
    let response = fx
        .server
        .userinfo(&bearer("/userinfo", text(&oauth, "access_token")))
        .await;
    assert_eq!(response.status(), 403);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#)
            && challenge.contains(r#"scope="openid""#)
    );
    let put = http::Request::put("/userinfo").body(Vec::new()).unwrap();
    assert_eq!(fx.server.userinfo(&put).await.status(), 405);
    // A revoked token is refused.
    fx.server
        .revoke(&basic_post("/revoke", RP, RP_SECRET, &[("token", access)]))
        .await;
    let response = fx.server.userinfo(&bearer("/userinfo", access)).await;
    assert_eq!(response.status(), 401);
}

// C-OI-5: the discovery document, at the OpenID path and RFC 8414's, lists what is enabled.
#[tokio::test]
async fn discovery_lists_the_provider_and_only_what_is_enabled() {
    let fx = op().await;
    assert_eq!(
        fx.server.openid_configuration_path(),
        "/.well-known/openid-configuration"
    );
    let document = fx.server.metadata();
    let served = json(
        &fx.server
            .metadata_response(&get(&fx.server.openid_configuration_path())),
    );
    assert_eq!(served, document);
    assert_eq!(document["issuer"], ISSUER);
    assert_eq!(
        document["authorization_endpoint"],
        format!("{ISSUER}/authorize")
    );
    assert_eq!(document["token_endpoint"], format!("{ISSUER}/token"));
    assert_eq!(document["userinfo_endpoint"], format!("{ISSUER}/userinfo"));
    assert_eq!(document["jwks_uri"], format!("{ISSUER}/jwks"));
    assert_eq!(
        document["response_types_supported"],
        json!([
            "code",
            "token",
            "id_token",
            "id_token token",
            "code id_token",
            "code token",
            "code id_token token"
        ])
    );
    assert_eq!(
        document["subject_types_supported"],
        json!(["public", "pairwise"])
    );
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        json!(["RS256", "PS256", "ES256", "EdDSA"])
    );
    assert_eq!(document["scopes_supported"], json!(["openid"]));
    assert_eq!(
        document["response_modes_supported"],
        json!(["query", "fragment", "form_post"])
    );
    assert_eq!(document["request_uri_parameter_supported"], false);
    assert_eq!(document["claims_parameter_supported"], true);
    let claims = document["claims_supported"].as_array().unwrap();
    for claim in ["sub", "iss", "auth_time", "email", "name"] {
        assert!(claims.contains(&json!(claim)), "{claim}");
    }
    for field in [
        "grant_types_supported",
        "token_endpoint_auth_methods_supported",
        "code_challenge_methods_supported",
    ] {
        assert!(document[field].is_array(), "{field}");
    }

    // A plain OAuth server advertises none of it, and answers none of it.
    let oauth = Fixture::new().await;
    let plain = oauth.server.metadata();
    for field in [
        "jwks_uri",
        "userinfo_endpoint",
        "id_token_signing_alg_values_supported",
    ] {
        assert!(plain.get(field).is_none(), "{field}");
    }
    assert_eq!(plain["response_types_supported"], json!(["code", "token"]));
    assert_eq!(
        oauth.server.jwks_response(&get("/jwks")).await.status(),
        404
    );
    assert_eq!(oauth.server.userinfo(&get("/userinfo")).await.status(), 404);
    let error = oauth
        .server
        .authorize(&get(&format!(
            "/authorize?{}",
            query(&[
                ("response_type", "id_token"),
                ("client_id", APP),
                ("scope", "read"),
                ("nonce", "n")
            ])
        )))
        .await
        .unwrap_err();
    assert_redirected_error(error, "unsupported_response_type");
}

// C-KY-2: a new key is published before it signs; a token signed by a retired key verifies
// until it expires and its key leaves the JWKS, then it no longer does.
#[tokio::test]
async fn rotation_keeps_every_token_verifiable_until_its_key_is_removed() {
    const DAY: u64 = 24 * 3600;
    let policy = RotationPolicy::new()
        .rotate_every(Duration::from_secs(10 * DAY))
        .publish_ahead(Duration::from_secs(DAY))
        .keep_retired(Duration::from_secs(2 * 3600));
    let fx = provider_over(MemoryStorage::new(), policy, |c| {
        c.access_token_lifetime(Duration::from_secs(600))
    })
    .await;
    let old = code_flow(&fx, RP_CLIENT, "openid", &[]).await;
    let old_token = text(&old, "id_token").to_owned();
    let old_kid = jsonwebtoken::decode_header(&old_token)
        .unwrap()
        .kid
        .unwrap();
    let kids = |jwks: &Value| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    // Day 9.5: the successor is published, but the old key still signs.
    fx.advance(9 * DAY + DAY / 2);
    let jwks_before = jwks(&fx).await;
    assert_eq!(kids(&jwks_before).len(), 2, "published ahead");
    // Ten minutes before the successor takes over (a day after it was published), the old
    // key signs one more token.
    fx.advance(DAY - 600);
    let still = code_flow(&fx, RP_CLIENT, "openid", &[]).await;
    let still_kid = jsonwebtoken::decode_header(text(&still, "id_token"))
        .unwrap()
        .kid;
    assert_eq!(still_kid.as_deref(), Some(old_kid.as_str()));
    // A minute after the handover, the successor signs; the retired key's token still
    // verifies.
    fx.advance(660);
    let new = code_flow(&fx, RP_CLIENT, "openid", &[]).await;
    let new_kid = jsonwebtoken::decode_header(text(&new, "id_token"))
        .unwrap()
        .kid
        .unwrap();
    assert_ne!(new_kid, old_kid);
    let jwks_now = jwks(&fx).await;
    assert!(kids(&jwks_now).contains(&old_kid));
    let retired = text(&still, "id_token");
    assert!(try_verify(&fx, &jwks_now, retired, Algorithm::RS256, RP).is_some());
    // Two hours later the retired key is gone: its tokens (expired by then) fail to verify
    // even with expiry set aside, since no published key has their kid.
    fx.advance(2 * 3600);
    let jwks_after = jwks(&fx).await;
    assert_eq!(kids(&jwks_after), vec![new_kid]);
    let header = jsonwebtoken::decode_header(retired).unwrap();
    let set: JwkSet = serde_json::from_value(jwks_after).unwrap();
    assert!(set.find(header.kid.as_deref().unwrap()).is_none());
    assert_eq!(
        fx.storage().keys().await.unwrap().len(),
        1,
        "and from the store"
    );
}

// C-KY-3: a fleet shares one key set through storage, and no private key material shows in
// any Debug output.
#[tokio::test]
async fn a_fleet_shares_its_keys_and_never_shows_them() {
    let storage = MemoryStorage::new();
    let a = provider_over(storage.clone(), policy(), |c| c).await;
    let b = provider_over(storage.clone(), policy(), |c| c).await;
    let token = code_flow(&a, RP_CLIENT, "openid", &[]).await;
    assert_eq!(jwks(&a).await, jwks(&b).await);
    verify(
        &b,
        &jwks(&b).await,
        text(&token, "id_token"),
        Algorithm::RS256,
        RP,
    );
    // An access token issued by one instance is good for UserInfo at the other.
    let info = b
        .server
        .userinfo(&bearer("/userinfo", text(&token, "access_token")))
        .await;
    assert_eq!(info.status(), 200);

    let records = storage.keys().await.unwrap();
    assert_eq!(records.len(), 4);
    let shown = format!("{:?} {:?} {:?}", a.server, records, storage);
    for record in &records {
        let private: Value = serde_json::from_str(&record.private_jwk).unwrap();
        let d = private["d"].as_str().unwrap();
        assert!(!shown.contains(d), "a private key shows in Debug");
    }
}

// Remembered consent can be revoked in one call, with every grant it covered.
#[tokio::test]
async fn revoking_consent_revokes_the_grants_of_the_owner_and_client() {
    let fx = op().await;
    let alice = OwnerId::new("alice");
    let client = RP.parse().unwrap();
    let scope = ScopeSet::parse("openid email").unwrap();
    fx.server
        .remember_consent(
            &alice,
            &client,
            &scope,
            &[],
            Some(fx.server.now().after(Duration::from_secs(3600))),
        )
        .await
        .unwrap();
    let first = code_flow(&fx, RP_CLIENT, "openid email", &[]).await;
    let second = code_flow(&fx, RP_CLIENT, "openid", &[]).await;
    let other_client = code_flow(&fx, (PS, Some(PS_SECRET), PS_REDIRECT), "openid", &[]).await;
    assert_eq!(fx.server.revoke_consent(&alice, &client).await.unwrap(), 2);
    for tokens in [&first, &second] {
        assert!(!access_is_live(&fx, text(tokens, "access_token")).await);
        let refresh = fx
            .server
            .token(&refresh_request(
                (RP, Some(RP_SECRET)),
                text(tokens, "refresh_token"),
                &[],
            ))
            .await;
        assert_error(&refresh, 400, "invalid_grant");
    }
    assert!(access_is_live(&fx, text(&other_client, "access_token")).await);
    assert!(fx.server.consent(&alice, &client).await.unwrap().is_none());
    let request = pending(&fx, &code_query(RP, RP_REDIRECT, "openid", &[])).await;
    assert_eq!(
        fx.server
            .interaction(&request, Some((&alice, login(&fx))))
            .await
            .unwrap(),
        Interaction::Consent
    );
}

// A saved OpenID request resumes with its parameters, on any instance.
#[tokio::test]
async fn saved_openid_requests_resume_with_their_parameters() {
    let fx = op().await;
    let request = pending(
        &fx,
        &code_query(
            RP,
            RP_REDIRECT,
            "openid",
            &[
                ("prompt", "login consent"),
                ("max_age", "60"),
                ("login_hint", "alice@example.com"),
                ("ui_locales", "fr-CA en"),
            ],
        ),
    )
    .await;
    let saved = serde_json::to_string(&request.save()).unwrap();
    let resumed = fx
        .server
        .resume(serde_json::from_str(&saved).unwrap())
        .await
        .unwrap();
    let openid = resumed.openid().unwrap();
    assert_eq!(openid.nonce(), Some(NONCE));
    assert!(openid.prompt().contains(Prompt::LOGIN) && openid.prompt().contains(Prompt::CONSENT));
    assert_eq!(openid.max_age(), Some(Duration::from_secs(60)));
    assert_eq!(openid.login_hint(), Some("alice@example.com"));
    assert_eq!(openid.ui_locales().collect::<Vec<_>>(), ["fr-CA", "en"]);
    assert_eq!(resumed.received_at(), request.received_at());
    assert!(
        resumed.extras().is_empty(),
        "OpenID parameters are not extras"
    );
}

// C-OI-1: a client whose registered algorithm the key ring does not sign with is refused at
// the authorization endpoint, before anything is issued, rather than given an ID token signed
// otherwise.
#[tokio::test]
async fn a_client_algorithm_the_provider_does_not_sign_with_is_refused() {
    let fx = provider_over(
        MemoryStorage::new(),
        RotationPolicy::new().algorithms([SigningAlgorithm::Rs256]),
        |c| c,
    )
    .await;
    let error = refused(&fx, &code_query(ED, ED_REDIRECT, "openid", &[])).await;
    assert_redirected_error(error, "unauthorized_client");
    // The same client without openid is an OAuth client like any other.
    let query = code_query(ED, ED_REDIRECT, "profile", &[]);
    assert!(pending(&fx, &query).await.openid().is_none());
    let discovery = fx.server.metadata();
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
}

// C-OI-3: a login made for the request satisfies max_age, however small, even when the owner
// takes a while on the login page.
#[tokio::test]
async fn a_login_made_for_the_request_satisfies_any_max_age() {
    let fx = op().await;
    let alice = OwnerId::new("alice");
    let request = pending(
        &fx,
        &code_query(RP, RP_REDIRECT, "openid", &[("max_age", "0")]),
    )
    .await;
    let before = login(&fx);
    assert_eq!(
        fx.server
            .interaction(&request, Some((&alice, before)))
            .await
            .unwrap(),
        Interaction::Login
    );
    fx.advance(40);
    let logged_in = fx.server.now();
    fx.advance(5);
    let ready = fx
        .server
        .interaction(&request, Some((&alice, logged_in)))
        .await
        .unwrap();
    assert_ne!(ready, Interaction::Login);
    let approval =
        Approval::new(alice, ScopeSet::parse("openid").unwrap()).authenticated_at(logged_in);
    let response = fx.server.approve_with(request, approval).await.unwrap();
    assert!(
        redirect_params(&response).contains_key("code"),
        "{}",
        location(&response)
    );
}

// C-OI-6: a refresh narrowed to leave out openid keeps the grant an OpenID grant: a later
// refresh with openid gets an ID token again.
#[tokio::test]
async fn a_narrowed_refresh_keeps_the_grant_an_openid_grant() {
    let fx = op().await;
    let first = code_flow(&fx, RP_CLIENT, "openid profile", &[]).await;
    let narrowed = json(
        &fx.server
            .token(&refresh_request(
                (RP, Some(RP_SECRET)),
                text(&first, "refresh_token"),
                &[("scope", "profile")],
            ))
            .await,
    );
    assert!(narrowed.get("id_token").is_none());
    let full = json(
        &fx.server
            .token(&refresh_request(
                (RP, Some(RP_SECRET)),
                text(&narrowed, "refresh_token"),
                &[],
            ))
            .await,
    );
    assert_eq!(full["scope"], "openid profile");
    let claims = verify(
        &fx,
        &jwks(&fx).await,
        text(&full, "id_token"),
        Algorithm::RS256,
        RP,
    );
    assert_eq!(claims["sub"], "alice");
}

// C-OI-1 with the storage contract: when the ID token cannot be made after the tokens were
// stored (here: an owner id that is no valid subject), the client gets server_error and
// nothing stays live; at the authorization endpoint nothing is stored at all.
#[tokio::test]
async fn an_id_token_that_cannot_be_made_leaves_nothing_live() {
    let fx = op().await;
    let broken = Approval::new(
        OwnerId::new("alice smith"),
        ScopeSet::parse("openid").unwrap(),
    )
    .authenticated_at(login(&fx));
    let response = code_flow_with(&fx, RP_CLIENT, "openid", &[], broken.clone()).await;
    assert_error(&response, 500, "server_error");
    let stats = fx.storage().stats();
    assert_eq!(stats.access_tokens, 0, "the grant was revoked");
    let front = query(&[
        ("response_type", "id_token token"),
        ("client_id", SPA),
        ("scope", "openid"),
        ("state", "s"),
        ("nonce", NONCE),
    ]);
    let request = pending(&fx, &front).await;
    assert!(fx.server.approve_with(request, broken).await.is_err());
    assert_eq!(fx.storage().stats().access_tokens, 0, "nothing was stored");
}

// C-OI-3, C-OI-4: remembered consent to a scope does not cover claims the claims parameter
// asks for beyond it: the consent page is needed (consent_required for prompt=none), and an
// approval without the page releases only the scope's claims.
#[tokio::test]
async fn remembered_consent_does_not_cover_claims_beyond_its_scope() {
    let fx = op().await;
    let alice = OwnerId::new("alice");
    let scope = ScopeSet::parse("openid").unwrap();
    fx.server
        .remember_consent(&alice, &RP.parse().unwrap(), &scope, &[], None)
        .await
        .unwrap();
    let greedy = r#"{"userinfo":{"email":null,"phone_number":null,"address":null}}"#;
    let silent = code_query(
        RP,
        RP_REDIRECT,
        "openid",
        &[("prompt", "none"), ("claims", greedy)],
    );
    let request = pending(&fx, &silent).await;
    let interaction = fx
        .server
        .interaction(&request, Some((&alice, login(&fx))))
        .await
        .unwrap();
    assert_eq!(
        interaction,
        Interaction::Refuse(grantor::OAuthError::new(ErrorCode::ConsentRequired))
    );
    let modest = r#"{"id_token":{"auth_time":{"essential":true}}}"#;
    let request = pending(
        &fx,
        &code_query(RP, RP_REDIRECT, "openid", &[("claims", modest)]),
    )
    .await;
    let interaction = fx
        .server
        .interaction(&request, Some((&alice, login(&fx))))
        .await
        .unwrap();
    assert_eq!(
        interaction,
        Interaction::Ready,
        "claims about the login need no consent"
    );
    let silently = Approval::new(alice, scope).authenticated_at(login(&fx));
    let tokens =
        json(&code_flow_with(&fx, RP_CLIENT, "openid", &[("claims", greedy)], silently).await);
    let info = json(
        &fx.server
            .userinfo(&bearer("/userinfo", text(&tokens, "access_token")))
            .await,
    );
    assert_eq!(info, json!({"sub": "alice"}));
}

// C-OI-2, C-OI-7, C-OI-3: hybrid requests need a nonce and never the query; a client's
// default max_age applies when the request names none.
#[tokio::test]
async fn hybrid_requests_need_a_nonce_and_a_default_max_age_applies() {
    let fx = op().await;
    let hybrid = |extra: &[(&str, &str)]| {
        let mut pairs = vec![
            ("response_type", "code id_token"),
            ("client_id", SPA),
            ("scope", "openid"),
            ("state", "s"),
        ];
        pairs.extend_from_slice(extra);
        query(&pairs)
    };
    assert_redirected_error(refused(&fx, &hybrid(&[])).await, "invalid_request");
    let error = refused(
        &fx,
        &hybrid(&[("nonce", NONCE), ("response_mode", "query")]),
    )
    .await;
    assert!(location(&error.into_response()).starts_with(&format!("{SPA_REDIRECT}#")));
    let lazy = Client::public("lazy-rp")
        .redirect_uri("https://lazy.example/cb")
        .allowed_scopes("openid")
        .default_max_age(Duration::from_secs(300))
        .build()
        .unwrap();
    fx.server.register_client(lazy).await.unwrap();
    let request = pending(
        &fx,
        &code_query("lazy-rp", "https://lazy.example/cb", "openid", &[]),
    )
    .await;
    assert_eq!(
        request.openid().unwrap().max_age(),
        Some(Duration::from_secs(300))
    );
    let alice = OwnerId::new("alice");
    let old_login = Timestamp::from_secs(fx.server.now().as_secs() - 301);
    assert_eq!(
        fx.server
            .interaction(&request, Some((&alice, old_login)))
            .await
            .unwrap(),
        Interaction::Login
    );
}

// C-KY-2: once its key is removed, an ID token no longer works as an id_token_hint either.
#[tokio::test]
async fn a_hint_signed_by_a_removed_key_is_refused() {
    const DAY: u64 = 24 * 3600;
    let policy = RotationPolicy::new()
        .rotate_every(Duration::from_secs(10 * DAY))
        .keep_retired(Duration::from_secs(2 * 3600));
    let fx = provider_over(MemoryStorage::new(), policy, |c| c).await;
    let hint = text(&code_flow(&fx, RP_CLIENT, "openid", &[]).await, "id_token").to_owned();
    let with_hint = code_query(
        RP,
        RP_REDIRECT,
        "openid",
        &[("id_token_hint", hint.as_str())],
    );
    fx.advance(9 * DAY);
    assert!(
        pending(&fx, &with_hint)
            .await
            .openid()
            .unwrap()
            .hint_subject()
            .is_some()
    );
    fx.advance(DAY + 3 * 3600);
    let _ = jwks(&fx).await;
    assert_redirected_error(refused(&fx, &with_hint).await, "invalid_request");
}
