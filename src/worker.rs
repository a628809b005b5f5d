//! The background worker: it runs the durable job queue (`funnel::queue`), does
//! maintenance (expired review flows, refresh tokens, lapsed per-IP public-write caps, old
//! idempotency keys, finished jobs and abandoned social logins are deleted), and logs a signed audit checkpoint
//! hourly. (Each serving process trims its own rate-limiter memory on a timer: see
//! `http::trim_limiters`.) Several workers may run at once: every pass is idempotent and
//! jobs are claimed under leases.

use std::time::Duration;

use crate::core::Core;
use crate::store;
use crate::store::audit::Checkpoint;

/// Flows are kept a day past expiry so a late submission is told "expired", not "unknown".
const FLOW_GRACE_MS: i64 = 86_400_000;
/// An import's `Idempotency-Key` answers the same for 30 days (a retried or resumed import
/// within that time writes nothing twice); then the key may be used again.
pub const IDEMPOTENCY_KEEP_MS: i64 = 30 * 86_400_000;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub flows_deleted: usize,
    pub refresh_tokens_deleted: usize,
    pub public_write_caps_deleted: usize,
    pub idempotency_keys_deleted: usize,
    pub jobs_deleted: usize,
    pub receipt_files_deleted: usize,
    pub raw_contacts_cleared: usize,
    pub oauth_states_deleted: usize,
}

pub async fn run_once(core: &Core) -> crate::error::Result<Pass> {
    let now = core.clock.now_ms();
    let receipts_before = now - core.settings.receipt_retention_days.max(0) * 86_400_000;
    let pass = core
        .db
        .write(move |conn| {
            Ok(Pass {
                flows_deleted: store::flows::purge_expired(conn, now - FLOW_GRACE_MS)?,
                refresh_tokens_deleted: store::sessions::purge_expired(conn, now)?,
                public_write_caps_deleted: store::reviews::purge_caps(conn, now)?,
                idempotency_keys_deleted: store::orders::purge_idempotency(conn, now - IDEMPOTENCY_KEEP_MS)?,
                jobs_deleted: store::jobs::purge_done(conn, now - crate::funnel::queue::DONE_KEEP_MS)?,
                receipt_files_deleted: store::receipts::purge_files(conn, receipts_before, now)?,
                raw_contacts_cleared: store::orders::purge_raw_contacts(conn, now)?,
                oauth_states_deleted: store::oauth_states::purge_expired(conn, now)?,
            })
        })
        .await?;
    if pass != Pass::default() {
        tracing::info!(
            flows = pass.flows_deleted,
            refresh_tokens = pass.refresh_tokens_deleted,
            public_write_caps = pass.public_write_caps_deleted,
            idempotency_keys = pass.idempotency_keys_deleted,
            jobs = pass.jobs_deleted,
            receipt_files = pass.receipt_files_deleted,
            raw_contacts = pass.raw_contacts_cleared,
            oauth_states = pass.oauth_states_deleted,
            "maintenance pass"
        );
    }
    Ok(pass)
}

/// How often the worker logs a signed audit checkpoint (H3).
const AUDIT_CHECKPOINT_EVERY: Duration = Duration::from_secs(3600);

/// Verifies every vendor's audit chain against this worker's previous checkpoint and, if
/// it holds, logs a signed checkpoint of the current state as one line with target
/// `audit_checkpoint`; the operator's log store keeps it outside the database, and
/// `truview audit verify --checkpoint` checks the database against all of them. A state
/// that does not extend the previous checkpoint (rows edited, a tail cut, a vendor gone)
/// is never signed: the breaks are logged as errors instead, and the previous checkpoint
/// stays the one to compare with. Returns the checkpoint to compare the next one with.
pub async fn log_audit_checkpoint(
    core: &Core,
    previous: Option<Checkpoint>,
) -> crate::error::Result<Option<Checkpoint>> {
    let audit = core.audit.clone();
    let now = core.clock.now_ms();
    let prior: Vec<Checkpoint> = previous.iter().cloned().collect();
    let (report, checkpoint) = core
        .db
        .run(move |conn| {
            crate::db::read_snapshot(conn, |conn| Ok((audit.verify(conn, &prior)?, audit.checkpoint(conn, now)?)))
        })
        .await?;
    if !report.ok() {
        for line in report.lines().iter().filter(|l| l.starts_with("BROKEN")) {
            tracing::error!(target: "audit_checkpoint", "{line}");
        }
        tracing::error!(target: "audit_checkpoint", "audit chain broken: no checkpoint signed");
        return Ok(previous);
    }
    tracing::info!(target: "audit_checkpoint", "{}", checkpoint.to_line());
    Ok(Some(checkpoint))
}

async fn drain(core: &Core, owner: &str) {
    match crate::funnel::queue::drain(core, owner).await {
        Ok(r) if r.claimed > 0 => tracing::info!(
            claimed = r.claimed,
            done = r.done,
            retried = r.retried,
            dead = r.dead,
            lost = r.lost,
            "jobs run"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "job pass failed"),
    }
}

/// The worker loop: maintenance and queued jobs every `worker_interval_secs`, an audit
/// checkpoint hourly. `owner` names this worker's job leases (see `funnel::queue`); the
/// caller releases them when it stops the loop.
pub async fn run_forever(core: std::sync::Arc<Core>, owner: String) {
    let mut interval = tokio::time::interval(Duration::from_secs(core.settings.worker_interval_secs.max(1)));
    let mut polls = tokio::time::interval(Duration::from_millis(core.settings.job_poll_ms.max(50)));
    let mut checkpoints = tokio::time::interval(AUDIT_CHECKPOINT_EVERY);
    let mut last_checkpoint = None;
    loop {
        tokio::select! {
            _ = interval.tick() => {
                if let Err(e) = run_once(&core).await {
                    tracing::warn!(error = %e, "worker pass failed");
                }
                drain(&core, &owner).await;
            }
            // Between passes, a read every `job_poll_ms`: a job queued now (an invitation
            // sent from the console) runs within a second, not at the next pass.
            _ = polls.tick() => {
                let now = core.now_ms();
                match core.db.run(move |conn| crate::store::jobs::any_due(conn, now)).await {
                    Ok(true) => drain(&core, &owner).await,
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "job poll failed"),
                }
            }
            _ = checkpoints.tick() => {
                match log_audit_checkpoint(&core, last_checkpoint.clone()).await {
                    Ok(checkpoint) => last_checkpoint = checkpoint,
                    Err(e) => tracing::warn!(error = %e, "audit checkpoint failed"),
                }
            }
        }
    }
}
