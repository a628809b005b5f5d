//! Files embedded in the binary (the widget, the console): compressed once on first use
//! (brotli and gzip, chosen by `Accept-Encoding`), with a strong ETag.

use std::io::Write;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};

pub struct Asset {
    pub etag: String,
    /// The first 12 hex digits of the content's SHA-256, for versioned URLs.
    pub version: String,
    content_type: &'static str,
    raw: &'static [u8],
    gzip: Vec<u8>,
    brotli: Vec<u8>,
}

impl Asset {
    pub fn new(raw: &'static [u8], content_type: &'static str) -> Asset {
        use sha2::Digest;
        let digest = hex::encode(sha2::Sha256::digest(raw));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let gzip = gz.write_all(raw).and_then(|_| gz.finish()).unwrap_or_default();
        let mut brotli = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut brotli, 4096, 11, 22);
            let _ = w.write_all(raw);
        }
        Asset {
            etag: format!("\"{}\"", &digest[..32]),
            version: digest[..12].to_owned(),
            content_type,
            raw,
            gzip,
            brotli,
        }
    }

    pub fn gzipped_len(&self) -> usize {
        self.gzip.len()
    }

    pub fn brotli_len(&self) -> usize {
        self.brotli.len()
    }

    /// The asset for `req`: 304 when `If-None-Match` names it, else the best encoding the
    /// client accepts. `extra` adds the caller's headers (cache policy, CORS, CSP).
    pub fn respond(&self, req: &HttpRequest, extra: impl FnOnce(&mut HttpResponseBuilder)) -> HttpResponse {
        let unchanged = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == self.etag || t.trim() == "*"));
        let mut res = if unchanged { HttpResponse::NotModified() } else { HttpResponse::Ok() };
        res.insert_header((header::ETAG, self.etag.clone()))
            .insert_header((header::VARY, "Accept-Encoding"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .content_type(self.content_type);
        extra(&mut res);
        if unchanged {
            return res.finish();
        }
        if accepts(req, "br") && !self.brotli.is_empty() {
            res.insert_header((header::CONTENT_ENCODING, "br")).body(self.brotli.clone())
        } else if accepts(req, "gzip") && !self.gzip.is_empty() {
            res.insert_header((header::CONTENT_ENCODING, "gzip")).body(self.gzip.clone())
        } else {
            res.body(self.raw)
        }
    }
}

/// Whether `Accept-Encoding` allows `coding` (by name or `*`, with a non-zero q).
fn accepts(req: &HttpRequest, coding: &str) -> bool {
    req.headers().get_all(header::ACCEPT_ENCODING).filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |part| {
            let mut it = part.split(';');
            let name = it.next().unwrap_or_default().trim();
            let q_zero = it.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            (name.eq_ignore_ascii_case(coding) || name == "*") && !q_zero
        },
    )
}
