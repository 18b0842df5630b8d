//! Aggregation methods, one module each, behind the [`Aggregator`] trait.

mod binary_relevance;
pub(crate) mod dawid_skene;
mod embeddings;
mod glad;
mod kos;
mod mace;
mod majority_vote;
mod mask_patterns;
mod mmsr;
mod pairwise;
mod params;
mod registry;
mod requirements;
mod segmentation;
mod texts;
pub(crate) mod votes;
mod wdo;
mod zero_based_skill;

pub use binary_relevance::{BinaryRelevance, MultiLabelAggregation, MultiLabelResponses};
pub use dawid_skene::{
    Compat, DawidSkene, DawidSkeneParams, InitialErrorStrategy, InitialErrors, OneCoinDawidSkene,
    OneCoinDawidSkeneParams,
};
pub use embeddings::{
    ClosestToAverage, ClosestToAverageParams, Distance, EmbeddingAggregation, EmbeddingAggregator,
    Hrrasa, HrrasaParams, OutputSimilarity, Rasa, RasaParams,
};
pub use glad::{Glad, GladFit, GladParams};
pub use kos::{Kos, KosParams};
pub use mace::{Mace, MaceFit, MaceMethod, MaceParams};
pub use majority_vote::{
    GoldMajorityVote, GoldMajorityVoteParams, MajorityVote, MajorityVoteParams, MissingSkill,
    OnMissingSkill, Wawa,
};
pub use mmsr::{Mmsr, MmsrParams};
pub use pairwise::{
    BradleyTerry, BradleyTerryParams, NoisyBradleyTerry, NoisyBradleyTerryParams,
    PairwiseAggregation, PairwiseAggregator, PairwiseCompat, PairwiseParams,
};
pub use params::{ParamReport, Params};
pub use registry::{
    BinaryRelevanceParams, METHODS, Method, binary_relevance, binary_relevance_from_pairs,
    find_method, single_label_methods,
};
pub use requirements::{Requirements, Use};
pub use segmentation::{
    SegmentationAggregation, SegmentationAggregator, SegmentationEm, SegmentationEmParams,
    SegmentationMajorityVote, SegmentationMajorityVoteParams, SegmentationRasa,
    SegmentationRasaParams,
};
pub use texts::{
    Detokenizer, Rover, RoverParams, TextAggregation, TextAggregator, TextHrrasa, TextHrrasaParams,
    TextRasa, TextRasaParams, Tokenizer,
};
pub(crate) use votes::worker_accuracy;
pub use wdo::{WeightedDynamicOverlap, WeightedDynamicOverlapParams};
pub use zero_based_skill::{ZeroBasedSkill, ZeroBasedSkillParams};

use crate::aggregation::{Aggregation, Gold, Observer, Skills};
use crate::error::Result;
use crate::responses::Responses;

/// The result for an empty response table: no tasks, so no labels, an empty probability
/// matrix and no workers (crowd-kit returns empty frames); nothing was fitted.
pub(crate) fn empty_result() -> Aggregation {
    Aggregation {
        labels: Vec::new(),
        probabilities: Some(ndarray::Array2::zeros((0, 0))),
        scores: None,
        confidence: Vec::new(),
        skills: Some(Vec::new()),
        errors: None,
        priors: None,
        report: crate::aggregation::FitReport::not_iterative(),
    }
}

/// Optional inputs of a fit. Methods that do not use an input ignore it.
#[derive(Clone, Copy, Default)]
pub struct FitInputs<'a> {
    /// Known true labels (GoldMajorityVote's training target, Dawid-Skene's fixed posteriors).
    pub gold: Option<&'a Gold>,
    /// Per-worker skills (weighted majority vote, weighted dynamic overlap).
    pub skills: Option<&'a Skills>,
    /// Called once per iteration by iterative methods.
    pub observer: Option<&'a dyn Observer>,
    /// Only the labels and their confidences will be read: a method may then leave out
    /// (as `None`) what it computes after the fit only to report it — the majority votes'
    /// per-label probabilities and MajorityVote's agreement skills. Labels and confidences are
    /// the same bits either way.
    pub labels_only: bool,
}

impl<'a> FitInputs<'a> {
    /// Passes gold labels (task name → true label name).
    pub fn gold(mut self, gold: &'a Gold) -> Self {
        self.gold = Some(gold);
        self
    }

    /// Passes worker skills (worker name → skill).
    pub fn skills(mut self, skills: &'a Skills) -> Self {
        self.skills = Some(skills);
        self
    }

    /// Passes an observer, called once per iteration.
    pub fn observer(mut self, observer: &'a dyn Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Sets the field `labels_only`: only the labels and confidences will be read.
    pub fn labels_only(mut self) -> Self {
        self.labels_only = true;
        self
    }
}

/// An aggregation method with validated parameters.
pub trait Aggregator: Send + Sync {
    /// The crowd-kit-style class name (`"MajorityVote"`, `"DawidSkene"`, …).
    fn name(&self) -> &'static str;

    /// Aggregates with side inputs (gold labels, skills, an observer).
    fn aggregate_with(&self, data: &Responses, inputs: FitInputs<'_>) -> Result<Aggregation>;

    /// What the method needs besides the responses (gold labels, skills, a label count): its
    /// registry entry's declaration ([`Method::requires`]), none for a method outside the
    /// registry.
    fn requirements(&self) -> Requirements {
        find_method(self.name()).map_or(Requirements::NONE, |m| m.requires)
    }

    /// Checks [`Aggregator::requirements`], then aggregates: a method whose requirements are
    /// not met fails with a typed error before fitting.
    fn fit_checked(&self, data: &Responses, inputs: FitInputs<'_>) -> Result<Aggregation> {
        self.requirements().check(self.name(), data, &inputs)?;
        self.aggregate_with(data, inputs)
    }

    /// Aggregates the responses alone.
    fn aggregate(&self, data: &Responses) -> Result<Aggregation> {
        self.aggregate_with(data, FitInputs::default())
    }

    /// The checked parameters as `(name, value)` pairs in declaration order, for reports
    /// (the `params` object of `--format json`).
    fn params(&self) -> ParamReport;
}
