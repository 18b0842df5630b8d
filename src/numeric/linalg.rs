//! Dense symmetric linear algebra: a blocked, parallel Cholesky factorisation and the solve
//! that uses it (M-MSR's sign step factors its Schur complement with them).
//!
//! The trailing update of the factorisation has an AVX2 build chosen at run time
//! ([`Isa::detect`]); both builds perform the same IEEE operations in the same order (no fused
//! multiply-add), so the factor has the same bits whichever runs, at any thread count.

use rayon::prelude::*;

use super::simd::Isa;

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
/// the result does not depend on the number of threads, nor on the instruction set.
pub(crate) fn cholesky(a: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    cholesky_with(a, n, Isa::detect())
}

/// [`cholesky`] with the trailing update's build chosen by `isa`.
fn cholesky_with(mut a: Vec<f64>, n: usize, isa: Isa) -> Option<Vec<f64>> {
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
                trailing_update(rows, n, first, start..end, packed, isa);
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
    isa: Isa,
) {
    #[cfg(target_arch = "x86_64")]
    if isa.avx2() {
        // SAFETY: `Isa::avx2()` is true only when run-time detection found AVX2 on this CPU.
        // The code is the same; AVX2 only widens its vectors (no FMA: the same roundings,
        // the same result).
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
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
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
pub(crate) fn solve(l: &[f64], n: usize, x: &mut [f64]) {
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
    use crate::numeric::numpy_random::RandomState;

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
    fn avx2_trailing_update_gives_the_same_bits() {
        let isa = Isa::detect();
        if !isa.avx2() {
            return;
        }
        // Several panels, partial blocks and row groups of 1 to 4.
        for n in [5, 131, 300] {
            let a = random_spd(n);
            let base = cholesky_with(a.clone(), n, Isa::baseline()).unwrap();
            let avx2 = cholesky_with(a, n, isa).unwrap();
            assert!(
                base.iter()
                    .zip(&avx2)
                    .all(|(x, y)| x.to_bits() == y.to_bits())
            );
        }
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
