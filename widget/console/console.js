// TruView console: a single-page app over the staff API. No dependencies, no build.
// Untrusted text reaches the page only as text nodes or plain attribute values (see `h`);
// the access token lives in this module's memory, the refresh token in an HttpOnly cookie.

const $ = (id) => document.getElementById(id);
const main = $('main');
const viewEl = $('view');

// ---------------------------------------------------------------- DOM helpers

/** Links may only point to http(s), to a blob we made, or to a route of ours. */
const SAFE_HREF = /^(https?:\/\/|blob:|#\/)/i;

function append(el, kids) {
  for (const kid of kids.flat(Infinity)) {
    if (kid == null || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) {
      if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    } else if (k === 'href') {
      if (SAFE_HREF.test(String(v))) el.setAttribute('href', v);
    } else if (k === 'value' || k === 'checked') {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  return el;
}

/** h('p', {class: 'x'}, 'text', child…): strings become text nodes, never markup. */
function h(tag, attrs, ...kids) {
  const el = append(document.createElement(tag), kids);
  return setAttrs(el, attrs);
}

function s(tag, attrs, ...kids) {
  const el = append(document.createElementNS('http://www.w3.org/2000/svg', tag), kids);
  return setAttrs(el, attrs);
}

let uidN = 0;
const uid = (prefix = 'f') => `${prefix}-${++uidN}`;
const enc = encodeURIComponent;
const reducedMotion = () => matchMedia('(prefers-reduced-motion: reduce)').matches;
const dateFmt = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
const fmtDate = (iso) => (iso ? dateFmt.format(new Date(iso)) : '—');
const pct = (x) => (x == null ? '—' : `${Math.round(x * 1000) / 10}%`);
const humanize = (code) => String(code).replace(/[_.]/g, ' ');
const badge = (text, kind = text) => h('span', { class: `badge b-${kind.replace(/\W/g, '')}` }, humanize(text));

function options(list, current) {
  return list.map(([value, label]) => {
    const o = h('option', { value }, label);
    o.selected = String(current ?? '') === value;
    return o;
  });
}

/** A labelled control with a hint and an error slot; `name` ties it to a problem's `field`. */
function field(label, control, { name, hint } = {}) {
  control.id ||= uid();
  const err = h('p', { class: 'error', id: `${control.id}-err` });
  const hintEl = hint ? h('p', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  control.setAttribute('aria-describedby', [hintEl?.id, err.id].filter(Boolean).join(' '));
  const lab = h('label', { for: control.id }, label);
  const inline = control.type === 'checkbox';
  return h('div', { class: inline ? 'field inline' : 'field', 'data-field': name },
    inline ? [control, lab] : [lab, control], hintEl, err);
}

function selectField(label, list, current, onChange) {
  return field(label, h('select', { onchange: (e) => onChange(e.target.value) }, options(list, current)));
}

function table(caption, head, rows, { cls = 'table-wrap' } = {}) {
  return h('div', { class: cls }, h('table', {},
    h('caption', { class: 'sr-only' }, caption),
    h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => (c instanceof Node && c.tagName === 'TD' ? c : h('td', {}, c))))))));
}

function errorCard(e) {
  return h('p', { class: 'card error', role: 'alert' }, `Could not load this: ${e.message}`);
}

// ---------------------------------------------------------------- status and dialogs

function announce(message, isError = false) {
  const el = $('status');
  el.classList.toggle('error', isError);
  el.textContent = '';
  setTimeout(() => { el.textContent = message; }, 30);
}

function dialogResult(d) {
  return new Promise((resolve) => d.addEventListener('close', () => resolve(d.returnValue), { once: true }));
}

function confirmDialog(title, text, okLabel) {
  const d = $('confirm-dialog');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = okLabel;
  d.returnValue = '';
  d.showModal();
  return dialogResult(d).then((v) => v === 'ok');
}

const REASONS = [
  ['spam', 'Spam or advertising'],
  ['abuse', 'Abusive or hateful'],
  ['personal_data', 'Contains personal data'],
  ['off_topic', 'Off topic (not about the shop or product)'],
  ['conflict_of_interest', 'Conflict of interest'],
];
const reasonLabel = (code) => REASONS.find(([c]) => c === code)?.[1] ?? humanize(code);

$('reject-reasons').append(...REASONS.map(([value, label], i) =>
  h('label', {}, h('input', { type: 'radio', name: 'reason', value, checked: i === 0 }), label)));
// Enter on a reason confirms the rejection (the form's first button is Cancel).
$('reject-form').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && e.target.type === 'radio') {
    e.preventDefault();
    $('reject-dialog').close('reject');
  }
});

/** Asks for a reject reason; resolves to its code, or null when cancelled. */
async function askReason(what) {
  const d = $('reject-dialog');
  $('reject-what').textContent = what;
  const radios = [...d.querySelectorAll('input[name=reason]')];
  radios[0].checked = true;
  d.returnValue = '';
  d.showModal();
  radios[0].focus();
  const v = await dialogResult(d);
  return v === 'reject' ? radios.find((r) => r.checked).value : null;
}

// ---------------------------------------------------------------- session and API

const session = { token: null, staff: null, timer: 0, refreshing: null };

class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `request failed (${status})`);
    this.status = status;
    this.problem = problem;
  }

  /** [{field, message}] from a validation problem. */
  get fields() {
    const p = this.problem;
    if (Array.isArray(p.errors)) return p.errors;
    if (!p.field) return [];
    // The detail starts with the field's name ("time_zone must be …"): the field is shown anyway.
    const message = String(p.detail || p.title).replace(new RegExp(`^${p.field.replace(/\W/g, '\\$&')}\\s+`), '');
    return [{ field: p.field, message: message.charAt(0).toUpperCase() + message.slice(1) }];
  }
}

async function problemOf(res) {
  try {
    return await res.json();
  } catch {
    return { title: `${res.status} ${res.statusText}` };
  }
}

function call(method, path, body, auth = true) {
  const headers = {};
  if (auth && session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return fetch(path, { method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) });
}

/** Calls the API; on 401 refreshes once and retries, else shows the login form. */
async function api(method, path, body, raw = false) {
  let res = await call(method, path, body);
  if (res.status === 401 && (await refresh())) res = await call(method, path, body);
  if (res.status === 401) {
    endSession('Your session has ended. Please sign in again.');
  }
  if (!res.ok) throw new ApiError(res.status, await problemOf(res));
  if (raw) return res;
  return res.status === 204 ? null : res.json();
}
const get = (path) => api('GET', path);
const post = (path, body) => api('POST', path, body);

function refresh() {
  session.refreshing ||= (async () => {
    try {
      const res = await call('POST', '/api/v1/auth/refresh', {}, false);
      if (!res.ok) return false;
      startSession(await res.json());
      return true;
    } catch {
      return false;
    } finally {
      session.refreshing = null;
    }
  })();
  return session.refreshing;
}

function startSession(tokens) {
  session.token = tokens.access_token;
  session.staff = tokens.staff;
  clearTimeout(session.timer);
  const renewIn = Math.max(10, (tokens.expires_in || 60) - 60) * 1000;
  session.timer = setTimeout(async () => {
    if (!(await refresh())) endSession('Your session expired. Please sign in again.');
  }, renewIn);
}

function endSession(message) {
  clearTimeout(session.timer);
  session.token = null;
  session.staff = null;
  showLogin(message);
}

const role = () => session.staff?.role;
const isOwner = () => role() === 'owner' || role() === 'admin';
const canModerate = () => !!role() && role() !== 'analyst';

// ---------------------------------------------------------------- shell and routing

function setTitle(text) {
  $('title').textContent = text;
  document.title = `${text} · TruView console`;
}

function showLogin(message) {
  document.body.dataset.state = 'login';
  viewEl.replaceChildren();
  $('who').hidden = true;
  $('nav').hidden = true;
  $('login').hidden = false;
  setTitle('Sign in to TruView');
  $('login-error').textContent = message || '';
  main.setAttribute('aria-busy', 'false');
  main.dataset.view = '';
  $('login-email').focus();
}

async function showApp() {
  document.body.dataset.state = 'app';
  $('login').hidden = true;
  $('login-error').textContent = '';
  $('who').hidden = false;
  $('nav').hidden = false;
  $('who-email').textContent = session.staff.email;
  $('who-role').textContent = session.staff.role;
  for (const a of document.querySelectorAll('#nav a')) a.parentElement.hidden = !allowed(a.dataset.view);
  get('/api/v1/vendor').then((v) => { $('who-vendor').textContent = v.name; }, () => {});
  await route(true);
}

const VIEWS = {
  moderation: ['Moderation queue', renderModeration],
  receipts: ['Receipts to check', renderReceipts],
  funnel: ['Funnel & incentives', renderFunnel],
  reports: ['Reports', renderReports],
  cases: ['Cases', renderCases],
  keys: ['API keys', renderKeys],
  staff: ['Staff', renderStaff],
  jobs: ['Failed jobs', renderJobs],
  audit: ['Audit log', renderAudit],
};

function allowed(name) {
  if (name === 'keys' || name === 'jobs') return isOwner();
  if (name === 'receipts') return canModerate();
  return true;
}

let currentView = '';
let generation = 0;

async function route(focus) {
  if (!session.token) return;
  let name = location.hash.replace(/^#\/?/, '');
  if (!VIEWS[name] || !allowed(name)) name = 'moderation';
  const [title, render] = VIEWS[name];
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  setTitle(title);
  $('status').textContent = '';
  currentView = name;
  const root = h('div', { class: 'view' });
  viewEl.replaceChildren(root);
  main.setAttribute('aria-busy', 'true');
  main.dataset.view = '';
  if (focus) $('title').focus();
  const gen = ++generation;
  try {
    await render(root);
  } catch (e) {
    if (session.token) root.append(errorCard(e));
  }
  if (gen === generation && session.token) {
    main.setAttribute('aria-busy', 'false');
    main.dataset.view = name;
  }
}

window.addEventListener('hashchange', () => route(true));
// The skip link moves focus; following its #main would change the route.
document.querySelector('.skip').addEventListener('click', (e) => {
  e.preventDefault();
  $('title').focus();
});

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  const err = $('login-error');
  const button = form.querySelector('button[type=submit]');
  const email = $('login-email').value.trim();
  const password = $('login-password').value;
  err.textContent = '';
  if (!email || !password) {
    err.textContent = 'Enter your e-mail address and password.';
    return;
  }
  button.disabled = true;
  try {
    const res = await call('POST', '/api/v1/auth/login', { email, password, cookie: true }, false);
    if (!res.ok) {
      const p = await problemOf(res);
      err.textContent = p.detail || p.title || 'Sign-in failed.';
      return;
    }
    startSession(await res.json());
    form.reset();
    await showApp();
  } catch {
    err.textContent = 'The server cannot be reached. Try again.';
  } finally {
    button.disabled = false;
  }
});

$('logout').addEventListener('click', async () => {
  try {
    await api('POST', '/api/v1/auth/logout', {});
  } catch {
    // Signed out locally either way.
  }
  endSession();
  announce('You have signed out.');
});

/** Downloads an authenticated file through a Blob (the API wants the Bearer header). */
async function download(path, filename) {
  try {
    const res = await api('GET', path, undefined, true);
    const url = URL.createObjectURL(await res.blob());
    const a = h('a', { href: url, download: filename, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    announce(`Downloaded ${filename}.`);
  } catch (e) {
    announce(`The download failed: ${e.message}`, true);
  }
}

// ---------------------------------------------------------------- moderation queue

const mod = {
  filters: { status: '', rating: '', level: '', sku: '', flag: '' },
  reviews: [],
  rows: [],
  index: -1,
  picked: new Set(),
  cursor: null,
  busy: false,
  list: null,
  more: null,
  empty: null,
  bulk: null,
  count: null,
};

const FLAGS = {
  insider: ['Insider', (r) => r.insider],
  incentivised: ['Incentivised', (r) => r.incentivised],
  updated: ['Updated after reply', (r) => r.updated_after_reply],
  erased: ['Author data erased', (r) => r.erased],
  unreplied: ['No reply yet', (r) => !r.reply],
};
const PAST = { publish: 'Published', reject: 'Rejected', flag: 'Flagged' };

function matches(r) {
  const f = mod.filters;
  return (!f.rating || r.rating === Number(f.rating))
    && (!f.level || r.maturity_level === Number(f.level))
    && (!f.sku || (r.sku || '').toLowerCase().includes(f.sku.toLowerCase()))
    && (!f.flag || FLAGS[f.flag][1](r))
    && (!f.status || r.status === f.status);
}

async function renderModeration(root) {
  const f = mod.filters;
  const redraw = drawQueue;
  const skuInput = h('input', { type: 'search', value: f.sku, placeholder: 'e.g. LAMP-OAK', oninput: (e) => { f.sku = e.target.value.trim(); redraw(); } });
  const filters = h('form', { class: 'card toolbar', role: 'search', 'aria-label': 'Filter reviews', onsubmit: (e) => e.preventDefault() },
    selectField('Status', [['', 'All'], ['pending', 'Pending'], ['flagged', 'Flagged'], ['published', 'Published'], ['rejected', 'Rejected']],
      f.status, (v) => { f.status = v; loadQueue(true).catch((e) => announce(e.message, true)); }),
    selectField('Rating', [['', 'Any'], ...[5, 4, 3, 2, 1].map((n) => [String(n), `${n} stars`])], f.rating, (v) => { f.rating = v; redraw(); }),
    selectField('Level', [['', 'Any'], ...[0, 1, 2, 3, 4, 5].map((n) => [String(n), `Level ${n}`])], f.level, (v) => { f.level = v; redraw(); }),
    field('Product SKU', skuInput),
    selectField('Flags', [['', 'Any'], ...Object.entries(FLAGS).map(([k, [label]]) => [k, label])], f.flag, (v) => { f.flag = v; redraw(); }),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn', onclick: () => download('/api/v1/reviews/export.csv', 'reviews.csv') }, 'Export CSV'),
      h('button', { type: 'button', class: 'btn', 'aria-keyshortcuts': '?', onclick: () => $('help-dialog').showModal() }, 'Shortcuts (?)')));
  const count = h('span', { class: 'count' });
  mod.bulk = h('div', { class: 'bulk', role: 'region', 'aria-label': 'Bulk actions', hidden: true },
    count,
    canModerate() && [
      h('button', { type: 'button', class: 'btn ok small', onclick: () => bulkDecide('publish') }, 'Publish selected'),
      h('button', { type: 'button', class: 'btn danger small', onclick: () => bulkDecide('reject') }, 'Reject selected'),
    ],
    h('button', { type: 'button', class: 'btn small', onclick: () => { mod.picked.clear(); drawQueue(); } }, 'Clear selection'));
  mod.count = count;
  mod.list = h('ol', { class: 'reviews', 'aria-label': 'Reviews', 'aria-describedby': 'queue-hint' });
  mod.list.addEventListener('focusin', (e) => {
    const i = mod.rows.findIndex((row) => row.el.contains(e.target));
    if (i >= 0 && i !== mod.index) {
      mod.index = i;
      roving();
    }
  });
  mod.empty = h('p', { class: 'card muted', hidden: true }, 'No reviews match these filters.');
  mod.more = h('button', { type: 'button', class: 'btn', hidden: true, onclick: () => loadQueue(false).catch((e) => announce(e.message, true)) }, 'Load more');
  root.append(filters, mod.bulk,
    h('p', { id: 'queue-hint', class: 'hint' }, canModerate()
      ? 'Keys: j / k select, p publish, r reject, x add to the bulk selection, ? help. Rating, level, SKU and flag filters apply to the loaded reviews.'
      : 'Your role can read the queue but not change it. Keys: j / k select, ? help.'),
    mod.list, mod.empty, h('div', { class: 'actions' }, mod.more));
  await loadQueue(true);
}

async function loadQueue(reset) {
  if (reset) {
    mod.reviews = [];
    mod.cursor = null;
    mod.index = -1;
    mod.picked.clear();
  }
  const q = new URLSearchParams({ limit: '50' });
  if (mod.filters.status) q.set('status', mod.filters.status);
  if (mod.cursor) q.set('cursor', mod.cursor);
  const page = await get(`/api/v1/reviews?${q}`);
  mod.reviews.push(...page.reviews);
  mod.cursor = page.next_cursor || null;
  drawQueue();
  if (!reset) announce(`${page.reviews.length} more reviews loaded.`);
}

function drawQueue() {
  const visible = mod.reviews.filter(matches);
  mod.rows = visible.map((r) => ({ r, el: reviewCard(r) }));
  mod.list.replaceChildren(...mod.rows.map((row) => row.el));
  mod.index = Math.min(mod.index, mod.rows.length - 1);
  roving();
  mod.empty.hidden = visible.length > 0;
  mod.more.hidden = !mod.cursor;
  drawBulk();
}

function drawBulk() {
  const n = mod.picked.size;
  mod.bulk.hidden = n === 0;
  mod.count.textContent = `${n} selected`;
}

/** One focusable card per row (roving tabindex); the selected one has aria-current. */
function roving() {
  mod.rows.forEach((row, n) => {
    const on = n === mod.index;
    row.el.tabIndex = on || (mod.index < 0 && n === 0) ? 0 : -1;
    row.el.setAttribute('aria-current', on ? 'true' : 'false');
  });
}

function selectRow(i) {
  if (!mod.rows.length) {
    mod.index = -1;
    announce('The queue is empty.');
    return;
  }
  mod.index = Math.max(0, Math.min(i, mod.rows.length - 1));
  roving();
  const el = mod.rows[mod.index].el;
  el.focus({ preventScroll: true });
  el.scrollIntoView({ block: 'nearest', behavior: reducedMotion() ? 'auto' : 'smooth' });
}

function pick(id, on) {
  if (on) mod.picked.add(id);
  else mod.picked.delete(id);
  const box = mod.rows.find((row) => row.r.id === id)?.el.querySelector('input.pick');
  if (box) box.checked = on;
  drawBulk();
}

function stars(rating) {
  return h('span', { class: 'stars' },
    h('span', { 'aria-hidden': 'true' }, '★'.repeat(rating) + '☆'.repeat(Math.max(0, 5 - rating))),
    h('span', { class: 'sr-only' }, `${rating} of 5 stars`));
}

function reviewCard(r) {
  const id = uid('review');
  const write = canModerate();
  const company = r.checks.find((c) => c.code === 'company_work_email');
  const co = r.company;
  const about = co && [co.name, co.role, co.size && `${co.size} employees`].filter(Boolean).join(' · ');
  const flags = Object.entries(FLAGS).filter(([k, [, test]]) => k !== 'unreplied' && test(r)).map(([, [label]]) => label);
  const replyForm = write ? replyEditor(r, id) : null;
  const decisions = write ? ['publish', 'reject', 'flag'].filter((a) => PAST[a].toLowerCase() !== r.status) : [];
  return h('li', { class: 'review', 'data-id': r.id, 'aria-labelledby': `${id}-t` },
    h('div', { class: 'head' },
      write && h('input', { type: 'checkbox', class: 'pick', checked: mod.picked.has(r.id), 'aria-label': `Select “${r.title}” for bulk actions`,
        onchange: (e) => pick(r.id, e.target.checked) }),
      stars(r.rating),
      h('h2', { id: `${id}-t` }, r.title),
      badge(r.status),
      h('span', { class: 'badge b-level' }, `Level ${r.maturity_level}`)),
    h('p', { class: 'body' }, r.body),
    r.pros && h('p', {}, h('b', {}, 'Pros: '), r.pros),
    r.cons && h('p', {}, h('b', {}, 'Cons: '), r.cons),
    h('p', { class: 'meta' },
      h('span', {}, 'By ', h('b', {}, r.author || '(erased)')),
      company && h('span', {}, about ? `${about} — ${company.label}` : company.label),
      h('span', {}, r.sku ? `Product ${r.sku}` : 'Whole shop'),
      h('span', {}, `Written ${fmtDate(r.created_at)}`),
      r.reject_reason && h('span', {}, `Rejected: ${reasonLabel(r.reject_reason)}`)),
    r.checks.length
      ? h('ul', { class: 'checks', 'aria-label': 'Checks' }, r.checks.map((c) => h('li', {}, c.label)))
      : h('p', { class: 'meta' }, 'No checks: nothing about the author was verified.'),
    flags.length > 0 && h('p', { class: 'meta' }, `Flags: ${flags.join(', ')}`),
    r.history.length > 0 && h('details', {}, h('summary', {}, `${r.history.length} earlier version(s)`),
      r.history.map((v) => h('p', { class: 'meta' }, `${v.rating}★ “${v.title}” (written ${fmtDate(v.written_at)}): ${v.body}`))),
    r.reply && h('div', { class: 'reply' },
      h('b', {}, 'Shop reply'), h('p', { class: 'reply-body' }, r.reply.body),
      h('span', { class: 'meta' }, `Updated ${fmtDate(r.reply.updated_at)}`)),
    write && h('div', { class: 'actions' },
      decisions.map((a) => h('button', {
        type: 'button', class: `btn small ${a === 'publish' ? 'ok' : a === 'reject' ? 'danger' : ''}`, 'aria-describedby': `${id}-t`,
        onclick: () => (a === 'reject' ? rejectOne(r) : decideOne(r, a)),
      }, { publish: 'Publish', reject: 'Reject…', flag: 'Flag' }[a])),
      replyForm.toggle),
    replyForm?.form);
}

function replyEditor(r, id) {
  const formId = `${id}-reply`;
  const text = h('textarea', { maxlength: '2000', required: true, value: r.reply?.body ?? '' });
  const form = h('form', { id: formId, class: 'replyform', hidden: true, onsubmit: async (e) => {
    e.preventDefault();
    const body = text.value.trim();
    if (!body) {
      showErrors(form, [{ field: 'body', message: 'Write a reply first (1–2000 characters).' }]);
      return;
    }
    try {
      r.reply = await post(`/api/v1/reviews/${enc(r.id)}/reply`, { body });
      replaceRow(r, true);
      announce(`Reply to “${r.title}” posted.`);
    } catch (err) {
      showErrors(form, err.fields?.length ? err.fields : [{ field: 'body', message: err.message }]);
    }
  } },
  field('Public reply', text, { name: 'body', hint: 'Shown under the review on the shop (1–2000 characters).' }),
  h('div', { class: 'actions' },
    h('button', { type: 'submit', class: 'btn primary small' }, 'Post reply'),
    h('button', { type: 'button', class: 'btn small', onclick: () => show(false) }, 'Cancel')));
  const toggle = h('button', { type: 'button', class: 'btn small', 'aria-expanded': 'false', 'aria-controls': formId, onclick: () => show(form.hidden) },
    r.reply ? 'Edit reply' : 'Reply');
  function show(open) {
    form.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    (open ? text : toggle).focus();
  }
  return { form, toggle };
}

/** Re-renders one row after a change; a row that no longer matches the filters leaves. */
function replaceRow(r, focus) {
  const pos = mod.rows.findIndex((row) => row.r.id === r.id);
  if (pos < 0) return false;
  const stays = matches(r);
  if (stays) {
    const el = reviewCard(r);
    mod.rows[pos].el.replaceWith(el);
    mod.rows[pos] = { r, el };
  } else {
    mod.rows[pos].el.remove();
    mod.rows.splice(pos, 1);
    mod.picked.delete(r.id);
  }
  mod.empty.hidden = mod.rows.length > 0;
  roving();
  if (focus && stays) mod.rows[pos].el.focus();
  drawBulk();
  return stays;
}

async function decide(r, action, reason) {
  const updated = await post(`/api/v1/reviews/${enc(r.id)}/decision`, action === 'reject' ? { action, reason } : { action });
  const i = mod.reviews.findIndex((x) => x.id === updated.id);
  if (i >= 0) mod.reviews[i] = updated;
  return updated;
}

async function decideOne(r, action, reason) {
  if (mod.busy) return;
  mod.busy = true;
  const pos = mod.rows.findIndex((row) => row.r.id === r.id);
  try {
    const updated = await decide(r, action, reason);
    const stays = replaceRow(updated, false);
    if (mod.rows.length) selectRow(stays ? pos + 1 : pos);
    announce(`${PAST[action]} “${updated.title}”.${mod.rows.length ? '' : ' The queue is empty.'}`);
  } catch (e) {
    announce(`Could not ${action} “${r.title}”: ${e.message}`, true);
  } finally {
    mod.busy = false;
  }
}

async function rejectOne(r) {
  const reason = await askReason(`“${r.title}” by ${r.author || 'an erased author'}`);
  if (reason) await decideOne(r, 'reject', reason);
  else mod.rows.find((row) => row.r.id === r.id)?.el.focus();
}

async function bulkDecide(action) {
  const ids = [...mod.picked];
  if (!ids.length || mod.busy) return;
  const reason = action === 'reject' ? await askReason(`${ids.length} selected review(s)`) : undefined;
  if (reason === null) return;
  mod.busy = true;
  let ok = 0;
  let firstError = '';
  for (const id of ids) {
    try {
      await decide(mod.reviews.find((x) => x.id === id) ?? { id }, action, reason);
      mod.picked.delete(id);
      ok += 1;
    } catch (e) {
      firstError ||= e.message;
    }
  }
  mod.busy = false;
  drawQueue();
  const failed = ids.length - ok;
  announce(`${PAST[action]} ${ok} of ${ids.length} review(s).${failed ? ` ${failed} failed: ${firstError}` : ''}`, failed > 0);
}

function isTextField(el) {
  if (!(el instanceof HTMLElement)) return false;
  if (el.isContentEditable || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT') return true;
  return el.tagName === 'INPUT' && !['checkbox', 'radio', 'button', 'submit', 'reset'].includes(el.type);
}

document.addEventListener('keydown', (e) => {
  if (currentView !== 'moderation' || !session.token || !mod.list?.isConnected) return;
  if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented || (e.repeat && e.key !== 'j' && e.key !== 'k')) return;
  if (document.querySelector('dialog[open]') || isTextField(e.target)) return;
  if (e.key === '?') {
    e.preventDefault();
    $('help-dialog').showModal();
    return;
  }
  if (!['j', 'k', 'p', 'r', 'x'].includes(e.key)) return;
  e.preventDefault();
  if (e.key === 'j') return selectRow(mod.index + 1);
  if (e.key === 'k') return selectRow(mod.index < 0 ? 0 : mod.index - 1);
  const row = mod.rows[mod.index];
  if (!row) return announce('Select a review first with j or k.');
  if (!canModerate()) return announce('Your role can read the queue but not change it.');
  if (e.key === 'p') decideOne(row.r, 'publish');
  else if (e.key === 'r') rejectOne(row.r);
  else {
    pick(row.r.id, !mod.picked.has(row.r.id));
    announce(`${mod.picked.has(row.r.id) ? 'Added to' : 'Removed from'} the bulk selection: ${mod.picked.size} selected.`);
  }
});

// ---------------------------------------------------------------- forms: problem → fields

/** Shows a problem's field errors next to their fields (`data-field`), else on the form. */
function showErrors(form, errors) {
  for (const el of form.querySelectorAll('.error')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  let first = null;
  for (const { field: name, message } of errors) {
    const top = String(name || '').split(/[.[]/)[0];
    const holder = (top && form.querySelector(`[data-field="${CSS.escape(top)}"]`)) || form;
    const slot = holder.querySelector(':scope > .error') ?? form.querySelector(':scope > .error');
    if (slot) slot.textContent = holder === form && name ? `${humanize(name)}: ${message}` : message;
    for (const c of holder === form ? [] : holder.querySelectorAll('input, select, textarea')) c.setAttribute('aria-invalid', 'true');
    if (holder !== form) first ||= holder.querySelector('input, select, textarea');
  }
  first?.focus();
}

function clearErrors(form) {
  showErrors(form, []);
}

/** Submits a form through `action`; shows its problems and announces the outcome. */
function submitter(action, success) {
  return async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const button = form.querySelector('button[type=submit]');
    clearErrors(form);
    button.disabled = true;
    try {
      const result = await action(form);
      if (result !== undefined) {
        announce(success(result));
      }
    } catch (err) {
      if (err instanceof ApiError) {
        showErrors(form, err.fields.length ? err.fields : [{ field: '', message: err.message }]);
        announce(err.fields.length ? 'Not saved: see the highlighted field.' : err.message, true);
      } else {
        showErrors(form, [{ field: err.field ?? '', message: err.message }]);
      }
    } finally {
      button.disabled = false;
    }
  };
}

/** A client-side validation failure, shown like a server's. */
function invalid(field, message) {
  return Object.assign(new Error(message), { field });
}

const num = (value) => (value === '' ? null : Number(value));

// ---------------------------------------------------------------- receipts

async function renderReceipts(root) {
  let state = 'pending';
  const list = h('div', { class: 'grid' });
  const load = async () => {
    const page = await get(`/api/v1/receipts?state=${state}&limit=100`);
    list.replaceChildren(...page.receipts.map(receiptCard));
    if (!page.receipts.length) list.append(h('p', { class: 'card muted' }, `No ${state} receipts.`));
  };
  root.append(h('div', { class: 'card toolbar' },
    selectField('State', [['pending', 'Pending (to check)'], ['accepted', 'Accepted'], ['refused', 'Refused']], state,
      (v) => { state = v; load().catch((e) => announce(e.message, true)); })), list);
  await load();
}

function receiptCard(rc) {
  const preview = h('div', { class: 'preview' });
  const reason = h('input', { type: 'text', maxlength: '200' });
  const decideReceipt = async (accept) => {
    try {
      const body = { accept };
      if (reason.value.trim()) body.reason = reason.value.trim();
      const updated = await post(`/api/v1/receipts/${enc(rc.id)}/decision`, body);
      card.replaceWith(receiptCard(updated));
      announce(`Receipt ${accept ? 'accepted' : 'refused'}.`);
    } catch (e) {
      announce(`Could not decide the receipt: ${e.message}`, true);
    }
  };
  const open = async () => {
    try {
      const res = await api('GET', `/api/v1/receipts/${enc(rc.id)}/file`, undefined, true);
      const blob = new Blob([await res.blob()], { type: rc.content_type });
      if (rc.content_type === 'image/png' || rc.content_type === 'image/jpeg') {
        // img-src allows data: but not blob:, so images become data URLs.
        const dataUrl = await new Promise((resolve, reject) => {
          const reader = new FileReader();
          reader.onload = () => resolve(reader.result);
          reader.onerror = () => reject(reader.error);
          reader.readAsDataURL(blob);
        });
        preview.replaceChildren(h('img', { src: dataUrl, alt: `Receipt uploaded ${fmtDate(rc.created_at)}`, class: 'receipt-img' }));
      } else {
        const url = URL.createObjectURL(blob);
        preview.replaceChildren(h('a', { class: 'btn', href: url, download: `receipt-${rc.id}.pdf` }, 'Download the PDF'));
      }
    } catch (e) {
      announce(`Could not open the file: ${e.message}`, true);
    }
  };
  const card = h('article', { class: 'card', 'aria-label': `Receipt of ${fmtDate(rc.created_at)}` },
    h('h2', {}, `Receipt · ${fmtDate(rc.created_at)}`),
    h('p', { class: 'meta' }, badge(rc.state), h('span', {}, rc.content_type), h('span', {}, `${Math.ceil(rc.size / 1024)} KB`),
      rc.decided_at && h('span', {}, `Decided ${fmtDate(rc.decided_at)}`), rc.reason && h('span', {}, `Note: ${rc.reason}`)),
    !rc.file_deleted_at && h('div', { class: 'actions' }, h('button', { type: 'button', class: 'btn small', onclick: open }, 'Show the file')),
    preview,
    rc.state === 'pending' && [
      field('Note (optional, not shown to readers)', reason),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn ok small', onclick: () => decideReceipt(true) }, 'Accept as proof of purchase'),
        h('button', { type: 'button', class: 'btn danger small', onclick: () => decideReceipt(false) }, 'Refuse')),
    ]);
  return card;
}

// ---------------------------------------------------------------- funnel and coupons

const CHANNELS = [['email', 'E-mail'], ['sms', 'SMS'], ['email,sms', 'E-mail, then SMS'], ['sms,email', 'SMS, then e-mail']];
const INCENTIVES = [['', 'None'], ['coupon', 'Coupon code'], ['discount', 'Discount'], ['prize_draw', 'Prize draw'], ['trial', 'Free trial']];

async function renderFunnel(root) {
  const [settings, pool] = await Promise.all([get('/api/v1/funnel'), get('/api/v1/incentives/coupons')]);
  root.append(h('div', { class: 'grid' }, funnelForm(settings), couponCard(pool)));
}

function funnelForm(fs) {
  const owner = isOwner();
  const numIn = (value, min, max) => h('input', { type: 'number', inputmode: 'numeric', min, max, step: '1', value: value ?? '' });
  const c = {
    enabled: h('input', { type: 'checkbox', checked: fs.enabled }),
    channels: h('select', {}, options(CHANNELS, fs.channels.join(','))),
    invite_delay_days: numIn(fs.invite_delay_days, 0, 90),
    delay_from: h('select', {}, options([['delivery', 'Delivery'], ['purchase', 'Purchase']], fs.delay_from)),
    link_ttl_days: numIn(fs.link_ttl_days, 1, 90),
    reminder_delays_days: h('input', { type: 'text', inputmode: 'numeric', value: fs.reminder_delays_days.join(', ') }),
    cooldown_days: numIn(fs.cooldown_days, 0, 365),
    daily_cap: numIn(fs.daily_cap, 0, 1000000),
    sender_name: h('input', { type: 'text', maxlength: '100', value: fs.sender_name }),
    time_zone: h('input', { type: 'text', maxlength: '64', value: fs.time_zone, autocomplete: 'off' }),
    quiet: h('input', { type: 'checkbox', checked: !!fs.quiet_hours }),
    quiet_start: h('input', { type: 'time', value: fs.quiet_hours?.start ?? '21:00' }),
    quiet_end: h('input', { type: 'time', value: fs.quiet_hours?.end ?? '08:00' }),
    nps: h('input', { type: 'checkbox', checked: fs.nps }),
    referral_url: h('input', { type: 'url', maxlength: '500', value: fs.referral_url ?? '', placeholder: 'https://shop.example/refer' }),
    incentive_kind: h('select', {}, options(INCENTIVES, fs.incentive?.kind ?? '')),
    incentive_description: h('input', { type: 'text', maxlength: '200', value: fs.incentive?.description ?? '' }),
    low_pool_threshold: numIn(fs.incentive?.low_pool_threshold ?? 10, 0, 100000),
    target_conversion: numIn(fs.targets?.conversion_percent, 1, 100),
    target_nps: numIn(fs.targets?.nps, -100, 100),
  };
  const group = (legend, name, ...kids) => h('fieldset', { 'data-field': name }, h('legend', {}, legend), kids, h('p', { class: 'error' }));
  const save = async () => {
    const delays = c.reminder_delays_days.value.split(/[\s,;]+/).filter(Boolean).map(Number);
    if (delays.some((d) => !Number.isInteger(d))) throw invalid('reminder_delays_days', 'Use whole numbers of days, separated by commas.');
    const kind = c.incentive_kind.value;
    const [conv, npsTarget] = [num(c.target_conversion.value), num(c.target_nps.value)];
    if ((conv === null) !== (npsTarget === null)) throw invalid('targets', 'Set both targets, or neither.');
    const body = {
      ...fs,
      enabled: c.enabled.checked,
      channels: c.channels.value.split(','),
      invite_delay_days: num(c.invite_delay_days.value),
      delay_from: c.delay_from.value,
      link_ttl_days: num(c.link_ttl_days.value),
      reminder_delays_days: delays,
      cooldown_days: num(c.cooldown_days.value),
      daily_cap: num(c.daily_cap.value),
      sender_name: c.sender_name.value.trim(),
      time_zone: c.time_zone.value.trim(),
      quiet_hours: c.quiet.checked ? { start: c.quiet_start.value, end: c.quiet_end.value } : null,
      nps: c.nps.checked,
      referral_url: c.referral_url.value.trim() || null,
      incentive: kind ? { kind, description: c.incentive_description.value.trim(), low_pool_threshold: num(c.low_pool_threshold.value) ?? 0 } : null,
      targets: conv === null ? null : { conversion_percent: conv, nps: npsTarget },
    };
    return api('PUT', '/api/v1/funnel', body);
  };
  const form = h('form', { class: 'card', 'aria-labelledby': 'funnel-h', novalidate: true, onsubmit: submitter(save, () => 'Funnel settings saved.') },
    h('h2', { id: 'funnel-h' }, 'Review invitations'),
    h('fieldset', { disabled: !owner, class: 'plain' },
      field('Send invitations for imported orders', c.enabled, { name: 'enabled' }),
      field('Channels', c.channels, { name: 'channels', hint: 'Each order is invited on the first channel it has a contact for.' }),
      field('Invitation delay (days)', c.invite_delay_days, { name: 'invite_delay_days', hint: '0–90 days after…' }),
      field('Delay counts from', c.delay_from, { name: 'delay_from' }),
      field('Link valid for (days)', c.link_ttl_days, { name: 'link_ttl_days' }),
      field('Reminders (days after the invitation)', c.reminder_delays_days, { name: 'reminder_delays_days', hint: 'Up to 3, increasing, e.g. 4, 10. Empty: no reminders.' }),
      field('Cooldown per buyer (days)', c.cooldown_days, { name: 'cooldown_days' }),
      field('Daily cap (0 = none)', c.daily_cap, { name: 'daily_cap' }),
      field('Sender name', c.sender_name, { name: 'sender_name', hint: 'Empty: the shop’s name.' }),
      field('Time zone', c.time_zone, { name: 'time_zone', hint: 'IANA name, e.g. Europe/Berlin.' }),
      group('Quiet hours', 'quiet_hours', field('No messages during quiet hours', c.quiet), field('From', c.quiet_start), field('Until', c.quiet_end)),
      field('Ask the NPS question before the review', c.nps, { name: 'nps' }),
      field('Referral link for promoters', c.referral_url, { name: 'referral_url' }),
      group('Thank-you incentive (for any honest review)', 'incentive',
        field('Kind', c.incentive_kind), field('Description', c.incentive_description), field('Warn when fewer free coupons than', c.low_pool_threshold)),
      group('Targets', 'targets', field('Conversion target (%)', c.target_conversion), field('NPS target', c.target_nps))),
    h('p', { class: 'error' }),
    owner ? h('button', { type: 'submit', class: 'btn primary' }, 'Save settings') : h('p', { class: 'hint' }, 'Only an owner can change these settings.'));
  return form;
}

function couponCard(pool) {
  const stats = h('ul', { class: 'stats' });
  const warn = h('p', { class: 'error' });
  const draw = (p) => {
    stats.replaceChildren(...[['Free', p.free], ['Given', p.given], ['Owed', p.owed], ['Grants pending', p.pending], ['Granted', p.granted], ['Withheld', p.withheld]]
      .map(([label, n]) => h('li', {}, h('b', {}, n), label)));
    warn.textContent = p.low ? 'Low: fewer free codes than the threshold, or reviewers are owed a coupon.' : '';
  };
  draw(pool);
  const codes = h('textarea', { rows: '6', spellcheck: 'false', autocomplete: 'off' });
  const upload = async () => {
    const list = codes.value.split(/\r?\n/).map((x) => x.trim()).filter(Boolean);
    if (!list.length) throw invalid('codes', 'Paste at least one code, one per line.');
    const res = await post('/api/v1/incentives/coupons', { codes: list });
    draw(res.pool);
    codes.value = '';
    return res;
  };
  return h('section', { class: 'card', 'aria-labelledby': 'pool-h' },
    h('h2', { id: 'pool-h' }, 'Coupon pool'), stats, warn,
    isOwner()
      ? h('form', { novalidate: true, onsubmit: submitter(upload, (r) => `Added ${r.added} code(s); ${r.duplicates} duplicate(s) skipped; ${r.given_to_owed} given to owed reviewers.`) },
        field('Codes, one per line', codes, { name: 'codes', hint: 'Letters, digits, - and _; up to 64 characters each.' }),
        h('p', { class: 'error' }),
        h('button', { type: 'submit', class: 'btn primary' }, 'Add codes'))
      : h('p', { class: 'hint' }, 'Only an owner can add codes.'));
}

// ---------------------------------------------------------------- reports

/** Horizontal bar chart: SVG drawn at the figure's width (text stays legible on a phone),
 *  with a summary label, plus the same data as a visually hidden table. */
function barChart(caption, rows, { min = 0, max, format = String } = {}) {
  const lo = Math.min(min, ...rows.map((r) => r[1]));
  const hi = Math.max(max ?? 1, ...rows.map((r) => r[1]));
  const summary = rows.length ? rows.map(([label, v]) => `${label}: ${format(v)}`).join('; ') : 'no data';
  const draw = (W) => {
    const labelW = W < 420 ? 110 : 160, valueW = 56, bar = 22, gap = 10;
    const x = (v) => labelW + ((v - lo) / (hi - lo || 1)) * (W - labelW - valueW);
    const zero = x(Math.max(lo, 0));
    const H = Math.max(rows.length * (bar + gap) + gap, 30);
    return s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${caption}. ${summary}.` },
      rows.map(([label, v], i) => {
        const y = gap + i * (bar + gap);
        return s('g', {},
          s('text', { x: labelW - 8, y: y + bar / 2 + 4, 'text-anchor': 'end' }, label),
          s('rect', { class: v < 0 ? 'bar neg' : 'bar', x: Math.min(zero, x(v)), y, width: Math.max(1, Math.abs(x(v) - zero)), height: bar, rx: 3 }),
          s('text', { x: W - 4, y: y + bar / 2 + 4, 'text-anchor': 'end' }, format(v)));
      }),
      s('line', { class: 'axis', x1: zero, x2: zero, y1: 0, y2: H }));
  };
  let svg = draw(480);
  const fig = h('figure', {}, h('figcaption', {}, caption), svg,
    table(caption, ['Item', 'Value'], rows.map(([label, v]) => [label, format(v)]), { cls: 'sr-only' }));
  new ResizeObserver(([entry]) => {
    const w = Math.max(240, Math.round(entry.contentRect.width));
    if (fig.isConnected && Math.abs(w - svg.viewBox.baseVal.width) > 8) {
      const next = draw(w);
      svg.replaceWith(next);
      svg = next;
    }
  }).observe(fig);
  return fig;
}

const STEPS = [['invited', 'Invited'], ['opened', 'Opened'], ['nps_answered', 'Answered NPS'], ['reminded', 'Reminded'],
  ['reviewed', 'Reviewed'], ['incentive_granted', 'Incentive sent'], ['opted_out', 'Opted out'], ['bounced', 'Bounced']];

async function renderReports(root) {
  let days = '30';
  const body = h('div', {});
  const load = async () => {
    const part = (promise, draw) => promise.then(draw, errorCard);
    const sections = await Promise.all([
      part(get('/api/v1/reports/maturity'), maturitySection),
      part(get('/api/v1/reviews?limit=100'), levelsSection),
      part(get(`/api/v1/reports/funnel?days=${days}`), funnelSection),
      part(get(`/api/v1/reports/nps?days=${days}`), npsSection),
    ]);
    body.replaceChildren(h('div', { class: 'grid wide' }, sections));
  };
  root.append(h('div', { class: 'card toolbar' },
    selectField('Window', [['7', 'Last 7 days'], ['30', 'Last 30 days'], ['90', 'Last 90 days'], ['366', 'Last year']], days,
      (v) => { days = v; load().catch((e) => announce(e.message, true)); })), body);
  await load();
}

function maturitySection(m) {
  return h('section', { class: 'card', 'aria-labelledby': 'mat-h' },
    h('h2', { id: 'mat-h' }, 'Vendor maturity'),
    h('p', {}, h('span', { class: 'big' }, `Level ${m.level}`), ' ', h('span', { class: 'muted' }, `${humanize(m.name)} · over ${m.window_days} days`)),
    m.next_level == null
      ? h('p', {}, 'The highest level is reached.')
      : [h('h3', {}, `Missing for level ${m.next_level}`),
        m.missing_for_next.length
          ? h('ul', { class: 'missing' }, m.missing_for_next.map((x) => h('li', {}, x)))
          : h('p', { class: 'muted' }, 'Nothing: the next assessment should raise the level.')],
    h('details', {}, h('summary', {}, 'All criteria'),
      table('Maturity criteria', ['Level', 'Criterion', 'Met', 'Detail'],
        m.criteria.map((c) => [String(c.level), humanize(c.code), badge(c.met ? 'met' : 'not met', c.met ? 'met' : 'unmet'), c.detail]))));
}

function funnelSection(f) {
  const conv = f.conversion;
  const groups = [...f.by_channel.map((g) => [`Channel: ${g.channel}`, g]), ...f.by_trigger.map((g) => [`Trigger: ${humanize(g.trigger)}`, g])];
  return h('section', { class: 'card', 'aria-labelledby': 'fun-h' },
    h('h2', { id: 'fun-h' }, 'Invitation funnel'),
    h('p', { class: 'muted' }, `${fmtDate(f.from)} – ${fmtDate(f.to)}`),
    h('ul', { class: 'stats' }, [['Opened', conv.opened], ['Reviewed', conv.reviewed], ['Opted out', conv.opted_out], ['Bounced', conv.bounced]]
      .map(([label, v]) => h('li', {}, h('b', {}, pct(v)), `${label} (of invited)`))),
    barChart('Invitations per step', STEPS.map(([k, label]) => [label, f.steps[k]])),
    groups.length > 0 && table('Funnel by channel and trigger', ['Group', 'Invited', 'Opened', 'Reviewed'],
      groups.map(([label, g]) => [label, String(g.invited), String(g.opened), String(g.reviewed)])));
}

function npsSection(n) {
  const fmt = (v) => (v == null ? '—' : (v > 0 ? `+${v}` : String(v)));
  return h('section', { class: 'card', 'aria-labelledby': 'nps-h' },
    h('h2', { id: 'nps-h' }, 'Net Promoter Score'),
    h('p', {}, h('span', { class: 'big' }, fmt(n.nps)), ' ', h('span', { class: 'muted' }, `from ${n.responses} answer(s) over ${n.days} days`)),
    h('ul', { class: 'stats' }, [['Promoters (9–10)', n.promoters], ['Passives (7–8)', n.passives], ['Detractors (0–6)', n.detractors]]
      .map(([label, v]) => h('li', {}, h('b', {}, v), label))),
    n.weeks.length
      ? barChart('NPS per week (week starting)', n.weeks.map((w) => [w.week, w.nps ?? 0]), { min: -100, max: 100, format: fmt })
      : h('p', { class: 'muted' }, 'No answers in this window yet.'));
}

function levelsSection(page) {
  const counts = [0, 1, 2, 3, 4, 5].map((lvl) => [`Level ${lvl}`, page.reviews.filter((r) => r.maturity_level === lvl).length]);
  return h('section', { class: 'card', 'aria-labelledby': 'lvl-h' },
    h('h2', { id: 'lvl-h' }, 'Reviews by level'),
    h('p', { class: 'muted' }, `The latest ${page.reviews.length} review(s), any status. Level 0 is an anonymous rating, 5 a verified buyer with checked identity.`),
    barChart('Reviews per maturity level', counts));
}

// ---------------------------------------------------------------- cases

async function renderCases(root) {
  let state = 'open';
  const list = h('div', { class: 'grid' });
  const load = async () => {
    const page = await get(`/api/v1/cases?limit=100${state ? `&state=${state}` : ''}`);
    const reviews = await Promise.all(page.cases.map((c) => (c.review_id ? get(`/api/v1/reviews/${enc(c.review_id)}`).catch(() => null) : null)));
    list.replaceChildren(...page.cases.map((c, i) => caseCard(c, reviews[i], load)));
    if (!page.cases.length) list.append(h('p', { class: 'card muted' }, 'No cases here.'));
  };
  root.append(h('div', { class: 'card toolbar' },
    selectField('State', [['open', 'Open'], ['resolved', 'Resolved'], ['', 'All']], state, (v) => { state = v; load().catch((e) => announce(e.message, true)); })),
  h('p', { class: 'hint' }, 'A case opens for every 1–2 star review and every NPS detractor. Reply publicly, then resolve; you may invite the author once to update the review.'),
  list);
  await load();
}

function caseCard(c, review, reload) {
  const invite = h('input', { type: 'checkbox', disabled: c.kind !== 'review' || !review?.reply });
  const resolve = async () => {
    const body = c.kind === 'review' ? { invite_update: invite.checked } : {};
    await post(`/api/v1/cases/${enc(c.id)}/resolve`, body);
    await reload();
    return true;
  };
  const title = c.kind === 'review' ? `Review case: ${review ? review.title : c.review_id}` : `NPS detractor (score ${c.score})`;
  return h('article', { class: 'card', 'aria-label': title },
    h('h2', {}, title),
    h('p', { class: 'meta' }, badge(c.state), badge(c.kind), h('span', {}, `Opened ${fmtDate(c.opened_at)}`),
      c.resolved_at && h('span', {}, `Resolved ${fmtDate(c.resolved_at)}`),
      c.update_invited_at && h('span', {}, `Author invited to update ${fmtDate(c.update_invited_at)}`),
      c.author_updated_at && h('span', {}, `Author updated ${fmtDate(c.author_updated_at)}`)),
    review && [
      h('p', {}, stars(review.rating), ' ', review.body),
      h('p', { class: 'meta' }, `By ${review.author || '(erased)'} · ${review.status}`),
      review.reply ? h('div', { class: 'reply' }, h('b', {}, 'Shop reply'), h('p', {}, review.reply.body))
        : h('p', { class: 'hint' }, 'No public reply yet: reply in the moderation queue before inviting an update.'),
    ],
    c.state === 'open' && canModerate() && h('form', { onsubmit: submitter(resolve, () => 'Case resolved.') },
      c.kind === 'review' && field('Invite the author to update the review', invite, { name: 'invite_update' }),
      h('p', { class: 'error' }),
      h('button', { type: 'submit', class: 'btn primary small' }, 'Resolve case')));
}

// ---------------------------------------------------------------- keys and staff

async function renderKeys(root) {
  const listBox = h('div', {});
  const issued = h('div', {});
  const load = async () => {
    const keys = await get('/api/v1/keys');
    listBox.replaceChildren(table('API keys', ['Label', 'Kind', 'Starts with', 'Created', 'Last used', 'State', 'Actions'],
      keys.map((k) => [k.label, k.kind, h('code', {}, `${k.prefix}…`), fmtDate(k.created_at), fmtDate(k.last_used_at),
        k.revoked_at ? badge('revoked', 'rejected') : badge('active', 'published'),
        k.revoked_at ? '' : h('button', { type: 'button', class: 'btn danger small', 'aria-label': `Revoke ${k.label} (${k.prefix}…)`, onclick: async () => {
          if (!(await confirmDialog('Revoke this key?', `“${k.label}” (${k.prefix}…) stops working at once. This cannot be undone.`, 'Revoke key'))) return;
          try {
            await api('DELETE', `/api/v1/keys/${enc(k.id)}`);
            announce(`Key “${k.label}” revoked.`);
            await load();
          } catch (e) {
            announce(`Could not revoke the key: ${e.message}`, true);
          }
        } }, 'Revoke')])));
  };
  const label = h('input', { type: 'text', maxlength: '60', required: true });
  const kind = h('select', {}, options([['publishable', 'Publishable (pk_…, for the widget)'], ['secret', 'Secret (sk_…, for your server)']], 'publishable'));
  const create = async () => {
    if (!label.value.trim()) throw invalid('label', 'Give the key a label.');
    const key = await post('/api/v1/keys', { kind: kind.value, label: label.value.trim() });
    const out = h('input', { type: 'text', readonly: true, value: key.key, class: 'mono' });
    const copy = async () => {
      out.select();
      try {
        await navigator.clipboard.writeText(key.key);
        announce('Key copied to the clipboard.');
      } catch {
        announce('Copy failed: the key is selected, press Ctrl+C (or ⌘C).', true);
      }
    };
    issued.replaceChildren(h('section', { class: 'card', 'aria-labelledby': 'issued-h' },
      h('h2', { id: 'issued-h' }, `New ${key.kind} key “${key.label}”`),
      h('p', {}, 'Copy it now: it is shown only this once.'),
      h('div', { class: 'secret' }, field('Key', out), h('button', { type: 'button', class: 'btn', onclick: copy }, 'Copy'))));
    label.value = '';
    await load();
    out.focus();
    out.select();
    return key;
  };
  root.append(issued,
    h('form', { class: 'card', 'aria-labelledby': 'newkey-h', novalidate: true, onsubmit: submitter(create, (k) => `Key “${k.label}” created.`) },
      h('h2', { id: 'newkey-h' }, 'Create a key'),
      h('div', { class: 'toolbar' }, field('Label', label, { name: 'label' }), field('Kind', kind, { name: 'kind' })),
      h('p', { class: 'error' }),
      h('button', { type: 'submit', class: 'btn primary' }, 'Create key')),
    h('section', { class: 'card', 'aria-label': 'Keys' }, listBox));
  await load();
}

const ROLES = [['owner', 'Owner'], ['moderator', 'Moderator'], ['analyst', 'Analyst (read-only)']];

async function renderStaff(root) {
  const listBox = h('div', {});
  const owner = isOwner();
  const patch = async (m, change, done) => {
    try {
      await api('PATCH', `/api/v1/staff/${enc(m.id)}`, change);
      announce(done);
    } catch (e) {
      announce(`Could not change ${m.email}: ${e.message}`, true);
    }
    await load();
  };
  const load = async () => {
    const staff = await get('/api/v1/staff');
    listBox.replaceChildren(table('Staff members', ['Name', 'E-mail', 'Role', 'State', 'Since', 'Actions'],
      staff.map((m) => [m.display_name, m.email,
        owner ? h('select', { 'aria-label': `Role of ${m.email}`, onchange: (e) => patch(m, { role: e.target.value }, `${m.email} is now ${e.target.value}.`) }, options(ROLES, m.role)) : m.role,
        m.active ? badge('active', 'published') : badge('deactivated', 'rejected'),
        fmtDate(m.created_at),
        owner && (m.active
          ? h('button', { type: 'button', class: 'btn danger small', 'aria-label': `Deactivate ${m.email}`, onclick: async () => {
            if (await confirmDialog('Deactivate this member?', `${m.email} is signed out at once and cannot sign in again until reactivated.`, 'Deactivate')) {
              await patch(m, { active: false }, `${m.email} deactivated.`);
            }
          } }, 'Deactivate')
          : h('button', { type: 'button', class: 'btn small', 'aria-label': `Reactivate ${m.email}`, onclick: () => patch(m, { active: true }, `${m.email} reactivated.`) }, 'Reactivate'))])));
  };
  root.append(h('section', { class: 'card', 'aria-label': 'Members' }, listBox));
  if (owner) {
    const c = {
      email: h('input', { type: 'email', autocomplete: 'off', required: true }),
      display_name: h('input', { type: 'text', maxlength: '80', required: true }),
      role: h('select', {}, options(ROLES, 'moderator')),
      password: h('input', { type: 'password', autocomplete: 'new-password', minlength: '12', maxlength: '128', required: true }),
    };
    const add = async (form) => {
      const body = Object.fromEntries(Object.entries(c).map(([k, el]) => [k, k === 'password' ? el.value : el.value.trim()]));
      if (body.password.length < 12) throw invalid('password', 'At least 12 characters.');
      const m = await post('/api/v1/staff', body);
      form.reset();
      await load();
      return m;
    };
    root.prepend(h('form', { class: 'card', 'aria-labelledby': 'addstaff-h', novalidate: true, onsubmit: submitter(add, (m) => `${m.email} added as ${m.role}.`) },
      h('h2', { id: 'addstaff-h' }, 'Add a member'),
      h('div', { class: 'grid' },
        field('E-mail', c.email, { name: 'email' }), field('Display name', c.display_name, { name: 'display_name' }),
        field('Role', c.role, { name: 'role' }),
        field('Initial password', c.password, { name: 'password', hint: '12–128 characters; share it safely, the member changes it after signing in.' })),
      h('p', { class: 'error' }),
      h('button', { type: 'submit', class: 'btn primary' }, 'Add member')));
  }
  await load();
}

// ---------------------------------------------------------------- jobs and audit

async function renderJobs(root) {
  let state = 'dead';
  const listBox = h('div', {});
  const load = async () => {
    const page = await get(`/api/v1/jobs?state=${state}&limit=100`);
    listBox.replaceChildren(page.jobs.length
      ? table('Jobs', ['Job', 'State', 'Attempts', 'Last error', 'Runs / ran', 'Actions'], page.jobs.map((j) => [
        h('code', {}, j.name), badge(j.state), `${j.attempts} / ${j.max_attempts}`, j.last_error ?? '—', fmtDate(j.run_at),
        j.state === 'dead' ? h('button', { type: 'button', class: 'btn small', 'aria-label': `Retry ${j.name} job`, onclick: async () => {
          try {
            await api('POST', `/api/v1/jobs/${enc(j.id)}/retry`);
            announce(`Job ${j.name} queued again.`);
            await load();
          } catch (e) {
            announce(`Could not retry: ${e.message}`, true);
          }
        } }, 'Retry') : '']))
      : h('p', { class: 'muted' }, state === 'dead' ? 'No failed jobs: nothing is stuck.' : `No ${state} jobs.`));
  };
  root.append(h('div', { class: 'card toolbar' },
    selectField('State', [['dead', 'Dead (failed for good)'], ['queued', 'Queued'], ['running', 'Running'], ['done', 'Done']], state,
      (v) => { state = v; load().catch((e) => announce(e.message, true)); })),
  h('section', { class: 'card', 'aria-label': 'Jobs' }, listBox));
  await load();
}

/** The chain's state as the server checked it (GET /api/v1/audit/verification). */
function verification(check) {
  if (!check) return ['unknown', 'The chain could not be checked just now.', 'Try again, or run “truview audit verify” on the server.'];
  if (check.verified) return ['good', 'Audit chain verified.', `${check.rows} entries, each linked to the one before it under the service's key; nothing removed or added.`];
  return ['bad', 'Audit chain verification FAILED.', check.breaks.map((b) => (b.seq == null ? b.reason : `Entry #${b.seq}: ${b.reason}`)).join(' · ')];
}

async function renderAudit(root) {
  const entries = [];
  let cursor = null;
  let last = {};
  const banner = h('div', { class: 'verify', role: 'status' });
  let check = null;
  const listBox = h('div', {});
  const more = h('button', { type: 'button', class: 'btn', hidden: true, onclick: () => load().catch((e) => announce(e.message, true)) }, 'Load older entries');
  const draw = () => {
    const [kind, headline, detail] = verification(check);
    banner.className = `verify ${kind}`;
    banner.replaceChildren(h('span', { class: 'icon', 'aria-hidden': 'true' }, { good: '✔', bad: '✖', unknown: '!' }[kind]),
      h('div', {}, h('strong', {}, headline), detail && h('div', {}, detail)));
    listBox.replaceChildren(table('Audit entries, newest first', ['#', 'When', 'Actor', 'Action', 'Target', 'Details', 'Hash'],
      entries.map((e) => [h('td', { class: 'num' }, String(e.seq)), fmtDate(e.at), actor(e.actor), h('code', {}, e.action), e.target,
        h('code', {}, JSON.stringify(e.details)), h('td', { class: 'hash mono', title: e.hash }, e.hash)])));
    more.hidden = !cursor;
  };
  const staff = await get('/api/v1/staff').catch(() => []);
  const actor = (a) => staff.find((m) => a === `staff:${m.id}`)?.email ?? a;
  const load = async () => {
    last = await get(`/api/v1/audit?limit=100${cursor ? `&cursor=${enc(cursor)}` : ''}`);
    entries.push(...last.entries);
    cursor = last.next_cursor || null;
    draw();
  };
  root.append(banner, h('section', { class: 'card', 'aria-label': 'Entries' }, listBox, h('div', { class: 'actions' }, more)));
  check = await get('/api/v1/audit/verification').catch(() => null);
  await load();
}

// ---------------------------------------------------------------- start

(async () => {
  if (await refresh()) await showApp();
  else showLogin();
})();
