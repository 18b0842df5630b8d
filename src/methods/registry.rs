//! The table of methods by name, shared by the CLI (and later the server and `evaluate`).

use crate::error::ParamsError;

use super::{
    Aggregator, BinaryRelevance, DawidSkeneParams, GladParams, GoldMajorityVoteParams, KosParams,
    MaceParams, MajorityVoteParams, MmsrParams, OneCoinDawidSkeneParams, Params, Wawa,
    WeightedDynamicOverlapParams, ZeroBasedSkillParams,
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
    /// Whether the method needs gold labels to fit.
    pub needs_gold: bool,
    /// Whether the method can fix known tasks to their gold labels (`use_gold=true` on the CLI).
    pub accepts_gold: bool,
    /// Whether the method uses worker skills when given (`FitInputs::skills`).
    pub uses_skills: bool,
    /// Whether it cannot run without them.
    pub needs_skills: bool,
    build: Builder,
}

impl Method {
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

/// Every method, in the order `--help` lists them.
pub const METHODS: &[Method] = &[
    Method {
        cli_name: "mv",
        name: "MajorityVote",
        needs_gold: false,
        accepts_gold: false,
        uses_skills: true,
        needs_skills: false,
        build: make::<MajorityVoteParams>,
    },
    Method {
        cli_name: "gold-mv",
        name: "GoldMajorityVote",
        needs_gold: true,
        accepts_gold: true,
        uses_skills: false,
        needs_skills: false,
        build: make::<GoldMajorityVoteParams>,
    },
    Method {
        cli_name: "wawa",
        name: "Wawa",
        needs_gold: false,
        accepts_gold: false,
        uses_skills: false,
        needs_skills: false,
        build: make::<Wawa>,
    },
    Method {
        cli_name: "zbs",
        name: "ZeroBasedSkill",
        needs_gold: false,
        accepts_gold: false,
        uses_skills: false,
        needs_skills: false,
        build: make::<ZeroBasedSkillParams>,
    },
    Method {
        cli_name: "wdo",
        name: "WeightedDynamicOverlap",
        needs_gold: false,
        accepts_gold: false,
        uses_skills: true,
        needs_skills: true,
        build: make::<WeightedDynamicOverlapParams>,
    },
    Method {
        cli_name: "ds",
        name: "DawidSkene",
        needs_gold: false,
        accepts_gold: true,
        uses_skills: false,
        needs_skills: false,
        build: make::<DawidSkeneParams>,
    },
    Method {
        cli_name: "one-coin-ds",
        name: "OneCoinDawidSkene",
        needs_gold: false,
        accepts_gold: true,
        uses_skills: false,
        needs_skills: false,
        build: make::<OneCoinDawidSkeneParams>,
    },
    Method {
        cli_name: "mmsr",
        name: "MMSR",
        needs_gold: false,
        accepts_gold: false,
        uses_skills: false,
        needs_skills: false,
        build: make::<MmsrParams>,
    },
    Method {
        cli_name: "kos",
        name: "KOS",
        needs_gold: false,
        accepts_gold: false,
        uses_skills: false,
        needs_skills: false,
        build: make::<KosParams>,
    },
    Method {
        cli_name: "glad",
        name: "GLAD",
        needs_gold: false,
        accepts_gold: false,
        uses_skills: false,
        needs_skills: false,
        build: make::<GladParams>,
    },
    Method {
        cli_name: "mace",
        name: "MACE",
        needs_gold: false,
        accepts_gold: false,
        uses_skills: false,
        needs_skills: false,
        build: make::<MaceParams>,
    },
];

/// Looks a method up by its CLI name or class name (case-insensitive).
pub fn find_method(name: &str) -> Option<&'static Method> {
    METHODS
        .iter()
        .find(|m| m.cli_name.eq_ignore_ascii_case(name) || m.name.eq_ignore_ascii_case(name))
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
