//! `spawn_app()`: the real application on port 0 with a fresh database per test
//! (a temporary SQLite file, or a fresh schema on `TRUVIEW_TEST_DATABASE_URL`).

use std::sync::Arc;

use actix_web::web;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use truview::app::{AppState, Application, Deps};
use truview::clock::{ManualClock, SystemRandom};
use truview::config::Settings;

pub struct TestApp {
    pub address: String,
    pub state: web::Data<AppState>,
    pub clock: Arc<ManualClock>,
    pub client: reqwest::Client,
    pub db: Arc<TestDb>,
    pub settings: Settings,
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
    let db = Arc::new(TestDb::new());
    let mut settings = test_settings(&db);
    configure(&mut settings);
    start(db, settings, Arc::new(ManualClock::new(chrono::Utc::now())))
}

fn start(db: Arc<TestDb>, settings: Settings, clock: Arc<ManualClock>) -> TestApp {
    // `TEST_LOG=1 cargo test …` shows the application's logs (level from RUST_LOG, default debug).
    if std::env::var_os("TEST_LOG").is_some() {
        truview::telemetry::init(truview::config::LogFormat::Text, "debug");
    }
    let deps = Deps { clock: clock.clone(), random: Arc::new(SystemRandom) };
    let app = Application::build(settings.clone(), deps).expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    actix_web::rt::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    TestApp { address, state, clock, client, db, settings }
}

impl TestApp {
    /// A second node (or a restarted one) on the same database and key file.
    pub fn another_node(&self) -> TestApp {
        start(self.db.clone(), self.settings.clone(), self.clock.clone())
    }

    /// A `truview` child process (`args`) on this app's database and key file, sending mail
    /// to the SMTP server at `smtp_port`, its worker polling every second, quiet.
    pub fn truview_command(&self, args: &[&str], smtp_port: u16) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_truview"));
        cmd.args(args)
            .env("DATABASE_URL", &self.settings.database_url)
            .env("TRUVIEW_KEY_FILE", self.key_file())
            .env("TRUVIEW_LOG_LEVEL", "error")
            .env("TRUVIEW_DEMO", "false")
            .env("TRUVIEW_MAIL__SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}"))
            .env("TRUVIEW_MAIL__FROM", "Reviews <reviews@shop.example>")
            .env("TRUVIEW_PUBLIC_URL", "https://reviews.example")
            .env("TRUVIEW_WORKER_INTERVAL_SECS", "1")
            .stdout(std::process::Stdio::null());
        cmd
    }

    pub fn key_file(&self) -> std::path::PathBuf {
        self.settings.key_file_path()
    }

    /// Signs up a vendor through the API and logs its owner in.
    pub async fn vendor(&self, name: &str) -> Vendor {
        let email = format!("owner-{}@{}.example", random_suffix(), name.to_lowercase().replace(' ', "-"));
        let password = "correct-horse-staple-91".to_owned();
        let body = json!({
            "vendor_name": name,
            "origins": [format!("https://{}.example", name.to_lowercase().replace(' ', "-"))],
            "owner_email": email,
            "owner_password": password,
        });
        let created = json(self.post("/api/v1/vendors", &body).await, StatusCode::CREATED).await;
        let token = self.login(&email, &password).await;
        Vendor {
            id: created["vendor"]["id"].as_str().unwrap().to_owned(),
            owner_id: created["owner"]["id"].as_str().unwrap().to_owned(),
            email,
            password,
            pk: created["publishable_key"]["key"].as_str().unwrap().to_owned(),
            sk: created["secret_key"]["key"].as_str().unwrap().to_owned(),
            sk_id: created["secret_key"]["id"].as_str().unwrap().to_owned(),
            token,
        }
    }

    /// Logs in and returns the access token (panics unless 200).
    pub async fn login(&self, email: &str, password: &str) -> String {
        let res = self.post("/api/v1/auth/login", &json!({"email": email, "password": password})).await;
        json(res, StatusCode::OK).await["access_token"].as_str().unwrap().to_owned()
    }

    /// Adds a staff member with this role; returns (id, access token).
    pub async fn add_staff(&self, owner: &Vendor, role: &str) -> (String, String) {
        let email = format!("{role}-{}@staff.example", random_suffix());
        let password = "purple-gravel-lantern-7".to_owned();
        let body = json!({"email": email, "display_name": role, "role": role, "password": password});
        let res = self.request(Method::POST, "/api/v1/staff", Some(&owner.token), Some(&body)).await;
        let id = json(res, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned();
        (id, self.login(&email, &password).await)
    }
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

    /// A CORS preflight for a POST from `origin`, as a browser sends it.
    pub async fn preflight(&self, path: &str, origin: &str) -> Response {
        self.client
            .request(Method::OPTIONS, self.url(path))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, None, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path, None, Some(body)).await
    }
}

/// A vendor made through the API, with its owner's session and its keys.
#[derive(Debug, Clone)]
pub struct Vendor {
    pub id: String,
    pub owner_id: String,
    pub email: String,
    pub password: String,
    pub pk: String,
    pub sk: String,
    pub sk_id: String,
    pub token: String,
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

/// A port free on loopback right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn random_suffix() -> String {
    use truview::clock::Random;
    SystemRandom.token(6).to_lowercase().replace(['-', '_'], "x")
}

/// Review fixtures. Verified evidence is attached through the same store functions the
/// KYC and KYP stages call (`flows::attach_identity`, `flows::attach_purchase`).
pub mod fixtures {
    use reqwest::StatusCode;
    use serde_json::{json, Value};
    use truview::domain::maturity::{Identity, Purchase, PurchaseMethod};
    use truview::security::tokens::sha256_hex;
    use truview::store::orders::{Order, OrderItem};

    use super::{TestApp, Vendor};

    impl TestApp {
        /// Opens a review flow with the vendor's publishable key; returns the flow token.
        pub async fn flow(&self, vendor: &Vendor, sku: Option<&str>) -> String {
            let mut body = json!({"key": vendor.pk});
            if let Some(sku) = sku {
                body["sku"] = json!(sku);
            }
            let res = self.post("/api/v1/public/flows", &body).await;
            super::json(res, StatusCode::CREATED).await["flow_token"].as_str().unwrap().to_owned()
        }

        /// Imports one order (store level, as the orders stage will) with these contacts.
        pub async fn order(
            &self,
            vendor: &Vendor,
            order_ref: &str,
            email: Option<&str>,
            phone: Option<&str>,
            skus: &[&str],
        ) -> String {
            let state = self.state.clone();
            let id = truview::store::new_id(state.clock.as_ref(), state.random.as_ref());
            let order = Order {
                id: id.clone(),
                vendor_id: vendor.id.clone(),
                order_ref: order_ref.to_owned(),
                email_hmac: email.map(|e| state.contacts.email(e)),
                phone_hmac: phone.map(|p| state.contacts.phone(p)),
                customer_name: Some("Buyer Name".into()),
                total_minor: Some(4999),
                currency: Some("EUR".into()),
                purchased_at: state.clock.now_ms(),
                delivered_at: None,
                locale: Some("en".into()),
                created_at: state.clock.now_ms(),
                status: "paid".into(),
                updated_at: None,
                email_sealed: None,
                phone_sealed: None,
                contacts_expire_at: None,
            };
            let items: Vec<OrderItem> = skus
                .iter()
                .map(|sku| OrderItem {
                    id: truview::store::new_id(state.clock.as_ref(), state.random.as_ref()),
                    order_id: id.clone(),
                    sku: (*sku).to_owned(),
                    name: Some(format!("Product {sku}")),
                    price_minor: Some(4999),
                })
                .collect();
            state.db.write(move |conn| truview::store::orders::insert(conn, &order, &items)).await.unwrap();
            id
        }

        /// Binds a flow to an order (KYP), as an invitation link for that order would.
        pub async fn attach_purchase(&self, flow_token: &str, order_id: &str) {
            let hash = sha256_hex(flow_token);
            let order_id = order_id.to_owned();
            self.state
                .db
                .write(move |conn| {
                    let flow = truview::store::flows::by_token_hash(conn, &hash)?.expect("flow exists");
                    let order = truview::store::orders::get(conn, &flow.vendor_id, &order_id)?;
                    let purchase = Purchase {
                        order_id: order.id,
                        method: PurchaseMethod::Invitation,
                        email_hmac: order.email_hmac,
                        phone_hmac: order.phone_hmac,
                    };
                    truview::store::flows::attach_purchase(conn, &flow, purchase)
                })
                .await
                .unwrap();
        }

        /// Records a verified identity (KYC) on a flow: `phone` or an OAuth e-mail.
        pub async fn attach_identity(&self, flow_token: &str, email: Option<&str>, phone: Option<&str>) {
            let identity = match (email, phone) {
                (_, Some(p)) => Identity::Phone { phone_hmac: self.state.contacts.phone(p) },
                (e, None) => Identity::Oauth {
                    provider: "google".into(),
                    issuer: "https://accounts.google.com".into(),
                    subject_key: None,
                    label: None,
                    email_hmac: e.map(|e| self.state.contacts.email(e)),
                },
            };
            let hash = sha256_hex(flow_token);
            self.state
                .db
                .write(move |conn| {
                    let flow = truview::store::flows::by_token_hash(conn, &hash)?.expect("flow exists");
                    truview::store::flows::attach_identity(conn, &flow, identity)
                })
                .await
                .unwrap();
        }

        /// Submits a review through a flow; returns the response.
        pub async fn submit(&self, flow_token: &str, rating: i64, extra: Value) -> reqwest::Response {
            let mut body = json!({
                "flow_token": flow_token,
                "rating": rating,
                "title": format!("{rating} stars"),
                "body": "Arrived on time and works as described.",
                "display_name": "Ann B.",
            });
            if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
                for (k, v) in e {
                    b.insert(k.clone(), v.clone());
                }
            }
            self.post("/api/v1/public/reviews", &body).await
        }

        /// Submits through a fresh flow and returns the review id (201 expected).
        pub async fn review(&self, vendor: &Vendor, sku: Option<&str>, rating: i64) -> String {
            let token = self.flow(vendor, sku).await;
            super::json(self.submit(&token, rating, json!({})).await, StatusCode::CREATED).await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }

        /// A moderation decision by the vendor's owner.
        pub async fn decide(&self, vendor: &Vendor, review_id: &str, body: Value) -> reqwest::Response {
            let path = format!("/api/v1/reviews/{review_id}/decision");
            self.request(reqwest::Method::POST, &path, Some(&vendor.token), Some(&body)).await
        }

        pub async fn publish(&self, vendor: &Vendor, review_id: &str) {
            super::json(self.decide(vendor, review_id, json!({"action": "publish"})).await, StatusCode::OK).await;
        }
    }
}
