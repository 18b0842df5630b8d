//! Parity with crowd-kit 1.4.2: every method of the voting family on the bundled datasets,
//! against outputs recorded by `fixtures/regenerate.sh` (crowd-kit in the pinned reference
//! environment). Labels must be identical and probabilities and skills within 1e-9.

use std::path::{Path, PathBuf};

use crowdagg::io::{ReadOptions, read_gold, read_responses, read_skills};
use crowdagg::methods::find_method;
use crowdagg::output::write_json;
use crowdagg::{DataError, Error, FitInputs};
use serde_json::Value;

const TOLERANCE: f64 = 1e-9;

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path)
}

fn expected(dataset: &str, name: &str) -> Value {
    let path = fixture(&format!("expected/{dataset}/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Runs `method` through the library and the JSON writer, as the CLI does.
fn ours(
    dataset: &str,
    method: &str,
    params: &[(&str, &str)],
    skills: bool,
) -> Result<Value, Error> {
    let data = read_responses(
        fixture(&format!("data/{dataset}/responses.csv")),
        &ReadOptions::default(),
    )?;
    let gold = read_gold(
        fixture(&format!("data/{dataset}/gold.csv")),
        &ReadOptions::default(),
    )?;
    let skills = if skills {
        Some(read_skills(
            fixture(&format!("data/{dataset}/skills.csv")),
            None,
        )?)
    } else {
        None
    };
    let method = find_method(method).unwrap();
    let aggregator = method.build(params)?;
    let mut inputs = FitInputs::default();
    if method.requirements().gold.required() {
        inputs = inputs.gold(&gold);
    }
    if let Some(skills) = &skills {
        inputs = inputs.skills(skills);
    }
    let result = aggregator.aggregate_with(&data, inputs)?;
    let mut json = Vec::new();
    write_json(
        &mut json,
        &data,
        &result,
        aggregator.name(),
        &aggregator.params(),
    )
    .unwrap();
    Ok(serde_json::from_slice(&json).unwrap())
}

/// Largest |a − b| over the numbers of two `{key: number}` maps that must have the same keys.
fn max_diff(ours: &Value, reference: &Value, what: &str) -> f64 {
    let (ours, reference) = (ours.as_object().unwrap(), reference.as_object().unwrap());
    assert_eq!(ours.len(), reference.len(), "{what}: different key sets");
    reference
        .iter()
        .map(|(key, r)| {
            let o = ours
                .get(key)
                .unwrap_or_else(|| panic!("{what}: missing {key}"));
            match (o, r) {
                (Value::Object(_), Value::Object(_)) => max_diff(o, r, what),
                _ => (o.as_f64().unwrap() - r.as_f64().unwrap()).abs(),
            }
        })
        .fold(0.0, f64::max)
}

fn check(dataset: &str, method: &str, expected_name: &str, params: &[(&str, &str)], skills: bool) {
    let reference = expected(dataset, expected_name);
    let ours = ours(dataset, method, params, skills).unwrap();
    let (labels, ref_labels) = (
        ours["labels"].as_object().unwrap(),
        reference["labels"].as_object().unwrap(),
    );
    assert_eq!(
        labels.len(),
        ref_labels.len(),
        "{dataset} {method}: task count"
    );
    let differing: Vec<_> = ref_labels
        .iter()
        .filter(|(task, label)| labels[task.as_str()].as_str() != Some(label.as_str().unwrap()))
        .map(|(task, _)| task.clone())
        .collect();
    assert!(
        differing.is_empty(),
        "{dataset} {method}: labels differ on {differing:?}"
    );
    let dp = max_diff(&ours["probas"], &reference["probas"], "probas");
    let ds = max_diff(&ours["skills"], &reference["skills"], "skills");
    println!(
        "{dataset:>5} {method:>7}: {} labels equal, max |dp| {dp:.1e}, max |ds| {ds:.1e}",
        ref_labels.len()
    );
    assert!(dp <= TOLERANCE, "{dataset} {method}: max |dp| = {dp:e}");
    assert!(ds <= TOLERANCE, "{dataset} {method}: max |ds| = {ds:e}");
}

const DATASETS: [&str; 4] = ["tiny", "web", "rte", "dog"];

#[test]
fn majority_vote() {
    for dataset in DATASETS {
        check(dataset, "mv", "MajorityVote", &[], false);
    }
}

#[test]
fn majority_vote_with_skills() {
    let params = [("on_missing_skill", "value"), ("default_skill", "0.5")];
    check("tiny", "mv", "MajorityVote-skills", &params, true);
}

#[test]
fn wawa() {
    for dataset in DATASETS {
        check(dataset, "wawa", "Wawa", &[], false);
    }
}

#[test]
fn zero_based_skill() {
    for dataset in DATASETS {
        check(dataset, "zbs", "ZeroBasedSkill", &[], false);
    }
}

#[test]
fn gold_majority_vote() {
    for dataset in DATASETS {
        let error = fixture(&format!("expected/{dataset}/GoldMajorityVote.error"));
        if error.exists() {
            // crowd-kit raises "Skill value is missing": a worker answered no gold task.
            let message = std::fs::read_to_string(error).unwrap();
            assert!(message.contains("Skill value is missing"), "{message}");
            match ours(dataset, "gold-mv", &[], false) {
                Err(Error::Data(DataError::MissingSkill { .. })) => {}
                other => panic!("{dataset}: expected a missing-skill error, got {other:?}"),
            }
        } else {
            check(dataset, "gold-mv", "GoldMajorityVote", &[], false);
        }
    }
}
