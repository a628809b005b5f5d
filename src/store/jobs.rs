//! The job queue's rows. Claiming is the one backend-specific statement: on PostgreSQL the
//! due rows are locked with `FOR UPDATE SKIP LOCKED`, so any number of workers claim
//! disjoint batches; on SQLite the claim runs in the write transaction (`BEGIN IMMEDIATE`),
//! which already excludes every other writer. Either way the claim is committed before a
//! job runs, and acknowledgements are conditional on the lease, so a worker whose lease
//! lapsed cannot overwrite what the worker that took the job over did.

use diesel::prelude::*;

use crate::db::schema::jobs;
use crate::db::DbConn;
use crate::error::{Error, Result};

pub const QUEUED: &str = "queued";
pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const DEAD: &str = "dead";

/// `None` is inserted as NULL, the optional columns' default, so a batch is one statement.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = jobs, treat_none_as_default_value = false)]
pub struct Job {
    pub id: String,
    /// The vendor the job works for (its staff see it); `None` for service jobs.
    pub vendor_id: Option<String>,
    pub name: String,
    /// JSON, read by the job's handler.
    pub payload: String,
    /// A second job with the same key is not queued.
    pub idempotency_key: Option<String>,
    pub priority: i32,
    pub run_at: i64,
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Queues a job (in the caller's transaction); false if its idempotency key was queued
/// before.
pub fn enqueue(conn: &mut DbConn, job: &Job) -> Result<bool> {
    Ok(crate::insert_or_ignore!(conn, jobs::table, job)? == 1)
}

/// [`enqueue`] for many jobs, in multi-row statements; how many were queued.
pub fn enqueue_many(conn: &mut DbConn, jobs: &[Job]) -> Result<usize> {
    let mut queued = 0;
    // 15 columns a row: well under both backends' bind-parameter limits.
    for chunk in jobs.chunks(1_000) {
        queued += crate::insert_or_ignore!(conn, jobs::table, chunk)?;
    }
    Ok(queued)
}

/// Whether any job is due (a read: the worker's frequent check before it claims).
pub fn any_due(conn: &mut DbConn, now: i64) -> Result<bool> {
    let due =
        jobs::state.eq(QUEUED).and(jobs::run_at.le(now)).or(jobs::state.eq(RUNNING).and(jobs::lease_until.lt(now)));
    let found: Option<String> = jobs::table.filter(due).select(jobs::id).first(conn).optional()?;
    Ok(found.is_some())
}

/// The ids of up to `limit` jobs under `filter` in `order`. On PostgreSQL they are locked
/// and rows another worker holds are skipped (`FOR UPDATE SKIP LOCKED`); on SQLite the
/// claim's write transaction (`BEGIN IMMEDIATE`) already keeps other workers out.
macro_rules! claimable_ids {
    ($conn:expr, $filter:expr, $order:expr, $limit:expr) => {{
        let query = jobs::table.filter($filter).order($order).limit($limit).select(jobs::id);
        match $conn {
            DbConn::Pg(c) => query.for_update().skip_locked().load::<String>(c)?,
            DbConn::Sqlite(c) => query.load::<String>(c)?,
        }
    }};
}

/// Claims up to `limit` due jobs for `owner` until `lease_until`: running jobs whose lease
/// lapsed first, then queued jobs whose time has come, highest priority first. Each read
/// follows an index in its order and stops at `limit` (`jobs_lease`, `jobs_claim`), however
/// long the queue. Backend-specific (see the module comment); run it in a write transaction
/// and commit before running.
pub fn claim(conn: &mut DbConn, owner: &str, now: i64, lease_until: i64, limit: i64) -> Result<Vec<Job>> {
    let lapsed = jobs::state.eq(RUNNING).and(jobs::lease_until.lt(now));
    let queued = jobs::state.eq(QUEUED).and(jobs::run_at.le(now));
    let lapsed_order = (jobs::lease_until.asc(), jobs::id.asc());
    let order = (jobs::priority.desc(), jobs::run_at.asc(), jobs::id.asc());
    let mut ids = claimable_ids!(conn, lapsed, lapsed_order, limit);
    let room = limit - ids.len() as i64;
    if room > 0 {
        ids.extend(claimable_ids!(conn, queued, order, room));
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(jobs::table.filter(jobs::id.eq_any(&ids)))
        .set((
            jobs::state.eq(RUNNING),
            jobs::lease_owner.eq(owner),
            jobs::lease_until.eq(lease_until),
            jobs::attempts.eq(jobs::attempts + 1),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(jobs::table.filter(jobs::id.eq_any(&ids)).order(order).select(Job::as_select()).load(conn)?)
}

/// Marks a job done; false if `owner` lost its lease meanwhile (another worker took it).
pub fn complete(conn: &mut DbConn, id: &str, owner: &str, now: i64) -> Result<bool> {
    let target = jobs::table.filter(jobs::id.eq(id).and(jobs::state.eq(RUNNING)).and(jobs::lease_owner.eq(owner)));
    let n = diesel::update(target)
        .set((
            jobs::state.eq(DONE),
            jobs::lease_owner.eq(None::<String>),
            jobs::lease_until.eq(None::<i64>),
            jobs::last_error.eq(None::<String>),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Records a failed run: queued again at `retry_at`, or dead when `retry_at` is `None`.
/// False if `owner` lost its lease meanwhile.
pub fn fail(conn: &mut DbConn, id: &str, owner: &str, error: &str, retry_at: Option<i64>, now: i64) -> Result<bool> {
    let target = jobs::table.filter(jobs::id.eq(id).and(jobs::state.eq(RUNNING)).and(jobs::lease_owner.eq(owner)));
    let error: String = error.chars().take(2000).collect();
    let n = diesel::update(target)
        .set((
            jobs::state.eq(if retry_at.is_some() { QUEUED } else { DEAD }),
            jobs::run_at.eq(retry_at.unwrap_or(now)),
            jobs::lease_owner.eq(None::<String>),
            jobs::lease_until.eq(None::<i64>),
            jobs::last_error.eq(error),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Puts a job off until `run_at` without counting the attempt (quiet hours, daily cap).
/// False if `owner` lost its lease meanwhile.
pub fn defer(conn: &mut DbConn, id: &str, owner: &str, run_at: i64, now: i64) -> Result<bool> {
    let target = jobs::table.filter(jobs::id.eq(id).and(jobs::state.eq(RUNNING)).and(jobs::lease_owner.eq(owner)));
    let n = diesel::update(target)
        .set((
            jobs::state.eq(QUEUED),
            jobs::run_at.eq(run_at),
            jobs::attempts.eq(jobs::attempts - 1),
            jobs::lease_owner.eq(None::<String>),
            jobs::lease_until.eq(None::<i64>),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Hands back every job `owner` holds, as if never claimed (graceful shutdown).
pub fn release(conn: &mut DbConn, owner: &str, now: i64) -> Result<usize> {
    Ok(diesel::update(jobs::table.filter(jobs::state.eq(RUNNING).and(jobs::lease_owner.eq(owner))))
        .set((
            jobs::state.eq(QUEUED),
            jobs::attempts.eq(jobs::attempts - 1),
            jobs::lease_owner.eq(None::<String>),
            jobs::lease_until.eq(None::<i64>),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?)
}

/// A vendor's jobs in one state, newest first (keyset on id).
pub fn page(conn: &mut DbConn, vendor_id: &str, state: &str, before: Option<&str>, limit: i64) -> Result<Vec<Job>> {
    let mut q = jobs::table.filter(jobs::vendor_id.eq(vendor_id).and(jobs::state.eq(state))).into_boxed();
    if let Some(before) = before {
        q = q.filter(jobs::id.lt(before.to_owned()));
    }
    Ok(q.order(jobs::id.desc()).limit(limit).select(Job::as_select()).load(conn)?)
}

/// Puts one of the vendor's dead jobs back in the queue with fresh attempts.
pub fn retry(conn: &mut DbConn, vendor_id: &str, id: &str, now: i64) -> Result<Job> {
    let job = jobs::table
        .filter(jobs::vendor_id.eq(vendor_id).and(jobs::id.eq(id)))
        .select(Job::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("job"))?;
    if job.state != DEAD {
        return Err(Error::Conflict(format!("only dead jobs can be retried; this one is {}", job.state)));
    }
    diesel::update(jobs::table.filter(jobs::id.eq(id).and(jobs::state.eq(DEAD))))
        .set((jobs::state.eq(QUEUED), jobs::attempts.eq(0), jobs::run_at.eq(now), jobs::updated_at.eq(now)))
        .execute(conn)?;
    Ok(Job { state: QUEUED.into(), attempts: 0, run_at: now, updated_at: now, ..job })
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<Job>> {
    Ok(jobs::table.find(id).select(Job::as_select()).first(conn).optional()?)
}

/// Forgets finished jobs last touched before `before` (worker maintenance).
pub fn purge_done(conn: &mut DbConn, before: i64) -> Result<usize> {
    Ok(diesel::delete(jobs::table.filter(jobs::state.eq(DONE).and(jobs::updated_at.lt(before)))).execute(conn)?)
}
