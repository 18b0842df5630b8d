//! Times what follows the read for a method: the fit, and the CSV write of its result into
//! memory (the formatting, without the file system), each repeated.
//!
//! ```text
//! cargo run --release --example post_timing -- responses.csv METHOD [REPEATS]
//! ```
//! With `POST_TIMING_FILE=path`, also the write to that file (truncated each time).
//! Prints the minimum and the median of each, in milliseconds, and the output's size.

use std::path::Path;
use std::time::Instant;

use crowdagg::io::{ReadOptions, read_responses};
use crowdagg::methods::find_method;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, method, rest @ ..] = args.as_slice() else {
        return Err("usage: post_timing responses.csv METHOD [REPEATS]".into());
    };
    let repeats: usize = rest.first().map_or(Ok(30), |r| r.parse())?;
    if repeats == 0 {
        return Err("REPEATS must be at least 1".into());
    }
    let data = read_responses(Path::new(path), &ReadOptions::default())?;
    let model = find_method(method).ok_or("unknown method")?.build(&[])?;
    let (mut fits, mut writes, mut files) = (Vec::new(), Vec::new(), Vec::new());
    let file = std::env::var_os("POST_TIMING_FILE");
    let mut size = 0;
    for _ in 0..repeats {
        let start = Instant::now();
        let result = model.aggregate(&data)?;
        fits.push(start.elapsed().as_secs_f64() * 1e3);
        let mut out = Vec::with_capacity(size);
        let start = Instant::now();
        crowdagg::output::write_csv(&mut out, &data, &result)?;
        writes.push(start.elapsed().as_secs_f64() * 1e3);
        size = out.len();
        if let Some(path) = &file {
            let start = Instant::now();
            let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
            crowdagg::output::write_csv(&mut out, &data, &result)?;
            std::io::Write::flush(&mut out)?;
            files.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    let summary = |times: &mut Vec<f64>| {
        times.sort_by(f64::total_cmp);
        format!(
            "min={:.2}ms median={:.2}ms",
            times[0],
            times[times.len() / 2]
        )
    };
    println!(
        "method={} tasks={} fit: {} write: {} bytes={size}",
        model.name(),
        data.n_tasks(),
        summary(&mut fits),
        summary(&mut writes),
    );
    if !files.is_empty() {
        println!("to a file (POST_TIMING_FILE): {}", summary(&mut files));
    }
    Ok(())
}
