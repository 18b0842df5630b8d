//! What an aggregator returns, and the side inputs some methods take (gold labels, skills).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ndarray::{Array2, Array3};

use crate::error::{DataError, Location};
use crate::responses::{Label, Responses};

/// Why an iterative fit stopped. Convergence is data, not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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
}

/// How a fit went.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FitReport {
    /// Iterations run (0 for non-iterative methods).
    pub iterations: usize,
    /// Why the fit stopped.
    pub stop_reason: StopReason,
    /// The objective after each iteration, where the method has one (empty otherwise).
    pub loss_history: Vec<f64>,
}

impl FitReport {
    /// The report of a method without iterations: 0 iterations, [`StopReason::NotIterative`],
    /// no loss history.
    pub fn not_iterative() -> Self {
        Self {
            iterations: 0,
            stop_reason: StopReason::NotIterative,
            loss_history: Vec::new(),
        }
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
            let mut best = 0usize;
            for (j, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = j;
                }
            }
            (best as Label, row[best])
        })
        .unzip()
}

/// A per-iteration hook (argmin-style observer): the CLI draws a progress bar with it, the
/// library never prints. Called once per iteration from the fitting thread.
pub trait Observer: Sync {
    /// `iteration` is 1-based, `max_iterations` the configured limit, `objective` the value the
    /// stop rule looks at.
    fn observe(&self, iteration: usize, max_iterations: usize, objective: f64);
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
