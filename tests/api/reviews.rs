//! Reviews core: flows, submission, levels end to end, public reads, votes, moderation,
//! T15 (one-review race), T16 (moderation neutrality), T25 (input limits).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, json, spawn_app, spawn_app_with, TestApp, Vendor};

async fn public(app: &TestApp, vendor: &Vendor, path: &str) -> Value {
    json(app.get(&format!("/api/v1/public/{}/{path}", vendor.pk)).await, StatusCode::OK).await
}

#[actix_web::test]
async fn a_self_declared_review_is_level_1_and_waits_for_moderation() {
    let app = spawn_app().await;
    let vendor = app.vendor("Shop").await;
    let token = app.flow(&vendor, Some("SKU-1")).await;
    let created = json(app.submit(&token, 4, json!({"email": "ann@buyer.example"})).await, StatusCode::CREATED).await;
    assert_eq!(created["status"], "pending");
    assert_eq!(created["maturity_level"], 1);
    assert_eq!(
        created["checks"],
        json!([{"code": "self_declared", "label": "Name given by the author, not verified"}])
    );
    // Not public until published.
    assert_eq!(public(&app, &vendor, "reviews").await["reviews"], json!([]));
    let id = created["id"].as_str().unwrap();
    app.publish(&vendor, id).await;
    let page = public(&app, &vendor, "reviews?sku=SKU-1").await;
    let review = &page["reviews"][0];
    assert_eq!(review["id"], id);
    assert_eq!(review["author"], "Ann B.");
    assert_eq!(review["sku"], "SKU-1");
    assert_eq!(review["insider"], false);
    assert!(
        review.get("email").is_none() && !page.to_string().contains("ann@buyer.example"),
        "contacts are never public"
    );
}

/// SPEC §2 end to end: the evidence attached to a flow decides the level and checks.
#[actix_web::test]
async fn levels_follow_the_evidence() {
    let app = spawn_app().await;
    let vendor = app.vendor("Levels").await;
    let order = |n: &str| format!("ORD-{n}");
    let cases: Vec<(u8, Vec<&str>)> = vec![
        (2, vec!["identity_phone"]),
        (3, vec!["purchase_invitation"]),
        (4, vec!["identity_oauth_google", "purchase_invitation"]),
        (5, vec!["identity_phone", "purchase_invitation", "verified_buyer"]),
        (5, vec!["identity_oauth_google", "purchase_invitation", "verified_buyer"]),
    ];
    for (i, (level, checks)) in cases.into_iter().enumerate() {
        let token = app.flow(&vendor, Some("SKU-L")).await;
        let order_id = app
            .order(&vendor, &order(&i.to_string()), Some("buyer@mail.example"), Some("+441234567890"), &["SKU-L"])
            .await;
        match i {
            0 => app.attach_identity(&token, None, Some("+449999999999")).await,
            1 => app.attach_purchase(&token, &order_id).await,
            2 => {
                app.attach_identity(&token, Some("someone-else@mail.example"), None).await;
                app.attach_purchase(&token, &order_id).await;
            }
            3 => {
                app.attach_identity(&token, None, Some("+441234567890")).await;
                app.attach_purchase(&token, &order_id).await;
            }
            _ => {
                app.attach_identity(&token, Some("buyer@mail.example"), None).await;
                app.attach_purchase(&token, &order_id).await;
            }
        }
        let created = json(app.submit(&token, 5, json!({})).await, StatusCode::CREATED).await;
        assert_eq!(created["maturity_level"], level, "case {i}: {created}");
        let codes: Vec<&str> =
            created["checks"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
        assert_eq!(codes, checks, "case {i}");
    }
}

/// T25: bad input is a 4xx naming the field, never a 5xx, and stores nothing.
#[actix_web::test]
async fn t25_review_input_limits() {
    let app = spawn_app().await;
    let vendor = app.vendor("Limits").await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"rating": 0}), "rating"),
        (json!({"rating": 6}), "rating"),
        (json!({"title": ""}), "title"),
        (json!({"title": "a".repeat(121)}), "title"),
        (json!({"title": "line\nbreak"}), "title"),
        (json!({"body": "x".repeat(5001)}), "body"),
        (json!({"body": "evil \u{202E}txt.exe"}), "body"),
        (json!({"body": "isolate \u{2067}x\u{2069}"}), "body"),
        (json!({"body": "bell \u{0007}"}), "body"),
        (json!({"body": "nul \u{0000}"}), "body"),
        (json!({"display_name": "\u{200F}admin"}), "display_name"),
        (json!({"display_name": ""}), "display_name"),
        (json!({"email": "not-an-email"}), "email"),
        (json!({"locale": "en_US; drop"}), "locale"),
        (json!({"sku": "bad sku with spaces"}), "sku"),
        (json!({"pros": "p".repeat(1001)}), "pros"),
    ];
    let token = app.flow(&vendor, None).await;
    for (extra, field) in &cases {
        let problem =
            assert_problem(app.submit(&token, 3, extra.clone()).await, StatusCode::UNPROCESSABLE_ENTITY, "validation")
                .await;
        assert_eq!(problem["field"], *field, "{extra}");
    }
    // Wrong JSON types are 422, unknown flows 404; the flow is still usable afterwards.
    let res = app.post("/api/v1/public/reviews", &json!({"flow_token": token, "rating": "five"})).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_problem(app.submit("fl_unknown", 3, json!({})).await, StatusCode::NOT_FOUND, "not-found").await;
    let res = app
        .client
        .post(app.url("/api/v1/public/reviews"))
        .header("content-type", "application/json")
        .body(vec![b'{'; 70_000])
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large").await;
    // NFC: the stored text is normalised.
    let created = json(app.submit(&token, 3, json!({"title": "Cafe\u{301} au lait"})).await, StatusCode::CREATED).await;
    let id = created["id"].as_str().unwrap();
    let stored = json(
        app.request(Method::GET, &format!("/api/v1/reviews/{id}"), Some(&vendor.token), None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(stored["title"], "Café au lait");
    let all = json(app.request(Method::GET, "/api/v1/reviews", Some(&vendor.token), None).await, StatusCode::OK).await;
    assert_eq!(all["reviews"].as_array().unwrap().len(), 1, "{} rejected inputs stored nothing", cases.len());
    println!("t25_input_limits: {} bad inputs, 0 stored, 0 5xx", cases.len() + 3);
}

#[actix_web::test]
async fn flows_are_single_use_expire_and_keep_their_product() {
    let app = spawn_app().await;
    let vendor = app.vendor("Flows").await;
    let token = app.flow(&vendor, Some("SKU-A")).await;
    let problem =
        assert_problem(app.submit(&token, 5, json!({"sku": "SKU-B"})).await, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(problem["detail"], "sku does not match the product this review flow was opened for");
    json(app.submit(&token, 5, json!({})).await, StatusCode::CREATED).await;
    assert_problem(app.submit(&token, 5, json!({})).await, StatusCode::CONFLICT, "conflict").await;

    let late = app.flow(&vendor, None).await;
    app.clock.advance(chrono::Duration::hours(25));
    let problem = assert_problem(app.submit(&late, 5, json!({})).await, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(problem["detail"], "this review flow has expired: start a new review");

    // A publishable key of no vendor, and a secret key, cannot open flows.
    let res = app.post("/api/v1/public/flows", &json!({"key": "pk_nope"})).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let res = app.post("/api/v1/public/flows", &json!({"key": vendor.sk})).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[actix_web::test]
async fn browser_writes_must_come_from_the_vendors_origins() {
    let app = spawn_app().await;
    let vendor = app.vendor("Origin Shop").await;
    let ok = app
        .client
        .post(app.url("/api/v1/public/flows"))
        .header("Origin", "https://origin-shop.example")
        .json(&json!({"key": vendor.pk}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://origin-shop.example");
    let token = json(ok, StatusCode::CREATED).await["flow_token"].as_str().unwrap().to_owned();
    let evil = app
        .client
        .post(app.url("/api/v1/public/flows"))
        .header("Origin", "https://evil.example")
        .json(&json!({"key": vendor.pk}))
        .send()
        .await
        .unwrap();
    assert_problem(evil, StatusCode::FORBIDDEN, "forbidden").await;
    let body = json!({"flow_token": token, "rating": 5, "title": "t", "body": "b", "display_name": "n"});
    let evil = app
        .client
        .post(app.url("/api/v1/public/reviews"))
        .header("Origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(evil, StatusCode::FORBIDDEN, "forbidden").await;

    // Preflight: registered origins are allowed, others get no CORS headers.
    let pre = app.preflight("/api/v1/public/reviews", "https://origin-shop.example").await;
    assert_eq!(pre.status(), StatusCode::NO_CONTENT);
    assert_eq!(pre.headers()["access-control-allow-origin"], "https://origin-shop.example");
    let pre = app.preflight("/api/v1/public/reviews", "https://origin_shop.example").await;
    assert!(pre.headers().get("access-control-allow-origin").is_none());

    // An origin another vendor registered does not pass preflight on this vendor's
    // endpoints, and the helpful vote refuses it (it accepted any origin before).
    let rival = app.vendor("Rival Shop").await;
    let id = app.review(&vendor, None, 5).await;
    app.publish(&vendor, &id).await;
    for path in
        [format!("/api/v1/public/{}/reviews/{id}/helpful", vendor.pk), format!("/api/v1/public/{}/ratings", vendor.pk)]
    {
        let pre = app.preflight(&path, "https://rival-shop.example").await;
        assert_eq!(pre.status(), StatusCode::NO_CONTENT);
        assert!(pre.headers().get("access-control-allow-origin").is_none(), "rival origin passed preflight: {path}");
    }
    let evil = app
        .client
        .post(app.url(&format!("/api/v1/public/{}/reviews/{id}/helpful", vendor.pk)))
        .header("Origin", "https://rival-shop.example")
        .json(&json!({"voter_token": "cors-voter-token-0001"}))
        .send()
        .await
        .unwrap();
    assert_problem(evil, StatusCode::FORBIDDEN, "forbidden").await;
    let pre = app.preflight(&format!("/api/v1/public/{}/ratings", rival.pk), "https://rival-shop.example").await;
    assert_eq!(pre.headers()["access-control-allow-origin"], "https://rival-shop.example");

    // Reads: CORS only for the vendor's own origin.
    let read = |origin: &'static str| {
        app.client.get(app.url(&format!("/api/v1/public/{}/summary", vendor.pk))).header("Origin", origin).send()
    };
    assert_eq!(
        read("https://origin-shop.example").await.unwrap().headers()["access-control-allow-origin"],
        "https://origin-shop.example"
    );
    assert!(read("https://evil.example").await.unwrap().headers().get("access-control-allow-origin").is_none());
}

#[actix_web::test]
async fn summary_counts_published_reviews_by_rating_and_level() {
    let app = spawn_app().await;
    let vendor = app.vendor("Summary").await;
    for rating in [5, 4, 4, 1] {
        let id = app.review(&vendor, Some("SKU-S"), rating).await;
        app.publish(&vendor, &id).await;
    }
    app.review(&vendor, Some("SKU-S"), 2).await; // pending: not counted
    let shop = app.review(&vendor, None, 3).await;
    app.publish(&vendor, &shop).await;

    let s = public(&app, &vendor, "summary?sku=SKU-S").await;
    assert_eq!(s["count"], 4);
    assert_eq!(s["average"], 3.5);
    assert_eq!(s["histogram"], json!({"1": 1, "2": 0, "3": 0, "4": 2, "5": 1}));
    assert_eq!(s["levels"], json!({"0": 0, "1": 4, "2": 0, "3": 0, "4": 0, "5": 0}));
    let all = public(&app, &vendor, "summary").await;
    assert_eq!(all["count"], 5);
    assert_eq!(all["average"], 3.4);
    assert_eq!(all["vendor_level"], 1, "published reviews + widget served = level 1");

    // Unpublishing moves the counters back in the same transaction.
    let reviews = public(&app, &vendor, "reviews?sku=SKU-S&sort=rating").await;
    let top = reviews["reviews"][0]["id"].as_str().unwrap().to_owned();
    json(app.decide(&vendor, &top, json!({"action": "reject", "reason": "off_topic"})).await, StatusCode::OK).await;
    let s = public(&app, &vendor, "summary?sku=SKU-S").await;
    assert_eq!((s["count"].clone(), s["histogram"]["5"].clone()), (json!(3), json!(0)));
}

#[actix_web::test]
async fn public_reads_have_etags_and_cache_control() {
    let app = spawn_app().await;
    let vendor = app.vendor("Etag").await;
    let path = format!("/api/v1/public/{}/reviews", vendor.pk);
    let first = app.get(&path).await;
    assert_eq!(first.headers()["cache-control"], "public, max-age=60");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let again = app.client.get(app.url(&path)).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let id = app.review(&vendor, None, 5).await;
    app.publish(&vendor, &id).await;
    let changed = app.client.get(app.url(&path)).header("If-None-Match", &etag).send().await.unwrap();
    assert_eq!(changed.status(), StatusCode::OK, "a new review changes the ETag");
}

#[actix_web::test]
async fn public_list_sorts_filters_and_paginates_with_replies() {
    let app = spawn_app().await;
    let vendor = app.vendor("Paging").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let token = app.flow(&vendor, Some("SKU-P")).await;
        if i % 2 == 0 {
            app.attach_identity(&token, None, Some(&format!("+44111111111{i}"))).await;
        }
        let id = json(app.submit(&token, 1 + (i % 5), json!({})).await, StatusCode::CREATED).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.clock.advance(chrono::Duration::seconds(1));
        app.publish(&vendor, &id).await;
        ids.push(id);
    }
    let reply_path = format!("/api/v1/reviews/{}/reply", ids[6]);
    let reply = app.request(Method::POST, &reply_path, Some(&vendor.token), Some(&json!({"body": "Thank you!"}))).await;
    assert_eq!(json(reply, StatusCode::OK).await["body"], "Thank you!");
    // A decision answers with the whole review, its reply included (the console redraws
    // the card from it), exactly as GET shows it.
    let flagged = json(app.decide(&vendor, &ids[6], json!({"action": "flag"})).await, StatusCode::OK).await;
    assert_eq!((flagged["status"].clone(), flagged["reply"]["body"].clone()), (json!("flagged"), json!("Thank you!")));
    let republished = json(app.decide(&vendor, &ids[6], json!({"action": "publish"})).await, StatusCode::OK).await;
    let shown = app.request(Method::GET, &format!("/api/v1/reviews/{}", ids[6]), Some(&vendor.token), None).await;
    assert_eq!(republished, json(shown, StatusCode::OK).await);

    // Recent first, three per page, every review exactly once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "reviews?sku=SKU-P&limit=3".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = public(&app, &vendor, &path).await;
        seen.extend(page["reviews"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    let expected: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, expected);
    let first = public(&app, &vendor, "reviews?limit=1").await;
    assert_eq!(first["reviews"][0]["reply"]["body"], "Thank you!");

    // Rating order with paging; minimum level filter.
    let ratings: Vec<i64> = public(&app, &vendor, "reviews?sort=rating&limit=50").await["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rating"].as_i64().unwrap())
        .collect();
    assert_eq!(ratings, vec![5, 4, 3, 2, 2, 1, 1]);
    let page1 = public(&app, &vendor, "reviews?sort=rating&limit=4").await;
    let c = page1["next_cursor"].as_str().unwrap();
    let page2 = public(&app, &vendor, &format!("reviews?sort=rating&limit=4&cursor={c}")).await;
    let rest: Vec<i64> = page2["reviews"].as_array().unwrap().iter().map(|r| r["rating"].as_i64().unwrap()).collect();
    assert_eq!(rest, vec![2, 1, 1]);
    let verified = public(&app, &vendor, "reviews?min_level=2").await;
    assert_eq!(verified["reviews"].as_array().unwrap().len(), 4);
    for bad in
        ["reviews?sort=worst", "reviews?min_level=9", "reviews?limit=0", "reviews?cursor=%%%", "reviews?cursor=bm9wZQ"]
    {
        assert_problem(
            app.get(&format!("/api/v1/public/{}/{bad}", vendor.pk)).await,
            StatusCode::BAD_REQUEST,
            "bad-request",
        )
        .await;
    }
}

#[actix_web::test]
async fn helpful_votes_and_quick_ratings_count_once_per_voter() {
    let app = spawn_app().await;
    let vendor = app.vendor("Votes").await;
    let id = app.review(&vendor, None, 4).await;
    let vote = |token: &'static str| {
        let (path, body) =
            (format!("/api/v1/public/{}/reviews/{id}/helpful", vendor.pk), json!({"voter_token": token}));
        let app = &app;
        async move { app.post(&path, &body).await }
    };
    assert_problem(vote("browser-token-aaaaaaaa").await, StatusCode::NOT_FOUND, "not-found").await; // pending review
    app.publish(&vendor, &id).await;
    assert_eq!(json(vote("browser-token-aaaaaaaa").await, StatusCode::OK).await["helpful_count"], 1);
    assert_problem(vote("browser-token-aaaaaaaa").await, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(json(vote("browser-token-bbbbbbbb").await, StatusCode::OK).await["helpful_count"], 2);
    assert_problem(vote("short").await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let top = public(&app, &vendor, "reviews?sort=helpful").await;
    assert_eq!(top["reviews"][0]["helpful_count"], 2);
    assert_eq!(json(vote("browser-token-cccccccc").await, StatusCode::OK).await["helpful_count"], 3);
    let top = public(&app, &vendor, "reviews?sort=helpful").await;
    assert_eq!(top["reviews"][0]["helpful_count"], 3, "a vote refreshes the cached list");

    let warm = public(&app, &vendor, "summary?sku=SKU-Q").await;
    assert_eq!(warm["quick_ratings"]["count"], 0);
    let rate = |rating: i64, token: &'static str| {
        let path = format!("/api/v1/public/{}/ratings", vendor.pk);
        let body = json!({"sku": "SKU-Q", "rating": rating, "voter_token": token});
        let app = &app;
        async move { app.post(&path, &body).await }
    };
    assert_eq!(rate(5, "browser-token-aaaaaaaa").await.status(), StatusCode::CREATED);
    assert_eq!(rate(2, "browser-token-bbbbbbbb").await.status(), StatusCode::CREATED);
    assert_problem(rate(4, "browser-token-aaaaaaaa").await, StatusCode::CONFLICT, "conflict").await;
    assert_problem(rate(7, "browser-token-cccccccc").await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let s = public(&app, &vendor, "summary?sku=SKU-Q").await;
    assert_eq!(s["quick_ratings"], json!({"count": 2, "average": 3.5}));
    assert_eq!(s["count"], 0, "quick ratings are not reviews");
    assert_eq!(s["levels"]["0"], 2);
}

#[actix_web::test]
async fn insiders_are_flagged_and_never_auto_published() {
    let app = spawn_app().await;
    let vendor = app.vendor("Inside").await;
    let set = app
        .request(Method::PATCH, "/api/v1/vendor", Some(&vendor.token), Some(&json!({"auto_publish_min_level": 1})))
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    let outsider = app.flow(&vendor, None).await;
    let r = json(app.submit(&outsider, 5, json!({"email": "fan@gmail.example"})).await, StatusCode::CREATED).await;
    assert_eq!(r["status"], "published", "level 1 ≥ auto-publish level 1");
    let staff = app.flow(&vendor, None).await;
    let r = json(app.submit(&staff, 5, json!({"email": vendor.email})).await, StatusCode::CREATED).await;
    assert_eq!(r["status"], "pending");
    let domain = app.flow(&vendor, None).await;
    let r = json(app.submit(&domain, 5, json!({"email": "ceo@inside.example"})).await, StatusCode::CREATED).await;
    let id = r["id"].as_str().unwrap();
    assert_eq!(r["status"], "pending");
    app.publish(&vendor, id).await;
    let shown = public(&app, &vendor, "reviews").await;
    let insider = shown["reviews"].as_array().unwrap().iter().find(|x| x["id"] == id).unwrap();
    assert_eq!(insider["insider"], true);

    // Through an order: one placed with the shop's domain, or by a staff member, makes the
    // review an insider's however its author signs (matched by number and contact, here).
    let orders = json!([
        {"order_id": "IN-1", "email": "staffer@inside.example", "items": [{"sku": "LAMP"}], "purchased_at": "2026-01-01T00:00:00Z"},
        {"order_id": "IN-2", "email": vendor.email, "items": [{"sku": "LAMP"}], "purchased_at": "2026-01-01T00:00:00Z"},
        {"order_id": "OUT-1", "email": "fan@gmail.example", "items": [{"sku": "LAMP"}], "purchased_at": "2026-01-01T00:00:00Z"}
    ]);
    let imported = app.request(Method::POST, "/api/v1/orders", Some(&vendor.sk), Some(&orders)).await;
    assert_eq!(imported.status(), StatusCode::OK);
    for (order, email, insider) in [
        ("IN-1", "staffer@inside.example", true),
        ("IN-2", vendor.email.as_str(), true),
        ("OUT-1", "fan@gmail.example", false),
    ] {
        let flow = app.flow(&vendor, None).await;
        let matched =
            app.post("/api/v1/public/kyp/match", &json!({"flow_token": flow, "order_id": order, "email": email})).await;
        assert_eq!(matched.status(), StatusCode::OK, "{order}");
        let r = json(app.submit(&flow, 5, json!({})).await, StatusCode::CREATED).await;
        let id = r["id"].as_str().unwrap().to_owned();
        assert_eq!(r["status"], json!(if insider { "pending" } else { "published" }), "{order}");
        if insider {
            app.publish(&vendor, &id).await;
        }
        let shown = public(&app, &vendor, "reviews").await;
        let listed = shown["reviews"].as_array().unwrap().iter().find(|x| x["id"] == id.as_str()).unwrap();
        assert_eq!(listed["insider"], json!(insider), "{order}");
    }
}

/// T15: 100 concurrent submissions for one order → exactly one review row, 99 × 409.
#[actix_web::test]
async fn t15_one_review_race() {
    let app = spawn_app_with(|s| s.pool_size = 16).await;
    let vendor = app.vendor("Race").await;
    let order = app.order(&vendor, "ORD-RACE", Some("buyer@mail.example"), None, &["SKU-R"]).await;
    let mut tokens = Vec::new();
    for _ in 0..100 {
        let token = app.flow(&vendor, Some("SKU-R")).await;
        app.attach_purchase(&token, &order).await;
        tokens.push(token);
    }
    let submissions = tokens.iter().map(|t| app.submit(t, 5, json!({})));
    let statuses: Vec<StatusCode> = futures::future::join_all(submissions).await.iter().map(|r| r.status()).collect();
    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    let conflicts = statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count();
    let vendor_id = vendor.id.clone();
    let rows = app
        .state
        .db
        .run(move |c| truview::store::reviews::staff_page(c, &vendor_id, None, None, 1000))
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.order_id.as_deref() == Some(order.as_str()))
        .count();
    println!(
        "t15_one_review_race: 100 submissions → {created} created, {conflicts} × 409, {rows} row(s) in the database"
    );
    assert_eq!((created, conflicts, rows), (1, 99, 1), "{statuses:?}");
}

/// T16 (moderation half): a 1★ and a 5★ review take exactly the same path.
#[actix_web::test]
async fn t16_moderation_is_neutral_to_rating() {
    for auto in [None, Some(1)] {
        let app = spawn_app().await;
        let vendor = app.vendor("Neutral").await;
        let set = app
            .request(
                Method::PATCH,
                "/api/v1/vendor",
                Some(&vendor.token),
                Some(&json!({"auto_publish_min_level": auto})),
            )
            .await;
        assert_eq!(set.status(), StatusCode::OK);
        let mut paths = Vec::new();
        for rating in [1, 5] {
            let token = app.flow(&vendor, Some("SKU-N")).await;
            let created = json(app.submit(&token, rating, json!({})).await, StatusCode::CREATED).await;
            let id = created["id"].as_str().unwrap().to_owned();
            let mut path = vec![created["status"].as_str().unwrap().to_owned()];
            for decision in [
                json!({"action": "flag"}),
                json!({"action": "publish"}),
                json!({"action": "reject", "reason": "spam"}),
                json!({"action": "publish"}),
            ] {
                let res = app.decide(&vendor, &id, decision).await;
                let status = res.status();
                let body: Value = res.json().await.unwrap();
                path.push(format!(
                    "{} {}",
                    status.as_u16(),
                    body["status"].as_str().or(body["type"].as_str()).unwrap_or("")
                ));
            }
            let public_ids: Vec<String> = public(&app, &vendor, "reviews").await["reviews"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .collect();
            path.push(format!("public={}", public_ids.contains(&id)));
            paths.push(path);
        }
        // One exact expected path for both ratings: a path that goes wrong the same way
        // for 1★ and 5★ (both 409, both 500) fails too.
        let initial = if auto.is_some() { "published" } else { "pending" };
        let expected =
            [initial, "200 flagged", "200 published", "200 rejected", "200 published", "public=true"].map(String::from);
        assert_eq!(paths[0], expected, "1★ (auto-publish {auto:?})");
        assert_eq!(paths[1], expected, "5★ (auto-publish {auto:?})");
        println!("t16_moderation_neutrality (auto-publish {auto:?}): {:?}", paths[0]);
        // The audit entries of both reviews are exactly these decisions, in order.
        let audit =
            json(app.request(Method::GET, "/api/v1/audit?limit=200", Some(&vendor.token), None).await, StatusCode::OK)
                .await;
        let mut decisions: Vec<Value> = audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "review.decision")
            .map(|e| e["details"].clone())
            .collect();
        decisions.reverse(); // the audit listing is newest first
        let step = |from: &str, to: &str, reason: Option<&str>| json!({"from": from, "to": to, "reason": reason});
        let one = [
            step(initial, "flagged", None),
            step("flagged", "published", None),
            step("published", "rejected", Some("spam")),
            step("rejected", "published", None),
        ];
        let both: Vec<Value> = one.iter().chain(one.iter()).cloned().collect();
        assert_eq!(decisions, both);
    }
}

#[actix_web::test]
async fn decisions_need_a_reason_from_the_list_and_valid_transitions() {
    let app = spawn_app().await;
    let vendor = app.vendor("Decide").await;
    let id = app.review(&vendor, None, 3).await;
    let p = assert_problem(
        app.decide(&vendor, &id, json!({"action": "reject"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(p["field"], "reason");
    assert_problem(
        app.decide(&vendor, &id, json!({"action": "reject", "reason": "bad vibes"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    let rejected = json(
        app.decide(&vendor, &id, json!({"action": "reject", "reason": "conflict_of_interest"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (rejected["status"].clone(), rejected["reject_reason"].clone()),
        (json!("rejected"), json!("conflict_of_interest"))
    );
    assert_problem(app.decide(&vendor, &id, json!({"action": "flag"})).await, StatusCode::CONFLICT, "conflict").await;
    // Analysts cannot decide; other vendors cannot see the review.
    let (_, analyst) = app.add_staff(&vendor, "analyst").await;
    let res = app
        .request(
            Method::POST,
            &format!("/api/v1/reviews/{id}/decision"),
            Some(&analyst),
            Some(&json!({"action": "publish"})),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
    let other = app.vendor("Other").await;
    assert_problem(app.decide(&other, &id, json!({"action": "publish"})).await, StatusCode::NOT_FOUND, "not-found")
        .await;
    let queue =
        json(app.request(Method::GET, "/api/v1/reviews?status=rejected", Some(&vendor.sk), None).await, StatusCode::OK)
            .await;
    assert_eq!(queue["reviews"][0]["id"], id.as_str());
}

#[actix_web::test]
async fn the_worker_purges_expired_flows_and_sessions() {
    use truview::worker::Pass;
    let app = spawn_app().await;
    let vendor = app.vendor("Worker").await;
    let review = app.review(&vendor, None, 4).await;
    app.publish(&vendor, &review).await;
    let vote = json!({"voter_token": "worker-voter-token-01"});
    let res = app.post(&format!("/api/v1/public/{}/reviews/{review}/helpful", vendor.pk), &vote).await;
    assert_eq!(res.status(), StatusCode::OK);
    let token = app.flow(&vendor, None).await;
    let pass = truview::worker::run_once(&app.state).await.unwrap();
    assert_eq!(
        pass,
        Pass {
            flows_deleted: 0,
            refresh_tokens_deleted: 0,
            public_write_caps_deleted: 0,
            idempotency_keys_deleted: 0,
            jobs_deleted: 0,
            receipt_files_deleted: 0,
            raw_contacts_cleared: 0,
            oauth_states_deleted: 0,
        }
    );
    app.clock.advance(chrono::Duration::days(31));
    let pass = truview::worker::run_once(&app.state).await.unwrap();
    // The review's own flow and the open one; the login's refresh token; the vote's cap.
    assert_eq!(
        pass,
        Pass {
            flows_deleted: 2,
            refresh_tokens_deleted: 1,
            public_write_caps_deleted: 1,
            idempotency_keys_deleted: 0,
            jobs_deleted: 0,
            receipt_files_deleted: 0,
            raw_contacts_cleared: 0,
            oauth_states_deleted: 0,
        }
    );
    assert_problem(app.submit(&token, 5, json!({})).await, StatusCode::NOT_FOUND, "not-found").await;
}

/// Widget reads are served from the node's cache until the TTL passes on the injected
/// clock; the node's own writes show at once.
#[actix_web::test]
async fn widget_reads_are_cached_for_the_ttl() {
    let app = spawn_app_with(|s| s.public_cache_ttl_secs = 5).await;
    let vendor = app.vendor("Cache").await;
    let first = public(&app, &vendor, "summary").await;
    assert_eq!(first["count"], 0);
    // A change made behind the API's back (another node, say) is not seen within the TTL...
    let state = app.state.clone();
    let review = truview::store::reviews::Review { id: "rev-behind-the-back".into(), ..review_template(&vendor.id) };
    state.db.write(move |c| truview::store::reviews::insert(c, &review)).await.unwrap();
    assert_eq!(public(&app, &vendor, "summary").await["count"], 0, "served from cache");
    // ...once the TTL has passed, the stale value is served once more while one background
    // task refreshes it; the next reads see the refreshed value (polled, bounded).
    app.clock.advance(chrono::Duration::seconds(5));
    assert_eq!(public(&app, &vendor, "summary").await["count"], 0, "stale while revalidating");
    // The refresh is real database work on another task: wait for it (up to 10 s of real
    // time, on a busy 2-core runner it takes milliseconds), not for the injected clock.
    let mut seen = 0;
    for _ in 0..1000 {
        seen = public(&app, &vendor, "summary").await["count"].as_i64().unwrap();
        if seen == 1 {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(seen, 1, "the background refresh stored the new value");
    // The node's own writes refresh at once.
    let id = app.review(&vendor, None, 1).await;
    app.publish(&vendor, &id).await;
    assert_eq!(public(&app, &vendor, "summary").await["count"], 2);
    // Past the stale window a read waits for the database instead of serving old data.
    let behind = truview::store::reviews::Review { id: "rev-behind-2".into(), ..review_template(&vendor.id) };
    app.state.db.write(move |c| truview::store::reviews::insert(c, &behind)).await.unwrap();
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(public(&app, &vendor, "summary").await["count"], 3);
}

#[actix_web::test]
async fn rebuilt_aggregates_match_the_incremental_ones() {
    let app = spawn_app_with(|s| s.public_cache_ttl_secs = 0).await;
    let vendor = app.vendor("Rebuild").await;
    for (sku, rating) in [(Some("A"), 5), (Some("A"), 3), (Some("B"), 1), (None, 4)] {
        let id = app.review(&vendor, sku, rating).await;
        app.publish(&vendor, &id).await;
    }
    app.review(&vendor, Some("A"), 2).await; // pending
    let before: Vec<Value> =
        futures::future::join_all(["summary", "summary?sku=A", "summary?sku=B"].map(|p| public(&app, &vendor, p)))
            .await;
    let vendor_id = vendor.id.clone();
    app.state.db.write(move |c| truview::store::reviews::rebuild_aggregates(c, &vendor_id)).await.unwrap();
    let after: Vec<Value> =
        futures::future::join_all(["summary", "summary?sku=A", "summary?sku=B"].map(|p| public(&app, &vendor, p)))
            .await;
    assert_eq!(before, after);
    assert_eq!(after[1]["histogram"], json!({"1": 0, "2": 0, "3": 1, "4": 0, "5": 1}));
}

/// A published 5★ review row, for writes made behind the API's back (another node, say).
fn review_template(vendor_id: &str) -> truview::store::reviews::Review {
    truview::store::reviews::Review {
        id: String::new(),
        vendor_id: vendor_id.to_owned(),
        flow_id: None,
        order_id: None,
        sku: String::new(),
        rating: 5,
        title: "t".into(),
        body: "b".into(),
        pros: None,
        cons: None,
        locale: "en".into(),
        display_name: "n".into(),
        author_email_hmac: None,
        author_phone_hmac: None,
        evidence: "{}".into(),
        maturity_level: 0,
        checks: "[]".into(),
        insider: false,
        incentivised: false,
        status: "published".into(),
        reject_reason: None,
        helpful_count: 0,
        erased: false,
        created_at: 0,
        published_at: Some(0),
        decided_at: None,
        identity_key: None,
    }
}

/// T25 (M4): NUL and other control characters in every string field of every public and
/// staff JSON endpoint are a 4xx, never a 5xx (PostgreSQL refuses U+0000 in text), and
/// store nothing. The reviews area's endpoints must refuse them (4xx); the accounts
/// endpoints may accept a control character where it is harmless (a password), but
/// never answer 5xx.
#[actix_web::test]
async fn t25_control_characters_in_every_string_field() {
    let app = spawn_app().await;
    let vendor = app.vendor("Ctrl").await;
    let review = app.review(&vendor, None, 3).await;
    app.publish(&vendor, &review).await;
    let (analyst_id, _) = app.add_staff(&vendor, "analyst").await;
    let flow = app.flow(&vendor, None).await;
    let owner = Some(vendor.token.clone());
    type Case = (Method, String, Option<String>, Value, bool);
    let mine = true;
    let cases: Vec<Case> = vec![
        (Method::POST, "/api/v1/public/flows".into(), None, json!({"key": vendor.pk, "sku": "S"}), mine),
        (
            Method::POST,
            "/api/v1/public/reviews".into(),
            None,
            json!({"flow_token": flow, "rating": 4, "title": "t", "body": "b", "pros": "p", "cons": "c",
                   "locale": "en", "sku": "S", "display_name": "n", "email": "a@b.example"}),
            mine,
        ),
        (
            Method::POST,
            format!("/api/v1/public/{}/reviews/{review}/helpful", vendor.pk),
            None,
            json!({"voter_token": "ctrl-voter-token-0001"}),
            mine,
        ),
        (
            Method::POST,
            format!("/api/v1/public/{}/ratings", vendor.pk),
            None,
            json!({"sku": "S", "rating": 3, "voter_token": "ctrl-voter-token-0001"}),
            mine,
        ),
        (
            Method::POST,
            format!("/api/v1/reviews/{review}/decision"),
            owner.clone(),
            json!({"action": "reject", "reason": "spam"}),
            mine,
        ),
        (Method::POST, format!("/api/v1/reviews/{review}/reply"), owner.clone(), json!({"body": "Thanks"}), mine),
        (Method::POST, "/api/v1/privacy/erase".into(), owner.clone(), json!({"email": "a@b.example"}), mine),
        (Method::POST, "/api/v1/privacy/erase".into(), owner.clone(), json!({"phone": "+447400123000"}), mine),
        (Method::POST, "/api/v1/privacy/export".into(), owner.clone(), json!({"email": "a@b.example"}), mine),
        (Method::POST, "/api/v1/privacy/export".into(), owner.clone(), json!({"phone": "+447400123000"}), mine),
        (
            Method::POST,
            "/api/v1/vendors".into(),
            None,
            json!({"vendor_name": "V", "origins": ["https://v.example"], "owner_email": "o@v.example",
                   "owner_password": "correct-horse-staple-91"}),
            !mine,
        ),
        (Method::POST, "/api/v1/auth/login".into(), None, json!({"email": vendor.email, "password": "x"}), !mine),
        (Method::POST, "/api/v1/auth/refresh".into(), None, json!({"refresh_token": "rt_x"}), !mine),
        (Method::POST, "/api/v1/auth/logout".into(), owner.clone(), json!({"refresh_token": "rt_x"}), !mine),
        (Method::PATCH, "/api/v1/vendor".into(), owner.clone(), json!({"name": "Renamed"}), !mine),
        (
            Method::POST,
            "/api/v1/staff".into(),
            owner.clone(),
            json!({"email": "s@staff.example", "display_name": "S", "role": "analyst",
                   "password": "another-long-secret-77"}),
            !mine,
        ),
        (Method::PATCH, format!("/api/v1/staff/{analyst_id}"), owner.clone(), json!({"role": "analyst"}), !mine),
        (Method::POST, "/api/v1/keys".into(), owner.clone(), json!({"kind": "secret", "label": "l"}), !mine),
    ];
    let mut sent = 0;
    for (method, path, token, body, reviews_area) in &cases {
        let fields: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
        for field in fields {
            for bad in ["x\u{0}y", "\u{0}", "x\u{7}y", "x\u{1b}[2Jy"] {
                let mut b = body.clone();
                b[&field] = match &b[&field] {
                    Value::Array(_) => json!([bad]),
                    _ => json!(bad),
                };
                let res = app.request(method.clone(), path, token.as_deref(), Some(&b)).await;
                let status = res.status();
                sent += 1;
                assert!(!status.is_server_error(), "{method} {path} {field}={bad:?}: {status}");
                if *reviews_area {
                    assert!(status.is_client_error(), "{method} {path} {field}={bad:?}: {status}");
                }
            }
        }
    }
    // Nothing of it was stored: the one review is unchanged, with no reply and no vote.
    let stored = json(
        app.request(Method::GET, &format!("/api/v1/reviews/{review}"), owner.as_deref(), None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (stored["status"].clone(), stored["reply"].clone(), stored["helpful_count"].clone()),
        (json!("published"), json!(null), json!(0))
    );
    let all = json(app.request(Method::GET, "/api/v1/reviews", owner.as_deref(), None).await, StatusCode::OK).await;
    assert_eq!(all["reviews"].as_array().unwrap().len(), 1);
    println!("t25_control_characters: {sent} requests over {} endpoints, 0 5xx", cases.len());
}
