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
