//! The aggregation endpoints as a trait, so one caller can use Toloka ([`RemoteBackend`],
//! feature `remote`) or exported data on this machine ([`LocalBackend`]) interchangeably
//! (`specs/toloka-api.md` §1.2–1.6, §2).
//!
//! [`RemoteBackend`]: super::RemoteBackend
//! [`LocalBackend`]: super::LocalBackend

use std::time::{Duration, Instant};

use super::error::{ApiError, ErrorCode};
use super::search::{AggregatedSolutionSearchRequest, SearchPage};
use super::types::{
    AggregatedSolution, Operation, PoolAggregatedSolutionRequest, TaskAggregatedSolutionRequest,
};

/// Why a backend call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The service answered with an error body; `error.code` is the typed Toloka code
    /// (toloka-kit picks its exception by it, and so should callers).
    #[error("HTTP {status}: {error}")]
    Api {
        /// The HTTP status of the answer.
        status: u16,
        /// The decoded error body.
        error: ApiError,
    },
    /// A non-2xx answer whose body is not Toloka's error body.
    #[error("HTTP {status} without a Toloka error body: {body}")]
    Http {
        /// The HTTP status of the answer.
        status: u16,
        /// The body as received (for example an HTML page of a proxy).
        body: String,
    },
    /// Connection, timeout or protocol failure (after the retries).
    #[error("transport error: {0}")]
    Transport(String),
    /// A 2xx answer whose body is not what the endpoint returns.
    #[error("unexpected response body: {0}")]
    Decode(String),
    /// [`AggregationBackend::wait_operation`] gave up; `operation` is the last state seen.
    #[error("operation {} still {} after {waited:?}", .operation.id, .operation.status)]
    WaitTimeout {
        /// The operation as last seen (still PENDING or RUNNING).
        operation: Box<Operation>,
        /// How long the wait lasted.
        waited: Duration,
    },
}

impl BackendError {
    /// The broad class of this error, as [`crate::Error::kind`] classifies library errors:
    /// a request that fails validation (or asks for what the data cannot give) is
    /// [`ErrorKind::InvalidValue`](crate::ErrorKind::InvalidValue), an object that does not
    /// exist [`ErrorKind::MissingKey`](crate::ErrorKind::MissingKey), a body that does not
    /// decode [`ErrorKind::WrongType`](crate::ErrorKind::WrongType), a transport failure or a
    /// wait that timed out [`ErrorKind::Io`](crate::ErrorKind::Io).
    pub fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::Api { error, .. } if error.code == ErrorCode::DoesNotExist => {
                ErrorKind::MissingKey
            }
            Self::Api { .. } | Self::Http { .. } => ErrorKind::InvalidValue,
            Self::Decode(_) => ErrorKind::WrongType,
            Self::Transport(_) | Self::WaitTimeout { .. } => ErrorKind::Io,
        }
    }

    /// An API error with the code's usual HTTP status (500 when it has none).
    pub fn api(error: ApiError) -> Self {
        let status = error.code.typical_status().unwrap_or(500);
        Self::Api { status, error }
    }

    /// The Toloka error code, when the service sent one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Api { error, .. } => Some(&error.code),
            _ => None,
        }
    }

    /// The HTTP status, when there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } | Self::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// How [`AggregationBackend::wait_operation`] polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// Pause between polls (toloka-kit: 1 s).
    pub poll_interval: Duration,
    /// Give up after this long (toloka-kit: 10 min).
    pub timeout: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(600),
        }
    }
}

impl WaitOptions {
    /// Polls every `poll_interval` and gives up after `timeout`.
    pub fn new(poll_interval: Duration, timeout: Duration) -> Self {
        Self {
            poll_interval,
            timeout,
        }
    }
}

/// Toloka's aggregation endpoints. The required methods are the HTTP calls; waiting and
/// paging are built on them.
pub trait AggregationBackend {
    /// `POST /aggregated-solutions/aggregate-by-pool`: starts a pool aggregation.
    fn aggregate_by_pool(
        &self,
        request: &PoolAggregatedSolutionRequest,
    ) -> Result<Operation, BackendError>;

    /// `POST /aggregated-solutions/aggregate-by-task`: aggregates one task synchronously.
    fn aggregate_by_task(
        &self,
        request: &TaskAggregatedSolutionRequest,
    ) -> Result<AggregatedSolution, BackendError>;

    /// `GET /operations/{id}`.
    fn get_operation(&self, operation_id: &str) -> Result<Operation, BackendError>;

    /// `GET /aggregated-solutions/{operation_id}`: one page of a finished pool aggregation.
    fn find_aggregated_solutions(
        &self,
        operation_id: &str,
        query: &AggregatedSolutionSearchRequest,
    ) -> Result<SearchPage<AggregatedSolution>, BackendError>;

    /// Polls `operation` until it is SUCCESS or FAIL, as toloka-kit's `wait_operation` does:
    /// no request when it is already completed; FAIL is returned, not raised. Gives up with
    /// [`BackendError::WaitTimeout`] when the next poll would come after the timeout.
    fn wait_operation(
        &self,
        operation: &Operation,
        options: WaitOptions,
    ) -> Result<Operation, BackendError> {
        let start = Instant::now();
        let mut current = operation.clone();
        loop {
            if current.is_completed() {
                return Ok(current);
            }
            if start.elapsed() + options.poll_interval > options.timeout {
                return Err(BackendError::WaitTimeout {
                    operation: Box::new(current),
                    waited: start.elapsed(),
                });
            }
            std::thread::sleep(options.poll_interval);
            current = self.get_operation(&operation.id)?;
        }
    }

    /// Every aggregated solution of an operation in task-id order, fetched page by page
    /// (`sort=task_id`, then `task_id_gt=<last task id>` while `has_more`). `page_size` is the
    /// `limit` of each request (`None`: the service's default).
    fn get_aggregated_solutions<'a>(
        &'a self,
        operation_id: &str,
        page_size: Option<u32>,
    ) -> AggregatedSolutions<'a, Self> {
        AggregatedSolutions {
            backend: self,
            operation_id: operation_id.to_owned(),
            next_query: Some(AggregatedSolutionSearchRequest::first_page(page_size)),
            buffered: Vec::new().into_iter(),
        }
    }
}

/// The iterator of [`AggregationBackend::get_aggregated_solutions`]. After an error it ends.
pub struct AggregatedSolutions<'a, B: AggregationBackend + ?Sized> {
    backend: &'a B,
    operation_id: String,
    /// The query of the next page; `None` once a page said `has_more: false`.
    next_query: Option<AggregatedSolutionSearchRequest>,
    buffered: std::vec::IntoIter<AggregatedSolution>,
}

impl<B: AggregationBackend + ?Sized> Iterator for AggregatedSolutions<'_, B> {
    type Item = Result<AggregatedSolution, BackendError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(solution) = self.buffered.next() {
                return Some(Ok(solution));
            }
            let query = self.next_query.take()?;
            let page = match self
                .backend
                .find_aggregated_solutions(&self.operation_id, &query)
            {
                Ok(page) => page,
                Err(error) => return Some(Err(error)),
            };
            if page.has_more {
                match page.items.last() {
                    Some(last) => self.next_query = Some(query.next_page(&last.task_id)),
                    None => {
                        return Some(Err(BackendError::Decode(
                            "an empty page with has_more = true".into(),
                        )));
                    }
                }
            }
            self.buffered = page.items.into_iter();
        }
    }
}
