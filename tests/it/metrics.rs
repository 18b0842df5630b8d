//! Metrics against crowd-kit 1.4.2: the tiny dataset (spec §6, and a run of the reference venv
//! with pandas 2.3.3 where the tie rule matters) and two shared datasets (fixtures/metrics/).

use crate::common;

use std::f64::consts::LN_2;

use approx::assert_abs_diff_eq;
use crowdagg::metrics::{self, By};
use crowdagg::{Aggregator, Label, MajorityVote, Responses};

fn tiny() -> Responses {
    common::responses(&common::fixture("data/tiny/responses.csv"))
}

fn ids(data: &Responses, labels: &[&str]) -> Vec<Label> {
    labels.iter().map(|l| data.label_id(l).unwrap()).collect()
}

#[test]
fn consistency_spec_values() {
    // Spec §6 was recorded with pandas 3, whose MajorityVote gives ties to the first-seen label:
    // labels c, b, c, c, a, c and skills w1 1, w2 .5, w3 1/3, w4 2/3, w5 .5 (spec §6 "MV").
    let data = tiny();
    let labels = ids(&data, &["c", "b", "c", "c", "a", "c"]);
    let skills = [
        Some(1.0),
        Some(0.5),
        Some(1.0 / 3.0),
        Some(2.0 / 3.0),
        Some(0.5),
    ];
    let per_task = metrics::consistency_by_task(&data, &labels, &skills).unwrap();
    let expected = [1.0, 1.0, 1.0, 0.2857142857, 1.0, 0.8];
    for (c, e) in per_task.iter().zip(expected) {
        assert_abs_diff_eq!(*c, e, epsilon = 1e-10);
    }
    assert_abs_diff_eq!(metrics::mean(&per_task), 0.8476190476, epsilon = 1e-10);
}

#[test]
fn consistency_of_our_majority_vote() {
    // crowd-kit 1.4.2 with pandas 2.3.3 (ties to the smallest label, like ours):
    // consistency(df) = 0.8117408906882592, by task
    // [0.46153846153846156, 0.9473684210526316, 0.46153846153846156, 1.0, 1.0, 1.0].
    let data = tiny();
    let result = MajorityVote::default().aggregate(&data).unwrap();
    let skills = result.skills.as_ref().unwrap();
    let per_task = metrics::consistency_by_task(&data, &result.labels, skills).unwrap();
    let expected = [
        0.46153846153846156,
        0.9473684210526316,
        0.46153846153846156,
        1.0,
        1.0,
        1.0,
    ];
    for (c, e) in per_task.iter().zip(expected) {
        assert_abs_diff_eq!(*c, e, epsilon = 1e-14);
    }
    let mean = metrics::consistency_of(&data, &MajorityVote::default()).unwrap();
    assert_abs_diff_eq!(mean, 0.8117408906882592, epsilon = 1e-14);
}

#[test]
fn consistency_needs_skills() {
    let data = tiny();
    let labels = ids(&data, &["c", "b", "c", "c", "a", "c"]);
    let mut skills = vec![Some(1.0); 5];
    skills[3] = None;
    assert!(metrics::consistency_by_task(&data, &labels, &skills).is_err());
}

#[test]
fn uncertainty_by_task_and_worker() {
    let data = tiny();
    // Spec §6: mean 0.6168836624, t4 = ln 3, t6 = 0. Reference run (pandas 2.3.3):
    // uncertainty(df, aggregate=False) and uncertainty(df, compute_by="worker", aggregate=False).
    let by_task = metrics::uncertainty(&data, None, By::Task).unwrap();
    let expected = [
        0.6365141682948128,
        0.6365141682948128,
        LN_2,
        1.0986122886681096,
        0.6365141682948128,
        0.0,
    ];
    for (u, e) in by_task.iter().zip(expected) {
        assert_abs_diff_eq!(*u, e, epsilon = 1e-12);
    }
    let mean = metrics::mean_uncertainty(&data, None, By::Task).unwrap();
    assert_abs_diff_eq!(mean, 0.6168836624, epsilon = 1e-10);
    assert_abs_diff_eq!(mean, 0.6168836623520823, epsilon = 1e-12);
    let by_worker = metrics::uncertainty(&data, None, By::Worker).unwrap();
    let expected = [
        1.0397207708399179,
        1.0397207708399179,
        1.0986122886681096,
        0.6365141682948128,
        LN_2,
    ];
    for (u, e) in by_worker.iter().zip(expected) {
        assert_abs_diff_eq!(*u, e, epsilon = 1e-12);
    }
}

#[test]
fn uncertainty_docstring_examples() {
    // crowd-kit's docstring: X has Yes/No, Y has Yes/Yes, skills 1 → X 0.693147 (ln 2), Y 0;
    // by worker A 0, B 0.693147. Three different answers → ln 3.
    let data = Responses::from_triples([
        ("X", "A", "Yes"),
        ("X", "B", "No"),
        ("Y", "A", "Yes"),
        ("Y", "B", "Yes"),
    ])
    .unwrap();
    let skills = [Some(1.0), Some(1.0)];
    let by_task = metrics::uncertainty(&data, Some(&skills), By::Task).unwrap();
    assert_abs_diff_eq!(by_task[0], LN_2, epsilon = 1e-12);
    assert_abs_diff_eq!(by_task[1], 0.0, epsilon = 1e-12);
    let by_worker = metrics::uncertainty(&data, Some(&skills), By::Worker).unwrap();
    assert_abs_diff_eq!(by_worker[0], 0.0, epsilon = 1e-12);
    assert_abs_diff_eq!(by_worker[1], LN_2, epsilon = 1e-12);
    let three = Responses::from_triples([("X", "A", "Yes"), ("X", "B", "No"), ("X", "C", "Maybe")])
        .unwrap();
    let u = metrics::mean_uncertainty(&three, None, By::Task).unwrap();
    assert_abs_diff_eq!(u, 1.0986122886681096, epsilon = 1e-12);
}

#[test]
fn alpha_krippendorff_values() {
    // Spec §6.
    assert_abs_diff_eq!(
        metrics::alpha_krippendorff(&tiny()).unwrap(),
        0.017857142857142794,
        epsilon = 1e-15
    );
    // crowd-kit docstring examples: 1.0 and 0.4444444444444444.
    let consistent = Responses::from_triples([
        ("X", "A", "Yes"),
        ("X", "B", "Yes"),
        ("Y", "A", "No"),
        ("Y", "B", "No"),
    ])
    .unwrap();
    assert_eq!(metrics::alpha_krippendorff(&consistent).unwrap(), 1.0);
    let partial = Responses::from_triples([
        ("X", "A", "Yes"),
        ("X", "B", "Yes"),
        ("Y", "A", "No"),
        ("Y", "B", "No"),
        ("Z", "A", "Yes"),
        ("Z", "B", "No"),
    ])
    .unwrap();
    assert_abs_diff_eq!(
        metrics::alpha_krippendorff(&partial).unwrap(),
        0.4444444444444444,
        epsilon = 1e-15
    );
    // No task with two responses: nltk divides by zero; here an error.
    let single = Responses::from_triples([("X", "A", "Yes"), ("Y", "A", "No")]).unwrap();
    assert!(metrics::alpha_krippendorff(&single).is_err());
}

#[test]
fn accuracy_on_aggregates_values() {
    // Spec §6: 0.625 (with either tie rule). By worker, reference run with pandas 2.3.3:
    // [0.75, 0.75, 0.3333333333333333, 1.0, 0.0].
    let data = tiny();
    let result = MajorityVote::default().aggregate(&data).unwrap();
    assert_abs_diff_eq!(
        metrics::accuracy_on_aggregates(&data, &result.labels),
        0.625
    );
    let by_worker = metrics::accuracy_on_aggregates_by_worker(&data, &result.labels);
    let expected = [0.75, 0.75, 1.0 / 3.0, 1.0, 0.0];
    for (a, e) in by_worker.iter().zip(expected) {
        assert_abs_diff_eq!(a.unwrap(), e, epsilon = 1e-15);
    }
    let pandas3 = ids(&data, &["c", "b", "c", "c", "a", "c"]);
    assert_abs_diff_eq!(metrics::accuracy_on_aggregates(&data, &pandas3), 0.625);
}

#[test]
fn entropy_threshold_removes_w4() {
    // Spec §6: with defaults (percentile 10, min_answers 2) w4 is removed, 13 rows kept.
    let data = tiny();
    let outcome = metrics::entropy_threshold(&data, None, 10.0, 2).unwrap();
    let removed: Vec<&str> = outcome
        .removed_workers
        .iter()
        .map(|&w| data.worker_name(w))
        .collect();
    assert_eq!(removed, ["w4"]);
    assert_eq!(outcome.kept.unwrap().n_responses(), 13);
    assert!(!outcome.removed_half_or_more);
    // Worker uncertainties sorted: 0.6365…, 0.6931…; cutoff at 10 % = a + 0.4 (b − a).
    let cutoff = 0.6365141682948128 + 0.4 * (LN_2 - 0.6365141682948128);
    assert_abs_diff_eq!(outcome.cutoff.unwrap(), cutoff, epsilon = 1e-12);
}

#[test]
fn entropy_threshold_removes_a_constant_worker() {
    // Worker A always answers "dog". crowd-kit 1.4.2 on these rows: entropy_threshold(df)
    // removes A and keeps 5 rows.
    let data = Responses::from_triples([
        ("1", "A", "dog"),
        ("1", "B", "cat"),
        ("2", "A", "dog"),
        ("2", "B", "dog"),
        ("3", "A", "dog"),
        ("3", "B", "cat"),
        ("3", "C", "dog"),
        ("4", "C", "cat"),
    ])
    .unwrap();
    let outcome = metrics::entropy_threshold(&data, None, 10.0, 2).unwrap();
    let removed: Vec<&str> = outcome
        .removed_workers
        .iter()
        .map(|&w| data.worker_name(w))
        .collect();
    assert_eq!(removed, ["A"]);
    assert_eq!(outcome.kept.unwrap().n_responses(), 5);
}

/// Values from `fixtures/metrics_reference.py` (crowd-kit 1.4.2, pandas 2.3.3):
///   $(scripts/reference-env.sh) fixtures/metrics_reference.py \
///       fixtures/data/rte/responses.csv > fixtures/metrics/rte.json   (same for dog)
/// rte: alpha 0.24147876613880948, consistency 0.966484309322219 (the rest in the JSON);
/// dog: alpha 0.5194178413233579, consistency 0.9585626127612022.
fn check_dataset(name: &str) {
    let data = common::responses(&common::dataset(name, "responses.csv"));
    let reference = common::reference(&common::fixture(&format!("metrics/{name}.json")));
    let expect = |key: &str| reference[key].as_f64().unwrap();
    assert_abs_diff_eq!(
        metrics::alpha_krippendorff(&data).unwrap(),
        expect("alpha_krippendorff"),
        epsilon = 1e-12
    );
    let mv = MajorityVote::default().aggregate(&data).unwrap();
    assert_abs_diff_eq!(
        metrics::consistency(&data, &mv).unwrap(),
        expect("consistency"),
        epsilon = 1e-12
    );
    assert_abs_diff_eq!(
        metrics::mean_uncertainty(&data, None, By::Task).unwrap(),
        expect("uncertainty_task"),
        epsilon = 1e-12
    );
    assert_abs_diff_eq!(
        metrics::mean_uncertainty(&data, None, By::Worker).unwrap(),
        expect("uncertainty_worker"),
        epsilon = 1e-12
    );
    assert_abs_diff_eq!(
        metrics::accuracy_on_aggregates(&data, &mv.labels),
        expect("accuracy_on_aggregates"),
        epsilon = 1e-12
    );
    let outcome = metrics::entropy_threshold(&data, None, 10.0, 2).unwrap();
    let kept = outcome.kept.map_or(0, |k| k.n_responses());
    assert_eq!(
        kept as u64,
        reference["entropy_threshold_rows_kept"].as_u64().unwrap()
    );
    let mut removed: Vec<&str> = outcome
        .removed_workers
        .iter()
        .map(|&w| data.worker_name(w))
        .collect();
    removed.sort();
    let expected: Vec<&str> = reference["entropy_threshold_removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(removed, expected);
}

#[test]
fn rte_matches_crowd_kit() {
    check_dataset("rte");
}

#[test]
fn dog_matches_crowd_kit() {
    check_dataset("dog");
}
