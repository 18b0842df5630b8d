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
//! largest λ below which S(λ) stays positive definite, and a shift σ is below λ* exactly when
//! S(σ) has a Cholesky factor.
//!
//! The eigenvector comes from inverse iteration on the full pencil, (A − σD) x′ = D x, solved
//! through S(σ) = L Lᵀ; it converges at the rate r = (λ* − σ)/(λ₂ − σ). It starts at
//! σ = −1 − 10⁻⁶, always below the spectrum. Each step also gives θ, the Rayleigh quotient of
//! (A − σD)⁻¹D in the D inner product, so σ + 1/θ is an upper bound of λ* that tends to it
//! (by a factor ≈ r² per step), and the measured rate gives the gap λ₂ − λ* ≈ (λ* − σ)(1/r − 1).
//! When the steps still needed at this rate cost more than a new factorisation (k³/3 flops
//! against ~4k² per step), and the upper bound has settled to within a twentieth of the gap,
//! the shift moves to the bound minus its remaining drift minus a tenth of the gap (a rate near
//! 0.1); if S is not positive definite there (σ past λ*) the shift backs off by a growing
//! margin, at least half-way to the last good shift; if the bound does not settle, the shift
//! moves half-way to it, as bisection would. Every shift used is thus verified to be below λ*,
//! and the iteration goes on from the current vector. On the generated data sets (1,200 and
//! 4,000 workers) this takes 2 factorisations where bisection to 10⁻⁴ took ~16; the converged
//! vector is the same (the stop test is unchanged: no entry moves by more than 10⁻¹³), so the
//! signs are too. Only the workers' part of the vector is used. Everything is deterministic;
//! when λ* is a multiple eigenvalue the vector depends on the fixed start (ARPACK's on its
//! random start).
//!
//! The factorisation is blocked and parallel (see `crate::numeric::linalg::cholesky`): each entry is computed by one
//! task in a fixed order, so the result does not depend on the thread count.

use crate::numeric::linalg::{cholesky, dot, solve};
use crate::numeric::numpy_random::RandomState;
use crate::numeric::sum::numpy_sum;

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

    /// The workers' part of the pencil's eigenvector for its smallest eigenvalue λ*: inverse
    /// iteration, moving the shift towards λ* when the convergence rate says that a new
    /// factorisation costs less than the iterations it saves (see the module comment).
    fn smallest_eigenvector(&self) -> Option<Vec<f64>> {
        let k = self.k;
        if k == 0 {
            return Some(Vec::new());
        }
        // Every eigenvalue of D⁻¹A is ≥ −1, so S is positive definite below −1.
        let mut shift = -1.0 - 1e-6;
        let mut factor = self.below_spectrum(shift)?;
        let mut rng = RandomState::new(0);
        let mut y: Vec<f64> = (0..k).map(|_| rng.random_sample() - 0.5).collect();
        let mut z = vec![0.0; self.pairs.len()];
        // Per iteration at the current shift: the step and the estimate of λ*.
        let mut steps: Vec<f64> = Vec::new();
        let mut estimates: Vec<f64> = Vec::new();
        let mut factorisations = 1;
        // The smallest shift known to be at or above λ*.
        let mut above = f64::INFINITY;
        // An iteration streams the factor twice (about 4k² flops, memory-bound), a
        // factorisation costs k³/3 flops: worth it when it saves more than this many iterations.
        let worth_a_factorisation = 40.0 + k as f64 / 40.0;
        for _ in 0..MAX_ITERATIONS {
            let Some((step, theta)) = self.inverse_step(&factor, shift, &mut y, &mut z) else {
                break;
            };
            if step < STEP_TOLERANCE {
                break;
            }
            steps.push(step);
            estimates.push(shift + 1.0 / theta);
            let n = steps.len();
            if n < 10 || factorisations >= MAX_FACTORISATIONS {
                continue;
            }
            // The error shrinks by r = (λ* − σ)/(λ₂ − σ) per iteration once the other
            // directions have died out: the steps by r, the estimate's decrements (below) by
            // r². The larger of the two measured rates is the safer one.
            let decrement = |i: usize| estimates[i - 1] - estimates[i];
            let decrements =
                (decrement(n - 1) / decrement(n - 2)).max(decrement(n - 2) / decrement(n - 3));
            let rate = (steps[n - 1] / steps[n - 9])
                .powf(1.0 / 8.0)
                .max(decrements.max(0.0).sqrt());
            if rate.is_nan() || rate <= 0.0 {
                continue;
            }
            let remaining = if rate < 1.0 {
                (STEP_TOLERANCE / step).ln() / rate.ln()
            } else {
                f64::INFINITY
            };
            if remaining <= worth_a_factorisation {
                continue;
            }
            // σ + 1/θ ≥ λ* (θ is a Rayleigh quotient of the operator whose largest eigenvalue
            // is 1/(λ* − σ)); it decreases towards λ* by a factor ≈ r² per iteration, so
            // `settle` estimates how far above λ* it still is. λ₂ − σ ≈ (λ* − σ)/r.
            let estimate = estimates[n - 1];
            let settle = (estimates[n - 2] - estimate).max(0.0) / (1.0 - rate * rate).max(1e-6);
            let gap = (estimate - shift) * (1.0 / rate.min(0.999_999) - 1.0);
            let mut margin = settle + gap / 10.0;
            let mut target = if settle <= gap / 20.0 {
                // Aim below λ* at a rate near 0.1.
                estimate - margin
            } else if n as f64 >= worth_a_factorisation {
                // Not settling: halve the distance to the upper bound, as bisection would.
                0.5 * (shift + estimate.min(above))
            } else {
                continue;
            };
            if target >= above {
                target = 0.5 * (shift + above);
            }
            while target > shift && factorisations < MAX_FACTORISATIONS {
                factorisations += 1;
                match self.below_spectrum(target) {
                    Some(l) => {
                        factor = l;
                        shift = target;
                        steps.clear();
                        estimates.clear();
                        break;
                    }
                    // Past λ*: back off by a growing margin, at least half-way towards the
                    // last good shift.
                    None => {
                        above = target;
                        margin *= 4.0;
                        target = (above - margin).max(0.5 * (shift + above));
                    }
                }
            }
            if !steps.is_empty() {
                // No closer shift found: stay with this one.
                factorisations = MAX_FACTORISATIONS;
            }
        }
        Some(y)
    }

    /// One step of inverse iteration on the full pencil shifted by σ (below λ*, so
    /// S(σ) = L Lᵀ): (A − σD) x′ = D x, solved through the Schur complement: with x = (y, z)
    /// (workers, extra nodes), S(σ) y′ = D_w y + E z/σ and z′ = (Eᵀ y′ − 2z)/(2σ). x′ is
    /// normalised and turned to point the same way as x. Returns the largest change of the
    /// workers' part and θ = ⟨x′, x⟩_D/⟨x, x⟩_D (before normalising), or `None` when the step
    /// is not finite (x is then left as it was).
    fn inverse_step(
        &self,
        l: &[f64],
        sigma: f64,
        y: &mut Vec<f64>,
        z: &mut [f64],
    ) -> Option<(f64, f64)> {
        let mut next: Vec<f64> = y.iter().zip(&self.degree).map(|(v, d)| v * d).collect();
        for (&(a, b), &zp) in self.pairs.iter().zip(z.iter()) {
            next[a] += zp / sigma;
            next[b] += zp / sigma;
        }
        solve(l, self.k, &mut next);
        let mut z_next: Vec<f64> = self
            .pairs
            .iter()
            .zip(z.iter())
            .map(|(&(a, b), &zp)| (next[a] + next[b] - 2.0 * zp) / (2.0 * sigma))
            .collect();
        // Extra nodes have degree 2.
        let d_dot = |p: &[f64], q: &[f64], p_z: &[f64], q_z: &[f64]| {
            let workers: f64 = p
                .iter()
                .zip(q)
                .zip(&self.degree)
                .map(|((a, b), d)| a * b * d)
                .sum();
            let extra: f64 = p_z.iter().zip(q_z).map(|(a, b)| a * b).sum();
            workers + 2.0 * extra
        };
        let theta = d_dot(&next, y, &z_next, z) / d_dot(y, y, z, z);
        let length = next
            .iter()
            .chain(z_next.iter())
            .map(|v| v * v)
            .sum::<f64>()
            .sqrt();
        if !(length.is_finite() && length > 0.0 && theta.is_finite() && theta > 0.0) {
            return None;
        }
        let same_way = dot(&next, y) >= 0.0;
        let scale = if same_way { 1.0 } else { -1.0 } / length;
        next.iter_mut().for_each(|v| *v *= scale);
        z_next.iter_mut().for_each(|v| *v *= scale);
        let step = next
            .iter()
            .zip(y.iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        *y = next;
        z.copy_from_slice(&z_next);
        Some((step, theta))
    }
}

/// Inverse iteration stops when no worker's entry moves by more than this.
const STEP_TOLERANCE: f64 = 1e-13;
const MAX_ITERATIONS: usize = 10_000;
/// Factorisations of S, the first one included (each costs k³/3 flops).
const MAX_FACTORISATIONS: usize = 12;

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
}
