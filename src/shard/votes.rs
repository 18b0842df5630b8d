//! Majority vote and Wawa on shards: single passes, with the same protocol (and the same
//! Python classes) as Dawid-Skene.
//!
//! Every number of these methods is either per task (vote shares, normalised, the label with
//! its tie rule) or an integer count per worker (answers graded against the majority label,
//! and those that agree), so any plan gives the bits of the single-machine fit: the counts are
//! exact in `f64` up to 2⁵³, whatever the order of the sum. Per shard:
//!
//! * [`VoteShard::init`]: the plain vote of its tasks (kept as its posterior) and, per worker,
//!   (graded, agreed) against the plain majority labels;
//! * [`VoteShard::step`] (Wawa only): the vote weighted by the skills the driver sends (the
//!   worker's agreement rate), kept as its posterior.
//!
//! The [`VoteDriver`] adds the counts, makes the skills, and for Wawa sends them once.

use crate::aggregation::{Aggregation, StopReason};
use crate::error::Result;
use crate::methods::votes::{counts, normalize_rows, weighted_votes, worker_agreement};
use crate::responses::Responses;

use super::Layout;

/// Majority vote, or Wawa (the vote weighted by each worker's agreement with it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Vote {
    /// `MajorityVote` without skills.
    Majority,
    /// `Wawa`.
    Wawa,
}

/// Header of a vote shard's statistics: `[shard, pass]`.
const HEADER: usize = 2;

/// One shard of a vote: its tasks' answers (global worker and label ids) and its posterior.
#[derive(Debug)]
pub struct VoteShard {
    index: usize,
    layout: Layout,
    data: Responses,
    shares: Vec<f64>,
}

impl VoteShard {
    /// Shard `index` of `layout` from its answers with global ids (as [`super::Shard::new`]).
    pub fn new(
        layout: &Layout,
        index: usize,
        (tasks, workers, labels): (&[i64], &[i64], &[i64]),
    ) -> Result<Self> {
        let (range, local) = super::local_tasks(layout, index, tasks)?;
        let data = Responses::from_shard_codes(
            (range.len(), layout.n_workers, layout.n_labels),
            (&local, workers, labels),
        )?;
        Ok(Self {
            index,
            layout: layout.clone(),
            data,
            shares: Vec::new(),
        })
    }

    /// The plain vote (kept as the posterior) and its statistics: `[shard, 0]`, then per
    /// worker the answers graded against the majority labels and those that agree (distinct
    /// (task, label) pairs, as the single-machine skills).
    pub fn init(&mut self) -> Vec<f64> {
        let shares = normalize_rows(counts(&self.data));
        let result = Aggregation::from_probabilities(shares);
        let truth: Vec<_> = result.labels.iter().map(|&l| Some(l)).collect();
        let mut stats = Vec::with_capacity(HEADER + 2 * self.layout.n_workers);
        stats.extend([self.index as f64, 0.0]);
        for (graded, agreed) in worker_agreement(&self.data, &truth) {
            stats.extend([graded as f64, agreed as f64]);
        }
        self.shares = result
            .probabilities
            .expect("a vote has shares")
            .into_raw_vec_and_offset()
            .0;
        stats
    }

    /// The vote weighted by `skills` (a [`VoteDriver::update`] buffer: one per worker, NaN for
    /// a worker without one, whose answers do not count), kept as the posterior; statistics
    /// `[shard, 1]`.
    pub fn step(&mut self, skills: &[f64]) -> Result<Vec<f64>> {
        if skills.len() != self.layout.n_workers {
            bail!(
                "{} skills for {} workers",
                skills.len(),
                self.layout.n_workers
            );
        }
        let weights: Vec<Option<f64>> =
            skills.iter().map(|&s| (!s.is_nan()).then_some(s)).collect();
        let shares = normalize_rows(weighted_votes(&self.data, &weights));
        self.shares = shares.into_raw_vec_and_offset().0;
        Ok(vec![self.index as f64, 1.0])
    }

    /// The current vote shares of the shard's tasks, tasks × K, row-major.
    pub fn posteriors(&self) -> &[f64] {
        &self.shares
    }
}

/// The driver of a sharded vote.
#[derive(Debug, Clone)]
pub struct VoteDriver {
    vote: Vote,
    layout: Layout,
    /// `None` until `init`'s statistics; then one per worker (NaN: none).
    skills: Option<Vec<f64>>,
    done: bool,
}

impl VoteDriver {
    /// A driver of `vote` on `layout`.
    pub fn new(vote: Vote, layout: Layout) -> Self {
        Self {
            vote,
            layout,
            skills: None,
            done: false,
        }
    }

    /// The layout the driver runs.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Takes every shard's statistics in shard order; returns the skills to step on (Wawa,
    /// after `init`), or `None` when finished.
    pub fn update(&mut self, stats: &[&[f64]]) -> Result<Option<&[f64]>> {
        if self.done {
            bail!("the fit is finished");
        }
        let n = self.layout.ranges.len();
        if stats.len() != n {
            bail!("{} shards' buffers, the plan has {n}", stats.len());
        }
        let init = self.skills.is_none();
        let n_workers = self.layout.n_workers;
        let mut sums = vec![0.0; if init { 2 * n_workers } else { 0 }];
        for (s, buffer) in stats.iter().enumerate() {
            let pass = if init { 0.0 } else { 1.0 };
            if buffer.len() != HEADER + sums.len() || buffer[..HEADER] != [s as f64, pass] {
                bail!(
                    "statistics #{s}: expected shard {s}'s {} vote statistics ({} values), got \
                     {} values",
                    if init { "init" } else { "step" },
                    HEADER + sums.len(),
                    buffer.len()
                );
            }
            for (a, &b) in sums.iter_mut().zip(&buffer[HEADER..]) {
                *a += b;
            }
        }
        if init {
            let skills = sums
                .chunks_exact(2)
                .map(|c| if c[0] > 0.0 { c[1] / c[0] } else { f64::NAN })
                .collect();
            self.skills = Some(skills);
            if self.vote == Vote::Wawa {
                return Ok(self.skills.as_deref());
            }
        }
        self.done = true;
        Ok(None)
    }

    /// The skills (after `init`'s statistics).
    pub fn model(&self) -> &[f64] {
        self.skills.as_deref().unwrap_or(&[])
    }

    /// The models each shard steps on, after `init`, to make the result's posterior current
    /// (for an engine that keeps no shard between passes): the skills for Wawa, none for
    /// majority vote.
    pub fn result_models(&self) -> Vec<&[f64]> {
        match self.vote {
            Vote::Wawa => self.skills.as_deref().into_iter().collect(),
            Vote::Majority => Vec::new(),
        }
    }

    /// Whether the fit is finished.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The names of the run's tasks, workers and labels (as [`super::Driver::names`]; a vote
    /// has no error matrices, so which labels each worker gave is not needed).
    pub fn names(
        &self,
        tasks: Vec<String>,
        workers: Vec<String>,
        labels: Vec<String>,
    ) -> Result<super::Names> {
        let (_, n_workers, k) = self.layout.sizes();
        super::Names::new(
            &self.layout,
            tasks,
            workers,
            labels,
            vec![false; n_workers * k],
        )
    }

    /// The result, from each shard's posterior in shard order: the shares, the labels (ties to
    /// the smallest label) and the workers' skills.
    pub fn finish(&self, posteriors: &[&[f64]]) -> Result<Aggregation> {
        let skills = match (&self.skills, self.done) {
            (Some(skills), true) => skills,
            _ => {
                return Err(buffer_error!("finish before the fit is finished").into());
            }
        };
        let probabilities = super::concat_posteriors(&self.layout, posteriors)?;
        let mut result = Aggregation::from_probabilities(probabilities);
        result.skills = Some(skills.iter().map(|&s| (!s.is_nan()).then_some(s)).collect());
        debug_assert_eq!(result.report.stop_reason, StopReason::NotIterative);
        Ok(result)
    }
}
