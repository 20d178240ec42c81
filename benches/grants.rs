//! Whole requests through the public API, from an `http::Request` to an `http::Response`, on
//! `MemoryStorage`, side by side with oxide-auth 0.6 doing the same work, and the same grantor
//! operations on 1 and 2 threads against one shared server. See BENCHMARKS.md.
//!
//! Every bench that issues tokens bounds memory the same way: every `CHUNK` operations, outside
//! the timed region, grantor's clock moves past the tokens' lifetime (the automatic sweep then
//! reclaims them inside the timed inserts, as in production) and oxide-auth's maps, which never
//! expire anything, are replaced.

mod support;

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use grantor::oidc::SigningAlgorithm;
use grantor::{MemoryStorage, Requirement, Server};
use http::{Request, StatusCode};
use support::oxide::{self as ox, Oxide, Sha256Policy};
use support::*;

/// How many operations run between two maintenance steps.
const CHUNK: u64 = 20_000;

/// Runs `op` `iters` times, timing only the operations; `maintain` runs between chunks.
fn chunked(iters: u64, mut maintain: impl FnMut(), mut op: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        let start = Instant::now();
        for _ in 0..n {
            op();
        }
        total += start.elapsed();
        left -= n;
        maintain();
    }
    total
}

fn ok(response: &http::Response<Vec<u8>>) {
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        String::from_utf8_lossy(response.body())
    );
}

/// A fresh refresh token on grantor, from a code flow.
fn grantor_refresh_token(server: &Server<MemoryStorage>) -> String {
    let response = grantor_code_flow(server, &authorization_request());
    ok(&response);
    json_field(response.body(), "refresh_token")
}

fn ox_ok(response: &oxide_auth::frontends::simple::request::Response) {
    assert!(ox::is_ok(response), "{response:?}");
}

fn client_credentials(c: &mut Criterion) {
    let mut group = c.benchmark_group("client_credentials");
    let request = client_credentials_request();
    let (server, clock) = grantor_server();
    ok(&run(server.token(&request)));
    group.bench_function("grantor", |b| {
        b.iter_custom(|iters| {
            chunked(
                iters,
                || expire(&clock),
                || {
                    black_box(run(server.token(black_box(&request))));
                },
            )
        })
    });
    let mut oxide = Oxide::new(Some(Sha256Policy));
    let mut ox_request = ox::client_credentials_request();
    ox_ok(&oxide.client_credentials(&mut ox_request));
    group.bench_function("oxide-auth", |b| {
        b.iter_custom(|iters| {
            let oxide = std::cell::RefCell::new(&mut oxide);
            chunked(
                iters,
                || oxide.borrow_mut().reset(),
                || {
                    black_box(
                        oxide
                            .borrow_mut()
                            .client_credentials(black_box(&mut ox_request)),
                    );
                },
            )
        })
    });
    // oxide-auth's default client-secret policy (Argon2), for reference.
    // Set up only when this bench runs: registering the client hashes its secret with Argon2.
    let mut argon = None;
    group.sample_size(10);
    group.bench_function("oxide-auth-argon2-default", |b| {
        let argon = argon.get_or_insert_with(|| {
            let mut argon = Oxide::new(None);
            ox_ok(&argon.client_credentials(&mut ox_request));
            argon
        });
        b.iter(|| black_box(argon.client_credentials(black_box(&mut ox_request))))
    });
    group.finish();
}

fn code_flow(c: &mut Criterion) {
    let mut group = c.benchmark_group("code_flow_pkce");
    let authorize = authorization_request();
    let (server, clock) = grantor_server();
    ok(&grantor_code_flow(&server, &authorize));
    group.bench_function("grantor", |b| {
        b.iter_custom(|iters| {
            chunked(
                iters,
                || expire(&clock),
                || {
                    black_box(grantor_code_flow(&server, black_box(&authorize)));
                },
            )
        })
    });
    let mut oxide = Oxide::new(Some(Sha256Policy));
    let mut ox_authorize = ox::authorization_request();
    ox_ok(&oxide.code_flow(&mut ox_authorize));
    group.bench_function("oxide-auth", |b| {
        b.iter_custom(|iters| {
            let oxide = std::cell::RefCell::new(&mut oxide);
            chunked(
                iters,
                || oxide.borrow_mut().reset(),
                || {
                    black_box(oxide.borrow_mut().code_flow(black_box(&mut ox_authorize)));
                },
            )
        })
    });
    group.finish();
}

/// The code flow of an OpenID request: the same steps plus signing the ID token, per algorithm.
fn openid_code_flow(c: &mut Criterion) {
    let mut group = c.benchmark_group("code_flow_openid");
    let authorize = openid_authorization_request();
    for alg in [
        SigningAlgorithm::Rs256,
        SigningAlgorithm::Es256,
        SigningAlgorithm::EdDsa,
    ] {
        let (server, clock) = grantor_openid_server(alg);
        let first = grantor_code_flow(&server, &authorize);
        ok(&first);
        json_field(first.body(), "id_token");
        group.bench_function(alg.as_str(), |b| {
            b.iter_custom(|iters| {
                chunked(
                    iters,
                    || expire(&clock),
                    || {
                        black_box(grantor_code_flow(&server, black_box(&authorize)));
                    },
                )
            })
        });
    }
    group.finish();
}

fn refresh(c: &mut Criterion) {
    let mut group = c.benchmark_group("refresh_rotation");
    let (server, clock) = grantor_server();
    group.bench_function("grantor", |b| {
        b.iter_custom(|iters| {
            let mut token = grantor_refresh_token(&server);
            chunked(
                iters,
                || expire(&clock),
                || {
                    let response = run(server.token(&refresh_request(&token)));
                    token = json_field(response.body(), "refresh_token");
                },
            )
        })
    });
    let mut oxide = Oxide::new(Some(Sha256Policy));
    group.bench_function("oxide-auth", |b| {
        b.iter_custom(|iters| {
            let oxide = std::cell::RefCell::new(&mut oxide);
            let mut token = oxide.borrow_mut().refresh_token();
            let token = std::cell::RefCell::new(&mut token);
            chunked(
                iters,
                || {
                    let mut oxide = oxide.borrow_mut();
                    oxide.reset();
                    **token.borrow_mut() = oxide.refresh_token();
                },
                || {
                    let mut token = token.borrow_mut();
                    let response = oxide.borrow_mut().refresh(&mut ox::refresh_request(&token));
                    **token = json_field(ox::body(&response), "refresh_token");
                },
            )
        })
    });
    group.finish();
}

fn bearer(c: &mut Criterion) {
    let mut group = c.benchmark_group("bearer");
    let (server, _clock) = grantor_server();
    let response = grantor_code_flow(&server, &authorization_request());
    let request = protected_request(&json_field(response.body(), "access_token"));
    let requirement = Requirement::any().scopes("read").expect("valid scope");
    assert!(run(server.validate_bearer(&request, &requirement)).is_ok());
    group.bench_function("grantor", |b| {
        b.iter(|| {
            black_box(run(
                server.validate_bearer(black_box(&request), &requirement)
            ))
        })
    });
    let mut oxide = Oxide::new(Some(Sha256Policy));
    let response = oxide.code_flow(&mut ox::authorization_request());
    let mut request = ox::protected_request(&json_field(ox::body(&response), "access_token"));
    assert!(oxide.validate(&mut request));
    group.bench_function("oxide-auth", |b| {
        b.iter(|| black_box(oxide.validate(black_box(&mut request))))
    });
    group.finish();
}

/// Bearer validation with 10,000 and 1,000,000 live access tokens in `MemoryStorage`: each
/// check takes the next of 1,024 tokens spread over the whole set, so the look-ups are not all
/// served from one cached line.
fn bearer_live_tokens(c: &mut Criterion) {
    let mut group = c.benchmark_group("bearer_live_tokens");
    let requirement = Requirement::any().scopes("read").expect("valid scope");
    let request = client_credentials_request();
    for live in [10_000_usize, 1_000_000] {
        let (server, _clock) = grantor_server();
        let stride = live / 1024;
        let mut requests = Vec::with_capacity(1024);
        for i in 0..live {
            let response = run(server.token(&request));
            if i % stride == 0 && requests.len() < 1024 {
                requests.push(protected_request(&json_field(
                    response.body(),
                    "access_token",
                )));
            }
        }
        for request in &requests {
            assert!(run(server.validate_bearer(request, &requirement)).is_ok());
        }
        group.bench_function(BenchmarkId::from_parameter(live), |b| {
            let mut next = requests.iter().cycle();
            b.iter(|| {
                let request = next.next().expect("cycle");
                black_box(run(server.validate_bearer(black_box(request), &requirement)))
            })
        });
    }
    group.finish();
}

/// One grantor operation, as each scaling thread runs it: its own state (a refresh chain) and
/// the step.
type Op = fn(&Server<MemoryStorage>) -> Box<dyn FnMut(&Server<MemoryStorage>)>;

fn scaling(c: &mut Criterion) {
    let ops: [(&str, Op); 4] = [
        ("client_credentials", |_| {
            let request = client_credentials_request();
            Box::new(move |server| {
                black_box(run(server.token(&request)));
            })
        }),
        ("code_flow_pkce", |_| {
            let authorize = authorization_request();
            Box::new(move |server| {
                black_box(grantor_code_flow(server, &authorize));
            })
        }),
        ("refresh_rotation", |server| {
            let mut token = grantor_refresh_token(server);
            Box::new(move |server| {
                let response = run(server.token(&refresh_request(&token)));
                token = json_field(response.body(), "refresh_token");
            })
        }),
        ("bearer", |server| {
            let response = grantor_code_flow(server, &authorization_request());
            let request: Request<Vec<u8>> =
                protected_request(&json_field(response.body(), "access_token"));
            let requirement = Requirement::any().scopes("read").expect("valid scope");
            Box::new(move |server| {
                assert!(run(server.validate_bearer(&request, &requirement)).is_ok());
            })
        }),
    ];
    for (name, op) in ops {
        let mut group = c.benchmark_group(format!("scaling/{name}"));
        for threads in [1_u64, 2] {
            let (server, clock) = grantor_server();
            let server = Arc::new(server);
            group.throughput(Throughput::Elements(threads));
            group.bench_with_input(
                BenchmarkId::new("threads", threads),
                &threads,
                |b, &threads| {
                    b.iter_custom(|iters| {
                        let barrier = Barrier::new(threads as usize);
                        std::thread::scope(|scope| {
                            let workers: Vec<_> = (0..threads)
                                .map(|worker| {
                                    let (server, clock, barrier) = (&server, &clock, &barrier);
                                    scope.spawn(move || {
                                        let mut step = op(server);
                                        barrier.wait();
                                        // One thread keeps memory bounded, as in the other benches;
                                        // bearer validation issues nothing and keeps its token live.
                                        let maintain = || {
                                            if worker == 0 && name != "bearer" {
                                                expire(clock);
                                            }
                                        };
                                        chunked(iters, maintain, || step(server))
                                    })
                                })
                                .collect();
                            // Each thread ran `iters` operations in its own time; the slowest one
                            // bounds the throughput.
                            workers
                                .into_iter()
                                .map(|w| w.join().expect("worker"))
                                .max()
                                .unwrap_or_default()
                        })
                    })
                },
            );
        }
        group.finish();
    }
}

/// The unavoidable work per issued token: 32 random bytes, base64url, one SHA-256.
fn floor(c: &mut Criterion) {
    let mut group = c.benchmark_group("floor");
    group.bench_function("mint_and_digest_token", |b| {
        b.iter(|| {
            let token = grantor::AccessToken::generate();
            black_box(token.digest())
        })
    });
    group.bench_function("sha256_of_token", |b| {
        let token = grantor::AccessToken::generate();
        b.iter(|| black_box(grantor::storage::Digest::of(black_box(token.secret()))))
    });
    group.finish();
}

criterion_group!(
    benches,
    client_credentials,
    code_flow,
    openid_code_flow,
    refresh,
    bearer,
    bearer_live_tokens,
    scaling,
    floor
);
criterion_main!(benches);
