//! `crowdagg`: the command-line shell over the library.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use crowdagg::io::{
    ReadOptions, delimiter_for, locate, read_gold, read_label_counts_with_progress,
    read_responses_with_progress, read_skills,
};
use crowdagg::methods::{METHODS, Method, find_method};
use crowdagg::output::{
    has_worker_model, write_csv, write_json, write_probas_csv, write_workers_csv,
};
use crowdagg::responses::normalize_label;
use crowdagg::{
    Action, Aggregator, DuplicatePolicy, FitInputs, Gold, IterationState, LabelCounts, Observer,
    Responses,
};
use error::CliError;
use indicatif::{ProgressBar, ProgressStyle};
use writeback::EarlyWriteback;

#[path = "crowdagg/allocator.rs"]
mod allocator;
#[path = "crowdagg/convert.rs"]
mod convert;
#[path = "crowdagg/error.rs"]
mod error;
#[path = "crowdagg/evaluate.rs"]
mod evaluate;
#[path = "crowdagg/families.rs"]
mod families;
#[path = "crowdagg/generate.rs"]
mod generate;
#[path = "crowdagg/multilabel.rs"]
mod multilabel;
#[path = "crowdagg/staged_dir.rs"]
mod staged_dir;
#[path = "crowdagg/toloka.rs"]
mod toloka;
#[path = "crowdagg/writeback.rs"]
mod writeback;

/// mimalloc for all but the largest blocks (see `allocator.rs`).
#[global_allocator]
static ALLOCATOR: allocator::Allocator = allocator::Allocator;

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
    /// List the methods with a one-line description and their parameters' defaults.
    Methods,
    /// Run every method on the input and score it on gold labels: which method fits my data?
    Evaluate(evaluate::EvaluateArgs),
    /// Agreement metrics of a dataset (Krippendorff's alpha, consistency, uncertainty, …).
    Metrics(evaluate::MetricsArgs),
    /// Write a synthetic data set (Dawid-Skene generative model) as CSV `task,worker,label`.
    Generate(generate::GenerateArgs),
    /// Convert a response table between CSV/TSV and Parquet (by the names' extensions).
    Convert(convert::ConvertArgs),
    /// Toloka aggregation API on exported pools (offline).
    #[command(subcommand)]
    Toloka(toloka::TolokaCommand),
    /// Serve Toloka's aggregation API offline from exported pool directories.
    ///
    /// Every request needs an `Authorization` header, as on Toloka; any token is accepted
    /// (e.g. `Authorization: OAuth x`, or toloka-kit's `TolokaClient(token="x", url=…)`).
    /// Without one the server answers 401 AUTHENTICATION_ERROR.
    #[cfg(feature = "server")]
    Serve(toloka::ServeArgs),
    /// Needs the `server` feature, which this build lacks.
    #[cfg(not(feature = "server"))]
    #[command(hide = true, disable_help_flag = true)]
    Serve {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Duplicates {
    Keep,
    KeepLast,
    Reject,
}

/// How response (and gold) tables are read: shared by aggregate, evaluate and metrics.
#[derive(clap::Args)]
pub(crate) struct InputArgs {
    /// Header name of the task column (default: task). Also used for --gold files whose
    /// header has it (else their `task` column).
    #[arg(long, value_name = "NAME")]
    task_column: Option<String>,
    /// Header name of the worker column (default: worker).
    #[arg(long, value_name = "NAME")]
    worker_column: Option<String>,
    /// Header name of the label column (default: label). Also used for --gold files whose
    /// header has it (else their `label` column).
    #[arg(long, value_name = "NAME")]
    label_column: Option<String>,
    /// Field delimiter of the input and --gold files: one ASCII character, or `tab` (also
    /// `\t`). Default: tab for .tsv/.tab files, else comma.
    #[arg(long, value_name = "C", value_parser = parse_delimiter)]
    delimiter: Option<u8>,
    /// Several responses of one worker to one task: keep all (crowd-kit), keep the last, or
    /// fail (default: keep).
    #[arg(long, value_enum, value_name = "POLICY")]
    duplicates: Option<Duplicates>,
    /// Trim surrounding whitespace from labels and lowercase them (responses and gold), so
    /// that `Cat`, `cat` and ` cat` are one class. Without it such labels are separate classes
    /// and a warning names them.
    #[arg(long)]
    normalize_labels: bool,
}

/// `--delimiter`: one ASCII character, `tab` or `\t`.
fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text {
        "tab" | "TAB" | "\\t" | "\t" => Ok(b'\t'),
        _ => {
            let mut chars = text.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii() => Ok(c as u8),
                _ => Err(format!(
                    "expected one ASCII character or `tab`, got {text:?}"
                )),
            }
        }
    }
}

impl InputArgs {
    pub(crate) fn read_options(&self) -> ReadOptions {
        let defaults = ReadOptions::default();
        ReadOptions {
            task_column: self.task_column.clone().unwrap_or(defaults.task_column),
            worker_column: self.worker_column.clone().unwrap_or(defaults.worker_column),
            label_column: self.label_column.clone().unwrap_or(defaults.label_column),
            delimiter: self.delimiter,
            duplicates: match self.duplicates.unwrap_or(Duplicates::Keep) {
                Duplicates::Keep => DuplicatePolicy::Keep,
                Duplicates::KeepLast => DuplicatePolicy::KeepLast,
                Duplicates::Reject => DuplicatePolicy::Reject,
            },
        }
    }

    /// Reads the responses (with a progress bar), normalises their labels when asked, and
    /// warns about labels that differ only by case or whitespace otherwise.
    pub(crate) fn read_responses(&self, input: &Path) -> Result<Responses, CliError> {
        let data = with_progress_bar(input, |progress| {
            read_responses_with_progress(input, &self.read_options(), progress)
        })?;
        if self.normalize_labels {
            return data
                .map_labels(normalize_label)
                .map_err(|e| CliError::about("--normalize-labels", e));
        }
        warn_label_variants(&data.label_variants());
        Ok(data)
    }

    /// Reads the label counts of the responses (with a progress bar), warning as
    /// [`InputArgs::read_responses`] does; `None` where counting does not serve (see
    /// [`read_label_counts_with_progress`]). Not with `--normalize-labels`.
    fn read_label_counts(&self, input: &Path) -> Result<Option<LabelCounts>, CliError> {
        debug_assert!(!self.normalize_labels);
        let counts = with_progress_bar(input, |progress| {
            read_label_counts_with_progress(input, &self.read_options(), progress)
        })?;
        if let Some(counts) = &counts {
            warn_label_variants(&counts.label_variants());
        }
        Ok(counts)
    }

    /// Reads gold labels with the delimiter (tab for a .tsv/.tab gold file whatever
    /// `--delimiter` says) and, where present, the column names of the responses, normalised as
    /// they are; checks they share tasks and labels with `data`.
    pub(crate) fn read_gold(&self, path: &Path, data: &Responses) -> Result<Gold, CliError> {
        let mut options = self.read_options();
        if delimiter_for(path) == b'\t' {
            options.delimiter = Some(b'\t');
        }
        let mut gold = read_gold(path, &options)?;
        if self.normalize_labels {
            gold = gold.map_labels(normalize_label);
        }
        // Gold that matches no task, or none of the labels, would score (or train on) nothing:
        // the wrong file, task ids spelled differently, or another vocabulary. An empty table
        // has nothing to match: its result is empty.
        if !data.is_empty() {
            gold.check_overlap(data)
                .map_err(|e| locate(e.into(), Some(&gold), None))?;
            gold.check_labels(data)
                .map_err(|e| CliError::about(path.display(), e))?;
        }
        Ok(gold)
    }
}

/// Reading a terminal waits for typing: say so, rather than hang silently.
pub(crate) fn note_stdin(input: &Path) {
    use std::io::IsTerminal;
    if input.as_os_str() == "-" && std::io::stdin().is_terminal() {
        eprintln!(
            "crowdagg: reading responses (CSV with a header row, e.g. task,worker,label) from standard input; end with Ctrl-D, or give a file name"
        );
    }
}

/// Runs `read` with a progress bar of the bytes read (after a note when reading a terminal).
fn with_progress_bar<T>(
    input: &Path,
    read: impl FnOnce(&mut dyn FnMut(u64, u64)) -> Result<T, crowdagg::Error>,
) -> Result<T, CliError> {
    note_stdin(input);
    let bar = progress_bar(
        0,
        "reading {bytes}/{total_bytes} {wide_bar} {binary_bytes_per_sec}",
    );
    let read = read(&mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    Ok(read)
}

/// Warns about groups of labels that differ only by case or surrounding whitespace.
fn warn_label_variants(groups: &[Vec<&str>]) {
    if groups.is_empty() {
        return;
    }
    let shown: Vec<String> = groups
        .iter()
        .take(3)
        .map(|g| {
            let names: Vec<String> = g.iter().map(|l| format!("{l:?}")).collect();
            format!("{{{}}}", names.join(", "))
        })
        .collect();
    eprintln!(
        "crowdagg: warning: {} group{} of labels differ only by case or surrounding whitespace and count as different classes: {}{}; --normalize-labels merges them",
        groups.len(),
        if groups.len() == 1 { "" } else { "s" },
        shown.join(", "),
        if groups.len() > 3 { ", …" } else { "" }
    );
}

/// Reads `--skills` (with `--skill-id`) when given: `aggregate`, its families and `evaluate`
/// take the same two options and report a bad file the same way.
pub(crate) fn read_optional_skills(
    path: Option<&Path>,
    skill_id: Option<&str>,
) -> Result<Option<crowdagg::Skills>, CliError> {
    Ok(path.map(|p| read_skills(p, skill_id)).transpose()?)
}

#[derive(clap::Args)]
struct AggregateArgs {
    /// Method: mv, gold-mv, wawa, zbs, wdo, ds, one-coin-ds, glad, mace, mmsr, kos,
    /// binary-relevance (or the crowd-kit class name); `crowdagg methods` describes them.
    /// Pairwise comparisons (`worker,left,right,label`, label = the preferred item): bt,
    /// noisy-bt. Texts (`task,worker,text`): rover. Outputs with embeddings
    /// (`task,worker,output,embedding`, the embedding a JSON array or space-separated
    /// numbers): closest-to-average, rasa, hrrasa, text-rasa, text-hrrasa. Segmentation masks
    /// (`task,worker,mask`, mask = a PNG file relative to the table, nonzero colour = set):
    /// seg-mv, seg-rasa, seg-em, which write one PNG per task and an index into the
    /// `--output` directory.
    #[arg(long, short)]
    method: String,
    /// A method parameter, `key=value` (repeatable), e.g. `--param n_iter=50`
    /// (`use_gold=true` is also accepted for `--use-gold`).
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// Fix the gold tasks of `--gold` to their labels during the fit (ds, one-coin-ds).
    #[arg(long)]
    use_gold: bool,
    /// Worker skills: CSV `worker,skill`, or Toloka UserSkill JSON / CSV `user_id,skill_id,value`.
    #[arg(long, value_name = "FILE")]
    skills: Option<PathBuf>,
    /// Which skill to take from a file of Toloka user skills.
    #[arg(long, value_name = "ID")]
    skill_id: Option<String>,
    /// Gold labels (CSV/TSV `task,label`): the training target of gold-mv, fixed posteriors of
    /// ds with `--use-gold`; the accuracy on gold tasks is printed to stderr.
    #[arg(long, value_name = "FILE")]
    gold: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Output file (default, or `-`: stdout). Written whole or not at all.
    #[arg(long, short, alias = "out", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write the per-label probabilities, CSV `task,<label>,…` (crowd-kit's `probas_`).
    #[arg(long, value_name = "FILE")]
    probas: Option<PathBuf>,
    /// Also write the worker model: CSV `worker,skill`, or `worker,true_label,label,probability`
    /// for confusion-matrix methods (crowd-kit's `skills_` / `errors_`).
    #[arg(long, value_name = "FILE")]
    workers: Option<PathBuf>,
    #[command(flatten)]
    input_args: InputArgs,
    /// Known true embeddings (CSV/TSV `task,embedding`) for the embedding methods: they
    /// replace the aggregated embedding of their tasks (crowd-kit's `true_embeddings`).
    #[arg(long, value_name = "FILE")]
    true_embeddings: Option<PathBuf>,
    /// Header name of the embedding column of the embedding methods (default: embedding).
    #[arg(long, value_name = "NAME")]
    embedding_column: Option<String>,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// Print the time spent reading, fitting and writing to stderr.
    #[arg(long)]
    timings: bool,
    /// Input file, or `-` for stdin.
    #[arg(default_value = "-")]
    input: PathBuf,
}

impl AggregateArgs {
    /// Refuses the options of label aggregation that `method` has no use for: gold, skills,
    /// the side tables, label normalisation, then `more` (in the order listed; the first one
    /// given is named, with `what` the method reads and takes instead).
    fn refuse_label_options(
        &self,
        more: &[(&str, bool)],
        method: &str,
        what: &str,
    ) -> Result<(), CliError> {
        let (gold_and_skills, normalize) = (
            [
                ("--gold", self.gold.is_some()),
                ("--skills", self.skills.is_some()),
                ("--skill-id", self.skill_id.is_some()),
                ("--probas", self.probas.is_some()),
                ("--workers", self.workers.is_some()),
            ],
            ("--normalize-labels", self.input_args.normalize_labels),
        );
        let mut unused = gold_and_skills.iter().chain(more).chain([&normalize]);
        match unused.find(|(_, given)| *given) {
            Some((option, _)) => Err(CliError::Usage(format!(
                "{method} does not use {option} ({what})"
            ))),
            None => Ok(()),
        }
    }
}

/// One line per method for `crowdagg methods`.
fn describe(cli_name: &str) -> &'static str {
    match cli_name {
        "mv" => "most votes, optionally weighted by --skills",
        "gold-mv" => "votes weighted by each worker's accuracy on --gold tasks",
        "wawa" => "votes weighted by agreement with the majority vote",
        "zbs" => "skills learnt by repeated weighted voting",
        "wdo" => "Toloka's aggregation by skill (needs --skills)",
        "ds" => "Dawid-Skene: EM over per-worker confusion matrices and class priors",
        "one-coin-ds" => "Dawid-Skene with one accuracy per worker",
        "glad" => "worker ability × task difficulty (EM)",
        "mace" => "spammer/knower mixture per worker",
        "mmsr" => "skills from the agreement matrix (mean-subsequence-reduced), weighted vote",
        "kos" => "binary message passing between tasks and workers",
        "binary-relevance" => {
            "multi-label answers (label sets joined by `separator`) aggregated per class"
        }
        _ => "",
    }
}

/// `key=value` pairs, values as JSON.
fn defaults(params: &crowdagg::methods::ParamReport) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn list_methods() {
    let line = |cli: &str, name: &str, description: &str, params: &str| {
        println!("{cli:<16} {name:<22} {description}");
        if !params.is_empty() {
            println!("{:<16} {:<22} params: {params}", "", "");
        }
    };
    for m in METHODS {
        let mut params = defaults(&m.defaults());
        if m.requires.label_sets {
            params.push_str(" (other params go to the inner method)");
        }
        line(m.cli_name, m.name, describe(m.cli_name), &params);
    }
    for (cli, name, method, description) in families::FAMILY_METHODS {
        line(cli, name, description, &method.defaults());
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Aggregate(args) => aggregate(*args).map(|()| exit_now()),
        Command::Methods => {
            list_methods();
            Ok(())
        }
        Command::Evaluate(args) => evaluate::evaluate(args),
        Command::Metrics(args) => evaluate::metrics(args),
        Command::Generate(args) => generate::generate(args),
        Command::Convert(args) => convert::convert(args),
        Command::Toloka(toloka::TolokaCommand::Aggregate(args)) => toloka::aggregate(args),
        #[cfg(feature = "server")]
        Command::Serve(args) => toloka::serve(args),
        #[cfg(not(feature = "server"))]
        Command::Serve { .. } => Err(CliError::Usage(
            "`serve` needs the `server` feature, which this build lacks: install with `cargo install crowdagg --features server` (or run `cargo run --features server -- serve …`)"
                .into(),
        )),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("crowdagg: error: {}", in_cli_words(&error.to_string()));
            ExitCode::FAILURE
        }
    }
}

/// Ends a successful `aggregate` at once: its outputs are written, flushed and renamed into
/// place, and the process's exit hands all its memory back at once, where the allocator's
/// exit handler would first return its pages one range at a time (at 10⁶ responses, a
/// hundred or more `madvise` calls, each one flushing the other threads' view of the pages).
#[cfg(unix)]
fn exit_now() {
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: `_exit` ends the process without running exit handlers; nothing is left to do
    // in this one (outputs committed, standard streams flushed above, no child processes).
    unsafe { libc::_exit(0) }
}

#[cfg(not(unix))]
fn exit_now() {}

/// The library's hints in command-line words: the options and commands that do what they say.
fn in_cli_words(message: &str) -> String {
    let mut text = message.replace(
        "this is a Toloka results export: read it as one (io::read_toloka_tsv)",
        "this is a Toloka results export: aggregate it with `crowdagg toloka aggregate --pool DIR` (DIR holding it as assignments.tsv)",
    );
    if let Some(at) = text.find(": set the delimiter to ") {
        let start = at + ": set the delimiter to ".len();
        // `tab`, or one character in quotes (which may itself be `;` or `)`).
        let end = if text[start..].starts_with('\'') {
            text[start..]
                .char_indices()
                .nth(3)
                .map_or(text.len(), |(n, _)| start + n)
        } else {
            text[start..]
                .find([')', ';'])
                .map_or(text.len(), |n| start + n)
        };
        let delimiter = text[start..end].to_string();
        text.replace_range(
            at..end,
            &format!(": set the delimiter (--delimiter {delimiter})"),
        );
    }
    text
}

/// `-m binary-relevance`: the options it honours run it; the ones it has no use for are refused.
fn aggregate_multilabel(
    args: &AggregateArgs,
    method: &Method,
    pairs: &[(&str, &str)],
) -> Result<(), CliError> {
    args.refuse_label_options(
        &[],
        method.cli_name,
        "it aggregates label sets, with options --param, --format, --output, --*-column, --delimiter, --duplicates, --threads, --timings",
    )?;
    let started = Instant::now();
    note_stdin(&args.input);
    let json = matches!(args.format, Format::Json);
    let (bytes, times) = multilabel::run(
        method,
        &args.input,
        pairs,
        &args.input_args.read_options(),
        json,
    )?;
    let write_started = Instant::now();
    write_whole(args.output.as_deref(), |out| out.write_all(&bytes))?;
    if args.timings {
        eprintln!(
            "timings: read_s={:.3} fit_s={:.3} write_s={:.3} total_s={:.3}",
            times.0.as_secs_f64(),
            times.1.as_secs_f64(),
            write_started.elapsed().as_secs_f64(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(())
}

/// The pairwise methods (`worker,left,right,label` input, item scores out).
#[derive(Debug, Clone, Copy)]
enum PairwiseMethod {
    BradleyTerry,
    NoisyBradleyTerry,
}

impl PairwiseMethod {
    /// By CLI name (`bt`, `noisy-bt`) or crowd-kit class name, case-insensitive.
    fn find(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "bt" | "bradleyterry" => Some(Self::BradleyTerry),
            "noisy-bt" | "noisybradleyterry" => Some(Self::NoisyBradleyTerry),
            _ => None,
        }
    }
}

/// `-m bt|noisy-bt`: pairwise comparisons in, item scores out (CSV `item,score`, or JSON with
/// crowd-kit's `scores`, `biases`, `skills`).
fn aggregate_pairwise(
    args: &AggregateArgs,
    method: PairwiseMethod,
    pairs: &[(&str, &str)],
) -> Result<(), CliError> {
    use crowdagg::io::{PairwiseReadOptions, read_pairwise};
    use crowdagg::output::{write_pairwise_csv, write_pairwise_json};
    use crowdagg::{BradleyTerryParams, NoisyBradleyTerryParams, PairwiseAggregator, Params};
    args.refuse_label_options(
        &[
            ("--task-column", args.input_args.task_column.is_some()),
            ("--duplicates", args.input_args.duplicates.is_some()),
        ],
        &args.method,
        "it reads worker,left,right,label comparisons, with options --param, --format, --output, --worker-column, --label-column, --delimiter, --threads, --timings",
    )?;
    let aggregator: Box<dyn PairwiseAggregator> = match method {
        PairwiseMethod::BradleyTerry => {
            Box::new(BradleyTerryParams::from_pairs(pairs.iter().copied())?)
        }
        PairwiseMethod::NoisyBradleyTerry => {
            Box::new(NoisyBradleyTerryParams::from_pairs(pairs.iter().copied())?)
        }
    };
    let defaults = PairwiseReadOptions::default();
    let options = PairwiseReadOptions {
        worker_column: args
            .input_args
            .worker_column
            .clone()
            .unwrap_or(defaults.worker_column),
        label_column: args
            .input_args
            .label_column
            .clone()
            .unwrap_or(defaults.label_column),
        delimiter: args.input_args.delimiter,
        ..defaults
    };
    let started = Instant::now();
    note_stdin(&args.input);
    let data = read_pairwise(&args.input, &options)?;
    let read = started.elapsed();
    let fit = aggregator.fit(&data)?;
    let fitted = started.elapsed();
    let params = aggregator.params();
    write_whole(args.output.as_deref(), |out| match args.format {
        Format::Csv => write_pairwise_csv(out, &data, &fit),
        Format::Json => write_pairwise_json(out, &data, &fit, aggregator.name(), &params),
    })?;
    if args.timings {
        eprintln!(
            "timings: comparisons={} items={} workers={} read_s={:.3} fit_s={:.3} iterations={} total_s={:.3}",
            data.len(),
            data.n_items(),
            data.n_workers(),
            read.as_secs_f64(),
            (fitted - read).as_secs_f64(),
            fit.report.iterations,
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(())
}

fn aggregate(args: AggregateArgs) -> Result<(), CliError> {
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| CliError::Usage(format!("--threads {n}: {e}")))?;
    }
    let pairs = args
        .params
        .iter()
        .map(|p| {
            p.split_once('=')
                .ok_or_else(|| CliError::Usage(format!("--param {p:?}: expected KEY=VALUE")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(method) = families::FamilyMethod::find(&args.method) {
        return Ok(families::aggregate_family(&args, method, &pairs)?);
    }
    for (option, given) in [
        ("--true-embeddings", args.true_embeddings.is_some()),
        ("--embedding-column", args.embedding_column.is_some()),
    ] {
        if given {
            return Err(CliError::Usage(format!(
                "{} does not use {option} (an option of the embedding methods)",
                args.method
            )));
        }
    }
    if let Some(method) = find_method(&args.method).filter(|m| m.requires.label_sets) {
        return aggregate_multilabel(&args, method, &pairs);
    }
    if let Some(method) = PairwiseMethod::find(&args.method) {
        return aggregate_pairwise(&args, method, &pairs);
    }
    Job::new(&args, pairs)?.run(&args)
}

/// `aggregate`'s arguments validated into what to run, before any input is read: the method,
/// its checked parameters and whether the gold labels enter the fit.
struct Job {
    method: &'static Method,
    aggregator: Box<dyn Aggregator>,
    use_gold: bool,
}

impl Job {
    fn new(args: &AggregateArgs, pairs: Vec<(&str, &str)>) -> Result<Self, CliError> {
        let method = find_method(&args.method).ok_or_else(|| {
            let names: Vec<_> = METHODS.iter().map(|m| m.cli_name).collect();
            CliError::Usage(format!(
                "unknown method {:?} (known: {})",
                args.method,
                names.join(", ")
            ))
        })?;
        // `use_gold` belongs to the CLI, not to a method: it passes --gold to the fit. The
        // `--param use_gold=…` spelling is an alias of `--use-gold` (the last one given wins).
        let mut use_gold = args.use_gold;
        let mut method_pairs = Vec::with_capacity(pairs.len());
        for (key, value) in pairs {
            if key == "use_gold" {
                use_gold = match value {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(CliError::Usage(format!(
                            "use_gold={value}: expected true or false"
                        )));
                    }
                };
            } else {
                method_pairs.push((key, value));
            }
        }
        let aggregator = method.build(&method_pairs)?;
        let needs = aggregator.requirements();
        if use_gold && !needs.gold.accepted() {
            return Err(CliError::Usage(format!(
                "{} cannot use gold labels",
                method.cli_name
            )));
        }
        Ok(Self {
            method,
            aggregator,
            use_gold: use_gold || needs.gold.required(),
        })
    }

    /// Reads the inputs, fits, writes the outputs.
    fn run(self, args: &AggregateArgs) -> Result<(), CliError> {
        let Self {
            method,
            aggregator,
            use_gold,
        } = self;
        let mut clock = Stopwatch::start(args.timings);
        if counts_suffice(method, args, use_gold)
            && let Some(counts) = args.input_args.read_label_counts(&args.input)?
        {
            clock.read = clock.lap();
            return vote_from_counts(args, counts, clock);
        }
        let data = args.input_args.read_responses(&args.input)?;
        clock.read = clock.lap();
        let gold = args
            .gold
            .as_deref()
            .map(|p| args.input_args.read_gold(p, &data))
            .transpose()?;
        let skills = read_optional_skills(args.skills.as_deref(), args.skill_id.as_deref())?;
        if use_gold && gold.is_none() {
            return Err(CliError::Usage(format!("{} needs --gold", method.cli_name)));
        }
        // A header without rows: an empty result (as crowd-kit), said on stderr.
        if data.is_empty() {
            eprintln!(
                "crowdagg: note: {}: no responses (a header without rows): the result is empty",
                input_name(&args.input)
            );
        }

        let progress = Progress::new();
        let mut inputs = FitInputs::default().observer(&progress);
        // A CSV of labels and confidences alone: what the fit computes only to report it
        // (probabilities of the votes, majority vote's agreement skills) is left out.
        let csv =
            matches!(args.format, Format::Csv) && !convert::wants_parquet(args.output.as_deref());
        if csv && args.probas.is_none() && args.workers.is_none() {
            inputs = inputs.labels_only();
        }
        if let Some(skills) = &skills {
            inputs = inputs.skills(skills);
        }
        if let (Some(gold), true) = (&gold, use_gold) {
            inputs = inputs.gold(gold);
        }
        clock.lap();
        let result = aggregator.fit_checked(&data, inputs).map_err(|e| {
            let hint = cli_hint(&e);
            CliError::hinted(locate(e, gold.as_ref(), skills.as_ref()), hint)
        })?;
        progress.finish();
        clock.fit = clock.lap();
        // Refuse before writing anything: no output at all rather than some of it.
        if args.probas.is_some() && result.probabilities.is_none() {
            return Err(CliError::Usage(format!(
                "--probas: {} has no per-label probabilities{}",
                method.cli_name,
                if result.scores.is_some() {
                    " (its scores are in the --format json output)"
                } else {
                    ""
                }
            )));
        }
        if args.workers.is_some() && !has_worker_model(&result) {
            return Err(CliError::Usage(format!(
                "--workers: {} has no worker model (skills or confusion matrices)",
                method.cli_name
            )));
        }

        if let (Some(gold), false) = (&gold, data.is_empty()) {
            let (accuracy, scored) = result.accuracy(&data, gold);
            eprintln!(
                "accuracy on gold: {accuracy:.4} ({scored} of {} gold tasks present in the data)",
                gold.len()
            );
        }
        let params = aggregator.params();
        clock.lap();
        // The side tables are written first and renamed into place only after the main output
        // succeeded: a failure anywhere leaves none of the files (dropped ones are removed).
        let mut side = Vec::new();
        if let Some(path) = &args.probas {
            side.push(written(path, |out| write_probas_csv(out, &data, &result))?);
        }
        if let Some(path) = &args.workers {
            side.push(match convert::wants_parquet(Some(path)) {
                true => written(path, |out| convert::write_workers(out, &data, &result))?,
                false => written(path, |out| write_workers_csv(out, &data, &result))?,
            });
        }
        write_whole(args.output.as_deref(), |out| match args.format {
            _ if convert::wants_parquet(args.output.as_deref()) => {
                convert::write_results(out, &data, &result)
            }
            Format::Csv => write_csv(out, &data, &result),
            Format::Json => write_json(out, &data, &result, aggregator.name(), &params),
        })?;
        for file in side {
            file.commit()?;
        }
        if args.timings {
            let sizes = Sizes {
                responses: data.n_responses(),
                tasks: data.n_tasks(),
                workers: Some(data.n_workers()),
                labels: data.n_labels(),
            };
            clock.print(&args.input, sizes, result.report.iterations);
        }
        // The process ends next: its exit returns the tables' memory at once, where dropping
        // them would unmap them one by one while the thread pool is still alive (each unmap
        // interrupting the other threads to flush their view of the pages).
        std::mem::forget(data);
        std::mem::forget(result);
        Ok(())
    }
}

/// Whether `aggregate` needs no more of the responses than how often each task got each label:
/// an unweighted majority vote whose output is labels and confidences alone (a CSV without
/// `--probas`, `--workers` or `--gold`), of the labels as they are. It then asks for
/// [`LabelCounts`] (no table of rows, no task index; the same output), which the library
/// declines for inputs it cannot count (Parquet, another duplicate policy, ...). Not for
/// stdin, which it declines too, but only after the note on reading a terminal, which reading
/// the responses would give again.
fn counts_suffice(method: &Method, args: &AggregateArgs, use_gold: bool) -> bool {
    method.cli_name == "mv"
        && matches!(args.format, Format::Csv)
        && !convert::wants_parquet(args.output.as_deref())
        && args.probas.is_none()
        && args.workers.is_none()
        && args.gold.is_none()
        && !use_gold
        && args.skills.is_none()
        && !args.input_args.normalize_labels
        && args.input.as_os_str() != "-"
}

/// `aggregate -m mv` where [`counts_suffice`] and the file's label counts were read (`clock`
/// since the start): votes, writes the CSV.
fn vote_from_counts(
    args: &AggregateArgs,
    counts: LabelCounts,
    mut clock: Stopwatch,
) -> Result<(), CliError> {
    // Never empty: a header without rows is not counted, and its responses' read says so.
    let result = crowdagg::MajorityVote::default().aggregate_counts(&counts, true);
    clock.fit = clock.lap();
    write_whole(args.output.as_deref(), |out| {
        write_csv(out, &counts, &result)
    })?;
    if args.timings {
        // Label counts keep no workers: the line has no `workers=`.
        let sizes = Sizes {
            responses: counts.n_responses(),
            tasks: counts.n_tasks(),
            workers: None,
            labels: counts.n_labels(),
        };
        clock.print(&args.input, sizes, result.report.iterations);
    }
    // As `Job::run`: the process's exit returns the tables' memory at once.
    std::mem::forget(counts);
    std::mem::forget(result);
    Ok(())
}

/// Wall and CPU time of a run and of its read and fit, for `--timings`. CPU time is read from
/// /proc (a file opened and parsed each time): only when timings are asked for.
struct Stopwatch {
    cpu: bool,
    started: (Instant, f64),
    /// When the phase running started.
    phase: (Instant, f64),
    read: (Duration, f64),
    fit: (Duration, f64),
}

impl Stopwatch {
    fn start(cpu: bool) -> Self {
        let now = Self::now_with(cpu);
        Self {
            cpu,
            started: now,
            phase: now,
            read: (Duration::ZERO, 0.0),
            fit: (Duration::ZERO, 0.0),
        }
    }

    fn now(&self) -> (Instant, f64) {
        Self::now_with(self.cpu)
    }

    /// The time, and the process's CPU seconds if `cpu` (else 0).
    fn now_with(cpu: bool) -> (Instant, f64) {
        let cpu = match cpu {
            true => crowdagg::timing::process_cpu_seconds(),
            false => 0.0,
        };
        (Instant::now(), cpu)
    }

    /// The wall and CPU time of the phase running, which ends; the next starts.
    fn lap(&mut self) -> (Duration, f64) {
        let (then, now) = (self.phase, self.now());
        self.phase = now;
        (now.0 - then.0, now.1 - then.1)
    }

    /// The `--timings` line on stderr, the phase running being the write.
    fn print(&self, input: &Path, sizes: Sizes, iterations: usize) {
        let bytes = std::fs::metadata(input).map_or(0, |m| m.len());
        let ((read, read_cpu), (fit, fit_cpu)) = (self.read, self.fit);
        let (read, fit) = (read.as_secs_f64(), fit.as_secs_f64());
        let now = self.now();
        let write = (now.0 - self.phase.0).as_secs_f64();
        let (total, total_cpu) = (
            (now.0 - self.started.0).as_secs_f64(),
            now.1 - self.started.1,
        );
        let Sizes {
            responses,
            tasks,
            workers,
            labels,
        } = sizes;
        let workers = workers.map_or(String::new(), |w| format!(" workers={w}"));
        eprintln!(
            "timings: responses={responses} tasks={tasks}{workers} labels={labels} read_s={read:.3} read_cpu_s={read_cpu:.2} read_mb_s={:.0} read_answers_s={:.3e} fit_s={fit:.3} fit_cpu_s={fit_cpu:.2} iterations={iterations} fit_s_per_iteration={:.4} write_s={write:.3} total_s={total:.3} total_cpu_s={total_cpu:.2}",
            bytes as f64 / 1e6 / read,
            responses as f64 / read,
            fit / iterations.max(1) as f64,
        );
    }
}

/// The sizes `--timings` reports of the data read.
struct Sizes {
    responses: usize,
    tasks: usize,
    /// `None` when not counted.
    workers: Option<usize>,
    labels: usize,
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
) -> Result<(), CliError> {
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
                    _ => Err(CliError::Io(format!("<stdout>: {e}"))),
                })
        }
        Some(path) => write_file(path, write),
    }
}

/// A file written whole or not at all: `<path>.partial` renamed into place by
/// [`AtomicFile::commit`], removed when dropped uncommitted (an error on any path). A path
/// that exists and is not a regular file (`/dev/null`, a FIFO) is written directly: renaming
/// over a device would replace it.
pub(crate) struct AtomicFile {
    path: PathBuf,
    /// `None` when writing directly.
    tmp: Option<PathBuf>,
    out: Option<BufWriter<EarlyWriteback>>,
}

impl AtomicFile {
    pub(crate) fn create(path: &Path) -> Result<Self, CliError> {
        let special = std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir());
        let tmp = (!special).then(|| {
            let mut tmp = path.as_os_str().to_owned();
            tmp.push(".partial");
            PathBuf::from(tmp)
        });
        // Registered before it exists: a signal between the creation and the registration
        // would leave the temporary file behind.
        if let Some(tmp) = &tmp {
            interrupt::remove_on_signal(tmp, true);
        }
        let file = File::create(tmp.as_deref().unwrap_or(path)).map_err(|e| {
            if let Some(tmp) = &tmp {
                interrupt::remove_on_signal(tmp, false);
            }
            CliError::Io(format!("{}: {e}", path.display()))
        })?;
        // Written back as it is written when it is to replace a file (the rename over it would
        // write it back itself, see `writeback.rs`); a new file is left to the kernel's own time.
        // (A path holding a regular file is never special: it is written through `tmp`.)
        let replaces = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file());
        let out = BufWriter::new(EarlyWriteback::new(file, replaces));
        Ok(Self {
            path: path.to_path_buf(),
            tmp,
            out: Some(out),
        })
    }

    pub(crate) fn writer(&mut self) -> &mut BufWriter<EarlyWriteback> {
        self.out.as_mut().expect("not yet committed")
    }

    pub(crate) fn commit(mut self) -> Result<(), CliError> {
        let out = self.out.take().expect("committed once");
        out.into_inner()
            .map_err(|e| e.into_error())
            .and_then(|_| match &self.tmp {
                Some(tmp) => std::fs::rename(tmp, &self.path)
                    .inspect(|()| interrupt::remove_on_signal(tmp, false)),
                None => Ok(()),
            })
            .map_err(|e| CliError::Io(format!("{}: {e}", self.path.display())))
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // Uncommitted, or the rename failed: the temporary file goes (after a successful
        // commit it no longer exists).
        self.out = None;
        if let Some(tmp) = &self.tmp {
            let _ = std::fs::remove_file(tmp);
            interrupt::remove_on_signal(tmp, false);
        }
    }
}

/// Temporary output files are removed when the process is interrupted (Ctrl-C, SIGTERM,
/// SIGHUP); then the signal's default action ends it. A SIGKILL cannot be caught.
#[cfg(unix)]
mod interrupt {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::sync::atomic::{AtomicPtr, Ordering};
    use std::sync::{Mutex, Once};

    /// The paths to remove, an immutable list replaced (never freed) on every change, so the
    /// handler only reads memory nobody writes or frees.
    static PATHS: AtomicPtr<Vec<CString>> = AtomicPtr::new(std::ptr::null_mut());
    static EDIT: Mutex<()> = Mutex::new(());
    static INSTALL: Once = Once::new();

    extern "C" fn on_signal(signal: libc::c_int) {
        let paths = PATHS.load(Ordering::Acquire);
        if !paths.is_null() {
            // SAFETY: lists stored in PATHS are leaked and never mutated or freed, so the
            // pointer, once non-null, stays valid for reads for the rest of the process.
            for path in unsafe { &*paths } {
                // SAFETY: `path` is a NUL-terminated C string that lives for the process;
                // unlink is async-signal-safe.
                unsafe { libc::unlink(path.as_ptr()) };
            }
        }
        // SAFETY: signal and raise are async-signal-safe; restoring the default action and
        // raising again ends the process the way the signal would have.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }

    /// Adds `path` to (or, `add` false, takes it from) the files removed on a signal.
    pub(crate) fn remove_on_signal(path: &Path, add: bool) {
        let Ok(path) = CString::new(path.as_os_str().as_bytes()) else {
            return;
        };
        INSTALL.call_once(|| {
            let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                // SAFETY: installs a handler that only calls async-signal-safe functions; a
                // signal ignored by the parent (`nohup`) stays ignored.
                unsafe {
                    if libc::signal(signal, handler) == libc::SIG_IGN {
                        libc::signal(signal, libc::SIG_IGN);
                    }
                }
            }
        });
        let _guard = EDIT.lock().unwrap_or_else(|e| e.into_inner());
        let current = PATHS.load(Ordering::Acquire);
        let mut next = if current.is_null() {
            Vec::new()
        } else {
            // SAFETY: as in the handler: a non-null PATHS points to a leaked list that is
            // never mutated or freed.
            unsafe { (*current).clone() }
        };
        next.retain(|p| *p != path);
        if add {
            next.push(path);
        }
        // The previous list is leaked: a handler may be reading it (a few paths per run).
        PATHS.store(Box::into_raw(Box::new(next)), Ordering::Release);
    }
}

#[cfg(not(unix))]
mod interrupt {
    pub(crate) fn remove_on_signal(_: &std::path::Path, _: bool) {}
}

/// Writes `path` through an [`AtomicFile`].
pub(crate) fn write_file(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), CliError> {
    written(path, write)?.commit()
}

/// `path` written by `write` but not yet in place: [`AtomicFile::commit`] puts it there,
/// dropping it removes it.
pub(crate) fn written(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<AtomicFile, CliError> {
    let mut file = AtomicFile::create(path)?;
    write(file.writer())
        .and_then(|()| file.writer().flush())
        .map_err(|e| CliError::Io(format!("{}: {e}", path.display())))?;
    Ok(file)
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
    fn observe(&self, state: &IterationState) -> Action {
        let (iteration, max_iterations, objective) =
            (state.iteration, state.max_iterations, state.objective);
        if self.bar.get().is_none() && self.start.elapsed() < Duration::from_secs(1) {
            return Action::Continue;
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
        Action::Continue
    }

    fn may_stop(&self) -> bool {
        false
    }
}
