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

/// Decodes a parsed body: objects only, shape errors as 422 on the field they are about
/// (`rating`, `items[0].sku`; a missing field "is required"), or on `body` when they are
/// about the whole object (an unknown field, which is not echoed).
pub fn decode<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Error> {
    if !value.is_object() {
        return Err(Error::validation("body", "must be a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let message = e.inner().to_string();
        // An unknown field is reported on the object that holds it: its name is the
        // caller's input, not echoed.
        let segments: Vec<_> = e.path().iter().collect();
        let keep = if message.starts_with("unknown field") { segments.len().saturating_sub(1) } else { segments.len() };
        let path = segments[..keep].iter().fold(String::new(), |mut path, segment| {
            use serde_path_to_error::Segment;
            match segment {
                Segment::Seq { index } => path.push_str(&format!("[{index}]")),
                Segment::Map { key } | Segment::Enum { variant: key } => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                }
                Segment::Unknown => path.push_str(if path.is_empty() { "?" } else { ".?" }),
            }
            path
        });
        let at_root = path.is_empty();
        if let Some(missing) = message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
            let field = if at_root { missing.to_owned() } else { format!("{path}.{missing}") };
            return Error::validation(field, "is required");
        }
        Error::validation(if at_root { "body".to_owned() } else { path }, shape_error(&message))
    })
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
                // Missing field names and expected variants are the server's own words (an
                // unknown field's name is the caller's).
                let inner = &rest[start + 1..start + 1 + len];
                let ours = quote == '`' && out.contains("expected");
                out.push_str(if ours || out.ends_with("missing field ") { inner } else { "…" });
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

/// Whether the request's `Content-Length` is above `max` (refused before reading).
fn declares_more_than(req: &HttpRequest, max: usize) -> bool {
    req.headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|n| n > max as u64)
}

/// Reads a raw body of at most `max` bytes (a larger declared or sent length is `too_large`).
pub async fn bytes_up_to(
    req: &HttpRequest,
    mut payload: web::Payload,
    max: usize,
    too_large: fn() -> Error,
) -> Result<web::BytesMut, Error> {
    use futures_util::StreamExt as _;
    if declares_more_than(req, max) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(unreadable)?;
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A request body read as a stream, for bodies too big to hold: its first bytes are kept
/// (to tell its format by), the rest goes to a decoder on the blocking pool as it arrives,
/// through a queue of a few chunks. The limit holds for what is sent, whatever the
/// declared length; the body's SHA-256 is taken on the way.
pub struct Streamed {
    payload: web::Payload,
    head: web::Bytes,
    complete: bool,
    limit: usize,
    too_large: fn() -> Error,
}

/// Chunks in flight between the request and its decoder.
const QUEUE: usize = 8;

impl Streamed {
    /// Reads the first `head_len` bytes (or the whole body when shorter).
    pub async fn start(
        req: &HttpRequest,
        mut payload: web::Payload,
        limit: usize,
        head_len: usize,
        too_large: fn() -> Error,
    ) -> Result<Streamed, Error> {
        use futures_util::StreamExt as _;
        if declares_more_than(req, limit) {
            return Err(too_large());
        }
        let mut head = web::BytesMut::new();
        let mut complete = false;
        while head.len() < head_len {
            let Some(chunk) = payload.next().await else {
                complete = true;
                break;
            };
            head.extend_from_slice(&chunk.map_err(unreadable)?);
            if head.len() > limit {
                return Err(too_large());
            }
        }
        Ok(Streamed { payload, head: head.freeze(), complete, limit, too_large })
    }

    /// The first bytes of the body.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// Whether [`Streamed::head`] is the whole body.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Runs `decode` over the whole body on the blocking pool and answers its result and
    /// the body's SHA-256. A decoder that fails stops the reading; a body past the limit
    /// is `too_large` (the decoder reads an error then).
    pub async fn decode<T: Send + 'static>(
        self,
        decode: impl FnOnce(&mut dyn std::io::Read) -> Result<T, Error> + Send + 'static,
    ) -> Result<(T, [u8; 32]), Error> {
        use futures_util::StreamExt as _;
        use sha2::{Digest, Sha256};
        let Streamed { mut payload, head, complete, limit, too_large } = self;
        let (tx, rx) = tokio::sync::mpsc::channel(QUEUE);
        let task = web::block(move || decode(&mut QueueReader { rx, current: web::Bytes::new() }));
        let mut sha = Sha256::new();
        let mut read = head.len();
        sha.update(&head);
        let mut listening = tx.send(Ok(head)).await.is_ok();
        let mut rest = !complete;
        while rest && listening {
            match payload.next().await {
                None => rest = false,
                Some(Err(e)) => {
                    let _ = tx.send(Err(std::io::Error::other("the request body broke off"))).await;
                    return Err(unreadable(e));
                }
                Some(Ok(chunk)) => {
                    read += chunk.len();
                    if read > limit {
                        let _ = tx.send(Err(std::io::Error::other(crate::kyp::input::TooLarge(limit)))).await;
                        discard(&mut payload, limit).await;
                        return Err(too_large());
                    }
                    sha.update(&chunk);
                    listening = tx.send(Ok(chunk)).await.is_ok();
                }
            }
        }
        drop(tx);
        let value = task.await.map_err(|e| Error::task_failed("decoding", e))??;
        // A decoder that stopped before the end without an error: the rest still counts.
        while rest {
            match payload.next().await {
                None => rest = false,
                Some(chunk) => {
                    let chunk = chunk.map_err(unreadable)?;
                    read += chunk.len();
                    if read > limit {
                        return Err(too_large());
                    }
                    sha.update(&chunk);
                }
            }
        }
        Ok((value, sha.finalize().into()))
    }
}

/// Reads and drops up to `max` more bytes of a body refused for its size. A client that
/// sends the whole body before reading the answer then gets its 413 and the connection
/// closes; left unread, actix-http would try to drain a chunked body itself, and that was
/// seen to hold the connection open until its timeout.
async fn discard(payload: &mut web::Payload, max: usize) {
    use futures_util::StreamExt as _;
    let mut dropped = 0;
    while dropped <= max {
        match payload.next().await {
            Some(Ok(chunk)) => dropped += chunk.len(),
            _ => return,
        }
    }
}

fn unreadable(e: actix_web::error::PayloadError) -> Error {
    Error::BadRequest(format!("the request body could not be read: {e}"))
}

/// The decoder's side of [`Streamed::decode`]'s queue.
struct QueueReader {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<web::Bytes>>,
    current: web::Bytes,
}

impl std::io::Read for QueueReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.current = chunk?,
                None => return Ok(0),
            }
        }
        let n = self.current.len().min(buf.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
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
    fn shape_errors_name_their_field_and_do_not_echo_input() {
        let field_and_detail = |value| match decode::<Named>(value).unwrap_err() {
            Error::Validation { field, detail } => (field, detail),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field_and_detail(serde_json::json!({"name": 5})),
            ("name".into(), "does not match the expected shape: invalid type: integer …, expected a string".into())
        );
        assert_eq!(
            field_and_detail(serde_json::json!({"name": "x", "level": "<script>"})),
            ("level".into(), "does not match the expected shape: invalid type: string …, expected i32".into())
        );
        assert_eq!(field_and_detail(serde_json::json!({})), ("name".into(), "is required".into()));
        let nested = match decode::<Outer>(serde_json::json!({"items": [{"name": "a"}, {"name": []}]})).unwrap_err() {
            Error::Validation { field, .. } => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(nested, "items[1].name");
        // An unknown field: reported on its object, its name not echoed.
        let unknown = match decode::<Outer>(serde_json::json!({"items": [{"name": "a", "<b>": 1}]})).unwrap_err() {
            Error::Validation { field, detail } => (field, detail),
            other => panic!("{other:?}"),
        };
        assert_eq!(unknown.0, "items[0]");
        assert!(!unknown.1.contains("<b>"), "{}", unknown.1);
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Named>,
    }
}
