//! The bounded queue in front of the blocking pool: store-touching calls
//! run there, at most so many at once, each waiting a bounded time for its
//! turn.

use std::sync::Arc;
use std::time::Duration;

use http::{Response, StatusCode};
use tokio::sync::Semaphore;

use crate::service::api::codes::ErrorCode;
use crate::service::api::http::HttpResponse;
use crate::tower::refusal::{http_response as response, refusal, ResponseBody};

/// Permits of the blocking pool, and how long a call waits for one.
pub(crate) struct Queue {
    permits: Arc<Semaphore>,
    timeout: Duration,
}

impl Queue {
    pub(crate) fn new(permits: usize, timeout: Duration) -> Queue {
        Queue {
            permits: Arc::new(Semaphore::new(permits)),
            timeout,
        }
    }

    /// Runs a store-touching call on the blocking pool, at most `permits`
    /// at once; a call that waits longer than the timeout for its turn is
    /// refused (503, code 6000), so that a slow store turns into quick
    /// refusals, not into a queue that grows forever.
    pub(crate) async fn run<F>(&self, call: F) -> Response<ResponseBody>
    where
        F: FnOnce() -> HttpResponse + Send + 'static,
    {
        let turn = self.permits.clone().acquire_owned();
        let permit = match tokio::time::timeout(self.timeout, turn).await {
            Ok(Ok(permit)) => permit,
            _ => {
                return refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::Internal,
                    "server busy, try again",
                )
            }
        };
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            call()
        });
        match task.await {
            Ok(resp) => response(resp),
            Err(_) => refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "internal error",
            ),
        }
    }
}
