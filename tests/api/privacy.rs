//! T18 (erase and export a buyer), T27 (CSV export formula guard), maturity report.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_problem, json, spawn_app};

/// T18: erasure removes contacts and de-identifies reviews (levels recomputed);
/// export returns all of a buyer's data.
#[actix_web::test]
async fn t18_gdpr_erase_and_export() {
    let app = spawn_app().await;
    let vendor = app.vendor("Gdpr").await;
    let email = "erase.me@mail.example";
    let order = app.order(&vendor, "ORD-G1", Some(email), Some("+447400123123"), &["SKU-G"]).await;
    // A verified-buyer review on the order, and a self-declared one with the same e-mail.
    let token = app.flow(&vendor, Some("SKU-G")).await;
    app.attach_identity(&token, Some(email), None).await;
    app.attach_purchase(&token, &order).await;
    let verified = json(app.submit(&token, 2, json!({"display_name": "Erin Erase"})).await, StatusCode::CREATED).await;
    assert_eq!(verified["maturity_level"], 5);
    let token = app.flow(&vendor, None).await;
    let declared = json(
        app.submit(&token, 4, json!({"email": "ERASE.ME@mail.example", "display_name": "Erin"})).await,
        StatusCode::CREATED,
    )
    .await;
    let other = app.review(&vendor, None, 5).await;
    for id in [verified["id"].as_str().unwrap(), declared["id"].as_str().unwrap(), &other] {
        app.publish(&vendor, id).await;
    }

    let export = |body: serde_json::Value| {
        let (app, token) = (&app, vendor.token.clone());
        async move { app.request(Method::POST, "/api/v1/privacy/export", Some(&token), Some(&body)).await }
    };
    let data = json(export(json!({"email": "erase.me@mail.example"})).await, StatusCode::OK).await;
    assert_eq!(data["orders"].as_array().unwrap().len(), 1);
    assert_eq!(data["orders"][0]["order_id"], "ORD-G1");
    assert_eq!(data["orders"][0]["customer_name"], "Buyer Name");
    assert_eq!(data["orders"][0]["items"][0]["sku"], "SKU-G");
    let mut names: Vec<&str> =
        data["reviews"].as_array().unwrap().iter().map(|r| r["author"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["Erin", "Erin Erase"]);
    let by_phone = json(export(json!({"phone": "+44 7400 123123"})).await, StatusCode::OK).await;
    assert_eq!(by_phone["orders"].as_array().unwrap().len(), 1);

    let before = json(app.get(&format!("/api/v1/public/{}/summary", vendor.pk)).await, StatusCode::OK).await;
    assert_eq!(before["levels"], json!({"0": 0, "1": 2, "2": 0, "3": 0, "4": 0, "5": 1}));
    let res =
        app.request(Method::POST, "/api/v1/privacy/erase", Some(&vendor.token), Some(&json!({"email": email}))).await;
    let erased = json(res, StatusCode::OK).await;
    // The verified review's flow held the buyer's e-mail HMAC as evidence: deleted too.
    assert_eq!(erased, json!({"reviews_deidentified": 2, "orders_cleared": 1, "flows_deleted": 1}));

    // Contacts are gone: nothing is found any more, by e-mail or phone.
    let data = json(export(json!({"email": "erase.me@mail.example"})).await, StatusCode::OK).await;
    assert_eq!((data["orders"].as_array().unwrap().len(), data["reviews"].as_array().unwrap().len()), (0, 0));
    let data = json(export(json!({"phone": "+447400123123"})).await, StatusCode::OK).await;
    assert_eq!(data["orders"].as_array().unwrap().len(), 0);
    // Reviews stay, de-identified, level 0, marked erased; aggregates follow.
    let page = json(app.get(&format!("/api/v1/public/{}/reviews", vendor.pk)).await, StatusCode::OK).await;
    let shown = page.to_string();
    assert!(!shown.contains("Erin"), "{shown}");
    let erased_reviews: Vec<_> =
        page["reviews"].as_array().unwrap().iter().filter(|r| r["checks"][0]["code"] == "erased").collect();
    assert_eq!(erased_reviews.len(), 2);
    assert!(erased_reviews.iter().all(|r| r["maturity_level"] == 0 && r["author"] == ""));
    let after = json(app.get(&format!("/api/v1/public/{}/summary", vendor.pk)).await, StatusCode::OK).await;
    assert_eq!(after["levels"], json!({"0": 2, "1": 1, "2": 0, "3": 0, "4": 0, "5": 0}));
    assert_eq!(after["count"], 3);

    // Owner only, one contact at a time, recorded in the audit log without the contact.
    let (_, moderator) = app.add_staff(&vendor, "moderator").await;
    let res =
        app.request(Method::POST, "/api/v1/privacy/erase", Some(&moderator), Some(&json!({"email": email}))).await;
    assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app
        .request(
            Method::POST,
            "/api/v1/privacy/erase",
            Some(&vendor.token),
            Some(&json!({"email": email, "phone": "+447400123123"})),
        )
        .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let audit = app.request(Method::GET, "/api/v1/audit", Some(&vendor.token), None).await.text().await.unwrap();
    assert!(audit.contains("privacy.erased") && !audit.contains(email));
    println!("t18_gdpr: 2 reviews de-identified, 1 order cleared, 0 contacts left, export 1 order + 2 reviews before / 0 after");
}

/// T27: `=`, `+`, `-`, `@`, tab and CR leading cells are neutralised in the CSV export.
#[actix_web::test]
async fn t27_csv_export_injection() {
    let app = spawn_app().await;
    let vendor = app.vendor("Csv").await;
    let payloads = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1:A9)", "\tcmd", "\r=1"];
    for (i, p) in payloads.iter().enumerate() {
        let token = app.flow(&vendor, None).await;
        // Titles are single-line: tab/CR payloads go in the body, the rest in the title.
        let extra = if p.starts_with('\t') || p.starts_with('\r') {
            json!({"body": format!("{p} body"), "title": format!("t{i}")})
        } else {
            json!({"title": p, "display_name": p})
        };
        let res = app.submit(&token, 3, extra).await;
        if p.starts_with('\r') {
            // CR alone is a control character in text: refused at the door (R8).
            assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
            continue;
        }
        assert_eq!(res.status(), StatusCode::CREATED, "{p:?}");
    }
    let res = app.request(Method::GET, "/api/v1/reviews/export.csv", Some(&vendor.sk), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let text = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    let mut cells = 0;
    let mut dangerous = 0;
    for record in reader.records() {
        for cell in record.unwrap().iter() {
            cells += 1;
            if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                dangerous += 1;
            }
        }
    }
    assert!(
        text.contains("'=HYPERLINK") && text.contains("'+1+1") && text.contains("'-2+3") && text.contains("'@SUM"),
        "{text}"
    );
    // Leading tabs never reach a cell: text is trimmed at input (the export guard covers
    // them too, see the unit test of `csv_cell`).
    assert!(text.contains(",cmd body,"), "{text}");
    println!("t27_csv_export_injection: {cells} cells exported, {dangerous} start with a formula character");
    assert_eq!(dangerous, 0);
}

#[actix_web::test]
async fn maturity_report_lists_criteria_and_the_plan() {
    let app = spawn_app().await;
    let vendor = app.vendor("Mature").await;
    let report =
        json(app.request(Method::GET, "/api/v1/reports/maturity", Some(&vendor.sk), None).await, StatusCode::OK).await;
    assert_eq!(
        (report["level"].clone(), report["name"].clone(), report["window_days"].clone()),
        (json!(0), json!("incomplete"), json!(90))
    );
    assert_eq!(
        report["missing_for_next"],
        json!(["no published review in the window", "the widget has not been served yet: embed it on your site"])
    );

    let id = app.review(&vendor, None, 1).await;
    app.publish(&vendor, &id).await;
    app.get(&format!("/api/v1/public/{}/summary", vendor.pk)).await;
    let report =
        json(app.request(Method::GET, "/api/v1/reports/maturity", Some(&vendor.token), None).await, StatusCode::OK)
            .await;
    assert_eq!(report["level"], 1);
    assert_eq!(
        report["missing_for_next"],
        json!([
            "0% of negative (≤2★) reviews answered publicly (0 of 1); level 2 needs 80%",
            "no review invitation (funnel prompt) is active",
        ])
    );
    let reply = app
        .request(
            Method::POST,
            &format!("/api/v1/reviews/{id}/reply"),
            Some(&vendor.token),
            Some(&json!({"body": "Sorry — fixed."})),
        )
        .await;
    assert_eq!(reply.status(), StatusCode::OK);
    let report =
        json(app.request(Method::GET, "/api/v1/reports/maturity", Some(&vendor.token), None).await, StatusCode::OK)
            .await;
    assert_eq!(report["missing_for_next"], json!(["no review invitation (funnel prompt) is active"]));
    let criterion =
        report["criteria"].as_array().unwrap().iter().find(|c| c["code"] == "moderation_in_use").unwrap().clone();
    assert_eq!(
        criterion,
        json!({"level": 2, "code": "moderation_in_use", "met": true, "detail": "1 moderation decision(s) recorded"})
    );
}

/// M12a: the buyer's contact never goes in a URL: export is a POST with a JSON body, the
/// old GET with a query string is gone (405), and the spec has no query parameters.
#[actix_web::test]
async fn m12_export_is_a_post_without_contacts_in_the_url() {
    let app = spawn_app().await;
    let vendor = app.vendor("Post Export").await;
    app.order(&vendor, "ORD-P1", Some("post.me@mail.example"), None, &["SKU-P"]).await;
    let res = app
        .request(Method::GET, "/api/v1/privacy/export?email=post.me%40mail.example", Some(&vendor.token), None)
        .await;
    assert_problem(res, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed").await;
    let body = json!({"email": "post.me@mail.example"});
    let res = app.request(Method::POST, "/api/v1/privacy/export", Some(&vendor.token), Some(&body)).await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    let data = json(res, StatusCode::OK).await;
    assert_eq!(data["orders"][0]["order_id"], "ORD-P1");
    // Exactly one of e-mail or phone; nothing else.
    for bad in [
        json!({}),
        json!({"email": "post.me@mail.example", "phone": "+447400123123"}),
        json!({"email": "post.me@mail.example", "extra": 1}),
        json!({"email": null}),
    ] {
        let res = app.request(Method::POST, "/api/v1/privacy/export", Some(&vendor.token), Some(&bad)).await;
        assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    }
    let spec = truview::app::openapi();
    let item = &spec.paths.paths["/api/v1/privacy/export"];
    assert!(item.get.is_none(), "no GET export");
    let post = item.post.as_ref().expect("POST export");
    assert!(post.parameters.as_ref().is_none_or(|p| p.is_empty()), "no URL parameters");
    let spec_json = serde_json::to_value(&spec).unwrap();
    let one_of = &spec_json["components"]["schemas"]["BuyerContact"]["oneOf"];
    assert_eq!(one_of.as_array().map(Vec::len), Some(2), "exactly one of email or phone: {one_of}");
}

/// M12b: erasing by e-mail also deletes a flow bound to the buyer's order whose evidence
/// holds only the order's phone (a purchase matched by phone).
#[actix_web::test]
async fn m12_erase_deletes_flows_bound_to_the_order() {
    use truview::domain::maturity::{Purchase, PurchaseMethod};
    let app = spawn_app().await;
    let vendor = app.vendor("Flow Erase").await;
    let (email, phone) = ("flow.buyer@mail.example", "+447400123456");
    let order = app.order(&vendor, "ORD-F1", Some(email), Some(phone), &["SKU-F"]).await;
    let unrelated = app.flow(&vendor, Some("SKU-F")).await;
    let token = app.flow(&vendor, Some("SKU-F")).await;
    let hash = truview::security::tokens::sha256_hex(&token);
    let phone_hmac = app.state.contacts.phone(phone);
    let (order_id, h) = (order.clone(), hash.clone());
    app.state
        .db
        .write(move |conn| {
            let flow = truview::store::flows::by_token_hash(conn, &h)?.expect("flow exists");
            let purchase = Purchase {
                order_id,
                method: PurchaseMethod::OrderMatch,
                email_hmac: None,
                phone_hmac: Some(phone_hmac),
            };
            truview::store::flows::attach_purchase(conn, &flow, purchase)
        })
        .await
        .unwrap();
    let res =
        app.request(Method::POST, "/api/v1/privacy/erase", Some(&vendor.token), Some(&json!({"email": email}))).await;
    assert_eq!(
        json(res, StatusCode::OK).await,
        json!({"reviews_deidentified": 0, "orders_cleared": 1, "flows_deleted": 1})
    );
    let flow = app.state.db.run(move |conn| truview::store::flows::by_token_hash(conn, &hash)).await.unwrap();
    assert!(flow.is_none(), "the flow bound to the erased order survived");
    // Other flows stay.
    let other = truview::security::tokens::sha256_hex(&unrelated);
    let kept = app.state.db.run(move |conn| truview::store::flows::by_token_hash(conn, &other)).await.unwrap();
    assert!(kept.is_some());
}

/// M12c: the export includes the vendor's replies to the buyer's reviews and which
/// verification methods each review used (without any contact HMAC).
#[actix_web::test]
async fn m12_export_includes_replies_and_evidence() {
    let app = spawn_app().await;
    let vendor = app.vendor("Export Full").await;
    let email = "full.export@mail.example";
    let order = app.order(&vendor, "ORD-X1", Some(email), None, &["SKU-X"]).await;
    let token = app.flow(&vendor, Some("SKU-X")).await;
    app.attach_identity(&token, None, Some("+447400123789")).await;
    app.attach_purchase(&token, &order).await;
    let verified = json(app.submit(&token, 2, json!({})).await, StatusCode::CREATED).await;
    let id = verified["id"].as_str().unwrap().to_owned();
    let token = app.flow(&vendor, None).await;
    let declared = json(app.submit(&token, 5, json!({"email": email})).await, StatusCode::CREATED).await;
    let reply = app
        .request(
            Method::POST,
            &format!("/api/v1/reviews/{id}/reply"),
            Some(&vendor.token),
            Some(&json!({"body": "Sorry, we sent a replacement."})),
        )
        .await;
    assert_eq!(reply.status(), StatusCode::OK);
    let res =
        app.request(Method::POST, "/api/v1/privacy/export", Some(&vendor.token), Some(&json!({"email": email}))).await;
    let data = json(res, StatusCode::OK).await;
    let reviews = data["reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 2);
    let by_id = |id: &str| reviews.iter().find(|r| r["id"] == id).unwrap().clone();
    let v = by_id(&id);
    assert_eq!(v["reply"]["body"], "Sorry, we sent a replacement.");
    assert_eq!(
        v["verification"],
        json!({"self_declared": true, "identity": "phone", "purchase": "invitation", "erased": false})
    );
    let d = by_id(declared["id"].as_str().unwrap());
    assert_eq!(d["reply"], json!(null));
    assert_eq!(d["verification"], json!({"self_declared": true, "identity": null, "purchase": null, "erased": false}));
    let text = data.to_string();
    assert!(!text.contains(&app.state.contacts.email(email)), "no contact HMAC in the export");
}
