//! The task index built straight from the parts of a parallel read, in their local ids.
//!
//! A parallel reader ends with parts (one per thread), each holding rows in its own local ids
//! and the number of rows of each local task id. Once the names are merged (local id →
//! canonical id), each task's rows have a known place: task `T` spans
//! `offsets[T]..offsets[T + 1]`, and within it each local id of `T` gets a range of its row
//! count. Every part then writes its rows into its own ranges, all parts at once, mapping
//! workers and labels to canonical ids on the way. That replaces rewriting every row to
//! canonical ids and a counting sort that read all rows twice per range of tasks, and it
//! writes each row once. The order within a task depends on the part layout, so the rows are
//! then sorted by (worker, label) as every constructor sorts them: the result does not.

use rayon::prelude::*;

use super::{Csr, Label, Responses};
use crate::error::DataError;
use crate::names::Names;

/// One part of a parallel read, in its own local ids.
pub(crate) struct LocalPart<'a> {
    /// Local id → canonical id, for tasks, workers and labels.
    pub(crate) maps: [&'a [u32]; 3],
    /// The number of rows of each local task id.
    pub(crate) task_rows: &'a [u32],
    /// The part's `[task, worker, label]` rows in local ids, in any order (dropped once
    /// placed).
    pub(crate) rows: Vec<[u32; 3]>,
}

impl Responses {
    /// Builds from the parts of a parallel read (duplicates kept); `Ok(None)` if the parts do
    /// not agree with themselves (a row of a local id without a mapping, row counts that are
    /// not the rows' — a reader's bug: its caller then takes the general path).
    pub(crate) fn from_local_parts(
        [tasks, workers, labels]: [Names; 3],
        parts: Vec<LocalPart<'_>>,
    ) -> Result<Option<Responses>, DataError> {
        if labels.len() > Label::MAX as usize + 1 {
            return Err(DataError::TooManyLabels(labels.len()));
        }
        let labels_numeric = labels.numeric();
        let Some(by_task) = Csr::from_local_parts(tasks.len(), parts) else {
            return Ok(None);
        };
        Ok(Some(Responses::from_task_rows(
            tasks,
            workers,
            labels,
            labels_numeric,
            by_task,
        )))
    }
}

impl Csr {
    /// The task index of `parts` (rows unsorted within a task); `None` as in
    /// [`Responses::from_local_parts`]. The parts are placed in parallel, each dropping its
    /// rows when placed.
    fn from_local_parts(n_tasks: usize, parts: Vec<LocalPart<'_>>) -> Option<Self> {
        // Each part's rows per canonical task, in parallel; or, when a table per part would
        // take more room than the rows (many threads, many tasks), one table for all parts,
        // placed one after another.
        let rows: u64 = parts
            .iter()
            .flat_map(|part| part.task_rows)
            .map(|&count| u64::from(count))
            .sum();
        let parallel = (parts.len() as u64).saturating_mul(n_tasks as u64) <= 2 * rows + (1 << 20);
        let count = |parts: &[LocalPart<'_>]| {
            let mut counts = vec![0u32; n_tasks];
            for part in parts {
                for (&t, &count) in part.maps[0].iter().zip(part.task_rows) {
                    *counts.get_mut(t as usize)? += count;
                }
            }
            Some(counts)
        };
        let mut lanes: Vec<Vec<u32>> = if parallel {
            parts
                .par_iter()
                .map(|part| count(std::slice::from_ref(part)))
                .collect::<Option<_>>()?
        } else {
            vec![count(&parts)?]
        };
        // The offsets, and each lane's counts turned into its first position in each task
        // (the lanes one after another within a task).
        let mut offsets = Vec::with_capacity(n_tasks + 1);
        offsets.push(0u32);
        let mut end = 0u64;
        for t in 0..n_tasks {
            for counts in &mut lanes {
                let count = counts[t];
                counts[t] = end as u32;
                end += u64::from(count);
            }
            if end >= u64::from(u32::MAX) {
                return None;
            }
            offsets.push(end as u32);
        }
        let n = end as usize;
        let mut ids: Vec<u32> = Vec::with_capacity(n);
        let mut labels: Vec<Label> = Vec::with_capacity(n);
        let out = Scatter {
            ids: ids.as_mut_ptr(),
            labels: labels.as_mut_ptr(),
            len: n,
        };
        let complete = if parallel {
            parts
                .into_par_iter()
                .zip(lanes.par_iter_mut())
                .map(|(part, next)| place(part, next, &out))
                .collect::<Vec<bool>>()
                .into_iter()
                .all(|done| done)
        } else {
            parts
                .into_iter()
                .all(|part| place(part, &mut lanes[0], &out))
        };
        if !complete {
            return None;
        }
        // SAFETY: every range was filled to its end (`place` returned true for every part),
        // and the ranges of all parts and local ids tile `0..n` (each task's ranges are
        // consecutive pieces of its span, the counts being the ones summed into the offsets):
        // every position below `n` was written.
        unsafe {
            ids.set_len(n);
            labels.set_len(n);
        }
        Some(Self {
            offsets,
            ids,
            labels,
        })
    }
}

/// Writes `part`'s rows at their places, `next` being the part's next position in each task
/// (advanced), then drops them; whether every local task id had exactly its row count.
fn place(part: LocalPart<'_>, next: &mut [u32], out: &Scatter) -> bool {
    let [task_map, worker_map, label_map] = part.maps;
    // Each local task id's range: the next positions of the part in its canonical task.
    let mut ranges: Vec<(u32, u32)> = Vec::with_capacity(part.task_rows.len());
    for (&t, &count) in task_map.iter().zip(part.task_rows) {
        let Some(slot) = next.get_mut(t as usize) else {
            return false;
        };
        ranges.push((*slot, *slot + count));
        *slot += count;
    }
    for [t, w, l] in part.rows {
        let Some(range) = ranges.get_mut(t as usize) else {
            return false;
        };
        let (Some(&w), Some(&l)) = (worker_map.get(w as usize), label_map.get(l as usize)) else {
            return false;
        };
        if range.0 >= range.1 {
            return false;
        }
        out.write(range.0 as usize, w, l as Label);
        range.0 += 1;
    }
    ranges.iter().all(|&(next, end)| next == end)
}

/// The task index's columns, written at disjoint positions from several threads.
struct Scatter {
    ids: *mut u32,
    labels: *mut Label,
    len: usize,
}

// SAFETY: the pointers are only written through `write`, at positions that the threads own
// exclusively (see `write`); the vectors they point into outlive every use.
unsafe impl Sync for Scatter {}

impl Scatter {
    /// Writes position `pos`. Each position belongs to one range of one local id of one part,
    /// and only that part's thread writes it (`place` checks that it stays in its ranges).
    #[inline]
    fn write(&self, pos: usize, id: u32, label: Label) {
        assert!(pos < self.len, "a position within the index");
        // SAFETY: `pos < len`, the capacity of both vectors; no other thread writes `pos`
        // (the ranges are disjoint and each is written by its part's thread only), and
        // nothing reads the vectors before all writes are done.
        unsafe {
            self.ids.add(pos).write(id);
            self.labels.add(pos).write(label);
        }
    }
}
