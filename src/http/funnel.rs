//! The funnel's settings, and the hosted review page an invitation links to (`/r/{token}`):
//! plain server-rendered HTML with a form (no script), the rating preselected from the
//! e-mail's star links, under a strict CSP.

use actix_web::http::header;
use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::State;
use crate::domain::funnel::FunnelSettings;
use crate::domain::review::{Locale, Rating, Sku};
use crate::error::{Error, Result};
use crate::funnel::invitations::{self, Written};
use crate::http::body::Json;
use crate::http::errors::Problem;
use crate::http::extract::{Principal, StaffSession};
use crate::http::html::{esc, headers, page};
use crate::http::page_words::{self, Words};
use crate::http::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(get_settings)
        .service(put_settings)
        .service(get_templates)
        .service(put_template)
        .service(delete_template)
        .service(invite)
        .service(list_invitations)
        .service(update_page)
        .service(update_submit)
        .service(hosted_page)
        .service(hosted_submit)
        .service(phone_start)
        .service(phone_verify)
        .service(nps_answer)
        .service(short_link)
        .service(opt_out_page)
        .service(opt_out)
        .service(mailbox)
        .service(add_coupons)
        .service(coupon_pool)
        .service(trigger);
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerRequest {
    /// The moment: `repeat_purchase`, `successful_use`, `social_mention`, `long_session` or
    /// `referral`.
    pub trigger: crate::domain::funnel::Trigger,
    /// The order to invite about (give this or `email`).
    #[schema(min_length = 1, max_length = 100)]
    pub order_id: Option<String>,
    /// The customer: their latest order that can still be invited (give this or `order_id`).
    #[schema(max_length = 254)]
    pub email: Option<String>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TriggerQueued {
    pub job_id: String,
    /// The order the invitation is about.
    pub order_id: String,
    pub run_at: String,
}

/// Prompts a review now at a trigger moment (owner or secret key), under the funnel's rules:
/// 404 unknown order (or no order of the customer left to invite about), 409 funnel off,
/// cancelled or refunded, already invited or queued, opted out or within the cooldown,
/// 422 neither or both of `order_id` and `email`, or no e-mail kept.
#[utoipa::path(tag = "funnel", security(("staff" = []), ("secret_key" = [])), request_body = TriggerRequest, responses((status = 202, body = TriggerQueued), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/triggers")]
async fn trigger(state: State, who: Principal, body: Json<TriggerRequest>) -> Result<HttpResponse> {
    if let Principal::Staff(staff) = &who {
        staff.require_owner()?;
    }
    let b = body.into_inner();
    let target = match (b.order_id.as_deref(), b.email.as_deref()) {
        (Some(order), None) => invitations::TriggerTarget::Order(
            crate::domain::order::OrderRef::parse("order_id", order)?.as_str().to_owned(),
        ),
        (None, Some(email)) => {
            let email = crate::domain::contact::Email::parse("email", email)?;
            invitations::TriggerTarget::Customer(state.contacts.email(email.as_str()))
        }
        _ => return Err(Error::validation("order_id", "or email must be given, not both")),
    };
    let (job, order_id) = invitations::trigger(&state, who.vendor_id(), &who.actor(), b.trigger, target).await?;
    Ok(HttpResponse::Accepted().json(TriggerQueued {
        job_id: job.id,
        order_id,
        run_at: crate::clock::from_ms(job.run_at).to_rfc3339(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CouponUpload {
    /// The codes, each given to one reviewer: 1–10,000 per call, each 1–64 letters, digits,
    /// `-` or `_`. Codes already in the pool are not added twice.
    #[schema(min_items = 1, max_items = 10000)]
    pub codes: Vec<String>,
}

/// Adds coupon codes to the incentive pool (owner or secret key); coupons owed to reviewers
/// while the pool was empty are given first. Audited with the count, never the codes.
#[utoipa::path(tag = "funnel", security(("staff" = []), ("secret_key" = [])), request_body = CouponUpload, responses((status = 200, body = crate::funnel::incentives::Added), (status = 401, body = Problem), (status = 403, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/incentives/coupons")]
async fn add_coupons(state: State, who: Principal, body: Json<CouponUpload>) -> Result<HttpResponse> {
    if let Principal::Staff(staff) = &who {
        staff.require_owner()?;
    }
    let added =
        crate::funnel::incentives::add_coupons(&state, who.vendor_id(), &who.actor(), body.into_inner().codes).await?;
    Ok(HttpResponse::Ok().json(added))
}

/// The coupon pool (free and given codes) and the incentive grants by state; `low` when
/// fewer codes are free than the incentive's threshold, or a reviewer is owed one.
#[utoipa::path(tag = "funnel", security(("staff" = []), ("secret_key" = [])), responses((status = 200, body = crate::funnel::incentives::PoolReport), (status = 401, body = Problem)))]
#[get("/api/v1/incentives/coupons")]
async fn coupon_pool(state: State, who: Principal) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(crate::funnel::incentives::pool(&state, who.vendor_id()).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// The shop's order number, as imported.
    #[schema(min_length = 1, max_length = 100)]
    pub order_id: String,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct InviteQueued {
    /// The queued job (`GET /api/v1/jobs` shows it; a failed send is retried, then dead).
    pub job_id: String,
    pub run_at: String,
}

/// An invitation as the console lists it (never the buyer's contact).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct InvitationView {
    pub id: String,
    /// The order's number.
    pub order_id: String,
    /// `email` or `sms`.
    pub channel: String,
    /// `sending`, `sent`, `opened`, `reviewed` or `bounced`.
    pub state: String,
    pub sent_at: String,
    pub expires_at: String,
    pub opened_at: Option<String>,
    pub reminders_sent: i32,
    /// Why reminders stopped (`reviewed`, `opted_out`, `bounced`, `order_cancelled`, …).
    pub stopped: Option<String>,
    /// The trigger that prompted it; `null` for the order itself.
    pub trigger: Option<String>,
    /// The answer to the NPS question, 0–10.
    pub nps_score: Option<i32>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct InvitationPage {
    pub invitations: Vec<InvitationView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct InvitationQuery {
    #[param(pattern = "^(sending|sent|opened|reviewed|bounced)$")]
    pub state: Option<String>,
    #[param(pattern = "^(email|sms)$")]
    pub channel: Option<String>,
    /// `next_cursor` of the previous page (empty = first page).
    #[param(pattern = "^[A-Za-z0-9_-]{0,64}$")]
    pub cursor: Option<String>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// The vendor's invitations, newest first (staff or secret key).
#[utoipa::path(tag = "funnel", security(("staff" = []), ("secret_key" = [])), params(InvitationQuery), responses((status = 200, body = InvitationPage), (status = 400, body = Problem), (status = 401, body = Problem)))]
#[get("/api/v1/invitations")]
async fn list_invitations(state: State, who: Principal, query: web::Query<InvitationQuery>) -> Result<HttpResponse> {
    let q = query.into_inner();
    let before = crate::http::id_cursor(q.cursor.as_deref())?;
    let limit = q.limit.unwrap_or(50);
    let rows = invitations::list(&state, who.vendor_id(), q.state, q.channel, before, limit).await?;
    let next_cursor = crate::domain::paging::next_cursor(&rows, limit, |(i, _)| i.id.clone());
    let ts = |ms: i64| crate::clock::from_ms(ms).to_rfc3339();
    let views = rows
        .into_iter()
        .map(|(i, order_ref)| InvitationView {
            id: i.id,
            order_id: order_ref,
            channel: i.channel,
            state: i.state,
            sent_at: ts(i.sent_at),
            expires_at: ts(i.expires_at),
            opened_at: i.opened_at.map(ts),
            reminders_sent: i.reminders_sent,
            stopped: i.stopped,
            trigger: i.prompt,
            nps_score: i.nps_score,
        })
        .collect();
    Ok(HttpResponse::Ok().json(InvitationPage { invitations: views, next_cursor }))
}

/// Sends an invitation for one order now (owner or secret key), whether the funnel is on or
/// not: 404 unknown order, 409 cancelled, refunded, already invited or queued, 422 no e-mail.
#[utoipa::path(tag = "funnel", security(("staff" = []), ("secret_key" = [])), request_body = InviteRequest, responses((status = 202, body = InviteQueued), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/invitations")]
async fn invite(state: State, who: Principal, body: Json<InviteRequest>) -> Result<HttpResponse> {
    if let Principal::Staff(staff) = &who {
        staff.require_owner()?;
    }
    let order_ref = crate::domain::order::OrderRef::parse("order_id", &body.order_id)?;
    let job = invitations::invite_now(&state, who.vendor_id(), &who.actor(), order_ref.as_str()).await?;
    Ok(HttpResponse::Accepted()
        .json(InviteQueued { job_id: job.id, run_at: crate::clock::from_ms(job.run_at).to_rfc3339() }))
}

/// The vendor's funnel settings (defaults until changed: the funnel is off).
#[utoipa::path(tag = "funnel", security(("staff" = []), ("secret_key" = [])), responses((status = 200, body = FunnelSettings), (status = 401, body = Problem)))]
#[get("/api/v1/funnel")]
async fn get_settings(state: State, who: Principal) -> Result<HttpResponse> {
    let settings = invitations::settings(&state, who.vendor_id()).await?;
    Ok(HttpResponse::Ok().json(settings))
}

/// Replaces the funnel settings (owner only). With `enabled`, every order imported from then
/// on that is eligible gets an invitation e-mail `invite_delay_days` after delivery.
#[utoipa::path(tag = "funnel", security(("staff" = [])), request_body = FunnelSettings, responses((status = 200, body = FunnelSettings), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
#[put("/api/v1/funnel")]
async fn put_settings(state: State, session: StaffSession, body: Json<FunnelSettings>) -> Result<HttpResponse> {
    let saved = invitations::put_settings(&state, &session.as_actor(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// One language's wording of the invitation e-mails.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TemplateView {
    /// `en` or `ru` (the order's `locale` chooses).
    pub locale: String,
    /// The shop's own wording (else the shipped one, shown as a starting point).
    pub custom: bool,
    pub subject: String,
    pub text: String,
    /// `null`: text-only messages.
    pub html: Option<String>,
}

impl TemplateView {
    fn new(lang: crate::funnel::messages::Lang, custom: bool, t: crate::funnel::messages::Custom) -> Self {
        TemplateView { locale: lang.code().into(), custom, subject: t.subject, text: t.text, html: t.html }
    }
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Templates {
    pub templates: Vec<TemplateView>,
    /// What the templates can use.
    pub variables: Vec<String>,
}

/// The saved wording with a sample rendering (a reminder to "Ann" at "Sample Shop" with an
/// incentive).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TemplateSaved {
    pub template: TemplateView,
    pub sample_subject: String,
    pub sample_text: String,
    pub sample_html: Option<String>,
}

const VARIABLES: [&str; 10] =
    ["shop", "order", "name", "page", "stars", "until", "unsubscribe", "incentive", "reminder", "subject"];

fn lang_of(locale: &str) -> Result<crate::funnel::messages::Lang> {
    match locale {
        "en" => Ok(crate::funnel::messages::Lang::En),
        "ru" => Ok(crate::funnel::messages::Lang::Ru),
        _ => Err(Error::not_found("language (en or ru)")),
    }
}

/// The wording of the invitation and reminder e-mails per language: the shop's own, or the
/// shipped templates (minijinja; HTML autoescaped).
#[utoipa::path(tag = "funnel", security(("staff" = []), ("secret_key" = [])), responses((status = 200, body = Templates), (status = 401, body = Problem)))]
#[get("/api/v1/funnel/templates")]
async fn get_templates(state: State, who: Principal) -> Result<HttpResponse> {
    let rows = invitations::templates(&state, who.vendor_id()).await?;
    let templates =
        rows.into_iter().map(|(lang, custom, template)| TemplateView::new(lang, custom, template)).collect();
    Ok(HttpResponse::Ok().json(Templates { templates, variables: VARIABLES.map(String::from).to_vec() }))
}

/// Sets the shop's own wording for a language (owner only, audited). 422 when a template does
/// not parse or render (with the line), or a part lacks `{{ page }}` (or the star links) or
/// `{{ unsubscribe }}`; `html: null` sends text-only messages.
#[utoipa::path(tag = "funnel", security(("staff" = [])), params(("locale" = String, Path, pattern = "^(en|ru)$")), request_body = crate::funnel::messages::Custom, responses((status = 200, body = TemplateSaved), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[put("/api/v1/funnel/templates/{locale}")]
async fn put_template(
    state: State,
    session: StaffSession,
    locale: web::Path<String>,
    body: Json<crate::funnel::messages::Custom>,
) -> Result<HttpResponse> {
    let lang = lang_of(&locale)?;
    let template = body.into_inner();
    let sample = invitations::put_template(&state, &session.as_actor(), lang, template.clone()).await?;
    Ok(HttpResponse::Ok().json(TemplateSaved {
        template: TemplateView::new(lang, true, template),
        sample_subject: sample.subject,
        sample_text: sample.text,
        sample_html: sample.html,
    }))
}

/// Goes back to the shipped wording for a language (owner only, audited); 404 if the shop
/// had none of its own.
#[utoipa::path(tag = "funnel", security(("staff" = [])), params(("locale" = String, Path, pattern = "^(en|ru)$")), responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[delete("/api/v1/funnel/templates/{locale}")]
async fn delete_template(state: State, session: StaffSession, locale: web::Path<String>) -> Result<HttpResponse> {
    let lang = lang_of(&locale)?;
    invitations::delete_template(&state, &session.as_actor(), lang).await?;
    Ok(HttpResponse::NoContent().finish())
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}\
main{max-width:34rem;margin:0 auto;background:#fff;border:1px solid #d1d9e0;border-radius:12px;padding:1.25rem}\
@media(min-width:36rem){main{margin:2rem auto;padding:1.5rem}}\
h1{font-size:1.35rem;margin-top:0}label{display:block;margin:.9rem 0 .3rem;font-weight:600}\
input[type=text],input[type=tel],input[type=email],input[type=file],textarea,select{width:100%;min-height:44px;box-sizing:border-box;padding:.55rem;border:1px solid #d1d9e0;border-radius:8px;font:inherit}\
textarea{min-height:7rem}fieldset{border:0;padding:0;margin:0}.stars,.nps{display:flex;flex-wrap:wrap;gap:.4rem}\
.stars label,.nps label{font-weight:400;margin:0;border:1px solid #d1d9e0;border-radius:8px;padding:.4rem .6rem;\
min-height:44px;min-width:44px;box-sizing:border-box;display:inline-flex;align-items:center;justify-content:center}\
button{margin-top:1.2rem;background:#1f6feb;color:#fff;border:0;border-radius:8px;padding:.7rem 1.2rem;font:inherit;min-height:48px;width:100%}\
@media(min-width:36rem){button{width:auto}}\
.note{color:#59636e;font-size:.9rem}pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:.85rem}\
article{border-top:1px solid #d1d9e0;padding-top:.5rem}.ok{color:#1a7f37;font-weight:600}.error{color:#b42318;font-weight:600}\
.step{border:1px solid #d1d9e0;border-radius:8px;padding:.25rem .9rem .9rem;margin:1rem 0}.step button{margin-top:.25rem}\
.step h2{font-size:1.05rem;margin:.6rem 0 .2rem}summary{padding:.8rem 0;cursor:pointer;color:#0b57d0;font-weight:600}\
details.step{padding-top:0}a.button{display:inline-flex;align-items:center;justify-content:center;min-height:48px;box-sizing:border-box;\
padding:.6rem 1.1rem;border-radius:8px;text-decoration:none;margin:.25rem .25rem .25rem 0}\
a.button.secondary{background:#fff;color:#0b57d0;border:1px solid #0b57d0}\
button.secondary{background:#fff;color:#0b57d0;border:1px solid #0b57d0}";
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub(crate) fn html(status: actix_web::http::StatusCode, title: &str, body: &str) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    headers(&mut res, CSP);
    res.body(page("en", title, CSS, &format!("<main>{body}</main>")))
}

/// A hosted page in `w`'s language that the shop's own origins (`frame`) may frame, as an
/// overlay on their site; nobody else may (`frame-ancestors`).
pub(crate) fn html_in(
    status: actix_web::http::StatusCode,
    w: &Words,
    title: &str,
    body: &str,
    frame: &[String],
) -> HttpResponse {
    let ancestors = if frame.is_empty() { "'none'".to_owned() } else { frame.join(" ") };
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
    );
    let mut res = HttpResponse::build(status);
    headers(&mut res, &csp);
    res.body(page(w.lang, title, CSS, &format!("<main>{body}</main>")))
}

/// What a hosted page tells the buyer about `e` (never an internal error's own text).
pub(crate) fn page_detail_in(e: &Error, w: &Words) -> String {
    match e {
        Error::Internal(_) => w.internal.to_owned(),
        _ if w.lang == page_words::RU.lang => page_words::detail_ru(e),
        _ => page_words::detail_en(e),
    }
}

pub(crate) fn problem_page_in(e: &Error, w: &Words) -> HttpResponse {
    titled_problem_page(e, w, w.problem_title)
}

fn titled_problem_page(e: &Error, w: &Words, title: &str) -> HttpResponse {
    let status = actix_web::ResponseError::status_code(e);
    let body = format!("<h1>{title}</h1><p>{}</p>", esc(&page_detail_in(e, w)));
    html_in(status, w, title, &body, &[])
}

#[derive(Deserialize, IntoParams)]
pub struct PageQuery {
    /// The rating chosen in the e-mail (1–5), preselected.
    #[param(minimum = 1, maximum = 5)]
    pub rating: Option<u8>,
    /// Skip the recommendation question (when the shop asks it) and go to the review.
    pub skip_nps: Option<bool>,
}

/// The rating radio buttons, `chosen` checked.
pub(crate) fn star_inputs(chosen: Option<u8>) -> String {
    (1..=5u8)
        .map(|n| {
            let checked = if chosen == Some(n) { " checked" } else { "" };
            format!(
                "<label><input type=\"radio\" name=\"rating\" value=\"{n}\" required{checked}> {} {n}</label>",
                "★".repeat(usize::from(n))
            )
        })
        .collect()
}

/// The recommendation question (NPS, 0–10): its page's body. `keep` is carried on in the
/// form (hidden inputs), `skip` is the link past it.
pub(crate) fn nps_body(w: &Words, action: &str, shop: &str, keep: &str, skip: &str) -> String {
    let scores: String = (0..=10u8)
        .map(|n| format!("<label><input type=\"radio\" name=\"score\" value=\"{n}\" required> {n}</label>"))
        .collect();
    format!(
        "<h1>{title}</h1><form method=\"post\" action=\"{action}\"><fieldset><legend><strong>{question}</strong>\
         </legend><div class=\"nps\">{scores}</div><p class=\"note\">{note}</p></fieldset>{keep}\
         <button type=\"submit\">{next}</button></form><p><a href=\"{skip}\">{skip_text}</a></p>",
        title = w.nps_title,
        action = esc(action),
        question = (w.nps_question)(&esc(shop)),
        note = w.nps_note,
        next = w.next,
        skip = esc(skip),
        skip_text = w.skip,
    )
}

/// The language of an invitation's pages: the order's, else the browser's.
fn invite_lang(opened: &invitations::Opened, req: &HttpRequest) -> &'static Words {
    page_words::words(page_words::for_request(opened.locale.as_deref(), req))
}

/// The language of a page before its invitation is read: the browser's.
fn browser_words(req: &HttpRequest) -> &'static Words {
    page_words::words(page_words::for_request(None, req))
}

/// The recommendation question (NPS, 0–10), asked before the review when the shop asks it.
fn nps_page(token: &str, opened: &invitations::Opened, w: &Words, chosen: Option<u8>) -> HttpResponse {
    let keep = chosen.map(|r| format!("<input type=\"hidden\" name=\"rating\" value=\"{r}\">")).unwrap_or_default();
    let token = token.trim();
    let skip = format!("/r/{token}?skip_nps=true{}", chosen.map(|r| format!("&rating={r}")).unwrap_or_default());
    let body = nps_body(w, &format!("/r/{token}/nps"), &opened.vendor_name, &keep, &skip);
    html_in(actix_web::http::StatusCode::OK, w, w.nps_title, &body, &opened.origins)
}

/// The hosted review page of an invitation: the order's products, a rating (preselected from
/// the e-mail's stars; nothing is recorded until the form is sent) and the review form, in
/// the order's language (else the browser's).
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 2048), PageQuery), responses((status = 200, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
#[get("/r/{token}")]
async fn hosted_page(
    state: State,
    req: HttpRequest,
    token: web::Path<String>,
    query: web::Query<PageQuery>,
) -> HttpResponse {
    let opened = match invitations::open(&state, &token).await {
        Ok(o) => o,
        Err(e) => return problem_page_in(&e, browser_words(&req)),
    };
    let w = invite_lang(&opened, &req);
    let chosen = query.rating.filter(|r| (1..=5).contains(r));
    if opened.ask_nps && query.skip_nps != Some(true) {
        return nps_page(&token, &opened, w, chosen);
    }
    let phone = match crate::funnel::phone_step::offer(&state, &opened).await {
        Ok(Some(masked)) => Phone::Offer(masked),
        _ => Phone::None,
    };
    review_form(&token, &opened, w, chosen, &phone)
}

/// The phone step as the review form shows it.
enum Phone {
    None,
    /// A code can be sent to the order's phone (shown masked).
    Offer(String),
    /// Confirmed: the phone check's flow token, sent with the review.
    Confirmed(String),
}

/// The review form of an opened invitation.
fn review_form(
    token: &str,
    opened: &invitations::Opened,
    w: &Words,
    chosen: Option<u8>,
    phone: &Phone,
) -> HttpResponse {
    let stars = star_inputs(chosen);
    // The product reviewed: named under the heading, sent with the review form (a field
    // outside the form would never be sent, leaving the review shop-wide).
    let (product, product_field) = match opened.items.as_slice() {
        [] => (String::new(), String::new()),
        [(sku, name)] => (
            format!("<p>{}</p>", esc(name.as_deref().unwrap_or(sku))),
            format!("<input type=\"hidden\" name=\"sku\" value=\"{}\">", esc(sku)),
        ),
        items => {
            let options: String = items
                .iter()
                .map(|(sku, name)| {
                    format!("<option value=\"{}\">{}</option>", esc(sku), esc(name.as_deref().unwrap_or(sku)))
                })
                .collect();
            let select =
                format!("<label for=\"sku\">{}</label><select id=\"sku\" name=\"sku\">{options}</select>", w.product);
            (String::new(), select)
        }
    };
    let keep = chosen.map(|r| format!("<input type=\"hidden\" name=\"rating\" value=\"{r}\">")).unwrap_or_default();
    let (phone_box, confirmed) = match phone {
        Phone::None => (String::new(), String::new()),
        Phone::Offer(masked) => (
            format!(
                "<form method=\"post\" action=\"/r/{token}/phone\" class=\"step\"><p>{offer}</p>{keep}\
                 <button type=\"submit\" class=\"secondary\">{send}</button></form>",
                token = esc(token),
                offer = (w.phone_offer)(&esc(masked)),
                send = w.text_me,
            ),
            String::new(),
        ),
        Phone::Confirmed(flow) => (
            format!("<p class=\"ok\" role=\"status\">✓ {}</p>", w.phone_confirmed),
            format!("<input type=\"hidden\" name=\"phone_check\" value=\"{}\">", esc(flow)),
        ),
    };
    let body = format!(
        "<h1>{head}</h1>{product}<p class=\"note\">{verified}</p>{thanks}\
         {phone_box}<form method=\"post\" action=\"/r/{token}\">{confirmed}{product_field}<fieldset><legend><strong>{rating}</strong></legend><div class=\"stars\">{stars}</div></fieldset>\
         <label for=\"title\">{title}</label><input type=\"text\" id=\"title\" name=\"title\" maxlength=\"120\">\
         <label for=\"body\">{body}</label><textarea id=\"body\" name=\"body\" maxlength=\"5000\"></textarea>\
         <label for=\"display_name\">{name}</label><input type=\"text\" id=\"display_name\" name=\"display_name\" maxlength=\"80\">\
         <button type=\"submit\">{send}</button></form>",
        head = (w.invite_head)(&esc(&opened.order_ref), &esc(&opened.vendor_name)),
        verified = w.invite_verified,
        token = esc(token),
        thanks = opened
            .incentive
            .as_ref()
            .map(|i| format!("<p class=\"note\">{}</p>", (w.incentive_note)(&esc(i.description.trim()))))
            .unwrap_or_default(),
        rating = w.rating,
        title = w.title,
        body = w.body,
        name = w.name,
        send = w.send_review,
    );
    html_in(actix_web::http::StatusCode::OK, w, w.write_title, &body, &opened.origins)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct HostedForm {
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i64,
    #[schema(max_length = 200)]
    pub sku: Option<String>,
    #[schema(max_length = 120)]
    pub title: Option<String>,
    #[schema(max_length = 5000)]
    pub body: Option<String>,
    #[schema(max_length = 80)]
    pub display_name: Option<String>,
    /// The phone step's check (from the page), when the buyer confirmed their phone.
    #[schema(max_length = 200)]
    pub phone_check: Option<String>,
}

pub(crate) fn written(form: HostedForm) -> Result<Written> {
    use crate::domain::text::{clean, Lines};
    let text = |field: &str, value: Option<String>, lines: Lines, max: usize| -> Result<String> {
        clean(field, value.as_deref().unwrap_or(""), lines, 0, max)
    };
    Ok(Written {
        rating: Rating::parse("rating", form.rating)?,
        sku: form.sku.as_deref().filter(|s| !s.is_empty()).map(|s| Sku::parse("sku", s)).transpose()?,
        title: text("title", form.title, Lines::Single, 120)?,
        body: text("body", form.body, Lines::Multi, 5000)?,
        display_name: text("display_name", form.display_name, Lines::Single, 80)?,
        locale: Locale::parse(None)?,
    })
}

/// Sends the hosted page's form: the review is submitted bound to the invitation's order.
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 2048)), request_body(content = HostedForm, content_type = "application/x-www-form-urlencoded"), responses((status = 201, content_type = "text/html", body = String), (status = 400, body = Problem), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 415, body = Problem), (status = 422, content_type = "text/html", body = String)))]
#[post("/r/{token}")]
async fn hosted_submit(
    state: State,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<HostedForm>,
) -> HttpResponse {
    let opened = match invitations::open(&state, &token).await {
        Ok(o) => o,
        Err(e) => return problem_page_in(&e, browser_words(&req)),
    };
    let w = invite_lang(&opened, &req);
    let mut form = form.into_inner();
    let phone_check = form.phone_check.take().filter(|c| !c.trim().is_empty());
    let result = match written(form) {
        Ok(mut written) => match Locale::parse(Some(w.lang)) {
            Ok(locale) => {
                written.locale = locale;
                invitations::review(&state, &token, written, phone_check.as_deref()).await
            }
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(done) => {
            let incentive = done
                .incentive
                .map(|i| format!("<p>{}</p>", (w.incentive_thanks)(&esc(i.description.trim()))))
                .unwrap_or_default();
            let referral =
                done.referral_url.map(|url| format!("<p>{}</p>", (w.referral)(&esc(&url)))).unwrap_or_default();
            let body = format!(
                "<h1>{}</h1><p>{}</p>{incentive}{referral}",
                w.thanks_title,
                (w.invite_thanks)(done.review.maturity_level)
            );
            html_in(actix_web::http::StatusCode::CREATED, w, w.thanks_title, &body, &opened.origins)
        }
        Err(e) => problem_page_in(&e, w),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PhoneStartForm {
    /// The rating chosen so far, carried on to the review form (empty: none).
    #[serde(default, deserialize_with = "empty_as_none")]
    #[schema(minimum = 1, maximum = 5, nullable = false)]
    pub rating: Option<i64>,
}

/// The invitation page's phone step: texts a code to the phone on the order and shows the
/// page to enter it (level 5, "Verified buyer", once confirmed).
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 2048)), request_body(content = PhoneStartForm, content_type = "application/x-www-form-urlencoded"), responses((status = 200, content_type = "text/html", body = String), (status = 400, body = Problem), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 415, body = Problem), (status = 422, content_type = "text/html", body = String), (status = 429, content_type = "text/html", body = String)))]
#[post("/r/{token}/phone")]
async fn phone_start(
    state: State,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<PhoneStartForm>,
) -> HttpResponse {
    let from = hosted_write(&req);
    let rating = form.rating.and_then(|r| u8::try_from(r).ok()).filter(|r| (1..=5).contains(r));
    let opened = match invitations::open(&state, &token).await {
        Ok(o) => o,
        Err(e) => return problem_page_in(&e, browser_words(&req)),
    };
    let w = invite_lang(&opened, &req);
    match crate::funnel::phone_step::start(&state, &token, from).await {
        Ok(sent) => code_page(&token, &opened, w, &sent.flow_token, &sent.masked, rating, None),
        Err(e) => problem_page_in(&e, w),
    }
}

/// A write from the hosted pages: their forms are the service's own and the invitation's
/// signed token is what authorises them, so the `Origin` is not checked (the pages send
/// none that could match: `Referrer-Policy: no-referrer` makes it `null`); the client's
/// address still counts against the code limits.
pub(crate) fn hosted_write(req: &HttpRequest) -> crate::reviews::PublicWrite {
    crate::reviews::PublicWrite { origin: None, ip: crate::http::extract::client_ip(req) }
}

/// The page that asks for the texted code.
fn code_page(
    token: &str,
    opened: &invitations::Opened,
    w: &Words,
    flow: &str,
    masked: &str,
    rating: Option<u8>,
    error: Option<&str>,
) -> HttpResponse {
    let keep = rating.map(|r| format!("<input type=\"hidden\" name=\"rating\" value=\"{r}\">")).unwrap_or_default();
    let back =
        format!("/r/{}?skip_nps=true{}", esc(token), rating.map(|r| format!("&amp;rating={r}")).unwrap_or_default());
    let body = format!(
        "<h1>{title}</h1><p>{sent} {expires}</p>{error}\
         <form method=\"post\" action=\"/r/{token}/phone/verify\"><input type=\"hidden\" name=\"phone_check\" value=\"{flow}\">{keep}\
         <label for=\"code\">{label}</label><input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" \
         autocomplete=\"one-time-code\" maxlength=\"10\" required autofocus><button type=\"submit\">{confirm}</button></form>\
         <p><a href=\"{back}\">{without}</a></p>",
        title = w.code_title,
        sent = (w.code_sent_order)(&esc(masked)),
        expires = w.code_expires,
        token = esc(token),
        flow = esc(flow),
        error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))).unwrap_or_default(),
        label = w.code_label,
        confirm = w.confirm,
        without = w.without_code,
    );
    html_in(actix_web::http::StatusCode::OK, w, w.code_title, &body, &opened.origins)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PhoneCodeForm {
    /// The check the code page carries.
    #[schema(min_length = 1, max_length = 200)]
    pub phone_check: String,
    /// The texted code.
    #[schema(min_length = 1, max_length = 10)]
    pub code: String,
    /// The rating chosen so far (empty: none).
    #[serde(default, deserialize_with = "empty_as_none")]
    #[schema(minimum = 1, maximum = 5, nullable = false)]
    pub rating: Option<i64>,
}

/// Checks the texted code; the review form follows, marked "phone confirmed". A wrong code
/// shows the code page again with what went wrong.
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 2048)), request_body(content = PhoneCodeForm, content_type = "application/x-www-form-urlencoded"), responses((status = 200, content_type = "text/html", body = String), (status = 400, body = Problem), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 415, body = Problem), (status = 422, content_type = "text/html", body = String), (status = 429, content_type = "text/html", body = String)))]
#[post("/r/{token}/phone/verify")]
async fn phone_verify(
    state: State,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<PhoneCodeForm>,
) -> HttpResponse {
    let from = hosted_write(&req);
    let form = form.into_inner();
    let rating = form.rating.and_then(|r| u8::try_from(r).ok()).filter(|r| (1..=5).contains(r));
    let opened = match invitations::open(&state, &token).await {
        Ok(o) => o,
        Err(e) => return problem_page_in(&e, browser_words(&req)),
    };
    let w = invite_lang(&opened, &req);
    match crate::funnel::phone_step::verify(&state, &token, &form.phone_check, &form.code, from).await {
        Ok(()) => review_form(&token, &opened, w, rating, &Phone::Confirmed(form.phone_check)),
        // A wrong or expired code: the same page again, saying so.
        Err(e @ (Error::Validation { .. } | Error::Unauthorized(_))) => {
            let masked = crate::funnel::phone_step::offer(&state, &opened).await.ok().flatten().unwrap_or_default();
            let detail = match &e {
                Error::Validation { detail, .. } => (w.bad_code)(detail),
                other => other.to_string(),
            };
            let mut res = code_page(&token, &opened, w, &form.phone_check, &masked, rating, Some(&detail));
            *res.status_mut() = actix_web::ResponseError::status_code(&e);
            res
        }
        Err(e) => problem_page_in(&e, w),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NpsForm {
    /// How likely the buyer is to recommend the shop, 0–10.
    #[schema(minimum = 0, maximum = 10)]
    pub score: i64,
    /// The rating chosen in the e-mail, carried on to the review form (left out or empty:
    /// none; a form has no null).
    #[serde(default, deserialize_with = "empty_as_none")]
    #[schema(minimum = 1, maximum = 5, nullable = false)]
    pub rating: Option<i64>,
}

/// A form field that may be sent empty (a form has no null): empty is none.
fn empty_as_none<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<i64>, D::Error> {
    match Option::<String>::deserialize(d)?.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(n) => n.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// Answers the recommendation question (NPS 0–10) of an invitation, then goes on to the
/// review form (303), whatever the score. The first answer counts.
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 2048)), request_body(content = NpsForm, content_type = "application/x-www-form-urlencoded"), responses((status = 303, description = "On to the review form"), (status = 400, body = Problem), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 415, body = Problem), (status = 422, content_type = "text/html", body = String)))]
#[post("/r/{token}/nps")]
async fn nps_answer(
    state: State,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<NpsForm>,
) -> HttpResponse {
    let score = match u8::try_from(form.score).ok().filter(|s| *s <= 10) {
        Some(s) => s,
        None => return problem_page_in(&Error::validation("score", "must be between 0 and 10"), browser_words(&req)),
    };
    if let Err(e) = crate::funnel::nps::answer(&state, &token, score).await {
        return problem_page_in(&e, browser_words(&req));
    }
    let rating = form.rating.filter(|r| (1..=5).contains(r)).map(|r| format!("&rating={r}")).unwrap_or_default();
    // The token verified: URL-safe characters only.
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/r/{}?skip_nps=true{rating}", token.trim())))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The short link of an SMS invitation: on to the hosted page (303).
#[utoipa::path(tag = "public", params(("short" = String, Path, max_length = 200)), responses((status = 303, description = "On to the hosted review page"), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
#[get("/i/{short}")]
async fn short_link(state: State, req: HttpRequest, short: web::Path<String>) -> HttpResponse {
    match invitations::short_target(&state, &short).await {
        Ok(target) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, target))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header(("Referrer-Policy", "no-referrer"))
            .finish(),
        Err(e) => problem_page_in(&e, browser_words(&req)),
    }
}

/// The page where a review's author, invited once after the shop's reply, may update the
/// rating and text; the earlier version stays in the review's public history.
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 2048)), responses((status = 200, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
#[get("/r/update/{token}")]
async fn update_page(state: State, req: HttpRequest, token: web::Path<String>) -> HttpResponse {
    let page = match crate::funnel::resolution::update_page(&state, &token).await {
        Ok(p) => p,
        Err(e) => return problem_page_in(&e, browser_words(&req)),
    };
    let w = page_words::words(page_words::for_request(Some(page.review.locale.as_str()), &req));
    let chosen = u8::try_from(page.review.rating).ok();
    let shop = esc(&page.vendor_name);
    let body = format!(
        "<h1>{head}</h1><p class=\"note\">{answered}</p><blockquote>{reply}</blockquote>\
         <p class=\"note\">{note}</p>\
         <form method=\"post\"><fieldset><legend><strong>{rating}</strong></legend><div class=\"stars\">{stars}</div></fieldset>\
         <label for=\"title\">{title_label}</label><input type=\"text\" id=\"title\" name=\"title\" maxlength=\"120\" value=\"{title}\">\
         <label for=\"body\">{body_label}</label><textarea id=\"body\" name=\"body\" maxlength=\"5000\">{text}</textarea>\
         <button type=\"submit\">{button}</button></form>",
        head = (w.update_head)(&shop),
        answered = (w.shop_answered)(&shop),
        reply = esc(&page.reply),
        note = esc(w.update_note),
        rating = w.rating,
        stars = star_inputs(chosen),
        title_label = w.title,
        title = esc(&page.review.title),
        body_label = w.body,
        text = esc(&page.review.body),
        button = w.update_button,
    );
    html_in(actix_web::http::StatusCode::OK, w, w.update_title, &body, &[])
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateForm {
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i64,
    #[schema(max_length = 120)]
    pub title: Option<String>,
    #[schema(max_length = 5000)]
    pub body: Option<String>,
}

/// Sends the author's update (once).
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 2048)), request_body(content = UpdateForm, content_type = "application/x-www-form-urlencoded"), responses((status = 200, content_type = "text/html", body = String), (status = 400, body = Problem), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 415, body = Problem), (status = 422, content_type = "text/html", body = String)))]
#[post("/r/update/{token}")]
async fn update_submit(
    state: State,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<UpdateForm>,
) -> HttpResponse {
    use crate::domain::text::{clean, Lines};
    let form = form.into_inner();
    let w = browser_words(&req);
    let revised = (|| -> Result<crate::funnel::resolution::Revised> {
        Ok(crate::funnel::resolution::Revised {
            rating: Rating::parse("rating", form.rating)?,
            title: clean("title", form.title.as_deref().unwrap_or(""), Lines::Single, 0, 120)?,
            body: clean("body", form.body.as_deref().unwrap_or(""), Lines::Multi, 0, 5000)?,
        })
    })();
    let updated = match revised {
        Ok(r) => crate::funnel::resolution::update(&state, &token, r).await,
        Err(e) => Err(e),
    };
    match updated {
        Ok(review) => {
            let w = page_words::words(page_words::for_request(Some(review.locale.as_str()), &req));
            let text = if review.status == "published" { w.updated_published } else { w.updated_pending };
            let body = format!("<h1>{}</h1><p>{}</p>", w.updated_title, esc(text));
            html_in(actix_web::http::StatusCode::OK, w, w.updated_title, &body, &[])
        }
        Err(e) => problem_page_in(&e, w),
    }
}

/// The page that says a buyer is unsubscribed from `shop`'s review requests.
fn unsubscribed(w: &Words, shop: &str) -> HttpResponse {
    let body = format!("<h1>{}</h1><p>{}</p>", w.unsubscribed_title, (w.unsubscribed_text)(&esc(shop)));
    html_in(actix_web::http::StatusCode::OK, w, w.unsubscribed_title, &body, &[])
}

/// The unsubscribe link of an invitation e-mail: a page with one button (opening the link
/// changes nothing, so link checkers and previews cannot unsubscribe anyone), in the
/// order's language (else the browser's).
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 2048)), responses((status = 200, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String)))]
#[get("/u/{token}")]
async fn opt_out_page(state: State, req: HttpRequest, token: web::Path<String>) -> HttpResponse {
    match invitations::opt_out_page(&state, &token).await {
        Ok(o) => {
            let w = page_words::words(page_words::for_request(o.locale.as_deref(), &req));
            if o.already {
                return unsubscribed(w, &o.vendor_name);
            }
            let shop = esc(&o.vendor_name);
            let body = format!(
                "<h1>{}</h1><p class=\"note\">{}</p><form method=\"post\"><button type=\"submit\">{}</button></form>",
                (w.unsubscribe_head)(&shop),
                (w.unsubscribe_note)(&shop),
                w.unsubscribe_button
            );
            html_in(actix_web::http::StatusCode::OK, w, w.unsubscribe_title, &body, &[])
        }
        Err(e) => unsubscribe_problem(&e, &req),
    }
}

/// An unsubscribe link that does not work: said under its own heading (no review is
/// being taken here).
fn unsubscribe_problem(e: &Error, req: &HttpRequest) -> HttpResponse {
    let w = browser_words(req);
    titled_problem_page(e, w, w.unsubscribe_problem)
}

/// What a mail client's one-click unsubscribe posts (RFC 8058).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct OneClick {
    #[serde(rename = "List-Unsubscribe")]
    #[schema(rename = "List-Unsubscribe", max_length = 64)]
    pub list_unsubscribe: Option<String>,
}

/// Unsubscribes the invited buyer from the vendor's review requests: the page's button, or
/// a mail client's one-click `List-Unsubscribe=One-Click` POST (RFC 8058). Idempotent.
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 2048)), request_body(content = OneClick, content_type = "application/x-www-form-urlencoded", description = "`List-Unsubscribe=One-Click` (RFC 8058), or empty; the body is not read"), responses((status = 200, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String)))]
#[post("/u/{token}")]
async fn opt_out(state: State, req: HttpRequest, token: web::Path<String>) -> HttpResponse {
    match invitations::opt_out(&state, &token).await {
        Ok(o) => unsubscribed(page_words::words(page_words::for_request(o.locale.as_deref(), &req)), &o.vendor_name),
        Err(e) => unsubscribe_problem(&e, &req),
    }
}

/// The development mailbox: what the demo shop's funnel "sent" while no SMTP server is
/// configured, newest first, with the links clickable — the whole loop on a fresh machine.
/// 404 unless the demo is on and mail goes to the outbox.
#[utoipa::path(tag = "ops", responses((status = 200, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String)))]
#[get("/dev/mailbox")]
async fn mailbox(state: State) -> Result<HttpResponse> {
    let site = if state.settings.demo && state.mailer.is_outbox() {
        state.db.run(crate::store::demo::get).await?
    } else {
        None
    };
    let Some(site) = site else {
        return Ok(html(
            actix_web::http::StatusCode::NOT_FOUND,
            "Mailbox",
            "<h1>No development mailbox here</h1><p>It is shown only for the demo shop while no SMTP server is configured.</p>",
        ));
    };
    let vendor = site.vendor_id.clone();
    let rows = state.db.run(move |conn| crate::store::codes::outbox(conn, &vendor, 50)).await?;
    let items: String = rows
        .iter()
        .map(|m| {
            let when = crate::clock::from_ms(m.sent_at).format("%Y-%m-%d %H:%M UTC");
            format!(
                "<article><p class=\"note\">{when} · {channel} to {to}</p><pre>{body}</pre></article>",
                channel = esc(&m.channel),
                to = esc(m.outbox_to.as_deref().unwrap_or("")),
                body = linked(m.outbox_body.as_deref().unwrap_or("")),
            )
        })
        .collect();
    let body = if items.is_empty() { "<p>No messages yet.</p>".to_owned() } else { items };
    Ok(html(actix_web::http::StatusCode::OK, "Development mailbox", &format!("<h1>Development mailbox</h1>{body}")))
}

/// Escapes a message and makes its http(s) links clickable.
fn linked(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(|word| {
            let trimmed = word.trim_end();
            if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
                format!("<a href=\"{0}\">{0}</a>{1}", esc(trimmed), esc(&word[trimmed.len()..]))
            } else {
                esc(word)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::page_words::{EN, RU};

    #[actix_web::test]
    async fn a_hosted_page_never_shows_an_internal_errors_own_text() {
        let e = Error::Internal(anyhow::anyhow!("connection to db.internal:5432 refused (password=hunter2)"));
        assert_eq!(page_detail_in(&e, &EN), "Something went wrong on our side; try again.");
        assert_eq!(page_detail_in(&e, &RU), "У нас что-то пошло не так; попробуйте ещё раз.");
        let res = problem_page_in(&e, &RU);
        assert_eq!(res.status(), actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
        let body = actix_web::body::to_bytes(res.into_body()).await.unwrap();
        let html = std::str::from_utf8(&body).unwrap();
        assert!(html.contains("<h1>Не удалось принять отзыв</h1><p>У нас что-то пошло не так; попробуйте ещё раз.</p>"));
        assert!(!html.contains("hunter2") && !html.contains("db.internal"));
        // Refusals the buyer can act on keep their words.
        let e = Error::UnsupportedMediaType("the file was sent as image/png but its content is application/pdf".into());
        assert_eq!(page_detail_in(&e, &EN), "The file was sent as image/png but its content is application/pdf.");
    }
}
