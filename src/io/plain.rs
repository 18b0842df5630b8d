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
//! far; it never changes the result.
//!
//! # Parallelism without losing determinism
//! The file is read in blocks of [`BLOCK`] bytes cut after the last line end. A block is split
//! into one part per thread, again at line ends. Each part interns its ids into its own small
//! tables (keyed by slices of the block, so no allocation per line). Tasks usually come in runs
//! (exports are grouped by task): while they do, each run gets a new local id without any
//! hashing, by comparing with the previous row's task (a task seen in two runs gets two local
//! ids that the global interner merges); when runs average under two rows the part switches to
//! hashing. Then, in part order,
//! the distinct names of each part are interned into the global tables, and the part's rows are
//! rewritten to global ids in parallel. Global ids are in order of first appearance, as with the
//! sequential reader, and [`ResponsesBuilder::build`] re-sorts everything into canonical order
//! anyway, so the result does not depend on the thread count, the block size or the row order.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Read;
use std::path::Path;

use rayon::prelude::*;
use rustc_hash::FxBuildHasher;

use super::responses::ReadOptions;
use super::source::io_error;
use crate::error::Error;
use crate::responses::{Interner, ResponsesBuilder, intern};

/// Bytes read and parsed at a time (plus the carried-over partial line).
const BLOCK: usize = 64 << 20;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads `path` if it is a plain table; `Ok(None)` means "use the general reader".
/// `progress(bytes_done, bytes_total)` is called after each block.
pub(crate) fn read_plain(
    path: &Path,
    options: &ReadOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Option<ResponsesBuilder>, Error> {
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

    let mut interners = [
        Interner::default(),
        Interner::default(),
        Interner::default(),
    ];
    let mut raw: Vec<[u32; 3]> = Vec::new();
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
            let estimate = total as f64 / end as f64 * count_lines(&buffer[..end]) as f64;
            raw.reserve((estimate * 1.02) as usize + 16);
        }
        if !parse_block(
            &buffer[..end],
            &columns,
            delimiter,
            &mut slots,
            &mut interners,
            &mut raw,
        ) {
            return Ok(None);
        }
        if consumed == (start + header_len + 1) as u64 && !eof {
            // After the first block: room for as many tasks per byte in the rest of the file
            // (the task table would otherwise grow by doubling, rehashing every name).
            let estimate = interners[0].len() as f64 * (total as f64 / end.max(1) as f64);
            interners[0].reserve((estimate * 1.05) as usize);
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
    let [tasks, workers, labels] = interners;
    Ok(Some(ResponsesBuilder::from_interned(
        tasks,
        workers,
        labels,
        raw,
        options.duplicates,
    )))
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

/// Parses `block` (whole lines) into `raw` with global ids; `false` means "give up".
/// Part `i` of every block is parsed by `slots[i]`, whose worker and label tables persist
/// across blocks (a worker seen before costs one local lookup, no global one); task tables
/// are cleared per block (tasks are many and usually seen in one place).
fn parse_block(
    block: &[u8],
    columns: &Columns,
    delimiter: u8,
    slots: &mut [Slot],
    interners: &mut [Interner; 3],
    raw: &mut Vec<[u32; 3]>,
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
    let slots = &mut slots[..parts.len()];
    // Global ids of the names each part saw first, in part order (= file order).
    for slot in slots.iter_mut() {
        for ((local, global), map) in slot
            .names
            .iter_mut()
            .zip(interners.iter_mut())
            .zip(&mut slot.maps)
        {
            for name in local.new_names() {
                let Ok(name) = std::str::from_utf8(name) else {
                    return false;
                };
                map.push(intern(global, name));
            }
            local.merged();
        }
    }
    let added: usize = slots.iter().map(|p| p.rows.len()).sum();
    if raw.len() + added >= u32::MAX as usize {
        return false; // the general reader reports "too many responses"
    }
    let old = raw.len();
    raw.resize(old + added, [0; 3]);
    let mut outs = Vec::with_capacity(slots.len());
    let mut rest = &mut raw[old..];
    for slot in slots.iter() {
        let (head, tail) = rest.split_at_mut(slot.rows.len());
        outs.push(head);
        rest = tail;
    }
    outs.into_par_iter()
        .zip(slots.par_iter())
        .for_each(|(out, slot)| {
            let [t, w, l] = &slot.maps;
            for (o, &[a, b, c]) in out.iter_mut().zip(&slot.rows) {
                *o = [t[a as usize], w[b as usize], l[c as usize]];
            }
        });
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

/// Ids local to one slot, numbered in order of first appearance. Names of up to 15 bytes —
/// nearly all ids — are keyed by their bytes packed into a `u128`, so a lookup compares
/// integers in the table instead of chasing a pointer to the name (a cache miss per row).
#[derive(Default)]
struct LocalNames {
    /// Names of up to 7 bytes (most worker and label ids), packed into a u64 with their length:
    /// half the table of `short`, so that 10⁵–10⁶ workers stay in the last-level cache.
    word: HashMap<u64, u32, BuildHasherDefault<PackedHasher>>,
    short: HashMap<u128, u32, BuildHasherDefault<PackedHasher>>,
    long: HashMap<Box<[u8]>, u32, FxBuildHasher>,
    count: u32,
    /// Names numbered since the last merge into the global interner, concatenated.
    new_bytes: Vec<u8>,
    new_ends: Vec<usize>,
    /// The last name looked up (consecutive rows often share the task).
    last: Option<(u128, u32)>,
    /// Task column only: while rows come in runs of one task (the usual layout), a new local
    /// id per run, without hashing (a task seen in two runs gets two local ids, merged into
    /// one by the global interner). Falls back to hashing when runs are short.
    hashing: bool,
    /// Calls and runs so far in run mode.
    rows: u32,
    runs: u32,
}

/// Hashes packed names: both halves folded and multiplied, then the high bits folded down,
/// so that names differing only in their last characters (`w000123`, `w000124`) spread over
/// the whole table (Fx alone moves differences only towards the high bits).
#[derive(Default)]
struct PackedHasher(u64);

impl Hasher for PackedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, key: u64) {
        let h = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let h = (h ^ (h >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        self.0 = h ^ (h >> 32);
    }

    fn write_u128(&mut self, key: u128) {
        let (lo, hi) = (key as u64, (key >> 64) as u64);
        let h = (lo ^ hi.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let h = (h ^ (h >> 29)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        self.0 = h ^ (h >> 32);
    }
}

/// Up to 15 bytes and their count, packed (little-endian bytes, count in the top byte);
/// `None` for longer names. Loads words straight from the slice (no copy through the stack).
#[inline]
fn pack(name: &[u8]) -> Option<u128> {
    let len = name.len();
    let (lo, hi) = match len {
        0..=8 => (load_le(name), 0),
        9..=15 => (load_le(&name[..8]), load_le(&name[8..])),
        _ => return None,
    };
    Some(lo as u128 | (hi as u128) << 64 | (len as u128) << 120)
}

/// Up to 8 bytes as a little-endian integer, with two overlapping loads.
#[inline]
fn load_le(b: &[u8]) -> u64 {
    let n = b.len();
    let word = |i: usize, w: usize| -> u64 {
        let mut v = 0u64;
        for (k, &byte) in b[i..i + w].iter().enumerate() {
            v |= (byte as u64) << (8 * k);
        }
        v
    };
    match n {
        8 => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        4..=7 => {
            let a = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64;
            let z = u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]) as u64;
            a | z << (8 * (n - 4))
        }
        _ => word(0, n),
    }
}

impl LocalNames {
    #[inline]
    fn id(&mut self, name: &[u8]) -> u32 {
        let next = self.count;
        let id = match pack(name) {
            Some(key) => {
                if let Some((last, id)) = self.last
                    && last == key
                {
                    return id;
                }
                let id = if name.len() <= 7 {
                    // The bytes fill the low 7 bytes of the low word; the length goes on top.
                    let word = key as u64 | (name.len() as u64) << 56;
                    *self.word.entry(word).or_insert(next)
                } else {
                    *self.short.entry(key).or_insert(next)
                };
                self.last = Some((key, id));
                id
            }
            None => match self.long.get(name) {
                Some(&id) => id,
                None => {
                    self.long.insert(name.into(), next);
                    next
                }
            },
        };
        if id == next {
            self.count += 1;
            self.new_bytes.extend_from_slice(name);
            self.new_ends.push(self.new_bytes.len());
        }
        id
    }

    /// [`LocalNames::id`] for a column whose equal values usually come in runs (tasks):
    /// a new id per run while runs average two rows or more, else hashing.
    #[inline]
    fn run_id(&mut self, name: &[u8]) -> u32 {
        if self.hashing {
            return self.id(name);
        }
        self.rows += 1;
        let key = pack(name);
        if let (Some(key), Some((last, id))) = (key, self.last) {
            // Names of up to 15 bytes: compared packed, without a call to memcmp.
            if key == last {
                return id;
            }
        } else if let Some(&end) = self.new_ends.last() {
            let start = match self.new_ends.len() {
                1 => 0,
                n => self.new_ends[n - 2],
            };
            if &self.new_bytes[start..end] == name {
                return self.count - 1;
            }
        }
        self.runs += 1;
        // The run's key (`None` for a long name: compared by its bytes above).
        self.last = key.map(|k| (k, self.count));
        if self.rows >= 4096 && self.runs * 2 > self.rows {
            // Short runs: hash from here on (names numbered so far keep their ids).
            self.hashing = true;
            self.last = None;
            return self.id(name);
        }
        let id = self.count;
        self.count += 1;
        self.new_bytes.extend_from_slice(name);
        self.new_ends.push(self.new_bytes.len());
        id
    }

    /// Names numbered since the last [`LocalNames::merged`], in id order.
    fn new_names(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.new_ends.iter().copied());
        starts
            .zip(&self.new_ends)
            .map(|(start, &end)| &self.new_bytes[start..end])
    }

    fn merged(&mut self) {
        self.new_bytes.clear();
        self.new_ends.clear();
    }

    /// Forgets every name (keeps the allocations).
    fn clear(&mut self) {
        self.word.clear();
        self.short.clear();
        self.long.clear();
        self.count = 0;
        self.last = None;
        self.hashing = false;
        self.rows = 0;
        self.runs = 0;
        self.merged();
    }
}

/// The parsing state of one part of each block: local names of tasks, workers and labels,
/// their global ids, and the part's rows of local ids.
#[derive(Default)]
struct Slot {
    names: [LocalNames; 3],
    /// Local id → global id, per column.
    maps: [Vec<u32>; 3],
    rows: Vec<[u32; 3]>,
}

impl Slot {
    /// Parses one part into `rows`; `false` on anything the fast path does not handle (see
    /// the module documentation).
    fn parse(&mut self, bytes: &[u8], columns: &Columns, delimiter: u8) -> bool {
        self.names[0].clear();
        self.maps[0].clear();
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
        // One local id per run: t5 twice (merged later by the global interner).
        assert_eq!(tasks.count, 3000 + 2);
        let names: Vec<&[u8]> = tasks.new_names().collect();
        assert_eq!(names[5], b"t5");
        assert_eq!(names[3000], b"t5");
        assert_eq!(slot.rows[9000][0], 3000);
        assert_eq!(slot.rows[9002][0], 3001);
        assert_eq!(slot.rows[9003][0], 3001);

        // Tasks alternating row by row: hashing takes over after 4096 rows.
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
    fn packed_names_are_distinct_and_exact() {
        let names: Vec<Vec<u8>> = (0..=16)
            .flat_map(|n| [vec![b'a'; n], (0..n as u8).map(|i| b'0' + i).collect()])
            .collect();
        let packed: Vec<Option<u128>> = names.iter().map(|n| pack(n)).collect();
        for (name, key) in names.iter().zip(&packed) {
            if name.len() > 15 {
                assert!(key.is_none());
                continue;
            }
            let bytes = key.unwrap().to_le_bytes();
            assert_eq!(&bytes[..name.len()], &name[..]);
            assert!(bytes[name.len()..15].iter().all(|&b| b == 0));
            assert_eq!(bytes[15] as usize, name.len());
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
