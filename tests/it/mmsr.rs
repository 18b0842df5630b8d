//! MMSR against crowd-kit 1.4.2 (spec §6 and reference runs in fixtures/mmsr/).

use crate::common;

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
        let chosen = scores[[t, result.labels[t] as usize]];
        assert_abs_diff_eq!(result.confidence[t], chosen.clamp(0.0, 1.0));
    }
}

#[test]
fn params_are_validated() {
    assert!(Mmsr::params().n_iter(0).check().is_ok()); // the initialisation only (crowd-kit)
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

/// Our MMSR against crowd-kit's on a shared dataset (crowd-kit ran on a copy sorted by worker,
/// so both start from the same random numbers; see fixtures/regenerate_mmsr_kos.sh).
/// Returns (label agreement, max |Δ skill|, our iterations, crowd-kit's, our gold accuracy,
/// crowd-kit's gold accuracy).
fn compare(name: &str) -> (f64, f64, usize, u64, f64, f64) {
    let data = common::responses_keep_last(&common::dataset(name, "responses.csv"));
    let gold = common::gold(&common::dataset(name, "gold.csv"));
    let reference = common::reference(&common::fixture(&format!("mmsr/{name}.json")));
    let result = Mmsr::default().aggregate(&data).unwrap();
    let labels = reference["labels"].as_object().unwrap();
    let mut same = 0;
    let (mut ours_right, mut theirs_right, mut graded) = (0, 0, 0);
    for (t, &l) in result.labels.iter().enumerate() {
        let task = data.task_name(t);
        let ours = data.label_name(l as usize);
        let theirs = labels[task].as_str().unwrap();
        same += usize::from(ours == theirs);
        if let Some(truth) = gold.get(task) {
            graded += 1;
            ours_right += usize::from(ours == truth);
            theirs_right += usize::from(theirs == truth);
        }
    }
    let skills = reference["skills"].as_object().unwrap();
    let ours = result.skills.as_ref().unwrap();
    let max_skill_diff = (0..data.n_workers())
        .map(|w| (ours[w].unwrap() - skills[data.worker_name(w)].as_f64().unwrap()).abs())
        .fold(0.0, f64::max);
    let stats = (
        same as f64 / data.n_tasks() as f64,
        max_skill_diff,
        result.report.iterations,
        reference["n_iter_run"].as_u64().unwrap(),
        ours_right as f64 / graded as f64,
        theirs_right as f64 / graded as f64,
    );
    eprintln!(
        "{name}: agreement, max |Δskill|, iterations (ours, crowd-kit), gold accuracy (ours, crowd-kit) = {stats:?}"
    );
    stats
}

#[test]
fn shared_datasets_match_crowd_kit() {
    for name in [
        "rte",
        "dog",
        "bluebirds",
        "face",
        "ms",
        "ws-amt",
        "sp-amt",
        "web",
    ] {
        let (agreement, skill_diff, ours, theirs, _, _) = compare(name);
        assert_eq!(agreement, 1.0, "{name}");
        assert!(skill_diff < 1e-12, "{name}: {skill_diff}");
        assert!(
            ours.abs_diff(theirs as usize) <= 1,
            "{name}: {ours} vs {theirs}"
        );
    }
}

#[test]
fn degenerate_inputs_do_not_panic() {
    use crowdagg::Responses;
    let cases: [&[(&str, &str, &str)]; 4] = [
        // One worker.
        &[("t1", "w1", "a"), ("t2", "w1", "b")],
        // Two workers who share no task.
        &[("t1", "w1", "a"), ("t2", "w2", "b")],
        // Two workers who always agree.
        &[
            ("t1", "w1", "a"),
            ("t1", "w2", "a"),
            ("t2", "w1", "b"),
            ("t2", "w2", "b"),
        ],
        // Agreement exactly at chance (C_12 = 0).
        &[
            ("t1", "w1", "a"),
            ("t1", "w2", "a"),
            ("t2", "w1", "b"),
            ("t2", "w2", "a"),
        ],
    ];
    for rows in cases {
        let data = Responses::from_triples(rows.iter().copied()).unwrap();
        match Mmsr::default().aggregate(&data) {
            Ok(result) => assert_eq!(result.labels.len(), data.n_tasks()),
            Err(e) => assert!(e.to_string().contains("MMSR"), "{e}"),
        }
    }
}
