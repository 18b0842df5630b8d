//! crowd-kit's edge semantics (issue 12 §6): `n_iter = 0` runs the initialisation only, an
//! empty response table gives an empty result, `MajorityVote` with `on_missing_skill=ignore`
//! leaves the ignored workers without a skill; and WDO skills written as fractions (§5.1).
//!
//! Expected values come from crowd-kit 1.4.2 runs in the pinned reference environment
//! (`scripts/reference-env.sh`), on the inline datasets below, whose first-seen order of tasks,
//! workers and labels is also their sorted order (so crowd-kit's column order is ours):
//!
//! ```python
//! from crowdkit.aggregation import DawidSkene, OneCoinDawidSkene, GLAD, MMSR, KOS, ZeroBasedSkill
//! ds = DawidSkene(n_iter=0).fit(multi)   # likewise OneCoinDawidSkene, GLAD(n_iter=0)
//! MMSR(n_iter=0).fit_predict(multi); KOS(n_iter=0).fit_predict(binary)
//! ZeroBasedSkill(n_iter=0).fit(multi).skills_
//! ```
//!
//! printed with `repr(float(x))`.

use approx::assert_abs_diff_eq;
use crowdagg::methods::{ParamReport, WeightedDynamicOverlapParams, single_label_methods};
use crowdagg::output::{write_csv, write_json};
use crowdagg::{
    Aggregator, BinaryRelevance, DataError, DawidSkene, Error, FitInputs, Glad, Gold, Kos, Mace,
    MajorityVote, MissingSkill, Mmsr, MultiLabelResponses, OneCoinDawidSkene, Params, Responses,
    SideInput, Skills, WeightedDynamicOverlap, ZeroBasedSkill,
};

/// 6 tasks, 4 workers, 3 labels; every task has a 2-to-1 majority.
const MULTI: [(&str, &str, &str); 18] = [
    ("t1", "w1", "a"),
    ("t1", "w2", "b"),
    ("t1", "w3", "a"),
    ("t2", "w1", "b"),
    ("t2", "w2", "b"),
    ("t2", "w4", "c"),
    ("t3", "w1", "c"),
    ("t3", "w3", "c"),
    ("t3", "w4", "a"),
    ("t4", "w2", "a"),
    ("t4", "w3", "b"),
    ("t4", "w4", "a"),
    ("t5", "w1", "b"),
    ("t5", "w3", "b"),
    ("t5", "w4", "c"),
    ("t6", "w2", "c"),
    ("t6", "w3", "a"),
    ("t6", "w4", "c"),
];

/// 4 tasks, 3 workers, labels no/yes.
const BINARY: [(&str, &str, &str); 12] = [
    ("t1", "w1", "no"),
    ("t1", "w2", "no"),
    ("t1", "w3", "yes"),
    ("t2", "w1", "yes"),
    ("t2", "w2", "yes"),
    ("t2", "w3", "no"),
    ("t3", "w1", "no"),
    ("t3", "w2", "yes"),
    ("t3", "w3", "no"),
    ("t4", "w1", "yes"),
    ("t4", "w3", "yes"),
    ("t4", "w2", "no"),
];

const TWO_THIRDS: f64 = 2.0 / 3.0;
const THIRD: f64 = 1.0 / 3.0;

/// Majority-vote probabilities of `MULTI` (a, b, c), the initial posterior of DS and one-coin.
const MV_PROBAS: [[f64; 3]; 6] = [
    [TWO_THIRDS, THIRD, 0.0],
    [0.0, TWO_THIRDS, THIRD],
    [THIRD, 0.0, TWO_THIRDS],
    [TWO_THIRDS, THIRD, 0.0],
    [0.0, TWO_THIRDS, THIRD],
    [THIRD, 0.0, TWO_THIRDS],
];

fn multi() -> Responses {
    Responses::from_triples(MULTI).unwrap()
}

fn labels(data: &Responses, labels: &[u16]) -> Vec<String> {
    labels
        .iter()
        .map(|&l| data.label_name(l).to_string())
        .collect()
}

fn assert_matrix(actual: &ndarray::Array2<f64>, expected: &[[f64; 3]], epsilon: f64) {
    assert_eq!(actual.dim(), (expected.len(), 3));
    for (t, row) in expected.iter().enumerate() {
        for (c, &e) in row.iter().enumerate() {
            assert_abs_diff_eq!(actual[[t, c]], e, epsilon = epsilon);
        }
    }
}

#[test]
fn dawid_skene_n_iter_zero_is_the_initialisation() {
    let data = multi();
    let ds = DawidSkene::params().n_iter(0).check().unwrap();
    let result = ds.aggregate(&data).unwrap();
    assert_eq!(
        labels(&data, &result.labels),
        ["a", "b", "c", "a", "b", "c"]
    );
    // crowd-kit: probas_ = the majority vote, not clipped (the clip is in the ELBO).
    assert_eq!(
        result.probabilities.as_ref().unwrap()[[0, 2]],
        0.0,
        "not clipped at 1e-10"
    );
    assert_matrix(result.probabilities.as_ref().unwrap(), &MV_PROBAS, 1e-15);
    for p in result.priors.as_ref().unwrap() {
        assert_abs_diff_eq!(*p, THIRD, epsilon = 1e-15);
    }
    assert_eq!(result.report.iterations, 0);
    assert!(result.report.loss_history.is_empty());
    // crowd-kit's errors_ (worker, observed) × true label; w4 never answered b (no row there,
    // all 0 here).
    #[rustfmt::skip]
    let expected: [[[f64; 3]; 3]; 4] = [
        [[0.6666666666, 0.199999999988, 7.4999999994375e-11],
         [9.999999999e-11, 0.799999999952, 0.4999999999625],
         [0.3333333333, 5.99999999964e-11, 0.4999999999625]],
        [[0.4, 0.24999999998125, 9.999999999e-11],
         [0.4, 0.74999999994375, 0.3333333333],
         [0.2, 7.4999999994375e-11, 0.6666666666]],
        [[0.5, 0.24999999998125, 0.4],
         [0.3333333333333333, 0.74999999994375, 0.2],
         [0.16666666666666666, 7.4999999994375e-11, 0.4]],
        [[0.75, 0.2, 0.3333333333333333],
         [0.0, 0.0, 0.0],
         [0.25, 0.8, 0.6666666666666666]],
    ];
    let errors = result.errors.as_ref().unwrap();
    for (w, matrix) in expected.iter().enumerate() {
        for (k, row) in matrix.iter().enumerate() {
            for (c, &e) in row.iter().enumerate() {
                assert_abs_diff_eq!(errors[[w, k, c]], e, epsilon = 1e-10);
            }
        }
    }
    // Through the parameter text too (the CLI's `--param n_iter=0`).
    let from_text = crowdagg::methods::DawidSkeneParams::from_pairs([("n_iter", "0")]).unwrap();
    assert_eq!(from_text.aggregate(&data).unwrap(), result);
}

#[test]
fn one_coin_n_iter_zero_is_the_initialisation() {
    let data = multi();
    let result = OneCoinDawidSkene::params()
        .n_iter(0)
        .check()
        .unwrap()
        .aggregate(&data)
        .unwrap();
    assert_matrix(result.probabilities.as_ref().unwrap(), &MV_PROBAS, 1e-15);
    let skills = [
        0.6666666666666666,
        0.5833333333333333,
        0.5333333333333333,
        0.4666666666666666,
    ];
    let errors = result.errors.as_ref().unwrap();
    for (w, (&s, expected)) in result
        .skills
        .as_ref()
        .unwrap()
        .iter()
        .zip(skills)
        .enumerate()
    {
        assert_abs_diff_eq!(s.unwrap(), expected, epsilon = 1e-15);
        // e[w][k][c] = s if k = c else (1 − s)/2 (crowd-kit's errors_, rows w answered).
        assert_abs_diff_eq!(errors[[w, 0, 0]], expected, epsilon = 1e-15);
        assert_abs_diff_eq!(errors[[w, 0, 1]], (1.0 - expected) / 2.0, epsilon = 1e-15);
    }
    assert_eq!(result.report.iterations, 0);
}

#[test]
fn glad_n_iter_zero_is_the_first_e_step() {
    let data = multi();
    let result = Glad::params()
        .n_iter(0)
        .check()
        .unwrap()
        .aggregate(&data)
        .unwrap();
    let (hi, mid, lo) = (
        0.9670407157236616,
        0.03190655870652488,
        0.0010527255698133669,
    );
    let expected = [
        [hi, mid, lo],
        [lo, hi, mid],
        [mid, lo, hi],
        [hi, mid, lo],
        [lo, hi, mid],
        [mid, lo, hi],
    ];
    assert_matrix(result.probabilities.as_ref().unwrap(), &expected, 1e-12);
    assert_eq!(
        labels(&data, &result.labels),
        ["a", "b", "c", "a", "b", "c"]
    );
    assert!(result.report.loss_history.is_empty());
}

#[test]
fn mmsr_zbs_kos_mace_accept_n_iter_zero() {
    let data = multi();
    // MMSR: the random start, post-processed: every skill ≈ 0 (crowd-kit: −1.1e-16 each), so
    // the scores are the majority vote's.
    let mmsr = Mmsr::params().n_iter(0).check().unwrap();
    let result = mmsr.aggregate(&data).unwrap();
    assert_eq!(
        labels(&data, &result.labels),
        ["a", "b", "c", "a", "b", "c"]
    );
    for skill in result.skills.as_ref().unwrap() {
        assert_abs_diff_eq!(skill.unwrap(), 0.0, epsilon = 1e-12);
    }
    assert_matrix(result.scores.as_ref().unwrap(), &MV_PROBAS, 1e-12);

    // ZeroBasedSkill: skills stay at 1/K + eps; the vote is the majority vote.
    let zbs = ZeroBasedSkill::params().n_iter(0).check().unwrap();
    let result = zbs.aggregate(&data).unwrap();
    for skill in result.skills.as_ref().unwrap() {
        assert_abs_diff_eq!(skill.unwrap(), 0.3333433333333333, epsilon = 1e-15);
    }
    assert_matrix(result.probabilities.as_ref().unwrap(), &MV_PROBAS, 1e-15);

    // KOS: the labels of the random start (numpy's seed-0 normal draws), as crowd-kit.
    let binary = Responses::from_triples(BINARY).unwrap();
    let kos = Kos::params().n_iter(0).check().unwrap();
    let result = kos.aggregate(&binary).unwrap();
    assert_eq!(labels(&binary, &result.labels), ["no", "yes", "no", "yes"]);

    // MACE: one E-step on the random start. Our starts are not crowd-kit's numbers (see the
    // module docs), so only its labels are compared (crowd-kit: a, b, c, a, b, c).
    let mace = Mace::params().n_iter(0).check().unwrap();
    let fit = mace.fit(&data, FitInputs::default()).unwrap();
    assert_eq!(
        labels(&data, &fit.aggregation.labels),
        ["a", "b", "c", "a", "b", "c"]
    );
    assert!(fit.aggregation.report.loss_history.is_empty());
}

#[test]
fn an_empty_table_gives_an_empty_result_for_every_method() {
    let none: [(&str, &str, &str); 0] = [];
    let empty = Responses::from_triples(none).unwrap();
    let gold = Gold::new();
    let skills = Skills::new();
    let inputs = FitInputs::default().gold(&gold).skills(&skills);
    for method in single_label_methods() {
        let aggregator = method.build(&[]).unwrap();
        for inputs in [inputs, FitInputs::default()] {
            let result = aggregator
                .aggregate_with(&empty, inputs)
                .unwrap_or_else(|e| panic!("{}: {e}", method.name));
            assert!(result.labels.is_empty(), "{}", method.name);
            assert!(result.confidence.is_empty(), "{}", method.name);
            if let Some(p) = &result.probabilities {
                assert_eq!(p.nrows(), 0, "{}", method.name);
            }
            // Both writers: the CSV header alone, and valid JSON.
            let mut csv = Vec::new();
            write_csv(&mut csv, &empty, &result).unwrap();
            assert_eq!(csv, b"task,label,confidence\n", "{}", method.name);
            let mut json = Vec::new();
            let params: ParamReport = aggregator.params();
            write_json(&mut json, &empty, &result, aggregator.name(), &params).unwrap();
            let value: serde_json::Value = serde_json::from_slice(&json)
                .unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", method.name));
            assert_eq!(value["labels"], serde_json::json!({}), "{}", method.name);
        }
    }
    // crowd-kit's BinaryRelevance on an empty frame: an empty series.
    let none: [(&str, &str, Vec<&str>); 0] = [];
    let multi_label = MultiLabelResponses::from_sets(none).unwrap();
    let result = BinaryRelevance::default().aggregate(&multi_label).unwrap();
    assert!(result.tasks.is_empty() && result.labels.is_empty());
}

#[test]
fn majority_vote_ignore_leaves_ignored_workers_without_a_skill() {
    let data = multi();
    // w4 has no skill: its answers are dropped, and it gets no skill (crowd-kit:
    // `test_majority_vote_with_missing_skills_ignore`). The others: weights 1, so the vote on
    // the remaining answers; w1 agrees with t1 a, t2 b, t3 c, t5 b → 1.
    let skills: Skills = [("w1", 1.0), ("w2", 1.0), ("w3", 1.0)]
        .into_iter()
        .collect();
    let mv = MajorityVote::params()
        .on_missing_skill(MissingSkill::Ignore)
        .check()
        .unwrap();
    let result = mv
        .aggregate_with(&data, FitInputs::default().skills(&skills))
        .unwrap();
    let fitted = result.skills.unwrap();
    assert_eq!(fitted[3], None, "w4's answers were ignored");
    assert_eq!(fitted[0], Some(1.0));
    // Without skills every worker is rated.
    let plain = MajorityVote::default().aggregate(&data).unwrap();
    assert!(plain.skills.unwrap().iter().all(Option::is_some));
}

#[test]
fn wdo_skills_as_fractions() {
    let data = Responses::from_triples([("t1", "A", "OK"), ("t1", "B", "BAD"), ("t1", "C", "BAD")])
        .unwrap();
    let fractions: Skills = [("A", 0.7), ("B", 0.9), ("C", 0.8)].into_iter().collect();
    let fit = |wdo: WeightedDynamicOverlap, skills: &Skills| {
        wdo.aggregate_with(&data, FitInputs::default().skills(skills))
    };
    let domain = || WeightedDynamicOverlap::params().domain(["OK", "BAD", "404"]);
    // Default scale: all skills ≤ 1 is refused, saying what to set.
    let err = fit(domain().check().unwrap(), &fractions).unwrap_err();
    assert!(matches!(
        err,
        Error::Data(DataError::SkillsLookLikeFractions { largest }) if largest == 0.9
    ));
    let message = err.to_string();
    assert!(message.contains("set skill_scale=100"), "{message}");
    assert!(
        !message.contains("--"),
        "no CLI flag in a library error: {message}"
    );
    // skill_scale=100: Toloka's documented example (70, 90, 80 → BAD, 0.96214).
    let scaled = fit(domain().skill_scale(100.0).check().unwrap(), &fractions).unwrap();
    assert_eq!(data.label_name(scaled.labels[0]), "BAD");
    assert_abs_diff_eq!(scaled.confidence[0], 0.96214, epsilon = 1e-5);
    let toloka: Skills = [("A", 70.0), ("B", 90.0), ("C", 80.0)]
        .into_iter()
        .collect();
    assert_eq!(fit(domain().check().unwrap(), &toloka).unwrap(), scaled);
    // skill_scale=1 set explicitly: the values are taken as Toloka's (near-useless workers).
    let as_is = WeightedDynamicOverlap::params()
        .domain(["OK", "BAD", "404"])
        .skill_scale(1.0)
        .check()
        .unwrap();
    assert!(fit(as_is, &fractions).is_ok());
    // The parameter by text; a scale that is not a positive number is refused.
    let params = WeightedDynamicOverlapParams::parse_pairs([("skill_scale", "100")]).unwrap();
    assert_eq!(params.skill_scale, Some(100.0));
    assert!(
        WeightedDynamicOverlap::params()
            .skill_scale(0.0)
            .check()
            .is_err()
    );
    // A skill past 100 after scaling is out of range, reported as used.
    let err = fit(domain().skill_scale(200.0).check().unwrap(), &fractions).unwrap_err();
    assert_eq!(
        err.to_string(),
        "skill of worker \"A\" is 140, outside 0..=100"
    );
}

#[test]
fn missing_side_inputs_are_typed() {
    let data = multi();
    let err = WeightedDynamicOverlap::default()
        .aggregate(&data)
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Data(DataError::MissingInput {
            method: "WeightedDynamicOverlap",
            input: SideInput::Skills
        })
    ));
    assert_eq!(
        err.to_string(),
        "WeightedDynamicOverlap needs worker skills"
    );
    let err = crowdagg::GoldMajorityVote::default()
        .aggregate(&data)
        .unwrap_err();
    assert_eq!(err.to_string(), "GoldMajorityVote needs gold labels");
    let err = WeightedDynamicOverlap::params()
        .options(2)
        .check()
        .unwrap()
        .aggregate_with(
            &data,
            FitInputs::default().skills(
                &["w1", "w2", "w3", "w4"]
                    .into_iter()
                    .map(|w| (w, 50.0))
                    .collect(),
            ),
        )
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Data(DataError::TooFewOptions {
            options: 2,
            labels: 3
        })
    ));
    let err = crowdagg::methods::binary_relevance("nope", &[])
        .err()
        .unwrap();
    assert_eq!(
        err,
        crowdagg::ParamsError::UnknownInnerMethod {
            name: "nope".into()
        }
    );
}

/// crowd-kit's `test_ds_gold_probas_correction_with_iters[0]`: with `n_iter=0` the gold tasks'
/// posteriors are their gold labels (the correction is part of the initialisation).
#[test]
fn dawid_skene_n_iter_zero_with_gold() {
    let rows = [
        ("t1", "w1", "no"),
        ("t2", "w1", "yes"),
        ("t3", "w1", "yes"),
        ("t1", "w2", "yes"),
        ("t2", "w2", "yes"),
        ("t3", "w2", "no"),
        ("t1", "w4", "yes"),
        ("t2", "w4", "no"),
        ("t3", "w4", "yes"),
        ("t1", "w5", "no"),
        ("t2", "w5", "no"),
        ("t3", "w5", "no"),
    ];
    let data = Responses::from_triples(rows).unwrap();
    let gold: Gold = [("t1", "yes"), ("t2", "yes")].into_iter().collect();
    let ds = DawidSkene::params().n_iter(0).check().unwrap();
    let result = ds
        .aggregate_with(&data, FitInputs::default().gold(&gold))
        .unwrap();
    let p = result.probabilities.unwrap();
    // Labels no = 0, yes = 1. Gold tasks one-hot; t3 the majority vote (no 2, yes 2: a tie).
    assert_eq!(p.row(0).to_vec(), [0.0, 1.0]);
    assert_eq!(p.row(1).to_vec(), [0.0, 1.0]);
    assert_eq!(p.row(2).to_vec(), [0.5, 0.5]);
    assert_eq!(labels(&data, &result.labels[..2]), ["yes", "yes"]);
}
