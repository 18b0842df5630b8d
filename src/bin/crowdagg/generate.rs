//! `crowdagg generate`: seeded synthetic data from the Dawid-Skene generative model.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use super::{progress_bar, write_whole};

#[derive(clap::Args)]
pub(crate) struct GenerateArgs {
    #[arg(long)]
    tasks: usize,
    /// Workers in the pool (those drawn for no task are absent from the output).
    #[arg(long)]
    workers: usize,
    #[arg(long, default_value_t = 2)]
    classes: usize,
    /// Responses per task, drawn uniformly from this comma-separated list.
    #[arg(long, value_delimiter = ',', default_value = "3,5")]
    overlap: Vec<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output file (default, or `-`: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write the true labels (CSV `task,label`) here.
    #[arg(long)]
    gold: Option<PathBuf>,
}

pub(crate) fn generate(args: GenerateArgs) -> Result<(), String> {
    use crowdagg::generate::{GeneratorConfig, write_csv};
    let config = GeneratorConfig::new(args.tasks, args.workers, args.classes)
        .overlap(args.overlap)
        .seed(args.seed);
    let bar = progress_bar(
        args.tasks as u64,
        "generating {pos}/{len} tasks {wide_bar} {eta}",
    );
    let mut gold = args
        .gold
        .as_deref()
        .map(|p| {
            File::create(p)
                .map(BufWriter::new)
                .map_err(|e| format!("{}: {e}", p.display()))
        })
        .transpose()?;
    let tick = |t: usize| {
        if t.is_multiple_of(65_536) {
            bar.set_position(t as u64);
        }
    };
    write_whole(args.out.as_deref(), |out| {
        write_csv(
            &config,
            out,
            gold.as_mut().map(|g| g as &mut dyn Write),
            tick,
        )
        .map_err(std::io::Error::other)
    })?;
    if let Some(mut gold) = gold {
        gold.flush().map_err(|e| format!("--gold: {e}"))?;
    }
    bar.finish_and_clear();
    Ok(())
}
