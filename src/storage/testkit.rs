//! The storage conformance suite: one call, [`run`], checks that a [`Storage`] implementation
//! keeps the whole contract of the [module docs](super): round trips of every record, the
//! exactly-once [`exchange`](super::TokenStore::exchange) step in every state a record can be in
//! (as codes, refresh tokens and an extension's own records use it), retention of spent
//! records for replay detection, grant revocation (also against exchanges racing with it),
//! lookups by kind and digest only, purging, and concurrency. [`client_deletion`] checks that
//! deleting a client revokes what it was issued; [`replay_cache`] checks a
//! [`ReplayCache`].
//!
//! Every grantor backend passes it; write your own backend, then run it in a test:
//!
//! ```
//! use grantor::MemoryStorage;
//!
//! #[tokio::test(flavor = "multi_thread")]
//! async fn my_storage_keeps_the_contract() {
//!     grantor::storage::testkit::run(MemoryStorage::new()).await;
//!     grantor::storage::testkit::replay_cache(MemoryStorage::new()).await;
//! }
//! # fn main() {}
//! ```
//!
//! The suite panics with the name of the failed check, like a failed assertion. It needs a
//! Tokio runtime (the concurrency checks spawn tasks; a multi-threaded runtime makes their races
//! real). It adds records under fresh random ids, but it also calls
//! [`purge_expired`](super::TokenStore::purge_expired) for a time a day ahead, which deletes whatever else expires
//! before then: give it a database (or schema) of its own.
//!
//! The checks cite the CONFORMANCE ids they prove: C-SE-1 (digests only), C-SE-4 (exactly
//! one winner), C-TK-5 (codes once) and C-TK-11 (refresh rotation and family revocation).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use super::{
    Actor, CodeRecord, Consent, ConsentStore, Decision, Exchange, ExchangeKind, ExchangeRecord,
    KeyRecord, KeyStore, NewTokens, OpenIdContext, RecordData, ReplayCache, Storage, StoredRecord,
    StoredToken, TokenRecord,
};
use crate::authenticator::OwnerId;
use crate::client::{Client, ClientId, GrantType, ResponseType};
use crate::error::{ErrorCode, OAuthError};
use crate::pkce::CodeChallenge;
use crate::scope::ScopeSet;
use crate::time::{Clock, SystemClock, Timestamp};
use crate::token::{
    AccessToken, AuthorizationCode, ClientSecret, Confirmation, Digest, GrantId, RefreshToken,
};

/// How many tasks race in the concurrency checks.
const RACERS: usize = 16;
const CODE_LIFETIME: u64 = 60;
const ACCESS_LIFETIME: u64 = 3_600;
const REFRESH_LIFETIME: u64 = 86_400;

/// An extension's kind of record, which no backend knows in advance (a device code, say).
const POLLED: ExchangeKind = ExchangeKind::new("testkit_polled");

/// An extension's record data: a device-code-like state that polling updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Polled {
    client_id: ClientId,
    polls: u32,
    approved_by: Option<OwnerId>,
    note: String,
}

/// Runs every check against `storage`; panics on the first broken rule.
pub async fn run<S: Storage>(storage: S) {
    let kit = Kit {
        storage: Arc::new(storage),
        now: SystemClock.now(),
    };
    kit.clients_round_trip().await;
    kit.records_round_trip().await;
    kit.extension_records_round_trip().await;
    kit.exchange_sees_every_state().await;
    kit.code_is_redeemed_once().await;
    kit.refused_code_is_spent().await;
    kit.tokens_round_trip().await;
    kit.token_expiry().await;
    kit.lookups_by_kind_and_digest_only().await;
    kit.refresh_rotation().await;
    kit.refusal_changes_nothing().await;
    kit.refresh_without_new_refresh_token().await;
    kit.updates_persist().await;
    kit.revoke_access_token().await;
    kit.revoke_grant().await;
    kit.revoked_grant_takes_nothing().await;
    kit.concurrent_redemption().await;
    kit.concurrent_updates().await;
    kit.revocation_racing_exchanges().await;
    kit.purge_expired().await;
}

/// Checks a [`ReplayCache`]: a key's first use is told from a replay while it lives, it may be
/// used again once expired, keys do not affect each other, and of many racing first uses of
/// one key exactly one wins. Panics on the first broken rule.
pub async fn replay_cache<C: ReplayCache>(cache: C) {
    const NAME: &str = "replay cache";
    let now = SystemClock.now();
    let at = move |secs: u64| Timestamp::from_secs(now.as_secs() + secs);
    let key = Digest::of(&fresh_id("jti"));
    let other = Digest::of(&fresh_id("jti"));
    check(
        ok(cache.first_use(&key, at(300), now).await, NAME),
        NAME,
        "a new key's first use is told as such",
    );
    check(
        !ok(cache.first_use(&key, at(300), at(299)).await, NAME),
        NAME,
        "a key used before and still live is a replay",
    );
    check(
        ok(cache.first_use(&other, at(300), now).await, NAME),
        NAME,
        "keys do not affect each other",
    );
    check(
        ok(cache.first_use(&key, at(600), at(300)).await, NAME),
        NAME,
        "an expired key may be used again",
    );
    check(
        !ok(cache.first_use(&key, at(600), at(301)).await, NAME),
        NAME,
        "a key used again is remembered until its new expiry",
    );
    // C-SE-4: of many racing first uses of one key, exactly one is told first.
    let cache = Arc::new(cache);
    let racing = Digest::of(&fresh_id("jti"));
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let handles: Vec<_> = (0..RACERS)
        .map(|_| {
            let (cache, start) = (cache.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                cache.first_use(&racing, at(300), now).await
            })
        })
        .collect();
    let mut firsts = 0;
    for handle in handles {
        let first = handle
            .await
            .unwrap_or_else(|e| panic!("storage testkit, {NAME}: task panicked: {e}"));
        firsts += usize::from(ok(first, NAME));
    }
    check(
        firsts == 1,
        NAME,
        "of racing first uses of one key, exactly one wins",
    );
}

/// Checks [`ClientStore::delete_client`](super::ClientStore::delete_client) (C-DR-2): the
/// client is gone; its access tokens, refresh tokens, spent and live codes and an extension's
/// records naming it are revoked with their grants, which take nothing more; another client's
/// tokens stay; deleting again answers `false`. Panics on the first broken rule.
pub async fn client_deletion<S: Storage>(storage: S) {
    const NAME: &str = "client deletion (C-DR-2)";
    let kit = Kit {
        storage: Arc::new(storage),
        now: SystemClock.now(),
    };
    let storage = &kit.storage;
    let id = client_id();
    let client = Client::public(id.as_str())
        .redirect_uri("https://app.example/cb")
        .build()
        .unwrap_or_else(|e| panic!("{NAME}: {e}"));
    ok(storage.save_client(client).await, NAME);
    let other = client_id();
    let bystander = Client::public(other.as_str())
        .redirect_uri("https://other.example/cb")
        .build()
        .unwrap_or_else(|e| panic!("{NAME}: {e}"));
    ok(storage.save_client(bystander).await, NAME);

    // A redeemed code with its tokens, a pending code, an app token, an extension's record.
    let grant = GrantId::generate();
    let spent_code = AuthorizationCode::generate().digest();
    let code = kit.code_for(grant, &id).into_exchange_record();
    ok(storage.save_record(spent_code, code, kit.now).await, NAME);
    let issued = kit.tokens_for(grant, &id, 0, true);
    check(
        kit.redeem(&spent_code, kit.now, &issued).await == Exchange::Issued,
        NAME,
        "a live code is redeemed",
    );
    let pending_code = AuthorizationCode::generate().digest();
    let pending = kit
        .code_for(GrantId::generate(), &id)
        .into_exchange_record();
    ok(
        storage.save_record(pending_code, pending, kit.now).await,
        NAME,
    );
    let app = kit.tokens_for(GrantId::generate(), &id, 0, false);
    kit.save(&app, NAME).await;
    let polled_digest = Digest::of(&fresh_id("device-code"));
    let polled = Polled {
        client_id: id.clone(),
        polls: 0,
        approved_by: None,
        note: String::new(),
    };
    let polled = ExchangeRecord::new(
        POLLED,
        GrantId::generate(),
        kit.at(600),
        RecordData::new(polled),
    );
    ok(
        storage.save_record(polled_digest, polled, kit.now).await,
        NAME,
    );
    let kept = kit.tokens_for(GrantId::generate(), &other, 0, true);
    kit.save(&kept, NAME).await;

    check(
        ok(storage.delete_client(id.as_str()).await, NAME),
        NAME,
        "deleting a registered client answers true",
    );
    check(
        ok(storage.client(id.as_str()).await, NAME).is_none(),
        NAME,
        "a deleted client is gone",
    );
    let rule = "every token issued to a deleted client is dead";
    kit.assert_gone(&issued, NAME, rule).await;
    kit.assert_gone(&app, NAME, rule).await;
    for (kind, digest) in [
        (ExchangeKind::CODE, &pending_code),
        (ExchangeKind::CODE, &spent_code),
        (POLLED, &polled_digest),
    ] {
        check(
            kit.record(kind, digest, NAME).await.is_none(),
            NAME,
            "every record issued to a deleted client is gone",
        );
    }
    let late = kit.tokens_for(grant, &id, 1, true);
    check(
        !ok(storage.save_tokens(late).await, NAME),
        NAME,
        "the grants of a deleted client take no more tokens",
    );
    kit.assert_stored(&kept, NAME).await;
    check(
        ok(storage.client(other.as_str()).await, NAME).is_some(),
        NAME,
        "other clients stay",
    );
    check(
        !ok(storage.delete_client(id.as_str()).await, NAME),
        NAME,
        "deleting an unknown client answers false",
    );
}

/// Checks a [`KeyStore`]: keys round-trip with every field, saving a `kid` again replaces
/// the key, and deleting removes it, leaving the others. Panics on the first broken rule.
pub async fn key_store<K: KeyStore>(store: K) {
    const NAME: &str = "key store";
    let now = SystemClock.now();
    let kid = fresh_id("kid");
    let mut key = KeyRecord::new(&kid, "ES256", r#"{"kty":"EC","d":"s3cr3t"}"#, now, now);
    ok(store.save_key(key.clone()).await, NAME);
    let other = KeyRecord::new(fresh_id("kid"), "RS256", "{}", now, now);
    ok(store.save_key(other.clone()).await, NAME);
    let find = |keys: Vec<KeyRecord>, kid: &str| keys.into_iter().find(|k| k.kid == kid);
    check(
        find(ok(store.keys().await, NAME), &kid).as_ref() == Some(&key),
        NAME,
        "a key reads back as saved",
    );
    key.retires_at = Some(Timestamp::from_secs(now.as_secs() + 60));
    key.removed_at = Some(Timestamp::from_secs(now.as_secs() + 120));
    ok(store.save_key(key.clone()).await, NAME);
    let keys = ok(store.keys().await, NAME);
    check(
        keys.iter().filter(|k| k.kid == kid).count() == 1,
        NAME,
        "saving a kid again replaces its key",
    );
    check(
        find(keys, &kid).as_ref() == Some(&key),
        NAME,
        "a key's new retirement reads back",
    );
    check(
        !format!("{key:?}").contains("s3cr3t"),
        NAME,
        "a key's Debug hides its private key (C-KY-3)",
    );
    ok(store.delete_key(&kid).await, NAME);
    let keys = ok(store.keys().await, NAME);
    check(
        find(keys.clone(), &kid).is_none(),
        NAME,
        "a deleted key is gone",
    );
    check(
        find(keys, &other.kid).is_some(),
        NAME,
        "deleting a key leaves the others",
    );
    ok(store.delete_key(&other.kid).await, NAME);
    ok(store.delete_key("never-saved").await, NAME);
}

/// Checks a [`ConsentStore`]: consent round-trips and is replaced per owner and client, grants
/// are recorded and returned once when the pair is forgotten, and pairs do not affect each
/// other. Panics on the first broken rule.
pub async fn consent_store<C: ConsentStore>(store: C) {
    const NAME: &str = "consent store";
    let now = SystemClock.now();
    let at = |secs: u64| Timestamp::from_secs(now.as_secs() + secs);
    let (owner, other_owner) = (
        OwnerId::new(fresh_id("owner")),
        OwnerId::new(fresh_id("owner")),
    );
    let client = client_id();
    check(
        ok(store.consent(&owner, &client).await, NAME).is_none(),
        NAME,
        "no consent is remembered at first",
    );
    let first = Consent::new(
        owner.clone(),
        client.clone(),
        scope("openid profile"),
        now,
        None,
    );
    ok(store.save_consent(first.clone()).await, NAME);
    check(
        ok(store.consent(&owner, &client).await, NAME).as_ref() == Some(&first),
        NAME,
        "a consent reads back as saved",
    );
    let wider = Consent::new(
        owner.clone(),
        client.clone(),
        scope("email openid profile"),
        at(5),
        Some(at(3_600)),
    )
    .for_resources(vec![
        "https://api.example/mail".to_owned(),
        "https://api.example/files".to_owned(),
    ]);
    ok(store.save_consent(wider.clone()).await, NAME);
    check(
        ok(store.consent(&owner, &client).await, NAME).as_ref() == Some(&wider),
        NAME,
        "saving a pair's consent again replaces it, its resources too",
    );
    check(
        ok(store.consent(&other_owner, &client).await, NAME).is_none(),
        NAME,
        "another owner's consent is another's",
    );
    let (g1, g2, g3) = (
        GrantId::generate(),
        GrantId::generate(),
        GrantId::generate(),
    );
    for (who, grant) in [(&owner, g1), (&owner, g2), (&owner, g1), (&other_owner, g3)] {
        ok(store.record_grant(who, &client, grant).await, NAME);
    }
    let mut grants = ok(store.forget(&owner, &client).await, NAME);
    grants.sort();
    let mut expected = vec![g1, g2];
    expected.sort();
    check(
        grants == expected,
        NAME,
        "forgetting a pair returns its grants, each once",
    );
    check(
        ok(store.consent(&owner, &client).await, NAME).is_none(),
        NAME,
        "a forgotten pair's consent is gone",
    );
    check(
        ok(store.forget(&owner, &client).await, NAME).is_empty(),
        NAME,
        "a forgotten pair's grants are returned once",
    );
    check(
        ok(store.forget(&other_owner, &client).await, NAME) == vec![g3],
        NAME,
        "pairs do not affect each other",
    );
}

struct Kit<S> {
    storage: Arc<S>,
    now: Timestamp,
}

/// A fresh, random id (so that runs on a shared database do not collide).
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

/// The decision a code's redemption makes: spent whatever happens, a replay once spent.
fn redeem_once(record: &ExchangeRecord, now: Timestamp, tokens: NewTokens) -> Decision {
    if record.spent {
        return Decision::replay();
    }
    if !record.is_live(now) {
        return Decision::refuse(OAuthError::invalid_grant("expired"));
    }
    let kept = tokens.expires_at();
    Decision::issue(tokens).with_record(record.spend(kept))
}

impl<S: Storage> Kit<S> {
    fn at(&self, secs: u64) -> Timestamp {
        Timestamp::from_secs(self.now.as_secs() + secs)
    }

    fn code(&self, grant: GrantId) -> CodeRecord {
        self.code_for(grant, &client_id())
    }

    fn code_for(&self, grant: GrantId, client_id: &ClientId) -> CodeRecord {
        let mut code = CodeRecord::new(
            grant,
            client_id.clone(),
            OwnerId::new(fresh_id("owner")),
            "https://app.example/cb?x=1 y",
            scope("read messages:net.app.core.pm"),
            self.now,
            self.at(CODE_LIFETIME),
        );
        code.challenge = Some(CodeChallenge::s256(
            "a-long-random-verifier-of-at-least-43-characters",
        ));
        code
    }

    /// Tokens of `grant` issued at `now + offset`, with a refresh token if asked.
    fn tokens(&self, grant: GrantId, offset: u64, refresh: bool) -> NewTokens {
        self.tokens_for(grant, &client_id(), offset, refresh)
    }

    /// As [`tokens`](Self::tokens), issued to `client_id`.
    fn tokens_for(
        &self,
        grant: GrantId,
        client_id: &ClientId,
        offset: u64,
        refresh: bool,
    ) -> NewTokens {
        let record = |lifetime| {
            TokenRecord::new(
                grant,
                client_id.clone(),
                Some(OwnerId::new("alice")),
                scope("read write"),
                self.at(offset),
                self.at(offset + lifetime),
            )
        };
        let refresh = refresh.then(|| {
            let record = record(REFRESH_LIFETIME);
            StoredRecord::new(
                RefreshToken::generate().digest(),
                ExchangeRecord::new(
                    ExchangeKind::REFRESH_TOKEN,
                    grant,
                    record.expires_at,
                    RecordData::new(record),
                ),
            )
        });
        NewTokens::new(
            StoredToken::new(AccessToken::generate().digest(), record(ACCESS_LIFETIME)),
            refresh,
        )
    }

    /// Saves a fresh code; returns its digest and record.
    async fn saved_code(&self, name: &str) -> (Digest, ExchangeRecord) {
        let digest = AuthorizationCode::generate().digest();
        let record = self.code(GrantId::generate()).into_exchange_record();
        ok(
            self.storage
                .save_record(digest, record.clone(), self.now)
                .await,
            name,
        );
        (digest, record)
    }

    /// Saves a fresh code and redeems it; returns its digest, its record and the tokens issued.
    async fn redeemed_code(&self, name: &str) -> (Digest, ExchangeRecord, NewTokens) {
        let (digest, record) = self.saved_code(name).await;
        let tokens = self.tokens(record.grant, 0, true);
        check(
            self.redeem(&digest, self.now, &tokens).await == Exchange::Issued,
            name,
            "a live code is redeemed",
        );
        (digest, record, tokens)
    }

    /// Saves tokens (with a refresh token) of a fresh grant.
    async fn saved_tokens(&self, name: &str) -> NewTokens {
        let tokens = self.tokens(GrantId::generate(), 0, true);
        self.save(&tokens, name).await;
        tokens
    }

    /// Saves tokens of a live grant, checking that storage says it kept them.
    async fn save(&self, tokens: &NewTokens, name: &str) {
        check(
            ok(self.storage.save_tokens(tokens.clone()).await, name),
            name,
            "save_tokens says it stored the tokens of a live grant",
        );
    }

    async fn access(&self, digest: &Digest, at: Timestamp, name: &str) -> Option<TokenRecord> {
        ok(self.storage.access_token(digest, at).await, name).map(Arc::unwrap_or_clone)
    }

    async fn record(
        &self,
        kind: ExchangeKind,
        digest: &Digest,
        name: &str,
    ) -> Option<ExchangeRecord> {
        ok(self.storage.record(kind, digest).await, name)
    }

    /// Whether a refresh token is stored live at `at`.
    async fn refresh_live(&self, refresh: &StoredRecord, at: Timestamp, name: &str) -> bool {
        self.record(ExchangeKind::REFRESH_TOKEN, &refresh.digest, name)
            .await
            .is_some_and(|record| record.is_live(at))
    }

    /// Runs `decide` in an exchange of the record of `kind` under `digest`.
    async fn exchange(
        &self,
        kind: ExchangeKind,
        digest: &Digest,
        at: Timestamp,
        decide: impl FnOnce(&ExchangeRecord) -> Decision + Send,
        name: &str,
    ) -> Exchange {
        ok(self.storage.exchange(kind, digest, at, decide).await, name)
    }

    /// Redeems a code as the code grant does, issuing `tokens`.
    async fn redeem(&self, digest: &Digest, at: Timestamp, tokens: &NewTokens) -> Exchange {
        let tokens = tokens.clone();
        let decide = move |record: &ExchangeRecord| redeem_once(record, at, tokens);
        self.exchange(ExchangeKind::CODE, digest, at, decide, "redeem")
            .await
    }

    /// Rotates a refresh token as the refresh grant does, issuing `tokens`.
    async fn rotate(&self, digest: &Digest, at: Timestamp, tokens: &NewTokens) -> Exchange {
        let tokens = tokens.clone();
        let decide = move |record: &ExchangeRecord| {
            if record.spent {
                return Decision::replay();
            }
            if !record.is_live(at) {
                return Decision::refuse(OAuthError::invalid_grant("expired"));
            }
            let rotated = tokens.refresh.is_some();
            let decision = Decision::issue(tokens);
            if rotated {
                decision.with_record(record.spend(record.expires_at))
            } else {
                decision
            }
        };
        self.exchange(ExchangeKind::REFRESH_TOKEN, digest, at, decide, "rotate")
            .await
    }

    async fn clients_round_trip(&self) {
        const NAME: &str = "clients round trip";
        let secret = ClientSecret::generate();
        let id = fresh_id("confidential");
        let confidential = Client::confidential(&id, &secret)
            .name("Billing \"service\" é")
            .redirect_uri("https://billing.example/cb?tenant=7&x=a%20b")
            .redirect_uri("http://127.0.0.1/cb")
            .grant_types([
                GrantType::ClientCredentials,
                GrantType::AuthorizationCode,
                GrantType::Implicit,
                GrantType::extension("urn:example:grant-type:api-key")
                    .unwrap_or_else(|e| panic!("{NAME}: {e}")),
            ])
            .allowed_scopes("invoices:read invoices:write openid")
            .default_scopes("invoices:read")
            .owner(OwnerId::new("dev-1"))
            .owner_only(true)
            .native(true)
            .introspects_any_token(true)
            .response_types([
                ResponseType::CODE,
                ResponseType::CODE_ID_TOKEN,
                ResponseType::ID_TOKEN,
            ])
            .id_token_signed_response_alg("ES256")
            .require_auth_time(true)
            .default_max_age(std::time::Duration::from_secs(600))
            .sector_identifier("billing.example")
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

    async fn records_round_trip(&self) {
        const NAME: &str = "records round trip";
        let (digest, record) = self.saved_code(NAME).await;
        check(
            self.record(ExchangeKind::CODE, &digest, NAME)
                .await
                .as_ref()
                == Some(&record),
            NAME,
            "a record reads back as saved",
        );
        let mut seen = None;
        let tokens = self.tokens(record.grant, 0, true);
        let now = self.now;
        let outcome = self
            .exchange(
                ExchangeKind::CODE,
                &digest,
                now,
                |r| {
                    seen = Some(r.clone());
                    redeem_once(r, now, tokens.clone())
                },
                NAME,
            )
            .await;
        check(
            seen.as_ref() == Some(&record),
            NAME,
            "exchange hands the function the record as saved",
        );
        let code = seen
            .as_ref()
            .and_then(|r| r.data.get::<CodeRecord>().ok().map(|c| c.into_owned()));
        check(
            code.is_some_and(|code| record.data.get::<CodeRecord>().is_ok_and(|c| *c == code)),
            NAME,
            "a code's data reads back as the CodeRecord saved",
        );
        check(outcome == Exchange::Issued, NAME, "a live code is redeemed");
        self.assert_stored(&tokens, NAME).await;
    }

    // The primitive needs no backend code for a kind it has never seen: an extension's record
    // of its own kind and data type round-trips and exchanges like a code.
    async fn extension_records_round_trip(&self) {
        const NAME: &str = "extension records round trip";
        let digest = Digest::of(&fresh_id("device-code"));
        let data = Polled {
            client_id: client_id(),
            polls: 0,
            approved_by: None,
            note: "quote \" backslash \\ é 🔑".to_owned(),
        };
        let record = ExchangeRecord::new(
            POLLED,
            GrantId::generate(),
            self.at(600),
            RecordData::new(data.clone()),
        );
        ok(
            self.storage
                .save_record(digest, record.clone(), self.now)
                .await,
            NAME,
        );
        let loaded = self.record(POLLED, &digest, NAME).await;
        check(
            loaded.as_ref() == Some(&record),
            NAME,
            "a record of an unknown kind reads back as saved",
        );
        check(
            loaded.is_some_and(|r| r.data.get::<Polled>().is_ok_and(|d| *d == data)),
            NAME,
            "its data reads back as its own type",
        );
        check(
            self.record(ExchangeKind::CODE, &digest, NAME)
                .await
                .is_none(),
            NAME,
            "a record is not found under another kind",
        );
    }

    // The function sees the record as stored: live, expired or spent.
    async fn exchange_sees_every_state(&self) {
        const NAME: &str = "exchange sees every state";
        let (digest, record) = self.saved_code(NAME).await;
        let expired_at = record.expires_at;
        let mut seen = None;
        let outcome = self
            .exchange(
                ExchangeKind::CODE,
                &digest,
                expired_at,
                |r| {
                    seen = Some((r.spent, r.is_live(expired_at)));
                    Decision::refuse(OAuthError::invalid_grant("expired"))
                },
                NAME,
            )
            .await;
        check(
            seen == Some((false, false)),
            NAME,
            "an expired record is handed to the function, dead at its expires_at",
        );
        check(
            matches!(outcome, Exchange::Refused(_)),
            NAME,
            "a refusal is answered Refused",
        );
        let before = Timestamp::from_secs(expired_at.as_secs() - 1);
        let tokens = self.tokens(record.grant, 0, false);
        check(
            self.redeem(&digest, before, &tokens).await == Exchange::Issued,
            NAME,
            "a refusal without a new state leaves the record live until its expires_at",
        );
        let mut spent_seen = false;
        let outcome = self
            .exchange(
                ExchangeKind::CODE,
                &digest,
                self.now,
                |r| {
                    spent_seen = r.spent;
                    Decision::replay()
                },
                NAME,
            )
            .await;
        check(spent_seen, NAME, "a spent record is handed over as spent");
        check(
            outcome == Exchange::Replayed(record.grant),
            NAME,
            "a replay decision is answered Replayed with the record's grant",
        );
        let unknown = AuthorizationCode::generate().digest();
        let outcome = self
            .exchange(
                ExchangeKind::CODE,
                &unknown,
                self.now,
                |_| panic!("storage testkit, {NAME}: the function ran without a record"),
                NAME,
            )
            .await;
        check(
            outcome == Exchange::Unknown,
            NAME,
            "a digest never stored is Unknown, without running the function",
        );
    }

    // C-TK-5: a code is redeemed once; a second presentation is a replay naming its grant, for
    // as long as its tokens live.
    async fn code_is_redeemed_once(&self) {
        const NAME: &str = "code redeemed once (C-TK-5)";
        let (digest, record, tokens) = self.redeemed_code(NAME).await;
        let again = self.tokens(record.grant, 1, true);
        check(
            self.redeem(&digest, self.at(1), &again).await == Exchange::Replayed(record.grant),
            NAME,
            "a redeemed code is Replayed with its grant",
        );
        self.assert_gone(&again, NAME, "a replay stores nothing")
            .await;
        self.assert_stored(&tokens, NAME).await;

        // After the code's own expiry its tokens still live, so a replay must still be seen.
        let late = self.at(CODE_LIFETIME + 1);
        ok(self.storage.purge_expired(late).await, NAME);
        check(
            self.redeem(&digest, late, &again).await == Exchange::Replayed(record.grant),
            NAME,
            "a spent record is kept, and Replayed, until its retain_until (past its own expiry \
             and purge_expired)",
        );
    }

    // C-TK-5: a refused redemption spends the code all the same.
    async fn refused_code_is_spent(&self) {
        const NAME: &str = "refused code is spent (C-TK-5)";
        let (digest, record) = self.saved_code(NAME).await;
        let refusal = OAuthError::invalid_grant("code_verifier is invalid");
        let expected = refusal.clone();
        let outcome = self
            .exchange(
                ExchangeKind::CODE,
                &digest,
                self.now,
                |r| Decision::refuse(refusal).with_record(r.spend(r.expires_at)),
                NAME,
            )
            .await;
        check(
            outcome == Exchange::Refused(expected),
            NAME,
            "the decision's refusal is returned as Refused",
        );
        let tokens = self.tokens(record.grant, 0, false);
        check(
            self.redeem(&digest, self.now, &tokens).await == Exchange::Replayed(record.grant),
            NAME,
            "a record refused and spent cannot be redeemed again",
        );
        self.assert_gone(&tokens, NAME, "a replay stores nothing")
            .await;
    }

    /// Asserts that `tokens` are live, as saved.
    async fn assert_stored(&self, tokens: &NewTokens, name: &str) {
        check(
            self.access(&tokens.access.digest, self.now, name).await
                == Some(TokenRecord::clone(&tokens.access.record)),
            name,
            "the access token reads back as saved",
        );
        if let Some(refresh) = &tokens.refresh {
            let stored = self
                .record(ExchangeKind::REFRESH_TOKEN, &refresh.digest, name)
                .await;
            check(
                stored.as_ref() == Some(&refresh.record),
                name,
                "the refresh token reads back as saved",
            );
            check(
                stored.is_some_and(|r| {
                    r.data.get::<TokenRecord>().is_ok_and(|t| {
                        refresh
                            .record
                            .data
                            .get::<TokenRecord>()
                            .is_ok_and(|saved| *t == *saved)
                    })
                }),
                name,
                "the refresh token's data reads back as the TokenRecord saved",
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
                !self.refresh_live(refresh, self.now, name).await,
                name,
                rule,
            );
        }
    }

    async fn tokens_round_trip(&self) {
        const NAME: &str = "tokens round trip";
        let tokens = self.saved_tokens(NAME).await;
        self.assert_stored(&tokens, NAME).await;
        // An app token (client credentials) has no owner and may have no scope.
        let mut app = self.tokens(GrantId::generate(), 0, false);
        let record = Arc::make_mut(&mut app.access.record);
        record.owner = None;
        record.scope = ScopeSet::new();
        self.save(&app, NAME).await;
        self.assert_stored(&app, NAME).await;
        // A token bound to a key keeps its binding (and so its type).
        let mut bound = self.tokens(GrantId::generate(), 0, false);
        let thumbprint = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
        Arc::make_mut(&mut bound.access.record).confirmation =
            Some(Confirmation::jwk_thumbprint(thumbprint));
        self.save(&bound, NAME).await;
        self.assert_stored(&bound, NAME).await;
        // An OpenID Connect token keeps its context (authentication, claims requested).
        let mut openid = self.tokens(GrantId::generate(), 0, true);
        let mut context = OpenIdContext::new();
        context.auth_time = Some(self.at(0));
        context.acr = Some("urn:example:loa:2".to_owned());
        context.amr = vec!["pwd".to_owned(), "otp".to_owned()];
        context.claims = Some(serde_json::json!({"userinfo": {"email": {"essential": true}}}));
        context.auth_time_required = true;
        Arc::make_mut(&mut openid.access.record).openid = Some(Box::new(context));
        self.save(&openid, NAME).await;
        self.assert_stored(&openid, NAME).await;
        // A token for resources (RFC 8707) keeps them, in order.
        let mut audience = self.tokens(GrantId::generate(), 0, true);
        Arc::make_mut(&mut audience.access.record).resources = vec![
            "https://api.example/mail".to_owned(),
            "https://api.example/files".to_owned(),
        ]
        .into();
        self.save(&audience, NAME).await;
        self.assert_stored(&audience, NAME).await;
        // A delegated token (RFC 8693) keeps its actor.
        let mut delegated = self.tokens(GrantId::generate(), 0, true);
        Arc::make_mut(&mut delegated.access.record).actor = Some(Box::new(
            Actor::new("gateway").of_issuer("https://idp.example"),
        ));
        self.save(&delegated, NAME).await;
        self.assert_stored(&delegated, NAME).await;
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
        let next = self.tokens(refresh.record.grant, REFRESH_LIFETIME, true);
        check(
            matches!(
                self.rotate(&refresh.digest, expires_at, &next).await,
                Exchange::Refused(_)
            ),
            NAME,
            "an expired refresh token is handed over as expired, and refused",
        );
        self.assert_gone(&next, NAME, "a refusal stores nothing")
            .await;
    }

    // Records are found by the digest of their secret, and only under their own kind.
    async fn lookups_by_kind_and_digest_only(&self) {
        const NAME: &str = "lookups by kind and digest only";
        let access = AccessToken::generate();
        let refresh = RefreshToken::generate();
        let mut tokens = self.tokens(GrantId::generate(), 0, true);
        tokens.access.digest = access.digest();
        if let Some(stored) = &mut tokens.refresh {
            stored.digest = refresh.digest();
        }
        self.save(&tokens, NAME).await;
        check(
            self.access(&Digest::of(access.secret()), self.now, NAME)
                .await
                .is_some(),
            NAME,
            "an access token is found by the SHA-256 digest of its text",
        );
        check(
            self.record(ExchangeKind::REFRESH_TOKEN, &access.digest(), NAME)
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
        check(
            self.record(ExchangeKind::CODE, &refresh.digest(), NAME)
                .await
                .is_none(),
            NAME,
            "a refresh token is not a code",
        );
        let code = self.tokens(GrantId::generate(), 0, false);
        check(
            self.redeem(&refresh.digest(), self.now, &code).await == Exchange::Unknown,
            NAME,
            "a refresh token cannot be redeemed as a code",
        );
        check(
            self.rotate(&access.digest(), self.now, &code).await == Exchange::Unknown,
            NAME,
            "an access token cannot be exchanged",
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
        check(
            self.rotate(&old.digest, self.at(10), &second).await == Exchange::Issued,
            NAME,
            "a live refresh token is exchanged",
        );
        check(
            !self.refresh_live(old, self.at(10), NAME).await,
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

    async fn refusal_changes_nothing(&self) {
        const NAME: &str = "refusal changes nothing";
        let tokens = self.saved_tokens(NAME).await;
        let Some(refresh) = &tokens.refresh else {
            return;
        };
        let outcome = self
            .exchange(
                ExchangeKind::REFRESH_TOKEN,
                &refresh.digest,
                self.now,
                |_| Decision::refuse(OAuthError::new(ErrorCode::InvalidScope)),
                NAME,
            )
            .await;
        check(
            outcome == Exchange::Refused(OAuthError::new(ErrorCode::InvalidScope)),
            NAME,
            "the decision's refusal is returned as Refused",
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
            self.rotate(&refresh.digest, self.at(5), &next).await == Exchange::Issued,
            NAME,
            "an exchange that leaves its record as it was succeeds",
        );
        check(
            self.refresh_live(refresh, self.at(5), NAME).await,
            NAME,
            "the record stays live when the decision does not change it",
        );
        self.assert_stored(&next, NAME).await;
    }

    // An extension's record changes state without being spent (device-code polling).
    async fn updates_persist(&self) {
        const NAME: &str = "updates persist";
        let digest = Digest::of(&fresh_id("device-code"));
        let data = Polled {
            client_id: client_id(),
            polls: 0,
            approved_by: None,
            note: String::new(),
        };
        let record = ExchangeRecord::new(
            POLLED,
            GrantId::generate(),
            self.at(600),
            RecordData::new(data),
        );
        ok(
            self.storage
                .save_record(digest, record.clone(), self.now)
                .await,
            NAME,
        );
        let poll = |r: &ExchangeRecord| {
            let Ok(data) = r.data.get::<Polled>() else {
                return Decision::refuse(OAuthError::server_error("unreadable data"));
            };
            let mut next = data.into_owned();
            next.polls += 1;
            next.approved_by = Some(OwnerId::new("alice"));
            Decision::refuse(OAuthError::invalid_grant("authorization_pending"))
                .with_record(r.with_data(RecordData::new(next)))
        };
        let outcome = self.exchange(POLLED, &digest, self.now, poll, NAME).await;
        check(
            matches!(outcome, Exchange::Refused(_)),
            NAME,
            "an update with a refusal is answered Refused",
        );
        let stored = self.record(POLLED, &digest, NAME).await;
        check(
            stored.as_ref().is_some_and(|r| {
                r.is_live(self.now)
                    && r.data
                        .get::<Polled>()
                        .is_ok_and(|d| d.polls == 1 && d.approved_by == Some(OwnerId::new("alice")))
            }),
            NAME,
            "the record's new data is stored, and it stays live",
        );
        // Approved: issue once, spend.
        let tokens = self.tokens(record.grant, 0, true);
        let now = self.now;
        let issued = self
            .exchange(
                POLLED,
                &digest,
                now,
                |r| redeem_once(r, now, tokens.clone()),
                NAME,
            )
            .await;
        check(
            issued == Exchange::Issued,
            NAME,
            "the updated record is then redeemed",
        );
        self.assert_stored(&tokens, NAME).await;
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
                self.refresh_live(refresh, self.now, NAME).await,
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
            self.rotate(&old.digest, self.at(1), &second).await == Exchange::Issued,
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
            "the spent code of a revoked grant is Unknown",
        );
        check(
            self.record(ExchangeKind::REFRESH_TOKEN, &old.digest, NAME)
                .await
                .is_none(),
            NAME,
            "the rotated refresh tokens of a revoked grant are gone",
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

    async fn revoked_grant_takes_nothing(&self) {
        const NAME: &str = "revoked grant takes nothing";
        let (_, record, _) = self.redeemed_code(NAME).await;
        let grant = record.grant;
        ok(self.storage.revoke_grant(&grant).await, NAME);
        let late = self.tokens(grant, 1, true);
        check(
            !ok(self.storage.save_tokens(late.clone()).await, NAME),
            NAME,
            "save_tokens says it refused the tokens of a revoked grant",
        );
        self.assert_gone(&late, NAME, "tokens stored for a revoked grant are refused")
            .await;
        let late_code = AuthorizationCode::generate().digest();
        ok(
            self.storage
                .save_record(late_code, record.clone(), self.now)
                .await,
            NAME,
        );
        check(
            self.redeem(&late_code, self.now, &late).await == Exchange::Unknown,
            NAME,
            "a record stored for a revoked grant is refused",
        );
        // An exchange of a live record that names tokens of another grant (here, a revoked
        // one) stores nothing: tokens only ever join the record's own grant.
        let (digest, _) = self.saved_code(NAME).await;
        let foreign = self.tokens(grant, 1, false);
        let now = self.now;
        let outcome = self
            .exchange(
                ExchangeKind::CODE,
                &digest,
                now,
                |r| redeem_once(r, now, foreign.clone()),
                NAME,
            )
            .await;
        check(
            outcome == Exchange::Unknown,
            NAME,
            "tokens of another grant than the record's are refused, answered Unknown",
        );
        self.assert_gone(&foreign, NAME, "nothing is stored into another grant")
            .await;
    }

    // C-SE-4, C-TK-5: of many concurrent redemptions of one code, exactly one succeeds.
    async fn concurrent_redemption(&self) {
        const NAME: &str = "concurrent redemption (C-SE-4)";
        for kind in [ExchangeKind::CODE, ExchangeKind::REFRESH_TOKEN] {
            let (digest, grant) = if kind == ExchangeKind::CODE {
                let (digest, record) = self.saved_code(NAME).await;
                (digest, record.grant)
            } else {
                let tokens = self.saved_tokens(NAME).await;
                let Some(refresh) = tokens.refresh else {
                    return;
                };
                (refresh.digest, refresh.record.grant)
            };
            let live_seen = Arc::new(AtomicUsize::new(0));
            let outcomes = self
                .race(|storage, _| {
                    let tokens = self.tokens(grant, 1, true);
                    let live_seen = live_seen.clone();
                    let at = self.at(1);
                    async move {
                        storage
                            .exchange(kind, &digest, at, move |record: &ExchangeRecord| {
                                if !record.spent {
                                    live_seen.fetch_add(1, Ordering::SeqCst);
                                }
                                redeem_once(record, at, tokens)
                            })
                            .await
                    }
                })
                .await;
            let winners = outcomes.iter().filter(|o| **o == Exchange::Issued).count();
            check(winners == 1, NAME, "exactly one racer succeeds");
            check(
                outcomes
                    .iter()
                    .all(|o| *o == Exchange::Issued || *o == Exchange::Replayed(grant)),
                NAME,
                "every other racer sees a replay of the grant",
            );
            check(
                live_seen.load(Ordering::SeqCst) == 1,
                NAME,
                "exactly one racer sees the record unspent",
            );
        }
    }

    // Read-modify-write of a record is atomic: no racer's update is lost.
    async fn concurrent_updates(&self) {
        const NAME: &str = "concurrent updates (C-SE-4)";
        let digest = Digest::of(&fresh_id("device-code"));
        let data = Polled {
            client_id: client_id(),
            polls: 0,
            approved_by: None,
            note: String::new(),
        };
        let record = ExchangeRecord::new(
            POLLED,
            GrantId::generate(),
            self.at(600),
            RecordData::new(data),
        );
        ok(
            self.storage.save_record(digest, record, self.now).await,
            NAME,
        );
        let outcomes = self
            .race(|storage, _| {
                let at = self.now;
                async move {
                    storage
                        .exchange(POLLED, &digest, at, |record: &ExchangeRecord| match record
                            .data
                            .get::<Polled>(
                        ) {
                            Ok(data) => {
                                let mut next = data.into_owned();
                                next.polls += 1;
                                Decision::refuse(OAuthError::invalid_grant("pending"))
                                    .with_record(record.with_data(RecordData::new(next)))
                            }
                            Err(_) => Decision::refuse(OAuthError::server_error("unreadable")),
                        })
                        .await
                }
            })
            .await;
        check(
            outcomes
                .iter()
                .all(|o| *o == Exchange::Refused(OAuthError::invalid_grant("pending"))),
            NAME,
            "every racer's decision is answered",
        );
        let polls = self
            .record(POLLED, &digest, NAME)
            .await
            .and_then(|r| r.data.get::<Polled>().ok().map(|d| d.polls));
        check(
            polls == Some(RACERS as u32),
            NAME,
            "every racer's update is kept: none is lost to another",
        );
    }

    /// Spawns [`RACERS`] tasks made by `task` at once and collects their outcomes.
    async fn race<F, Fut>(&self, task: F) -> Vec<Exchange>
    where
        F: Fn(Arc<S>, usize) -> Fut,
        Fut: Future<Output = Result<Exchange, crate::Error>> + Send + 'static,
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
            let result = handle
                .await
                .unwrap_or_else(|e| panic!("storage testkit: a racing task panicked: {e}"));
            outcomes.push(ok(result, "race"));
        }
        outcomes
    }

    // C-TK-5: an exchange racing with the revocation of its grant never leaves live tokens.
    async fn revocation_racing_exchanges(&self) {
        const NAME: &str = "revocation racing exchanges";
        for round in 0..RACERS {
            // Even rounds race a code redemption, odd rounds a refresh rotation.
            let (kind, digest, grant) = if round % 2 == 0 {
                let (digest, record) = self.saved_code(NAME).await;
                (ExchangeKind::CODE, digest, record.grant)
            } else {
                let first = self.saved_tokens(NAME).await;
                let grant = first.grant();
                let digest = first
                    .refresh
                    .as_ref()
                    .map_or(first.access.digest, |r| r.digest);
                (ExchangeKind::REFRESH_TOKEN, digest, grant)
            };
            let tokens = self.tokens(grant, 1, true);
            let exchange = {
                let (storage, issued, at) = (self.storage.clone(), tokens.clone(), self.at(1));
                tokio::spawn(async move {
                    storage
                        .exchange(kind, &digest, at, move |r: &ExchangeRecord| {
                            redeem_once(r, at, issued)
                        })
                        .await
                })
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
        self.save(&live, NAME).await;
        let expired = self.tokens(GrantId::generate(), 0, true);
        self.save(&expired, NAME).await;
        let (code, _) = self.saved_code(NAME).await;
        // A backend that keeps consent drops a pair's record of a grant with the grant.
        let pair = (OwnerId::new(fresh_id("owner")), client_id());
        if let Some(consents) = self.storage.consent_store() {
            for grant in [live.grant(), expired.grant(), GrantId::generate()] {
                ok(consents.record_grant(&pair.0, &pair.1, grant).await, NAME);
            }
        }
        let later = self.at(REFRESH_LIFETIME);
        let purged = ok(self.storage.purge_expired(later).await, NAME);
        // At least the expired code, access token and refresh token.
        check(purged >= 3, NAME, "purge_expired counts what it deleted");
        check(
            self.access(&live.access.digest, later, NAME)
                .await
                .is_some(),
            NAME,
            "purge_expired keeps live access tokens",
        );
        if let Some(refresh) = &live.refresh {
            check(
                self.refresh_live(refresh, later, NAME).await,
                NAME,
                "purge_expired keeps live refresh tokens",
            );
        }
        check(
            self.record(ExchangeKind::CODE, &code, NAME).await.is_none(),
            NAME,
            "purge_expired deletes expired records",
        );
        if let Some(refresh) = &expired.refresh {
            check(
                self.record(ExchangeKind::REFRESH_TOKEN, &refresh.digest, NAME)
                    .await
                    .is_none(),
                NAME,
                "purge_expired deletes expired refresh tokens",
            );
        }
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
        if let Some(consents) = self.storage.consent_store() {
            check(
                ok(consents.forget(&pair.0, &pair.1).await, NAME) == vec![live.grant()],
                NAME,
                "purge_expired forgets a pair's grants once the grants are gone, not before",
            );
        }
    }
}
