//! `GET /aggregated-solutions/{operation_id}`: filters, sort, limit and the page it returns
//! (`specs/toloka-api.md` §1.6).

use serde::{Deserialize, Serialize};

use super::error::{InvalidField, JsonType, ValidationError};

/// One page of a search: `{"items": [...], "has_more": bool}`. `has_more` must be exact: a
/// client keeps asking while it is true.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchPage<T> {
    /// The page's items, in the requested order.
    pub items: Vec<T>,
    /// Whether more items match after the last one of this page.
    pub has_more: bool,
}

/// Direction of the `sort` key; only `task_id` can be sorted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskIdOrder {
    /// `sort=task_id`
    #[default]
    Ascending,
    /// `sort=-task_id`
    Descending,
}

impl TaskIdOrder {
    /// The accepted values of `sort`, in the order of the variants.
    pub const NAMES: &'static [&'static str] = &["task_id", "-task_id"];

    /// The `sort` parameter value (`task_id` or `-task_id`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ascending => Self::NAMES[0],
            Self::Descending => Self::NAMES[1],
        }
    }
}

/// Query of the aggregated-solutions search. Task ids compare as byte strings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AggregatedSolutionSearchRequest {
    /// Only tasks whose id is strictly below this.
    pub task_id_lt: Option<String>,
    /// Only tasks whose id is below or equal to this.
    pub task_id_lte: Option<String>,
    /// Only tasks whose id is strictly above this (what paging uses).
    pub task_id_gt: Option<String>,
    /// Only tasks whose id is above or equal to this.
    pub task_id_gte: Option<String>,
    /// Order of the results; ascending task id when `None`.
    pub sort: Option<TaskIdOrder>,
    /// Page size, 1..=[`Self::MAX_LIMIT`]; [`Self::DEFAULT_LIMIT`] when `None`.
    pub limit: Option<u32>,
}

impl AggregatedSolutionSearchRequest {
    /// Page size when `limit` is not given.
    pub const DEFAULT_LIMIT: u32 = 50;
    /// toloka-kit's stated maximum for this endpoint.
    pub const MAX_LIMIT: u32 = 100_000;

    /// The first request of toloka-kit's paging: `sort=task_id` and an optional `limit`.
    pub fn first_page(limit: Option<u32>) -> Self {
        Self {
            sort: Some(TaskIdOrder::Ascending),
            limit,
            ..Self::default()
        }
    }

    /// The request for the page after one ending at `last_task_id`: the same query with
    /// `task_id_gt` (or `task_id_lt` when sorted descending) moved past it.
    pub fn next_page(&self, last_task_id: &str) -> Self {
        let mut next = self.clone();
        match self.sort.unwrap_or_default() {
            TaskIdOrder::Ascending => next.task_id_gt = Some(last_task_id.to_owned()),
            TaskIdOrder::Descending => next.task_id_lt = Some(last_task_id.to_owned()),
        }
        next
    }

    /// URL query pairs (not yet percent-encoded), in toloka-kit's order: filters, `sort`,
    /// `limit`; absent values are left out.
    pub fn to_query(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        for (key, value) in self.filters() {
            if let Some(value) = value {
                pairs.push((key, value.clone()));
            }
        }
        if let Some(sort) = self.sort {
            pairs.push(("sort", sort.as_str().to_owned()));
        }
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        pairs
    }

    /// Reads decoded query pairs as the service would. Unknown keys are ignored; a repeated
    /// key keeps its last value.
    pub fn from_query<K, V>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, ValidationError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut request = Self::default();
        let mut problems = Vec::new();
        for (key, value) in pairs {
            let (key, value) = (key.as_ref(), value.as_ref());
            match key {
                "task_id_lt" => request.task_id_lt = Some(value.to_owned()),
                "task_id_lte" => request.task_id_lte = Some(value.to_owned()),
                "task_id_gt" => request.task_id_gt = Some(value.to_owned()),
                "task_id_gte" => request.task_id_gte = Some(value.to_owned()),
                "sort" => match TaskIdOrder::NAMES.iter().position(|name| *name == value) {
                    Some(0) => request.sort = Some(TaskIdOrder::Ascending),
                    Some(_) => request.sort = Some(TaskIdOrder::Descending),
                    None => problems.push(InvalidField::UnknownEnumValue {
                        field: "sort".into(),
                        value: value.to_owned(),
                        allowed: TaskIdOrder::NAMES,
                    }),
                },
                "limit" => match value.parse::<i64>() {
                    Ok(limit) => match u32::try_from(limit) {
                        Ok(limit) => request.limit = Some(limit),
                        Err(_) if limit < 0 => problems.push(too_small(limit)),
                        Err(_) => problems.push(too_large(limit)),
                    },
                    Err(_) => problems.push(InvalidField::WrongType {
                        field: "limit".into(),
                        expected: JsonType::Integer,
                    }),
                },
                _ => {}
            }
        }
        ValidationError::check(problems)?;
        request.validate()?;
        Ok(request)
    }

    /// `limit`, when given, is in 1..=[`Self::MAX_LIMIT`].
    pub fn validate(&self) -> Result<(), ValidationError> {
        let problems = match self.limit.map(i64::from) {
            Some(limit) if limit < 1 => vec![too_small(limit)],
            Some(limit) if limit > i64::from(Self::MAX_LIMIT) => vec![too_large(limit)],
            _ => Vec::new(),
        };
        ValidationError::check(problems)
    }

    /// The page size to use.
    pub fn effective_limit(&self) -> u32 {
        self.limit.unwrap_or(Self::DEFAULT_LIMIT)
    }

    /// Whether `task_id` passes every range filter (byte-wise string comparison).
    pub fn matches(&self, task_id: &str) -> bool {
        let task_id = task_id.as_bytes();
        let holds = |bound: &Option<String>, keep: fn(&[u8], &[u8]) -> bool| {
            bound
                .as_ref()
                .is_none_or(|bound| keep(task_id, bound.as_bytes()))
        };
        holds(&self.task_id_lt, |id, bound| id < bound)
            && holds(&self.task_id_lte, |id, bound| id <= bound)
            && holds(&self.task_id_gt, |id, bound| id > bound)
            && holds(&self.task_id_gte, |id, bound| id >= bound)
    }

    fn filters(&self) -> [(&'static str, &Option<String>); 4] {
        [
            ("task_id_lt", &self.task_id_lt),
            ("task_id_lte", &self.task_id_lte),
            ("task_id_gt", &self.task_id_gt),
            ("task_id_gte", &self.task_id_gte),
        ]
    }
}

fn too_small(limit: i64) -> InvalidField {
    InvalidField::ValueTooSmall {
        field: "limit".into(),
        min: 1,
        actual: limit,
    }
}

fn too_large(limit: i64) -> InvalidField {
    InvalidField::ValueTooLarge {
        field: "limit".into(),
        max: i64::from(AggregatedSolutionSearchRequest::MAX_LIMIT),
        actual: limit,
    }
}
