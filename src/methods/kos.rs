//! Karger–Oh–Shah iterative inference (crowd-kit `KOS`), binary labels only.

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

/// A Kahan-compensated running sum, as pandas' grouped sum, one term at a time.
#[derive(Debug, Clone, Copy, Default)]
struct Kahan {
    sum: f64,
    compensation: f64,
}

impl Kahan {
    #[inline(always)]
    fn add(&mut self, v: f64) {
        let y = v - self.compensation;
        let t = self.sum + y;
        self.compensation = t - self.sum - y;
        if self.compensation.is_nan() {
            self.compensation = 0.0;
        }
        self.sum = t;
    }
}

/// ±1 for the label of a response: +1 for label 0 (the smaller), −1 for label 1.
#[inline(always)]
fn sign(label: Label) -> f64 {
    if label == 0 { 1.0 } else { -1.0 }
}

/// The messages of every response, kept in canonical order (by task), and the group sums that
/// the next iteration needs.
///
/// crowd-kit keeps both messages per response; here only y is stored: the task message
/// x_r = T_t − A_r y_r follows from the task's full sum T_t = Σ_{r∈t} A_r y_r, and the new
/// worker message y_r = S_w − A_r x_r from the worker's full sum S_w = Σ_{r∈w} A_r x_r. Each
/// is computed with the same operations as from stored messages, so the bits are the same.
/// One pass over the responses per iteration does the y update of every response of a task,
/// then the task's new T_t, then adds its responses' A_r x_r to their workers' next S_w:
/// each worker's sum runs in task order (as crowd-kit's groupby on input sorted by task), so
/// the pass is sequential; it touches 14 bytes per response (worker id, label, y).
struct Messages<'a> {
    offsets: &'a [u32],
    workers: &'a [u32],
    labels: &'a [Label],
    /// Worker messages y_r.
    y: Vec<f64>,
    /// T_t of the current y.
    task_sums: Vec<f64>,
    /// S_w of the current y and T.
    worker_sums: Vec<Kahan>,
    /// The sums of the pass in progress.
    next_worker_sums: Vec<Kahan>,
    /// Whether some T_t, or some S_w, is past the guard.
    task_guard: bool,
}

impl<'a> Messages<'a> {
    /// The starting messages and their sums.
    fn new(data: &'a Responses, y: Vec<f64>) -> Self {
        let csr = data.by_task();
        let mut messages = Self {
            offsets: csr.offsets(),
            workers: csr.ids(),
            labels: csr.labels(),
            y,
            task_sums: vec![0.0; data.n_tasks()],
            worker_sums: vec![Kahan::default(); data.n_workers()],
            next_worker_sums: vec![Kahan::default(); data.n_workers()],
            task_guard: false,
        };
        messages.pass(false);
        messages
    }

    /// Whether the next iteration would pass a sum beyond the guard (crowd-kit checks the task
    /// sums, then the worker sums, before each half-step).
    fn guard(&self) -> bool {
        self.task_guard || self.worker_sums.iter().any(|s| s.sum.abs() > LIMIT)
    }

    /// One iteration (with `update`: y_r = S_w − A_r x_r first; without: the sums of the
    /// starting messages only).
    fn pass(&mut self, update: bool) {
        let next = &mut self.next_worker_sums;
        next.fill(Kahan::default());
        let mut task_guard = false;
        for (t, bounds) in self.offsets.windows(2).enumerate() {
            let range = bounds[0] as usize..bounds[1] as usize;
            let (workers, labels) = (&self.workers[range.clone()], &self.labels[range.clone()]);
            let y = &mut self.y[range];
            if update {
                let task_sum = self.task_sums[t];
                for ((y, &w), &l) in y.iter_mut().zip(workers).zip(labels) {
                    let a = sign(l);
                    let x = task_sum - a * *y;
                    *y = self.worker_sums[w as usize].sum - a * x;
                }
            }
            let mut task_sum = Kahan::default();
            for (&y, &l) in y.iter().zip(labels) {
                task_sum.add(sign(l) * y);
            }
            let task_sum = task_sum.sum;
            task_guard |= task_sum.abs() > LIMIT;
            self.task_sums[t] = task_sum;
            for ((&y, &w), &l) in y.iter().zip(workers).zip(labels) {
                let a = sign(l);
                let x = task_sum - a * y;
                next[w as usize].add(a * x);
            }
        }
        self.task_guard = task_guard;
        std::mem::swap(&mut self.worker_sums, &mut self.next_worker_sums);
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
        let mut rng = RandomState::new(p.random_state);
        let y: Vec<f64> = (0..data.n_responses())
            .map(|_| 1.0 + rng.gauss())
            .collect();
        let mut messages = Messages::new(data, y);
        // The largest message is the observer's objective only: no loss history.
        let driver = IterationLoop::new(p.n_iter, inputs.observer, started).without_loss_history();
        let report = driver.run(|_| {
            // The guard: a sum past 10³⁰⁰ ends the iterations, y keeps the last messages.
            if messages.guard() {
                return Err(StopReason::NumericGuard);
            }
            messages.pass(true);
            // Only the observer reads it; skip the pass without one.
            let largest = if inputs.observer.is_some() {
                messages.y.iter().fold(0.0f64, |m, v| m.max(v.abs()))
            } else {
                0.0
            };
            Ok((largest, None))
        });
        // T_t of the final y: the label is its sign.
        let labels: Vec<Label> = messages
            .task_sums
            .iter()
            .map(|&sum| Label::from(sum < 0.0))
            .collect();
        let by_task = data.by_task();
        let confidence = labels
            .iter()
            .enumerate()
            .map(|(t, &l)| {
                let (_, answers) = by_task.row(t);
                answers.iter().filter(|&&a| a == l).count() as f64 / answers.len() as f64
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
