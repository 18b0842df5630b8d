//! `crowdagg toloka aggregate` and `crowdagg serve` as processes. Expected values are the
//! spec's hand calculations (`specs/toloka-api.md` §7 E3, E5).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/toloka")
}

fn crowdagg() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crowdagg"))
}

fn json_lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn toloka_aggregate_prints_json_lines() {
    let output = crowdagg()
        .args([
            "toloka",
            "aggregate",
            "--type",
            "WEIGHTED_DYNAMIC_OVERLAP",
            "--skill-id",
            "501",
        ])
        .args(["--field", "result", "--pool"])
        .arg(fixtures().join("pool-1001"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = json_lines(&output.stdout);
    let expected = [
        ("t-0001", "OK", 0.63 / 0.645),
        ("t-0002", "BAD", 0.135 / 0.1775),
        ("t-0003", "BAD", 0.108 / 0.11225),
        ("t-0004", "OK", 0.8),
    ];
    assert_eq!(lines.len(), expected.len());
    for (line, (task, answer, confidence)) in lines.iter().zip(expected) {
        assert_eq!(line["pool_id"], "1001");
        assert_eq!(line["task_id"], task);
        assert_eq!(line["output_values"]["result"], answer);
        assert!((line["confidence"].as_f64().unwrap() - confidence).abs() < 1e-12);
    }
}

#[test]
fn toloka_aggregate_one_task_with_shared_skills() {
    let output = crowdagg()
        .args([
            "toloka",
            "aggregate",
            "--skill-id",
            "501",
            "--field",
            "is_cat",
        ])
        .args(["--task-id", "c-1", "--pool"])
        .arg(fixtures().join("pool-1002"))
        .arg("--skills")
        .arg(fixtures().join("skills-501.csv"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = json_lines(&output.stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["output_values"]["is_cat"], true);
    assert!((lines[0]["confidence"].as_f64().unwrap() - 0.2).abs() < 1e-12);
}

#[test]
fn toloka_aggregate_errors_are_one_line() {
    let output = crowdagg()
        .args([
            "toloka",
            "aggregate",
            "--skill-id",
            "501",
            "--field",
            "colour",
            "--pool",
        ])
        .arg(fixtures().join("pool-1001"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    // In the CLI's words (nothing went over HTTP), listing the fields that exist.
    assert_eq!(
        stderr,
        "crowdagg: error: --field: Pool 1001 has no output field \"colour\" (fields with accepted answers: result)\n"
    );
    let output = crowdagg()
        .args(["toloka", "aggregate", "--field", "result", "--pool"])
        .arg(fixtures().join("no-such-dir"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-dir: not a pool directory"));
}

#[cfg(all(feature = "remote", feature = "server"))]
#[test]
fn serve_answers_remote_backend() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    use crowdagg::toloka::{
        AggregationBackend, Auth, RemoteBackend, TaskAggregatedSolutionRequest,
    };

    let mut child = crowdagg()
        .args(["serve", "--bind", "127.0.0.1:0", "--pool"])
        .arg(fixtures().join("pool-1001"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let read = child
        .stdout
        .take()
        .map(|out| BufReader::new(out).read_line(&mut line));
    let url = line
        .split_whitespace()
        .find(|word| word.starts_with("http://127.0.0.1:"))
        .map(str::to_owned);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert!(matches!(read, Some(Ok(_))), "{line}");
        let remote = RemoteBackend::new(url.clone().unwrap(), Auth::OAuth("t".into())).retries(0);
        let request = TaskAggregatedSolutionRequest::weighted_dynamic_overlap(
            "t-0003",
            "1001",
            "501",
            ["result"],
        );
        let solution = remote.aggregate_by_task(&request).unwrap();
        assert_eq!(solution.output_values["result"], "BAD");
        assert!((solution.confidence - 0.108 / 0.11225).abs() < 1e-12);
    }));
    let _ = child.kill();
    let _ = child.wait();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
