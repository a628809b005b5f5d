//! Per-node caches owned by `Core`.
//!
//! `PublicCache`: in-process cache of public widget reads (summary, review list): body + ETag per exact
//! path and query, on the injected clock. An entry is fresh for the TTL; after that, for up
//! to `STALE_WINDOW_MS` (the `Cache-Control: max-age` a CDN honours anyway), it is still
//! served while exactly one request's worth of work refreshes it in the background
//! (stale-while-revalidate), so no reader waits for the database. A node drops a vendor's
//! entries whenever it changes what that vendor's widget shows, so its own writes show at
//! once; other nodes' writes show within the TTL under traffic.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::clock::Clock;

#[derive(Debug, Clone)]
pub struct Cached {
    pub vendor_id: String,
    pub origins: Arc<Vec<String>>,
    pub body: Bytes,
    pub etag: String,
}

/// How long an expired entry may still be served while it is being refreshed.
pub const STALE_WINDOW_MS: i64 = 60_000;

struct Entry {
    stored_at: i64,
    value: Arc<Cached>,
    refreshing: bool,
}

/// What a lookup found.
pub enum Lookup {
    Fresh(Arc<Cached>),
    /// Expired but servable; `refresh` is true for exactly one caller, who must refresh
    /// the entry (`put`) or give up (`refresh_failed`).
    Stale {
        value: Arc<Cached>,
        refresh: bool,
    },
    Miss,
}

pub struct PublicCache {
    ttl_ms: i64,
    max_entries: usize,
    entries: Mutex<HashMap<String, Entry>>,
    /// Bumped by every invalidation: a value computed from the database before a write
    /// must not be stored after that write's invalidation.
    generation: std::sync::atomic::AtomicU64,
}

impl PublicCache {
    pub fn new(ttl_secs: u64, max_entries: usize) -> PublicCache {
        PublicCache {
            ttl_ms: i64::try_from(ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
            max_entries,
            entries: Mutex::new(HashMap::new()),
            generation: Default::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn enabled(&self) -> bool {
        self.ttl_ms > 0
    }

    pub fn lookup(&self, key: &str, clock: &dyn Clock) -> Lookup {
        if !self.enabled() {
            return Lookup::Miss;
        }
        let now = clock.now_ms();
        let mut map = self.lock();
        let Some(entry) = map.get_mut(key) else { return Lookup::Miss };
        let age = now - entry.stored_at;
        if age < self.ttl_ms {
            return Lookup::Fresh(entry.value.clone());
        }
        if age < self.ttl_ms.max(STALE_WINDOW_MS) {
            let refresh = !entry.refreshing;
            entry.refreshing = true;
            return Lookup::Stale { value: entry.value.clone(), refresh };
        }
        map.remove(key);
        Lookup::Miss
    }

    /// A fresh value, or nothing (tests).
    #[cfg(test)]
    pub fn get(&self, key: &str, clock: &dyn Clock) -> Option<Arc<Cached>> {
        match self.lookup(key, clock) {
            Lookup::Fresh(v) => Some(v),
            _ => None,
        }
    }

    /// Take before reading the database for a value to `put`.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Stores a value computed since `generation`, unless an invalidation came in between.
    pub fn put(&self, key: String, value: Cached, generation: u64, clock: &dyn Clock) {
        if !self.enabled() {
            return;
        }
        let now = clock.now_ms();
        let mut map = self.lock();
        if self.generation() != generation {
            // Computed from data an invalidation has since superseded.
            if let Some(entry) = map.get_mut(&key) {
                entry.refreshing = false;
            }
            return;
        }
        if map.len() >= self.max_entries {
            let window = self.ttl_ms.max(STALE_WINDOW_MS);
            map.retain(|_, e| now - e.stored_at < window);
            if map.len() >= self.max_entries {
                map.clear();
            }
        }
        map.insert(key, Entry { stored_at: now, value: Arc::new(value), refreshing: false });
    }

    /// The refresh a `Stale { refresh: true }` asked for failed: let another caller try.
    pub fn refresh_failed(&self, key: &str) {
        if let Some(entry) = self.lock().get_mut(key) {
            entry.refreshing = false;
        }
    }

    /// Drops every entry of a vendor (after a change to what its widget shows).
    pub fn forget_vendor(&self, vendor_id: &str) {
        if self.enabled() {
            let mut map = self.lock();
            self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            map.retain(|_, e| e.value.vendor_id != vendor_id);
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Vendor levels for the public summary, cached briefly (they change slowly and cost
/// several queries). `reviews::vendor_level` fills it; writes that change a level forget it.
#[derive(Default)]
pub struct VendorLevelCache {
    entries: Mutex<HashMap<String, (i64, u8)>>,
}

impl VendorLevelCache {
    pub const TTL_MS: i64 = 5 * 60_000;

    pub fn get(&self, vendor_id: &str, now_ms: i64) -> Option<u8> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(vendor_id).filter(|(at, _)| now_ms - at < Self::TTL_MS).map(|(_, level)| *level)
    }

    pub fn put(&self, vendor_id: &str, level: u8, now_ms: i64) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).insert(vendor_id.to_owned(), (now_ms, level));
    }

    pub fn forget(&self, vendor_id: &str) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(vendor_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn entry(vendor: &str) -> Cached {
        Cached {
            vendor_id: vendor.into(),
            origins: Arc::new(vec![]),
            body: Bytes::from_static(b"{}"),
            etag: "\"e\"".into(),
        }
    }

    #[test]
    fn entries_expire_on_the_clock_and_are_dropped_per_vendor() {
        let clock = ManualClock::new(chrono::Utc::now());
        let cache = PublicCache::new(5, 100);
        cache.put("/a".into(), entry("v1"), cache.generation(), &clock);
        cache.put("/b".into(), entry("v2"), cache.generation(), &clock);
        assert!(cache.get("/a", &clock).is_some());
        cache.forget_vendor("v1");
        assert!(cache.get("/a", &clock).is_none());
        assert!(cache.get("/b", &clock).is_some());
        clock.advance(chrono::Duration::seconds(5));
        assert!(cache.get("/b", &clock).is_none(), "no longer fresh");
    }

    #[test]
    fn stale_entries_are_served_while_exactly_one_caller_refreshes() {
        let clock = ManualClock::new(chrono::Utc::now());
        let cache = PublicCache::new(5, 100);
        cache.put("/a".into(), entry("v1"), cache.generation(), &clock);
        clock.advance(chrono::Duration::seconds(6));
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Stale { refresh: true, .. }));
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Stale { refresh: false, .. }));
        cache.refresh_failed("/a");
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Stale { refresh: true, .. }));
        cache.put("/a".into(), entry("v1"), cache.generation(), &clock);
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Fresh(_)));
        clock.advance(chrono::Duration::seconds(61));
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Miss), "past the stale window");
    }

    #[test]
    fn a_value_computed_before_an_invalidation_is_not_stored() {
        let clock = ManualClock::new(chrono::Utc::now());
        let cache = PublicCache::new(5, 100);
        let before_write = cache.generation();
        cache.forget_vendor("v1");
        cache.put("/a".into(), entry("v1"), before_write, &clock);
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Miss));
    }

    #[test]
    fn size_is_bounded_and_ttl_zero_disables() {
        let clock = ManualClock::new(chrono::Utc::now());
        let cache = PublicCache::new(5, 2);
        for k in ["/1", "/2", "/3"] {
            cache.put(k.into(), entry("v"), cache.generation(), &clock);
        }
        assert!(cache.len() <= 2);
        let off = PublicCache::new(0, 10);
        off.put("/x".into(), entry("v"), off.generation(), &clock);
        assert!(off.get("/x", &clock).is_none());
    }
}
