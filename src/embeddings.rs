//! Responses with embeddings: each worker's `output` for a task together with a vector that
//! represents it (a sentence embedding of a text, a feature vector of an image, …).
//!
//! An [`EmbeddingResponses`] holds rows `(task, worker, output, embedding)`, crowd-kit's
//! `task, worker, output, embedding` frame. Every embedding of one data set has the same
//! length, and every value is a finite number. Tasks and workers are interned to dense ids in
//! the crate's canonical order (numeric order when every id parses as an integer, otherwise
//! byte-wise order — the order of crowd-kit's `groupby`); rows keep their input order, which
//! decides ties (the first row of a task wins, as pandas' `idxmin`).
//!
//! [`parse_embedding`] reads an embedding written as a JSON array (`[0.5, -1.25]`) or as
//! whitespace-separated numbers (`0.5 -1.25`), the two forms
//! [`io::read_embeddings`](crate::io::read_embeddings) accepts in one CSV column.
//!
//! ```
//! use crowdagg::EmbeddingResponses;
//!
//! let mut builder = EmbeddingResponses::builder();
//! builder.push("t1", "w1", "a cat", &[1.0, 0.0])?;
//! builder.push("t1", "w2", "a dog", &[0.0, 1.0])?;
//! assert!(builder.push("t1", "w3", "a cow", &[1.0]).is_err()); // another length
//! let data = builder.build()?;
//! assert_eq!((data.n_tasks(), data.n_workers(), data.len(), data.dim()), (1, 2, 2, 2));
//! assert_eq!(data.embedding(1), &[0.0, 1.0]);
//! # Ok::<(), crowdagg::DataError>(())
//! ```

use indexmap::IndexMap;

use crate::error::DataError;
use crate::rows::{RowKeys, RowKeysBuilder};

/// Parses an embedding: a JSON array of numbers (`[1, 2.5e-3, -4]`) or numbers separated by
/// whitespace (`1 2.5e-3 -4`).
///
/// # Errors
/// `Err((position, text))` names the first value (1-based) that is not a finite number (`NaN`
/// and infinities are refused, as is an empty value between commas or an unclosed bracket);
/// `Ok` of an empty vector for an empty embedding (`[]`, blanks), which
/// [`EmbeddingBuilder::push`] refuses.
pub fn parse_embedding(text: &str) -> Result<Vec<f64>, (usize, String)> {
    let trimmed = text.trim();
    let parse = |position: usize, token: &str| -> Result<f64, (usize, String)> {
        match token.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(value),
            _ => Err((position, token.to_string())),
        }
    };
    if let Some(rest) = trimmed.strip_prefix('[') {
        let Some(inner) = rest.strip_suffix(']') else {
            return Err((1, trimmed.to_string()));
        };
        if inner.trim().is_empty() {
            return Ok(Vec::new());
        }
        inner
            .split(',')
            .enumerate()
            .map(|(i, token)| parse(i + 1, token.trim()))
            .collect()
    } else {
        trimmed
            .split_whitespace()
            .enumerate()
            .map(|(i, token)| parse(i + 1, token))
            .collect()
    }
}

/// A table of outputs with embeddings (see the module docs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EmbeddingResponses {
    keys: RowKeys,
    outputs: Vec<Box<str>>,
    values: Vec<f64>,
    dim: usize,
}

impl EmbeddingResponses {
    /// A builder to push rows into.
    pub fn builder() -> EmbeddingBuilder {
        EmbeddingBuilder::default()
    }

    /// Builds from `(task, worker, output, embedding)` rows.
    ///
    /// # Errors
    /// As [`EmbeddingBuilder::push`].
    pub fn from_rows<I, T, W, O, E>(rows: I) -> Result<Self, DataError>
    where
        I: IntoIterator<Item = (T, W, O, E)>,
        T: AsRef<str>,
        W: AsRef<str>,
        O: AsRef<str>,
        E: AsRef<[f64]>,
    {
        let mut builder = Self::builder();
        for (t, w, o, e) in rows {
            builder.push(t.as_ref(), w.as_ref(), o.as_ref(), e.as_ref())?;
        }
        builder.build()
    }

    crate::rows::row_key_accessors!();

    /// The length of every embedding (0 for an empty table).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Output of row `row`.
    pub fn output(&self, row: usize) -> &str {
        &self.outputs[row]
    }

    /// Embedding of row `row`.
    pub fn embedding(&self, row: usize) -> &[f64] {
        &self.values[row * self.dim..(row + 1) * self.dim]
    }

    /// The first (task, worker) pair answered twice, as the two 0-based rows.
    pub(crate) fn first_duplicate(&self) -> Option<(usize, usize)> {
        self.keys.first_duplicate()
    }
}

/// Collects rows by name; [`EmbeddingBuilder::build`] renumbers ids canonically.
#[derive(Debug, Default)]
pub struct EmbeddingBuilder {
    keys: RowKeysBuilder,
    outputs: Vec<Box<str>>,
    values: Vec<f64>,
    dim: Option<usize>,
}

impl EmbeddingBuilder {
    /// Adds one row. The output may be empty (an empty transcription); task and worker may
    /// not.
    ///
    /// # Errors
    /// [`DataError::EmptyField`] for an empty task or worker, [`DataError::EmptyEmbedding`],
    /// [`DataError::EmbeddingValue`] for a NaN or infinite value,
    /// [`DataError::EmbeddingLength`] when the length differs from the first row's (rows are
    /// numbered from 1 in push order), [`DataError::TooManyIds`] past 2³² ids.
    pub fn push(
        &mut self,
        task: &str,
        worker: &str,
        output: &str,
        embedding: &[f64],
    ) -> Result<(), DataError> {
        self.keys.check(task, worker)?;
        let record = self.keys.next_record();
        if embedding.is_empty() {
            return Err(DataError::EmptyEmbedding { record });
        }
        if let Some(i) = embedding.iter().position(|v| !v.is_finite()) {
            return Err(DataError::EmbeddingValue {
                value: embedding[i].to_string(),
                position: i + 1,
                record,
            });
        }
        match self.dim {
            Some(dim) if dim != embedding.len() => {
                return Err(DataError::EmbeddingLength {
                    expected: dim,
                    found: embedding.len(),
                    record,
                });
            }
            _ => self.dim = Some(embedding.len()),
        }
        let task = self.keys.task_id(task);
        self.keys.push(task, worker);
        self.outputs.push(output.into());
        self.values.extend_from_slice(embedding);
        Ok(())
    }

    /// Adds one row whose embedding is text, as [`parse_embedding`] reads it.
    ///
    /// # Errors
    /// As [`EmbeddingBuilder::push`]; a value that does not parse is
    /// [`DataError::EmbeddingValue`].
    pub fn push_text(
        &mut self,
        task: &str,
        worker: &str,
        output: &str,
        embedding: &str,
    ) -> Result<(), DataError> {
        self.keys.check(task, worker)?;
        let record = self.keys.next_record();
        let values =
            parse_embedding(embedding).map_err(|(position, value)| DataError::EmbeddingValue {
                value,
                position,
                record,
            })?;
        self.push(task, worker, output, &values)
    }

    crate::rows::row_builder_len!();

    /// Renumbers tasks and workers canonically and indexes rows by task.
    ///
    /// # Errors
    /// None at present (the `Result` leaves room for checks on the whole table).
    pub fn build(self) -> Result<EmbeddingResponses, DataError> {
        Ok(EmbeddingResponses {
            keys: self.keys.build(),
            outputs: self.outputs,
            values: self.values,
            dim: self.dim.unwrap_or(0),
        })
    }
}

/// Known embeddings of the true answers of some tasks (crowd-kit's `true_embeddings`): they
/// replace the aggregated embedding of their task in every iteration. Tasks absent from the
/// data are ignored, as in crowd-kit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrueEmbeddings {
    map: IndexMap<String, Vec<f64>>,
}

impl TrueEmbeddings {
    /// No true embeddings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the true embedding of `task`, returning the one it replaces.
    pub fn insert(&mut self, task: impl Into<String>, embedding: Vec<f64>) -> Option<Vec<f64>> {
        self.map.insert(task.into(), embedding)
    }

    /// The true embedding of `task`.
    pub fn get(&self, task: &str) -> Option<&[f64]> {
        self.map.get(task).map(Vec::as_slice)
    }

    /// Number of tasks with a true embedding.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The true embedding of each task of `data` (by task id), if any.
    ///
    /// # Errors
    /// [`DataError::TrueEmbeddingLength`] when one of the data's tasks has a true embedding
    /// of another length than the responses', [`DataError::TrueEmbeddingValue`] for a NaN or
    /// infinite value.
    pub fn resolve<'a>(
        &'a self,
        data: &EmbeddingResponses,
    ) -> Result<Vec<Option<&'a [f64]>>, DataError> {
        let mut out = vec![None; data.n_tasks()];
        for (task, embedding) in &self.map {
            let Some(id) = data.task_id(task) else {
                continue;
            };
            if embedding.len() != data.dim() {
                return Err(DataError::TrueEmbeddingLength {
                    task: task.clone(),
                    expected: data.dim(),
                    found: embedding.len(),
                });
            }
            if let Some(i) = embedding.iter().position(|v| !v.is_finite()) {
                return Err(DataError::TrueEmbeddingValue {
                    task: task.clone(),
                    position: i + 1,
                    value: embedding[i],
                });
            }
            out[id] = Some(embedding.as_slice());
        }
        Ok(out)
    }
}

impl<S: Into<String>> FromIterator<(S, Vec<f64>)> for TrueEmbeddings {
    fn from_iter<I: IntoIterator<Item = (S, Vec<f64>)>>(iter: I) -> Self {
        let mut out = Self::new();
        for (task, embedding) in iter {
            out.insert(task, embedding);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms() {
        assert_eq!(parse_embedding("[1, -2.5e-1,3]"), Ok(vec![1.0, -0.25, 3.0]));
        assert_eq!(
            parse_embedding("  1 \t-2.5e-1   3 "),
            Ok(vec![1.0, -0.25, 3.0])
        );
        assert_eq!(parse_embedding("[]"), Ok(vec![]));
        assert_eq!(parse_embedding(""), Ok(vec![]));
        assert_eq!(parse_embedding("[1, x]"), Err((2, "x".into())));
        assert_eq!(parse_embedding("[1,,2]"), Err((2, String::new())));
        assert_eq!(parse_embedding("[1, 2"), Err((1, "[1, 2".into())));
        assert_eq!(parse_embedding("1 NaN"), Err((2, "NaN".into())));
        assert_eq!(parse_embedding("inf"), Err((1, "inf".into())));
    }

    #[test]
    fn canonical_ids_and_task_rows() {
        let data = EmbeddingResponses::from_rows([
            ("t2", "w1", "x", [1.0]),
            ("t1", "w2", "y", [2.0]),
            ("t2", "w2", "z", [3.0]),
        ])
        .unwrap();
        assert_eq!(data.task_names().collect::<Vec<_>>(), ["t1", "t2"]);
        assert_eq!(data.task_rows(1), &[0, 2]);
        assert_eq!(data.task_rows(0), &[1]);
        assert_eq!((data.task(0), data.worker(0), data.output(2)), (1, 0, "z"));
    }

    #[test]
    fn bad_rows_are_typed_errors() {
        let mut b = EmbeddingResponses::builder();
        b.push_text("t", "w", "o", "1 2").unwrap();
        assert_eq!(
            b.push_text("t", "w", "o", "1 2 3"),
            Err(DataError::EmbeddingLength {
                expected: 2,
                found: 3,
                record: 2
            })
        );
        assert_eq!(
            b.push_text("t", "w", "o", "[]"),
            Err(DataError::EmptyEmbedding { record: 2 })
        );
        assert!(matches!(
            b.push_text("t", "", "o", "1 2"),
            Err(DataError::EmptyField {
                field: "worker",
                ..
            })
        ));
        assert!(matches!(
            b.push("t", "w", "o", &[1.0, f64::NAN]),
            Err(DataError::EmbeddingValue { position: 2, .. })
        ));
    }
}
