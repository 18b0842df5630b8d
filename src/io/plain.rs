//! The fast path for large response tables: plain (unquoted) CSV/TSV read in blocks, each
//! block parsed in parallel.
//!
//! # What it reads, and what it leaves to the general reader
//! A file read here is one where every record is one line of fields split by the delimiter:
//! no quote character anywhere, no carriage return except in CRLF line ends. Blank lines are
//! skipped (as csv does). On anything else — a quote, a stray CR, a row with a different field
//! count, an empty task/worker/label, invalid UTF-8, a header it cannot resolve — it gives up
//! and returns `None`, and the caller reads the whole file again with the general
//! (sequential, csv crate) reader, which either succeeds the same way or reports the problem
//! with its `file:line:col` location. Giving up costs one extra read of what was parsed so
//! far (invalid UTF-8 is found only when the names are merged, after the whole file, and too
//! many distinct labels likewise); it never changes the result.
//!
//! # Parallelism without losing determinism
//! The file is read in blocks of [`BLOCK`] bytes cut after the last line end. A block is split
//! into one part per thread, again at line ends. Each part interns its ids into its own small
//! tables (keyed by slices of the block, so no allocation per line). Tasks usually come in runs
//! (exports are grouped by task): while they do, each run gets a new local id without any
//! hashing, by comparing with the previous row's task (a task seen in two runs gets two local
//! ids, merged later); when runs average under two rows the part switches to hashing. Part `i`
//! of every block is parsed by slot `i`, whose local ids run on across blocks; rows are kept in
//! local ids. At the end, the distinct names of all slots are merged into canonical order by
//! [`names::merge`](crate::names::merge) (a parallel sort and dedup, no global hash table) and
//! every row is rewritten to canonical ids in parallel. Canonical ids depend only on the set of
//! names, so the result does not depend on the thread count, the block size or the row order.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use rayon::prelude::*;

use super::local_names::LocalNames;
use super::responses::ReadOptions;
use super::source::io_error;
use super::source::whole;
use crate::error::Error;
use crate::names::{Names, PartNames, merge, remap_rows, split_pieces};
use crate::responses::Responses;

/// Bytes read and parsed at a time (plus the carried-over partial line).
const BLOCK: usize = 64 << 20;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads `path` if it is a plain table; `Ok(None)` means "use the general reader".
/// `progress(bytes_done, bytes_total)` is called after each block.
pub(crate) fn read_plain(
    path: &Path,
    options: &ReadOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Option<Responses>, Error> {
    let mut file = File::open(path).map_err(|e| io_error(path, e))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let delimiter = options.delimiter_for(path);
    if matches!(delimiter, b'"' | b'\n' | b'\r') {
        return Ok(None);
    }
    let mut buffer: Vec<u8> = Vec::with_capacity(BLOCK + (1 << 16));
    let mut eof = fill(&mut file, &mut buffer, BLOCK).map_err(|e| io_error(path, e))?;
    let start = if buffer.starts_with(BOM) {
        BOM.len()
    } else {
        0
    };
    let Some(header_len) = buffer[start..].iter().position(|&b| b == b'\n') else {
        return Ok(None);
    };
    let Some(columns) = Columns::find(&buffer[start..start + header_len], delimiter, options)
    else {
        return Ok(None);
    };
    let mut consumed = (start + header_len + 1) as u64;
    buffer.drain(..start + header_len + 1);

    let mut raw: Vec<[u32; 3]> = Vec::new();
    // Rows of `raw` in order: (row count, slot whose local ids they hold).
    let mut segments: Vec<(usize, usize)> = Vec::new();
    let mut slots: Vec<Slot> = (0..rayon::current_num_threads().max(1))
        .map(|_| Slot::default())
        .collect();
    loop {
        // Parse up to the last line end (everything, at the end of the file).
        let end = if eof {
            buffer.len()
        } else {
            match buffer.iter().rposition(|&b| b == b'\n') {
                Some(i) => i + 1,
                None => return Ok(None), // a line longer than a block
            }
        };
        if raw.is_empty() && end > 0 {
            // Reserve from the first block's density; the vector may still grow (realloc of
            // a large block moves pages, it does not copy them).
            // Lines per byte from the first MiB (counting a whole block took a sequential
            // pass over it: 7 % of the instructions of a 10⁶-row read).
            let sample = end.min(1 << 20);
            let estimate = total as f64 / sample as f64 * count_lines(&buffer[..sample]) as f64;
            // A hint only (a MiB of blank lines inflates it): capped at the row limit, and a
            // refused reservation is not an error (`reserve` would abort the process).
            let _ = raw.try_reserve((estimate * 1.02).min(u32::MAX as f64) as usize + 16);
        }
        if !parse_block(
            &buffer[..end],
            &columns,
            delimiter,
            &mut slots,
            &mut raw,
            &mut segments,
        ) {
            return Ok(None);
        }
        consumed += end as u64;
        progress(consumed, total);
        if eof {
            break;
        }
        buffer.drain(..end);
        eof = fill(&mut file, &mut buffer, BLOCK).map_err(|e| io_error(path, e))?;
    }
    if raw.is_empty() {
        return Ok(None);
    }
    drop(buffer);
    let Some(names) = canonical_rows(&slots, &mut raw, &segments) else {
        return Ok(None); // invalid UTF-8: the general reader locates it
    };
    Responses::from_canonical_rows(names, raw, options.duplicates)
        .map(Some)
        .map_err(|err| whole(path, err.to_string()))
}

/// Merges the slots' local names of each column into canonical order and rewrites `raw` (rows
/// of local ids, `segments` saying whose) to canonical ids; `None` if a name is not UTF-8.
fn canonical_rows(
    slots: &[Slot],
    raw: &mut [[u32; 3]],
    segments: &[(usize, usize)],
) -> Option<[Names; 3]> {
    let merged: Vec<_> = (0..3)
        .into_par_iter()
        .map(|c| {
            let parts: Vec<PartNames<'_>> = slots
                .iter()
                .map(|slot| PartNames {
                    bytes: &slot.names[c].new_bytes,
                    ends: &slot.names[c].new_ends,
                })
                .collect();
            merge(&parts, true).ok()
        })
        .collect::<Option<_>>()?;
    remap_rows(raw, segments, &merged);
    let mut merged = merged.into_iter().map(|m| m.names);
    Some(std::array::from_fn(|_| merged.next().unwrap_or_default()))
}

/// Appends up to `want` bytes from `file`; returns whether the end was reached.
///
/// Reads into the vector's spare capacity (no zero-filling: `fill` used to `resize` the
/// buffer to a whole block first, which at 64 MiB cost more than reading a small file).
fn fill(file: &mut File, buffer: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    let read = file.by_ref().take(want as u64).read_to_end(buffer)?;
    Ok(read < want)
}

fn count_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count().max(1)
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

/// Parses `block` (whole lines) onto `raw` in slot-local ids (one segment per part);
/// `false` means "give up". Part `i` of every block is parsed by `slots[i]`, whose worker and
/// label tables persist across blocks (a worker seen before costs one local lookup); task
/// tables are emptied per block (tasks are many and usually seen in one place), their ids run
/// on.
fn parse_block(
    block: &[u8],
    columns: &Columns,
    delimiter: u8,
    slots: &mut [Slot],
    raw: &mut Vec<[u32; 3]>,
    segments: &mut Vec<(usize, usize)>,
) -> bool {
    let parts: Vec<&[u8]> = split_at_lines(block, slots.len());
    let ok = slots
        .par_iter_mut()
        .zip(parts.par_iter())
        .map(|(slot, &part)| slot.parse(part, columns, delimiter))
        .all(|ok| ok);
    if !ok {
        return false;
    }
    let slots = &slots[..parts.len()];
    let added: usize = slots.iter().map(|p| p.rows.len()).sum();
    if raw.len() + added >= u32::MAX as usize {
        return false; // the general reader reports "too many responses"
    }
    let old = raw.len();
    raw.resize(old + added, [0; 3]);
    let pieces: Vec<(usize, usize)> = slots
        .iter()
        .enumerate()
        .map(|(i, slot)| (slot.rows.len(), i))
        .collect();
    split_pieces(&mut raw[old..], &pieces)
        .into_par_iter()
        .for_each(|(i, out)| out.copy_from_slice(&slots[i].rows));
    segments.extend(pieces);
    true
}

/// Splits `block` into about `n` pieces, each ending at a line end (or the block's end).
fn split_at_lines(block: &[u8], n: usize) -> Vec<&[u8]> {
    let mut parts = Vec::with_capacity(n);
    let mut rest = block;
    for i in (1..=n).rev() {
        if i == 1 || rest.len() < 1 << 16 {
            parts.push(rest);
            break;
        }
        let cut = rest.len() / i;
        let end = match rest[cut..].iter().position(|&b| b == b'\n') {
            Some(p) => cut + p + 1,
            None => rest.len(),
        };
        let (head, tail) = rest.split_at(end);
        parts.push(head);
        rest = tail;
    }
    parts
}

/// The parsing state of one part of each block: local names of tasks, workers and labels,
/// and the part's rows of local ids.
#[derive(Default)]
struct Slot {
    names: [LocalNames; 3],
    rows: Vec<[u32; 3]>,
}

impl Slot {
    /// Parses one part into `rows`; `false` on anything the fast path does not handle (see
    /// the module documentation).
    fn parse(&mut self, bytes: &[u8], columns: &Columns, delimiter: u8) -> bool {
        self.names[0].forget_keys();
        self.rows.clear();
        self.parse_rows(bytes, columns, delimiter).is_some()
    }

    fn parse_rows(&mut self, bytes: &[u8], columns: &Columns, delimiter: u8) -> Option<()> {
        let mut special = [false; 256];
        for b in [delimiter, b'\n', b'\r', b'"'] {
            special[b as usize] = true;
        }
        let part = self;
        // Which of task/worker/label (0..3) field i is, if any.
        let mut role = vec![usize::MAX; columns.fields];
        for (r, &i) in columns.at.iter().enumerate() {
            role[i] = r;
        }
        let mut fields: [&[u8]; 3] = [&[]; 3];
        let (mut field, mut start, mut i) = (0usize, 0usize, 0usize);
        let n = bytes.len();
        while i <= n {
            // Find the next special byte (or the end).
            while i < n && !special[bytes[i] as usize] {
                i += 1;
            }
            let b = if i < n { bytes[i] } else { b'\n' };
            let line_end = match b {
                b'\n' => true,
                b'\r' if i + 1 >= n || bytes[i + 1] == b'\n' => true,
                b'"' | b'\r' => return None,
                _ => false, // the delimiter
            };
            if line_end && field == 0 && i == start {
                // Blank line (or the end of the part after a line end).
                i += if b == b'\r' { 2 } else { 1 };
                start = i;
                continue;
            }
            if field >= columns.fields {
                return None;
            }
            if let Some(&r) = role.get(field).filter(|&&r| r < 3) {
                if i == start {
                    return None;
                }
                fields[r] = &bytes[start..i];
            }
            field += 1;
            if line_end {
                if field != columns.fields {
                    return None;
                }
                let row = [
                    part.names[0].run_id(fields[0]),
                    part.names[1].id(fields[1]),
                    part.names[2].id(fields[2]),
                ];
                part.rows.push(row);
                field = 0;
                i += if b == b'\r' { 2 } else { 1 };
            } else {
                i += 1;
            }
            start = i;
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Option<Vec<[String; 3]>> {
        let columns = Columns::find(
            text.lines().next().unwrap().as_bytes(),
            b',',
            &ReadOptions::default(),
        )?;
        let body = &text.as_bytes()[text.find('\n').unwrap() + 1..];
        let mut slot = Slot::default();
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
        let mut slot = Slot::default();
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
        let mut slot = Slot::default();
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

    #[test]
    fn parts_end_at_line_ends() {
        let block: Vec<u8> = (0..50_000)
            .flat_map(|i| format!("t{i},w,a\n").into_bytes())
            .collect();
        let parts = split_at_lines(&block, 3);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts.concat(), block);
        assert!(parts.iter().all(|p| p.ends_with(b"\n")));
    }
}
