//! Response tables from Parquet files (feature `parquet`).
//!
//! The task, worker and label columns are found by name ([`ReadOptions`]'s column names; the
//! delimiter does not apply) and may have any type [`ArrowEncoder`](super::ArrowEncoder)
//! takes. String columns are read as dictionaries: where a column chunk is dictionary-encoded
//! (the usual case; pyarrow and arrow-rs write dictionaries by default) its dictionary page is
//! used as it is, so each distinct value is hashed once per row group instead of once per
//! row. A window of row groups at a time is decoded and encoded in parallel, each straight
//! into its rows of the table (their places are known from the footer's row counts, which are
//! checked against the decoded rows); the window's names then get the encoder's ids or are
//! kept for the merge (see [`ArrowEncoder`](super::ArrowEncoder)).
//!
//! Errors name the file and, where one is to blame, the row group and row
//! (`file:row group G:row R: message`, 0-based).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};

use super::arrow::{ArrowEncoder, Chunk, Rows, find_columns};
use super::responses::ReadOptions;
use super::source::{io_error, whole};
use crate::error::{Error, InputError};
use crate::responses::Responses;

/// Rows per decoded batch.
const BATCH: usize = 64 * 1024;

/// Reads a response table from a Parquet file; see the module documentation of
/// [`io`](crate::io) for the error contract. Duplicates are handled by `options.duplicates`.
pub fn read_parquet(path: impl AsRef<Path>, options: &ReadOptions) -> Result<Responses, Error> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let size = file.metadata().map_err(|e| io_error(path, e))?.len();
    if size == 0 {
        return Err(whole(path, "no responses (the file is empty)"));
    }
    let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|e| {
        whole(
            path,
            format!("not a readable Parquet file (truncated or not Parquet?): {e}"),
        )
    })?;
    let at = find_columns(metadata.schema(), options).map_err(|m| whole(path, m))?;
    // Ask for string columns as dictionaries: dictionary pages then come through as they are.
    let schema = metadata.schema();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let as_dictionary = at.contains(&i)
                && matches!(field.data_type(), DataType::Utf8 | DataType::LargeUtf8);
            let field = field.as_ref().clone();
            if as_dictionary {
                let value = field.data_type().clone();
                field.with_data_type(DataType::Dictionary(
                    Box::new(DataType::Int32),
                    Box::new(value),
                ))
            } else {
                field
            }
        })
        .collect();
    let hinted = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let metadata = ArrowReaderMetadata::try_new(
        metadata.metadata().clone(),
        ArrowReaderOptions::new().with_schema(hinted),
    )
    .map_err(|e| whole(path, format!("cannot read the id columns: {e}")))?;
    let parquet_schema = metadata.metadata().file_metadata().schema_descr_ptr();
    // Leaf columns of the three roots (ids are flat columns, so one leaf each).
    let mask = ProjectionMask::roots(&parquet_schema, at);
    let n_groups = metadata.metadata().num_row_groups();
    let mut encoder = ArrowEncoder::new().duplicates(options.duplicates);
    let rows = metadata.metadata().file_metadata().num_rows();
    encoder.reserve(usize::try_from(rows).unwrap_or(0).min(u32::MAX as usize));
    // A window of row groups at a time, decoded in parallel straight into the row table: the
    // decoded arrays of only a window are alive at once.
    let window = 4 * rayon::current_num_threads().max(1);
    for first in (0..n_groups).step_by(window) {
        let groups: Vec<usize> = (first..n_groups.min(first + window)).collect();
        let lens = groups
            .iter()
            .map(|&g| {
                let rows = metadata.metadata().row_group(g).num_rows();
                usize::try_from(rows).map_err(|_| {
                    located(
                        path,
                        g,
                        None,
                        format!("negative row count {rows} in the footer (a damaged file?)"),
                    )
                })
            })
            .collect::<Result<Vec<usize>, Error>>()?;
        encoder.append_parts(
            &lens,
            |group, e| match group {
                Some(group) => located(path, first + group, e.row, e.message),
                None => whole(path, e.message),
            },
            |group, out| read_group(path, &metadata, &mask, at, first + group, out),
        )?;
    }
    encoder.finish().map_err(|e| whole(path, e.to_string()))
}

/// An error at row group `group` (and `row` in it, when one row is to blame).
fn located(path: &Path, group: usize, row: Option<u64>, message: String) -> Error {
    InputError::Columnar {
        file: path.to_path_buf(),
        row_group: group,
        row,
        message,
    }
    .into()
}

/// Decodes row group `group` and encodes it into `out` (its rows, as many as the footer
/// says) in chunk-local ids, each batch as soon as it is decoded (while it is in cache; the
/// decoded arrays of one batch at a time are alive). Rows are written only up to the footer's
/// count: a group that decodes to more or fewer rows is an error naming both counts.
fn read_group(
    path: &Path,
    metadata: &ArrowReaderMetadata,
    mask: &ProjectionMask,
    at: [usize; 3],
    group: usize,
    out: Rows<'_>,
) -> Result<Chunk, Error> {
    let located = |row: Option<u64>, message: String| located(path, group, row, message);
    let decode_error = |e: &dyn std::fmt::Display| located(None, format!("cannot decode: {e}"));
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata.clone())
        .with_row_groups(vec![group])
        .with_projection(mask.clone())
        .with_batch_size(BATCH)
        .build()
        .map_err(|e| decode_error(&e))?;
    // The projected batch holds the three columns in schema order.
    let mut order = at;
    order.sort_unstable();
    let position = at.map(|i| order.iter().position(|&o| o == i).unwrap_or(0));
    let footer = out.len();
    let miscounted = |rows: usize| {
        located(
            None,
            format!("decoded {rows} rows where the footer says {footer} (a damaged file?)"),
        )
    };
    let mut writer = out.writer();
    // Once a batch would go past the footer's count: the rows decoded, counted to the end for
    // the message.
    let mut past: Option<usize> = None;
    for batch in reader {
        let batch = batch.map_err(|e| decode_error(&e))?;
        if let Some(rows) = &mut past {
            *rows += batch.num_rows();
        } else if batch.num_rows() > writer.remaining() {
            past = Some(writer.written() + batch.num_rows());
        } else {
            writer
                .push(position.map(|p| batch.column(p).as_ref()))
                .map_err(|e| located(e.row, e.message))?;
        }
    }
    if let Some(rows) = past {
        return Err(miscounted(rows));
    }
    if writer.remaining() > 0 {
        return Err(miscounted(writer.written()));
    }
    writer.finish().map_err(|e| located(e.row, e.message))
}
