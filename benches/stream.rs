//! Memory bandwidth of this machine, STREAM style (McCalpin): copy, scale, add and triad over
//! f64 arrays far larger than the last-level cache, on 1 thread and on all rayon threads.
//! Bytes are counted as STREAM does (reads + writes, no write-allocate traffic), best of
//! `REPEATS`. The figure is the denominator of the "bandwidth floor" of an EM sweep in
//! BENCHMARKS.md.
//!
//! A second kernel, `rows`, measures what the streaming figure cannot: the cost of the random
//! table rows a fused Dawid-Skene sweep must touch. Per answer it reads the K-wide row of a
//! W × K × K table and adds it into the same row of a per-thread count table, at uniformly
//! random rows (generated workers have no locality), with and without the sweep's 16-ahead
//! prefetch, and nothing else (no exponentials, no posterior). The faster of the two, per
//! answer, is a floor for any sweep over data of that shape on this machine.
//!
//! `cargo bench --bench stream` (prints one line per kernel and thread count).

use std::hint::black_box;
use std::time::Instant;

use rayon::prelude::*;

/// 2^24 f64 = 128 MiB per array, 4× the 32 MiB L3 of the benchmark machine.
const LEN: usize = 1 << 24;
const REPEATS: usize = 7;
/// Elements per rayon job.
const CHUNK: usize = 1 << 16;

fn main() {
    let mut a = vec![1.0f64; LEN];
    let mut b = vec![2.0f64; LEN];
    let mut c = vec![0.0f64; LEN];
    let s = black_box(3.0);
    let threads = rayon::current_num_threads();
    for parallel in [false, true] {
        let label = if parallel { threads } else { 1 };
        let report = |name: &str, bytes_per_element: usize, run: &mut dyn FnMut()| {
            let best = (0..REPEATS)
                .map(|_| {
                    let start = Instant::now();
                    run();
                    start.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min);
            let gb_s = (bytes_per_element * LEN) as f64 / best / 1e9;
            println!("stream threads={label} kernel={name} best_s={best:.4} gb_s={gb_s:.2}");
        };
        report("copy", 16, &mut || {
            kernel(parallel, &mut c, &a, &a, |x, _| x)
        });
        report("scale", 16, &mut || {
            kernel(parallel, &mut b, &c, &c, |x, _| s * x)
        });
        report("add", 24, &mut || {
            kernel(parallel, &mut c, &a, &b, |x, y| x + y)
        });
        report("triad", 24, &mut || {
            kernel(parallel, &mut a, &b, &c, |x, y| x + s * y)
        });
    }
    black_box((&a, &b, &c));
    drop((a, b, c));
    // Table shapes of BENCHMARKS.md's sweeps: 4,000 workers (10^6 answers), 40,000 (10^7) and
    // 400,000 (10^8), K = 2 and 5.
    let rows: Vec<u32> = xorshift_rows(LEN);
    for workers in [4_000, 40_000, 400_000] {
        for k in [2, 5] {
            for parallel in [false, true] {
                let label = if parallel { threads } else { 1 };
                let ns = |prefetching: bool| {
                    let best = (0..REPEATS)
                        .map(|_| random_rows(&rows, workers, k, parallel, prefetching))
                        .fold(f64::INFINITY, f64::min);
                    best * 1e9 / LEN as f64
                };
                let (with, without) = (ns(true), ns(false));
                println!(
                    "rows threads={label} workers={workers} k={k} table_mb={:.1} ns_per_answer={:.2} (prefetch {with:.2}, none {without:.2})",
                    (workers * k * k * 8) as f64 / 1e6,
                    with.min(without),
                );
            }
        }
    }
}

/// `n` pseudo-random values (xorshift64); `random_rows` maps them onto table rows.
fn xorshift_rows(n: usize) -> Vec<u32> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u32
        })
        .collect()
}

/// Seconds for one pass of the `rows` kernel over `draws` (see the module comment).
fn random_rows(draws: &[u32], workers: usize, k: usize, parallel: bool, prefetching: bool) -> f64 {
    let table: Vec<f64> = (0..workers * k * k).map(|i| (i % 7) as f64 - 3.5).collect();
    let n_rows = (workers * k) as u64;
    let row_of = |draw: u32| ((draw as u64 * n_rows) >> 32) as usize * k;
    let pass = |draws: &[u32]| {
        let mut counts = vec![0.0f64; table.len()];
        for (i, &draw) in draws.iter().enumerate() {
            if prefetching {
                let ahead = row_of(draws[(i + 16).min(draws.len() - 1)]);
                prefetch(&table[ahead]);
                prefetch(&counts[ahead]);
            }
            let at = row_of(draw);
            for c in 0..k {
                counts[at + c] += table[at + c];
            }
        }
        black_box(counts);
    };
    let start = Instant::now();
    if parallel {
        let per_thread = draws.len().div_ceil(rayon::current_num_threads());
        draws.par_chunks(per_thread).for_each(pass);
    } else {
        pass(draws);
    }
    start.elapsed().as_secs_f64()
}

/// A cache hint for the row about to be used (no-op off x86-64).
fn prefetch(item: &f64) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint, never faults, and the address is a live element's.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>((item as *const f64).cast())
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = item;
}

/// out[i] = f(x[i], y[i]), sequentially or in parallel chunks.
fn kernel(
    parallel: bool,
    out: &mut [f64],
    x: &[f64],
    y: &[f64],
    f: impl Fn(f64, f64) -> f64 + Sync,
) {
    let body = |(o, (x, y)): (&mut [f64], (&[f64], &[f64]))| {
        for ((o, &x), &y) in o.iter_mut().zip(x).zip(y) {
            *o = f(x, y);
        }
    };
    if parallel {
        out.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK).zip(y.par_chunks(CHUNK)))
            .for_each(body);
    } else {
        out.chunks_mut(CHUNK)
            .zip(x.chunks(CHUNK).zip(y.chunks(CHUNK)))
            .for_each(body);
    }
}
