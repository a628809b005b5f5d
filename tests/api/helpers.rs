//! `spawn_app()`: the real application on port 0 with a fresh database per test
//! (a temporary SQLite file, or a fresh schema on `TRUVIEW_TEST_DATABASE_URL`).

use std::sync::Arc;

use actix_web::web;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use truview::app::{AppState, Application, Deps};
use truview::clock::{ManualClock, OsRandom};
use truview::config::Settings;

pub struct TestApp {
    pub address: String,
    pub state: web::Data<AppState>,
    pub clock: Arc<ManualClock>,
    pub client: reqwest::Client,
    pub db: TestDb,
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub fn new() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        match std::env::var("TRUVIEW_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(admin) => {
                let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
                let mut conn = diesel::PgConnection::establish(&admin)
                    .unwrap_or_else(|e| panic!("TRUVIEW_TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}"));
                conn.batch_execute(&format!("CREATE SCHEMA {schema}")).expect("create schema");
                let sep = if admin.contains('?') { '&' } else { '?' };
                let url = format!("{admin}{sep}options=-csearch_path%3D{schema}");
                TestDb { url, dir, pg: Some((admin, schema)) }
            }
            None => {
                if std::env::var("CI").as_deref() == Ok("true")
                    && std::env::var("TRUVIEW_TEST_BACKEND").as_deref() == Ok("postgres")
                {
                    panic!("CI asked for the PostgreSQL run but TRUVIEW_TEST_DATABASE_URL is not set");
                }
                TestDb::sqlite_in(dir)
            }
        }
    }

    /// A SQLite database whatever the environment says.
    pub fn sqlite() -> TestDb {
        TestDb::sqlite_in(tempfile::tempdir().expect("temp dir"))
    }

    fn sqlite_in(dir: tempfile::TempDir) -> TestDb {
        let url = dir.path().join("truview.db").to_string_lossy().into_owned();
        TestDb { url, dir, pg: None }
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, schema)) = &self.pg {
            if let Ok(mut conn) = diesel::PgConnection::establish(admin) {
                let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

pub fn test_settings(db: &TestDb) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        database_url: db.url.clone(),
        key_file: Some(db.dir.path().join("truview.keys.json")),
        demo: false,
        log_level: "warn".into(),
        http_workers: Some(2),
        pool_size: 8,
        ..Settings::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDb::new();
    let mut settings = test_settings(&db);
    configure(&mut settings);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let deps = Deps { clock: clock.clone(), random: Arc::new(OsRandom) };
    let app = Application::build(settings, deps).expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    actix_web::rt::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    TestApp { address, state, clock, client, db }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn request(&self, method: Method, path: &str, bearer: Option<&str>, body: Option<&Value>) -> Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        req.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, None, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path, None, Some(body)).await
    }
}

/// Asserts a problem+json answer with this status and `type` slug; returns the body.
pub async fn assert_problem(res: Response, status: StatusCode, slug: &str) -> Value {
    assert_eq!(res.status(), status, "unexpected status for {}", res.url());
    let ctype = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(ctype, "application/problem+json");
    let body: Value = res.json().await.expect("problem body is JSON");
    assert_eq!(body["type"], json!(format!("urn:truview:problem:{slug}")), "{body}");
    assert_eq!(body["status"], json!(status.as_u16()));
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    body
}

pub async fn json(res: Response, status: StatusCode) -> Value {
    let actual = res.status();
    let url = res.url().to_string();
    let text = res.text().await.unwrap_or_default();
    assert_eq!(actual, status, "{url}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

pub fn random_suffix() -> String {
    use truview::clock::Random;
    OsRandom.token(6).to_lowercase().replace(['-', '_'], "x")
}
