//! Cache keys of the widget reads, built from the parsed and validated query: parameters
//! the read ignores, their order and their spelling (percent-encoding, a cursor's encoding)
//! do not make new entries.

use crate::store::reviews::{PublicQuery, Sort};

/// The key of a summary read.
pub fn summary(pk: &str, sku: Option<&str>) -> String {
    // A JSON array, serialised straight from a tuple (no `Value` built per request).
    serde_json::to_string(&("summary", pk, sku)).unwrap_or_default()
}

/// The key of a review-list read.
pub fn reviews(pk: &str, q: &PublicQuery) -> String {
    let sort = match q.sort {
        Sort::Recent => "recent",
        Sort::Helpful => "helpful",
        Sort::Rating => "rating",
    };
    serde_json::to_string(&("reviews", pk, &q.sku, sort, q.min_level, q.limit, &q.after)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::reviews::PublicCursor;

    fn query(sku: Option<&str>, after: Option<PublicCursor>) -> PublicQuery {
        PublicQuery { sku: sku.map(str::to_owned), min_level: 0, sort: Sort::Recent, after, limit: 20 }
    }

    #[test]
    fn keys_are_unambiguous() {
        assert_ne!(summary("pk_a", Some("b")), summary("pk_a\",\"b", None));
        assert_ne!(summary("pk_a", None), summary("pk_a", Some("")));
        assert_ne!(reviews("pk_a", &query(None, None)), reviews("pk_a", &query(Some("x"), None)));
        let c = PublicCursor(0, 1, "r".into());
        assert_ne!(reviews("pk_a", &query(None, None)), reviews("pk_a", &query(None, Some(c))));
        assert_ne!(summary("pk_a", None), reviews("pk_a", &query(None, None)));
        // The same text as the JSON array of these values.
        let q = query(Some("x"), Some(PublicCursor(0, 1, "r".into())));
        assert_eq!(reviews("pk_a", &q), r#"["reviews","pk_a","x","recent",0,20,[0,1,"r"]]"#);
        assert_eq!(summary("pk_a", None), r#"["summary","pk_a",null]"#);
    }
}
