//! Compares crowdagg's GLAD and MACE with crowd-kit reference runs on the bundled datasets.
//!
//! Run `bash fixtures/reference/run-crowdkit.sh` first, then
//! `cargo run --release --example compare_reference -- ms bluebirds ...`. Prints a Markdown
//! table: accuracy on gold (crowd-kit, ours), label agreement, max |Δ probability|, seconds.
//! With `SHOW_DISAGREEMENTS=1` it also lists the tasks whose labels differ (on stderr).
//! Datasets are read from `$DATASETS_DIR/<name>` (default `fixtures/data`).

use std::collections::HashMap;
use std::time::Instant;

use crowdagg::{Aggregation, Glad, Gold, Mace, Responses};

fn read(path: &str) -> Vec<csv::StringRecord> {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    reader.records().map(|r| r.unwrap()).collect()
}

fn main() {
    let root = env!("CARGO_MANIFEST_DIR");
    println!(
        "| dataset | method | acc crowd-kit | acc crowdagg | agreement | max abs dp | s crowd-kit | s crowdagg | iters ck / ours |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for dataset in std::env::args().skip(1) {
        let datasets =
            std::env::var("DATASETS_DIR").unwrap_or_else(|_| format!("{root}/fixtures/data"));
        let dir = format!("{datasets}/{dataset}");
        let rows = read(&format!("{dir}/responses.csv"));
        let data = Responses::from_triples(rows.iter().map(|r| (&r[0], &r[1], &r[2]))).unwrap();
        let gold: Gold = read(&format!("{dir}/gold.csv"))
            .iter()
            .map(|r| (r[0].to_string(), r[1].to_string()))
            .collect();
        for method in ["GLAD", "MACE", "MACE-fixed"] {
            let path = format!("{root}/target/reference/{dataset}/{method}.json");
            let reference: Option<serde_json::Value> = std::fs::read_to_string(&path)
                .ok()
                .map(|text| serde_json::from_str(&text).unwrap());
            if reference.is_none() && method == "MACE-fixed" {
                continue;
            }
            let start = Instant::now();
            let result: Aggregation = match method {
                "GLAD" => {
                    Glad::default()
                        .fit(&data, Default::default())
                        .unwrap()
                        .aggregation
                }
                _ => {
                    Mace::default()
                        .fit(&data, Default::default())
                        .unwrap()
                        .aggregation
                }
            };
            let seconds = start.elapsed().as_secs_f64();
            let (accuracy, _) = result.accuracy(&data, &gold);
            let Some(reference) = reference else {
                println!(
                    "| {dataset} | {method} | – | {accuracy:.4} | – | – | – | {seconds:.3} | – / {} |",
                    result.report.iterations
                );
                continue;
            };
            let labels: HashMap<&str, &str> = reference["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(t, l)| (t.as_str(), l.as_str().unwrap()))
                .collect();
            let (mut agree, mut correct_ck, mut scored, mut max_dp) =
                (0usize, 0usize, 0usize, 0.0f64);
            let probabilities = result.probabilities.as_ref().unwrap();
            for t in 0..data.n_tasks() {
                let task = data.task_name(t);
                let ours = data.label_name(result.labels[t] as usize);
                agree += usize::from(labels[task] == ours);
                if labels[task] != ours && std::env::var_os("SHOW_DISAGREEMENTS").is_some() {
                    eprintln!(
                        "  {method} task {task}: crowd-kit {} {}, ours {ours} {:?}, gold {:?}",
                        labels[task],
                        reference["probas"][task],
                        probabilities.row(t).to_vec(),
                        gold.get(task)
                    );
                }
                if let Some(truth) = gold.get(task) {
                    scored += 1;
                    correct_ck += usize::from(labels[task] == truth);
                }
                for (label, p) in reference["probas"][task].as_object().unwrap() {
                    let l = data.label_id(label).unwrap() as usize;
                    max_dp = max_dp.max((p.as_f64().unwrap() - probabilities[[t, l]]).abs());
                }
            }
            println!(
                "| {dataset} | {method} | {:.4} | {:.4} | {:.2} % | {:.2e} | {:.1} | {:.3} | {} / {} |",
                correct_ck as f64 / scored as f64,
                accuracy,
                100.0 * agree as f64 / data.n_tasks() as f64,
                max_dp,
                reference["seconds"].as_f64().unwrap(),
                seconds,
                reference["n_iter_run"],
                result.report.iterations,
            );
        }
    }
}
