//! Parameters declared once: each method's parameters are a plain struct deriving serde's
//! `Serialize` and `Deserialize` (`#[serde(default, deny_unknown_fields)]`, defaults as
//! crowd-kit's), validated by [`Params::check`] into the method itself, so that a fit never
//! runs with unchecked parameters (linfa's `ParamGuard` shape). The same struct is read
//!
//! * from `key=value` text (the command line's `--param`), by one reader that types every value
//!   by the struct's field: integers, numbers, `true`/`false`, enum names, comma lists
//!   (`domain=a,b,c`), and `none`/`null` (or nothing) for an optional parameter left unset;
//! * from a JSON object (what Python's `**kwargs` sends), with `null` for an unset optional;
//!
//! and written back as the `params` object of reports ([`ParamReport`], in field order).

use std::fmt;

use serde::de::value::{SeqDeserializer, StrDeserializer};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, Visitor,
};
use serde::{Deserialize, Serialize};

use crate::error::ParamsError;

/// A method's parameters as `(name, value)` pairs in declaration order, as reports show them.
pub type ParamReport = Vec<(String, serde_json::Value)>;

/// Unchecked parameters of a method (a serde struct), and their validation into the checked
/// type (the method itself). Implemented by every `XParams` type; readers are provided.
pub trait Params: Default + Serialize + DeserializeOwned {
    /// What validated parameters become: the method, ready to fit.
    type Checked;

    /// Validates the parameters (ranges, combinations) into the method.
    fn check(self) -> Result<Self::Checked, ParamsError>;

    /// Defaults overridden by `key=value` pairs (text typed by the field), not yet checked:
    /// for adding what text cannot say (Dawid-Skene's initial matrices) before [`Params::check`].
    fn parse_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ParamsError> {
        let entries = pairs
            .into_iter()
            .map(|(k, v)| (k, Input::Text(v)))
            .collect();
        read(entries)
    }

    /// Defaults overridden by the members of a JSON object, not yet checked.
    fn parse_json(value: &serde_json::Value) -> Result<Self, ParamsError> {
        let object = value.as_object().ok_or_else(|| ParamsError::Type {
            name: "params".into(),
            message: format!("expected a JSON object, got {value}"),
        })?;
        read(
            object
                .iter()
                .map(|(k, v)| (k.as_str(), Input::Json(v)))
                .collect(),
        )
    }

    /// Defaults overridden by `key=value` pairs, validated (the last of repeated keys wins).
    fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self::Checked, ParamsError> {
        Self::parse_pairs(pairs)?.check()
    }

    /// Defaults overridden by the members of a JSON object, validated.
    fn from_json(value: &serde_json::Value) -> Result<Self::Checked, ParamsError> {
        Self::parse_json(value)?.check()
    }

    /// These parameters as `(name, value)` pairs in declaration order, as reports show them.
    fn report(&self) -> ParamReport {
        report(self)
    }
}

/// The builder setters of a parameters struct, one per listed field, each documented by the
/// doc comment above its field's line: `field(self, value) -> Self` sets the field (wrapped in
/// `Some` for an optional field written `field: T => Some`) and keeps the others, so that a
/// setter is declared in one line next to its doc instead of five. Setters that do more
/// (several fields, conversions) are written by hand in their method's file.
///
/// Written `Method => MethodParams { fields } check(|params| ...)` instead, it also declares
/// the method's `params()` constructor (documented by the doc comment above `Method`) and
/// implements [`Params`] for the struct: the closure validates the parameters (`Ok(())` or a
/// [`ParamsError`]) and the checked method is `Method { params }`.
macro_rules! setters {
    (
        $(#[$constructor_doc:meta])*
        $method:ident => $params:ident { $($fields:tt)+ }
        check(|$p:pat_param| $check:expr)
    ) => {
        impl $method {
            $(#[$constructor_doc])*
            pub fn params() -> $params {
                $params::default()
            }
        }

        $crate::methods::params::setters!($params { $($fields)+ });

        impl $crate::methods::Params for $params {
            type Checked = $method;

            fn check(self) -> Result<$method, $crate::error::ParamsError> {
                let validate = |$p: &Self| -> Result<(), $crate::error::ParamsError> { $check };
                validate(&self)?;
                Ok($method { params: self })
            }
        }
    };
    ($params:ty { $( $(#[$doc:meta])* $field:ident: $type:ty $(=> $wrap:ident)? ),+ $(,)? }) => {
        impl $params {
            $(
                $(#[$doc])*
                pub fn $field(self, $field: $type) -> Self {
                    $( let $field = $wrap($field); )?
                    Self { $field, ..self }
                }
            )+
        }
    };
}
pub(crate) use setters;

/// Implements [`Params`] for a parameter struct whose inherent `check` validates and builds the
/// method (the families' structs, whose checks predate the trait): the trait forwards to it, so
/// `key=value` text and JSON reach the same checks as the builder.
macro_rules! params_by_inherent_check {
    ($($params:ident => $method:ident),+ $(,)?) => {
        $(
            #[doc = concat!(
                "Read from `key=value` text and JSON like every method's parameters (the inherent [`",
                stringify!($params),
                "::check`] validates)."
            )]
            impl $crate::methods::Params for $params {
                type Checked = $method;

                fn check(self) -> Result<$method, $crate::error::ParamsError> {
                    $params::check(self)
                }
            }
        )+
    };
}
pub(crate) use params_by_inherent_check;

/// The `params` report of checked parameters: their serde form, in field order.
pub(crate) fn report(params: &impl Serialize) -> ParamReport {
    struct Ordered(ParamReport);
    impl<'de> Deserialize<'de> for Ordered {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Members;
            impl<'de> Visitor<'de> for Members {
                type Value = Ordered;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                    let mut members = Vec::new();
                    while let Some(member) = map.next_entry()? {
                        members.push(member);
                    }
                    Ok(Ordered(members))
                }
            }
            d.deserialize_map(Members)
        }
    }
    let text = serde_json::to_string(params).expect("parameters serialise");
    serde_json::from_str::<Ordered>(&text)
        .expect("parameters are an object")
        .0
}

/// A finite number `≥ 0`.
pub(crate) fn check_non_negative(name: &'static str, v: f64) -> Result<(), ParamsError> {
    if !(v.is_finite() && v >= 0.0) {
        return Err(out_of_range(name, "a finite number >= 0", v));
    }
    Ok(())
}

pub(crate) fn out_of_range(
    name: &'static str,
    rule: &'static str,
    value: impl ToString,
) -> ParamsError {
    ParamsError::OutOfRange {
        name,
        rule,
        value: value.to_string(),
    }
}

/// One given value: command-line text or a JSON value.
#[derive(Clone, Copy)]
enum Input<'a> {
    Text(&'a str),
    Json(&'a serde_json::Value),
}

fn read<P: DeserializeOwned>(mut entries: Vec<(&str, Input<'_>)>) -> Result<P, ParamsError> {
    // The last of repeated keys wins, as options repeated on a command line.
    let mut seen = Vec::new();
    entries.reverse();
    entries.retain(|(key, _)| {
        let first = !seen.contains(key);
        seen.push(*key);
        first
    });
    entries.reverse();
    P::deserialize(Entries { entries, next: 0 }).map_err(|e| e.0)
}

/// A serde error carrying a [`ParamsError`]; serde's own messages become `Parse` errors once
/// the parameter and value they concern are known.
#[derive(Debug)]
struct DeError(ParamsError);

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(ParamsError::Parse {
            name: String::new(),
            value: String::new(),
            expected: msg.to_string(),
        })
    }
}

impl DeError {
    /// Names the parameter and value of a message that came without them.
    fn at(self, key: &str, value: &str) -> Self {
        match self.0 {
            ParamsError::Parse { name, expected, .. } if name.is_empty() => {
                Self(ParamsError::Parse {
                    name: key.into(),
                    value: value.into(),
                    expected,
                })
            }
            other => Self(other),
        }
    }
}

/// The given members of a parameter struct, checked against its fields.
struct Entries<'a> {
    entries: Vec<(&'a str, Input<'a>)>,
    next: usize,
}

impl<'de> Deserializer<'de> for Entries<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_map(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        method: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if let Some((key, _)) = self.entries.iter().find(|(k, _)| !fields.contains(k)) {
            return Err(DeError(ParamsError::Unknown {
                method,
                name: (*key).into(),
                known: fields,
            }));
        }
        visitor.visit_map(self)
    }

    /// A method without parameters (`Wawa`).
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        method: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if let Some((key, _)) = self.entries.first() {
            return Err(DeError(ParamsError::Unknown {
                method,
                name: (*key).into(),
                known: &[],
            }));
        }
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(&(key, _)) = self.entries.get(self.next) else {
            return Ok(None);
        };
        seed.deserialize(StrDeserializer::<DeError>::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (key, input) = self.entries[self.next];
        self.next += 1;
        match input {
            Input::Text(value) => seed
                .deserialize(Text {
                    key,
                    value,
                    optional: false,
                })
                .map_err(|e| e.at(key, value)),
            Input::Json(value) => seed.deserialize(value).map_err(|e| {
                DeError(ParamsError::Type {
                    name: key.into(),
                    message: e.to_string(),
                })
            }),
        }
    }
}

/// One `key=value` text, typed by what the field asks for.
#[derive(Clone, Copy)]
struct Text<'a> {
    key: &'a str,
    value: &'a str,
    /// Inside an `Option` (so `none` is also accepted, and said so in errors).
    optional: bool,
}

impl Text<'_> {
    fn fail(&self, expected: impl Into<String>) -> DeError {
        DeError(ParamsError::Parse {
            name: self.key.into(),
            value: self.value.into(),
            expected: expected.into(),
        })
    }

    fn number<T: std::str::FromStr>(&self, expected: &str) -> Result<T, DeError> {
        self.value.trim().parse().map_err(|_| self.fail(expected))
    }
}

/// `a or b`, `a, b or c`.
fn one_of(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).into(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

impl<'de> IntoDeserializer<'de, DeError> for Text<'_> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for Text<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_str(self.value)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value.trim() {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            _ => Err(self.fail("true or false")),
        }
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_u32(self.number("an integer in 0..2^32")?)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_u64(self.number("an integer")?)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_i64(self.number("an integer")?)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_f64(self.number("a number")?)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value.trim() {
            "" | "none" | "null" | "None" => visitor.visit_none(),
            _ => visitor.visit_some(Text {
                optional: true,
                ..self
            }),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let items = self.value.split(',').map(|item| Text {
            value: item.trim(),
            optional: false,
            ..self
        });
        visitor.visit_seq(SeqDeserializer::new(items))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let mut chars = self.value.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor.visit_char(c),
            _ => Err(self.fail("one character")),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let word = self.value.trim().to_ascii_lowercase();
        visitor
            .visit_enum(StrDeserializer::<DeError>::new(&word))
            .map_err(|_| {
                let mut names = variants.to_vec();
                if self.optional {
                    names.push("none");
                }
                self.fail(one_of(&names))
            })
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u128 f32 str string bytes byte_buf unit unit_struct
        newtype_struct tuple tuple_struct map struct identifier ignored_any
    }
}
