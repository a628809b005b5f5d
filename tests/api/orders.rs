//! Native order import (KYP): JSON and CSV, strict all-or-nothing validation (the T26
//! malformed-CSV corpus), upsert, Idempotency-Key, the 50 MiB body limit and the order read.

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, json, spawn_app, TestApp, Vendor};

const HEADER: &str =
    "order_id,email,phone,customer_name,sku,item_name,price,total,currency,purchased_at,delivered_at,status,locale";

async fn import(app: &TestApp, token: &str, content_type: &str, body: Vec<u8>, key: Option<&str>) -> Response {
    let mut req =
        app.client.post(app.url("/api/v1/orders")).bearer_auth(token).header("Content-Type", content_type).body(body);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    req.send().await.expect("request sent")
}

async fn import_json(app: &TestApp, vendor: &Vendor, body: &Value) -> Response {
    import(app, &vendor.sk, "application/json", serde_json::to_vec(body).unwrap(), None).await
}

async fn import_csv(app: &TestApp, vendor: &Vendor, body: &[u8]) -> Response {
    import(app, &vendor.sk, "text/csv; charset=utf-8", body.to_vec(), None).await
}

async fn order_count(app: &TestApp, vendor: &Vendor) -> i64 {
    let vendor_id = vendor.id.clone();
    app.state.db.run(move |conn| truview::store::orders::count(conn, &vendor_id)).await.unwrap()
}

async fn get_order(app: &TestApp, token: &str, order_id: &str) -> Response {
    app.request(Method::GET, &format!("/api/v1/orders/{order_id}"), Some(token), None).await
}

async fn audit_actions(app: &TestApp, vendor: &Vendor, action: &str) -> usize {
    let page = json(app.request(Method::GET, "/api/v1/audit", Some(&vendor.token), None).await, StatusCode::OK).await;
    page["entries"].as_array().unwrap().iter().filter(|e| e["action"] == action).count()
}

fn two_orders() -> Value {
    json!([
        {"order_id": "A-1001", "email": "Ann@Mail.Example", "customer_name": "Ann", "currency": "EUR", "total": "59.90",
         "items": [{"sku": "SKU-1", "name": "Kettle", "price": 49.9}, {"sku": "SKU-2", "price": "10"}],
         "purchased_at": "2026-11-01T10:00:00Z", "delivered_at": "2026-11-03", "locale": "de-DE"},
        {"order_id": "A-1002", "phone": "+44 20 7946 0958", "items": [{"sku": "SKU-3"}],
         "purchased_at": "2026-11-02", "status": "fulfilled"}
    ])
}

#[actix_web::test]
async fn json_import_creates_orders_and_get_shows_them() {
    let app = spawn_app().await;
    let vendor = app.vendor("Json Orders").await;
    let res = import_json(&app, &vendor, &two_orders()).await;
    assert_eq!(json(res, StatusCode::OK).await, json!({"created": 2, "updated": 0, "orders": 2}));
    assert_eq!(order_count(&app, &vendor).await, 2);

    let res = get_order(&app, &vendor.sk, "A-1001").await;
    let text = res.text().await.unwrap();
    let order: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(order["order_id"], "A-1001");
    assert_eq!(order["status"], "paid");
    assert_eq!(order["purchased_at"], "2026-11-01T10:00:00+00:00");
    assert_eq!(order["delivered_at"], "2026-11-03T00:00:00+00:00");
    assert_eq!((order["total_minor"].clone(), order["currency"].clone()), (json!(5990), json!("EUR")));
    assert_eq!((order["has_email"].clone(), order["has_phone"].clone()), (json!(true), json!(false)));
    assert_eq!(order["locale"], "de-DE");
    assert_eq!(
        order["items"],
        json!([{"sku": "SKU-1", "name": "Kettle", "price_minor": 4990}, {"sku": "SKU-2", "name": null, "price_minor": 1000}])
    );
    assert_eq!(order["review_ids"], json!([]));
    // Neither the contact nor its HMAC is ever shown.
    let hmac = app.state.contacts.email("ann@mail.example");
    assert!(!text.to_lowercase().contains("ann@mail.example") && !text.contains(&hmac), "{text}");

    // Staff of the vendor read it too.
    let order = json(get_order(&app, &vendor.token, "A-1002").await, StatusCode::OK).await;
    assert_eq!((order["status"].clone(), order["has_phone"].clone()), (json!("fulfilled"), json!(true)));
    assert_eq!(audit_actions(&app, &vendor, "orders.imported").await, 1);

    // The items' products exist now, named after the line item (or the SKU); an import
    // never renames a product the vendor already described.
    let res = app.request(Method::GET, "/api/v1/products?limit=10", Some(&vendor.sk), None).await;
    let names: Vec<(String, String)> = json(res, StatusCode::OK).await["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["sku"].as_str().unwrap().to_owned(), p["name"].as_str().unwrap().to_owned()))
        .collect();
    let expected = [("SKU-1", "Kettle"), ("SKU-2", "SKU-2"), ("SKU-3", "SKU-3")];
    assert_eq!(names, expected.map(|(sku, name)| (sku.to_owned(), name.to_owned())));
    let res = app
        .request(Method::PUT, "/api/v1/products/SKU-1", Some(&vendor.sk), Some(&json!({"name": "Steel kettle"})))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json(import_json(&app, &vendor, &two_orders()).await, StatusCode::OK).await["updated"], 2);
    let res = app.request(Method::GET, "/api/v1/products/SKU-1", Some(&vendor.sk), None).await;
    assert_eq!(json(res, StatusCode::OK).await["name"], "Steel kettle");
}

#[actix_web::test]
async fn csv_import_groups_line_items_per_order() {
    let app = spawn_app().await;
    let vendor = app.vendor("Csv Orders").await;
    // UTF-8 BOM, LF and CRLF mixed, a formula in customer_name (kept as text), rows of one
    // order apart from each other.
    let body = format!(
        "\u{feff}{HEADER}\r\n\
         C-1,ann@mail.example,,\"=HYPERLINK(\"\"http://x.example\"\")\",SKU-1,Kettle,49.90,59.90,EUR,2026-11-01,,delivered,en\n\
         C-2,,+4915112345678,Bob,SKU-9,,,,,2026-11-02T08:00:00+01:00,,,\r\n\
         C-1,ann@mail.example,,\"=HYPERLINK(\"\"http://x.example\"\")\",SKU-2,Mug,10,59.90,EUR,2026-11-01,,delivered,en\n"
    );
    let res = import_csv(&app, &vendor, body.as_bytes()).await;
    assert_eq!(json(res, StatusCode::OK).await, json!({"created": 2, "updated": 0, "orders": 2}));
    assert_eq!(order_count(&app, &vendor).await, 2);
    let order = json(get_order(&app, &vendor.sk, "C-1").await, StatusCode::OK).await;
    assert_eq!(order["status"], "delivered");
    assert_eq!(order["items"].as_array().unwrap().len(), 2);
    assert_eq!(order["items"][1], json!({"sku": "SKU-2", "name": "Mug", "price_minor": 1000}));
    assert_eq!(order["has_customer_name"], true);
    let name: Option<String> = {
        let vendor_id = vendor.id.clone();
        app.state
            .db
            .run(move |conn| Ok(truview::store::orders::by_ref(conn, &vendor_id, "C-1")?.unwrap().0.customer_name))
            .await
            .unwrap()
    };
    assert_eq!(name.as_deref(), Some("=HYPERLINK(\"http://x.example\")"));
    let order = json(get_order(&app, &vendor.sk, "C-2").await, StatusCode::OK).await;
    assert_eq!(order["purchased_at"], "2026-11-02T07:00:00+00:00");
    assert_eq!(order["status"], "paid");
}

/// T26: every malformed CSV is refused with a 4xx naming the line, and nothing is imported
/// (each file starts with a valid row, so a partial write would show).
#[actix_web::test]
async fn t26_malformed_csv_imports_nothing() {
    let app = spawn_app().await;
    let vendor = app.vendor("Malformed Csv").await;
    let good = "G-1,ann@mail.example,,Ann,SKU-1,,1.00,,EUR,2026-11-01,,,";
    let row3 = |bad: &str| format!("{HEADER}\n{good}\n{bad}\n").into_bytes();
    let mut bad_utf8 = format!("{HEADER}\n{good}\nG-2,,,").into_bytes();
    bad_utf8.extend_from_slice(b"B\xffb,SKU-2,,,,,2026-11-01,,,\n");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("unterminated quote", row3("G-2,\"bob@mail.example,,Bob,SKU-2,,,,,2026-11-01,,,"), "line 3"),
        ("ragged row", row3("G-2,,,Bob,SKU-2,,,,,2026-11-01,,,,extra"), "line 3"),
        ("short row", row3("G-2,,,Bob,SKU-2"), "line 3"),
        ("bad UTF-8", bad_utf8, "line 3, column customer_name"),
        ("0-byte body", Vec::new(), "line 1"),
        ("header only", format!("{HEADER}\n").into_bytes(), "line 2"),
        ("unknown column", format!("{HEADER},coupon\n{good},X\n").into_bytes(), "line 1, column 14"),
        ("bad date", row3("G-2,,,Bob,SKU-2,,,,,2026-02-30,,,"), "line 3, column purchased_at"),
        ("bad e-mail", row3("G-2,bob@,,Bob,SKU-2,,,,,2026-11-01,,,"), "line 3, column email"),
        ("bad phone", row3("G-2,,12345,Bob,SKU-2,,,,,2026-11-01,,,"), "line 3, column phone"),
        ("negative price", row3("G-2,,,Bob,SKU-2,,-5.00,,EUR,2026-11-01,,,"), "line 3, column price"),
        ("bad status", row3("G-2,,,Bob,SKU-2,,,,,2026-11-01,,shipped,"), "line 3, column status"),
        (
            "rows of one order disagree",
            row3("G-1,ann@mail.example,,Ann,SKU-2,,1.00,,EUR,2026-11-02,,,"),
            "line 3, column purchased_at",
        ),
        ("missing required column", b"order_id,sku\nG-1,SKU-1\n".to_vec(), "line 1"),
    ];
    for (name, body, line) in cases {
        let res = import_csv(&app, &vendor, &body).await;
        let status = res.status();
        assert!(status.is_client_error(), "{name}: {status}");
        let problem: Value = res.json().await.unwrap();
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(line), "{name}: {detail}");
        assert_eq!(order_count(&app, &vendor).await, 0, "{name}: nothing imported");
    }
    assert_eq!(audit_actions(&app, &vendor, "orders.imported").await, 0);
}

#[actix_web::test]
async fn json_import_is_strict_and_all_or_nothing() {
    let app = spawn_app().await;
    let vendor = app.vendor("Strict Json").await;
    let res = import_json(&app, &vendor, &json!({"order_id": "X"})).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(problem["field"], "body");

    let mut orders = two_orders();
    orders[1]["email"] = json!("not-an-email");
    let res = import_json(&app, &vendor, &orders).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(problem["field"], "index 1, field email");

    let mut orders = two_orders();
    orders[0]["items"][1]["price"] = json!(-1);
    let res = import_json(&app, &vendor, &orders).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(problem["field"], "index 0, field items[1].price");

    let mut orders = two_orders();
    orders[1]["order_id"] = json!("A-1001");
    let res = import_json(&app, &vendor, &orders).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(problem["field"], "index 1, field order_id");

    let many: Vec<Value> = (0..100_001)
        .map(|i| json!({"order_id": format!("M-{i}"), "items": [{"sku": "S"}], "purchased_at": "2026-11-01"}))
        .collect();
    let res = import_json(&app, &vendor, &json!(many)).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert!(problem["detail"].as_str().unwrap().contains("100000"), "{problem}");

    let res = import(&app, &vendor.sk, "application/json", b"[{\"order_id\":".to_vec(), None).await;
    assert_problem(res, StatusCode::BAD_REQUEST, "bad-request").await;
    let res = import(&app, &vendor.sk, "text/plain", b"x".to_vec(), None).await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(order_count(&app, &vendor).await, 0);
}

#[actix_web::test]
async fn order_dates_more_than_a_day_after_the_import_are_refused() {
    let app = spawn_app().await;
    app.clock.set("2026-11-24T12:00:00Z".parse().unwrap());
    let vendor = app.vendor("Future Dates").await;
    let late = "must not be in the future (more than a day after the import)";

    let mut orders = two_orders();
    orders[1]["purchased_at"] = json!("2062-11-02");
    let res = import_json(&app, &vendor, &orders).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(problem["field"], "index 1, field purchased_at");
    assert_eq!(problem["detail"], format!("index 1, field purchased_at {late}"));

    let good = "F-1,,,Ann,SKU-1,,,,,2026-11-20,2026-11-22,delivered,";
    let body = format!("{HEADER}\n{good}\nF-2,,,Bob,SKU-2,,,,,2026-11-20,2026-11-25T12:00:01Z,delivered,\n");
    let res = import_csv(&app, &vendor, body.as_bytes()).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(problem["field"], "line 3, column delivered_at");
    assert_eq!(problem["detail"], format!("line 3, column delivered_at {late}"));
    assert_eq!(order_count(&app, &vendor).await, 0, "a refused import writes nothing");

    // The shop's own calendar date ahead of UTC, and up to a day of clock drift, pass.
    let mut orders = two_orders();
    orders[0]["purchased_at"] = json!("2026-11-25");
    orders[0]["delivered_at"] = json!("2026-11-25T12:00:00Z");
    let res = import_json(&app, &vendor, &orders).await;
    assert_eq!(json(res, StatusCode::OK).await, json!({"created": 2, "updated": 0, "orders": 2}));
    let order = json(get_order(&app, &vendor.sk, "A-1001").await, StatusCode::OK).await;
    assert_eq!(
        (order["purchased_at"].as_str(), order["delivered_at"].as_str()),
        (Some("2026-11-25T00:00:00+00:00"), Some("2026-11-25T12:00:00+00:00"))
    );
}

#[actix_web::test]
async fn idempotency_key_replays_the_answer_and_refuses_another_body() {
    let app = spawn_app().await;
    let vendor = app.vendor("Idempotent").await;
    let body = serde_json::to_vec(&two_orders()).unwrap();
    let first = import(&app, &vendor.sk, "application/json", body.clone(), Some("import-2026-11-24")).await;
    assert_eq!(first.headers().get("Idempotent-Replayed"), None);
    let first = json(first, StatusCode::OK).await;
    assert_eq!(first, json!({"created": 2, "updated": 0, "orders": 2}));
    let again = import(&app, &vendor.sk, "application/json", body.clone(), Some("import-2026-11-24")).await;
    assert_eq!(again.headers().get("Idempotent-Replayed").unwrap(), "true");
    // The same answer (not "updated: 2"), and nothing written twice.
    assert_eq!(json(again, StatusCode::OK).await, first);
    assert_eq!(order_count(&app, &vendor).await, 2);
    assert_eq!(audit_actions(&app, &vendor, "orders.imported").await, 1);

    let mut other = two_orders();
    other[0]["status"] = json!("refunded");
    let other = serde_json::to_vec(&other).unwrap();
    let res = import(&app, &vendor.sk, "application/json", other.clone(), Some("import-2026-11-24")).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(problem["field"], "Idempotency-Key");
    let order = json(get_order(&app, &vendor.sk, "A-1001").await, StatusCode::OK).await;
    assert_eq!(order["status"], "paid");

    let res = import(&app, &vendor.sk, "application/json", other.clone(), Some("bad key with spaces")).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(problem["field"], "Idempotency-Key");
    // Keys are per vendor: another vendor may use the same key.
    let other_vendor = app.vendor("Idempotent Two").await;
    let res = import(&app, &other_vendor.sk, "application/json", body, Some("import-2026-11-24")).await;
    assert_eq!(json(res, StatusCode::OK).await, first);
    assert_eq!(order_count(&app, &other_vendor).await, 2);

    // A key is kept 30 days: the worker then forgets it, and the key may carry a new body.
    app.clock.advance(chrono::Duration::days(29));
    assert_eq!(truview::worker::run_once(&app.state).await.unwrap().idempotency_keys_deleted, 0);
    app.clock.advance(chrono::Duration::days(2));
    assert_eq!(truview::worker::run_once(&app.state).await.unwrap().idempotency_keys_deleted, 2);
    let res = import(&app, &vendor.sk, "application/json", other, Some("import-2026-11-24")).await;
    assert_eq!(json(res, StatusCode::OK).await, json!({"created": 0, "updated": 2, "orders": 2}));
    let order = json(get_order(&app, &vendor.sk, "A-1001").await, StatusCode::OK).await;
    assert_eq!(order["status"], "refunded");
}

#[actix_web::test]
async fn reimport_updates_status_and_replaces_items() {
    let app = spawn_app().await;
    let vendor = app.vendor("Upsert").await;
    json(import_json(&app, &vendor, &two_orders()).await, StatusCode::OK).await;
    let update = json!([
        {"order_id": "A-1001", "phone": "+4915112345678", "currency": "EUR", "total": "5",
         "items": [{"sku": "SKU-7", "price": "5"}], "purchased_at": "2026-11-01T10:00:00Z",
         "delivered_at": "2026-11-05", "status": "refunded"},
        {"order_id": "A-1003", "items": [{"sku": "SKU-1"}], "purchased_at": "2026-11-04", "status": "cancelled"}
    ]);
    let res = import_json(&app, &vendor, &update).await;
    assert_eq!(json(res, StatusCode::OK).await, json!({"created": 1, "updated": 1, "orders": 2}));
    assert_eq!(order_count(&app, &vendor).await, 3);
    let order = json(get_order(&app, &vendor.sk, "A-1001").await, StatusCode::OK).await;
    assert_eq!(order["status"], "refunded");
    assert_eq!(order["delivered_at"], "2026-11-05T00:00:00+00:00");
    assert_eq!(order["total_minor"], 500);
    assert_eq!((order["has_email"].clone(), order["has_phone"].clone()), (json!(false), json!(true)));
    assert_eq!(order["items"], json!([{"sku": "SKU-7", "name": null, "price_minor": 500}]));
    assert!(order["updated_at"].is_string());
    let cancelled = json(get_order(&app, &vendor.sk, "A-1003").await, StatusCode::OK).await;
    assert_eq!(cancelled["status"], "cancelled");
}

#[actix_web::test]
async fn orders_are_scoped_to_the_vendor_and_its_secret_key() {
    let app = spawn_app().await;
    let vendor = app.vendor("Scope A").await;
    let other = app.vendor("Scope B").await;
    let body = serde_json::to_vec(&two_orders()).unwrap();
    // Publishable keys cannot import.
    let res = import(&app, &vendor.pk, "application/json", body.clone(), None).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // Staff below owner cannot import.
    let (_, analyst) = app.add_staff(&vendor, "analyst").await;
    let res = import(&app, &analyst, "application/json", body.clone(), None).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The owner can.
    let res = import(&app, &vendor.token, "application/json", body, None).await;
    assert_eq!(json(res, StatusCode::OK).await["orders"], 2);
    // Another vendor's key and staff do not see the order.
    assert_problem(get_order(&app, &other.sk, "A-1001").await, StatusCode::NOT_FOUND, "not-found").await;
    assert_problem(get_order(&app, &other.token, "A-1001").await, StatusCode::NOT_FOUND, "not-found").await;
    assert_eq!(get_order(&app, &vendor.pk, "A-1001").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(get_order(&app, &analyst, "A-1001").await.status(), StatusCode::OK);
}

#[actix_web::test]
async fn import_body_over_50_mib_is_413() {
    let app = spawn_app().await;
    let vendor = app.vendor("Big Body").await;
    let limit = 50 * 1024 * 1024;
    let mut body = format!("{HEADER}\n").into_bytes();
    body.resize(limit + 1, b'\n');
    let res = import(&app, &vendor.sk, "text/csv", body, None).await;
    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large").await;
    // Above the 64 KiB JSON limit but within 50 MiB: accepted.
    let many: Vec<Value> = (0..2_000)
        .map(|i| json!({"order_id": format!("B-{i}"), "items": [{"sku": "S"}], "purchased_at": "2026-11-01"}))
        .collect();
    let body = serde_json::to_vec(&many).unwrap();
    assert!(body.len() > 64 * 1024);
    let res = import(&app, &vendor.sk, "application/json", body, None).await;
    assert_eq!(json(res, StatusCode::OK).await, json!({"created": 2000, "updated": 0, "orders": 2000}));
    assert_eq!(order_count(&app, &vendor).await, 2000);
}

#[actix_web::test]
async fn get_order_lists_the_reviews_bound_to_it() {
    let app = spawn_app().await;
    let vendor = app.vendor("Bound Reviews").await;
    json(import_json(&app, &vendor, &two_orders()).await, StatusCode::OK).await;
    let internal_id = {
        let vendor_id = vendor.id.clone();
        app.state
            .db
            .run(move |conn| Ok(truview::store::orders::by_ref(conn, &vendor_id, "A-1001")?.unwrap().0.id))
            .await
            .unwrap()
    };
    let flow = app.flow(&vendor, Some("SKU-1")).await;
    app.attach_purchase(&flow, &internal_id).await;
    let review = json(app.submit(&flow, 5, json!({})).await, StatusCode::CREATED).await;
    let order = json(get_order(&app, &vendor.sk, "A-1001").await, StatusCode::OK).await;
    assert_eq!(order["review_ids"], json!([review["id"]]));
    let other = json(get_order(&app, &vendor.sk, "A-1002").await, StatusCode::OK).await;
    assert_eq!(other["review_ids"], json!([]));
}

async fn stored_order(app: &TestApp, vendor: &Vendor, order_ref: &str) -> truview::store::orders::Order {
    let (vendor_id, order_ref) = (vendor.id.clone(), order_ref.to_owned());
    app.state
        .db
        .run(move |conn| Ok(truview::store::orders::by_ref(conn, &vendor_id, &order_ref)?.expect("order").0))
        .await
        .unwrap()
}

#[actix_web::test]
async fn raw_contacts_are_sealed_kept_for_the_retention_and_erased() {
    let app = spawn_app().await;
    let vendor = app.vendor("Raw Contacts").await;
    let orders = json!([
        {"order_id": "R-1", "email": "Ann@Mail.Example", "phone": "+44 7400 123456", "items": [{"sku": "S"}], "purchased_at": "2026-11-01"},
        {"order_id": "R-2", "email": "bob@mail.example", "items": [{"sku": "S"}], "purchased_at": "2026-11-01"},
    ]);
    json(import_json(&app, &vendor, &orders).await, StatusCode::OK).await;
    let row = stored_order(&app, &vendor, "R-1").await;
    let context = truview::kyp::orders::contact_context(&vendor.id, "R-1");
    let (email, phone) = (row.email_sealed.clone().unwrap(), row.phone_sealed.clone().unwrap());
    assert!(!email.contains("ann") && !phone.contains("7400"), "sealed, not plain");
    assert_eq!(app.state.sealer.open(&context, &email).as_deref(), Some("ann@mail.example"));
    assert_eq!(app.state.sealer.open(&context, &phone).as_deref(), Some("+447400123456"));
    assert_eq!(app.state.sealer.open(&truview::kyp::orders::contact_context(&vendor.id, "R-2"), &email), None);
    let shown = app.request(Method::GET, "/api/v1/orders/R-1", Some(&vendor.sk), None).await.text().await.unwrap();
    assert!(!shown.contains("ann@") && !shown.contains(&email), "never shown: {shown}");

    // Erasure clears them at once.
    let res = app
        .request(
            Method::POST,
            "/api/v1/privacy/erase",
            Some(&vendor.token),
            Some(&json!({"email": "bob@mail.example"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(stored_order(&app, &vendor, "R-2").await.email_sealed, None);

    // The worker clears the rest after 30 days; the HMACs stay for matching.
    app.clock.advance(chrono::Duration::days(29));
    assert_eq!(truview::worker::run_once(&app.state).await.unwrap().raw_contacts_cleared, 0);
    app.clock.advance(chrono::Duration::days(2));
    assert_eq!(truview::worker::run_once(&app.state).await.unwrap().raw_contacts_cleared, 1);
    let row = stored_order(&app, &vendor, "R-1").await;
    assert_eq!((row.email_sealed, row.phone_sealed, row.contacts_expire_at), (None, None, None));
    assert!(row.email_hmac.is_some() && row.phone_hmac.is_some());

    // With contact_retention_days = 0 nothing raw is kept.
    let app = crate::helpers::spawn_app_with(|s| s.contact_retention_days = 0).await;
    let vendor = app.vendor("No Raw Contacts").await;
    json(import_json(&app, &vendor, &orders).await, StatusCode::OK).await;
    let row = stored_order(&app, &vendor, "R-1").await;
    assert_eq!((row.email_sealed, row.phone_sealed, row.contacts_expire_at), (None, None, None));
}

/// Posts `pieces` as a chunked body (no `Content-Length`), one chunk each, the way a client
/// streams an export it is still reading; answers the status line's code and the body.
async fn post_chunked(app: &TestApp, token: &str, key: &str, pieces: Vec<Vec<u8>>) -> (u16, Value) {
    let addr = app.address.trim_start_matches("http://").to_owned();
    let head = format!(
        "POST /api/v1/orders HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: text/csv\r\n\
         Idempotency-Key: {key}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let answer = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut socket = std::net::TcpStream::connect(&addr).unwrap();
        socket.write_all(head.as_bytes()).unwrap();
        // The server may answer (an early error) before the body ends: writes then fail.
        let _ = pieces.iter().try_for_each(|piece| {
            socket.write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
            socket.write_all(piece)?;
            socket.write_all(b"\r\n")
        });
        let _ = socket.write_all(b"0\r\n\r\n");
        let mut answer = Vec::new();
        socket.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
        if let Err(e) = socket.read_to_end(&mut answer) {
            let timed_out = matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut);
            assert!(!timed_out, "the server answered but kept the connection open: {e}");
        }
        answer
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&answer);
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no answer: {text}"));
    let (_, body) = text.split_once("\r\n\r\n").unwrap();
    (status, serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}")))
}

/// The body is parsed as it arrives, so nothing about the way it is cut into pieces
/// matters: rows cut mid-line and CRLFs cut in two import the same orders, errors name the
/// same lines, the Idempotency-Key's hash is the whole body's, and the limit holds for a
/// body without a declared length.
#[actix_web::test]
async fn a_streamed_import_reads_the_body_as_it_arrives() {
    let app = spawn_app().await;
    let vendor = app.vendor("Streamed").await;
    let mut csv = "order_id,email,sku,price,currency,purchased_at\r\n".to_owned();
    for i in 0..30_000 {
        csv.push_str(&format!("S-{i},buyer{i}@example.com,SKU-{},9.90,EUR,2026-11-01\r\n", i % 7));
    }
    assert!(csv.len() > 20 * 64 * 1024, "many reads past the 64 KiB head");
    let pieces = |body: &[u8], size: usize| body.chunks(size).map(<[u8]>::to_vec).collect::<Vec<_>>();

    // A bad row last: 422 naming its line, nothing imported.
    let bad = format!("{csv}S-x,x@example.com,SKU-1,9.90,EUR,2026-13-01\r\n");
    let (status, problem) = post_chunked(&app, &vendor.sk, "stream-bad", pieces(bad.as_bytes(), 7_001)).await;
    assert_eq!((status, problem["field"].as_str()), (422, Some("line 30002, column purchased_at")), "{problem}");
    assert_eq!(order_count(&app, &vendor).await, 0);

    let (status, answer) = post_chunked(&app, &vendor.sk, "stream-1", pieces(csv.as_bytes(), 7_001)).await;
    assert_eq!((status, answer), (200, json!({"created": 30_000, "updated": 0, "orders": 30_000})));
    assert_eq!(order_count(&app, &vendor).await, 30_000);
    // The same body in one piece, with its length: the same key replays the stored answer.
    let res = import(&app, &vendor.sk, "text/csv", csv.clone().into_bytes(), Some("stream-1")).await;
    assert_eq!(res.headers().get("Idempotent-Replayed").map(|v| v.to_str().unwrap()), Some("true"));
    assert_eq!(json(res, StatusCode::OK).await, json!({"created": 30_000, "updated": 0, "orders": 30_000}));
    // Cut into other pieces, it is still the same body.
    let (status, again) = post_chunked(&app, &vendor.sk, "stream-1", pieces(csv.as_bytes(), 1 << 20)).await;
    assert_eq!((status, again), (200, json!({"created": 30_000, "updated": 0, "orders": 30_000})));

    // Past 50 MiB without a declared length (blank lines: the rows stay valid): 413, and
    // the connection closes (the client reads the answer only after sending everything).
    let mut big = vec![b"order_id,sku,purchased_at\nL-1,SKU-1,2026-11-01\n".to_vec()];
    big.extend(std::iter::repeat_n(vec![b'\n'; 1 << 20], 51));
    let (status, problem) = post_chunked(&app, &vendor.sk, "stream-big", big).await;
    assert_eq!((status, problem["type"].as_str()), (413, Some("urn:truview:problem:payload-too-large")));
    assert_eq!(order_count(&app, &vendor).await, 30_000);
}

/// A new shop's first big import on PostgreSQL leaves the order tables' statistics current.
/// (P3: planned from the statistics of the empty tables, each later import scanned them
/// whole and took longer than the last, 0.8 s to 30 s for 20,000 orders, until autovacuum
/// came about a minute later.) SQLite needs no statistics for these lookups.
#[actix_web::test]
async fn a_first_big_import_leaves_the_order_statistics_current() {
    let app = spawn_app().await;
    let vendor = app.vendor("Big First Import").await;
    let mut body = format!("{HEADER}\n");
    for i in 0..3000 {
        body.push_str(&format!(
            "S-{i:05},buyer{i}@mail.example,,Buyer {i},SKU-{},Item,19.90,19.90,EUR,2026-11-01,,delivered,en\n",
            i % 50
        ));
    }
    let res = import_csv(&app, &vendor, body.as_bytes()).await;
    assert_eq!(json(res, StatusCode::OK).await, json!({"created": 3000, "updated": 0, "orders": 3000}));
    assert_eq!(order_count(&app, &vendor).await, 3000);
    if !app.db.is_postgres() {
        eprintln!("note: the order tables' statistics are checked on PostgreSQL (TRUVIEW_TEST_DATABASE_URL)");
        return;
    }
    let estimated = app
        .state
        .db
        .run(|conn| {
            use diesel::prelude::*;
            #[derive(QueryableByName)]
            struct Estimate {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                orders: i64,
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                items: i64,
            }
            let truview::db::DbConn::Pg(c) = conn else { unreachable!("a PostgreSQL test database") };
            let e: Estimate = diesel::sql_query(
                "SELECT (SELECT reltuples::bigint FROM pg_class WHERE oid = 'orders'::regclass) AS orders, \
                 (SELECT reltuples::bigint FROM pg_class WHERE oid = 'order_items'::regclass) AS items",
            )
            .get_result(c)?;
            Ok((e.orders, e.items))
        })
        .await
        .unwrap();
    assert_eq!(estimated, (3000, 3000), "the planner's row estimates for orders and order_items");
}
