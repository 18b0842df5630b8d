//! Helpers shared by the integration tests: reading the shared datasets.
#![allow(dead_code)]

use crowdagg::{Gold, Responses};

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

/// `<dir>/responses.csv` as [`Responses`].
pub fn responses(dir: &str) -> Responses {
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
pub fn gold(dir: &str) -> Gold {
    read_columns(&format!("{dir}/gold.csv"), &["task", "label"])
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect()
}

/// The shared dataset folder `name`.
pub fn shared(name: &str) -> String {
    format!("{}/../shared/datasets/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The tiny dataset of the spec (§6).
pub fn tiny() -> Responses {
    responses(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/data/tiny"))
}
