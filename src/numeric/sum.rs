//! numpy's summation order, for results that must equal numpy's bits.

/// numpy's pairwise summation (`np.add.reduce` on contiguous doubles): blocks of at most 128
/// values summed with 8 accumulators, halves (at multiples of 8) added recursively.
pub(crate) fn numpy_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        a.iter().fold(0.0, |s, v| s + v)
    } else if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for (acc, v) in r.iter_mut().zip(&a[i..i + 8]) {
                *acc += v;
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for v in &a[i..] {
            res += v;
        }
        res
    } else {
        let mut half = n / 2;
        half -= half % 8;
        numpy_sum(&a[..half]) + numpy_sum(&a[half..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_matches_plain_sum_on_exact_values() {
        let values: Vec<f64> = (0..1000).map(f64::from).collect();
        assert_eq!(numpy_sum(&values), 499_500.0);
        assert_eq!(numpy_sum(&values[..5]), 10.0);
    }
}
