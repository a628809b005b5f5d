#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server on loopback as the postgres user and prints its URL.
# Usage: .ci/postgres.sh start|stop   (data in $TRUVIEW_PG_DIR, default /tmp/truview-pg)
set -euo pipefail
dir=${TRUVIEW_PG_DIR:-/tmp/truview-pg}
port=${TRUVIEW_PG_PORT:-54329}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
as_pg() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi; }
case "${1:-start}" in
  start)
    if [ -z "$bin" ]; then
      echo "postgres.sh: installing postgresql" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
      bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    if ! as_pg "$bin/pg_ctl -D $dir status" >/dev/null 2>&1; then
      rm -rf "$dir"; mkdir -p "$dir"; chown postgres "$dir" 2>/dev/null || true
      as_pg "$bin/initdb -D $dir -U postgres --auth=trust -E UTF8 --no-locale" >/dev/null
      as_pg "$bin/pg_ctl -D $dir -l $dir/server.log -w -o '-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=400 -c fsync=off -c synchronous_commit=off' start" >/dev/null
    fi
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    as_pg "$bin/pg_ctl -D $dir -m fast stop" >/dev/null 2>&1 || true
    ;;
esac
