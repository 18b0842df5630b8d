//! Conformance of the Toloka types with the example payloads of `specs/toloka-api.md` §7
//! (E1–E9) and the documented shapes of §1, §3.4 and §6. Each payload is deserialized, its
//! fields are checked against the spec, and it is serialized again and compared as JSON values.

use approx::assert_abs_diff_eq;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crowdagg::toloka::{
    AggregatedSolution, AggregatedSolutionSearchRequest, AggregatedSolutionType, ApiError,
    Assignment, AssignmentStatus, ErrorCode, FieldName, InvalidField, Operation, OperationStatus,
    OperationType, PoolAggregatedSolutionRequest, Range, SearchPage, TaskAggregatedSolutionRequest,
    TaskIdOrder, Timestamp, UserSkill, ValidationCode, ValidationError,
};

/// Numbers compared by value, so `1` and `1.0` are the same JSON number.
fn normalized(value: Value) -> Value {
    match value {
        Value::Number(number) => json!(number.as_f64()),
        Value::Array(items) => Value::Array(items.into_iter().map(normalized).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, normalized(v))).collect())
        }
        other => other,
    }
}

/// Parses `text` as `T`, checks that serializing gives back the same JSON, returns the value.
fn round_trip<T: Serialize + DeserializeOwned>(text: &str) -> T {
    let parsed: T = serde_json::from_str(text).expect(text);
    let written = serde_json::to_value(&parsed).unwrap();
    let original: Value = serde_json::from_str(text).unwrap();
    assert_eq!(
        normalized(written),
        normalized(original),
        "round trip of {text}"
    );
    parsed
}

const OPERATION_ID: &str = "7b0c2f1e-0000-4000-8000-000000000001";

#[test]
fn e1_wdo_pool_request_and_pending_operation() {
    let request: PoolAggregatedSolutionRequest = round_trip(
        r#"{"type": "WEIGHTED_DYNAMIC_OVERLAP", "pool_id": "1001", "answer_weight_skill_id": "501", "fields": [{"name": "result"}]}"#,
    );
    assert_eq!(
        request.aggregation_type,
        AggregatedSolutionType::WeightedDynamicOverlap
    );
    assert_eq!(request.target.pool_id, "1001");
    assert_eq!(
        request.target.answer_weight_skill_id.as_deref(),
        Some("501")
    );
    assert_eq!(request.target.fields, vec![FieldName::new("result")]);
    assert_eq!(request.validate(), Ok(()));
    assert_eq!(
        request,
        PoolAggregatedSolutionRequest::weighted_dynamic_overlap("1001", "501", ["result"])
    );
    // toloka-kit's key order.
    assert_eq!(
        serde_json::to_string(&request).unwrap(),
        r#"{"type":"WEIGHTED_DYNAMIC_OVERLAP","pool_id":"1001","answer_weight_skill_id":"501","fields":[{"name":"result"}]}"#
    );

    let operation: Operation = round_trip(
        r#"{"id": "7b0c2f1e-0000-4000-8000-000000000001", "type": "SOLUTION.AGGREGATE", "status": "PENDING", "submitted": "2024-05-01T10:00:00.000", "progress": 0, "parameters": {"pool_id": "1001"}}"#,
    );
    assert_eq!(operation.id, OPERATION_ID);
    assert_eq!(operation.operation_type, OperationType::SolutionAggregate);
    assert_eq!(operation.status, OperationStatus::Pending);
    assert!(!operation.is_completed());
    assert_eq!(operation.submitted.to_string(), "2024-05-01T10:00:00.000");
    assert_eq!(operation.started, None);
    assert_eq!(operation.progress, Some(0));
    assert_eq!(operation.pool_id().as_deref(), Some("1001"));

    let built = Operation::aggregation_pending(
        OPERATION_ID,
        "1001",
        "2024-05-01T10:00:00.000".parse().unwrap(),
    );
    assert_eq!(built, operation);
}

#[test]
fn e2_polling_running_then_success() {
    let running: Operation = round_trip(
        r#"{"id":"7b0c2f1e-0000-4000-8000-000000000001","type":"SOLUTION.AGGREGATE","status":"RUNNING","submitted":"2024-05-01T10:00:00.000","started":"2024-05-01T10:00:00.250","progress":40,"parameters":{"pool_id":"1001"}}"#,
    );
    assert_eq!(running.status, OperationStatus::Running);
    assert!(!running.is_completed());
    assert_eq!(running.progress, Some(40));
    let started = running.started.unwrap();
    assert_eq!(
        started.duration_since(&running.submitted),
        Some(std::time::Duration::from_millis(250))
    );

    let done: Operation = round_trip(
        r#"{"id":"7b0c2f1e-0000-4000-8000-000000000001","type":"SOLUTION.AGGREGATE","status":"SUCCESS","submitted":"2024-05-01T10:00:00.000","started":"2024-05-01T10:00:00.250","finished":"2024-05-01T10:00:02.500","progress":100,"parameters":{"pool_id":"1001"},"details":{}}"#,
    );
    assert_eq!(done.status, OperationStatus::Success);
    assert!(done.is_completed());
    assert_eq!(
        done.finished.unwrap().to_string(),
        "2024-05-01T10:00:02.500"
    );
    assert_eq!(done.details, Some(json!({})));
    assert!(OperationStatus::Fail.is_completed());
}

#[test]
fn e3_e4_paging_results_and_queries() {
    let first: SearchPage<AggregatedSolution> = round_trip(
        r#"{"items":[{"pool_id":"1001","task_id":"t-0001","confidence":0.976744,"output_values":{"result":"OK"}},{"pool_id":"1001","task_id":"t-0002","confidence":0.760563,"output_values":{"result":"BAD"}}],"has_more":true}"#,
    );
    assert!(first.has_more);
    assert_eq!(first.items.len(), 2);
    let (t1, t2) = (&first.items[0], &first.items[1]);
    assert_eq!(
        (t1.pool_id.as_str(), t1.task_id.as_str()),
        ("1001", "t-0001")
    );
    assert_eq!(t1.output_values["result"], json!("OK"));
    // E3's exact confidences, rounded to 6 digits in the payload.
    assert_abs_diff_eq!(t1.confidence, 0.63 / 0.645, epsilon = 1e-6);
    assert_eq!(t2.output_values["result"], json!("BAD"));
    assert_abs_diff_eq!(t2.confidence, 0.135 / 0.1775, epsilon = 1e-6);

    let second: SearchPage<AggregatedSolution> = round_trip(
        r#"{"items":[{"pool_id":"1001","task_id":"t-0003","confidence":0.962138,"output_values":{"result":"BAD"}},{"pool_id":"1001","task_id":"t-0004","confidence":0.8,"output_values":{"result":"OK"}}],"has_more":false}"#,
    );
    assert!(!second.has_more);
    assert_abs_diff_eq!(second.items[0].confidence, 0.108 / 0.11225, epsilon = 1e-6);
    assert_abs_diff_eq!(
        second.items[1].confidence,
        0.8 / (0.8 + 0.1 + 0.1),
        epsilon = 1e-12
    );

    // The three queries of E4, in toloka-kit's order.
    let query = |request: &AggregatedSolutionSearchRequest| {
        request
            .to_query()
            .into_iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join("&")
    };
    let page_1 = AggregatedSolutionSearchRequest::first_page(Some(2));
    assert_eq!(query(&page_1), "sort=task_id&limit=2");
    let page_2 = page_1.next_page("t-0002");
    assert_eq!(query(&page_2), "task_id_gt=t-0002&sort=task_id&limit=2");
    let last_first = AggregatedSolutionSearchRequest {
        sort: Some(TaskIdOrder::Descending),
        limit: Some(1),
        ..Default::default()
    };
    assert_eq!(query(&last_first), "sort=-task_id&limit=1");
    assert_eq!(
        query(&AggregatedSolutionSearchRequest::first_page(None)),
        "sort=task_id"
    );

    // The server side reads them back.
    let parsed = AggregatedSolutionSearchRequest::from_query([
        ("task_id_gt", "t-0002"),
        ("sort", "task_id"),
        ("limit", "2"),
    ])
    .unwrap();
    assert_eq!(parsed, page_2);
    assert!(parsed.matches("t-0003") && !parsed.matches("t-0002") && !parsed.matches("t-0001"));
}

#[test]
fn e5_binary_wdo_results_keep_boolean_values() {
    let cat: AggregatedSolution = round_trip(
        r#"{"pool_id":"1001","task_id":"t-cat","confidence":0.2,"output_values":{"is_cat":true}}"#,
    );
    assert_eq!(cat.output_values["is_cat"], Value::Bool(true));
    assert_abs_diff_eq!(cat.confidence, 0.036 / 0.18, epsilon = 1e-12);
    // A confidence written as the integer 1 is valid too.
    let sure: AggregatedSolution = round_trip(
        r#"{"pool_id":"1001","task_id":"t-sure","confidence":1,"output_values":{"is_cat":false}}"#,
    );
    assert_eq!(sure.confidence, 1.0);
}

#[test]
fn e6_aggregate_one_task() {
    let request: TaskAggregatedSolutionRequest = round_trip(
        r#"{"task_id": "t-0002", "pool_id": "1001", "answer_weight_skill_id": "501", "fields": [{"name": "result"}], "type": "WEIGHTED_DYNAMIC_OVERLAP"}"#,
    );
    assert_eq!(request.task_id, "t-0002");
    assert_eq!(request.validate(), Ok(()));
    assert_eq!(
        request,
        TaskAggregatedSolutionRequest::weighted_dynamic_overlap(
            "t-0002",
            "1001",
            "501",
            ["result"]
        )
    );
    // toloka-kit sends `type` last.
    assert_eq!(
        serde_json::to_string(&request).unwrap(),
        r#"{"task_id":"t-0002","pool_id":"1001","answer_weight_skill_id":"501","fields":[{"name":"result"}],"type":"WEIGHTED_DYNAMIC_OVERLAP"}"#
    );
    assert_eq!(
        request.pool_request(),
        PoolAggregatedSolutionRequest::weighted_dynamic_overlap("1001", "501", ["result"])
    );

    let solution: AggregatedSolution = round_trip(
        r#"{"pool_id":"1001","task_id":"t-0002","confidence":0.760563,"output_values":{"result":"BAD"}}"#,
    );
    assert_eq!(solution.output_values["result"], json!("BAD"));
}

#[test]
fn e7_dawid_skene_request_and_two_field_rejection() {
    let request: PoolAggregatedSolutionRequest =
        round_trip(r#"{"type": "DAWID_SKENE", "pool_id": "1001", "fields": [{"name": "result"}]}"#);
    assert_eq!(request.aggregation_type, AggregatedSolutionType::DawidSkene);
    assert_eq!(request.target.answer_weight_skill_id, None);
    assert_eq!(request.validate(), Ok(()));
    assert_eq!(
        request,
        PoolAggregatedSolutionRequest::dawid_skene("1001", "result")
    );

    let two_fields = json!({"type": "DAWID_SKENE", "pool_id": "1001",
                            "fields": [{"name": "result"}, {"name": "comment"}]});
    let error = PoolAggregatedSolutionRequest::from_json(&two_fields).unwrap_err();
    assert_eq!(
        error.fields,
        vec![InvalidField::TooManyItems {
            field: "fields".into(),
            max: 1,
            actual: 2
        }]
    );
    let body = error.to_api_error().with_request_id("req-e7");
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({"request_id": "req-e7", "code": "VALIDATION_ERROR", "message": "Validation failed",
               "payload": {"fields": {"code": "ARRAY_SIZE_GREATER_THAN_MAX",
                                      "message": "Array size must be at most 1, got 2",
                                      "params": {"max": 1}}}})
    );
    assert_eq!(body.invalid_fields(), vec!["fields"]);

    // The typed path finds the same problem.
    let typed: PoolAggregatedSolutionRequest = serde_json::from_value(two_fields).unwrap();
    assert_eq!(typed.validate(), Err(error));
}

#[test]
fn e8_error_bodies() {
    let missing: ApiError = round_trip(
        r#"{"request_id":"00000000-0000-0000-0000-000000000404","code":"DOES_NOT_EXIST","message":"Operation not found"}"#,
    );
    assert_eq!(missing.code, ErrorCode::DoesNotExist);
    assert_eq!(missing.code.typical_status(), Some(404));
    assert_eq!(missing.message, "Operation not found");
    assert_eq!(missing.payload, None);
    assert_eq!(
        missing.to_string(),
        "Toloka error DOES_NOT_EXIST: Operation not found"
    );

    let mixer: ApiError =
        round_trip(r#"{"request_id":"r-409","code":"ONLY_FOR_POOL_WITH_MIXER","message":"…"}"#);
    assert_eq!(mixer.code, ErrorCode::OnlyForPoolWithMixer);

    let busy: ApiError = round_trip(
        r#"{"request_id":"r-429","code":"TOO_MANY_REQUESTS","message":"Too many requests"}"#,
    );
    assert_eq!(busy.code, ErrorCode::TooManyRequests);
    assert_eq!(busy.code.typical_status(), Some(429));
    assert_eq!(busy.quota_interval(), None);
    let quota = busy.clone().with_payload(json!({"interval": "MIN"}));
    assert_eq!(
        quota.quota_interval(),
        Some(std::time::Duration::from_secs(60))
    );

    // §3.4's documented sample with a payload, and an unknown code.
    let status: ApiError = round_trip(
        r#"{"code":"INAPPROPRIATE_STATUS","message":"This or related resource is in inappropriate status, operation is not allowed","payload":{"appropriate_statuses":["OPEN","CLOSED"]}}"#,
    );
    assert_eq!(status.code, ErrorCode::InappropriateStatus);
    assert_eq!(status.request_id, None);
    let unknown: ApiError =
        round_trip(r#"{"request_id":"r","code":"BRAND_NEW_CODE","message":"m"}"#);
    assert_eq!(unknown.code, ErrorCode::Other("BRAND_NEW_CODE".into()));
    assert!(!unknown.code.is_known());
    assert_eq!(unknown.code.typical_status(), None);
}

#[test]
fn e9_user_skill_and_assignment_exports() {
    let skill: UserSkill = round_trip(
        r#"{"id":"us-1","skill_id":"501","user_id":"w1","value":70,"exact_value":70.0,"created":"2024-04-01T00:00:00","modified":"2024-04-30T12:00:00"}"#,
    );
    assert_eq!(
        (skill.skill_id.as_str(), skill.user_id.as_str()),
        ("501", "w1")
    );
    assert_eq!(skill.value, Some(70));
    assert_eq!(skill.skill_value(), Some(70.0));
    assert_eq!(skill.modified.unwrap().to_string(), "2024-04-30T12:00:00");

    let assignment: Assignment = round_trip(
        r#"{"id":"a-1","task_suite_id":"ts-1","pool_id":"1001","user_id":"w1","status":"ACCEPTED","tasks":[{"id":"t-0001","input_values":{"image":"https://example.test/1.png"}}],"solutions":[{"output_values":{"result":"OK"}}],"created":"2024-05-01T09:00:00","submitted":"2024-05-01T09:01:00","accepted":"2024-05-01T09:01:00"}"#,
    );
    assert_eq!(assignment.status, AssignmentStatus::Accepted);
    let answers: Vec<_> = assignment.answers().collect();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].0.id.as_deref(), Some("t-0001"));
    assert_eq!(answers[0].1.output_values["result"], json!("OK"));
}

#[test]
fn section_6_kit_test_fixtures() {
    let skill: UserSkill = round_trip(
        r#"{"id":"user-skill-i1d","skill_id":"skill-i1d","user_id":"user-i1d","value":85,"exact_value":85.42,"created":"2016-03-25T15:59:08","modified":"2017-03-24T15:59:08"}"#,
    );
    assert_eq!(skill.skill_value(), Some(85.42));

    let assignment: Assignment = round_trip(
        r#"{"id":"assignment-i1d","task_suite_id":"task-suite-i1d","pool_id":"21","user_id":"user-i1d","status":"ACCEPTED","reward":0.05,"tasks":[{"pool_id":"21","input_values":{"image":"http://images.com/1.png"},"origin_task_id":"42"}],"solutions":[{"output_values":{"color":"white","comment":"nice"}}],"created":"2015-12-15T14:52:00","submitted":"2015-12-15T15:10:00","accepted":"2015-12-15T20:00:00"}"#,
    );
    assert_eq!(assignment.reward, Some(0.05));
    assert_eq!(assignment.tasks[0].id, None);
    assert_eq!(assignment.tasks[0].origin_task_id.as_deref(), Some("42"));
}

#[test]
fn unknown_fields_are_tolerated_and_dropped() {
    let operation: Operation = serde_json::from_value(json!({
        "id": "op", "type": "SOLUTION.AGGREGATE", "status": "SUCCESS",
        "submitted": "2022-07-07T12:31:54.862000", "finished": "2022-07-07T12:31:55Z",
        "brand_new": {"x": 1}, "parameters": {"pool_id": 1491600, "algorithm": "DAWID_SKENE"}
    }))
    .unwrap();
    assert_eq!(operation.pool_id().as_deref(), Some("1491600"));
    assert_eq!(
        operation.submitted.to_string(),
        "2022-07-07T12:31:54.862000"
    );
    assert_eq!(
        operation.finished.unwrap().to_string(),
        "2022-07-07T12:31:55"
    );
    assert!(
        serde_json::to_value(&operation)
            .unwrap()
            .get("brand_new")
            .is_none()
    );

    // Unknown operation types and statuses are kept, as toloka-kit does.
    let other: Operation = serde_json::from_value(json!({
        "id": "op", "type": "SOMETHING.NEW", "status": "PAUSED", "submitted": "2024-01-01T00:00:00"
    }))
    .unwrap();
    assert_eq!(
        other.operation_type,
        OperationType::Other("SOMETHING.NEW".into())
    );
    assert_eq!(other.status.as_str(), "PAUSED");
    assert!(!other.is_completed());

    // Requests, solutions, pages and errors ignore extra keys too; bare-number ids are read.
    let request: PoolAggregatedSolutionRequest = serde_json::from_value(json!({
        "type": "WEIGHTED_DYNAMIC_OVERLAP", "pool_id": 1491600, "answer_weight_skill_id": 12648,
        "task_id": "ignored", "fields": [{"name": "result", "extra": 1}]
    }))
    .unwrap();
    assert_eq!(request.target.pool_id, "1491600");
    assert_eq!(
        request.target.answer_weight_skill_id.as_deref(),
        Some("12648")
    );
    let page: SearchPage<AggregatedSolution> = serde_json::from_value(json!({
        "items": [{"pool_id": "1", "task_id": "t", "confidence": 0.5, "output_values": {}, "x": 0}],
        "has_more": false, "cursor": "?"
    }))
    .unwrap();
    assert_eq!(page.items[0].confidence, 0.5);
    let error: ApiError =
        serde_json::from_value(json!({"code": "INTERNAL_ERROR", "message": "m", "trace": []}))
            .unwrap();
    assert_eq!(error.code, ErrorCode::InternalError);
}

#[test]
fn timestamps_in_every_documented_precision() {
    for text in [
        "2023-04-13T16:39:12.422",
        "2016-03-07T15:47:00",
        "2022-07-07T12:31:54.862000",
    ] {
        let parsed: Timestamp = serde_json::from_value(json!(text)).unwrap();
        assert_eq!(serde_json::to_value(parsed).unwrap(), json!(text));
    }
    let bad = serde_json::from_value::<Timestamp>(json!("2024-02-30T00:00:00")).unwrap_err();
    assert!(bad.to_string().contains("no such date"), "{bad}");
}

fn validation_of(body: Value) -> Vec<(String, ValidationCode, String)> {
    let error = PoolAggregatedSolutionRequest::from_json(&body).unwrap_err();
    error
        .fields
        .iter()
        .map(|field| (field.field().to_owned(), field.code(), field.message()))
        .collect()
}

fn problem(field: &str, code: ValidationCode, message: &str) -> (String, ValidationCode, String) {
    (field.to_owned(), code, message.to_owned())
}

#[test]
fn validation_messages() {
    use ValidationCode::*;
    assert_eq!(
        validation_of(
            json!({"type": "WEIGHTED_DYNAMIC_OVERLAP", "pool_id": "1001",
                             "fields": [{"name": "result"}]})
        ),
        vec![problem(
            "answer_weight_skill_id",
            ValueRequired,
            "Value must be present and not equal to null"
        )]
    );
    assert_eq!(
        validation_of(json!({"type": "DAWID_SKENE", "pool_id": " ", "fields": []})),
        vec![
            problem("pool_id", BlankStringNotAllowed, "Value must not be blank"),
            problem(
                "fields",
                ArraySizeLessThanMin,
                "Array size must be at least 1, got 0"
            ),
        ]
    );
    assert_eq!(
        validation_of(json!({"type": "MAJORITY_VOTE", "pool_id": null, "fields": "result"})),
        vec![
            problem(
                "type",
                UnknownEnumValue,
                "Unknown value \"MAJORITY_VOTE\", expected one of: WEIGHTED_DYNAMIC_OVERLAP, DAWID_SKENE"
            ),
            problem(
                "pool_id",
                ValueRequired,
                "Value must be present and not equal to null"
            ),
            problem("fields", ArrayExpected, "Value must be an array"),
        ]
    );
    assert_eq!(
        validation_of(json!({"pool_id": ["1"], "answer_weight_skill_id": "501",
                             "fields": ["result", {"name": 3}, {"name": ""}, {}]})),
        vec![
            problem(
                "type",
                ValueRequired,
                "Value must be present and not equal to null"
            ),
            problem("pool_id", StringExpected, "Value must be a string"),
            problem("fields[0]", ObjectExpected, "Value must be an object"),
            problem("fields[1].name", StringExpected, "Value must be a string"),
            problem(
                "fields[2].name",
                BlankStringNotAllowed,
                "Value must not be blank"
            ),
            problem(
                "fields[3].name",
                ValueRequired,
                "Value must be present and not equal to null"
            ),
        ]
    );
    assert_eq!(
        validation_of(json!(null)),
        vec![problem("", ObjectExpected, "Value must be an object")]
    );

    // DAWID_SKENE ignores the skill, whatever it holds; the parsed request drops it.
    let ds = PoolAggregatedSolutionRequest::from_json(&json!({
        "type": "DAWID_SKENE", "pool_id": "1001", "answer_weight_skill_id": {"odd": true},
        "fields": [{"name": "result"}]
    }))
    .unwrap();
    assert_eq!(
        ds,
        PoolAggregatedSolutionRequest::dawid_skene("1001", "result")
    );

    // By-task requires task_id as well; several problems land in one payload.
    let error = TaskAggregatedSolutionRequest::from_json(&json!({
        "pool_id": "1001", "answer_weight_skill_id": "", "fields": [{"name": "result"}],
        "type": "WEIGHTED_DYNAMIC_OVERLAP"
    }))
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Validation failed: task_id: Value must be present and not equal to null; \
         answer_weight_skill_id: Value must not be blank"
    );
    assert_eq!(
        error.payload(),
        json!({
            "task_id": {"code": "VALUE_REQUIRED", "message": "Value must be present and not equal to null"},
            "answer_weight_skill_id": {"code": "BLANK_STRING_NOT_ALLOWED", "message": "Value must not be blank"}
        })
    );
}

#[test]
fn typed_validation_matches_raw_validation() {
    let mut request =
        TaskAggregatedSolutionRequest::weighted_dynamic_overlap("", "1001", "501", ["a", " "]);
    request.target.answer_weight_skill_id = None;
    let error = request.validate().unwrap_err();
    assert_eq!(
        error,
        ValidationError::new(vec![
            InvalidField::BlankString {
                field: "task_id".into()
            },
            InvalidField::Required {
                field: "answer_weight_skill_id".into()
            },
            InvalidField::BlankString {
                field: "fields[1].name".into()
            },
        ])
    );
    let raw = TaskAggregatedSolutionRequest::from_json(&serde_json::to_value(&request).unwrap());
    assert_eq!(raw, Err(error));
}

#[test]
fn search_query_validation() {
    let error =
        AggregatedSolutionSearchRequest::from_query([("sort", "pool_id"), ("limit", "ten")])
            .unwrap_err();
    let codes: Vec<_> = error.fields.iter().map(InvalidField::code).collect();
    assert_eq!(
        codes,
        vec![
            ValidationCode::UnknownEnumValue,
            ValidationCode::IntegerExpected
        ]
    );

    let zero = AggregatedSolutionSearchRequest::from_query([("limit", "0")]).unwrap_err();
    assert_eq!(
        zero.to_string(),
        "Validation failed: limit: Value must be at least 1, got 0"
    );
    let huge = AggregatedSolutionSearchRequest::from_query([("limit", "100001")]).unwrap_err();
    assert_eq!(
        huge.to_string(),
        "Validation failed: limit: Value must be at most 100000, got 100001"
    );
    let max = AggregatedSolutionSearchRequest::from_query([("limit", "100000"), ("other", "x")]);
    assert_eq!(max.unwrap().effective_limit(), 100_000);
    assert_eq!(
        AggregatedSolutionSearchRequest::default().effective_limit(),
        50
    );

    let descending = AggregatedSolutionSearchRequest::from_query([("sort", "-task_id")]).unwrap();
    assert_eq!(
        descending.next_page("t-0004").task_id.lt.as_deref(),
        Some("t-0004")
    );
    let bounded = AggregatedSolutionSearchRequest {
        task_id: Range {
            gte: Some("t-0002".into()),
            lte: Some("t-0003".into()),
            ..Range::default()
        },
        ..Default::default()
    };
    let kept: Vec<_> = ["t-0001", "t-0002", "t-0003", "t-0004", "t-00025"]
        .into_iter()
        .filter(|id| bounded.matches(id))
        .collect();
    assert_eq!(kept, vec!["t-0002", "t-0003", "t-00025"]);
}
