//! `RemoteBackend` against the offline server on 127.0.0.1 (ephemeral ports), and against
//! small tiny_http test doubles for retries and timeouts. Results must equal `LocalBackend`'s,
//! whose values are checked against the spec's hand calculations in `tests/toloka_local.rs`.
// (gated in main.rs: cfg(all(feature = "remote", feature = "server")))

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crowdagg::toloka::server::Server;
use crowdagg::toloka::{
    AggregationBackend, Auth, BackendError, ErrorCode, LocalBackend, OperationStatus,
    PoolAggregatedSolutionRequest, RemoteBackend, TaskAggregatedSolutionRequest, WaitOptions,
};
use serde_json::json;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/toloka")
}

fn local() -> LocalBackend {
    let root = fixtures();
    LocalBackend::from_dirs(
        &[root.join("pool-1001"), root.join("pool-1002")],
        Some(&root.join("skills-501.csv")),
    )
    .unwrap()
}

fn start() -> (Server, RemoteBackend) {
    let server = Server::start(Arc::new(local()), "127.0.0.1:0", 4).unwrap();
    let remote = RemoteBackend::new(server.url(), Auth::OAuth("test-token".into()))
        .retries(0)
        .timeout(Duration::from_secs(5));
    (server, remote)
}

fn fast_wait() -> WaitOptions {
    WaitOptions::new(Duration::from_millis(10), Duration::from_secs(5))
}

#[test]
fn pool_flow_equals_local() {
    let (server, remote) = start();
    for (pool, field) in [("1001", "result"), ("1002", "is_cat")] {
        let request = PoolAggregatedSolutionRequest::weighted_dynamic_overlap(pool, "501", [field]);
        let operation = remote.aggregate_by_pool(&request).unwrap();
        assert_eq!(operation.status, OperationStatus::Pending);
        let done = remote.wait_operation(&operation, fast_wait()).unwrap();
        assert_eq!(done.status, OperationStatus::Success);
        let solutions: Vec<_> = remote
            .get_aggregated_solutions(&operation.id, None)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(solutions, local().aggregate(&request).unwrap());
    }
    // The worked examples, end to end (spec §4.1 / §7 E3).
    let request =
        PoolAggregatedSolutionRequest::weighted_dynamic_overlap("1001", "501", ["result"]);
    let operation = remote.aggregate_by_pool(&request).unwrap();
    remote.wait_operation(&operation, fast_wait()).unwrap();
    let confidences: Vec<f64> = remote
        .get_aggregated_solutions(&operation.id, Some(1))
        .map(|s| s.unwrap().confidence)
        .collect();
    let expected = [0.63 / 0.645, 0.135 / 0.1775, 0.108 / 0.11225, 0.8];
    assert_eq!(confidences.len(), expected.len());
    for (got, want) in confidences.iter().zip(expected) {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
    server.shutdown();
}

#[test]
fn task_flow_equals_local() {
    let (server, remote) = start();
    for task in ["t-0001", "t-0002", "t-0003", "t-0004"] {
        let request = TaskAggregatedSolutionRequest::weighted_dynamic_overlap(
            task,
            "1001",
            "501",
            ["result"],
        );
        assert_eq!(
            remote.aggregate_by_task(&request).unwrap(),
            local().aggregate_by_task(&request).unwrap()
        );
    }
    let missing = TaskAggregatedSolutionRequest::weighted_dynamic_overlap(
        "t-0005",
        "1001",
        "501",
        ["result"],
    );
    let error = remote.aggregate_by_task(&missing).unwrap_err();
    assert_eq!(
        (error.status(), error.code()),
        (Some(404), Some(&ErrorCode::DoesNotExist))
    );
    server.shutdown();
}

#[test]
fn paging_with_a_small_limit() {
    let (server, remote) = start();
    let request =
        PoolAggregatedSolutionRequest::weighted_dynamic_overlap("1001", "501", ["result"]);
    let operation = remote.aggregate_by_pool(&request).unwrap();
    for limit in [1, 2, 3, 4, 5] {
        let tasks: Vec<String> = remote
            .get_aggregated_solutions(&operation.id, Some(limit))
            .map(|s| s.unwrap().task_id)
            .collect();
        assert_eq!(
            tasks,
            ["t-0001", "t-0002", "t-0003", "t-0004"],
            "limit {limit}"
        );
    }
    server.shutdown();
}

#[test]
fn errors_are_typed_by_code() {
    let (server, remote) = start();
    match remote.get_operation("does-not-exist").unwrap_err() {
        BackendError::Api { status, error } => {
            assert_eq!((status, error.code), (404, ErrorCode::DoesNotExist));
            assert!(error.request_id.is_some());
        }
        other => panic!("{other:?}"),
    }
    let error = remote
        .get_aggregated_solutions("does-not-exist", None)
        .next()
        .unwrap()
        .unwrap_err();
    assert_eq!(error.code(), Some(&ErrorCode::DoesNotExist));
    let mut bad = PoolAggregatedSolutionRequest::dawid_skene("1001", "result");
    bad.target.fields.push(bad.target.fields[0].clone());
    match remote.aggregate_by_pool(&bad).unwrap_err() {
        BackendError::Api { status, error } => {
            assert_eq!(
                (status, error.code.clone()),
                (400, ErrorCode::ValidationError)
            );
            assert_eq!(error.invalid_fields(), ["fields"]);
            assert_eq!(
                error.payload.unwrap()["fields"]["code"],
                json!("ARRAY_SIZE_GREATER_THAN_MAX")
            );
        }
        other => panic!("{other:?}"),
    }
    server.shutdown();
}

/// Sends raw bytes and returns the status line of the answer.
fn raw(server: &Server, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn malformed_requests_and_unknown_paths_do_not_crash_it() {
    let (server, remote) = start();
    let body = b"{\"type\": \"WEIGHTED_DYNAMIC_OVERLAP\", \"pool_id\": ";
    let mut request = format!(
        "POST /api/v1/aggregated-solutions/aggregate-by-pool HTTP/1.1\r\nHost: x\r\nAuthorization: OAuth t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    assert!(raw(&server, &request).contains(" 400 "));
    let unknown = b"GET /api/v2/whatever?x=%zz HTTP/1.1\r\nHost: x\r\nAuthorization: OAuth t\r\nConnection: close\r\n\r\n";
    assert!(raw(&server, unknown).contains(" 404 "));
    let anonymous = b"GET /api/v1/operations HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert!(raw(&server, anonymous).contains(" 401 "));
    let _ = raw(&server, b"\x00\x01garbage\r\n\r\n");
    // Still serving.
    let request =
        PoolAggregatedSolutionRequest::weighted_dynamic_overlap("1002", "501", ["is_cat"]);
    assert!(remote.aggregate_by_pool(&request).is_ok());
    server.shutdown();
}

#[test]
fn concurrent_clients_are_served() {
    let (server, remote) = start();
    let expected = local()
        .aggregate(&PoolAggregatedSolutionRequest::weighted_dynamic_overlap(
            "1001",
            "501",
            ["result"],
        ))
        .unwrap();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..5 {
                    let request = PoolAggregatedSolutionRequest::weighted_dynamic_overlap(
                        "1001",
                        "501",
                        ["result"],
                    );
                    let operation = remote.aggregate_by_pool(&request).unwrap();
                    remote.wait_operation(&operation, fast_wait()).unwrap();
                    let solutions: Vec<_> = remote
                        .get_aggregated_solutions(&operation.id, Some(3))
                        .collect::<Result<_, _>>()
                        .unwrap();
                    assert_eq!(solutions, expected);
                }
            });
        }
    });
    server.shutdown();
}

/// A scripted HTTP server: the n-th request (0-based) gets `answer(n)` = (status, body,
/// headers), after an optional delay. Returns its URL and the request counter.
fn double(
    answer: impl Fn(usize) -> (u16, String, Vec<(&'static str, String)>, Duration) + Send + 'static,
) -> (String, Arc<AtomicUsize>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            let (status, body, headers, delay) = answer(n);
            std::thread::sleep(delay);
            let mut response = tiny_http::Response::from_string(body).with_status_code(status);
            for (name, value) in headers {
                response.add_header(tiny_http::Header::from_bytes(name, value).unwrap());
            }
            let _ = request.respond(response);
        }
    });
    (url, count)
}

const OPERATION: &str = r#"{"id":"op-1","type":"SOLUTION.AGGREGATE","status":"RUNNING","submitted":"2024-05-01T10:00:00.000","parameters":{"pool_id":"1001"}}"#;
const INTERNAL: &str = r#"{"request_id":"r","code":"INTERNAL_ERROR","message":"boom"}"#;

#[test]
fn retries_500_twice_then_succeeds() {
    let (url, count) = double(|n| {
        let (status, body) = if n < 2 {
            (500, INTERNAL)
        } else {
            (200, OPERATION)
        };
        (status, body.to_owned(), Vec::new(), Duration::ZERO)
    });
    let remote = RemoteBackend::new(url, Auth::OAuth("t".into()))
        .backoff(Duration::from_millis(20), Duration::from_secs(1));
    let operation = remote.get_operation("op-1").unwrap();
    assert_eq!(operation.id, "op-1");
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[test]
fn gives_up_after_the_retries_and_does_not_retry_404_or_502() {
    let (url, count) = double(|_| (500, INTERNAL.to_owned(), Vec::new(), Duration::ZERO));
    let remote = RemoteBackend::new(url, Auth::OAuth("t".into()))
        .retries(2)
        .backoff(Duration::ZERO, Duration::ZERO);
    let error = remote.get_operation("op-1").unwrap_err();
    assert_eq!(error.code(), Some(&ErrorCode::InternalError));
    assert_eq!(count.load(Ordering::SeqCst), 3);

    let (url, count) = double(|n| {
        let status = if n == 0 { 502 } else { 404 };
        (
            status,
            "<html>bad gateway</html>".to_owned(),
            Vec::new(),
            Duration::ZERO,
        )
    });
    let remote =
        RemoteBackend::new(url, Auth::OAuth("t".into())).backoff(Duration::ZERO, Duration::ZERO);
    assert!(matches!(
        remote.get_operation("x").unwrap_err(),
        BackendError::Http { status: 502, .. }
    ));
    assert!(matches!(
        remote.get_operation("x").unwrap_err(),
        BackendError::Http { status: 404, .. }
    ));
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[test]
fn honours_retry_after() {
    let (url, count) = double(|n| {
        if n == 0 {
            let busy = r#"{"code":"REMOTE_SERVICE_UNAVAILABLE","message":"busy"}"#;
            (
                503,
                busy.to_owned(),
                vec![("Retry-After", "1".to_owned())],
                Duration::ZERO,
            )
        } else {
            (200, OPERATION.to_owned(), Vec::new(), Duration::ZERO)
        }
    });
    let remote = RemoteBackend::new(url, Auth::ApiKey("k".into()));
    let start = Instant::now();
    remote.get_operation("op-1").unwrap();
    assert!(start.elapsed() >= Duration::from_secs(1));
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[test]
fn request_timeout_is_a_transport_error() {
    let (url, _) = double(|_| {
        (
            200,
            OPERATION.to_owned(),
            Vec::new(),
            Duration::from_secs(3),
        )
    });
    let remote = RemoteBackend::new(url, Auth::OAuth("t".into()))
        .retries(0)
        .timeout(Duration::from_millis(300));
    let start = Instant::now();
    let error = remote.get_operation("op-1").unwrap_err();
    assert!(matches!(error, BackendError::Transport(_)), "{error:?}");
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn wait_operation_times_out() {
    let (url, count) = double(|_| (200, OPERATION.to_owned(), Vec::new(), Duration::ZERO));
    let remote = RemoteBackend::new(url, Auth::OAuth("t".into()));
    let running = remote.get_operation("op-1").unwrap();
    let error = remote
        .wait_operation(
            &running,
            WaitOptions::new(Duration::from_millis(20), Duration::from_millis(150)),
        )
        .unwrap_err();
    match error {
        BackendError::WaitTimeout { operation, .. } => {
            assert_eq!(operation.status, OperationStatus::Running)
        }
        other => panic!("{other:?}"),
    }
    assert!(count.load(Ordering::SeqCst) >= 3);
}
