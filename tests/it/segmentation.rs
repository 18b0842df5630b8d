//! SegmentationMajorityVote, SegmentationRASA and SegmentationEM: crowd-kit's own test cases
//! (tests/aggregation/test_image_aggregation.py and data_image.py; masks and expected results
//! theirs, transcribed below row by row), plus edge cases.

use crowdagg::{
    DataError, Error, Mask, SegmentationAggregator, SegmentationEm, SegmentationEmParams,
    SegmentationMajorityVote, SegmentationRasa, SegmentationRasaParams, SegmentationResponses,
    Skills,
};

/// The three methods with their defaults.
fn all_methods() -> [Box<dyn SegmentationAggregator>; 3] {
    [
        Box::new(SegmentationMajorityVote::default()),
        Box::new(SegmentationRasa::default()),
        Box::new(SegmentationEm::default()),
    ]
}

/// A mask from rows of 0/1 separated by `/`.
fn mask(rows: &str) -> Mask {
    let rows: Vec<&str> = rows.split('/').collect();
    let pixels = rows
        .iter()
        .flat_map(|r| r.bytes().map(|b| b == b'1'))
        .collect();
    Mask::from_bools(rows[0].len(), rows.len(), pixels).unwrap()
}

const W: [&str; 3] = [
    "bf3a144d756790eb511f5ebccfcf3964",
    "be37db5784b50d08d2702f36317a3074",
    "e044b0849dfa9ce3dee5debbefb3b5da",
];

/// crowd-kit's `simple_image_df`.
fn simple_image() -> SegmentationResponses {
    SegmentationResponses::from_rows([
        ("1", W[0], mask("00010000/11111111/11111111")),
        ("1", W[1], mask("00000000/11111111/11111111")),
        ("1", W[2], mask("00000000/00001100/00001100")),
        ("2", W[0], mask("00000000/00000001/11111111")),
        ("2", W[1], mask("11111111/11111111/11111100")),
        ("2", W[2], mask("00000000/11111000/11111110")),
    ])
    .unwrap()
}

#[test]
fn crowd_kit_test_simple_segmentation_mv() {
    let fit = SegmentationMajorityVote::default()
        .fit(&simple_image())
        .unwrap();
    assert_eq!(
        fit.masks,
        [
            mask("00000000/11111111/11111111"),
            mask("00000000/11111001/11111110")
        ]
    );
}

#[test]
fn crowd_kit_test_skills_segmentation_mv() {
    let data = SegmentationResponses::from_rows([
        ("1", W[0], mask("11000/10000")),
        ("1", W[1], mask("10101/00000")),
        ("1", W[2], mask("01110/00000")),
    ])
    .unwrap();
    let mut skills = Skills::new();
    for (w, s) in W.iter().zip([1.0, 1.0, 3.0]) {
        skills.insert(*w, s);
    }
    let fit = SegmentationMajorityVote::default()
        .fit_with_skills(&data, Some(&skills))
        .unwrap();
    assert_eq!(fit.masks, [mask("01110/00000")]);
    skills = Skills::new();
    let err = SegmentationMajorityVote::default()
        .fit_with_skills(&data, Some(&skills))
        .unwrap_err();
    assert!(matches!(err, Error::Data(DataError::MissingSkill { .. })));
}

const RASA_AND_EM_RESULT: [&str; 2] = ["00000000/11111111/11111111", "00000000/11111000/11111110"];

#[test]
fn crowd_kit_test_simple_segmentation_rasa_iter() {
    for (n_iter, tol) in [(10, 0.0), (100_500, 1e-5)] {
        let fit = SegmentationRasaParams { n_iter, tol }
            .check()
            .unwrap()
            .fit(&simple_image())
            .unwrap();
        assert_eq!(fit.masks, RASA_AND_EM_RESULT.map(mask), "{n_iter} {tol}");
    }
}

#[test]
fn crowd_kit_test_simple_segmentation_em_iter() {
    for (n_iter, tol) in [(10, 0.0), (100_500, 1e-5)] {
        let fit = SegmentationEmParams { n_iter, tol }
            .check()
            .unwrap()
            .fit(&simple_image())
            .unwrap();
        assert_eq!(fit.masks, RASA_AND_EM_RESULT.map(mask), "{n_iter} {tol}");
    }
}

#[test]
fn crowd_kit_test_zero_iter() {
    let data = simple_image();
    let rasa = SegmentationRasaParams {
        n_iter: 0,
        ..SegmentationRasa::params()
    }
    .check()
    .unwrap();
    let em = SegmentationEmParams {
        n_iter: 0,
        ..SegmentationEm::params()
    }
    .check()
    .unwrap();
    for fit in [rasa.fit(&data).unwrap(), em.fit(&data).unwrap()] {
        assert_eq!(fit.masks.len(), 2);
        assert_eq!(fit.report.iterations, 0);
    }
}

#[test]
fn edge_cases() {
    // Empty union: EM gives the empty mask; a single worker is followed by every method.
    let data = SegmentationResponses::from_rows([
        ("a", "w1", mask("000/000")),
        ("a", "w2", mask("000/000")),
        ("b", "w1", mask("010/110")),
    ])
    .unwrap();
    let methods = all_methods();
    for method in &methods {
        let fit = method.fit(&data).unwrap();
        assert_eq!(fit.masks[1], mask("010/110"), "{}", method.name());
        assert_eq!(fit.masks[0].count(), 0, "{}", method.name());
    }
    // Masks of one task must share a size.
    let err =
        SegmentationResponses::from_rows([("a", "w1", mask("00/00")), ("a", "w2", mask("000"))])
            .unwrap_err();
    assert!(matches!(
        err,
        DataError::MaskSize {
            record: 2,
            width: 3,
            height: 1,
            ..
        }
    ));
    assert!(matches!(
        Mask::from_bools(2, 2, vec![true]),
        Err(DataError::MaskPixelCount { found: 1, .. })
    ));
    assert!(
        SegmentationRasaParams {
            n_iter: 1,
            tol: -1.0
        }
        .check()
        .is_err()
    );
}

// ---- crowd-kit 1.4.2 on seeded generated masks (fixtures/segmentation) ----

#[test]
fn masks_equal_crowd_kit_on_generated_images() {
    let rows = crate::common::read_rows(&crate::common::fixture("segmentation/generated.csv"));
    let data =
        SegmentationResponses::from_rows(rows.iter().map(|r| (&r[0], &r[1], mask(&r[2])))).unwrap();
    let path = crate::common::fixture("segmentation/crowdkit.json");
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let runs: [(&str, Box<dyn SegmentationAggregator>); 5] = [
        ("mv", Box::new(SegmentationMajorityVote::default())),
        ("rasa", Box::new(SegmentationRasa::default())),
        (
            "rasa_n_iter_3",
            Box::new(
                SegmentationRasaParams {
                    n_iter: 3,
                    tol: 1e-5,
                }
                .check()
                .unwrap(),
            ),
        ),
        ("em", Box::new(SegmentationEm::default())),
        (
            "em_n_iter_3",
            Box::new(
                SegmentationEmParams {
                    n_iter: 3,
                    tol: 1e-5,
                }
                .check()
                .unwrap(),
            ),
        ),
    ];
    for (run, method) in runs {
        let fit = method.fit(&data).unwrap();
        let want = reference[run].as_object().unwrap();
        assert_eq!(want.len(), data.n_tasks());
        for (t, got) in fit.masks.iter().enumerate() {
            let task = data.task_name(t);
            assert_eq!(*got, mask(want[task].as_str().unwrap()), "{run} {task}");
        }
    }
}

/// 2,500 tasks of three 2×2 masks (the task's number picks the masks): three blocks of tasks.
fn many_tasks() -> SegmentationResponses {
    let shapes = ["10/01", "11/00", "01/11", "00/10"];
    let mut builder = SegmentationResponses::builder();
    for t in 0..2_500 {
        for w in 0..3 {
            let shape = shapes[(t + w * (t % 3)) % shapes.len()];
            builder
                .push(&format!("t{t}"), &format!("w{w}"), mask(shape))
                .unwrap();
        }
    }
    builder.build()
}

/// An observer stops every segmentation method after its first block of tasks: the masks of
/// the tasks fitted (the first 1,024), equal to the full fit's, and `Interrupted`; an observer
/// that only watches is called once per block and changes nothing.
#[test]
fn an_observer_stops_the_segmentation_methods() {
    use crowdagg::{Action, IterationState, StopReason};
    use std::sync::atomic::{AtomicUsize, Ordering};

    let data = many_tasks();
    let methods = all_methods();
    for method in &methods {
        let full = method.fit(&data).unwrap();
        assert_eq!(full.masks.len(), 2_500);
        let stop = |state: &IterationState| {
            assert_eq!((state.iteration, state.max_iterations), (1, 3));
            assert_eq!(state.objective, 1024.0);
            Action::Stop
        };
        let stopped = method.fit_observed(&data, Some(&stop)).unwrap();
        assert_eq!(
            stopped.report.stop_reason,
            StopReason::Interrupted,
            "{}",
            method.name()
        );
        assert_eq!(stopped.masks[..], full.masks[..1024], "{}", method.name());
        // A partial fit is refused by the writers, before any file is made.
        let out = std::env::temp_dir().join(format!(
            "crowdagg-partial-masks-{}-{}",
            std::process::id(),
            method.name()
        ));
        let refused = crowdagg::output::write_masks_png(&out, &data, &stopped).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("results for 1024 of 2500 tasks"),
            "{refused}"
        );
        assert!(!out.exists());
        let calls = AtomicUsize::new(0);
        let watch = |_: &IterationState| {
            calls.fetch_add(1, Ordering::Relaxed);
            Action::Continue
        };
        let watched = method.fit_observed(&data, Some(&watch)).unwrap();
        assert_eq!(calls.load(Ordering::Relaxed), 3);
        assert_eq!(watched, full, "{}", method.name());
    }
}
