//! The embeddable widget script, served from the binary: gzip chosen by `Accept-Encoding`,
//! a strong ETag, and a year-long immutable cache for the versioned URL.

use std::io::Write;
use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(script);
}

static SOURCE: &[u8] = include_bytes!("../../widget/truview.js");

struct Asset {
    etag: String,
    version: String,
    gzip: Vec<u8>,
}

fn asset() -> &'static Asset {
    static ASSET: OnceLock<Asset> = OnceLock::new();
    ASSET.get_or_init(|| {
        use sha2::Digest;
        let digest = hex::encode(sha2::Sha256::digest(SOURCE));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let gzip = gz.write_all(SOURCE).and_then(|_| gz.finish()).unwrap_or_default();
        Asset { etag: format!("\"{}\"", &digest[..32]), version: digest[..12].to_owned(), gzip }
    })
}

/// The script's versioned path, for pages the service renders itself.
pub fn versioned_path() -> String {
    format!("/widget/v1/truview.js?v={}", asset().version)
}

/// The gzipped size (the widget's budget is 10 KB).
pub fn gzipped_len() -> usize {
    asset().gzip.len()
}

#[derive(Deserialize, IntoParams)]
pub struct ScriptQuery {
    /// The version the page was built with (any value is accepted, as caches and pages add
    /// their own): the current one is cached for a year, anything else for 5 minutes.
    pub v: Option<String>,
}

fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers().get_all(header::ACCEPT_ENCODING).filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |part| {
            let mut it = part.split(';');
            let coding = it.next().unwrap_or_default().trim();
            let q_zero = it.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !q_zero
        },
    )
}

/// The widget script (`<truview-reviews>` and `<truview-badge>`).
#[utoipa::path(
    tag = "public",
    params(ScriptQuery, ("If-None-Match" = Option<String>, Header)),
    responses(
        (status = 200, content_type = "text/javascript", body = String, description = "the script (gzip when accepted)"),
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
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == a.etag || t.trim() == "*"));
    let mut res = if unchanged { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    res.insert_header((header::ETAG, a.etag.clone()))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header(("Cross-Origin-Resource-Policy", "cross-origin"))
        .content_type("text/javascript; charset=utf-8");
    if unchanged {
        return res.finish();
    }
    if accepts_gzip(&req) {
        res.insert_header((header::CONTENT_ENCODING, "gzip")).body(a.gzip.clone())
    } else {
        res.body(SOURCE)
    }
}
