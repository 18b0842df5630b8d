//! What the per-row tables share ([`TextResponses`](crate::TextResponses),
//! [`EmbeddingResponses`](crate::EmbeddingResponses),
//! [`SegmentationResponses`](crate::SegmentationResponses)): task and worker names interned to
//! dense ids, renumbered in the crate's canonical order when the table is built, and the rows of
//! each task in input order. Each table keeps its own payload (texts, embeddings, masks) by row.

use crate::error::DataError;
use crate::responses::{Interner, canonical, intern};

/// Task and worker keys of the rows pushed so far, by name.
#[derive(Debug, Default)]
pub(crate) struct RowKeysBuilder {
    tasks: Interner,
    workers: Interner,
    task_of: Vec<u32>,
    worker_of: Vec<u32>,
}

impl RowKeysBuilder {
    /// Number of rows pushed so far.
    pub(crate) fn len(&self) -> usize {
        self.task_of.len()
    }

    /// The number `push` gives the next row (from 1), for error messages.
    pub(crate) fn next_record(&self) -> u64 {
        self.task_of.len() as u64 + 1
    }

    /// Checks a row's keys before its payload is: non-empty task and worker, and ids left.
    pub(crate) fn check(&self, task: &str, worker: &str) -> Result<(), DataError> {
        let record = self.next_record();
        for (field, value) in [("task", task), ("worker", worker)] {
            if value.is_empty() {
                return Err(DataError::EmptyField { field, record });
            }
        }
        for (set, what) in [(&self.tasks, "tasks"), (&self.workers, "workers")] {
            if set.len() as u64 > u64::from(u32::MAX) {
                return Err(DataError::TooManyIds {
                    what,
                    max: u64::from(u32::MAX) + 1,
                });
            }
        }
        if self.task_of.len() as u64 >= u64::from(u32::MAX) {
            return Err(DataError::TooManyIds {
                what: "responses",
                max: u64::from(u32::MAX),
            });
        }
        Ok(())
    }

    /// The builder id of `task` (interned if new), for per-task checks of the payload.
    pub(crate) fn task_id(&mut self, task: &str) -> u32 {
        intern(&mut self.tasks, task)
    }

    /// Appends a row of builder task id `task` (from [`RowKeysBuilder::task_id`]) and `worker`.
    pub(crate) fn push(&mut self, task: u32, worker: &str) {
        self.task_of.push(task);
        self.worker_of.push(intern(&mut self.workers, worker));
    }

    /// Renumbers tasks and workers canonically and indexes the rows by task.
    pub(crate) fn build(self) -> RowKeys {
        let (tasks, task_rank, _) = canonical(self.tasks);
        let (workers, worker_rank, _) = canonical(self.workers);
        let task_of: Vec<u32> = self
            .task_of
            .iter()
            .map(|&t| task_rank[t as usize])
            .collect();
        let worker_of: Vec<u32> = self
            .worker_of
            .iter()
            .map(|&w| worker_rank[w as usize])
            .collect();
        let mut task_offsets = vec![0usize; tasks.len() + 1];
        for &t in &task_of {
            task_offsets[t as usize + 1] += 1;
        }
        for t in 0..tasks.len() {
            task_offsets[t + 1] += task_offsets[t];
        }
        let mut next = task_offsets.clone();
        let mut task_rows = vec![0u32; task_of.len()];
        for (row, &t) in task_of.iter().enumerate() {
            task_rows[next[t as usize]] = row as u32;
            next[t as usize] += 1;
        }
        RowKeys {
            tasks,
            workers,
            task_of,
            worker_of,
            task_offsets,
            task_rows,
        }
    }
}

/// The keys of a built table; the table moves them into its own fields.
pub(crate) struct RowKeys {
    pub(crate) tasks: Interner,
    pub(crate) workers: Interner,
    pub(crate) task_of: Vec<u32>,
    pub(crate) worker_of: Vec<u32>,
    /// Rows of task `t`: `task_rows[task_offsets[t]..task_offsets[t + 1]]`, in input order.
    pub(crate) task_offsets: Vec<usize>,
    pub(crate) task_rows: Vec<u32>,
}
