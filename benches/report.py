#!/usr/bin/env python3
"""Prints the figures of the last `cargo bench --bench grants` run as BENCHMARKS.md's tables:
grantor next to oxide-auth with the ratio, and 1 vs 2 threads with the scaling ratio.
Reads criterion's target/criterion/*/new/estimates.json (medians). Standard library only."""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"
OPS = [
    ("client_credentials", "client credentials (HTTP Basic)", 1000),
    ("code_flow_pkce", "code flow with PKCE S256 (authorize, approve, exchange)", 2500),
    ("refresh_rotation", "refresh with rotation", 1000),
    ("bearer", "bearer validation", 150),
]


def median_ns(*path):
    file = ROOT.joinpath(*path, "new", "estimates.json")
    if not file.exists():
        return None
    return json.loads(file.read_text())["median"]["point_estimate"]


def fmt(ns):
    if ns is None:
        return "n/a"
    if ns >= 1e6:
        return f"{ns / 1e6:.1f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def main():
    if not ROOT.exists():
        sys.exit("no criterion results: run cargo bench --bench grants first")
    print("| operation | grantor | oxide-auth (SHA-256 secrets) | oxide-auth ÷ grantor | target |")
    print("|---|---:|---:|---:|---|")
    for group, name, target in OPS:
        ours = median_ns(group, "grantor")
        theirs = median_ns(group, "oxide-auth")
        ratio = f"{theirs / ours:.1f}×" if ours and theirs else "n/a"
        print(f"| {name} | {fmt(ours)} | {fmt(theirs)} | {ratio} | ≤ {fmt(target)}, ≥ 3× |")
    argon = median_ns("client_credentials", "oxide-auth-argon2-default")
    if argon:
        print(f"\noxide-auth client credentials with its default Argon2 secret policy: {fmt(argon)}")
    print("\n| operation (grantor) | 1 thread | 2 threads | 2 ÷ 1 throughput | target |")
    print("|---|---:|---:|---:|---|")
    for group, name, _ in OPS:
        one = median_ns(f"scaling_{group}", "threads", "1")
        two = median_ns(f"scaling_{group}", "threads", "2")
        if one is None or two is None:
            print(f"| {name} | n/a | n/a | n/a | ≥ 1.7× |")
            continue
        # Each iteration is one operation per thread.
        rate1, rate2 = 1e9 / one, 2e9 / two
        print(f"| {name} | {rate1 / 1e3:.0f} k/s | {rate2 / 1e3:.0f} k/s | {rate2 / rate1:.2f}× | ≥ 1.7× |")


main()
