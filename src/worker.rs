//! The background worker. Today it does maintenance: expired review flows, refresh tokens
//! and lapsed per-IP public-write caps are deleted, and a signed audit checkpoint is logged
//! hourly. (Each serving process trims its own rate-limiter memory on a timer:
//! see `http::trim_limiters`.) The funnel's job queue joins
//! it in a later stage. Several workers may run at once: every pass is idempotent.

use std::time::Duration;

use crate::core::Core;
use crate::store;

/// Flows are kept a day past expiry so a late submission is told "expired", not "unknown".
const FLOW_GRACE_MS: i64 = 86_400_000;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub flows_deleted: usize,
    pub refresh_tokens_deleted: usize,
    pub public_write_caps_deleted: usize,
}

pub async fn run_once(core: &Core) -> crate::error::Result<Pass> {
    let now = core.clock.now_ms();
    let pass = core
        .db
        .write(move |conn| {
            Ok(Pass {
                flows_deleted: store::flows::purge_expired(conn, now - FLOW_GRACE_MS)?,
                refresh_tokens_deleted: store::sessions::purge_expired(conn, now)?,
                public_write_caps_deleted: store::reviews::purge_caps(conn, now)?,
            })
        })
        .await?;
    if pass != Pass::default() {
        tracing::info!(
            flows = pass.flows_deleted,
            refresh_tokens = pass.refresh_tokens_deleted,
            public_write_caps = pass.public_write_caps_deleted,
            "maintenance pass"
        );
    }
    Ok(pass)
}

/// How often the worker logs a signed audit checkpoint (H3).
const AUDIT_CHECKPOINT_EVERY: Duration = Duration::from_secs(3600);

/// Logs a signed checkpoint of every vendor's audit chain as one line with target
/// `audit_checkpoint`; the operator's log store keeps it outside the database, and
/// `truview audit verify --checkpoint` checks the database against it.
pub async fn log_audit_checkpoint(core: &Core) -> crate::error::Result<()> {
    let audit = core.audit.clone();
    let now = core.clock.now_ms();
    let checkpoint = core.db.run(move |conn| audit.checkpoint(conn, now)).await?;
    tracing::info!(target: "audit_checkpoint", "{}", checkpoint.to_line());
    Ok(())
}

pub async fn run_forever(core: std::sync::Arc<Core>) {
    let mut interval = tokio::time::interval(Duration::from_secs(core.settings.worker_interval_secs.max(1)));
    let mut checkpoints = tokio::time::interval(AUDIT_CHECKPOINT_EVERY);
    loop {
        tokio::select! {
            _ = interval.tick() => {
                if let Err(e) = run_once(&core).await {
                    tracing::warn!(error = %e, "worker pass failed");
                }
            }
            _ = checkpoints.tick() => {
                if let Err(e) = log_audit_checkpoint(&core).await {
                    tracing::warn!(error = %e, "audit checkpoint failed");
                }
            }
        }
    }
}
