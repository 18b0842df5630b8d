//! All integration tests in one binary (one link instead of ~20): each file is a module.

mod common;

mod autotraits;
mod bad_input;
mod binary_relevance;
mod cli;
#[cfg(feature = "png")]
mod cli_families;
mod crowdkit_edges;
mod dawid_skene;
mod degenerate;
mod embeddings;
mod fuzz_regressions;
mod glad;
mod kos;
mod labels_only;
mod mace;
mod metrics;
mod mmsr;
mod observer;
mod pairwise;
mod parity;
#[cfg(feature = "parquet")]
mod parquet;
mod properties;
mod readers;
mod segmentation;
#[cfg(feature = "server")]
mod server_robustness;
mod shard;
mod shard_scatter;
mod texts;
mod toloka_cli;
#[cfg(feature = "server")]
mod toloka_kit;
mod toloka_local;
#[cfg(all(feature = "remote", feature = "server"))]
mod toloka_server;
mod toloka_types;
mod wdo;
