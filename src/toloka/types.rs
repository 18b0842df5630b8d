//! Bodies of the aggregation endpoints: requests, aggregated solutions, operations
//! (`specs/toloka-api.md` §1.2–1.5). Unknown JSON keys are ignored on input; `None` optional
//! fields are left out on output.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::{InvalidField, ValidationError};
use super::ids;
use super::string_enum::open_string_enum;
use super::timestamp::Timestamp;
use super::validate;

/// The aggregation algorithm of a request (`type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum AggregatedSolutionType {
    /// Toloka's aggregation by skill; needs `answer_weight_skill_id`.
    WeightedDynamicOverlap,
    /// Dawid-Skene EM; at most one field; `answer_weight_skill_id` is ignored.
    DawidSkene,
}

impl AggregatedSolutionType {
    /// Every algorithm, in the order of [`Self::NAMES`].
    pub const ALL: [Self; 2] = [Self::WeightedDynamicOverlap, Self::DawidSkene];
    /// The wire names, in the order of [`Self::ALL`].
    pub const NAMES: &'static [&'static str] = &["WEIGHTED_DYNAMIC_OVERLAP", "DAWID_SKENE"];

    /// The wire name (`WEIGHTED_DYNAMIC_OVERLAP` or `DAWID_SKENE`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WeightedDynamicOverlap => Self::NAMES[0],
            Self::DawidSkene => Self::NAMES[1],
        }
    }

    /// The most output fields one request may aggregate (`None` = no documented limit).
    pub fn max_fields(self) -> Option<usize> {
        match self {
            Self::WeightedDynamicOverlap => None,
            Self::DawidSkene => Some(1),
        }
    }
}

impl fmt::Display for AggregatedSolutionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AggregatedSolutionType {
    type Err = InvalidField;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| InvalidField::UnknownEnumValue {
                field: "type".into(),
                value: text.into(),
                allowed: Self::NAMES,
            })
    }
}

/// One output field to aggregate: `{"name": "result"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldName {
    /// The output field's name in the project's output spec (a key of `output_values`).
    pub name: String,
}

impl FieldName {
    /// The field named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }
}

fn field_names<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Vec<FieldName> {
    names.into_iter().map(FieldName::new).collect()
}

/// What both aggregation requests name: the pool, the skill that weights the answers and the
/// output fields. Each request's JSON object holds these keys directly (`#[serde(flatten)]`),
/// in this order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregationTarget {
    /// The pool whose accepted assignments are aggregated.
    #[serde(deserialize_with = "ids::deserialize")]
    pub pool_id: String,
    /// The skill whose values weight the Tolokers' answers: required for
    /// WEIGHTED_DYNAMIC_OVERLAP, ignored by DAWID_SKENE.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "ids::deserialize_option"
    )]
    pub answer_weight_skill_id: Option<String>,
    /// The output fields to aggregate (at least one; DAWID_SKENE takes exactly one).
    pub fields: Vec<FieldName>,
}

/// Body of `POST /aggregated-solutions/aggregate-by-pool`.
/// Key order on output is toloka-kit's: `type, pool_id, answer_weight_skill_id, fields`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolAggregatedSolutionRequest {
    /// The algorithm (`type` on the wire).
    #[serde(rename = "type")]
    pub aggregation_type: AggregatedSolutionType,
    /// The pool, the weighting skill and the fields.
    #[serde(flatten)]
    pub target: AggregationTarget,
}

impl PoolAggregatedSolutionRequest {
    /// A WEIGHTED_DYNAMIC_OVERLAP request for `fields` of a pool, weighted by the skill
    /// `answer_weight_skill_id`. Not validated: see [`Self::validate`].
    pub fn weighted_dynamic_overlap<S: Into<String>>(
        pool_id: impl Into<String>,
        answer_weight_skill_id: impl Into<String>,
        fields: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            aggregation_type: AggregatedSolutionType::WeightedDynamicOverlap,
            target: AggregationTarget {
                pool_id: pool_id.into(),
                answer_weight_skill_id: Some(answer_weight_skill_id.into()),
                fields: field_names(fields),
            },
        }
    }

    /// A DAWID_SKENE request for one output field of a pool. Not validated: see
    /// [`Self::validate`].
    pub fn dawid_skene(pool_id: impl Into<String>, field: impl Into<String>) -> Self {
        Self {
            aggregation_type: AggregatedSolutionType::DawidSkene,
            target: AggregationTarget {
                pool_id: pool_id.into(),
                answer_weight_skill_id: None,
                fields: vec![FieldName::new(field)],
            },
        }
    }

    /// The checks Toloka makes before accepting the request: non-blank `pool_id`; for WDO a
    /// non-blank `answer_weight_skill_id`; 1 or more `fields` with non-blank names, at most one
    /// for DAWID_SKENE. Every problem is reported, in request order.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut problems = Vec::new();
        let target = &self.target;
        problems.extend(validate::check_id("pool_id", &target.pool_id));
        problems.extend(validate::check_skill(
            self.aggregation_type,
            target.answer_weight_skill_id.as_deref(),
        ));
        problems.extend(validate::check_fields(
            Some(self.aggregation_type),
            &target.fields,
        ));
        ValidationError::check(problems)
    }

    /// Reads and validates a raw request body, reporting every problem the way the service
    /// does (missing keys, wrong JSON types, unknown `type`, then the rules of
    /// [`Self::validate`]).
    pub fn from_json(body: &Value) -> Result<Self, ValidationError> {
        validate::pool_request_from_json(body)
    }
}

/// Body of `POST /aggregated-solutions/aggregate-by-task`: the pool request plus `task_id`.
/// Key order on output is toloka-kit's: `task_id, pool_id, answer_weight_skill_id, fields,
/// type`. toloka-kit only sends the WDO form; the OpenAPI schema also allows DAWID_SKENE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskAggregatedSolutionRequest {
    /// The task to aggregate.
    #[serde(deserialize_with = "ids::deserialize")]
    pub task_id: String,
    /// The pool the task belongs to, the weighting skill and the fields.
    #[serde(flatten)]
    pub target: AggregationTarget,
    /// The algorithm (`type` on the wire).
    #[serde(rename = "type")]
    pub aggregation_type: AggregatedSolutionType,
}

/// toloka-kit's name for the only form it sends.
pub type WeightedDynamicOverlapTaskAggregatedSolutionRequest = TaskAggregatedSolutionRequest;

impl TaskAggregatedSolutionRequest {
    /// A WEIGHTED_DYNAMIC_OVERLAP request for one task (the only form toloka-kit sends).
    /// Not validated: see [`Self::validate`].
    pub fn weighted_dynamic_overlap<S: Into<String>>(
        task_id: impl Into<String>,
        pool_id: impl Into<String>,
        answer_weight_skill_id: impl Into<String>,
        fields: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            task_id: task_id.into(),
            target: AggregationTarget {
                pool_id: pool_id.into(),
                answer_weight_skill_id: Some(answer_weight_skill_id.into()),
                fields: field_names(fields),
            },
            aggregation_type: AggregatedSolutionType::WeightedDynamicOverlap,
        }
    }

    /// The pool-level request this task request narrows down.
    pub fn pool_request(&self) -> PoolAggregatedSolutionRequest {
        PoolAggregatedSolutionRequest {
            aggregation_type: self.aggregation_type,
            target: self.target.clone(),
        }
    }

    /// The checks of [`PoolAggregatedSolutionRequest::validate`] plus a non-blank `task_id`;
    /// every problem is reported, in request order.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut problems = Vec::new();
        problems.extend(validate::check_id("task_id", &self.task_id));
        if let Err(pool_problems) = self.pool_request().validate() {
            problems.extend(pool_problems.fields);
        }
        ValidationError::check(problems)
    }

    /// Like [`PoolAggregatedSolutionRequest::from_json`], with `task_id` required.
    pub fn from_json(body: &Value) -> Result<Self, ValidationError> {
        validate::task_request_from_json(body)
    }
}

/// One aggregated answer: `{"pool_id", "task_id", "confidence", "output_values"}`.
/// One `confidence` per task, even when several fields were aggregated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregatedSolution {
    /// The pool the task belongs to.
    #[serde(deserialize_with = "ids::deserialize")]
    pub pool_id: String,
    /// The aggregated task.
    #[serde(deserialize_with = "ids::deserialize")]
    pub task_id: String,
    /// Posterior probability of the answer, 0..=1.
    pub confidence: f64,
    /// Field name → aggregated value, with the project's JSON type (string, number, bool).
    pub output_values: Map<String, Value>,
}

open_string_enum! {
    /// Operation `type`. Aggregation uses `SOLUTION.AGGREGATE`.
    pub enum OperationType {
        /// Aggregation of a pool's results (`aggregate-by-pool`).
        SolutionAggregate = "SOLUTION.AGGREGATE",
        /// Computing pool analytics.
        Analytics = "ANALYTICS",
        /// Opening a pool.
        PoolOpen = "POOL.OPEN",
        /// Closing a pool.
        PoolClose = "POOL.CLOSE",
        /// Archiving a pool.
        PoolArchive = "POOL.ARCHIVE",
        /// Cloning a pool.
        PoolClone = "POOL.CLONE",
        /// Archiving a project.
        ProjectArchive = "PROJECT.ARCHIVE",
        /// Creating tasks in bulk.
        TaskBatchCreate = "TASK.BATCH_CREATE",
        /// Creating task suites in bulk.
        TaskSuiteBatchCreate = "TASK_SUITE.BATCH_CREATE",
        /// Opening a training pool.
        TrainingOpen = "TRAINING.OPEN",
        /// Closing a training pool.
        TrainingClose = "TRAINING.CLOSE",
        /// Archiving a training pool.
        TrainingArchive = "TRAINING.ARCHIVE",
        /// Cloning a training pool.
        TrainingClone = "TRAINING.CLONE",
        /// Issuing bonuses to Tolokers in bulk.
        UserBonusBatchCreate = "USER_BONUS.BATCH_CREATE",
        /// Generating known solutions (control answers).
        KnownSolutionsGenerate = "KNOWN_SOLUTIONS.GENERATE",
        /// toloka-kit's placeholder type, for operations without a real one.
        PseudoPseudo = "PSEUDO.PSEUDO",
    }
}

open_string_enum! {
    /// Operation `status`: `PENDING` → `RUNNING` → `SUCCESS` | `FAIL`.
    pub enum OperationStatus {
        /// Accepted, not started yet.
        Pending = "PENDING",
        /// In progress; `progress` says how far.
        Running = "RUNNING",
        /// Finished; for an aggregation, the solutions can be fetched.
        Success = "SUCCESS",
        /// Failed; `details` may say why.
        Fail = "FAIL",
    }
}

impl OperationStatus {
    /// Only SUCCESS and FAIL end an operation (toloka-kit stops polling on these two only).
    pub fn is_completed(&self) -> bool {
        matches!(self, Self::Success | Self::Fail)
    }
}

/// An asynchronous operation (`GET /operations/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// The operation's id, used with `GET /operations/{id}` and
    /// `GET /aggregated-solutions/{id}`.
    pub id: String,
    /// Required: toloka-kit fails on a body without it.
    #[serde(rename = "type")]
    pub operation_type: OperationType,
    /// Where the operation is in its life cycle.
    pub status: OperationStatus,
    /// When the request was accepted.
    pub submitted: Timestamp,
    /// When processing started; absent while PENDING.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<Timestamp>,
    /// When the operation ended (SUCCESS or FAIL); absent before that.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<Timestamp>,
    /// Percent done, 0..=100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<u32>,
    /// For `SOLUTION.AGGREGATE` at least `pool_id`; the real service adds more keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Map<String, Value>>,
    /// Free-form detail the service attaches (for example, why it failed); kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

impl Operation {
    /// A new `SOLUTION.AGGREGATE` operation in PENDING with `parameters.pool_id`.
    pub fn aggregation_pending(
        id: impl Into<String>,
        pool_id: impl Into<String>,
        submitted: Timestamp,
    ) -> Self {
        let mut parameters = Map::new();
        parameters.insert("pool_id".into(), Value::String(pool_id.into()));
        Self {
            id: id.into(),
            operation_type: OperationType::SolutionAggregate,
            status: OperationStatus::Pending,
            submitted,
            started: None,
            finished: None,
            progress: Some(0),
            parameters: Some(parameters),
            details: None,
        }
    }

    /// Whether the status is SUCCESS or FAIL (see [`OperationStatus::is_completed`]).
    pub fn is_completed(&self) -> bool {
        self.status.is_completed()
    }

    /// `parameters.pool_id` (a string or a bare number).
    pub fn pool_id(&self) -> Option<String> {
        ids::from_value(self.parameters.as_ref()?.get("pool_id")?)
    }
}
