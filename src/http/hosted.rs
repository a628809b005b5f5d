//! The hosted review page for reviews that start on the shop's site (the widget's "Write a
//! review"): `/r/new?key=pk_…&sku=…&lang=…` opens a review flow and leads to
//! `/r/flow/{token}`. There, in the flow's language (the widget's, else the browser's), the
//! buyer answers the shop's recommendation question when it asks one, may confirm who they
//! are (social login or a phone code: level 2), where they work (a work-e-mail code), show
//! their order (order number and contact, or a receipt the shop checks: level 3; with an
//! identity 4, or 5 when the phone is the order's) and writes the review. Server-rendered,
//! no script, on the service's origin, framed only by the shop's own origins: no secret or
//! login ever touches the shop's page.

use actix_multipart::{Multipart, MultipartError};
use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::app::State;
use crate::domain::contact::{Email, Phone};
use crate::domain::review::{Locale, Sku};
use crate::error::Error;
use crate::funnel::messages::Lang;
use crate::http::errors::Problem;
use crate::http::funnel::{
    hosted_write, html_in, nps_body, page_detail_in, problem_page_in, star_inputs, written, HostedForm,
};
use crate::http::html::esc;
use crate::http::kyc::CompanySize;
use crate::http::page_words::{check_label, for_request, is_flow_token, words, Words};
use crate::http::ServiceConfig;
use crate::kyp::matching::{ContactHmac, MatchRequest};
use crate::reviews::{self, FlowView, Submission};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(start)
        .service(page)
        .service(nps)
        .service(phone_start)
        .service(phone_verify)
        .service(order_match)
        .service(receipt_upload)
        .service(company_start)
        .service(company_verify)
        .service(submit);
}

/// The page's language before the flow is read (problem pages): the browser's.
fn browser_lang(req: &HttpRequest) -> Lang {
    for_request(None, req)
}

fn lang_of(view: &FlowView, req: &HttpRequest) -> Lang {
    for_request(view.locale.as_deref(), req)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NewQuery {
    /// The shop's publishable key.
    #[param(max_length = 200)]
    pub key: String,
    /// The product reviewed; none for a review of the shop.
    #[param(pattern = r"^[A-Za-z0-9\-_.:/]{1,64}$")]
    pub sku: Option<String>,
    /// The language of the pages (`en` or `ru`, the widget's); none: the browser's.
    #[param(pattern = "^(en|ru)$")]
    pub lang: Option<String>,
}

/// Opens a review flow for the shop (and product) and leads to its page.
#[utoipa::path(tag = "public", params(NewQuery), responses((status = 303, description = "to `/r/flow/{token}`"), (status = 400, body = Problem), (status = 404, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String), (status = 429, body = Problem)))]
#[get("/r/new")]
async fn start(state: State, req: HttpRequest, query: web::Query<NewQuery>) -> HttpResponse {
    let opened = async {
        let sku = query.sku.as_deref().map(|s| Sku::parse("sku", s)).transpose()?.map(Sku::into_string);
        let lang = match query.lang.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(l @ ("en" | "ru")) => Some(l),
            Some(_) => return Err(Error::validation("lang", "must be en or ru")),
        };
        let key = crate::http::extract::resolve_key(&state, query.key.trim(), "publishable").await?;
        reviews::open_flow_in(&state, &key.vendor_id, sku, lang).await
    };
    match opened.await {
        Ok((_, token)) => to_page(&token),
        // A key that is wrong or revoked makes the widget's link a wrong link (not a
        // failed sign-in: the buyer signed in to nothing).
        Err(Error::Unauthorized(_)) => problem_page_in(&Error::not_found("shop"), words(browser_lang(&req))),
        Err(e) => problem_page_in(&e, words(browser_lang(&req))),
    }
}

/// One step of the page: a bordered box with a heading.
fn step(head: &str, inner: &str) -> String {
    format!("<section class=\"step\"><h2>{head}</h2>{inner}</section>")
}

/// The flow's page: what the review shows so far, the steps that would raise it, the form.
fn flow_page(token: &str, view: &FlowView, lang: Lang, status: StatusCode, error: Option<&str>) -> HttpResponse {
    let w = words(lang);
    let t = esc(token);
    let what = match (&view.product, &view.sku) {
        (Some(name), _) | (None, Some(name)) => (w.at_shop)(&esc(name), &esc(&view.vendor_name)),
        (None, None) => esc(&view.vendor_name),
    };
    let checks: String =
        view.assessment.checks.iter().map(|c| format!("<li>✓ {}</li>", esc(&check_label(c, lang)))).collect();
    let error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))).unwrap_or_default();
    let identity = if view.has_identity {
        String::new()
    } else {
        let flow = url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>();
        let providers: String = view
            .providers
            .iter()
            .map(|(name, label)| {
                // `_top`: a provider refuses to be framed, so from the widget's overlay the
                // sign-in takes the whole tab (and comes back to this page).
                format!(
                    "<a class=\"button secondary\" target=\"_top\" href=\"/api/v1/public/kyc/oauth/{}/start?flow={}&amp;page=true\">{} {}</a> ",
                    esc(name),
                    esc(&flow),
                    w.sign_in_with,
                    esc(label)
                )
            })
            .collect();
        let providers = if providers.is_empty() {
            String::new()
        } else {
            format!("<p class=\"providers\">{providers}</p><p>{}</p>", w.or_phone)
        };
        step(
            w.identity_head,
            &format!(
                "<p class=\"note\">{text}</p>{providers}<form method=\"post\" action=\"/r/flow/{t}/phone\">\
                 <label for=\"phone\">{label}</label><input type=\"tel\" id=\"phone\" name=\"phone\" autocomplete=\"tel\" \
                 required maxlength=\"32\"><button type=\"submit\" class=\"secondary\">{send}</button></form>",
                text = w.identity_text,
                label = w.phone_label,
                send = w.text_me,
            ),
        )
    };
    let company = if view.has_company {
        String::new()
    } else {
        let sizes: String =
            CompanySize::ALL.iter().map(|s| format!("<option value=\"{0}\">{0}</option>", s.as_str())).collect();
        format!(
            "<details class=\"step\"><summary>{summary}</summary><p class=\"note\">{text}</p>\
             <form method=\"post\" action=\"/r/flow/{t}/company\"><label for=\"work_email\">{email}</label>\
             <input type=\"email\" id=\"work_email\" name=\"work_email\" autocomplete=\"email\" required maxlength=\"254\">\
             <label for=\"company\">{company}</label><input type=\"text\" id=\"company\" name=\"company\" \
             autocomplete=\"organization\" maxlength=\"100\"><label for=\"role\">{role}</label><input type=\"text\" \
             id=\"role\" name=\"role\" autocomplete=\"organization-title\" maxlength=\"100\"><label for=\"size\">{size}</label>\
             <select id=\"size\" name=\"size\"><option value=\"\">{none}</option>{sizes}</select>\
             <button type=\"submit\" class=\"secondary\">{send}</button></form></details>",
            summary = w.company_summary,
            text = w.company_text,
            email = w.work_email_label,
            company = w.company_label,
            role = w.role_label,
            size = w.size_label,
            none = w.size_none,
            send = w.send_code,
        )
    };
    let matched = view.assessment.checks.iter().any(|c| c.code == "purchase_order_match");
    let purchase = match (view.has_purchase, view.receipt.as_deref()) {
        (true, _) => view
            .incentive
            .as_deref()
            .filter(|_| matched)
            .map(|i| format!("<p class=\"note\">{}</p>", (w.incentive_note)(&esc(i))))
            .unwrap_or_default(),
        (false, Some("pending")) => format!("<p class=\"ok\" role=\"status\">✓ {}</p>", w.receipt_pending),
        (false, sent) => {
            let refused = if sent == Some("refused") {
                format!("<p class=\"error\">{}</p>", w.receipt_refused)
            } else {
                String::new()
            };
            let upload = if sent.is_none() {
                format!(
                    "<details><summary>{summary}</summary><form method=\"post\" action=\"/r/flow/{t}/receipt\" \
                     enctype=\"multipart/form-data\"><p class=\"note\">{text}</p><label for=\"file\">{label}</label>\
                     <input type=\"file\" id=\"file\" name=\"file\" accept=\"image/jpeg,image/png,application/pdf\" required>\
                     <button type=\"submit\" class=\"secondary\">{send}</button></form></details>",
                    summary = w.receipt_summary,
                    text = w.receipt_text,
                    label = w.receipt_label,
                    send = w.send_receipt,
                )
            } else {
                String::new()
            };
            step(
                w.order_head,
                &format!(
                    "{refused}<p class=\"note\">{text}</p>{incentive}<form method=\"post\" action=\"/r/flow/{t}/order\">\
                     <label for=\"order_id\">{order}</label><input type=\"text\" id=\"order_id\" name=\"order_id\" required \
                     maxlength=\"100\"><label for=\"contact\">{contact}</label><input type=\"text\" id=\"contact\" \
                     name=\"contact\" autocomplete=\"email\" required maxlength=\"254\">\
                     <button type=\"submit\" class=\"secondary\">{send}</button></form>{upload}",
                    text = w.order_text,
                    incentive = view
                        .incentive
                        .as_deref()
                        .map(|i| format!("<p class=\"note\">{}</p>", (w.order_incentive)(&esc(i))))
                        .unwrap_or_default(),
                    order = w.order_label,
                    contact = w.contact_label,
                    send = w.check_order,
                ),
            )
        }
    };
    let level = view.assessment.level;
    let body = format!(
        "<h1>{title}</h1>{error}<p class=\"note\">{will_show} <strong>{level_word} {level} · {name}</strong></p>\
         <ul class=\"note\">{checks}</ul>{identity}{purchase}{company}\
         <form method=\"post\" action=\"/r/flow/{t}\"><fieldset><legend><strong>{rating}</strong></legend>\
         <div class=\"stars\">{stars}</div></fieldset>\
         <label for=\"title\">{title_label}</label><input type=\"text\" id=\"title\" name=\"title\" maxlength=\"120\">\
         <label for=\"body\">{body_label}</label><textarea id=\"body\" name=\"body\" maxlength=\"5000\"></textarea>\
         <label for=\"display_name\">{name_label}</label>\
         <input type=\"text\" id=\"display_name\" name=\"display_name\" maxlength=\"80\" autocomplete=\"nickname\" required>\
         <button type=\"submit\">{send}</button></form>",
        title = (w.review_of)(&what),
        will_show = w.will_show,
        level_word = w.level,
        name = w.levels[usize::from(level.min(5))],
        rating = w.rating,
        stars = star_inputs(None),
        title_label = w.title,
        body_label = w.body,
        name_label = w.name,
        send = w.send_review,
    );
    html_in(status, w, w.write_title, &body, &view.origins)
}

/// The recommendation question (NPS 0–10), asked first when the shop asks it.
fn nps_page(token: &str, view: &FlowView, lang: Lang) -> HttpResponse {
    let w = words(lang);
    let token = token.trim();
    let body =
        nps_body(w, &format!("/r/flow/{token}/nps"), &view.vendor_name, "", &format!("/r/flow/{token}?skip_nps=true"));
    html_in(StatusCode::OK, w, w.nps_title, &body, &view.origins)
}

/// The page again after a step, with what went wrong (a problem page when the flow
/// itself is gone).
async fn again(state: &State, req: &HttpRequest, token: &str, e: &Error) -> HttpResponse {
    match reviews::flow_view(state, token).await {
        Ok(view) => {
            let lang = lang_of(&view, req);
            let status = actix_web::ResponseError::status_code(e);
            flow_page(token, &view, lang, status, Some(&page_detail_in(e, words(lang))))
        }
        Err(gone) => problem_page_in(&gone, words(browser_lang(req))),
    }
}

/// On to the flow's page (303) after `/r/new`: the recommendation question first, when the
/// shop asks it. Flow tokens are URL-safe; anything else is not ours.
fn to_page(token: &str) -> HttpResponse {
    see_other(token, "")
}

/// Back to the flow's page (303) after a step: past the recommendation question, answered
/// or skipped on the way in.
fn back_to(token: &str) -> HttpResponse {
    see_other(token, "?skip_nps=true")
}

fn see_other(token: &str, query: &str) -> HttpResponse {
    let token = token.trim();
    if !is_flow_token(token) {
        return problem_page_in(&Error::not_found("review flow"), words(Lang::En));
    }
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/r/flow/{token}{query}")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FlowPageQuery {
    /// Skip the recommendation question (when the shop asks it) and go to the review.
    pub skip_nps: Option<bool>,
}

/// The review flow's page (the recommendation question first, when the shop asks it).
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 200), FlowPageQuery), responses((status = 200, content_type = "text/html", body = String), (status = 400, body = Problem), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
#[get("/r/flow/{token}")]
async fn page(
    state: State,
    req: HttpRequest,
    token: web::Path<String>,
    query: web::Query<FlowPageQuery>,
) -> HttpResponse {
    match reviews::flow_view(&state, &token).await {
        Ok(view) => {
            let lang = lang_of(&view, &req);
            if view.ask_nps && query.skip_nps != Some(true) {
                nps_page(&token, &view, lang)
            } else {
                flow_page(&token, &view, lang, StatusCode::OK, None)
            }
        }
        Err(e) => problem_page_in(&e, words(browser_lang(&req))),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct FlowNpsForm {
    /// How likely the buyer is to recommend the shop, 0–10.
    #[schema(minimum = 0, maximum = 10)]
    pub score: i64,
}

/// Answers the recommendation question (NPS 0–10), then on to the review (303), whatever
/// the score. The first answer counts.
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 200)), request_body(content = FlowNpsForm, content_type = "application/x-www-form-urlencoded"), responses((status = 303, description = "back to the flow's page"), (status = 400, body = Problem), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 415, body = Problem), (status = 422, content_type = "text/html", body = String)))]
#[post("/r/flow/{token}/nps")]
async fn nps(state: State, req: HttpRequest, token: web::Path<String>, form: web::Form<FlowNpsForm>) -> HttpResponse {
    let answered = match u8::try_from(form.score).ok().filter(|s| *s <= 10) {
        Some(score) => reviews::flow_nps(&state, &token, score).await,
        None => Err(Error::validation("score", "must be between 0 and 10")),
    };
    match answered {
        Ok(()) => back_to(&token),
        Err(e) => problem_page_in(&e, words(browser_lang(&req))),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct FlowPhoneForm {
    #[schema(min_length = 1, max_length = 32)]
    pub phone: String,
}

/// Texts a code to the buyer's phone and asks for it.
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 200)), request_body(content = FlowPhoneForm, content_type = "application/x-www-form-urlencoded"), responses((status = 200, content_type = "text/html", body = String), (status = 400, body = Problem), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 415, body = Problem), (status = 422, content_type = "text/html", body = String), (status = 429, content_type = "text/html", body = String)))]
#[post("/r/flow/{token}/phone")]
async fn phone_start(
    state: State,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<FlowPhoneForm>,
) -> HttpResponse {
    match crate::kyc::phone::start(&state, &token, &form.phone, hosted_write(&req)).await {
        Ok(()) => code_page(&state, &req, &token, Code::Phone(&form.phone), None, StatusCode::OK).await,
        Err(e) => again(&state, &req, &token, &e).await,
    }
}

/// Which code the code page asks for.
enum Code<'a> {
    Phone(&'a str),
    WorkEmail(&'a str),
}

async fn code_page(
    state: &State,
    req: &HttpRequest,
    token: &str,
    code: Code<'_>,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    match reviews::flow_view(state, token).await {
        Ok(view) => code_form(&view, req, token, code, error, status),
        Err(e) => problem_page_in(&e, words(browser_lang(req))),
    }
}

/// The page that asks for the code sent (`error`: why the last one was refused).
fn code_form(
    view: &FlowView,
    req: &HttpRequest,
    token: &str,
    code: Code<'_>,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let w: &Words = words(lang_of(view, req));
    let (sent, action, field, value) = match code {
        Code::Phone(p) => ((w.code_sent_phone)(&esc(p)), "phone/verify", "phone", p),
        Code::WorkEmail(e) => ((w.code_sent_email)(&esc(e)), "company/verify", "work_email", e),
    };
    let body = format!(
        "<h1>{title}</h1><p>{sent} {expires}</p>{error}\
         <form method=\"post\" action=\"/r/flow/{t}/{action}\"><input type=\"hidden\" name=\"{field}\" value=\"{value}\">\
         <label for=\"code\">{label}</label><input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" \
         autocomplete=\"one-time-code\" maxlength=\"10\" required autofocus><button type=\"submit\">{confirm}</button></form>\
         <p><a href=\"/r/flow/{t}?skip_nps=true\">{back}</a></p>",
        title = w.code_title,
        expires = w.code_expires,
        value = esc(value),
        t = esc(token),
        error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))).unwrap_or_default(),
        label = w.code_label,
        confirm = w.confirm,
        back = w.back,
    );
    html_in(status, w, w.code_title, &body, &view.origins)
}

#[derive(Deserialize, ToSchema)]
pub struct FlowCodeForm {
    #[schema(min_length = 1, max_length = 32)]
    pub phone: String,
    #[schema(min_length = 1, max_length = 10)]
    pub code: String,
}

/// Checks the texted code: back to the page with the phone confirmed, or the code page
/// again saying what went wrong.
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 200)), request_body(content = FlowCodeForm, content_type = "application/x-www-form-urlencoded"), responses((status = 303, description = "back to the flow's page"), (status = 400, body = Problem), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 415, body = Problem), (status = 422, content_type = "text/html", body = String), (status = 429, content_type = "text/html", body = String)))]
#[post("/r/flow/{token}/phone/verify")]
async fn phone_verify(
    state: State,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<FlowCodeForm>,
) -> HttpResponse {
    match crate::kyc::phone::verify(&state, &token, &form.phone, &form.code, hosted_write(&req)).await {
        Ok(_) => back_to(&token),
        Err(e @ Error::Validation { .. }) => wrong_code(&state, &req, &token, Code::Phone(&form.phone), &e).await,
        Err(e) => again(&state, &req, &token, &e).await,
    }
}

/// The code page again, saying why the code was refused.
async fn wrong_code(state: &State, req: &HttpRequest, token: &str, code: Code<'_>, e: &Error) -> HttpResponse {
    let view = match reviews::flow_view(state, token).await {
        Ok(view) => view,
        Err(gone) => return problem_page_in(&gone, words(browser_lang(req))),
    };
    let w = words(lang_of(&view, req));
    let why = match e {
        Error::Validation { detail, .. } => (w.bad_code)(detail),
        other => page_detail_in(other, w),
    };
    code_form(&view, req, token, code, Some(&why), actix_web::ResponseError::status_code(e))
}

#[derive(Deserialize, ToSchema)]
pub struct FlowOrderForm {
    #[schema(min_length = 1, max_length = 100)]
    pub order_id: String,
    /// The e-mail or phone the order was placed with.
    #[schema(min_length = 1, max_length = 254)]
    pub contact: String,
}

/// Matches the buyer's order by its number and contact: back to the page with the purchase
/// verified, or the page again with the one answer for any mismatch.
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 200)), request_body(content = FlowOrderForm, content_type = "application/x-www-form-urlencoded"), responses((status = 303, description = "back to the flow's page"), (status = 400, body = Problem), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 415, body = Problem), (status = 422, content_type = "text/html", body = String), (status = 429, content_type = "text/html", body = String)))]
#[post("/r/flow/{token}/order")]
async fn order_match(
    state: State,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<FlowOrderForm>,
) -> HttpResponse {
    let matched = async {
        let order_ref = crate::domain::order::OrderRef::parse("order_id", &form.order_id)?;
        let raw = form.contact.trim();
        let contact = if raw.contains('@') {
            ContactHmac::Email(state.contacts.email(Email::parse("contact", raw)?.as_str()))
        } else {
            ContactHmac::Phone(state.contacts.phone(&Phone::lookup_form("contact", raw)?))
        };
        let request = MatchRequest { flow_token: token.to_string(), order_ref, contact };
        crate::kyp::matching::match_order(&state, request, hosted_write(&req)).await
    };
    match matched.await {
        Ok(_) => back_to(&token),
        Err(e) => again(&state, &req, &token, &e).await,
    }
}

/// The receipt form's body: the file part (`file`) and nothing else of any size.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FlowReceiptForm {
    /// The receipt or invoice: JPEG, PNG or PDF, at most 5 MB (the type is told from the
    /// bytes).
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// The bytes a receipt form may carry besides the file (boundaries, part headers).
const FORM_OVERHEAD: usize = 16 * 1024;

/// Reads the form's `file` part (and its declared type), refusing a body that is not
/// `multipart/form-data` (415) or carries more than a receipt (413).
async fn receipt_part(req: &HttpRequest, payload: web::Payload) -> Result<(Option<String>, Vec<u8>), Error> {
    use crate::domain::receipt::MAX_BYTES;
    let too_large = || Error::PayloadTooLarge(format!("a receipt may be at most {MAX_BYTES} bytes"));
    let malformed = |e: MultipartError| match e {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible
        | MultipartError::BoundaryMissing => {
            Error::UnsupportedMediaType("the receipt form must be sent as multipart/form-data".into())
        }
        other => Error::BadRequest(format!("the receipt form could not be read: {other}")),
    };
    let mut form = Multipart::new(req.headers(), payload);
    let (mut file, mut declared, mut total) = (None::<Vec<u8>>, None, 0usize);
    while let Some(field) = form.next().await {
        let mut field = field.map_err(malformed)?;
        let is_file = field.name() == Some("file") && file.is_none();
        if is_file {
            declared = field.content_type().map(ToString::to_string);
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(malformed)?;
            total += chunk.len();
            if total > MAX_BYTES + FORM_OVERHEAD || (is_file && bytes.len() + chunk.len() > MAX_BYTES) {
                return Err(too_large());
            }
            if is_file {
                bytes.extend_from_slice(&chunk);
            }
        }
        if is_file {
            file = Some(bytes);
        }
    }
    let file = file.ok_or_else(|| Error::validation("file", "is required: choose the receipt or invoice"))?;
    Ok((declared, file))
}

/// Sends the receipt or invoice for the shop to check: back to the page, which says it is
/// waiting for the shop; a file that is not a JPEG, PNG or PDF, or larger than 5 MB, shows
/// the page again saying so.
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 200)), request_body(content = FlowReceiptForm, content_type = "multipart/form-data"), responses((status = 303, description = "back to the flow's page"), (status = 400, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 413, content_type = "text/html", body = String), (status = 415, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[post("/r/flow/{token}/receipt")]
async fn receipt_upload(
    state: State,
    req: HttpRequest,
    token: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let sent = async {
        let (declared, file) = receipt_part(&req, payload).await?;
        crate::kyp::receipts::upload(&state, &token, declared.as_deref(), &file, hosted_write(&req)).await
    };
    match sent.await {
        Ok(_) => back_to(&token),
        Err(e) => again(&state, &req, &token, &e).await,
    }
}

#[derive(Deserialize, ToSchema)]
pub struct FlowCompanyForm {
    /// The author's e-mail at the company; free-mail addresses are refused.
    #[schema(min_length = 3, max_length = 254)]
    pub work_email: String,
    /// The company's name as the author gives it (empty: none).
    #[schema(max_length = 100)]
    pub company: Option<String>,
    /// The author's role (empty: none).
    #[schema(max_length = 100)]
    pub role: Option<String>,
    /// Employees: `1-10`, `11-50`, `51-250`, `251-1000`, `1001+` (empty: not given).
    #[schema(pattern = r"^(|1-10|11-50|51-250|251-1000|1001\+)$")]
    pub size: Option<String>,
}

/// Sends a code to the author's work e-mail and asks for it (a free-mail address shows
/// the page again: it never proves a company).
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 200)), request_body(content = FlowCompanyForm, content_type = "application/x-www-form-urlencoded"), responses((status = 200, content_type = "text/html", body = String), (status = 400, body = Problem), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 415, body = Problem), (status = 422, content_type = "text/html", body = String), (status = 429, content_type = "text/html", body = String)))]
#[post("/r/flow/{token}/company")]
async fn company_start(
    state: State,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<FlowCompanyForm>,
) -> HttpResponse {
    use crate::domain::text::{clean, Lines};
    let started = async {
        let optional = |field: &str, v: &Option<String>| -> Result<Option<String>, Error> {
            let v = clean(field, v.as_deref().unwrap_or(""), Lines::Single, 0, 100)?;
            Ok(Some(v).filter(|v| !v.is_empty()))
        };
        let size = match form.size.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(
                CompanySize::parse(s)
                    .ok_or_else(|| Error::validation("size", "must be 1-10, 11-50, 51-250, 251-1000 or 1001+"))?
                    .as_str()
                    .to_owned(),
            ),
        };
        let claim = crate::kyc::company::Claim {
            name: optional("company", &form.company)?,
            role: optional("role", &form.role)?,
            size,
        };
        crate::kyc::company::start(&state, &token, &form.work_email, claim, hosted_write(&req)).await
    };
    match started.await {
        Ok(()) => code_page(&state, &req, &token, Code::WorkEmail(form.work_email.trim()), None, StatusCode::OK).await,
        Err(e) => again(&state, &req, &token, &e).await,
    }
}

#[derive(Deserialize, ToSchema)]
pub struct FlowCompanyCodeForm {
    #[schema(min_length = 3, max_length = 254)]
    pub work_email: String,
    #[schema(min_length = 1, max_length = 10)]
    pub code: String,
}

/// Checks the work-e-mail code: back to the page with the company verified, or the code
/// page again saying what went wrong.
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 200)), request_body(content = FlowCompanyCodeForm, content_type = "application/x-www-form-urlencoded"), responses((status = 303, description = "back to the flow's page"), (status = 400, body = Problem), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 415, body = Problem), (status = 422, content_type = "text/html", body = String), (status = 429, content_type = "text/html", body = String)))]
#[post("/r/flow/{token}/company/verify")]
async fn company_verify(
    state: State,
    req: HttpRequest,
    token: web::Path<String>,
    form: web::Form<FlowCompanyCodeForm>,
) -> HttpResponse {
    match crate::kyc::company::verify(&state, &token, &form.work_email, &form.code, hosted_write(&req)).await {
        Ok(_) => back_to(&token),
        Err(e @ Error::Validation { .. }) => {
            wrong_code(&state, &req, &token, Code::WorkEmail(form.work_email.trim()), &e).await
        }
        Err(e) => again(&state, &req, &token, &e).await,
    }
}

/// Sends the review.
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 200)), request_body(content = HostedForm, content_type = "application/x-www-form-urlencoded"), responses((status = 201, content_type = "text/html", body = String), (status = 400, body = Problem), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 415, body = Problem), (status = 422, content_type = "text/html", body = String)))]
#[post("/r/flow/{token}")]
async fn submit(state: State, req: HttpRequest, token: web::Path<String>, form: web::Form<HostedForm>) -> HttpResponse {
    let view = match reviews::flow_view(&state, &token).await {
        Ok(v) => v,
        Err(e) => return problem_page_in(&e, words(browser_lang(&req))),
    };
    let lang = lang_of(&view, &req);
    let w = words(lang);
    let sent = async {
        let mut written = written(form.into_inner())?;
        if written.display_name.is_empty() {
            return Err(Error::validation("display_name", "is required: the name shown with your review"));
        }
        written.locale = Locale::parse(Some(lang.code()))?;
        let submission = Submission {
            flow_token: token.to_string(),
            rating: written.rating,
            title: written.title,
            body: written.body,
            pros: None,
            cons: None,
            locale: written.locale,
            sku: written.sku,
            display_name: written.display_name,
            email: None,
        };
        reviews::submit(&state, submission, None).await
    };
    match sent.await {
        Ok(review) => {
            let level = usize::try_from(review.maturity_level.clamp(0, 5)).unwrap_or(0);
            let referral = view
                .referral_url
                .as_deref()
                .map(|url| format!("<p>{}</p>", (w.referral)(&esc(url))))
                .unwrap_or_default();
            let incentive = view
                .incentive
                .as_deref()
                .filter(|_| review.incentivised)
                .map(|i| format!("<p>{}</p>", (w.incentive_thanks)(&esc(i))))
                .unwrap_or_default();
            let body = format!(
                "<h1>{}</h1><p>{}</p>{incentive}{referral}",
                w.thanks_title,
                (w.thanks_text)(review.maturity_level, w.levels[level])
            );
            html_in(StatusCode::CREATED, w, w.thanks_title, &body, &view.origins)
        }
        Err(e @ Error::Validation { .. }) => again(&state, &req, &token, &e).await,
        Err(e) => problem_page_in(&e, w),
    }
}
