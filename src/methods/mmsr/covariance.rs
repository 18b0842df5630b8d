//! M-MSR's worker covariance, stored only where it is observed.
//!
//! crowd-kit's covariance is a dense W × W matrix, but only pairs of workers who share a task
//! carry information: every other entry (the diagonal included) is the same constant,
//! −1/(M−1). Here C is kept as compressed sparse rows over the co-worker pairs: row i lists
//! the workers j ≠ i with N_ij > 0, in increasing order, with C_ij; the constant is implied.
//! Memory is 12 bytes per ordered co-worker pair (a `u32` column and an `f64` value) instead of
//! crowd-kit's 8·W² bytes (this crate's earlier dense version held ≈ 40·W² bytes at its peak).
//!
//! The rows are built from the by-worker and by-task indexes of [`Responses`]: for worker i,
//! every task t it answered and every other worker j of t, counting common tasks and equal
//! labels in a W-long scratch row (Σ_t |t|² work in all). A first pass counts each row's
//! distinct co-workers so that the arrays are allocated once at their final size; each row is
//! computed by one task, so the result does not depend on the thread count.

use rayon::prelude::*;

use crate::numeric::prefetch::prefetch;
use crate::numeric::sum::numpy_sum;
use crate::responses::{Csr, Label, Responses};

/// The covariance C on co-worker pairs (see the module comment).
pub(super) struct Covariance {
    n_workers: usize,
    /// Row i spans `offsets[i]..offsets[i + 1]` of `columns` and `values`.
    offsets: Vec<usize>,
    columns: Vec<u32>,
    values: Vec<f64>,
    /// C_ij where i and j share no task, and C_ii: −1/(M−1).
    background: f64,
}

/// How many of a worker's tasks ahead the by-task rows are prefetched.
const AHEAD: usize = 4;

/// Rows handled by one parallel task while building.
const ROWS_PER_TASK: usize = 64;

impl Covariance {
    pub(super) fn new(data: &Responses) -> Self {
        let w = data.n_workers();
        let m = data.n_labels() as f64;
        let (by_task, by_worker) = (data.by_task(), data.by_worker());
        // Pass 1: each row's number of co-workers.
        let counts: Vec<usize> = (0..w)
            .into_par_iter()
            .with_min_len(ROWS_PER_TASK)
            .map_init(
                || Scratch::new(w),
                |scratch, i| {
                    scratch.count(i, by_task, by_worker);
                    scratch.touched.len()
                },
            )
            .collect();
        let mut offsets = Vec::with_capacity(w + 1);
        offsets.push(0usize);
        for &c in &counts {
            offsets.push(offsets.last().unwrap() + c);
        }
        drop(counts);
        let nnz = offsets[w];
        let mut columns = vec![0u32; nnz];
        let mut values = vec![0f64; nnz];
        // Pass 2: the rows, in groups of ROWS_PER_TASK, each group writing its own slices.
        let mut groups: Vec<(usize, &mut [u32], &mut [f64])> = Vec::new();
        {
            let (mut cols, mut vals) = (&mut columns[..], &mut values[..]);
            for start in (0..w).step_by(ROWS_PER_TASK) {
                let end = (start + ROWS_PER_TASK).min(w);
                let len = offsets[end] - offsets[start];
                let (c, rest_c) = std::mem::take(&mut cols).split_at_mut(len);
                let (v, rest_v) = std::mem::take(&mut vals).split_at_mut(len);
                groups.push((start, c, v));
                (cols, vals) = (rest_c, rest_v);
            }
        }
        // The same operations as crowd-kit, in the same order, for the same rounding.
        let scale = m / (m - 1.0);
        let shift = 1.0 / (m - 1.0);
        groups.into_par_iter().for_each_init(
            || Scratch::new(w),
            |scratch, (start, cols, vals)| {
                let end = (start + ROWS_PER_TASK).min(w);
                let mut at = 0;
                for i in start..end {
                    scratch.count(i, by_task, by_worker);
                    scratch.touched.sort_unstable();
                    for &j in &scratch.touched {
                        let (n, a) = (scratch.common[j as usize], scratch.agree[j as usize]);
                        cols[at] = j;
                        vals[at] = (a as f64 / n as f64) * scale - shift;
                        at += 1;
                    }
                }
            },
        );
        Self {
            n_workers: w,
            offsets,
            columns,
            values,
            background: 0.0 * scale - shift,
        }
    }

    pub(super) fn n_workers(&self) -> usize {
        self.n_workers
    }

    /// Worker i's co-workers (increasing) and C_ij for each.
    #[inline]
    pub(super) fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let range = self.offsets[i]..self.offsets[i + 1];
        (&self.columns[range.clone()], &self.values[range])
    }

    /// F = ⌊sparsity/2⌋ − 1, sparsity = the fewest co-workers of any worker (−1 when some
    /// worker shares no task with anyone).
    pub(super) fn trim_count(&self) -> i64 {
        let sparsity = self
            .offsets
            .windows(2)
            .map(|r| r[1] - r[0])
            .min()
            .unwrap_or(0) as i64;
        sparsity / 2 - 1
    }

    /// Whether numpy's sum of row i of the dense matrix (`np.sum(C, axis=1)`, crowd-kit's test
    /// for the sign step) is not zero, with the dense row's exact rounding.
    pub(super) fn row_sum_is_nonzero(&self, i: usize) -> bool {
        let (cols, vals) = self.row(i);
        let w = self.n_workers;
        // Certain without numpy's order when the sum is far from 0 compared with the rounding
        // error of any order of summation (≤ (W − 1)·ε·Σ|c|, far below 10⁻⁸·Σ|c| here).
        let rest = (w - cols.len()) as f64;
        let sum = vals.iter().sum::<f64>() + rest * self.background;
        let magnitude = vals.iter().map(|v| v.abs()).sum::<f64>() + rest * self.background.abs();
        if sum.abs() > 1e-8 * magnitude {
            return true;
        }
        let mut constant = ConstantSums::new(self.background);
        implicit_numpy_sum(0, w, cols, vals, &mut constant) != 0.0
    }

    /// C_ij for the pairs that share no task, and C_ii.
    #[cfg(test)]
    pub(super) fn background(&self) -> f64 {
        self.background
    }
}

/// One worker's row under construction: common tasks and equal labels per co-worker.
struct Scratch {
    common: Vec<u32>,
    agree: Vec<u32>,
    touched: Vec<u32>,
}

impl Scratch {
    fn new(w: usize) -> Self {
        Self {
            common: vec![0; w],
            agree: vec![0; w],
            touched: Vec::new(),
        }
    }

    /// Counts worker i's common tasks and agreements with each co-worker into `common` and
    /// `agree` (cleared first for the previous row), its co-workers into `touched`, unordered.
    /// Several answers of one worker to one task: the last in (worker, label) order, i.e. the
    /// largest label, as the dense version did.
    fn count(&mut self, i: usize, by_task: &Csr, by_worker: &Csr) {
        for &j in &self.touched {
            self.common[j as usize] = 0;
            self.agree[j as usize] = 0;
        }
        self.touched.clear();
        let (tasks, labels) = by_worker.row(i);
        for (p, (&t, &li)) in tasks.iter().zip(labels).enumerate() {
            // Task rows are scattered over the by-task index: ask for them a few tasks ahead.
            if let Some(&ahead) = tasks.get(p + 2 * AHEAD) {
                prefetch(by_task.offsets(), ahead as usize);
            }
            if let Some(&ahead) = tasks.get(p + AHEAD) {
                let start = by_task.offsets()[ahead as usize] as usize;
                prefetch(by_task.ids(), start);
                prefetch(by_task.labels(), start);
            }
            if tasks.get(p + 1) == Some(&t) {
                continue;
            }
            let (workers, task_labels) = by_task.row(t as usize);
            for (q, (&j, &lj)) in workers.iter().zip(task_labels).enumerate() {
                if j as usize == i || workers.get(q + 1) == Some(&j) {
                    continue;
                }
                let slot = j as usize;
                if self.common[slot] == 0 {
                    self.touched.push(j);
                }
                self.common[slot] += 1;
                self.agree[slot] += u32::from(agrees(li, lj));
            }
        }
    }
}

#[inline]
fn agrees(a: Label, b: Label) -> bool {
    a == b
}

/// numpy's pairwise sums of runs of the constant, by length (a run's sum depends only on it).
struct ConstantSums {
    value: f64,
    known: Vec<(usize, f64)>,
}

impl ConstantSums {
    fn new(value: f64) -> Self {
        Self {
            value,
            known: Vec::new(),
        }
    }

    fn sum(&mut self, n: usize) -> f64 {
        if let Some(&(_, s)) = self.known.iter().find(|(len, _)| *len == n) {
            return s;
        }
        let s = if n <= 128 {
            numpy_sum(&vec![self.value; n])
        } else {
            let half = n / 2 - (n / 2) % 8;
            self.sum(half) + self.sum(n - half)
        };
        self.known.push((n, s));
        s
    }
}

/// `numpy_sum` of positions `start..end` of a row that holds `vals` at `cols` and the constant
/// elsewhere, following numpy's blocks without materialising the row.
fn implicit_numpy_sum(
    start: usize,
    end: usize,
    cols: &[u32],
    vals: &[f64],
    constant: &mut ConstantSums,
) -> f64 {
    let n = end - start;
    if cols.is_empty() {
        return constant.sum(n);
    }
    if n <= 128 {
        let mut block = [constant.value; 128];
        for (&c, &v) in cols.iter().zip(vals) {
            block[c as usize - start] = v;
        }
        return numpy_sum(&block[..n]);
    }
    let half = n / 2 - (n / 2) % 8;
    let split = cols.partition_point(|&c| (c as usize) < start + half);
    implicit_numpy_sum(
        start,
        start + half,
        &cols[..split],
        &vals[..split],
        constant,
    ) + implicit_numpy_sum(start + half, end, &cols[split..], &vals[split..], constant)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numeric::numpy_random::RandomState;

    #[test]
    fn implicit_sum_equals_the_dense_sum() {
        let mut rng = RandomState::new(3);
        for case in 0..300 {
            let w = 1 + case * 7 % 1500;
            let background = -1.0 / (1.0 + (case % 4) as f64);
            let mut dense = vec![background; w];
            let mut cols = Vec::new();
            let mut vals = Vec::new();
            for (j, slot) in dense.iter_mut().enumerate() {
                if rng.random_sample() < 0.05 {
                    let v = rng.random_sample() * 2.0 - 1.0;
                    *slot = v;
                    cols.push(j as u32);
                    vals.push(v);
                }
            }
            let mut constant = ConstantSums::new(background);
            let implicit = implicit_numpy_sum(0, w, &cols, &vals, &mut constant);
            assert_eq!(
                implicit.to_bits(),
                numpy_sum(&dense).to_bits(),
                "case {case}"
            );
        }
    }
}
