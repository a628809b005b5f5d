//! Diesel queries, one file per aggregate. Every query that touches vendor data takes
//! the vendor id and filters by it (R6): a foreign id reads as "not found".

pub mod audit;
pub mod cases;
pub mod codes;
pub mod demo;
pub mod flows;
pub mod funnel;
pub mod incentives;
pub mod integrations;
pub mod jobs;
pub mod keys;
pub mod kyp_rules;
pub mod mappings;
pub mod oauth_states;
pub mod orders;
pub mod products;
pub mod receipts;
pub mod reviews;
pub mod sessions;
pub mod staff;
pub mod vendors;

/// Key use and "widget served" are recorded at most this often, sparing the database a
/// write per request.
pub const MARK_INTERVAL_MS: i64 = 60_000;

/// Whether a mark last written at `last` is due to be written again.
pub fn mark_is_stale(last: Option<i64>, now: i64) -> bool {
    last.is_none_or(|t| t < now - MARK_INTERVAL_MS)
}

/// A new time-ordered id (UUIDv7, text): sortable, unguessable enough for ids (never for secrets).
pub fn new_id(clock: &dyn crate::clock::Clock, random: &dyn crate::clock::Random) -> String {
    let mut rand_bytes = [0u8; 10];
    random.fill(&mut rand_bytes);
    let ms = u64::try_from(clock.now_ms()).unwrap_or_default();
    uuid::Builder::from_unix_timestamp_millis(ms, &rand_bytes).into_uuid().to_string()
}
