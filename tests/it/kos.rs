//! KOS against crowd-kit 1.4.2 (spec §6 and reference runs in fixtures/kos/).

use crate::common;

use crowdagg::{Aggregator, DataError, Error, Kos, Params, Responses};

/// Spec §6: the tiny dataset with a→no, b→yes, c→yes. Its rows are sorted by task then worker,
/// so crowd-kit draws the starting messages in our canonical order.
fn tiny_binary() -> Responses {
    let rows = common::triples(&common::fixture("data/tiny/responses.csv"));
    Responses::from_triples(rows.into_iter().map(|(t, w, l)| {
        let binary = if l == "a" { "no" } else { "yes" };
        (t, w, binary)
    }))
    .unwrap()
}

fn labels(kos: &Kos, data: &Responses) -> Vec<String> {
    let result = kos.aggregate(data).unwrap();
    result
        .labels
        .iter()
        .map(|&l| data.label_name(l as usize).to_string())
        .collect()
}

#[test]
fn tiny_binary_matches_crowd_kit() {
    let data = tiny_binary();
    // Recorded crowd-kit outputs (spec §6 "KOS").
    assert_eq!(labels(&Kos::default(), &data), ["no"; 6]);
    let one = Kos::params().n_iter(1).check().unwrap();
    assert_eq!(labels(&one, &data), ["no", "no", "yes", "no", "no", "no"]);
    let three = Kos::params().n_iter(3).check().unwrap();
    assert_eq!(
        labels(&three, &data),
        ["no", "yes", "yes", "yes", "yes", "yes"]
    );
}

#[test]
fn no_probabilities_and_agreement_as_confidence() {
    let result = Kos::default().aggregate(&tiny_binary()).unwrap();
    assert!(result.probabilities.is_none());
    // All six tasks are "no"; the binary data has no-answers 1/3, 1/3, 1/2, 1/3, 2/3, 0.
    let expected = [1.0 / 3.0, 1.0 / 3.0, 0.5, 1.0 / 3.0, 2.0 / 3.0, 0.0];
    assert_eq!(result.confidence, expected);
}

#[test]
fn three_labels_are_rejected() {
    let data = common::responses(&common::fixture("data/tiny/responses.csv"));
    match Kos::default().aggregate(&data) {
        Err(Error::Data(DataError::WrongLabelCount {
            expected: 2,
            found: 3,
            ..
        })) => {}
        other => panic!("expected WrongLabelCount, got {other:?}"),
    }
}

#[test]
fn zero_sum_goes_to_the_smallest_label() {
    // One worker per task: every leave-one-out task message is 0, so every y becomes 0 after
    // the first iteration and each task's sum is exactly 0 (crowd-kit raises KeyError here).
    let data = Responses::from_triples([("t1", "w1", "x"), ("t2", "w2", "y")]).unwrap();
    assert_eq!(labels(&Kos::default(), &data), ["x", "x"]);
}

/// Our KOS against crowd-kit's on a shared binary dataset (crowd-kit ran on a copy sorted by
/// task, worker, label, so both draw the same starting messages; see
/// fixtures/regenerate_mmsr_kos.sh). Returns (label agreement, our gold accuracy, crowd-kit's).
fn compare(name: &str) -> (f64, f64, f64) {
    let data = common::responses(&common::dataset(name, "responses.csv"));
    let gold = common::gold(&common::dataset(name, "gold.csv"));
    let reference = common::reference_labels(&common::fixture(&format!("kos/{name}.json")));
    let result = Kos::default().aggregate(&data).unwrap();
    let (mut same, mut ours_right, mut theirs_right, mut graded) = (0, 0, 0, 0);
    for (t, &l) in result.labels.iter().enumerate() {
        let task = data.task_name(t);
        let ours = data.label_name(l as usize);
        let theirs = reference[task].as_str();
        same += usize::from(ours == theirs);
        if let Some(truth) = gold.get(task) {
            graded += 1;
            ours_right += usize::from(ours == truth);
            theirs_right += usize::from(theirs == truth);
        }
    }
    let stats = (
        same as f64 / data.n_tasks() as f64,
        ours_right as f64 / graded as f64,
        theirs_right as f64 / graded as f64,
    );
    eprintln!("{name}: agreement, gold accuracy (ours, crowd-kit) = {stats:?}");
    stats
}

#[test]
fn shared_datasets_match_crowd_kit() {
    for name in ["rte", "bluebirds", "sp-amt"] {
        let (agreement, _, _) = compare(name);
        assert_eq!(agreement, 1.0, "{name}");
    }
}
