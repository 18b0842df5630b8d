//! Runs DawidSkene or OneCoinDawidSkene (default parameters) on a responses CSV and prints the
//! result as JSON in the schema of scripts/ds_reference.py (labels, probas, n_iter_run,
//! loss_history), for scripts/ds_parity.py.
//!
//! `cargo run --release --example ds_dump -- responses.csv [ds|ocds]`

use crowdagg::{Aggregator, DawidSkene, OneCoinDawidSkene, Responses};
use serde_json::{Map, Value, json};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut reader = csv::Reader::from_path(&args[0])?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or(format!("no column {name}"))
    };
    let (t, w, l) = (column("task")?, column("worker")?, column("label")?);
    let mut builder = Responses::builder();
    for record in reader.records() {
        let record = record?;
        builder.push(&record[t], &record[w], &record[l])?;
    }
    let data = builder.build()?;
    let model: Box<dyn Aggregator> = match args.get(1).map(String::as_str) {
        Some("ocds") => Box::new(OneCoinDawidSkene::default()),
        _ => Box::new(DawidSkene::default()),
    };
    let result = model.aggregate(&data)?;
    let probabilities = result.probabilities.as_ref().ok_or("no probabilities")?;
    let (mut labels, mut probas) = (Map::new(), Map::new());
    for task in 0..data.n_tasks() {
        let name = data.task_name(task).to_string();
        labels.insert(
            name.clone(),
            json!(data.label_name(result.labels[task] as usize)),
        );
        let row: Map<String, Value> = (0..data.n_labels())
            .map(|c| {
                (
                    data.label_name(c).to_string(),
                    json!(probabilities[[task, c]]),
                )
            })
            .collect();
        probas.insert(name, Value::Object(row));
    }
    let out = json!({
        "method": model.name(),
        "labels": labels,
        "probas": probas,
        "loss_history": result.report.loss_history,
        "n_iter_run": result.report.iterations,
    });
    println!("{out}");
    Ok(())
}
