//! Times reading one responses file (CSV/TSV, or Parquet with the feature), nothing else: for
//! profilers (`perf record`, `valgrind --tool=callgrind`) and quiet A/B runs of the readers.
//!
//! ```text
//! cargo run --release --example read_timing -- FILE [REPEATS] [THREADS]
//! ```
//! Prints, per repeat, the wall and process CPU seconds of `read_responses` and the table's
//! sizes; with THREADS the read runs on a dedicated rayon pool of that many threads.

use std::path::Path;
use std::time::Instant;

use crowdagg::io::{ReadOptions, read_responses};
use crowdagg::timing::process_cpu_seconds;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = Path::new(
        args.first()
            .ok_or("usage: read_timing FILE [REPEATS] [THREADS]")?,
    );
    let repeats: usize = args.get(1).map_or(Ok(1), |s| s.parse())?;
    let pool = match args.get(2) {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.parse()?)
            .build()?,
        None => rayon::ThreadPoolBuilder::new().build()?,
    };
    for _ in 0..repeats {
        let (started, cpu) = (Instant::now(), process_cpu_seconds());
        let data = pool.install(|| read_responses(path, &ReadOptions::default()))?;
        println!(
            "read_s={:.4} read_cpu_s={:.3} responses={} tasks={} workers={} labels={}",
            started.elapsed().as_secs_f64(),
            process_cpu_seconds() - cpu,
            data.n_responses(),
            data.n_tasks(),
            data.n_workers(),
            data.n_labels()
        );
    }
    Ok(())
}
