//! [`RemoteBackend`]: the aggregation endpoints over HTTP (blocking, ureq), against Toloka or
//! any server speaking its API, such as `crowdagg serve` (`specs/toloka-api.md` §3).

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::backend::{AggregationBackend, BackendError};
use super::error::ApiError;
use super::search::{AggregatedSolutionSearchRequest, SearchPage};
use super::types::{
    AggregatedSolution, Operation, PoolAggregatedSolutionRequest, TaskAggregatedSolutionRequest,
};

/// The `Authorization` header's scheme.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(docsrs, doc(cfg(feature = "remote")))]
#[non_exhaustive]
pub enum Auth {
    /// `Authorization: OAuth <token>` (legacy OAuth tokens).
    OAuth(String),
    /// `Authorization: ApiKey <key>` (current API keys).
    ApiKey(String),
}

impl Auth {
    /// toloka-kit's guess: an API key has exactly two dots, the first at index 22, 23 or 24;
    /// anything else is an OAuth token.
    pub fn detect(token: impl Into<String>) -> Self {
        let token = token.into();
        let dots: Vec<usize> = token.match_indices('.').map(|(i, _)| i).collect();
        if dots.len() == 2 && (22..=24).contains(&dots[0]) {
            Self::ApiKey(token)
        } else {
            Self::OAuth(token)
        }
    }

    fn header_value(&self) -> String {
        match self {
            Self::OAuth(token) => format!("OAuth {token}"),
            Self::ApiKey(key) => format!("ApiKey {key}"),
        }
    }
}

impl std::fmt::Debug for Auth {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OAuth(_) => f.write_str("OAuth(…)"),
            Self::ApiKey(_) => f.write_str("ApiKey(…)"),
        }
    }
}

/// Statuses retried, as toloka-kit does (502 is not among them).
pub const RETRIED_STATUSES: [u16; 5] = [408, 429, 500, 503, 504];

/// The largest response body read (solutions pages may be large).
const BODY_LIMIT: u64 = 1 << 30;

/// A blocking client of Toloka's aggregation endpoints.
///
/// Retries up to `retries` times (default 3) on 408, 429, 500, 503, 504 and on transport
/// errors, for every method (as toloka-kit does). The pause before retry n is 0 for the first
/// and `backoff_factor · 2^(n−1)` after (toloka-kit: 0, 4, 8 s), at most `max_backoff`; a
/// `Retry-After: <seconds>` header, or `payload.interval` of a 429 body, replaces it. Every
/// other non-2xx answer is returned as [`BackendError::Api`] typed by the body's `code`.
#[derive(Debug, Clone)]
#[cfg_attr(docsrs, doc(cfg(feature = "remote")))]
pub struct RemoteBackend {
    /// Root without `/api`, e.g. `https://toloka.dev`.
    root: String,
    auth: Auth,
    timeout: Duration,
    retries: u32,
    backoff_factor: Duration,
    max_backoff: Duration,
    agent: ureq::Agent,
}

impl RemoteBackend {
    /// The root URL of Toloka's production API.
    pub const PRODUCTION: &'static str = "https://toloka.dev";
    /// The root URL of Toloka's sandbox (test) API.
    pub const SANDBOX: &'static str = "https://sandbox.toloka.dev";
    /// Per-request timeout by default (toloka-kit's).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// A client of the server at `url` (scheme, host, port; without `/api`, which is added to
    /// every path; a trailing `/` is ignored).
    pub fn new(url: impl Into<String>, auth: Auth) -> Self {
        let url = url.into();
        let timeout = Self::DEFAULT_TIMEOUT;
        Self {
            root: url.trim_end_matches('/').to_owned(),
            auth,
            timeout,
            retries: 3,
            backoff_factor: Duration::from_secs(2),
            max_backoff: Duration::from_secs(120),
            agent: agent(timeout),
        }
    }

    /// A client of production Toloka ([`Self::PRODUCTION`]).
    pub fn production(auth: Auth) -> Self {
        Self::new(Self::PRODUCTION, auth)
    }

    /// A client of the Toloka sandbox ([`Self::SANDBOX`]).
    pub fn sandbox(auth: Auth) -> Self {
        Self::new(Self::SANDBOX, auth)
    }

    /// Timeout of each request, connection to last byte.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self.agent = agent(timeout);
        self
    }

    /// How many times a failed request is repeated (0: never).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// The backoff factor and the longest pause between retries.
    pub fn backoff(mut self, factor: Duration, max: Duration) -> Self {
        self.backoff_factor = factor;
        self.max_backoff = max;
        self
    }

    /// The server's root URL, without `/api` and without a trailing `/`.
    pub fn url(&self) -> &str {
        &self.root
    }

    /// The pause before retry `n` (1-based) when the server named none.
    fn backoff_before(&self, n: u32) -> Duration {
        if n <= 1 {
            return Duration::ZERO;
        }
        let factor = 2u32.saturating_pow(n - 1);
        self.backoff_factor
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&'static str, String)],
    ) -> Result<T, BackendError> {
        let text = self.send(path, query, None)?;
        decode(&text)
    }

    fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, BackendError> {
        let body = serde_json::to_vec(body).map_err(|e| BackendError::Decode(e.to_string()))?;
        let text = self.send(path, &[], Some(&body))?;
        decode(&text)
    }

    /// One call with retries; returns the body of the 2xx answer.
    fn send(
        &self,
        path: &str,
        query: &[(&'static str, String)],
        body: Option<&[u8]>,
    ) -> Result<String, BackendError> {
        let url = format!("{}/api/v1{path}", self.root);
        let auth = self.auth.header_value();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let pairs = query.iter().map(|(k, v)| (*k, v.as_str()));
            let result = match body {
                Some(bytes) => self
                    .agent
                    .post(&url)
                    .header("Authorization", &auth)
                    .header("Content-Type", "application/json")
                    .query_pairs(pairs)
                    .send(bytes),
                None => self
                    .agent
                    .get(&url)
                    .header("Authorization", &auth)
                    .query_pairs(pairs)
                    .call(),
            };
            let can_retry = attempt <= self.retries;
            let (error, server_wait) = match result {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let text = response
                        .body_mut()
                        .with_config()
                        .limit(BODY_LIMIT)
                        .read_to_string();
                    let text = match text {
                        Ok(text) => text,
                        Err(_) if can_retry => {
                            std::thread::sleep(self.backoff_before(attempt));
                            continue;
                        }
                        Err(e) => return Err(BackendError::Transport(e.to_string())),
                    };
                    if (200..300).contains(&status) {
                        return Ok(text);
                    }
                    let error = error_from(status, text);
                    if !RETRIED_STATUSES.contains(&status) {
                        return Err(error);
                    }
                    let quota = match &error {
                        BackendError::Api { error, .. } => error.quota_interval(),
                        _ => None,
                    };
                    (error, retry_after.or(quota))
                }
                Err(e) => (BackendError::Transport(e.to_string()), None),
            };
            if !can_retry {
                return Err(error);
            }
            std::thread::sleep(server_wait.unwrap_or_else(|| self.backoff_before(attempt)));
        }
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .user_agent(concat!("crowdagg/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

fn decode<T: DeserializeOwned>(text: &str) -> Result<T, BackendError> {
    serde_json::from_str(text).map_err(|e| BackendError::Decode(format!("{e}: {text:.200}")))
}

fn error_from(status: u16, body: String) -> BackendError {
    match serde_json::from_str::<ApiError>(&body) {
        Ok(error) => BackendError::Api { status, error },
        Err(_) => BackendError::Http { status, body },
    }
}

/// Percent-encodes one path segment (ids are usually plain, but need not be).
fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl AggregationBackend for RemoteBackend {
    fn aggregate_by_pool(
        &self,
        request: &PoolAggregatedSolutionRequest,
    ) -> Result<Operation, BackendError> {
        self.post("/aggregated-solutions/aggregate-by-pool", request)
    }

    fn aggregate_by_task(
        &self,
        request: &TaskAggregatedSolutionRequest,
    ) -> Result<AggregatedSolution, BackendError> {
        self.post("/aggregated-solutions/aggregate-by-task", request)
    }

    fn get_operation(&self, operation_id: &str) -> Result<Operation, BackendError> {
        self.get(&format!("/operations/{}", segment(operation_id)), &[])
    }

    fn find_aggregated_solutions(
        &self,
        operation_id: &str,
        query: &AggregatedSolutionSearchRequest,
    ) -> Result<SearchPage<AggregatedSolution>, BackendError> {
        self.get(
            &format!("/aggregated-solutions/{}", segment(operation_id)),
            &query.to_query(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_detection_follows_toloka_kit() {
        let key = format!("{}.{}.{}", "a".repeat(23), "b".repeat(10), "c");
        assert_eq!(Auth::detect(key.clone()), Auth::ApiKey(key));
        assert_eq!(
            Auth::detect("AQAAAAA-token"),
            Auth::OAuth("AQAAAAA-token".into())
        );
        assert_eq!(Auth::OAuth("t".into()).header_value(), "OAuth t");
    }

    #[test]
    fn backoff_is_0_4_8_capped() {
        let remote = RemoteBackend::new("http://127.0.0.1:1/", Auth::OAuth("t".into()));
        assert_eq!(remote.url(), "http://127.0.0.1:1");
        let pauses: Vec<u64> = (1..=8)
            .map(|n| remote.backoff_before(n).as_secs())
            .collect();
        assert_eq!(pauses, [0, 4, 8, 16, 32, 64, 120, 120]);
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(segment("7b0c2f1e-0000"), "7b0c2f1e-0000");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }
}
