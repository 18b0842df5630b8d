//! What the per-row tables share ([`TextResponses`](crate::TextResponses),
//! [`EmbeddingResponses`](crate::EmbeddingResponses),
//! [`SegmentationResponses`](crate::SegmentationResponses)): task and worker names interned to
//! dense ids, renumbered in the crate's canonical order when the table is built, and the rows of
//! each task in input order. Each table keeps its own payload (texts, embeddings, masks) by row,
//! holds a [`RowKeys`] in its `keys` field and gets the accessors of the keys from
//! [`row_key_accessors`] (its builder, which holds a [`RowKeysBuilder`] in `keys`, gets `len`
//! and `is_empty` from [`row_builder_len`]), so that every table answers the same questions
//! the same way.

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

/// The keys of a built table, kept whole in the table's `keys` field.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RowKeys {
    pub(crate) tasks: Interner,
    pub(crate) workers: Interner,
    pub(crate) task_of: Vec<u32>,
    pub(crate) worker_of: Vec<u32>,
    /// Rows of task `t`: `task_rows[task_offsets[t]..task_offsets[t + 1]]`, in input order.
    pub(crate) task_offsets: Vec<usize>,
    pub(crate) task_rows: Vec<u32>,
}

impl RowKeys {
    /// The first (task, worker) pair answered twice, as the two 0-based rows.
    pub(crate) fn first_duplicate(&self) -> Option<(usize, usize)> {
        let mut seen = rustc_hash::FxHashMap::default();
        for (row, key) in self.task_of.iter().zip(&self.worker_of).enumerate() {
            if let Some(&first) = seen.get(&key) {
                return Some((first, row));
            }
            seen.insert(key, row);
        }
        None
    }
}

/// The public accessors of a table's task and worker keys (its `keys: RowKeys` field), written
/// once for every per-row table; expanded inside the table's `impl` block.
macro_rules! row_key_accessors {
    () => {
        /// Number of distinct tasks.
        pub fn n_tasks(&self) -> usize {
            self.keys.tasks.len()
        }

        /// Number of distinct workers.
        pub fn n_workers(&self) -> usize {
            self.keys.workers.len()
        }

        /// Number of rows (responses).
        pub fn len(&self) -> usize {
            self.keys.task_of.len()
        }

        /// Whether there are no rows.
        pub fn is_empty(&self) -> bool {
            self.keys.task_of.is_empty()
        }

        /// Task id of row `row` (rows are numbered from 0 in input order).
        pub fn task(&self, row: usize) -> usize {
            self.keys.task_of[row] as usize
        }

        /// Worker id of row `row`.
        pub fn worker(&self, row: usize) -> usize {
            self.keys.worker_of[row] as usize
        }

        /// The rows of task `task`, in input order.
        pub fn task_rows(&self, task: usize) -> &[u32] {
            let offsets = &self.keys.task_offsets;
            &self.keys.task_rows[offsets[task]..offsets[task + 1]]
        }

        /// The name of task `task`.
        pub fn task_name(&self, task: usize) -> &str {
            &self.keys.tasks[task]
        }

        /// The name of worker `worker`.
        pub fn worker_name(&self, worker: usize) -> &str {
            &self.keys.workers[worker]
        }

        /// Task names in id (canonical) order.
        pub fn task_names(&self) -> impl ExactSizeIterator<Item = &str> {
            self.keys.tasks.iter().map(|s| &**s)
        }

        /// Worker names in id (canonical) order.
        pub fn worker_names(&self) -> impl ExactSizeIterator<Item = &str> {
            self.keys.workers.iter().map(|s| &**s)
        }

        /// The id of the task called `name`.
        pub fn task_id(&self, name: &str) -> Option<usize> {
            self.keys.tasks.get_index_of(name)
        }

        /// The id of the worker called `name`.
        pub fn worker_id(&self, name: &str) -> Option<usize> {
            self.keys.workers.get_index_of(name)
        }
    };
}
pub(crate) use row_key_accessors;

/// `len` and `is_empty` of a table's builder (its `keys: RowKeysBuilder` field); expanded
/// inside the builder's `impl` block.
macro_rules! row_builder_len {
    () => {
        /// Number of rows pushed so far.
        pub fn len(&self) -> usize {
            self.keys.len()
        }

        /// Whether nothing was pushed.
        pub fn is_empty(&self) -> bool {
            self.keys.len() == 0
        }
    };
}
pub(crate) use row_builder_len;
