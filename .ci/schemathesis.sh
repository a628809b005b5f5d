#!/usr/bin/env bash
# Schemathesis (4.x) against the live binary, then the NUL/control-character probe
# (.ci/nul_probe.py) against the same server.
#
# Usage: .ci/schemathesis.sh BINARY [DATABASE_URL]   (default: a fresh SQLite file)
#
# Installs schemathesis into a virtualenv outside the clone (reused when present), starts
# `BINARY serve` on a free loopback port with the rate limits raised for the run, logs in
# as the demo owner and runs `st run --checks all --continue-on-failure` over every phase
# (examples, coverage, fuzzing, stateful; the spec has no examples, so that one skips, and
# the stateful links are inferred by schemathesis) with the staff token, the secret key and
# the publishable key supplied through a generated schemathesis.toml.
#
# Prints `schemathesis (BACKEND): N cases, F failures, E errors` (N: generated cases over all
# phases; F: distinct failures, the CLI's "unique failures"; E: errors, all from the JSON
# report) and `nul probe: N requests, M 5xx, B at the database backstop`; exits non-zero if
# F or E is above zero, if fewer than SCHEMATHESIS_MIN_CASES cases ran, or if the probe saw
# a 5xx or a 400 from the database backstop. On failure the
# deduplicated failures (.ci/schemathesis_digest.py) go to stderr and the work directory
# (server log, config, reports) is kept.
#
# Environment (all optional):
#   SCHEMATHESIS_MAX_EXAMPLES   --max-examples per operation and phase (default 150)
#   SCHEMATHESIS_MIN_CASES      the case-count floor (default 5000)
#   SCHEMATHESIS_WORKERS        --workers (default 1)
#   SCHEMATHESIS_SEED           --seed (default: random; the one used is printed)
#   SCHEMATHESIS_REPORT_DIR     where the reports go (default: in the temp work directory)
#   SCHEMATHESIS_REPORTS        --report formats (default junit,json,ndjson)
#   SCHEMATHESIS_EXTRA_ARGS     more `st run` arguments, word-split
#   SCHEMATHESIS_SKIP_PROBE=1   skip the NUL probe
#   TRUVIEW_CACHE               cache root for the virtualenv (default ~/.cache/truview)
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 BINARY [DATABASE_URL]" >&2; exit 2; }
bin=$(readlink -f "$1")
[ -x "$bin" ] || { echo "schemathesis.sh: $1 is not an executable" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
url=${2:-$work/truview.db}
case "$url" in postgres://*|postgresql://*) backend=postgres ;; *) backend=sqlite ;; esac

max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-150}
min_cases=${SCHEMATHESIS_MIN_CASES:-5000}
# One worker: with two, CPython 3.11's compile() (which hypothesis calls while describing
# strategies) now and then fails with "SystemError: AST constructor recursion depth
# mismatch" when two threads race in it, an error of the tool, not of the server.
workers=${SCHEMATHESIS_WORKERS:-1}
seed=${SCHEMATHESIS_SEED:-$RANDOM$RANDOM}
reports=${SCHEMATHESIS_REPORTS:-junit,json,ndjson}
report_dir=${SCHEMATHESIS_REPORT_DIR:-$work/report}
mkdir -p "$report_dir"

log() { echo "schemathesis.sh: $*" >&2; }

# ---- schemathesis in a virtualenv outside the clone -------------------------------------
cache=${TRUVIEW_CACHE:-$HOME/.cache/truview}
venv=$cache/venv
st=$venv/bin/st
if ! "$st" --version 2>/dev/null | grep -Eq 'version 4\.'; then
  log "installing schemathesis 4.x into $venv"
  mkdir -p "$cache"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq python3-venv; } >&2
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q --disable-pip-version-check 'schemathesis>=4,<5' >&2
fi
st_version=$("$st" --version | awk '{print $NF}')

# ---- the server -------------------------------------------------------------------------
port=$((20000 + RANDOM % 20000))
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((20000 + RANDOM % 20000)); done
base=http://127.0.0.1:$port
pid=""
keep=0

cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [ "$keep" = 1 ]; then
    log "server log, config and reports kept in $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { log "FAIL: $*"; [ -f "$work/serve.log" ] && tail -20 "$work/serve.log" >&2; keep=1; exit 1; }

# Rate limits would turn most of the fuzzing into 429s: raise them for this run only.
export DATABASE_URL=$url TRUVIEW_KEY_FILE=$work/keys.json TRUVIEW_LOG_LEVEL=warn TRUVIEW_DEMO=true \
  TRUVIEW_RATE_LIMIT_PER_IP=10000000 TRUVIEW_RATE_LIMIT_PER_KEY=10000000 \
  TRUVIEW_LOGIN_FAILURES_PER_ACCOUNT=10000000 TRUVIEW_LOGIN_ATTEMPTS_PER_IP=10000000
(cd "$work" && exec "$bin" serve --bind "127.0.0.1:$port") >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do
  curl -fsS "$base/health" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || fail "serve exited early"
  sleep 0.1
done
curl -fsS "$base/health" >/dev/null 2>&1 || fail "serve did not answer /health within 15 s"

email=owner@demo.truview.example
password=$(sed -n "s/.*Console login:    $email \/ \(.*\)\$/\1/p" "$work/serve.log")
pk=$(sed -n 's/.*Publishable key:  \(pk_[^ ]*\).*/\1/p' "$work/serve.log")
sk=$(sed -n 's/.*Secret key:       \(sk_[^ ]*\).*/\1/p' "$work/serve.log")
[ -n "$password" ] && [ -n "$pk" ] && [ -n "$sk" ] || fail "no demo credentials printed (is the database fresh?)"

login() {
  local body
  body=$(python3 -c 'import json,sys; print(json.dumps({"email": sys.argv[1], "password": sys.argv[2]}))' "$email" "$password")
  curl -fsS "$base/api/v1/auth/login" -H 'content-type: application/json' -d "$body" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
token=$(login) || fail "demo login failed"

# A staff member the fuzzer may change at will: `PATCH /staff/{id}` is pinned to it, so
# deactivating or demoting the logged-in owner (which ends its sessions, as it should)
# cannot end the run's own session half-way.
target_staff=$(curl -fsS "$base/api/v1/staff" -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"email":"fuzz-target@demo.truview.example","display_name":"Fuzz target","role":"analyst","password":"violet-otter-drums-42"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || fail "could not create the fuzz-target staff member"

# ---- schemathesis -----------------------------------------------------------------------
# Auth per OpenAPI security scheme: operations that take `staff` or `secret_key` get the
# first one (the staff session); the pk also fills the `{pk}` path parameter and the
# flow request's `key` half of the time, so the widget operations reach the database
# rather than stopping at 401.
cat >"$work/schemathesis.toml" <<EOF
[auth]
auto-signup = false

[auth.openapi.staff]
bearer = "$token"

[auth.openapi.secret_key]
bearer = "$sk"

[auth.openapi.publishable_key]
api_key = "$pk"

[dictionaries.pk]
values = ["$pk"]

# Rules a JSON Schema cannot state, so schema-valid values can still be refused: new
# passwords must not be on the 100,000-entry breached list nor use too few different
# characters, a cursor must be one the server issued, and a GTIN needs its check digit. Positive cases draw those from
# these values (the empty cursor is the first page); negative cases still fuzz them.
[dictionaries.strong_password]
values = ["violet-otter-drums-42", "Tq7#vLp2-Wm9xRz4", "lantern quietly folds 88 maps"]

[dictionaries.first_page]
values = [""]

[dictionaries.gtin]
values = ["4006381333931", "012345678905", "96385074", "00012345600012"]

[parameters]
"path.pk" = { dictionary = "pk", probability = 0.5 }
"body.key" = { dictionary = "pk", probability = 0.5 }
"body.password" = { dictionary = "strong_password", probability = 1.0 }
"body.owner_password" = { dictionary = "strong_password", probability = 1.0 }
"body.new_password" = { dictionary = "strong_password", probability = 1.0 }
"query.cursor" = { dictionary = "first_page", probability = 1.0 }
"body.gtin" = { dictionary = "gtin", probability = 1.0 }

# A body over the 64 KiB JSON limit is refused with 413, which is a rejection too.
[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]

# Logout ends the session of the token it is called with, which is the run's own session
# (schemathesis sets one token per security scheme): fuzzing it would turn the rest of the
# run into 401s. Its behaviour is covered by tests/api/account_security.rs instead.
[[operations]]
include-name = "POST /api/v1/auth/logout"
enabled = false

[[operations]]
include-name = "PATCH /api/v1/staff/{id}"
parameters = { "path.id" = "$target_staff" }

# The coverage phase sends boundary values directly (no dictionaries): its minimal
# passwords ("000000000000") are refused by the breached-password and variety rules,
# which JSON Schema cannot state. Only there, and only for these three, 422 is expected.
[[operations]]
include-name = ["POST /api/v1/vendors", "POST /api/v1/staff", "PUT /api/v1/auth/password"]
phases.coverage.checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]

# Order imports: a text/csv body is a string to JSON Schema (its header and rows cannot be
# described), an Idempotency-Key reused with another body is a 422 by design, and orders
# carry cross-field rules (amount precision per currency, delivery after purchase, no date
# more than a day after the import). 422 is expected here in every phase;
# tests/api/orders.rs asserts each of these rules exactly.
[[operations]]
include-name = "POST /api/v1/orders"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]

# Purchase matching: an order number and contact that match no order of the shop are a
# 422 by design (one answer for no such order, wrong contact and another shop's order),
# and exactly one of email or phone must be given, which the schema does not state.
# tests/api/kyp_match.rs asserts every answer.
# A mapping's date_format must be a strftime format chrono understands ("%Q" is not),
# which a pattern cannot state; tests/api/mappings.rs asserts the refusal.
[[operations]]
include-name = "PUT /api/v1/orders/mappings/{name}"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]

# A receipt's type is told from its bytes (JPEG, PNG or PDF), which no schema of a binary
# body or form part states: other bytes are a 415 by design (tests/api/receipts.rs,
# tests/api/hosted.rs). Schemathesis sends sample files for binary values, GIF, WebP and
# ZIP among them, so once a run holds a live flow token the hosted page's upload gets them.
# The form's schema allows other parts, and schemathesis names them with any characters:
# a part name holding control characters (U+0003, form feed) is not a valid multipart
# field name (RFC 7578: a quoted-string), and the form is refused whole with a 400.
[[operations]]
include-name = ["POST /api/v1/public/kyp/receipt", "POST /r/flow/{token}/receipt"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "415", "422", "429"]

# Phone codes: a schema-valid number the numbering plan does not list as a mobile line
# (premium rate, fixed line, unassigned) gets no code, and a wrong code is a 422 by design;
# neither can a pattern state (tests/api/kyc_phone.rs asserts both).
[[operations]]
include-name = ["POST /api/v1/public/kyc/phone/start", "POST /api/v1/public/kyc/phone/verify"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]

# Work-e-mail codes: a free-mail address never proves a company, and a wrong code is a 422
# by design (tests/api/kyc_company.rs); the vendor's KYC choices must name configured
# providers and real ISO 3166 countries, which a pattern cannot state (kyc_oauth.rs,
# kyc_phone.rs assert the refusals); text fields refuse control and bidi characters
# (funnel settings' sender name, the hosted page's form); an order without a kept e-mail
# gets no invitation, coupon codes are letters, digits, - and _, a trigger names either an
# order or a customer e-mail (funnel.rs); a referral link must be an http(s) URL, the
# author's update form refuses control characters like the hosted page, and only a review
# case may invite its author to update (resolution.rs); a shop's mail template must parse,
# render within its budget and carry the review and unsubscribe links (funnel.rs); the
# invitation page's phone step refuses a code that is not the one sent (funnel.rs); the
# widget flows' hosted page refuses a bad product, language, phone, code, order, work e-mail,
# company size or missing name (hosted.rs), and a receipt that is not a
# JPEG, PNG or PDF is refused as above (415), one that is broken or empty with 422; the
# demo checkout refuses an e-mail or a phone that is not one (widget.rs).
[[operations]]
include-name = ["POST /demo/order", "POST /r/{token}/phone", "POST /r/{token}/phone/verify", "GET /r/new", "POST /r/flow/{token}", "POST /r/flow/{token}/phone", "POST /r/flow/{token}/phone/verify", "POST /r/flow/{token}/order", "POST /r/flow/{token}/nps", "POST /r/flow/{token}/company", "POST /r/flow/{token}/company/verify", "POST /api/v1/public/kyc/company/start", "POST /api/v1/public/kyc/company/verify", "PATCH /api/v1/vendor", "PUT /api/v1/funnel", "POST /r/{token}", "POST /api/v1/invitations", "POST /api/v1/incentives/coupons", "POST /api/v1/triggers", "POST /r/update/{token}", "POST /api/v1/cases/{id}/resolve", "PUT /api/v1/funnel/templates/{locale}"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]

[[operations]]
include-name = "POST /api/v1/public/kyp/match"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
EOF

log "schemathesis $st_version on $backend: --max-examples $max_examples --workers $workers --seed $seed"
started=$SECONDS
set +e
# shellcheck disable=SC2086
"$st" --config-file "$work/schemathesis.toml" run "$base/api-spec/openapi.json" \
  --checks all \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "$max_examples" \
  --workers "$workers" \
  --seed "$seed" \
  --continue-on-failure \
  --request-timeout 30 \
  --no-color \
  --output-truncate false \
  --report "$reports" \
  --report-dir "$report_dir" \
  --report-junit-path "$report_dir/junit.xml" \
  --report-json-path "$report_dir/report.json" \
  $(case ",$reports," in *,ndjson,*) echo --report-ndjson-path "$report_dir/report.ndjson" ;; esac) \
  ${SCHEMATHESIS_EXTRA_ARGS:-} >"$work/st.log" 2>&1
st_status=$?
set -e
st_seconds=$((SECONDS - started))
cp "$work/st.log" "$report_dir/st.log" 2>/dev/null || true

# N, F and E from the JSON report: every generated case over all phases, the distinct
# failures (what the CLI prints as "unique failures"), and the errors; the JUnit file
# (one <testcase> per operation) is the fallback for F and E.
read -r cases failures errors < <(python3 - "$report_dir/junit.xml" "$report_dir/report.json" <<'PY'
import json, sys, xml.etree.ElementTree as ET
junit, report = sys.argv[1], sys.argv[2]
cases = failures = errors = -1
try:
    root = ET.parse(junit).getroot()
    failures = len(root.findall(".//testcase/failure"))
    errors = len(root.findall(".//testcase/error"))
except Exception:
    pass
try:
    data = json.load(open(report))
    cases = int(data["test_cases"]["generated"])
    failures = int(data["test_cases"]["unique_failures"])
    errors = max(errors, len(data.get("errors") or []), int(data["test_cases"].get("errored") or 0))
except Exception:
    pass
print(cases, failures, errors)
PY
)
if [ "$cases" -lt 0 ]; then
  # Fall back to the CLI's summary line: "Test cases: N generated, ...".
  cases=$(sed -n 's/.*Test cases:[^0-9]*\([0-9][0-9]*\) generated.*/\1/p' "$work/st.log" | tail -n 1)
  cases=${cases:--1}
fi
echo "schemathesis ($backend): $cases cases, $failures failures, $errors errors"
log "schemathesis took ${st_seconds}s (exit $st_status); reports in $report_dir"

status=0
if [ "$failures" -lt 0 ] || [ "$cases" -lt 0 ]; then
  log "could not read the reports; schemathesis said:"; tail -40 "$work/st.log" >&2; status=1
fi
[ "$failures" -gt 0 ] && status=1
[ "$errors" -gt 0 ] && status=1
if [ "$cases" -ge 0 ] && [ "$cases" -lt "$min_cases" ]; then
  log "only $cases cases ran; the floor is $min_cases"; status=1
fi
if [ "$st_status" -ne 0 ] && [ "$failures" -le 0 ] && [ "$errors" -le 0 ]; then
  log "schemathesis exited $st_status without a recorded failure:"; tail -40 "$work/st.log" >&2; status=1
fi
if [ "$status" -ne 0 ]; then
  keep=1
  if [ -f "$report_dir/report.ndjson" ]; then
    # Every failing check, deduplicated by operation, check, status and reason.
    python3 "$here/schemathesis_digest.py" "$report_dir/report.ndjson" >"$report_dir/digest.txt" 2>&1 || true
    log "distinct failures (also in $report_dir/digest.txt):"
    cat "$report_dir/digest.txt" >&2
  else
    sed -n '/^=* *FAILURES *=*$/,$p' "$work/st.log" | head -400 >&2 || true
  fi
fi

# ---- NUL / control-character probe ------------------------------------------------------
if [ "${SCHEMATHESIS_SKIP_PROBE:-0}" != 1 ]; then
  kill -0 "$pid" 2>/dev/null || fail "the server died during the schemathesis run"
  # The fuzzing may have revoked the demo keys or ended the session: fresh ones.
  token=$(login) || fail "demo login failed after the schemathesis run"
  new_key() {
    curl -fsS "$base/api/v1/keys" -H "authorization: Bearer $token" -H 'content-type: application/json' \
      -d "{\"kind\":\"$1\",\"label\":\"nul-probe\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'
  }
  probe_pk=$(new_key publishable) || probe_pk=$pk
  probe_sk=$(new_key secret) || probe_sk=$sk
  if ! python3 "$here/nul_probe.py" "$base/api-spec/openapi.json" "$base" \
    --bearer "$token" --pk "$probe_pk" --sk "$probe_sk" --email "$email" --password "$password" --show-accepted \
    2>"$report_dir/nul_probe_accepted.txt" | tee "$report_dir/nul_probe.txt"; then
    status=1
    keep=1
  fi
fi

kill -0 "$pid" 2>/dev/null || { log "the server is no longer running"; status=1; }
if grep -q "panicked at" "$work/serve.log"; then
  log "the server panicked:"; grep -A3 "panicked at" "$work/serve.log" | head -40 >&2; status=1; keep=1
fi
exit "$status"
