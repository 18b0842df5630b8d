//! MACE: Multi-Annotator Competence Estimation (crowd-kit `MACE`, with its bugs fixed).

use ndarray::Array2;
use rayon::prelude::*;

use crate::numeric::prefetch::prefetch;

use std::time::Instant;

use crate::aggregation::{Action, Aggregation, FitReport, IterationState, StopReason};
use crate::error::{DataError, ParamsError, Result};
use crate::numeric::simd::Isa;
use crate::responses::{Label, Responses};

use super::params::{ParamReport, Params, check_non_negative, out_of_range, report};
use super::{Aggregator, FitInputs};
use crate::numeric::rng::SplitMix64;
use crate::numeric::special::digamma;

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
/// The restarts run side by side, one pass over the data per E-step for all of them (each
/// restart one "lane": the same operations in the same order as on its own, so the same bits).
/// An [`Observer`](crate::Observer) is called once per restart with its final LML; the
/// restarts then run in batches of five lanes, and [`Action::Stop`] before the last restart
/// keeps the best of the restarts up to the one it saw, with [`StopReason::Interrupted`]
/// (the batches not yet started do not run). An observer that cannot stop
/// ([`Observer::may_stop`](crate::Observer::may_stop) false, e.g. the CLI's progress bar)
/// leaves all restarts in one pass.
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
#[non_exhaustive]
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
/// Tasks per rayon job.
const MIN_CHUNK: usize = 256;
/// Workers per rayon job: a worker's answers are visited once for all restarts, and worker
/// activity is skewed (Zipf), so the worker pass is split finely to keep both cores busy.
const MIN_WORKER_CHUNK: usize = 8;
/// Restarts per pass over the data when an observer that may stop is attached (it sees each
/// restart when its pass ends, and a stop skips the passes not yet started). Otherwise one
/// pass carries all restarts.
const OBSERVED_LANES: usize = 5;

/// Parameters and expected counts of one restart.
struct State {
    /// workers × 2, row-major: [π₀ (spamming), π₁ (knowing)].
    spam: Vec<f64>,
    /// workers × labels, row-major.
    theta: Vec<f64>,
    /// workers × 2 expected (spamming, knowing) counts.
    kn: Vec<f64>,
    /// workers × labels expected spamming counts.
    counts: Vec<f64>,
    /// tasks × labels posterior of the last E-step (filled only for the kept restart).
    q: Vec<f64>,
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

/// The E-step of a batch of restarts ("lanes") in one pass over the data: entry i of lane l is
/// at `i * lanes + l`, so each answer's (worker, label) and (task, label) are looked up once
/// for every restart and the per-restart arithmetic runs across adjacent lanes. Each lane does
/// exactly the operations, in the same order, of a restart run on its own: the same bits.
struct Lanes {
    lanes: usize,
    /// workers × labels × lanes: ln s and ln(s + π₁) − ln s with s = π₀θ_{w,y} (they depend on
    /// the answer only through (w, y), so the E-step looks them up instead of taking 3 logs
    /// per answer).
    ln_spamming: Vec<f64>,
    ln_gain: Vec<f64>,
    /// workers × labels × lanes: s = π₀θ_{w,y}.
    spamming: Vec<f64>,
    /// workers × lanes: π₁.
    knowing: Vec<f64>,
    /// tasks × labels × lanes posterior.
    q: Vec<f64>,
    /// tasks × lanes: ln Z_t.
    ln_z: Vec<f64>,
    /// workers × 2 × lanes expected (spamming, knowing) counts.
    kn: Vec<f64>,
    /// workers × labels × lanes expected spamming counts.
    counts: Vec<f64>,
}

impl Lanes {
    fn new(lanes: usize, w: usize, k: usize, t: usize) -> Self {
        Self {
            lanes,
            ln_spamming: vec![0.0; w * k * lanes],
            ln_gain: vec![0.0; w * k * lanes],
            spamming: vec![0.0; w * k * lanes],
            knowing: vec![0.0; w * lanes],
            q: vec![0.0; t * k * lanes],
            ln_z: vec![0.0; t * lanes],
            kn: vec![0.0; 2 * w * lanes],
            counts: vec![0.0; w * k * lanes],
        }
    }

    /// Lane `lane`'s posterior, tasks × labels.
    fn q_of(&self, lane: usize) -> Vec<f64> {
        self.q
            .iter()
            .skip(lane)
            .step_by(self.lanes)
            .copied()
            .collect()
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
        let mut stop_reason = StopReason::MaxIterations;
        // Restarts run in batches, one pass over the data per E-step for the whole batch. The
        // observer is called from this thread once per restart, in restart order; a stop keeps
        // the restarts up to the one it saw. The kept restart is the first with the largest
        // LML, scanned in restart order across batches (each restart has its own seed, so
        // batching changes no bits).
        let batch = match inputs.observer {
            Some(observer) if observer.may_stop() => OBSERVED_LANES,
            _ => p.n_restarts,
        };
        let mut best: Option<(usize, State)> = None;
        'batches: for first in (0..p.n_restarts).step_by(batch) {
            let last = (first + batch).min(p.n_restarts);
            let (states, lanes) = self.run_lanes(data, first..last);
            let mut best_here: Option<usize> = None;
            for (lane, state) in states.iter().enumerate() {
                let r = first + lane;
                let best_lml = match (&best_here, &best) {
                    (Some(l), _) => Some(states[*l].lml()),
                    (None, Some((_, kept))) => Some(kept.lml()),
                    (None, None) => None,
                };
                if best_lml.is_none_or(|b| state.lml() > b) {
                    best_here = Some(lane);
                }
                let stop = inputs.observer.is_some_and(|observer| {
                    let seen =
                        IterationState::new(r + 1, p.n_restarts, state.lml(), started.elapsed());
                    observer.observe(&seen) == Action::Stop
                });
                if stop && r + 1 < p.n_restarts {
                    stop_reason = StopReason::Interrupted;
                    keep(&mut best, best_here, first, states, &lanes);
                    break 'batches;
                }
            }
            keep(&mut best, best_here, first, states, &lanes);
        }
        let (best, state) = best.ok_or(DataError::Internal {
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

    /// Runs the restarts `restarts` side by side, one lane each.
    fn run_lanes(&self, data: &Responses, restarts: std::ops::Range<usize>) -> (Vec<State>, Lanes) {
        self.run_lanes_on(data, restarts, Isa::detect())
    }

    /// [`Self::run_lanes`] with the kernels' build chosen by the caller (tests compare both).
    fn run_lanes_on(
        &self,
        data: &Responses,
        restarts: std::ops::Range<usize>,
        isa: Isa,
    ) -> (Vec<State>, Lanes) {
        let p = &self.params;
        let (w, k, t) = (data.n_workers(), data.n_labels(), data.n_tasks());
        let mut states: Vec<State> = restarts
            .map(|restart| {
                let mut rng = SplitMix64::stream(p.random_state, restart as u64);
                let spread = 1.0 + p.default_noise;
                let mut draw = |n: usize| -> Vec<f64> {
                    (0..n).map(|_| 1.0 + spread * rng.next_f64()).collect()
                };
                let mut spam = draw(2 * w);
                let mut theta = draw(w * k);
                normalize_rows(&mut spam, 2);
                normalize_rows(&mut theta, k);
                State {
                    spam,
                    theta,
                    kn: vec![0.0; 2 * w],
                    counts: vec![0.0; w * k],
                    q: Vec::new(),
                    lml_history: Vec::with_capacity(p.n_iter + 1),
                }
            })
            .collect();
        let mut lanes = Lanes::new(states.len(), w, k, t);
        e_step(data, &mut states, &mut lanes, isa);
        for _ in 0..p.n_iter {
            states
                .par_iter_mut()
                .for_each(|state| self.m_step(state, k));
            e_step(data, &mut states, &mut lanes, isa);
        }
        (states, lanes)
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

/// Keeps lane `lane` of a finished batch (with its posterior) if it is the best so far.
fn keep(
    best: &mut Option<(usize, State)>,
    lane: Option<usize>,
    first: usize,
    mut states: Vec<State>,
    lanes: &Lanes,
) {
    if let Some(lane) = lane {
        let mut state = states.swap_remove(lane);
        state.q = lanes.q_of(lane);
        *best = Some((first + lane, state));
    }
}

/// q, ln Z, LML and the expected counts of every lane from its current π and θ.
#[cfg_attr(not(target_arch = "x86_64"), allow(unused_variables))]
fn e_step(data: &Responses, states: &mut [State], lanes: &mut Lanes, isa: Isa) {
    let k = data.n_labels();
    let n = lanes.lanes;
    let ln_k = (k as f64).ln();
    {
        let states = &*states;
        lanes
            .ln_spamming
            .par_chunks_mut(k * n)
            .zip(lanes.ln_gain.par_chunks_mut(k * n))
            .zip(lanes.spamming.par_chunks_mut(k * n))
            .zip(lanes.knowing.par_chunks_mut(n))
            .with_min_len(MIN_CHUNK)
            .enumerate()
            .for_each(|(w, (((ln_s, gain), spamming), knowing))| {
                for (lane, state) in states.iter().enumerate() {
                    let (spam, theta) = (&state.spam, &state.theta);
                    knowing[lane] = spam[2 * w + 1];
                    for y in 0..k {
                        // s = π₀θ_{w,y}: the probability of answer y by spamming; π₁ that of
                        // knowing.
                        let s = spam[2 * w] * theta[w * k + y];
                        let at = y * n + lane;
                        spamming[at] = s;
                        ln_s[at] = s.ln();
                        gain[at] = (s + spam[2 * w + 1]).ln() - s.ln();
                    }
                }
            });
    }
    let by_task = data.by_task();
    let (ln_spamming, ln_gain) = (&lanes.ln_spamming, &lanes.ln_gain);
    lanes
        .q
        .par_chunks_mut(k * n)
        .zip(lanes.ln_z.par_chunks_mut(n))
        .with_min_len(MIN_CHUNK)
        .enumerate()
        .for_each_init(
            || (vec![0.0; n], vec![0.0; n]),
            |(base, sum), (t, (q, ln_z))| {
                let (workers, labels) = by_task.row(t);
                let row = TaskRow {
                    workers,
                    labels,
                    ln_spamming,
                    ln_gain,
                    ln_k,
                };
                #[cfg(target_arch = "x86_64")]
                if isa.avx2() {
                    // SAFETY: `Isa::avx2()` is true only when run-time detection found AVX2
                    // on this CPU, so the AVX2 build can run.
                    return unsafe { row.posterior_avx2(q, ln_z, base, sum) };
                }
                row.posterior(q, ln_z, base, sum);
            },
        );
    // LML = Σ_t ln Z_t, summed in task order in each lane.
    let mut lml = vec![-0.0; n];
    for ln_z in lanes.ln_z.chunks_exact(n) {
        add_lanes(&mut lml, ln_z);
    }
    for (state, lml) in states.iter_mut().zip(lml) {
        state.lml_history.push(lml);
    }

    let by_worker = data.by_worker();
    let (q, spamming, knowing) = (&lanes.q, &lanes.spamming, &lanes.knowing);
    lanes
        .kn
        .par_chunks_mut(2 * n)
        .zip(lanes.counts.par_chunks_mut(k * n))
        .with_min_len(MIN_WORKER_CHUNK)
        .enumerate()
        .for_each(|(w, (kn, counts))| {
            let (tasks, labels) = by_worker.row(w);
            let row = WorkerRow {
                tasks,
                labels,
                q,
                spamming: &spamming[w * k * n..(w + 1) * k * n],
                knowing: &knowing[w * n..(w + 1) * n],
            };
            #[cfg(target_arch = "x86_64")]
            if isa.avx2() {
                // SAFETY: as for the task rows above.
                return unsafe { row.counts_avx2(kn, counts) };
            }
            row.counts(kn, counts);
        });
    // Back to each restart's own rows for its M-step.
    for (lane, state) in states.iter_mut().enumerate() {
        for (out, v) in state
            .kn
            .iter_mut()
            .zip(lanes.kn.iter().skip(lane).step_by(n))
        {
            *out = *v;
        }
        for (out, v) in state
            .counts
            .iter_mut()
            .zip(lanes.counts.iter().skip(lane).step_by(n))
        {
            *out = *v;
        }
    }
}

/// One task's answers, for its posterior in every lane.
///
/// The row kernels ([`TaskRow::posterior`], [`WorkerRow::counts`]) are plain lane loops that
/// the compiler vectorises, compiled twice — for the x86-64 baseline (2 doubles per vector)
/// and, chosen at run time (`numeric::simd::Isa`), with AVX2 (4). Both builds perform the same
/// IEEE operations in the same order (no fused multiply-add is ever formed): the same bits.
struct TaskRow<'a> {
    workers: &'a [u32],
    labels: &'a [Label],
    ln_spamming: &'a [f64],
    ln_gain: &'a [f64],
    ln_k: f64,
}

impl TaskRow<'_> {
    /// q (labels × lanes) and ln Z (lanes) of the task; `base` and `sum`: lanes of scratch.
    #[inline(always)]
    fn posterior(&self, q: &mut [f64], ln_z: &mut [f64], base: &mut [f64], sum: &mut [f64]) {
        let n = ln_z.len();
        let k = q.len() / n;
        base.fill(-self.ln_k);
        q.fill(0.0);
        for (&w, &y) in self.workers.iter().zip(self.labels) {
            let at = (w as usize * k + y as usize) * n;
            let y = y as usize * n;
            add_lanes(base, &self.ln_spamming[at..at + n]);
            add_lanes(&mut q[y..y + n], &self.ln_gain[at..at + n]);
        }
        for row in q.chunks_exact_mut(n) {
            add_lanes(row, base);
        }
        softmax_lanes(q, ln_z, sum);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn posterior_avx2(&self, q: &mut [f64], ln_z: &mut [f64], base: &mut [f64], sum: &mut [f64]) {
        self.posterior(q, ln_z, base, sum);
    }
}

/// One worker's answers, for its expected counts in every lane.
struct WorkerRow<'a> {
    tasks: &'a [u32],
    labels: &'a [Label],
    /// tasks × labels × lanes posterior.
    q: &'a [f64],
    /// The worker's s = π₀θ_{w,y}, labels × lanes.
    spamming: &'a [f64],
    /// The worker's π₁, lanes.
    knowing: &'a [f64],
}

impl WorkerRow<'_> {
    /// The worker's (spamming, knowing) totals into `kn` (2 × lanes) and spamming counts per
    /// label into `counts` (labels × lanes).
    #[inline(always)]
    fn counts(&self, kn: &mut [f64], counts: &mut [f64]) {
        let n = self.knowing.len();
        let k = counts.len() / n;
        let (tasks, labels) = (self.tasks, self.labels);
        counts.fill(0.0);
        kn.fill(0.0);
        let (spamming_total, knowing_total) = kn.split_at_mut(n);
        for (i, (&t, &y)) in tasks.iter().zip(labels).enumerate() {
            // The worker's tasks are scattered over q: ask for rows a few answers ahead.
            if let (Some(&ahead), Some(&label)) = (tasks.get(i + 16), labels.get(i + 16)) {
                prefetch(self.q, (ahead as usize * k + label as usize) * n);
            }
            let (t, y) = (t as usize, y as usize);
            let q = &self.q[(t * k + y) * n..(t * k + y + 1) * n];
            let counts = &mut counts[y * n..(y + 1) * n];
            let spamming = &self.spamming[y * n..(y + 1) * n];
            for lane in 0..n {
                let (s, knowing, qy) = (spamming[lane], self.knowing[lane], q[lane]);
                let know = qy * knowing / (s + knowing);
                let spammed = (1.0 - qy) + qy * s / (s + knowing);
                counts[lane] += spammed;
                spamming_total[lane] += spammed;
                knowing_total[lane] += know;
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn counts_avx2(&self, kn: &mut [f64], counts: &mut [f64]) {
        self.counts(kn, counts);
    }
}

/// `numeric::special::softmax_in_place` of every lane of `q` (labels × lanes), ln Σ into `ln_z`: the same
/// operations per lane (so the same bits), with the divisions running across lanes.
#[inline(always)]
fn softmax_lanes(q: &mut [f64], ln_z: &mut [f64], sum: &mut [f64]) {
    let n = ln_z.len();
    // ln_z holds each lane's max until the end.
    ln_z.fill(f64::NEG_INFINITY);
    for row in q.chunks_exact(n) {
        for (max, &v) in ln_z.iter_mut().zip(row) {
            *max = f64::max(*max, v);
        }
    }
    sum.fill(0.0);
    if q.len() == 2 * n {
        let (first, second) = q.split_at_mut(n);
        two_labels(first, second, ln_z, sum);
    } else {
        for row in q.chunks_exact_mut(n) {
            for ((v, &max), sum) in row.iter_mut().zip(ln_z.iter()).zip(sum.iter_mut()) {
                *v = (*v - max).exp();
                *sum += *v;
            }
        }
    }
    for row in q.chunks_exact_mut(n) {
        for (v, &sum) in row.iter_mut().zip(sum.iter()) {
            *v /= sum;
        }
    }
    let k = q.len() / n;
    for (lane, (ln_z, &sum)) in ln_z.iter_mut().zip(sum.iter()).enumerate() {
        if *ln_z == f64::NEG_INFINITY || ln_z.is_nan() {
            // softmax_in_place's uniform row (and its ln Z, the max).
            q.iter_mut()
                .skip(lane)
                .step_by(n)
                .for_each(|v| *v = 1.0 / k as f64);
        } else {
            *ln_z += sum.ln();
        }
    }
}

/// The exp step of [`softmax_lanes`] for K = 2, with one exp per lane instead of two: of
/// v − max, one is exactly 0 (exp(0) = 1 exactly); only the other needs exp. The sum runs in
/// label order as in the general loop, so the bits are the same. A +∞ max takes the general
/// path (+∞ − ∞ is NaN there); NaN and −∞ rows end as the uniform row either way.
#[inline(always)]
fn two_labels(first: &mut [f64], second: &mut [f64], max: &[f64], sum: &mut [f64]) {
    for (((a, b), &max), sum) in first.iter_mut().zip(second).zip(max).zip(sum) {
        let (da, db) = (*a - max, *b - max);
        if max == f64::INFINITY {
            (*a, *b) = (da.exp(), db.exp());
        } else {
            let a_is_max = *a == max;
            let other = (if a_is_max { db } else { da }).exp();
            (*a, *b) = if a_is_max { (1.0, other) } else { (other, 1.0) };
        }
        *sum += *a;
        *sum += *b;
    }
}

/// sum[l] += term[l] for every lane.
#[inline(always)]
fn add_lanes(sum: &mut [f64], term: &[f64]) {
    for (s, t) in sum.iter_mut().zip(term) {
        *s += t;
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::{GeneratorConfig, generate};

    /// The AVX2 row kernels run the same IEEE operations as the baseline ones, so every lane's
    /// posterior, counts and LML history must carry the same bits (K = 2 takes `two_labels`,
    /// K = 5 the general softmax). CI hosts with AVX2 never run the baseline otherwise.
    #[test]
    fn avx2_kernels_give_the_baseline_bits() {
        let isa = Isa::detect();
        if !isa.avx2() {
            return;
        }
        for classes in [2, 5] {
            let data = generate(&GeneratorConfig::new(600, 40, classes).seed(7))
                .unwrap()
                .responses;
            for method in [MaceMethod::Em, MaceMethod::Vb] {
                let mace = Mace::params().n_iter(6).method(method).check().unwrap();
                let (base, base_lanes) = mace.run_lanes_on(&data, 0..4, Isa::baseline());
                let (avx2, avx2_lanes) = mace.run_lanes_on(&data, 0..4, isa);
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&base_lanes.q), bits(&avx2_lanes.q), "K={classes}");
                assert_eq!(bits(&base_lanes.counts), bits(&avx2_lanes.counts));
                assert_eq!(bits(&base_lanes.kn), bits(&avx2_lanes.kn));
                for (b, a) in base.iter().zip(&avx2) {
                    assert_eq!(bits(&b.lml_history), bits(&a.lml_history));
                    assert_eq!(bits(&b.theta), bits(&a.theta));
                }
            }
        }
    }
}
