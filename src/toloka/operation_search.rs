//! `GET /operations`: filters, sort and limit (`specs/toloka-api.md` §1.5).

use std::cmp::Ordering;

use super::error::{InvalidField, JsonType, ValidationError};
use super::search::SearchPage;
use super::timestamp::Timestamp;
use super::types::{Operation, OperationStatus, OperationType};

/// A sort key of the operation search; `descending` is the `-` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationSort {
    /// The attribute to sort by.
    pub key: OperationSortKey,
    /// Largest first (`-id`) instead of smallest first (`id`).
    pub descending: bool,
}

/// An attribute operations can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationSortKey {
    /// The operation id, compared as bytes.
    Id,
    /// The submission time.
    Submitted,
    /// The finishing time; unfinished operations (no `finished`) sort before finished ones.
    Finished,
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

impl<T: Ord> Range<T> {
    /// Whether `value` passes every bound; an absent value passes no bound.
    pub fn matches(&self, value: Option<&T>) -> bool {
        let bounds = [
            (&self.lt, Ordering::Less, false),
            (&self.lte, Ordering::Less, true),
            (&self.gt, Ordering::Greater, false),
            (&self.gte, Ordering::Greater, true),
        ];
        bounds.iter().all(|(bound, wanted, or_equal)| match bound {
            None => true,
            Some(bound) => value.is_some_and(|v| {
                let order = v.cmp(bound);
                order == *wanted || (*or_equal && order == Ordering::Equal)
            }),
        })
    }

    fn set(&mut self, suffix: &str, value: T) -> bool {
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

/// Query of the operation search.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OperationSearchRequest {
    /// Only operations of this `type`.
    pub operation_type: Option<OperationType>,
    /// Only operations in this `status`.
    pub status: Option<OperationStatus>,
    /// Ids compare as byte strings.
    pub id: Range<String>,
    /// Bounds on `submitted` (`submitted_lt`, …).
    pub submitted: Range<Timestamp>,
    /// Bounds on `finished`; an unfinished operation passes no bound.
    pub finished: Range<Timestamp>,
    /// Sort keys in priority order; `id` ascending when empty.
    pub sort: Vec<OperationSort>,
    /// Page size, 1..=[`Self::MAX_LIMIT`]; [`Self::DEFAULT_LIMIT`] when `None`.
    pub limit: Option<u32>,
}

impl OperationSearchRequest {
    /// The page size when `limit` is not given.
    pub const DEFAULT_LIMIT: u32 = 50;
    /// toloka-kit's stated maximum.
    pub const MAX_LIMIT: u32 = 500;
    /// The accepted values of the `sort` parameter.
    pub const SORT_NAMES: &'static [&'static str] = &[
        "id",
        "-id",
        "submitted",
        "-submitted",
        "finished",
        "-finished",
    ];

    /// Reads decoded query pairs; unknown keys are ignored.
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
                "type" => request.operation_type = Some(value.into()),
                "status" => request.status = Some(value.into()),
                "sort" => {
                    request.sort.clear();
                    for item in value.split(',').map(str::trim) {
                        match parse_sort(item) {
                            Some(sort) => request.sort.push(sort),
                            None => problems.push(InvalidField::UnknownEnumValue {
                                field: "sort".into(),
                                value: item.to_owned(),
                                allowed: Self::SORT_NAMES,
                            }),
                        }
                    }
                }
                "limit" => match value.parse::<u32>() {
                    Ok(limit) => request.limit = Some(limit),
                    Err(_) => problems.push(InvalidField::WrongType {
                        field: "limit".into(),
                        expected: JsonType::Integer,
                    }),
                },
                _ => {
                    let Some((name, suffix)) = key.rsplit_once('_') else {
                        continue;
                    };
                    match name {
                        "id" => {
                            request.id.set(suffix, value.to_owned());
                        }
                        "submitted" | "finished" => match value.parse::<Timestamp>() {
                            Ok(time) => {
                                let range = if name == "submitted" {
                                    &mut request.submitted
                                } else {
                                    &mut request.finished
                                };
                                range.set(suffix, time);
                            }
                            Err(_) => problems.push(InvalidField::WrongType {
                                field: key.to_owned(),
                                expected: JsonType::String,
                            }),
                        },
                        _ => {}
                    }
                }
            }
        }
        ValidationError::check(problems)?;
        request.validate()?;
        Ok(request)
    }

    /// `limit`, when given, is in 1..=[`Self::MAX_LIMIT`].
    pub fn validate(&self) -> Result<(), ValidationError> {
        let problems = match self.limit {
            Some(0) => vec![InvalidField::ValueTooSmall {
                field: "limit".into(),
                min: 1,
                actual: 0,
            }],
            Some(limit) if limit > Self::MAX_LIMIT => vec![InvalidField::ValueTooLarge {
                field: "limit".into(),
                max: i64::from(Self::MAX_LIMIT),
                actual: i64::from(limit),
            }],
            _ => Vec::new(),
        };
        ValidationError::check(problems)
    }

    /// Whether `operation` passes every filter (type, status and the id, `submitted` and
    /// `finished` bounds).
    pub fn matches(&self, operation: &Operation) -> bool {
        self.operation_type
            .as_ref()
            .is_none_or(|t| *t == operation.operation_type)
            && self.status.as_ref().is_none_or(|s| *s == operation.status)
            && self.id.matches(Some(&operation.id))
            && self.submitted.matches(Some(&operation.submitted))
            && self.finished.matches(operation.finished.as_ref())
    }

    /// Filters, sorts and cuts `operations` into one page with an exact `has_more`.
    pub fn page(&self, operations: Vec<Operation>) -> SearchPage<Operation> {
        self.page_of(operations.iter())
    }

    /// Like [`Self::page`] on borrowed operations: only the page returned is cloned, so that
    /// a search over many stored operations allocates little.
    pub fn page_of<'a>(
        &self,
        operations: impl IntoIterator<Item = &'a Operation>,
    ) -> SearchPage<Operation> {
        let mut items: Vec<&Operation> = operations
            .into_iter()
            .filter(|op| self.matches(op))
            .collect();
        let default_sort = [OperationSort {
            key: OperationSortKey::Id,
            descending: false,
        }];
        let sort = if self.sort.is_empty() {
            &default_sort[..]
        } else {
            &self.sort
        };
        items.sort_by(|a, b| {
            sort.iter()
                .map(|s| {
                    let order = match s.key {
                        OperationSortKey::Id => a.id.cmp(&b.id),
                        OperationSortKey::Submitted => a.submitted.cmp(&b.submitted),
                        OperationSortKey::Finished => a.finished.cmp(&b.finished),
                    };
                    if s.descending { order.reverse() } else { order }
                })
                .find(|order| order.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        let limit = self.limit.unwrap_or(Self::DEFAULT_LIMIT) as usize;
        let has_more = items.len() > limit;
        items.truncate(limit);
        SearchPage {
            items: items.into_iter().cloned().collect(),
            has_more,
        }
    }
}

fn parse_sort(item: &str) -> Option<OperationSort> {
    let (descending, name) = match item.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, item),
    };
    let key = match name {
        "id" => OperationSortKey::Id,
        "submitted" => OperationSortKey::Submitted,
        "finished" => OperationSortKey::Finished,
        _ => return None,
    };
    Some(OperationSort { key, descending })
}
