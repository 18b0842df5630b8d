//! HRRASA: Hybrid Reliability and Representation Aware Sequence Aggregation.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::gleu::{Grams, Symbols, gleu};
use super::rasa::{iterate, update_skills, worker_priors};
use super::{
    EmbeddingAggregation, EmbeddingAggregator, check_common, closest, cosine_distance, dot,
    squared_distance, truth_by_task, weighted_means,
};
use std::time::Instant;

use crate::aggregation::{FitReport, Observer, StopReason};
use crate::embeddings::{EmbeddingResponses, TrueEmbeddings};
use crate::error::{DataError, ParamsError, Result};

/// The similarity of two outputs in HRRASA's local reliability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum OutputSimilarity {
    /// Sentence GLEU (n-grams of 1 to 4 words, nltk's `sentence_gleu`) between the two
    /// outputs split into words: what the paper means.
    #[default]
    Gleu,
    /// crowd-kit 1.4.2's `glue_similarity(hyp, ref)`, which calls
    /// `sentence_gleu([hyp.split()], ref)` with `ref` a plain string and so compares the words
    /// of one output with the *characters* of the other: near 0 unless the outputs have
    /// one-letter words (identical sentences score 0). For parity with crowd-kit.
    CrowdKit,
}

super::rasa_params! {
    /// [`Hrrasa`]'s parameters (defaults: crowd-kit's `HRRASA`, except `output_similarity`).
    HrrasaParams { tol: 1e-9, hybrid }
}

impl HrrasaParams {
    /// Validates the parameters into the method.
    ///
    /// # Errors
    /// [`ParamsError::OutOfRange`] for a negative or non-finite `tol`, `alpha` outside
    /// (0, 2), or a negative or non-finite `lambda_emb`/`lambda_out`.
    pub fn check(self) -> Result<Hrrasa, ParamsError> {
        check_common(self.tol, self.alpha)?;
        for (name, value) in [
            ("lambda_emb", self.lambda_emb),
            ("lambda_out", self.lambda_out),
        ] {
            if !(value >= 0.0 && value.is_finite()) {
                return Err(ParamsError::OutOfRange {
                    name,
                    rule: "a finite number >= 0",
                    value: value.to_string(),
                });
            }
        }
        Ok(Hrrasa { params: self })
    }
}

/// **HRRASA** (crowd-kit `HRRASA`): J. Li, "Crowdsourced Text Sequence Aggregation based on
/// Hybrid Reliability and Representation", SIGIR 2020, pp. 1761–1764
/// ([doi:10.1145/3397271.3401239](https://doi.org/10.1145/3397271.3401239)).
///
/// RASA (see [`Rasa`](crate::Rasa)) with a local reliability γ_t^k of each response: for a task
/// with responses U_t (|U_t| ≥ 2),
///
/// γ_t^k = λ_emb · mean_{k′≠k} exp(−‖e^k − e^{k′}‖² / (‖e^k‖²‖e^{k′}‖²))
///       + λ_out · mean_{k′≠k} sim(out^k, out^{k′})
///
/// (the means divide by |U_t| − 1; crowd-kit's docstring has exp(+…), its code and this use
/// exp(−…)). Each iteration, starting from β = 1:
///
/// 1. ê_t = Σ_k γ_t^k β_k e_t^k / Σ_k γ_t^k β_k (the true embedding instead, when given);
/// 2. β_k = χ²_{α/2}(|V_k|) / max(Σ_t ‖e_t^k − ê_t‖² / γ_t^k, 10⁻⁵);
/// 3. from the second iteration, record Σ‖ê − ê_prev‖²/Σ‖ê‖² and stop below `tol`.
///
/// Tasks with a single response take no part: their aggregate is that response's embedding
/// (true embeddings are not applied to them, as in crowd-kit), their γ is NaN, and workers
/// who only answered such tasks get NaN reliabilities. The answer is the output of least
/// cosine distance to ê_t (ties to the earlier row). With `n_iter = 0`, ê is the γ-weighted
/// mean and every β is 1.
///
/// crowd-kit 1.4.2's `HRRASA` fails under pandas 3 (`pd.Series(<arrays>, dtype=float64)`);
/// this one follows its code under pandas 2, and equals it (with
/// [`OutputSimilarity::CrowdKit`]: same chosen outputs, reliabilities and loss history to
/// 1e-9 on generated data). A (task, worker) pair answered twice is refused
/// ([`DataError::DuplicateResponse`]): crowd-kit's join on (task, worker) would count such
/// rows several times over. crowd-kit's `calculate_ranks` is not offered.
///
/// ```
/// use crowdagg::{EmbeddingAggregator, EmbeddingResponses, Hrrasa};
///
/// let data = EmbeddingResponses::from_rows([
///     ("t1", "p1", "a", [1.0, 0.0]),
///     ("t1", "p2", "a", [1.0, 0.0]),
///     ("t1", "p3", "b", [0.0, 1.0]),
/// ])?;
/// let fit = Hrrasa::default().fit(&data)?;
/// assert_eq!(fit.output(&data, 0), "a");
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Hrrasa {
    params: HrrasaParams,
}

impl Hrrasa {
    /// Default parameters, to adjust and [`check`](HrrasaParams::check).
    pub fn params() -> HrrasaParams {
        HrrasaParams::default()
    }

    /// The validated parameters.
    pub fn parameters(&self) -> &HrrasaParams {
        &self.params
    }

    /// γ of every row of the tasks with at least two rows (NaN elsewhere). Tasks are
    /// independent and computed in parallel; each value is computed in one thread, in row
    /// order, so the result does not depend on the thread count.
    fn local_skills(&self, data: &EmbeddingResponses) -> Vec<f64> {
        let per_task: Vec<Vec<f64>> = (0..data.n_tasks())
            .into_par_iter()
            .map(|t| self.task_local_skills(data, data.task_rows(t)))
            .collect();
        let mut local = vec![f64::NAN; data.len()];
        for (t, values) in per_task.into_iter().enumerate() {
            for (&row, value) in data.task_rows(t).iter().zip(values) {
                local[row as usize] = value;
            }
        }
        local
    }

    /// γ of the rows of one task (NaN for a single row).
    fn task_local_skills(&self, data: &EmbeddingResponses, rows: &[u32]) -> Vec<f64> {
        let p = &self.params;
        if rows.len() < 2 {
            return vec![f64::NAN; rows.len()];
        }
        let mut symbols = Symbols::default();
        // The output of each row as the reference (its words) and as the hypothesis.
        let references: Vec<Grams> = rows
            .iter()
            .map(|&r| Grams::of(&symbols.words(data.output(r as usize))))
            .collect();
        let hypotheses: Vec<Grams> = match p.output_similarity {
            OutputSimilarity::Gleu => references.clone(),
            OutputSimilarity::CrowdKit => rows
                .iter()
                .map(|&r| Grams::of(&symbols.chars(data.output(r as usize))))
                .collect(),
        };
        let norms: Vec<f64> = rows
            .iter()
            .map(|&r| {
                let e = data.embedding(r as usize);
                dot(e, e)
            })
            .collect();
        let others = (rows.len() - 1) as f64;
        rows.iter()
            .enumerate()
            .map(|(i, &row)| {
                let (mut emb_sum, mut seq_sum) = (0.0, 0.0);
                let e = data.embedding(row as usize);
                for (j, &other) in rows.iter().enumerate() {
                    if data.worker(other as usize) == data.worker(row as usize) {
                        continue;
                    }
                    let diff = squared_distance(e, data.embedding(other as usize));
                    emb_sum += (-diff / (norms[i] * norms[j])).exp();
                    seq_sum += gleu(&references[i], &hypotheses[j]);
                }
                p.lambda_emb * (emb_sum / others) + p.lambda_out * (seq_sum / others)
            })
            .collect()
    }
}

impl EmbeddingAggregator for Hrrasa {
    fn name(&self) -> &'static str {
        "HRRASA"
    }

    fn fit_observed(
        &self,
        data: &EmbeddingResponses,
        true_embeddings: Option<&TrueEmbeddings>,
        observer: Option<&dyn Observer>,
    ) -> Result<EmbeddingAggregation> {
        let started = Instant::now();
        if let Some((first, second)) = data.first_duplicate() {
            return Err(DataError::DuplicateResponse {
                task: data.task_name(data.task(first)).to_string(),
                worker: data.worker_name(data.worker(first)).to_string(),
                first: first as u64 + 1,
                second: second as u64 + 1,
            }
            .into());
        }
        let truth = truth_by_task(true_embeddings, data)?;
        let dim = data.dim();
        let single: Vec<bool> = (0..data.n_tasks())
            .map(|t| data.task_rows(t).len() == 1)
            .collect();
        // The rows HRRASA iterates on, in input order.
        let rows: Vec<usize> = (0..data.len()).filter(|&r| !single[data.task(r)]).collect();
        let local = self.local_skills(data);
        let (counts, prior) = worker_priors(data, &rows, self.params.alpha);
        let mut skills: Vec<f64> = counts
            .iter()
            .map(|&n| if n > 0 { 1.0 } else { f64::NAN })
            .collect();
        // Single-answer tasks are skipped by the weighted means (their own embedding is
        // filled in below), so their truth entries do not matter.
        let mut aggregated =
            weighted_means(data, |row| skills[data.worker(row)] * local[row], &truth);
        let mut report = FitReport::new(0, StopReason::MaxIterations, Vec::new());
        if !rows.is_empty() {
            let limits = (self.params.n_iter, self.params.tol);
            report = iterate(limits, observer, started, &mut aggregated, |aggregated| {
                *aggregated =
                    weighted_means(data, |row| skills[data.worker(row)] * local[row], &truth);
                for t in (0..data.n_tasks()).filter(|&t| single[t]) {
                    aggregated[t * dim..(t + 1) * dim].fill(0.0);
                }
                skills = update_skills(data, &rows, aggregated, Some(&local), &prior);
            });
        }
        for t in (0..data.n_tasks()).filter(|&t| single[t]) {
            let row = data.task_rows(t)[0] as usize;
            aggregated[t * dim..(t + 1) * dim].copy_from_slice(data.embedding(row));
        }
        let (chosen, scores) = closest(data, &aggregated, cosine_distance);
        Ok(EmbeddingAggregation {
            chosen,
            aggregated,
            scores,
            skills: Some(skills),
            prior_skills: Some(prior),
            local_skills: Some(local),
            report,
        })
    }
}

crate::methods::params::params_by_inherent_check!(
    HrrasaParams => Hrrasa,
);
