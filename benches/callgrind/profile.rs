//! A fixed number of one grantor operation, for counting instructions per operation with
//! callgrind (`perf` has no counters on most VMs; instruction counts do not depend on what
//! else the machine is doing). See BENCHMARKS.md:
//!
//! ```sh
//! cargo build --release --example bench_profile
//! valgrind --tool=callgrind --toggle-collect='bench_profile::measured' \
//!   target/release/examples/bench_profile client_credentials
//! ```
//!
//! The total callgrind reports, divided by `OPS`, is the cost of one operation, including the
//! client's side of it that the benches also time (building requests, reading responses).

#[path = "../support/mod.rs"]
mod support;

use std::hint::black_box;

use grantor::Requirement;
use support::*;

/// How many operations are counted.
const OPS: u64 = 20_000;

/// The counted region: `OPS` operations and nothing else.
#[inline(never)]
fn measured(op: &mut dyn FnMut()) {
    for _ in 0..OPS {
        op();
    }
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let (server, clock) = grantor_server();
    let mut op: Box<dyn FnMut()> = match which.as_str() {
        "client_credentials" => {
            let request = client_credentials_request();
            Box::new(move || {
                black_box(run(server.token(&request)));
            })
        }
        "code_flow_pkce" => {
            let authorize = authorization_request();
            Box::new(move || {
                black_box(grantor_code_flow(&server, &authorize));
            })
        }
        "refresh_rotation" => {
            let response = grantor_code_flow(&server, &authorization_request());
            let mut token = json_field(response.body(), "refresh_token");
            Box::new(move || {
                let response = run(server.token(&refresh_request(&token)));
                token = json_field(response.body(), "refresh_token");
            })
        }
        "bearer" => {
            let response = grantor_code_flow(&server, &authorization_request());
            let request = protected_request(&json_field(response.body(), "access_token"));
            let requirement = Requirement::any().scopes("read").expect("valid scope");
            Box::new(move || {
                assert!(run(server.validate_bearer(&request, &requirement)).is_ok());
            })
        }
        _ => {
            eprintln!(
                "usage: bench_profile client_credentials|code_flow_pkce|refresh_rotation|bearer"
            );
            std::process::exit(2);
        }
    };
    // Warm up as the benches do: fill the maps, let the clock expire what was issued (bearer
    // validation keeps its one token live), so the counted operations include the sweeps.
    for _ in 0..3 {
        for _ in 0..OPS {
            op();
        }
        if which != "bearer" {
            expire(&clock);
        }
    }
    measured(&mut *op);
}
