//! M-MSR's sign step: which workers are worse than random.
//!
//! crowd-kit builds a graph on the workers whose covariance row sums to a non-zero value: a
//! negative C_ij (the diagonal and every pair without a common task included) is an edge
//! i–j; a positive C_ij (i < j) becomes an extra node joined to both i and j. With A that
//! graph's adjacency matrix and D its degrees, W = D⁻¹A; the signs of the eigenvector of
//! W + I for the eigenvalue of smallest magnitude are the workers' signs, flipped so that
//! they sum to a positive number. Since W is similar to a symmetric matrix its eigenvalues are
//! real and lie in [−1, 1], so that eigenvalue is the smallest one, λ*, of the pencil
//! A x = λ D x.
//!
//! crowd-kit asks ARPACK for it on the full graph (workers + one node per positive pair).
//! Here the extra nodes are eliminated: writing A = [[N, E], [Eᵀ, 0]] (extra nodes have degree
//! 2), for λ < 0 the pencil's inertia equals that of the worker-sized Schur complement
//! S(λ) = N − λ D_w + E Eᵀ/(2λ) plus the extra nodes' m positive directions, so λ* is the
//! largest λ below which S(λ) stays positive definite. Bisection with Cholesky finds it, then
//! inverse iteration on S just below λ* gives the workers' part of the eigenvector (the only
//! part whose signs are used). Everything is deterministic; when λ* is a multiple
//! eigenvalue the vector depends on the fixed start (ARPACK's on its random start).

use super::numpy_sum;
use crate::methods::numpy_random::RandomState;

/// Per worker: +1, −1, or 0 (workers outside the graph, or every sign when they cancel).
pub(super) fn signs(c: &[f64], w: usize) -> Vec<f64> {
    let valid: Vec<usize> = (0..w)
        .filter(|&i| numpy_sum(&c[i * w..(i + 1) * w]) != 0.0)
        .collect();
    let mut out = vec![0.0; w];
    let Some(vector) = Graph::new(c, w, &valid).smallest_eigenvector() else {
        // Not reached for covariance matrices (the diagonal always gives a negative edge),
        // kept so that a numerical failure cannot panic: every worker counts as positive.
        for &i in &valid {
            out[i] = 1.0;
        }
        return out;
    };
    let signs: Vec<f64> = vector.iter().map(|&x| sign(x)).collect();
    let flip = sign(signs.iter().sum());
    for (&i, s) in valid.iter().zip(signs) {
        out[i] = flip * s;
    }
    out
}

fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The signed graph restricted to the valid workers (k of them).
struct Graph {
    k: usize,
    /// k×k 0/1: negative covariance (an edge).
    negative: Vec<f64>,
    /// k×k 0/1: positive covariance (a pair joined through an extra node).
    positive: Vec<f64>,
    /// Per worker: number of positive partners.
    partners: Vec<f64>,
    degree: Vec<f64>,
    extra_nodes: usize,
}

impl Graph {
    fn new(c: &[f64], w: usize, valid: &[usize]) -> Self {
        let k = valid.len();
        let mut negative = vec![0.0; k * k];
        let mut positive = vec![0.0; k * k];
        let mut partners = vec![0.0; k];
        let mut extra_nodes = 0;
        for (a, &i) in valid.iter().enumerate() {
            for (b, &j) in valid.iter().enumerate() {
                let value = c[i * w + j];
                if value < 0.0 {
                    negative[a * k + b] = 1.0;
                } else if value > 0.0 && a != b {
                    positive[a * k + b] = 1.0;
                    partners[a] += 1.0;
                    extra_nodes += usize::from(a < b);
                }
            }
        }
        let degree = (0..k)
            .map(|a| negative[a * k..(a + 1) * k].iter().sum::<f64>() + partners[a])
            .collect();
        Self {
            k,
            negative,
            positive,
            partners,
            degree,
            extra_nodes,
        }
    }

    /// S(λ) (see the module comment); without extra nodes simply N − λ D.
    fn schur(&self, lambda: f64) -> Vec<f64> {
        let k = self.k;
        let mut s = self.negative.clone();
        let with_extra = self.extra_nodes > 0;
        for a in 0..k {
            s[a * k + a] -= lambda * self.degree[a];
            if with_extra {
                s[a * k + a] += self.partners[a] / (2.0 * lambda);
                for b in 0..k {
                    s[a * k + b] += self.positive[a * k + b] / (2.0 * lambda);
                }
            }
        }
        s
    }

    /// Whether every eigenvalue of the pencil is above λ; then S(λ)'s Cholesky factor.
    fn below_spectrum(&self, lambda: f64) -> Option<Vec<f64>> {
        cholesky(self.schur(lambda), self.k)
    }

    fn smallest_eigenvector(&self) -> Option<Vec<f64>> {
        if self.k == 0 {
            return Some(Vec::new());
        }
        let mut lo = -1.0 - 1e-6;
        let mut factor = self.below_spectrum(lo)?;
        // With extra nodes λ* < 0 (S(λ) → −∞·E Eᵀ as λ → 0⁻), else λ* ≤ 1.
        let mut hi = if self.extra_nodes > 0 {
            -1e-9
        } else {
            1.0 + 1e-6
        };
        if self.below_spectrum(hi).is_some() {
            return None;
        }
        while hi - lo > 1e-12 * lo.abs().max(1e-3) {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            match self.below_spectrum(mid) {
                Some(l) => {
                    lo = mid;
                    factor = l;
                }
                None => hi = mid,
            }
        }
        Some(inverse_iteration(&factor, self.k))
    }
}

/// Lower Cholesky factor (row-major) of a symmetric matrix, or `None` if it is not positive
/// definite.
fn cholesky(mut a: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for p in 0..j {
            d -= a[j * n + p] * a[j * n + p];
        }
        if d.is_nan() || d <= 0.0 || d.is_infinite() {
            return None;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for p in 0..j {
                s -= a[i * n + p] * a[j * n + p];
            }
            a[i * n + j] = s / d;
        }
    }
    for i in 0..n {
        for j in i + 1..n {
            a[i * n + j] = 0.0;
        }
    }
    Some(a)
}

/// Solves L Lᵀ x = b in place.
fn solve(l: &[f64], n: usize, x: &mut [f64]) {
    for i in 0..n {
        let s: f64 = (0..i).map(|p| l[i * n + p] * x[p]).sum();
        x[i] = (x[i] - s) / l[i * n + i];
    }
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|p| l[p * n + i] * x[p]).sum();
        x[i] = (x[i] - s) / l[i * n + i];
    }
}

/// The eigenvector of the smallest eigenvalue of L Lᵀ, from a fixed generic start.
fn inverse_iteration(l: &[f64], n: usize) -> Vec<f64> {
    let mut rng = RandomState::new(0);
    let mut x: Vec<f64> = (0..n).map(|_| rng.random_sample() - 0.5).collect();
    normalise(&mut x);
    for _ in 0..100 {
        let previous = x.clone();
        solve(l, n, &mut x);
        normalise(&mut x);
        let step = x
            .iter()
            .zip(&previous)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        if step < 1e-14 {
            break;
        }
    }
    x
}

/// Scales to unit length, with the largest entry positive (so successive iterates compare).
fn normalise(x: &mut [f64]) {
    let largest = x
        .iter()
        .copied()
        .fold(0.0f64, |m, v| if v.abs() > m.abs() { v } else { m });
    let length = x.iter().map(|v| v * v).sum::<f64>().sqrt();
    if length > 0.0 && length.is_finite() {
        let scale = largest.signum() / length;
        x.iter_mut().for_each(|v| *v *= scale);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_disagreeing_workers_get_opposite_signs() {
        // Workers 0 and 1 anti-correlated, 2 agrees with 0. crowd-kit 1.4.2:
        // MMSR._sign_determination_valid(C, np.ones((3, 1))) = [1, -1, 1].
        let c = [-0.5, -0.4, 0.6, -0.4, -0.5, -0.3, 0.6, -0.3, -0.5];
        let s = signs(&c, 3);
        assert_eq!(s[0], s[2]);
        assert_eq!(s[0], -s[1]);
        assert_eq!(s.iter().sum::<f64>(), 1.0);
    }

    #[test]
    fn cholesky_rejects_indefinite() {
        assert!(cholesky(vec![1.0, 2.0, 2.0, 1.0], 2).is_none());
        let l = cholesky(vec![4.0, 2.0, 2.0, 5.0], 2).unwrap();
        assert_eq!(l, vec![2.0, 0.0, 1.0, 2.0]);
    }
}
