//! # crowdagg
//!
//! Aggregates crowdsourced labels — many workers answering the same tasks — into one label per
//! task with a confidence and a model of each worker, with numerical parity with crowd-kit
//! 1.4.2 and Toloka's published formulas.
//!
//! The flow is one-way: [`io`] readers → [`Responses`] (interned ids, CSR indexes) → an
//! [`Aggregator`] → [`Aggregation`] → [`output`] writers.
//!
//! Pairwise comparisons take a parallel path: [`io::read_pairwise`] → [`PairwiseResponses`] →
//! a [`PairwiseAggregator`] ([`BradleyTerry`], [`NoisyBradleyTerry`]) → [`PairwiseAggregation`]
//! (item scores).
//!
//! Texts and embeddings too: [`io::read_texts`] → [`TextResponses`] → a [`TextAggregator`]
//! ([`Rover`]) → [`TextAggregation`] (one text per task); [`io::read_embeddings`] →
//! [`EmbeddingResponses`] → an [`EmbeddingAggregator`] ([`ClosestToAverage`], [`Rasa`],
//! [`Hrrasa`], and on texts with embeddings [`TextRasa`], [`TextHrrasa`]) →
//! [`EmbeddingAggregation`] (the chosen output per task, worker reliabilities). Segmentation
//! masks: [`SegmentationResponses`] (in-memory [`Mask`]s) → a [`SegmentationAggregator`]
//! ([`SegmentationMajorityVote`], [`SegmentationRasa`], [`SegmentationEm`]) →
//! [`SegmentationAggregation`].
//!
//! ```
//! use crowdagg::{Aggregator, MajorityVote, Responses};
//!
//! let data = Responses::from_triples([
//!     ("t1", "w1", "cat"), ("t1", "w2", "cat"), ("t1", "w3", "dog"),
//! ])?;
//! let result = MajorityVote::default().aggregate(&data)?;
//! assert_eq!(data.label_name(result.labels[0]), "cat");
//! assert!((result.confidence[0] - 2.0 / 3.0).abs() < 1e-12); // two votes of three
//! # Ok::<(), crowdagg::Error>(())
//! ```
//!
//! # Methods
//!
//! Each method is a type implementing [`Aggregator`]; `default()` gives its default parameters
//! (crowd-kit's, where crowd-kit has the method). A method with parameters has a builder, such
//! as [`DawidSkene::params`], whose [`check`](Params::check) validates them into the
//! aggregator (a bad value is a [`ParamsError`] before any fitting). Side inputs (gold labels,
//! worker skills, a per-iteration [`Observer`]) go in [`FitInputs`]. Each type's page gives
//! the exact algorithm, the differences from crowd-kit and an example.
//!
//! | type | CLI `--method` | what it implements |
//! |---|---|---|
//! | [`MajorityVote`] | `mv` | majority vote, optionally weighted by given skills (crowd-kit `MajorityVote`) |
//! | [`GoldMajorityVote`] | `gold-mv` | majority vote weighted by each worker's accuracy on gold tasks (crowd-kit `GoldMajorityVote`) |
//! | [`Wawa`] | `wawa` | Worker Agreement With Aggregate: weighted by agreement with the majority vote (crowd-kit `Wawa`) |
//! | [`ZeroBasedSkill`] | `zbs` | skills learnt by repeated weighted voting (crowd-kit `ZeroBasedSkill`) |
//! | [`WeightedDynamicOverlap`] | `wdo` | Toloka's aggregation by skill (`WEIGHTED_DYNAMIC_OVERLAP`), as the Toloka guide documents it |
//! | [`DawidSkene`] | `ds` | A. P. Dawid & A. M. Skene, "Maximum Likelihood Estimation of Observer Error-Rates Using the EM Algorithm", *J. R. Stat. Soc. C* 28(1), 1979 ([doi:10.2307/2346806](https://doi.org/10.2307/2346806)) |
//! | [`OneCoinDawidSkene`] | `one-coin-ds` | the one-coin model of Y. Zhang, X. Chen, D. Zhou & M. I. Jordan, "Spectral Methods Meet EM", *JMLR* 17, 2016 ([arXiv:1406.3824](https://arxiv.org/abs/1406.3824)) |
//! | [`Glad`] | `glad` | J. Whitehill, P. Ruvolo, T. Wu, J. Bergsma & J. Movellan, "Whose Vote Should Count More", NIPS 2009 ([paper](https://proceedings.neurips.cc/paper/2009/file/f899139df5e1059396431415e770c6dd-Paper.pdf)) |
//! | [`Mmsr`] | `mmsr` | Q. Ma & A. Olshevsky, "Adversarial Crowdsourcing Through Robust Rank-One Matrix Completion", NeurIPS 2020 ([arXiv:2010.12181](https://arxiv.org/abs/2010.12181)) |
//! | [`Mace`] | `mace` | D. Hovy, T. Berg-Kirkpatrick, A. Vaswani & E. Hovy, "Learning Whom to Trust with MACE", NAACL-HLT 2013 ([paper](https://aclanthology.org/N13-1132.pdf)); crowd-kit's two bugs fixed |
//! | [`Kos`] | `kos` | D. R. Karger, S. Oh & D. Shah, "Budget-Optimal Task Allocation for Reliable Crowdsourcing Systems", *Operations Research* 62(1), 2014 ([arXiv:1110.3564](https://arxiv.org/abs/1110.3564)); binary labels only |
//! | [`BinaryRelevance`] | `binary-relevance` | multi-label answers ([`MultiLabelResponses`]): one 0/1 aggregation per class with any method above (crowd-kit `BinaryRelevance`) |
//!
//! For programs that pick a method at run time, [`methods::METHODS`] lists the methods by
//! name with what each needs ([`methods::Requirements`]; the label-set method, BinaryRelevance,
//! last, built by [`methods::Method::build_label_sets`]) and [`methods::find_method`] looks
//! one up.
//!
//! # Loading a CSV
//!
//! [`io::read_responses`] reads a CSV or TSV file (or stdin, `-`) with a header; the column
//! names, delimiter and duplicate policy are [`io::ReadOptions`]. Every problem is an
//! [`Error`] that names the file, line and column. The [`io`] module lists the other readers:
//! gold labels, skills, Toloka's results TSV and API exports.
//!
//! ```
//! use crowdagg::io::{ReadOptions, read_responses};
//! use crowdagg::{Aggregator, DawidSkene};
//!
//! let path = std::env::temp_dir().join("crowdagg-doc-loading-a-csv.csv");
//! std::fs::write(&path, "task,worker,label\nt1,w1,cat\nt1,w2,dog\nt1,w3,cat\n")?;
//! let data = read_responses(&path, &ReadOptions::default())?;
//! assert_eq!((data.n_tasks(), data.n_workers(), data.n_responses()), (1, 3, 3));
//! let result = DawidSkene::default().aggregate(&data)?;
//! # std::fs::remove_file(&path)?;
//! # let _ = result;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Getting names back
//!
//! Results are indexed by dense ids: [`Aggregation::labels`], `confidence` and the rows of
//! `probabilities` by task id, [`Aggregation::skills`] by worker id, and the values of
//! `labels` (and the columns of `probabilities`) are label ids. [`Responses::task_name`],
//! [`Responses::worker_name`] and [`Responses::label_name`] turn ids back into names, and
//! [`Responses::task_id`], [`Responses::worker_id`] and [`Responses::label_id`] go the other
//! way. Ids follow the label order rule (numeric when every value is an integer, else byte
//! order), never the order of the input rows. [`output::write_csv`] writes the
//! `task,label,confidence` table and [`output::write_json`] the whole fit.
//!
//! ```
//! use crowdagg::{Aggregator, Responses, Wawa};
//!
//! let data = Responses::from_triples([
//!     ("t2", "w1", "dog"), ("t2", "w2", "dog"), ("t1", "w1", "cat"), ("t1", "w2", "dog"),
//!     ("t1", "w3", "cat"),
//! ])?;
//! let result = Wawa.aggregate(&data)?;
//! // By name: (task, label, confidence) for every task, in task order.
//! let first = result.iter_named(&data).next().unwrap();
//! assert_eq!((first.task, first.label), ("t1", "cat"));
//! // Or by id: ids index the result vectors; `*_name` turns any id back into its name.
//! assert_eq!(data.label_name(result.labels[1]), "dog");
//!
//! let mut csv = Vec::new();
//! crowdagg::output::write_csv(&mut csv, &data, &result)?;
//! assert!(String::from_utf8(csv)?.starts_with("task,label,confidence\nt1,cat,"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Scale-out
//!
//! [`shard`] runs Dawid-Skene and one-coin Dawid-Skene on shards of tasks for any distributed
//! engine (the Python package's `crowdagg.distributed` drives Ray and Dask with it), with the
//! bits of the single-machine fit with `shards = P`.
//!
//! # Feature flags
//!
//! * `cli` (default): the `crowdagg` binary's dependencies (clap, indicatif). A library user
//!   can turn it off: `crowdagg = { version = "0.1", default-features = false }`.
//! * `remote`: a blocking HTTP client of Toloka's aggregation API, `toloka::RemoteBackend`
//!   (ureq).
//! * `server`: an offline emulator of that API over exported pools, `toloka::server`
//!   (tiny_http), also `crowdagg serve`.
//!
//! The default build has no network code; [`toloka::LocalBackend`] answers the same API from
//! exported pools without either feature.
//!
//! # Command line
//!
//! The `crowdagg` binary (feature `cli`) runs every method on CSV files
//! (`crowdagg aggregate --method ds answers.csv`), compares methods on gold labels
//! (`evaluate`), computes agreement metrics (`metrics`) and speaks Toloka's API (`toloka`,
//! `serve`); the README describes each command and option.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod aggregation;
pub mod embeddings;
pub mod error;
pub mod generate;
pub mod io;
pub mod methods;
pub mod metrics;
mod names;
mod numeric;
pub mod output;
pub mod pairwise;
pub mod responses;
mod rows;
pub mod segmentation;
pub mod shard;
pub mod texts;
#[doc(hidden)]
pub mod timing;
pub mod toloka;

pub use aggregation::{
    Action, Aggregation, FitReport, Gold, InnerSolve, InnerStatus, IterationState, NamedResult,
    Observer, Skills, StopReason, TimeBudget,
};
pub use embeddings::{EmbeddingBuilder, EmbeddingResponses, TrueEmbeddings};
pub use error::{
    DataError, Error, ErrorKind, InputError, Location, ParamsError, Result, SideInput,
};
pub use methods::{
    Aggregator, BinaryRelevance, Compat, DawidSkene, FitInputs, Glad, GladFit, GladParams,
    GoldMajorityVote, InitialErrorStrategy, InitialErrors, Kos, KosParams, Mace, MaceFit,
    MaceMethod, MaceParams, MajorityVote, MissingSkill, Mmsr, MmsrParams, MultiLabelAggregation,
    MultiLabelResponses, OneCoinDawidSkene, Params, Wawa, WeightedDynamicOverlap, ZeroBasedSkill,
};
pub use methods::{
    BradleyTerry, BradleyTerryParams, NoisyBradleyTerry, NoisyBradleyTerryParams,
    PairwiseAggregation, PairwiseAggregator, PairwiseCompat, PairwiseParams,
};
pub use methods::{
    ClosestToAverage, ClosestToAverageParams, Detokenizer, Distance, EmbeddingAggregation,
    EmbeddingAggregator, Hrrasa, HrrasaParams, OutputSimilarity, Rasa, RasaParams, Rover,
    RoverParams, TextAggregation, TextAggregator, TextHrrasa, TextHrrasaParams, TextRasa,
    TextRasaParams, Tokenizer,
};
pub use methods::{
    SegmentationAggregation, SegmentationAggregator, SegmentationEm, SegmentationEmParams,
    SegmentationMajorityVote, SegmentationMajorityVoteParams, SegmentationRasa,
    SegmentationRasaParams,
};
pub use pairwise::{Comparison, PairwiseBuilder, PairwiseResponses};
pub use responses::{DuplicatePolicy, Label, LabelCounts, Responses, ResponsesBuilder};
pub use segmentation::{Mask, SegmentationBuilder, SegmentationResponses};
pub use texts::{TextBuilder, TextResponses};

/// Each `#[non_exhaustive]` public enum, checked by a `compile_fail` doctest.
#[cfg(doctest)]
mod non_exhaustive_doctests;

/// The README's examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
