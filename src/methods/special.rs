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

/// softplus(x) = ln(1 + eˣ), without overflow.
#[inline]
pub(crate) fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// The logistic function 1/(1 + e⁻ˣ), without overflow.
#[inline]
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
}
