//! An offline emulator of Toloka's aggregation API over a [`LocalBackend`] (feature
//! `server`): a few threads over tiny_http, serving
//!
//! | method | path | answer |
//! |---|---|---|
//! | POST | `/api/v1/aggregated-solutions/aggregate-by-pool` | 201, an Operation (PENDING; SUCCESS on the first poll) |
//! | POST | `/api/v1/aggregated-solutions/aggregate-by-task` | 201, an AggregatedSolution |
//! | GET | `/api/v1/aggregated-solutions/{operation_id}` | 200, a page; `task_id_lt/lte/gt/gte`, `sort`, `limit` |
//! | GET | `/api/v1/operations/{operation_id}` | 200, an Operation |
//! | GET | `/api/v1/operations` | 200, a page; `type`, `status`, `id_*`, `submitted_*`, `finished_*`, `sort`, `limit` |
//!
//! Errors are Toloka's body `{"request_id", "code", "message", "payload"?}`: 400
//! `VALIDATION_ERROR` (malformed JSON included), 401 `AUTHENTICATION_ERROR` (no
//! `Authorization` header; any token is accepted), 404 `DOES_NOT_EXIST` (unknown path, pool,
//! task or operation), 405 `METHOD_NOT_ALLOWED`, 409 (`EMPTY_POOL`, `UNSUPPORTED_ALGORITHM`,
//! …), 413 `REQUEST_ENTITY_TOO_LARGE` for bodies over the limit ([`DEFAULT_MAX_BODY`], 1 MiB,
//! unless set by [`Server::start_with_limit`]), 500 `INTERNAL_ERROR` if a handler panics. No `Retry-After`
//! is ever sent (toloka-kit 1.2.3 crashes on it, spec §3.3).

use std::io::Read;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use super::backend::{AggregationBackend, BackendError};
use super::error::{ApiError, ErrorCode};
use super::local::LocalBackend;
use super::operation_search::OperationSearchRequest;
use super::search::AggregatedSolutionSearchRequest;
use super::types::{PoolAggregatedSolutionRequest, TaskAggregatedSolutionRequest};

/// The largest request body accepted by default: 1 MiB, far above any aggregation request
/// (a few hundred bytes), so that a client cannot make a thread buffer without bound.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;

/// A running server; dropping it without [`Server::shutdown`] leaves the threads serving.
pub struct Server {
    http: Arc<tiny_http::Server>,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    addr: SocketAddr,
}

impl Server {
    /// Binds `bind` (e.g. `127.0.0.1:0` for an ephemeral port) and serves `backend` from
    /// `threads` threads (at least 1).
    pub fn start(backend: Arc<LocalBackend>, bind: &str, threads: usize) -> std::io::Result<Self> {
        Self::start_with_limit(backend, bind, threads, DEFAULT_MAX_BODY)
    }

    /// Like [`Server::start`], answering 413 to request bodies over `max_body` bytes.
    pub fn start_with_limit(
        backend: Arc<LocalBackend>,
        bind: &str,
        threads: usize,
        max_body: usize,
    ) -> std::io::Result<Self> {
        let http = tiny_http::Server::http(bind).map_err(std::io::Error::other)?;
        let addr = http
            .server_addr()
            .to_ip()
            .ok_or_else(|| std::io::Error::other("not an IP listener"))?;
        let http = Arc::new(http);
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicU64::new(1));
        let workers = (0..threads.max(1))
            .map(|_| {
                let (http, stop) = (Arc::clone(&http), Arc::clone(&stop));
                let (backend, requests) = (Arc::clone(&backend), Arc::clone(&requests));
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        // Wake up now and then to notice `shutdown`.
                        if let Ok(Some(request)) = http.recv_timeout(Duration::from_millis(100)) {
                            serve(&backend, &requests, max_body, request);
                        }
                    }
                })
            })
            .collect();
        Ok(Self {
            http,
            stop,
            workers,
            addr,
        })
    }

    /// The address the server listens on (with the actual port when bound to port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ip:port`, the `url=` of toloka-kit's client or [`RemoteBackend::new`]'s.
    ///
    /// [`RemoteBackend::new`]: super::RemoteBackend::new
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves until the process ends.
    pub fn wait(self) {
        for worker in self.workers {
            let _ = worker.join();
        }
    }

    /// Stops accepting work, finishes requests in progress and joins the threads.
    pub fn shutdown(self) {
        self.stop.store(true, Ordering::Relaxed);
        for _ in &self.workers {
            self.http.unblock();
        }
        for worker in self.workers {
            let _ = worker.join();
        }
    }
}

fn serve(
    backend: &LocalBackend,
    requests: &AtomicU64,
    max_body: usize,
    mut request: tiny_http::Request,
) {
    let request_id = format!(
        "00000000-0000-4000-9000-{:012x}",
        requests.fetch_add(1, Ordering::Relaxed)
    );
    let method = request.method().as_str().to_owned();
    let url = request.url().to_owned();
    let authorized = request
        .headers()
        .iter()
        .any(|h| h.field.equiv("Authorization") && !h.value.as_str().trim().is_empty());
    let mut body = Vec::new();
    let too_large = request.body_length().is_some_and(|n| n > max_body)
        || request
            .as_reader()
            .take(max_body as u64 + 1)
            .read_to_end(&mut body)
            .is_err()
        || body.len() > max_body;
    let (status, json) = if too_large {
        error_body(
            413,
            ApiError::new("REQUEST_ENTITY_TOO_LARGE", "Request body too large"),
        )
    } else if !authorized {
        error_body(
            401,
            ApiError::new(
                ErrorCode::AuthenticationError,
                "Authorization header required (OAuth <token> or ApiKey <key>)",
            ),
        )
    } else {
        catch_unwind(AssertUnwindSafe(|| handle(backend, &method, &url, &body))).unwrap_or_else(
            |_| {
                error_body(
                    500,
                    ApiError::new(ErrorCode::InternalError, "Internal error"),
                )
            },
        )
    };
    let json = match json {
        Value::Object(mut object) if status >= 400 => {
            object.insert("request_id".into(), Value::String(request_id));
            Value::Object(object)
        }
        other => other,
    };
    let text = serde_json::to_string(&json).unwrap_or_else(|_| "{}".into());
    let mut response = tiny_http::Response::from_string(text).with_status_code(status);
    if let Ok(header) = tiny_http::Header::from_bytes("Content-Type", "application/json") {
        response.add_header(header);
    }
    // The client may have gone; nothing to do about it.
    let _ = request.respond(response);
}

/// Answers one request: `(status, JSON body)`. Pure, so it can be tested without sockets.
pub fn handle(backend: &LocalBackend, method: &str, url: &str, body: &[u8]) -> (u16, Value) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let segments: Vec<String> = path
        .trim_end_matches('/')
        .split('/')
        .skip(1)
        .map(percent_decode)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let pairs = query_pairs(query);
    let outcome = match (method, segments.as_slice()) {
        ("POST", ["api", "v1", "aggregated-solutions", "aggregate-by-pool"]) => {
            json_request(body, PoolAggregatedSolutionRequest::from_json)
                .and_then(|r| backend.aggregate_by_pool(&r))
                .map(|op| (201, to_json(&op)))
        }
        ("POST", ["api", "v1", "aggregated-solutions", "aggregate-by-task"]) => {
            json_request(body, TaskAggregatedSolutionRequest::from_json)
                .and_then(|r| backend.aggregate_by_task(&r))
                .map(|solution| (201, to_json(&solution)))
        }
        ("GET", ["api", "v1", "aggregated-solutions", operation_id]) => {
            AggregatedSolutionSearchRequest::from_query(pairs)
                .map_err(|e| BackendError::api(e.to_api_error()))
                .and_then(|query| backend.find_aggregated_solutions(operation_id, &query))
                .map(|page| (200, to_json(&page)))
        }
        ("GET", ["api", "v1", "operations"]) => OperationSearchRequest::from_query(pairs)
            .map_err(|e| BackendError::api(e.to_api_error()))
            .and_then(|query| backend.find_operations(&query))
            .map(|page| (200, to_json(&page))),
        ("GET", ["api", "v1", "operations", operation_id]) => backend
            .get_operation(operation_id)
            .map(|op| (200, to_json(&op))),
        (
            _,
            ["api", "v1", "aggregated-solutions", ..]
            | ["api", "v1", "operations"]
            | ["api", "v1", "operations", _],
        ) => {
            return error_body(
                405,
                ApiError::new(
                    "METHOD_NOT_ALLOWED",
                    format!("{method} is not allowed on {path}"),
                ),
            );
        }
        _ => {
            return error_body(
                404,
                ApiError::new(ErrorCode::DoesNotExist, format!("Unknown path {path}")),
            );
        }
    };
    match outcome {
        Ok(answer) => answer,
        Err(BackendError::Api { status, error }) => error_body(status, error),
        Err(other) => error_body(
            500,
            ApiError::new(ErrorCode::InternalError, other.to_string()),
        ),
    }
}

fn json_request<T>(
    body: &[u8],
    read: impl Fn(&Value) -> Result<T, super::error::ValidationError>,
) -> Result<T, BackendError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        BackendError::api(ApiError::new(
            ErrorCode::ValidationError,
            format!("Malformed JSON body: {e}"),
        ))
    })?;
    read(&value).map_err(|e| BackendError::api(e.to_api_error()))
}

fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn error_body(status: u16, error: ApiError) -> (u16, Value) {
    (status, to_json(&error))
}

/// `application/x-www-form-urlencoded` pairs of a query string.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(&key.replace('+', " ")),
                percent_decode(&value.replace('+', " ")),
            )
        })
        .collect()
}

/// Decodes `%XX` escapes; invalid escapes and invalid UTF-8 are kept as they are / replaced.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("t-0002%2Fx%zz"), "t-0002/x%zz");
        assert_eq!(
            query_pairs("task_id_gt=t+1&sort=-task_id&&limit"),
            [
                ("task_id_gt".to_owned(), "t 1".to_owned()),
                ("sort".into(), "-task_id".into()),
                ("limit".into(), String::new())
            ]
        );
    }

    #[test]
    fn bad_requests_get_toloka_error_bodies() {
        let backend = LocalBackend::new();
        let pool = "/api/v1/aggregated-solutions/aggregate-by-pool";
        /// (method, path, body, status, error code).
        type Case<'a> = (&'a str, &'a str, &'a [u8], u16, Option<&'a str>);
        let cases: [Case<'_>; 4] = [
            ("POST", pool, b"{not json", 400, Some("VALIDATION_ERROR")),
            (
                "GET",
                "/api/v1/nothing/here",
                b"",
                404,
                Some("DOES_NOT_EXIST"),
            ),
            (
                "GET",
                "/api/v1/aggregated-solutions/x?limit=abc",
                b"",
                400,
                Some("VALIDATION_ERROR"),
            ),
            ("GET", "/api/v1/operations?limit=2", b"", 200, None),
        ];
        for (method, path, request, expected_status, code) in cases {
            let (status, body) = handle(&backend, method, path, request);
            assert_eq!(
                (status, body["code"].as_str()),
                (expected_status, code),
                "{path}"
            );
        }
        let (status, body) = handle(
            &backend,
            "POST",
            pool,
            br#"{"type":"WEIGHTED_DYNAMIC_OVERLAP","pool_id":"1"}"#,
        );
        assert_eq!(status, 400);
        assert!(body["payload"]["answer_weight_skill_id"].is_object());
        assert!(body["payload"]["fields"].is_object());
        let (status, _) = handle(&backend, "DELETE", "/api/v1/operations/x", b"");
        assert_eq!(status, 405);
        let (_, body) = handle(&backend, "GET", "/api/v1/operations?limit=2", b"");
        assert_eq!(body["has_more"].as_bool(), Some(false));
    }
}
