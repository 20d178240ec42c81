//! Secrets never reach storage: everything grantor hands to a `Storage` is recorded here, and
//! none of it holds a secret that the flows handed out.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use grantor::storage::{
    ClientStore, Decision, Digest, Exchange, ExchangeFn, ExchangeKind, ExchangeRecord, GrantId,
    NewTokens, TokenRecord, TokenStore,
};
use grantor::{Client, Config, Error, MemoryStorage, Server, Timestamp};

/// A storage that writes down, as text, every key and record it is given: each record's
/// `Debug` and, for exchange records, the JSON a SQL backend would store.
#[derive(Clone, Default)]
struct Recording {
    inner: MemoryStorage,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Recording {
    fn note(&self, what: String) {
        self.seen.lock().unwrap().push(what);
    }

    fn note_record(&self, record: &ExchangeRecord) {
        let json = record.data.to_json().unwrap().into_owned();
        self.note(format!("{record:?} {json}"));
    }

    fn note_tokens(&self, tokens: &NewTokens) {
        self.note(format!("{tokens:?} {}", tokens.access.digest.to_hex()));
        if let Some(refresh) = &tokens.refresh {
            self.note(refresh.digest.to_hex());
            self.note_record(&refresh.record);
        }
    }

    fn dump(&self) -> String {
        self.seen.lock().unwrap().join("\n")
    }
}

impl ClientStore for Recording {
    async fn client(&self, id: &str) -> Result<Option<Client>, Error> {
        self.inner.client(id).await
    }

    async fn save_client(&self, client: Client) -> Result<(), Error> {
        self.note(format!(
            "{client:?} {:?}",
            client.secret_digest().map(Digest::to_hex)
        ));
        self.inner.save_client(client).await
    }
}

impl TokenStore for Recording {
    async fn save_tokens(&self, tokens: NewTokens) -> Result<bool, Error> {
        self.note_tokens(&tokens);
        self.inner.save_tokens(tokens).await
    }

    async fn access_token(
        &self,
        digest: &Digest,
        now: Timestamp,
    ) -> Result<Option<Arc<TokenRecord>>, Error> {
        self.inner.access_token(digest, now).await
    }

    async fn revoke_access_token(&self, digest: &Digest) -> Result<(), Error> {
        self.inner.revoke_access_token(digest).await
    }

    async fn save_record(
        &self,
        digest: Digest,
        record: ExchangeRecord,
        now: Timestamp,
    ) -> Result<(), Error> {
        self.note(digest.to_hex());
        self.note_record(&record);
        self.inner.save_record(digest, record, now).await
    }

    async fn record(
        &self,
        kind: ExchangeKind,
        digest: &Digest,
    ) -> Result<Option<ExchangeRecord>, Error> {
        self.inner.record(kind, digest).await
    }

    /// Writes down what the decision stores before storage gets it.
    async fn exchange<F: ExchangeFn>(
        &self,
        kind: ExchangeKind,
        digest: &Digest,
        now: Timestamp,
        exchange: F,
    ) -> Result<Exchange, Error> {
        let this = self.clone();
        let recorded = move |record: &ExchangeRecord| {
            let mut decision: Decision = exchange(record);
            if let Some(changed) = decision.take_record() {
                this.note_record(&changed);
                decision = decision.with_record(changed);
            }
            this.note(format!("{decision:?}"));
            decision
        };
        self.inner.exchange(kind, digest, now, recorded).await
    }

    async fn revoke_grant(&self, grant: &GrantId) -> Result<(), Error> {
        self.inner.revoke_grant(grant).await
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<u64, Error> {
        self.inner.purge_expired(now).await
    }
}

// C-SE-1, C-SE-2: every grant runs against the recording storage; no code, token or client secret
// appears in anything storage was given, while each one's digest does.
#[tokio::test]
async fn storage_never_sees_a_secret() {
    let storage = Recording::default();
    let server = Server::new(Config::builder(ISSUER).build().unwrap(), storage.clone())
        .with_authenticator(Users);
    for client in clients() {
        server.register_client(client).await.unwrap();
    }
    let mut secrets: Vec<String> = vec![
        SVC_SECRET.into(),
        TRUSTED_SECRET.into(),
        WORKER_SECRET.into(),
    ];

    // Code grant, then a refresh.
    let pending = server
        .authorize(&get(&format!("/authorize?{}", app_query())))
        .await
        .unwrap();
    let redirect = server
        .approve(
            pending,
            &grantor::OwnerId::new("alice"),
            &"read".parse().unwrap(),
        )
        .await
        .unwrap();
    let code = redirect_params(&redirect)["code"].clone();
    let exchange = token_request(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("client_id", APP),
        ("code_verifier", VERIFIER),
    ]);
    let tokens = json(&server.token(&exchange).await);
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let refreshed = json(
        &server
            .token(&refresh_request((APP, None), &refresh, &[]))
            .await,
    );
    secrets.extend([code, refresh]);
    for body in [&tokens, &refreshed] {
        secrets.push(body["access_token"].as_str().unwrap().into());
    }
    secrets.push(refreshed["refresh_token"].as_str().unwrap().into());

    // Password, client credentials and implicit grants.
    let password = json(
        &server
            .token(&password_request("alice", "wonderland", &[]))
            .await,
    );
    let app = json(
        &server
            .token(&basic_token_request(
                WORKER,
                WORKER_SECRET,
                &[("grant_type", "client_credentials")],
            ))
            .await,
    );
    let pending = server
        .authorize(&get(&format!(
            "/authorize?response_type=token&client_id={SPA}"
        )))
        .await
        .unwrap();
    let implicit = server
        .approve(
            pending,
            &grantor::OwnerId::new("alice"),
            &"read".parse().unwrap(),
        )
        .await
        .unwrap();
    secrets.push(redirect_params(&implicit)["access_token"].clone());
    for body in [&password, &app] {
        secrets.push(body["access_token"].as_str().unwrap().into());
    }
    secrets.push(password["refresh_token"].as_str().unwrap().into());
    secrets.push("wonderland".into());

    let dump = storage.dump();
    assert!(dump.lines().count() >= 8, "{dump}");
    for secret in &secrets {
        assert!(
            !dump.contains(secret.as_str()),
            "secret found in storage: {dump}"
        );
    }
    // What storage keys by is the digest of each secret (the password excepted: never stored).
    for secret in secrets.iter().filter(|s| *s != "wonderland") {
        assert!(
            dump.contains(&Digest::of(secret).to_hex())
                || dump.contains(&format!("{:?}", Digest::of(secret))),
            "no digest for a secret"
        );
    }
}
