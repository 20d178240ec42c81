//! The FAPI 2.0 Security Profile switch (C-FA-1): what it turns on, what it refuses, and what
//! the metadata says.

mod common;

use std::time::Duration;

use common::*;
use grantor::dpop::Dpop;
use grantor::jose::SigningAlgorithm;
use grantor::storage::ClientStore;
use grantor::{Client, ClientSecret, Config, GrantType, MemoryStorage, Server};
use serde_json::json;

/// A FAPI 2.0 server (with the demo clients that conform to it) and its storage.
fn fapi_config(storage: &MemoryStorage) -> grantor::ConfigBuilder {
    Config::builder(ISSUER)
        .code_lifetime(Duration::from_secs(300))
        .allow_plain_pkce(true)
        .issuer_parameter(false)
        .dpop(Dpop::new(storage.clone()))
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
        .dpop(Dpop::new(storage).algorithms([SigningAlgorithm::Rs256]))
        .fapi2_security_profile()
        .build();
    assert!(rs256_only.is_err());
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
