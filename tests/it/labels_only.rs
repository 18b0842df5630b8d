//! `FitInputs::labels_only`: what a method leaves out when only labels and confidences are
//! read (the command line's CSV without `--probas` / `--workers`).

use crowdagg::io::{ReadOptions, read_gold, read_responses};
use crowdagg::methods::single_label_methods;
use crowdagg::{Aggregation, FitInputs, Skills};

use crate::common::fixture;

fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Every method gives the same labels and confidences, bit for bit, with `labels_only` as
/// without (or the same error); what it leaves out is only probabilities and skills, and only
/// where the full result has them. The majority votes do leave their probabilities out, and
/// MajorityVote its agreement skills, which nothing else needs.
#[test]
fn labels_only_keeps_every_label_and_confidence() {
    let options = ReadOptions::default();
    let data = read_responses(fixture("data/rte/responses.csv"), &options).unwrap();
    let gold = read_gold(fixture("data/rte/gold.csv"), &options).unwrap();
    // Skills for every worker (the weighted votes), not all equal.
    let skills: Skills = (0..data.n_workers())
        .map(|w| (data.worker_name(w), 0.55 + (w % 7) as f64 / 20.0))
        .collect();
    let mut left_out = Vec::new();
    let gold_only = FitInputs::default().gold(&gold);
    for method in single_label_methods() {
        let aggregator = method.build(&[]).unwrap();
        // Without and with skills (weighted votes; a method that does not take them ignores
        // them, one that needs them fails the same way twice without them).
        for inputs in [gold_only, gold_only.skills(&skills)] {
            let fit = |inputs: FitInputs<'_>| aggregator.aggregate_with(&data, inputs);
            let (full, lean): (Aggregation, Aggregation) =
                match (fit(inputs), fit(inputs.labels_only())) {
                    (Ok(full), Ok(lean)) => (full, lean),
                    (Err(a), Err(b)) => {
                        assert_eq!(a.to_string(), b.to_string(), "{}", method.name);
                        continue;
                    }
                    (a, b) => panic!("{}: {:?} against {:?}", method.name, a.err(), b.err()),
                };
            assert_eq!(full.labels, lean.labels, "{}", method.name);
            assert_eq!(
                bits(&full.confidence),
                bits(&lean.confidence),
                "{}",
                method.name
            );
            assert_eq!(full.scores, lean.scores, "{}", method.name);
            assert_eq!(full.errors, lean.errors, "{}", method.name);
            assert_eq!(full.priors, lean.priors, "{}", method.name);
            let weighted = inputs.skills.is_some();
            for (what, kept, full_has) in [
                (
                    "probabilities",
                    lean.probabilities.is_some(),
                    full.probabilities.is_some(),
                ),
                ("skills", lean.skills.is_some(), full.skills.is_some()),
            ] {
                assert!(full_has || !kept, "{}: {what} out of nothing", method.name);
                if full_has && !kept {
                    left_out.push((method.name, weighted, what));
                }
            }
            if let (Some(a), Some(b)) = (&full.probabilities, &lean.probabilities) {
                assert_eq!(a, b, "{}", method.name);
            }
            if let (Some(a), Some(b)) = (&full.skills, &lean.skills) {
                assert_eq!(a, b, "{}", method.name);
            }
        }
    }
    for expected in [
        ("MajorityVote", false, "probabilities"),
        ("MajorityVote", false, "skills"),
        ("MajorityVote", true, "probabilities"),
        ("MajorityVote", true, "skills"),
        ("Wawa", false, "probabilities"),
        ("GoldMajorityVote", false, "probabilities"),
    ] {
        assert!(
            left_out.contains(&expected),
            "{expected:?} kept: {left_out:?}"
        );
    }
}
