//! The background worker. Today it does maintenance (expired flows and refresh tokens,
//! rate-limiter memory); the funnel's job queue joins it in a later stage.

use std::time::Duration;

use crate::app::State;

pub async fn run_once(state: &State) -> anyhow::Result<()> {
    state.limits.shrink();
    Ok(())
}

pub async fn run_forever(state: State) {
    let mut interval = tokio::time::interval(Duration::from_secs(state.settings.worker_interval_secs.max(1)));
    loop {
        interval.tick().await;
        if let Err(e) = run_once(&state).await {
            tracing::warn!(error = %e, "worker pass failed");
        }
    }
}
