//! RFC 9457 problem+json for every error, including actix's own extractor and routing
//! errors: bad input is a 4xx with a stable `type`, never a 5xx.

use actix_web::http::{header, StatusCode};
use actix_web::{error, HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::Error;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem, e.g. `urn:truview:problem:validation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The offending input field, for validation problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("urn:truview:problem:{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
        }
    }

    pub fn response(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(self)
    }
}

impl Error {
    fn slug(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad-request",
            Error::Validation { .. } => "validation",
            Error::Unauthorized(_) => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not-found",
            Error::Conflict(_) => "conflict",
            Error::PayloadTooLarge(_) => "payload-too-large",
            Error::UnsupportedMediaType(_) => "unsupported-media-type",
            Error::RateLimited { .. } => "rate-limited",
            Error::Unavailable(_) => "unavailable",
            Error::Internal(_) => "internal",
        }
    }

    fn problem(&self) -> Problem {
        let detail = match self {
            Error::BadRequest(d)
            | Error::Forbidden(d)
            | Error::Conflict(d)
            | Error::PayloadTooLarge(d)
            | Error::UnsupportedMediaType(d)
            | Error::Unauthorized(d)
            | Error::Unavailable(d) => d.clone(),
            Error::Validation { field, detail } => format!("{field} {detail}"),
            Error::NotFound(what) => format!("{what} not found"),
            Error::RateLimited { retry_after } => {
                format!("too many requests; retry after {} s", retry_after.as_secs().max(1))
            }
            Error::Internal(_) => "an internal error occurred; it has been logged".into(),
        };
        let mut problem = Problem::new(self.status_code(), self.slug(), detail);
        if let Error::Validation { field, .. } = self {
            problem.field = Some(field.clone());
        }
        problem
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Error::Internal(cause) = self {
            tracing::error!(error = ?cause, "internal error");
        }
        let mut response = self.problem().response();
        if let Error::RateLimited { retry_after } = self {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            if let Ok(value) = header::HeaderValue::from_str(&secs.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// JSON body errors: wrong content type 415, too large 413, syntax 400, shape 422.
pub fn json_error(err: error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use error::JsonPayloadError as J;
    let e = match &err {
        J::ContentType => Error::UnsupportedMediaType("expected Content-Type: application/json".into()),
        J::Overflow { limit } | J::OverflowKnownLength { limit, .. } => {
            Error::PayloadTooLarge(format!("the JSON body exceeds {limit} bytes"))
        }
        J::Deserialize(de) if de.is_data() => Error::Validation { field: "body".into(), detail: data_error(de) },
        J::Deserialize(de) => Error::BadRequest(format!("malformed JSON: {de}")),
        J::Payload(error::PayloadError::Overflow) => Error::PayloadTooLarge("the body is too large".into()),
        other => Error::BadRequest(format!("cannot read the body: {other}")),
    };
    e.into()
}

fn data_error(de: &serde_json::Error) -> String {
    // serde's message names the field and the expected type, without echoing the input.
    format!("does not match the expected shape: {de}")
}

pub fn query_error(err: error::QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    Error::BadRequest(format!("invalid query string: {err}")).into()
}

pub fn path_error(err: error::PathError, _req: &HttpRequest) -> actix_web::Error {
    Error::BadRequest(format!("invalid path parameter: {err}")).into()
}

pub fn form_error(err: error::UrlencodedError, _req: &HttpRequest) -> actix_web::Error {
    use error::UrlencodedError as U;
    match err {
        U::ContentType => Error::UnsupportedMediaType("expected application/x-www-form-urlencoded".into()),
        U::Overflow { .. } => Error::PayloadTooLarge("the form body is too large".into()),
        other => Error::BadRequest(format!("invalid form body: {other}")),
    }
    .into()
}

pub fn payload_error(err: error::PayloadError) -> Error {
    match err {
        error::PayloadError::Overflow => Error::PayloadTooLarge("the body is too large".into()),
        other => Error::BadRequest(format!("cannot read the body: {other}")),
    }
}
