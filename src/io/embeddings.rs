//! Tables of outputs with embeddings (`task,worker,output,embedding`), of true embeddings
//! (`task,embedding`) and of texts (`task,worker,text`): CSV/TSV with a header.

use std::io::Read;
use std::path::Path;

use csv::ByteRecord;

use super::source::{read_opened, whole};
use super::table::{Table, column_options};
use crate::embeddings::{EmbeddingResponses, TrueEmbeddings, parse_embedding};
use crate::error::{DataError, Error};
use crate::texts::TextResponses;

column_options! {
    /// Header names of the columns of an embeddings table (default `task,worker,output,embedding`,
    /// as crowd-kit's), and the delimiter. For [`TextRasa`](crate::TextRasa) and
    /// [`TextHrrasa`](crate::TextHrrasa) set `output_column` to `text`.
    pub struct EmbeddingReadOptions {
        /// Header name of the task column.
        task_column = "task",
        /// Header name of the worker column.
        worker_column = "worker",
        /// Header name of the output column (any text, may be empty).
        output_column = "output",
        /// Header name of the embedding column: a JSON array (`[0.1, -2]`) or whitespace-separated
        /// numbers (`0.1 -2`).
        embedding_column = "embedding",
    }
}

/// Reads an embeddings table from `path` (`-` for stdin); a `.parquet` file (feature
/// `parquet`) through [`read_embeddings_parquet`](super::read_embeddings_parquet), the
/// embedding a list column.
///
/// # Errors
/// As the other readers (see [`crate::io`]), plus [`InputError::Data`](crate::error::InputError::Data) at `file:line:column`
/// for an empty task or worker ([`DataError::EmptyField`]), an empty embedding
/// ([`DataError::EmptyEmbedding`]), a value that is not a finite number
/// ([`DataError::EmbeddingValue`]) or an embedding of another length than the first row's
/// ([`DataError::EmbeddingLength`]); a table without rows is an error about the whole file.
pub fn read_embeddings(
    path: &Path,
    options: &EmbeddingReadOptions,
) -> Result<EmbeddingResponses, Error> {
    #[cfg(feature = "parquet")]
    if super::is_parquet(path) {
        return super::read_embeddings_parquet(path, options);
    }
    read_opened(path, options, read_embeddings_from)
}

/// [`read_embeddings`] from any reader; `source_name` names it in errors and, without a set
/// delimiter, picks one by extension.
pub fn read_embeddings_from<R: Read>(
    reader: R,
    source_name: &str,
    options: &EmbeddingReadOptions,
) -> Result<EmbeddingResponses, Error> {
    let mut table = Table::open_named(reader, source_name, options.delimiter, "responses")?;
    let columns = table.columns([
        &options.task_column,
        &options.worker_column,
        &options.output_column,
        &options.embedding_column,
    ])?;
    let mut builder = EmbeddingResponses::builder();
    table.push_rows(
        &columns,
        |[task, worker, output, embedding]| builder.push_text(task, worker, output, embedding),
        |refusal| match refusal {
            DataError::EmptyField { field: "task", .. } => Some(columns[0]),
            DataError::EmptyField { .. } => Some(columns[1]),
            DataError::EmptyEmbedding { .. }
            | DataError::EmbeddingValue { .. }
            | DataError::EmbeddingLength { .. } => Some(columns[3]),
            _ => None,
        },
    )?;
    if builder.is_empty() {
        return Err(table.no_rows());
    }
    builder
        .build()
        .map_err(|err| whole(table.file(), err.to_string()))
}

/// Reads true embeddings, a `task,embedding` table (column names from `options`), from `path`
/// (`-` for stdin). A task given twice is an error at its second line.
///
/// # Errors
/// As [`read_embeddings`]; lengths are checked against each other here and against the
/// responses when a method uses them ([`DataError::TrueEmbeddingLength`]).
pub fn read_true_embeddings(
    path: &Path,
    options: &EmbeddingReadOptions,
) -> Result<TrueEmbeddings, Error> {
    read_opened(path, options, read_true_embeddings_from)
}

/// [`read_true_embeddings`] from any reader.
pub fn read_true_embeddings_from<R: Read>(
    reader: R,
    source_name: &str,
    options: &EmbeddingReadOptions,
) -> Result<TrueEmbeddings, Error> {
    let mut table = Table::open_named(reader, source_name, options.delimiter, "true embeddings")?;
    let [task_column, embedding_column] =
        table.columns([&options.task_column, &options.embedding_column])?;
    let mut out = TrueEmbeddings::new();
    let mut record = ByteRecord::new();
    let mut rows = 0u64;
    let mut dim = None;
    while table.next(&mut record)? {
        rows += 1;
        let task = table.required(&record, task_column)?;
        let text = table.text(&record, embedding_column)?;
        let values = parse_embedding(text).map_err(|(position, value)| {
            table.data_error(
                embedding_column,
                DataError::EmbeddingValue {
                    value,
                    position,
                    record: rows,
                },
            )
        })?;
        if values.is_empty() {
            return Err(
                table.data_error(embedding_column, DataError::EmptyEmbedding { record: rows })
            );
        }
        match dim {
            Some(d) if d != values.len() => {
                return Err(table.data_error(
                    embedding_column,
                    DataError::EmbeddingLength {
                        expected: d,
                        found: values.len(),
                        record: rows,
                    },
                ));
            }
            _ => dim = Some(values.len()),
        }
        if out.insert(task, values).is_some() {
            return Err(table.error_at(
                Some(task_column),
                format!("task {task:?} has a second true embedding"),
            ));
        }
    }
    Ok(out)
}

column_options! {
    /// Header names of the columns of a texts table (default `task,worker,text`, as crowd-kit's),
    /// and the delimiter.
    pub struct TextReadOptions {
        /// Header name of the task column.
        task_column = "task",
        /// Header name of the worker column.
        worker_column = "worker",
        /// Header name of the text column (may be empty).
        text_column = "text",
    }
}

/// Reads a texts table from `path` (`-` for stdin).
///
/// # Errors
/// As the other readers (see [`crate::io`]), plus [`InputError::Data`](crate::error::InputError::Data) at `file:line:column`
/// for an empty task or worker ([`DataError::EmptyField`]); a table without rows is an error
/// about the whole file.
pub fn read_texts(path: &Path, options: &TextReadOptions) -> Result<TextResponses, Error> {
    read_opened(path, options, read_texts_from)
}

/// [`read_texts`] from any reader.
pub fn read_texts_from<R: Read>(
    reader: R,
    source_name: &str,
    options: &TextReadOptions,
) -> Result<TextResponses, Error> {
    let mut table = Table::open_named(reader, source_name, options.delimiter, "texts")?;
    let columns = table.columns([
        &options.task_column,
        &options.worker_column,
        &options.text_column,
    ])?;
    let mut builder = TextResponses::builder();
    table.push_rows(
        &columns,
        |[task, worker, text]| builder.push(task, worker, text),
        |refusal| match refusal {
            DataError::EmptyField { field: "task", .. } => Some(columns[0]),
            DataError::EmptyField { .. } => Some(columns[1]),
            _ => None,
        },
    )?;
    if builder.is_empty() {
        return Err(table.no_rows());
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> String {
        read_embeddings_from(text.as_bytes(), "e.csv", &EmbeddingReadOptions::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn reads_both_embedding_forms_and_locates_errors() {
        let data = read_embeddings_from(
            "embedding,task,worker,output\n\"[1, 2]\",t1,w1,a\n3 4,t1,w2,b\n".as_bytes(),
            "e.csv",
            &EmbeddingReadOptions::default(),
        )
        .unwrap();
        assert_eq!((data.len(), data.dim()), (2, 2));
        assert_eq!(data.embedding(1), &[3.0, 4.0]);
        assert_eq!(
            message("task,worker,output,embedding\nt,w,o,1 2\n\nt,v,o,1 2 3\n"),
            "e.csv:4:4: embedding of response #2 has 3 values, the first one had 2"
        );
        assert_eq!(
            message("task,worker,output,embedding\nt,w,o,1 x\n"),
            "e.csv:2:4: value #2 of the embedding of response #1 is not a finite number: \"x\""
        );
        assert_eq!(
            message("task,worker,output,embedding\nt,w,o,[]\n"),
            "e.csv:2:4: embedding of response #1 has no values"
        );
        assert_eq!(
            message("task,worker,output,embedding\nt,,o,1\n"),
            "e.csv:2:2: empty worker in response #1"
        );
        assert_eq!(
            message("task,worker,output,embedding\n"),
            "e.csv: no responses (the file has a header but no rows)"
        );
    }

    #[test]
    fn reads_texts_and_true_embeddings() {
        let data = read_texts_from(
            "task,worker,text\nt1,w1,a b\nt1,w2,\n".as_bytes(),
            "x.csv",
            &TextReadOptions::default(),
        )
        .unwrap();
        assert_eq!((data.len(), data.text(1)), (2, ""));
        let truth = read_true_embeddings_from(
            "task,embedding\nt1,1 2\n".as_bytes(),
            "x.csv",
            &EmbeddingReadOptions::default(),
        )
        .unwrap();
        assert_eq!(truth.get("t1"), Some(&[1.0, 2.0][..]));
        let err = read_true_embeddings_from(
            "task,embedding\nt1,1 2\nt1,1 2\n".as_bytes(),
            "x.csv",
            &EmbeddingReadOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.csv:3:1: task \"t1\" has a second true embedding"
        );
    }
}
