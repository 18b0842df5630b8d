//! `crowdagg evaluate` (every method against gold labels) and `crowdagg metrics` (agreement
//! metrics of a dataset).

use std::path::PathBuf;
use std::time::Instant;

use clap::ValueEnum;
use crowdagg::methods::{MajorityVote, Method, single_label_methods};
use crowdagg::metrics::{self, By};
use crowdagg::output::{EvaluationRow, Table, write_evaluation, write_metrics};
use crowdagg::{Aggregator, FitInputs, StopReason};
use indicatif::{ProgressBar, ProgressStyle};

use super::{CliError, InputArgs, read_optional_skills};

#[derive(Clone, Copy, ValueEnum)]
pub enum TableFormat {
    Text,
    Csv,
    Json,
}

impl From<TableFormat> for Table {
    fn from(format: TableFormat) -> Self {
        match format {
            TableFormat::Text => Self::Text,
            TableFormat::Csv => Self::Csv,
            TableFormat::Json => Self::Json,
        }
    }
}

#[derive(clap::Args)]
pub struct EvaluateArgs {
    /// Gold labels (CSV/TSV `task,label`).
    #[arg(long, value_name = "FILE")]
    gold: PathBuf,
    /// Worker skills, for the methods that need them (wdo); without it they are skipped.
    #[arg(long, value_name = "FILE")]
    skills: Option<PathBuf>,
    /// Which skill to take from a file of Toloka user skills.
    #[arg(long, value_name = "ID")]
    skill_id: Option<String>,
    /// Only these methods (comma-separated CLI names); default: all.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    methods: Vec<String>,
    #[command(flatten)]
    table: TableArgs,
}

#[derive(clap::Args)]
pub struct MetricsArgs {
    #[command(flatten)]
    table: TableArgs,
}

/// What `evaluate` and `metrics` both take: the table format, how to read, the input.
#[derive(clap::Args)]
struct TableArgs {
    /// Output format of the table.
    #[arg(long, value_enum, default_value = "text")]
    format: TableFormat,
    #[command(flatten)]
    input_args: InputArgs,
    /// Input file (CSV/TSV with task, worker, label), or `-` for stdin.
    #[arg(default_value = "-")]
    input: PathBuf,
}

pub fn evaluate(args: EvaluateArgs) -> Result<(), CliError> {
    let data = args.table.input_args.read_responses(&args.table.input)?;
    let gold = args.table.input_args.read_gold(&args.gold, &data)?;
    let present = gold.tasks_in(&data);
    if present < gold.len() {
        eprintln!(
            "{}: {present} of {} gold tasks occur in the responses; accuracy is over those {present}",
            args.gold.display(),
            gold.len()
        );
    }
    let skills = read_optional_skills(args.skills.as_deref(), args.skill_id.as_deref())?;
    // Scores are single labels against gold: the label-set method is not evaluated.
    let methods: Vec<&Method> = if args.methods.is_empty() {
        single_label_methods().collect()
    } else {
        args.methods
            .iter()
            .map(|name| match crowdagg::methods::find_method(name) {
                Some(m) if m.requires.label_sets => Err(CliError::Usage(format!(
                    "{name}: evaluate scores single labels against gold; {} aggregates label sets",
                    m.name
                ))),
                Some(m) => Ok(m),
                None => Err(CliError::Usage(format!("unknown method {name:?}"))),
            })
            .collect::<Result<_, _>>()?
    };
    let bar = ProgressBar::new(methods.len() as u64);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {pos}/{len} {wide_bar} {msg}") {
        bar.set_style(style);
    }
    let mut rows = Vec::with_capacity(methods.len());
    for method in methods {
        bar.set_message(method.name);
        rows.push(run_one(method, &data, &gold, skills.as_ref()));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let stdout = std::io::stdout();
    write_evaluation(stdout.lock(), &rows, args.table.format.into())
        .map_err(|e| CliError::Io(e.to_string()))
}

fn run_one(
    method: &'static Method,
    data: &crowdagg::Responses,
    gold: &crowdagg::Gold,
    skills: Option<&crowdagg::Skills>,
) -> EvaluationRow {
    let mut row = EvaluationRow {
        method: method.cli_name,
        name: method.name,
        accuracy: None,
        gold_tasks: 0,
        iterations: None,
        seconds: 0.0,
        note: String::new(),
    };
    let needs = method.requirements();
    if needs.skills.required() && skills.is_none() {
        row.note = "skipped: needs --skills".into();
        return row;
    }
    // A gold-trained method cannot weigh a worker without gold answers: drop those answers.
    let params: &[(&str, &str)] = if needs.gold.required() {
        &[("on_missing_skill", "ignore")]
    } else {
        &[]
    };
    let aggregator = match method.build(params) {
        Ok(a) => a,
        Err(e) => {
            row.note = format!("error: {e}");
            return row;
        }
    };
    let mut inputs = FitInputs::default();
    if needs.gold.required() {
        inputs = inputs.gold(gold);
        row.note =
            "trained on the gold labels it is scored on; workers without gold answers ignored"
                .into();
    }
    if let (true, Some(skills)) = (needs.skills.accepted(), skills) {
        inputs = inputs.skills(skills);
    }
    let start = Instant::now();
    let result = aggregator.fit_checked(data, inputs);
    row.seconds = start.elapsed().as_secs_f64();
    match result {
        Ok(result) => {
            let (accuracy, scored) = result.accuracy(data, gold);
            row.accuracy = (scored > 0).then_some(accuracy);
            row.gold_tasks = scored;
            if result.report.stop_reason != StopReason::NotIterative {
                row.iterations = Some(result.report.iterations);
            }
        }
        Err(e) => row.note = format!("error: {e}"),
    }
    row
}

pub fn metrics(args: MetricsArgs) -> Result<(), CliError> {
    let args = args.table;
    let data = args.input_args.read_responses(&args.input)?;
    let mv = MajorityVote::default().aggregate(&data)?;
    let rows: Vec<(&str, serde_json::Value)> = vec![
        ("responses", data.n_responses().into()),
        ("tasks", data.n_tasks().into()),
        ("workers", data.n_workers().into()),
        ("labels", data.n_labels().into()),
        ("duplicates", data.duplicate_count().into()),
        (
            "answers_per_task",
            (data.n_responses() as f64 / data.n_tasks() as f64).into(),
        ),
        (
            "alpha_krippendorff",
            metrics::alpha_krippendorff(&data).ok().into(),
        ),
        (
            "majority_vote_consistency",
            metrics::consistency(&data, &mv)?.into(),
        ),
        (
            "uncertainty_by_task",
            metrics::mean_uncertainty(&data, None, By::Task)?.into(),
        ),
        (
            "uncertainty_by_worker",
            metrics::mean_uncertainty(&data, None, By::Worker)?.into(),
        ),
        (
            "accuracy_on_majority_vote",
            metrics::accuracy_on_aggregates(&data, &mv.labels).into(),
        ),
    ];
    let stdout = std::io::stdout();
    write_metrics(stdout.lock(), &rows, args.format.into()).map_err(|e| CliError::Io(e.to_string()))
}
