//! Closest to average: the output whose embedding is nearest the task's mean embedding.

use serde::{Deserialize, Serialize};

use super::{
    EmbeddingAggregation, EmbeddingAggregator, closest, cosine_distance, squared_distance,
    truth_by_task, weighted_means,
};
use crate::aggregation::{FitReport, Observer};
use crate::embeddings::{EmbeddingResponses, TrueEmbeddings};
use crate::error::{ParamsError, Result};

/// A distance between two embeddings (crowd-kit takes any callable; these are the usual ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Distance {
    /// ‖a − b‖₂ (`np.linalg.norm(a - b)`).
    #[default]
    Euclidean,
    /// ‖a − b‖₂²: the same choices as `Euclidean`, other scores.
    SquaredEuclidean,
    /// 1 − a·b/(‖a‖‖b‖) clipped to [0, 2] (`scipy.spatial.distance.cosine`), infinite when
    /// either vector is all zeros (RASA's `_cosine_distance`).
    Cosine,
}

impl Distance {
    /// The distance between `a` and `b`.
    pub fn between(self, a: &[f64], b: &[f64]) -> f64 {
        match self {
            Self::Euclidean => squared_distance(a, b).sqrt(),
            Self::SquaredEuclidean => squared_distance(a, b),
            Self::Cosine => cosine_distance(a, b),
        }
    }
}

/// [`ClosestToAverage`]'s parameters.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClosestToAverageParams {
    /// The distance from each embedding to the task's average (default Euclidean; crowd-kit
    /// has no default).
    pub distance: Distance,
}

impl ClosestToAverageParams {
    /// Validates the parameters (every value is valid).
    ///
    /// # Errors
    /// None at present.
    pub fn check(self) -> Result<ClosestToAverage, ParamsError> {
        Ok(ClosestToAverage { params: self })
    }
}

/// **Closest to Average** (crowd-kit `ClosestToAverage`): for each task, the output whose
/// embedding is nearest the mean of the task's embeddings.
///
/// ê_t = (1/|U_t|) Σ_{r ∈ U_t} e_r, replaced by the task's true embedding when one is given;
/// score_r = distance(e_r, ê_t); the chosen row is the first of least score (pandas' `idxmin`:
/// ties go to the earlier row). The method of crowd-kit; no paper.
///
/// ```
/// use crowdagg::{ClosestToAverage, EmbeddingAggregator, EmbeddingResponses};
///
/// let data = EmbeddingResponses::from_rows([
///     ("t1", "w1", "a", [1.0, 0.0]),
///     ("t1", "w2", "a", [1.0, 0.2]),
///     ("t1", "w3", "b", [0.0, 1.0]),
/// ])?;
/// let fit = ClosestToAverage::default().fit(&data)?;
/// assert_eq!(fit.output(&data, 0), "a");
/// assert_eq!(fit.chosen, [1]); // [1, 0.2] is nearest the mean [2/3, 0.4]
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ClosestToAverage {
    params: ClosestToAverageParams,
}

impl ClosestToAverage {
    /// Default parameters, to adjust and [`check`](ClosestToAverageParams::check).
    pub fn params() -> ClosestToAverageParams {
        ClosestToAverageParams::default()
    }

    /// The validated parameters.
    pub fn parameters(&self) -> &ClosestToAverageParams {
        &self.params
    }
}

impl EmbeddingAggregator for ClosestToAverage {
    fn name(&self) -> &'static str {
        "ClosestToAverage"
    }

    fn fit_observed(
        &self,
        data: &EmbeddingResponses,
        true_embeddings: Option<&TrueEmbeddings>,
        _: Option<&dyn Observer>, // not iterative
    ) -> Result<EmbeddingAggregation> {
        let truth = truth_by_task(true_embeddings, data)?;
        let aggregated = weighted_means(data, |_| 1.0, &truth);
        let distance = self.params.distance;
        let (chosen, scores) = closest(data, &aggregated, |a, b| distance.between(a, b));
        Ok(EmbeddingAggregation {
            chosen,
            aggregated,
            scores,
            skills: None,
            prior_skills: None,
            local_skills: None,
            report: FitReport::not_iterative(),
        })
    }
}

crate::methods::params::params_by_inherent_check!(
    ClosestToAverageParams => ClosestToAverage,
);
