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
        Active = "ACTIVE",
        Submitted = "SUBMITTED",
        Accepted = "ACCEPTED",
        Rejected = "REJECTED",
        Skipped = "SKIPPED",
        Expired = "EXPIRED",
    }
}

/// A task as embedded in an assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "ids::deserialize_option"
    )]
    pub id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "ids::deserialize_option"
    )]
    pub pool_id: Option<String>,
    #[serde(default)]
    pub input_values: Map<String, Value>,
    /// Golden answers of control and training tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_solutions: Option<Vec<KnownSolution>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_on_unknown_solution: Option<String>,
    /// Pseudo-answers that take part in confidence computation (WDO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_solutions: Option<Vec<BaselineSolution>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "ids::deserialize_option"
    )]
    pub origin_task_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownSolution {
    pub output_values: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correctness_weight: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineSolution {
    pub output_values: Map<String, Value>,
    /// In 0..=1; the service's default is 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence_weight: Option<f64>,
}

/// One Toloker's answer to one task: `{"output_values": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Solution {
    pub output_values: Map<String, Value>,
}

/// A Toloker's work on a task suite; `solutions[i]` answers `tasks[i]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    #[serde(deserialize_with = "ids::deserialize")]
    pub id: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "ids::deserialize_option"
    )]
    pub task_suite_id: Option<String>,
    #[serde(deserialize_with = "ids::deserialize")]
    pub pool_id: String,
    /// The Toloker.
    #[serde(deserialize_with = "ids::deserialize")]
    pub user_id: String,
    pub status: AssignmentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward: Option<f64>,
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// Absent while the assignment is ACTIVE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solutions: Option<Vec<Solution>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mixed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automerged: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired: Option<Timestamp>,
}

impl Assignment {
    /// `(task, solution)` pairs; tasks without a parallel solution are left out.
    pub fn answers(&self) -> impl Iterator<Item = (&Task, &Solution)> {
        self.tasks.iter().zip(self.solutions.iter().flatten())
    }
}

/// One Toloker's value of one skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSkill {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "ids::deserialize_option"
    )]
    pub id: Option<String>,
    #[serde(deserialize_with = "ids::deserialize")]
    pub skill_id: String,
    #[serde(deserialize_with = "ids::deserialize")]
    pub user_id: String,
    /// `exact_value` rounded to an integer, 0..=100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact_value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<Timestamp>,
}

impl UserSkill {
    /// The skill on Toloka's 0..=100 scale: `exact_value`, else `value`.
    pub fn skill_value(&self) -> Option<f64> {
        self.exact_value.or(self.value.map(|value| value as f64))
    }
}
