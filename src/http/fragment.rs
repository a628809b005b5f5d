//! `GET /api/v1/public/{pk}/reviews.html`: the widget's content rendered on the server,
//! for shops that render pages on the server or without JavaScript — escaped HTML, and
//! schema.org `Product` JSON-LD on product pages only (shop-wide reviews get none: Google
//! treats a business's reviews of itself as self-serving).

use actix_web::http::header;
use actix_web::{get, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use crate::app::State;
use crate::error::{Error, Result};
use crate::http::errors::Problem;
use crate::http::html::esc;
use crate::http::public::{self, PublicReview, ReviewPage, ReviewsQuery, Summary};
use crate::http::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(fragment);
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FragmentQuery {
    #[param(pattern = r"^[A-Za-z0-9\-_.:/]{1,64}$")]
    pub sku: Option<String>,
    /// Only reviews at this maturity level or above (0–5).
    #[param(minimum = 0, maximum = 5)]
    pub min_level: Option<i32>,
    /// `recent` (default), `helpful` or `rating`.
    #[param(pattern = "^(recent|helpful|rating)$")]
    pub sort: Option<String>,
    /// `next_cursor` of the JSON list, or the fragment's `data-next-cursor`.
    #[param(pattern = "^[A-Za-z0-9_-]{0,400}$")]
    pub cursor: Option<String>,
    /// 1–50, default 20.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<i64>,
    /// `en` (default) or `ru`.
    #[param(pattern = "^(en|ru)$")]
    pub lang: Option<String>,
}

/// The CSP of the fragment when it is opened as a page: nothing runs, nothing loads.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

/// Published reviews as an HTML fragment (summary, reviews with their levels and checks,
/// the shop's replies), with `Product` JSON-LD when `sku` names a catalogue product.
#[utoipa::path(
    tag = "public",
    params(("pk" = String, Path), FragmentQuery),
    responses(
        (status = 200, content_type = "text/html", body = String),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)
    )
)]
#[get("/api/v1/public/{pk}/reviews.html")]
async fn fragment(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let pk = public::path_pk(&req)?;
    let q: FragmentQuery = public::parse_query(req.query_string())?;
    let ru = match q.lang.as_deref() {
        None | Some("en") => false,
        Some("ru") => true,
        Some(_) => return Err(Error::BadRequest("lang must be en or ru".into())),
    };
    let query = public::parse_reviews_query(ReviewsQuery {
        sku: q.sku,
        min_level: q.min_level,
        sort: q.sort,
        cursor: q.cursor,
        limit: q.limit,
    })?;
    let sku = query.sku.clone();
    let public::WidgetData { vendor, body: summary, .. } = public::summary_data(&state, pk.clone(), sku).await?;
    let page = public::page_data(&state, pk, query).await?.body;
    let mut res = HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .body(render(&summary, &page, if ru { &RU } else { &EN }));
    public::cors(&mut res, public::origin_of(&req).as_deref(), &vendor.origin_list());
    Ok(res)
}

struct Words {
    lang: &'static str,
    reviews: fn(i64) -> String,
    stars: fn(i32) -> String,
    levels: [&'static str; 6],
    level: &'static str,
    vendor_level: &'static str,
    none: &'static str,
    reply: &'static str,
    insider: &'static str,
    incentivised: &'static str,
    updated: &'static str,
    anonymous: &'static str,
    region: &'static str,
    employees: fn(&str) -> String,
}

const EN: Words = Words {
    lang: "en",
    reviews: |n| if n == 1 { "1 review".into() } else { format!("{n} reviews") },
    stars: |v| format!("{v} out of 5 stars"),
    levels: crate::http::page_words::EN.levels,
    level: "Level",
    vendor_level: "Shop maturity level",
    none: "No reviews yet.",
    reply: "Reply from the shop",
    insider: "Written by someone from the shop",
    incentivised: "Received an incentive for an honest review",
    updated: "Updated after the shop's reply",
    anonymous: "Anonymous",
    region: "Customer reviews",
    employees: |n| format!("{n} employees"),
};

const RU: Words = Words {
    lang: "ru",
    reviews: |n| {
        let (m10, m100) = (n % 10, n % 100);
        let w = if m10 == 1 && m100 != 11 {
            "отзыв"
        } else if (2..=4).contains(&m10) && !(12..=14).contains(&m100) {
            "отзыва"
        } else {
            "отзывов"
        };
        format!("{n} {w}")
    },
    stars: |v| format!("{v} из 5 звёзд"),
    levels: crate::http::page_words::RU.levels,
    level: "Уровень",
    vendor_level: "Уровень зрелости магазина",
    none: "Отзывов пока нет.",
    reply: "Ответ магазина",
    insider: "Написано сотрудником магазина",
    incentivised: "Получил поощрение за честный отзыв",
    updated: "Изменён после ответа магазина",
    anonymous: "Аноним",
    region: "Отзывы покупателей",
    employees: |n| format!("{n} сотрудников"),
};

fn stars(n: i32) -> String {
    let n = n.clamp(0, 5) as usize;
    "★".repeat(n) + &"☆".repeat(5 - n)
}

/// The fragment: every piece of review text goes through `esc`.
fn render(s: &Summary, page: &ReviewPage, w: &Words) -> String {
    let mut out = format!(
        "<section class=\"truview-reviews\" lang=\"{lang}\" aria-label=\"{region}\"{next}>",
        lang = w.lang,
        region = esc(w.region),
        next = page.next_cursor.as_deref().map(|c| format!(" data-next-cursor=\"{}\"", esc(c))).unwrap_or_default()
    );
    let average = s.average.map(|a| format!("{a:.1}")).unwrap_or_else(|| "–".into());
    out += &format!(
        "<div class=\"tv-summary\"><p><strong>{average}</strong> <span aria-label=\"{label}\">{stars}</span> · {count} · {vendor_level} {level}/5</p></div>",
        label = esc(&(w.stars)(s.average.map(|a| a.round() as i32).unwrap_or(0))),
        stars = stars(s.average.map(|a| a.round() as i32).unwrap_or(0)),
        count = esc(&(w.reviews)(s.count)),
        vendor_level = esc(w.vendor_level),
        level = s.vendor_level,
    );
    if page.reviews.is_empty() {
        out += &format!("<p class=\"tv-none\">{}</p>", esc(w.none));
    } else {
        out += "<ol class=\"tv-list\">";
        for r in &page.reviews {
            out += &review(r, w);
        }
        out += "</ol>";
    }
    if let (Some(sku), Some(_)) = (&s.sku, &s.product) {
        out += &json_ld(sku, s, page);
    }
    out + "</section>"
}

fn review(r: &PublicReview, w: &Words) -> String {
    let level = r.maturity_level.clamp(0, 5);
    let mut out = format!(
        "<li class=\"tv-review\" data-level=\"{level}\"><p class=\"tv-stars\" aria-label=\"{label}\">{stars}</p>\
         <h3 class=\"tv-title\">{title}</h3><p class=\"tv-meta\"><span class=\"tv-badge\">{level_word} {level} · {level_name}</span> \
         {author}{date}</p>{company}<p class=\"tv-body\">{body}</p>",
        label = esc(&(w.stars)(r.rating)),
        stars = stars(r.rating),
        title = esc(&r.title),
        level_word = esc(w.level),
        level_name = esc(w.levels[level as usize]),
        author = esc(if r.author.is_empty() { w.anonymous } else { &r.author }),
        date = r.published_at.as_deref().map(|d| format!(" · <time datetime=\"{0}\">{1}</time>", esc(d), esc(&d[..d.len().min(10)]))).unwrap_or_default(),
        body = esc(&r.body),
        company = r
            .company
            .as_ref()
            .map(|c| {
                let size = c.size.as_deref().map(w.employees);
                let about: Vec<&str> = [c.name.as_deref(), c.role.as_deref(), size.as_deref()].into_iter().flatten().collect();
                if about.is_empty() {
                    String::new()
                } else {
                    format!("<p class=\"tv-company\">{}</p>", esc(&about.join(" · ")))
                }
            })
            .unwrap_or_default(),
    );
    for (on, text) in [(r.insider, w.insider), (r.incentivised, w.incentivised), (r.updated_after_reply, w.updated)] {
        if on {
            out += &format!("<p class=\"tv-flag\">{}</p>", esc(text));
        }
    }
    if !r.checks.is_empty() {
        out += "<ul class=\"tv-checks\">";
        for c in &r.checks {
            let lang = crate::funnel::messages::Lang::of(Some(w.lang));
            out += &format!(
                "<li data-code=\"{}\">{}</li>",
                esc(&c.code),
                esc(&crate::http::page_words::check_label(c, lang))
            );
        }
        out += "</ul>";
    }
    if let Some(reply) = &r.reply {
        out += &format!("<div class=\"tv-reply\"><strong>{}</strong><p>{}</p></div>", esc(w.reply), esc(&reply.body));
    }
    out + "</li>"
}

/// schema.org `Product` with `AggregateRating` and the page's reviews (insiders' left
/// out), as a `<script type="application/ld+json">` whose text cannot end the element.
fn json_ld(sku: &str, s: &Summary, page: &ReviewPage) -> String {
    let Some(p) = &s.product else { return String::new() };
    let mut product = json!({"@context": "https://schema.org", "@type": "Product", "name": p.name, "sku": sku});
    for (key, value) in [("url", &p.url), ("image", &p.image_url), ("gtin", &p.gtin), ("mpn", &p.mpn)] {
        if let Some(v) = value {
            product[key] = json!(v);
        }
    }
    if let Some(brand) = &p.brand {
        product["brand"] = json!({"@type": "Brand", "name": brand});
    }
    if let (Some(avg), true) = (s.average, s.count > 0) {
        product["aggregateRating"] = json!({"@type": "AggregateRating", "ratingValue": avg, "reviewCount": s.count, "bestRating": 5, "worstRating": 1});
    }
    let reviews: Vec<_> = page
        .reviews
        .iter()
        .filter(|r| !r.insider)
        .map(|r| {
            json!({
                "@type": "Review",
                "name": r.title,
                "reviewBody": r.body,
                "datePublished": r.published_at.as_deref().map(|d| &d[..d.len().min(10)]),
                "author": {"@type": "Person", "name": if r.author.is_empty() { "Anonymous" } else { r.author.as_str() }},
                "reviewRating": {"@type": "Rating", "ratingValue": r.rating, "bestRating": 5, "worstRating": 1},
            })
        })
        .collect();
    if !reviews.is_empty() {
        product["review"] = json!(reviews);
    }
    let text = product.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026");
    format!("<script type=\"application/ld+json\">{text}</script>")
}
