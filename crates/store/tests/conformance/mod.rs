//! The store conformance suite (the object_store `integration.rs` pattern): async functions
//! taking a `&Store`, called by `tests/sqlite.rs` and `tests/postgres.rs` so both backends
//! keep the same promises. Each function uses fresh, unique ids, so it can share a
//! database with the others.

pub mod accounts;
pub mod assets;
pub mod idempotency;
pub mod keys;
pub mod ledger;
pub mod outbox;
pub mod properties;
pub mod tasks;
pub mod upgrade;
pub mod usage;

use genmux_core::{Error, ErrorKind};

/// A unique id with a readable prefix.
pub fn uid(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// Asserts `r` failed with `kind`, and returns the error for message checks.
#[track_caller]
pub fn expect_kind<T: std::fmt::Debug>(r: Result<T, Error>, kind: ErrorKind) -> Error {
    match r {
        Ok(v) => panic!("expected a {kind} error, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "wrong kind: {e}");
            e
        }
    }
}

/// Expands to one `#[tokio::test]` per conformance function; `$scratch` is an async fn
/// returning a guard with a `store` field (a fresh database that is removed on drop).
#[macro_export]
macro_rules! conformance_tests {
    ($scratch:path) => {
        $crate::conformance_tests!(@each $scratch;
            tasks::insert_and_get_round_trip,
            tasks::list_by_account_is_newest_first_and_paged,
            tasks::list_filters_by_kind_status_model_and_date,
            tasks::cancelled_is_final,
            tasks::update_follows_the_transition_rule,
            tasks::concurrent_updates_move_a_task_once,
            tasks::find_by_provider_task_and_callback_token,
            tasks::lease_due_reschedule_and_expiry,
            tasks::two_pollers_never_hold_the_same_task,
            tasks::submission_intent_is_retargeted_recorded_or_discarded,
            tasks::insert_with_hold_writes_both_or_neither,
            tasks::settle_commits_every_step_together_or_none,
            tasks::caller_external_id_is_unique_per_account,
            tasks::gauges_see_unfinished_tasks_due_polls_and_pending_callbacks,
            ledger::hold_post_void_move_balances_and_write_entries,
            ledger::hold_larger_than_balance_is_refused_and_writes_nothing,
            ledger::repeated_hold_returns_the_existing_hold,
            ledger::t1_fifty_concurrent_holds_debit_once,
            ledger::post_and_void_racing_resolve_once,
            properties::random_ledger_operations_keep_i1_to_i3,
            idempotency::t1_fifty_concurrent_begins_yield_one_task,
            idempotency::begin_complete_replay_mismatch_abandon_purge,
            keys::create_authenticate_list_revoke,
            keys::failures_are_unauthenticated_and_audited_without_secrets,
            usage::logs_and_summary_by_range_model_and_page,
            outbox::enqueue_lease_reschedule_deliver_give_up,
            outbox::two_deliverers_never_hold_the_same_callback,
            outbox::disabled_endpoints_are_per_account_and_url,
            tasks::upstream_error_is_kept_beside_the_caller_message,
            accounts::create_get_list_and_refuse_twins,
            accounts::top_up_adjust_hold_and_ledger_with_reasons,
            accounts::concurrent_adjustments_never_go_below_zero,
            accounts::create_and_revoke_key_write_both_audit_logs,
            tasks::count_unfinished_counts_what_a_provider_may_run,
            assets::copy_job_is_started_once_leased_retried_and_finished,
            assets::a_copy_lease_is_renewed_only_by_its_holder,
            assets::two_copiers_never_hold_the_same_job,
            assets::expiry_and_stored_bytes_per_account,
        );
    };
    (@each $scratch:path; $($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let scratch = $scratch().await;
                conformance::$module::$name(&scratch.store).await;
            }
        )*
    };
}
