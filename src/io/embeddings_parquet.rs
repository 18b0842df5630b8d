//! Embedding tables (`task,worker,output,embedding`) from Parquet files (feature `parquet`).
//!
//! The columns are found by name ([`EmbeddingReadOptions`]'s; the delimiter does not apply).
//! Task, worker and output are string columns; the embedding is a list column
//! (`list`, `large_list` or `fixed_size_list`) of `float` or `double` values (floats are
//! widened exactly). Nulls are errors — a null task, worker, output, embedding or value — as is
//! an embedding whose length differs from the first row's. Errors name the file and, where one
//! row is to blame, its row group and row (`file:row group G:row R: message`, 0-based).

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Schema};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::embeddings::EmbeddingReadOptions;
use super::source::{io_error, whole};
use crate::embeddings::EmbeddingResponses;
use crate::error::{Error, InputError};

/// Rows per decoded batch.
const BATCH: usize = 64 * 1024;

/// Reads an embeddings table from a Parquet file; see the module documentation.
///
/// # Errors
/// [`InputError::Io`] when the file cannot be opened; errors about the whole file for an empty
/// or unreadable file, a missing column or one of the wrong type, and a table without rows;
/// [`InputError::Columnar`] at the row for nulls and for what
/// [`EmbeddingBuilder::push`](crate::embeddings::EmbeddingBuilder::push) refuses (empty task or
/// worker, empty embedding, NaN or infinite value, another length than the first row's).
pub fn read_embeddings_parquet(
    path: &Path,
    options: &EmbeddingReadOptions,
) -> Result<EmbeddingResponses, Error> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    if file.metadata().map_err(|e| io_error(path, e))?.len() == 0 {
        return Err(whole(path, "no responses (the file is empty)"));
    }
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| {
        whole(
            path,
            format!("not a readable Parquet file (truncated or not Parquet?): {e}"),
        )
    })?;
    let names = [
        options.task_column.as_str(),
        &options.worker_column,
        &options.output_column,
        &options.embedding_column,
    ];
    let at = find_embedding_columns(reader.schema(), names).map_err(|m| whole(path, m))?;
    // Row-group boundaries, to locate a row of the concatenated batches.
    let group_rows: Vec<u64> = reader
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows().max(0) as u64)
        .collect();
    let mask = ProjectionMask::roots(reader.parquet_schema(), at);
    let batches = reader
        .with_projection(mask)
        .with_batch_size(BATCH)
        .build()
        .map_err(|e| whole(path, format!("cannot decode: {e}")))?;
    let mut builder = EmbeddingResponses::builder();
    let mut row = 0u64;
    let mut values = Vec::new();
    for batch in batches {
        let batch = batch.map_err(|e| whole(path, format!("cannot decode: {e}")))?;
        let [task, worker, output, embedding] = names.map(|n| by_name(&batch, n));
        for i in 0..batch.num_rows() {
            let located = |message: String| -> Error {
                let (row_group, row) = locate(&group_rows, row);
                InputError::Columnar {
                    file: path.to_path_buf(),
                    row_group,
                    row: Some(row),
                    message,
                }
                .into()
            };
            let [task, worker, output] = [(task, names[0]), (worker, names[1]), (output, names[2])]
                .map(|(column, name)| string_at(column, i).ok_or(name));
            let (task, worker, output) = match (task, worker, output) {
                (Ok(t), Ok(w), Ok(o)) => (t, w, o),
                (Err(name), _, _) | (_, Err(name), _) | (_, _, Err(name)) => {
                    return Err(located(format!("null {name:?}")));
                }
            };
            floats_at(embedding, i, &mut values)
                .map_err(|m| located(format!("{:?}: {m}", names[3])))?;
            builder
                .push(task, worker, output, &values)
                .map_err(|e| located(e.to_string()))?;
            row += 1;
        }
    }
    if builder.is_empty() {
        return Err(whole(path, "no responses (the file has no rows)"));
    }
    builder.build().map_err(|e| whole(path, e.to_string()))
}

/// The indices of the four columns, checked for type.
fn find_embedding_columns(schema: &Schema, names: [&str; 4]) -> Result<[usize; 4], String> {
    let mut at = [0; 4];
    for (k, (slot, name)) in at.iter_mut().zip(names).enumerate() {
        let index = schema.index_of(name).map_err(|_| {
            let header: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            format!("missing column \"{name}\" (columns: {})", header.join(", "))
        })?;
        let data_type = schema.field(index).data_type();
        let fits = if k < 3 {
            matches!(
                data_type,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
        } else {
            match data_type {
                DataType::List(item)
                | DataType::LargeList(item)
                | DataType::FixedSizeList(item, _) => {
                    matches!(item.data_type(), DataType::Float32 | DataType::Float64)
                }
                _ => false,
            }
        };
        if !fits {
            let expected = if k < 3 {
                "strings"
            } else {
                "a list of float or double"
            };
            return Err(format!(
                "column \"{name}\" has type {data_type}; expected {expected}"
            ));
        }
        *slot = index;
    }
    Ok(at)
}

fn by_name<'a>(batch: &'a RecordBatch, name: &str) -> &'a ArrayRef {
    batch
        .column_by_name(name)
        .expect("the projection keeps the named columns")
}

/// (row group, row within it) of the `row`-th row of the file, 0-based.
fn locate(group_rows: &[u64], mut row: u64) -> (usize, u64) {
    for (group, &n) in group_rows.iter().enumerate() {
        if row < n {
            return (group, row);
        }
        row -= n;
    }
    (group_rows.len(), row)
}

/// The string at row `i` of a string column (type checked before), `None` if null.
fn string_at(column: &ArrayRef, i: usize) -> Option<&str> {
    if column.is_null(i) {
        return None;
    }
    Some(match column.data_type() {
        DataType::LargeUtf8 => column.as_string::<i64>().value(i),
        DataType::Utf8View => column.as_string_view().value(i),
        _ => column.as_string::<i32>().value(i),
    })
}

/// The embedding at row `i` of a list column (type checked before) into `out`.
fn floats_at(column: &ArrayRef, i: usize, out: &mut Vec<f64>) -> Result<(), String> {
    if column.is_null(i) {
        return Err("null embedding".into());
    }
    let items = match column.data_type() {
        DataType::LargeList(_) => column.as_list::<i64>().value(i),
        DataType::FixedSizeList(..) => column.as_fixed_size_list().value(i),
        _ => column.as_list::<i32>().value(i),
    };
    if let Some(k) = (0..items.len()).find(|&k| items.is_null(k)) {
        return Err(format!("value #{} of the embedding is null", k + 1));
    }
    out.clear();
    match items.data_type() {
        DataType::Float32 => out.extend(
            items
                .as_primitive::<Float32Type>()
                .values()
                .iter()
                .map(|&v| f64::from(v)),
        ),
        _ => out.extend_from_slice(items.as_primitive::<Float64Type>().values()),
    }
    Ok(())
}
