//! Error types, one enum per concern, gathered into the crate-level [`Error`].

use std::fmt;
use std::path::PathBuf;

/// Where in an input a problem was found: file (or `<stdin>`), 1-based line, optional column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: u64,
    pub column: Option<u64>,
}

impl Location {
    pub fn new(file: impl Into<PathBuf>, line: u64) -> Self {
        Self {
            file: file.into(),
            line,
            column: None,
        }
    }

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

/// Problems with the content of a response table, independent of the file it came from.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    #[error("empty {field} in response #{record}")]
    EmptyField { field: &'static str, record: u64 },
    #[error("no responses")]
    NoResponses,
    #[error("too many distinct labels: {0} (at most 65536 are supported)")]
    TooManyLabels(usize),
    #[error("too many distinct {what}: more than {max}")]
    TooManyIds { what: &'static str, max: u64 },
    #[error(
        "duplicate response: worker {worker:?} answered task {task:?} more than once (responses #{first} and #{second})"
    )]
    DuplicateResponse {
        task: String,
        worker: String,
        first: u64,
        second: u64,
    },
    #[error("gold label {label:?} of task {task:?} is not among the labels of the responses")]
    UnknownGoldLabel { task: String, label: String },
    /// Gold labels were given but none of their tasks occurs in the responses: usually the
    /// wrong file, or task ids spelled differently (another task column, case, padding).
    #[error(
        "none of the {gold_tasks} gold task{} occurs in the responses (check the task column and the spelling of task ids)",
        if *gold_tasks == 1 { "" } else { "s" }
    )]
    NoGoldOverlap { gold_tasks: usize },
    #[error("skill of worker {worker:?} is missing")]
    MissingSkill { worker: String },
    #[error("skill of worker {worker:?} is not a finite number: {value}")]
    InvalidSkill { worker: String, value: f64 },
    #[error("skill of worker {worker:?} is {value}, outside 0..=100")]
    SkillOutOfRange { worker: String, value: f64 },
    #[error("every response of task {task:?} was dropped because its workers have no skill")]
    TaskWithoutSkilledWorkers { task: String },
    #[error("{method} needs exactly {expected} labels, the data has {found}")]
    WrongLabelCount {
        method: &'static str,
        expected: usize,
        found: usize,
    },
    #[error("answer domain has {domain} values but the responses use label {label:?} outside it")]
    LabelOutsideDomain { label: String, domain: usize },
    #[error("{0}")]
    Invalid(String),
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
}

/// An invalid hyper-parameter, found when parameters are validated, before fitting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamsError {
    #[error("{name} must be {rule}, got {value}")]
    OutOfRange {
        name: &'static str,
        rule: &'static str,
        value: String,
    },
    #[error("unknown parameter {name:?} for {method} (known: {known})")]
    Unknown {
        method: &'static str,
        name: String,
        known: &'static str,
    },
    #[error("parameter {name}: cannot parse {value:?} as {expected}")]
    Parse {
        name: String,
        value: String,
        expected: &'static str,
    },
    #[error("{0}")]
    Conflict(String),
}

/// A problem reading an input file, with its location.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: {source}", path = .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{location}: {message}")]
    Syntax { location: Location, message: String },
    #[error("{file}: {message}", file = .file.display())]
    File { file: PathBuf, message: String },
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
pub enum Error {
    #[error(transparent)]
    Params(#[from] ParamsError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Input(#[from] InputError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
