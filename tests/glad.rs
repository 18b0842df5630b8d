//! GLAD against crowd-kit 1.4.2: the tiny dataset of specs/crowd-kit-spec.md §6 and reference
//! runs on shared datasets (fixtures/reference/).

mod common;

use approx::assert_abs_diff_eq;
use crowdagg::{Aggregator, Glad, Params, StopReason};

#[test]
fn tiny_matches_crowd_kit() {
    let data = common::tiny();
    let fit = Glad::default().fit(&data, Default::default()).unwrap();
    let labels: Vec<&str> = fit.aggregation.labels.iter().map(|&l| data.label_name(l as usize)).collect();
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
    let betas = [0.401429379, 1.538825589, 0.4389255435, 1.538789722, 1.450896673, 1.282907673];
    let alphas = [0.6908810177, 0.6245146948, -0.3399612044, 1.112032771, -0.379654873];
    let probabilities = fit.aggregation.probabilities.as_ref().unwrap();
    // Our CG stops M-steps at slightly different points than scipy's (both stop at ‖∇Q‖∞ ≤ 1e-2).
    let tolerance = 1e-4;
    for (t, row) in expected.iter().enumerate() {
        for (c, &p) in row.iter().enumerate() {
            assert_abs_diff_eq!(probabilities[[t, c]], p, epsilon = tolerance);
        }
        assert_abs_diff_eq!(fit.betas[t], betas[t], epsilon = tolerance);
    }
    for (w, &a) in alphas.iter().enumerate() {
        assert_abs_diff_eq!(fit.alphas[w], a, epsilon = tolerance);
        assert_eq!(fit.aggregation.skills.as_ref().unwrap()[w], Some(fit.alphas[w]));
    }
    let report = &fit.aggregation.report;
    assert_eq!(report.stop_reason, StopReason::Converged);
    assert_abs_diff_eq!(*report.loss_history.last().unwrap(), -0.4709974412324028, epsilon = 1e-6);
    assert_eq!(fit.aggregation.priors, Some(vec![1.0 / 3.0; 3]));
}

#[test]
fn probe_face() {
    let data = common::responses(&common::shared("face"));
    let fit = Glad::default().fit(&data, Default::default()).unwrap();
    eprintln!("{:?}", fit.aggregation.report.loss_history);
}
