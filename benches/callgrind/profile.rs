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
//! The `oxide_` operations run oxide-auth 0.6 the same way (`benches/support/oxide.rs`).

#[path = "../support/mod.rs"]
mod support;

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;

use grantor::Requirement;
use support::oxide::{self as ox, Oxide, Sha256Policy};
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

/// One operation, or what runs between two chunks of them.
type Step = Box<dyn FnMut()>;

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let (server, clock) = grantor_server();
    let oxide = Rc::new(RefCell::new(Oxide::new(Some(Sha256Policy))));
    // The operation, and what runs between two chunks of `OPS` (the benches' memory bound).
    let (mut op, mut maintain): (Step, Step) = match which.as_str() {
        "client_credentials" => {
            let request = client_credentials_request();
            let op = Box::new(move || {
                black_box(run(server.token(&request)));
            });
            (op, Box::new(move || expire(&clock)))
        }
        "code_flow_pkce" => {
            let authorize = authorization_request();
            let op = Box::new(move || {
                black_box(grantor_code_flow(&server, &authorize));
            });
            (op, Box::new(move || expire(&clock)))
        }
        "refresh_rotation" => {
            let response = grantor_code_flow(&server, &authorization_request());
            let mut token = json_field(response.body(), "refresh_token");
            let op = Box::new(move || {
                let response = run(server.token(&refresh_request(&token)));
                token = json_field(response.body(), "refresh_token");
            });
            (op, Box::new(move || expire(&clock)))
        }
        "bearer" => {
            let response = grantor_code_flow(&server, &authorization_request());
            let request = protected_request(&json_field(response.body(), "access_token"));
            let requirement = Requirement::any().scopes("read").expect("valid scope");
            let op = Box::new(move || {
                assert!(run(server.validate_bearer(&request, &requirement)).is_ok());
            });
            // Bearer validation issues nothing and keeps its one token live.
            (op, Box::new(|| {}))
        }
        "oxide_client_credentials" => {
            let mut request = ox::client_credentials_request();
            let o = oxide.clone();
            let op = Box::new(move || {
                black_box(o.borrow_mut().client_credentials(&mut request));
            });
            (op, Box::new(move || oxide.borrow_mut().reset()))
        }
        "oxide_code_flow_pkce" => {
            let mut authorize = ox::authorization_request();
            let o = oxide.clone();
            let op = Box::new(move || {
                black_box(o.borrow_mut().code_flow(&mut authorize));
            });
            (op, Box::new(move || oxide.borrow_mut().reset()))
        }
        "oxide_refresh_rotation" => {
            let token = Rc::new(RefCell::new(oxide.borrow_mut().refresh_token()));
            let (o, t) = (oxide.clone(), token.clone());
            let op = Box::new(move || {
                let mut token = t.borrow_mut();
                let response = o.borrow_mut().refresh(&mut ox::refresh_request(&token));
                *token = json_field(ox::body(&response), "refresh_token");
            });
            let maintain = Box::new(move || {
                let mut oxide = oxide.borrow_mut();
                oxide.reset();
                *token.borrow_mut() = oxide.refresh_token();
            });
            (op, maintain)
        }
        "oxide_bearer" => {
            let response = oxide
                .borrow_mut()
                .code_flow(&mut ox::authorization_request());
            let mut request =
                ox::protected_request(&json_field(ox::body(&response), "access_token"));
            let op = Box::new(move || {
                assert!(oxide.borrow_mut().validate(&mut request));
            });
            (op, Box::new(|| {}))
        }
        _ => {
            eprintln!(
                "usage: bench_profile [oxide_]client_credentials|[oxide_]code_flow_pkce|[oxide_]refresh_rotation|[oxide_]bearer"
            );
            std::process::exit(2);
        }
    };
    // Warm up as the benches do: fill the maps, then let the clock expire what was issued
    // (grantor; the counted operations include the sweeps) or replace the maps (oxide-auth).
    for _ in 0..3 {
        for _ in 0..OPS {
            op();
        }
        maintain();
    }
    measured(&mut *op);
}
