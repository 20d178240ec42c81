//! APIs as resources, black-box: resource indicators (RFC 8707) at the authorization and token
//! endpoints, JWT access tokens (RFC 9068) checked by `jsonwebtoken` (a JOSE implementation
//! grantor does not use) and by the server's bearer validation, and protected-resource metadata
//! (RFC 9728).
#![cfg(feature = "oidc")]

mod common;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use grantor::oidc::{KeyRing, NoClaims, OpenIdProvider, RotationPolicy, SigningAlgorithm};
use grantor::storage::{KeyStore, MemoryStorage};
use grantor::{
    Approval, Client, ClientSecret, CodeChallenge, ConfigBuilder, GrantType, OwnerId, Requirement,
    Resource, ScopeSet, Timestamp, TokenFormat,
};
use http::Response;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use jwt_simple::prelude::{
    Claims, Duration as JoseDuration, ECDSAP256KeyPairLike, ES256KeyPair, HeaderOptions,
};
use serde_json::{Value, json};

/// An API whose tokens are opaque; the default resource.
const MAIL: &str = "https://api.example/mail";
/// An API whose tokens are JWTs that live five minutes.
const FILES: &str = "https://api.example/files";
/// A client limited to [`FILES`].
const FILES_ONLY: &str = "files-only";
const FILES_ONLY_SECRET: &str = "files-only-secret-with-enough-entropy";
/// A relying party that asks for `openid`.
const RP: &str = "rp";
const RP_REDIRECT: &str = "https://rp.example/cb";

fn with_resources(config: ConfigBuilder) -> ConfigBuilder {
    config
        .resource(Resource::new(MAIL).unwrap().scopes("read write").unwrap())
        .resource(
            Resource::new(FILES)
                .unwrap()
                .scopes("read write stats")
                .unwrap()
                .access_token_format(TokenFormat::Jwt)
                .access_token_lifetime(Duration::from_secs(300)),
        )
        .default_resource(MAIL)
}

/// An OpenID Provider over `storage` whose keys sign with `algs`, with the resources above.
async fn provider_over(storage: MemoryStorage, algs: &[SigningAlgorithm]) -> Fixture {
    let policy = RotationPolicy::new().algorithms(algs.iter().copied());
    let ring = KeyRing::new(storage.clone(), policy).unwrap();
    let provider = OpenIdProvider::builder(ring, NoClaims)
        .require_rs256(algs.contains(&SigningAlgorithm::Rs256))
        .build()
        .unwrap();
    let fx = Fixture::with_server(storage, with_resources, |b| b.openid(provider)).await;
    let extra = [
        Client::confidential(FILES_ONLY, &ClientSecret::new(FILES_ONLY_SECRET))
            .grant_types([GrantType::ClientCredentials])
            .allowed_scopes("stats")
            .resources([FILES])
            .build()
            .unwrap(),
        Client::public(RP)
            .redirect_uri(RP_REDIRECT)
            .grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .allowed_scopes("openid read")
            .build()
            .unwrap(),
    ];
    for client in extra {
        fx.server.register_client(client).await.unwrap();
    }
    fx
}

/// The usual fixture: ES256 keys (quick to generate).
async fn fixture() -> Fixture {
    provider_over(MemoryStorage::new(), &[SigningAlgorithm::Es256]).await
}

fn worker_tokens(extra: &[(&str, &str)]) -> http::Request<Vec<u8>> {
    let mut pairs = vec![("grant_type", "client_credentials")];
    pairs.extend_from_slice(extra);
    basic_token_request(WORKER, WORKER_SECRET, &pairs)
}

/// What introspection tells `worker` (which may see only its own tokens) about `token`.
async fn introspect_own(fx: &Fixture, id: &str, secret: &str, token: &str) -> Value {
    let request = basic_post("/introspect", id, secret, &[("token", token)]);
    json(&fx.server.introspect(&request).await)
}

/// The authorization query of `app` with these extra parameters.
fn app_query_with(extra: &str) -> String {
    format!("{}{extra}", app_query())
}

async fn jwks(fx: &Fixture) -> Value {
    let response = fx.server.jwks_response(&get("/jwks")).await;
    assert_eq!(response.status(), 200);
    json(&response)
}

/// Verifies a JWT access token with `jsonwebtoken` against the JWKS: signature by the key its
/// `kid` names, `alg`, `typ`, `iss` and `aud`. Returns the header's `typ` and the claims.
fn verify_at(jwks: &Value, token: &str, alg: Algorithm, aud: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, alg);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"), "C-JT-1: typ");
    let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let jwk = set
        .find(header.kid.as_deref().expect("C-JT-1: kid"))
        .expect("the kid is published");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[aud]);
    // The server runs on a manual clock.
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("the access token verifies")
        .claims
}

fn at(requirement: Requirement) -> Requirement {
    requirement
}

async fn validate(
    fx: &Fixture,
    token: &str,
    requirement: &Requirement,
) -> Result<(), Response<Vec<u8>>> {
    fx.server
        .validate_bearer(&bearer("/api", token), requirement)
        .await
        .map(drop)
        .map_err(|error| error.into_response())
}

fn assert_invalid_token(response: &Response<Vec<u8>>, metadata: Option<&str>) {
    assert_eq!(response.status(), 401, "{}", body_text(response));
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    match metadata {
        Some(url) => assert!(
            challenge.contains(&format!("resource_metadata=\"{url}\"")),
            "{challenge}"
        ),
        None => assert!(!challenge.contains("resource_metadata"), "{challenge}"),
    }
}

// C-RI-1: the resources of the authorization request are the audience of the code's tokens;
// introspection returns it as `aud`.
#[tokio::test]
async fn authorization_request_resources_become_the_tokens_audience() {
    let fx = fixture().await;
    let query = app_query_with(&format!("&resource={}&resource={}", enc(MAIL), enc(FILES)));
    let pending = fx
        .server
        .authorize(&get(&format!("/authorize?{query}")))
        .await
        .unwrap();
    assert_eq!(pending.resources(), [MAIL, FILES]);
    let response = fx
        .server
        .approve(
            pending,
            &OwnerId::new("alice"),
            &ScopeSet::parse("read").unwrap(),
        )
        .await
        .unwrap();
    let code = redirect_params(&response)["code"].clone();
    let tokens = json(&fx.redeem_app_code(&code).await);
    let token = tokens["access_token"].as_str().unwrap();
    // FILES wants JWTs: a token for both is one, with the shorter lifetime.
    assert_eq!(token.split('.').count(), 3);
    assert_eq!(tokens["expires_in"], 300);
    let request = post_form(
        "/introspect",
        form_body(&[("token", token), ("client_id", APP)]),
    );
    let active = json(&fx.server.introspect(&request).await);
    assert_eq!(active["active"], true);
    assert_eq!(active["aud"], json!([MAIL, FILES]));
    let claims = verify_at(&jwks(&fx).await, token, Algorithm::ES256, FILES);
    assert_eq!(claims["aud"], json!([MAIL, FILES]));
}

// C-RI-1: unknown, malformed or forbidden resources at the authorization endpoint are
// `invalid_target`, sent back to the client's redirect URI.
#[tokio::test]
async fn authorization_endpoint_refuses_bad_resources_with_invalid_target() {
    let fx = fixture().await;
    for resource in [
        "https://api.example/unknown",
        "not-a-uri",
        "https://api.example/mail#frag",
        "/mail",
    ] {
        let query = app_query_with(&format!("&resource={}", enc(resource)));
        let error = fx
            .server
            .authorize(&get(&format!("/authorize?{query}")))
            .await
            .unwrap_err();
        let response = error.into_response();
        assert_eq!(response.status(), 303, "{resource}");
        let params = redirect_params(&response);
        assert_eq!(params["error"], "invalid_target", "{resource}");
        assert_eq!(params["state"], "st ate");
    }
}

// C-RI-1: at the token endpoint, without `resource` the default applies; the requested one
// otherwise; unknown or forbidden ones are `invalid_target`, and nothing is issued.
#[tokio::test]
async fn token_endpoint_resources_default_and_invalid_target() {
    let fx = fixture().await;
    let tokens = json(&fx.server.token(&worker_tokens(&[])).await);
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(token.len(), 43, "MAIL's tokens are opaque");
    let active = introspect_own(&fx, WORKER, WORKER_SECRET, token).await;
    assert_eq!(active["aud"], MAIL);

    let response = fx
        .server
        .token(&worker_tokens(&[("resource", FILES)]))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let token = json(&response)["access_token"].as_str().unwrap().to_owned();
    let active = introspect_own(&fx, WORKER, WORKER_SECRET, &token).await;
    assert_eq!(active["aud"], FILES);

    for bad in [
        "https://api.example/unknown",
        "relative/path",
        "https://api.example/files#x",
    ] {
        let response = fx.server.token(&worker_tokens(&[("resource", bad)])).await;
        assert_error(&response, 400, "invalid_target");
    }
    let limited = |extra: &[(&str, &str)]| {
        let mut pairs = vec![("grant_type", "client_credentials"), ("scope", "stats")];
        pairs.extend_from_slice(extra);
        basic_token_request(FILES_ONLY, FILES_ONLY_SECRET, &pairs)
    };
    let response = fx.server.token(&limited(&[("resource", MAIL)])).await;
    assert_error(&response, 400, "invalid_target");
    // The default is not for this client: its token has no audience, and no resource
    // accepts it.
    let token = json(&fx.server.token(&limited(&[])).await)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let active = introspect_own(&fx, FILES_ONLY, FILES_ONLY_SECRET, &token).await;
    assert_eq!(active["active"], true);
    assert!(active.get("aud").is_none(), "{active}");
    let refused = validate(&fx, &token, &Requirement::app().resource(MAIL)).await;
    assert_invalid_token(&refused.unwrap_err(), Some(&mail_metadata()));
}

fn mail_metadata() -> String {
    "https://api.example/.well-known/oauth-protected-resource/mail".to_owned()
}

// C-RI-1: a refresh may narrow the grant's resources, never widen them; a refused refresh
// changes nothing, and the refresh token keeps the whole grant's resources.
#[tokio::test]
async fn refresh_narrows_never_widens_and_a_refusal_changes_nothing() {
    let fx = fixture().await;
    let response = fx
        .server
        .token(&password_request(
            "alice",
            "wonderland",
            &[("resource", MAIL), ("resource", FILES)],
        ))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let refresh = json(&response)["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = (TRUSTED, Some(TRUSTED_SECRET));

    let response = fx
        .server
        .token(&refresh_request(
            client,
            &refresh,
            &[("resource", "https://api.example/other")],
        ))
        .await;
    assert_error(&response, 400, "invalid_target");

    // The refused request spent nothing: the same refresh token narrows to FILES.
    let response = fx
        .server
        .token(&refresh_request(client, &refresh, &[("resource", FILES)]))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let narrowed = json(&response);
    let token = narrowed["access_token"].as_str().unwrap();
    let active = introspect_own(&fx, TRUSTED, TRUSTED_SECRET, token).await;
    assert_eq!(active["aud"], FILES);

    // The new refresh token still has both: a later refresh gets MAIL back.
    let refresh = narrowed["refresh_token"].as_str().unwrap();
    let active = introspect_own(&fx, TRUSTED, TRUSTED_SECRET, refresh).await;
    assert_eq!(active["aud"], json!([MAIL, FILES]));
    let response = fx
        .server
        .token(&refresh_request(client, refresh, &[("resource", MAIL)]))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let token = json(&response)["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        introspect_own(&fx, TRUSTED, TRUSTED_SECRET, &token).await["aud"],
        MAIL
    );
}

// C-RI-1: the code exchange may narrow the code's resources; asking for one it does not have
// is refused, and the code is still redeemable.
#[tokio::test]
async fn code_exchange_narrows_and_a_wider_request_leaves_the_code_usable() {
    let fx = fixture().await;
    let query = app_query_with(&format!("&resource={}", enc(MAIL)));
    let code = redirect_params(&fx.approve(&query, "alice", "read").await)["code"].clone();
    let exchange = |resource: &'static str| {
        token_request(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("client_id", APP),
            ("code_verifier", VERIFIER),
            ("resource", resource),
        ])
    };
    let response = fx.server.token(&exchange(FILES)).await;
    assert_error(&response, 400, "invalid_target");
    let response = fx.server.token(&exchange(MAIL)).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let token = json(&response)["access_token"].as_str().unwrap().to_owned();
    assert!(
        validate(&fx, &token, &Requirement::user().resource(MAIL))
            .await
            .is_ok()
    );
}

// C-JT-1: a JWT access token, RS256 by default, verified with `jsonwebtoken` and the JWKS:
// `typ: at+jwt`, `kid`, and the claims of RFC 9068 §2.2, with `auth_time` and `acr` when the
// host said how the owner logged in.
#[tokio::test]
async fn jwt_access_tokens_carry_the_rfc_9068_claims() {
    let fx = provider_over(MemoryStorage::new(), &[SigningAlgorithm::Rs256]).await;
    let challenge = CodeChallenge::s256(VERIFIER);
    let query = format!(
        "response_type=code&client_id={RP}&scope=openid+read&nonce=n1&resource={}&code_challenge={}&code_challenge_method=S256",
        enc(FILES),
        challenge.value()
    );
    let pending = fx
        .server
        .authorize(&get(&format!("/authorize?{query}")))
        .await
        .unwrap();
    let logged_in = Timestamp::from_secs(START - 30);
    let approval = Approval::new(
        OwnerId::new("alice"),
        ScopeSet::parse("openid read").unwrap(),
    )
    .authenticated_at(logged_in)
    .acr("urn:example:mfa");
    let response = fx.server.approve_with(pending, approval).await.unwrap();
    let code = redirect_params(&response)["code"].clone();
    let response = fx
        .server
        .token(&token_request(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", RP),
            ("code_verifier", VERIFIER),
        ]))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let tokens = json(&response);
    let token = tokens["access_token"].as_str().unwrap();
    let claims = verify_at(&jwks(&fx).await, token, Algorithm::RS256, FILES);
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], FILES);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["client_id"], RP);
    assert_eq!(claims["scope"], "openid read");
    assert_eq!(claims["iat"], START);
    assert_eq!(claims["exp"], START + 300);
    assert_eq!(claims["auth_time"], START - 30);
    assert_eq!(claims["acr"], "urn:example:mfa");
    assert!(claims["jti"].as_str().is_some_and(|jti| jti.len() >= 16));
    // C-JT-2: the ID token of the same response is not an access token.
    let id_token = tokens["id_token"].as_str().unwrap();
    let refused = validate(&fx, id_token, &Requirement::any().resource(FILES)).await;
    assert_invalid_token(&refused.unwrap_err(), Some(FILES_METADATA));
    // The access token is, at its resource; and UserInfo takes it for `openid`, whatever its
    // audience (UserInfo is the provider's own).
    assert!(
        validate(&fx, token, &Requirement::user().resource(FILES))
            .await
            .is_ok()
    );
    let userinfo = fx.server.userinfo(&bearer("/userinfo", token)).await;
    assert_eq!(userinfo.status(), 200, "{}", body_text(&userinfo));
    assert_eq!(json(&userinfo)["sub"], "alice");

    // An app token's subject is its client, and it has no authentication time.
    let response = fx
        .server
        .token(&worker_tokens(&[("resource", FILES)]))
        .await;
    let token = json(&response)["access_token"].as_str().unwrap().to_owned();
    let claims = verify_at(&jwks(&fx).await, &token, Algorithm::RS256, FILES);
    assert_eq!(claims["sub"], WORKER);
    assert_eq!(claims["client_id"], WORKER);
    assert_eq!(claims["scope"], "stats");
    assert!(claims.get("auth_time").is_none());
}

const FILES_METADATA: &str = "https://api.example/.well-known/oauth-protected-resource/files";

/// Signs `claims` with the ring's private key (read from storage), with `typ` in the header:
/// what only someone holding the server's key could forge.
async fn sign_with_server_key(storage: &MemoryStorage, claims: Value, typ: &str) -> String {
    let record = storage.keys().await.unwrap().into_iter().next().unwrap();
    let pair = ES256KeyPair::from_jwk(&record.private_jwk)
        .unwrap()
        .with_key_id(&record.kid);
    let custom: serde_json::Map<String, Value> = match claims {
        Value::Object(map) => map,
        _ => unreachable!(),
    };
    let claims = Claims::with_custom_claims(custom, JoseDuration::from_secs(300))
        .with_issuer(ISSUER)
        .with_audience(FILES)
        .with_subject("alice");
    let options = HeaderOptions {
        signature_type: Some(typ.to_owned()),
        ..HeaderOptions::default()
    };
    pair.sign_with_options(claims, &options).unwrap()
}

// C-JT-2: bearer validation of JWT access tokens: the route's resource, `typ`, the signature,
// `alg` (never `none`), expiry, scope, and revocation, shared by every instance of a fleet.
#[tokio::test]
async fn jwt_validation_refuses_substitutes_forgeries_expired_and_revoked_tokens() {
    let storage = MemoryStorage::new();
    let fx = provider_over(storage.clone(), &[SigningAlgorithm::Es256]).await;
    let files = Requirement::app().scopes("stats").unwrap().resource(FILES);
    let response = fx
        .server
        .token(&worker_tokens(&[("resource", FILES)]))
        .await;
    let token = json(&response)["access_token"].as_str().unwrap().to_owned();
    assert!(validate(&fx, &token, &files).await.is_ok());

    // A token for FILES is refused at MAIL, and the challenge names MAIL's metadata.
    let mail = Requirement::app().resource(MAIL);
    assert_invalid_token(
        &validate(&fx, &token, &mail).await.unwrap_err(),
        Some(&mail_metadata()),
    );
    // A scope the token lacks.
    let more = Requirement::app()
        .scopes("messages")
        .unwrap()
        .resource(FILES);
    let response = validate(&fx, &token, &more).await.unwrap_err();
    assert_eq!(response.status(), 403);

    // Signed with the server's key, but typed as a plain JWT (or as an ID token would be).
    let claims = json!({"client_id": WORKER, "scope": "stats", "jti": "forged-1"});
    for typ in ["JWT", "dpop+jwt"] {
        let forged = sign_with_server_key(&storage, claims.clone(), typ).await;
        let refused = validate(&fx, &forged, &files).await;
        assert_invalid_token(&refused.unwrap_err(), Some(FILES_METADATA));
    }
    // Typed right and signed by the server's key, but never issued: storage does not know it.
    let forged = sign_with_server_key(&storage, claims, "at+jwt").await;
    let verified = verify_at(&jwks(&fx).await, &forged, Algorithm::ES256, FILES);
    assert_eq!(
        verified["jti"], "forged-1",
        "the forgery's signature is good"
    );
    assert_invalid_token(
        &validate(&fx, &forged, &files).await.unwrap_err(),
        Some(FILES_METADATA),
    );

    // `alg: none`, and a payload changed under a valid signature.
    let parts: Vec<&str> = token.split('.').collect();
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
    let unsigned = format!("{none_header}.{}.", parts[1]);
    assert_invalid_token(
        &validate(&fx, &unsigned, &files).await.unwrap_err(),
        Some(FILES_METADATA),
    );
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["scope"] = json!("stats messages");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    assert_invalid_token(
        &validate(&fx, &tampered, &files).await.unwrap_err(),
        Some(FILES_METADATA),
    );

    // Revocation on one instance holds on another that shares the storage.
    let other = provider_over(storage.clone(), &[SigningAlgorithm::Es256]).await;
    let response = fx
        .server
        .token(&worker_tokens(&[("resource", FILES)]))
        .await;
    let second = json(&response)["access_token"].as_str().unwrap().to_owned();
    assert!(validate(&other, &second, &files).await.is_ok());
    let revoke = basic_post("/revoke", WORKER, WORKER_SECRET, &[("token", &second)]);
    assert_eq!(fx.server.revoke(&revoke).await.status(), 200);
    for instance in [&fx, &other] {
        let refused = validate(instance, &second, &files).await;
        assert_invalid_token(&refused.unwrap_err(), Some(FILES_METADATA));
    }
    assert_eq!(
        introspect_own(&fx, WORKER, WORKER_SECRET, &second).await,
        json!({"active": false})
    );

    // Expired: FILES's tokens live five minutes.
    assert!(validate(&fx, &token, &files).await.is_ok());
    fx.advance(300);
    assert_invalid_token(
        &validate(&fx, &token, &files).await.unwrap_err(),
        Some(FILES_METADATA),
    );
}

// C-PR-1: each resource's metadata at the well-known path plus the resource's path, and a 401
// from the resource names it.
#[tokio::test]
async fn protected_resource_metadata_is_served_and_named_in_challenges() {
    let fx = fixture().await;
    let response = fx
        .server
        .resource_metadata_response(&get("/.well-known/oauth-protected-resource/mail"));
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        json(&response),
        json!({
            "resource": MAIL,
            "authorization_servers": [ISSUER],
            "scopes_supported": ["read", "write"],
            "bearer_methods_supported": ["header", "body"],
        })
    );
    assert_eq!(
        fx.server.resource_metadata(FILES).unwrap()["resource"],
        FILES
    );
    assert!(
        fx.server
            .resource_metadata("https://api.example/none")
            .is_none()
    );
    let missing = fx
        .server
        .resource_metadata_response(&get("/.well-known/oauth-protected-resource/unknown"));
    assert_eq!(missing.status(), 404);
    let post = post_form("/.well-known/oauth-protected-resource/mail", Vec::new());
    assert_eq!(fx.server.resource_metadata_response(&post).status(), 405);

    // No token at all: a bare challenge that names the metadata (RFC 9728 §5.1).
    let error = fx
        .server
        .validate_bearer(&get("/api/mail"), &at(Requirement::user().resource(MAIL)))
        .await
        .unwrap_err();
    assert_eq!(error.resource_metadata(), Some(mail_metadata().as_str()));
    let response = error.into_response();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        format!(
            "Bearer realm=\"{ISSUER}\", resource_metadata=\"{}\"",
            mail_metadata()
        )
        .as_str()
    );
    // A route that names no registered resource says nothing of metadata.
    let error = fx
        .server
        .validate_bearer(&get("/api"), &Requirement::user())
        .await
        .unwrap_err();
    assert_eq!(error.resource_metadata(), None);
}

// A resource that wants JWTs on a server without signing keys: the token request fails as a
// server error, and nothing is issued.
#[tokio::test]
async fn jwt_resources_need_signing_keys() {
    let fx = Fixture::with(with_resources).await;
    let response = fx
        .server
        .token(&worker_tokens(&[("resource", FILES)]))
        .await;
    assert_error(&response, 500, "server_error");
    // Opaque resources work all the same.
    let response = fx.server.token(&worker_tokens(&[("resource", MAIL)])).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert_eq!(
        fx.storage().stats().access_tokens,
        1,
        "only the opaque token was stored"
    );
}

// C-RI-1: a refresh cannot widen the grant to another registered resource.
#[tokio::test]
async fn refresh_cannot_add_a_registered_resource_outside_the_grant() {
    let fx = fixture().await;
    let response = fx
        .server
        .token(&password_request(
            "alice",
            "wonderland",
            &[("resource", MAIL)],
        ))
        .await;
    let refresh = json(&response)["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = (TRUSTED, Some(TRUSTED_SECRET));
    let response = fx
        .server
        .token(&refresh_request(client, &refresh, &[("resource", FILES)]))
        .await;
    assert_error(&response, 400, "invalid_target");
    let response = fx
        .server
        .token(&refresh_request(client, &refresh, &[]))
        .await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let token = json(&response)["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        introspect_own(&fx, TRUSTED, TRUSTED_SECRET, &token).await["aud"],
        MAIL
    );
}

// C-RI-1: remembered consent is for the resources it was given for: a request for another
// resource needs the consent page again.
#[tokio::test]
async fn remembered_consent_covers_only_its_resources() {
    let fx = fixture().await;
    let alice = OwnerId::new("alice");
    let logged_in = Some((&alice, Timestamp::from_secs(START)));
    let request = |resource: &str| {
        let query = app_query_with(&format!("&resource={}", enc(resource)));
        get(&format!("/authorize?{query}"))
    };
    let pending = fx.server.authorize(&request(MAIL)).await.unwrap();
    let approval = Approval::new(alice.clone(), pending.scope().clone()).remember_consent(None);
    fx.server.approve_with(pending, approval).await.unwrap();
    let again = fx.server.authorize(&request(MAIL)).await.unwrap();
    assert_eq!(
        fx.server.interaction(&again, logged_in).await.unwrap(),
        grantor::Interaction::Ready
    );
    let files = fx.server.authorize(&request(FILES)).await.unwrap();
    assert_eq!(
        fx.server.interaction(&files, logged_in).await.unwrap(),
        grantor::Interaction::Consent
    );
    let consent = fx
        .server
        .consent(&alice, &APP.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(consent.resources, [MAIL]);
}

// C-PR-1: the metadata is found by path and, when the request names it, by host.
#[tokio::test]
async fn resource_metadata_is_per_host() {
    let fx = fixture().await;
    let with_host = |host: &str| {
        http::Request::get("/.well-known/oauth-protected-resource/mail")
            .header(http::header::HOST, host)
            .body(Vec::<u8>::new())
            .unwrap()
    };
    let found = fx
        .server
        .resource_metadata_response(&with_host("api.example"));
    assert_eq!(found.status(), 200);
    assert_eq!(json(&found)["resource"], MAIL);
    let elsewhere = fx
        .server
        .resource_metadata_response(&with_host("other.example"));
    assert_eq!(elsewhere.status(), 404);
}
