//! Multi-label aggregation by binary relevance (crowd-kit `BinaryRelevance`).

use crate::aggregation::Aggregation;
use crate::error::{DataError, Error, Result};
use crate::responses::Responses;

use super::{Aggregator, FitInputs, MajorityVote};

/// Multi-label responses: each response is a *set* of classes (possibly empty).
///
/// # Input format
/// Read by [`MultiLabelResponses::read_with_options`] (the response readers' options, stdin,
/// TSV) or [`MultiLabelResponses::read`] (comma-separated CSV from any reader), both in
/// [`crate::io`].
///
/// A CSV with a header holding `task`, `worker` and `label` columns (any order, other columns
/// ignored). The `label` field lists the response's classes separated by `separator` (default
/// `|`): `x|y` is {x, y}, an empty field is the empty set, a repeated class counts once.
/// An empty class inside a non-empty field (`x|`, `x||y`) is an error.
///
/// Classes are ordered by the label order rule (numeric when every class is an integer, else
/// byte order), like crowd-kit's `MultiLabelBinarizer` (sorted).
#[derive(Debug, Clone)]
pub struct MultiLabelResponses {
    rows: Vec<(String, String, Vec<usize>)>,
    classes: Vec<String>,
}

impl MultiLabelResponses {
    /// From `(task, worker, classes)` rows.
    pub fn from_sets<I, T, W, S, C>(rows: I) -> Result<Self, DataError>
    where
        I: IntoIterator<Item = (T, W, S)>,
        T: Into<String>,
        W: Into<String>,
        S: IntoIterator<Item = C>,
        C: AsRef<str>,
    {
        let mut names: Vec<String> = Vec::new();
        let mut index = std::collections::HashMap::<String, usize>::new();
        let mut rows_by_name = Vec::new();
        for (n, (task, worker, set)) in rows.into_iter().enumerate() {
            let (task, worker) = (task.into(), worker.into());
            let record = n as u64 + 1;
            for (field, value) in [("task", &task), ("worker", &worker)] {
                if value.is_empty() {
                    return Err(DataError::EmptyField { field, record });
                }
            }
            let mut ids = Vec::new();
            for class in set {
                let class = class.as_ref();
                if class.is_empty() {
                    return Err(DataError::EmptyField {
                        field: "class",
                        record,
                    });
                }
                let id = *index.entry(class.to_string()).or_insert_with(|| {
                    names.push(class.to_string());
                    names.len() - 1
                });
                ids.push(id);
            }
            rows_by_name.push((task, worker, ids));
        }
        // The label order rule, from the one place that defines it.
        let order = if names.is_empty() {
            Vec::new()
        } else {
            let probe = Responses::from_triples(names.iter().map(|c| ("t", "w", c.as_str())))?;
            probe
                .label_names()
                .iter()
                .map(|c| index[*c])
                .collect::<Vec<_>>()
        };
        let mut rank = vec![0; names.len()];
        for (r, &id) in order.iter().enumerate() {
            rank[id] = r;
        }
        let classes = order.iter().map(|&id| names[id].clone()).collect();
        let rows = rows_by_name
            .into_iter()
            .map(|(t, w, ids)| {
                let mut set: Vec<usize> = ids.into_iter().map(|id| rank[id]).collect();
                set.sort_unstable();
                set.dedup();
                (t, w, set)
            })
            .collect();
        Ok(Self { rows, classes })
    }

    /// The classes in class order.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Number of responses (rows), empty sets included.
    pub fn n_responses(&self) -> usize {
        self.rows.len()
    }

    /// The single-label problem of one class: every response becomes `1` (the class is in its
    /// set) or `0`.
    pub fn binary(&self, class: usize) -> Result<Responses, DataError> {
        let mut builder = Responses::builder();
        builder.reserve(self.rows.len());
        for (task, worker, set) in &self.rows {
            let label = if set.binary_search(&class).is_ok() {
                "1"
            } else {
                "0"
            };
            builder.push(task, worker, label)?;
        }
        builder.build()
    }

    /// Task names in canonical order (the task ids of every [`Self::binary`] problem).
    fn task_names(&self) -> Result<Vec<String>, DataError> {
        let tasks = Responses::from_triples(self.rows.iter().map(|(t, w, _)| (t, w, "0")))?;
        Ok(tasks.task_names().map(str::to_string).collect())
    }
}

/// The result of [`BinaryRelevance`].
#[derive(Debug, Clone, PartialEq)]
pub struct MultiLabelAggregation {
    /// Task names; index = task id (canonical order).
    pub tasks: Vec<String>,
    /// Class names in class order.
    pub classes: Vec<String>,
    /// Per class, the inner aggregator's result on that class's 0/1 problem (label ids there:
    /// `0` = "0", `1` = "1" when both occur).
    pub per_class: Vec<Aggregation>,
    /// Per task, the indices (into `classes`) of the classes aggregated as present, ascending.
    pub labels: Vec<Vec<usize>>,
}

impl MultiLabelAggregation {
    /// The class names of task `t`.
    pub fn class_names(&self, t: usize) -> Vec<&str> {
        self.labels[t]
            .iter()
            .map(|&c| self.classes[c].as_str())
            .collect()
    }
}

/// Binary relevance: one independent 0/1 aggregation per class with any single-label
/// aggregator (default [`MajorityVote`]); a task's classes are those whose aggregate is `1`.
///
/// As crowd-kit 1.4.2 `BinaryRelevance`, except: every task appears in the result even when
/// there are no classes at all (crowd-kit then returns an empty series), and each call uses a
/// fresh inner result (crowd-kit shares `aggregators_` across instances).
///
/// # Example
///
/// ```
/// use crowdagg::{BinaryRelevance, MultiLabelResponses};
///
/// let data = MultiLabelResponses::from_sets([
///     ("t1", "w1", vec!["x", "y"]), ("t1", "w2", vec!["x"]), ("t1", "w3", vec!["y", "z"]),
///     ("t2", "w1", vec![]), ("t2", "w2", vec!["z"]), ("t2", "w3", vec!["z", "x"]),
/// ])?;
/// let result = BinaryRelevance::default().aggregate(&data)?;
/// // By hand (majority vote per class): t1 has x twice, y twice, z once of three answers;
/// // t2 has z twice, x once. crowd-kit 1.4.2 `BinaryRelevance(MajorityVote())` agrees.
/// assert_eq!(result.class_names(0), ["x", "y"]);
/// assert_eq!(result.class_names(1), ["z"]);
/// # Ok::<(), crowdagg::Error>(())
/// ```
pub struct BinaryRelevance {
    inner: Box<dyn Aggregator>,
}

impl Default for BinaryRelevance {
    fn default() -> Self {
        Self::new(Box::new(MajorityVote::default()))
    }
}

impl BinaryRelevance {
    /// Binary relevance around `inner`, which aggregates each class's 0/1 problem.
    pub fn new(inner: Box<dyn Aggregator>) -> Self {
        Self { inner }
    }

    /// The inner aggregator.
    pub fn inner(&self) -> &dyn Aggregator {
        self.inner.as_ref()
    }

    /// Aggregates every class with the inner aggregator. Errors are the inner aggregator's,
    /// with a data error prefixed by the class it happened on.
    pub fn aggregate(&self, data: &MultiLabelResponses) -> Result<MultiLabelAggregation> {
        self.aggregate_with(data, FitInputs::default())
    }

    /// Aggregates with side inputs passed to every per-class fit (skills, observer). Gold
    /// labels are single-label and are not passed on.
    pub fn aggregate_with(
        &self,
        data: &MultiLabelResponses,
        inputs: FitInputs<'_>,
    ) -> Result<MultiLabelAggregation> {
        let inputs = FitInputs {
            gold: None,
            ..inputs
        };
        let tasks = data.task_names()?;
        let mut labels = vec![Vec::new(); tasks.len()];
        let mut per_class = Vec::with_capacity(data.classes.len());
        for class in 0..data.classes.len() {
            let binary = data.binary(class)?;
            let result = self
                .inner
                .aggregate_with(&binary, inputs)
                .map_err(|e| match e {
                    Error::Data(e) => Error::Data(DataError::InClass {
                        class: data.classes[class].clone(),
                        source: Box::new(e),
                    }),
                    other => other,
                })?;
            for (t, &l) in result.labels.iter().enumerate() {
                if binary.label_name(l as usize) == "1" {
                    labels[t].push(class);
                }
            }
            per_class.push(result);
        }
        Ok(MultiLabelAggregation {
            tasks,
            classes: data.classes.clone(),
            per_class,
            labels,
        })
    }
}
