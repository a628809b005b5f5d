//! Server-rendered pages (the demo shop, the sign-in result): one shell, one escaper, one
//! set of security headers.

use actix_web::http::header;
use actix_web::HttpResponseBuilder;

/// Text for an HTML text node or a double-quoted attribute.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// A whole page: `title` is escaped here, `body` must already be markup.
pub fn page(lang: &str, title: &str, css: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width,initial-scale=1\"><title>{title}</title><style>{css}</style></head><body>{body}</body></html>",
        lang = esc(lang),
        title = esc(title),
    )
}

/// HTML, never cached, never sniffed, no referrer, under `csp`.
pub fn headers<'a>(res: &'a mut HttpResponseBuilder, csp: &str) -> &'a mut HttpResponseBuilder {
    res.content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, csp.to_owned()))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
}
