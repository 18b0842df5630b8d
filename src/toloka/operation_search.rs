//! `GET /operations`: filters, sort and limit (`specs/toloka-api.md` §1.5).

use std::cmp::Ordering;

use super::error::{InvalidField, JsonType, ValidationError};
use super::search::{Range, SearchPage, check_limit, read_query};
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
#[non_exhaustive]
pub enum OperationSortKey {
    /// The operation id, compared as bytes.
    Id,
    /// The submission time.
    Submitted,
    /// The finishing time; unfinished operations (no `finished`) sort before finished ones.
    Finished,
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
        read_query(pairs, Self::read_pair, Self::validate)
    }

    fn read_pair(&mut self, key: &str, value: &str, problems: &mut Vec<InvalidField>) {
        match key {
            "type" => self.operation_type = Some(value.into()),
            "status" => self.status = Some(value.into()),
            "sort" => {
                self.sort.clear();
                for item in value.split(',').map(str::trim) {
                    match parse_sort(item) {
                        Some(sort) => self.sort.push(sort),
                        None => problems.push(InvalidField::UnknownEnumValue {
                            field: "sort".into(),
                            value: item.to_owned(),
                            allowed: Self::SORT_NAMES,
                        }),
                    }
                }
            }
            "limit" => match value.parse::<u32>() {
                Ok(limit) => self.limit = Some(limit),
                Err(_) => problems.push(InvalidField::WrongType {
                    field: "limit".into(),
                    expected: JsonType::Integer,
                }),
            },
            _ => {
                let Some((name, suffix)) = key.rsplit_once('_') else {
                    return;
                };
                match name {
                    "id" => {
                        self.id.set(suffix, value.to_owned());
                    }
                    "submitted" | "finished" => match value.parse::<Timestamp>() {
                        Ok(time) => {
                            let range = if name == "submitted" {
                                &mut self.submitted
                            } else {
                                &mut self.finished
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

    /// `limit`, when given, is in 1..=[`Self::MAX_LIMIT`].
    pub fn validate(&self) -> Result<(), ValidationError> {
        check_limit(self.limit, Self::MAX_LIMIT)
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
