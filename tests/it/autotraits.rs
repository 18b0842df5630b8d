//! The public types are `Send + Sync` (fits run on rayon threads; the Python package releases
//! the GIL around them), and the parameter seams: one declaration read from text and JSON.

use crowdagg::methods::*;
use crowdagg::*;

fn send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    // Aggregators and their parameters.
    send_sync::<MajorityVote>();
    send_sync::<MajorityVoteParams>();
    send_sync::<GoldMajorityVote>();
    send_sync::<GoldMajorityVoteParams>();
    send_sync::<Wawa>();
    send_sync::<ZeroBasedSkill>();
    send_sync::<ZeroBasedSkillParams>();
    send_sync::<WeightedDynamicOverlap>();
    send_sync::<WeightedDynamicOverlapParams>();
    send_sync::<DawidSkene>();
    send_sync::<DawidSkeneParams>();
    send_sync::<OneCoinDawidSkene>();
    send_sync::<OneCoinDawidSkeneParams>();
    send_sync::<Mmsr>();
    send_sync::<MmsrParams>();
    send_sync::<Kos>();
    send_sync::<KosParams>();
    send_sync::<Glad>();
    send_sync::<GladParams>();
    send_sync::<Mace>();
    send_sync::<MaceParams>();
    send_sync::<BinaryRelevance>();
    send_sync::<BradleyTerry>();
    send_sync::<BradleyTerryParams>();
    send_sync::<NoisyBradleyTerry>();
    send_sync::<NoisyBradleyTerryParams>();
    send_sync::<Box<dyn Aggregator>>();
    send_sync::<Method>();
    send_sync::<Requirements>();
    // Data and results.
    send_sync::<Responses>();
    send_sync::<MultiLabelResponses>();
    send_sync::<PairwiseResponses>();
    send_sync::<Gold>();
    send_sync::<Skills>();
    send_sync::<InitialErrors>();
    send_sync::<Aggregation>();
    send_sync::<GladFit>();
    send_sync::<MaceFit>();
    send_sync::<MultiLabelAggregation>();
    send_sync::<PairwiseAggregation>();
    // Errors.
    send_sync::<Error>();
    send_sync::<ParamsError>();
    send_sync::<DataError>();
    send_sync::<InputError>();
    send_sync::<crowdagg::toloka::BackendError>();
    send_sync::<crowdagg::toloka::LocalBackend>();
    #[cfg(feature = "remote")]
    send_sync::<crowdagg::toloka::RemoteBackend>();
}

#[test]
fn every_method_reads_json_as_its_key_value_text() {
    type Case = (
        &'static str,
        &'static [(&'static str, &'static str)],
        serde_json::Value,
    );
    let cases: &[Case] = &[
        (
            "ds",
            &[("n_iter", "7"), ("tol", "0"), ("compat", "corrected")],
            serde_json::json!({"n_iter": 7, "tol": 0.0, "compat": "corrected"}),
        ),
        (
            "ds",
            &[("initial_error_strategy", "none")],
            serde_json::json!({"initial_error_strategy": null}),
        ),
        (
            "one-coin-ds",
            &[("blocks", "2")],
            serde_json::json!({"blocks": 2}),
        ),
        (
            "mv",
            &[("on_missing_skill", "value"), ("default_skill", "0.5")],
            serde_json::json!({"default_skill": 0.5, "on_missing_skill": "value"}),
        ),
        (
            "wdo",
            &[("domain", "a, b,c"), ("skill_scale", "100")],
            serde_json::json!({"domain": ["a", "b", "c"], "skill_scale": 100.0}),
        ),
        (
            "glad",
            &[("labels_priors", "a:0.25,b:0.75")],
            serde_json::json!({"labels_priors": {"a": 0.25, "b": 0.75}}),
        ),
        (
            "mace",
            &[
                ("method", "em"),
                ("smoothing", "0.1"),
                ("random_state", "3"),
            ],
            serde_json::json!({"method": "em", "smoothing": 0.1, "random_state": 3}),
        ),
        (
            "mmsr",
            &[("random_state", "7")],
            serde_json::json!({"random_state": 7}),
        ),
        ("kos", &[("n_iter", "5")], serde_json::json!({"n_iter": 5})),
        (
            "zbs",
            &[("lr_init", "0.5")],
            serde_json::json!({"lr_init": 0.5}),
        ),
    ];
    for (name, pairs, json) in cases {
        let method = find_method(name).unwrap();
        let from_text = method.build(pairs).unwrap();
        let from_json = method.build_json(json).unwrap();
        assert_eq!(from_text.params(), from_json.params(), "{name}");
    }
    // The same typed errors from both spellings.
    let ds = find_method("ds").unwrap();
    for err in [
        ds.build(&[("bogus", "1")]).err().unwrap(),
        ds.build_json(&serde_json::json!({"bogus": 1}))
            .err()
            .unwrap(),
    ] {
        assert!(
            matches!(
                err,
                ParamsError::Unknown {
                    method: "DawidSkene",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(Error::from(err).kind(), ErrorKind::WrongType);
    }
    let err = ds
        .build_json(&serde_json::json!({"n_iter": "ten"}))
        .err()
        .unwrap();
    assert!(
        matches!(&err, ParamsError::Type { name, .. } if name == "n_iter"),
        "{err}"
    );
    let err = ds.build(&[("tol", "-1")]).err().unwrap();
    assert!(
        matches!(err, ParamsError::OutOfRange { name: "tol", .. }),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::InvalidValue);
    // Wawa has no parameters.
    let wawa = find_method("wawa").unwrap();
    assert!(wawa.build_json(&serde_json::json!({})).is_ok());
    assert!(matches!(
        wawa.build(&[("x", "1")]),
        Err(ParamsError::Unknown { known: [], .. })
    ));
}

#[test]
fn requirements_are_checked_before_fitting() {
    let data =
        Responses::from_triples([("t1", "w1", "a"), ("t1", "w2", "b"), ("t2", "w1", "c")]).unwrap();
    for (name, expected) in [("gold-mv", "gold labels"), ("wdo", "worker skills")] {
        let method = find_method(name).unwrap();
        let err = method
            .build(&[])
            .unwrap()
            .fit_checked(&data, FitInputs::default())
            .unwrap_err();
        assert!(err.to_string().ends_with(expected), "{err}");
        assert_eq!(err.kind(), ErrorKind::WrongType);
    }
    let kos = find_method("kos").unwrap().build(&[]).unwrap();
    assert!(matches!(
        kos.fit_checked(&data, FitInputs::default()),
        Err(Error::Data(DataError::WrongLabelCount {
            expected: 2,
            found: 3,
            ..
        }))
    ));
    assert_eq!(
        find_method("ds").unwrap().requirements().gold,
        Use::Optional
    );
    assert_eq!(
        find_method("mv").unwrap().requirements().skills,
        Use::Optional
    );
}

/// BinaryRelevance is a registry entry like every other method: found by name, listed last in
/// `METHODS`, declared as the label-set method, built only by `build_label_sets`.
#[test]
fn binary_relevance_is_in_the_registry() {
    let br = find_method("BinaryRelevance").unwrap();
    assert_eq!(br.cli_name, "binary-relevance");
    assert!(br.requirements().label_sets);
    assert_eq!(METHODS.last().map(|m| m.name), Some("BinaryRelevance"));
    assert_eq!(single_label_methods().count(), METHODS.len() - 1);
    assert!(single_label_methods().all(|m| !m.requirements().label_sets));
    let err = br.build(&[]).err().unwrap();
    assert_eq!(
        err.to_string(),
        "BinaryRelevance aggregates label sets, not single labels"
    );
    assert_eq!(err.kind(), ErrorKind::WrongType);
    assert!(br.build_json(&serde_json::json!({})).is_err());
    let (aggregator, own) = br
        .build_label_sets(&[("inner", "wawa"), ("separator", ";")])
        .unwrap();
    assert_eq!((aggregator.inner().name(), own.separator), ("Wawa", ';'));
    assert_eq!(
        br.defaults(),
        [
            ("inner".to_string(), serde_json::json!("mv")),
            ("separator".to_string(), serde_json::json!("|"))
        ]
    );
    let err = find_method("mv")
        .unwrap()
        .build_label_sets(&[])
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "MajorityVote aggregates single labels, not label sets"
    );
    // It is not an inner method of itself.
    assert!(matches!(
        binary_relevance("binary-relevance", &[]),
        Err(ParamsError::UnknownInnerMethod { .. })
    ));
}

/// M-MSR's minimum of two labels is declared in its requirements and checked by the one
/// check, before a fit and inside a direct `aggregate`, with the same error.
#[test]
fn minimum_label_counts_are_declared() {
    let mmsr = find_method("mmsr").unwrap();
    assert_eq!(mmsr.requirements().min_labels, Some(2));
    assert_eq!(find_method("kos").unwrap().requirements().labels, Some(2));
    let one_label = Responses::from_triples([("t1", "w1", "a"), ("t2", "w2", "a")]).unwrap();
    let aggregator = mmsr.build(&[]).unwrap();
    for result in [
        aggregator.fit_checked(&one_label, FitInputs::default()),
        aggregator.aggregate(&one_label),
    ] {
        let err = result.err().unwrap();
        assert!(
            matches!(
                err,
                Error::Data(DataError::TooFewLabels {
                    method: "MMSR",
                    min: 2,
                    found: 1
                })
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "MMSR needs at least 2 distinct labels, the data has 1"
        );
    }
    let mut custom = Requirements::NONE.with_min_labels(3);
    assert!(custom.check_labels("X", &one_label).is_err());
    custom = Requirements::NONE;
    assert!(custom.check_labels("X", &one_label).is_ok());
}
