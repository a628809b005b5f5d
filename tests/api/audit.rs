//! T17: the audit chain; `truview audit verify` detects edited and deleted rows.

use diesel::connection::SimpleConnection;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{json, spawn_app, TestApp};

fn verify(app: &TestApp) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_truview"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", &app.settings.database_url)
        .env("TRUVIEW_KEY_FILE", app.key_file())
        .env("TRUVIEW_LOG_LEVEL", "error")
        .output()
        .expect("truview runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

fn tamper(app: &TestApp, sql: &str) {
    let mut conn = truview::db::establish(&app.settings.database_url).unwrap();
    conn.batch_execute(sql).unwrap();
}

async fn app_with_history() -> (TestApp, String) {
    let app = spawn_app().await;
    let vendor = app.vendor("Audited").await;
    app.add_staff(&vendor, "moderator").await;
    let res = app
        .request(
            Method::POST,
            "/api/v1/keys",
            Some(&vendor.token),
            Some(&json!({"kind": "publishable", "label": "shop"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    (app, vendor.id)
}

#[actix_web::test]
async fn t17_audit_log_records_actions_in_order() {
    let (app, _) = app_with_history().await;
    let vendor = app.vendor("Reader").await;
    let page =
        json(app.request(Method::GET, "/api/v1/audit?limit=3", Some(&vendor.token), None).await, StatusCode::OK).await;
    let actions: Vec<&str> =
        page["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["staff.login", "key.created", "key.created"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = json(
        app.request(Method::GET, &format!("/api/v1/audit?cursor={cursor}"), Some(&vendor.token), None).await,
        StatusCode::OK,
    )
    .await;
    let actions: Vec<&str> =
        rest["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["staff.created", "vendor.created"]);
    assert_eq!(rest["next_cursor"], serde_json::Value::Null);
}

#[actix_web::test]
async fn t17_verify_passes_on_an_intact_log() {
    let (app, vendor_id) = app_with_history().await;
    let (ok, out) = verify(&app);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("ok      vendor {vendor_id}: 8 audit row(s) verified")), "{out}");
}

#[actix_web::test]
async fn t17_edited_row_is_detected() {
    let (app, vendor_id) = app_with_history().await;
    tamper(
        &app,
        &format!(
            "UPDATE audit_log SET details = '{{\"role\":\"analyst\"}}' WHERE vendor_id = '{vendor_id}' AND seq = 6"
        ),
    );
    let (ok, out) = verify(&app);
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("vendor {vendor_id} audit row 6: contents altered")), "{out}");
}

#[actix_web::test]
async fn t17_deleted_row_is_detected() {
    let (app, vendor_id) = app_with_history().await;
    tamper(&app, &format!("DELETE FROM audit_log WHERE vendor_id = '{vendor_id}' AND seq = 3"));
    let (ok, out) = verify(&app);
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("vendor {vendor_id} audit row 3: missing (deleted)")), "{out}");
}

#[actix_web::test]
async fn t17_deleted_last_row_and_rehashed_edit_are_detected() {
    let (app, vendor_id) = app_with_history().await;
    tamper(&app, &format!("DELETE FROM audit_log WHERE vendor_id = '{vendor_id}' AND seq = 8"));
    let (ok, out) = verify(&app);
    assert!(
        !ok && out.contains(&format!("vendor {vendor_id} audit row 8: missing (deleted from the end of the chain)")),
        "{out}"
    );

    // An attacker who edits a row and recomputes its hash still breaks the next link.
    let (app, vendor_id) = app_with_history().await;
    tamper(
        &app,
        &format!("UPDATE audit_log SET hash = 'ff' || substr(hash, 3) WHERE vendor_id = '{vendor_id}' AND seq = 2"),
    );
    let (ok, out) = verify(&app);
    assert!(!ok && out.contains(&format!("vendor {vendor_id} audit row 2: contents altered")), "{out}");
}
