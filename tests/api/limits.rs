//! T14 (per-IP limits, trusted proxies) and T25-style input limits on JSON endpoints.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

async fn get_with_xff(app: &crate::helpers::TestApp, xff: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url("/api/v1/me"));
    if let Some(x) = xff {
        req = req.header("X-Forwarded-For", x);
    }
    req.send().await.unwrap()
}

/// T14: the per-IP limit holds, and X-Forwarded-For cannot dodge it unless the peer is a
/// configured proxy.
#[actix_web::test]
async fn t14_rate_limit_per_ip_and_trusted_proxies() {
    let app = spawn_app_with(|s| s.rate_limit_per_ip = 5).await;
    for i in 0..5 {
        assert_eq!(get_with_xff(&app, Some(&format!("203.0.113.{i}"))).await.status(), StatusCode::UNAUTHORIZED);
    }
    // Spoofed X-Forwarded-For from an untrusted peer changes nothing.
    let res = get_with_xff(&app, Some("198.51.100.77")).await;
    assert!(res.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;
    // Ops endpoints stay reachable for health checks.
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);

    let proxied = spawn_app_with(|s| {
        s.rate_limit_per_ip = 5;
        s.trusted_proxies = "127.0.0.1/32, ::1".into();
    })
    .await;
    // Behind a trusted proxy each client has its own bucket...
    for i in 0..10 {
        let xff = format!("203.0.113.{i}");
        assert_eq!(get_with_xff(&proxied, Some(&xff)).await.status(), StatusCode::UNAUTHORIZED, "{xff}");
    }
    // ...and one client is still limited, whatever it prepends itself.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(get_with_xff(&proxied, Some("6.6.6.6, 192.0.2.10")).await.status());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 1, "{statuses:?}");
}

#[actix_web::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/v1/vendors"))
        .header("content-type", "application/json")
        .body("{\"vendor_name\": ")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "bad-request").await;
}

#[actix_web::test]
async fn wrong_content_type_is_415() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/v1/vendors"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type").await;
}

#[actix_web::test]
async fn oversize_body_is_413() {
    let app = spawn_app().await;
    let body = json!({"vendor_name": "x".repeat(70 * 1024), "owner_email": "a@b.example", "owner_password": "correct-horse-staple-91"});
    assert_problem(app.post("/api/v1/vendors", &body).await, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large").await;
}

#[actix_web::test]
async fn wrong_shape_is_422_and_bad_utf8_is_400() {
    let app = spawn_app().await;
    let res = app.post("/api/v1/vendors", &json!({"vendor_name": 42})).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let res = app
        .client
        .post(app.url("/api/v1/vendors"))
        .header("content-type", "application/json")
        .body(b"{\"vendor_name\": \"\xff\xfe\"}".to_vec())
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "bad-request").await;
    let res = app.client.get(app.url("/api/v1/audit?limit=abc")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "auth is checked before the query");
}
