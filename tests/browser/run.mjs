// The browser tests: real Debian Chromium driven by playwright-core against a real
// `truview serve` (a fresh SQLite database, or PostgreSQL with --database), seeded with
// the demo shop. Each suite in suites/ exports `default async function (t)`.
//
//   node tests/browser/run.mjs BINARY [--database URL] [--only a,b] [--figures FILE]
//
// Without Chromium the run is skipped loudly, and fails under CI=true.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SUITES = ["widget", "hosted", "xss", "headers", "console"];

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const bin = args[0];
const database = option("--database");
const only = option("--only")?.split(",");
const figuresFile = option("--figures");

if (!bin || !fs.existsSync(bin)) {
  console.error(`usage: node tests/browser/run.mjs BINARY …  (no binary at ${bin})`);
  process.exit(2);
}
if (!fs.existsSync(CHROMIUM)) {
  const msg = `!!! BROWSER TESTS SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  console.error(msg);
  process.exit(process.env.CI === "true" ? 1 : 0);
}

export const freePort = () =>
  new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });

/// Starts `truview serve` in a fresh directory and reads the demo banner it prints.
async function startServer() {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "truview-browser-"));
  // Limits high enough for the suites seeding hundreds of reviews from one address.
  const env = {
    ...process.env, TRUVIEW_BIND: `127.0.0.1:${port}`, RUST_LOG: "warn", NO_COLOR: "1",
    TRUVIEW_RATE_LIMIT_PER_IP: "1000000", TRUVIEW_RATE_LIMIT_PER_KEY: "1000000", TRUVIEW_LOGIN_ATTEMPTS_PER_IP: "10000",
    TRUVIEW_OTP_SENDS_PER_IP_PER_DAY: "10000",
  };
  if (database) {
    env.DATABASE_URL = database;
    env.TRUVIEW_DEMO = "true";
  }
  const child = spawn(bin, ["serve"], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => { err += d; });
  const banner = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no demo banner in 60 s:\n${out}\n${err}`)), 60_000);
    child.stdout.on("data", (d) => {
      out += d;
      if (/Secret key:\s+sk_\S+/.test(out)) { clearTimeout(timer); resolve(out); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`serve exited ${code}:\n${out}\n${err}`)); });
  });
  const [, email, password] = banner.match(/Console login:\s+(\S+) \/ (\S+)/);
  const publishableKey = banner.match(/Publishable key:\s+(pk_\S+)/)[1];
  const secretKey = banner.match(/Secret key:\s+(sk_\S+)/)[1];
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${base}/ready`)).ok) break; } catch (_) { /* starting */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, dir, base, login: { email, password }, publishableKey, secretKey, stderr: () => err };
}

const failures = [];
const figures = {};
let current = "";
const check = (cond, message) => {
  if (!cond) failures.push(`${current}: ${message}`);
  return Boolean(cond);
};

const axeSource = fs.readFileSync(path.join(here, "node_modules/axe-core/axe.min.js"), "utf8");

/// axe-core in the page (evaluated through the DevTools protocol, so the page's CSP
/// stays as it is); serious and critical violations fail the suite.
async function axe(page, label) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ["violations"] }).then((r) =>
      r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }))),
  );
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of bad) check(false, `axe (${label}): ${v.impact} ${v.id} — ${v.help} at ${v.nodes.join(", ")}`);
  console.log(`  axe ${label}: ${bad.length} serious/critical, ${result.length - bad.length} minor`);
  return bad.length;
}

async function shot(page, name) {
  const dir = path.join(root, "docs/screenshots");
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: false });
}

const server = await startServer();
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const pageErrors = [];
async function newPage(opts = {}) {
  const context = await browser.newContext(opts);
  const page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(`${current}: page error ${e.message}`));
  return page;
}

/// The staff API as a plain client (for seeding and for checking what the browser did).
async function api(method, pathname, { token, key, body, headers = {} } = {}) {
  const h = { Accept: "application/json", ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (key) h.Authorization = `Bearer ${key}`;
  let payload;
  if (body !== undefined) {
    if (typeof body === "string") payload = body;
    else { payload = JSON.stringify(body); h["Content-Type"] = "application/json"; }
  }
  const res = await fetch(server.base + pathname, { method, headers: h, body: payload, redirect: "manual" });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch (_) { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json };
}
async function staffToken() {
  const res = await api("POST", "/api/v1/auth/login", { body: server.login });
  if (res.status !== 200) throw new Error(`login: ${res.status} ${res.text}`);
  return res.json.access_token;
}

const t = {
  browser, base: server.base, login: server.login, publishableKey: server.publishableKey, secretKey: server.secretKey,
  check, axe, shot, newPage, api, staffToken, figures, freePort, root,
};

const started = Date.now();
let status = 0;
try {
  for (const name of SUITES.filter((s) => !only || only.includes(s))) {
    current = name;
    const before = failures.length;
    const t0 = Date.now();
    try {
      const mod = await import(path.join(here, "suites", `${name}.mjs`));
      await mod.default(t);
    } catch (e) {
      failures.push(`${name}: ${e.stack || e}`);
    }
    console.log(`${failures.length === before ? "ok  " : "FAIL"} ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
} finally {
  await browser.close();
  server.child.kill("SIGINT");
}
failures.push(...pageErrors);
if (figuresFile) fs.writeFileSync(figuresFile, JSON.stringify(figures, null, 2));
console.log(`figures: ${JSON.stringify(figures)}`);
if (failures.length) {
  console.error(`\n${failures.length} failure(s):\n- ${failures.join("\n- ")}`);
  status = 1;
}
console.log(`browser tests: ${failures.length ? "FAILED" : "passed"} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(status);
