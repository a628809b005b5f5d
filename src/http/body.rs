//! `Json<T>`: the JSON body extractor every handler uses instead of `web::Json<T>`.
//!
//! serde's derived `Deserialize` for a struct also accepts a JSON *array*, matched to the
//! fields by position, so `["Renamed", null]` would rename a vendor. This extractor reads
//! the body as JSON (limits, content type and syntax errors as `web::Json` does: 413, 415,
//! 400), refuses anything but an object with a 422, and then decodes the object, so every
//! well-formed body that does not fit — a wrong-typed enum included — is a 422 naming the
//! problem without echoing the caller's input.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::error::Error;

pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let value = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let web::Json(value) = value.await?;
            Ok(Json(decode(value)?))
        })
    }
}

/// Decodes a parsed body: objects only, shape errors as 422 on `body`.
pub fn decode<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    if !value.is_object() {
        return Err(Error::validation("body", "must be a JSON object"));
    }
    serde_json::from_value(value).map_err(|e| Error::validation("body", shape_error(&e.to_string())))
}

/// serde's message without the caller's input: quoted strings and backticked variants
/// are elided, the field names and expected types are kept.
pub fn shape_error(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(['"', '`']) {
        let quote = rest[start..].chars().next().unwrap_or('"');
        out.push_str(&rest[..start]);
        match rest[start + 1..].find(quote) {
            Some(len) => {
                // Field names (`name`) and expected variants are the server's own words.
                let inner = &rest[start + 1..start + 1 + len];
                let ours = quote == '`' && out.contains("expected");
                out.push_str(if ours || out.ends_with("field ") { inner } else { "…" });
                rest = &rest[start + 1 + len + 1..];
            }
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    format!("does not match the expected shape: {out}")
}

/// Reads a raw body of at most `max` bytes (a larger declared or sent length is `too_large`).
pub async fn bytes_up_to(
    req: &HttpRequest,
    mut payload: web::Payload,
    max: usize,
    too_large: fn() -> Error,
) -> Result<web::BytesMut, Error> {
    use futures_util::StreamExt as _;
    if req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|n| n > max as u64)
    {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| Error::BadRequest(format!("the request body could not be read: {e}")))?;
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Named {
        name: String,
        level: Option<i32>,
    }

    #[test]
    fn arrays_and_scalars_are_refused_objects_decoded() {
        let err = decode::<Named>(serde_json::json!(["Renamed", null])).unwrap_err();
        assert_eq!(err.to_string(), "must be a JSON object");
        assert!(decode::<Named>(serde_json::json!(5)).is_err());
        let ok: Named = decode(serde_json::json!({"name": "x", "level": 2})).unwrap();
        assert_eq!(ok.level, Some(2));
    }

    #[test]
    fn shape_errors_do_not_echo_input() {
        let err = decode::<Named>(serde_json::json!({"name": 5})).unwrap_err();
        assert_eq!(err.to_string(), "does not match the expected shape: invalid type: integer …, expected a string");
        let err = decode::<Named>(serde_json::json!({"name": "x", "level": "<script>"})).unwrap_err();
        assert_eq!(err.to_string(), "does not match the expected shape: invalid type: string …, expected i32");
        let err = decode::<Named>(serde_json::json!({})).unwrap_err();
        assert_eq!(err.to_string(), "does not match the expected shape: missing field name");
    }
}
