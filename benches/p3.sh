#!/usr/bin/env bash
# P3 (PERFORMANCE.md): importing 1,000,000 orders from one CSV file (1,333,334 line items)
# - through `truview orders import` (streamed, chunks of 5,000 orders), and
# - through POST /api/v1/orders (fifty requests of 20,000 orders, about 3 MiB each),
# on SQLite and on PostgreSQL, as a ratio to the database's own bulk loader on the same
# file in the same run: `sqlite3 .import` and PostgreSQL `\copy` into one flat table with
# the file's columns, and (second baseline, "same lookups") the rows with their e-mail's
# HMAC into a table indexed on order number and contact HMAC, as TruView's is; and (third,
# "own schema") the loader filling TruView's own tables (orders and order_items, with their
# keys, indexes and foreign keys) with the very rows TruView wrote, exported after its import:
# the database work the schema asks for, without TruView's parsing, checks, hashing, sealing
# or chunked transactions. Peak RSS of the
# importing process (the CLI, or the server for HTTP) from /usr/bin/time and
# /proc/PID/status (VmHWM).
#
# Usage: benches/p3.sh            (P3_ORDERS=1000000, P3_SQLITE_ONLY=1 to skip PostgreSQL)
# Output: a table on stdout and benches/p3-results.json. Release build, 1 run per cell.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
orders=${P3_ORDERS:-1000000}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/truview/target}
cargo build --release --quiet
bin="$CARGO_TARGET_DIR/release/truview"
work=$(mktemp -d /tmp/truview-p3.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export TRUVIEW_LOG_LEVEL=error TRUVIEW_DEMO=false PGOPTIONS="-c client_min_messages=warning"

python3 - "$work" "$orders" <<'EOF'
import hashlib, hmac, sys
work, n = sys.argv[1], int(sys.argv[2])
header = "order_id,email,customer_name,sku,item_name,price,total,currency,purchased_at,status\n"
def rows(i):
    for k in range(1 + (i % 3 == 0)):
        sku = (i * 7 + k) % 1000
        yield f"P-{i:07d},buyer{i}@mail.example,Buyer {i},SKU-{sku:04d},Item {sku},19.90,39.80,EUR,2026-10-{1 + i % 28:02d}T10:00:00Z,delivered\n"
# The second baseline's file: the same rows with the e-mail's HMAC-SHA256 appended.
def with_hmac(row):
    email = row.split(",")[1]
    return row[:-1] + "," + hmac.new(b"p3-bench", email.encode(), hashlib.sha256).hexdigest() + "\n"
with open(f"{work}/orders.csv", "w") as whole, open(f"{work}/orders-hmac.csv", "w") as hashed:
    whole.write(header)
    hashed.write(header[:-1] + ",email_hmac\n")
    part = None
    for i in range(n):
        if i % 20000 == 0:
            if part: part.close()
            part = open(f"{work}/part-{i // 20000:03d}.csv", "w")
            part.write(header)
        for r in rows(i):
            whole.write(r); part.write(r); hashed.write(with_hmac(r))
    part.close()
EOF
rows=$(($(wc -l < "$work/orders.csv") - 1))
size=$(stat -c %s "$work/orders.csv")
echo "P3: $orders orders, $rows line items, $((size / 1048576)) MiB of CSV"

# Seconds and peak RSS (KiB) of a command, from GNU time.
timed() {
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" > "$work/out" 2>&1 || { cat "$work/out" >&2; return 1; }
  cat "$work/time"
}

flat_table="CREATE TABLE orders_csv (order_id TEXT, email TEXT, customer_name TEXT, sku TEXT, item_name TEXT, price TEXT, total TEXT, currency TEXT, purchased_at TEXT, status TEXT)"
# The second baseline, "the same lookups": the rows with their e-mail's HMAC precomputed
# (orders-hmac.csv), into a table indexed as an order table must be for what TruView does
# with it: an order by its number (matching) and a buyer's orders by contact HMAC (erasure,
# the funnel). The index of uniformly random HMACs is what dominates TruView's import; here
# the loader pays it too, but not the HMACs, ids, sealing, checks or a second table.
indexed_table="${flat_table%)}, email_hmac TEXT); CREATE INDEX orders_csv_order ON orders_csv (order_id); CREATE INDEX orders_csv_contact ON orders_csv (email_hmac);"

# Creates a vendor on DATABASE_URL; prints "ID SK".
vendor() {
  "$bin" migrate > /dev/null
  "$bin" vendor create --name "P3 $RANDOM" --owner-email "p3-$RANDOM@bench.example" --owner-password "p3-bench-password-long-91" > "$work/vendor"
  local id sk
  id=$(sed -n 's/.*Vendor: .*(\(.*\)).*/\1/p' "$work/vendor")
  sk=$(sed -n 's/.*Secret key: *\(sk_[A-Za-z0-9_-]*\).*/\1/p' "$work/vendor")
  echo "$id $sk"
}

# The HTTP import: a server on the database, fifty requests; prints "seconds peak_rss_kib".
http_import() {
  local sk=$1 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$bin" serve --no-worker --bind "127.0.0.1:$port" > "$work/serve.log" 2>&1 &
  local pid=$!
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/health" > /dev/null && break; sleep 0.1; done
  local start end
  start=$(date +%s.%N)
  for part in "$work"/part-*.csv; do
    curl -sf -X POST "http://127.0.0.1:$port/api/v1/orders" -H "authorization: Bearer $sk" \
      -H 'content-type: text/csv' -H "idempotency-key: p3-$(basename "$part")" --data-binary "@$part" > /dev/null \
      || { echo "import of $part failed" >&2; cat "$work/serve.log" >&2; kill "$pid"; return 1; }
  done
  end=$(date +%s.%N)
  local rss
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$(python3 -c "print(round($end - $start, 2))") $rss"
}

ratio_of() { python3 -c "print(round($1 / $2, 2))"; }

declare -a lines=()
json="["
record() { # backend, path, ours_s, ours_rss, base_s, base_rss, indexed_base_s, own_schema_base_s
  local ratio ratio_same ratio_own
  ratio=$(ratio_of "$3" "$5")
  ratio_same=$(ratio_of "$3" "$7")
  ratio_own=$(ratio_of "$3" "$8")
  lines+=("$(printf '| %-10s | %-4s | %8.1f s | %6d MiB | %8.1f s | %6.2f× | %10.1f s | %6.2f× | %8.1f s | %6.2f× |' "$1" "$2" "$3" $(($4 / 1024)) "$5" "$ratio" "$7" "$ratio_same" "$8" "$ratio_own")")
  json+="{\"backend\":\"$1\",\"path\":\"$2\",\"orders\":$orders,\"seconds\":$3,\"peak_rss_kib\":$4,\"baseline_seconds\":$5,\"ratio\":$ratio,\"same_lookups_baseline_seconds\":$7,\"ratio_same_lookups\":$ratio_same,\"own_schema_baseline_seconds\":$8,\"ratio_own_schema\":$ratio_own},"
}

# SQLite
read -r base_s base_rss < <(cd "$work" && timed sqlite3 base.db "$flat_table" ".mode csv" ".import --skip 1 orders.csv orders_csv")
read -r ibase_s _ < <(cd "$work" && timed sqlite3 indexed.db "$indexed_table" ".mode csv" ".import --skip 1 orders-hmac.csv orders_csv")
export DATABASE_URL="$work/cli.db"
read -r vid _ < <(vendor)
read -r s rss < <(timed "$bin" orders import "$work/orders.csv" --vendor "$vid")
# The third baseline: TruView's rows (exported from the import just made, as CSV) into a
# fresh copy of its schema, with foreign keys checked and the import connection's page
# cache, as TruView's import has them. (CSV has no NULL: empty columns arrive as '', which
# leaves the rows' sizes and the indexes' shape as they were.)
sqlite3 "$work/cli.db" ".mode csv" ".output $work/own-vendors.csv" "SELECT * FROM vendors" \
  ".output $work/own-orders.csv" "SELECT * FROM orders" ".output $work/own-items.csv" "SELECT * FROM order_items"
DATABASE_URL="$work/own.db" "$bin" migrate > /dev/null
sqlite3 "$work/own.db" ".mode csv" ".import $work/own-vendors.csv vendors"
read -r obase_s _ < <(cd "$work" && timed sqlite3 own.db "PRAGMA foreign_keys = ON" "PRAGMA cache_size = -32768" \
  ".mode csv" ".import own-orders.csv orders" ".import own-items.csv order_items")
rm -f "$work"/own*
record sqlite cli "$s" "$rss" "$base_s" "$base_rss" "$ibase_s" "$obase_s"
export DATABASE_URL="$work/http.db"
read -r _ sk < <(vendor)
read -r s rss < <(http_import "$sk")
record sqlite http "$s" "$rss" "$base_s" "$base_rss" "$ibase_s" "$obase_s"

# PostgreSQL
if [ "${P3_SQLITE_ONLY:-0}" != 1 ]; then
  pg=${BENCH_PG_URL:-$("$root/.ci/postgres.sh" start)}
  admin=${pg%/*}
  for db in p3_base p3_indexed p3_cli p3_http p3_own; do
    psql "$pg" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" > /dev/null
  done
  psql "$admin/p3_base" -qc "$flat_table" > /dev/null
  read -r base_s base_rss < <(timed psql "$admin/p3_base" -qc "\\copy orders_csv FROM '$work/orders.csv' CSV HEADER")
  psql "$admin/p3_indexed" -qc "$indexed_table" > /dev/null
  read -r ibase_s _ < <(timed psql "$admin/p3_indexed" -qc "\\copy orders_csv FROM '$work/orders-hmac.csv' CSV HEADER")
  export DATABASE_URL="$admin/p3_cli"
  read -r vid _ < <(vendor)
  read -r s rss < <(timed "$bin" orders import "$work/orders.csv" --vendor "$vid")
  # The third baseline, as on SQLite: TruView's rows into a fresh copy of its schema.
  psql "$admin/p3_cli" -qc "\\copy vendors TO '$work/own-vendors.csv' CSV" \
    -c "\\copy orders TO '$work/own-orders.csv' CSV" -c "\\copy order_items TO '$work/own-items.csv' CSV"
  DATABASE_URL="$admin/p3_own" "$bin" migrate > /dev/null
  psql "$admin/p3_own" -qc "\\copy vendors FROM '$work/own-vendors.csv' CSV"
  read -r obase_s _ < <(timed psql "$admin/p3_own" -qc "\\copy orders FROM '$work/own-orders.csv' CSV" \
    -c "\\copy order_items FROM '$work/own-items.csv' CSV")
  rm -f "$work"/own*
  record postgres cli "$s" "$rss" "$base_s" "$base_rss" "$ibase_s" "$obase_s"
  export DATABASE_URL="$admin/p3_http"
  read -r _ sk < <(vendor)
  read -r s rss < <(http_import "$sk")
  record postgres http "$s" "$rss" "$base_s" "$base_rss" "$ibase_s" "$obase_s"
  for db in p3_base p3_indexed p3_cli p3_http p3_own; do psql "$pg" -qc "DROP DATABASE $db" > /dev/null; done
fi

echo "| backend    | path | truview    | peak RSS   | baseline   | ratio   | same lookups | ratio   | own schema | ratio   |"
echo "|------------|------|------------|------------|------------|---------|--------------|---------|------------|---------|"
printf '%s\n' "${lines[@]}"
echo "${json%,}]" > "$root/benches/p3-results.json"
