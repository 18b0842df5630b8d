//! Vote counting shared by the majority-vote family.

use ndarray::{Array2, Axis};
use rayon::prelude::*;

use crate::responses::{Label, LabelCounts, Responses, SMALL_K, first_largest, small_majority};

/// tasks × labels matrix of Σ weight over the task's responses with that label. Responses of
/// workers whose weight is `None` are skipped. Sums are compensated (Neumaier), so the result
/// does not depend on the order of the terms beyond the last bit, as with pandas' groupby sum.
pub(crate) fn weighted_votes(data: &Responses, weights: &[Option<f64>]) -> Array2<f64> {
    let mut scores = Array2::<f64>::zeros((data.n_tasks(), data.n_labels()));
    weighted_votes_into(data, weights, &mut scores);
    scores
}

/// [`weighted_votes`] into `scores` (tasks × labels, any previous content), so that an
/// iterative method reuses one table instead of mapping and faulting in a new one per
/// iteration (at 10⁶ tasks and K = 5, 40 MB: above glibc's mmap threshold).
pub(crate) fn weighted_votes_into(
    data: &Responses,
    weights: &[Option<f64>],
    scores: &mut Array2<f64>,
) {
    let k = data.n_labels();
    let by_task = data.by_task();
    scores
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .with_min_len(1024)
        .enumerate()
        .for_each_init(
            || vec![0.0f64; k],
            |compensation, (t, mut row)| {
                let (workers, labels) = by_task.row(t);
                compensation.fill(0.0);
                row.fill(0.0);
                for (&w, &l) in workers.iter().zip(labels) {
                    if let Some(weight) = weights[w as usize] {
                        compensated_add(
                            &mut row[l as usize],
                            &mut compensation[l as usize],
                            weight,
                        );
                    }
                }
                for (s, c) in row.iter_mut().zip(compensation.iter()) {
                    *s += c;
                }
            },
        );
}

/// `sum += term` with Neumaier's running compensation (add `compensation` at the end).
#[inline]
pub(crate) fn compensated_add(sum: &mut f64, compensation: &mut f64, term: f64) {
    let next = *sum + term;
    *compensation += if sum.abs() >= term.abs() {
        (*sum - next) + term
    } else {
        (term - next) + *sum
    };
    *sum = next;
}

/// tasks × labels matrix of response counts (duplicates count).
pub(crate) fn counts(data: &Responses) -> Array2<f64> {
    let by_task = data.by_task();
    let mut scores = Array2::<f64>::zeros((data.n_tasks(), data.n_labels()));
    scores
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .with_min_len(1024)
        .enumerate()
        .for_each(|(t, mut row)| {
            for &l in by_task.row(t).1 {
                row[l as usize] += 1.0;
            }
        });
    scores
}

/// Divides each row by its sum, as crowd-kit's `normalize_rows`. A row whose sum is zero
/// (possible only with weights that cancel out) becomes uniform instead of NaN.
pub(crate) fn normalize_rows(mut scores: Array2<f64>) -> Array2<f64> {
    normalize_rows_in_place(&mut scores);
    scores
}

/// [`normalize_rows`] in place.
pub(crate) fn normalize_rows_in_place(scores: &mut Array2<f64>) {
    let k = scores.ncols() as f64;
    scores
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .with_min_len(1024)
        .for_each(|mut row| {
            let sum: f64 = row.sum();
            if sum == 0.0 {
                row.fill(1.0 / k);
            } else {
                row.mapv_inplace(|v| v / sum);
            }
        });
}

/// Majority vote in one pass over the tasks: probabilities (the votes of [`counts`], or of
/// [`weighted_votes`] with `weights`, divided as [`normalize_rows`]), labels and confidences
/// (as [`crate::aggregation::argmax_rows`]), the same bits as those three passes. One pass
/// and tables written by the threads that fill them: at 10⁶ responses the separate passes
/// and their temporary tables were most of the fit.
pub(crate) struct Tally {
    /// tasks × labels, row-major; `None` when not asked for.
    pub probabilities: Option<Vec<f64>>,
    pub labels: Vec<Label>,
    pub confidence: Vec<f64>,
}

/// Tasks per parallel work item.
const TASKS_PER_ITEM: usize = 2048;

/// The [`Tally`] of `data` (`weights` as in [`weighted_votes`]), its probabilities kept if
/// `keep_probabilities` (each task's row is computed either way: the confidence is one of its
/// values).
pub(crate) fn tally(
    data: &Responses,
    weights: Option<&[Option<f64>]>,
    keep_probabilities: bool,
) -> Tally {
    use std::mem::MaybeUninit;
    let (n, k) = (data.n_tasks(), data.n_labels());
    // Every value is written below: tables of `vec![0.0; …]` would be zeroed first (≈ 6 MB at
    // 10⁶ responses, on this thread, before the parallel pass).
    // Checked: the chunks below cover exactly n·k values only if it does not wrap.
    let nk = match keep_probabilities {
        true => n.checked_mul(k).expect("tasks × labels fits in usize"),
        false => 0,
    };
    let mut probabilities = Vec::<f64>::with_capacity(nk);
    let mut labels = Vec::<Label>::with_capacity(n);
    let mut confidence = Vec::<f64>::with_capacity(n);
    // Without probabilities, each item gets an empty slice of them (`TASKS_PER_ITEM · k` of
    // nothing): the chunks of labels and confidences decide the items.
    let per_item = (TASKS_PER_ITEM * k).max(1);
    let empty_rows = std::iter::repeat_with(|| &mut [][..]);
    let rows: Vec<&mut [MaybeUninit<f64>]> = match keep_probabilities {
        true => probabilities.spare_capacity_mut()[..nk]
            .chunks_mut(per_item)
            .collect(),
        false => empty_rows.take(n.div_ceil(TASKS_PER_ITEM)).collect(),
    };
    rows.into_par_iter()
        .zip(labels.spare_capacity_mut()[..n].par_chunks_mut(TASKS_PER_ITEM))
        .zip(confidence.spare_capacity_mut()[..n].par_chunks_mut(TASKS_PER_ITEM))
        .enumerate()
        .for_each(|(item, ((rows, labels), confidence))| {
            let (mut row, mut compensation) = (vec![0.0; k], vec![0.0; k]);
            let first = item * TASKS_PER_ITEM;
            for (i, (label, confidence)) in labels.iter_mut().zip(confidence).enumerate() {
                let best = vote_row(data, weights, first + i, &mut row, &mut compensation);
                if let Some(out) = rows.get_mut(i * k..(i + 1) * k) {
                    for (out, &p) in out.iter_mut().zip(&row) {
                        out.write(p);
                    }
                }
                label.write(best as Label);
                confidence.write(row[best]);
            }
        });
    // SAFETY: the items above cover the first n labels and confidences exactly (chunks of
    // TASKS_PER_ITEM), each written; with probabilities, their first n·k values too (the same
    // number of chunks of TASKS_PER_ITEM · k, `k` values written for each task of the item).
    unsafe {
        probabilities.set_len(nk);
        labels.set_len(n);
        confidence.set_len(n);
    }
    Tally {
        probabilities: keep_probabilities.then_some(probabilities),
        labels,
        confidence,
    }
}

/// The [`Tally`] of an unweighted vote from label counts: each task's probabilities its
/// counts divided by its number of responses, its label the first largest count. The same
/// bits as [`tally`] without weights on the responses counted ([`vote_row`]'s integer path:
/// a count is exact in `f64`, and dividing by one positive number keeps the counts' order).
pub(crate) fn tally_counts(counts: &LabelCounts, keep_probabilities: bool) -> Tally {
    let k = counts.n_labels();
    let rows = counts
        .counts()
        .par_chunks(k.max(1))
        .with_min_len(TASKS_PER_ITEM);
    let (labels, confidence): (Vec<Label>, Vec<f64>) = rows
        .clone()
        .map(|row| {
            let best = first_largest(row);
            let total = row.iter().map(|&c| u64::from(c)).sum::<u64>();
            (best as Label, f64::from(row[best]) / total as f64)
        })
        .unzip();
    let probabilities = keep_probabilities.then(|| {
        rows.flat_map_iter(|row| {
            let total = row.iter().map(|&c| u64::from(c)).sum::<u64>() as f64;
            row.iter().map(move |&c| f64::from(c) / total)
        })
        .collect()
    });
    Tally {
        probabilities,
        labels,
        confidence,
    }
}

/// The label of each task as [`tally`] gives it, without keeping the probabilities.
pub(crate) fn tally_labels(data: &Responses, weights: Option<&[Option<f64>]>) -> Vec<Label> {
    let k = data.n_labels();
    let mut labels = vec![0; data.n_tasks()];
    labels
        .par_chunks_mut(TASKS_PER_ITEM)
        .enumerate()
        .for_each(|(item, labels)| {
            let (mut row, mut compensation) = (vec![0.0; k], vec![0.0; k]);
            for (i, label) in labels.iter_mut().enumerate() {
                let t = item * TASKS_PER_ITEM + i;
                *label = match weights {
                    None => majority_label(data, t, &mut row, &mut compensation),
                    Some(_) => vote_row(data, weights, t, &mut row, &mut compensation),
                } as Label;
            }
        });
    labels
}

/// The label [`vote_row`] gives task `t` without weights, without its probabilities: where the
/// labels fit a small array, the first largest count, with no division (the divisions whose
/// results a Wawa first vote drops).
#[inline]
fn majority_label(data: &Responses, t: usize, row: &mut [f64], compensation: &mut [f64]) -> usize {
    if row.len() > SMALL_K {
        return vote_row(data, None, t, row, compensation);
    }
    let labels = data.by_task().row(t).1;
    small_majority(labels.iter().copied(), labels.len(), row.len())
}

/// Task `t`'s probabilities into `row` (any previous content), as [`counts`] or
/// [`weighted_votes`] then [`normalize_rows`]; returns the argmax (first on ties).
#[inline]
fn vote_row(
    data: &Responses,
    weights: Option<&[Option<f64>]>,
    t: usize,
    row: &mut [f64],
    compensation: &mut [f64],
) -> usize {
    let (workers, labels) = data.by_task().row(t);
    // Counted as integers where the labels fit a small array (an integer add does not wait
    // for the previous floating-point add to the same label), each count divided by the number
    // of answers: the same bits as the general path below, a count being exact in f64 and the
    // counts adding up to the number of answers exactly, in any order. The argmax is taken on
    // the counts: dividing by one positive number keeps their order, and two different counts
    // below 2³² stay different once divided (their gap, 1/n, is far above a double's spacing).
    if weights.is_none() && row.len() <= SMALL_K && !labels.is_empty() {
        let mut counts = [0u32; SMALL_K];
        for &l in labels {
            counts[l as usize] += 1;
        }
        let n = labels.len() as f64;
        for (r, &c) in row.iter_mut().zip(&counts) {
            *r = f64::from(c) / n;
        }
        return first_largest(&counts[..row.len()]);
    }
    if let Some(weights) = weights
        && row.len() <= SEQUENTIAL_SUM_K
    {
        return match row.len() {
            #[cfg(target_arch = "x86_64")]
            2 => weighted_row_two(workers, labels, weights, row),
            #[cfg(not(target_arch = "x86_64"))]
            2 => weighted_row_small::<2>(workers, labels, weights, row),
            3 => weighted_row_small::<3>(workers, labels, weights, row),
            _ => weighted_row_small::<SEQUENTIAL_SUM_K>(workers, labels, weights, row),
        };
    }
    row.fill(0.0);
    match weights {
        None => {
            for &l in labels {
                row[l as usize] += 1.0;
            }
        }
        Some(weights) => {
            compensation.fill(0.0);
            for (&w, &l) in workers.iter().zip(labels) {
                if let Some(weight) = weights[w as usize] {
                    compensated_add(&mut row[l as usize], &mut compensation[l as usize], weight);
                }
            }
            for (s, c) in row.iter_mut().zip(compensation.iter()) {
                *s += c;
            }
        }
    }
    // ndarray's sum, for its order of additions.
    let sum: f64 = ndarray::ArrayView1::from(&*row).sum();
    if sum == 0.0 {
        row.fill(1.0 / row.len() as f64);
    } else {
        row.iter_mut().for_each(|v| *v /= sum);
    }
    crate::aggregation::argmax(ndarray::ArrayView1::from(&*row))
}

/// Label counts up to which ndarray's `sum` of a row adds its values one after another,
/// starting from 0.0 (its eight lanes take part from eight values on).
const SEQUENTIAL_SUM_K: usize = 7;

/// [`vote_row`]'s weighted path for rows of at most `K` ≤ [`SEQUENTIAL_SUM_K`] labels, in
/// arrays on the stack (of exactly the row's length for the usual two or three labels): the
/// same operations in the same order (Neumaier sums per label, their sum from 0.0 label by
/// label as ndarray's, the division, the first largest), the same bits.
#[inline]
fn weighted_row_small<const K: usize>(
    workers: &[u32],
    labels: &[Label],
    weights: &[Option<f64>],
    row: &mut [f64],
) -> usize {
    let mut sums = [0.0f64; K];
    let mut compensation = [0.0f64; K];
    for (&w, &l) in workers.iter().zip(labels) {
        if let Some(weight) = weights[w as usize] {
            compensated_add(&mut sums[l as usize], &mut compensation[l as usize], weight);
        }
    }
    let mut total = 0.0;
    for ((r, s), c) in row.iter_mut().zip(sums).zip(compensation) {
        *r = s + c;
        total += *r;
    }
    if total == 0.0 {
        row.fill(1.0 / row.len() as f64);
    } else {
        row.iter_mut().for_each(|v| *v /= total);
    }
    crate::aggregation::argmax(ndarray::ArrayView1::from(&*row))
}

/// [`weighted_row_small`] for two labels: the same operations on both labels' sums at once
/// (SSE2, two lanes), each response's sums kept in the lane of its label and the other's left
/// as they were, by masks instead of a branch or an index. With the sums in an array indexed
/// by the label, every answer's update went through memory, and reading both sums back as
/// one vector after two separate stores stalled on the stores (`perf annotate`: a fifth of
/// the vote's time), as the branch of the Neumaier correction did on which term is larger.
/// Lane by lane these are the scalar path's IEEE operations in its order: the same bits.
#[cfg(target_arch = "x86_64")]
#[inline]
fn weighted_row_two(
    workers: &[u32],
    labels: &[Label],
    weights: &[Option<f64>],
    row: &mut [f64],
) -> usize {
    use std::arch::x86_64::{
        __m128d, _mm_add_pd, _mm_and_pd, _mm_andnot_pd, _mm_castsi128_pd, _mm_cmpge_pd, _mm_or_pd,
        _mm_set_epi64x, _mm_set1_epi64x, _mm_set1_pd, _mm_setzero_pd, _mm_storeu_pd, _mm_sub_pd,
    };
    /// `mask ? a : b`, lane by lane.
    #[inline(always)]
    fn select(mask: __m128d, a: __m128d, b: __m128d) -> __m128d {
        // SAFETY: SSE2 is part of x86_64's baseline.
        unsafe { _mm_or_pd(_mm_and_pd(mask, a), _mm_andnot_pd(mask, b)) }
    }
    let mut out = [0.0f64; 2];
    // SAFETY: SSE2 is part of x86_64's baseline; the one store is to a local array of two.
    unsafe {
        // The lane of label 0 (low) or 1 (high), all ones.
        let lanes = [_mm_set_epi64x(0, -1), _mm_set_epi64x(-1, 0)].map(|m| _mm_castsi128_pd(m));
        let magnitude = _mm_castsi128_pd(_mm_set1_epi64x(i64::MAX));
        let (mut sums, mut compensation) = (_mm_setzero_pd(), _mm_setzero_pd());
        for (&w, &l) in workers.iter().zip(labels) {
            let Some(weight) = weights[w as usize] else {
                continue;
            };
            let lane = lanes[usize::from(l)];
            // `compensated_add` on both lanes.
            let term = _mm_set1_pd(weight);
            let next = _mm_add_pd(sums, term);
            let sum_larger = _mm_cmpge_pd(_mm_and_pd(sums, magnitude), _mm_and_pd(term, magnitude));
            let correction = select(
                sum_larger,
                _mm_add_pd(_mm_sub_pd(sums, next), term),
                _mm_add_pd(_mm_sub_pd(term, next), sums),
            );
            compensation = select(lane, _mm_add_pd(compensation, correction), compensation);
            sums = select(lane, next, sums);
        }
        _mm_storeu_pd(out.as_mut_ptr(), _mm_add_pd(sums, compensation));
    }
    let total = 0.0 + out[0] + out[1];
    if total == 0.0 {
        row.fill(0.5);
    } else {
        for (r, s) in row.iter_mut().zip(out) {
            *r = s / total;
        }
    }
    crate::aggregation::argmax(ndarray::ArrayView1::from(&*row))
}

/// Each worker's accuracy against `truth` (crowd-kit's `get_accuracy(by="worker")`): over the
/// worker's responses to tasks that have a truth, with identical (task, worker, label)
/// responses counted once, the fraction equal to the truth. `None` for a worker with no such
/// response.
pub(crate) fn worker_accuracy(data: &Responses, truth: &[Option<Label>]) -> Vec<Option<f64>> {
    accuracy(worker_agreement(data, truth))
}

/// [`worker_accuracy`] against a label for every task.
pub(crate) fn worker_accuracy_on_all(data: &Responses, labels: &[Label]) -> Vec<Option<f64>> {
    accuracy(agreement_with(data, |t| Some(labels[t])))
}

fn accuracy(agreement: Vec<(u64, u64)>) -> Vec<Option<f64>> {
    agreement
        .into_iter()
        .map(|(graded, correct)| (graded > 0).then(|| correct as f64 / graded as f64))
        .collect()
}

/// Per worker, (graded, correct) of [`worker_accuracy`]: integer counts, which add up exactly
/// across shards of tasks (a worker's identical responses share a task, so a shard).
pub(crate) fn worker_agreement(data: &Responses, truth: &[Option<Label>]) -> Vec<(u64, u64)> {
    agreement_with(data, |t| truth[t])
}

/// [`worker_agreement`] with task `t`'s truth given by `truth(t)`. From the worker index if
/// it is built; else from the task index into per-part counts (integers: any split gives the
/// same sums), which spares majority vote and Wawa the worker index, unless the counts would
/// take more room than the responses (many workers, few answers each).
fn agreement_with(
    data: &Responses,
    truth: impl Fn(usize) -> Option<Label> + Sync,
) -> Vec<(u64, u64)> {
    match task_ranges(data) {
        Some(parts) => agreement_by_task(data, truth, parts),
        None => agreement_by_worker(data, truth),
    }
}

/// The ranges of tasks [`agreement_with`] counts over the task index, or `None` when it takes
/// the worker index: built already, or per-range tables larger than the responses.
fn task_ranges(data: &Responses) -> Option<usize> {
    let parts = rayon::current_num_threads().clamp(1, 64);
    (data.by_worker_if_built().is_none()
        && parts.saturating_mul(data.n_workers()) <= data.n_responses())
    .then_some(parts)
}

/// A row's (id, label) pairs, each once: rows are sorted by (id, label), so identical
/// responses are adjacent.
pub(crate) fn distinct_pairs<'a>(
    ids: &'a [u32],
    labels: &'a [Label],
) -> impl Iterator<Item = (u32, Label)> + 'a {
    let mut previous = None;
    ids.iter()
        .copied()
        .zip(labels.iter().copied())
        .filter(move |&pair| previous.replace(pair) != Some(pair))
}

/// [`agreement_with`] over the worker index, a worker per work item.
fn agreement_by_worker(
    data: &Responses,
    truth: impl Fn(usize) -> Option<Label> + Sync,
) -> Vec<(u64, u64)> {
    let by_worker = data.by_worker();
    (0..data.n_workers())
        .into_par_iter()
        .with_min_len(256)
        .map(|w| {
            let (tasks, labels) = by_worker.row(w);
            let mut graded = 0u64;
            let mut correct = 0u64;
            for (t, l) in distinct_pairs(tasks, labels) {
                if let Some(true_label) = truth(t as usize) {
                    graded += 1;
                    correct += u64::from(l == true_label);
                }
            }
            (graded, correct)
        })
        .collect()
}

/// [`agreement_with`] over the task index: `parts` ranges of tasks, each counting into its own
/// per-worker table, then the tables added.
fn agreement_by_task(
    data: &Responses,
    truth: impl Fn(usize) -> Option<Label> + Sync,
    parts: usize,
) -> Vec<(u64, u64)> {
    agreement_by_task_with(data, parts, || &truth)
}

/// [`agreement_by_task`] with each range of tasks asking a truth of its own, made by
/// `range_truth` (which may keep scratch space for the range).
fn agreement_by_task_with<T: FnMut(usize) -> Option<Label>>(
    data: &Responses,
    parts: usize,
    range_truth: impl Fn() -> T + Sync,
) -> Vec<(u64, u64)> {
    let (n_tasks, n_workers) = (data.n_tasks(), data.n_workers());
    let by_task = data.by_task();
    let tables: Vec<Vec<(u64, u64)>> = (0..parts)
        .into_par_iter()
        .map(|p| {
            let mut truth = range_truth();
            let mut table = vec![(0u64, 0u64); n_workers];
            // In u64: `p * n_tasks` overflows a 32-bit usize from ~6.7·10⁷ tasks at 64 parts.
            let bound = |p: usize| (p as u64 * n_tasks as u64 / parts as u64) as usize;
            for t in bound(p)..bound(p + 1) {
                let Some(true_label) = truth(t) else {
                    continue;
                };
                let (workers, labels) = by_task.row(t);
                for (w, l) in distinct_pairs(workers, labels) {
                    let (graded, correct) = &mut table[w as usize];
                    *graded += 1;
                    *correct += u64::from(l == true_label);
                }
            }
            table
        })
        .collect();
    let mut tables = tables.into_iter();
    let mut sum = tables.next().unwrap_or_else(|| vec![(0, 0); n_workers]);
    for table in tables {
        for ((graded, correct), (g, c)) in sum.iter_mut().zip(table) {
            *graded += g;
            *correct += c;
        }
    }
    sum
}

/// [`worker_accuracy_on_all`] of the unweighted majority labels ([`tally_labels`]), each task's
/// label taken as its row is counted: one pass over the task index where the two would take
/// two (the same integer counts, so the same accuracies). Through the worker index, or with
/// more workers per range than answers, the labels first as there.
pub(crate) fn worker_accuracy_on_majority(data: &Responses) -> Vec<Option<f64>> {
    // Counted by the reader as it placed the rows (the same counts).
    if let Some(agreement) = data.majority_agreement_if_counted() {
        return accuracy(agreement.to_vec());
    }
    let Some(parts) = task_ranges(data) else {
        return worker_accuracy_on_all(data, &tally_labels(data, None));
    };
    let k = data.n_labels();
    accuracy(agreement_by_task_with(data, parts, || {
        let (mut row, mut compensation) = (vec![0.0; k], vec![0.0; k]);
        move |t| Some(majority_label(data, t, &mut row, &mut compensation) as Label)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregation::argmax_rows;
    use proptest::prelude::*;

    /// A worker's weight as the skill-weighted votes can see it, the awkward values included.
    fn weight() -> impl Strategy<Value = Option<f64>> {
        prop_oneof![
            Just(None),
            Just(Some(0.0)),
            Just(Some(f64::NAN)),
            Just(Some(f64::INFINITY)),
            Just(Some(f64::NEG_INFINITY)),
            (-2.0..2.0f64).prop_map(Some),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// `tally` against the three passes it replaces (votes, `normalize_rows`,
        /// `argmax_rows`), bit for bit, on more tasks than one work item holds; half the cases
        /// with one to three labels (the rows with paths of their own).
        #[test]
        fn tally_is_the_three_passes(
            seed in any::<u64>(),
            k in prop_oneof![1usize..4, 1usize..20],
            weights in prop::collection::vec(weight(), 1..6),
            weighted in any::<bool>(),
        ) {
            assert_tally_is_the_three_passes(seed, k, &weights, weighted);
        }
    }

    /// The label counts with paths of their own (1–3, up to 7 on stack arrays, 8 on ndarray's
    /// eight lanes), weighted with tied weights and not, every time (the proptest above draws
    /// them only now and then).
    #[test]
    fn tally_is_the_three_passes_at_each_small_label_count() {
        let weights = [Some(0.5), Some(0.5), Some(0.25), None, Some(0.0)];
        for k in [1, 2, 3, 4, 7, 8] {
            for weighted in [false, true] {
                for seed in [1, 7, 12345] {
                    assert_tally_is_the_three_passes(seed, k, &weights, weighted);
                }
            }
        }
        // Two labels (their own two-lane path) with weights whose sums overflow, cancel,
        // are NaN, negative zero or subnormal: the scalar path's bits each time.
        let awkward: [&[Option<f64>]; 4] = [
            &[Some(f64::INFINITY), Some(f64::NAN), Some(0.5), None],
            &[
                Some(f64::NEG_INFINITY),
                Some(f64::INFINITY),
                Some(1e300),
                Some(-1e300),
            ],
            &[Some(0.1), Some(0.2), Some(0.3), Some(-0.0), Some(1e-310)],
            &[Some(-1.5), Some(2.0), Some(0.0), Some(1.0 / 3.0)],
        ];
        for seed in 1..40 {
            for weights in awkward {
                assert_tally_is_the_three_passes(seed, 2, weights, true);
            }
        }
    }

    /// `tally` against the three passes it replaces (votes, `normalize_rows`, `argmax_rows`),
    /// bit for bit, on more tasks than one work item holds.
    fn assert_tally_is_the_three_passes(
        seed: u64,
        k: usize,
        weights: &[Option<f64>],
        weighted: bool,
    ) {
        let n_tasks = TASKS_PER_ITEM + 300;
        let mut state = seed | 1;
        let mut next = |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as i64
        };
        let (mut tasks, mut workers, mut labels) = (Vec::new(), Vec::new(), Vec::new());
        for t in 0..n_tasks {
            for _ in 0..1 + next(4) {
                tasks.push(t as i64);
                workers.push(next(weights.len()));
                labels.push(next(k));
            }
        }
        // Every worker and label occurs, as `from_codes` requires.
        for w in 0..weights.len() {
            tasks.push(0);
            workers.push(w as i64);
            labels.push((w % k) as i64);
        }
        for l in 0..k {
            tasks.push(1);
            workers.push(0);
            labels.push(l as i64);
        }
        let data =
            Responses::from_codes(n_tasks, weights.len(), k, &tasks, &workers, &labels).unwrap();
        let weights = weighted.then_some(weights);
        let votes = match weights {
            Some(w) => weighted_votes(&data, w),
            None => counts(&data),
        };
        let expected = normalize_rows(votes);
        let (expected_labels, expected_confidence) = argmax_rows(&expected);
        let got = tally(&data, weights, true);
        // Bits, except that every NaN is one: a NaN's sign depends on which operation made
        // it (x86 gives inf − inf a negative NaN; a NaN weight passes through as it is), and
        // the order of the operations is the compiler's (release builds made
        // `weights = [inf, NaN]` come out as NaNs of either sign).
        let bits = |v: &[f64]| {
            v.iter()
                .map(|x| if x.is_nan() { f64::NAN } else { *x }.to_bits())
                .collect::<Vec<_>>()
        };
        let probabilities = got.probabilities.expect("kept when asked for");
        assert_eq!(bits(&probabilities), bits(expected.as_slice().unwrap()));
        assert_eq!(&got.labels, &expected_labels);
        assert_eq!(bits(&got.confidence), bits(&expected_confidence));
        // Without the probabilities: the same labels and confidences.
        let lean = tally(&data, weights, false);
        assert!(lean.probabilities.is_none());
        assert_eq!(&lean.labels, &expected_labels);
        assert_eq!(bits(&lean.confidence), bits(&expected_confidence));
        assert_eq!(tally_labels(&data, weights), expected_labels);
        if weights.is_none() {
            // From the label counts: the same bits, with and without probabilities.
            let counts = LabelCounts::from_responses(&data);
            let from_counts = tally_counts(&counts, true);
            let probabilities_from_counts = from_counts.probabilities.expect("asked for");
            assert_eq!(bits(&probabilities_from_counts), bits(&probabilities));
            assert_eq!(&from_counts.labels, &expected_labels);
            assert_eq!(bits(&from_counts.confidence), bits(&expected_confidence));
            let lean = tally_counts(&counts, false);
            assert!(lean.probabilities.is_none());
            assert_eq!(&lean.labels, &expected_labels);
            assert_eq!(bits(&lean.confidence), bits(&expected_confidence));
        }
    }

    /// Wawa's one pass (majority labels taken as the agreement is counted) gives the two
    /// passes' accuracies: the labels of [`tally_labels`], the agreement counted over the
    /// worker index (a path of its own, checked against a direct count below), at 1 to 3
    /// threads (as many ranges of tasks), with labels on the small-array path and beyond it,
    /// and through the fallback once the worker index is built.
    #[test]
    fn accuracy_on_majority_in_one_pass_is_the_two_passes() {
        for k in [2, 3, 20] {
            let (mut tasks, mut workers, mut labels) = (Vec::new(), Vec::new(), Vec::new());
            let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ k as u64;
            let mut next = |bound: usize| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % bound as u64) as i64
            };
            let (n_tasks, n_workers) = (3000, 12);
            for t in 0..n_tasks {
                for _ in 0..1 + next(5) {
                    tasks.push(t as i64);
                    workers.push(next(n_workers));
                    labels.push(next(k).min(next(k))); // label 0 leads: majorities and ties
                }
            }
            for w in 0..n_workers {
                tasks.push(0);
                workers.push(w as i64);
                labels.push(0);
            }
            for l in 0..k {
                tasks.push(1);
                workers.push(0);
                labels.push(l as i64);
            }
            let data =
                Responses::from_codes(n_tasks, n_workers, k, &tasks, &workers, &labels).unwrap();
            // Before the worker index is built (the one pass needs it unbuilt).
            let got: Vec<_> = (1..=3)
                .map(|threads| {
                    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
                    pool.unwrap().install(|| worker_accuracy_on_majority(&data))
                })
                .collect();
            assert!(data.by_worker_if_built().is_none());
            let majority = tally_labels(&data, None);
            let expected = accuracy(agreement_by_worker(&data, |t| Some(majority[t])));
            for (threads, got) in (1..).zip(got) {
                assert_eq!(got, expected, "k = {k}, {threads} threads");
            }
            assert!(data.by_worker_if_built().is_some());
            assert_eq!(
                worker_accuracy_on_majority(&data),
                expected,
                "k = {k}, fallback"
            );
            // The same rows grouped by task in a file: the reader counts the agreement as it
            // places them (up to 16 labels), and it is the two passes' on what it read.
            let mut order: Vec<usize> = (0..tasks.len()).collect();
            order.sort_by_key(|&i| tasks[i]);
            let mut csv = String::from("task,worker,label\n");
            for i in order {
                csv += &format!("t{},w{},l{}\n", tasks[i], workers[i], labels[i]);
            }
            let dir =
                std::env::temp_dir().join(format!("crowdagg-agree-{}-{k}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("grouped.csv");
            std::fs::write(&path, csv).unwrap();
            let read = crate::io::read_responses(&path, &Default::default()).unwrap();
            std::fs::remove_dir_all(&dir).unwrap();
            assert_eq!(read.majority_agreement_if_counted().is_some(), k <= SMALL_K);
            let got = worker_accuracy_on_majority(&read);
            let majority = tally_labels(&read, None);
            let expected = accuracy(agreement_by_worker(&read, |t| Some(majority[t])));
            assert_eq!(got, expected, "k = {k}, as read");
        }
    }

    #[test]
    fn compensated_sum_is_order_free() {
        // 0.1 + 0.2 + 0.3 in two orders differ in plain floating point.
        let data =
            Responses::from_triples([("t", "a", "x"), ("t", "b", "x"), ("t", "c", "x")]).unwrap();
        let forward = weighted_votes(&data, &[Some(0.1), Some(0.2), Some(0.3)]);
        let backward = weighted_votes(&data, &[Some(0.3), Some(0.2), Some(0.1)]);
        assert_eq!(forward[[0, 0]], backward[[0, 0]]);
        assert_eq!(forward[[0, 0]], 0.6);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Agreement counted from the task index (any number of parts) is the worker index's,
        /// and both are a direct count over the distinct (task, worker, label) responses.
        #[test]
        fn agreement_by_task_is_agreement_by_worker(
            rows in prop::collection::vec((0i64..40, 0i64..7, 0i64..3), 1..300),
            truth in prop::collection::vec(prop::option::of(0u16..3), 40),
            parts in 1usize..5,
        ) {
            let (tasks, workers, labels): (Vec<i64>, Vec<i64>, Vec<i64>) = rows
                .iter()
                .map(|&(t, w, l)| (t, w, l))
                .fold((vec![], vec![], vec![]), |(mut a, mut b, mut c), (t, w, l)| {
                    a.push(t);
                    b.push(w);
                    c.push(l);
                    (a, b, c)
                });
            // Only tasks, workers and labels that occur (every code must).
            let renumber = |codes: &[i64]| {
                let mut seen: Vec<i64> = codes.to_vec();
                seen.sort_unstable();
                seen.dedup();
                let mapped: Vec<i64> =
                    codes.iter().map(|c| seen.binary_search(c).unwrap() as i64).collect();
                (seen.len(), mapped)
            };
            let ((nt, tasks), (nw, workers), (nl, labels)) =
                (renumber(&tasks), renumber(&workers), renumber(&labels));
            let data = Responses::from_codes(nt, nw, nl, &tasks, &workers, &labels).unwrap();
            let truth_of = |t: usize| truth[t].filter(|&l| (l as usize) < nl);
            let mut distinct: Vec<(i64, i64, i64)> = tasks
                .iter()
                .zip(&workers)
                .zip(&labels)
                .map(|((&t, &w), &l)| (t, w, l))
                .collect();
            distinct.sort_unstable();
            distinct.dedup();
            let mut expected = vec![(0u64, 0u64); nw];
            for (t, w, l) in distinct {
                if let Some(y) = truth_of(t as usize) {
                    expected[w as usize].0 += 1;
                    expected[w as usize].1 += u64::from(l as u16 == y);
                }
            }
            prop_assert!(data.by_worker_if_built().is_none());
            prop_assert_eq!(&agreement_by_task(&data, truth_of, parts), &expected);
            prop_assert!(data.by_worker_if_built().is_none());
            prop_assert_eq!(&agreement_by_worker(&data, truth_of), &expected);
            prop_assert!(data.by_worker_if_built().is_some());
            prop_assert_eq!(&agreement_with(&data, truth_of), &expected);
        }
    }
}
