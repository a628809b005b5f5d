//! Storage: one binary, two backends. SQLite (embedded, zero set-up) or PostgreSQL
//! (production, several stateless nodes on one database), picked by the URL scheme.

pub mod schema;

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::{Error, Result};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend. Queries written against this type run on both;
/// the few backend-specific statements match on the variant in one marked place.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// Which backend a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `postgres://`/`postgresql://` → PostgreSQL; `sqlite://`, `sqlite:` or a plain file
    /// path → SQLite. Any other scheme (a typo such as `postgress://`, or `mysql://`) is
    /// refused rather than silently becoming an empty SQLite file of that name.
    pub fn from_url(url: &str) -> std::result::Result<Backend, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Backend::Postgres);
        }
        if url.starts_with("sqlite:") {
            return Ok(Backend::Sqlite);
        }
        match url.split_once("://") {
            Some((scheme, _)) => Err(format!(
                "unsupported database URL scheme '{scheme}://': use postgres://…, sqlite://PATH or a file path"
            )),
            None if url.trim().is_empty() => Err("the database URL is empty".into()),
            None => Ok(Backend::Sqlite),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }
}

/// Strips an optional `sqlite://` / `sqlite:` prefix: diesel wants a plain path.
pub fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url)
}

/// Opens one connection of the backend the URL names, with per-connection set-up.
pub fn establish(url: &str) -> std::result::Result<DbConn, diesel::ConnectionError> {
    match Backend::from_url(url).map_err(diesel::ConnectionError::InvalidConnectionUrl)? {
        Backend::Postgres => Ok(DbConn::Pg(PgConnection::establish(url)?)),
        Backend::Sqlite => {
            let mut conn = SqliteConnection::establish(sqlite_path(url))?;
            // WAL lets readers run beside the one writer; busy_timeout makes a writer wait
            // for the lock instead of failing with "database is locked". Reads go through a
            // memory map and a 16 MiB page cache per connection instead of read() calls
            // (measured by the P1 benchmark). The map covers the first 64 MiB of the file:
            // every mapped page a query touches counts in the server's resident memory, and
            // with 256 MiB a 1,000,000-order import (P3) left 210 MiB of the database file
            // resident beside 44 MiB of the server's own (goal: 200 MiB in all).
            // busy_timeout comes first: `journal_mode` needs a lock too, and without the
            // timeout it failed at once with "database is locked" while another process
            // was opening, closing or checkpointing the same file.
            conn.batch_execute(
                "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA foreign_keys = ON; PRAGMA mmap_size = 67108864; PRAGMA cache_size = -16384;",
            )
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConn::Sqlite(conn))
        }
    }
}

/// Opens one read-only connection (for `audit verify|checkpoint` against a live
/// database): no migrations, no pool; on SQLite `mode=ro` with busy_timeout set before
/// anything else, on PostgreSQL a session whose transactions are read-only.
pub fn establish_read_only(url: &str) -> std::result::Result<DbConn, diesel::ConnectionError> {
    match Backend::from_url(url).map_err(diesel::ConnectionError::InvalidConnectionUrl)? {
        Backend::Postgres => {
            let mut conn = PgConnection::establish(url)?;
            conn.batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConn::Pg(conn))
        }
        Backend::Sqlite => {
            let path = sqlite_path(url);
            if !std::path::Path::new(path).exists() {
                return Err(diesel::ConnectionError::BadConnection(format!("{path} does not exist")));
            }
            let escaped = path.replace('%', "%25").replace('?', "%3f").replace('#', "%23");
            let mut conn = SqliteConnection::establish(&format!("file:{escaped}?mode=ro"))?;
            conn.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA query_only = ON;")
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConn::Sqlite(conn))
        }
    }
}

/// Runs `f` in one read transaction that sees a single snapshot: SQLite's deferred `BEGIN`
/// (WAL readers see the database as of their first read), PostgreSQL's
/// `REPEATABLE READ READ ONLY`.
pub fn read_snapshot<T, F>(conn: &mut DbConn, f: F) -> Result<T>
where
    F: FnOnce(&mut DbConn) -> Result<T>,
{
    type Tm = <DbConn as Connection>::TransactionManager;
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN")?,
        DbConn::Pg(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?
        }
    }
    let out = f(conn);
    if let Err(e) = Tm::rollback_transaction(conn) {
        tracing::warn!(error = %e, "ending a read snapshot failed");
    }
    out
}

/// r2d2 manager that picks the variant from the URL scheme (the derived `establish`
/// would try each backend in turn, and SQLite accepts any path).
#[derive(Debug, Clone)]
pub struct DbConnManager {
    url: String,
}

impl ManageConnection for DbConnManager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> std::result::Result<DbConn, r2d2::Error> {
        establish(&self.url).map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> std::result::Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        <DbConn as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}

pub type DbPool = Pool<DbConnManager>;
pub type PooledConn = PooledConnection<DbConnManager>;

/// The pool plus what the rest of the program needs to know about it.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    backend: Backend,
}

impl Db {
    /// Connects, applies pending migrations, and builds the pool: at most `pool_size`
    /// connections, of which `min_idle` are opened at once and kept while idle; the others
    /// are opened on demand and closed after ten idle minutes (r2d2's `idle_timeout`).
    pub fn connect(url: &str, pool_size: u32, min_idle: u32) -> anyhow::Result<Db> {
        let backend = Backend::from_url(url).map_err(|e| anyhow::anyhow!("database_url: {e}"))?;
        let mut conn =
            establish(url).map_err(|e| anyhow::anyhow!("cannot open the {} database: {e}", backend.name()))?;
        run_migrations(&mut conn)?;
        drop(conn);
        // One thread opens and reaps connections in the background (r2d2's default is three,
        // idle on an idle node; opening a connection takes milliseconds).
        let housekeeping =
            scheduled_thread_pool::ScheduledThreadPool::builder().num_threads(1).thread_name_pattern("r2d2-{}").build();
        let housekeeping = std::sync::Arc::new(housekeeping);
        let pool = Pool::builder()
            .thread_pool(housekeeping)
            .max_size(pool_size)
            .min_idle(Some(min_idle.min(pool_size)))
            .connection_timeout(Duration::from_secs(10))
            .build(DbConnManager { url: url.to_owned() })?;
        Ok(Db { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn get(&self) -> Result<PooledConn> {
        Ok(self.pool.get()?)
    }

    /// Connections handed out / open, for `/metrics`.
    pub fn state(&self) -> (u32, u32) {
        let s = self.pool.state();
        (s.connections - s.idle_connections, s.connections)
    }

    /// Runs blocking database work off the async executor, carrying the current span.
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        self.spawn(f).await
    }

    /// Like [`Db::write`], but started on the blocking pool at once rather than when first
    /// awaited: the caller can go on with other work (a bulk import prepares its next
    /// chunk) while this one runs.
    pub fn spawn_write<T, F>(&self, f: F) -> impl std::future::Future<Output = Result<T>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        self.spawn(move |conn| write_tx(conn, f))
    }

    /// Like [`Db::run`], inside one write transaction (see [`write_tx`]).
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        self.spawn_write(f).await
    }

    /// Starts `f` on the blocking pool with a pooled connection and the current span; the
    /// future answers its result.
    fn spawn<T, F>(&self, f: F) -> impl std::future::Future<Output = Result<T>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        let task = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool.get()?;
            f(&mut conn)
        });
        async move { task.await.map_err(|e| Error::task_failed("database", e))? }
    }
}

/// Applies pending migrations of the connection's backend; returns how many ran.
pub fn run_migrations(conn: &mut DbConn) -> anyhow::Result<usize> {
    let applied = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConn::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len()),
    }
    .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
    Ok(applied)
}

/// True when every embedded migration has been applied (for `/ready`).
pub fn migrations_current(conn: &mut DbConn) -> anyhow::Result<bool> {
    let pending = match conn {
        DbConn::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
        DbConn::Pg(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
    }
    .map_err(|e| anyhow::anyhow!("cannot read migration state: {e}"))?;
    Ok(!pending)
}

/// A write transaction. On SQLite it begins with `BEGIN IMMEDIATE`, taking the write
/// lock up front so two writers never deadlock upgrading a read lock (busy_timeout then
/// queues them); on PostgreSQL it is a plain transaction.
pub fn write_tx<T, F>(conn: &mut DbConn, f: F) -> Result<T>
where
    F: FnOnce(&mut DbConn) -> Result<T>,
{
    type Tm = <DbConn as Connection>::TransactionManager;
    // Backend-specific: the one place a transaction is begun by hand.
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Pg(_) => Tm::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => {
            Tm::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = Tm::rollback_transaction(conn) {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(e)
        }
    }
}

/// Backend-specific: locks a staff row until the write transaction ends (`SELECT … FOR
/// UPDATE` on PostgreSQL; on SQLite [`write_tx`] already holds the database's write lock).
/// Session changes of one member (login, refresh, logout, password change, deactivation)
/// take it. Its vendor's row is locked first: every transaction that locks both (staff
/// changes, and the audit append, which updates the vendor row) takes them in the order
/// vendor → staff, so two of them cannot deadlock.
pub fn lock_staff_row(conn: &mut DbConn, staff_id: &str) -> Result<()> {
    use diesel::prelude::*;
    if let DbConn::Pg(c) = conn {
        let vendor: Option<String> =
            schema::staff::table.find(staff_id).select(schema::staff::vendor_id).first(c).optional()?;
        if let Some(vendor_id) = vendor {
            schema::vendors::table.find(vendor_id).select(schema::vendors::id).for_update().load::<String>(c)?;
        }
        schema::staff::table.find(staff_id).select(schema::staff::id).for_update().load::<String>(c)?;
    }
    Ok(())
}

/// Backend-specific: locks a vendor row until the write transaction ends (see
/// [`lock_staff_row`]); staff role changes take it so the last-owner rule is race-free.
pub fn lock_vendor_row(conn: &mut DbConn, vendor_id: &str) -> Result<()> {
    use diesel::prelude::*;
    if let DbConn::Pg(c) = conn {
        schema::vendors::table.find(vendor_id).select(schema::vendors::id).for_update().load::<String>(c)?;
    }
    Ok(())
}

/// Backend-specific: a multi-row `INSERT`, which the common backend cannot express.
/// Runs on the concrete connection; same SQL shape on both backends.
#[macro_export]
macro_rules! insert_many {
    ($conn:expr, $table:expr, $rows:expr) => {{
        use diesel::RunQueryDsl as _;
        match $conn {
            $crate::db::DbConn::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
            $crate::db::DbConn::Pg(c) => diesel::insert_into($table).values($rows).execute(c),
        }
    }};
}

/// Backend-specific: `INSERT … ON CONFLICT DO NOTHING` (the common backend cannot express
/// it); the number of rows inserted. Same SQL on both backends.
#[macro_export]
macro_rules! insert_or_ignore {
    ($conn:expr, $table:expr, $rows:expr) => {{
        use diesel::RunQueryDsl as _;
        match $conn {
            $crate::db::DbConn::Sqlite(c) => {
                diesel::insert_into($table).values($rows).on_conflict_do_nothing().execute(c)
            }
            $crate::db::DbConn::Pg(c) => diesel::insert_into($table).values($rows).on_conflict_do_nothing().execute(c),
        }
    }};
}
