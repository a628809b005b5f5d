//! What the `truview` subcommands do (kept in the library so tests can call them).

use std::path::Path;
use std::sync::Arc;

use crate::app::Application;
use crate::clock::{OsRandom, SystemClock};
use crate::config::Settings;
use crate::core::{Core, Deps};
use crate::db;
use crate::security::keys::SecretsFile;

pub async fn serve(settings: Settings, with_worker: bool) -> anyhow::Result<()> {
    tracing::info!(database = %settings.database_url_for_logs(), "starting");
    let app = Application::build(settings, Deps::default())?;
    let state = app.state();
    let core = state.core.clone();
    if core.settings.demo {
        let empty = core.db.run(crate::store::vendors::count).await? == 0;
        if empty {
            let (created, password) = crate::demo::seed(&core).await?;
            println!("TruView is running at http://127.0.0.1:{}", app.port());
            println!(
                "A demo vendor was created on this empty database:{}",
                crate::demo::credentials_banner(&created, Some(&password))
            );
        }
    }
    let worker = with_worker.then(|| actix_web::rt::spawn(crate::worker::run_forever(core.clone())));
    // `Application` trims the node's limiter memory itself, with or without the worker.
    app.run_until_stopped().await?;
    if let Some(worker) = worker {
        worker.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

pub async fn worker(settings: Settings, once: bool) -> anyhow::Result<()> {
    let core = Arc::new(Core::new(settings, Deps::default())?);
    if once {
        let pass = crate::worker::run_once(&core).await?;
        println!("{pass:?}");
        return Ok(());
    }
    tokio::select! {
        _ = crate::worker::run_forever(core) => {}
        _ = tokio::signal::ctrl_c() => tracing::info!("worker stopping"),
    }
    Ok(())
}

pub fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let mut conn = db::establish(&settings.database_url)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", settings.database_url_for_logs()))?;
    let applied = db::run_migrations(&mut conn)?;
    println!("{applied} migration(s) applied; database {} is current", settings.database_url_for_logs());
    Ok(())
}

pub fn openapi(out: &Path) -> anyhow::Result<()> {
    let json = crate::app::openapi().to_pretty_json()? + "\n";
    if out.as_os_str() == "-" {
        print!("{json}");
    } else {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(out, json)?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

pub async fn vendor_create(
    settings: Settings,
    name: String,
    owner_email: String,
    origins: Vec<String>,
    owner_password: Option<String>,
) -> anyhow::Result<()> {
    use crate::domain::account::parse_origins;
    use crate::domain::text::{clean, Lines};
    let core = Core::new(settings, Deps::default())?;
    let generated = owner_password.is_none();
    let password =
        owner_password.unwrap_or_else(|| format!("tv-{}", crate::clock::Random::token(core.random.as_ref(), 12)));
    let email = crate::domain::contact::Email::parse("owner_email", &owner_email)?;
    let input = crate::accounts::NewVendor {
        name: clean("name", &name, Lines::Single, 1, 100)?,
        origins: parse_origins(&origins)?,
        owner_name: email.as_str().split('@').next().unwrap_or_default().to_owned(),
        owner_email: email,
        owner_password: password.clone(),
    };
    let created = crate::accounts::create_vendor(&core, input, "cli").await?;
    println!("Vendor created.{}", crate::demo::credentials_banner(&created, generated.then_some(password.as_str())));
    Ok(())
}

pub async fn demo(settings: Settings) -> anyhow::Result<()> {
    let core = Core::new(settings, Deps::default())?;
    let (created, password) = crate::demo::seed(&core).await?;
    println!("Demo vendor created.{}", crate::demo::credentials_banner(&created, Some(&password)));
    Ok(())
}

/// Verifies every vendor's audit chain; prints the first break of each broken chain.
pub async fn audit_verify(settings: Settings) -> anyhow::Result<bool> {
    let core = Core::new(settings, Deps::default())?;
    let report = core.db.run(crate::store::audit::verify_all).await?;
    let mut ok = true;
    for (vendor_id, outcome) in report {
        match outcome {
            Ok(rows) => println!("ok      vendor {vendor_id}: {rows} audit row(s) verified"),
            Err(brk) => {
                ok = false;
                println!("BROKEN  {brk}");
            }
        }
    }
    if !ok {
        eprintln!("audit verification failed: the log was altered");
    }
    Ok(ok)
}

pub fn keys_rotate(path: &Path) -> anyhow::Result<()> {
    let mut secrets = SecretsFile::load_or_create(path, &SystemClock, &OsRandom)?;
    let kid = secrets.rotate(&SystemClock, &OsRandom)?;
    secrets.save(path)?;
    println!("new signing key {kid}; restart every node so it signs with it (older keys keep verifying)");
    Ok(())
}

pub fn keys_revoke(path: &Path, kid: &str) -> anyhow::Result<()> {
    let mut secrets = SecretsFile::load_or_create(path, &SystemClock, &OsRandom)?;
    secrets.revoke(kid)?;
    secrets.save(path)?;
    println!("revoked {kid}; restart every node");
    Ok(())
}

pub fn keys_list(path: &Path) -> anyhow::Result<()> {
    let secrets = SecretsFile::load_or_create(path, &SystemClock, &OsRandom)?;
    for key in &secrets.jwt_keys {
        let created = crate::clock::from_ms(key.created_at).to_rfc3339();
        println!("{}\t{}\t{}", key.kid, created, if key.revoked { "revoked" } else { "live" });
    }
    Ok(())
}
