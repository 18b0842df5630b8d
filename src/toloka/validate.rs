//! The checks the service makes on aggregation requests (`specs/toloka-api.md` §1.2–1.3):
//!
//! * `type` is required and one of WEIGHTED_DYNAMIC_OVERLAP, DAWID_SKENE;
//! * `pool_id` (and `task_id` for by-task) is a non-blank id;
//! * WEIGHTED_DYNAMIC_OVERLAP requires a non-blank `answer_weight_skill_id`; DAWID_SKENE
//!   ignores it, whatever it holds;
//! * `fields` holds at least one `{"name"}` with a non-blank name; DAWID_SKENE at most one.
//!
//! Assumptions (undocumented): an empty `fields` is rejected for both types although the
//! OpenAPI schema gives DAWID_SKENE `minItems: 0` (there is nothing to aggregate); ids may be
//! JSON integers, as in some documented examples; nested problems are reported under paths
//! such as `fields[1].name`.

use serde_json::{Map, Value};

use super::error::{InvalidField, JsonType, ValidationError};
use super::ids;
use super::types::{
    AggregatedSolutionType, AggregationTarget, FieldName, PoolAggregatedSolutionRequest,
    TaskAggregatedSolutionRequest,
};

pub(crate) fn check_id(field: &str, id: &str) -> Option<InvalidField> {
    id.trim().is_empty().then(|| InvalidField::BlankString {
        field: field.into(),
    })
}

pub(crate) fn check_skill(
    aggregation_type: AggregatedSolutionType,
    skill_id: Option<&str>,
) -> Option<InvalidField> {
    const FIELD: &str = "answer_weight_skill_id";
    if aggregation_type != AggregatedSolutionType::WeightedDynamicOverlap {
        return None;
    }
    match skill_id {
        None => Some(InvalidField::Required {
            field: FIELD.into(),
        }),
        Some(id) => check_id(FIELD, id),
    }
}

/// `aggregation_type` is `None` when the request's own `type` was invalid: the type-specific
/// limit is then not checked.
pub(crate) fn check_fields(
    aggregation_type: Option<AggregatedSolutionType>,
    fields: &[FieldName],
) -> Vec<InvalidField> {
    let mut problems = check_field_count(aggregation_type, fields.len());
    for (index, field) in fields.iter().enumerate() {
        problems.extend(check_id(&field_name_path(index), &field.name));
    }
    problems
}

fn check_field_count(
    aggregation_type: Option<AggregatedSolutionType>,
    count: usize,
) -> Vec<InvalidField> {
    let mut problems = Vec::new();
    if count == 0 {
        problems.push(InvalidField::TooFewItems {
            field: "fields".into(),
            min: 1,
            actual: 0,
        });
    }
    if let Some(max) = aggregation_type.and_then(AggregatedSolutionType::max_fields)
        && count > max
    {
        problems.push(InvalidField::TooManyItems {
            field: "fields".into(),
            max,
            actual: count,
        });
    }
    problems
}

fn field_name_path(index: usize) -> String {
    format!("fields[{index}].name")
}

pub(crate) fn pool_request_from_json(
    body: &Value,
) -> Result<PoolAggregatedSolutionRequest, ValidationError> {
    let (common, _) = read_request(body, None)?;
    Ok(PoolAggregatedSolutionRequest {
        aggregation_type: common.aggregation_type,
        target: common.target,
    })
}

pub(crate) fn task_request_from_json(
    body: &Value,
) -> Result<TaskAggregatedSolutionRequest, ValidationError> {
    let (common, task_id) = read_request(body, Some("task_id"))?;
    Ok(TaskAggregatedSolutionRequest {
        task_id: task_id.expect("read_request returns the id it was asked for"),
        target: common.target,
        aggregation_type: common.aggregation_type,
    })
}

/// What both aggregation requests hold.
struct CommonRequest {
    aggregation_type: AggregatedSolutionType,
    target: AggregationTarget,
}

/// Reads and checks an aggregation request's members, and the id named `extra_id` (the
/// task request's `task_id`) after `type`; every problem is reported at once, in member order.
fn read_request(
    body: &Value,
    extra_id: Option<&str>,
) -> Result<(CommonRequest, Option<String>), ValidationError> {
    let object = body_object(body)?;
    let mut problems = Vec::new();
    let aggregation_type = read_type(object, &mut problems);
    let extra = extra_id.map(|name| read_id(object, name, &mut problems));
    let pool_id = read_id(object, "pool_id", &mut problems);
    let answer_weight_skill_id = read_skill(object, aggregation_type, &mut problems);
    let fields = read_fields(object, aggregation_type, &mut problems);
    ValidationError::check(problems)?;
    match (aggregation_type, extra, pool_id, fields) {
        (Some(aggregation_type), extra @ (None | Some(Some(_))), Some(pool_id), Some(fields)) => {
            Ok((
                CommonRequest {
                    aggregation_type,
                    target: AggregationTarget {
                        pool_id,
                        answer_weight_skill_id,
                        fields,
                    },
                },
                extra.flatten(),
            ))
        }
        // Every `None` above pushed a problem, so `check` has returned already.
        _ => Err(ValidationError::new(Vec::new())),
    }
}

fn body_object(body: &Value) -> Result<&Map<String, Value>, ValidationError> {
    body.as_object().ok_or_else(|| {
        ValidationError::new(vec![InvalidField::WrongType {
            field: String::new(),
            expected: JsonType::Object,
        }])
    })
}

/// The value of `key`, treating JSON `null` as absent.
fn present<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|value| !value.is_null())
}

fn read_type(
    object: &Map<String, Value>,
    problems: &mut Vec<InvalidField>,
) -> Option<AggregatedSolutionType> {
    let read = read_string(object, "type", problems)?;
    read.parse().map_err(|problem| problems.push(problem)).ok()
}

fn read_string(
    object: &Map<String, Value>,
    key: &str,
    problems: &mut Vec<InvalidField>,
) -> Option<String> {
    match present(object, key) {
        None => {
            problems.push(InvalidField::Required { field: key.into() });
            None
        }
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => {
            problems.push(InvalidField::WrongType {
                field: key.into(),
                expected: JsonType::String,
            });
            None
        }
    }
}

/// A required, non-blank id (string or integer).
fn read_id(
    object: &Map<String, Value>,
    key: &str,
    problems: &mut Vec<InvalidField>,
) -> Option<String> {
    let Some(value) = present(object, key) else {
        problems.push(InvalidField::Required { field: key.into() });
        return None;
    };
    let Some(id) = ids::from_value(value) else {
        problems.push(InvalidField::WrongType {
            field: key.into(),
            expected: JsonType::String,
        });
        return None;
    };
    match check_id(key, &id) {
        Some(problem) => {
            problems.push(problem);
            None
        }
        None => Some(id),
    }
}

/// `answer_weight_skill_id`: required for WDO, ignored (and dropped) for DAWID_SKENE, read
/// loosely when the type itself is invalid.
fn read_skill(
    object: &Map<String, Value>,
    aggregation_type: Option<AggregatedSolutionType>,
    problems: &mut Vec<InvalidField>,
) -> Option<String> {
    const KEY: &str = "answer_weight_skill_id";
    match aggregation_type {
        Some(AggregatedSolutionType::WeightedDynamicOverlap) => read_id(object, KEY, problems),
        Some(AggregatedSolutionType::DawidSkene) => None,
        None => present(object, KEY).and_then(ids::from_value),
    }
}

fn read_fields(
    object: &Map<String, Value>,
    aggregation_type: Option<AggregatedSolutionType>,
    problems: &mut Vec<InvalidField>,
) -> Option<Vec<FieldName>> {
    let items = match present(object, "fields") {
        None => {
            problems.push(InvalidField::Required {
                field: "fields".into(),
            });
            return None;
        }
        Some(Value::Array(items)) => items,
        Some(_) => {
            problems.push(InvalidField::WrongType {
                field: "fields".into(),
                expected: JsonType::Array,
            });
            return None;
        }
    };
    let before = problems.len();
    problems.extend(check_field_count(aggregation_type, items.len()));
    let mut fields = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Some(item) = item.as_object() else {
            problems.push(InvalidField::WrongType {
                field: format!("fields[{index}]"),
                expected: JsonType::Object,
            });
            continue;
        };
        let path = field_name_path(index);
        match present(item, "name") {
            None => problems.push(InvalidField::Required { field: path }),
            Some(Value::String(name)) => match check_id(&path, name) {
                Some(problem) => problems.push(problem),
                None => fields.push(FieldName::new(name.clone())),
            },
            Some(_) => problems.push(InvalidField::WrongType {
                field: path,
                expected: JsonType::String,
            }),
        }
    }
    (problems.len() == before).then_some(fields)
}
