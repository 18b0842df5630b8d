//! The process's allocator: the system's, asking for transparent huge pages for large blocks.
//!
//! The tables of a run are fresh memory, first touched when written: at 10⁶ answers about
//! 50 MB, 13,000 page faults of 4 KiB each, a quarter of the process's CPU time in the
//! kernel (allocating, zeroing and charging each page). Linux backs a 2 MiB-aligned range with
//! one huge page per fault when asked (`madvise(MADV_HUGEPAGE)`, the usual `madvise` mode of
//! transparent huge pages): one fault instead of 512. So every block of 2 MiB or more (the
//! per-thread row buffers, the indexes, the result tables) is advised as it is allocated or
//! grown; smaller ones are left alone (a huge page for them would mostly be waste). Where the
//! system has no huge pages to give, or advice is refused, the pages stay as they were: the
//! advice changes the cost of faults, never the contents of memory.

use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks of at least this many bytes are advised (the size of an x86-64 huge page).
const HUGE: usize = 2 << 20;

/// [`System`], advising large blocks to be backed by huge pages.
pub(crate) struct HugePageAlloc;

/// Advises the 2 MiB-aligned part of `size` bytes at `ptr`, when it is large.
#[inline]
fn advise(ptr: *mut u8, size: usize) {
    if size < HUGE || ptr.is_null() {
        return;
    }
    let start = (ptr as usize).next_multiple_of(HUGE);
    let end = (ptr as usize).saturating_add(size) / HUGE * HUGE;
    if end > start {
        // SAFETY: the range lies within the block just allocated (whole pages of it), and
        // MADV_HUGEPAGE only changes how the kernel backs those pages, not their contents; a
        // failure (no transparent huge pages) leaves them as they were.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

// SAFETY: every call is passed on to `System` with its arguments unchanged; `advise` only
// gives the kernel advice about pages of the block returned.
unsafe impl GlobalAlloc for HugePageAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees for `layout` are `System.alloc`'s.
        let ptr = unsafe { System.alloc(layout) };
        advise(ptr, layout.size());
        ptr
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        advise(ptr, layout.size());
        ptr
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, that is from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`; the caller's guarantees for
        // `new_size` are `System.realloc`'s.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        advise(new, new_size);
        new
    }
}
