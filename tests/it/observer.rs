//! The observer can stop every iterative method (argmin-style `Action::Stop`): the fit returns
//! the state after the last completed iteration, the same state a fit with that many
//! iterations returns, with `StopReason::Interrupted`. Also: `TimeBudget`, the stop reasons
//! for a diverged or guarded loop, GLAD's inner-solver report, and the elapsed time.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use crowdagg::generate::{GeneratorConfig, generate};
use crowdagg::io::{PairwiseReadOptions, read_pairwise};
use crowdagg::{
    Action, Aggregation, Aggregator, BradleyTerry, DawidSkene, FitInputs, Glad, InnerStatus,
    IterationState, Kos, Mace, Mmsr, NoisyBradleyTerry, Observer, OneCoinDawidSkene,
    PairwiseAggregator, PairwiseParams, PairwiseResponses, StopReason, TimeBudget, ZeroBasedSkill,
};

use crate::common::{fixture, responses_in, tiny};

/// Stops after `at` iterations and records what it saw.
struct StopAt {
    at: usize,
    seen: Mutex<Vec<IterationState>>,
}

impl StopAt {
    fn new(at: usize) -> Self {
        Self {
            at,
            seen: Mutex::new(Vec::new()),
        }
    }

    fn iterations_seen(&self) -> Vec<usize> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.iteration)
            .collect()
    }
}

impl Observer for StopAt {
    fn observe(&self, state: &IterationState) -> Action {
        self.seen.lock().unwrap().push(*state);
        if state.iteration >= self.at {
            Action::Stop
        } else {
            Action::Continue
        }
    }
}

/// Same fitted values (bits), whatever the report says.
fn same_fit(a: &Aggregation, b: &Aggregation) {
    assert_eq!(a.labels, b.labels);
    assert_eq!(a.probabilities, b.probabilities);
    assert_eq!(a.scores, b.scores);
    assert_eq!(a.confidence, b.confidence);
    assert_eq!(a.skills, b.skills);
    assert_eq!(a.errors, b.errors);
    assert_eq!(a.priors, b.priors);
    assert_eq!(a.report.loss_history, b.report.loss_history);
}

/// Stopped by the observer after 2 iterations = run for 2 iterations.
fn check_stop_after_two(
    stopped_model: &dyn Aggregator,
    two: &dyn Aggregator,
    data: &crowdagg::Responses,
) {
    let observer = StopAt::new(2);
    let stopped = stopped_model
        .aggregate_with(data, FitInputs::default().observer(&observer))
        .unwrap();
    let name = stopped_model.name();
    assert_eq!(
        stopped.report.stop_reason,
        StopReason::Interrupted,
        "{name}"
    );
    assert_eq!(stopped.report.iterations, 2, "{name}");
    assert_eq!(observer.iterations_seen(), [1, 2], "{name}");
    let reference = two.aggregate(data).unwrap();
    assert_eq!(
        reference.report.stop_reason,
        StopReason::MaxIterations,
        "{name}"
    );
    same_fit(&stopped, &reference);
}

#[test]
fn the_observer_stops_every_iterative_method() {
    let web = responses_in(&crate::common::data_dir("web"));
    let rte = responses_in(&crate::common::data_dir("rte"));
    let ds = |n| DawidSkene::params().n_iter(n).tol(0.0).check().unwrap();
    check_stop_after_two(&ds(100), &ds(2), &web);
    let one_coin = |n| {
        OneCoinDawidSkene::params()
            .n_iter(n)
            .tol(0.0)
            .check()
            .unwrap()
    };
    check_stop_after_two(&one_coin(100), &one_coin(2), &rte);
    let glad = |n| Glad::params().n_iter(n).tol(0.0).check().unwrap();
    check_stop_after_two(&glad(100), &glad(2), &rte);
    let mmsr = |n| Mmsr::params().n_iter(n).tol(0.0).check().unwrap();
    check_stop_after_two(&mmsr(100), &mmsr(2), &web);
    let kos = |n| Kos::params().n_iter(n).check().unwrap();
    check_stop_after_two(&kos(100), &kos(2), &rte);
    let zbs = |n| ZeroBasedSkill::params().n_iter(n).check().unwrap();
    check_stop_after_two(&zbs(100), &zbs(2), &web);
}

#[test]
fn mace_stops_between_restarts_and_keeps_the_best_so_far() {
    let data = tiny();
    let observer = StopAt::new(2);
    let stopped = Mace::default()
        .fit(&data, FitInputs::default().observer(&observer))
        .unwrap();
    assert_eq!(observer.iterations_seen(), [1, 2]);
    assert_eq!(
        stopped.aggregation.report.stop_reason,
        StopReason::Interrupted
    );
    let two = Mace::params()
        .n_restarts(2)
        .check()
        .unwrap()
        .fit(&data, Default::default())
        .unwrap();
    assert_eq!(
        two.aggregation.report.stop_reason,
        StopReason::MaxIterations
    );
    same_fit(&stopped.aggregation, &two.aggregation);
    assert_eq!(stopped.restart, two.restart);
    // A stop at the last restart is no interruption: every restart ran.
    let late = StopAt::new(10);
    let all = Mace::default()
        .fit(&data, FitInputs::default().observer(&late))
        .unwrap();
    assert_eq!(
        all.aggregation.report.stop_reason,
        StopReason::MaxIterations
    );
}

#[test]
fn the_observer_stops_the_pairwise_methods() {
    let path = fixture("pairwise/generated.csv");
    let data: PairwiseResponses =
        read_pairwise(Path::new(&path), &PairwiseReadOptions::default()).unwrap();
    for model in [
        Box::new(BradleyTerry::params().tol(0.0).check().unwrap()) as Box<dyn PairwiseAggregator>,
        Box::new(NoisyBradleyTerry::params().tol(0.0).check().unwrap()),
    ] {
        let observer = StopAt::new(2);
        let fit = model.fit_with(&data, Some(&observer)).unwrap();
        assert_eq!(
            fit.report.stop_reason,
            StopReason::Interrupted,
            "{}",
            model.name()
        );
        assert_eq!(fit.report.iterations, 2, "{}", model.name());
        assert_eq!(observer.iterations_seen(), [1, 2], "{}", model.name());
    }
}

#[test]
fn the_method_s_own_stop_wins_over_the_observer() {
    // DS on tiny converges; an observer asking to stop at every iteration does not turn that
    // into an interruption, and n_iter reached is not one either.
    let data = tiny();
    let always = |_: &IterationState| Action::Stop;
    let plain = DawidSkene::default().aggregate(&data).unwrap();
    assert_eq!(plain.report.stop_reason, StopReason::Converged);
    let one = DawidSkene::params().n_iter(1).check().unwrap();
    let stopped = one
        .aggregate_with(&data, FitInputs::default().observer(&always))
        .unwrap();
    assert_eq!(stopped.report.stop_reason, StopReason::MaxIterations);
    assert_eq!(stopped.report.iterations, 1);
}

#[test]
fn a_time_budget_stops_a_long_fit() {
    // 10⁵ responses × up to 10⁵ iterations (tol < 0 never converges): far beyond 50 ms.
    let config = GeneratorConfig::new(25_000, 400, 3).seed(7);
    let data = generate(&config).unwrap().responses;
    let model = Mmsr::params().n_iter(100_000).tol(0.0).check().unwrap();
    let budget = TimeBudget::new(Duration::from_millis(50));
    assert_eq!(budget.limit(), Duration::from_millis(50));
    let result = model
        .aggregate_with(&data, FitInputs::default().observer(&budget))
        .unwrap();
    assert_eq!(result.report.stop_reason, StopReason::Interrupted);
    assert!(result.report.iterations >= 1 && result.report.iterations < 100_000);
    assert!(result.report.elapsed >= Duration::from_millis(50));
    assert_eq!(result.labels.len(), data.n_tasks());
    // A budget that is never reached changes nothing.
    let data = tiny();
    let generous = TimeBudget::new(Duration::from_secs(3600));
    let with = DawidSkene::default()
        .aggregate_with(&data, FitInputs::default().observer(&generous))
        .unwrap();
    assert_eq!(with, DawidSkene::default().aggregate(&data).unwrap());
}

#[test]
fn the_report_carries_elapsed_time_and_glad_s_m_steps() {
    let data = responses_in(&crate::common::data_dir("rte"));
    let glad = Glad::default().aggregate(&data).unwrap();
    let report = &glad.report;
    assert!(report.elapsed > Duration::ZERO);
    // One CG run per EM iteration, each within m_step_max_iter (25).
    assert_eq!(report.inner.len(), report.iterations);
    assert!(
        report
            .inner
            .iter()
            .all(|s| s.iterations <= 25 && s.evaluations >= 1)
    );
    assert!(
        report
            .inner
            .iter()
            .all(|s| s.converged() == (s.status == InnerStatus::Converged))
    );
    // On rte the first M-steps use their 25 iterations, the last ones converge.
    assert_eq!(report.inner[0].status, InnerStatus::MaxIterations);
    let json = serde_json::to_value(report).unwrap();
    assert!(json["elapsed_s"].as_f64().unwrap() > 0.0);
    assert_eq!(json["inner"].as_array().unwrap().len(), report.iterations);
    // Methods without an inner optimiser leave it empty (and out of the JSON).
    let ds = DawidSkene::default().aggregate(&data).unwrap();
    assert!(ds.report.inner.is_empty() && ds.report.elapsed > Duration::ZERO);
    assert!(
        serde_json::to_value(&ds.report)
            .unwrap()
            .get("inner")
            .is_none()
    );
}

#[test]
fn kos_reports_its_numeric_guard() {
    // Messages grow geometrically on rte (10 answers per task); far before 10⁴ iterations
    // they pass 10³⁰⁰ and the guard ends the loop with the last finite messages.
    let data = responses_in(&crate::common::data_dir("rte"));
    let long = Kos::params()
        .n_iter(10_000)
        .check()
        .unwrap()
        .aggregate(&data)
        .unwrap();
    assert_eq!(long.report.stop_reason, StopReason::NumericGuard);
    let ran = long.report.iterations;
    assert!(ran > 0 && ran < 10_000, "{ran}");
    // The guarded fit is the fit of the iterations that completed.
    let exact = Kos::params()
        .n_iter(ran)
        .check()
        .unwrap()
        .aggregate(&data)
        .unwrap();
    assert_eq!(exact.report.stop_reason, StopReason::MaxIterations);
    same_fit(&long, &exact);
}

#[test]
fn mmsr_reports_divergence() {
    // Found by a search over small random tables: the update's change overflows at iteration
    // 258 (in crowd-kit too, which returns NaN skills); the last finite estimate is kept.
    let data = crowdagg::Responses::from_triples([
        ("t1", "w0", "2"),
        ("t1", "w2", "1"),
        ("t2", "w0", "2"),
        ("t2", "w1", "0"),
        ("t2", "w2", "1"),
        ("t3", "w1", "0"),
        ("t3", "w2", "0"),
        ("t4", "w0", "2"),
        ("t4", "w1", "2"),
        ("t4", "w2", "0"),
    ])
    .unwrap();
    let diverged = Mmsr::default().aggregate(&data).unwrap();
    assert_eq!(diverged.report.stop_reason, StopReason::Diverged);
    assert_eq!(diverged.report.iterations, 257);
    let exact = Mmsr::params()
        .n_iter(257)
        .check()
        .unwrap()
        .aggregate(&data)
        .unwrap();
    assert_eq!(exact.report.stop_reason, StopReason::MaxIterations);
    same_fit(&diverged, &exact);
}
