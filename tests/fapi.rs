//! The FAPI 2.0 Security Profile switch (C-FA-1): what it turns on, what it refuses, and what
//! the metadata says.

mod common;

use std::time::Duration;

use common::*;
use grantor::dpop::Dpop;
use grantor::jose::SigningAlgorithm;
use grantor::storage::ClientStore;
use grantor::{
    AuthMethod, Client, ClientAssertions, ClientSecret, Config, GrantType, MemoryStorage, Server,
};
use serde_json::json;

/// A FAPI 2.0 server (with the demo clients that conform to it) and its storage.
fn fapi_config(storage: &MemoryStorage) -> grantor::ConfigBuilder {
    Config::builder(ISSUER)
        .code_lifetime(Duration::from_secs(300))
        .allow_plain_pkce(true)
        .issuer_parameter(false)
        .dpop(Dpop::new(storage.clone()))
        .client_assertions(ClientAssertions::new(storage.clone()))
        .fapi2_security_profile()
}

// C-FA-1: the switch turns on PAR for every request, PKCE S256 for all, `iss`, required DPoP
// proofs with the profile's algorithms, and codes of at most 60 s, whatever was configured
// before; without DPoP it refuses to build.
#[test]
fn the_profile_overrides_what_it_requires() {
    let storage = MemoryStorage::new();
    let config = fapi_config(&storage).build().unwrap();
    assert!(config.is_fapi2());
    assert_eq!(config.code_lifetime(), Duration::from_secs(60));
    assert!(!config.allows_plain_pkce());
    assert!(config.sends_issuer_parameter());
    assert!(
        !config.rotates_refresh_tokens(),
        "FAPI 2.0 §5.3.2.1: no rotation"
    );
    // C-PA-1: every authorization request must be pushed.
    assert!(config.requires_pushed_authorization_requests());
    let dpop = config.dpop().unwrap();
    assert!(dpop.requires_proofs());
    assert_eq!(
        dpop.signing_algorithms(),
        [
            SigningAlgorithm::Es256,
            SigningAlgorithm::EdDsa,
            SigningAlgorithm::Ps256
        ]
    );
    let error = Config::builder(ISSUER)
        .fapi2_security_profile()
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("DPoP"), "{error}");
    let rs256_only = Config::builder(ISSUER)
        .dpop(Dpop::new(storage.clone()).algorithms([SigningAlgorithm::Rs256]))
        .client_assertions(ClientAssertions::new(storage.clone()))
        .fapi2_security_profile()
        .build();
    assert!(rs256_only.is_err());
    // private_key_jwt is the one client authentication, so client assertions are needed, and
    // they are narrowed to the profile's algorithms.
    let error = Config::builder(ISSUER)
        .dpop(Dpop::new(storage.clone()))
        .fapi2_security_profile()
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("private_key_jwt"), "{error}");
    assert_eq!(
        config.client_assertions().unwrap().signing_algorithms(),
        [
            SigningAlgorithm::Ps256,
            SigningAlgorithm::Es256,
            SigningAlgorithm::EdDsa
        ]
    );
}

// C-FA-1: no password grant, no implicit or hybrid response types, and clients that cannot
// conform (public, implicit or password grants, RS256 ID tokens) are refused at registration.
#[tokio::test]
async fn forbidden_grants_and_clients_are_refused() {
    let storage = MemoryStorage::new();
    let server = Server::builder(fapi_config(&storage).build().unwrap(), storage)
        .authenticator(Users)
        .build();
    assert!(
        !server
            .grant_types()
            .any(|grant| *grant == GrantType::Password)
    );
    let refused = [
        Client::public("public")
            .redirect_uri(APP_REDIRECT)
            .build()
            .unwrap(),
        Client::confidential("implicit", &ClientSecret::new(SVC_SECRET))
            .redirect_uri(SVC_REDIRECT)
            .grant_types([GrantType::AuthorizationCode, GrantType::Implicit])
            .id_token_signed_response_alg("ES256")
            .build()
            .unwrap(),
        Client::confidential("password", &ClientSecret::new(SVC_SECRET))
            .grant_types([GrantType::Password])
            .id_token_signed_response_alg("ES256")
            .build()
            .unwrap(),
        Client::confidential("rs256", &ClientSecret::new(SVC_SECRET))
            .redirect_uri(SVC_REDIRECT)
            .build()
            .unwrap(),
        Client::confidential("secret", &ClientSecret::new(SVC_SECRET))
            .redirect_uri(SVC_REDIRECT)
            .id_token_signed_response_alg("ES256")
            .build()
            .unwrap(),
    ];
    for client in refused {
        let id = client.id().clone();
        assert!(server.register_client(client).await.is_err(), "{id}");
        assert!(
            server
                .storage()
                .client(id.as_str())
                .await
                .unwrap()
                .is_none()
        );
    }
    let password = basic_token_request(
        TRUSTED,
        TRUSTED_SECRET,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "wonderland"),
        ],
    );
    assert_error(
        &server.token(&password).await,
        400,
        "unsupported_grant_type",
    );
}

// C-FA-1: a client authenticates with private_key_jwt or not at all: a secret-based client
// (stored behind the server's back) is refused at the token endpoint; a conforming client
// registers, authenticates with its assertion, and still needs a DPoP proof.
#[tokio::test]
async fn only_private_key_jwt_authenticates() {
    let storage = MemoryStorage::new();
    let clock = grantor::ManualClock::new(grantor::Timestamp::from_secs(START));
    let config = fapi_config(&storage).clock(clock).build().unwrap();
    let server = Server::builder(config, storage.clone()).build();
    let secret_client = Client::confidential("secret", &ClientSecret::new(WORKER_SECRET))
        .grant_types([GrantType::ClientCredentials])
        .allowed_scopes("stats")
        .default_scopes("stats")
        .build()
        .unwrap();
    storage.save_client(secret_client).await.unwrap();
    let request = basic_token_request(
        "secret",
        WORKER_SECRET,
        &[("grant_type", "client_credentials")],
    );
    assert_error(&server.token(&request).await, 401, "invalid_client");

    let key = common::jose::ClientKey::es256();
    let jwks = json!({"keys": [key.public_jwk]}).to_string();
    let client = Client::public("fapi")
        .token_endpoint_auth_method(AuthMethod::PrivateKeyJwt)
        .jwks(&jwks)
        .grant_types([GrantType::ClientCredentials])
        .allowed_scopes("stats")
        .default_scopes("stats")
        .id_token_signed_response_alg("ES256")
        .build()
        .unwrap();
    server.register_client(client).await.unwrap();
    let assertion = |jti: &str| {
        key.sign(
            &json!({"alg": "ES256"}),
            &json!({"iss": "fapi", "sub": "fapi", "aud": ISSUER, "jti": jti,
                    "iat": START, "exp": START + 60}),
        )
    };
    let asserted = |jti: &str| {
        token_request(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", &assertion(jti)),
        ])
    };
    // Authenticated, but without a DPoP proof: sender-constrained tokens are required.
    assert_error(
        &server.token(&asserted("one")).await,
        400,
        "invalid_dpop_proof",
    );
    let mut request = asserted("two");
    let proof = key.proof("POST", &format!("{ISSUER}/token"), START, None);
    request
        .headers_mut()
        .insert(grantor::dpop::DPOP, proof.parse().unwrap());
    let response = server.token(&request).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert_eq!(json(&response)["token_type"], "DPoP");

    // FAPI 2.0 §5.3.2.1: the assertion's `aud` is the issuer alone, as a string; one naming
    // the token endpoint, or an array, could have been meant for another server.
    for aud in [json!(format!("{ISSUER}/token")), json!([ISSUER])] {
        let claims = json!({"iss": "fapi", "sub": "fapi", "aud": aud, "jti": aud.to_string(),
                            "iat": START, "exp": START + 60});
        let mut request = token_request(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            (
                "client_assertion",
                &key.sign(&json!({"alg": "ES256"}), &claims),
            ),
        ]);
        let proof = key.proof("POST", &format!("{ISSUER}/token"), START, None);
        request
            .headers_mut()
            .insert(grantor::dpop::DPOP, proof.parse().unwrap());
        assert_error(&server.token(&request).await, 400, "invalid_client");
    }

    // Secrets are refused at every endpoint that authenticates clients.
    let pairs = [("token", "anything")];
    let par_pairs = [("response_type", "code"), ("scope", "stats")];
    for (name, response) in [
        (
            "revocation",
            server
                .revoke(&basic_post("/revoke", "secret", WORKER_SECRET, &pairs))
                .await,
        ),
        (
            "introspection",
            server
                .introspect(&basic_post("/introspect", "secret", WORKER_SECRET, &pairs))
                .await,
        ),
        (
            "par",
            server
                .push_authorization_request(&basic_post(
                    "/par",
                    "secret",
                    WORKER_SECRET,
                    &par_pairs,
                ))
                .await,
        ),
    ] {
        assert_eq!(response.status(), 401, "{name}: {}", body_text(&response));
        assert_eq!(json(&response)["error"], "invalid_client", "{name}");
    }

    // A client stored behind the server's back that does not conform (RS256 ID tokens) is not
    // authenticated, even with a good assertion.
    let stale = Client::public("stale")
        .token_endpoint_auth_method(AuthMethod::PrivateKeyJwt)
        .jwks(&jwks)
        .grant_types([GrantType::ClientCredentials])
        .allowed_scopes("stats")
        .build()
        .unwrap();
    storage.save_client(stale).await.unwrap();
    let claims = json!({"iss": "stale", "sub": "stale", "aud": ISSUER, "jti": "stale-1",
                        "iat": START, "exp": START + 60});
    let mut request = token_request(&[
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        (
            "client_assertion",
            &key.sign(&json!({"alg": "ES256"}), &claims),
        ),
    ]);
    let proof = key.proof("POST", &format!("{ISSUER}/token"), START + 1, None);
    request
        .headers_mut()
        .insert(grantor::dpop::DPOP, proof.parse().unwrap());
    assert_error(&server.token(&request).await, 400, "invalid_client");
    // An authenticator added after the server was built brings no password grant back.
    let server = server.with_authenticator(Users);
    assert!(
        !server
            .grant_types()
            .any(|grant| *grant == GrantType::Password)
    );
}

// C-FA-1: the metadata says what the profile allows.
#[test]
fn the_metadata_reflects_the_profile() {
    let storage = MemoryStorage::new();
    let server = Server::builder(fapi_config(&storage).build().unwrap(), storage)
        .authenticator(Users)
        .build();
    let metadata = server.metadata();
    assert_eq!(metadata["response_types_supported"], json!(["code"]));
    assert_eq!(metadata["require_pushed_authorization_requests"], true);
    for endpoint in ["token", "revocation", "introspection"] {
        let methods = &metadata[format!("{endpoint}_endpoint_auth_methods_supported")];
        assert_eq!(*methods, json!(["private_key_jwt"]), "{endpoint}");
    }
    assert_eq!(
        metadata["token_endpoint_auth_signing_alg_values_supported"],
        json!(["PS256", "ES256", "EdDSA"])
    );
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        true
    );
    assert_eq!(
        metadata["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "PS256"])
    );
    let grants = metadata["grant_types_supported"].as_array().unwrap();
    assert!(!grants.contains(&json!("implicit")) && !grants.contains(&json!("password")));
    assert!(grants.contains(&json!("authorization_code")));
}
