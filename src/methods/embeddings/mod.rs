//! Aggregation of outputs with embeddings: pick, for each task, the output whose embedding is
//! closest to an aggregated embedding — [`ClosestToAverage`] (plain mean), [`Rasa`] (mean
//! weighted by worker reliabilities) and [`Hrrasa`] (weighted also by per-task local
//! reliabilities) — on [`EmbeddingResponses`].
//!
//! They mirror the other families' design: a parameter struct (serde, defaults = crowd-kit's)
//! validated by `check()` into the method (a typed [`ParamsError`] before any fitting), an
//! [`EmbeddingAggregator`] trait, and an [`EmbeddingAggregation`] result: the chosen row per
//! task (its output and embedding), the aggregated embeddings, each row's distance to its
//! task's aggregate and, for RASA and HRRASA, the worker reliabilities.
//!
//! Ties go to the first row of the task in input order (crowd-kit: `idxmin`).

mod chi2;
mod closest_to_average;
mod gleu;
mod hrrasa;
mod rasa;

pub use closest_to_average::{ClosestToAverage, ClosestToAverageParams, Distance};
pub use hrrasa::{Hrrasa, HrrasaParams, OutputSimilarity};
pub use rasa::{Rasa, RasaParams};

pub(crate) use chi2::chi2_isf;
pub(crate) use gleu::python_split;

use crate::aggregation::{FitReport, Observer, StopReason};
use crate::embeddings::{EmbeddingResponses, TrueEmbeddings};
use crate::error::{ParamsError, Result};

/// Declares a RASA parameters struct (`n_iter`, `tol`, `alpha`) with crowd-kit's defaults and
/// the given `tol`; with `hybrid`, HRRASA's (its local reliability's `lambda_emb` and
/// `lambda_out` before `alpha`, `output_similarity` after: declaration order is report order).
/// [`RasaParams`], [`HrrasaParams`] and their text versions
/// ([`TextRasaParams`](crate::methods::TextRasaParams),
/// [`TextHrrasaParams`](crate::methods::TextHrrasaParams)) differ only in `tol`.
macro_rules! rasa_params {
    ($(#[$meta:meta])* $params:ident { tol: $tol:literal }) => {
        $crate::methods::embeddings::rasa_params!(@declare $(#[$meta])* $params $tol [] []);
    };
    ($(#[$meta:meta])* $params:ident { tol: $tol:literal, hybrid }) => {
        $crate::methods::embeddings::rasa_params!(@declare $(#[$meta])* $params $tol [
            /// Weight λ_emb of the embedding part of the local reliability (default 0.5).
            lambda_emb: f64 = 0.5,
            /// Weight λ_out of the output (text) part of the local reliability (default 0.5).
            lambda_out: f64 = 0.5,
        ] [
            /// The output similarity of the local reliability (default word-level GLEU;
            /// [`OutputSimilarity::CrowdKit`](crate::methods::OutputSimilarity::CrowdKit) for
            /// crowd-kit's).
            output_similarity: $crate::methods::OutputSimilarity =
                $crate::methods::OutputSimilarity::Gleu,
        ]);
    };
    (
        @declare $(#[$meta:meta])* $params:ident $tol:literal
        [$( $(#[$before_meta:meta])* $before:ident: $before_type:ty = $before_default:expr, )*]
        [$( $(#[$after_meta:meta])* $after:ident: $after_type:ty = $after_default:expr, )*]
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $params {
            /// Maximum number of iterations (default 100; 0 gives the first estimate).
            pub n_iter: usize,
            #[doc = concat!(
                "Stop when Σ‖ê − ê_prev‖² / Σ‖ê‖² falls below this (default ", stringify!($tol), ")."
            )]
            pub tol: f64,
            $( $(#[$before_meta])* pub $before: $before_type, )*
            /// Significance level α of the χ² quantile in the prior reliability (default 0.05).
            pub alpha: f64,
            $( $(#[$after_meta])* pub $after: $after_type, )*
        }

        impl Default for $params {
            fn default() -> Self {
                Self {
                    n_iter: 100,
                    tol: $tol,
                    $( $before: $before_default, )*
                    alpha: 0.05,
                    $( $after: $after_default, )*
                }
            }
        }
    };
}
pub(crate) use rasa_params;

/// What an embedding method returns. Vectors are indexed by the task, worker or row ids of the
/// [`EmbeddingResponses`] fitted.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingAggregation {
    /// The chosen row of each task (crowd-kit's `embeddings_and_outputs_`): see
    /// [`EmbeddingAggregation::output`] and [`EmbeddingAggregation::embedding`].
    pub chosen: Vec<usize>,
    /// The aggregated embedding of each task, tasks × [`EmbeddingResponses::dim`] row-major
    /// (crowd-kit's `aggregated_embeddings_`; for [`ClosestToAverage`] the average).
    pub aggregated: Vec<f64>,
    /// Each row's distance to its task's aggregated embedding (crowd-kit's `scores_`).
    pub scores: Vec<f64>,
    /// The global reliability β of each worker (crowd-kit's `skills_`), for RASA and HRRASA.
    /// NaN for a worker HRRASA could not rate (only single-answer tasks), as crowd-kit.
    pub skills: Option<Vec<f64>>,
    /// The prior reliability χ²(α/2, n_k) of each worker (crowd-kit's `prior_skills_`), NaN
    /// where `skills` is.
    pub prior_skills: Option<Vec<f64>>,
    /// HRRASA's local reliability γ of each row (NaN for single-answer tasks).
    pub local_skills: Option<Vec<f64>>,
    /// Iterations, why the fit stopped, and the relative change of the aggregated embeddings
    /// after each iteration from the second on (crowd-kit's HRRASA `loss_history_`; RASA
    /// computes it too but crowd-kit never stores it).
    pub report: FitReport,
}

impl EmbeddingAggregation {
    /// The chosen output of task `task`.
    pub fn output<'a>(&self, data: &'a EmbeddingResponses, task: usize) -> &'a str {
        data.output(self.chosen[task])
    }

    /// The embedding of the chosen output of task `task`.
    pub fn embedding<'a>(&self, data: &'a EmbeddingResponses, task: usize) -> &'a [f64] {
        data.embedding(self.chosen[task])
    }

    /// The chosen output of every task, in task id order.
    pub fn outputs<'a>(&self, data: &'a EmbeddingResponses) -> Vec<&'a str> {
        self.chosen.iter().map(|&row| data.output(row)).collect()
    }

    /// The aggregated embedding of task `task`.
    pub fn aggregated(&self, task: usize) -> &[f64] {
        let dim = self.aggregated.len() / self.chosen.len().max(1);
        &self.aggregated[task * dim..(task + 1) * dim]
    }
}

/// An embedding aggregation method with validated parameters.
pub trait EmbeddingAggregator: Send + Sync {
    /// crowd-kit's class name (`"ClosestToAverage"`, `"RASA"`, `"HRRASA"`, `"TextRASA"`, …).
    fn name(&self) -> &'static str;

    /// Fits the method; `true_embeddings` replace the aggregated embedding of their tasks, and
    /// the iterative methods (RASA, HRRASA and their text forms) call `observer` once per
    /// iteration, which can stop the fit ([`StopReason::Interrupted`](crate::StopReason)).
    ///
    /// # Errors
    /// [`DataError`](crate::DataError)s about the data or the true embeddings (a true
    /// embedding of another length; for HRRASA a (task, worker) pair answered twice).
    fn fit_observed(
        &self,
        data: &EmbeddingResponses,
        true_embeddings: Option<&TrueEmbeddings>,
        observer: Option<&dyn Observer>,
    ) -> Result<EmbeddingAggregation>;

    /// [`EmbeddingAggregator::fit_observed`] without an observer.
    ///
    /// # Errors
    /// As [`EmbeddingAggregator::fit_observed`].
    fn fit_with(
        &self,
        data: &EmbeddingResponses,
        true_embeddings: Option<&TrueEmbeddings>,
    ) -> Result<EmbeddingAggregation> {
        self.fit_observed(data, true_embeddings, None)
    }

    /// Fits the method without true embeddings.
    fn fit(&self, data: &EmbeddingResponses) -> Result<EmbeddingAggregation> {
        self.fit_with(data, None)
    }
}

/// The true embedding of each task of `data` (all `None` without true embeddings).
pub(crate) fn truth_by_task<'a>(
    true_embeddings: Option<&'a TrueEmbeddings>,
    data: &EmbeddingResponses,
) -> Result<Vec<Option<&'a [f64]>>> {
    match true_embeddings {
        Some(t) => Ok(t.resolve(data)?),
        None => Ok(vec![None; data.n_tasks()]),
    }
}

/// Σ (a − b)², in order.
pub(crate) fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |s, (x, y)| s + (x - y) * (x - y))
}

/// Σ a·b, in order.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |s, (x, y)| s + x * y)
}

/// crowd-kit's `_cosine_distance` (RASA, HRRASA): infinity when either vector is all zeros,
/// else scipy's `1 − u·v/√(u·u v·v)` clipped to `[0, 2]`.
pub(crate) fn cosine_distance(u: &[f64], v: &[f64]) -> f64 {
    if u.iter().all(|&x| x == 0.0) || v.iter().all(|&x| x == 0.0) {
        return f64::INFINITY;
    }
    let dist = 1.0 - dot(u, v) / (dot(u, u) * dot(v, v)).sqrt();
    // np.clip keeps NaN.
    if dist.is_nan() {
        dist
    } else {
        dist.clamp(0.0, 2.0)
    }
}

/// Scores every row by `distance(embedding, aggregated[task])` and picks, per task, the first
/// row of least score (NaN scores are skipped, as pandas' `idxmin`; a task whose scores are all
/// NaN gets its first row).
pub(crate) fn closest(
    data: &EmbeddingResponses,
    aggregated: &[f64],
    distance: impl Fn(&[f64], &[f64]) -> f64 + Sync,
) -> (Vec<usize>, Vec<f64>) {
    let dim = data.dim();
    let scores: Vec<f64> = (0..data.len())
        .map(|row| {
            let t = data.task(row);
            distance(data.embedding(row), &aggregated[t * dim..(t + 1) * dim])
        })
        .collect();
    let chosen = (0..data.n_tasks())
        .map(|t| {
            let rows = data.task_rows(t);
            let mut best = rows[0] as usize;
            let mut best_score = f64::NAN;
            for &row in rows {
                let s = scores[row as usize];
                if !s.is_nan() && (best_score.is_nan() || s < best_score) {
                    best = row as usize;
                    best_score = s;
                }
            }
            best
        })
        .collect();
    (chosen, scores)
}

/// The weighted mean of each task's embeddings, Σ w e / Σ w over its rows in input order,
/// replaced by the task's true embedding where one is given.
pub(crate) fn weighted_means(
    data: &EmbeddingResponses,
    weight: impl Fn(usize) -> f64,
    truth: &[Option<&[f64]>],
) -> Vec<f64> {
    let dim = data.dim();
    let mut out = vec![0.0; data.n_tasks() * dim];
    for t in 0..data.n_tasks() {
        let target = &mut out[t * dim..(t + 1) * dim];
        if let Some(true_embedding) = truth[t] {
            target.copy_from_slice(true_embedding);
            continue;
        }
        let mut total = 0.0;
        for &row in data.task_rows(t) {
            let w = weight(row as usize);
            total += w;
            for (acc, x) in target.iter_mut().zip(data.embedding(row as usize)) {
                *acc += w * x;
            }
        }
        for acc in target.iter_mut() {
            *acc /= total;
        }
    }
    out
}

/// Σ‖a − b‖² / Σ‖a‖² over all tasks: the relative change RASA and HRRASA stop on.
pub(crate) fn relative_change(current: &[f64], previous: &[f64]) -> f64 {
    squared_distance(current, previous) / dot(current, current)
}

/// The end of a RASA/HRRASA iteration: from the second iteration on, records the relative change
/// of the aggregated embeddings in `losses` and says `Converged` when it is below `tol`; keeps
/// `current` as the previous embeddings. Returns the iteration's objective (that change; NaN on
/// the first iteration) and the verdict, as [`IterationLoop::run`](crate::aggregation::IterationLoop::run) takes them.
pub(crate) fn converged(
    previous: &mut Option<Vec<f64>>,
    current: &[f64],
    tol: f64,
    losses: &mut Vec<f64>,
) -> (f64, Option<StopReason>) {
    let step = match previous {
        Some(previous) => {
            let loss = relative_change(current, previous);
            losses.push(loss);
            (loss, (loss < tol).then_some(StopReason::Converged))
        }
        None => (f64::NAN, None),
    };
    *previous = Some(current.to_vec());
    step
}

/// The check shared by RASA and HRRASA parameters.
pub(crate) fn check_common(tol: f64, alpha: f64) -> Result<(), ParamsError> {
    if !(tol >= 0.0 && tol.is_finite()) {
        return Err(ParamsError::OutOfRange {
            name: "tol",
            rule: "a finite number >= 0",
            value: tol.to_string(),
        });
    }
    if !(alpha > 0.0 && alpha < 2.0) {
        return Err(ParamsError::OutOfRange {
            name: "alpha",
            rule: "in (0, 2) (alpha/2 is a tail probability)",
            value: alpha.to_string(),
        });
    }
    Ok(())
}
