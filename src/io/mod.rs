//! Input readers (this module) and writers.
//!
//! # Formats read
//! | function | input |
//! |---|---|
//! | [`read_responses`] | CSV/TSV with a header; task, worker and label columns named by [`ReadOptions`] (default `task,worker,label`), other columns ignored |
//! | [`read_gold`] | CSV/TSV with task and label columns (same names as above); identical repeats allowed |
//! | [`read_skills`] | CSV/TSV `worker,skill`, or Toloka's `user_id,skill_id,value[,exact_value]`; or JSON (array or lines) of Toloka `UserSkill` objects (`exact_value` preferred over `value`) |
//! | [`read_toloka_tsv`], [`read_toloka_tsv_with_gold`] | Toloka web UI "download results" TSV (`INPUT:`, `OUTPUT:`, `GOLDEN:`, `ASSIGNMENT:` columns) |
//! | [`read_pairwise`] | CSV/TSV of pairwise comparisons, columns `worker,left,right,label` (label = the winner; names set by [`PairwiseReadOptions`]) |
//! | [`read_embeddings`] | CSV/TSV of outputs with embeddings, columns `task,worker,output,embedding` (embedding: a JSON array or whitespace-separated numbers in one field; names set by [`EmbeddingReadOptions`]) |
//! | [`read_true_embeddings`] | CSV/TSV `task,embedding`: known true embeddings |
//! | `read_segmentation` (feature `png`) | CSV/TSV `task,worker,mask`, each mask a PNG file relative to the table (nonzero colour = set; see the module `segmentation`) |
//! | [`read_texts`] | CSV/TSV of texts, columns `task,worker,text` (names set by [`TextReadOptions`]) |
//! | [`read_assignments`] | Toloka API export: JSON array or JSON lines of Assignment objects |
//! | `read_parquet` (feature `parquet`; also [`read_responses`] on a `.parquet` name) | Parquet response table, same columns as [`read_responses`]; Arrow arrays through `ArrowEncoder` and `read_record_batches` |
//! | [`MultiLabelResponses::read_with_options`](crate::MultiLabelResponses::read_with_options), [`MultiLabelResponses::read`](crate::MultiLabelResponses::read) | multi-label CSV/TSV: the label field lists a set of classes joined by a separator |
//!
//! A path of `-` reads stdin (reported as `<stdin>`). Delimited files follow RFC 4180 (quoted
//! fields may hold delimiters, `""` and line breaks); a UTF-8 byte order mark is skipped, CRLF
//! and LF line ends are both accepted, blank lines are skipped. The delimiter is tab for
//! `.tsv`/`.tab` names and comma otherwise, unless set. A NUL byte is ordinary data. JSON
//! inputs are detected by their first non-blank character (`[` array, `{` JSON lines).
//!
//! # Error contract
//! No reader panics on bad input. Every problem is an [`InputError`](crate::InputError)
//! (inside [`Error::Input`](crate::Error::Input)) whose message starts with where it is:
//! `file:line:column: message` when a field is to blame (column = 1-based index of the field in
//! the header), `file:line: message` when a row is (missing header column: line 1; ragged row;
//! duplicate (task, worker) under [`DuplicatePolicy::Reject`](crate::DuplicatePolicy), which
//! names both lines), or `file: message` for the whole input (`no responses (the file is
//! empty)`, no accepted assignments with counts by status, too many labels). A response table
//! with a header and no rows is an empty [`Responses`](crate::Responses), not an error (the
//! Toloka readers still refuse it). Lines are those where a record *starts* (a quoted field
//! may span lines); an unterminated quote is reported where it opened. For JSON, line and
//! column come from serde_json for syntax and type errors (its column points at or just before
//! the offending value) and are the element's start for semantic errors (missing task id,
//! tasks/solutions length mismatch, missing output field).
//!
//! Problems a method finds later in gold labels or skills (a gold label no response uses, a
//! WDO skill outside 0..=100) are [`DataError`](crate::DataError)s without a file; [`locate`]
//! gives them the file and line of the value, which [`Gold`](crate::Gold) and
//! [`Skills`](crate::Skills) read by these readers remember.

#[cfg(feature = "arrow")]
mod arrow;
mod embeddings;
#[cfg(feature = "parquet")]
mod embeddings_parquet;
mod gold;
mod json;
mod local_names;
mod locate;
mod multilabel;
mod pairwise;
#[cfg(feature = "parquet")]
mod parquet;
mod plain;
mod responses;
#[cfg(feature = "png")]
mod segmentation;
mod skills;
mod source;
mod table;
mod toloka;

#[cfg(feature = "arrow")]
#[cfg_attr(docsrs, doc(cfg(feature = "arrow")))]
pub use arrow::{ArrowEncoder, ArrowError, Factorized, NameOrder, is_id_type, read_record_batches};
pub use embeddings::{
    EmbeddingReadOptions, TextReadOptions, read_embeddings, read_embeddings_from, read_texts,
    read_texts_from, read_true_embeddings, read_true_embeddings_from,
};
#[cfg(feature = "parquet")]
#[cfg_attr(docsrs, doc(cfg(feature = "parquet")))]
pub use embeddings_parquet::read_embeddings_parquet;
pub use gold::{read_gold, read_gold_from};
pub use locate::locate;
pub use pairwise::{PairwiseReadOptions, read_pairwise, read_pairwise_from};
#[cfg(feature = "parquet")]
#[cfg_attr(docsrs, doc(cfg(feature = "parquet")))]
pub use parquet::read_parquet;
pub use responses::{
    ReadOptions, read_label_counts, read_label_counts_with_progress, read_responses,
    read_responses_from, read_responses_with_progress,
};
#[cfg(feature = "png")]
#[cfg_attr(docsrs, doc(cfg(feature = "png")))]
pub use segmentation::{
    SegmentationReadOptions, decode_mask_png, read_mask_png, read_segmentation,
    read_segmentation_from,
};
pub use skills::{read_skills, read_skills_from_bytes};
pub use source::{STDIN_NAME, delimiter_for, is_parquet};
// For the Toloka pool loader (`toloka::ExportedPool`), which reads whole Assignment objects.
pub(crate) use json::{for_each_item, looks_like_json};
pub(crate) use source::{at, open, read_all, whole};
pub(crate) use table::Table;
pub use toloka::{
    AssignmentsOptions, EmptyAnswers, Selection, TolokaTsvOptions, read_assignments,
    read_assignments_from_bytes, read_toloka_tsv, read_toloka_tsv_from, read_toloka_tsv_with_gold,
};
pub(crate) use toloka::{answer_label, label_text};
