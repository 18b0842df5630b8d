//! Times crowdagg's texts and embeddings methods on the CSVs `scripts/bench_texts.sh` makes
//! (the same files crowd-kit is timed on): reading each file and fitting each method once
//! (plus repetitions until a second has passed, for short fits), crowd-kit's parameters.
//!
//! ```text
//! cargo run --release --example texts_timing -- embeddings.csv texts.csv
//! ```
//! Prints one `method,wall seconds,CPU seconds,rows,tasks` line per method (means per fit,
//! CSV load excluded), and the load times.

use std::path::Path;
use std::time::Instant;

use crowdagg::io::{EmbeddingReadOptions, TextReadOptions, read_embeddings, read_texts};
use crowdagg::{
    ClosestToAverage, EmbeddingAggregator, HrrasaParams, OutputSimilarity, Rasa, Rover,
    RoverParams, TextAggregator, TextRasa, Tokenizer,
};

/// Mean wall and CPU seconds per fit.
fn time<T>(mut fit: impl FnMut() -> T) -> (f64, f64) {
    let (start, cpu) = (Instant::now(), crowdagg::timing::process_cpu_seconds());
    let mut reps = 0u32;
    loop {
        std::hint::black_box(fit());
        reps += 1;
        if start.elapsed().as_secs_f64() >= 1.0 {
            let cpu = crowdagg::timing::process_cpu_seconds() - cpu;
            let reps = f64::from(reps);
            return (start.elapsed().as_secs_f64() / reps, cpu / reps);
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [embeddings, texts] = args.as_slice() else {
        return Err("usage: texts_timing embeddings.csv texts.csv".into());
    };
    let start = Instant::now();
    let data = read_embeddings(Path::new(embeddings), &EmbeddingReadOptions::default())?;
    println!(
        "load-embeddings,{:.4},{},{}",
        start.elapsed().as_secs_f64(),
        data.len(),
        data.n_tasks()
    );
    let start = Instant::now();
    let text_data = read_texts(Path::new(texts), &TextReadOptions::default())?;
    println!(
        "load-texts,{:.4},{},{}",
        start.elapsed().as_secs_f64(),
        text_data.len(),
        text_data.n_tasks()
    );

    let row = |name: &str, (wall, cpu): (f64, f64), rows: usize, tasks: usize| {
        println!("{name},{wall:.4},{cpu:.4},{rows},{tasks}");
    };
    let cta = ClosestToAverage::default();
    row(
        "ClosestToAverage",
        time(|| cta.fit(&data).unwrap()),
        data.len(),
        data.n_tasks(),
    );
    let rasa = Rasa::default();
    row(
        "RASA",
        time(|| rasa.fit(&data).unwrap()),
        data.len(),
        data.n_tasks(),
    );
    println!("# RASA iterations: {}", rasa.fit(&data)?.report.iterations);
    // TextRASA: RASA with the outputs as the texts (crowd-kit's encoder is a lookup there).
    let text_rasa = TextRasa::default();
    row(
        "TextRASA",
        time(|| text_rasa.fit(&data).unwrap()),
        data.len(),
        data.n_tasks(),
    );
    let hrrasa = HrrasaParams {
        output_similarity: OutputSimilarity::CrowdKit,
        ..HrrasaParams::default()
    }
    .check()?;
    row(
        "HRRASA",
        time(|| hrrasa.fit(&data).unwrap()),
        data.len(),
        data.n_tasks(),
    );
    println!(
        "# HRRASA iterations: {}",
        hrrasa.fit(&data)?.report.iterations
    );
    let rover = RoverParams {
        tokenizer: Tokenizer::Space,
        ..Rover::params()
    }
    .check()?;
    row(
        "ROVER",
        time(|| rover.fit(&text_data).unwrap()),
        text_data.len(),
        text_data.n_tasks(),
    );
    Ok(())
}
