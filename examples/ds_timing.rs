//! Times DawidSkene (or OneCoinDawidSkene) on a responses CSV with a fixed number of sweeps.
//!
//! ```text
//! cargo run --release --example ds_timing -- responses.csv [n_iter] [ds|ocds]
//! cargo run --release --example ds_timing -- --generate TASKS WORKERS CLASSES [n_iter] [ds|ocds] [overlap]
//! ```
//! (`--generate`: seed 0, Zipf worker activity; `overlap` answers per task, default 3 or 5.)
//! Prints one line: sizes, load seconds, fit wall and CPU seconds, iterations, and wall and CPU
//! nanoseconds per response per iteration (one iteration = one task pass + one worker pass).

use std::path::Path;
use std::time::Instant;

use crowdagg::generate::{GeneratorConfig, generate};
use crowdagg::io::{ReadOptions, read_responses};
use crowdagg::{Aggregator, Params};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let start = Instant::now();
    let (data, rest) = if args.first().map(String::as_str) == Some("--generate") {
        let n = |i: usize| args[i].parse::<usize>();
        let mut config = GeneratorConfig::new(n(1)?, n(2)?, n(3)?).seed(0);
        if let Some(overlap) = args.get(6) {
            config = config.overlap(vec![overlap.parse()?]);
        }
        (generate(&config)?.responses, &args[4..])
    } else {
        let data = read_responses(Path::new(&args[0]), &ReadOptions::default())?;
        (data, &args[1..])
    };
    let load = start.elapsed().as_secs_f64();
    let n_iter = rest.first().map_or(Ok(100), |s| s.parse())?;
    let pairs = [("n_iter", n_iter.to_string()), ("tol", "0".to_string())];
    let pairs = pairs.iter().map(|(k, v)| (*k, v.as_str()));
    let model: Box<dyn Aggregator> = match rest.get(1).map(String::as_str) {
        Some("ocds") => Box::new(crowdagg::methods::OneCoinDawidSkeneParams::from_pairs(
            pairs,
        )?),
        _ => Box::new(crowdagg::methods::DawidSkeneParams::from_pairs(pairs)?),
    };
    let (start, cpu_start) = (Instant::now(), crowdagg::timing::process_cpu_seconds());
    let result = model.aggregate(&data)?;
    let fit = start.elapsed().as_secs_f64();
    let cpu = crowdagg::timing::process_cpu_seconds() - cpu_start;
    // Sweeps: initial M-step + one task pass and one worker pass per iteration, + 1 task pass.
    let sweeps = result.report.iterations as f64;
    println!(
        "method={} responses={} tasks={} workers={} labels={} load_s={load:.3} fit_s={fit:.4} cpu_s={cpu:.2} iterations={} ns_per_response_per_iteration={:.2} cpu_ns_per_response_per_iteration={:.2}",
        model.name(),
        data.n_responses(),
        data.n_tasks(),
        data.n_workers(),
        data.n_labels(),
        result.report.iterations,
        fit * 1e9 / (data.n_responses() as f64 * sweeps),
        cpu * 1e9 / (data.n_responses() as f64 * sweeps)
    );
    Ok(())
}
