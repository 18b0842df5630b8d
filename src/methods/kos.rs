//! Karger–Oh–Shah iterative inference (crowd-kit `KOS`), binary labels only.

use rayon::prelude::*;

use std::time::Instant;

use crate::aggregation::{Aggregation, IterationLoop, StopReason};
use crate::error::{DataError, Result};
use crate::responses::{Label, Responses};

use super::params::{ParamReport, report};
use super::{Aggregator, FitInputs};
use crate::numeric::numpy_random::RandomState;

/// Message passing on the task–worker graph (Karger, Oh & Shah, "Iterative Learning for
/// Reliable Crowdsourcing Systems", NeurIPS 2011; "Budget-Optimal Task Allocation for Reliable
/// Crowdsourcing Systems", Operations Research 62(1), 2014), as crowd-kit 1.4.2 implements it.
///
/// The two labels become A_r = +1 (the smaller label) and −1. Each response starts with a
/// worker message y_r ~ N(1, 1) drawn from numpy's legacy `RandomState(random_state)` normal
/// stream, one per response in canonical order (by task, then worker, then label). Each
/// iteration:
/// 1. task messages x_r = Σ_{r′ ∈ task(r)} A_r′ y_r′ − A_r y_r;
/// 2. worker messages y_r = Σ_{r′ ∈ worker(r)} A_r′ x_r′ − A_r x_r.
///
/// Before each half-step, if some full sum exceeds 10³⁰⁰ in magnitude the loop stops (the
/// messages grow geometrically) and the last y are kept. The label of a task is the sign of
/// Σ_{r ∈ t} A_r y_r. Sums are Kahan-compensated, as pandas' `groupby().sum()`.
///
/// Outputs: labels only — KOS has no probability. `confidence` is the fraction of the task's
/// responses that gave the chosen label (a plain agreement rate, not a posterior).
/// `report.iterations` is the number of completed iterations (fewer than `n_iter` when the
/// 10³⁰⁰ guard stopped the loop).
///
/// Differences from crowd-kit, on purpose:
/// * crowd-kit draws the starting messages in input row order; here in canonical order, so the
///   two agree exactly when the input is sorted by task then worker (label order rule), and
///   the result never depends on row order. The first label maps to +1 in crowd-kit (first
///   seen) and here (smallest); the updates are symmetric under flipping every sign, so that
///   choice does not change any label.
/// * A sum of exactly 0 (crowd-kit: `KeyError`) goes to the smallest label.
/// * Data with other than 2 labels: [`DataError::WrongLabelCount`].
/// * crowd-kit reseeds numpy's *global* generator; here the generator is local.
///
/// The method is very sensitive to `n_iter` and the seed on small or irregular graphs.
///
/// # Example
///
/// ```
/// use crowdagg::{Aggregator, Kos, Params, Responses};
///
/// let data = Responses::from_triples([
///     ("t1", "w1", "no"), ("t1", "w2", "no"), ("t1", "w3", "no"), ("t1", "w4", "yes"),
///     ("t2", "w1", "yes"), ("t2", "w2", "yes"), ("t2", "w3", "no"), ("t2", "w4", "yes"),
///     ("t3", "w1", "no"), ("t3", "w2", "no"), ("t3", "w3", "yes"), ("t3", "w4", "no"),
///     ("t4", "w1", "yes"), ("t4", "w2", "yes"), ("t4", "w3", "yes"), ("t4", "w4", "yes"),
///     ("t5", "w1", "yes"), ("t5", "w2", "no"), ("t5", "w3", "yes"), ("t5", "w4", "yes"),
/// ])?;
/// let result = Kos::params().n_iter(10).check()?.aggregate(&data)?;
/// let names: Vec<&str> = result.labels.iter().map(|&l| data.label_name(l as usize)).collect();
/// // crowd-kit 1.4.2 `KOS(n_iter=10).fit_predict(df)` on the same rows (sorted by task, then
/// // worker, so both draw the same starting messages). With the default n_iter=100 both give
/// // the opposite of every label here: KOS is that sensitive on a graph this small.
/// assert_eq!(names, ["no", "yes", "no", "yes", "yes"]);
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Kos {
    params: KosParams,
}

/// Parameters of [`Kos`] (defaults as crowd-kit).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename = "KOS", default, deny_unknown_fields)]
pub struct KosParams {
    /// Number of message-passing iterations (≥ 1).
    pub n_iter: usize,
    /// Seed of the numpy-compatible normal stream (crowd-kit's `random_state`).
    pub random_state: u32,
}

impl Default for KosParams {
    fn default() -> Self {
        Self {
            n_iter: 100,
            random_state: 0,
        }
    }
}

crate::methods::params::setters! {
    /// The default parameters (crowd-kit's: `n_iter` 100, seed 0), to adjust and then
    /// [`check`](crate::Params::check) into a [`Kos`].
    Kos => KosParams {
        /// Sets the number of iterations (≥ 1).
        n_iter: usize,
        /// Sets the seed of the starting messages.
        random_state: u32,
    }
    check(|_| Ok(()))
}

/// The magnitude beyond which crowd-kit stops iterating.
const LIMIT: f64 = 1e300;

/// Kahan summation, as pandas' grouped sum.
fn kahan_sum(values: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut compensation) = (0.0f64, 0.0f64);
    for v in values {
        let y = v - compensation;
        let t = sum + y;
        compensation = t - sum - y;
        if compensation.is_nan() {
            compensation = 0.0;
        }
        sum = t;
    }
    sum
}

/// Responses grouped by task (ranges of the canonical order) and by worker (indices into it).
struct Groups {
    by_task: Vec<std::ops::Range<usize>>,
    by_worker: Vec<Vec<usize>>,
}

impl Groups {
    fn new(data: &Responses) -> Self {
        let csr = data.by_task();
        let by_task = (0..data.n_tasks()).map(|t| csr.range(t)).collect();
        let mut by_worker = vec![Vec::new(); data.n_workers()];
        // In task order, so each worker's responses are summed in task order, like crowd-kit's
        // groupby on input sorted by task.
        for (r, &w) in csr.ids().iter().enumerate() {
            by_worker[w as usize].push(r);
        }
        Self { by_task, by_worker }
    }

    /// Per response: (sum over its task's group of a·m) − a·m; `None` if a group sum is too
    /// large.
    fn leave_one_out(
        groups: &[impl AsIndices],
        a: &[f64],
        message: &[f64],
        out: &mut [f64],
    ) -> Option<()> {
        let sums: Vec<f64> = groups
            .par_iter()
            .with_min_len(256)
            .map(|g| kahan_sum(g.indices().map(|r| a[r] * message[r])))
            .collect();
        if sums.iter().any(|s| s.abs() > LIMIT) {
            return None;
        }
        for (g, &sum) in groups.iter().zip(&sums) {
            for r in g.indices() {
                out[r] = sum - a[r] * message[r];
            }
        }
        Some(())
    }
}

trait AsIndices: Sync {
    fn indices(&self) -> impl Iterator<Item = usize> + '_;
}

impl AsIndices for std::ops::Range<usize> {
    fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.clone()
    }
}

impl AsIndices for Vec<usize> {
    fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        self.iter().copied()
    }
}

impl Aggregator for Kos {
    fn name(&self) -> &'static str {
        "KOS"
    }

    fn aggregate_with(&self, data: &Responses, inputs: FitInputs<'_>) -> Result<Aggregation> {
        let started = Instant::now();
        if data.is_empty() {
            return Ok(Aggregation {
                probabilities: None,
                skills: None,
                ..super::empty_result()
            });
        }
        let p = &self.params;
        if data.n_labels() != 2 {
            return Err(DataError::WrongLabelCount {
                method: "KOS",
                expected: 2,
                found: data.n_labels(),
            }
            .into());
        }
        let a: Vec<f64> = data
            .by_task()
            .labels()
            .iter()
            .map(|&l| if l == 0 { 1.0 } else { -1.0 })
            .collect();
        let mut rng = RandomState::new(p.random_state);
        let mut y: Vec<f64> = (0..a.len()).map(|_| 1.0 + rng.gauss()).collect();
        let mut x = vec![0.0; a.len()];
        let groups = Groups::new(data);
        // The largest message is the observer's objective only: no loss history.
        let driver = IterationLoop::new(p.n_iter, inputs.observer, started).without_loss_history();
        let report = driver.run(|_| {
            // The guard: a message past 10³⁰⁰ ends the iterations, y keeps the last messages.
            if Groups::leave_one_out(&groups.by_task, &a, &y, &mut x).is_none() {
                return Err(StopReason::NumericGuard);
            }
            let mut next = vec![0.0; a.len()];
            if Groups::leave_one_out(&groups.by_worker, &a, &x, &mut next).is_none() {
                return Err(StopReason::NumericGuard);
            }
            y = next;
            // Only the observer reads it; skip the pass without one.
            let largest = if inputs.observer.is_some() {
                y.iter().fold(0.0f64, |m, v| m.max(v.abs()))
            } else {
                0.0
            };
            Ok((largest, None))
        });
        let labels: Vec<Label> = groups
            .by_task
            .iter()
            .map(|g| Label::from(kahan_sum(g.clone().map(|r| a[r] * y[r])) < 0.0))
            .collect();
        let confidence = groups
            .by_task
            .iter()
            .zip(&labels)
            .map(|(g, &l)| {
                let sign = if l == 0 { 1.0 } else { -1.0 };
                g.clone().filter(|&r| a[r] == sign).count() as f64 / g.len() as f64
            })
            .collect();
        Ok(Aggregation {
            confidence,
            labels,
            probabilities: None,
            scores: None,
            skills: None,
            errors: None,
            priors: None,
            report: report.timed(started),
        })
    }

    fn params(&self) -> ParamReport {
        report(&self.params)
    }
}
