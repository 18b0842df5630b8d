//! Readers and writers.

mod responses;
mod source;
mod table;

pub use responses::{ReadOptions, read_responses, read_responses_from};
pub use source::{STDIN_NAME, delimiter_for};
mod gold;
mod json;
pub use gold::{read_gold, read_gold_from};
mod skills;
pub use skills::{read_skills, read_skills_from_bytes};
mod toloka;
pub use toloka::{
    AssignmentsOptions, TolokaTsvOptions, read_assignments, read_assignments_from_bytes,
    read_toloka_tsv, read_toloka_tsv_from, read_toloka_tsv_with_gold,
};
