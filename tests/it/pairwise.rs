//! BradleyTerry and NoisyBradleyTerry: crowd-kit's own test cases, recorded crowd-kit 1.4.2
//! runs (compat mode), choix's maximum-likelihood fixed point and scipy's L-BFGS-B on an
//! independent numpy objective (correct mode), the gradient against finite differences, and
//! bad input. Fixtures and how to regenerate them: `fixtures/pairwise/README.md`.

use std::collections::HashMap;
use std::path::Path;

use crowdagg::io::{PairwiseReadOptions, read_pairwise, read_pairwise_from};
use crowdagg::{
    BradleyTerry, DataError, Error, InputError, NoisyBradleyTerry, PairwiseAggregation,
    PairwiseAggregator, PairwiseCompat, PairwiseParams, PairwiseResponses, StopReason,
};
use serde_json::Value;

use crate::common::fixture;

fn load(name: &str) -> PairwiseResponses {
    let path = fixture(&format!("pairwise/{name}"));
    read_pairwise(Path::new(&path), &PairwiseReadOptions::default()).unwrap()
}

fn json(name: &str) -> Value {
    let path = fixture(&format!("pairwise/{name}"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Values of a `{name: value}` object in the data's id order.
fn by_id(object: &Value, names: impl Iterator<Item = String>) -> Vec<f64> {
    names
        .map(|name| {
            object[&name]
                .as_f64()
                .unwrap_or_else(|| panic!("{name} in {object}"))
        })
        .collect()
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn bt(n_iter: usize, tol: f64, compat: PairwiseCompat) -> BradleyTerry {
    BradleyTerry::params()
        .n_iter(n_iter)
        .tol(tol)
        .compat(compat)
        .check()
        .unwrap()
}

fn rows(data: &[(&str, &str, &str, &str)]) -> PairwiseResponses {
    PairwiseResponses::from_rows(data.iter().copied()).unwrap()
}

fn data_abc() -> PairwiseResponses {
    rows(&[
        ("w1", "a", "b", "a"),
        ("w1", "b", "c", "b"),
        ("w1", "c", "a", "a"),
    ])
}

fn data_equal() -> PairwiseResponses {
    rows(&[
        ("w1", "a", "b", "a"),
        ("w1", "b", "c", "b"),
        ("w1", "c", "a", "c"),
    ])
}

const BOTH: [PairwiseCompat; 2] = [PairwiseCompat::Correct, PairwiseCompat::CrowdKit];

// ---- crowd-kit's tests (tests/aggregation/test_bt_aggregation.py), expected values theirs ----

#[test]
fn crowd_kit_bradley_terry_empty() {
    for compat in BOTH {
        let fit = bt(1, 1e-5, compat)
            .fit(&PairwiseResponses::default())
            .unwrap();
        assert!(fit.scores.is_empty());
    }
}

#[test]
fn crowd_kit_bradley_terry_equal() {
    for compat in BOTH {
        for (n_iter, tol) in [(10, 0.0), (100_500, 1e-5)] {
            let fit = bt(n_iter, tol, compat).fit(&data_equal()).unwrap();
            for s in &fit.scores {
                assert!(
                    (s - 1.0 / 3.0).abs() <= 0.005,
                    "{compat:?} {:?}",
                    fit.scores
                );
            }
        }
    }
}

#[test]
fn crowd_kit_bradley_terry_step_by_step() {
    // n_iter = 0 → uniform; n_iter = 10, tol = 0 → [0.934, 0.065, 0.0] (atol 0.005). With
    // tol = 0 crowd-kit's aliasing bug cannot stop the loop, so both modes run 10 MM steps.
    for compat in BOTH {
        let fit = bt(0, 0.0, compat).fit(&data_abc()).unwrap();
        assert_eq!(fit.scores, [1.0 / 3.0; 3]);
        let fit = bt(10, 0.0, compat).fit(&data_abc()).unwrap();
        assert!(
            max_abs_diff(&fit.scores, &[0.934, 0.065, 0.0]) <= 0.005,
            "{:?}",
            fit.scores
        );
        assert_eq!(fit.report.iterations, 10);
    }
}

#[test]
fn crowd_kit_noisy_bradley_terry() {
    // crowd-kit expects [1.0, 1.0, 1.497e-45] (atol 0.005) for n_iter = 10, tol = 0 and for
    // n_iter = 100500, tol = 1e-5: a result of its buggy gradient (two items at score 1), so
    // it holds under compat=crowd-kit only.
    for (n_iter, tol) in [(10, 0.0), (100_500, 1e-5)] {
        let fit = NoisyBradleyTerry::params()
            .n_iter(n_iter)
            .tol(tol)
            .compat(PairwiseCompat::CrowdKit)
            .check()
            .unwrap()
            .fit(&data_abc())
            .unwrap();
        assert!(
            max_abs_diff(&fit.scores, &[1.0, 1.0, 1.497123058531228e-45]) <= 0.005,
            "{:?}",
            fit.scores
        );
        assert_eq!(fit.biases.as_ref().unwrap().len(), 1);
        assert_eq!(fit.skills.as_ref().unwrap().len(), 1);
    }
}

#[test]
fn crowd_kit_noisy_bradley_terry_equal() {
    let fit = NoisyBradleyTerry::params()
        .compat(PairwiseCompat::CrowdKit)
        .check()
        .unwrap()
        .fit(&data_equal())
        .unwrap();
    let expected = [0.6715468044437242, 0.6462882683525435, 0.632947637600415];
    assert!(
        max_abs_diff(&fit.scores, &expected) <= 0.005,
        "{:?}",
        fit.scores
    );
}

#[test]
fn crowd_kit_zero_iter() {
    let data = data_equal();
    for compat in BOTH {
        let a = bt(0, 1e-5, compat).fit(&data).unwrap();
        let b = NoisyBradleyTerry::params()
            .n_iter(0)
            .compat(compat)
            .check()
            .unwrap()
            .fit(&data)
            .unwrap();
        assert_eq!((a.scores.len(), b.scores.len()), (3, 3));
        assert_eq!(data.item_names().collect::<Vec<_>>(), ["a", "b", "c"]);
    }
}

// ---- recorded crowd-kit 1.4.2 runs (fixtures/pairwise/crowdkit.json) ----

const FILES: [&str; 4] = ["abc.csv", "equal.csv", "spec.csv", "generated.csv"];

#[test]
fn bradley_terry_compat_equals_crowd_kit() {
    let reference = json("crowdkit.json");
    for file in FILES {
        let data = load(file);
        for run in reference[file]["BradleyTerry"].as_array().unwrap() {
            let n_iter = run["n_iter"].as_u64().unwrap() as usize;
            let tol = run["tol"].as_f64().unwrap();
            let fit = bt(n_iter, tol, PairwiseCompat::CrowdKit)
                .fit(&data)
                .unwrap();
            let expected = by_id(&run["scores"], data.item_names().map(String::from));
            let gap = max_abs_diff(&fit.scores, &expected);
            assert!(gap <= 1e-15, "{file} n_iter={n_iter} tol={tol}: {gap:e}");
        }
    }
}

fn noisy(params: &Value, compat: PairwiseCompat) -> NoisyBradleyTerry {
    let mut p = NoisyBradleyTerry::params().compat(compat);
    if let Some(n) = params["n_iter"].as_u64() {
        p = p.n_iter(n as usize);
    }
    if let Some(t) = params["tol"].as_f64() {
        p = p.tol(t);
    }
    if let Some(s) = params["random_state"].as_u64() {
        p = p.random_state(s as u32);
    }
    p.check().unwrap()
}

/// Largest gaps (scores, biases, skills) between a fit and a recorded run.
fn gaps(fit: &PairwiseAggregation, run: &Value, data: &PairwiseResponses) -> f64 {
    let items = || data.item_names().map(String::from);
    let workers = || data.worker_names().map(String::from);
    let s = max_abs_diff(&fit.scores, &by_id(&run["scores"], items()));
    let b = max_abs_diff(
        fit.biases.as_ref().unwrap(),
        &by_id(&run["biases"], workers()),
    );
    let k = max_abs_diff(
        fit.skills.as_ref().unwrap(),
        &by_id(&run["skills"], workers()),
    );
    s.max(b).max(k)
}

#[test]
fn noisy_bradley_terry_compat_follows_crowd_kit() {
    let reference = json("crowdkit.json");
    let mut worst: f64 = 0.0;
    for file in FILES {
        let data = load(file);
        for run in reference[file]["NoisyBradleyTerry"].as_array().unwrap() {
            let fit = noisy(&run["params"], PairwiseCompat::CrowdKit)
                .fit(&data)
                .unwrap();
            let gap = gaps(&fit, run, &data);
            let nit = run["nit"].as_u64().unwrap() as usize;
            assert_eq!(fit.report.iterations, nit, "{file} {}", run["params"]);
            assert!(gap <= 1e-12, "{file} {}: gap {gap:e}", run["params"]);
            worst = worst.max(gap);
        }
    }
    eprintln!("NoisyBT compat vs crowd-kit: max gap {worst:e}");
}

// ---- correct mode against independent implementations ----

#[test]
fn bradley_terry_equals_choix_fixed_point() {
    let data = load("generated.csv");
    let expected: HashMap<String, f64> =
        crate::common::read_rows(&fixture("pairwise/choix_scores.csv"))
            .into_iter()
            .map(|r| (r[0].clone(), r[1].parse().unwrap()))
            .collect();
    let expected: Vec<f64> = data.item_names().map(|i| expected[i]).collect();
    let fit = bt(100_000, 1e-15, PairwiseCompat::Correct)
        .fit(&data)
        .unwrap();
    assert_eq!(fit.report.stop_reason, StopReason::Converged);
    let gap = max_abs_diff(&fit.scores, &expected);
    eprintln!(
        "BradleyTerry vs choix: max |diff| {gap:e} after {} MM iterations",
        fit.report.iterations
    );
    assert!(gap <= 1e-8, "{gap:e}");
    // The default tolerance stops earlier but within 1e-4 of the fixed point.
    let fit = BradleyTerry::default().fit(&data).unwrap();
    assert_eq!(fit.report.stop_reason, StopReason::Converged);
    assert!(max_abs_diff(&fit.scores, &expected) <= 1e-4);
}

#[test]
fn noisy_bradley_terry_matches_scipy_on_an_independent_objective() {
    let reference = json("scipy_correct.json");
    for file in FILES {
        let data = load(file);
        let run = &reference[file];
        let fit = NoisyBradleyTerry::default().fit(&data).unwrap();
        let gap = gaps(&fit, run, &data);
        eprintln!(
            "{file}: iterations {} (scipy {}), max gap {gap:e}",
            fit.report.iterations, run["nit"]
        );
        assert_eq!(
            fit.report.iterations as u64,
            run["nit"].as_u64().unwrap(),
            "{file}"
        );
        assert!(gap <= 1e-9, "{file}: {gap:e}");
    }
}

#[test]
fn noisy_bradley_terry_gradient_matches_finite_differences() {
    let data = load("generated.csv");
    let n = 1 + data.n_items() + 2 * data.n_workers();
    let model = NoisyBradleyTerry::params()
        .regularization_ratio(0.1)
        .check()
        .unwrap();
    // A deterministic spread of points in [-3, 3]^n.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut worst: f64 = 0.0;
    for _ in 0..3 {
        let x: Vec<f64> = (0..n).map(|_| 6.0 * uniform() - 3.0).collect();
        let mut g = vec![0.0; n];
        model.objective(&data, &x, &mut g).unwrap();
        let mut scratch = vec![0.0; n];
        for k in 0..n {
            let h = 1e-5;
            let (mut xp, mut xm) = (x.clone(), x.clone());
            xp[k] += h;
            xm[k] -= h;
            let fp = model.objective(&data, &xp, &mut scratch).unwrap();
            let fm = model.objective(&data, &xm, &mut scratch).unwrap();
            worst = worst.max(((fp - fm) / (2.0 * h) - g[k]).abs());
        }
    }
    eprintln!("NoisyBT gradient vs central differences: max error {worst:e}");
    assert!(worst <= 1e-6, "{worst:e}");
    // crowd-kit's gradient fails the same check.
    let ck = NoisyBradleyTerry::params()
        .compat(PairwiseCompat::CrowdKit)
        .check()
        .unwrap();
    let x: Vec<f64> = (0..n).map(|_| 2.0 * uniform() - 1.0).collect();
    let mut g = vec![0.0; n];
    ck.objective(&data, &x, &mut g).unwrap();
    let mut scratch = vec![0.0; n];
    let mut ck_worst: f64 = 0.0;
    for k in 0..n {
        let h = 1e-5;
        let (mut xp, mut xm) = (x.clone(), x.clone());
        xp[k] += h;
        xm[k] -= h;
        let fd = (ck.objective(&data, &xp, &mut scratch).unwrap()
            - ck.objective(&data, &xm, &mut scratch).unwrap())
            / (2.0 * h);
        ck_worst = ck_worst.max((fd - g[k]).abs());
    }
    eprintln!("crowd-kit gradient vs central differences: max error {ck_worst:e}");
    assert!(ck_worst > 1e-2);
}

/// Kendall's τ-a between two score vectors (no ties in the data used).
fn kendall_tau(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len();
    let mut sum = 0.0;
    for i in 0..n {
        for j in i + 1..n {
            sum += ((a[i] - a[j]) * (b[i] - b[j])).signum();
        }
    }
    sum / (n * (n - 1) / 2) as f64
}

#[test]
fn recovered_ranking_kendall_tau() {
    let data = load("generated.csv");
    let truth: HashMap<String, f64> = crate::common::read_rows(&fixture("pairwise/truth.csv"))
        .into_iter()
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect();
    let truth: Vec<f64> = data.item_names().map(|i| truth[i]).collect();
    let tau = |fit: PairwiseAggregation| kendall_tau(&fit.scores, &truth);
    let noisy = |compat| NoisyBradleyTerry::params().compat(compat).check().unwrap();
    let bt_correct = tau(BradleyTerry::default().fit(&data).unwrap());
    let bt_ck = tau(bt(100, 1e-5, PairwiseCompat::CrowdKit).fit(&data).unwrap());
    let nbt_correct = tau(noisy(PairwiseCompat::Correct).fit(&data).unwrap());
    let nbt_ck = tau(noisy(PairwiseCompat::CrowdKit).fit(&data).unwrap());
    eprintln!(
        "Kendall tau with the true ranking: BradleyTerry {bt_correct:.4} (crowd-kit {bt_ck:.4}), \
         NoisyBradleyTerry {nbt_correct:.4} (crowd-kit {nbt_ck:.4})"
    );
    assert!(nbt_correct >= 0.9 && bt_correct >= 0.9);
}

// ---- bad input ----

fn read_error(text: &str) -> Error {
    read_pairwise_from(text.as_bytes(), "cmp.csv", &PairwiseReadOptions::default()).unwrap_err()
}

#[test]
fn bad_input_is_a_located_typed_error() {
    let header = "worker,left,right,label\n";
    let cases: [(&str, &str, u64, u64); 5] = [
        ("w1,a,b,a\nw2,c,c,c\n", "self", 3, 3),
        ("w1,a,b,z\n", "winner", 2, 4),
        ("w1,a,b,a\n\nw1,a,,a\n", "empty right", 4, 3),
        ("w1,,b,b\n", "empty left", 2, 2),
        ("\"w\n1\",a,b,\n", "empty label", 2, 4),
    ];
    for (rows, what, line, column) in cases {
        let err = read_error(&format!("{header}{rows}"));
        let Error::Input(InputError::Data { location, source }) = &err else {
            panic!("{what}: {err:?}");
        };
        assert_eq!(
            (location.line, location.column),
            (line, Some(column)),
            "{what}: {err}"
        );
        let source: &DataError = source;
        match what {
            "self" => assert!(
                matches!(source, DataError::SelfComparison { item, record: 2 } if item == "c")
            ),
            "winner" => assert!(matches!(
                source,
                DataError::WinnerNotInPair { record: 1, .. }
            )),
            _ => assert!(
                matches!(source, DataError::EmptyField { .. }),
                "{what}: {source:?}"
            ),
        }
        assert!(
            err.to_string()
                .starts_with(&format!("cmp.csv:{line}:{column}: ")),
            "{err}"
        );
    }
    // Whole-file and header problems, as the other readers report them.
    assert_eq!(
        read_error("").to_string(),
        "cmp.csv: no comparisons (the file is empty)"
    );
    // A header without rows is an empty table (as for responses), which fits to no scores.
    let empty = read_pairwise_from(
        "worker,left,right,label\n".as_bytes(),
        "cmp.csv",
        &PairwiseReadOptions::default(),
    )
    .unwrap();
    assert!(empty.is_empty());
    assert!(
        read_error("worker,left,label\nw,a,a\n")
            .to_string()
            .starts_with("cmp.csv:1: missing column \"right\"")
    );
    assert!(
        read_error("worker,left,right,label\nw,a,b\n")
            .to_string()
            .starts_with("cmp.csv:2: expected 4 fields")
    );
    let err = read_pairwise(
        Path::new("/nonexistent/cmp.csv"),
        &PairwiseReadOptions::default(),
    );
    assert!(matches!(err, Err(Error::Input(InputError::Io { .. }))));
}

#[test]
fn bad_params_are_rejected_before_fitting() {
    assert!(BradleyTerry::params().tol(-1e-3).check().is_err());
    assert!(
        NoisyBradleyTerry::params()
            .regularization_ratio(f64::NAN)
            .check()
            .is_err()
    );
    assert!(
        <crowdagg::BradleyTerryParams as PairwiseParams>::from_pairs([("n_iter", "ten")]).is_err()
    );
    assert!(
        <crowdagg::NoisyBradleyTerryParams as PairwiseParams>::from_pairs([("compat", "python")])
            .is_err()
    );
    let ok = <crowdagg::NoisyBradleyTerryParams as PairwiseParams>::from_pairs([
        ("compat", "crowd-kit"),
        ("n_iter", "5"),
    ])
    .unwrap();
    assert_eq!(ok.name(), "NoisyBradleyTerry");
}

/// xorshift64: a small deterministic generator for simulated data.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n
    }
}

/// Comparisons from the noisy Bradley-Terry model: item i has strength 4i/(n−1) − 2 (so the
/// true ranking is the reverse id order), `spammers` of the workers click the left item with
/// probability σ(bias) without looking, the others judge by the model.
fn simulate(
    seed: u64,
    items: usize,
    workers: usize,
    spammers: usize,
    bias: f64,
    comparisons: usize,
) -> (PairwiseResponses, Vec<f64>) {
    let mut rng = Rng(seed);
    let strength: Vec<f64> = (0..items)
        .map(|i| 4.0 * i as f64 / (items - 1) as f64 - 2.0)
        .collect();
    let sigma = |z: f64| 1.0 / (1.0 + (-z).exp());
    let mut rows = Vec::new();
    for _ in 0..comparisons {
        let w = rng.below(workers);
        let i = rng.below(items);
        let j = (i + 1 + rng.below(items - 1)) % items;
        let p_left = if w < spammers {
            sigma(bias)
        } else {
            sigma(strength[i] - strength[j])
        };
        let winner = if rng.uniform() < p_left { i } else { j };
        rows.push((
            format!("w{w:03}"),
            format!("i{i:03}"),
            format!("i{j:03}"),
            format!("i{winner:03}"),
        ));
    }
    let data = PairwiseResponses::from_rows(rows).unwrap();
    let truth = data
        .item_names()
        .map(|name| strength[name[1..].parse::<usize>().unwrap()])
        .collect();
    (data, truth)
}

/// Mean Kendall τ over 20 simulated data sets per setting: NoisyBradleyTerry (exact gradient)
/// against compat=crowd-kit (whose results equal crowd-kit's, see above) and BradleyTerry.
/// The settings have left-clicking spammers, which the noisy model is meant to discount. The
/// comparison is reported, not asserted: neither mode wins every setting (with 40 workers of
/// 25 comparisons each the exact maximum-likelihood fit also gives some careful workers skill
/// ≈ 0, and crowd-kit's early stop acts as a regulariser there); only the recovery itself is
/// checked.
#[test]
fn kendall_tau_on_simulated_spammers() {
    let (mut all_correct, mut all_ck) = (0.0, 0.0);
    let settings = [
        (30, 10, 3, 2.0, 600),
        (30, 10, 5, 3.0, 600),
        (50, 40, 20, 3.0, 1000),
        (20, 6, 3, 4.0, 300),
    ];
    for (items, workers, spammers, bias, comparisons) in settings {
        let (mut correct, mut ck, mut plain) = (0.0, 0.0, 0.0);
        const RUNS: u64 = 20;
        for seed in 1..=RUNS {
            let (data, truth) = simulate(seed, items, workers, spammers, bias, comparisons);
            let noisy = |compat| NoisyBradleyTerry::params().compat(compat).check().unwrap();
            let t = |fit: PairwiseAggregation| kendall_tau(&fit.scores, &truth);
            correct += t(noisy(PairwiseCompat::Correct).fit(&data).unwrap()) / RUNS as f64;
            ck += t(noisy(PairwiseCompat::CrowdKit).fit(&data).unwrap()) / RUNS as f64;
            plain += t(BradleyTerry::default().fit(&data).unwrap()) / RUNS as f64;
        }
        eprintln!(
            "{items} items, {workers} workers ({spammers} spammers, bias σ({bias})), {comparisons} comparisons: \
             mean τ NoisyBT {correct:.4}, crowd-kit {ck:.4}, BradleyTerry {plain:.4}"
        );
        assert!(correct > 0.5, "{correct}");
        all_correct += correct / settings.len() as f64;
        all_ck += ck / settings.len() as f64;
    }
    eprintln!("overall mean τ: NoisyBT {all_correct:.4}, crowd-kit {all_ck:.4}");
}

#[test]
fn default_modes_do_not_depend_on_row_order() {
    let path = fixture("pairwise/generated.csv");
    let rows = crate::common::read_rows(&path);
    let build = |rows: &[Vec<String>]| {
        PairwiseResponses::from_rows(
            rows.iter()
                .map(|r| (r[0].as_str(), r[1].as_str(), r[2].as_str(), r[3].as_str())),
        )
        .unwrap()
    };
    let mut reversed = rows.clone();
    reversed.reverse();
    let (a, b) = (build(&rows), build(&reversed));
    let bt = BradleyTerry::default();
    assert_eq!(bt.fit(&a).unwrap(), bt.fit(&b).unwrap());
    let noisy = NoisyBradleyTerry::default();
    assert_eq!(noisy.fit(&a).unwrap(), noisy.fit(&b).unwrap());
    // crowd-kit's NoisyBT depends on row order (its gradient keeps each worker's last row).
    let ck = NoisyBradleyTerry::params()
        .compat(PairwiseCompat::CrowdKit)
        .check()
        .unwrap();
    assert_ne!(ck.fit(&a).unwrap().scores, ck.fit(&b).unwrap().scores);
}

#[test]
fn malformed_input_never_panics() {
    let mut rng = Rng(7);
    let tokens: [&[u8]; 9] = [
        b"a", b"b", b"c", b"w1", b"2", b"", b"\"a,b\"", b"\xff", b"\"open",
    ];
    let mut parsed = 0;
    for case in 0..3000 {
        let mut bytes: Vec<u8> = if case % 10 == 0 {
            Vec::new()
        } else {
            b"worker,left,right,label\n".to_vec()
        };
        for _ in 0..rng.below(6) {
            let fields = 3 + rng.below(3); // 3..=5 fields, 4 is well-formed
            for f in 0..fields {
                if f > 0 {
                    bytes.push(b',');
                }
                // Mostly plain tokens, sometimes a hostile one.
                let t = if rng.uniform() < 0.9 {
                    rng.below(5)
                } else {
                    rng.below(tokens.len())
                };
                bytes.extend_from_slice(tokens[t]);
            }
            bytes.extend_from_slice(if rng.uniform() < 0.5 { b"\n" } else { b"\r\n" });
        }
        if let Ok(data) = read_pairwise_from(&bytes[..], "x.csv", &PairwiseReadOptions::default()) {
            // Whatever parses must fit.
            BradleyTerry::default().fit(&data).unwrap();
            NoisyBradleyTerry::default().fit(&data).unwrap();
            parsed += 1;
        }
    }
    assert!(parsed > 10, "{parsed}");
}

/// A point or gradient of the wrong length is a typed shape error naming the argument.
#[test]
fn noisy_bradley_terry_objective_refuses_wrong_lengths() {
    use crowdagg::{DataError, NoisyBradleyTerryParams, Params};
    let data = crowdagg::PairwiseResponses::from_rows([("w1", "a", "b", "a")]).unwrap();
    let model = NoisyBradleyTerryParams::default().check().unwrap();
    // 1 + 2 items + 2·1 worker = 5.
    let (x, mut short) = (vec![0.0; 5], vec![0.0; 4]);
    assert_eq!(
        model.objective(&data, &x, &mut short),
        Err(DataError::VectorLength {
            name: "gradient",
            expected: 5,
            found: 4,
            layout: "1 + n_items + 2 n_workers",
        })
    );
    let error = model.objective(&data, &x[..3], &mut [0.0; 5]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "x has 3 values, expected 5 (1 + n_items + 2 n_workers)"
    );
    assert_eq!(
        crowdagg::Error::from(error).kind(),
        crowdagg::ErrorKind::InvalidValue
    );
    assert!(model.objective(&data, &x, &mut [0.0; 5]).is_ok());
}
