//! Name tables in canonical order, and the parallel merge that builds them from the distinct
//! names of many parts (the readers' chunk-local ids).
//!
//! # Why a sorted table
//! [`Responses`](crate::Responses) keeps its task, worker and label names in canonical order
//! (the label order rule, see [`crate::responses`]). A table sorted by that rule needs no hash
//! index: a name is found by binary search with the same comparison. So the names are stored
//! once, concatenated, with their ends — no allocation and no hash slot per name (at 10⁷
//! tasks, ~0.7 GB less than a hash set of boxed strings, and no sequential build).
//!
//! # The merge
//! A reader that parses in parallel ends with parts, each holding its distinct names in order
//! of first appearance (its local ids). [`merge`] gives the canonical names of all parts
//! together and, for every part, local id → canonical id. It is a parallel sort of every
//! (name, part, local id) entry by the label order rule — keyed by an integer (the first 8
//! bytes, big-endian, or the integer value) so that most comparisons touch no string — then a
//! parallel dedup that numbers the distinct names in sorted order. When every name fits its
//! key (up to 7 bytes, or 8 without a zero byte: see `Packing`) the key alone is sorted, by
//! radix, and not at all when the parts come in order (a table grouped by sorted task names).
//! Names that are one prefix and a number each (`t0`, `t1`, …) are not sorted: a walk over a
//! table of the numbers present visits them in canonical order (`numbered`).
//! Canonical ids depend only on the set of names, so the result is the same for any part
//! layout, thread count or row order.

use std::cmp::Ordering;
use std::sync::atomic::{AtomicU32, Ordering as Atomic};

use rayon::prelude::*;

use crate::responses::{compare_names, parse_int};

mod numbered;

use numbered::Numbered;
pub(crate) use numbered::{decimal_len, digits_value};

/// Distinct names in canonical order (strictly increasing by [`compare_names`] with
/// `numeric`), stored concatenated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Names {
    text: String,
    /// End of each name in `text` (name `i` is `text[ends[i-1]..ends[i]]`).
    ends: Vec<usize>,
    /// Whether every name is an integer (then the order is numeric; true when empty).
    numeric: bool,
}

impl Names {
    /// Names already in canonical order (checked in debug builds).
    pub(crate) fn from_sorted(names: impl IntoIterator<Item = impl AsRef<str>>) -> Self {
        let mut out = Self {
            numeric: true,
            ..Self::default()
        };
        for name in names {
            let name = name.as_ref();
            out.numeric &= parse_int(name).is_some();
            out.text.push_str(name);
            out.ends.push(out.text.len());
        }
        debug_assert!(
            (1..out.len()).all(|i| compare_names(out.get(i - 1), out.get(i), out.numeric).is_lt()),
            "names in canonical order"
        );
        out
    }

    /// "0", "1", … "n-1" (numeric order).
    pub(crate) fn decimal(n: usize) -> Self {
        use std::fmt::Write as _;
        let mut out = Self {
            numeric: true,
            ends: Vec::with_capacity(n),
            ..Self::default()
        };
        for i in 0..n {
            let _ = write!(out.text, "{i}");
            out.ends.push(out.text.len());
        }
        out
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Name `i`; panics when `i >= len()`.
    pub(crate) fn get(&self, i: usize) -> &str {
        &self.text[self.start(i)..self.ends[i]]
    }

    /// Names `range`, side by side in one string (their concatenation).
    pub(crate) fn span(&self, range: std::ops::Range<usize>) -> &str {
        if range.is_empty() {
            return "";
        }
        &self.text[self.start(range.start)..self.ends[range.end - 1]]
    }

    /// Where name `i` starts in the text.
    #[inline]
    fn start(&self, i: usize) -> usize {
        if i == 0 { 0 } else { self.ends[i - 1] }
    }

    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = &str> {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Whether the names are integers in numeric order.
    pub(crate) fn numeric(&self) -> bool {
        self.numeric
    }

    /// The id of `name`, by binary search.
    pub(crate) fn position(&self, name: &str) -> Option<usize> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match compare_names(self.get(mid), name, self.numeric) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => return Some(mid),
            }
        }
        None
    }
}

impl std::ops::Index<usize> for Names {
    type Output = str;

    fn index(&self, i: usize) -> &str {
        self.get(i)
    }
}

/// One part's distinct names in local-id order: name `i` is `bytes[ends[i-1]..ends[i]]`.
#[derive(Clone, Copy)]
pub(crate) struct PartNames<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) ends: &'a [usize],
}

impl<'a> PartNames<'a> {
    fn len(&self) -> usize {
        self.ends.len()
    }

    /// The names' bytes, in local-id order.
    fn names(self) -> impl Iterator<Item = &'a [u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends)
            .map(move |(start, &end)| &self.bytes[start..end])
    }

    /// Name `i` of the part's bytes checked as `text` (its ends on character boundaries).
    fn get(&self, text: &'a str, i: usize) -> &'a str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &text[start..self.ends[i]]
    }
}

/// The result of [`merge`]: the canonical names, and local id → canonical id of every part
/// (part `p`'s local id `i` at `ids[starts[p] + i]`).
pub(crate) struct Merged {
    pub(crate) names: Names,
    pub(crate) ids: Vec<u32>,
    pub(crate) starts: Vec<usize>,
}

impl Merged {
    /// Local id → canonical id of part `p`.
    pub(crate) fn map(&self, p: usize) -> &[u32] {
        &self.ids[self.starts[p]..self.starts[p + 1]]
    }
}

/// Why a merge failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MergeError {
    /// A name is not UTF-8.
    NotUtf8,
    /// More than `u32::MAX` names in all parts.
    TooMany,
}

/// A name to sort: its key (orders most pairs without touching the bytes), its bytes and its
/// index among all parts' local ids.
struct Entry<'a> {
    key: u64,
    name: &'a str,
    flat: u32,
}

/// The sort key of `name`: in byte order, its first 8 bytes big-endian (zero-padded: a smaller
/// key means a smaller name, an equal key is decided by the bytes); in numeric order, the value
/// shifted to unsigned (equal values are decided by the bytes, as in [`compare_names`]).
#[inline]
fn key(name: &str, numeric: bool) -> u64 {
    if numeric {
        (parse_int(name).unwrap_or(0) as u64) ^ (1 << 63)
    } else {
        let name = name.as_bytes();
        let mut word = [0u8; 8];
        let n = name.len().min(8);
        word[..n].copy_from_slice(&name[..n]);
        u64::from_be_bytes(word)
    }
}

/// Orders two names of equal [`key`]. In byte order their first 8 bytes (zero-padded) are
/// equal, so when one is that short it is a prefix of the other (equal bytes, or zeros): the
/// shorter is smaller, and equal lengths mean equal names — no call to `memcmp` for short
/// names, which repeat most (a worker in every part). In numeric order: the bytes.
#[inline]
fn tie(a: &str, b: &str, numeric: bool) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if numeric {
        a.cmp(b)
    } else if a.len() <= 8 || b.len() <= 8 {
        a.len().cmp(&b.len())
    } else {
        a[8..].cmp(&b[8..])
    }
}

/// Merges the parts' names into canonical order. With `rule`, the order is the label order
/// rule (numeric when every name of every part is an integer); without, byte order.
/// Names that occur in several parts (or twice in one) get one canonical id.
pub(crate) fn merge(parts: &[PartNames<'_>], rule: bool) -> Result<Merged, MergeError> {
    let (names, ids, starts, _) = merge_numbered(parts, rule, None)?;
    Ok(Merged { names, ids, starts })
}

/// Where the rows of every name go in a table of rows grouped by canonical name, from the
/// number of rows of each (part, local id): made by [`merge_rows`], which visits each name's
/// (part, local id) entries together in canonical order and sums their counts on the way.
/// Name `T`'s rows are `offsets[T]..offsets[T + 1]`; within them, its local ids' rows come
/// one after another (in the order of the merge's sort). The ranges of all local ids tile
/// `0..rows()`, which the positions handed out by [`Lane::take`] rely on.
pub(crate) struct RowPlaces {
    offsets: Vec<u32>,
    /// The end of each local id's range (part `p`'s local id `i` at `ends[starts[p] + i]`).
    ends: Vec<u32>,
    starts: Vec<usize>,
    /// The row counts merged with, per part: counted down as the rows are placed.
    counts: Vec<Vec<u32>>,
}

impl RowPlaces {
    /// The number of rows in all.
    pub(crate) fn rows(&self) -> usize {
        self.offsets.last().map_or(0, |&end| end as usize)
    }

    /// One lane per part, handing out the positions of its rows.
    pub(crate) fn lanes(&mut self) -> Vec<Lane<'_>> {
        let mut lanes = Vec::with_capacity(self.counts.len());
        let mut rest = &self.ends[..];
        for (p, left) in self.counts.iter_mut().enumerate() {
            let (ends, tail) = rest.split_at(self.starts[p + 1] - self.starts[p]);
            lanes.push(Lane { ends, left });
            rest = tail;
        }
        lanes
    }

    /// Whether each name has one local id in all (of one part): then a name's rows are that
    /// local id's rows.
    pub(crate) fn one_local_id_per_name(&self) -> bool {
        self.ends.len() + 1 == self.offsets.len()
    }

    /// Each name's first row, and the number of rows after the last.
    pub(crate) fn into_offsets(self) -> Vec<u32> {
        self.offsets
    }
}

/// One part's share of a [`RowPlaces`]: the next position of each of its local ids.
pub(crate) struct Lane<'a> {
    /// The end of each local id's range.
    ends: &'a [u32],
    /// The rows of each local id not placed yet.
    left: &'a mut [u32],
}

impl Lane<'_> {
    /// The position of the next row of local id `local` (its range filled from the start, in
    /// the order of the calls); `None` when the id has no row left or no range. Each
    /// position of the id's range is handed out once.
    #[inline]
    pub(crate) fn take(&mut self, local: u32) -> Option<u32> {
        let local = local as usize;
        let left = self.left.get_mut(local)?;
        let remaining = *left;
        if remaining == 0 {
            return None;
        }
        *left = remaining - 1;
        Some(self.ends[local] - remaining)
    }

    /// The position [`Lane::take`] would give local id `local` now (`None` as there), without
    /// taking it: what a caller placing rows some way ahead asks, to prefetch.
    #[inline]
    pub(crate) fn peek(&self, local: u32) -> Option<u32> {
        let local = local as usize;
        let remaining = *self.left.get(local)?;
        (remaining != 0).then(|| self.ends[local].wrapping_sub(remaining))
    }

    /// The positions of all `len` rows of local id `local`, the first of them, when it has
    /// exactly `len` left (`None` otherwise, and nothing is taken): as `len` calls of
    /// [`Lane::take`] would give them, one after another.
    #[inline]
    pub(crate) fn take_all(&mut self, local: u32, len: u32) -> Option<u32> {
        let left = self.left.get_mut(local as usize)?;
        if *left != len || len == 0 {
            return None;
        }
        *left = 0;
        Some(self.ends[local as usize] - len)
    }

    /// Whether every row of every local id was handed out.
    pub(crate) fn is_done(&self) -> bool {
        self.left.iter().all(|&left| left == 0)
    }
}

/// [`merge`], and where each name's rows go, part `p`'s local id `i` having `counts[p][i]`
/// rows (see [`RowPlaces`]); [`MergeError::TooMany`] also from 2³² − 1 rows.
///
/// # Panics
/// When `counts` does not have one count per name of each part.
pub(crate) fn merge_rows(
    parts: &[PartNames<'_>],
    rule: bool,
    counts: Vec<Vec<u32>>,
) -> Result<(Names, RowPlaces), MergeError> {
    assert!(
        counts.len() == parts.len() && parts.iter().zip(&counts).all(|(p, c)| p.len() == c.len()),
        "one row count per name of each part"
    );
    let (names, ends, starts, offsets) = merge_numbered(parts, rule, Some(&counts))?;
    let offsets = offsets.ok_or(MergeError::TooMany)?;
    Ok((
        names,
        RowPlaces {
            offsets,
            ends,
            starts,
            counts,
        },
    ))
}

/// [`merge`]'s names, flat index → canonical id (or, with `counts`, the end of its range of
/// rows), each part's first flat index, and with `counts` each name's first row.
#[allow(clippy::type_complexity)]
fn merge_numbered(
    parts: &[PartNames<'_>],
    rule: bool,
    counts: Option<&[Vec<u32>]>,
) -> Result<(Names, Vec<u32>, Vec<usize>, Option<Vec<u32>>), MergeError> {
    merge_sorted_or_walked(parts, rule, counts, true)
}

/// [`merge_numbered`], names that are one prefix and a number each walked in order when
/// `walk` (see [`Numbered`]), else sorted as any others (what the tests compare it with).
#[allow(clippy::type_complexity)]
fn merge_sorted_or_walked(
    parts: &[PartNames<'_>],
    rule: bool,
    counts: Option<&[Vec<u32>]>,
    walk: bool,
) -> Result<(Names, Vec<u32>, Vec<usize>, Option<Vec<u32>>), MergeError> {
    let mut starts = Vec::with_capacity(parts.len() + 1);
    starts.push(0usize);
    for part in parts {
        starts.push(starts.last().copied().unwrap_or(0) + part.len());
    }
    let total = *starts.last().unwrap_or(&0);
    if total > u32::MAX as usize {
        return Err(MergeError::TooMany);
    }
    // UTF-8, part by part: its bytes in one pass (contiguous: far cheaper than each name
    // after the sort, when they are visited in random order), and each name starting on a
    // character boundary (then each name is valid on its own, and is taken as `str` from
    // here on without another check).
    let texts: Vec<&str> = parts
        .par_iter()
        .map(|p| {
            std::str::from_utf8(p.bytes).ok().filter(|text| {
                p.ends[..p.len().saturating_sub(1)]
                    .iter()
                    .all(|&end| text.is_char_boundary(end))
            })
        })
        .collect::<Option<_>>()
        .ok_or(MergeError::NotUtf8)?;
    let numeric = rule
        && parts
            .par_iter()
            .zip(&texts)
            .all(|(p, &text)| (0..p.len()).all(|i| parse_int(p.get(text, i)).is_some()));
    // Names that are one prefix and a number each are walked in order, not sorted.
    let numbered = walk.then(|| Numbered::of(parts, total, numeric)).flatten();
    let packing = match numeric || numbered.is_some() {
        true => None,
        false => Packing::of(parts),
    };
    // The row counts by flat index, which `number` turns into the ends of the rows' ranges:
    // gathered once the names are sorted, so that they are still in cache when it reads them.
    let rows = || counts.map(|counts| concatenated(counts, total));
    let (ids, bytes, ends, offsets) = if let Some(numbered) = numbered {
        numbered.number(rows())?
    } else if let Some(packing) = packing {
        // Every name fits its key: sorted by one integer, numbered and spelled from the keys.
        // Written in place, part by part (a parallel collect of unknown lengths would gather
        // the pieces in a list and copy them once more); key `i` is local id `i` of all parts.
        let mut keys = vec![0u64; total];
        let pieces = cut(&mut keys, parts.iter().map(PartNames::len));
        parts.par_iter().zip(pieces).for_each(|(part, piece)| {
            for (name, key) in part.names().zip(piece) {
                *key = packing.key(name);
            }
        });
        let spell = |key: u64, text: &mut Vec<u8>| {
            // All eight bytes (one store), then the padding cut off: no call to `memcpy`.
            let end = text.len() + packing.len(key);
            text.extend_from_slice(&key.to_be_bytes());
            text.truncate(end);
        };
        // Parts of a table grouped by sorted names (tasks t0000000, t0000001, …) come in
        // order: checked in one parallel pass, then not sorted at all.
        if is_sorted(&keys) {
            number(
                total,
                total,
                8,
                |i| i == 0 || keys[i - 1] != keys[i],
                |i| i as u32,
                |i, text| spell(keys[i], text),
                rows(),
            )?
        } else if let Some(order) = Compressed::of(&keys) {
            let sorted = order.sort(keys);
            let shift = order.index_bits;
            number(
                total,
                total,
                8,
                |i| i == 0 || sorted[i - 1] >> shift != sorted[i] >> shift,
                |i| order.index(sorted[i]),
                |i, text| spell(order.key(sorted[i]), text),
                rows(),
            )?
        } else {
            let mut entries: Vec<(u64, u32)> = keys
                .par_iter()
                .enumerate()
                .map(|(i, &key)| (key, i as u32))
                .collect();
            drop(keys); // the entries hold them now: not three copies at the peak
            radix_sort(&mut entries);
            number(
                total,
                total,
                8,
                |i| i == 0 || entries[i - 1].0 != entries[i].0,
                |i| entries[i].1,
                |i, text| spell(entries[i].0, text),
                rows(),
            )?
        }
    } else {
        let mut entries: Vec<Entry<'_>> = parts
            .par_iter()
            .zip(&texts)
            .zip(&starts[..parts.len()])
            .flat_map_iter(|((part, &text), &start)| {
                (0..part.len()).map(move |i| {
                    let name = part.get(text, i);
                    Entry {
                        key: key(name, numeric),
                        name,
                        flat: (start + i) as u32,
                    }
                })
            })
            .collect();
        entries.par_sort_unstable_by(|a, b| {
            a.key.cmp(&b.key).then_with(|| tie(a.name, b.name, numeric))
        });
        number(
            entries.len(),
            total,
            0,
            |i| {
                i == 0
                    || entries[i - 1].key != entries[i].key
                    || tie(entries[i - 1].name, entries[i].name, numeric).is_ne()
            },
            |i| entries[i].flat,
            |i, text| text.extend_from_slice(entries[i].name.as_bytes()),
            rows(),
        )?
    };
    // Names of the parts, each checked above: only the concatenation is checked here, in one
    // pass (cheaper than a check per name).
    let text = String::from_utf8(bytes).map_err(|_| MergeError::NotUtf8)?;
    let names = Names {
        text,
        ends,
        numeric,
    };
    Ok((names, ids, starts, offsets))
}

/// The parts' `counts` one after another (`total` in all), copied in parallel.
fn concatenated(counts: &[Vec<u32>], total: usize) -> Vec<u32> {
    let mut flat = vec![0u32; total];
    let pieces = cut(&mut flat, counts.iter().map(Vec::len));
    pieces
        .into_par_iter()
        .zip(counts)
        .for_each(|(piece, part)| piece.copy_from_slice(part));
    flat
}

/// `buffer` cut into consecutive pieces of `lens` (which sum to at most its length).
fn cut<T>(buffer: &mut [T], lens: impl Iterator<Item = usize>) -> Vec<&mut [T]> {
    let mut pieces = Vec::with_capacity(lens.size_hint().0);
    let mut rest = buffer;
    for len in lens {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(len);
        pieces.push(head);
        rest = tail;
    }
    pieces
}

/// How every name of a merge fits one integer key that orders the keys as the names in byte
/// order, equal keys being equal names (so the names are sorted, numbered and spelled from the
/// keys alone).
#[derive(Clone, Copy)]
enum Packing {
    /// Names of up to 7 bytes: the bytes big-endian from the top, zero-padded, and the length
    /// in the low byte (equal padded bytes mean one name is the other and zeros: the shorter
    /// is smaller, as its length is).
    Short,
    /// Names of up to 8 bytes none of which holds a zero byte: the bytes big-endian, zero-padded
    /// (a name's padding then starts at its first zero byte, so the padded word tells the name,
    /// and a prefix, padded with zeros, is smaller than the names it starts). Tasks such as
    /// `t0000042`, one byte too long for `Short`.
    Padded,
}

/// Names of up to this many bytes are [`Packing::Short`].
const SHORT: usize = 7;

impl Packing {
    /// The packing every name of `parts` fits, if any.
    fn of(parts: &[PartNames<'_>]) -> Option<Self> {
        let longest = parts
            .par_iter()
            .map(|p| p.names().map(<[u8]>::len).max().unwrap_or(0))
            .max()
            .unwrap_or(0);
        // A zero byte anywhere (memchr over each part's bytes) rules out `Padded`.
        let zero = || parts.par_iter().any(|p| p.bytes.contains(&0));
        match longest {
            0..=SHORT => Some(Self::Short),
            8 if !zero() => Some(Self::Padded),
            _ => None,
        }
    }

    #[inline]
    fn key(self, name: &[u8]) -> u64 {
        // The bytes little-endian in the low bytes, swapped: big-endian from the top,
        // zero-padded below.
        let padded = load_le(name).swap_bytes();
        match self {
            Self::Short => padded | name.len() as u64,
            Self::Padded => padded,
        }
    }

    /// The length of the name of `key`.
    #[inline]
    fn len(self, key: u64) -> usize {
        match self {
            Self::Short => (key & 0xff) as usize,
            Self::Padded => 8 - (key.trailing_zeros() / 8) as usize,
        }
    }
}

/// Up to 8 bytes as a little-endian integer, with two overlapping loads (no call to `memcpy`,
/// which costs more than the loads at these lengths).
#[inline]
pub(crate) fn load_le(b: &[u8]) -> u64 {
    debug_assert!(b.len() <= 8, "load_le takes at most 8 bytes");
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
        // One byte (a label such as `0` or `1`, looked up on every row) without the shifts
        // by a length that three bytes take.
        1 => b[0] as u64,
        2 => u16::from_le_bytes([b[0], b[1]]) as u64,
        3 => u16::from_le_bytes([b[0], b[1]]) as u64 | (b[2] as u64) << 16,
        _ => word(0, n),
    }
}

/// Whether `keys` are in order (in parallel).
fn is_sorted(keys: &[u64]) -> bool {
    keys.par_windows(2)
        .with_min_len(1 << 14)
        .all(|w| w[0] <= w[1])
}

/// Keys sorted as one `u64` each: the bits that vary between keys (the others are the same
/// in every key, so they order nothing), gathered, above the key's index. Names of one prefix
/// and digits vary in a few bits per byte (`t218541`: 37 bits), so the sort moves 8 bytes per
/// entry instead of 16, in fewer radix passes than one per varying byte.
struct Compressed {
    /// The bits every key has (the varying ones cleared).
    base: u64,
    /// The bytes of a key that vary.
    bytes: Vec<VaryingByte>,
    /// Gathered bits, 8 at a time from the lowest: their value → their bits in the key (half
    /// the look-ups of one per varying byte when bytes vary in 4 bits, as digits do).
    deposit: Vec<[u64; 256]>,
    /// Gathered bits.
    bits: u32,
    /// Bits below them holding the key's index.
    index_bits: u32,
}

/// One byte of the keys that varies: where it is, and its values' gathered bits.
struct VaryingByte {
    /// The byte's shift in a key.
    shift: u32,
    /// Byte value → its gathered bits.
    gather: [u64; 256],
}

impl Compressed {
    /// The gathering for `keys`, if its bits and an index fit 64 bits.
    fn of(keys: &[u64]) -> Option<Self> {
        let first = *keys.first()?;
        let varying = keys
            .par_iter()
            .with_min_len(1 << 14)
            .map(|&k| k ^ first)
            .reduce(|| 0, |a, b| a | b);
        let bits = varying.count_ones();
        let index_bits = usize::BITS - (keys.len() - 1).leading_zeros();
        if bits + index_bits > 64 {
            return None;
        }
        // The varying bits gathered in their order (byte `b`'s above those of the bytes
        // below it): gathered bit `g` is key bit `kept[g]`.
        let kept: Vec<u32> = (0..64).filter(|bit| varying >> bit & 1 == 1).collect();
        let mut bytes = Vec::new();
        for shift in (0..64).step_by(8) {
            if varying >> shift & 0xff == 0 {
                continue;
            }
            let mut byte = VaryingByte {
                shift,
                gather: [0; 256],
            };
            for value in 0..256u64 {
                for (out, &bit) in (0u32..).zip(&kept) {
                    if (shift..shift + 8).contains(&bit) {
                        byte.gather[value as usize] |= (value >> (bit - shift) & 1) << out;
                    }
                }
            }
            bytes.push(byte);
        }
        let deposit = kept
            .chunks(8)
            .map(|chunk| {
                let mut table = [0u64; 256];
                for (value, slot) in (0u64..).zip(&mut table) {
                    for (out, &bit) in (0u32..).zip(chunk) {
                        *slot |= (value >> out & 1) << bit;
                    }
                }
                table
            })
            .collect();
        Some(Self {
            base: first & !varying,
            bytes,
            deposit,
            bits,
            index_bits,
        })
    }

    /// `key` (key number `index`) as one sortable integer.
    #[inline]
    fn pack(&self, key: u64, index: usize) -> u64 {
        let gathered = self
            .bytes
            .iter()
            .fold(0, |acc, b| acc | b.gather[(key >> b.shift & 0xff) as usize]);
        (gathered << self.index_bits) | index as u64
    }

    /// The key of a packed entry (spelt from its gathered bits: no look-up in the keys,
    /// which the sorted entries visit in random order).
    #[inline]
    fn key(&self, packed: u64) -> u64 {
        let gathered = packed >> self.index_bits;
        (0..)
            .zip(&self.deposit)
            .fold(self.base, |acc, (chunk, table)| {
                acc | table[(gathered >> (8 * chunk) & 0xff) as usize]
            })
    }

    /// The key index of a packed entry.
    #[inline]
    fn index(&self, packed: u64) -> u32 {
        (packed & ((1u64 << self.index_bits) - 1)) as u32
    }

    /// `keys` packed and sorted by their gathered bits (equal keys in any order): one
    /// parallel pass on the most significant 8 bits into buckets, then each bucket sorted on
    /// the others, least significant first, in passes of up to 11 bits, the buckets in
    /// parallel (each small enough to stay in a core's cache when the top bits spread the keys;
    /// one bucket holding most keys is sorted by one thread, as in [`radix_sort`]).
    fn sort(&self, keys: Vec<u64>) -> Vec<u64> {
        // Packed in place (the keys are spelt back from the packed entries): one table fewer
        // to fault in.
        let mut packed = keys;
        packed
            .par_iter_mut()
            .with_min_len(1 << 14)
            .enumerate()
            .for_each(|(i, key)| *key = self.pack(*key, i));
        let top = self.bits.min(8);
        let low = self.bits - top;
        let mut sorted = vec![0u64; packed.len()];
        let counts = scatter_in_parallel(&packed, &mut sorted, self.index_bits + low, top);
        let passes = low.div_ceil(11);
        let width = low.div_ceil(passes.max(1));
        let mut scratch = packed;
        let mut pieces = Vec::new();
        let (mut rest, mut spare) = (&mut sorted[..], &mut scratch[..]);
        for &count in &counts {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(count);
            let (head_spare, tail_spare) = std::mem::take(&mut spare).split_at_mut(count);
            if count > 1 {
                pieces.push((head, head_spare));
            }
            (rest, spare) = (tail, tail_spare);
        }
        pieces.into_par_iter().for_each(|(bucket, spare)| {
            let (mut from, mut to) = (bucket, spare);
            let mut shift = self.index_bits;
            for pass in 0..passes {
                let digits = width.min(low - pass * width);
                scatter_digits(from, to, shift, digits);
                shift += digits;
                std::mem::swap(&mut from, &mut to);
            }
            if passes % 2 == 1 {
                to.copy_from_slice(from);
            }
        });
        sorted
    }
}

/// Sorts `(key, value)` entries by key (the order of equal keys is left as it comes: they are
/// one name). Radix sort on the bytes that are not the same in every key (names of one prefix
/// and a few digits vary in fewer than eight), no comparisons: one pass on the most
/// significant of them splits the entries into up to 256 buckets, then each bucket is sorted
/// on the others, least significant first, the buckets in parallel.
fn radix_sort(entries: &mut Vec<(u64, u32)>) {
    let Some(&(first, _)) = entries.first() else {
        return;
    };
    let varying = entries
        .par_iter()
        .with_min_len(1 << 14)
        .map(|e| e.0 ^ first)
        .reduce(|| 0, |a, b| a | b);
    let bytes: Vec<u32> = (0..8).filter(|b| varying >> (8 * b) & 0xff != 0).collect();
    let Some((&top, low)) = bytes.split_last() else {
        return; // one key
    };
    let mut other = vec![(0u64, 0u32); entries.len()];
    let counts = scatter_by(entries, &mut other, top);
    // Bucket by bucket: the entries (in `other`) and as much scratch space (`entries`).
    let mut pieces = Vec::new();
    let (mut rest, mut scratch) = (&mut other[..], &mut entries[..]);
    for &count in counts.iter().filter(|&&c| c > 0) {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(count);
        let (head_scratch, tail_scratch) = std::mem::take(&mut scratch).split_at_mut(count);
        pieces.push((head, head_scratch));
        (rest, scratch) = (tail, tail_scratch);
    }
    pieces.into_par_iter().for_each(|(bucket, scratch)| {
        let (mut from, mut to) = (bucket, scratch);
        for &b in low {
            scatter_by(from, to, b);
            std::mem::swap(&mut from, &mut to);
        }
        // After an odd number of passes the bucket is in the scratch space.
        if low.len() % 2 == 1 {
            to.copy_from_slice(from);
        }
    });
    *entries = other;
}

/// One stable counting pass: `from` into `to` ordered by byte `b` of the keys; returns the
/// count of each byte value.
fn scatter_by(from: &[(u64, u32)], to: &mut [(u64, u32)], b: u32) -> [usize; 256] {
    let digit = |key: u64| (key >> (8 * b) & 0xff) as usize;
    let mut counts = [0usize; 256];
    for e in from {
        counts[digit(e.0)] += 1;
    }
    let mut next = [0usize; 256];
    let mut sum = 0;
    for (slot, &count) in next.iter_mut().zip(&counts) {
        *slot = sum;
        sum += count;
    }
    for &e in from {
        let slot = &mut next[digit(e.0)];
        to[*slot] = e;
        *slot += 1;
    }
    counts
}

/// Digit `(e >> shift) & (2^width - 1)` of a packed entry.
#[inline]
fn digit(e: u64, shift: u32, width: u32) -> usize {
    (e >> shift & ((1u64 << width) - 1)) as usize
}

/// One stable counting pass: `from` into `to` ordered by the digit of `width` bits at
/// `shift`.
fn scatter_digits(from: &[u64], to: &mut [u64], shift: u32, width: u32) {
    let mut next = vec![0usize; 1 << width];
    for &e in from {
        next[digit(e, shift, width)] += 1;
    }
    let mut sum = 0;
    for slot in &mut next {
        (*slot, sum) = (sum, sum + *slot);
    }
    for &e in from {
        let slot = &mut next[digit(e, shift, width)];
        to[*slot] = e;
        *slot += 1;
    }
}

/// [`scatter_digits`] by ranges of `from` in parallel: each range counts its digits, then
/// writes into its own slice of every digit's bucket in `to` (the buckets cut, digit by digit,
/// into one slice per range in range order). Returns each digit's count.
fn scatter_in_parallel(from: &[u64], to: &mut [u64], shift: u32, width: u32) -> Vec<usize> {
    let buckets = 1usize << width;
    let range_len = from
        .len()
        .div_ceil(4 * rayon::current_num_threads().max(1))
        .max(1 << 14);
    let ranges: Vec<&[u64]> = from.chunks(range_len).collect();
    let counts: Vec<Vec<usize>> = ranges
        .par_iter()
        .map(|range| {
            let mut counts = vec![0usize; buckets];
            for &e in *range {
                counts[digit(e, shift, width)] += 1;
            }
            counts
        })
        .collect();
    let mut slices: Vec<Vec<&mut [u64]>> = ranges.iter().map(|_| Vec::new()).collect();
    let mut rest = to;
    for d in 0..buckets {
        for (r, counts) in counts.iter().enumerate() {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(counts[d]);
            slices[r].push(head);
            rest = tail;
        }
    }
    ranges
        .par_iter()
        .zip(slices)
        .for_each(|(range, mut slices)| {
            let mut next = vec![0usize; buckets];
            for &e in *range {
                let d = digit(e, shift, width);
                slices[d][next[d]] = e;
                next[d] += 1;
            }
        });
    (0..buckets)
        .map(|d| counts.iter().map(|c| c[d]).sum())
        .collect()
}

/// Numbers `n` sorted entries (entry `i` starts a new name when `is_new(i)`): ranges of
/// entries in parallel, each counting the names that start in it, then a prefix sum gives each
/// range its first id, and the ranges, in parallel again, write their ids and ends straight
/// into the result and spell their names (`push(i, text)` spells entry `i`'s name onto the
/// bytes) into room for `name_bytes` bytes per name (names of at most that length then spelt
/// without a copy to a grown buffer; 0 when unknown), then copy them into place, in parallel
/// too. Returns local id → canonical id over all parts (`flat(i)` is entry `i`'s index among
/// them, `total` in all, each index once), and the distinct names concatenated with their
/// ends.
///
/// With `rows` (the number of rows of each flat index), each range also sums the rows of its
/// entries, a prefix sum gives each range its first row, and the ranges write, instead of
/// canonical ids, the end of each flat index's range of rows (the rows of a name's entries
/// one after another, in sorted order), and each name's first row: returned last, with the
/// number of rows after the last name ([`MergeError::TooMany`] from 2³² − 1 rows).
#[allow(clippy::type_complexity)]
fn number(
    n: usize,
    total: usize,
    name_bytes: usize,
    is_new: impl Fn(usize) -> bool + Sync,
    flat: impl Fn(usize) -> u32 + Sync,
    push: impl Fn(usize, &mut Vec<u8>) + Sync,
    rows: Option<Vec<u32>>,
) -> Result<(Vec<u32>, Vec<u8>, Vec<usize>, Option<Vec<u32>>), MergeError> {
    let threads = rayon::current_num_threads().max(1);
    let range_len = n.div_ceil(4 * threads).max(1 << 12);
    let ranges: Vec<(usize, usize)> = (0..n)
        .step_by(range_len)
        .map(|s| (s, (s + range_len).min(n)))
        .collect();
    let weighted = rows.is_some();
    let mut ids = rows.unwrap_or_else(|| vec![0u32; total]);
    // With `rows`, each entry's count in sorted order: gathered by the first pass (random
    // reads of a table no thread writes yet), so that the second pass only stores at random
    // (reading and writing the same random places from two threads moved cache lines between
    // the cores at every entry: 5 ms instead of 2 at 10⁶).
    let mut sorted_rows = vec![0u32; if weighted { n } else { 0 }];
    let lens = ranges
        .iter()
        .map(|&(s, e)| if weighted { e - s } else { 0 });
    let mut row_pieces = cut(&mut sorted_rows, lens);
    // Each range's names and (with `rows`) rows.
    let counts: Vec<(usize, u64)> = ranges
        .par_iter()
        .zip(row_pieces.par_iter_mut())
        .map(|(&(s, e), sorted)| {
            let names = (s..e).filter(|&i| is_new(i)).count();
            let mut rows = 0u64;
            for (i, count) in (s..e).zip(sorted.iter_mut()) {
                *count = ids[flat(i) as usize];
                rows += u64::from(*count);
            }
            (names, rows)
        })
        .collect();
    let n_distinct = counts.iter().map(|c| c.0).sum();
    let n_rows: u64 = counts.iter().map(|c| c.1).sum();
    if n_rows >= u64::from(u32::MAX) {
        return Err(MergeError::TooMany);
    }
    let mut ends = vec![0usize; n_distinct];
    let mut offsets = if weighted {
        vec![0u32; n_distinct + 1]
    } else {
        Vec::new()
    };
    // Each range's first id, first row, and its slices of the ends and offsets.
    let mut pieces = Vec::with_capacity(ranges.len());
    let mut rest = &mut ends[..];
    let mut rest_offsets = &mut offsets[..];
    let (mut first, mut first_row) = (0usize, 0u64);
    for ((&range, &(count, rows)), sorted) in ranges.iter().zip(&counts).zip(row_pieces) {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(count);
        let (head_offsets, tail_offsets) = if weighted {
            std::mem::take(&mut rest_offsets).split_at_mut(count)
        } else {
            (&mut [][..], &mut [][..])
        };
        pieces.push((
            range,
            first,
            (first_row as u32, &*sorted),
            head,
            head_offsets,
        ));
        (rest, rest_offsets) = (tail, tail_offsets);
        first += count;
        first_row += rows;
    }
    if let Some(last) = rest_offsets.first_mut() {
        *last = n_rows as u32;
    }
    // SAFETY: `AtomicU32` has the size, alignment and bit validity of `u32`, and `ids` is not
    // otherwise used while the view lives.
    let shared: &[AtomicU32] =
        unsafe { &*(std::ptr::from_mut::<[u32]>(&mut ids[..]) as *const [AtomicU32]) };
    // Each range's names, spelt; its ends relative to them.
    let spelled: Vec<(Vec<u8>, &mut [usize])> = pieces
        .into_par_iter()
        .map(|(range, first, row, ends, offsets)| {
            let mut text = Vec::with_capacity(ends.len() * name_bytes);
            let spell = (&mut text, &mut *ends, offsets);
            // (`row`: the range's first row and its entries' counts.)
            // Two loops, each without a branch on `weighted`.
            if weighted {
                number_range::<true>(range, first, row, spell, shared, &is_new, &flat, &push);
            } else {
                number_range::<false>(range, first, row, spell, shared, &is_new, &flat, &push);
            }
            (text, ends)
        })
        .collect();
    let mut text = vec![0u8; spelled.iter().map(|(t, _)| t.len()).sum()];
    let mut rest = &mut text[..];
    let mut pieces = Vec::with_capacity(spelled.len());
    let mut base = 0;
    for (piece, ends) in spelled {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(piece.len());
        rest = tail;
        base += piece.len();
        pieces.push((base - piece.len(), piece, head, ends));
    }
    pieces
        .into_par_iter()
        .for_each(|(base, piece, place, ends)| {
            place.copy_from_slice(&piece);
            for end in ends {
                *end += base;
            }
        });
    Ok((ids, text, ends, weighted.then_some(offsets)))
}

/// [`number`]'s second pass over the entries `s..e` of one range: spells the names that start
/// in it onto `text` with their `ends` (and with `ROWS`, their first rows in `offsets`), and
/// writes each entry's canonical id (with `ROWS`, the end of its rows: `row` being the first
/// row of the range and the counts of its entries in order) at its flat index.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn number_range<const ROWS: bool>(
    (s, e): (usize, usize),
    first: usize,
    (mut row, counts): (u32, &[u32]),
    (text, ends, offsets): (&mut Vec<u8>, &mut [usize], &mut [u32]),
    shared: &[AtomicU32],
    is_new: &impl Fn(usize) -> bool,
    flat: &impl Fn(usize) -> u32,
    push: &impl Fn(usize, &mut Vec<u8>),
) {
    // The id of the last name started (before the range's first name, the name the previous
    // ranges started last).
    let mut id = first.wrapping_sub(1);
    let mut k = 0;
    for i in s..e {
        if is_new(i) {
            id = id.wrapping_add(1);
            push(i, text);
            ends[k] = text.len();
            if ROWS {
                offsets[k] = row;
            }
            k += 1;
        }
        let slot = &shared[flat(i) as usize];
        if ROWS {
            // The sums of the first pass bound every `row` by the number of rows.
            row += counts[i - s];
            slot.store(row, Atomic::Relaxed);
        } else {
            slot.store(id as u32, Atomic::Relaxed);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::responses::{Interner, canonical, intern};

    /// Parts as owned (bytes, ends).
    pub(crate) fn parts_of(lists: &[Vec<&str>]) -> Vec<(Vec<u8>, Vec<usize>)> {
        lists
            .iter()
            .map(|names| {
                let mut bytes = Vec::new();
                let mut ends = Vec::new();
                for n in names {
                    bytes.extend_from_slice(n.as_bytes());
                    ends.push(bytes.len());
                }
                (bytes, ends)
            })
            .collect()
    }

    /// The merge against the sequential interner + `canonical` it replaces.
    fn check(lists: &[Vec<&str>]) {
        let owned = parts_of(lists);
        let parts: Vec<PartNames<'_>> = owned
            .iter()
            .map(|(b, e)| PartNames { bytes: b, ends: e })
            .collect();
        let merged = merge(&parts, true).unwrap();
        let mut set = Interner::default();
        let locals: Vec<Vec<u32>> = lists
            .iter()
            .map(|names| names.iter().map(|n| intern(&mut set, n)).collect())
            .collect();
        let (sorted, rank, numeric) = canonical(set);
        assert_eq!(merged.names.numeric(), numeric);
        let want: Vec<&str> = sorted.iter().map(|s| &**s).collect();
        assert_eq!(merged.names.iter().collect::<Vec<_>>(), want);
        for (p, local) in locals.iter().enumerate() {
            let got = merged.map(p);
            let expected: Vec<u32> = local.iter().map(|&l| rank[l as usize]).collect();
            assert_eq!(got, &expected[..]);
        }
        for (i, name) in want.iter().enumerate() {
            assert_eq!(merged.names.position(name), Some(i));
        }
        assert_eq!(merged.names.position("not-a-name"), None);
    }

    #[test]
    fn same_names_and_ids_as_the_sequential_interner() {
        check(&[vec!["b", "a"], vec!["a", "c", "b"], vec![]]);
        // Numeric order, spellings of one value ordered by bytes, signs, a tie in the key.
        check(&[
            vec!["10", "2", "+2", "02"],
            vec!["-3", "2", "9223372036854775807"],
        ]);
        // A non-integer makes the order bytewise.
        check(&[vec!["10", "2"], vec!["x"]]);
        // Names sharing their first 8 bytes, prefixes of each other, zero bytes, non-ASCII.
        check(&[
            vec!["abcdefgh", "abcdefghi", "abcdefgh\0", "abcdefg"],
            vec!["abcdefghi", "é", "ab\0", "ab", "a"],
            vec!["abcdefghZ", "abcdefghAA", "abcdefgh\0\0", "abcdefghA"],
        ]);
        check(&[]);
        // Many parts, many repeats.
        let names: Vec<String> = (0..5000).map(|i| format!("w{}", i * 7919 % 3001)).collect();
        check_chunked(&names, 333);
    }

    /// [`check`] of `names` cut into parts of `size`.
    fn check_chunked(names: &[String], size: usize) {
        let lists: Vec<Vec<&str>> = names
            .chunks(size)
            .map(|c| c.iter().map(|s| &**s).collect())
            .collect();
        check(&lists);
    }

    /// Pseudo-random draws below `n` (xorshift from `seed`).
    pub(crate) fn draws(seed: u64) -> impl FnMut(u64) -> u64 {
        let mut state = seed;
        move |n| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        }
    }

    #[test]
    fn random_names_from_a_small_alphabet() {
        // Short names over {"\0", "0", "1", "a", "é"} of 1..=11 characters, so that keys tie
        // often; a second round with integers only (numeric order, signs, leading zeros).
        let mut next = draws(0x2545_F491_4F6C_DD1D);
        for alphabet in [&["\0", "0", "1", "a", "é"][..], &["0", "1", "9"][..]] {
            let names: Vec<String> = (0..3000)
                .map(|_| {
                    let len = 1 + next(11) as usize;
                    let mut s: String = (0..len)
                        .map(|_| alphabet[next(alphabet.len() as u64) as usize])
                        .collect();
                    if alphabet.len() == 3 && next(4) == 0 {
                        s.insert(0, if next(2) == 0 { '-' } else { '+' });
                    }
                    s
                })
                .collect();
            check_chunked(&names, 700);
        }
        // Names of up to 7 bytes only (the path sorted by one integer key): prefixes of each
        // other, trailing zero bytes, a two-byte character.
        let alphabet = ["\0", "0", "1", "a", "é"];
        for max in [1, 3] {
            let names: Vec<String> = (0..3000)
                .map(|_| {
                    (0..1 + next(max) as usize)
                        .map(|_| alphabet[next(alphabet.len() as u64) as usize])
                        .collect()
                })
                .collect();
            assert!(names.iter().all(|n| n.len() <= SHORT));
            check_chunked(&names, 700);
        }
    }

    fn borrowed(lists: &[Vec<String>]) -> Vec<Vec<&str>> {
        lists
            .iter()
            .map(|l| l.iter().map(|s| &**s).collect())
            .collect()
    }

    /// The packing [`merge`] would use for `lists`.
    fn packing_of(lists: &[Vec<&str>]) -> Option<Packing> {
        let owned = parts_of(lists);
        let parts: Vec<PartNames<'_>> = owned
            .iter()
            .map(|(b, e)| PartNames { bytes: b, ends: e })
            .collect();
        Packing::of(&parts)
    }

    #[test]
    fn names_of_eight_bytes_are_sorted_by_their_padded_bytes_unless_one_holds_a_zero() {
        // Up to 8 bytes from {"0", "1", "a"} (prefixes of each other, shared first bytes),
        // in random order then sorted: the padded path, with and without the radix sort.
        let mut next = draws(0x9E37_79B9_7F4A_7C15);
        let alphabet = ["0", "1", "a"];
        let mut names: Vec<String> = (0..3000)
            .map(|_| {
                (0..1 + next(8) as usize)
                    .map(|_| alphabet[next(3) as usize])
                    .collect()
            })
            .collect();
        names.push("aaaaaaaa".into());
        let lists = |names: &[String]| -> Vec<Vec<String>> {
            names.chunks(700).map(<[String]>::to_vec).collect()
        };
        let shuffled = lists(&names);
        assert!(matches!(
            packing_of(&borrowed(&shuffled)),
            Some(Packing::Padded)
        ));
        check(&borrowed(&shuffled));
        let mut sorted = names.clone();
        sorted.sort_unstable();
        check(&borrowed(&lists(&sorted)));
        // A zero byte in any part (even one of short names) rules the padding out: "ab\0"
        // and "ab" would share a key.
        let mut with_zero = borrowed(&shuffled);
        with_zero.push(vec!["ab\0", "ab"]);
        assert!(packing_of(&with_zero).is_none());
        check(&with_zero);
        // Up to 7 bytes (zeros or not): the short keys; longer: none.
        assert!(matches!(
            packing_of(&[vec!["ab\0", "ab", "abcdefg"]]),
            Some(Packing::Short)
        ));
        assert!(packing_of(&[vec!["abcdefghi"]]).is_none());
        // Tasks spelled as t0000000 in row order (parts of consecutive names).
        let tasks: Vec<String> = (0..5000).map(|i| format!("t{i:07}")).collect();
        check_chunked(&tasks, 333);
    }

    #[test]
    fn radix_sort_orders_by_key() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for (n, mask) in [
            (0, !0),
            (1, !0),
            (5000, !0),
            (5000, 0x00ff_0f00_0000_00ff),
            (5000, 0x0f00_0000_0000_0000),
            (5000, 0x0000_0000_0001_0f00),
            (5000, 0),
        ] {
            let mut entries: Vec<(u64, u32)> = (0..n)
                .map(|i| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state & mask, i)
                })
                .collect();
            let mut expected = entries.clone();
            expected.sort_unstable_by_key(|e| e.0);
            radix_sort(&mut entries);
            let keys = |v: &[(u64, u32)]| v.iter().map(|e| e.0).collect::<Vec<_>>();
            assert_eq!(keys(&entries), keys(&expected));
            // The same entries, each once.
            let mut values: Vec<u32> = entries.iter().map(|e| e.1).collect();
            values.sort_unstable();
            assert_eq!(values, (0..n).collect::<Vec<u32>>());
        }
    }

    #[test]
    fn keys_whose_varying_bits_do_not_fit_with_an_index_take_the_pair_radix_sort() {
        // 8 bytes from 62 characters: 7 varying bits a byte (56), plus 12 of index: 68.
        let alphabet: Vec<char> = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect();
        let mut next = draws(0xD1B5_4A32_D192_ED03);
        let names: Vec<String> = (0..3000)
            .map(|_| {
                (0..8)
                    .map(|_| alphabet[next(alphabet.len() as u64) as usize])
                    .collect()
            })
            .collect();
        let keys: Vec<u64> = names
            .iter()
            .map(|n| Packing::Padded.key(n.as_bytes()))
            .collect();
        assert!(Compressed::of(&keys).is_none());
        let owned: Vec<Vec<String>> = names.chunks(700).map(<[String]>::to_vec).collect();
        let lists = borrowed(&owned);
        assert!(matches!(packing_of(&lists), Some(Packing::Padded)));
        check(&lists);
    }

    #[test]
    fn compressed_sort_orders_by_key() {
        let mut next = draws(0x9E37_79B9_7F4A_7C15);
        // Masks: everything (no compression fits with an index), the digits of names of a
        // prefix and up to 6 digits with their length, a few scattered bits, one bit, none;
        // at the edge, 51 varying bits and 13 of index for 5,000 keys (exactly 64, the top
        // pass at bit 56) and 52 (65: no fit). Whether it fits is counted by hand.
        for (n, mask, fits) in [
            (1, 0x3f3f_3f3f_3f0f_0007, true),
            (2, 0x3f3f_3f3f_3f0f_0007, true),
            (5000, !0u64, false),
            (5000, 0x003f_3f3f_3f3f_0f07, true),
            (70_000, 0x003f_3f3f_3f3f_0f07, true),
            (5000, 0x0f00_0000_0001_0f00, true),
            (5000, 0x0000_0100_0000_0000, true),
            (5000, 0, true),
            (5000, 0x0007_ffff_ffff_ffff, true),
            (5000, 0x000f_ffff_ffff_ffff, false),
        ] {
            let keys: Vec<u64> = (0..n)
                .map(|_| next(u64::MAX) & mask | 0x7400_0000_0000_0000)
                .collect();
            let order = Compressed::of(&keys);
            assert_eq!(order.is_some(), fits, "{n} keys, mask {mask:x}");
            let Some(order) = order else {
                continue;
            };
            let sorted = order.sort(keys.clone());
            let got: Vec<u64> = sorted
                .iter()
                .map(|&e| keys[order.index(e) as usize])
                .collect();
            let spelt: Vec<u64> = sorted.iter().map(|&e| order.key(e)).collect();
            assert_eq!(spelt, got, "keys spelt from their gathered bits");
            let mut expected = keys.clone();
            expected.sort_unstable();
            assert_eq!(got, expected, "{n} keys, mask {mask:x}");
            // Each key once, and equal gathered bits exactly for equal keys.
            let mut indexes: Vec<u32> = sorted.iter().map(|&e| order.index(e)).collect();
            indexes.sort_unstable();
            assert_eq!(indexes, (0..n as u32).collect::<Vec<_>>());
            for w in sorted.windows(2) {
                let same = w[0] >> order.index_bits == w[1] >> order.index_bits;
                let (a, b) = (
                    keys[order.index(w[0]) as usize],
                    keys[order.index(w[1]) as usize],
                );
                assert_eq!(same, a == b);
            }
        }
    }

    #[test]
    fn invalid_utf8_is_reported() {
        let bytes = b"a\xff".to_vec();
        let ends = vec![1, 2];
        let parts = [PartNames {
            bytes: &bytes,
            ends: &ends,
        }];
        assert_eq!(merge(&parts, true).err(), Some(MergeError::NotUtf8));
    }

    #[test]
    fn a_character_split_between_two_names_is_reported() {
        // The part's bytes are valid UTF-8 ("aé") but neither name is.
        let bytes = b"a\xC3\xA9".to_vec();
        let ends = vec![2, 3];
        let good = parts_of(&[vec!["b"]]);
        let parts = [
            PartNames {
                bytes: &good[0].0,
                ends: &good[0].1,
            },
            PartNames {
                bytes: &bytes,
                ends: &ends,
            },
        ];
        for rule in [true, false] {
            assert_eq!(merge(&parts, rule).err(), Some(MergeError::NotUtf8));
        }
    }

    #[test]
    fn byte_order_without_the_rule() {
        let owned = parts_of(&[vec!["10", "2", "9"]]);
        let parts = [PartNames {
            bytes: &owned[0].0,
            ends: &owned[0].1,
        }];
        let merged = merge(&parts, false).unwrap();
        assert_eq!(merged.names.iter().collect::<Vec<_>>(), ["10", "2", "9"]);
        assert!(!merged.names.numeric());
        let merged = merge(&parts, true).unwrap();
        assert_eq!(merged.names.iter().collect::<Vec<_>>(), ["2", "9", "10"]);
        assert_eq!(merged.map(0), [2, 0, 1]);
    }

    /// The merge of `lists` with and without the walk of [`Numbered`] (with and without row
    /// counts, `rows(part, local id)`): the same names, ids, row ends and first rows; and
    /// whether the walk was taken.
    fn same_walked_as_sorted(lists: &[Vec<String>], rule: bool) -> bool {
        let borrowed = borrowed(lists);
        let owned = parts_of(&borrowed);
        let parts: Vec<PartNames<'_>> = owned
            .iter()
            .map(|(b, e)| PartNames { bytes: b, ends: e })
            .collect();
        let total = parts.iter().map(PartNames::len).sum();
        let numeric = rule && borrowed.iter().flatten().all(|n| parse_int(n).is_some());
        let walked = Numbered::of(&parts, total, numeric).is_some();
        let counts: Vec<Vec<u32>> = lists
            .iter()
            .enumerate()
            .map(|(p, names)| {
                (0..names.len())
                    .map(|i| ((p * 7 + i * 3) % 5) as u32)
                    .collect()
            })
            .collect();
        for counts in [None, Some(&counts[..])] {
            let sorted = merge_sorted_or_walked(&parts, rule, counts, false).unwrap();
            let walked = merge_sorted_or_walked(&parts, rule, counts, true).unwrap();
            let case = format!("rule {rule}, counts {}", counts.is_some());
            assert_eq!(walked.0, sorted.0, "names, {case}");
            assert_eq!(walked.2, sorted.2, "parts' starts, {case}");
            assert_eq!(walked.3, sorted.3, "first rows, {case}");
            if counts.is_none() || !numeric {
                assert_eq!(walked.1, sorted.1, "ids or row ends, {case}");
                continue;
            }
            // Numeric order sorts the entries of one name in no set order (by their bytes
            // only): the ranges of a name's entries tile its rows, the walk's in flat order.
            let ids = merge_sorted_or_walked(&parts, rule, None, false).unwrap().1;
            let (flat, firsts) = (counts.unwrap().concat(), walked.3.unwrap());
            let mut next = firsts.clone();
            for (i, (&id, &count)) in ids.iter().zip(&flat).enumerate() {
                next[id as usize] += count;
                assert_eq!(walked.1[i], next[id as usize], "row ends, {case}");
            }
            assert!((0..ids.len()).all(|i| next[ids[i] as usize] == firsts[ids[i] as usize + 1]));
            let mut ranges: Vec<(u32, u32)> = (0..ids.len())
                .map(|i| (sorted.1[i] - flat[i], sorted.1[i]))
                .collect();
            ranges.sort_unstable();
            assert!(
                ranges.windows(2).all(|w| w[0].1 == w[1].0),
                "the sort's ranges tile"
            );
        }
        walked
    }

    #[test]
    fn names_of_a_prefix_and_a_number_walked_as_sorted() {
        let mut draw = draws(7);
        let names = |prefix: &str, n: u64, bound: u64, draw: &mut dyn FnMut(u64) -> u64| {
            (0..n)
                .map(|_| format!("{prefix}{}", draw(bound)))
                .collect::<Vec<_>>()
        };
        // Random order, repeats within and across parts, byte order and numeric order.
        for (prefix, bound) in [
            ("t", 5000),
            ("task-", 123),
            ("", 20_000),
            ("w", 10),
            ("", 1),
        ] {
            let lists: Vec<Vec<String>> = (0..3)
                .map(|_| names(prefix, 2000, bound, &mut draw))
                .collect();
            for rule in [true, false] {
                assert!(
                    same_walked_as_sorted(&lists, rule),
                    "{prefix} {bound} {rule}"
                );
            }
        }
        // Every number below a bound, each once, in one part.
        let all: Vec<String> = (0..1234).map(|i| format!("t{i}")).collect();
        assert!(same_walked_as_sorted(std::slice::from_ref(&all), true));
        // Eight digits, their largest number: too sparse for the table, which would reach up
        // to it.
        let eight = vec![vec!["t99999999".to_string(), "t99999990".to_string()]];
        assert!(
            !same_walked_as_sorted(&eight, true),
            "too sparse for the table"
        );
        // Taken by the sort: a leading zero, another prefix, no digits, nine digits, a sign,
        // a prefix too long.
        for odd in ["t07", "u7", "t", "t123456789", "t-7", "t+7", "abcdefghi7"] {
            let mut list = all.clone();
            list.push(odd.to_string());
            assert!(!same_walked_as_sorted(&[list], true), "{odd}");
        }
        assert!(!same_walked_as_sorted(
            &[vec!["-7".into(), "7".into()]],
            true
        ));
        // A prefix holding digits, and ending with a non-ASCII character.
        for prefix in ["a1b", "é"] {
            let lists = vec![
                names(prefix, 500, 700, &mut draw),
                names(prefix, 500, 700, &mut draw),
            ];
            assert!(same_walked_as_sorted(&lists, true), "{prefix}");
        }
    }
}
