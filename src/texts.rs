//! Free-text responses: each worker's text for a task (a transcription, a translation), the
//! input of [`Rover`](crate::Rover).
//!
//! A [`TextResponses`] holds rows `(task, worker, text)`, crowd-kit's `task, worker, text`
//! frame. Tasks and workers are interned to dense ids in the crate's canonical order (numeric
//! order when every id parses as an integer, otherwise byte-wise order: crowd-kit's
//! `groupby("task")`); the rows of a task keep their input order, which ROVER's alignment
//! follows. Texts may be empty. Methods that choose one text by its embedding
//! ([`TextRasa`](crate::TextRasa), [`TextHrrasa`](crate::TextHrrasa)) take an
//! [`EmbeddingResponses`](crate::EmbeddingResponses) whose outputs are the texts.
//!
//! ```
//! use crowdagg::TextResponses;
//!
//! let data = TextResponses::from_rows([("t1", "w1", "a b"), ("t1", "w2", "a c")])?;
//! assert_eq!((data.n_tasks(), data.len(), data.text(1)), (1, 2, "a c"));
//! # Ok::<(), crowdagg::DataError>(())
//! ```

use crate::error::DataError;
use crate::responses::Interner;
use crate::rows::{RowKeys, RowKeysBuilder};

/// A table of texts (see the module docs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TextResponses {
    tasks: Interner,
    workers: Interner,
    task_of: Vec<u32>,
    worker_of: Vec<u32>,
    texts: Vec<Box<str>>,
    task_offsets: Vec<usize>,
    task_rows: Vec<u32>,
}

impl TextResponses {
    /// A builder to push rows into.
    pub fn builder() -> TextBuilder {
        TextBuilder::default()
    }

    /// Builds from `(task, worker, text)` rows.
    ///
    /// # Errors
    /// As [`TextBuilder::push`].
    pub fn from_rows<I, T, W, X>(rows: I) -> Result<Self, DataError>
    where
        I: IntoIterator<Item = (T, W, X)>,
        T: AsRef<str>,
        W: AsRef<str>,
        X: AsRef<str>,
    {
        let mut builder = Self::builder();
        for (t, w, x) in rows {
            builder.push(t.as_ref(), w.as_ref(), x.as_ref())?;
        }
        Ok(builder.build())
    }

    /// Number of distinct tasks.
    pub fn n_tasks(&self) -> usize {
        self.tasks.len()
    }

    /// Number of distinct workers.
    pub fn n_workers(&self) -> usize {
        self.workers.len()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.task_of.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.task_of.is_empty()
    }

    /// Task id of row `row` (rows are numbered from 0 in input order).
    pub fn task(&self, row: usize) -> usize {
        self.task_of[row] as usize
    }

    /// Worker id of row `row`.
    pub fn worker(&self, row: usize) -> usize {
        self.worker_of[row] as usize
    }

    /// Text of row `row`.
    pub fn text(&self, row: usize) -> &str {
        &self.texts[row]
    }

    /// The rows of task `task`, in input order.
    pub fn task_rows(&self, task: usize) -> &[u32] {
        &self.task_rows[self.task_offsets[task]..self.task_offsets[task + 1]]
    }

    /// The name of task `task`.
    pub fn task_name(&self, task: usize) -> &str {
        &self.tasks[task]
    }

    /// The name of worker `worker`.
    pub fn worker_name(&self, worker: usize) -> &str {
        &self.workers[worker]
    }

    /// Task names in id (canonical) order.
    pub fn task_names(&self) -> impl ExactSizeIterator<Item = &str> {
        self.tasks.iter().map(|s| &**s)
    }

    /// The id of the task called `name`.
    pub fn task_id(&self, name: &str) -> Option<usize> {
        self.tasks.get_index_of(name)
    }
}

/// Collects rows by name; [`TextBuilder::build`] renumbers ids canonically.
#[derive(Debug, Default)]
pub struct TextBuilder {
    keys: RowKeysBuilder,
    texts: Vec<Box<str>>,
}

impl TextBuilder {
    /// Adds one row; the text may be empty.
    ///
    /// # Errors
    /// [`DataError::EmptyField`] for an empty task or worker (rows numbered from 1 in push
    /// order), [`DataError::TooManyIds`] past 2³² ids.
    pub fn push(&mut self, task: &str, worker: &str, text: &str) -> Result<(), DataError> {
        self.keys.check(task, worker)?;
        let task = self.keys.task_id(task);
        self.keys.push(task, worker);
        self.texts.push(text.into());
        Ok(())
    }

    /// Number of rows pushed so far.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.keys.len() == 0
    }

    /// Renumbers tasks and workers canonically and indexes rows by task.
    pub fn build(self) -> TextResponses {
        let RowKeys {
            tasks,
            workers,
            task_of,
            worker_of,
            task_offsets,
            task_rows,
        } = self.keys.build();
        TextResponses {
            tasks,
            workers,
            task_of,
            worker_of,
            texts: self.texts,
            task_offsets,
            task_rows,
        }
    }
}
