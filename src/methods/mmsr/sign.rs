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
//! largest λ below which S(λ) stays positive definite. Bisection with Cholesky brackets λ*
//! to 10⁻⁴, then inverse iteration on the full pencil, shifted just below λ* and solved
//! through S, converges to the eigenvector; only its workers' part is used. Everything is
//! deterministic; when λ* is a multiple eigenvalue the vector depends on the fixed start
//! (ARPACK's on its random start).

use rayon::prelude::*;

use super::numpy_sum;
use crate::methods::numpy_random::RandomState;

/// Per worker: +1, −1, or 0 (workers outside the graph, or every sign when they cancel); +1
/// for everyone when no worker is in the graph.
pub(super) fn signs(c: &[f64], w: usize) -> Vec<f64> {
    let valid: Vec<usize> = (0..w)
        .filter(|&i| numpy_sum(&c[i * w..(i + 1) * w]) != 0.0)
        .collect();
    if valid.is_empty() {
        // crowd-kit fails here (an empty eigenproblem); take every worker as better than chance.
        return vec![1.0; w];
    }
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
    /// The extra nodes: positive pairs (a, b), a < b.
    pairs: Vec<(usize, usize)>,
}

impl Graph {
    fn new(c: &[f64], w: usize, valid: &[usize]) -> Self {
        let k = valid.len();
        let mut negative = vec![0.0; k * k];
        let mut positive = vec![0.0; k * k];
        let mut partners = vec![0.0; k];
        let mut pairs = Vec::new();
        for (a, &i) in valid.iter().enumerate() {
            for (b, &j) in valid.iter().enumerate() {
                let value = c[i * w + j];
                if value < 0.0 {
                    negative[a * k + b] = 1.0;
                } else if value > 0.0 && a != b {
                    positive[a * k + b] = 1.0;
                    partners[a] += 1.0;
                    if a < b {
                        pairs.push((a, b));
                    }
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
            pairs,
        }
    }

    /// S(λ) (see the module comment); without extra nodes simply N − λ D.
    fn schur(&self, lambda: f64) -> Vec<f64> {
        let k = self.k;
        let mut s = self.negative.clone();
        let with_extra = !self.pairs.is_empty();
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

    /// The workers' part of the pencil's eigenvector for its smallest eigenvalue λ*.
    fn smallest_eigenvector(&self) -> Option<Vec<f64>> {
        if self.k == 0 {
            return Some(Vec::new());
        }
        // Bracket λ* (every factorisation costs k³/3, so stop early: the shifted inverse
        // iteration below converges at rate (λ* − lo)/(λ₂ − lo)).
        let mut lo = -1.0 - 1e-6;
        let mut factor = self.below_spectrum(lo)?;
        // With extra nodes λ* < 0 (S(λ) → −∞·E Eᵀ as λ → 0⁻), else λ* ≤ 1.
        let mut hi = if self.pairs.is_empty() {
            1.0 + 1e-6
        } else {
            -1e-9
        };
        if self.below_spectrum(hi).is_some() {
            return None;
        }
        while hi - lo > 1e-4 {
            let mid = 0.5 * (lo + hi);
            match self.below_spectrum(mid) {
                Some(l) => {
                    lo = mid;
                    factor = l;
                }
                None => hi = mid,
            }
        }
        Some(self.inverse_iteration(&factor, lo))
    }

    /// Inverse iteration on the full pencil shifted by σ (below λ*, so S(σ) = L Lᵀ):
    /// (A − σD) x′ = D x, solved through the Schur complement: with x = (y, z) (workers, extra
    /// nodes), S(σ) y′ = D_w y + E z/σ and z′ = (Eᵀ y′ − 2z)/(2σ). Starts from a fixed generic
    /// vector; stops when the workers' part is stable.
    fn inverse_iteration(&self, l: &[f64], sigma: f64) -> Vec<f64> {
        let k = self.k;
        let mut rng = RandomState::new(0);
        let mut y: Vec<f64> = (0..k).map(|_| rng.random_sample() - 0.5).collect();
        let mut z = vec![0.0; self.pairs.len()];
        for _ in 0..10_000 {
            let mut next: Vec<f64> = y.iter().zip(&self.degree).map(|(v, d)| v * d).collect();
            for (&(a, b), &zp) in self.pairs.iter().zip(&z) {
                next[a] += zp / sigma;
                next[b] += zp / sigma;
            }
            solve(l, k, &mut next);
            for (zp, &(a, b)) in z.iter_mut().zip(&self.pairs) {
                *zp = (next[a] + next[b] - 2.0 * *zp) / (2.0 * sigma);
            }
            let length = next
                .iter()
                .chain(z.iter())
                .map(|v| v * v)
                .sum::<f64>()
                .sqrt();
            if !(length.is_finite() && length > 0.0) {
                break;
            }
            let same_way = dot(&next, &y) >= 0.0;
            let scale = if same_way { 1.0 } else { -1.0 } / length;
            next.iter_mut().for_each(|v| *v *= scale);
            z.iter_mut().for_each(|v| *v *= scale);
            let step = next
                .iter()
                .zip(&y)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            y = next;
            if step < 1e-13 {
                break;
            }
        }
        y
    }
}

/// Lower Cholesky factor (row-major) of a symmetric matrix, or `None` if it is not positive
/// definite. Left-looking: entry (i, j) is a dot product of rows i and j, so the rows below
/// the diagonal are independent and computed in parallel.
fn cholesky(mut a: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    for j in 0..n {
        let (head, tail) = a.split_at_mut((j + 1) * n);
        let row_j = &mut head[j * n..];
        let d = row_j[j] - dot(&row_j[..j], &row_j[..j]);
        if d.is_nan() || d <= 0.0 || d.is_infinite() {
            return None;
        }
        let d = d.sqrt();
        row_j[j] = d;
        let row_j = &row_j[..j];
        tail.par_chunks_mut(n).with_min_len(32).for_each(|row_i| {
            row_i[j] = (row_i[j] - dot(&row_i[..j], row_j)) / d;
        });
    }
    for i in 0..n {
        a[i * n + i + 1..(i + 1) * n].fill(0.0);
    }
    Some(a)
}

/// Dot product with four accumulators (lets the compiler keep several additions in flight).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a4
        .remainder()
        .iter()
        .zip(b4.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a4.zip(b4) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
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
