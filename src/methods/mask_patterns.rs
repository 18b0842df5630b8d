//! The vote patterns of a task's bit-packed masks (which of the task's masks mark a pixel: bit
//! k for the k-th mask, so at most 64 masks), found 64 pixels at a time.
//!
//! Within one word of the masks, the pixels are split by the first mask's word (marked / not
//! marked), each part by the second mask's, and so on; empty parts are dropped, so a word costs
//! a few operations per pattern present in it (background words, most of a mask, cost one).
//! The segmentation methods need only each pattern's pixel count (RASA's IoU, the vote of
//! majority vote) and, at the end, the pixels whose pattern the method accepts.

use rustc_hash::FxHashMap;

/// The valid-pixel bits of word `w` of a mask of `pixels` pixels (the last word is partial).
fn valid_bits(w: usize, pixels: usize) -> u64 {
    let end = pixels - w * 64;
    if end >= 64 {
        u64::MAX
    } else {
        (1u64 << end) - 1
    }
}

/// Calls `visit(pattern, pixels)` for each vote pattern present in word `w` of `masks` (each
/// the same number of words, at most 64 masks), `pixels` holding the bits of the word's pixels
/// with that pattern; `valid` selects the word's pixels.
fn visit_word<F: FnMut(u64, u64)>(masks: &[&[u64]], w: usize, valid: u64, visit: &mut F) {
    let (mut any, mut all) = (0u64, valid);
    for mask in masks {
        let x = mask[w];
        any |= x;
        all &= x;
    }
    if any & valid == 0 {
        visit(0, valid);
    } else if all == valid {
        let every = if masks.len() == 64 {
            u64::MAX
        } else {
            (1u64 << masks.len()) - 1
        };
        visit(every, valid);
    } else {
        split(masks, w, 0, 0, valid, visit);
    }
}

/// [`visit_word`] from mask `k` on, for the pixels `pixels` whose pattern so far is `pattern`.
fn split<F: FnMut(u64, u64)>(
    masks: &[&[u64]],
    w: usize,
    k: usize,
    pattern: u64,
    pixels: u64,
    visit: &mut F,
) {
    let Some(mask) = masks.get(k) else {
        visit(pattern, pixels);
        return;
    };
    let (on, off) = (pixels & mask[w], pixels & !mask[w]);
    if off != 0 {
        split(masks, w, k + 1, pattern, off, visit);
    }
    if on != 0 {
        split(masks, w, k + 1, pattern | (1u64 << k), on, visit);
    }
}

/// Calls `visit(pattern, pixels)` for each pattern present in each word of `masks`, word by
/// word in order.
fn visit_all<F: FnMut(usize, u64, u64)>(masks: &[&[u64]], pixels: usize, mut visit: F) {
    debug_assert!(masks.len() <= 64);
    for w in 0..pixels.div_ceil(64) {
        visit_word(masks, w, valid_bits(w, pixels), &mut |pattern, bits| {
            visit(w, pattern, bits);
        });
    }
}

/// Up to this many masks, a word is split into all 2ⁿ patterns at once, without branches (the
/// split of [`visit_word`] mispredicts on noisy masks, where most words hold several patterns).
const SMALL: usize = 6;

/// The pixels of each of the 2ᴺ patterns in word `w` (index = pattern bits).
#[inline(always)]
fn minterms<const N: usize>(masks: &[&[u64]; N], w: usize, valid: u64) -> [u64; 64] {
    let mut m = [0u64; 64];
    m[0] = valid;
    let mut len = 1;
    for mask in masks {
        let x = mask[w];
        for j in 0..len {
            let v = m[j];
            m[j] = v & !x;
            m[j + len] = v & x;
        }
        len *= 2;
    }
    m
}

/// Pixel counts and first pixels (`usize::MAX`: absent) of the 2ᴺ patterns, by pattern bits.
type SmallCounts = ([u64; 64], [usize; 64]);

#[inline(always)]
fn count_small<const N: usize>(masks: &[&[u64]; N], pixels: usize) -> SmallCounts {
    let (mut count, mut first, mut seen) = ([0u64; 64], [usize::MAX; 64], 0u64);
    for w in 0..pixels.div_ceil(64) {
        let m = minterms(masks, w, valid_bits(w, pixels));
        let mut present = 0u64;
        for j in 0..1 << N {
            count[j] += u64::from(m[j].count_ones());
            present |= u64::from(m[j] != 0) << j;
        }
        // New patterns are rare after the first words: record their first pixel.
        let mut new = present & !seen;
        while new != 0 {
            let j = new.trailing_zeros() as usize;
            first[j] = w * 64 + m[j].trailing_zeros() as usize;
            new &= new - 1;
        }
        seen |= present;
    }
    (count, first)
}

/// The pixels whose pattern is in `accept` (bit p: pattern p accepted).
#[inline(always)]
fn paint_small<const N: usize>(masks: &[&[u64]; N], pixels: usize, accept: u64) -> Vec<u64> {
    (0..pixels.div_ceil(64))
        .map(|w| {
            let m = minterms(masks, w, valid_bits(w, pixels));
            let mut out = 0u64;
            for (j, &on) in m.iter().enumerate().take(1 << N) {
                out |= on & 0u64.wrapping_sub((accept >> j) & 1);
            }
            out
        })
        .collect()
}

/// Calls `$kernel::<N>` for N = the number of masks (1..=[`SMALL`]).
macro_rules! by_count {
    ($kernel:ident, $masks:expr, $($arg:expr),*) => {
        match $masks.len() {
            1 => $kernel::<1>($masks.try_into().expect("1 mask"), $($arg),*),
            2 => $kernel::<2>($masks.try_into().expect("2 masks"), $($arg),*),
            3 => $kernel::<3>($masks.try_into().expect("3 masks"), $($arg),*),
            4 => $kernel::<4>($masks.try_into().expect("4 masks"), $($arg),*),
            5 => $kernel::<5>($masks.try_into().expect("5 masks"), $($arg),*),
            _ => $kernel::<6>($masks.try_into().expect("6 masks"), $($arg),*),
        }
    };
}

#[inline(always)]
fn count_small_any(masks: &[&[u64]], pixels: usize) -> SmallCounts {
    by_count!(count_small, masks, pixels)
}

#[inline(always)]
fn paint_small_any(masks: &[&[u64]], pixels: usize, accept: u64) -> Vec<u64> {
    by_count!(paint_small, masks, pixels, accept)
}

// The same code built with the POPCNT instruction (the x86-64 baseline counts bits with a
// dozen shifts and adds); integer results, so the same whichever build runs.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn count_small_popcnt(masks: &[&[u64]], pixels: usize) -> SmallCounts {
    count_small_any(masks, pixels)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn paint_small_popcnt(masks: &[&[u64]], pixels: usize, accept: u64) -> Vec<u64> {
    paint_small_any(masks, pixels, accept)
}

/// [`count_small_any`] in the best build for this CPU.
fn count_small_dispatch(masks: &[&[u64]], pixels: usize) -> SmallCounts {
    #[cfg(target_arch = "x86_64")]
    if crate::numeric::simd::Isa::detect().popcnt() {
        // SAFETY: `Isa::detect` (cached run-time detection) found POPCNT on this CPU.
        return unsafe { count_small_popcnt(masks, pixels) };
    }
    count_small_any(masks, pixels)
}

/// [`paint_small_any`] in the best build for this CPU.
fn paint_small_dispatch(masks: &[&[u64]], pixels: usize, accept: u64) -> Vec<u64> {
    #[cfg(target_arch = "x86_64")]
    if crate::numeric::simd::Isa::detect().popcnt() {
        // SAFETY: `Isa::detect` (cached run-time detection) found POPCNT on this CPU.
        return unsafe { paint_small_popcnt(masks, pixels, accept) };
    }
    paint_small_any(masks, pixels, accept)
}

/// Pattern → id: a dense table up to 16 masks (slot = id + 1, 0 = absent), a hash map above.
#[derive(Debug)]
enum Index {
    Dense(Vec<u32>),
    Sparse(FxHashMap<u64, u32>),
}

/// The distinct vote patterns of a task's masks with their pixel counts, numbered in order of
/// their first pixel (the order of the per-pixel computations they replace, which sums over
/// patterns follow).
#[derive(Debug)]
pub(crate) struct PatternCounts {
    /// The bits of each pattern, by id.
    pub bits: Vec<u64>,
    /// How many pixels have each pattern, by id.
    pub count: Vec<u64>,
    index: Index,
}

impl PatternCounts {
    /// The patterns of `masks` (at most 64, each of `pixels` pixels packed as in
    /// [`Mask::words`](crate::Mask::words)).
    pub fn of(masks: &[&[u64]], pixels: usize) -> Self {
        // Ids in order of discovery first, with each pattern's first pixel: words are visited
        // in order, so a pattern's first word gives its first pixel (the lowest bit).
        let (mut bits, mut count, mut first) = (Vec::new(), Vec::new(), Vec::new());
        if (1..=SMALL).contains(&masks.len()) {
            let (all_count, all_first) = count_small_dispatch(masks, pixels);
            let mut table = vec![0u32; 1 << masks.len()];
            for (pattern, slot) in table.iter_mut().enumerate() {
                if all_count[pattern] > 0 {
                    bits.push(pattern as u64);
                    count.push(all_count[pattern]);
                    first.push(all_first[pattern]);
                    *slot = bits.len() as u32;
                }
            }
            return Self::numbered_by_first_pixel(bits, count, &first, Index::Dense(table));
        }
        let mut index = if masks.len() <= 16 {
            Index::Dense(vec![0; 1 << masks.len()])
        } else {
            Index::Sparse(FxHashMap::default())
        };
        visit_all(masks, pixels, |w, pattern, on| {
            let slot = match &mut index {
                Index::Dense(table) => &mut table[pattern as usize],
                Index::Sparse(map) => map.entry(pattern).or_insert(0),
            };
            if *slot == 0 {
                bits.push(pattern);
                count.push(0u64);
                first.push(w * 64 + on.trailing_zeros() as usize);
                *slot = bits.len() as u32;
            }
            count[*slot as usize - 1] += u64::from(on.count_ones());
        });
        Self::numbered_by_first_pixel(bits, count, &first, index)
    }

    /// Patterns numbered in order of discovery renumbered by their first pixel.
    fn numbered_by_first_pixel(
        bits: Vec<u64>,
        count: Vec<u64>,
        first: &[usize],
        mut index: Index,
    ) -> Self {
        let mut order: Vec<usize> = (0..bits.len()).collect();
        order.sort_unstable_by_key(|&i| first[i]);
        let mut new_id = vec![0u32; bits.len()];
        for (new, &old) in order.iter().enumerate() {
            new_id[old] = new as u32 + 1;
        }
        match &mut index {
            Index::Dense(table) => {
                for slot in table.iter_mut().filter(|s| **s != 0) {
                    *slot = new_id[*slot as usize - 1];
                }
            }
            Index::Sparse(map) => {
                for slot in map.values_mut() {
                    *slot = new_id[*slot as usize - 1];
                }
            }
        }
        Self {
            bits: order.iter().map(|&i| bits[i]).collect(),
            count: order.iter().map(|&i| count[i]).collect(),
            index,
        }
    }

    /// The id of a pattern, `None` if no pixel has it.
    pub fn id(&self, pattern: u64) -> Option<usize> {
        let slot = match &self.index {
            Index::Dense(table) => table.get(pattern as usize).copied().unwrap_or(0),
            Index::Sparse(map) => map.get(&pattern).copied().unwrap_or(0),
        };
        (slot as usize).checked_sub(1)
    }

    /// Whether pattern `pattern` is present and `accept`ed (by id).
    pub fn accepts(&self, accept: &[bool], pattern: u64) -> bool {
        self.id(pattern).is_some_and(|id| accept[id])
    }

    /// Whether mask `k` marks the pixels of pattern `id`.
    pub fn has(&self, id: usize, k: usize) -> bool {
        (self.bits[id] >> k) & 1 == 1
    }
}

/// The packed mask of the pixels whose pattern `accept`s (at most 64 masks); `accept` may be
/// asked about patterns no pixel has.
pub(crate) fn paint(
    masks: &[&[u64]],
    pixels: usize,
    mut accept: impl FnMut(u64) -> bool,
) -> Vec<u64> {
    if (1..=SMALL).contains(&masks.len()) {
        let table = (0..1u64 << masks.len()).fold(0u64, |t, p| t | (u64::from(accept(p)) << p));
        return paint_small_dispatch(masks, pixels, table);
    }
    let mut out = vec![0u64; pixels.div_ceil(64)];
    visit_all(masks, pixels, |w, pattern, on| {
        if accept(pattern) {
            out[w] |= on;
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(pixels: &[bool]) -> Vec<u64> {
        let mut words = vec![0u64; pixels.len().div_ceil(64)];
        for (i, &p) in pixels.iter().enumerate() {
            words[i / 64] |= u64::from(p) << (i % 64);
        }
        words
    }

    #[test]
    fn patterns_and_paint_equal_a_pixel_by_pixel_count() {
        // Sizes below, at and past a word; 1, 5, 17 (hash map) and 64 masks.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for (n, pixels) in [(1, 3), (5, 64), (5, 200), (17, 130), (64, 70)] {
            // Runs, so that words hold one or several patterns.
            let masks: Vec<Vec<bool>> = (0..n)
                .map(|_| {
                    let mut m = Vec::new();
                    while m.len() < pixels {
                        let run = 1 + (next() % 40) as usize;
                        let on = next() % 3 == 0;
                        m.extend(std::iter::repeat_n(on, run.min(pixels - m.len())));
                    }
                    m
                })
                .collect();
            let code: Vec<u64> = (0..pixels)
                .map(|p| (0..n).map(|k| u64::from(masks[k][p]) << k).sum())
                .collect();
            let mut bits: Vec<u64> = Vec::new();
            for &c in &code {
                if !bits.contains(&c) {
                    bits.push(c);
                }
            }
            let count: Vec<u64> = bits
                .iter()
                .map(|b| code.iter().filter(|&c| c == b).count() as u64)
                .collect();
            let packed: Vec<Vec<u64>> = masks.iter().map(|m| pack(m)).collect();
            let refs: Vec<&[u64]> = packed.iter().map(Vec::as_slice).collect();
            let found = PatternCounts::of(&refs, pixels);
            assert_eq!(
                (&found.bits, &found.count),
                (&bits, &count),
                "{n} × {pixels}"
            );
            for (id, &b) in bits.iter().enumerate() {
                assert_eq!(found.id(b), Some(id));
            }
            let odd = |p: u64| p.count_ones() % 2 == 1;
            let expect: Vec<bool> = code.iter().map(|&c| odd(c)).collect();
            assert_eq!(paint(&refs, pixels, odd), pack(&expect), "{n} × {pixels}");
        }
    }
}
