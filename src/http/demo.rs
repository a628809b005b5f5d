//! `/demo`: the demo shop's product pages with the live widget, as a vendor would embed it,
//! and a demo checkout that starts the review loop (`POST /demo/order`).

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::app::State;
use crate::demo::{DemoOrder, DemoProduct, Placed};
use crate::error::{Error, Result};
use crate::http::html::esc;
use crate::http::{Problem, ServiceConfig};
use crate::store::demo::DemoSite;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(demo);
    cfg.service(order);
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}\
header{background:#1f2328;color:#fff;padding:.75rem 1.25rem;display:flex;flex-wrap:wrap;gap:.5rem 1.25rem;align-items:center}\
header a{color:#fff}header a[aria-current]{font-weight:700;text-decoration:none}header nav{display:flex;gap:1rem}footer{max-width:60rem;margin:0 auto;padding:0 1.25rem 2rem}\
main{max-width:60rem;margin:0 auto;padding:1.25rem}\
.product{display:grid;gap:1.25rem;grid-template-columns:minmax(0,1fr);background:#fff;border:1px solid #d1d9e0;border-radius:12px;padding:1.25rem}\
@media(min-width:720px){.product{grid-template-columns:minmax(0,1fr) minmax(0,1fr)}}.photo{aspect-ratio:4/3;border-radius:8px;\
background:linear-gradient(135deg,#f3e3c3,#c89b5d)}.photo.shade{background:linear-gradient(135deg,#f4f1ea,#b9ad95)}\
h1{margin:.25rem 0}.price{font-size:1.5rem;font-weight:700}\
form.buy{border-top:1px solid #d1d9e0;margin-top:1rem;padding-top:.5rem}form.buy h2{font-size:1.1rem;margin:.5rem 0}\
label{display:block;font-weight:600;margin:.75rem 0 .25rem}input{box-sizing:border-box;width:100%;font:inherit;\
padding:.6rem;border:1px solid #8c959f;border-radius:6px;min-height:44px}button{font:inherit;font-weight:600;\
margin-top:1rem;min-height:44px;padding:.6rem 1.2rem;border:0;border-radius:6px;background:#0969da;color:#fff;cursor:pointer}\
.note{color:#59636e;font-size:.9rem}.error{color:#b3261e;font-weight:600}.done{background:#fff;border:1px solid #d1d9e0;\
border-radius:12px;padding:1.25rem}.done li{margin:.4rem 0}\
pre{background:#fff;border:1px solid #d1d9e0;border-radius:8px;padding:1rem;overflow:auto}section{margin-top:1.5rem}\
truview-reviews:not(:defined){display:block;min-height:40rem}truview-badge:not(:defined){display:block;min-height:1.5rem}\
.product truview-badge,.product truview-badge:not(:defined){display:block;min-height:3rem}";

/// The pages post the demo checkout to this origin and load the widget from it.
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn respond(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    crate::http::html::headers(&mut res, CSP);
    res.body(crate::http::html::page("en", title, CSS, body))
}

#[derive(Deserialize, IntoParams)]
pub struct DemoQuery {
    /// Which of the demo shop's products the page shows (default: the desk lamp).
    #[param(pattern = "^(LAMP-OAK|SHADE-LIN)$")]
    pub product: Option<String>,
}

/// A page of the demo shop: a product with its badge, the demo checkout and the live
/// widget (404 when the database has no demo shop: `truview demo` makes one).
#[utoipa::path(tag = "ops", params(DemoQuery), responses((status = 200, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 422, content_type = "text/html", body = String)))]
#[get("/demo")]
async fn demo(state: State, req: HttpRequest, query: web::Query<DemoQuery>) -> Result<HttpResponse> {
    let Some(site) = state.db.run(crate::store::demo::get).await? else {
        return Ok(no_demo());
    };
    let product = match DemoProduct::find(query.product.as_deref().unwrap_or(&site.sku)) {
        Ok(p) => p,
        Err(e) => return Ok(respond(StatusCode::UNPROCESSABLE_ENTITY, "Demo Shop", &problem_body(&e))),
    };
    let checkout = Checkout { open: state.settings.demo && state.mailer.is_outbox(), ..Checkout::default() };
    Ok(respond(
        StatusCode::OK,
        &format!("{} · Demo Shop", product.name),
        &shop_page(&state, &req, &site, product, &checkout),
    ))
}

fn no_demo() -> HttpResponse {
    respond(
        StatusCode::NOT_FOUND,
        "TruView demo",
        "<main><h1>No demo shop here</h1><p>This server has no demo shop. Run <code>truview demo</code>, \
         or start <code>truview serve</code> on an empty SQLite database.</p></main>",
    )
}

fn problem_body(e: &Error) -> String {
    format!(
        "<main><h1>Demo Shop</h1><p class=\"error\" role=\"alert\">{}</p></main>",
        esc(&crate::http::page_words::detail_en(e))
    )
}

/// The checkout form's state: whether it takes orders, what was typed, what went wrong.
#[derive(Default)]
struct Checkout {
    open: bool,
    email: String,
    phone: String,
    error: Option<String>,
}

fn shop_page(state: &State, req: &HttpRequest, site: &DemoSite, product: &DemoProduct, checkout: &Checkout) -> String {
    let script = crate::http::widget::versioned_path();
    let (pk, sku) = (esc(&site.publishable_key), esc(product.sku));
    let nav: String = crate::demo::PRODUCTS
        .iter()
        .map(|p| {
            let current = if p.sku == product.sku { " aria-current=\"page\"" } else { "" };
            format!("<a href=\"/demo?product={}\"{current}>{}</a>", esc(p.sku), esc(p.name))
        })
        .collect();
    let photo = if product.sku == crate::demo::DEMO_SKU { "photo" } else { "photo shade" };
    let buy = if checkout.open {
        let error = checkout
            .error
            .as_deref()
            .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", esc(e)))
            .unwrap_or_default();
        format!(
            "<form class=\"buy\" method=\"post\" action=\"/demo/order\"><h2>Try the review loop</h2>\
             <p class=\"note\">Place a demo order: the shop's invitation to review it arrives in the \
             <a href=\"/dev/mailbox\">development mailbox</a> within seconds. Nothing is sent to the address.</p>{error}\
             <input type=\"hidden\" name=\"sku\" value=\"{sku}\">\
             <label for=\"email\">E-mail</label><input id=\"email\" name=\"email\" type=\"email\" required maxlength=\"254\" \
             autocomplete=\"email\" value=\"{email}\" placeholder=\"you@example.com\">\
             <label for=\"phone\">Phone (optional: a code to it makes a level-5 review)</label><input id=\"phone\" name=\"phone\" \
             type=\"tel\" maxlength=\"32\" autocomplete=\"tel\" value=\"{phone}\" placeholder=\"+44 7400 123456\">\
             <button type=\"submit\">Buy (demo order)</button></form>",
            email = esc(&checkout.email),
            phone = esc(&checkout.phone),
        )
    } else {
        String::new()
    };
    format!(
        "<header><strong>Demo Shop</strong><nav aria-label=\"Products\">{nav}</nav>\
         </header><main>\
         <div class=\"product\"><div class=\"{photo}\" role=\"img\" aria-label=\"{name}\"></div><div>\
         <h1>{name}</h1><truview-badge data-key=\"{pk}\" data-sku=\"{sku}\"></truview-badge>\
         <p class=\"price\">€{price}</p><p>{text}</p>{buy}</div></div>\
         <section><h2>Reviews</h2><truview-reviews data-key=\"{pk}\" data-sku=\"{sku}\"></truview-reviews></section>\
         <section><h2>Embed it on your shop</h2><pre>&lt;script src=\"{origin}{script_esc}\" defer&gt;&lt;/script&gt;\n\
         &lt;style&gt;truview-reviews:not(:defined){{display:block;min-height:40rem}}&lt;/style&gt;\n\
         &lt;truview-reviews data-key=\"{pk}\" data-sku=\"{sku}\"&gt;&lt;/truview-reviews&gt;</pre></section></main>\
         <footer><h2>Reviews of the shop</h2><truview-badge data-key=\"{pk}\"></truview-badge></footer>\
         <script src=\"{script_esc}\" defer></script>",
        name = esc(product.name),
        price = esc(product.price),
        text = esc(product.text),
        origin = esc(&crate::http::public_base(state, req)),
        script_esc = esc(&script),
    )
}

#[derive(Deserialize, ToSchema)]
pub struct DemoOrderForm {
    /// Where the invitation is addressed (it lands in the development mailbox).
    #[schema(min_length = 1, max_length = 254)]
    pub email: String,
    /// A phone in international form, for the level-5 step (optional).
    #[schema(max_length = 32)]
    pub phone: Option<String>,
    /// The product bought (default: the desk lamp).
    #[schema(pattern = "^(LAMP-OAK|SHADE-LIN)$")]
    pub sku: Option<String>,
}

/// The demo checkout: places a delivered order for the demo shop, whose running funnel
/// invites the buyer at once (the e-mail lands in `/dev/mailbox`). Only while the demo is
/// on and mail goes to the development outbox (404 otherwise); from the demo's own origin
/// (403 for another); at most 20 orders per client address per day (429); a bad e-mail,
/// phone or product is the page again with the reason (422).
#[utoipa::path(tag = "ops", request_body(content = DemoOrderForm, content_type = "application/x-www-form-urlencoded"), responses((status = 200, content_type = "text/html", body = String), (status = 400, body = Problem), (status = 403, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String), (status = 415, body = Problem), (status = 422, content_type = "text/html", body = String), (status = 429, content_type = "text/html", body = String)))]
#[post("/demo/order")]
async fn order(state: State, req: HttpRequest, form: web::Form<DemoOrderForm>) -> Result<HttpResponse> {
    let form = form.into_inner();
    let sku = form.sku.clone().unwrap_or_else(|| crate::demo::DEMO_SKU.to_owned());
    let placed = async {
        let mut from = crate::http::public::public_write(&req)?;
        // Pages here send no referrer (T11), so a browser posting the form says `Origin:
        // null`: that tells nothing, as no header does; a named foreign origin is refused.
        if from.origin.as_deref() == Some("null") {
            from.origin = None;
        }
        let input = DemoOrder { email: form.email.clone(), phone: form.phone.clone(), sku: sku.clone() };
        crate::demo::place_order(&state, input, from).await
    };
    match placed.await {
        Ok(placed) => {
            Ok(respond(StatusCode::OK, "Order placed · Demo Shop", &placed_page(&placed, form.phone.as_deref())))
        }
        Err(Error::Internal(e)) => Err(Error::Internal(e)),
        Err(e) => {
            let status = actix_web::ResponseError::status_code(&e);
            let site = state.db.run(crate::store::demo::get).await?;
            let (Some(site), Ok(product), true) = (site, DemoProduct::find(&sku), status != StatusCode::NOT_FOUND)
            else {
                return Ok(match status {
                    StatusCode::NOT_FOUND => no_demo(),
                    _ => respond(status, "Demo Shop", &problem_body(&e)),
                });
            };
            let checkout = Checkout {
                open: true,
                email: form.email,
                phone: form.phone.unwrap_or_default(),
                error: Some(crate::http::page_words::detail_en(&e)),
            };
            let mut res = respond(status, "Demo Shop", &shop_page(&state, &req, &site, product, &checkout));
            if let Error::RateLimited { retry_after } = &e {
                let secs = retry_after.as_secs().max(1).to_string();
                if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&secs) {
                    res.headers_mut().insert(actix_web::http::header::RETRY_AFTER, value);
                }
            }
            Ok(res)
        }
    }
}

/// What to do next, after a demo order.
fn placed_page(placed: &Placed, phone: Option<&str>) -> String {
    let phone_step = if phone.is_some_and(|p| !p.trim().is_empty()) {
        "<li>For a level-5 review (verified buyer), choose <em>Text me a code</em>: the code is in the \
         development mailbox too.</li>"
    } else {
        ""
    };
    format!(
        "<header><strong>Demo Shop</strong></header><main><div class=\"done\">\
         <h1>Thank you for your order {order}</h1><p>{name}, delivered at once (it is a demo).</p>\
         <ol><li>Open the <a href=\"/dev/mailbox\">development mailbox</a>: the shop's invitation to review \
         the {name} arrives within a few seconds.</li>\
         <li>Click a star in the e-mail: the review page opens with that rating chosen.</li>{phone_step}\
         <li>Send the review, then publish it in the <a href=\"/console/\">console</a> (the owner's login is \
         printed by <code>truview serve</code>).</li>\
         <li>See it in the widget on <a href=\"/demo?product={sku}\">the product's page</a>, with its level.</li></ol>\
         </div></main>",
        order = esc(&placed.order_ref),
        name = esc(placed.product.name),
        sku = esc(placed.product.sku),
    )
}
