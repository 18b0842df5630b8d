//! Data-quality metrics and the entropy-threshold filter of crowd-kit 1.4.2
//! (`crowdkit.metrics.data`, `crowdkit.metrics.workers`, `crowdkit.postprocessing`).
//!
//! Several of them use the one-coin likelihood of a response r for a candidate label c,
//! with K the number of distinct labels in the data and s the worker's skill:
//! π_r(c) = s if y_r = c, else (1 − s)/(K − 1).
//!
//! Every response counts, duplicates included (as crowd-kit, which works on rows). Skills are
//! given per worker id of the [`Responses`] (as in [`Aggregation::skills`]); a `None` skill
//! where one is needed is [`DataError::MissingSkill`].

use crate::aggregation::Aggregation;
use crate::error::DataError;
use crate::methods::Aggregator;
use crate::responses::{Label, Responses};

/// What a per-item metric is computed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// Per task (rows of [`Responses::by_task`]).
    Task,
    /// Per worker (rows of [`Responses::by_worker`]).
    Worker,
}

/// The arithmetic mean (NaN for no values), to aggregate per-item metrics as crowd-kit does.
pub fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

fn skill_of(data: &Responses, skills: Option<&[Option<f64>]>, w: usize) -> Result<f64, DataError> {
    match skills {
        None => Ok(1.0),
        Some(s) => s
            .get(w)
            .copied()
            .flatten()
            .ok_or_else(|| DataError::MissingSkill {
                worker: data.worker_name(w).to_string(),
            }),
    }
}

/// π_r(c) for a response with label `answer` by a worker of skill `skill`.
fn likelihood(skill: f64, answer: Label, candidate: Label, k: usize) -> f64 {
    if answer == candidate {
        skill
    } else {
        (1.0 - skill) / (k - 1) as f64
    }
}

/// Consistency per task: the posterior of the aggregated label under the one-coin model,
/// `P(labels[t]) / Σ_c P(c)` with `P(c) = Π_{r ∈ t} π_r(c)`, or 0 when every P(c) is 0.
/// crowd-kit `consistency(answers, workers_skills, by_task=True)` with the aggregate given.
pub fn consistency_by_task(
    data: &Responses,
    labels: &[Label],
    skills: &[Option<f64>],
) -> Result<Vec<f64>, DataError> {
    let k = data.n_labels();
    let by_task = data.by_task();
    let mut products = vec![0.0; k];
    (0..data.n_tasks())
        .map(|t| {
            let (workers, answers) = by_task.row(t);
            products.fill(1.0);
            for (&w, &y) in workers.iter().zip(answers) {
                let s = skill_of(data, Some(skills), w as usize)?;
                for (c, p) in products.iter_mut().enumerate() {
                    *p *= likelihood(s, y, c as Label, k);
                }
            }
            let total: f64 = products.iter().sum();
            Ok(if total != 0.0 {
                products[labels[t] as usize] / total
            } else {
                0.0
            })
        })
        .collect()
}

/// Mean consistency of a fitted aggregation (its labels and skills), crowd-kit's
/// `consistency(answers, aggregator=...)`. An aggregation without skills is an error, as in
/// crowd-kit.
pub fn consistency(data: &Responses, result: &Aggregation) -> Result<f64, DataError> {
    let skills = result
        .skills
        .as_deref()
        .ok_or(DataError::AggregationWithoutSkills)?;
    Ok(mean(&consistency_by_task(data, &result.labels, skills)?))
}

/// Mean consistency of `aggregator`'s fit on `data` (crowd-kit's default: `MajorityVote`).
pub fn consistency_of(data: &Responses, aggregator: &dyn Aggregator) -> crate::Result<f64> {
    let result = aggregator.aggregate(data)?;
    Ok(consistency(data, &result)?)
}

/// Label uncertainty per task or per worker (index = its id): the entropy (natural log) of
/// v_c = Σ_r π_r(c) over the item's responses, normalised — scipy's
/// `entropy(v / (Σv + 1e-6))`, which renormalises, so the 1e-6 only moves the last bits.
/// Skills default to 1 (then it is the entropy of the label counts). crowd-kit
/// `uncertainty(answers, workers_skills, compute_by, aggregate=False)`.
pub fn uncertainty(
    data: &Responses,
    skills: Option<&[Option<f64>]>,
    by: By,
) -> Result<Vec<f64>, DataError> {
    let present = vec![true; data.n_labels()];
    let items = match by {
        By::Task => data.n_tasks(),
        By::Worker => data.n_workers(),
    };
    (0..items)
        .map(|i| item_uncertainty(data, skills, by, i, &present))
        .collect()
}

/// The mean of [`uncertainty`] (crowd-kit's `aggregate=True`).
pub fn mean_uncertainty(
    data: &Responses,
    skills: Option<&[Option<f64>]>,
    by: By,
) -> Result<f64, DataError> {
    Ok(mean(&uncertainty(data, skills, by)?))
}

/// Uncertainty of one item over the labels marked `present` (K = their number).
fn item_uncertainty(
    data: &Responses,
    skills: Option<&[Option<f64>]>,
    by: By,
    item: usize,
    present: &[bool],
) -> Result<f64, DataError> {
    let k = present.iter().filter(|&&p| p).count();
    let mut sums = vec![0.0; data.n_labels()];
    let (ids, answers) = match by {
        By::Task => data.by_task().row(item),
        By::Worker => data.by_worker().row(item),
    };
    for (&id, &y) in ids.iter().zip(answers) {
        let w = if by == By::Worker { item } else { id as usize };
        let s = skill_of(data, skills, w)?;
        for (c, sum) in sums.iter_mut().enumerate() {
            if present[c] {
                *sum += likelihood(s, y, c as Label, k);
            }
        }
    }
    let total: f64 = sums.iter().sum::<f64>() + 1e-6;
    let scaled: Vec<f64> = sums.iter().map(|v| v / total).collect();
    let norm: f64 = scaled.iter().sum();
    Ok(scaled
        .iter()
        .zip(present)
        .filter(|&(_, &p)| p)
        .map(|(&v, _)| {
            let p = v / norm;
            if p > 0.0 {
                -p * p.ln()
            } else if p == 0.0 {
                0.0
            } else {
                f64::NEG_INFINITY
            }
        })
        .sum())
}

/// Krippendorff's alpha with the nominal (binary) distance, as nltk's
/// `AnnotationTask.alpha()` that crowd-kit calls: tasks with fewer than 2 responses are
/// skipped; with Dis(n) = (n² − Σ_c n_c²)/(n(n − 1)) for label counts n_c summing to n,
/// D_o = Σ_t n_t Dis(n_t·)/Σ_t n_t and D_e = Dis(counts pooled over those tasks);
/// α = 1 − D_o/D_e, and α = 1 when only one label occurs.
///
/// Errors where nltk raises: one worker and one task, or no task with 2 responses.
pub fn alpha_krippendorff(data: &Responses) -> Result<f64, DataError> {
    if data.n_labels() == 1 {
        return Ok(1.0);
    }
    if data.n_workers() == 1 && data.n_tasks() == 1 {
        return Err(DataError::AlphaSingleWorkerAndTask);
    }
    let disagreement = |counts: &[u64]| {
        let n: u64 = counts.iter().sum();
        let pairs: u64 = n * n - counts.iter().map(|c| c * c).sum::<u64>();
        pairs as f64 / (n * (n - 1)) as f64
    };
    let by_task = data.by_task();
    let mut pooled = vec![0u64; data.n_labels()];
    let mut counts = vec![0u64; data.n_labels()];
    let mut observed = 0.0;
    for t in 0..data.n_tasks() {
        let answers = by_task.row(t).1;
        if answers.len() < 2 {
            continue;
        }
        counts.fill(0);
        for &y in answers {
            counts[y as usize] += 1;
        }
        for (p, c) in pooled.iter_mut().zip(&counts) {
            *p += c;
        }
        observed += disagreement(&counts) * answers.len() as f64;
    }
    match pooled.iter().filter(|&&c| c > 0).count() {
        0 => Err(DataError::AlphaNoTaskWithTwoResponses),
        1 => Ok(1.0),
        _ => {
            let total: u64 = pooled.iter().sum();
            Ok(1.0 - (observed / total as f64) / disagreement(&pooled))
        }
    }
}

/// Fraction of responses equal to the task's aggregate, identical (task, worker, label)
/// responses counted once: crowd-kit `accuracy_on_aggregates(answers, aggregates=labels)`.
pub fn accuracy_on_aggregates(data: &Responses, labels: &[Label]) -> f64 {
    let by_task = data.by_task();
    let (mut graded, mut correct) = (0u64, 0u64);
    for (t, &aggregate) in labels.iter().enumerate() {
        let (workers, answers) = by_task.row(t);
        for (_, y) in crate::methods::votes::distinct_pairs(workers, answers) {
            graded += 1;
            correct += u64::from(y == aggregate);
        }
    }
    correct as f64 / graded as f64
}

/// Per worker id, the same fraction over that worker's responses (`by="worker"`).
pub fn accuracy_on_aggregates_by_worker(data: &Responses, labels: &[Label]) -> Vec<Option<f64>> {
    let truth: Vec<Option<Label>> = labels.iter().copied().map(Some).collect();
    crate::methods::worker_accuracy(data, &truth)
}

/// The outcome of [`entropy_threshold`].
#[derive(Debug, Clone)]
pub struct EntropyThreshold {
    /// Worker ids (of the input) whose responses were removed, ascending.
    pub removed_workers: Vec<usize>,
    /// The remaining responses; `None` when nothing remains.
    pub kept: Option<Responses>,
    /// At most half of the responses remain (crowd-kit warns then).
    pub removed_half_or_more: bool,
    /// The entropy cutoff (`None` when no worker had `min_answers` responses).
    pub cutoff: Option<f64>,
}

/// crowd-kit's `entropy_threshold` post-processing: among workers with at least `min_answers`
/// responses, compute each one's label uncertainty (see [`uncertainty`] by worker, over those
/// workers' responses only, K = the labels they used); remove **every** response of the
/// workers whose uncertainty is ≤ the `percentile`-th percentile (numpy's linear
/// interpolation) of those uncertainties. It targets workers who answer the same way too often.
///
/// When no worker has `min_answers` responses nothing is removed (crowd-kit raises).
pub fn entropy_threshold(
    data: &Responses,
    skills: Option<&[Option<f64>]>,
    percentile: f64,
    min_answers: usize,
) -> Result<EntropyThreshold, DataError> {
    if !(0.0..=100.0).contains(&percentile) {
        return Err(DataError::PercentileOutOfRange { percentile });
    }
    let by_worker = data.by_worker();
    let eligible: Vec<usize> = (0..data.n_workers())
        .filter(|&w| by_worker.row(w).0.len() >= min_answers)
        .collect();
    let mut present = vec![false; data.n_labels()];
    for &w in &eligible {
        for &y in by_worker.row(w).1 {
            present[y as usize] = true;
        }
    }
    let uncertainties = eligible
        .iter()
        .map(|&w| item_uncertainty(data, skills, By::Worker, w, &present))
        .collect::<Result<Vec<f64>, DataError>>()?;
    let cutoff = numpy_percentile(&uncertainties, percentile);
    let removed_workers: Vec<usize> = match cutoff {
        Some(cutoff) => eligible
            .iter()
            .zip(&uncertainties)
            .filter(|&(_, &u)| u <= cutoff)
            .map(|(&w, _)| w)
            .collect(),
        None => Vec::new(),
    };
    let mut removed = vec![false; data.n_workers()];
    for &w in &removed_workers {
        removed[w] = true;
    }
    let by_task = data.by_task();
    let mut builder = Responses::builder();
    for t in 0..data.n_tasks() {
        let (workers, answers) = by_task.row(t);
        for (&w, &y) in workers.iter().zip(answers) {
            if !removed[w as usize] {
                builder.push(
                    data.task_name(t),
                    data.worker_name(w as usize),
                    data.label_name(y as usize),
                )?;
            }
        }
    }
    let kept_rows = builder.len();
    let kept = if kept_rows == 0 {
        None
    } else {
        Some(builder.build()?)
    };
    Ok(EntropyThreshold {
        removed_workers,
        kept,
        removed_half_or_more: kept_rows <= data.n_responses() / 2,
        cutoff,
    })
}

/// `np.percentile(values, q)` with the default linear method (`None` for no values).
fn numpy_percentile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let n = sorted.len();
    let index = (n - 1) as f64 * (q / 100.0);
    let below = (index.floor() as usize).min(n - 1);
    let above = (below + 1).min(n - 1);
    let gamma = index - below as f64;
    let (a, b) = (sorted[below], sorted[above]);
    let diff = b - a;
    // numpy's _lerp: from the nearer end, for symmetric rounding.
    Some(if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    })
}

#[cfg(test)]
mod tests {
    use super::numpy_percentile;

    #[test]
    fn percentile_interpolates_linearly() {
        // numpy: np.percentile([3, 1, 2, 10], [0, 10, 50, 100]) = [1, 1.3, 2.5, 10]
        let v = [3.0, 1.0, 2.0, 10.0];
        assert_eq!(numpy_percentile(&v, 0.0), Some(1.0));
        assert!((numpy_percentile(&v, 10.0).unwrap() - 1.3).abs() < 1e-15);
        assert_eq!(numpy_percentile(&v, 50.0), Some(2.5));
        assert_eq!(numpy_percentile(&v, 100.0), Some(10.0));
        assert_eq!(numpy_percentile(&[], 10.0), None);
    }
}
