//! Parameter builders shared plumbing: `key=value` setting (for the CLI) and reporting.

use crate::error::ParamsError;

use super::Aggregator;

/// A parameter value as reported in outputs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// A count (`n_iter`, …).
    Int(u64),
    /// A real number (`tol`, …).
    Float(f64),
    /// A word or name (`compat`, `method`, …).
    Text(String),
    /// A list of values (a WDO `domain`, GLAD's `labels_priors` as `label:p`).
    List(Vec<String>),
    /// Not set (an optional parameter left at its default).
    Null,
}

impl From<usize> for ParamValue {
    fn from(v: usize) -> Self {
        Self::Int(v as u64)
    }
}

impl From<f64> for ParamValue {
    fn from(v: f64) -> Self {
        Self::Float(v)
    }
}

impl From<&str> for ParamValue {
    fn from(v: &str) -> Self {
        Self::Text(v.to_string())
    }
}

impl<T: Into<ParamValue>> From<Option<T>> for ParamValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

/// A parameter builder: defaults, `key=value` setters, validation into an aggregator.
pub trait Params: Default {
    /// The aggregator these parameters build.
    type Aggregator: Aggregator + 'static;

    /// Sets one parameter from text (as given on the command line).
    fn set(&mut self, key: &str, value: &str) -> Result<(), ParamsError>;

    /// Validates the parameters.
    fn check(self) -> Result<Self::Aggregator, ParamsError>;

    /// Defaults overridden by `key=value` pairs, validated.
    fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self::Aggregator, ParamsError> {
        let mut params = Self::default();
        for (key, value) in pairs {
            params.set(key, value)?;
        }
        params.check()
    }
}

pub(crate) fn parse<T: std::str::FromStr>(
    name: &str,
    value: &str,
    expected: &'static str,
) -> Result<T, ParamsError> {
    value.trim().parse().map_err(|_| ParamsError::Parse {
        name: name.to_string(),
        value: value.to_string(),
        expected,
    })
}

pub(crate) fn unknown(method: &'static str, name: &str, known: &'static str) -> ParamsError {
    ParamsError::Unknown {
        method,
        name: name.to_string(),
        known,
    }
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

/// A finite number `≥ 0`.
pub(crate) fn check_non_negative(name: &'static str, v: f64) -> Result<(), ParamsError> {
    if !(v.is_finite() && v >= 0.0) {
        return Err(out_of_range(name, "a finite number >= 0", v));
    }
    Ok(())
}
