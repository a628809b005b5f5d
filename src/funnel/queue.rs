//! The durable job queue (outbox). A job is written in the same transaction as the order,
//! trigger or decision that causes it (`store::jobs::enqueue` with a row from [`job_row`]);
//! workers claim due jobs in batches under a lease, commit the claim, run each job outside
//! any transaction, then acknowledge it. A failed job comes back after an exponential
//! backoff with jitter (`domain::jobs::retry_delay`) and is dead after its last attempt,
//! until staff retry it. A worker that dies leaves its lease to lapse and the job is
//! claimed again; one that stops gracefully hands its jobs back at once ([`release`]).
//! Handlers therefore run at least once: each must be idempotent (the funnel's are keyed).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::json;

use crate::core::Core;
use crate::domain::jobs::{retry_delay, DEFAULT_MAX_ATTEMPTS};
use crate::error::Result;
use crate::store;
use crate::store::audit::Entry;
use crate::store::jobs::Job;

/// How long a claim holds a job (`job_lease_secs`, at least 2 s).
fn lease_ms(core: &Core) -> i64 {
    i64::try_from(core.settings.job_lease_secs.max(2)).unwrap_or(300).saturating_mul(1000)
}

/// A run that takes longer has failed (and is retried): at most a minute, and within three
/// quarters of the lease, so a live worker never loses a job it is running.
fn job_timeout(core: &Core) -> Duration {
    Duration::from_millis(u64::try_from(lease_ms(core) * 3 / 4).unwrap_or(60_000)).min(Duration::from_secs(60))
}
/// Jobs claimed per batch.
pub const BATCH: i64 = 32;
/// Finished jobs are kept this long for the console, then purged.
pub const DONE_KEEP_MS: i64 = 7 * 86_400_000;

/// How a run ended well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    Done,
    /// Not yet (quiet hours, the daily cap): queued again for this instant, the attempt not
    /// counted.
    Later(i64),
}

/// What a job does. `Err` is the reason the run failed, kept with the job.
pub trait JobHandler: Send + Sync + 'static {
    fn run<'a>(&'a self, core: &'a Core, job: &'a Job) -> BoxFuture<'a, std::result::Result<Ran, String>>;
}

/// The handlers by job name.
#[derive(Clone, Default)]
pub struct Registry(Arc<RwLock<HashMap<String, Arc<dyn JobHandler>>>>);

impl Registry {
    pub fn register(&self, name: &str, handler: Arc<dyn JobHandler>) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).insert(name.to_owned(), handler);
    }

    fn get(&self, name: &str) -> Option<Arc<dyn JobHandler>> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).get(name).cloned()
    }
}

/// A job to queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub vendor_id: Option<String>,
    pub name: String,
    pub payload: serde_json::Value,
    /// A second job with the same key is not queued (e.g. `invite:{order id}`).
    pub idempotency_key: Option<String>,
    pub priority: i32,
    /// When it may run (Unix ms); `None` = now.
    pub run_at: Option<i64>,
    pub max_attempts: Option<i32>,
}

/// The row for a new job (id and instants drawn now, outside the caller's transaction).
pub fn job_row(core: &Core, new: NewJob) -> Job {
    job_row_with(core.clock.as_ref(), core.random.as_ref(), new)
}

/// [`job_row`] from the clock and randomness alone (inside a transaction's closure).
pub fn job_row_with(clock: &dyn crate::clock::Clock, random: &dyn crate::clock::Random, new: NewJob) -> Job {
    let now = clock.now_ms();
    Job {
        id: store::new_id(clock, random),
        vendor_id: new.vendor_id,
        name: new.name,
        payload: new.payload.to_string(),
        idempotency_key: new.idempotency_key,
        priority: new.priority,
        run_at: new.run_at.unwrap_or(now),
        state: store::jobs::QUEUED.into(),
        attempts: 0,
        max_attempts: new.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1),
        lease_owner: None,
        lease_until: None,
        last_error: None,
        created_at: now,
        updated_at: now,
    }
}

/// A name for this worker's leases: process id and a random suffix.
pub fn worker_name(core: &Core) -> String {
    format!("worker-{}-{}", std::process::id(), core.random.token(6))
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunReport {
    pub claimed: usize,
    pub done: usize,
    /// Failed and queued again.
    pub retried: usize,
    /// Failed for the last time.
    pub dead: usize,
    /// Acknowledged too late: another worker had taken the job over.
    pub lost: usize,
    /// Put off to a later time (quiet hours, the daily cap).
    pub deferred: usize,
}

fn jitter(core: &Core) -> f64 {
    let mut b = [0u8; 8];
    core.random.fill(&mut b);
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// Claims one batch of due jobs for `owner`.
async fn claim_batch(core: &Core, owner: &str) -> Result<Vec<Job>> {
    let now = core.now_ms();
    let who = owner.to_owned();
    let lease = lease_ms(core);
    core.db.write(move |conn| store::jobs::claim(conn, &who, now, now + lease, BATCH)).await
}

impl RunReport {
    fn count(&mut self, acked: Acked) {
        match acked {
            Acked::Done => self.done += 1,
            Acked::Deferred => self.deferred += 1,
            Acked::Retried => self.retried += 1,
            Acked::Dead => self.dead += 1,
            Acked::Lost => self.lost += 1,
        }
    }
}

/// Claims one batch of due jobs for `owner`, runs them and acknowledges each.
pub async fn run_due(core: &Core, owner: &str) -> Result<RunReport> {
    use futures_util::StreamExt as _;
    let timeout = job_timeout(core);
    let claimed = claim_batch(core, owner).await?;
    let mut report = RunReport { claimed: claimed.len(), ..Default::default() };
    // Several at once: a mail server's round trips (and TCP's delayed ACKs on a reused
    // connection) would otherwise bound the worker to one message per round trip.
    let acked: Vec<Result<Acked>> = futures_util::stream::iter(claimed)
        .map(|job| run_one(core, owner, job, timeout))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for acked in acked {
        report.count(acked?);
    }
    Ok(report)
}

/// Jobs run at once.
pub const CONCURRENCY: usize = 8;

/// How a claimed job's run was acknowledged.
enum Acked {
    Done,
    Deferred,
    Retried,
    Dead,
    /// Too late: another worker had taken the job over.
    Lost,
}

async fn run_one(core: &Core, owner: &str, job: Job, timeout: Duration) -> Result<Acked> {
    let outcome = match core.jobs.get(&job.name) {
        Some(handler) => match tokio::time::timeout(timeout, handler.run(core, &job)).await {
            Ok(result) => result,
            Err(_) => Err(format!("timed out after {} ms", timeout.as_millis())),
        },
        None => Err(format!("no handler for jobs named {}", job.name)),
    };
    let now = core.now_ms();
    let (id, who) = (job.id.clone(), owner.to_owned());
    let (ok, acked) = match outcome {
        Ok(Ran::Done) => (core.db.write(move |conn| store::jobs::complete(conn, &id, &who, now)).await?, Acked::Done),
        Ok(Ran::Later(at)) => {
            (core.db.write(move |conn| store::jobs::defer(conn, &id, &who, at, now)).await?, Acked::Deferred)
        }
        Err(error) => {
            if let Some(vendor) = &job.vendor_id {
                tracing::warn!(job = %job.id, name = %job.name, vendor = %vendor, attempt = job.attempts, %error, "job failed");
            }
            let retry_at = retry_delay(job.attempts, job.max_attempts, jitter(core)).map(|d| now + d);
            let acked = if retry_at.is_some() { Acked::Retried } else { Acked::Dead };
            (core.db.write(move |conn| store::jobs::fail(conn, &id, &who, &error, retry_at, now)).await?, acked)
        }
    };
    Ok(if ok { acked } else { Acked::Lost })
}

/// Where the pipeline of one pass stands: jobs claimed and not started yet, and whether
/// the queue has run dry (a claim came back short) or the pass is stopping (an error).
struct Feed {
    waiting: std::collections::VecDeque<Job>,
    dry: bool,
}

/// Runs due jobs until none is left (one worker pass), `CONCURRENCY` at a time without a
/// pause between batches: the next batch is claimed as soon as the last claimed job has
/// started, while the others still run, so the sends never drain down to one between
/// claims. Stops claiming when a claim comes back short, or after the first error (the
/// jobs already running are still acknowledged), which it then returns.
pub async fn drain(core: &Core, owner: &str) -> Result<RunReport> {
    use futures_util::StreamExt as _;
    let timeout = job_timeout(core);
    let failed = std::cell::Cell::new(false);
    let claimed = std::cell::Cell::new(0usize);
    let feed = Feed { waiting: std::collections::VecDeque::new(), dry: false };
    let jobs = futures_util::stream::unfold(feed, |mut feed| {
        let (failed, claimed) = (&failed, &claimed);
        async move {
            if failed.get() {
                return None;
            }
            if feed.waiting.is_empty() && !feed.dry {
                match claim_batch(core, owner).await {
                    Ok(batch) => {
                        feed.dry = batch.len() < BATCH as usize;
                        claimed.set(claimed.get() + batch.len());
                        feed.waiting.extend(batch);
                    }
                    Err(e) => {
                        failed.set(true);
                        return Some((Err(e), feed));
                    }
                }
            }
            let job = feed.waiting.pop_front()?;
            Some((Ok(job), feed))
        }
    });
    let mut runs = std::pin::pin!(jobs
        .map(|job| async {
            let acked = match job {
                Ok(job) => run_one(core, owner, job, timeout).await,
                Err(e) => Err(e),
            };
            if acked.is_err() {
                failed.set(true);
            }
            acked
        })
        .buffer_unordered(CONCURRENCY));
    let mut total = RunReport::default();
    let mut first_error = None;
    while let Some(acked) = runs.next().await {
        match acked {
            Ok(a) => total.count(a),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    total.claimed = claimed.get();
    match first_error {
        Some(e) => Err(e),
        None => Ok(total),
    }
}

/// Hands back the jobs `owner` holds (graceful shutdown): they run again at once elsewhere,
/// and the interrupted attempt is not counted.
pub async fn release(core: &Core, owner: &str) -> Result<usize> {
    let (owner, now) = (owner.to_owned(), core.now_ms());
    core.db.write(move |conn| store::jobs::release(conn, &owner, now)).await
}

/// Page sizes of the job list.
pub const PAGE_MAX: i64 = 100;
pub const PAGE_DEFAULT: i64 = 50;

/// The vendor's jobs in one state, newest first.
pub async fn list(
    core: &Core,
    vendor_id: &str,
    state: &'static str,
    before: Option<String>,
    limit: i64,
) -> Result<(Vec<Job>, Option<String>)> {
    crate::domain::paging::check_limit(limit, PAGE_MAX)?;
    let vendor_id = vendor_id.to_owned();
    let rows = core.db.run(move |conn| store::jobs::page(conn, &vendor_id, state, before.as_deref(), limit)).await?;
    let next = crate::domain::paging::next_cursor(&rows, limit, |j| j.id.clone());
    Ok((rows, next))
}

/// Puts one of the vendor's dead jobs back in the queue (audited as `job.retried`).
pub async fn retry(core: &Core, vendor_id: &str, actor: &str, job_id: &str) -> Result<Job> {
    let (vendor_id, actor, job_id) = (vendor_id.to_owned(), actor.to_owned(), job_id.to_owned());
    let (audit, now) = (core.audit.clone(), core.now_ms());
    core.db
        .write(move |conn| {
            let job = store::jobs::retry(conn, &vendor_id, &job_id, now)?;
            let details = json!({ "name": job.name, "last_error": job.last_error });
            audit.append(
                conn,
                &vendor_id,
                now,
                Entry { actor: &actor, action: "job.retried", target: &job.id, details },
            )?;
            Ok(job)
        })
        .await
}
