//! T14 (per-IP limits, trusted proxies) and T25-style input limits on JSON endpoints.

use reqwest::StatusCode;
use serde_json::json;

use diesel::connection::SimpleConnection;

use crate::helpers::{assert_problem, spawn_app, spawn_app_with, TestApp};

async fn get_with_xff(app: &TestApp, xff: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(app.url("/api/v1/me"));
    if let Some(x) = xff {
        req = req.header("X-Forwarded-For", x);
    }
    req.send().await.unwrap()
}

/// A request to `path` with one `X-Forwarded-For` header line per entry of `xff`.
async fn get_with_lines(app: &TestApp, path: &str, xff: &[&str]) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    for line in xff {
        req = req.header("X-Forwarded-For", *line);
    }
    req.send().await.unwrap()
}

/// Asserts a 429 problem with a `Retry-After` of at least one second.
async fn assert_limited(res: reqwest::Response) {
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;
}

/// T14: the per-IP limit holds on every spelling of every path but `/health`, and
/// X-Forwarded-For cannot dodge it: not from an untrusted peer, not by an extra header line,
/// not by rotating IPv6 addresses within a /64.
#[actix_web::test]
async fn t14_rate_limit_per_ip_and_trusted_proxies() {
    let app = spawn_app_with(|s| s.rate_limit_per_ip = 5).await;
    for i in 0..4 {
        assert_eq!(get_with_xff(&app, Some(&format!("203.0.113.{i}"))).await.status(), StatusCode::UNAUTHORIZED);
    }
    // The same route under a percent-encoded spelling shares the bucket.
    assert_eq!(app.get("/%61pi/v1/me").await.status(), StatusCode::UNAUTHORIZED, "it reaches the handler");
    // Spoofed X-Forwarded-For from an untrusted peer changes nothing.
    assert_limited(get_with_xff(&app, Some("198.51.100.77")).await).await;
    assert_limited(get_with_lines(&app, "/%61pi/v1/me", &["198.51.100.78", "2001:db8::1"]).await).await;
    // Only liveness stays reachable for health checks.
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);
    assert_limited(app.get("/ready").await).await;

    let proxied = spawn_app_with(|s| {
        s.rate_limit_per_ip = 5;
        s.trusted_proxies = "127.0.0.1/32, ::1".into();
    })
    .await;
    // Behind a trusted proxy each client has its own bucket (IPv4 address, IPv6 /64)...
    for i in 0..10 {
        let xff = format!("203.0.113.{i}");
        assert_eq!(get_with_xff(&proxied, Some(&xff)).await.status(), StatusCode::UNAUTHORIZED, "{xff}");
        let v6 = format!("2001:db8:{i}::1");
        assert_eq!(get_with_lines(&proxied, "/api/v1/me", &[&v6]).await.status(), StatusCode::UNAUTHORIZED, "{v6}");
    }
    // ...and one client is still limited, whatever it prepends itself, in the same line or
    // in a line of its own, and on whatever spelling of the path.
    let mut statuses = Vec::new();
    for (i, path) in ["/api/v1/me", "/%61pi/v1/me", "/api/v1/%6de"].iter().cycle().take(6).enumerate() {
        let forged = format!("6.6.6.{i}");
        let res = if i % 2 == 0 {
            get_with_lines(&proxied, path, &[&format!("{forged}, 192.0.2.10")]).await
        } else {
            get_with_lines(&proxied, path, &[&forged, "192.0.2.10"]).await
        };
        statuses.push(res.status());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 1, "{statuses:?}");
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    // An IPv6 client is limited per /64, whichever addresses of it it uses.
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(get_with_lines(&proxied, "/api/v1/me", &[&format!("2001:db8:77:1::{i:x}")]).await.status());
    }
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
}

/// H1: a percent-encoded spelling of a path reaches the same handler, so it must spend the
/// same per-IP budget (the router decodes `%61` to `a`; the limit used to look at the raw
/// path only).
#[actix_web::test]
async fn h1_percent_encoded_path_is_limited() {
    let app = spawn_app_with(|s| s.rate_limit_per_ip = 3).await;
    for _ in 0..3 {
        assert_eq!(app.get("/%61pi/v1/me").await.status(), StatusCode::UNAUTHORIZED, "routed to /api/v1/me");
    }
    assert_limited(app.get("/%61pi/v1/me").await).await;
    assert_limited(app.get("/api/v1/me").await).await;
    let body = json!({"vendor_name": "Past the limit", "owner_email": "h1@h1.example", "owner_password": "correct-horse-staple-91"});
    assert_limited(app.post("/%61pi/v1/vendors", &body).await).await;
    assert_limited(app.post("/api/v1/vendors", &body).await).await;
    // So are the widget reads (answered ahead of the router), under any spelling.
    assert_limited(app.get("/api/v1/public/pk_any/reviews?sku=A").await).await;
    assert_limited(app.get("/%61pi/v1/public/pk_any/summary").await).await;
    // Unknown paths and the ops endpoints are limited too; liveness is not.
    assert_limited(app.get("/%2e%2e/whatever").await).await;
    assert_limited(app.get("/metrics").await).await;
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);
    // Nothing was created past the limit.
    let vendors = app.state.db.run(truview::store::vendors::count).await.unwrap();
    assert_eq!(vendors, 0);
}

/// H4: a proxy that appends its own `X-Forwarded-For` line (HAProxy's `option forwardfor`)
/// leaves the client's forged line first; the lines are one list read from the right.
#[actix_web::test]
async fn h4_second_forwarded_line_cannot_escape_limit() {
    let app = spawn_app_with(|s| {
        s.rate_limit_per_ip = 3;
        s.trusted_proxies = "127.0.0.1".into();
    })
    .await;
    for i in 0..3 {
        let forged = format!("198.51.100.{i}");
        let res = get_with_lines(&app, "/api/v1/me", &[&forged, "192.0.2.44"]).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    assert_limited(get_with_lines(&app, "/api/v1/me", &["198.51.100.200", "192.0.2.44"]).await).await;
    // The same client through a proxy that extends the line, or writes `ip:port`.
    assert_limited(get_with_lines(&app, "/api/v1/me", &["198.51.100.201, 192.0.2.44"]).await).await;
    assert_limited(get_with_lines(&app, "/api/v1/me", &["192.0.2.44:51234"]).await).await;
    // Another client behind the same proxy is not affected.
    assert_eq!(get_with_lines(&app, "/api/v1/me", &["192.0.2.45"]).await.status(), StatusCode::UNAUTHORIZED);
    // A hop the proxy wrote that names no address is a client of its own, not the proxy.
    for _ in 0..3 {
        assert_eq!(get_with_lines(&app, "/api/v1/me", &["unknown"]).await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_limited(get_with_lines(&app, "/api/v1/me", &["unknown"]).await).await;
    assert_eq!(get_with_lines(&app, "/api/v1/me", &["127.0.0.1"]).await.status(), StatusCode::UNAUTHORIZED);
}

/// H4: an IPv6 client has a whole /64; rotating addresses inside it does not buy buckets,
/// for the per-IP limit and for login attempts alike.
#[actix_web::test]
async fn h4_ipv6_limited_per_64() {
    let app = spawn_app_with(|s| {
        s.rate_limit_per_ip = 4;
        s.login_attempts_per_ip = 2;
        s.trusted_proxies = "127.0.0.1".into();
    })
    .await;
    for i in 1..=4u32 {
        let addr = format!("2001:db8:5:6:{i:x}:{:x}::1", i * 7919);
        assert_eq!(get_with_lines(&app, "/api/v1/me", &[&addr]).await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_limited(get_with_lines(&app, "/api/v1/me", &["2001:db8:5:6:ffff:1:2:3"]).await).await;
    assert_limited(get_with_lines(&app, "/api/v1/me", &["[2001:db8:5:6::9]:443"]).await).await;
    // The neighbouring /64 is another client.
    assert_eq!(get_with_lines(&app, "/api/v1/me", &["2001:db8:5:7::1"]).await.status(), StatusCode::UNAUTHORIZED);
    // Login attempts: two per /64, then 429 from any address in it.
    let login = |addr: String| {
        let req = app.client.post(app.url("/api/v1/auth/login")).header("X-Forwarded-For", addr);
        req.json(&json!({"email": "nobody@h4.example", "password": "wrong-password-123"})).send()
    };
    for i in 1..=2 {
        assert_eq!(login(format!("2001:db8:9:9::{i}")).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    assert_limited(login("2001:db8:9:9:abcd::1".into()).await.unwrap()).await;
}

/// M1: a publishable key is public, so one client flooding it spends only its own budget
/// for that key (widget reads and flow openings alike); other buyers keep using it.
#[actix_web::test]
async fn m1_one_client_cannot_exhaust_a_vendors_widget() {
    let app = spawn_app_with(|s| {
        s.rate_limit_per_key = 5;
        s.rate_limit_per_vendor_public = 9;
        s.public_cache_ttl_secs = 0; // every read reaches the key check
        s.trusted_proxies = "127.0.0.1".into();
    })
    .await;
    let victim = app.vendor("Victim").await;
    let summary = format!("/api/v1/public/{}/summary", victim.pk);
    for i in 0..5 {
        // Query variants make no difference to the budget.
        let path = format!("{summary}?z={i}");
        assert_eq!(get_with_lines(&app, &path, &["198.51.100.66"]).await.status(), StatusCode::OK);
    }
    assert_limited(get_with_lines(&app, &summary, &["198.51.100.66"]).await).await;
    let flow = |addr: &'static str| {
        let req = app.client.post(app.url("/api/v1/public/flows")).header("X-Forwarded-For", addr);
        req.json(&json!({"key": victim.pk})).send()
    };
    assert_limited(flow("198.51.100.66").await.unwrap()).await;
    // Another buyer still reads the widget and opens flows.
    assert_eq!(get_with_lines(&app, &summary, &["192.0.2.1"]).await.status(), StatusCode::OK);
    assert_eq!(flow("192.0.2.1").await.unwrap().status(), StatusCode::CREATED);
    let reviews = format!("/api/v1/public/{}/reviews", victim.pk);
    assert_eq!(get_with_lines(&app, &reviews, &["192.0.2.1"]).await.status(), StatusCode::OK);
    // The vendor's ceiling over all clients still holds (9 here: 5 + 3 spent, one left).
    assert_eq!(get_with_lines(&app, &reviews, &["192.0.2.2"]).await.status(), StatusCode::OK);
    assert_limited(get_with_lines(&app, &reviews, &["192.0.2.3"]).await).await;
    // Unknown keys are refused without creating budgets for the presented strings.
    let tracked = app.state.limits.tracked();
    for i in 0..20 {
        let res = get_with_lines(&app, &format!("/api/v1/public/pk_unknown{i}/summary"), &["192.0.2.9"]).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.state.limits.tracked(), tracked + 1, "only the client's per-IP bucket is new");
}

/// M8: each serving process forgets refilled limiter buckets on its own timer, with no
/// worker running (governor keeps real time, so this waits about two seconds).
#[actix_web::test]
async fn m8_limiter_memory_is_trimmed_without_a_worker() {
    let app = spawn_app_with(|s| {
        s.rate_limit_per_ip = 60_000; // a bucket refills within milliseconds
        s.limiter_trim_interval_secs = 1;
        s.trusted_proxies = "127.0.0.1".into();
    })
    .await;
    for i in 0..50 {
        let addr = format!("2001:db8:{i:x}::1");
        assert_eq!(get_with_lines(&app, "/api/v1/me", &[&addr]).await.status(), StatusCode::UNAUTHORIZED);
    }
    assert!(app.state.limits.tracked() >= 50, "{}", app.state.limits.tracked());
    let passes = app.state.limits.trim_passes();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.state.limits.tracked() > 0 && std::time::Instant::now() < deadline {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(app.state.limits.tracked(), 0, "trimmed by the serving process");
    assert!(app.state.limits.trim_passes() > passes);
    // Trimming keeps buckets that have not refilled: a spent client stays limited.
    let slow = spawn_app_with(|s| s.rate_limit_per_ip = 1).await;
    assert_eq!(slow.get("/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(slow.state.limits.trim(), 1);
    assert_limited(slow.get("/api/v1/me").await).await;
}

/// L4: `/ready`'s 503 says only that the database is not ready; the cause goes to the log.
#[actix_web::test]
async fn l4_ready_does_not_echo_database_errors() {
    let app = spawn_app().await;
    let mut conn = truview::db::establish(&app.settings.database_url).unwrap();
    // A migrations table the readiness query cannot read.
    conn.batch_execute("DROP TABLE __diesel_schema_migrations; CREATE TABLE __diesel_schema_migrations (x INTEGER)")
        .unwrap();
    let body = assert_problem(app.get("/ready").await, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    let text = body.to_string();
    assert_eq!(body["detail"], "database not ready", "{text}");
    assert!(!text.contains("version") && !text.contains("column"), "{text}");
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
