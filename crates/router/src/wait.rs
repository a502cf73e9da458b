//! `Router::wait`: polls a task until it finishes, with capped exponential backoff and
//! jitter, honouring the provider's hints (its time estimate and `Retry-After`).

use crate::retry::backoff;
use crate::router::{Router, TaskHandle};
use genmux_core::{Error, ErrorKind, Result, TaskSnapshot, TaskStatus};
use std::time::Duration;

/// How [`Router::wait`] polls.
///
/// Defaults: give up after 30 minutes; first poll after 2 s (or the provider's estimate, if
/// longer, up to the longest interval); intervals double up to 30 s, with jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitOptions {
    /// Overall deadline; `Timeout` after it (the task keeps running upstream).
    pub timeout: Duration,
    /// The first interval.
    pub initial_interval: Duration,
    /// The longest interval.
    pub max_interval: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::from_secs(30 * 60),
            initial_interval: Duration::from_secs(2),
            max_interval: Duration::from_secs(30),
        }
    }
}

impl Router {
    /// Polls `handle`'s task on the provider that created it until it succeeds or fails,
    /// then gives back its in-flight slot. Retryable query errors are retried (after at
    /// least their `Retry-After`); others are returned.
    ///
    /// A task whose acceptance is unknown and whose upstream id was never learnt cannot be
    /// polled: its `unknown` snapshot is returned at once, naming the `externalTaskId` to
    /// reconcile it by.
    pub async fn wait(&self, handle: &TaskHandle, options: WaitOptions) -> Result<TaskSnapshot> {
        if handle.task.provider_task_id.is_empty() {
            return Ok(TaskSnapshot {
                provider_task_id: String::new(),
                status: TaskStatus::Unknown,
                assets: Vec::new(),
                error: Some(format!(
                    "the submission to {} may or may not have been accepted; find it with Router::find_unknown by external id `{}`",
                    handle.task.provider, handle.external_id
                )),
                usage: None,
                billed_usd_micros: None,
            });
        }
        let deadline = tokio::time::Instant::now() + options.timeout;
        let estimate = handle
            .estimated_time_sec
            .map(|s| Duration::from_secs(u64::from(s)))
            .unwrap_or_default();
        // The provider's estimate is a hint for the first poll, not a promise: never wait
        // longer than the longest interval.
        let mut delay = options
            .initial_interval
            .max(estimate.min(options.max_interval));
        // The offering's least interval between polls (spec/upstreams.md, Runway: "no more
        // than every 5 s") bounds every wait from below.
        let min_interval = self
            .polling(&handle.task.provider, &handle.task.model)
            .min_interval();
        delay = delay.max(min_interval);
        let mut polls = 0u32;
        let mut last: Option<TaskStatus> = None;
        loop {
            let now = tokio::time::Instant::now();
            if now + delay > deadline {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "task {} on {} did not finish within {} s (last status: {})",
                        handle.task.provider_task_id,
                        handle.task.provider,
                        options.timeout.as_secs(),
                        last.map_or("none", TaskStatus::as_str)
                    ),
                )
                .with_provider(handle.task.provider.clone()));
            }
            tokio::time::sleep(delay).await;
            polls += 1;
            let next = backoff(options.initial_interval, options.max_interval, polls);
            match self.status(&handle.task).await {
                Ok(snapshot) if snapshot.status.is_final() => {
                    if handle.release_once() {
                        self.task_finished(&handle.task.provider);
                    }
                    return Ok(snapshot);
                }
                Ok(snapshot) => {
                    last = Some(snapshot.status);
                    delay = next.max(min_interval);
                }
                Err(e) if e.is_retryable() => {
                    delay = next
                        .max(e.retry_after().unwrap_or_default())
                        .max(min_interval);
                }
                Err(e) => return Err(e),
            }
        }
    }
}
