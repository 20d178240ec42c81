//! Grants written outside the crate, as a host writes them, on the open core's seams: an API-key
//! grant issued through the issuing step, a one-time login-link grant on the exactly-once
//! primitive with a record kind of its own, and a grant that issues key-bound tokens. Each is
//! registered, authenticated, permission-checked, listed in the metadata, and its tokens are
//! refreshable, revocable and introspectable like the built-in grants'.

mod common;

use std::collections::HashMap;

use common::*;
use grantor::grant::{Grant, GrantContext, Issue, unusable};
use grantor::storage::{
    Decision, Digest, ExchangeKind, ExchangeRecord, GrantId, RecordData, Storage, TokenStore,
};
use grantor::token::{Confirmation, TokenResponse};
use grantor::{
    BoxFuture, Client, ClientId, ClientSecret, Failure, GrantType, MemoryStorage, OAuthError,
    OwnerId, Requirement, ServerBuilder, Timestamp,
};
use serde::{Deserialize, Serialize};

const API_KEY: &str = "urn:example:grant-type:api-key";
const LOGIN_LINK: &str = "urn:example:grant-type:login-link";
const BOUND: &str = "urn:example:grant-type:bound";
/// A confidential client allowed the extension grants and refresh tokens.
const KEYS: &str = "keys-client";
const KEYS_SECRET: &str = "keys-client-secret-long-enough-for-tests";
/// A public client allowed the login-link grant.
const LINKS: &str = "links-client";

fn grant_type(uri: &str) -> GrantType {
    GrantType::extension(uri).unwrap()
}

/// Exchanges an API key the host issued (and verifies) for a token of the key's owner.
struct ApiKeyGrant {
    keys: HashMap<&'static str, &'static str>,
}

impl ApiKeyGrant {
    fn new() -> Self {
        Self {
            keys: HashMap::from([("ak_alice_7f3c", "user-alice"), ("ak_bob_91d2", "user-bob")]),
        }
    }
}

impl<S: Storage> Grant<S> for ApiKeyGrant {
    fn grant_type(&self) -> GrantType {
        grant_type(API_KEY)
    }

    fn exchange<'a>(
        &'a self,
        ctx: GrantContext<'a, S>,
    ) -> BoxFuture<'a, Result<TokenResponse, Failure>> {
        Box::pin(async move {
            let key = ctx.require("api_key")?;
            let Some(owner) = self.keys.get(key) else {
                return Err(OAuthError::invalid_grant("unknown API key").into());
            };
            let scope = ctx.user_scope()?;
            ctx.issue(Issue::user(OwnerId::new(owner), scope).with_refresh_token(true))
                .await
        })
    }
}

/// A one-time login link the host mailed to a user: its own kind of exchange record.
const LINK: ExchangeKind = ExchangeKind::new("login_link");

/// What a login link's record holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Link {
    client_id: ClientId,
    owner: OwnerId,
}

/// The host's side: mints a link for `owner` to sign in to `client_id`, valid five minutes.
async fn create_link<S: Storage>(
    storage: &S,
    client_id: &str,
    owner: &str,
    now: Timestamp,
) -> String {
    let secret = ClientSecret::generate().secret().to_owned();
    let link = Link {
        client_id: ClientId::new(client_id).unwrap(),
        owner: OwnerId::new(owner),
    };
    let expires_at = Timestamp::from_secs(now.as_secs() + 300);
    let record = ExchangeRecord::new(LINK, GrantId::generate(), expires_at, RecordData::new(link));
    storage
        .save_record(Digest::of(&secret), record, now)
        .await
        .unwrap();
    secret
}

/// Exchanges a login link, exactly once, for a token of the link's user.
struct LoginLinkGrant;

impl<S: Storage> Grant<S> for LoginLinkGrant {
    fn grant_type(&self) -> GrantType {
        grant_type(LOGIN_LINK)
    }

    fn exchange<'a>(
        &'a self,
        ctx: GrantContext<'a, S>,
    ) -> BoxFuture<'a, Result<TokenResponse, Failure>> {
        Box::pin(async move {
            let secret = ctx.require("link")?;
            let scope = ctx.user_scope()?;
            ctx.redeem(LINK, secret, |record, minter| {
                if let Some(decision) = unusable(record, minter.now()) {
                    return Ok(decision);
                }
                let link = record.data.get::<Link>()?;
                if link.client_id != *minter.client().id() {
                    // Spent all the same: a link shown to the wrong client may be stolen.
                    let error = OAuthError::invalid_grant("the link is for another client");
                    return Ok(Decision::refuse(error).with_record(record.spend(record.expires_at)));
                }
                let issue = Issue::user(link.owner.clone(), scope)
                    .in_grant(record.grant)
                    .with_refresh_token(true);
                let tokens = minter.issue(issue)?;
                let kept = tokens.expires_at();
                Ok(Decision::issue(tokens).with_record(record.spend(kept)))
            })
            .await
        })
    }
}

/// Issues a token bound to the key whose RFC 7638 thumbprint the request names (a stand-in
/// for a proof-of-possession check).
struct BoundGrant;

impl<S: Storage> Grant<S> for BoundGrant {
    fn grant_type(&self) -> GrantType {
        grant_type(BOUND)
    }

    fn exchange<'a>(
        &'a self,
        ctx: GrantContext<'a, S>,
    ) -> BoxFuture<'a, Result<TokenResponse, Failure>> {
        Box::pin(async move {
            let thumbprint = ctx.require("jkt")?;
            let scope = ctx.user_scope()?;
            let issue = Issue::user(OwnerId::new("user-alice"), scope)
                .bound_to(Confirmation::jwk_thumbprint(thumbprint))
                .with_refresh_token(true);
            ctx.issue(issue).await
        })
    }
}

fn with_extensions<S: Storage>(server: ServerBuilder<S>) -> ServerBuilder<S> {
    server
        .grant(ApiKeyGrant::new())
        .grant(LoginLinkGrant)
        .grant(BoundGrant)
}

async fn fixture() -> Fixture {
    fixture_on(MemoryStorage::new()).await
}

async fn fixture_on<S: Storage>(storage: S) -> Fixture<S> {
    let fx = Fixture::with_server(
        storage,
        |c| {
            c.token_response_fields(|issued| {
                let mut fields = serde_json::Map::new();
                fields.insert("grant".into(), issued.grant_type.as_str().into());
                fields
            })
        },
        with_extensions,
    )
    .await;
    let keys = Client::confidential(KEYS, &ClientSecret::new(KEYS_SECRET))
        .grant_types([
            grant_type(API_KEY),
            grant_type(BOUND),
            GrantType::RefreshToken,
        ])
        .allowed_scopes("read write")
        .default_scopes("read")
        .build()
        .unwrap();
    let links = Client::public(LINKS)
        .grant_types([grant_type(LOGIN_LINK), GrantType::RefreshToken])
        .allowed_scopes("read")
        .default_scopes("read")
        .build()
        .unwrap();
    fx.server.register_client(keys).await.unwrap();
    fx.server.register_client(links).await.unwrap();
    fx
}

async fn api_key_tokens<S: Storage>(fx: &Fixture<S>, key: &str) -> http::Response<Vec<u8>> {
    let request = basic_token_request(
        KEYS,
        KEYS_SECRET,
        &[
            ("grant_type", API_KEY),
            ("api_key", key),
            ("scope", "read write"),
        ],
    );
    fx.server.token(&request).await
}

// C-TK-6: an extension grant answers like a built-in one: the standard response, its
// headers, and the host's response hook, which sees the extension's grant type.
#[tokio::test]
async fn an_extension_grant_issues_through_the_issuing_step() {
    let fx = fixture().await;
    let response = api_key_tokens(&fx, "ak_alice_7f3c").await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body = json(&response);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read write");
    assert_eq!(
        body["grant"], API_KEY,
        "the response hook runs for host grants"
    );
    let access = text(&body, "access_token");
    let grant = fx
        .server
        .validate_bearer(
            &bearer("/api", access),
            &Requirement::user().scopes("write").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(grant.owner(), Some(&OwnerId::new("user-alice")));
    assert_eq!(grant.client_id().as_str(), KEYS);
    assert!(body["refresh_token"].is_string());

    // The grant's own refusals are RFC errors like any other.
    assert_error(
        &api_key_tokens(&fx, "ak_mallory").await,
        400,
        "invalid_grant",
    );
    let missing = basic_token_request(KEYS, KEYS_SECRET, &[("grant_type", API_KEY)]);
    assert_error(&fx.server.token(&missing).await, 400, "invalid_request");
    let wide = basic_token_request(
        KEYS,
        KEYS_SECRET,
        &[
            ("grant_type", API_KEY),
            ("api_key", "ak_bob_91d2"),
            ("scope", "admin"),
        ],
    );
    assert_error(&fx.server.token(&wide).await, 400, "invalid_scope");
}

// C-TK-3, C-TK-7: client authentication and the client's permission run for a host's grant
// as for the built-in ones, before the grant sees the request.
#[tokio::test]
async fn extension_grants_are_authenticated_and_permission_checked() {
    let fx = fixture().await;
    let wrong_secret = basic_token_request(
        KEYS,
        "not-the-secret",
        &[("grant_type", API_KEY), ("api_key", "ak_alice_7f3c")],
    );
    let response = fx.server.token(&wrong_secret).await;
    assert_error(&response, 401, "invalid_client");
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    // `worker` is a confidential client without the grant type.
    let not_allowed = basic_token_request(
        WORKER,
        WORKER_SECRET,
        &[("grant_type", API_KEY), ("api_key", "ak_alice_7f3c")],
    );
    assert_error(
        &fx.server.token(&not_allowed).await,
        400,
        "unauthorized_client",
    );
    // A grant type nobody registered.
    let unknown = basic_token_request(
        KEYS,
        KEYS_SECRET,
        &[("grant_type", "urn:example:grant-type:unknown")],
    );
    assert_error(
        &fx.server.token(&unknown).await,
        400,
        "unsupported_grant_type",
    );
    assert_eq!(fx.storage().stats().access_tokens, 0);
}

// C-MD-1: the metadata lists the registered grants, the host's included, and only those.
#[tokio::test]
async fn the_metadata_lists_registered_extension_grants() {
    let fx = fixture().await;
    let metadata = fx.server.metadata();
    let grants: Vec<&str> = metadata["grant_types_supported"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    assert_eq!(
        grants,
        [
            "authorization_code",
            "implicit",
            "refresh_token",
            "client_credentials",
            "password",
            API_KEY,
            LOGIN_LINK,
            BOUND,
        ]
    );
    let types: Vec<&str> = fx.server.grant_types().map(GrantType::as_str).collect();
    assert_eq!(types.len(), 7);
    // A built-in grant can be taken away; then it is neither answered nor listed.
    let without = Fixture::with_server(
        MemoryStorage::new(),
        |c| c,
        |s| s.without_grant(&GrantType::ClientCredentials),
    )
    .await;
    let listed = without.server.metadata()["grant_types_supported"].clone();
    assert!(
        !listed
            .as_array()
            .unwrap()
            .contains(&"client_credentials".into())
    );
    let request = basic_token_request(
        WORKER,
        WORKER_SECRET,
        &[("grant_type", "client_credentials")],
    );
    assert_error(
        &without.server.token(&request).await,
        400,
        "unsupported_grant_type",
    );
}

// C-TK-10, C-TK-11, C-RV-1, C-IN-1: an extension grant's tokens are refreshed, introspected
// and revoked like the built-in grants'.
#[tokio::test]
async fn extension_tokens_refresh_introspect_and_revoke() {
    let fx = fixture().await;
    let body = json(&api_key_tokens(&fx, "ak_alice_7f3c").await);
    let refresh = text(&body, "refresh_token");
    let refreshed = fx
        .server
        .token(&refresh_request(
            (KEYS, Some(KEYS_SECRET)),
            refresh,
            &[("scope", "read")],
        ))
        .await;
    assert_eq!(refreshed.status(), 200, "{}", body_text(&refreshed));
    let refreshed = json(&refreshed);
    assert_eq!(refreshed["scope"], "read");
    assert_eq!(refreshed["grant"], "refresh_token");
    let access = text(&refreshed, "access_token");

    let introspect = basic_post("/introspect", KEYS, KEYS_SECRET, &[("token", access)]);
    let info = json(&fx.server.introspect(&introspect).await);
    assert_eq!(info["active"], true);
    assert_eq!(info["sub"], "user-alice");
    assert_eq!(info["client_id"], KEYS);
    assert_eq!(info["token_type"], "Bearer");
    assert!(info.get("cnf").is_none());

    // Revoking the (rotated) refresh token's successor revokes the whole family.
    let next = text(&refreshed, "refresh_token");
    let revoke = basic_post("/revoke", KEYS, KEYS_SECRET, &[("token", next)]);
    assert_eq!(fx.server.revoke(&revoke).await.status(), 200);
    assert!(!access_is_live(&fx, access).await);
    assert!(!access_is_live(&fx, text(&body, "access_token")).await);
    let info = json(&fx.server.introspect(&introspect).await);
    assert_eq!(info, serde_json::json!({"active": false}));
}

/// A login-link token request of the public client `links`.
fn link_request(link: &str) -> http::Request<Vec<u8>> {
    token_request(&[
        ("grant_type", LOGIN_LINK),
        ("link", link),
        ("client_id", LINKS),
    ])
}

// C-TK-5: a grant on the exactly-once primitive, with a record kind no backend knows: its
// record is redeemed once, and a second use is a replay that revokes what the first issued.
// (That racing uses of one record produce one winner on every backend is the storage
// testkit's `concurrent redemption` check.)
async fn login_links_are_redeemed_once<S: Storage>(fx: &Fixture<S>) {
    let now = fx.server.now();
    let link = create_link(fx.storage(), LINKS, "user-carol", now).await;
    let first = fx.server.token(&link_request(&link)).await;
    assert_eq!(first.status(), 200, "{}", body_text(&first));
    let first = json(&first);
    let access = text(&first, "access_token");
    let grant = fx
        .server
        .validate_bearer(&bearer("/api", access), &Requirement::user())
        .await
        .unwrap();
    assert_eq!(grant.owner(), Some(&OwnerId::new("user-carol")));
    // Refreshable like any grant's tokens.
    let refreshed = fx
        .server
        .token(&refresh_request(
            (LINKS, None),
            text(&first, "refresh_token"),
            &[],
        ))
        .await;
    assert_eq!(refreshed.status(), 200, "{}", body_text(&refreshed));
    let refreshed_access = text(&json(&refreshed), "access_token").to_owned();

    let replay = fx.server.token(&link_request(&link)).await;
    assert_error(&replay, 400, "invalid_grant");
    assert_eq!(
        json(&replay)["error_description"],
        "the login link was already used"
    );
    assert!(!access_is_live(fx, access).await);
    assert!(!access_is_live(fx, &refreshed_access).await);

    // A link for another client is spent by the wrong client's attempt.
    let foreign = create_link(fx.storage(), KEYS, "user-carol", now).await;
    assert_error(
        &fx.server.token(&link_request(&foreign)).await,
        400,
        "invalid_grant",
    );
    // Expired links are refused; unknown ones too.
    let expired = create_link(fx.storage(), LINKS, "user-carol", now).await;
    fx.advance(300);
    let response = fx.server.token(&link_request(&expired)).await;
    assert_error(&response, 400, "invalid_grant");
    assert_eq!(
        json(&response)["error_description"],
        "the login link is invalid or expired"
    );
    assert_error(
        &fx.server.token(&link_request("never-minted")).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn login_links_are_redeemed_once_in_memory() {
    login_links_are_redeemed_once(&fixture().await).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn login_links_are_redeemed_once_in_sqlite() {
    let path = std::env::temp_dir().join(format!(
        "grantor-links-{}.db",
        &Digest::of(ClientSecret::generate().secret()).to_hex()[..16]
    ));
    let storage = grantor::storage::SqliteStorage::open(path.to_str().unwrap())
        .await
        .unwrap();
    login_links_are_redeemed_once(&fixture_on(storage).await).await;
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

// C-IN-1, C-BR-5: the token-type seam. A token bound to a key says so in the token response
// and in introspection (`token_type`, `cnf`), and is refused when presented as a plain bearer
// token.
#[tokio::test]
async fn key_bound_tokens_are_not_bearer_tokens() {
    let fx = fixture().await;
    let thumbprint = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    let request = basic_token_request(
        KEYS,
        KEYS_SECRET,
        &[("grant_type", BOUND), ("jkt", thumbprint)],
    );
    let response = fx.server.token(&request).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    let body = json(&response);
    assert_eq!(body["token_type"], "DPoP");
    let access = text(&body, "access_token");
    assert!(access_is_live(&fx, access).await);

    let refused = fx
        .server
        .validate_bearer(&bearer("/api", access), &Requirement::any())
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 401);
    assert_eq!(
        refused.error_code().map(|c| c.as_str()),
        Some("invalid_token")
    );
    let form = post_form("/api", form_body(&[("access_token", access)]));
    let refused = fx
        .server
        .validate_bearer(&form, &Requirement::any())
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 401);

    let introspect = basic_post("/introspect", KEYS, KEYS_SECRET, &[("token", access)]);
    let info = json(&fx.server.introspect(&introspect).await);
    assert_eq!(info["active"], true);
    assert_eq!(info["token_type"], "DPoP");
    assert_eq!(info["cnf"], serde_json::json!({"jkt": thumbprint}));

    // A refresh keeps the binding: the new access token is bound to the same key, never a
    // bearer token.
    let refresh = text(&body, "refresh_token");
    let refreshed = fx
        .server
        .token(&refresh_request((KEYS, Some(KEYS_SECRET)), refresh, &[]))
        .await;
    assert_eq!(refreshed.status(), 200, "{}", body_text(&refreshed));
    let refreshed = json(&refreshed);
    assert_eq!(refreshed["token_type"], "DPoP");
    let access = text(&refreshed, "access_token");
    let refused = fx
        .server
        .validate_bearer(&bearer("/api", access), &Requirement::any())
        .await
        .unwrap_err();
    assert_eq!(
        refused.error_code().map(|c| c.as_str()),
        Some("invalid_token")
    );
    let introspect = basic_post("/introspect", KEYS, KEYS_SECRET, &[("token", access)]);
    let info = json(&fx.server.introspect(&introspect).await);
    assert_eq!(info["cnf"], serde_json::json!({"jkt": thumbprint}));
}

/// Issues into the grant family the request names (`grant` = its id in hex): a stand-in for
/// a grant that continues an existing authorization.
struct ContinueGrant;

const CONTINUE: &str = "urn:example:grant-type:continue";

impl<S: Storage> Grant<S> for ContinueGrant {
    fn grant_type(&self) -> GrantType {
        grant_type(CONTINUE)
    }

    fn exchange<'a>(
        &'a self,
        ctx: GrantContext<'a, S>,
    ) -> BoxFuture<'a, Result<TokenResponse, Failure>> {
        Box::pin(async move {
            let Some(grant) = GrantId::from_hex(ctx.require("grant")?) else {
                return Err(OAuthError::invalid_request("malformed grant").into());
            };
            let scope = ctx.app_scope()?;
            ctx.issue(Issue::app(scope).in_grant(grant)).await
        })
    }
}

// C-TK-5: the issuing step never answers with tokens storage refused: issuing into a revoked
// grant family is invalid_grant, and nothing is stored.
#[tokio::test]
async fn issuing_into_a_revoked_grant_is_refused() {
    let fx = Fixture::with_server(MemoryStorage::new(), |c| c, |s| s.grant(ContinueGrant)).await;
    let client = Client::confidential(KEYS, &ClientSecret::new(KEYS_SECRET))
        .grant_types([grant_type(CONTINUE)])
        .allowed_scopes("read")
        .default_scopes("read")
        .build()
        .unwrap();
    fx.server.register_client(client).await.unwrap();
    let grant = GrantId::generate();
    let request = |grant: &GrantId| {
        basic_token_request(
            KEYS,
            KEYS_SECRET,
            &[("grant_type", CONTINUE), ("grant", &grant.to_hex())],
        )
    };
    let first = fx.server.token(&request(&grant)).await;
    assert_eq!(first.status(), 200, "{}", body_text(&first));
    fx.storage().revoke_grant(&grant).await.unwrap();
    let before = fx.storage().stats();
    let refused = fx.server.token(&request(&grant)).await;
    assert_error(&refused, 400, "invalid_grant");
    assert_eq!(fx.storage().stats(), before);
}
