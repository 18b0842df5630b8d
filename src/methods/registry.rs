//! The table of methods by name, shared by the CLI (and later the server and `evaluate`).

use crate::error::ParamsError;

use super::params::{ParamReport, report};

use super::{
    Aggregator, BinaryRelevance, DawidSkeneParams, GladParams, GoldMajorityVoteParams, KosParams,
    MaceParams, MajorityVoteParams, MmsrParams, OneCoinDawidSkeneParams, Params, Requirements,
    Wawa, WeightedDynamicOverlapParams, ZeroBasedSkillParams,
};

/// Builds a method's aggregator from `key=value` pairs or a JSON object.
type Builder = fn(Given<'_>) -> Result<Box<dyn Aggregator>, ParamsError>;

/// Parameters as given: command-line text or JSON.
#[derive(Clone, Copy)]
enum Given<'a> {
    Pairs(&'a [(&'a str, &'a str)]),
    Json(&'a serde_json::Value),
}

/// A method the CLI can run.
pub struct Method {
    /// Short name on the command line (`mv`, `ds`, …).
    pub cli_name: &'static str,
    /// crowd-kit class name, also accepted on the command line.
    pub name: &'static str,
    /// What the method needs besides the responses, declared here once.
    pub requires: Requirements,
    build: Builder,
}

impl Method {
    /// What the method needs besides the responses ([`Method::requires`]).
    pub fn requirements(&self) -> Requirements {
        self.requires
    }

    /// The aggregator with defaults overridden by `key=value` pairs, validated.
    pub fn build(&self, params: &[(&str, &str)]) -> Result<Box<dyn Aggregator>, ParamsError> {
        (self.build)(Given::Pairs(params))
    }

    /// The aggregator with defaults overridden by the members of a JSON object (what Python's
    /// `**kwargs` become), validated.
    pub fn build_json(
        &self,
        params: &serde_json::Value,
    ) -> Result<Box<dyn Aggregator>, ParamsError> {
        (self.build)(Given::Json(params))
    }
}

fn make<P: Params>(given: Given<'_>) -> Result<Box<dyn Aggregator>, ParamsError>
where
    P::Checked: Aggregator + 'static,
{
    let checked = match given {
        Given::Pairs(pairs) => P::from_pairs(pairs.iter().copied())?,
        Given::Json(value) => P::from_json(value)?,
    };
    Ok(Box::new(checked))
}

/// Every method, in the order `--help` lists them, with what each needs.
#[rustfmt::skip] // a table: one method a line
pub const METHODS: &[Method] = &[
    entry("mv", "MajorityVote", Requirements::OPTIONAL_SKILLS, make::<MajorityVoteParams>),
    entry("gold-mv", "GoldMajorityVote", Requirements::GOLD, make::<GoldMajorityVoteParams>),
    entry("wawa", "Wawa", Requirements::NONE, make::<Wawa>),
    entry("zbs", "ZeroBasedSkill", Requirements::NONE, make::<ZeroBasedSkillParams>),
    entry("wdo", "WeightedDynamicOverlap", Requirements::SKILLS, make::<WdoParams>),
    entry("ds", "DawidSkene", Requirements::OPTIONAL_GOLD, make::<DawidSkeneParams>),
    entry("one-coin-ds", "OneCoinDawidSkene", Requirements::OPTIONAL_GOLD, make::<OneCoin>),
    entry("mmsr", "MMSR", Requirements::NONE, make::<MmsrParams>),
    entry("kos", "KOS", Requirements::BINARY, make::<KosParams>),
    entry("glad", "GLAD", Requirements::NONE, make::<GladParams>),
    entry("mace", "MACE", Requirements::NONE, make::<MaceParams>),
];

type WdoParams = WeightedDynamicOverlapParams;
type OneCoin = OneCoinDawidSkeneParams;

const fn entry(
    cli_name: &'static str,
    name: &'static str,
    requires: Requirements,
    build: Builder,
) -> Method {
    Method {
        cli_name,
        name,
        requires,
        build,
    }
}

/// Looks a method up by its CLI name or class name (case-insensitive).
pub fn find_method(name: &str) -> Option<&'static Method> {
    METHODS
        .iter()
        .find(|m| m.cli_name.eq_ignore_ascii_case(name) || m.name.eq_ignore_ascii_case(name))
}

/// The multi-label method: [`BinaryRelevance`], not in [`METHODS`] because its input is label
/// sets ([`crate::MultiLabelResponses`]); built by [`binary_relevance_from_pairs`].
pub struct MultiLabelMethod {
    /// Short name on the command line.
    pub cli_name: &'static str,
    /// crowd-kit class name, also accepted on the command line.
    pub name: &'static str,
}

impl MultiLabelMethod {
    /// Whether `name` names this method (CLI or class name, case-insensitive).
    pub fn matches(&self, name: &str) -> bool {
        self.cli_name.eq_ignore_ascii_case(name) || self.name.eq_ignore_ascii_case(name)
    }

    /// Its own parameters' defaults, as reports show them.
    pub fn defaults(&self) -> ParamReport {
        report(&BinaryRelevanceParams::default())
    }
}

/// The registry's entry for [`BinaryRelevance`].
pub const BINARY_RELEVANCE: MultiLabelMethod = MultiLabelMethod {
    cli_name: "binary-relevance",
    name: "BinaryRelevance",
};

/// [`BinaryRelevance`]'s own parameters (read as described in [`Params`]); every other
/// parameter given with them goes to the inner method.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename = "BinaryRelevance", default, deny_unknown_fields)]
pub struct BinaryRelevanceParams {
    /// The method run on each class (CLI or class name; default `mv`).
    pub inner: String,
    /// The character joining a response's labels in the label column (default `|`).
    pub separator: char,
}

impl Default for BinaryRelevanceParams {
    fn default() -> Self {
        Self {
            inner: "mv".into(),
            separator: '|',
        }
    }
}

/// [`BinaryRelevance`] from `key=value` pairs: `inner` and `separator`
/// ([`BinaryRelevanceParams`]), every other pair a parameter of the inner method.
pub fn binary_relevance_from_pairs(
    pairs: &[(&str, &str)],
) -> Result<(BinaryRelevance, BinaryRelevanceParams), ParamsError> {
    let is_own = |key: &str| ["inner", "separator"].contains(&key);
    let own = pairs.iter().copied().filter(|(key, _)| is_own(key));
    let inner: Vec<_> = pairs
        .iter()
        .copied()
        .filter(|(key, _)| !is_own(key))
        .collect();
    let own = BinaryRelevanceParams::parse_pairs(own)?;
    Ok((binary_relevance(&own.inner, &inner)?, own))
}

/// [`BinaryRelevance`] (multi-label; not in [`METHODS`] because its input is label sets) around
/// the method named `inner` (CLI or class name), built with `params`.
pub fn binary_relevance(
    inner: &str,
    params: &[(&str, &str)],
) -> Result<BinaryRelevance, ParamsError> {
    let method = find_method(inner).ok_or_else(|| ParamsError::UnknownInnerMethod {
        name: inner.to_string(),
    })?;
    Ok(BinaryRelevance::new(method.build(params)?))
}

/// Validation of [`BinaryRelevanceParams`] happens when the inner method is looked up.
impl Params for BinaryRelevanceParams {
    type Checked = Self;

    fn check(self) -> Result<Self, ParamsError> {
        Ok(self)
    }
}
