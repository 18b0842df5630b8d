//! GLAD: Generative model of Labels, Abilities, and Difficulties (crowd-kit `GLAD`).

use rayon::prelude::*;

use std::time::Instant;

use crate::aggregation::{Aggregation, InnerSolve, IterationLoop, StopReason};
use crate::error::{DataError, ParamsError, Result};
use crate::responses::Responses;

use super::params::{ParamReport, Params, check_non_negative, out_of_range, report};
use super::{Aggregator, FitInputs};
use crate::numeric::optimize::{CgOptions, minimize_cg};
use crate::numeric::special::{logistic_parts, softmax_in_place};

/// GLAD (Whitehill, Ruvolo, Wu, Bergsma & Movellan, "Whose vote should count more: optimal
/// integration of labels from labelers of unknown expertise", NIPS 2009), as in crowd-kit 1.4.2.
///
/// # Model
/// Worker w has ability α_w ∈ ℝ, task t an inverse difficulty e^{β_t} (β_t ∈ ℝ). With
/// σ_{wt} = sigmoid(α_w e^{β_t}), a worker answers the true label z_t with probability σ and
/// each of the K − 1 other labels with probability (1 − σ)/(K − 1). P(z_t = c) = p_c (uniform
/// unless `labels_priors` is given; never re-estimated). Gaussian priors α_w ~ N(μ_α, 1),
/// β_t ~ N(μ_β, 1), with μ_α = μ_β = 1 by default.
///
/// # Fit (EM)
/// * E-step: q_{t,c} ∝ p_c Π_{r∈t} σ^{[y_r=c]} ((1 − σ)/(K − 1))^{[y_r≠c]}.
/// * M-step: maximise over (α, β), with q fixed and φ the standard normal density,
///   Q(α, β) = Σ_r [q_{t,y_r} ln σ_r + (1 − q_{t,y_r})(ln(1 − σ_r) − ln(K − 1))] +
///   Σ_w ln φ(α_w − μ_α) + Σ_t ln φ(β_t − μ_β), with gradient ∂Q/∂α_w = Σ_{r∈w} (q_{t,y_r} − σ_r) e^{β_t} − (α_w − μ_α) and
///   ∂Q/∂β_t = Σ_{r∈t} (q_{t,y_r} − σ_r) α_w e^{β_t} − (β_t − μ_β). The optimiser
///   (`optimize.rs`) is our implementation of what crowd-kit calls, `scipy.optimize.minimize(−Q,
///   x₀ = current (α, β), method="CG", jac=−∇Q, tol=m_step_tol, maxiter=m_step_max_iter)`:
///   Polak–Ribière+ CG with scipy's sufficient-descent test, Moré–Thuente line search
///   (c₁ = 1e-4, c₂ = 0.4) with N&W bracketing/zoom as fallback, stopped at ‖∇Q‖_∞ ≤
///   `m_step_tol` or after `m_step_max_iter` iterations. A NaN Q counts as −∞, as in crowd-kit.
/// * Start: α = β = 1, one E-step, Q₀ = Q (not normalised). Each iteration: E-step, M-step,
///   Q ← Q/(N·K) (N responses), stop when Q − Q_previous < `tol`. The first comparison is
///   between a normalised and an unnormalised value, as in crowd-kit, so it rarely stops.
///
/// # Outputs (crowd-kit conventions)
/// `probabilities` = q of the **last E-step** (before the last M-step); labels = argmax, ties to
/// the smallest label; `skills` = α; [`GladFit::betas`] = β (raw, not exponentiated);
/// `priors` = p; `loss_history` = the normalised Q per iteration.
///
/// # Differences from crowd-kit
/// * Rounding. The M-step takes scipy's steps (same directions, trial steps and decisions;
///   checked against traced scipy runs), but our sums run in a different order than
///   pandas/numpy/BLAS, so values differ in the last bits. The M-steps traced (bluebirds,
///   rte) all run into `m_step_max_iter`, and over 25 CG iterations such differences grow
///   by ~10× every few iterations (rte: 1e-15 relative at the start, 1e-5 by the third M-step),
///   so results are equal only to rounding-noise level: on the shared datasets labels agree on
///   99.8–100 % of the tasks (the rest are near-ties) and the EM iteration counts (the
///   `tol` test on Q) agree or differ by a few (tests/it/glad.rs, fixtures/reference/). Which
///   near-ties flip is itself noise: rounding softplus or ln φ the way crowd-kit does moves
///   the one-task accuracy differences from some datasets to others.
/// * ln σ and ln(1 − σ) use an exact softplus (crowd-kit cuts it off at |x| > 30: ≤ 1e-13 per
///   term), and ln φ(x) = −x²/2 − ln √(2π) directly (crowd-kit takes the log of the density,
///   which underflows to −∞ for |x| > 38).
/// * The objective and gradient are computed per response with q_{t,y_r} (Σ_c q_{t,c} = 1),
///   O(N) instead of crowd-kit's O(N·K) long table. With K = 1 the (K − 1) term is absent.
/// * `alphas_prior_mean` / `betas_prior_mean` are scalars (crowd-kit: per-worker/task series).
///
/// # Example
///
/// ```
/// use crowdagg::{Aggregator, Glad, Responses};
///
/// let data = Responses::from_triples([
///     ("t1", "w1", "no"), ("t1", "w2", "no"), ("t1", "w3", "no"), ("t1", "w4", "yes"),
///     ("t2", "w1", "yes"), ("t2", "w2", "yes"), ("t2", "w3", "no"), ("t2", "w4", "yes"),
///     ("t3", "w1", "no"), ("t3", "w2", "no"), ("t3", "w3", "yes"), ("t3", "w4", "no"),
///     ("t4", "w1", "yes"), ("t4", "w2", "yes"), ("t4", "w3", "yes"), ("t4", "w4", "yes"),
///     ("t5", "w1", "yes"), ("t5", "w2", "no"), ("t5", "w3", "yes"), ("t5", "w4", "yes"),
/// ])?;
/// let result = Glad::default().aggregate(&data)?;
/// let (t1, no) = (data.task_id("t1").unwrap(), data.label_id("no").unwrap());
/// assert_eq!(result.labels[t1], no);
/// // crowd-kit 1.4.2 `GLAD().fit(df)` on the same rows: P(t1 = no) = 0.9365457702634807,
/// // alphas_ w1 1.2718774675116757 (equal up to rounding, see above).
/// assert!((result.confidence[t1] - 0.9365457702634807).abs() < 1e-9);
/// let w1 = data.worker_id("w1").unwrap();
/// assert!((result.skills.as_ref().unwrap()[w1].unwrap() - 1.2718774675116757).abs() < 1e-9);
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Glad {
    params: GladParams,
}

/// Parameters of [`Glad`] (defaults as crowd-kit; read and reported as described in
/// [`Params`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename = "GLAD", default, deny_unknown_fields)]
pub struct GladParams {
    /// Maximum EM iterations.
    pub n_iter: usize,
    /// Stop when the normalised Q improves by less than this.
    pub tol: f64,
    /// Maximum CG iterations per M-step.
    pub m_step_max_iter: usize,
    /// CG stops when the ∞-norm of the gradient is at most this.
    pub m_step_tol: f64,
    /// Class priors by label name (every label of the data must be listed); uniform if `None`.
    /// As text `label:p,label:p` (also in reports, as a list of `label:p`); in JSON also an
    /// object `{"label": p}` or a list of `[label, p]` pairs.
    #[serde(with = "label_priors")]
    pub labels_priors: Option<Vec<(String, f64)>>,
    /// Prior mean of every α_w.
    pub alphas_prior_mean: f64,
    /// Prior mean of every β_t.
    pub betas_prior_mean: f64,
}

impl Default for GladParams {
    fn default() -> Self {
        Self {
            n_iter: 100,
            tol: 1e-5,
            m_step_max_iter: 25,
            m_step_tol: 1e-2,
            labels_priors: None,
            alphas_prior_mean: 1.0,
            betas_prior_mean: 1.0,
        }
    }
}

crate::methods::params::setters! {
    GladParams {
        /// Sets the maximum number of EM iterations (≥ 1).
        n_iter: usize,
        /// Sets the stop tolerance on the normalised Q's improvement (≥ 0).
        tol: f64,
        /// Sets the maximum number of conjugate-gradient iterations per M-step (≥ 1).
        m_step_max_iter: usize,
        /// Sets the gradient tolerance (∞-norm) that ends an M-step early (≥ 0).
        m_step_tol: f64,
    }
}

impl GladParams {
    /// Sets the class priors as `(label name, weight)` pairs; every label of the data must be
    /// listed and the weights must be finite, ≥ 0 and not all 0.
    pub fn labels_priors<S: Into<String>>(
        mut self,
        priors: impl IntoIterator<Item = (S, f64)>,
    ) -> Self {
        self.labels_priors = Some(priors.into_iter().map(|(l, p)| (l.into(), p)).collect());
        self
    }
}

impl Glad {
    /// The default parameters (crowd-kit's), to adjust and then [`check`](Params::check) into a
    /// [`Glad`].
    pub fn params() -> GladParams {
        GladParams::default()
    }
}

impl Params for GladParams {
    type Checked = Glad;

    fn check(self) -> Result<Glad, ParamsError> {
        check_non_negative("tol", self.tol)?;
        check_non_negative("m_step_tol", self.m_step_tol)?;
        if self.m_step_max_iter == 0 {
            return Err(out_of_range("m_step_max_iter", "at least 1", 0));
        }
        for (name, v) in [
            ("alphas_prior_mean", self.alphas_prior_mean),
            ("betas_prior_mean", self.betas_prior_mean),
        ] {
            if !v.is_finite() {
                return Err(out_of_range(name, "a finite number", v));
            }
        }
        if let Some(priors) = &self.labels_priors {
            if priors
                .iter()
                .any(|(l, p)| l.is_empty() || !(p.is_finite() && *p >= 0.0))
            {
                return Err(out_of_range(
                    "labels_priors",
                    "label:p pairs with finite p >= 0",
                    format!("{priors:?}"),
                ));
            }
            if !priors.iter().any(|(_, p)| *p > 0.0) {
                return Err(out_of_range(
                    "labels_priors",
                    "not all zero",
                    format!("{priors:?}"),
                ));
            }
        }
        Ok(Glad { params: self })
    }
}

/// A fitted GLAD model: the aggregation plus the task parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct GladFit {
    /// Labels, probabilities, `skills` = α per worker, `priors`, report.
    pub aggregation: Aggregation,
    /// α per worker id (the same values as `aggregation.skills`).
    pub alphas: Vec<f64>,
    /// β per task id: the log inverse difficulty (larger = easier).
    pub betas: Vec<f64>,
}

/// ln φ(x) for the standard normal density φ.
fn log_std_normal(x: f64) -> f64 {
    const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_7;
    -0.5 * x * x - LN_SQRT_2PI
}

/// Tasks per rayon job: small jobs cost more in scheduling than they save.
const MIN_CHUNK: usize = 256;

/// The data and fixed quantities of one fit.
struct Problem<'a> {
    data: &'a Responses,
    n_labels: usize,
    /// ln(K − 1); 0 when K = 1 (the term never applies then).
    ln_others: f64,
    ln_priors: Vec<f64>,
    mu_alpha: f64,
    mu_beta: f64,
}

impl Problem<'_> {
    /// q (tasks × labels, row-major) from α and β.
    fn e_step(&self, alphas: &[f64], betas: &[f64], q: &mut [f64]) {
        let by_task = self.data.by_task();
        let k = self.n_labels;
        q.par_chunks_mut(k)
            .with_min_len(MIN_CHUNK)
            .enumerate()
            .for_each(|(t, row)| {
                let (workers, labels) = by_task.row(t);
                let scale = betas[t].exp();
                row.copy_from_slice(&self.ln_priors);
                let mut others = 0.0;
                for (&w, &y) in workers.iter().zip(labels) {
                    let z = alphas[w as usize] * scale;
                    let (plus, minus, _) = logistic_parts(z);
                    let miss = if k > 1 { -plus - self.ln_others } else { 0.0 };
                    others += miss;
                    row[y as usize] += -minus - miss;
                }
                row.iter_mut().for_each(|v| *v += others);
                softmax_in_place(row);
            });
    }

    /// Q(α, β; q) (not normalised) and, if `grad` is given, ∇Q written into it
    /// (α part then β part). Per-task and per-worker partial sums go through `scratch`
    /// and are added in id order, so the result does not depend on the thread count.
    fn objective(
        &self,
        x: &[f64],
        q: &[f64],
        grad: Option<&mut [f64]>,
        scratch: &mut Scratch,
    ) -> f64 {
        let n_workers = self.data.n_workers();
        let (alphas, betas) = x.split_at(n_workers);
        let k = self.n_labels;
        let by_task = self.data.by_task();
        let by_worker = self.data.by_worker();
        scratch
            .scale
            .par_iter_mut()
            .zip(betas)
            .for_each(|(s, b)| *s = b.exp());
        let scale = &scratch.scale;
        let want_grad = grad.is_some();
        // Q's terms and ∂Q/∂β_t of task t; with the gradient, also each answer's
        // (q_{t,y} − σ) e^{β_t} (∂Q/∂α's terms) into `residual`, at the answer's position in
        // `by_task`.
        let per_task = |t: usize, residual: &mut [f64]| {
            let (workers, labels) = by_task.row(t);
            let mut value = log_std_normal(betas[t] - self.mu_beta);
            let mut slope = -(betas[t] - self.mu_beta);
            for (i, (&w, &y)) in workers.iter().zip(labels).enumerate() {
                let alpha = alphas[w as usize];
                let z = alpha * scale[t];
                let qy = q[t * k + y as usize];
                let (plus, minus, sigmoid) = logistic_parts(z);
                value += qy * -minus;
                if k > 1 {
                    value += (1.0 - qy) * (-plus - self.ln_others);
                }
                let miss = qy - sigmoid;
                slope += miss * z;
                if want_grad {
                    residual[i] = miss * scale[t];
                }
            }
            (value, slope)
        };
        // Fixed blocks of tasks, each with its answers' slice of `residual`.
        let offsets = by_task.offsets();
        let mut blocks = Vec::with_capacity(scratch.tasks.len().div_ceil(MIN_CHUNK));
        let mut rest = if want_grad {
            &mut scratch.residual[..]
        } else {
            &mut scratch.residual[..0]
        };
        for (b, out) in scratch.tasks.chunks_mut(MIN_CHUNK).enumerate() {
            let first = b * MIN_CHUNK;
            let answers = if want_grad {
                (offsets[first + out.len()] - offsets[first]) as usize
            } else {
                0
            };
            let (here, later) = std::mem::take(&mut rest).split_at_mut(answers);
            rest = later;
            blocks.push((first, out, here));
        }
        blocks.into_par_iter().for_each(|(first, out, residual)| {
            let base = offsets[first] as usize;
            for (i, out) in out.iter_mut().enumerate() {
                let range = by_task.range(first + i);
                let slot = if want_grad {
                    &mut residual[range.start - base..range.end - base]
                } else {
                    &mut []
                };
                *out = per_task(first + i, slot);
            }
        });
        // ∂Q/∂α_w: the worker's answers' residuals, in the worker's (task) order.
        let residual = &scratch.residual;
        let in_task_order = &scratch.in_task_order;
        let per_worker = |w: usize| {
            let mut slope = -(alphas[w] - self.mu_alpha);
            for &at in &in_task_order[by_worker.range(w)] {
                slope += residual[at as usize];
            }
            slope
        };
        let mut total: f64 = 0.0;
        for &(value, _) in &scratch.tasks {
            total += value;
        }
        for &alpha in alphas {
            total += log_std_normal(alpha - self.mu_alpha);
        }
        if let Some(grad) = grad {
            let (grad_alpha, grad_beta) = grad.split_at_mut(n_workers);
            grad_beta
                .iter_mut()
                .zip(&scratch.tasks)
                .for_each(|(g, &(_, s))| *g = s);
            grad_alpha
                .par_iter_mut()
                .with_min_len(MIN_CHUNK)
                .enumerate()
                .for_each(|(w, g)| *g = per_worker(w));
        }
        total
    }
}

/// Buffers reused across objective evaluations.
struct Scratch {
    scale: Vec<f64>,
    tasks: Vec<(f64, f64)>,
    /// Per answer, in `by_task` order: (q_{t,y} − σ) e^{β_t}.
    residual: Vec<f64>,
    /// Per answer, in `by_worker` order: its position in `by_task`.
    in_task_order: Vec<u32>,
}

/// For each answer in `by_worker` order, its position in `by_task`. A worker's answers appear
/// in `by_task` in task order, and within a task by label, which is their `by_worker` order.
fn task_positions(data: &Responses) -> Vec<u32> {
    let (by_task, by_worker) = (data.by_task(), data.by_worker());
    let mut next: Vec<u32> = by_worker.offsets()[..data.n_workers()].to_vec();
    let mut positions = vec![0u32; data.n_responses()];
    for (at, &w) in by_task.ids().iter().enumerate() {
        let slot = &mut next[w as usize];
        positions[*slot as usize] = at as u32;
        *slot += 1;
    }
    positions
}

impl Glad {
    /// Fits GLAD and returns the aggregation together with α and β.
    pub fn fit(&self, data: &Responses, inputs: FitInputs<'_>) -> Result<GladFit> {
        let started = Instant::now();
        if data.is_empty() {
            return Ok(GladFit {
                aggregation: Aggregation {
                    priors: Some(Vec::new()),
                    ..super::empty_result()
                },
                alphas: Vec::new(),
                betas: Vec::new(),
            });
        }
        let p = &self.params;
        let k = data.n_labels();
        let priors = self.priors(data)?;
        let problem = Problem {
            data,
            n_labels: k,
            ln_others: if k > 1 { ((k - 1) as f64).ln() } else { 0.0 },
            ln_priors: priors.iter().map(|p| p.ln()).collect(),
            mu_alpha: p.alphas_prior_mean,
            mu_beta: p.betas_prior_mean,
        };
        let n_workers = data.n_workers();
        let n_tasks = data.n_tasks();
        let mut scratch = Scratch {
            scale: vec![0.0; n_tasks],
            tasks: vec![(0.0, 0.0); n_tasks],
            residual: vec![0.0; data.n_responses()],
            in_task_order: task_positions(data),
        };
        let mut x = vec![1.0; n_workers + n_tasks];
        let mut q = vec![0.0; n_tasks * k];
        let rows = (data.n_responses() * k) as f64;
        let finite_or_minus_inf = |v: f64| if v.is_nan() { f64::NEG_INFINITY } else { v };

        let (a, b) = x.split_at(n_workers);
        problem.e_step(a, b, &mut q);
        let mut objective = finite_or_minus_inf(problem.objective(&x, &q, None, &mut scratch));
        let options = CgOptions {
            max_iter: p.m_step_max_iter,
            gtol: p.m_step_tol,
        };
        let mut inner = Vec::new();
        let mut report = IterationLoop::new(p.n_iter, inputs.observer, started).run(|_| {
            let last = objective;
            let (a, b) = x.split_at(n_workers);
            problem.e_step(a, b, &mut q);
            // The optimiser minimises −Q; a NaN Q counts as −∞, as in crowd-kit.
            let outcome = minimize_cg(
                |x, g| {
                    let value = problem.objective(x, &q, Some(g), &mut scratch);
                    g.iter_mut().for_each(|g| *g = -*g);
                    if value.is_nan() {
                        f64::INFINITY
                    } else {
                        -value
                    }
                },
                &mut x,
                options,
            );
            inner.push(InnerSolve::from(outcome));
            objective = finite_or_minus_inf(problem.objective(&x, &q, None, &mut scratch) / rows);
            // crowd-kit's rule; it also fires when Q became −∞ (or NaN, counted as −∞).
            let stop = (objective - last < p.tol).then_some(if objective.is_finite() {
                StopReason::Converged
            } else {
                StopReason::Diverged
            });
            Ok((objective, stop))
        });
        report.inner = inner;

        let probabilities =
            ndarray::Array2::from_shape_vec((n_tasks, k), q).map_err(|_| DataError::Internal {
                method: "GLAD",
                what: "array shape",
            })?;
        let mut aggregation = Aggregation::from_probabilities(probabilities);
        let betas = x.split_off(n_workers);
        let alphas = x;
        aggregation.skills = Some(alphas.iter().copied().map(Some).collect());
        aggregation.priors = Some(priors);
        aggregation.report = report.timed(started);
        Ok(GladFit {
            aggregation,
            alphas,
            betas,
        })
    }

    /// The class priors in label-id order.
    fn priors(&self, data: &Responses) -> Result<Vec<f64>, DataError> {
        let k = data.n_labels();
        let Some(given) = &self.params.labels_priors else {
            return Ok(vec![1.0 / k as f64; k]);
        };
        let mut priors = vec![None; k];
        for (label, p) in given {
            // Priors of labels absent from the data cannot matter: crowd-kit would misbehave
            // with them, we ignore them.
            if let Some(l) = data.label_id(label) {
                priors[l as usize] = Some(*p);
            }
        }
        priors
            .iter()
            .enumerate()
            .map(|(l, p)| {
                p.ok_or_else(|| DataError::MissingLabelPrior {
                    label: data.label_name(l).to_string(),
                })
            })
            .collect()
    }
}

impl Aggregator for Glad {
    fn name(&self) -> &'static str {
        "GLAD"
    }

    fn aggregate_with(&self, data: &Responses, inputs: FitInputs<'_>) -> Result<Aggregation> {
        Ok(self.fit(data, inputs)?.aggregation)
    }

    fn params(&self) -> ParamReport {
        report(&self.params)
    }
}

/// `labels_priors` in serde: `label:p` texts, or (JSON) an object or `[label, p]` pairs.
mod label_priors {
    use std::fmt;

    use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde::ser::Serializer;

    type Priors = Vec<(String, f64)>;

    const EXPECTED: &str = "label:probability pairs separated by commas";

    pub(super) fn serialize<S: Serializer>(
        priors: &Option<Priors>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match priors {
            Some(priors) => s.collect_seq(priors.iter().map(|(l, p)| format!("{l}:{p}"))),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Priors>, D::Error> {
        d.deserialize_option(Given)
    }

    fn pair<E: de::Error>(text: &str) -> Result<(String, f64), E> {
        let (label, p) = text.rsplit_once(':').ok_or_else(|| E::custom(EXPECTED))?;
        let p = p.trim().parse().map_err(|_| E::custom(EXPECTED))?;
        Ok((label.trim().to_string(), p))
    }

    struct Given;

    impl<'de> Visitor<'de> for Given {
        type Value = Option<Priors>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(EXPECTED)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            text.split(',')
                .map(pair)
                .collect::<Result<_, E>>()
                .map(Some)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            #[derive(serde::Deserialize)]
            #[serde(untagged)]
            enum Item {
                Text(String),
                Pair(String, f64),
            }
            let mut priors = Vec::new();
            while let Some(item) = seq.next_element()? {
                priors.push(match item {
                    Item::Text(text) => pair(&text)?,
                    Item::Pair(label, p) => (label, p),
                });
            }
            Ok(Some(priors))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut priors = Vec::new();
            while let Some(entry) = map.next_entry()? {
                priors.push(entry);
            }
            Ok(Some(priors))
        }
    }
}
