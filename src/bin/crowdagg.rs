//! `crowdagg`: the command-line shell over the library.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use crowdagg::io::{ReadOptions, locate, read_gold, read_responses_with_progress, read_skills};
use crowdagg::methods::{METHODS, find_method};
use crowdagg::output::{write_csv, write_json};
use crowdagg::{DuplicatePolicy, FitInputs, Observer};
use indicatif::{ProgressBar, ProgressStyle};

#[path = "crowdagg/evaluate.rs"]
mod evaluate;
#[path = "crowdagg/generate.rs"]
mod generate;
#[path = "crowdagg/multilabel.rs"]
mod multilabel;
#[path = "crowdagg/toloka.rs"]
mod toloka;

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
    /// Run every method on the input and score it on gold labels: which method fits my data?
    Evaluate(evaluate::EvaluateArgs),
    /// Agreement metrics of a dataset (Krippendorff's alpha, consistency, uncertainty, …).
    Metrics(evaluate::MetricsArgs),
    /// Write a synthetic data set (Dawid-Skene generative model) as CSV `task,worker,label`.
    Generate(generate::GenerateArgs),
    /// Toloka aggregation API on exported pools (offline).
    #[command(subcommand)]
    Toloka(toloka::TolokaCommand),
    /// Serve Toloka's aggregation API offline from exported pool directories.
    #[cfg(feature = "server")]
    Serve(toloka::ServeArgs),
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
    /// Method: mv, gold-mv, wawa, zbs, wdo, ds, one-coin-ds (or the crowd-kit class name).
    #[arg(long, short)]
    method: String,
    /// A method parameter, `key=value` (repeatable), e.g. `--param n_iter=50`;
    /// `use_gold=true` fixes the gold tasks of `--gold` during the fit (ds, one-coin-ds).
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// Worker skills: CSV `worker,skill`, or Toloka UserSkill JSON / CSV `user_id,skill_id,value`.
    #[arg(long)]
    skills: Option<PathBuf>,
    /// Which skill to take from a file of Toloka user skills.
    #[arg(long)]
    skill_id: Option<String>,
    /// Gold labels (CSV `task,label`): the training target of gold-mv, fixed posteriors of ds
    /// with `--param use_gold=true`; the accuracy on gold tasks is printed to stderr.
    #[arg(long)]
    gold: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Output file (default, or `-`: stdout). Written whole or not at all.
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
    /// Print the time spent reading, fitting and writing to stderr.
    #[arg(long)]
    timings: bool,
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
        Command::Evaluate(args) => evaluate::evaluate(args),
        Command::Metrics(args) => evaluate::metrics(args),
        Command::Generate(args) => generate::generate(args),
        Command::Toloka(toloka::TolokaCommand::Aggregate(args)) => toloka::aggregate(args),
        #[cfg(feature = "server")]
        Command::Serve(args) => toloka::serve(args),
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
    let pairs = args
        .params
        .iter()
        .map(|p| {
            p.split_once('=')
                .ok_or_else(|| format!("--param {p:?}: expected KEY=VALUE"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if ["binary-relevance", "binaryrelevance"].contains(&args.method.to_ascii_lowercase().as_str())
    {
        let json = matches!(args.format, Format::Json);
        let bytes = multilabel::run(&args.input, &pairs, json)?;
        return write_whole(args.output.as_deref(), |out| out.write_all(&bytes));
    }
    let method = find_method(&args.method).ok_or_else(|| {
        let mut names: Vec<_> = METHODS.iter().map(|m| m.cli_name).collect();
        names.push("binary-relevance");
        format!(
            "unknown method {:?} (known: {})",
            args.method,
            names.join(", ")
        )
    })?;
    // `use_gold` belongs to the CLI, not to a method: it passes --gold to the fit.
    let mut use_gold = method.needs_gold;
    let mut method_pairs = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        if key == "use_gold" {
            use_gold = match value {
                "true" => true,
                "false" => false,
                _ => return Err(format!("use_gold={value}: expected true or false")),
            };
            if use_gold && !method.accepts_gold {
                return Err(format!("{} cannot use gold labels", method.cli_name));
            }
        } else {
            method_pairs.push((key, value));
        }
    }
    let aggregator = method.build(&method_pairs).map_err(|e| e.to_string())?;

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
    let (started, cpu_started) = (Instant::now(), crowdagg::timing::process_cpu_seconds());
    let bar = progress_bar(
        0,
        "reading {bytes}/{total_bytes} {wide_bar} {binary_bytes_per_sec}",
    );
    let data = read_responses_with_progress(&args.input, &options, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    let (read_time, read_cpu) = (
        started.elapsed(),
        crowdagg::timing::process_cpu_seconds() - cpu_started,
    );
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
    if use_gold && gold.is_none() {
        return Err(format!("{} needs --gold", method.cli_name));
    }
    // A header without rows: an empty result (as crowd-kit), said on stderr.
    if data.is_empty() {
        eprintln!(
            "crowdagg: note: {}: no responses (a header without rows): the result is empty",
            input_name(&args.input)
        );
    }
    // Gold that matches no task would score (or train on) nothing: the wrong file, or task ids
    // spelled differently.
    if let (Some(gold), false) = (&gold, data.is_empty()) {
        gold.check_overlap(&data)
            .map_err(|e| locate(e.into(), Some(gold), None).to_string())?;
    }

    let progress = Progress::new();
    let mut inputs = FitInputs::default().observer(&progress);
    if let Some(skills) = &skills {
        inputs = inputs.skills(skills);
    }
    if let (Some(gold), true) = (&gold, use_gold) {
        inputs = inputs.gold(gold);
    }
    let (fit_started, fit_cpu_started) = (Instant::now(), crowdagg::timing::process_cpu_seconds());
    let result = aggregator.aggregate_with(&data, inputs).map_err(|e| {
        let hint = cli_hint(&e);
        format!("{}{hint}", locate(e, gold.as_ref(), skills.as_ref()))
    })?;
    progress.finish();
    let (fit_time, fit_cpu) = (
        fit_started.elapsed(),
        crowdagg::timing::process_cpu_seconds() - fit_cpu_started,
    );

    if let (Some(gold), false) = (&gold, data.is_empty()) {
        let (accuracy, scored) = result.accuracy(&data, gold);
        eprintln!(
            "accuracy on gold: {accuracy:.4} ({scored} of {} gold tasks present in the data)",
            gold.len()
        );
    }
    let params = aggregator.params();
    let write_started = Instant::now();
    write_whole(args.output.as_deref(), |out| match args.format {
        Format::Csv => write_csv(out, &data, &result),
        Format::Json => write_json(out, &data, &result, aggregator.name(), &params),
    })?;
    if args.timings {
        let bytes = std::fs::metadata(&args.input).map_or(0, |m| m.len());
        let (read, fit) = (read_time.as_secs_f64(), fit_time.as_secs_f64());
        let iterations = result.report.iterations.max(1);
        eprintln!(
            "timings: responses={} tasks={} workers={} labels={} read_s={read:.3} read_cpu_s={read_cpu:.2} read_mb_s={:.0} read_answers_s={:.3e} fit_s={fit:.3} fit_cpu_s={fit_cpu:.2} iterations={} fit_s_per_iteration={:.4} write_s={:.3} total_s={:.3} total_cpu_s={:.2}",
            data.n_responses(),
            data.n_tasks(),
            data.n_workers(),
            data.n_labels(),
            bytes as f64 / 1e6 / read,
            data.n_responses() as f64 / read,
            result.report.iterations,
            fit / iterations as f64,
            write_started.elapsed().as_secs_f64(),
            started.elapsed().as_secs_f64(),
            crowdagg::timing::process_cpu_seconds() - cpu_started,
        );
    }
    Ok(())
}

/// How an input path is named in messages (`-` is standard input).
pub(crate) fn input_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        crowdagg::io::STDIN_NAME.to_string()
    } else {
        path.display().to_string()
    }
}

/// What the CLI adds to a library error: the library names its own inputs and parameters,
/// the CLI the flag that gives them.
pub(crate) fn cli_hint(error: &crowdagg::Error) -> &'static str {
    use crowdagg::{DataError, Error, SideInput};
    match error {
        Error::Data(DataError::MissingInput {
            input: SideInput::Skills,
            ..
        }) => " (give them with --skills FILE)",
        Error::Data(DataError::MissingInput {
            input: SideInput::Gold,
            ..
        }) => " (give them with --gold FILE)",
        Error::Data(DataError::SkillsLookLikeFractions { .. }) => {
            " (--param skill_scale=100, or --param skill_scale=1)"
        }
        _ => "",
    }
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub(crate) fn progress_bar(len: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// Writes to a temporary file renamed into place (or to stdout after the fit finished), so an
/// error never leaves partial output that looks complete.
pub(crate) fn write_whole(
    path: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), String> {
    // `-o -` means standard output, as for inputs (not a file called "-").
    match path.filter(|p| p.as_os_str() != "-") {
        None => {
            let stdout = std::io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            write(&mut out)
                .and_then(|()| out.flush())
                .or_else(|e| match e.kind() {
                    // The reader went away (`| head`): nothing left to say, as other tools.
                    std::io::ErrorKind::BrokenPipe => Ok(()),
                    _ => Err(format!("<stdout>: {e}")),
                })
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
