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
use crate::rows::{RowKeys, RowKeysBuilder};

/// A table of texts (see the module docs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TextResponses {
    keys: RowKeys,
    texts: Vec<Box<str>>,
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

    crate::rows::row_key_accessors!();

    /// Text of row `row`.
    pub fn text(&self, row: usize) -> &str {
        &self.texts[row]
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

    crate::rows::row_builder_len!();

    /// Renumbers tasks and workers canonically and indexes rows by task.
    pub fn build(self) -> TextResponses {
        TextResponses {
            keys: self.keys.build(),
            texts: self.texts,
        }
    }
}
