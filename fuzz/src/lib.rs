//! Fuzz entry points: each takes arbitrary bytes and must return without panicking. The same
//! files are compiled into `tests/it/fuzz_regressions.rs`, which replays `fuzz/regressions/`.

mod readers;
mod server;

pub use readers::{assignments_json, responses_csv, toloka_tsv};
pub use server::server_request;
