//! Security regressions of the public writes, path ids and moderation races:
//! M4 (NUL in ids and cursors), M6 (helpful/quick-rating scope, origin, caps, preflight),
//! M9 (concurrent decisions).

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, json, spawn_app, spawn_app_with, TestApp, Vendor};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

async fn published(app: &TestApp, vendor: &Vendor) -> String {
    let id = app.review(vendor, None, 4).await;
    app.publish(vendor, &id).await;
    id
}

fn helpful_path(vendor: &Vendor, review_id: &str) -> String {
    format!("/api/v1/public/{}/reviews/{review_id}/helpful", vendor.pk)
}

async fn vote(app: &TestApp, path: &str, token: &str, origin: Option<&str>) -> reqwest::Response {
    let mut req = app.client.post(app.url(path)).json(&json!({"voter_token": token}));
    if let Some(origin) = origin {
        req = req.header("Origin", origin);
    }
    req.send().await.unwrap()
}

/// M4: a NUL (or any control character) in a path id or a cursor is refused at the edge
/// with 400, on both backends (PostgreSQL answered 500, SQLSTATE 22021).
#[actix_web::test]
async fn m4_nul_in_path_ids_and_cursors_is_a_client_error() {
    let app = spawn_app().await;
    let vendor = app.vendor("Nul").await;
    let owner = Some(vendor.token.as_str());
    let cases: Vec<(Method, String, Option<&str>, Option<Value>)> = vec![
        (Method::POST, helpful_path(&vendor, "%00"), None, Some(json!({"voter_token": "nul-voter-token-0001"}))),
        (Method::POST, helpful_path(&vendor, "a%00b"), None, Some(json!({"voter_token": "nul-voter-token-0001"}))),
        (Method::GET, "/api/v1/reviews/%00".into(), owner, None),
        (Method::GET, "/api/v1/reviews/x%07y".into(), Some(vendor.sk.as_str()), None),
        (Method::POST, "/api/v1/reviews/%00/decision".into(), owner, Some(json!({"action": "publish"}))),
        (Method::POST, "/api/v1/reviews/%00/reply".into(), owner, Some(json!({"body": "Thanks"}))),
        // Cursors: the public one is base64url JSON [key, published_at, id], the staff one
        // base64url "created_at:id".
        (Method::GET, format!("/api/v1/public/{}/reviews?cursor={}", vendor.pk, b64(b"[0,0,\"\\u0000\"]")), None, None),
        (
            Method::GET,
            format!("/api/v1/public/{}/reviews?sort=helpful&cursor={}", vendor.pk, b64(b"[1,2,\"a\\u0000\"]")),
            None,
            None,
        ),
        (Method::GET, format!("/api/v1/reviews?cursor={}", b64(b"0:\0")), owner, None),
        (Method::GET, format!("/api/v1/reviews?cursor={}", b64(b"0:a\0b")), Some(vendor.sk.as_str()), None),
    ];
    for (method, path, token, body) in &cases {
        let res = app.request(method.clone(), path, *token, body.as_ref()).await;
        assert_problem(res, StatusCode::BAD_REQUEST, "bad-request").await;
    }
    // The well-formed ids and cursors of the same requests still work.
    let id = published(&app, &vendor).await;
    let res = app.request(Method::GET, &format!("/api/v1/reviews/{id}"), owner, None).await;
    assert_eq!(json(res, StatusCode::OK).await["id"], id.as_str());
    let res = vote(&app, &helpful_path(&vendor, &id), "nul-voter-token-0001", None).await;
    assert_eq!(json(res, StatusCode::OK).await["helpful_count"], 1);
    println!("m4_nul_in_path_ids_and_cursors: {} requests, all 400", cases.len());
}

/// M4 for the key and staff ids. Needs `web::Path<PathId>` in `http/keys.rs` and
/// `http/staff.rs` (another branch): until then SQLite answers 404 and PostgreSQL 400
/// (the SQLSTATE 22021 backstop).
#[actix_web::test]
async fn m4_nul_in_key_and_staff_ids_is_a_client_error() {
    let app = spawn_app().await;
    let vendor = app.vendor("Nul Ids").await;
    let res = app.request(Method::DELETE, "/api/v1/keys/%00", Some(&vendor.token), None).await;
    assert_problem(res, StatusCode::BAD_REQUEST, "bad-request").await;
    let res =
        app.request(Method::PATCH, "/api/v1/staff/%00", Some(&vendor.token), Some(&json!({"role": "analyst"}))).await;
    assert_problem(res, StatusCode::BAD_REQUEST, "bad-request").await;
}

/// M6: the helpful vote names the vendor's key; another vendor's key does not reach the
/// review, and browsers may vote only from the vendor's origins.
#[actix_web::test]
async fn m6_helpful_is_scoped_to_the_vendors_key() {
    let app = spawn_app().await;
    let shop = app.vendor("Scoped Shop").await;
    let other = app.vendor("Other Shop").await;
    let id = published(&app, &shop).await;
    // Another vendor's key: the review does not exist there.
    let res = vote(&app, &helpful_path(&other, &id), "scoped-voter-token-01", None).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not-found").await;
    // A key that is no key: 401.
    let res = vote(&app, &format!("/api/v1/public/pk_nope/reviews/{id}/helpful"), "scoped-voter-token-01", None).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // Foreign, other vendor's and unreadable origins are refused; nothing is counted.
    for origin in ["https://evil.example", "https://other-shop.example"] {
        let res = vote(&app, &helpful_path(&shop, &id), "scoped-voter-token-01", Some(origin)).await;
        assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let unreadable = app
        .client
        .post(app.url(&helpful_path(&shop, &id)))
        .header("Origin", reqwest::header::HeaderValue::from_bytes(b"https://scoped-shop.example\xff").unwrap())
        .json(&json!({"voter_token": "scoped-voter-token-01"}))
        .send()
        .await
        .unwrap();
    assert_problem(unreadable, StatusCode::FORBIDDEN, "forbidden").await;
    // The vendor's own origin and server-side calls (no Origin) count, with CORS.
    let res = vote(&app, &helpful_path(&shop, &id), "scoped-voter-token-01", Some("https://scoped-shop.example")).await;
    assert_eq!(res.headers()["access-control-allow-origin"], "https://scoped-shop.example");
    assert_eq!(json(res, StatusCode::OK).await, json!({"helpful_count": 1}));
    let res = vote(&app, &helpful_path(&shop, &id), "scoped-voter-token-02", None).await;
    assert_eq!(json(res, StatusCode::OK).await, json!({"helpful_count": 2}));
    // The old unscoped route is gone.
    let res = vote(&app, &format!("/api/v1/public/reviews/{id}/helpful"), "scoped-voter-token-03", None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // Quick ratings follow the same origin rule (an unreadable Origin was "absent").
    let rate = app
        .client
        .post(app.url(&format!("/api/v1/public/{}/ratings", shop.pk)))
        .header("Origin", "https://other-shop.example")
        .json(&json!({"rating": 1, "voter_token": "scoped-voter-token-04"}))
        .send()
        .await
        .unwrap();
    assert_problem(rate, StatusCode::FORBIDDEN, "forbidden").await;
    let s = json(app.get(&format!("/api/v1/public/{}/summary", shop.pk)).await, StatusCode::OK).await;
    assert_eq!(s["quick_ratings"], json!({"count": 0, "average": null}));
}

/// M6: one client address can add at most 5 helpful votes per review and 20 quick
/// ratings per vendor per day, however many voter tokens it makes up; the caps follow
/// the service clock.
#[actix_web::test]
async fn m6_votes_from_one_ip_are_capped() {
    let app = spawn_app_with(|s| s.public_cache_ttl_secs = 0).await;
    let vendor = app.vendor("Capped").await;
    let (first, second) = (published(&app, &vendor).await, published(&app, &vendor).await);
    for n in 1..=5 {
        let res = vote(&app, &helpful_path(&vendor, &first), &format!("rotating-voter-token-{n:03}"), None).await;
        assert_eq!(json(res, StatusCode::OK).await["helpful_count"], n);
    }
    let res = vote(&app, &helpful_path(&vendor, &first), "rotating-voter-token-006", None).await;
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;
    // The cap is per review: the same address may still vote for another review.
    let res = vote(&app, &helpful_path(&vendor, &second), "rotating-voter-token-006", None).await;
    assert_eq!(json(res, StatusCode::OK).await["helpful_count"], 1);
    // A refused vote does not count, and a duplicate does not use up the cap.
    let res = vote(&app, &helpful_path(&vendor, &second), "rotating-voter-token-006", None).await;
    assert_problem(res, StatusCode::CONFLICT, "conflict").await;
    let page = json(app.get(&format!("/api/v1/public/{}/reviews?sort=helpful", vendor.pk)).await, StatusCode::OK).await;
    let counts: Vec<i64> =
        page["reviews"].as_array().unwrap().iter().map(|r| r["helpful_count"].as_i64().unwrap()).collect();
    assert_eq!(counts, vec![5, 1]);

    let rate = |n: usize| {
        let path = format!("/api/v1/public/{}/ratings", vendor.pk);
        let body =
            json!({"sku": format!("SKU-{n}"), "rating": 1, "voter_token": format!("rotating-rater-token-{n:03}")});
        let app = &app;
        async move { app.post(&path, &body).await }
    };
    for n in 1..=20 {
        assert_eq!(rate(n).await.status(), StatusCode::CREATED, "rating {n}");
    }
    assert_problem(rate(21).await, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;
    let s = json(app.get(&format!("/api/v1/public/{}/summary", vendor.pk)).await, StatusCode::OK).await;
    assert_eq!(s["quick_ratings"]["count"], 20);

    // The next day (service clock) the caps start again.
    app.clock.advance(chrono::Duration::days(1));
    let res = vote(&app, &helpful_path(&vendor, &first), "rotating-voter-token-006", None).await;
    assert_eq!(json(res, StatusCode::OK).await["helpful_count"], 6);
    assert_eq!(rate(21).await.status(), StatusCode::CREATED);
}

fn allowed(res: &reqwest::Response) -> Option<String> {
    res.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_owned())
}

/// M6: preflight on `/api/v1/public/{pk}/…` allows only the origins of that key's
/// vendor (and the service's own), not an origin some other vendor registered.
#[actix_web::test]
async fn m6_preflight_only_for_the_vendors_own_origins() {
    let app = spawn_app_with(|s| s.public_url = Some("https://reviews.truview.example".into())).await;
    let shop = app.vendor("Pre Shop").await;
    let rival = app.vendor("Pre Rival").await;
    let id = published(&app, &shop).await;
    let paths = [
        helpful_path(&shop, &id),
        format!("/api/v1/public/{}/ratings", shop.pk),
        format!("/api/v1/public/{}/summary", shop.pk),
        format!("/api/v1/public/{}/reviews", shop.pk),
    ];
    for path in &paths {
        let own = app.preflight(path, "https://pre-shop.example").await;
        assert_eq!(own.status(), StatusCode::NO_CONTENT);
        assert_eq!(allowed(&own).as_deref(), Some("https://pre-shop.example"), "{path}");
        let service = app.preflight(path, "https://reviews.truview.example").await;
        assert_eq!(allowed(&service).as_deref(), Some("https://reviews.truview.example"), "{path}");
        for foreign in ["https://pre-rival.example", "https://evil.example"] {
            let res = app.preflight(path, foreign).await;
            assert_eq!(res.status(), StatusCode::NO_CONTENT);
            assert_eq!(allowed(&res), None, "{foreign} passed preflight for {path}");
        }
    }
    // An unknown or malformed key allows nobody.
    for path in ["/api/v1/public/pk_unknown/ratings", "/api/v1/public/pk_%00/ratings", "/api/v1/public/nokey/ratings"] {
        assert_eq!(allowed(&app.preflight(path, "https://pre-shop.example").await), None, "{path}");
    }
    // The rival's own key allows the rival's origin only.
    let rival_path = format!("/api/v1/public/{}/ratings", rival.pk);
    assert_eq!(
        allowed(&app.preflight(&rival_path, "https://pre-rival.example").await).as_deref(),
        Some("https://pre-rival.example")
    );
    assert_eq!(allowed(&app.preflight(&rival_path, "https://pre-shop.example").await), None);
}

/// M9: N concurrent "publish" decisions on one pending review: exactly one succeeds, the
/// others get 409, and the aggregates count the review once (PostgreSQL READ COMMITTED
/// used to add it N times).
#[actix_web::test]
async fn m9_concurrent_publish_counts_once() {
    let app = spawn_app_with(|s| {
        s.pool_size = 12;
        s.public_cache_ttl_secs = 0;
    })
    .await;
    let vendor = app.vendor("Race Mod").await;
    let id = app.review(&vendor, Some("SKU-M9"), 5).await;
    let n = 10;
    let decisions = (0..n).map(|_| app.decide(&vendor, &id, json!({"action": "publish"})));
    let responses = futures::future::join_all(decisions).await;
    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    let mut expected = vec![409; n - 1];
    expected.insert(0, 200);
    assert_eq!(statuses, expected);
    for sku in ["", "?sku=SKU-M9"] {
        let s = json(app.get(&format!("/api/v1/public/{}/summary{sku}", vendor.pk)).await, StatusCode::OK).await;
        assert_eq!(s["count"], 1, "{sku}: {s}");
        assert_eq!(s["histogram"], json!({"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}));
    }
    // Unpublishing once brings every aggregate back to zero (no phantom counts).
    json(app.decide(&vendor, &id, json!({"action": "reject", "reason": "spam"})).await, StatusCode::OK).await;
    let s = json(app.get(&format!("/api/v1/public/{}/summary?sku=SKU-M9", vendor.pk)).await, StatusCode::OK).await;
    assert_eq!((s["count"].clone(), s["histogram"]["5"].clone()), (json!(0), json!(0)));
    let audit =
        json(app.request(Method::GET, "/api/v1/audit?limit=50", Some(&vendor.token), None).await, StatusCode::OK).await;
    let decisions = audit["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "review.decision").count();
    assert_eq!(decisions, 2, "one audit entry per applied decision");
    println!("m9_concurrent_publish: {n} concurrent publishes → 1 × 200, {} × 409, count 1", n - 1);
}
