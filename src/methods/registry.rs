//! The table of methods by name, shared by the CLI (and later the server and `evaluate`).

use crate::error::ParamsError;

use super::{
    Aggregator, GladParams, GoldMajorityVoteParams, MaceParams, MajorityVoteParams, Params, Wawa,
    WeightedDynamicOverlapParams, ZeroBasedSkillParams,
};

/// A method the CLI can run.
pub struct Method {
    /// Short name on the command line (`mv`, `ds`, …).
    pub cli_name: &'static str,
    /// crowd-kit class name, also accepted on the command line.
    pub name: &'static str,
    /// Whether the method needs gold labels to fit.
    pub needs_gold: bool,
    /// Whether the method needs (or, for `mv`, can use) worker skills.
    pub uses_skills: bool,
    build: fn(&[(&str, &str)]) -> Result<Box<dyn Aggregator>, ParamsError>,
}

impl Method {
    /// The aggregator with defaults overridden by `key=value` pairs, validated.
    pub fn build(&self, params: &[(&str, &str)]) -> Result<Box<dyn Aggregator>, ParamsError> {
        (self.build)(params)
    }
}

fn make<P: Params>(pairs: &[(&str, &str)]) -> Result<Box<dyn Aggregator>, ParamsError> {
    Ok(Box::new(P::from_pairs(pairs.iter().copied())?))
}

/// Every method, in the order `--help` lists them.
pub const METHODS: &[Method] = &[
    Method {
        cli_name: "mv",
        name: "MajorityVote",
        needs_gold: false,
        uses_skills: true,
        build: make::<MajorityVoteParams>,
    },
    Method {
        cli_name: "gold-mv",
        name: "GoldMajorityVote",
        needs_gold: true,
        uses_skills: false,
        build: make::<GoldMajorityVoteParams>,
    },
    Method {
        cli_name: "wawa",
        name: "Wawa",
        needs_gold: false,
        uses_skills: false,
        build: make::<Wawa>,
    },
    Method {
        cli_name: "zbs",
        name: "ZeroBasedSkill",
        needs_gold: false,
        uses_skills: false,
        build: make::<ZeroBasedSkillParams>,
    },
    Method {
        cli_name: "wdo",
        name: "WeightedDynamicOverlap",
        needs_gold: false,
        uses_skills: true,
        build: make::<WeightedDynamicOverlapParams>,
    },
    Method {
        cli_name: "glad",
        name: "GLAD",
        needs_gold: false,
        uses_skills: false,
        build: make::<GladParams>,
    },
    Method {
        cli_name: "mace",
        name: "MACE",
        needs_gold: false,
        uses_skills: false,
        build: make::<MaceParams>,
    },
];

/// Looks a method up by its CLI name or class name (case-insensitive).
pub fn find_method(name: &str) -> Option<&'static Method> {
    METHODS
        .iter()
        .find(|m| m.cli_name.eq_ignore_ascii_case(name) || m.name.eq_ignore_ascii_case(name))
}
