//! The response table: interned ids and CSR indexes by task and by worker.
//!
//! # Canonical order
//! Task, worker and label ids are dense `u32`/`u16` numbers assigned in a *canonical* order,
//! not in order of appearance, so that every result is independent of row order:
//!
//! * **Label order rule** (used everywhere ties are broken): numeric order when every value
//!   parses as a 64-bit integer (`2 < 10`, ties between spellings such as `01` and `1` by
//!   byte order), otherwise byte-wise string order. The same rule orders task and worker ids.
//! * Within a task, responses are ordered by (worker, label); within a worker, by (task, label).
//!
//! # Memory
//! Each response is stored as a `u32` id and a `u16` label in the task index, and again in the
//! worker index once something asks for it (majority vote, Wawa and the writers never do:
//! the worker index is built on first use, see [`Responses::by_worker`]): 6 or 12 bytes per
//! response, plus 4 bytes per task and per worker for the offsets, plus the id strings once
//! each, concatenated in canonical order (found by binary search, see the crate's `names`
//! module).

use std::sync::{Mutex, OnceLock};

use indexmap::IndexSet;
use rayon::prelude::*;
use rustc_hash::FxBuildHasher;

use crate::error::DataError;
use crate::names::Names;

mod label_counts;
mod local_parts;
mod majority;
pub use label_counts::LabelCounts;
pub(crate) use local_parts::LocalPart;
pub(crate) use majority::{SMALL_K, first_largest, small_majority};

/// A label id (index into [`Responses::label_names`]).
pub type Label = u16;

pub(crate) type Interner = IndexSet<Box<str>, FxBuildHasher>;

/// What to do with several responses of one worker to one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum DuplicatePolicy {
    /// Keep every response, as crowd-kit does (they count as separate votes). The number of
    /// extra responses is available as [`Responses::duplicate_count`].
    #[default]
    Keep,
    /// Keep only the last response (in input order) of each (task, worker) pair.
    KeepLast,
    /// Fail with [`DataError::DuplicateResponse`].
    Reject,
}

/// The groups of `labels` (in label order) that are equal after [`normalize_label`]: see
/// [`Responses::label_variants`].
fn label_variants<'a>(labels: impl Iterator<Item = &'a str>) -> Vec<Vec<&'a str>> {
    let mut groups: indexmap::IndexMap<String, Vec<&str>> = indexmap::IndexMap::new();
    for name in labels {
        groups.entry(normalize_label(name)).or_default().push(name);
    }
    groups.into_values().filter(|g| g.len() > 1).collect()
}

/// Compressed sparse rows: row `i` holds `ids[offsets[i]..offsets[i+1]]` and the matching labels.
/// Internal (the methods' index); hidden from the documentation, public only for the crate's
/// own tests and benches. Use [`Responses::task_responses`] and
/// [`Responses::worker_responses`].
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csr {
    offsets: Vec<u32>,
    ids: Vec<u32>,
    labels: Vec<Label>,
}

impl Csr {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids (workers of a task, or tasks of a worker) and labels of row `i`.
    #[inline]
    pub fn row(&self, i: usize) -> (&[u32], &[Label]) {
        let range = self.range(i);
        (&self.ids[range.clone()], &self.labels[range])
    }

    /// Positions of row `i` in [`Csr::ids`] and [`Csr::labels`].
    #[inline]
    pub fn range(&self, i: usize) -> std::ops::Range<usize> {
        self.offsets[i] as usize..self.offsets[i + 1] as usize
    }

    /// Row boundaries: row `i` spans `offsets[i]..offsets[i + 1]` of [`Csr::ids`] and
    /// [`Csr::labels`]; `len() + 1` entries, the first 0.
    pub fn offsets(&self) -> &[u32] {
        &self.offsets
    }

    /// Every row's ids (worker ids in [`Responses::by_task`], task ids in
    /// [`Responses::by_worker`]), rows one after another.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// The label id of each entry of [`Csr::ids`].
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    /// Sorts each row by (id, label), in parallel over fixed groups of rows; returns the
    /// number of entries whose id repeats the previous one in its row (duplicates).
    fn sort_rows(&mut self) -> u64 {
        const ROWS: usize = 4096;
        let offsets = &self.offsets;
        let (mut ids, mut labels) = (&mut self.ids[..], &mut self.labels[..]);
        let mut groups = Vec::with_capacity(self.offsets.len() / ROWS + 1);
        for first in (0..offsets.len() - 1).step_by(ROWS) {
            let end = (first + ROWS).min(offsets.len() - 1);
            let len = (offsets[end] - offsets[first]) as usize;
            let (head_ids, tail_ids) = std::mem::take(&mut ids).split_at_mut(len);
            let (head_labels, tail_labels) = std::mem::take(&mut labels).split_at_mut(len);
            groups.push((&offsets[first..=end], head_ids, head_labels));
            (ids, labels) = (tail_ids, tail_labels);
        }
        groups
            .into_par_iter()
            .map(|(offsets, ids, labels)| {
                let base = offsets[0] as usize;
                let mut keyed: Vec<u64> = Vec::new();
                let mut duplicates = 0u64;
                for bounds in offsets.windows(2) {
                    let range = bounds[0] as usize - base..bounds[1] as usize - base;
                    let (row_ids, row_labels) = (&mut ids[range.clone()], &mut labels[range]);
                    duplicates += sort_row(row_ids, row_labels, &mut keyed);
                }
                duplicates
            })
            .sum()
    }

    /// Counting sort of `(row, id, label)` triples into rows; stable, so each row keeps the
    /// order of `triples`. In parallel over ranges of rows: each range counts, then places,
    /// the triples of its rows while `triples` runs over all of them (the input is read once
    /// per range, sequentially; the scattered writes, which dominate, are split, and each
    /// range's write targets are a fraction of the table, so they stay closer in cache). The
    /// result does not depend on the number of threads.
    fn from_sorted_by(n_rows: usize, n: usize, triples: impl Triples) -> Self {
        Self::from_sorted_by_parts(n_rows, n, triples, Self::parts_for(n), Threads::Rayon)
    }

    /// How many row ranges [`Csr::from_sorted_by`] splits `n` triples into.
    fn parts_for(n: usize) -> usize {
        if n < 1 << 16 {
            1
        } else {
            rayon::current_num_threads().clamp(1, 64)
        }
    }

    /// [`Csr::from_sorted_by`] with `parts` row ranges, run on `threads`.
    fn from_sorted_by_parts(
        n_rows: usize,
        n: usize,
        triples: impl Triples,
        parts: usize,
        threads: Threads,
    ) -> Self {
        let bounds: Vec<usize> = (0..=parts).map(|p| p * n_rows / parts).collect();
        // Counts per row, each range's own vector.
        let count = |p: usize| {
            let (lo, hi) = (bounds[p] as u32, bounds[p + 1] as u32);
            let mut counts = vec![0u32; (hi - lo) as usize];
            triples.each(|row, _, _| {
                if row >= lo && row < hi {
                    counts[(row - lo) as usize] += 1;
                }
            });
            counts
        };
        let counts: Vec<Vec<u32>> = threads.map((0..parts).collect(), count);
        let mut offsets = Vec::with_capacity(n_rows + 1);
        offsets.push(0u32);
        let mut total = 0u32;
        for c in counts.iter().flatten() {
            total += c;
            offsets.push(total);
        }
        debug_assert_eq!(total as usize, n);
        let mut ids = vec![0u32; n];
        let mut labels = vec![0 as Label; n];
        let mut pieces = Vec::with_capacity(parts);
        let (mut ids_rest, mut labels_rest) = (&mut ids[..], &mut labels[..]);
        for p in 0..parts {
            let len = (offsets[bounds[p + 1]] - offsets[bounds[p]]) as usize;
            let (ids_head, ids_tail) = std::mem::take(&mut ids_rest).split_at_mut(len);
            let (labels_head, labels_tail) = std::mem::take(&mut labels_rest).split_at_mut(len);
            pieces.push((p, ids_head, labels_head));
            (ids_rest, labels_rest) = (ids_tail, labels_tail);
        }
        let offsets_ref = &offsets;
        let place = |(p, ids, labels): (usize, &mut [u32], &mut [Label])| {
            let (lo, hi) = (bounds[p], bounds[p + 1]);
            let base = offsets_ref[lo];
            let mut next: Vec<u32> = offsets_ref[lo..hi].iter().map(|&o| o - base).collect();
            let (lo, hi) = (lo as u32, hi as u32);
            triples.each(|row, id, label| {
                if row >= lo && row < hi {
                    let slot = &mut next[(row - lo) as usize];
                    ids[*slot as usize] = id;
                    labels[*slot as usize] = label;
                    *slot += 1;
                }
            });
        };
        threads.map(pieces, place);
        Self {
            offsets,
            ids,
            labels,
        }
    }
}

/// Sorts one row by (id, label) in place (`keyed`: scratch space for long rows); returns the
/// number of its entries whose id repeats the previous one (duplicates), as
/// [`Csr::sort_rows`] counts them.
#[inline]
fn sort_row(ids: &mut [u32], labels: &mut [Label], keyed: &mut Vec<u64>) -> u64 {
    let key = |i: usize| entry_key(ids[i], labels[i]);
    if ids.len() <= SMALL_ROW {
        sort_small_row(ids, labels);
    } else if (1..ids.len()).any(|i| key(i - 1) > key(i)) {
        keyed.clear();
        keyed.extend((0..ids.len()).map(key));
        keyed.sort_unstable();
        for ((id, label), k) in ids.iter_mut().zip(labels.iter_mut()).zip(keyed.iter()) {
            (*id, *label) = entry_of(*k);
        }
    }
    ids.windows(2).filter(|p| p[0] == p[1]).count() as u64
}

/// Rows of up to this many entries are sorted in place by [`sort_small_row`] (most tasks have
/// a few answers: no copy into keys and back, no call into the general sort).
const SMALL_ROW: usize = 16;

/// The sort key of an entry: (id, label) in one integer (48 bits), ordered as the pair.
#[inline]
fn entry_key(id: u32, label: Label) -> u64 {
    (u64::from(id) << 16) | u64::from(label)
}

/// The entry of an [`entry_key`].
#[inline]
fn entry_of(key: u64) -> (u32, Label) {
    ((key >> 16) as u32, (key & 0xffff) as Label)
}

/// Sorts a row by (id, label) in place (equal keys are equal entries, so the result is that
/// of any sort): rows of 2 to 16 entries by a sorting network of minima and maxima (no
/// branch to mispredict: with workers in random order, the branches of an insertion sort
/// were most of its cost; at 10 answers a task they were 12 % of a 10⁷ CSV read), others by
/// insertion.
#[inline]
fn sort_small_row(ids: &mut [u32], labels: &mut [Label]) {
    match ids.len().min(labels.len()) {
        2..=4 => network_sort::<4>(ids, labels, NETWORKS[4]),
        // A network costs the same sorted or not; rows that come sorted (answers written in
        // worker order) cost a pass of compares instead.
        5..=16 if is_sorted_row(ids, labels) => {}
        5 => network_sort::<5>(ids, labels, NETWORKS[5]),
        6 => network_sort::<6>(ids, labels, NETWORKS[6]),
        7 => network_sort::<7>(ids, labels, NETWORKS[7]),
        8 => network_sort::<8>(ids, labels, NETWORKS[8]),
        9 => network_sort::<9>(ids, labels, NETWORKS[9]),
        10 => network_sort::<10>(ids, labels, NETWORKS[10]),
        11 => network_sort::<11>(ids, labels, NETWORKS[11]),
        12 => network_sort::<12>(ids, labels, NETWORKS[12]),
        13 => network_sort::<13>(ids, labels, NETWORKS[13]),
        14 => network_sort::<14>(ids, labels, NETWORKS[14]),
        15 => network_sort::<15>(ids, labels, NETWORKS[15]),
        16 => network_sort::<16>(ids, labels, NETWORKS[16]),
        _ => insertion_sort(ids, labels),
    }
}

/// Whether a row is in (id, label) order already.
#[inline]
fn is_sorted_row(ids: &[u32], labels: &[Label]) -> bool {
    (1..ids.len().min(labels.len()))
        .all(|i| entry_key(ids[i - 1], labels[i - 1]) <= entry_key(ids[i], labels[i]))
}

/// Sorts up to `N` entries by the comparators `network` (a sorting network on `N` inputs),
/// the missing ones padded with keys that sort last (keys take 48 bits).
#[inline(always)]
fn network_sort<const N: usize>(ids: &mut [u32], labels: &mut [Label], network: &[(u8, u8)]) {
    let mut keys = [u64::MAX; N];
    for (key, (&id, &label)) in keys.iter_mut().zip(ids.iter().zip(labels.iter())) {
        *key = entry_key(id, label);
    }
    network_sort_keys(&mut keys, network);
    for ((id, label), &key) in ids.iter_mut().zip(labels.iter_mut()).zip(&keys) {
        (*id, *label) = entry_of(key);
    }
}

/// Sorts `keys` by the comparators `network` (a sorting network on `N` inputs).
#[inline(always)]
fn network_sort_keys<const N: usize>(keys: &mut [u64; N], network: &[(u8, u8)]) {
    for &(a, b) in network {
        let (a, b) = (usize::from(a), usize::from(b));
        let (x, y) = (keys[a], keys[b]);
        keys[a] = x.min(y);
        keys[b] = x.max(y);
    }
}

/// Sorts the first `len` of `keys` ([`entry_key`]s; those past `len` are `u64::MAX`) by the
/// sorting networks [`sort_small_row`] takes, in registers: for a row whose keys are at hand
/// (the placement of a task's run), where reading back entries just written would stall on
/// the stores (4-byte stores read by 8-byte loads).
#[inline]
fn sort_small_keys(keys: &mut [u64; SMALL_ROW], len: usize) {
    #[inline(always)]
    fn on_first<const N: usize>(keys: &mut [u64; SMALL_ROW]) {
        if let Some(first) = keys.first_chunk_mut::<N>() {
            network_sort_keys(first, NETWORKS[N]);
        }
    }
    match len {
        0 | 1 => {}
        2..=4 => on_first::<4>(keys),
        5 => on_first::<5>(keys),
        6 => on_first::<6>(keys),
        7 => on_first::<7>(keys),
        8 => on_first::<8>(keys),
        9 => on_first::<9>(keys),
        10 => on_first::<10>(keys),
        11 => on_first::<11>(keys),
        12 => on_first::<12>(keys),
        13 => on_first::<13>(keys),
        14 => on_first::<14>(keys),
        15 => on_first::<15>(keys),
        _ => on_first::<16>(keys),
    }
}

/// `NETWORKS[n]`: a sorting network on `n` inputs, n = 4 … 16 (Batcher's odd-even merge sort;
/// 5 comparators at 4, 32 at 10, 63 at 16). Rows of 2 and 3 use the one on 4, padded.
const NETWORKS: [&[(u8, u8)]; 17] = [
    &[],
    &[],
    &[],
    &[],
    &odd_even_merge_sort::<4, 5>(),
    &odd_even_merge_sort::<5, 9>(),
    &odd_even_merge_sort::<6, 12>(),
    &odd_even_merge_sort::<7, 16>(),
    &odd_even_merge_sort::<8, 19>(),
    &odd_even_merge_sort::<9, 28>(),
    &odd_even_merge_sort::<10, 32>(),
    &odd_even_merge_sort::<11, 38>(),
    &odd_even_merge_sort::<12, 42>(),
    &odd_even_merge_sort::<13, 48>(),
    &odd_even_merge_sort::<14, 53>(),
    &odd_even_merge_sort::<15, 59>(),
    &odd_even_merge_sort::<16, 63>(),
];

/// The `M` comparators of Batcher's odd-even merge sort on `N` inputs, in an order that sorts
/// when applied one after another (K. E. Batcher, "Sorting networks and their applications",
/// AFIPS 1968; Knuth, TAOCP vol. 3, 5.3.4). The iterative form: merges of sorted runs of
/// `p` = 1, 2, 4, … entries, each by comparators `k` = p, p/2, …, 1 apart, between entries of
/// one merge only. For `N` not a power of two, the comparators of the next power's network
/// between inputs below `N`: that network with the inputs from `N` on holding keys larger
/// than all (which no comparator moves) sorts the rest.
const fn odd_even_merge_sort<const N: usize, const M: usize>() -> [(u8, u8); M] {
    let mut pairs = [(0u8, 0u8); M];
    let mut count = 0;
    let mut p = 1;
    while p < N {
        let mut k = p;
        while k >= 1 {
            let mut j = k % p;
            while j + k < N {
                let mut i = 0;
                while i < k && i + j + k < N {
                    if (i + j) / (2 * p) == (i + j + k) / (2 * p) {
                        pairs[count] = ((i + j) as u8, (i + j + k) as u8);
                        count += 1;
                    }
                    i += 1;
                }
                j += 2 * k;
            }
            k /= 2;
        }
        p *= 2;
    }
    assert!(count == M, "M is the network's comparator count");
    pairs
}

/// Sorts a row by (id, label) in place, by insertion.
#[inline]
fn insertion_sort(ids: &mut [u32], labels: &mut [Label]) {
    for i in 1..ids.len().min(labels.len()) {
        let (id, label) = (ids[i], labels[i]);
        let k = entry_key(id, label);
        let mut j = i;
        while j > 0 && entry_key(ids[j - 1], labels[j - 1]) > k {
            ids[j] = ids[j - 1];
            labels[j] = labels[j - 1];
            j -= 1;
        }
        ids[j] = id;
        labels[j] = label;
    }
}

/// Where [`Csr::from_sorted_by_parts`] runs its parts.
#[derive(Debug, Clone, Copy)]
enum Threads {
    /// On rayon's pool.
    Rayon,
    /// One scoped OS thread per part: no rayon job, so the building thread can never be handed
    /// a job of its caller's while it waits (see [`Responses::by_worker`]).
    Scoped,
}

impl Threads {
    /// `f` of every item, in item order (one item runs on the calling thread).
    fn map<I: Send, T: Send>(self, items: Vec<I>, f: impl Fn(I) -> T + Sync) -> Vec<T> {
        if items.len() <= 1 {
            return items.into_iter().map(f).collect();
        }
        match self {
            Threads::Rayon => items.into_par_iter().map(&f).collect(),
            Threads::Scoped => std::thread::scope(|scope| {
                let f = &f;
                let handles: Vec<_> = items
                    .into_iter()
                    .map(|item| scope.spawn(move || f(item)))
                    .collect();
                handles
                    .into_iter()
                    .map(|handle| {
                        handle
                            .join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    })
                    .collect()
            }),
        }
    }
}

/// The worker index, built on first use ([`Responses::by_worker`]); `building` is held while
/// it is built.
#[derive(Debug, Default)]
struct LazyIndex {
    cell: OnceLock<Csr>,
    building: Mutex<()>,
}

impl Clone for LazyIndex {
    fn clone(&self) -> Self {
        Self {
            cell: self.cell.clone(),
            building: Mutex::new(()),
        }
    }
}

/// A sequence of `(row, id, label)` triples that [`Csr::from_sorted_by`] can walk several
/// times, from several threads (a trait rather than a closure so that each walk is inlined).
trait Triples: Sync {
    fn each(&self, emit: impl FnMut(u32, u32, Label));
}

/// Input-order `(task, worker, label)` triples, in consecutive pieces (a reader's chunks):
/// rows are tasks.
struct ByTask<'a>(&'a [Vec<[u32; 3]>]);

impl Triples for ByTask<'_> {
    #[inline]
    fn each(&self, mut emit: impl FnMut(u32, u32, Label)) {
        for &[t, w, l] in self.0.iter().flatten() {
            emit(t, w, l as Label);
        }
    }
}

/// The task index walked in task order, emitted as `(worker, task, label)`: rows are workers.
struct ByWorker<'a>(&'a Csr);

impl Triples for ByWorker<'_> {
    #[inline]
    fn each(&self, mut emit: impl FnMut(u32, u32, Label)) {
        let csr = self.0;
        for t in 0..csr.len() {
            let (ws, ls) = csr.row(t);
            for (&w, &l) in ws.iter().zip(ls) {
                emit(w, t as u32, l);
            }
        }
    }
}

/// An immutable table of crowd responses `(task, worker, label)` with dense ids.
///
/// ```
/// use crowdagg::Responses;
/// let data = Responses::from_triples([("t1", "w1", "b"), ("t1", "w2", "a"), ("t2", "w1", "a")])?;
/// assert_eq!(data.n_tasks(), 2);
/// assert_eq!(data.label_names(), ["a", "b"]);
/// let (workers, labels) = data.task_responses(0);
/// assert_eq!((workers, labels), (&[0u32, 1][..], &[1u16, 0][..]));
/// # Ok::<(), crowdagg::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Responses {
    tasks: Names,
    workers: Names,
    labels: Names,
    labels_numeric: bool,
    by_task: Csr,
    /// Built from `by_task` on first use ([`Responses::by_worker`]).
    by_worker: LazyIndex,
    duplicates: u64,
    /// Per worker, (graded, correct) against each task's unweighted majority label, where the
    /// reader counted them as it placed the rows (see `majority.rs`); else counted on use.
    majority_agreement: Option<Vec<(u64, u64)>>,
}

impl Responses {
    /// A builder that takes responses one at a time.
    pub fn builder() -> ResponsesBuilder {
        ResponsesBuilder::default()
    }

    /// Builds from `(task, worker, label)` triples, keeping duplicates.
    pub fn from_triples<I, T, W, L>(triples: I) -> Result<Self, DataError>
    where
        I: IntoIterator<Item = (T, W, L)>,
        T: AsRef<str>,
        W: AsRef<str>,
        L: AsRef<str>,
    {
        let mut builder = Self::builder();
        for (t, w, l) in triples {
            builder.push(t.as_ref(), w.as_ref(), l.as_ref())?;
        }
        builder.build()
    }

    /// Number of distinct tasks; task ids are `0..n_tasks()`.
    pub fn n_tasks(&self) -> usize {
        self.tasks.len()
    }

    /// Number of distinct workers; worker ids are `0..n_workers()`.
    pub fn n_workers(&self) -> usize {
        self.workers.len()
    }

    /// Number of distinct labels; label ids are `0..n_labels()`.
    pub fn n_labels(&self) -> usize {
        self.labels.len()
    }

    /// Number of responses kept (duplicates included under [`DuplicatePolicy::Keep`]).
    pub fn n_responses(&self) -> usize {
        self.by_task.ids.len()
    }

    /// Whether the table has no responses (and so no tasks, workers or labels). Every
    /// aggregator returns an empty [`Aggregation`](crate::Aggregation) for it, as crowd-kit
    /// returns empty frames.
    pub fn is_empty(&self) -> bool {
        self.n_responses() == 0
    }

    /// Responses beyond the first of each (task, worker) pair that were kept.
    pub fn duplicate_count(&self) -> u64 {
        self.duplicates
    }

    /// Whether every label parsed as an integer (numeric label order).
    pub fn labels_are_numeric(&self) -> bool {
        self.labels_numeric
    }

    /// Rows are tasks: each holds the task's (worker, label) pairs sorted by worker, then label.
    #[doc(hidden)]
    pub fn by_task(&self) -> &Csr {
        &self.by_task
    }

    /// Rows are workers: each holds the worker's (task, label) pairs sorted by task, then label.
    ///
    /// Built from the task index on first use (a counting sort) and kept: the methods that
    /// never look at workers' rows (majority vote, Wawa) do not pay for it. Built once, under a
    /// lock, in parallel on scoped OS threads rather than rayon's pool: a rayon thread waiting
    /// for its parts could be handed a job of its caller's loop (say, `worker_responses`
    /// inside a `par_iter`) that asks for the index again and waits for the lock it holds.
    /// Scoped threads never run another job, so whoever waits for the lock waits for a build
    /// that does not wait for anyone.
    #[doc(hidden)]
    pub fn by_worker(&self) -> &Csr {
        if let Some(csr) = self.by_worker.cell.get() {
            return csr;
        }
        let _building = self
            .by_worker
            .building
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        self.by_worker.cell.get_or_init(|| {
            let n = self.by_task.ids.len();
            Csr::from_sorted_by_parts(
                self.workers.len(),
                n,
                ByWorker(&self.by_task),
                Csr::parts_for(n),
                Threads::Scoped,
            )
        })
    }

    /// The worker index if it was built already (a caller with another way to its answer
    /// takes that rather than building it).
    pub(crate) fn by_worker_if_built(&self) -> Option<&Csr> {
        self.by_worker.cell.get()
    }

    /// Per worker, (graded, correct) against each task's unweighted majority label, if the
    /// reader counted them as it placed the rows (see `majority.rs`).
    pub(crate) fn majority_agreement_if_counted(&self) -> Option<&[(u64, u64)]> {
        self.majority_agreement.as_deref()
    }

    /// The responses to `task`: its workers' ids and their labels, sorted by worker, then label.
    pub fn task_responses(&self, task: impl TryInto<usize>) -> (&[u32], &[Label]) {
        self.by_task.row(index(task))
    }

    /// The responses of `worker`: the ids of its tasks and its labels, sorted by task, then
    /// label.
    pub fn worker_responses(&self, worker: impl TryInto<usize>) -> (&[u32], &[Label]) {
        self.by_worker().row(index(worker))
    }

    /// The name of task id `task` (an index into [`Aggregation::labels`](crate::Aggregation::labels)
    /// and the other per-task outputs); any integer type. Panics if `task >= n_tasks()`.
    pub fn task_name(&self, task: impl TryInto<usize>) -> &str {
        self.tasks.get(index(task))
    }

    /// The name of worker id `worker` (an index into
    /// [`Aggregation::skills`](crate::Aggregation::skills)); any integer type. Panics if
    /// `worker >= n_workers()`.
    pub fn worker_name(&self, worker: impl TryInto<usize>) -> &str {
        self.workers.get(index(worker))
    }

    /// The name of label id `label` (a value of
    /// [`Aggregation::labels`](crate::Aggregation::labels), a column of `probabilities`); any
    /// integer type, so a [`Label`] needs no cast. Panics if `label >= n_labels()`.
    pub fn label_name(&self, label: impl TryInto<usize>) -> &str {
        self.labels.get(index(label))
    }

    /// Task names in task-id order.
    pub fn task_names(&self) -> impl ExactSizeIterator<Item = &str> {
        self.tasks.iter()
    }

    /// The names of tasks `tasks`, side by side in one string.
    pub(crate) fn task_names_span(&self, tasks: std::ops::Range<usize>) -> &str {
        self.tasks.span(tasks)
    }

    /// Worker names in worker-id order.
    pub fn worker_names(&self) -> impl ExactSizeIterator<Item = &str> {
        self.workers.iter()
    }

    /// Label names in label order.
    pub fn label_names(&self) -> Vec<&str> {
        self.labels.iter().collect()
    }

    /// The id of the task called `name`, if it has responses.
    pub fn task_id(&self, name: &str) -> Option<usize> {
        self.tasks.position(name)
    }

    /// The id of the worker called `name`, if they answered.
    pub fn worker_id(&self, name: &str) -> Option<usize> {
        self.workers.position(name)
    }

    /// The id of the label `name`, if some response uses it.
    pub fn label_id(&self, name: &str) -> Option<Label> {
        self.labels.position(name).map(|i| i as Label)
    }

    /// Builds from integer codes, as `pandas.factorize(sort=True)` or a categorical column gives
    /// them: response `i` is task `tasks[i]` (in `0..n_tasks`), worker `workers[i]`, label
    /// `labels[i]`. Code order is the canonical order, so ties go to the smallest label code; the
    /// names are the codes written in decimal (`"0"`, `"1"`, …), and the caller keeps the real
    /// names (the Python package does). Duplicates are kept, as by [`Responses::from_triples`].
    ///
    /// ```
    /// # use crowdagg::Responses;
    /// let data = Responses::from_codes(2, 2, 2, &[0, 0, 1], &[0, 1, 0], &[1, 0, 0])?;
    /// assert_eq!((data.n_tasks(), data.n_workers(), data.n_responses()), (2, 2, 3));
    /// assert_eq!(data.label_name(1), "1");
    /// # Ok::<(), crowdagg::Error>(())
    /// ```
    pub fn from_codes(
        n_tasks: usize,
        n_workers: usize,
        n_labels: usize,
        tasks: &[i64],
        workers: &[i64],
        labels: &[i64],
    ) -> Result<Self, DataError> {
        Self::from_codes_with(
            (n_tasks, n_workers, n_labels),
            (tasks, workers, labels),
            true,
        )
    }

    /// [`Responses::from_codes`] for one shard of a larger table ([`crate::shard`]): every
    /// task must occur, but workers and labels are the whole table's, so some may be absent.
    pub(crate) fn from_shard_codes(
        (n_tasks, n_workers, n_labels): (usize, usize, usize),
        (tasks, workers, labels): (&[i64], &[i64], &[i64]),
    ) -> Result<Self, DataError> {
        Self::from_codes_with(
            (n_tasks, n_workers, n_labels),
            (tasks, workers, labels),
            false,
        )
    }

    fn from_codes_with(
        (n_tasks, n_workers, n_labels): (usize, usize, usize),
        (tasks, workers, labels): (&[i64], &[i64], &[i64]),
        all_workers_and_labels: bool,
    ) -> Result<Self, DataError> {
        if tasks.len() != workers.len() || tasks.len() != labels.len() {
            return Err(DataError::CodeLengths {
                tasks: tasks.len(),
                workers: workers.len(),
                labels: labels.len(),
            });
        }
        if n_labels > Label::MAX as usize + 1 {
            return Err(DataError::TooManyLabels(n_labels));
        }
        for (what, count) in [("tasks", n_tasks), ("workers", n_workers)] {
            if count > u32::MAX as usize {
                return Err(DataError::TooManyIds {
                    what,
                    max: u32::MAX as u64,
                });
            }
        }
        // The names ("0", "1", … in code order: canonical) are built on one thread while the
        // others check the codes and sort the rows by task; both cost about the same.
        let ((task_names, worker_names, label_names), rows) = rayon::join(
            || {
                (
                    Names::decimal(n_tasks),
                    Names::decimal(n_workers),
                    Names::decimal(n_labels),
                )
            },
            || {
                check_codes(
                    (n_tasks, n_workers, n_labels),
                    (tasks, workers, labels),
                    all_workers_and_labels,
                )?;
                Ok(rows_by_task(n_tasks, tasks, workers, labels))
            },
        );
        let (offsets, row_workers, row_labels) = rows?;
        Self::from_canonical_sets(
            task_names,
            worker_names,
            label_names,
            offsets,
            row_workers,
            row_labels,
        )
    }

    /// Groups of labels that differ only by letter case or surrounding whitespace (`Cat`,
    /// `cat`, ` cat`): each group holds two or more label names in label order, the groups
    /// ordered by their first label. Empty when every label is distinct after
    /// [`normalize_label`]. Such labels are separate classes to every method; a caller may
    /// want to warn, or to merge them with [`Responses::map_labels`].
    pub fn label_variants(&self) -> Vec<Vec<&str>> {
        label_variants(self.labels.iter())
    }

    /// The same responses with every label passed through `f` (labels that become equal
    /// merge into one class; label ids are renumbered by the label order rule). Duplicates
    /// are kept as they are here (the duplicate policy was applied when these were built).
    /// A label that `f` maps to the empty string is [`DataError::EmptyField`].
    pub fn map_labels(&self, f: impl Fn(&str) -> String) -> Result<Responses, DataError> {
        let mapped: Vec<String> = self.labels.iter().map(&f).collect();
        let mut builder = Responses::builder();
        builder.reserve(self.n_responses());
        for t in 0..self.n_tasks() {
            let (workers, labels) = self.by_task.row(t);
            for (&w, &l) in workers.iter().zip(labels) {
                builder.push(
                    self.task_name(t),
                    self.worker_name(w as usize),
                    &mapped[l as usize],
                )?;
            }
        }
        builder.build()
    }

    /// Fast path for generated data (crate-internal): names already in canonical order (the
    /// caller guarantees it; checked in debug builds), and the responses as task rows of
    /// (worker id, label id) in CSR form. Rows are sorted by (worker, label) here.
    pub(crate) fn from_canonical_task_rows(
        task_names: impl IntoIterator<Item = String>,
        worker_names: impl IntoIterator<Item = String>,
        label_names: impl IntoIterator<Item = String>,
        offsets: Vec<u32>,
        workers: Vec<u32>,
        labels: Vec<Label>,
    ) -> Result<Self, DataError> {
        Self::from_canonical_sets(
            Names::from_sorted(task_names),
            Names::from_sorted(worker_names),
            Names::from_sorted(label_names),
            offsets,
            workers,
            labels,
        )
    }

    /// [`Responses::from_canonical_task_rows`] with the names already in their tables.
    fn from_canonical_sets(
        tasks: Names,
        workers_set: Names,
        labels_set: Names,
        offsets: Vec<u32>,
        workers: Vec<u32>,
        labels: Vec<Label>,
    ) -> Result<Self, DataError> {
        let labels_numeric = labels_set.iter().all(|s| parse_int(s).is_some());
        debug_assert!(
            [&tasks, &workers_set, &labels_set].iter().all(|set| {
                let numeric = set.iter().all(|s| parse_int(s).is_some());
                set.iter()
                    .zip(set.iter().skip(1))
                    .all(|(a, b)| compare_names(a, b, numeric).is_lt())
            }),
            "names in canonical order"
        );
        let by_task = Csr {
            offsets,
            ids: workers,
            labels,
        };
        debug_assert_eq!(by_task.len(), tasks.len());
        Ok(Self::from_task_rows(
            tasks,
            workers_set,
            labels_set,
            labels_numeric,
            by_task,
        ))
    }

    /// Sorts each task row by (worker, label) and counts duplicates; the worker index is left
    /// to its first use.
    fn from_task_rows(
        tasks: Names,
        workers: Names,
        labels: Names,
        labels_numeric: bool,
        mut by_task: Csr,
    ) -> Self {
        let duplicates = by_task.sort_rows();
        Self::from_sorted_task_rows(tasks, workers, labels, labels_numeric, by_task, duplicates)
    }

    /// [`Responses::from_task_rows`] of rows sorted already, with `duplicates` counted as
    /// [`Csr::sort_rows`] counts them.
    fn from_sorted_task_rows(
        tasks: Names,
        workers: Names,
        labels: Names,
        labels_numeric: bool,
        by_task: Csr,
        duplicates: u64,
    ) -> Self {
        debug_assert!((0..by_task.len()).all(|t| {
            let (ids, labels) = by_task.row(t);
            (1..ids.len())
                .all(|i| entry_key(ids[i - 1], labels[i - 1]) <= entry_key(ids[i], labels[i]))
        }));
        Responses {
            tasks,
            workers,
            labels,
            labels_numeric,
            by_task,
            by_worker: LazyIndex::default(),
            duplicates,
            majority_agreement: None,
        }
    }
}

/// A label with surrounding whitespace trimmed and letters lowercased: the normalisation
/// behind [`Responses::label_variants`] (and the CLI's `--normalize-labels`).
pub fn normalize_label(label: &str) -> String {
    label.trim().to_lowercase()
}

/// Collects responses, then builds the canonical [`Responses`].
#[derive(Debug, Default)]
pub struct ResponsesBuilder {
    tasks: Interner,
    workers: Interner,
    labels: Interner,
    raw: Vec<[u32; 3]>,
    policy: DuplicatePolicy,
}

impl ResponsesBuilder {
    /// Sets the duplicate policy (default: keep).
    pub fn duplicates(mut self, policy: DuplicatePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Reserves room for `n` more responses.
    pub fn reserve(&mut self, n: usize) {
        self.raw.reserve(n);
    }

    /// Number of responses pushed so far.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Whether no response was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Adds one response. Empty fields are an error naming the field and the response number
    /// (1-based, in push order).
    pub fn push(&mut self, task: &str, worker: &str, label: &str) -> Result<(), DataError> {
        let record = self.raw.len() as u64 + 1;
        for (field, value) in [("task", task), ("worker", worker), ("label", label)] {
            if value.is_empty() {
                return Err(DataError::EmptyField { field, record });
            }
        }
        if self.raw.len() >= u32::MAX as usize {
            return Err(DataError::TooManyIds {
                what: "responses",
                max: u32::MAX as u64,
            });
        }
        let t = intern(&mut self.tasks, task);
        let w = intern(&mut self.workers, worker);
        let l = intern(&mut self.labels, label);
        self.raw.push([t, w, l]);
        Ok(())
    }

    /// Sorts ids into canonical order, applies the duplicate policy and builds both indexes.
    pub fn build(self) -> Result<Responses, DataError> {
        let Self {
            tasks,
            workers,
            labels,
            mut raw,
            policy,
        } = self;
        if labels.len() > Label::MAX as usize + 1 {
            return Err(DataError::TooManyLabels(labels.len()));
        }
        let (tasks, task_rank, _) = canonical(tasks);
        let (workers, worker_rank, _) = canonical(workers);
        let (labels, label_rank, _) = canonical(labels);
        // Remap in place (in parallel: this touches every response).
        raw.par_iter_mut().for_each(|r| {
            *r = [
                task_rank[r[0] as usize],
                worker_rank[r[1] as usize],
                label_rank[r[2] as usize],
            ];
        });
        drop((task_rank, worker_rank, label_rank));
        let names = [tasks, workers, labels].map(|set| Names::from_sorted(set.iter()));
        Responses::from_canonical_rows(names, raw, policy)
    }
}

impl Responses {
    /// Builds from rows of canonical ids in input order (the parallel readers, after
    /// [`crate::names::merge`]): applies the duplicate policy and builds both indexes.
    pub(crate) fn from_canonical_rows(
        names: [Names; 3],
        raw: Vec<[u32; 3]>,
        policy: DuplicatePolicy,
    ) -> Result<Responses, DataError> {
        Self::from_canonical_chunks(names, vec![raw], policy)
    }

    /// [`Responses::from_canonical_rows`] with the rows in consecutive pieces, as a reader
    /// parsed them (the task index is built from the pieces: no copy into one vector).
    pub(crate) fn from_canonical_chunks(
        [tasks, workers, labels]: [Names; 3],
        mut chunks: Vec<Vec<[u32; 3]>>,
        policy: DuplicatePolicy,
    ) -> Result<Responses, DataError> {
        if labels.len() > Label::MAX as usize + 1 {
            return Err(DataError::TooManyLabels(labels.len()));
        }
        let labels_numeric = labels.numeric();
        if policy != DuplicatePolicy::Keep {
            let raw = if chunks.len() == 1 {
                chunks.pop().unwrap_or_default()
            } else {
                chunks.concat()
            };
            chunks = vec![resolve_duplicates(raw, policy, &tasks, &workers)?];
        }
        let n = chunks.iter().map(Vec::len).sum();
        let by_task = Csr::from_sorted_by(tasks.len(), n, ByTask(&chunks));
        drop(chunks);
        Ok(Responses::from_task_rows(
            tasks,
            workers,
            labels,
            labels_numeric,
            by_task,
        ))
    }
}

/// Checks codes for [`Responses::from_codes`]: each in range, and every task (with
/// `all_workers_and_labels`, every worker and label too) used. One pass per column, the three
/// columns on separate threads; the error is the first column's, in task, worker, label order.
fn check_codes(
    (n_tasks, n_workers, n_labels): (usize, usize, usize),
    (tasks, workers, labels): (&[i64], &[i64], &[i64]),
    all_workers_and_labels: bool,
) -> Result<(), DataError> {
    let check = |column: &'static str, codes: &[i64], count: usize, need_all: bool| {
        let mut used = vec![false; if need_all { count } else { 0 }];
        for (row, &code) in codes.iter().enumerate() {
            if code < 0 || code as u64 >= count as u64 {
                return Err(DataError::CodeOutOfRange {
                    column,
                    row: row as u64,
                    code,
                    count,
                });
            }
            if need_all {
                used[code as usize] = true;
            }
        }
        // Every declared code occurs: a task without responses or a label nobody gave would
        // reach the methods, which every other constructor rules out.
        match used.iter().position(|&u| !u) {
            Some(code) => Err(DataError::CodeUnused { column, code }),
            None => Ok(()),
        }
    };
    let columns = [
        ("task", tasks, n_tasks, true),
        ("worker", workers, n_workers, all_workers_and_labels),
        ("label", labels, n_labels, all_workers_and_labels),
    ];
    let results: Vec<Result<(), DataError>> = columns
        .par_iter()
        .map(|&(column, codes, count, need_all)| check(column, codes, count, need_all))
        .collect();
    // Range errors before unused codes, as one column after another would report them.
    let out_of_range = results
        .iter()
        .find(|r| matches!(r, Err(DataError::CodeOutOfRange { .. })));
    match out_of_range {
        Some(Err(e)) => Err(e.clone()),
        _ => results.into_iter().collect(),
    }
}

/// Counting sort of checked codes by task: offsets, and each row's worker and label.
fn rows_by_task(
    n_tasks: usize,
    tasks: &[i64],
    workers: &[i64],
    labels: &[i64],
) -> (Vec<u32>, Vec<u32>, Vec<Label>) {
    let mut offsets = vec![0u32; n_tasks + 1];
    for &t in tasks {
        offsets[t as usize + 1] += 1;
    }
    for t in 0..n_tasks {
        offsets[t + 1] += offsets[t];
    }
    let mut next = offsets.clone();
    let mut row_workers = vec![0u32; tasks.len()];
    let mut row_labels = vec![0 as Label; tasks.len()];
    for ((&t, &w), &l) in tasks.iter().zip(workers).zip(labels) {
        let slot = &mut next[t as usize];
        row_workers[*slot as usize] = w as u32;
        row_labels[*slot as usize] = l as Label;
        *slot += 1;
    }
    (offsets, row_workers, row_labels)
}

/// An id of any integer type as an index (`Label`, the `u32` ids of the indexes, `usize`, or
/// a literal); a negative id is out of range, as any id past the end.
fn index(id: impl TryInto<usize>) -> usize {
    id.try_into().unwrap_or(usize::MAX)
}

pub(crate) fn intern(set: &mut Interner, value: &str) -> u32 {
    match set.get_index_of(value) {
        Some(i) => i as u32,
        None => set.insert_full(value.into()).0 as u32,
    }
}

/// Compares two ids by the label order rule, given whether all ids are integers.
pub(crate) fn compare_names(a: &str, b: &str, numeric: bool) -> std::cmp::Ordering {
    if numeric {
        let (x, y) = (parse_int(a).unwrap_or(0), parse_int(b).unwrap_or(0));
        x.cmp(&y).then_with(|| a.as_bytes().cmp(b.as_bytes()))
    } else {
        a.as_bytes().cmp(b.as_bytes())
    }
}

/// Parses `[+-]?[0-9]+` as i64 (the integer form the label order rule recognises).
pub(crate) fn parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Reorders an interner by the label order rule; returns it, old id → new id, and whether the
/// order was numeric.
pub(crate) fn canonical(set: Interner) -> (Interner, Vec<u32>, bool) {
    let numeric = set.iter().all(|s| parse_int(s).is_some());
    let (sorted, rank) = sorted_names(set, numeric);
    (sorted, rank, numeric)
}

/// Reorders an interner by [`compare_names`] (numeric or byte order); returns it and old id →
/// new id.
fn sorted_names(set: Interner, numeric: bool) -> (Interner, Vec<u32>) {
    let mut order: Vec<u32> = (0..set.len() as u32).collect();
    order.par_sort_unstable_by(|&a, &b| compare_names(&set[a as usize], &set[b as usize], numeric));
    if order.iter().enumerate().all(|(i, &o)| i as u32 == o) {
        // Already canonical (e.g. a file sorted by id): keep the set, skip the rebuild.
        return (set, order);
    }
    let mut rank = vec![0u32; set.len()];
    for (new, &old) in order.iter().enumerate() {
        rank[old as usize] = new as u32;
    }
    let mut slots: Vec<Option<Box<str>>> = set.into_iter().map(Some).collect();
    let sorted: Interner = order
        .iter()
        .map(|&old| slots[old as usize].take().expect("each id taken once"))
        .collect();
    (sorted, rank)
}

/// Applies `KeepLast` or `Reject` to remapped triples given in input order.
fn resolve_duplicates(
    raw: Vec<[u32; 3]>,
    policy: DuplicatePolicy,
    tasks: &Names,
    workers: &Names,
) -> Result<Vec<[u32; 3]>, DataError> {
    let mut order: Vec<u32> = (0..raw.len() as u32).collect();
    // Stable: within a (task, worker) pair, input order is kept.
    order.sort_by_key(|&i| {
        let [t, w, _] = raw[i as usize];
        ((t as u64) << 32) | w as u64
    });
    let mut keep = vec![true; raw.len()];
    for pair in order.windows(2) {
        let (a, b) = (raw[pair[0] as usize], raw[pair[1] as usize]);
        if a[0] == b[0] && a[1] == b[1] {
            if policy == DuplicatePolicy::Reject {
                return Err(DataError::DuplicateResponse {
                    task: tasks[a[0] as usize].to_string(),
                    worker: workers[a[1] as usize].to_string(),
                    first: pair[0] as u64 + 1,
                    second: pair[1] as u64 + 1,
                });
            }
            keep[pair[0] as usize] = false;
        }
    }
    Ok(raw
        .into_iter()
        .zip(keep)
        .filter_map(|(r, k)| k.then_some(r))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_codes_checks_every_code() {
        // Hand-made: 2 tasks, 2 workers, 2 labels, every code used once at least.
        let data = Responses::from_codes(2, 2, 2, &[1, 0, 1], &[0, 1, 1], &[0, 1, 1]).unwrap();
        assert_eq!(
            data.task_responses(1usize),
            (&[0u32, 1][..], &[0 as Label, 1][..])
        );
        let unused = Responses::from_codes(3, 2, 2, &[1, 0], &[0, 1], &[0, 1]).unwrap_err();
        assert_eq!(
            unused,
            DataError::CodeUnused {
                column: "task",
                code: 2
            }
        );
        let negative = Responses::from_codes(2, 2, 2, &[0, 1], &[0, -1], &[0, 1]).unwrap_err();
        assert!(matches!(
            negative,
            DataError::CodeOutOfRange {
                column: "worker",
                row: 1,
                ..
            }
        ));
        // A code out of range is reported before an unused code of an earlier column (the
        // columns are checked in parallel; the order of the errors is fixed).
        let both = Responses::from_codes(3, 2, 2, &[1, 0], &[0, 5], &[0, 1]).unwrap_err();
        assert!(matches!(
            both,
            DataError::CodeOutOfRange {
                column: "worker",
                row: 1,
                code: 5,
                ..
            }
        ));
        let lengths = Responses::from_codes(1, 1, 1, &[0], &[0, 0], &[0]).unwrap_err();
        assert!(matches!(lengths, DataError::CodeLengths { workers: 2, .. }));
    }

    #[test]
    fn label_order_is_numeric_when_all_integers() {
        let data =
            Responses::from_triples([("a", "w", "10"), ("b", "w", "2"), ("c", "w", "-1")]).unwrap();
        assert_eq!(data.label_names(), ["-1", "2", "10"]);
        assert!(data.labels_are_numeric());
        let data = Responses::from_triples([("a", "w", "10"), ("b", "w", "2x")]).unwrap();
        assert_eq!(data.label_names(), ["10", "2x"]);
    }

    #[test]
    fn the_networks_sort_every_row_of_zeros_and_ones() {
        // The 0-1 principle (Knuth, 5.3.4, theorem Z): a comparator network that sorts every
        // sequence of zeros and ones sorts every sequence.
        fn sorts_all(n: usize, network: &[(u8, u8)]) -> bool {
            (0u32..1 << n).all(|bits| {
                let mut v: Vec<u32> = (0..n).map(|i| bits >> i & 1).collect();
                for &(a, b) in network {
                    let (a, b) = (usize::from(a), usize::from(b));
                    if v[a] > v[b] {
                        v.swap(a, b);
                    }
                }
                v.is_sorted()
            })
        }
        for (n, network) in NETWORKS.iter().enumerate().skip(4) {
            assert!(sorts_all(n, network), "{n} inputs");
            // And a network that is not one fails: its last comparator left out.
            assert!(!sorts_all(n, &network[..network.len() - 1]), "{n} inputs");
        }
    }

    #[test]
    fn small_rows_sort_as_a_full_sort_does() {
        // Rows of 0..=20 entries with repeated ids and labels, against sort_unstable of keys.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..5000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let n = (state % 21) as usize;
            // Ids and labels at both ends of their ranges: a key that lost a high bit of
            // either would sort them wrongly.
            let entries: Vec<(u32, Label)> = (0..n)
                .map(|k| {
                    let id = ((state >> (k % 50)) % 5) as u32 * 1000;
                    let label = ((state >> (k + 7)) % 3) as Label;
                    match (state >> (k % 40)) % 4 {
                        0 => (u32::MAX - id, label),
                        1 => (id, Label::MAX - label),
                        _ => (id, label),
                    }
                })
                .collect();
            let (mut ids, mut labels): (Vec<u32>, Vec<Label>) = entries.iter().copied().unzip();
            let mut want = entries.clone();
            want.sort_unstable();
            sort_small_row(&mut ids, &mut labels);
            let got: Vec<(u32, Label)> = ids.into_iter().zip(labels).collect();
            assert_eq!(got, want);
            // Rows that come sorted (left as they are) and reversed.
            for row in [want.clone(), want.iter().rev().copied().collect()] {
                let (mut ids, mut labels): (Vec<u32>, Vec<Label>) = row.into_iter().unzip();
                sort_small_row(&mut ids, &mut labels);
                let got: Vec<(u32, Label)> = ids.into_iter().zip(labels).collect();
                assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn indexes_are_independent_of_row_order() {
        let rows = [
            ("t2", "w1", "x"),
            ("t1", "w2", "y"),
            ("t1", "w1", "x"),
            ("t2", "w2", "x"),
            ("t1", "w1", "y"),
        ];
        let a = Responses::from_triples(rows).unwrap();
        let mut reversed = rows;
        reversed.reverse();
        let b = Responses::from_triples(reversed).unwrap();
        assert_eq!(a.by_task(), b.by_task());
        assert_eq!(a.by_worker(), b.by_worker());
        assert_eq!(a.duplicate_count(), 1);
        assert_eq!(a.by_task().row(0), (&[0u32, 0, 1][..], &[0u16, 1, 1][..]));
        assert_eq!(a.by_worker().row(0), (&[0u32, 0, 1][..], &[0u16, 1, 0][..]));
    }

    #[test]
    fn parallel_counting_sort_is_the_same_for_any_thread_count() {
        // Enough responses (≥ 2^16) for the parallel path; workers and labels scrambled.
        let rows: Vec<(String, String, String)> = (0..150_000u64)
            .map(|i| {
                let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
                (
                    format!("t{}", h % 9_001),
                    format!("w{}", h % 1_237),
                    format!("{}", i % 3),
                )
            })
            .collect();
        let build = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    Responses::from_triples(rows.iter().map(|(t, w, l)| (t, w, l))).unwrap()
                })
        };
        let one = build(1);
        // The reference: every (task, worker, label) sorted, and each worker's (task, label).
        let mut by_task: Vec<(u32, u32, Label)> = Vec::new();
        let mut by_worker: Vec<(u32, u32, Label)> = Vec::new();
        for (t, w, l) in &rows {
            let (t, w) = (
                one.task_id(t).unwrap() as u32,
                one.worker_id(w).unwrap() as u32,
            );
            let l = one.label_id(l).unwrap();
            by_task.push((t, w, l));
            by_worker.push((w, t, l));
        }
        by_task.sort_unstable();
        by_worker.sort_unstable();
        let flatten = |csr: &Csr| -> Vec<(u32, u32, Label)> {
            (0..csr.len())
                .flat_map(|r| {
                    let (ids, labels) = csr.row(r);
                    ids.iter()
                        .zip(labels)
                        .map(move |(&i, &l)| (r as u32, i, l))
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        assert_eq!(flatten(one.by_task()), by_task);
        assert_eq!(flatten(one.by_worker()), by_worker);
        for threads in [2, 3, 7] {
            let other = build(threads);
            assert_eq!(other.by_task(), one.by_task(), "{threads} threads");
            assert_eq!(other.by_worker(), one.by_worker(), "{threads} threads");
        }
        // Asked from pool threads at once (a parallel loop over the workers of a table whose
        // worker index is not built yet): one build under the lock, the same rows.
        let fresh = build(2);
        assert!(fresh.by_worker_if_built().is_none());
        let rows_of = |data: &Responses, w: usize| {
            let (ids, labels) = data.worker_responses(w);
            (ids.to_vec(), labels.to_vec())
        };
        let seen: Vec<_> = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap()
            .install(|| {
                (0..fresh.n_workers())
                    .into_par_iter()
                    .map(|w| rows_of(&fresh, w))
                    .collect()
            });
        let expected: Vec<_> = (0..one.n_workers()).map(|w| rows_of(&one, w)).collect();
        assert_eq!(seen, expected);
        assert_eq!(fresh.by_worker(), one.by_worker());
    }

    #[test]
    fn duplicate_policies() {
        let rows = [("t", "w", "a"), ("t", "v", "a"), ("t", "w", "b")];
        let last = Responses::builder().duplicates(DuplicatePolicy::KeepLast);
        let mut last = last;
        for (t, w, l) in rows {
            last.push(t, w, l).unwrap();
        }
        let last = last.build().unwrap();
        assert_eq!(last.n_responses(), 2);
        assert_eq!(last.by_task().row(0), (&[0u32, 1][..], &[0u16, 1][..]));
        let mut reject = Responses::builder().duplicates(DuplicatePolicy::Reject);
        for (t, w, l) in rows {
            reject.push(t, w, l).unwrap();
        }
        assert_eq!(
            reject.build().unwrap_err(),
            DataError::DuplicateResponse {
                task: "t".into(),
                worker: "w".into(),
                first: 1,
                second: 3
            }
        );
    }

    #[test]
    fn empty_fields_are_errors() {
        let err = Responses::from_triples([("t", "w", "a"), ("t", "", "a")]).unwrap_err();
        assert_eq!(
            err,
            DataError::EmptyField {
                field: "worker",
                record: 2
            }
        );
    }

    #[test]
    fn an_empty_table_is_valid() {
        let none: [(&str, &str, &str); 0] = [];
        let data = Responses::from_triples(none).unwrap();
        assert!(data.is_empty());
        assert_eq!(
            (data.n_tasks(), data.n_workers(), data.n_labels()),
            (0, 0, 0)
        );
        assert!(data.by_task().is_empty() && data.by_worker().is_empty());
    }
}
