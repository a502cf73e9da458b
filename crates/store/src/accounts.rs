//! Accounts as an operator manages them (issue 13 point 4): create, list and show accounts
//! with their balances, top up and adjust them with a reason, read their ledgers, and create
//! keys for them — every change written together with an audit row naming who made it.
//!
//! Account ids have one documented form, checked wherever an id comes in
//! ([`check_account_id`]): 1–63 characters of lowercase `a`–`z`, `0`–`9`, `_` and `-`,
//! starting with a letter or digit. Lowercase only, so no two ids differ by case or by
//! whitespace (issue 13 point 10: `DEFAULT` and `default ` were accepted as new accounts).

use crate::keys::{CreatedKey, NewKey};
use crate::ledger::{LedgerEntry, MAX_POINTS};
use crate::task::Page;
use async_trait::async_trait;
use genmux_core::{Error, Result};
use time::OffsetDateTime;

/// Longest account id, in characters.
pub const ACCOUNT_ID_MAX_CHARS: usize = 63;

/// What an account id may be, as error messages and docs say it.
pub const ACCOUNT_ID_RULE: &str = "1–63 characters: lowercase letters a–z, digits 0–9, `_` and \
    `-`, starting with a letter or digit";

/// Longest reason of a top-up or adjustment, in characters.
pub const REASON_MAX_CHARS: usize = 500;

/// At most this many characters of a refused value are quoted back in an error.
const QUOTED_CHARS: usize = 40;

/// `value` quoted for an error message: escaped (control characters, quotes and non-ASCII
/// visible as escapes) and cut to `QUOTED_CHARS` (40) characters, with its length when cut.
pub fn quote_value(value: &str) -> String {
    let n = value.chars().count();
    if n <= QUOTED_CHARS {
        return format!("{}", value.escape_debug()).replace('`', "\\`");
    }
    let head: String = value.chars().take(QUOTED_CHARS).collect();
    format!("{}… ({n} characters)", head.escape_debug()).replace('`', "\\`")
}

/// Whether `id` is a well-formed account id (see [`ACCOUNT_ID_RULE`]).
pub fn is_valid_account_id(id: &str) -> bool {
    let b = id.as_bytes();
    let allowed = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-';
    !b.is_empty()
        && b.len() <= ACCOUNT_ID_MAX_CHARS
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(allowed)
}

/// Checks an account id that came in as `field` (`accountId`, a path segment, a flag):
/// `InvalidRequest` naming the field, the value (escaped, cut) and what is allowed.
pub fn check_account_id(field: &str, id: &str) -> Result<()> {
    if is_valid_account_id(id) {
        return Ok(());
    }
    let hint = if id.chars().any(|c| c.is_uppercase()) && is_valid_account_id(&id.to_lowercase()) {
        " (ids are lowercase)"
    } else if id.trim() != id {
        " (no leading or trailing whitespace)"
    } else {
        ""
    };
    Err(Error::invalid(format!(
        "{field}: `{}` is not an account id{hint}; allowed: {ACCOUNT_ID_RULE}",
        quote_value(id)
    )))
}

/// Checks the reason of a top-up or adjustment: not blank, at most [`REASON_MAX_CHARS`]
/// characters, no control characters (it is shown in tables and logs).
pub fn check_reason(field: &str, reason: &str) -> Result<()> {
    let n = reason.chars().count();
    let problem = if reason.trim().is_empty() {
        Some("is blank".to_string())
    } else if n > REASON_MAX_CHARS {
        Some(format!("has {n} characters"))
    } else {
        reason
            .chars()
            .position(char::is_control)
            .map(|i| format!("has a control character at position {i}"))
    };
    match problem {
        None => Ok(()),
        Some(p) => Err(Error::invalid(format!(
            "{field}: `{}` {p}; allowed: 1–{REASON_MAX_CHARS} characters of text, not blank, \
             no control characters",
            quote_value(reason)
        ))),
    }
}

/// Checks the points of a top-up: 1 to [`MAX_POINTS`].
pub fn check_top_up_points(field: &str, points: i64) -> Result<()> {
    if !(1..=MAX_POINTS).contains(&points) {
        return Err(Error::invalid(format!(
            "{field}: {points} is not allowed for a top-up; allowed: 1–{MAX_POINTS}"
        )));
    }
    Ok(())
}

/// Checks the points of an adjustment: non-zero, at most [`MAX_POINTS`] either way.
pub fn check_adjust_points(field: &str, points: i64) -> Result<()> {
    if points == 0 || !(-MAX_POINTS..=MAX_POINTS).contains(&points) {
        return Err(Error::invalid(format!(
            "{field}: {points} is not allowed for an adjustment; allowed: a non-zero whole \
             number from -{MAX_POINTS} to {MAX_POINTS}"
        )));
    }
    Ok(())
}

/// An account and its points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The id.
    pub id: String,
    /// Points it can still spend (holds of running tasks are already taken out).
    pub balance: i64,
    /// Points held for tasks still running: charged for good on success, back to the
    /// balance on failure.
    pub held_points: i64,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// One page of accounts, by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountPage {
    /// This page's accounts.
    pub accounts: Vec<Account>,
    /// Accounts over all pages.
    pub total: u64,
}

/// One page of an account's ledger entries, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryPage {
    /// This page's entries.
    pub entries: Vec<LedgerEntry>,
    /// The account's entries over all pages.
    pub total: u64,
}

/// Who made a change: the API key (and its account) that asked, or the gateway itself
/// (both `None`: first-start bootstrap).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actor {
    /// The key that asked.
    pub key_id: Option<String>,
    /// That key's account.
    pub account_id: Option<String>,
}

impl Actor {
    /// A change made with `key`.
    pub fn key(key: &crate::ApiKey) -> Actor {
        Actor {
            key_id: Some(key.id.clone()),
            account_id: Some(key.account_id.clone()),
        }
    }

    /// A change the gateway made by itself.
    pub fn system() -> Actor {
        Actor::default()
    }
}

/// What an account audit row records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccountAuditAction {
    /// The account was created.
    Created,
    /// Points were added.
    TopUp,
    /// Points were added or taken by an adjustment.
    Adjust,
    /// A key was created for the account.
    KeyCreated,
    /// A key of the account was revoked.
    KeyRevoked,
    /// The gateway voided the hold of a task whose submission outcome stayed unknown until
    /// the operator deadline (issue 13, X4): the provider may still bill it.
    UnknownVoided,
}

impl AccountAuditAction {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountAuditAction::Created => "account_created",
            AccountAuditAction::TopUp => "top_up",
            AccountAuditAction::Adjust => "adjust",
            AccountAuditAction::KeyCreated => "key_created",
            AccountAuditAction::KeyRevoked => "key_revoked",
            AccountAuditAction::UnknownVoided => "unknown_voided",
        }
    }

    /// Parses [`AccountAuditAction::as_str`] output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "account_created" => AccountAuditAction::Created,
            "top_up" => AccountAuditAction::TopUp,
            "adjust" => AccountAuditAction::Adjust,
            "key_created" => AccountAuditAction::KeyCreated,
            "key_revoked" => AccountAuditAction::KeyRevoked,
            "unknown_voided" => AccountAuditAction::UnknownVoided,
            _ => return None,
        })
    }
}

/// One account audit row (append-only; never a secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountAuditEvent {
    /// Increasing id.
    pub id: i64,
    /// What happened.
    pub action: AccountAuditAction,
    /// The account it happened to.
    pub account_id: String,
    /// Who did it (see [`Actor`]).
    pub actor: Actor,
    /// Points moved (top-up, adjust).
    pub points: Option<i64>,
    /// The balance right after (top-up, adjust).
    pub balance_after: Option<i64>,
    /// The ledger entry written (top-up, adjust).
    pub ledger_entry_id: Option<i64>,
    /// The operator's reason (top-up, adjust).
    pub reason: Option<String>,
    /// Details, e.g. the key id and scopes of a created key.
    pub detail: String,
    /// When.
    pub created_at: OffsetDateTime,
}

/// Accounts as an operator manages them. Every change commits together with its
/// [`AccountAuditEvent`], or not at all.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates an account with a zero balance. The id must pass [`check_account_id`]
    /// (`InvalidRequest`); an existing account is a `Conflict` naming it.
    async fn create(&self, account_id: &str, actor: &Actor) -> Result<Account>;

    /// The account, with its balance and held points.
    async fn get(&self, account_id: &str) -> Result<Option<Account>>;

    /// Accounts by id, one page.
    async fn list(&self, page: Page) -> Result<AccountPage>;

    /// Adds `points` (1 to [`MAX_POINTS`]) with a reason ([`check_reason`]); returns the
    /// `top_up` entry. A missing account is `NotFound`; a balance that would pass
    /// [`MAX_POINTS`] is `InvalidRequest`.
    async fn top_up(
        &self,
        account_id: &str,
        points: i64,
        reason: &str,
        actor: &Actor,
    ) -> Result<LedgerEntry>;

    /// Adds (positive) or takes (negative) `points`, non-zero, with a reason; returns the
    /// `adjust` entry. Never takes a balance below zero: that is a `Conflict` naming the
    /// balance, and nothing is written. A missing account is `NotFound`.
    async fn adjust(
        &self,
        account_id: &str,
        points: i64,
        reason: &str,
        actor: &Actor,
    ) -> Result<LedgerEntry>;

    /// The account's ledger entries, newest first, one page. A missing account is
    /// `NotFound`.
    async fn entries(&self, account_id: &str, page: Page) -> Result<EntryPage>;

    /// Creates a key like [`crate::KeyStore::create`] (its `created` key audit row
    /// included) and, in the same transaction, a `key_created` account audit row naming
    /// `actor`.
    async fn create_key(&self, new: NewKey, actor: &Actor) -> Result<CreatedKey>;

    /// Revokes a key like [`crate::KeyStore::revoke`] (its `revoked` key audit row and
    /// announcement included) and, in the same transaction, writes a `key_revoked` account
    /// audit row naming `actor`. `false` if it was revoked already; an unknown id is
    /// `NotFound`.
    async fn revoke_key(&self, key_id: &str, actor: &Actor) -> Result<bool>;

    /// Account audit rows, oldest first; for one account, or all when `None`.
    async fn audit_log(&self, account_id: Option<&str>) -> Result<Vec<AccountAuditEvent>>;

    /// Records, by the gateway itself, that the hold of `task_id` (`points`) was voided at
    /// the operator deadline while its submission's outcome was still unknown (X4).
    async fn record_unknown_voided(
        &self,
        account_id: &str,
        task_id: &str,
        points: i64,
        detail: &str,
    ) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_have_one_lowercase_form() {
        for ok in ["default", "a", "acct_1", "team-7", "0", &"a".repeat(63)] {
            assert!(is_valid_account_id(ok), "{ok}");
            check_account_id("accountId", ok).unwrap();
        }
        for bad in [
            "",
            "DEFAULT",
            "Default",
            "default ",
            " default",
            "a\u{0}b",
            "_a",
            "-a",
            "a.b",
            "a/b",
            "é",
            &"a".repeat(64),
            &"x".repeat(5000),
        ] {
            assert!(!is_valid_account_id(bad), "{bad:?}");
            let e = check_account_id("accountId", bad).unwrap_err();
            let m = e.message();
            assert!(m.starts_with("accountId: `"), "{m}");
            assert!(m.contains("allowed: 1–63 characters"), "{m}");
            assert!(m.chars().count() < 300, "the value is cut: {m}");
        }
        let m = check_account_id("accountId", "DEFAULT").unwrap_err();
        assert!(m.message().contains("`DEFAULT`") && m.message().contains("lowercase"));
        let m = check_account_id("accountId", "default ").unwrap_err();
        assert!(m.message().contains("`default `") && m.message().contains("whitespace"));
        let m = check_account_id("accountId", "a\u{0}b").unwrap_err();
        assert!(m.message().contains(r"`a\0b`"), "{}", m.message());
        let m = check_account_id("accountId", &"x".repeat(5000)).unwrap_err();
        assert!(m.message().contains("(5000 characters)"), "{}", m.message());
    }

    #[test]
    fn reasons_and_points_are_bounded() {
        check_reason("reason", "goodwill credit for ticket #12").unwrap();
        for bad in ["", "   ", "a\nb", &"r".repeat(501)] {
            let e = check_reason("reason", bad).unwrap_err();
            assert!(e.message().starts_with("reason: `"), "{}", e.message());
            assert!(e.message().contains("allowed: 1–500"), "{}", e.message());
        }
        check_top_up_points("points", 1).unwrap();
        check_top_up_points("points", MAX_POINTS).unwrap();
        for bad in [0, -1, MAX_POINTS + 1, i64::MAX, i64::MIN] {
            let e = check_top_up_points("points", bad).unwrap_err();
            assert!(e.message().starts_with(&format!("points: {bad} ")));
        }
        check_adjust_points("points", -5).unwrap();
        check_adjust_points("points", -MAX_POINTS).unwrap();
        for bad in [0, MAX_POINTS + 1, -MAX_POINTS - 1, i64::MIN, i64::MAX] {
            let e = check_adjust_points("points", bad).unwrap_err();
            assert!(e.message().starts_with(&format!("points: {bad} ")));
        }
    }
}
