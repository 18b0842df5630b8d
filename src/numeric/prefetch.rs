//! A cache hint for gathers whose addresses are known a few iterations ahead.

/// Asks the CPU to start loading the cache line that holds `slice[index]` (no-op when `index`
/// is out of bounds or the target has no prefetch instruction). Results never depend on it.
#[inline(always)]
pub(crate) fn prefetch<T>(slice: &[T], index: usize) {
    if let Some(item) = slice.get(index) {
        prefetch_ptr(item);
    }
}

/// Asks the CPU to start loading the cache line at `ptr` (any address: a prefetch never
/// faults; no-op on targets without the instruction). For buffers written through raw
/// pointers, whose elements are not yet initialised. Results never depend on it.
#[inline(always)]
pub(crate) fn prefetch_ptr<T>(ptr: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch is only a hint: it never faults, whatever the address, and has no
        // visible effect. SSE is part of the x86_64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(ptr.cast()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}
