/*! TruView widget v1 — verified reviews with their checks. No dependencies.
 * <script src="https://reviews.example/widget/v1/truview.js" defer></script>
 * <truview-reviews data-key="pk_…" data-sku="SKU-1"></truview-reviews>
 * <truview-badge data-key="pk_…" data-sku="SKU-1"></truview-badge>
 * Attributes: data-key (publishable key), data-sku (omit for shop reviews), data-locale
 * (en, ru; default <html lang>), data-api (default: where this script came from),
 * data-write ("popup", the default: the hosted review page in a window of its own;
 * "overlay": the same page in a dialog over the shop's page — register the shop's origin).
 * Theme with CSS custom properties (--tv-accent, --tv-text, --tv-muted, --tv-bg,
 * --tv-border, --tv-font, --tv-radius) and ::part(summary|list|review|controls|more).
 * Text from reviews is only ever set with textContent. To keep the page from moving while
 * the script loads, reserve the space in the page's CSS:
 *   truview-reviews:not(:defined){display:block;min-height:40rem}
 *   truview-badge:not(:defined){display:block;min-height:1.5rem}
 * (40rem is --tv-reserve, the height kept until the first reviews are in.) */
(() => {
  "use strict";
  const script = document.currentScript;
  const scriptOrigin = script && script.src ? new URL(script.src, location.href).origin : location.origin;

  const STRINGS = {
    en: {
      reviews: (n) => (n === 1 ? "1 review" : `${n} reviews`),
      stars: (v) => `${v} out of 5 stars`,
      starsRow: (s, n) => `${s} stars: ${n} reviews`,
      level: (l) => `Level ${l}`,
      levels: ["Anonymous", "Self-declared", "Verified identity", "Verified purchase", "Identity and purchase", "Verified buyer"],
      byLevel: "Reviews by verification level",
      sort: "Sort by", recent: "Most recent", helpful: "Most helpful", rating: "Highest rating",
      minLevel: "Show", allLevels: "All reviews", atLeast: (l) => `Level ${l} and above`,
      write: "Write a review", more: "Show more reviews", loading: "Loading reviews…", none: "No reviews yet.",
      error: "Reviews could not be loaded.", helpfulBtn: (n) => `Helpful (${n})`, thanks: "Thank you",
      reply: "Reply from the shop", insider: "Written by someone from the shop",
      incentivised: "Received an incentive for an honest review", erased: "Author data erased on request",
      vendorLevel: (l) => `Shop maturity level ${l} of 5`, anonymous: "Anonymous",
      updated: "Updated after the shop's reply", earlier: (n) => `Earlier version (${n})`,
      employees: (n) => `${n} employees`, works: null, close: "Close",
    },
    ru: {
      reviews: (n) => {
        const m10 = n % 10, m100 = n % 100;
        const w = m10 === 1 && m100 !== 11 ? "отзыв" : m10 >= 2 && m10 <= 4 && (m100 < 12 || m100 > 14) ? "отзыва" : "отзывов";
        return `${n} ${w}`;
      },
      stars: (v) => `${v} из 5 звёзд`,
      starsRow: (s, n) => `${s} звёзд: ${n}`,
      level: (l) => `Уровень ${l}`,
      levels: ["Анонимно", "Назвался сам", "Личность проверена", "Покупка проверена", "Личность и покупка", "Проверенный покупатель"],
      byLevel: "Отзывы по уровню проверки",
      sort: "Сортировка", recent: "Сначала новые", helpful: "Самые полезные", rating: "С высокой оценкой",
      minLevel: "Показать", allLevels: "Все отзывы", atLeast: (l) => `Уровень ${l} и выше`,
      write: "Написать отзыв", more: "Показать ещё", loading: "Загружаем отзывы…", none: "Отзывов пока нет.",
      error: "Не удалось загрузить отзывы.", helpfulBtn: (n) => `Полезно (${n})`, thanks: "Спасибо",
      reply: "Ответ магазина", insider: "Написано сотрудником магазина",
      incentivised: "Получил поощрение за честный отзыв", erased: "Данные автора удалены по запросу",
      vendorLevel: (l) => `Уровень зрелости магазина ${l} из 5`, anonymous: "Аноним",
      updated: "Изменён после ответа магазина", earlier: (n) => `Прежняя версия (${n})`,
      employees: (n) => `${n} сотрудников`, works: (d) => `Работает в ${d} (рабочий e-mail подтверждён)`, close: "Закрыть",
    },
  };
  const CHECKS_RU = {
    anonymous: "Анонимно", self_declared: "Имя указано автором, не проверено",
    identity_phone: "Личность подтверждена по телефону", purchase_invitation: "Заказ подтверждён (приглашение после покупки)",
    purchase_order_match: "Заказ подтверждён (номер заказа и контакт)", purchase_receipt: "Чек проверен магазином",
    verified_buyer: "Проверенный покупатель", erased: "Данные автора удалены по запросу",
    purchase_reply: "Ответил на приглашение по e-mail", purchase_sms_reply: "Ответил на приглашение по SMS",
  };

  const CSS = `
    :host { display: block; font-family: var(--tv-font, system-ui, sans-serif); color: var(--tv-text, #1f2328);
      --accent: var(--tv-accent, #0b6bcb); --muted: var(--tv-muted, #59636e); --border: var(--tv-border, #d1d9e0); }
    * { box-sizing: border-box; }
    [hidden] { display: none !important; }
    :host(truview-badge) { min-height: 1.5rem; }
    .frame { min-height: var(--tv-reserve, 40rem); }
    .frame.fits { min-height: 0; }
    .sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
    .summary { display: grid; gap: .75rem; grid-template-columns: 1fr; padding: 1rem; border: 1px solid var(--border);
      border-radius: var(--tv-radius, 12px); background: var(--tv-bg, #fff); }
    @media (min-width: 560px) { .summary { grid-template-columns: auto 1fr 1fr; align-items: start; } }
    .avg { font-size: 2.25rem; font-weight: 700; line-height: 1; }
    .stars { color: #e3a008; letter-spacing: .1em; white-space: nowrap; }
    .muted { color: var(--muted); font-size: .875rem; }
    ul { list-style: none; margin: 0; padding: 0; }
    .bars li { display: grid; grid-template-columns: 2.5rem 1fr 2.5rem; gap: .5rem; align-items: center; font-size: .8125rem; }
    .bar { height: .5rem; background: #eef1f4; border-radius: 4px; overflow: hidden; }
    .bar > span { display: block; height: 100%; background: var(--accent); }
    .levels li { display: flex; justify-content: space-between; gap: .5rem; font-size: .8125rem; }
    .controls { display: flex; flex-wrap: wrap; gap: .75rem; margin: 1rem 0; }
    label { font-size: .875rem; display: flex; gap: .375rem; align-items: center; }
    select, button { font: inherit; font-size: .875rem; padding: .375rem .625rem; border: 1px solid var(--border);
      border-radius: 8px; background: #fff; color: inherit; min-height: 2.25rem; }
    button { cursor: pointer; }
    button:focus-visible, select:focus-visible, .review:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
    .review:focus:not(:focus-visible) { outline: none; }
    .review { padding: 1rem 0; border-bottom: 1px solid var(--border); }
    .head { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
    .title { font-weight: 600; margin: .25rem 0; }
    .body { white-space: pre-line; margin: .25rem 0 .5rem; }
    .badge { font-size: .75rem; font-weight: 600; padding: .125rem .5rem; border-radius: 999px; background: #e8f1fb; color: #0b4f94; }
    .badge.l5, .badge.l4 { background: #dff5e3; color: #1a6b2f; }
    .badge.l0, .badge.l1 { background: #f1f3f5; color: #4a525a; }
    .checks li { font-size: .8125rem; color: var(--muted); }
    .checks li::before { content: "✓ "; color: #1a7f37; }
    .flag { font-size: .8125rem; color: #9a6700; }
    .reply { margin: .5rem 0 0 1rem; padding: .5rem .75rem; border-left: 3px solid var(--accent); background: #f6f8fa; }
    .more { margin-top: 1rem; width: 100%; }
    .write { margin-left: auto; background: var(--accent); color: #fff; border-color: var(--accent); font-weight: 600; }
    .overlay { width: min(30rem, 100vw); height: min(48rem, 100dvh); max-width: 100vw; max-height: 100dvh; padding: 0; border: 0; border-radius: var(--radius); display: flex; flex-direction: column; }
    .overlay::backdrop { background: rgb(0 0 0 / .5); }
    .overlay iframe { flex: 1; width: 100%; border: 0; }
    .close { align-self: flex-end; margin: .25rem; }
    @media (prefers-reduced-motion: no-preference) { .bar > span { transition: width .3s ease; } }
  `;

  let sheet = null;
  function styles(root) {
    try {
      if (!sheet) { sheet = new CSSStyleSheet(); sheet.replaceSync(CSS); }
      root.adoptedStyleSheets = [sheet];
    } catch (_) {
      const style = document.createElement("style");
      style.textContent = CSS;
      root.appendChild(style);
    }
  }

  /** An element with attributes and children (strings become text nodes, never HTML). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v === null || v === undefined) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "style") el.style.cssText = String(v); // CSSOM: allowed under a strict CSP
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    }
    return el;
  }

  function starText(value) {
    const full = Math.round(value);
    return "★".repeat(full) + "☆".repeat(5 - full);
  }

  function stars(t, value) {
    return h("span", { class: "stars", role: "img", "aria-label": t.stars(value) }, starText(value));
  }

  function localeOf(el) {
    const raw = (el.dataset.locale || document.documentElement.lang || "en").toLowerCase();
    return raw.startsWith("ru") ? "ru" : "en";
  }

  function voterToken() {
    const key = "truview.voter";
    try {
      let t = localStorage.getItem(key);
      if (!t) {
        const b = new Uint8Array(24);
        crypto.getRandomValues(b);
        t = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
        localStorage.setItem(key, t);
      }
      return t;
    } catch (_) {
      return null;
    }
  }

  class Base extends HTMLElement {
    base() {
      return (this.dataset.api || scriptOrigin).replace(/\/+$/, "");
    }
    api() {
      return `${this.base()}/api/v1/public/${encodeURIComponent(this.dataset.key || "")}`;
    }
    async get(path) {
      const res = await fetch(this.api() + path, { headers: { Accept: "application/json" } });
      if (!res.ok) throw new Error(String(res.status));
      return res.json();
    }
    skuQuery(prefix) {
      return this.dataset.sku ? `${prefix}sku=${encodeURIComponent(this.dataset.sku)}` : "";
    }
  }

  class Reviews extends Base {
    connectedCallback() {
      if (this.shadowRoot) return;
      this.t = STRINGS[localeOf(this)];
      this.sort = "recent";
      this.minLevel = 0;
      const root = this.attachShadow({ mode: "open" });
      styles(root);
      // Nothing visible until the data is in (one paint, nothing inside moves).
      this.status = h("p", { class: "muted sr", role: "status", "aria-live": "polite" }, this.t.loading);
      this.summaryEl = h("section", { part: "summary", class: "summary", "aria-label": this.t.reviews(0) });
      this.listEl = h("ul", { part: "list", class: "list" });
      this.moreBtn = h("button", { part: "more", class: "more", type: "button", hidden: true, onclick: () => this.more() }, this.t.more);
      // Space is reserved until the first page is in (--tv-reserve), so the shop's content
      // below does not jump when it arrives; kept if the reviews turn out shorter.
      this.controlsEl = this.controls();
      this.controlsEl.hidden = true;
      this.frame = h("div", { class: "frame" }, this.summaryEl, this.controlsEl, this.status, this.listEl, this.moreBtn);
      root.append(this.frame);
      this.load();
    }

    controls() {
      const t = this.t;
      const sort = h("select", { onchange: (e) => { this.sort = e.target.value; this.page(true); } },
        h("option", { value: "recent" }, t.recent), h("option", { value: "helpful" }, t.helpful), h("option", { value: "rating" }, t.rating));
      const level = h("select", { onchange: (e) => { this.minLevel = Number(e.target.value); this.page(true); } },
        h("option", { value: "0" }, t.allLevels), ...[1, 2, 3, 4, 5].map((l) => h("option", { value: String(l) }, t.atLeast(l))));
      // The hosted page on the service's origin, in a window of its own or a dialog over the
      // page: no secret or login on the shop's page.
      const write = h("button", { type: "button", class: "write", onclick: () => {
        const url = `${this.base()}/r/new?key=${encodeURIComponent(this.dataset.key || "")}${this.skuQuery("&")}&lang=${localeOf(this)}`;
        if (this.dataset.write === "overlay" && window.HTMLDialogElement) this.overlay(url, write);
        else window.open(url, "truview-write", "popup,width=480,height=760") || (location.href = url);
      } }, t.write);
      return h("div", { part: "controls", class: "controls" }, h("label", {}, t.sort, sort), h("label", {}, t.minLevel, level), write);
    }

    /** The hosted page in a modal dialog (focus kept inside, Escape closes, focus back to `opener`). */
    overlay(url, opener) {
      const t = this.t;
      const dialog = h("dialog", { part: "overlay", class: "overlay", "aria-label": t.write,
        onclose: () => { dialog.remove(); opener.focus(); } },
      h("button", { type: "button", class: "close", onclick: () => dialog.close() }, t.close),
      h("iframe", { src: url, title: t.write }));
      this.shadowRoot.append(dialog);
      dialog.showModal();
    }

    async load() {
      try {
        // Both requests at once, one paint.
        const [s, show] = await Promise.all([this.get(`/summary${this.skuQuery("?")}`), this.fetchPage(true)]);
        this.renderSummary(s);
        this.controlsEl.hidden = false;
        show();
        this.markup(s);
      } catch (_) {
        this.status.textContent = this.t.error;
      }
      this.status.classList.remove("sr");
      this.fit();
    }

    /** Keeps the shop's page still when the first reviews are taller than the reserve: if
     * what lies below the widget is on screen, only the reviews that fit are shown and
     * "Show more" shows the rest (a move the shopper asked for). Measured before the paint. */
    fit() {
      const f = this.frame;
      const items = [...this.listEl.children];
      const reserve = parseFloat(getComputedStyle(f).minHeight) || 0;
      const height = () => f.getBoundingClientRect().height;
      f.classList.add("fits");
      if (height() <= reserve) return f.classList.remove("fits");
      if (f.getBoundingClientRect().top + reserve >= innerHeight) return;
      const noMore = this.moreBtn.hidden;
      this.moreBtn.hidden = false;
      let over = height() - reserve;
      let keep = items.length;
      while (over > 0 && keep > 0) over -= items[--keep].getBoundingClientRect().height;
      for (const li of items.slice(keep)) li.hidden = true;
      // Margins between what is left: hide one more while it still does not fit.
      while (keep > 0 && height() > reserve) items[--keep].hidden = true;
      if (keep > 0) return f.classList.remove("fits");
      // Not even one review fits (a reserve smaller than the summary): draw them all.
      for (const li of items) li.hidden = false;
      this.moreBtn.hidden = noMore;
    }

    /** "Show more": the reviews already in but held back by fit(), else the next page; focus
     * goes to the first review it shows. */
    async more() {
      const first = this.listEl.children.length;
      const held = [...this.listEl.children].filter((li) => li.hidden);
      if (held.length) {
        for (const li of held) li.hidden = false;
        this.moreBtn.hidden = !this.cursor;
      } else {
        await this.page(false);
      }
      // If the next page could not be loaded, the button is back to try again.
      (held[0] || this.listEl.children[first] || this.moreBtn).focus();
    }

    /** schema.org Product JSON-LD in the page's <head>, for product pages only (shop-wide
     * reviews get none: Google treats a business's reviews of itself as self-serving). It
     * lists the whole first page, reviews held for "Show more" included: they are on the
     * page, one click away. */
    markup(s) {
      if (!this.dataset.sku || !s.product || !s.count) return;
      const p = s.product;
      const reviews = [...this.listEl.children].map((li) => li.review).filter((r) => r && !r.insider);
      const ld = {
        "@context": "https://schema.org", "@type": "Product", name: p.name, sku: this.dataset.sku,
        ...(p.url && { url: p.url }), ...(p.image_url && { image: p.image_url }), ...(p.gtin && { gtin: p.gtin }), ...(p.mpn && { mpn: p.mpn }),
        ...(p.brand && { brand: { "@type": "Brand", name: p.brand } }),
        aggregateRating: { "@type": "AggregateRating", ratingValue: s.average, reviewCount: s.count, bestRating: 5, worstRating: 1 },
        review: reviews.map((r) => ({
          "@type": "Review", name: r.title, reviewBody: r.body, datePublished: (r.published_at || "").slice(0, 10),
          author: { "@type": "Person", name: r.author || "Anonymous" },
          reviewRating: { "@type": "Rating", ratingValue: r.rating, bestRating: 5, worstRating: 1 },
        })),
      };
      if (!this.ld) { this.ld = document.createElement("script"); this.ld.type = "application/ld+json"; document.head.appendChild(this.ld); }
      this.ld.textContent = JSON.stringify(ld);
    }

    renderSummary(s) {
      const t = this.t;
      const total = s.count || 0;
      this.summaryEl.setAttribute("aria-label", t.reviews(total));
      const hist = h("ul", { class: "bars", "aria-label": t.reviews(total) },
        [5, 4, 3, 2, 1].map((n) => {
          const c = s.histogram[String(n)] || 0;
          const pct = total ? Math.round((c * 100) / total) : 0;
          return h("li", { "aria-label": t.starsRow(n, c) },
            h("span", { "aria-hidden": "true" }, `${n} ★`),
            h("span", { class: "bar", "aria-hidden": "true" }, h("span", { style: `width:${pct}%` })),
            h("span", { "aria-hidden": "true" }, String(c)));
        }));
      const levels = h("ul", { class: "levels", "aria-label": t.byLevel },
        [5, 4, 3, 2, 1, 0].map((l) => h("li", {}, h("span", {}, `${t.level(l)} · ${t.levels[l]}`), h("span", {}, String(s.levels[String(l)] || 0)))));
      this.summaryEl.replaceChildren(
        h("div", {},
          h("div", { class: "avg" }, s.average === null || s.average === undefined ? "–" : s.average.toFixed(1)),
          s.average ? stars(t, s.average) : null,
          h("div", { class: "muted" }, t.reviews(total)),
          h("div", { class: "muted" }, t.vendorLevel(s.vendor_level))),
        hist, levels);
    }

    async page(reset) {
      try {
        (await this.fetchPage(reset))();
      } catch (_) {
        this.status.textContent = this.t.error;
        this.moreBtn.hidden = !this.cursor;
      }
    }

    /** Fetches a page of reviews; resolves to the function that shows it. */
    async fetchPage(reset) {
      if (reset) this.cursor = "";
      this.moreBtn.hidden = true;
      this.status.textContent = this.t.loading;
      const q = `?sort=${this.sort}&min_level=${this.minLevel}&limit=10${this.skuQuery("&")}${this.cursor ? `&cursor=${encodeURIComponent(this.cursor)}` : ""}`;
      const p = await this.get(`/reviews${q}`);
      return () => {
        if (reset) this.listEl.replaceChildren();
        for (const r of p.reviews) this.listEl.appendChild(this.review(r));
        this.cursor = p.next_cursor || "";
        this.moreBtn.hidden = !p.next_cursor;
        this.status.textContent = this.listEl.children.length ? "" : this.t.none;
      };
    }

    review(r) {
      const t = this.t;
      const ru = localeOf(this) === "ru";
      const co = r.company;
      const label = (c) => (ru && (CHECKS_RU[c.code] || (co && c.code === "company_work_email" && t.works(co.domain)))) || c.label;
      const checks = h("ul", { class: "checks" }, (r.checks || []).map((c) => h("li", { "data-code": c.code }, label(c))));
      const about = co && [co.name, co.role, co.size && t.employees(co.size)].filter(Boolean).join(" · ");
      const date = r.published_at ? new Date(r.published_at).toLocaleDateString(ru ? "ru" : undefined) : "";
      const helpful = h("button", { type: "button" }, t.helpfulBtn(r.helpful_count || 0));
      helpful.addEventListener("click", () => this.vote(r, helpful));
      const li = h("li", { part: "review", class: "review", tabindex: "-1", "data-level": r.maturity_level },
        h("div", { class: "head" },
          stars(t, r.rating),
          h("span", { class: `badge l${r.maturity_level}`, title: t.levels[r.maturity_level] }, `${t.level(r.maturity_level)} · ${t.levels[r.maturity_level]}`),
          h("span", { class: "muted" }, `${r.author || t.anonymous}${date ? " · " + date : ""}`)),
        about ? h("p", { class: "muted", part: "company" }, about) : null,
        h("p", { class: "title" }, r.title),
        h("p", { class: "body" }, r.body),
        r.insider ? h("p", { class: "flag" }, t.insider) : null,
        r.incentivised ? h("p", { class: "flag" }, t.incentivised) : null,
        r.updated_after_reply ? h("p", { class: "flag" }, t.updated) : null,
        (r.history || []).length ? h("details", { part: "history" }, h("summary", {}, t.earlier(r.history.length)),
          ...r.history.map((v) => h("div", {}, stars(t, v.rating), h("p", { class: "title" }, v.title), h("p", { class: "body" }, v.body)))) : null,
        checks,
        r.reply ? h("div", { class: "reply" }, h("strong", {}, t.reply), h("p", { class: "body" }, r.reply.body)) : null,
        helpful);
      li.review = r;
      return li;
    }

    async vote(r, button) {
      const token = voterToken();
      if (!token) return;
      button.disabled = true;
      try {
        const res = await fetch(`${this.api()}/reviews/${encodeURIComponent(r.id)}/helpful`, {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ voter_token: token }),
        });
        if (res.ok) {
          const body = await res.json();
          button.textContent = `${this.t.helpfulBtn(body.helpful_count)} · ${this.t.thanks}`;
        } else {
          button.disabled = false;
        }
      } catch (_) {
        button.disabled = false;
      }
    }
  }

  class Badge extends Base {
    async connectedCallback() {
      if (this.shadowRoot) return;
      const t = STRINGS[localeOf(this)];
      const root = this.attachShadow({ mode: "open" });
      styles(root);
      try {
        const s = await this.get(`/summary${this.skuQuery("?")}`);
        root.append(h("span", { part: "badge" },
          s.average ? stars(t, s.average) : null, " ",
          h("span", { class: "muted" }, `${s.average ? s.average.toFixed(1) + " · " : ""}${t.reviews(s.count)} · ${t.vendorLevel(s.vendor_level)}`)));
      } catch (_) {
        root.append(h("span", { class: "muted" }, t.error));
      }
    }
  }

  if (!customElements.get("truview-reviews")) customElements.define("truview-reviews", Reviews);
  if (!customElements.get("truview-badge")) customElements.define("truview-badge", Badge);
})();
