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
    /// The whole cause, for logs and job records (the public text of some kinds is generic:
    /// "service unavailable" hides which gateway said what).
    pub fn cause(&self) -> String {
        match self {
            Error::Unavailable(m) | Error::Unauthorized(m) => m.clone(),
            other => other.to_string(),
        }
    }

    pub fn validation(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Error::Validation { field: field.into(), detail: detail.into() }
    }

    /// A bad value in the query string is a 400 like every other query problem (bodies
    /// give 422 with `field`); the message still names the parameter.
    pub fn into_query_error(self) -> Self {
        match self {
            Error::Validation { field, detail } => Error::BadRequest(format!("{field} {detail}")),
            other => other,
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound(what.into())
    }

    pub fn internal(msg: impl std::fmt::Display) -> Self {
        Error::Internal(anyhow::anyhow!("{msg}"))
    }

    /// A task on the blocking pool that panicked or was cancelled (`what`: "decoding", …).
    pub fn task_failed(what: &str, e: impl std::fmt::Display) -> Self {
        Error::internal(format!("{what} task failed: {e}"))
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
            D::DatabaseError(DatabaseErrorKind::Unknown, info) if is_bad_text_encoding(info.message()) => {
                Error::BadRequest("the input contains characters the service does not accept".into())
            }
            D::InvalidCString(_) => {
                Error::BadRequest("the input contains characters the service does not accept".into())
            }
            D::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => lost_conflict(info.message()),
            D::DatabaseError(DatabaseErrorKind::Unknown, info) if is_transient_conflict(info.message()) => {
                lost_conflict(info.message())
            }
            other => Error::Internal(anyhow::Error::new(other).context("database")),
        }
    }
}

/// PostgreSQL's SQLSTATE 22021 (`character_not_in_repertoire`: U+0000 in text) and
/// 22P05 (`untranslatable_character`: `\u0000` in JSON). diesel 2.3 does not expose the
/// SQLSTATE of errors it does not classify, so the server's message identifies them. The
/// edge refuses such input first (typed ids, cursors, text fields); this is the backstop
/// that keeps a missed field a 400 instead of a 500 (M4).
fn is_bad_text_encoding(message: &str) -> bool {
    message.contains("invalid byte sequence for encoding") || message.contains("unsupported Unicode escape sequence")
}

/// A transaction that lost to another and was rolled back: PostgreSQL's deadlock victim
/// (SQLSTATE 40P01, which diesel does not classify, so its message is matched: the server's
/// messages must be in English, as for `is_bad_text_encoding`) and SQLite's writer that
/// waited out its busy timeout. The answer is a 503 to retry, not a 500.
fn is_transient_conflict(message: &str) -> bool {
    message.starts_with("deadlock detected") || message.starts_with("database is locked")
}

fn lost_conflict(message: &str) -> Error {
    // The transaction was rolled back whole: the same request again can succeed.
    tracing::warn!(error = message, "a transaction lost a conflict with another; answered 503");
    Error::Unavailable("the request conflicted with a concurrent change and was not applied; retry it".into())
}

impl From<diesel::r2d2::PoolError> for Error {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(error = %e, "database pool exhausted");
        Error::Unavailable("the database is busy; retry shortly".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Info(&'static str);

    impl diesel::result::DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn unknown(message: &'static str) -> Error {
        let kind = diesel::result::DatabaseErrorKind::Unknown;
        Error::from(diesel::result::Error::DatabaseError(kind, Box::new(Info(message))))
    }

    #[test]
    fn m4_postgres_encoding_errors_are_bad_requests() {
        assert!(matches!(unknown("invalid byte sequence for encoding \"UTF8\": 0x00"), Error::BadRequest(_)));
        assert!(matches!(unknown("unsupported Unicode escape sequence"), Error::BadRequest(_)));
        assert!(matches!(unknown("relation \"reviews\" does not exist"), Error::Internal(_)));
    }

    #[test]
    fn a_transaction_that_lost_a_conflict_is_a_retry_not_an_internal_error() {
        let retry = "the request conflicted with a concurrent change and was not applied; retry it";
        for lost in [unknown("deadlock detected"), unknown("database is locked")] {
            assert!(matches!(&lost, Error::Unavailable(m) if m == retry), "{lost:?}");
        }
        let kind = diesel::result::DatabaseErrorKind::SerializationFailure;
        let serialization = Error::from(diesel::result::Error::DatabaseError(
            kind,
            Box::new(Info("could not serialize access due to concurrent update")),
        ));
        assert!(matches!(&serialization, Error::Unavailable(m) if m == retry), "{serialization:?}");
        assert!(matches!(unknown("something else entirely"), Error::Internal(_)));
    }
}
