//! Per-node caches owned by `Core`.
//!
//! `PublicCache`: in-process cache of public widget reads (summary, review list): body + ETag
//! per *parsed* widget query (the caller builds the key from validated input, so unknown
//! query parameters or spelling variants share one entry), on the injected clock. An entry
//! is fresh for the TTL; after that, for up to `STALE_WINDOW_MS` (the `Cache-Control:
//! max-age` a CDN honours anyway), it is still served while exactly one request's worth of
//! work refreshes it in the background (stale-while-revalidate), so no reader waits for the
//! database. A node drops a vendor's entries whenever it changes what that vendor's widget
//! shows, so its own writes show at once; other nodes' writes show within the TTL under
//! traffic.
//!
//! An expired entry is first *revalidated*: the vendor's `widget_version` (moved by the
//! database's triggers with every change to what a widget shows, on any node or worker)
//! is read for the entry's publishable key, one point query per key however many entries
//! expire together, and an entry read at that same version is fresh again without
//! computing it (`confirm`; a check less than a `JITTER_SHARE`th of the TTL old confirms
//! the key's other expired entries inline in `lookup`). Past the stale window an entry is
//! kept, but served only once a check on the request confirms it (`Lookup::Unconfirmed`),
//! so a read after a quiet spell costs a point query, not the read. Only a changed version,
//! or a read older than `RECOMPUTE_AFTER_MS` (what no version covers: the vendor's level,
//! a key's expiry), computes the read again.
//!
//! Memory is bounded by bytes (body, ETag, key, origins and a fixed per-entry overhead),
//! not entries, with least-recently-used eviction; one vendor may hold at most
//! `1 / VENDOR_SHARE` of the bytes, so a flood of distinct queries against one vendor evicts
//! only that vendor's own entries. Invalidation is per vendor: a write for one vendor
//! neither drops nor refuses another vendor's entries, and costs O(that vendor's entries).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use lru::LruCache;

use crate::clock::Clock;

#[derive(Debug, Clone)]
pub struct Cached {
    pub vendor_id: String,
    /// The publishable key the read was made with: its checks revalidate the entry.
    pub pk: Arc<str>,
    /// The vendor's `widget_version` when the read was made (read before the data).
    pub version: i64,
    pub origins: Arc<Vec<String>>,
    pub body: Bytes,
    /// The strong ETag, quoted: shared bytes, so a response's header copies nothing.
    pub etag: Bytes,
}

/// How long an expired entry may still be served while it is being refreshed.
pub const STALE_WINDOW_MS: i64 = 60_000;

/// An entry is fresh for the TTL less up to `1 / JITTER_SHARE` of it, so entries stored
/// together (a cold pass over many products) do not all expire in the same instant and
/// ask for their refreshes in one burst. Never more than the TTL: how soon another node's
/// write shows is unchanged.
pub const JITTER_SHARE: i64 = 4;

/// Background refreshes running at once on a node; the others wait their turn (their
/// stale value is served meanwhile), so a burst of expiries cannot take the database pool
/// and the cores away from the reads being served.
pub const REFRESH_CONCURRENCY: usize = 2;

/// A vendor may hold at most this fraction (1/n) of the cache's bytes. A quarter of the
/// default 64 MiB holds the first pages of 1,000 products at the P1 benchmark's 13 KB a
/// page (20 reviews); at an eighth, reads rotating over such a catalogue evicted each
/// other before their next turn and every read went to the database.
pub const VENDOR_SHARE: usize = 4;

/// A read is computed again at its first expiry after this long even when its vendor's
/// widget version has not moved: the version does not cover the vendor's level (cached for
/// as long by `VendorLevelCache`) or a key's expiry on the clock. Less a jitter of up to
/// half, so reads computed together do not come due together.
pub const RECOMPUTE_AFTER_MS: i64 = 5 * 60_000;

/// Version checks remembered (one per publishable key) before the old ones are dropped.
const MAX_CHECKS: usize = 4096;

/// Bytes charged per entry on top of its strings: the entry, its `Arc`s, the two LRU
/// nodes and the hash-table slots.
pub const ENTRY_OVERHEAD: usize = 256;

/// Vendors with no entries whose invalidation stamp is still remembered; past this many,
/// the oldest stamps are folded into one floor (puts computed before it are refused).
const MAX_IDLE_VENDORS: usize = 65_536;

struct Entry {
    /// When the value was computed.
    stored_at: i64,
    /// When the value was last known current: computed, or confirmed by a version check.
    validated_at: i64,
    /// How long after `validated_at` this entry is fresh: the TTL less a per-entry jitter
    /// (see `fresh_for`).
    fresh_for: i64,
    /// How long after `stored_at` it is computed again whatever the version says.
    recompute_after: i64,
    value: Arc<Cached>,
    refreshing: bool,
    size: usize,
}

/// One vendor's share: its entries (in its own LRU order), their bytes, and the epoch of
/// its last invalidation.
struct VendorEntries {
    invalidated_at: u64,
    bytes: usize,
    keys: LruCache<String, ()>,
}

impl VendorEntries {
    fn new(invalidated_at: u64) -> VendorEntries {
        VendorEntries { invalidated_at, bytes: 0, keys: LruCache::unbounded() }
    }
}

struct Inner {
    /// All entries, in global LRU order.
    entries: LruCache<String, Entry>,
    vendors: HashMap<String, VendorEntries>,
    bytes: usize,
    /// Bumped by every invalidation; callers snapshot it before reading the database.
    epoch: u64,
    /// Puts computed before this epoch are refused (stamps of forgotten idle vendors).
    floor: u64,
    /// The latest version check of each publishable key.
    checks: HashMap<Arc<str>, VersionCheck>,
}

/// What a version check of a publishable key found: the vendor it names and that vendor's
/// `widget_version`, as of `at` (taken before the query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionCheck {
    pub vendor_id: String,
    pub version: i64,
    pub at: i64,
}

impl VersionCheck {
    /// Whether this check shows `value` (read at `validated_at`) still current.
    fn confirms(&self, value: &Cached, validated_at: i64) -> bool {
        self.at > validated_at && self.version == value.version && self.vendor_id == value.vendor_id
    }
}

/// How a node's expired entries were refreshed, counted since start (`/metrics`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RefreshCounts {
    /// Confirmed by a version check, not computed again.
    pub unchanged: u64,
    /// Computed again (the version moved, or the read was too old to confirm).
    pub recomputed: u64,
}

impl Inner {
    /// Removes one entry from both indexes and the byte counts.
    fn remove(&mut self, key: &str) -> Option<Entry> {
        let entry = self.entries.pop(key)?;
        self.bytes -= entry.size;
        if let Some(v) = self.vendors.get_mut(&entry.value.vendor_id) {
            v.keys.pop(key);
            v.bytes -= entry.size;
        }
        Some(entry)
    }

    /// Whether a value for `vendor_id` computed at epoch `snapshot` is still current.
    fn current(&self, vendor_id: &str, snapshot: u64) -> bool {
        snapshot >= self.floor && self.vendors.get(vendor_id).is_none_or(|v| snapshot >= v.invalidated_at)
    }

    /// Forgets the stamps of vendors without entries once there are too many of them.
    fn trim_idle_vendors(&mut self) {
        if self.vendors.len() <= self.entries.len() + MAX_IDLE_VENDORS {
            return;
        }
        let mut floor = self.floor;
        self.vendors.retain(|_, v| {
            let keep = !v.keys.is_empty();
            if !keep {
                floor = floor.max(v.invalidated_at);
            }
            keep
        });
        self.floor = floor;
    }
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
    /// Past the stale window but not yet due to be computed again: servable only once a
    /// version check confirms it (`confirm`), which costs the caller one point query
    /// instead of the read.
    Unconfirmed(Arc<Cached>),
    Miss,
}

pub struct PublicCache {
    ttl_ms: i64,
    max_bytes: usize,
    inner: Mutex<Inner>,
    refreshes: tokio::sync::Semaphore,
    unchanged: AtomicU64,
    recomputed: AtomicU64,
}

impl PublicCache {
    /// A cache whose entries are fresh for `ttl_secs` (0 = off) and that holds at most
    /// `max_bytes`.
    pub fn new(ttl_secs: u64, max_bytes: usize) -> PublicCache {
        PublicCache {
            ttl_ms: i64::try_from(ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
            max_bytes,
            inner: Mutex::new(Inner {
                entries: LruCache::unbounded(),
                vendors: HashMap::new(),
                bytes: 0,
                epoch: 0,
                floor: 0,
                checks: HashMap::new(),
            }),
            refreshes: tokio::sync::Semaphore::new(REFRESH_CONCURRENCY),
            unchanged: AtomicU64::new(0),
            recomputed: AtomicU64::new(0),
        }
    }

    /// Waits for a turn to run a background refresh (see `REFRESH_CONCURRENCY`).
    pub async fn refresh_turn(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.refreshes.acquire().await.ok()
    }

    /// How long an entry stored under `key` at `now` stays fresh: the TTL less a jitter of
    /// up to a `JITTER_SHARE`th of it, spread by a hash of the key and the time (so it is
    /// reproducible on the injected clock).
    fn fresh_for(&self, key: &str, now: i64) -> i64 {
        self.ttl_ms - jitter(key, now, self.ttl_ms / JITTER_SHARE)
    }

    /// How long after `now` a value stored under `key` is computed again whatever its
    /// version (see `RECOMPUTE_AFTER_MS`).
    fn recompute_after(key: &str, now: i64) -> i64 {
        RECOMPUTE_AFTER_MS - jitter(key, now ^ 1, RECOMPUTE_AFTER_MS / 2)
    }

    /// How long a version check confirms a key's other expired entries without a query of
    /// their own: a `JITTER_SHARE`th of the TTL, so a confirmed entry is fresh again for
    /// at least half the TTL and another node's write still shows within the TTL.
    fn check_reuse_ms(&self) -> i64 {
        self.ttl_ms / JITTER_SHARE
    }

    /// The latest version check of `pk`, when recent enough to confirm entries with
    /// (`check_reuse_ms`): a refresh then needs no query of its own.
    pub fn recent_check(&self, pk: &str, clock: &dyn Clock) -> Option<VersionCheck> {
        let now = clock.now_ms();
        self.lock().checks.get(pk).filter(|c| now - c.at < self.check_reuse_ms()).cloned()
    }

    /// Remembers a version check of `pk`; expired entries it confirms are then fresh again
    /// as they are looked up.
    pub fn record_check(&self, pk: &str, check: VersionCheck, clock: &dyn Clock) {
        if !self.enabled() {
            return;
        }
        let now = clock.now_ms();
        let reuse = self.check_reuse_ms();
        let mut inner = self.lock();
        if inner.checks.len() >= MAX_CHECKS {
            inner.checks.retain(|_, c| now - c.at < reuse);
        }
        inner.checks.insert(pk.into(), check);
    }

    /// Makes the entry under `key` fresh again from `check` if the check shows it current
    /// and it is not due to be computed again; false when it must be computed.
    pub fn confirm(&self, key: &str, check: &VersionCheck) -> bool {
        let mut inner = self.lock();
        let Some(entry) = inner.entries.peek_mut(key) else { return false };
        let young = check.at - entry.stored_at < entry.recompute_after;
        if !(young && check.confirms(&entry.value, entry.validated_at)) {
            return false;
        }
        self.restamp(key, entry, check.at);
        true
    }

    /// Makes `entry` fresh again as of `at`, when a version check confirmed it.
    fn restamp(&self, key: &str, entry: &mut Entry, at: i64) {
        entry.validated_at = at;
        entry.fresh_for = self.fresh_for(key, at);
        entry.refreshing = false;
        self.unchanged.fetch_add(1, Ordering::Relaxed);
    }

    /// An expired entry was computed again (see `RefreshCounts`).
    pub fn note_recomputed(&self) {
        self.recomputed.fetch_add(1, Ordering::Relaxed);
    }

    /// How expired entries were refreshed since start.
    pub fn refresh_counts(&self) -> RefreshCounts {
        RefreshCounts {
            unchanged: self.unchanged.load(Ordering::Relaxed),
            recomputed: self.recomputed.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn enabled(&self) -> bool {
        self.ttl_ms > 0 && self.max_bytes > 0
    }

    /// The most one vendor's entries may occupy.
    pub fn vendor_max_bytes(&self) -> usize {
        self.max_bytes / VENDOR_SHARE
    }

    /// The bytes an entry is charged: what it holds plus a fixed overhead. The key is
    /// counted twice (the global and the vendor's index each hold a copy).
    pub fn entry_size(key: &str, value: &Cached) -> usize {
        let origins: usize = value.origins.iter().map(|o| o.len() + 24).sum();
        2 * key.len()
            + value.body.len()
            + value.etag.len()
            + value.vendor_id.len()
            + value.pk.len()
            + origins
            + ENTRY_OVERHEAD
    }

    pub fn lookup(&self, key: &str, clock: &dyn Clock) -> Lookup {
        if !self.enabled() {
            return Lookup::Miss;
        }
        let now = clock.now_ms();
        let reuse = self.check_reuse_ms();
        let mut inner = self.lock();
        let Inner { entries, checks, .. } = &mut *inner;
        let Some(entry) = entries.get_mut(key) else { return Lookup::Miss };
        let mut age = now - entry.validated_at;
        if age >= entry.fresh_for && now - entry.stored_at < entry.recompute_after {
            // A recent check of its key that found the version it was read at confirms it.
            if let Some(check) = checks
                .get(&entry.value.pk)
                .filter(|c| now - c.at < reuse && c.confirms(&entry.value, entry.validated_at))
            {
                self.restamp(key, entry, check.at);
                age = now - check.at;
            }
        }
        let found = if age < entry.fresh_for {
            Lookup::Fresh(entry.value.clone())
        } else if age < self.ttl_ms.max(STALE_WINDOW_MS) {
            let refresh = !entry.refreshing;
            entry.refreshing = true;
            Lookup::Stale { value: entry.value.clone(), refresh }
        } else if now - entry.stored_at < entry.recompute_after {
            Lookup::Unconfirmed(entry.value.clone())
        } else {
            inner.remove(key);
            return Lookup::Miss;
        };
        let value = match &found {
            Lookup::Fresh(v) | Lookup::Stale { value: v, .. } | Lookup::Unconfirmed(v) => v.clone(),
            Lookup::Miss => return found,
        };
        if let Some(v) = inner.vendors.get_mut(&value.vendor_id) {
            v.keys.promote(key);
        }
        found
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
        self.lock().epoch
    }

    /// Stores a value computed since `generation`, unless its vendor was invalidated in
    /// between. Evicts the vendor's own least recently used entries past its share, then the
    /// least recently used entries overall past the byte bound.
    pub fn put(&self, key: String, value: Cached, generation: u64, clock: &dyn Clock) {
        if !self.enabled() {
            return;
        }
        let now = clock.now_ms();
        let size = Self::entry_size(&key, &value);
        let vendor_max = self.vendor_max_bytes();
        let mut inner = self.lock();
        let stale_or_too_big = !inner.current(&value.vendor_id, generation) || size > vendor_max;
        if stale_or_too_big {
            // Computed from data an invalidation has since superseded (or never storable).
            if let Some(entry) = inner.entries.peek_mut(&key) {
                entry.refreshing = false;
            }
            return;
        }
        inner.remove(&key);
        // The vendor's own share first: a flood of one vendor's queries evicts only its own.
        loop {
            let over = inner.vendors.get(&value.vendor_id).is_some_and(|v| v.bytes + size > vendor_max);
            let victim = if over {
                inner.vendors.get_mut(&value.vendor_id).and_then(|v| v.keys.peek_lru().map(|(k, ())| k.clone()))
            } else {
                None
            };
            match victim {
                Some(k) => {
                    inner.remove(&k);
                }
                None => break,
            }
        }
        while inner.bytes + size > self.max_bytes {
            let Some(k) = inner.entries.peek_lru().map(|(k, _)| k.clone()) else { break };
            inner.remove(&k);
        }
        // A vendor without a record was not invalidated since `floor` (checked above).
        let vendor = inner.vendors.entry(value.vendor_id.clone()).or_insert_with(|| VendorEntries::new(0));
        vendor.keys.put(key.clone(), ());
        vendor.bytes += size;
        inner.bytes += size;
        let (fresh_for, recompute_after) = (self.fresh_for(&key, now), Self::recompute_after(&key, now));
        let entry = Entry {
            stored_at: now,
            validated_at: now,
            fresh_for,
            recompute_after,
            value: Arc::new(value),
            refreshing: false,
            size,
        };
        inner.entries.put(key, entry);
    }

    /// The refresh a `Stale { refresh: true }` asked for failed: let another caller try.
    pub fn refresh_failed(&self, key: &str) {
        if let Some(entry) = self.lock().entries.peek_mut(key) {
            entry.refreshing = false;
        }
    }

    /// Drops every entry of a vendor (after a change to what its widget shows), and refuses
    /// that vendor's values computed before now. Other vendors are untouched.
    pub fn forget_vendor(&self, vendor_id: &str) {
        if !self.enabled() {
            return;
        }
        let mut inner = self.lock();
        inner.epoch += 1;
        let epoch = inner.epoch;
        let keys: Vec<String> = match inner.vendors.get_mut(vendor_id) {
            Some(v) => {
                v.invalidated_at = epoch;
                let keys = std::mem::replace(&mut v.keys, LruCache::unbounded());
                v.bytes = 0;
                keys.into_iter().map(|(k, ())| k).collect()
            }
            None => {
                inner.vendors.insert(vendor_id.to_owned(), VendorEntries::new(epoch));
                Vec::new()
            }
        };
        for key in keys {
            if let Some(entry) = inner.entries.pop(&key) {
                inner.bytes -= entry.size;
            }
        }
        inner.trim_idle_vendors();
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes currently charged to entries.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Bytes currently charged to one vendor's entries.
    pub fn vendor_bytes(&self, vendor_id: &str) -> usize {
        self.lock().vendors.get(vendor_id).map_or(0, |v| v.bytes)
    }

    /// Entries currently held for one vendor.
    pub fn vendor_len(&self, vendor_id: &str) -> usize {
        self.lock().vendors.get(vendor_id).map_or(0, |v| v.keys.len())
    }

    /// Whether an entry (fresh or stale) is held under `key`; does not touch its recency.
    pub fn contains(&self, key: &str) -> bool {
        self.lock().entries.contains(key)
    }
}

/// Up to `spread` (exclusive) from a hash of the key and the time: reproducible on the
/// injected clock, different for entries stored together.
fn jitter(key: &str, now: i64, spread: i64) -> i64 {
    use std::hash::{Hash, Hasher};
    if spread <= 0 {
        return 0;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (key, now).hash(&mut h);
    (h.finish() % spread.unsigned_abs()) as i64
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
        sized(vendor, 2)
    }

    fn sized(vendor: &str, body: usize) -> Cached {
        Cached {
            vendor_id: vendor.into(),
            pk: Arc::from(format!("pk_{vendor}")),
            version: 7,
            origins: Arc::new(vec![]),
            body: Bytes::from(vec![b'x'; body]),
            etag: "\"e\"".into(),
        }
    }

    fn clock() -> ManualClock {
        ManualClock::new(chrono::Utc::now())
    }

    #[test]
    fn entries_expire_on_the_clock_and_are_dropped_per_vendor() {
        let clock = clock();
        let cache = PublicCache::new(5, 1 << 20);
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
        let clock = clock();
        let cache = PublicCache::new(5, 1 << 20);
        cache.put("/a".into(), entry("v1"), cache.generation(), &clock);
        clock.advance(chrono::Duration::seconds(6));
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Stale { refresh: true, .. }));
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Stale { refresh: false, .. }));
        cache.refresh_failed("/a");
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Stale { refresh: true, .. }));
        cache.put("/a".into(), entry("v1"), cache.generation(), &clock);
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Fresh(_)));
        clock.advance(chrono::Duration::seconds(61));
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Unconfirmed(_)), "past the stale window");
        assert!(cache.confirm("/a", &check("v1", 7, &clock)), "servable once a check confirms it");
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Fresh(_)));
        clock.advance(chrono::Duration::milliseconds(RECOMPUTE_AFTER_MS));
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Miss), "past the stale window and due");
        assert_eq!((cache.len(), cache.bytes(), cache.vendor_bytes("v1")), (0, 0, 0), "and dropped");
    }

    #[test]
    fn a_value_computed_before_an_invalidation_is_not_stored() {
        let clock = clock();
        let cache = PublicCache::new(5, 1 << 20);
        let before_write = cache.generation();
        cache.forget_vendor("v1");
        cache.put("/a".into(), entry("v1"), before_write, &clock);
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Miss));
    }

    /// M7: one vendor's invalidation neither drops nor refuses another vendor's values.
    #[test]
    fn generations_are_per_vendor() {
        let clock = clock();
        let cache = PublicCache::new(5, 1 << 20);
        let before = cache.generation();
        for _ in 0..100 {
            cache.forget_vendor("noisy");
        }
        cache.put("/quiet".into(), entry("quiet"), before, &clock);
        assert!(cache.contains("/quiet"), "another vendor's writes do not refuse this put");
        cache.put("/noisy".into(), entry("noisy"), before, &clock);
        assert!(!cache.contains("/noisy"), "the vendor's own write does");
        cache.put("/noisy".into(), entry("noisy"), cache.generation(), &clock);
        assert!(cache.contains("/noisy"));
    }

    /// H2: the bound is in bytes (body included), not entries.
    #[test]
    fn size_is_bounded_in_bytes() {
        let clock = clock();
        let cache = PublicCache::new(5, 64 * 1024);
        for i in 0..100 {
            // Spread over vendors so the per-vendor share is not what bounds it.
            cache.put(format!("/{i:02}"), sized(&format!("v{i:02}"), 3000), cache.generation(), &clock);
            assert!(cache.bytes() <= 64 * 1024, "{} bytes after {i}", cache.bytes());
        }
        let one = PublicCache::entry_size("/99", &sized("v99", 3000));
        assert_eq!(cache.bytes(), cache.len() * one);
        assert_eq!(cache.len(), 64 * 1024 / one, "evicts only what it must");
        assert!(cache.contains("/99") && !cache.contains("/00"));
        // A value bigger than a vendor's share is not stored at all.
        cache.put("/huge".into(), sized("big", 64 * 1024 / VENDOR_SHARE + 1), cache.generation(), &clock);
        assert!(!cache.contains("/huge"));
        assert!(cache.bytes() <= 64 * 1024);
    }

    #[test]
    fn eviction_is_least_recently_used() {
        let clock = clock();
        let one = PublicCache::entry_size("/k00", &sized("v00", 1000));
        let cache = PublicCache::new(5, 3 * one * VENDOR_SHARE);
        let n = 3 * VENDOR_SHARE;
        for i in 0..n {
            cache.put(format!("/k{i:02}"), sized(&format!("v{i:02}"), 1000), cache.generation(), &clock);
        }
        assert_eq!(cache.len(), n);
        // Reading /k00 makes it the most recent: the next put evicts /k01 instead.
        assert!(cache.get("/k00", &clock).is_some());
        cache.put("/new".into(), sized("vnw", 1000), cache.generation(), &clock);
        assert!(cache.contains("/k00"), "recently read");
        assert!(!cache.contains("/k01"), "least recently used");
        assert!(cache.contains("/k02") && cache.contains("/new"));
        assert_eq!(cache.len(), n);
    }

    /// H2: a flood of distinct keys for one vendor evicts that vendor's own entries only.
    #[test]
    fn one_vendor_holds_at_most_its_share() {
        let clock = clock();
        let cache = PublicCache::new(5, 256 * 1024);
        cache.put("/victim".into(), sized("victim", 1000), cache.generation(), &clock);
        for i in 0..10_000 {
            cache.put(format!("/flood?{i}"), sized("attacker", 1000), cache.generation(), &clock);
        }
        assert!(cache.vendor_bytes("attacker") <= cache.vendor_max_bytes());
        assert!(cache.vendor_len("attacker") >= 20, "{}", cache.vendor_len("attacker"));
        assert!(cache.contains("/victim"), "another vendor's entry survives the flood");
        assert!(cache.contains("/flood?9999") && !cache.contains("/flood?0"));
        assert_eq!(cache.bytes(), cache.vendor_bytes("attacker") + cache.vendor_bytes("victim"));
    }

    #[test]
    fn forgetting_a_vendor_releases_its_bytes_and_keeps_the_others() {
        let clock = clock();
        let cache = PublicCache::new(5, 1 << 20);
        for i in 0..10 {
            cache.put(format!("/a{i}"), sized("a", 100), cache.generation(), &clock);
            cache.put(format!("/b{i}"), sized("b", 100), cache.generation(), &clock);
        }
        let b_bytes = cache.vendor_bytes("b");
        cache.forget_vendor("a");
        assert_eq!((cache.len(), cache.bytes(), cache.vendor_len("a")), (10, b_bytes, 0));
        // Replacing an entry re-counts it instead of adding to it.
        cache.put("/b0".into(), sized("b", 100), cache.generation(), &clock);
        assert_eq!(cache.bytes(), b_bytes);
    }

    /// Entries stored together expire spread over the last quarter of the TTL, never later.
    #[test]
    fn freshness_is_jittered_within_the_ttl() {
        let clock = clock();
        let cache = PublicCache::new(4, 1 << 24);
        let keys: Vec<String> = (0..200).map(|i| format!("/k{i}")).collect();
        for k in &keys {
            cache.put(k.clone(), entry(&format!("v{}", k.len())), cache.generation(), &clock);
        }
        clock.advance(chrono::Duration::milliseconds(2999));
        assert!(keys.iter().all(|k| cache.get(k, &clock).is_some()), "all fresh before 3/4 of the TTL");
        clock.advance(chrono::Duration::milliseconds(500));
        let fresh = keys.iter().filter(|k| cache.get(k, &clock).is_some()).count();
        assert!((20..180).contains(&fresh), "{fresh} of 200 still fresh halfway through the jitter");
        clock.advance(chrono::Duration::milliseconds(501));
        assert!(keys.iter().all(|k| cache.get(k, &clock).is_none()), "none fresh at the TTL");
    }

    fn check(vendor: &str, version: i64, clock: &ManualClock) -> VersionCheck {
        VersionCheck { vendor_id: vendor.into(), version, at: clock.now_ms() }
    }

    /// An expired entry whose vendor's version has not moved is fresh again from one check,
    /// without being computed; so are the same key's other expired entries, from the same
    /// check, in their lookup.
    #[test]
    fn an_unchanged_version_confirms_expired_entries_without_computing_them() {
        let clock = clock();
        let cache = PublicCache::new(4, 1 << 20);
        cache.put("/a".into(), entry("v1"), cache.generation(), &clock);
        cache.put("/b".into(), entry("v1"), cache.generation(), &clock);
        clock.advance(chrono::Duration::seconds(4));
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Stale { refresh: true, .. }));
        assert_eq!(cache.recent_check("pk_v1", &clock), None, "no check made yet");
        let found = check("v1", 7, &clock);
        cache.record_check("pk_v1", found.clone(), &clock);
        assert!(cache.confirm("/a", &found));
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Fresh(_)));
        assert!(matches!(cache.lookup("/b", &clock), Lookup::Fresh(_)), "confirmed by the same check");
        assert_eq!(cache.refresh_counts(), RefreshCounts { unchanged: 2, recomputed: 0 });
        // Fresh again for at least half the TTL from the check, then expired again.
        clock.advance(chrono::Duration::milliseconds(1999));
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Fresh(_)));
        clock.advance(chrono::Duration::milliseconds(2001));
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Stale { refresh: true, .. }), "the old check is spent");
    }

    #[test]
    fn a_moved_version_another_vendor_or_an_old_check_confirms_nothing() {
        let clock = clock();
        let cache = PublicCache::new(4, 1 << 20);
        let before = check("v1", 7, &clock);
        clock.advance(chrono::Duration::milliseconds(1));
        cache.put("/a".into(), entry("v1"), cache.generation(), &clock);
        clock.advance(chrono::Duration::seconds(4));
        assert!(!cache.confirm("/a", &before), "a check from before the read");
        assert!(!cache.confirm("/a", &check("v1", 8, &clock)), "the version moved");
        assert!(!cache.confirm("/a", &check("v2", 7, &clock)), "the key now names another vendor");
        assert!(!cache.confirm("/missing", &check("v1", 7, &clock)));
        cache.record_check("pk_v1", check("v1", 8, &clock), &clock);
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Stale { refresh: true, .. }));
        assert_eq!(cache.refresh_counts(), RefreshCounts::default());
        // A check older than a JITTER_SHARE-th of the TTL is not reused.
        cache.record_check("pk_v1", check("v1", 7, &clock), &clock);
        clock.advance(chrono::Duration::seconds(1));
        assert_eq!(cache.recent_check("pk_v1", &clock), None);
    }

    /// Past `RECOMPUTE_AFTER_MS` (less its jitter) a read is computed again even when its
    /// version has not moved.
    #[test]
    fn old_reads_are_computed_again_whatever_their_version() {
        let clock = clock();
        let cache = PublicCache::new(4, 1 << 20);
        cache.put("/a".into(), entry("v1"), cache.generation(), &clock);
        // Confirmed at every expiry until it comes due, between half of RECOMPUTE_AFTER_MS
        // and all of it after the read.
        let mut elapsed = 0;
        loop {
            clock.advance(chrono::Duration::seconds(4));
            elapsed += 4000;
            if !cache.confirm("/a", &check("v1", 7, &clock)) {
                break;
            }
            assert!(elapsed < RECOMPUTE_AFTER_MS, "still confirmed {elapsed} ms after the read");
        }
        assert!(elapsed > RECOMPUTE_AFTER_MS / 2, "due after {elapsed} ms");
        cache.record_check("pk_v1", check("v1", 7, &clock), &clock);
        assert!(matches!(cache.lookup("/a", &clock), Lookup::Stale { refresh: true, .. }), "not confirmed inline");
        cache.put("/a".into(), entry("v1"), cache.generation(), &clock);
        clock.advance(chrono::Duration::seconds(4));
        assert!(cache.confirm("/a", &check("v1", 7, &clock)), "a new read is confirmed again");
    }

    #[test]
    fn ttl_zero_disables() {
        let clock = clock();
        let off = PublicCache::new(0, 1 << 20);
        off.put("/x".into(), entry("v"), off.generation(), &clock);
        assert!(off.get("/x", &clock).is_none());
        assert!(off.is_empty());
    }
}
