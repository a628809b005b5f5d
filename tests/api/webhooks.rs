//! Live order intake: Shopify and WooCommerce webhooks, verified by the platform's HMAC
//! signature under the vendor's secret, replay-safe and order-safe.

use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::{assert_problem, json, spawn_app, TestApp, Vendor};

const SHOPIFY_SECRET: &str = "shpss_0123456789abcdef0123";
const WOO_SECRET: &str = "woo-secret-0123456789";

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn configure(app: &TestApp, v: &Vendor, platform: &str, secret: &str) -> Value {
    let res = app
        .request(
            Method::PUT,
            &format!("/api/v1/integrations/{platform}"),
            Some(&v.sk),
            Some(&json!({"secret": secret})),
        )
        .await;
    json(res, StatusCode::CREATED).await
}

async fn deliver(
    app: &TestApp,
    platform: &str,
    vendor_id: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url(&format!("/api/v1/integrations/{platform}/{vendor_id}/orders")))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    req.send().await.unwrap()
}

fn shopify_order(updated_at: &str, financial: &str, fulfillment: Option<&str>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": 5801234567890u64, "name": "#1001", "email": "ann@mail.example", "phone": null,
        "created_at": "2026-10-02T10:14:31+02:00", "updated_at": updated_at, "cancelled_at": null,
        "financial_status": financial, "fulfillment_status": fulfillment, "currency": "EUR", "total_price": "64.90",
        "customer": {"id": 1, "first_name": "Ann", "last_name": "Brown", "phone": "+44 7400 123456"},
        "billing_address": {"name": "Ann Brown", "phone": "+44 7400 123456"},
        "line_items": [{"id": 1, "sku": "LAMP-OAK", "name": "Oak Desk Lamp", "title": "Oak Desk Lamp", "price": "49.90", "quantity": 1},
                       {"id": 2, "sku": "", "name": "LED Bulb 9W", "price": "7.50", "quantity": 2}],
        "fulfillments": [],
    }))
    .unwrap()
}

async fn status_of(app: &TestApp, v: &Vendor, number: &str) -> Value {
    let path =
        format!("/api/v1/orders/{}", url::form_urlencoded::byte_serialize(number.as_bytes()).collect::<String>());
    json(app.request(Method::GET, &path, Some(&v.sk), None).await, StatusCode::OK).await["status"].clone()
}

#[actix_web::test]
async fn a_webhook_order_dated_more_than_a_day_ahead_of_the_clock_is_refused_until_it_is_not() {
    let app = spawn_app().await;
    let v = app.vendor("Early Hook Shop").await;
    configure(&app, &v, "shopify", SHOPIFY_SECRET).await;
    let created = shopify_order("2026-10-02T10:14:35+02:00", "paid", None);
    let signed =
        [("X-Shopify-Topic", "orders/create".to_owned()), ("X-Shopify-Hmac-Sha256", sign(SHOPIFY_SECRET, &created))];
    // Created at 08:14:31 UTC on 2 October: 32 hours after this clock, a shop clock gone wrong.
    app.clock.set("2026-10-01T00:00:00Z".parse().unwrap());
    let problem = assert_problem(
        deliver(&app, "shopify", &v.id, &signed, &created).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(problem["field"], "purchased_at");
    assert_eq!(problem["detail"], "purchased_at must not be in the future (more than a day after the import)");
    assert_eq!(
        app.request(Method::GET, "/api/v1/orders/%231001", Some(&v.sk), None).await.status(),
        StatusCode::NOT_FOUND
    );
    // Shopify retries the delivery; once the date is within a day it is applied.
    app.clock.set("2026-10-01T09:00:00Z".parse().unwrap());
    let res = deliver(&app, "shopify", &v.id, &signed, &created).await;
    assert_eq!(json(res, StatusCode::OK).await, json!({"result": "applied"}));
    assert_eq!(status_of(&app, &v, "#1001").await, json!("paid"));
}

#[actix_web::test]
async fn shopify_webhooks_are_verified_and_replay_safe() {
    let app = spawn_app().await;
    let v = app.vendor("Hook Shop").await;
    let other = app.vendor("Other Hook Shop").await;
    let view = configure(&app, &v, "shopify", SHOPIFY_SECRET).await;
    assert_eq!(view["platform"], json!("shopify"));
    assert!(view["webhook_url"].as_str().unwrap().ends_with(&format!("/api/v1/integrations/shopify/{}/orders", v.id)));
    assert!(!view.to_string().contains(SHOPIFY_SECRET), "the secret is never shown");
    configure(&app, &other, "shopify", "another-shop-secret-000").await;

    let created = shopify_order("2026-10-02T10:14:35+02:00", "paid", None);
    let topic = ("X-Shopify-Topic", "orders/create".to_owned());
    // Forged, another shop's secret, missing, tampered after signing, unknown vendor: 401, nothing stored.
    let tampered = String::from_utf8(created.clone()).unwrap().replace("64.90", "1.00").into_bytes();
    for (vendor_id, headers, body) in [
        (v.id.as_str(), vec![topic.clone(), ("X-Shopify-Hmac-Sha256", "Zm9yZ2Vk".to_owned())], created.clone()),
        (
            v.id.as_str(),
            vec![topic.clone(), ("X-Shopify-Hmac-Sha256", sign("another-shop-secret-000", &created))],
            created.clone(),
        ),
        (v.id.as_str(), vec![topic.clone()], created.clone()),
        (v.id.as_str(), vec![topic.clone(), ("X-Shopify-Hmac-Sha256", sign(SHOPIFY_SECRET, &created))], tampered),
        (
            "no-such-vendor",
            vec![topic.clone(), ("X-Shopify-Hmac-Sha256", sign(SHOPIFY_SECRET, &created))],
            created.clone(),
        ),
    ] {
        let problem = assert_problem(
            deliver(&app, "shopify", vendor_id, &headers, &body).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
        assert_eq!(problem["detail"], json!("the webhook signature does not verify for this shop"));
    }
    assert_eq!(
        app.request(Method::GET, "/api/v1/orders/%231001", Some(&v.sk), None).await.status(),
        StatusCode::NOT_FOUND
    );

    // Signed: applied once; the same delivery again changes nothing.
    let signed = vec![topic.clone(), ("X-Shopify-Hmac-Sha256", sign(SHOPIFY_SECRET, &created))];
    let res = deliver(&app, "shopify", &v.id, &signed, &created).await;
    assert_eq!(json(res, StatusCode::OK).await, json!({"result": "applied"}));
    let res = deliver(&app, "shopify", &v.id, &signed, &created).await;
    assert_eq!(json(res, StatusCode::OK).await, json!({"result": "replayed"}));
    let order = json(app.request(Method::GET, "/api/v1/orders/%231001", Some(&v.sk), None).await, StatusCode::OK).await;
    assert_eq!(
        order["items"],
        json!([
            {"sku": "LAMP-OAK", "name": "Oak Desk Lamp", "price_minor": 4990},
            {"sku": "name:led-bulb-9w", "name": "LED Bulb 9W", "price_minor": 750},
        ])
    );
    assert_eq!((order["status"].clone(), order["has_phone"].clone()), (json!("paid"), json!(true)));

    // A newer update applies; an older one arriving late does not undo it.
    let fulfilled = shopify_order("2026-10-03T09:00:00+02:00", "paid", Some("fulfilled"));
    let headers = vec![
        ("X-Shopify-Topic", "orders/fulfilled".to_owned()),
        ("X-Shopify-Hmac-Sha256", sign(SHOPIFY_SECRET, &fulfilled)),
    ];
    assert_eq!(
        json(deliver(&app, "shopify", &v.id, &headers, &fulfilled).await, StatusCode::OK).await["result"],
        json!("applied")
    );
    let stale = shopify_order("2026-10-02T12:00:00+02:00", "refunded", None);
    let headers =
        vec![("X-Shopify-Topic", "orders/updated".to_owned()), ("X-Shopify-Hmac-Sha256", sign(SHOPIFY_SECRET, &stale))];
    assert_eq!(
        json(deliver(&app, "shopify", &v.id, &headers, &stale).await, StatusCode::OK).await["result"],
        json!("replayed")
    );
    assert_eq!(status_of(&app, &v, "#1001").await, json!("fulfilled"));
    let refunded = shopify_order("2026-10-05T09:00:00+02:00", "refunded", Some("fulfilled"));
    let headers = vec![
        ("X-Shopify-Topic", "orders/updated".to_owned()),
        ("X-Shopify-Hmac-Sha256", sign(SHOPIFY_SECRET, &refunded)),
    ];
    assert_eq!(
        json(deliver(&app, "shopify", &v.id, &headers, &refunded).await, StatusCode::OK).await["result"],
        json!("applied")
    );
    assert_eq!(status_of(&app, &v, "#1001").await, json!("refunded"));

    // Other topics are acknowledged and ignored; a bad order body is 422; the other shop got nothing.
    let headers =
        vec![("X-Shopify-Topic", "products/update".to_owned()), ("X-Shopify-Hmac-Sha256", sign(SHOPIFY_SECRET, b"{}"))];
    assert_eq!(
        json(deliver(&app, "shopify", &v.id, &headers, b"{}").await, StatusCode::ACCEPTED).await,
        json!({"result": "ignored"})
    );
    let bad = b"{\"id\": 1, \"updated_at\": \"2026-10-09T00:00:00Z\"}";
    let headers = vec![topic.clone(), ("X-Shopify-Hmac-Sha256", sign(SHOPIFY_SECRET, bad))];
    assert_eq!(deliver(&app, "shopify", &v.id, &headers, bad).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.request(Method::GET, "/api/v1/orders/%231001", Some(&other.sk), None).await.status(),
        StatusCode::NOT_FOUND
    );

    // The list shows the last delivery; removing the integration makes its webhooks 401.
    let list = json(app.request(Method::GET, "/api/v1/integrations", Some(&v.token), None).await, StatusCode::OK).await;
    assert_eq!(list["integrations"].as_array().unwrap().len(), 1);
    assert!(list["integrations"][0]["last_delivery_at"].is_string());
    let res = app.request(Method::DELETE, "/api/v1/integrations/shopify", Some(&v.token), None).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(deliver(&app, "shopify", &v.id, &signed, &created).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.request(Method::DELETE, "/api/v1/integrations/shopify", Some(&v.token), None).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn woocommerce_webhooks_and_bad_set_up() {
    let app = spawn_app().await;
    let v = app.vendor("Woo Hook Shop").await;
    configure(&app, &v, "woocommerce", WOO_SECRET).await;
    // The unsigned ping WooCommerce sends when a webhook is created: acknowledged.
    let ping = app
        .client
        .post(app.url(&format!("/api/v1/integrations/woocommerce/{}/orders", v.id)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("webhook_id=7")
        .send()
        .await
        .unwrap();
    assert_eq!(json(ping, StatusCode::OK).await, json!({"result": "ignored"}));
    let orders: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/woocommerce_orders.json"))
            .unwrap(),
    )
    .unwrap();
    let mut completed = orders[0].clone();
    completed["date_modified_gmt"] = json!("2026-10-12T15:00:01");
    let body = serde_json::to_vec(&completed).unwrap();
    let headers =
        vec![("X-WC-Webhook-Topic", "order.updated".to_owned()), ("X-WC-Webhook-Signature", sign(WOO_SECRET, &body))];
    assert_eq!(
        json(deliver(&app, "woocommerce", &v.id, &headers, &body).await, StatusCode::OK).await["result"],
        json!("applied")
    );
    assert_eq!(status_of(&app, &v, "2001").await, json!("delivered"));
    let pending = serde_json::to_vec(&orders[3]).unwrap();
    let headers = vec![
        ("X-WC-Webhook-Topic", "order.created".to_owned()),
        ("X-WC-Webhook-Signature", sign(WOO_SECRET, &pending)),
    ];
    assert_eq!(
        json(deliver(&app, "woocommerce", &v.id, &headers, &pending).await, StatusCode::ACCEPTED).await["result"],
        json!("ignored")
    );
    let headers = vec![
        ("X-WC-Webhook-Topic", "order.updated".to_owned()),
        ("X-WC-Webhook-Signature", sign("wrong-secret-000000", &body)),
    ];
    assert_eq!(deliver(&app, "woocommerce", &v.id, &headers, &body).await.status(), StatusCode::UNAUTHORIZED);

    // Set-up input: short or non-ASCII secrets, unknown platforms, analysts.
    for bad in [
        json!({"secret": "short"}),
        json!({"secret": "x".repeat(257)}),
        json!({"secret": "ünïcödé-secret-000"}),
        json!({}),
    ] {
        let res = app.request(Method::PUT, "/api/v1/integrations/shopify", Some(&v.sk), Some(&bad)).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let res = app
        .request(Method::PUT, "/api/v1/integrations/magento", Some(&v.sk), Some(&json!({"secret": SHOPIFY_SECRET})))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = deliver(&app, "magento", &v.id, &[], b"{}").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let big = vec![b' '; 1024 * 1024 + 1];
    assert_eq!(deliver(&app, "woocommerce", &v.id, &[], &big).await.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Replacing a secret answers 200 and the old one stops verifying.
    let res = app
        .request(
            Method::PUT,
            "/api/v1/integrations/woocommerce",
            Some(&v.token),
            Some(&json!({"secret": "a-new-secret-0000000"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let headers =
        vec![("X-WC-Webhook-Topic", "order.updated".to_owned()), ("X-WC-Webhook-Signature", sign(WOO_SECRET, &body))];
    assert_eq!(deliver(&app, "woocommerce", &v.id, &headers, &body).await.status(), StatusCode::UNAUTHORIZED);
}
