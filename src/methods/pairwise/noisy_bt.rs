//! The noisy Bradley-Terry model with worker skills and position biases (crowd-kit
//! `NoisyBradleyTerry`).

use std::time::Instant;

use crate::aggregation::{Action, FitReport, IterationState, Observer, StopReason};
use crate::error::{DataError, Result};
use crate::pairwise::{Comparison, PairwiseResponses};

use super::super::params::{ParamReport, check_non_negative, report};
use super::{PairwiseAggregation, PairwiseAggregator, PairwiseCompat, numpy_sum};
use crate::numeric::lbfgs::{LbfgsOptions, LbfgsStatus, minimize_lbfgs};
use crate::numeric::numpy_random::RandomState;
use crate::numeric::special::logistic_parts;

/// Bradley-Terry with noisy workers (Bugakova, Fedorova, Gusev & Drutsa, "Aggregation of
/// pairwise comparisons with reduction of biases", arXiv:1906.03711, 2019 — the paper
/// crowd-kit cites; the regulariser is the virtual-item prior of Chen et al.,
/// "Pairwise ranking aggregation in a crowdsourced setting", WSDM 2013).
///
/// Each item i has a score sᵢ; each worker w a skill γ_w and a bias q_w. Worker w judges by
/// the items with probability σ(γ_w), and then prefers the left item with probability
/// σ(s_left − s_right); otherwise it picks the left item with probability σ(q_w). With
/// y = +1 when the left item won and −1 otherwise, a comparison has likelihood
/// Pᵣ = σ(γ_w) σ(y(s_left − s_right)) + (1 − σ(γ_w)) σ(y q_w).
///
/// The parameters x = [x₀, s (items in id order), q (workers), γ (workers)] start at
/// numpy's `np.random.seed(random_state); np.random.rand(1 + L + 2W)` and minimise
///
/// f(x) = −Σᵣ ln Pᵣ − λ Σᵢ [ln σ(x₀ − sᵢ) + ln σ(sᵢ − x₀)],  λ = `regularization_ratio`,
///
/// i.e. each item also wins once and loses once against a virtual item x₀, which keeps the
/// scores finite when the data alone would let them diverge (an item that never loses). The
/// gradient is exact (computed in log space, so no overflow for large scores) and is checked
/// against central finite differences in the tests. The optimiser is L-BFGS as scipy's
/// L-BFGS-B runs it on an unbounded problem (memory 10, Moré–Thuente line search with at
/// most 20 evaluations, `gtol` 1e-5), `maxiter = n_iter` (0 still runs one iteration, as
/// scipy) and relative-reduction tolerance `ftol = tol`. Comparisons are summed in canonical
/// order (worker, left, right, winner), so the result does not depend on row order.
///
/// Outputs: `scores` = σ(s), `biases` = σ(q), `skills` = σ(γ) (crowd-kit's `scores_`,
/// `biases_`, `skills_`); `report.loss_history` holds f after each iteration, and
/// `report.stop_reason` is `NoProgress` when the line search fails (scipy's abnormal
/// termination).
///
/// # Differences from crowd-kit 1.4.2, and `compat=crowd-kit`
/// crowd-kit minimises −Σ ln Pᵣ **+** λ Σᵢ [ln σ(x₀ − sᵢ) + ln σ(sᵢ − x₀)]: the regulariser
/// with the sign that rewards spreading the items away from x₀, which makes the objective
/// unbounded below (x₀ → ±∞ alone decreases it without limit). Its hand-written gradient does
/// not match that objective:
/// * the bias and skill components are written one slot too low (at L + w and L + W + w
///   instead of 1 + L + w and 1 + L + W + w: worker 0's bias derivative lands on the last
///   item's score, worker w's skill derivative on worker w − 1's bias …, and the last
///   worker's skill gets none);
/// * they are assigned (`=`) rather than accumulated, so only each worker's last comparison
///   in row order counts;
/// * the regulariser's term has the sign opposite to its objective's (it is the derivative
///   of the penalty used here).
///
/// `compat=crowd-kit` evaluates crowd-kit's objective and buggy gradient literally (in row
/// order, numpy's pairwise sums, `ftol = float32(tol)`) and the optimiser follows scipy's
/// L-BFGS-B step for step, including its C `fmin`/`fmax` handling of the NaNs that crowd-kit's
/// overflowing objective produces; measured equal to crowd-kit to ≤ 2e-15 with the same
/// iteration counts on crowd-kit's fixtures and on generated data (`tests/it/pairwise.rs`).
/// With a gradient that is not the objective's, the line search often fails (scipy's
/// `ABNORMAL_TERMINATION_IN_LNSRCH`, here `StopReason::NoProgress`) at the same points.
///
/// ```
/// use crowdagg::{
///     NoisyBradleyTerry, PairwiseAggregator, PairwiseCompat, PairwiseParams, PairwiseResponses,
/// };
///
/// // crowd-kit's own test (`test_noisy_bradley_terry_equal`): one worker, a cycle a > b > c > a.
/// let data = PairwiseResponses::from_rows([
///     ("w1", "a", "b", "a"), ("w1", "b", "c", "b"), ("w1", "c", "a", "c"),
/// ])?;
/// let ck = NoisyBradleyTerry::params().compat(PairwiseCompat::CrowdKit).check()?.fit(&data)?;
/// let expected = [0.6715468044437242, 0.6462882683525435, 0.632947637600415]; // crowd-kit's
/// for (s, e) in ck.scores.iter().zip(expected) {
///     assert!((s - e).abs() < 1e-12);
/// }
/// // crowd-kit's gradient is not a descent direction here: its line search fails and the
/// // scores are σ of numpy's seeded start. The exact gradient makes progress:
/// let fit = NoisyBradleyTerry::default().fit(&data)?;
/// assert!(fit.report.iterations > 0 && ck.report.iterations == 0);
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct NoisyBradleyTerry {
    params: NoisyBradleyTerryParams,
}

/// Parameters of [`NoisyBradleyTerry`] (defaults as crowd-kit).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename = "NoisyBradleyTerry", default, deny_unknown_fields)]
pub struct NoisyBradleyTerryParams {
    /// Maximum number of L-BFGS iterations (scipy's `maxiter`).
    pub n_iter: usize,
    /// Relative reduction tolerance of the objective (scipy's `ftol`), ≥ 0.
    pub tol: f64,
    /// λ, the weight of the virtual-item regulariser, ≥ 0.
    pub regularization_ratio: f64,
    /// Seed of numpy's legacy generator for the random start.
    pub random_state: u32,
    /// Correct objective and gradient, or crowd-kit's.
    pub compat: PairwiseCompat,
}

impl Default for NoisyBradleyTerryParams {
    fn default() -> Self {
        Self {
            n_iter: 100,
            tol: 1e-5,
            regularization_ratio: 1e-5,
            random_state: 0,
            compat: PairwiseCompat::Correct,
        }
    }
}

impl NoisyBradleyTerry {
    /// The objective this instance minimises at `x` (layout [x₀, s, q, γ], length
    /// 1 + n_items + 2·n_workers), with its gradient written into `gradient` — the exact
    /// gradient, or crowd-kit's buggy one under `compat=crowd-kit`. Useful to check the
    /// gradient or to continue a fit.
    ///
    /// # Errors
    /// [`DataError::VectorLength`] naming `x` or `gradient` when its length is not
    /// 1 + n_items + 2·n_workers of `data`.
    pub fn objective(
        &self,
        data: &PairwiseResponses,
        x: &[f64],
        gradient: &mut [f64],
    ) -> Result<f64, DataError> {
        let expected = 1 + data.n_items() + 2 * data.n_workers();
        for (name, found) in [("x", x.len()), ("gradient", gradient.len())] {
            if found != expected {
                return Err(DataError::VectorLength {
                    name,
                    expected,
                    found,
                    layout: "1 + n_items + 2 n_workers",
                });
            }
        }
        let model = Model::new(data, self.params);
        Ok(model.evaluate(x, gradient))
    }
}

crate::methods::params::setters! {
    /// The default parameters, to adjust and [`check`](crate::Params::check).
    NoisyBradleyTerry => NoisyBradleyTerryParams {
        /// Sets `n_iter`.
        n_iter: usize,
        /// Sets `tol`.
        tol: f64,
        /// Sets `regularization_ratio`.
        regularization_ratio: f64,
        /// Sets `random_state`.
        random_state: u32,
        /// Sets `compat`.
        compat: PairwiseCompat,
    }
    check(|p| {
        check_non_negative("tol", p.tol)?;
        check_non_negative("regularization_ratio", p.regularization_ratio)
    })
}

impl PairwiseAggregator for NoisyBradleyTerry {
    fn name(&self) -> &'static str {
        "NoisyBradleyTerry"
    }

    fn fit_with(
        &self,
        data: &PairwiseResponses,
        observer: Option<&dyn Observer>,
    ) -> Result<PairwiseAggregation> {
        let started = Instant::now();
        let p = &self.params;
        let (n_items, n_workers) = (data.n_items(), data.n_workers());
        if data.is_empty() {
            return Ok(PairwiseAggregation {
                scores: Vec::new(),
                biases: Some(Vec::new()),
                skills: Some(Vec::new()),
                report: FitReport::new(0, StopReason::Converged, Vec::new()),
            });
        }
        let mut rng = RandomState::new(p.random_state);
        let mut x: Vec<f64> = (0..1 + n_items + 2 * n_workers)
            .map(|_| rng.random_sample())
            .collect();
        let model = Model::new(data, *p);
        let ftol = match p.compat {
            PairwiseCompat::Correct => p.tol,
            PairwiseCompat::CrowdKit => f64::from(p.tol as f32),
        };
        let outcome = minimize_lbfgs(
            |x, g| model.evaluate(x, g),
            &mut x,
            LbfgsOptions::scipy(p.n_iter, ftol),
            &mut |iteration, f| match observer {
                Some(observer) => {
                    let state =
                        IterationState::new(iteration, p.n_iter.max(1), f, started.elapsed());
                    observer.observe(&state) == Action::Continue
                }
                None => true,
            },
        );
        let stop_reason = match outcome.status {
            LbfgsStatus::Gradient | LbfgsStatus::Objective => StopReason::Converged,
            LbfgsStatus::MaxIterations | LbfgsStatus::MaxEvaluations => StopReason::MaxIterations,
            LbfgsStatus::NoProgress => StopReason::NoProgress,
            LbfgsStatus::Interrupted => StopReason::Interrupted,
        };
        let expit = |v: &[f64]| v.iter().map(|&v| expit(v)).collect::<Vec<f64>>();
        let biases_begin = 1 + n_items;
        let skills_begin = biases_begin + n_workers;
        Ok(PairwiseAggregation {
            scores: expit(&x[1..biases_begin]),
            biases: Some(expit(&x[biases_begin..skills_begin])),
            skills: Some(expit(&x[skills_begin..])),
            report: FitReport::new(outcome.iterations, stop_reason, outcome.history).timed(started),
        })
    }

    fn params(&self) -> ParamReport {
        report(&self.params)
    }
}

/// scipy's `expit`: 1 / (1 + e⁻ˣ).
fn expit(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The data as the objective needs it.
struct Model {
    comparisons: Vec<Comparison>,
    n_items: usize,
    n_workers: usize,
    params: NoisyBradleyTerryParams,
}

impl Model {
    fn new(data: &PairwiseResponses, params: NoisyBradleyTerryParams) -> Self {
        let mut comparisons = data.comparisons().to_vec();
        if params.compat == PairwiseCompat::Correct {
            comparisons.sort_unstable_by_key(|c| (c.worker, c.left, c.right, c.left_won));
        }
        Self {
            comparisons,
            n_items: data.n_items(),
            n_workers: data.n_workers(),
            params,
        }
    }

    fn evaluate(&self, x: &[f64], g: &mut [f64]) -> f64 {
        match self.params.compat {
            PairwiseCompat::Correct => self.correct(x, g),
            PairwiseCompat::CrowdKit => {
                self.crowd_kit_gradient(x, g);
                self.crowd_kit_objective(x)
            }
        }
    }

    /// f and its exact gradient.
    fn correct(&self, x: &[f64], g: &mut [f64]) -> f64 {
        let (l, w) = (self.n_items, self.n_workers);
        let lambda = self.params.regularization_ratio;
        g.iter_mut().for_each(|v| *v = 0.0);
        // The parts that depend on the worker only (γ, and u = ±q for either winner), once per
        // worker: the same function of the same values as per comparison, so the same bits.
        let by_worker: Vec<[(f64, f64, f64); 3]> = (0..w)
            .map(|k| {
                let (q, gamma) = (x[1 + l + k], x[1 + l + w + k]);
                [
                    logistic_parts(gamma),
                    // y · q for y = ±1: multiplying by ±1 is exact, so q and −q.
                    logistic_parts(q),
                    logistic_parts(-q),
                ]
            })
            .collect();
        let mut f = 0.0;
        for c in &self.comparisons {
            let (il, ir) = (1 + c.left as usize, 1 + c.right as usize);
            let (iq, ig) = (1 + l + c.worker as usize, 1 + l + w + c.worker as usize);
            let y = if c.left_won { 1.0 } else { -1.0 };
            let d = y * (x[il] - x[ir]);
            // ln σ(z) = −softplus(−z); logistic_parts(z) = (softplus z, softplus −z, σ z).
            let [parts_g, parts_won, parts_lost] = by_worker[c.worker as usize];
            let (sp_g, sp_neg_g, sig_g) = parts_g;
            let (_, sp_neg_d, sig_d) = logistic_parts(d);
            // u = y · q
            let (_, sp_neg_u, sig_u) = if c.left_won { parts_won } else { parts_lost };
            let a = -(sp_neg_g + sp_neg_d); // ln σ(γ) + ln σ(d)
            let b = -(sp_g + sp_neg_u); // ln σ(−γ) + ln σ(u)
            let hi = a.max(b);
            let ln_p = hi + (-(a - b).abs()).exp().ln_1p();
            f -= ln_p;
            // Responsibilities of the two branches.
            let ra = (a - ln_p).exp();
            let rb = (b - ln_p).exp();
            let dd = -ra * (1.0 - sig_d) * y;
            g[il] += dd;
            g[ir] -= dd;
            g[iq] += -rb * (1.0 - sig_u) * y;
            g[ig] += -(ra * (1.0 - sig_g) - rb * sig_g);
        }
        for i in 1..=l {
            let z = x[i] - x[0];
            let (sp_z, sp_neg_z, _) = logistic_parts(z);
            // −λ [ln σ(−z) + ln σ(z)] = λ [softplus(z) + softplus(−z)]
            f += lambda * (sp_z + sp_neg_z);
            let t = lambda * (z / 2.0).tanh();
            g[i] += t;
            g[0] -= t;
        }
        f
    }

    /// crowd-kit's `_compute_log_likelihood`, literally.
    fn crowd_kit_objective(&self, x: &[f64]) -> f64 {
        let (l, w) = (self.n_items, self.n_workers);
        let terms: Vec<f64> = self
            .comparisons
            .iter()
            .map(|c| {
                let (s_i, s_j) = (x[1 + c.left as usize], x[1 + c.right as usize]);
                let y = if c.left_won { 1.0 } else { -1.0 };
                let q = x[1 + c.worker as usize + l];
                let gamma = x[1 + c.worker as usize + l + w];
                (expit(gamma) * expit(y * (s_i - s_j)) + (1.0 - expit(gamma)) * expit(y * q)).ln()
            })
            .collect();
        let total = numpy_sum(&terms);
        let a: Vec<f64> = (1..=l).map(|i| expit(x[0] - x[i]).ln()).collect();
        let b: Vec<f64> = (1..=l).map(|i| expit(x[i] - x[0]).ln()).collect();
        let reg = numpy_sum(&a) + numpy_sum(&b);
        -total + self.params.regularization_ratio * reg
    }

    /// crowd-kit's `_compute_gradient`, bugs included, literally.
    fn crowd_kit_gradient(&self, x: &[f64], g: &mut [f64]) {
        let (labels, workers) = (self.n_items, self.n_workers);
        let exp = f64::exp;
        g.iter_mut().for_each(|v| *v = 0.0);
        for c in &self.comparisons {
            let worker_idx = c.worker as usize;
            let (left_idx, right_idx) = (1 + c.left as usize, 1 + c.right as usize);
            let (s_i, s_j) = (x[left_idx], x[right_idx]);
            let y: f64 = if c.left_won { 1.0 } else { -1.0 };
            let q = x[1 + labels + worker_idx];
            let gamma = x[1 + labels + workers + worker_idx];

            let e = exp(y * (-(s_i - s_j))) + 1.0;
            g[left_idx] += (y * exp(y * (-(s_i - s_j))))
                / ((exp(-gamma) + 1.0)
                    * (e * e)
                    * (1.0 / ((exp(-gamma) + 1.0) * (exp(y * (-(s_i - s_j))) + 1.0))
                        + (1.0 - 1.0 / (exp(-gamma) + 1.0)) / (exp(-q * y) + 1.0)));
            g[right_idx] += -(y * (exp(q * y) + 1.0) * exp(y * (s_i - s_j) + gamma))
                / ((exp(y * (s_i - s_j)) + 1.0)
                    * (exp(y * (s_i - s_j) + gamma + q * y)
                        + exp(y * (s_i - s_j) + gamma)
                        + exp(y * (s_i - s_j) + q * y)
                        + exp(q * y)));
            let common = exp(y * (s_i + q) + gamma)
                + exp(s_i * y + gamma)
                + exp(y * (s_i + q))
                + exp(y * (s_j + q));
            g[labels + worker_idx] =
                (y * exp(q * y) * (exp(s_i * y) + exp(s_j * y))) / ((exp(q * y) + 1.0) * common);
            g[labels + workers + worker_idx] =
                (exp(gamma) * (exp(s_i * y) - exp(y * (s_j + q)))) / ((exp(gamma) + 1.0) * common);
        }
        let lambda = self.params.regularization_ratio;
        let tanh: Vec<f64> = (1..=labels).map(|i| ((x[i] - x[0]) / 2.0).tanh()).collect();
        for (i, t) in tanh.iter().enumerate() {
            g[1 + i] -= lambda * t;
        }
        g[0] += lambda * numpy_sum(&tanh);
        g.iter_mut().for_each(|v| *v = -*v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Params;
    use crate::numeric::numpy_random::RandomState;

    fn data() -> PairwiseResponses {
        let mut rows = Vec::new();
        let mut rng = RandomState::new(3);
        let items = ["a", "b", "c", "d", "e"];
        for k in 0..60 {
            let i = (rng.next_u32() % 5) as usize;
            let j = (i + 1 + (rng.next_u32() % 4) as usize) % 5;
            let left_won = rng.random_sample() < 0.5 + 0.1 * (j as f64 - i as f64);
            let worker = format!("w{}", k % 4);
            let winner = if left_won { items[i] } else { items[j] };
            rows.push((worker, items[i], items[j], winner));
        }
        PairwiseResponses::from_rows(rows).unwrap()
    }

    #[test]
    fn gradient_matches_central_differences() {
        let data = data();
        let model = NoisyBradleyTerry::params()
            .regularization_ratio(0.3)
            .check()
            .unwrap();
        let n = 1 + data.n_items() + 2 * data.n_workers();
        let mut rng = RandomState::new(11);
        let mut worst: f64 = 0.0;
        for _ in 0..20 {
            let x: Vec<f64> = (0..n).map(|_| 8.0 * rng.random_sample() - 4.0).collect();
            let mut g = vec![0.0; n];
            model.objective(&data, &x, &mut g).unwrap();
            for k in 0..n {
                let h = 1e-5;
                let mut xp = x.clone();
                let mut xm = x.clone();
                xp[k] += h;
                xm[k] -= h;
                let mut scratch = vec![0.0; n];
                let fp = model.objective(&data, &xp, &mut scratch).unwrap();
                let fm = model.objective(&data, &xm, &mut scratch).unwrap();
                worst = worst.max(((fp - fm) / (2.0 * h) - g[k]).abs());
            }
        }
        assert!(
            worst < 1e-6,
            "max |gradient − finite difference| = {worst:e}"
        );
    }

    #[test]
    fn crowd_kit_gradient_is_not_the_gradient() {
        let data = data();
        let model = NoisyBradleyTerry::params()
            .compat(PairwiseCompat::CrowdKit)
            .check()
            .unwrap();
        let n = 1 + data.n_items() + 2 * data.n_workers();
        let x: Vec<f64> = (0..n).map(|k| (k as f64 * 0.37).sin()).collect();
        let mut g = vec![0.0; n];
        model.objective(&data, &x, &mut g).unwrap();
        // The last worker's skill slot is never written.
        assert_eq!(g[n - 1], 0.0);
        let mut scratch = vec![0.0; n];
        let h = 1e-6;
        let mut xp = x.clone();
        xp[n - 1] += h;
        let mut xm = x.clone();
        xm[n - 1] -= h;
        let fd = (model.objective(&data, &xp, &mut scratch).unwrap()
            - model.objective(&data, &xm, &mut scratch).unwrap())
            / (2.0 * h);
        assert!(fd.abs() > 1e-3, "{fd}");
    }

    #[test]
    fn params_are_validated() {
        assert!(NoisyBradleyTerry::params().tol(-1.0).check().is_err());
        assert!(
            NoisyBradleyTerry::params()
                .regularization_ratio(f64::INFINITY)
                .check()
                .is_err()
        );
        let parse = |key, value| NoisyBradleyTerryParams::parse_pairs([(key, value)]);
        assert!(parse("random_state", "-1").is_err());
        assert!(parse("n_iter", "x").is_err());
        assert!(parse("skills", "1").is_err());
    }
}
