//! Degenerate and adversarial data through every registered method: outputs are finite,
//! probabilities are distributions, and where the answer is forced it is the one given.
//! A method may refuse data only with an error (e.g. a binary-only method on K ≠ 2).

use crowdagg::methods::{Method, single_label_methods};
use crowdagg::{Aggregation, FitInputs, Gold, Responses, Skills};

struct Case {
    name: &'static str,
    rows: Vec<(String, String, String)>,
    /// Tasks whose label every sensible method must return.
    forced: Vec<(String, String)>,
}

fn rows(triples: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    triples
        .iter()
        .map(|&(t, w, l)| (t.to_string(), w.to_string(), l.to_string()))
        .collect()
}

fn cases() -> Vec<Case> {
    let mut cases = vec![
        Case {
            name: "one task, one worker, one label",
            rows: rows(&[("t", "w", "x")]),
            forced: vec![("t".into(), "x".into())],
        },
        Case {
            name: "all unanimous",
            rows: rows(&[
                ("t1", "a", "x"),
                ("t1", "b", "x"),
                ("t2", "a", "y"),
                ("t2", "b", "y"),
            ]),
            forced: vec![("t1".into(), "x".into()), ("t2".into(), "y".into())],
        },
        Case {
            name: "a worker who always answers the same",
            rows: rows(&[
                ("t1", "a", "x"),
                ("t1", "b", "x"),
                ("t1", "lazy", "y"),
                ("t2", "a", "z"),
                ("t2", "b", "z"),
                ("t2", "lazy", "y"),
            ]),
            forced: vec![],
        },
    ];
    // Perfect workers p1, p2 and a perfectly adversarial one on a binary task set.
    let mut binary = Vec::new();
    for t in 0..20 {
        let truth = if t % 3 == 0 { "0" } else { "1" };
        let flipped = if truth == "0" { "1" } else { "0" };
        for (w, l) in [("p1", truth), ("p2", truth), ("adv", flipped)] {
            binary.push((format!("t{t}"), w.to_string(), l.to_string()));
        }
    }
    cases.push(Case {
        name: "perfect and adversarial workers",
        rows: binary,
        forced: vec![],
    });
    // K = 1000: every task has its own label, two workers agree.
    let many: Vec<_> = (0..1000)
        .flat_map(|t| {
            ["a", "b"]
                .into_iter()
                .map(move |w| (format!("t{t}"), w.to_string(), format!("label{t}")))
        })
        .collect();
    cases.push(Case {
        name: "1000 labels",
        rows: many,
        forced: vec![("t7".into(), "label7".into())],
    });
    // K = 1: one label overall, many tasks and workers; every method must return it.
    let one_label: Vec<_> = (0..60)
        .flat_map(|t| {
            (0..3).map(move |w| (format!("t{t}"), format!("w{}", (t + w) % 7), "only".into()))
        })
        .collect();
    cases.push(Case {
        name: "one label overall (K = 1)",
        rows: one_label,
        forced: (0..60).map(|t| (format!("t{t}"), "only".into())).collect(),
    });
    // 2·10⁴ distinct tasks with one answer each (10⁶ below, for the fast methods).
    let single: Vec<_> = (0..20_000)
        .map(|t| {
            (
                format!("t{t}"),
                format!("w{}", t % 97),
                ["x", "y"][t % 2].to_string(),
            )
        })
        .collect();
    cases.push(Case {
        name: "one answer per task",
        rows: single,
        forced: vec![],
    });
    cases
}

fn fit(method: &Method, case: &Case) -> (Responses, Result<Aggregation, crowdagg::Error>) {
    let data = Responses::from_triples(case.rows.iter().map(|(t, w, l)| (t, w, l))).unwrap();
    let skills: Skills = data.worker_names().map(|w| (w, 70.0)).collect();
    // Gold = the first answer of every task.
    let gold: Gold = (0..data.n_tasks())
        .map(|t| {
            let l = data.by_task().row(t).1[0];
            (
                data.task_name(t).to_string(),
                data.label_name(l as usize).to_string(),
            )
        })
        .collect();
    let aggregator = method.build(&[]).unwrap();
    let mut inputs = FitInputs::default();
    if method.requirements().gold.required() {
        inputs = inputs.gold(&gold);
    }
    if method.requirements().skills.accepted() {
        inputs = inputs.skills(&skills);
    }
    let result = aggregator.aggregate_with(&data, inputs);
    (data, result)
}

#[test]
fn every_method_survives_degenerate_data() {
    for case in cases() {
        for method in single_label_methods() {
            let (data, result) = fit(method, &case);
            let result = match result {
                Ok(result) => result,
                Err(error) => {
                    // Refusing is allowed only with a message (binary-only methods, …).
                    assert!(!error.to_string().is_empty());
                    println!("{:>24} on {}: error: {error}", method.name, case.name);
                    continue;
                }
            };
            let what = format!("{} on {}", method.name, case.name);
            assert_eq!(result.labels.len(), data.n_tasks(), "{what}");
            assert!(
                result
                    .labels
                    .iter()
                    .all(|&l| (l as usize) < data.n_labels()),
                "{what}"
            );
            for &c in &result.confidence {
                assert!(
                    c.is_finite() && (0.0..=1.0).contains(&c),
                    "{what}: confidence {c}"
                );
            }
            if let Some(p) = &result.probabilities {
                for row in p.rows() {
                    assert!(
                        row.iter().all(|v| v.is_finite() && *v >= 0.0),
                        "{what}: {row:?}"
                    );
                    let sum = row.sum();
                    let slack = 1e-12 + 1e-10 * row.len() as f64;
                    assert!((sum - 1.0).abs() <= slack, "{what}: row sums to {sum}");
                }
            }
            for skill in result.skills.iter().flatten().flatten() {
                assert!(skill.is_finite(), "{what}: skill {skill}");
            }
            if data.n_labels() == 1 {
                // The only label is certain.
                if let Some(p) = &result.probabilities {
                    assert!(p.iter().all(|&v| v == 1.0), "{what}: {p:?}");
                }
                assert!(
                    result.confidence.iter().all(|&c| c == 1.0),
                    "{what}: {:?}",
                    &result.confidence[..3]
                );
            }
            for (task, label) in &case.forced {
                let t = data.task_id(task).unwrap();
                assert_eq!(
                    data.label_name(result.labels[t] as usize),
                    label,
                    "{what}: {task}"
                );
            }
        }
    }
}

/// 10⁶ distinct tasks with one answer each through the fast methods: each task's label is its
/// only answer (MV, Wawa and WDO count one vote; for the Dawid-Skene variants the majority-vote
/// start gives every worker a diagonal confusion matrix, a fixed point). About 3 s in the dev
/// profile (opt-level 1), so it runs with every `cargo test`.
#[test]
fn million_tasks_with_one_answer_each() {
    const N: usize = 1_000_000;
    let start = std::time::Instant::now();
    let mut builder = Responses::builder();
    for t in 0..N {
        let task = format!("t{t}");
        let worker = format!("w{}", t % 1009);
        builder
            .push(&task, &worker, ["x", "y", "z"][t % 3])
            .unwrap();
    }
    let data = builder.build().unwrap();
    assert_eq!((data.n_tasks(), data.n_responses()), (N, N));
    println!("built {N} responses in {:.2?}", start.elapsed());
    let skills: Skills = data.worker_names().map(|w| (w, 70.0)).collect();
    for name in ["mv", "wawa", "ds", "one-coin-ds", "wdo"] {
        let method = crowdagg::methods::find_method(name).unwrap();
        let aggregator = method.build(&[]).unwrap();
        let mut inputs = FitInputs::default();
        if method.requirements().skills.accepted() {
            inputs = inputs.skills(&skills);
        }
        let start = std::time::Instant::now();
        let result = aggregator.aggregate_with(&data, inputs).unwrap();
        println!("{name:>12}: {:.2?}", start.elapsed());
        assert_eq!(result.labels.len(), N, "{name}");
        for t in [0, 1, 2, 12_345, N - 1] {
            let (_, labels) = data.by_task().row(t);
            assert_eq!(result.labels[t], labels[0], "{name}: task {t}");
        }
        assert!(result.confidence.iter().all(|c| c.is_finite()), "{name}");
    }
}
