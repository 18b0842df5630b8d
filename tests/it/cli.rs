//! The command-line tool end to end: outputs, exit codes, one-line errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path)
}

fn crowdagg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crowdagg"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn csv_output_of_the_tiny_dataset() {
    let input = fixture("data/tiny/responses.csv");
    let out = crowdagg(&["aggregate", "--method", "mv", input.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Hand-counted votes (specs/crowd-kit-spec.md §6), ties to the smallest label.
    let expected = "task,label,confidence\n\
                    t1,c,0.6666666666666666\n\
                    t2,b,0.6666666666666666\n\
                    t3,a,0.5\n\
                    t4,a,0.3333333333333333\n\
                    t5,a,0.6666666666666666\n\
                    t6,c,1\n";
    assert_eq!(text(&out.stdout), expected);
}

#[test]
fn json_output_and_gold_accuracy() {
    let input = fixture("data/tiny/responses.csv");
    let gold = fixture("data/tiny/gold.csv");
    let out = crowdagg(&[
        "aggregate",
        "--method",
        "gold-mv",
        "--gold",
        gold.to_str().unwrap(),
        "--format",
        "json",
        input.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["method"], "GoldMajorityVote");
    // Gold accuracies: w1 1, w2 0.5, w3 0.5, w4 1, w5 0 (spec §6); t4 = a with 2/3.
    assert_eq!(json["skills"]["w3"], 0.5);
    assert_eq!(json["labels"]["t4"], "a");
    assert!((json["probas"]["t4"]["a"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(json["n_iter_run"], serde_json::Value::Null);
    // t1 = c, t2 = b, t5 = a are all right.
    assert_eq!(
        text(&out.stderr).trim(),
        "accuracy on gold: 1.0000 (3 of 3 gold tasks present in the data)"
    );
}

#[test]
fn dash_as_output_is_standard_output() {
    let dir = std::env::temp_dir().join(format!("crowdagg-cli-dash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = fixture("data/tiny/responses.csv");
    let out = Command::new(env!("CARGO_BIN_EXE_crowdagg"))
        .args(["aggregate", "-m", "mv", "-o", "-", input.to_str().unwrap()])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The same hand-counted votes as `csv_output_of_the_tiny_dataset`, on stdout.
    assert!(text(&out.stdout).starts_with("task,label,confidence\nt1,c,0.6666666666666666\n"));
    assert_eq!(text(&out.stdout).lines().count(), 7);
    assert!(!dir.join("-").exists() && !dir.join("-.partial").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn output_file_is_written_whole() {
    let dir = std::env::temp_dir().join(format!("crowdagg-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("out.csv");
    let input = fixture("data/tiny/responses.csv");
    let out = crowdagg(&[
        "aggregate",
        "-m",
        "wawa",
        "-o",
        path.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written.lines().count(), 7);
    assert!(!dir.join("out.csv.partial").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn errors_are_one_line_with_a_failing_exit_code() {
    let input = fixture("data/tiny/responses.csv");
    let cases: [(&[&str], &str); 4] = [
        (
            &["aggregate", "-m", "nope", "x.csv"],
            "crowdagg: error: unknown method \"nope\"",
        ),
        (
            &[
                "aggregate",
                "-m",
                "zbs",
                "-p",
                "n_iter=-1",
                input.to_str().unwrap(),
            ],
            "crowdagg: error: parameter n_iter: cannot parse \"-1\" as an integer",
        ),
        (
            &[
                "aggregate",
                "-m",
                "mv",
                "-p",
                "n_iter=3",
                input.to_str().unwrap(),
            ],
            "crowdagg: error: unknown parameter \"n_iter\" for MajorityVote",
        ),
        (
            &["aggregate", "-m", "wdo", input.to_str().unwrap()],
            "crowdagg: error: WeightedDynamicOverlap needs worker skills (give them with --skills FILE)",
        ),
    ];
    for (args, start) in cases {
        let out = crowdagg(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with(start), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?} wrote output");
    }
}

#[test]
fn reads_stdin() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_crowdagg"))
        .args(["aggregate", "-m", "mv", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"task,worker,label\n1,a,x\n1,b,y\n1,c,y\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        text(&out.stdout),
        "task,label,confidence\n1,y,0.6666666666666666\n"
    );
}

#[test]
fn binary_relevance_on_label_sets() {
    // crowd-kit-spec §6: BinaryRelevance(MajorityVote) gives t1 → [x, y], t2 → [z].
    let input = fixture("data/multilabel/responses.csv");
    let out = crowdagg(&[
        "aggregate",
        "-m",
        "binary-relevance",
        input.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "task,labels\nt1,x|y\nt2,z\n");
    let out = crowdagg(&[
        "aggregate",
        "-m",
        "binary-relevance",
        "-p",
        "inner=ds",
        "--format",
        "json",
        input.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["inner"], "DawidSkene");
    assert_eq!(json["labels"]["t1"], serde_json::json!(["x", "y"]));
    assert_eq!(json["labels"]["t2"], serde_json::json!(["z"]));
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    // `crowdagg … | head -1`: the reader leaves early; the tool exits quietly, like cat.
    let input = fixture("data/web/responses.csv");
    let mut child = Command::new(env!("CARGO_BIN_EXE_crowdagg"))
        .args(["aggregate", "-m", "mv", input.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

/// A gold file in a fresh temp directory (tests run in parallel: unique names).
fn gold_file(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crowdagg-cli-gold-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("gold.csv");
    std::fs::write(&path, content).unwrap();
    path
}

/// Gold whose tasks never occur in the responses (here: capitalised ids) is an error for
/// scoring as for training, naming the gold file and its task count.
#[test]
fn gold_sharing_no_task_with_the_responses() {
    let input = fixture("data/tiny/responses.csv");
    let gold = gold_file("none", "task,label\nT1,c\nT2,b\n");
    let expected = format!(
        "crowdagg: error: {}: none of the 2 gold tasks occurs in the responses (check the task column and the spelling of task ids)\n",
        gold.display()
    );
    let (input, gold_arg) = (input.to_str().unwrap(), gold.to_str().unwrap());
    let runs: [&[&str]; 4] = [
        &["aggregate", "--method", "mv", "--gold", gold_arg, input],
        &[
            "aggregate",
            "--method",
            "gold-mv",
            "--gold",
            gold_arg,
            input,
        ],
        &[
            "aggregate",
            "--method",
            "ds",
            "-p",
            "use_gold=true",
            "--gold",
            gold_arg,
            input,
        ],
        &["evaluate", "--gold", gold_arg, input],
    ];
    for args in runs {
        let out = crowdagg(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&out.stderr), expected, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    std::fs::remove_dir_all(gold.parent().unwrap()).unwrap();
}

/// Gold partly outside the responses: scored on the tasks present, and the report says how
/// many of the given gold tasks that is. Majority vote gives t1 = c and t2 = b (hand count in
/// `csv_output_of_the_tiny_dataset`), both right; t9 is not in the data.
#[test]
fn gold_partly_outside_the_responses() {
    let input = fixture("data/tiny/responses.csv");
    let gold = gold_file("partial", "task,label\nt1,c\nt2,b\nt9,a\n");
    let (input, gold_arg) = (input.to_str().unwrap(), gold.to_str().unwrap());
    let out = crowdagg(&["aggregate", "--method", "mv", "--gold", gold_arg, input]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "accuracy on gold: 1.0000 (2 of 3 gold tasks present in the data)\n"
    );
    let out = crowdagg(&[
        "evaluate",
        "--gold",
        gold_arg,
        "--methods",
        "mv",
        "--format",
        "csv",
        input,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        format!(
            "{}: 2 of 3 gold tasks occur in the responses; accuracy is over those 2\n",
            gold.display()
        )
    );
    let stdout = text(&out.stdout);
    let row = stdout.lines().nth(1).unwrap();
    assert!(row.starts_with("mv,1,2,,"), "{stdout}");
    std::fs::remove_dir_all(gold.parent().unwrap()).unwrap();
}

// ---- The rough edges of issue 12 §5 ----

/// A fresh directory for one test's files.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crowdagg-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_owned()
}

fn crowdagg_stdin(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_crowdagg"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// Label sets separated by `;`, columns renamed. Majority per class (hand count):
/// t1: a in 2 of 3 sets, b in 2 of 3 → a|b; t2: a in none, b in 2 of 3 → b.
const MULTILABEL_SEMI: &str =
    "item;annotator;tags\nt1;w1;a|b\nt1;w2;a\nt1;w3;b\nt2;w1;\nt2;w2;b\nt2;w3;b\n";

#[test]
fn binary_relevance_honours_reading_options() {
    let dir = scratch_dir("br-options");
    let input = write(&dir, "ml.txt", MULTILABEL_SEMI);
    let columns = [
        "--delimiter",
        ";",
        "--task-column",
        "item",
        "--worker-column",
        "annotator",
        "--label-column",
        "tags",
    ];
    let mut args = vec!["aggregate", "-m", "binary-relevance"];
    args.extend(columns);
    let out = crowdagg(&[&args[..], &[input.as_str()]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "task,labels\nt1,a|b\nt2,b\n");

    // From stdin (was refused), with --timings.
    let out = crowdagg_stdin(
        &[&args[..], &["--timings", "-"]].concat(),
        MULTILABEL_SEMI.as_bytes(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "task,labels\nt1,a|b\nt2,b\n");
    assert!(
        text(&out.stderr).starts_with("timings: read_s="),
        "{}",
        text(&out.stderr)
    );

    // A repeated (t1, w1): keep-last replaces w1's set {a, b} by {} (t1: a 1 of 3, b 1 of 3).
    let repeated = write(&dir, "rep.txt", &format!("{MULTILABEL_SEMI}t1;w1;\n"));
    let out = crowdagg(&[&args[..], &["--duplicates", "keep-last", repeated.as_str()]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "task,labels\nt1,\nt2,b\n");
    let out = crowdagg(&[&args[..], &["--duplicates", "reject", repeated.as_str()]].concat());
    assert!(!out.status.success());
    assert_eq!(
        text(&out.stderr),
        format!(
            "crowdagg: error: {repeated}:8: duplicate response: worker \"w1\" answered task \"t1\" more than once (lines 2 and 8)\n"
        )
    );
    // Without the column options: the reader's message with its hint.
    let out = crowdagg(&["aggregate", "-m", "binary-relevance", input.as_str()]);
    assert!(
        text(&out.stderr).contains("missing column \"task\" (header split on ',' into 1 field"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn binary_relevance_refuses_options_it_has_no_use_for() {
    let input = fixture("data/multilabel/responses.csv");
    let input = input.to_str().unwrap();
    for (option, value) in [
        ("--gold", "gold.csv"),
        ("--skills", "/no/such/skills.csv"),
        ("--skill-id", "501"),
        ("--probas", "p.csv"),
        ("--workers", "w.csv"),
    ] {
        let out = crowdagg(&["aggregate", "-m", "binary-relevance", option, value, input]);
        assert!(!out.status.success(), "{option}");
        assert_eq!(
            text(&out.stderr),
            format!(
                "crowdagg: error: binary-relevance does not use {option} (it aggregates label sets, with options --param, --format, --output, --*-column, --delimiter, --duplicates, --threads, --timings)\n"
            )
        );
    }
}

/// Responses with `;` and renamed columns; majority vote (hand count): t1 a (2 of 3),
/// t2 b (2 of 3).
const SEMI_RESPONSES: &str =
    "item;annotator;answer\nt1;w1;a\nt1;w2;a\nt1;w3;b\nt2;w1;b\nt2;w2;b\nt2;w3;a\n";
const SEMI_COLUMNS: [&str; 8] = [
    "--delimiter",
    ";",
    "--task-column",
    "item",
    "--worker-column",
    "annotator",
    "--label-column",
    "answer",
];

#[test]
fn gold_files_follow_the_delimiter_and_matching_columns() {
    let dir = scratch_dir("gold-options");
    let input = write(&dir, "r.csv", SEMI_RESPONSES);
    // Gold with the renamed columns, and gold keeping the default names: both read.
    // Accuracy: t1 a right, t2 a wrong → 0.5.
    for gold in ["item;answer\nt1;a\nt2;a\n", "task;label\nt1;a\nt2;a\n"] {
        let gold = write(&dir, "g.csv", gold);
        let mut args = vec!["aggregate", "-m", "mv", "--gold", gold.as_str()];
        args.extend(SEMI_COLUMNS);
        args.push(&input);
        let out = crowdagg(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            "task,label,confidence\nt1,a,0.6666666666666666\nt2,b,0.6666666666666666\n"
        );
        assert_eq!(
            text(&out.stderr),
            "accuracy on gold: 0.5000 (2 of 2 gold tasks present in the data)\n"
        );
        // evaluate takes the same options: mv scores 0.5 on the two gold tasks.
        let mut args = vec![
            "evaluate",
            "--methods",
            "mv",
            "--format",
            "csv",
            "--gold",
            gold.as_str(),
        ];
        args.extend(SEMI_COLUMNS);
        args.push(&input);
        let out = crowdagg(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let row = text(&out.stdout).lines().nth(1).unwrap().to_owned();
        assert!(row.starts_with("mv,0.5,2,,"), "{row}");
    }
    // A gold file named .tsv is tab-separated whatever --delimiter says of the responses.
    let gold = write(&dir, "g.tsv", "task\tlabel\nt1\ta\nt2\ta\n");
    let mut args = vec!["aggregate", "-m", "mv", "--gold", gold.as_str()];
    args.extend(SEMI_COLUMNS);
    args.push(&input);
    let out = crowdagg(&args);
    assert_eq!(
        text(&out.stderr),
        "accuracy on gold: 0.5000 (2 of 2 gold tasks present in the data)\n"
    );
    // metrics too: 6 responses, 2 tasks, 3 workers, 2 labels.
    let mut args = vec!["metrics", "--format", "csv"];
    args.extend(SEMI_COLUMNS);
    args.push(&input);
    let out = crowdagg(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("metric,value\nresponses,6\ntasks,2\nworkers,3\nlabels,2\n"),
        "{}",
        text(&out.stdout)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn gold_in_another_vocabulary_is_an_error() {
    let dir = scratch_dir("gold-vocabulary");
    let input = write(
        &dir,
        "r.csv",
        "task,worker,label\nt1,w1,1\nt1,w2,2\nt2,w1,2\n",
    );
    let gold = write(&dir, "g.csv", "task,label\nt1,yes\nt2,no\n");
    for command in [
        vec![
            "aggregate",
            "-m",
            "mv",
            "--gold",
            gold.as_str(),
            input.as_str(),
        ],
        vec!["evaluate", "--gold", gold.as_str(), input.as_str()],
    ] {
        let out = crowdagg(&command);
        assert!(!out.status.success());
        assert_eq!(
            text(&out.stderr),
            format!(
                "crowdagg: error: {gold}: none of the 2 gold labels (\"no\", \"yes\") occurs among the 2 response labels (\"1\", \"2\"): another vocabulary?\n"
            )
        );
        assert!(out.stdout.is_empty());
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_terminal_on_stdin_is_told_what_to_type() {
    use std::io::Write;
    // `script` gives the child a terminal; skip where util-linux's script is missing.
    let Ok(mut child) = Command::new("script")
        .args(["-qec"])
        .arg(format!("{} metrics", env!("CARGO_BIN_EXE_crowdagg")))
        .arg("/dev/null")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("no `script` command: skipped");
        return;
    };
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    stdin
        .write_all(b"task,worker,label\nt1,w1,a\n\x04")
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        text(&out.stdout).contains(
            "crowdagg: reading responses (CSV with a header row, e.g. task,worker,label) from standard input; end with Ctrl-D, or give a file name"
        ),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn header_errors_name_the_delimiter_and_hint() {
    let dir = scratch_dir("header-hints");
    let semi = write(&dir, "semi.csv", SEMI_RESPONSES);
    let out = crowdagg(&["aggregate", "-m", "mv", &semi]);
    assert_eq!(
        text(&out.stderr),
        format!(
            "crowdagg: error: {semi}:1: missing column \"task\" (header split on ',' into 1 field: \"item;annotator;answer\"; it contains ';': set the delimiter (--delimiter ';'))\n"
        )
    );
    // A wrong --delimiter: the message says what split the header into what.
    let comma = write(&dir, "comma.csv", "item,annotator,answer\nt1,w1,a\n");
    let out = crowdagg(&[
        "aggregate",
        "-m",
        "mv",
        "--delimiter",
        ";",
        "--task-column",
        "item",
        &comma,
    ]);
    assert_eq!(
        text(&out.stderr),
        format!(
            "crowdagg: error: {comma}:1: missing column \"item\" (header split on ';' into 1 field: \"item,annotator,answer\"; it contains ',': set the delimiter (--delimiter ','))\n"
        )
    );
    // A Toloka results TSV.
    let toloka = fixture("io/toloka_results.tsv");
    let out = crowdagg(&["aggregate", "-m", "mv", toloka.to_str().unwrap()]);
    assert!(
        text(&out.stderr).ends_with("; this is a Toloka results export: aggregate it with `crowdagg toloka aggregate --pool DIR` (DIR holding it as assignments.tsv))\n"),
        "{}",
        text(&out.stderr)
    );
    // `tab` and `\t` are tab.
    let tabs = write(&dir, "tabs.txt", "task\tworker\tlabel\nt1\tw1\ta\n");
    for tab in ["tab", "\\t"] {
        let out = crowdagg(&["aggregate", "-m", "mv", "--delimiter", tab, &tabs]);
        assert!(out.status.success(), "{tab}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "task,label,confidence\nt1,a,1\n");
    }
    let out = crowdagg(&["aggregate", "-m", "mv", "--delimiter", "ab", &tabs]);
    assert!(text(&out.stderr).contains("expected one ASCII character or `tab`, got \"ab\""));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn labels_differing_by_case_or_whitespace() {
    let dir = scratch_dir("label-case");
    // Votes on t1: Cat, cat, " cat", dog, dog: as written dog wins 2 of 5; merged cat wins 3 of 5.
    let input = write(
        &dir,
        "r.csv",
        "task,worker,label\nt1,w1,Cat\nt1,w2,cat\nt1,w3, cat\nt1,w4,dog\nt1,w5,dog\n",
    );
    let out = crowdagg(&["aggregate", "-m", "mv", &input]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "task,label,confidence\nt1,dog,0.4\n");
    assert_eq!(
        text(&out.stderr),
        "crowdagg: warning: 1 group of labels differ only by case or surrounding whitespace and count as different classes: {\" cat\", \"Cat\", \"cat\"}; --normalize-labels merges them\n"
    );
    let out = crowdagg(&["aggregate", "-m", "mv", "--normalize-labels", &input]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "task,label,confidence\nt1,cat,0.6\n");
    assert_eq!(text(&out.stderr), "");
    // Gold is normalised too: "CAT " is cat.
    let gold = write(&dir, "g.csv", "task,label\nt1,CAT \n");
    let out = crowdagg(&[
        "aggregate",
        "-m",
        "mv",
        "--normalize-labels",
        "--gold",
        &gold,
        &input,
    ]);
    assert_eq!(
        text(&out.stderr),
        "accuracy on gold: 1.0000 (1 of 1 gold tasks present in the data)\n"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn help_lists_every_method_and_explains_every_option() {
    let out = crowdagg(&["aggregate", "--help"]);
    let help = text(&out.stdout);
    for method in [
        "mv",
        "gold-mv",
        "wawa",
        "zbs",
        "wdo",
        "ds",
        "one-coin-ds",
        "glad",
        "mace",
        "mmsr",
        "kos",
        "binary-relevance",
    ] {
        assert!(
            help.contains(&format!(" {method},")) || help.contains(&format!(" {method} ")),
            "{method}"
        );
    }
    // `-h`: one line per option; every option line has a description after the flag.
    for command in [
        &["aggregate", "-h"][..],
        &["evaluate", "-h"],
        &["metrics", "-h"],
        &["generate", "-h"],
        &["toloka", "aggregate", "-h"],
    ] {
        let out = crowdagg(command);
        let help = text(&out.stdout);
        let options = help.split("Options:").nth(1).unwrap();
        for line in options.lines().filter(|l| l.trim_start().starts_with('-')) {
            let described = line
                .trim_start()
                .split_once("  ")
                .is_some_and(|(_, d)| !d.trim().is_empty() && !d.trim().starts_with('['));
            assert!(described, "{command:?}: no help for {line:?}");
        }
    }
    let out = crowdagg(&["methods"]);
    let list = text(&out.stdout);
    assert!(
        list.lines().any(|l| l
            == "one-coin-ds      OneCoinDawidSkene      Dawid-Skene with one accuracy per worker"),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("binary-relevance BinaryRelevance        multi-label")),
        "{list}"
    );
    // `--out` and `--output` on both commands.
    let dir = scratch_dir("out-output");
    for flag in ["--out", "--output"] {
        let path = dir.join(format!("g{flag}.csv"));
        let out = crowdagg(&[
            "generate",
            "--tasks",
            "2",
            "--workers",
            "5",
            "--seed",
            "1",
            flag,
            path.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .starts_with("task,worker,label\n")
        );
        let aggregated = dir.join(format!("a{flag}.csv"));
        let out = crowdagg(&[
            "aggregate",
            "-m",
            "mv",
            flag,
            aggregated.to_str().unwrap(),
            path.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            std::fs::read_to_string(&aggregated)
                .unwrap()
                .starts_with("task,label,confidence\n")
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn generate_validates_before_writing_and_leaves_nothing_on_error() {
    let dir = scratch_dir("generate-errors");
    let out_path = dir.join("out.csv");
    let gold_path = dir.join("gold.csv");
    // Too few workers for overlap 5: a size error, not an output error, and no header.
    let out = crowdagg(&["generate", "--tasks", "10", "--workers", "2"]);
    assert_eq!(
        text(&out.stderr),
        "crowdagg: error: workers must be at least the largest overlap, got 2\n"
    );
    assert!(out.stdout.is_empty());
    let out = crowdagg(&[
        "generate",
        "--tasks",
        "10",
        "--workers",
        "2",
        "-o",
        out_path.to_str().unwrap(),
        "--gold",
        gold_path.to_str().unwrap(),
    ]);
    assert_eq!(
        text(&out.stderr),
        "crowdagg: error: workers must be at least the largest overlap, got 2\n"
    );
    // An output that cannot be written: the gold file is not left behind either.
    let unwritable = dir.join("no-such-dir").join("out.csv");
    let out = crowdagg(&[
        "generate",
        "--tasks",
        "10",
        "--workers",
        "5",
        "-o",
        unwritable.to_str().unwrap(),
        "--gold",
        gold_path.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let mut left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert!(left.is_empty(), "{left:?}");
}

/// A child process killed, and its scratch directory removed, when the test ends, passed or
/// not.
struct KillOnDrop {
    child: std::process::Child,
    dir: PathBuf,
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn generate_output_is_unchanged_for_a_seed() {
    // Pinned from the generator before its worker sampling became O(overlap): the same draws.
    let out = crowdagg(&[
        "generate",
        "--tasks",
        "3",
        "--workers",
        "6",
        "--classes",
        "3",
        "--overlap",
        "2,6",
        "--seed",
        "7",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), GENERATED_SEED_7);
}

const GENERATED_SEED_7: &str = "task,worker,label\n\
t0,w1,2\n\
t0,w0,0\n\
t1,w4,0\n\
t1,w3,2\n\
t1,w2,0\n\
t1,w0,0\n\
t1,w5,2\n\
t1,w1,2\n\
t2,w5,2\n\
t2,w0,0\n";

#[test]
fn toloka_aggregate_speaks_in_options() {
    let pool = fixture("toloka/pool-1001");
    let pool = pool.to_str().unwrap();
    let out = crowdagg(&[
        "toloka",
        "aggregate",
        "--skill-id",
        "502",
        "--field",
        "result",
        "--pool",
        pool,
    ]);
    assert_eq!(
        text(&out.stderr),
        "crowdagg: error: --skill-id: No Toloker of pool 1001 has skill 502 (skills present: 501, 777)\n"
    );
    let out = crowdagg(&["toloka", "aggregate", "--field", "result", "--pool", pool]);
    assert_eq!(
        text(&out.stderr),
        "crowdagg: error: --skill-id ID is required with --type WEIGHTED_DYNAMIC_OVERLAP (the default): the Toloka skill that weighs answers\n"
    );
}

#[cfg(feature = "server")]
#[test]
fn serve_help_mentions_the_authorization_header() {
    let out = crowdagg(&["serve", "--help"]);
    let help = text(&out.stdout);
    assert!(help.contains("`Authorization` header"), "{help}");
    assert!(help.contains("401"), "{help}");
}

#[test]
fn probabilities_and_worker_tables() {
    let dir = scratch_dir("probas-workers");
    let input = fixture("data/tiny/responses.csv");
    let input = input.to_str().unwrap();
    let probas = dir.join("p.csv");
    let out = crowdagg(&[
        "aggregate",
        "-m",
        "mv",
        "--probas",
        probas.to_str().unwrap(),
        input,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Vote shares per task (hand count from the responses).
    assert_eq!(
        std::fs::read_to_string(&probas).unwrap(),
        "task,a,b,c\n\
         t1,0.3333333333333333,0,0.6666666666666666\n\
         t2,0.3333333333333333,0.6666666666666666,0\n\
         t3,0.5,0,0.5\n\
         t4,0.3333333333333333,0.3333333333333333,0.3333333333333333\n\
         t5,0.6666666666666666,0.3333333333333333,0\n\
         t6,0,0,1\n"
    );
    // gold-mv: each worker's accuracy on the gold tasks t1 c, t2 b, t5 a.
    let gold = fixture("data/tiny/gold.csv");
    let workers = dir.join("w.csv");
    let out = crowdagg(&[
        "aggregate",
        "-m",
        "gold-mv",
        "--gold",
        gold.to_str().unwrap(),
        "--workers",
        workers.to_str().unwrap(),
        input,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(&workers).unwrap(),
        "worker,skill\nw1,1\nw2,0.5\nw3,0.5\nw4,1\nw5,0\n"
    );
    // ds: the long table holds exactly the JSON output's `errors`.
    let out = crowdagg(&[
        "aggregate",
        "-m",
        "ds",
        "--format",
        "json",
        "--workers",
        workers.to_str().unwrap(),
        input,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let table = std::fs::read_to_string(&workers).unwrap();
    let mut lines = table.lines();
    assert_eq!(lines.next(), Some("worker,true_label,label,probability"));
    let mut rows = 0;
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let expected = json["errors"][f[0]][f[2]][f[1]].as_f64().unwrap();
        assert_eq!(f[3].parse::<f64>().unwrap(), expected, "{line}");
        rows += 1;
    }
    // Labels used: w1 a,b,c; w2 a,b,c; w3 a,b,c; w4 a,c; w5 b,c → 13, × 3 true labels.
    assert_eq!(rows, 13 * 3);
    // A method without probabilities (MMSR has scores): an error, and no file at all (not
    // even --output, which is written only once everything else has been checked).
    let output = dir.join("o.csv");
    let none = dir.join("none.csv");
    let out = crowdagg(&[
        "aggregate",
        "-m",
        "mmsr",
        "-o",
        output.to_str().unwrap(),
        "--probas",
        none.to_str().unwrap(),
        input,
    ]);
    assert_eq!(
        text(&out.stderr),
        "crowdagg: error: --probas: mmsr has no per-label probabilities (its scores are in the --format json output)\n"
    );
    assert!(!output.exists() && !none.exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(unix)]
#[test]
fn an_interrupted_generate_leaves_no_partial_file() {
    let dir = scratch_dir("generate-sigint");
    let out_path = dir.join("out.csv");
    let gold_path = dir.join("gold.csv");
    // Minutes of work: interrupted as soon as its temporary files exist.
    let mut command = Command::new(env!("CARGO_BIN_EXE_crowdagg"));
    command
        .args([
            "generate",
            "--tasks",
            "200000000",
            "--workers",
            "1000",
            "-o",
        ])
        .arg(&out_path)
        .arg("--gold")
        .arg(&gold_path);
    // The child starts with SIGINT's default action: a test run started in the background by
    // a shell without job control (`nohup … &`, some CI runners) has SIGINT ignored, which the
    // child would inherit and keep, as it should (`nohup`'s meaning), and then finish.
    // SAFETY: between fork and exec only `signal`, which is async-signal-safe, is called.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, || {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let child = command.spawn().unwrap();
    // Left running, the child writes ~16 GB: whatever fails below, it is killed and its
    // directory removed.
    let mut child = KillOnDrop {
        child,
        dir: dir.clone(),
    };
    let partials = [dir.join("out.csv.partial"), dir.join("gold.csv.partial")];
    let started = std::time::Instant::now();
    while !partials.iter().all(|p| p.exists())
        && started.elapsed() < std::time::Duration::from_secs(60)
    {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(partials.iter().all(|p| p.exists()));
    let child_id = child.child.id();
    let killed = Command::new("kill")
        .args(["-INT", &child_id.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.child.wait().unwrap();
    assert!(!status.success());
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(unix)]
#[test]
fn an_output_that_is_a_fifo_is_written_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let dir = scratch_dir("fifo-output");
    let fifo = dir.join("out");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("no mkfifo: skipped");
        return;
    }
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let input = fixture("data/tiny/responses.csv");
    let out = crowdagg(&[
        "aggregate",
        "-m",
        "mv",
        "-o",
        fifo.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Renamed over, the FIFO would be a regular file now (and the reader would wait forever).
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    let written = reader.join().unwrap();
    assert!(
        written.starts_with("task,label,confidence\nt1,c,0.6666666666666666\n"),
        "{written}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// A header without rows: an empty result (crowd-kit returns empty frames), the header alone
/// on stdout, a note on stderr, exit 0; JSON output is valid; for every method.
#[test]
fn header_only_input_gives_an_empty_result() {
    let input = fixture("bad/header_only.csv");
    let input = input.to_str().unwrap();
    let note = format!(
        "crowdagg: note: {input}: no responses (a header without rows): the result is empty\n"
    );
    for method in [
        "mv",
        "wawa",
        "zbs",
        "ds",
        "one-coin-ds",
        "glad",
        "mace",
        "mmsr",
        "kos",
    ] {
        let out = crowdagg(&["aggregate", "-m", method, input]);
        assert!(out.status.success(), "{method}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "task,label,confidence\n", "{method}");
        assert_eq!(text(&out.stderr), note, "{method}");
        let out = crowdagg(&["aggregate", "-m", method, "--format", "json", input]);
        assert!(out.status.success(), "{method}: {}", text(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{method}: invalid JSON: {e}"));
        assert_eq!(json["labels"], serde_json::json!({}), "{method}");
    }
    // Side inputs need no overlap with an empty table, and there is nothing to score.
    let gold = fixture("data/tiny/gold.csv");
    let skills = fixture("data/tiny/skills.csv");
    for args in [
        ["-m", "gold-mv", "--gold", gold.to_str().unwrap()],
        ["-m", "wdo", "--skills", skills.to_str().unwrap()],
    ] {
        let mut all = vec!["aggregate"];
        all.extend(args);
        all.push(input);
        let out = crowdagg(&all);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "task,label,confidence\n");
        assert_eq!(text(&out.stderr), note);
    }
    let out = crowdagg(&["aggregate", "-m", "binary-relevance", input]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "task,labels\n");
}

/// `n_iter=0` is accepted: the initialisation only (crowd-kit's `test_zero_iter`). For
/// Dawid-Skene that is the majority vote (hand-counted on the tiny dataset, ties to the
/// smallest label; compare `csv_output_of_the_tiny_dataset`).
#[test]
fn n_iter_zero_runs_the_initialisation() {
    let input = fixture("data/tiny/responses.csv");
    let input = input.to_str().unwrap();
    for method in ["zbs", "ds", "one-coin-ds", "glad", "mace", "mmsr"] {
        let out = crowdagg(&["aggregate", "-m", method, "-p", "n_iter=0", input]);
        assert!(out.status.success(), "{method}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout).lines().count(), 7, "{method}");
    }
    let out = crowdagg(&["aggregate", "-m", "ds", "-p", "n_iter=0", input]);
    let expected = "task,label,confidence\n\
                    t1,c,0.6666666666666666\n\
                    t2,b,0.6666666666666666\n\
                    t3,a,0.5\n\
                    t4,a,0.3333333333333333\n\
                    t5,a,0.6666666666666666\n\
                    t6,c,1\n";
    assert_eq!(text(&out.stdout), expected);
}

/// WDO with skills written as fractions: refused with what to do, naming the skills file;
/// `skill_scale=100` gives what the same skills × 100 give.
#[test]
fn wdo_fraction_skills() {
    let input = fixture("data/tiny/responses.csv");
    let input = input.to_str().unwrap();
    let skills = fixture("data/tiny/skills.csv");
    let skills = skills.to_str().unwrap();
    let out = crowdagg(&["aggregate", "-m", "wdo", "--skills", skills, input]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr),
        format!(
            "crowdagg: error: {skills}: every worker skill is at most 1 (largest 0.9), but skills \
             are on Toloka's 0..=100 scale: set skill_scale=100 if they are fractions of 1, or \
             skill_scale=1 if they are 0..=100 values (--param skill_scale=100, or --param \
             skill_scale=1)\n"
        )
    );
    let scaled = crowdagg(&[
        "aggregate",
        "-m",
        "wdo",
        "-p",
        "skill_scale=100",
        "-p",
        "on_missing_skill=ignore",
        "--skills",
        skills,
        input,
    ]);
    assert!(scaled.status.success(), "{}", text(&scaled.stderr));
    let percent = gold_file("wdo-percent", "worker,skill\nw1,90\nw2,60\nw3,55\nw4,80\n");
    let reference = crowdagg(&[
        "aggregate",
        "-m",
        "wdo",
        "-p",
        "on_missing_skill=ignore",
        "--skills",
        percent.to_str().unwrap(),
        input,
    ]);
    assert!(reference.status.success(), "{}", text(&reference.stderr));
    assert_eq!(text(&scaled.stdout), text(&reference.stdout));
    assert_eq!(text(&scaled.stdout).lines().count(), 7);
}

/// The side tables are all-or-nothing with the main output: when one of them cannot be
/// written (its directory does not exist), the main output and the other table are not left
/// either (they used to be written first and stay).
#[test]
fn no_output_is_left_when_a_side_table_fails() {
    let dir = scratch_dir("side-tables");
    let labels = dir.join("labels.csv");
    let probas = dir.join("probas.csv");
    let input = fixture("data/tiny/responses.csv");
    let out = crowdagg(&[
        "aggregate",
        "-m",
        "mv",
        "--probas",
        probas.to_str().unwrap(),
        "--workers",
        dir.join("no-such-dir/workers.csv").to_str().unwrap(),
        "--output",
        labels.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Pairwise comparisons through the CLI, on crowd-kit's own `data_equal` case (each item beats
/// one and loses to one): crowd-kit's test expects every Bradley-Terry score to be 1/3.
#[test]
fn bradley_terry_from_the_command_line() {
    let dir = scratch_dir("bt");
    let input = write(
        &dir,
        "cmp.csv",
        "worker,task,left,right,label\nw1,t1,a,b,a\nw1,t2,b,c,b\nw1,t3,c,a,c\n",
    );
    let out = crowdagg(&["aggregate", "-m", "bt", &input]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "item,score");
    for (line, item) in lines[1..].iter().zip(["a", "b", "c"]) {
        let (name, score) = line.split_once(',').unwrap();
        assert_eq!(name, item);
        assert!(
            (score.parse::<f64>().unwrap() - 1.0 / 3.0).abs() < 1e-12,
            "{line}"
        );
    }
    let json = crowdagg(&[
        "aggregate",
        "-m",
        "NoisyBradleyTerry",
        "--format",
        "json",
        &input,
    ]);
    assert!(json.status.success(), "{}", text(&json.stderr));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["method"], "NoisyBradleyTerry");
    assert_eq!(report["scores"].as_object().unwrap().len(), 3);
    assert_eq!(report["skills"].as_object().unwrap().len(), 1);
    let refused = crowdagg(&["aggregate", "-m", "bt", "--gold", &input, &input]);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("bt does not use --gold"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// `evaluate` reads the registry's declaration: BinaryRelevance (label sets) is not in the
/// default run, and asking for it is a usage error naming why (it was "unknown method").
#[test]
fn evaluate_leaves_out_the_label_set_method() {
    let input = fixture("data/tiny/responses.csv");
    let gold = fixture("data/tiny/gold.csv");
    let (input, gold) = (input.to_str().unwrap(), gold.to_str().unwrap());
    let out = crowdagg(&[
        "evaluate",
        "--gold",
        gold,
        "--methods",
        "binary-relevance",
        input,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "crowdagg: error: binary-relevance: evaluate scores single labels against gold; \
         BinaryRelevance aggregates label sets\n"
    );
    let out = crowdagg(&["evaluate", "--gold", gold, "--format", "csv", input]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    assert!(
        listed.contains("\nmace,") && !listed.contains("binary-relevance"),
        "{listed}"
    );
}

/// `aggregate -m mv` to a CSV of labels alone reads label counts instead of the responses
/// (`LabelCounts`): the same bytes as the run that reads the responses (made to by asking for
/// `--probas` too), on every dataset, on a generated file in shuffled order, at one and two
/// threads, and on a quoted file (not counted: read as responses). `--timings` reports
/// the same sizes.
#[test]
fn majority_vote_from_label_counts_writes_what_the_responses_give() {
    let dir = scratch_dir("mv-counts");
    let generated = dir.join("generated.csv");
    let out = crowdagg(&[
        "generate",
        "--tasks",
        "20000",
        "--workers",
        "300",
        "--classes",
        "3",
        "--seed",
        "7",
        "-o",
        generated.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Shuffled (a fixed permutation), so that the reader's task column hashes.
    let generated_text = std::fs::read_to_string(&generated).unwrap();
    let mut lines: Vec<&str> = generated_text.lines().skip(1).collect();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for i in (1..lines.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        lines.swap(i, (state % (i as u64 + 1)) as usize);
    }
    let shuffled = write(
        &dir,
        "shuffled.csv",
        &format!("task,worker,label\n{}\n", lines.join("\n")),
    );
    let quoted = write(
        &dir,
        "quoted.csv",
        "task,worker,label\n\"t,1\",w1,a\nt2,w1,b\n\"t,1\",w2,a\nt2,w2,a\nt2,w3,b\n",
    );
    let mut inputs: Vec<String> = [
        "bluebirds",
        "dog",
        "face",
        "ms",
        "rte",
        "sp-amt",
        "tiny",
        "web",
        "ws-amt",
    ]
    .iter()
    .map(|name| fixture(&format!("data/{name}/responses.csv")))
    .map(|path| path.to_str().unwrap().to_owned())
    .collect();
    inputs.extend([generated.to_str().unwrap().to_owned(), shuffled, quoted]);
    let (counted, read) = (dir.join("counted.csv"), dir.join("read.csv"));
    let probas = dir.join("probas.csv");
    for input in &inputs {
        for threads in ["1", "2"] {
            let common = ["aggregate", "-m", "mv", "--threads", threads, "--timings"];
            let mv = |out: &Path, extra: &[&str]| {
                let mut args = common.to_vec();
                args.extend(["-o", out.to_str().unwrap(), input.as_str()]);
                args.extend(extra);
                let run = crowdagg(&args);
                assert!(run.status.success(), "{input}: {}", text(&run.stderr));
                // The sizes of the `--timings` line (its times differ; label counts keep no
                // workers, so their line has no `workers=`).
                let stderr = text(&run.stderr);
                let line = stderr.lines().find(|l| l.starts_with("timings:")).unwrap();
                let sizes = line.split(" read_s=").next().unwrap();
                sizes
                    .split(' ')
                    .filter(|size| !size.starts_with("workers="))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let counted_sizes = mv(&counted, &[]);
            let read_sizes = mv(&read, &["--probas", probas.to_str().unwrap()]);
            assert_eq!(counted_sizes, read_sizes, "{input}");
            assert_eq!(
                std::fs::read(&counted).unwrap(),
                std::fs::read(&read).unwrap(),
                "{input}, {threads} threads"
            );
        }
    }
    // By hand: the quoted file's tasks are "t,1" (a, a) and t2 (b, a, b).
    let expected = "task,label,confidence\n\"t,1\",a,1\nt2,b,0.6666666666666666\n";
    assert_eq!(std::fs::read_to_string(&counted).unwrap(), expected);
    std::fs::remove_dir_all(&dir).unwrap();
}
