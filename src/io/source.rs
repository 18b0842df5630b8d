//! Opening inputs (a path or `-` for stdin), error constructors and the response sink shared
//! by every response reader.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{DataError, Error, InputError, Location};
use crate::responses::{DuplicatePolicy, Responses, ResponsesBuilder};

/// The name stdin is reported under.
pub const STDIN_NAME: &str = "<stdin>";

/// Opens `path` for reading, `-` meaning stdin. Returns the reader and the name to report.
pub(crate) fn open(path: &Path) -> Result<(Box<dyn Read>, PathBuf), Error> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(std::io::stdin().lock()), PathBuf::from(STDIN_NAME)));
    }
    let file = File::open(path).map_err(|source| InputError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((Box::new(file), path.to_path_buf()))
}

/// Opens `path` (`-` for stdin) and hands the reader, the name to report and `options` to
/// `read`: every path-taking reader is this around its `_from` form
/// (`read_opened(path, options, read_x_from)`).
pub(crate) fn read_opened<O: ?Sized, T>(
    path: &Path,
    options: &O,
    read: impl FnOnce(Box<dyn Read>, &str, &O) -> Result<T, Error>,
) -> Result<T, Error> {
    let (reader, name) = open(path)?;
    read(reader, &name.to_string_lossy(), options)
}

/// Reads a whole input into memory (JSON inputs are parsed from a slice so that positions of
/// array elements can be reported).
pub(crate) fn read_all(path: &Path) -> Result<(Vec<u8>, PathBuf), Error> {
    let (mut reader, name) = open(path)?;
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|source| io_error(&name, source))?;
    Ok((bytes, name))
}

/// Whether `path` names a Parquet file (extension `.parquet`, any case): read by
/// [`read_responses`](super::read_responses) as Parquet (feature `parquet`).
pub fn is_parquet(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("parquet"))
}

/// The delimiter implied by a file name: tab for `.tsv`/`.tab`, comma otherwise (and for stdin).
pub fn delimiter_for(name: &Path) -> u8 {
    match name.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("tsv") || ext.eq_ignore_ascii_case("tab") => b'\t',
        _ => b',',
    }
}

pub(crate) fn io_error(file: &Path, source: std::io::Error) -> Error {
    InputError::Io {
        path: file.to_path_buf(),
        source,
    }
    .into()
}

/// An error at a line (and optionally a 1-based column) of `file`.
pub(crate) fn at(file: &Path, line: u64, column: Option<u64>, message: impl Into<String>) -> Error {
    let mut location = Location::new(file, line);
    location.column = column;
    InputError::Syntax {
        location,
        message: message.into(),
    }
    .into()
}

/// An error about the whole file.
pub(crate) fn whole(file: &Path, message: impl Into<String>) -> Error {
    InputError::File {
        file: file.to_path_buf(),
        message: message.into(),
    }
    .into()
}

/// Collects responses into a [`ResponsesBuilder`], remembering the input line of each one when
/// the duplicate policy needs it, so that builder errors can be reported with a location.
pub(crate) struct ResponseSink {
    builder: ResponsesBuilder,
    /// Input line of each pushed response; only kept under [`DuplicatePolicy::Reject`].
    lines: Option<Vec<u64>>,
}

impl ResponseSink {
    pub(crate) fn new(policy: DuplicatePolicy) -> Self {
        Self {
            builder: Responses::builder().duplicates(policy),
            lines: (policy == DuplicatePolicy::Reject).then(Vec::new),
        }
    }

    /// Adds a response read at `line`. Callers check for empty fields first (they know the
    /// column); the builder's own checks are mapped onto the line as a fallback.
    pub(crate) fn push(
        &mut self,
        file: &Path,
        line: u64,
        task: &str,
        worker: &str,
        label: &str,
    ) -> Result<(), Error> {
        self.builder
            .push(task, worker, label)
            .map_err(|err| match err {
                DataError::EmptyField { field, .. } => {
                    at(file, line, None, format!("empty {field}"))
                }
                other => at(file, line, None, other.to_string()),
            })?;
        if let Some(lines) = &mut self.lines {
            lines.push(line);
        }
        Ok(())
    }

    /// Builds the responses; `empty_message` explains an input without any response, which
    /// is an error (`None`: an empty table is fine).
    pub(crate) fn finish(
        self,
        file: &Path,
        empty_message: Option<&str>,
    ) -> Result<Responses, Error> {
        if let (true, Some(empty_message)) = (self.builder.is_empty(), empty_message) {
            return Err(whole(file, format!("no responses ({empty_message})")));
        }
        let lines = self.lines;
        self.builder.build().map_err(|err| match err {
            DataError::DuplicateResponse {
                task,
                worker,
                first,
                second,
            } => {
                let line_of = |record: u64| {
                    lines
                        .as_ref()
                        .zip((record as usize).checked_sub(1))
                        .and_then(|(l, i)| l.get(i).copied())
                        .unwrap_or(0)
                };
                let (first, second) = (line_of(first), line_of(second));
                at(
                    file,
                    second,
                    None,
                    format!(
                        "duplicate response: worker {worker:?} answered task {task:?} more than once (lines {first} and {second})"
                    ),
                )
            }
            other => whole(file, other.to_string()),
        })
    }
}
