//! Access-token formats written outside the crate, on the format seam: every grant mints its
//! access tokens through the server's format and bearer validation reads them through it,
//! without a change to either. One format is opaque with a prefix and an embedded key id; the
//! other carries its record, HMAC-signed, and is validated without a storage lookup.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use grantor::storage::{Digest, TokenRecord, TokenStore};
use grantor::token::{AccessTokenFormat, Reading};
use grantor::{AccessToken, Error, MemoryStorage, Requirement, Server, Timestamp};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Opaque tokens `gt_<key id>_<random>`: recognisable by secret scanners, and refused at once
/// when their key id is retired.
struct Prefixed {
    minting: &'static str,
    known: &'static [&'static str],
}

impl AccessTokenFormat for Prefixed {
    fn mint(&self, _: &TokenRecord) -> Result<AccessToken, Error> {
        let random = AccessToken::generate();
        Ok(AccessToken::new(format!(
            "gt_{}_{}",
            self.minting,
            random.secret()
        )))
    }

    fn read(&self, token: &str, _: Timestamp) -> Reading {
        let Some(rest) = token.strip_prefix("gt_") else {
            return Reading::NotMine;
        };
        match rest.split_once('_') {
            Some((kid, _)) if self.known.contains(&kid) => Reading::Stored,
            _ => Reading::Invalid,
        }
    }
}

/// Self-contained tokens `st.<record as base64url JSON>.<HMAC-SHA256>`.
struct Signed {
    key: [u8; 32],
    revocable: bool,
}

impl Signed {
    fn mac(&self, payload: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).unwrap();
        mac.update(payload.as_bytes());
        mac
    }
}

impl AccessTokenFormat for Signed {
    fn mint(&self, record: &TokenRecord) -> Result<AccessToken, Error> {
        let json = serde_json::to_vec(record).map_err(Error::other)?;
        let payload = URL_SAFE_NO_PAD.encode(json);
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        Ok(AccessToken::new(format!("st.{payload}.{signature}")))
    }

    fn read(&self, token: &str, _: Timestamp) -> Reading {
        let Some(rest) = token.strip_prefix("st.") else {
            return Reading::NotMine;
        };
        let Some((payload, signature)) = rest.split_once('.') else {
            return Reading::Invalid;
        };
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
            return Reading::Invalid;
        };
        if self.mac(payload).verify_slice(&signature).is_err() {
            return Reading::Invalid;
        }
        let record = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|json| serde_json::from_slice::<TokenRecord>(&json).ok());
        match record {
            Some(record) => Reading::SelfContained {
                record,
                revocable: self.revocable,
            },
            None => Reading::Invalid,
        }
    }
}

const KNOWN_KIDS: &[&str] = &["k1", "k2"];

async fn prefixed(storage: MemoryStorage) -> Fixture {
    let format = Prefixed {
        minting: "k2",
        known: KNOWN_KIDS,
    };
    Fixture::with_server(storage, |c| c, |s| s.access_token_format(format)).await
}

async fn signed(revocable: bool) -> Fixture {
    let format = Signed {
        key: [7; 32],
        revocable,
    };
    Fixture::with_server(
        MemoryStorage::new(),
        |c| c,
        |s| s.access_token_format(format),
    )
    .await
}

async fn validate(fx: &Fixture, token: &str) -> Result<grantor::AccessGrant, grantor::BearerError> {
    fx.server
        .validate_bearer(
            &bearer("/api", token),
            &Requirement::user().scopes("read").unwrap(),
        )
        .await
}

fn assert_invalid_token(result: Result<grantor::AccessGrant, grantor::BearerError>) {
    let error = result.unwrap_err();
    assert_eq!(error.status(), 401);
    assert_eq!(
        error.error_code().map(|c| c.as_str()),
        Some("invalid_token")
    );
}

// C-BR-5, C-IN-1, C-RV-1: the grants mint in the host's format and bearer validation reads it;
// introspection and revocation find the tokens whatever their format.
#[tokio::test]
async fn a_prefixed_opaque_format_is_used_by_grants_and_validation() {
    let fx = prefixed(MemoryStorage::new()).await;
    let tokens = fx.app_tokens().await;
    let access = text(&tokens, "access_token");
    assert!(access.starts_with("gt_k2_"), "{access}");
    assert!(validate(&fx, access).await.is_ok());
    // Refresh tokens are grantor's own, whatever the access-token format.
    assert!(!text(&tokens, "refresh_token").starts_with("gt_"));
    let refreshed = json(
        &fx.server
            .token(&refresh_request(
                (APP, None),
                text(&tokens, "refresh_token"),
                &[],
            ))
            .await,
    );
    assert!(text(&refreshed, "access_token").starts_with("gt_k2_"));

    let introspect = post_form(
        "/introspect",
        form_body(&[("token", access), ("client_id", APP)]),
    );
    assert_eq!(
        json(&fx.server.introspect(&introspect).await)["active"],
        true
    );
    let revoke = post_form(
        "/revoke",
        form_body(&[("token", access), ("client_id", APP)]),
    );
    assert_eq!(fx.server.revoke(&revoke).await.status(), 200);
    assert_invalid_token(validate(&fx, access).await);

    // A retired key id is refused by the format itself.
    let retired = access.replacen("gt_k2_", "gt_k0_", 1);
    assert_invalid_token(validate(&fx, &retired).await);
}

// Changing the minting format keeps the previous format's tokens valid until they expire.
#[tokio::test]
async fn tokens_of_the_previous_format_stay_valid() {
    let storage = MemoryStorage::new();
    let before = Fixture::with_storage(storage.clone(), |c| c).await;
    let opaque = text(&before.app_tokens().await, "access_token").to_owned();
    let after = prefixed(storage).await;
    assert!(validate(&after, &opaque).await.is_ok());
    let new = text(&after.app_tokens().await, "access_token").to_owned();
    assert!(new.starts_with("gt_k2_"));
    assert!(validate(&after, &new).await.is_ok());
}

// C-BR-5: a self-contained token is validated from its own record, without a storage lookup:
// with its record deleted from storage it is still accepted (when revocation does not apply).
#[tokio::test]
async fn a_self_contained_format_needs_no_storage_lookup() {
    let fx = signed(false).await;
    let tokens = fx.app_tokens().await;
    let access = text(&tokens, "access_token");
    assert!(access.starts_with("st."), "{access}");
    fx.storage()
        .revoke_access_token(&Digest::of(access))
        .await
        .unwrap();
    let grant = validate(&fx, access).await.unwrap();
    assert_eq!(grant.owner().map(|o| o.as_str()), Some("alice"));
    assert_eq!(grant.client_id().as_str(), APP);

    // Its signature is checked: a token whose record was changed is refused.
    let (head, signature) = access.rsplit_once('.').unwrap();
    let mut forged = head.as_bytes().to_vec();
    forged[10] = if forged[10] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert_invalid_token(validate(&fx, &format!("{forged}.{signature}")).await);
    assert_invalid_token(validate(&fx, "st.not-base64.x").await);
    // grantor checks expiry itself, whatever the format says.
    fx.advance(3_600);
    assert_invalid_token(validate(&fx, access).await);
}

// C-RV-1: revocation applies to a self-contained token when its format says so.
#[tokio::test]
async fn revocation_applies_to_revocable_self_contained_tokens() {
    let fx = signed(true).await;
    let tokens = fx.app_tokens().await;
    let access = text(&tokens, "access_token");
    assert!(validate(&fx, access).await.is_ok());
    let revoke = post_form(
        "/revoke",
        form_body(&[("token", access), ("client_id", APP)]),
    );
    assert_eq!(fx.server.revoke(&revoke).await.status(), 200);
    assert_invalid_token(validate(&fx, access).await);

    // Revoking the refresh token revokes the grant: its next access token stops working too.
    let fresh = fx.app_tokens().await;
    let access = text(&fresh, "access_token");
    let revoke = post_form(
        "/revoke",
        form_body(&[("token", text(&fresh, "refresh_token")), ("client_id", APP)]),
    );
    assert_eq!(fx.server.revoke(&revoke).await.status(), 200);
    assert_invalid_token(validate(&fx, access).await);
}

// Every grant mints through the format: client credentials and password too.
#[tokio::test]
async fn every_grant_mints_through_the_format() {
    let fx = signed(true).await;
    let app = json(
        &fx.server
            .token(&basic_token_request(
                WORKER,
                WORKER_SECRET,
                &[("grant_type", "client_credentials")],
            ))
            .await,
    );
    assert!(text(&app, "access_token").starts_with("st."));
    let password = json(
        &fx.server
            .token(&password_request("alice", "wonderland", &[]))
            .await,
    );
    assert!(text(&password, "access_token").starts_with("st."));
    let server: &Server<MemoryStorage> = &fx.server;
    assert!(
        server
            .validate_bearer(
                &bearer("/api", text(&app, "access_token")),
                &Requirement::app()
            )
            .await
            .is_ok()
    );
}

// A format the server no longer mints in, but still accepts, is asked after the others: its
// tokens stay valid, and its forgeries are refused.
#[tokio::test]
async fn an_accepted_format_is_read_after_the_minting_ones() {
    let storage = MemoryStorage::new();
    let signing = Fixture::with_server(
        storage.clone(),
        |c| c,
        |s| {
            s.access_token_format(Signed {
                key: [7; 32],
                revocable: true,
            })
        },
    )
    .await;
    let signed = text(&signing.app_tokens().await, "access_token").to_owned();
    assert!(signed.starts_with("st."));
    let moved_on = Fixture::with_server(
        storage,
        |c| c,
        |s| {
            s.accept_access_token_format(Signed {
                key: [7; 32],
                revocable: true,
            })
        },
    )
    .await;
    let opaque = text(&moved_on.app_tokens().await, "access_token").to_owned();
    assert!(!opaque.starts_with("st."), "mints opaque tokens again");
    assert!(validate(&moved_on, &opaque).await.is_ok());
    assert!(validate(&moved_on, &signed).await.is_ok());
    let mut forged = signed.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert_invalid_token(validate(&moved_on, &forged).await);
    // Without the accepted format, a signed token is no token at all.
    let plain = Fixture::new().await;
    assert_invalid_token(validate(&plain, &signed).await);
}
