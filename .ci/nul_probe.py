#!/usr/bin/env python3
"""NUL / control-character probe over every string parameter of the OpenAPI document.

Usage: nul_probe.py SPEC_URL BASE_URL --bearer TOKEN --pk PK --sk SK [--verbose]

For every operation, and for every string parameter of it (path, query, and each string
property of a JSON request body, nested objects and string arrays included), one at a
time, sends values holding NUL (U+0000), other C0 controls (U+0001, U+001B, U+007F),
U+2028 and U+202E (a NUL in a path segment travels as `%00`; the text `%00` is sent
too, as `%2500`, to catch a second decoding); the other fields carry
valid values (examples, enums, or sensible defaults by name, with a fresh review flow
for `flow_token` and a real published review for review ids). Any 5xx, or a request the
server does not answer, is a failure; so is a 400 from the database backstop ("the input
contains characters the service does not accept"): the value got past the edge's own
checks, which answer such input with a 422 naming the field. Operations that accept a secret key as well as a
staff session are probed with both. Standard library only.

Prints `nul probe: N requests, M 5xx, B at the database backstop` and one line per
failure; exits 1 if there is any.
"""

import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

METHODS = ("get", "put", "post", "delete", "patch")

# (label, character) pairs; each is inserted into the middle of a valid value and also
# appended to it, so prefix/shape checks (e.g. `pk_…`) still pass and the value travels
# as far into the server as it can.
CHARS = [
    ("U+0000", "\u0000"),
    ("U+0001", "\u0001"),
    ("U+001B", "\u001b"),
    ("U+007F", "\u007f"),
    ("U+2028", "\u2028"),
    ("U+202E", "\u202e"),
]

UNSET = object()

# The detail of the 400 that src/error.rs gives when the database refuses a value (a NUL
# in PostgreSQL text): reaching it means the edge missed the field.
BACKSTOP = "the input contains characters the service does not accept"


class Probe:
    def __init__(self, spec, base, bearer, pk, sk, verbose=False, login=None):
        self.spec = spec
        self.base = base.rstrip("/")
        self.bearer = bearer
        self.login = login  # (email, password) to start a new session when one ends
        self.relogins = 0
        self.pk = pk
        self.sk = sk
        self.verbose = verbose
        self.requests = 0
        self.failures = []  # (method, path, parameter, variant, status, auth, detail)
        self.backstop = 0  # of those, 400s from the database backstop
        self.accepted = []  # the same, for 2xx answers to a value holding a control character
        self.review_id = None

    # ---- HTTP ---------------------------------------------------------------------

    def send(self, method, raw_path, query=None, body=UNSET, token=None, headers=None):
        """Sends one request; `raw_path` is already percent-encoded. Returns (status, text)."""
        url = self.base + raw_path
        if query:
            url += "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
        data = None
        hdrs = {"Accept": "application/json"}
        if body is not UNSET:
            data = json.dumps(body).encode()  # ensure_ascii: controls travel as \uXXXX escapes
            hdrs["Content-Type"] = "application/json"
        if token:
            hdrs["Authorization"] = "Bearer " + token
        hdrs.update(headers or {})
        req = urllib.request.Request(url, data=data, method=method.upper(), headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                return res.status, res.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")
        except Exception as e:  # connection reset, timeout: the server did not answer
            return None, f"{type(e).__name__}: {e}"

    def send_as(self, auth, method, raw_path, query=None, body=UNSET, headers=None):
        """`send` with the credential of `auth`. A 401 to the staff session is checked: if
        the session itself has ended (the probe's own `POST /auth/logout` ends it), it logs
        in again and sends once more, so every later staff operation is still probed past
        authentication."""
        token = {"staff": self.bearer, "secret_key": self.sk}.get(auth)
        status, text = self.send(method, raw_path, query, body, token, headers)
        if status == 401 and auth == "staff" and self.login and not self.session_alive():
            self.relogin()
            status, text = self.send(method, raw_path, query, body, self.bearer, headers)
        return status, text

    def session_alive(self):
        status, _ = self.send("get", "/api/v1/vendor", token=self.bearer)
        return status != 401

    def relogin(self):
        email, password = self.login
        status, text = self.send("post", "/api/v1/auth/login", body={"email": email, "password": password})
        if status != 200:
            raise SystemExit(f"nul probe: the staff session ended and logging in again failed ({status}): {text[:200]}")
        self.bearer = json.loads(text)["access_token"]
        self.relogins += 1

    # ---- schema helpers -----------------------------------------------------------

    def resolve(self, schema):
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 32:
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"only local $refs are supported: {ref}")
            node = self.spec
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            schema = node
            seen += 1
        return schema or {}

    def normalise(self, schema):
        """Resolves $ref, merges allOf and picks the first non-null oneOf/anyOf branch."""
        schema = self.resolve(schema)
        if "allOf" in schema:
            merged = {"type": "object", "properties": {}, "required": []}
            for part in schema["allOf"]:
                part = self.normalise(part)
                merged["properties"].update(part.get("properties", {}))
                merged["required"] += part.get("required", [])
            return merged
        for key in ("oneOf", "anyOf"):
            if key in schema:
                branches = [self.normalise(b) for b in schema[key]]
                non_null = [b for b in branches if b.get("type") != "null"]
                return non_null[0] if non_null else {"type": "null"}
        return schema

    @staticmethod
    def types(schema):
        t = schema.get("type")
        if t is None:
            if "properties" in schema:
                return ["object"]
            if "enum" in schema:
                return ["string"] if all(isinstance(v, str) for v in schema["enum"]) else []
            return []
        return [t] if isinstance(t, str) else [x for x in t if x != "null"]

    # ---- valid values -------------------------------------------------------------

    def fresh_flow_token(self):
        status, text = self.send("post", "/api/v1/public/flows", body={"key": self.pk})
        if status == 201:
            return json.loads(text)["flow_token"]
        return "flow_" + uuid.uuid4().hex

    def named_default(self, name):
        unique = uuid.uuid4().hex[:12]
        table = {
            "pk": self.pk,
            "key": self.pk,
            "id": self.review_id or str(uuid.uuid4()),
            "flow_token": self.fresh_flow_token,
            "email": "buyer@example.com",
            "owner_email": f"probe-{unique}@example.com",
            "phone": "+15555550100",
            "password": "Not-the-password-42",
            "owner_password": "a perfectly long passphrase 42",
            "new_password": "a perfectly long passphrase 42",
            "current_password": "Not-the-password-42",
            "refresh_token": "rt_" + unique,
            "voter_token": "voter-" + uuid.uuid4().hex,
            "sku": "SKU-1",
            "locale": "en",
            "rating": 5,
            "title": "Solid product",
            "body": "Arrived on time and works as described.",
            "display_name": "Probe Buyer",
            "vendor_name": "Probe Shop " + unique,
            "owner_name": "Probe Owner",
            "name": "Probe Shop",
            "label": "probe",
            "origins": ["https://shop.example"],
            "cursor": "MA",
            "limit": 10,
            "min_level": 0,
            "sort": "recent",
            "status": "pending",
        }
        value = table.get(name, UNSET)
        return value() if callable(value) else value

    @staticmethod
    def fits(value, schema):
        """Whether a string `value` matches the schema's `pattern` (other values: yes). A
        named default that does not (`name` = "Probe Shop" for a mapping's `^[A-Za-z0-9_-]…`)
        would stop the request at the edge before the field under probe is read."""
        pattern = schema.get("pattern")
        return not (isinstance(value, str) and pattern) or re.search(pattern, value) is not None

    def value_for(self, name, schema, depth=0):
        """A valid value for a field called `name` with `schema`."""
        schema = self.normalise(schema)
        if name is not None:
            v = self.named_default(name)
            if v is not UNSET and self.fits(v, schema):
                if name == "email" and "staff" in self.current_path:
                    v = f"probe-{uuid.uuid4().hex[:12]}@example.com"
                return v
        if "example" in schema:
            return schema["example"]
        if schema.get("examples"):
            return schema["examples"][0]
        if "default" in schema:
            return schema["default"]
        if "enum" in schema:
            return schema["enum"][0]
        types = self.types(schema)
        if not types:
            return None
        t = types[0]
        if t == "string":
            fmt = schema.get("format")
            return {"email": "buyer@example.com", "date-time": "2024-01-01T00:00:00Z", "uuid": str(uuid.uuid4())}.get(
                fmt, "probe"
            )
        if t == "integer":
            return max(int(schema.get("minimum", 1)), 1)
        if t == "number":
            return 1.0
        if t == "boolean":
            return True
        if t == "array":
            return [self.value_for(None, schema.get("items", {}), depth + 1)]
        if t == "object":
            if depth > 6:
                return {}
            req = set(schema.get("required", []))
            return {
                k: self.value_for(k, s, depth + 1) for k, s in schema.get("properties", {}).items() if k in req
            }
        return None

    # ---- string positions in a body ------------------------------------------------

    def string_positions(self, schema, path=(), depth=0):
        """Yields (json_path, schema) for every string field reachable in `schema`."""
        schema = self.normalise(schema)
        types = self.types(schema)
        if "string" in types:
            yield path, schema
        if "object" in types and depth < 6:
            for k, s in schema.get("properties", {}).items():
                yield from self.string_positions(s, path + (k,), depth + 1)
        if "array" in types and depth < 6:
            yield from self.string_positions(schema.get("items", {}), path + (0,), depth + 1)

    def body_with(self, schema, position, value):
        """A valid body for `schema` with `value` placed at `position` (creating parents)."""
        schema = self.normalise(schema)
        if not position:
            return value
        head, rest = position[0], position[1:]
        if isinstance(head, int):
            items = self.normalise(schema.get("items", {}))
            return [self.body_with(items, rest, value)]
        body = self.value_for(None, schema)
        if not isinstance(body, dict):
            body = {}
        sub = schema.get("properties", {}).get(head, {})
        if rest:
            body[head] = self.body_with(sub, rest, value)
        else:
            body[head] = value
        return body

    # ---- the probe ------------------------------------------------------------------

    @staticmethod
    def variants(valid):
        base = valid if isinstance(valid, str) and valid else "probe"
        mid = len(base) // 2
        # Keep a `pk_`/`sk_`-style prefix intact so shape checks pass.
        if len(base) > 3 and base[2] == "_":
            mid = max(mid, 3)
        for label, ch in CHARS:
            yield f"{label} inside", base[:mid] + ch + base[mid:]
            yield f"{label} appended", base + ch
        yield "U+0000 alone", "\u0000"

    def record(self, method, path, param, variant, status, text, auth):
        self.requests += 1
        if status is None or status >= 500 or (status == 400 and BACKSTOP in text):
            detail = " ".join(text.split())[:160]
            self.failures.append((method.upper(), path, param, variant, status or "no answer", auth, detail))
            self.backstop += status == 400
        elif 200 <= status < 300:
            self.accepted.append((method.upper(), path, param, variant, status, auth, ""))
        if self.verbose:
            print(f"  {method.upper()} {path} {param} [{variant}] auth={auth} -> {status}", file=sys.stderr)

    def auth_options(self, op):
        security = op.get("security", self.spec.get("security", []))
        names = {n for req in security for n in req}
        options = [auth for auth in ("staff", "secret_key") if auth in names]
        return options or ["none"]

    def probe_operation(self, path, method, op, item):
        self.current_path = path
        params = [self.resolve(p) for p in item.get("parameters", []) + op.get("parameters", [])]
        body_schema = None
        rb = self.resolve(op.get("requestBody", {}))
        content = rb.get("content", {})
        if "application/json" in content:
            body_schema = content["application/json"].get("schema", {})
        headers = {}
        security = op.get("security", self.spec.get("security", []))
        if any("publishable_key" in req for req in security):
            headers["X-Truview-Key"] = self.pk

        def valid_params():
            out = {}
            for p in params:
                if p.get("in") in ("path", "query") and (p.get("required") or p.get("in") == "path"):
                    out[(p["in"], p["name"])] = self.value_for(p["name"], p.get("schema", {}))
            return out

        def build(values):
            raw = path
            query = {}
            for (loc, name), v in values.items():
                if loc == "path":
                    raw = raw.replace("{" + name + "}", urllib.parse.quote(str(v), safe=""))
                elif loc == "query" and v is not None:
                    query[name] = str(v).lower() if isinstance(v, bool) else str(v)
            return raw, query

        def valid_body():
            if body_schema is None:
                return UNSET
            return self.value_for(None, body_schema)

        for auth_name in self.auth_options(op):
            # Path and query parameters, one at a time.
            for p in params:
                loc, name = p.get("in"), p.get("name")
                if loc not in ("path", "query"):
                    continue
                if "string" not in self.types(self.normalise(p.get("schema", {}))):
                    continue
                valid = self.value_for(name, p.get("schema", {}))
                tries = list(self.variants(valid))
                if loc == "path":
                    # NUL in a path segment already travels as `%00`; also send the text
                    # `%00` itself (as `%2500`) to catch a second decoding.
                    base = str(valid)
                    tries.append(("text %00 inside", base[:3] + "%00" + base[3:]))
                for variant, value in tries:
                    values = valid_params()
                    values[(loc, name)] = value
                    raw, query = build(values)
                    status, text = self.send_as(auth_name, method, raw, query, valid_body(), headers)
                    self.record(method, path, f"{loc}.{name}", variant, status, text, auth_name)
            # Body string fields, one at a time.
            if body_schema is not None:
                for position, schema in self.string_positions(body_schema):
                    if not position:
                        continue
                    field = ".".join(str(x) for x in position)
                    valid = self.value_for(position[-1] if isinstance(position[-1], str) else None, schema)
                    for variant, value in self.variants(valid):
                        body = self.body_with(body_schema, position, value)
                        raw, query = build(valid_params())
                        status, text = self.send_as(auth_name, method, raw, query, body, headers)
                        self.record(method, path, f"body.{field}", variant, status, text, auth_name)

    def prepare_fixtures(self):
        """A published review, so that review-id operations reach their body handling."""
        flow = self.fresh_flow_token()
        status, text = self.send(
            "post",
            "/api/v1/public/reviews",
            body={
                "flow_token": flow,
                "rating": 5,
                "title": "Probe fixture",
                "body": "A review the probe uses for its review-id operations.",
                "display_name": "Probe Buyer",
            },
        )
        if status != 201:
            print(f"nul probe: note: could not create a fixture review ({status}); review ids are random", file=sys.stderr)
            return
        rid = json.loads(text)["id"]
        status, _ = self.send(
            "post", f"/api/v1/reviews/{rid}/decision", body={"action": "publish"}, token=self.bearer
        )
        self.review_id = rid

    def run(self):
        self.prepare_fixtures()
        for path, item in self.spec.get("paths", {}).items():
            for method in METHODS:
                if method in item:
                    self.probe_operation(path, method, item[method], item)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec_url")
    ap.add_argument("base_url")
    ap.add_argument("--bearer", required=True, help="staff access token")
    ap.add_argument("--pk", required=True, help="publishable key")
    ap.add_argument("--sk", required=True, help="secret key")
    ap.add_argument("--email", help="the staff member's e-mail, to log in again when the session ends")
    ap.add_argument("--password", help="and its password")
    ap.add_argument("--verbose", action="store_true", help="print every request and its status to stderr")
    ap.add_argument(
        "--show-accepted",
        action="store_true",
        help="also list, on stderr, the values holding a control character that got a 2xx (informational)",
    )
    args = ap.parse_args()

    with urllib.request.urlopen(args.spec_url, timeout=30) as res:
        spec = json.load(res)
    login = (args.email, args.password) if args.email and args.password else None
    probe = Probe(spec, args.base_url, args.bearer, args.pk, args.sk, args.verbose, login)
    started = time.monotonic()
    probe.run()
    fivexx = len(probe.failures) - probe.backstop
    print(f"nul probe: {probe.requests} requests, {fivexx} 5xx, {probe.backstop} at the database backstop")
    print(f"nul probe: took {time.monotonic() - started:.0f} s, {probe.relogins} new staff session(s)", file=sys.stderr)
    for method, path, param, variant, status, auth, detail in probe.failures:
        print(f"  {status} {method} {path} {param} [{variant}] auth={auth}: {detail}")
    if args.show_accepted:
        print(f"nul probe: {len(probe.accepted)} requests with a control character got a 2xx:", file=sys.stderr)
        for method, path, param, variant, status, auth, _ in probe.accepted:
            print(f"  {status} {method} {path} {param} [{variant}] auth={auth}", file=sys.stderr)
    return 1 if probe.failures else 0


if __name__ == "__main__":
    sys.exit(main())
