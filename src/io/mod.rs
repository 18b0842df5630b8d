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
