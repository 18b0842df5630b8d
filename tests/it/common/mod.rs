//! Test helpers: read `task,worker,label` and `task,label` CSVs with the `csv` crate.
#![allow(dead_code)]

use std::collections::HashMap;

use crowdagg::{DuplicatePolicy, Gold, Responses};

/// A file of a real dataset copied into `fixtures/data/<name>/` (sources in `fixtures/README.md`).
pub fn dataset(name: &str, file: &str) -> String {
    format!("{}/{file}", data_dir(name))
}

/// A path under this crate's `fixtures/`.
pub fn fixture(path: &str) -> String {
    format!("{}/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))
}

/// The rows of a CSV with a header, as string records.
pub fn read_rows(path: &str) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// `task,worker,label` rows (first three columns).
pub fn triples(path: &str) -> Vec<(String, String, String)> {
    read_rows(path)
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
        .collect()
}

pub fn responses(path: &str) -> Responses {
    Responses::from_triples(triples(path)).unwrap()
}

/// Responses keeping the last of several answers of a worker to a task (crowd-kit MMSR's rule).
pub fn responses_keep_last(path: &str) -> Responses {
    let mut builder = Responses::builder().duplicates(DuplicatePolicy::KeepLast);
    for (t, w, l) in triples(path) {
        builder.push(&t, &w, &l).unwrap();
    }
    builder.build().unwrap()
}

pub fn gold(path: &str) -> Gold {
    read_rows(path)
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
}

/// The `labels` (task → label) map of a crowd-kit reference JSON.
pub fn reference_labels(path: &str) -> HashMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["labels"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

/// The JSON document of a reference file.
pub fn reference(path: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// A CSV file's rows of the given columns, as strings.
pub fn read_columns(path: &str, columns: &[&str]) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let headers = reader.headers().unwrap().clone();
    let at: Vec<usize> = columns
        .iter()
        .map(|c| {
            headers
                .iter()
                .position(|h| h == *c)
                .unwrap_or_else(|| panic!("{path}: no column {c}"))
        })
        .collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            at.iter().map(|&i| r[i].to_string()).collect()
        })
        .collect()
}

/// `<dir>/responses.csv` (columns by name).
pub fn responses_in(dir: &str) -> Responses {
    let rows = read_columns(
        &format!("{dir}/responses.csv"),
        &["task", "worker", "label"],
    );
    Responses::from_triples(
        rows.iter()
            .map(|r| (r[0].as_str(), r[1].as_str(), r[2].as_str())),
    )
    .unwrap()
}

/// `<dir>/gold.csv` as [`Gold`].
pub fn gold_in(dir: &str) -> Gold {
    read_columns(&format!("{dir}/gold.csv"), &["task", "label"])
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
}

/// The folder of dataset `name` under `fixtures/data/` (`responses.csv`, `gold.csv`).
pub fn data_dir(name: &str) -> String {
    format!("{}/fixtures/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The tiny dataset of the spec (§6).
pub fn tiny() -> Responses {
    responses_in(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/data/tiny"))
}

/// Runs `f` on a fresh pool of `threads` threads: the determinism tests compare results across
/// thread counts, which the global pool (sized by the machine) cannot give.
pub fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}
