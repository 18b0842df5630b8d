//! Memory bandwidth of this machine, STREAM style (McCalpin): copy, scale, add and triad over
//! f64 arrays far larger than the last-level cache, on 1 thread and on all rayon threads.
//! Bytes are counted as STREAM does (reads + writes, no write-allocate traffic), best of
//! `REPEATS`. The figure is the denominator of the "bandwidth floor" of an EM sweep in
//! BENCHMARKS.md.
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
