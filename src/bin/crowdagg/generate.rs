//! `crowdagg generate`: seeded synthetic data from the Dawid-Skene generative model.

use std::io::Write;
use std::path::PathBuf;

use super::{AtomicFile, CliError, progress_bar, write_whole};

#[derive(clap::Args)]
pub(crate) struct GenerateArgs {
    /// Number of tasks.
    #[arg(long, value_name = "N")]
    tasks: usize,
    /// Workers in the pool (those drawn for no task are absent from the output).
    #[arg(long, value_name = "N")]
    workers: usize,
    /// Number of classes (labels `0`..N-1).
    #[arg(long, default_value_t = 2, value_name = "N")]
    classes: usize,
    /// Responses per task, drawn uniformly from this comma-separated list.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "3,5",
        value_name = "LIST"
    )]
    overlap: Vec<usize>,
    /// Seed of the random stream: same seed and sizes, same bytes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output file (default, or `-`: stdout). Written whole or not at all.
    #[arg(long, short, alias = "out", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write the true labels (CSV `task,label`) here, whole or not at all.
    #[arg(long, value_name = "FILE")]
    gold: Option<PathBuf>,
}

pub(crate) fn generate(args: GenerateArgs) -> Result<(), CliError> {
    use crowdagg::generate::{GeneratorConfig, write_csv};
    let max_overlap = args.overlap.iter().copied().max().unwrap_or(1).max(1);
    let config = GeneratorConfig::new(args.tasks, args.workers, args.classes)
        .overlap(args.overlap)
        .seed(args.seed);
    // Before any output is opened or written: a bad size is not an output error.
    config.check()?;
    let bar = progress_bar(
        args.tasks as u64,
        "generating {pos}/{len} tasks {wide_bar} {eta}",
    );
    let mut gold = args.gold.as_deref().map(AtomicFile::create).transpose()?;
    // About one progress update per 65 536 responses, whatever the overlap.
    let mask = (65_536 / max_overlap).max(1).next_power_of_two() - 1;
    let tick = |t: usize| {
        if t & mask == 0 {
            bar.set_position(t as u64);
        }
    };
    write_whole(args.output.as_deref(), |out| {
        write_csv(
            &config,
            out,
            gold.as_mut().map(|g| g.writer() as &mut dyn Write),
            tick,
        )
        .map_err(std::io::Error::other)
    })?;
    if let Some(gold) = gold {
        gold.commit()?;
    }
    bar.finish_and_clear();
    Ok(())
}
