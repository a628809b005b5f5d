//! KYC for buyers: social login, phone one-time codes; and the development SMS outbox for
//! owners.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::State;
use crate::error::Result;
use crate::http::body::Json;
use crate::http::errors::Problem;
use crate::http::extract::StaffSession;
use crate::http::kyp::MatchView;
use crate::http::text::Line;
use crate::http::ServiceConfig;
use crate::kyc::{company, oauth, phone};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(start)
        .service(verify)
        .service(outbox)
        .service(providers)
        .service(oauth_start)
        .service(oauth_callback)
        .service(oauth_callback_post)
        .service(company_start)
        .service(company_verify);
}

/// Company sizes the author may pick (employees).
#[derive(Deserialize, ToSchema, Clone, Copy)]
pub enum CompanySize {
    #[serde(rename = "1-10")]
    Micro,
    #[serde(rename = "11-50")]
    Small,
    #[serde(rename = "51-250")]
    Medium,
    #[serde(rename = "251-1000")]
    Large,
    #[serde(rename = "1001+")]
    Enterprise,
}

impl CompanySize {
    pub(crate) const ALL: [CompanySize; 5] =
        [CompanySize::Micro, CompanySize::Small, CompanySize::Medium, CompanySize::Large, CompanySize::Enterprise];

    /// The size a form names (`1-10`, …, `1001+`).
    pub(crate) fn parse(raw: &str) -> Option<CompanySize> {
        CompanySize::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CompanySize::Micro => "1-10",
            CompanySize::Small => "11-50",
            CompanySize::Medium => "51-250",
            CompanySize::Large => "251-1000",
            CompanySize::Enterprise => "1001+",
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyStartBody {
    #[schema(min_length = 1, max_length = 200)]
    pub flow_token: String,
    /// The author's e-mail at the company; free-mail addresses are refused.
    #[schema(min_length = 3, max_length = 254)]
    pub work_email: String,
    /// The company's name as the author gives it.
    pub company: Option<Line<1, 100>>,
    /// The author's role, e.g. "Head of purchasing".
    pub role: Option<Line<1, 100>>,
    pub size: Option<CompanySize>,
}

/// Sends a 6-digit code to the author's work e-mail (valid 10 minutes; the phone codes'
/// rules and caps). A free-mail address is a 422: it never proves a company.
#[utoipa::path(tag = "public", request_body = CompanyStartBody, responses((status = 202, body = Sent), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
#[post("/api/v1/public/kyc/company/start")]
async fn company_start(state: State, req: HttpRequest, body: Json<CompanyStartBody>) -> Result<HttpResponse> {
    let from = crate::http::public::public_write(&req)?;
    let body = body.into_inner();
    let claim = company::Claim {
        name: body.company.as_ref().map(|c| c.clean("company")).transpose()?,
        role: body.role.as_ref().map(|r| r.clean("role")).transpose()?,
        size: body.size.map(|s| s.as_str().to_owned()),
    };
    company::start(&state, &body.flow_token, &body.work_email, claim, from).await?;
    Ok(sent())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyVerifyBody {
    #[schema(min_length = 1, max_length = 200)]
    pub flow_token: String,
    #[schema(min_length = 3, max_length = 254)]
    pub work_email: String,
    /// The 6 digits received.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}

/// Checks the work-e-mail code: right → the company is verified on the flow (readers see
/// "Works at example.com (work e-mail verified)"); wrong → 422 with the tries left.
#[utoipa::path(tag = "public", request_body = CompanyVerifyBody, responses((status = 200, body = MatchView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/public/kyc/company/verify")]
async fn company_verify(state: State, req: HttpRequest, body: Json<CompanyVerifyBody>) -> Result<HttpResponse> {
    let from = crate::http::public::public_write(&req)?;
    let a = company::verify(&state, &body.flow_token, &body.work_email, &body.code, from).await?;
    Ok(verified(a))
}

/// The cookie that binds a social login to the browser that started it.
const BROWSER_COOKIE: &str = "truview_oauth";
/// The review flow whose hosted page the sign-in comes back to (`page=true`).
const BACK_COOKIE: &str = "truview_back";

fn oauth_path(provider: &str) -> String {
    format!("/api/v1/public/kyc/oauth/{provider}")
}

#[derive(Deserialize, IntoParams)]
pub struct FlowQuery {
    /// The review flow's token.
    #[param(min_length = 1, max_length = 200)]
    pub flow: String,
    /// `true`: come back to the flow's hosted review page (`/r/flow/{token}`) after the
    /// sign-in, instead of a page that says what was verified.
    pub page: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct ProviderView {
    /// The configuration name (`google`, or an operator's own name).
    pub name: String,
    /// As buyers and readers see it ("Google").
    pub label: String,
    /// Open this URL (a top-level navigation or a popup) to sign in.
    pub start_url: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProvidersView {
    pub providers: Vec<ProviderView>,
}

/// The social-login providers this review flow's shop offers, with the URL that starts
/// each (its flow must be open: 404 unknown, 409 expired or used).
#[utoipa::path(tag = "public", params(FlowQuery), responses((status = 200, body = ProvidersView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
#[get("/api/v1/public/kyc/providers")]
async fn providers(state: State, req: HttpRequest, query: web::Query<FlowQuery>) -> Result<HttpResponse> {
    let from = crate::http::public::public_write(&req)?;
    let offered = oauth::offered(&state, &query.flow, from).await?;
    let base = crate::http::public_base(&state, &req);
    let flow = url::form_urlencoded::byte_serialize(query.flow.trim().as_bytes()).collect::<String>();
    let providers = offered
        .into_iter()
        .map(|(name, label)| ProviderView {
            start_url: format!("{base}{}/start?flow={flow}", oauth_path(&name)),
            name,
            label,
        })
        .collect();
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(ProvidersView { providers }))
}

/// Starts a social login for the review flow: 302 to the provider (authorization-code flow,
/// PKCE S256, `state` and `nonce`), with a short-lived HttpOnly cookie binding the answer
/// to this browser. 404 for a provider this service or this shop does not offer.
#[utoipa::path(tag = "public", params(("provider" = String, Path, pattern = "^[a-z0-9-]{1,32}$"), FlowQuery), responses((status = 302, description = "to the provider's sign-in page"), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 503, description = "the provider cannot be reached", body = Problem)))]
#[get("/api/v1/public/kyc/oauth/{provider}/start")]
async fn oauth_start(
    state: State,
    req: HttpRequest,
    provider: web::Path<String>,
    query: web::Query<FlowQuery>,
) -> Result<HttpResponse> {
    if !crate::kyc::providers::is_name(&provider) {
        return Err(crate::error::Error::not_found("sign-in provider"));
    }
    let from = crate::http::public::public_write(&req)?;
    let base = crate::http::public_base(&state, &req);
    let started = oauth::start(&state, &provider, &query.flow, &base, from).await?;
    // Apple answers with a cross-site POST, which carries only a `SameSite=None` cookie.
    let same_site = if started.cross_site_answer { SameSite::None } else { SameSite::Lax };
    let cookie = Cookie::build(BROWSER_COOKIE, started.browser_cookie)
        .path(oauth_path(&provider))
        .http_only(true)
        .secure(base.starts_with("https://") || started.cross_site_answer)
        .same_site(same_site)
        .max_age(actix_web::cookie::time::Duration::milliseconds(oauth::STATE_TTL_MS))
        .finish();
    let mut res = HttpResponse::Found();
    res.insert_header((header::LOCATION, started.redirect_to))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"));
    if query.page == Some(true) {
        let mut back = cookie.clone();
        back.set_name(BACK_COOKIE);
        back.set_value(query.flow.trim().to_owned());
        res.cookie(back);
    }
    Ok(res.cookie(cookie).finish())
}

/// The provider's answer. The limits keep a whole query string, percent-encoded, under
/// the 64 KiB a URI may have (a longer one is refused before any handler).
#[derive(Deserialize, IntoParams, ToSchema)]
pub struct CallbackParams {
    #[param(max_length = 1024)]
    #[schema(max_length = 1024)]
    pub code: Option<String>,
    #[param(max_length = 128)]
    #[schema(max_length = 128)]
    pub state: Option<String>,
    /// The provider's refusal, e.g. `access_denied`.
    #[param(max_length = 64)]
    #[schema(max_length = 64)]
    pub error: Option<String>,
    #[param(max_length = 512)]
    #[schema(max_length = 512)]
    pub error_description: Option<String>,
    /// VK ID's device id, repeated in the token request.
    #[param(max_length = 128)]
    #[schema(max_length = 128)]
    pub device_id: Option<String>,
    /// Apple's first-login user JSON (ignored: the buyer types the name shown).
    #[param(max_length = 1024)]
    #[schema(max_length = 1024)]
    pub user: Option<String>,
}

const PAGE_CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}main{max-width:32rem;margin:3rem auto;background:#fff;border:1px solid #d1d9e0;border-radius:12px;padding:1.5rem}h1{font-size:1.35rem;margin-top:0}.level{font-weight:600}";
const PAGE_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page the buyer lands on after the provider (until the hosted review page takes
/// over): what was verified, or why not, in words.
async fn finish(state: State, req: HttpRequest, provider: String, params: CallbackParams) -> HttpResponse {
    use crate::http::html::{esc, headers, page};
    if !crate::kyc::providers::is_name(&provider) {
        let mut res = HttpResponse::NotFound();
        headers(&mut res, PAGE_CSP);
        return res.body(page("en", "Not found", PAGE_CSS, "<main><h1>No such sign-in provider</h1></main>"));
    }
    let cookie = req.cookie(BROWSER_COOKIE).map(|c| c.value().to_owned());
    // A flow token names the page to go back to only when it is one (URL-safe).
    let back =
        req.cookie(BACK_COOKIE).map(|c| c.value().to_owned()).filter(|t| crate::http::page_words::is_flow_token(t));
    let answer =
        oauth::Answer { code: params.code, state: params.state, error: params.error, device_id: params.device_id };
    let result = oauth::callback(&state, &provider, answer, cookie.as_deref()).await;
    // The binding cookie is spent whatever happened.
    let mut spent = Cookie::build(BROWSER_COOKIE, "").path(oauth_path(&provider)).finish();
    spent.make_removal();
    let mut back_spent = Cookie::build(BACK_COOKIE, "").path(oauth_path(&provider)).finish();
    back_spent.make_removal();
    if let (Ok(_), Some(token)) = (&result, &back) {
        // Straight back to the review, which now shows the sign-in among its checks.
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/r/flow/{token}?skip_nps=true")))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header(("Referrer-Policy", "no-referrer"))
            .cookie(spent)
            .cookie(back_spent)
            .finish();
    }
    let back_link = back
        .as_ref()
        .map(|t| format!("<p><a href=\"/r/flow/{}?skip_nps=true\">Back to your review</a></p>", esc(t)))
        .unwrap_or_default();
    let (mut res, title, body) = match result {
        Ok(v) => {
            let email = if v.email_verified {
                "Your e-mail address was confirmed by the provider."
            } else {
                "The provider did not confirm an e-mail address, so the review cannot show you as the order's buyer."
            };
            let checks: Vec<String> =
                v.assessment.checks.iter().map(|c| format!("<li>{}</li>", esc(&c.label))).collect();
            (
                HttpResponse::Ok(),
                "Identity verified".to_owned(),
                format!(
                    "<main><h1>Signed in with {label}</h1><p>Your identity is verified for this review. {email}</p>\
                     <p class=\"level\">Your review will be shown at level {level}:</p><ul>{checks}</ul>\
                     <p>You can close this window and finish your review.</p></main>",
                    label = esc(&v.provider_label),
                    level = v.assessment.level,
                    checks = checks.concat(),
                ),
            )
        }
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            let detail = match &e {
                crate::error::Error::Internal(_) => "Something went wrong on our side; try again.".to_owned(),
                other => other.to_string(),
            };
            if status.is_server_error() {
                tracing::warn!(%provider, error = %e, "social login failed");
            }
            (
                HttpResponse::build(status),
                "Not verified".to_owned(),
                format!("<main><h1>Sign-in not verified</h1><p>{}</p>{back_link}</main>", esc(&detail)),
            )
        }
    };
    headers(&mut res, PAGE_CSP).cookie(spent).cookie(back_spent);
    res.body(page("en", &title, PAGE_CSS, &body))
}

/// The provider's answer (query string): the state is compared once and must come back to
/// the browser and the provider it was issued for; the code is exchanged (PKCE), the ID
/// token checked (signature, `iss`, `aud`, `azp`, `exp`, `iat`, `nonce`) and the identity
/// recorded on the flow. An HTML page says what was verified, or why not.
#[utoipa::path(tag = "public", params(("provider" = String, Path, pattern = "^[a-z0-9-]{1,32}$"), CallbackParams), responses(
    (status = 200, content_type = "text/html", body = String),
    (status = 303, description = "back to the hosted review page, when the sign-in started there (`page=true`)"),
    (status = 400, content((String = "text/html"), (Problem = "application/problem+json"))),
    (status = 403, content_type = "text/html", body = String),
    (status = 404, content_type = "text/html", body = String),
    (status = 409, content_type = "text/html", body = String),
    (status = 503, content_type = "text/html", body = String)))]
#[get("/api/v1/public/kyc/oauth/{provider}/callback")]
async fn oauth_callback(
    state: State,
    req: HttpRequest,
    provider: web::Path<String>,
    query: web::Query<CallbackParams>,
) -> HttpResponse {
    finish(state, req, provider.into_inner(), query.into_inner()).await
}

/// The same answer as a form POST (`response_mode=form_post`, Apple).
#[utoipa::path(tag = "public", params(("provider" = String, Path, pattern = "^[a-z0-9-]{1,32}$")), request_body(content = CallbackParams, content_type = "application/x-www-form-urlencoded"), responses(
    (status = 200, content_type = "text/html", body = String),
    (status = 303, description = "back to the hosted review page, when the sign-in started there (`page=true`)"),
    (status = 400, content((String = "text/html"), (Problem = "application/problem+json"))),
    (status = 403, content_type = "text/html", body = String),
    (status = 404, content_type = "text/html", body = String),
    (status = 409, content_type = "text/html", body = String),
    (status = 415, body = Problem),
    (status = 503, content_type = "text/html", body = String)))]
#[post("/api/v1/public/kyc/oauth/{provider}/callback")]
async fn oauth_callback_post(
    state: State,
    req: HttpRequest,
    provider: web::Path<String>,
    form: web::Form<CallbackParams>,
) -> HttpResponse {
    finish(state, req, provider.into_inner(), form.into_inner()).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    #[schema(min_length = 1, max_length = 200)]
    pub flow_token: String,
    /// A mobile number in international form (`+44 7400 123456`).
    #[schema(max_length = 64, pattern = r"^(?:\+|00)[ ().-]*[1-9](?:[ ().-]*[0-9]){7,14}[ ().-]*$")]
    pub phone: String,
}

#[derive(Serialize, ToSchema)]
pub struct Sent {
    pub sent: bool,
    /// A new code may be asked for after this many seconds.
    pub resend_after_secs: i64,
}

/// Sends a 6-digit code by SMS for the review flow (valid 10 minutes). A number that is not
/// a mobile line is a 422; too soon after the last code, 3 codes to the phone in 10 minutes,
/// or the address's or shop's daily ceiling is a 429 with `Retry-After`.
#[utoipa::path(tag = "public", request_body = StartBody, responses((status = 202, body = Sent), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
#[post("/api/v1/public/kyc/phone/start")]
async fn start(state: State, req: HttpRequest, body: Json<StartBody>) -> Result<HttpResponse> {
    let from = crate::http::public::public_write(&req)?;
    phone::start(&state, &body.flow_token, &body.phone, from).await?;
    Ok(sent())
}

/// A code went out (202, never cached).
fn sent() -> HttpResponse {
    HttpResponse::Accepted()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Sent { sent: true, resend_after_secs: crate::domain::otp::RESEND_COOLDOWN_MS / 1000 })
}

/// A right code: the level the review will have and its checks.
fn verified(a: crate::domain::maturity::Assessment) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(MatchView { maturity_level: a.level, checks: a.checks })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    #[schema(min_length = 1, max_length = 200)]
    pub flow_token: String,
    #[schema(max_length = 64, pattern = r"^(?:\+|00)[ ().-]*[1-9](?:[ ().-]*[0-9]){7,14}[ ().-]*$")]
    pub phone: String,
    /// The 6 digits received.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}

/// Checks the code: right → the phone is the flow's verified identity (the answer shows
/// the level the review will have); wrong → 422 with the tries left; after 5 wrong tries,
/// past 10 minutes or once used, every code is refused until a new one is sent.
#[utoipa::path(tag = "public", request_body = VerifyBody, responses((status = 200, body = MatchView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/public/kyc/phone/verify")]
async fn verify(state: State, req: HttpRequest, body: Json<VerifyBody>) -> Result<HttpResponse> {
    let from = crate::http::public::public_write(&req)?;
    let a = phone::verify(&state, &body.flow_token, &body.phone, &body.code, from).await?;
    Ok(verified(a))
}

#[derive(Serialize, ToSchema)]
pub struct OutboxMessage {
    pub to: String,
    pub body: String,
    pub sent_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct Outbox {
    /// Messages not sent because no SMS gateway is configured (development and demo), newest first.
    pub messages: Vec<OutboxMessage>,
}

/// The development outbox (owner only): with no SMS gateway configured, codes are written
/// here instead of being sent. Empty when a gateway is configured.
#[utoipa::path(tag = "vendors", security(("staff" = [])), responses((status = 200, body = Outbox), (status = 401, body = Problem), (status = 403, body = Problem)))]
#[get("/api/v1/dev/outbox")]
async fn outbox(state: State, session: StaffSession) -> Result<HttpResponse> {
    session.require_owner()?;
    let vendor = session.vendor_id.clone();
    let rows = state.db.run(move |conn| crate::store::codes::outbox(conn, &vendor, 50)).await?;
    let messages = rows
        .into_iter()
        .map(|r| OutboxMessage {
            to: r.outbox_to.unwrap_or_default(),
            body: r.outbox_body.unwrap_or_default(),
            sent_at: crate::clock::from_ms(r.sent_at).to_rfc3339(),
        })
        .collect();
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(Outbox { messages }))
}
