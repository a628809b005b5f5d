// The widget as shoppers see it: on /demo, on a shop of another origin, on a phone, by
// keyboard, under axe; P5 (size, first render with 20 reviews, layout shift).
import { otherSite, registerOrigin, seedReviews, shopPage } from "../lib.mjs";

const reviewsIn = (page) =>
  page.evaluate(() => {
    const root = document.querySelector("truview-reviews")?.shadowRoot;
    if (!root) return null;
    return {
      count: root.querySelectorAll("li.review").length,
      visible: root.querySelectorAll("li.review:not([hidden])").length,
      status: root.querySelector("[role=status]")?.textContent ?? "",
      summary: root.querySelector(".summary")?.getAttribute("aria-label") ?? "",
      reviews: [...root.querySelectorAll("li.review")].map((li) => ({
        level: Number(li.dataset.level),
        badge: li.querySelector(".badge")?.textContent ?? "",
        title: li.querySelector(".title")?.textContent ?? "",
        checks: [...li.querySelectorAll(".checks li")].map((c) => c.textContent),
        reply: li.querySelector(".reply .body")?.textContent ?? null,
      })),
    };
  });

/** The index of the focused review in the widget (-1: focus is elsewhere). */
const focusedReview = (page) =>
  page.evaluate(() => {
    const root = document.querySelector("truview-reviews").shadowRoot;
    return [...root.querySelectorAll("li.review")].indexOf(root.activeElement);
  });

const waitForReviews = (page, n) =>
  page.waitForFunction((n) => (document.querySelector("truview-reviews")?.shadowRoot?.querySelectorAll("li.review").length ?? 0) >= n, n);

export default async function run(t) {
  const { check } = t;
  const sku = "LAMP-OAK";
  const api = await t.api("GET", `/api/v1/public/${t.publishableKey}/reviews?sku=${sku}&limit=10`);
  const summary = await t.api("GET", `/api/v1/public/${t.publishableKey}/summary?sku=${sku}`);

  // /demo on a desktop: every review the API lists, with its level and checks in words.
  const page = await t.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${t.base}/demo`);
  await waitForReviews(page, api.json.reviews.length);
  const seen = await reviewsIn(page);
  check(seen.count === api.json.reviews.length, `demo shows ${seen.count} reviews, the API lists ${api.json.reviews.length}`);
  check(seen.summary === `${summary.json.count} reviews`, `summary label "${seen.summary}"`);
  api.json.reviews.forEach((r, i) => {
    const w = seen.reviews[i];
    check(w && w.title === r.title, `review ${i}: title "${w?.title}" ≠ "${r.title}"`);
    check(w && w.level === r.maturity_level && w.badge.startsWith(`Level ${r.maturity_level} · `), `review ${i}: badge "${w?.badge}"`);
    check(w && JSON.stringify(w.checks) === JSON.stringify(r.checks.map((c) => c.label)), `review ${i}: checks ${JSON.stringify(w?.checks)}`);
    check(w && w.reply === (r.reply ? r.reply.body : null), `review ${i}: reply`);
  });
  check(seen.reviews.some((r) => r.level === 5) && seen.reviews.some((r) => r.level < 3), "levels from verified buyer to unverified are shown");
  const badge = await page.evaluate(() => document.querySelector("truview-badge")?.shadowRoot?.textContent ?? "");
  check(badge.includes(`${summary.json.count} reviews`) && badge.includes("Shop maturity level"), `badge "${badge}"`);
  // Product markup in the page's own <head>, as crawlers read it.
  const ld = await page.evaluate(() => [...document.querySelectorAll('script[type="application/ld+json"]')].map((e) => JSON.parse(e.textContent)));
  check(ld.length === 1 && ld[0]["@type"] === "Product" && ld[0].name === "Oak Desk Lamp" && ld[0].sku === sku, `JSON-LD on /demo: ${JSON.stringify(ld).slice(0, 200)}`);
  check(ld[0]?.aggregateRating?.reviewCount === summary.json.count && ld[0]?.aggregateRating?.ratingValue === summary.json.average, `aggregateRating ${JSON.stringify(ld[0]?.aggregateRating)}`);
  check(ld[0]?.review?.length === api.json.reviews.filter((r) => !r.insider).length, `JSON-LD reviews: ${ld[0]?.review?.length}`);
  await t.axe(page, "widget on /demo");
  await t.shot(page.locator("truview-reviews"), "widget-desktop");

  // On /demo, which reserves the widget's space, nothing moves at all.
  const still = await t.newPage({ viewport: { width: 1280, height: 800 } });
  await still.addInitScript(() => {
    window.__cls = 0;
    new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__cls += e.value; }).observe({ type: "layout-shift", buffered: true });
  });
  // The script arrives late, as on a slow network: the space must be reserved before it runs.
  await still.route("**/widget/v1/truview.js*", async (route) => { await new Promise((r) => setTimeout(r, 500)); await route.continue(); });
  await still.goto(`${t.base}/demo`);
  await waitForReviews(still, 1);
  await still.waitForTimeout(300);
  const demoShift = await still.evaluate(() => window.__cls);
  t.figures.p5_demo_layout_shift = demoShift;
  check(demoShift === 0, `/demo layout shift ${demoShift}`);

  // Filter by level, by keyboard: Tab to the level select, choose "Level 5 and above".
  const five = await t.api("GET", `/api/v1/public/${t.publishableKey}/reviews?sku=${sku}&min_level=5`);
  const levelSelect = page.locator("truview-reviews select").nth(1);
  await levelSelect.focus();
  await page.keyboard.press("End");
  await page.waitForFunction((n) => document.querySelector("truview-reviews").shadowRoot.querySelectorAll("li.review").length === n, five.json.reviews.length);
  const filtered = await reviewsIn(page);
  check(filtered.reviews.every((r) => r.level >= 5) && filtered.count === five.json.reviews.length, `level ≥ 5 filter shows ${filtered.count}`);

  // A phone: no sideways scrolling, everything within 375 px.
  const phone = await t.newPage({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
  await phone.goto(`${t.base}/demo`);
  await waitForReviews(phone, 1);
  const width = await phone.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 375, `the demo page scrolls sideways on a phone: ${width} px`);
  await t.shot(phone, "widget-phone");

  // P5: 20 reviews on a product, embedded on a shop of another origin.
  await seedReviews(t, {
    sku: "P5-LAMP",
    count: 20,
    fields: (i) => ({ rating: 1 + (i % 5), title: `Review ${i + 1}`, body: `Body of review ${i + 1}. `.repeat(3), display_name: `Buyer ${i + 1}` }),
  });
  const site = await otherSite(t, {
    "/": shopPage(t.base, t.publishableKey, "P5-LAMP"),
    "/unregistered": shopPage(t.base, t.publishableKey, "P5-LAMP"),
    "/shop": shopPage(t.base, t.publishableKey, null),
    "/overlay": shopPage(t.base, t.publishableKey, "P5-LAMP", { attrs: ' data-write="overlay"' }),
    "/no-reserve": shopPage(t.base, t.publishableKey, "P5-LAMP", { attrs: ' style="--tv-reserve:0"' }),
  });
  try {
    // Before its origin is registered, the browser refuses the service's answers (CORS).
    const stranger = await t.newPage();
    await stranger.goto(`${site.origin}/unregistered`);
    await stranger.waitForFunction(() => /could not be loaded/.test(document.querySelector("truview-reviews")?.shadowRoot?.textContent ?? ""));
    check((await reviewsIn(stranger)).count === 0, "an unregistered origin gets no reviews");

    await registerOrigin(t, site.origin);
    const shop = await t.newPage({ viewport: { width: 1280, height: 800 } });
    await shop.addInitScript(() => {
      window.__cls = 0;
      window.__shifts = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          if (e.hadRecentInput) continue;
          window.__cls += e.value;
          window.__shifts.push(e.sources.map((s) => `${s.node?.nodeName ?? "?"} ${s.previousRect.y}→${s.currentRect.y} (h ${s.previousRect.height}→${s.currentRect.height})`).join(", "));
        }
      }).observe({ type: "layout-shift", buffered: true });
      document.addEventListener("DOMContentLoaded", () => {
        window.__ready = performance.now();
        const tick = () => {
          const n = document.querySelector("truview-reviews")?.shadowRoot?.querySelectorAll("li.review").length ?? 0;
          if (n >= 10) window.__rendered = performance.now();
          else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      });
    });
    const runs = [];
    for (let i = 0; i < 5; i++) {
      await shop.goto(site.origin);
      await shop.waitForFunction(() => window.__rendered !== undefined);
      await shop.waitForTimeout(200); // let late shifts be reported
      runs.push(await shop.evaluate(() => ({ render: window.__rendered - window.__ready, cls: window.__cls, shifts: window.__shifts })));
    }
    const renders = runs.map((r) => r.render).sort((a, b) => a - b);
    const median = renders[Math.floor(renders.length / 2)];
    const cls = Math.max(...runs.map((r) => r.cls));
    const script = await fetch(`${t.base}/widget/v1/truview.js`, { headers: { "Accept-Encoding": "gzip" } });
    const gzip = Number(script.headers.get("content-length"));
    t.figures.p5 = { gzip_bytes: gzip, first_render_ms_median: Math.round(median * 10) / 10, first_render_ms_runs: renders.map((r) => Math.round(r)), layout_shift: cls };
    console.log(`  P5: ${gzip} B gzipped, first render with 20 reviews ${median.toFixed(1)} ms (median of 5), layout shift ${cls}`);
    check(gzip <= 10 * 1024, `widget is ${gzip} B gzipped (budget 10 KB)`);
    check(median <= 100, `first render ${median.toFixed(1)} ms (goal ≤ 100 ms)`);
    // The footer sits just inside the fold, under a widget whose first ten reviews are
    // taller than the default 40rem reserve: the widget shows the reviews that fit and
    // holds the rest for "Show more", so nothing on the shop's page moves.
    check(cls === 0, `layout shift ${cls} (goal 0): ${JSON.stringify(runs.flatMap((r) => r.shifts))}`);
    const shown = await reviewsIn(shop);
    const height = await shop.evaluate(() => document.querySelector("truview-reviews").getBoundingClientRect().height);
    check(shown.count === 10 && shown.summary === "20 reviews", `other origin has ${shown.count} of "${shown.summary}"`);
    check(shown.visible >= 1 && shown.visible < 10 && height === 640, `shows ${shown.visible} of 10 in ${height} px (reserve 640)`);
    t.figures.p5.reviews_drawn_of_10 = shown.visible;
    // "Show more" first shows the reviews held back, without a request, and moves focus to
    // the first of them; then it loads the next ten (the second request: the first fails).
    let requests = 0;
    shop.on("request", (r) => { if (r.url().includes("/reviews?")) requests++; });
    await shop.locator("truview-reviews .more").click();
    const revealed = await reviewsIn(shop);
    const focusedAt = await focusedReview(shop);
    check(revealed.visible === 10 && requests === 0, `after "Show more": ${revealed.visible} shown, ${requests} requests`);
    check(focusedAt === shown.visible, `focus after "Show more" on review ${focusedAt}, the first shown is ${shown.visible}`);
    // A next page that cannot be loaded leaves the button there, focused, to try again.
    const nextPage = (url) => url.pathname.endsWith("/reviews") && url.searchParams.has("cursor");
    await shop.route(nextPage, (route) => route.abort());
    await shop.locator("truview-reviews .more").click();
    await shop.waitForFunction(() => /could not be loaded/.test(document.querySelector("truview-reviews").shadowRoot.querySelector("[role=status]").textContent));
    const failed = await shop.evaluate(() => {
      const root = document.querySelector("truview-reviews").shadowRoot;
      const more = root.querySelector(".more");
      return { hidden: more.hidden, focused: root.activeElement === more, shown: root.querySelectorAll("li.review").length };
    });
    check(!failed.hidden && failed.focused && failed.shown === 10, `after a failed "Show more": ${JSON.stringify(failed)}`);
    await shop.unroute(nextPage);
    await shop.locator("truview-reviews .more").click();
    await waitForReviews(shop, 20);
    const all = await reviewsIn(shop);
    const focusedNext = await focusedReview(shop);
    check(all.visible === 20 && requests === 2 && focusedNext === 10, `after the second "Show more": ${all.visible} shown, ${requests} requests, focus on ${focusedNext}`);
    await t.axe(shop, "widget on another origin");

    // A shop that reserves nothing (--tv-reserve: 0) gets the whole first page: holding
    // reviews back could not keep its page still.
    const bare = await t.newPage({ viewport: { width: 1280, height: 800 } });
    await bare.goto(`${site.origin}/no-reserve`);
    await waitForReviews(bare, 10);
    const bareShown = await reviewsIn(bare);
    check(bareShown.visible === 10, `with no reserve the widget draws ${bareShown.visible} of 10`);

    // Shop-wide reviews: shown, but no markup (self-serving for Google).
    const wide = await t.newPage();
    await wide.goto(`${site.origin}/shop`);
    await waitForReviews(wide, 1);
    const wideLd = await wide.evaluate(() => document.querySelectorAll('script[type="application/ld+json"]').length);
    check(wideLd === 0, `shop-wide widget emitted ${wideLd} JSON-LD blocks`);

    // data-write="overlay": the hosted page in a modal dialog over the shop's page (framed
    // only by the shop's registered origins), on a phone; closing gives focus back.
    const over = await t.newPage({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
    await over.goto(`${site.origin}/overlay`);
    await waitForReviews(over, 1);
    await over.locator("truview-reviews button.write").tap();
    const dialog = over.locator("truview-reviews dialog");
    await dialog.waitFor();
    check(await dialog.evaluate((d) => d.open && d.matches(":modal")), "the overlay is a modal dialog");
    const framed = over.frameLocator("truview-reviews dialog iframe");
    await framed.locator("h1").waitFor();
    const heading = await framed.locator("h1").textContent();
    check(heading.startsWith("Review ") && heading.endsWith(" at Demo Shop"), `overlay heading: ${heading}`);
    const box = await dialog.boundingBox();
    check(box && box.width <= 375 && box.height <= 812, `the overlay fits the phone: ${JSON.stringify(box)}`);
    await framed.getByRole("radio", { name: "★★★ 3" }).check();
    await framed.locator("#display_name").fill("Overlay O.");
    await t.shot(over, "widget-overlay");
    await framed.locator('form:has(textarea) button[type="submit"]').tap();
    await framed.getByText("It will be shown at level 1 (Self-declared)").waitFor();
    check(over.url() === `${site.origin}/overlay`, `the shop's page stayed: ${over.url()}`);
    await dialog.locator("button.close").focus();
    await over.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    const focused = await over.evaluate(() => document.querySelector("truview-reviews").shadowRoot.activeElement?.className);
    check(focused === "write", `focus after closing the overlay: ${focused}`);
  } finally {
    await site.close().catch(() => {});
  }
}
