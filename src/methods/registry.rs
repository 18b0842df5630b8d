//! The table of methods by name, shared by the CLI, `evaluate` and the Python package.

use crate::error::ParamsError;

use super::params::{ParamReport, report};

use super::{
    Aggregator, BinaryRelevance, DawidSkeneParams, GladParams, GoldMajorityVoteParams, KosParams,
    MaceParams, MajorityVoteParams, MmsrParams, OneCoinDawidSkeneParams, Params, Requirements,
    Wawa, WeightedDynamicOverlapParams, ZeroBasedSkillParams,
};

/// Builds a method's aggregator from `key=value` pairs or a JSON object.
type Builder = fn(Given<'_>) -> Result<Box<dyn Aggregator>, ParamsError>;

/// How a method is built: an [`Aggregator`] of single labels, or [`BinaryRelevance`] (label
/// sets, with its own parameters and an inner method).
#[derive(Clone, Copy)]
enum Build {
    Labels(Builder),
    LabelSets,
}

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
    build: Build,
}

impl Method {
    /// What the method needs besides the responses ([`Method::requires`]).
    pub fn requirements(&self) -> Requirements {
        self.requires
    }

    /// The aggregator with defaults overridden by `key=value` pairs, validated.
    ///
    /// # Errors
    /// [`ParamsError`]s about the parameters; [`ParamsError::WrongInput`] for the label-set
    /// method ([`Requirements::label_sets`]: build it with [`Method::build_label_sets`]).
    pub fn build(&self, params: &[(&str, &str)]) -> Result<Box<dyn Aggregator>, ParamsError> {
        self.builder()?(Given::Pairs(params))
    }

    /// The aggregator with defaults overridden by the members of a JSON object (what Python's
    /// `**kwargs` become), validated.
    ///
    /// # Errors
    /// As [`Method::build`].
    pub fn build_json(
        &self,
        params: &serde_json::Value,
    ) -> Result<Box<dyn Aggregator>, ParamsError> {
        self.builder()?(Given::Json(params))
    }

    /// The label-set method ([`BinaryRelevance`]) from `key=value` pairs: its own
    /// [`BinaryRelevanceParams`] (`inner`, `separator`), every other pair a parameter of the
    /// inner method.
    ///
    /// # Errors
    /// [`ParamsError`]s about the parameters; [`ParamsError::WrongInput`] for a method of single
    /// labels.
    pub fn build_label_sets(
        &self,
        params: &[(&str, &str)],
    ) -> Result<(BinaryRelevance, BinaryRelevanceParams), ParamsError> {
        match self.build {
            Build::LabelSets => binary_relevance_from_pairs(params),
            Build::Labels(_) => Err(self.wrong_input("label sets")),
        }
    }

    /// The parameters' defaults, as reports show them (empty when the defaults alone do not
    /// build the method).
    pub fn defaults(&self) -> ParamReport {
        match self.build {
            Build::Labels(build) => build(Given::Pairs(&[]))
                .map(|a| a.params())
                .unwrap_or_default(),
            Build::LabelSets => report(&BinaryRelevanceParams::default()),
        }
    }

    fn builder(&self) -> Result<Builder, ParamsError> {
        match self.build {
            Build::Labels(build) => Ok(build),
            Build::LabelSets => Err(self.wrong_input("single labels")),
        }
    }

    fn wrong_input(&self, asked: &'static str) -> ParamsError {
        let takes = if self.requires.label_sets {
            "label sets"
        } else {
            "single labels"
        };
        ParamsError::WrongInput {
            method: self.name,
            takes,
            asked,
        }
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

/// Every method of categorical responses, in the order `crowdagg methods` lists them, with
/// what each needs: the single-label methods, then [`BinaryRelevance`], whose responses are
/// label sets ([`Requirements::label_sets`]; built by [`Method::build_label_sets`]).
#[rustfmt::skip] // a table: one method a line
pub const METHODS: &[Method] = &[
    entry("mv", "MajorityVote", Requirements::OPTIONAL_SKILLS, make::<MajorityVoteParams>),
    entry("gold-mv", "GoldMajorityVote", Requirements::GOLD, make::<GoldMajorityVoteParams>),
    entry("wawa", "Wawa", Requirements::NONE, make::<Wawa>),
    entry("zbs", "ZeroBasedSkill", Requirements::NONE, make::<ZeroBasedSkillParams>),
    entry("wdo", "WeightedDynamicOverlap", Requirements::SKILLS, make::<WdoParams>),
    entry("ds", "DawidSkene", Requirements::OPTIONAL_GOLD, make::<DawidSkeneParams>),
    entry("one-coin-ds", "OneCoinDawidSkene", Requirements::OPTIONAL_GOLD, make::<OneCoin>),
    entry("mmsr", "MMSR", Requirements::AT_LEAST_TWO_LABELS, make::<MmsrParams>),
    entry("kos", "KOS", Requirements::BINARY, make::<KosParams>),
    entry("glad", "GLAD", Requirements::NONE, make::<GladParams>),
    entry("mace", "MACE", Requirements::NONE, make::<MaceParams>),
    Method {
        cli_name: "binary-relevance",
        name: "BinaryRelevance",
        requires: Requirements::LABEL_SETS,
        build: Build::LabelSets,
    },
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
        build: Build::Labels(build),
    }
}

/// The methods of [`METHODS`] with one label per response (every method but the label-set
/// one), in the same order: those [`Method::build`] builds.
pub fn single_label_methods() -> impl Iterator<Item = &'static Method> {
    METHODS.iter().filter(|m| !m.requires.label_sets)
}

/// Looks a method up by its CLI name or class name (case-insensitive).
pub fn find_method(name: &str) -> Option<&'static Method> {
    METHODS
        .iter()
        .find(|m| m.cli_name.eq_ignore_ascii_case(name) || m.name.eq_ignore_ascii_case(name))
}

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

/// [`BinaryRelevance`] around the single-label method named `inner` (CLI or class name), built
/// with `params`.
pub fn binary_relevance(
    inner: &str,
    params: &[(&str, &str)],
) -> Result<BinaryRelevance, ParamsError> {
    let single_label = find_method(inner).filter(|m| !m.requires.label_sets);
    let method = single_label.ok_or_else(|| ParamsError::UnknownInnerMethod {
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
