//! The process's allocator: mimalloc for blocks under [`SYSTEM_FROM`] bytes, the system
//! allocator from there on.
//!
//! # Why mimalloc
//! At 10⁶ answers, first touches of fresh 4 KiB pages were a quarter of `aggregate`'s CPU
//! time (≈ 11,600 page faults, `perf record`): glibc's malloc maps each block above its mmap
//! threshold afresh, faults it in one page at a time and unmaps it when it is freed, and its
//! per-thread arenas do not reuse each other's freed memory. mimalloc reuses freed memory
//! across threads and, on Linux where transparent huge pages are not turned off, backs its
//! regions with them (one fault per 2 MiB):
//! ≈ 300 faults, and MV and Wawa at 10⁶ answers end to end take 15–25 % less time
//! (BENCHMARKS.md, session 11). It is also the allocator of pyarrow, the ingestion anchor.
//!
//! # Why not for the largest blocks
//! A growing `Vec` of hundreds of MB (a reader slot's rows at 10⁸ answers) is moved on every
//! doubling: mimalloc allocates, copies and frees, where glibc remaps the pages (`mremap`)
//! without copying (macOS's allocator also moves large blocks by remapping; elsewhere the
//! system allocator is at least no worse than mimalloc for a few very large blocks). With mimalloc for every block, the 10⁸-answer CSV read took 3.0–5.3 s
//! instead of 2.4–3.4 s. Blocks this large are few, so the system allocator's per-call cost
//! does not matter for them.
//!
//! Each block is freed or resized by the allocator that made it: the choice depends only on
//! the block's size, which `dealloc` and `realloc` are given exactly as it was allocated.
//!
//! # Why blocks of 64–512 KiB are asked for as 512 KiB + 1
//! mimalloc 3 serves a block of up to 512 KiB from a page of its size class (512 KiB or
//! 4 MiB), one such page per size class and thread, each a fresh stretch of memory (zeroed by
//! the kernel, a whole 2 MiB huge page at a time, at first touch). The reader's, the merge's
//! and the writer's buffers of 64 KiB to 512 KiB fall into a dozen size classes on three
//! threads: at 10⁶ answers mimalloc committed 72–90 MiB for 34 MB of live blocks. Asked for
//! one byte more than 512 KiB, such a block gets pages of its own, cut from the same arena
//! next to the others and reused once freed: 56–58 MiB committed at 10⁶ answers, 18–25 MiB
//! instead of 61–69 at 10⁵, and MV and Wawa at 10⁶ end to end 1–5 ms faster (BENCHMARKS.md,
//! session 12). The bytes past the requested size are never touched (a zeroed block has only
//! its requested bytes zeroed), and mimalloc frees a block without being told its size. At
//! most about [`OWN_PAGES_MAX_BLOCKS`] blocks are given pages of their own at once, so that
//! a table of many such blocks does not take several times its size.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};

use mimalloc::MiMalloc;

/// Blocks from this size on come from the system allocator (above 64-bit glibc's largest mmap
/// threshold, 32 MiB, so glibc maps them and resizes them with `mremap`).
const SYSTEM_FROM: usize = 64 << 20;

/// Blocks of more than this many bytes and less than [`OWN_PAGES_FROM`] are asked of mimalloc
/// at [`OWN_PAGES_FROM`] bytes, while fewer than [`OWN_PAGES_MAX_BLOCKS`] are (module doc).
const OWN_PAGES_ABOVE: usize = 64 << 10;

/// The smallest block mimalloc 3 gives pages of its own (one byte more than its largest size
/// class, `MI_LARGE_MAX_OBJ_SIZE`).
const OWN_PAGES_FROM: usize = (512 << 10) + 1;

/// At most about this many blocks at once get pages of their own (at most 32 MiB more than
/// they hold): a table of many such blocks (segmentation masks of a million pixels, 122 KiB
/// each) would otherwise take up to 8 times its size; beyond, they share their size class's
/// pages as mimalloc places them.
const OWN_PAGES_MAX_BLOCKS: usize = 64;

/// Live blocks with pages of their own (as [`has_own_pages`] tells).
static OWN_PAGES_BLOCKS: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" {
    /// The bytes a block mimalloc made can hold.
    fn mi_usable_size(block: *const c_void) -> usize;
}

/// Whether a block of this size may get pages of its own.
#[inline]
fn own_pages_size(size: usize) -> bool {
    size > OWN_PAGES_ABOVE && size < OWN_PAGES_FROM
}

/// Whether live mimalloc block `block`, of `size` bytes, has pages of its own: one of these
/// sizes mimalloc alone puts in a size class of at most 512 KiB.
///
/// # Safety
/// `block` is a live block mimalloc made.
#[inline]
unsafe fn has_own_pages(block: *mut u8, size: usize) -> bool {
    // SAFETY: the caller's.
    own_pages_size(size) && unsafe { mi_usable_size(block.cast()) } >= OWN_PAGES_FROM
}

/// The size to ask mimalloc for, for a block of `size` bytes; `keeping` when the block being
/// resized has pages of its own (then it keeps them, within the count).
#[inline]
fn mimalloc_size(size: usize, keeping: bool) -> usize {
    let room = || OWN_PAGES_BLOCKS.load(Ordering::Relaxed) < OWN_PAGES_MAX_BLOCKS;
    if own_pages_size(size) && (keeping || room()) {
        OWN_PAGES_FROM
    } else {
        size
    }
}

/// Counts a block that gained (`+1`) or lost (`-1`) pages of its own.
#[inline]
fn count_own_pages(gained: bool, lost: bool) {
    match (gained, lost) {
        (true, false) => OWN_PAGES_BLOCKS.fetch_add(1, Ordering::Relaxed),
        (false, true) => OWN_PAGES_BLOCKS.fetch_sub(1, Ordering::Relaxed),
        _ => 0,
    };
}

/// A block of mimalloc's (zeroed or not), with pages of its own where [`mimalloc_size`] says.
///
/// # Safety
/// As [`GlobalAlloc::alloc`].
#[inline]
unsafe fn mimalloc_alloc(layout: Layout, zeroed: bool) -> *mut u8 {
    let size = mimalloc_size(layout.size(), false);
    // SAFETY: the caller's contract; a larger size keeps the layout valid (below isize::MAX
    // rounded to any alignment: OWN_PAGES_FROM is small).
    unsafe {
        if size == layout.size() {
            return match zeroed {
                true => MiMalloc.alloc_zeroed(layout),
                false => MiMalloc.alloc(layout),
            };
        }
        let block = MiMalloc.alloc(Layout::from_size_align_unchecked(size, layout.align()));
        if !block.is_null() {
            count_own_pages(true, false);
            if zeroed {
                // Only the requested bytes: mimalloc would zero the whole 512 KiB of a reused
                // block, touching pages the block's user never does.
                block.write_bytes(0, layout.size());
            }
        }
        block
    }
}

/// mimalloc for small and medium blocks, the system allocator for the largest (module doc).
pub struct Allocator;

// SAFETY: a block is allocated, freed and resized by the allocator its size selects, and
// `dealloc`/`realloc` receive the size it was allocated with (the `GlobalAlloc` contract), so
// each block is always handled by the allocator that made it. A resize across the threshold
// allocates in the other allocator, copies the bytes both sizes hold and frees the old block.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on to the allocator that owns this size.
        unsafe {
            if layout.size() >= SYSTEM_FROM {
                System.alloc(layout)
            } else {
                mimalloc_alloc(layout, false)
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        unsafe {
            if layout.size() >= SYSTEM_FROM {
                System.alloc_zeroed(layout)
            } else {
                mimalloc_alloc(layout, true)
            }
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: as `alloc`; the size selects the allocator that made the block.
        unsafe {
            if layout.size() >= SYSTEM_FROM {
                System.dealloc(block, layout)
            } else {
                count_own_pages(false, has_own_pages(block, layout.size()));
                MiMalloc.dealloc(block, layout)
            }
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (was_system, is_system) = (layout.size() >= SYSTEM_FROM, new_size >= SYSTEM_FROM);
        // SAFETY: as `alloc`. Across the threshold: the new block is allocated with the
        // caller's alignment and a size the caller guarantees valid for it, the copy covers
        // the bytes both blocks hold, and the old block is freed only after the copy.
        unsafe {
            match (was_system, is_system) {
                (true, true) => System.realloc(block, layout, new_size),
                (false, false) => {
                    // mimalloc's realloc takes no old size: the one it was asked for is not
                    // needed. A block with pages of its own keeps them within their range.
                    let had = has_own_pages(block, layout.size());
                    let size = mimalloc_size(new_size, had);
                    let moved = MiMalloc.realloc(block, layout, size);
                    if !moved.is_null() {
                        count_own_pages(has_own_pages(moved, new_size), had);
                    }
                    moved
                }
                _ => {
                    let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
                    let moved = self.alloc(new_layout);
                    if !moved.is_null() {
                        std::ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                        self.dealloc(block, layout);
                    }
                    moved
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// A block grown across the threshold and shrunk back keeps its bytes: each step is a
    /// realloc from one allocator to the other (or within one), and every free goes to the
    /// allocator that made the block (a mix-up would crash or corrupt the heap here).
    #[test]
    fn a_block_moved_across_the_threshold_keeps_its_bytes() {
        let pattern = |i: usize| (i.wrapping_mul(2_654_435_761) >> 7) as u8;
        let mut bytes: Vec<u8> = (0..60 << 20).map(pattern).collect();
        bytes.reserve_exact(70 << 20); // 60 MiB (mimalloc) → 130 MiB (system)
        bytes.extend((60 << 20..130 << 20).map(pattern));
        assert!(bytes.iter().enumerate().all(|(i, &b)| b == pattern(i)));
        bytes.truncate(10 << 20);
        bytes.shrink_to_fit(); // 130 MiB (system) → 10 MiB (mimalloc)
        assert!(bytes.iter().enumerate().all(|(i, &b)| b == pattern(i)));
        let mut large = vec![0u8; 100 << 20]; // zeroed, system
        large[69 << 20] = 1;
        large.truncate(70 << 20);
        large.shrink_to_fit(); // 100 MiB → 70 MiB, both system (mremap)
        assert_eq!(large.iter().map(|&b| usize::from(b)).sum::<usize>(), 1);
        assert_eq!(large[69 << 20], 1);
        drop(large);
        let small: Vec<u64> = vec![7; 1000]; // mimalloc
        assert_eq!(small.iter().sum::<u64>(), 7000);
    }

    /// The tests that count blocks with pages of their own, one at a time.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// Past the count, blocks of these sizes share their size class's pages; once freed, the
    /// count is free again (the other tests of this binary may hold a few meanwhile).
    #[test]
    fn only_so_many_blocks_get_pages_of_their_own_at_once() {
        let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: a vector's block with capacity is a live block of the allocator's (mimalloc
        // below SYSTEM_FROM).
        let usable = |v: &Vec<u8>| unsafe { super::mi_usable_size(v.as_ptr().cast()) };
        let blocks: Vec<Vec<u8>> = (0..2 * super::OWN_PAGES_MAX_BLOCKS)
            .map(|_| Vec::with_capacity(100 << 10))
            .collect();
        let own = blocks.iter().filter(|b| usable(b) > 512 << 10).count();
        assert!(own <= super::OWN_PAGES_MAX_BLOCKS, "{own}");
        assert!(own >= super::OWN_PAGES_MAX_BLOCKS - 8, "{own}");
        let shared = blocks
            .iter()
            .find(|b| usable(b) <= 512 << 10)
            .expect("one shares");
        assert!(usable(shared) >= 100 << 10);
        drop(blocks);
        let again: Vec<u8> = Vec::with_capacity(100 << 10);
        assert!(usable(&again) > 512 << 10);
    }

    /// Blocks of 64–512 KiB get pages of their own (mimalloc gives them more than 512 KiB),
    /// keep their bytes when they grow and shrink within that range and beyond it, and a
    /// zeroed one is zero even where a freed block of the same place held other bytes.
    #[test]
    fn blocks_between_64_and_512_kib_get_pages_of_their_own() {
        let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: a vector's block with capacity is a live block of the allocator's (mimalloc
        // below SYSTEM_FROM).
        let usable = |v: &Vec<u8>| unsafe { super::mi_usable_size(v.as_ptr().cast()) };
        let mut block: Vec<u8> = Vec::with_capacity(100 << 10);
        assert!(usable(&block) > 512 << 10, "{}", usable(&block));
        let small: Vec<u8> = Vec::with_capacity(60 << 10);
        assert!(usable(&small) < 100 << 10, "{}", usable(&small));
        block.extend((0..100 << 10).map(|i| i as u8));
        block.reserve_exact(300 << 10); // 100 → 400 KiB: the same block
        block.extend((100 << 10..400 << 10).map(|i| i as u8));
        block.reserve_exact(600 << 10); // → 1,000 KiB: a block of its own size
        block.truncate(200 << 10);
        block.shrink_to_fit(); // → 200 KiB
        assert!(usable(&block) > 512 << 10);
        assert!(block.iter().enumerate().all(|(i, &b)| b == i as u8));
        for _ in 0..8 {
            drop(vec![0xffu8; 300 << 10]);
            let zeroed = vec![0u8; 300 << 10];
            assert!(zeroed.iter().all(|&b| b == 0));
        }
    }
}
