//! Exported raw data, the input of a local aggregation: assignments (`GET /assignments`) and
//! skill values (`GET /user-skills`) (`specs/toloka-api.md` §6.1–6.2). Only the fields that
//! aggregation needs or that identify an object are modelled; others are ignored on input.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ids;
use super::string_enum::open_string_enum;
use super::timestamp::Timestamp;

open_string_enum! {
    /// Assignment `status`. Only ACCEPTED answers enter aggregation.
    pub enum AssignmentStatus {
        /// Issued to a Toloker, not submitted yet (no solutions).
        Active = "ACTIVE",
        /// Submitted, waiting for acceptance.
        Submitted = "SUBMITTED",
        /// Accepted by the requester: the only status aggregated.
        Accepted = "ACCEPTED",
        /// Rejected by the requester.
        Rejected = "REJECTED",
        /// Skipped by the Toloker.
        Skipped = "SKIPPED",
        /// Not submitted in time.
        Expired = "EXPIRED",
    }
}

/// A task as embedded in an assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// The task's id; the key aggregated solutions are reported by.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "ids::deserialize_option"
    )]
    pub id: Option<String>,
    /// The pool the task belongs to.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "ids::deserialize_option"
    )]
    pub pool_id: Option<String>,
    /// The task's input data, by input field name (not used by aggregation).
    #[serde(default)]
    pub input_values: Map<String, Value>,
    /// Golden answers of control and training tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_solutions: Option<Vec<KnownSolution>>,
    /// Hint shown to a Toloker whose answer to a control task is wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_on_unknown_solution: Option<String>,
    /// Pseudo-answers that take part in confidence computation (WDO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_solutions: Option<Vec<BaselineSolution>>,
    /// For a task created as a copy (for example when a pool is cloned), the original task.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "ids::deserialize_option"
    )]
    pub origin_task_id: Option<String>,
}

/// The correct answer of a control or training task (a "golden" answer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownSolution {
    /// The correct output, by output field name.
    pub output_values: Map<String, Value>,
    /// How much this answer counts as correct, 0..=1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correctness_weight: Option<f64>,
}

/// A pseudo-answer that takes part in confidence computation, like a Toloker's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineSolution {
    /// The answer, by output field name.
    pub output_values: Map<String, Value>,
    /// In 0..=1; the service's default is 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence_weight: Option<f64>,
}

/// One Toloker's answer to one task: `{"output_values": {...}}` (absent: no answer at all).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Solution {
    /// The answer, by output field name (the project's JSON types: string, number, bool).
    #[serde(default)]
    pub output_values: Map<String, Value>,
}

/// A Toloker's work on a task suite; `solutions[i]` answers `tasks[i]`.
///
/// The one schema of an exported assignment: the local backend's pools
/// ([`super::pool::read_assignment_objects`]) and the library's reader
/// ([`crate::io::read_assignments`]) both parse this type and check it the same way (a
/// Toloker, as many solutions as tasks, task ids). Parsing is lenient where exports differ: an absent `id`, `pool_id`,
/// `user_id` or `status` reads as empty (the checks, not the parser, decide what must be
/// there, and say so at the assignment's position).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// The assignment's id (required by the local backend; empty when absent).
    #[serde(default, deserialize_with = "ids::deserialize")]
    pub id: String,
    /// The task suite the Toloker was given.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "ids::deserialize_option"
    )]
    pub task_suite_id: Option<String>,
    /// The pool of the task suite (empty when absent).
    #[serde(default, deserialize_with = "ids::deserialize")]
    pub pool_id: String,
    /// The Toloker (empty when absent, which the readers refuse).
    #[serde(default, deserialize_with = "ids::deserialize")]
    pub user_id: String,
    /// Where the assignment is in its life cycle; only ACCEPTED ones are aggregated (an
    /// absent status reads as the empty `Other("")`, which no selection keeps).
    #[serde(default = "no_status")]
    pub status: AssignmentStatus,
    /// Payment for the task suite, in US dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward: Option<f64>,
    /// The tasks of the suite, in the order of `solutions`.
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// Absent while the assignment is ACTIVE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solutions: Option<Vec<Solution>>,
    /// Whether the task suite was built by smart mixing (`true`) or uploaded as is (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mixed: Option<bool>,
    /// Whether the answer was copied to duplicate tasks merged automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automerged: Option<bool>,
    /// When the assignment was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
    /// When the Toloker submitted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted: Option<Timestamp>,
    /// When it was accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<Timestamp>,
    /// When it was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Timestamp>,
    /// When the Toloker skipped it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Timestamp>,
    /// When it expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired: Option<Timestamp>,
}

/// The status of an assignment that has none.
fn no_status() -> AssignmentStatus {
    AssignmentStatus::Other(String::new())
}

impl Assignment {
    /// `(task, solution)` pairs; tasks without a parallel solution are left out.
    pub fn answers(&self) -> impl Iterator<Item = (&Task, &Solution)> {
        self.tasks.iter().zip(self.solutions.iter().flatten())
    }

    /// What every reader of exports asks of an assignment, in this order: a Toloker
    /// (`user_id`), as many solutions as tasks (when `answered`, an assignment whose answers
    /// are aggregated, absent solutions count as none; otherwise they may be absent, as in an
    /// ACTIVE assignment), and an id for every task. The error is the message to locate at the
    /// assignment.
    pub(crate) fn check(&self, answered: bool) -> Result<(), String> {
        if self.user_id.is_empty() {
            return Err("assignment has no user_id".into());
        }
        let solutions = self.solutions.as_ref().map(Vec::len);
        if let Some(n) = solutions.or(answered.then_some(0))
            && n != self.tasks.len()
        {
            return Err(format!(
                "assignment has {} tasks but {n} solutions",
                self.tasks.len()
            ));
        }
        match self
            .tasks
            .iter()
            .position(|t| t.id.as_deref().is_none_or(str::is_empty))
        {
            Some(i) => Err(format!("task {} of the assignment has no id", i + 1)),
            None => Ok(()),
        }
    }
}

/// One Toloker's value of one skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSkill {
    /// The id of this skill value record.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "ids::deserialize_option"
    )]
    pub id: Option<String>,
    /// The skill (`answer_weight_skill_id` in a WDO request).
    #[serde(deserialize_with = "ids::deserialize")]
    pub skill_id: String,
    /// The Toloker.
    #[serde(deserialize_with = "ids::deserialize")]
    pub user_id: String,
    /// `exact_value` rounded to an integer, 0..=100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<i64>,
    /// The skill value with its fraction, 0..=100; preferred over `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact_value: Option<f64>,
    /// When the value was first set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
    /// When the value last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<Timestamp>,
}

impl UserSkill {
    /// The skill on Toloka's 0..=100 scale: `exact_value`, else `value`.
    pub fn skill_value(&self) -> Option<f64> {
        self.exact_value.or(self.value.map(|value| value as f64))
    }
}
