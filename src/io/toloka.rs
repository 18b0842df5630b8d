//! Toloka exports: the web UI "download results" TSV and the API's Assignment objects, and
//! [`Selection`], the one place that decides which answers of an export are aggregated (these
//! readers and the local Toloka backend, `toloka::LocalBackend`, both follow it).
//!
//! Only accepted work enters aggregation (toloka-api.md §5.1); the statuses to keep are
//! configurable and compared case-insensitively. The TSV spells acceptance `APPROVED`, the API
//! `ACCEPTED`; the two are the same status.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use csv::ByteRecord;
use serde_json::Value;

use super::gold::GoldCollector;
use super::json::{ItemPosition, for_each_item};
use super::source::{ResponseSink, at, read_all, read_opened, whole};
use super::table::Table;
use crate::aggregation::Gold;
use crate::error::Error;
use crate::responses::{DuplicatePolicy, Responses};
use crate::toloka::Assignment;

/// Which answers of a Toloka export are aggregated: the one place that decides status
/// filtering, repeated answers and empty answers, for the readers of this module
/// ([`Selection::readers`], their default) and for the local Toloka backend
/// ([`Selection::toloka`], what `toloka::LocalBackend` applies).
///
/// * **Status**: an assignment counts when its status is one of `statuses`, compared
///   case-insensitively; `APPROVED` (the results TSV's spelling) and `ACCEPTED` (the API's)
///   are the same status. A results TSV without a status column is all accepted.
/// * **Repeated answers** of one Toloker to one task: `duplicates` ([`DuplicatePolicy`]).
/// * **Empty answers** (the field absent, `null` or `""` in an assignment that counts):
///   `empty` ([`EmptyAnswers`]).
///
/// The two presets differ on purpose: the readers feed crowd-kit's methods one field, so they
/// keep every answer (crowd-kit does) and refuse an empty one (the field is the label:
/// dropping it silently would hide a broken export); the backend answers as Toloka does,
/// counting a Toloker's answer to a task once (the last in file order) and excluding
/// non-required fields left empty from that field's aggregation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Assignment statuses that count (case-insensitive; `APPROVED` = `ACCEPTED`).
    pub statuses: Vec<String>,
    /// A Toloker's repeated answers to one task.
    pub duplicates: DuplicatePolicy,
    /// Answers whose field is empty.
    pub empty: EmptyAnswers,
}

/// What [`Selection`] does with an empty answer of an assignment that counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmptyAnswers {
    /// An error naming the cell (TSV) or the assignment (JSON).
    Error,
    /// Left out of the aggregation.
    Skip,
}

impl Selection {
    /// The readers' rules: ACCEPTED (and APPROVED) assignments, every answer kept, an empty
    /// answer an error.
    pub fn readers() -> Self {
        Self {
            statuses: vec!["ACCEPTED".into()],
            duplicates: DuplicatePolicy::Keep,
            empty: EmptyAnswers::Error,
        }
    }

    /// The local Toloka backend's rules: ACCEPTED assignments, a repeated answer counted once
    /// (the last), an empty answer left out.
    pub fn toloka() -> Self {
        Self {
            statuses: vec!["ACCEPTED".into()],
            duplicates: DuplicatePolicy::KeepLast,
            empty: EmptyAnswers::Skip,
        }
    }

    /// Whether an assignment with this status counts.
    pub fn keeps(&self, status: &str) -> bool {
        let status = status.trim();
        let canonical = |s: &str| {
            if s.eq_ignore_ascii_case("APPROVED") {
                "ACCEPTED".to_string()
            } else {
                s.to_ascii_uppercase()
            }
        };
        let status = canonical(status);
        self.statuses.iter().any(|k| canonical(k.trim()) == status)
    }
}

impl Default for Selection {
    /// [`Selection::readers`].
    fn default() -> Self {
        Self::readers()
    }
}

/// The label an answer value aggregates as: a string as it is, any other value as its JSON
/// text (`true`, `3`). The one conversion of Toloka output values to labels, for these readers
/// and for the local backend (which matches labels to a field's typed allowed values by it).
pub(crate) fn label_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The label of one answer to `field` (its `output_values` entry), or `None` when the answer
/// is empty — the field absent, `null` or `""` — which [`Selection::empty`] then decides on.
/// Every reader of Toloka answers (these readers and `toloka::LocalBackend`) goes through it,
/// so that "empty" means the same everywhere.
pub(crate) fn answer_label(value: Option<&Value>) -> Option<String> {
    value
        .filter(|value| !value.is_null())
        .map(label_text)
        .filter(|label| !label.is_empty())
}

/// How to read a web UI results TSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TolokaTsvOptions {
    /// The output field whose values are the labels (column `OUTPUT:<field>`).
    pub field: String,
    /// Which rows are aggregated (default: [`Selection::readers`], with the statuses listed as
    /// `APPROVED, ACCEPTED`, the TSV's spelling first).
    pub selection: Selection,
}

impl Default for TolokaTsvOptions {
    fn default() -> Self {
        Self {
            field: "result".into(),
            selection: Selection {
                statuses: vec!["APPROVED".into(), "ACCEPTED".into()],
                ..Selection::readers()
            },
        }
    }
}

/// How to read an API export of Assignment objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentsOptions {
    /// The key of `output_values` whose values are the labels.
    pub field: String,
    /// Which answers are aggregated (default: [`Selection::readers`]).
    pub selection: Selection,
}

impl Default for AssignmentsOptions {
    fn default() -> Self {
        Self {
            field: "result".into(),
            selection: Selection::readers(),
        }
    }
}

/// Reads the responses of a web UI results TSV (`-` for stdin). See
/// [`read_toloka_tsv_with_gold`].
pub fn read_toloka_tsv(
    path: impl AsRef<Path>,
    options: &TolokaTsvOptions,
) -> Result<Responses, Error> {
    read_toloka_tsv_with_gold(path, options).map(|(responses, _)| responses)
}

/// Reads a web UI results TSV: the responses and the gold labels of its `GOLDEN:<field>`
/// column (empty when the column is absent).
///
/// * worker: `ASSIGNMENT:worker_id`; label: `OUTPUT:<field>`;
/// * task: `ASSIGNMENT:task_id` when present, else the `INPUT:` values in header order as a
///   JSON array of strings (for example `["https://x/1.png","cats"]`);
/// * rows whose `ASSIGNMENT:status` is not kept are skipped (all rows are kept when the column
///   is absent); gold labels are read from every row, whatever its status, since they belong
///   to the task. `ACCEPT:`, `HINT:` and other columns are ignored;
/// * a kept row must have a worker; an empty `OUTPUT:<field>` cell follows the options'
///   [`Selection`]: by default an error that names the cell (`file:line:column: empty
///   OUTPUT:<field>`), so an empty answer is never dropped silently, or skipped with
///   [`EmptyAnswers::Skip`]. Rows that are not kept (rejected, skipped, expired…) may leave it
///   empty.
pub fn read_toloka_tsv_with_gold(
    path: impl AsRef<Path>,
    options: &TolokaTsvOptions,
) -> Result<(Responses, Gold), Error> {
    read_opened(path.as_ref(), options, read_toloka_tsv_from)
}

/// Like [`read_toloka_tsv_with_gold`], from any reader; `source_name` names it in errors.
pub fn read_toloka_tsv_from<R: Read>(
    reader: R,
    source_name: &str,
    options: &TolokaTsvOptions,
) -> Result<(Responses, Gold), Error> {
    let file = Path::new(source_name);
    let mut table = Table::open(reader, file, b'\t', "responses")?;
    let worker = table.column("ASSIGNMENT:worker_id")?;
    let label = table.column(&format!("OUTPUT:{}", options.field))?;
    let golden = table.find(&format!("GOLDEN:{}", options.field))?;
    let status = table.find("ASSIGNMENT:status")?;
    let task_id = table.find("ASSIGNMENT:task_id")?;
    let inputs: Vec<usize> = (0..table.header().len())
        .filter(|&i| table.header()[i].starts_with("INPUT:"))
        .collect();
    if task_id.is_none() && inputs.is_empty() {
        return Err(table.missing(
            r#"column "ASSIGNMENT:task_id" and no INPUT: columns to identify tasks"#,
            "",
        ));
    }
    let selection = &options.selection;
    let mut sink = ResponseSink::new(selection.duplicates);
    let mut gold = GoldCollector::default();
    let mut by_status = StatusCounts::default();
    let mut record = ByteRecord::new();
    while table.next(&mut record)? {
        let kept = match status {
            Some(column) => by_status.count(table.text(&record, column)?, selection),
            None => true,
        };
        let gold_label = match golden {
            Some(column) => table.text(&record, column)?,
            None => "",
        };
        if !kept && gold_label.is_empty() {
            continue;
        }
        let task = match task_id {
            Some(column) => table.required(&record, column)?.to_string(),
            None => {
                let mut values = Vec::with_capacity(inputs.len());
                for &column in &inputs {
                    values.push(table.text(&record, column)?);
                }
                serde_json::to_string(&values).unwrap_or_default()
            }
        };
        if !gold_label.is_empty() {
            gold.insert(file, table.line(), &task, gold_label)?;
        }
        if kept {
            let w = table.required(&record, worker)?;
            if selection.empty == EmptyAnswers::Skip && table.text(&record, label)?.is_empty() {
                continue;
            }
            let l = table.required(&record, label)?;
            sink.push(file, table.line(), &task, w, l)?;
        }
    }
    if by_status.total > 0 && by_status.kept == 0 {
        return Err(whole(
            file,
            by_status.nothing_kept("rows", &selection.statuses),
        ));
    }
    let responses = sink.finish(file, Some("the file has a header but no rows"))?;
    Ok((responses, gold.into_gold()))
}

/// Rows or assignments seen, by status, to explain an input where nothing was kept.
#[derive(Default)]
struct StatusCounts {
    total: u64,
    kept: u64,
    counts: BTreeMap<String, u64>,
}

impl StatusCounts {
    /// Counts `status` and tells whether `selection` keeps it.
    fn count(&mut self, status: &str, selection: &Selection) -> bool {
        let status = status.trim();
        self.total += 1;
        let key = if status.is_empty() {
            "(empty)".to_string()
        } else {
            status.to_ascii_uppercase()
        };
        *self.counts.entry(key).or_default() += 1;
        let kept = selection.keeps(status);
        self.kept += kept as u64;
        kept
    }

    fn nothing_kept(&self, items: &str, keep: &[String]) -> String {
        let seen: Vec<String> = self
            .counts
            .iter()
            .map(|(status, n)| format!("{status} {n}"))
            .collect();
        format!(
            "no accepted assignments: {} {items}, by status: {} (kept statuses: {})",
            self.total,
            seen.join(", "),
            keep.join(", ")
        )
    }
}

/// Reads an API export of assignments (`-` for stdin): a JSON array of Assignment objects or
/// one object per line, parsed as [`Assignment`](crate::toloka::Assignment) and checked as
/// the local Toloka backend checks them (a Toloker, as many solutions as tasks, task ids; the
/// backend also asks for assignment ids, this reader does not). Each accepted assignment contributes one response per task:
/// task `tasks[i].id`, worker `user_id`, label `solutions[i].output_values[field]` (strings as
/// they are, other values as JSON text). Unknown fields are ignored. Statuses, repeated and
/// empty answers follow the options' [`Selection`].
pub fn read_assignments(
    path: impl AsRef<Path>,
    options: &AssignmentsOptions,
) -> Result<Responses, Error> {
    let (bytes, name) = read_all(path.as_ref())?;
    read_assignments_from_bytes(&bytes, &name.to_string_lossy(), options)
}

/// Like [`read_assignments`], from bytes in memory; `source_name` names them in errors.
pub fn read_assignments_from_bytes(
    bytes: &[u8],
    source_name: &str,
    options: &AssignmentsOptions,
) -> Result<Responses, Error> {
    let file = Path::new(source_name);
    let selection = &options.selection;
    let mut sink = ResponseSink::new(selection.duplicates);
    let mut by_status = StatusCounts::default();
    for_each_item(bytes, file, "assignment", |a: Assignment, pos| {
        let located = |message: String| at(file, pos.line, Some(pos.column), message);
        let status = a.status.as_str();
        if status.is_empty() {
            return Err(located("assignment has no status".into()));
        }
        if !by_status.count(status, selection) {
            return Ok(());
        }
        a.check(true).map_err(located)?;
        add_answers(
            &mut sink,
            file,
            pos,
            &a,
            &options.field,
            selection.empty,
            &located,
        )
    })?;
    if by_status.total > 0 && by_status.kept == 0 {
        return Err(whole(
            file,
            by_status.nothing_kept("assignments", &selection.statuses),
        ));
    }
    sink.finish(file, Some("the file has no assignments with tasks"))
}

/// Pushes the answers to `field` of one accepted, [checked](Assignment::check) assignment;
/// `located` turns a message into an error at the assignment's position.
fn add_answers(
    sink: &mut ResponseSink,
    file: &Path,
    pos: ItemPosition,
    assignment: &Assignment,
    field: &str,
    empty: EmptyAnswers,
    located: &dyn Fn(String) -> Error,
) -> Result<(), Error> {
    let worker = &assignment.user_id;
    for (i, (task, solution)) in assignment.answers().enumerate() {
        let task = task.id.as_deref().unwrap_or_default();
        let value = solution.output_values.get(field);
        let Some(label) = answer_label(value) else {
            if empty == EmptyAnswers::Skip {
                continue;
            }
            if value.is_some_and(|value| !value.is_null()) {
                return Err(located(format!(
                    "solution {} has an empty output value {field:?}",
                    i + 1
                )));
            }
            let fields: Vec<&str> = solution.output_values.keys().map(String::as_str).collect();
            return Err(located(format!(
                "solution {} has no output value {field:?} (output fields: {})",
                i + 1,
                fields.join(", ")
            )));
        };
        sink.push(file, pos.line, task, worker, &label)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TSV: &str = "INPUT:image\tOUTPUT:result\tGOLDEN:result\tHINT:text\tASSIGNMENT:worker_id\tASSIGNMENT:status\n\
        https://x/1.png\tOK\t\t\tw1\tAPPROVED\n\
        https://x/1.png\tBAD\t\t\tw2\tREJECTED\n\
        https://x/2.png\tBAD\tBAD\thint\tw1\tapproved\n\
        https://x/2.png\tOK\tBAD\thint\tw3\tSUBMITTED\n";

    #[test]
    fn tsv_keeps_accepted_rows_and_reads_gold() {
        let (data, gold) =
            read_toloka_tsv_from(TSV.as_bytes(), "r.tsv", &TolokaTsvOptions::default()).unwrap();
        assert_eq!(
            (data.n_responses(), data.n_tasks(), data.n_workers()),
            (2, 2, 1)
        );
        assert_eq!(data.task_name(0), "[\"https://x/1.png\"]");
        assert_eq!(gold.get("[\"https://x/2.png\"]"), Some("BAD"));
        assert_eq!(gold.len(), 1);
    }

    #[test]
    fn tsv_without_accepted_rows() {
        let options = TolokaTsvOptions {
            selection: Selection {
                statuses: vec!["EXPIRED".into()],
                ..Selection::readers()
            },
            ..TolokaTsvOptions::default()
        };
        let err = read_toloka_tsv_from(TSV.as_bytes(), "r.tsv", &options).unwrap_err();
        assert_eq!(
            err.to_string(),
            "r.tsv: no accepted assignments: 4 rows, by status: APPROVED 2, REJECTED 1, SUBMITTED 1 (kept statuses: EXPIRED)"
        );
    }

    #[test]
    fn approved_and_accepted_are_one_status_in_any_case() {
        for selection in [Selection::readers(), Selection::toloka()] {
            for status in ["ACCEPTED", "accepted", " Approved ", "APPROVED"] {
                assert!(selection.keeps(status), "{status}");
            }
            for status in ["REJECTED", "SUBMITTED", "", "ACCEPTED2"] {
                assert!(!selection.keeps(status), "{status}");
            }
        }
        let tsv_spelling = Selection {
            statuses: vec!["approved".into()],
            ..Selection::readers()
        };
        assert!(tsv_spelling.keeps("ACCEPTED"));
        assert_eq!(Selection::default(), Selection::readers());
    }

    #[test]
    fn the_selection_decides_repeats_and_empty_answers() {
        let tsv = "INPUT:image\tOUTPUT:result\tASSIGNMENT:worker_id\tASSIGNMENT:status\n\
            a\tOK\tw1\tAPPROVED\n\
            a\tBAD\tw1\tAPPROVED\n\
            b\t\tw1\tAPPROVED\n\
            b\tOK\tw2\tAPPROVED\n";
        let read = |selection: Selection| {
            let options = TolokaTsvOptions {
                selection,
                ..TolokaTsvOptions::default()
            };
            read_toloka_tsv_from(tsv.as_bytes(), "r.tsv", &options).map(|(data, _)| data)
        };
        let err = read(Selection::readers()).unwrap_err();
        assert_eq!(err.to_string(), "r.tsv:4:2: empty OUTPUT:result");
        let toloka = read(Selection::toloka()).unwrap();
        // The repeat of w1 on a counts once (its last answer, BAD); the empty answer is out.
        assert_eq!(toloka.n_responses(), 2);
        assert_eq!(
            toloka.label_name(toloka.by_task().row(0).1[0] as usize),
            "BAD"
        );
        let keep_all = read(Selection {
            empty: EmptyAnswers::Skip,
            ..Selection::readers()
        })
        .unwrap();
        assert_eq!(keep_all.n_responses(), 3);
        let json = [
            assignment("w1", "ACCEPTED", "t1", "\"OK\""),
            assignment("w2", "ACCEPTED", "t1", "\"\""),
            assignment("w3", "ACCEPTED", "t1", "null"),
        ]
        .join("\n");
        let options = AssignmentsOptions {
            selection: Selection::toloka(),
            ..AssignmentsOptions::default()
        };
        let data = read_assignments_from_bytes(json.as_bytes(), "a.jsonl", &options).unwrap();
        assert_eq!(data.n_responses(), 1);
        let strict = AssignmentsOptions::default();
        let err = read_assignments_from_bytes(json.as_bytes(), "a.jsonl", &strict).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a.jsonl:2:1: solution 1 has an empty output value \"result\""
        );
    }

    fn assignment(user: &str, status: &str, task: &str, result: &str) -> String {
        format!(
            r#"{{"id":"a","user_id":"{user}","status":"{status}","tasks":[{{"id":"{task}","input_values":{{"image":"x"}}}}],"solutions":[{{"output_values":{{"result":{result}}}}}],"reward":0.05}}"#
        )
    }

    #[test]
    fn assignments_array_and_lines() {
        let items = [
            assignment("w1", "ACCEPTED", "t1", "\"OK\""),
            assignment("w2", "REJECTED", "t1", "\"BAD\""),
            assignment("w2", "ACCEPTED", "t2", "true"),
            assignment("w3", "accepted", "t2", "3"),
        ];
        let array = format!("[\n{}\n]", items.join(",\n"));
        let lines = items.join("\n");
        for text in [array, lines] {
            let data = read_assignments_from_bytes(
                text.as_bytes(),
                "a.json",
                &AssignmentsOptions::default(),
            )
            .unwrap();
            assert_eq!(
                (data.n_responses(), data.n_tasks(), data.n_workers()),
                (3, 2, 3)
            );
            assert_eq!(data.label_names(), ["3", "OK", "true"]);
        }
    }

    #[test]
    fn assignment_errors_point_at_the_element() {
        let text = format!(
            "[\n{},\n  {}]",
            assignment("w1", "ACCEPTED", "t1", "\"OK\""),
            r#"{"user_id":"w2","status":"ACCEPTED","tasks":[{"id":"t1"},{"id":"t2"}],"solutions":[{"output_values":{"result":"OK"}}]}"#
        );
        let message = |text: &str, name| {
            read_assignments_from_bytes(text.as_bytes(), name, &AssignmentsOptions::default())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            message(&text, "a.json"),
            "a.json:3:3: assignment has 2 tasks but 1 solutions"
        );
        assert_eq!(
            message(&assignment("w1", "ACCEPTED", "t1", "null"), "a.jsonl"),
            "a.jsonl:1:1: solution 1 has no output value \"result\" (output fields: result)"
        );
    }
}
