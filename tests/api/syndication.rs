//! Syndication (SPEC §11): Google's product-review feed at a secret URL, validated against
//! the 2.4 schema with xmllint, and the JSON export with level and checks.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, json, spawn_app, TestApp, Vendor};

const XSD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/google-product-reviews-2.4.xsd");

/// Validates a feed with xmllint against the schema; outside CI a missing xmllint skips
/// loudly, under `CI=true` it fails.
fn assert_valid_feed(xml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("feed.xml");
    std::fs::write(&file, xml).unwrap();
    match std::process::Command::new("xmllint").arg("--noout").arg("--schema").arg(XSD).arg(&file).output() {
        Ok(out) => assert!(
            out.status.success(),
            "the feed does not validate against Google's schema:\n{}\n{xml}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => panic!("xmllint is required under CI: {e}"),
        Err(e) => {
            eprintln!("\n*** SKIPPED schema validation: xmllint not found ({e}); apt-get install libxml2-utils ***\n")
        }
    }
}

async fn put_product(app: &TestApp, v: &Vendor, sku: &str, body: Value) {
    let res = app.request(Method::PUT, &format!("/api/v1/products/{sku}"), Some(&v.sk), Some(&body)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

async fn feed_url(app: &TestApp, v: &Vendor) -> String {
    let res = app.request(Method::POST, "/api/v1/syndication/google-feed", Some(&v.token), None).await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    let url = json(res, StatusCode::CREATED).await["feed_url"].as_str().unwrap().to_owned();
    // The path of the URL the server printed (the test server's own base differs).
    url[url.find("/feeds/").expect("a /feeds/ URL")..].to_owned()
}

async fn fetch(app: &TestApp, path: &str) -> (StatusCode, String, Option<String>) {
    let res = app.get(path).await;
    let status = res.status();
    let count = res.headers().get("x-truview-reviews").map(|v| v.to_str().unwrap().to_owned());
    (status, res.text().await.unwrap(), count)
}

/// A review with verified purchase (level 3) on `sku`, published.
async fn verified_review(app: &TestApp, v: &Vendor, sku: &str, order: &str) -> String {
    let order_id = app.order(v, order, Some("buyer@mail.example"), None, &[sku]).await;
    let flow = app.flow(v, Some(sku)).await;
    app.attach_purchase(&flow, &order_id).await;
    let body = json!({"pros": "Bright\nLight", "cons": "Pricey"});
    let id = json(app.submit(&flow, 5, body).await, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned();
    app.publish(v, &id).await;
    id
}

fn rfc3339_now(app: &TestApp) -> String {
    let now = truview::clock::Clock::now_ms(app.clock.as_ref());
    truview::clock::from_ms(now).to_rfc3339()
}

#[actix_web::test]
async fn google_feed_validates_and_carries_only_what_the_vendor_page_shows() {
    let app = spawn_app().await;
    let v = app.vendor("Feed Shop").await;
    let origins = json!({"origins": ["https://shop.example"]});
    json(app.request(Method::PATCH, "/api/v1/vendor", Some(&v.token), Some(&origins)).await, StatusCode::OK).await;
    put_product(
        &app,
        &v,
        "LAMP-1",
        json!({"name": "Desk Lamp & Shade", "url": "https://shop.example/p/lamp", "gtin": "4006381333931", "mpn": "DL-1", "brand": "Acme"}),
    )
    .await;
    put_product(&app, &v, "MUG-2", json!({"name": "Mug"})).await;

    let verified = verified_review(&app, &v, "LAMP-1", "A-1").await;
    let plain = app.review(&v, Some("MUG-2"), 2).await;
    app.publish(&v, &plain).await;
    let shop_wide = app.review(&v, None, 4).await;
    app.publish(&v, &shop_wide).await;
    let pending = app.review(&v, Some("MUG-2"), 3).await;
    let insider_flow = app.flow(&v, Some("MUG-2")).await;
    let insider = json(app.submit(&insider_flow, 5, json!({"email": "staff@shop.example"})).await, StatusCode::CREATED)
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.publish(&v, &insider).await;

    // Off until the owner makes the URL.
    assert_eq!(
        json(app.request(Method::GET, "/api/v1/syndication", Some(&v.sk), None).await, StatusCode::OK).await,
        json!({"google_feed_enabled": false})
    );
    let path = feed_url(&app, &v).await;
    assert_eq!(
        json(app.request(Method::GET, "/api/v1/syndication", Some(&v.token), None).await, StatusCode::OK).await,
        json!({"google_feed_enabled": true})
    );

    let (status, xml, count) = fetch(&app, &path).await;
    assert_eq!(status, StatusCode::OK, "{xml}");
    assert_valid_feed(&xml);
    assert_eq!(count.as_deref(), Some("2"), "{xml}");
    // The verified review, with the product's identifiers and flags.
    let verified_at = xml.find(&format!("<review_id>{verified}</review_id>")).expect("verified review in the feed");
    let verified_xml = &xml[verified_at..xml[verified_at..].find("</review>").unwrap() + verified_at];
    for part in [
        "<name>Ann B.</name>",
        "<is_verified_purchase>true</is_verified_purchase>",
        "<is_incentivized_review>false</is_incentivized_review>",
        "<title>5 stars</title>",
        "<pro>Bright</pro>",
        "<pro>Light</pro>",
        "<con>Pricey</con>",
        "<review_url type=\"group\">https://shop.example/p/lamp</review_url>",
        "<overall min=\"1\" max=\"5\">5</overall>",
        "<gtin>4006381333931</gtin>",
        "<mpn>DL-1</mpn>",
        "<sku>LAMP-1</sku>",
        "<brand>Acme</brand>",
        "<product_name>Desk Lamp &amp; Shade</product_name>",
        "<product_url>https://shop.example/p/lamp</product_url>",
        "<collection_method>post_fulfillment</collection_method>",
    ] {
        assert!(verified_xml.contains(part), "{part} missing in\n{verified_xml}");
    }
    // The unverified one points at the shop (its product has no page) and is unsolicited.
    let plain_at = xml.find(&format!("<review_id>{plain}</review_id>")).expect("plain review in the feed");
    let plain_xml = &xml[plain_at..];
    assert!(plain_xml.contains("<is_verified_purchase>false</is_verified_purchase>"));
    assert!(plain_xml.contains("<product_url>https://shop.example</product_url>"));
    assert!(plain_xml.contains("<collection_method>unsolicited</collection_method>"));
    // Whole-shop, pending and insider reviews are not product reviews Google may show.
    for absent in [&shop_wide, &pending, &insider] {
        assert!(!xml.contains(absent.as_str()), "{absent} must not be in the feed");
    }
    assert!(!xml.contains("<deleted_reviews>"));

    // Incremental: what changed since T. The plain review is withdrawn, the pending one
    // published; the verified one did not change.
    app.clock.advance(chrono::Duration::hours(1));
    let v = Vendor { token: app.login(&v.email, &v.password).await, ..v };
    let since = rfc3339_now(&app);
    json(app.decide(&v, &plain, json!({"action": "reject", "reason": "spam"})).await, StatusCode::OK).await;
    app.publish(&v, &pending).await;
    let (status, xml, count) = fetch(&app, &format!("{path}?since={}", urlencode(&since))).await;
    assert_eq!(status, StatusCode::OK);
    assert_valid_feed(&xml);
    assert_eq!(count.as_deref(), Some("1"));
    assert!(xml.contains(&format!("<review_id>{pending}</review_id>")));
    assert!(
        xml.contains(&format!("<deleted_reviews>\n    <review_id>{plain}</review_id>\n  </deleted_reviews>")),
        "{xml}"
    );
    assert!(!xml.contains(&verified));

    // Bad input: a malformed `since` is 400; a malformed or unknown token is 404.
    assert_problem(app.get(&format!("{path}?since=yesterday")).await, StatusCode::BAD_REQUEST, "bad-request").await;
    assert_problem(app.get("/feeds/fd_short/google-product-reviews.xml").await, StatusCode::NOT_FOUND, "not-found")
        .await;
    let unknown = format!("/feeds/fd_{}/google-product-reviews.xml", "A".repeat(43));
    assert_problem(app.get(&unknown).await, StatusCode::NOT_FOUND, "not-found").await;

    // A new URL retires the old one; disabling retires both.
    let newer = feed_url(&app, &v).await;
    assert_eq!(fetch(&app, &path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(fetch(&app, &newer).await.0, StatusCode::OK);
    let res = app.request(Method::DELETE, "/api/v1/syndication/google-feed", Some(&v.token), None).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(fetch(&app, &newer).await.0, StatusCode::NOT_FOUND);

    // Another vendor's feed never carries this vendor's reviews.
    let other = app.vendor("Other Feed").await;
    let (_, other_xml, count) = fetch(&app, &feed_url(&app, &other).await).await;
    assert_eq!(count.as_deref(), Some("0"));
    assert!(!other_xml.contains(&verified) && !other_xml.contains("<reviews>"));
    assert_valid_feed(&other_xml);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[actix_web::test]
async fn json_export_pages_published_reviews_with_level_checks_and_withdrawals() {
    let app = spawn_app().await;
    let v = app.vendor("Export Shop").await;
    put_product(&app, &v, "LAMP-1", json!({"name": "Lamp", "gtin": "4006381333931"})).await;
    // A minute apart: ids are UUIDv7, so the export's id order is creation order.
    let verified = verified_review(&app, &v, "LAMP-1", "E-1").await;
    app.clock.advance(chrono::Duration::minutes(1));
    let shop_wide = app.review(&v, None, 3).await;
    app.publish(&v, &shop_wide).await;
    app.clock.advance(chrono::Duration::minutes(1));
    let pending = app.review(&v, None, 1).await;

    let sk = v.sk.clone();
    let get = |query: &str| {
        let path = format!("/api/v1/syndication/reviews.json{query}");
        let (app, sk) = (&app, sk.clone());
        async move { app.request(Method::GET, &path, Some(&sk), None).await }
    };
    let first = json(get("?limit=1").await, StatusCode::OK).await;
    assert_eq!(first["reviews"].as_array().unwrap().len(), 1);
    let review = &first["reviews"][0];
    assert_eq!(review["id"], json!(verified));
    assert_eq!(review["maturity_level"], json!(3));
    assert_eq!(review["verified_purchase"], json!(true));
    assert_eq!(
        review["checks"],
        json!([{"code": "purchase_invitation", "label": "Order matched (invited after purchase)"}])
    );
    assert_eq!(
        review["product"],
        json!({"sku": "LAMP-1", "name": "Lamp", "url": null, "gtin": "4006381333931", "mpn": null, "brand": null})
    );
    assert_eq!(review["pros"], json!("Bright\nLight"));
    let cursor = first["next_cursor"].as_str().expect("a second page").to_owned();
    let second = json(get(&format!("?limit=1&cursor={cursor}")).await, StatusCode::OK).await;
    assert_eq!(second["reviews"][0]["id"], json!(shop_wide));
    assert_eq!(second["reviews"][0]["product"], json!(null));
    assert_eq!(second["reviews"][0]["verified_purchase"], json!(false));
    let all = json(get("").await, StatusCode::OK).await;
    let ids: Vec<&str> = all["reviews"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![verified.as_str(), shop_wide.as_str()], "pending reviews are not syndicated");
    assert_eq!(all["next_cursor"], json!(null));
    assert_eq!(all["withdrawn"], json!([]));

    // Since T: the vendor's reply changes the verified review; the shop-wide one is withdrawn.
    app.clock.advance(chrono::Duration::hours(2));
    let v = Vendor { token: app.login(&v.email, &v.password).await, ..v.clone() };
    let since = urlencode(&rfc3339_now(&app));
    let reply = json!({"body": "Thank you!"});
    let res =
        app.request(Method::POST, &format!("/api/v1/reviews/{verified}/reply"), Some(&v.token), Some(&reply)).await;
    assert!(res.status().is_success(), "{}", res.status());
    json(app.decide(&v, &shop_wide, json!({"action": "reject", "reason": "off_topic"})).await, StatusCode::OK).await;
    let changed = json(get(&format!("?since={since}")).await, StatusCode::OK).await;
    assert_eq!(changed["reviews"].as_array().unwrap().len(), 1);
    assert_eq!(changed["reviews"][0]["id"], json!(verified));
    assert_eq!(changed["reviews"][0]["reply"], json!("Thank you!"));
    assert_eq!(changed["withdrawn"], json!([shop_wide]));
    assert!(!changed.to_string().contains(&pending));

    // Bad input is 400, never 5xx; staff may read it too; another vendor sees none of it.
    let moon = json(get("?since=1969-07-20T20%3A17%3A00Z").await, StatusCode::OK).await;
    assert_eq!(moon["reviews"].as_array().unwrap().len(), 1, "every review is newer than 1969");
    for bad in ["?limit=0", "?limit=501", "?cursor=%00x", "?cursor=a.b", "?since=2026-13-01", "?since=", "?limit=x"] {
        let res = get(bad).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
    let staff = app.request(Method::GET, "/api/v1/syndication/reviews.json", Some(&v.token), None).await;
    assert_eq!(staff.status(), StatusCode::OK);
    let other = app.vendor("Other Export").await;
    let theirs =
        json(app.request(Method::GET, "/api/v1/syndication/reviews.json", Some(&other.sk), None).await, StatusCode::OK)
            .await;
    assert_eq!(theirs, json!({"reviews": [], "withdrawn": [], "next_cursor": null}));
}
