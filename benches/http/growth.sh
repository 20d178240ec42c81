#!/usr/bin/env bash
# Growth: bearer validation (`/api/me`) and token issuance (client credentials at `/token`) of
# examples/axum_server with 10,000, 1,000,000 and 10,000,000 live access tokens in the
# database (SIZES), on PostgreSQL and SQLite (BACKENDS); then EXPLAIN of the hot queries at the
# largest size, and (PURGE=1) a purge of every bulk row while bearer validation runs, for the
# p99 during the purge.
#
#   benches/http/growth.sh
#   SIZES="10000 1000000" BACKENDS=sqlite DURATION=8 benches/http/growth.sh
#
# The bulk rows are written straight into grantor_tokens (random digests, one grant each,
# expiring in 30 minutes) with the server stopped; the measured tokens are issued over HTTP
# (and live an hour). The purge (bench_http_purge) runs `purge_expired` for a time 40 minutes
# ahead, so it deletes every bulk row while the server, whose clock is the real one, still
# serves them, and keeps the measured tokens.
# Needs the release examples of run.sh deployed, and bench_http_purge.
set -euo pipefail
cd "$(dirname "$0")/../.."

BACKENDS="${BACKENDS:-postgres sqlite}"
SIZES="${SIZES:-10000 1000000 10000000}"
DURATION="${DURATION:-8}"
CONNECTIONS="${CONNECTIONS:-16}"
PURGE="${PURGE:-1}"
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PG_DATABASE="${PG_DATABASE:-grantor_growth}"
SQLITE_FILE="${SQLITE_FILE:-/tmp/grantor-growth.db}"
pg_url="${PG_ADMIN_URL%/*}/$PG_DATABASE"
ADDR=127.0.0.1:8768

[ -n "${SKIP_BUILD:-}" ] || nice -n 19 cargo build --release --features sqlite,postgres --example axum_server \
  --example bench_http_load --example bench_http_purge >&2

server_pid=""
trap '[ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null' EXIT

start() {
  "${SERVER_BIN:-target/release/examples/axum_server}" --addr "$ADDR" --issuer "http://$ADDR" \
    --config benches/http/axum_server.json --storage "$1" >/dev/null &
  server_pid=$!
  for _ in $(seq 300); do
    curl -s -o /dev/null "http://$ADDR/.well-known/oauth-authorization-server" && return 0
    sleep 0.1
  done
  echo "the server did not start" >&2; exit 1
}
stop() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""; }

# Adds live bulk tokens until the table holds $2 of them.
fill() {
  local backend="$1" target="$2" have
  case "$backend" in
    postgres)
      have="$(psql "$pg_url" -tAc "SELECT count(*) FROM grantor_tokens WHERE client_id = 'bulk'")"
      psql "$pg_url" -qc "INSERT INTO grantor_tokens (digest, grant_id, client_id, owner, scope,
          issued_at, expires_at)
        SELECT sha256(int8send(i)), substr(sha256(int8send(-i)), 1, 16), 'bulk', 'owner', 'read',
          extract(epoch FROM now())::bigint, extract(epoch FROM now())::bigint + 1800
        FROM generate_series($have + 1, $target) AS i" >/dev/null
      psql "$pg_url" -qc "VACUUM ANALYZE grantor_tokens" >/dev/null ;;
    sqlite)
      have="$(sqlite3 "$SQLITE_FILE" "SELECT count(*) FROM grantor_tokens WHERE client_id = 'bulk'")"
      sqlite3 "$SQLITE_FILE" "WITH RECURSIVE s(i) AS (SELECT $have + 1 UNION ALL SELECT i + 1 FROM s
          WHERE i < $target)
        INSERT INTO grantor_tokens (digest, grant_id, client_id, owner, scope, issued_at, expires_at)
        SELECT randomblob(32), randomblob(16), 'bulk', 'owner', 'read', unixepoch(),
          unixepoch() + 1800 FROM s; ANALYZE;" ;;
  esac
}

explain() {
  local backend="$1"
  local digest="'\\x$(printf '%064d' 1)'"
  case "$backend" in
    postgres)
      for q in \
        "SELECT grant_id, client_id, owner, scope, issued_at, expires_at, confirmation, openid, resources, actor FROM grantor_tokens WHERE digest = $digest" \
        "SELECT id, name, secret_digest FROM grantor_clients WHERE id = 'bench'" \
        "DELETE FROM grantor_tokens WHERE digest IN (SELECT digest FROM grantor_tokens WHERE expires_at <= 0 LIMIT 5000)"; do
        echo "EXPLAIN $q"
        psql "$pg_url" -tAc "EXPLAIN $q"
      done ;;
    sqlite)
      for q in \
        "SELECT grant_id FROM grantor_tokens WHERE digest = x'00'" \
        "SELECT id FROM grantor_clients WHERE id = 'bench'" \
        "DELETE FROM grantor_tokens WHERE digest IN (SELECT digest FROM grantor_tokens WHERE expires_at <= 0 LIMIT 1000)"; do
        echo "EXPLAIN QUERY PLAN $q"
        sqlite3 "$SQLITE_FILE" "EXPLAIN QUERY PLAN $q"
      done ;;
  esac
}

echo "growth: $(nproc) cores shared by server, database and load client; $(date -u +%FT%TZ); load $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'backend\tlive\tflow\tconns\treq/s\tp50ms\tp99ms\terrors\tserver\tdb\tclient\trequests\n'
for backend in $BACKENDS; do
  case "$backend" in
    postgres)
      psql "$PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $PG_DATABASE" >/dev/null
      psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $PG_DATABASE" >/dev/null
      storage="$pg_url"; uid_args=(--db-uid "$(id -u postgres)") ;;
    sqlite)
      rm -f "$SQLITE_FILE" "$SQLITE_FILE-wal" "$SQLITE_FILE-shm"
      storage="sqlite:$SQLITE_FILE"; uid_args=() ;;
  esac
  start "$storage"; stop # creates the tables
  for size in $SIZES; do
    started=$(date +%s)
    fill "$backend" "$size"
    echo "# $backend: $size bulk tokens after $(( $(date +%s) - started ))s of filling" >&2
    start "$storage"
    for flow in bearer client_credentials; do
      row="$(target/release/examples/bench_http_load "http://$ADDR" "$flow" \
        --connections "$CONNECTIONS" --duration "$DURATION" --server-pid "$server_pid" \
        ${uid_args[@]+"${uid_args[@]}"})"
      printf '%s\t%s\t%s\n' "$backend" "$size" "$row"
    done
    stop
  done
  explain "$backend" >&2
  if [ "$PURGE" = 1 ]; then
    start "$storage"
    target/release/examples/bench_http_purge "$storage" 2400 >&2 &
    purge_pid=$!
    sleep 1
    row="$(target/release/examples/bench_http_load "http://$ADDR" bearer \
      --connections "$CONNECTIONS" --duration "$DURATION" --server-pid "$server_pid" \
      ${uid_args[@]+"${uid_args[@]}"})"
    printf '%s\tpurging\t%s\n' "$backend" "$row"
    row="$(target/release/examples/bench_http_load "http://$ADDR" client_credentials \
      --connections "$CONNECTIONS" --duration "$DURATION" --server-pid "$server_pid" \
      ${uid_args[@]+"${uid_args[@]}"})"
    printf '%s\tpurging\t%s\n' "$backend" "$row"
    wait "$purge_pid"
    stop
  fi
done
