//! Foundation: ops endpoints, problem+json for bad input, migrations, OpenAPI drift.

use diesel::prelude::*;
use diesel::sql_types::Text;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_problem, json, spawn_app, TestDb};

#[actix_web::test]
async fn health_and_ready_answer_200() {
    let app = spawn_app().await;
    let health = json(app.get("/health").await, StatusCode::OK).await;
    assert_eq!(health, json!({"status": "ok"}));
    let ready = json(app.get("/ready").await, StatusCode::OK).await;
    let backend = if app.db.is_postgres() { "postgresql" } else { "sqlite" };
    assert_eq!(ready, json!({"status": "ready", "backend": backend}));
}

#[actix_web::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.get("/health").await;
    }
    app.get("/no/such/route").await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(text.contains(r#"truview_http_requests_total{method="GET",route="/health",status="200"} 3"#), "{text}");
    assert!(text.contains(r#"truview_http_requests_total{method="GET",route="unmatched",status="404"} 1"#), "{text}");
    assert!(
        text.contains(r#"truview_http_request_duration_seconds_count{method="GET",route="/health",status="200"} 3"#),
        "{text}"
    );
    assert!(text.contains("truview_db_pool_connections_in_use"), "{text}");
}

/// Requests are counted under the first route pattern their path matches, whatever served
/// them: widget reads under their own, a preflight under the widget read its path names.
#[actix_web::test]
async fn metrics_label_widget_reads_and_their_preflights_by_the_read_route() {
    let app = spawn_app().await;
    let vendor = app.vendor("Labels").await;
    for _ in 0..2 {
        assert_eq!(app.get(&format!("/api/v1/public/{}/reviews?sku=A", vendor.pk)).await.status(), StatusCode::OK);
    }
    assert_eq!(app.get(&format!("/api/v1/public/{}/summary", vendor.pk)).await.status(), StatusCode::OK);
    app.request(Method::OPTIONS, &format!("/api/v1/public/{}/reviews", vendor.pk), None, None).await;
    let text = app.get("/metrics").await.text().await.unwrap();
    for line in [
        r#"truview_http_requests_total{method="GET",route="/api/v1/public/{pk}/reviews",status="200"} 2"#,
        r#"truview_http_requests_total{method="GET",route="/api/v1/public/{pk}/summary",status="200"} 1"#,
        r#"truview_http_requests_total{method="OPTIONS",route="/api/v1/public/{pk}/reviews",status="204"} 1"#,
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
}

/// Also the widget reads, which are answered ahead of the other middleware, whether they
/// succeed or fail (a 401 for an unknown key, a 400 for a bad query), and 404s.
#[actix_web::test]
async fn every_response_carries_a_request_id_and_security_headers() {
    let app = spawn_app().await;
    let vendor = app.vendor("Headers").await;
    let mut ids = std::collections::HashSet::new();
    for (path, status) in [
        ("/health".to_owned(), StatusCode::OK),
        (format!("/api/v1/public/{}/reviews?sku=A", vendor.pk), StatusCode::OK),
        (format!("/api/v1/public/{}/summary", vendor.pk), StatusCode::OK),
        ("/api/v1/public/pk_unknown/reviews".to_owned(), StatusCode::UNAUTHORIZED),
        (format!("/api/v1/public/{}/reviews?limit=0", vendor.pk), StatusCode::BAD_REQUEST),
        ("/api/v1/nothing-here".to_owned(), StatusCode::NOT_FOUND),
    ] {
        let res = app.get(&path).await;
        assert_eq!(res.status(), status, "{path}");
        let headers = res.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        let id = headers["x-request-id"].to_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 4), "uuid v4 request id: {id}");
        assert!(ids.insert(id.to_owned()), "request ids are not reused: {id}");
    }
}

#[actix_web::test]
async fn unknown_route_is_404_problem() {
    let app = spawn_app().await;
    assert_problem(app.get("/api/v1/nothing-here").await, StatusCode::NOT_FOUND, "not-found").await;
}

#[actix_web::test]
async fn wrong_method_is_405_problem_with_allow() {
    let app = spawn_app().await;
    let res = app.request(Method::DELETE, "/health", None, None).await;
    assert_eq!(res.headers()["allow"], "GET");
    assert_problem(res, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed").await;
}

#[actix_web::test]
async fn openapi_is_served() {
    let app = spawn_app().await;
    let spec = json(app.get("/api-spec/openapi.json").await, StatusCode::OK).await;
    assert_eq!(spec["info"]["title"], "TruView API");
    assert!(spec["paths"]["/health"]["get"].is_object());
}

#[test]
fn committed_openapi_matches_the_code() {
    let generated = truview::app::openapi().to_pretty_json().unwrap() + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/api-spec/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        generated == committed,
        "api-spec/openapi.json is out of date: run `cargo run -- openapi` and commit the result"
    );
}

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

fn sqlite_columns(url: &str) -> Vec<Column> {
    let mut conn = diesel::SqliteConnection::establish(url).unwrap();
    let mut cols: Vec<Column> = diesel::sql_query(
        "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '__diesel%'",
    )
    .load(&mut conn)
    .unwrap();
    cols.sort();
    cols
}

fn pg_columns(url: &str) -> Vec<Column> {
    let mut conn = diesel::PgConnection::establish(url).unwrap();
    let mut cols: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS column_name FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name NOT LIKE '__diesel%'",
    )
    .load(&mut conn)
    .unwrap();
    cols.sort();
    cols
}

/// Migrations are idempotent, and both backends' folders define the same tables and columns.
#[test]
fn migrations_are_idempotent_and_backends_agree() {
    let db = TestDb::new();
    let mut conn = truview::db::establish(&db.url).unwrap();
    assert!(truview::db::run_migrations(&mut conn).unwrap() >= 1);
    assert_eq!(truview::db::run_migrations(&mut conn).unwrap(), 0, "second run changes nothing");
    assert!(truview::db::migrations_current(&mut conn).unwrap());

    let sqlite_db = TestDb::sqlite();
    let mut sqlite = truview::db::establish(&sqlite_db.url).unwrap();
    truview::db::run_migrations(&mut sqlite).unwrap();
    let sqlite_cols = sqlite_columns(&sqlite_db.url);
    let tables: std::collections::BTreeSet<&str> = sqlite_cols.iter().map(|c| c.table_name.as_str()).collect();
    let expected: std::collections::BTreeSet<&str> = truview::db::schema::TABLES.iter().copied().collect();
    assert_eq!(tables, expected, "schema.rs TABLES and the SQLite migrations disagree");
    if db.is_postgres() {
        assert_eq!(pg_columns(&db.url), sqlite_cols, "migrations/postgres and migrations/sqlite disagree");
    } else {
        eprintln!("note: PostgreSQL column parity is checked when TRUVIEW_TEST_DATABASE_URL is set");
    }
}

/// Schemathesis ST201: serde would decode a JSON array into a struct by position, so
/// `["Renamed", null, null]` renamed a vendor and `[email, password]` logged in. Bodies must
/// be objects; a well-formed body of the wrong shape (a number where an enum belongs) is a
/// 422 naming the body, not a 400 "malformed JSON".
#[actix_web::test]
async fn json_bodies_must_be_objects() {
    let app = spawn_app().await;
    let vendor = app.vendor("Array Shop").await;
    let renamed = json!(["Renamed by array", null, null]);
    let res = app.request(Method::PATCH, "/api/v1/vendor", Some(&vendor.token), Some(&renamed)).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(
        (problem["field"].as_str(), problem["detail"].as_str()),
        (Some("body"), Some("body must be a JSON object"))
    );
    let res = app.request(Method::GET, "/api/v1/vendor", Some(&vendor.token), None).await;
    assert_eq!(json(res, StatusCode::OK).await["name"], "Array Shop");
    let res = app.post("/api/v1/auth/login", &json!([vendor.email, vendor.password])).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let res =
        app.request(Method::POST, "/api/v1/keys", Some(&vendor.token), Some(&json!({"kind": 5, "label": "x"}))).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(problem["field"], "kind");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .starts_with("kind does not match the expected shape: invalid type: integer"),
        "{problem}"
    );
}
