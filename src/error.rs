//! The one error type. Every failure a request can meet ends here and leaves as
//! RFC 9457 problem+json (see `http::errors`).

use std::time::Duration;

/// A problem a caller can act on, or an internal failure whose cause is only logged.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(String),
    #[error("{detail}")]
    Validation { field: String, detail: String },
    #[error("authentication required")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("payload too large")]
    PayloadTooLarge(String),
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    #[error("too many requests")]
    RateLimited { retry_after: Duration },
    #[error("service unavailable")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn validation(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Validation { field: field.into(), detail: detail.into() }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound(what.into())
    }

    pub fn internal(msg: impl std::fmt::Display) -> Self {
        Error::Internal(anyhow::anyhow!("{msg}"))
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as D};
        match e {
            D::NotFound => Error::NotFound("resource".into()),
            D::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                Error::Conflict("a resource with these unique fields already exists".into())
            }
            other => Error::Internal(anyhow::Error::new(other).context("database")),
        }
    }
}

impl From<diesel::r2d2::PoolError> for Error {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(error = %e, "database pool exhausted");
        Error::Unavailable("the database is busy; retry shortly".into())
    }
}
