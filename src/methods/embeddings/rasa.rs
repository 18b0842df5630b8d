//! RASA: Reliability Aware Sequence Aggregation.

use super::{
    EmbeddingAggregation, EmbeddingAggregator, check_common, chi2_isf, closest, converged,
    cosine_distance, squared_distance, truth_by_task, weighted_means,
};
use std::time::Instant;

use crate::aggregation::{FitReport, IterationLoop, Observer};
use crate::embeddings::{EmbeddingResponses, TrueEmbeddings};
use crate::error::{ParamsError, Result};

/// Answers per worker over `rows`, and each worker's prior reliability ([`prior_skills`]).
pub(crate) fn worker_priors(
    data: &EmbeddingResponses,
    rows: &[usize],
    alpha: f64,
) -> (Vec<usize>, Vec<f64>) {
    let mut counts = vec![0usize; data.n_workers()];
    for &row in rows {
        counts[data.worker(row)] += 1;
    }
    let prior = prior_skills(&counts, alpha);
    (counts, prior)
}

/// The loop of RASA and HRRASA: up to `n_iter` times `step(aggregated)` (new aggregated
/// embeddings, then new skills), stopping when the relative change of the aggregated
/// embeddings falls below `tol`. The loss history starts at the second iteration (crowd-kit's),
/// so it is kept here rather than by the [`IterationLoop`].
pub(crate) fn iterate(
    (n_iter, tol): (usize, f64),
    observer: Option<&dyn Observer>,
    started: Instant,
    aggregated: &mut Vec<f64>,
    mut step: impl FnMut(&mut Vec<f64>),
) -> FitReport {
    let mut last: Option<Vec<f64>> = None;
    let mut losses = Vec::new();
    let mut report = IterationLoop::new(n_iter, observer, started)
        .without_loss_history()
        .run(|_| {
            step(aggregated);
            Ok(converged(&mut last, aggregated, tol, &mut losses))
        });
    report.loss_history = losses;
    report
}

/// The floor of a worker's summed squared distance (crowd-kit's `_EPS`).
const EPS: f64 = 1e-5;

super::rasa_params! {
    /// [`Rasa`]'s parameters (defaults: crowd-kit's `RASA`).
    RasaParams { tol: 1e-9 }
}

impl RasaParams {
    /// Validates the parameters into the method.
    ///
    /// # Errors
    /// [`ParamsError::OutOfRange`] for a negative or non-finite `tol`, or `alpha` outside
    /// (0, 2).
    pub fn check(self) -> Result<Rasa, ParamsError> {
        check_common(self.tol, self.alpha)?;
        Ok(Rasa { params: self })
    }
}

/// **RASA** (crowd-kit `RASA`): J. Li & F. Fukumoto, "A Dataset of Crowdsourced Word
/// Sequences: Collections and Answer Aggregation for Ground Truth Creation", Proceedings of
/// the First Workshop on Aggregating and Analysing Crowdsourced Annotations for NLP
/// (AnnoNLP), 2019, pp. 24–28 ([doi:10.18653/v1/D19-5904](https://doi.org/10.18653/v1/D19-5904)).
///
/// Each worker k has a global reliability β_k, starting at 1, and a prior
/// χ²_{α/2}(|V_k|), the upper α/2 quantile of the χ² distribution with as many degrees of
/// freedom as the worker has responses. Each iteration:
///
/// 1. ê_t = Σ_k β_k e_t^k / Σ_k β_k over the task's rows (the true embedding instead, when
///    given);
/// 2. β_k = χ²_{α/2}(|V_k|) / max(Σ_{t ∈ V_k} ‖e_t^k − ê_t‖², 10⁻⁵);
/// 3. from the second iteration, stop when Σ_t‖ê_t − ê_t^prev‖² / Σ_t‖ê_t‖² < `tol`.
///
/// The answer of a task is the output whose embedding has the least cosine distance to the
/// last ê_t (infinite for an all-zero vector; ties to the earlier row). `skills` are the β
/// after the last iteration. With `n_iter = 0`, ê is the plain mean and every β is 1.
/// Identical to crowd-kit 1.4.2 (chosen outputs equal, reliabilities to 1e-9 on generated
/// data); the loss history is reported, which crowd-kit declares but never sets.
///
/// ```
/// use crowdagg::{EmbeddingAggregator, EmbeddingResponses, Rasa};
///
/// let data = EmbeddingResponses::from_rows([
///     ("t1", "p1", "a", [1.0, 0.0]),
///     ("t1", "p2", "a", [1.0, 0.0]),
///     ("t1", "p3", "b", [0.0, 1.0]),
/// ])?;
/// let fit = Rasa::default().fit(&data)?;
/// assert_eq!(fit.output(&data, 0), "a");
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rasa {
    params: RasaParams,
}

impl Rasa {
    /// Default parameters, to adjust and [`check`](RasaParams::check).
    pub fn params() -> RasaParams {
        RasaParams::default()
    }

    /// The validated parameters.
    pub fn parameters(&self) -> &RasaParams {
        &self.params
    }
}

/// χ²_{α/2}(n_k) of each worker, from its number of rows (NaN for a worker without rows).
pub(crate) fn prior_skills(counts: &[usize], alpha: f64) -> Vec<f64> {
    let mut cache = rustc_hash::FxHashMap::default();
    counts
        .iter()
        .map(|&n| {
            if n == 0 {
                f64::NAN
            } else {
                *cache
                    .entry(n)
                    .or_insert_with(|| chi2_isf(alpha / 2.0, n as f64))
            }
        })
        .collect()
}

/// β_k = prior_k / max(Σ_r ‖e_r − ê_t(r)‖² / γ_r, 10⁻⁵) over the rows `rows` (γ = 1 without
/// local skills); workers without such rows get NaN.
pub(crate) fn update_skills(
    data: &EmbeddingResponses,
    rows: &[usize],
    aggregated: &[f64],
    local: Option<&[f64]>,
    prior: &[f64],
) -> Vec<f64> {
    let dim = data.dim();
    let mut total = vec![0.0; data.n_workers()];
    let mut seen = vec![false; data.n_workers()];
    for &row in rows {
        let t = data.task(row);
        let mut d = squared_distance(data.embedding(row), &aggregated[t * dim..(t + 1) * dim]);
        if let Some(local) = local {
            d /= local[row];
        }
        let w = data.worker(row);
        total[w] += d;
        seen[w] = true;
    }
    total
        .iter()
        .zip(prior)
        .zip(&seen)
        .map(|((&t, &p), &s)| if s { p / t.max(EPS) } else { f64::NAN })
        .collect()
}

impl EmbeddingAggregator for Rasa {
    fn name(&self) -> &'static str {
        "RASA"
    }

    fn fit_observed(
        &self,
        data: &EmbeddingResponses,
        true_embeddings: Option<&TrueEmbeddings>,
        observer: Option<&dyn Observer>,
    ) -> Result<EmbeddingAggregation> {
        let started = Instant::now();
        let truth = truth_by_task(true_embeddings, data)?;
        let rows: Vec<usize> = (0..data.len()).collect();
        let (_, prior) = worker_priors(data, &rows, self.params.alpha);
        let mut skills = vec![1.0; data.n_workers()];
        let mut aggregated = weighted_means(data, |_| 1.0, &truth);
        let limits = (self.params.n_iter, self.params.tol);
        let report = iterate(limits, observer, started, &mut aggregated, |aggregated| {
            *aggregated = weighted_means(data, |row| skills[data.worker(row)], &truth);
            skills = update_skills(data, &rows, aggregated, None, &prior);
        });
        let (chosen, scores) = closest(data, &aggregated, cosine_distance);
        Ok(EmbeddingAggregation {
            chosen,
            aggregated,
            scores,
            skills: Some(skills),
            prior_skills: Some(prior),
            local_skills: None,
            report,
        })
    }
}

crate::methods::params::params_by_inherent_check!(
    RasaParams => Rasa,
);
