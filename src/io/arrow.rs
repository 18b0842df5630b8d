//! Responses from Apache Arrow arrays (feature `parquet`): the one encoder behind
//! [`read_parquet`](super::read_parquet), [`read_record_batches`] and any caller holding Arrow
//! arrays (the Python package's Arrow C stream path hands its arrays to [`ArrowEncoder`]).
//!
//! # Column types
//! Each of the task, worker and label columns may be a string (`Utf8`), large string
//! (`LargeUtf8`), string view (`Utf8View`) or integer (8 to 64 bits, signed or not) array, or a
//! dictionary (any integer key) of those. Integers become their decimal spelling (`7` is the
//! name `"7"`, as in a CSV file). Nulls and empty strings are errors at their row, as empty
//! fields are in CSV.
//!
//! # Same result as CSV
//! Each chunk of rows (a Parquet row group, a part of a long array) numbers its names locally,
//! writing each row's local ids straight into the encoder's row table. Per column, the chunk's
//! distinct names then either get the encoder's ids (one hash table per column, each name once
//! per chunk; the chunk's rows are rewritten to them at once, unless the chunk has at least
//! eight rows per name, as labels do) or, when they are mostly new to it (the tasks of a table
//! grouped by task), are kept as they are, a part of the merge, unhashed, the rows left in
//! local ids. [`ArrowEncoder::finish`] sorts each column's names
//! (the encoder's and the parts') into canonical order with the CSV reader's merge
//! (`names::merge`), then rewrites each row once to canonical ids; the order
//! is the crate's one label order rule (numeric when every name is an integer, else byte
//! order), and canonical ids depend only on the set of names: the same data gives the same [`Responses`], ids and results whether it came from CSV, Parquet
//! or Arrow, in any row or batch order.
//!
//! # Cost
//! A dictionary column costs one lookup per row in a table indexed by key; each dictionary
//! value that rows use is hashed once per chunk (unused values are not names of the table);
//! the table is reused while consecutive batches share their dictionary (the batches of one
//! Parquet row group do). A string or integer column costs one hash per row, and a numbered
//! chunk's column of many names one more pass over its rows. Memory: the rows (12 bytes each),
//! each column's distinct names, the names of the chunks kept as parts (at most a quarter of
//! the rows per column), and the numbered chunks' local → encoder id maps of at most an eighth
//! as many names as rows (at most half a byte per row per column; labels' are a few bytes per
//! chunk); a larger map lives only while its batch is read. The bound holds in any row order:
//! kept to the end, the maps of 10⁸ answers (382 row groups) would be ~100 MB grouped by task
//! (69,000 distinct workers per row group) and ~750 MB in random row order (10⁷ tasks, 10⁶
//! workers: a row group's tasks and most of its workers distinct); at 10⁷ shuffled rows (10⁶
//! tasks) the peak fell from ~340 to ~300 MB when they stopped being kept. Keeping every
//! chunk's name lists (69,000 workers per row group) made them and their merge the read's
//! peak, while hashing every new name (10⁷ tasks) was most of its time.

use std::mem::MaybeUninit;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowDictionaryKeyType, ArrowPrimitiveType, Int8Type, Int16Type, Int32Type, Int64Type,
    UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, LargeStringArray, RecordBatch, RecordBatchReader, StringArray, StringViewArray,
};
use arrow_buffer::ArrowNativeType as _;
use arrow_schema::{DataType, Schema};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::local_names::LocalNames;
use super::responses::ReadOptions;
use crate::error::{DataError, Error, InputError};
use crate::names::{MergeError, Merged, PartNames, merge};
use crate::responses::{DuplicatePolicy, Responses};

/// A problem with the arrays handed to [`ArrowEncoder`]: the row (0-based, within the
/// arrays of that call) when one row is to blame, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrowError {
    /// 0-based row within the arrays passed, if one row is to blame.
    pub row: Option<u64>,
    /// What, in words (names the column).
    pub message: String,
}

impl std::fmt::Display for ArrowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.row {
            Some(row) => write!(f, "row {row}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ArrowError {}

impl ArrowError {
    fn whole(message: impl Into<String>) -> Self {
        Self {
            row: None,
            message: message.into(),
        }
    }
}

const COLUMNS: [&str; 3] = ["task", "worker", "label"];

/// Whether an array of type `data_type` can be a task, worker or label column (see the module
/// documentation).
pub fn is_id_type(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(key, value) => key.is_integer() && is_plain_id_type(value),
        other => is_plain_id_type(other),
    }
}

fn is_plain_id_type(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    ) || data_type.is_integer()
}

/// The field indices of the task, worker and label columns of `schema`, or a message saying
/// which column is missing or has a type that cannot hold ids.
pub(crate) fn find_columns(schema: &Schema, options: &ReadOptions) -> Result<[usize; 3], String> {
    let names = [
        &options.task_column,
        &options.worker_column,
        &options.label_column,
    ];
    if let Some(clash) = options.role_clash() {
        return Err(clash);
    }
    let mut at = [0; 3];
    for (slot, name) in at.iter_mut().zip(names) {
        let index = schema.index_of(name).map_err(|_| {
            let header: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            format!("missing column \"{name}\" (columns: {})", header.join(", "))
        })?;
        let data_type = schema.field(index).data_type();
        if !is_id_type(data_type) {
            return Err(format!(
                "column \"{name}\" has type {data_type}; expected strings, integers or a dictionary of them"
            ));
        }
        *slot = index;
    }
    Ok(at)
}

/// One column's names in a chunk's local ids: distinct names in order of first appearance
/// (concatenated, with their ends; the rows' local ids are written where the rows go).
#[derive(Default)]
pub(crate) struct LocalColumn {
    names: Vec<u8>,
    ends: Vec<usize>,
}

impl LocalColumn {
    /// The names in local-id order.
    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, &end)| &self.names[start..end])
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Name `i` (local id `i`).
    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.names[start..self.ends[i]]
    }

    /// Whether most of the names look new to `numbered`: of up to 16 names spread over the
    /// local ids, at most a quarter have an id there.
    fn mostly_new(&self, numbered: &LocalNames) -> bool {
        let n = self.len();
        let sampled = n.min(16);
        let found = (0..sampled)
            .filter(|&k| numbered.find(self.get(k * n / sampled)).is_some())
            .count();
        found * 4 <= sampled
    }
}

/// Builds a [`LocalColumn`] from consecutive arrays of one column, writing each row's local id
/// into slot `slot` of that row's triple.
struct ColumnEncoder {
    column: &'static str,
    slot: usize,
    /// Local ids of strings (packed keys, runs of equal tasks numbered without hashing), and
    /// the names of every local id in order.
    names: LocalNames,
    ints: FxHashMap<i128, u32>,
    /// Local ids of the integers 0 to [`SMALL_INTS`] − 1 (labels, small codes), indexed by
    /// value ([`UNSEEN`] when not met yet): a load per row instead of a hash lookup.
    small_ints: Vec<u32>,
    /// The dictionary of the last dictionary array and its value index → local id table.
    dictionary: Option<(ArrayRef, Vec<u32>)>,
    /// Rows encoded before the current array (for error rows).
    offset: u64,
}

const UNSEEN: u32 = u32::MAX;

/// One row of the row table while a chunk writes it: its task, worker and label ids, each
/// written by its column's encoder (the table is reserved, not zeroed, before).
type Row = [MaybeUninit<u32>; 3];

/// Integers below this are numbered through [`ColumnEncoder`]'s table indexed by value (16 KiB
/// at most per column of a chunk).
const SMALL_INTS: usize = 4096;

/// Rows per part when [`ArrowEncoder::push`] splits long arrays across threads: large enough
/// that a part's hash table and merge cost little next to its rows.
const PART_ROWS: usize = 1 << 18;

impl ColumnEncoder {
    fn new(slot: usize) -> Self {
        Self {
            column: COLUMNS[slot],
            slot,
            names: LocalNames::default(),
            ints: FxHashMap::default(),
            small_ints: Vec::new(),
            dictionary: None,
            offset: 0,
        }
    }

    fn error(&self, row: usize, message: &str) -> ArrowError {
        ArrowError {
            row: Some(self.offset + row as u64),
            message: format!("{message} in the {} column", self.column),
        }
    }

    fn new_name(&mut self, name: &[u8]) -> u32 {
        self.names.push_new(name)
    }

    fn string(&mut self, name: &[u8], row: usize) -> Result<u32, ArrowError> {
        if name.is_empty() {
            return Err(self.error(row, "empty name"));
        }
        // Tables are often grouped by task, as exports are.
        Ok(if self.column == "task" {
            self.names.run_id(name)
        } else {
            self.names.id(name)
        })
    }

    /// The column's names in local-id order.
    fn finish(mut self) -> LocalColumn {
        LocalColumn {
            names: std::mem::take(&mut self.names.new_bytes),
            ends: std::mem::take(&mut self.names.new_ends),
        }
    }

    /// The local id of `value` if it is a small integer already numbered.
    #[inline(always)]
    fn small_id(&self, value: i128) -> Option<u32> {
        let id = *self.small_ints.get(usize::try_from(value).ok()?)?;
        (id != UNSEEN).then_some(id)
    }

    fn int(&mut self, value: i128) -> u32 {
        if let Some(id) = self.small_id(value) {
            return id;
        }
        if let Ok(small) = usize::try_from(value)
            && small < SMALL_INTS
        {
            return self.new_small_int(small);
        }
        if let Some(&id) = self.ints.get(&value) {
            return id;
        }
        let id = self.new_name(value.to_string().as_bytes());
        self.ints.insert(value, id);
        id
    }

    /// Numbers the small integer `value` (first use), growing the table to it.
    #[cold]
    fn new_small_int(&mut self, value: usize) -> u32 {
        if value >= self.small_ints.len() {
            self.small_ints
                .resize((value + 1).next_power_of_two().max(16), UNSEEN);
        }
        let id = self.new_name(value.to_string().as_bytes());
        self.small_ints[value] = id;
        id
    }

    /// Encodes `array`'s rows into `out` (one triple per row, this column's slot).
    fn push(&mut self, array: &dyn Array, out: &mut [Row]) -> Result<(), ArrowError> {
        // [`ChunkWriter::push`] checks the lengths first; this guard keeps the promise the row
        // loops rely on (every row of `out` written, or an error) for any caller.
        if array.len() != out.len() {
            return Err(ArrowError::whole(format!(
                "{} rows in the {} column where {} were expected",
                array.len(),
                self.column,
                out.len()
            )));
        }
        let result = match array.data_type() {
            DataType::Dictionary(key, _) => match key.as_ref() {
                DataType::Int8 => self.dictionary_array::<Int8Type>(array, out),
                DataType::Int16 => self.dictionary_array::<Int16Type>(array, out),
                DataType::Int32 => self.dictionary_array::<Int32Type>(array, out),
                DataType::Int64 => self.dictionary_array::<Int64Type>(array, out),
                DataType::UInt8 => self.dictionary_array::<UInt8Type>(array, out),
                DataType::UInt16 => self.dictionary_array::<UInt16Type>(array, out),
                DataType::UInt32 => self.dictionary_array::<UInt32Type>(array, out),
                DataType::UInt64 => self.dictionary_array::<UInt64Type>(array, out),
                other => Err(self.type_error(other)),
            },
            _ => self.plain_array(array, out),
        };
        self.offset += array.len() as u64;
        result
    }

    fn type_error(&self, data_type: &DataType) -> ArrowError {
        ArrowError::whole(format!(
            "the {} column has type {data_type}; expected strings, integers or a dictionary of them",
            self.column
        ))
    }

    /// Rows of a string or integer array.
    fn plain_array(&mut self, array: &dyn Array, out: &mut [Row]) -> Result<(), ArrowError> {
        if let Some(row) = first_null(array) {
            return Err(self.error(row, "null"));
        }
        match array.data_type() {
            DataType::Utf8 => {
                let strings = array.as_string::<i32>();
                self.string_rows(|row| strings.value(row), out)?;
            }
            DataType::LargeUtf8 => {
                let strings = array.as_string::<i64>();
                self.string_rows(|row| strings.value(row), out)?;
            }
            DataType::Utf8View => {
                let strings = array.as_string_view();
                self.string_rows(|row| strings.value(row), out)?;
            }
            DataType::Int8 => self.int_array::<Int8Type>(array, out),
            DataType::Int16 => self.int_array::<Int16Type>(array, out),
            DataType::Int32 => self.int_array::<Int32Type>(array, out),
            DataType::Int64 => self.int_array::<Int64Type>(array, out),
            DataType::UInt8 => self.int_array::<UInt8Type>(array, out),
            DataType::UInt16 => self.int_array::<UInt16Type>(array, out),
            DataType::UInt32 => self.int_array::<UInt32Type>(array, out),
            DataType::UInt64 => self.int_array::<UInt64Type>(array, out),
            other => return Err(self.type_error(other)),
        }
        Ok(())
    }

    /// Rows of a string array (of any offset width or a view), in order: `value(row)` for
    /// each row of `out` (every row written, or an error).
    fn string_rows<'s>(
        &mut self,
        value: impl Fn(usize) -> &'s str,
        out: &mut [Row],
    ) -> Result<(), ArrowError> {
        let slot = self.slot;
        for (row, o) in out.iter_mut().enumerate() {
            o[slot].write(self.string(value(row).as_bytes(), row)?);
        }
        Ok(())
    }

    fn int_array<T: ArrowPrimitiveType>(&mut self, array: &dyn Array, out: &mut [Row])
    where
        T::Native: Into<i128>,
    {
        let slot = self.slot;
        // As many values as rows of `out` (checked by the caller; the slicing panics rather
        // than leave a row unwritten).
        let values = &array.as_primitive::<T>().values()[..out.len()];
        for (&v, o) in values.iter().zip(out) {
            let v: i128 = v.into();
            // The table of small values inline (labels), the rest through `int`.
            o[slot].write(match self.small_id(v) {
                Some(id) => id,
                None => self.int(v),
            });
        }
    }

    /// Rows of a dictionary array: keys through a value → local id table, filled on first
    /// use of each value (so values no row uses are not names).
    fn dictionary_array<K: ArrowDictionaryKeyType>(
        &mut self,
        array: &dyn Array,
        out: &mut [Row],
    ) -> Result<(), ArrowError> {
        let dict = array.as_dictionary::<K>();
        if let Some(row) = first_null(dict.keys()) {
            return Err(self.error(row, "null"));
        }
        let values = dict.values();
        if !is_plain_id_type(values.data_type()) {
            return Err(self.type_error(array.data_type()));
        }
        let typed = DictValues::of(values);
        let mut table = match self.dictionary.take() {
            Some((previous, table)) if Arc::ptr_eq(&previous, values) => table,
            _ => {
                // A new dictionary: room among the names for as many of its values as the
                // rows can use, at once (a Parquet row group uses nearly all; growing as they
                // come copied the names once more). At most as many as the rows: a slice of a
                // large dictionary (a part of a long array) uses few.
                let names = &mut self.names;
                let used = values.len().min(array.len());
                names.new_ends.reserve(used);
                if let DictValues::Utf8(strings) = &typed {
                    let bytes = strings.value_data().len();
                    names.new_bytes.reserve(bytes / values.len().max(1) * used);
                }
                vec![UNSEEN; values.len()]
            }
        };
        let result = self.dictionary_rows::<K>(dict.keys().values(), &typed, &mut table, out);
        self.dictionary = Some((values.clone(), table));
        result
    }

    fn dictionary_rows<K: ArrowDictionaryKeyType>(
        &mut self,
        keys: &[K::Native],
        values: &DictValues<'_>,
        table: &mut [u32],
        out: &mut [Row],
    ) -> Result<(), ArrowError> {
        let slot = self.slot;
        // As many keys as rows of `out` (checked by the caller; the slicing panics rather than
        // leave a row unwritten).
        let keys = &keys[..out.len()];
        for ((row, key), o) in keys.iter().enumerate().zip(out) {
            let index = key
                .to_usize()
                .filter(|&k| k < table.len())
                .ok_or_else(|| self.error(row, "a dictionary key out of range"))?;
            let mut id = table[index];
            if id == UNSEEN {
                id = self.dictionary_value(values, index, row)?;
                table[index] = id;
            }
            o[slot].write(id);
        }
        Ok(())
    }

    /// The local id of dictionary value `index` (first use). A string value is copied into the
    /// names straight from the array (the array is not kept: a dictionary may be dropped with
    /// its batch).
    fn dictionary_value(
        &mut self,
        values: &DictValues<'_>,
        index: usize,
        row: usize,
    ) -> Result<u32, ArrowError> {
        let name: &[u8] = match values {
            DictValues::Utf8(a) if !a.is_null(index) => a.value(index).as_bytes(),
            DictValues::LargeUtf8(a) if !a.is_null(index) => a.value(index).as_bytes(),
            DictValues::View(a) if !a.is_null(index) => a.value(index).as_bytes(),
            DictValues::Ints(values) if !values.is_null(index) => {
                // Numbered as in a plain integer column (never empty).
                let value = int_at(values.as_ref(), index)
                    .ok_or_else(|| self.type_error(values.data_type()))?;
                return Ok(self.int(value));
            }
            _ => return Err(self.error(row, "null")),
        };
        if name.is_empty() {
            return Err(self.error(row, "empty name"));
        }
        // Another dictionary (or a plain array) of the chunk may have given this name a local
        // id already: two local ids of one name get one id when the encoder numbers them.
        Ok(self.new_name(name))
    }
}

/// A dictionary's values, typed once per array rather than at each first use of a value.
enum DictValues<'a> {
    Utf8(&'a StringArray),
    LargeUtf8(&'a LargeStringArray),
    View(&'a StringViewArray),
    /// Integers (rare as dictionary values): read one at a time by [`int_at`].
    Ints(&'a ArrayRef),
}

impl<'a> DictValues<'a> {
    fn of(values: &'a ArrayRef) -> Self {
        match values.data_type() {
            DataType::Utf8 => Self::Utf8(values.as_string::<i32>()),
            DataType::LargeUtf8 => Self::LargeUtf8(values.as_string::<i64>()),
            DataType::Utf8View => Self::View(values.as_string_view()),
            _ => Self::Ints(values),
        }
    }
}

/// Value `index` of an integer array, widened (None: not an integer array).
fn int_at(values: &dyn Array, index: usize) -> Option<i128> {
    Some(match values.data_type() {
        DataType::Int8 => values.as_primitive::<Int8Type>().value(index).into(),
        DataType::Int16 => values.as_primitive::<Int16Type>().value(index).into(),
        DataType::Int32 => values.as_primitive::<Int32Type>().value(index).into(),
        DataType::Int64 => values.as_primitive::<Int64Type>().value(index).into(),
        DataType::UInt8 => values.as_primitive::<UInt8Type>().value(index).into(),
        DataType::UInt16 => values.as_primitive::<UInt16Type>().value(index).into(),
        DataType::UInt32 => values.as_primitive::<UInt32Type>().value(index).into(),
        DataType::UInt64 => values.as_primitive::<UInt64Type>().value(index).into(),
        _ => return None,
    })
}

fn first_null(array: &dyn Array) -> Option<usize> {
    let nulls = array.logical_nulls()?;
    (nulls.null_count() > 0).then(|| nulls.iter().position(|valid| !valid).unwrap_or(0))
}

/// The names of a chunk of rows (one Parquet row group, or a part of one call of
/// [`ArrowEncoder::push`]) in chunk-local id order; the rows' local ids are in the encoder's
/// row table until the encoder gives the names its own ids.
pub(crate) struct Chunk {
    columns: [LocalColumn; 3],
}

/// The error of a triple of arrays of different lengths.
fn lengths_error(triple: [&dyn Array; 3]) -> ArrowError {
    ArrowError::whole(format!(
        "columns of different lengths: task {}, worker {}, label {}",
        triple[0].len(),
        triple[1].len(),
        triple[2].len()
    ))
}

/// Encodes a chunk's (task, worker, label) arrays batch after batch straight into its rows of
/// the row table (one triple of local ids per row; error rows count from the chunk's first
/// row), then [`finish`](ChunkWriter::finish)es its names. Each batch is encoded as it comes
/// (a Parquet row group's batches while they are in cache) and no row is written twice.
pub(crate) struct ChunkWriter<'a> {
    encoders: [ColumnEncoder; 3],
    rows: &'a mut [Row],
    /// Rows written whole: every column's id of rows `..written` is set.
    written: usize,
    /// Set by `finish` when every row is written (see [`Rows`]).
    done: &'a mut bool,
    /// A push failed: some columns took names from a batch whose rows are not written, so the
    /// writer refuses anything more.
    failed: bool,
}

impl ChunkWriter<'_> {
    /// Encodes the next rows: a batch of three arrays of equal length. On error the rows of
    /// this batch are not counted as written.
    pub(crate) fn push(&mut self, triple: [&dyn Array; 3]) -> Result<(), ArrowError> {
        if self.failed {
            return Err(ArrowError::whole("a batch before this one failed"));
        }
        let len = triple[0].len();
        if triple.iter().any(|a| a.len() != len) {
            return Err(lengths_error(triple));
        }
        if len > self.remaining() {
            return Err(ArrowError::whole("more rows than announced"));
        }
        let head = &mut self.rows[self.written..self.written + len];
        for (encoder, array) in self.encoders.iter_mut().zip(triple) {
            if let Err(e) = encoder.push(array, head) {
                self.failed = true;
                return Err(e);
            }
        }
        self.written += len;
        Ok(())
    }

    /// Rows written so far.
    #[cfg(any(feature = "parquet", test))]
    pub(crate) fn written(&self) -> usize {
        self.written
    }

    /// Rows of the chunk not written yet.
    pub(crate) fn remaining(&self) -> usize {
        self.rows.len() - self.written
    }

    /// The chunk's names, once every row is written.
    pub(crate) fn finish(self) -> Result<Chunk, ArrowError> {
        if self.failed {
            return Err(ArrowError::whole("a batch failed"));
        }
        if self.remaining() > 0 {
            return Err(ArrowError::whole("fewer rows than announced"));
        }
        *self.done = true;
        Ok(Chunk {
            columns: self.encoders.map(ColumnEncoder::finish),
        })
    }
}

/// Turns Arrow arrays into [`Responses`]: push the task, worker and label arrays of each
/// batch, then [`finish`](ArrowEncoder::finish). The result does not depend on how rows are
/// split into batches nor on their order.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{DictionaryArray, Int64Array, StringArray, types::Int32Type};
/// use crowdagg::io::ArrowEncoder;
///
/// let tasks = StringArray::from(vec!["t1", "t1", "t2"]);
/// let workers = Int64Array::from(vec![7, 8, 7]);
/// let labels: DictionaryArray<Int32Type> = vec!["cat", "dog", "cat"].into_iter().collect();
/// let mut encoder = ArrowEncoder::new();
/// encoder.push(&tasks, &workers, &labels)?;
/// let data = encoder.finish()?;
/// assert_eq!((data.n_tasks(), data.worker_name(1), data.label_name(1)), (2, "8", "dog"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
pub struct ArrowEncoder {
    /// Per column, the distinct names of the chunks numbered by the encoder, in order of first
    /// appearance (the encoder's ids).
    names: [LocalNames; 3],
    /// Per column, chunks' names kept as they are, each a part of the canonical merge: the
    /// chunks whose names were mostly new to the encoder (the tasks of a table grouped by
    /// task), which would cost a hash table insert each and then be sorted all the same.
    kept: [Kept; 3],
    /// Per column, the local → encoder id maps of the numbered chunks whose rows were left in
    /// local ids: maps of at most an eighth as many ids as their chunk has rows (labels, or a
    /// few workers), which cost at most half a byte per row kept to the end and save a pass
    /// over the rows. Concatenated (one buffer, not one per chunk: thousands of freed small
    /// buffers would stay in the process's heap).
    small_maps: [Vec<u32>; 3],
    /// Every chunk in row order: its rows, and per column what their ids stand for (until
    /// [`finish`](ArrowEncoder::finish)).
    spans: Vec<Span>,
    /// Every row: per column, the encoder's ids, or its chunk's local ids (a part's, or those
    /// of a small map).
    raw: Vec<[u32; 3]>,
    policy: DuplicatePolicy,
}

/// A chunk of consecutive rows of [`ArrowEncoder`]'s table.
struct Span {
    rows: usize,
    columns: [Local; 3],
}

/// What a chunk's ids of one column stand for.
#[derive(Clone, Copy)]
enum Local {
    /// The encoder's ids: the chunk's rows were rewritten when it was numbered.
    Numbered,
    /// Local id `i` → the encoder's id `small_maps[c][start + i]` (`len` local ids).
    Mapped { start: usize, len: usize },
    /// Local id `i` is name `i` of part `k` of the column's kept names.
    Part(usize),
}

/// How [`ArrowEncoder::number`] settled one column of a chunk.
enum Settled {
    /// Numbered by the encoder: local id `i` → the encoder's id `map[i]`.
    Numbered(Vec<u32>),
    /// Kept whole as part `k` of the column's names.
    Part(usize),
}

/// Chunks' names kept whole, concatenated into one buffer per column (see `small_maps` of
/// [`ArrowEncoder`] for why): part `k`'s names are `bytes[byte_starts[k]..byte_starts[k + 1]]`,
/// with their ends (relative to that start) `ends[name_starts[k]..name_starts[k + 1]]`.
#[derive(Default)]
struct Kept {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    byte_starts: Vec<usize>,
    name_starts: Vec<usize>,
}

impl Kept {
    /// Names held.
    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Keeps `column`'s names as the next part; its index.
    fn push(&mut self, column: &LocalColumn) -> usize {
        if self.byte_starts.is_empty() {
            self.byte_starts.push(0);
            self.name_starts.push(0);
        }
        self.bytes.extend_from_slice(&column.names);
        self.ends.extend_from_slice(&column.ends);
        self.byte_starts.push(self.bytes.len());
        self.name_starts.push(self.ends.len());
        self.byte_starts.len() - 2
    }

    fn parts(&self) -> impl Iterator<Item = PartNames<'_>> {
        let (bytes, names) = (&self.byte_starts, &self.name_starts);
        (1..bytes.len()).map(move |k| PartNames {
            bytes: &self.bytes[bytes[k - 1]..bytes[k]],
            ends: &self.ends[names[k - 1]..names[k]],
        })
    }
}

impl ArrowEncoder {
    /// An encoder keeping duplicate responses (as crowd-kit does).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the duplicate policy applied by [`finish`](ArrowEncoder::finish).
    pub fn duplicates(mut self, policy: DuplicatePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Number of responses pushed so far.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Whether no response was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Adds the rows of three arrays of equal length (task, worker, label). On error nothing
    /// of this call is kept; the error's row counts from the arrays' first row.
    ///
    /// Long arrays are cut into parts encoded on all threads and merged in order, which gives
    /// the same names and ids as one sequential pass.
    pub fn push(
        &mut self,
        task: &dyn Array,
        worker: &dyn Array,
        label: &dyn Array,
    ) -> Result<(), ArrowError> {
        let len = task.len();
        if worker.len() != len || label.len() != len {
            return Err(lengths_error([task, worker, label]));
        }
        let parts = len
            .div_ceil(PART_ROWS)
            .clamp(1, 4 * rayon::current_num_threads());
        let part_len = len.div_ceil(parts).max(1);
        let starts: Vec<usize> = (0..len).step_by(part_len).collect();
        let lens: Vec<usize> = starts.iter().map(|&s| part_len.min(len - s)).collect();
        self.append_parts(
            &lens,
            |_, e| e,
            |part, out| {
                let (start, n) = (starts[part], lens[part]);
                let [t, w, l] = [task, worker, label].map(|a| a.slice(start, n));
                let mut writer = out.writer();
                writer
                    .push([t.as_ref(), w.as_ref(), l.as_ref()])
                    .and_then(|()| writer.finish())
                    .map_err(|mut e| {
                        e.row = e.row.map(|r| r + start as u64);
                        e
                    })
            },
        )
    }

    /// Adds the rows of a record batch, taking the columns named by `options`
    /// (`task_column`, `worker_column`, `label_column`; the other options are for text).
    pub fn push_batch(
        &mut self,
        batch: &RecordBatch,
        options: &ReadOptions,
    ) -> Result<(), ArrowError> {
        let at = find_columns(batch.schema_ref(), options).map_err(ArrowError::whole)?;
        let [t, w, l] = at.map(|i| batch.column(i).as_ref());
        self.push(t, w, l)
    }

    /// Reserves room for `n` more rows when the allocator grants it: `n` is a hint (the
    /// Parquet reader takes it from the footer, which a damaged or hostile file can inflate),
    /// and a failed `reserve` would abort the process; the rows still grow as they come.
    #[cfg(feature = "parquet")]
    pub(crate) fn reserve(&mut self, n: usize) {
        let _ = self.raw.try_reserve(n);
    }

    /// Appends chunks of `lens[i]` rows each, encoded in parallel by `encode(i, rows)` straight
    /// into their place in the row table (in chunk-local ids, no copy); their names wait for
    /// the merge in [`finish`](ArrowEncoder::finish). On error nothing of this call is kept
    /// and the error is the first chunk's in order (`too_many(Some(i), _)` when chunk `i`
    /// would exceed the row limit; `too_many(None, _)`, no chunk to blame, when the rows do not
    /// fit in memory).
    ///
    /// The room is reserved, not written: a chunk's rows are written once, by its encoder
    /// ([`Rows::writer`]) as its batches come (a hostile Parquet footer can claim 4·10⁹ rows;
    /// zeroing them first would touch 48 GB before any check, and zeroing the rows of a
    /// well-formed file costs a pass over them).
    pub(crate) fn append_parts<E: Send>(
        &mut self,
        lens: &[usize],
        too_many: impl Fn(Option<usize>, ArrowError) -> E,
        encode: impl Fn(usize, Rows<'_>) -> Result<Chunk, E> + Sync,
    ) -> Result<(), E> {
        let old = self.raw.len();
        let mut total = old;
        for (i, &n) in lens.iter().enumerate() {
            // Saturating: on 32-bit targets the sum of footer counts can wrap `usize`.
            total = total.saturating_add(n);
            if total >= u32::MAX as usize {
                return Err(too_many(
                    Some(i),
                    ArrowError::whole(format!(
                        "too many responses (at most {} are supported)",
                        u32::MAX - 1
                    )),
                ));
            }
        }
        if self.raw.try_reserve(total - old).is_err() {
            return Err(too_many(
                None,
                ArrowError::whole(format!("not enough memory for {} responses", total - old)),
            ));
        }
        let mut outs = Vec::with_capacity(lens.len());
        let mut rest = &mut self.raw.spare_capacity_mut()[..total - old];
        for &n in lens {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(n);
            outs.push(head);
            rest = tail;
        }
        let chunks = outs
            .into_par_iter()
            .enumerate()
            .map(|(i, spare)| {
                let mut written = false;
                let chunk = encode(
                    i,
                    Rows {
                        spare: &mut *spare,
                        written: &mut written,
                    },
                );
                if chunk.is_ok() && !written {
                    // An encoder that did not write its rows (none does): they must be
                    // initialized all the same before `set_len` below.
                    spare.fill(MaybeUninit::new([0; 3]));
                }
                chunk
            })
            .collect::<Vec<_>>()
            // Sequentially: with several bad chunks, the first one's error (a parallel
            // collect into a Result may return any of them).
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        // SAFETY: `try_reserve` made the capacity at least `total`, and every row of
        // `old..total` is initialized: the chunks' slices cover that range exactly (their
        // lengths are `lens`, which sum to `total - old`), and each was written whole: `written`
        // is set only by `ChunkWriter::finish` once every id of every row is written (its
        // `written` count advances only over batches whose three columns each wrote every one
        // of its rows) or by `Rows::zeroed` (which writes every row before handing it out),
        // else the fill above; all chunks succeeded, so none is skipped. `[u32; 3]` has no drop
        // glue.
        unsafe { self.raw.set_len(total) };
        self.number(chunks, lens);
        Ok(())
    }

    /// Settles how each chunk's local names become names (the three columns on separate
    /// threads): the first chunk of a column, and any chunk whose names are mostly known, is
    /// numbered by the encoder (each name looked up once per chunk, not once per row, the
    /// chunks in parallel; only names not found are numbered in turn); a chunk
    /// whose names are mostly new is kept whole as a part of the merge (no hashing), while
    /// the column's parts hold at most a quarter as many names as the table has rows (so a
    /// table where names seen before look new cannot make the parts grow with the rows).
    ///
    /// The rows of numbered columns are rewritten to the encoder's ids right away and their
    /// local → encoder maps dropped: kept until [`finish`](ArrowEncoder::finish), they
    /// would cost 4 bytes per distinct name per chunk, up to 4 bytes per row per column for
    /// rows in random order (each row group then holds mostly distinct tasks). A map of at
    /// most an eighth as many names as its chunk has rows (labels) is kept instead, its rows
    /// left in local ids (half a byte per row at most, for one pass over them saved); so are
    /// the columns kept as parts. `finish` maps those once.
    fn number(&mut self, chunks: Vec<Chunk>, lens: &[usize]) {
        let mut by_column: [Vec<LocalColumn>; 3] = Default::default();
        for chunk in chunks {
            for (column, local) in by_column.iter_mut().zip(chunk.columns) {
                column.push(local);
            }
        }
        let budget = self.raw.len() / 4;
        let settled: Vec<Vec<Settled>> = self
            .names
            .par_iter_mut()
            .zip(self.kept.par_iter_mut())
            .zip(by_column)
            .map(|((names, kept), columns)| {
                // The chunks' names looked up in parallel among those numbered before this
                // call (a chunk that looks new is left for below: it may become a part)...
                let known: &LocalNames = names;
                let found: Vec<Option<Vec<u32>>> = columns
                    .par_iter()
                    .map(|column| {
                        (known.count > 0 && !column.mostly_new(known)).then(|| {
                            column
                                .iter()
                                .map(|n| known.find(n).unwrap_or(UNSEEN))
                                .collect()
                        })
                    })
                    .collect();
                // ...then, chunk after chunk, only the names not found are numbered.
                columns
                    .into_iter()
                    .zip(found)
                    .map(|(column, found)| match found {
                        Some(mut ids) => {
                            for (id, name) in ids.iter_mut().zip(column.iter()) {
                                if *id == UNSEEN {
                                    *id = names.id(name);
                                }
                            }
                            Settled::Numbered(ids)
                        }
                        None if names.count > 0
                            && kept.len() + column.len() <= budget
                            && column.mostly_new(names) =>
                        {
                            Settled::Part(kept.push(&column))
                        }
                        None => Settled::Numbered(column.iter().map(|n| names.id(n)).collect()),
                    })
                    .collect()
            })
            .collect();
        let mut settled = settled.into_iter().map(Vec::into_iter);
        let (Some(mut t), Some(mut w), Some(mut l)) =
            (settled.next(), settled.next(), settled.next())
        else {
            return;
        };
        let mut chunks = Vec::with_capacity(lens.len());
        for &rows in lens {
            if let (Some(t), Some(w), Some(l)) = (t.next(), w.next(), l.next()) {
                chunks.push((rows, [t, w, l]));
            }
        }
        let new_rows: usize = chunks.iter().map(|(rows, _)| rows).sum();
        let first = self.raw.len() - new_rows;
        let mut spans = Vec::with_capacity(chunks.len());
        for (rows, columns) in &chunks {
            let mut c = 0;
            let columns = columns.each_ref().map(|settled| {
                let local = match settled {
                    Settled::Numbered(map) if map.len() <= rows / 8 => {
                        let start = self.small_maps[c].len();
                        self.small_maps[c].extend_from_slice(map);
                        Local::Mapped {
                            start,
                            len: map.len(),
                        }
                    }
                    Settled::Numbered(_) => Local::Numbered,
                    Settled::Part(k) => Local::Part(*k),
                };
                c += 1;
                local
            });
            spans.push(Span {
                rows: *rows,
                columns,
            });
        }
        let maps = chunks.iter().zip(&spans).map(|((rows, settled), span)| {
            let mut c = 0;
            let maps = span.columns.map(|local| {
                let map = match (local, &settled[c]) {
                    (Local::Numbered, Settled::Numbered(map)) => Some(&map[..]),
                    _ => None,
                };
                c += 1;
                map
            });
            (*rows, maps)
        });
        remap_rows(&mut self.raw[first..], maps);
        self.spans.extend(spans);
    }

    /// Sorts column `c`'s names (by the label order rule with `rule`, else byte order): the
    /// sorted names, and for each part (the encoder's numbered names first, then the chunks
    /// kept whole) its id → canonical id. The hash tables are dropped first.
    fn merge_column(names: &mut LocalNames, kept: Kept, rule: bool) -> Result<Merged, DataError> {
        let bytes = std::mem::take(&mut names.new_bytes);
        let ends = std::mem::take(&mut names.new_ends);
        *names = LocalNames::default();
        let numbered = PartNames {
            bytes: &bytes,
            ends: &ends,
        };
        let all: Vec<PartNames<'_>> = std::iter::once(numbered).chain(kept.parts()).collect();
        merge(&all, rule).map_err(|e| match e {
            MergeError::TooMany => DataError::TooManyIds {
                what: "names",
                max: u32::MAX as u64,
            },
            // Arrow strings are UTF-8 and integers are ASCII.
            MergeError::NotUtf8 => DataError::Internal {
                method: "ArrowEncoder",
                what: "a name that is not UTF-8",
            },
        })
    }

    /// The three columns merged in parallel (see [`merge_column`](Self::merge_column)).
    fn merge_columns(&mut self, rules: [bool; 3]) -> Result<[Merged; 3], DataError> {
        let kept = std::mem::take(&mut self.kept);
        let merged: Vec<Result<Merged, DataError>> = self
            .names
            .par_iter_mut()
            .zip(kept)
            .zip(rules)
            .map(|((names, kept), rule)| Self::merge_column(names, kept, rule))
            .collect();
        let mut merged = merged.into_iter();
        let mut next = || {
            merged.next().unwrap_or(Err(DataError::Internal {
                method: "ArrowEncoder",
                what: "three columns",
            }))
        };
        Ok([next()?, next()?, next()?])
    }

    /// Merges the names and rewrites every row to canonical ids, in one pass: encoder ids
    /// through the merge's map of the encoder's names, a part's local ids through the map of
    /// that part.
    fn canonical_rows(&mut self, rules: [bool; 3]) -> Result<[Merged; 3], DataError> {
        let merged = self.merge_columns(rules)?;
        let spans = std::mem::take(&mut self.spans);
        if spans.iter().map(|s| s.rows).sum::<usize>() != self.raw.len() {
            return Err(DataError::Internal {
                method: "ArrowEncoder",
                what: "chunks covering every row",
            });
        }
        // The small maps: local → encoder → canonical, composed in place.
        let mut small_maps = std::mem::take(&mut self.small_maps);
        for (ids, merged) in small_maps.iter_mut().zip(&merged) {
            let canonical = merged.map(0);
            ids.par_chunks_mut(REMAP_ROWS).for_each(|ids| {
                for id in ids {
                    *id = canonical[*id as usize];
                }
            });
        }
        let maps = spans.iter().map(|span| {
            let mut c = 0;
            let maps = span.columns.map(|local| {
                let map = match local {
                    Local::Numbered => merged[c].map(0),
                    Local::Mapped { start, len } => &small_maps[c][start..start + len],
                    Local::Part(k) => merged[c].map(k + 1),
                };
                c += 1;
                Some(map)
            });
            (span.rows, maps)
        });
        remap_rows(&mut self.raw, maps);
        Ok(merged)
    }

    /// Builds the [`Responses`]: canonical ids by the label order rule, then the duplicate
    /// policy.
    pub fn finish(mut self) -> Result<Responses, DataError> {
        let [t, w, l] = self.canonical_rows([true; 3])?;
        let raw = std::mem::take(&mut self.raw);
        Responses::from_canonical_rows([t.names, w.names, l.names], raw, self.policy)
    }

    /// Integer codes of every row pushed, in push order, per column (task, worker, label),
    /// each column's distinct names sorted by its [`NameOrder`] — what
    /// `pandas.factorize(sort=True)` gives for the same values. Every row is kept (the
    /// duplicate policy is not applied): callers that build [`Responses`] from the codes
    /// apply theirs.
    ///
    /// ```
    /// use arrow_array::{Int64Array, StringArray};
    /// use crowdagg::io::{ArrowEncoder, NameOrder};
    ///
    /// let tasks = StringArray::from(vec!["10", "2", "10"]);
    /// let workers = StringArray::from(vec!["b", "a", "a"]);
    /// let labels = Int64Array::from(vec![10, 2, 2]);
    /// let mut encoder = ArrowEncoder::new();
    /// encoder.push(&tasks, &workers, &labels)?;
    /// let [t, w, l] = encoder.factorize([NameOrder::Bytes, NameOrder::Bytes, NameOrder::Rule])?;
    /// // As strings, "10" sorts before "2"; as integers, 2 before 10.
    /// assert_eq!((t.codes, &*t.names[0]), (vec![0, 1, 0], "10"));
    /// assert_eq!(w.codes, vec![1, 0, 0]);
    /// assert_eq!((l.codes, l.numeric), (vec![1, 0, 0], true));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn factorize(mut self, orders: [NameOrder; 3]) -> Result<[Factorized; 3], DataError> {
        let merged = self.canonical_rows(orders.map(|o| o == NameOrder::Rule))?;
        let raw = &self.raw;
        let [t, w, l] = merged;
        Ok([(0, t), (1, w), (2, l)].map(|(c, merged)| {
            let mut codes = vec![0u32; raw.len()];
            codes
                .par_chunks_mut(REMAP_ROWS)
                .zip(raw.par_chunks(REMAP_ROWS))
                .for_each(|(out, rows)| {
                    for (code, row) in out.iter_mut().zip(rows) {
                        *code = row[c];
                    }
                });
            Factorized {
                codes,
                numeric: merged.names.numeric(),
                names: merged.names.iter().map(Box::from).collect(),
            }
        }))
    }
}

/// A chunk's rows in the row table, reserved but not yet written (see
/// [`ArrowEncoder::append_parts`]).
pub(crate) struct Rows<'a> {
    spare: &'a mut [MaybeUninit<[u32; 3]>],
    /// Set once every row is initialized.
    written: &'a mut bool,
}

impl<'a> Rows<'a> {
    /// Number of rows.
    #[cfg(feature = "parquet")]
    pub(crate) fn len(&self) -> usize {
        self.spare.len()
    }

    /// A writer that encodes batches straight into the rows.
    pub(crate) fn writer(self) -> ChunkWriter<'a> {
        // SAFETY: `MaybeUninit<[u32; 3]>` and `[MaybeUninit<u32>; 3]` have the same size and
        // alignment, and neither has a validity invariant; the slice cast keeps the length and
        // the borrow is moved, not copied.
        let rows = unsafe { &mut *(std::ptr::from_mut(self.spare) as *mut [Row]) };
        ChunkWriter {
            encoders: [0, 1, 2].map(ColumnEncoder::new),
            rows,
            written: 0,
            done: self.written,
            failed: false,
        }
    }

    /// The rows, zeroed (tests: a chunk that writes its rows by other means).
    #[cfg(test)]
    pub(crate) fn zeroed(self) -> &'a mut [[u32; 3]] {
        self.spare.fill(MaybeUninit::new([0; 3]));
        *self.written = true;
        // SAFETY: every element was initialized by the `fill` just above, and
        // `MaybeUninit<T>` has the same layout as `T`; the borrow is moved, not copied.
        unsafe { &mut *(std::ptr::from_mut(self.spare) as *mut [[u32; 3]]) }
    }
}

/// Rows per parallel task when rows are rewritten to other ids.
const REMAP_ROWS: usize = 1 << 16;

/// Rewrites `rows`, chunk after chunk (`chunks`: each chunk's row count and, per column, the
/// map from its ids to the new ones, or `None` to leave that column as it is), on all threads
/// in pieces of at most [`REMAP_ROWS`] rows. The counts must sum to `rows.len()` at most.
fn remap_rows<'m>(
    rows: &mut [[u32; 3]],
    chunks: impl Iterator<Item = (usize, [Option<&'m [u32]>; 3])>,
) {
    let mut pieces = Vec::with_capacity(rows.len() / REMAP_ROWS + 1);
    let mut rest = rows;
    for (rows, maps) in chunks {
        let (mut mine, tail) = std::mem::take(&mut rest).split_at_mut(rows);
        rest = tail;
        if maps.iter().all(Option::is_none) {
            continue;
        }
        while mine.len() > REMAP_ROWS {
            let (head, tail) = std::mem::take(&mut mine).split_at_mut(REMAP_ROWS);
            pieces.push((head, maps));
            mine = tail;
        }
        pieces.push((mine, maps));
    }
    pieces.into_par_iter().for_each(|(rows, maps)| match maps {
        [Some(t), Some(w), Some(l)] => {
            for row in rows {
                *row = [t[row[0] as usize], w[row[1] as usize], l[row[2] as usize]];
            }
        }
        _ => {
            for (c, map) in maps.iter().enumerate() {
                if let Some(map) = map {
                    for row in rows.iter_mut() {
                        row[c] = map[row[c] as usize];
                    }
                }
            }
        }
    });
}

/// How [`ArrowEncoder::factorize`] orders a column's distinct names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameOrder {
    /// The crate's label order rule: numeric when every name is an integer, else byte order.
    Rule,
    /// Byte order (code-point order of the UTF-8 text), as Python sorts strings: `"10"`
    /// before `"2"`.
    Bytes,
}

/// One column factorized by [`ArrowEncoder::factorize`].
#[derive(Debug, Clone, PartialEq)]
pub struct Factorized {
    /// The code of each row, in push order: an index into `names`.
    pub codes: Vec<u32>,
    /// The distinct names, sorted.
    pub names: Vec<Box<str>>,
    /// Whether `names` are in numeric order (every name an integer, and [`NameOrder::Rule`]).
    pub numeric: bool,
}

/// Reads [`Responses`] from a stream of record batches (the columns named by `options`);
/// `source_name` is used in error messages, which locate a row as `name:row group B:row R`
/// with `B` the 0-based batch.
pub fn read_record_batches(
    reader: impl RecordBatchReader,
    source_name: &str,
    options: &ReadOptions,
) -> Result<Responses, Error> {
    let file = std::path::PathBuf::from(source_name);
    let at = find_columns(&reader.schema(), options).map_err(|message| InputError::File {
        file: file.clone(),
        message,
    })?;
    let mut encoder = ArrowEncoder::new().duplicates(options.duplicates);
    for (index, batch) in reader.enumerate() {
        let located = |row: Option<u64>, message: String| InputError::Columnar {
            file: file.clone(),
            row_group: index,
            row,
            message,
        };
        let batch = batch.map_err(|e| located(None, e.to_string()))?;
        let [t, w, l] = at.map(|i| batch.column(i).as_ref());
        encoder
            .push(t, w, l)
            .map_err(|e| located(e.row, e.message))?;
    }
    encoder.finish().map_err(|e| {
        InputError::File {
            file,
            message: e.to_string(),
        }
        .into()
    })
}

#[cfg(test)]
mod tests {
    use arrow_array::StringArray;

    use super::*;

    fn strings(values: &[&str]) -> StringArray {
        StringArray::from(values.to_vec())
    }

    /// `append_parts` on one row of `(t, w, l)` per chunk, each chunk's encoder chosen by `encode`.
    fn encode_one([t, w, l]: [&StringArray; 3], rows: Rows<'_>) -> Result<Chunk, String> {
        let mut writer = rows.writer();
        writer
            .push([t as &dyn Array, w, l])
            .map_err(|e| e.message)?;
        writer.finish().map_err(|e| e.message)
    }

    #[test]
    fn append_parts_keeps_nothing_of_a_failed_call() {
        let (t, w, l) = (strings(&["t1"]), strings(&["w1"]), strings(&["a"]));
        let mut encoder = ArrowEncoder::new();
        encoder.push(&t, &w, &l).unwrap();
        // Chunk 0 is fine, chunk 1 writes its rows then fails, chunk 2 fails without asking for
        // its rows: the first error in chunk order, and nothing kept.
        let result = encoder.append_parts(
            &[1, 2, 3],
            |_, e| e.message,
            |i, rows| match i {
                0 => encode_one([&t, &w, &l], rows),
                1 => {
                    rows.zeroed().fill([7; 3]);
                    Err("chunk 1 fails".into())
                }
                _ => Err(format!("chunk {i} fails")),
            },
        );
        assert_eq!(result.err().as_deref(), Some("chunk 1 fails"));
        assert_eq!(encoder.len(), 1);
        // An encoder whose arrays have fewer rows than its chunk.
        let result = encoder.append_parts(
            &[2],
            |_, e| e.message,
            |_, rows| encode_one([&t, &w, &l], rows),
        );
        assert_eq!(result.err().as_deref(), Some("fewer rows than announced"));
        assert_eq!(encoder.len(), 1);
        // The row limit, before any chunk is encoded.
        let result = encoder.append_parts(
            &[1, usize::MAX],
            |i, e| format!("{i:?}: {}", e.message),
            |_, _| -> Result<Chunk, String> { unreachable!("no chunk is encoded") },
        );
        assert_eq!(
            result.err().as_deref(),
            Some("Some(1): too many responses (at most 4294967294 are supported)")
        );
        assert_eq!(encoder.len(), 1);
        // An encoder that succeeds without asking for its rows: they read as local id 0.
        encoder
            .append_parts(
                &[1],
                |_, e| e.message,
                |_, _| {
                    // Encoded into rows of its own.
                    let mut scratch = [MaybeUninit::new([0; 3])];
                    let mut written = false;
                    let rows = Rows {
                        spare: &mut scratch,
                        written: &mut written,
                    };
                    encode_one([&t, &w, &strings(&["b"])], rows)
                },
            )
            .unwrap();
        // Later pushes go on from the rows kept.
        encoder
            .push(&strings(&["t2"]), &strings(&["w1"]), &strings(&["a"]))
            .unwrap();
        assert_eq!(encoder.len(), 3);
        let [t, w, l] = encoder.factorize([NameOrder::Bytes; 3]).unwrap();
        assert_eq!(
            (t.codes, &t.names[..]),
            (vec![0, 0, 1], &["t1".into(), "t2".into()][..])
        );
        assert_eq!(w.codes, vec![0, 0, 0]);
        assert_eq!(
            (l.codes, &l.names[..]),
            (vec![0, 1, 0], &["a".into(), "b".into()][..])
        );
    }

    /// An encoder fed `chunks` (of 40 rows each) by `append_parts`, one call per range.
    fn encode_in_calls(
        chunks: &[[StringArray; 3]],
        calls: &[std::ops::Range<usize>],
    ) -> ArrowEncoder {
        let mut encoder = ArrowEncoder::new();
        for call in calls {
            let lens = vec![40; call.len()];
            encoder
                .append_parts(
                    &lens,
                    |_, e| e.message,
                    |i, out| {
                        let [t, w, l] = &chunks[call.start + i];
                        encode_one([t, w, l], out)
                    },
                )
                .unwrap();
        }
        encoder
    }

    /// Chunk `first` of the test below: ten tasks of four rows each from `t{first}`.
    fn ten_tasks(first: usize) -> [StringArray; 3] {
        let t: Vec<String> = (0..40).map(|i| format!("t{}", first + i / 4)).collect();
        let w: Vec<String> = (0..40).map(|i| format!("w{}", (first + i) % 7)).collect();
        let l: Vec<String> = (0..40)
            .map(|i| format!("{}", (first * 3 + i) % 3))
            .collect();
        [t, w, l].map(StringArray::from)
    }

    #[test]
    fn chunks_of_new_names_kept_whole_give_the_same_codes() {
        // Chunks t0–t9 (numbered: the first chunk), t10–t19 (new: kept whole), t5–t14 (half
        // known: numbered, sharing t10–t14 with the part), t15–t24 (unknown to the numbered
        // names: a second part, sharing t15–t19 with the first).
        // In one call (each chunk settled in turn) or the first chunk alone, then the others
        // (their names first looked up in parallel among the first's).
        let chunks = [0, 10, 5, 15].map(ten_tasks);
        let chunked = |calls: &[std::ops::Range<usize>]| {
            let encoder = encode_in_calls(&chunks, calls);
            assert_eq!(
                encoder.kept[0].parts().count(),
                2,
                "the task chunks kept whole"
            );
            assert!(encoder.kept[1].len() == 0 && encoder.kept[2].len() == 0);
            encoder
        };
        let one_call: Vec<std::ops::Range<usize>> = std::iter::once(0..4).collect();
        let layouts = [one_call, vec![0..1, 1..4]];
        // The same rows in one array (one chunk: every name numbered).
        let column = |c: usize| -> StringArray {
            chunks
                .iter()
                .flat_map(|chunk| chunk[c].iter().map(Option::unwrap))
                .map(Some)
                .collect()
        };
        let (t, w, l) = (column(0), column(1), column(2));
        for calls in &layouts {
            for orders in [[NameOrder::Rule; 3], [NameOrder::Bytes; 3]] {
                let mut plain = ArrowEncoder::new();
                plain.push(&t, &w, &l).unwrap();
                let got = chunked(calls).factorize(orders).unwrap();
                assert_eq!(got[0].names.len(), 25);
                assert_eq!(got, plain.factorize(orders).unwrap());
            }
            let (got, plain) = (chunked(calls).finish().unwrap(), {
                let mut plain = ArrowEncoder::new();
                plain.push(&t, &w, &l).unwrap();
                plain.finish().unwrap()
            });
            assert_eq!(format!("{got:?}"), format!("{plain:?}"));
        }
    }

    /// Chunk of 40 rows in scrambled order: the ten tasks from `t{tasks}` in 20 runs of two
    /// rows (task `3j mod 10` in run `j`: each task's rows apart, and 20 local names, since
    /// runs are numbered without hashing), the ten workers from `w{workers}` (`7i mod 10` in
    /// row `i`), labels `0`–`2`.
    fn scrambled(tasks: usize, workers: usize) -> [StringArray; 3] {
        let t = (0..40).map(|i| Some(format!("t{}", tasks + i / 2 * 3 % 10)));
        let w = (0..40).map(|i| Some(format!("w{}", workers + i * 7 % 10)));
        let l = (0..40).map(|i| Some(format!("{}", i * 7 / 4 % 3)));
        [t.collect(), w.collect(), l.collect()]
    }

    #[test]
    fn numbered_columns_rewritten_at_once_and_parts_at_finish_give_sorted_codes() {
        // Per chunk, which columns are kept as parts: chunk 1's tasks and chunk 2's workers
        // are new (parts), chunk 3's tasks are new to the numbered names (a second part,
        // sharing t15–t19 with the first) while half its workers are known (numbered).
        let chunks = [(0, 0), (10, 0), (0, 10), (15, 5)].map(|(t, w)| scrambled(t, w));
        // The chunks' calls: all in one, one per call, two per call.
        let whole = 0..4;
        let layouts: [&[std::ops::Range<usize>]; 3] = [
            std::slice::from_ref(&whole),
            &[0..1, 1..2, 2..3, 3..4],
            &[0..2, 2..4],
        ];
        for calls in layouts {
            let encoder = encode_in_calls(&chunks, calls);
            // Rows rewritten to the encoder's ids (`n`), left with a small map (`m`: the
            // labels, 3 names in 40 rows) or as part `k` (`pk`).
            let layout: Vec<[String; 3]> = encoder
                .spans
                .iter()
                .map(|span| {
                    span.columns.map(|local| match local {
                        Local::Numbered => "n".to_string(),
                        Local::Mapped { .. } => "m".to_string(),
                        Local::Part(k) => format!("p{k}"),
                    })
                })
                .collect();
            let expected_layout = [
                ["n", "n", "m"],
                ["p0", "n", "m"],
                ["n", "p0", "m"],
                ["p1", "n", "m"],
            ];
            assert_eq!(layout, expected_layout, "calls {calls:?}");
            // Expected by hand: each name's code is its rank among the column's distinct
            // names, sorted (none of the tasks or workers is an integer: byte order).
            let got = encoder.factorize([NameOrder::Rule; 3]).unwrap();
            for (c, got) in got.iter().enumerate() {
                let column: Vec<&str> = chunks
                    .iter()
                    .flat_map(|chunk| chunk[c].iter().map(Option::unwrap))
                    .collect();
                let names: std::collections::BTreeSet<&str> = column.iter().copied().collect();
                let names: Vec<&str> = names.into_iter().collect();
                let codes: Vec<u32> = column
                    .iter()
                    .map(|n| names.binary_search(n).unwrap() as u32)
                    .collect();
                assert_eq!(got.codes, codes, "column {c}, calls {calls:?}");
                assert_eq!(got.names.iter().map(|n| &**n).collect::<Vec<_>>(), names);
            }
        }
    }

    /// The error of pushing `task` (workers `w1…`, labels `a`) into a fresh encoder.
    fn task_error(task: &dyn Array) -> String {
        let n = task.len();
        let workers: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
        let workers: Vec<&str> = workers.iter().map(String::as_str).collect();
        let labels = vec!["a"; n];
        let err = ArrowEncoder::new()
            .push(task, &strings(&workers), &strings(&labels))
            .unwrap_err();
        err.to_string()
    }

    #[test]
    fn bad_dictionaries_are_errors_at_their_row() {
        use arrow_array::types::Int32Type;
        use arrow_array::{DictionaryArray, Int32Array};
        let values: ArrayRef = Arc::new(strings(&["x", "y"]));
        for (key, what) in [(-1, "negative"), (2, "past the end"), (i32::MAX, "huge")] {
            let keys = Int32Array::from(vec![0, 1, key]);
            assert!(DictionaryArray::<Int32Type>::try_new(keys.clone(), values.clone()).is_err());
            // SAFETY: not sound for arrow's own kernels (a key out of range), which this test
            // never calls: the encoder reads the keys and values buffers only, with bounds checks.
            let dict = unsafe { DictionaryArray::<Int32Type>::new_unchecked(keys, values.clone()) };
            assert_eq!(
                task_error(&dict),
                "row 2: a dictionary key out of range in the task column",
                "{what}"
            );
        }
        // A null value (the key is valid, the value it names is null).
        let values: ArrayRef = Arc::new(StringArray::from(vec![Some("x"), None]));
        let dict =
            DictionaryArray::<Int32Type>::try_new(Int32Array::from(vec![0, 0, 1]), values).unwrap();
        assert_eq!(task_error(&dict), "row 2: null in the task column");
        // A null key.
        let values: ArrayRef = Arc::new(strings(&["x", "y"]));
        let keys = Int32Array::from(vec![Some(1), None]);
        let dict = DictionaryArray::<Int32Type>::try_new(keys, values).unwrap();
        assert_eq!(task_error(&dict), "row 1: null in the task column");
    }

    #[test]
    fn three_dictionaries_give_the_column_by_column_error_and_codes() {
        use arrow_array::types::Int32Type;
        use arrow_array::{DictionaryArray, Int32Array};
        let dict = |keys: Vec<i32>, values: Vec<Option<&str>>| {
            let values: ArrayRef = Arc::new(StringArray::from(values));
            DictionaryArray::<Int32Type>::try_new(Int32Array::from(keys), values).unwrap()
        };
        let bad_workers = dict(vec![0, 1, 1, 0], vec![Some("w1"), None]);
        let labels = dict(vec![1, 0, 0, 1], vec![Some("a"), Some("b")]);
        let error = |tasks: &dyn Array| {
            let err = ArrowEncoder::new().push(tasks, &bad_workers, &labels);
            err.unwrap_err().to_string()
        };
        // The worker column is bad from row 1, the task column from row 2: the task column's
        // error (the columns are encoded one after the other); then the worker column's.
        let bad_tasks = dict(vec![0, 0, 1, 1], vec![Some("t1"), Some("")]);
        assert_eq!(error(&bad_tasks), "row 2: empty name in the task column");
        let tasks = dict(vec![0, 0, 1, 1], vec![Some("t1"), Some("t2")]);
        assert_eq!(error(&tasks), "row 1: null in the worker column");
        // Good dictionaries: the codes of the same rows as plain strings.
        let workers = dict(vec![0, 1, 1, 0], vec![Some("w2"), Some("w1")]);
        let mut encoder = ArrowEncoder::new();
        encoder.push(&tasks, &workers, &labels).unwrap();
        let mut plain = ArrowEncoder::new();
        plain
            .push(
                &strings(&["t1", "t1", "t2", "t2"]),
                &strings(&["w2", "w1", "w1", "w2"]),
                &strings(&["b", "a", "a", "b"]),
            )
            .unwrap();
        let orders = [NameOrder::Rule; 3];
        assert_eq!(
            encoder.factorize(orders).unwrap(),
            plain.factorize(orders).unwrap()
        );
    }

    #[test]
    fn dictionaries_of_integers_and_shared_names_read_as_plain_strings() {
        use arrow_array::types::Int32Type;
        use arrow_array::{DictionaryArray, Int32Array, Int64Array};
        // Dictionary of integers: tasks 10, 2, 10 (value 7 unused).
        let values: ArrayRef = Arc::new(Int64Array::from(vec![7, 10, 2]));
        let tasks =
            DictionaryArray::<Int32Type>::try_new(Int32Array::from(vec![1, 2, 1]), values).unwrap();
        // Two dictionaries in one chunk naming the same workers in other orders (and each a
        // name the other lacks).
        let first: ArrayRef = Arc::new(strings(&["b", "a"]));
        let second: ArrayRef = Arc::new(strings(&["c", "a", "b"]));
        let w1 =
            DictionaryArray::<Int32Type>::try_new(Int32Array::from(vec![0, 1, 0]), first).unwrap();
        let w2 =
            DictionaryArray::<Int32Type>::try_new(Int32Array::from(vec![1, 2, 0]), second).unwrap();
        let labels = strings(&["l", "m", "l"]);
        let mut encoder = ArrowEncoder::new();
        encoder
            .append_parts(
                &[6],
                |_, e| e.message,
                |_, out| {
                    let mut writer = out.writer();
                    for triple in [[&tasks as &dyn Array, &w1, &labels], [&tasks, &w2, &labels]] {
                        writer.push(triple).map_err(|e| e.message)?;
                    }
                    writer.finish().map_err(|e| e.message)
                },
            )
            .unwrap();
        // The same rows as plain strings.
        let mut plain = ArrowEncoder::new();
        plain
            .push(
                &strings(&["10", "2", "10", "10", "2", "10"]),
                &strings(&["b", "a", "b", "a", "b", "c"]),
                &strings(&["l", "m", "l", "l", "m", "l"]),
            )
            .unwrap();
        let orders = [NameOrder::Rule; 3];
        assert_eq!(
            encoder.factorize(orders).unwrap(),
            plain.factorize(orders).unwrap()
        );
    }

    #[test]
    fn integers_on_both_sides_of_the_small_table_read_as_their_decimal_strings() {
        use arrow_array::{Int64Array, UInt16Array};
        // Values in the table indexed by value (0 ≤ v < SMALL_INTS, growing it past its first
        // size), at its end, past it (hashed), negative, and the extremes; repeated.
        let small = SMALL_INTS as i64;
        let values: Vec<i64> = [
            0,
            5,
            17,
            5,
            small - 1,
            small,
            small + 1,
            -1,
            i64::MIN,
            i64::MAX,
        ]
        .iter()
        .cycle()
        .take(40)
        .copied()
        .collect();
        let spelled: Vec<String> = values.iter().map(i64::to_string).collect();
        let spelled: Vec<&str> = spelled.iter().map(String::as_str).collect();
        let n = values.len();
        let labels: Vec<u16> = (0..n).map(|i| [0, 4095, 4096, 9][i % 4]).collect();
        let label_names: Vec<String> = labels.iter().map(u16::to_string).collect();
        let label_names: Vec<&str> = label_names.iter().map(String::as_str).collect();
        let workers: Vec<String> = (0..n).map(|i| format!("w{}", i % 3)).collect();
        let workers: Vec<&str> = workers.iter().map(String::as_str).collect();
        let mut ints = ArrowEncoder::new();
        ints.push(
            &Int64Array::from(values),
            &strings(&workers),
            &UInt16Array::from(labels),
        )
        .unwrap();
        let mut plain = ArrowEncoder::new();
        plain
            .push(
                &strings(&spelled),
                &strings(&workers),
                &strings(&label_names),
            )
            .unwrap();
        let orders = [NameOrder::Rule; 3];
        let got = ints.factorize(orders).unwrap();
        assert_eq!(got, plain.factorize(orders).unwrap());
        // By hand: nine distinct tasks (5 twice) in numeric order, four labels.
        assert_eq!(got[0].names.len(), 9);
        assert_eq!(
            (&*got[0].names[0], &*got[0].names[8]),
            ("-9223372036854775808", "9223372036854775807")
        );
        assert_eq!(
            got[2].names.iter().map(|n| &**n).collect::<Vec<_>>(),
            ["0", "9", "4095", "4096"]
        );
    }

    #[test]
    fn a_chunk_writer_counts_only_batches_written_whole() {
        let mut spare = [MaybeUninit::new([0u32; 3]); 3];
        let mut written = false;
        let rows = Rows {
            spare: &mut spare,
            written: &mut written,
        };
        let mut writer = rows.writer();
        let (t, w, l) = (
            strings(&["t1", "t2"]),
            strings(&["w1", "w2"]),
            strings(&["a", "b"]),
        );
        writer.push([&t, &w, &l]).unwrap();
        assert_eq!((writer.written(), writer.remaining()), (2, 1));
        // Past the rows announced: refused before any column is encoded.
        let err = writer.push([&t, &w, &l]).unwrap_err();
        assert_eq!(err.message, "more rows than announced");
        // A batch whose label column fails after its task and worker columns were written.
        let bad = StringArray::from(vec![None::<&str>]);
        let one = (strings(&["t3"]), strings(&["w3"]));
        let err = writer.push([&one.0, &one.1, &bad]).unwrap_err();
        assert_eq!(err.to_string(), "row 2: null in the label column");
        assert_eq!(writer.written(), 2);
        // The failed batch's task and worker names are in their encoders: nothing more is
        // taken, not even a good batch that would fill the rows.
        let good = (strings(&["t4"]), strings(&["w4"]), strings(&["c"]));
        let err = writer.push([&good.0, &good.1, &good.2]).unwrap_err();
        assert_eq!(err.message, "a batch before this one failed");
        assert_eq!(writer.written(), 2);
        let err = writer.finish().err().map(|e| e.message);
        assert_eq!(err.as_deref(), Some("a batch failed"));
        assert!(!written);
    }

    #[test]
    fn an_unfinished_chunk_writer_is_refused() {
        let mut spare = [MaybeUninit::new([0u32; 3]); 2];
        let mut written = false;
        let rows = Rows {
            spare: &mut spare,
            written: &mut written,
        };
        let mut writer = rows.writer();
        let (t, w, l) = (strings(&["t1"]), strings(&["w1"]), strings(&["a"]));
        writer.push([&t, &w, &l]).unwrap();
        let err = writer.finish().err().map(|e| e.message);
        assert_eq!(err.as_deref(), Some("fewer rows than announced"));
        assert!(!written);
    }
}
