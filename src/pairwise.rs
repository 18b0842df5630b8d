//! Pairwise comparisons: which of two items a worker preferred.
//!
//! A [`PairwiseResponses`] holds rows `(worker, left, right, label)` where `label`, the winner,
//! is `left` or `right`. Items and workers are interned to dense ids in the crate's canonical
//! order — the label order rule of [`crate::responses`]: numeric order when every id parses as
//! an integer, otherwise byte-wise order — which is crowd-kit's order (`np.unique` over the
//! left, right and label values; over the workers). Rows keep their input order, because
//! crowd-kit's `NoisyBradleyTerry` gradient depends on it (see
//! [`NoisyBradleyTerry`](crate::NoisyBradleyTerry)).
//!
//! ```
//! use crowdagg::PairwiseResponses;
//!
//! let data = PairwiseResponses::from_rows([("w1", "b", "a", "a"), ("w2", "10", "9", "9")])?;
//! assert_eq!(data.item_names().collect::<Vec<_>>(), ["10", "9", "a", "b"]);
//! assert!(PairwiseResponses::from_rows([("w1", "a", "a", "a")]).is_err()); // left == right
//! # Ok::<(), crowdagg::DataError>(())
//! ```

use crate::error::DataError;
use crate::responses::{Interner, canonical, intern};

/// One comparison, by ids: `worker` compared `left` (shown first) with `right`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comparison {
    /// Worker id (index into [`PairwiseResponses::worker_names`]).
    pub worker: u32,
    /// Item id of the left item.
    pub left: u32,
    /// Item id of the right item.
    pub right: u32,
    /// Whether the left item won.
    pub left_won: bool,
}

impl Comparison {
    /// The winner's item id.
    pub fn winner(&self) -> u32 {
        if self.left_won { self.left } else { self.right }
    }

    /// The loser's item id.
    pub fn loser(&self) -> u32 {
        if self.left_won { self.right } else { self.left }
    }
}

/// A table of pairwise comparisons with interned item and worker ids (see the module docs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PairwiseResponses {
    items: Interner,
    workers: Interner,
    comparisons: Vec<Comparison>,
}

impl PairwiseResponses {
    /// A builder to push rows into.
    pub fn builder() -> PairwiseBuilder {
        PairwiseBuilder::default()
    }

    /// Builds from `(worker, left, right, label)` rows. An empty input gives an empty table
    /// (as crowd-kit, which returns empty scores for it).
    ///
    /// # Errors
    /// [`DataError::EmptyField`], [`DataError::SelfComparison`] or [`DataError::WinnerNotInPair`]
    /// naming the 1-based row; [`DataError::TooManyIds`] past 2³² items or workers.
    pub fn from_rows<I, W, A, B, L>(rows: I) -> Result<Self, DataError>
    where
        I: IntoIterator<Item = (W, A, B, L)>,
        W: AsRef<str>,
        A: AsRef<str>,
        B: AsRef<str>,
        L: AsRef<str>,
    {
        let mut builder = Self::builder();
        for (w, a, b, l) in rows {
            builder.push(w.as_ref(), a.as_ref(), b.as_ref(), l.as_ref())?;
        }
        builder.build()
    }

    /// Number of distinct items.
    pub fn n_items(&self) -> usize {
        self.items.len()
    }

    /// Number of distinct workers.
    pub fn n_workers(&self) -> usize {
        self.workers.len()
    }

    /// Number of comparisons (rows).
    pub fn len(&self) -> usize {
        self.comparisons.len()
    }

    /// Whether there are no comparisons.
    pub fn is_empty(&self) -> bool {
        self.comparisons.is_empty()
    }

    /// The comparisons, in input order.
    pub fn comparisons(&self) -> &[Comparison] {
        &self.comparisons
    }

    /// The name of item `item`.
    pub fn item_name(&self, item: usize) -> &str {
        &self.items[item]
    }

    /// The name of worker `worker`.
    pub fn worker_name(&self, worker: usize) -> &str {
        &self.workers[worker]
    }

    /// Item names in id (canonical) order.
    pub fn item_names(&self) -> impl ExactSizeIterator<Item = &str> {
        self.items.iter().map(|s| &**s)
    }

    /// Worker names in id (canonical) order.
    pub fn worker_names(&self) -> impl ExactSizeIterator<Item = &str> {
        self.workers.iter().map(|s| &**s)
    }

    /// The id of the item called `name`.
    pub fn item_id(&self, name: &str) -> Option<usize> {
        self.items.get_index_of(name)
    }

    /// The id of the worker called `name`.
    pub fn worker_id(&self, name: &str) -> Option<usize> {
        self.workers.get_index_of(name)
    }
}

/// Collects comparisons by name; [`PairwiseBuilder::build`] renumbers ids canonically.
#[derive(Debug, Default)]
pub struct PairwiseBuilder {
    items: Interner,
    workers: Interner,
    comparisons: Vec<Comparison>,
}

impl PairwiseBuilder {
    /// Adds one comparison: `worker` preferred `label`, which must be `left` or `right`.
    ///
    /// # Errors
    /// [`DataError::EmptyField`] for an empty field, [`DataError::SelfComparison`] when
    /// `left == right`, [`DataError::WinnerNotInPair`] when `label` is neither side (the row is
    /// numbered from 1 in push order), [`DataError::TooManyIds`] past 2³² ids.
    pub fn push(
        &mut self,
        worker: &str,
        left: &str,
        right: &str,
        label: &str,
    ) -> Result<(), DataError> {
        let record = self.comparisons.len() as u64 + 1;
        for (field, value) in [
            ("worker", worker),
            ("left", left),
            ("right", right),
            ("label", label),
        ] {
            if value.is_empty() {
                return Err(DataError::EmptyField { field, record });
            }
        }
        if left == right {
            return Err(DataError::SelfComparison {
                item: left.to_string(),
                record,
            });
        }
        let left_won = label == left;
        if !left_won && label != right {
            return Err(DataError::WinnerNotInPair {
                label: label.to_string(),
                left: left.to_string(),
                right: right.to_string(),
                record,
            });
        }
        // Room for the ids this row may add (one worker, two items) below 2³².
        for (set, what, new) in [(&self.items, "items", 2), (&self.workers, "workers", 1)] {
            if set.len() as u64 + new > u64::from(u32::MAX) + 1 {
                return Err(DataError::TooManyIds {
                    what,
                    max: u64::from(u32::MAX) + 1,
                });
            }
        }
        let worker = intern(&mut self.workers, worker);
        let left = intern(&mut self.items, left);
        let right = intern(&mut self.items, right);
        self.comparisons.push(Comparison {
            worker,
            left,
            right,
            left_won,
        });
        Ok(())
    }

    /// Number of comparisons pushed so far.
    pub fn len(&self) -> usize {
        self.comparisons.len()
    }

    /// Whether nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.comparisons.is_empty()
    }

    /// Renumbers items and workers canonically.
    pub fn build(self) -> Result<PairwiseResponses, DataError> {
        let (items, item_rank, _) = canonical(self.items);
        let (workers, worker_rank, _) = canonical(self.workers);
        let comparisons = self
            .comparisons
            .into_iter()
            .map(|c| Comparison {
                worker: worker_rank[c.worker as usize],
                left: item_rank[c.left as usize],
                right: item_rank[c.right as usize],
                left_won: c.left_won,
            })
            .collect();
        Ok(PairwiseResponses {
            items,
            workers,
            comparisons,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ids_and_wins() {
        let data =
            PairwiseResponses::from_rows([("w2", "b", "a", "b"), ("w1", "a", "c", "c")]).unwrap();
        assert_eq!(data.item_names().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(data.worker_names().collect::<Vec<_>>(), ["w1", "w2"]);
        let c = data.comparisons()[0];
        assert_eq!((c.worker, c.left, c.right, c.left_won), (1, 1, 0, true));
        assert_eq!((c.winner(), c.loser()), (1, 0));
    }

    #[test]
    fn bad_rows_are_typed_errors() {
        let err = PairwiseResponses::from_rows([("w", "a", "b", "a"), ("w", "x", "x", "x")]);
        assert_eq!(
            err.unwrap_err(),
            DataError::SelfComparison {
                item: "x".into(),
                record: 2
            }
        );
        let err = PairwiseResponses::from_rows([("w", "a", "b", "c")]).unwrap_err();
        assert!(matches!(err, DataError::WinnerNotInPair { record: 1, .. }));
        let err = PairwiseResponses::from_rows([("w", "a", "", "a")]).unwrap_err();
        assert_eq!(
            err,
            DataError::EmptyField {
                field: "right",
                record: 1
            }
        );
    }
}
