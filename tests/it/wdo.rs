//! WeightedDynamicOverlap against Toloka's documented worked examples (specs/toloka-api.md §4.1)
//! and hand-computed edge cases.

use approx::assert_abs_diff_eq;
use crowdagg::{
    Aggregator, DataError, Error, FitInputs, MissingSkill, Params, Responses, Skills,
    WeightedDynamicOverlap,
};

fn run(
    rows: &[(&str, &str, &str)],
    skills: &[(&str, f64)],
    wdo: &WeightedDynamicOverlap,
) -> (String, f64) {
    let data = Responses::from_triples(rows.iter().copied()).unwrap();
    let skills: Skills = skills.iter().map(|&(w, s)| (w, s)).collect();
    let result = wdo
        .aggregate_with(&data, FitInputs::default().skills(&skills))
        .unwrap();
    (
        data.label_name(result.labels[0] as usize).to_string(),
        result.confidence[0],
    )
}

fn ok_bad_404() -> WeightedDynamicOverlap {
    WeightedDynamicOverlap::params()
        .domain(["OK", "BAD", "404"])
        .check()
        .unwrap()
}

const SKILLS: [(&str, f64); 3] = [("A", 70.0), ("B", 90.0), ("C", 80.0)];

#[test]
fn documented_example_two_agree() {
    // z(OK) = .7·.9 = .63, z(BAD) = z(404) = .15·.05 = .0075; .63 / .645
    let (label, confidence) = run(
        &[("t", "A", "OK"), ("t", "B", "OK")],
        &SKILLS,
        &ok_bad_404(),
    );
    assert_eq!(label, "OK");
    assert_abs_diff_eq!(confidence, 0.63 / 0.645, epsilon = 1e-12);
    assert_abs_diff_eq!(confidence, 0.97674, epsilon = 5e-6);
}

#[test]
fn documented_example_two_disagree() {
    // z(BAD) = .15·.9 = .135, z(OK) = .7·.05 = .035, z(404) = .0075; .135 / .1775
    let (label, confidence) = run(
        &[("t", "A", "OK"), ("t", "B", "BAD")],
        &SKILLS,
        &ok_bad_404(),
    );
    assert_eq!(label, "BAD");
    assert_abs_diff_eq!(confidence, 0.135 / 0.1775, epsilon = 1e-12);
    assert_abs_diff_eq!(confidence, 0.76056, epsilon = 5e-6);
}

#[test]
fn documented_example_three() {
    // z(BAD) = .135·.8 = .108, z(OK) = .035·.1 = .0035, z(404) = .0075·.1 = .00075
    let rows = [("t", "A", "OK"), ("t", "B", "BAD"), ("t", "C", "BAD")];
    let (label, confidence) = run(&rows, &SKILLS, &ok_bad_404());
    assert_eq!(label, "BAD");
    assert_abs_diff_eq!(confidence, 0.108 / 0.11225, epsilon = 1e-12);
    assert_abs_diff_eq!(confidence, 0.96214, epsilon = 5e-6);
}

#[test]
fn answer_is_largest_summed_skill_not_largest_posterior() {
    // Y = 2: cat sums 1.2 > 0.9, but z(cat) = .1·.6·.6 = .036 against z(dog) = .9·.4·.4 = .144.
    let rows = [("t", "A", "dog"), ("t", "B", "cat"), ("t", "C", "cat")];
    let skills = [("A", 90.0), ("B", 60.0), ("C", 60.0)];
    let (label, confidence) = run(&rows, &skills, &WeightedDynamicOverlap::default());
    assert_eq!(label, "cat");
    assert_abs_diff_eq!(confidence, 0.2, epsilon = 1e-12);
}

#[test]
fn options_count_gives_the_same_as_the_domain() {
    let wdo = WeightedDynamicOverlap::params().options(3).check().unwrap();
    let (_, confidence) = run(&[("t", "A", "OK"), ("t", "B", "OK")], &SKILLS, &wdo);
    assert_abs_diff_eq!(confidence, 0.63 / 0.645, epsilon = 1e-12);
}

#[test]
fn ties_go_to_the_smallest_label() {
    // Equal sums 0.8 vs 0.8; Y = 2 so the posteriors are equal too.
    let rows = [("t", "A", "y"), ("t", "B", "x")];
    let (label, confidence) = run(
        &rows,
        &[("A", 80.0), ("B", 80.0)],
        &WeightedDynamicOverlap::default(),
    );
    assert_eq!(label, "x");
    assert_abs_diff_eq!(confidence, 0.5, epsilon = 1e-12);
}

#[test]
fn certain_workers() {
    let y2 = WeightedDynamicOverlap::default();
    // Skill 100 unanimous: z(other) = 0, confidence exactly 1.
    let (label, confidence) = run(
        &[("t", "A", "x"), ("t", "B", "x"), ("u", "A", "y")],
        &[("A", 100.0), ("B", 60.0)],
        &y2,
    );
    assert_eq!((label.as_str(), confidence), ("x", 1.0));
    // Skill 100 against 80, Y = 3: z(y) = 0 and z(other) = 0, z(x) = 1·.2/2 > 0.
    let y3 = WeightedDynamicOverlap::params().options(3).check().unwrap();
    let (label, confidence) = run(
        &[("t", "A", "x"), ("t", "B", "y")],
        &[("A", 100.0), ("B", 80.0)],
        &y3,
    );
    assert_eq!((label.as_str(), confidence), ("x", 1.0));
    // Skill 0 alone: its answer is certainly wrong, z(x) = 0.
    let (label, confidence) = run(
        &[("t", "A", "x"), ("u", "B", "y")],
        &[("A", 0.0), ("B", 50.0)],
        &y2,
    );
    assert_eq!((label.as_str(), confidence), ("x", 0.0));
    // Two certain workers contradict: 0/0; the limit is symmetric, 0.5, tie to the smallest.
    let (label, confidence) = run(
        &[("t", "A", "y"), ("t", "B", "x")],
        &[("A", 100.0), ("B", 100.0)],
        &y2,
    );
    assert_eq!(label, "x");
    assert_abs_diff_eq!(confidence, 0.5, epsilon = 1e-12);
}

#[test]
fn single_option_domain_is_certain() {
    let wdo = WeightedDynamicOverlap::params()
        .domain(["yes"])
        .check()
        .unwrap();
    let (label, confidence) = run(&[("t", "A", "yes")], &[("A", 30.0)], &wdo);
    assert_eq!((label.as_str(), confidence), ("yes", 1.0));
}

#[test]
fn missing_skills() {
    let rows = [("t", "A", "x"), ("t", "B", "y"), ("t", "D", "y")];
    let data = Responses::from_triples(rows).unwrap();
    let skills: Skills = [("A", 90.0), ("B", 60.0)].into_iter().collect();
    let fit = |wdo: WeightedDynamicOverlap| {
        wdo.aggregate_with(&data, FitInputs::default().skills(&skills))
    };
    match fit(WeightedDynamicOverlap::default()) {
        Err(Error::Data(DataError::MissingSkill { worker })) => assert_eq!(worker, "D"),
        other => panic!("expected a missing-skill error, got {other:?}"),
    }
    // Ignore: D's response is dropped; x (0.9) beats y (0.6); z(x) = .9·.4, z(y) = .1·.6.
    let ignore = WeightedDynamicOverlap::params()
        .on_missing_skill(MissingSkill::Ignore)
        .check()
        .unwrap();
    let result = fit(ignore).unwrap();
    assert_eq!(data.label_name(result.labels[0] as usize), "x");
    assert_abs_diff_eq!(result.confidence[0], 0.36 / 0.42, epsilon = 1e-12);
    // Value 50 for D: y sums 1.1 > 0.9; z(y) = .1·.6·.5 = .03, z(x) = .9·.4·.5 = .18.
    let value = WeightedDynamicOverlap::params()
        .on_missing_skill(MissingSkill::Value(50.0))
        .check()
        .unwrap();
    let result = fit(value).unwrap();
    assert_eq!(data.label_name(result.labels[0] as usize), "y");
    assert_abs_diff_eq!(result.confidence[0], 0.03 / 0.21, epsilon = 1e-12);
}

#[test]
fn invalid_inputs_are_errors() {
    let data = Responses::from_triples([("t", "A", "x"), ("t", "B", "z")]).unwrap();
    let skills: Skills = [("A", 101.0), ("B", 50.0)].into_iter().collect();
    let err = WeightedDynamicOverlap::default()
        .aggregate_with(&data, FitInputs::default().skills(&skills))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "skill of worker \"A\" is 101, outside 0..=100"
    );
    let skills: Skills = [("A", 90.0), ("B", 50.0)].into_iter().collect();
    let err = ok_bad_404()
        .aggregate_with(&data, FitInputs::default().skills(&skills))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "answer domain has 3 values but the responses use label \"x\" outside it"
    );
    let err = WeightedDynamicOverlap::params()
        .options(3)
        .domain(["a"])
        .check()
        .unwrap_err();
    assert_eq!(err.to_string(), "give either domain or options, not both");
    let err = WeightedDynamicOverlap::default()
        .aggregate(&data)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "WeightedDynamicOverlap needs worker skills"
    );
}
