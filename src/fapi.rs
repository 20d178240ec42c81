//! The FAPI 2.0 Security Profile switch (C-FA-1): one configuration call,
//! [`ConfigBuilder::fapi2_security_profile`](crate::ConfigBuilder::fapi2_security_profile),
//! that turns on what the profile requires and refuses what it forbids.
//!
//! What it does, by the profile's sections (FAPI 2.0 Security Profile, final):
//!
//! | requirement | how grantor meets it |
//! |---|---|
//! | pushed authorization requests only (§5.3.2.2) | every authorization request must come through PAR |
//! | PKCE with S256 for every client (§5.3.2.2) | `code_challenge` required, `plain` refused |
//! | sender-constrained access tokens (§5.3.2.1) | every token request must carry a DPoP proof |
//! | confidential clients only, `private_key_jwt` or mTLS (§5.3.2.1) | clients authenticate with `private_key_jwt` only; public and secret-based clients are refused at registration and at the endpoints (also a non-conforming client stored without registration) |
//! | client assertions' `aud` is the issuer, as a string (§5.3.2.1) | an endpoint URL or an array is refused |
//! | no refresh-token rotation (§5.3.2.1) | refresh tokens are not rotated |
//! | no implicit, hybrid or password grant (§5.3.2.2, §5.3.2.1) | `response_type=code` only; the password grant is removed (and not added back by `Server::with_authenticator`) |
//! | `iss` in authorization responses (§5.3.2.2) | RFC 9207's `iss` is always sent |
//! | authorization codes live at most 60 s (§5.3.2.1) | the code lifetime is capped at 60 s |
//! | PS256, ES256 or EdDSA only (§5.4) | DPoP proofs, client assertions and ID tokens use only these |
//!
//! The metadata document says all of it: `require_pushed_authorization_requests`, the DPoP and
//! assertion algorithms, the one client-authentication method, `code` as the only response
//! type, S256 as the only PKCE method, `authorization_response_iss_parameter_supported`.

use std::time::Duration;

use crate::client::{AuthMethod, Client, GrantType};
use crate::config::Config;
use crate::error::Error;
use crate::jose::SigningAlgorithm;

/// The longest lifetime of an authorization code under the profile (§5.3.2.1: "shall not
/// exceed 60 seconds").
pub const MAX_CODE_LIFETIME: Duration = Duration::from_secs(60);

/// Applies the profile to a configuration being built: turns on what it requires, narrows the
/// algorithms to its own, and refuses a configuration that cannot meet it (no DPoP, no client
/// assertions).
pub(crate) fn apply(config: &mut Config) -> Result<(), Error> {
    config.require_pushed_authorization_requests = true;
    config.require_pkce_for_all = true;
    config.allow_plain_pkce = false;
    config.issuer_parameter = true;
    config.code_lifetime = config.code_lifetime.min(MAX_CODE_LIFETIME);
    // §5.3.2.1: no refresh-token rotation (its clients are all confidential, whose refresh
    // tokens rotate only when the configuration says so).
    config.rotate_refresh_tokens = false;
    let dpop = config.dpop.take().ok_or_else(|| {
        Error::config(
            "the FAPI 2.0 profile needs sender-constrained access tokens: configure DPoP \
             (ConfigBuilder::dpop)",
        )
    })?;
    let algorithms = allowed(dpop.signing_algorithms());
    if algorithms.is_empty() {
        return Err(Error::config(
            "the FAPI 2.0 profile allows DPoP proofs signed with PS256, ES256 or EdDSA only",
        ));
    }
    config.dpop = Some(dpop.algorithms(algorithms).require_proofs(true));
    let assertions = config.client_assertions.take().ok_or_else(|| {
        Error::config(
            "the FAPI 2.0 profile authenticates clients with private_key_jwt: configure client \
             assertions (ConfigBuilder::client_assertions)",
        )
    })?;
    let algorithms = allowed(assertions.signing_algorithms());
    if algorithms.is_empty() {
        return Err(Error::config(
            "the FAPI 2.0 profile allows client assertions signed with PS256, ES256 or EdDSA only",
        ));
    }
    config.client_assertions = Some(assertions.restricted_to(algorithms));
    Ok(())
}

/// The algorithms of `algorithms` the profile allows.
pub(crate) fn allowed(algorithms: &[SigningAlgorithm]) -> Vec<SigningAlgorithm> {
    algorithms
        .iter()
        .copied()
        .filter(|alg| SigningAlgorithm::FAPI2.contains(alg))
        .collect()
}

/// Why a client cannot be registered on a server with the profile on, if it cannot.
pub(crate) fn refuses(client: &Client) -> Option<&'static str> {
    if !client.is_confidential() {
        return Some("the FAPI 2.0 profile allows confidential clients only");
    }
    if client.token_endpoint_auth_method() != Some(AuthMethod::PrivateKeyJwt) {
        return Some(
            "the FAPI 2.0 profile allows clients that authenticate with private_key_jwt only",
        );
    }
    if client
        .grant_types()
        .iter()
        .any(|grant| matches!(grant, GrantType::Implicit | GrantType::Password))
    {
        return Some("the FAPI 2.0 profile forbids the implicit and password grants");
    }
    let signs_id_tokens = client.id_token_signed_response_alg();
    if !SigningAlgorithm::FAPI2
        .iter()
        .any(|alg| alg.as_str() == signs_id_tokens)
    {
        return Some(
            "under the FAPI 2.0 profile, ID tokens are signed with PS256, ES256 or EdDSA: \
             set the client's id_token_signed_response_alg",
        );
    }
    None
}
