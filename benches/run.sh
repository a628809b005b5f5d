#!/usr/bin/env bash
# Runs the P1/P2 benchmarks in release on SQLite and PostgreSQL, prints the table and
# writes benches/results.json. Installs Debian's wrk if missing; starts a throw-away
# PostgreSQL on loopback (.ci/postgres.sh). Sizes: see the header of benches/p1_p2.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq wrk
fi
if [ -z "${BENCH_PG_URL:-}" ] && [ "${BENCH_SQLITE_ONLY:-0}" != 1 ]; then
  BENCH_PG_URL=$(.ci/postgres.sh start)
  export BENCH_PG_URL
fi
cargo bench --bench p1_p2
