//! `Nullable<T>`: a field that may be absent, `null`, or a value — three states `Option`
//! cannot tell apart (a JSON merge patch clears a field with `null` and leaves it alone when
//! absent).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An optional, nullable field.
///
/// Use it with `#[serde(default, skip_serializing_if = "Nullable::is_absent")]`: a missing
/// member deserializes as [`Nullable::Absent`] (the default) and is skipped when serializing;
/// `null` is [`Nullable::Null`].
///
/// ```
/// use contractor_runtime::Nullable;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Patch {
///     #[serde(default, skip_serializing_if = "Nullable::is_absent")]
///     note: Nullable<String>,
/// }
///
/// let p: Patch = serde_json::from_str("{}").unwrap();
/// assert!(p.note.is_absent());
/// let p: Patch = serde_json::from_str(r#"{"note": null}"#).unwrap();
/// assert!(p.note.is_null());
/// assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"note":null}"#);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Nullable<T> {
    /// Not present.
    #[default]
    Absent,
    /// Present as `null`.
    Null,
    /// Present with a value.
    Value(T),
}

impl<T> Nullable<T> {
    /// `true` for [`Nullable::Absent`].
    pub fn is_absent(&self) -> bool {
        matches!(self, Nullable::Absent)
    }

    /// `true` for [`Nullable::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Nullable::Null)
    }

    /// The value, if there is one.
    pub fn value(&self) -> Option<&T> {
        match self {
            Nullable::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The value, if there is one (absent and null both become `None`).
    pub fn into_option(self) -> Option<T> {
        match self {
            Nullable::Value(v) => Some(v),
            _ => None,
        }
    }

    /// Borrows the value.
    pub fn as_ref(&self) -> Nullable<&T> {
        match self {
            Nullable::Absent => Nullable::Absent,
            Nullable::Null => Nullable::Null,
            Nullable::Value(v) => Nullable::Value(v),
        }
    }

    /// Maps the value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Nullable<U> {
        match self {
            Nullable::Absent => Nullable::Absent,
            Nullable::Null => Nullable::Null,
            Nullable::Value(v) => Nullable::Value(f(v)),
        }
    }
}

impl<T> From<T> for Nullable<T> {
    fn from(v: T) -> Self {
        Nullable::Value(v)
    }
}

impl<T: Serialize> Serialize for Nullable<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            // Absent is normally skipped by `skip_serializing_if`; if not, it reads as null.
            Nullable::Absent | Nullable::Null => s.serialize_none(),
            Nullable::Value(v) => s.serialize_some(v),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Nullable<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            Some(v) => Nullable::Value(v),
            None => Nullable::Null,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct S {
        #[serde(default, skip_serializing_if = "Nullable::is_absent")]
        n: Nullable<u8>,
    }

    #[test]
    fn three_states() {
        for (json, n) in [
            ("{}", Nullable::Absent),
            (r#"{"n":null}"#, Nullable::Null),
            (r#"{"n":3}"#, Nullable::Value(3)),
        ] {
            let s: S = serde_json::from_str(json).unwrap();
            assert_eq!(s.n, n);
            assert_eq!(serde_json::to_string(&s).unwrap(), json);
        }
        assert_eq!(Nullable::Value(2).map(|v| v * 2).into_option(), Some(4));
        assert_eq!(Nullable::<u8>::Null.value(), None);
        assert_eq!(Nullable::from(1).as_ref().value(), Some(&&1));
    }
}
