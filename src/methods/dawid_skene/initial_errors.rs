//! Prior confusion matrices for the first M-step of Dawid-Skene (crowd-kit's `initial_error`).

use std::collections::BTreeMap;

use crate::error::DataError;
use crate::responses::Responses;

use super::em::{Em, normalise_columns};

/// How [`InitialErrors`] enter the first M-step (crowd-kit `initial_error_strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InitialErrorStrategy {
    /// The matrices replace the counts from the data. Every (worker, observed label) pair of
    /// the data must have a row. If every value is ≤ 1 the matrices are taken as
    /// probabilities, and each worker's column sums must be 1 (`np.allclose`: within
    /// 1e-8 + 1e-5).
    Assign,
    /// The matrices are historical counts added to the counts from the data; partial
    /// matrices are fine, rows for labels a worker did not give in the data are allowed (they
    /// then take part in that worker's normalisation).
    Addition,
}

/// Per-worker confusion matrices by name: `value(worker, observed label, true label)`, the
/// count (or probability, with [`InitialErrorStrategy::Assign`]) of the worker answering
/// `observed` when the truth is `true label`. A row is a (worker, observed label) pair with at
/// least one cell; cells not given in a row are 0.
///
/// Workers absent from the data are validated but otherwise ignored. Labels must be labels of
/// the data (crowd-kit would add a column for an unknown label, which it does not support).
///
/// ```
/// use crowdagg::InitialErrors;
/// let mut prior = InitialErrors::new();
/// for (observed, truth, count) in [("a", "a", 9.0), ("b", "a", 1.0), ("a", "b", 1.0), ("b", "b", 9.0)] {
///     prior.set("w1", observed, truth, count);
/// }
/// assert_eq!(prior.len(), 4);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InitialErrors {
    rows: BTreeMap<(String, String), BTreeMap<String, f64>>,
}

impl InitialErrors {
    /// No matrices yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one cell; returns the previous value if there was one.
    pub fn set(
        &mut self,
        worker: impl Into<String>,
        observed: impl Into<String>,
        truth: impl Into<String>,
        value: f64,
    ) -> Option<f64> {
        self.rows
            .entry((worker.into(), observed.into()))
            .or_default()
            .insert(truth.into(), value)
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        self.rows.values().map(BTreeMap::len).sum()
    }

    /// Whether no cell has been set.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Rows as label ids: `(worker name, worker id if in the data, observed id, K values)`.
    fn resolve(&self, data: &Responses) -> Result<Vec<Row<'_>>, DataError> {
        let k = data.n_labels();
        let label = |name: &str| {
            data.label_id(name).map(usize::from).ok_or_else(|| {
                DataError::InitialErrorUnknownLabel {
                    label: name.to_string(),
                }
            })
        };
        let mut out = Vec::with_capacity(self.rows.len());
        for ((worker, observed), cells) in &self.rows {
            let mut values = vec![0.0; k];
            for (truth, &v) in cells {
                if !v.is_finite() {
                    return Err(DataError::InitialErrorNotFinite {
                        worker: worker.clone(),
                        observed: observed.clone(),
                        truth: truth.clone(),
                        value: v,
                    });
                }
                values[label(truth)?] = v;
            }
            out.push(Row {
                name: worker,
                worker: data.worker_id(worker),
                observed: label(observed)?,
                values,
            });
        }
        Ok(out)
    }

    /// The first M-step with these matrices: counts from the current posterior, the strategy,
    /// then clip at 1e-10 and normalise each column over the worker's present rows (rows seen
    /// in the data or given here).
    pub(crate) fn first_m_step(
        &self,
        strategy: InitialErrorStrategy,
        data: &Responses,
        em: &mut Em<'_>,
    ) -> Result<(), DataError> {
        let k = data.n_labels();
        let rows = self.resolve(data)?;
        if strategy == InitialErrorStrategy::Assign {
            check_assign(&rows, data, em.observed(), k)?;
        }
        em.counts_into_errors();
        let mut present = em.observed().to_vec();
        if strategy == InitialErrorStrategy::Assign {
            em.errors.fill(0.0);
        }
        for row in &rows {
            let Some(w) = row.worker else { continue };
            let at = (w * k + row.observed) * k;
            for (e, v) in em.errors[at..at + k].iter_mut().zip(&row.values) {
                *e += v;
            }
            present[w * k + row.observed] = true;
        }
        for (matrix, present) in em
            .errors
            .chunks_exact_mut(k * k)
            .zip(present.chunks_exact(k))
        {
            normalise_columns(matrix, present, k);
        }
        em.refresh_log_table();
        Ok(())
    }
}

/// One (worker, observed label) row of the matrices, resolved against the data.
struct Row<'a> {
    name: &'a str,
    /// The worker's id, if the worker is in the data.
    worker: Option<usize>,
    observed: usize,
    /// By true label id; cells not given are 0.
    values: Vec<f64>,
}

/// crowd-kit's `assign` checks: every observed (worker, label) has a row; probability
/// matrices (all values ≤ 1) have column sums close to 1 for every worker given.
fn check_assign(
    rows: &[Row<'_>],
    data: &Responses,
    observed: &[bool],
    k: usize,
) -> Result<(), DataError> {
    let mut given = vec![false; observed.len()];
    for row in rows {
        if let Some(w) = row.worker {
            given[w * k + row.observed] = true;
        }
    }
    let missing: Vec<&str> = (0..data.n_workers())
        .filter(|&w| (0..k).any(|y| observed[w * k + y] && !given[w * k + y]))
        .map(|w| data.worker_name(w))
        .collect();
    if !missing.is_empty() {
        return Err(DataError::InitialErrorMissingRows {
            workers: missing.len(),
            example: missing[0].to_string(),
        });
    }
    if rows.iter().all(|row| row.values.iter().all(|&v| v <= 1.0)) {
        let mut sums: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for row in rows {
            let sum = sums.entry(row.name).or_insert_with(|| vec![0.0; k]);
            for (s, v) in sum.iter_mut().zip(&row.values) {
                *s += v;
            }
        }
        for (worker, sum) in sums {
            if let Some(bad) = sum.iter().find(|&&s| (s - 1.0).abs() > 1e-8 + 1e-5) {
                return Err(DataError::InitialErrorColumnSum {
                    worker: worker.to_string(),
                    sum: *bad,
                });
            }
        }
    }
    Ok(())
}
