//! Karger–Oh–Shah iterative inference (crowd-kit `KOS`), binary labels only.

use rayon::prelude::*;

use std::time::Instant;

use crate::aggregation::{Aggregation, IterationLoop, StopReason};
use crate::error::Result;
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
/// * Data with other than 2 labels: [`DataError::WrongLabelCount`](crate::DataError::WrongLabelCount).
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

/// A_r v for A_r = +1 (label 0, the smaller) or −1 (label 1): the product with ±1 is exact,
/// so flipping the sign bit gives its bits (for any v but NaN, which the messages never
/// hold before the guard stops them), without a branch on the label.
#[inline(always)]
fn signed(v: f64, label: Label) -> f64 {
    f64::from_bits(v.to_bits() ^ (u64::from(label) << 63))
}

/// Tasks per parallel job of the task half-step.
const TASK_CHUNK: usize = 2048;
/// Groups of workers whose sums are accumulated side by side (a fixed number: each worker's
/// sum runs in the same order whatever the grouping, so it changes no bit).
const WORKER_PARTS: usize = 8;

/// The messages of every response, in canonical order (by task), and the group sums that the
/// next iteration needs.
///
/// crowd-kit keeps both messages per response; here y is stored, and x only as A_r x_r for
/// the worker sums: the task message x_r = T_t − A_r y_r follows from the task's full sum
/// T_t = Σ_{r∈t} A_r y_r, and the new worker message y_r = S_w − A_r x_r from the worker's
/// full sum S_w = Σ_{r∈w} A_r x_r, with the same operations as from stored messages, so the
/// same bits. An iteration is two parallel passes:
/// 1. by task (contiguous): y_r = S_w − A_r x_r for every response of the task, then the new
///    T_t, then A_r x_r with that T_t;
/// 2. by worker group: each group of workers sums its responses' A_r x_r in task order (as
///    crowd-kit's groupby on input sorted by task), reading them from pass 1's output in
///    increasing position.
struct Messages<'a> {
    offsets: &'a [u32],
    workers: &'a [u32],
    labels: &'a [Label],
    /// Worker messages y_r.
    y: Vec<f64>,
    /// A_r x_r.
    ax: Vec<f64>,
    /// T_t of the current y.
    task_sums: Vec<f64>,
    /// S_w of the current y and T.
    worker_sums: Vec<f64>,
    /// The running sums behind `worker_sums`.
    worker_kahan: Vec<Kahan>,
    /// Task ranges of the jobs of pass 1.
    task_chunks: Vec<std::ops::Range<usize>>,

    /// The worker groups of pass 2.
    parts: Vec<WorkerPart>,
    /// Whether some T_t, or some S_w, is past the guard.
    past_guard: (bool, bool),
}

/// A range of worker ids and their responses' positions in canonical order (increasing).
struct WorkerPart {
    workers: std::ops::Range<usize>,
    positions: Vec<u32>,
    /// The worker of each position.
    owners: Vec<u32>,
}

impl WorkerPart {
    /// Splits the workers into `WORKER_PARTS` ranges of about equal numbers of responses.
    fn split(data: &Responses) -> Vec<Self> {
        let (n, w) = (data.n_responses(), data.n_workers());
        let by_worker = data.by_worker().offsets();
        let mut parts = Vec::with_capacity(WORKER_PARTS);
        let mut part_of = vec![0u32; w];
        let mut first = 0;
        for p in 0..WORKER_PARTS {
            let target = (n * (p + 1)).div_ceil(WORKER_PARTS);
            let mut last = first;
            while last < w && (by_worker[last] as usize) < target {
                last += 1;
            }
            if p + 1 == WORKER_PARTS {
                last = w;
            }
            part_of[first..last].fill(p as u32);
            parts.push(Self {
                workers: first..last,
                positions: Vec::new(),
                owners: Vec::new(),
            });
            first = last;
        }
        for (r, &worker) in data.by_task().ids().iter().enumerate() {
            let part = &mut parts[part_of[worker as usize] as usize];
            part.positions.push(r as u32);
            part.owners.push(worker);
        }
        parts
    }

    /// S_w of the part's workers into `sums` (`kahan`: their running sums); whether one is
    /// past the guard.
    fn sum(&self, ax: &[f64], kahan: &mut [Kahan], sums: &mut [f64]) -> bool {
        let first = self.workers.start;
        kahan.fill(Kahan::default());
        for (&r, &w) in self.positions.iter().zip(&self.owners) {
            kahan[w as usize - first].add(ax[r as usize]);
        }
        for (sum, kahan) in sums.iter_mut().zip(kahan.iter()) {
            *sum = kahan.sum;
        }
        sums.iter().any(|s| s.abs() > LIMIT)
    }
}

impl<'a> Messages<'a> {
    /// The starting messages and their sums.
    fn new(data: &'a Responses, y: Vec<f64>) -> Self {
        let csr = data.by_task();
        let t = data.n_tasks();
        let mut messages = Self {
            offsets: csr.offsets(),
            workers: csr.ids(),
            labels: csr.labels(),
            ax: vec![0.0; y.len()],
            y,
            task_sums: vec![0.0; t],
            worker_sums: vec![0.0; data.n_workers()],
            worker_kahan: vec![Kahan::default(); data.n_workers()],
            task_chunks: (0..t)
                .step_by(TASK_CHUNK)
                .map(|first| first..(first + TASK_CHUNK).min(t))
                .collect(),
            parts: WorkerPart::split(data),
            past_guard: (false, false),
        };
        messages.pass(false);
        messages
    }

    /// Whether the next iteration would pass a sum beyond the guard (crowd-kit checks the task
    /// sums, then the worker sums, before each half-step).
    fn guard(&self) -> bool {
        self.past_guard.0 || self.past_guard.1
    }

    /// One iteration (with `update`: y_r = S_w − A_r x_r first; without: the sums of the
    /// starting messages only).
    fn pass(&mut self, update: bool) {
        let (offsets, workers, labels) = (self.offsets, self.workers, self.labels);
        let worker_sums = &self.worker_sums;
        // Each job owns its tasks' rows of y, ax and T.
        let mut jobs = Vec::with_capacity(self.task_chunks.len());
        let (mut y, mut ax, mut sums) =
            (&mut self.y[..], &mut self.ax[..], &mut self.task_sums[..]);
        for tasks in &self.task_chunks {
            let len = (offsets[tasks.end] - offsets[tasks.start]) as usize;
            let (y_here, y_rest) = std::mem::take(&mut y).split_at_mut(len);
            let (ax_here, ax_rest) = std::mem::take(&mut ax).split_at_mut(len);
            let (sums_here, sums_rest) = std::mem::take(&mut sums).split_at_mut(tasks.len());
            (y, ax, sums) = (y_rest, ax_rest, sums_rest);
            jobs.push((tasks.clone(), y_here, ax_here, sums_here));
        }
        let task_guard = jobs
            .into_par_iter()
            .map(|(tasks, y, ax, sums)| {
                let base = offsets[tasks.start] as usize;
                let mut past_guard = false;
                for (t, task_sum) in tasks.zip(sums) {
                    let range = offsets[t] as usize..offsets[t + 1] as usize;
                    let (workers, labels) = (&workers[range.clone()], &labels[range.clone()]);
                    let local = range.start - base..range.end - base;
                    let (y, ax) = (&mut y[local.clone()], &mut ax[local]);
                    // The new y and the task's sum of them in one loop.
                    let mut sum = Kahan::default();
                    if update {
                        for ((y, &w), &l) in y.iter_mut().zip(workers).zip(labels) {
                            let x = *task_sum - signed(*y, l);
                            *y = worker_sums[w as usize] - signed(x, l);
                            sum.add(signed(*y, l));
                        }
                    } else {
                        for (&y, &l) in y.iter().zip(labels) {
                            sum.add(signed(y, l));
                        }
                    }
                    *task_sum = sum.sum;
                    past_guard |= sum.sum.abs() > LIMIT;
                    for ((ax, &y), &l) in ax.iter_mut().zip(y.iter()).zip(labels) {
                        *ax = signed(sum.sum - signed(y, l), l);
                    }
                }
                past_guard
            })
            .reduce(|| false, |a, b| a | b);
        let mut jobs = Vec::with_capacity(self.parts.len());
        let (mut sums, mut kahan) = (&mut self.worker_sums[..], &mut self.worker_kahan[..]);
        for part in &self.parts {
            let n = part.workers.len();
            let (sums_here, sums_rest) = std::mem::take(&mut sums).split_at_mut(n);
            let (kahan_here, kahan_rest) = std::mem::take(&mut kahan).split_at_mut(n);
            (sums, kahan) = (sums_rest, kahan_rest);
            jobs.push((part, kahan_here, sums_here));
        }
        let ax = &self.ax;
        let worker_guard = jobs
            .into_par_iter()
            .map(|(part, kahan, sums)| part.sum(ax, kahan, sums))
            .reduce(|| false, |a, b| a | b);
        self.past_guard = (task_guard, worker_guard);
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
        self.requirements().check_labels(self.name(), data)?;
        let mut rng = RandomState::new(p.random_state);
        let y: Vec<f64> = (0..data.n_responses()).map(|_| 1.0 + rng.gauss()).collect();
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
