//! What the `truview` subcommands do (kept in the library so tests can call them).

use std::path::Path;

use crate::app::{Application, Deps};
use crate::clock::{OsRandom, SystemClock};
use crate::config::Settings;
use crate::db;
use crate::security::keys::SecretsFile;

pub async fn serve(settings: Settings, with_worker: bool) -> anyhow::Result<()> {
    tracing::info!(database = %settings.database_url_for_logs(), "starting");
    let app = Application::build(settings, Deps::default())?;
    let state = app.state();
    let worker = with_worker.then(|| actix_web::rt::spawn(crate::worker::run_forever(state.clone())));
    app.run_until_stopped().await?;
    if let Some(worker) = worker {
        worker.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

pub async fn worker(settings: Settings, once: bool) -> anyhow::Result<()> {
    let state = actix_web::web::Data::new(crate::app::AppState::new(settings, Deps::default())?);
    if once {
        crate::worker::run_once(&state).await?;
        return Ok(());
    }
    tokio::select! {
        _ = crate::worker::run_forever(state) => {}
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
    _settings: Settings,
    _name: String,
    _owner_email: String,
    _origins: Vec<String>,
    _owner_password: Option<String>,
) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}

pub async fn demo(_settings: Settings) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}

pub async fn audit_verify(_settings: Settings) -> anyhow::Result<bool> {
    anyhow::bail!("not yet")
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
