//! Small numerical functions shared by the probabilistic methods: digamma, stable softplus and
//! sigmoid, log-sum-exp / softmax.

use std::f64::consts::PI;

/// The digamma function ψ(x) = d/dx ln Γ(x).
///
/// For x < 10 the recurrence ψ(x) = ψ(x + 1) − 1/x moves x up to ≥ 10, where the asymptotic
/// series ψ(x) ≈ ln x − 1/(2x) − Σ_{k≥1} B_{2k}/(2k·x^{2k}) is summed to the x⁻¹⁴ term (the
/// first omitted term is below 1e-16 at x = 10). Negative non-integers use the reflection
/// ψ(x) = ψ(1 − x) − π/tan(πx). Poles (0, −1, −2, …) and NaN give NaN; +∞ gives +∞.
pub(crate) fn digamma(x: f64) -> f64 {
    if x.is_nan() || (x <= 0.0 && x == x.floor()) {
        return f64::NAN;
    }
    if x == f64::INFINITY {
        return x;
    }
    if x < 0.0 {
        return digamma(1.0 - x) - PI / (PI * x).tan();
    }
    let mut x = x;
    let mut shift = 0.0;
    while x < 10.0 {
        shift -= 1.0 / x;
        x += 1.0;
    }
    // B_{2k}/(2k) for k = 1..7: 1/12, −1/120, 1/252, −1/240, 1/132, −691/32760, 1/12.
    const COEFFS: [f64; 7] = [
        1.0 / 12.0,
        -1.0 / 120.0,
        1.0 / 252.0,
        -1.0 / 240.0,
        1.0 / 132.0,
        -691.0 / 32760.0,
        1.0 / 12.0,
    ];
    let inv2 = 1.0 / (x * x);
    let series = COEFFS.iter().rev().fold(0.0, |acc, &c| acc * inv2 + c) * inv2;
    shift + x.ln() - 0.5 / x - series
}

/// softplus(x) = ln(1 + eˣ), without overflow (the reference for [`logistic_parts`]).
#[cfg(test)]
pub(crate) fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// (softplus(x), softplus(−x), sigmoid(x)) from one exponential and one logarithm: all three
/// only need e^(−|x|) and ln(1 + e^(−|x|)); the same bits as the three functions apart.
#[inline]
pub(crate) fn logistic_parts(x: f64) -> (f64, f64, f64) {
    let e = (-x.abs()).exp();
    let l = e.ln_1p();
    let sigmoid = if x >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    };
    (x.max(0.0) + l, (-x).max(0.0) + l, sigmoid)
}

/// The logistic function 1/(1 + e⁻ˣ), without overflow (the reference `logistic_parts` is
/// tested against; the methods take σ from `logistic_parts`).
#[cfg(test)]
pub(crate) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Replaces `values` by softmax(values) and returns ln Σ exp(values). A row that is −∞
/// everywhere becomes uniform (and the result is −∞).
pub(crate) fn softmax_in_place(values: &mut [f64]) -> f64 {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY || max.is_nan() {
        let uniform = 1.0 / values.len() as f64;
        values.iter_mut().for_each(|v| *v = uniform);
        return max;
    }
    let mut sum = 0.0;
    for v in values.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    values.iter_mut().for_each(|v| *v /= sum);
    max + sum.ln()
}

/// Entries of the 2^(j/64) table of [`Exp2`].
const EXP2_TABLE: usize = 64;

/// 2^x for x ≤ 0 (the shifted log-likelihoods of a softmax) without a libm call, within
/// 2 ulp of `f64::exp2`; in the Dawid-Skene E-step K of these per task were a fifth of a sweep.
///
/// x·64 = m + r with m the nearest integer; m = 64n + j; 2^x = 2^n · 2^(j/64) · 2^(r/64), the
/// middle factor from a table, the last (|r/64| ≤ 1/128) by its Taylor polynomial of degree 5
/// (the first omitted term is 3e-17 relative), 2^n by building the exponent bits.
pub(crate) struct Exp2 {
    table: [f64; EXP2_TABLE],
}

/// (ln 2)^i / i!, i = 0..=5: Taylor coefficients of 2^f = e^(f ln 2).
const EXP2_TAYLOR: [f64; 6] = {
    let mut c = [1.0; 6];
    let mut i = 1;
    while i < 6 {
        c[i] = c[i - 1] * std::f64::consts::LN_2 / i as f64;
        i += 1;
    }
    c
};

impl Exp2 {
    pub(crate) fn new() -> Self {
        Self {
            table: std::array::from_fn(|j| (j as f64 / EXP2_TABLE as f64).exp2()),
        }
    }

    /// 2^x for each of N values x ≤ 0; results below f64's normal range (x < −1022) are 0; no x
    /// may be NaN. Written stage by stage (the table lookups as their own stage) so that the
    /// compiler can run each stage as one vector operation.
    #[inline(always)]
    pub(crate) fn nonpositive_lanes<const N: usize>(&self, x: [f64; N]) -> [f64; N] {
        // Adding 1.5·2^52 rounds to an integer, which then sits in the low mantissa bits.
        const ROUND: f64 = 6_755_399_441_055_744.0;
        let c = &EXP2_TAYLOR;
        let (mut p, mut scale, mut row) = ([0.0; N], [0.0; N], [0usize; N]);
        for l in 0..N {
            let clamped = x[l].max(-1022.0);
            let shifted = clamped * EXP2_TABLE as f64 + ROUND;
            let f = clamped - (shifted - ROUND) / EXP2_TABLE as f64;
            let bits = shifted.to_bits();
            row[l] = (bits % EXP2_TABLE as u64) as usize;
            // Low 12 bits of (2^51 + m) / 64 + 1023 = n + 1023 ∈ [1, 1023]: the biased exponent.
            scale[l] = f64::from_bits(((bits >> 6) + 1023) << 52);
            p[l] = c[0] + f * (c[1] + f * (c[2] + f * (c[3] + f * (c[4] + f * c[5]))));
        }
        let mut out = [0.0; N];
        for l in 0..N {
            out[l] = self.table[row[l]];
        }
        for l in 0..N {
            out[l] = if x[l] < -1022.0 {
                0.0
            } else {
                out[l] * p[l] * scale[l]
            };
        }
        out
    }
}

/// Entries of the table of [`Ln`]: the top 6 bits of the mantissa pick one.
const LN_TABLE: usize = 64;

/// ln x for positive normal x without a libm call, within 1e-16 + 2 ulp of `f64::ln`; the
/// Dawid-Skene task pass takes one per task (for the entropy of the posterior), and libm's
/// was a third of a sweep at K = 2.
///
/// x = 2^e·m with m ∈ [1, 2); c = 1 + (j + ½)/64 is the centre of m's table cell, so
/// r = (m − c)/c has |r| < 1/128 and m − c is exact; ln x = e·ln 2 + ln c + ln(1 + r), the middle
/// term from a table, the last by its Taylor series to r⁷ (first omitted term < 3e-18).
pub(crate) struct Ln {
    /// (1/c, ln c) per cell.
    table: [(f64, f64); LN_TABLE],
}

impl Ln {
    pub(crate) fn new() -> Self {
        Self {
            table: std::array::from_fn(|j| {
                let c = 1.0 + (j as f64 + 0.5) / LN_TABLE as f64;
                (1.0 / c, c.ln())
            }),
        }
    }

    /// ln x for each of N values, which must be positive, finite and normal (the caller's sums
    /// of exponentials are ≥ 1); stage by stage like [`Exp2::nonpositive_lanes`].
    #[inline(always)]
    pub(crate) fn positive_lanes<const N: usize>(&self, x: [f64; N]) -> [f64; N] {
        let (mut cell, mut m, mut e) = ([0usize; N], [0.0; N], [0.0; N]);
        for l in 0..N {
            let bits = x[l].to_bits();
            e[l] = ((bits >> 52) as i64 - 1023) as f64;
            m[l] = f64::from_bits((bits & ((1 << 52) - 1)) | (1023 << 52));
            cell[l] = ((bits >> 46) & (LN_TABLE as u64 - 1)) as usize;
        }
        let (mut inv_c, mut ln_c) = ([0.0; N], [0.0; N]);
        for l in 0..N {
            (inv_c[l], ln_c[l]) = self.table[cell[l]];
        }
        let mut out = [0.0; N];
        for l in 0..N {
            let c = 1.0 + (cell[l] as f64 + 0.5) / LN_TABLE as f64;
            let r = (m[l] - c) * inv_c[l];
            // ln(1 + r) = r − r²/2 + r³/3 − … − r⁶/6 + r⁷/7, Horner form.
            let p = r
                * (1.0
                    + r * (-0.5
                        + r * (1.0 / 3.0
                            + r * (-0.25 + r * (0.2 + r * (-1.0 / 6.0 + r * (1.0 / 7.0)))))));
            out[l] = e[l] * std::f64::consts::LN_2 + ln_c[l] + p;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn digamma_known_values() {
        // ψ(1) = −γ, ψ(1/2) = −γ − 2 ln 2 (Abramowitz & Stegun 6.3.2, 6.3.3).
        let euler = 0.577_215_664_901_532_9;
        assert_abs_diff_eq!(digamma(1.0), -euler, epsilon = 1e-14);
        assert_abs_diff_eq!(digamma(0.5), -1.963_510_026_021_423_5, epsilon = 1e-14);
        assert_abs_diff_eq!(digamma(0.5), -euler - 2.0 * 2f64.ln(), epsilon = 1e-14);
        // ψ(n) = H_{n−1} − γ.
        let h9: f64 = (1..10).map(|k| 1.0 / k as f64).sum();
        assert_abs_diff_eq!(digamma(10.0), h9 - euler, epsilon = 1e-14);
        let h99: f64 = (1..100).map(|k| 1.0 / k as f64).sum();
        assert_abs_diff_eq!(digamma(100.0), h99 - euler, epsilon = 1e-13);
        // ψ(x + 1) = ψ(x) + 1/x near the pole, and ψ(1/4) = −γ − π/2 − 3 ln 2.
        assert_abs_diff_eq!(digamma(1e-3), digamma(1.001) - 1e3, epsilon = 1e-10);
        assert_abs_diff_eq!(
            digamma(0.25),
            -euler - PI / 2.0 - 3.0 * 2f64.ln(),
            epsilon = 1e-14
        );
        // Reflection: ψ(−1/2) = ψ(3/2) − π/tan(−π/2) = ψ(1/2) + 2.
        assert_abs_diff_eq!(digamma(-0.5), digamma(0.5) + 2.0, epsilon = 1e-12);
        assert!(digamma(0.0).is_nan() && digamma(-2.0).is_nan());
        assert_abs_diff_eq!(digamma(1e6), 1e6f64.ln() - 0.5e-6, epsilon = 1e-12);
    }

    #[test]
    fn softplus_and_sigmoid_are_stable() {
        assert_abs_diff_eq!(softplus(0.0), 2f64.ln(), epsilon = 1e-15);
        assert_eq!(softplus(1000.0), 1000.0);
        assert_eq!(softplus(-1000.0), 0.0);
        assert_abs_diff_eq!(sigmoid(2.0), 1.0 / (1.0 + (-2f64).exp()), epsilon = 1e-16);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
    }

    #[test]
    fn softmax_normalises() {
        let mut v = [1.0, 2.0, 3.0];
        let lse = softmax_in_place(&mut v);
        let z = 1f64.exp() + 2f64.exp() + 3f64.exp();
        assert_abs_diff_eq!(lse, z.ln(), epsilon = 1e-14);
        assert_abs_diff_eq!(v[2], 3f64.exp() / z, epsilon = 1e-15);
    }

    #[test]
    fn exp2_matches_libm() {
        // Against the platform's exp2 on a dense grid and at the edges: at most 2 ulp apart.
        let exp2 = Exp2::new();
        let nonpositive = |x: f64| exp2.nonpositive_lanes([x])[0];
        let ulps = |a: f64, b: f64| (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs();
        let mut worst = 0;
        for i in 0..=2_000_000 {
            let x = -(i as f64) * 5.11e-4; // 0 … −1022
            worst = worst.max(ulps(nonpositive(x), x.exp2()));
        }
        for x in [0.0, -1.0 / 128.0, -1e-300, -52.25, -1021.99, -1022.0] {
            worst = worst.max(ulps(nonpositive(x), x.exp2()));
        }
        assert!(worst <= 2, "worst error {worst} ulp");
        assert_eq!(nonpositive(0.0), 1.0);
        assert_eq!(nonpositive(-3.0), 0.125);
        assert_eq!(nonpositive(-1022.0), f64::MIN_POSITIVE);
        assert_eq!(nonpositive(-1022.5), 0.0);
        assert_eq!(nonpositive(f64::NEG_INFINITY), 0.0);
    }

    #[test]
    fn ln_matches_libm() {
        // Against the platform's ln on the range the task pass uses ([1, K]) and beyond.
        let ln = Ln::new();
        let positive = |x: f64| ln.positive_lanes([x])[0];
        let mut worst: f64 = 0.0;
        for i in 0..=2_000_000 {
            let x = 1.0 + i as f64 * 4.5e-6; // 1 … 10
            let (ours, libm) = (positive(x), x.ln());
            worst = worst.max((ours - libm).abs() - 2.0 * f64::EPSILON * libm.abs());
        }
        for x in [
            1.0,
            1.0 + f64::EPSILON,
            2.0 - f64::EPSILON,
            2.0,
            3.0,
            5.0,
            32.0,
            1e-300,
            1e300,
        ] {
            let (ours, libm) = (positive(x), x.ln());
            worst = worst.max((ours - libm).abs() - 2.0 * f64::EPSILON * libm.abs());
        }
        assert!(worst <= 1e-16, "worst excess error {worst}");
        assert!(positive(1.0).abs() < 1e-17);
    }

    #[test]
    fn logistic_parts_are_the_three_functions() {
        for x in [
            -800.0, -31.5, -2.0, -1e-9, 0.0, 1e-9, 0.75, 29.9, 40.0, 800.0,
        ] {
            let (plus, minus, s) = logistic_parts(x);
            assert_eq!(plus.to_bits(), softplus(x).to_bits(), "{x}");
            assert_eq!(minus.to_bits(), softplus(-x).to_bits(), "{x}");
            assert_eq!(s.to_bits(), sigmoid(x).to_bits(), "{x}");
        }
    }
}
