//! The refresh grace window (C-RG-1): a rotated refresh token presented again by its own client
//! shortly after its rotation gets fresh tokens of the same family, a limited number of times;
//! otherwise a replay revokes the family as always (C-TK-11).

mod common;

use std::time::Duration;

use common::*;
use grantor::ConfigBuilder;

fn grace(c: ConfigBuilder) -> ConfigBuilder {
    c.refresh_grace_period(Duration::from_secs(30))
}

/// Refreshes `token` as the public client `app`.
async fn refresh<S: grantor::storage::Storage>(
    fx: &Fixture<S>,
    token: &str,
) -> http::Response<Vec<u8>> {
    fx.server
        .token(&refresh_request((APP, None), token, &[]))
        .await
}

fn tokens(response: &http::Response<Vec<u8>>) -> (String, String) {
    assert_eq!(response.status(), 200, "{}", body_text(response));
    let body = json(response);
    (
        text(&body, "access_token").to_owned(),
        text(&body, "refresh_token").to_owned(),
    )
}

// C-RG-1: the response of a refresh was lost; the client retries with the same refresh token
// within the window and gets fresh tokens of the same family. Both new refresh tokens are live
// (each usable once), and nothing was revoked.
#[tokio::test]
async fn a_lost_response_is_retried_within_the_window() {
    let fx = Fixture::with(grace).await;
    let first = fx.app_tokens().await;
    let r1 = text(&first, "refresh_token").to_owned();
    let (a2, r2) = tokens(&refresh(&fx, &r1).await);
    fx.advance(10);
    let (a2b, r2b) = tokens(&refresh(&fx, &r1).await);
    assert_ne!(a2, a2b);
    assert_ne!(r2, r2b);
    for access in [text(&first, "access_token"), &a2, &a2b] {
        assert!(access_is_live(&fx, access).await);
    }
    assert!(refresh_is_live(&fx, &r2).await);
    assert!(refresh_is_live(&fx, &r2b).await);
    // The family goes on from either one.
    let (a3, _) = tokens(&refresh(&fx, &r2b).await);
    let (a3b, _) = tokens(&refresh(&fx, &r2).await);
    assert!(access_is_live(&fx, &a3).await);
    assert!(access_is_live(&fx, &a3b).await);
}

// C-RG-1, C-TK-11: after the window, presenting the rotated token is a replay: invalid_grant,
// and the whole family is revoked, the newer refresh token too.
#[tokio::test]
async fn a_retry_after_the_window_revokes_the_family() {
    let fx = Fixture::with(grace).await;
    let first = fx.app_tokens().await;
    let r1 = text(&first, "refresh_token").to_owned();
    let (a2, r2) = tokens(&refresh(&fx, &r1).await);
    fx.advance(30);
    assert_error(&refresh(&fx, &r1).await, 400, "invalid_grant");
    assert!(!access_is_live(&fx, &a2).await);
    assert!(!refresh_is_live(&fx, &r2).await);
    assert_error(&refresh(&fx, &r2).await, 400, "invalid_grant");
}

// C-RG-1, C-TK-11: another client presenting the rotated token, even within the window,
// revokes the family.
#[tokio::test]
async fn a_retry_by_another_client_revokes_the_family() {
    let fx = Fixture::with(grace).await;
    let first = fx.app_tokens().await;
    let r1 = text(&first, "refresh_token").to_owned();
    let (a2, r2) = tokens(&refresh(&fx, &r1).await);
    fx.advance(1);
    let by_svc = fx
        .server
        .token(&refresh_request((SVC, Some(SVC_SECRET)), &r1, &[]))
        .await;
    assert_error(&by_svc, 400, "invalid_grant");
    assert!(!access_is_live(&fx, &a2).await);
    assert!(!refresh_is_live(&fx, &r2).await);
    assert_error(&refresh(&fx, &r1).await, 400, "invalid_grant");
}

// C-RG-1: the window answers a rotated token at most the configured number of times; the next
// presentation is a replay that revokes the family.
#[tokio::test]
async fn the_retry_limit_holds() {
    for retries in [1u32, 3] {
        let fx = Fixture::with(|c| grace(c).refresh_grace_retries(retries)).await;
        let first = fx.app_tokens().await;
        let r1 = text(&first, "refresh_token").to_owned();
        let mut issued = vec![tokens(&refresh(&fx, &r1).await)];
        for _ in 0..retries {
            issued.push(tokens(&refresh(&fx, &r1).await));
        }
        for (access, refresh_token) in &issued {
            assert!(access_is_live(&fx, access).await);
            assert!(refresh_is_live(&fx, refresh_token).await);
        }
        assert_error(&refresh(&fx, &r1).await, 400, "invalid_grant");
        for (access, refresh_token) in &issued {
            assert!(!access_is_live(&fx, access).await);
            assert!(!refresh_is_live(&fx, refresh_token).await);
        }
    }
}

// C-RG-1, C-TK-11: the window is off by default (and with a zero period): the first replay
// revokes the family.
#[tokio::test]
async fn the_window_is_off_by_default() {
    let configs: [fn(ConfigBuilder) -> ConfigBuilder; 2] =
        [|c| c, |c| c.refresh_grace_period(Duration::ZERO)];
    for configure in configs {
        let fx = Fixture::with(configure).await;
        assert_eq!(fx.server.config().refresh_grace_period(), None);
        let first = fx.app_tokens().await;
        let r1 = text(&first, "refresh_token").to_owned();
        let (a2, r2) = tokens(&refresh(&fx, &r1).await);
        assert_error(&refresh(&fx, &r1).await, 400, "invalid_grant");
        assert!(!access_is_live(&fx, &a2).await);
        assert!(!refresh_is_live(&fx, &r2).await);
    }
}

// C-RG-1: two tabs refreshing at once with the same token on two instances over one
// PostgreSQL database both get tokens: one live family, nothing revoked.
#[cfg(feature = "postgres")]
mod postgres {
    use std::str::FromStr;

    use grantor::storage::PostgresStorage;
    use grantor::storage::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use grantor::storage::sqlx::{self, AssertSqlSafe};

    use super::*;

    const URL_VARIABLE: &str = "GRANTOR_TEST_POSTGRES_URL";

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_refreshes_in_the_window_keep_one_live_family() {
        let Ok(url) = std::env::var(URL_VARIABLE) else {
            common::postgres_skipped("concurrent_refreshes_in_the_window_keep_one_live_family");
            return;
        };
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .unwrap();
        let schema = format!(
            "grantor_test_{}",
            &grantor::AccessToken::generate().digest().to_hex()[..16]
        );
        let run = |sql: String| {
            let admin = admin.clone();
            async move {
                sqlx::query(AssertSqlSafe(sql))
                    .execute(&admin)
                    .await
                    .unwrap();
            }
        };
        run(format!("CREATE SCHEMA {schema}")).await;
        let options = PgConnectOptions::from_str(&url)
            .unwrap()
            .options([("search_path", &schema)]);
        let storage = || async {
            PostgresStorage::connect_with(options.clone(), PgPoolOptions::new())
                .await
                .unwrap()
        };
        let a = Fixture::with_storage(storage().await, grace).await;
        let b = Fixture::with_storage(storage().await, grace).await;

        for _ in 0..5 {
            let first = a.app_tokens().await;
            let r1 = text(&first, "refresh_token").to_owned();
            let (at_a, at_b) = tokio::join!(refresh(&a, &r1), refresh(&b, &r1));
            let (a2, r2) = tokens(&at_a);
            let (b2, r2b) = tokens(&at_b);
            for fx in [&a, &b] {
                assert!(access_is_live(fx, &a2).await);
                assert!(access_is_live(fx, &b2).await);
                assert!(access_is_live(fx, text(&first, "access_token")).await);
                assert!(refresh_is_live(fx, &r2).await);
                assert!(refresh_is_live(fx, &r2b).await);
            }
            // The one retry was spent: a third presentation revokes the family everywhere.
            assert_error(&refresh(&b, &r1).await, 400, "invalid_grant");
            assert!(!access_is_live(&a, &a2).await);
            assert!(!refresh_is_live(&a, &r2b).await);
        }

        a.storage().pool().close().await;
        b.storage().pool().close().await;
        run(format!("DROP SCHEMA {schema} CASCADE")).await;
        admin.close().await;
    }
}
