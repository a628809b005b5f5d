#!/usr/bin/env python3
"""Digest of a schemathesis NDJSON report: every failing check, deduplicated.

Usage: schemathesis_digest.py REPORT.ndjson [--markdown]

Groups the failures of all phases by (operation, check, status, what the check said) and
prints, per group, how many cases hit it and the shortest example request with its response.
Produce the NDJSON with `SCHEMATHESIS_REPORTS=junit,json,ndjson .ci/schemathesis.sh …`.
Standard library only.
"""

import argparse
import base64
import collections
import json
import re
import sys
import urllib.parse


def decode_body(content):
    if not content:
        return ""
    if isinstance(content, dict) and "$base64" in content:
        raw = base64.b64decode(content["$base64"])
    elif isinstance(content, str):
        raw = content.encode()
    else:
        return json.dumps(content)
    return raw.decode("utf-8", "replace")


def short(text, n=220):
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def reason_of(body):
    """The problem document's detail with its variable parts masked, or the body's start."""
    try:
        doc = json.loads(body)
        detail = str(doc.get("detail", "")) if isinstance(doc, dict) else ""
    except ValueError:
        detail = body[:60]
    detail = re.sub(r"`[^`]*`|'[^']*'|\"[^\"]*\"|\b\d+\b", "…", detail)
    return re.sub(r" at line … column …", "", detail)[:100]


def template_of(label, method, uri):
    """`GET /api/v1/reviews/{id}` for a stateful step, whose label is the scenario's."""
    if label and not label.startswith("Stateful") and " /" in label:
        return label
    path = urllib.parse.urlsplit(uri).path
    path = re.sub(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "/{id}", path)
    return f"{method} {path}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ndjson")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()

    groups = collections.OrderedDict()
    for line in open(args.ndjson, encoding="utf-8"):
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        phase = finished.get("phase")
        rec = finished["recorder"]
        cases = rec.get("cases", {})
        for case_id, results in rec.get("checks", {}).items():
            for result in results:
                if result.get("status") != "failure":
                    continue
                info = (result.get("failure_info") or {}).get("failure") or {}
                interaction = rec.get("interactions", {}).get(case_id) or {}
                request = interaction.get("request") or {}
                response = interaction.get("response") or {}
                case = (cases.get(case_id) or {}).get("value") or {}
                method = request.get("method") or case.get("method") or "?"
                uri = request.get("uri") or case.get("path") or ""
                op = info.get("operation") or template_of(rec.get("label", ""), method, uri)
                if op.startswith("Stateful"):
                    op = template_of("", method, uri)
                status = response.get("status_code")
                message = info.get("message") or ""
                # One group per kind: the check, the status, the check's message without
                # its hint, and for checks about data acceptance the server's reason (the
                # problem's detail), with the values that vary from case to case taken out.
                head = message.split("Hint:")[0].strip()
                norm = re.sub(r"`[^`]*`|'[^']*'|\"[^\"]*\"|\b\d{3,}\b", "…", head)
                if info.get("code") in ("ST201", "ST202") or result.get("name") in (
                    "positive_data_acceptance",
                    "negative_data_rejection",
                ):
                    norm += " | " + reason_of(decode_body(response.get("content")))
                key = (op, info.get("code") or result.get("name"), result.get("name"), status, norm)
                body = case.get("body")
                example = {
                    "message": message,
                    "request": f"{method} {urllib.parse.urlsplit(uri).path}"
                    + (("?" + urllib.parse.urlsplit(uri).query) if urllib.parse.urlsplit(uri).query else ""),
                    "auth": "Authorization" in (request.get("headers") or {}),
                    "body": body,
                    "media_type": case.get("media_type"),
                    "response": short(decode_body(response.get("content"))),
                    "content_type": ((response.get("headers") or {}).get("content-type") or [""])[0],
                }
                size = len(example["request"]) + len(json.dumps(body, ensure_ascii=True))
                g = groups.get(key)
                if g is None:
                    g = groups[key] = {"count": 0, "phases": set(), "size": None}
                # Keep the shortest example: the easiest to read and to replay.
                if g["size"] is None or size < g["size"]:
                    g.update(example)
                    g["size"] = size
                g["count"] += 1
                g["phases"].add(phase)

    by_op = collections.OrderedDict()
    for key in sorted(groups, key=lambda k: (k[0].split(" ", 1)[-1], k[0], k[1], str(k[3]))):
        by_op.setdefault(key[0], []).append((key, groups[key]))

    for op, items in by_op.items():
        print(f"\n### {op}\n" if args.markdown else f"\n== {op}")
        for (op_, code, check, status, _), g in items:
            body = ""
            if isinstance(g["body"], dict) and set(g["body"]) == {"$base64"}:
                body = " raw body=" + short(repr(base64.b64decode(g["body"]["$base64"])), 80)
            elif g["body"] is not None:
                body = " body=" + short(json.dumps(g["body"], ensure_ascii=True), 160)
            elif g["media_type"] is None and op.split(" ")[0] in ("POST", "PUT", "PATCH"):
                body = " (no body)"
            auth = "" if g["auth"] else " (no Authorization)"
            msg = "; ".join(x.strip() for x in g["message"].split("Hint:")[0].splitlines() if x.strip())
            print(
                f"- {code} {check} [{status}] x{g['count']} ({', '.join(sorted(p or '?' for p in g['phases']))}): {msg}\n"
                f"    e.g. {g['request']}{auth}{body}\n"
                f"    -> {status} {g['content_type']} {g['response']}"
            )
    print(f"\n{sum(g['count'] for g in groups.values())} failing checks in {len(groups)} groups", file=sys.stderr)


if __name__ == "__main__":
    main()
