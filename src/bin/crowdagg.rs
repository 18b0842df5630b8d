//! `crowdagg`: the command-line shell over the library.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use crowdagg::io::{ReadOptions, read_gold, read_responses, read_skills};
use crowdagg::methods::{METHODS, find_method};
use crowdagg::output::{write_csv, write_json};
use crowdagg::{DuplicatePolicy, FitInputs, Observer};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser)]
#[command(name = "crowdagg", version, about = "Aggregate crowdsourced labels")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Aggregate responses (CSV/TSV with task, worker, label columns) into one label per task.
    Aggregate(Box<AggregateArgs>),
    /// List the methods and their parameters' defaults.
    Methods,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Duplicates {
    Keep,
    KeepLast,
    Reject,
}

#[derive(clap::Args)]
struct AggregateArgs {
    /// Method: mv, gold-mv, wawa, zbs, wdo (or the crowd-kit class name).
    #[arg(long, short)]
    method: String,
    /// A method parameter, `key=value` (repeatable), e.g. `--param n_iter=50`.
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// Worker skills: CSV `worker,skill`, or Toloka UserSkill JSON / CSV `user_id,skill_id,value`.
    #[arg(long)]
    skills: Option<PathBuf>,
    /// Which skill to take from a file of Toloka user skills.
    #[arg(long)]
    skill_id: Option<String>,
    /// Gold labels (CSV `task,label`): the training target of gold-mv; for other methods the
    /// accuracy on gold tasks is printed to stderr.
    #[arg(long)]
    gold: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Output file (default: stdout). Written whole or not at all.
    #[arg(long, short)]
    output: Option<PathBuf>,
    #[arg(long, default_value = "task")]
    task_column: String,
    #[arg(long, default_value = "worker")]
    worker_column: String,
    #[arg(long, default_value = "label")]
    label_column: String,
    /// Field delimiter (default: tab for .tsv/.tab files, else comma).
    #[arg(long)]
    delimiter: Option<char>,
    /// Several responses of one worker to one task: keep all (crowd-kit), keep the last, or fail.
    #[arg(long, value_enum, default_value = "keep")]
    duplicates: Duplicates,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Input file, or `-` for stdin.
    #[arg(default_value = "-")]
    input: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Aggregate(args) => aggregate(*args),
        Command::Methods => {
            for m in METHODS {
                let defaults = m
                    .build(&[])
                    .map(|a| {
                        a.params()
                            .iter()
                            .map(|(k, v)| {
                                format!("{k}={}", serde_json::to_string(v).unwrap_or_default())
                            })
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default();
                println!("{:<8} {:<24} {defaults}", m.cli_name, m.name);
            }
            Ok(())
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("crowdagg: error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn aggregate(args: AggregateArgs) -> Result<(), String> {
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| e.to_string())?;
    }
    let method = find_method(&args.method).ok_or_else(|| {
        let names: Vec<_> = METHODS.iter().map(|m| m.cli_name).collect();
        format!(
            "unknown method {:?} (known: {})",
            args.method,
            names.join(", ")
        )
    })?;
    let pairs = args
        .params
        .iter()
        .map(|p| {
            p.split_once('=')
                .ok_or_else(|| format!("--param {p:?}: expected KEY=VALUE"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let aggregator = method.build(&pairs).map_err(|e| e.to_string())?;

    let delimiter = match args.delimiter {
        Some(c) if c.is_ascii() => Some(c as u8),
        Some(c) => return Err(format!("--delimiter {c:?}: must be one ASCII character")),
        None => None,
    };
    let options = ReadOptions {
        task_column: args.task_column,
        worker_column: args.worker_column,
        label_column: args.label_column,
        delimiter,
        duplicates: match args.duplicates {
            Duplicates::Keep => DuplicatePolicy::Keep,
            Duplicates::KeepLast => DuplicatePolicy::KeepLast,
            Duplicates::Reject => DuplicatePolicy::Reject,
        },
    };
    let data = read_responses(&args.input, &options).map_err(|e| e.to_string())?;
    let gold = args
        .gold
        .as_deref()
        .map(|p| read_gold(p, &ReadOptions::default()))
        .transpose()
        .map_err(|e| e.to_string())?;
    let skills = args
        .skills
        .as_deref()
        .map(|p| read_skills(p, args.skill_id.as_deref()))
        .transpose()
        .map_err(|e| e.to_string())?;
    if method.needs_gold && gold.is_none() {
        return Err(format!("{} needs --gold", method.cli_name));
    }

    let progress = Progress::new();
    let mut inputs = FitInputs::default().observer(&progress);
    if let Some(skills) = &skills {
        inputs = inputs.skills(skills);
    }
    if let Some(gold) = &gold {
        if method.needs_gold {
            inputs = inputs.gold(gold);
        }
    }
    let result = aggregator
        .aggregate_with(&data, inputs)
        .map_err(|e| e.to_string())?;
    progress.finish();

    if let Some(gold) = &gold {
        let (accuracy, scored) = result.accuracy(&data, gold);
        eprintln!(
            "accuracy on gold: {accuracy:.4} ({scored} of {} gold tasks present in the data)",
            gold.len()
        );
    }
    let params = aggregator.params();
    write_whole(args.output.as_deref(), |out| match args.format {
        Format::Csv => write_csv(out, &data, &result),
        Format::Json => write_json(out, &data, &result, aggregator.name(), &params),
    })
}

/// Writes to a temporary file renamed into place (or to stdout after the fit finished), so an
/// error never leaves partial output that looks complete.
fn write_whole(
    path: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), String> {
    match path {
        None => {
            let stdout = std::io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            write(&mut out)
                .and_then(|()| out.flush())
                .map_err(|e| format!("<stdout>: {e}"))
        }
        Some(path) => {
            let mut tmp = path.as_os_str().to_owned();
            tmp.push(".partial");
            let tmp = PathBuf::from(tmp);
            let result = File::create(&tmp).and_then(|file| {
                let mut out = BufWriter::new(file);
                write(&mut out)?;
                out.flush()
            });
            result
                .and_then(|()| std::fs::rename(&tmp, path))
                .map_err(|e| {
                    let _ = std::fs::remove_file(&tmp);
                    format!("{}: {e}", path.display())
                })
        }
    }
}

/// A progress bar on stderr for fits that run longer than a second; indicatif draws nothing
/// when stderr is not a terminal.
struct Progress {
    start: Instant,
    bar: std::sync::OnceLock<ProgressBar>,
}

impl Progress {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            bar: std::sync::OnceLock::new(),
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Progress {
    fn observe(&self, iteration: usize, max_iterations: usize, objective: f64) {
        if self.bar.get().is_none() && self.start.elapsed() < Duration::from_secs(1) {
            return;
        }
        let bar = self.bar.get_or_init(|| {
            let bar = ProgressBar::new(max_iterations as u64);
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} iteration {pos}/{len} {wide_bar} {msg}")
            {
                bar.set_style(style);
            }
            bar
        });
        bar.set_position(iteration as u64);
        bar.set_message(format!("objective {objective:.6}"));
    }
}
