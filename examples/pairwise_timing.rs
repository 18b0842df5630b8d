//! Times crowdagg's pairwise methods on the comparisons `scripts/bench_pairwise.sh` makes (the
//! same file crowd-kit is timed on): BradleyTerry (converging, and crowd-kit's two steps) and
//! NoisyBradleyTerry, each fitted after loading (repeated until a second has passed).
//!
//! ```text
//! cargo run --release --example pairwise_timing -- comparisons.csv
//! ```
//! Prints `method,wall seconds,CPU seconds,rows,items,iterations` per method (means per fit).

use std::time::Instant;

use crowdagg::io::{PairwiseReadOptions, read_pairwise};
use crowdagg::{
    BradleyTerryParams, NoisyBradleyTerryParams, PairwiseAggregator, PairwiseCompat, Params,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path] = args.as_slice() else {
        return Err("usage: pairwise_timing comparisons.csv".into());
    };
    let start = Instant::now();
    let data = read_pairwise(path, &PairwiseReadOptions::default())?;
    println!("load,{:.3},{}", start.elapsed().as_secs_f64(), data.len());
    let methods: Vec<(&str, Box<dyn PairwiseAggregator>)> = vec![
        (
            "BradleyTerry",
            Box::new(
                BradleyTerryParams {
                    n_iter: 100,
                    ..BradleyTerryParams::default()
                }
                .check()?,
            ),
        ),
        (
            "BradleyTerry(compat=crowd-kit)",
            Box::new(
                BradleyTerryParams {
                    n_iter: 100,
                    compat: PairwiseCompat::CrowdKit,
                    ..BradleyTerryParams::default()
                }
                .check()?,
            ),
        ),
        (
            "NoisyBradleyTerry",
            Box::new(NoisyBradleyTerryParams::default().check()?),
        ),
        (
            "NoisyBradleyTerry(compat=crowd-kit)",
            Box::new(
                NoisyBradleyTerryParams {
                    compat: PairwiseCompat::CrowdKit,
                    ..NoisyBradleyTerryParams::default()
                }
                .check()?,
            ),
        ),
    ];
    for (name, method) in methods {
        // Fits repeated until a second has passed (short fits), means per fit.
        let (start, cpu) = (Instant::now(), crowdagg::timing::process_cpu_seconds());
        let mut reps = 0u32;
        let fit = loop {
            let fit = method.fit(&data)?;
            reps += 1;
            if start.elapsed().as_secs_f64() >= 1.0 {
                break fit;
            }
        };
        let reps = f64::from(reps);
        println!(
            "{name},{:.4},{:.4},{},{},{}",
            start.elapsed().as_secs_f64() / reps,
            (crowdagg::timing::process_cpu_seconds() - cpu) / reps,
            data.len(),
            fit.scores.len(),
            fit.report.iterations
        );
    }
    Ok(())
}
