// Shared by the suites: seeding through the public and staff APIs, a second origin to
// embed the widget on, and the XSS payload corpus.
import http from "node:http";

/// Publishes reviews for `sku` (created as a product first): `fields(i)` gives each
/// review's title, body, display_name, rating and optional reply. Returns the ids.
export async function seedReviews(t, { sku, count, fields }) {
  const token = await t.staffToken();
  if (sku) {
    const res = await t.api("PUT", `/api/v1/products/${encodeURIComponent(sku)}`, { key: t.secretKey, body: { name: `Product ${sku}` } });
    if (res.status >= 300) throw new Error(`product ${sku}: ${res.status} ${res.text}`);
  }
  const ids = [];
  for (let i = 0; i < count; i++) {
    const f = fields(i);
    const flow = await t.api("POST", "/api/v1/public/flows", { body: sku ? { key: t.publishableKey, sku } : { key: t.publishableKey } });
    if (flow.status !== 201) throw new Error(`flow: ${flow.status} ${flow.text}`);
    if (f.company) await verifyCompany(t, token, flow.json.flow_token, i, f.company);
    const body = { flow_token: flow.json.flow_token, rating: f.rating ?? 5, title: f.title, body: f.body, display_name: f.display_name };
    if (sku) body.sku = sku;
    const review = await t.api("POST", "/api/v1/public/reviews", { body });
    if (review.status !== 201) throw new Error(`review ${JSON.stringify(body)}: ${review.status} ${review.text}`);
    const id = review.json.id;
    if (review.json.status !== "published" && f.publish !== false) {
      const d = await t.api("POST", `/api/v1/reviews/${id}/decision`, { token, body: { action: "publish" } });
      if (d.status !== 200) throw new Error(`publish: ${d.status} ${d.text}`);
    }
    if (f.reply) {
      const r = await t.api("POST", `/api/v1/reviews/${id}/reply`, { token, body: { body: f.reply } });
      if (r.status !== 200) throw new Error(`reply: ${r.status} ${r.text}`);
    }
    ids.push(id);
  }
  return ids;
}

/// Verifies a company on the flow through the work-e-mail code (the code from the owner's
/// development outbox): `company` is the name the author gives, shown with the review.
async function verifyCompany(t, token, flowToken, i, company) {
  const workEmail = `author${i}@acme-${i}.example`;
  const start = await t.api("POST", "/api/v1/public/kyc/company/start", { body: { flow_token: flowToken, work_email: workEmail, company, role: "Buyer", size: "11-50" } });
  if (start.status !== 202) throw new Error(`company start ${JSON.stringify(company)}: ${start.status} ${start.text}`);
  const outbox = await t.api("GET", "/api/v1/dev/outbox", { token });
  const message = (outbox.json?.messages || []).find((m) => m.to === workEmail);
  if (!message) throw new Error(`no code for ${workEmail} in the outbox: ${outbox.status} ${outbox.text.slice(0, 200)}`);
  const code = message.body.slice(0, 6);
  const verify = await t.api("POST", "/api/v1/public/kyc/company/verify", { body: { flow_token: flowToken, work_email: workEmail, code } });
  if (verify.status !== 200) throw new Error(`company verify: ${verify.status} ${verify.text}`);
}

/// A tiny site on another port (another origin) serving `pages[path]` as HTML.
export async function otherSite(t, pages) {
  const port = await t.freePort();
  const server = http.createServer((req, res) => {
    const page = pages[new URL(req.url, "http://x").pathname];
    if (page === undefined) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(page);
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

/// Adds `origin` to the demo vendor's registered origins.
export async function registerOrigin(t, origin) {
  const token = await t.staffToken();
  const vendor = await t.api("GET", "/api/v1/vendor", { token });
  const origins = [...new Set([...vendor.json.origins, origin])];
  const res = await t.api("PATCH", "/api/v1/vendor", { token, body: { origins } });
  if (res.status !== 200) throw new Error(`origins: ${res.status} ${res.text}`);
}

/// A shop page embedding the widget from the service at `base`.
export function shopPage(base, key, sku, { lang = "en", extra = "", attrs = "" } = {}) {
  const skuAttr = sku ? ` data-sku="${sku}"` : "";
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>A shop</title><script src="${base}/widget/v1/truview.js" defer></script>
<style>truview-reviews:not(:defined){display:block;min-height:40rem}truview-badge:not(:defined){display:block;min-height:1.5rem}</style></head>
<body><header><h1>A shop on its own origin</h1><p>Product text above the reviews.</p></header>
<main><truview-badge data-key="${key}"${skuAttr}></truview-badge><truview-reviews data-key="${key}"${skuAttr}${attrs}></truview-reviews></main>
<footer><p>Footer below the reviews.</p></footer>${extra}</body></html>`;
}

/// ≥ 500 distinct XSS payloads: classic vectors in several contexts, each carrying its
/// number `N` so an execution (`__xss(N)`) or an injected element (`data-xss`, `<xss-N>`)
/// can be counted.
export function xssPayloads() {
  const templates = [
    (n) => `<script>__xss(${n})</script>`,
    (n) => `<img src=x onerror=__xss(${n}) data-xss=${n}>`,
    (n) => `<svg onload=__xss(${n}) data-xss=${n}>`,
    (n) => `"><script>__xss(${n})</script>`,
    (n) => `'><img src=x onerror=__xss(${n}) data-xss=${n}>`,
    (n) => `<iframe srcdoc="<script>parent.__xss(${n})</script>" data-xss=${n}></iframe>`,
    (n) => `<a href="javascript:__xss(${n})" data-xss=${n}>click</a>`,
    (n) => `<xss-${n} onclick=__xss(${n})>x</xss-${n}>`,
    (n) => `<body onload=__xss(${n})>`,
    (n) => `<details open ontoggle=__xss(${n}) data-xss=${n}>`,
    (n) => `<input autofocus onfocus=__xss(${n}) data-xss=${n}>`,
    (n) => `<video><source onerror=__xss(${n}) data-xss=${n}></video>`,
    (n) => `<style>@import 'javascript:__xss(${n})';</style><b data-xss=${n}>b</b>`,
    (n) => `<math><mtext><table><mglyph><style><img src=x onerror=__xss(${n}) data-xss=${n}>`,
    (n) => `</textarea><script>__xss(${n})</script>`,
    (n) => `</title><img src=x onerror=__xss(${n}) data-xss=${n}>`,
    (n) => `<template><img src=x onerror=__xss(${n})></template><p data-xss=${n}>p</p>`,
    (n) => `{{constructor.constructor('__xss(${n})')()}}`,
    (n) => `\${__xss(${n})}`,
    (n) => `<object data="javascript:__xss(${n})" data-xss=${n}></object>`,
    (n) => `<marquee onstart=__xss(${n}) data-xss=${n}>m</marquee>`,
    (n) => `<form><button formaction=javascript:__xss(${n}) data-xss=${n}>f</button></form>`,
    (n) => `&lt;img src=x onerror=__xss(${n})&gt;`,
    (n) => `<IMG SRC=x ONERROR="__xss(${n})" data-xss=${n}>`,
    (n) => `<scr<script>ipt>__xss(${n})</scr</script>ipt>`,
  ];
  const out = [];
  for (let round = 0; out.length < 520; round++) {
    for (const tpl of templates) {
      const n = out.length + 1;
      // Later rounds wrap the vector so every payload is distinct text.
      const core = tpl(n);
      out.push(round === 0 ? core : round % 2 ? `Great lamp ${core}` : `${core} — ok`);
    }
  }
  return out;
}

/// Counts what payloads did in `page`: executions recorded by `__xss`, and elements
/// that only an injection could have made, in the document and every open shadow root.
export async function xssDamage(page) {
  return page.evaluate(() => {
    const roots = [document];
    const found = [];
    for (let i = 0; i < roots.length; i++) {
      for (const el of roots[i].querySelectorAll("*")) {
        if (el.shadowRoot) roots.push(el.shadowRoot);
        if (el.hasAttribute("data-xss") || el.tagName.startsWith("XSS-")) found.push(el.outerHTML.slice(0, 80));
      }
    }
    return { executed: (window.__xssRuns || []).length, injected: found.length, samples: found.slice(0, 3) };
  });
}

/// Installs the execution counter in every frame before any script runs.
export async function armXss(context) {
  await context.addInitScript(() => {
    window.__xssRuns = [];
    window.__xss = (n) => window.__xssRuns.push(n);
  });
}
