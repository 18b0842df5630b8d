//! The task index built straight from the parts of a parallel read, in their local ids.
//!
//! A parallel reader ends with parts (one per thread), each holding rows in its own local ids
//! and the number of rows of each local task id. The merge of the task names (local id →
//! canonical id) visits each task's local ids together in canonical order and sums their row
//! counts on the way ([`crate::names::merge_rows`]): task `T` spans `offsets[T]..offsets[T + 1]`,
//! and within it each local id of `T` has a range of its row count. Every part then writes
//! its rows into its own ranges, all parts at once, mapping workers and labels to canonical
//! ids on the way. That replaces rewriting every row to canonical ids and a counting sort
//! that read all rows twice per range of tasks, and it writes each row once. Each task's rows
//! end up sorted by (worker, label), as every constructor sorts them, so the result does not
//! depend on the part layout: where each task is one run of rows of one local id (a table
//! grouped by task, the usual export), each run is sorted as it is placed, in registers;
//! otherwise the order within a task depends on the layout, and every row is sorted after.

use rayon::prelude::*;

use super::majority::AgreementCounts;
use super::{Csr, Label, Responses, SMALL_ROW, entry_key, entry_of, sort_small_keys};
use crate::error::DataError;
use crate::names::{Lane, Names, RowPlaces};
use crate::numeric::prefetch::prefetch_ptr;

/// One part of a parallel read, in its own local ids.
pub(crate) struct LocalPart<'a> {
    /// Local id → canonical id, for workers and labels.
    pub(crate) maps: [&'a [u32]; 2],
    /// The part's `[task, worker, label]` rows in local ids, in any order (dropped once
    /// placed).
    pub(crate) rows: Vec<[u32; 3]>,
}

impl Responses {
    /// Builds from the parts of a parallel read (duplicates kept), `places` being where the
    /// rows of each part's local task ids go (the parts in the order of its lanes); `Ok(None)`
    /// if the parts do not agree with themselves (a row of a local id without a mapping, row
    /// counts that are not the rows' — a reader's bug: its caller then takes the general
    /// path).
    pub(crate) fn from_local_parts(
        [tasks, workers, labels]: [Names; 3],
        places: RowPlaces,
        parts: Vec<LocalPart<'_>>,
    ) -> Result<Option<Responses>, DataError> {
        if labels.len() > Label::MAX as usize + 1 {
            return Err(DataError::TooManyLabels(labels.len()));
        }
        let labels_numeric = labels.numeric();
        let shape = (workers.len(), labels.len());
        let Some((by_task, sorted)) = Csr::from_local_parts(places, parts, shape) else {
            return Ok(None);
        };
        if by_task.offsets.len() != tasks.len() + 1 {
            return Ok(None);
        }
        Ok(Some(match sorted {
            Some(sorted) => Responses {
                majority_agreement: sorted.majority_agreement,
                ..Responses::from_sorted_task_rows(
                    tasks,
                    workers,
                    labels,
                    labels_numeric,
                    by_task,
                    sorted.duplicates,
                )
            },
            None => Responses::from_task_rows(tasks, workers, labels, labels_numeric, by_task),
        }))
    }
}

/// What a placement that sorted every task's row counted on the way.
#[derive(Debug)]
struct Sorted {
    /// As [`Csr::sort_rows`] counts them.
    duplicates: u64,
    /// Per worker, (graded, correct) against each task's majority label, when asked for and
    /// within [`AgreementCounts`]'s reach (see `majority.rs`).
    majority_agreement: Option<Vec<(u64, u64)>>,
}

impl Csr {
    /// The task index of `parts` placed at `places`; `None` as in
    /// [`Responses::from_local_parts`]. The parts are placed in parallel, each dropping its
    /// rows when placed. With what the placement counted when every task's rows came sorted
    /// out of it (each task one local id, its rows one run: [`place`]); else `None`, and the
    /// rows are in no particular order within a task. `(n_workers, n_labels)`: how many there
    /// are, to count each worker's agreement with the majority on the way.
    fn from_local_parts(
        mut places: RowPlaces,
        mut parts: Vec<LocalPart<'_>>,
        (n_workers, n_labels): (usize, usize),
    ) -> Option<(Self, Option<Sorted>)> {
        let one_local_id_per_task = places.one_local_id_per_name();
        let n = places.rows();
        // A table per part, as the pass over the task index keeps per range of tasks: not
        // where the tables would outgrow the responses (many workers, few answers each).
        let counted = parts.len().saturating_mul(n_workers) <= n;
        let mut ids: Vec<u32> = Vec::with_capacity(n);
        let mut labels: Vec<Label> = Vec::with_capacity(n);
        let out = Scatter {
            ids: ids.as_mut_ptr(),
            labels: labels.as_mut_ptr(),
            len: n,
        };
        let lanes = places.lanes();
        if lanes.len() != parts.len() {
            return None;
        }
        let placed = parts
            .par_iter_mut()
            .zip(lanes)
            .map(|(part, lane)| {
                let mut counts = match counted {
                    true => AgreementCounts::new(n_workers, n_labels),
                    false => None,
                };
                place(part, lane, &out, &mut counts).map(|sorted| (sorted, counts))
            })
            .collect::<Option<Vec<(Option<u64>, Option<AgreementCounts>)>>>()?;
        // Sorted: every part's local ids each one sorted run, and no task of two local ids
        // (whose runs, each sorted, would not make a sorted row). Then each run was a whole
        // task, and the agreement counted per run is the tasks'.
        let (sorted, counts): (Vec<Option<u64>>, Vec<Option<AgreementCounts>>) =
            placed.into_iter().unzip();
        let sorted = sorted
            .into_iter()
            .try_fold(0u64, |sum, part| Some(sum + part?))
            .filter(|_| one_local_id_per_task)
            .map(|duplicates| Sorted {
                duplicates,
                majority_agreement: counts
                    .into_iter()
                    .collect::<Option<Vec<_>>>()
                    .map(|counts| AgreementCounts::sum(counts, n_workers)),
            });
        // SAFETY: every lane handed out all its positions, each written (`place` returned
        // `Some` for every part), and the ranges of all parts' local ids tile `0..n` (see `RowPlaces`): every
        // position below `n` was written.
        unsafe {
            ids.set_len(n);
            labels.set_len(n);
        }
        let csr = Self {
            offsets: places.into_offsets(),
            ids,
            labels,
        };
        Some((csr, sorted))
    }
}

/// Writes `part`'s rows at the positions `lane` hands out, then drops them; `None` unless
/// every local task id had exactly its row count.
///
/// A local id whose rows are one run (the usual layout: a task's answers together, each run
/// its own local id, see `io::plain`) has its range sorted by (worker, label) as it is
/// written (in registers, up to [`SMALL_ROW`] rows; longer runs right after): with each task one local id, that is the task's row
/// sorted, and the sort over the whole index afterwards is not needed (at 10⁶ rows it took
/// 2.4 ms of 45). Returns the part's duplicates (as [`Csr::sort_rows`] counts them) if all
/// its local ids were such runs, else `Some(None)`. Each such run is also counted into
/// `agreement` (a whole task when the caller finds every task one local id); the first run
/// that is not one sets it to `None`.
fn place(
    part: &mut LocalPart<'_>,
    mut lane: Lane<'_>,
    out: &Scatter,
    agreement: &mut Option<AgreementCounts>,
) -> Option<Option<u64>> {
    let [worker_map, label_map] = part.maps;
    let rows = std::mem::take(&mut part.rows);
    // The tasks' places are scattered over the index (a cache miss per task): the place of
    // the row some way ahead is asked for now, once per run of rows of one local id. At 10⁶
    // rows: 0.5–0.9 ms less of the placement's 10.7–10.9 ms of CPU.
    let prefetch = |lane: &Lane<'_>, i: usize| {
        if let Some(&[[before, _, _], [ahead, _, _]]) =
            rows.get(i + PLACE_AHEAD - 1..=i + PLACE_AHEAD)
            && ahead != before
            && let Some(pos) = lane.peek(ahead)
        {
            out.prefetch(pos as usize);
        }
    };
    let map = |&[_, w, l]: &[u32; 3]| -> Option<(u32, Label)> {
        Some((
            *worker_map.get(w as usize)?,
            *label_map.get(l as usize)? as Label,
        ))
    };
    let mut sorted = Some(0u64);
    let mut keyed = Vec::new();
    let mut i = 0;
    while let Some(&[t, _, _]) = rows.get(i) {
        let run = rows[i..].iter().take_while(|row| row[0] == t).count();
        let run_rows = &rows[i..i + run];
        // All the positions of local id `t` at once if this run is all its rows (and the
        // part's runs so far were), with the part's duplicates so far; else one at a time.
        let whole = sorted.and_then(|duplicates| Some((lane.take_all(t, run as u32)?, duplicates)));
        match whole {
            Some((first, duplicates)) if run <= SMALL_ROW => {
                // Sorted in registers, then written in order.
                let mut keys = [u64::MAX; SMALL_ROW];
                for (j, (key, row)) in keys.iter_mut().zip(run_rows).enumerate() {
                    prefetch(&lane, i + j);
                    let (w, l) = map(row)?;
                    *key = entry_key(w, l);
                }
                sort_small_keys(&mut keys, run);
                if let Some(counts) = agreement {
                    counts.count_task(keys[..run].iter().copied(), run);
                }
                let mut previous = None;
                let mut repeats = 0;
                for (pos, &key) in (first as usize..).zip(&keys[..run]) {
                    let (w, l) = entry_of(key);
                    repeats += u64::from(previous == Some(w));
                    previous = Some(w);
                    out.write(pos, w, l);
                }
                sorted = Some(duplicates + repeats);
            }
            Some((first, duplicates)) => {
                for (j, (pos, row)) in (first as usize..).zip(run_rows).enumerate() {
                    prefetch(&lane, i + j);
                    let (w, l) = map(row)?;
                    out.write(pos, w, l);
                }
                // SAFETY: `first..first + run` are all the positions of local id `t`, which
                // the lane handed out to this part alone (`take_all`), each written just above.
                let repeats = unsafe { out.sort_range(first as usize, run, &mut keyed) };
                if let Some(counts) = agreement {
                    // SAFETY: the same positions, this part's alone, all written and sorted.
                    let (ids, labels) = unsafe { out.range(first as usize, run) };
                    let keys = ids.iter().zip(labels).map(|(&w, &l)| entry_key(w, l));
                    counts.count_task(keys, run);
                }
                sorted = Some(duplicates + repeats);
            }
            None => {
                sorted = None;
                *agreement = None;
                for (j, row) in run_rows.iter().enumerate() {
                    prefetch(&lane, i + j);
                    let pos = lane.take(t)?;
                    let (w, l) = map(row)?;
                    out.write(pos as usize, w, l);
                }
            }
        }
        i += run;
    }
    lane.is_done().then_some(sorted)
}

/// How many rows ahead [`place`] prefetches the place of a row.
const PLACE_AHEAD: usize = 16;

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
    /// Starts loading the cache lines of position `pos` (no-op past the end).
    #[inline]
    fn prefetch(&self, pos: usize) {
        if pos < self.len {
            prefetch_ptr(self.ids.wrapping_add(pos));
            prefetch_ptr(self.labels.wrapping_add(pos));
        }
    }

    /// Sorts positions `first..first + len` as a row ([`super::sort_row`]); returns its
    /// duplicates.
    ///
    /// # Safety
    /// Each of these positions was written (by [`Scatter::write`]) and is this thread's: no
    /// other thread writes or reads them meanwhile.
    #[inline]
    unsafe fn sort_range(&self, first: usize, len: usize, keyed: &mut Vec<u64>) -> u64 {
        assert!(
            first.checked_add(len).is_some_and(|end| end <= self.len),
            "a range within the index"
        );
        // SAFETY: within the vectors' capacity (checked), initialized and not aliased (the
        // caller's contract); the slices end with this call.
        let (ids, labels) = unsafe {
            (
                std::slice::from_raw_parts_mut(self.ids.add(first), len),
                std::slice::from_raw_parts_mut(self.labels.add(first), len),
            )
        };
        super::sort_row(ids, labels, keyed)
    }

    /// Positions `first..first + len`, as written.
    ///
    /// # Safety
    /// As [`Scatter::sort_range`]; the slices are not used past the next write to them.
    #[inline]
    unsafe fn range(&self, first: usize, len: usize) -> (&[u32], &[Label]) {
        assert!(
            first.checked_add(len).is_some_and(|end| end <= self.len),
            "a range within the index"
        );
        // SAFETY: within the vectors' capacity (checked), initialized and written by this
        // thread alone (the caller's contract).
        unsafe {
            (
                std::slice::from_raw_parts(self.ids.add(first), len),
                std::slice::from_raw_parts(self.labels.add(first), len),
            )
        }
    }

    /// Writes position `pos`. Each position belongs to one range of one local id of one part,
    /// and only that part's thread writes it (each position is handed out once, by the part's
    /// [`Lane`]).
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
    use crate::names::tests::{draws, parts_of};
    use crate::names::{PartNames, merge, merge_rows};

    /// Each part's task names as owned (bytes, ends).
    fn packed(parts: &[Part]) -> Vec<(Vec<u8>, Vec<usize>)> {
        let lists: Vec<Vec<&str>> = parts
            .iter()
            .map(|p| p.tasks.iter().map(String::as_str).collect())
            .collect();
        parts_of(&lists)
    }

    /// Each task's (worker, label) entries, sorted (the placement leaves a task's rows in
    /// part order).
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

    /// One part: its task names in local-id order, row counts, worker and label maps, rows.
    struct Part {
        tasks: Vec<String>,
        counts: Vec<u32>,
        maps: [Vec<u32>; 2],
        rows: Vec<[u32; 3]>,
    }

    /// A task index as placed, with what the placement counted if it sorted every row.
    type Placed = (Csr, Option<Sorted>);

    /// The task index of `parts` (the task names merged with their counts), and the task
    /// names' canonical ids by [`merge`] (no counts), or `None` where the placement refuses;
    /// the duplicates when the placement sorted every row ([`Csr::from_local_parts`]).
    fn place_all(parts: &[Part]) -> Option<(Placed, Vec<Vec<u32>>, usize)> {
        let packed = packed(parts);
        let names: Vec<PartNames<'_>> = packed
            .iter()
            .map(|(bytes, ends)| PartNames { bytes, ends })
            .collect();
        let ids = merge(&names, true).unwrap();
        let counts = parts.iter().map(|p| p.counts.clone()).collect();
        let (tasks, places) = merge_rows(&names, true, counts).ok()?;
        assert_eq!(tasks, ids.names, "the same names with and without counts");
        let local = parts
            .iter()
            .map(|p| LocalPart {
                maps: [&p.maps[0][..], &p.maps[1][..]],
                rows: p.rows.clone(),
            })
            .collect();
        // The agreement with the majority asked for, of every worker and label the maps name.
        let count_of = |c: usize| {
            parts
                .iter()
                .flat_map(|p| p.maps[c].iter())
                .max()
                .map_or(0, |&i| i + 1)
        };
        let shape = (count_of(0) as usize, count_of(1) as usize);
        let csr = Csr::from_local_parts(places, local, shape)?;
        let maps = (0..parts.len()).map(|p| ids.map(p).to_vec()).collect();
        Some((csr, maps, tasks.len()))
    }

    /// Three parts with their own local ids for 4 tasks (`t1` without rows), 3 workers,
    /// 2 labels, and the rows they stand for in canonical ids (by hand).
    fn three_parts() -> (Vec<[u32; 3]>, Vec<Part>) {
        let part = |tasks: &[&str], counts: &[u32], maps: [&[u32]; 2], rows: &[[u32; 3]]| Part {
            tasks: tasks.iter().map(|t| t.to_string()).collect(),
            counts: counts.to_vec(),
            maps: maps.map(<[u32]>::to_vec),
            rows: rows.to_vec(),
        };
        let parts = vec![
            // local tasks 0 → t2, 1 → t0; workers 0 → 1, 1 → 0; labels 0 → 1
            part(
                &["t2", "t0"],
                &[2, 1],
                [&[1, 0], &[1]],
                &[[0, 0, 0], [1, 1, 0], [0, 1, 0]],
            ),
            // local tasks 0 → t2, 1 → t1 (no row); worker 0 → 2; labels 0 → 0
            part(&["t2", "t1"], &[1, 0], [&[2], &[0]], &[[0, 0, 0]]),
            // local tasks 0 → t3, 1 → t0; worker 0 → 2, 1 → 1; labels 0 → 1, 1 → 0
            part(
                &["t3", "t0"],
                &[1, 2],
                [&[2, 1], &[1, 0]],
                &[[1, 0, 1], [0, 1, 0], [1, 1, 0]],
            ),
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
        (canonical, parts)
    }

    /// Each task's entries, straight from rows in canonical ids.
    fn by_task(canonical: &[[u32; 3]], n_tasks: usize) -> Vec<Vec<(u32, Label)>> {
        (0..n_tasks as u32)
            .map(|t| {
                let mut row: Vec<(u32, Label)> = canonical
                    .iter()
                    .filter(|r| r[0] == t)
                    .map(|r| (r[1], r[2] as Label))
                    .collect();
                row.sort_unstable();
                row
            })
            .collect()
    }

    #[test]
    fn parts_are_placed_as_the_canonical_rows() {
        let (canonical, parts) = three_parts();
        let ((got, _), _, n_tasks) = place_all(&parts).unwrap();
        assert_eq!(n_tasks, 4);
        assert_eq!(got.offsets, [0, 3, 3, 6, 7]);
        assert_eq!(sorted_rows(&got), by_task(&canonical, 4));
    }

    #[test]
    fn offsets_summed_in_the_merge_are_a_counted_placement() {
        // Several parts of random task names (repeated within and across parts: one local id
        // per run of a task, as the reader gives), row counts 0..4, in the four ways the merge
        // sorts (short names packed in one key, in order or not; long names; integers), with
        // more entries than one range of the merge's numbering, at 1 and 3 threads. The
        // offsets must be the counts summed per canonical task (counted here one row at a
        // time, as a counting sort would), and every row in its task.
        let mut next = draws(0x2545_F491_4F6C_DD1D);
        let spellings: [fn(u64) -> String; 4] = [
            |x| format!("t{x}"),
            |x| format!("t{x:07}"),
            |x| format!("a-task-name-longer-than-eight-bytes-{x}"),
            |x| format!("{x}"),
        ];
        for (round, spell) in spellings.iter().enumerate() {
            let n_parts = 2 + round;
            let sorted = round == 1;
            let mut parts: Vec<Part> = Vec::new();
            let mut counter = 0;
            for _ in 0..n_parts {
                let n_local = 1500 + next(2000) as usize;
                let tasks: Vec<String> = (0..n_local)
                    .map(|_| {
                        counter += 1;
                        spell(if sorted { counter / 2 } else { next(5000) })
                    })
                    .collect();
                let counts: Vec<u32> = (0..n_local).map(|_| next(5) as u32).collect();
                let (n_workers, n_labels) = (1 + next(50) as u32, 1 + next(3) as u32);
                let maps = [
                    (0..n_workers).map(|_| next(100) as u32).collect(),
                    (0..n_labels).map(|_| next(3) as u32).collect(),
                ];
                let mut rows: Vec<[u32; 3]> = counts
                    .iter()
                    .enumerate()
                    .flat_map(|(t, &c)| (0..c).map(move |_| t as u32))
                    .map(|t| {
                        [
                            t,
                            next(n_workers as u64) as u32,
                            next(n_labels as u64) as u32,
                        ]
                    })
                    .collect();
                // Any row order.
                for i in (1..rows.len()).rev() {
                    rows.swap(i, next(i as u64 + 1) as usize);
                }
                parts.push(Part {
                    tasks,
                    counts,
                    maps,
                    rows,
                });
            }
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let ((got, _), maps, n_tasks) = pool.install(|| place_all(&parts)).unwrap();
                // The counting placement: rows per canonical task, summed.
                let mut canonical = Vec::new();
                let mut counted = vec![0u32; n_tasks];
                for (part, map) in parts.iter().zip(&maps) {
                    for &[t, w, l] in &part.rows {
                        let t = map[t as usize];
                        counted[t as usize] += 1;
                        canonical.push([t, part.maps[0][w as usize], part.maps[1][l as usize]]);
                    }
                }
                let offsets: Vec<u32> = std::iter::once(0)
                    .chain(counted.iter().scan(0, |end, &c| {
                        *end += c;
                        Some(*end)
                    }))
                    .collect();
                assert_eq!(got.offsets, offsets, "round {round}, {threads} threads");
                assert_eq!(sorted_rows(&got), by_task(&canonical, n_tasks));
            }
        }
    }

    /// Per worker, (graded, correct) against each row's majority label, by their definition
    /// (crowd-kit's `get_accuracy` against `MajorityVote`): the label of the most responses,
    /// the first such label on ties; each distinct (worker, label) of a row graded once.
    fn agreement_with_majority(rows: &[Vec<(u32, Label)>], workers: usize) -> Vec<(u64, u64)> {
        let mut table = vec![(0u64, 0u64); workers];
        for row in rows {
            let mut counts = std::collections::BTreeMap::new();
            for &(_, l) in row {
                *counts.entry(l).or_insert(0) += 1;
            }
            let most = counts.values().copied().max().unwrap_or(0);
            let majority = counts.iter().find(|&(_, &c)| c == most).map(|(&l, _)| l);
            let distinct: std::collections::BTreeSet<(u32, Label)> = row.iter().copied().collect();
            for (w, l) in distinct {
                table[w as usize].0 += 1;
                table[w as usize].1 += u64::from(Some(l) == majority);
            }
        }
        table
    }

    /// Parts whose tasks are each one run of one local id (the reader's grouped layout):
    /// every row comes sorted out of the placement, with the duplicates of a sort and each
    /// worker's agreement with the majority, short and long rows alike, two labels or more; a
    /// task of two local ids (in two parts, or two runs of one part) leaves the rows to the
    /// sort (`None`, nothing counted), still every row in its task.
    #[test]
    fn runs_of_whole_tasks_are_placed_sorted() {
        let mut next = draws(0x9E37_79B9_7F4A_7C15);
        // Four parts of distinct task names; each task's rows together, in random worker
        // order, 1 to 40 rows (past the sorting networks' 16), few workers (duplicates), `k`
        // labels.
        let grouped = |next: &mut dyn FnMut(u64) -> u64, k: u64| -> Vec<Part> {
            (0..4u64)
                .map(|p| {
                    let n_local = 200 + next(300) as usize;
                    let tasks: Vec<String> = (0..n_local).map(|i| format!("p{p}-{i}")).collect();
                    let counts: Vec<u32> = (0..n_local)
                        .map(|_| if next(10) == 0 { 17 + next(24) } else { 1 + next(6) } as u32)
                        .collect();
                    let maps = [(0..12).rev().collect(), (0..k as u32).rev().collect()];
                    let rows = counts
                        .iter()
                        .enumerate()
                        .flat_map(|(t, &c)| (0..c).map(move |_| t as u32))
                        .map(|t| [t, next(12) as u32, next(k) as u32])
                        .collect();
                    Part {
                        tasks,
                        counts,
                        maps,
                        rows,
                    }
                })
                .collect()
        };
        let canonical_of = |parts: &[Part], maps: &[Vec<u32>]| -> Vec<[u32; 3]> {
            parts
                .iter()
                .zip(maps)
                .flat_map(|(part, map)| {
                    part.rows.iter().map(move |&[t, w, l]| {
                        [
                            map[t as usize],
                            part.maps[0][w as usize],
                            part.maps[1][l as usize],
                        ]
                    })
                })
                .collect()
        };
        let rows_of = |csr: &Csr| -> Vec<Vec<(u32, Label)>> {
            (0..csr.len())
                .map(|t| {
                    let (ids, labels) = csr.row(t);
                    ids.iter().copied().zip(labels.iter().copied()).collect()
                })
                .collect()
        };
        for (k, threads) in [(2, 1), (3, 1), (3, 3), (2, 3), (5, 2)] {
            let parts = grouped(&mut next, k);
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
            let ((got, sorted), maps, n_tasks) =
                pool.unwrap().install(|| place_all(&parts)).unwrap();
            let expected = by_task(&canonical_of(&parts, &maps), n_tasks);
            // As placed, no sort after: each row in (worker, label) order.
            assert_eq!(rows_of(&got), expected, "{threads} threads");
            // Duplicates counted on the rows built here: entries repeating the previous worker.
            let duplicates = expected
                .iter()
                .map(|row| row.windows(2).filter(|p| p[0].0 == p[1].0).count() as u64)
                .sum::<u64>();
            assert!(duplicates > 0, "the test has duplicates");
            let sorted = sorted.unwrap();
            assert_eq!(sorted.duplicates, duplicates, "{threads} threads");
            let agreement = agreement_with_majority(&expected, 12);
            assert!(
                agreement.iter().any(|&(graded, correct)| correct < graded),
                "some answers against the majority"
            );
            assert_eq!(sorted.majority_agreement, Some(agreement), "{k} labels");
            // The sort after would change nothing, and count the same.
            let mut sort = got.clone();
            assert_eq!(sort.sort_rows(), duplicates);
            assert_eq!(sort, got);
        }
        // One task in two parts: part 1's first task takes part 0's first name.
        let mut split = grouped(&mut next, 3);
        split[1].tasks[0] = split[0].tasks[0].clone();
        // One local id in two runs of a part: one more row of part 2's first task, at its end.
        let mut two_runs = grouped(&mut next, 3);
        two_runs[2].counts[0] += 1;
        two_runs[2].rows.push([0, 3, 1]);
        for (what, parts) in [("split", split), ("two runs", two_runs)] {
            let ((got, sorted), maps, n_tasks) = place_all(&parts).unwrap();
            assert!(sorted.is_none(), "{what}");
            assert_eq!(
                sorted_rows(&got),
                by_task(&canonical_of(&parts, &maps), n_tasks)
            );
        }
    }

    #[test]
    fn parts_that_disagree_with_themselves_are_refused() {
        let (_, parts) = three_parts();
        let changed = |change: &dyn Fn(&mut Vec<Part>)| {
            let mut parts = three_parts().1;
            change(&mut parts);
            parts
        };
        let cases: [(&str, Vec<Part>); 5] = [
            ("count above", changed(&|p| p[0].counts[0] = 3)),
            ("count below", changed(&|p| p[0].counts[0] = 1)),
            // A row of a local task id the part has no name for.
            ("unmapped task", changed(&|p| p[1].rows.push([2, 0, 0]))),
            ("unmapped worker", changed(&|p| p[1].rows[0] = [0, 5, 0])),
            ("unmapped label", changed(&|p| p[2].rows[0] = [1, 0, 2])),
        ];
        assert!(place_all(&parts).is_some());
        for (what, parts) in cases {
            assert!(place_all(&parts).is_none(), "{what}");
        }
        // Counts that do not fit u32 positions: 4 and 2³² − 3 rows (a wrapped sum would be 1).
        let counts = vec![vec![u32::MAX - 2, 1], vec![4, 0], vec![1, 2]];
        let parts = three_parts().1;
        let packed = packed(&parts);
        let names: Vec<PartNames<'_>> = packed
            .iter()
            .map(|(bytes, ends)| PartNames { bytes, ends })
            .collect();
        assert!(merge_rows(&names, true, counts).is_err());
    }
}
