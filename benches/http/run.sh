#!/usr/bin/env bash
# Loads a grantor server with wrk on 127.0.0.1: the token endpoint (client credentials, HTTP
# Basic), a protected route (bearer validation), and a bare handler returning fixed JSON (the
# framework's floor), one after the other in the same run; prints requests/s and the ratios.
#
#   benches/http/run.sh                          # builds and starts the in-tree bench server
#   benches/http/run.sh http://127.0.0.1:8080    # any running server with the same routes
#   benches/http/run.sh axum_server              # examples/axum_server (client from
#                                                # benches/http/axum_server.json), with the
#                                                # bench server's bare handler as the floor
#   benches/http/run.sh deployed                 # examples/axum_server on every storage
#                                                # backend, every flow, 16 and 64 connections
#                                                # (bench_http_load; see "Deployed" below)
#
# The three run in turn, ROUNDS times (after a warm-up), and the best of each counts, so that
# noise from other work on the machine hurts them alike.
#
# Environment: DURATION (10s), ROUNDS (2), CONNECTIONS (32), THREADS (1), CLIENT_ID,
# CLIENT_SECRET, TOKEN_PATH (/token), PROTECTED_PATH (/api/me), BARE_PATH (/bare), BARE_BASE
# (the server of the bare handler; the same as the measured one unless set).
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION="${DURATION:-10s}"
ROUNDS="${ROUNDS:-2}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${THREADS:-1}"
CLIENT_ID="${CLIENT_ID:-bench}"
CLIENT_SECRET="${CLIENT_SECRET:-bench-secret-0123456789-abcdefghijklmnopqrstuv}"
TOKEN_PATH="${TOKEN_PATH:-/token}"
PROTECTED_PATH="${PROTECTED_PATH:-/api/me}"
BARE_PATH="${BARE_PATH:-/bare}"
BASE="${1:-}"
BARE_BASE="${BARE_BASE:-}"

# Deployed: examples/axum_server (release, features sqlite and postgres) on each backend of
# BACKENDS (memory sqlite postgres): the SQLite file is new in a temporary directory, the
# PostgreSQL database ($PG_ADMIN_URL's server, database $PG_DATABASE) is dropped and created
# again. Each flow of FLOWS runs at each count of CONNECTION_COUNTS for DURATION seconds with
# bench_http_load (one thread, one request in flight per connection), which prints one row:
# flow, connections, requests/s, p50 ms, p99 ms, errors, server CPU, database CPU (every
# process of the postgres user; SQLite runs inside the server) and its own CPU, in % of one
# core. Server, database and load client share the machine's cores. SERVER_BIN: another
# build of the example (e.g. a copy of an earlier commit's); SERVER_ARGS: more of its options
# (e.g. "--client-cache 1"); SKIP_BUILD=1: build nothing.
if [ "${1:-}" = deployed ]; then
  BACKENDS="${BACKENDS:-memory sqlite postgres}"
  FLOWS="${FLOWS:-client_credentials refresh bearer introspect code}"
  CONNECTION_COUNTS="${CONNECTION_COUNTS:-16 64}"
  DURATION="${DURATION%s}"
  DURATION="${DURATION:-10}"
  CODES="${CODES:-20000}"       # codes minted for the code flow on memory,
  CODES_DB="${CODES_DB:-4000}"  # and on a database (codes live 60 s: minting and spending fit)
  PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  PG_DATABASE="${PG_DATABASE:-grantor_bench}"
  pg_base="${PG_ADMIN_URL%/*}"
  db_uid="$(id -u postgres 2>/dev/null || true)"
  SERVER_BIN="${SERVER_BIN:-target/release/examples/axum_server}"
  [ -n "${SKIP_BUILD:-}" ] || nice -n 19 cargo build --release --features sqlite,postgres \
    --example axum_server --example bench_http_load >&2
  workdir="$(mktemp -d)"
  server_pid=""
  trap '[ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null; rm -rf "$workdir"' EXIT
  echo "deployed: $(nproc) cores shared by server, database and load client; $(date -u +%FT%TZ); load $(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'backend\tflow\tconns\treq/s\tp50ms\tp99ms\terrors\tserver\tdb\tclient\trequests\n'
  for backend in $BACKENDS; do
    case "$backend" in
      memory) storage=memory; uid_args=(); codes="$CODES" ;;
      sqlite) storage="sqlite:$workdir/grantor.db"; uid_args=(); codes="$CODES_DB" ;;
      postgres)
        psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $PG_DATABASE" >/dev/null
        psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $PG_DATABASE" >/dev/null
        storage="$pg_base/$PG_DATABASE"
        uid_args=(--db-uid "$db_uid"); codes="$CODES_DB" ;;
      *) echo "unknown backend $backend" >&2; exit 1 ;;
    esac
    "$SERVER_BIN" --addr 127.0.0.1:8767 --issuer http://127.0.0.1:8767 \
      --config benches/http/axum_server.json --storage "$storage" ${SERVER_ARGS:-} >/dev/null &
    server_pid=$!
    for _ in $(seq 200); do
      curl -s -o /dev/null http://127.0.0.1:8767/.well-known/oauth-authorization-server && break
      sleep 0.1
    done
    # Warm-up: connections, caches, the database's buffers.
    target/release/examples/bench_http_load http://127.0.0.1:8767 client_credentials \
      --connections 16 --duration 2 >/dev/null
    for flow in $FLOWS; do
      for connections in $CONNECTION_COUNTS; do
        row="$(target/release/examples/bench_http_load http://127.0.0.1:8767 "$flow" \
          --connections "$connections" --duration "$DURATION" --codes "$codes" \
          --server-pid "$server_pid" ${uid_args[@]+"${uid_args[@]}"})" \
          || { echo "$backend $flow $connections: errors: $row" >&2; exit 1; }
        printf '%s\t%s\n' "$backend" "$row"
      done
    done
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  done
  exit 0
fi

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }

server_pids=()
cleanup() { for pid in ${server_pids[@]+"${server_pids[@]}"}; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# Starts a release example in the background and waits until `url` answers.
start() {
  local url="$1"; shift
  "$@" >/dev/null &
  server_pids+=($!)
  for _ in $(seq 100); do
    curl -s -o /dev/null "$url" && return 0
    sleep 0.1
  done
  echo "$1 did not start" >&2
  exit 1
}

if [ -z "$BASE" ] || [ "$BASE" = axum_server ]; then
  cargo build --release --example bench_http_server >&2
  start "http://127.0.0.1:8765$BARE_PATH" target/release/examples/bench_http_server 127.0.0.1:8765
  if [ "$BASE" = axum_server ]; then
    cargo build --release --example axum_server >&2
    start "http://127.0.0.1:8766/.well-known/oauth-authorization-server" \
      target/release/examples/axum_server --addr 127.0.0.1:8766 \
      --issuer http://127.0.0.1:8766 --config benches/http/axum_server.json
    BASE="http://127.0.0.1:8766"
    BARE_BASE="http://127.0.0.1:8765"
  else
    BASE="http://127.0.0.1:8765"
  fi
fi
BARE_BASE="${BARE_BASE:-$BASE}"

export BASIC_AUTH
BASIC_AUTH="$(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)"
token="$(curl -sf -X POST "$BASE$TOKEN_PATH" -H "Authorization: Basic $BASIC_AUTH" \
  -d grant_type=client_credentials -d scope=read | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')"
[ -n "$token" ] || { echo "could not get a token from $BASE$TOKEN_PATH" >&2; exit 1; }

# Runs wrk and prints its requests/s; fails if any response was not 2xx.
rps() {
  local name="$1"; shift
  local out
  out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@")"
  if grep -q "Non-2xx" <<<"$out"; then echo "$name: errors" >&2; echo "$out" >&2; exit 1; fi
  local value
  value="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  local p99
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  printf '%-10s %12s req/s   p99 %s\n' "$name" "$value" "$p99" >&2
  echo "$value"
}

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION x $ROUNDS rounds against $BASE (floor $BARE_BASE) on $(nproc) cores, $(date -u +%FT%TZ)" >&2
wrk -t"$THREADS" -c"$CONNECTIONS" -d2s "$BARE_BASE$BARE_PATH" >/dev/null # warm-up
wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -s benches/http/token.lua "$BASE$TOKEN_PATH" >/dev/null
bare=0 token_rps=0 protected=0
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
for _ in $(seq "$ROUNDS"); do
  bare="$(max "$bare" "$(rps bare "$BARE_BASE$BARE_PATH")")"
  token_rps="$(max "$token_rps" "$(rps token -s benches/http/token.lua "$BASE$TOKEN_PATH")")"
  protected="$(max "$protected" "$(rps protected -H "Authorization: Bearer $token" "$BASE$PROTECTED_PATH")")"
done
awk -v b="$bare" -v t="$token_rps" -v p="$protected" 'BEGIN {
  printf "best of each: bare %.0f req/s, token %.0f req/s, protected %.0f req/s\n", b, t, p
  printf "token endpoint / bare floor:  %.2f\n", t / b
  printf "protected route / bare floor: %.2f\n", p / b
}'
