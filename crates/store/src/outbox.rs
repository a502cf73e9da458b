//! Outbound callbacks waiting to be delivered (`design/RELIABILITY.md` "Callbacks",
//! Standard Webhooks): each has a stable `webhook-id`, is leased to one deliverer at a
//! time, and ends delivered or given up (endpoint disabled by a 410, or retries exhausted).

use async_trait::async_trait;
use genmux_core::Result;
use std::time::Duration;
use time::OffsetDateTime;

/// A callback to deliver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDelivery {
    /// The `webhook-id` header value, stable across retries.
    pub webhook_id: String,
    /// The task it reports.
    pub task_id: String,
    /// The account whose endpoint it is.
    pub account_id: String,
    /// Target URL (already SSRF-checked at submit).
    pub url: String,
    /// The exact body to sign and send.
    pub body: Vec<u8>,
    /// First attempt time.
    pub next_attempt_at: OffsetDateTime,
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    /// Waiting for (another) attempt.
    Pending,
    /// A 2xx was received.
    Delivered,
    /// The endpoint answered 410 Gone: no more attempts.
    Disabled,
    /// The retry schedule ran out.
    Exhausted,
}

impl DeliveryState {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Disabled => "disabled",
            DeliveryState::Exhausted => "exhausted",
        }
    }

    /// Parses [`DeliveryState::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => DeliveryState::Pending,
            "delivered" => DeliveryState::Delivered,
            "disabled" => DeliveryState::Disabled,
            "exhausted" => DeliveryState::Exhausted,
            _ => return None,
        })
    }
}

/// Why delivery stopped without success.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GiveUpReason {
    /// 410 Gone.
    Disabled,
    /// No attempts left.
    Exhausted,
}

/// A stored delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Stable `webhook-id`.
    pub webhook_id: String,
    /// The task it reports.
    pub task_id: String,
    /// The account.
    pub account_id: String,
    /// Target URL.
    pub url: String,
    /// Body bytes.
    pub body: Vec<u8>,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made so far (failed ones counted by `reschedule`/`give_up`).
    pub attempts: i64,
    /// Next attempt time while pending.
    pub next_attempt_at: Option<OffsetDateTime>,
    /// The last failure (status code or transport error).
    pub last_error: Option<String>,
    /// The deliverer holding the lease.
    pub lease_owner: Option<String>,
    /// When that lease ends.
    pub lease_expires_at: Option<OffsetDateTime>,
    /// Enqueue time.
    pub created_at: OffsetDateTime,
    /// When it was delivered, disabled or exhausted.
    pub finished_at: Option<OffsetDateTime>,
}

/// A callback endpoint that answered 410 Gone (Standard Webhooks: "the endpoint is
/// disabled"): one callback URL of one account. No delivery to it is attempted until it is
/// enabled again ([`Outbox::enable_endpoint`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisabledEndpoint {
    /// The account whose endpoint it is.
    pub account_id: String,
    /// The callback URL, as the gateway normalizes it.
    pub url: String,
    /// Why it was disabled, for the account and the operator.
    pub reason: String,
    /// The delivery that was answered 410.
    pub webhook_id: Option<String>,
    /// When.
    pub disabled_at: OffsetDateTime,
}

/// The outbound-callback queue.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Queues a delivery. Idempotent on `webhook_id`: enqueueing the same id again returns
    /// the stored delivery and writes nothing.
    async fn enqueue(&self, delivery: NewDelivery) -> Result<Delivery>;

    /// The delivery with this id.
    async fn get(&self, webhook_id: &str) -> Result<Option<Delivery>>;

    /// Leases up to `limit` pending deliveries due at `now` that nobody holds (or whose
    /// lease expired) to `worker_id` for `lease_for`. Never two workers at once.
    async fn lease_due(
        &self,
        worker_id: &str,
        now: OffsetDateTime,
        limit: u32,
        lease_for: Duration,
    ) -> Result<Vec<Delivery>>;

    /// Records a 2xx: the delivery is done. Returns `false` if it was no longer pending.
    async fn mark_delivered(&self, webhook_id: &str, now: OffsetDateTime) -> Result<bool>;

    /// Records a failed attempt by the lease holder and schedules the next one; releases
    /// the lease. Returns `false` (writing nothing) if `worker_id` does not hold the lease.
    async fn reschedule(
        &self,
        webhook_id: &str,
        worker_id: &str,
        next_attempt_at: OffsetDateTime,
        last_error: &str,
    ) -> Result<bool>;

    /// Records a final failed attempt and stops. Returns `false` if it was no longer pending.
    async fn give_up(
        &self,
        webhook_id: &str,
        reason: GiveUpReason,
        last_error: &str,
        now: OffsetDateTime,
    ) -> Result<bool>;

    /// Records that a pending delivery is given up without an attempt because its endpoint
    /// is disabled: state `disabled`, `last_error` = `reason`, attempts unchanged. Returns
    /// `false` if it was no longer pending.
    async fn skip_disabled(
        &self,
        webhook_id: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<bool>;

    /// Disables `endpoint.url` of `endpoint.account_id`. Idempotent: an endpoint already
    /// disabled keeps its first record, which is returned.
    async fn disable_endpoint(&self, endpoint: DisabledEndpoint) -> Result<DisabledEndpoint>;

    /// The record of `url` of `account_id` if that endpoint is disabled.
    async fn disabled_endpoint(
        &self,
        account_id: &str,
        url: &str,
    ) -> Result<Option<DisabledEndpoint>>;

    /// An account's disabled endpoints, most recently disabled first.
    async fn disabled_endpoints(&self, account_id: &str) -> Result<Vec<DisabledEndpoint>>;

    /// Enables `url` of `account_id` again. Returns whether it was disabled.
    async fn enable_endpoint(&self, account_id: &str, url: &str) -> Result<bool>;
}
