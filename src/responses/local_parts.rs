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
    /// [`Responses::from_local_parts`]. The parts are placed in parallel lanes, each dropping
    /// its rows when placed.
    fn from_local_parts(n_tasks: usize, parts: Vec<LocalPart<'_>>) -> Option<Self> {
        let rows: u64 = parts
            .iter()
            .flat_map(|part| part.task_rows)
            .map(|&count| u64::from(count))
            .sum();
        // A lane holds one position per task: as many lanes as parts (all placed at once)
        // unless their tables would take more room than the rows (many threads, many tasks);
        // then fewer lanes, each placing its parts one after another.
        let lanes = ((2 * rows + (1 << 20)) / (n_tasks as u64).max(1)).clamp(1, parts.len() as u64);
        Self::place_parts(n_tasks, parts, lanes as usize)
    }

    /// [`Csr::from_local_parts`] with the parts cut into `lanes` lanes (the result does not
    /// depend on it).
    fn place_parts(n_tasks: usize, mut parts: Vec<LocalPart<'_>>, lanes: usize) -> Option<Self> {
        let per_lane = parts.len().div_ceil(lanes.max(1)).max(1);
        // Each lane's rows per canonical task (checked: counts that do not fit are a reader's
        // bug, and a wrapped count would break the tiling the writes rely on).
        let count = |parts: &[LocalPart<'_>]| {
            let mut counts = vec![0u32; n_tasks];
            for part in parts {
                for (&t, &count) in part.maps[0].iter().zip(part.task_rows) {
                    let slot = counts.get_mut(t as usize)?;
                    *slot = slot.checked_add(count)?;
                }
            }
            Some(counts)
        };
        let mut lanes: Vec<Vec<u32>> = parts
            .par_chunks(per_lane)
            .map(count)
            .collect::<Option<_>>()?;
        let (offsets, n) = positions(n_tasks, &mut lanes)?;
        let mut ids: Vec<u32> = Vec::with_capacity(n);
        let mut labels: Vec<Label> = Vec::with_capacity(n);
        let out = Scatter {
            ids: ids.as_mut_ptr(),
            labels: labels.as_mut_ptr(),
            len: n,
        };
        let complete = parts
            .par_chunks_mut(per_lane)
            .zip(lanes.par_iter_mut())
            .map(|(lane, next)| lane.iter_mut().all(|part| place(part, next, &out)))
            .collect::<Vec<bool>>()
            .into_iter()
            .all(|done| done);
        if !complete {
            return None;
        }
        // SAFETY: every range was filled to its end (`place` returned true for every part),
        // and the ranges of all parts and local ids tile `0..n` (each task's ranges are
        // consecutive pieces of its span, the counts being the ones summed into the offsets,
        // without overflow): every position below `n` was written.
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

/// The offsets of the `n_tasks` tasks, and each lane's counts turned into
/// its first position in each task (the lanes one after another within a task), with the
/// number of rows; `None` from 2³² − 1 rows. In parallel over ranges of tasks: each range
/// sums its rows, a prefix sum gives each range its first position, then each range fills
/// its offsets and positions.
fn positions(n_tasks: usize, lanes: &mut [Vec<u32>]) -> Option<(Vec<u32>, usize)> {
    let range_len = n_tasks
        .div_ceil(4 * rayon::current_num_threads().max(1))
        .max(1 << 14);
    let sums: Vec<u64> = (0..n_tasks)
        .into_par_iter()
        .step_by(range_len)
        .map(|first| {
            let tasks = first..(first + range_len).min(n_tasks);
            lanes
                .iter()
                .map(|counts| {
                    counts[tasks.clone()]
                        .iter()
                        .map(|&c| u64::from(c))
                        .sum::<u64>()
                })
                .sum()
        })
        .collect();
    let mut firsts = Vec::with_capacity(sums.len());
    let mut end = 0u64;
    for sum in sums {
        firsts.push(end);
        end += sum;
    }
    if end >= u64::from(u32::MAX) {
        return None;
    }
    let mut offsets = vec![0u32; n_tasks + 1];
    // Each range's offsets (of its tasks' ends) and its slice of every lane's counts.
    let mut pieces = Vec::with_capacity(firsts.len());
    let mut rest_offsets = &mut offsets[1..];
    let mut rest_lanes: Vec<&mut [u32]> = lanes.iter_mut().map(|l| &mut l[..]).collect();
    for &first in &firsts {
        let len = range_len.min(rest_offsets.len());
        let (head, tail) = std::mem::take(&mut rest_offsets).split_at_mut(len);
        rest_offsets = tail;
        let mut heads = Vec::with_capacity(rest_lanes.len());
        for lane in &mut rest_lanes {
            let (head, tail) = std::mem::take(lane).split_at_mut(len);
            heads.push(head);
            *lane = tail;
        }
        pieces.push((first, head, heads));
    }
    pieces
        .into_par_iter()
        .for_each(|(mut end, offsets, mut lanes)| {
            for (t, offset) in offsets.iter_mut().enumerate() {
                for counts in &mut lanes {
                    let count = counts[t];
                    counts[t] = end as u32;
                    end += u64::from(count);
                }
                *offset = end as u32;
            }
        });
    Some((offsets, end as usize))
}

/// Writes `part`'s rows at their places, `next` being the lane's next position in each task
/// (advanced), then drops them; whether every local task id had exactly its row count.
fn place(part: &mut LocalPart<'_>, next: &mut [u32], out: &Scatter) -> bool {
    let [task_map, worker_map, label_map] = part.maps;
    // Each local task id's range: the next positions of the lane in its canonical task.
    let mut ranges: Vec<(u32, u32)> = Vec::with_capacity(part.task_rows.len());
    for (&t, &count) in task_map.iter().zip(part.task_rows) {
        let Some(slot) = next.get_mut(t as usize) else {
            return false;
        };
        let Some(end) = slot.checked_add(count) else {
            return false;
        };
        ranges.push((*slot, end));
        *slot = end;
    }
    for [t, w, l] in std::mem::take(&mut part.rows) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Each task's (worker, label) entries, sorted (the placement leaves a task's rows in
    /// lane order).
    fn sorted_rows(csr: &Csr) -> Vec<Vec<(u32, Label)>> {
        (0..csr.offsets.len() - 1)
            .map(|t| {
                let (ids, labels) = csr.row(t);
                let mut row: Vec<(u32, Label)> =
                    ids.iter().copied().zip(labels.iter().copied()).collect();
                row.sort_unstable();
                row
            })
            .collect()
    }

    /// Each part's rows in its local ids.
    type PartRows = [Vec<[u32; 3]>; 3];
    /// Each part's row count per local task id.
    type TaskRows = [&'static [u32]; 3];

    /// Three parts with their own local ids for 4 tasks, 3 workers, 2 labels, and the rows
    /// they stand for in canonical ids (by hand).
    fn three_parts() -> (Vec<[u32; 3]>, PartRows) {
        let rows = vec![
            // part 0: local tasks 0 → 2, 1 → 0; workers 0 → 1, 1 → 0; labels 0 → 1
            [0, 0, 0],
            [1, 1, 0],
            [0, 1, 0],
        ];
        let rows1 = vec![
            // part 1: local task 0 → 2; worker 0 → 2; labels 0 → 0
            [0, 0, 0],
        ];
        let rows2 = vec![
            // part 2: local tasks 0 → 3, 1 → 0; worker 0 → 2, 1 → 1; labels 0 → 1, 1 → 0
            [1, 0, 1],
            [0, 1, 0],
            [1, 1, 0],
        ];
        let canonical = vec![
            [2, 1, 1],
            [0, 0, 1],
            [2, 0, 1],
            [2, 2, 0],
            [0, 2, 0],
            [3, 1, 1],
            [0, 1, 1],
        ];
        (canonical, [rows, rows1, rows2])
    }

    const MAPS: [[&[u32]; 3]; 3] = [
        [&[2, 0], &[1, 0], &[1]],
        [&[2], &[2], &[0]],
        [&[3, 0], &[2, 1], &[1, 0]],
    ];
    const TASK_ROWS: TaskRows = [&[2, 1], &[1], &[1, 2]];

    fn parts(rows: PartRows, task_rows: TaskRows) -> Vec<LocalPart<'static>> {
        rows.into_iter()
            .zip(MAPS)
            .zip(task_rows)
            .map(|((rows, maps), task_rows)| LocalPart {
                maps,
                task_rows,
                rows,
            })
            .collect()
    }

    #[test]
    fn parts_are_placed_as_the_canonical_rows_in_any_lane_layout() {
        let (canonical, rows) = three_parts();
        // Each task's entries, straight from the canonical rows.
        let want: Vec<Vec<(u32, Label)>> = (0..4)
            .map(|t| {
                let mut row: Vec<(u32, Label)> = canonical
                    .iter()
                    .filter(|r| r[0] == t)
                    .map(|r| (r[1], r[2] as Label))
                    .collect();
                row.sort_unstable();
                row
            })
            .collect();
        let offsets = [0, 3, 3, 6, 7];
        for lanes in 1..=4 {
            let got = Csr::place_parts(4, parts(rows.clone(), TASK_ROWS), lanes).unwrap();
            assert_eq!(got.offsets, offsets, "{lanes} lanes");
            assert_eq!(sorted_rows(&got), want, "{lanes} lanes");
        }
        let got = Csr::from_local_parts(4, parts(rows, TASK_ROWS)).unwrap();
        assert_eq!(sorted_rows(&got), want);
    }

    #[test]
    fn positions_are_the_running_sum_over_tasks_and_lanes() {
        // More tasks than one range of the parallel sum, three lanes, empty tasks.
        let n_tasks = 70_000;
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut lanes: Vec<Vec<u32>> = (0..3)
            .map(|_| {
                (0..n_tasks)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        (state % 4) as u32
                    })
                    .collect()
            })
            .collect();
        // The sequential loop, by hand.
        let mut expected_lanes = lanes.clone();
        let mut expected_offsets = vec![0u32];
        let mut end = 0u32;
        for t in 0..n_tasks {
            for counts in &mut expected_lanes {
                let count = counts[t];
                counts[t] = end;
                end += count;
            }
            expected_offsets.push(end);
        }
        let (offsets, n) = positions(n_tasks, &mut lanes).unwrap();
        assert_eq!(n, end as usize);
        assert_eq!(offsets, expected_offsets);
        assert_eq!(lanes, expected_lanes);
        // No task, and rows that would not fit a u32 position.
        assert_eq!(positions(0, &mut []), Some((vec![0], 0)));
        let mut full = vec![vec![u32::MAX / 2; 2], vec![1, 1]];
        assert_eq!(positions(2, &mut full), None);
        // At the edge: u32::MAX - 1 rows fit (every position is below u32::MAX), u32::MAX not.
        let mut edge = vec![vec![u32::MAX / 2, u32::MAX / 2]];
        assert_eq!(
            positions(2, &mut edge).map(|p| p.1),
            Some(u32::MAX as usize - 1)
        );
        let mut over = vec![vec![u32::MAX / 2, u32::MAX / 2 + 1]];
        assert_eq!(positions(2, &mut over), None);
    }

    #[test]
    fn parts_that_disagree_with_themselves_are_refused() {
        let (_, rows) = three_parts();
        // A row of a local task id the part has no count for; a worker without a mapping.
        let mut extra = rows.clone();
        extra[1].push([1, 0, 0]);
        let mut bad_worker = rows.clone();
        bad_worker[1][0] = [0, 5, 0];
        let cases: [(&str, PartRows, TaskRows, usize); 6] = [
            ("count above", rows.clone(), [&[3, 1], &[1], &[1, 2]], 4),
            ("count below", rows.clone(), [&[1, 1], &[1], &[1, 2]], 4),
            ("unmapped task", extra, TASK_ROWS, 4),
            ("unmapped worker", bad_worker, TASK_ROWS, 4),
            ("task past the end", rows.clone(), TASK_ROWS, 3),
            // 4 and 2³² − 3 rows in one task: a wrapped sum would be 1.
            (
                "wrapping counts",
                rows,
                [&[u32::MAX - 2, 1], &[4], &[1, 2]],
                4,
            ),
        ];
        for (what, rows, task_rows, n_tasks) in cases {
            for lanes in [1, 3] {
                let placed = Csr::place_parts(n_tasks, parts(rows.clone(), task_rows), lanes);
                assert!(placed.is_none(), "{what}, {lanes} lanes");
            }
        }
    }
}
