//! Discriminated unions (`oneOf` with a `discriminator`): the helpers generated
//! `Serialize`/`Deserialize` impls call.
//!
//! The tag lives inside the object (`{"method": "card", ...}`), and an unknown tag must not
//! fail (the generated enum keeps an `Unknown(Value)` arm), so the generated code reads the
//! whole value, looks at the tag, then decodes the payload:
//!
//! ```
//! use contractor_runtime::{serde_json, tagged};
//!
//! #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
//! struct Card { last4: String }
//!
//! let json = r#"{"method": "card", "last4": "4242"}"#;
//! let mut de = serde_json::Deserializer::from_str(json);
//! let (tag, value) = tagged::split(&mut de, "method").unwrap();
//! assert_eq!(tag.as_deref(), Some("card"));
//! let card: Card = tagged::variant::<_, serde_json::Error>(value).unwrap();
//! let back = tagged::serialize(serde_json::value::Serializer, "method", "card", &card).unwrap();
//! assert_eq!(back, serde_json::json!({"method": "card", "last4": "4242"}));
//! ```

use serde::de::DeserializeOwned;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Serializes `value` (which must serialize as an object) with `property: tag` added.
pub fn serialize<S: Serializer, T: Serialize + ?Sized>(
    serializer: S,
    property: &str,
    tag: &str,
    value: &T,
) -> Result<S::Ok, S::Error> {
    match serde_json::to_value(value).map_err(S::Error::custom)? {
        Value::Object(mut map) => {
            map.insert(property.to_owned(), Value::String(tag.to_owned()));
            map.serialize(serializer)
        }
        _ => Err(S::Error::custom(format_args!(
            "the `{tag}` variant must serialize as an object to carry its `{property}` tag"
        ))),
    }
}

/// Reads a value and its `property` tag (`None` when absent or not a string).
pub fn split<'de, D: Deserializer<'de>>(
    deserializer: D,
    property: &str,
) -> Result<(Option<String>, Value), D::Error> {
    let value = Value::deserialize(deserializer)?;
    let tag = value
        .get(property)
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok((tag, value))
}

/// Decodes a variant's payload from the value [`split`] read (the tag stays in it).
pub fn variant<T: DeserializeOwned, E: serde::de::Error>(value: Value) -> Result<T, E> {
    serde_json::from_value(value).map_err(E::custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Invoice {
        number: u32,
    }

    #[test]
    fn round_trip_and_unknown_tags() {
        let v = serialize(
            serde_json::value::Serializer,
            "kind",
            "invoice",
            &Invoice { number: 7 },
        )
        .unwrap();
        assert_eq!(v, json!({"kind": "invoice", "number": 7}));
        let (tag, value) = split(v, "kind").unwrap();
        assert_eq!(tag.as_deref(), Some("invoice"));
        let back: Invoice = variant::<_, serde_json::Error>(value).unwrap();
        assert_eq!(back, Invoice { number: 7 });

        let (tag, _) = split(json!({"kind": 5}), "kind").unwrap();
        assert_eq!(tag, None);
        assert!(serialize(serde_json::value::Serializer, "kind", "x", &5).is_err());
        assert!(variant::<Invoice, serde_json::Error>(json!({"number": "x"})).is_err());
    }
}
