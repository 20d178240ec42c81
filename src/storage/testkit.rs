//! The storage conformance suite: one call, [`run`], checks that a [`Storage`] implementation
//! keeps the whole contract of the [module docs](super): round trips of every record, expiry,
//! the exactly-once code redemption and refresh rotation, grant revocation (also against
//! exchanges racing with it), lookups by digest only, purging, and concurrency.
//!
//! Every grantor backend passes it; write your own backend, then run it in a test:
//!
//! ```
//! use grantor::MemoryStorage;
//!
//! #[tokio::test(flavor = "multi_thread")]
//! async fn my_storage_keeps_the_contract() {
//!     grantor::storage::testkit::run(MemoryStorage::new()).await;
//! }
//! # fn main() {}
//! ```
//!
//! The suite panics with the name of the failed check, like a failed assertion. It needs a
//! Tokio runtime (the concurrency checks spawn tasks; a multi-threaded runtime makes their races
//! real). It adds records under fresh random ids, but it also calls
//! [`Storage::purge_expired`] for a time a day ahead, which deletes whatever else expires before
//! then: give it a database (or schema) of its own.
//!
//! The checks cite the CONFORMANCE ids they prove: C-SE-1 (digests only), C-SE-4 (exactly
//! one winner), C-TK-5 (codes once) and C-TK-11 (refresh rotation and family revocation).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{CodeRecord, Exchange, NewTokens, Storage, StoredToken, TokenRecord};
use crate::authenticator::OwnerId;
use crate::client::{Client, ClientId, GrantType};
use crate::error::{ErrorCode, OAuthError};
use crate::pkce::CodeChallenge;
use crate::scope::ScopeSet;
use crate::time::{Clock, SystemClock, Timestamp};
use crate::token::{AccessToken, AuthorizationCode, ClientSecret, Digest, GrantId, RefreshToken};

/// How many tasks race in the concurrency checks.
const RACERS: usize = 16;
const CODE_LIFETIME: u64 = 60;
const ACCESS_LIFETIME: u64 = 3_600;
const REFRESH_LIFETIME: u64 = 86_400;

/// Runs every check against `storage`; panics on the first broken rule.
pub async fn run<S: Storage>(storage: S) {
    let kit = Kit {
        storage: Arc::new(storage),
        now: SystemClock.now(),
    };
    kit.clients_round_trip().await;
    kit.code_round_trip().await;
    kit.code_expiry().await;
    kit.code_is_redeemed_once().await;
    kit.refused_code_is_spent().await;
    kit.tokens_round_trip().await;
    kit.token_expiry().await;
    kit.lookups_by_digest_only().await;
    kit.refresh_rotation().await;
    kit.refresh_refusal_changes_nothing().await;
    kit.refresh_without_new_refresh_token().await;
    kit.revoke_access_token().await;
    kit.revoke_grant().await;
    kit.revoked_grant_takes_no_tokens().await;
    kit.concurrent_code_redemption().await;
    kit.concurrent_refresh_rotation().await;
    kit.revocation_racing_exchanges().await;
    kit.purge_expired().await;
}

struct Kit<S> {
    storage: Arc<S>,
    now: Timestamp,
}

/// A fresh, random client id (so that runs on a shared database do not collide).
fn fresh_id(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        Digest::of(AccessToken::generate().secret()).to_hex()
    )
}

fn client_id() -> ClientId {
    ClientId::new(&fresh_id("testkit")).unwrap_or_else(|e| panic!("client id: {e}"))
}

fn scope(text: &str) -> ScopeSet {
    ScopeSet::parse(text).unwrap_or_else(|e| panic!("scope: {e}"))
}

/// Fails a check with its name.
#[track_caller]
fn check(ok: bool, name: &str, rule: &str) {
    assert!(ok, "storage testkit, {name}: {rule}");
}

#[track_caller]
fn ok<T>(result: Result<T, crate::Error>, name: &str) -> T {
    result.unwrap_or_else(|e| panic!("storage testkit, {name}: storage failed: {e}"))
}

impl<S: Storage> Kit<S> {
    fn at(&self, secs: u64) -> Timestamp {
        Timestamp::from_secs(self.now.as_secs() + secs)
    }

    fn code(&self, grant: GrantId, client_id: &ClientId) -> CodeRecord {
        CodeRecord {
            grant,
            client_id: client_id.clone(),
            owner: OwnerId::new(fresh_id("owner")),
            redirect_uri: "https://app.example/cb?x=1 y".to_owned(),
            redirect_uri_sent: true,
            scope: scope("read messages:net.app.core.pm"),
            challenge: Some(CodeChallenge::s256(
                "a-long-random-verifier-of-at-least-43-characters",
            )),
            issued_at: self.now,
            expires_at: self.at(CODE_LIFETIME),
        }
    }

    /// Tokens of `grant` issued at `now + offset`, with a refresh token if asked.
    fn tokens(&self, grant: GrantId, offset: u64, refresh: bool) -> NewTokens {
        let client_id = client_id();
        let record = |lifetime| TokenRecord {
            grant,
            client_id: client_id.clone(),
            owner: Some(OwnerId::new("alice")),
            scope: scope("read write"),
            issued_at: self.at(offset),
            expires_at: self.at(offset + lifetime),
        };
        NewTokens {
            access: StoredToken {
                digest: AccessToken::generate().digest(),
                record: record(ACCESS_LIFETIME),
            },
            refresh: refresh.then(|| StoredToken {
                digest: RefreshToken::generate().digest(),
                record: record(REFRESH_LIFETIME),
            }),
        }
    }

    /// Saves a fresh code; returns its digest and record.
    async fn saved_code(&self, name: &str) -> (Digest, CodeRecord) {
        let digest = AuthorizationCode::generate().digest();
        let record = self.code(GrantId::generate(), &client_id());
        ok(self.storage.save_code(digest, record.clone()).await, name);
        (digest, record)
    }

    /// Saves a fresh code and redeems it; returns its digest, its record and the tokens issued.
    async fn redeemed_code(&self, name: &str) -> (Digest, CodeRecord, NewTokens) {
        let (digest, record) = self.saved_code(name).await;
        let tokens = self.tokens(record.grant, 0, true);
        check(
            matches!(
                self.redeem(&digest, self.now, &tokens).await,
                Exchange::Issued
            ),
            name,
            "a live code is redeemed",
        );
        (digest, record, tokens)
    }

    /// Saves tokens (with a refresh token) of a fresh grant.
    async fn saved_tokens(&self, name: &str) -> NewTokens {
        let tokens = self.tokens(GrantId::generate(), 0, true);
        ok(self.storage.save_tokens(tokens.clone()).await, name);
        tokens
    }

    async fn access(&self, digest: &Digest, at: Timestamp, name: &str) -> Option<TokenRecord> {
        ok(self.storage.access_token(digest, at).await, name).map(Arc::unwrap_or_clone)
    }

    async fn refresh(&self, digest: &Digest, at: Timestamp, name: &str) -> Option<TokenRecord> {
        ok(self.storage.refresh_token(digest, at).await, name)
    }

    async fn redeem(&self, digest: &Digest, at: Timestamp, tokens: &NewTokens) -> Exchange {
        let tokens = tokens.clone();
        ok(
            self.storage.redeem_code(digest, at, |_| Ok(tokens)).await,
            "redeem_code",
        )
    }

    async fn rotate(&self, digest: &Digest, at: Timestamp, tokens: &NewTokens) -> Exchange {
        let tokens = tokens.clone();
        ok(
            self.storage
                .rotate_refresh_token(digest, at, |_| Ok(tokens))
                .await,
            "rotate_refresh_token",
        )
    }

    async fn clients_round_trip(&self) {
        const NAME: &str = "clients round trip";
        let secret = ClientSecret::generate();
        let id = fresh_id("confidential");
        let confidential = Client::confidential(&id, &secret)
            .name("Billing \"service\" é")
            .redirect_uri("https://billing.example/cb?tenant=7&x=a%20b")
            .redirect_uri("http://127.0.0.1/cb")
            .grant_types([GrantType::ClientCredentials, GrantType::AuthorizationCode])
            .allowed_scopes("invoices:read invoices:write")
            .default_scopes("invoices:read")
            .owner(OwnerId::new("dev-1"))
            .owner_only(true)
            .native(true)
            .introspects_any_token(true)
            .build()
            .unwrap_or_else(|e| panic!("{NAME}: {e}"));
        ok(self.storage.save_client(confidential.clone()).await, NAME);
        let loaded = ok(self.storage.client(&id).await, NAME);
        let loaded = loaded.unwrap_or_else(|| panic!("storage testkit, {NAME}: client not found"));
        check(
            format!("{loaded:?}") == format!("{confidential:?}"),
            NAME,
            "a client reads back with every field as saved",
        );
        check(
            loaded.verify_secret(secret.secret()) && !loaded.verify_secret("wrong"),
            NAME,
            "a client's secret digest reads back",
        );

        let replacement = Client::public(&id)
            .redirect_uri("https://other.example/cb")
            .build()
            .unwrap_or_else(|e| panic!("{NAME}: {e}"));
        ok(self.storage.save_client(replacement.clone()).await, NAME);
        let loaded = ok(self.storage.client(&id).await, NAME);
        check(
            loaded.is_some_and(|c| format!("{c:?}") == format!("{replacement:?}")),
            NAME,
            "saving a client with a known id replaces it",
        );
        check(
            ok(self.storage.client(&fresh_id("unknown")).await, NAME).is_none(),
            NAME,
            "an unknown client id reads as None",
        );
    }

    async fn code_round_trip(&self) {
        const NAME: &str = "code round trip";
        let (digest, record) = self.saved_code(NAME).await;
        let tokens = self.tokens(record.grant, 0, true);
        let issued = tokens.clone();
        let mut seen = None;
        let outcome = ok(
            self.storage
                .redeem_code(&digest, self.now, |r| {
                    seen = Some(r.clone());
                    Ok(issued)
                })
                .await,
            NAME,
        );
        check(
            seen.as_ref() == Some(&record),
            NAME,
            "redeem_code hands exchange the code record as saved",
        );
        check(outcome == Exchange::Issued, NAME, "a live code is redeemed");
        self.assert_stored(&tokens, NAME).await;
    }

    /// Asserts that `tokens` are live, as saved.
    async fn assert_stored(&self, tokens: &NewTokens, name: &str) {
        check(
            self.access(&tokens.access.digest, self.now, name).await
                == Some(tokens.access.record.clone()),
            name,
            "the access token reads back as saved",
        );
        if let Some(refresh) = &tokens.refresh {
            check(
                self.refresh(&refresh.digest, self.now, name).await == Some(refresh.record.clone()),
                name,
                "the refresh token reads back as saved",
            );
        }
    }

    /// Asserts that no token of `tokens` is live.
    async fn assert_gone(&self, tokens: &NewTokens, name: &str, rule: &str) {
        check(
            self.access(&tokens.access.digest, self.now, name)
                .await
                .is_none(),
            name,
            rule,
        );
        if let Some(refresh) = &tokens.refresh {
            check(
                self.refresh(&refresh.digest, self.now, name)
                    .await
                    .is_none(),
                name,
                rule,
            );
        }
    }

    async fn code_expiry(&self) {
        const NAME: &str = "code expiry";
        let (digest, record) = self.saved_code(NAME).await;
        let tokens = self.tokens(record.grant, 0, false);
        let outcome = ok(
            self.storage
                .redeem_code(&digest, record.expires_at, |_| {
                    panic!("storage testkit, {NAME}: exchange ran on an expired code")
                })
                .await,
            NAME,
        );
        check(
            outcome == Exchange::Unknown,
            NAME,
            "a code is dead at its expires_at",
        );
        let before = Timestamp::from_secs(record.expires_at.as_secs() - 1);
        check(
            matches!(
                self.redeem(&digest, before, &tokens).await,
                Exchange::Issued
            ),
            NAME,
            "a code is live until its expires_at",
        );
        let unknown = AuthorizationCode::generate().digest();
        check(
            self.redeem(&unknown, self.now, &tokens).await == Exchange::Unknown,
            NAME,
            "a code never issued is Unknown",
        );
    }

    // C-TK-5: a code is redeemed once; a second presentation is a replay naming its grant.
    async fn code_is_redeemed_once(&self) {
        const NAME: &str = "code redeemed once (C-TK-5)";
        let (digest, record, tokens) = self.redeemed_code(NAME).await;
        let again = self.tokens(record.grant, 1, true);
        let outcome = ok(
            self.storage
                .redeem_code(&digest, self.at(1), |_| {
                    panic!("storage testkit, {NAME}: exchange ran on a redeemed code")
                })
                .await,
            NAME,
        );
        check(
            outcome == Exchange::Replayed(record.grant),
            NAME,
            "a redeemed code is Replayed with its grant, without running exchange",
        );
        self.assert_gone(&again, NAME, "a replay stores nothing")
            .await;
        self.assert_stored(&tokens, NAME).await;

        // After the code's own expiry its tokens still live, so a replay must still be seen.
        let late = self.at(CODE_LIFETIME + 1);
        ok(self.storage.purge_expired(late).await, NAME);
        let outcome = ok(
            self.storage
                .redeem_code(&digest, late, |_| {
                    panic!("storage testkit, {NAME}: exchange ran on a redeemed code")
                })
                .await,
            NAME,
        );
        check(
            outcome == Exchange::Replayed(record.grant),
            NAME,
            "a redeemed code is kept, and Replayed, as long as its tokens live (past its own expiry \
             and purge_expired)",
        );
    }

    // C-TK-5: a refused redemption spends the code all the same.
    async fn refused_code_is_spent(&self) {
        const NAME: &str = "refused code is spent (C-TK-5)";
        let (digest, record) = self.saved_code(NAME).await;
        let refusal = OAuthError::invalid_grant("code_verifier is invalid");
        let expected = refusal.clone();
        let outcome = ok(
            self.storage
                .redeem_code(&digest, self.now, |_| Err(refusal))
                .await,
            NAME,
        );
        check(
            outcome == Exchange::Refused(expected),
            NAME,
            "exchange's refusal is returned as Refused",
        );
        let tokens = self.tokens(record.grant, 0, false);
        check(
            self.redeem(&digest, self.now, &tokens).await == Exchange::Replayed(record.grant),
            NAME,
            "a refused code cannot be redeemed again",
        );
    }

    async fn tokens_round_trip(&self) {
        const NAME: &str = "tokens round trip";
        let tokens = self.saved_tokens(NAME).await;
        self.assert_stored(&tokens, NAME).await;
        // An app token (client credentials) has no owner and may have no scope.
        let mut app = self.tokens(GrantId::generate(), 0, false);
        app.access.record.owner = None;
        app.access.record.scope = ScopeSet::new();
        ok(self.storage.save_tokens(app.clone()).await, NAME);
        self.assert_stored(&app, NAME).await;
    }

    async fn token_expiry(&self) {
        const NAME: &str = "token expiry";
        let tokens = self.saved_tokens(NAME).await;
        let access = &tokens.access;
        let before = Timestamp::from_secs(access.record.expires_at.as_secs() - 1);
        check(
            self.access(&access.digest, before, NAME).await.is_some(),
            NAME,
            "an access token is live until its expires_at",
        );
        check(
            self.access(&access.digest, access.record.expires_at, NAME)
                .await
                .is_none(),
            NAME,
            "an access token is dead at its expires_at",
        );
        let Some(refresh) = &tokens.refresh else {
            return;
        };
        let expires_at = refresh.record.expires_at;
        check(
            self.refresh(&refresh.digest, expires_at, NAME)
                .await
                .is_none(),
            NAME,
            "a refresh token is dead at its expires_at",
        );
        let next = self.tokens(refresh.record.grant, REFRESH_LIFETIME, true);
        check(
            self.rotate(&refresh.digest, expires_at, &next).await == Exchange::Unknown,
            NAME,
            "an expired refresh token cannot be rotated",
        );
    }

    // Records are found by the digest of their secret, and only under their own kind.
    async fn lookups_by_digest_only(&self) {
        const NAME: &str = "lookups by digest only";
        let access = AccessToken::generate();
        let refresh = RefreshToken::generate();
        let mut tokens = self.tokens(GrantId::generate(), 0, true);
        tokens.access.digest = access.digest();
        if let Some(stored) = &mut tokens.refresh {
            stored.digest = refresh.digest();
        }
        ok(self.storage.save_tokens(tokens.clone()).await, NAME);
        check(
            self.access(&Digest::of(access.secret()), self.now, NAME)
                .await
                .is_some(),
            NAME,
            "an access token is found by the SHA-256 digest of its secret",
        );
        check(
            self.refresh(&access.digest(), self.now, NAME)
                .await
                .is_none(),
            NAME,
            "an access token is not a refresh token",
        );
        check(
            self.access(&refresh.digest(), self.now, NAME)
                .await
                .is_none(),
            NAME,
            "a refresh token is not an access token",
        );
        let code = self.tokens(GrantId::generate(), 0, false);
        check(
            self.redeem(&access.digest(), self.now, &code).await == Exchange::Unknown,
            NAME,
            "an access token is not a code",
        );
        check(
            self.rotate(&access.digest(), self.now, &code).await == Exchange::Unknown,
            NAME,
            "an access token cannot be rotated",
        );
        self.assert_stored(&tokens, NAME).await;
    }

    // C-TK-11: each use of a refresh token rotates it; the rotated one is a replay.
    async fn refresh_rotation(&self) {
        const NAME: &str = "refresh rotation (C-TK-11)";
        let first = self.saved_tokens(NAME).await;
        let Some(old) = &first.refresh else { return };
        let grant = old.record.grant;
        let second = self.tokens(grant, 10, true);
        let mut seen = None;
        let issued = second.clone();
        let outcome = ok(
            self.storage
                .rotate_refresh_token(&old.digest, self.at(10), |r| {
                    seen = Some(r.clone());
                    Ok(issued)
                })
                .await,
            NAME,
        );
        check(
            seen.as_ref() == Some(&old.record),
            NAME,
            "rotate_refresh_token hands exchange the refresh-token record",
        );
        check(
            outcome == Exchange::Issued,
            NAME,
            "a live refresh token is exchanged",
        );
        check(
            self.refresh(&old.digest, self.at(10), NAME).await.is_none(),
            NAME,
            "a rotated refresh token is no longer live",
        );
        self.assert_stored(&second, NAME).await;
        let third = self.tokens(grant, 20, true);
        check(
            self.rotate(&old.digest, self.at(20), &third).await == Exchange::Replayed(grant),
            NAME,
            "a rotated refresh token presented again is Replayed with its grant",
        );
        self.assert_gone(&third, NAME, "a replay stores nothing")
            .await;
    }

    async fn refresh_refusal_changes_nothing(&self) {
        const NAME: &str = "refused refresh changes nothing";
        let tokens = self.saved_tokens(NAME).await;
        let Some(refresh) = &tokens.refresh else {
            return;
        };
        let outcome = ok(
            self.storage
                .rotate_refresh_token(&refresh.digest, self.now, |_| {
                    Err(OAuthError::new(ErrorCode::InvalidScope))
                })
                .await,
            NAME,
        );
        check(
            outcome == Exchange::Refused(OAuthError::new(ErrorCode::InvalidScope)),
            NAME,
            "exchange's refusal is returned as Refused",
        );
        self.assert_stored(&tokens, NAME).await;
    }

    async fn refresh_without_new_refresh_token(&self) {
        const NAME: &str = "refresh without rotation";
        let tokens = self.saved_tokens(NAME).await;
        let Some(refresh) = &tokens.refresh else {
            return;
        };
        let next = self.tokens(refresh.record.grant, 5, false);
        check(
            matches!(
                self.rotate(&refresh.digest, self.at(5), &next).await,
                Exchange::Issued
            ),
            NAME,
            "an exchange without a new refresh token succeeds",
        );
        check(
            self.refresh(&refresh.digest, self.at(5), NAME)
                .await
                .is_some(),
            NAME,
            "a refresh token stays live when no new one replaces it",
        );
        self.assert_stored(&next, NAME).await;
    }

    async fn revoke_access_token(&self) {
        const NAME: &str = "revoke access token";
        let tokens = self.saved_tokens(NAME).await;
        let other = self.saved_tokens(NAME).await;
        ok(
            self.storage
                .revoke_access_token(&tokens.access.digest)
                .await,
            NAME,
        );
        check(
            self.access(&tokens.access.digest, self.now, NAME)
                .await
                .is_none(),
            NAME,
            "a revoked access token is dead",
        );
        if let Some(refresh) = &tokens.refresh {
            check(
                self.refresh(&refresh.digest, self.now, NAME)
                    .await
                    .is_some(),
                NAME,
                "revoking an access token leaves its refresh token",
            );
        }
        self.assert_stored(&other, NAME).await;
        ok(
            self.storage
                .revoke_access_token(&AccessToken::generate().digest())
                .await,
            NAME,
        );
    }

    // C-TK-5, C-TK-11: revoking a grant revokes its code and its whole token family.
    async fn revoke_grant(&self) {
        const NAME: &str = "revoke grant (C-TK-5, C-TK-11)";
        let (digest, record, first) = self.redeemed_code(NAME).await;
        let grant = record.grant;
        let Some(old) = &first.refresh else { return };
        let second = self.tokens(grant, 1, true);
        check(
            matches!(
                self.rotate(&old.digest, self.at(1), &second).await,
                Exchange::Issued
            ),
            NAME,
            "the refresh token is rotated",
        );
        let bystander = self.saved_tokens(NAME).await;
        ok(self.storage.revoke_grant(&grant).await, NAME);
        let rule = "every token of a revoked grant is dead";
        self.assert_gone(&first, NAME, rule).await;
        self.assert_gone(&second, NAME, rule).await;
        check(
            self.redeem(&digest, self.now, &first).await == Exchange::Unknown,
            NAME,
            "the code of a revoked grant is Unknown",
        );
        if let Some(refresh) = &second.refresh {
            let third = self.tokens(grant, 2, true);
            check(
                self.rotate(&refresh.digest, self.at(2), &third).await == Exchange::Unknown,
                NAME,
                "a refresh token of a revoked grant cannot be exchanged",
            );
        }
        self.assert_stored(&bystander, NAME).await;
        ok(self.storage.revoke_grant(&GrantId::generate()).await, NAME);
    }

    async fn revoked_grant_takes_no_tokens(&self) {
        const NAME: &str = "revoked grant takes no tokens";
        let (_, record, _) = self.redeemed_code(NAME).await;
        let grant = record.grant;
        ok(self.storage.revoke_grant(&grant).await, NAME);
        let late = self.tokens(grant, 1, true);
        ok(self.storage.save_tokens(late.clone()).await, NAME);
        self.assert_gone(&late, NAME, "tokens stored for a revoked grant are refused")
            .await;
        let late_code = AuthorizationCode::generate().digest();
        ok(
            self.storage.save_code(late_code, record.clone()).await,
            NAME,
        );
        check(
            self.redeem(&late_code, self.now, &late).await == Exchange::Unknown,
            NAME,
            "a code stored for a revoked grant is refused",
        );
    }

    // C-SE-4, C-TK-5: of many concurrent redemptions of one code, exactly one succeeds.
    async fn concurrent_code_redemption(&self) {
        const NAME: &str = "concurrent code redemption (C-SE-4)";
        let (digest, record) = self.saved_code(NAME).await;
        let exchanges = Arc::new(AtomicUsize::new(0));
        let outcomes = self
            .race(|storage, i| {
                let tokens = self.tokens(record.grant, 0, true);
                let exchanges = exchanges.clone();
                let now = self.now;
                async move {
                    let result = storage
                        .redeem_code(&digest, now, move |_| {
                            exchanges.fetch_add(1, Ordering::SeqCst);
                            Ok(tokens)
                        })
                        .await;
                    (i, result)
                }
            })
            .await;
        self.assert_one_winner(&outcomes, record.grant, &exchanges, NAME);
    }

    // C-SE-4, C-TK-11: of many concurrent exchanges of one refresh token, exactly one succeeds.
    async fn concurrent_refresh_rotation(&self) {
        const NAME: &str = "concurrent refresh rotation (C-SE-4)";
        let tokens = self.saved_tokens(NAME).await;
        let Some(refresh) = tokens.refresh else {
            return;
        };
        let grant = refresh.record.grant;
        let exchanges = Arc::new(AtomicUsize::new(0));
        let outcomes = self
            .race(|storage, i| {
                let next = self.tokens(grant, 1, true);
                let exchanges = exchanges.clone();
                let at = self.at(1);
                let digest = refresh.digest;
                async move {
                    let result = storage
                        .rotate_refresh_token(&digest, at, move |_| {
                            exchanges.fetch_add(1, Ordering::SeqCst);
                            Ok(next)
                        })
                        .await;
                    (i, result)
                }
            })
            .await;
        self.assert_one_winner(&outcomes, grant, &exchanges, NAME);
    }

    /// Spawns [`RACERS`] tasks made by `task` at once and collects their outcomes.
    async fn race<F, Fut>(&self, task: F) -> Vec<Exchange>
    where
        F: Fn(Arc<S>, usize) -> Fut,
        Fut: Future<Output = (usize, Result<Exchange, crate::Error>)> + Send + 'static,
    {
        let start = Arc::new(tokio::sync::Barrier::new(RACERS));
        let handles: Vec<_> = (0..RACERS)
            .map(|i| {
                let start = start.clone();
                let run = task(self.storage.clone(), i);
                tokio::spawn(async move {
                    start.wait().await;
                    run.await
                })
            })
            .collect();
        let mut outcomes = Vec::with_capacity(RACERS);
        for handle in handles {
            let (_, result) = handle
                .await
                .unwrap_or_else(|e| panic!("storage testkit: a racing task panicked: {e}"));
            outcomes.push(ok(result, "race"));
        }
        outcomes
    }

    fn assert_one_winner(
        &self,
        outcomes: &[Exchange],
        grant: GrantId,
        exchanges: &AtomicUsize,
        name: &str,
    ) {
        let winners = outcomes
            .iter()
            .filter(|o| matches!(o, Exchange::Issued))
            .count();
        check(winners == 1, name, "exactly one racer succeeds");
        check(
            outcomes
                .iter()
                .all(|o| matches!(o, Exchange::Issued) || *o == Exchange::Replayed(grant)),
            name,
            "every other racer sees a replay of the grant",
        );
        check(
            exchanges.load(Ordering::SeqCst) == 1,
            name,
            "exchange runs exactly once",
        );
    }

    // C-TK-5: an exchange racing with the revocation of its grant never leaves live tokens.
    async fn revocation_racing_exchanges(&self) {
        const NAME: &str = "revocation racing exchanges";
        for round in 0..RACERS {
            // Even rounds race a code redemption, odd rounds a refresh rotation.
            let (grant, tokens, exchange) = if round % 2 == 0 {
                let (digest, record) = self.saved_code(NAME).await;
                let tokens = self.tokens(record.grant, 0, true);
                let (storage, issued, now) = (self.storage.clone(), tokens.clone(), self.now);
                let task =
                    tokio::spawn(
                        async move { storage.redeem_code(&digest, now, |_| Ok(issued)).await },
                    );
                (record.grant, tokens, task)
            } else {
                let first = self.saved_tokens(NAME).await;
                let grant = first.grant();
                let digest = first
                    .refresh
                    .as_ref()
                    .map_or(first.access.digest, |r| r.digest);
                let tokens = self.tokens(grant, 1, true);
                let (storage, issued, at) = (self.storage.clone(), tokens.clone(), self.at(1));
                let task = tokio::spawn(async move {
                    storage
                        .rotate_refresh_token(&digest, at, |_| Ok(issued))
                        .await
                });
                (grant, tokens, task)
            };
            let revoke = {
                let storage = self.storage.clone();
                tokio::spawn(async move { storage.revoke_grant(&grant).await })
            };
            let exchanged = exchange
                .await
                .unwrap_or_else(|e| panic!("storage testkit, {NAME}: task panicked: {e}"));
            let revoked = revoke
                .await
                .unwrap_or_else(|e| panic!("storage testkit, {NAME}: task panicked: {e}"));
            ok(exchanged, NAME);
            ok(revoked, NAME);
            self.assert_gone(
                &tokens,
                NAME,
                "no token of a grant survives its revocation, however the two interleave",
            )
            .await;
        }
    }

    async fn purge_expired(&self) {
        const NAME: &str = "purge expired";
        let live = self.tokens(GrantId::generate(), 100_000, true);
        ok(self.storage.save_tokens(live.clone()).await, NAME);
        let expired = self.tokens(GrantId::generate(), 0, true);
        ok(self.storage.save_tokens(expired.clone()).await, NAME);
        let (code, _) = self.saved_code(NAME).await;
        let later = self.at(REFRESH_LIFETIME);
        let purged = ok(self.storage.purge_expired(later).await, NAME);
        // At least the expired code, access token and refresh token.
        check(purged >= 3, NAME, "purge_expired counts what it deleted");
        let check_live = |record: &TokenRecord| record.expires_at > later;
        check(
            self.access(&live.access.digest, later, NAME)
                .await
                .is_some_and(|r| check_live(&r)),
            NAME,
            "purge_expired keeps live access tokens",
        );
        if let Some(refresh) = &live.refresh {
            check(
                self.refresh(&refresh.digest, later, NAME).await.is_some(),
                NAME,
                "purge_expired keeps live refresh tokens",
            );
        }
        let tokens = self.tokens(GrantId::generate(), 0, false);
        check(
            self.redeem(&code, self.now, &tokens).await == Exchange::Unknown,
            NAME,
            "purge_expired deletes expired codes",
        );
        check(
            self.access(&expired.access.digest, self.now, NAME)
                .await
                .is_none(),
            NAME,
            "purge_expired deletes expired access tokens",
        );
        check(
            ok(self.storage.purge_expired(later).await, NAME) == 0,
            NAME,
            "a second purge at the same time finds nothing",
        );
    }
}
