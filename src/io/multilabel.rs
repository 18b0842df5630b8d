//! The multi-label response reader: CSV/TSV whose label field lists a set of classes
//! ([`MultiLabelResponses`], input format on its page).

use std::io::Read;
use std::path::Path;

use crate::error::{InputError, Location, Result};
use crate::methods::MultiLabelResponses;

impl MultiLabelResponses {
    /// Reads the CSV format above from `path`.
    pub fn read_path(path: impl AsRef<Path>, separator: char) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|source| InputError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::read(file, path, separator)
    }

    /// Reads the format above from `path` (`-` for stdin) as the response readers do: the
    /// column names and delimiter of `options` (delimiter by extension when unset), their
    /// error messages, and its duplicate policy for repeated (task, worker) pairs.
    pub fn read_with_options(
        path: &Path,
        separator: char,
        options: &super::ReadOptions,
    ) -> Result<Self> {
        use crate::responses::DuplicatePolicy;
        let (reader, name) = super::open(path)?;
        let delimiter = options.delimiter_for(&name);
        let mut table = super::Table::open(reader, &name, delimiter, "responses")?;
        let task = table.column(&options.task_column)?;
        let worker = table.column(&options.worker_column)?;
        let label = table.column(&options.label_column)?;
        let mut rows: Vec<(String, String, Vec<String>)> = Vec::new();
        // (task, worker) → (index in rows, line), for the duplicate policy.
        let mut seen = std::collections::HashMap::<(String, String), (usize, u64)>::new();
        let mut record = csv::ByteRecord::new();
        while table.next(&mut record)? {
            let line = table.line();
            let t = table.required(&record, task)?.to_string();
            let w = table.required(&record, worker)?.to_string();
            let field = table.text(&record, label)?;
            let set: Vec<String> = if field.is_empty() {
                Vec::new()
            } else {
                field.split(separator).map(str::to_string).collect()
            };
            if set.iter().any(String::is_empty) {
                return Err(table.error_at(Some(label), format!("empty class in {field:?}")));
            }
            if options.duplicates == DuplicatePolicy::Keep {
                rows.push((t, w, set));
                continue;
            }
            match seen.entry((t.clone(), w.clone())) {
                std::collections::hash_map::Entry::Occupied(mut entry) => {
                    let (index, first) = *entry.get();
                    if options.duplicates == DuplicatePolicy::Reject {
                        return Err(table.error_at(
                            None,
                            format!(
                                "duplicate response: worker {w:?} answered task {t:?} more than once (lines {first} and {line})"
                            ),
                        ));
                    }
                    rows[index].2 = set;
                    entry.insert((index, line));
                }
                std::collections::hash_map::Entry::Vacant(entry) => {
                    entry.insert((rows.len(), line));
                    rows.push((t, w, set));
                }
            }
        }
        // A header without rows is an empty table (crowd-kit aggregates it to an empty result).
        Ok(Self::from_sets(rows)?)
    }

    /// Reads the CSV format above; `source` names the input in error messages.
    pub fn read<R: Read>(reader: R, source: &Path, separator: char) -> Result<Self> {
        let mut csv = csv::ReaderBuilder::new().from_reader(reader);
        let syntax = |line: u64, message: String| InputError::Syntax {
            location: Location::new(source, line),
            message,
        };
        let header = csv.headers().map_err(|e| syntax(1, e.to_string()))?.clone();
        let column = |name: &str| {
            header
                .iter()
                .position(|h| h.trim_start_matches('\u{feff}') == name)
                .ok_or_else(|| syntax(1, format!("missing column {name:?}")))
        };
        let (task, worker, label) = (column("task")?, column("worker")?, column("label")?);
        let mut rows = Vec::new();
        for record in csv.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                syntax(line, e.to_string())
            })?;
            let line = record.position().map_or(0, |p| p.line());
            let field = |i: usize| record.get(i).unwrap_or("");
            let set: Vec<String> = if field(label).is_empty() {
                Vec::new()
            } else {
                field(label).split(separator).map(str::to_string).collect()
            };
            if set.iter().any(String::is_empty) {
                return Err(InputError::Syntax {
                    location: Location::new(source, line).with_column(label as u64 + 1),
                    message: format!("empty class in {:?}", field(label)),
                }
                .into());
            }
            for (i, name) in [(task, "task"), (worker, "worker")] {
                if field(i).is_empty() {
                    return Err(InputError::Syntax {
                        location: Location::new(source, line).with_column(i as u64 + 1),
                        message: format!("empty {name}"),
                    }
                    .into());
                }
            }
            rows.push((field(task).to_string(), field(worker).to_string(), set));
        }
        Ok(Self::from_sets(rows)?)
    }
}
