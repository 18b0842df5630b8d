//! How often each task got each label: all that an unweighted majority vote needs of a
//! response table, read without keeping its rows ([`crate::io::read_label_counts`]).

use rayon::prelude::*;

use super::{Label, Responses};
use crate::names::Names;

/// The number of responses of each (task, label) pair, with the task and label names in the
/// canonical order of [`Responses`] (the same ids as the table they count). Duplicates count,
/// as [`DuplicatePolicy::Keep`](crate::DuplicatePolicy::Keep) keeps them. Workers are not
/// kept: read from a file, their names are only checked as the responses' are.
///
/// [`MajorityVote::aggregate_counts`](crate::MajorityVote::aggregate_counts) votes from it
/// with the labels, confidences and probabilities of
/// [`MajorityVote`](crate::MajorityVote) on the responses. It takes 4 bytes per task and
/// label where [`Responses`] takes 6–12 bytes per response (read from a file, never more than
/// 4 per response: see [`crate::io::read_label_counts`]), and reading it skips building the
/// task index: what the command line reads for `aggregate -m mv` when the output is labels
/// and confidences alone. [`LabelCounts::from_responses`] holds a table of every task ×
/// every label, however sparse.
///
/// ```
/// use crowdagg::{Aggregator, LabelCounts, MajorityVote, Responses};
///
/// let data = Responses::from_triples([
///     ("t1", "w1", "cat"), ("t1", "w2", "dog"), ("t1", "w3", "dog"),
///     ("t2", "w1", "cat"), ("t2", "w2", "cat"),
/// ])?;
/// let counts = LabelCounts::from_responses(&data);
/// // By hand: t1 has one `cat` and two `dog`.
/// assert_eq!(counts.task_counts(0), &[1, 2]);
/// let result = MajorityVote::default().aggregate_counts(&counts, false);
/// assert_eq!(result.labels, MajorityVote::default().aggregate(&data)?.labels);
/// assert_eq!(result.confidence[0], 2.0 / 3.0);
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelCounts {
    tasks: Names,
    labels: Names,
    n_responses: usize,
    /// tasks × labels, row-major.
    counts: Vec<u32>,
}

impl LabelCounts {
    /// From canonical names and a tasks × labels table (row-major) of `n_responses` in all.
    pub(crate) fn from_parts(
        tasks: Names,
        labels: Names,
        n_responses: usize,
        counts: Vec<u32>,
    ) -> Self {
        debug_assert_eq!(counts.len(), tasks.len() * labels.len());
        Self {
            tasks,
            labels,
            n_responses,
            counts,
        }
    }

    /// The label counts of a response table (every response counted, duplicates included).
    pub fn from_responses(data: &Responses) -> Self {
        let k = data.n_labels();
        let by_task = data.by_task();
        let mut counts = vec![0u32; data.n_tasks() * k];
        counts
            .par_chunks_mut(k.max(1))
            .enumerate()
            .for_each(|(t, row)| {
                for &l in by_task.row(t).1 {
                    row[l as usize] += 1;
                }
            });
        Self::from_parts(
            data.tasks.clone(),
            data.labels.clone(),
            data.n_responses(),
            counts,
        )
    }

    /// Number of tasks (each with at least one response).
    pub fn n_tasks(&self) -> usize {
        self.tasks.len()
    }

    /// Number of distinct labels.
    pub fn n_labels(&self) -> usize {
        self.labels.len()
    }

    /// Number of responses counted.
    pub fn n_responses(&self) -> usize {
        self.n_responses
    }

    /// Whether no response was counted.
    pub fn is_empty(&self) -> bool {
        self.n_responses == 0
    }

    /// Name of task `t`.
    pub fn task_name(&self, t: usize) -> &str {
        self.tasks.get(t)
    }

    /// Name of label `l`.
    pub fn label_name(&self, l: usize) -> &str {
        self.labels.get(l)
    }

    /// All label names, in label order.
    pub fn label_names(&self) -> Vec<&str> {
        self.labels.iter().collect()
    }

    /// The id of the task called `name`, if it has responses.
    pub fn task_id(&self, name: &str) -> Option<usize> {
        self.tasks.position(name)
    }

    /// The id of the label called `name`, if it was used.
    pub fn label_id(&self, name: &str) -> Option<Label> {
        self.labels.position(name).map(|i| i as Label)
    }

    /// How many responses task `t` got with each label, in label order.
    pub fn task_counts(&self, t: usize) -> &[u32] {
        let k = self.n_labels();
        &self.counts[t * k..(t + 1) * k]
    }

    /// The whole table: tasks × labels, row-major.
    pub fn counts(&self) -> &[u32] {
        &self.counts
    }

    /// Groups of labels that differ only by letter case or surrounding whitespace, as
    /// [`Responses::label_variants`] gives them.
    pub fn label_variants(&self) -> Vec<Vec<&str>> {
        super::label_variants(self.labels.iter())
    }

    /// Names `tasks` side by side (the CSV writer copies them in one piece).
    pub(crate) fn task_names_span(&self, tasks: std::ops::Range<usize>) -> &str {
        self.tasks.span(tasks)
    }
}
