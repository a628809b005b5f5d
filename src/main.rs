//! The `truview` command line: serve, worker, migrate, vendor create, demo, openapi,
//! audit verify|checkpoint, keys rotate|revoke|list.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// mimalloc: the request paths allocate from many threads at once, where glibc malloc
/// contends (measured by the P1 benchmark). Tuned for footprint in [`tune_memory`].
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` option (the same index in mimalloc 2 and 3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Footprint (P6, measured by `benches/p6.sh`):
/// - mimalloc purges freed memory only when a later allocation or free on some thread
///   notices that the delay (1 s) has passed, so what start-up freed (argon2's 19 MiB, the
///   demo seeding) stayed resident on an idle server: purge at once instead (an explicit
///   `MIMALLOC_PURGE_DELAY` still wins). The P1 reads showed no cost. Not for a bulk
///   import (`bulk`), a short-lived process that frees and reuses its chunk buffers
///   continuously: purging each at once cost 12 % of its time (P3), for memory it takes
///   again within milliseconds.
/// - mimalloc asks for transparent huge pages on its 1 GiB arena (`no_thp` in Cargo.toml
///   drops that request); where THP is on for everything (`always`), the kernel would still
///   back every touched 2 MiB with a huge page: turn THP off for this process, as mimalloc's
///   own `MIMALLOC_ALLOW_THP=0` does.
fn tune_memory(bulk: bool) {
    if !bulk && std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: called in `main` before any other thread exists (the option setter is
        // not thread-safe).
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_THP_DISABLE takes integer arguments only and changes this
        // process's paging policy, nothing Rust relies on; an older kernel returns an error.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

/// The runtime of the main thread (the in-process worker, the demo seeding and the CLI
/// commands). Its blocking threads (database calls, argon2) exit after 2 s without work
/// instead of tokio's 10 s: one-off bursts such as the demo seeding (each sequential
/// `spawn_blocking` may start a thread of its own) do not leave a dozen idle threads behind.
fn runtime() -> actix_web::rt::SystemRunner {
    actix_web::rt::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_keep_alive(std::time::Duration::from_secs(2))
            .build()
            .expect("the tokio runtime starts")
    })
}
use truview::config::{LogFormat, Settings};

#[derive(Parser)]
#[command(name = "truview", version, about = "TruView: verified customer reviews", long_about = None)]
struct Cli {
    /// Configuration file (default: ./truview.toml when it exists).
    #[arg(long, global = true, env = "TRUVIEW_CONFIG")]
    config: Option<PathBuf>,
    /// Database: a SQLite path, sqlite://path, or postgres://user:pass@host/db.
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    json_logs: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service with an in-process worker.
    Serve {
        /// Listening address (port 0 picks a free port).
        #[arg(long)]
        bind: Option<String>,
        /// Do not run the in-process worker (use standalone `truview worker` processes).
        #[arg(long)]
        no_worker: bool,
    },
    /// Run a standalone worker (scale-out on PostgreSQL).
    Worker {
        /// Run one pass and exit.
        #[arg(long)]
        once: bool,
    },
    /// Apply pending database migrations and exit (idempotent).
    Migrate,
    /// Vendor administration.
    Vendor {
        #[command(subcommand)]
        command: VendorCommand,
    },
    /// Create the demo vendor with sample reviews and print its logins and keys.
    Demo,
    /// Write the OpenAPI document (default: api-spec/openapi.json).
    Openapi {
        /// Output file, or - for standard output.
        #[arg(long, default_value = "api-spec/openapi.json")]
        out: PathBuf,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// JWT signing-key rotation.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Order files too big for one request.
    Orders {
        #[command(subcommand)]
        command: OrdersCommand,
    },
}

#[derive(Subcommand)]
enum OrdersCommand {
    /// Import a file of orders: validated whole first (nothing is written if any row is
    /// bad), then committed in chunks; run it again after an interruption to resume.
    Import {
        /// The file (CSV with a header row, or a JSON array).
        file: PathBuf,
        /// The vendor's id.
        #[arg(long)]
        vendor: String,
        /// `auto` (by content), `native`, `shopify` (orders export CSV), `woocommerce`
        /// (REST API orders JSON) or `mapping:NAME` (a saved column mapping).
        #[arg(long, default_value = "auto")]
        format: String,
        /// Orders per transaction.
        #[arg(long, default_value_t = truview::kyp::bulk::DEFAULT_CHUNK)]
        chunk: usize,
        /// Idempotency key prefix (default: from the file's SHA-256, so a rerun resumes).
        #[arg(long)]
        key: Option<String>,
    },
}

#[derive(Subcommand)]
enum VendorCommand {
    /// Create a vendor with its owner; prints the keys and the console login once.
    Create {
        /// Vendor (shop) name.
        #[arg(long)]
        name: String,
        /// Owner's e-mail (the console login).
        #[arg(long)]
        owner_email: String,
        /// Website origins allowed to embed the widget, e.g. https://shop.example (repeatable).
        #[arg(long = "origin")]
        origins: Vec<String>,
        /// Owner password (12–128 characters); generated and printed when omitted.
        #[arg(long, env = "TRUVIEW_OWNER_PASSWORD")]
        owner_password: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify every vendor's keyed hash chain (read-only, safe beside a running server);
    /// exits non-zero naming each break.
    Verify {
        /// A signed checkpoint (the line `audit checkpoint` printed, or a log holding
        /// `audit_checkpoint` lines: every one is checked). Also detects a cut tail with the
        /// head rolled back, a rewritten history and a deleted vendor.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Print a signed checkpoint {vendor -> (seq, head)} as one line of JSON; keep it
    /// outside the database (the worker also logs one hourly, target `audit_checkpoint`).
    Checkpoint,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new signing key; tokens signed by older keys stay valid until they expire.
    Rotate,
    /// Revoke a signing key: its tokens stop verifying at once.
    Revoke {
        /// The key id (`kid`).
        kid: String,
    },
    /// List key ids, newest last.
    List,
}

fn main() -> std::process::ExitCode {
    // Parsing the arguments starts no thread, so the allocator can still be tuned after it.
    let cli = Cli::parse();
    tune_memory(matches!(cli.command, Command::Orders { .. }));
    let mut settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("truview: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Some(url) = cli.database_url.clone() {
        settings.database_url = url;
    }
    if cli.json_logs {
        settings.log_format = LogFormat::Json;
    }
    truview::telemetry::init(settings.log_format, &settings.log_level);
    match run(cli.command, settings) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("truview: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(command: Command, mut settings: Settings) -> anyhow::Result<std::process::ExitCode> {
    use std::process::ExitCode;
    match command {
        Command::Serve { bind, no_worker } => {
            if let Some(bind) = bind {
                settings.bind = bind;
            }
            runtime().block_on(truview::cli::serve(settings, !no_worker))?;
        }
        Command::Worker { once } => {
            runtime().block_on(truview::cli::worker(settings, once))?;
        }
        Command::Migrate => truview::cli::migrate(&settings)?,
        Command::Vendor { command: VendorCommand::Create { name, owner_email, origins, owner_password } } => {
            runtime().block_on(truview::cli::vendor_create(settings, name, owner_email, origins, owner_password))?;
        }
        Command::Demo => runtime().block_on(truview::cli::demo(settings))?,
        Command::Openapi { out } => truview::cli::openapi(&out)?,
        Command::Audit { command: AuditCommand::Verify { checkpoint } } => {
            if !truview::cli::audit_verify(&settings, checkpoint.as_deref())? {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Audit { command: AuditCommand::Checkpoint } => truview::cli::audit_checkpoint(&settings)?,
        Command::Orders { command: OrdersCommand::Import { file, vendor, format, chunk, key } } => {
            let opts = truview::kyp::bulk::BulkOptions { chunk_orders: chunk, key };
            runtime().block_on(truview::cli::orders_import(settings, &vendor, &file, &format, opts))?;
        }
        Command::Keys { command } => {
            let path = settings.key_file_path();
            match command {
                KeysCommand::Rotate => truview::cli::keys_rotate(&path)?,
                KeysCommand::Revoke { kid } => truview::cli::keys_revoke(&path, &kid)?,
                KeysCommand::List => truview::cli::keys_list(&path)?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
