//! Dawid-Skene on shards of tasks, for any distributed engine: the engine moves flat `f64`
//! buffers, crowdagg does the arithmetic, and the result has the same bits as one machine.
//!
//! # The protocol
//! Each task's posterior depends only on its own answers and the model, so the tasks are cut
//! into P contiguous ranges of the canonical task order ([`plan`]); a [`Shard`] holds the
//! answers of one range, with global worker and label ids, and stays where it was built (a Ray
//! actor, a Dask actor). One [`Driver`] runs the loop:
//!
//! 1. every shard's [`Shard::init`] (majority vote) returns its statistics;
//! 2. the driver [`Driver::update`]s with the statistics of all shards, **in shard order**: it
//!    merges them, runs the M-step and returns the model to broadcast (or `None`: finished);
//! 3. every shard's [`Shard::step`] on that model (E-step, data resident) returns its statistics;
//!    back to 2;
//! 4. [`Driver::finish`] takes each shard's [`Shard::posteriors`] (in shard order) and returns
//!    the [`Aggregation`] of a single-machine fit: labels, probabilities, error matrices,
//!    priors, skills, loss history, iterations and stop reason.
//!
//! Buffers (all `f64`, so they travel as one numpy array each):
//! * **statistics** of shard s: a header `[s, first chunk, chunks, pass]` (pass 0 = init,
//!   1 = step), its count table `n[w][y][c] = Σ q[t][c]` over its answers (W × K × K), per
//!   chunk of 512 tasks the K prior sums, the ELBO's joint term and Σ q ln q, and after `init`
//!   only, the answers of each worker per label (W × K, integers);
//! * **model**: error matrices (W × K × K, workers × observed × true), priors (K), one-coin
//!   skills (W; zeros for the full model).
//!
//! # Bits
//! [`DawidSkene`](crate::DawidSkene) with `shards = P` cuts its task pass by the same [`plan`]:
//! each block of tasks fills its own count table, the M-step adds the tables as
//! `0 + block 0 + block 1 + …`, and every other sum runs per chunk of 512 tasks, chunk by
//! chunk. A shard is exactly such a block (its chunks are the global chunks, its sums run in
//! the same order), and the driver adds the tables in shard order and the chunk sums in global
//! chunk order. So a P-shard run on any engine, with any assignment of shards to processes,
//! has the bits of the single-machine fit with `shards = P`, which is within 1e-12 of the
//! default fit (the sums differ only in association). A naive merge (each shard sums its own
//! chunks, the driver adds the shard totals) is not: it drifts by ~1e-14.
//!
//! **Engines that keep no state** (Spark's `mapInArrow`): every pass rebuilds the shards from
//! their answers, runs `init()`, steps on [`Driver::model_before`] (if any) and then on the
//! current model; the result's posterior comes from [`Driver::result_models`]. Same bits, at
//! the price of a second E-step per iteration. [`Driver::names`] then gives the writers
//! ([`crate::output::write_csv`], [`crate::output::write_json`]) the CLI's bytes without the
//! table in one place.
//!
//! The E-step uses crowdagg's own `exp2`/`ln` (the same bits with or without AVX2) and the
//! platform's `log2` for the error table, so every process should run the same build on the
//! same platform.
//!
//! **Recovery.** A lost shard is rebuilt from its source; then `init()`, and, if
//! [`Driver::model_before`] is `Some`, one `step` on that model (its statistics discarded)
//! recompute the posterior the next step needs. The run continues with the driver's current
//! model, with the same bits.
//!
//! # Which methods shard
//! * **Dawid-Skene, one-coin Dawid-Skene**: here. Initial error matrices are not supported
//!   on shards ([`Config::dawid_skene`] refuses them).
//! * **Majority vote, Wawa**: single passes, [`VoteShard`] and [`VoteDriver`] (same
//!   protocol): per-task votes, and per-worker agreement counts that are integers, so any plan
//!   gives the single-machine bits.
//! * **GLAD, MACE**: shardable by task the same way: their worker statistics are sums over
//!   answers (GLAD's gradient per worker, MACE's expected counts), the task parts are local.
//!   Not in this module yet.
//! * **KOS**: does not shard by task: its messages live on answers and flow both ways
//!   (task → worker → task) every iteration, so each iteration is two all-to-all exchanges of
//!   per-answer data rather than one reduction of per-worker sums.
//! * **M-MSR**: does not shard by task: it iterates on the W × W covariance of workers (a
//!   dense matrix built from all tasks), a global object the size of which does not shrink
//!   with the shard.
//!
//! # Design note: traffic and memory at 10⁹ and 10¹⁰ answers
//! Per iteration each shard receives the model (8·W·K² + 8·K + 8·W bytes) and sends its
//! statistics (8·W·K² + 8·(K + 2)·T_s/512 bytes); the driver holds P tables while merging (it
//! can add them as they arrive, in order: 2 tables). Memory per shard: ~25 bytes per answer
//! for the data (two CSR copies, 12 bytes each, plus per-task offsets), 16·K bytes per task for
//! the two posteriors, and 3 tables of 8·W·K² (log table, counts, the engine's error buffer).
//!
//! | answers | tasks (10/task) | W | K | table 8·W·K² | per node, 128 shards | traffic per iteration, driver merge | reduce-scatter (128 owners) |
//! |---|---|---|---|---|---|---|---|
//! | 10⁹ | 10⁸ | 10⁵ | 3 | 7.2 MB | 7.8·10⁶ answers: ~200 MB data + 12 MB posteriors | 2·7.2 MB per shard; driver receives 0.9 GB | each node ≈ 7.2 MB of slices out and in + the 8 MB model; driver receives 8 MB |
//! | 10¹⁰ | 10⁹ | 10⁶ | 3 | 72 MB | 7.8·10⁷ answers: ~2 GB data + 120 MB posteriors | 2·72 MB per shard; driver receives 9.2 GB | each node ≈ 72 MB of slices out and in + the 80 MB model; driver receives 80 MB |
//!
//! The E-step is ≈ 22 core-ns per answer: ≈ 0.17 s per shard of 7.8·10⁶ answers, ≈ 1.7 s at
//! 7.8·10⁷. With the driver merge it **stops scaling** where the tables dominate: the driver's
//! inbound traffic and merge are P·8·W·K² per iteration, growing with P while the per-shard work
//! shrinks (at 10¹⁰ answers, W = 10⁶, P = 128: 9.2 GB into one node per iteration, ≈ 8 s at
//! 10 Gbit/s, more than the E-step).
//!
//! # The reduce-scatter by worker range (implemented)
//! [`worker_ranges`] cuts the workers into R contiguous ranges of equal counts (R = the number
//! of host processes, or a parameter from 1 to max(W, [`MAX_EMPTY_OWNERS`]), [`check_owners`];
//! more owners than workers leave empty ranges). A shard's
//! statistics split into a **head** (header and chunk partials, for the driver: priors, ELBO,
//! stop rule) and one **slice** per range ([`Shard::init_scattered`],
//! [`Shard::step_scattered`]); the [`Owner`] of range r adds the P slices of its range in shard
//! order, as the driver would (each value the same sum in the same order, so the same bits),
//! and runs the M-step of its workers with the driver's own code; its **model slice** (error
//! matrices and skills of its workers) goes back, and [`Driver::update_scattered`]
//! concatenates the slices in range order with the priors from the heads into the model
//! [`Driver::update`] would have returned. After `init` the model slices also carry the
//! workers' answer counts (W × K, integers): the driver keeps them for the ELBO's answer count,
//! the writers, and [`Driver::owner_answers`], which rebuilds a lost owner
//! ([`Owner::restore`]). `tests/it/shard_scatter.rs` checks owner-merged = driver-merged =
//! `shards = P` bits for DS and one-coin DS, with and without gold, R from 1 to W + 3.
//!
//! Traffic per iteration, T = 8·W·K² (a table), M = 8·W·(K² + 1) (the per-worker model),
//! H processes each holding P/H shards and owning R/H ranges:
//!
//! | | driver merge | reduce-scatter (as implemented) |
//! |---|---|---|
//! | a process sends | (P/H)·T to the driver | (P/H)·T·(H − 1)/H slices to the other processes' owners, M/H to the driver |
//! | a process receives | M (the model) | ≈ (P/H)·T·(H − 1)/H slices + M (the model) |
//! | the driver receives | P·T, and merges P tables | M (R model slices), merges nothing per worker (on Ray, slices under ~100 KiB are returned inline to the caller: they do pass through the driver) |
//! | the driver sends | H·M | H·M |
//!
//! At 10¹⁰ answers (W = 10⁶, K = 3, P = H = R = 128: T = 72 MB, M = 80 MB) the driver's inbound
//! falls from 9.2 GB to 80 MB per iteration, and each node sends and receives ≈ 1 table and
//! 1 model when each process holds one shard (P/H = 1); in general ≈ (P/H)·T of slices (the
//! table above), so it grows with the shards per process, not with P itself. No node merges
//! more than its range. What remains at the driver
//! is the model broadcast (H·M out, 10 GB at H = 128: an object store or a tree broadcast
//! carries it, as for the driver merge; the owners could instead all-gather their slices among
//! themselves, not done). Beyond that, K² itself (K ≥ 100) makes the full model heavy; the
//! one-coin model needs only W skills (its statistics could shrink to the W × K diagonal; here
//! they are full tables, for one format).
//!
//! **Which to choose.** The reduce-scatter pays where the driver's link or merge is the limit:
//! several machines, W × K × K tables large next to a shard's answers (tens of thousands of
//! workers and more, K ≥ 5) or many shards per driver. On one machine all traffic is shared
//! memory, and its extra messages (R more calls and H·(R + 1) more objects per pass) cost more
//! than the merge they save: measured on 2 cores at 10⁶ answers it needed 1.2–3.5× the CPU per
//! pass of the driver merge, for 24–54 % less driver memory at W = 121,825, K = 5, but only
//! ≈ 2–4 % at W = 2,000, K = 3 (BENCHMARKS.md). So
//! `crowdagg.distributed` keeps `--reduce driver` as the default and takes `--reduce scatter`
//! on request.

use std::borrow::Cow;
use std::ops::Range;
use std::time::Duration;

use ndarray::{Array2, Array3};

use crate::aggregation::{Aggregation, FitReport, StopReason};
use crate::error::{DataError, Result};
use crate::methods::dawid_skene::{
    Blocking, EPS, Em, Flavour, Model, TASK_CHUNK, chunks_per_shard, normalise_columns, one_coin,
    stride,
};
use crate::methods::{Compat, DawidSkeneParams, OneCoinDawidSkeneParams};
use crate::responses::{Label, Responses, compare_names, parse_int};

/// [`DataError::ShardBuffer`] with a `format!` message: the one refusal of the shard modules
/// (a buffer of the wrong length, a call out of turn, a plan that does not fit).
macro_rules! buffer_error {
    ($($message:tt)+) => {
        $crate::error::DataError::ShardBuffer(format!($($message)+))
    };
}

/// `return Err(buffer_error!(…).into())`.
macro_rules! bail {
    ($($message:tt)+) => {
        return Err(buffer_error!($($message)+).into())
    };
}

mod scatter;
mod votes;

pub use scatter::{
    MAX_EMPTY_OWNERS, Owner, Scattered, check_owners, run_scattered_in_process, worker_range,
    worker_ranges,
};
pub use votes::{Vote, VoteDriver, VoteShard};

/// The task ranges of a P-shard run: the canonical task order cut into contiguous blocks of
/// whole 512-task chunks, by the `blocks` formula of the Dawid-Skene engine (so there can be
/// fewer than `shards` ranges: 5 chunks on 4 shards give 3 ranges of 2, 2 and 1 chunks).
/// Empty for no tasks; `shards = 0` counts as 1.
pub fn plan(n_tasks: usize, shards: usize) -> Vec<Range<usize>> {
    let n_chunks = n_tasks.div_ceil(TASK_CHUNK);
    if n_chunks == 0 {
        return Vec::new();
    }
    let per_shard = chunks_per_shard(n_chunks, shards) * TASK_CHUNK;
    (0..n_tasks)
        .step_by(per_shard)
        .map(|start| start..(start + per_shard).min(n_tasks))
        .collect()
}

/// Which model, and the loop's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    one_coin: bool,
    compat: Compat,
    n_iter: usize,
    tol: f64,
}

impl Config {
    /// Dawid-Skene with these parameters (`shards`/`blocks` are the plan's business, not the
    /// loop's). Initial error matrices are refused.
    pub fn dawid_skene(params: &DawidSkeneParams) -> Result<Self> {
        if params.initial_errors.is_some() {
            bail!("initial error matrices are not supported on shards");
        }
        Ok(Self {
            one_coin: false,
            compat: params.compat,
            n_iter: params.n_iter,
            tol: params.tol,
        })
    }

    /// One-coin Dawid-Skene with these parameters.
    pub fn one_coin(params: &OneCoinDawidSkeneParams) -> Self {
        Self {
            one_coin: true,
            compat: params.compat,
            n_iter: params.n_iter,
            tol: params.tol,
        }
    }

    fn flavour(&self) -> Flavour {
        let quirks = self.compat == Compat::CrowdKit;
        Flavour {
            model: if self.one_coin {
                Model::OneCoin
            } else {
                Model::Full
            },
            prior_per_response: quirks,
            clipped_entropy: quirks,
        }
    }
}

/// The sizes of a run: the whole table's task, worker and label counts and the [`plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    n_tasks: usize,
    n_workers: usize,
    n_labels: usize,
    ranges: Vec<Range<usize>>,
}

/// Length of a statistics header.
const HEADER: usize = 4;

impl Layout {
    /// The layout of `n_tasks` tasks (≥ 1) on `shards` shards.
    pub fn new(n_tasks: usize, n_workers: usize, n_labels: usize, shards: usize) -> Result<Self> {
        if n_tasks == 0 || n_workers == 0 || n_labels == 0 {
            bail!("a run needs at least one answer");
        }
        Ok(Self {
            n_tasks,
            n_workers,
            n_labels,
            ranges: plan(n_tasks, shards),
        })
    }

    /// The task range of each shard ([`plan`]).
    pub fn shards(&self) -> &[Range<usize>] {
        &self.ranges
    }

    /// Number of tasks, workers, labels.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (self.n_tasks, self.n_workers, self.n_labels)
    }

    fn table(&self) -> usize {
        self.n_workers * self.n_labels * self.n_labels
    }

    /// Length of a model buffer.
    pub fn model_len(&self) -> usize {
        self.table() + self.n_labels + self.n_workers
    }

    fn chunks(&self, shard: usize) -> (usize, usize) {
        let range = &self.ranges[shard];
        (range.start / TASK_CHUNK, range.len().div_ceil(TASK_CHUNK))
    }

    /// The header of shard `shard`'s statistics (or head) of a pass.
    fn header(&self, shard: usize, init: bool) -> [f64; HEADER] {
        let (first, chunks) = self.chunks(shard);
        [
            shard as f64,
            first as f64,
            chunks as f64,
            if init { 0.0 } else { 1.0 },
        ]
    }

    fn stats_len(&self, shard: usize, init: bool) -> usize {
        let k = self.n_labels;
        let answers = if init { self.n_workers * k } else { 0 };
        HEADER + self.table() + self.chunks(shard).1 * stride(k) + answers
    }
}

/// The answers of one shard's tasks, resident, and the posterior of its tasks.
pub struct Shard {
    index: usize,
    layout: Layout,
    em: Em<'static>,
    /// A task pass ran whose posterior is not yet current (the driver may still stop).
    pending: bool,
    initialised: bool,
}

impl std::fmt::Debug for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shard")
            .field("index", &self.index)
            .field("tasks", &self.layout.ranges[self.index])
            .field("answers", &self.em.data().n_responses())
            .finish()
    }
}

impl Shard {
    /// Shard `index` of `layout`, from its answers with **global** ids: answer i is task
    /// `tasks[i]` (inside the shard's range, each task of the range at least once), worker
    /// `workers[i]` (< W), label `labels[i]` (< K); `gold` optionally gives true labels as
    /// (global task, label) pairs for some of the shard's tasks.
    pub fn new(
        config: &Config,
        layout: &Layout,
        index: usize,
        (tasks, workers, labels): (&[i64], &[i64], &[i64]),
        gold: Option<(&[i64], &[i64])>,
    ) -> Result<Self> {
        let (range, local) = local_tasks(layout, index, tasks)?;
        let outside = |what, row: usize, task: i64| DataError::TaskOutsideShard {
            what,
            row: row as u64,
            task,
            start: range.start,
            end: range.end,
        };
        let inside = |t: i64| t >= range.start as i64 && t < range.end as i64;
        let data = Responses::from_shard_codes(
            (range.len(), layout.n_workers, layout.n_labels),
            (&local, workers, labels),
        )?;
        let gold = match gold {
            None => None,
            Some((gold_tasks, gold_labels)) => {
                if gold_tasks.len() != gold_labels.len() {
                    bail!(
                        "{} gold tasks but {} gold labels",
                        gold_tasks.len(),
                        gold_labels.len()
                    );
                }
                let mut per_task: Vec<Option<Label>> = vec![None; range.len()];
                for (row, (&t, &l)) in gold_tasks.iter().zip(gold_labels).enumerate() {
                    if !inside(t) {
                        return Err(outside("gold", row, t).into());
                    }
                    if l < 0 || l as usize >= layout.n_labels {
                        return Err(DataError::CodeOutOfRange {
                            column: "gold label",
                            row: row as u64,
                            code: l,
                            count: layout.n_labels,
                        }
                        .into());
                    }
                    per_task[(t as usize) - range.start] = Some(l as Label);
                }
                Some(Cow::Owned(per_task))
            }
        };
        let em = Em::new(
            Cow::Owned(data),
            config.flavour(),
            gold,
            Blocking::Shards(1),
        );
        Ok(Self {
            index,
            layout: layout.clone(),
            em,
            pending: false,
            initialised: false,
        })
    }

    /// The initial posterior (majority-vote shares, gold corrected) and its statistics.
    pub fn init(&mut self) -> Vec<f64> {
        self.em.init_majority_vote();
        self.pending = false;
        self.initialised = true;
        let mut stats = self.stats(true);
        let k = self.layout.n_labels;
        let by_worker = self.em.data().by_worker();
        for w in 0..self.layout.n_workers {
            for &y in by_worker.row(w).1 {
                let at = stats.len() - self.layout.n_workers * k + w * k + y as usize;
                stats[at] += 1.0;
            }
        }
        stats
    }

    /// The E-step of `model` (a buffer from [`Driver::update`]) on the shard's tasks, and its
    /// statistics. Makes the posterior of the previous step current first.
    pub fn step(&mut self, model: &[f64]) -> Result<Vec<f64>> {
        if !self.initialised {
            bail!("step before init");
        }
        let layout = &self.layout;
        if model.len() != layout.model_len() {
            bail!(
                "a model of {} values, expected {}",
                model.len(),
                layout.model_len()
            );
        }
        if self.pending {
            self.em.commit();
        }
        let table = layout.table();
        self.em
            .set_model(&model[..table], &model[table..table + layout.n_labels]);
        self.em.shard_pass();
        self.pending = true;
        Ok(self.stats(false))
    }

    /// The current posterior of the shard's tasks, tasks × K, row-major (after the driver
    /// finished: the posterior of the result, before crowd-kit's clipping, which
    /// [`Driver::finish`] applies).
    pub fn posteriors(&self) -> &[f64] {
        &self.em.q
    }

    /// The shard's index in the plan.
    pub fn index(&self) -> usize {
        self.index
    }

    fn stats(&self, init: bool) -> Vec<f64> {
        let layout = &self.layout;
        let (first, chunks) = layout.chunks(self.index);
        let mut stats = Vec::with_capacity(layout.stats_len(self.index, init));
        stats.extend([
            self.index as f64,
            first as f64,
            chunks as f64,
            if init { 0.0 } else { 1.0 },
        ]);
        stats.extend_from_slice(self.em.block_counts(0));
        stats.extend_from_slice(self.em.partials());
        if init {
            stats.resize(stats.len() + layout.n_workers * layout.n_labels, 0.0);
        }
        debug_assert_eq!(stats.len(), layout.stats_len(self.index, init));
        stats
    }
}

/// Shard `index`'s task range, and `tasks` (global ids, each inside it) as local ids.
fn local_tasks(layout: &Layout, index: usize, tasks: &[i64]) -> Result<(Range<usize>, Vec<i64>)> {
    let range = layout.ranges.get(index).cloned().ok_or_else(|| {
        buffer_error!(
            "shard {index} of a plan with {} shards",
            layout.ranges.len()
        )
    })?;
    let mut local = Vec::with_capacity(tasks.len());
    for (row, &t) in tasks.iter().enumerate() {
        if t < range.start as i64 || t >= range.end as i64 {
            return Err(DataError::TaskOutsideShard {
                what: "response",
                row: row as u64,
                task: t,
                start: range.start,
                end: range.end,
            }
            .into());
        }
        local.push(t - range.start as i64);
    }
    Ok((range, local))
}

/// Every shard's posterior (tasks × K each, in shard order) as one tasks × K matrix.
fn concat_posteriors(layout: &Layout, posteriors: &[&[f64]]) -> Result<Array2<f64>> {
    let (n_tasks, _, k) = layout.sizes();
    if posteriors.len() != layout.ranges.len() {
        bail!(
            "{} shards' buffers, the plan has {}",
            posteriors.len(),
            layout.ranges.len()
        );
    }
    let mut q = Vec::with_capacity(n_tasks * k);
    for (s, (part, range)) in posteriors.iter().zip(&layout.ranges).enumerate() {
        if part.len() != range.len() * k {
            bail!(
                "shard {s}: {} posterior values, expected {}",
                part.len(),
                range.len() * k
            );
        }
        q.extend_from_slice(part);
    }
    Ok(Array2::from_shape_vec((n_tasks, k), q).expect("tasks × labels"))
}

/// Where the driver's loop is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Waiting for the shards' `init` statistics.
    Init,
    /// Waiting for the first step (iteration 0 → 1: no ELBO yet).
    Advance,
    /// Waiting for a step whose ELBO is that of the current model's iteration.
    Iterate,
    /// Finished.
    Done(StopReason),
}

/// The driver of a sharded fit: merges statistics in shard order, runs the M-step and the
/// stop rule, and packs the result (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct Driver {
    config: Config,
    layout: Layout,
    phase: Phase,
    /// Answers per worker and label (from `init`), and their total.
    answers: Vec<f64>,
    n_responses: f64,
    model: Vec<f64>,
    model_before: Option<Vec<f64>>,
    iterations: usize,
    loss_history: Vec<f64>,
    previous_elbo: f64,
    pending_neg_entropy: f64,
}

/// Statistics of all shards, merged.
struct Merged {
    counts: Vec<f64>,
    /// Per global chunk, in order.
    partials: Vec<f64>,
}

impl Driver {
    /// A driver for `layout` (whose shards must all take part).
    pub fn new(config: Config, layout: Layout) -> Self {
        Self {
            config,
            layout,
            phase: Phase::Init,
            answers: Vec::new(),
            n_responses: 0.0,
            model: Vec::new(),
            model_before: None,
            iterations: 0,
            loss_history: Vec::new(),
            previous_elbo: f64::NEG_INFINITY,
            pending_neg_entropy: 0.0,
        }
    }

    /// The layout the driver runs.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Takes the statistics of every shard, in shard order (those of `init` first, then those
    /// of each `step`); returns the model every shard steps on next, or `None` when the fit is
    /// finished (then [`Driver::finish`]).
    pub fn update(&mut self, stats: &[&[f64]]) -> Result<Option<&[f64]>> {
        let init = self.check_running()?;
        let Merged {
            mut counts,
            partials,
        } = self.merge(stats, init)?;
        self.advance(partials, move |driver| {
            let skills = driver.workers_m_step(&mut counts, 0..driver.layout.n_workers);
            Ok((counts, skills))
        })
    }

    /// Whether the driver waits for `init`'s statistics; an error once the fit is finished.
    fn check_running(&self) -> Result<bool> {
        match self.phase {
            Phase::Done(_) => Err(buffer_error!("the fit is finished").into()),
            phase => Ok(phase == Phase::Init),
        }
    }

    /// One turn of the loop on the merged chunk partials of a pass: priors, ELBO and stop
    /// rule here; `per_worker` gives the error tables and skills of every worker (merged and
    /// M-stepped by the driver, or gathered from the owners of a reduce-scatter), called only
    /// when the model moves on.
    fn advance(
        &mut self,
        partials: Vec<f64>,
        per_worker: impl FnOnce(&Self) -> Result<(Vec<f64>, Vec<f64>)>,
    ) -> Result<Option<&[f64]>> {
        match self.phase {
            Phase::Init => {
                let (table, skills) = per_worker(self)?;
                self.model = self.m_step(&partials, table, &skills);
                if self.config.n_iter == 0 {
                    // The initialisation only, as crowd-kit.
                    self.phase = Phase::Done(StopReason::MaxIterations);
                    return Ok(None);
                }
                self.phase = Phase::Advance;
            }
            Phase::Advance => {
                let (table, skills) = per_worker(self)?;
                self.accept(&partials, table, &skills);
                self.phase = Phase::Iterate;
            }
            Phase::Iterate => {
                let k = self.layout.n_labels;
                let joint: f64 = partials
                    .chunks_exact(stride(k))
                    .fold(0.0, |sum, p| sum + p[k]);
                let elbo = (joint - self.pending_neg_entropy) / self.n_responses;
                // The stop rule of the single-machine loop, to the letter.
                let stop =
                    (elbo - self.previous_elbo < self.config.tol).then_some(if elbo.is_finite() {
                        StopReason::Converged
                    } else {
                        StopReason::Diverged
                    });
                self.iterations += 1;
                self.loss_history.push(elbo);
                let stop = stop
                    .or((self.iterations >= self.config.n_iter)
                        .then_some(StopReason::MaxIterations));
                if let Some(reason) = stop {
                    self.phase = Phase::Done(reason);
                    return Ok(None);
                }
                self.previous_elbo = elbo;
                let (table, skills) = per_worker(self)?;
                self.accept(&partials, table, &skills);
            }
            Phase::Done(_) => {
                bail!("the fit is finished");
            }
        }
        Ok(Some(&self.model))
    }

    /// The model the shards step on next (after `update` returned it).
    pub fn model(&self) -> &[f64] {
        &self.model
    }

    /// For recovering a lost shard: the model of the step before the current one. A rebuilt
    /// shard runs `init()`, then `step` on this model if it is `Some` (discarding the
    /// statistics), and is then ready to step on [`Driver::model`].
    pub fn model_before(&self) -> Option<&[f64]> {
        self.model_before.as_deref()
    }

    /// Whether the fit is finished.
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done(_))
    }

    /// Iterations run so far.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// The result, from each shard's [`Shard::posteriors`] in shard order (after `update`
    /// returned `None`).
    pub fn finish(&self, posteriors: &[&[f64]]) -> Result<Aggregation> {
        let Phase::Done(reason) = self.phase else {
            bail!("finish before the fit is finished");
        };
        let (_, n_workers, k) = self.layout.sizes();
        let mut probabilities = concat_posteriors(&self.layout, posteriors)?;
        // crowd-kit's clip happens in its ELBO, which n_iter = 0 never computes.
        if self.config.compat == Compat::CrowdKit && self.config.n_iter > 0 {
            probabilities.mapv_inplace(|v| v.max(EPS));
        }
        let mut result = Aggregation::from_probabilities(probabilities);
        let table = self.layout.table();
        result.errors = Some(
            Array3::from_shape_vec((n_workers, k, k), self.model[..table].to_vec())
                .expect("workers × labels × labels"),
        );
        result.priors = Some(self.model[table..table + k].to_vec());
        if self.config.one_coin {
            result.skills = Some(self.model[table + k..].iter().map(|&s| Some(s)).collect());
        }
        let mut report = FitReport::new(self.iterations, reason, self.loss_history.clone());
        report.elapsed = Duration::ZERO;
        result.report = report;
        Ok(result)
    }

    /// The names of the run's tasks, workers and labels (each in code order, which must be
    /// the canonical order: checked), for the result writers; after `init`'s statistics.
    pub fn names(
        &self,
        tasks: Vec<String>,
        workers: Vec<String>,
        labels: Vec<String>,
    ) -> Result<Names> {
        let (_, n_workers, k) = self.layout.sizes();
        if self.answers.len() != n_workers * k {
            bail!("names before init");
        }
        let observed = self.answers.iter().map(|&a| a > 0.0).collect();
        Names::new(&self.layout, tasks, workers, labels, observed)
    }

    /// The models each shard steps on, after `init`, to make the result's posterior current
    /// (for an engine that keeps no shard between passes, as Spark): the model before the
    /// last, twice (the first step computes its posterior, the second makes it current), or
    /// none when the fit stopped at the initialisation.
    pub fn result_models(&self) -> Vec<&[f64]> {
        match &self.model_before {
            Some(before) => vec![before, before],
            None => Vec::new(),
        }
    }

    fn check_count(&self, n: usize) -> Result<()> {
        if n != self.layout.ranges.len() {
            bail!(
                "{n} shards' buffers, the plan has {}",
                self.layout.ranges.len()
            );
        }
        Ok(())
    }

    /// Counts added as `0 + shard 0 + shard 1 + …`, chunk partials in global chunk order; the
    /// answer counts taken from `init`.
    fn merge(&mut self, stats: &[&[f64]], init: bool) -> Result<Merged> {
        self.check_count(stats.len())?;
        let layout = &self.layout;
        let (table, k) = (layout.table(), layout.n_labels);
        let mut counts = vec![0.0; table];
        let mut partials = Vec::with_capacity(layout.n_tasks.div_ceil(TASK_CHUNK) * stride(k));
        let mut answers = vec![0.0; if init { layout.n_workers * k } else { 0 }];
        for (s, buffer) in stats.iter().enumerate() {
            let (expected, chunks) = (layout.header(s, init), layout.chunks(s).1);
            if buffer.len() != layout.stats_len(s, init) || buffer[..HEADER] != expected {
                bail!(
                    "statistics #{s}: expected shard {s}'s {} statistics ({} values), got header {:?} and {} values",
                    if init { "init" } else { "step" },
                    layout.stats_len(s, init),
                    &buffer[..HEADER.min(buffer.len())],
                    buffer.len()
                );
            }
            let body = &buffer[HEADER..];
            for (n, &b) in counts.iter_mut().zip(&body[..table]) {
                *n += b;
            }
            let partial_len = chunks * stride(k);
            partials.extend_from_slice(&body[table..table + partial_len]);
            for (a, &b) in answers.iter_mut().zip(&body[table + partial_len..]) {
                *a += b;
            }
        }
        if init {
            self.n_responses = answers.iter().sum();
            self.answers = answers;
        }
        Ok(Merged { counts, partials })
    }

    /// The M-step of workers `workers`: `table` holds their merged count tables (one K × K
    /// block each), made error matrices in place; returns their one-coin skills (zeros for
    /// the full model). The same arithmetic for the driver and for a reduce-scatter's owners.
    fn workers_m_step(&self, table: &mut [f64], workers: Range<usize>) -> Vec<f64> {
        let k = self.layout.n_labels;
        let answers = &self.answers[workers.start * k..workers.end * k];
        workers_m_step(&self.config, k, table, answers)
    }

    /// The model: error matrices `table`, priors from the chunk partials, skills.
    fn m_step(&self, partials: &[f64], mut table: Vec<f64>, skills: &[f64]) -> Vec<f64> {
        let (n_tasks, _, k) = self.layout.sizes();
        let mut priors = vec![0.0; k];
        for partial in partials.chunks_exact(stride(k)) {
            for (p, &s) in priors.iter_mut().zip(partial) {
                *p += s;
            }
        }
        priors.iter_mut().for_each(|p| *p /= n_tasks as f64);
        table.extend_from_slice(&priors);
        table.extend_from_slice(skills);
        table
    }

    /// The step's posterior becomes current: new priors and M-step; Σ q ln q kept for the next
    /// ELBO.
    fn accept(&mut self, partials: &[f64], table: Vec<f64>, skills: &[f64]) {
        let k = self.layout.n_labels;
        self.pending_neg_entropy = partials
            .chunks_exact(stride(k))
            .fold(0.0, |sum, p| sum + p[k + 1]);
        let model = self.m_step(partials, table, skills);
        self.model_before = Some(std::mem::replace(&mut self.model, model));
    }
}

/// The M-step of some workers (see [`Driver::workers_m_step`]): `table` holds their count
/// tables (K × K each), `answers` their answers per label (K each), in the same order.
fn workers_m_step(config: &Config, k: usize, table: &mut [f64], answers: &[f64]) -> Vec<f64> {
    let mut skills = vec![0.0; answers.len() / k];
    for ((matrix, answers), skill) in table
        .chunks_exact_mut(k * k)
        .zip(answers.chunks_exact(k))
        .zip(skills.iter_mut())
    {
        let seen: Vec<bool> = answers.iter().map(|&a| a > 0.0).collect();
        if config.one_coin {
            let responses = answers.iter().sum::<f64>() as usize;
            *skill = one_coin(matrix, &seen, responses, k);
        } else {
            normalise_columns(matrix, &seen, k);
        }
    }
    skills
}

/// The names of a sharded run's tasks, workers and labels, in code order, and which labels each
/// worker used: what the result writers ([`crate::output::write_csv`],
/// [`crate::output::write_json`]) need, without the table in one place. Built by
/// [`Driver::names`].
#[derive(Debug, Clone)]
pub struct Names {
    tasks: Vec<String>,
    workers: Vec<String>,
    labels: Vec<String>,
    /// Worker × label: whether the worker gave that label.
    observed: Vec<bool>,
}

impl Names {
    /// Checks the names against `layout`'s sizes and the canonical order.
    fn new(
        layout: &Layout,
        tasks: Vec<String>,
        workers: Vec<String>,
        labels: Vec<String>,
        observed: Vec<bool>,
    ) -> Result<Self> {
        let (n_tasks, n_workers, k) = layout.sizes();
        for (what, names, n) in [
            ("task", &tasks, n_tasks),
            ("worker", &workers, n_workers),
            ("label", &labels, k),
        ] {
            if names.len() != n {
                bail!("{} {what} names for {n} {what}s", names.len());
            }
            check_canonical(what, names)?;
        }
        Ok(Self {
            tasks,
            workers,
            labels,
            observed,
        })
    }
}

impl crate::output::TaskLabelNames for Names {
    fn task_name(&self, t: usize) -> &str {
        &self.tasks[t]
    }
    fn label_name(&self, l: usize) -> &str {
        &self.labels[l]
    }
    fn label_names(&self) -> Vec<&str> {
        self.labels.iter().map(String::as_str).collect()
    }
}

impl crate::output::ResultNames for Names {
    fn worker_name(&self, w: usize) -> &str {
        &self.workers[w]
    }
    fn n_workers(&self) -> usize {
        self.workers.len()
    }
    fn observed_labels(&self, w: usize) -> Vec<usize> {
        let k = self.labels.len();
        let row = &self.observed[w * k..][..k];
        (0..k).filter(|&l| row[l]).collect()
    }
}

/// Checks that `names` are distinct and in the canonical order of [`crate::Responses`] (the
/// label order rule), so that code `i` is the `i`-th name there too.
fn check_canonical(what: &str, names: &[String]) -> Result<()> {
    let numeric = names.iter().all(|s| parse_int(s).is_some());
    match names
        .windows(2)
        .position(|pair| compare_names(&pair[0], &pair[1], numeric) != std::cmp::Ordering::Less)
    {
        None => Ok(()),
        Some(i) => Err(buffer_error!(
            "{what} names are not in canonical order: {:?} (code {i}) before {:?} (the label \
             order rule: numeric when every name is an integer, else byte order)",
            names[i],
            names[i + 1]
        )
        .into()),
    }
}

/// The answers of `range`'s tasks in a loaded table, as the global codes [`Shard::new`] takes
/// (task ids, worker ids, label ids), in canonical order.
pub fn shard_codes(data: &Responses, range: Range<usize>) -> (Vec<i64>, Vec<i64>, Vec<i64>) {
    let by_task = data.by_task();
    let span = by_task.range(range.start).start..by_task.range(range.end - 1).end;
    let mut tasks = Vec::with_capacity(span.len());
    for t in range {
        tasks.extend(std::iter::repeat_n(t as i64, by_task.range(t).len()));
    }
    let workers = by_task.ids()[span.clone()]
        .iter()
        .map(|&w| i64::from(w))
        .collect();
    let labels = by_task.labels()[span]
        .iter()
        .map(|&l| i64::from(l))
        .collect();
    (tasks, workers, labels)
}

/// The whole protocol in this process, shard after shard: what an engine adapter does with one
/// shard per process. `gold` is each task's true label, if known. For tests and examples.
pub fn run_in_process(
    config: &Config,
    data: &Responses,
    gold: Option<&[Option<Label>]>,
    shards: usize,
) -> Result<Aggregation> {
    let (layout, mut parts) = build_shards(config, data, gold, shards)?;
    let mut driver = Driver::new(*config, layout);
    let mut stats: Vec<Vec<f64>> = parts.iter_mut().map(Shard::init).collect();
    while let Some(model) = driver.update(&stats.iter().map(Vec::as_slice).collect::<Vec<_>>())? {
        let model = model.to_vec();
        stats = parts
            .iter_mut()
            .map(|shard| shard.step(&model))
            .collect::<Result<_>>()?;
    }
    let posteriors: Vec<&[f64]> = parts.iter().map(Shard::posteriors).collect();
    driver.finish(&posteriors)
}

/// The layout of a `shards`-way run of `data` and its shards, built from global codes.
fn build_shards(
    config: &Config,
    data: &Responses,
    gold: Option<&[Option<Label>]>,
    shards: usize,
) -> Result<(Layout, Vec<Shard>)> {
    let layout = Layout::new(data.n_tasks(), data.n_workers(), data.n_labels(), shards)?;
    let mut parts = Vec::with_capacity(layout.shards().len());
    for (s, range) in layout.shards().iter().enumerate() {
        let codes = shard_codes(data, range.clone());
        let (gold_tasks, gold_labels): (Vec<i64>, Vec<i64>) = gold
            .map(|g| {
                range
                    .clone()
                    .filter_map(|t| g[t].map(|l| (t as i64, i64::from(l))))
                    .unzip()
            })
            .unwrap_or_default();
        let gold = gold.map(|_| (&gold_tasks[..], &gold_labels[..]));
        parts.push(Shard::new(
            config,
            &layout,
            s,
            (&codes.0, &codes.1, &codes.2),
            gold,
        )?);
    }
    Ok((layout, parts))
}
