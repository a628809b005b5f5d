//! In-process cache of public widget reads (summary, review list): body + ETag per exact
//! path and query, for a short TTL on the injected clock. A node drops a vendor's entries
//! whenever it changes what that vendor's widget shows; other nodes see the change within
//! the TTL (the same order as the `Cache-Control: max-age` a CDN honours anyway).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::web::Bytes;

use crate::clock::Clock;

#[derive(Debug, Clone)]
pub struct Cached {
    pub vendor_id: String,
    pub origins: Arc<Vec<String>>,
    pub body: Bytes,
    pub etag: String,
}

pub struct PublicCache {
    ttl_ms: i64,
    max_entries: usize,
    entries: Mutex<HashMap<String, (i64, Arc<Cached>)>>,
}

impl PublicCache {
    pub fn new(ttl_secs: u64, max_entries: usize) -> PublicCache {
        PublicCache {
            ttl_ms: i64::try_from(ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
            max_entries,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (i64, Arc<Cached>)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn enabled(&self) -> bool {
        self.ttl_ms > 0
    }

    pub fn get(&self, key: &str, clock: &dyn Clock) -> Option<Arc<Cached>> {
        if !self.enabled() {
            return None;
        }
        let now = clock.now_ms();
        let map = self.lock();
        map.get(key).filter(|(at, _)| now - at < self.ttl_ms).map(|(_, c)| c.clone())
    }

    pub fn put(&self, key: String, value: Cached, clock: &dyn Clock) {
        if !self.enabled() {
            return;
        }
        let now = clock.now_ms();
        let mut map = self.lock();
        if map.len() >= self.max_entries {
            map.retain(|_, (at, _)| now - *at < self.ttl_ms);
            if map.len() >= self.max_entries {
                map.clear();
            }
        }
        map.insert(key, (now, Arc::new(value)));
    }

    /// Drops every entry of a vendor (after a change to what its widget shows).
    pub fn forget_vendor(&self, vendor_id: &str) {
        if self.enabled() {
            self.lock().retain(|_, (_, c)| c.vendor_id != vendor_id);
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        cache.put("/a".into(), entry("v1"), &clock);
        cache.put("/b".into(), entry("v2"), &clock);
        assert!(cache.get("/a", &clock).is_some());
        cache.forget_vendor("v1");
        assert!(cache.get("/a", &clock).is_none());
        assert!(cache.get("/b", &clock).is_some());
        clock.advance(chrono::Duration::seconds(5));
        assert!(cache.get("/b", &clock).is_none());
    }

    #[test]
    fn size_is_bounded_and_ttl_zero_disables() {
        let clock = ManualClock::new(chrono::Utc::now());
        let cache = PublicCache::new(5, 2);
        for k in ["/1", "/2", "/3"] {
            cache.put(k.into(), entry("v"), &clock);
        }
        assert!(cache.len() <= 2);
        let off = PublicCache::new(0, 10);
        off.put("/x".into(), entry("v"), &clock);
        assert!(off.get("/x", &clock).is_none());
    }
}
