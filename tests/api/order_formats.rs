//! Orders as shops export them: a Shopify orders export and a WooCommerce REST API
//! response, imported as they are (auto-detected or named), through the API and the CLI.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, json, spawn_app, TestApp, Vendor};

const SHOPIFY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/shopify_orders_export.csv");
const WOO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/woocommerce_orders.json");

async fn post(app: &TestApp, v: &Vendor, query: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/orders{query}")))
        .bearer_auth(&v.sk)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn order(app: &TestApp, v: &Vendor, number: &str) -> Value {
    let path =
        format!("/api/v1/orders/{}", url::form_urlencoded::byte_serialize(number.as_bytes()).collect::<String>());
    let mut o = json(app.request(Method::GET, &path, Some(&v.sk), None).await, StatusCode::OK).await;
    let o = o.as_object_mut().unwrap();
    o.remove("created_at");
    o.remove("updated_at");
    Value::Object(o.clone())
}

fn item(sku: &str, name: &str, price: i64) -> Value {
    json!({"sku": sku, "name": name, "price_minor": price})
}

#[actix_web::test]
async fn a_shopify_export_imports_as_it_is() {
    let app = spawn_app().await;
    let v = app.vendor("Shopify Shop").await;
    let file = std::fs::read(SHOPIFY).unwrap();
    let counts = json(post(&app, &v, "", "text/csv", file.clone()).await, StatusCode::OK).await;
    assert_eq!(counts, json!({"created": 4, "updated": 0, "orders": 4}));
    assert_eq!(
        order(&app, &v, "#1001").await,
        json!({
            "order_id": "#1001", "status": "fulfilled", "purchased_at": "2026-10-02T08:14:31+00:00",
            "delivered_at": "2026-10-03T07:00:00+00:00", "total_minor": 6490, "currency": "EUR", "locale": null,
            "has_email": true, "has_phone": true, "has_customer_name": true,
            "items": [item("LAMP-OAK", "Oak Desk Lamp", 4990), item("name:led-bulb-9w-warm", "LED Bulb 9W (warm)", 750)],
            "review_ids": [],
        })
    );
    assert_eq!(order(&app, &v, "#1002").await["status"], json!("refunded"));
    assert_eq!(order(&app, &v, "#1003").await["status"], json!("cancelled"));
    let pending = order(&app, &v, "#1004").await;
    // A phone without its country code cannot be matched: left out, the order kept.
    assert_eq!((pending["status"].clone(), pending["has_phone"].clone()), (json!("paid"), json!(false)));

    // Columns are matched by name: the same export with its columns reversed, named as
    // Shopify's, gives the same orders.
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(&file[..]);
    let mut out = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    for record in reader.records() {
        let record = record.unwrap();
        out.write_record(record.iter().rev()).unwrap();
    }
    let reversed = out.into_inner().unwrap();
    let w = app.vendor("Shopify Reversed").await;
    let counts = json(post(&app, &w, "?format=shopify", "text/csv", reversed).await, StatusCode::OK).await;
    assert_eq!(counts["orders"], json!(4));
    for number in ["#1001", "#1002", "#1003", "#1004"] {
        assert_eq!(order(&app, &v, number).await, order(&app, &w, number).await, "{number}");
    }

    // A bad value is refused with the file's line and Shopify's column; nothing imported.
    let broken = String::from_utf8(file).unwrap().replace("2026-10-04 11:59:02 +0200", "04/10/2026");
    let x = app.vendor("Shopify Broken").await;
    let problem = assert_problem(
        post(&app, &x, "", "text/csv", broken.into_bytes()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(problem["field"], json!("line 4, column Created at"));
    let listed =
        json(app.request(Method::GET, "/api/v1/orders/%231001", Some(&x.sk), None).await, StatusCode::NOT_FOUND).await;
    assert_eq!(listed["status"], json!(404));
}

#[actix_web::test]
async fn woocommerce_orders_import_as_the_api_returns_them() {
    let app = spawn_app().await;
    let v = app.vendor("Woo Shop").await;
    let file = std::fs::read(WOO).unwrap();
    // The pending order is not a purchase: skipped.
    let counts = json(post(&app, &v, "", "application/json", file.clone()).await, StatusCode::OK).await;
    assert_eq!(counts, json!({"created": 3, "updated": 0, "orders": 3}));
    assert_eq!(
        order(&app, &v, "2001").await,
        json!({
            "order_id": "2001", "status": "delivered", "purchased_at": "2026-10-10T08:30:00+00:00",
            "delivered_at": "2026-10-12T15:00:00+00:00", "total_minor": 8970, "currency": "EUR", "locale": null,
            "has_email": true, "has_phone": true, "has_customer_name": true,
            "items": [item("LAMP-OAK", "Oak Desk Lamp", 4990), item("SHADE-LIN", "Linen Shade", 1990)],
            "review_ids": [],
        })
    );
    let processing = order(&app, &v, "2002").await;
    assert_eq!(processing["status"], json!("paid"));
    assert_eq!(processing["items"], json!([item("name:gift-card", "Gift Card", 2500)]));
    let refunded = order(&app, &v, "2003").await;
    assert_eq!((refunded["status"].clone(), refunded["has_phone"].clone()), (json!("refunded"), json!(false)));
    assert_eq!(
        app.request(Method::GET, "/api/v1/orders/2004", Some(&v.sk), None).await.status(),
        StatusCode::NOT_FOUND
    );

    // Named formats must fit the content type; unknown formats are 400.
    let res = post(&app, &v, "?format=woocommerce", "text/csv", b"a,b\n".to_vec()).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(problem["detail"], json!("format woocommerce reads an application/json body"));
    let res = post(&app, &v, "?format=magento", "application/json", file.clone()).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // A bad field names the order's index and WooCommerce's field.
    let mut orders: Value = serde_json::from_slice(&file).unwrap();
    orders[1]["line_items"][0]["price"] = json!(-3);
    let problem = assert_problem(
        post(&app, &v, "?format=woocommerce", "application/json", serde_json::to_vec(&orders).unwrap()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(problem["field"], json!("index 1, field line_items[0].price"));
}

#[actix_web::test]
async fn the_cli_takes_shop_exports_too() {
    let app = spawn_app().await;
    let v = app.vendor("CLI Shop").await;
    for (file, expected) in [(SHOPIFY, "4 orders in 1 chunk(s)"), (WOO, "3 orders in 1 chunk(s)")] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_truview"))
            .env("DATABASE_URL", &app.settings.database_url)
            .env("TRUVIEW_KEY_FILE", app.key_file())
            .env("TRUVIEW_LOG_LEVEL", "error")
            .args(["orders", "import", file, "--vendor", &v.id])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.starts_with(expected), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(order(&app, &v, "#1001").await["status"], json!("fulfilled"));
    assert_eq!(order(&app, &v, "2001").await["status"], json!("delivered"));
}
