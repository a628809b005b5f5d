//! Purchase matching (KYP): the matching matrix, each case with its exact answer; the
//! vendor's rules; limits per flow; the submitted review's level.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, json, spawn_app, TestApp, Vendor};

fn day(app: &TestApp, offset_days: i64) -> String {
    let now = truview::clock::Clock::now_ms(app.clock.as_ref());
    truview::clock::from_ms(now + offset_days * 86_400_000).to_rfc3339()
}

async fn import(app: &TestApp, v: &Vendor, orders: Value) {
    let res = app.request(Method::POST, "/api/v1/orders", Some(&v.sk), Some(&orders)).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
}

fn order(id: &str, email: &str, status: &str, total: &str, purchased: String, delivered: Option<String>) -> Value {
    json!({
        "order_id": id, "email": email, "phone": "+44 7400 123456", "items": [{"sku": "LAMP"}],
        "total": total, "currency": "EUR", "purchased_at": purchased, "delivered_at": delivered, "status": status,
    })
}

async fn try_match(app: &TestApp, flow: &str, order_id: &str, contact: Value) -> reqwest::Response {
    let mut body = json!({"flow_token": flow, "order_id": order_id});
    for (k, v) in contact.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.post("/api/v1/public/kyp/match", &body).await
}

async fn problem_text(res: reqwest::Response, status: StatusCode) -> String {
    let actual = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(actual, status, "{text}");
    text
}

#[actix_web::test]
async fn the_matching_matrix() {
    let app = spawn_app().await;
    let a = app.vendor("Match A").await;
    let b = app.vendor("Match B").await;
    let ann = "ann@mail.example";
    import(
        &app,
        &a,
        json!([
            order("A-100", ann, "delivered", "49.99", day(&app, -3), Some(day(&app, -1))),
            order("A-CXL", ann, "cancelled", "49.99", day(&app, -3), None),
            order("A-REF", ann, "refunded", "49.99", day(&app, -3), Some(day(&app, -1))),
            order("A-SMALL", ann, "delivered", "5.00", day(&app, -3), Some(day(&app, -1))),
            order("A-OLD", ann, "delivered", "49.99", day(&app, -400), Some(day(&app, -390))),
            order("A-PAID", ann, "paid", "49.99", day(&app, -3), None),
        ]),
    )
    .await;
    import(&app, &b, json!([order("B-1", ann, "delivered", "49.99", day(&app, -3), Some(day(&app, -1)))])).await;
    let rules =
        json!({"min_total": {"amount_minor": 1000, "currency": "eur"}, "delivered_only": true, "window_days": 365.0});
    let stored =
        json(app.request(Method::PUT, "/api/v1/kyp/rules", Some(&a.sk), Some(&rules)).await, StatusCode::OK).await;
    let expected_rules = json!({"min_total": {"amount_minor": 1000, "currency": "EUR", "display": "10.00 EUR"}, "delivered_only": true, "window_days": 365});
    assert_eq!(stored, expected_rules);
    assert_eq!(
        json(app.request(Method::GET, "/api/v1/kyp/rules", Some(&a.token), None).await, StatusCode::OK).await,
        expected_rules
    );

    // Wrong contact, no such order, another shop's order: one and the same answer.
    let flow = app.flow(&a, None).await;
    let wrong_contact = problem_text(
        try_match(&app, &flow, "A-100", json!({"email": "eve@mail.example"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let no_order =
        problem_text(try_match(&app, &flow, "A-999", json!({"email": ann})).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    let foreign =
        problem_text(try_match(&app, &flow, "B-1", json!({"email": ann})).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert_eq!(wrong_contact, no_order);
    assert_eq!(wrong_contact, foreign);
    let body: Value = serde_json::from_str(&wrong_contact).unwrap();
    assert_eq!(body["detail"], json!("order_id no order of this shop matches this order number and contact"));

    // The rules answer only once the contact matched (fresh flows: 5 failures per flow).
    for (order_id, detail) in [
        ("A-CXL", "order_id this order was cancelled, so it cannot verify a review"),
        ("A-REF", "order_id this order was refunded, so it cannot verify a review"),
        ("A-SMALL", "order_id this shop verifies reviews for orders of at least 10.00 EUR"),
        ("A-OLD", "order_id this shop verifies reviews within 365 days of delivery, and that time has passed"),
        ("A-PAID", "order_id this shop verifies reviews once the order is delivered; try again after delivery"),
    ] {
        let flow = app.flow(&a, None).await;
        let problem = assert_problem(
            try_match(&app, &flow, order_id, json!({"email": ann})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        )
        .await;
        assert_eq!(problem["detail"], json!(detail), "{order_id}");
    }

    // The right order and contact, whatever the case of the e-mail or the form of the phone.
    let flow = app.flow(&a, None).await;
    let matched =
        json(try_match(&app, &flow, "A-100", json!({"email": "Ann@Mail.Example"})).await, StatusCode::OK).await;
    assert_eq!(
        matched,
        json!({"maturity_level": 3, "checks": [{"code": "purchase_order_match", "label": "Order matched (order number and contact)"}]})
    );
    let review = json(app.submit(&flow, 4, json!({})).await, StatusCode::CREATED).await;
    assert_eq!(review["maturity_level"], json!(3));
    assert_eq!(review["checks"][0]["code"], json!("purchase_order_match"));
    let by_phone = app.flow(&a, Some("LAMP")).await;
    let matched =
        json(try_match(&app, &by_phone, "A-100", json!({"phone": "0044 (7400) 123-456"})).await, StatusCode::OK).await;
    assert_eq!(matched["maturity_level"], json!(3));
    // A product flow needs the product in the order.
    let other_product = app.flow(&a, Some("MUG")).await;
    let problem = assert_problem(
        try_match(&app, &other_product, "A-100", json!({"email": ann})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(problem["detail"], json!("order_id this order does not include the product this review is about"));
    // With the buyer's verified phone as well: level 5.
    let both = app.flow(&a, None).await;
    app.attach_identity(&both, None, Some("+447400123456")).await;
    let matched = json(try_match(&app, &both, "A-100", json!({"email": ann})).await, StatusCode::OK).await;
    assert_eq!(matched["maturity_level"], json!(5));
    assert_eq!(matched["checks"].as_array().unwrap().last().unwrap()["code"], json!("verified_buyer"));

    // Shopify's `#1001` matches as typed with or without its `#`, and so does any order.
    let orders: Vec<Value> = ["#7001", "#7002", "A-7003"]
        .iter()
        .map(|id| order(id, ann, "delivered", "49.99", day(&app, -3), Some(day(&app, -1))))
        .collect();
    import(&app, &a, Value::Array(orders)).await;
    for (typed, stored) in [("7001", "#7001"), ("#7002", "#7002"), ("#A-7003", "A-7003")] {
        let flow = app.flow(&a, None).await;
        let matched = json(try_match(&app, &flow, typed, json!({"email": ann})).await, StatusCode::OK).await;
        assert_eq!(matched["maturity_level"], json!(3), "{typed}");
        let review = json(app.submit(&flow, 4, json!({})).await, StatusCode::CREATED).await;
        let row = json(
            app.request(Method::GET, &format!("/api/v1/orders/{}", stored.replace('#', "%23")), Some(&a.sk), None)
                .await,
            StatusCode::OK,
        )
        .await;
        assert!(row["review_ids"].as_array().unwrap().contains(&review["id"]), "{typed}: {row}");
    }

    // Five failed tries per flow, then 429 even for the right answer.
    let guessing = app.flow(&a, None).await;
    for n in 0..5 {
        let res = try_match(&app, &guessing, &format!("A-{n}"), json!({"email": ann})).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "try {n}");
    }
    let res = try_match(&app, &guessing, "A-100", json!({"email": ann})).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get("retry-after").is_some());

    // One review per order and product: the shop-wide one exists.
    let again = app.flow(&a, None).await;
    json(try_match(&app, &again, "A-100", json!({"email": ann})).await, StatusCode::OK).await;
    assert_problem(app.submit(&again, 5, json!({})).await, StatusCode::CONFLICT, "conflict").await;
    // An order cancelled after the match no longer backs the review.
    let late = app.flow(&a, Some("LAMP")).await;
    json(try_match(&app, &late, "A-100", json!({"email": ann})).await, StatusCode::OK).await;
    import(&app, &a, json!([order("A-100", ann, "cancelled", "49.99", day(&app, -3), Some(day(&app, -1)))])).await;
    let review = json(app.submit(&late, 4, json!({})).await, StatusCode::CREATED).await;
    assert_eq!(review["maturity_level"], json!(1));
}

#[actix_web::test]
async fn bad_match_requests_and_rules() {
    let app = spawn_app().await;
    let v = app.vendor("Match Bad").await;
    let flow = app.flow(&v, None).await;
    for (body, status) in [
        (json!({"flow_token": flow, "order_id": "A-1"}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"flow_token": flow, "order_id": "A-1", "email": "a@b.example", "phone": "+447400123456"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"flow_token": flow, "order_id": "A\u{0}1", "email": "a@b.example"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"flow_token": flow, "order_id": "A-1", "email": "not-an-email"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"flow_token": flow, "order_id": "A-1", "phone": "+449999999999"}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"flow_token": flow, "order_id": "A-1", "email": "a@b.example", "extra": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"flow_token": "fl_unknown", "order_id": "A-1", "email": "a@b.example"}), StatusCode::NOT_FOUND),
        (json!([]), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let res = app.post("/api/v1/public/kyp/match", &body).await;
        assert_eq!(res.status(), status, "{body}");
    }
    // From a browser on another site: 403.
    let res = app
        .client
        .post(app.url("/api/v1/public/kyp/match"))
        .header("origin", "https://evil.example")
        .json(&json!({"flow_token": flow, "order_id": "A-1", "email": "a@b.example"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    for bad in [
        json!({"window_days": 0}),
        json!({"window_days": 3651}),
        json!({"min_total": {"amount_minor": -1, "currency": "EUR"}}),
        json!({"min_total": {"amount_minor": 1.5, "currency": "EUR"}}),
        json!({"min_total": {"amount_minor": "10", "currency": "EUR"}}),
        json!({"min_total": {"amount_minor": 10, "currency": "EURO"}}),
        json!({"delivered_only": "yes"}),
        json!({"unknown": true}),
    ] {
        let res = app.request(Method::PUT, "/api/v1/kyp/rules", Some(&v.sk), Some(&bad)).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let defaults = json(app.request(Method::GET, "/api/v1/kyp/rules", Some(&v.sk), None).await, StatusCode::OK).await;
    assert_eq!(defaults, json!({"min_total": null, "delivered_only": false, "window_days": null}));
}
