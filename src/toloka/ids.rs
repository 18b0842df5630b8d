//! Toloka ids are JSON strings, but some documented examples carry them as bare numbers
//! (`"pool_id": 1491600`). We read either and always write strings (`specs/toloka-api.md` §1.1).

use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum IdRepr {
    Text(String),
    Number(serde_json::Number),
}

impl From<IdRepr> for String {
    fn from(id: IdRepr) -> Self {
        match id {
            IdRepr::Text(text) => text,
            IdRepr::Number(number) => number.to_string(),
        }
    }
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    IdRepr::deserialize(deserializer).map(String::from)
}

pub(crate) fn deserialize_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Option::<IdRepr>::deserialize(deserializer).map(|id| id.map(String::from))
}

/// An id read from a raw JSON value: a string, or an integer written as a string.
pub(crate) fn from_value(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) if number.is_i64() || number.is_u64() => {
            Some(number.to_string())
        }
        _ => None,
    }
}
