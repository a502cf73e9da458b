//! The points ledger: integer balances and two-phase charges (`design/RELIABILITY.md`,
//! TigerBeetle-style pending transfers): **hold** when a task is accepted, then exactly one
//! **post** (success) or **void** (failure, a refund).
//!
//! A balance is the points an account can still spend: a hold takes points out at once,
//! a void puts them back, a post keeps them. Every movement is an entry whose `amount` is
//! the signed change, so I1 (balance = sum of entries, never < 0) can be checked by anyone.

use async_trait::async_trait;
use genmux_core::Result;
use time::OffsetDateTime;

/// Largest balance and largest single movement: 10^15 points keeps every sum of balances
/// and refunds far from `i64` overflow.
pub const MAX_POINTS: i64 = 1_000_000_000_000_000;

/// Where a hold stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HoldState {
    /// Points taken from the balance, outcome pending.
    Held,
    /// Charged for good (the task succeeded).
    Posted,
    /// Refunded (the task failed).
    Voided,
}

impl HoldState {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            HoldState::Held => "held",
            HoldState::Posted => "posted",
            HoldState::Voided => "voided",
        }
    }

    /// Parses [`HoldState::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "held" => HoldState::Held,
            "posted" => HoldState::Posted,
            "voided" => HoldState::Voided,
            _ => return None,
        })
    }
}

/// A two-phase charge for one task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    /// The task it pays for (at most one hold per task: I2).
    pub task_id: String,
    /// The paying account.
    pub account_id: String,
    /// Points held (the quote: I3).
    pub points: i64,
    /// Where it stands.
    pub state: HoldState,
    /// When it was placed.
    pub created_at: OffsetDateTime,
    /// When it was posted or voided.
    pub resolved_at: Option<OffsetDateTime>,
}

/// What [`Ledger::hold`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldOutcome {
    /// The hold for the task.
    pub hold: Hold,
    /// `true` if this call placed it; `false` if it already existed (nothing was written).
    pub created: bool,
}

/// What [`Ledger::post`] or [`Ledger::void`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// This call resolved the hold; `hold.state` is the new state.
    Applied(Hold),
    /// An earlier call had resolved it; nothing was written. `hold.state` says how
    /// (a `void` after a `post` does not refund).
    AlreadyResolved(Hold),
}

impl Resolution {
    /// The hold after the call.
    pub fn hold(&self) -> &Hold {
        match self {
            Resolution::Applied(h) | Resolution::AlreadyResolved(h) => h,
        }
    }

    /// Whether this call did the resolving.
    pub fn applied(&self) -> bool {
        matches!(self, Resolution::Applied(_))
    }
}

/// Why a ledger entry was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// Points added to the account.
    TopUp,
    /// Points taken for a pending task (negative amount).
    Hold,
    /// A hold charged for good (amount 0: the points already left the balance).
    Post,
    /// A hold refunded (positive amount).
    Void,
    /// An operator's correction, either way, with a reason (issue 13 point 4); never takes a
    /// balance below zero.
    Adjust,
}

impl EntryKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::TopUp => "top_up",
            EntryKind::Hold => "hold",
            EntryKind::Post => "post",
            EntryKind::Void => "void",
            EntryKind::Adjust => "adjust",
        }
    }

    /// Parses [`EntryKind::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "top_up" => EntryKind::TopUp,
            "hold" => EntryKind::Hold,
            "post" => EntryKind::Post,
            "void" => EntryKind::Void,
            "adjust" => EntryKind::Adjust,
            _ => return None,
        })
    }
}

/// One movement of points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Increasing id: entries of an account in id order replay its balance.
    pub id: i64,
    /// The account.
    pub account_id: String,
    /// The task, for hold/post/void.
    pub task_id: Option<String>,
    /// Why.
    pub kind: EntryKind,
    /// Signed change of the balance.
    pub amount: i64,
    /// The balance right after this entry.
    pub balance_after: i64,
    /// Why, as the operator wrote it (top-ups and adjustments made through
    /// [`crate::AccountStore`]; `None` for holds, posts, voids and internal top-ups).
    pub reason: Option<String>,
    /// When.
    pub created_at: OffsetDateTime,
}

/// Account balances and two-phase charges.
#[async_trait]
pub trait Ledger: Send + Sync {
    /// Creates an account with a zero balance; does nothing if it exists. The id must pass
    /// [`crate::check_account_id`] (`InvalidRequest` otherwise). Writes no audit row: the
    /// operator API uses [`crate::AccountStore::create`].
    async fn create_account(&self, account_id: &str) -> Result<()>;

    /// Adds `points` (> 0) to an existing account; returns the new balance. A missing
    /// account is `NotFound`; a balance that would exceed `i64::MAX` is `InvalidRequest`.
    async fn top_up(&self, account_id: &str, points: i64) -> Result<i64>;

    /// Takes `points` (≥ 0) from the account for `task_id`, atomically. Fails with
    /// `InsufficientPoints` (and writes nothing) if the balance is smaller; never lets a
    /// balance go negative. A second hold for the same task returns the existing hold with
    /// `created: false`; one with a different account or amount is a `Conflict`.
    async fn hold(&self, account_id: &str, task_id: &str, points: i64) -> Result<HoldOutcome>;

    /// Charges the task's hold for good. Resolves a hold at most once: a repeat, or a post
    /// after a void, returns [`Resolution::AlreadyResolved`]. No hold is `NotFound`.
    async fn post(&self, task_id: &str) -> Result<Resolution>;

    /// Refunds the task's hold. Same once-only rule as [`Ledger::post`].
    async fn void(&self, task_id: &str) -> Result<Resolution>;

    /// The task's hold, if any.
    async fn get_hold(&self, task_id: &str) -> Result<Option<Hold>>;

    /// Holds still `held` that were placed more than `older_than` ago (by the store's clock,
    /// which stamped them) and whose task was never
    /// recorded (the process died between the hold and the task row: R4), oldest first, at
    /// most `limit`. The caller voids them: nothing upstream can be billed for them.
    async fn orphan_holds(&self, older_than: std::time::Duration, limit: u32) -> Result<Vec<Hold>>;

    /// The account's spendable balance; a missing account is `NotFound`.
    async fn balance(&self, account_id: &str) -> Result<i64>;

    /// The account's entries, oldest first.
    async fn entries(&self, account_id: &str) -> Result<Vec<LedgerEntry>>;
}
