//! `crowdagg aggregate` on texts, embeddings and PNG segmentation masks: outputs against
//! crowd-kit 1.4.2's (fixtures made by the scripts their READMEs name), and bad input as one
//! located error line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crowdagg::io::read_mask_png;

use crate::common::{fixture, read_rows};

fn crowdagg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crowdagg"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The one-line error of a failed run.
fn error(out: &Output) -> String {
    assert!(!out.status.success(), "should have failed");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crowdagg-fam-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// CSV text with a header as rows of fields.
fn rows(text: &str) -> Vec<Vec<String>> {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn rover_equals_crowd_kits_expected_texts() {
    // crowd-kit's test_rover_simple_text: tokenizer `split(" ")`, detokenizer `" ".join`.
    let input = fixture("texts/simple_text.csv");
    let out = ok(&crowdagg(&[
        "aggregate",
        "-m",
        "rover",
        "-p",
        "tokenizer=space",
        &input,
    ]));
    let expected = read_rows(&fixture("texts/expected_rover.csv"));
    let mut got = rows(&out);
    got.sort();
    let mut expected = expected;
    expected.sort();
    assert_eq!(got, expected);
    let json = ok(&crowdagg(&[
        "aggregate",
        "-m",
        "ROVER",
        "--format",
        "json",
        &input,
    ]));
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["method"], "ROVER");
    let texts = report["texts"].as_object().unwrap();
    for row in &expected {
        assert_eq!(texts[&row[0]], row[1].as_str(), "{}", row[0]);
    }
}

#[test]
fn rasa_and_hrrasa_choose_crowd_kits_outputs() {
    // crowd-kit's test_rasa / test_hrrasa: true embeddings given; its HRRASA's output
    // similarity is `crowd-kit`.
    let input = fixture("embeddings/simple_text.csv");
    let truth = fixture("embeddings/simple_text_true.csv");
    for (method, extra, expected) in [
        ("rasa", None, "embeddings/expected_rasa.csv"),
        (
            "HRRASA",
            Some("output_similarity=crowd-kit"),
            "embeddings/expected_hrrasa.csv",
        ),
    ] {
        let mut args = vec!["aggregate", "-m", method, "--true-embeddings", &truth];
        if let Some(p) = extra {
            args.extend(["-p", p]);
        }
        args.push(&input);
        let got = rows(&ok(&crowdagg(&args)));
        let expected = read_rows(&fixture(expected));
        let by_task: BTreeMap<_, _> = got.iter().map(|r| (&r[0], r)).collect();
        assert_eq!(by_task.len(), expected.len());
        for row in &expected {
            let mine = by_task[&row[0]];
            assert_eq!(mine[1], row[1], "{method} {}", row[0]);
            let parse = |s: &str| -> Vec<f64> {
                s.split_whitespace().map(|v| v.parse().unwrap()).collect()
            };
            assert_eq!(parse(&mine[2]), parse(&row[2]), "{method} {}", row[0]);
        }
    }
}

#[test]
fn embedding_json_is_keyed_like_crowd_kit() {
    let input = fixture("embeddings/simple_text.csv");
    let json = ok(&crowdagg(&[
        "aggregate",
        "-m",
        "text-rasa",
        "--format",
        "json",
        &input,
    ]));
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["method"], "TextRASA");
    let chosen = report["embeddings_and_outputs"].as_object().unwrap();
    let texts = report["texts"].as_object().unwrap();
    assert_eq!(chosen.len(), 5);
    for (task, entry) in chosen {
        assert_eq!(entry["output"], texts[task]);
        assert_eq!(entry["embedding"].as_array().unwrap().len(), 2);
    }
    let responses = read_rows(&input).len();
    assert_eq!(report["scores"].as_array().unwrap().len(), responses);
    assert!(report["skills"].is_object());
    let plain = ok(&crowdagg(&[
        "aggregate",
        "-m",
        "closest-to-average",
        "--format",
        "json",
        &input,
    ]));
    let plain: serde_json::Value = serde_json::from_str(&plain).unwrap();
    assert!(plain["skills"].is_null() && plain.get("texts").is_none());
}

/// The masks crowd-kit chose, `{method: {task: rows of 0/1 joined by "/"}}`.
fn crowd_kit_masks() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("segmentation/png/crowdkit.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn mask_text(path: &Path) -> String {
    let mask = read_mask_png(path).unwrap();
    mask.to_bools()
        .chunks(mask.width())
        .map(|row| row.iter().map(|&p| if p { '1' } else { '0' }).collect())
        .collect::<Vec<String>>()
        .join("/")
}

#[test]
fn png_masks_equal_crowd_kits_segmentations() {
    // Every PNG colour type the reader handles (see fixtures/segmentation/png_reference.py).
    let input = fixture("segmentation/png/masks.csv");
    let expected = crowd_kit_masks();
    let dir = scratch_dir("seg");
    for (method, key) in [
        ("seg-mv", "mv"),
        ("seg-rasa", "rasa"),
        ("SegmentationEM", "em"),
    ] {
        let out = dir.join(key);
        ok(&crowdagg(&[
            "aggregate",
            "-m",
            method,
            "-o",
            out.to_str().unwrap(),
            &input,
        ]));
        let index = read_rows(out.join("index.csv").to_str().unwrap());
        let expected = expected[key].as_object().unwrap();
        assert_eq!(index.len(), expected.len());
        for row in &index {
            assert_eq!(
                mask_text(&out.join(&row[1])),
                expected[&row[0]],
                "{method} {}",
                row[0]
            );
        }
    }
    // Round trip: the written masks read back as one worker's answers give themselves.
    let mv = dir.join("mv");
    let index = read_rows(mv.join("index.csv").to_str().unwrap());
    let mut again = String::from("task,worker,mask\n");
    for row in &index {
        again.push_str(&format!("{},w,{}\n", row[0], row[1]));
    }
    std::fs::write(mv.join("again.csv"), again).unwrap();
    let back = dir.join("back");
    ok(&crowdagg(&[
        "aggregate",
        "-m",
        "seg-mv",
        "--format",
        "json",
        "-o",
        back.to_str().unwrap(),
        mv.join("again.csv").to_str().unwrap(),
    ]));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(back.join("index.json")).unwrap()).unwrap();
    assert_eq!(report["method"], "SegmentationMajorityVote");
    for (task, file) in report["segmentations"].as_object().unwrap() {
        assert_eq!(
            mask_text(&back.join(file.as_str().unwrap())),
            expected["mv"][task],
            "{task}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_masks_and_embeddings_are_located_errors() {
    let dir = scratch_dir("bad");
    let out = dir.to_str().unwrap();
    let bad = |name: &str| fixture(&format!("bad/segmentation/{name}"));
    let run = |input: &str| error(&crowdagg(&["aggregate", "-m", "seg-mv", "-o", out, input]));
    let e = run(&bad("wrong_size.csv"));
    assert!(
        e.contains("wrong_size.csv:4:3: mask of response #3 (task \"img1\") is 3x2, the task's first mask is 20x12"),
        "{e}"
    );
    let e = run(&bad("truncated.csv"));
    assert!(
        e.contains("truncated.csv:3:3: mask file")
            && e.contains("truncated.png: not a readable PNG"),
        "{e}"
    );
    let e = run(&bad("not_a_png.csv"));
    assert!(
        e.contains("not_a_png.csv:2:3: mask file") && e.contains("not a readable PNG"),
        "{e}"
    );
    let e = run(&bad("missing_file.csv"));
    assert!(
        e.contains("missing_file.csv:3:3: mask file") && e.contains("no_such_mask.png"),
        "{e}"
    );
    let e = run(&bad("no_such_table.csv"));
    assert!(e.contains("no_such_table.csv"), "{e}");
    // Nothing was written for any of them.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    let e = error(&crowdagg(&[
        "aggregate",
        "-m",
        "seg-em",
        &fixture("segmentation/png/masks.csv"),
    ]));
    assert!(e.contains("--output DIR"), "{e}");
    let e = error(&crowdagg(&[
        "aggregate",
        "-m",
        "rasa",
        &fixture("bad/embedding_length.csv"),
    ]));
    assert!(
        e.contains(
            "embedding_length.csv:4:4: embedding of response #3 has 2 values, the first one had 3"
        ),
        "{e}"
    );
    let e = error(&crowdagg(&[
        "aggregate",
        "-m",
        "rover",
        "--true-embeddings",
        "x.csv",
        &fixture("texts/simple_text.csv"),
    ]));
    assert!(e.contains("rover does not use --true-embeddings"), "{e}");
    let e = error(&crowdagg(&[
        "aggregate",
        "-m",
        "mv",
        "--embedding-column",
        "e",
        &fixture("texts/simple_text.csv"),
    ]));
    assert!(e.contains("mv does not use --embedding-column"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_failed_mask_run_writes_nothing() {
    let input = fixture("segmentation/png/masks.csv");
    let dir = scratch_dir("atomic");
    let run = |out: &Path| {
        crowdagg(&[
            "aggregate",
            "-m",
            "seg-rasa",
            "-o",
            out.to_str().unwrap(),
            &input,
        ])
    };
    // The file names, from a run into a directory that did not exist (created whole).
    let fresh = dir.join("fresh");
    ok(&run(&fresh));
    let index = read_rows(fresh.join("index.csv").to_str().unwrap());
    assert!(index.len() >= 2);
    // Into an existing directory where the second task's mask name is taken by a directory:
    // the first mask would be written before the error; nothing is, and no staging is left.
    let blocked = dir.join("blocked");
    std::fs::create_dir_all(blocked.join(&index[1][1])).unwrap();
    std::fs::write(blocked.join("keep.txt"), "mine").unwrap();
    let e = error(&run(&blocked));
    assert!(
        e.contains(&index[1][1]) && e.contains("is a directory"),
        "{e}"
    );
    let mut left: Vec<String> = std::fs::read_dir(&blocked)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    let mut expect = vec![index[1][1].clone(), "keep.txt".to_string()];
    expect.sort();
    assert_eq!(left, expect);
    let siblings: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        siblings.iter().all(|s| !s.contains("partial")),
        "{siblings:?}"
    );
    // Unblocked, the same directory gets every mask and the index, its other files kept.
    std::fs::remove_dir(blocked.join(&index[1][1])).unwrap();
    ok(&run(&blocked));
    for row in &index {
        assert_eq!(
            std::fs::read(blocked.join(&row[1])).unwrap(),
            std::fs::read(fresh.join(&row[1])).unwrap()
        );
    }
    assert_eq!(
        std::fs::read_to_string(blocked.join("keep.txt")).unwrap(),
        "mine"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
