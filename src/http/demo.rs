//! `/demo`: a product page of the demo shop with the live widget, as a vendor would embed it.

use actix_web::{get, HttpResponse};

use crate::app::State;
use crate::error::Result;
use crate::http::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(demo);
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}\
header{background:#1f2328;color:#fff;padding:.75rem 1.25rem}main{max-width:60rem;margin:0 auto;padding:1.25rem}\
.product{display:grid;gap:1.25rem;grid-template-columns:1fr;background:#fff;border:1px solid #d1d9e0;border-radius:12px;padding:1.25rem}\
@media(min-width:720px){.product{grid-template-columns:1fr 1fr}}.photo{aspect-ratio:4/3;border-radius:8px;\
background:linear-gradient(135deg,#f3e3c3,#c89b5d)}h1{margin:.25rem 0}.price{font-size:1.5rem;font-weight:700}\
pre{background:#fff;border:1px solid #d1d9e0;border-radius:8px;padding:1rem;overflow:auto}section{margin-top:1.5rem}\
truview-reviews:not(:defined){display:block;min-height:40rem}truview-badge:not(:defined){display:block;min-height:1.5rem}";

fn page(title: &str, body: String) -> String {
    crate::http::html::page("en", title, CSS, &body)
}

use crate::http::html::esc;

/// The demo shop's product page with the live widget (404 when the database has no demo
/// shop: `truview demo` makes one).
#[utoipa::path(tag = "ops", responses((status = 200, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String)))]
#[get("/demo")]
async fn demo(state: State, req: actix_web::HttpRequest) -> Result<HttpResponse> {
    let site = state.db.run(crate::store::demo::get).await?;
    let csp = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; \
               img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    let mut res = match &site {
        Some(_) => HttpResponse::Ok(),
        None => HttpResponse::NotFound(),
    };
    crate::http::html::headers(&mut res, csp);
    let Some(site) = site else {
        return Ok(res.body(page(
            "TruView demo",
            "<main><h1>No demo shop here</h1><p>This server has no demo shop. Run <code>truview demo</code>, \
             or start <code>truview serve</code> on an empty SQLite database.</p></main>"
                .into(),
        )));
    };
    let script = crate::http::widget::versioned_path();
    let (pk, sku) = (esc(&site.publishable_key), esc(&site.sku));
    let body = format!(
        "<header>Demo Shop · a shop page with the TruView widget</header><main>\
         <div class=\"product\"><div class=\"photo\" role=\"img\" aria-label=\"Oak desk lamp\"></div><div>\
         <h1>Oak Desk Lamp</h1><truview-badge data-key=\"{pk}\" data-sku=\"{sku}\"></truview-badge>\
         <p class=\"price\">€49.90</p><p>Solid oak base, linen shade, warm 2700 K light.</p></div></div>\
         <section><h2>Reviews</h2><truview-reviews data-key=\"{pk}\" data-sku=\"{sku}\"></truview-reviews></section>\
         <section><h2>Embed it on your shop</h2><pre>&lt;script src=\"{origin}{script_esc}\" defer&gt;&lt;/script&gt;\n\
         &lt;style&gt;truview-reviews:not(:defined){{display:block;min-height:40rem}}&lt;/style&gt;\n\
         &lt;truview-reviews data-key=\"{pk}\" data-sku=\"{sku}\"&gt;&lt;/truview-reviews&gt;</pre></section></main>\
         <script src=\"{script_esc}\" defer></script>",
        origin = esc(&crate::http::public_base(&state, &req)),
        script_esc = esc(&script),
    );
    Ok(res.body(page("Oak Desk Lamp · Demo Shop", body)))
}
