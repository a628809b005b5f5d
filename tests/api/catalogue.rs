//! The catalogue: `PUT /api/v1/products/{sku}`, `GET /api/v1/products[/{sku}]`.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, json, spawn_app, TestApp};

fn at(app: &TestApp) -> String {
    let now = truview::clock::Clock::now_ms(app.clock.as_ref());
    truview::clock::from_ms(now).to_rfc3339()
}

async fn put(app: &TestApp, token: &str, sku: &str, body: Value) -> reqwest::Response {
    app.request(Method::PUT, &format!("/api/v1/products/{sku}"), Some(token), Some(&body)).await
}

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.request(Method::GET, path, Some(token), None).await
}

#[actix_web::test]
async fn products_are_created_replaced_and_read_back() {
    let app = spawn_app().await;
    let v = app.vendor("Catalogue").await;
    let created_at = at(&app);
    let full = json!({
        "name": "  Trail Shoe\u{0065}\u{0301} ",
        "url": "https://shop.example/p/trail-shoe?c=1",
        "image_url": "https://cdn.shop.example/trail.png",
        "brand": "Acme",
        "gtin": "4006381333931",
        "mpn": "TS-42",
    });
    let expected = json!({
        "sku": "SKU-1",
        "name": "Trail Shoe\u{00e9}",
        "url": "https://shop.example/p/trail-shoe?c=1",
        "image_url": "https://cdn.shop.example/trail.png",
        "brand": "Acme",
        "gtin": "4006381333931",
        "mpn": "TS-42",
        "created_at": created_at,
        "updated_at": created_at,
    });
    assert_eq!(json(put(&app, &v.sk, "SKU-1", full).await, StatusCode::CREATED).await, expected);
    assert_eq!(json(get(&app, &v.sk, "/api/v1/products/SKU-1").await, StatusCode::OK).await, expected);

    // PUT replaces the whole product: fields left out are cleared; created_at stays.
    app.clock.advance(chrono::Duration::minutes(5));
    let updated_at = at(&app);
    let res = put(&app, &v.token, "SKU-1", json!({"name": "Trail Shoe 2", "gtin": "012345678905"})).await;
    let replaced = json!({
        "sku": "SKU-1",
        "name": "Trail Shoe 2",
        "url": null,
        "image_url": null,
        "brand": null,
        "gtin": "012345678905",
        "mpn": null,
        "created_at": created_at,
        "updated_at": updated_at,
    });
    assert_eq!(json(res, StatusCode::OK).await, replaced);
    assert_eq!(json(get(&app, &v.token, "/api/v1/products/SKU-1").await, StatusCode::OK).await, replaced);

    // A SKU with a slash, sent as %2F.
    let res = put(&app, &v.sk, "a%2Fb:c", json!({"name": "Slashed"})).await;
    assert_eq!(json(res, StatusCode::CREATED).await["sku"], json!("a/b:c"));
    let res = get(&app, &v.sk, "/api/v1/products/a%2Fb:c").await;
    assert_eq!(json(res, StatusCode::OK).await["name"], json!("Slashed"));

    // Unknown: 404.
    assert_problem(get(&app, &v.sk, "/api/v1/products/SKU-2").await, StatusCode::NOT_FOUND, "not-found").await;

    // Both writes are in the audit log, newest first, with who wrote them.
    let log = json(get(&app, &v.token, "/api/v1/audit?limit=3").await, StatusCode::OK).await;
    let entries: Vec<_> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].clone(), e["actor"].clone(), e["target"].clone(), e["details"]["created"].clone()))
        .collect();
    assert_eq!(
        entries,
        vec![
            (json!("product.upserted"), json!(format!("key:{}", v.sk_id)), json!("a/b:c"), json!(true)),
            (json!("product.upserted"), json!(format!("staff:{}", v.owner_id)), json!("SKU-1"), json!(false)),
            (json!("product.upserted"), json!(format!("key:{}", v.sk_id)), json!("SKU-1"), json!(true)),
        ]
    );
}

#[actix_web::test]
async fn products_page_by_sku_with_a_cursor() {
    let app = spawn_app().await;
    let v = app.vendor("Pager").await;
    let other = app.vendor("Other").await;
    let now = at(&app);
    for sku in ["b-2", "A-1", "c:3", "a-0", "B/9"] {
        json(
            put(&app, &v.sk, &sku.replace('/', "%2F"), json!({"name": format!("N {sku}")})).await,
            StatusCode::CREATED,
        )
        .await;
    }
    json(put(&app, &other.sk, "A-0", json!({"name": "not yours"})).await, StatusCode::CREATED).await;
    let item = |sku: &str| {
        json!({"sku": sku, "name": format!("N {sku}"), "url": null, "image_url": null, "brand": null,
               "gtin": null, "mpn": null, "created_at": now, "updated_at": now})
    };
    let (analyst_id, analyst) = app.add_staff(&v, "analyst").await;
    assert!(!analyst_id.is_empty());
    let first = json(get(&app, &analyst, "/api/v1/products?limit=2&cursor=").await, StatusCode::OK).await;
    assert_eq!(first, json!({"products": [item("A-1"), item("B/9")], "next_cursor": "B/9"}));
    let second = json(get(&app, &v.sk, "/api/v1/products?limit=2&cursor=B%2F9").await, StatusCode::OK).await;
    assert_eq!(second, json!({"products": [item("a-0"), item("b-2")], "next_cursor": "b-2"}));
    let third = json(get(&app, &v.sk, "/api/v1/products?limit=2&cursor=b-2").await, StatusCode::OK).await;
    assert_eq!(third, json!({"products": [item("c:3")], "next_cursor": null}));
    let all = json(get(&app, &v.token, "/api/v1/products").await, StatusCode::OK).await;
    assert_eq!(
        all,
        json!({"products": [item("A-1"), item("B/9"), item("a-0"), item("b-2"), item("c:3")], "next_cursor": null})
    );
    // The other vendor sees only its own product.
    let theirs = json(get(&app, &other.sk, "/api/v1/products").await, StatusCode::OK).await;
    assert_eq!(
        theirs["products"].as_array().map(|p| p.iter().map(|p| p["sku"].clone()).collect::<Vec<_>>()),
        Some(vec![json!("A-0")])
    );

    for bad in ["limit=0", "limit=101", "limit=x", "cursor=a%20b", "cursor=%00", &format!("cursor={}", "x".repeat(65))]
    {
        let res = get(&app, &v.sk, &format!("/api/v1/products?{bad}")).await;
        assert_problem(res, StatusCode::BAD_REQUEST, "bad-request").await;
    }
}

#[actix_web::test]
async fn gtins_are_checked_by_their_check_digit() {
    let app = spawn_app().await;
    let v = app.vendor("Gtin").await;
    for (i, gtin) in ["4006381333931", "012345678905", "96385074", "00012345600012"].iter().enumerate() {
        let res = put(&app, &v.sk, &format!("G-{i}"), json!({"name": "N", "gtin": gtin})).await;
        assert_eq!(json(res, StatusCode::CREATED).await["gtin"], json!(gtin));
    }
    for (gtin, detail) in [
        ("4006381333932", "has a wrong check digit"),
        ("012345678906", "has a wrong check digit"),
        ("96385070", "has a wrong check digit"),
        ("4006381A33931", "must contain digits only"),
        ("40063813339", "must have 8, 12, 13 or 14 digits"),
        ("123456789012345", "must have 8, 12, 13 or 14 digits"),
        ("", "must have 8, 12, 13 or 14 digits"),
    ] {
        let res = put(&app, &v.sk, "G-bad", json!({"name": "N", "gtin": gtin})).await;
        let body = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
        assert_eq!(
            (body["field"].clone(), body["detail"].clone()),
            (json!("gtin"), json!(format!("gtin {detail}"))),
            "{gtin}"
        );
    }
    let res = put(&app, &v.sk, "G-bad", json!({"name": "N", "gtin": 4006381333931u64})).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_problem(get(&app, &v.sk, "/api/v1/products/G-bad").await, StatusCode::NOT_FOUND, "not-found").await;
}

#[actix_web::test]
async fn bad_skus_in_the_path_are_400() {
    let app = spawn_app().await;
    let v = app.vendor("Paths").await;
    let long = "x".repeat(65);
    for sku in ["a%20b", "%00", "a%0Ab", "%7Bsku%7D", "caf%C3%A9", "%20SKU", long.as_str()] {
        let res = put(&app, &v.sk, sku, json!({"name": "N"})).await;
        assert_problem(res, StatusCode::BAD_REQUEST, "bad-request").await;
        let res = get(&app, &v.sk, &format!("/api/v1/products/{sku}")).await;
        assert_problem(res, StatusCode::BAD_REQUEST, "bad-request").await;
    }
    let res = get(&app, &v.sk, "/api/v1/products").await;
    assert_eq!(json(res, StatusCode::OK).await, json!({"products": [], "next_cursor": null}));
}

/// Tenancy: another vendor's key or owner neither reads nor changes this vendor's product
/// (a PUT of the same SKU creates the caller's own product); publishable keys, analysts
/// and moderators cannot write.
#[actix_web::test]
async fn products_are_scoped_to_their_vendor_and_writers() {
    let app = spawn_app().await;
    let a = app.vendor("Alpha").await;
    let b = app.vendor("Bravo").await;
    let mine = json(put(&app, &a.sk, "ONLY-A", json!({"name": "A's", "brand": "A"})).await, StatusCode::CREATED).await;
    for token in [&b.sk, &b.token] {
        let res = get(&app, token, "/api/v1/products/ONLY-A").await;
        assert_problem(res, StatusCode::NOT_FOUND, "not-found").await;
        let list = json(get(&app, token, "/api/v1/products").await, StatusCode::OK).await;
        assert!(!list.to_string().contains("ONLY-A"), "{list}");
    }
    // B writing the same SKU makes B's own product; A's is untouched.
    let theirs = json(put(&app, &b.token, "ONLY-A", json!({"name": "B's"})).await, StatusCode::CREATED).await;
    assert_eq!(theirs["name"], json!("B's"));
    assert_eq!(json(get(&app, &a.sk, "/api/v1/products/ONLY-A").await, StatusCode::OK).await, mine);

    // Publishable keys and bad credentials: 401. Analysts and moderators may read, not write.
    for token in [Some(a.pk.as_str()), Some("sk_forged"), None] {
        let res = app.request(Method::PUT, "/api/v1/products/ONLY-A", token, Some(&json!({"name": "x"}))).await;
        assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
        let res = app.request(Method::GET, "/api/v1/products", token, None).await;
        assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    for role in ["analyst", "moderator"] {
        let (_, token) = app.add_staff(&a, role).await;
        let res = put(&app, &token, "ONLY-A", json!({"name": "x"})).await;
        assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
        assert_eq!(json(get(&app, &token, "/api/v1/products/ONLY-A").await, StatusCode::OK).await, mine);
    }
}

/// Every string field refuses control characters with 422 naming the field (never a 5xx,
/// on either backend); wrong types and unknown fields are 422 too.
#[actix_web::test]
async fn bad_product_input_is_422() {
    let app = spawn_app().await;
    let v = app.vendor("Sweep").await;
    let base = json!({"name": "N", "url": "https://s.example/p", "image_url": "https://s.example/i.png",
                      "brand": "B", "gtin": "96385074", "mpn": "M"});
    for field in ["name", "url", "image_url", "brand", "gtin", "mpn"] {
        for bad in ["a\u{0}b", "a\nb", "a\u{7}", "a\u{202e}b", "a\u{200b}b", "\u{feff}", " "] {
            let mut body = base.clone();
            body[field] = json!(bad);
            let res = put(&app, &v.sk, "SWEEP", body).await;
            let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
            assert_eq!(problem["field"], json!(field), "{field} = {bad:?}: {problem}");
        }
    }
    for (field, value) in [
        ("name", json!("x".repeat(201))),
        ("brand", json!("x".repeat(101))),
        ("mpn", json!("x".repeat(71))),
        ("url", json!(format!("https://s.example/{}", "x".repeat(2048)))),
        ("url", json!("javascript:alert(1)")),
        ("image_url", json!("/relative.png")),
    ] {
        let mut body = base.clone();
        body[field] = value;
        let problem =
            assert_problem(put(&app, &v.sk, "SWEEP", body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
        assert_eq!(problem["field"], json!(field), "{problem}");
    }
    for body in
        [json!({}), json!({"name": 5}), json!({"name": "N", "colour": "red"}), json!(["N"]), json!({"name": null})]
    {
        let res = put(&app, &v.sk, "SWEEP", body.clone()).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    assert_problem(get(&app, &v.sk, "/api/v1/products/SWEEP").await, StatusCode::NOT_FOUND, "not-found").await;
}

/// `store::products::ensure` (orders create products implicitly) inserts a missing
/// product named by the SKU or the given name, and never overwrites an existing one.
#[actix_web::test]
async fn ensure_creates_missing_products_only() {
    let app = spawn_app().await;
    let v = app.vendor("Ensure").await;
    let kept =
        json(put(&app, &v.sk, "KEEP", json!({"name": "Curated", "gtin": "96385074"})).await, StatusCode::CREATED).await;
    let (vendor_id, now) = (v.id.clone(), truview::clock::Clock::now_ms(app.clock.as_ref()));
    app.state
        .db
        .write(move |conn| {
            truview::store::products::ensure(conn, &vendor_id, "KEEP", Some("From an order"), now + 1)?;
            truview::store::products::ensure(conn, &vendor_id, "NEW-1", None, now)?;
            truview::store::products::ensure(conn, &vendor_id, "NEW-2", Some("Named"), now)?;
            truview::store::products::ensure(conn, &vendor_id, "NEW-2", Some("Renamed"), now)
        })
        .await
        .unwrap();
    assert_eq!(json(get(&app, &v.sk, "/api/v1/products/KEEP").await, StatusCode::OK).await, kept);
    let list = json(get(&app, &v.sk, "/api/v1/products").await, StatusCode::OK).await;
    let names: Vec<_> =
        list["products"].as_array().unwrap().iter().map(|p| (p["sku"].clone(), p["name"].clone())).collect();
    assert_eq!(
        names,
        vec![(json!("KEEP"), json!("Curated")), (json!("NEW-1"), json!("NEW-1")), (json!("NEW-2"), json!("Named"))]
    );
}

/// Concurrent PUTs of one new SKU: exactly one creates it (201), the others replace it
/// (200); never a 409 or 5xx from the primary key (the insert is `ON CONFLICT DO NOTHING`).
#[actix_web::test]
async fn concurrent_puts_of_a_new_sku_create_it_once() {
    let app = spawn_app().await;
    let v = app.vendor("Race").await;
    let calls = (0..6).map(|i| {
        let (app, sk) = (&app, v.sk.clone());
        async move { put(app, &sk, "RACE-1", json!({"name": format!("Racer {i}")})).await.status() }
    });
    let mut statuses: Vec<u16> = futures_util::future::join_all(calls).await.iter().map(|s| s.as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 201]);
    let list = json(get(&app, &v.sk, "/api/v1/products").await, StatusCode::OK).await;
    assert_eq!(list["products"].as_array().map(Vec::len), Some(1));
}
