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

use std::alloc::{GlobalAlloc, Layout, System};

use mimalloc::MiMalloc;

/// Blocks from this size on come from the system allocator (above 64-bit glibc's largest mmap
/// threshold, 32 MiB, so glibc maps them and resizes them with `mremap`).
const SYSTEM_FROM: usize = 64 << 20;

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
                MiMalloc.alloc(layout)
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        unsafe {
            if layout.size() >= SYSTEM_FROM {
                System.alloc_zeroed(layout)
            } else {
                MiMalloc.alloc_zeroed(layout)
            }
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: as `alloc`; the size selects the allocator that made the block.
        unsafe {
            if layout.size() >= SYSTEM_FROM {
                System.dealloc(block, layout)
            } else {
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
                (false, false) => MiMalloc.realloc(block, layout, new_size),
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
}
