//! Regression tests for the accounts findings of the c276c24 security review: sessions
//! (M3, M11), the login lockout (M5), the last-owner rule (M9), argon2 amplification (M2),
//! staff e-mail enumeration (M10), exposed secrets (L3) and text gaps (L6, M4).

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, json, random_suffix, spawn_app, spawn_app_with, TestApp};

async fn login_json(app: &TestApp, email: &str, password: &str) -> Value {
    json(app.post("/api/v1/auth/login", &json!({"email": email, "password": password})).await, StatusCode::OK).await
}

async fn me(app: &TestApp, token: &str) -> StatusCode {
    app.request(Method::GET, "/api/v1/me", Some(token), None).await.status()
}

async fn refresh(app: &TestApp, rt: &str) -> (StatusCode, Option<String>) {
    let res = app.post("/api/v1/auth/refresh", &json!({"refresh_token": rt})).await;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (status, body["refresh_token"].as_str().map(str::to_owned))
}

fn signup_body(email: &str) -> Value {
    json!({"vendor_name": format!("Shop {}", random_suffix()), "owner_email": email, "owner_password": SQUATTER_PASSWORD})
}

/// Not the fixtures' password, so a squatter's account never shares it.
const SQUATTER_PASSWORD: &str = "squatter-pass-phrase-33";

/// M3: a revoked refresh token can never be spent, and a refresh racing a logout cannot
/// leave the attacker with a live token.
#[actix_web::test]
async fn m3_refresh_cannot_outlive_logout() {
    let app = spawn_app().await;
    let vendor = app.vendor("Race").await;

    // The store refuses to spend a revoked token, whatever the caller read before.
    let session = login_json(&app, &vendor.email, &vendor.password).await;
    let hash = truview::security::tokens::sha256_hex(session["refresh_token"].as_str().unwrap());
    let now = truview::clock::Clock::now_ms(app.clock.as_ref());
    let spent = app
        .state
        .db
        .write(move |c| {
            let token = truview::store::sessions::by_hash(c, &hash)?.expect("token stored");
            truview::store::sessions::revoke_family(c, &token.family_id, now)?;
            truview::store::sessions::spend(c, &token.id, now)
        })
        .await
        .unwrap();
    assert!(!spent, "a revoked token must not be spendable");

    // An attacker rotates a stolen token in a loop while the victim logs out.
    for round in 0..3 {
        let session = login_json(&app, &vendor.email, &vendor.password).await;
        let access = session["access_token"].as_str().unwrap().to_owned();
        let stolen = session["refresh_token"].as_str().unwrap().to_owned();
        let attacker = async {
            let mut current = stolen.clone();
            for _ in 0..40 {
                match refresh(&app, &current).await {
                    (StatusCode::OK, Some(next)) => current = next,
                    _ => break,
                }
            }
            current
        };
        let victim = async {
            actix_web::rt::time::sleep(std::time::Duration::from_millis(5 * round)).await;
            let res = app
                .request(Method::POST, "/api/v1/auth/logout", Some(&access), Some(&json!({"refresh_token": stolen})))
                .await;
            res.status()
        };
        let (last, logout) = futures::join!(attacker, victim);
        assert_eq!(logout, StatusCode::NO_CONTENT);
        assert_eq!(
            refresh(&app, &last).await.0,
            StatusCode::UNAUTHORIZED,
            "round {round}: the attacker's token outlived logout"
        );
        assert_eq!(me(&app, &access).await, StatusCode::UNAUTHORIZED);
    }
}

/// Refresh reuse under concurrency: two requests with the same token → one rotation,
/// one 401, and the reuse revokes the family, including the token just issued.
#[actix_web::test]
async fn concurrent_refresh_reuse_revokes_the_family() {
    let app = spawn_app().await;
    let vendor = app.vendor("Reuse").await;
    let session = login_json(&app, &vendor.email, &vendor.password).await;
    let rt = session["refresh_token"].as_str().unwrap().to_owned();
    let results = join_all((0..2).map(|_| refresh(&app, &rt))).await;
    let mut statuses: Vec<u16> = results.iter().map(|r| r.0.as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 401]);
    let issued = results.iter().find_map(|r| r.1.clone()).unwrap();
    assert_eq!(refresh(&app, &issued).await.0, StatusCode::UNAUTHORIZED, "reuse revokes the whole family");
    assert_eq!(me(&app, session["access_token"].as_str().unwrap()).await, StatusCode::UNAUTHORIZED);
}

/// M11: logout ends the session's access token at once (same second, no clock change);
/// other sessions go on.
#[actix_web::test]
async fn m11_access_token_dies_with_logout() {
    let app = spawn_app().await;
    let vendor = app.vendor("Logout").await;
    let session = login_json(&app, &vendor.email, &vendor.password).await;
    let access = session["access_token"].as_str().unwrap();
    assert_eq!(me(&app, access).await, StatusCode::OK);
    let res = app
        .request(
            Method::POST,
            "/api/v1/auth/logout",
            Some(access),
            Some(&json!({"refresh_token": session["refresh_token"]})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.request(Method::GET, "/api/v1/me", Some(access), None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert_eq!(me(&app, &vendor.token).await, StatusCode::OK, "another session is not affected");
    // A refreshed access token of the surviving session carries on too.
    let other = login_json(&app, &vendor.email, &vendor.password).await;
    let (status, _) = refresh(&app, other["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}

/// M11: a password change ends every access token of the member, the caller's included.
#[actix_web::test]
async fn m11_access_token_dies_with_password_change() {
    let app = spawn_app().await;
    let vendor = app.vendor("Passwd").await;
    let stolen = app.login(&vendor.email, &vendor.password).await;
    assert_eq!(me(&app, &stolen).await, StatusCode::OK);
    let body = json!({"current_password": vendor.password, "new_password": "fresh-granite-otter-58"});
    let res = app.request(Method::PUT, "/api/v1/auth/password", Some(&vendor.token), Some(&body)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &stolen).await, StatusCode::UNAUTHORIZED, "a stolen token dies with the password change");
    assert_eq!(me(&app, &vendor.token).await, StatusCode::UNAUTHORIZED, "the caller logs in again");
    let token = app.login(&vendor.email, "fresh-granite-otter-58").await;
    assert_eq!(me(&app, &token).await, StatusCode::OK);
}

/// M5: 20 concurrent wrong passwords: at most five are verified (401), the rest are
/// refused before any argon2 work (429); then even the right password waits for the window.
#[actix_web::test]
async fn m5_concurrent_wrong_passwords_lock_after_five() {
    let app = spawn_app_with(|s| s.login_failures_per_account = 5).await;
    let vendor = app.vendor("Lockout").await;
    let before = app.state.passwords.verifications();
    let body = json!({"email": vendor.email, "password": "wrong-password-123"});
    let statuses = join_all((0..20).map(|_| app.post("/api/v1/auth/login", &body))).await;
    let unauthorized = statuses.iter().filter(|r| r.status() == StatusCode::UNAUTHORIZED).count();
    let limited = statuses.iter().filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((unauthorized, limited), (5, 15), "exactly five guesses are verified");
    assert_eq!(app.state.passwords.verifications() - before, 5);

    let right = json!({"email": vendor.email, "password": vendor.password});
    assert_problem(app.post("/api/v1/auth/login", &right).await, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;
    app.clock.advance(chrono::Duration::minutes(14));
    assert_eq!(app.post("/api/v1/auth/login", &right).await.status(), StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(chrono::Duration::minutes(2));
    assert_eq!(app.post("/api/v1/auth/login", &right).await.status(), StatusCode::OK);
}

/// M9: two owners demoting each other at the same time cannot leave the vendor ownerless.
#[actix_web::test]
async fn m9_two_owners_cannot_demote_each_other_to_zero() {
    let app = spawn_app().await;
    let vendor = app.vendor("Owners").await;
    for round in 0..3 {
        let (b_id, b_token) = app.add_staff(&vendor, "owner").await;
        let demote = |target: String, token: String| {
            let app = &app;
            async move {
                let path = format!("/api/v1/staff/{target}");
                app.request(Method::PATCH, &path, Some(&token), Some(&json!({"role": "analyst"}))).await.status()
            }
        };
        let (a, b) =
            futures::join!(demote(b_id.clone(), vendor.token.clone()), demote(vendor.owner_id.clone(), b_token));
        let mut statuses = vec![a.as_u16(), b.as_u16()];
        statuses.sort();
        // The loser is refused: 409 by the last-owner rule, or 403 when the winner's
        // demotion committed before the loser was authorised.
        assert!(statuses == vec![200, 409] || statuses == vec![200, 403], "round {round}: {statuses:?}");
        let owners = {
            let v = vendor.id.clone();
            app.state.db.run(move |c| truview::store::staff::active_owner_count(c, &v)).await.unwrap()
        };
        assert_eq!(owners, 1, "round {round}: exactly one active owner remains");
        if a != StatusCode::OK {
            // B won: A is an analyst now; nothing more to race with this fixture.
            break;
        }
    }
}

/// M2: sign-ups per client IP are capped per day, on the injected clock.
#[actix_web::test]
async fn m2_signups_per_ip_are_capped_per_day() {
    let app = spawn_app_with(|s| s.signups_per_ip_per_day = 3).await;
    for i in 0..3 {
        let res = app.post("/api/v1/vendors", &signup_body(&format!("o{i}-{}@cap.example", random_suffix()))).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let before = app.state.passwords.verifications();
    let res = app.post("/api/v1/vendors", &signup_body("late@cap.example")).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;
    assert_eq!(app.state.passwords.verifications(), before);
    app.clock.advance(chrono::Duration::hours(24) + chrono::Duration::minutes(1));
    assert_eq!(app.post("/api/v1/vendors", &signup_body("late@cap.example")).await.status(), StatusCode::CREATED);
}

/// M2: guesses at `current_password` count against the account's login lockout.
#[actix_web::test]
async fn m2_current_password_guesses_are_throttled() {
    let app = spawn_app_with(|s| s.login_failures_per_account = 5).await;
    let vendor = app.vendor("Guess").await;
    let change = |current: &str| json!({"current_password": current, "new_password": "fresh-granite-otter-58"});
    for _ in 0..5 {
        let res = app
            .request(Method::PUT, "/api/v1/auth/password", Some(&vendor.token), Some(&change("wrong-guess-0001")))
            .await;
        let problem = assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
        assert_eq!(problem["detail"], "current_password is not correct");
    }
    let res =
        app.request(Method::PUT, "/api/v1/auth/password", Some(&vendor.token), Some(&change(&vendor.password))).await;
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;
    let login = json!({"email": vendor.email, "password": vendor.password});
    assert_eq!(
        app.post("/api/v1/auth/login", &login).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "one lockout per account"
    );
    app.clock.advance(chrono::Duration::minutes(16));
    let token = app.login(&vendor.email, &vendor.password).await;
    let res = app.request(Method::PUT, "/api/v1/auth/password", Some(&token), Some(&change(&vendor.password))).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

/// M10: sign-up answers the same whether or not the e-mail is staff somewhere, and a
/// squatter cannot block the real employer or take over the real account's login.
#[actix_web::test]
async fn m10_signup_does_not_reveal_existing_staff_emails() {
    let app = spawn_app().await;
    let vendor = app.vendor("Employer").await;
    let (staff_email, staff_password) =
        (format!("clerk-{}@employer.example", random_suffix()), "purple-gravel-lantern-7");
    let body = json!({"email": staff_email, "display_name": "Clerk", "role": "analyst", "password": staff_password});
    json(app.request(Method::POST, "/api/v1/staff", Some(&vendor.token), Some(&body)).await, StatusCode::CREATED).await;

    let shape = |v: &Value| {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    let fresh = json(
        app.post("/api/v1/vendors", &signup_body(&format!("new-{}@else.example", random_suffix()))).await,
        StatusCode::CREATED,
    )
    .await;
    for taken in [&vendor.email, &staff_email] {
        let res = app.post("/api/v1/vendors", &signup_body(taken)).await;
        assert_eq!(res.headers()["cache-control"], "no-store");
        let created = json(res, StatusCode::CREATED).await;
        assert_eq!(shape(&created), shape(&fresh));
        assert_ne!(created["vendor"]["id"], json!(vendor.id));
    }

    // The real accounts still log in without naming the vendor: the squatter's password
    // does not open them, and theirs does not open the squatter's.
    let owner = login_json(&app, &vendor.email, &vendor.password).await;
    assert_eq!(owner["staff"]["vendor_id"], json!(vendor.id));
    let clerk = login_json(&app, &staff_email, staff_password).await;
    assert_eq!(clerk["staff"]["vendor_id"], json!(vendor.id));
    let squatter = login_json(&app, &vendor.email, SQUATTER_PASSWORD).await;
    assert_ne!(squatter["staff"]["vendor_id"], json!(vendor.id));
    // Naming the vendor selects the account there.
    let hinted = json!({"email": vendor.email, "password": SQUATTER_PASSWORD, "vendor_id": vendor.id});
    assert_problem(app.post("/api/v1/auth/login", &hinted).await, StatusCode::UNAUTHORIZED, "unauthorized").await;

    // Squatting first does not stop the employer from adding the address later.
    let victim = format!("victim-{}@employer.example", random_suffix());
    json(app.post("/api/v1/vendors", &signup_body(&victim)).await, StatusCode::CREATED).await;
    let body = json!({"email": victim, "display_name": "Victim", "role": "moderator", "password": staff_password});
    json(app.request(Method::POST, "/api/v1/staff", Some(&vendor.token), Some(&body)).await, StatusCode::CREATED).await;
    // Within one vendor an address is still unique.
    let res = app.request(Method::POST, "/api/v1/staff", Some(&vendor.token), Some(&body)).await;
    assert_problem(res, StatusCode::CONFLICT, "conflict").await;
}

/// M4/L6: control characters in a login e-mail or a path id are a 4xx on both backends.
#[actix_web::test]
async fn m4_login_email_with_nul_is_not_a_server_error() {
    let app = spawn_app().await;
    let vendor = app.vendor("Nul").await;
    for email in ["a\u{0000}@b.example", "a\u{202E}@b.example", &format!("{}\u{0000}", vendor.email)] {
        let res = app.post("/api/v1/auth/login", &json!({"email": email, "password": "wrong-password-123"})).await;
        assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let res = app
        .post(
            "/api/v1/auth/login",
            &json!({"email": vendor.email, "password": vendor.password, "vendor_id": "x\u{0000}"}),
        )
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // NUL in staff and key path ids: `public_writes::m4_nul_in_key_and_staff_ids_is_a_client_error`.
    // Sign-up and staff e-mails refuse invisible characters (L6).
    let res = app.post("/api/v1/vendors", &signup_body("ow\u{200B}ner@shop.example")).await;
    assert_eq!(assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await["field"], "owner_email");
    let body = json!({"email": "x@y.example", "display_name": "Ad\u{200B}min", "role": "analyst", "password": "purple-gravel-lantern-7"});
    let res = app.request(Method::POST, "/api/v1/staff", Some(&vendor.token), Some(&body)).await;
    assert_eq!(assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await["field"], "display_name");
}

/// L3: the default owner name goes through `clean`; secrets stay out of `Debug`.
#[test]
fn l3_debug_output_redacts_secrets() {
    use truview::accounts::IssuedKey;
    use truview::store::keys::ApiKey;
    use truview::store::staff::Staff;
    let key = IssuedKey {
        row: ApiKey {
            id: "k".into(),
            vendor_id: "v".into(),
            kind: "secret".into(),
            prefix: "sk_abcdefgh".into(),
            key_hash: "h".into(),
            label: "l".into(),
            created_at: 0,
            revoked_at: None,
            last_used_at: None,
        },
        plaintext: "sk_abcdefgh-the-whole-secret".into(),
    };
    assert!(!format!("{key:?}").contains("the-whole-secret"));
    let member = Staff {
        id: "s".into(),
        vendor_id: "v".into(),
        email: "a@b.example".into(),
        display_name: "A".into(),
        password_hash: "$argon2id$v=19$secret-hash".into(),
        role: "owner".into(),
        active: true,
        created_at: 0,
        updated_at: 0,
    };
    assert!(!format!("{member:?}").contains("secret-hash"));
    let settings = truview::config::Settings {
        database_url: "postgres://truview:hunter2-db-pass@db.internal/truview".into(),
        ..Default::default()
    };
    let shown = format!("{settings:?}");
    assert!(!shown.contains("hunter2-db-pass") && shown.contains("db.internal"), "{shown}");
    // libpq also takes the password as a query parameter.
    let settings = truview::config::Settings {
        database_url: "postgres://truview@db.internal/truview?sslmode=require&password=hunter3-q".into(),
        ..Default::default()
    };
    let shown = format!("{settings:?}");
    assert!(!shown.contains("hunter3-q") && shown.contains("sslmode=require"), "{shown}");
}

/// L3: the demo vendor is off by default on PostgreSQL; `demo = true` still turns it on.
#[test]
fn l3_demo_is_off_by_default_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("truview.toml");
    let load = |toml: &str| {
        std::fs::write(&file, toml).unwrap();
        truview::config::Settings::load(Some(&file)).unwrap().demo
    };
    assert!(!load("database_url = \"postgres://u:p@localhost/truview\"\n"));
    assert!(load("database_url = \"postgres://u:p@localhost/truview\"\ndemo = true\n"));
    assert!(load("database_url = \"truview.db\"\n"));
    assert!(!load("database_url = \"truview.db\"\ndemo = false\n"));
}

/// A misspelt setting in the file refuses to start, naming it, rather than being ignored
/// (a misspelt `signup_enabled` would leave sign-up on); the operator's own names inside
/// maps and every documented setting are accepted.
#[test]
fn a_misspelt_setting_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("truview.toml");
    let load = |toml: &str| {
        std::fs::write(&file, toml).unwrap();
        truview::config::Settings::load(Some(&file)).map(|_| ()).map_err(|e| e.to_string())
    };
    let refused =
        load("database_url = \"truview.db\"\nsigup_enabled = false\n[mail]\nsmtp_ur = \"smtp://x\"\n").unwrap_err();
    assert!(
        refused.ends_with(
            "unknown setting(s) `mail.smtp_ur`, `sigup_enabled`: check the spelling against the configuration table in the README"
        ),
        "{refused}"
    );
    load("database_url = \"truview.db\"\nsignup_enabled = false\n[kyc.providers.corp]\npreset = \"google\"\nclient_id = \"a\"\nclient_secret = \"b\"\n")
        .unwrap();
}

#[test]
fn l6_default_owner_name_is_cleaned() {
    use truview::domain::contact::Email;
    let email = Email::parse("e", "Ann.Smith@shop.example").unwrap();
    assert_eq!(truview::accounts::owner_name(None, &email).unwrap(), "ann.smith");
    assert!(truview::accounts::owner_name(Some("Ad\u{200B}min"), &email).is_err());
}

/// Review finding: logout ends the session of the access token it is called with, even
/// when the refresh token in the body is lost or wrong, or when none is sent at all (a
/// console that lost its refresh cookie); its refresh token dies with it, other sessions
/// live on.
#[actix_web::test]
async fn m11_logout_ends_the_callers_session_whatever_refresh_token_is_sent() {
    let app = spawn_app().await;
    let vendor = app.vendor("Lost Token").await;
    for body in [json!({"refresh_token": "rt_not-a-token-of-anyone"}), json!({})] {
        let session = login_json(&app, &vendor.email, &vendor.password).await;
        let access = session["access_token"].as_str().unwrap();
        let res = app.request(Method::POST, "/api/v1/auth/logout", Some(access), Some(&body)).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "{body}");
        assert_eq!(me(&app, access).await, StatusCode::UNAUTHORIZED, "the caller's session ended: {body}");
        let refresh = app.post("/api/v1/auth/refresh", &json!({"refresh_token": session["refresh_token"]})).await;
        assert_problem(refresh, StatusCode::UNAUTHORIZED, "unauthorized").await;
        assert_eq!(me(&app, &vendor.token).await, StatusCode::OK, "another session is not affected: {body}");
    }
}

/// Review finding: a success on another account with the same e-mail (e-mails are unique
/// per vendor; anyone can sign up with any address) does not reset the lockout that
/// guards the victim's account.
#[actix_web::test]
async fn m5_a_squatted_account_cannot_reset_the_victims_lockout() {
    let app = spawn_app_with(|s| s.login_failures_per_account = 5).await;
    let victim = app.vendor("Victim").await;
    let squat = json!({
        "vendor_name": "Squatter", "owner_email": victim.email, "owner_password": "squatter-own-pass-77",
    });
    assert_eq!(app.post("/api/v1/vendors", &squat).await.status(), StatusCode::CREATED);
    let guess = json!({"email": victim.email, "password": "wrong-guess-0001", "vendor_id": victim.id});
    for _ in 0..4 {
        assert_eq!(app.post("/api/v1/auth/login", &guess).await.status(), StatusCode::UNAUTHORIZED);
    }
    let own = json!({"email": victim.email, "password": "squatter-own-pass-77"});
    assert_eq!(app.post("/api/v1/auth/login", &own).await.status(), StatusCode::OK);
    assert_eq!(app.post("/api/v1/auth/login", &guess).await.status(), StatusCode::UNAUTHORIZED, "fifth failure");
    let res = app.post("/api/v1/auth/login", &guess).await;
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;
}
