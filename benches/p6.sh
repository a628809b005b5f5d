#!/usr/bin/env bash
# P6 (PERFORMANCE.md): footprint of `truview serve` on SQLite.
# - first start on an empty database in a fresh temporary directory (migrations run and the
#   demo vendor is seeded), then
# - a restart over that same, already-migrated database.
# For each: milliseconds from launch until GET /ready answers 200, then after P6_IDLE_SECS
# (default 5) of idleness VmRSS, its anonymous and file-backed parts (/proc/PID/status:
# RssAnon, RssFile), VmHWM (peak) and the thread count. The server is stopped after each
# reading. With P6_LOAD_SECS=N (and wrk installed) the restart is also loaded for N seconds
# with the P1 read (the demo product's first review page, 64 connections) and read again.
# With P6_PHONES=1 the restart then imports orders with phone numbers (one GB; then a US and
# a DE one; then six more regions), each followed by P6_IDLE_SECS of idleness and a reading:
# what parsing phone numbers of more and more regions costs a node.
#
# Usage: benches/p6.sh [path/to/truview]   (default: $CARGO_TARGET_DIR/release/truview)
# P6_SMAPS_DIR=DIR keeps each reading's /proc/PID/smaps there (0.smaps, 1.smaps, ...).
# Extra environment (TRUVIEW_*, MIMALLOC_*) is passed to the server, for experiments.
# The ready time depends on the machine's load; RSS does not (much).
set -euo pipefail
bin=${1:-${CARGO_TARGET_DIR:-$HOME/.cache/truview/target}/release/truview}
[ -x "$bin" ] || { echo "no binary at $bin (cargo build --release first)" >&2; exit 2; }
idle=${P6_IDLE_SECS:-5}
load=${P6_LOAD_SECS:-0}
loaded=
work=$(mktemp -d /tmp/truview-p6.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export TRUVIEW_BIND=127.0.0.1:$port DATABASE_URL=$work/truview.db TRUVIEW_LOG_LEVEL=${TRUVIEW_LOG_LEVEL:-warn}
# The load phase is one client: lift the per-client and per-key limits (idle figures do not
# depend on them).
export TRUVIEW_RATE_LIMIT_PER_IP=${TRUVIEW_RATE_LIMIT_PER_IP:-1000000000} \
  TRUVIEW_RATE_LIMIT_PER_KEY=${TRUVIEW_RATE_LIMIT_PER_KEY:-1000000000} \
  TRUVIEW_RATE_LIMIT_PER_VENDOR_PUBLIC=${TRUVIEW_RATE_LIMIT_PER_VENDOR_PUBLIC:-1000000000}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
field() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
mib() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }

rows=()
# start LABEL: launches serve, waits for /ready, idles, records one row (server left running).
start() {
  local label=$1 t0 t1
  t0=$(now_ms)
  "$bin" serve >"$work/$label.out" 2>"$work/$label.err" &
  pid=$!
  until curl -sf -o /dev/null "http://127.0.0.1:$port/ready"; do
    kill -0 "$pid" 2>/dev/null || { echo "serve exited:" >&2; cat "$work/$label.err" >&2; exit 1; }
    sleep 0.005
  done
  t1=$(now_ms)
  sleep "$idle"
  record "$label" $((t1 - t0))
}
record() {
  rows+=("$(printf '| %s | %s | %s | %s | %s | %s | %s |' "$1" "$2" \
    "$(mib "$(field VmRSS)")" "$(mib "$(field RssAnon)")" "$(mib "$(field RssFile)")" \
    "$(mib "$(field VmHWM)")" "$(field Threads)")")
  if [ -n "${P6_SMAPS_DIR:-}" ]; then cp "/proc/$pid/smaps" "$P6_SMAPS_DIR/${#rows[@]}.smaps"; fi
}
stop() { kill -INT "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

start "first start (empty DB, demo seeded)"
stop
start "restart (migrated DB)"
if [ "$load" -gt 0 ] && command -v wrk >/dev/null; then
  pk=$(grep -o 'pk_[A-Za-z0-9_-]*' "$work/first start (empty DB, demo seeded).out" | head -1)
  wrk -t2 -c64 -d"${load}s" -H "Origin: http://127.0.0.1:$port" \
    "http://127.0.0.1:$port/api/v1/public/$pk/reviews?sku=LAMP-OAK" >"$work/wrk.out"
  loaded="P1 read under load: $(awk '/Requests\/sec/ { print $2 }' "$work/wrk.out") req/s, $(awk '/Non-2xx/ { print $NF }' "$work/wrk.out") non-2xx"
  record "restart, after ${load} s of P1 reads" "—"
  sleep "$idle"
  record "restart, ${idle} s after the load" "—"
fi
if [ "${P6_PHONES:-0}" = 1 ]; then
  sk=$(grep -o 'sk_[A-Za-z0-9_-]*' "$work/first start (empty DB, demo seeded).out" | head -1)
  n=0
  phones() { # LABEL PHONE...: imports one order per phone, idles, records.
    local label=$1 body= p
    shift
    for p in "$@"; do
      n=$((n + 1))
      body="$body${body:+,}{\"order_id\":\"P6-$n\",\"phone\":\"$p\",\"items\":[{\"sku\":\"LAMP-OAK\"}],\"purchased_at\":\"2026-10-01\"}"
    done
    curl -sf -o /dev/null -H "Authorization: Bearer $sk" -H 'Content-Type: application/json' \
      --data "[$body]" "http://127.0.0.1:$port/api/v1/orders" || { echo "order import failed" >&2; exit 1; }
    sleep "$idle"
    record "$label" "—"
  }
  phones "restart, then one GB phone" +447400123123
  phones "then a US and a DE phone" +12015550123 +4915123456789
  phones "then FR, RU, IT, JP, BR, IN phones" +33612345678 +79161234567 +390612345678 +819012345678 +5511912345678 +919812345678
fi
stop

echo "| run | ready ms | VmRSS MiB | anon MiB | file MiB | peak (VmHWM) MiB | threads |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
[ -z "${loaded:-}" ] || echo "$loaded"
