//! Shared numerics, apart from the methods that use them: the CG and L-BFGS optimisers with
//! their Moré–Thuente line search (scipy's steps), special functions, random generators
//! (SplitMix64 and numpy's `RandomState`), the cache prefetch hint, numpy's pairwise
//! summation ([`sum::numpy_sum`]) and the one run-time instruction-set check ([`simd::Isa`]).
//!
//! Every `unsafe` block of the library is in this module or in the SIMD lanes of Dawid-Skene,
//! each with a `SAFETY:` comment (the crate denies `clippy::undocumented_unsafe_blocks`).

pub(crate) mod lbfgs;
pub(crate) mod numpy_random;
pub(crate) mod optimize;
pub(crate) mod prefetch;
pub(crate) mod rng;
pub(crate) mod simd;
pub(crate) mod special;
pub(crate) mod sum;
