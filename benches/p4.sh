#!/usr/bin/env bash
# P4 (PERFORMANCE.md): 100,000 invitations through `truview worker` to a local SMTP server
# (npm smtp-server) vs a minimal lettre loop sending the same messages to the same server,
# on SQLite and PostgreSQL, in release. Installs the test parts if missing and starts a
# throw-away PostgreSQL on loopback (.ci/postgres.sh). Output: a table and
# benches/p4-results.json. BENCH_INVITATIONS overrides the count; BENCH_SQLITE_ONLY=1 skips
# PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d tests/browser/node_modules/smtp-server ] || npm ci --prefix tests/browser --silent --no-audit --no-fund
if [ -z "${BENCH_PG_URL:-}" ] && [ "${BENCH_SQLITE_ONLY:-0}" != 1 ]; then
  BENCH_PG_URL=$(.ci/postgres.sh start)
  export BENCH_PG_URL
fi
cargo bench --bench p4
