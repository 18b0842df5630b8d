//! `LocalBackend` on the spec's conformance data (`specs/toloka-api.md` §7 E3–E6) and Toloka's
//! worked examples (§4.1). Expected confidences are the hand calculations printed in the spec
//! (q = skill/100), not our own output.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crowdagg::toloka::{
    AggregatedSolution, AggregatedSolutionSearchRequest, AggregationBackend, Assignment,
    AssignmentStatus, ErrorCode, ExportedPool, LocalBackend, OperationSearchRequest,
    OperationStatus, PoolAggregatedSolutionRequest, Range, Solution, Task,
    TaskAggregatedSolutionRequest, TaskIdOrder, UserSkill, WaitOptions,
};
use serde_json::{Map, Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/toloka")
}

fn backend() -> LocalBackend {
    let root = fixtures();
    LocalBackend::from_dirs(
        &[
            root.join("pool-1001"),
            root.join("pool-1002"),
            root.join("results-tsv"),
        ],
        Some(&root.join("skills-501.csv")),
    )
    .unwrap()
}

fn wdo(pool: &str, field: &str) -> PoolAggregatedSolutionRequest {
    PoolAggregatedSolutionRequest::weighted_dynamic_overlap(pool, "501", [field])
}

/// (task, output value, confidence) of each solution.
fn summary(solutions: &[AggregatedSolution], field: &str) -> Vec<(String, Value, f64)> {
    solutions
        .iter()
        .map(|s| {
            (
                s.task_id.clone(),
                s.output_values[field].clone(),
                s.confidence,
            )
        })
        .collect()
}

fn assert_solutions(actual: &[AggregatedSolution], field: &str, expected: &[(&str, Value, f64)]) {
    let actual = summary(actual, field);
    assert_eq!(actual.len(), expected.len(), "{actual:?}");
    for ((task, value, confidence), (want_task, want_value, want_confidence)) in
        actual.iter().zip(expected)
    {
        assert_eq!(task, want_task);
        assert_eq!(value, want_value, "{task}");
        assert!(
            (confidence - want_confidence).abs() < 1e-9,
            "{task}: {confidence} vs {want_confidence}"
        );
    }
}

/// E3: accepted answers only; t-0005 (SUBMITTED only) is absent; w3's REJECTED answer to
/// t-0004 is ignored.
fn e3_expected() -> Vec<(&'static str, Value, f64)> {
    vec![
        ("t-0001", json!("OK"), 0.63 / 0.645),
        ("t-0002", json!("BAD"), 0.135 / 0.1775),
        ("t-0003", json!("BAD"), 0.108 / 0.11225),
        ("t-0004", json!("OK"), 0.8),
    ]
}

#[test]
fn pool_flow_gives_the_worked_examples() {
    let backend = backend();
    let operation = backend.aggregate_by_pool(&wdo("1001", "result")).unwrap();
    assert_eq!(operation.status, OperationStatus::Pending);
    assert_eq!(operation.pool_id().as_deref(), Some("1001"));
    let done = backend
        .wait_operation(
            &operation,
            WaitOptions::new(Duration::from_millis(1), Duration::from_secs(5)),
        )
        .unwrap();
    assert_eq!(done.status, OperationStatus::Success);
    assert_eq!(done.progress, Some(100));
    let solutions: Vec<_> = backend
        .get_aggregated_solutions(&operation.id, Some(1))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_solutions(&solutions, "result", &e3_expected());
    assert!(solutions.iter().all(|s| s.pool_id == "1001"));
    // The synchronous form gives the same.
    assert_eq!(
        backend.aggregate(&wdo("1001", "result")).unwrap(),
        solutions
    );
}

#[test]
fn results_tsv_pool_gives_the_same_answers() {
    let backend = backend();
    let solutions = backend.aggregate(&wdo("results-tsv", "result")).unwrap();
    assert_solutions(&solutions, "result", &e3_expected());
}

#[test]
fn boolean_field_keeps_its_type_and_argmax_by_sum() {
    // E5: w4(90) false, w5(60) true, w6(60) true → true by summed skill, confidence 0.2;
    // w1..w3 (70, 80, 90) all true → 0.504/0.51.
    let solutions = backend().aggregate(&wdo("1002", "is_cat")).unwrap();
    assert_solutions(
        &solutions,
        "is_cat",
        &[
            ("c-1", json!(true), 0.036 / 0.18),
            ("c-2", json!(true), 0.504 / 0.51),
        ],
    );
}

#[test]
fn paging_filters_and_descending_sort() {
    let backend = backend();
    let operation = backend.aggregate_by_pool(&wdo("1001", "result")).unwrap();
    // E4
    let first = AggregatedSolutionSearchRequest::first_page(Some(2));
    let page = backend
        .find_aggregated_solutions(&operation.id, &first)
        .unwrap();
    let tasks: Vec<_> = page.items.iter().map(|s| s.task_id.as_str()).collect();
    assert_eq!((tasks, page.has_more), (vec!["t-0001", "t-0002"], true));
    let page = backend
        .find_aggregated_solutions(&operation.id, &first.next_page("t-0002"))
        .unwrap();
    let tasks: Vec<_> = page.items.iter().map(|s| s.task_id.as_str()).collect();
    assert_eq!((tasks, page.has_more), (vec!["t-0003", "t-0004"], false));
    let descending = AggregatedSolutionSearchRequest {
        sort: Some(TaskIdOrder::Descending),
        limit: Some(1),
        ..Default::default()
    };
    let page = backend
        .find_aggregated_solutions(&operation.id, &descending)
        .unwrap();
    assert_eq!(page.items[0].task_id, "t-0004");
    assert!(page.has_more);
    // A page that ends exactly at the last match says has_more = false.
    let exact = AggregatedSolutionSearchRequest {
        task_id: Range {
            gte: Some("t-0003".into()),
            ..Range::default()
        },
        limit: Some(2),
        ..Default::default()
    };
    let page = backend
        .find_aggregated_solutions(&operation.id, &exact)
        .unwrap();
    assert_eq!((page.items.len(), page.has_more), (2, false));
}

#[test]
fn task_flow_matches_the_pool_flow() {
    // E6
    let backend = backend();
    let request = TaskAggregatedSolutionRequest::weighted_dynamic_overlap(
        "t-0002",
        "1001",
        "501",
        ["result"],
    );
    let solution = backend.aggregate_by_task(&request).unwrap();
    assert_eq!(solution.output_values["result"], json!("BAD"));
    assert!((solution.confidence - 0.135 / 0.1775).abs() < 1e-12);
    let missing = TaskAggregatedSolutionRequest::weighted_dynamic_overlap(
        "t-0005",
        "1001",
        "501",
        ["result"],
    );
    let error = backend.aggregate_by_task(&missing).unwrap_err();
    assert_eq!(error.code(), Some(&ErrorCode::DoesNotExist));
}

#[test]
fn errors_use_toloka_codes() {
    let backend = backend();
    fn code<T>(r: Result<T, crowdagg::toloka::BackendError>) -> crowdagg::toloka::BackendError {
        r.map(|_| ()).unwrap_err()
    }
    let e = code(backend.get_operation("does-not-exist"));
    assert_eq!(
        (e.code(), e.status()),
        (Some(&ErrorCode::DoesNotExist), Some(404))
    );
    let e = code(backend.aggregate_by_pool(&wdo("9999", "result")));
    assert_eq!(e.code(), Some(&ErrorCode::DoesNotExist));
    let e = code(backend.aggregate_by_pool(&wdo("1001", "colour")));
    assert_eq!(e.code(), Some(&ErrorCode::ValidationError));
    let e = code(backend.aggregate_by_pool(
        &PoolAggregatedSolutionRequest::weighted_dynamic_overlap(
            "1001",
            "no-such-skill",
            ["result"],
        ),
    ));
    assert_eq!(e.code(), Some(&ErrorCode::ValidationError));
    let mut two_fields = PoolAggregatedSolutionRequest::dawid_skene("1001", "result");
    two_fields
        .target
        .fields
        .push(two_fields.target.fields[0].clone());
    let e = code(backend.aggregate_by_pool(&two_fields));
    assert_eq!(e.code(), Some(&ErrorCode::ValidationError));
    let e = code(backend.find_aggregated_solutions("nope", &Default::default()));
    assert_eq!(e.code(), Some(&ErrorCode::DoesNotExist));
}

#[test]
fn dawid_skene_matches_crowd_kit() {
    // crowd-kit 1.4.2 DawidSkene (defaults) on this pool's accepted answers, recorded with
    // `scripts/crowdkit_reference.py DawidSkene` on the triples (t-0001 w1 OK, w3 OK;
    // t-0002 w1 OK, w3 BAD; t-0003 w1 OK, w3 BAD, w2 BAD; t-0004 w2 OK): labels OK, BAD, BAD,
    // OK; posterior of BAD for t-0002 = 0.9896069074769579 (the others are 1 − 1e-10 or so).
    let backend = backend();
    let solutions = backend
        .aggregate(&PoolAggregatedSolutionRequest::dawid_skene(
            "1001", "result",
        ))
        .unwrap();
    assert_solutions(
        &solutions,
        "result",
        &[
            ("t-0001", json!("OK"), 0.9999999999497389),
            ("t-0002", json!("BAD"), 0.9896069074769579),
            ("t-0003", json!("BAD"), 0.9999999999989497),
            ("t-0004", json!("OK"), 0.9999999999010447),
        ],
    );
}

fn assignment(user: &str, status: &str, task: &str, answer: Value) -> Assignment {
    Assignment {
        id: format!("{user}-{task}"),
        task_suite_id: None,
        pool_id: "m".into(),
        user_id: user.into(),
        status: AssignmentStatus::from(status),
        reward: None,
        tasks: vec![Task {
            id: Some(task.into()),
            pool_id: None,
            input_values: Map::new(),
            known_solutions: None,
            message_on_unknown_solution: None,
            baseline_solutions: None,
            origin_task_id: None,
        }],
        solutions: Some(vec![Solution {
            output_values: answer.as_object().cloned().unwrap_or_default(),
        }]),
        mixed: None,
        automerged: None,
        created: None,
        submitted: None,
        accepted: None,
        rejected: None,
        skipped: None,
        expired: None,
    }
}

fn skill(user: &str, value: i64) -> UserSkill {
    UserSkill {
        id: None,
        skill_id: "501".into(),
        user_id: user.into(),
        value: Some(value),
        exact_value: None,
        created: None,
        modified: None,
    }
}

#[test]
fn several_fields_are_independent_and_confidences_multiply() {
    // Model (A): result over {OK, BAD, 404} and is_cat over {false, true}, each by §4.1.
    // m-1: w1(70) {OK, true}, w3(90) {BAD, true}: result BAD 0.135/0.1775 (E3 t-0002);
    //      is_cat true: z(true) = 0.7·0.9 = 0.63, z(false) = 0.3·0.1 = 0.03 → 0.63/0.66.
    // m-2: w2(80) answered only result = 404 → output has result only, confidence 0.8.
    let pool = ExportedPool::new(
        "m",
        vec![
            assignment(
                "w1",
                "ACCEPTED",
                "m-1",
                json!({"result": "OK", "is_cat": true}),
            ),
            assignment(
                "w3",
                "ACCEPTED",
                "m-1",
                json!({"result": "BAD", "is_cat": true}),
            ),
            assignment(
                "w2",
                "ACCEPTED",
                "m-2",
                json!({"result": "404", "is_cat": null}),
            ),
            assignment(
                "w2",
                "REJECTED",
                "m-1",
                json!({"result": "OK", "is_cat": false}),
            ),
        ],
    )
    .with_field("result", vec![json!("OK"), json!("BAD"), json!("404")])
    .with_field("is_cat", vec![json!(false), json!(true)])
    .with_skills(vec![skill("w1", 70), skill("w2", 80), skill("w3", 90)]);
    let backend = LocalBackend::new().with_pool(pool);
    let request =
        PoolAggregatedSolutionRequest::weighted_dynamic_overlap("m", "501", ["result", "is_cat"]);
    let solutions = backend.aggregate(&request).unwrap();
    assert_eq!(solutions.len(), 2);
    assert_eq!(
        solutions[0].output_values,
        json!({"result": "BAD", "is_cat": true})
            .as_object()
            .cloned()
            .unwrap()
    );
    let expected = (0.135 / 0.1775) * (0.63 / 0.66);
    assert!((solutions[0].confidence - expected).abs() < 1e-12);
    assert_eq!(
        solutions[1].output_values,
        json!({"result": "404"}).as_object().cloned().unwrap()
    );
    assert!((solutions[1].confidence - 0.8).abs() < 1e-12);
}

#[test]
fn an_answer_outside_the_domain_fails_the_operation() {
    let pool = ExportedPool::new(
        "bad",
        vec![assignment(
            "w1",
            "ACCEPTED",
            "x-1",
            json!({"result": "MAYBE"}),
        )],
    )
    .with_field("result", vec![json!("OK"), json!("BAD")])
    .with_skills(vec![skill("w1", 70)]);
    let backend = LocalBackend::new().with_pool(pool);
    let operation = backend.aggregate_by_pool(&wdo("bad", "result")).unwrap();
    let done = backend.get_operation(&operation.id).unwrap();
    assert_eq!(done.status, OperationStatus::Fail);
    let e = backend
        .find_aggregated_solutions(&operation.id, &Default::default())
        .unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::InappropriateStatus));
    let e = backend.aggregate(&wdo("bad", "result")).unwrap_err();
    assert_eq!(e.code(), Some(&ErrorCode::OperationExecutionError));
}

#[test]
fn operations_are_searchable() {
    let backend = backend();
    let a = backend.aggregate_by_pool(&wdo("1001", "result")).unwrap();
    let b = backend.aggregate_by_pool(&wdo("1002", "is_cat")).unwrap();
    let all = backend
        .find_operations(&OperationSearchRequest::default())
        .unwrap();
    let ids: Vec<_> = all.items.iter().map(|o| o.id.clone()).collect();
    assert_eq!(ids, [a.id.clone(), b.id.clone()]);
    let query = OperationSearchRequest::from_query([("sort", "-id"), ("limit", "1")]).unwrap();
    let page = backend.find_operations(&query).unwrap();
    assert_eq!((page.items[0].id.clone(), page.has_more), (b.id, true));
    let query = OperationSearchRequest::from_query([("status", "FAIL")]).unwrap();
    assert!(backend.find_operations(&query).unwrap().items.is_empty());
    assert!(OperationSearchRequest::from_query([("limit", "501")]).is_err());
}

/// One place decides which answers count (`io::Selection`): the library reader with the
/// backend's preset aggregates exactly what `LocalBackend` aggregates, on an export with a
/// repeated answer, empty answers, a lower-case status and rejected work.
#[test]
fn the_reader_with_the_backend_selection_aggregates_what_the_backend_does() {
    use crowdagg::io::{AssignmentsOptions, EmptyAnswers, Selection, read_assignments};
    use crowdagg::{Aggregator, DawidSkene, DuplicatePolicy};
    let line = |user: &str, status: &str, task: &str, result: &str| {
        format!(
            r#"{{"id":"{user}-{task}","pool_id":"sel","user_id":"{user}","status":"{status}","tasks":[{{"id":"{task}"}}],"solutions":[{{"output_values":{{"result":{result}}}}}]}}"#
        )
    };
    let lines = [
        line("w1", "ACCEPTED", "t1", r#""OK""#),
        line("w2", "ACCEPTED", "t1", r#""BAD""#),
        line("w3", "accepted", "t1", r#""OK""#),
        line("w1", "ACCEPTED", "t2", r#""BAD""#),
        line("w1", "ACCEPTED", "t2", r#""OK""#), // repeated: the last counts
        line("w2", "ACCEPTED", "t2", r#""""#),   // empty: left out
        line("w3", "ACCEPTED", "t2", "null"),    // empty: left out
        line("w2", "REJECTED", "t3", r#""OK""#),
        line("w3", "ACCEPTED", "t3", r#""BAD""#),
        line("w1", "ACCEPTED", "t3", r#""BAD""#),
    ];
    let dir = std::env::temp_dir().join(format!("crowdagg-selection-{}", std::process::id()));
    let pool = dir.join("sel");
    std::fs::create_dir_all(&pool).unwrap();
    let path = pool.join("assignments.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();

    let backend = LocalBackend::from_dirs(std::slice::from_ref(&pool), None).unwrap();
    let solutions = backend
        .aggregate(&PoolAggregatedSolutionRequest::dawid_skene("sel", "result"))
        .unwrap();
    assert_eq!(backend.unanswered("sel", "result"), Some(2));

    let toloka = Selection::toloka();
    assert_eq!(
        (toloka.duplicates, toloka.empty),
        (DuplicatePolicy::KeepLast, EmptyAnswers::Skip)
    );
    let options = AssignmentsOptions {
        field: "result".into(),
        selection: toloka,
    };
    let data = read_assignments(&path, &options).unwrap();
    assert_eq!(data.n_responses(), 6);
    let result = DawidSkene::default().aggregate(&data).unwrap();
    let read: Vec<(String, Value, f64)> = result
        .iter_named(&data)
        .map(|r| (r.task.to_owned(), json!(r.label), r.confidence))
        .collect();
    let served = summary(&solutions, "result");
    assert_eq!(served.len(), read.len());
    for ((task, value, confidence), (want_task, want_value, want_confidence)) in
        served.iter().zip(&read)
    {
        assert_eq!((task, value), (want_task, want_value));
        assert_eq!(confidence.to_bits(), want_confidence.to_bits(), "{task}");
    }
    // The readers' own preset refuses the empty answer.
    let strict = read_assignments(&path, &AssignmentsOptions::default()).unwrap_err();
    assert!(
        strict.to_string().contains("empty output value"),
        "{strict}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
