//! `crowdagg toloka aggregate` and `crowdagg serve`: Toloka's aggregation API on exported pools.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};

use super::{CliError, write_whole};

#[derive(Subcommand)]
pub(crate) enum TolokaCommand {
    /// Run an aggregate-by-pool (or, with --task-id, aggregate-by-task) request on a pool
    /// directory and print the aggregated solutions as JSON lines.
    Aggregate(TolokaAggregateArgs),
}

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum AggregationType {
    WeightedDynamicOverlap,
    DawidSkene,
}

#[derive(clap::Args)]
pub(crate) struct TolokaAggregateArgs {
    /// Pool directory: pool.json (optional), assignments.json|jsonl|tsv, skills.json|csv
    /// (optional).
    #[arg(long)]
    pool: PathBuf,
    /// More Toloka user skills (JSON UserSkill objects or CSV user_id,skill_id,value).
    #[arg(long)]
    skills: Option<PathBuf>,
    /// Aggregation method, as Toloka names it.
    #[arg(long = "type", value_enum, default_value = "WEIGHTED_DYNAMIC_OVERLAP")]
    aggregation_type: AggregationType,
    /// The Toloka skill that weighs answers (the request's answer_weight_skill_id); required
    /// for WEIGHTED_DYNAMIC_OVERLAP.
    #[arg(long, value_name = "ID")]
    skill_id: Option<String>,
    /// Output field to aggregate (repeatable).
    #[arg(long = "field", required = true)]
    fields: Vec<String>,
    /// Aggregate this task only.
    #[arg(long)]
    task_id: Option<String>,
}

#[cfg(feature = "server")]
#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// Pool directory (repeatable); see `crowdagg toloka aggregate --help`.
    #[arg(long = "pool", required = true)]
    pools: Vec<PathBuf>,
    /// Toloka user skills shared by all pools.
    #[arg(long)]
    skills: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port (printed on stdout).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: String,
    /// Request-serving threads.
    #[arg(long, default_value_t = 4)]
    threads: usize,
    /// Largest request body in bytes; larger ones get 413.
    #[arg(long, default_value_t = crowdagg::toloka::server::DEFAULT_MAX_BODY)]
    max_body: usize,
}

pub(crate) fn aggregate(args: TolokaAggregateArgs) -> Result<(), CliError> {
    use crowdagg::toloka::{
        AggregatedSolutionType, AggregationBackend, AggregationTarget, FieldName, LocalBackend,
        PoolAggregatedSolutionRequest, TaskAggregatedSolutionRequest,
    };
    let backend = LocalBackend::from_dirs(&[&args.pool], args.skills.as_deref())?;
    let pool_id = backend.pool_ids().next().unwrap_or_default().to_owned();
    if matches!(
        args.aggregation_type,
        AggregationType::WeightedDynamicOverlap
    ) && args.skill_id.is_none()
    {
        return Err(CliError::Usage(
            "--skill-id ID is required with --type WEIGHTED_DYNAMIC_OVERLAP (the default): the Toloka skill that weighs answers"
                .into(),
        ));
    }
    let request = PoolAggregatedSolutionRequest {
        aggregation_type: match args.aggregation_type {
            AggregationType::WeightedDynamicOverlap => {
                AggregatedSolutionType::WeightedDynamicOverlap
            }
            AggregationType::DawidSkene => AggregatedSolutionType::DawidSkene,
        },
        target: AggregationTarget {
            pool_id: pool_id.clone(),
            answer_weight_skill_id: args.skill_id,
            fields: args.fields.iter().cloned().map(FieldName::new).collect(),
        },
    };
    let solutions = match args.task_id {
        Some(task_id) => {
            let request = TaskAggregatedSolutionRequest {
                task_id,
                target: request.target,
                aggregation_type: request.aggregation_type,
            };
            vec![backend.aggregate_by_task(&request)?]
        }
        None => backend.aggregate(&request)?,
    };
    // After the aggregation succeeded: an unknown field is an error, not an empty one.
    for field in &args.fields {
        match backend.unanswered(&pool_id, field) {
            Some(n) if n > 0 => eprintln!(
                "note: {n} accepted answer{} left field {field:?} empty; excluded from its aggregation, as Toloka does",
                if n == 1 { "" } else { "s" }
            ),
            _ => {}
        }
    }
    write_whole(None, |out| {
        for solution in &solutions {
            serde_json::to_writer(&mut *out, solution)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    })
}

/// A backend error in the words of `crowdagg toloka aggregate`, on one line: no HTTP status or
/// Toloka error code (nothing went over a network), and the request fields a validation error
/// names as the options that set them (`answer_weight_skill_id` is `--skill-id`).
pub(crate) fn describe_for_cli(error: &crowdagg::toloka::BackendError) -> String {
    use crowdagg::toloka::BackendError;
    let BackendError::Api { error: api, .. } = error else {
        return error.to_string().replace('\n', " ");
    };
    let Some(serde_json::Value::Object(fields)) = &api.payload else {
        return api.message.replace('\n', " ");
    };
    let parts: Vec<String> = fields
        .iter()
        .map(|(field, detail)| {
            let option = match field.as_str() {
                "answer_weight_skill_id" => "--skill-id",
                "task_id" => "--task-id",
                "pool_id" => "--pool",
                "type" => "--type",
                f if f.starts_with("fields") => "--field",
                f => f,
            };
            match detail["message"].as_str() {
                Some(message) => format!("{option}: {message}"),
                None => format!("{option}: {detail}"),
            }
        })
        .collect();
    parts.join("; ").replace('\n', " ")
}

#[cfg(feature = "server")]
pub(crate) fn serve(args: ServeArgs) -> Result<(), CliError> {
    use crowdagg::toloka::{LocalBackend, server::Server};
    use std::io::Write;
    let backend = LocalBackend::from_dirs(&args.pools, args.skills.as_deref())?;
    let pools: Vec<String> = backend.pool_ids().map(str::to_owned).collect();
    let backend = std::sync::Arc::new(backend);
    let server = Server::start_with_limit(backend, &args.bind, args.threads, args.max_body)
        .map_err(|e| CliError::Io(format!("--bind {}: {e}", args.bind)))?;
    // One line a launcher can parse for the port.
    println!("serving pools {} at {}", pools.join(", "), server.url());
    std::io::stdout()
        .flush()
        .map_err(|e| CliError::Io(format!("<stdout>: {e}")))?;
    server.wait();
    Ok(())
}
