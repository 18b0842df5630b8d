//! The merge of names that are one prefix and a number each (`t0`, `t1`, …, `t249999`; in
//! numeric order, `0`, `1`, `2`, …): the canonical order of such names is an order of their
//! numbers that can be walked without sorting anything.
//!
//! In byte order the names compare as their digits do (the prefix is common), which is the
//! order of a depth-first walk of the decimal tree (`1`, `10`, `100`, `101`, …, `11`, …, `2`);
//! in numeric order it is the numbers' order. So the numbers present are marked in a table
//! indexed by number, and one walk over the table numbers them, spells them and (in a merge
//! with row counts) gives each its first row. The walk is cut into shares for the thread
//! pool (each first digit's numbers, or ranges of numbers), each sized beforehand so that it
//! writes its own slices of the output. It needs the numbers to be dense enough for the
//! table (a bound of a few times the names merged) and each number to be spelt one way only
//! (no leading zeros, or every name zero-padded to one width, whose byte order is then the
//! numeric one), so that one number is one name; other names take the sort of
//! [`super::merge`].

use std::sync::atomic::{AtomicU32, Ordering as Atomic};

use super::{MergeError, PartNames, cut, load_le};
use crate::numeric::prefetch::prefetch;
use rayon::prelude::*;

/// The most digits a number is read with (its spelling fits a `u64`).
const MAX_DIGITS: usize = 8;

/// How sparse the numbers may be: the table over them grows to at most this many times the
/// names merged (plus a start), so that its walk costs about as much as the names do.
const SPREAD: usize = 4;

/// The names of a merge as one prefix and a number each.
pub(super) struct Numbered<'a> {
    prefix: &'a [u8],
    /// Each name's number, in flat order (part by part, local ids in order).
    numbers: Vec<u32>,
    /// One more than the largest number.
    bound: usize,
    /// The order: numeric, or byte order (the digits as text).
    numeric: bool,
    /// The digits of every name when they are zero-padded to one width (`t000042`): then
    /// their byte order is their numbers'.
    width: Option<usize>,
}

/// The first name of `parts`' prefix: the name without its last digits (`None` if it does not
/// end with a digit).
fn prefix_of<'a>(parts: &[PartNames<'a>]) -> Option<&'a [u8]> {
    let part = parts.iter().find(|p| p.len() > 0)?;
    let first = &part.bytes[..part.ends[0]];
    let digits = first
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    (digits > 0).then(|| &first[..first.len() - digits])
}

/// `bytes` (at most 16) little-endian in a `u128`.
fn packed(bytes: &[u8]) -> u128 {
    let mut word = [0u8; 16];
    word[..bytes.len()].copy_from_slice(bytes);
    u128::from_le_bytes(word)
}

/// The number of `digits` (1 to [`MAX_DIGITS`] ASCII digits); `None` otherwise.
#[inline(always)]
fn number_of(digits: &[u8]) -> Option<u32> {
    let n = digits.len();
    if n == 0 || n > MAX_DIGITS {
        return None;
    }
    digits_value(load_le(digits), n)
}

/// What a part's names tell of their digits: the largest number, the fewest and most digits,
/// and whether one starts with a zero (and is not `0`).
#[derive(Clone, Copy)]
struct Digits {
    largest: u32,
    shortest: usize,
    longest: usize,
    padded: bool,
}

impl<'a> Numbered<'a> {
    /// `parts`' names as a prefix and numbers, when they all are that (with `numeric`, numbers
    /// alone: the prefix empty), each number spelt one way only (no leading zeros, or every
    /// name zero-padded to one width), and the numbers dense enough; `total` names in all.
    pub(super) fn of(parts: &[PartNames<'a>], total: usize, numeric: bool) -> Option<Self> {
        let prefix = prefix_of(parts)?;
        if prefix.len() > MAX_PREFIX || numeric && !prefix.is_empty() {
            return None;
        }
        let p = prefix.len();
        // Compared as one integer: a slice comparison of a few bytes calls `memcmp`.
        let prefix_word = load_le(prefix);
        let limit = SPREAD * total + 1024;
        let mut numbers = vec![0u32; total];
        let pieces = cut(&mut numbers, parts.iter().map(PartNames::len));
        let digits = parts
            .par_iter()
            .zip(pieces)
            .map(|(part, piece)| {
                let mut seen = Digits {
                    largest: 0,
                    shortest: usize::MAX,
                    longest: 0,
                    padded: false,
                };
                for (name, number) in part.names().zip(piece) {
                    if name.len() <= p || load_le(&name[..p]) != prefix_word {
                        return None;
                    }
                    let digits = &name[p..];
                    *number = number_of(digits)?;
                    if *number as usize >= limit {
                        return None; // too sparse: no need to read further
                    }
                    seen.largest = seen.largest.max(*number);
                    seen.shortest = seen.shortest.min(digits.len());
                    seen.longest = seen.longest.max(digits.len());
                    seen.padded |= digits[0] == b'0' && digits.len() > 1;
                }
                Some(seen)
            })
            .collect::<Option<Vec<Digits>>>()?;
        let all = digits.iter().copied().reduce(|a, b| Digits {
            largest: a.largest.max(b.largest),
            shortest: a.shortest.min(b.shortest),
            longest: a.longest.max(b.longest),
            padded: a.padded | b.padded,
        })?;
        // Zero-padded numbers are one spelling each only when all have one width.
        if all.padded && all.shortest != all.longest {
            return None;
        }
        Some(Self {
            prefix,
            numbers,
            bound: all.largest as usize + 1,
            numeric,
            width: all.padded.then_some(all.longest),
        })
    }

    /// What [`super::number`] gives for these names (see there): each flat index's canonical
    /// id, or with `rows` (each flat index's row count) the end of its range of rows; the
    /// names spelt and their ends; with `rows`, each name's first row and the number of rows.
    /// A name's entries take their rows in flat order, as they come out of the sort.
    #[allow(clippy::type_complexity)]
    pub(super) fn number(
        self,
        rows: Option<Vec<u32>>,
    ) -> Result<(Vec<u32>, Vec<u8>, Vec<usize>, Option<Vec<u32>>), MergeError> {
        let Self {
            prefix,
            numbers,
            bound,
            numeric,
            width,
        } = self;
        if let Some(rows) = &rows
            && rows.par_iter().map(|&r| u64::from(r)).sum::<u64>() >= u64::from(u32::MAX)
        {
            return Err(MergeError::TooMany);
        }
        let weighted = rows.is_some();
        // Which numbers are present, and (with rows) each one's rows in all.
        let mut present = vec![0u64; bound.div_ceil(64)];
        let mut table = vec![0u32; bound];
        match &rows {
            Some(rows) => {
                for (i, (&number, &count)) in numbers.iter().zip(rows).enumerate() {
                    // In file order the numbers are scattered over the table (a cache miss
                    // each): the entry of the number some way ahead is asked for now.
                    prefetch_ahead(&table, &numbers, i);
                    present[number as usize / 64] |= 1 << (number % 64);
                    table[number as usize] += count;
                }
            }
            None => {
                for &number in &numbers {
                    present[number as usize / 64] |= 1 << (number % 64);
                }
            }
        }
        let distinct: usize = present.iter().map(|w| w.count_ones() as usize).sum();
        let spelling = Spelling {
            prefix: packed(prefix),
            start: prefix.len(),
            width: width.unwrap_or(1),
        };
        let ordered = numeric || width.is_some();
        let shares = shares(bound, ordered);
        // Each share's names, bytes and rows, then where each share starts.
        let sizes: Vec<(usize, usize, u64)> = shares
            .par_iter()
            .map(|share| share.size(&present, &table, &spelling))
            .collect();
        let text_len = sizes.iter().map(|s| s.1).sum::<usize>();
        // Zeroed by both threads, not one: the kernel zeroes each fresh page at its first
        // touch (≈ 5 MB at 250,000 tasks, 0.8 ms on one thread).
        let (mut text, (mut ends, mut offsets)) = rayon::join(
            || vec![0u8; text_len + NAME],
            || {
                rayon::join(
                    || vec![0usize; distinct],
                    || vec![0u32; if weighted { distinct + 1 } else { 0 }],
                )
            },
        );
        let (mut text_rest, mut ends_rest) = (&mut text[..], &mut ends[..]);
        let mut offsets_rest = &mut offsets[..];
        let mut work = Vec::with_capacity(shares.len());
        let (mut first, mut at) = ((0u32, 0u32), 0usize);
        for (k, (share, &(names, bytes, share_rows))) in shares.iter().zip(&sizes).enumerate() {
            // The last share's text takes the room the last name's `u128` store needs.
            let room = if k + 1 == shares.len() {
                text_rest.len()
            } else {
                bytes
            };
            let (share_text, tail) = std::mem::take(&mut text_rest).split_at_mut(room);
            let (share_ends, ends_tail) = std::mem::take(&mut ends_rest).split_at_mut(names);
            let offsets_len = if weighted { names } else { 0 };
            let (share_offsets, offsets_tail) =
                std::mem::take(&mut offsets_rest).split_at_mut(offsets_len);
            work.push((share, first, at, share_text, share_ends, share_offsets));
            (text_rest, ends_rest, offsets_rest) = (tail, ends_tail, offsets_tail);
            first = (first.0 + names as u32, first.1 + share_rows as u32);
            at += bytes;
        }
        if let Some(last) = offsets_rest.first_mut() {
            *last = first.1; // the number of rows (below u32::MAX: checked above)
        }
        // SAFETY: `AtomicU32` has the size, alignment and bit validity of `u32`, and `table`
        // is not otherwise used while the view lives. Each number is in one share, whose
        // thread alone reads and writes its entry.
        let shared: &[AtomicU32] =
            unsafe { &*(std::ptr::from_mut::<[u32]>(&mut table[..]) as *const [AtomicU32]) };
        work.into_par_iter()
            .for_each(|(share, (id, row), base, text, ends, offsets)| {
                let (mut id, mut row, mut end, mut k) = (id, row, 0usize, 0usize);
                let mut visit = |number: usize, digits: u64, len: usize| {
                    let name = (spelling.prefix | u128::from(digits) << (8 * spelling.start))
                        .to_le_bytes();
                    let n = spelling.start + len;
                    match end + NAME <= text.len() {
                        true => text[end..end + NAME].copy_from_slice(&name),
                        // The share's last bytes: not past them, into the next share's.
                        false => text[end..end + n].copy_from_slice(&name[..n]),
                    }
                    end += n;
                    ends[k] = base + end;
                    let entry = &shared[number];
                    if weighted {
                        offsets[k] = row;
                        row += entry.load(Atomic::Relaxed);
                        entry.store(offsets[k], Atomic::Relaxed);
                    } else {
                        entry.store(id, Atomic::Relaxed);
                    }
                    id += 1;
                    k += 1;
                };
                share.walk(&present, bound, spelling.width, &mut visit);
            });
        text.truncate(text_len);
        let ids = match rows {
            Some(mut rows) => {
                // Each entry's rows after those of the entries of its name before it.
                for (i, (&number, count)) in numbers.iter().zip(rows.iter_mut()).enumerate() {
                    prefetch_ahead(&table, &numbers, i);
                    let end = &mut table[number as usize];
                    *end += *count;
                    *count = *end;
                }
                rows
            }
            None => numbers
                .par_iter()
                .map(|&number| table[number as usize])
                .collect(),
        };
        Ok((ids, text, ends, weighted.then_some(offsets)))
    }
}

/// How many entries ahead the passes over the entries in flat order prefetch the table.
const AHEAD: usize = 16;

/// Prefetches the entry of `table` of the number [`AHEAD`] entries after entry `i` of
/// `numbers` (nothing past the end).
#[inline(always)]
fn prefetch_ahead(table: &[u32], numbers: &[u32], i: usize) {
    if let Some(&ahead) = numbers.get(i + AHEAD) {
        prefetch(table, ahead as usize);
    }
}

/// The longest name spelt: the prefix and the digits in one `u128`.
const NAME: usize = 16;

/// The longest prefix taken (with [`MAX_DIGITS`] digits, a name fits [`NAME`] bytes).
const MAX_PREFIX: usize = NAME - MAX_DIGITS;

/// `digits` (ASCII, the first in the lowest byte) with `digit` set at `at`.
#[inline(always)]
fn with_digit(digits: u64, at: usize, digit: usize) -> u64 {
    digits & !(0xff << (8 * at)) | (b'0' as u64 + digit as u64) << (8 * at)
}

/// How the names are spelt: the prefix (packed as by [`packed`]) and its length, and the
/// fewest digits a number is spelt with (its zero-padded width, else 1).
struct Spelling {
    prefix: u128,
    start: usize,
    width: usize,
}

/// One thread's share of the walk.
enum Share {
    /// `0` alone (byte order).
    Zero,
    /// The numbers that start with this digit, in byte order.
    Below(usize),
    /// The numbers of a range, ascending.
    Ascending(usize, usize),
}

/// The shares of a walk over numbers below `bound`: in byte order `0` and each first digit's
/// numbers (ten shares, of different sizes: the pool balances them), ascending (`ordered`)
/// sixteen ranges.
fn shares(bound: usize, ordered: bool) -> Vec<Share> {
    if ordered {
        let step = bound.div_ceil(16).max(1);
        return (0..bound)
            .step_by(step)
            .map(|lo| Share::Ascending(lo, (lo + step).min(bound)))
            .collect();
    }
    let below = (1..bound.min(10)).map(Share::Below);
    (bound > 0)
        .then_some(Share::Zero)
        .into_iter()
        .chain(below)
        .collect()
}

impl Share {
    /// The ranges of numbers the share walks (below `bound`).
    fn ranges(&self, bound: usize) -> Vec<(usize, usize)> {
        match *self {
            Share::Zero => vec![(0, 1.min(bound))],
            Share::Ascending(lo, hi) => vec![(lo, hi)],
            Share::Below(digit) => {
                let mut ranges = Vec::new();
                let mut scale = 1usize;
                while digit * scale < bound {
                    ranges.push((digit * scale, ((digit + 1) * scale).min(bound)));
                    scale *= 10;
                }
                ranges
            }
        }
    }

    /// The share's names, the bytes they are spelt with, and (`table` holding each number's
    /// rows) their rows.
    fn size(&self, present: &[u64], table: &[u32], spelling: &Spelling) -> (usize, usize, u64) {
        let (mut names, mut bytes, mut rows) = (0, 0, 0u64);
        for (lo, hi) in self.ranges(table.len()) {
            // Cut where the numbers gain a digit.
            let mut from = lo;
            while from < hi {
                let len = decimal_len(from);
                let to = hi.min(10usize.pow(len as u32));
                let count = count_marked(present, from, to);
                names += count;
                bytes += count * (spelling.start + len.max(spelling.width));
                from = to;
            }
            rows += table[lo..hi].iter().map(|&r| u64::from(r)).sum::<u64>();
        }
        (names, bytes, rows)
    }

    /// Walks the share, calling `visit(number, digits, len)` as the walks do.
    fn walk(
        &self,
        present: &[u64],
        bound: usize,
        width: usize,
        visit: &mut impl FnMut(usize, u64, usize),
    ) {
        match *self {
            Share::Zero => {
                if marked(present, 0) {
                    visit(0, u64::from(b'0'), 1);
                }
            }
            Share::Below(digit) => walk_below(present, bound - 1, digit, 0, 1, visit),
            Share::Ascending(lo, hi) => walk_in_numeric_order(present, lo, hi, width, visit),
        }
    }
}

/// The digits of `number` (1 for 0).
pub(crate) fn decimal_len(number: usize) -> usize {
    number.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// How many numbers of `lo..hi` are marked in `present`.
fn count_marked(present: &[u64], lo: usize, hi: usize) -> usize {
    let mut count = 0;
    let mut at = lo;
    while at < hi {
        let n = (64 - at % 64).min(hi - at);
        count += bits(present, at, n).count_ones() as usize;
        at += n;
    }
    count
}

/// `number`'s digits as the walks hold them (ASCII, the first in the lowest byte),
/// zero-padded to `width`, and their count.
fn spelt(number: usize, width: usize) -> (u64, usize) {
    let len = decimal_len(number).max(width);
    let (mut digits, mut rest) = (0u64, number);
    for at in (0..len).rev() {
        digits |= (u64::from(b'0') + (rest % 10) as u64) << (8 * at);
        rest /= 10;
    }
    (digits, len)
}

/// Whether `number` is marked in `present`.
#[inline(always)]
fn marked(present: &[u64], number: usize) -> bool {
    present[number / 64] >> (number % 64) & 1 != 0
}

/// The `n` (1 to 64) bits of `present` from bit `start`, the first lowest (bits past its
/// end read as 0).
#[inline(always)]
fn bits(present: &[u64], start: usize, n: usize) -> u64 {
    let (word, shift) = (start / 64, start % 64);
    let high = match (shift, present.get(word + 1)) {
        (0, _) | (_, None) => 0,
        (shift, Some(&next)) => next << (64 - shift),
    };
    (present[word] >> shift | high) & (u64::MAX >> (64 - n))
}

/// Calls `visit(number, digits, len)` for each number of `lo..hi` marked in `present`, in
/// ascending order: its `len` digits, zero-padded to `width` at least, in `digits` (ASCII, the
/// first in the lowest byte; kept in a register, where digits stored a byte at a time and
/// loaded as a word would stall the load until the stores are done).
fn walk_in_numeric_order(
    present: &[u64],
    lo: usize,
    hi: usize,
    width: usize,
    visit: &mut impl FnMut(usize, u64, usize),
) {
    let (mut digits, mut len) = spelt(lo, width);
    for number in lo..hi {
        if marked(present, number) {
            visit(number, digits, len);
        }
        // Counted up: the nines at the end become zeros, the digit before them one more, or
        // a `1` comes first when they were all nines.
        let mut at = len;
        loop {
            if at == 0 {
                digits = digits << 8 | u64::from(b'1');
                len += 1;
                break;
            }
            at -= 1;
            let digit = (digits >> (8 * at) & 0xff) as u8 - b'0';
            if digit == 9 {
                digits = with_digit(digits, at, 0);
            } else {
                digits = with_digit(digits, at, digit as usize + 1);
                break;
            }
        }
    }
}

/// Calls `visit(number, digits, len)` (as [`walk_in_numeric_order`]) for each number below
/// `bound` marked in `present`, in the byte order of their digits: `0`, then for each first
/// digit a depth-first walk of the decimal tree (a number, then the numbers it starts: `1`,
/// `10`, `100`, …, `19`, `2`, …), the [`shares`] one after another.
#[cfg(test)]
fn walk_in_byte_order(present: &[u64], bound: usize, visit: &mut impl FnMut(usize, u64, usize)) {
    for share in shares(bound, false) {
        share.walk(present, bound, 1, visit);
    }
}

/// The byte-order walk from `number`, of `len` digits, the digits before its last in
/// `above`: the number, then the numbers it starts. The numbers of the last level come ten at
/// a time, as bits of one word of `present`.
fn walk_below(
    present: &[u64],
    largest: usize,
    number: usize,
    above: u64,
    len: usize,
    visit: &mut impl FnMut(usize, u64, usize),
) {
    let digits = with_digit(above, len - 1, number % 10);
    if marked(present, number) {
        visit(number, digits, len);
    }
    let first = number * 10;
    if first > largest {
        return;
    }
    let last = (first + 9).min(largest);
    if first * 10 > largest {
        // The last level: no number below these.
        let mut below = bits(present, first, last - first + 1);
        while below != 0 {
            let digit = below.trailing_zeros() as usize;
            visit(first + digit, with_digit(digits, len, digit), len + 1);
            below &= below - 1;
        }
    } else {
        for next in first..=last {
            walk_below(present, largest, next, digits, len + 1, visit);
        }
    }
}

/// The value of `count` (1 to 8) ASCII digits packed little-endian in the low bytes of `word`
/// (the first digit lowest, the bytes above zero), or `None` if one is not a digit: checked
/// and valued eight bytes at a time (the multiplications of simdjson's eight-digit parse).
#[inline(always)]
pub(crate) fn digits_value(word: u64, count: usize) -> Option<u32> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let shift = 64 - 8 * count as u32; // 0..=56
    let x = word ^ (ZEROS >> shift);
    // A byte of 10 or more gets its high bit from the addition (from 0x80 on it has one):
    // the lowest such byte is found exactly (no carry reaches it from valid bytes below).
    if ((x.wrapping_add(0x7676_7676_7676_7676) | x) & HIGH) != 0 {
        return None;
    }
    // The digits moved to the top (leading zeros below), then pairs, quads, octets summed.
    let x = x << shift;
    let x = (x.wrapping_mul(10 << 8 | 1)) >> 8 & 0x00FF_00FF_00FF_00FF;
    let x = (x.wrapping_mul(100 << 16 | 1)) >> 16 & 0x0000_FFFF_0000_FFFF;
    Some((x.wrapping_mul(10000 << 32 | 1) >> 32) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walked(numbers: &[usize], bound: usize, numeric: bool) -> Vec<(usize, String)> {
        let mut present = vec![0u64; bound.div_ceil(64)];
        for &n in numbers {
            present[n / 64] |= 1 << (n % 64);
        }
        let mut seen = Vec::new();
        let mut visit = |n: usize, digits: u64, len: usize| {
            let spelt = digits.to_le_bytes()[..len].to_vec();
            seen.push((n, String::from_utf8(spelt).unwrap()));
        };
        match numeric {
            true => walk_in_numeric_order(&present, 0, bound, 1, &mut visit),
            false => walk_in_byte_order(&present, bound, &mut visit),
        }
        seen
    }

    /// Every number below each bound, walked in byte order and in numeric order, against the
    /// numbers' decimal strings sorted as strings and as numbers.
    #[test]
    fn walks_visit_every_number_in_order_spelt() {
        for bound in [
            1, 2, 9, 10, 11, 19, 20, 99, 100, 101, 109, 110, 999, 1000, 1234, 20001,
        ] {
            let all: Vec<usize> = (0..bound).collect();
            let mut expected: Vec<(usize, String)> =
                all.iter().map(|&n| (n, n.to_string())).collect();
            assert_eq!(
                walked(&all, bound, true),
                expected,
                "numeric, bound {bound}"
            );
            expected.sort_by(|a, b| a.1.cmp(&b.1));
            assert_eq!(walked(&all, bound, false), expected, "bytes, bound {bound}");
        }
    }

    #[test]
    fn walks_visit_only_the_numbers_present() {
        let numbers = [0, 7, 70, 700, 701, 71, 8, 9999];
        let mut expected: Vec<(usize, String)> =
            numbers.iter().map(|&n| (n, n.to_string())).collect();
        expected.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(walked(&numbers, 10_000, false), expected);
        expected.sort();
        assert_eq!(walked(&numbers, 10_000, true), expected);
    }

    #[test]
    fn numbers_are_digits_without_leading_zeros() {
        assert_eq!(number_of(b"0"), Some(0));
        assert_eq!(number_of(b"7"), Some(7));
        assert_eq!(number_of(b"12345678"), Some(12_345_678));
        assert_eq!(number_of(b"99999999"), Some(99_999_999));
        assert_eq!(number_of(b"123456789"), None, "nine digits");
        assert_eq!(
            number_of(b"07"),
            Some(7),
            "a leading zero (its width is the caller's)"
        );
        assert_eq!(number_of(b"00"), Some(0));
        assert_eq!(number_of(b""), None);
        assert_eq!(number_of(b"12a4"), None);
        assert_eq!(number_of(b"1234567a"), None);
        assert_eq!(number_of(b"-1"), None);
    }
}
