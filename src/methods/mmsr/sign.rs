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
//! The factorisation is blocked and parallel (see `cholesky`): each entry is computed by one
//! task in a fixed order, so the result does not depend on the thread count.

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

/// Columns per panel of the blocked Cholesky factorisation.
const PANEL: usize = 128;
/// Columns per block of the trailing update (one block of the packed panel: PANEL × 8).
const BLOCK: usize = 8;
/// Rows per parallel task of the trailing update.
const TASK_ROWS: usize = 32;

/// Lower Cholesky factor (row-major) of a symmetric matrix (only its lower triangle is read),
/// or `None` if it is not positive definite. Right-looking, blocked: for each panel of
/// `PANEL` columns, factor its diagonal block, solve the rows below it against that block
/// (rows in parallel), then subtract the panel's outer product from the trailing lower
/// triangle as a matrix product (tasks of `TASK_ROWS` rows in parallel, 4×8 register tiles
/// over a packed copy of the panel). Every entry is computed by one task, in a fixed order:
/// the result does not depend on the number of threads.
fn cholesky(mut a: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    let mut packed = Vec::new();
    for start in (0..n).step_by(PANEL) {
        let end = (start + PANEL).min(n);
        factor_diagonal_block(&mut a, n, start, end)?;
        let (head, tail) = a.split_at_mut(end * n);
        let diagonal = &head[start * n..];
        tail.par_chunks_mut(n)
            .with_min_len(16)
            .for_each(|row| solve_panel_row(&mut row[start..end], diagonal, n, start));
        pack_panel(tail, n, start, end, &mut packed);
        let packed = &packed;
        tail.par_chunks_mut(TASK_ROWS * n)
            .enumerate()
            .for_each(|(task, rows)| {
                let first = end + task * TASK_ROWS;
                trailing_update(rows, n, first, start..end, packed);
            });
    }
    for i in 0..n {
        a[i * n + i + 1..(i + 1) * n].fill(0.0);
    }
    Some(a)
}

/// Unblocked Cholesky of the diagonal block rows/columns start..end (already updated by the
/// panels to its left).
fn factor_diagonal_block(a: &mut [f64], n: usize, start: usize, end: usize) -> Option<()> {
    for j in start..end {
        let (head, tail) = a.split_at_mut((j + 1) * n);
        let row_j = &mut head[j * n..];
        let d = row_j[j] - dot(&row_j[start..j], &row_j[start..j]);
        if !(d > 0.0 && d.is_finite()) {
            return None;
        }
        let d = d.sqrt();
        row_j[j] = d;
        let row_j = &row_j[start..j];
        for row_i in tail.chunks_exact_mut(n).take(end - j - 1) {
            row_i[j] = (row_i[j] - dot(&row_i[start..j], row_j)) / d;
        }
    }
    Some(())
}

/// One row's part of the panel: x ← x L_JJ⁻ᵀ, with L_JJ the factored diagonal block (rows of
/// `diagonal`, columns start..start + x.len()).
fn solve_panel_row(x: &mut [f64], diagonal: &[f64], n: usize, start: usize) {
    for c in 0..x.len() {
        let row_c = &diagonal[c * n + start..c * n + start + c + 1];
        x[c] = (x[c] - dot(&x[..c], &row_c[..c])) / row_c[c];
    }
}

/// Copies the panel's rows below the diagonal block (columns start..end) into blocks of
/// `BLOCK` rows, each stored column by column (PANEL × BLOCK, zero-padded), so that the
/// trailing update reads one contiguous block at a time.
fn pack_panel(tail: &[f64], n: usize, start: usize, end: usize, packed: &mut Vec<f64>) {
    let width = end - start;
    let rows = tail.len() / n;
    let blocks = rows.div_ceil(BLOCK);
    packed.clear();
    packed.resize(blocks * width * BLOCK, 0.0);
    packed
        .par_chunks_mut(width * BLOCK)
        .enumerate()
        .for_each(|(b, block)| {
            for q in 0..BLOCK.min(rows - b * BLOCK) {
                let row = &tail[(b * BLOCK + q) * n + start..(b * BLOCK + q) * n + end];
                for (p, &v) in row.iter().enumerate() {
                    block[p * BLOCK + q] = v;
                }
            }
        });
}

/// A[i, c] −= Σ_p L[i, p] L[c, p] over the panel columns p, for the rows in `rows` (global
/// indices from `first`) and the columns c ≤ i right of the panel.
fn trailing_update(
    rows: &mut [f64],
    n: usize,
    first: usize,
    panel: std::ops::Range<usize>,
    packed: &[f64],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2 (checked just above). The code is the same; AVX2
        // only widens its vectors (no FMA: the same roundings, the same result).
        unsafe { trailing_update_avx2(rows, n, first, panel, packed) };
        return;
    }
    trailing_update_generic::<false>(rows, n, first, panel, packed);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn trailing_update_avx2(
    rows: &mut [f64],
    n: usize,
    first: usize,
    panel: std::ops::Range<usize>,
    packed: &[f64],
) {
    trailing_update_generic::<true>(rows, n, first, panel, packed);
}

#[inline(always)]
fn trailing_update_generic<const AVX2: bool>(
    rows: &mut [f64],
    n: usize,
    first: usize,
    panel: std::ops::Range<usize>,
    packed: &[f64],
) {
    let width = panel.len();
    let count = rows.len() / n;
    let last = first + count - 1;
    // Columns from the panel's end (= the first trailing row) up to the last row's diagonal.
    let column_start = panel.end;
    for b in 0..=(last - column_start) / BLOCK {
        let c0 = column_start + b * BLOCK;
        let block = &packed[b * width * BLOCK..(b + 1) * width * BLOCK];
        let mut r = 0;
        while r < count {
            let group = (count - r).min(4);
            // Rows entirely above this block's columns have nothing to update.
            if first + r + group > c0 {
                let rows_here = &mut rows[r * n..(r + group) * n];
                match group {
                    #[cfg(target_arch = "x86_64")]
                    4 if AVX2 => {
                        // SAFETY: only called from `trailing_update_avx2` (AVX2 available).
                        unsafe { tile_4_avx2(rows_here, n, first + r, c0, panel.clone(), block) }
                    }
                    4 => tile::<4>(rows_here, n, first + r, c0, panel.clone(), block),
                    3 => tile::<3>(rows_here, n, first + r, c0, panel.clone(), block),
                    2 => tile::<2>(rows_here, n, first + r, c0, panel.clone(), block),
                    _ => tile::<1>(rows_here, n, first + r, c0, panel.clone(), block),
                }
            }
            r += group;
        }
    }
}

/// R rows × BLOCK columns of the trailing update, accumulated over the panel in order.
#[inline(always)]
fn tile<const R: usize>(
    rows: &mut [f64],
    n: usize,
    first: usize,
    c0: usize,
    panel: std::ops::Range<usize>,
    block: &[f64],
) {
    let mut acc = [[0.0; BLOCK]; R];
    {
        let l: [&[f64]; R] = std::array::from_fn(|r| &rows[r * n + panel.start..r * n + panel.end]);
        for (p, column) in block.chunks_exact(BLOCK).enumerate() {
            for r in 0..R {
                let lp = l[r][p];
                for q in 0..BLOCK {
                    acc[r][q] += lp * column[q];
                }
            }
        }
    }
    subtract_tile(rows, n, first, c0, &acc);
}

/// Subtracts the accumulated R × BLOCK tile from the rows' columns c0.., lower triangle only
/// (c ≤ i) and within the matrix.
#[inline(always)]
fn subtract_tile<const R: usize>(
    rows: &mut [f64],
    n: usize,
    first: usize,
    c0: usize,
    tile: &[[f64; BLOCK]; R],
) {
    for (r, sums) in tile.iter().enumerate() {
        let i = first + r;
        if i < c0 {
            continue;
        }
        let columns = (i - c0 + 1).min(BLOCK).min(n - c0);
        let row = &mut rows[r * n + c0..r * n + c0 + columns];
        for (v, a) in row.iter_mut().zip(sums) {
            *v -= a;
        }
    }
}

/// `tile::<4>` written with AVX intrinsics (the compiler's own vectorisation of it shuffles
/// lanes): the same multiplications and additions in the same order, so the same result.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn tile_4_avx2(
    rows: &mut [f64],
    n: usize,
    first: usize,
    c0: usize,
    panel: std::ops::Range<usize>,
    block: &[f64],
) {
    use std::arch::x86_64::{
        __m256d, _mm256_add_pd, _mm256_broadcast_sd, _mm256_loadu_pd, _mm256_mul_pd,
        _mm256_setzero_pd, _mm256_storeu_pd,
    };
    assert_eq!(BLOCK, 8);
    let width = panel.len();
    assert!(rows.len() >= 3 * n + panel.end && block.len() >= width * BLOCK);
    let mut acc: [[__m256d; 2]; 4] = [[_mm256_setzero_pd(); 2]; 4];
    let base = rows.as_ptr();
    let column = block.as_ptr();
    for p in 0..width {
        // SAFETY: p < width, so every read is inside `block` (width × 8) and inside rows
        // 0..4 of `rows` (columns panel.start + p < panel.end), as asserted above.
        unsafe {
            let c_lo = _mm256_loadu_pd(column.add(p * BLOCK));
            let c_hi = _mm256_loadu_pd(column.add(p * BLOCK + 4));
            for (r, acc) in acc.iter_mut().enumerate() {
                let l = _mm256_broadcast_sd(&*base.add(r * n + panel.start + p));
                acc[0] = _mm256_add_pd(acc[0], _mm256_mul_pd(l, c_lo));
                acc[1] = _mm256_add_pd(acc[1], _mm256_mul_pd(l, c_hi));
            }
        }
    }
    let mut sums = [[0.0; BLOCK]; 4];
    for (sum, acc) in sums.iter_mut().zip(&acc) {
        // SAFETY: each store writes 4 doubles into an 8-double array.
        unsafe {
            _mm256_storeu_pd(sum.as_mut_ptr(), acc[0]);
            _mm256_storeu_pd(sum.as_mut_ptr().add(4), acc[1]);
        }
    }
    subtract_tile(rows, n, first, c0, &sums);
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

/// Solves L Lᵀ x = b in place, reading L by rows in both passes: forward by dot products,
/// backward by subtracting each solved entry times its row (Lᵀ's column).
fn solve(l: &[f64], n: usize, x: &mut [f64]) {
    for i in 0..n {
        let row = &l[i * n..i * n + i + 1];
        x[i] = (x[i] - dot(&row[..i], &x[..i])) / row[i];
    }
    for i in (0..n).rev() {
        let row = &l[i * n..i * n + i + 1];
        x[i] /= row[i];
        let xi = x[i];
        for (v, &lp) in x[..i].iter_mut().zip(&row[..i]) {
            *v -= lp * xi;
        }
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

    /// Textbook Cholesky (column by column, plain sums) as an independent check.
    fn cholesky_by_definition(a: &[f64], n: usize) -> Vec<f64> {
        let mut l = vec![0.0f64; n * n];
        for j in 0..n {
            let d = a[j * n + j] - (0..j).map(|p| l[j * n + p].powi(2)).sum::<f64>();
            l[j * n + j] = d.sqrt();
            for i in j + 1..n {
                let s: f64 = (0..j).map(|p| l[i * n + p] * l[j * n + p]).sum();
                l[i * n + j] = (a[i * n + j] - s) / l[j * n + j];
            }
        }
        l
    }

    fn random_spd(n: usize) -> Vec<f64> {
        let mut rng = RandomState::new(3);
        let b: Vec<f64> = (0..n * n).map(|_| rng.random_sample() - 0.5).collect();
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                a[i * n + j] = (0..n).map(|p| b[i * n + p] * b[j * n + p]).sum::<f64>();
            }
            a[i * n + i] += 1.0;
        }
        a
    }

    #[test]
    fn blocked_cholesky_matches_the_definition() {
        // Sizes around the panel and block widths, including partial ones.
        for n in [1, 7, 64, 65, 150] {
            let a = random_spd(n);
            let l = cholesky(a.clone(), n).unwrap();
            let reference = cholesky_by_definition(&a, n);
            for (x, y) in l.iter().zip(&reference) {
                assert!(
                    (x - y).abs() <= 1e-10 * y.abs().max(1.0),
                    "n = {n}: {x} vs {y}"
                );
            }
        }
    }

    #[test]
    fn blocked_cholesky_does_not_depend_on_the_thread_count() {
        let n = 300;
        let a = random_spd(n);
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| cholesky(a.clone(), n).unwrap())
        };
        let one = run(1);
        assert!(
            one.iter()
                .zip(run(3))
                .all(|(x, y)| x.to_bits() == y.to_bits())
        );
    }

    #[test]
    fn solve_inverts_the_factorisation() {
        let n = 70;
        let a = random_spd(n);
        let l = cholesky(a.clone(), n).unwrap();
        let x: Vec<f64> = (0..n).map(|i| (i as f64).sin()).collect();
        let mut b: Vec<f64> = (0..n)
            .map(|i| (0..n).map(|j| a[i * n + j] * x[j]).sum())
            .collect();
        solve(&l, n, &mut b);
        for (u, v) in b.iter().zip(&x) {
            assert!((u - v).abs() < 1e-9);
        }
    }

    #[test]
    fn cholesky_rejects_indefinite() {
        assert!(cholesky(vec![1.0, 2.0, 2.0, 1.0], 2).is_none());
        let l = cholesky(vec![4.0, 2.0, 2.0, 5.0], 2).unwrap();
        assert_eq!(l, vec![2.0, 0.0, 1.0, 2.0]);
    }
}
