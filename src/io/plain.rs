//! The fast path for large response tables: plain (unquoted) CSV/TSV cut into chunks that
//! the threads read and parse in parallel from the first byte.
//!
//! # What it reads, and what it leaves to the general reader
//! A file read here is one where every record is one line of fields split by the delimiter:
//! no quote character anywhere, no carriage return except in CRLF line ends. Blank lines are
//! skipped (as csv does). On anything else — a quote, a stray CR, a row with a different field
//! count, an empty task/worker/label, invalid UTF-8, a header it cannot resolve — it gives up
//! and returns `None`, and the caller reads the whole file again with the general
//! (sequential, csv crate) reader, which either succeeds the same way or reports the problem
//! with its `file:line:col` location. Giving up costs one extra read of what was parsed so
//! far (invalid UTF-8 is found only when the names are merged, after the whole file); it never
//! changes the result. Too many distinct labels is not a reason to give up: it is reported as
//! the general reader reports it, as an error about the whole file.
//!
//! # Parallelism without losing determinism
//! The body (after the header) is cut every [`CHUNK`] bytes; a line belongs to the chunk its
//! first byte is in. Each thread reads the chunks it takes with positioned reads into its own
//! buffer (no sequential read of the file, no buffer of the file's size, and the bytes are
//! still in cache when parsed), looks at the byte before the chunk to know where its first
//! line starts, and reads past the chunk's end to finish its last line. Each thread interns
//! ids into its own slot's tables (keyed by slices of the buffer, so no allocation per line;
//! names of a prefix and digits by their value, see
//! [`DigitTable`](super::local_names::DigitTable)). Tasks usually come in runs (exports are
//! grouped by task): while they do, each run gets a new local id without any hashing, by
//! comparing with the previous row's task (a task seen in two runs gets two local ids, merged
//! later); when runs average under two rows the chunk switches to hashing, and the slot's
//! later chunks hash from their first row, finding the tasks it hashed before under their
//! ids (a random-order file gives each thread one local id per task). A chunk's rows are
//! appended to its slot's rows in the slot's local ids, and the slot counts the rows of each
//! local task id. At the end, the distinct names of all slots are merged into canonical order
//! by [`names::merge`](crate::names::merge) (a parallel sort and dedup, no global hash table),
//! and each slot writes its rows straight into their places in the task index, all slots at
//! once (see `responses::local_parts`); under `--duplicates keep-last` or `reject`, which need
//! file order, the chunks' rows are rewritten to canonical ids and the index built from them.
//! Canonical ids depend only on the set of names, and each task's answers are sorted by
//! (worker, label), so the result does not depend on the thread count, which thread took which
//! chunk, the chunk size or the row order.
//!
//! # Counting labels instead of keeping rows
//! [`read_label_counts_in_chunks`] parses the same way, but each slot keeps only how often each
//! of its local tasks got each of its local labels (`LabelTally`): no rows, no row places, no
//! task index, and the workers are not numbered, only checked to be UTF-8 as the merge would
//! (`RowStore::WORKERS`). After the merge of the task and label names, each slot adds its
//! counts into a tasks × labels table of canonical ids, and the tables are added up:
//! integers, so the same counts whatever the layout. An unweighted majority vote needs no more
//! (at 10⁶ rows, MV end to end took 26–27 ms instead of 39–41: BENCHMARKS.md, session 19). A
//! slot whose counts outgrow its rows (many labels, each on few tasks) gives up, and the rows
//! are read instead.

use std::fs::File;
use std::num::NonZeroU64;
use std::ops::Range;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;

use super::local_names::{DigitSplit, LocalNames, pack, short_key};
use super::responses::ReadOptions;
use super::source::io_error;
use super::source::whole;
use crate::error::{DataError, Error};
use crate::names::{Merged, Names, PartNames, RowPlaces, merge, merge_rows};
use crate::responses::{DuplicatePolicy, Label, LabelCounts, LocalPart, Responses};

/// Bytes parsed as one chunk (plus the end of its last line): small enough that a chunk read
/// into its thread's buffer is still in that core's L2 cache when it is parsed, and that the
/// chunks of a 15 MB file keep two cores busy to the end.
const CHUNK: usize = 1 << 20;

/// Bytes between two progress reports (the chunks of one wave are parsed in parallel).
const WAVE: usize = 64 << 20;

/// The longest header line looked for (a longer one goes to the general reader).
const MAX_HEADER: usize = 1 << 20;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The most rows a slot reserves at its first chunk (1.5 GB): a larger table's slot grows its
/// block beyond (one copy per doubling, or a remap).
const MAX_RESERVED_ROWS: usize = 1 << 27;

/// Reads `path` if it is a plain table; `Ok(None)` means "use the general reader".
/// `progress(bytes_done, bytes_total)` is called after each wave of chunks.
pub(crate) fn read_plain(
    path: &Path,
    options: &ReadOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Option<Responses>, Error> {
    read_plain_in_chunks(path, options, progress, CHUNK)
}

/// [`read_label_counts_in_chunks`] with the chunks of [`read_plain`].
pub(crate) fn read_plain_label_counts(
    path: &Path,
    options: &ReadOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Option<LabelCounts>, Error> {
    read_label_counts_in_chunks(path, options, progress, CHUNK)
}

/// [`read_plain`] with chunks of `chunk` bytes (tests cross chunk boundaries with small ones).
pub(crate) fn read_plain_in_chunks(
    path: &Path,
    options: &ReadOptions,
    progress: &mut dyn FnMut(u64, u64),
    chunk: usize,
) -> Result<Option<Responses>, Error> {
    let Some(Parsed { slots, chunks }) = parse_plain(path, options, progress, chunk, false)? else {
        return Ok(None);
    };
    if options.duplicates == DuplicatePolicy::Keep {
        let mut slots = slots;
        let Some((names, places, merged)) = merge_names_placing(&mut slots) else {
            return Ok(None); // invalid UTF-8: the general reader locates it
        };
        return place_slots(slots, names, places, merged)
            .map_err(|err| whole(path, err.to_string()));
    }
    let Some((names, rows)) = canonical_rows(&slots, &chunks) else {
        return Ok(None); // invalid UTF-8: the general reader locates it
    };
    drop(slots);
    Responses::from_canonical_chunks(names, rows, options.duplicates)
        .map(Some)
        .map_err(|err| whole(path, err.to_string()))
}

/// Reads the label counts of `path` if it is a plain table, the slots counting labels instead
/// of keeping rows; `Ok(None)` means "read the responses": the general reader's cases, and
/// those where the counts would not be smaller than the rows ([`MAX_CELLS_PER_ROW`]) or would
/// be of more labels than a table of responses holds (whose read reports it). Duplicates are
/// counted (`options.duplicates` other than keep: `Ok(None)`).
pub(crate) fn read_label_counts_in_chunks(
    path: &Path,
    options: &ReadOptions,
    progress: &mut dyn FnMut(u64, u64),
    chunk: usize,
) -> Result<Option<LabelCounts>, Error> {
    if options.duplicates != DuplicatePolicy::Keep {
        return Ok(None);
    }
    let Some(Parsed { slots, chunks }) = parse_plain(path, options, progress, chunk, true)? else {
        return Ok(None);
    };
    // The workers were only checked (see `RowStore::WORKERS`).
    let (tasks, labels) = rayon::join(|| merge_column(&slots, 0), || merge_column(&slots, 2));
    let (Some(tasks), Some(labels)) = (tasks, labels) else {
        return Ok(None); // invalid UTF-8: the general reader locates it
    };
    let rows: usize = chunks.iter().map(|chunk| chunk.rows.len()).sum();
    // Labels each on few tasks of their slot may still make the table of all tasks × all
    // labels larger than the rows: the rows are read then.
    let cells = tasks.names.len().saturating_mul(labels.names.len());
    if labels.names.len() > usize::from(Label::MAX) + 1 || cells > most_cells(rows) {
        return Ok(None);
    }
    let counts = canonical_counts(&slots, &tasks, &labels);
    Ok(Some(LabelCounts::from_parts(
        tasks.names,
        labels.names,
        rows,
        counts,
    )))
}

/// The tasks × labels table (row-major, canonical ids) of the counting slots' counts: the
/// slots' counts added into up to [`COUNT_TABLES`] tables in parallel (a slot may hold a task
/// under several local ids), then the tables added up (integers: in any order, the same
/// sums).
fn canonical_counts(slots: &[Slot], tasks: &Merged, labels: &Merged) -> Vec<u32> {
    let (n, k) = (tasks.names.len(), labels.names.len());
    let per_table = slots.len().div_ceil(COUNT_TABLES).max(1);
    let mut tables: Vec<Vec<u32>> = slots
        .par_chunks(per_table)
        .enumerate()
        .map(|(g, group)| {
            let mut table = vec![0u32; n * k];
            for (i, slot) in group.iter().enumerate() {
                let s = g * per_table + i;
                let (task_ids, label_ids) = (tasks.map(s), labels.map(s));
                for (label, counts) in slot.tally.counts.iter().enumerate() {
                    let label = label_ids[label] as usize;
                    for (&task, &count) in task_ids.iter().zip(counts) {
                        table[task as usize * k + label] += count;
                    }
                }
            }
            table
        })
        .collect();
    let Some((first, rest)) = tables.split_first_mut() else {
        return vec![0; n * k];
    };
    const SUMMED_TOGETHER: usize = 1 << 16;
    first
        .par_chunks_mut(SUMMED_TOGETHER)
        .enumerate()
        .for_each(|(i, sums)| {
            for table in rest.iter() {
                let part = &table[i * SUMMED_TOGETHER..][..sums.len()];
                for (sum, &count) in sums.iter_mut().zip(part) {
                    *sum += count;
                }
            }
        });
    tables.swap_remove(0)
}

/// The most tables of all tasks × all labels the slots' counts are added into at once: one
/// per slot would take that many tables on a machine of many threads.
const COUNT_TABLES: usize = 4;

/// What the chunks of a plain table were parsed into: the slots, and each chunk's rows.
struct Parsed {
    slots: Vec<Slot>,
    chunks: Vec<Chunk>,
}

/// Parses the plain table `path` in chunks of `chunk` bytes, the slots keeping rows, or only
/// counting labels (`counting`); `Ok(None)` means "use the general reader".
fn parse_plain(
    path: &Path,
    options: &ReadOptions,
    progress: &mut dyn FnMut(u64, u64),
    chunk: usize,
    counting: bool,
) -> Result<Option<Parsed>, Error> {
    // No positioned reads on this platform: the general reader reads everything.
    if cfg!(not(any(unix, windows))) {
        return Ok(None);
    }
    // Positioned reads need a regular file: anything else (a named pipe, `/dev/fd/N` of a
    // process substitution) goes to the general reader, which streams it, before it is opened
    // here (a pipe opened twice would lose what the first reader took).
    if !std::fs::metadata(path).is_ok_and(|meta| meta.is_file()) {
        return Ok(None);
    }
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let total = file.metadata().map_err(|e| io_error(path, e))?.len();
    let delimiter = options.delimiter_for(path);
    if matches!(delimiter, b'"' | b'\n' | b'\r') {
        return Ok(None);
    }
    // The header line: 4 KiB read, more while no line end is found (up to MAX_HEADER).
    let mut head = Vec::new();
    let (start, header_len) = loop {
        let old = head.len();
        let want = (old.max(2048) * 2).min(MAX_HEADER);
        head.resize(want, 0);
        let read = fill_at(&file, old as u64, &mut head[old..]).map_err(|e| io_error(path, e))?;
        head.truncate(old + read);
        let start = if head.starts_with(BOM) { BOM.len() } else { 0 };
        if let Some(len) = memchr::memchr(b'\n', head.get(start..).unwrap_or_default()) {
            break (start, len);
        }
        if old + read < want || want == MAX_HEADER {
            return Ok(None); // no line end: the general reader sees to it
        }
    };
    let Some(columns) = Columns::find(&head[start..start + header_len], delimiter, options) else {
        return Ok(None);
    };
    drop(head);
    let layout = Layout {
        body: (start + header_len + 1) as u64,
        total,
        chunk: chunk.max(1) as u64,
    };
    let n_chunks = (total - layout.body.min(total)).div_ceil(layout.chunk);
    let n_slots = rayon::current_num_threads().max(1) as u64;
    // A slot's share of the chunks, and one more (a thread may take more than its share).
    let share = (n_chunks.div_ceil(n_slots) + 1).min(n_chunks);
    let slots: Vec<Mutex<Slot>> = (0..n_slots)
        .map(|_| {
            Mutex::new(Slot {
                share,
                counting,
                ..Slot::default()
            })
        })
        .collect();
    let per_wave = (WAVE as u64 / layout.chunk).max(1);
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut rows = 0usize;
    for first in (0..n_chunks).step_by(per_wave as usize) {
        let last = (first + per_wave).min(n_chunks);
        let parsed: Vec<Option<Chunk>> = (first..last)
            .into_par_iter()
            .map(|k| {
                // The slot of this thread: its names, its buffer (locked only by this thread;
                // the lock makes a stray index harmless).
                let index = rayon::current_thread_index().unwrap_or(0) % slots.len();
                let mut slot = slots[index].lock().unwrap_or_else(PoisonError::into_inner);
                slot.parse_chunk(&file, &layout, k, &columns, delimiter)
                    .map(|rows| rows.map(|rows| Chunk { slot: index, rows }))
            })
            .collect::<std::io::Result<_>>()
            .map_err(|e| io_error(path, e))?;
        for chunk in parsed {
            let Some(chunk) = chunk else {
                return Ok(None);
            };
            rows += chunk.rows.len();
            chunks.push(chunk);
        }
        if rows >= u32::MAX as usize {
            return Ok(None); // the general reader reports "too many responses"
        }
        progress((layout.body + last * layout.chunk).min(total), total);
    }
    // A file grown while being read would have its tail silently left out.
    if file.metadata().map_err(|e| io_error(path, e))?.len() != total {
        return Err(io_error(path, changed_size()));
    }
    if rows == 0 {
        return Ok(None);
    }
    let slots: Vec<Slot> = slots
        .into_iter()
        .map(|s| s.into_inner().unwrap_or_else(PoisonError::into_inner))
        .collect();
    Ok(Some(Parsed { slots, chunks }))
}

/// Where the rows are: the body (after the header line) up to `total`, cut every `chunk`
/// bytes. A line belongs to the chunk its first byte is in.
struct Layout {
    body: u64,
    total: u64,
    chunk: u64,
}

/// One chunk's rows: where they are in the rows of the slot that parsed it (in its local ids).
struct Chunk {
    slot: usize,
    rows: Range<usize>,
}

/// Every slot's rows straight to their places in the task index (`places`, the slots' lanes
/// in slot order), in parallel (no rewrite to canonical ids, no counting sort over all rows);
/// `Ok(None)` as [`Responses::from_local_parts`].
fn place_slots(
    slots: Vec<Slot>,
    names: [Names; 3],
    places: RowPlaces,
    merged: [Merged; 2],
) -> Result<Option<Responses>, DataError> {
    // What the parts keep of their slots; the rest (names, buffers) is freed in parallel.
    let rows: Vec<Vec<[u32; 3]>> = slots.into_par_iter().map(|s| s.rows).collect();
    let parts: Vec<LocalPart<'_>> = rows
        .into_iter()
        .enumerate()
        .map(|(s, rows)| LocalPart {
            maps: [0, 1].map(|c| merged[c].map(s)),
            rows,
        })
        .collect();
    Responses::from_local_parts(names, places, parts)
}

/// The slots' local names merged into canonical order as [`merge_names`] does, the tasks'
/// with the slots' row counts (taken from them): the names, where each slot's rows of each
/// local task id go, and the workers' and labels' merges; `None` if a name is not UTF-8 (or
/// a slot's row counts are not one per local task id, a bug the general reader does not
/// have).
fn merge_names_placing(slots: &mut [Slot]) -> Option<([Names; 3], RowPlaces, [Merged; 2])> {
    let counts: Vec<Vec<u32>> = slots
        .iter_mut()
        .map(|slot| std::mem::take(&mut slot.task_rows))
        .collect();
    let slots = &*slots;
    if slots
        .iter()
        .zip(&counts)
        .any(|(slot, counts)| slot.names[0].new_ends.len() != counts.len())
    {
        return None;
    }
    let (tasks, (workers, labels)) = rayon::join(
        || merge_rows(&part_names(slots, 0), true, counts).ok(),
        || rayon::join(|| merge_column(slots, 1), || merge_column(slots, 2)),
    );
    let ((tasks, places), mut workers, mut labels) = (tasks?, workers?, labels?);
    let names = [
        tasks,
        std::mem::take(&mut workers.names),
        std::mem::take(&mut labels.names),
    ];
    Some((names, places, [workers, labels]))
}

/// Rows in canonical ids, in pieces in file order.
type CanonicalRows = Vec<Vec<[u32; 3]>>;

/// Merges the slots' local names of each column into canonical order, and gives every
/// chunk's rows in canonical ids, in file order; `None` if a name is not UTF-8.
fn canonical_rows(slots: &[Slot], chunks: &[Chunk]) -> Option<([Names; 3], CanonicalRows)> {
    let merged = merge_names(slots)?;
    let rows = chunks
        .par_iter()
        .map(|chunk| {
            let [t, w, l] = [0, 1, 2].map(|c| merged[c].map(chunk.slot));
            slots[chunk.slot].rows[chunk.rows.clone()]
                .iter()
                .map(|row| [t[row[0] as usize], w[row[1] as usize], l[row[2] as usize]])
                .collect()
        })
        .collect();
    Some((merged.map(|m| m.names), rows))
}

/// The slots' local names of each column merged into canonical order (tasks, workers,
/// labels); `None` if a name is not UTF-8.
fn merge_names(slots: &[Slot]) -> Option<[Merged; 3]> {
    let merged: Vec<Merged> = (0..3)
        .into_par_iter()
        .map(|c| merge_column(slots, c))
        .collect::<Option<_>>()?;
    merged.try_into().ok()
}

/// The slots' local names of column `c` merged into canonical order; `None` if a name is not
/// UTF-8.
fn merge_column(slots: &[Slot], c: usize) -> Option<Merged> {
    merge(&part_names(slots, c), true).ok()
}

/// The slots' local names of column `c`.
fn part_names(slots: &[Slot], c: usize) -> Vec<PartNames<'_>> {
    slots
        .iter()
        .map(|slot| PartNames {
            bytes: &slot.names[c].new_bytes,
            ends: &slot.names[c].new_ends,
        })
        .collect()
}

/// The error of a read that found fewer bytes than the file's length promised: the file
/// shrank (or was replaced) while being read, and what was read may be cut mid-line.
fn changed_size() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "changed size while being read",
    )
}

/// Reads bytes at `offset` into `buffer` until it is full or the file ends; returns how many.
fn fill_at(file: &File, offset: u64, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut done = 0;
    while done < buffer.len() {
        match read_at(file, &mut buffer[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// A positioned read (threads read their chunks of one file handle at once).
#[cfg(unix)]
fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buffer, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buffer: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buffer, offset)
}

#[cfg(not(any(unix, windows)))]
fn read_at(_: &File, _: &mut [u8], _: u64) -> std::io::Result<usize> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// Positions of the three columns in a header line, and the field count.
struct Columns {
    fields: usize,
    /// Field index of task, worker, label.
    at: [usize; 3],
}

impl Columns {
    fn find(line: &[u8], delimiter: u8, options: &ReadOptions) -> Option<Self> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().any(|&b| b == b'"' || b == b'\r') {
            return None;
        }
        let header: Vec<&str> = line
            .split(|&b| b == delimiter)
            .map(|f| std::str::from_utf8(f).map(str::trim))
            .collect::<Result<_, _>>()
            .ok()?;
        let mut at = [0; 3];
        let names = [
            &options.task_column,
            &options.worker_column,
            &options.label_column,
        ];
        for (slot, name) in at.iter_mut().zip(names) {
            let mut found = header
                .iter()
                .enumerate()
                .filter(|(_, h)| **h == name.as_str());
            *slot = found.next()?.0;
            if found.next().is_some() {
                return None;
            }
        }
        Some(Self {
            fields: header.len(),
            at,
        })
    }
}

/// The parsing state of one thread: local names of tasks, workers and labels (ids persist
/// across chunks: a worker seen before costs one local lookup; each chunk finds out afresh
/// whether its tasks come in runs, and the tasks it hashes are found under the ids earlier
/// chunks hashed them to), and the buffer its chunks are read into.
#[derive(Default)]
struct Slot {
    names: [LocalNames; 3],
    /// The number of rows of each local task id.
    task_rows: Vec<u32>,
    /// The rows of every chunk parsed, in local ids: one block, reserved at the first chunk
    /// for [`Slot::share`] chunks of its line count (grown block by block, it was copied at
    /// each growth under an allocator that does not remap, the old and new blocks' pages both
    /// faulted in; a block per chunk instead had each faulted in afresh, which cost more);
    /// grown by the line count of each chunk beyond.
    rows: Vec<[u32; 3]>,
    bytes: Vec<u8>,
    /// The chunks this slot is expected to parse (0 or 1: room for one chunk's rows).
    share: u64,
    /// Whether the slot only counts labels (for [`read_label_counts_in_chunks`]): then
    /// `task_rows` and `rows` stay empty, and `tally` holds what it read.
    counting: bool,
    tally: LabelTally,
}

impl Slot {
    /// Reads and parses chunk `k`: its rows in this slot's local ids, `None` on anything the
    /// fast path does not handle (see the module documentation).
    fn parse_chunk(
        &mut self,
        file: &File,
        layout: &Layout,
        k: u64,
        columns: &Columns,
        delimiter: u8,
    ) -> std::io::Result<Option<Range<usize>>> {
        let begin = layout.body + k * layout.chunk;
        let end = (begin + layout.chunk).min(layout.total);
        // From the byte before: whether a line starts at `begin` is whether that byte ends one.
        let from = if k == 0 { begin } else { begin - 1 };
        let want = (end - from) as usize;
        // The last line's completion (below) reads a step at a time.
        let step = layout.chunk.clamp(64, 64 << 10);
        if self.bytes.len() < want {
            // With room for one step past the longest chunk read (the first is a byte
            // shorter): a last line running past the chunk's end would otherwise double the
            // buffer (the chunk copied into a fresh block twice its size).
            let longest = layout.chunk.min(layout.total.saturating_sub(layout.body)) + 1;
            let room = (longest + step) as usize;
            self.bytes
                .reserve_exact(room.max(want + step as usize) - self.bytes.len());
            self.bytes.resize(want, 0);
        }
        let mut n = fill_at(file, from, &mut self.bytes[..want])?;
        if n < want {
            return Err(changed_size()); // `end` is within the length the file had
        }
        let first = if k == 0 {
            0
        } else {
            memchr::memchr(b'\n', &self.bytes[..n]).map_or(n, |p| p + 1)
        };
        if first >= n {
            return Ok(Some(self.rows.len()..self.rows.len())); // no line starts in this chunk
        }
        // Complete the last line, which may run into the next chunks.
        if self.bytes[n - 1] != b'\n' && end < layout.total {
            loop {
                let more = step.min(layout.total - (from + n as u64)) as usize;
                if more == 0 {
                    break;
                }
                if self.bytes.len() < n + more {
                    self.bytes.resize(n + more, 0);
                }
                let got = fill_at(file, from + n as u64, &mut self.bytes[n..n + more])?;
                if got < more {
                    return Err(changed_size());
                }
                if let Some(p) = memchr::memchr(b'\n', &self.bytes[n..n + got]) {
                    n += p + 1;
                    break;
                }
                n += got;
            }
        }
        if self.counting {
            return Ok(self.count_lines(first..n, columns, delimiter));
        }
        let Self {
            names,
            task_rows,
            rows,
            bytes,
            share,
            ..
        } = self;
        names[0].start_chunk();
        // One row per line end (and one for a last line without): counted first (a vectorised
        // pass over bytes still in cache), so that the rows are written once into memory of
        // their size, not copied when a guess falls short (a copy and fresh pages per chunk).
        let lines = memchr::memchr_iter(b'\n', &bytes[first..n]).count() + 1;
        let start = rows.len();
        let body = &bytes[first..n];
        if start != 0 {
            rows.reserve(lines);
            let parsed = parse_rows(
                names,
                body,
                columns,
                delimiter,
                RowTable::of(task_rows, rows),
            );
            return Ok(parsed.map(|()| start..rows.len()));
        }
        // The slot's first chunk: room for the rows of its share of chunks, estimated from
        // this chunk's lines (past the cap, or past the estimate, they grow as a vector does;
        // pages left untouched at the end cost no memory, but count against the commit limit
        // where overcommit is turned off, `vm.overcommit_memory=2`), then for their task names
        // and row counts, estimated from the chunk's first lines (its probe), each list in one
        // block of about its final size. Grown from empty, the task lists went through a dozen
        // sizes, each a fresh region of the allocator's (a fresh 2 MiB page zeroed by the
        // kernel), and a copy at the end of the chunk; an upper bound (a task per line) spread
        // them over more pages than they fill (measured at 10⁶ rows: BENCHMARKS.md, session 13).
        let expected = lines.saturating_mul((*share).max(1) as usize);
        let expected = expected.min(MAX_RESERVED_ROWS).max(lines);
        // An estimate refused by the allocator is not an error: this chunk's rows then.
        if rows.try_reserve_exact(expected).is_err() {
            rows.reserve_exact(lines);
        }
        let probe = probe_end(body);
        if parse_rows(
            names,
            &body[..probe],
            columns,
            delimiter,
            RowTable::of(task_rows, rows),
        )
        .is_none()
        {
            return Ok(None);
        }
        let tasks = expected_tasks(&names[0], rows.len(), expected);
        reserve_tasks(&mut names[0], [&mut *task_rows], tasks);
        let parsed = parse_rows(
            names,
            &body[probe..],
            columns,
            delimiter,
            RowTable::of(task_rows, rows),
        );
        Ok(parsed.map(|()| start..rows.len()))
    }

    /// [`Slot::parse_chunk`] of a counting slot, once the lines `lines` of its buffer are read:
    /// each (task, label) counted, no row kept. `None` also when the counts would take more
    /// memory than rows ([`MAX_CELLS_PER_ROW`]).
    fn count_lines(
        &mut self,
        lines: Range<usize>,
        columns: &Columns,
        delimiter: u8,
    ) -> Option<Range<usize>> {
        let Self {
            names,
            bytes,
            share,
            tally,
            ..
        } = self;
        names[0].start_chunk();
        let body = &bytes[lines];
        let start = tally.rows;
        let mut probe = 0;
        if start == 0 {
            // The slot's first chunk: its probe tells the tasks to expect (as for the rows).
            probe = probe_end(body);
            parse_rows(names, &body[..probe], columns, delimiter, &mut *tally)?;
            let lines = memchr::memchr_iter(b'\n', body).count() + 1;
            let expected = lines.saturating_mul((*share).max(1) as usize);
            let tasks = expected_tasks(&names[0], tally.rows, expected.min(MAX_RESERVED_ROWS));
            let lists = tally.counts.iter_mut().take(RESERVED_LABELS);
            reserve_tasks(&mut names[0], lists, tasks);
            tally.tasks_hint = tasks.0;
        }
        parse_rows(names, &body[probe..], columns, delimiter, &mut *tally)?;
        (!tally.outgrown).then_some(start..tally.rows)
    }
}

/// Bytes of a slot's first chunk parsed before its task lists are sized (then up to the end of
/// the line): some hundreds of rows, enough to tell the tasks per row of a file whose rows are
/// alike, few enough that the lists stay in the allocator's small blocks meanwhile.
const PROBE_BYTES: usize = 16 << 10;

/// Where the probe of a first chunk's lines `body` ends: after the line running past
/// [`PROBE_BYTES`] (the whole of a shorter chunk).
fn probe_end(body: &[u8]) -> usize {
    match body.get(PROBE_BYTES..) {
        Some(rest) => memchr::memchr(b'\n', rest).map_or(body.len(), |p| PROBE_BYTES + p + 1),
        None => body.len(),
    }
}

/// How many task names, and bytes of them, to make room for in a slot's task lists for
/// `expected` rows, at the tasks per row of the `probed` rows parsed so far in `tasks`, and an
/// eighth more (a file of tasks a little longer further on does not outgrow it at once). An
/// estimate that falls short only means growing as a vector does.
fn expected_tasks(tasks: &LocalNames, probed: usize, expected: usize) -> (usize, usize) {
    if probed == 0 {
        return (0, 0);
    }
    let scale = |seen: usize| {
        let scaled = (seen as u128 * expected as u128 / probed as u128) as usize;
        scaled.saturating_add(scaled / 8).saturating_add(64)
    };
    (scale(tasks.count as usize), scale(tasks.new_bytes.len()))
}

/// Room in `tasks` for `names` names of `bytes` bytes in all (as [`expected_tasks`] gives),
/// and in `lists` (one entry per local task id each) for `names` entries; what the allocator
/// refuses is left out.
fn reserve_tasks<'a>(
    tasks: &mut LocalNames,
    lists: impl IntoIterator<Item = &'a mut Vec<u32>>,
    (names, bytes): (usize, usize),
) {
    for list in lists {
        let _ = list.try_reserve_exact(names.saturating_sub(list.len()));
    }
    tasks.reserve(
        names.saturating_sub(tasks.new_ends.len()),
        bytes.saturating_sub(tasks.new_bytes.len()),
    );
}

/// Parses whole lines into `store`, numbering names in `names`; `None` on anything the fast path
/// does not handle (see the module documentation).
///
/// Fields end at the delimiter or a line end, found 64 bytes at a time ([`Separators`]); a
/// CR is taken off a field that ends a line, and the CRs so taken must be all the CRs there
/// are (one vectorised count tells), so that a stray one is never read as data. A chunk
/// without CR (the usual case) of three fields takes a loop made for exactly that
/// ([`parse_lines3`]).
fn parse_rows<S: RowStore>(
    names: &mut [LocalNames; 3],
    bytes: &[u8],
    columns: &Columns,
    delimiter: u8,
    store: S,
) -> Option<()> {
    if memchr::memchr(b'"', bytes).is_some() {
        return None;
    }
    let crs = memchr::memchr_iter(b'\r', bytes).count();
    // Where field i goes: task, worker, label (0..3), or 3 (a field not read).
    let mut role = vec![3; columns.fields];
    for (r, &i) in columns.at.iter().enumerate() {
        role[i] = r;
    }
    let mut out = RowSink::new(names, store);
    let taken = match (crs, columns.fields) {
        (0, 3) => parse_lines3(bytes, [role[0], role[1], role[2]], delimiter, &mut out),
        (0, fields) => parse_lines::<S, false>(bytes, &role, fields, delimiter, &mut out),
        (_, fields) => parse_lines::<S, true>(bytes, &role, fields, delimiter, &mut out),
    };
    out.finish();
    (taken? == crs && !out.not_utf8).then_some(())
}

/// What a slot keeps of its rows: [`RowTable`] (the rows themselves and each local task's row
/// count) or [`LabelTally`] (only how often each local task got each local label, all that a
/// majority vote needs). A row's task id may come [`DEFERRED_TASKS`] rows after its worker
/// and label (the task column hashing): it is pushed with the task `u32::MAX`, and completed
/// by [`RowStore::complete`] with what [`RowStore::pending`] gave when it was pushed.
trait RowStore {
    /// Whether the rows' workers are numbered (else only checked: the name is UTF-8).
    const WORKERS: bool = true;
    /// Adds a row of local ids `[task, worker, label]` (the task `u32::MAX` while deferred).
    fn push(&mut self, row: [u32; 3]);
    /// What a deferred row pushed next, of label `label`, needs to be completed.
    fn pending(&self, label: u32) -> usize;
    /// Completes a deferred row with its task id.
    fn complete(&mut self, pending: usize, task: u32);
}

/// The rows, in local ids, and the number of rows of each local task id.
struct RowTable<'a> {
    rows: &'a mut Vec<[u32; 3]>,
    task_rows: &'a mut Vec<u32>,
}

impl<'a> RowTable<'a> {
    fn of(task_rows: &'a mut Vec<u32>, rows: &'a mut Vec<[u32; 3]>) -> Self {
        Self { rows, task_rows }
    }
}

impl RowStore for RowTable<'_> {
    #[inline(always)]
    fn push(&mut self, row: [u32; 3]) {
        if row[0] != u32::MAX {
            count_row(self.task_rows, row[0]);
        }
        self.rows.push(row);
    }

    /// The index the row gets.
    #[inline(always)]
    fn pending(&self, _label: u32) -> usize {
        self.rows.len()
    }

    #[inline(always)]
    fn complete(&mut self, row: usize, task: u32) {
        if let Some(row) = self.rows.get_mut(row) {
            row[0] = task;
        }
        count_row(self.task_rows, task);
    }
}

/// How often each local task of a counting slot got each local label: `counts[label][task]`
/// (a label's list ends at its last task; the tasks past it have 0).
#[derive(Default)]
struct LabelTally {
    counts: Vec<Vec<u32>>,
    /// Rows read, and counts held (the lists' lengths summed).
    rows: usize,
    cells: usize,
    /// Whether the counts would have outgrown [`MAX_CELLS_PER_ROW`]: they are then wrong, and
    /// the rows are read instead.
    outgrown: bool,
    /// The room a new label's list gets (the tasks the slot expects; the first
    /// [`RESERVED_LABELS`] labels only).
    tasks_hint: usize,
}

/// The most counts a counting slot holds per row it read, beyond [`FREE_CELLS`], and the most
/// cells of the table of all tasks × all labels: many labels, each used on few tasks, would
/// make the counts larger than the rows (four bytes a count, twelve a row); the rows are then
/// read instead. A slot checks as its lists grow, so that they never take more.
const MAX_CELLS_PER_ROW: usize = 4;
const FREE_CELLS: usize = 1 << 20;

/// The most counts to hold for `rows` rows ([`MAX_CELLS_PER_ROW`]).
fn most_cells(rows: usize) -> usize {
    rows.saturating_mul(MAX_CELLS_PER_ROW)
        .saturating_add(FREE_CELLS)
}

/// Labels whose lists get room for the tasks expected at once (the usual few).
const RESERVED_LABELS: usize = 16;

impl LabelTally {
    #[inline(always)]
    fn count(&mut self, task: u32, label: u32) {
        let (task, label) = (task as usize, label as usize);
        if let Some(count) = self.counts.get_mut(label).and_then(|c| c.get_mut(task)) {
            *count += 1;
            return;
        }
        self.grow(task, label);
    }

    /// Counts a (task, label) pair past the end of the label's list (the task's first row of
    /// that label, usually), making room for it within [`MAX_CELLS_PER_ROW`].
    #[inline]
    fn grow(&mut self, task: usize, label: usize) {
        if label >= self.counts.len() {
            let hint = self.tasks_hint;
            self.counts.resize_with(label + 1, Vec::new);
            if label < RESERVED_LABELS {
                let _ = self.counts[label].try_reserve_exact(hint);
            }
        }
        let counts = &mut self.counts[label];
        let growth = task + 1 - counts.len();
        if self.cells + growth > most_cells(self.rows) {
            self.outgrown = true;
            return;
        }
        self.cells += growth;
        counts.resize(task, 0);
        counts.push(1);
    }
}

impl RowStore for &mut LabelTally {
    /// A vote by counts needs no worker.
    const WORKERS: bool = false;
    #[inline(always)]
    fn push(&mut self, [task, _, label]: [u32; 3]) {
        self.rows += 1;
        if task != u32::MAX {
            self.count(task, label);
        }
    }

    /// The row's label.
    #[inline(always)]
    fn pending(&self, label: u32) -> usize {
        label as usize
    }

    #[inline(always)]
    fn complete(&mut self, label: usize, task: u32) {
        self.count(task, label as u32);
    }
}

/// Where [`parse_lines`] puts what it reads: the slot's names, and its rows as `S` keeps them
/// ([`RowSink::finish`] once the lines are read).
struct RowSink<'a, 'b, S> {
    names: &'a mut [LocalNames; 3],
    store: S,
    /// Tasks out of order (the task column hashing): the last rows' task names, looked up
    /// [`DEFERRED_TASKS`] rows after their table entry was asked for.
    deferred: DeferredTasks<'b>,
    /// Whether a worker name not numbered ([`RowStore::WORKERS`]) is not UTF-8: the lines
    /// are then left to the general reader, which reports it.
    not_utf8: bool,
}

/// Rows between asking for a task's table entry and looking the task up. Out of task order,
/// each lookup is a cache miss in a table of every task the slot has seen (1 MB at 10⁶ rows);
/// one row after another, the parse waited for it (a quarter of the parse's samples on a file
/// in random order, `perf annotate`). The row is counted when its task is looked up.
const DEFERRED_TASKS: usize = 16;

/// The task names of the rows whose task id is not yet looked up, in row order (a ring).
#[derive(Default)]
struct DeferredTasks<'b> {
    /// (what the store needs to complete the row, task name, its digit table split if it has
    /// the form), at index `pushed % DEFERRED_TASKS`.
    ring: [(usize, &'b [u8], Option<DigitSplit>); DEFERRED_TASKS],
    /// Rows deferred so far, and looked up so far (at most [`DEFERRED_TASKS`] fewer).
    pushed: usize,
    looked_up: usize,
}

/// The previous row's task: its [`pack`] key (0 if none: no name packs to 0), its bytes and
/// its id (rows of a task usually follow each other: the id is reused).
#[derive(Clone, Copy, Default)]
struct Previous<'b> {
    key: u128,
    name: &'b [u8],
    id: u32,
}

impl<'a, 'b, S: RowStore> RowSink<'a, 'b, S> {
    fn new(names: &'a mut [LocalNames; 3], store: S) -> Self {
        Self {
            names,
            store,
            deferred: DeferredTasks::default(),
            not_utf8: false,
        }
    }

    /// Looks up the tasks still deferred: the rows and row counts are then complete.
    fn finish(&mut self) {
        while self.deferred.looked_up < self.deferred.pushed {
            self.look_up_deferred();
        }
    }

    /// Looks up the oldest deferred task and completes its row.
    #[inline(always)]
    fn look_up_deferred(&mut self) {
        let deferred = &mut self.deferred;
        let (pending, name, split) = deferred.ring[deferred.looked_up % DEFERRED_TASKS];
        deferred.looked_up += 1;
        let tasks = &mut self.names[0];
        let id = match split {
            Some(split) => tasks.id_by_digits(name, split),
            None => tasks.id(name),
        };
        self.store.complete(pending, id);
    }

    /// The task id of a row of label `label` whose task is looked up [`DEFERRED_TASKS`] rows
    /// later (its table entry asked for now), to be completed when looked up: a placeholder
    /// (`u32::MAX`, which never stays). The task column is hashing.
    #[inline(always)]
    fn defer(&mut self, task: &'b [u8], label: u32) -> u32 {
        let split = self.names[0].prefetch_digits(task);
        if self.deferred.pushed - self.deferred.looked_up == DEFERRED_TASKS {
            self.look_up_deferred();
        }
        let pending = self.store.pending(label);
        let deferred = &mut self.deferred;
        deferred.ring[deferred.pushed % DEFERRED_TASKS] = (pending, task, split);
        deferred.pushed += 1;
        u32::MAX
    }

    /// Adds the row of these task, worker and label names.
    #[inline(always)]
    fn push(&mut self, previous: &mut Previous<'b>, [task, worker, label]: [&'b [u8]; 3]) {
        let short = |name| short_key(name).and_then(NonZeroU64::new);
        let keys = (pack(task), short(worker), short(label));
        self.push_keyed(previous, [task, worker, label], keys);
    }

    /// [`RowSink::push`] given the names' keys: the task's [`pack`], the worker's and the
    /// label's [`short_key`] (`None` for longer names).
    #[inline(always)]
    fn push_keyed(
        &mut self,
        previous: &mut Previous<'b>,
        [task, worker, label]: [&'b [u8]; 3],
        (task_key, worker_key, label_key): (Option<u128>, Option<NonZeroU64>, Option<NonZeroU64>),
    ) {
        let names = &mut *self.names;
        let worker = match S::WORKERS {
            true => names[1].id_by_key(worker, worker_key),
            // Not numbered, but what the merge would find: a name that is not UTF-8.
            false => {
                self.not_utf8 |= !is_utf8(worker, worker_key);
                0
            }
        };
        let label = names[2].id_by_key(label, label_key);
        let same = match task_key {
            Some(key) => key == previous.key,
            None => same_bytes(task, previous.name),
        };
        // Once the task column hashes, `previous` stays the last task looked up at once: its
        // id is still one of its name's (the merge joins a name's local ids).
        let task = if same {
            self.names[0].same_run();
            previous.id
        } else if self.names[0].hashing {
            self.defer(task, label)
        } else {
            let id = self.names[0].run_id_by_key(task, task_key);
            *previous = Previous {
                key: task_key.unwrap_or(0),
                name: task,
                id,
            };
            id
        };
        self.store.push([task, worker, label]);
    }
}

/// The lines of [`parse_rows`] with `fields` fields, `role` saying where each goes; the CRs
/// taken off line ends (counted only when `CR`: a chunk without any passes `false`).
/// Inlined into each call so that a constant field count unrolls the loop over the fields.
#[inline(always)]
fn parse_lines<'b, S: RowStore, const CR: bool>(
    bytes: &'b [u8],
    role: &[usize],
    fields: usize,
    delimiter: u8,
    out: &mut RowSink<'_, 'b, S>,
) -> Option<usize> {
    let last = fields - 1;
    // Of the field count's length (a constant one takes the bounds checks out of the loop).
    let role = &role[..fields];
    // Task, worker, label, and a place for the fields not read.
    let mut read: [&[u8]; 4] = [&[]; 4];
    let mut previous = Previous::default();
    let mut separators = Separators::new(bytes, delimiter);
    let (n, mut start, mut crs) = (bytes.len(), 0usize, 0usize);
    'lines: while start < n {
        for field in 0..fields {
            let at = separators.next();
            let line_end = at >= n || bytes[at] == b'\n';
            let mut end = at.min(n);
            if CR && line_end && end > start && bytes[end - 1] == b'\r' {
                end -= 1;
                crs += 1;
            }
            if line_end != (field == last) {
                if line_end && field == 0 && end == start {
                    start = at + 1; // a blank line
                    continue 'lines;
                }
                return None; // too few or too many fields
            }
            read[role[field] & 3] = &bytes[start..end];
            start = at + 1;
        }
        if read[0].is_empty() | read[1].is_empty() | read[2].is_empty() {
            return None;
        }
        out.push(&mut previous, [read[0], read[1], read[2]]);
    }
    Some(crs)
}

/// [`parse_lines`] for three fields and no CR, a line at a time: the delimiters and line
/// ends of the 32 bytes from the line's start found at once ([`window_masks`]), the line's
/// three separators read off them and checked by one test (two delimiters, then a line end;
/// no empty field), a blank line seen by its first byte. From a line longer than 32 bytes on,
/// the rest goes to [`parse_lines`]; the last lines (fewer than 48 bytes left) are split by
/// [`line_separators`]. What fails the test fails [`parse_lines`] too.
fn parse_lines3<'b, S: RowStore>(
    bytes: &'b [u8],
    role: [usize; 3],
    delimiter: u8,
    out: &mut RowSink<'_, 'b, S>,
) -> Option<usize> {
    // Each role once: an unwritten field would be an empty name taken as read.
    debug_assert!(
        {
            let mut sorted = role;
            sorted.sort_unstable();
            sorted == [0, 1, 2]
        },
        "roles {role:?}"
    );
    // The field of each role (task, worker, label), and a fourth for the `& 3` below.
    let mut at = [3usize; 4];
    for (field, &r) in role.iter().enumerate() {
        at[r & 3] = field;
    }
    // Columns in the usual order take a loop where the roles are constants.
    if at == [0, 1, 2, 3] {
        lines3::<S, true>(bytes, at, &role, delimiter, out)
    } else {
        lines3::<S, false>(bytes, at, &role, delimiter, out)
    }
}

/// The loop of [`parse_lines3`], `at` the field of each role (`[0, 1, 2, 3]` when `IN_ORDER`).
#[inline(always)]
fn lines3<'b, S: RowStore, const IN_ORDER: bool>(
    bytes: &'b [u8],
    at: [usize; 4],
    role: &[usize; 3],
    delimiter: u8,
    out: &mut RowSink<'_, 'b, S>,
) -> Option<usize> {
    let at = if IN_ORDER { [0, 1, 2, 3] } else { at };
    let mut previous = Previous::default();
    let (n, mut start) = (bytes.len(), 0usize);
    while start < n {
        if let Some(window) = bytes[start..].first_chunk::<WINDOW_READ>()
            && let (delimiters, line_ends) = window_masks(window, delimiter)
            && line_ends != 0
        {
            // The first line end as a bit, the delimiters before it, the second one on.
            let end = line_ends & line_ends.wrapping_neg();
            if end == 1 {
                start += 1; // a blank line
                continue;
            }
            let below = delimiters & (end - 1);
            let rest = below & below.wrapping_sub(1);
            // Two delimiters (`rest` one bit), no separator at 0 or next to another (no empty
            // field).
            let separators = below | end;
            let one = (rest != 0) & (rest & rest.wrapping_sub(1) == 0); // not by a popcount
            if !one | (separators & (separators << 1 | 1) != 0) {
                return None;
            }
            // Separators at `start` + a, b, c (all under 32).
            let [a, b, c] = [below, rest, end].map(|m| m.trailing_zeros() as usize & 31);
            // Start and end of each field, then of each role.
            let fields = [(0, a), (a + 1, b), (b + 1, c), (0, 0)];
            let [t, w, l] = [at[0], at[1], at[2]].map(|f| fields[f & 3]);
            let name = |(s, e): (usize, usize)| &window[s..e];
            let keys = (
                pack_in(window, t.0, t.1 - t.0),
                short_key_in(window, w.0, w.1 - w.0),
                short_key_in(window, l.0, l.1 - l.0),
            );
            out.push_keyed(&mut previous, [name(t), name(w), name(l)], keys);
            start += c + 1;
            continue;
        }
        if bytes[start] == b'\n' {
            start += 1; // a blank line
            continue;
        }
        if n - start >= WINDOW_READ {
            // A line longer than the window (long names): the rest by the general loop, whose
            // separators come 64 bytes at a time (a line split by `memchr` each took half as
            // long again as it does there). It numbers the names as this loop would: a task
            // run carries on through the names' own last key.
            return parse_lines::<S, false>(&bytes[start..], role, 3, delimiter, out);
        }
        let (a, b, c) = line_separators(bytes, start, delimiter)?;
        let fields = [&bytes[start..a], &bytes[a + 1..b], &bytes[b + 1..c]];
        out.push(&mut previous, [at[0], at[1], at[2]].map(|f| fields[f % 3]));
        start = c + 1;
    }
    Some(0) // no CR in these bytes (the caller counted them first)
}

/// The bytes [`parse_lines3`] needs from a line's start to take it by [`window_masks`]: the
/// 32 bytes searched, and 16 past the last field's start (where its key is loaded from).
const WINDOW_READ: usize = 48;

/// The separators of the line at `start` (not blank) in `bytes`: its two delimiters and its
/// line end (`bytes.len()` for a last line without); `None` unless the line has exactly
/// three fields, none empty.
fn line_separators(bytes: &[u8], start: usize, delimiter: u8) -> Option<(usize, usize, usize)> {
    let line = &bytes[start..];
    let c = memchr::memchr(b'\n', line).unwrap_or(line.len());
    let mut delimiters = memchr::memchr_iter(delimiter, &line[..c]);
    let (a, b) = (delimiters.next()?, delimiters.next()?);
    if delimiters.next().is_some() || a == 0 || b <= a + 1 || c <= b + 1 {
        return None;
    }
    Some((start + a, start + b, start + c))
}

/// Eight bytes of `window` from `at`, little-endian (`at` + 8 within it).
#[inline(always)]
fn word_in(window: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(window[at..at + 8].try_into().unwrap_or_default())
}

/// The mask of the low `i` bytes of a word, all 8 from 8 on (indexed by a length `& 15`).
const LOW_BYTES: [u64; 16] = {
    let mut masks = [u64::MAX; 16];
    let mut i = 0;
    while i < 8 {
        masks[i] = (1u64 << (8 * i)) - 1;
        i += 1;
    }
    masks
};

/// [`short_key`] of the `len` bytes of `window` from `at` (16 bytes readable from `at`), by
/// one load.
#[inline(always)]
fn short_key_in(window: &[u8; WINDOW_READ], at: usize, len: usize) -> Option<NonZeroU64> {
    let at = at & 31; // a field's start is within the 32 bytes searched
    let key = word_in(window, at) & LOW_BYTES[len & 15] | (len as u64) << 56;
    // Never 0 when the length is not: a key of 0 stands for none (an integer, not a pair).
    NonZeroU64::new(key).filter(|_| len <= 7)
}

/// [`pack`] of the `len` bytes of `window` from `at` (16 bytes readable from `at`), by two
/// loads.
#[inline(always)]
fn pack_in(window: &[u8; WINDOW_READ], at: usize, len: usize) -> Option<u128> {
    let at = at & 31; // a field's start is within the 32 bytes searched
    (len <= 15).then(|| {
        let lo = word_in(window, at) & LOW_BYTES[len & 15];
        let hi = word_in(window, at + 8) & LOW_BYTES[len.saturating_sub(8) & 15];
        lo as u128 | (hi as u128) << 64 | (len as u128) << 120
    })
}

/// Whether `a` and `b` are the same bytes: names of up to 16 bytes by two overlapping loads
/// each (no call to `memcmp`, which costs more than the comparison at these lengths). Not
/// through `local_names::load_le`, which assembles one integer from its loads: comparing the
/// loads themselves measured 1.8 % fewer instructions over a 10⁷-row read.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word4 = |s: &[u8], i: usize| u32::from_le_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
    let word8 = |s: &[u8], i: usize| {
        u64::from_le_bytes([
            s[i],
            s[i + 1],
            s[i + 2],
            s[i + 3],
            s[i + 4],
            s[i + 5],
            s[i + 6],
            s[i + 7],
        ])
    };
    match n {
        0 => true,
        // Positions 0, n / 2 and n - 1 are every position of up to three bytes.
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=8 => word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4),
        9..=16 => word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8),
        _ => a == b,
    }
}

/// Whether `name` is UTF-8, given its [`short_key`] (`None` for a name of over 7 bytes): a
/// short name by the high bits of its bytes in the key (ASCII), any other by a check.
#[inline(always)]
fn is_utf8(name: &[u8], key: Option<NonZeroU64>) -> bool {
    const HIGH_BITS: u64 = 0x0080_8080_8080_8080; // of the 7 bytes below the length
    key.is_some_and(|key| key.get() & HIGH_BITS == 0) || std::str::from_utf8(name).is_ok()
}

/// Counts a row of local task id `task` (ids are numbered in order: at most one past the end).
#[inline]
fn count_row(task_rows: &mut Vec<u32>, task: u32) {
    let len = task_rows.len();
    match task_rows.get_mut(task as usize) {
        Some(count) => *count += 1,
        // A new id is the next one: pushed without a call to `resize`.
        None if task as usize == len => task_rows.push(1),
        None => {
            task_rows.resize(task as usize, 0);
            task_rows.push(1);
        }
    }
}

/// The positions of the delimiter and line ends in a byte string, in order: a bit mask per
/// 64 bytes, read off one set bit at a time (a few instructions per field, however short the
/// fields, where a byte-by-byte or word-by-word search pays per field to start and stop).
struct Separators<'a> {
    bytes: &'a [u8],
    delimiter: u8,
    /// The block the mask is of.
    base: usize,
    /// The separators of the block not yet returned.
    mask: u64,
}

impl<'a> Separators<'a> {
    fn new(bytes: &'a [u8], delimiter: u8) -> Self {
        let mut separators = Self {
            bytes,
            delimiter,
            base: 0,
            mask: 0,
        };
        separators.mask = separators.block_mask();
        separators
    }

    /// The next separator's position, or `bytes.len()` when there is none left.
    #[inline]
    fn next(&mut self) -> usize {
        while self.mask == 0 {
            if self.base + 64 >= self.bytes.len() {
                return self.bytes.len();
            }
            self.base += 64;
            self.mask = self.block_mask();
        }
        let at = self.base + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        at
    }

    /// The separators of the 64 bytes from `base` (a last, shorter block padded; bits past
    /// the end cleared).
    fn block_mask(&self) -> u64 {
        let rest = self.bytes.get(self.base..).unwrap_or_default();
        match rest.first_chunk::<64>() {
            Some(block) => mask64(block, self.delimiter, b'\n'),
            None => {
                let mut block = [0u8; 64];
                block[..rest.len()].copy_from_slice(rest);
                mask64(&block, self.delimiter, b'\n') & ((1u64 << rest.len()) - 1)
            }
        }
    }
}

/// Bit `i` set where byte `i` of `block` is `a` or `b`: sixteen bytes per compare.
#[cfg(target_arch = "x86_64")]
#[inline]
fn mask64(block: &[u8; 64], a: u8, b: u8) -> u64 {
    // SAFETY: SSE2 is part of the x86-64 baseline: every x86-64 processor has it.
    unsafe { mask64_sse2(block, a, b) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn mask64_sse2(block: &[u8; 64], a: u8, b: u8) -> u64 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x, _mm_set1_epi8,
    };
    let (spread_a, spread_b) = (_mm_set1_epi8(a as i8), _mm_set1_epi8(b as i8));
    let mut mask = 0u64;
    for (k, lane) in block.chunks_exact(16).enumerate() {
        let word = |i: usize| i64::from_le_bytes(lane[i..i + 8].try_into().unwrap_or_default());
        let v = _mm_set_epi64x(word(8), word(0));
        let hits = _mm_or_si128(_mm_cmpeq_epi8(v, spread_a), _mm_cmpeq_epi8(v, spread_b));
        mask |= u64::from(_mm_movemask_epi8(hits) as u16) << (16 * k);
    }
    mask
}

/// [`mask64`] eight bytes at a time: the high bit of each byte equal to `a` (or `b`) found
/// exactly (no borrow between bytes), the eight high bits gathered by one multiplication.
#[cfg(any(not(target_arch = "x86_64"), test))]
fn mask64_words(block: &[u8; 64], a: u8, b: u8) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    // The high bit of each zero byte of `x`, and nothing else.
    let zeros = |x: u64| !(((x & LOW7) + LOW7) | x | LOW7);
    let (spread_a, spread_b) = (ONES * u64::from(a), ONES * u64::from(b));
    let mut mask = 0u64;
    for (k, word) in block.chunks_exact(8).enumerate() {
        let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let hits = zeros(word ^ spread_a) | zeros(word ^ spread_b);
        // Bit 8j (byte j's hit) lands on bit 56 + j, and nothing carries into the top byte.
        mask |= ((hits >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
    }
    mask
}

#[cfg(not(target_arch = "x86_64"))]
use mask64_words as mask64;

/// The delimiters and the line ends of the first 32 bytes of `window`, as two masks (bit `i`
/// for byte `i`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn window_masks(window: &[u8; WINDOW_READ], delimiter: u8) -> (u32, u32) {
    // SAFETY: SSE2 is part of the x86-64 baseline: every x86-64 processor has it.
    unsafe { window_masks_sse2(window, delimiter) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn window_masks_sse2(window: &[u8; WINDOW_READ], delimiter: u8) -> (u32, u32) {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    let (spread_d, spread_n) = (_mm_set1_epi8(delimiter as i8), _mm_set1_epi8(b'\n' as i8));
    let pointer = window.as_ptr().cast::<__m128i>();
    // SAFETY: the two unaligned 16-byte loads read bytes 0..32 of the 48 of `window`.
    let (lo, hi) = unsafe { (_mm_loadu_si128(pointer), _mm_loadu_si128(pointer.add(1))) };
    let mask = |spread| {
        let low = _mm_movemask_epi8(_mm_cmpeq_epi8(lo, spread)) as u16 as u32;
        low | (_mm_movemask_epi8(_mm_cmpeq_epi8(hi, spread)) as u16 as u32) << 16
    };
    (mask(spread_d), mask(spread_n))
}

/// [`window_masks`] by [`mask64_words`] (its 64-byte block of the 32 bytes and 32 zeros).
#[cfg(any(not(target_arch = "x86_64"), test))]
fn window_masks_words(window: &[u8; WINDOW_READ], delimiter: u8) -> (u32, u32) {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(&window[..32]);
    // Zeros are neither byte unless one of them is 0: the mask keeps its low 32 bits only.
    let d = mask64_words(&block, delimiter, delimiter) as u32;
    let n = mask64_words(&block, b'\n', b'\n') as u32;
    (d, n)
}

#[cfg(not(target_arch = "x86_64"))]
use window_masks_words as window_masks;

#[cfg(test)]
mod tests {
    use super::*;

    /// A slot's names after parsing `bytes` as one chunk, and the rows.
    #[derive(Default)]
    struct Parsed {
        names: [LocalNames; 3],
        task_rows: Vec<u32>,
        rows: Vec<[u32; 3]>,
    }

    impl Parsed {
        fn parse(&mut self, bytes: &[u8], columns: &Columns, delimiter: u8) -> bool {
            self.names[0].start_chunk();
            self.rows.clear();
            let table = RowTable::of(&mut self.task_rows, &mut self.rows);
            parse_rows(&mut self.names, bytes, columns, delimiter, table).is_some()
        }
    }

    fn parse(text: &str) -> Option<Vec<[String; 3]>> {
        let columns = Columns::find(
            text.lines().next().unwrap().as_bytes(),
            b',',
            &ReadOptions::default(),
        )?;
        let body = &text.as_bytes()[text.find('\n').unwrap() + 1..];
        let mut slot = Parsed::default();
        if !slot.parse(body, &columns, b',') {
            return None;
        }
        let names: Vec<Vec<String>> = slot
            .names
            .iter()
            .map(|n| {
                n.new_names()
                    .map(|b| String::from_utf8(b.to_vec()).unwrap())
                    .collect()
            })
            .collect();
        Some(
            slot.rows
                .iter()
                .map(|r| std::array::from_fn(|c| names[c][r[c] as usize].clone()))
                .collect(),
        )
    }

    #[test]
    fn separators_are_every_delimiter_and_line_end_in_order() {
        // Byte strings of 0..200 bytes over a small alphabet (bytes with the high bit set,
        // neighbours of the sought ones, NUL as a delimiter too), across block boundaries.
        let alphabet = [
            b',', b'\n', b'-', b'+', 0x00, 0x80, 0xFF, b'a', 0x0B, 0x2D, b'\t',
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for round in 0..3000 {
            let mut next = || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            let len = (next() % 200) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let delimiter = [b',', 0x00, b'\t'][round % 3];
            let want: Vec<usize> = (0..len)
                .filter(|&k| bytes[k] == delimiter || bytes[k] == b'\n')
                .collect();
            let mut separators = Separators::new(&bytes, delimiter);
            let got: Vec<usize> = std::iter::from_fn(|| Some(separators.next()))
                .take_while(|&at| at < len)
                .collect();
            assert_eq!(got, want, "{bytes:?}");
            assert_eq!(separators.next(), len);
            for block in bytes.chunks_exact(64) {
                let block: &[u8; 64] = block.try_into().unwrap();
                assert_eq!(
                    mask64(block, delimiter, b'\n'),
                    mask64_words(block, delimiter, b'\n')
                );
            }
            // The 32-byte windows of the three-field loop, against the definition.
            for window in bytes.windows(WINDOW_READ).step_by(7) {
                let window: &[u8; WINDOW_READ] = window.try_into().unwrap();
                let bits = |b: u8| (0..32).filter(|&k| window[k] == b).map(|k| 1u32 << k).sum();
                let want = (bits(delimiter), bits(b'\n'));
                assert_eq!(window_masks(window, delimiter), want, "{window:?}");
                assert_eq!(window_masks_words(window, delimiter), want, "{window:?}");
            }
        }
    }

    #[test]
    fn the_three_field_loop_reads_as_the_general_one() {
        // Random lines over a small alphabet (empty fields, blank lines, too few or too many
        // fields, a last line without end), every order of the three roles, inputs of up to
        // 300 bytes (several of the separators' 64-byte blocks): both loops give up together
        // or give the same rows of the same names, and the rows are those of a plain split.
        let naive = |bytes: &[u8], role: [usize; 3], delimiter: u8| -> Option<Vec<[Vec<u8>; 3]>> {
            let mut rows = Vec::new();
            for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let fields: Vec<&[u8]> = line.split(|&b| b == delimiter).collect();
                if fields.len() != 3 || fields.iter().any(|f| f.is_empty()) {
                    return None;
                }
                let mut row: [Vec<u8>; 3] = Default::default();
                for (field, &column) in fields.iter().zip(&role) {
                    row[column] = field.to_vec();
                }
                rows.push(row);
            }
            Some(rows)
        };
        let alphabet = [b'a', b'b', b'7', b',', b',', b'\n'];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let read = |loop3: bool, bytes: &[u8], role: [usize; 3], delimiter: u8| {
            let mut slot = Parsed::default();
            let table = RowTable::of(&mut slot.task_rows, &mut slot.rows);
            let mut out = RowSink::new(&mut slot.names, table);
            let done = if loop3 {
                parse_lines3(bytes, role, delimiter, &mut out)
            } else {
                parse_lines::<_, false>(bytes, &role, 3, delimiter, &mut out)
            };
            out.finish();
            done.map(|_| {
                let names: Vec<Vec<&[u8]>> =
                    slot.names.iter().map(|n| n.new_names().collect()).collect();
                let rows: Vec<[Vec<u8>; 3]> = slot
                    .rows
                    .iter()
                    .map(|r| std::array::from_fn(|c| names[c][r[c] as usize].to_vec()))
                    .collect();
                (rows, slot.task_rows.clone())
            })
        };
        let (mut gave_up, mut read_rows) = (0, 0);
        for round in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 300) as usize;
            let mut bytes: Vec<u8> = (0..len)
                .map(|k| alphabet[((state >> (k % 60)) as usize + k * 7) % alphabet.len()])
                .collect();
            if round % 2 == 0 {
                // Mostly well-formed lines, so that rows are read too.
                bytes = (0..len / 6)
                    .flat_map(|k| {
                        let pick = (state >> (k % 50)) as usize;
                        let mut line = format!("t{},w{},{}\n", pick % 3, pick % 5, pick % 2);
                        if round % 4 == 0 {
                            // Names of 1 to 40 bytes (keys of 7, 8, 15, 16 and 17 bytes, lines
                            // past the 32-byte window), some with NUL and non-ASCII bytes.
                            let name = |prefix: &str, id: usize, salt: usize| {
                                let len = [1, 3, 7, 8, 15, 16, 17, 24, 40][(salt >> 3) % 9];
                                let fill = ["x", "\0", "é"][(salt >> 7) % 3];
                                let mut name = format!("{prefix}{id}");
                                while name.len() < len {
                                    name.push_str(fill);
                                }
                                name
                            };
                            // A task's length follows its id, so that its rows run together.
                            let (t, w) = (pick % 3, pick % 5);
                            let (task, worker) = (name("t", t, t * 77), name("w", w, pick));
                            line = format!("{task},{worker},{}\n", pick % 2);
                        }
                        if pick.is_multiple_of(11) {
                            line =
                                ["\n", "t,,1\n", "t,w\n", "t,w,1,2\n", ",w,1\n"][pick % 5].into();
                        }
                        line.into_bytes()
                    })
                    .collect();
                if state.is_multiple_of(3) {
                    bytes.pop(); // no line end at the end
                }
            }
            let roles = [
                [0, 1, 2],
                [0, 2, 1],
                [1, 0, 2],
                [1, 2, 0],
                [2, 0, 1],
                [2, 1, 0],
            ];
            let role = roles[round % 6];
            // A tab-separated table now and then (the commas made tabs).
            let delimiter = if round % 8 == 6 { b'\t' } else { b',' };
            if delimiter == b'\t' {
                bytes
                    .iter_mut()
                    .filter(|b| **b == b',')
                    .for_each(|b| *b = b'\t');
            }
            let (general, three) = (
                read(false, &bytes, role, delimiter),
                read(true, &bytes, role, delimiter),
            );
            assert_eq!(general, three, "{:?}", String::from_utf8_lossy(&bytes));
            assert_eq!(
                general.as_ref().map(|(rows, _)| rows.clone()),
                naive(&bytes, role, delimiter),
                "{:?}",
                String::from_utf8_lossy(&bytes)
            );
            match general {
                Some((rows, _)) => read_rows += rows.len(),
                None => gave_up += 1,
            }
        }
        // Both outcomes are common.
        assert!(
            gave_up > 1000 && read_rows > 10_000,
            "{gave_up} {read_rows}"
        );
    }

    #[test]
    fn keys_loaded_from_a_window_are_the_names_keys() {
        // Every start and length in a window of bytes of all values (so that the bytes past
        // a name differ from zero).
        let window: [u8; WINDOW_READ] = std::array::from_fn(|i| (i as u8).wrapping_mul(151) | 1);
        for at in 0..32 {
            for len in 1..=(32 - at).min(16) {
                let name = &window[at..at + len];
                assert_eq!(
                    short_key_in(&window, at, len).map(NonZeroU64::get),
                    short_key(name),
                    "{at} {len}"
                );
                assert_eq!(pack_in(&window, at, len), pack(name), "{at} {len}");
            }
        }
    }

    #[test]
    fn same_bytes_is_slice_equality() {
        let names: Vec<Vec<u8>> = (0..=20)
            .flat_map(|n| {
                let base: Vec<u8> = (0..n as u8).map(|i| b'a' + i).collect();
                // The name, and the name with each one byte changed.
                let mut variants = vec![base.clone()];
                for k in 0..n {
                    let mut changed = base.clone();
                    changed[k] ^= 0x20;
                    variants.push(changed);
                }
                variants
            })
            .collect();
        for a in &names {
            for b in &names {
                assert_eq!(same_bytes(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn plain_lines_crlf_blank_lines_and_extra_columns() {
        let rows = parse("worker,x,task,label\r\nw1,,t1,a\r\n\r\nw2,y,t1,b\n\nw1,z,t2,a").unwrap();
        let expected = [["t1", "w1", "a"], ["t1", "w2", "b"], ["t2", "w1", "a"]];
        assert_eq!(rows.len(), 3);
        for (row, want) in rows.iter().zip(expected) {
            assert_eq!(row.iter().map(String::as_str).collect::<Vec<_>>(), want);
        }
    }

    #[test]
    fn gives_up_on_what_the_general_reader_must_report() {
        for text in [
            "task,worker,label\nt,\"w\",a\n",      // quote
            "task,worker,label\nt,w\ra,b\n",       // stray CR
            "task,worker,label\nt,w\n",            // too few fields
            "task,worker,label\nt,w,a,b\n",        // too many fields
            "task,worker,label\nt,,a\n",           // empty worker
            "task,worker,worker,label\nt,w,w,a\n", // ambiguous header
            "task,worker\nt,w\n",                  // missing column
        ] {
            assert!(parse(text).is_none(), "{text:?}");
        }
    }

    #[test]
    fn task_runs_are_numbered_without_hashing_and_short_runs_switch_to_hashing() {
        let columns = Columns::find(b"task,worker,label", b',', &ReadOptions::default()).unwrap();
        // Runs of 3 rows per task, a task coming back later, a long (16-byte) task name.
        let mut text = String::new();
        for t in 0..3000 {
            for w in 0..3 {
                text.push_str(&format!("t{t},w{w},a\n"));
            }
        }
        text.push_str("t5,w9,b\nt5,w8,b\nlong-task-name-16,w1,a\nlong-task-name-16,w2,a\n");
        let mut slot = Parsed::default();
        assert!(slot.parse(text.as_bytes(), &columns, b','));
        let tasks = &slot.names[0];
        assert!(!tasks.hashing);
        assert!(tasks.word.is_empty() && tasks.short.is_empty() && tasks.long.is_empty());
        // One local id per run: t5 twice (one canonical id after the merge).
        assert_eq!(tasks.count, 3000 + 2);
        let names: Vec<&[u8]> = tasks.new_names().collect();
        assert_eq!(names[5], b"t5");
        assert_eq!(names[3000], b"t5");
        assert_eq!(slot.rows[9000][0], 3000);
        assert_eq!(slot.rows[9002][0], 3001);
        assert_eq!(slot.rows[9003][0], 3001);

        // Tasks alternating row by row: hashing takes over after 4096 rows.
        let mut slot = Parsed::default();
        let mut text = String::new();
        for i in 0..10_000 {
            text.push_str(&format!("t{},w{i},a\n", i % 2));
        }
        assert!(slot.parse(text.as_bytes(), &columns, b','));
        let tasks = &slot.names[0];
        assert!(tasks.hashing);
        assert!(tasks.count <= 4096 + 2, "{}", tasks.count);
        let names: Vec<&[u8]> = tasks.new_names().collect();
        for (i, row) in slot.rows.iter().enumerate() {
            assert_eq!(names[row[0] as usize], format!("t{}", i % 2).as_bytes());
        }
    }

    /// A file crossing chunk boundaries everywhere: names that look alike in the digit table
    /// (`w7`, `w07`), long names, CRLF and blank lines, lines longer than a chunk.
    fn awkward_file(dir: &Path) -> std::path::PathBuf {
        awkward_file_of(dir, 3000, None)
    }

    /// [`awkward_file`] of `rows` rows, shuffled by `seed` if given (blank lines stay put).
    fn awkward_file_of(dir: &Path, rows: usize, seed: Option<u64>) -> std::path::PathBuf {
        let mut lines = Vec::with_capacity(rows);
        for i in 0..rows {
            let worker = match i % 5 {
                0 => format!("w{}", i % 37),
                1 => format!("w0{}", i % 37),
                2 => format!("{}", i % 53),
                3 => format!("worker-with-a-long-name-{}", i % 11),
                _ => format!("x{:09}", i % 41),
            };
            let task = if i % 97 == 0 {
                format!("t{}-{}", i / 3, "y".repeat(300))
            } else if i % 89 == 0 {
                format!("t{}x", i / 3) // short, not prefix and digits: hashed
            } else {
                format!("t{:06}", i / 3)
            };
            let end = if i % 3 == 0 { "\r\n" } else { "\n" };
            lines.push(format!(
                "{worker},{task},e,{}{end}",
                ["a", "b", "10"][i % 3]
            ));
        }
        if let Some(mut state) = seed {
            // Fisher-Yates with xorshift64 (fixed seed: the same file every run).
            for i in (1..lines.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                lines.swap(i, (state % (i as u64 + 1)) as usize);
            }
        }
        let mut text = String::from("worker,task,extra,label\r\n");
        for (i, line) in lines.iter().enumerate() {
            text.push_str(line);
            if i % 500 == 0 {
                text.push_str("\n\r\n");
            }
        }
        let path = dir.join(format!("awkward-{rows}-{seed:?}.csv"));
        std::fs::write(&path, text).unwrap();
        path
    }

    fn assert_same(a: &Responses, b: &Responses) {
        assert_eq!(a.by_task(), b.by_task());
        assert_eq!(a.by_worker(), b.by_worker());
        assert!(a.task_names().eq(b.task_names()));
        assert!(a.worker_names().eq(b.worker_names()));
        assert_eq!(a.label_names(), b.label_names());
        assert_eq!(a.duplicate_count(), b.duplicate_count());
    }

    #[test]
    fn any_chunk_size_and_thread_count_gives_the_general_readers_table() {
        let dir = std::env::temp_dir().join(format!("crowdagg-chunks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = awkward_file(&dir);
        let options = ReadOptions::default();
        let file = File::open(&path).unwrap();
        let general =
            crate::io::read_responses_from(file, &path.to_string_lossy(), &options).unwrap();
        assert_eq!(general.n_responses(), 3000);
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for chunk in [1, 2, 3, 7, 64, 301, 4096, 1 << 20] {
                let mut reports = Vec::new();
                let fast = pool
                    .install(|| {
                        read_plain_in_chunks(
                            &path,
                            &options,
                            &mut |d, t| reports.push((d, t)),
                            chunk,
                        )
                    })
                    .unwrap()
                    .unwrap_or_else(|| {
                        panic!("fast path gave up: {threads} threads, chunk {chunk}")
                    });
                assert_same(&general, &fast);
                let total = std::fs::metadata(&path).unwrap().len();
                assert_eq!(reports.last(), Some(&(total, total)));
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The general reader's table of `path`, and the fast reader's at each chunk size and
    /// thread count (`None` where it gave up).
    fn both_readers(path: &Path, chunks: &[usize]) -> (Responses, Vec<Option<Responses>>) {
        let options = ReadOptions::default();
        let file = File::open(path).unwrap();
        let general =
            crate::io::read_responses_from(file, &path.to_string_lossy(), &options).unwrap();
        let mut fast = Vec::new();
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for &chunk in chunks {
                let table = pool
                    .install(|| read_plain_in_chunks(path, &options, &mut |_, _| {}, chunk))
                    .unwrap();
                let counted = pool
                    .install(|| read_label_counts_in_chunks(path, &options, &mut |_, _| {}, chunk))
                    .unwrap();
                // Counting gives up where the rows do (and nowhere else on these files).
                assert_eq!(
                    counted.is_some(),
                    table.is_some(),
                    "{threads} threads, {chunk}"
                );
                if let Some(counted) = counted {
                    assert_eq!(counted, LabelCounts::from_responses(&general), "{chunk}");
                }
                fast.push(table);
            }
        }
        (general, fast)
    }

    #[test]
    fn label_counts_at_any_chunk_size_and_thread_count_are_the_general_readers() {
        let dir = std::env::temp_dir().join(format!("crowdagg-counts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for path in [
            awkward_file(&dir),
            awkward_file_of(&dir, 12_000, Some(0x9E37_79B9_7F4A_7C15)),
        ] {
            let (general, fast) = both_readers(&path, &[1, 2, 3, 7, 64, 301, 4096, 1 << 20]);
            // By hand: the awkward files' labels are a, b and 10 in turn.
            assert_eq!(general.label_names(), ["10", "a", "b"]);
            assert!(fast.iter().all(Option::is_some));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A file of a header and `rows` in a fresh directory named after `test`: the path.
    fn file_of_rows(test: &str, rows: impl Iterator<Item = String>) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("crowdagg-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("responses.csv");
        let text: String = std::iter::once("task,worker,label".to_string())
            .chain(rows)
            .map(|row| row + "\n")
            .collect();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Asserts that counting `path` gives up, in chunks of each of `chunks` bytes and by
    /// `read_label_counts` (which reads nothing else then).
    fn assert_not_counted(path: &Path, chunks: &[usize]) {
        let options = ReadOptions::default();
        for &chunk in chunks {
            let counted = read_label_counts_in_chunks(path, &options, &mut |_, _| {}, chunk);
            assert!(counted.unwrap().is_none(), "{chunk}");
        }
        let counted = crate::io::read_label_counts(path, &options);
        assert!(counted.unwrap().is_none());
    }

    #[test]
    fn more_labels_than_a_table_holds_is_the_responses_error() {
        // 70,000 labels on one task: few counts, but more labels than a `Label` numbers.
        let path = file_of_rows("labels", (0..70_000).map(|i| format!("t,w{},l{i}", i % 7)));
        assert_not_counted(&path, &[1 << 20]);
        // The responses are read then, and report it.
        let responses = crate::io::read_responses(&path, &ReadOptions::default());
        let error = responses.unwrap_err().to_string();
        assert!(error.contains("too many distinct labels"), "{error}");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn workers_are_not_numbered_but_checked_for_utf8_when_counting() {
        let dir = std::env::temp_dir().join(format!("crowdagg-utf8-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let options = ReadOptions::default();
        let count = |name: &str, bytes: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            let counted = read_label_counts_in_chunks(&path, &options, &mut |_, _| {}, 1 << 20);
            let general = crate::io::read_responses(&path, &options);
            (counted.unwrap(), general)
        };
        // Short and long, ASCII and not: counted.
        let (counted, general) = count(
            "utf8.csv",
            "task,worker,label\nt1,w,a\nt1,wörker,b\nt1,работник,a\nt2,worker-long-name,b\n"
                .as_bytes(),
        );
        let general = general.unwrap();
        assert_eq!(counted, Some(LabelCounts::from_responses(&general)));
        assert_eq!(general.n_workers(), 4);
        // A worker name that is not UTF-8, short or long: the general reader's error.
        for (name, worker) in [
            ("short.csv", &b"w\xff"[..]),
            ("long.csv", b"worker-\xff-long"),
        ] {
            let mut bytes = b"task,worker,label\nt1,w1,a\nt1,".to_vec();
            bytes.extend_from_slice(worker);
            bytes.extend_from_slice(b",b\n");
            let (counted, general) = count(name, &bytes);
            // Left to the responses' read, which reports where.
            assert!(counted.is_none(), "{name}");
            let error = general.unwrap_err();
            assert!(error.to_string().contains(":3:"), "{error}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn counts_larger_than_the_rows_are_left_to_the_responses() {
        // Every row a new task and a new label: a slot's counts would be rows² / 2 cells.
        let path = file_of_rows("sparse", (0..3000).map(|i| format!("t{i},w{},l{i}", i % 7)));
        assert_not_counted(&path, &[1 << 20]);
        let options = ReadOptions::default();
        let rows = read_plain_in_chunks(&path, &options, &mut |_, _| {}, 1 << 20);
        let general = rows.unwrap().expect("the rows are read");
        assert_eq!((general.n_tasks(), general.n_labels()), (3000, 3000));
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();

        // Each slot's lists short (3,000 labels on the first task, then 50,000 tasks of one
        // label), but the table of all tasks × all labels 1.5·10⁸ cells for 53,000 rows.
        let first = (0..3000).map(|i| format!("t0,w{i},l{i}"));
        let rest = (1..=50_000).map(|i| format!("t{i},w,l0"));
        let path = file_of_rows("sparse-table", first.chain(rest));
        assert_not_counted(&path, &[1 << 20, 1 << 12]);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();

        // 50,000 such rows in one chunk (1.25·10⁹ cells, 5 GB, had they been held): the lists
        // stop growing at the bound, mid-chunk, and the slot gives up.
        let path = file_of_rows("sparse-chunk", (0..50_000).map(|i| format!("t{i},w,l{i}")));
        let columns = Columns::find(b"task,worker,label", b',', &options).unwrap();
        let total = std::fs::metadata(&path).unwrap().len();
        let layout = Layout {
            body: 18,
            total,
            chunk: total,
        };
        let mut slot = Slot {
            counting: true,
            ..Slot::default()
        };
        let file = File::open(&path).unwrap();
        let parsed = slot.parse_chunk(&file, &layout, 0, &columns, b',');
        assert_eq!(parsed.unwrap(), None);
        let tally = &slot.tally;
        assert!(tally.outgrown);
        assert_eq!(tally.rows, 50_000);
        let held: usize = tally.counts.iter().map(Vec::len).sum();
        assert_eq!(held, tally.cells);
        assert!(held <= MAX_CELLS_PER_ROW * 50_000 + FREE_CELLS, "{held}");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn shuffled_rows_hash_the_tasks_and_give_the_same_table() {
        let dir = std::env::temp_dir().join(format!("crowdagg-shuffled-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rows = 12_000;
        let shuffled = awkward_file_of(&dir, rows, Some(0x9E37_79B9_7F4A_7C15));
        let in_order = awkward_file_of(&dir, rows, None);
        // Tasks not in runs: a chunk of over 4096 rows switches the task column to hashing.
        let columns =
            Columns::find(b"worker,task,extra,label", b',', &ReadOptions::default()).unwrap();
        let total = std::fs::metadata(&shuffled).unwrap().len();
        let layout = Layout {
            body: 25,
            total,
            chunk: total,
        };
        let mut slot = Slot::default();
        let file = File::open(&shuffled).unwrap();
        let one = slot.parse_chunk(&file, &layout, 0, &columns, b',');
        assert_eq!(one.unwrap().unwrap().len(), rows);
        assert!(slot.names[0].hashing);

        // Later chunks hash from their first row and find the tasks earlier ones hashed: the
        // same rows again number only the tasks that the first 4096 rows (in run mode, not
        // keyed) had numbered, and then nothing.
        let mut counts = vec![slot.names[0].count];
        for _ in 0..2 {
            let again = slot.parse_chunk(&file, &layout, 0, &columns, b',');
            assert_eq!(again.unwrap().unwrap().len(), rows);
            assert!(slot.names[0].hashing);
            counts.push(slot.names[0].count);
        }
        assert!(counts[1] - counts[0] <= 4096, "{counts:?}");
        assert_eq!(counts[2], counts[1]);

        let (general, fast) = both_readers(&shuffled, &[4096, 1 << 17, 1 << 20]);
        let (general_in_order, _) = both_readers(&in_order, &[]);
        assert_eq!(general.n_responses(), rows);
        // Rows are kept sorted by task and worker: the order of the file does not show.
        assert_same(&general_in_order, &general);
        for table in fast {
            assert_same(&general, &table.expect("fast path gave up"));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn deferred_task_lookups_give_the_general_readers_table() {
        // Tasks out of order from the start: the task column hashes from row 4096 on, and
        // looks each task up 16 rows after the row. Among the later rows: the task of the row
        // that switched (the loop's previous task, reused without a lookup), runs of one task
        // (looked up while an earlier row of it is still deferred), new tasks, tasks the first
        // rows numbered, and names that are not prefix and digits.
        let dir = std::env::temp_dir().join(format!("crowdagg-deferred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = String::from("task,worker,label\n");
        let scatter = |i: usize| (i * 7919) % 10_007;
        let mut tasks = Vec::new();
        for i in 0..4096 {
            tasks.push(format!("t{}", scatter(i)));
        }
        let switched = tasks[4095].clone();
        for i in 0..3000 {
            let task = match i % 10 {
                0 | 1 => switched.clone(),
                2..=4 => format!("t{}", scatter(20_000 + i / 3)),
                5 => format!("task-{}", i % 7),
                6 => format!("t{}", scatter(i * 13 % 4096)),
                7 => format!("t{:07}", i % 5),
                _ => format!("t{}", scatter(10_000 + i)),
            };
            tasks.push(task);
        }
        for (i, task) in tasks.iter().enumerate() {
            text.push_str(&format!("{task},w{},{}\n", i % 23, i % 3));
        }
        let path = dir.join("deferred.csv");
        std::fs::write(&path, text).unwrap();
        let (general, fast) = both_readers(&path, &[1 << 10, 1 << 20]);
        assert_eq!(general.n_responses(), tasks.len());
        for table in fast {
            assert_same(&general, &table.expect("fast path gave up"));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn three_field_files_without_cr_read_as_the_general_reader_does() {
        // The three-field loop across chunks and threads: tasks in random order (hashed, their
        // keys kept across chunks), some of them not prefix and digits; workers both ways;
        // two labels, then six (the few-names scan ends in mid-file); blank lines.
        let dir = std::env::temp_dir().join(format!("crowdagg-three-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut state = 0xD1B5_4A32_D192_ED03u64;
        let mut text = String::from("task,worker,label\n");
        for i in 0..9000u64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let task = match i % 89 {
                0 => format!("t{}x", state % 3000),
                _ => format!("t{:06}", state % 3000),
            };
            let worker = match i % 5 {
                3 => format!("worker-{}", (state >> 20) % 11),
                _ => format!("w{}", (state >> 20) % 37),
            };
            let labels = if i < 5000 { 2 } else { 6 };
            let label = ["a", "b", "c", "d", "e", "f"][((state >> 40) % labels) as usize];
            text.push_str(&format!("{task},{worker},{label}\n"));
            if i % 700 == 0 {
                text.push('\n');
            }
        }
        let path = dir.join("three.csv");
        std::fs::write(&path, text).unwrap();
        let (general, fast) = both_readers(&path, &[1, 7, 64, 4096, 1 << 17]);
        assert_eq!(general.n_responses(), 9000);
        assert_eq!(general.label_names().len(), 6);
        for table in fast {
            assert_same(&general, &table.expect("fast path gave up"));
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_bom_a_last_line_without_end_and_a_quoted_line_end_across_chunks() {
        let dir = std::env::temp_dir().join(format!("crowdagg-edges-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let chunks = [1, 2, 3, 5, 16, 1 << 20];
        for (name, text, plain) in [
            ("bom", "\u{FEFF}task,worker,label\nt1,w1,a\nt2,w2,b\n", true),
            (
                "no-end",
                "task,worker,label\nt1,w1,a\nt2,a-worker-named-across-chunks,b",
                true,
            ),
            (
                "quoted",
                "task,worker,label\nt1,w1,a\nt2,\"w\n2\",b\nt3,w3,a\n",
                false,
            ),
        ] {
            let path = dir.join(format!("{name}.csv"));
            std::fs::write(&path, text).unwrap();
            let (general, fast) = both_readers(&path, &chunks);
            // One row per line but the header, the quoted line end joining two lines.
            let rows = text.lines().count() - 1 - usize::from(!plain);
            assert_eq!(general.n_responses(), rows, "{name}");
            for (table, chunk) in fast.iter().zip(chunks.iter().cycle()) {
                match table {
                    Some(table) if plain => assert_same(&general, table),
                    None if !plain => {}
                    _ => panic!("{name}, chunk {chunk}: fast path {}", table.is_some()),
                }
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_shorter_than_its_length_is_an_error_not_a_cut_line() {
        let dir = std::env::temp_dir().join(format!("crowdagg-short-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("short.csv");
        let text = "task,worker,label\nt1,w1,10\nt2,w2,10\n";
        std::fs::write(&path, text).unwrap();
        let file = File::open(&path).unwrap();
        let columns = Columns::find(b"task,worker,label", b',', &ReadOptions::default()).unwrap();
        let body = 18u64;
        // The length as it was before the file shrank by 10 bytes (the last line and a half).
        let long = text.len() as u64 + 10;
        for (chunk, k) in [(1 << 20, 0), (4, 0), (4, 2)] {
            let layout = Layout {
                body,
                total: long,
                chunk,
            };
            let err = Slot::default()
                .parse_chunk(&file, &layout, k, &columns, b',')
                .unwrap_err();
            assert_eq!(
                err.kind(),
                std::io::ErrorKind::UnexpectedEof,
                "chunk {chunk}"
            );
        }
        // The true length reads every row whole.
        let layout = Layout {
            body,
            total: text.len() as u64,
            chunk: 1 << 20,
        };
        let mut slot = Slot::default();
        let rows = slot
            .parse_chunk(&file, &layout, 0, &columns, b',')
            .unwrap()
            .unwrap();
        assert_eq!(rows.len(), 2);
        // The reservation is a row per line (and one more).
        assert!(slot.rows.capacity() <= 3, "{}", slot.rows.capacity());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_slot_reserves_its_share_of_chunks_at_the_first_and_keeps_that_block() {
        let dir = std::env::temp_dir().join(format!("crowdagg-share-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("share.csv");
        // 60 lines of 10 bytes in chunks of 100 bytes: 10 lines per chunk, 6 chunks.
        let mut text = String::from("task,worker,label\n");
        for i in 0..60 {
            text.push_str(&format!("t{:02},w{:02},1\n", i / 3, i % 7));
        }
        std::fs::write(&path, &text).unwrap();
        let file = File::open(&path).unwrap();
        let columns = Columns::find(b"task,worker,label", b',', &ReadOptions::default()).unwrap();
        let layout = Layout {
            body: 18,
            total: text.len() as u64,
            chunk: 100,
        };
        // A share of 3 chunks: room for 3 chunks' rows (11 per chunk: its lines and one more)
        // from the first, the same block through the third; a fourth grows it.
        let mut slot = Slot {
            share: 3,
            ..Slot::default()
        };
        let mut ranges = Vec::new();
        let mut capacities = Vec::new();
        for k in 0..4 {
            let range = slot.parse_chunk(&file, &layout, k, &columns, b',');
            ranges.push(range.unwrap().unwrap());
            capacities.push(slot.rows.capacity());
        }
        assert_eq!(ranges, [0..10, 10..20, 20..30, 30..40]);
        assert_eq!(capacities[..3], [33, 33, 33]);
        assert!(capacities[3] >= 40, "{capacities:?}");
        // The rows are the file's, in local ids of first appearance (tasks by runs of 3).
        let rows: Vec<[u32; 3]> = (0..40).map(|i| [i / 3, i % 7, 0]).collect();
        assert_eq!(slot.rows, rows);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A slot of `share` chunks that parsed `text` (a header and lines) in chunks of `chunk`
    /// bytes, and the capacities of its task lists and byte buffer after each chunk.
    fn slot_after(text: &str, chunk: u64, share: u64, name: &str) -> (Slot, Vec<[usize; 4]>) {
        let dir = std::env::temp_dir().join(format!("crowdagg-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tasks.csv");
        std::fs::write(&path, text).unwrap();
        let file = File::open(&path).unwrap();
        let columns = Columns::find(b"task,worker,label", b',', &ReadOptions::default()).unwrap();
        let layout = Layout {
            body: 18,
            total: text.len() as u64,
            chunk,
        };
        let mut slot = Slot {
            share,
            ..Slot::default()
        };
        let mut capacities = Vec::new();
        let mut next = 0;
        for k in 0..(text.len() as u64 - 18).div_ceil(chunk) {
            let range = slot.parse_chunk(&file, &layout, k, &columns, b',');
            let range = range.unwrap().unwrap();
            assert_eq!(range.start, next);
            next = range.end;
            let tasks = &slot.names[0];
            capacities.push([
                slot.task_rows.capacity(),
                tasks.new_ends.capacity(),
                tasks.new_bytes.capacity(),
                slot.bytes.capacity(),
            ]);
        }
        std::fs::remove_dir_all(&dir).unwrap();
        (slot, capacities)
    }

    #[test]
    fn the_first_chunks_probe_sizes_the_task_lists_for_the_share() {
        // 4 rows per task, 15-byte lines: 20,000 rows (5,000 tasks) in two chunks of about
        // 150 KB. The probe (16 KiB, about 1,100 rows) sees a task per 4 rows: room for about
        // 9/8 of the 2 chunks' 5,000 tasks from the first chunk on, the same blocks through
        // the second: not a task per line (20,000), nor grown by doubling. The byte buffer
        // too: room for the second chunk (a byte longer, read from the byte before it) and
        // the end of its last line from the first.
        let mut text = String::from("task,worker,label\n");
        for i in 0..20_000 {
            text.push_str(&format!("t{:06},w{:03},{}\n", i / 4, i % 997, i % 2));
        }
        let (slot, capacities) = slot_after(&text, 150_000, 2, "probe");
        assert_eq!(capacities.len(), 2);
        assert_eq!(capacities[0], capacities[1]);
        let [task_rows, ends, bytes, buffer] = capacities[0];
        assert_eq!(buffer, 150_001 + (64 << 10));
        assert!((5_000..=6_000).contains(&task_rows), "{capacities:?}");
        assert!((5_000..=6_000).contains(&ends), "{capacities:?}");
        assert!((35_000..=42_000).contains(&bytes), "{capacities:?}");
        // Nothing lost: every task once, in order, with its 4 rows.
        assert_eq!(slot.task_rows, vec![4; 5_000]);
        let names: Vec<String> = (0..5_000).map(|t| format!("t{t:06}")).collect();
        assert!(
            slot.names[0]
                .new_names()
                .eq(names.iter().map(String::as_bytes))
        );
        assert_eq!(slot.rows.len(), 20_000);
    }

    #[test]
    fn a_probe_that_underestimates_the_tasks_loses_none() {
        // Runs of 50 rows in the probe, then a task per row, across chunks smaller and larger
        // than the probe: the lists outgrow the estimate and grow; every task and row is kept.
        let mut text = String::from("task,worker,label\n");
        let mut expected = Vec::new();
        for i in 0..3_000 {
            let task = if i < 2_000 { i / 50 } else { i };
            text.push_str(&format!("t{task:06},w{:03},{}\n", i % 13, i % 3));
            expected.push(task);
        }
        for chunk in [1 << 20, 30_000, 9_000, 1_000] {
            let (slot, _) = slot_after(&text, chunk, 1, &format!("under-{chunk}"));
            let tasks = &slot.names[0];
            // Local ids: a new one per run within a chunk (a run cut by a chunk's end gets
            // two: the merge joins them); each row's id names its task.
            let names: Vec<&[u8]> = tasks.new_names().collect();
            assert_eq!(slot.rows.len(), expected.len());
            for (row, &task) in slot.rows.iter().zip(&expected) {
                assert_eq!(names[row[0] as usize], format!("t{task:06}").as_bytes());
            }
            assert_eq!(slot.task_rows.iter().sum::<u32>(), 3_000);
            assert_eq!(slot.task_rows.len(), names.len());
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_named_pipe_goes_to_the_general_reader_unopened() {
        let dir = std::env::temp_dir().join(format!("crowdagg-fifo-in-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("in.csv");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("skipped: no mkfifo on this system");
            return;
        }
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                std::fs::write(&fifo, "task,worker,label\nt1,w1,a\nt1,w2,b\nt2,w1,a\n").unwrap()
            })
        };
        let options = ReadOptions::default();
        assert!(
            read_plain(&fifo, &options, &mut |_, _| {})
                .unwrap()
                .is_none()
        );
        let data = crate::io::read_responses(&fifo, &options).unwrap();
        writer.join().unwrap();
        assert_eq!((data.n_responses(), data.n_tasks()), (3, 2));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
