//! Serde types of Toloka's aggregation API (`specs/toloka-api.md`): the request and response
//! bodies of `aggregate-by-pool`, `aggregate-by-task`, `/aggregated-solutions/{id}` and
//! `/operations/{id}`, the error body, the exported assignments and skills, and the request
//! validation the service performs. No HTTP here; a client and an offline emulator build on
//! these types.
//!
//! JSON conventions: snake_case keys exactly as Toloka spells them, unknown keys ignored on
//! input, `None` optional keys left out on output, ids read from strings or bare numbers and
//! written as strings, timestamps as naive UTC ([`Timestamp`]).
//!
//! # Backends
//!
//! [`AggregationBackend`] is the API: aggregate by pool (an [`Operation`]), get and wait for
//! an operation, page through its [`AggregatedSolution`]s, aggregate one task.
//! [`LocalBackend`] answers it from exported pools ([`ExportedPool`]); `RemoteBackend`
//! (feature `remote`) sends it to Toloka or to any server speaking the API, such as the
//! offline emulator `server::Server` (feature `server`, `crowdagg serve`). The same request
//! gives the same solutions through either:
//!
//! ```
//! use crowdagg::toloka::{ExportedPool, LocalBackend, PoolAggregatedSolutionRequest};
//!
//! let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/toloka/pool-1001");
//! let local = LocalBackend::new().with_pool(ExportedPool::load_dir(dir.as_ref())?);
//! let request = PoolAggregatedSolutionRequest::weighted_dynamic_overlap("1001", "501", ["result"]);
//! let here = local.aggregate(&request)?;
//! assert_eq!(here[2].task_id, "t-0003");
//! assert_eq!(here[2].output_values["result"], "BAD");
//! assert!((here[2].confidence - 0.96214).abs() < 1e-5); // Toloka's worked example
//!
//! #[cfg(all(feature = "remote", feature = "server"))]
//! {
//!     use std::time::Duration;
//!     use crowdagg::toloka::server::Server;
//!     use crowdagg::toloka::{AggregationBackend, Auth, RemoteBackend, WaitOptions};
//!
//!     let server = Server::start(std::sync::Arc::new(local), "127.0.0.1:0", 2)?;
//!     // Toloka itself would be `RemoteBackend::production(Auth::detect(token))`.
//!     let remote = RemoteBackend::new(server.url(), Auth::OAuth("token".into()));
//!     let operation = remote.aggregate_by_pool(&request)?;
//!     let poll = WaitOptions::new(Duration::from_millis(10), Duration::from_secs(10));
//!     let operation = remote.wait_operation(&operation, poll)?;
//!     let there = remote
//!         .get_aggregated_solutions(&operation.id, None)
//!         .collect::<Result<Vec<_>, _>>()?;
//!     assert_eq!(there, here);
//!     server.shutdown();
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Design note: the local backend
//!
//! A `LocalBackend` answers the aggregation endpoints from exported data instead of Toloka:
//!
//! 1. **Input.** The pool's [`Assignment`]s, the [`UserSkill`]s of `answer_weight_skill_id`
//!    (WDO only) and, per requested field, its answer domain from the project's output spec
//!    (allowed values; `[false, true]` for booleans; `min..=max` for integers).
//! 2. **Selection** (§5.1–5.2). Keep ACCEPTED assignments only; walk
//!    [`Assignment::answers`]; for each requested field take `output_values[field]` when it is
//!    present and not null. A task enters the results when it has at least one such answer;
//!    control and training tasks are included (configurable). Nothing left → 409 `EMPTY_POOL`.
//! 3. **Labels.** JSON values become label strings by their canonical JSON text (`"OK"` →
//!    `OK`, `true` → `true`, `3` → `3`), and the winner is mapped back to the original JSON
//!    value for `output_values`, so booleans and numbers keep their type. One [`Responses`]
//!    per field: `push(task_id, user_id, label)`; a Toloker answering a task twice (two
//!    accepted assignments) follows a `DuplicatePolicy` (proposal: `KeepLast` in assignment order; undocumented).
//! 4. **Method.** WDO → [`WeightedDynamicOverlap`] with `domain` = the field's allowed values
//!    (so Y comes from the project, not from the data) and skills = `exact_value` (falling back
//!    to `value`) of each Toloker, on the 0..=100 scale the method expects; Tolokers without a
//!    skill follow [`MissingSkill`] (the emulator's default should be to ignore them, which
//!    gives the same confidence as the neutral q = 1/Y, §4.1). DAWID_SKENE → the crate's
//!    Dawid-Skene with crowd-kit's defaults (n_iter 100, tol 1e-5), which the guide names as
//!    Toloka's implementation; one field only, so it needs no multi-field rule.
//! 5. **Output.** Per task an [`AggregatedSolution`] with `output_values` of all fields and one
//!    `confidence`, sorted by task id as bytes, served by [`AggregatedSolutionSearchRequest`]
//!    pages with an exact `has_more`. By-task runs the same pipeline on one task's answers.
//!
//! **Several WDO fields (§5.3): per-field independent model (A), recommended.** Each field is
//! aggregated on its own with its own Y_f, `output_values` takes each field's winner and
//! `confidence = Π_f eps_f`. Reasons: (i) Toloka tells requesters not to aggregate fields
//! "whose values depend on each other", which only makes sense if fields are treated as
//! independent; (ii) the UI export gives one `CONFIDENCE:<field>` per field, i.e. per-field
//! posteriors exist server-side, and under independence the joint posterior of the winning
//! tuple is exactly their product; (iii) it reuses the single-field [`WeightedDynamicOverlap`]
//! unchanged, while the tuple model (B) needs Y = Π Y_f (quickly huge: an integer field alone
//! may have 33 values) and changes the winner rule — (B) picks the most-weighted *combination*,
//! which can differ from the per-field winners when Tolokers split across fields; (iv) a task
//! missing one field for some Tolokers is natural in (A) (each field uses the answers it has)
//! but has no clean meaning in (B). The choice is an assumption and must be flagged as such
//! wherever the emulator documents its behaviour.
//!
//! [`Responses`]: crate::Responses
//! [`WeightedDynamicOverlap`]: crate::WeightedDynamicOverlap
//! [`MissingSkill`]: crate::MissingSkill

mod backend;
mod error;
mod export;
mod ids;
mod local;
mod operation_search;
mod pool;
#[cfg(feature = "remote")]
mod remote;
mod search;
#[cfg(feature = "server")]
#[cfg_attr(docsrs, doc(cfg(feature = "server")))]
pub mod server;
mod string_enum;
mod timestamp;
mod types;
mod validate;

pub use backend::{AggregatedSolutions, AggregationBackend, BackendError, WaitOptions};
pub use error::{ApiError, ErrorCode, InvalidField, JsonType, ValidationCode, ValidationError};
pub use export::{
    Assignment, AssignmentStatus, BaselineSolution, KnownSolution, Solution, Task, UserSkill,
};
pub use local::{LocalBackend, LocalOptions};
pub use operation_search::{OperationSearchRequest, OperationSort, OperationSortKey};
pub use pool::{ExportedPool, read_assignment_objects, read_results_tsv, read_user_skills};
#[cfg(feature = "remote")]
#[cfg_attr(docsrs, doc(cfg(feature = "remote")))]
pub use remote::{Auth, RemoteBackend};
pub use search::{AggregatedSolutionSearchRequest, Range, SearchPage, TaskIdOrder};
pub use timestamp::{Timestamp, TimestampError};
pub use types::{
    AggregatedSolution, AggregatedSolutionType, AggregationTarget, FieldName, Operation,
    OperationStatus, OperationType, PoolAggregatedSolutionRequest, TaskAggregatedSolutionRequest,
    WeightedDynamicOverlapTaskAggregatedSolutionRequest,
};
