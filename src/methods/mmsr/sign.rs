//! M-MSR's sign step: which workers are worse than random, without forming any W × W matrix.
//!
//! crowd-kit builds a graph on the workers whose covariance row sums to a non-zero value (the
//! k *valid* workers): a negative C_ij (the diagonal and every pair without a common task
//! included) is an edge i–j; a positive C_ij (i < j) becomes an extra node joined to both i
//! and j; C_ij = 0 is no edge. With A that graph's adjacency matrix and D its degrees,
//! W = D⁻¹A; the signs of the eigenvector of W + I for the eigenvalue of smallest magnitude
//! are the workers' signs, flipped so that they sum to a positive number. W is similar to a
//! symmetric matrix, so its eigenvalues are real and lie in [−1, 1] and that eigenvalue is the
//! smallest one, λ*, of the pencil A x = λ D x. crowd-kit asks ARPACK for it on the full graph
//! (workers + one node per positive pair, dense).
//!
//! **The operator without dense matrices.** Among valid workers, with P the 0/1 matrix of
//! positive pairs and Z that of pairs with C_ij = 0 exactly (both live on co-worker pairs, so
//! they are sparse: rows of [`Covariance`]), the negative edges are N = 11ᵀ − P − Z (the
//! all-ones matrix holds the diagonal and every pair without a common task), so
//! N y = (Σy)·1 − P y − Z y, and a worker's degree is k − (its zero pairs). Writing the
//! adjacency as A = [[N, E], [Eᵀ, 0]] (E: workers × extra nodes, each extra node of degree 2),
//! E Eᵀ = Q = diag(positive partners) + P. The extra nodes' part of every vector this method
//! meets is Eᵀw for some worker-sized w (the start has none, and D⁻¹A maps (y, Eᵀw) to
//! (D_w⁻¹(N y + Q w), Eᵀ(y/2))), and the eigenvector itself has w = y/(2λ*); the eigenvalues
//! outside that subspace are 0 (vectors (0, z) with E z = 0). So the pencil is handled through
//! pairs (y, w) of worker-sized vectors, T(y, w) = (D_w⁻¹(N y + Q w), y/2), which is
//! self-adjoint in the inner product ⟨(y, w), (y′, w′)⟩ = yᵀD_w y′ + 2 wᵀQ w′ (the D inner
//! product of the full vectors). Each vector carries Q w with it, so one pass over the sparse
//! rows per step gives both N y and Q y: O(co-worker pairs) per step, 3 worker-sized arrays
//! per vector.
//!
//! **The eigenvector.** Lanczos on T in that inner product, with full re-orthogonalisation
//! (classical Gram-Schmidt, twice) and up to `BASIS` vectors, restarted from the Ritz vector
//! of the smallest Ritz value; it stops when that Ritz pair's residual ‖T x − θ x‖ is below
//! `TOLERANCE` (x of unit length), or when a whole restart fails to halve it (the rounding
//! floor). The start is the same as the earlier dense inverse iteration's:
//! y = `RandomState(0).random_sample() − 0.5` per valid worker, w = 0. Both
//! methods converge to the projection of that start onto the eigenspace of λ* (the Krylov
//! space holds no other direction of it), so they give the same vector when λ* is simple and
//! also when it is not. Only the workers' part y is used. The tridiagonal Ritz problem is
//! solved by bisection (Sturm counts) and inverse iteration.
//!
//! Every sum over workers is taken in fixed chunks added in order, and each entry of a
//! product is computed by one task: the result does not depend on the thread count.

use rayon::prelude::*;

use super::covariance::Covariance;
use crate::numeric::numpy_random::RandomState;

/// Per worker: +1, −1, or 0 (workers outside the graph, or every sign when they cancel); +1
/// for everyone when no worker is in the graph.
pub(super) fn signs(cov: &Covariance) -> Vec<f64> {
    let w = cov.n_workers();
    let valid: Vec<bool> = (0..w)
        .into_par_iter()
        .with_min_len(64)
        .map(|i| cov.row_sum_is_nonzero(i))
        .collect();
    if !valid.contains(&true) {
        // crowd-kit fails here (an empty eigenproblem); take every worker as better than chance.
        return vec![1.0; w];
    }
    let graph = Graph::new(cov, valid);
    let Some(vector) = graph.smallest_eigenvector() else {
        // Kept so that a numerical failure cannot panic: every valid worker counts as positive.
        return graph
            .valid
            .iter()
            .map(|&v| f64::from(u8::from(v)))
            .collect();
    };
    let signs: Vec<f64> = vector.iter().map(|&x| sign(x)).collect();
    let flip = sign(signs.iter().sum());
    signs.into_iter().map(|s| flip * s).collect()
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

/// Lanczos vectors in the basis before a restart.
const BASIS: usize = 128;
/// Restarts at most (the eigenvector after the last one is used as it is).
const MAX_RESTARTS: usize = 200;
/// The Ritz pair's residual ‖T x − θ x‖ (unit x) at which it counts as converged.
const TOLERANCE: f64 = 1e-13;
/// Workers per chunk of a sum (fixed, for the same bits at any thread count).
const CHUNK: usize = 1024;

/// The signed graph on the valid workers, as an operator (see the module comment). Vectors are
/// indexed by worker; entries of workers outside the graph stay 0.
struct Graph {
    valid: Vec<bool>,
    /// Per valid worker: its valid partners j with C_ij > 0 (P's rows), increasing.
    positive: Pattern,
    /// Per valid worker: its valid partners j with C_ij = 0 exactly (Z's rows), increasing.
    zero: Pattern,
    /// Per valid worker: its degree in the graph, k − (its zero pairs).
    degree: Vec<f64>,
}

/// The column indexes of a 0/1 sparse matrix, by rows.
struct Pattern {
    offsets: Vec<usize>,
    columns: Vec<u32>,
}

impl Pattern {
    /// Row i holds the j of `cov`'s row i for which `keep(i, j, C_ij)`; rows in parallel (in
    /// groups, each writing its own slice), counted first so that one allocation suffices.
    fn select(cov: &Covariance, keep: impl Fn(usize, u32, f64) -> bool + Sync) -> Self {
        let w = cov.n_workers();
        let row_len = |i: usize| {
            let (cols, vals) = cov.row(i);
            cols.iter()
                .zip(vals)
                .filter(|&(&j, &c)| keep(i, j, c))
                .count()
        };
        let lengths: Vec<usize> = (0..w)
            .into_par_iter()
            .with_min_len(64)
            .map(row_len)
            .collect();
        let mut offsets = Vec::with_capacity(w + 1);
        offsets.push(0);
        for len in lengths {
            offsets.push(offsets.last().unwrap() + len);
        }
        let mut columns = vec![0u32; offsets[w]];
        let mut groups: Vec<(usize, &mut [u32])> = Vec::new();
        let mut rest = &mut columns[..];
        for start in (0..w).step_by(GROUP) {
            let end = (start + GROUP).min(w);
            let (group, tail) =
                std::mem::take(&mut rest).split_at_mut(offsets[end] - offsets[start]);
            groups.push((start, group));
            rest = tail;
        }
        groups.into_par_iter().for_each(|(start, group)| {
            let mut at = 0;
            for i in start..(start + GROUP).min(w) {
                let (cols, vals) = cov.row(i);
                for (&j, &c) in cols.iter().zip(vals) {
                    if keep(i, j, c) {
                        group[at] = j;
                        at += 1;
                    }
                }
            }
        });
        Self { offsets, columns }
    }

    #[inline]
    fn row(&self, i: usize) -> &[u32] {
        &self.columns[self.offsets[i]..self.offsets[i + 1]]
    }

    fn row_len(&self, i: usize) -> usize {
        self.offsets[i + 1] - self.offsets[i]
    }
}

/// Rows per parallel task when building a [`Pattern`].
const GROUP: usize = 64;

/// A vector (y, w) of the reduced space with Q w.
#[derive(Clone)]
struct Vector {
    y: Vec<f64>,
    w: Vec<f64>,
    q: Vec<f64>,
}

impl Vector {
    fn zeros(n: usize) -> Self {
        Self {
            y: vec![0.0; n],
            w: vec![0.0; n],
            q: vec![0.0; n],
        }
    }

    fn scale(&mut self, factor: f64) {
        for part in [&mut self.y, &mut self.w, &mut self.q] {
            part.par_iter_mut()
                .with_min_len(CHUNK)
                .for_each(|v| *v *= factor);
        }
    }

    /// self ← self − Σ coefficients[i]·basis[i], entry by entry (each entry in basis order).
    fn subtract(&mut self, basis: &[Vector], coefficients: &[f64]) {
        subtract_part(&mut self.y, basis, coefficients, |v| &v.y);
        subtract_part(&mut self.w, basis, coefficients, |v| &v.w);
        subtract_part(&mut self.q, basis, coefficients, |v| &v.q);
    }

    /// Σ coefficients[i]·basis[i].
    fn combination(basis: &[Vector], coefficients: &[f64]) -> Vector {
        let mut out = Vector::zeros(basis[0].y.len());
        let negated: Vec<f64> = coefficients.iter().map(|c| -c).collect();
        out.subtract(basis, &negated);
        out
    }
}

/// part ← part − Σ coefficients[i]·of(basis[i]), in chunks, each entry in basis order.
fn subtract_part(
    part: &mut [f64],
    basis: &[Vector],
    coefficients: &[f64],
    of: impl Fn(&Vector) -> &[f64] + Sync,
) {
    part.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, chunk)| {
            let start = c * CHUNK;
            for (b, &h) in basis.iter().zip(coefficients) {
                let other = &of(b)[start..start + chunk.len()];
                for (v, o) in chunk.iter_mut().zip(other) {
                    *v -= h * o;
                }
            }
        });
}

/// Σ f(chunk range) over fixed chunks of 0..n, added in order.
fn chunked_sum(n: usize, f: impl Fn(std::ops::Range<usize>) -> f64 + Sync) -> f64 {
    let parts: Vec<f64> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| f(c * CHUNK..((c + 1) * CHUNK).min(n)))
        .collect();
    parts.iter().sum()
}

impl Graph {
    fn new(cov: &Covariance, valid: Vec<bool>) -> Self {
        let k = valid.iter().filter(|&&v| v).count() as f64;
        let positive = Pattern::select(cov, |i, j, c| c > 0.0 && valid[i] && valid[j as usize]);
        let zero = Pattern::select(cov, |i, j, c| c == 0.0 && valid[i] && valid[j as usize]);
        let degree = (0..cov.n_workers())
            .map(|i| {
                if valid[i] {
                    k - zero.row_len(i) as f64
                } else {
                    0.0
                }
            })
            .collect();
        Self {
            valid,
            positive,
            zero,
            degree,
        }
    }

    fn n(&self) -> usize {
        self.valid.len()
    }

    /// ⟨a, b⟩ = aᵧᵀ D bᵧ + 2 a_wᵀ Q b_w.
    fn inner(&self, a: &Vector, b: &Vector) -> f64 {
        chunked_sum(self.n(), |range| {
            let mut s = 0.0;
            for i in range {
                s += self.degree[i] * a.y[i] * b.y[i] + 2.0 * a.w[i] * b.q[i];
            }
            s
        })
    }

    /// ⟨b, r⟩ for every b of `basis`, in one pass over the entries (each a chunked sum as in
    /// [`Graph::inner`]).
    fn inners(&self, basis: &[Vector], r: &Vector) -> Vec<f64> {
        let n = self.n();
        let parts: Vec<Vec<f64>> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let range = c * CHUNK..((c + 1) * CHUNK).min(n);
                basis
                    .iter()
                    .map(|b| {
                        let mut s = 0.0;
                        for i in range.clone() {
                            s += self.degree[i] * b.y[i] * r.y[i] + 2.0 * b.w[i] * r.q[i];
                        }
                        s
                    })
                    .collect()
            })
            .collect();
        (0..basis.len())
            .map(|b| parts.iter().map(|p| p[b]).sum())
            .collect()
    }

    /// T v with its Q w part: (D⁻¹(N y + Q w), y/2), Q(y/2).
    fn apply(&self, v: &Vector) -> Vector {
        let n = self.n();
        let total = chunked_sum(n, |range| v.y[range].iter().sum());
        let mut out = Vector::zeros(n);
        out.y
            .par_chunks_mut(CHUNK)
            .zip(out.w.par_chunks_mut(CHUNK))
            .zip(out.q.par_chunks_mut(CHUNK))
            .enumerate()
            .for_each(|(c, ((ys, ws), qs))| {
                let start = c * CHUNK;
                for (o, ((y, w), q)) in ys.iter_mut().zip(ws).zip(qs).enumerate() {
                    let i = start + o;
                    if !self.valid[i] {
                        continue;
                    }
                    // Entries of workers outside the graph are 0, so they add nothing.
                    let sum = |columns: &[u32]| {
                        let mut acc = [0.0; 4];
                        let chunks = columns.chunks_exact(4);
                        let tail: f64 = chunks.remainder().iter().map(|&j| v.y[j as usize]).sum();
                        for c in chunks {
                            for (a, &j) in acc.iter_mut().zip(c) {
                                *a += v.y[j as usize];
                            }
                        }
                        (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
                    };
                    let positive_row = self.positive.row(i);
                    let positive = sum(positive_row);
                    let negative_edges = total - positive - sum(self.zero.row(i));
                    *y = (negative_edges + v.q[i]) / self.degree[i];
                    *w = 0.5 * v.y[i];
                    *q = 0.5 * (positive_row.len() as f64 * v.y[i] + positive);
                }
            });
        out
    }

    /// The workers' part of the eigenvector for the pencil's smallest eigenvalue (see the
    /// module comment), or `None` if the iteration broke down numerically.
    fn smallest_eigenvector(&self) -> Option<Vec<f64>> {
        let n = self.n();
        let mut rng = RandomState::new(0);
        let mut x = Vector::zeros(n);
        for (y, _) in x.y.iter_mut().zip(&self.valid).filter(|(_, v)| **v) {
            *y = rng.random_sample() - 0.5;
        }
        let mut previous = f64::INFINITY;
        for _ in 0..MAX_RESTARTS {
            let (next, residual, converged) = self.lanczos(x)?;
            x = next;
            // Converged, or at the floor that rounding allows (a whole restart did not halve
            // the residual): more steps would not change the vector.
            if converged || residual > 0.5 * previous {
                break;
            }
            previous = residual;
        }
        Some(x.y)
    }

    /// One Lanczos run of up to `BASIS` vectors from `start`: the Ritz vector of the smallest
    /// Ritz value, its residual, and whether that is below `TOLERANCE` (or the space invariant).
    fn lanczos(&self, start: Vector) -> Option<(Vector, f64, bool)> {
        let mut basis: Vec<Vector> = Vec::with_capacity(BASIS);
        let mut alphas: Vec<f64> = Vec::new();
        let mut betas: Vec<f64> = Vec::new();
        let mut v = start;
        let length = self.inner(&v, &v).sqrt();
        if !(length.is_finite() && length > 0.0) {
            return None;
        }
        v.scale(1.0 / length);
        loop {
            let mut r = self.apply(&v);
            basis.push(v);
            // Full re-orthogonalisation, twice (the second pass removes what rounding left).
            let mut alpha = 0.0;
            for _ in 0..2 {
                let coefficients = self.inners(&basis, &r);
                alpha += coefficients[basis.len() - 1];
                r.subtract(&basis, &coefficients);
            }
            alphas.push(alpha);
            let beta = self.inner(&r, &r).max(0.0).sqrt();
            let (theta, s) = smallest_eigenpair(&alphas, &betas)?;
            let residual = beta * s.last().unwrap().abs();
            // β ≈ 0: the Krylov space is invariant, so its Ritz pairs are exact.
            let exhausted = beta <= 1e-14 * (theta.abs() + alpha.abs()).max(1.0);
            if residual <= TOLERANCE || exhausted || basis.len() == BASIS {
                let x = Vector::combination(&basis, &s);
                return Some((x, residual, residual <= TOLERANCE || exhausted));
            }
            betas.push(beta);
            r.scale(1.0 / beta);
            v = r;
        }
    }
}

/// The smallest eigenvalue of the symmetric tridiagonal matrix with diagonal `a` and
/// off-diagonal `b` (`a.len() − 1` entries) and its unit eigenvector: the eigenvalue by
/// bisection on Sturm counts, the vector by inverse iteration just below it.
fn smallest_eigenpair(a: &[f64], b: &[f64]) -> Option<(f64, Vec<f64>)> {
    let n = a.len();
    let off = |i: usize| if i < b.len() { b[i].abs() } else { 0.0 };
    let radius = |i: usize| off(i) + if i > 0 { off(i - 1) } else { 0.0 };
    let mut lo = (0..n)
        .map(|i| a[i] - radius(i))
        .fold(f64::INFINITY, f64::min);
    let mut hi = (0..n)
        .map(|i| a[i] + radius(i))
        .fold(f64::NEG_INFINITY, f64::max);
    if !(lo.is_finite() && hi.is_finite()) {
        return None;
    }
    // Eigenvalues below x: the negative pivots of T − xI.
    let below = |x: f64| {
        let mut count = 0;
        let mut d = 1.0;
        for i in 0..n {
            let coupling = if i > 0 { b[i - 1] * b[i - 1] / d } else { 0.0 };
            d = a[i] - x - coupling;
            if d == 0.0 {
                d = -f64::MIN_POSITIVE;
            }
            count += usize::from(d < 0.0);
        }
        count
    };
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if below(mid) >= 1 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    // T − lo·I is positive semi-definite: inverse iteration with its LDLᵀ factors.
    let shift = lo - f64::EPSILON * lo.abs().max(hi.abs()).max(f64::MIN_POSITIVE);
    let mut d = vec![0.0; n];
    let mut l = vec![0.0; n];
    for i in 0..n {
        let coupling = if i > 0 {
            l[i] = b[i - 1] / d[i - 1];
            l[i] * b[i - 1]
        } else {
            0.0
        };
        d[i] = a[i] - shift - coupling;
        if d[i] <= 0.0 || !d[i].is_finite() {
            d[i] = f64::EPSILON * (a[i].abs() + radius(i)).max(f64::MIN_POSITIVE);
        }
    }
    let mut x = vec![1.0; n];
    for _ in 0..3 {
        for i in 1..n {
            x[i] -= l[i] * x[i - 1];
        }
        for i in 0..n {
            x[i] /= d[i];
        }
        for i in (0..n - 1).rev() {
            x[i] -= l[i + 1] * x[i + 1];
        }
        let length = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        if !(length.is_finite() && length > 0.0) {
            return None;
        }
        x.iter_mut().for_each(|v| *v /= length);
    }
    Some((0.5 * (lo + hi), x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numeric::sum::numpy_sum;
    use crate::responses::Responses;

    /// Eigenvalues and eigenvectors (columns of the returned row-major matrix) of a symmetric
    /// matrix by cyclic Jacobi rotations: an independent dense reference.
    fn jacobi(mut a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
        let mut v = vec![0.0; n * n];
        for i in 0..n {
            v[i * n + i] = 1.0;
        }
        for _ in 0..100 {
            let off: f64 = (0..n)
                .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
                .map(|(i, j)| a[i * n + j] * a[i * n + j])
                .sum();
            if off < 1e-30 {
                break;
            }
            for p in 0..n {
                for q in p + 1..n {
                    let apq = a[p * n + q];
                    if apq.abs() < 1e-300 {
                        continue;
                    }
                    let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                    let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                    let t = if theta == 0.0 { 1.0 } else { t };
                    let c = 1.0 / (t * t + 1.0).sqrt();
                    let s = t * c;
                    for k in 0..n {
                        let (akp, akq) = (a[k * n + p], a[k * n + q]);
                        a[k * n + p] = c * akp - s * akq;
                        a[k * n + q] = s * akp + c * akq;
                    }
                    for k in 0..n {
                        let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                        a[p * n + k] = c * apk - s * aqk;
                        a[q * n + k] = s * apk + c * aqk;
                    }
                    for k in 0..n {
                        let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                        v[k * n + p] = c * vkp - s * vkq;
                        v[k * n + q] = s * vkp + c * vkq;
                    }
                }
            }
        }
        ((0..n).map(|i| a[i * n + i]).collect(), v)
    }

    /// crowd-kit's construction, dense: the graph with one extra node per positive pair, the
    /// eigenvector of D^{-1/2} A D^{-1/2} for its smallest eigenvalue mapped back by D^{-1/2},
    /// signs flipped to a positive sum. `None` when that eigenvalue is not clearly simple or a
    /// worker's entry is 0 up to rounding.
    fn dense_signs(c: &[f64], w: usize) -> Option<Vec<f64>> {
        let valid: Vec<usize> = (0..w)
            .filter(|&i| numpy_sum(&c[i * w..(i + 1) * w]) != 0.0)
            .collect();
        let k = valid.len();
        let mut pairs = Vec::new();
        for a in 0..k {
            for b in a + 1..k {
                if c[valid[a] * w + valid[b]] > 0.0 {
                    pairs.push((a, b));
                }
            }
        }
        let n = k + pairs.len();
        let mut adjacency = vec![0.0; n * n];
        for a in 0..k {
            for b in 0..k {
                if c[valid[a] * w + valid[b]] < 0.0 {
                    adjacency[a * n + b] = 1.0;
                }
            }
        }
        for (e, &(a, b)) in pairs.iter().enumerate() {
            for x in [a, b] {
                adjacency[x * n + k + e] = 1.0;
                adjacency[(k + e) * n + x] = 1.0;
            }
        }
        let degree: Vec<f64> = (0..n)
            .map(|i| adjacency[i * n..(i + 1) * n].iter().sum())
            .collect();
        let normalised: Vec<f64> = (0..n * n)
            .map(|ij| adjacency[ij] / (degree[ij / n] * degree[ij % n]).sqrt())
            .collect();
        let (values, vectors) = jacobi(normalised, n);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&p, &q| values[p].total_cmp(&values[q]));
        if values[order[1]] - values[order[0]] < 1e-6 {
            return None;
        }
        let column = order[0];
        let entries: Vec<f64> = (0..k)
            .map(|a| vectors[a * n + column] / degree[a].sqrt())
            .collect();
        // An entry that is 0 in exact arithmetic (symmetric workers) has the sign of rounding
        // noise, in any implementation (crowd-kit's too): no reference there.
        let largest = entries.iter().fold(0.0, |m: f64, x| m.max(x.abs()));
        if entries.iter().any(|x| x.abs() < 1e-9 * largest) {
            return None;
        }
        let signs: Vec<f64> = entries.iter().map(|&x| sign(x)).collect();
        let flip = sign(signs.iter().sum());
        let mut out = vec![0.0; w];
        for (a, &i) in valid.iter().enumerate() {
            out[i] = flip * signs[a];
        }
        Some(out)
    }

    #[test]
    fn matrix_free_signs_equal_the_dense_eigenvector_signs() {
        let mut rng = RandomState::new(11);
        let mut compared = 0;
        for case in 0..60 {
            let (w, tasks, labels) = (4 + case % 17, 6 + case % 11, 2 + case % 3);
            let mut rows = Vec::new();
            for t in 0..tasks {
                for i in 0..w {
                    if rng.random_sample() < 0.45 {
                        let l = (rng.random_sample() * labels as f64) as usize;
                        rows.push((format!("t{t}"), format!("w{i:02}"), format!("l{l}")));
                    }
                }
            }
            let Ok(data) = Responses::from_triples(rows) else {
                continue;
            };
            if data.n_labels() < 2 {
                continue;
            }
            let cov = Covariance::new(&data);
            let n = cov.n_workers();
            let mut dense = vec![cov.background(); n * n];
            for i in 0..n {
                let (cols, vals) = cov.row(i);
                for (&j, &v) in cols.iter().zip(vals) {
                    dense[i * n + j as usize] = v;
                }
            }
            let Some(expected) = dense_signs(&dense, n) else {
                continue;
            };
            compared += 1;
            assert_eq!(signs(&cov), expected, "case {case}");
        }
        assert!(compared >= 40, "{compared}");
    }

    #[test]
    fn tridiagonal_smallest_eigenpair() {
        // 2 on the diagonal, −1 beside it: eigenvalues 2 − 2cos(jπ/(n+1)), vectors sin(ijπ/(n+1)).
        let n = 12;
        let (theta, x) = smallest_eigenpair(&vec![2.0; n], &vec![-1.0; n - 1]).unwrap();
        let angle = std::f64::consts::PI / (n + 1) as f64;
        assert!((theta - (2.0 - 2.0 * angle.cos())).abs() < 1e-14);
        let norm = (0..n)
            .map(|i| ((i + 1) as f64 * angle).sin().powi(2))
            .sum::<f64>()
            .sqrt();
        let sign = x[0].signum();
        for (i, v) in x.iter().enumerate() {
            assert!((sign * v - ((i + 1) as f64 * angle).sin() / norm).abs() < 1e-12);
        }
    }
}
