//! The file readers on arbitrary bytes. Besides "no panic", every error must be an input
//! error whose message starts with the source name (the readers' error contract).

use crowdagg::io::{
    AssignmentsOptions, ReadOptions, TolokaTsvOptions, read_assignments_from_bytes, read_gold_from,
    read_responses_from, read_skills_from_bytes, read_toloka_tsv_from,
};
use crowdagg::{Aggregator, DuplicatePolicy, Error, MajorityVote, Responses};

/// Checks the error contract of a reader's result.
fn check<T>(result: Result<T, Error>, name: &str) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            assert!(
                matches!(error, Error::Input(_)),
                "not an input error: {error:?}"
            );
            let message = error.to_string();
            assert!(message.starts_with(name), "no location: {message}");
            None
        }
    }
}

/// What was read must aggregate (majority vote never fails on valid responses).
fn aggregate(data: &Responses) {
    let result = MajorityVote::default().aggregate(data);
    let result = result.unwrap_or_else(|e| panic!("majority vote failed: {e}"));
    assert_eq!(result.labels.len(), data.n_tasks());
}

/// CSV/TSV responses (comma and tab, keep and reject duplicates), the same bytes as gold
/// labels and as a skills file.
pub fn responses_csv(data: &[u8]) {
    let keep = ReadOptions::default();
    if let Some(responses) = check(read_responses_from(data, "fuzz.csv", &keep), "fuzz.csv") {
        aggregate(&responses);
    }
    let reject = ReadOptions {
        duplicates: DuplicatePolicy::Reject,
        ..ReadOptions::default()
    };
    if let Some(responses) = check(read_responses_from(data, "fuzz.tsv", &reject), "fuzz.tsv") {
        aggregate(&responses);
    }
    check(read_gold_from(data, "gold.csv", &keep), "gold.csv");
    check(
        read_skills_from_bytes(data, "skills.csv", None),
        "skills.csv",
    );
}

/// A Toloka web UI results TSV.
pub fn toloka_tsv(data: &[u8]) {
    let options = TolokaTsvOptions::default();
    if let Some((responses, _gold)) = check(
        read_toloka_tsv_from(data, "results.tsv", &options),
        "results.tsv",
    ) {
        aggregate(&responses);
    }
}

/// An API export of assignments (JSON array or lines), and the same bytes as UserSkill JSON.
pub fn assignments_json(data: &[u8]) {
    let options = AssignmentsOptions::default();
    if let Some(responses) = check(
        read_assignments_from_bytes(data, "assignments.json", &options),
        "assignments.json",
    ) {
        aggregate(&responses);
    }
    check(
        read_skills_from_bytes(data, "skills.json", None),
        "skills.json",
    );
}
