//! Response tables: CSV/TSV with a header naming the task, worker and label columns.

use std::io::Read;
use std::path::Path;

use csv::ByteRecord;

use super::plain::{read_plain, read_plain_label_counts};
use super::source::{ResponseSink, at, delimiter_for, read_opened};
use super::table::Table;
use crate::error::Error;
use crate::responses::{DuplicatePolicy, LabelCounts, Responses};

/// How to read a response table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Header name of the task column.
    pub task_column: String,
    /// Header name of the worker column.
    pub worker_column: String,
    /// Header name of the label column.
    pub label_column: String,
    /// Field delimiter; `None` picks tab for `.tsv`/`.tab` files and comma otherwise
    /// (including stdin).
    pub delimiter: Option<u8>,
    /// What to do with repeated (task, worker) pairs.
    pub duplicates: DuplicatePolicy,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            task_column: "task".into(),
            worker_column: "worker".into(),
            label_column: "label".into(),
            delimiter: None,
            duplicates: DuplicatePolicy::Keep,
        }
    }
}

impl ReadOptions {
    /// The delimiter to use for an input called `name`.
    pub fn delimiter_for(&self, name: &Path) -> u8 {
        self.delimiter.unwrap_or_else(|| delimiter_for(name))
    }

    /// Why these options cannot be read, when one column is named for two roles (the same
    /// field would be read as, say, both worker and label).
    pub(crate) fn role_clash(&self) -> Option<String> {
        let names = [&self.task_column, &self.worker_column, &self.label_column];
        let roles = ["task", "worker", "label"];
        (1..3).find_map(|i| {
            let j = names[..i].iter().position(|n| *n == names[i])?;
            Some(format!(
                "column \"{}\" is named for two roles ({} and {}); each role needs its own column",
                names[i], roles[j], roles[i]
            ))
        })
    }
}

/// Reads a response table from `path` (`-` for stdin). A name ending in `.parquet` is read
/// as Parquet (feature `parquet`, else an error), with the same column names.
///
/// Files of plain (unquoted) CSV/TSV are read in blocks parsed in parallel (see
/// `io::plain`); any other input, or a file with a problem to report, goes through the
/// general reader. Both give the same [`Responses`] and the same errors.
pub fn read_responses(path: impl AsRef<Path>, options: &ReadOptions) -> Result<Responses, Error> {
    read_responses_with_progress(path, options, &mut |_, _| {})
}

/// [`read_responses`] calling `progress(bytes_read, file_size)` now and then (after each
/// block of the parallel reader).
pub fn read_responses_with_progress(
    path: impl AsRef<Path>,
    options: &ReadOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Responses, Error> {
    let path = path.as_ref();
    if super::is_parquet(path) {
        #[cfg(feature = "parquet")]
        return super::read_parquet(path, options);
        #[cfg(not(feature = "parquet"))]
        return Err(super::source::whole(
            path,
            "reading Parquet needs the `parquet` feature, which this build lacks",
        ));
    }
    if let Some(clash) = options.role_clash() {
        return Err(at(path, 1, None, clash));
    }
    if path.as_os_str() != "-"
        && options.duplicates != DuplicatePolicy::Reject
        && let Some(responses) = read_plain(path, options, progress)?
    {
        return Ok(responses);
    }
    read_opened(path, options, read_responses_from)
}

/// Reads how often each task got each label in the response table at `path`, all that an
/// unweighted majority vote needs ([`LabelCounts`],
/// [`MajorityVote::aggregate_counts`](crate::MajorityVote::aggregate_counts)), where counting
/// serves: a file of plain CSV/TSV, duplicates kept, is counted as it is parsed in parallel,
/// without a table of its rows or the task index (less memory, and at 10⁶ responses two
/// thirds of the time of reading the responses). The counts are those of
/// [`LabelCounts::from_responses`] on [`read_responses`], and the errors the same.
///
/// `Ok(None)` where counting does not serve, with nothing else read: stdin, Parquet, quoted
/// fields, another duplicate policy, or counts that would take more memory than the responses
/// (many labels, each on few tasks). Read the responses then.
pub fn read_label_counts(
    path: impl AsRef<Path>,
    options: &ReadOptions,
) -> Result<Option<LabelCounts>, Error> {
    read_label_counts_with_progress(path, options, &mut |_, _| {})
}

/// [`read_label_counts`] calling `progress(bytes_read, file_size)` now and then.
pub fn read_label_counts_with_progress(
    path: impl AsRef<Path>,
    options: &ReadOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Option<LabelCounts>, Error> {
    let path = path.as_ref();
    if super::is_parquet(path) || options.role_clash().is_some() || path.as_os_str() == "-" {
        return Ok(None);
    }
    read_plain_label_counts(path, options, progress)
}

/// Reads a response table from any reader; `source_name` is used in error messages and, when
/// no delimiter is set, to pick one by extension.
pub fn read_responses_from<R: Read>(
    reader: R,
    source_name: &str,
    options: &ReadOptions,
) -> Result<Responses, Error> {
    let file = Path::new(source_name);
    if let Some(clash) = options.role_clash() {
        return Err(at(file, 1, None, clash));
    }
    let mut table = Table::open(reader, file, options.delimiter_for(file), "responses")?;
    let task = table.column(&options.task_column)?;
    let worker = table.column(&options.worker_column)?;
    let label = table.column(&options.label_column)?;
    let mut sink = ResponseSink::new(options.duplicates);
    let mut record = ByteRecord::new();
    while table.next(&mut record)? {
        let line = table.line();
        let t = table.required(&record, task)?;
        let w = table.required(&record, worker)?;
        let l = table.required(&record, label)?;
        sink.push(table.file(), line, t, w, l)?;
    }
    // A header without rows is an empty table (crowd-kit takes empty frames); an input
    // without even a header stays an error (`Table::open`).
    sink.finish(table.file(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Responses, Error> {
        read_responses_from(text.as_bytes(), "t.csv", &ReadOptions::default())
    }

    fn message(text: &str) -> String {
        read(text).unwrap_err().to_string()
    }

    #[test]
    fn reads_columns_in_any_order_and_ignores_extras() {
        let data = read("label,extra,worker,task\na,x,w1,t1\nb,y,w2,t1\na,z,w1,t2\n").unwrap();
        assert_eq!(
            (data.n_responses(), data.n_tasks(), data.n_workers()),
            (3, 2, 2)
        );
        assert_eq!(data.label_names(), ["a", "b"]);
    }

    #[test]
    fn bom_crlf_and_quotes() {
        let data = read("\u{feff}task,worker,label\r\n\"t,1\",w1,\"a \"\"b\"\"\nc\"\r\n").unwrap();
        assert_eq!(data.task_name(0), "t,1");
        assert_eq!(data.label_name(0), "a \"b\"\nc");
    }

    #[test]
    fn tab_delimiter_by_extension() {
        let data = read_responses_from(
            "task\tworker\tlabel\nt,1\tw\tx\n".as_bytes(),
            "in.tsv",
            &ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(data.task_name(0), "t,1");
    }

    #[test]
    fn errors_have_locations() {
        assert_eq!(
            message("task,worker,answer\nt,w,a\n"),
            "t.csv:1: missing column \"label\" (header: task, worker, answer)"
        );
        assert_eq!(message(""), "t.csv: no responses (the file is empty)");
        // A header without rows is an empty table, not an error (as crowd-kit's empty frames).
        assert!(read("task,worker,label\n").unwrap().is_empty());
        assert_eq!(
            message("task,worker,label\nt,w,a\nt,w\n"),
            "t.csv:3: expected 3 fields as in the header, found 2"
        );
        assert_eq!(
            message("task,worker,label\nt,w,a\nt,,a\n"),
            "t.csv:3:2: empty worker"
        );
        assert_eq!(
            message("task,worker,label\nt,w,a\nt,\"w2,a\nu,w,b\n"),
            "t.csv:3:2: unterminated quoted field (the closing quote is missing)"
        );
        assert_eq!(
            message("task,worker,label\nt,w,a\nt,\"w2\",\"a\nu,w,b"),
            "t.csv:3:3: unterminated quoted field (the closing quote is missing)"
        );
        let err = read_responses_from(
            &b"task,worker,label\nt,w,\xff\n"[..],
            "t.csv",
            &ReadOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv:2:3: invalid UTF-8 in column \"label\" (after byte 0)"
        );
    }

    #[test]
    fn line_numbers_count_blank_lines_crlf_and_quoted_newlines() {
        assert_eq!(
            message("task,worker,label\r\nt,w,a\r\n\r\nt,\"w\r\nx\",a\r\nt,w,\r\n"),
            "t.csv:6:3: empty label"
        );
    }

    #[test]
    fn duplicates_rejected_with_both_lines() {
        let options = ReadOptions {
            duplicates: DuplicatePolicy::Reject,
            ..ReadOptions::default()
        };
        let err = read_responses_from(
            "task,worker,label\nt,w,a\nt,v,a\n\nt,w,b\n".as_bytes(),
            "t.csv",
            &options,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.csv:5: duplicate response: worker \"w\" answered task \"t\" more than once (lines 2 and 5)"
        );
    }

    #[test]
    fn too_many_labels() {
        let mut text = String::from("task,worker,label\n");
        for i in 0..=65536 {
            text.push_str(&format!("t,w{i},l{i}\n"));
        }
        assert_eq!(
            message(&text),
            "t.csv: too many distinct labels: 65537 (at most 65536 are supported)"
        );
    }

    #[test]
    fn column_names_are_configurable() {
        let options = ReadOptions {
            task_column: "item".into(),
            worker_column: "annotator".into(),
            label_column: "answer".into(),
            delimiter: Some(b';'),
            ..ReadOptions::default()
        };
        let data = read_responses_from("item;annotator;answer\n1;a;x\n".as_bytes(), "-", &options)
            .unwrap();
        assert_eq!(data.n_responses(), 1);
    }
}
