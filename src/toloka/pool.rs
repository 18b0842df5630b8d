//! An exported pool, the input of [`LocalBackend`](super::LocalBackend): its assignments, the
//! answer domain of its output fields and its Tolokers' skills, and how to load one from a
//! directory:
//!
//! | file | content |
//! |---|---|
//! | `pool.json` (optional) | `{"id": "…", "fields": {"<output field>": [allowed values…]}}`; `id` defaults to the directory's name |
//! | `assignments.json` / `assignments.jsonl` / `assignments.tsv` | a JSON array or JSON lines of Assignment objects, or the web UI results TSV (exactly one of the three) |
//! | `skills.json` / `skills.jsonl` / `skills.csv` (optional) | UserSkill objects, or CSV `user_id,skill_id,value[,exact_value]` |

use std::collections::BTreeMap;
use std::path::Path;

use csv::ByteRecord;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::export::{Assignment, AssignmentStatus, KnownSolution, Solution, Task, UserSkill};
use crate::error::Error;
use crate::io::{Table, at, for_each_item, label_text, looks_like_json, read_all, whole};

/// One pool's exported data.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExportedPool {
    /// The pool's id, which requests name (`pool.json`'s `id`, else the directory's name).
    pub id: String,
    /// All assignments, whatever their status (only ACCEPTED ones are aggregated).
    pub assignments: Vec<Assignment>,
    /// Output field → its allowed values (the project's output spec), which fix Y for WDO.
    /// A field not listed here has the values observed in the pool as its domain.
    pub fields: BTreeMap<String, Vec<Value>>,
    /// Skill values of this pool's Tolokers (any skill ids).
    pub skills: Vec<UserSkill>,
}

/// `pool.json`.
#[derive(Deserialize)]
struct PoolFile {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    fields: BTreeMap<String, Vec<Value>>,
}

impl ExportedPool {
    /// A pool with these assignments, no declared fields and no skills.
    pub fn new(id: impl Into<String>, assignments: Vec<Assignment>) -> Self {
        Self {
            id: id.into(),
            assignments,
            ..Self::default()
        }
    }

    /// Declares the allowed values of an output field (e.g. `["OK", "BAD", "404"]`, or
    /// `[false, true]` for a boolean field).
    pub fn with_field(mut self, field: impl Into<String>, allowed: Vec<Value>) -> Self {
        self.fields.insert(field.into(), allowed);
        self
    }

    /// Adds skill values of this pool's Tolokers.
    pub fn with_skills(mut self, skills: Vec<UserSkill>) -> Self {
        self.skills.extend(skills);
        self
    }

    /// Loads a pool directory (layout in the module docs).
    pub fn load_dir(dir: &Path) -> Result<Self, Error> {
        if !dir.is_dir() {
            return Err(whole(
                dir,
                "not a pool directory (it does not exist or is a file)",
            ));
        }
        let mut pool = Self::default();
        let meta_path = dir.join("pool.json");
        let mut id = None;
        if meta_path.exists() {
            let (bytes, name) = read_all(&meta_path)?;
            let meta: PoolFile = serde_json::from_slice(&bytes).map_err(|e| {
                at(
                    &name,
                    e.line() as u64,
                    Some(e.column() as u64),
                    format!("invalid pool.json: {e}"),
                )
            })?;
            id = match meta.id {
                None | Some(Value::Null) => None,
                Some(Value::String(text)) => Some(text),
                Some(Value::Number(number)) => Some(number.to_string()),
                Some(_) => return Err(whole(&name, "\"id\" must be a string")),
            };
            for (field, values) in &meta.fields {
                check_domain(&name, field, values)?;
            }
            pool.fields = meta.fields;
        }
        pool.id = match id {
            Some(id) => id,
            None => dir_name(dir)?,
        };
        let candidates = ["assignments.json", "assignments.jsonl", "assignments.tsv"];
        let present: Vec<&str> = candidates
            .into_iter()
            .filter(|name| dir.join(name).exists())
            .collect();
        pool.assignments = match present.as_slice() {
            [name] if name.ends_with(".tsv") => read_results_tsv(&dir.join(name), &pool.id)?,
            [name] => read_assignment_objects(&dir.join(name))?,
            [] => {
                return Err(whole(
                    dir,
                    "no assignments.json, assignments.jsonl or assignments.tsv",
                ));
            }
            several => {
                return Err(whole(
                    dir,
                    format!(
                        "several assignment files ({}); keep one",
                        several.join(", ")
                    ),
                ));
            }
        };
        for name in ["skills.json", "skills.jsonl", "skills.csv"] {
            let path = dir.join(name);
            if path.exists() {
                pool.skills.extend(read_user_skills(&path)?);
            }
        }
        Ok(pool)
    }
}

fn dir_name(dir: &Path) -> Result<String, Error> {
    let absolute = std::fs::canonicalize(dir).map_err(|source| crate::InputError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    absolute
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .ok_or_else(|| {
            whole(
                dir,
                "cannot name the pool after this directory; give pool.json an id",
            )
        })
}

/// Allowed values must be distinct scalars (strings, numbers, booleans).
fn check_domain(file: &Path, field: &str, values: &[Value]) -> Result<(), Error> {
    let mut seen = std::collections::HashSet::new();
    for value in values {
        if !matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
            return Err(whole(
                file,
                format!(
                    "field {field:?}: allowed value {value} is not a string, number or boolean"
                ),
            ));
        }
        if !seen.insert(label_text(value)) {
            return Err(whole(
                file,
                format!("field {field:?}: allowed value {value} is listed twice"),
            ));
        }
    }
    if values.is_empty() {
        return Err(whole(
            file,
            format!("field {field:?} has no allowed values"),
        ));
    }
    Ok(())
}

/// Reads Assignment objects (a JSON array or JSON lines); every assignment must have an id
/// and a Toloker, as many solutions as tasks when solved, and task ids (the checks of
/// [`crate::io::read_assignments`]).
pub fn read_assignment_objects(path: &Path) -> Result<Vec<Assignment>, Error> {
    let (bytes, name) = read_all(path)?;
    let mut assignments = Vec::new();
    for_each_item(&bytes, &name, "assignment", |a: Assignment, pos| {
        let located = |message: String| at(&name, pos.line, Some(pos.column), message);
        // Every Assignment of Toloka's API has an id: without one this is not an API export
        // (the library's reader, which takes any assignment-like objects, does not ask).
        if a.id.is_empty() {
            return Err(located("assignment has no id".into()));
        }
        // The schema reads an absent status as empty (the library's reader asks for it as
        // here); no status would otherwise mean "not accepted" and a silently dropped answer.
        if a.status.as_str().is_empty() {
            return Err(located("assignment has no status".into()));
        }
        a.check(false).map_err(located)?;
        assignments.push(a);
        Ok(())
    })?;
    Ok(assignments)
}

/// Reads the web UI results TSV as assignments of one task each: `ASSIGNMENT:task_id` (else
/// the `INPUT:` values as a JSON array) identifies the task, `ASSIGNMENT:worker_id` the
/// Toloker, `OUTPUT:<field>` cells are the answers (as strings; they are matched to typed
/// allowed values by their text), `GOLDEN:` cells mark control tasks, and
/// `ASSIGNMENT:status` `APPROVED` means ACCEPTED (a file without that column is all accepted).
///
/// An empty `OUTPUT:` cell is a field the Toloker left empty (that is how the export writes
/// non-required fields): it is absent from the assignment's `output_values`, and an
/// aggregation of that field excludes the answer, as Toloka does ("non-required output fields
/// left empty are excluded"); [`super::LocalBackend::unanswered`] counts them so that callers
/// can report them. (The single-field reader [`crate::io::read_toloka_tsv`] is stricter: there
/// the field is the label, and an accepted row without it is an error.) An empty worker id is
/// an error at its cell.
pub fn read_results_tsv(path: &Path, pool_id: &str) -> Result<Vec<Assignment>, Error> {
    let (bytes, name) = read_all(path)?;
    let mut table = Table::open(bytes.as_slice(), &name, b'\t', "assignments")?;
    let worker = table.column("ASSIGNMENT:worker_id")?;
    let status = table.find("ASSIGNMENT:status")?;
    let task_id = table.find("ASSIGNMENT:task_id")?;
    let assignment_id = table.find("ASSIGNMENT:assignment_id")?;
    let prefixed = |prefix: &str| -> Vec<(usize, String)> {
        table
            .header()
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.strip_prefix(prefix).map(|f| (i, f.to_owned())))
            .collect()
    };
    let (inputs, outputs, golden) = (prefixed("INPUT:"), prefixed("OUTPUT:"), prefixed("GOLDEN:"));
    if task_id.is_none() && inputs.is_empty() {
        return Err(at(
            &name,
            1,
            None,
            "missing column \"ASSIGNMENT:task_id\" and no INPUT: columns to identify tasks",
        ));
    }
    let mut assignments = Vec::new();
    let mut record = ByteRecord::new();
    while table.next(&mut record)? {
        let text = |column: usize| table.text(&record, column).map(str::to_owned);
        let mut input_values = Map::new();
        for (column, field) in &inputs {
            input_values.insert(field.clone(), Value::String(text(*column)?));
        }
        let task = match task_id {
            Some(column) => table.required(&record, column)?.to_owned(),
            None => {
                let values: Vec<&Value> = input_values.values().collect();
                serde_json::to_string(&values).unwrap_or_default()
            }
        };
        let status = match status {
            Some(column) => match table.text(&record, column)?.trim().to_ascii_uppercase() {
                text if text == "APPROVED" => AssignmentStatus::Accepted,
                text => AssignmentStatus::from(text),
            },
            None => AssignmentStatus::Accepted,
        };
        let user_id = table.required(&record, worker)?.to_owned();
        let mut output_values = Map::new();
        for (column, field) in &outputs {
            let value = text(*column)?;
            if !value.is_empty() {
                output_values.insert(field.clone(), Value::String(value));
            }
        }
        let mut known = Map::new();
        for (column, field) in &golden {
            let value = text(*column)?;
            if !value.is_empty() {
                known.insert(field.clone(), Value::String(value));
            }
        }
        let id = match assignment_id {
            Some(column) => text(column)?,
            None => format!("row-{}", table.line()),
        };
        assignments.push(Assignment {
            id,
            task_suite_id: None,
            pool_id: pool_id.to_owned(),
            user_id,
            status,
            reward: None,
            tasks: vec![Task {
                id: Some(task),
                pool_id: Some(pool_id.to_owned()),
                input_values,
                known_solutions: (!known.is_empty()).then(|| {
                    vec![KnownSolution {
                        output_values: known,
                        correctness_weight: None,
                    }]
                }),
                message_on_unknown_solution: None,
                baseline_solutions: None,
                origin_task_id: None,
            }],
            solutions: Some(vec![Solution { output_values }]),
            mixed: None,
            automerged: None,
            created: None,
            submitted: None,
            accepted: None,
            rejected: None,
            skipped: None,
            expired: None,
        });
    }
    Ok(assignments)
}

/// Reads user skills: UserSkill objects (JSON array or lines), or CSV/TSV with the columns
/// `user_id,skill_id,value` and optionally `exact_value`.
pub fn read_user_skills(path: &Path) -> Result<Vec<UserSkill>, Error> {
    let (bytes, name) = read_all(path)?;
    let mut skills = Vec::new();
    if looks_like_json(&bytes) {
        for_each_item(&bytes, &name, "user skill", |skill: UserSkill, pos| {
            if skill.skill_value().is_none() {
                return Err(at(
                    &name,
                    pos.line,
                    Some(pos.column),
                    "user skill has neither exact_value nor value",
                ));
            }
            skills.push(skill);
            Ok(())
        })?;
        return Ok(skills);
    }
    let delimiter = crate::io::delimiter_for(&name);
    let mut table = Table::open(bytes.as_slice(), &name, delimiter, "skills")?;
    let user = table.column("user_id")?;
    let skill_id = table.column("skill_id")?;
    let value = table.column("value")?;
    let exact = table.find("exact_value")?;
    let mut record = ByteRecord::new();
    while table.next(&mut record)? {
        let number = |column: usize| -> Result<Option<f64>, Error> {
            let text = table.text(&record, column)?.trim();
            if text.is_empty() {
                return Ok(None);
            }
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(Some(v)),
                _ => Err(table.error_at(Some(column), format!("{text:?} is not a number"))),
            }
        };
        let exact_value = exact.map(number).transpose()?.flatten();
        let plain = number(value)?;
        if plain.is_none() && exact_value.is_none() {
            return Err(table.error_at(Some(value), "empty skill value"));
        }
        skills.push(UserSkill {
            id: None,
            skill_id: table.required(&record, skill_id)?.to_owned(),
            user_id: table.required(&record, user)?.to_owned(),
            value: plain.map(|v| v.round() as i64),
            exact_value: exact_value.or(plain),
            created: None,
            modified: None,
        });
    }
    Ok(skills)
}
