//! [`LocalBackend`]: the aggregation endpoints answered from exported pools on this machine,
//! following the design note in the module docs of [`crate::toloka`].

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value, json};

use super::backend::{AggregationBackend, BackendError};
use super::error::{ApiError, ErrorCode};
use super::export::{Assignment, UserSkill};
use super::operation_search::OperationSearchRequest;
use super::pool::{ExportedPool, read_user_skills};
use super::search::{AggregatedSolutionSearchRequest, SearchPage, TaskIdOrder};
use super::timestamp::Timestamp;
use super::types::{
    AggregatedSolution, AggregatedSolutionType, Operation, OperationStatus,
    PoolAggregatedSolutionRequest, TaskAggregatedSolutionRequest,
};
use crate::aggregation::Skills;
use crate::io::Selection;
use crate::io::{answer_label, label_text};
use crate::methods::{Aggregator, DawidSkene, FitInputs, Params, WeightedDynamicOverlap};
use crate::responses::Responses;

/// Choices the documentation leaves open (`specs/toloka-api.md` §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalOptions {
    /// Aggregate control and training tasks (those with known solutions) too. Default: yes.
    pub include_control_tasks: bool,
    /// How many finished pool operations are kept for polling and paging; the oldest are
    /// forgotten first (their ids then answer 404), so that a long-running server's memory
    /// stays bounded (a stored operation takes a few KiB). Default: 1 000.
    pub max_operations: usize,
}

impl Default for LocalOptions {
    fn default() -> Self {
        Self {
            include_control_tasks: true,
            max_operations: 1_000,
        }
    }
}

/// A finished pool aggregation: its operation and its solutions sorted by task id.
struct StoredOperation {
    operation: Operation,
    solutions: Arc<Vec<AggregatedSolution>>,
}

/// Answers Toloka's aggregation endpoints from exported pools.
///
/// * Which answers count is [`Selection::toloka`] (documented there with the readers' rules):
///   only ACCEPTED assignments; a Toloker who answered a task twice counts once, with the last
///   answer in file order (undocumented by Toloka; an assumption); an answer whose field was
///   left empty is excluded from that field's aggregation, as Toloka does
///   ([`LocalBackend::unanswered`] counts them).
/// * WEIGHTED_DYNAMIC_OVERLAP runs [`WeightedDynamicOverlap`] per field with Y = the field's
///   allowed values ([`ExportedPool::fields`]) or, when they are not declared, the values
///   seen in the pool, and q = skill/100 of the `answer_weight_skill_id` skill (`exact_value`,
///   else `value`). Answers of Tolokers without that skill are ignored (§4.1 (a)).
/// * Several fields: model (A) of §5.3, each field aggregated on its own,
///   `confidence = Π_f eps_f` (an assumption, see the module docs).
/// * DAWID_SKENE runs the crate's `DawidSkene` (looked up by name in the method registry) on
///   the whole pool; when the build has none, requests fail with `UNSUPPORTED_ALGORITHM`.
/// * A pool aggregation runs when it is requested: the returned operation is PENDING, the
///   first poll sees SUCCESS (or FAIL, with `details.message`, when the method failed on the
///   data). Request problems (validation, unknown pool or field, no answers) are returned
///   at once as Toloka error bodies.
///
/// It is `Sync`: the offline server shares one between its threads.
pub struct LocalBackend {
    pools: BTreeMap<String, ExportedPool>,
    /// Skills used for Tolokers the pool's own skills do not cover.
    shared_skills: Vec<UserSkill>,
    options: LocalOptions,
    operations: Mutex<BTreeMap<String, StoredOperation>>,
    next_operation: AtomicU64,
    /// Makes operation ids of different runs differ.
    id_prefix: u32,
}

impl Default for LocalBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalBackend {
    /// A backend with no pools and default [`LocalOptions`].
    pub fn new() -> Self {
        let now = Timestamp::now();
        Self {
            pools: BTreeMap::new(),
            shared_skills: Vec::new(),
            options: LocalOptions::default(),
            operations: Mutex::new(BTreeMap::new()),
            next_operation: AtomicU64::new(1),
            id_prefix: (now.unix_seconds() as u32) ^ now.subsec_nanos(),
        }
    }

    /// Adds a pool (replacing one with the same id).
    pub fn with_pool(mut self, pool: ExportedPool) -> Self {
        self.pools.insert(pool.id.clone(), pool);
        self
    }

    /// Adds skills that apply to every pool (a pool's own skills win for the same Toloker
    /// and skill id).
    pub fn with_skills(mut self, skills: Vec<UserSkill>) -> Self {
        self.shared_skills.extend(skills);
        self
    }

    /// Replaces the [`LocalOptions`].
    pub fn with_options(mut self, options: LocalOptions) -> Self {
        self.options = options;
        self
    }

    /// Loads pool directories ([`ExportedPool::load_dir`]) and an optional shared skills file.
    /// Two directories giving the same pool id are an error.
    pub fn from_dirs<P: AsRef<Path>>(
        dirs: &[P],
        skills: Option<&Path>,
    ) -> Result<Self, crate::Error> {
        let mut backend = Self::new();
        for dir in dirs {
            let pool = ExportedPool::load_dir(dir.as_ref())?;
            if backend.pools.contains_key(&pool.id) {
                return Err(crate::io::whole(
                    dir.as_ref(),
                    format!("pool id {:?} is given by two directories", pool.id),
                ));
            }
            backend = backend.with_pool(pool);
        }
        if let Some(path) = skills {
            backend = backend.with_skills(read_user_skills(path)?);
        }
        Ok(backend)
    }

    /// The ids of the pools it can aggregate, in byte order.
    pub fn pool_ids(&self) -> impl Iterator<Item = &str> {
        self.pools.keys().map(String::as_str)
    }

    /// How many answers an aggregation of `field` in the pool excludes because the Toloker
    /// left the field empty (accepted assignments only, control tasks as the options say);
    /// `None` for an unknown pool.
    pub fn unanswered(&self, pool_id: &str, field: &str) -> Option<usize> {
        let pool = self.pools.get(pool_id)?;
        Some(FieldAnswers::collect(pool, field, &self.options).unanswered)
    }

    /// Runs a pool aggregation at once and returns its solutions in task-id order: what
    /// `aggregate_by_pool` → `wait_operation` → `get_aggregated_solutions` yields, without an
    /// operation. A method failure is an `OPERATION_EXECUTION_ERROR`.
    pub fn aggregate(
        &self,
        request: &PoolAggregatedSolutionRequest,
    ) -> Result<Vec<AggregatedSolution>, BackendError> {
        match self.solve(request)? {
            Ok(solutions) => Ok(solutions),
            Err(message) => Err(execution_error(message)),
        }
    }

    /// `GET /operations`: the operations this backend ran, filtered, sorted and paged.
    pub fn find_operations(
        &self,
        query: &OperationSearchRequest,
    ) -> Result<SearchPage<Operation>, BackendError> {
        query
            .validate()
            .map_err(|e| BackendError::api(e.to_api_error()))?;
        let operations = self.lock();
        Ok(query.page_of(operations.values().map(|stored| &stored.operation)))
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, StoredOperation>> {
        // A panic elsewhere cannot leave the map half-updated (inserts are single calls).
        self.operations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn new_operation_id(&self) -> String {
        let n = self.next_operation.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}-0000-4000-8000-{n:012x}", self.id_prefix)
    }

    fn pool(&self, pool_id: &str) -> Result<&ExportedPool, BackendError> {
        self.pools.get(pool_id).ok_or_else(|| {
            BackendError::api(ApiError::new(
                ErrorCode::DoesNotExist,
                format!("Pool {pool_id} not found"),
            ))
        })
    }

    /// The whole pool's solutions. Outer error: the request is refused; inner error: the
    /// method failed on the data (the operation fails).
    fn solve(
        &self,
        request: &PoolAggregatedSolutionRequest,
    ) -> Result<Result<Vec<AggregatedSolution>, String>, BackendError> {
        request
            .validate()
            .map_err(|e| BackendError::api(e.to_api_error()))?;
        let pool = self.pool(&request.target.pool_id)?;
        let method = Method::for_request(request, pool, &self.shared_skills)?;
        let mut by_task: BTreeMap<String, (Map<String, Value>, f64)> = BTreeMap::new();
        for (index, field) in request.target.fields.iter().enumerate() {
            let answers = FieldAnswers::collect(pool, &field.name, &self.options);
            if answers.values.is_empty() && !pool.fields.contains_key(&field.name) {
                return Err(BackendError::api(
                    ApiError::new(ErrorCode::ValidationError, "Validation failed").with_payload(
                        json!({ format!("fields[{index}].name"): {
                            "code": "VALUE_NOT_ALLOWED",
                            "message": format!(
                                "Pool {} has no output field {:?} ({})",
                                pool.id,
                                field.name,
                                list_or(&output_fields(pool), "fields with accepted answers", "no field has accepted answers"),
                            ),
                        }}),
                    ),
                ));
            }
            let solved = match method.run(&answers, pool.fields.get(&field.name)) {
                Ok(solved) => solved,
                Err(message) => return Ok(Err(format!("field {:?}: {message}", field.name))),
            };
            for (task, value, confidence) in solved {
                let entry = by_task.entry(task).or_insert_with(|| (Map::new(), 1.0));
                entry.0.insert(field.name.clone(), value);
                entry.1 *= confidence;
            }
        }
        if by_task.is_empty() {
            return Err(BackendError::api(ApiError::new(
                ErrorCode::EmptyPool,
                format!(
                    "Pool {} has no accepted answers to aggregate{}",
                    pool.id,
                    method.empty_hint()
                ),
            )));
        }
        Ok(Ok(by_task
            .into_iter()
            .map(
                |(task_id, (output_values, confidence))| AggregatedSolution {
                    pool_id: pool.id.clone(),
                    task_id,
                    confidence,
                    output_values,
                },
            )
            .collect()))
    }
}

fn execution_error(message: String) -> BackendError {
    BackendError::api(ApiError::new(ErrorCode::OperationExecutionError, message))
}

fn operation_parameters(request: &PoolAggregatedSolutionRequest) -> Map<String, Value> {
    let mut parameters = Map::new();
    parameters.insert(
        "pool_id".into(),
        Value::String(request.target.pool_id.clone()),
    );
    parameters.insert(
        "algorithm".into(),
        Value::String(request.aggregation_type.as_str().into()),
    );
    parameters.insert("aggregated_fields".into(), json!(request.target.fields));
    if let Some(skill) = &request.target.answer_weight_skill_id {
        parameters.insert(
            "answer_weight_skill_id".into(),
            Value::String(skill.clone()),
        );
    }
    parameters
}

impl AggregationBackend for LocalBackend {
    fn aggregate_by_pool(
        &self,
        request: &PoolAggregatedSolutionRequest,
    ) -> Result<Operation, BackendError> {
        let submitted = Timestamp::now().with_fraction_digits(3);
        let outcome = self.solve(request)?;
        let finished = Timestamp::now().with_fraction_digits(3);
        let id = self.new_operation_id();
        let mut pending = Operation::aggregation_pending(&id, &request.target.pool_id, submitted);
        pending.parameters = Some(operation_parameters(request));
        let mut done = pending.clone();
        done.started = Some(submitted);
        done.finished = Some(finished);
        done.progress = Some(100);
        let solutions = match outcome {
            Ok(solutions) => {
                done.status = OperationStatus::Success;
                done.details = Some(json!({}));
                solutions
            }
            Err(message) => {
                done.status = OperationStatus::Fail;
                done.details = Some(json!({ "message": message }));
                Vec::new()
            }
        };
        let mut operations = self.lock();
        operations.insert(
            id,
            StoredOperation {
                operation: done,
                solutions: Arc::new(solutions),
            },
        );
        // Ids sort in creation order (same prefix, zero-padded counter).
        while operations.len() > self.options.max_operations.max(1) {
            operations.pop_first();
        }
        drop(operations);
        Ok(pending)
    }

    /// Aggregates the whole pool and returns the task's solution, so that it always equals
    /// the by-pool result (labels are ordered pool-wide, and Dawid-Skene is a pool-wide fit).
    fn aggregate_by_task(
        &self,
        request: &TaskAggregatedSolutionRequest,
    ) -> Result<AggregatedSolution, BackendError> {
        request
            .validate()
            .map_err(|e| BackendError::api(e.to_api_error()))?;
        let solutions = match self.solve(&request.pool_request()) {
            Ok(Ok(solutions)) => solutions,
            Ok(Err(message)) => return Err(execution_error(message)),
            Err(error) if error.code() == Some(&ErrorCode::EmptyPool) => Vec::new(),
            Err(error) => return Err(error),
        };
        solutions
            .into_iter()
            .find(|s| s.task_id == request.task_id)
            .ok_or_else(|| {
                BackendError::api(ApiError::new(
                    ErrorCode::DoesNotExist,
                    format!(
                        "Task {} of pool {} has no accepted answers to aggregate",
                        request.task_id, request.target.pool_id
                    ),
                ))
            })
    }

    fn get_operation(&self, operation_id: &str) -> Result<Operation, BackendError> {
        self.lock()
            .get(operation_id)
            .map(|stored| stored.operation.clone())
            .ok_or_else(|| operation_not_found(operation_id))
    }

    fn find_aggregated_solutions(
        &self,
        operation_id: &str,
        query: &AggregatedSolutionSearchRequest,
    ) -> Result<SearchPage<AggregatedSolution>, BackendError> {
        query
            .validate()
            .map_err(|e| BackendError::api(e.to_api_error()))?;
        let (status, solutions) = {
            let operations = self.lock();
            let stored = operations
                .get(operation_id)
                .ok_or_else(|| operation_not_found(operation_id))?;
            (
                stored.operation.status.clone(),
                Arc::clone(&stored.solutions),
            )
        };
        if status != OperationStatus::Success {
            return Err(BackendError::api(
                ApiError::new(
                    ErrorCode::InappropriateStatus,
                    format!("Operation {operation_id} is {status}, results exist after SUCCESS"),
                )
                .with_payload(json!({ "appropriate_statuses": ["SUCCESS"] })),
            ));
        }
        Ok(page_of(&solutions, query))
    }
}

fn operation_not_found(operation_id: &str) -> BackendError {
    BackendError::api(ApiError::new(
        ErrorCode::DoesNotExist,
        format!("Operation {operation_id} not found"),
    ))
}

/// One page of solutions sorted ascending by task id; `has_more` is exact.
fn page_of(
    solutions: &[AggregatedSolution],
    query: &AggregatedSolutionSearchRequest,
) -> SearchPage<AggregatedSolution> {
    let limit = query.effective_limit() as usize;
    let matching = solutions.iter().filter(|s| query.matches(&s.task_id));
    let mut items: Vec<AggregatedSolution> = match query.sort.unwrap_or_default() {
        TaskIdOrder::Ascending => matching.take(limit + 1).cloned().collect(),
        TaskIdOrder::Descending => matching.rev().take(limit + 1).cloned().collect(),
    };
    let has_more = items.len() > limit;
    items.truncate(limit);
    SearchPage { items, has_more }
}

/// The accepted answers to one output field.
struct FieldAnswers {
    /// (task, Toloker, label) in file order.
    triples: Vec<(String, String, String)>,
    /// Label → the first JSON value seen with that text.
    values: HashMap<String, Value>,
    /// Answers of tasks that count whose field was left empty (absent, null or "").
    unanswered: usize,
}

impl FieldAnswers {
    fn collect(pool: &ExportedPool, field: &str, options: &LocalOptions) -> Self {
        let mut answers = Self {
            triples: Vec::new(),
            values: HashMap::new(),
            unanswered: 0,
        };
        let selection = Selection::toloka();
        let accepted = pool
            .assignments
            .iter()
            .filter(|a| selection.keeps(a.status.as_str()));
        for assignment in accepted {
            answers.add(assignment, field, options);
        }
        answers
    }

    fn add(&mut self, assignment: &Assignment, field: &str, options: &LocalOptions) {
        for (task, solution) in assignment.answers() {
            let is_control = task.known_solutions.as_ref().is_some_and(|k| !k.is_empty());
            if is_control && !options.include_control_tasks {
                continue;
            }
            let Some(task_id) = task.id.as_deref() else {
                continue;
            };
            let value = solution.output_values.get(field);
            let Some(label) = answer_label(value) else {
                // Left empty: excluded (`Selection::toloka`, `EmptyAnswers::Skip`, as Toloka
                // does); counted for the caller's report.
                self.unanswered += 1;
                continue;
            };
            if let Some(value) = value {
                self.values
                    .entry(label.clone())
                    .or_insert_with(|| value.clone());
            }
            self.triples
                .push((task_id.to_owned(), assignment.user_id.clone(), label));
        }
    }

    /// The answers of the Tolokers `keep` accepts, as [`Responses`]; `None` when none is left.
    fn responses(&self, keep: impl Fn(&str) -> bool) -> Result<Option<Responses>, crate::Error> {
        let mut builder = Responses::builder().duplicates(Selection::toloka().duplicates);
        for (task, worker, label) in &self.triples {
            if keep(worker) {
                builder.push(task, worker, label)?;
            }
        }
        if builder.is_empty() {
            return Ok(None);
        }
        Ok(Some(builder.build()?))
    }
}

/// The aggregation a request asks for, ready to run on each field.
enum Method {
    Wdo {
        skills: Skills,
        skill_id: String,
    },
    /// The registry's Dawid-Skene (crowd-kit defaults).
    DawidSkene(DawidSkene),
}

impl Method {
    fn for_request(
        request: &PoolAggregatedSolutionRequest,
        pool: &ExportedPool,
        shared_skills: &[UserSkill],
    ) -> Result<Self, BackendError> {
        match request.aggregation_type {
            AggregatedSolutionType::WeightedDynamicOverlap => {
                // `validate` has checked it is present.
                let skill_id = request
                    .target
                    .answer_weight_skill_id
                    .clone()
                    .unwrap_or_default();
                let skills = skills_of(pool, shared_skills, &skill_id);
                if skills.is_empty() {
                    return Err(BackendError::api(
                        ApiError::new(ErrorCode::ValidationError, "Validation failed")
                            .with_payload(json!({ "answer_weight_skill_id": {
                                "code": "ENTITY_DOES_NOT_EXIST",
                                "message": format!(
                                    "No Toloker of pool {} has skill {skill_id} ({})",
                                    pool.id,
                                    list_or(&skill_ids(pool, shared_skills), "skills present", "no skills are loaded"),
                                ),
                            }})),
                    ));
                }
                Ok(Self::Wdo { skills, skill_id })
            }
            // crowd-kit's defaults, which Toloka's guide names as its implementation.
            AggregatedSolutionType::DawidSkene => Ok(Self::DawidSkene(DawidSkene::default())),
        }
    }

    fn empty_hint(&self) -> String {
        match self {
            Self::Wdo { skill_id, .. } => {
                format!(" from Tolokers with skill {skill_id}")
            }
            Self::DawidSkene(_) => String::new(),
        }
    }

    /// `(task, value, confidence)` of every task with answers to the field.
    fn run(
        &self,
        answers: &FieldAnswers,
        allowed: Option<&Vec<Value>>,
    ) -> Result<Vec<(String, Value, f64)>, crate::Error> {
        let domain: Vec<String> = match allowed {
            Some(values) => values.iter().map(label_text).collect(),
            None => {
                let mut seen: Vec<String> = answers.values.keys().cloned().collect();
                seen.sort();
                seen
            }
        };
        let (data, result) = match self {
            Self::Wdo { skills, .. } => {
                let Some(data) = answers.responses(|w| skills.get(w).is_some())? else {
                    return Ok(Vec::new());
                };
                // Toloka skills are 0..=100 by definition: no fraction guess.
                let wdo = WeightedDynamicOverlap::params()
                    .domain(domain)
                    .skill_scale(1.0)
                    .check()?;
                let result = wdo.aggregate_with(&data, FitInputs::default().skills(skills))?;
                (data, result)
            }
            Self::DawidSkene(ds) => {
                let Some(data) = answers.responses(|_| true)? else {
                    return Ok(Vec::new());
                };
                let result = ds.aggregate(&data)?;
                (data, result)
            }
        };
        let typed = |label: &str| -> Value {
            allowed
                .and_then(|values| values.iter().find(|v| label_text(v) == label))
                .or_else(|| answers.values.get(label))
                .cloned()
                .unwrap_or_else(|| Value::String(label.to_owned()))
        };
        Ok((0..data.n_tasks())
            .map(|t| {
                let label = data.label_name(result.labels[t] as usize);
                (
                    data.task_name(t).to_owned(),
                    typed(label),
                    result.confidence[t],
                )
            })
            .collect())
    }
}

/// Tolokers' values of `skill_id` (0..=100): the pool's own, then the shared ones.
/// The output fields a pool declares or its accepted answers use, sorted.
fn output_fields(pool: &ExportedPool) -> Vec<String> {
    let mut fields: std::collections::BTreeSet<String> = pool.fields.keys().cloned().collect();
    let selection = Selection::toloka();
    for assignment in &pool.assignments {
        if selection.keeps(assignment.status.as_str()) {
            for (_, solution) in assignment.answers() {
                fields.extend(solution.output_values.keys().cloned());
            }
        }
    }
    fields.into_iter().collect()
}

/// The skill ids of a pool's Tolokers and of the shared skills, sorted.
fn skill_ids(pool: &ExportedPool, shared: &[UserSkill]) -> Vec<String> {
    let ids: std::collections::BTreeSet<&str> = pool
        .skills
        .iter()
        .chain(shared)
        .map(|s| s.skill_id.as_str())
        .collect();
    ids.into_iter().map(str::to_owned).collect()
}

/// `what: a, b, c` (at most ten shown), or `none` when `items` is empty.
fn list_or(items: &[String], what: &str, none: &str) -> String {
    match items {
        [] => none.to_owned(),
        _ if items.len() > 10 => format!(
            "{what}: {}, … ({} in all)",
            items[..10].join(", "),
            items.len()
        ),
        _ => format!("{what}: {}", items.join(", ")),
    }
}

fn skills_of(pool: &ExportedPool, shared: &[UserSkill], skill_id: &str) -> Skills {
    let mut skills = Skills::new();
    for skill in pool.skills.iter().chain(shared) {
        if skill.skill_id == skill_id
            && skills.get(&skill.user_id).is_none()
            && let Some(value) = skill.skill_value()
        {
            skills.insert(skill.user_id.clone(), value);
        }
    }
    skills
}
