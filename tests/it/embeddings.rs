//! ClosestToAverage, RASA and HRRASA: crowd-kit's own test cases (tests/aggregation/
//! test_text_aggregation.py, expected values theirs), crowd-kit 1.4.2 runs on a seeded
//! generated set (same chosen outputs, scores, reliabilities and loss history to 1e-9
//! relative), parameters, and bad input. Fixtures and how to regenerate them:
//! `fixtures/embeddings/README.md`.

use std::path::Path;

use crowdagg::io::{
    EmbeddingReadOptions, read_embeddings, read_embeddings_from, read_true_embeddings,
};
use crowdagg::{
    ClosestToAverage, ClosestToAverageParams, DataError, Distance, EmbeddingAggregation,
    EmbeddingAggregator, EmbeddingResponses, Error, Hrrasa, HrrasaParams, OutputSimilarity,
    ParamsError, Rasa, RasaParams, TrueEmbeddings,
};
use serde_json::Value;

use crate::common::{fixture, read_rows};

fn load(name: &str) -> EmbeddingResponses {
    read_embeddings(
        Path::new(&fixture(&format!("embeddings/{name}"))),
        &EmbeddingReadOptions::default(),
    )
    .unwrap()
}

fn truth(name: &str) -> TrueEmbeddings {
    read_true_embeddings(
        Path::new(&fixture(&format!("embeddings/{name}"))),
        &EmbeddingReadOptions::default(),
    )
    .unwrap()
}

pub fn reference() -> Value {
    let path = fixture("embeddings/crowdkit.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn rasa(n_iter: usize, tol: f64) -> Rasa {
    RasaParams {
        n_iter,
        tol,
        ..RasaParams::default()
    }
    .check()
    .unwrap()
}

fn hrrasa(n_iter: usize, tol: f64) -> Hrrasa {
    HrrasaParams {
        n_iter,
        tol,
        output_similarity: OutputSimilarity::CrowdKit,
        ..HrrasaParams::default()
    }
    .check()
    .unwrap()
}

/// A JSON number, `null` (NaN) or `"inf"`.
fn number(value: &Value) -> f64 {
    match value {
        Value::Null => f64::NAN,
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
        v => v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")),
    }
}

/// Equal within 1e-9 relative (1e-9 absolute below 1); NaN equals NaN, infinities themselves.
fn close(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// Asserts a fit equals a crowd-kit run of `crowdkit.json`: the chosen output and embedding of
/// every task identical, scores, reliabilities, aggregated embeddings and loss history to 1e-9.
pub fn assert_matches(run: &str, data: &EmbeddingResponses, fit: &EmbeddingAggregation) {
    let reference = reference();
    let expected = &reference[run];
    assert!(expected.is_object(), "no run {run}");
    assert_eq!(
        expected["output"].as_object().unwrap().len(),
        data.n_tasks()
    );
    for (t, task) in data.task_names().enumerate() {
        assert_eq!(
            fit.output(data, t),
            expected["output"][task].as_str().unwrap(),
            "{run}: output of {task}"
        );
        let embedding: Vec<f64> = expected["embedding"][task]
            .as_array()
            .unwrap()
            .iter()
            .map(number)
            .collect();
        assert_eq!(
            fit.embedding(data, t),
            embedding,
            "{run}: embedding of {task}"
        );
        if let Some(aggregated) = expected.get("aggregated") {
            let want: Vec<f64> = aggregated[task]
                .as_array()
                .unwrap()
                .iter()
                .map(number)
                .collect();
            for (a, b) in fit.aggregated(t).iter().zip(&want) {
                assert!(close(*a, *b), "{run}: aggregated of {task}: {a} vs {b}");
            }
        }
    }
    let scores: Vec<f64> = expected["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(number)
        .collect();
    assert_eq!(scores.len(), fit.scores.len());
    for (row, (a, b)) in fit.scores.iter().zip(&scores).enumerate() {
        assert!(close(*a, *b), "{run}: score of row {row}: {a} vs {b}");
    }
    for (key, ours) in [("skills", &fit.skills), ("prior_skills", &fit.prior_skills)] {
        let Some(want) = expected.get(key) else {
            continue;
        };
        let ours = ours.as_ref().unwrap();
        let want = want.as_object().unwrap();
        for (w, worker) in data.worker_names().enumerate() {
            // crowd-kit leaves out workers it never rated (as NaN after HRRASA's fill-in).
            let b = want.get(worker).map_or(f64::NAN, number);
            assert!(
                close(ours[w], b),
                "{run}: {key} of {worker}: {} vs {b}",
                ours[w]
            );
        }
    }
    if let Some(history) = expected.get("loss_history") {
        let want: Vec<f64> = history.as_array().unwrap().iter().map(number).collect();
        assert_eq!(
            fit.report.loss_history.len(),
            want.len(),
            "{run}: iterations"
        );
        for (a, b) in fit.report.loss_history.iter().zip(&want) {
            assert!(close(*a, *b), "{run}: loss {a} vs {b}");
        }
    }
}

/// `(task, output, embedding)` rows of an expected-result CSV.
fn expected(name: &str) -> Vec<(String, String, Vec<f64>)> {
    read_rows(&fixture(&format!("embeddings/{name}")))
        .into_iter()
        .map(|r| {
            let e = r[2]
                .split_whitespace()
                .map(|x| x.parse().unwrap())
                .collect();
            (r[0].clone(), r[1].clone(), e)
        })
        .collect()
}

fn assert_outputs(data: &EmbeddingResponses, fit: &EmbeddingAggregation, name: &str) {
    let want = expected(name);
    assert_eq!(want.len(), data.n_tasks());
    for (task, output, embedding) in want {
        let t = data.task_id(&task).unwrap();
        assert_eq!(fit.output(data, t), output, "{task}");
        assert_eq!(fit.embedding(data, t), embedding, "{task}");
    }
}

// ---- crowd-kit's tests (tests/aggregation/test_text_aggregation.py), expected values theirs ----

#[test]
fn crowd_kit_test_rasa() {
    let data = load("simple_text.csv");
    let true_embeddings = truth("simple_text_true.csv");
    for (n_iter, tol) in [(100, 0.0), (100_500, 1e-9)] {
        let fit = rasa(n_iter, tol)
            .fit_with(&data, Some(&true_embeddings))
            .unwrap();
        assert_outputs(&data, &fit, "expected_rasa.csv");
    }
}

#[test]
fn crowd_kit_test_hrrasa() {
    let data = load("simple_text.csv");
    let true_embeddings = truth("simple_text_true.csv");
    for (n_iter, tol) in [(100, 0.0), (100_500, 1e-9)] {
        let fit = hrrasa(n_iter, tol)
            .fit_with(&data, Some(&true_embeddings))
            .unwrap();
        assert_outputs(&data, &fit, "expected_hrrasa.csv");
    }
}

#[test]
fn crowd_kit_test_hrrasa_single_overlap() {
    let data = load("simple_text.csv");
    let first = EmbeddingResponses::from_rows([(
        data.task_name(data.task(0)),
        data.worker_name(data.worker(0)),
        data.output(0),
        data.embedding(0),
    )])
    .unwrap();
    let fit = Hrrasa::default().fit(&first).unwrap();
    assert_eq!(fit.chosen, [0]);
    assert!(fit.skills.unwrap()[0].is_nan());
}

#[test]
fn crowd_kit_test_zero_iter() {
    let data = load("simple_text.csv");
    let true_embeddings = truth("simple_text_true.csv");
    let tasks: Vec<String> = expected("expected_hrrasa.csv")
        .into_iter()
        .map(|r| r.0)
        .collect();
    let fits = [
        rasa(0, 1e-9)
            .fit_with(&data, Some(&true_embeddings))
            .unwrap(),
        hrrasa(0, 1e-9)
            .fit_with(&data, Some(&true_embeddings))
            .unwrap(),
    ];
    for fit in fits {
        assert_eq!(fit.chosen.len(), tasks.len());
        assert!(data.task_names().all(|t| tasks.iter().any(|x| x == t)));
        assert_eq!(fit.report.iterations, 0);
        assert!(fit.skills.unwrap().iter().all(|&s| s == 1.0));
    }
}

// ---- crowd-kit 1.4.2 on the same data (crowdkit.json) ----

#[test]
fn simple_text_matches_crowd_kit_in_detail() {
    let data = load("simple_text.csv");
    let true_embeddings = truth("simple_text_true.csv");
    let fit = Rasa::default()
        .fit_with(&data, Some(&true_embeddings))
        .unwrap();
    assert_matches("simple_rasa", &data, &fit);
    let fit = hrrasa(100, 1e-9)
        .fit_with(&data, Some(&true_embeddings))
        .unwrap();
    assert_matches("simple_hrrasa", &data, &fit);
    let fit = hrrasa(100, 1e-9).fit(&data).unwrap();
    assert_matches("simple_hrrasa_plain", &data, &fit);
}

#[test]
fn closest_to_average_matches_crowd_kit_on_generated_data() {
    let data = load("generated.csv");
    let true_embeddings = truth("generated_true.csv");
    let cta = |distance| ClosestToAverageParams { distance }.check().unwrap();
    let euclidean = cta(Distance::Euclidean);
    assert_matches("cta_euclidean", &data, &euclidean.fit(&data).unwrap());
    assert_matches(
        "cta_euclidean_true",
        &data,
        &euclidean.fit_with(&data, Some(&true_embeddings)).unwrap(),
    );
    assert_matches(
        "cta_cosine",
        &data,
        &cta(Distance::Cosine).fit(&data).unwrap(),
    );
    // Squared distances order rows as the distances do.
    let squared = cta(Distance::SquaredEuclidean).fit(&data).unwrap();
    assert_eq!(squared.chosen, euclidean.fit(&data).unwrap().chosen);
}

#[test]
fn rasa_matches_crowd_kit_on_generated_data() {
    let data = load("generated.csv");
    let true_embeddings = truth("generated_true.csv");
    assert_matches("rasa", &data, &Rasa::default().fit(&data).unwrap());
    assert_matches(
        "rasa_true",
        &data,
        &Rasa::default()
            .fit_with(&data, Some(&true_embeddings))
            .unwrap(),
    );
    assert_matches("rasa_n_iter_0", &data, &rasa(0, 1e-9).fit(&data).unwrap());
    assert_matches(
        "rasa_n_iter_3",
        &data,
        &rasa(3, 1e-9)
            .fit_with(&data, Some(&true_embeddings))
            .unwrap(),
    );
}

#[test]
fn hrrasa_matches_crowd_kit_on_generated_data() {
    let data = load("generated.csv");
    let true_embeddings = truth("generated_true.csv");
    let fit = hrrasa(100, 1e-9).fit(&data).unwrap();
    assert!(fit.report.iterations > 3);
    assert_matches("hrrasa", &data, &fit);
    assert_matches(
        "hrrasa_true",
        &data,
        &hrrasa(100, 1e-9)
            .fit_with(&data, Some(&true_embeddings))
            .unwrap(),
    );
    assert_matches(
        "hrrasa_n_iter_0",
        &data,
        &hrrasa(0, 1e-9).fit(&data).unwrap(),
    );
    let lambdas = HrrasaParams {
        lambda_emb: 0.8,
        lambda_out: 0.2,
        alpha: 0.1,
        output_similarity: OutputSimilarity::CrowdKit,
        ..HrrasaParams::default()
    }
    .check()
    .unwrap();
    assert_matches(
        "hrrasa_lambdas",
        &data,
        &lambdas.fit_with(&data, Some(&true_embeddings)).unwrap(),
    );
}

#[test]
fn exact_ties_go_to_the_first_row() {
    // Two workers give the same answer (same embedding): the earlier row is chosen whichever
    // method, as pandas' idxmin.
    let data = EmbeddingResponses::from_rows([
        ("t", "w1", "x", [0.0, 1.0]),
        ("t", "w2", "a", [1.0, 0.0]),
        ("t", "w3", "b", [1.0, 0.0]),
    ])
    .unwrap();
    assert_eq!(ClosestToAverage::default().fit(&data).unwrap().chosen, [1]);
    assert_eq!(Rasa::default().fit(&data).unwrap().chosen, [1]);
    assert_eq!(Hrrasa::default().fit(&data).unwrap().chosen, [1]);
}

#[test]
fn word_gleu_differs_from_crowd_kits_similarity() {
    // With identical sentences, crowd-kit's similarity (words against characters) is 0 and
    // the word GLEU 1, so the local reliabilities differ.
    let data = EmbeddingResponses::from_rows([
        ("t", "w1", "hello world", [1.0, 0.0]),
        ("t", "w2", "hello world", [1.0, 0.1]),
    ])
    .unwrap();
    let fit = |similarity| {
        HrrasaParams {
            output_similarity: similarity,
            ..HrrasaParams::default()
        }
        .check()
        .unwrap()
        .fit(&data)
        .unwrap()
        .local_skills
        .unwrap()
    };
    let crowd_kit = fit(OutputSimilarity::CrowdKit);
    let words = fit(OutputSimilarity::Gleu);
    for (a, b) in crowd_kit.iter().zip(&words) {
        assert!((b - a - 0.5).abs() < 1e-12, "{a} {b}");
    }
}

// ---- parameters and bad input ----

#[test]
fn bad_params_are_rejected_before_fitting() {
    let bad = |p: RasaParams| p.check().unwrap_err();
    assert!(matches!(
        bad(RasaParams {
            alpha: 0.0,
            ..RasaParams::default()
        }),
        ParamsError::OutOfRange { name: "alpha", .. }
    ));
    assert!(matches!(
        bad(RasaParams {
            tol: f64::NAN,
            ..RasaParams::default()
        }),
        ParamsError::OutOfRange { name: "tol", .. }
    ));
    let err = HrrasaParams {
        lambda_out: -1.0,
        ..HrrasaParams::default()
    }
    .check()
    .unwrap_err();
    assert!(matches!(
        err,
        ParamsError::OutOfRange {
            name: "lambda_out",
            ..
        }
    ));
}

#[test]
fn params_deserialize_with_defaults_and_refuse_unknown_fields() {
    let p: RasaParams = serde_json::from_str(r#"{"n_iter": 5}"#).unwrap();
    assert_eq!(
        p,
        RasaParams {
            n_iter: 5,
            ..RasaParams::default()
        }
    );
    assert_eq!((p.tol, p.alpha), (1e-9, 0.05));
    let h: HrrasaParams =
        serde_json::from_str(r#"{"output_similarity": "crowd-kit", "lambda_emb": 1}"#).unwrap();
    assert_eq!(h.output_similarity, OutputSimilarity::CrowdKit);
    assert!(serde_json::from_str::<RasaParams>(r#"{"n_itr": 5}"#).is_err());
    let c: ClosestToAverageParams = serde_json::from_str(r#"{"distance": "cosine"}"#).unwrap();
    assert_eq!(c.distance, Distance::Cosine);
    let back: HrrasaParams = serde_json::from_str(&serde_json::to_string(&h).unwrap()).unwrap();
    assert_eq!(back, h);
}

#[test]
fn side_input_and_duplicate_errors_are_typed() {
    let data =
        EmbeddingResponses::from_rows([("t", "w1", "a", [1.0, 0.0]), ("t", "w1", "b", [0.0, 1.0])])
            .unwrap();
    let err = Hrrasa::default().fit(&data).unwrap_err();
    assert!(matches!(
        err,
        Error::Data(DataError::DuplicateResponse {
            first: 1,
            second: 2,
            ..
        })
    ));
    // RASA takes duplicates as separate answers, as crowd-kit.
    Rasa::default().fit(&data).unwrap();
    let truth: TrueEmbeddings = [("t", vec![1.0])].into_iter().collect();
    let err = Rasa::default().fit_with(&data, Some(&truth)).unwrap_err();
    assert!(matches!(
        err,
        Error::Data(DataError::TrueEmbeddingLength {
            expected: 2,
            found: 1,
            ..
        })
    ));
    let truth: TrueEmbeddings = [("t", vec![1.0, f64::INFINITY])].into_iter().collect();
    let err = Rasa::default().fit_with(&data, Some(&truth)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "value #2 of the true embedding of task \"t\" is not a finite number: inf"
    );
}

#[test]
fn reader_errors_name_file_line_and_column() {
    let read = |text: &str| {
        read_embeddings_from(text.as_bytes(), "e.csv", &EmbeddingReadOptions::default())
            .unwrap_err()
            .to_string()
    };
    let head = "task,worker,output,embedding\n";
    assert_eq!(
        read(&format!("{head}t,w,o,\"[1, 2]\"\nt,v,o,[1]\n")),
        "e.csv:3:4: embedding of response #2 has 1 values, the first one had 2"
    );
    assert_eq!(
        read(&format!("{head}t,w,o,1 two\n")),
        "e.csv:2:4: value #2 of the embedding of response #1 is not a finite number: \"two\""
    );
    assert_eq!(
        read(&format!("{head}t,w,o,\n")),
        "e.csv:2:4: embedding of response #1 has no values"
    );
    assert_eq!(
        read(&format!("{head}t,w,o,1 nan\n")),
        "e.csv:2:4: value #2 of the embedding of response #1 is not a finite number: \"nan\""
    );
    assert!(
        read("task,worker,embedding\nt,w,1\n").starts_with("e.csv:1: missing column \"output\"")
    );
}

/// xorshift64: a small deterministic generator.
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

#[test]
fn malformed_input_never_panics() {
    let mut rng = Rng(17);
    let tokens: [&[u8]; 16] = [
        b"t1",
        b"t2",
        b"w1",
        b"w2",
        b"1 2",
        b"\"[0, 0]\"",
        b"0.5 -1",
        b"\"[1,2]\"",
        b"",
        b"1",
        b"1 2 3",
        b"x",
        b"\"[1, 2\"",
        b"1e400 1",
        b"\xff",
        b"\"open",
    ];
    let methods: [Box<dyn EmbeddingAggregator>; 4] = [
        Box::new(ClosestToAverage::default()),
        Box::new(Rasa::default()),
        Box::new(Hrrasa::default()),
        Box::new(hrrasa(5, 0.0)),
    ];
    let mut parsed = 0;
    for case in 0..3000 {
        let mut bytes: Vec<u8> = if case % 10 == 0 {
            Vec::new()
        } else {
            b"task,worker,output,embedding\n".to_vec()
        };
        for _ in 0..rng.below(7) {
            let fields = 3 + rng.below(3);
            for f in 0..fields {
                if f > 0 {
                    bytes.push(b',');
                }
                let t = if f < 2 {
                    rng.below(4)
                } else if f == 3 && rng.uniform() < 0.8 {
                    4 + rng.below(4)
                } else {
                    rng.below(tokens.len())
                };
                bytes.extend_from_slice(tokens[t]);
            }
            bytes.extend_from_slice(if rng.uniform() < 0.5 { b"\n" } else { b"\r\n" });
        }
        if let Ok(data) =
            read_embeddings_from(&bytes[..], "x.csv", &EmbeddingReadOptions::default())
        {
            for method in &methods {
                if let Ok(fit) = method.fit(&data) {
                    assert_eq!(fit.chosen.len(), data.n_tasks());
                    for (t, &row) in fit.chosen.iter().enumerate() {
                        assert_eq!(data.task(row), t);
                    }
                }
            }
            parsed += 1;
        }
    }
    assert!(parsed > 50, "{parsed}");
}

/// The observer stops RASA and HRRASA (and so their text forms) after an iteration: the same
/// embeddings, scores and skills as a fit with that many iterations, `Interrupted`.
#[test]
fn the_observer_stops_rasa_and_hrrasa() {
    use crowdagg::{Action, IterationState, StopReason};
    let data = load("generated.csv");
    let stop_after_two = |state: &IterationState| {
        if state.iteration >= 2 {
            Action::Stop
        } else {
            Action::Continue
        }
    };
    let pairs: [(Box<dyn EmbeddingAggregator>, Box<dyn EmbeddingAggregator>); 2] = [
        (Box::new(rasa(100, 0.0)), Box::new(rasa(2, 0.0))),
        (Box::new(hrrasa(100, 0.0)), Box::new(hrrasa(2, 0.0))),
    ];
    for (long, two) in pairs {
        let stopped = long
            .fit_observed(&data, None, Some(&stop_after_two))
            .unwrap();
        let expected = two.fit(&data).unwrap();
        assert_eq!(
            stopped.report.stop_reason,
            StopReason::Interrupted,
            "{}",
            long.name()
        );
        assert_eq!(stopped.report.iterations, 2, "{}", long.name());
        assert_eq!(stopped.report.loss_history, expected.report.loss_history);
        assert_eq!(stopped.aggregated, expected.aggregated, "{}", long.name());
        assert_eq!(stopped.scores, expected.scores, "{}", long.name());
        assert_eq!(stopped.skills, expected.skills, "{}", long.name());
    }
}

#[cfg(feature = "parquet")]
mod parquet {
    use super::*;

    /// Each row's names, output and embedding, in file order.
    fn rows(data: &EmbeddingResponses) -> Vec<(String, String, String, Vec<f64>)> {
        (0..data.len())
            .map(|r| {
                (
                    data.task_name(data.task(r)).to_string(),
                    data.worker_name(data.worker(r)).to_string(),
                    data.output(r).to_string(),
                    data.embedding(r).to_vec(),
                )
            })
            .collect()
    }

    #[test]
    fn a_list_column_reads_as_the_csv() {
        // fixtures/embeddings/parquet_fixtures.py: generated.csv as list<double> in row groups
        // of 300, and as fixed_size_list<float, 16>.
        let csv = load("generated.csv");
        let doubles = load("generated.parquet");
        assert_eq!(rows(&doubles), rows(&csv));
        let rasa = rasa(10, 1e-5);
        assert_eq!(rasa.fit(&doubles).unwrap(), rasa.fit(&csv).unwrap());
        let floats = load("generated_f32.parquet");
        let rounded: Vec<_> = rows(&csv)
            .into_iter()
            .map(|(t, w, o, e)| (t, w, o, e.iter().map(|&v| f64::from(v as f32)).collect()))
            .collect();
        assert_eq!(rows(&floats), rounded);
    }

    #[test]
    fn bad_list_columns_are_located_errors() {
        let message = |name: &str| {
            let path = fixture(&format!("bad/{name}"));
            let e = read_embeddings(Path::new(&path), &EmbeddingReadOptions::default())
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(&path), "{e}");
            e[path.len()..].to_string()
        };
        assert_eq!(
            message("embeddings_length.parquet"),
            ":row group 1:row 1: embedding of response #4 has 3 values, the first one had 2"
        );
        assert_eq!(
            message("embeddings_null.parquet"),
            ":row group 0:row 1: \"embedding\": null embedding"
        );
        assert_eq!(
            message("embeddings_null_value.parquet"),
            ":row group 0:row 2: \"embedding\": value #2 of the embedding is null"
        );
        let e = message("embeddings_wrong_type.parquet");
        assert!(
            e.starts_with(": column \"embedding\" has type List(Utf8")
                && e.ends_with("; expected a list of float or double"),
            "{e}"
        );
        assert_eq!(
            message("embeddings_not_list.parquet"),
            ": column \"embedding\" has type Float64; expected a list of float or double"
        );
        assert!(message("parquet_truncated.parquet").contains("not a readable Parquet file"));
        assert!(message("parquet_empty.parquet").contains("no responses (the file is empty)"));
    }
}
