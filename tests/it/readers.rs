//! Input readers on the fixtures under `fixtures/io` (valid) and `fixtures/bad` (malformed).
//! Expected counts and messages are worked out by hand from the fixture files.

use std::path::{Path, PathBuf};

use crowdagg::io::{
    AssignmentsOptions, ReadOptions, TolokaTsvOptions, read_assignments, read_gold, read_responses,
    read_skills, read_toloka_tsv, read_toloka_tsv_with_gold,
};
use crowdagg::{DuplicatePolicy, Error, Responses};

fn fixture(kind: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(kind)
        .join(name)
}

fn valid(name: &str) -> PathBuf {
    fixture("io", name)
}

fn bad(name: &str) -> PathBuf {
    fixture("bad", name)
}

/// Asserts the error reads `<path><rest>`, e.g. rest = ":3:2: empty worker".
fn assert_error<T: std::fmt::Debug>(result: Result<T, Error>, path: &Path, rest: &str) {
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), format!("{}{rest}", path.display()));
}

fn shape(data: &Responses) -> (usize, usize, usize, usize) {
    (
        data.n_responses(),
        data.n_tasks(),
        data.n_workers(),
        data.n_labels(),
    )
}

fn defaults() -> ReadOptions {
    ReadOptions::default()
}

// ---- valid inputs ----

#[test]
fn csv_with_extra_column() {
    let data = read_responses(valid("responses.csv"), &defaults()).unwrap();
    assert_eq!(shape(&data), (5, 2, 3, 2));
    assert_eq!(data.label_names(), ["cat", "dog"]);
}

#[test]
fn tsv_by_extension_with_reordered_columns() {
    let data = read_responses(valid("responses.tsv"), &defaults()).unwrap();
    assert_eq!(shape(&data), (2, 1, 2, 2));
    assert_eq!(data.task_name(0), "t,1");
}

#[test]
fn bom_and_crlf() {
    let data = read_responses(valid("bom_crlf.csv"), &defaults()).unwrap();
    assert_eq!(shape(&data), (2, 1, 2, 2));
    assert_eq!(data.task_name(0), "t1");
    assert_eq!(data.label_names(), ["a", "b"]);
}

#[test]
fn quoted_fields_with_commas_quotes_and_newlines() {
    let data = read_responses(valid("quoted.csv"), &defaults()).unwrap();
    assert_eq!(shape(&data), (2, 2, 2, 2));
    assert_eq!(data.task_name(0), "t1, the first");
    assert_eq!(data.worker_name(1), "w2");
    assert_eq!(data.label_names(), ["plain", "say \"hi\"\nthen leave"]);
}

#[test]
fn gold_with_identical_repeat() {
    let gold = read_gold(valid("gold.csv"), &defaults()).unwrap();
    assert_eq!(gold.len(), 2);
    assert_eq!((gold.get("t1"), gold.get("t2")), (Some("cat"), Some("dog")));
}

#[test]
fn skills_in_every_layout() {
    let plain = read_skills(valid("skills.csv"), None).unwrap();
    assert_eq!(plain.len(), 3);
    assert_eq!(plain.get("w3"), Some(0.75));

    let toloka = read_skills(valid("skills_toloka.csv"), Some("501")).unwrap();
    assert_eq!(toloka.len(), 2);
    assert_eq!(
        (toloka.get("w1"), toloka.get("w2")),
        (Some(70.25), Some(80.0))
    );
    let path = valid("skills_toloka.csv");
    assert_error(
        read_skills(&path, None),
        &path,
        ": the file holds several skill ids (501, 502); choose one",
    );

    let json = read_skills(valid("user_skills.json"), None).unwrap();
    assert_eq!(
        (json.get("w1"), json.get("w2"), json.get("w3")),
        (Some(70.0), Some(80.0), Some(90.0))
    );
    let lines = read_skills(valid("user_skills.jsonl"), Some("501")).unwrap();
    assert_eq!((lines.get("w1"), lines.get("w2")), (Some(69.6), Some(80.0)));
}

/// The E3 data of toloka-api.md §7: only APPROVED rows count (the REJECTED answer of w3 on
/// t-0004 and the SUBMITTED one on t-0005 are skipped).
#[test]
fn toloka_results_tsv() {
    let (data, gold) =
        read_toloka_tsv_with_gold(valid("toloka_results.tsv"), &TolokaTsvOptions::default())
            .unwrap();
    assert_eq!(shape(&data), (8, 4, 3, 2));
    assert_eq!(
        data.task_names().collect::<Vec<_>>(),
        ["t-0001", "t-0002", "t-0003", "t-0004"]
    );
    assert_eq!(gold.len(), 1);
    assert_eq!(gold.get("t-0001"), Some("OK"));
}

#[test]
fn toloka_tsv_without_task_id_keys_tasks_by_inputs() {
    let data =
        read_toloka_tsv(valid("toloka_no_task_id.tsv"), &TolokaTsvOptions::default()).unwrap();
    assert_eq!(shape(&data), (3, 2, 2, 2));
    assert_eq!(data.task_name(0), r#"["1.png","cat?"]"#);
}

#[test]
fn assignments_json_and_jsonl() {
    for name in ["assignments.json", "assignments.jsonl"] {
        let data = read_assignments(valid(name), &AssignmentsOptions::default()).unwrap();
        assert_eq!(shape(&data), (8, 4, 3, 2), "{name}");
        let t3 = data.task_id("t-0003").unwrap();
        let (workers, labels) = data.by_task().row(t3);
        let answers: Vec<(&str, &str)> = workers
            .iter()
            .zip(labels)
            .map(|(&w, &l)| (data.worker_name(w as usize), data.label_name(l as usize)))
            .collect();
        assert_eq!(answers, [("w1", "OK"), ("w2", "BAD"), ("w3", "BAD")]);
    }
}

/// The web dataset (fixtures/data/web): counts from `fixtures/README.md`'s table.
#[test]
fn web_dataset_counts() {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/data/web/responses.csv"
    ));
    let data = read_responses(path, &defaults()).unwrap();
    assert_eq!(shape(&data), (15_567, 2_665, 177, 5));
}

// ---- malformed inputs: exact messages ----

#[test]
fn missing_and_renamed_columns() {
    let path = bad("missing_column.csv");
    assert_error(
        read_responses(&path, &defaults()),
        &path,
        ":1: missing column \"label\" (header: task, worker)",
    );
    let path = bad("renamed_column.csv");
    assert_error(
        read_responses(&path, &defaults()),
        &path,
        ":1: missing column \"worker\" (header: task, annotator, label)",
    );
    let renamed = ReadOptions {
        worker_column: "annotator".into(),
        ..defaults()
    };
    assert_eq!(read_responses(&path, &renamed).unwrap().n_responses(), 1);
    let path = bad("duplicate_header.csv");
    assert_error(
        read_responses(&path, &defaults()),
        &path,
        ":1:4: column \"label\" appears more than once in the header (columns 3 and 4)",
    );
}

#[test]
fn empty_file_and_header_only() {
    let path = bad("empty.csv");
    assert_error(
        read_responses(&path, &defaults()),
        &path,
        ": no responses (the file is empty)",
    );
    // A header without rows is an empty table (crowd-kit takes empty frames).
    let path = bad("header_only.csv");
    assert!(read_responses(&path, &defaults()).unwrap().is_empty());
}

#[test]
fn unterminated_quote_is_reported_where_it_opens() {
    let path = bad("unterminated_quote.csv");
    assert_error(
        read_responses(&path, &defaults()),
        &path,
        ":3:3: unterminated quoted field (the closing quote is missing)",
    );
}

/// A NUL byte is valid UTF-8 and simply part of the label.
#[test]
fn nul_byte_is_data() {
    let data = read_responses(bad("nul_byte.csv"), &defaults()).unwrap();
    assert_eq!(data.label_names(), ["a\0b"]);
}

#[test]
fn invalid_utf8_ragged_row_and_empty_label() {
    let path = bad("invalid_utf8.csv");
    assert_error(
        read_responses(&path, &defaults()),
        &path,
        ":3:2: invalid UTF-8 in column \"worker\" (after byte 1)",
    );
    let path = bad("ragged_row.csv");
    assert_error(
        read_responses(&path, &defaults()),
        &path,
        ":3: expected 3 fields as in the header, found 4",
    );
    let path = bad("empty_label.csv");
    assert_error(
        read_responses(&path, &defaults()),
        &path,
        ":3:3: empty label",
    );
}

#[test]
fn duplicate_response_under_reject() {
    let path = bad("duplicate_response.csv");
    let reject = ReadOptions {
        duplicates: DuplicatePolicy::Reject,
        ..defaults()
    };
    assert_error(
        read_responses(&path, &reject),
        &path,
        ":4: duplicate response: worker \"w1\" answered task \"t1\" more than once (lines 2 and 4)",
    );
    let kept = read_responses(&path, &defaults()).unwrap();
    assert_eq!((kept.n_responses(), kept.duplicate_count()), (3, 1));
}

#[test]
fn gold_with_conflicting_labels() {
    let path = bad("gold_conflict.csv");
    assert_error(
        read_gold(&path, &defaults()),
        &path,
        ":4: conflicting gold labels for task \"t1\": \"a\" at line 2, \"b\" at line 4",
    );
}

#[test]
fn skills_that_are_not_finite_numbers_or_conflict() {
    let path = bad("skills_not_numeric.csv");
    assert_error(
        read_skills(&path, None),
        &path,
        ":3:2: skill value \"high\" of worker \"w2\" is not a number",
    );
    let path = bad("skills_nan.csv");
    assert_error(
        read_skills(&path, None),
        &path,
        ":2:2: skill value \"NaN\" of worker \"w1\" is not a finite number",
    );
    let path = bad("skills_conflict.json");
    assert_error(
        read_skills(&path, None),
        &path,
        ":2: worker \"w1\" has two skill values: 70 at line 1, 75 at line 2",
    );
}

#[test]
fn toloka_tsv_errors() {
    let path = bad("toloka_none_accepted.tsv");
    assert_error(
        read_toloka_tsv(&path, &TolokaTsvOptions::default()),
        &path,
        ": no accepted assignments: 3 rows, by status: REJECTED 2, SUBMITTED 1 (kept statuses: APPROVED, ACCEPTED)",
    );
    let path = bad("toloka_empty_output.tsv");
    assert_error(
        read_toloka_tsv(&path, &TolokaTsvOptions::default()),
        &path,
        ":3:2: empty OUTPUT:result",
    );
    let other_field = TolokaTsvOptions {
        field: "label".into(),
        ..TolokaTsvOptions::default()
    };
    let path = valid("toloka_results.tsv");
    assert_error(
        read_toloka_tsv(&path, &other_field),
        &path,
        ":1: missing column \"OUTPUT:label\" (header: INPUT:image, OUTPUT:result, GOLDEN:result, HINT:text, ACCEPT:verdict, ACCEPT:comment, ASSIGNMENT:link, ASSIGNMENT:task_id, ASSIGNMENT:assignment_id, ASSIGNMENT:worker_id, ASSIGNMENT:status, ASSIGNMENT:started)",
    );
}

#[test]
fn assignment_json_errors() {
    let options = AssignmentsOptions::default();
    let path = bad("truncated.json");
    assert_error(
        read_assignments(&path, &options),
        &path,
        ":3:65: truncated JSON: EOF while parsing a string",
    );
    let path = bad("wrong_types.json");
    assert_error(
        read_assignments(&path, &options),
        &path,
        ":2:46: invalid assignment: invalid type: map, expected a sequence",
    );
    let path = bad("length_mismatch.jsonl");
    assert_error(
        read_assignments(&path, &options),
        &path,
        ":2:1: assignment has 2 tasks but 1 solutions",
    );
    let path = bad("missing_output_field.json");
    assert_error(
        read_assignments(&path, &options),
        &path,
        ":1:2: solution 1 has no output value \"result\" (output fields: label)",
    );
}

// ---- the parallel reader of plain files agrees with the general reader ----

/// Same ids, names and indexes from `read_responses` (parallel path for plain files) and
/// `read_responses_from` (always the general csv reader).
fn assert_same_as_general_reader(path: &Path) {
    let file = std::fs::File::open(path).unwrap();
    let name = path.to_string_lossy();
    let general = crowdagg::io::read_responses_from(file, &name, &defaults());
    let fast = read_responses(path, &defaults());
    match (general, fast) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.by_task(), b.by_task(), "{name}");
            assert_eq!(a.by_worker(), b.by_worker(), "{name}");
            assert!(a.task_names().eq(b.task_names()), "{name}");
            assert!(a.worker_names().eq(b.worker_names()), "{name}");
            assert_eq!(a.label_names(), b.label_names(), "{name}");
            assert_eq!(a.duplicate_count(), b.duplicate_count(), "{name}");
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{name}"),
        (a, b) => panic!("{name}: {:?} vs {:?}", a.map(|_| ()), b.map(|_| ())),
    }
}

#[test]
fn parallel_reader_matches_general_reader_on_fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut seen = 0;
    for dir in [
        "io",
        "bad",
        "ds",
        "data/dog",
        "data/rte",
        "data/tiny",
        "data/web",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if (ext == "csv" || ext == "tsv") && !name.contains("gold") && !name.contains("skill") {
                assert_same_as_general_reader(&path);
                seen += 1;
            }
        }
    }
    assert!(seen >= 10, "{seen} files");
}

#[test]
fn parallel_reader_on_a_multi_part_file_in_any_row_order() {
    // Big enough to be split between threads; names repeat across parts; CRLF and blank lines.
    let mut rows: Vec<String> = (0..40_000)
        .map(|i| {
            format!(
                "t{},w{},{}",
                i % 7919,
                (i * 31) % 503,
                ["yes", "no", "10", "2"][i % 4]
            )
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("crowdagg-plain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let forward = dir.join("forward.csv");
    std::fs::write(
        &forward,
        format!("task,worker,label\r\n{}\r\n\r\n", rows.join("\r\n")),
    )
    .unwrap();
    assert_same_as_general_reader(&forward);
    rows.reverse();
    let reversed = dir.join("reversed.csv");
    std::fs::write(
        &reversed,
        format!(
            "label,worker,task\n{}",
            rows.iter()
                .map(|r| {
                    let f: Vec<&str> = r.split(',').collect();
                    format!("{},{},{}\n", f[2], f[1], f[0])
                })
                .collect::<String>()
        ),
    )
    .unwrap();
    assert_same_as_general_reader(&reversed);
    let a = read_responses(&forward, &defaults()).unwrap();
    let b = read_responses(&reversed, &defaults()).unwrap();
    assert_eq!(a.by_task(), b.by_task());
    assert_eq!(a.by_worker(), b.by_worker());
    assert_eq!(a.n_responses(), 40_000);
    std::fs::remove_dir_all(&dir).unwrap();
}
