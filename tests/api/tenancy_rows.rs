//! T13 rows and fixtures for the reviews area (each area adds its own rows here).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_problem, json, TestApp, Vendor};
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
        row(Method::POST, "/api/v1/public/{pk}/reviews/{id}/helpful", Public, |_| {
            Some(json!({"voter_token": "t13-voter-token-0001"}))
        }),
        row(Method::POST, "/api/v1/public/{pk}/ratings", Public, none),
        row(Method::GET, "/api/v1/public/{pk}/summary", Public, none),
        row(Method::GET, "/api/v1/public/{pk}/reviews", Public, none),
        row(Method::GET, "/api/v1/public/{pk}/reviews.html", Public, none),
        row(Method::GET, "/api/v1/reviews", StaffOrSecret, none),
        row(Method::GET, "/api/v1/reviews/export.csv", StaffOrSecret, none),
        row(Method::GET, "/api/v1/reviews/{id}", StaffOrSecret, none),
        row(Method::POST, "/api/v1/reviews/{id}/decision", Moderator, |_| Some(json!({"action": "flag"}))),
        row(Method::POST, "/api/v1/reviews/{id}/reply", Moderator, |_| Some(json!({"body": "Thanks"}))),
        row(Method::GET, "/api/v1/reports/maturity", StaffOrSecret, none),
        row(Method::GET, "/api/v1/reports/nps", StaffOrSecret, none),
        // Cases: the 2-star review below opens one per vendor.
        row(Method::GET, "/api/v1/cases", StaffOrSecret, none),
        row(Method::POST, "/api/v1/cases/{id}/resolve", Moderator, |_| Some(json!({"invite_update": false}))),
        // The author's update and the NPS answer name their case or invitation inside a
        // signed token (`resolution::*`).
        row(Method::GET, "/r/update/{token}", Public, none),
        row(Method::POST, "/r/update/{token}", Public, none),
        row(Method::POST, "/r/{token}/nps", Public, none),
        // The phone step is scoped by the invitation's signed token and its own check.
        row(Method::POST, "/r/{token}/phone", Public, none),
        row(Method::POST, "/r/{token}/phone/verify", Public, none),
        // Widget flows' hosted page: scoped by the publishable key, then by the flow's token.
        row(Method::GET, "/r/new", Public, none),
        row(Method::GET, "/r/flow/{token}", Public, none),
        row(Method::POST, "/r/flow/{token}", Public, none),
        row(Method::POST, "/r/flow/{token}/phone", Public, none),
        row(Method::POST, "/r/flow/{token}/phone/verify", Public, none),
        row(Method::POST, "/r/flow/{token}/order", Public, none),
        row(Method::POST, "/r/flow/{token}/nps", Public, none),
        row(Method::POST, "/r/flow/{token}/receipt", Public, none),
        row(Method::POST, "/r/flow/{token}/company", Public, none),
        row(Method::POST, "/r/flow/{token}/company/verify", Public, none),
        row(Method::POST, "/api/v1/privacy/erase", Owner, |_| Some(json!({"email": "someone@mail.example"}))),
        row(Method::POST, "/api/v1/privacy/export", Owner, |_| Some(json!({"email": "someone@mail.example"}))),
    ]
}

/// Per-vendor resources the rows need: one pending review (of 2 stars, so with a case), one
/// queued job, one receipt.
pub struct Extra {
    pub review_id: String,
    pub case_id: String,
    pub job_id: String,
    pub receipt_id: String,
}

impl Extra {
    pub async fn new(app: &TestApp, vendor: &Vendor) -> Extra {
        let job = truview::funnel::queue::job_row(
            &app.state,
            truview::funnel::queue::NewJob {
                vendor_id: Some(vendor.id.clone()),
                name: "t13.job".into(),
                payload: json!({}),
                idempotency_key: None,
                priority: 0,
                run_at: None,
                max_attempts: None,
            },
        );
        let job_id = job.id.clone();
        app.state.db.write(move |conn| truview::store::jobs::enqueue(conn, &job)).await.unwrap();
        let flow = app.flow(vendor, None).await;
        let res = app
            .client
            .post(app.url("/api/v1/public/kyp/receipt"))
            .header("X-Truview-Flow", &flow)
            .header("content-type", "application/pdf")
            .body(b"%PDF-1.7\n%%EOF".to_vec())
            .send()
            .await
            .unwrap();
        let receipt_id = json(res, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned();
        let review_id = app.review(vendor, Some("SKU-T13"), 2).await;
        let vendor_id = vendor.id.clone();
        let cases =
            app.state.db.run(move |conn| truview::store::cases::page(conn, &vendor_id, None, None, 10)).await.unwrap();
        assert_eq!(cases.len(), 1, "the 2-star review's case");
        assert_eq!(cases[0].review_id.as_deref(), Some(review_id.as_str()));
        Extra { review_id, case_id: cases[0].id.clone(), job_id, receipt_id }
    }

    pub fn resource_id(&self, template: &str) -> String {
        if template.starts_with("/api/v1/jobs/") {
            return self.job_id.clone();
        }
        if template.starts_with("/api/v1/receipts/") {
            return self.receipt_id.clone();
        }
        if template.starts_with("/api/v1/cases/") {
            return self.case_id.clone();
        }
        assert!(
            template.starts_with("/api/v1/reviews/") || template.starts_with("/api/v1/public/{pk}/reviews/"),
            "no resource id for {template}"
        );
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
    // A's cases only.
    for token in [&a.vendor.token, &a.vendor.sk] {
        let cases = json(app.request(Method::GET, "/api/v1/cases", Some(token), None).await, StatusCode::OK).await;
        let ids: Vec<&str> = cases["cases"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec![a.extra.case_id.as_str()], "GET /api/v1/cases leaked B's case");
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
    // Public writes are scoped by the key in the path: B's published review cannot be
    // voted on under A's key (M6), and A's origin passes no preflight for B's key.
    let vote = json!({"voter_token": "t13-voter-token-cross"});
    let res = app.post(&format!("/api/v1/public/{}/reviews/{}/helpful", a.vendor.pk, b.extra.review_id), &vote).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not-found").await;
    let res = app.post(&format!("/api/v1/public/{}/reviews/{}/helpful", b.vendor.pk, b.extra.review_id), &vote).await;
    assert_eq!(json(res, StatusCode::OK).await, json!({"helpful_count": 1}));
    let helpful = format!("/api/v1/public/{}/reviews/{}/helpful", b.vendor.pk, b.extra.review_id);
    let pre = app.preflight(&helpful, "https://alpha.example").await;
    assert_eq!(pre.status(), StatusCode::NO_CONTENT);
    assert!(pre.headers().get("access-control-allow-origin").is_none(), "A's origin passed B's preflight");

    // A's owner cannot erase or export B's buyers: B has this buyer (an order and a
    // review on it); A's calls run in A's scope and find nothing, and B's data stays.
    let buyer = "b-buyer@mail.example";
    let order = app.order(&b.vendor, "ORD-B-T13", Some(buyer), None, &["SKU-T13"]).await;
    let token = app.flow(&b.vendor, Some("SKU-T13")).await;
    app.attach_purchase(&token, &order).await;
    json(app.submit(&token, 4, json!({})).await, StatusCode::CREATED).await;
    let contact = json!({"email": buyer});
    let owner = |path: &'static str, token: String| {
        let (app, contact) = (app, contact.clone());
        async move { app.request(Method::POST, path, Some(&token), Some(&contact)).await }
    };
    let seen = json(owner("/api/v1/privacy/export", a.vendor.token.clone()).await, StatusCode::OK).await;
    assert_eq!(seen, json!({"orders": [], "reviews": []}), "A's export found B's buyer");
    let erased = json(owner("/api/v1/privacy/erase", a.vendor.token.clone()).await, StatusCode::OK).await;
    assert_eq!(erased, json!({"reviews_deidentified": 0, "orders_cleared": 0, "flows_deleted": 0}));
    let b_sees = json(owner("/api/v1/privacy/export", b.vendor.token.clone()).await, StatusCode::OK).await;
    assert_eq!(
        (b_sees["orders"][0]["order_id"].clone(), b_sees["reviews"].as_array().map(Vec::len)),
        (json!("ORD-B-T13"), Some(1)),
        "B's buyer is untouched by A's erasure: {b_sees}"
    );
}
