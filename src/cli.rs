//! What the `truview` subcommands do (kept in the library so tests can call them).

use std::path::Path;
use std::sync::Arc;

use crate::app::Application;
use crate::clock::{Clock, SystemClock, SystemRandom};
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
            // The seed's phone numbers loaded the numbering plan; nothing needs it now, nor
            // what the seed allocated and freed.
            crate::domain::contact::release_plan();
            crate::memory::release_freed();
            println!("TruView is running at http://127.0.0.1:{}", app.port());
            println!("Demo shop with the live widget: http://127.0.0.1:{}/demo", app.port());
            println!("Console for the shop's team:    http://127.0.0.1:{}/console/", app.port());
            println!("Mail and text messages sent:    http://127.0.0.1:{}/dev/mailbox", app.port());
            println!(
                "A demo vendor was created on this empty database:{}",
                crate::demo::credentials_banner(&created, Some(&password))
            );
        }
    }
    let advised = crate::memory::page_out_code();
    tracing::debug!(advised, "start-up code paged out");
    let owner = crate::funnel::queue::worker_name(&core);
    let worker = with_worker.then(|| actix_web::rt::spawn(crate::worker::run_forever(core.clone(), owner.clone())));
    // `Application` trims the node's limiter memory itself, with or without the worker.
    app.run_until_stopped().await?;
    if let Some(worker) = worker {
        worker.abort();
        let released = crate::funnel::queue::release(&core, &owner).await?;
        tracing::info!(released, "worker stopped; its jobs were handed back");
    }
    core.mailer.close();
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
    let owner = crate::funnel::queue::worker_name(&core);
    tokio::select! {
        _ = crate::worker::run_forever(core.clone(), owner.clone()) => {}
        _ = shutdown_signal() => tracing::info!("worker stopping"),
    }
    let released = crate::funnel::queue::release(&core, &owner).await?;
    tracing::info!(released, "worker stopped; its jobs were handed back");
    core.mailer.close();
    Ok(())
}

/// Ctrl-C or SIGTERM (what a process manager sends).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
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
        owner_name: crate::accounts::owner_name(None, &email)?,
        owner_email: email,
        owner_password: password.clone(),
    };
    let created = crate::accounts::create_vendor(&core, input, "cli").await?;
    println!("Vendor created.{}", crate::demo::credentials_banner(&created, generated.then_some(password.as_str())));
    Ok(())
}

/// The bulk import's SQLite connection (P3, measured on 1,000,000 orders):
/// - no memory map, so the database file does not count in the command's resident memory
///   (goal ≤ 200 MiB);
/// - a 32 MiB page cache (the server's is 16 MiB) so a 5,000-order chunk's changed pages
///   (the e-mail HMAC index takes them all over the tree) fit without spilling mid-chunk;
/// - a checkpoint every 64 MiB of WAL instead of 4 MiB: an index page changed by many
///   chunks reaches the database file once per checkpoint.
const IMPORT_PRAGMAS: &str = "PRAGMA mmap_size = 0; PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 16384;";

/// `truview orders import`: a progress bar on a terminal, one line per chunk otherwise.
pub async fn orders_import(
    settings: Settings,
    vendor_id: &str,
    file: &Path,
    format: &str,
    opts: crate::kyp::bulk::BulkOptions,
) -> anyhow::Result<()> {
    use std::io::IsTerminal;

    use crate::kyp::bulk::{FileFormat, Progress};
    // One connection does the whole import, on SQLite tuned for it (see IMPORT_PRAGMAS).
    let settings = Settings { pool_size: 1, ..settings };
    let core = Core::new(settings, Deps::default())?;
    core.db
        .run(|conn| {
            if let db::DbConn::Sqlite(c) = conn {
                diesel::connection::SimpleConnection::batch_execute(c, IMPORT_PRAGMAS)?;
            }
            Ok(())
        })
        .await?;
    let format = match format.strip_prefix("mapping:") {
        Some(name) => {
            let mapping = crate::kyp::mappings::get(&core, vendor_id, name).await?;
            let order_column = mapping.order_column().to_owned();
            FileFormat::Csv {
                order_column,
                decode: std::sync::Arc::new(move |body: &[u8], at| mapping.decode(body, at)),
            }
        }
        None if format == "auto" => FileFormat::for_file(file, None)?,
        None => FileFormat::for_file(file, Some(crate::kyp::formats::Format::parse(format)?))?,
    };
    let total = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let terminal = std::io::stderr().is_terminal();
    let bar = if terminal { indicatif::ProgressBar::new(total) } else { indicatif::ProgressBar::hidden() };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>10} [{bar:40}] {bytes}/{total_bytes} {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let started = std::time::Instant::now();
    let summary = crate::kyp::bulk::import_file(&core, vendor_id, file, &format, &opts, |p| match p {
        Progress::Validating { bytes, .. } => {
            bar.set_message("checking");
            bar.set_position(bytes);
        }
        Progress::Committed { index, orders, replayed, bytes, total } => {
            if bytes == 0 || index == 0 {
                bar.reset();
            }
            bar.set_message("importing");
            bar.set_position(bytes);
            if !terminal {
                let how = if replayed { "already committed" } else { "committed" };
                eprintln!("chunk {index}: {orders} orders {how} ({bytes}/{total} bytes)");
            }
        }
    })
    .await;
    bar.finish_and_clear();
    let summary = summary.map_err(|e| match e {
        crate::error::Error::Validation { field, detail } => anyhow::anyhow!("{field}: {detail}"),
        other => anyhow::Error::new(other),
    })?;
    println!(
        "{} orders in {} chunk(s) (key {}): {} created, {} updated, {} chunk(s) committed by an earlier run; {:.1} s",
        summary.orders,
        summary.chunks,
        summary.key,
        summary.created,
        summary.updated,
        summary.replayed_chunks,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub async fn demo(settings: Settings) -> anyhow::Result<()> {
    let core = Core::new(settings, Deps::default())?;
    let (created, password) = crate::demo::seed(&core).await?;
    println!("Demo vendor created.{}", crate::demo::credentials_banner(&created, Some(&password)));
    Ok(())
}

/// The audit handle and a read-only connection for `audit verify|checkpoint`: no
/// migrations, no pool, no new key file (a wrong path is an error, not a new key).
fn audit_reader(settings: &Settings) -> anyhow::Result<(crate::store::audit::AuditLog, db::DbConn)> {
    let secrets = SecretsFile::load_existing(&settings.key_file_path(), &SystemRandom)?;
    let audit = crate::store::audit::AuditLog::new(&secrets)?;
    let conn = db::establish_read_only(&settings.database_url)
        .map_err(|e| anyhow::anyhow!("cannot open {} read-only: {e}", settings.database_url_for_logs()))?;
    Ok((audit, conn))
}

/// Verifies every vendor's audit chain read-only in one snapshot (safe beside a running
/// server), and against a signed checkpoint when one is given (a file holding the line
/// `audit checkpoint` printed, or a log with `audit_checkpoint` lines: every one is checked).
pub fn audit_verify_report(
    settings: &Settings,
    checkpoint: Option<&Path>,
) -> anyhow::Result<crate::store::audit::Report> {
    let (audit, mut conn) = audit_reader(settings)?;
    let checkpoints = match checkpoint {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read checkpoint {}: {e}", path.display()))?;
            audit.read_checkpoints(&text).map_err(|e| anyhow::anyhow!("checkpoint {}: {e}", path.display()))?
        }
        None => Vec::new(),
    };
    Ok(db::read_snapshot(&mut conn, |conn| audit.verify(conn, &checkpoints))?)
}

/// `truview audit verify`: prints one line per chain and per break; false when broken.
pub fn audit_verify(settings: &Settings, checkpoint: Option<&Path>) -> anyhow::Result<bool> {
    let report = audit_verify_report(settings, checkpoint)?;
    for line in report.lines() {
        println!("{line}");
    }
    if !report.ok() {
        eprintln!("audit verification failed: the log was altered ({} break(s))", report.breaks.len());
    }
    Ok(report.ok())
}

/// A signed checkpoint of every vendor's chain position, as one line of JSON.
pub fn audit_checkpoint_line(settings: &Settings) -> anyhow::Result<String> {
    let (audit, mut conn) = audit_reader(settings)?;
    let now = SystemClock.now_ms();
    Ok(db::read_snapshot(&mut conn, |conn| audit.checkpoint(conn, now))?.to_line())
}

/// `truview audit checkpoint`: prints the line; keep it outside the database.
pub fn audit_checkpoint(settings: &Settings) -> anyhow::Result<()> {
    println!("{}", audit_checkpoint_line(settings)?);
    Ok(())
}

pub fn keys_rotate(path: &Path) -> anyhow::Result<()> {
    let mut secrets = SecretsFile::load_existing(path, &SystemRandom)?;
    let kid = secrets.rotate(&SystemClock, &SystemRandom)?;
    secrets.save(path)?;
    println!("new signing key {kid}; restart every node so it signs with it (older keys keep verifying)");
    Ok(())
}

pub fn keys_revoke(path: &Path, kid: &str) -> anyhow::Result<()> {
    let mut secrets = SecretsFile::load_existing(path, &SystemRandom)?;
    secrets.revoke(kid)?;
    secrets.save(path)?;
    println!("revoked {kid}; restart every node");
    Ok(())
}

pub fn keys_list(path: &Path) -> anyhow::Result<()> {
    let secrets = SecretsFile::load_existing(path, &SystemRandom)?;
    for key in &secrets.jwt_keys {
        let created = crate::clock::from_ms(key.created_at).to_rfc3339();
        println!("{}\t{}\t{}", key.kid, created, if key.revoked { "revoked" } else { "live" });
    }
    Ok(())
}
