//! The in-process store: fine for one replica, lost on restart.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{Begin, IdempotencyStore, StoreError, StoredResponse};
use crate::BoxFuture;

/// The default number of records a [`MemoryStore`] keeps.
pub const DEFAULT_MAX_ENTRIES: usize = 100_000;

/// Stores of at least this many records are split into [`SHARDS`] independently locked
/// shards, so that concurrent requests on a multi-threaded server rarely wait on one lock.
const SHARDED_FROM: usize = 1024;
const SHARDS: usize = 16;

/// An in-memory [`IdempotencyStore`]: mutex-guarded maps whose expired records are evicted
/// lazily, bounded in size (the oldest record goes first when it is full). Big stores are
/// sharded by key; "oldest" is then per shard, each holding an even part of the bound.
#[derive(Debug)]
pub struct MemoryStore {
    shards: Box<[Mutex<Inner>]>,
    hasher: std::collections::hash_map::RandomState,
    max_entries_per_shard: usize,
}

#[derive(Debug, Default)]
struct Inner {
    /// Keys are shared with `by_age` rather than copied.
    entries: HashMap<Arc<str>, Entry>,
    /// Insertion order: sequence number → key (oldest first).
    by_age: BTreeMap<u64, Arc<str>>,
    /// Expiry order: (deadline, sequence number).
    by_expiry: BTreeSet<(Instant, u64)>,
    next_seq: u64,
}

#[derive(Debug)]
struct Entry {
    seq: u64,
    expires: Instant,
    fingerprint: String,
    response: Option<StoredResponse>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// A store of at most [`DEFAULT_MAX_ENTRIES`] records.
    pub fn new() -> Self {
        Self::with_max_entries(DEFAULT_MAX_ENTRIES)
    }

    /// A store of at most `max_entries` records (at least 1).
    pub fn with_max_entries(max_entries: usize) -> Self {
        let max_entries = max_entries.max(1);
        let shards = if max_entries >= SHARDED_FROM {
            SHARDS
        } else {
            1
        };
        Self {
            shards: (0..shards).map(|_| Mutex::default()).collect(),
            hasher: std::collections::hash_map::RandomState::new(),
            max_entries_per_shard: max_entries.div_ceil(shards),
        }
    }

    /// The number of records held (expired ones may still count until evicted).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).entries.len()).sum()
    }

    /// `true` when no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The locked shard that holds `key`.
    fn lock(&self, key: &str) -> std::sync::MutexGuard<'_, Inner> {
        let shard = if self.shards.len() == 1 {
            0
        } else {
            (self.hasher.hash_one(key) % self.shards.len() as u64) as usize
        };
        lock(&self.shards[shard])
    }

    fn begin_now(&self, key: &str, fingerprint: &str, ttl: Duration, now: Instant) -> Begin {
        let mut inner = self.lock(key);
        inner.purge_expired(now);
        if let Some(e) = inner.entries.get(key) {
            return match &e.response {
                None => Begin::InFlight,
                Some(r) => Begin::Completed {
                    fingerprint: e.fingerprint.clone(),
                    response: r.clone(),
                },
            };
        }
        while inner.entries.len() >= self.max_entries_per_shard {
            if !inner.evict_oldest() {
                break;
            }
        }
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let expires = now + ttl;
        let key: Arc<str> = Arc::from(key);
        inner.by_age.insert(seq, key.clone());
        inner.by_expiry.insert((expires, seq));
        inner.entries.insert(
            key,
            Entry {
                seq,
                expires,
                fingerprint: fingerprint.to_owned(),
                response: None,
            },
        );
        Begin::Started
    }

    fn complete_now(
        &self,
        key: &str,
        fingerprint: &str,
        response: StoredResponse,
        ttl: Duration,
        now: Instant,
    ) {
        let mut inner = self.lock(key);
        let Inner {
            entries, by_expiry, ..
        } = &mut *inner;
        if let Some(e) = entries.get_mut(key) {
            by_expiry.remove(&(e.expires, e.seq));
            e.expires = now + ttl;
            by_expiry.insert((e.expires, e.seq));
            if e.fingerprint != fingerprint {
                e.fingerprint = fingerprint.to_owned();
            }
            e.response = Some(response);
        }
        // A claim that expired meanwhile is not resurrected: another request may own the key.
    }

    fn release_now(&self, key: &str) {
        let mut inner = self.lock(key);
        if inner.entries.get(key).is_some_and(|e| e.response.is_none()) {
            inner.remove(key);
        }
    }
}

/// A poisoned lock (a panic elsewhere while holding it) is still usable: the critical sections
/// cannot leave the maps inconsistent mid-way.
fn lock(shard: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Inner {
    fn remove(&mut self, key: &str) {
        if let Some(e) = self.entries.remove(key) {
            self.by_age.remove(&e.seq);
            self.by_expiry.remove(&(e.expires, e.seq));
        }
    }

    fn purge_expired(&mut self, now: Instant) {
        while let Some(&(expires, seq)) = self.by_expiry.first() {
            if expires > now {
                break;
            }
            self.by_expiry.pop_first();
            if let Some(key) = self.by_age.remove(&seq) {
                self.entries.remove(&key);
            }
        }
    }

    fn evict_oldest(&mut self) -> bool {
        let Some((_, key)) = self.by_age.pop_first() else {
            return false;
        };
        if let Some(e) = self.entries.remove(&key) {
            self.by_expiry.remove(&(e.expires, e.seq));
        }
        true
    }
}

impl IdempotencyStore for MemoryStore {
    fn begin(
        &self,
        key: &str,
        fingerprint: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Begin, StoreError>> {
        let r = self.begin_now(key, fingerprint, ttl, Instant::now());
        Box::pin(std::future::ready(Ok(r)))
    }

    fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: StoredResponse,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        self.complete_now(key, fingerprint, response, ttl, Instant::now());
        Box::pin(std::future::ready(Ok(())))
    }

    fn release(&self, key: &str) -> BoxFuture<'_, Result<(), StoreError>> {
        self.release_now(key);
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(body: &str) -> StoredResponse {
        StoredResponse {
            status: 200,
            headers: vec![],
            body: body.as_bytes().to_vec(),
        }
    }

    const TTL: Duration = Duration::from_secs(10);

    #[test]
    fn lifecycle() {
        let s = MemoryStore::new();
        let t = Instant::now();
        assert_eq!(s.begin_now("k", "f", TTL, t), Begin::Started);
        assert_eq!(s.begin_now("k", "f", TTL, t), Begin::InFlight);
        s.complete_now("k", "f", resp("x"), TTL, t);
        assert_eq!(
            s.begin_now("k", "g", TTL, t),
            Begin::Completed {
                fingerprint: "f".into(),
                response: resp("x")
            }
        );
        // A completed record is not released.
        s.release_now("k");
        assert!(matches!(
            s.begin_now("k", "f", TTL, t),
            Begin::Completed { .. }
        ));
        assert_eq!(s.begin_now("j", "f", TTL, t), Begin::Started);
        s.release_now("j");
        assert_eq!(s.begin_now("j", "f", TTL, t), Begin::Started);
    }

    #[test]
    fn expiry() {
        let s = MemoryStore::new();
        let t = Instant::now();
        assert_eq!(s.begin_now("k", "f", TTL, t), Begin::Started);
        let later = t + TTL + Duration::from_millis(1);
        assert_eq!(s.begin_now("k", "f", TTL, later), Begin::Started);
        assert_eq!(s.len(), 1);
        // A completion extends the record to the completed TTL.
        s.complete_now("k", "f", resp("x"), TTL * 3, later);
        assert!(matches!(
            s.begin_now("k", "f", TTL, later + TTL * 2),
            Begin::Completed { .. }
        ));
        assert_eq!(s.begin_now("k", "f", TTL, later + TTL * 4), Begin::Started);
    }

    #[test]
    fn bounded_oldest_first() {
        let s = MemoryStore::with_max_entries(3);
        let t = Instant::now();
        for k in ["a", "b", "c", "d"] {
            assert_eq!(s.begin_now(k, "f", TTL, t), Begin::Started);
        }
        assert_eq!(s.len(), 3);
        // "a" was evicted, "b" is still held.
        assert_eq!(s.begin_now("b", "f", TTL, t), Begin::InFlight);
        assert_eq!(s.begin_now("a", "f", TTL, t), Begin::Started);
        assert_eq!(s.len(), 3);
        assert_eq!(s.begin_now("b", "f", TTL, t), Begin::Started);
    }

    #[test]
    fn a_sharded_store_keeps_its_bound_and_its_records() {
        let s = MemoryStore::with_max_entries(SHARDED_FROM);
        assert_eq!(s.shards.len(), SHARDS);
        let t = Instant::now();
        let keys: Vec<String> = (0..SHARDED_FROM * 3).map(|i| format!("key-{i}")).collect();
        for k in &keys {
            assert_eq!(s.begin_now(k, "f", TTL, t), Begin::Started);
        }
        assert!(s.len() <= SHARDED_FROM, "{} records", s.len());
        // The newest record of every shard survives eviction, completed and replayable.
        let last = keys.last().map(String::as_str).unwrap_or_default();
        s.complete_now(last, "f", resp("x"), TTL, t);
        assert_eq!(
            s.begin_now(last, "f", TTL, t),
            Begin::Completed {
                fingerprint: "f".into(),
                response: resp("x")
            }
        );
    }

    #[test]
    fn concurrent_begin_has_one_winner() {
        let s = std::sync::Arc::new(MemoryStore::new());
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || s.begin_now("k", "f", TTL, Instant::now()))
            })
            .collect();
        let started = handles
            .into_iter()
            .filter_map(|h| h.join().ok())
            .filter(|b| *b == Begin::Started)
            .count();
        assert_eq!(started, 1);
    }
}
