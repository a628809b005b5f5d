//! T13 rows and fixtures for the reviews area (each area adds its own rows here).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, Vendor};
use crate::tenancy::{Access, Fixture, Row};

fn none(_: &Vendor) -> Option<serde_json::Value> {
    None
}

pub fn rows() -> Vec<Row> {
    use Access::*;
    let row = |method: Method,
               template: &'static str,
               access: Access,
               body: fn(&Vendor) -> Option<serde_json::Value>| Row { method, template, access, body };
    vec![
        row(Method::POST, "/api/v1/public/flows", Public, none),
        row(Method::POST, "/api/v1/public/reviews", Public, none),
        row(Method::POST, "/api/v1/public/reviews/{id}/helpful", Public, none),
        row(Method::POST, "/api/v1/public/{pk}/ratings", Public, none),
        row(Method::GET, "/api/v1/public/{pk}/summary", Public, none),
        row(Method::GET, "/api/v1/public/{pk}/reviews", Public, none),
        row(Method::GET, "/api/v1/reviews", StaffOrSecret, none),
        row(Method::GET, "/api/v1/reviews/export.csv", StaffOrSecret, none),
        row(Method::GET, "/api/v1/reviews/{id}", StaffOrSecret, none),
        row(Method::POST, "/api/v1/reviews/{id}/decision", Moderator, |_| Some(json!({"action": "flag"}))),
        row(Method::POST, "/api/v1/reviews/{id}/reply", Moderator, |_| Some(json!({"body": "Thanks"}))),
        row(Method::GET, "/api/v1/reports/maturity", StaffOrSecret, none),
        row(Method::POST, "/api/v1/privacy/erase", Owner, |_| Some(json!({"email": "someone@mail.example"}))),
        row(Method::GET, "/api/v1/privacy/export", Owner, none),
    ]
}

/// Per-vendor resources the reviews rows need: one pending review.
pub struct Extra {
    pub review_id: String,
}

impl Extra {
    pub async fn new(app: &TestApp, vendor: &Vendor) -> Extra {
        Extra { review_id: app.review(vendor, Some("SKU-T13"), 2).await }
    }

    pub fn resource_id(&self, template: &str) -> String {
        assert!(template.starts_with("/api/v1/reviews/"), "no resource id for {template}");
        self.review_id.clone()
    }
}

/// A's credentials never see B's reviews; B's pending review is not public.
pub async fn check_listings(app: &TestApp, a: &Fixture, b: &Fixture) {
    for token in [&a.vendor.token, &a.vendor.sk] {
        for path in ["/api/v1/reviews", "/api/v1/reviews/export.csv"] {
            let res = app.request(Method::GET, path, Some(token), None).await;
            assert_eq!(res.status(), StatusCode::OK);
            let text = res.text().await.unwrap();
            assert!(
                text.contains(&a.extra.review_id) && !text.contains(&b.extra.review_id),
                "{path} leaked B's review"
            );
        }
    }
    // Publish B's review: A's publishable key still only reads A's reviews.
    app.publish(&b.vendor, &b.extra.review_id).await;
    let text = app.get(&format!("/api/v1/public/{}/reviews", a.vendor.pk)).await.text().await.unwrap();
    assert!(!text.contains(&b.extra.review_id));
    let text = app.get(&format!("/api/v1/public/{}/reviews", b.vendor.pk)).await.text().await.unwrap();
    assert!(
        text.contains(&b.extra.review_id) && !text.contains(&a.extra.review_id),
        "A's pending review is not public"
    );
    // A's owner cannot erase or export B's buyers: the query runs in A's scope only.
    let res = app
        .request(Method::GET, "/api/v1/privacy/export?email=someone%40mail.example", Some(&a.vendor.token), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}
