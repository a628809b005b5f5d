// T10: ≥ 500 XSS payloads as review titles, bodies, author names, verified companies'
// names and shop replies,
// rendered by the real widget (on a page with no CSP of its own, so nothing but the
// widget's own handling stands in the way), the server-rendered fragment, and the
// console: every execution and every injected element is counted; both must be 0.
import { armXss, otherSite, registerOrigin, seedReviews, xssDamage, xssPayloads, shopPage } from "../lib.mjs";

export default async function run(t) {
  const { check } = t;
  const payloads = xssPayloads();
  const fits = (p, max) => (p.length <= max ? p : null);
  const used = { title: 0, body: 0, display_name: 0, company: 0, reply: 0 };
  const reviews = Math.ceil(payloads.length / 5);
  const sku = "XSS-1";
  await seedReviews(t, {
    sku,
    count: reviews,
    fields: (i) => {
      const [a, b, c, d, e] = payloads.slice(5 * i, 5 * i + 5);
      const title = fits(a, 120) ?? `Review ${i}`;
      const name = c && fits(c, 60);
      const company = e && fits(e, 100);
      const inBody = [title === a ? null : a, b, name ? null : c, company ? null : e].filter(Boolean);
      used.title += title === a ? 1 : 0;
      used.display_name += name ? 1 : 0;
      used.company += company ? 1 : 0;
      used.body += inBody.length;
      used.reply += d ? 1 : 0;
      return { rating: 1 + (i % 5), title, body: inBody.join("\n") || "x", display_name: name || `Reviewer ${i}`, company, reply: d };
    },
  });
  const total = used.title + used.body + used.display_name + used.company + used.reply;
  console.log(`  T10: ${total} payloads stored (${JSON.stringify(used)}) in ${reviews} reviews`);
  check(total >= 500, `only ${total} payloads`);
  t.figures.t10 = { payloads: total, fields: used };

  // The widget on a shop with no CSP, every page loaded with "Show more".
  const site = await otherSite(t, { "/": shopPage(t.base, t.publishableKey, sku) });
  try {
    await registerOrigin(t, site.origin);
    const page = await t.newPage({ viewport: { width: 1280, height: 800 } });
    await armXss(page.context());
    await page.goto(site.origin);
    const widget = page.locator("truview-reviews");
    for (;;) {
      await page.waitForFunction(() => !/Loading/.test(document.querySelector("truview-reviews").shadowRoot.querySelector("[role=status]").textContent));
      const more = widget.locator("button.more");
      if (!(await more.isVisible())) break;
      await more.click();
    }
    const shown = await page.evaluate(() => document.querySelector("truview-reviews").shadowRoot.querySelectorAll("li.review").length);
    check(shown === reviews, `the widget shows ${shown} of ${reviews} reviews`);
    // The text is shown as text: every stored title appears verbatim.
    const text = await page.evaluate(() => document.querySelector("truview-reviews").shadowRoot.textContent);
    const missing = payloads.filter((p) => p.length <= 120).slice(0, 50).filter((p) => !text.includes(p));
    check(missing.length === 0, `payload text not shown verbatim: ${missing.slice(0, 2).join(" | ")}`);
    // Interact the way a shopper might: hover and focus everything.
    await page.mouse.move(640, 400);
    const damage = await xssDamage(page);
    console.log(`  T10 widget: ${damage.executed} executions, ${damage.injected} injected elements`);
    check(damage.executed === 0 && damage.injected === 0, `widget: ${JSON.stringify(damage)}`);
    t.figures.t10.widget = damage;

    // The server-rendered fragment, opened as a page of its own (no CSP applies to a
    // fragment once a shop includes it).
    const fragment = await t.api("GET", `/api/v1/public/${t.publishableKey}/reviews.html?sku=${sku}&limit=50`);
    if (fragment.status === 200) {
      const frag = await t.newPage();
      await armXss(frag.context());
      await frag.setContent(`<!doctype html><html><body>${fragment.text}</body></html>`);
      await frag.waitForTimeout(200);
      const d = await xssDamage(frag);
      console.log(`  T10 fragment: ${d.executed} executions, ${d.injected} injected elements`);
      check(d.executed === 0 && d.injected === 0, `fragment: ${JSON.stringify(d)}`);
      t.figures.t10.fragment = d;
    } else {
      check(false, `reviews.html answered ${fragment.status}`);
    }

    // The console's moderation queue with the same reviews.
    const con = await t.newPage({ viewport: { width: 1280, height: 800 } });
    await armXss(con.context());
    await con.goto(`${t.base}/console/`);
    await con.getByLabel(/e-?mail/i).fill(t.login.email);
    await con.getByLabel(/password/i).fill(t.login.password);
    await con.keyboard.press("Enter");
    await con.waitForFunction(() => document.body.textContent.includes("Reviewer") || document.body.textContent.includes("Review "), null, { timeout: 15_000 });
    await con.waitForTimeout(500);
    const cd = await xssDamage(con);
    console.log(`  T10 console: ${cd.executed} executions, ${cd.injected} injected elements`);
    check(cd.executed === 0 && cd.injected === 0, `console: ${JSON.stringify(cd)}`);
    t.figures.t10.console = cd;
  } finally {
    await site.close();
  }
}
