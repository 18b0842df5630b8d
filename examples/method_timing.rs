//! Times the fit of any registered method (default parameters unless overridden) on a
//! responses CSV, excluding the CSV load.
//!
//! ```text
//! cargo run --release --example method_timing -- responses.csv METHOD [key=value ...]
//! ```
//! METHOD is a CLI or crowd-kit name (`glad`, `MACE`, …). Prints one line: sizes, load seconds,
//! fit wall and CPU seconds, iterations and repetitions. A fit shorter than a second is repeated
//! until two seconds have passed and the mean is printed, so that millisecond fits are not lost
//! in the 10 ms CPU clock.

use std::path::Path;
use std::time::Instant;

use crowdagg::io::{ReadOptions, read_responses};
use crowdagg::methods::find_method;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, method, params @ ..] = args.as_slice() else {
        return Err("usage: method_timing responses.csv METHOD [key=value ...]".into());
    };
    let start = Instant::now();
    let data = read_responses(Path::new(path), &ReadOptions::default())?;
    let load = start.elapsed().as_secs_f64();

    let pairs = params
        .iter()
        .map(|p| p.split_once('=').ok_or("parameters are key=value"))
        .collect::<Result<Vec<_>, _>>()?;
    let method = find_method(method).ok_or("unknown method")?;
    let model = method.build(&pairs)?;

    let (start, cpu_start) = (Instant::now(), crowdagg::timing::process_cpu_seconds());
    let mut reps = 0u32;
    let result = loop {
        let result = model.aggregate(&data)?;
        reps += 1;
        let elapsed = start.elapsed().as_secs_f64();
        if elapsed >= 1.0 && (reps == 1 || elapsed >= 2.0) || reps >= 10_000 {
            break result;
        }
    };
    let fit = start.elapsed().as_secs_f64() / f64::from(reps);
    let cpu = (crowdagg::timing::process_cpu_seconds() - cpu_start) / f64::from(reps);
    println!(
        "method={} responses={} tasks={} workers={} labels={} load_s={load:.3} fit_s={fit:.6} cpu_s={cpu:.6} iterations={} reps={reps}",
        model.name(),
        data.n_responses(),
        data.n_tasks(),
        data.n_workers(),
        data.n_labels(),
        result.report.iterations,
    );
    Ok(())
}
