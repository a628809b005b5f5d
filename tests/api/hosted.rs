//! The hosted review page for reviews that start on the shop's site: `/r/new` opens a
//! flow; its page raises the level with a phone code and the order, then takes the review.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{json, spawn_app};

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

#[actix_web::test]
async fn a_review_started_on_the_shops_site_reaches_verified_buyer_on_the_hosted_page() {
    let app = spawn_app().await;
    let v = app.vendor("Hosted Shop").await;
    let res =
        app.request(Method::PUT, "/api/v1/products/LAMP-1", Some(&v.sk), Some(&json!({"name": "Desk Lamp"}))).await;
    assert!(res.status().is_success());
    let orders = json!([{"order_id": "H-1", "email": "Hana@Mail.Example", "phone": "+44 7400 123455",
        "items": [{"sku": "LAMP-1"}], "purchased_at": "2026-10-01", "delivered_at": "2026-10-03"}]);
    let res = app.client.post(app.url("/api/v1/orders")).bearer_auth(&v.sk).json(&orders).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // The widget's link opens a flow and leads to its page.
    let res = app.get(&format!("/r/new?key={}&sku=LAMP-1", v.pk)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = location(&res);
    assert!(page.starts_with("/r/flow/fl_"), "{page}");
    let html = app.get(&page).await.text().await.unwrap();
    assert!(html.contains("<h1>Review Desk Lamp at Hosted Shop</h1>"), "{html}");
    assert!(
        html.contains("level 1 · Self-declared") && html.contains("Text me a code") && html.contains("Check my order")
    );

    // The order: a wrong contact gets the one answer, the right one verifies the purchase.
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let url = app.url(&path);
        let client = app.client.clone();
        async move { client.post(url).form(&form).send().await.unwrap() }
    };
    let res =
        post(format!("{page}/order"), vec![("order_id", "H-1".into()), ("contact", "other@mail.example".into())]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains(truview::kyp::matching::NO_MATCH));
    let res =
        post(format!("{page}/order"), vec![("order_id", "H-1".into()), ("contact", "hana@mail.example".into())]).await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, page.clone()));
    let html = app.get(&page).await.text().await.unwrap();
    assert!(html.contains("level 3 · Verified purchase") && !html.contains("Check my order"), "{html}");

    // The phone: a wrong code says so; the right one, the order's phone, makes a verified buyer.
    let res = post(format!("{page}/phone"), vec![("phone", "+44 7400 123455".into())]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("<h1>Enter the code</h1>"));
    let code = crate::kyc_phone::outbox_code(&app, &v.id).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let res =
        post(format!("{page}/phone/verify"), vec![("phone", "+44 7400 123455".into()), ("code", wrong.into())]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("role=\"alert\">This code is not the code sent to this phone; 4 tries left."));
    let res = post(format!("{page}/phone/verify"), vec![("phone", "+44 7400 123455".into()), ("code", code)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = app.get(&page).await.text().await.unwrap();
    assert!(html.contains("level 5 · Verified buyer") && !html.contains("Text me a code"), "{html}");

    // The review: a name is required; then it is sent at level 5.
    let res = post(page.clone(), vec![("rating", "5".into()), ("title", "Bright".into())]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("display_name is required"));
    let res =
        post(page.clone(), vec![("rating", "5".into()), ("title", "Bright".into()), ("display_name", "Hana".into())])
            .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.text().await.unwrap().contains("It will be shown at level 5 (Verified buyer)"));
    let queue = json(app.request(Method::GET, "/api/v1/reviews", Some(&v.sk), None).await, StatusCode::OK).await;
    let review = &queue["reviews"][0];
    assert_eq!((review["sku"].clone(), review["maturity_level"].clone()), (json!("LAMP-1"), json!(5)));
    // The flow is spent: its page says so.
    assert_eq!(app.get(&page).await.status(), StatusCode::CONFLICT);
}

#[actix_web::test]
async fn the_hosted_page_refuses_bad_links_with_a_page_not_an_error() {
    let app = spawn_app().await;
    let v = app.vendor("Hosted Refusals").await;
    let res = app.get("/r/new?key=pk_unknown").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let res = app.get(&format!("/r/new?key={}", v.sk)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "a secret key opens nothing");
    let res = app.get(&format!("/r/new?key={}&sku=bad%20sku", v.pk)).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get("/r/flow/fl_nothing").await.status(), StatusCode::NOT_FOUND);
    let res = app
        .client
        .post(app.url("/r/flow/fl_nothing/order"))
        .form(&[("order_id", "1"), ("contact", "a@b.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // `/r/new` is its own route, not an invitation's `/r/{token}`: only GET.
    let res = app.request(Method::DELETE, "/r/new", None, None).await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()["allow"], "GET");
    let res = app.request(Method::DELETE, "/r/some-token", None, None).await;
    assert_eq!(res.headers()["allow"], "GET, POST");
    // A shop-wide review: no product, no product name.
    let res = app.get(&format!("/r/new?key={}", v.pk)).await;
    let html = app.get(&location(&res)).await.text().await.unwrap();
    assert!(html.contains("<h1>Review Hosted Refusals</h1>"), "{html}");
}
