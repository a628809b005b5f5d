#!/usr/bin/env bash
# End-to-end smoke of the built binary, as an operator runs it: `serve` on a fresh
# database answers /health, /ready and /metrics, prints the demo login, keeps its data
# across a restart, stops cleanly on SIGTERM; `migrate` twice changes nothing the second
# time. Usage: .ci/smoke.sh BINARY [DATABASE_URL]   (default: a fresh SQLite file)
set -euo pipefail
bin=$1
work=$(mktemp -d)
url=${2:-$work/truview.db}
port=$((20000 + RANDOM % 20000))
export DATABASE_URL=$url TRUVIEW_KEY_FILE=$work/keys.json TRUVIEW_LOG_LEVEL=warn TRUVIEW_DEMO=true
cd "$work"

fail() { echo "smoke: FAIL: $*" >&2; [ -f serve.log ] && tail -20 serve.log >&2; exit 1; }

wait_up() {
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || fail "serve exited early"
    sleep 0.1
  done
  fail "serve did not answer /health within 10 s"
}

start() {
  "$bin" serve --bind "127.0.0.1:$port" >serve.log 2>&1 &
  pid=$!
  wait_up
}

stop() {
  kill -TERM "$pid"
  wait "$pid" || fail "serve exited with status $? on SIGTERM"
}

out=$("$bin" migrate) && echo "$out"
echo "$out" | grep -q "^0 migration(s) applied" && fail "first migrate on a fresh database applied nothing: $out"
out=$("$bin" migrate) && echo "$out"
echo "$out" | grep -q "^0 migration(s) applied" || fail "second migrate applied something: $out"

start_ms=$(date +%s%3N)
start
echo "smoke: serve answered /health after $(( $(date +%s%3N) - start_ms )) ms"
grep -q "Console login:    owner@demo.truview.example" serve.log || fail "no demo login printed"
curl -fsS "http://127.0.0.1:$port/ready" | grep -q '"status":"ready"' || fail "/ready"
curl -fsS "http://127.0.0.1:$port/metrics" | grep -q 'truview_http_requests_total{method="GET",route="/ready",status="200"} 1' || fail "/metrics does not count /ready"
password=$(sed -n 's/.*Console login:    owner@demo.truview.example \/ \(.*\)$/\1/p' serve.log)
stop

start
grep -q "Console login" serve.log && fail "demo vendor created twice: data did not survive the restart"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"owner@demo.truview.example\",\"password\":\"$password\"}")
[ "$code" = 200 ] || fail "login after restart gave $code"
stop
rm -rf "$work"
echo "smoke: passed (${url%%://*})"
