//! Keyset paging shared by every list: the page-size bound and the next page's cursor.

use crate::error::{Error, Result};

/// A page size within `1..=max` (else 400).
pub fn check_limit(limit: i64, max: i64) -> Result<()> {
    if (1..=max).contains(&limit) {
        Ok(())
    } else {
        Err(Error::BadRequest(format!("limit must be between 1 and {max}")))
    }
}

/// The next page's cursor: the last row's key when the page came back full, else none.
pub fn next_cursor<T>(rows: &[T], limit: i64, key: impl FnOnce(&T) -> String) -> Option<String> {
    (rows.len() as i64 == limit).then(|| rows.last().map(key)).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_cursors() {
        assert!(check_limit(1, 100).is_ok() && check_limit(100, 100).is_ok());
        assert!(check_limit(0, 100).is_err() && check_limit(101, 100).is_err());
        assert_eq!(next_cursor(&[1, 2], 2, |n| n.to_string()), Some("2".into()));
        assert_eq!(next_cursor(&[1], 2, |n| n.to_string()), None);
        assert_eq!(next_cursor::<i32>(&[], 0, |n| n.to_string()), None);
    }
}
