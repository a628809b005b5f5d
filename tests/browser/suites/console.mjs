// Browser suite for the marketing console (/console/): log in through the form, moderate by
// keyboard only and check the result through the API, reply, XSS payloads stay text, every
// view passes axe, a phone has no horizontal scroll, the cookie session survives a reload and
// logout ends it. Run by tests/browser/run.mjs with `t` (see the runner).

const VIEWS = ['moderation', 'receipts', 'funnel', 'reports', 'cases', 'keys', 'staff', 'jobs', 'audit'];

// Each payload calls __pwned() if it ever runs; an init script counts the calls.
const PAYLOADS = [
  '<img src=x onerror=__pwned()>',
  '<script>__pwned()</script>',
  '"><svg onload=__pwned()>',
  "'><iframe srcdoc=\"<script>parent.__pwned()</script>\">",
  '<a href="javascript:__pwned()">click</a>',
  '<details open ontoggle=__pwned()>',
  '{{constructor.constructor("__pwned()")()}}',
  '<math><mtext><table><mglyph><style><img src=x onerror=__pwned()>',
  '<input autofocus onfocus=__pwned()>',
];

export default async function run(t) {
  const { base } = t;

  // ------------------------------------------------------------ API helpers (Node side)
  async function request(method, path, body, token) {
    const headers = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
  const { access_token: token } = await request('POST', '/api/v1/auth/login', t.login);
  const review = (id) => request('GET', `/api/v1/reviews/${id}`, undefined, token);
  const poll = async (fn, ms = 8000) => {
    const until = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v || Date.now() > until) return v;
      await new Promise((r) => setTimeout(r, 150));
    }
  };

  // A few pending reviews of our own, written through the public flow like a buyer's.
  const pk = t.publishableKey ?? (await (await fetch(`${base}/demo`)).text()).match(/data-key="(pk_[A-Za-z0-9_-]+)"/)?.[1];
  if (!pk) throw new Error('no publishable key (t.publishableKey, or the /demo page)');
  async function submit(title, body, author, rating) {
    const flow = await request('POST', '/api/v1/public/flows', { key: pk, sku: 'LAMP-OAK' });
    const r = await request('POST', '/api/v1/public/reviews', { flow_token: flow.flow_token, rating, title, body, display_name: author, sku: 'LAMP-OAK' });
    t.check(r.status === 'pending', `a new review is pending (got ${r.status})`);
    return r.id;
  }
  const tag = Date.now().toString(36);
  const payloadReviews = [];
  for (let i = 0; i < PAYLOADS.length; i += 3) {
    const [a, b, c] = PAYLOADS.slice(i, i + 3);
    payloadReviews.push(await submit(a.slice(0, 120), `${b}\n${c ?? ''} ${a}`, (c ?? b).slice(0, 60), 3));
  }
  const replyTarget = await submit(`Console reply target ${tag}`, 'Please answer this one.', 'Reply R.', 2);
  const rejectTarget = await submit(`Console reject target ${tag}`, 'Buy cheap watches at example.test', 'Spam S.', 5);
  const publishTarget = await submit(`Console publish target ${tag}`, 'Solid lamp, warm light.', 'Pub P.', 4);

  // ------------------------------------------------------------ log in through the form
  const page = await t.newPage({ viewport: { width: 1280, height: 800 } });
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  await page.addInitScript(() => {
    window.__xssHits = 0;
    window.__pwned = () => { window.__xssHits += 1; };
  });
  await page.goto(`${base}/console/`);
  await page.waitForSelector('#login-email', { state: 'visible' });
  await t.axe(page, 'console login');
  await page.fill('#login-email', t.login.email);
  await page.fill('#login-password', `${t.login.password}-wrong`);
  await page.press('#login-password', 'Enter');
  await page.waitForFunction(() => document.getElementById('login-error').textContent.trim() !== '');
  t.check(await page.isVisible('#login-email'), 'a wrong password keeps the login form, with an alert');
  await page.fill('#login-password', t.login.password);
  await page.press('#login-password', 'Enter');
  await page.waitForSelector('main[data-view="moderation"]');
  const header = await page.textContent('header');
  t.check(header.includes(t.login.email) && header.includes('owner'), 'the header shows the e-mail and the role');
  const vendor = await request('GET', '/api/v1/vendor', undefined, token);
  await page.waitForFunction((name) => document.getElementById('who-vendor').textContent === name, vendor.name);
  t.check(await page.evaluate(() => localStorage.length === 0 && sessionStorage.length === 0 && !document.cookie.includes('tv_refresh')),
    'no token in Web Storage or in a script-readable cookie');

  // ------------------------------------------------------------ the queue (default: all statuses, newest first)
  const ids = () => page.$$eval('#view li.review', (els) => els.map((e) => e.dataset.id));
  const pendingIds = async () => (await request('GET', '/api/v1/reviews?status=pending&limit=50', undefined, token)).reviews.map((r) => r.id);
  const mine = [publishTarget, rejectTarget, replyTarget];
  const shownNow = await ids();
  t.check(mine.every((id) => shownNow.includes(id)), 'the queue lists the new pending reviews');
  t.check(await page.evaluate(() => window.__xssHits === 0), 'no XSS payload ran');
  t.check(dialogs.length === 0, `no alert/confirm dialog was opened by data (${dialogs.length})`);
  t.check(payloadReviews.every((id) => shownNow.includes(id)), 'the reviews carrying payloads are listed');
  const injected = await page.$$eval('#view li.review', (els, ours) => els.filter((el) => ours.includes(el.dataset.id)).reduce((n, el) =>
    n + el.querySelectorAll('img, script, iframe, svg, math, details, a, style, table, input:not(.pick)').length, 0), payloadReviews);
  t.check(injected === 0, `review text creates no elements (${injected} found)`);
  const titles = await page.$$eval('#view li.review h2', (els) => els.map((e) => e.textContent));
  t.check(titles.includes(PAYLOADS[0]), 'a payload title is shown as plain text');

  // ------------------------------------------------------------ keyboard-only moderation
  const selected = () => page.evaluate(() => {
    const el = document.activeElement;
    return el?.matches('li.review[aria-current="true"]') ? el.dataset.id : null;
  });
  const moveTo = async (id) => {
    const list = await ids();
    const target = list.indexOf(id);
    t.check(target >= 0, `review ${id} is in the queue`);
    const cur = list.indexOf(await selected());
    const key = cur < 0 || target > cur ? 'j' : 'k';
    const steps = cur < 0 ? target + 1 : Math.abs(target - cur);
    for (let i = 0; i < steps; i += 1) await page.keyboard.press(key);
    t.check((await selected()) === id, `j/k select review ${id} (focused, aria-current)`);
  };

  await moveTo(publishTarget);
  await page.evaluate(() => window.scrollTo(0, 0));
  await t.shot(page, 'console-moderation');
  await page.keyboard.press('x');
  t.check(await page.isChecked(`li.review[data-id="${publishTarget}"] input.pick`) && await page.isVisible('.bulk'),
    'x adds the selected review to the bulk selection');
  await page.keyboard.press('x');
  t.check(!(await page.isChecked(`li.review[data-id="${publishTarget}"] input.pick`)), 'x again removes it');
  await page.keyboard.press('?');
  t.check(await page.isVisible('#help-dialog[open]'), '? opens the shortcuts dialog');
  await t.axe(page, 'console shortcuts dialog');
  await page.keyboard.press('Escape');
  t.check(!(await page.isVisible('#help-dialog[open]')), 'Escape closes it');

  // All statuses: a published review stays in the list with its new status.
  let list = await ids();
  await page.keyboard.press('p');
  await page.waitForSelector(`li.review[data-id="${publishTarget}"] .b-published`);
  const after = list[list.indexOf(publishTarget) + 1];
  if (after) t.check((await selected()) === after, 'after a decision the selection moves to the next review');

  // Filtered by pending: the queue is exactly the pending reviews; a decided one leaves it.
  await page.getByLabel('Status', { exact: true }).selectOption('pending');
  const pending = await pendingIds();
  const same = await poll(async () => {
    const shown = await ids();
    return shown.length === pending.length && pending.every((id) => shown.includes(id));
  });
  t.check(same && pending.length >= 2 && !pending.includes(publishTarget),
    `filtered by pending, the queue lists exactly the ${pending.length} pending reviews`);
  await page.locator('#title').focus(); // out of the filter's select, so keys reach the queue
  await moveTo(rejectTarget);
  list = await ids();
  await page.keyboard.press('r');
  await page.waitForSelector('#reject-dialog[open]');
  await t.axe(page, 'console reject dialog');
  t.check(await page.evaluate(() => document.activeElement?.name === 'reason'), 'the reject dialog focuses the reasons');
  await page.keyboard.press('ArrowDown');
  t.check(await page.evaluate(() => document.querySelector('#reject-dialog input[name=reason]:checked')?.value) === 'abuse',
    'arrow keys choose a reason');
  await page.keyboard.press('Enter');
  await page.waitForSelector(`li.review[data-id="${rejectTarget}"]`, { state: 'detached' });
  const next = list[list.indexOf(rejectTarget) + 1];
  if (next) t.check((await selected()) === next, 'a rejected review leaves the pending queue; the next one is selected');

  t.check((await review(publishTarget)).status === 'published', 'p published the selected review (API)');
  const rejected = await review(rejectTarget);
  t.check(rejected.status === 'rejected' && rejected.reject_reason === 'abuse',
    `r rejected the selected review for abuse (API: ${rejected.status}/${rejected.reject_reason})`);
  t.check((await review(replyTarget)).status === 'pending', 'the other reviews stay pending');
  t.check((await pendingIds()).length === pending.length - 1, 'exactly one more review left the pending queue');

  // ------------------------------------------------------------ reply
  const replyText = `Thanks for the review — we will call you. ${tag}`;
  const row = page.locator(`li.review[data-id="${replyTarget}"]`);
  await row.getByRole('button', { name: 'Reply', exact: true }).click();
  await row.getByLabel('Public reply').fill(replyText);
  await row.getByRole('button', { name: 'Post reply' }).click();
  await page.waitForFunction(({ id, text }) =>
    document.querySelector(`li.review[data-id="${id}"] .reply-body`)?.textContent === text, { id: replyTarget, text: replyText });
  t.check((await review(replyTarget)).reply?.body === replyText, 'the reply is stored (API) and shown in the row');

  // ------------------------------------------------------------ CSV export
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  t.check(download.suggestedFilename() === 'reviews.csv', 'Export CSV downloads reviews.csv');

  // ------------------------------------------------------------ every view: loads, axe
  for (const view of VIEWS) {
    await page.evaluate((v) => { location.hash = `#/${v}`; }, view);
    await page.waitForSelector(`main[data-view="${view}"]`);
    t.check((await page.$$('h1')).length === 1, `${view}: one h1`);
    t.check(!(await page.$('#view .card.error')), `${view}: loaded without an error`);
    await t.axe(page, `console ${view}`);
    if (view === 'reports') await t.shot(page, 'console-reports');
    if (view === 'audit') {
      const state = await page.locator('.verify').textContent();
      t.check(/^✔Audit chain verified\.\d+ entries/.test(state), `the audit view shows the server's check: "${state}"`);
    }
  }
  t.check(await page.evaluate(() => window.__xssHits === 0) && dialogs.length === 0, 'no XSS payload ran on any view');

  // ------------------------------------------------------------ a reload keeps the session; logout ends it
  await page.reload();
  await page.waitForSelector('main[data-view]:not([data-view=""])');
  t.check(await page.evaluate(() => document.body.dataset.state === 'app'), 'a reload keeps the session (refresh cookie)');
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForSelector('#login-email', { state: 'visible' });
  await page.reload();
  await page.waitForSelector('#login-email', { state: 'visible' });
  t.check(await page.evaluate(() => document.body.dataset.state === 'login'), 'after logout a reload shows the login form');

  // ------------------------------------------------------------ phone width: no horizontal scroll
  const phone = await t.newPage({ viewport: { width: 375, height: 812 }, isMobile: true, hasTouch: true });
  await phone.goto(`${base}/console/`);
  await phone.waitForSelector('#login-email', { state: 'visible' });
  await phone.fill('#login-email', t.login.email);
  await phone.fill('#login-password', t.login.password);
  await phone.press('#login-password', 'Enter');
  for (const view of VIEWS) {
    await phone.evaluate((v) => { location.hash = `#/${v}`; }, view);
    await phone.waitForSelector(`main[data-view="${view}"]`);
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    t.check(width <= 375, `${view} at 375 px has no horizontal scroll (scrollWidth ${width})`);
  }
  await phone.evaluate(() => { location.hash = '#/moderation'; });
  await phone.waitForSelector('main[data-view="moderation"]');
  await t.shot(phone, 'console-phone');
}
