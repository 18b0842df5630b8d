//! Aggregation of pairwise comparisons into item scores: [`BradleyTerry`] and
//! [`NoisyBradleyTerry`], on [`PairwiseResponses`].
//!
//! They mirror the classification methods' design: a parameter builder validated by
//! [`PairwiseParams::check`] (typed [`ParamsError`] before any fitting) that yields a
//! [`PairwiseAggregator`], whose fit returns a [`PairwiseAggregation`] (scores per item, worker
//! biases and skills where the model has them, and a [`FitReport`]).

mod bradley_terry;
mod noisy_bt;

pub use bradley_terry::{BradleyTerry, BradleyTerryParams};
pub use noisy_bt::{NoisyBradleyTerry, NoisyBradleyTerryParams};

use crate::aggregation::{FitReport, Observer};
use crate::error::Result;
use crate::pairwise::PairwiseResponses;

use super::params::ParamReport;
pub use super::params::Params as PairwiseParams;
pub(crate) use crate::numeric::sum::numpy_sum;

/// Which behaviour a pairwise method follows: the correct algorithm, or crowd-kit 1.4.2's,
/// bugs included (each method's docs list them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum PairwiseCompat {
    /// The algorithm as published (default).
    #[default]
    #[serde(rename = "correct", alias = "corrected")]
    Correct,
    /// crowd-kit 1.4.2's code, bugs included, for parity with existing pipelines.
    #[serde(rename = "crowd-kit", alias = "crowdkit")]
    CrowdKit,
}

/// What a pairwise method returns. Vectors are indexed by item or worker id of the
/// [`PairwiseResponses`] fitted.
#[derive(Debug, Clone, PartialEq)]
pub struct PairwiseAggregation {
    /// Score of each item (crowd-kit's `scores_`): higher ranks first.
    pub scores: Vec<f64>,
    /// Per-worker bias (probability of choosing the left item when not judging), where the
    /// model has one (crowd-kit's `biases_`).
    pub biases: Option<Vec<f64>>,
    /// Per-worker skill (probability of judging by the items), where the model has one
    /// (crowd-kit's `skills_`).
    pub skills: Option<Vec<f64>>,
    /// Iterations, why the fit stopped, and the objective after each iteration.
    pub report: FitReport,
}

impl PairwiseAggregation {
    /// Item ids from the highest score to the lowest (ties by id).
    pub fn ranking(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.scores.len()).collect();
        order.sort_by(|&a, &b| self.scores[b].total_cmp(&self.scores[a]).then(a.cmp(&b)));
        order
    }
}

/// A pairwise aggregation method with validated parameters.
pub trait PairwiseAggregator: Send + Sync {
    /// crowd-kit's class name (`"BradleyTerry"`, `"NoisyBradleyTerry"`).
    fn name(&self) -> &'static str;

    /// Fits the model, calling `observer` once per iteration.
    fn fit_with(
        &self,
        data: &PairwiseResponses,
        observer: Option<&dyn Observer>,
    ) -> Result<PairwiseAggregation>;

    /// Fits the model.
    fn fit(&self, data: &PairwiseResponses) -> Result<PairwiseAggregation> {
        self.fit_with(data, None)
    }

    /// The parameters as `(name, value)` pairs, for reports.
    fn params(&self) -> ParamReport;
}
