//! The embeddable widget script, served from the binary: brotli or gzip chosen by
//! `Accept-Encoding`, a strong ETag, and a year-long immutable cache for the versioned URL.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::http::assets::Asset;
use crate::http::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(script);
}

static SOURCE: &[u8] = include_bytes!("../../widget/truview.js");

fn asset() -> &'static Asset {
    static ASSET: OnceLock<Asset> = OnceLock::new();
    ASSET.get_or_init(|| Asset::new(SOURCE, "text/javascript; charset=utf-8"))
}

/// The script's versioned path, for pages the service renders itself.
pub fn versioned_path() -> String {
    format!("/widget/v1/truview.js?v={}", asset().version)
}

/// The gzipped size (the widget's budget is 10 KB).
pub fn gzipped_len() -> usize {
    asset().gzipped_len()
}

/// The brotli-compressed size.
pub fn brotli_len() -> usize {
    asset().brotli_len()
}

#[derive(Deserialize, IntoParams)]
pub struct ScriptQuery {
    /// The version the page was built with (any value is accepted, as caches and pages add
    /// their own): the current one is cached for a year, anything else for 5 minutes.
    pub v: Option<String>,
}

/// The widget script (`<truview-reviews>` and `<truview-badge>`).
#[utoipa::path(
    tag = "public",
    params(ScriptQuery, ("If-None-Match" = Option<String>, Header)),
    responses(
        (status = 200, content_type = "text/javascript", body = String, description = "the script (brotli or gzip when accepted)"),
        (status = 304, description = "unchanged")
    )
)]
#[get("/widget/v1/truview.js")]
async fn script(req: HttpRequest, query: web::Query<ScriptQuery>) -> HttpResponse {
    let a = asset();
    let cache = if query.v.as_deref() == Some(a.version.as_str()) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    a.respond(&req, |res| {
        res.insert_header((header::CACHE_CONTROL, cache))
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .insert_header(("Cross-Origin-Resource-Policy", "cross-origin"));
    })
}
