//! Token exchange (RFC 8693) through the server, black-box: the request's errors (C-TX-1), the
//! host's policy over every exchange, scope and lifetime bounded by the subject, delegation
//! versus impersonation (C-TX-2), and the subject token types: this server's access tokens,
//! its ID tokens and another issuer's JWTs through the host's verifier.

mod common;

use std::time::Duration;

use common::*;
use grantor::grant::{
    ACCESS_TOKEN_TYPE, Allowance, ExchangeRequest, ExchangeToken, ExchangeTokenType, ID_TOKEN_TYPE,
    JWT_TOKEN_TYPE, JwtVerifier, TokenExchangeGrant,
};
use grantor::storage::{MemoryStorage, Storage};
use grantor::{
    BoxFuture, Client, ClientSecret, ConfigBuilder, Error, GrantType, OAuthError, OwnerId,
    Resource, ScopeSet, Timestamp,
};
use http::{Request, Response};
use serde_json::Value;

/// The API the users' tokens are for (the default resource).
const MAIL: &str = "https://api.example/mail";
/// The downstream API the gateway trades them for.
const BILLING: &str = "https://api.example/billing";
/// A registered resource the policy never allows.
const ADMIN: &str = "https://api.example/admin";
/// A service allowed token exchange (and client credentials, for its own actor tokens).
const GATEWAY: &str = "gateway";
const GATEWAY_SECRET: &str = "gateway-secret-with-enough-entropy";
/// A service allowed the grant type, which the policy never allows.
const STRANGER: &str = "stranger";
const STRANGER_SECRET: &str = "stranger-secret-with-enough-entropy";
/// Another issuer whose JWTs the host's verifier accepts.
const OTHER_ISSUER: &str = "https://idp.other.example";

fn with_resources(config: ConfigBuilder) -> ConfigBuilder {
    config
        .resource(Resource::new(MAIL).unwrap())
        .resource(Resource::new(BILLING).unwrap())
        .resource(Resource::new(ADMIN).unwrap())
        .default_resource(MAIL)
}

/// The tests' policy: `gateway` may trade a token for [`MAIL`] for one for [`BILLING`], with
/// at most `read`; an actor must be `gateway` itself, `worker`, or
/// `worker` of the other issuer.
fn policy(request: &ExchangeRequest<'_>) -> Result<Allowance, OAuthError> {
    if request.client.id().as_str() != GATEWAY {
        return Err(OAuthError::unauthorized_client("not this client"));
    }
    let from_mail = match request.subject.token_type {
        ExchangeTokenType::AccessToken | ExchangeTokenType::Jwt => {
            request.subject.has_audience(MAIL)
        }
        // An ID token names no resource: the policy grants its scope explicitly.
        _ => true,
    };
    if !from_mail {
        return Err(OAuthError::unauthorized_client("not from this audience"));
    }
    if request.resources != [BILLING] {
        return Err(OAuthError::invalid_target("not for this resource"));
    }
    if let Some(actor) = request.actor
        && ![GATEWAY, WORKER, "ext-worker"].contains(&actor.subject.as_str())
    {
        return Err(OAuthError::unauthorized_client("not this actor"));
    }
    let allowance = Allowance::new().scope(ScopeSet::parse("read").unwrap());
    Ok(match request.subject.token_type {
        ExchangeTokenType::IdToken => allowance.scope_beyond_subject(),
        _ => allowance,
    })
}

/// Accepts `foreign:<user>` as a JWT of [`OTHER_ISSUER`] for [`MAIL`] with `read write`, valid
/// ten minutes from the server's start, standing for the local owner `<user>`.
struct Foreign;

impl JwtVerifier for Foreign {
    fn verify<'a>(
        &'a self,
        token: &'a str,
        _now: Timestamp,
    ) -> BoxFuture<'a, Result<Option<ExchangeToken>, Error>> {
        Box::pin(async move {
            Ok(token.strip_prefix("foreign:").map(|user| {
                let expires_at = Timestamp::from_secs(START + 600);
                ExchangeToken::jwt(OTHER_ISSUER, format!("ext-{user}"), expires_at)
                    .owner(OwnerId::new(user))
                    .scope(ScopeSet::parse("read write").unwrap())
                    .audience(vec![MAIL.to_owned()])
            }))
        })
    }
}

fn extra_clients() -> Vec<Client> {
    vec![
        Client::confidential(GATEWAY, &ClientSecret::new(GATEWAY_SECRET))
            .grant_types([
                TokenExchangeGrant::grant_type(),
                GrantType::ClientCredentials,
            ])
            .allowed_scopes("stats")
            .default_scopes("stats")
            .build()
            .unwrap(),
        Client::confidential(STRANGER, &ClientSecret::new(STRANGER_SECRET))
            .grant_types([TokenExchangeGrant::grant_type()])
            .build()
            .unwrap(),
    ]
}

async fn fixture_with(
    grant: TokenExchangeGrant,
    configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> Fixture {
    fixture_over(MemoryStorage::new(), grant, configure).await
}

async fn fixture_over<S: Storage>(
    storage: S,
    grant: TokenExchangeGrant,
    configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> Fixture<S> {
    let fx = Fixture::with_server(
        storage,
        |c| configure(with_resources(c)),
        |b| b.grant(grant),
    )
    .await;
    for client in extra_clients() {
        fx.server.register_client(client).await.unwrap();
    }
    fx
}

async fn fixture() -> Fixture {
    fixture_with(TokenExchangeGrant::new(policy).jwt_verifier(Foreign), |c| c).await
}

/// A token-exchange request of `client` with these parameters.
fn exchange_as(client: (&str, &str), pairs: &[(&str, &str)]) -> Request<Vec<u8>> {
    let mut all = vec![("grant_type", grantor::grant::TOKEN_EXCHANGE)];
    all.extend_from_slice(pairs);
    basic_token_request(client.0, client.1, &all)
}

/// `gateway` trades `subject` (an access token) for a token for [`BILLING`].
fn exchange(subject: &str, extra: &[(&str, &str)]) -> Request<Vec<u8>> {
    let mut pairs = vec![
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
        ("resource", BILLING),
    ];
    pairs.extend_from_slice(extra);
    exchange_as((GATEWAY, GATEWAY_SECRET), &pairs)
}

async fn ok<S: Storage>(fx: &Fixture<S>, request: &Request<Vec<u8>>) -> Value {
    let response = fx.server.token(request).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    json(&response)
}

async fn introspect<S: Storage>(fx: &Fixture<S>, token: &str) -> Value {
    let request = basic_post("/introspect", GATEWAY, GATEWAY_SECRET, &[("token", token)]);
    json(&fx.server.introspect(&request).await)
}

/// alice's access token of `app`, for [`MAIL`] with `read write`.
async fn alice<S: Storage>(fx: &Fixture<S>) -> String {
    text(&fx.app_tokens().await, "access_token").to_owned()
}

/// `gateway`'s own app token, for an actor.
async fn gateway_token<S: Storage>(fx: &Fixture<S>) -> String {
    let request = basic_token_request(
        GATEWAY,
        GATEWAY_SECRET,
        &[("grant_type", "client_credentials")],
    );
    text(&ok(fx, &request).await, "access_token").to_owned()
}

async fn refused(fx: &Fixture, request: &Request<Vec<u8>>) -> Response<Vec<u8>> {
    fx.server.token(request).await
}

// C-TX-2: the default policy refuses every exchange.
#[tokio::test]
async fn the_default_policy_refuses_every_exchange() {
    let fx = fixture_with(TokenExchangeGrant::default(), |c| c).await;
    let subject = alice(&fx).await;
    assert_error(
        &refused(&fx, &exchange(&subject, &[])).await,
        400,
        "unauthorized_client",
    );
    assert!(
        fx.server
            .grant_types()
            .any(|g| g.as_str() == grantor::grant::TOKEN_EXCHANGE)
    );
}

// C-TX-1, C-TX-2: an allowed exchange answers a token for the downstream resource, for the same
// owner, with `issued_token_type` and `token_type`, no refresh token, and no actor.
#[tokio::test]
async fn an_allowed_exchange_issues_a_token_for_the_downstream_resource() {
    let fx = fixture().await;
    let subject = alice(&fx).await;
    let body = ok(&fx, &exchange(&subject, &[])).await;
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN_TYPE);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read");
    assert!(body.get("refresh_token").is_none());
    let token = text(&body, "access_token");
    assert_ne!(token, subject);
    let seen = introspect(&fx, token).await;
    assert_eq!(seen["active"], true);
    assert_eq!(seen["sub"], "alice");
    assert_eq!(seen["client_id"], GATEWAY);
    assert_eq!(seen["aud"], BILLING);
    assert_eq!(seen["scope"], "read");
    // C-TX-2: impersonation records no actor.
    assert!(seen.get("act").is_none(), "{seen}");

    // `audience` names a resource as well as `resource` does.
    let body = ok(
        &fx,
        &exchange_as(
            (GATEWAY, GATEWAY_SECRET),
            &[
                ("subject_token", &subject),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("audience", BILLING),
                ("requested_token_type", ACCESS_TOKEN_TYPE),
            ],
        ),
    )
    .await;
    assert_eq!(
        introspect(&fx, text(&body, "access_token")).await["aud"],
        BILLING
    );
}

// C-TX-2: the policy refuses: another client, another resource, a subject of another audience.
#[tokio::test]
async fn the_policy_refuses_what_it_does_not_allow() {
    let fx = fixture().await;
    let subject = alice(&fx).await;
    let by_stranger = exchange_as(
        (STRANGER, STRANGER_SECRET),
        &[
            ("subject_token", &subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("resource", BILLING),
        ],
    );
    assert_error(
        &refused(&fx, &by_stranger).await,
        400,
        "unauthorized_client",
    );
    let for_admin = exchange_as(
        (GATEWAY, GATEWAY_SECRET),
        &[
            ("subject_token", &subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("resource", ADMIN),
        ],
    );
    assert_error(&refused(&fx, &for_admin).await, 400, "invalid_target");
    // A token for BILLING cannot be traded again: the policy trades tokens for MAIL only.
    let billing = ok(&fx, &exchange(&subject, &[])).await;
    assert_error(
        &refused(&fx, &exchange(text(&billing, "access_token"), &[])).await,
        400,
        "unauthorized_client",
    );
}

// C-TX-2: the new token's scope stays within the policy's and the subject's, and it expires no
// later than the subject, unless the policy says so explicitly.
#[tokio::test]
async fn scope_and_lifetime_are_never_widened() {
    // The policy allows `read admin`; the subject has `read write`: only `read` is granted.
    let wide = |request: &ExchangeRequest<'_>| {
        policy(request).map(|allowance| allowance.scope(ScopeSet::parse("read admin").unwrap()))
    };
    let fx = fixture_with(TokenExchangeGrant::new(wide), |c| c).await;
    let subject = alice(&fx).await;
    assert_eq!(ok(&fx, &exchange(&subject, &[])).await["scope"], "read");
    assert_error(
        &refused(&fx, &exchange(&subject, &[("scope", "admin")])).await,
        400,
        "invalid_scope",
    );
    assert_error(
        &refused(&fx, &exchange(&subject, &[("scope", "read write")])).await,
        400,
        "invalid_scope",
    );
    // The subject has 600 s left: so does the new token, whatever the configured lifetime.
    fx.advance(3000);
    let body = ok(&fx, &exchange(&subject, &[])).await;
    assert_eq!(body["expires_in"], 600);

    // A policy that says so explicitly may go beyond the subject.
    let beyond = |request: &ExchangeRequest<'_>| {
        policy(request).map(|allowance| {
            allowance
                .scope(ScopeSet::parse("read admin").unwrap())
                .lifetime(Duration::from_secs(7200))
                .beyond_subject()
        })
    };
    let fx = fixture_with(TokenExchangeGrant::new(beyond), |c| c).await;
    let subject = alice(&fx).await;
    let body = ok(&fx, &exchange(&subject, &[])).await;
    assert_eq!(body["scope"], "admin read");
    assert_eq!(body["expires_in"], 7200);
    // Without beyond_subject, an explicit lifetime is still bounded by the subject.
    let longer = |request: &ExchangeRequest<'_>| {
        policy(request).map(|allowance| allowance.lifetime(Duration::from_secs(7200)))
    };
    let fx = fixture_with(TokenExchangeGrant::new(longer), |c| c).await;
    let subject = alice(&fx).await;
    assert_eq!(ok(&fx, &exchange(&subject, &[])).await["expires_in"], 3600);
}

// C-TX-2: delegation (an actor token) records the actor in introspection; impersonation does
// not (see above).
#[tokio::test]
async fn delegation_records_the_actor() {
    let fx = fixture().await;
    let subject = alice(&fx).await;
    let actor = gateway_token(&fx).await;
    let body = ok(
        &fx,
        &exchange(
            &subject,
            &[
                ("actor_token", &actor),
                ("actor_token_type", ACCESS_TOKEN_TYPE),
            ],
        ),
    )
    .await;
    let seen = introspect(&fx, text(&body, "access_token")).await;
    assert_eq!(seen["sub"], "alice");
    assert_eq!(seen["act"], serde_json::json!({ "sub": GATEWAY }));
    // An actor the policy does not allow.
    let stranger = exchange_as(
        (STRANGER, STRANGER_SECRET),
        &[
            ("subject_token", &subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("actor_token", &subject),
            ("actor_token_type", ACCESS_TOKEN_TYPE),
        ],
    );
    assert_error(&refused(&fx, &stranger).await, 400, "unauthorized_client");
    assert_error(
        &refused(
            &fx,
            &exchange(
                &subject,
                &[
                    ("actor_token", &subject),
                    ("actor_token_type", ACCESS_TOKEN_TYPE),
                ],
            ),
        )
        .await,
        400,
        "unauthorized_client",
    );
}

// C-TX-1: a revoked or expired subject token is invalid_grant; and the exchanged token belongs
// to the subject's grant family, so revoking the subject's grant revokes it too.
#[tokio::test]
async fn a_revoked_or_expired_subject_is_refused() {
    let fx = fixture().await;
    let subject = alice(&fx).await;
    let revoke = token_request(&[("token", &subject), ("client_id", APP)]);
    assert_eq!(fx.server.revoke(&revoke).await.status(), 200);
    assert_error(
        &refused(&fx, &exchange(&subject, &[])).await,
        400,
        "invalid_grant",
    );

    let tokens = fx.app_tokens().await;
    let exchanged = ok(&fx, &exchange(text(&tokens, "access_token"), &[])).await;
    let exchanged = text(&exchanged, "access_token");
    assert!(access_is_live(&fx, exchanged).await);
    // The refresh token is replayed: its whole family goes, the exchanged token with it.
    let refresh = text(&tokens, "refresh_token");
    ok(&fx, &refresh_request((APP, None), refresh, &[])).await;
    assert_error(
        &refused(&fx, &refresh_request((APP, None), refresh, &[])).await,
        400,
        "invalid_grant",
    );
    assert!(!access_is_live(&fx, exchanged).await);

    let subject = alice(&fx).await;
    fx.advance(3600);
    assert_error(
        &refused(&fx, &exchange(&subject, &[])).await,
        400,
        "invalid_grant",
    );
}

/// A request's parameters, and the status and error it gets.
type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);

// C-TX-1: every malformed request, with its exact status and error.
#[tokio::test]
async fn every_request_error_is_answered_as_specified() {
    let fx = fixture().await;
    let subject = alice(&fx).await;
    let s = subject.as_str();
    let cases: Vec<Case<'_>> = vec![
        // subject_token and subject_token_type are required.
        (
            vec![("subject_token_type", ACCESS_TOKEN_TYPE)],
            400,
            "invalid_request",
        ),
        (vec![("subject_token", s)], 400, "invalid_request"),
        // actor_token needs actor_token_type, and the type needs the token.
        (
            vec![
                ("subject_token", s),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("actor_token", s),
            ],
            400,
            "invalid_request",
        ),
        (
            vec![
                ("subject_token", s),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("actor_token_type", ACCESS_TOKEN_TYPE),
            ],
            400,
            "invalid_request",
        ),
        // Unsupported token types.
        (
            vec![
                ("subject_token", s),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:saml2",
                ),
            ],
            400,
            "invalid_request",
        ),
        (
            vec![
                ("subject_token", s),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("actor_token", s),
                ("actor_token_type", "urn:example:unknown"),
            ],
            400,
            "invalid_request",
        ),
        (
            vec![
                ("subject_token", s),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                (
                    "requested_token_type",
                    "urn:ietf:params:oauth:token-type:refresh_token",
                ),
            ],
            400,
            "invalid_request",
        ),
        // Unknown resource or audience.
        (
            vec![
                ("subject_token", s),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("resource", "https://api.example/unknown"),
            ],
            400,
            "invalid_target",
        ),
        (
            vec![
                ("subject_token", s),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("audience", "https://api.example/unknown"),
            ],
            400,
            "invalid_target",
        ),
        // An invalid subject or actor token.
        (
            vec![
                ("subject_token", "not-a-token"),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("resource", BILLING),
            ],
            400,
            "invalid_grant",
        ),
        (
            vec![
                ("subject_token", s),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("actor_token", "not-a-token"),
                ("actor_token_type", ACCESS_TOKEN_TYPE),
                ("resource", BILLING),
            ],
            400,
            "invalid_grant",
        ),
        (
            vec![
                ("subject_token", "not-a-jwt"),
                ("subject_token_type", JWT_TOKEN_TYPE),
                ("resource", BILLING),
            ],
            400,
            "invalid_grant",
        ),
    ];
    for (pairs, status, error) in cases {
        let response = refused(&fx, &exchange_as((GATEWAY, GATEWAY_SECRET), &pairs)).await;
        assert_eq!(
            response.status(),
            status,
            "{pairs:?}: {}",
            body_text(&response)
        );
        assert_eq!(json(&response)["error"], error, "{pairs:?}");
    }
    // The grant type is refused to a client not registered for it.
    let response = fx
        .server
        .token(&basic_token_request(
            WORKER,
            WORKER_SECRET,
            &[
                ("grant_type", grantor::grant::TOKEN_EXCHANGE),
                ("subject_token", s),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
            ],
        ))
        .await;
    assert_error(&response, 400, "unauthorized_client");
    // Without a verifier, JWTs of other issuers are an unsupported type.
    let fx = fixture_with(TokenExchangeGrant::new(policy), |c| c).await;
    let response = refused(
        &fx,
        &exchange_as(
            (GATEWAY, GATEWAY_SECRET),
            &[
                ("subject_token", "foreign:bob"),
                ("subject_token_type", JWT_TOKEN_TYPE),
            ],
        ),
    )
    .await;
    assert_error(&response, 400, "invalid_request");
}

// C-TX-1, C-TX-2: a JWT of another issuer, checked by the host's verifier, is exchanged for a
// token of the owner the verifier names; as an actor it is named with its issuer.
#[tokio::test]
async fn a_token_of_another_issuer_is_exchanged_through_the_verifier() {
    let fx = fixture().await;
    let body = ok(
        &fx,
        &exchange_as(
            (GATEWAY, GATEWAY_SECRET),
            &[
                ("subject_token", "foreign:bob"),
                ("subject_token_type", JWT_TOKEN_TYPE),
                ("resource", BILLING),
            ],
        ),
    )
    .await;
    assert_eq!(body["scope"], "read");
    assert_eq!(body["expires_in"], 600);
    let seen = introspect(&fx, text(&body, "access_token")).await;
    assert_eq!(seen["sub"], "bob");
    assert_eq!(seen["aud"], BILLING);

    // After it expires, the verifier's token is refused.
    fx.advance(600);
    assert_error(
        &refused(
            &fx,
            &exchange_as(
                (GATEWAY, GATEWAY_SECRET),
                &[
                    ("subject_token", "foreign:bob"),
                    ("subject_token_type", JWT_TOKEN_TYPE),
                    ("resource", BILLING),
                ],
            ),
        )
        .await,
        400,
        "invalid_grant",
    );
}

// C-TX-2: the actor of a delegated token is kept by the SQL backends too.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn the_actor_is_kept_in_sql_storage() {
    let path = std::env::temp_dir().join(format!(
        "grantor-exchange-{}.db",
        &grantor::AccessToken::generate().digest().to_hex()[..16]
    ));
    let url = format!("sqlite:{}", path.display());
    let storage = grantor::storage::SqliteStorage::open(&url).await.unwrap();
    let fx = fixture_over(storage, TokenExchangeGrant::new(policy), |c| c).await;
    let subject = alice(&fx).await;
    let actor = gateway_token(&fx).await;
    let delegated = exchange(
        &subject,
        &[
            ("actor_token", &actor),
            ("actor_token_type", ACCESS_TOKEN_TYPE),
        ],
    );
    let body = ok(&fx, &delegated).await;
    let seen = introspect(&fx, text(&body, "access_token")).await;
    assert_eq!(seen["act"], serde_json::json!({ "sub": GATEWAY }));
    let body = ok(&fx, &exchange(&subject, &[])).await;
    assert!(
        introspect(&fx, text(&body, "access_token"))
            .await
            .get("act")
            .is_none()
    );
    drop(fx);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// The ID-token and JWT access-token parts: the server is an OpenID Provider.
#[cfg(feature = "oidc")]
mod oidc {
    use grantor::TokenFormat;
    use grantor::oidc::{KeyRing, NoClaims, OpenIdProvider, RotationPolicy, SigningAlgorithm};
    use jsonwebtoken::jwk::JwkSet;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};

    use super::*;

    /// A relying party that asks for `openid`.
    const RP: &str = "rp";
    const RP_REDIRECT: &str = "https://rp.example/cb";

    async fn provider() -> Fixture {
        let storage = MemoryStorage::new();
        let rotation = RotationPolicy::new().algorithms([SigningAlgorithm::Es256]);
        let ring = KeyRing::new(storage.clone(), rotation).unwrap();
        let provider = OpenIdProvider::builder(ring, NoClaims)
            .require_rs256(false)
            .build()
            .unwrap();
        let fx = Fixture::with_server(
            storage,
            |c| {
                c.resource(Resource::new(MAIL).unwrap())
                    .resource(
                        Resource::new(BILLING)
                            .unwrap()
                            .access_token_format(TokenFormat::Jwt),
                    )
                    .default_resource(MAIL)
            },
            |b| {
                b.openid(provider)
                    .grant(TokenExchangeGrant::new(policy).jwt_verifier(Foreign))
            },
        )
        .await;
        let mut clients = extra_clients();
        clients.push(
            Client::public(RP)
                .redirect_uri(RP_REDIRECT)
                .grant_types([GrantType::AuthorizationCode])
                .allowed_scopes("openid read")
                .id_token_signed_response_alg("ES256")
                .build()
                .unwrap(),
        );
        for client in clients {
            fx.server.register_client(client).await.unwrap();
        }
        fx
    }

    /// alice's ID token for the relying party.
    async fn id_token(fx: &Fixture) -> String {
        let query = format!(
            "response_type=code&client_id={RP}&scope=openid+read&nonce=n&code_challenge={}&code_challenge_method=S256",
            grantor::CodeChallenge::s256(VERIFIER).value()
        );
        let response = fx.approve(&query, "alice", "openid read").await;
        let code = redirect_params(&response)["code"].clone();
        let tokens = ok(
            fx,
            &token_request(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", RP),
                ("code_verifier", VERIFIER),
            ]),
        )
        .await;
        text(&tokens, "id_token").to_owned()
    }

    fn verified(jwks: &Value, token: &str) -> Value {
        let header = jsonwebtoken::decode_header(token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let set: JwkSet = serde_json::from_value(jwks.clone()).unwrap();
        let key = DecodingKey::from_jwk(set.find(header.kid.as_deref().unwrap()).unwrap()).unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[BILLING]);
        validation.validate_exp = false;
        jsonwebtoken::decode::<Value>(token, &key, &validation)
            .expect("the access token verifies")
            .claims
    }

    // C-TX-1, C-TX-2: an ID token of this server is a subject; an access token is not an ID
    // token, nor a forged one.
    #[tokio::test]
    async fn an_id_token_is_exchanged() {
        let fx = provider().await;
        let id_token = id_token(&fx).await;
        let body = ok(
            &fx,
            &exchange_as(
                (GATEWAY, GATEWAY_SECRET),
                &[
                    ("subject_token", &id_token),
                    ("subject_token_type", ID_TOKEN_TYPE),
                    ("resource", BILLING),
                ],
            ),
        )
        .await;
        assert_eq!(body["issued_token_type"], ACCESS_TOKEN_TYPE);
        let jwks = json(&fx.server.jwks_response(&get("/jwks")).await);
        let claims = verified(&jwks, text(&body, "access_token"));
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["scope"], "read");
        assert!(
            claims.get("act").is_none(),
            "C-TX-2: impersonation: {claims}"
        );
        // C-TX-2: the policy lets the scope go beyond the ID token's (which has none), not the
        // lifetime: 1,000 s later, the new token expires with the ID token.
        assert_eq!(body["expires_in"], 3600);
        fx.advance(1000);
        let later = ok(
            &fx,
            &exchange_as(
                (GATEWAY, GATEWAY_SECRET),
                &[
                    ("subject_token", &id_token),
                    ("subject_token_type", ID_TOKEN_TYPE),
                    ("resource", BILLING),
                ],
            ),
        )
        .await;
        assert_eq!(later["expires_in"], 2600);

        // A JWT access token is not an ID token; nor is a tampered one.
        let at = text(&body, "access_token").to_owned();
        let mut tampered = id_token.clone();
        tampered.pop();
        for subject in [at.as_str(), tampered.as_str()] {
            let response = refused(
                &fx,
                &exchange_as(
                    (GATEWAY, GATEWAY_SECRET),
                    &[
                        ("subject_token", subject),
                        ("subject_token_type", ID_TOKEN_TYPE),
                        ("resource", BILLING),
                    ],
                ),
            )
            .await;
            assert_error(&response, 400, "invalid_grant");
        }
    }

    // C-TX-2, C-JT-1: delegation puts the actor in the JWT access token's `act` claim; an actor
    // of another issuer is named with its issuer.
    #[tokio::test]
    async fn delegation_puts_act_in_the_jwt_access_token() {
        let fx = provider().await;
        let subject = alice(&fx).await;
        let actor = gateway_token(&fx).await;
        let body = ok(
            &fx,
            &exchange(
                &subject,
                &[
                    ("actor_token", &actor),
                    ("actor_token_type", ACCESS_TOKEN_TYPE),
                ],
            ),
        )
        .await;
        let jwks = json(&fx.server.jwks_response(&get("/jwks")).await);
        let token = text(&body, "access_token");
        let claims = verified(&jwks, token);
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["client_id"], GATEWAY);
        assert_eq!(claims["act"], serde_json::json!({ "sub": GATEWAY }));
        assert_eq!(
            introspect(&fx, token).await["act"],
            serde_json::json!({ "sub": GATEWAY })
        );

        let policy_any_actor = exchange(
            &subject,
            &[
                ("actor_token", "foreign:worker"),
                ("actor_token_type", JWT_TOKEN_TYPE),
            ],
        );
        let body = ok(&fx, &policy_any_actor).await;
        let claims = verified(&jwks, text(&body, "access_token"));
        assert_eq!(
            claims["act"],
            serde_json::json!({ "sub": "ext-worker", "iss": OTHER_ISSUER })
        );
    }
}

/// A policy that allows every exchange within the subject's scope and lifetime.
fn anything(_: &ExchangeRequest<'_>) -> Result<Allowance, OAuthError> {
    Ok(Allowance::new())
}

// C-TX-2: a delegated token never loses its actor: exchanged again without an actor token
// (impersonation) it keeps it; with one (delegation) the new actor comes first and the earlier
// one is nested under it (RFC 8693 §4.1). The policy sees the subject's actor.
#[tokio::test]
async fn a_delegated_subject_keeps_its_chain_of_actors() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let policy = move |request: &ExchangeRequest<'_>| {
        let actor = request
            .subject
            .actor
            .as_ref()
            .map(|actor| actor.sub.clone());
        record.lock().unwrap().push(actor);
        Ok(Allowance::new())
    };
    let fx = fixture_with(TokenExchangeGrant::new(policy), |c| c).await;
    let subject = alice(&fx).await;
    let actor = gateway_token(&fx).await;
    let with_actor = [
        ("actor_token", actor.as_str()),
        ("actor_token_type", ACCESS_TOKEN_TYPE),
    ];
    let delegated = ok(&fx, &exchange(&subject, &with_actor)).await;
    let delegated = text(&delegated, "access_token").to_owned();
    assert_eq!(
        introspect(&fx, &delegated).await["act"],
        serde_json::json!({ "sub": GATEWAY })
    );

    let again = ok(&fx, &exchange(&delegated, &[])).await;
    let again = introspect(&fx, text(&again, "access_token")).await;
    assert_eq!(again["sub"], "alice");
    assert_eq!(again["act"], serde_json::json!({ "sub": GATEWAY }));

    let chained = ok(&fx, &exchange(&delegated, &with_actor)).await;
    let chained = introspect(&fx, text(&chained, "access_token")).await;
    assert_eq!(
        chained["act"],
        serde_json::json!({ "sub": GATEWAY, "act": { "sub": GATEWAY } })
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [None, Some(GATEWAY.to_owned()), Some(GATEWAY.to_owned())]
    );
}

// C-TX-1: an app token of another client is not exchanged (it stands for no owner, and the
// token issued for it would hide whose it was); a client's own app token is.
#[tokio::test]
async fn an_app_token_of_another_client_is_refused() {
    let fx = fixture_with(TokenExchangeGrant::new(anything), |c| c).await;
    let app_token = gateway_token(&fx).await;
    let pairs = [
        ("subject_token", app_token.as_str()),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
    ];
    let response = refused(&fx, &exchange_as((STRANGER, STRANGER_SECRET), &pairs)).await;
    assert_error(&response, 400, "invalid_grant");
    let own = ok(&fx, &exchange_as((GATEWAY, GATEWAY_SECRET), &pairs)).await;
    let seen = introspect(&fx, text(&own, "access_token")).await;
    assert_eq!(seen["client_id"], GATEWAY);
    assert!(seen.get("sub").is_none());
}
