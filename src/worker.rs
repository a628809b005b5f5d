//! The background worker. Today it does maintenance: expired review flows and refresh
//! tokens are deleted. (Each serving process trims its own rate-limiter memory on a timer:
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
}

pub async fn run_once(core: &Core) -> crate::error::Result<Pass> {
    let now = core.clock.now_ms();
    let pass = core
        .db
        .write(move |conn| {
            Ok(Pass {
                flows_deleted: store::flows::purge_expired(conn, now - FLOW_GRACE_MS)?,
                refresh_tokens_deleted: store::sessions::purge_expired(conn, now)?,
            })
        })
        .await?;
    if pass != Pass::default() {
        tracing::info!(flows = pass.flows_deleted, refresh_tokens = pass.refresh_tokens_deleted, "maintenance pass");
    }
    Ok(pass)
}

pub async fn run_forever(core: std::sync::Arc<Core>) {
    let mut interval = tokio::time::interval(Duration::from_secs(core.settings.worker_interval_secs.max(1)));
    loop {
        interval.tick().await;
        if let Err(e) = run_once(&core).await {
            tracing::warn!(error = %e, "worker pass failed");
        }
    }
}
