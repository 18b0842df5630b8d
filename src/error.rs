//! Error types, one enum per concern, gathered into the crate-level [`Error`].
//!
//! Every enum is `#[non_exhaustive]`: match the variants you handle and keep a `_` arm. The
//! messages (`Display`) name the library's own terms (method names, parameter names such as
//! `skill_scale`), never command-line flags: a program that shows them to its users may add
//! its own hint when it maps a variant (the `crowdagg` CLI does, e.g. for
//! [`DataError::MissingInput`]).

use std::fmt;
use std::path::PathBuf;

/// Where in an input a problem was found: file (or `<stdin>`), 1-based line, optional column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, or `<stdin>` ([`crate::io::STDIN_NAME`]) for standard input.
    pub file: PathBuf,
    /// 1-based line where the record starts.
    pub line: u64,
    /// 1-based index of the field in the header, when one field is to blame.
    pub column: Option<u64>,
}

impl Location {
    /// A location at `line` of `file`, without a column.
    pub fn new(file: impl Into<PathBuf>, line: u64) -> Self {
        Self {
            file: file.into(),
            line,
            column: None,
        }
    }

    /// The same location narrowed to `column` (1-based field index).
    pub fn with_column(mut self, column: u64) -> Self {
        self.column = Some(column);
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)?;
        if let Some(column) = self.column {
            write!(f, ":{column}")?;
        }
        Ok(())
    }
}

/// A side input of a fit ([`FitInputs`](crate::FitInputs)) that a method cannot do without.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SideInput {
    /// Known true labels ([`FitInputs::gold`](crate::FitInputs::gold)).
    Gold,
    /// Per-worker skills ([`FitInputs::skills`](crate::FitInputs::skills)).
    Skills,
}

impl fmt::Display for SideInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Gold => "gold labels",
            Self::Skills => "worker skills",
        })
    }
}

/// Problems with the content of a response table, or with the gold labels, skills or other
/// values a method is given, independent of the file they came from
/// ([`io::locate`](crate::io::locate) adds the file and line where it can).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A response with an empty task, worker or label.
    #[error("empty {field} in response #{record}")]
    EmptyField {
        /// `"task"`, `"worker"` or `"label"`.
        field: &'static str,
        /// 1-based number of the response, in the order they were pushed.
        record: u64,
    },
    /// More distinct labels than a [`Label`](crate::Label) id can hold.
    #[error("too many distinct labels: {0} (at most 65536 are supported)")]
    TooManyLabels(
        /// The number of distinct labels found.
        usize,
    ),
    /// More distinct tasks, workers or responses than a `u32` id can hold.
    #[error("too many distinct {what}: more than {max}")]
    TooManyIds {
        /// `"tasks"`, `"workers"` or `"responses"`.
        what: &'static str,
        /// The largest supported count.
        max: u64,
    },
    /// A second response of one worker to one task under
    /// [`DuplicatePolicy::Reject`](crate::DuplicatePolicy::Reject).
    #[error(
        "duplicate response: worker {worker:?} answered task {task:?} more than once (responses #{first} and #{second})"
    )]
    DuplicateResponse {
        /// The task's name.
        task: String,
        /// The worker's name.
        worker: String,
        /// 1-based number of the first of the two responses.
        first: u64,
        /// 1-based number of the second.
        second: u64,
    },
    /// A gold label that no response uses: the methods can only output labels of the data.
    #[error("gold label {label:?} of task {task:?} is not among the labels of the responses")]
    UnknownGoldLabel {
        /// The gold task.
        task: String,
        /// Its gold label.
        label: String,
    },
    /// Gold labels were given but none of their tasks occurs in the responses: usually the
    /// wrong file, or task ids spelled differently (another task column, case, padding).
    #[error(
        "none of the {gold_tasks} gold task{} occurs in the responses (check the task column and the spelling of task ids)",
        if *gold_tasks == 1 { "" } else { "s" }
    )]
    NoGoldOverlap {
        /// How many gold tasks were given.
        gold_tasks: usize,
    },
    /// Gold labels were given but none of them is a label of the responses: another
    /// vocabulary (`yes`/`no` against `1`/`2`), so every gold task would count as a miss.
    /// Both lists hold a few labels in label order; the counts are of all distinct labels.
    #[error(
        "none of the {gold_count} gold label{} ({}) occurs among the {response_count} response label{} ({}): another vocabulary?",
        if *gold_count == 1 { "" } else { "s" },
        sample(.gold_labels, *gold_count),
        if *response_count == 1 { "" } else { "s" },
        sample(.response_labels, *response_count)
    )]
    NoGoldLabelOverlap {
        /// A few gold labels, in label order.
        gold_labels: Vec<String>,
        /// How many distinct gold labels there are.
        gold_count: usize,
        /// A few response labels, in label order.
        response_labels: Vec<String>,
        /// How many distinct response labels there are.
        response_count: usize,
    },
    /// A method needs a side input the fit was not given.
    #[error("{method} needs {input}")]
    MissingInput {
        /// The method (crowd-kit class name).
        method: &'static str,
        /// What is missing.
        input: SideInput,
    },
    /// A worker in the data has no skill, under
    /// [`MissingSkill::Error`](crate::MissingSkill::Error).
    #[error("skill of worker {worker:?} is missing")]
    MissingSkill {
        /// The worker's name.
        worker: String,
    },
    /// A skill that is NaN or infinite.
    #[error("skill of worker {worker:?} is not a finite number: {value}")]
    InvalidSkill {
        /// The worker's name.
        worker: String,
        /// The value given.
        value: f64,
    },
    /// A [`WeightedDynamicOverlap`](crate::WeightedDynamicOverlap) skill outside Toloka's
    /// 0..=100 scale (after multiplying by `skill_scale`).
    #[error("skill of worker {worker:?} is {value}, outside 0..=100")]
    SkillOutOfRange {
        /// The worker's name.
        worker: String,
        /// The skill as used, i.e. times `skill_scale`.
        value: f64,
    },
    /// Every [`WeightedDynamicOverlap`](crate::WeightedDynamicOverlap) skill is at most 1
    /// while `skill_scale` was left at its default: they look like fractions (0.85), which on
    /// Toloka's 0..=100 scale would be near-useless workers. Set `skill_scale=100` if they are
    /// fractions, or `skill_scale=1` explicitly if they really are Toloka values.
    #[error(
        "every worker skill is at most 1 (largest {largest}), but skills are on Toloka's 0..=100 scale: \
         set skill_scale=100 if they are fractions of 1, or skill_scale=1 if they are 0..=100 values"
    )]
    SkillsLookLikeFractions {
        /// The largest skill given.
        largest: f64,
    },
    /// Every response of a task belongs to workers without a skill, under
    /// [`MissingSkill::Ignore`](crate::MissingSkill::Ignore).
    #[error("every response of task {task:?} was dropped because its workers have no skill")]
    TaskWithoutSkilledWorkers {
        /// The task's name.
        task: String,
    },
    /// A method defined for a fixed number of labels (KOS: 2) got another number.
    #[error("{method} needs exactly {expected} labels, the data has {found}")]
    WrongLabelCount {
        /// The method (crowd-kit class name).
        method: &'static str,
        /// The number it needs.
        expected: usize,
        /// The number of distinct labels in the data.
        found: usize,
    },
    /// A method that needs at least `min` distinct labels got fewer.
    #[error("{method} needs at least {min} distinct labels, the data has {found}")]
    TooFewLabels {
        /// The method (crowd-kit class name).
        method: &'static str,
        /// The smallest number it works with.
        min: usize,
        /// The number of distinct labels in the data.
        found: usize,
    },
    /// A label outside the declared answer domain (`domain` of
    /// [`WeightedDynamicOverlap`](crate::WeightedDynamicOverlap)).
    #[error("answer domain has {domain} values but the responses use label {label:?} outside it")]
    LabelOutsideDomain {
        /// The label outside the domain.
        label: String,
        /// The number of values in the domain.
        domain: usize,
    },
    /// The declared number of answer options (`options` of
    /// [`WeightedDynamicOverlap`](crate::WeightedDynamicOverlap)) is smaller than the number
    /// of distinct labels the responses use.
    #[error("options = {options}, but the responses use {labels} distinct labels")]
    TooFewOptions {
        /// The declared number of options.
        options: usize,
        /// The number of distinct labels in the responses.
        labels: usize,
    },
    /// A fitted worker skill came out NaN or infinite (MMSR on a degenerate covariance
    /// matrix).
    #[error(
        "{method}: the skill of worker {worker:?} is not finite (degenerate covariance matrix)"
    )]
    DegenerateSkill {
        /// The method (crowd-kit class name).
        method: &'static str,
        /// The worker's name.
        worker: String,
    },
    /// GLAD's `labels_priors` lacks a label of the data.
    #[error("GLAD labels_priors has no prior for label {label:?}")]
    MissingLabelPrior {
        /// The label without a prior.
        label: String,
    },
    /// An [`InitialErrors`](crate::InitialErrors) cell names a label no response uses.
    #[error("initial error matrix: label {label:?} is not among the labels of the responses")]
    InitialErrorUnknownLabel {
        /// The label.
        label: String,
    },
    /// An [`InitialErrors`](crate::InitialErrors) cell is NaN or infinite.
    #[error(
        "initial error matrix: value for worker {worker:?}, observed {observed:?}, true {truth:?} is not a finite number: {value}"
    )]
    InitialErrorNotFinite {
        /// The worker.
        worker: String,
        /// The observed (answered) label of the row.
        observed: String,
        /// The true label of the column.
        truth: String,
        /// The value given.
        value: f64,
    },
    /// With [`InitialErrorStrategy::Assign`](crate::InitialErrorStrategy::Assign), some
    /// (worker, observed label) of the data has no row in the matrices.
    #[error(
        "initial error matrix (assign) has no row for some labels given by {workers} worker(s), \
         e.g. {example:?}: every (worker, observed label) of the data needs a row"
    )]
    InitialErrorMissingRows {
        /// How many workers lack a row.
        workers: usize,
        /// The first of them (in worker order).
        example: String,
    },
    /// With [`InitialErrorStrategy::Assign`](crate::InitialErrorStrategy::Assign), matrices
    /// that look like probabilities (every value ≤ 1) have a column that does not sum to 1.
    #[error(
        "initial error matrix (assign) of worker {worker:?} looks like probabilities \
         (all values <= 1) but a true-label column sums to {sum}, not 1"
    )]
    InitialErrorColumnSum {
        /// The worker.
        worker: String,
        /// The column's sum.
        sum: f64,
    },
    /// A metric that needs worker skills got an aggregation without them
    /// ([`metrics::consistency`](crate::metrics::consistency)).
    #[error("consistency needs worker skills; this method has none")]
    AggregationWithoutSkills,
    /// Krippendorff's alpha is undefined with a single worker and a single task.
    #[error("alpha needs more than one worker or task")]
    AlphaSingleWorkerAndTask,
    /// Krippendorff's alpha is undefined when no task has two responses.
    #[error("alpha needs a task with at least 2 responses")]
    AlphaNoTaskWithTwoResponses,
    /// A percentile outside 0..=100
    /// ([`metrics::entropy_threshold`](crate::metrics::entropy_threshold)).
    #[error("percentile must be in 0..=100, got {percentile}")]
    PercentileOutOfRange {
        /// The value given.
        percentile: f64,
    },
    /// [`BinaryRelevance`](crate::BinaryRelevance)'s inner method failed on one class.
    #[error("class {class:?}: {source}")]
    InClass {
        /// The class (label of the multi-label data) whose binary problem failed.
        class: String,
        /// What the inner method reported.
        #[source]
        source: Box<DataError>,
    },
    /// A broken internal invariant (a bug, not a problem with the input): please report it.
    #[error("{method}: internal error ({what}); please report it")]
    Internal {
        /// The method (crowd-kit class name).
        method: &'static str,
        /// What went wrong.
        what: &'static str,
    },
    /// [`crate::Responses::from_codes`]: the three code columns differ in length.
    #[error("code columns differ in length: {tasks} tasks, {workers} workers, {labels} labels")]
    CodeLengths {
        /// Length of the task codes.
        tasks: usize,
        /// Length of the worker codes.
        workers: usize,
        /// Length of the label codes.
        labels: usize,
    },
    /// [`crate::Responses::from_codes`]: a code outside `0..count` (a negative code is a
    /// missing value in pandas' factorize).
    #[error("{column} code {code} in row {row} is outside 0..{count}")]
    CodeOutOfRange {
        /// `task`, `worker` or `label`.
        column: &'static str,
        /// 0-based row of the code.
        row: u64,
        /// The code found.
        code: i64,
        /// The number of distinct values declared for the column.
        count: usize,
    },
    /// [`crate::shard::Shard::new`]: a response or gold label whose task is outside the
    /// shard's range of the plan.
    #[error("{what} row {row}: task {task} is outside the shard's tasks {start}..{end}")]
    TaskOutsideShard {
        /// `response` or `gold`.
        what: &'static str,
        /// 0-based row.
        row: u64,
        /// The global task id given.
        task: i64,
        /// First task of the shard.
        start: usize,
        /// One past its last task.
        end: usize,
    },
    /// [`crate::shard`]: a statistics or model buffer that does not fit the plan (wrong
    /// length, a shard out of order or missing, statistics of another pass).
    #[error("shard buffers: {0}")]
    ShardBuffer(String),
    /// A vector argument whose length does not fit the data (e.g. the point given to
    /// [`NoisyBradleyTerry::objective`](crate::NoisyBradleyTerry::objective)).
    #[error("{name} has {found} values, expected {expected} ({layout})")]
    VectorLength {
        /// The argument.
        name: &'static str,
        /// The length the data asks for.
        expected: usize,
        /// The length given.
        found: usize,
        /// What the expected length is made of, in words.
        layout: &'static str,
    },
    /// [`crate::Responses::from_codes`]: a code in `0..count` that no response uses (every
    /// declared task, worker and label must occur; pandas' factorize guarantees it).
    #[error("{column} code {code} is declared but no response uses it")]
    CodeUnused {
        /// `task`, `worker` or `label`.
        column: &'static str,
        /// The first unused code.
        code: usize,
    },
    /// A pairwise comparison of an item with itself (`left == right`); `record` is the
    /// 1-based row.
    #[error("comparison #{record} compares item {item:?} with itself")]
    SelfComparison {
        /// The item on both sides.
        item: String,
        /// 1-based row number.
        record: u64,
    },
    /// A pairwise comparison whose winner (`label`) is neither its left nor its right item.
    #[error(
        "winner {label:?} of comparison #{record} is neither its left item {left:?} nor its right item {right:?}"
    )]
    WinnerNotInPair {
        /// The winner given.
        label: String,
        /// The left item.
        left: String,
        /// The right item.
        right: String,
        /// 1-based row number.
        record: u64,
    },
    /// An embedding without any value (`[]` or only whitespace).
    #[error("embedding of response #{record} has no values")]
    EmptyEmbedding {
        /// 1-based row number.
        record: u64,
    },
    /// An embedding value that is not a finite number (`abc`, `NaN`, `inf`, a stray bracket).
    #[error(
        "value #{position} of the embedding of response #{record} is not a finite number: {value:?}"
    )]
    EmbeddingValue {
        /// The text of the value.
        value: String,
        /// 1-based position of the value in the embedding.
        position: usize,
        /// 1-based row number.
        record: u64,
    },
    /// An embedding whose length differs from the first one of the data set (all embeddings
    /// of one data set have the same length).
    #[error("embedding of response #{record} has {found} values, the first one had {expected}")]
    EmbeddingLength {
        /// The length of the first embedding.
        expected: usize,
        /// The length of this one.
        found: usize,
        /// 1-based row number.
        record: u64,
    },
    /// A true embedding whose length differs from the responses' embeddings.
    #[error(
        "true embedding of task {task:?} has {found} values, the responses' embeddings have {expected}"
    )]
    TrueEmbeddingLength {
        /// The task.
        task: String,
        /// The responses' embedding length.
        expected: usize,
        /// The length given.
        found: usize,
    },
    /// A true embedding with a NaN or infinite value.
    #[error(
        "value #{position} of the true embedding of task {task:?} is not a finite number: {value}"
    )]
    TrueEmbeddingValue {
        /// The task.
        task: String,
        /// 1-based position of the value.
        position: usize,
        /// The value given.
        value: f64,
    },
    /// A segmentation mask built from a pixel vector of the wrong length.
    #[error("a {width}x{height} mask needs {} pixels, got {found}", width * height)]
    MaskPixelCount {
        /// The mask's width.
        width: usize,
        /// The mask's height.
        height: usize,
        /// The number of pixels given.
        found: usize,
    },
    /// A segmentation mask of another size than the task's first mask.
    #[error(
        "mask of response #{record} (task {task:?}) is {width}x{height}, the task's first mask is {expected_width}x{expected_height}"
    )]
    MaskSize {
        /// The task.
        task: String,
        /// Width of the task's first mask.
        expected_width: usize,
        /// Height of the task's first mask.
        expected_height: usize,
        /// Width of this mask.
        width: usize,
        /// Height of this mask.
        height: usize,
        /// 1-based row number.
        record: u64,
    },
}

/// `"a", "b", …` (the ellipsis when `total` is more than shown).
fn sample(shown: &[String], total: usize) -> String {
    let mut text: Vec<String> = shown.iter().map(|s| format!("{s:?}")).collect();
    if total > shown.len() {
        text.push("…".into());
    }
    text.join(", ")
}

/// `a, b, c`, or `none`.
fn known_list(known: &[&str]) -> String {
    if known.is_empty() {
        "none".into()
    } else {
        known.join(", ")
    }
}

/// An invalid hyper-parameter, found when parameters are validated, before fitting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamsError {
    /// A value outside the parameter's range.
    #[error("{name} must be {rule}, got {value}")]
    OutOfRange {
        /// The parameter.
        name: &'static str,
        /// The rule it breaks, as text (`"at least 1"`).
        rule: &'static str,
        /// The value given, as text.
        value: String,
    },
    /// A parameter the method does not have.
    #[error("unknown parameter {name:?} for {method} (known: {})", known_list(.known))]
    Unknown {
        /// The method (crowd-kit class name).
        method: &'static str,
        /// The name given.
        name: String,
        /// The method's parameters.
        known: &'static [&'static str],
    },
    /// A value that does not parse as the parameter's type.
    #[error("parameter {name}: cannot parse {value:?} as {expected}")]
    Parse {
        /// The parameter.
        name: String,
        /// The text given.
        value: String,
        /// What was expected (`"an integer"`, `"vb or em"`).
        expected: String,
    },
    /// A JSON value of the wrong type for the parameter (`"n_iter": "ten"`), or parameters
    /// that are not a JSON object.
    #[error("parameter {name}: {message}")]
    Type {
        /// The parameter (`params` for the whole object).
        name: String,
        /// What is wrong, in words.
        message: String,
    },
    /// Two parameters that exclude each other were both given.
    #[error("give either {first} or {second}, not both")]
    Exclusive {
        /// One parameter.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
    /// [`InitialErrors`](crate::InitialErrors) given without an
    /// [`InitialErrorStrategy`](crate::InitialErrorStrategy) to apply them with.
    #[error("initial error matrices need initial_error_strategy=assign or addition")]
    InitialErrorsWithoutStrategy,
    /// [`BinaryRelevance`](crate::BinaryRelevance)'s inner method name is not a known method.
    #[error("unknown method {name:?} for BinaryRelevance")]
    UnknownInnerMethod {
        /// The name given.
        name: String,
    },
    /// A method built for the other kind of responses: [`BinaryRelevance`](crate::BinaryRelevance)
    /// aggregates label sets, every other registry method one label per response
    /// ([`Requirements::label_sets`](crate::methods::Requirements::label_sets)).
    #[error("{method} aggregates {takes}, not {asked}")]
    WrongInput {
        /// The method (crowd-kit class name).
        method: &'static str,
        /// What its responses are (`"label sets"`, `"single labels"`).
        takes: &'static str,
        /// What it was built for.
        asked: &'static str,
    },
}

/// A problem reading an input file, with its location.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The file could not be opened or read.
    #[error("{path}: {source}", path = .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A problem at a line (and field) of the file.
    #[error("{location}: {message}")]
    Syntax {
        /// Where.
        location: Location,
        /// What, in words.
        message: String,
    },
    /// A problem with the file as a whole (empty, no accepted assignments, …).
    #[error("{file}: {message}", file = .file.display())]
    File {
        /// The file.
        file: PathBuf,
        /// What, in words.
        message: String,
    },
    /// A problem in a columnar input (Parquet, Arrow batches): `file:row group G:row R:
    /// message`, both indices 0-based (as `pyarrow`'s `read_row_group` and Arrow arrays
    /// count); the row is `None` when a whole row group is to blame (it cannot be decoded).
    /// For Arrow record batches "row group" is the batch.
    #[error("{file}:row group {row_group}{row}: {message}", file = .file.display(),
        row = .row.map(|r| format!(":row {r}")).unwrap_or_default())]
    Columnar {
        /// The file (or the source's name).
        file: PathBuf,
        /// 0-based row group (or record batch).
        row_group: usize,
        /// 0-based row within the row group, when one row is to blame.
        row: Option<u64>,
        /// What, in words.
        message: String,
    },
    /// A typed [`DataError`] about one field or row of an input file, at its location
    /// (`file:line:column`; the error's own `record` counts data rows, not lines).
    #[error("{location}: {source}")]
    Data {
        /// Where the offending field (or row) is.
        location: Location,
        /// What is wrong with it (boxed to keep [`Error`] small).
        #[source]
        source: Box<DataError>,
    },
}

/// Everything the library can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Invalid parameters (found before fitting).
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// A problem with the data or side inputs.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A problem reading a file.
    #[error(transparent)]
    Input(#[from] InputError),
}

/// The broad class of an error, for callers that map errors onto their own exception types:
/// the Python package raises `ValueError` for [`ErrorKind::InvalidValue`], `KeyError` for
/// [`ErrorKind::MissingKey`], `TypeError` for [`ErrorKind::WrongType`] and `OSError` for
/// [`ErrorKind::Io`]. The Toloka backends classify their errors the same way
/// ([`BackendError::kind`](crate::toloka::BackendError::kind)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A value is out of range, malformed or inconsistent with the data (`ValueError`).
    InvalidValue,
    /// A name is looked up and not found: a worker without a skill, a gold or prior label the
    /// data does not have (`KeyError`).
    MissingKey,
    /// An argument of the wrong kind: an unknown parameter, a JSON value of the wrong type, a
    /// required side input not given (`TypeError`, as Python for a bad keyword argument).
    WrongType,
    /// A file could not be read, or a connection failed (`OSError`).
    Io,
}

impl Error {
    /// The broad class of this error ([`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Params(e) => e.kind(),
            Self::Data(e) => e.kind(),
            Self::Input(e) => e.kind(),
        }
    }
}

impl ParamsError {
    /// The broad class of this error ([`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Unknown { .. } | Self::Type { .. } | Self::WrongInput { .. } => {
                ErrorKind::WrongType
            }
            Self::UnknownInnerMethod { .. } => ErrorKind::MissingKey,
            _ => ErrorKind::InvalidValue,
        }
    }
}

impl DataError {
    /// The broad class of this error ([`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::MissingInput { .. } => ErrorKind::WrongType,
            Self::MissingSkill { .. }
            | Self::MissingLabelPrior { .. }
            | Self::UnknownGoldLabel { .. }
            | Self::InitialErrorUnknownLabel { .. } => ErrorKind::MissingKey,
            Self::InClass { source, .. } => source.kind(),
            _ => ErrorKind::InvalidValue,
        }
    }
}

impl InputError {
    /// The broad class of this error ([`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Io { .. } => ErrorKind::Io,
            Self::Data { source, .. } => source.kind(),
            _ => ErrorKind::InvalidValue,
        }
    }
}

/// `Result` with the crate's [`Error`] by default.
pub type Result<T, E = Error> = std::result::Result<T, E>;
