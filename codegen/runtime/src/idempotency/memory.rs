//! The in-process store: fine for one replica, lost on restart.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque, hash_map};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{Begin, IdempotencyStore, StoreError, StoredResponse};
use crate::BoxFuture;

/// The default number of records a [`MemoryStore`] keeps.
pub const DEFAULT_MAX_ENTRIES: usize = 100_000;

/// Stores of at least this many records are split into [`SHARDS`] independently locked
/// shards, so that concurrent requests on a multi-threaded server rarely wait on one lock.
const SHARDED_FROM: usize = 1024;
const SHARDS: usize = 16;

/// Keys and fingerprints are held in fixed-size arrays, which cost no allocation per record:
/// the server passes SHA-256s in hex (64 characters); any other text is hashed to one.
type Digest = [u8; 64];

/// A record's key. Its text is a SHA-256 in hex, uniformly spread: the map hashes (with a
/// per-process random key) only its first 16 characters, which is plenty to spread records
/// over buckets, and compares all 64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key(Digest);

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write(&self.0[..16]);
    }
}

/// An in-memory [`IdempotencyStore`]: mutex-guarded maps, bounded in size (the oldest record
/// goes first when it is full), whose expired records are dropped when met or when they
/// reach the front of the age queue. Big stores are sharded by key; "oldest" is then per
/// shard, each holding an even part of the bound.
#[derive(Debug)]
pub struct MemoryStore {
    shards: Box<[Mutex<Inner>]>,
    max_entries_per_shard: usize,
}

#[derive(Debug)]
struct Inner {
    entries: HashMap<Key, Entry, RandomState>,
    /// Insertion order, oldest first: (sequence number, key). A record removed early (released,
    /// expired, replaced) leaves its slot behind; a slot is live while its record still has
    /// that sequence number.
    by_age: VecDeque<(u64, Key)>,
    next_seq: u64,
}

#[derive(Debug)]
struct Entry {
    seq: u64,
    expires: Instant,
    fingerprint: Digest,
    /// The response in one block ([`Packed`]): a full store evicts a record per request, and
    /// freeing one cold block costs far less than freeing a record's every header and body.
    response: Option<Packed>,
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
            shards: (0..shards)
                .map(|_| {
                    Mutex::new(Inner {
                        entries: HashMap::default(),
                        by_age: VecDeque::new(),
                        next_seq: 0,
                    })
                })
                .collect(),
            max_entries_per_shard: max_entries.div_ceil(shards),
        }
    }

    /// The number of records held (expired ones may still count until dropped).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).entries.len()).sum()
    }

    /// `true` when no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The locked shard that holds `key`. Digests are uniform, so their last hex digit picks
    /// it.
    fn lock(&self, key: &Key) -> std::sync::MutexGuard<'_, Inner> {
        let last = key.0[63];
        let digit = match last {
            b'a'..=b'f' => last - b'a' + 10,
            _ => last,
        };
        lock(&self.shards[usize::from(digit) % self.shards.len()])
    }

    fn begin_now(&self, key: &str, fingerprint: &str, ttl: Duration, now: Instant) -> Begin {
        let key = Key(digest(key));
        let mut inner = self.lock(&key);
        let seq = inner.next_seq;
        let fresh = Entry {
            seq,
            expires: now + ttl,
            fingerprint: digest(fingerprint),
            response: None,
        };
        // One lookup finds a live record or places the new one.
        match inner.entries.entry(key) {
            hash_map::Entry::Occupied(e) if e.get().expires > now => {
                let e = e.get();
                return match &e.response {
                    None => Begin::InFlight,
                    Some(r) => Begin::Completed {
                        fingerprint: fingerprint_text(fingerprint, &e.fingerprint),
                        response: r.unpack(),
                    },
                };
            }
            // Expired: replaced (its age slot is left behind, no longer live).
            hash_map::Entry::Occupied(mut e) => {
                e.insert(fresh);
            }
            hash_map::Entry::Vacant(e) => {
                e.insert(fresh);
            }
        }
        inner.next_seq += 1;
        inner.by_age.push_back((seq, key));
        // The new record is at the back of the queue: trimming cannot reach it.
        inner.trim_front(now, self.max_entries_per_shard);
        inner.compact();
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
        let key = Key(digest(key));
        let mut inner = self.lock(&key);
        // A claim that expired meanwhile is not resurrected: another request may own the key.
        if let Some(e) = inner.entries.get_mut(&key)
            && e.expires > now
        {
            e.expires = now + ttl;
            e.fingerprint = digest(fingerprint);
            e.response = Some(Packed::pack(&response));
        }
    }

    fn release_now(&self, key: &str) {
        let key = Key(digest(key));
        let mut inner = self.lock(&key);
        if inner
            .entries
            .get(&key)
            .is_some_and(|e| e.response.is_none())
        {
            inner.entries.remove(&key);
        }
    }
}

/// The digest a key or fingerprint is held as: a 64-character text (the server's SHA-256s in
/// hex) as it is, any other text hashed to one.
fn digest(text: &str) -> Digest {
    let text = match text.len() {
        64 => std::borrow::Cow::Borrowed(text),
        _ => std::borrow::Cow::Owned(crate::encoding::sha256_hex(&[
            b"contractor-memory-store:",
            text.as_bytes(),
        ])),
    };
    let mut out = [0u8; 64];
    out.copy_from_slice(text.as_bytes());
    out
}

/// The stored fingerprint as text: the caller's own text when it matches (the common replay),
/// otherwise the stored digest, which differs from any text that does not match it.
fn fingerprint_text(asked: &str, stored: &Digest) -> String {
    if digest(asked) == *stored {
        return asked.to_owned();
    }
    String::from_utf8_lossy(stored).into_owned()
}

/// A [`StoredResponse`] in one allocation: status (2 bytes), header count (2), each header as
/// name length (2), name, value length (4), value; then the body.
#[derive(Debug)]
struct Packed(Box<[u8]>);

impl Packed {
    fn pack(r: &StoredResponse) -> Self {
        let headers: usize = r.headers.iter().map(|(n, v)| 6 + n.len() + v.len()).sum();
        let mut out = Vec::with_capacity(4 + headers + r.body.len());
        out.extend_from_slice(&r.status.to_le_bytes());
        // Header names and values are far below these bounds; longer ones are not stored.
        let fits = |(n, v): &&(String, String)| n.len() <= 0xffff && v.len() <= 0xffff_ffff;
        let kept: Vec<&(String, String)> = r.headers.iter().filter(fits).take(0xffff).collect();
        out.extend_from_slice(&(kept.len() as u16).to_le_bytes());
        for (name, value) in kept {
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
            out.extend_from_slice(value.as_bytes());
        }
        out.extend_from_slice(&r.body);
        Self(out.into_boxed_slice())
    }

    fn unpack(&self) -> StoredResponse {
        let mut at = &self.0[..];
        let mut take = |n: usize| {
            let (head, rest) = at.split_at(n.min(at.len()));
            at = rest;
            head
        };
        let u16_at = |b: &[u8]| u16::from_le_bytes([b[0], b[1]]);
        let status = u16_at(take(2));
        let count = u16_at(take(2));
        let mut headers = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let len = usize::from(u16_at(take(2)));
            let name = String::from_utf8_lossy(take(len)).into_owned();
            let b = take(4);
            let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
            let value = String::from_utf8_lossy(take(len)).into_owned();
            headers.push((name, value));
        }
        StoredResponse {
            status,
            headers,
            body: bytes::Bytes::copy_from_slice(at),
        }
    }
}

/// A poisoned lock (a panic elsewhere while holding it) is still usable: the critical sections
/// cannot leave the maps inconsistent mid-way.
fn lock(shard: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Inner {
    /// Pops the front of the age queue while it is the slot of a removed record, an expired
    /// record, or, while the shard holds more than `max` records, the oldest live one. One
    /// hash per slot: the record is looked up and removed through the same entry.
    fn trim_front(&mut self, now: Instant, max: usize) {
        while let Some(&(seq, key)) = self.by_age.front() {
            let full = self.entries.len() > max;
            if let hash_map::Entry::Occupied(e) = self.entries.entry(key)
                && e.get().seq == seq
            {
                if e.get().expires > now && !full {
                    break;
                }
                e.remove();
            }
            self.by_age.pop_front();
        }
    }

    /// Keeps the age queue within twice the live records, so that released and replaced
    /// records cannot grow it without bound.
    fn compact(&mut self) {
        if self.by_age.len() > 64 && self.by_age.len() > 2 * self.entries.len() {
            let entries = &self.entries;
            self.by_age
                .retain(|(seq, key)| entries.get(key).is_some_and(|e| e.seq == *seq));
        }
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
            body: bytes::Bytes::copy_from_slice(body.as_bytes()),
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
        // Asked with another payload, the stored fingerprint differs from the one asked with.
        match s.begin_now("k", "g", TTL, t) {
            Begin::Completed {
                fingerprint,
                response,
            } => {
                assert_ne!(fingerprint, "g");
                assert_eq!(response, resp("x"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            s.begin_now("k", "f", TTL, t),
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
    fn hex_digests_are_kept_and_other_text_hashed() {
        let hex = crate::encoding::sha256_hex(&[b"x"]);
        let d = digest(&hex);
        assert_eq!(&d[..], hex.as_bytes());
        assert_ne!(digest("x"), digest("y"));
        assert_ne!(digest("x"), digest(&hex));
        assert_eq!(fingerprint_text(&hex, &d), hex);
        assert_ne!(fingerprint_text("other", &d), "other");
    }

    #[test]
    fn released_and_expired_records_do_not_grow_the_age_queue() {
        let s = MemoryStore::with_max_entries(10);
        let t = Instant::now();
        for i in 0..10_000 {
            let k = format!("k{i}");
            assert_eq!(s.begin_now(&k, "f", TTL, t), Begin::Started);
            s.release_now(&k);
        }
        let queued = lock(&s.shards[0]).by_age.len();
        assert!(queued <= 64, "{queued} slots queued");
        // Expired records leave from the front as time passes.
        for i in 0..5 {
            s.begin_now(&format!("e{i}"), "f", TTL, t);
        }
        assert_eq!(s.len(), 5);
        s.begin_now("late", "f", TTL, t + TTL * 2);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn responses_are_packed_and_unpacked_as_they_were() {
        let r = StoredResponse {
            status: 201,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("set-cookie".into(), "a=1".into()),
                ("set-cookie".into(), String::new()),
            ],
            body: bytes::Bytes::from_static(b"{\"id\":1}"),
        };
        assert_eq!(Packed::pack(&r).unpack(), r);
        assert_eq!(Packed::pack(&resp("")).unpack(), resp(""));
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
