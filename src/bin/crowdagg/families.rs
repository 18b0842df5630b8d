//! `aggregate -m` for the texts, embeddings and segmentation families: each reads its own
//! table shape and writes through the library's writers (`crowdagg::output`).

use std::path::Path;
use std::time::{Duration, Instant};

use crowdagg::io::{
    EmbeddingReadOptions, SegmentationReadOptions, TextReadOptions, read_embeddings,
    read_segmentation, read_texts, read_true_embeddings,
};
use crowdagg::methods::{
    ClosestToAverageParams, EmbeddingAggregator, HrrasaParams, Params, RasaParams, RoverParams,
    SegmentationAggregator, SegmentationEmParams, SegmentationMajorityVoteParams,
    SegmentationRasaParams, TextAggregator, TextHrrasaParams, TextRasaParams,
};
use crowdagg::output::{
    write_embeddings_csv, write_embeddings_json, write_masks_png, write_segmentation_index,
    write_texts_csv, write_texts_json,
};

use super::staged_dir::write_staged;
use super::{AggregateArgs, Format, note_stdin, read_optional_skills, write_whole};

/// The methods of these families, by CLI name and crowd-kit class name.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FamilyMethod {
    Rover,
    ClosestToAverage,
    Rasa,
    Hrrasa,
    TextRasa,
    TextHrrasa,
    SegmentationMajorityVote,
    SegmentationRasa,
    SegmentationEm,
}

/// (CLI name, crowd-kit class name, method, one-line description).
pub(crate) const FAMILY_METHODS: [(&str, &str, FamilyMethod, &str); 9] = [
    (
        "rover",
        "ROVER",
        FamilyMethod::Rover,
        "texts (task,worker,text) merged word by word (ROVER)",
    ),
    (
        "closest-to-average",
        "ClosestToAverage",
        FamilyMethod::ClosestToAverage,
        "the output whose embedding is nearest the task's mean (task,worker,output,embedding)",
    ),
    (
        "rasa",
        "RASA",
        FamilyMethod::Rasa,
        "the output nearest the reliability-weighted mean embedding",
    ),
    (
        "hrrasa",
        "HRRASA",
        FamilyMethod::Hrrasa,
        "RASA with per-task local reliabilities from embeddings and outputs",
    ),
    (
        "text-rasa",
        "TextRASA",
        FamilyMethod::TextRasa,
        "RASA on texts with their embeddings (tol 1e-5)",
    ),
    (
        "text-hrrasa",
        "TextHRRASA",
        FamilyMethod::TextHrrasa,
        "HRRASA on texts with their embeddings (tol 1e-5)",
    ),
    (
        "seg-mv",
        "SegmentationMajorityVote",
        FamilyMethod::SegmentationMajorityVote,
        "binary masks (task,worker,mask = PNG file) by (skill-weighted) pixel vote",
    ),
    (
        "seg-rasa",
        "SegmentationRASA",
        FamilyMethod::SegmentationRasa,
        "masks weighted by IoU with the vote, iterated",
    ),
    (
        "seg-em",
        "SegmentationEM",
        FamilyMethod::SegmentationEm,
        "masks by EM over per-worker pixel accuracies",
    ),
];

impl FamilyMethod {
    /// By CLI name or crowd-kit class name, case-insensitive.
    pub(crate) fn find(name: &str) -> Option<Self> {
        FAMILY_METHODS
            .iter()
            .find(|(cli, class, _, _)| {
                name.eq_ignore_ascii_case(cli) || name.eq_ignore_ascii_case(class)
            })
            .map(|&(_, _, method, _)| method)
    }

    /// The parameters' defaults, `key=value` separated by spaces (for `crowdagg methods`).
    pub(crate) fn defaults(self) -> String {
        let report = match self {
            Self::Rover => RoverParams::default().report(),
            Self::ClosestToAverage => ClosestToAverageParams::default().report(),
            Self::Rasa => RasaParams::default().report(),
            Self::Hrrasa => HrrasaParams::default().report(),
            Self::TextRasa => TextRasaParams::default().report(),
            Self::TextHrrasa => TextHrrasaParams::default().report(),
            Self::SegmentationMajorityVote => SegmentationMajorityVoteParams::default().report(),
            Self::SegmentationRasa => SegmentationRasaParams::default().report(),
            Self::SegmentationEm => SegmentationEmParams::default().report(),
        };
        super::defaults(&report)
    }
}

/// Options of `aggregate` that a family does not read: an error naming the first one given,
/// rather than silently ignoring it. The options no family here reads are checked first, then
/// the family's own `unused`, so the option named does not depend on the family.
fn refuse_unused(args: &AggregateArgs, unused: &[(&str, bool)], reads: &str) -> Result<(), String> {
    match common_unused(args)
        .iter()
        .chain(unused)
        .find(|(_, given)| *given)
    {
        Some((option, _)) => Err(format!(
            "{} does not use {option} (it reads {reads})",
            args.method
        )),
        None => Ok(()),
    }
}

/// Options no family here reads.
fn common_unused(args: &AggregateArgs) -> [(&'static str, bool); 6] {
    [
        ("--gold", args.gold.is_some()),
        ("--use-gold", args.use_gold),
        ("--probas", args.probas.is_some()),
        ("--workers", args.workers.is_some()),
        ("--duplicates", args.input_args.duplicates.is_some()),
        ("--normalize-labels", args.input_args.normalize_labels),
    ]
}

/// The skill options, which only segmentation majority vote reads.
fn skill_options(args: &AggregateArgs) -> [(&'static str, bool); 2] {
    [
        ("--skills", args.skills.is_some()),
        ("--skill-id", args.skill_id.is_some()),
    ]
}

/// The embedding options, which only the embeddings family reads.
fn embedding_options(args: &AggregateArgs) -> [(&'static str, bool); 2] {
    [
        ("--true-embeddings", args.true_embeddings.is_some()),
        ("--embedding-column", args.embedding_column.is_some()),
    ]
}

fn params<P: Params>(
    pairs: &[(&str, &str)],
) -> Result<(P::Checked, crowdagg::methods::ParamReport), String> {
    let unchecked = P::parse_pairs(pairs.iter().copied()).map_err(|e| e.to_string())?;
    let report = unchecked.report();
    Ok((unchecked.check().map_err(|e| e.to_string())?, report))
}

fn column(given: &Option<String>, default: String) -> String {
    given.clone().unwrap_or(default)
}

/// Runs `-m <method>` of these families.
pub(crate) fn aggregate_family(
    args: &AggregateArgs,
    method: FamilyMethod,
    pairs: &[(&str, &str)],
) -> Result<(), String> {
    let started = Instant::now();
    match method {
        FamilyMethod::Rover => aggregate_texts(args, pairs, started),
        FamilyMethod::SegmentationMajorityVote
        | FamilyMethod::SegmentationRasa
        | FamilyMethod::SegmentationEm => aggregate_segmentation(args, method, pairs, started),
        _ => aggregate_embeddings(args, method, pairs, started),
    }
}

/// Reads `--input` (saying so first when it is a terminal) with the family's reader; returns
/// what it read and the time since `started`, which `--timings` reports as reading.
fn read_input<T>(
    args: &AggregateArgs,
    started: Instant,
    read: impl FnOnce(&Path) -> Result<T, crowdagg::Error>,
) -> Result<(T, Duration), String> {
    note_stdin(&args.input);
    let data = read(&args.input).map_err(|e| e.to_string())?;
    Ok((data, started.elapsed()))
}

fn timings(args: &AggregateArgs, started: Instant, read: Duration, counts: &str) {
    if args.timings {
        eprintln!(
            "timings: {counts} read_s={:.3} fit_and_write_s={:.3} total_s={:.3}",
            read.as_secs_f64(),
            (started.elapsed() - read).as_secs_f64(),
            started.elapsed().as_secs_f64(),
        );
    }
}

fn aggregate_texts(
    args: &AggregateArgs,
    pairs: &[(&str, &str)],
    started: Instant,
) -> Result<(), String> {
    refuse_unused(
        args,
        &[skill_options(args), embedding_options(args)].concat(),
        "task,worker,text rows; --label-column names the text column",
    )?;
    let (rover, report) = params::<RoverParams>(pairs)?;
    let defaults = TextReadOptions::default();
    let options = TextReadOptions {
        task_column: column(&args.input_args.task_column, defaults.task_column),
        worker_column: column(&args.input_args.worker_column, defaults.worker_column),
        text_column: column(&args.input_args.label_column, defaults.text_column),
        delimiter: args.input_args.delimiter,
    };
    let (data, read) = read_input(args, started, |input| read_texts(input, &options))?;
    let fit = rover.fit(&data).map_err(|e| e.to_string())?;
    write_whole(args.output.as_deref(), |out| match args.format {
        Format::Csv => write_texts_csv(out, &data, &fit),
        Format::Json => write_texts_json(out, &data, &fit, rover.name(), &report),
    })?;
    timings(
        args,
        started,
        read,
        &format!("texts={} tasks={}", data.len(), data.n_tasks()),
    );
    Ok(())
}

fn aggregate_embeddings(
    args: &AggregateArgs,
    method: FamilyMethod,
    pairs: &[(&str, &str)],
    started: Instant,
) -> Result<(), String> {
    refuse_unused(
        args,
        &skill_options(args),
        "task,worker,output,embedding rows; --label-column names the output column, --embedding-column the embedding column, --true-embeddings a task,embedding file",
    )?;
    let (aggregator, report): (Box<dyn EmbeddingAggregator>, _) = match method {
        FamilyMethod::ClosestToAverage => boxed(params::<ClosestToAverageParams>(pairs)?),
        FamilyMethod::Rasa => boxed(params::<RasaParams>(pairs)?),
        FamilyMethod::Hrrasa => boxed(params::<HrrasaParams>(pairs)?),
        FamilyMethod::TextRasa => boxed(params::<TextRasaParams>(pairs)?),
        _ => boxed(params::<TextHrrasaParams>(pairs)?),
    };
    let defaults = EmbeddingReadOptions::default();
    let options = EmbeddingReadOptions {
        task_column: column(&args.input_args.task_column, defaults.task_column),
        worker_column: column(&args.input_args.worker_column, defaults.worker_column),
        output_column: column(&args.input_args.label_column, defaults.output_column),
        embedding_column: column(&args.embedding_column, defaults.embedding_column),
        delimiter: args.input_args.delimiter,
    };
    let ((data, truth), read) = read_input(args, started, |input| {
        let data = read_embeddings(input, &options)?;
        let truth = match &args.true_embeddings {
            Some(path) => {
                let mut options = options.clone();
                options.delimiter = args.input_args.delimiter.filter(|_| !is_tsv(path));
                Some(read_true_embeddings(path, &options)?)
            }
            None => None,
        };
        Ok((data, truth))
    })?;
    let fit = aggregator
        .fit_with(&data, truth.as_ref())
        .map_err(|e| e.to_string())?;
    write_whole(args.output.as_deref(), |out| match args.format {
        Format::Csv => write_embeddings_csv(out, &data, &fit),
        Format::Json => write_embeddings_json(out, &data, &fit, aggregator.name(), &report),
    })?;
    timings(
        args,
        started,
        read,
        &format!(
            "responses={} tasks={} dim={}",
            data.len(),
            data.n_tasks(),
            data.dim()
        ),
    );
    Ok(())
}

fn boxed<M: EmbeddingAggregator + 'static>(
    (method, report): (M, crowdagg::methods::ParamReport),
) -> (Box<dyn EmbeddingAggregator>, crowdagg::methods::ParamReport) {
    (Box::new(method), report)
}

/// A .tsv/.tab file is read with tabs whatever `--delimiter` says (as --gold files).
fn is_tsv(path: &Path) -> bool {
    crowdagg::io::delimiter_for(path) == b'\t'
}

fn aggregate_segmentation(
    args: &AggregateArgs,
    method: FamilyMethod,
    pairs: &[(&str, &str)],
    started: Instant,
) -> Result<(), String> {
    let mut unused = embedding_options(args).to_vec();
    if !matches!(method, FamilyMethod::SegmentationMajorityVote) {
        unused.extend(skill_options(args));
    }
    refuse_unused(
        args,
        &unused,
        "task,worker,mask rows, mask a PNG file relative to the table; --label-column names the mask column; --output is the directory the masks and their index go to",
    )?;
    let dir = args
        .output
        .as_deref()
        .filter(|p| p.as_os_str() != "-")
        .ok_or_else(|| {
            format!(
                "{} writes one PNG per task: give the directory with --output DIR (it gets the masks and index.csv, or index.json with --format json)",
                args.method
            )
        })?;
    let skills = read_optional_skills(args.skills.as_deref(), args.skill_id.as_deref())?;
    // Majority vote keeps its type: with --skills it fits through `fit_with_skills`.
    let mut majority_vote = None;
    let (aggregator, report): (Box<dyn SegmentationAggregator>, _) = match method {
        FamilyMethod::SegmentationMajorityVote => {
            let (m, r) = params::<SegmentationMajorityVoteParams>(pairs)?;
            majority_vote = Some(m);
            (Box::new(m), r)
        }
        FamilyMethod::SegmentationRasa => {
            let (m, r) = params::<SegmentationRasaParams>(pairs)?;
            (Box::new(m), r)
        }
        _ => {
            let (m, r) = params::<SegmentationEmParams>(pairs)?;
            (Box::new(m), r)
        }
    };
    let defaults = SegmentationReadOptions::default();
    let options = SegmentationReadOptions {
        task_column: column(&args.input_args.task_column, defaults.task_column),
        worker_column: column(&args.input_args.worker_column, defaults.worker_column),
        mask_column: column(&args.input_args.label_column, defaults.mask_column),
        delimiter: args.input_args.delimiter,
    };
    let (data, read) = read_input(args, started, |input| read_segmentation(input, &options))?;
    let fit = match majority_vote {
        Some(mv) => mv.fit_with_skills(&data, skills.as_ref()),
        None => aggregator.fit(&data),
    }
    .map_err(|e| e.to_string())?;
    let (index, json) = match args.format {
        Format::Csv => ("index.csv", None),
        Format::Json => ("index.json", Some((aggregator.name(), &report))),
    };
    // All the masks and the index, or (on an error part-way) none of them.
    write_staged(dir, |staging| {
        let mut files = write_masks_png(staging, &data, &fit).map_err(|e| e.to_string())?;
        write_whole(Some(&staging.join(index)), |out| {
            write_segmentation_index(out, &data, &fit, &files, json)
        })?;
        files.push(index.to_string());
        Ok(files)
    })?;
    timings(
        args,
        started,
        read,
        &format!("masks={} tasks={}", data.len(), data.n_tasks()),
    );
    Ok(())
}
