//! KOS against crowd-kit 1.4.2 (spec §6 and reference runs in fixtures/kos/).

mod common;

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
fn no_probabilities_and_nan_confidence() {
    let result = Kos::default().aggregate(&tiny_binary()).unwrap();
    assert!(result.probabilities.is_none());
    assert!(result.confidence.iter().all(|c| c.is_nan()));
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
