//! Saved column mappings: any CSV, imported by naming its columns.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, json, spawn_app, TestApp, Vendor};

fn erp() -> Value {
    json!({
        "columns": {
            "order_id": "Order No", "email": "Customer E-mail", "sku": "Article", "item_name": "Description",
            "price": "Unit price", "total": "Order total", "currency": "Cur", "purchased_at": "Order date",
            "status": "State",
        },
        "date_format": "%d.%m.%Y %H:%M",
    })
}

const FILE: &str =
    "Order No,Warehouse,Order date,Customer E-mail,Article,Description,Unit price,Order total,Cur,State\n\
                    E-1,North,05.10.2026 14:30,ann@mail.example,LAMP-OAK,Oak Desk Lamp,49.90,57.40,EUR,delivered\n\
                    E-1,North,05.10.2026 14:30,ann@mail.example,BULB-9,LED Bulb,7.50,57.40,EUR,delivered\n\
                    E-2,South,06.10.2026 09:00,bob@mail.example,LAMP-OAK,Oak Desk Lamp,49.90,49.90,EUR,paid\n";

async fn import(app: &TestApp, v: &Vendor, query: &str, body: &str) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/orders{query}")))
        .bearer_auth(&v.sk)
        .header("content-type", "text/csv")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn a_mapped_csv_imports_and_errors_name_the_vendors_columns() {
    let app = spawn_app().await;
    let v = app.vendor("Mapping Shop").await;
    let put = |body: Value| {
        let (app, sk) = (&app, v.sk.clone());
        async move { app.request(Method::PUT, "/api/v1/orders/mappings/erp", Some(&sk), Some(&body)).await }
    };
    let saved = json(put(erp()).await, StatusCode::CREATED).await;
    assert_eq!(saved["name"], json!("erp"));
    assert_eq!(saved["columns"], erp()["columns"]);
    assert_eq!(json(put(erp()).await, StatusCode::OK).await, saved);
    let listed =
        json(app.request(Method::GET, "/api/v1/orders/mappings", Some(&v.token), None).await, StatusCode::OK).await;
    assert_eq!(listed, json!({"mappings": [saved.clone()]}));

    let counts = json(import(&app, &v, "?mapping=erp", FILE).await, StatusCode::OK).await;
    assert_eq!(counts, json!({"created": 2, "updated": 0, "orders": 2}));
    let order = json(app.request(Method::GET, "/api/v1/orders/E-1", Some(&v.sk), None).await, StatusCode::OK).await;
    assert_eq!(order["purchased_at"], json!("2026-10-05T14:30:00+00:00"));
    assert_eq!((order["status"].clone(), order["total_minor"].clone()), (json!("delivered"), json!(5740)));
    assert_eq!(
        order["items"],
        json!([
            {"sku": "BULB-9", "name": "LED Bulb", "price_minor": 750},
            {"sku": "LAMP-OAK", "name": "Oak Desk Lamp", "price_minor": 4990},
        ])
    );

    // Errors name the vendor's own column and the file's line.
    let bad_date = FILE.replace("06.10.2026 09:00", "2026/10/06");
    let problem = assert_problem(
        import(&app, &v, "?mapping=erp", &bad_date).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(problem["field"], json!("line 4, column Order date"));
    let bad_price = FILE.replace("7.50", "seven");
    let problem = assert_problem(
        import(&app, &v, "?mapping=erp", &bad_price).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(problem["field"], json!("line 3, column Unit price"));
    let disagree = FILE.replace(
        "E-1,North,05.10.2026 14:30,ann@mail.example,BULB-9",
        "E-1,North,05.10.2026 14:30,eve@mail.example,BULB-9",
    );
    let problem = assert_problem(
        import(&app, &v, "?mapping=erp", &disagree).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(problem["field"], json!("line 3, column Customer E-mail"));
    let missing = FILE.replace("Article", "Item");
    let problem = assert_problem(
        import(&app, &v, "?mapping=erp", &missing).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(problem["detail"], json!("line 1 lacks the column Article (mapped to sku by erp)"));
    assert_problem(import(&app, &v, "?mapping=other", FILE).await, StatusCode::NOT_FOUND, "not-found").await;
    assert_eq!(import(&app, &v, "?mapping=erp&format=native", FILE).await.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The command line takes the mapping too.
    let file = app.db.dir.path().join("erp.csv");
    std::fs::write(&file, FILE.replace("E-2", "E-3")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_truview"))
        .env("DATABASE_URL", &app.settings.database_url)
        .env("TRUVIEW_KEY_FILE", app.key_file())
        .env("TRUVIEW_LOG_LEVEL", "error")
        .args(["orders", "import"])
        .arg(&file)
        .args(["--vendor", &v.id, "--format", "mapping:erp"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("2 orders in 1 chunk(s)") && stdout.contains("1 created, 1 updated"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Deleting it (owner only).
    let res = app.request(Method::DELETE, "/api/v1/orders/mappings/erp", Some(&v.token), None).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.request(Method::GET, "/api/v1/orders/mappings/erp", Some(&v.sk), None).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn bad_mappings_are_refused() {
    let app = spawn_app().await;
    let v = app.vendor("Mapping Bad").await;
    let mut unknown = erp();
    unknown["columns"]["colour"] = json!("Colour");
    let mut no_sku = erp();
    no_sku["columns"].as_object_mut().unwrap().remove("sku");
    let mut bad_format = erp();
    bad_format["date_format"] = json!("%Q");
    let mut nul_format = erp();
    nul_format["date_format"] = json!("%d\u{0}%m");
    let mut blank = erp();
    blank["columns"]["email"] = json!(" Mail ");
    for (body, field) in [(bad_format, "date_format"), (nul_format, "date_format"), (blank, "columns.email")] {
        let res = app.request(Method::PUT, "/api/v1/orders/mappings/erp", Some(&v.sk), Some(&body)).await;
        let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
        assert_eq!(problem["field"], json!(field), "{body}");
    }
    // Shape errors name the field; an unknown one is reported on its object, unechoed.
    for (shape, field) in [(unknown, "columns"), (no_sku, "columns.sku")] {
        let res = app.request(Method::PUT, "/api/v1/orders/mappings/erp", Some(&v.sk), Some(&shape)).await;
        assert_eq!(assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await["field"], json!(field));
    }
    let res = app.request(Method::PUT, "/api/v1/orders/mappings/Bad%20Name", Some(&v.sk), Some(&erp())).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = app
        .request(Method::PUT, "/api/v1/orders/mappings/erp", Some(&v.sk), Some(&json!({"columns": {}, "x": 1})))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // At most 50 per vendor.
    for n in 0..50 {
        let res = app.request(Method::PUT, &format!("/api/v1/orders/mappings/m{n}"), Some(&v.sk), Some(&erp())).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let res = app.request(Method::PUT, "/api/v1/orders/mappings/m50", Some(&v.sk), Some(&erp())).await;
    assert_eq!(assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await["field"], json!("name"));
    // Another vendor sees none of them.
    let other = app.vendor("Mapping Other").await;
    assert_eq!(
        json(app.request(Method::GET, "/api/v1/orders/mappings", Some(&other.sk), None).await, StatusCode::OK).await,
        json!({"mappings": []})
    );
    assert_eq!(
        app.request(Method::GET, "/api/v1/orders/mappings/m1", Some(&other.sk), None).await.status(),
        StatusCode::NOT_FOUND
    );
}
