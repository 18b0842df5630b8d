//! Dawid-Skene EM (crowd-kit `DawidSkene`) and its one-coin variant (`OneCoinDawidSkene`).

mod em;
mod initial_errors;
mod lanes;

pub use initial_errors::{InitialErrorStrategy, InitialErrors};

use ndarray::{Array2, Array3, ArrayView1};
use rayon::prelude::*;

use std::borrow::Cow;
use std::time::Instant;

use crate::aggregation::{Aggregation, Gold, IterationLoop, StopReason, argmax};
use crate::error::{DataError, ParamsError, Result};
use crate::responses::{Label, Responses};

use super::params::{ParamReport, Params, check_non_negative, report};
use super::{Aggregator, FitInputs};
pub(crate) use em::TASK_CHUNK;
pub(crate) use em::{
    Blocking, EPS, Em, Flavour, Model, chunks_per_shard, normalise_columns, one_coin, stride,
};

/// Which of crowd-kit's quirks to reproduce.
///
/// crowd-kit 1.4.2 has two details that are not part of the Dawid-Skene model; they change
/// numbers, never the fitted parameters' meaning. [`Compat::CrowdKit`] (the default)
/// reproduces them, because Toloka's aggregation service runs that code and results are
/// compared with it; [`Compat::Corrected`] fixes them:
///
/// | | `CrowdKit` | `Corrected` |
/// |---|---|---|
/// | output probabilities | clipped at 1e-10, **not** renormalised (rows sum to 1 + m·1e-10) | the posterior as computed (rows sum to 1) |
/// | ELBO prior term | Σ_r Σ_c q ln p_c: counted **once per response** | Σ_t Σ_c q ln p_c: once per task (the model's ELBO) |
/// | ELBO entropy | of max(q, 1e-10) | of q (0 ln 0 = 0) |
///
/// The ELBO drives the stop rule, so the two modes can stop at different iterations. The
/// clipping of counts, priors and error entries at 1e-10 is smoothing, not a bug, and is kept
/// in both modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Compat {
    /// Reproduce crowd-kit 1.4.2's numbers (the default; `crowd-kit`, also `crowdkit`).
    #[default]
    #[serde(rename = "crowd-kit", alias = "crowdkit")]
    CrowdKit,
    /// The model as published: unclipped posteriors, the ELBO counted once per task
    /// (`corrected`).
    #[serde(rename = "corrected")]
    Corrected,
}

impl Compat {
    fn flavour(self, model: Model) -> Flavour {
        let quirks = self == Self::CrowdKit;
        Flavour {
            model,
            prior_per_response: quirks,
            clipped_entropy: quirks,
        }
    }
}

/// Dawid-Skene: one K×K confusion matrix per worker, fitted by EM (Dawid & Skene 1979,
/// "Maximum Likelihood Estimation of Observer Error-Rates Using the EM Algorithm",
/// <https://doi.org/10.2307/2346806>), exactly as crowd-kit 1.4.2 runs it.
///
/// Notation: response r = (t, w, y); `q[t][c]` the posterior of task t having label c; p the
/// priors; `e[w][k][c]` = P(worker w answers k | truth c); N responses; ε = 1e-10.
///
/// * **Initialisation:** q = majority-vote shares (duplicates count); gold tasks
///   ([`FitInputs::gold`]) get the one-hot vector of their label; p = mean_t q; M-step (with
///   the [`InitialErrors`] if given).
/// * **M-step:** `n[w][k][c] = Σ_{r of w with y = k} q[t][c]` for the (w, k) pairs the worker
///   actually has; n ← max(n, ε); `e[w][k][c] = n[w][k][c] / Σ_{k' of w} n[w][k'][c]`.
/// * **E-step:** `q[t][c] ∝ 2^(log2 max(p_c, ε) + Σ_{r ∈ t} log2 e[w][y][c])`, normalised;
///   then the gold correction; p = mean_t q; M-step.
/// * **Stop:** after each iteration, `ELBO = (1/N)·[Σ_r Σ_c q[t][c]·(ln e[w][y][c] +
///   ln max(p_c, ε)) − Σ_t Σ_c q̃ ln q̃]` with q̃ = max(q, ε); stop when ELBO − previous < `tol`
///   (so a decrease stops too, and at least two iterations run when `n_iter` ≥ 2), or after
///   `n_iter` iterations. See [`Compat`] for the two crowd-kit quirks in the ELBO and outputs.
///
/// **Result:** `probabilities` = the last q (clipped at ε, not renormalised, in
/// `Compat::CrowdKit`); `labels` = argmax (ties to the smallest label id, as crowd-kit on
/// pandas ≤ 2, whose columns are sorted); `confidence` = probability of the label; `priors` =
/// mean of the last q, unclipped (as crowd-kit on pandas 3; on pandas ≤ 2 its ELBO clips the
/// same Series in place through a `rename(copy=False)` view, so a prior below 1e-10 comes out as
/// 1e-10 there); `errors` = the last M-step, workers × observed × true —
/// rows of labels a worker never gave are all 0 (crowd-kit has no row for them);
/// `report.loss_history` = the ELBO of each iteration (increasing: it is not a loss).
///
/// Ids are in canonical order, sums run in a fixed order: results do not depend on the input
/// row order or the number of threads.
///
/// # Example
///
/// ```
/// use crowdagg::{Aggregator, DawidSkene, Responses};
///
/// let data = Responses::from_triples([
///     ("t1", "w1", "no"), ("t1", "w2", "no"), ("t1", "w3", "no"), ("t1", "w4", "yes"),
///     ("t2", "w1", "yes"), ("t2", "w2", "yes"), ("t2", "w3", "no"), ("t2", "w4", "yes"),
///     ("t3", "w1", "no"), ("t3", "w2", "no"), ("t3", "w3", "yes"), ("t3", "w4", "no"),
///     ("t4", "w1", "yes"), ("t4", "w2", "yes"), ("t4", "w3", "yes"), ("t4", "w4", "yes"),
///     ("t5", "w1", "yes"), ("t5", "w2", "no"), ("t5", "w3", "yes"), ("t5", "w4", "yes"),
/// ])?;
/// let result = DawidSkene::default().aggregate(&data)?;
/// let (t5, yes) = (data.task_id("t5").unwrap(), data.label_id("yes").unwrap());
/// assert_eq!(result.labels[t5], yes);
/// // crowd-kit 1.4.2 `DawidSkene(n_iter=100).fit(df)` on the same rows: P(t5 = yes) =
/// // 0.9999778405184957, priors_ yes 0.5999955835320235, 11 iterations.
/// assert!((result.confidence[t5] - 0.9999778405184957).abs() < 1e-9);
/// assert!((result.priors.as_ref().unwrap()[yes as usize] - 0.5999955835320235).abs() < 1e-9);
/// assert_eq!(result.report.iterations, 11);
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DawidSkene {
    params: DawidSkeneParams,
}

/// Declares a Dawid-Skene parameters struct: the fields both models share (`n_iter`, `tol`,
/// then the model's own fields, then `compat`, `blocks`, `shards`: declaration order is report
/// order), their crowd-kit defaults, the builder setters and the `params()` constructor.
macro_rules! dawid_skene_params {
    (
        $(#[$meta:meta])*
        $method:ident => $params:ident {
            $( $(#[$own_meta:meta])* $own:ident: $own_type:ty = $own_default:expr, )*
        }
    ) => {
        $(#[$meta])*
        pub struct $params {
            /// Maximum number of EM iterations (0: the initialisation only, as crowd-kit).
            pub n_iter: usize,
            /// Stop when the ELBO improves by less than this (≥ 0; 0 runs until the ELBO stops
            /// increasing or `n_iter` is reached).
            pub tol: f64,
            $( $(#[$own_meta])* pub $own: $own_type, )*
            /// Whether to reproduce crowd-kit's quirks ([`Compat`]; default: yes).
            pub compat: Compat,
            /// Performance knob, not part of the model: how many fixed blocks of tasks count
            /// the M-step statistics during the E-step pass (0 or 1: a separate pass over
            /// workers). `None` (default) chooses from the data size. Results differ only in
            /// the last bits between choices, and never depend on the number of threads. Not
            /// reported.
            #[serde(skip_serializing)]
            pub blocks: Option<usize>,
            /// The summation plan of a distributed run on this many shards ([`crate::shard`]):
            /// the tasks are cut by [`crate::shard::plan`] and each shard's counts are added in
            /// shard order, so a run on P shards of any engine gives the same bits as this fit
            /// with `shards = P` (≥ 1; it overrides `blocks`). Within 1e-12 of the default fit.
            /// Not reported.
            #[serde(skip_serializing)]
            pub shards: Option<usize>,
        }

        impl Default for $params {
            fn default() -> Self {
                Self {
                    n_iter: 100,
                    tol: 1e-5,
                    $( $own: $own_default, )*
                    compat: Compat::CrowdKit,
                    blocks: None,
                    shards: None,
                }
            }
        }

        impl $params {
            /// The fields the shared fit reads.
            fn settings(&self, model: Model) -> Settings {
                Settings {
                    model,
                    n_iter: self.n_iter,
                    tol: self.tol,
                    compat: self.compat,
                    // `shards` wins over `blocks` (see the fields).
                    blocking: match self.shards {
                        Some(shards) => Blocking::Shards(shards),
                        None => Blocking::Auto(self.blocks),
                    },
                }
            }
        }

        impl $method {
            #[doc = concat!(
                "The default parameters (crowd-kit's: `n_iter` 100, `tol` 1e-5), to adjust and ",
                "then [`check`](Params::check) into a [`", stringify!($method), "`]."
            )]
            pub fn params() -> $params {
                $params::default()
            }
        }

        crate::methods::params::setters! {
            $params {
                /// Sets the maximum number of EM iterations (0: the initialisation only).
                n_iter: usize,
                /// Sets the stop tolerance on the ELBO's improvement (≥ 0).
                tol: f64,
                /// Sets the crowd-kit compatibility mode ([`Compat`]).
                compat: Compat,
                /// See the `blocks` field.
                blocks: usize => Some,
                /// See the `shards` field.
                shards: usize => Some,
            }
        }
    };
}

dawid_skene_params! {
    /// Parameters of [`DawidSkene`] (defaults as crowd-kit; read and reported as described in
    /// [`Params`]).
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(rename = "DawidSkene", default, deny_unknown_fields)]
    DawidSkene => DawidSkeneParams {
        /// How `initial_errors` enter the first M-step. A strategy without matrices is
        /// ignored (as crowd-kit); matrices without a strategy are refused (crowd-kit ignores
        /// them).
        initial_error_strategy: Option<InitialErrorStrategy> = None,
        /// The prior confusion matrices used by `initial_error_strategy` (crowd-kit
        /// `initial_error`); set both with [`DawidSkeneParams::initial_errors`]. Not a
        /// `key=value` or JSON parameter.
        #[serde(skip)]
        initial_errors: Option<InitialErrors> = None,
    }
}

impl DawidSkeneParams {
    /// Prior confusion matrices for the first M-step, and how to use them.
    pub fn initial_errors(mut self, strategy: InitialErrorStrategy, errors: InitialErrors) -> Self {
        self.initial_error_strategy = Some(strategy);
        self.initial_errors = Some(errors);
        self
    }
}

impl Params for DawidSkeneParams {
    type Checked = DawidSkene;

    fn check(self) -> Result<DawidSkene, ParamsError> {
        check_non_negative("tol", self.tol)?;
        check_shards(self.shards)?;
        // A strategy without matrices is ignored, as in crowd-kit (where the strategy is set
        // on the model and the matrices are an optional argument of each fit); matrices
        // without a strategy would be silently unused, so they are refused.
        if self.initial_error_strategy.is_none() && self.initial_errors.is_some() {
            return Err(ParamsError::InitialErrorsWithoutStrategy);
        }
        Ok(DawidSkene { params: self })
    }
}

/// A shard count is at least 1.
fn check_shards(shards: Option<usize>) -> Result<(), ParamsError> {
    match shards {
        Some(0) => Err(ParamsError::OutOfRange {
            name: "shards",
            rule: "at least 1",
            value: "0".into(),
        }),
        _ => Ok(()),
    }
}

/// Tasks per parallel job of [`clip_and_decide`].
const DECIDE_CHUNK: usize = 1 << 14;

/// Clips the posterior rows `q` (tasks × `k`) at EPS if `clip`, then each task's label and
/// confidence as [`Aggregation::from_probabilities`] gives them (the rule of
/// [`argmax`]), in one parallel pass (at 10⁷ tasks, sequential passes took ≈ 0.2 s).
fn clip_and_decide(q: &mut [f64], k: usize, clip: bool) -> (Vec<Label>, Vec<f64>) {
    let n_tasks = q.len() / k;
    let (mut labels, mut confidence) = (vec![0; n_tasks], vec![0.0; n_tasks]);
    q.par_chunks_mut(DECIDE_CHUNK * k)
        .zip(labels.par_chunks_mut(DECIDE_CHUNK))
        .zip(confidence.par_chunks_mut(DECIDE_CHUNK))
        .for_each(|((rows, labels), confidence)| {
            let tasks = rows.chunks_exact_mut(k).zip(labels).zip(confidence);
            for ((row, label), confidence) in tasks {
                if clip {
                    row.iter_mut().for_each(|v| *v = v.max(EPS));
                }
                let best = argmax(ArrayView1::from(&*row));
                (*label, *confidence) = (best as Label, row[best]);
            }
        });
    (labels, confidence)
}

/// The gold label id of each task; gold that matches no task is an error rather than a fit
/// that silently ignores it.
fn resolve_gold(
    gold: &Gold,
    data: &Responses,
) -> std::result::Result<Vec<Option<Label>>, DataError> {
    gold.check_overlap(data)?;
    gold.resolve(data)
}

impl Aggregator for DawidSkene {
    fn name(&self) -> &'static str {
        "DawidSkene"
    }

    fn aggregate_with(&self, data: &Responses, inputs: FitInputs<'_>) -> Result<Aggregation> {
        let p = &self.params;
        fit(data, inputs, p.settings(Model::Full), |em| {
            match (p.initial_error_strategy, &p.initial_errors) {
                (Some(strategy), Some(errors)) => errors.first_m_step(strategy, data, em)?,
                _ => em.m_step(),
            }
            Ok(())
        })
    }

    fn params(&self) -> ParamReport {
        report(&self.params)
    }
}

/// One-coin Dawid-Skene (crowd-kit `OneCoinDawidSkene`): one skill per worker instead of a
/// confusion matrix (Zhang, Chen, Zhou & Jordan 2016, "Spectral Methods Meet EM",
/// <https://doi.org/10.48550/arXiv.1406.3824>).
///
/// The loop, the E-step, the ELBO, the stop rule and the outputs are those of [`DawidSkene`];
/// the M-step is: s_w = mean over w's responses of `q[t][y]` (the posterior of the worker's own
/// answer), then, for the (w, k) pairs the worker actually has, `e[w][k][c]` = s_w if k = c
/// else (1 − s_w)/(K − 1), clipped to [1e-10, 1 − 1e-10] and **not** normalised (as crowd-kit).
/// `skills` = the last s. crowd-kit takes no gold labels here; given
/// [`FitInputs::gold`], gold tasks are corrected exactly as in [`DawidSkene`] (an extension).
///
/// # Example
///
/// ```
/// use crowdagg::{Aggregator, OneCoinDawidSkene, Responses};
///
/// let data = Responses::from_triples([
///     ("t1", "w1", "no"), ("t1", "w2", "no"), ("t1", "w3", "no"), ("t1", "w4", "yes"),
///     ("t2", "w1", "yes"), ("t2", "w2", "yes"), ("t2", "w3", "no"), ("t2", "w4", "yes"),
///     ("t3", "w1", "no"), ("t3", "w2", "no"), ("t3", "w3", "yes"), ("t3", "w4", "no"),
///     ("t4", "w1", "yes"), ("t4", "w2", "yes"), ("t4", "w3", "yes"), ("t4", "w4", "yes"),
///     ("t5", "w1", "yes"), ("t5", "w2", "no"), ("t5", "w3", "yes"), ("t5", "w4", "yes"),
/// ])?;
/// let result = OneCoinDawidSkene::default().aggregate(&data)?;
/// let (t1, no) = (data.task_id("t1").unwrap(), data.label_id("no").unwrap());
/// assert_eq!(result.labels[t1], no);
/// // crowd-kit 1.4.2 `OneCoinDawidSkene().fit(df)` on the same rows: P(t1 = no) =
/// // 0.9999093836603291, skills_ w3 0.5999770049454413, 9 iterations.
/// assert!((result.confidence[t1] - 0.9999093836603291).abs() < 1e-9);
/// let w3 = data.worker_id("w3").unwrap();
/// assert!((result.skills.as_ref().unwrap()[w3].unwrap() - 0.5999770049454413).abs() < 1e-9);
/// assert_eq!(result.report.iterations, 9);
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OneCoinDawidSkene {
    params: OneCoinDawidSkeneParams,
}

dawid_skene_params! {
    /// Parameters of [`OneCoinDawidSkene`] (defaults as crowd-kit): those of
    /// [`DawidSkeneParams`] without the initial matrices.
    #[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
    #[serde(rename = "OneCoinDawidSkene", default, deny_unknown_fields)]
    OneCoinDawidSkene => OneCoinDawidSkeneParams {}
}

impl Params for OneCoinDawidSkeneParams {
    type Checked = OneCoinDawidSkene;

    fn check(self) -> Result<OneCoinDawidSkene, ParamsError> {
        check_non_negative("tol", self.tol)?;
        check_shards(self.shards)?;
        Ok(OneCoinDawidSkene { params: self })
    }
}

impl Aggregator for OneCoinDawidSkene {
    fn name(&self) -> &'static str {
        "OneCoinDawidSkene"
    }

    fn aggregate_with(&self, data: &Responses, inputs: FitInputs<'_>) -> Result<Aggregation> {
        fit(data, inputs, self.params.settings(Model::OneCoin), |em| {
            em.m_step();
            Ok(())
        })
    }

    fn params(&self) -> ParamReport {
        report(&self.params)
    }
}

/// What the two models' fits take from their parameters (see the shared fields).
struct Settings {
    model: Model,
    n_iter: usize,
    tol: f64,
    compat: Compat,
    blocking: Blocking,
}

/// The fit both models share: the empty result, the gold, the engine initialised by majority
/// vote, the model's `first_m_step`, the loop, and the result (with the skills of the one-coin
/// model).
fn fit(
    data: &Responses,
    inputs: FitInputs<'_>,
    settings: Settings,
    first_m_step: impl FnOnce(&mut Em<'_>) -> Result<()>,
) -> Result<Aggregation> {
    let started = Instant::now();
    let Settings {
        n_iter,
        tol,
        compat,
        ..
    } = settings;
    let skills = settings.model == Model::OneCoin;
    if data.is_empty() {
        return Ok(Aggregation {
            errors: Some(Array3::zeros((0, 0, 0))),
            priors: Some(Vec::new()),
            skills: skills.then(Vec::new),
            ..super::empty_result()
        });
    }
    let gold = inputs.gold.map(|g| resolve_gold(g, data)).transpose()?;
    let mut em = Em::new(
        Cow::Borrowed(data),
        compat.flavour(settings.model),
        gold.as_deref().map(Cow::Borrowed),
        settings.blocking,
    );
    em.init_majority_vote();
    first_m_step(&mut em)?;
    let mut driver = IterationLoop::new(n_iter, inputs.observer, started);
    // n_iter = 0: the initialisation only (majority vote, priors, first M-step), as crowd-kit.
    let stop_reason = if n_iter == 0 {
        StopReason::MaxIterations
    } else {
        em.run(n_iter, tol, &mut driver)
    };
    let (k, n_tasks, n_workers) = (em.k(), em.q.len() / em.k().max(1), em.skills.len());
    let mut q = std::mem::take(&mut em.q);
    // crowd-kit's clip happens in its ELBO, which n_iter = 0 never computes.
    let (labels, confidence) = clip_and_decide(&mut q, k, compat == Compat::CrowdKit && n_iter > 0);
    let probabilities = Array2::from_shape_vec((n_tasks, k), q).expect("tasks × labels buffer");
    let errors = Array3::from_shape_vec((n_workers, k, k), std::mem::take(&mut em.errors))
        .expect("workers × labels × labels buffer");
    Ok(Aggregation {
        labels,
        confidence,
        probabilities: Some(probabilities),
        errors: Some(errors),
        priors: Some(std::mem::take(&mut em.priors)),
        skills: skills.then(|| em.skills.iter().map(|&s| Some(s)).collect()),
        report: driver.report(stop_reason),
        ..super::empty_result()
    })
}
