//! MMSR against crowd-kit 1.4.2 (spec §6 and reference runs in fixtures/mmsr/).

mod common;

use approx::assert_abs_diff_eq;
use crowdagg::{Aggregator, Mmsr, Params, StopReason};

#[test]
fn tiny_dataset_matches_crowd_kit() {
    // specs/crowd-kit-spec.md §6 "MMSR": 33 iterations; labels, scores and skills below.
    let data = common::responses(&common::fixture("data/tiny/responses.csv"));
    let result = Mmsr::default().aggregate(&data).unwrap();
    assert_eq!(result.report.iterations, 33);
    assert_eq!(result.report.stop_reason, StopReason::Converged);
    let labels: Vec<&str> = result
        .labels
        .iter()
        .map(|&l| data.label_name(l as usize))
        .collect();
    assert_eq!(labels, ["a", "b", "a", "a", "a", "c"]);
    let skills: Vec<f64> = result
        .skills
        .as_ref()
        .unwrap()
        .iter()
        .map(|s| s.unwrap())
        .collect();
    let expected = [
        1.193935157,
        1.341773288,
        -0.2905160333,
        1.676810394,
        -0.2905160333,
    ];
    for (s, e) in skills.iter().zip(expected) {
        assert_abs_diff_eq!(*s, e, epsilon = 1e-8);
    }
    assert!(result.probabilities.is_none());
    let scores = result.scores.as_ref().unwrap();
    // Columns a, b, c.
    let expected = [
        [0.597620623, 0.0, 0.402379377],
        [-0.1293947155, 1.129394715, 0.0],
        [0.5291512478, 0.0, 0.4708487522],
        [1.530245992, -0.2651229961, -0.2651229961],
        [1.112593097, -0.1125930973, 0.0],
        [0.0, 0.0, 1.0],
    ];
    for (t, row) in expected.iter().enumerate() {
        for (l, &e) in row.iter().enumerate() {
            assert_abs_diff_eq!(scores[[t, l]], e, epsilon = 1e-8);
        }
        assert_abs_diff_eq!(result.confidence[t], scores[[t, result.labels[t] as usize]]);
    }
}

#[test]
fn params_are_validated() {
    assert!(Mmsr::params().n_iter(0).check().is_err());
    assert!(Mmsr::params().tol(-1.0).check().is_err());
    let mmsr = crowdagg::methods::find_method("mmsr").unwrap();
    assert!(mmsr.build(&[("random_state", "7")]).is_ok());
    assert!(mmsr.build(&[("seed", "7")]).is_err());
}

#[test]
fn one_label_is_an_error() {
    let data = crowdagg::Responses::from_triples([("t", "w1", "x"), ("t", "w2", "x")]).unwrap();
    assert!(Mmsr::default().aggregate(&data).is_err());
}
