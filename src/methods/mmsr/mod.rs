//! Matrix Mean-Subsequence-Reduced (crowd-kit `MMSR`).

mod covariance;
mod sign;

use covariance::Covariance;

use rayon::prelude::*;

use std::time::Instant;

use crate::aggregation::{Aggregation, IterationLoop, StopReason};
use crate::error::{DataError, ParamsError, Result};
use crate::responses::Responses;

use super::params::{ParamReport, Params, out_of_range, report};
use super::votes::{counts, normalize_rows, weighted_votes};
use super::{Aggregator, FitInputs};
use crate::numeric::numpy_random::RandomState;
use crate::numeric::sum::numpy_sum;

/// M-MSR: worker skills by robust rank-one completion of the worker covariance matrix, then a
/// weighted majority vote (Ma & Olshevsky, "Adversarial Crowdsourcing Through Robust Rank-One
/// Matrix Completion", NeurIPS 2020; as implemented in crowd-kit 1.4.2).
///
/// With M labels, T tasks and W workers:
/// * N_ij = number of tasks both i ≠ j answered; C_ij = M/(M−1)·(agreements/N_ij) − 1/(M−1),
///   and C_ij = −1/(M−1) where N_ij = 0 (the diagonal too). X = |C|.
/// * F = ⌊sparsity/2⌋ − 1, sparsity = the fewest co-workers any worker has.
/// * u = v = the first W numbers of numpy's `RandomState(random_state).random_sample`. Each
///   iteration sets v_j to the mean of the trimmed candidates {X_ij/u_i : N_ij > 0}, then u_i to
///   the mean of the trimmed {X_ij/v_j}; trimming drops the F smallest and F largest values
///   (only the values on one side of the current estimate when fewer than F lie there). The
///   loss is ‖u vᵀ − u′v′ᵀ‖_F; stop when it falls below `tol` or after `n_iter` iterations.
/// * |s| = u/√(‖u‖/‖v‖); signs from the eigenvector of the smallest eigenvalue of a signed
///   worker graph (see `sign.rs`); s is clipped to [−1/(M−1) + 1/√T, 1 − 1/√T] and turned into
///   the log-odds skill ln(p(M−1)/(1−p)) with p = s(M−1)/M + 1/M.
/// * Weighted majority vote with these skills: `scores` = each task's weighted votes divided
///   by their sum (they can be negative or above 1: skills can be negative, so they are not
///   probabilities and `probabilities` is `None`); label = the largest score, ties to the
///   smallest label; confidence = the chosen label's score clipped to [0, 1].
///
/// **No W × W matrix.** crowd-kit's C, N and sign graph are dense W × W (W² doubles each).
/// Here C is stored only on co-worker pairs (N_ij > 0), as sparse rows built from the by-task
/// index (`covariance.rs`); the constant −1/(M−1) elsewhere is implied, and the sign step's
/// test "row sum of C ≠ 0" reproduces numpy's pairwise sum of the dense row without forming
/// it. The iteration only ever reads co-worker pairs. The sign step runs matrix-free: Lanczos
/// on the graph's pencil reduced to worker-sized vectors, whose negative edges are
/// "all pairs minus the sparse positive and zero pairs" (see `sign.rs`). The loss is
/// summed entry by entry up to 8,192 workers (the same rounding as crowd-kit's
/// `norm(u vᵀ − u′v′ᵀ)`; O(W²) time, O(W) memory) and from three O(W) sums above.
///
/// Cost, with P the number of co-worker pairs (≤ Σ_t |t|(|t|−1)/2 and ≤ W(W−1)/2): building C
/// reads Σ_t |t|² entries twice (count, then fill); memory 24·P bytes for C plus 8·P' for the
/// sign step's positive/zero patterns (P' those pairs) plus 3·128 worker-sized vectors for
/// the Lanczos basis (3 kB per worker); each M-MSR iteration costs O(P) (the trimmed means)
/// and each Lanczos step O(P + 128·W). At 10⁷ answers × 40,000 workers (overlap 10) the fit
/// stays under 0.7 GB peak; the dense version needed ≈ 40·W² bytes (C, its two sign-graph
/// masks, the Schur complement and its Cholesky factor: 64 GB at 40,000 workers, 640 MB at
/// 4,000) and O(W³) time for the factorisations.
///
/// Differences from crowd-kit, on purpose:
/// * The random start is assigned to workers in canonical (label-order-rule) order; crowd-kit
///   assigns it in order of first appearance. They agree when the input lists workers in
///   canonical order first; otherwise only the start differs.
/// * crowd-kit finds the eigenvector with ARPACK (`eigs(k=1, which="SM")`), whose result
///   depends on its random start. Here the vector comes from restarted Lanczos with full
///   re-orthogonalisation from a fixed start: deterministic, the same vector whenever the
///   eigenvalue is simple (and the projection of the fixed start when it is not). A worker
///   whose entry is 0 in exact arithmetic (perfectly symmetric workers) gets the sign of the
///   rounding noise, in crowd-kit as here.
/// * Several responses of one worker to one task: crowd-kit keeps the last one in input order;
///   here the largest label (build the data with `DuplicatePolicy::KeepLast` to keep the last).
/// * A task whose weighted votes are all exactly 0 (every worker of the task has skill 0) is
///   scored by its plain vote fractions instead (crowd-kit: NaN scores); one whose votes are
///   not all 0 but sum to 0 gets uniform scores (crowd-kit: ±inf/NaN).
/// * When the iteration diverges (the loss overflows), it stops at the last finite estimate
///   (crowd-kit goes on to NaN skills); `report.iterations` counts the finite steps.
/// * When no worker's covariance row has a non-zero sum, crowd-kit fails in the sign step;
///   here every worker gets sign +1.
///
/// # Example
///
/// ```
/// use crowdagg::{Aggregator, Mmsr, Responses};
///
/// let data = Responses::from_triples([
///     ("t1", "w1", "no"), ("t1", "w2", "no"), ("t1", "w3", "no"), ("t1", "w4", "yes"),
///     ("t2", "w1", "yes"), ("t2", "w2", "yes"), ("t2", "w3", "no"), ("t2", "w4", "yes"),
///     ("t3", "w1", "no"), ("t3", "w2", "no"), ("t3", "w3", "yes"), ("t3", "w4", "no"),
///     ("t4", "w1", "yes"), ("t4", "w2", "yes"), ("t4", "w3", "yes"), ("t4", "w4", "yes"),
///     ("t5", "w1", "yes"), ("t5", "w2", "no"), ("t5", "w3", "yes"), ("t5", "w4", "yes"),
/// ])?;
/// let result = Mmsr::default().aggregate(&data)?;
/// let (t2, no, yes) = (
///     data.task_id("t2").unwrap(),
///     data.label_id("no").unwrap() as usize,
///     data.label_id("yes").unwrap() as usize,
/// );
/// assert_eq!(result.labels[t2] as usize, yes);
/// // crowd-kit 1.4.2 `MMSR().fit(df)` on the same rows: skills_ w3 -0.6520929534886142 (w3
/// // mostly disagrees, so its votes count against its answer), predict_score t2:
/// // no -0.2144564784590082, yes 1.2144564784590082.
/// let w3 = data.worker_id("w3").unwrap();
/// assert!((result.skills.as_ref().unwrap()[w3].unwrap() + 0.6520929534886142).abs() < 1e-9);
/// let scores = result.scores.as_ref().unwrap();
/// assert!((scores[[t2, no]] + 0.2144564784590082).abs() < 1e-9);
/// assert!((scores[[t2, yes]] - 1.2144564784590082).abs() < 1e-9);
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Mmsr {
    params: MmsrParams,
}

/// Parameters of [`Mmsr`] (defaults as crowd-kit).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename = "MMSR", default, deny_unknown_fields)]
pub struct MmsrParams {
    /// Maximum number of M-MSR iterations (≥ 1).
    pub n_iter: usize,
    /// Stop when the change of u vᵀ (Frobenius norm) falls below this (≥ 0).
    pub tol: f64,
    /// Seed of the numpy-compatible random start (crowd-kit's `random_state`; always seeded).
    pub random_state: u32,
}

impl Default for MmsrParams {
    fn default() -> Self {
        Self {
            n_iter: 10_000,
            tol: 1e-10,
            random_state: 0,
        }
    }
}

impl Mmsr {
    /// The default parameters (crowd-kit's: `n_iter` 10 000, `tol` 1e-10, seed 0), to adjust
    /// and then [`check`](Params::check) into a [`Mmsr`].
    pub fn params() -> MmsrParams {
        MmsrParams::default()
    }
}

crate::methods::params::setters! {
    MmsrParams {
        /// Sets the maximum number of iterations (≥ 1).
        n_iter: usize,
        /// Sets the stop tolerance (≥ 0).
        tol: f64,
        /// Sets the seed of the random start.
        random_state: u32,
    }
}

impl Params for MmsrParams {
    type Checked = Mmsr;

    fn check(self) -> Result<Mmsr, ParamsError> {
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(out_of_range("tol", "a finite number >= 0", self.tol));
        }
        Ok(Mmsr { params: self })
    }
}

/// One half-step: each entry of `target` becomes the trimmed mean of X_ij / `other`_j over its
/// neighbours j, or keeps its value when trimming leaves nothing.
fn update(cov: &Covariance, other: &[f64], target: &mut [f64], f: i64, n_tasks: usize) {
    target
        .par_iter_mut()
        .enumerate()
        .with_min_len(16)
        .for_each_init(Vec::new, |candidates, (i, value)| {
            candidates.clear();
            let (neighbours, c) = cov.row(i);
            candidates.extend(
                neighbours
                    .iter()
                    .zip(c)
                    .map(|(&j, c)| c.abs() / other[j as usize]),
            );
            if let Some(mean) = trimmed_mean(candidates, f, *value, n_tasks) {
                *value = mean;
            }
        });
}

/// crowd-kit's `_remove_largest_and_smallest_F_value` followed by the mean; `None` when no
/// value is left. Without NaN the kept values are a range of the sorted order whose ends
/// follow from counts, so only that range is sorted (after two selections); the sum is then
/// numpy's over the same sorted values.
fn trimmed_mean(x: &mut [f64], f: i64, a: f64, n_tasks: usize) -> Option<f64> {
    let (mut below, mut at_most, mut above) = (0usize, 0usize, 0usize);
    for &v in x.iter() {
        if v.is_nan() {
            return trimmed_mean_sorted(x, f, a, n_tasks);
        }
        below += usize::from(v < a);
        at_most += usize::from(v <= a);
        above += usize::from(v > a);
    }
    let len = x.len();
    let start = if (below as i64) < f {
        below
    } else if f >= 0 {
        (f as usize).min(len)
    } else {
        len.saturating_sub(f.unsigned_abs() as usize)
    };
    // Values above a among the kept x[start..]: the dropped smallest ones above a are those
    // past the at_most values ≤ a.
    let kept_above = above - start.saturating_sub(at_most);
    let end = if (kept_above as i64) < f {
        at_most.max(start)
    } else if f > 0 {
        len - f as usize
    } else {
        len
    };
    if end <= start {
        return None;
    }
    let order = |p: &f64, q: &f64| p.partial_cmp(q).unwrap_or(std::cmp::Ordering::Equal);
    if start > 0 {
        x.select_nth_unstable_by(start, order);
    }
    let kept = &mut x[start..];
    if end < len {
        kept.select_nth_unstable_by(end - start, order);
    }
    let kept = &mut kept[..end - start];
    kept.sort_unstable_by(order);
    match &*kept {
        [v] if *v == 0.0 => Some(1.0 / (n_tasks as f64).sqrt()),
        values => Some(numpy_sum(values) / values.len() as f64),
    }
}

/// `trimmed_mean` by sorting everything (NaN last, as numpy).
fn trimmed_mean_sorted(x: &mut [f64], f: i64, a: f64, n_tasks: usize) -> Option<f64> {
    // numpy's sort puts NaN last.
    x.sort_unstable_by(|p, q| {
        p.partial_cmp(q)
            .unwrap_or_else(|| p.is_nan().cmp(&q.is_nan()))
    });
    let mut y: Vec<f64> = if (x.iter().filter(|&&v| v < a).count() as i64) < f {
        x.iter().copied().filter(|&v| v >= a).collect()
    } else {
        // numpy's y[F:]; F = −1 keeps the last (largest) value.
        let start = if f >= 0 {
            (f as usize).min(x.len())
        } else {
            x.len().saturating_sub(f.unsigned_abs() as usize)
        };
        x[start..].to_vec()
    };
    if (y.iter().filter(|&&v| v > a).count() as i64) < f {
        y.retain(|&v| v <= a);
    } else if f > 0 {
        y.truncate(y.len() - f as usize);
    }
    match y.as_slice() {
        [] => None,
        [v] if *v == 0.0 => Some(1.0 / (n_tasks as f64).sqrt()),
        values => Some(numpy_sum(values) / values.len() as f64),
    }
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Up to this many workers the loss is summed entry by entry over the W² products (the bits of
/// the dense version, whose loss history is part of the output); above it, from O(W) sums.
const ENTRYWISE_LOSS_WORKERS: usize = 8192;

/// ‖u vᵀ − u′ v′ᵀ‖_F.
fn change(u: &[f64], v: &[f64], u_prev: &[f64], v_prev: &[f64]) -> f64 {
    if u.len() <= ENTRYWISE_LOSS_WORKERS {
        change_entrywise(u, v, u_prev, v_prev)
    } else {
        change_factored(u, v, u_prev, v_prev)
    }
}

/// ‖u vᵀ − u′ v′ᵀ‖_F entry by entry: rows in parallel, then summed in order (the same bits at
/// any thread count). O(W²) time, O(W) memory.
fn change_entrywise(u: &[f64], v: &[f64], u_prev: &[f64], v_prev: &[f64]) -> f64 {
    let rows: Vec<f64> = u
        .par_iter()
        .zip(u_prev)
        .with_min_len(16)
        .map(|(&ui, &pi)| {
            v.iter()
                .zip(v_prev)
                .map(|(&vj, &qj)| {
                    let d = ui * vj - pi * qj;
                    d * d
                })
                .sum::<f64>()
        })
        .collect();
    rows.iter().sum::<f64>().sqrt()
}

/// ‖u vᵀ − u′ v′ᵀ‖_F in O(W): u vᵀ − u′v′ᵀ = u δvᵀ + δu v′ᵀ with δu = u − u′, δv = v − v′, so
/// its squared norm is ‖u‖²‖δv‖² + 2(u·δu)(δv·v′) + ‖δu‖²‖v′‖². The differences are taken
/// entry by entry first, so no large terms cancel: it agrees with the entry-wise sum to a few
/// units in the last place (a sum in a different order). Sequential sums: deterministic.
fn change_factored(u: &[f64], v: &[f64], u_prev: &[f64], v_prev: &[f64]) -> f64 {
    let (uu, u_du, du_du) = sums_with_change(u, u_prev);
    // From v′ towards v the change is −δv, exactly: the middle sum is −(δv·v′) to the bit.
    let (qq, minus_dv_q, dv_dv) = sums_with_change(v_prev, v);
    (uu * dv_dv - 2.0 * u_du * minus_dv_q + du_du * qq)
        .max(0.0)
        .sqrt()
}

/// (x·x, x·d, d·d) with d = x − y, each a sequential sum.
fn sums_with_change(x: &[f64], y: &[f64]) -> (f64, f64, f64) {
    let (mut xx, mut x_d, mut dd) = (0.0, 0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        let d = a - b;
        xx += a * a;
        x_d += a * d;
        dd += d * d;
    }
    (xx, x_d, dd)
}

impl Aggregator for Mmsr {
    fn name(&self) -> &'static str {
        "MMSR"
    }

    fn aggregate_with(&self, data: &Responses, inputs: FitInputs<'_>) -> Result<Aggregation> {
        let started = Instant::now();
        if data.is_empty() {
            return Ok(Aggregation {
                probabilities: None,
                scores: Some(ndarray::Array2::zeros((0, 0))),
                ..super::empty_result()
            });
        }
        let p = &self.params;
        self.requirements().check_labels(self.name(), data)?;
        let n_labels = data.n_labels();
        let n_tasks = data.n_tasks();
        let cov = Covariance::new(data);
        let f = cov.trim_count();

        let mut rng = RandomState::new(p.random_state);
        let mut u: Vec<f64> = (0..cov.n_workers()).map(|_| rng.random_sample()).collect();
        let mut v = u.clone();
        let report = IterationLoop::new(p.n_iter, inputs.observer, started).run(|_| {
            let (u_prev, v_prev) = (u.clone(), v.clone());
            update(&cov, &u, &mut v, f, n_tasks);
            update(&cov, &v, &mut u, f, n_tasks);
            let loss = change(&u, &v, &u_prev, &v_prev);
            if !loss.is_finite() {
                // The iteration diverged (it can on tiny or oddly connected data, in crowd-kit
                // too, which then returns NaN skills): keep the last finite estimate.
                (u, v) = (u_prev, v_prev);
                return Err(StopReason::Diverged);
            }
            Ok((loss, (loss < p.tol).then_some(StopReason::Converged)))
        });

        let k = (norm(&u) / norm(&v)).sqrt();
        let magnitude: Vec<f64> = u.iter().map(|x| x / k).collect();
        let signs = sign::signs(&cov);
        let (m, t) = (n_labels as f64, n_tasks as f64);
        let skills = magnitude
            .iter()
            .zip(&signs)
            .map(|(&s_abs, &sign)| {
                let s = (sign * s_abs)
                    .min(1.0 - 1.0 / t.sqrt())
                    .max(-1.0 / (m - 1.0) + 1.0 / t.sqrt());
                let p = s * (m - 1.0) / m + 1.0 / m;
                (p * (m - 1.0) / (1.0 - p)).ln()
            })
            .collect::<Vec<f64>>();
        if let Some(w) = skills.iter().position(|s| !s.is_finite()) {
            return Err(DataError::DegenerateSkill {
                method: "MMSR",
                worker: data.worker_name(w).to_string(),
            }
            .into());
        }
        let skills: Vec<Option<f64>> = skills.into_iter().map(Some).collect();
        let mut votes = weighted_votes(data, &skills);
        let plain = counts(data);
        for (mut row, plain) in votes.rows_mut().into_iter().zip(plain.rows()) {
            if row.iter().all(|&v| v == 0.0) {
                row.assign(&plain);
            }
        }
        let mut result = Aggregation::from_probabilities(normalize_rows(votes));
        result.scores = result.probabilities.take();
        result
            .confidence
            .iter_mut()
            .for_each(|c| *c = c.clamp(0.0, 1.0));
        result.skills = Some(skills);
        result.report = report.timed(started);
        Ok(result)
    }

    fn params(&self) -> ParamReport {
        report(&self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimming_follows_crowd_kit() {
        // F = 1, a = 2.5: drop the smallest and the largest.
        let mut x = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(trimmed_mean(&mut x, 1, 2.5, 4), Some(2.5));
        // F = 2, a = 0.5: only one value below a, so keep x ≥ a = {1,2,3}; then two above a,
        // drop the 2 largest → {1}.
        let mut x = [0.0, 1.0, 2.0, 3.0];
        assert_eq!(trimmed_mean(&mut x, 2, 0.5, 4), Some(1.0));
        // F = −1 keeps only the largest.
        let mut x = [0.2, 0.9, 0.4];
        assert_eq!(trimmed_mean(&mut x, -1, 0.5, 4), Some(0.9));
        // F = 0 keeps everything; a single 0 becomes 1/√T.
        let mut x = [0.0];
        assert_eq!(trimmed_mean(&mut x, 0, 0.5, 4), Some(0.5));
        let mut x: [f64; 0] = [];
        assert_eq!(trimmed_mean(&mut x, 0, 0.5, 4), None);
    }

    #[test]
    fn factored_loss_agrees_with_the_entrywise_sum() {
        // Far from convergence the two forms agree to rounding; near it the entry-wise form
        // (crowd-kit's) loses digits to cancellation between u_i v_j and u′_i v′_j (relative
        // error up to ≈ ε·W/step), while the factored form works on the small differences.
        let mut rng = RandomState::new(9);
        for (w, step) in [(50, 1e-1), (300, 1e-3), (1000, 1e-6)] {
            let u_prev: Vec<f64> = (0..w).map(|_| rng.random_sample()).collect();
            let v_prev: Vec<f64> = (0..w).map(|_| rng.random_sample()).collect();
            let u: Vec<f64> = u_prev
                .iter()
                .map(|x| x + step * (rng.random_sample() - 0.5))
                .collect();
            let v: Vec<f64> = v_prev
                .iter()
                .map(|x| x + step * (rng.random_sample() - 0.5))
                .collect();
            let entrywise = change_entrywise(&u, &v, &u_prev, &v_prev);
            let factored = change_factored(&u, &v, &u_prev, &v_prev);
            let tolerance = 1e-12 + f64::EPSILON * w as f64 / step;
            assert!(
                (entrywise - factored).abs() <= tolerance * entrywise,
                "{w}: {entrywise} vs {factored}"
            );
        }
        assert_eq!(
            change_factored(&[1.0, 2.0], &[3.0], &[1.0, 2.0], &[3.0]),
            0.0
        );
    }

    #[test]
    fn selection_keeps_the_sorted_trimming() {
        // Values with ties around a, every branch of the trimming (F from −1 to 6).
        let mut rng = RandomState::new(5);
        for case in 0..2000 {
            let len = case % 13;
            let x: Vec<f64> = (0..len)
                .map(|_| (rng.random_sample() * 8.0).floor() / 4.0)
                .collect();
            let a = (rng.random_sample() * 8.0).floor() / 4.0;
            let f = (case % 8) as i64 - 1;
            let fast = trimmed_mean(&mut x.clone(), f, a, 9);
            let sorted = trimmed_mean_sorted(&mut x.clone(), f, a, 9);
            assert_eq!(
                fast.map(f64::to_bits),
                sorted.map(f64::to_bits),
                "{x:?} {f} {a}"
            );
        }
    }
}
