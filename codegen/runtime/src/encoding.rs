//! Small encoders shared by the modules: base64 bytes, hex digests.

use std::fmt;
use std::ops::{Deref, DerefMut};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bytes that travel as a standard base64 string: the Rust type for `format: byte`.
///
/// Decoding also accepts unpadded and URL-safe input, since senders differ.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Base64Bytes(pub Vec<u8>);

impl Base64Bytes {
    /// The bytes.
    pub fn into_inner(self) -> Vec<u8> {
        self.0
    }
}

impl fmt::Debug for Base64Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Base64Bytes({})", STANDARD.encode(&self.0))
    }
}

impl Deref for Base64Bytes {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl DerefMut for Base64Bytes {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl AsRef<[u8]> for Base64Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Base64Bytes {
    fn from(v: Vec<u8>) -> Self {
        Self(v)
    }
}

impl From<&[u8]> for Base64Bytes {
    fn from(v: &[u8]) -> Self {
        Self(v.to_vec())
    }
}

impl From<Base64Bytes> for Vec<u8> {
    fn from(v: Base64Bytes) -> Self {
        v.0
    }
}

impl Serialize for Base64Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        decode_base64(&s)
            .map(Self)
            .ok_or_else(|| serde::de::Error::custom("invalid base64"))
    }
}

/// Decodes standard or URL-safe base64, padded or not.
pub(crate) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let padded = s.ends_with('=');
    let url = s.contains(['-', '_']);
    let engine = match (url, padded) {
        (false, true) => &STANDARD,
        (false, false) => &STANDARD_NO_PAD,
        (true, true) => &URL_SAFE,
        (true, false) => &URL_SAFE_NO_PAD,
    };
    engine.decode(s).ok()
}

/// `true` when `s` is valid standard base64 (the `format: byte` check).
pub(crate) fn is_base64(s: &str) -> bool {
    STANDARD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .is_ok()
}

pub(crate) fn encode_base64(b: &[u8]) -> String {
    STANDARD.encode(b)
}

/// A random UUID v4 as text, from the thread-local CSPRNG (`Uuid::new_v4` asks the OS for
/// every id: a `getrandom` syscall each).
pub(crate) fn uuid_v4() -> String {
    uuid_text(rand::random())
}

/// A UUID v4 from a fast non-cryptographic generator (wyrand, seeded per thread from the
/// CSPRNG): for correlation ids, made for every request, which must be unique but are not
/// secrets.
pub(crate) fn fast_uuid_v4() -> String {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new(rand::random());
    }
    let next = || {
        STATE.with(|s| {
            let x = s.get().wrapping_add(0xa076_1d64_78bd_642f);
            s.set(x);
            let t = u128::from(x) * u128::from(x ^ 0xe703_7ed1_a0b4_28db);
            (t >> 64) as u64 ^ t as u64
        })
    };
    let bytes = (u128::from(next()) << 64 | u128::from(next())).to_le_bytes();
    uuid_text(bytes)
}

fn uuid_text(random: [u8; 16]) -> String {
    let id = uuid::Builder::from_random_bytes(random).into_uuid();
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    id.hyphenated().encode_lower(&mut buf).to_owned()
}

/// Lower-case hex of a SHA-256 digest over `parts`, each followed by a NUL separator so that
/// `("ab", "c")` and `("a", "bc")` differ.
pub(crate) fn sha256_hex(parts: &[&[u8]]) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
        h.update([0u8]);
    }
    let digest = h.finalize();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (pair, b) in out.chunks_exact_mut(2).zip(digest.iter()) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 15)];
    }
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

/// serde helpers storing `Vec<u8>` as base64 (compact in JSON-encoded store records).
pub(crate) mod base64_vec {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode_base64(v))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        super::decode_base64(&s).ok_or_else(|| serde::de::Error::custom("invalid base64"))
    }
}

/// serde helpers storing [`bytes::Bytes`] as base64.
pub(crate) mod base64_bytes {
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &bytes::Bytes, s: S) -> Result<S::Ok, S::Error> {
        super::base64_vec::serialize(v, s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bytes::Bytes, D::Error> {
        super::base64_vec::deserialize(d).map(bytes::Bytes::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_bytes_round_trip() {
        let b = Base64Bytes::from(vec![0u8, 1, 2, 250, 255]);
        let s = serde_json::to_string(&b).unwrap();
        assert_eq!(s, "\"AAEC+v8=\"");
        let back: Base64Bytes = serde_json::from_str(&s).unwrap();
        assert_eq!(back, b);
        let url: Base64Bytes = serde_json::from_str("\"AAEC-v8\"").unwrap();
        assert_eq!(url, b);
        assert!(serde_json::from_str::<Base64Bytes>("\"!!\"").is_err());
        assert_eq!(b.len(), 5);
    }

    #[test]
    fn base64_check() {
        assert!(is_base64("aGVsbG8="));
        assert!(is_base64("aGVsbG8"));
        assert!(!is_base64("aGVsb G8="));
    }

    #[test]
    fn uuids_are_v4() {
        for f in [uuid_v4, fast_uuid_v4] {
            let id = uuid::Uuid::try_parse(&f()).unwrap();
            assert_eq!(id.get_version_num(), 4);
            let many: std::collections::HashSet<String> = (0..1000).map(|_| f()).collect();
            assert_eq!(many.len(), 1000);
        }
    }

    #[test]
    fn sha256_separates_parts() {
        assert_ne!(sha256_hex(&[b"ab", b"c"]), sha256_hex(&[b"a", b"bc"]));
        assert_eq!(sha256_hex(&[b"x"]).len(), 64);
    }
}
