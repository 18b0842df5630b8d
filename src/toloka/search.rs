//! `GET /aggregated-solutions/{operation_id}`: filters, sort, limit and the page it returns
//! (`specs/toloka-api.md` §1.6).

use std::borrow::Borrow;
use std::cmp::Ordering;

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
    /// Bounds on the task id (`task_id_lt`, …; paging moves `gt`).
    pub task_id: Range<String>,
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
            TaskIdOrder::Ascending => next.task_id.gt = Some(last_task_id.to_owned()),
            TaskIdOrder::Descending => next.task_id.lt = Some(last_task_id.to_owned()),
        }
        next
    }

    /// URL query pairs (not yet percent-encoded), in toloka-kit's order: filters, `sort`,
    /// `limit`; absent values are left out.
    pub fn to_query(&self) -> Vec<(&'static str, String)> {
        const KEYS: [&str; 4] = ["task_id_lt", "task_id_lte", "task_id_gt", "task_id_gte"];
        let mut pairs: Vec<(&'static str, String)> = KEYS
            .into_iter()
            .zip(self.task_id.bounds())
            .filter_map(|(key, bound)| Some((key, bound?.clone())))
            .collect();
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
        read_query(pairs, Self::read_pair, Self::validate)
    }

    fn read_pair(&mut self, key: &str, value: &str, problems: &mut Vec<InvalidField>) {
        match key {
            "sort" => match TaskIdOrder::NAMES.iter().position(|name| *name == value) {
                Some(0) => self.sort = Some(TaskIdOrder::Ascending),
                Some(_) => self.sort = Some(TaskIdOrder::Descending),
                None => problems.push(InvalidField::UnknownEnumValue {
                    field: "sort".into(),
                    value: value.to_owned(),
                    allowed: TaskIdOrder::NAMES,
                }),
            },
            "limit" => match value.parse::<i64>() {
                Ok(limit) => match u32::try_from(limit) {
                    Ok(limit) => self.limit = Some(limit),
                    Err(_) => problems.extend(limit_problem(limit, Self::MAX_LIMIT)),
                },
                Err(_) => problems.push(InvalidField::WrongType {
                    field: "limit".into(),
                    expected: JsonType::Integer,
                }),
            },
            _ => {
                if let Some(suffix) = key.strip_prefix("task_id_") {
                    self.task_id.set(suffix, value.to_owned());
                }
            }
        }
    }

    /// `limit`, when given, is in 1..=[`Self::MAX_LIMIT`].
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_limit(self.limit, Self::MAX_LIMIT)
    }

    /// The page size to use.
    pub fn effective_limit(&self) -> u32 {
        self.limit.unwrap_or(Self::DEFAULT_LIMIT)
    }

    /// Whether `task_id` passes every range filter (byte-wise string comparison).
    pub fn matches(&self, task_id: &str) -> bool {
        self.task_id.matches(Some(task_id))
    }
}

/// Range filters on one attribute: `<name>_lt`, `_lte`, `_gt`, `_gte`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range<T> {
    /// Strictly below (`<name>_lt`).
    pub lt: Option<T>,
    /// Below or equal (`<name>_lte`).
    pub lte: Option<T>,
    /// Strictly above (`<name>_gt`).
    pub gt: Option<T>,
    /// Above or equal (`<name>_gte`).
    pub gte: Option<T>,
}

impl<T> Default for Range<T> {
    fn default() -> Self {
        Self {
            lt: None,
            lte: None,
            gt: None,
            gte: None,
        }
    }
}

impl<T> Range<T> {
    /// Whether `value` passes every bound; an absent value passes no bound. A `Range<String>`
    /// takes a `&str` (byte-wise comparison).
    pub fn matches<Q>(&self, value: Option<&Q>) -> bool
    where
        T: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let wanted = [
            (Ordering::Less, false),
            (Ordering::Less, true),
            (Ordering::Greater, false),
            (Ordering::Greater, true),
        ];
        self.bounds()
            .into_iter()
            .zip(wanted)
            .all(|(bound, (wanted, or_equal))| match bound {
                None => true,
                Some(bound) => value.is_some_and(|v| {
                    let order = v.cmp(bound.borrow());
                    order == wanted || (or_equal && order == Ordering::Equal)
                }),
            })
    }

    /// The bounds in query order: `lt`, `lte`, `gt`, `gte`.
    fn bounds(&self) -> [Option<&T>; 4] {
        [&self.lt, &self.lte, &self.gt, &self.gte].map(Option::as_ref)
    }

    /// Sets the bound named by `suffix` (`lt`, `lte`, `gt`, `gte`); false for another suffix.
    pub(super) fn set(&mut self, suffix: &str, value: T) -> bool {
        let slot = match suffix {
            "lt" => &mut self.lt,
            "lte" => &mut self.lte,
            "gt" => &mut self.gt,
            "gte" => &mut self.gte,
            _ => return false,
        };
        *slot = Some(value);
        true
    }
}

/// Reads decoded query pairs with `read_pair(request, key, value, problems)`, then, when no
/// pair had a problem, checks the request with `validate`: the one reading loop of the searches.
pub(super) fn read_query<T: Default, K: AsRef<str>, V: AsRef<str>>(
    pairs: impl IntoIterator<Item = (K, V)>,
    read_pair: impl Fn(&mut T, &str, &str, &mut Vec<InvalidField>),
    validate: impl Fn(&T) -> Result<(), ValidationError>,
) -> Result<T, ValidationError> {
    let mut request = T::default();
    let mut problems = Vec::new();
    for (key, value) in pairs {
        read_pair(&mut request, key.as_ref(), value.as_ref(), &mut problems);
    }
    ValidationError::check(problems)?;
    validate(&request)?;
    Ok(request)
}

/// A page size, when given, in 1..=`max`.
pub(super) fn check_limit(limit: Option<u32>, max: u32) -> Result<(), ValidationError> {
    let problem = limit.and_then(|limit| limit_problem(i64::from(limit), max));
    ValidationError::check(problem.into_iter().collect())
}

/// The problem with a page size outside 1..=`max`, if any.
fn limit_problem(limit: i64, max: u32) -> Option<InvalidField> {
    if limit < 1 {
        Some(InvalidField::ValueTooSmall {
            field: "limit".into(),
            min: 1,
            actual: limit,
        })
    } else if limit > i64::from(max) {
        Some(InvalidField::ValueTooLarge {
            field: "limit".into(),
            max: i64::from(max),
            actual: limit,
        })
    } else {
        None
    }
}
