//! MACE: Multi-Annotator Competence Estimation (crowd-kit `MACE`, with its bugs fixed).

use ndarray::Array2;
use rayon::prelude::*;

use crate::numeric::prefetch::prefetch;

use std::time::Instant;

use crate::aggregation::{Action, Aggregation, FitReport, IterationState, StopReason};
use crate::error::{DataError, ParamsError, Result};
use crate::responses::Responses;

use super::params::{ParamReport, Params, check_non_negative, out_of_range, report};
use super::{Aggregator, FitInputs};
use crate::numeric::rng::SplitMix64;
use crate::numeric::special::{digamma, softmax_in_place};

/// MACE (Hovy, Berg-Kirkpatrick, Vaswani & Hovy, "Learning whom to trust with MACE",
/// NAACL-HLT 2013), with crowd-kit 1.4.2's defaults.
///
/// # Model
/// The true label T_t is uniform over the K labels. On each answer, worker w is spamming with
/// probability π_{w,0} (and "knowing" with π_{w,1} = 1 − π_{w,0}); a knowing worker answers
/// T_t, a spamming worker draws the answer from its strategy θ_w (a distribution over labels).
/// So P(y_r | T_t = c) = g_r(c) = π_{w,0} θ_{w,y_r} + π_{w,1} [y_r = c].
///
/// # Fit
/// * E-step: q_{t,c} ∝ Π_{r∈t} g_r(c); ln Z_t = ln Σ_c (1/K) Π_r g_r(c) (computed in log
///   space); log marginal likelihood LML = Σ_t ln Z_t. Expected counts per answer:
///   spamming e_r = (1 − q_{t,y_r}) + q_{t,y_r}·π₀θ_{y_r}/(π₀θ_{y_r} + π₁), knowing
///   1 − e_r; S_{w,y} = Σ e_r over w's answers y; Kn_w = (Σ e_r, Σ (1 − e_r)).
/// * M-step, `method = em`: π_w ∝ Kn_w + s, θ_w ∝ S_w + s, with s = `smoothing`
///   (default 0.01/K, as crowd-kit and Hovy's MACE).
/// * M-step, `method = vb` (default): mean-field variational Bayes with Beta(α, β) on π_w
///   (α on the spamming side) and a symmetric Dirichlet(10) on θ_w:
///   π_{w,j} = exp(ψ(Kn_{w,j} + a_j) − ψ(Σ_j (Kn_{w,j} + a_j))), likewise θ_{w,k} with
///   S_{w,k} + 10. ψ is the digamma function; these are not renormalised (exp E[ln π]).
/// * Per restart: random start π_w ∝ 1 + (1 + `default_noise`)·U², θ_w ∝ 1 + (1 +
///   `default_noise`)·U^K; one E-step; `n_iter` × (M-step, E-step); no convergence test.
///   The restart with the largest final LML is kept (the first one on ties).
///
/// # Outputs
/// `probabilities` = q of the kept restart's last E-step; labels = argmax with ties to the
/// smallest label (crowd-kit: to the first-seen label); `skills` = P(knowing) =
/// π_{w,1}/(π_{w,0} + π_{w,1}); `loss_history` = the kept restart's LML after each iteration.
/// [`MaceFit`] also holds π and θ as fitted.
///
/// An [`Observer`](crate::Observer) is called once per restart with its final LML (the
/// restarts then run one after another, with the same results); [`Action::Stop`] before the
/// last restart keeps the best of the restarts run so far, with
/// [`StopReason::Interrupted`].
///
/// # Differences from crowd-kit (bug fixes)
/// * Each restart has its own seed, derived from `random_state` and the restart index
///   (SplitMix64 streams); crowd-kit reuses one seed, so its restarts are all identical. The
///   random start has the same distribution as crowd-kit's, not the same numbers.
/// * θ is indexed by (worker, label) consistently; crowd-kit reads its sorted-order strategy
///   counts back with first-seen codes, which mixes workers and labels up whenever the two
///   orders differ.
/// * LML is Σ_t ln Z_t exactly (crowd-kit: ln(Z_t + 1e-8) on Z_t computed as a product, which
///   underflows for tasks with many answers).
/// * `smoothing` is used in the EM M-step when given (crowd-kit ignores it).
/// * `skills` are normalised P(knowing); crowd-kit's `spamming_` holds the raw VB values.
///
/// Because of these fixes, results differ from crowd-kit as shipped, in both directions (on the
/// shared datasets accuracy on gold is higher on bluebirds, face, web, trec-rf10, lower on ws-amt,
/// zencrowd-all, product). crowd-kit with both bugs patched (fixtures/reference/mace_fixed.py)
/// agrees with us on 100 % of the tasks on nine datasets and 98.4 % on product (another local
/// optimum, where ours is more accurate).
///
/// # Example
///
/// ```
/// use crowdagg::{Aggregator, Mace, Responses};
///
/// let data = Responses::from_triples([
///     ("t1", "w1", "no"), ("t1", "w2", "no"), ("t1", "w3", "no"), ("t1", "w4", "yes"),
///     ("t2", "w1", "yes"), ("t2", "w2", "yes"), ("t2", "w3", "no"), ("t2", "w4", "yes"),
///     ("t3", "w1", "no"), ("t3", "w2", "no"), ("t3", "w3", "yes"), ("t3", "w4", "no"),
///     ("t4", "w1", "yes"), ("t4", "w2", "yes"), ("t4", "w3", "yes"), ("t4", "w4", "yes"),
///     ("t5", "w1", "yes"), ("t5", "w2", "no"), ("t5", "w3", "yes"), ("t5", "w4", "yes"),
/// ])?;
/// let result = Mace::default().aggregate(&data)?;
/// let (t1, no) = (data.task_id("t1").unwrap(), data.label_id("no").unwrap());
/// assert_eq!(result.labels[t1], no);
/// // crowd-kit 1.4.2 `MACE().fit(df)` on the same rows gives the same labels (no, yes, no,
/// // yes, yes) and P(t1 = no) = 0.984763399152366. The random starts differ (see above), so
/// // the same optimum is reached along another path: here the two agree to 4e-8.
/// assert!((result.confidence[t1] - 0.984763399152366).abs() < 1e-6);
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Mace {
    params: MaceParams,
}

/// How [`Mace`] estimates the parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaceMethod {
    /// Variational Bayes with Beta/Dirichlet priors.
    #[default]
    Vb,
    /// Maximum likelihood with additive smoothing.
    Em,
}

/// Parameters of [`Mace`] (defaults as crowd-kit).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename = "MACE", default, deny_unknown_fields)]
pub struct MaceParams {
    /// Number of random restarts (≥ 1); the one with the largest log marginal likelihood is kept.
    pub n_restarts: usize,
    /// EM/VB iterations per restart (there is no convergence test).
    pub n_iter: usize,
    /// Variational Bayes (default) or EM.
    pub method: MaceMethod,
    /// Additive smoothing of the EM M-step; `None` = 0.01/K.
    pub smoothing: Option<f64>,
    /// Spread of the random start.
    pub default_noise: f64,
    /// Beta prior parameter of the spamming probability (VB).
    pub alpha: f64,
    /// Beta prior parameter of the knowing probability (VB).
    pub beta: f64,
    /// Seed of the random starts (each restart derives its own stream from it).
    pub random_state: u64,
}

impl Default for MaceParams {
    fn default() -> Self {
        Self {
            n_restarts: 10,
            n_iter: 50,
            method: MaceMethod::Vb,
            smoothing: None,
            default_noise: 0.5,
            alpha: 0.5,
            beta: 0.5,
            random_state: 0,
        }
    }
}

crate::methods::params::setters! {
    MaceParams {
        /// Sets the number of random restarts (≥ 1).
        n_restarts: usize,
        /// Sets the number of iterations per restart (≥ 1).
        n_iter: usize,
        /// Sets the estimation method.
        method: MaceMethod,
        /// Sets the additive smoothing of the EM M-step (> 0).
        smoothing: f64 => Some,
        /// Sets the seed of the random starts.
        random_state: u64,
    }
}

impl Mace {
    /// The default parameters (crowd-kit's), to adjust and then [`check`](Params::check) into a
    /// [`Mace`].
    pub fn params() -> MaceParams {
        MaceParams::default()
    }
}

impl Params for MaceParams {
    type Checked = Mace;

    fn check(self) -> Result<Mace, ParamsError> {
        if self.n_restarts == 0 {
            return Err(out_of_range("n_restarts", "at least 1", 0));
        }
        check_non_negative("default_noise", self.default_noise)?;
        for (name, v) in [("alpha", self.alpha), ("beta", self.beta)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(out_of_range(name, "a finite number > 0", v));
            }
        }
        if let Some(s) = self.smoothing
            && !(s.is_finite() && s > 0.0)
        {
            return Err(out_of_range("smoothing", "a finite number > 0", s));
        }
        Ok(Mace { params: self })
    }
}

/// A fitted MACE model.
#[derive(Debug, Clone, PartialEq)]
pub struct MaceFit {
    /// Labels, probabilities, `skills` = P(knowing), report.
    pub aggregation: Aggregation,
    /// workers × 2: [spamming, knowing] weights as fitted (VB: exp E[ln π], not normalised).
    pub spamming: Array2<f64>,
    /// workers × labels: each worker's strategy θ_w when spamming (VB: not normalised).
    pub strategy: Array2<f64>,
    /// LML of the kept restart.
    pub log_marginal_likelihood: f64,
    /// Index (0-based) of the kept restart.
    pub restart: usize,
}

/// Dirichlet prior on every strategy entry in VB (crowd-kit and Hovy's MACE).
const STRATEGY_PRIOR: f64 = 10.0;
/// Tasks or workers per rayon job.
const MIN_CHUNK: usize = 256;

/// Parameters and expected counts of one restart.
struct State {
    /// workers × 2, row-major: [π₀ (spamming), π₁ (knowing)].
    spam: Vec<f64>,
    /// workers × labels, row-major.
    theta: Vec<f64>,
    /// tasks × labels posterior.
    q: Vec<f64>,
    /// ln Z_t per task.
    ln_z: Vec<f64>,
    /// workers × 2 expected (spamming, knowing) counts.
    kn: Vec<f64>,
    /// workers × labels expected spamming counts.
    counts: Vec<f64>,
    /// workers × labels: ln s and ln(s + π₁) − ln s, s = π₀θ_{w,y} (they depend on the answer
    /// only through (w, y), so the E-step looks them up instead of taking 3 logs per answer).
    ln_spamming: Vec<f64>,
    ln_gain: Vec<f64>,
    lml_history: Vec<f64>,
}

impl State {
    fn lml(&self) -> f64 {
        self.lml_history
            .last()
            .copied()
            .unwrap_or(f64::NEG_INFINITY)
    }
}

impl Mace {
    /// Fits MACE and returns the aggregation together with the fitted parameters.
    pub fn fit(&self, data: &Responses, inputs: FitInputs<'_>) -> Result<MaceFit> {
        let started = Instant::now();
        if data.is_empty() {
            return Ok(MaceFit {
                aggregation: super::empty_result(),
                spamming: Array2::zeros((0, 2)),
                strategy: Array2::zeros((0, 0)),
                log_marginal_likelihood: 0.0,
                restart: 0,
            });
        }
        let p = &self.params;
        let run = |restart: usize| self.run_restart(data, restart);
        let mut stop_reason = StopReason::MaxIterations;
        let runs: Vec<State> = match inputs.observer {
            // Restarts in parallel batches of one per thread; the observer is called from this
            // thread once per restart, in restart order, and a stop keeps the restarts up to the
            // one it saw (each restart has its own seed, so batching changes no bits).
            Some(observer) => {
                let batch = rayon::current_num_threads().max(1);
                let mut runs = Vec::with_capacity(p.n_restarts);
                'batches: for first in (0..p.n_restarts).step_by(batch) {
                    let last = (first + batch).min(p.n_restarts);
                    let done: Vec<State> = (first..last).into_par_iter().map(run).collect();
                    for state in done {
                        runs.push(state);
                        let r = runs.len();
                        let seen = IterationState::new(
                            r,
                            p.n_restarts,
                            runs[r - 1].lml(),
                            started.elapsed(),
                        );
                        if observer.observe(&seen) == Action::Stop && r < p.n_restarts {
                            stop_reason = StopReason::Interrupted;
                            break 'batches;
                        }
                    }
                }
                runs
            }
            None => (0..p.n_restarts).into_par_iter().map(run).collect(),
        };
        let mut best = 0;
        for (r, state) in runs.iter().enumerate() {
            if state.lml() > runs[best].lml() {
                best = r;
            }
        }
        let state = runs.into_iter().nth(best).ok_or(DataError::Internal {
            method: "MACE",
            what: "no restart ran",
        })?;
        let (w, k, t) = (data.n_workers(), data.n_labels(), data.n_tasks());
        let shape_error = |_: ndarray::ShapeError| DataError::Internal {
            method: "MACE",
            what: "array shape",
        };
        let log_marginal_likelihood = state.lml();
        let skills = state
            .spam
            .chunks_exact(2)
            .map(|pi| Some(pi[1] / (pi[0] + pi[1])))
            .collect();
        let mut aggregation = Aggregation::from_probabilities(
            Array2::from_shape_vec((t, k), state.q).map_err(shape_error)?,
        );
        aggregation.skills = Some(skills);
        aggregation.report =
            FitReport::new(p.n_iter, stop_reason, state.lml_history[1..].to_vec()).timed(started);
        Ok(MaceFit {
            aggregation,
            spamming: Array2::from_shape_vec((w, 2), state.spam).map_err(shape_error)?,
            strategy: Array2::from_shape_vec((w, k), state.theta).map_err(shape_error)?,
            log_marginal_likelihood,
            restart: best,
        })
    }

    fn run_restart(&self, data: &Responses, restart: usize) -> State {
        let p = &self.params;
        let (w, k, t) = (data.n_workers(), data.n_labels(), data.n_tasks());
        let mut rng = SplitMix64::stream(p.random_state, restart as u64);
        let spread = 1.0 + p.default_noise;
        let mut draw =
            |n: usize| -> Vec<f64> { (0..n).map(|_| 1.0 + spread * rng.next_f64()).collect() };
        let mut spam = draw(2 * w);
        let mut theta = draw(w * k);
        normalize_rows(&mut spam, 2);
        normalize_rows(&mut theta, k);
        let mut state = State {
            spam,
            theta,
            q: vec![0.0; t * k],
            ln_z: vec![0.0; t],
            kn: vec![0.0; 2 * w],
            counts: vec![0.0; w * k],
            ln_spamming: vec![0.0; w * k],
            ln_gain: vec![0.0; w * k],
            lml_history: Vec::with_capacity(p.n_iter),
        };
        e_step(data, &mut state);
        for _ in 0..p.n_iter {
            self.m_step(&mut state, k);
            e_step(data, &mut state);
        }
        state
    }

    fn m_step(&self, state: &mut State, k: usize) {
        let p = &self.params;
        match p.method {
            MaceMethod::Em => {
                let s = p.smoothing.unwrap_or(0.01 / k as f64);
                smoothed_normalize(&state.kn, &mut state.spam, 2, |_| s);
                smoothed_normalize(&state.counts, &mut state.theta, k, |_| s);
            }
            MaceMethod::Vb => {
                let priors = [p.alpha, p.beta];
                variational_normalize(&state.kn, &mut state.spam, 2, |j| priors[j]);
                variational_normalize(&state.counts, &mut state.theta, k, |_| STRATEGY_PRIOR);
            }
        }
    }
}

/// q, ln Z, LML and the expected counts from the current π and θ.
fn e_step(data: &Responses, state: &mut State) {
    let k = data.n_labels();
    let ln_k = (k as f64).ln();
    let by_task = data.by_task();
    let (spam, theta) = (&state.spam, &state.theta);
    // s_r = π₀θ_{w,y}: the probability of answer y by spamming; π₁ that of knowing.
    let spamming = |w: usize, y: usize| spam[2 * w] * theta[w * k + y];
    state
        .ln_spamming
        .par_chunks_mut(k)
        .zip(state.ln_gain.par_chunks_mut(k))
        .with_min_len(MIN_CHUNK)
        .enumerate()
        .for_each(|(w, (ln_s, gain))| {
            for (y, (ln_s, gain)) in ln_s.iter_mut().zip(gain).enumerate() {
                let s = spamming(w, y);
                *ln_s = s.ln();
                *gain = (s + spam[2 * w + 1]).ln() - s.ln();
            }
        });
    let (ln_spamming, ln_gain) = (&state.ln_spamming, &state.ln_gain);
    state
        .q
        .par_chunks_mut(k)
        .zip(state.ln_z.par_iter_mut())
        .with_min_len(MIN_CHUNK)
        .enumerate()
        .for_each(|(t, (row, ln_z))| {
            let (workers, labels) = by_task.row(t);
            let mut base = -ln_k;
            row.iter_mut().for_each(|v| *v = 0.0);
            for (&w, &y) in workers.iter().zip(labels) {
                let at = w as usize * k + y as usize;
                base += ln_spamming[at];
                row[y as usize] += ln_gain[at];
            }
            row.iter_mut().for_each(|v| *v += base);
            *ln_z = softmax_in_place(row);
        });
    state.lml_history.push(state.ln_z.iter().sum());

    let by_worker = data.by_worker();
    let q = &state.q;
    state
        .kn
        .par_chunks_mut(2)
        .zip(state.counts.par_chunks_mut(k))
        .with_min_len(MIN_CHUNK)
        .enumerate()
        .for_each(|(w, (kn, counts))| {
            let (tasks, labels) = by_worker.row(w);
            counts.iter_mut().for_each(|v| *v = 0.0);
            let (mut spamming_total, mut knowing_total) = (0.0, 0.0);
            for (i, (&t, &y)) in tasks.iter().zip(labels).enumerate() {
                // The worker's tasks are scattered over q: ask for rows a few answers ahead.
                if let (Some(&ahead), Some(&label)) = (tasks.get(i + 16), labels.get(i + 16)) {
                    prefetch(q, ahead as usize * k + label as usize);
                }
                let (t, y) = (t as usize, y as usize);
                let s = spamming(w, y);
                let knowing = spam[2 * w + 1];
                let qy = q[t * k + y];
                let know = qy * knowing / (s + knowing);
                let spammed = (1.0 - qy) + qy * s / (s + knowing);
                counts[y] += spammed;
                spamming_total += spammed;
                knowing_total += know;
            }
            kn[0] = spamming_total;
            kn[1] = knowing_total;
        });
}

fn normalize_rows(values: &mut [f64], width: usize) {
    for row in values.chunks_exact_mut(width) {
        let sum: f64 = row.iter().sum();
        row.iter_mut().for_each(|v| *v /= sum);
    }
}

/// out_j = (x_j + prior_j) / Σ_j (x_j + prior_j), row by row.
fn smoothed_normalize(x: &[f64], out: &mut [f64], width: usize, prior: impl Fn(usize) -> f64) {
    for (row, out) in x.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
        let sum: f64 = row.iter().enumerate().map(|(j, v)| v + prior(j)).sum();
        for (j, (o, v)) in out.iter_mut().zip(row).enumerate() {
            *o = (v + prior(j)) / sum;
        }
    }
}

/// out_j = exp(ψ(x_j + prior_j) − ψ(Σ_j (x_j + prior_j))), row by row.
fn variational_normalize(x: &[f64], out: &mut [f64], width: usize, prior: impl Fn(usize) -> f64) {
    for (row, out) in x.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
        let total: f64 = row.iter().enumerate().map(|(j, v)| v + prior(j)).sum();
        let psi_total = digamma(total);
        for (j, (o, v)) in out.iter_mut().zip(row).enumerate() {
            *o = (digamma(v + prior(j)) - psi_total).exp();
        }
    }
}

impl Aggregator for Mace {
    fn name(&self) -> &'static str {
        "MACE"
    }

    fn aggregate_with(&self, data: &Responses, inputs: FitInputs<'_>) -> Result<Aggregation> {
        Ok(self.fit(data, inputs)?.aggregation)
    }

    fn params(&self) -> ParamReport {
        report(&self.params)
    }
}
