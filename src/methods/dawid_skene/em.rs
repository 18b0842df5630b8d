//! The EM engine shared by `DawidSkene` and `OneCoinDawidSkene`.
//!
//! # Passes
//! One iteration is two passes over the data:
//! * the **task pass** (parallel over fixed chunks of tasks, each task owning its posterior row,
//!   reading `by_task`) does the E-step, the gold correction, the partial sums of the new
//!   priors and of the entropy of the new posterior, *and* the joint-expectation term of the
//!   previous iteration's ELBO — that term needs Σ_r ln e over the task's responses, which is
//!   the E-step's own sum (times ln 2), and the posterior of the previous iteration, kept in a
//!   second buffer;
//! * the **worker pass** (parallel over workers, each owning its K×K matrix) does the M-step
//!   and refreshes the log2 confusion table. When the task pass counted the M-step statistics
//!   in block tables (fused, the default above small sizes) it sums those; otherwise it reads
//!   `by_worker`, the worker index, which a fused fit builds only for a first M-step from
//!   initial error matrices ([`super::initial_errors`]).
//!
//! So the ELBO of iteration i is known one task pass later; the stop test runs then, and the
//! outputs are taken from the buffers of iteration i (the extra posterior is discarded). When
//! the stop is sure before that pass (the last allowed iteration, or an ELBO estimated from the
//! M-step's counts whose gain is below `tol` by a wide margin, so the stop fires:
//! [`Em::surely_stops`]), the pass
//! computes the ELBO's joint term only — the same bits — and skips the E-step and the counts;
//! a wrong guess runs the pass again in full.
//!
//! # Determinism
//! Every sum runs in a fixed order: within a task or worker in CSR (canonical) order; across
//! tasks, per fixed-size chunk (boundaries independent of the thread count) into a partials
//! buffer, then the chunks sequentially. Results are bit-identical for any number of threads
//! and any input row order.
//!
//! # Allocation
//! All buffers are allocated once in [`Em::new`]; the iteration loop allocates nothing.

use std::borrow::Cow;
use std::f64::consts::LN_2;

use rayon::prelude::*;

use crate::aggregation::{IterationLoop, StopReason};
use crate::responses::{Label, Responses};

use super::lanes::{LANES, Lane, Tail};
use crate::numeric::prefetch::prefetch;
use crate::numeric::simd::Isa;
use crate::numeric::special::{Exp2, Ln};

/// Runs `$body` with `$K` bound to the label count, as a constant for the common small counts
/// (so the per-response loops over labels are unrolled) and as a variable otherwise.
macro_rules! dispatch_k {
    ($k:expr, |$K:ident| $body:block) => {
        dispatch_k!(@unrolled [2, 3, 4, 5] $k, |$K| $body)
    };
    (@unrolled [$($n:literal),+] $k:expr, |$K:ident| $body:block) => {
        match $k {
            $($n => {
                const $K: usize = $n;
                $body
            })+
            _ => {
                #[allow(non_snake_case)]
                let $K: usize = $k;
                $body
            }
        }
    };
}

/// crowd-kit's `_EPS`: the floor of counts, priors, error-matrix entries and output posteriors.
pub(crate) const EPS: f64 = 1e-10;

/// ln(EPS): the entropy term of a clipped zero.
pub(crate) const LN_EPS: f64 = -23.025850929940457;

/// Length of a chunk's slot in `Em::partials`: K prior sums, joint, Σ q ln q.
pub(crate) const fn stride(k: usize) -> usize {
    k + 2
}

/// Tasks per chunk of the task pass. Fixed, so that partial sums do not depend on threads.
pub(crate) const TASK_CHUNK: usize = 512;

/// Tasks of a group: the task pass gathers the sums of a group, then runs the softmax tail on
/// it four tasks at a time ([`lanes`](super::lanes)), then adds the group's counts.
const GROUP_TASKS: usize = 64;

/// Labels summed per pass over a task's responses (the sums stay in registers).
const ACC_WIDTH: usize = 8;

/// Label counts up to which the lane buffers of the tail live on the stack (beyond, one small
/// allocation per chunk of tasks).
const STACK_LABELS: usize = 64;

/// How many answers ahead a worker's pass over its tasks prefetches their posterior rows.
const PREFETCH_AHEAD: usize = 16;

/// How many responses ahead the task pass prefetches table rows (≈ 6 tasks of 10 answers).
/// At 10⁸ answers (a 12.8 MB log2 table and 12.8 MB count tables, which miss the L2 cache and
/// share the L3 cache with the other core) the fit's CPU time fell as the distance grew to 64
/// and stayed flat to 128 (session 10, under load: 16 → 64 took ≈ 1.5 s of ≈ 7.6 CPU-s).
const TABLE_PREFETCH_AHEAD: usize = 64;

/// Labels up to which a table row (K f64 at a 16-byte aligned start, as the allocator gives)
/// never straddles two 64-byte cache lines, so one prefetch covers it.
const ROW_IN_ONE_LINE: usize = 2;

/// Size of a W × K × K table above which the task pass prefetches its rows: below it the log
/// and count tables stay in the L2 cache and the prefetches only cost instructions.
const PREFETCH_TABLE_BYTES: usize = 256 * 1024;

/// Relative margin of [`Em::surely_stops`]: the estimated and the exact joint term are the same
/// sum of non-positive terms in two orders, so they differ by ≈ n·2⁻⁵³ of its magnitude at
/// worst for n terms per partial sum — below 1e-8 unless one worker or chunk sums ~10⁸
/// answers. A guess that rounding makes wrong costs one more pass, never a bit: the exact ELBO
/// decides.
const STOP_MARGIN: f64 = 1e-8;

/// Workers per rayon job at least, in the worker pass (workers are small and skewed in size).
const WORKER_MIN_LEN: usize = 16;

/// Which confusion model the worker pass fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Model {
    /// A full K×K confusion matrix per worker.
    Full,
    /// One skill per worker: e[k][c] = s if k = c else (1 − s)/(K − 1), clipped.
    OneCoin,
}

/// What the loop needs to know about crowd-kit's quirks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flavour {
    pub model: Model,
    /// ELBO prior term counted once per response (crowd-kit) instead of once per task.
    pub prior_per_response: bool,
    /// Entropy of max(q, EPS) (crowd-kit) instead of the exact entropy of q.
    pub clipped_entropy: bool,
}

/// How the task pass groups chunks of tasks into blocks that count the M-step statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Blocking {
    /// The `blocks` performance knob (`None`: chosen from the data size; fewer than 2: no
    /// fusion, a separate pass over workers).
    Auto(Option<usize>),
    /// Always fused, one block per shard of [`crate::shard::plan`]`(n_tasks, P)` (the
    /// `shards` parameter, and each shard of a distributed run, as `Shards(1)`).
    Shards(usize),
}

/// Buffers and data of one fit.
pub(crate) struct Em<'a> {
    /// Borrowed in a single-machine fit; owned by a [`crate::shard::Shard`].
    data: Cow<'a, Responses>,
    k: usize,
    flavour: Flavour,
    gold: Option<Cow<'a, [Option<Label>]>>,
    /// Posterior of the current iteration, tasks × K.
    pub q: Vec<f64>,
    /// Posterior being computed by the task pass.
    q_next: Vec<f64>,
    /// Per worker, K × K, [observed][true]; rows never observed by the worker stay 0.
    pub errors: Vec<f64>,
    /// log2 of `errors` (unobserved rows: unused).
    log2_errors: Vec<f64>,
    /// Per worker × K: whether the worker gave that label at least once.
    observed: Vec<bool>,
    /// Per worker, how many answers it gave (the one-coin model only; else empty).
    answers: Vec<usize>,
    /// One-coin skills, per worker.
    pub skills: Vec<f64>,
    /// Mean of `q` over tasks (unclipped).
    pub priors: Vec<f64>,
    log2_priors: Vec<f64>,
    ln_priors: Vec<f64>,
    /// Per chunk of tasks: K prior sums, the joint term, Σ q ln q.
    partials: Vec<f64>,
    /// Chunks per block when the task pass also counts (fused M-step), else 0.
    chunks_per_block: usize,
    /// Per block of tasks, the W × K × K counts of the posterior the task pass computed.
    block_counts: Vec<f64>,
    /// Per worker, from the last M-step: Σ_{y,c} n[y][c]·log2 e[y][c], then Σ_y n[y][c] for
    /// each c (K + 1 values): the joint term of the current posterior's ELBO, summed by worker
    /// instead of by task ([`Em::surely_stops`]).
    worker_joint: Vec<f64>,
    /// `worker_joint` summed over workers.
    joint_sums: Vec<f64>,
    /// Relative margin by which an estimated ELBO must be below the stop threshold for the next
    /// task pass to be made ELBO-only ([`Em::surely_stops`]); `None`: every pass in full, the
    /// engine without the guess (the tests' reference; they also move the margin to ±∞).
    stop_margin: Option<f64>,
    /// ELBO-only task passes run, and those redone in full (seen by the tests).
    #[cfg(test)]
    passes: PassCounts,
    exp2: Exp2,
    ln: Ln,
    /// Which build of the tail runs (AVX2 or baseline: the same bits).
    isa: Isa,
    /// Whether the task pass prefetches table rows (only pays when they miss the L2 cache).
    prefetch_rows: bool,
}

/// What one task pass returns (sums over all tasks, in chunk order).
struct TaskPass {
    /// Σ_t Σ_c q_prev[t,c]·(Σ_{r∈t} ln e[w,y,c] + m_t·ln max(p_c, EPS)).
    joint_prev: f64,
    /// Σ_t Σ_c q̃ ln q̃ of the new posterior.
    neg_entropy_next: f64,
}

/// Task passes of a fit that the tests count.
#[cfg(test)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct PassCounts {
    /// Passes that computed the ELBO only.
    elbo_only: usize,
    /// ELBO-only passes whose guess was wrong, run again in full.
    redone: usize,
}

impl<'a> Em<'a> {
    /// `blocking`: see [`Blocking`] and [`choose_blocks`].
    pub fn new(
        data: Cow<'a, Responses>,
        flavour: Flavour,
        gold: Option<Cow<'a, [Option<Label>]>>,
        blocking: Blocking,
    ) -> Self {
        let k = data.n_labels();
        let (n_tasks, n_workers) = (data.n_tasks(), data.n_workers());
        let (observed, answers) = worker_labels(&data, flavour.model == Model::OneCoin);
        let n_chunks = n_tasks.div_ceil(TASK_CHUNK);
        let table = n_workers * k * k;
        let (chunks_per_block, n_blocks) = match blocking {
            Blocking::Auto(blocks) => {
                let blocks = blocks
                    .unwrap_or_else(|| choose_blocks(data.n_responses(), table))
                    .min(n_chunks);
                if blocks >= 2 {
                    let per_block = n_chunks.div_ceil(blocks);
                    (per_block, n_chunks.div_ceil(per_block))
                } else {
                    (0, 0)
                }
            }
            Blocking::Shards(shards) => {
                let per_block = chunks_per_shard(n_chunks, shards);
                (per_block, n_chunks.div_ceil(per_block))
            }
        };
        Self {
            data,
            k,
            flavour,
            gold,
            q: vec![0.0; n_tasks * k],
            q_next: vec![0.0; n_tasks * k],
            errors: vec![0.0; n_workers * k * k],
            log2_errors: vec![0.0; n_workers * k * k],
            observed,
            answers,
            skills: vec![0.0; n_workers],
            priors: vec![0.0; k],
            log2_priors: vec![0.0; k],
            ln_priors: vec![0.0; k],
            partials: vec![0.0; n_tasks.div_ceil(TASK_CHUNK) * stride(k)],
            chunks_per_block,
            block_counts: vec![0.0; n_blocks * n_workers * k * k],
            // Sized by the first M-step: a shard's engine never runs one.
            worker_joint: Vec::new(),
            joint_sums: vec![0.0; k + 1],
            stop_margin: Some(STOP_MARGIN),
            #[cfg(test)]
            passes: PassCounts::default(),
            exp2: Exp2::new(),
            ln: Ln::new(),
            isa: Isa::detect(),
            prefetch_rows: table * std::mem::size_of::<f64>() > PREFETCH_TABLE_BYTES,
        }
    }

    pub fn k(&self) -> usize {
        self.k
    }

    pub fn observed(&self) -> &[bool] {
        &self.observed
    }

    /// q ← majority-vote shares (duplicates count), gold correction, priors ← mean q; when the
    /// M-step is fused, also the block counts of that q, so that [`Em::m_step`] needs no pass
    /// over workers (whose reads of q are scattered).
    pub fn init_majority_vote(&mut self) {
        let k = self.k;
        dispatch_k!(k, |K| {
            let by_task = self.data.by_task();
            let (all_workers, all_labels) = (by_task.ids(), by_task.labels());
            let (gold, prefetch_rows) = (self.gold.as_deref(), self.prefetch_rows);
            let chunk_init = |chunk: usize,
                              rows: &mut [f64],
                              partial: &mut [f64],
                              mut counts: Option<&mut [f64]>| {
                partial.fill(0.0);
                for (i, row) in rows.chunks_exact_mut(K).enumerate() {
                    let t = chunk * TASK_CHUNK + i;
                    let range = by_task.range(t);
                    let (workers, labels) =
                        (&all_workers[range.clone()], &all_labels[range.clone()]);
                    row.fill(0.0);
                    for &y in labels {
                        row[y as usize] += 1.0;
                    }
                    let n = labels.len() as f64;
                    row.iter_mut().for_each(|v| *v /= n);
                    correct_with_gold(row, gold.and_then(|g| g[t]));
                    for (s, &v) in partial.iter_mut().zip(row.iter()) {
                        *s += v;
                    }
                    let Some(counts) = counts.as_deref_mut() else {
                        continue;
                    };
                    if prefetch_rows {
                        prefetch_rows_ahead(counts, all_workers, all_labels, range, K);
                    }
                    add_counts(counts, workers, labels, row, K);
                }
            };
            let table = self.skills.len() * K * K;
            for_each_chunk(
                &mut self.q,
                &mut self.partials,
                &mut self.block_counts,
                (K, self.chunks_per_block, table),
                chunk_init,
            );
        });
        self.priors_from_partials();
    }

    /// Raw counts n[w][k][c] = Σ_{r of w with label k} q[t(r)][c] into `errors` (for the
    /// initial M-step with initial error matrices, which post-processes them itself).
    pub fn counts_into_errors(&mut self) {
        let (k, q, by_worker) = (self.k, &self.q, self.data.by_worker());
        self.errors
            .par_chunks_mut(k * k)
            .with_min_len(WORKER_MIN_LEN)
            .enumerate()
            .for_each(|(w, matrix)| accumulate_counts(matrix, by_worker.row(w), q, k));
    }

    /// log2 table from `errors` after the caller normalised them (initial M-step).
    pub fn refresh_log_table(&mut self) {
        for (l, &e) in self.log2_errors.iter_mut().zip(&self.errors) {
            *l = e.log2();
        }
    }

    /// The M-step of the model on the current posterior: counts (from the block tables of
    /// the pass that computed `q`: a task pass or the majority-vote initialisation; or by a pass
    /// over workers when not fused), then the model's update.
    pub fn m_step(&mut self) {
        let from_blocks = self.chunks_per_block > 0;
        let k = self.k;
        dispatch_k!(k, |K| {
            // The worker index only when the counts need a pass over workers: the fused
            // M-step reads the block tables, and building the index costs a counting sort of
            // every answer (≈ 0.6 s at 10⁸).
            let by_worker = (!from_blocks).then(|| self.data.by_worker());
            self.worker_joint.resize(self.skills.len() * (K + 1), 0.0);
            let (q, observed, answers) = (&self.q, &self.observed, &self.answers);
            let worker_joint = self.worker_joint.par_chunks_mut(K + 1);
            let (model, blocks, table) = (
                self.flavour.model,
                &self.block_counts,
                self.skills.len() * K * K,
            );
            self.errors
                .par_chunks_mut(K * K)
                .zip(self.log2_errors.par_chunks_mut(K * K))
                .zip(self.skills.par_iter_mut())
                .zip(worker_joint)
                .with_min_len(WORKER_MIN_LEN)
                .enumerate()
                .for_each(|(w, (((matrix, log2s), skill), joint))| {
                    match by_worker {
                        None => {
                            matrix.fill(0.0);
                            for block in blocks.chunks_exact(table) {
                                let block = &block[w * K * K..][..K * K];
                                for (m, &b) in matrix.iter_mut().zip(block) {
                                    *m += b;
                                }
                            }
                        }
                        Some(by_worker) => accumulate_counts(matrix, by_worker.row(w), q, K),
                    }
                    // The raw counts wait in `log2s` for the joint term below.
                    log2s.copy_from_slice(matrix);
                    let seen = &observed[w * K..][..K];
                    match model {
                        Model::Full => normalise_columns(matrix, seen, K),
                        Model::OneCoin => {
                            *skill = one_coin(matrix, seen, answers[w], K);
                        }
                    }
                    joint.fill(0.0);
                    for (y, (log2_row, e_row)) in log2s
                        .chunks_exact_mut(K)
                        .zip(matrix.chunks_exact(K))
                        .enumerate()
                    {
                        for (c, (l, &e)) in log2_row.iter_mut().zip(e_row).enumerate() {
                            let (n, log2_e) = (*l, e.log2());
                            *l = log2_e;
                            // Rows the worker never gave hold n = 0 and e = 0.
                            if seen[y] {
                                joint[0] += n * log2_e;
                                joint[1 + c] += n;
                            }
                        }
                    }
                });
        });
    }

    /// One task pass: E-step into `q_next` (with the current priors and errors), gold
    /// correction, partial sums; the joint term of the ELBO of the current `q`. Not `full`:
    /// the joint term only (its bits as in a full pass; the rest of `q_next`, the partials and
    /// the block counts are left unusable).
    fn task_pass(&mut self, full: bool) -> TaskPass {
        let k = self.k;
        for c in 0..k {
            let p = self.priors[c].max(EPS);
            self.log2_priors[c] = p.log2();
            self.ln_priors[c] = p.ln();
        }
        dispatch_k!(k, |K| {
            let by_task = self.data.by_task();
            let (all_workers, all_labels) = (by_task.ids(), by_task.labels());
            let prefetch_rows = self.prefetch_rows;
            let tail = Tail {
                exp2: &self.exp2,
                ln: &self.ln,
                clipped_entropy: self.flavour.clipped_entropy,
                isa: self.isa,
            };
            let (gold, flavour) = (self.gold.as_deref(), self.flavour);
            let (q_prev, log2_errors) = (&self.q, &self.log2_errors);
            let (log2_priors, ln_priors) = (&self.log2_priors, &self.ln_priors);
            // One chunk of tasks: E-step rows, partial sums, and (fused) counts, a group of
            // tasks at a time (see GROUP_TASKS).
            let chunk_pass = |chunk: usize,
                              rows: &mut [f64],
                              partial: &mut [f64],
                              mut counts: Option<&mut [f64]>| {
                partial.fill(0.0);
                let (prior_sums, sums) = partial.split_at_mut(K);
                let (mut joint, mut neg_entropy) = (0.0, 0.0);
                let mut lanes_on_stack = [[0.0; LANES]; 2 * STACK_LABELS];
                let mut lanes_on_heap;
                let lanes: &mut [Lane] = if K <= STACK_LABELS {
                    &mut lanes_on_stack
                } else {
                    lanes_on_heap = vec![[0.0; LANES]; 2 * K];
                    &mut lanes_on_heap
                };
                let (d, q) = lanes.split_at_mut(K);
                let mut maxima = [0.0; GROUP_TASKS];
                for (g, rows) in rows.chunks_mut(GROUP_TASKS * K).enumerate() {
                    let first = chunk * TASK_CHUNK + g * GROUP_TASKS;
                    let n = rows.len() / K;
                    // (a) Σ_r log2 e[w(r), y(r), ·], the joint term of the previous
                    // posterior (the same sums, in nats), then + log2 p and the maximum.
                    for (i, row) in rows.chunks_exact_mut(K).enumerate() {
                        let row = &mut row[..K];
                        let t = first + i;
                        let range = by_task.range(t);
                        if prefetch_rows {
                            prefetch_rows_ahead(
                                log2_errors,
                                all_workers,
                                all_labels,
                                range.clone(),
                                K,
                            );
                            // The count rows (c) adds to, asked for now: their misses overlap
                            // those of the log2 rows and the tail's work, and (c) finds them in
                            // cache (a group's rows are ~40 KB).
                            if let Some(counts) = counts.as_deref() {
                                prefetch_rows_ahead(
                                    counts,
                                    all_workers,
                                    all_labels,
                                    range.clone(),
                                    K,
                                );
                            }
                        }
                        let (workers, labels) = (&all_workers[range.clone()], &all_labels[range]);
                        // In registers, ACC_WIDTH labels at a time (one pass for K ≤ 8).
                        for first_label in (0..K).step_by(ACC_WIDTH) {
                            let width = (K - first_label).min(ACC_WIDTH);
                            let mut acc = [0.0; ACC_WIDTH];
                            for (&w, &y) in workers.iter().zip(labels) {
                                let at = (w as usize * K + y as usize) * K + first_label;
                                for (a, &l) in acc.iter_mut().zip(&log2_errors[at..][..width]) {
                                    *a += l;
                                }
                            }
                            row[first_label..][..width].copy_from_slice(&acc[..width]);
                        }
                        let prior_weight = if flavour.prior_per_response {
                            workers.len() as f64
                        } else {
                            1.0
                        };
                        let prev = &q_prev[t * K..][..K];
                        for ((&q, &s), &lp) in prev.iter().zip(row.iter()).zip(&ln_priors[..K]) {
                            joint += q * (LN_2 * s + prior_weight * lp);
                        }
                        let mut max = f64::NEG_INFINITY;
                        for (v, &lp) in row.iter_mut().zip(&log2_priors[..K]) {
                            *v += lp;
                            max = max.max(*v);
                        }
                        maxima[i] = max;
                    }
                    if !full {
                        continue;
                    }
                    // (b) E-step four tasks at a time: q ∝ 2^d with d = log2 p + Σ log2 e − max;
                    // gold correction, entropy, prior sums.
                    for start in (0..n).step_by(LANES) {
                        let used = (n - start).min(LANES);
                        for (c, lane) in d.iter_mut().enumerate() {
                            for (l, v) in lane.iter_mut().enumerate() {
                                *v = if l < used {
                                    rows[(start + l) * K + c] - maxima[start + l]
                                } else {
                                    0.0
                                };
                            }
                        }
                        let entropy = tail.softmax(&d[..K], &mut q[..K]);
                        for l in 0..used {
                            let row = &mut rows[(start + l) * K..][..K];
                            if let Some(label) = gold.and_then(|g| g[first + start + l]) {
                                row.fill(0.0);
                                row[label as usize] = 1.0;
                                if flavour.clipped_entropy {
                                    neg_entropy += (K - 1) as f64 * EPS * LN_EPS;
                                }
                            } else {
                                for (v, lane) in row.iter_mut().zip(q.iter()) {
                                    *v = lane[l];
                                }
                                neg_entropy += entropy[l];
                            }
                            for (s, &v) in prior_sums.iter_mut().zip(row.iter()) {
                                *s += v;
                            }
                        }
                    }
                    // (c) Fused M-step counts: n[w][y][·] += q.
                    if let Some(counts) = counts.as_deref_mut() {
                        for (i, row) in rows.chunks_exact(K).enumerate() {
                            let range = by_task.range(first + i);
                            // No prefetch: (a) asked for these rows.
                            let (workers, labels) =
                                (&all_workers[range.clone()], &all_labels[range]);
                            add_counts(counts, workers, labels, row, K);
                        }
                    }
                }
                sums[0] = joint;
                sums[1] = neg_entropy;
            };
            let table = self.skills.len() * K * K;
            let per_block = if full { self.chunks_per_block } else { 0 };
            for_each_chunk(
                &mut self.q_next,
                &mut self.partials,
                &mut self.block_counts,
                (K, per_block, table),
                chunk_pass,
            );
        });
        let (mut joint_prev, mut neg_entropy_next) = (0.0, 0.0);
        for partial in self.partials.chunks_exact(stride(k)) {
            joint_prev += partial[k];
            neg_entropy_next += partial[k + 1];
        }
        TaskPass {
            joint_prev,
            neg_entropy_next,
        }
    }

    /// priors ← (Σ over chunks of the chunk sums) / n_tasks.
    fn priors_from_partials(&mut self) {
        let k = self.k;
        self.priors.fill(0.0);
        for partial in self.partials.chunks_exact(stride(k)) {
            for (p, &s) in self.priors.iter_mut().zip(partial) {
                *p += s;
            }
        }
        let n = self.data.n_tasks() as f64;
        self.priors.iter_mut().for_each(|p| *p /= n);
    }

    /// Runs the loop after initialisation (q, priors and errors of iteration 0 are set).
    /// `driver` records each iteration's ELBO, asks the observer and stops at `n_iter`.
    pub fn run(&mut self, n_iter: usize, tol: f64, driver: &mut IterationLoop<'_>) -> StopReason {
        let n_responses = self.data.n_responses() as f64;
        // Iteration 1: no ELBO exists for the initial posterior.
        let mut pending_neg_entropy = self.advance();
        let mut previous = f64::NEG_INFINITY;
        for i in 1..=n_iter {
            // q, priors, errors are those of iteration i; one more task pass gives its ELBO.
            // When that pass surely ends the fit, its E-step and counts would be thrown away:
            // it computes the ELBO only.
            let elbo_only = self.stop_margin.is_some_and(|margin| {
                i == n_iter || self.surely_stops(previous, tol, pending_neg_entropy, margin)
            });
            let mut pass = self.task_pass(!elbo_only);
            #[cfg(test)]
            {
                self.passes.elbo_only += usize::from(elbo_only);
            }
            let elbo = (pass.joint_prev - pending_neg_entropy) / n_responses;
            // The stop rule; a NaN ELBO never fires it (as in crowd-kit), −∞ does.
            let stop = (elbo - previous < tol).then_some(if elbo.is_finite() {
                StopReason::Converged
            } else {
                StopReason::Diverged
            });
            // The driver also stops at n_iter, before the pass is accepted.
            if let Some(reason) = driver.end_iteration(elbo, stop) {
                return reason;
            }
            if elbo_only {
                // The estimate was wrong: the pass again, in full (the same ELBO bits).
                let joint_only = pass.joint_prev;
                pass = self.task_pass(true);
                debug_assert_eq!(pass.joint_prev.to_bits(), joint_only.to_bits());
                #[cfg(test)]
                {
                    self.passes.redone += 1;
                }
            }
            previous = elbo;
            pending_neg_entropy = self.accept(pass);
        }
        StopReason::MaxIterations
    }

    /// Whether the ELBO of the current posterior, which the next task pass computes, surely
    /// fires the stop rule against `previous` (its gain below `tol` by more than the margin). Estimated from the last M-step's counts: the
    /// joint term Σ_t Σ_c q[t][c]·Σ_{r∈t} ln e[w,y,c] is Σ_{w,y,c} n[w][y][c]·ln e[w][y][c]
    /// (n = the counts of q), and the prior term's weights are Σ_{w,y} n[w][y][c] (once per
    /// response) or n_tasks·p_c; every term is ≤ 0. "Surely" = by more than `stop_margin` of
    /// the magnitudes, far above the two sums' rounding; the exact ELBO still decides.
    fn surely_stops(&mut self, previous: f64, tol: f64, neg_entropy: f64, margin: f64) -> bool {
        let k = self.k;
        let sums = &mut self.joint_sums;
        sums.fill(0.0);
        for joint in self.worker_joint.chunks_exact(k + 1) {
            for (s, &v) in sums.iter_mut().zip(joint) {
                *s += v;
            }
        }
        let mut joint = LN_2 * sums[0];
        let n_tasks = self.data.n_tasks() as f64;
        for c in 0..k {
            let weight = if self.flavour.prior_per_response {
                sums[1 + c]
            } else {
                n_tasks * self.priors[c]
            };
            joint += weight * self.priors[c].max(EPS).ln();
        }
        let n_responses = self.data.n_responses() as f64;
        let elbo = (joint - neg_entropy) / n_responses;
        let margin = margin * (joint.abs() + neg_entropy.abs()) / n_responses;
        elbo - previous < tol - margin
    }

    /// E-step, priors, M-step: iteration 0 → 1. Returns Σ q̃ ln q̃ of the new posterior.
    fn advance(&mut self) -> f64 {
        let pass = self.task_pass(true);
        self.accept(pass)
    }

    /// Makes the posterior of the last task pass current, then priors and M-step.
    fn accept(&mut self, pass: TaskPass) -> f64 {
        std::mem::swap(&mut self.q, &mut self.q_next);
        self.priors_from_partials();
        self.m_step();
        pass.neg_entropy_next
    }
}

/// What a shard needs from the engine: set the broadcast model, run a task pass, hand over
/// its per-chunk partials, its one block's count table and its posterior.
impl Em<'_> {
    /// The model of the next task pass: `errors` (W × K × K) and `priors` (K), as the M-step
    /// leaves them (the log2 table is derived here exactly as [`Em::m_step`] derives it).
    pub(crate) fn set_model(&mut self, errors: &[f64], priors: &[f64]) {
        for (l, &e) in self.log2_errors.iter_mut().zip(errors) {
            *l = e.log2();
        }
        self.priors.copy_from_slice(priors);
    }

    /// One task pass with the current model: the next posterior stays pending in `q_next`
    /// until [`Em::commit`].
    pub(crate) fn shard_pass(&mut self) {
        self.task_pass(true);
    }

    /// Makes the pending posterior of the last task pass current.
    pub(crate) fn commit(&mut self) {
        std::mem::swap(&mut self.q, &mut self.q_next);
    }

    /// Per chunk: K prior sums, the joint term, Σ q ln q (of the last pass).
    pub(crate) fn partials(&self) -> &[f64] {
        &self.partials
    }

    /// The count table of block `b` of the last pass (fused blocking only).
    pub(crate) fn block_counts(&self, b: usize) -> &[f64] {
        let table = self.skills.len() * self.k * self.k;
        &self.block_counts[b * table..][..table]
    }

    /// The data this engine runs on.
    pub(crate) fn data(&self) -> &Responses {
        &self.data
    }
}

/// Chunks of [`TASK_CHUNK`] tasks per block when `n_chunks` chunks are cut into `shards`
/// blocks (at least 1): the formula of the `blocks` knob, so a `shards = P` plan is a
/// `blocks = P` plan (which can have fewer than P non-empty blocks).
pub(crate) fn chunks_per_shard(n_chunks: usize, shards: usize) -> usize {
    n_chunks.div_ceil(shards.clamp(1, n_chunks.max(1))).max(1)
}

/// Answers per parallel job of [`worker_labels`], at least.
const ANSWERS_PER_JOB: usize = 1 << 20;

/// Per worker × K, whether the worker gave that label; with `count`, also each worker's number
/// of answers (else empty). Read from the task index in parallel: a set and a count do not
/// depend on the order, so no worker index is needed (building one sorts every answer). One
/// job per thread at most, since each job holds its own W × (K + 8)-byte tables.
fn worker_labels(data: &Responses, count: bool) -> (Vec<bool>, Vec<usize>) {
    let (k, n_workers) = (data.n_labels(), data.n_workers());
    let by_task = data.by_task();
    let per_job = (by_task.ids().len())
        .div_ceil(rayon::current_num_threads())
        .max(ANSWERS_PER_JOB);
    let empty = || {
        (
            vec![false; n_workers * k],
            vec![0; if count { n_workers } else { 0 }],
        )
    };
    by_task
        .ids()
        .par_chunks(per_job)
        .zip(by_task.labels().par_chunks(per_job))
        .fold(empty, |(mut observed, mut answers), (workers, labels)| {
            for (&w, &y) in workers.iter().zip(labels) {
                observed[w as usize * k + y as usize] = true;
            }
            if count {
                for &w in workers {
                    answers[w as usize] += 1;
                }
            }
            (observed, answers)
        })
        .reduce(
            empty,
            |(mut observed, mut answers), (other, other_answers)| {
                observed.iter_mut().zip(other).for_each(|(o, b)| *o |= b);
                answers
                    .iter_mut()
                    .zip(other_answers)
                    .for_each(|(a, b)| *a += b);
                (observed, answers)
            },
        )
}

/// Sets a gold task's row to the one-hot vector of its label.
#[inline(always)]
fn correct_with_gold(row: &mut [f64], gold: Option<Label>) {
    if let Some(label) = gold {
        row.fill(0.0);
        row[label as usize] = 1.0;
    }
}

/// Runs `chunk(index, rows, partial, counts)` on every chunk of TASK_CHUNK tasks, in parallel:
/// chunk by chunk when the M-step is not fused (`counts` = None), else block by block of
/// `per_block` chunks, each block zeroing its own W × K × K count table (`table` values) and
/// passing it to its chunks in order. (`k`, `per_block`, `table`) are the sizes.
fn for_each_chunk<F>(
    rows: &mut [f64],
    partials: &mut [f64],
    block_counts: &mut [f64],
    (k, per_block, table): (usize, usize, usize),
    chunk: F,
) where
    F: Fn(usize, &mut [f64], &mut [f64], Option<&mut [f64]>) + Sync,
{
    if per_block == 0 {
        rows.par_chunks_mut(TASK_CHUNK * k)
            .zip(partials.par_chunks_mut(stride(k)))
            .enumerate()
            .for_each(|(i, (rows, partial))| chunk(i, rows, partial, None));
    } else {
        rows.par_chunks_mut(per_block * TASK_CHUNK * k)
            .zip(partials.par_chunks_mut(per_block * stride(k)))
            .zip(block_counts.par_chunks_mut(table))
            .enumerate()
            .for_each(|(block, ((rows, partials), counts))| {
                counts.fill(0.0);
                let chunks = rows
                    .chunks_mut(TASK_CHUNK * k)
                    .zip(partials.chunks_mut(stride(k)));
                for (i, (rows, partial)) in chunks.enumerate() {
                    chunk(block * per_block + i, rows, partial, Some(&mut *counts));
                }
            });
    }
}

/// Prefetches the `table` rows of the responses [`TABLE_PREFETCH_AHEAD`] positions after
/// `range` (rows are random in W; asking for them now hides the misses behind the current
/// tasks' work).
#[inline(always)]
fn prefetch_rows_ahead(
    table: &[f64],
    workers: &[u32],
    labels: &[Label],
    range: std::ops::Range<usize>,
    k: usize,
) {
    for r in range.start + TABLE_PREFETCH_AHEAD..range.end + TABLE_PREFETCH_AHEAD {
        if let (Some(&w), Some(&y)) = (workers.get(r), labels.get(r)) {
            let at = (w as usize * k + y as usize) * k;
            prefetch(table, at);
            if k > ROW_IN_ONE_LINE {
                prefetch(table, at + k - 1);
            }
        }
    }
}

/// counts[w][y][·] += row for each response (w, y) of one task.
#[inline(always)]
fn add_counts(counts: &mut [f64], workers: &[u32], labels: &[Label], row: &[f64], k: usize) {
    for (&w, &y) in workers.iter().zip(labels) {
        let at = (w as usize * k + y as usize) * k;
        for (n, &q) in counts[at..][..k].iter_mut().zip(&row[..k]) {
            *n += q;
        }
    }
}

/// matrix[y][c] = Σ_{(t, y) in the worker's row} q[t][c].
#[inline(always)]
fn accumulate_counts(matrix: &mut [f64], (tasks, labels): (&[u32], &[Label]), q: &[f64], k: usize) {
    matrix.fill(0.0);
    for (i, (&t, &y)) in tasks.iter().zip(labels).enumerate() {
        // The worker's tasks are scattered over q: ask for the rows a few answers ahead.
        if let Some(&ahead) = tasks.get(i + PREFETCH_AHEAD) {
            prefetch(q, ahead as usize * k);
            prefetch(q, (ahead as usize + 1) * k - 1);
        }
        let src = &q[t as usize * k..(t as usize + 1) * k];
        let dst = &mut matrix[y as usize * k..(y as usize + 1) * k];
        for c in 0..k {
            dst[c] += src[c];
        }
    }
}

/// Clips the present rows at EPS and divides each column by its sum over the present rows;
/// absent rows are set to 0.
#[inline(always)]
pub(crate) fn normalise_columns(matrix: &mut [f64], present: &[bool], k: usize) {
    for (y, &seen) in present.iter().enumerate() {
        for v in &mut matrix[y * k..(y + 1) * k] {
            *v = if seen { v.max(EPS) } else { 0.0 };
        }
    }
    for c in 0..k {
        let mut sum = 0.0;
        for y in 0..k {
            sum += matrix[y * k + c];
        }
        for y in 0..k {
            matrix[y * k + c] /= sum;
        }
    }
}

/// One-coin update from counts: s = Σ_k n[k][k] / responses (the mean posterior of the
/// worker's own answers); e[k][c] = s if k = c else (1 − s)/(K − 1), clipped to [ε, 1 − ε], on
/// the observed rows (others 0). Returns s.
#[inline(always)]
pub(crate) fn one_coin(matrix: &mut [f64], observed: &[bool], responses: usize, k: usize) -> f64 {
    let mut sum = 0.0;
    for y in 0..k {
        sum += matrix[y * k + y];
    }
    let s = sum / responses as f64;
    let off = if k > 1 {
        (1.0 - s) / (k - 1) as f64
    } else {
        0.0
    };
    let (on, off) = (s.clamp(EPS, 1.0 - EPS), off.clamp(EPS, 1.0 - EPS));
    for (y, &seen) in observed.iter().enumerate() {
        let row = &mut matrix[y * k..(y + 1) * k];
        if seen {
            row.fill(off);
            row[y] = on;
        } else {
            row.fill(0.0);
        }
    }
    s
}

/// Number of task blocks whose counts the task pass accumulates (0 or 1: no fusion, the
/// M-step makes its own pass over workers). Fusion saves a pass whose reads of the posterior
/// are scattered, but each block needs a W × K × K table that is summed in the M-step; it pays
/// when those tables are small next to the data. Depends on sizes only, never on threads.
pub(crate) fn choose_blocks(responses: usize, table: usize) -> usize {
    (responses / (4 * table.max(1))).min(32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregation::{Action, IterationState};

    #[test]
    fn ln_eps_is_ln_of_eps() {
        assert_eq!(LN_EPS, EPS.ln());
    }

    /// What a fit leaves, as bits.
    #[derive(Debug, PartialEq)]
    struct Bits {
        q: Vec<u64>,
        errors: Vec<u64>,
        priors: Vec<u64>,
        skills: Vec<u64>,
        loss_history: Vec<u64>,
        stop: StopReason,
    }

    fn bits(values: &[f64]) -> Vec<u64> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    /// A fit as `DawidSkene` runs it (without the output clip), the ELBO-only pass guessed
    /// with `stop_margin` (`None`: never, every pass in full), stopped by `n_iter`, `tol` or an
    /// observer at iteration `stop_at`; also the counts of ELBO-only and redone passes.
    fn fit(
        data: &Responses,
        flavour: Flavour,
        gold: Option<&[Option<Label>]>,
        blocking: Blocking,
        (n_iter, tol, stop_at): (usize, f64, usize),
        stop_margin: Option<f64>,
    ) -> (Bits, PassCounts) {
        let mut em = Em::new(
            Cow::Borrowed(data),
            flavour,
            gold.map(Cow::Borrowed),
            blocking,
        );
        em.stop_margin = stop_margin;
        em.init_majority_vote();
        em.m_step();
        let observer = |state: &IterationState| {
            if state.iteration >= stop_at {
                Action::Stop
            } else {
                Action::Continue
            }
        };
        let mut driver = IterationLoop::new(n_iter, Some(&observer), std::time::Instant::now());
        let stop = em.run(n_iter, tol, &mut driver);
        let report = driver.report(stop);
        let fitted = Bits {
            q: bits(&em.q),
            errors: bits(&em.errors),
            priors: bits(&em.priors),
            skills: bits(&em.skills),
            loss_history: bits(&report.loss_history),
            stop,
        };
        (fitted, em.passes)
    }

    /// The pass that surely ends the fit computes the ELBO only, and a wrong guess is redone
    /// in full: the same bits as the engine without the guess (every pass in full), whether
    /// the guess is made as in a fit, or always and wrong until the last iteration (margin
    /// −∞), for K = 2…6 (each K has its own build), both models, both flavours, fused or not,
    /// with and without gold, stopped by `tol`, by `n_iter` (1 included) or by an observer.
    #[test]
    fn elbo_only_last_pass_changes_no_bit() {
        use crate::generate::{GeneratorConfig, generate};
        const NEVER: usize = usize::MAX;
        for (k, seed) in [(2, 1), (3, 2), (4, 4), (5, 3), (6, 5)] {
            let data = generate(&GeneratorConfig::new(3_000, 60, k).seed(seed))
                .unwrap()
                .responses;
            let gold: Vec<Option<Label>> = (0..data.n_tasks())
                .map(|t| (t % 7 == 0).then_some((t % k) as Label))
                .collect();
            for model in [Model::Full, Model::OneCoin] {
                for quirks in [true, false] {
                    let flavour = Flavour {
                        model,
                        prior_per_response: quirks,
                        clipped_entropy: quirks,
                    };
                    for blocking in [Blocking::Auto(None), Blocking::Auto(Some(0))] {
                        for gold in [None, Some(&gold[..])] {
                            for limits in [
                                (100, 1e-5, NEVER),
                                (4, 0.0, NEVER),
                                (1, 1e-5, NEVER),
                                (100, 0.0, 3),
                                (100, 0.0, NEVER),
                            ] {
                                let run =
                                    |margin| fit(&data, flavour, gold, blocking, limits, margin);
                                let (full, counts) = run(None);
                                assert_eq!(counts, PassCounts::default());
                                let case = format!(
                                    "K {k} {model:?} {quirks} {blocking:?} gold {} {limits:?}",
                                    gold.is_some()
                                );
                                let iterations = full.loss_history.len();
                                // The pass of iteration n_iter is known to be the last.
                                let at_limit = usize::from(iterations == limits.0);
                                let (guessed, counts) = run(Some(STOP_MARGIN));
                                assert_eq!(guessed, full, "{case}");
                                assert_eq!(counts.redone, 0, "{case}: a wrong guess");
                                if limits.1 > 0.0 || at_limit == 1 {
                                    assert_eq!(counts.elbo_only, 1, "{case}: the guess");
                                } else {
                                    // tol = 0: the last ELBO may move by rounding only, too
                                    // little for a sure guess; an observer's stop is not
                                    // foreseen.
                                    assert!(counts.elbo_only <= 1, "{case}: {counts:?}");
                                }
                                // Guessed from iteration 2 on (iteration 1 has no previous
                                // ELBO) and at n_iter; wrong but at the last, and an observer
                                // stops before any redo.
                                let (wrong, counts) = run(Some(f64::NEG_INFINITY));
                                assert_eq!(wrong, full, "{case}");
                                let expected = PassCounts {
                                    elbo_only: (iterations - 1).max(at_limit),
                                    redone: iterations.saturating_sub(2),
                                };
                                assert_eq!(counts, expected, "{case}");
                            }
                        }
                    }
                }
            }
        }
    }
}
