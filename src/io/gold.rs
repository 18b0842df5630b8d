//! Gold (known true) labels: a CSV/TSV with task and label columns.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use csv::ByteRecord;

use super::responses::ReadOptions;
use super::source::{at, read_opened, whole};
use super::table::Table;
use crate::aggregation::Gold;
use crate::error::{Error, Location};

/// Reads gold labels from `path` (`-` for stdin). Uses the delimiter of `options` (by
/// extension when unset) and its task and label column names where the header has them, else
/// the default names `task` and `label` (a gold file keeps its own header when the responses'
/// columns are renamed); other columns are ignored.
pub fn read_gold(path: impl AsRef<Path>, options: &ReadOptions) -> Result<Gold, Error> {
    read_opened(path.as_ref(), options, read_gold_from)
}

/// Reads gold labels from any reader; `source_name` names it in errors.
///
/// A task listed twice with the same label is fine; with different labels it is an error
/// naming both lines.
pub fn read_gold_from<R: Read>(
    reader: R,
    source_name: &str,
    options: &ReadOptions,
) -> Result<Gold, Error> {
    let file = Path::new(source_name);
    let mut table = Table::open(reader, file, options.delimiter_for(file), "gold labels")?;
    let defaults = ReadOptions::default();
    let column = |name: &str, default: &str| match table.find(name)? {
        Some(i) => Ok(i),
        None if name != default && table.find(default)?.is_some() => table.column(default),
        None => table.column(name),
    };
    let task = column(&options.task_column, &defaults.task_column)?;
    let label = column(&options.label_column, &defaults.label_column)?;
    let mut gold = GoldCollector::default();
    let mut record = ByteRecord::new();
    while table.next(&mut record)? {
        let t = table.required(&record, task)?;
        let l = table.required(&record, label)?;
        gold.insert(file, table.line(), t, l)?;
    }
    gold.finish(file)
}

/// Builds a [`Gold`] while remembering the line of each task's label, to report conflicts.
#[derive(Default)]
pub(crate) struct GoldCollector {
    gold: Gold,
    lines: HashMap<String, u64>,
}

impl GoldCollector {
    pub(crate) fn insert(
        &mut self,
        file: &Path,
        line: u64,
        task: &str,
        label: &str,
    ) -> Result<(), Error> {
        match self.gold.get(task) {
            Some(previous) if previous == label => Ok(()),
            Some(previous) => {
                let first = self.lines.get(task).copied().unwrap_or(0);
                Err(at(
                    file,
                    line,
                    None,
                    format!(
                        "conflicting gold labels for task {task:?}: {previous:?} at line {first}, {label:?} at line {line}"
                    ),
                ))
            }
            None => {
                self.gold.insert(task, label);
                self.lines.insert(task.to_string(), line);
                let origin = self.gold.origin_mut();
                if origin.file().is_none() {
                    origin.set_file(file);
                }
                origin.set_location(task, Location::new(file, line));
                Ok(())
            }
        }
    }

    pub(crate) fn into_gold(self) -> Gold {
        self.gold
    }

    fn finish(self, file: &Path) -> Result<Gold, Error> {
        if self.gold.is_empty() {
            return Err(whole(
                file,
                "no gold labels (the file has a header but no rows)",
            ));
        }
        Ok(self.gold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Gold, Error> {
        read_gold_from(text.as_bytes(), "gold.csv", &ReadOptions::default())
    }

    #[test]
    fn reads_gold_and_accepts_identical_repeats() {
        let gold = read("task,label,note\nt1,a,x\nt2,b,y\nt1,a,z\n").unwrap();
        assert_eq!(gold.len(), 2);
        assert_eq!(gold.get("t1"), Some("a"));
        assert_eq!(gold.get("t2"), Some("b"));
    }

    #[test]
    fn conflicting_labels_name_both_lines() {
        assert_eq!(
            read("task,label\nt1,a\nt2,b\nt1,c\n")
                .unwrap_err()
                .to_string(),
            "gold.csv:4: conflicting gold labels for task \"t1\": \"a\" at line 2, \"c\" at line 4"
        );
    }

    #[test]
    fn empty_inputs() {
        assert_eq!(
            read("").unwrap_err().to_string(),
            "gold.csv: no gold labels (the file is empty)"
        );
        assert_eq!(
            read("task,label\n").unwrap_err().to_string(),
            "gold.csv: no gold labels (the file has a header but no rows)"
        );
        assert_eq!(
            read("task,label\nt1,\n").unwrap_err().to_string(),
            "gold.csv:2:2: empty label"
        );
    }
}
