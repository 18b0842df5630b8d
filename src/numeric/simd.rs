//! Run-time instruction-set selection, detected once per process.
//!
//! The SIMD kernels (Dawid-Skene's softmax lanes) are compiled
//! twice: for the x86-64 baseline and with AVX2 enabled. [`Isa::detect`] picks the build once
//! and caches the answer; a kernel runs its AVX2 build only when handed an [`Isa`] whose
//! [`avx2`](Isa::avx2) is true, which only detection can produce on a CPU that has it. Both
//! builds perform the same IEEE operations in the same order (no fused multiply-add is ever
//! formed), so results have the same bits whichever runs.

use std::sync::atomic::{AtomicU8, Ordering};

/// The instruction set the SIMD kernels may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Isa {
    /// Private, so that only [`Isa::detect`] can set it: the safety argument of every AVX2
    /// call rests on it.
    avx2: bool,
}

/// 0: not detected yet; 1: baseline; 2: AVX2.
static DETECTED: AtomicU8 = AtomicU8::new(0);

impl Isa {
    /// The x86-64 baseline (or the portable build elsewhere): always safe to run.
    pub(crate) const fn baseline() -> Self {
        Self { avx2: false }
    }

    /// What this CPU supports, detected on the first call and cached.
    pub(crate) fn detect() -> Self {
        match DETECTED.load(Ordering::Relaxed) {
            1 => Self::baseline(),
            2 => Self { avx2: true },
            _ => {
                let isa = Self {
                    avx2: detect_avx2(),
                };
                // Racing first calls store the same value.
                DETECTED.store(if isa.avx2 { 2 } else { 1 }, Ordering::Relaxed);
                isa
            }
        }
    }

    /// Whether the AVX2 builds may run: true only when detection found AVX2 on this CPU.
    pub(crate) fn avx2(self) -> bool {
        self.avx2
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_is_cached_and_matches_the_cpu() {
        let first = Isa::detect();
        assert_eq!(first.avx2(), detect_avx2());
        assert_ne!(DETECTED.load(Ordering::Relaxed), 0);
        assert_eq!(Isa::detect(), first);
        assert!(!Isa::baseline().avx2());
    }
}
