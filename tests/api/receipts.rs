//! Receipt proof: upload in a flow (type from the bytes, metadata stripped, spoofs refused),
//! the staff's decision (level 3 with the check, before or after submission), retention
//! and erasure.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, json, spawn_app, TestApp, Vendor};

pub(crate) fn jpeg_with_exif() -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    j.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
    let exif = b"Exif\0\0GPS 51.5074N 0.1278W Canon-SN-1234";
    j.extend_from_slice(&[0xFF, 0xE1]);
    j.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    j.extend_from_slice(exif);
    j.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x04, 0x00, 0x01]);
    j.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0x56, 0xFF, 0xD9]);
    j
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn upload(app: &TestApp, flow: &str, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/public/kyp/receipt"))
        .header("X-Truview-Flow", flow)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn decide(app: &TestApp, v: &Vendor, id: &str, body: Value) -> reqwest::Response {
    app.request(Method::POST, &format!("/api/v1/receipts/{id}/decision"), Some(&v.token), Some(&body)).await
}

#[actix_web::test]
async fn an_accepted_receipt_makes_a_level_3_review() {
    let app = spawn_app().await;
    let v = app.vendor("Receipt Shop").await;

    // Before submission: the receipt is accepted first, the review is born level 3.
    let flow = app.flow(&v, Some("LAMP")).await;
    let sent = json(upload(&app, &flow, "image/jpeg", jpeg_with_exif()).await, StatusCode::CREATED).await;
    assert_eq!((sent["state"].clone(), sent["content_type"].clone()), (json!("pending"), json!("image/jpeg")));
    let id = sent["id"].as_str().unwrap().to_owned();
    let pending = json(app.request(Method::GET, "/api/v1/receipts", Some(&v.token), None).await, StatusCode::OK).await;
    assert_eq!(pending["receipts"][0]["id"], json!(id));
    // The stored file has no EXIF; it is served as an attachment that browsers do not run.
    let res = app.request(Method::GET, &format!("/api/v1/receipts/{id}/file"), Some(&v.token), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/jpeg");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    assert_eq!(res.headers()["content-security-policy"], "sandbox; default-src 'none'");
    let stored = res.bytes().await.unwrap();
    assert!(!contains(&stored, b"GPS") && !contains(&stored, b"Canon") && contains(&stored, b"JFIF"));
    let decided = json(decide(&app, &v, &id, json!({"accept": true})).await, StatusCode::OK).await;
    assert_eq!(decided["state"], json!("accepted"));
    assert_problem(decide(&app, &v, &id, json!({"accept": false})).await, StatusCode::CONFLICT, "conflict").await;
    let review = json(app.submit(&flow, 4, json!({})).await, StatusCode::CREATED).await;
    assert_eq!(review["maturity_level"], json!(3));
    assert_eq!(review["checks"], json!([{"code": "purchase_receipt", "label": "Receipt checked by the shop"}]));

    // After submission: the review is level 1 until the receipt is accepted, then 3 (and
    // the published aggregates move with it).
    let flow = app.flow(&v, Some("MUG")).await;
    let png = {
        let mut p = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in [
            (&b"IHDR"[..], &[0u8, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0][..]),
            (b"tEXt", b"Author\0Ann Brown"),
            (b"IDAT", &[1, 2, 3]),
            (b"IEND", &[]),
        ] {
            p.extend_from_slice(&(data.len() as u32).to_be_bytes());
            p.extend_from_slice(kind);
            p.extend_from_slice(data);
            p.extend_from_slice(&[0, 0, 0, 0]);
        }
        p
    };
    let id =
        json(upload(&app, &flow, "image/png", png).await, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned();
    let review = json(app.submit(&flow, 5, json!({})).await, StatusCode::CREATED).await;
    assert_eq!(review["maturity_level"], json!(1));
    let review_id = review["id"].as_str().unwrap().to_owned();
    app.publish(&v, &review_id).await;
    json(decide(&app, &v, &id, json!({"accept": true, "reason": "Matches our till roll"})).await, StatusCode::OK).await;
    let read = json(
        app.request(Method::GET, &format!("/api/v1/reviews/{review_id}"), Some(&v.token), None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(read["maturity_level"], json!(3));
    let summary = json(app.get(&format!("/api/v1/public/{}/summary?sku=MUG", v.pk)).await, StatusCode::OK).await;
    assert_eq!(summary["levels"]["3"], json!(1), "{summary}");
    assert_eq!(summary["levels"]["1"], json!(0), "{summary}");

    // A refused receipt adds nothing.
    let flow = app.flow(&v, None).await;
    let id =
        json(upload(&app, &flow, "application/pdf", b"%PDF-1.7\n1 0 obj\n%%EOF".to_vec()).await, StatusCode::CREATED)
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let refused =
        json(decide(&app, &v, &id, json!({"accept": false, "reason": "Another shop's receipt"})).await, StatusCode::OK)
            .await;
    assert_eq!(
        (refused["state"].clone(), refused["reason"].clone()),
        (json!("refused"), json!("Another shop's receipt"))
    );
    assert_eq!(json(app.submit(&flow, 2, json!({})).await, StatusCode::CREATED).await["maturity_level"], json!(1));

    // The file is deleted 30 days after the decision; the decision stays.
    app.clock.advance(chrono::Duration::days(31));
    let pass = truview::worker::run_once(&app.state).await.unwrap();
    assert_eq!(pass.receipt_files_deleted, 3);
    let token = app.login(&v.email, &v.password).await;
    let res = app.request(Method::GET, &format!("/api/v1/receipts/{id}/file"), Some(&token), None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let listed =
        json(app.request(Method::GET, "/api/v1/receipts?state=refused", Some(&token), None).await, StatusCode::OK)
            .await;
    assert!(listed["receipts"][0]["file_deleted_at"].is_string());
}

#[actix_web::test]
async fn spoofed_oversized_and_foreign_receipts_are_refused() {
    let app = spawn_app().await;
    let v = app.vendor("Receipt Guard").await;
    let flow = app.flow(&v, None).await;
    for (ctype, body) in [
        ("image/jpeg", b"<html><script>alert(1)</script></html>".to_vec()),
        ("image/png", b"MZ\x90\x00\x03 an executable".to_vec()),
        ("application/pdf", jpeg_with_exif()),
    ] {
        let res = upload(&app, &flow, ctype, body).await;
        assert_problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type").await;
    }
    let res = upload(&app, &flow, "image/jpeg", vec![0xFF; 5 * 1024 * 1024 + 1]).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let res = upload(&app, &flow, "image/jpeg", vec![0xFF, 0xD8, 0xFF, 0xE1, 0x7F]).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let res = upload(&app, "fl_unknown", "image/jpeg", jpeg_with_exif()).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app.client.post(app.url("/api/v1/public/kyp/receipt")).body(jpeg_with_exif()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // One per flow; nothing stored by the refused attempts.
    json(upload(&app, &flow, "image/jpeg", jpeg_with_exif()).await, StatusCode::CREATED).await;
    assert_problem(upload(&app, &flow, "image/jpeg", jpeg_with_exif()).await, StatusCode::CONFLICT, "conflict").await;
    let all = json(app.request(Method::GET, "/api/v1/receipts", Some(&v.token), None).await, StatusCode::OK).await;
    assert_eq!(all["receipts"].as_array().unwrap().len(), 1);
    let id = all["receipts"][0]["id"].as_str().unwrap().to_owned();

    // Another shop's staff cannot list, read or decide it; analysts cannot either.
    let other = app.vendor("Receipt Other").await;
    let theirs =
        json(app.request(Method::GET, "/api/v1/receipts", Some(&other.token), None).await, StatusCode::OK).await;
    assert_eq!(theirs, json!({"receipts": [], "next_cursor": null}));
    assert_eq!(
        app.request(Method::GET, &format!("/api/v1/receipts/{id}/file"), Some(&other.token), None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(decide(&app, &other, &id, json!({"accept": true})).await.status(), StatusCode::NOT_FOUND);
    let (_, analyst) = app.add_staff(&v, "analyst").await;
    assert_eq!(
        app.request(Method::GET, "/api/v1/receipts", Some(&analyst), None).await.status(),
        StatusCode::FORBIDDEN
    );
    for bad in
        [json!({}), json!({"accept": "yes"}), json!({"accept": true, "reason": ""}), json!({"accept": true, "x": 1})]
    {
        assert_eq!(decide(&app, &v, &id, bad.clone()).await.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    for bad in ["?state=lost", "?limit=0", "?cursor=a.b"] {
        let res = app.request(Method::GET, &format!("/api/v1/receipts{bad}"), Some(&v.token), None).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[actix_web::test]
async fn erasure_deletes_the_buyers_receipts() {
    let app = spawn_app().await;
    let v = app.vendor("Receipt Erase").await;
    let flow = app.flow(&v, None).await;
    app.attach_identity(&flow, None, Some("+447400123456")).await;
    let id = json(upload(&app, &flow, "image/jpeg", jpeg_with_exif()).await, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    json(app.submit(&flow, 4, json!({})).await, StatusCode::CREATED).await;
    let erase = json!({"phone": "+44 7400 123456"});
    let res = app.request(Method::POST, "/api/v1/privacy/erase", Some(&v.token), Some(&erase)).await;
    assert_eq!(json(res, StatusCode::OK).await["reviews_deidentified"], json!(1));
    assert_eq!(
        app.request(Method::GET, &format!("/api/v1/receipts/{id}/file"), Some(&v.token), None).await.status(),
        StatusCode::NOT_FOUND
    );
    let all = json(app.request(Method::GET, "/api/v1/receipts", Some(&v.token), None).await, StatusCode::OK).await;
    assert_eq!(all["receipts"], json!([]));
}
