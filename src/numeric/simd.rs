//! Run-time instruction-set selection, detected once per process: the one CPU-feature check
//! of the crate.
//!
//! The SIMD kernels (Dawid-Skene's softmax lanes) are compiled
//! twice: for the x86-64 baseline and with AVX2 enabled; the vote-pattern counts of the
//! segmentation methods (`methods::mask_patterns`) likewise with and without POPCNT. [`Isa::detect`] picks the build once
//! and caches the answer; a kernel runs its AVX2 build only when handed an [`Isa`] whose
//! [`avx2`](Isa::avx2) is true, which only detection can produce on a CPU that has it. Both
//! builds perform the same IEEE operations in the same order (no fused multiply-add is ever
//! formed), so results have the same bits whichever runs.

use std::sync::atomic::{AtomicU8, Ordering};

/// The instruction set the SIMD kernels may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Isa {
    /// Private, so that only [`Isa::detect`] can set them: the safety argument of every AVX2
    /// or POPCNT call rests on them.
    avx2: bool,
    popcnt: bool,
}

/// 0: not detected yet; else `DONE | AVX2 | POPCNT` as detected.
static DETECTED: AtomicU8 = AtomicU8::new(0);
const DONE: u8 = 1;
const AVX2: u8 = 2;
const POPCNT: u8 = 4;

impl Isa {
    /// The x86-64 baseline (or the portable build elsewhere): always safe to run. For tests
    /// that compare the builds.
    #[cfg(test)]
    pub(crate) const fn baseline() -> Self {
        Self {
            avx2: false,
            popcnt: false,
        }
    }

    /// What this CPU supports, detected on the first call and cached.
    pub(crate) fn detect() -> Self {
        let bits = match DETECTED.load(Ordering::Relaxed) {
            0 => {
                let bits = DONE
                    | if detect_avx2() { AVX2 } else { 0 }
                    | if detect_popcnt() { POPCNT } else { 0 };
                // Racing first calls store the same value.
                DETECTED.store(bits, Ordering::Relaxed);
                bits
            }
            bits => bits,
        };
        Self {
            avx2: bits & AVX2 != 0,
            popcnt: bits & POPCNT != 0,
        }
    }

    /// Whether the AVX2 builds may run: true only when detection found AVX2 on this CPU.
    pub(crate) fn avx2(self) -> bool {
        self.avx2
    }

    /// Whether the POPCNT builds may run: true only when detection found POPCNT on this CPU.
    pub(crate) fn popcnt(self) -> bool {
        self.popcnt
    }
}

fn detect_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

fn detect_popcnt() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("popcnt")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_is_cached_and_matches_the_cpu() {
        let first = Isa::detect();
        assert_eq!(first.avx2(), detect_avx2());
        assert_eq!(first.popcnt(), detect_popcnt());
        assert_ne!(DETECTED.load(Ordering::Relaxed), 0);
        assert_eq!(Isa::detect(), first);
        assert!(!Isa::baseline().avx2() && !Isa::baseline().popcnt());
    }
}
