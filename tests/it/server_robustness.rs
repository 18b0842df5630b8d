//! The offline Toloka server under hostile and heavy use, over plain TCP on 127.0.0.1:
//! malformed JSON, wrong types, unknown fields, bodies over the limit (413), unknown ids,
//! concurrent aggregations of one pool, and a bounded load test (every answer checked against
//! `LocalBackend`, resident memory compared before and after).
//!
//! The load test runs `CROWDAGG_LOAD_THREADS` × `CROWDAGG_LOAD_REQUESTS` requests (default
//! 8 × 100) and prints requests/s and latency percentiles; for a measurement run
//! `CROWDAGG_LOAD_REQUESTS=500 cargo test --release --features server --test server_robustness
//! load -- --nocapture`.
// (gated in main.rs: cfg(feature = "server"))

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crowdagg::toloka::server::{DEFAULT_MAX_BODY, Server};
use crowdagg::toloka::{
    AggregationBackend, LocalBackend, PoolAggregatedSolutionRequest, TaskAggregatedSolutionRequest,
};
use serde_json::{Value, json};

fn local() -> LocalBackend {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/toloka");
    LocalBackend::from_dirs(
        &[root.join("pool-1001"), root.join("pool-1002")],
        Some(&root.join("skills-501.csv")),
    )
    .unwrap()
}

fn start(threads: usize) -> Server {
    Server::start(Arc::new(local()), "127.0.0.1:0", threads).unwrap()
}

/// One HTTP/1.1 exchange on a fresh connection: (status, JSON body).
fn call(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: OAuth test\r\nConnection: close\r\n"
    );
    if !body.is_empty() || method == "POST" {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    exchange(addr, &bytes)
}

thread_local! {
    /// Latency of every HTTP exchange of this thread, for the load test's percentiles.
    static LATENCIES: std::cell::RefCell<Vec<Duration>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn exchange(addr: SocketAddr, request: &[u8]) -> (u16, Value) {
    let begin = Instant::now();
    let answer = exchange_timed(addr, request);
    LATENCIES.with(|l| l.borrow_mut().push(begin.elapsed()));
    answer
}

fn exchange_timed(addr: SocketAddr, request: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // The server may answer (413) and close before reading a large body: ignore write errors.
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    parse_response(&answer)
}

fn parse_response(answer: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {head}"));
    let json = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        serde_json::from_str(&dechunk(body)).unwrap()
    } else {
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"))
    };
    (status, json)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

const BY_POOL: &str = "/api/v1/aggregated-solutions/aggregate-by-pool";
const BY_TASK: &str = "/api/v1/aggregated-solutions/aggregate-by-task";

fn wdo_1001() -> PoolAggregatedSolutionRequest {
    PoolAggregatedSolutionRequest::weighted_dynamic_overlap("1001", "501", ["result"])
}

/// Asserts a Toloka error body with this status and code.
fn assert_error(answer: &(u16, Value), status: u16, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["code"], json!(code), "{}", answer.1);
    assert!(answer.1["message"].is_string(), "{}", answer.1);
    assert!(answer.1["request_id"].is_string(), "{}", answer.1);
}

#[test]
fn malformed_json_wrong_types_and_unknown_fields() {
    let server = start(2);
    let addr = server.addr();
    for body in [
        &b"{"[..],
        b"",
        b"null",
        b"[1,2]",
        b"\xff\xfe{}",
        b"{\"type\": \"DAWID_SKENE\", \"pool_id\": \"1001\", \"fields\": [{\"name\": \"result\"}]",
    ] {
        let answer = call(addr, "POST", BY_POOL, body);
        assert_error(&answer, 400, "VALIDATION_ERROR");
    }
    // Wrong JSON types: each bad field is named in the payload.
    let answer = call(
        addr,
        "POST",
        BY_POOL,
        br#"{"type": 7, "pool_id": ["1001"], "fields": "result"}"#,
    );
    assert_error(&answer, 400, "VALIDATION_ERROR");
    for field in ["type", "pool_id", "fields"] {
        assert!(answer.1["payload"][field].is_object(), "{}", answer.1);
    }
    let answer = call(
        addr,
        "POST",
        BY_TASK,
        br#"{"type": "WEIGHTED_DYNAMIC_OVERLAP", "pool_id": "1001", "task_id": {}, "answer_weight_skill_id": "501", "fields": [{"name": "result"}]}"#,
    );
    assert_error(&answer, 400, "VALIDATION_ERROR");
    assert!(answer.1["payload"]["task_id"].is_object(), "{}", answer.1);
    // Unknown fields are ignored, as by the service: the same answer as without them.
    let answer = call(
        addr,
        "POST",
        BY_TASK,
        br#"{"type": "WEIGHTED_DYNAMIC_OVERLAP", "pool_id": "1001", "task_id": "t-0002", "answer_weight_skill_id": "501", "fields": [{"name": "result", "x": 1}], "priority": 5}"#,
    );
    let expected = local()
        .aggregate_by_task(&TaskAggregatedSolutionRequest::weighted_dynamic_overlap(
            "t-0002",
            "1001",
            "501",
            ["result"],
        ))
        .unwrap();
    assert_eq!(answer.0, 201, "{}", answer.1);
    assert_eq!(answer.1, serde_json::to_value(&expected).unwrap());
    server.shutdown();
}

#[test]
fn bodies_over_the_limit_get_413() {
    let server = start(2);
    let addr = server.addr();
    // Declared length over 1 MiB: refused without reading it all.
    let huge = vec![b' '; DEFAULT_MAX_BODY + 1];
    let answer = call(addr, "POST", BY_POOL, &huge);
    assert_error(&answer, 413, "REQUEST_ENTITY_TOO_LARGE");
    // Chunked, so the length is only known while reading: 2 MiB in 64 KiB chunks.
    let mut request = format!(
        "POST {BY_POOL} HTTP/1.1\r\nHost: x\r\nAuthorization: OAuth t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for _ in 0..32 {
        request.extend_from_slice(b"10000\r\n");
        request.extend(std::iter::repeat_n(b' ', 0x10000));
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    assert_error(&exchange(addr, &request), 413, "REQUEST_ENTITY_TOO_LARGE");
    // Exactly at the limit is read (and is not JSON).
    let at_limit = vec![b' '; DEFAULT_MAX_BODY];
    assert_error(
        &call(addr, "POST", BY_POOL, &at_limit),
        400,
        "VALIDATION_ERROR",
    );
    // Still serving.
    let body = serde_json::to_vec(&wdo_1001()).unwrap();
    assert_eq!(call(addr, "POST", BY_POOL, &body).0, 201);
    server.shutdown();

    // The limit is configurable.
    let server = Server::start_with_limit(Arc::new(local()), "127.0.0.1:0", 1, 64).unwrap();
    assert!(body.len() > 64);
    assert_error(
        &call(server.addr(), "POST", BY_POOL, &body),
        413,
        "REQUEST_ENTITY_TOO_LARGE",
    );
    assert_error(
        &call(server.addr(), "POST", BY_POOL, b"{}"),
        400,
        "VALIDATION_ERROR",
    );
    server.shutdown();
}

#[test]
fn unknown_operations_and_odd_ids() {
    let server = start(2);
    let addr = server.addr();
    let long = "x".repeat(10_000);
    for path in [
        "/api/v1/operations/does-not-exist".to_owned(),
        "/api/v1/aggregated-solutions/does-not-exist".to_owned(),
        "/api/v1/operations/%2F..%2F..%2Fetc%2Fpasswd".to_owned(),
        "/api/v1/operations/%00%ff".to_owned(),
        format!("/api/v1/operations/{long}"),
        format!("/api/v1/aggregated-solutions/{long}?limit=5"),
    ] {
        assert_error(&call(addr, "GET", &path, b""), 404, "DOES_NOT_EXIST");
    }
    // Aggregating an unknown pool or task.
    let mut request = wdo_1001();
    request.target.pool_id = "999".into();
    let body = serde_json::to_vec(&request).unwrap();
    assert_error(&call(addr, "POST", BY_POOL, &body), 404, "DOES_NOT_EXIST");
    let task = TaskAggregatedSolutionRequest::weighted_dynamic_overlap(
        "t-9999",
        "1001",
        "501",
        ["result"],
    );
    let body = serde_json::to_vec(&task).unwrap();
    assert_error(&call(addr, "POST", BY_TASK, &body), 404, "DOES_NOT_EXIST");
    server.shutdown();
}

/// Forgotten operations answer 404; the map of operations stays bounded.
#[test]
fn old_operations_are_forgotten() {
    use crowdagg::toloka::LocalOptions;
    let options = LocalOptions {
        max_operations: 2,
        ..LocalOptions::default()
    };
    let backend = local().with_options(options);
    let ids: Vec<String> = (0..3)
        .map(|_| backend.aggregate_by_pool(&wdo_1001()).unwrap().id)
        .collect();
    assert!(backend.get_operation(&ids[0]).is_err());
    assert!(backend.get_operation(&ids[1]).is_ok());
    assert!(backend.get_operation(&ids[2]).is_ok());
}

#[test]
fn concurrent_aggregations_of_one_pool() {
    let server = start(4);
    let addr = server.addr();
    let expected = serde_json::to_value(local().aggregate(&wdo_1001()).unwrap()).unwrap();
    let body = serde_json::to_vec(&wdo_1001()).unwrap();
    let barrier = Barrier::new(8);
    let ids: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let (status, operation) = call(addr, "POST", BY_POOL, &body);
                    assert_eq!(status, 201, "{operation}");
                    let id = operation["id"].as_str().unwrap().to_owned();
                    let (status, done) =
                        call(addr, "GET", &format!("/api/v1/operations/{id}"), b"");
                    assert_eq!((status, &done["status"]), (200, &json!("SUCCESS")));
                    let page = call(
                        addr,
                        "GET",
                        &format!("/api/v1/aggregated-solutions/{id}?limit=100"),
                        b"",
                    );
                    assert_eq!(page.0, 200);
                    assert_eq!(page.1["items"], expected);
                    id
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut distinct = ids.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 8, "operation ids must differ: {ids:?}");
    server.shutdown();
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident memory of this process (the server runs in it) in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// What one request of the mix must answer.
struct Expected {
    pool_1001: Value,
    pool_1002: Value,
    task_t2: Value,
}

/// Request `i` of a client: every endpoint in turn, good and bad. Panics on a wrong answer.
fn one_request(addr: SocketAddr, i: usize, expected: &Expected) {
    let wdo = serde_json::to_vec(&wdo_1001()).unwrap();
    let ds = serde_json::to_vec(&PoolAggregatedSolutionRequest::dawid_skene(
        "1002", "is_cat",
    ))
    .unwrap();
    match i % 7 {
        0 | 1 => {
            let (body, want) = if i.is_multiple_of(7) {
                (&wdo, &expected.pool_1001)
            } else {
                (&ds, &expected.pool_1002)
            };
            let (status, operation) = call(addr, "POST", BY_POOL, body);
            assert_eq!(status, 201, "{operation}");
            let id = operation["id"].as_str().unwrap();
            let (status, done) = call(addr, "GET", &format!("/api/v1/operations/{id}"), b"");
            assert_eq!(
                (status, &done["status"]),
                (200, &json!("SUCCESS")),
                "{done}"
            );
            let (status, page) = call(
                addr,
                "GET",
                &format!("/api/v1/aggregated-solutions/{id}?limit=100"),
                b"",
            );
            assert_eq!(status, 200);
            assert_eq!(&page["items"], want);
        }
        2 => {
            let task = TaskAggregatedSolutionRequest::weighted_dynamic_overlap(
                "t-0002",
                "1001",
                "501",
                ["result"],
            );
            let (status, solution) =
                call(addr, "POST", BY_TASK, &serde_json::to_vec(&task).unwrap());
            assert_eq!(status, 201, "{solution}");
            assert_eq!(solution, expected.task_t2);
        }
        3 => {
            let (status, page) = call(
                addr,
                "GET",
                "/api/v1/operations?limit=5&sort=-submitted",
                b"",
            );
            assert_eq!(status, 200, "{page}");
            assert!(page["items"].as_array().unwrap().len() <= 5);
        }
        4 => assert_error(
            &call(addr, "POST", BY_POOL, b"{\"type\":"),
            400,
            "VALIDATION_ERROR",
        ),
        5 => assert_error(
            &call(addr, "GET", "/api/v1/operations/nope", b""),
            404,
            "DOES_NOT_EXIST",
        ),
        _ => assert_error(
            &call(addr, "DELETE", "/api/v1/operations", b""),
            405,
            "METHOD_NOT_ALLOWED",
        ),
    }
}

/// `threads` clients each running `requests` mix items; returns every HTTP latency.
fn run_clients(
    addr: SocketAddr,
    threads: usize,
    requests: usize,
    expected: &Expected,
) -> Vec<Duration> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    for i in 0..requests {
                        one_request(addr, t + i, expected);
                    }
                    LATENCIES.with(|l| l.take())
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

#[test]
fn load() {
    let threads = env_or("CROWDAGG_LOAD_THREADS", 8);
    let requests = env_or("CROWDAGG_LOAD_REQUESTS", 100);
    let server = start(4);
    let addr = server.addr();
    let backend = local();
    let expected = Expected {
        pool_1001: serde_json::to_value(backend.aggregate(&wdo_1001()).unwrap()).unwrap(),
        pool_1002: serde_json::to_value(
            backend
                .aggregate(&PoolAggregatedSolutionRequest::dawid_skene(
                    "1002", "is_cat",
                ))
                .unwrap(),
        )
        .unwrap(),
        task_t2: serde_json::to_value(
            backend
                .aggregate_by_task(&TaskAggregatedSolutionRequest::weighted_dynamic_overlap(
                    "t-0002",
                    "1001",
                    "501",
                    ["result"],
                ))
                .unwrap(),
        )
        .unwrap(),
    };
    // Warm up with the same concurrency (thread stacks, allocator arenas per thread) before
    // the first memory reading.
    run_clients(addr, threads, 21, &expected);
    let rss_before = rss_kib();
    let start = Instant::now();
    let mut latencies = run_clients(addr, threads, requests, &expected);
    let elapsed = start.elapsed();
    let rss_after = rss_kib();
    server.shutdown();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    // A mix item is 1 to 3 HTTP requests (pool aggregations poll and page); latencies are
    // per HTTP request, each on its own connection.
    println!(
        "load: {threads} threads x {requests} mix items = {} HTTP requests in {elapsed:.2?}: {:.0} requests/s; latency p50 {:.2?}, p99 {:.2?}, max {:.2?}; VmRSS {rss_before} -> {rss_after} KiB",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.5),
        at(0.99),
        at(1.0),
    );
    // At most 1 000 finished operations are kept, a few KiB each: far below this.
    assert!(
        rss_after < rss_before + 64 * 1024,
        "resident memory grew from {rss_before} to {rss_after} KiB"
    );
}
