//! The hosted review page for reviews that start on the shop's site (the widget's "Write a
//! review"): `/r/new?key=pk_…&sku=…` opens a review flow and leads to `/r/flow/{token}`,
//! where the buyer may confirm their phone (level 2), show their order (level 3; both:
//! 4 or 5) and write the review. Server-rendered, no script, on the service's origin: no
//! secret or login ever touches the shop's page.

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::app::State;
use crate::domain::contact::{Email, Phone};
use crate::domain::review::Sku;
use crate::error::Error;
use crate::http::errors::Problem;
use crate::http::funnel::{hosted_write, html, page_detail, problem_page, star_inputs, written, HostedForm, NoStore};
use crate::http::html::esc;
use crate::kyp::matching::{ContactHmac, MatchRequest};
use crate::reviews::{self, FlowView, Submission};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(start).service(page).service(phone_start).service(phone_verify).service(order_match).service(submit);
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
}

/// Opens a review flow for the shop (and product) and leads to its page.
#[utoipa::path(tag = "public", params(NewQuery), responses((status = 303, description = "to `/r/flow/{token}`"), (status = 400, body = Problem), (status = 401, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String), (status = 429, body = Problem)))]
#[get("/r/new")]
async fn start(state: State, query: web::Query<NewQuery>) -> HttpResponse {
    let opened = async {
        let sku = query.sku.as_deref().map(|s| Sku::parse("sku", s)).transpose()?.map(Sku::into_string);
        let key = crate::http::extract::resolve_key(&state, query.key.trim(), "publishable").await?;
        reviews::open_flow(&state, &key.vendor_id, sku).await
    };
    match opened.await {
        Ok((_, token)) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/r/flow/{token}")))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Err(e) => problem_page(&e),
    }
}

fn levels(level: u8) -> &'static str {
    ["Anonymous", "Self-declared", "Verified identity", "Verified purchase", "Identity and purchase", "Verified buyer"]
        [usize::from(level.min(5))]
}

/// The flow's page: what the review shows so far, the steps that would raise it, the form.
fn flow_page(token: &str, view: &FlowView, status: StatusCode, error: Option<&str>) -> HttpResponse {
    let token = esc(token);
    let what = match &view.product {
        Some(name) => format!("{} at {}", esc(name), esc(&view.vendor_name)),
        None => match &view.sku {
            Some(sku) => format!("{} at {}", esc(sku), esc(&view.vendor_name)),
            None => esc(&view.vendor_name),
        },
    };
    let checks: String = view.assessment.checks.iter().map(|c| format!("<li>✓ {}</li>", esc(&c.label))).collect();
    let error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))).unwrap_or_default();
    let phone_step = if view.has_identity {
        String::new()
    } else {
        format!(
            "<form method=\"post\" action=\"/r/flow/{token}/phone\" class=\"step\"><p><strong>Confirm it is you</strong> \
             with a code to your phone. The number is never shown.</p><label for=\"phone\">Phone number</label>\
             <input type=\"tel\" id=\"phone\" name=\"phone\" autocomplete=\"tel\" required maxlength=\"32\">\
             <button type=\"submit\" class=\"secondary\">Text me a code</button></form>"
        )
    };
    let order_step = if view.has_purchase {
        String::new()
    } else {
        format!(
            "<form method=\"post\" action=\"/r/flow/{token}/order\" class=\"step\"><p><strong>Bought it here?</strong> Give \
             your order number and the e-mail or phone you ordered with: the review will say the purchase was \
             verified, never show them.</p><label for=\"order_id\">Order number</label>\
             <input type=\"text\" id=\"order_id\" name=\"order_id\" required maxlength=\"100\">\
             <label for=\"contact\">E-mail or phone of the order</label>\
             <input type=\"text\" id=\"contact\" name=\"contact\" autocomplete=\"email\" required maxlength=\"254\">\
             <button type=\"submit\" class=\"secondary\">Check my order</button></form>"
        )
    };
    let body = format!(
        "<h1>Review {what}</h1>{error}<p class=\"note\">Your review will show: <strong>level {level} · {name}</strong></p>\
         <ul class=\"note\">{checks}</ul>{phone_step}{order_step}\
         <form method=\"post\" action=\"/r/flow/{token}\"><fieldset><legend><strong>Your rating</strong></legend>\
         <div class=\"stars\">{stars}</div></fieldset>\
         <label for=\"title\">Title</label><input type=\"text\" id=\"title\" name=\"title\" maxlength=\"120\">\
         <label for=\"body\">Your review</label><textarea id=\"body\" name=\"body\" maxlength=\"5000\"></textarea>\
         <label for=\"display_name\">Name shown with the review</label>\
         <input type=\"text\" id=\"display_name\" name=\"display_name\" maxlength=\"80\" required>\
         <button type=\"submit\">Send review</button></form>",
        level = view.assessment.level,
        name = levels(view.assessment.level),
        stars = star_inputs(None),
    );
    html(status, "Write a review", &body).customize_no_store()
}

/// The page again after a step, with what went wrong (a problem page when the flow
/// itself is gone).
async fn again(state: &State, token: &str, e: &Error) -> HttpResponse {
    match reviews::flow_view(state, token).await {
        Ok(view) => flow_page(token, &view, actix_web::ResponseError::status_code(e), Some(&page_detail(e))),
        Err(gone) => problem_page(&gone),
    }
}

fn back_to(token: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/r/flow/{token}")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The review flow's page.
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 200)), responses((status = 200, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String)))]
#[get("/r/flow/{token}")]
async fn page(state: State, token: web::Path<String>) -> HttpResponse {
    match reviews::flow_view(&state, &token).await {
        Ok(view) => flow_page(&token, &view, StatusCode::OK, None),
        Err(e) => problem_page(&e),
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
        Ok(()) => code_page(&token, &form.phone, None, StatusCode::OK),
        Err(e) => again(&state, &token, &e).await,
    }
}

fn code_page(token: &str, phone: &str, error: Option<&str>, status: StatusCode) -> HttpResponse {
    let body = format!(
        "<h1>Enter the code</h1><p>We texted a code to {phone}. It expires in 10 minutes.</p>{error}\
         <form method=\"post\" action=\"/r/flow/{token}/phone/verify\"><input type=\"hidden\" name=\"phone\" value=\"{phone}\">\
         <label for=\"code\">Code</label><input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\" \
         autocomplete=\"one-time-code\" maxlength=\"10\" required autofocus><button type=\"submit\">Confirm</button></form>\
         <p><a href=\"/r/flow/{token}\">Back to the review</a></p>",
        phone = esc(phone),
        token = esc(token),
        error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e))).unwrap_or_default(),
    );
    html(status, "Enter the code", &body).customize_no_store()
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
        Err(Error::Validation { detail, .. }) => {
            code_page(&token, &form.phone, Some(&format!("This code {detail}.")), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => again(&state, &token, &e).await,
    }
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
        Err(e) => again(&state, &token, &e).await,
    }
}

/// Sends the review.
#[utoipa::path(tag = "public", params(("token" = String, Path, max_length = 200)), request_body(content = HostedForm, content_type = "application/x-www-form-urlencoded"), responses((status = 201, content_type = "text/html", body = String), (status = 400, body = Problem), (status = 404, content_type = "text/html", body = String), (status = 409, content_type = "text/html", body = String), (status = 415, body = Problem), (status = 422, content_type = "text/html", body = String)))]
#[post("/r/flow/{token}")]
async fn submit(state: State, token: web::Path<String>, form: web::Form<HostedForm>) -> HttpResponse {
    let sent = async {
        let w = written(form.into_inner())?;
        if w.display_name.is_empty() {
            return Err(Error::validation("display_name", "is required: the name shown with your review"));
        }
        let submission = Submission {
            flow_token: token.to_string(),
            rating: w.rating,
            title: w.title,
            body: w.body,
            pros: None,
            cons: None,
            locale: w.locale,
            sku: w.sku,
            display_name: w.display_name,
            email: None,
        };
        reviews::submit(&state, submission, None).await
    };
    match sent.await {
        Ok(review) => {
            let body = format!(
                "<h1>Thank you for your review</h1><p>It will be shown at level {} ({}) once the shop has published it.</p>",
                review.maturity_level,
                levels(u8::try_from(review.maturity_level).unwrap_or(0)),
            );
            html(StatusCode::CREATED, "Thank you", &body).customize_no_store()
        }
        Err(e @ Error::Validation { .. }) => again(&state, &token, &e).await,
        Err(e) => problem_page(&e),
    }
}
