// T11: every HTML response (every operation the spec documents as text/html, on its
// happy and error paths) carries the security headers; the pages load in Chromium with
// no CSP violation. T12: origins × public endpoints — only registered origins get CORS —
// and staff writes from another site are refused by the browser and the server.
import fs from "node:fs";
import path from "node:path";
import { otherSite, registerOrigin } from "../lib.mjs";

function cspOk(csp) {
  if (!csp) return "no Content-Security-Policy";
  const dirs = Object.fromEntries(csp.split(";").map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([k, ...v]) => [k, v]));
  const script = dirs["script-src"] ?? dirs["default-src"];
  if (!script) return "no script-src or default-src";
  if (script.includes("'unsafe-inline'") || script.includes("'unsafe-eval'") || script.includes("*")) return `script-src ${script.join(" ")}`;
  if (!dirs["frame-ancestors"]) return "no frame-ancestors";
  return null;
}

export default async function run(t) {
  const { check } = t;
  const spec = JSON.parse(fs.readFileSync(path.join(t.root, "api-spec/openapi.json"), "utf8"));
  const htmlOps = [];
  for (const [p, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const html = Object.values(op.responses ?? {}).some((r) => r.content && r.content["text/html"]);
      if (html && ["get", "post"].includes(method)) htmlOps.push({ method: method.toUpperCase(), path: p });
    }
  }
  // Concrete URLs: valid where the demo gives one, otherwise a wrong token (the error page
  // is an HTML response too).
  const fill = (p) =>
    p.replace("{pk}", t.publishableKey).replace("{token}", "not-a-token").replace("{short}", "x.y").replace("{provider}", "google").replace("{file}", "console.js");
  let responses = 0;
  for (const op of htmlOps) {
    const url = fill(op.path) + (op.path.includes("reviews.html") ? "?sku=LAMP-OAK" : "");
    const res = await fetch(t.base + url, {
      method: op.method,
      redirect: "manual",
      headers: op.method === "POST" ? { "Content-Type": "application/x-www-form-urlencoded" } : {},
      body: op.method === "POST" ? "rating=5" : undefined,
    });
    const type = res.headers.get("content-type") ?? "";
    if (!type.startsWith("text/html")) continue;
    responses++;
    const where = `${op.method} ${url} (${res.status})`;
    const bad = cspOk(res.headers.get("content-security-policy"));
    check(!bad, `T11 ${where}: ${bad}`);
    check(res.headers.get("x-content-type-options") === "nosniff", `T11 ${where}: X-Content-Type-Options`);
    check(res.headers.get("referrer-policy") === "no-referrer", `T11 ${where}: Referrer-Policy ${res.headers.get("referrer-policy")}`);
    check(/no-store|no-cache|max-age/.test(res.headers.get("cache-control") ?? ""), `T11 ${where}: Cache-Control`);
  }
  console.log(`  T11: ${responses} HTML responses of ${htmlOps.length} documented HTML operations checked`);
  check(responses >= 10, `only ${responses} HTML responses`);
  t.figures.t11 = { operations: htmlOps.length, responses };

  // The pages themselves in Chromium: no CSP violation while they load and run.
  for (const p of ["/demo", "/console/", "/dev/mailbox", "/r/not-a-token"]) {
    const page = await t.newPage();
    await page.addInitScript(() => {
      window.__violations = [];
      document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    await page.goto(t.base + p);
    await page.waitForTimeout(300);
    const v = await page.evaluate(() => window.__violations);
    check(v.length === 0, `T11 ${p}: CSP violations ${JSON.stringify(v)}`);
  }

  // T12: public endpoints × origins.
  const site = await otherSite(t, { "/": "<!doctype html><title>other</title><p>other site</p>" });
  const stranger = await otherSite(t, { "/": "<!doctype html><title>stranger</title><p>stranger</p>" });
  try {
    await registerOrigin(t, site.origin);
    const reads = [`/api/v1/public/${t.publishableKey}/summary`, `/api/v1/public/${t.publishableKey}/reviews`, `/api/v1/public/${t.publishableKey}/reviews.html`];
    let pairs = 0;
    for (const url of reads) {
      for (const [origin, allowed] of [[site.origin, true], [stranger.origin, false], ["null", false], ["https://evil.example", false]]) {
        const res = await fetch(t.base + url, { headers: { Origin: origin } });
        const acao = res.headers.get("access-control-allow-origin");
        check(allowed ? acao === origin : acao === null, `T12 GET ${url} from ${origin}: ACAO ${acao}`);
        pairs++;
      }
    }
    for (const url of ["/api/v1/public/flows", "/api/v1/public/reviews", `/api/v1/public/${t.publishableKey}/ratings`]) {
      for (const [origin, allowed] of [[site.origin, true], [stranger.origin, false]]) {
        const res = await fetch(t.base + url, {
          method: "OPTIONS",
          headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" },
        });
        const acao = res.headers.get("access-control-allow-origin");
        check(allowed ? acao === origin : acao === null, `T12 preflight ${url} from ${origin}: ACAO ${acao}`);
        pairs++;
      }
    }
    // Staff endpoints never answer a preflight with CORS.
    const staff = ["/api/v1/reviews", "/api/v1/keys", "/api/v1/auth/refresh", "/api/v1/auth/login", "/api/v1/staff"];
    for (const url of staff) {
      const res = await fetch(t.base + url, {
        method: "OPTIONS",
        headers: { Origin: site.origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type" },
      });
      check(res.headers.get("access-control-allow-origin") === null, `T12 staff preflight ${url}: ACAO ${res.headers.get("access-control-allow-origin")}`);
      pairs++;
    }

    // In the browser: a logged-in console in one tab; a page of another site tries to use
    // the session. The browser blocks the authenticated call; the refresh cookie is not
    // sent cross-site, and the server refuses it without its own Origin.
    const context = await t.browser.newContext();
    const consolePage = await context.newPage();
    await consolePage.goto(`${t.base}/console/`);
    await consolePage.evaluate(async (login) => {
      await fetch("/api/v1/auth/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ...login, cookie: true }) });
    }, t.login);
    const evil = await context.newPage();
    await evil.goto(stranger.origin);
    const attempts = await evil.evaluate(async (base) => {
      const out = {};
      for (const [name, url, init] of [
        ["refresh", "/api/v1/auth/refresh", { method: "POST", credentials: "include", headers: { "Content-Type": "text/plain" }, body: "{}" }],
        ["logout", "/api/v1/auth/logout", { method: "POST", credentials: "include", headers: { "Content-Type": "text/plain" }, body: "{}" }],
        ["decision", "/api/v1/reviews/x/decision", { method: "POST", credentials: "include", headers: { "Content-Type": "application/json", Authorization: "Bearer x" }, body: "{}" }],
      ]) {
        try {
          const res = await fetch(base + url, init);
          out[name] = `read ${res.status}`;
        } catch (e) {
          out[name] = "blocked";
        }
      }
      return out;
    }, t.base);
    // Simple (no-preflight) requests reach the server but their answers cannot be read;
    // the preflighted one never leaves the browser.
    check(Object.values(attempts).every((v) => v === "blocked"), `T12 cross-site staff calls: ${JSON.stringify(attempts)}`);
    // The session survived: the console's own refresh still works (the cross-site ones
    // did not spend or revoke the cookie).
    const again = await consolePage.evaluate(async () => (await fetch("/api/v1/auth/refresh", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" })).status);
    check(again === 200, `T12 the console's session after the cross-site attempts: refresh ${again}`);
    await context.close();
    console.log(`  T12: ${pairs} origin × endpoint pairs, cross-site staff calls ${JSON.stringify(attempts)}`);
    t.figures.t12 = { pairs, cross_site: attempts };
  } finally {
    await site.close();
    await stranger.close();
  }
}
