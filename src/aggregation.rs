//! What an aggregator returns, and the side inputs some methods take (gold labels, skills).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ndarray::{Array2, Array3};

use crate::error::{DataError, Location};
use crate::responses::{Label, Responses};

/// Why an iterative fit stopped. Convergence is data, not an error.
///
/// Serialised in snake case (`"converged"`, `"max_iterations"`, …), as in the JSON report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopReason {
    /// The objective improved by less than the tolerance.
    Converged,
    /// `n_iter` iterations ran.
    MaxIterations,
    /// The method has no iterations (voting rules).
    NotIterative,
    /// A quasi-Newton optimiser's line search found no step that decreases the objective
    /// (scipy's `ABNORMAL_TERMINATION_IN_LNSRCH`); the last accepted point is returned.
    NoProgress,
    /// The objective became NaN or infinite: M-MSR's update diverged (the last finite estimate
    /// is returned), or the stop rule of GLAD or Dawid-Skene fired on a non-finite objective
    /// (where crowd-kit stops too, calling it convergence).
    Diverged,
    /// A numeric guard ended the iterations before an overflow: KOS's messages grew past
    /// 10³⁰⁰ (the last finite messages are used).
    NumericGuard,
    /// The [`Observer`] asked to stop ([`Action::Stop`]); the state after the last completed
    /// iteration is returned.
    Interrupted,
}

/// One run of an inner optimiser: GLAD's M-step (conjugate gradient, scipy's `minimize(method="CG")`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct InnerSolve {
    /// Iterations the optimiser ran (scipy's `nit`).
    pub iterations: usize,
    /// Evaluations of the objective and its gradient (scipy's `nfev`).
    pub evaluations: usize,
    /// Why it stopped.
    pub status: InnerStatus,
}

impl InnerSolve {
    /// Whether the optimiser reached its gradient tolerance.
    pub fn converged(&self) -> bool {
        self.status == InnerStatus::Converged
    }
}

/// Why an inner optimiser stopped (scipy's CG `status` 0–3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InnerStatus {
    /// The gradient's largest entry fell to the tolerance (`m_step_tol`).
    Converged,
    /// It ran its iteration limit (`m_step_max_iter`).
    MaxIterations,
    /// Neither line search found an acceptable step; the current point was kept.
    LineSearchFailed,
    /// The objective or gradient was NaN or infinite.
    NotFinite,
}

/// How a fit went.
///
/// Equality compares what was fitted (iterations, stop reason, losses, inner solves), not
/// [`elapsed`](FitReport::elapsed): two fits of the same data are equal however long they took.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct FitReport {
    /// Iterations run (0 for non-iterative methods).
    pub iterations: usize,
    /// Why the fit stopped.
    pub stop_reason: StopReason,
    /// The objective after each iteration, where the method has one (empty otherwise).
    pub loss_history: Vec<f64>,
    /// Wall time of the fit, set by the iterative methods (serialised in seconds,
    /// `elapsed_s`; not part of the CLI's JSON report). Zero for the voting rules, which have
    /// no iterations, and for an empty table.
    #[serde(rename = "elapsed_s", with = "seconds", default)]
    pub elapsed: Duration,
    /// The inner optimiser's runs, one per outer iteration, where the method has one (GLAD's
    /// CG M-step); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inner: Vec<InnerSolve>,
}

impl PartialEq for FitReport {
    fn eq(&self, other: &Self) -> bool {
        self.iterations == other.iterations
            && self.stop_reason == other.stop_reason
            && self.loss_history == other.loss_history
            && self.inner == other.inner
    }
}

impl FitReport {
    /// A report with no elapsed time and no inner solves.
    pub fn new(iterations: usize, stop_reason: StopReason, loss_history: Vec<f64>) -> Self {
        Self {
            iterations,
            stop_reason,
            loss_history,
            elapsed: Duration::ZERO,
            inner: Vec::new(),
        }
    }

    /// The report of a method without iterations: 0 iterations, [`StopReason::NotIterative`],
    /// no loss history.
    pub fn not_iterative() -> Self {
        Self::new(0, StopReason::NotIterative, Vec::new())
    }

    /// Sets [`elapsed`](FitReport::elapsed) to the time since `started`.
    pub(crate) fn timed(mut self, started: Instant) -> Self {
        self.elapsed = started.elapsed();
        self
    }
}

/// `Duration` as seconds (`f64`) in serde.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let seconds = f64::deserialize(d)?;
        Duration::try_from_secs_f64(seconds).map_err(serde::de::Error::custom)
    }
}

/// The aggregated labels of every task of a [`Responses`], with what the method knows about them.
///
/// Fields are indexed by the ids of the [`Responses`] it was fitted on:
/// [`Aggregation::iter_named`] gives (task, label, confidence) by name, and
/// [`output::write_csv`](crate::output::write_csv) / [`output::write_json`](crate::output::write_json)
/// write it.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregation {
    /// The aggregated label of each task (index = task id).
    pub labels: Vec<Label>,
    /// tasks × labels posterior (or normalised vote) matrix, where the method defines one.
    pub probabilities: Option<Array2<f64>>,
    /// tasks × labels scores that are not probabilities (MMSR's normalised weighted votes, which
    /// can be negative or above 1); `None` for methods whose scores are `probabilities`.
    pub scores: Option<Array2<f64>>,
    /// Per-task confidence in the chosen label (the probability of the chosen label unless the
    /// method defines it otherwise).
    pub confidence: Vec<f64>,
    /// Per-worker skill (index = worker id); `None` for a worker the method could not rate.
    pub skills: Option<Vec<Option<f64>>>,
    /// Per-worker confusion matrices, workers × observed label × true label.
    pub errors: Option<Array3<f64>>,
    /// Class priors, where the method fits them.
    pub priors: Option<Vec<f64>>,
    /// How the fit went (iterations, why it stopped, objective per iteration).
    pub report: FitReport,
}

impl Aggregation {
    /// Labels, probabilities and confidence from a probability matrix: the most probable label
    /// of each row, ties to the smallest label id (the label order rule).
    pub fn from_probabilities(probabilities: Array2<f64>) -> Self {
        let (labels, confidence) = argmax_rows(&probabilities);
        Self {
            labels,
            probabilities: Some(probabilities),
            scores: None,
            confidence,
            skills: None,
            errors: None,
            priors: None,
            report: FitReport::not_iterative(),
        }
    }

    /// Each task's result by name, in task id order. `data` must be the responses this was
    /// fitted on.
    ///
    /// ```
    /// use crowdagg::{Aggregator, MajorityVote, Responses};
    ///
    /// let data = Responses::from_triples([("t1", "w1", "cat"), ("t1", "w2", "cat"), ("t2", "w1", "dog")])?;
    /// let result = MajorityVote::default().aggregate(&data)?;
    /// let named: Vec<_> = result.iter_named(&data).map(|r| (r.task, r.label, r.confidence)).collect();
    /// assert_eq!(named, [("t1", "cat", 1.0), ("t2", "dog", 1.0)]);
    /// # Ok::<(), crowdagg::Error>(())
    /// ```
    pub fn iter_named<'a>(
        &'a self,
        data: &'a Responses,
    ) -> impl ExactSizeIterator<Item = NamedResult<'a>> + 'a {
        self.labels
            .iter()
            .zip(&self.confidence)
            .enumerate()
            .map(|(t, (&label, &confidence))| NamedResult {
                task: data.task_name(t),
                label: data.label_name(label),
                confidence,
            })
    }

    /// Accuracy on the gold tasks present in `data`: (fraction correct, tasks scored). A gold
    /// label that no response uses simply counts as a miss.
    pub fn accuracy(&self, data: &Responses, gold: &Gold) -> (f64, usize) {
        let mut scored = 0usize;
        let mut correct = 0usize;
        for (t, &label) in self.labels.iter().enumerate() {
            if let Some(truth) = gold.get(data.task_name(t)) {
                scored += 1;
                correct += usize::from(data.label_name(label as usize) == truth);
            }
        }
        (correct as f64 / scored.max(1) as f64, scored)
    }
}

/// One task's result by name, from [`Aggregation::iter_named`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NamedResult<'a> {
    /// The task's name.
    pub task: &'a str,
    /// The aggregated label's name.
    pub label: &'a str,
    /// The confidence in that label ([`Aggregation::confidence`]).
    pub confidence: f64,
}

/// Index and value of the first maximum of each row (ties go to the smallest column).
pub fn argmax_rows(matrix: &Array2<f64>) -> (Vec<Label>, Vec<f64>) {
    matrix
        .rows()
        .into_iter()
        .map(|row| {
            let best = argmax(row);
            (best as Label, row[best])
        })
        .unzip()
}

/// The column of a row's largest value, the first on ties (the rule of [`argmax_rows`]).
///
/// By selects, not branches: which label leads is a coin toss in close votes, and a branch
/// on it would be mispredicted every other row.
#[inline]
pub(crate) fn argmax(row: ndarray::ArrayView1<'_, f64>) -> usize {
    match row.as_slice() {
        Some(values) => first_largest(values.iter().copied()),
        None => first_largest(row.iter().copied()),
    }
}

#[inline]
fn first_largest(mut values: impl Iterator<Item = f64>) -> usize {
    let Some(first) = values.next() else {
        return 0;
    };
    let (mut best, mut largest) = (0, first);
    for (j, v) in values.enumerate() {
        let larger = v > largest;
        best = if larger { j + 1 } else { best };
        largest = if larger { v } else { largest };
    }
    best
}

/// What an [`Observer`] sees after each iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct IterationState {
    /// The iteration just completed, 1-based (MACE: the restart).
    pub iteration: usize,
    /// The configured limit (`n_iter`; MACE: `n_restarts`).
    pub max_iterations: usize,
    /// The value the method's stop rule looks at: the ELBO per response (Dawid-Skene), the
    /// expected log-likelihood per response-label (GLAD), the largest change of the skill
    /// vectors (M-MSR), the largest skill step (ZBS), the largest message (KOS), the log
    /// marginal likelihood of the restart (MACE), the largest score change (Bradley-Terry),
    /// the negative log-likelihood (noisy Bradley-Terry); for the methods fitted task by task
    /// (segmentation, ROVER), where an iteration is a block of tasks, the tasks fitted so far.
    pub objective: f64,
    /// Wall time since the fit started.
    pub elapsed: Duration,
}

impl IterationState {
    /// A state, for calling an observer outside a fit (tests, adapters).
    pub fn new(iteration: usize, max_iterations: usize, objective: f64, elapsed: Duration) -> Self {
        Self {
            iteration,
            max_iterations,
            objective,
            elapsed,
        }
    }
}

/// What an [`Observer`] asks for after an iteration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[must_use]
pub enum Action {
    /// Go on with the fit.
    #[default]
    Continue,
    /// Stop now: the fit returns its current state with [`StopReason::Interrupted`].
    Stop,
}

/// A per-iteration hook (argmin-style observer): the CLI draws a progress bar with it, the
/// library never prints. Called once per iteration from the fitting thread, by every iterative
/// method (Dawid-Skene, one-coin Dawid-Skene, GLAD, M-MSR, MACE once per restart, KOS, ZBS, the
/// pairwise and embedding methods; the segmentation methods and ROVER, which fit each task on
/// its own, once per block of tasks); returning [`Action::Stop`] ends the fit after that iteration with
/// [`StopReason::Interrupted`] (a time budget, Ctrl-C, Python's `KeyboardInterrupt`).
///
/// A closure `Fn(&IterationState) -> Action` is an observer:
///
/// ```
/// use crowdagg::{Action, Aggregator, DawidSkene, FitInputs, IterationState, Params, Responses, StopReason};
///
/// let data = Responses::from_triples([
///     ("t1", "w1", "a"), ("t1", "w2", "b"), ("t2", "w1", "a"), ("t2", "w2", "a"),
/// ])?;
/// let stop_after_two = |state: &IterationState| {
///     if state.iteration >= 2 { Action::Stop } else { Action::Continue }
/// };
/// let model = DawidSkene::params().tol(0.0).check()?;
/// let result = model.aggregate_with(&data, FitInputs::default().observer(&stop_after_two))?;
/// assert_eq!(result.report.stop_reason, StopReason::Interrupted);
/// assert_eq!(result.report.iterations, 2);
/// # Ok::<(), crowdagg::Error>(())
/// ```
pub trait Observer: Sync {
    /// Called after each iteration; [`Action::Stop`] ends the fit.
    fn observe(&self, state: &IterationState) -> Action;

    /// Whether [`observe`](Observer::observe) may return [`Action::Stop`] (default: yes). An
    /// observer that only watches (a progress bar) says no: a method that splits its work so
    /// as to be able to stop between the parts ([`Mace`](crate::Mace)'s restarts) then runs
    /// it in one piece. Results do not depend on it.
    fn may_stop(&self) -> bool {
        true
    }
}

impl<F: Fn(&IterationState) -> Action + Sync> Observer for F {
    fn observe(&self, state: &IterationState) -> Action {
        self(state)
    }
}

/// An observer that stops a fit once it has run for a given wall time (checked after each
/// iteration, so a fit can overrun by one iteration).
///
/// ```
/// use std::time::Duration;
/// use crowdagg::{Aggregator, FitInputs, Glad, Responses, StopReason, TimeBudget};
///
/// let data = Responses::from_triples([("t1", "w1", "a"), ("t1", "w2", "b"), ("t2", "w1", "a")])?;
/// let budget = TimeBudget::new(Duration::ZERO); // stops after the first iteration
/// let result = Glad::default().aggregate_with(&data, FitInputs::default().observer(&budget))?;
/// assert_eq!(result.report.stop_reason, StopReason::Interrupted);
/// assert_eq!(result.report.iterations, 1);
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBudget {
    limit: Duration,
}

impl TimeBudget {
    /// Stops a fit once it has run for `limit`.
    pub fn new(limit: Duration) -> Self {
        Self { limit }
    }

    /// The wall-time limit.
    pub fn limit(&self) -> Duration {
        self.limit
    }
}

impl Observer for TimeBudget {
    fn observe(&self, state: &IterationState) -> Action {
        if state.elapsed >= self.limit {
            Action::Stop
        } else {
            Action::Continue
        }
    }
}

/// The outer loop shared by the iterative methods (GLAD, M-MSR, KOS, ZBS; Dawid-Skene keeps
/// its fused passes and uses the same [`IterationLoop::end_iteration`]): counts iterations,
/// keeps the loss history, asks the observer once per iteration and says why the loop stopped.
/// Not an EM framework: each method's iteration and stop rule stay in the method.
pub(crate) struct IterationLoop<'a> {
    max_iterations: usize,
    observer: Option<&'a dyn Observer>,
    started: Instant,
    record_loss: bool,
    iterations: usize,
    loss_history: Vec<f64>,
}

impl<'a> IterationLoop<'a> {
    /// A loop of at most `max_iterations`, timed from `started` (the start of the fit).
    pub(crate) fn new(
        max_iterations: usize,
        observer: Option<&'a dyn Observer>,
        started: Instant,
    ) -> Self {
        Self {
            max_iterations,
            observer,
            started,
            record_loss: true,
            iterations: 0,
            loss_history: Vec::with_capacity(max_iterations.min(10_000)),
        }
    }

    /// Keeps no loss history (methods whose objective is only a progress measure).
    pub(crate) fn without_loss_history(mut self) -> Self {
        self.record_loss = false;
        self
    }

    /// Ends an iteration whose objective is `objective`: records it, asks the observer, and
    /// returns why to stop, if the loop should. `stop` is the method's own verdict (its stop
    /// rule); it wins over the observer, and reaching `max_iterations` wins over an
    /// interruption (the fit is complete either way).
    pub(crate) fn end_iteration(
        &mut self,
        objective: f64,
        stop: Option<StopReason>,
    ) -> Option<StopReason> {
        self.iterations += 1;
        if self.record_loss {
            self.loss_history.push(objective);
        }
        let action = match self.observer {
            Some(observer) => observer.observe(&IterationState {
                iteration: self.iterations,
                max_iterations: self.max_iterations,
                objective,
                elapsed: self.started.elapsed(),
            }),
            None => Action::Continue,
        };
        if stop.is_some() {
            stop
        } else if self.iterations >= self.max_iterations {
            Some(StopReason::MaxIterations)
        } else if action == Action::Stop {
            Some(StopReason::Interrupted)
        } else {
            None
        }
    }

    /// Runs `step(iteration)` for iterations 1, 2, … until a stop. `step` returns the
    /// iteration's objective and the method's verdict, or `Err(reason)` when the iteration
    /// could not complete (it is not counted, and the method has kept its previous state).
    pub(crate) fn run(
        mut self,
        mut step: impl FnMut(usize) -> Result<(f64, Option<StopReason>), StopReason>,
    ) -> FitReport {
        if self.max_iterations == 0 {
            return self.report(StopReason::MaxIterations);
        }
        loop {
            let reason = match step(self.iterations + 1) {
                Ok((objective, stop)) => self.end_iteration(objective, stop),
                Err(reason) => Some(reason),
            };
            if let Some(reason) = reason {
                return self.report(reason);
            }
        }
    }

    /// The report, with the time since the fit started.
    pub(crate) fn report(self, stop_reason: StopReason) -> FitReport {
        FitReport::new(self.iterations, stop_reason, self.loss_history).timed(self.started)
    }
}

/// Tasks per observer call of the per-task methods ([`fit_task_blocks`]).
pub(crate) const TASK_BLOCK: usize = 1024;

/// Fits tasks `0..n_tasks` with `fit_task`, for the methods whose work is independent per task
/// (segmentation: iterations inside each task; ROVER: one alignment per task), so that an
/// observer can stop them: without an observer in one pass; with one, in blocks of
/// [`TASK_BLOCK`] tasks (by [`IterationLoop`]: iteration = block, objective = tasks fitted so
/// far), the observer called after each block from the fitting thread. On [`Action::Stop`] the
/// fit ends after that block and returns the results of the tasks fitted, task ids `0..k`,
/// with `true` (interrupted). `parallel` fits each block's tasks on rayon's pool; results are
/// per task, so the blocks do not change them.
pub(crate) fn fit_task_blocks<T: Send>(
    n_tasks: usize,
    observer: Option<&dyn Observer>,
    parallel: bool,
    fit_task: impl Fn(usize) -> T + Sync + Send,
) -> (Vec<T>, bool) {
    use rayon::prelude::*;
    let fit = |tasks: std::ops::Range<usize>| -> Vec<T> {
        if parallel {
            tasks.into_par_iter().map(&fit_task).collect()
        } else {
            tasks.map(&fit_task).collect()
        }
    };
    let Some(observer) = observer else {
        return (fit(0..n_tasks), false);
    };
    let mut fitted = Vec::with_capacity(n_tasks);
    let blocks = n_tasks.div_ceil(TASK_BLOCK);
    let report = IterationLoop::new(blocks, Some(observer), Instant::now())
        .without_loss_history()
        .run(|block| {
            let start = (block - 1) * TASK_BLOCK;
            fitted.extend(fit(start..(start + TASK_BLOCK).min(n_tasks)));
            Ok((fitted.len() as f64, None))
        });
    (fitted, report.stop_reason == StopReason::Interrupted)
}

/// Known true labels by task name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gold {
    labels: HashMap<String, String>,
    origin: Origin,
}

impl Gold {
    /// No gold labels.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a gold label; returns the previous label of the task if there was one.
    pub fn insert(&mut self, task: impl Into<String>, label: impl Into<String>) -> Option<String> {
        self.labels.insert(task.into(), label.into())
    }

    /// Number of gold tasks.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no gold labels.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The gold label of `task`, if it has one.
    pub fn get(&self, task: &str) -> Option<&str> {
        self.labels.get(task).map(String::as_str)
    }

    /// Where the gold labels were read from, as set by the readers (for error messages).
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Mutable access to the origin, for readers that record where each label was read.
    pub fn origin_mut(&mut self) -> &mut Origin {
        &mut self.origin
    }

    /// How many gold tasks occur in `data`.
    pub fn tasks_in(&self, data: &Responses) -> usize {
        self.labels
            .keys()
            .filter(|task| data.task_id(task).is_some())
            .count()
    }

    /// Fails with [`DataError::NoGoldOverlap`] when gold labels were given but none of their
    /// tasks occurs in `data`: scoring or training on them would silently do nothing.
    pub fn check_overlap(&self, data: &Responses) -> Result<(), DataError> {
        if !self.is_empty() && self.tasks_in(data) == 0 {
            return Err(DataError::NoGoldOverlap {
                gold_tasks: self.len(),
            });
        }
        Ok(())
    }

    /// Fails with [`DataError::NoGoldLabelOverlap`] when no gold label is a label of `data`
    /// (gold in another vocabulary: every gold task would silently count as a miss).
    pub fn check_labels(&self, data: &Responses) -> Result<(), DataError> {
        const SHOWN: usize = 5;
        if self.is_empty() || self.labels.values().any(|l| data.label_id(l).is_some()) {
            return Ok(());
        }
        // In label order (numeric when every label is an integer), as the responses' labels.
        let gold: Vec<&str> = {
            let distinct: std::collections::BTreeSet<&str> =
                self.labels.values().map(String::as_str).collect();
            let mut names: Vec<&str> = distinct.into_iter().collect();
            let numeric = names
                .iter()
                .all(|n| crate::responses::parse_int(n).is_some());
            names.sort_by(|a, b| crate::responses::compare_names(a, b, numeric));
            names
        };
        let ours = data.label_names();
        Err(DataError::NoGoldLabelOverlap {
            gold_labels: gold.iter().take(SHOWN).map(|s| s.to_string()).collect(),
            gold_count: gold.len(),
            response_labels: ours.iter().take(SHOWN).map(|s| s.to_string()).collect(),
            response_count: ours.len(),
        })
    }

    /// The same gold with every label passed through `f` (e.g.
    /// [`normalize_label`](crate::responses::normalize_label)); the origin is kept.
    pub fn map_labels(&self, f: impl Fn(&str) -> String) -> Self {
        Self {
            labels: self.labels.iter().map(|(t, l)| (t.clone(), f(l))).collect(),
            origin: self.origin.clone(),
        }
    }

    /// Per task id of `data`, the gold label id. Gold tasks absent from the data are ignored
    /// (they cannot be scored); a gold label that no response uses is an error, because the
    /// methods can only output labels of the data.
    pub fn resolve(&self, data: &Responses) -> Result<Vec<Option<Label>>, DataError> {
        let mut out = vec![None; data.n_tasks()];
        let mut names: Vec<(&String, &String)> = self.labels.iter().collect();
        names.sort();
        for (task, label) in names {
            if let Some(t) = data.task_id(task) {
                let l = data
                    .label_id(label)
                    .ok_or_else(|| DataError::UnknownGoldLabel {
                        task: task.clone(),
                        label: label.clone(),
                    })?;
                out[t] = Some(l);
            }
        }
        Ok(out)
    }
}

impl<T: Into<String>, L: Into<String>> FromIterator<(T, L)> for Gold {
    fn from_iter<I: IntoIterator<Item = (T, L)>>(iter: I) -> Self {
        Self {
            labels: iter
                .into_iter()
                .map(|(t, l)| (t.into(), l.into()))
                .collect(),
            origin: Origin::default(),
        }
    }
}

/// Per-worker skills by worker name (weights for weighted majority vote, or Toloka skill
/// values 0..=100 for weighted dynamic overlap).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Skills {
    values: HashMap<String, f64>,
    origin: Origin,
}

impl Skills {
    /// No skills.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a skill; returns the previous value if there was one.
    pub fn insert(&mut self, worker: impl Into<String>, value: f64) -> Option<f64> {
        self.values.insert(worker.into(), value)
    }

    /// The skill of `worker`, if it has one.
    pub fn get(&self, worker: &str) -> Option<f64> {
        self.values.get(worker).copied()
    }

    /// Where the skills were read from, as set by the readers (for error messages).
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// Mutable access to the origin, for readers that record where each skill was read.
    pub fn origin_mut(&mut self) -> &mut Origin {
        &mut self.origin
    }

    /// Number of workers with a skill.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no skills.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Per worker id of `data`, its skill if known. Skills of workers absent from the data are
    /// not needed and are ignored. NaN or infinite skills are an error.
    pub fn resolve(&self, data: &Responses) -> Result<Vec<Option<f64>>, DataError> {
        data.worker_names()
            .map(|name| match self.values.get(name) {
                Some(&v) if !v.is_finite() => Err(DataError::InvalidSkill {
                    worker: name.to_string(),
                    value: v,
                }),
                other => Ok(other.copied()),
            })
            .collect()
    }
}

impl<W: Into<String>> FromIterator<(W, f64)> for Skills {
    fn from_iter<I: IntoIterator<Item = (W, f64)>>(iter: I) -> Self {
        Self {
            values: iter.into_iter().map(|(w, v)| (w.into(), v)).collect(),
            origin: Origin::default(),
        }
    }
}

/// Where the entries of a [`Gold`] or [`Skills`] were read from: the file, and the location of
/// each task's label or worker's skill. It only serves error messages (see
/// [`io::locate`](crate::io::locate)), so it takes no part in equality.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    file: Option<PathBuf>,
    locations: HashMap<String, Location>,
}

impl PartialEq for Origin {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Origin {
    /// The file the entries were read from (`None` when built in code).
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// Records the file the entries were read from.
    pub fn set_file(&mut self, file: impl Into<PathBuf>) {
        self.file = Some(file.into());
    }

    /// The location of the entry of `key` (a task for gold, a worker for skills).
    pub fn location(&self, key: &str) -> Option<&Location> {
        self.locations.get(key)
    }

    /// Records where the entry of `key` (a task or a worker) was read.
    pub fn set_location(&mut self, key: impl Into<String>, location: Location) {
        self.locations.insert(key.into(), location);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asks to stop from iteration `at` on.
    fn stop_from(at: usize) -> impl Fn(&IterationState) -> Action + Sync {
        move |state: &IterationState| {
            if state.iteration >= at {
                Action::Stop
            } else {
                Action::Continue
            }
        }
    }

    #[test]
    fn the_loop_runs_to_n_iter_and_keeps_the_losses() {
        let report = IterationLoop::new(3, None, Instant::now()).run(|i| Ok((i as f64, None)));
        assert_eq!(report.iterations, 3);
        assert_eq!(report.stop_reason, StopReason::MaxIterations);
        assert_eq!(report.loss_history, [1.0, 2.0, 3.0]);
        let quiet = IterationLoop::new(3, None, Instant::now())
            .without_loss_history()
            .run(|i| Ok((i as f64, None)));
        assert_eq!((quiet.iterations, quiet.loss_history.len()), (3, 0));
        let none = IterationLoop::new(0, None, Instant::now()).run(|_| unreachable!());
        assert_eq!(
            (none.iterations, none.stop_reason),
            (0, StopReason::MaxIterations)
        );
    }

    #[test]
    fn the_method_s_verdict_wins_then_n_iter_then_the_observer() {
        let stop = stop_from(2);
        let run = |n, converge_at: usize| {
            IterationLoop::new(n, Some(&stop), Instant::now())
                .run(|i| Ok((0.0, (i == converge_at).then_some(StopReason::Converged))))
        };
        let interrupted = run(10, 99);
        assert_eq!(interrupted.stop_reason, StopReason::Interrupted);
        assert_eq!(interrupted.iterations, 2);
        assert_eq!(run(10, 2).stop_reason, StopReason::Converged);
        assert_eq!(run(2, 99).stop_reason, StopReason::MaxIterations);
    }

    #[test]
    fn a_failed_iteration_is_not_counted() {
        let report = IterationLoop::new(10, None, Instant::now()).run(|i| {
            if i == 4 {
                Err(StopReason::Diverged)
            } else {
                Ok((1.0, None))
            }
        });
        assert_eq!(report.iterations, 3);
        assert_eq!(report.loss_history.len(), 3);
        assert_eq!(report.stop_reason, StopReason::Diverged);
    }

    #[test]
    fn the_observer_sees_each_iteration_once() {
        let seen = std::sync::Mutex::new(Vec::new());
        let observer = |state: &IterationState| {
            seen.lock()
                .unwrap()
                .push((state.iteration, state.max_iterations, state.objective));
            Action::Continue
        };
        IterationLoop::new(3, Some(&observer), Instant::now()).run(|i| Ok((-(i as f64), None)));
        assert_eq!(
            *seen.lock().unwrap(),
            [(1, 3, -1.0), (2, 3, -2.0), (3, 3, -3.0)]
        );
    }

    #[test]
    fn a_time_budget_stops_once_elapsed() {
        let budget = TimeBudget::new(Duration::from_secs(2));
        let state = |seconds| IterationState::new(1, 10, 0.0, Duration::from_secs(seconds));
        assert_eq!(budget.observe(&state(1)), Action::Continue);
        assert_eq!(budget.observe(&state(2)), Action::Stop);
        assert_eq!(budget.observe(&state(3)), Action::Stop);
    }

    #[test]
    fn reports_compare_without_elapsed_and_serialise_it_in_seconds() {
        let mut a = FitReport::new(2, StopReason::Converged, vec![1.0, 2.0]);
        let mut b = a.clone();
        a.elapsed = Duration::from_millis(1500);
        b.elapsed = Duration::from_millis(10);
        assert_eq!(a, b);
        b.inner.push(InnerSolve {
            iterations: 3,
            evaluations: 7,
            status: InnerStatus::LineSearchFailed,
        });
        assert_ne!(a, b);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(
            json,
            r#"{"iterations":2,"stop_reason":"converged","loss_history":[1.0,2.0],"elapsed_s":1.5}"#
        );
        let back: FitReport = serde_json::from_str(&json).unwrap();
        assert_eq!((back.elapsed, &back), (a.elapsed, &a));
        let with_inner = serde_json::to_string(&b).unwrap();
        assert!(with_inner.ends_with(
            r#""inner":[{"iterations":3,"evaluations":7,"status":"line_search_failed"}]}"#
        ));
        for (reason, name) in [
            (StopReason::Diverged, "\"diverged\""),
            (StopReason::NumericGuard, "\"numeric_guard\""),
            (StopReason::Interrupted, "\"interrupted\""),
        ] {
            assert_eq!(serde_json::to_string(&reason).unwrap(), name);
        }
    }
}
