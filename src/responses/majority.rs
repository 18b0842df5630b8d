//! Each worker's agreement with the unweighted majority label of every task, counted while a
//! task's rows are at hand.
//!
//! Wawa weighs each worker by the share of their answers that agree with the majority vote
//! (crowd-kit's `Wawa`: `get_accuracy` against `MajorityVote`'s labels). Counted over the task
//! index, that is a pass over every response after the read
//! (`methods::votes::worker_accuracy_on_majority`). Where the parallel reader places each
//! task's rows as one sorted run (`local_parts`), the same integer counts are taken there,
//! from the run's keys still in registers, and kept with the responses: at 10⁶ answers the
//! pass took 4–5 ms of Wawa's 65–85, counting in the placement costs it 2–3 ms of CPU on two
//! threads, and Wawa ends ≈ 1.5 ms sooner (BENCHMARKS.md, session 21). Counts are integers,
//! so the sums over the reader's parts are the pass's whatever the layout.

use super::{Label, entry_of};

/// Label counts up to which a row's votes are counted as integers in a small array: its
/// majority label here, and `methods::votes::vote_row`'s counts (more labels go through the
/// general vote).
pub(crate) const SMALL_K: usize = 16;

/// The index of the first largest count (0 when all are 0), by selects as in
/// `aggregation::argmax`: the label of a vote by counts.
#[inline]
pub(crate) fn first_largest(counts: &[u32]) -> usize {
    let (mut best, mut largest) = (0, 0);
    for (j, &c) in counts.iter().enumerate() {
        let larger = c > largest;
        best = if larger { j } else { best };
        largest = if larger { c } else { largest };
    }
    best
}

/// The unweighted majority label of a row of `n` responses with labels `labels` (each below
/// `k` ≤ [`SMALL_K`]): the first largest count, duplicates counted.
#[inline]
pub(crate) fn small_majority(labels: impl Iterator<Item = Label>, n: usize, k: usize) -> usize {
    if k == 2 {
        // Two labels: label 1 leads when its count, the sum of the labels, is more than half
        // (the first largest of the two counts), counted in a register: each `counts[l] += 1`
        // below waits for the previous one to the same count, through memory.
        let ones: usize = labels.map(usize::from).sum();
        return usize::from(2 * ones > n);
    }
    let mut counts = [0u32; SMALL_K];
    for l in labels {
        counts[usize::from(l)] += 1;
    }
    first_largest(&counts[..k])
}

/// Per worker, (graded, correct) against the majority label of the tasks counted so far (one
/// part of a read: counts below 2³²).
pub(crate) struct AgreementCounts {
    /// Per worker, graded + 2³² · correct: one addition a response (correct ≤ graded < 2³²,
    /// a part's rows being fewer, so neither half carries into the other).
    table: Vec<u64>,
    /// The number of labels (at most [`SMALL_K`]).
    k: usize,
}

impl AgreementCounts {
    /// A table for `n_workers` workers and `k` labels; `None` past [`SMALL_K`] labels.
    pub(crate) fn new(n_workers: usize, k: usize) -> Option<Self> {
        (k <= SMALL_K).then(|| Self {
            table: vec![0; n_workers],
            k,
        })
    }

    /// Counts one task: `keys`, the [`super::entry_key`]s of all `n` of its (worker, label)
    /// responses, ascending. Its majority label first ([`small_majority`]), then each distinct
    /// (worker, label) pair graded against it, as `methods::votes::worker_agreement` grades.
    #[inline]
    pub(crate) fn count_task(&mut self, keys: impl Iterator<Item = u64> + Clone, n: usize) {
        let majority = small_majority(keys.clone().map(|key| entry_of(key).1), n, self.k);
        let mut previous = None;
        for key in keys {
            if previous.replace(key) == Some(key) {
                continue;
            }
            let (w, l) = entry_of(key);
            // Always within the table (canonical worker ids): `get_mut` only keeps a bad id
            // from panicking.
            if let Some(counts) = self.table.get_mut(w as usize) {
                *counts += 1 | u64::from(usize::from(l) == majority) << 32;
            }
        }
    }

    /// Adds the counts of `parts` (one table per part, as many workers each) into one table.
    pub(crate) fn sum(parts: Vec<Self>, n_workers: usize) -> Vec<(u64, u64)> {
        let mut sum = vec![(0u64, 0u64); n_workers];
        for part in parts {
            for ((graded, correct), counts) in sum.iter_mut().zip(part.table) {
                *graded += counts & u64::from(u32::MAX);
                *correct += counts >> 32;
            }
        }
        sum
    }
}
