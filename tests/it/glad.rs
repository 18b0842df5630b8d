//! GLAD against crowd-kit 1.4.2: the tiny dataset of specs/crowd-kit-spec.md §6 and reference
//! runs on shared datasets (fixtures/reference/).

use crate::common;

use approx::assert_abs_diff_eq;
use std::collections::HashMap;

use crowdagg::{Aggregator, Glad, GladParams, Params, ParamsError, StopReason};

#[test]
fn tiny_matches_crowd_kit() {
    let data = common::tiny();
    let fit = Glad::default().fit(&data, Default::default()).unwrap();
    let labels: Vec<&str> = fit
        .aggregation
        .labels
        .iter()
        .map(|&l| data.label_name(l as usize))
        .collect();
    assert_eq!(labels, ["c", "b", "c", "a", "a", "c"]);
    // crowd-kit (spec §6): P(a), P(b), P(c) per task, beta per task, alpha per worker.
    let expected = [
        [0.3876136781, 0.07762633375, 0.5347599882],
        [0.0002261380164, 0.9992289718, 0.0005448902078],
        [0.4272677495, 0.08249600506, 0.4902362455],
        [0.99783992, 0.001183875009, 0.0009762049497],
        [0.9998469405, 4.351815341e-05, 0.0001095413368],
        [0.0004935718808, 0.0004935718808, 0.9990128562],
    ];
    let betas = [
        0.401429379,
        1.538825589,
        0.4389255435,
        1.538789722,
        1.450896673,
        1.282907673,
    ];
    let alphas = [
        0.6908810177,
        0.6245146948,
        -0.3399612044,
        1.112032771,
        -0.379654873,
    ];
    let probabilities = fit.aggregation.probabilities.as_ref().unwrap();
    // Same algorithm as scipy's CG, but sums in a different order: rounding-level differences
    // grow over the M-steps.
    let tolerance = 1e-4;
    for (t, row) in expected.iter().enumerate() {
        for (c, &p) in row.iter().enumerate() {
            assert_abs_diff_eq!(probabilities[[t, c]], p, epsilon = tolerance);
        }
        assert_abs_diff_eq!(fit.betas[t], betas[t], epsilon = tolerance);
    }
    for (w, &a) in alphas.iter().enumerate() {
        assert_abs_diff_eq!(fit.alphas[w], a, epsilon = tolerance);
        assert_eq!(
            fit.aggregation.skills.as_ref().unwrap()[w],
            Some(fit.alphas[w])
        );
    }
    let report = &fit.aggregation.report;
    assert_eq!(report.stop_reason, StopReason::Converged);
    assert_abs_diff_eq!(
        *report.loss_history.last().unwrap(),
        -0.4709974412324028,
        epsilon = 1e-6
    );
    assert_eq!(fit.aggregation.priors, Some(vec![1.0 / 3.0; 3]));
}

/// crowd-kit's accuracy on gold and its labels (fixtures/reference/): ours must be as accurate
/// and agree on ≥ 99 % of the tasks.
fn real_data(dataset: &str) {
    let dir = common::data_dir(dataset);
    let data = common::responses_in(&dir);
    let gold = common::gold_in(&dir);
    let fit = Glad::default().fit(&data, Default::default()).unwrap();
    let (accuracy, _) = fit.aggregation.accuracy(&data, &gold);
    let root = env!("CARGO_MANIFEST_DIR");
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(
            &std::fs::read_to_string(format!("{root}/fixtures/reference/{name}")).unwrap(),
        )
        .unwrap()
    };
    let reference = &read("summary.json")[dataset]["GLAD"];
    let labels: HashMap<String, String> =
        serde_json::from_value(read(&format!("labels/{dataset}.GLAD.json"))).unwrap();
    let agree = (0..data.n_tasks())
        .filter(|&t| {
            labels[data.task_name(t)] == data.label_name(fit.aggregation.labels[t] as usize)
        })
        .count() as f64
        / data.n_tasks() as f64;
    let crowd_kit = reference["accuracy"].as_f64().unwrap();
    assert!(
        accuracy >= crowd_kit - 1e-12,
        "{dataset}: {accuracy} < {crowd_kit}"
    );
    assert!(agree >= 0.99, "{dataset}: agreement {agree}");
    assert_eq!(
        fit.aggregation.report.iterations as u64,
        reference["n_iter_run"].as_u64().unwrap()
    );
    assert_eq!(fit.betas.len(), data.n_tasks());
}

#[test]
fn ms_matches_crowd_kit() {
    real_data("ms");
}

#[test]
fn bluebirds_matches_crowd_kit() {
    real_data("bluebirds");
}

#[test]
fn ws_amt_matches_crowd_kit() {
    real_data("ws-amt");
}

#[test]
fn labels_priors_and_single_label() {
    // A prior that strongly favours `a` turns t1 (c, a, c) to `a`; the others stay.
    let data = common::tiny();
    let glad = GladParams::from_pairs([("labels_priors", "a:0.98,b:0.01,c:0.01")]).unwrap();
    let fit = glad.fit(&data, Default::default()).unwrap();
    assert_eq!(data.label_name(fit.aggregation.labels[0] as usize), "a");
    assert_eq!(fit.aggregation.priors, Some(vec![0.98, 0.01, 0.01]));
    let missing = GladParams::from_pairs([("labels_priors", "a:0.5,b:0.5")]).unwrap();
    assert!(missing.aggregate(&data).is_err());
    // One label only: everything is that label with probability 1.
    let one =
        crowdagg::Responses::from_triples([("t", "w1", "x"), ("t", "w2", "x"), ("u", "w1", "x")])
            .unwrap();
    let result = Glad::default().aggregate(&one).unwrap();
    assert_eq!(result.confidence, [1.0, 1.0]);
}

#[test]
fn params_are_validated() {
    let bad = |key: &str, value: &str| GladParams::from_pairs([(key, value)]).is_err();
    assert!(!bad("n_iter", "0")); // the initialisation only, as crowd-kit
    assert!(bad("tol", "-1"));
    assert!(bad("m_step_tol", "nan"));
    assert!(bad("m_step_max_iter", "0"));
    assert!(bad("labels_priors", "a=1"));
    assert!(bad("labels_priors", "a:-1"));
    assert!(bad("labels_priors", "a:0,b:0"));
    assert!(bad("alphas_prior_mean", "inf"));
    assert!(matches!(
        GladParams::from_pairs([("colour", "red")]),
        Err(ParamsError::Unknown { .. })
    ));
    let glad = crowdagg::methods::find_method("glad")
        .unwrap()
        .build(&[("n_iter", "3")])
        .unwrap();
    assert_eq!(glad.name(), "GLAD");
    assert_eq!(
        glad.params()[0],
        ("n_iter".to_string(), serde_json::json!(3))
    );
}

#[test]
fn thread_count_does_not_change_the_result() {
    let data = common::responses_in(&common::data_dir("ms"));
    let run = |threads| {
        common::in_pool(threads, || {
            Glad::default().fit(&data, Default::default()).unwrap()
        })
    };
    assert_eq!(run(1), run(3));
}
