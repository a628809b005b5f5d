//! `/console/`: the marketing team's console, plain HTML/CSS/JS modules embedded in the
//! binary. It talks to the staff API like any client; its refresh token lives in an
//! HttpOnly cookie (see `auth`), its access token only in the page's memory.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};

use crate::http::assets::Asset;
use crate::http::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(bare).service(index).service(file);
}

/// No inline script or style, nothing from elsewhere, never framed.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                       img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

struct Files {
    index: Asset,
    js: Asset,
    css: Asset,
}

fn files() -> &'static Files {
    static FILES: OnceLock<Files> = OnceLock::new();
    FILES.get_or_init(|| Files {
        index: Asset::new(include_bytes!("../../widget/console/index.html"), "text/html; charset=utf-8"),
        js: Asset::new(include_bytes!("../../widget/console/console.js"), "text/javascript; charset=utf-8"),
        css: Asset::new(include_bytes!("../../widget/console/console.css"), "text/css; charset=utf-8"),
    })
}

/// Revalidated on every load (a new binary serves a new console at once).
fn headers(res: &mut actix_web::HttpResponseBuilder) {
    res.insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header(("Cross-Origin-Opener-Policy", "same-origin"))
        .insert_header(("Cross-Origin-Resource-Policy", "same-origin"));
}

/// `/console` → `/console/`.
#[utoipa::path(tag = "ops", responses((status = 308, description = "to `/console/`")))]
#[get("/console")]
async fn bare() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/console/")).finish()
}

/// The console's page.
#[utoipa::path(
    tag = "ops",
    params(("If-None-Match" = Option<String>, Header)),
    responses((status = 200, content_type = "text/html", body = String), (status = 304, description = "unchanged"))
)]
#[get("/console/")]
async fn index(req: HttpRequest) -> HttpResponse {
    files().index.respond(&req, headers)
}

/// The console's script and style sheet.
#[utoipa::path(
    tag = "ops",
    params(("file" = String, Path, description = "`console.js` or `console.css`"), ("If-None-Match" = Option<String>, Header)),
    responses(
        (status = 200, content_type = "text/javascript", body = String, description = "the file (brotli or gzip when accepted)"),
        (status = 304, description = "unchanged"),
        (status = 404, body = crate::http::errors::Problem)
    )
)]
#[get("/console/{file}")]
async fn file(req: HttpRequest, name: web::Path<String>) -> crate::error::Result<HttpResponse> {
    let asset = match name.as_str() {
        "console.js" => &files().js,
        "console.css" => &files().css,
        other => return Err(crate::error::Error::NotFound(format!("console file {other}"))),
    };
    Ok(asset.respond(&req, headers))
}
