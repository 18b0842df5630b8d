//! # crowdagg
//!
//! Aggregates crowdsourced labels — many workers answering the same tasks — into one label per
//! task with a confidence and a model of each worker, with numerical parity with crowd-kit
//! 1.4.2 and Toloka's published formulas.
//!
//! The flow is one-way: [`io`] readers → [`Responses`] (interned ids, CSR indexes) → an
//! [`Aggregator`] → [`Aggregation`] → [`io`] writers.
//!
//! Pairwise comparisons take a parallel path: [`io::read_pairwise`] → [`PairwiseResponses`] →
//! a [`PairwiseAggregator`] ([`BradleyTerry`], [`NoisyBradleyTerry`]) → [`PairwiseAggregation`]
//! (item scores).
//!
//! ```
//! use approx::assert_abs_diff_eq;
//! use crowdagg::{Aggregator, MajorityVote, Responses};
//!
//! let data = Responses::from_triples([
//!     ("t1", "w1", "cat"), ("t1", "w2", "cat"), ("t1", "w3", "dog"),
//! ])?;
//! let result = MajorityVote::default().aggregate(&data)?;
//! assert_eq!(data.label_name(result.labels[0] as usize), "cat");
//! assert_abs_diff_eq!(result.confidence[0], 2.0 / 3.0, epsilon = 1e-12);
//! # Ok::<(), crowdagg::Error>(())
//! ```

pub mod aggregation;
pub mod error;
pub mod generate;
pub mod io;
pub mod methods;
pub mod metrics;
pub mod output;
pub mod pairwise;
pub mod responses;
pub mod timing;
pub mod toloka;

pub use aggregation::{Aggregation, FitReport, Gold, Observer, Skills, StopReason};
pub use error::{DataError, Error, InputError, Location, ParamsError, Result};
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
pub use pairwise::{Comparison, PairwiseBuilder, PairwiseResponses};
pub use responses::{DuplicatePolicy, Label, Responses, ResponsesBuilder};

/// The README's examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
