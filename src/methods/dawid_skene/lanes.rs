//! The per-task tail of the E-step (softmax, its logarithm, the entropy term) for four tasks at
//! a time.
//!
//! Per task the tail is a serial chain (2^d for K labels → Σ → 1/Σ and ln Σ → q ln q) of some
//! 40 instructions per label and only ~4 answers to share it, so it was most of a sweep. Run
//! on four tasks side by side, the same operations fill the vector units: the lane code is
//! plain `[f64; LANES]` arithmetic that the compiler vectorises, compiled twice — for the
//! x86-64 baseline and, chosen at run time (`numeric::simd::Isa`), with AVX2 enabled. Both builds perform the same
//! IEEE operations in the same order (no fused multiply-add is ever formed), so the results are
//! bit-identical whichever runs.

use std::f64::consts::LN_2;

use crate::numeric::simd::Isa;
use crate::numeric::special::{Exp2, Ln};

/// Tasks per lane group.
pub(crate) const LANES: usize = 4;

/// One label's values for the [`LANES`] tasks of a lane group (K of these per group).
pub(crate) type Lane = [f64; LANES];

/// What the tail needs besides the lanes.
#[derive(Clone, Copy)]
pub(crate) struct Tail<'a> {
    pub exp2: &'a Exp2,
    pub ln: &'a Ln,
    /// Entropy of max(q, EPS) (crowd-kit) instead of the exact entropy of q.
    pub clipped_entropy: bool,
    /// Which build runs: AVX2 only when [`Isa::detect`] found it on this CPU.
    pub isa: Isa,
}

impl Tail<'_> {
    /// `d[c]` = log2 p_c + Σ_r log2 e[w, y, c] − max over c, per lane (≤ 0, 0 at the maximum).
    /// Writes q[c] = 2^{d_c} / Σ_c 2^{d_c} and returns Σ_c q_c ln q_c per lane (with
    /// crowd-kit's clipping if asked: a q below EPS counts as EPS ln EPS).
    #[inline]
    pub(crate) fn softmax(&self, d: &[Lane], q: &mut [Lane]) -> Lane {
        #[cfg(target_arch = "x86_64")]
        if self.isa.avx2() {
            // SAFETY: `Isa::avx2()` is true only when run-time detection found AVX2 on this
            // CPU (`Isa`'s field is private to `numeric::simd`), so the AVX2 build can run.
            return unsafe { softmax_avx2(self, d, q) };
        }
        softmax_lanes(self, d, q)
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn softmax_avx2(tail: &Tail, d: &[Lane], q: &mut [Lane]) -> Lane {
    softmax_lanes(tail, d, q)
}

#[inline(always)]
fn softmax_lanes(tail: &Tail, d: &[Lane], q: &mut [Lane]) -> Lane {
    use super::em::{EPS, LN_EPS};
    let mut total = [0.0; LANES];
    for (dc, qc) in d.iter().zip(q.iter_mut()) {
        *qc = tail.exp2.nonpositive_lanes(*dc);
        for l in 0..LANES {
            total[l] += qc[l];
        }
    }
    let mut inv_total = [0.0; LANES];
    for l in 0..LANES {
        inv_total[l] = 1.0 / total[l];
    }
    let ln_total = tail.ln.positive_lanes(total);
    let mut neg_entropy = [0.0; LANES];
    for (dc, qc) in d.iter().zip(q.iter_mut()) {
        for l in 0..LANES {
            let q = qc[l] * inv_total[l];
            // ln q_c = ln 2·d_c − ln Σ: one logarithm per task.
            let term = q * (LN_2 * dc[l] - ln_total[l]);
            neg_entropy[l] += if q >= EPS || (!tail.clipped_entropy && q > 0.0) {
                term
            } else if tail.clipped_entropy {
                EPS * LN_EPS
            } else {
                0.0
            };
            qc[l] = q;
        }
    }
    neg_entropy
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail<'a>(exp2: &'a Exp2, ln: &'a Ln, clipped_entropy: bool, isa: Isa) -> Tail<'a> {
        Tail {
            exp2,
            ln,
            clipped_entropy,
            isa,
        }
    }

    #[test]
    fn softmax_is_the_normalised_exponential() {
        let (exp2, ln) = (Exp2::new(), Ln::new());
        // Lane 0: d = (0, −1) → q = (2/3, 1/3); lane 1: (−2, 0) → (1/5, 4/5);
        // lane 2: (0, −2000) → (1, 2^-2000 = 0); lane 3: (0, 0) → (1/2, 1/2).
        let d = [[0.0, -2.0, 0.0, 0.0], [-1.0, 0.0, -2000.0, 0.0]];
        for clipped in [false, true] {
            let mut q = [[0.0; LANES]; 2];
            let neg_entropy = tail(&exp2, &ln, clipped, Isa::baseline()).softmax(&d, &mut q);
            let expected_q = [[2.0 / 3.0, 0.2, 1.0, 0.5], [1.0 / 3.0, 0.8, 0.0, 0.5]];
            for c in 0..2 {
                for l in 0..LANES {
                    approx::assert_relative_eq!(q[c][l], expected_q[c][l], max_relative = 1e-15);
                }
            }
            let h = |p: f64| if p > 0.0 { p * p.ln() } else { 0.0 };
            for l in [0, 1, 3] {
                let expected = h(expected_q[0][l]) + h(expected_q[1][l]);
                approx::assert_relative_eq!(neg_entropy[l], expected, max_relative = 1e-15);
            }
            // q = 0 < EPS: crowd-kit counts EPS ln EPS, the exact entropy 0.
            let zero_term = if clipped { 1e-10 * 1e-10f64.ln() } else { 0.0 };
            approx::assert_relative_eq!(neg_entropy[2], zero_term, max_relative = 1e-15);
        }
    }

    #[test]
    fn avx2_build_gives_the_same_bits() {
        let isa = Isa::detect();
        if !isa.avx2() {
            return;
        }
        let (exp2, ln) = (Exp2::new(), Ln::new());
        // Pseudo-random lanes of K = 5, one label at 0 per lane as the E-step leaves them.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            -((state >> 11) as f64 / (1u64 << 53) as f64) * 60.0
        };
        for round in 0..1000 {
            let mut d = [[0.0; LANES]; 5];
            for (c, lane) in d.iter_mut().enumerate() {
                for (l, v) in lane.iter_mut().enumerate() {
                    *v = if c == (round + l) % 5 { 0.0 } else { next() };
                }
            }
            for clipped in [false, true] {
                let (mut q_base, mut q_avx2) = ([[0.0; LANES]; 5], [[0.0; LANES]; 5]);
                let h_base = tail(&exp2, &ln, clipped, Isa::baseline()).softmax(&d, &mut q_base);
                let h_avx2 = tail(&exp2, &ln, clipped, isa).softmax(&d, &mut q_avx2);
                assert_eq!(h_base.map(f64::to_bits), h_avx2.map(f64::to_bits));
                assert_eq!(
                    q_base.map(|lane| lane.map(f64::to_bits)),
                    q_avx2.map(|lane| lane.map(f64::to_bits))
                );
            }
        }
    }
}
