//! Vendors, staff, keys, sessions: sign-up, roles, T8 password policy, T9 login throttle.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_problem, json, spawn_app, spawn_app_with};

#[actix_web::test]
async fn signup_returns_vendor_owner_and_keys_once() {
    let app = spawn_app().await;
    let body = json!({
        "vendor_name": "Acme Tools",
        "origins": ["https://Acme.example", "https://www.acme.example/"],
        "owner_email": "Owner@Acme.example",
        "owner_password": "correct-horse-staple-91",
    });
    let created = json(app.post("/api/v1/vendors", &body).await, StatusCode::CREATED).await;
    assert_eq!(created["vendor"]["name"], "Acme Tools");
    assert_eq!(created["vendor"]["origins"], json!(["https://acme.example", "https://www.acme.example"]));
    assert_eq!(created["owner"]["email"], "owner@acme.example");
    assert_eq!(created["owner"]["role"], "owner");
    let pk = created["publishable_key"]["key"].as_str().unwrap();
    let sk = created["secret_key"]["key"].as_str().unwrap();
    assert!(pk.starts_with("pk_") && pk.len() == 46, "{pk}");
    assert!(sk.starts_with("sk_") && sk.len() == 46, "{sk}");
    assert_eq!(created["secret_key"]["prefix"], json!(&sk[..11]));

    // The key listing never shows the secret again.
    let token = app.login("owner@acme.example", "correct-horse-staple-91").await;
    let keys = json(app.request(Method::GET, "/api/v1/keys", Some(&token), None).await, StatusCode::OK).await;
    let listed = keys.to_string();
    assert_eq!(keys.as_array().unwrap().len(), 2);
    assert!(!listed.contains(sk) && !listed.contains(pk));

    // The sign-up response carries the secret key: never cached (L3).
    let again = app.post("/api/v1/vendors", &json!({"vendor_name": "Acme Two", "owner_email": "two@acme.example", "owner_password": "correct-horse-staple-91"})).await;
    assert_eq!(again.headers()["cache-control"], "no-store");
    assert_eq!(again.status(), StatusCode::CREATED);
}

#[actix_web::test]
async fn signup_can_be_turned_off() {
    let app = spawn_app_with(|s| s.signup_enabled = false).await;
    let body = json!({"vendor_name": "X", "owner_email": "o@x.example", "owner_password": "correct-horse-staple-91"});
    assert_problem(app.post("/api/v1/vendors", &body).await, StatusCode::FORBIDDEN, "forbidden").await;
}

#[actix_web::test]
async fn signup_rejects_bad_fields_with_422_naming_the_field() {
    let app = spawn_app().await;
    let good = json!({"vendor_name": "Shop", "origins": ["https://shop.example"], "owner_email": "o@shop.example", "owner_password": "correct-horse-staple-91"});
    let cases = [
        ("vendor_name", json!("")),
        ("vendor_name", json!("Shop\u{202E}evil")),
        ("owner_email", json!("not-an-email")),
        ("origins", json!(["shop.example"])),
        ("origins", json!(["https://shop.example/path"])),
    ];
    for (field, value) in cases {
        let mut body = good.clone();
        body[field] = value;
        let problem =
            assert_problem(app.post("/api/v1/vendors", &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation")
                .await;
        assert_eq!(problem["field"], field);
    }
}

/// T8: short and common passwords are refused; stored hashes are argon2id m=19456,t=2,p=1.
#[actix_web::test]
async fn t8_password_policy() {
    let app = spawn_app().await;
    let attempt = |password: &str| json!({"vendor_name": "P", "owner_email": format!("p{}@p.example", password.len()), "owner_password": password});
    for (password, detail) in [
        ("short-pw-1", "password must be at least 12 characters"),
        ("Password1234", "password is on the list of commonly used passwords"),
        ("qwertyuiop123", "password is on the list of commonly used passwords"),
        (&"ab1".repeat(43)[..129], "password must be at most 128 characters"),
    ] {
        let problem = assert_problem(
            app.post("/api/v1/vendors", &attempt(password)).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        )
        .await;
        assert_eq!(problem["detail"], detail);
    }
    let vendor = app.vendor("Hashes").await;
    let email = vendor.email.clone();
    let member =
        app.state.db.run(move |c| truview::store::staff::by_email(c, &email, None, 1)).await.unwrap().remove(0);
    assert!(member.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", member.password_hash);
    assert!(!member.password_hash.contains(&vendor.password));

    // Password change applies the same policy.
    let res = app
        .request(
            Method::PUT,
            "/api/v1/auth/password",
            Some(&vendor.token),
            Some(&json!({"current_password": vendor.password, "new_password": "password1234"})),
        )
        .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
}

/// T9: unknown user and wrong password look the same — same answer, and the same work:
/// exactly one argon2 verification each (counted by the hashing pool, so the check cannot
/// pass by timing noise) — and failures throttle the account.
#[actix_web::test]
async fn t9_login_throttle_without_enumeration() {
    let app = spawn_app_with(|s| s.login_failures_per_account = 5).await;
    let vendor = app.vendor("Throttle").await;

    let attempt = |email: String, password: &'static str| {
        let app = &app;
        async move {
            let before = app.state.passwords.verifications();
            let res = app.post("/api/v1/auth/login", &json!({"email": email, "password": password})).await;
            let status = res.status();
            let body = res.text().await.unwrap();
            (status, body, app.state.passwords.verifications() - before)
        }
    };
    let (s1, b1, v_wrong) = attempt(vendor.email.clone(), "wrong-password-123").await;
    let (s2, b2, v_unknown) = attempt("nobody@nowhere.example".into(), "wrong-password-123").await;
    assert_eq!(s1, StatusCode::UNAUTHORIZED);
    assert_eq!((s1, &b1), (s2, &b2), "unknown user and wrong password must answer identically");
    assert_eq!((v_wrong, v_unknown), (1, 1), "each costs exactly one argon2 verification");

    // 5 failures in the window (one above) → locked, even with the right password.
    for _ in 0..4 {
        assert_eq!(attempt(vendor.email.clone(), "wrong-password-123").await.0, StatusCode::UNAUTHORIZED);
    }
    let before = app.state.passwords.verifications();
    let res = app.post("/api/v1/auth/login", &json!({"email": vendor.email, "password": vendor.password})).await;
    let retry_after: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;
    assert_eq!(app.state.passwords.verifications(), before, "a locked account is not verified at all");

    // An unknown account locks the same way: the 429 reveals nothing.
    for _ in 0..4 {
        attempt("nobody@nowhere.example".into(), "wrong-password-123").await;
    }
    assert_eq!(attempt("nobody@nowhere.example".into(), "wrong-password-123").await.0, StatusCode::TOO_MANY_REQUESTS);

    // The window slides on the injected clock.
    app.clock.advance(chrono::Duration::minutes(16));
    app.login(&vendor.email, &vendor.password).await;
}

#[actix_web::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    let vendor = app.vendor("Refresh").await;
    let login = json(
        app.post("/api/v1/auth/login", &json!({"email": vendor.email, "password": vendor.password})).await,
        StatusCode::OK,
    )
    .await;
    let first = login["refresh_token"].as_str().unwrap().to_owned();
    let second = json(app.post("/api/v1/auth/refresh", &json!({"refresh_token": first})).await, StatusCode::OK).await;
    let second_rt = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second_rt);
    // Presenting the spent token again: 401, and the family (including `second`) dies.
    assert_problem(
        app.post("/api/v1/auth/refresh", &json!({"refresh_token": first})).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert_problem(
        app.post("/api/v1/auth/refresh", &json!({"refresh_token": second_rt})).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;

    // Logout revokes the session's refresh token.
    let login = json(
        app.post("/api/v1/auth/login", &json!({"email": vendor.email, "password": vendor.password})).await,
        StatusCode::OK,
    )
    .await;
    let (access, rt) = (login["access_token"].as_str().unwrap(), login["refresh_token"].as_str().unwrap());
    let res = app.request(Method::POST, "/api/v1/auth/logout", Some(access), Some(&json!({"refresh_token": rt}))).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.post("/api/v1/auth/refresh", &json!({"refresh_token": rt})).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
}

#[actix_web::test]
async fn roles_limit_what_staff_can_do() {
    let app = spawn_app().await;
    let vendor = app.vendor("Roles").await;
    let (mod_id, moderator) = app.add_staff(&vendor, "moderator").await;
    let (_, analyst) = app.add_staff(&vendor, "analyst").await;

    let staff = json(app.request(Method::GET, "/api/v1/staff", Some(&analyst), None).await, StatusCode::OK).await;
    assert_eq!(staff.as_array().unwrap().len(), 3);
    for token in [&moderator, &analyst] {
        let body = json!({"email": "x@y.example", "display_name": "X", "role": "owner", "password": "correct-horse-staple-91"});
        let res = app.request(Method::POST, "/api/v1/staff", Some(token), Some(&body)).await;
        assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
        let res = app
            .request(Method::POST, "/api/v1/keys", Some(token), Some(&json!({"kind": "secret", "label": "x"})))
            .await;
        assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
    }

    // Deactivation ends the member's access at once.
    let path = format!("/api/v1/staff/{mod_id}");
    let res = app.request(Method::PATCH, &path, Some(&vendor.token), Some(&json!({"active": false}))).await;
    assert_eq!(json(res, StatusCode::OK).await["active"], false);
    let res = app.request(Method::GET, "/api/v1/me", Some(&moderator), None).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;

    // The last owner cannot demote or deactivate themselves.
    let own = format!("/api/v1/staff/{}", vendor.owner_id);
    let res = app.request(Method::PATCH, &own, Some(&vendor.token), Some(&json!({"role": "analyst"}))).await;
    assert_problem(res, StatusCode::CONFLICT, "conflict").await;
}

#[actix_web::test]
async fn keys_can_be_created_and_revoked() {
    let app = spawn_app().await;
    let vendor = app.vendor("Keys").await;
    let res = app
        .request(Method::POST, "/api/v1/keys", Some(&vendor.token), Some(&json!({"kind": "secret", "label": "ERP"})))
        .await;
    let created = json(res, StatusCode::CREATED).await;
    let sk = created["key"].as_str().unwrap().to_owned();
    let me = json(app.request(Method::GET, "/api/v1/me", Some(&sk), None).await, StatusCode::OK).await;
    assert_eq!(me["kind"], "secret_key");
    assert_eq!(me["vendor_id"], vendor.id.as_str());

    let keys = json(app.request(Method::GET, "/api/v1/keys", Some(&vendor.token), None).await, StatusCode::OK).await;
    let listed = keys.as_array().unwrap().iter().find(|k| k["id"] == created["id"]).unwrap();
    assert!(listed["last_used_at"].is_string(), "last use is recorded: {listed}");

    let path = format!("/api/v1/keys/{}", created["id"].as_str().unwrap());
    assert_eq!(app.request(Method::DELETE, &path, Some(&vendor.token), None).await.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.request(Method::GET, "/api/v1/me", Some(&sk), None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    )
    .await;
    assert_problem(
        app.request(Method::DELETE, &path, Some(&vendor.token), None).await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
}

#[actix_web::test]
async fn vendor_settings_are_owner_only_and_validated() {
    let app = spawn_app().await;
    let vendor = app.vendor("Settings").await;
    let body = json!({"origins": ["https://new.example"], "auto_publish_min_level": 3});
    let updated =
        json(app.request(Method::PATCH, "/api/v1/vendor", Some(&vendor.token), Some(&body)).await, StatusCode::OK)
            .await;
    assert_eq!(updated["origins"], json!(["https://new.example"]));
    assert_eq!(updated["auto_publish_min_level"], 3);
    let res = app
        .request(Method::PATCH, "/api/v1/vendor", Some(&vendor.token), Some(&json!({"auto_publish_min_level": 9})))
        .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let cleared = app
        .request(Method::PATCH, "/api/v1/vendor", Some(&vendor.token), Some(&json!({"auto_publish_min_level": null})))
        .await;
    assert_eq!(json(cleared, StatusCode::OK).await["auto_publish_min_level"], serde_json::Value::Null);
}

/// Data survives a restart: a second node on the same database sees everything.
#[actix_web::test]
async fn data_survives_a_restart() {
    let app = spawn_app().await;
    let vendor = app.vendor("Durable").await;
    let restarted = app.another_node();
    let token = restarted.login(&vendor.email, &vendor.password).await;
    let me = json(restarted.request(Method::GET, "/api/v1/vendor", Some(&token), None).await, StatusCode::OK).await;
    assert_eq!(me["name"], "Durable");
    // A token issued by the first node verifies on the second (shared key file).
    let me = json(restarted.request(Method::GET, "/api/v1/me", Some(&vendor.token), None).await, StatusCode::OK).await;
    assert_eq!(me["vendor_id"], vendor.id.as_str());
}

/// A hash made with weaker parameters is replaced by an argon2id m=19456,t=2,p=1 hash at
/// the next successful login.
#[actix_web::test]
async fn weaker_password_hashes_are_upgraded_at_login() {
    use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
    let app = spawn_app().await;
    let vendor = app.vendor("Rehash").await;
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(8192, 1, 1, None).unwrap(),
    )
    .hash_password(vendor.password.as_bytes(), &SaltString::generate(&mut OsRng))
    .unwrap()
    .to_string();
    let (id, hash) = (vendor.owner_id.clone(), weak.clone());
    app.state.db.write(move |c| truview::store::staff::set_password_hash(c, &id, &hash, 0)).await.unwrap();
    app.login(&vendor.email, &vendor.password).await;
    let email = vendor.email.clone();
    let member =
        app.state.db.run(move |c| truview::store::staff::by_email(c, &email, None, 1)).await.unwrap().remove(0);
    assert_ne!(member.password_hash, weak);
    assert!(member.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", member.password_hash);
    app.login(&vendor.email, &vendor.password).await;
}

/// Login attempts are limited per client IP too, whichever accounts they name.
#[actix_web::test]
async fn login_attempts_are_limited_per_ip() {
    let app = spawn_app_with(|s| s.login_attempts_per_ip = 3).await;
    for i in 0..3 {
        let res = app
            .post("/api/v1/auth/login", &json!({"email": format!("u{i}@x.example"), "password": "wrong-password-123"}))
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = app.post("/api/v1/auth/login", &json!({"email": "u9@x.example", "password": "wrong-password-123"})).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;
}

/// The console's session: the refresh token only ever in an HttpOnly, SameSite=Strict
/// cookie scoped to the auth endpoints, taken only from the service's own pages.
#[actix_web::test]
async fn a_cookie_session_keeps_the_refresh_token_out_of_page_scripts() {
    let app = spawn_app().await;
    let vendor = app.vendor("Cookie").await;
    let body = json!({"email": vendor.email, "password": vendor.password, "cookie": true});
    let res = app.post("/api/v1/auth/login", &body).await;
    let set = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    let login = json(res, StatusCode::OK).await;
    assert!(login.get("refresh_token").is_none(), "no refresh token in the body: {login}");
    let first = set.split(';').next().unwrap().to_owned();
    assert!(first.starts_with("tv_refresh=rt_"), "{set}");
    assert_eq!(
        set[first.len()..].to_owned(),
        "; HttpOnly; SameSite=Strict; Path=/api/v1/auth; Max-Age=2592000",
        "cookie attributes"
    );

    let refresh = |cookie: String, origin: Option<String>| {
        let mut req = app.client.post(app.url("/api/v1/auth/refresh")).header("cookie", cookie).json(&json!({}));
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        req.send()
    };
    // Without an Origin, or from another site, the cookie is not taken (and not spent).
    let res = refresh(first.clone(), None).await.unwrap();
    assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = refresh(first.clone(), Some("https://evil.example".into())).await.unwrap();
    assert_problem(res, StatusCode::FORBIDDEN, "forbidden").await;
    // From the service's own page: new tokens, a new cookie; the old one is spent.
    let res = refresh(first.clone(), Some(app.address.clone())).await.unwrap();
    let second = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let renewed = json(res, StatusCode::OK).await;
    assert!(renewed.get("refresh_token").is_none() && renewed["access_token"].is_string(), "{renewed}");
    assert_ne!(first, second);
    let res = refresh(first.clone(), Some(app.address.clone())).await.unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;

    // No cookie and no token: 401. Logout takes the cookie and clears it.
    let res = app.post("/api/v1/auth/refresh", &json!({})).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let res = app.post("/api/v1/auth/login", &body).await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let access = json(res, StatusCode::OK).await["access_token"].as_str().unwrap().to_owned();
    let res = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&access)
        .header("cookie", cookie.clone())
        .header("origin", app.address.clone())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        res.headers()["set-cookie"].to_str().unwrap(),
        "tv_refresh=; HttpOnly; SameSite=Strict; Path=/api/v1/auth; Max-Age=0"
    );
    let res = refresh(cookie, Some(app.address.clone())).await.unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

/// A vendor holds at most `MAX_LIVE_KEYS` live keys (409 past that, for that vendor only;
/// revoking one makes room), and the key list stays bounded however often keys are rotated:
/// every live key and the `LISTED_REVOKED` most recently revoked ones, oldest first.
#[actix_web::test]
async fn live_keys_are_capped_and_the_key_list_stays_bounded() {
    use truview::accounts::MAX_LIVE_KEYS;
    use truview::store::keys::LISTED_REVOKED;
    let app = spawn_app_with(|s| s.rate_limit_per_ip = 1_000_000).await;
    let (vendor, other) = (app.vendor("Capped keys").await, app.vendor("Other keys").await);
    let create = |token: String, label: String| {
        let app = &app;
        async move {
            let body = json!({"kind": "secret", "label": label});
            app.request(Method::POST, "/api/v1/keys", Some(&token), Some(&body)).await
        }
    };
    let list = || async {
        json(app.request(Method::GET, "/api/v1/keys", Some(&vendor.token), None).await, StatusCode::OK).await
    };
    let live = |keys: &serde_json::Value| keys.as_array().unwrap().iter().filter(|k| k["revoked_at"].is_null()).count();
    let from_signup = live(&list().await);
    let mut created = Vec::new();
    for i in from_signup..MAX_LIVE_KEYS as usize {
        let key = json(create(vendor.token.clone(), format!("key {i}")).await, StatusCode::CREATED).await;
        created.push(key["id"].as_str().unwrap().to_owned());
    }
    let refused = create(vendor.token.clone(), "one too many".into()).await;
    assert_problem(refused, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(live(&list().await), MAX_LIVE_KEYS as usize, "the refused key was not created");
    assert_eq!(create(other.token.clone(), "another vendor".into()).await.status(), StatusCode::CREATED);

    // Rotate past what the list shows: revoke one, create one, LISTED_REVOKED + 1 times.
    let mut revoked = Vec::new();
    for i in 0..=LISTED_REVOKED as usize {
        app.clock.advance(chrono::Duration::seconds(1));
        let id = created.remove(0);
        let path = format!("/api/v1/keys/{id}");
        assert_eq!(
            app.request(Method::DELETE, &path, Some(&vendor.token), None).await.status(),
            StatusCode::NO_CONTENT
        );
        revoked.push(id);
        let key = json(create(vendor.token.clone(), format!("rotated {i}")).await, StatusCode::CREATED).await;
        created.push(key["id"].as_str().unwrap().to_owned());
    }
    let keys = list().await;
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), MAX_LIVE_KEYS as usize + LISTED_REVOKED as usize);
    assert_eq!(live(&serde_json::Value::Array(keys.clone())), MAX_LIVE_KEYS as usize);
    let ids: Vec<&str> = keys.iter().map(|k| k["id"].as_str().unwrap()).collect();
    assert!(!ids.contains(&revoked[0].as_str()), "the earliest revoked key is no longer listed");
    assert!(revoked[1..].iter().all(|id| ids.contains(&id.as_str())), "the later revoked keys are");
    let created_at: Vec<&str> = keys.iter().map(|k| k["created_at"].as_str().unwrap()).collect();
    assert!(created_at.windows(2).all(|w| w[0] <= w[1]), "oldest first: {created_at:?}");
}

/// A vendor has at most `MAX_STAFF` members, deactivated ones included (409 past that, for
/// that vendor only).
#[actix_web::test]
async fn staff_members_are_capped_per_vendor() {
    use truview::accounts::MAX_STAFF;
    let app = spawn_app().await;
    let (vendor, other) = (app.vendor("Big team").await, app.vendor("Small team").await);
    // All but one place taken (the owner holds one), written directly: hashing 498
    // passwords through the API would take minutes.
    let vendor_id = vendor.id.clone();
    app.state
        .db
        .write(move |conn| {
            for i in 2..MAX_STAFF {
                let member = truview::store::staff::Staff {
                    id: format!("member-{i}"),
                    vendor_id: vendor_id.clone(),
                    email: format!("member-{i}@big-team.example"),
                    display_name: format!("Member {i}"),
                    password_hash: "not-a-hash".into(),
                    role: "moderator".into(),
                    active: i % 2 == 0,
                    created_at: i,
                    updated_at: i,
                };
                truview::store::staff::insert(conn, &member)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let add = |token: String, email: &str| {
        let body =
            json!({"email": email, "display_name": "New", "role": "moderator", "password": "correct-horse-staple-91"});
        let app = &app;
        async move { app.request(Method::POST, "/api/v1/staff", Some(&token), Some(&body)).await }
    };
    assert_eq!(add(vendor.token.clone(), "last@big-team.example").await.status(), StatusCode::CREATED);
    assert_problem(add(vendor.token.clone(), "too-many@big-team.example").await, StatusCode::CONFLICT, "conflict")
        .await;
    let staff = json(app.request(Method::GET, "/api/v1/staff", Some(&vendor.token), None).await, StatusCode::OK).await;
    assert_eq!(staff.as_array().unwrap().len(), MAX_STAFF as usize);
    assert_eq!(add(other.token.clone(), "new@small-team.example").await.status(), StatusCode::CREATED);
}
