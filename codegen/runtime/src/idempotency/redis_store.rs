//! A Redis-backed store, shared by every replica of a server.
//!
//! A record is one string value: `I<fingerprint>` while in flight, `C<json>` once completed
//! (the JSON holds the fingerprint and the [`StoredResponse`], body in base64). Every record
//! expires on its own (`PX`), so nothing needs sweeping.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};

use super::{Begin, IdempotencyStore, StoreError, StoredResponse};
use crate::BoxFuture;

const DEFAULT_PREFIX: &str = "contractor:idempotency:";

/// Deletes a key only while its record is in flight, so a late release cannot delete a
/// completed response (GET + DEL in one atomic script).
const RELEASE_SCRIPT: &str = r"
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 1) == 'I' then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// An [`IdempotencyStore`] in Redis, over a reconnecting multiplexed connection.
///
/// `begin` is `SET key I<fingerprint> NX PX ttl` (atomic: one caller wins), and when the key
/// exists a `GET` reads the record; a record that expires between the two makes `begin` try
/// again. `complete` is `SET ... PX ttl`. `release` is a Lua script that deletes the key only
/// if it is still in flight.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    release: std::sync::Arc<redis::Script>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct Completed {
    fingerprint: String,
    response: StoredResponse,
}

fn redis_error(what: &str) -> impl FnOnce(redis::RedisError) -> StoreError + '_ {
    move |e| StoreError::with_source(format!("redis {what} failed"), e)
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`, `rediss://` needs redis's TLS features).
    /// Commands time out after 5 s, so an unreachable Redis turns into 503s, not hangs.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(redis_error("URL"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(redis_error("connect"))?;
        Ok(Self::from_connection(conn))
    }

    /// A store over an existing connection manager.
    pub fn from_connection(conn: ConnectionManager) -> Self {
        Self {
            conn,
            prefix: DEFAULT_PREFIX.to_owned(),
            release: std::sync::Arc::new(redis::Script::new(RELEASE_SCRIPT)),
        }
    }

    /// Prefixes every key with `prefix` (default `contractor:idempotency:`), e.g. to share a
    /// Redis between services.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn begin_owned(
        &self,
        key: String,
        fingerprint: String,
        ttl: Duration,
    ) -> Result<Begin, StoreError> {
        let mut conn = self.conn.clone();
        let claim = format!("I{fingerprint}");
        for _ in 0..3 {
            let set: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(&claim)
                .arg("NX")
                .arg("PX")
                .arg(millis(ttl))
                .query_async(&mut conn)
                .await
                .map_err(redis_error("SET NX"))?;
            if set.is_some() {
                return Ok(Begin::Started);
            }
            let existing: Option<Vec<u8>> = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .map_err(redis_error("GET"))?;
            match existing.as_deref() {
                // Expired between SET and GET: claim again.
                None => continue,
                Some([b'I', ..]) => return Ok(Begin::InFlight),
                Some([b'C', json @ ..]) => {
                    let c: Completed = serde_json::from_slice(json).map_err(|e| {
                        StoreError::with_source("corrupt idempotency record in redis", e)
                    })?;
                    return Ok(Begin::Completed {
                        fingerprint: c.fingerprint,
                        response: c.response,
                    });
                }
                Some(_) => return Err(StoreError::new("unknown idempotency record in redis")),
            }
        }
        Err(StoreError::new(
            "idempotency key kept expiring while being claimed",
        ))
    }
}

impl IdempotencyStore for RedisStore {
    fn begin(
        &self,
        key: &str,
        fingerprint: &str,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<Begin, StoreError>> {
        Box::pin(self.begin_owned(self.key(key), fingerprint.to_owned(), ttl))
    }

    fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        response: StoredResponse,
        ttl: Duration,
    ) -> BoxFuture<'_, Result<(), StoreError>> {
        let key = self.key(key);
        let record = serde_json::to_vec(&Completed {
            fingerprint: fingerprint.to_owned(),
            response,
        })
        .map(|json| {
            let mut v = Vec::with_capacity(json.len() + 1);
            v.push(b'C');
            v.extend_from_slice(&json);
            v
        });
        let mut conn = self.conn.clone();
        Box::pin(async move {
            let record =
                record.map_err(|e| StoreError::with_source("could not encode the response", e))?;
            redis::cmd("SET")
                .arg(&key)
                .arg(record)
                .arg("PX")
                .arg(millis(ttl))
                .query_async::<()>(&mut conn)
                .await
                .map_err(redis_error("SET"))
        })
    }

    fn release(&self, key: &str) -> BoxFuture<'_, Result<(), StoreError>> {
        let key = self.key(key);
        let mut conn = self.conn.clone();
        Box::pin(async move {
            self.release
                .key(&key)
                .invoke_async::<i64>(&mut conn)
                .await
                .map(drop)
                .map_err(redis_error("release script"))
        })
    }
}
