//! Chunk-local ids for the readers that parse in parallel parts (plain CSV, Arrow): each part
//! numbers the names it meets in order of first appearance, keyed without allocating, and
//! lists its names for the canonical merge ([`crate::names::merge`]).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::num::NonZeroU64;

use rustc_hash::FxBuildHasher;

use crate::names::{digits_value, load_le};
use crate::numeric::prefetch::prefetch;

/// Ids local to one slot, numbered in order of first appearance. Names of up to 15 bytes —
/// nearly all ids — are keyed by their bytes packed into a `u128`, so a lookup compares
/// integers in the table instead of chasing a pointer to the name (a cache miss per row).
#[derive(Default)]
pub(crate) struct LocalNames {
    /// Names of up to 7 bytes (most worker and label ids), packed into a u64 with their length:
    /// half the table of `short`, so that 10⁵–10⁶ workers stay in the last-level cache.
    pub(crate) word: HashMap<u64, u32, BuildHasherDefault<PackedHasher>>,
    pub(crate) short: HashMap<u128, u32, BuildHasherDefault<PackedHasher>>,
    pub(crate) long: HashMap<Box<[u8]>, u32, FxBuildHasher>,
    pub(crate) count: u32,
    /// Every name numbered, concatenated in id order, and their ends (what
    /// [`crate::names::merge`] takes).
    pub(crate) new_bytes: Vec<u8>,
    pub(crate) new_ends: Vec<usize>,
    /// The last name looked up (consecutive rows often share the task).
    pub(crate) last: Option<(u128, u32)>,
    /// The one before, when different (a column of two labels then never reaches the table).
    pub(crate) before: Option<(u128, u32)>,
    /// Task column only: while rows come in runs of one task (the usual layout), a new local
    /// id per run, without hashing (a task seen in two runs gets two local ids, merged into
    /// one by the merge). Falls back to hashing when runs are short (and stays there across
    /// [`LocalNames::start_chunk`]).
    pub(crate) hashing: bool,
    /// Calls and runs so far in run mode.
    pub(crate) rows: u32,
    pub(crate) runs: u32,
    /// Local ids of names made of one prefix and digits, by the digits' value.
    pub(crate) digits: DigitTable,
    /// Whether the hash tables (`word`, `short`, `long`) may hold a name: until then a name
    /// the digit table may hold and does not is new (see [`LocalNames::keyed_id`]).
    hashed: bool,
    /// While every name numbered is one of the first [`FEW`] and short (a label column), their
    /// keys ([`short_key`]) in id order: a lookup is a few integer compares, before any table.
    few: [u64; FEW],
    /// How many `few` holds; equal to `count` while the shortcut holds (it never comes back).
    few_len: u32,
    /// Short keys ([`short_key`]) looked up lately and their ids, direct-mapped by a hash of
    /// the key (see [`LocalNames::id_by_key`]); empty until a first miss, and once the
    /// column has more than [`RECENT_NAMES`] names.
    recent: Vec<(u64, u32)>,
}

/// Entries of [`LocalNames::recent`] (256 KiB, within a core's L2 cache with the rows being
/// written): room for some thousands of workers with few collisions.
const RECENT: usize = 1 << 14;

/// The most names a column keeps [`LocalNames::recent`] for: at 4 names per entry it still
/// finds about a third of the rows' names (a hit saves the digit table's ~35 instructions, a
/// miss costs ~10 more: at 4·10⁴ workers it measured fewer instructions than without); beyond,
/// it is freed.
const RECENT_NAMES: usize = 4 * RECENT;

/// Names looked up by a scan while a column has no more (see [`LocalNames::id`]).
const FEW: usize = 4;

/// A name's place in the [`DigitTable`]: its digits' value and their count.
pub(crate) type DigitSplit = (usize, u32);

/// Local ids of names that are one prefix followed by 1 to 9 decimal digits (`w27996`,
/// `t000042`, `17`; the prefix is that of the first such name), in a table indexed by the
/// digits' value: 4 bytes per name, so the ids of 10⁵ workers stay in a core's L2 cache where
/// a hash table of packed names spills it (a cache miss per row was a fifth of the read).
/// An entry also holds the digit count, so `t42` and `t042` do not share one. A cache in
/// front of the hash tables: a name it does not hold is looked up there (and then kept).
#[derive(Default)]
pub(crate) struct DigitTable {
    /// The prefix (packed as by [`load_le`]), its length, and whether it is set.
    prefix: u64,
    prefix_len: usize,
    set: bool,
    /// Names that did not have the form before one did (the table gives up after 64).
    misses: u32,
    /// Digits' value → (local id + 1) | digit count << 28; 0 when empty.
    entries: Vec<u32>,
    /// The names the column is expected to number (estimated from a first chunk's first
    /// rows): the table may grow for values within a few times that from the start.
    expected: usize,
}

impl DigitTable {
    /// Entries at most (16 MiB): values past it go to the hash tables.
    const MAX: usize = 1 << 22;
    const ID_BITS: u32 = 28;
    /// How sparse the values held may be: the table grows to a value only while it is under
    /// this many times the names numbered so far (plus a start of 1024).
    const SPREAD: usize = 8;

    /// Entries allocated (tests check that the table stays small).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// The digits' value and count of `name` if it is the prefix and 1 to 9 digits.
    #[inline(always)]
    fn split(&self, name: &[u8]) -> Option<(usize, u32)> {
        let p = self.prefix_len;
        let n = name.len();
        if !self.set || n <= p || n > p + 9 {
            return None;
        }
        if n <= 8 {
            // The whole name in one word: the prefix compared, the digits checked and
            // valued eight at a time (no loop over the bytes).
            let word = load_le(name);
            let prefix_mask = (1u64 << (8 * p)) - 1; // p <= 7 here
            if word & prefix_mask != self.prefix {
                return None;
            }
            let count = n - p;
            return digits_value(word >> (8 * p), count).map(|v| (v as usize, count as u32));
        }
        // Compared as one integer (a slice comparison of a few bytes calls memcmp).
        if load_le(&name[..p]) != self.prefix {
            return None;
        }
        let digits = &name[p..];
        let mut value = 0u32;
        for &b in digits {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            value = value * 10 + d as u32;
        }
        Some((value as usize, digits.len() as u32))
    }

    /// Takes the prefix of `name` if it has the form (the first such name sets it).
    fn adopt(&mut self, name: &[u8]) {
        if self.misses >= 64 {
            return;
        }
        self.misses += 1;
        let p = name
            .iter()
            .position(u8::is_ascii_digit)
            .unwrap_or(name.len());
        if p <= 8 && name.len() > p && name[p..].iter().all(u8::is_ascii_digit) {
            self.prefix = load_le(&name[..p]);
            self.prefix_len = p;
            self.set = true;
        }
    }

    /// The id of `name`, if held.
    #[inline(always)]
    fn get(&self, name: &[u8]) -> Option<u32> {
        let (value, count) = self.split(name)?;
        self.entry_id(value, count)
    }

    /// [`DigitTable::get`] of a name of up to 7 bytes given by its [`short_key`] (the split
    /// of [`DigitTable::split`] on the key's bytes, without loading them again).
    #[inline(always)]
    fn get_short(&self, key: u64) -> Option<u32> {
        let n = (key >> 56) as usize;
        let p = self.prefix_len;
        if !self.set || n <= p {
            return None;
        }
        let word = key & (u64::MAX >> 8);
        let prefix_mask = (1u64 << (8 * p)) - 1; // p < n <= 7 here
        if word & prefix_mask != self.prefix {
            return None;
        }
        let count = n - p;
        let value = digits_value(word >> (8 * p), count)?;
        self.entry_id(value as usize, count as u32)
    }

    /// The id held for the digits' value `value` spelled with `count` digits.
    #[inline(always)]
    fn entry_id(&self, value: usize, count: u32) -> Option<u32> {
        let entry = *self.entries.get(value)?;
        (entry != 0 && entry >> Self::ID_BITS == count)
            .then(|| (entry & ((1 << Self::ID_BITS) - 1)) - 1)
    }

    /// Keeps `id` for `name` when it has the form and its entry is free, and tells whether it
    /// did (false: not of the form, out of the table's reach, or held by another spelling).
    fn claim(&mut self, name: &[u8], id: u32) -> bool {
        if !self.set {
            self.adopt(name);
        }
        let Some((value, count)) = self.split(name) else {
            return false;
        };
        self.claim_split(value, count, id)
    }

    /// [`DigitTable::claim`] of a name of the form, given its digits' value and count.
    fn claim_split(&mut self, value: usize, count: u32, id: u32) -> bool {
        if value >= Self::MAX || id >= (1 << Self::ID_BITS) - 1 {
            return false;
        }
        if value >= self.entries.len() {
            // Grown only for values within a few times the names numbered so far (`id` + 1)
            // or expected, so its size follows the name count, not the largest number: one
            // `w4000000` among `w1`…`w100` stays in the hash tables. Without the estimate, a
            // file of 250,000 tasks in random order sent ≈ 15,000 of them to the hash tables
            // (the first ones with large numbers), which every new name was then looked up in.
            let names = (id as usize + 1).max(self.expected);
            if value >= Self::SPREAD * (names + 1024) {
                return false;
            }
            self.entries
                .resize((value + 1).next_power_of_two().max(1024), 0);
        }
        let entry = &mut self.entries[value];
        let free = *entry == 0;
        if free {
            *entry = (id + 1) | count << Self::ID_BITS;
        }
        free
    }
}

/// Hashes packed names: both halves folded and multiplied, then the high bits folded down,
/// so that names differing only in their last characters (`w000123`, `w000124`) spread over
/// the whole table (Fx alone moves differences only towards the high bits).
#[derive(Default)]
pub(crate) struct PackedHasher(u64);

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

/// Up to 7 bytes and their count (in the top byte) in one integer, `None` for longer names.
#[inline]
pub(crate) fn short_key(name: &[u8]) -> Option<u64> {
    (name.len() <= 7).then(|| load_le(name) | (name.len() as u64) << 56)
}

/// Up to 15 bytes and their count, packed (little-endian bytes, count in the top byte);
/// `None` for longer names. Loads words straight from the slice (no copy through the stack).
#[inline]
pub(crate) fn pack(name: &[u8]) -> Option<u128> {
    let len = name.len();
    let (lo, hi) = match len {
        0..=8 => (load_le(name), 0),
        9..=15 => (load_le(&name[..8]), load_le(&name[8..])),
        _ => return None,
    };
    Some(lo as u128 | (hi as u128) << 64 | (len as u128) << 120)
}

/// The names a slot keeps keyed across chunks (≈ 20–40 MB of tables): a random-order file
/// of up to about this many tasks per thread hands the merge each task once per thread;
/// beyond, once per stretch of chunks that fill the tables.
const KEPT_KEYS: usize = 1 << 20;

impl LocalNames {
    #[inline(always)]
    pub(crate) fn id(&mut self, name: &[u8]) -> u32 {
        if self.few_len == self.count {
            return self.few_id(name);
        }
        self.keyed_id(name)
    }

    /// The digit table's split of `name` (its digits' value and count, if it has the table's
    /// form), the entry of which is asked for: [`LocalNames::id_by_digits`] reads it some rows
    /// later.
    #[inline(always)]
    pub(crate) fn prefetch_digits(&self, name: &[u8]) -> Option<DigitSplit> {
        let split = self.digits.split(name);
        if let Some((value, _)) = split {
            prefetch(&self.digits.entries, value);
        }
        split
    }

    /// [`LocalNames::id`] of `name`, given its digit table split (`(value, count)` from
    /// [`LocalNames::prefetch_digits`]): the entry read, a new name claimed there without
    /// splitting it again.
    #[inline(always)]
    pub(crate) fn id_by_digits(&mut self, name: &[u8], split: DigitSplit) -> u32 {
        if self.few_len == self.count {
            return self.id(name); // the few names' shortcut keeps its own list
        }
        match self.digits.entry_id(split.0, split.1) {
            Some(id) => id,
            None => self.unheld_id(name, Some(split)),
        }
    }

    /// [`LocalNames::id`] of `name` given its [`short_key`] `key` (what a caller that has the
    /// name's bytes in a word already passes, saving the loads): the few names, then (a
    /// column of up to some thousands of names repeating: workers) [`LocalNames::recent`],
    /// one multiplication and one compare where the digit table checks and values the digits,
    /// then the digit table by the key's bytes, then the hash tables.
    #[inline(always)]
    pub(crate) fn id_by_key(&mut self, name: &[u8], key: Option<NonZeroU64>) -> u32 {
        let key = key.map(NonZeroU64::get);
        if self.few_len == self.count {
            // Slots past `few_len` hold 0, which no key is (a key holds its length, 1 or more).
            if let Some(key) = key
                && let Some(id) = self.few.iter().position(|&k| k == key)
            {
                return id as u32;
            }
            return self.new_few_id(name, key);
        }
        let Some(key) = key else {
            return self.keyed_id(name);
        };
        if self.hashing {
            // Tasks out of order: too many to keep, most seen once or twice per chunk.
            return self.digit_or_keyed_id(name, key);
        }
        let slot =
            (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - RECENT.trailing_zeros())) as usize;
        if let Some(&(held, id)) = self.recent.get(slot)
            && held == key
        {
            return id;
        }
        let id = self.digit_or_keyed_id(name, key);
        self.keep_recent(key, id, slot);
        id
    }

    /// [`LocalNames::keyed_id`] of a name of up to 7 bytes, given its [`short_key`].
    #[inline(always)]
    fn digit_or_keyed_id(&mut self, name: &[u8], key: u64) -> u32 {
        match self.digits.get_short(key) {
            Some(id) => id,
            None => self.keyed_id(name),
        }
    }

    /// Keeps `key`'s `id` in `recent` at `slot` while the column has at most
    /// [`RECENT_NAMES`] names (more would mostly miss: it is then freed, and stays off).
    #[inline]
    fn keep_recent(&mut self, key: u64, id: u32, slot: usize) {
        if self.count as usize <= RECENT_NAMES {
            if self.recent.is_empty() {
                self.recent = vec![(0, 0); RECENT];
            }
            if let Some(entry) = self.recent.get_mut(slot) {
                *entry = (key, id);
            }
        } else if !self.recent.is_empty() {
            self.recent = Vec::new();
        }
    }

    /// [`LocalNames::id`] by the digit table, then the hash tables. While the hash tables are
    /// empty, no name is keyed but in the digit table, so a name it may hold and does not is
    /// new: numbered and kept there alone (a column of workers `w1`…`w40000` never builds a
    /// hash table, nor goes through its sizes, each a fresh region of the allocator's).
    #[inline]
    fn keyed_id(&mut self, name: &[u8]) -> u32 {
        match self.digits.get(name) {
            Some(id) => id,
            None => self.unheld_id(name, None),
        }
    }

    /// [`LocalNames::keyed_id`] of a name the digit table does not hold; `split`, its place
    /// there if the caller has it (else found again when claimed).
    #[inline]
    fn unheld_id(&mut self, name: &[u8], split: Option<DigitSplit>) -> u32 {
        if !self.hashed {
            if let Some(id) = self.new_unhashed_id(name, split) {
                return id;
            }
            // Hashed from now on (the claim would fail again: it is not tried twice).
            self.hashed = true;
            return self.hashed_id(name);
        }
        // A name the hash tables hold is kept in the digit table too, where it is found first
        // from then on. A new one goes to the digit table alone when it may: entered in both,
        // a random-order file of 10⁶ rows filled a hash table with every task of the slot
        // (MV end to end 124–149 ms, 100–111 ms without; BENCHMARKS.md, session 16).
        match self.hashed_get(name) {
            Some(id) => {
                self.claim(name, split, id);
                id
            }
            None if self.claim(name, split, self.count) => self.push_new(name),
            None => self.hashed_id(name),
        }
    }

    /// [`DigitTable::claim`] of `name` for `id`, by its `split` when given.
    #[inline(always)]
    fn claim(&mut self, name: &[u8], split: Option<DigitSplit>, id: u32) -> bool {
        match split {
            Some((value, count)) => self.digits.claim_split(value, count, id),
            None => self.digits.claim(name, id),
        }
    }

    /// [`LocalNames::keyed_id`] of a name not in the digit table while the hash tables are
    /// empty (so a new name; once per name: out of line): numbered and kept in the digit
    /// table alone if it may be.
    #[inline(never)]
    fn new_unhashed_id(&mut self, name: &[u8], split: Option<DigitSplit>) -> Option<u32> {
        self.claim(name, split, self.count)
            .then(|| self.push_new(name))
    }

    /// [`LocalNames::id`] while every name numbered is in `few`: found there, or new (numbered
    /// and keyed as any other, so that the tables know it once the shortcut ends).
    #[inline(always)]
    fn few_id(&mut self, name: &[u8]) -> u32 {
        let key = short_key(name);
        if let Some(key) = key
            && let Some(id) = self.few[..self.few_len as usize]
                .iter()
                .position(|&k| k == key)
        {
            return id as u32;
        }
        self.new_few_id(name, key)
    }

    /// [`LocalNames::few_id`] of a name not in `few` (rare: out of line).
    #[inline(never)]
    fn new_few_id(&mut self, name: &[u8], key: Option<u64>) -> u32 {
        let id = self.keyed_id(name);
        match key {
            Some(key) if (self.few_len as usize) < FEW && id == self.few_len => {
                self.few[id as usize] = key;
                self.few_len += 1;
            }
            // A long name or one too many: the shortcut ends (`count` has moved past it).
            _ => self.few_len = u32::MAX,
        }
        id
    }

    /// The id [`LocalNames::id`] gave `name`, if it gave one, without numbering it (names
    /// numbered by [`LocalNames::push_new`] alone are not keyed, so not found).
    #[cfg(any(feature = "arrow", test))]
    pub(crate) fn find(&self, name: &[u8]) -> Option<u32> {
        if let Some(id) = self.digits.get(name) {
            return Some(id);
        }
        self.hashed_get(name)
    }

    /// The id the hash tables hold for `name`, if any.
    #[inline]
    fn hashed_get(&self, name: &[u8]) -> Option<u32> {
        match pack(name) {
            Some(key) if name.len() <= 7 => {
                let word = key as u64 | (name.len() as u64) << 56;
                self.word.get(&word).copied()
            }
            Some(key) => self.short.get(&key).copied(),
            None => self.long.get(name).copied(),
        }
    }

    /// [`LocalNames::id`] by the hash tables (inlined into its one caller, which was slower
    /// calling it).
    #[inline(always)]
    fn hashed_id(&mut self, name: &[u8]) -> u32 {
        let next = self.count;
        let id = match pack(name) {
            Some(key) => {
                if let Some((last, id)) = self.last
                    && last == key
                {
                    return id;
                }
                if let Some((before, id)) = self.before
                    && before == key
                {
                    self.before = self.last;
                    self.last = Some((key, id));
                    return id;
                }
                let id = if name.len() <= 7 {
                    // The bytes fill the low 7 bytes of the low word; the length goes on top.
                    let word = key as u64 | (name.len() as u64) << 56;
                    *self.word.entry(word).or_insert(next)
                } else {
                    *self.short.entry(key).or_insert(next)
                };
                self.before = self.last;
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
            self.push_new(name);
        }
        id
    }

    /// [`LocalNames::id`] for a column whose equal values usually come in runs (tasks):
    /// a new id per run while runs average two rows or more, else hashing.
    #[cfg(any(feature = "arrow", test))]
    #[inline]
    pub(crate) fn run_id(&mut self, name: &[u8]) -> u32 {
        self.run_id_by_key(name, pack(name))
    }

    /// [`LocalNames::run_id`] of `name` given its [`pack`] `key`.
    #[inline]
    pub(crate) fn run_id_by_key(&mut self, name: &[u8], key: Option<u128>) -> u32 {
        if self.hashing {
            // A name of up to 7 bytes: its short key is the packed one's low word and length.
            let short = key
                .filter(|_| name.len() <= 7)
                .and_then(|k| NonZeroU64::new(k as u64 | (name.len() as u64) << 56));
            return self.id_by_key(name, short);
        }
        self.rows += 1;
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
        self.push_packed(name, key)
    }

    /// Notes a row whose name is the previous row's (its caller reuses that row's id, which
    /// [`LocalNames::run_id`] would give it): counted as a row of the current run.
    #[inline]
    pub(crate) fn same_run(&mut self) {
        if !self.hashing {
            self.rows += 1;
        }
    }

    /// Numbers `name` as a new id without keying it (a dictionary value, an integer's
    /// spelling: their callers key them). The merge gives it the canonical id of any other
    /// local id of the same name.
    pub(crate) fn push_new(&mut self, name: &[u8]) -> u32 {
        self.push_packed(name, pack(name))
    }

    /// [`LocalNames::push_new`] of `name` packed as `key` (`pack(name)`): a name of up to 15
    /// bytes is appended as its key's 16 bytes, the ones past the name then cut off (two
    /// stores, where copying the name calls `memcpy`: once per task in a file grouped by
    /// task).
    #[inline]
    fn push_packed(&mut self, name: &[u8], key: Option<u128>) -> u32 {
        let id = self.count;
        self.count += 1;
        match key {
            Some(key) => {
                let end = self.new_bytes.len() + name.len();
                self.new_bytes.extend_from_slice(&key.to_le_bytes());
                self.new_bytes.truncate(end);
            }
            None => self.new_bytes.extend_from_slice(name),
        }
        self.new_ends.push(self.new_bytes.len());
        id
    }

    /// Starts a new chunk of a column read with [`LocalNames::run_id`]: the few-names
    /// shortcut ends, and the run state starts afresh (the chunk finds out whether its names
    /// come in runs) unless an earlier chunk switched to hashing: then this one hashes from
    /// its first row, and finds the names earlier chunks hashed under their ids (a
    /// random-order file hands the merge each task about once per part, not once per chunk
    /// it appears in). A chunk in runs looks up one name per run either way (its caller
    /// reuses the previous row's id for the rest of a run), so hashing on costs it little.
    /// Tables past [`KEPT_KEYS`] names are emptied first: a file of one row per task would
    /// otherwise key every task of the slot, on top of the names the merge keeps anyway.
    pub(crate) fn start_chunk(&mut self) {
        if self.word.len() + self.short.len() + self.long.len() > KEPT_KEYS {
            self.word = HashMap::default();
            self.short = HashMap::default();
            self.long = HashMap::default();
            self.hashed = false;
        }
        self.few_len = u32::MAX;
        self.last = None;
        self.before = None;
        self.rows = 0;
        self.runs = 0;
    }

    /// Room for `names` more names of `bytes` bytes in all (an estimate the allocator refuses
    /// is left out: the lists then grow as they would have).
    pub(crate) fn reserve(&mut self, names: usize, bytes: usize) {
        self.digits.expected = (self.count as usize).saturating_add(names);
        // 16 bytes more: `push_packed` writes a whole key before cutting it to the name.
        let _ = (self.new_bytes).try_reserve_exact(bytes.saturating_add(16));
        let _ = (self.new_ends).try_reserve_exact(names);
    }

    /// Names numbered so far, in id order.
    #[cfg(test)]
    pub(crate) fn new_names(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.new_ends.iter().copied());
        starts
            .zip(&self.new_ends)
            .map(|(start, &end)| &self.new_bytes[start..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn names_the_digit_table_may_hold_stay_out_of_the_hash_tables() {
        // Large numbers first (beyond the digit table's reach while few names are numbered:
        // hashed), then many others, the way a file out of task order hands them over.
        let mut names = LocalNames::default();
        let spelt = |v: u32| format!("t{v}");
        let order: Vec<u32> = (200_000..200_010).chain(0..50_000).collect();
        let ids: Vec<u32> = order
            .iter()
            .map(|&v| names.id(spelt(v).as_bytes()))
            .collect();
        assert_eq!(ids, (0..order.len() as u32).collect::<Vec<_>>());
        assert_eq!(
            names.word.len(),
            10,
            "only the names the digit table refused are hashed"
        );
        // Every name found again under its id, in another order.
        for (&v, &id) in order.iter().zip(&ids).rev() {
            assert_eq!(names.id(spelt(v).as_bytes()), id, "t{v}");
        }
        assert_eq!(names.count as usize, order.len());
    }

    #[test]
    fn names_expected_widen_the_digit_tables_reach_from_the_start() {
        // The same order, with 250,000 names expected (what a first chunk's probe estimates
        // for tasks out of order): the large numbers are taken by the digit table at once,
        // nothing is hashed, and `id_by_digits` (the deferred lookup) gives the same ids.
        let spelt = |v: u32| format!("t{v}");
        let order: Vec<u32> = (200_000..200_010).chain(0..50_000).collect();
        let mut expecting = LocalNames::default();
        expecting.reserve(250_000, 0);
        let mut by_split = LocalNames::default();
        by_split.reserve(250_000, 0);
        for (i, &v) in order.iter().enumerate() {
            let name = spelt(v);
            assert_eq!(expecting.id(name.as_bytes()), i as u32);
            let split = by_split.prefetch_digits(name.as_bytes());
            let id = match split {
                Some(split) => by_split.id_by_digits(name.as_bytes(), split),
                None => by_split.id(name.as_bytes()),
            };
            assert_eq!(id, i as u32, "{name}");
        }
        for names in [&expecting, &by_split] {
            assert_eq!(names.word.len() + names.short.len() + names.long.len(), 0);
            assert!(
                names.digits.capacity() <= 1 << 18,
                "{}",
                names.digits.capacity()
            );
        }
        for (i, &v) in order.iter().enumerate().rev() {
            assert_eq!(by_split.id(spelt(v).as_bytes()), i as u32, "t{v}");
        }
    }

    #[test]
    fn digit_names_share_an_id_only_with_the_same_spelling() {
        let mut names = LocalNames::default();
        let ids: Vec<u32> = [
            "w7",
            "w07",
            "w7",
            "x7",
            "w",
            "w12345678901",
            "7",
            "w07",
            "w0",
            "w00",
            "w7",
        ]
        .iter()
        .map(|n| names.id(n.as_bytes()))
        .collect();
        // One id per distinct spelling, in order of first appearance.
        assert_eq!(ids, [0, 1, 0, 2, 3, 4, 5, 1, 6, 7, 0]);
        // The table holds the prefix-and-digits names it may: `w7`, `w07` (different digit
        // counts: the second looked up by hash), `w0`, `w00`.
        assert!(names.digits.set);
        assert_eq!(names.digits.get(b"w7"), Some(0));
        assert_eq!(names.digits.get(b"w0"), Some(6));
        assert_eq!(names.digits.get(b"x7"), None);
        assert_eq!(names.digits.get(b"w7a"), None);
        // Ids and keys survive the start of a chunk.
        names.start_chunk();
        assert_eq!(names.id(b"w7"), 0);
        assert_eq!(names.id(b"x7"), 2);
        assert_eq!(names.id(b"x8"), 8);
    }

    #[test]
    fn digit_names_are_split_as_byte_by_byte() {
        // The split by words against the plain definition, over prefixes of 0 to 7 bytes and
        // up to 9 bytes after them (names of up to 16): digits, near-digits ('/', ':'), high
        // bytes.
        let naive = |prefix: &[u8], name: &[u8]| -> Option<(usize, u32)> {
            let digits = name.strip_prefix(prefix)?;
            if !(1..=9).contains(&digits.len()) || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let value = digits.iter().fold(0, |v, &d| v * 10 + (d - b'0') as usize);
            Some((value, digits.len() as u32))
        };
        let alphabet = [b'0', b'1', b'5', b'9', b'/', b':', b'w', 0x80, 0xB9, 0xFF];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for prefix in [&b""[..], b"w", b"ab", b"t-x", b"abcdefg"] {
            let mut table = DigitTable::default();
            table.adopt(&[prefix, b"1"].concat());
            assert!(table.set);
            for _ in 0..20_000 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let len = (state % 10) as usize;
                let mut name = prefix.to_vec();
                // Mostly digits, so that valid names are common.
                for k in 0..len {
                    let pick = (state >> (8 + 4 * k)) as usize;
                    name.push(match pick % 4 {
                        0 => alphabet[(pick >> 2) % alphabet.len()],
                        _ => b'0' + ((pick >> 2) % 10) as u8,
                    });
                }
                if state.is_multiple_of(7) && !name.is_empty() {
                    name[0] ^= 1; // a prefix that differs
                }
                assert_eq!(table.split(&name), naive(prefix, &name), "{name:?}");
            }
            for name in [&b"99999999"[..], b"00000000", b"12345678", b"1", b"0"] {
                let name = [prefix, name].concat();
                assert_eq!(table.split(&name), naive(prefix, &name), "{name:?}");
            }
        }
    }

    #[test]
    fn a_few_short_names_are_numbered_as_by_the_tables() {
        // Two labels, then a third and fourth, a fifth that ends the shortcut, a long name:
        // the ids are those of first appearance, and `find` knows every name.
        let seq: Vec<&[u8]> = vec![
            b"1",
            b"0",
            b"1",
            b"1",
            b"yes",
            b"0",
            b"no",
            b"maybe",
            b"0",
            b"x",
            b"a-long-name",
            b"yes",
            b"x",
            b"1",
        ];
        let mut names = LocalNames::default();
        let ids: Vec<u32> = seq.iter().map(|n| names.id(n)).collect();
        assert_eq!(ids, [0, 1, 0, 0, 2, 1, 3, 4, 1, 5, 6, 2, 5, 0]);
        for (name, id) in seq.iter().zip(&ids) {
            assert_eq!(names.find(name), Some(*id));
        }
        // A name numbered without a key ends the shortcut too.
        let mut names = LocalNames::default();
        assert_eq!(names.id(b"a"), 0);
        assert_eq!(names.push_new(b"b"), 1);
        assert_eq!(names.id(b"b"), 2);
        assert_eq!(names.id(b"a"), 0);
    }

    #[test]
    fn ids_by_key_are_the_ids_by_name() {
        // Names of the digit form and not, long and short, one-byte labels, past the column
        // size at which `recent` is freed: `id_by_key` numbers as `id` does, with or without
        // the key.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let (mut by_name, mut by_key) = (LocalNames::default(), LocalNames::default());
        for i in 0..(40_000 + 3 * RECENT_NAMES as u64) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Few names at first, then some thousands, then more than `recent` keeps.
            let spread = [3, 5000, 2 * RECENT_NAMES as u64][(i / 20_000).min(2) as usize];
            let pick = state % spread;
            let name = match pick % 7 {
                0 => format!("x{pick}y"),
                1 => format!("a-longer-name-{pick}"),
                2 => format!("{}", pick % 10),
                _ => format!("w{pick}"),
            };
            let name = name.as_bytes();
            let key = if state.is_multiple_of(3) {
                None
            } else {
                short_key(name).and_then(NonZeroU64::new)
            };
            assert_eq!(by_key.id_by_key(name, key), by_name.id(name), "{i}");
        }
        assert_eq!(by_key.count, by_name.count);
        assert!(by_key.recent.is_empty());
    }

    #[test]
    fn digit_names_numbered_without_hash_tables_keep_their_ids_once_they_fill() {
        // Digit names alone: numbered by the digit table, no hash table built. Then names the
        // table cannot hold (other spellings, a long name, a value out of its reach, another
        // form) fill the hash tables, and both kinds keep their ids; new digit names after
        // that are numbered as before (hashed, then kept in the table).
        let mut names = LocalNames::default();
        let mut first: HashMap<String, u32> = HashMap::new();
        let mut check = |names: &mut LocalNames, name: String| {
            let next = first.len() as u32;
            let want = *first.entry(name.clone()).or_insert(next);
            assert_eq!(names.id(name.as_bytes()), want, "{name}");
        };
        for i in (0..3000).map(|i| (i * 7919) % 3000) {
            check(&mut names, format!("w{i}"));
        }
        assert!(names.word.is_empty() && names.short.is_empty() && names.long.is_empty());
        assert_eq!(names.count, 3000);
        for name in [
            "w07",
            "w0",
            "w00",
            "w4000000",
            "x12",
            "a-long-worker-name-1",
            "w",
        ] {
            check(&mut names, name.to_string());
        }
        assert!(!names.word.is_empty() && !names.long.is_empty());
        for i in (0..4000).rev() {
            check(&mut names, format!("w{i}"));
            check(&mut names, format!("w0{i}"));
        }
        names.start_chunk();
        for i in 0..4000 {
            check(&mut names, format!("w{i}"));
        }
        assert_eq!(names.count as usize, first.len());
        // The names listed are the names numbered, in id order.
        let mut by_id: Vec<(u32, String)> = first.into_iter().map(|(n, id)| (id, n)).collect();
        by_id.sort();
        assert!(
            names
                .new_names()
                .eq(by_id.iter().map(|(_, n)| n.as_bytes()))
        );
    }

    #[test]
    fn one_huge_number_does_not_grow_the_digit_table() {
        let mut names = LocalNames::default();
        let mut ids = Vec::new();
        for round in 0..2 {
            for i in (0..100).chain([4_000_000, 50]) {
                let id = names.id(format!("w{i}").as_bytes());
                if round == 0 {
                    ids.push(id);
                } else {
                    assert_eq!(id, ids[(i as usize).min(100)], "w{i}");
                }
            }
        }
        // In order of first appearance: w0..w99, then w4000000 (by hash), w50 seen before.
        assert_eq!(ids[..100], (0..100).collect::<Vec<u32>>()[..]);
        assert_eq!(ids[100..], [100, 50]);
        assert_eq!(names.count, 101);
        assert_eq!(names.digits.get(b"w4000000"), None);
        assert_eq!(names.digits.get(b"w99"), Some(99));
        assert!(
            names.digits.capacity() <= 1024,
            "{}",
            names.digits.capacity()
        );
    }
}
