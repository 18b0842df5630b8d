//! The reduce-scatter by worker range: the per-worker statistics (W × K × K count tables) go
//! to R owners instead of one driver, with the bits of the driver's merge.
//!
//! The workers are cut into R contiguous ranges ([`worker_ranges`]). Per pass, a shard's
//! statistics split into a **head** (its header and the chunk partials: priors, ELBO; small)
//! for the driver and one **slice** per range (the count-table rows of the range's workers,
//! and after `init` their answers per label) for the range's [`Owner`]
//! ([`Shard::init_scattered`], [`Shard::step_scattered`]). The owner adds the P slices as
//! `0 + shard 0 + shard 1 + …`, each value the same sum as the driver's merge in the same
//! order, so the same bits; then runs the M-step of its workers (the driver's code) and
//! returns its **model slice**: a header `[range, pass]` (checked by the driver like the slice
//! headers), error matrices and skills of its workers (after `init`, also their answers, which
//! the driver keeps for the stop rule's answer count, the writers and the recovery of an
//! owner). [`Driver::update_scattered`] takes the heads and the model slices in
//! range order and returns the full model (the slices concatenated, the priors from the heads),
//! as [`Driver::update`] would have.
//!
//! Traffic per iteration: each shard sends `8·W·K²` bytes in total, split among the owners,
//! each owner receives `P` slices of `8·W_r·K²` and sends `8·W_r·(K² + 1)`; the driver
//! receives one model's worth (`8·W·(K² + 1)`) instead of P tables.

use std::ops::Range;

use super::{Config, Driver, HEADER, Layout, Shard, workers_m_step};
use crate::aggregation::Aggregation;
use crate::error::Result;
use crate::methods::dawid_skene::{TASK_CHUNK, stride};
use crate::responses::{Label, Responses};

/// Length of a slice's header: `[shard, range, pass]`.
const SLICE_HEADER: usize = 3;

/// Length of a model slice's header: `[range, pass]` (pass 0 for `init`, 1 for a step), so
/// that the driver notices a model slice of another range even when every range has the same
/// length.
const MODEL_SLICE_HEADER: usize = 2;

/// The most owners a reduce-scatter takes when there are fewer workers: ranges past the last
/// worker are empty (each owner still gets one small slice per shard), allowed so that any
/// cluster up to this many processes can own ranges of a small run; beyond it, one owner per
/// worker at most.
pub const MAX_EMPTY_OWNERS: usize = 1 << 16;

/// `owners` valid for a run of `n_workers` workers: `1 ≤ owners ≤ max(n_workers,`
/// [`MAX_EMPTY_OWNERS`]`)` (a bad count from a caller is an error before anything is allocated
/// per owner).
pub fn check_owners(n_workers: usize, owners: usize) -> Result<()> {
    let limit = n_workers.max(MAX_EMPTY_OWNERS);
    if owners == 0 || owners > limit {
        bail!(
            "{owners} owners: a reduce-scatter over {n_workers} workers takes 1 to {limit} owners"
        );
    }
    Ok(())
}

/// Range `r` of [`worker_ranges`]`(n_workers, owners)` in O(1) (`None` when `r ≥ owners`; the
/// caller has checked `owners` with [`check_owners`]).
pub fn worker_range(n_workers: usize, owners: usize, r: usize) -> Option<Range<usize>> {
    if r >= owners {
        return None;
    }
    let (base, longer) = (n_workers / owners, n_workers % owners);
    // r ≤ owners and r · base ≤ n_workers: no overflow.
    let start = r * base + r.min(longer);
    Some(start..start + base + usize::from(r < longer))
}

/// The worker ranges of a reduce-scatter over `owners` owners: `0..n_workers` cut into
/// `owners` contiguous ranges whose lengths differ by at most one (the first
/// `n_workers % owners` are the longer); with more owners than workers the last ranges are
/// empty. An error unless [`check_owners`] accepts `owners`.
pub fn worker_ranges(n_workers: usize, owners: usize) -> Result<Vec<Range<usize>>> {
    check_owners(n_workers, owners)?;
    Ok((0..owners)
        .filter_map(|r| worker_range(n_workers, owners, r))
        .collect())
}

/// The workers of owner `index` of `owners` (checked).
fn owner_range(n_workers: usize, owners: usize, index: usize) -> Result<Range<usize>> {
    check_owners(n_workers, owners)?;
    worker_range(n_workers, owners, index)
        .ok_or_else(|| buffer_error!("owner {index} of {owners} owners").into())
}

/// A shard's statistics of one pass, split for a reduce-scatter: the head for the driver and
/// one slice per worker range, in range order.
#[derive(Debug, Clone, PartialEq)]
pub struct Scattered {
    /// `[shard, first chunk, chunks, pass]` and the chunk partials.
    pub head: Vec<f64>,
    /// Per range r: `[shard, r, pass]`, the count-table rows of the range's workers
    /// (`W_r × K × K`), and after `init` their answers per label (`W_r × K`).
    pub slices: Vec<Vec<f64>>,
}

impl Shard {
    /// [`Shard::init`], its statistics split for `owners` owners.
    pub fn init_scattered(&mut self, owners: usize) -> Result<Scattered> {
        let ranges = worker_ranges(self.layout.n_workers, owners)?;
        let stats = self.init();
        Ok(self.split(&stats, &ranges, true))
    }

    /// [`Shard::step`], its statistics split for `owners` owners.
    pub fn step_scattered(&mut self, model: &[f64], owners: usize) -> Result<Scattered> {
        let ranges = worker_ranges(self.layout.n_workers, owners)?;
        let stats = self.step(model)?;
        Ok(self.split(&stats, &ranges, false))
    }

    fn split(&self, stats: &[f64], ranges: &[Range<usize>], init: bool) -> Scattered {
        let layout = &self.layout;
        let (table, k) = (layout.table(), layout.n_labels);
        let body = &stats[HEADER..];
        let partials_len = layout.chunks(self.index).1 * stride(k);
        let mut head = stats[..HEADER].to_vec();
        head.extend_from_slice(&body[table..table + partials_len]);
        let answers = &body[table + partials_len..];
        let pass = stats[HEADER - 1];
        let slices = ranges
            .iter()
            .enumerate()
            .map(|(r, workers)| {
                let mut slice = vec![self.index as f64, r as f64, pass];
                slice.extend_from_slice(&body[workers.start * k * k..workers.end * k * k]);
                if init {
                    slice.extend_from_slice(&answers[workers.start * k..workers.end * k]);
                }
                slice
            })
            .collect();
        Scattered { head, slices }
    }
}

/// The owner of worker range `index` of a reduce-scatter: adds the shards' slices of its
/// range in shard order and runs its workers' M-step (see the [`crate::shard`] module docs).
#[derive(Debug, Clone)]
pub struct Owner {
    config: Config,
    layout: Layout,
    index: usize,
    workers: Range<usize>,
    /// Answers per label of the range's workers, from `init`'s slices (or [`Owner::restore`]).
    answers: Option<Vec<f64>>,
}

impl Owner {
    /// The owner of range `index` of [`worker_ranges`]`(W, owners)` in a run of `layout`.
    pub fn new(config: Config, layout: Layout, owners: usize, index: usize) -> Result<Self> {
        let workers = owner_range(layout.n_workers, owners, index)?;
        Ok(Self {
            config,
            layout,
            index,
            workers,
            answers: None,
        })
    }

    /// The workers this owner M-steps.
    pub fn workers(&self) -> Range<usize> {
        self.workers.clone()
    }

    /// Every shard's slice of this range from one pass (all of `init`, or all of a `step`),
    /// in shard order → the model slice: `[range, pass]`, the error matrices of the range's workers
    /// (`W_r × K × K`), their skills (`W_r`, zeros for the full model), and after `init` their
    /// answers per label (`W_r × K`), for [`Driver::update_scattered`].
    pub fn reduce(&mut self, slices: &[&[f64]]) -> Result<Vec<f64>> {
        let k = self.layout.n_labels;
        let (n_rows, n_shards) = (self.workers.len(), self.layout.ranges.len());
        if slices.len() != n_shards {
            bail!(
                "owner {}: {} slices, the plan has {n_shards} shards",
                self.index,
                slices.len()
            );
        }
        let init = slices.first().and_then(|s| s.get(2)) == Some(&0.0);
        let counts_len = n_rows * k * k;
        let answers_len = if init { n_rows * k } else { 0 };
        let mut counts = vec![0.0; counts_len];
        let mut answers = vec![0.0; answers_len];
        for (s, slice) in slices.iter().enumerate() {
            let expected = [s as f64, self.index as f64, if init { 0.0 } else { 1.0 }];
            if slice.len() != SLICE_HEADER + counts_len + answers_len
                || slice[..SLICE_HEADER] != expected
            {
                bail!(
                    "slice #{s}: expected shard {s}'s {} slice of range {} ({} values), got header {:?} and {} values",
                    if init { "init" } else { "step" },
                    self.index,
                    SLICE_HEADER + counts_len + answers_len,
                    &slice[..SLICE_HEADER.min(slice.len())],
                    slice.len()
                );
            }
            let body = &slice[SLICE_HEADER..];
            for (n, &b) in counts.iter_mut().zip(&body[..counts_len]) {
                *n += b;
            }
            for (a, &b) in answers.iter_mut().zip(&body[counts_len..]) {
                *a += b;
            }
        }
        if init {
            self.answers = Some(answers);
        }
        let Some(answers) = &self.answers else {
            bail!("owner {}: step slices before init (or restore)", self.index);
        };
        let skills = workers_m_step(&self.config, k, &mut counts, answers);
        let mut model_slice =
            Vec::with_capacity(MODEL_SLICE_HEADER + counts.len() + skills.len() + answers_len);
        model_slice.extend_from_slice(&[self.index as f64, if init { 0.0 } else { 1.0 }]);
        model_slice.extend_from_slice(&counts);
        model_slice.extend_from_slice(&skills);
        if init {
            model_slice.extend_from_slice(answers);
        }
        Ok(model_slice)
    }

    /// A rebuilt owner: the answers of its workers as the driver kept them
    /// ([`Driver::owner_answers`]); it then takes step slices.
    pub fn restore(&mut self, answers: &[f64]) -> Result<()> {
        let expected = self.workers.len() * self.layout.n_labels;
        if answers.len() != expected {
            bail!(
                "owner {}: {} answer counts, expected {expected}",
                self.index,
                answers.len()
            );
        }
        self.answers = Some(answers.to_vec());
        Ok(())
    }
}

impl Driver {
    /// [`Driver::update`] for a reduce-scatter over `model_slices.len()` owners: the heads of
    /// every shard in shard order and the model slice of every owner in range order (from the
    /// same pass) → the model every shard steps on next, or `None` when finished.
    pub fn update_scattered(
        &mut self,
        heads: &[&[f64]],
        model_slices: &[&[f64]],
    ) -> Result<Option<&[f64]>> {
        let init = self.check_running()?;
        self.check_count(heads.len())?;
        if model_slices.is_empty() {
            return Err(buffer_error!("no model slices (one owner at least)").into());
        }
        let layout = &self.layout;
        let k = layout.n_labels;
        let mut partials = Vec::with_capacity(layout.n_tasks.div_ceil(TASK_CHUNK) * stride(k));
        for (s, head) in heads.iter().enumerate() {
            let (expected, chunks) = (layout.header(s, init), layout.chunks(s).1);
            if head.len() != HEADER + chunks * stride(k) || head[..HEADER] != expected {
                bail!(
                    "head #{s}: expected shard {s}'s {} head ({} values), got header {:?} and {} values",
                    if init { "init" } else { "step" },
                    HEADER + chunks * stride(k),
                    &head[..HEADER.min(head.len())],
                    head.len()
                );
            }
            partials.extend_from_slice(&head[HEADER..]);
        }
        let ranges = worker_ranges(layout.n_workers, model_slices.len())?;
        let mut table = Vec::with_capacity(layout.table());
        let mut skills = Vec::with_capacity(layout.n_workers);
        let mut answers = Vec::with_capacity(if init { layout.n_workers * k } else { 0 });
        for (r, (slice, workers)) in model_slices.iter().zip(&ranges).enumerate() {
            let rows = workers.len();
            let expected_len =
                MODEL_SLICE_HEADER + rows * (k * k + 1) + if init { rows * k } else { 0 };
            let expected = [r as f64, if init { 0.0 } else { 1.0 }];
            if slice.len() != expected_len || slice[..MODEL_SLICE_HEADER] != expected {
                bail!(
                    "model slice #{r}: expected range {r}'s {} model slice ({expected_len} values, workers {workers:?}), got header {:?} and {} values",
                    if init { "init" } else { "step" },
                    &slice[..MODEL_SLICE_HEADER.min(slice.len())],
                    slice.len()
                );
            }
            let slice = &slice[MODEL_SLICE_HEADER..];
            table.extend_from_slice(&slice[..rows * k * k]);
            skills.extend_from_slice(&slice[rows * k * k..rows * (k * k + 1)]);
            answers.extend_from_slice(&slice[rows * (k * k + 1)..]);
        }
        if init {
            self.n_responses = answers.iter().sum();
            self.answers = answers;
        }
        self.advance(partials, move |_| Ok((table, skills)))
    }

    /// For rebuilding owner `index` of `owners`: the answers per label of its workers (after
    /// `init`), for [`Owner::restore`].
    pub fn owner_answers(&self, owners: usize, index: usize) -> Result<&[f64]> {
        let k = self.layout.n_labels;
        let workers = owner_range(self.layout.n_workers, owners, index)?;
        self.answers
            .get(workers.start * k..workers.end * k)
            .ok_or_else(|| buffer_error!("owner answers before init").into())
    }
}

/// [`run_in_process`](super::run_in_process) with a reduce-scatter over `owners` owners:
/// what an engine adapter does with shards and owners spread over processes. For tests and
/// examples.
pub fn run_scattered_in_process(
    config: &Config,
    data: &Responses,
    gold: Option<&[Option<Label>]>,
    shards: usize,
    owners: usize,
) -> Result<Aggregation> {
    let (layout, mut parts) = super::build_shards(config, data, gold, shards)?;
    check_owners(layout.n_workers, owners)?;
    let mut owner_list = (0..owners)
        .map(|r| Owner::new(*config, layout.clone(), owners, r))
        .collect::<Result<Vec<_>>>()?;
    let mut driver = Driver::new(*config, layout);
    let mut scattered: Vec<Scattered> = parts
        .iter_mut()
        .map(|shard| shard.init_scattered(owners))
        .collect::<Result<_>>()?;
    loop {
        let heads: Vec<&[f64]> = scattered.iter().map(|s| s.head.as_slice()).collect();
        let model_slices = owner_list
            .iter_mut()
            .enumerate()
            .map(|(r, owner)| {
                let slices: Vec<&[f64]> =
                    scattered.iter().map(|s| s.slices[r].as_slice()).collect();
                owner.reduce(&slices)
            })
            .collect::<Result<Vec<_>>>()?;
        let model_slices: Vec<&[f64]> = model_slices.iter().map(Vec::as_slice).collect();
        let Some(model) = driver.update_scattered(&heads, &model_slices)? else {
            break;
        };
        let model = model.to_vec();
        scattered = parts
            .iter_mut()
            .map(|shard| shard.step_scattered(&model, owners))
            .collect::<Result<_>>()?;
    }
    let posteriors: Vec<&[f64]> = parts.iter().map(Shard::posteriors).collect();
    driver.finish(&posteriors)
}
