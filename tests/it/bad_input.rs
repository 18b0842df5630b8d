//! Bad-input battery: malformed or hostile inputs (files under `fixtures/bad/` and a few
//! generated here), each with the exact error expected, through the library and through the
//! command-line tool. The CLI must exit non-zero with exactly one stderr line, print nothing
//! on stdout and leave no output file behind. Expected messages are worked out by hand from
//! the fixture files (line/column of the offending field, 1-based).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use crowdagg::io::{
    AssignmentsOptions, ReadOptions, TolokaTsvOptions, locate, read_assignments, read_gold,
    read_responses, read_skills, read_toloka_tsv,
};
use crowdagg::{Aggregator, DuplicatePolicy, FitInputs, Gold, GoldMajorityVote, Skills};
use crowdagg::{Error, WeightedDynamicOverlap};

fn bad(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/bad")
        .join(name)
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// A fresh empty directory under the system temp dir (tests run in parallel: unique names).
fn scratch(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "crowdagg-bad-input-{}-{}-{name}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[String], stdin: Option<&[u8]>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crowdagg"));
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the binary runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        use std::io::Write;
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

/// Runs the CLI, which must fail with `crowdagg: error: <message>` as its only stderr line,
/// an empty stdout, and (for `aggregate`) no file in the output directory.
fn assert_cli_fails(mut args: Vec<String>, stdin: Option<&[u8]>, message: &str) {
    let out_dir = scratch("out");
    if args[0] == "aggregate" {
        args.insert(1, "-o".into());
        args.insert(2, shown(&out_dir.join("labels.csv")));
    }
    let out = run(&args, stdin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert_eq!(stderr, format!("crowdagg: error: {message}\n"), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?} wrote to stdout");
    let left: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
    assert!(left.is_empty(), "{args:?} left output behind: {left:?}");
    std::fs::remove_dir_all(out_dir).unwrap();
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// `crowdagg toloka aggregate` with Dawid-Skene on one field of a pool directory.
fn ds_pool_args(pool: &Path, field: &str) -> Vec<String> {
    args(&[
        "toloka",
        "aggregate",
        "--pool",
        &shown(pool),
        "--type",
        "DAWID_SKENE",
        "--field",
        field,
    ])
}

fn lib_message<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
    result.unwrap_err().to_string()
}

/// Responses with a bad file: (fixture, extra CLI flags, message after the path).
const RESPONSE_CASES: &[(&str, &[&str], &str)] = &[
    (
        "missing_column.csv",
        &[],
        ":1: missing column \"label\" (header: task, worker)",
    ),
    (
        "renamed_column.csv",
        &[],
        ":1: missing column \"worker\" (header: task, annotator, label)",
    ),
    (
        "duplicate_header.csv",
        &[],
        ":1:4: column \"label\" appears more than once in the header (columns 3 and 4)",
    ),
    ("empty.csv", &[], ": no responses (the file is empty)"),
    ("blank_lines.csv", &[], ": no responses (the file is empty)"),
    (
        "unterminated_quote.csv",
        &[],
        ":3:3: unterminated quoted field (the closing quote is missing)",
    ),
    (
        "invalid_utf8.csv",
        &[],
        ":3:2: invalid UTF-8 in column \"worker\" (after byte 1)",
    ),
    (
        "ragged_row.csv",
        &[],
        ":3: expected 3 fields as in the header, found 4",
    ),
    // CRLF line ends do not shift line numbers.
    (
        "crlf_ragged_row.csv",
        &[],
        ":3: expected 3 fields as in the header, found 2",
    ),
    // A quoted field spanning two lines: the next record starts on line 4.
    (
        "quoted_newline_then_ragged.csv",
        &[],
        ":4: expected 3 fields as in the header, found 4",
    ),
    // The byte order mark is not part of the first column's name.
    (
        "bom_renamed_column.csv",
        &[],
        ":1: missing column \"worker\" (header: task, user, label)",
    ),
    // A tab-separated file named .csv is one column wide.
    (
        "tabs_in_csv.csv",
        &[],
        ":1: missing column \"task\" (header split on ',' into 1 field: \"task\\tworker\\tlabel\"; it contains tab: set the delimiter to tab)",
    ),
    ("empty_label.csv", &[], ":3:3: empty label"),
    ("empty_task.csv", &[], ":3:1: empty task"),
    ("empty_worker.csv", &[], ":3:2: empty worker"),
    (
        "duplicate_response.csv",
        &["--duplicates", "reject"],
        ":4: duplicate response: worker \"w1\" answered task \"t1\" more than once (lines 2 and 4)",
    ),
];

#[test]
fn bad_responses() {
    for &(name, flags, rest) in RESPONSE_CASES {
        let path = bad(name);
        let reject = flags.contains(&"reject");
        let options = ReadOptions {
            duplicates: if reject {
                DuplicatePolicy::Reject
            } else {
                DuplicatePolicy::Keep
            },
            ..ReadOptions::default()
        };
        let expected = format!("{}{rest}", shown(&path));
        assert_eq!(
            lib_message(read_responses(&path, &options)),
            expected,
            "{name}"
        );
        let mut cli = args(&["aggregate", "-m", "mv"]);
        cli.extend(args(flags));
        cli.push(shown(&path));
        // The CLI says the library's hint with its own flag.
        let in_cli_words = expected.replace(
            "set the delimiter to tab",
            "set the delimiter (--delimiter tab)",
        );
        assert_cli_fails(cli, None, &in_cli_words);
    }
}

#[test]
fn missing_input_directory_and_empty_stdin() {
    let missing = bad("no_such_file.csv");
    assert_cli_fails(
        args(&["aggregate", "-m", "mv", &shown(&missing)]),
        None,
        &format!(
            "{}: No such file or directory (os error 2)",
            shown(&missing)
        ),
    );
    let dir = bad("");
    let dir = dir.to_str().unwrap().trim_end_matches('/');
    assert_cli_fails(
        args(&["aggregate", "-m", "mv", dir]),
        None,
        &format!("{dir}: Is a directory (os error 21)"),
    );
    assert_cli_fails(
        args(&["aggregate", "-m", "mv", "-"]),
        Some(b""),
        "<stdin>: no responses (the file is empty)",
    );
    // An output path in a missing directory: an error, nothing written anywhere.
    let out = run(
        &args(&[
            "aggregate",
            "-m",
            "mv",
            "-o",
            "/nonexistent-dir/labels.csv",
            &shown(&bad("responses_ab.csv")),
        ]),
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "crowdagg: error: /nonexistent-dir/labels.csv: No such file or directory (os error 2)\n"
    );
    assert!(out.stdout.is_empty());
}

/// `gold_unknown_tasks.csv` has two tasks, t9 and t8; the responses have t1 and t2.
const NO_GOLD_OVERLAP: &str = ": none of the 2 gold tasks occurs in the responses (check the task column and the spelling of task ids)";

/// Gold files: (fixture, CLI method flags, message after the gold path).
const GOLD_CASES: &[(&str, &[&str], &str)] = &[
    (
        "gold_conflict.csv",
        &["-m", "mv"],
        ":4: conflicting gold labels for task \"t1\": \"a\" at line 2, \"b\" at line 4",
    ),
    (
        "gold_missing_label.csv",
        &["-m", "mv"],
        ":1: missing column \"label\" (header split on ',' into 1 field: \"task\")",
    ),
    (
        "empty.csv",
        &["-m", "mv"],
        ": no gold labels (the file is empty)",
    ),
    // Gold tasks that never occur in the responses: nothing to train on, nothing to score.
    // The same message whether the gold trains the method or only scores it.
    (
        "gold_unknown_tasks.csv",
        &["-m", "gold-mv"],
        NO_GOLD_OVERLAP,
    ),
    ("gold_unknown_tasks.csv", &["-m", "mv"], NO_GOLD_OVERLAP),
    (
        "gold_unknown_tasks.csv",
        &["-m", "ds", "-p", "use_gold=true"],
        NO_GOLD_OVERLAP,
    ),
    (
        "gold_unknown_tasks.csv",
        &["-m", "one-coin-ds", "-p", "use_gold=true"],
        NO_GOLD_OVERLAP,
    ),
    // A gold label no response uses: the methods cannot output it.
    (
        "gold_one_unknown_label.csv",
        &["-m", "gold-mv"],
        ":3: gold label \"zebra\" of task \"t1\" is not among the labels of the responses",
    ),
    (
        "gold_one_unknown_label.csv",
        &["-m", "ds", "-p", "use_gold=true"],
        ":3: gold label \"zebra\" of task \"t1\" is not among the labels of the responses",
    ),
];

#[test]
fn bad_gold() {
    let responses = bad("responses_ab.csv");
    let data = read_responses(&responses, &ReadOptions::default()).unwrap();
    for &(name, method, rest) in GOLD_CASES {
        let path = bad(name);
        let expected = format!("{}{rest}", shown(&path));
        // Library: the reader fails, or the method does and `locate` names the file.
        let library = match read_gold(&path, &ReadOptions::default()) {
            Err(e) => e.to_string(),
            Ok(gold) => {
                let inputs = FitInputs::default().gold(&gold);
                let error = GoldMajorityVote::default()
                    .aggregate_with(&data, inputs)
                    .unwrap_err();
                locate(error, Some(&gold), None).to_string()
            }
        };
        assert_eq!(library, expected, "{name}");
        let mut cli = args(&["aggregate"]);
        cli.extend(args(method));
        cli.extend(args(&["--gold", &shown(&path), &shown(&responses)]));
        assert_cli_fails(cli, None, &expected);
    }
}

/// Skill files for WDO: (fixture, message after the skills path).
const SKILL_CASES: &[(&str, &str)] = &[
    (
        "skills_not_numeric.csv",
        ":3:2: skill value \"high\" of worker \"w2\" is not a number",
    ),
    (
        "skills_nan.csv",
        ":2:2: skill value \"NaN\" of worker \"w1\" is not a finite number",
    ),
    (
        "skills_infinite.csv",
        ":2:2: skill value \"inf\" of worker \"w1\" is not a finite number",
    ),
    (
        "skills_conflict.json",
        ":2: worker \"w1\" has two skill values: 70 at line 1, 75 at line 2",
    ),
    // Range errors come from WDO (other methods take any weight); `locate` names the value.
    (
        "skills_negative.csv",
        ":3:2: skill of worker \"w2\" is -5, outside 0..=100",
    ),
    (
        "skills_over_100.csv",
        ":2:2: skill of worker \"w1\" is 100.5, outside 0..=100",
    ),
    (
        "skills_truncated.json",
        ":2:38: truncated JSON: EOF while parsing a string",
    ),
    (
        "skills_wrong_type.json",
        ":1:51: invalid user skill: invalid type: string \"seventy\", expected f64",
    ),
];

#[test]
fn bad_skills_for_wdo() {
    let responses = bad("responses_ab.csv");
    let data = read_responses(&responses, &ReadOptions::default()).unwrap();
    for &(name, rest) in SKILL_CASES {
        let path = bad(name);
        let expected = format!("{}{rest}", shown(&path));
        let library = match read_skills(&path, None) {
            Err(e) => e.to_string(),
            Ok(skills) => {
                let inputs = FitInputs::default().skills(&skills);
                let error = WeightedDynamicOverlap::default()
                    .aggregate_with(&data, inputs)
                    .unwrap_err();
                locate(error, None, Some(&skills)).to_string()
            }
        };
        assert_eq!(library, expected, "{name}");
        let cli = args(&[
            "aggregate",
            "-m",
            "wdo",
            "--skills",
            &shown(&path),
            &shown(&responses),
        ]);
        assert_cli_fails(cli, None, &expected);
    }
}

/// Values that were not read from a file keep the method's plain message.
#[test]
fn locate_leaves_unread_values_alone() {
    let data = read_responses(bad("responses_ab.csv"), &ReadOptions::default()).unwrap();
    let skills: Skills = [("w1", 150.0), ("w2", 50.0)].into_iter().collect();
    let error = WeightedDynamicOverlap::default()
        .aggregate_with(&data, FitInputs::default().skills(&skills))
        .unwrap_err();
    assert_eq!(
        locate(error, None, Some(&skills)).to_string(),
        "skill of worker \"w1\" is 150, outside 0..=100"
    );
    let gold: Gold = [("t9", "a")].into_iter().collect();
    let error = GoldMajorityVote::default()
        .aggregate_with(&data, FitInputs::default().gold(&gold))
        .unwrap_err();
    assert_eq!(
        locate(error, Some(&gold), None).to_string(),
        "none of the 1 gold task occurs in the responses (check the task column and the spelling of task ids)"
    );
}

/// The library readers of Toloka exports (the CLI reads these through pool directories).
#[test]
fn bad_toloka_exports_library() {
    let tsv = TolokaTsvOptions::default();
    let cases: [(&str, &str); 5] = [
        (
            "toloka_none_accepted.tsv",
            ": no accepted assignments: 3 rows, by status: REJECTED 2, SUBMITTED 1 (kept statuses: APPROVED, ACCEPTED)",
        ),
        // An aggregated (approved) row with an empty answer: named, never dropped.
        ("toloka_empty_output.tsv", ":3:2: empty OUTPUT:result"),
        // Without a status column every row is aggregated.
        (
            "toloka_no_status_empty_output.tsv",
            ":4:2: empty OUTPUT:result",
        ),
        // Only the field read counts: here `quality`, third column.
        (
            "toloka_empty_second_output.tsv",
            ":3:3: empty OUTPUT:quality",
        ),
        (
            "toloka_no_worker.tsv",
            ":1: missing column \"ASSIGNMENT:worker_id\" (header: INPUT:image, OUTPUT:result, ASSIGNMENT:status)",
        ),
    ];
    for (name, rest) in cases {
        let path = bad(name);
        let tsv = if name == "toloka_empty_second_output.tsv" {
            TolokaTsvOptions {
                field: "quality".into(),
                ..tsv.clone()
            }
        } else {
            tsv.clone()
        };
        assert_eq!(
            lib_message(read_toloka_tsv(&path, &tsv)),
            format!("{}{rest}", shown(&path)),
            "{name}"
        );
    }
    let json = AssignmentsOptions::default();
    let cases: [(&str, &str); 9] = [
        (
            "truncated.json",
            ":3:65: truncated JSON: EOF while parsing a string",
        ),
        (
            "wrong_types.json",
            ":2:46: invalid assignment: invalid type: map, expected a sequence",
        ),
        (
            "length_mismatch.jsonl",
            ":2:1: assignment has 2 tasks but 1 solutions",
        ),
        (
            "missing_output_field.json",
            ":1:2: solution 1 has no output value \"result\" (output fields: label)",
        ),
        (
            "status_not_string.jsonl",
            ":1:26: invalid assignment: invalid type: integer `7`, expected a string",
        ),
        (
            "empty_task_id.jsonl",
            ":2:1: task 1 of the assignment has no id",
        ),
        ("no_status.jsonl", ":1:1: assignment has no status"),
        (
            "none_accepted.jsonl",
            ": no accepted assignments: 1 assignments, by status: REJECTED 1 (kept statuses: ACCEPTED)",
        ),
        ("not_json.json", ":1:2: invalid JSON: expected ident"),
    ];
    for (name, rest) in cases {
        let path = bad(name);
        assert_eq!(
            lib_message(read_assignments(&path, &json)),
            format!("{}{rest}", shown(&path)),
            "{name}"
        );
    }
}

/// The boundary of the empty-answer rule: rows that are not aggregated (rejected, skipped)
/// may leave their answer empty, in both readers. Hand count: two approved rows, both by w1,
/// on two tasks; through the pool, Dawid-Skene with one worker returns that worker's answers.
#[test]
fn empty_answers_of_rows_not_aggregated_are_fine() {
    let path = bad("toloka_rejected_empty_output.tsv");
    let data = read_toloka_tsv(&path, &TolokaTsvOptions::default()).unwrap();
    assert_eq!(
        (data.n_responses(), data.n_tasks(), data.n_workers()),
        (2, 2, 1)
    );
    assert_eq!(data.label_names(), ["BAD", "OK"]);
    let pool = scratch("pool-rejected-empty");
    std::fs::copy(&path, pool.join("assignments.tsv")).unwrap();
    let assignments =
        crowdagg::toloka::read_results_tsv(&pool.join("assignments.tsv"), "7").unwrap();
    assert_eq!(assignments.len(), 4);
    let out = run(&ds_pool_args(&pool, "result"), None);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: Vec<(String, String)> = stdout
        .lines()
        .map(|line| {
            let solution: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                solution["task_id"].as_str().unwrap().to_string(),
                solution["output_values"]["result"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    let expected = [("[\"1.png\"]", "OK"), ("[\"2.png\"]", "BAD")]
        .map(|(task, label)| (task.to_string(), label.to_string()));
    assert_eq!(answers, expected, "{stdout}");
    std::fs::remove_dir_all(pool).unwrap();
}

/// In a pool export an empty OUTPUT cell is a field left empty: Toloka excludes such answers,
/// so does the local backend, and the CLI says how many it excluded.
#[test]
fn empty_answers_in_a_pool_are_excluded_and_reported() {
    // (fixture, field, tasks aggregated, the note). Hand counts from the fixtures.
    let cases = [
        // 2.png's only answer is empty: one task left.
        (
            "toloka_empty_output.tsv",
            "result",
            vec!["[\"1.png\"]"],
            Some(
                "note: 1 accepted answer left field \"result\" empty; excluded from its aggregation, as Toloka does",
            ),
        ),
        // No status column: all rows count; t2 keeps w1's answer.
        (
            "toloka_no_status_empty_output.tsv",
            "result",
            vec!["t1", "t2"],
            Some(
                "note: 1 accepted answer left field \"result\" empty; excluded from its aggregation, as Toloka does",
            ),
        ),
        // The empty cell is in another field: nothing excluded from `result`.
        (
            "toloka_empty_second_output.tsv",
            "result",
            vec!["[\"1.png\"]", "[\"2.png\"]"],
            None,
        ),
    ];
    for (name, field, tasks, note) in cases {
        let pool = scratch(&format!("pool-excluded-{name}"));
        std::fs::copy(bad(name), pool.join("assignments.tsv")).unwrap();
        let out = run(&ds_pool_args(&pool, field), None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
        assert_eq!(stderr.lines().next(), note, "{name}");
        let aggregated: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|line| {
                let solution: serde_json::Value = serde_json::from_str(line).unwrap();
                solution["task_id"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(aggregated, tasks, "{name}");
        std::fs::remove_dir_all(pool).unwrap();
    }
}

/// Pool directories holding a bad export, through `crowdagg toloka aggregate`:
/// (fixture, name it takes in the pool directory, message after that path).
const POOL_CASES: &[(&str, &str, &str)] = &[
    (
        "toloka_no_worker.tsv",
        "assignments.tsv",
        ":1: missing column \"ASSIGNMENT:worker_id\" (header: INPUT:image, OUTPUT:result, ASSIGNMENT:status)",
    ),
    // The pool loader parses the one Assignment schema the library reader parses, then asks
    // for the id every API assignment has: named at the assignment's start (the strict parse
    // said `missing field `id`` at its end).
    (
        "truncated.json",
        "assignments.json",
        ":2:3: assignment has no id",
    ),
    (
        "wrong_types.json",
        "assignments.json",
        ":2:46: invalid assignment: invalid type: map, expected a sequence",
    ),
    (
        "status_not_string.jsonl",
        "assignments.jsonl",
        ":1:26: invalid assignment: invalid type: integer `7`, expected a string",
    ),
    (
        "not_json.json",
        "assignments.json",
        ":1:2: invalid JSON: expected ident",
    ),
    // The schema reads an absent status as empty: refused here as by the library reader,
    // never read as "not accepted" and dropped.
    (
        "no_status.jsonl",
        "assignments.jsonl",
        ":1:1: assignment has no status",
    ),
];

#[test]
fn bad_pool_directories() {
    for &(name, as_name, rest) in POOL_CASES {
        let pool = scratch(&format!("pool-{name}"));
        std::fs::copy(bad(name), pool.join(as_name)).unwrap();
        let file = pool.join(as_name);
        assert_cli_fails(
            ds_pool_args(&pool, "result"),
            None,
            &format!("{}{rest}", shown(&file)),
        );
        std::fs::remove_dir_all(pool).unwrap();
    }
    // No accepted assignment: the service's validation error, with the field it names.
    let pool = scratch("pool-none-accepted");
    std::fs::copy(
        bad("toloka_none_accepted.tsv"),
        pool.join("assignments.tsv"),
    )
    .unwrap();
    std::fs::write(pool.join("pool.json"), r#"{"id": "77"}"#).unwrap();
    assert_cli_fails(
        ds_pool_args(&pool, "result"),
        None,
        "--field: Pool 77 has no output field \"result\" (no field has accepted answers)",
    );
    std::fs::remove_dir_all(&pool).unwrap();
    let empty = scratch("pool-empty");
    assert_cli_fails(
        args(&[
            "toloka",
            "aggregate",
            "--pool",
            &shown(&empty),
            "--field",
            "result",
        ]),
        None,
        &format!(
            "{}: no assignments.json, assignments.jsonl or assignments.tsv",
            shown(&empty)
        ),
    );
    std::fs::remove_dir_all(empty).unwrap();
}

/// Generated hostile inputs: a 10 MB field, 70 000 distinct labels, a NUL byte.
#[test]
fn generated_hostile_inputs() {
    let dir = scratch("generated");
    let big = "x".repeat(10 << 20);

    // A 10 MB label is data: read and aggregated whole.
    let path = dir.join("big_field.csv");
    std::fs::write(&path, format!("task,worker,label\nt1,w1,{big}\nt1,w2,b\n")).unwrap();
    let data = read_responses(&path, &ReadOptions::default()).unwrap();
    assert_eq!(data.label_names(), ["b", big.as_str()]);
    let out = run(&args(&["aggregate", "-m", "mv", &shown(&path)]), None);
    assert!(out.status.success());
    // Tie between the two labels: the smallest ("b") wins; the big one is never echoed.
    assert_eq!(out.stdout, b"task,label,confidence\nt1,b,0.5\n");

    // A 10 MB quoted field that never closes: reported where it opened.
    let path = dir.join("big_unterminated.csv");
    std::fs::write(
        &path,
        format!("task,worker,label\nt1,w1,a\nt2,w2,\"{big}\n"),
    )
    .unwrap();
    let expected = format!(
        "{}:3:3: unterminated quoted field (the closing quote is missing)",
        shown(&path)
    );
    assert_eq!(
        lib_message(read_responses(&path, &ReadOptions::default())),
        expected
    );
    assert_cli_fails(
        args(&["aggregate", "-m", "mv", &shown(&path)]),
        None,
        &expected,
    );

    // More labels than a u16 label id can hold.
    let path = dir.join("many_labels.csv");
    let mut text = String::from("task,worker,label\n");
    for i in 0..70_000 {
        text.push_str(&format!("t{i},w,l{i}\n"));
    }
    std::fs::write(&path, text).unwrap();
    let expected = format!(
        "{}: too many distinct labels: 70000 (at most 65536 are supported)",
        shown(&path)
    );
    assert_eq!(
        lib_message(read_responses(&path, &ReadOptions::default())),
        expected
    );
    assert_cli_fails(
        args(&["aggregate", "-m", "mv", &shown(&path)]),
        None,
        &expected,
    );

    // A NUL byte is an ordinary character of a label.
    let out = run(
        &args(&["aggregate", "-m", "mv", &shown(&bad("nul_byte.csv"))]),
        None,
    );
    assert!(out.status.success());
    assert_eq!(out.stdout, b"task,label,confidence\nt1,a\0b,1\n");
    std::fs::remove_dir_all(dir).unwrap();
}
