//! A property test of random ledger operations against a model: after every step I1
//! (balance = sum of entries, never < 0), I2 (≤ 1 hold per task, ≤ 1 post-or-void) and
//! I3 (posted = held = quoted) hold, and every answer matches the model's.

use super::uid;
use genmux_core::ErrorKind;
use genmux_store::{EntryKind, HoldState, Store};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::collections::HashMap;

const ACCOUNTS: usize = 2;
const TASKS: usize = 5;

#[derive(Clone, Debug)]
enum Op {
    TopUp(usize, i64),
    Hold(usize, usize, i64),
    Post(usize),
    Void(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..ACCOUNTS, 1i64..300).prop_map(|(a, p)| Op::TopUp(a, p)),
        (0..ACCOUNTS, 0..TASKS, 0i64..250).prop_map(|(a, t, p)| Op::Hold(a, t, p)),
        (0..TASKS).prop_map(Op::Post),
        (0..TASKS).prop_map(Op::Void),
    ]
}

#[derive(Default)]
struct Model {
    balance: [i64; ACCOUNTS],
    holds: HashMap<usize, (usize, i64, HoldState)>,
}

async fn run_case(store: &Store, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let accounts: Vec<String> = (0..ACCOUNTS).map(|_| uid("prop")).collect();
    let tasks: Vec<String> = (0..TASKS).map(|_| uid("ptask")).collect();
    for a in &accounts {
        store.ledger.create_account(a).await.unwrap();
    }
    let mut m = Model::default();
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::TopUp(a, p) => {
                let b = store.ledger.top_up(&accounts[a], p).await.unwrap();
                m.balance[a] += p;
                prop_assert_eq!(b, m.balance[a], "step {}: {:?}", step, op);
            }
            Op::Hold(a, t, p) => {
                let got = store.ledger.hold(&accounts[a], &tasks[t], p).await;
                match m.holds.get(&t).copied() {
                    Some((ha, hp, _)) if ha == a && hp == p => {
                        prop_assert!(!got.unwrap().created, "step {}: repeat hold", step);
                    }
                    Some(_) => {
                        prop_assert_eq!(got.map(|_| ()).unwrap_err().kind(), ErrorKind::Conflict);
                    }
                    None if m.balance[a] < p => {
                        let e = got.map(|_| ()).unwrap_err();
                        prop_assert_eq!(e.kind(), ErrorKind::InsufficientPoints, "step {}", step);
                    }
                    None => {
                        prop_assert!(got.unwrap().created, "step {}: new hold", step);
                        m.balance[a] -= p;
                        m.holds.insert(t, (a, p, HoldState::Held));
                    }
                }
            }
            Op::Post(t) | Op::Void(t) => {
                let (to, got) = match *op {
                    Op::Post(_) => (HoldState::Posted, store.ledger.post(&tasks[t]).await),
                    _ => (HoldState::Voided, store.ledger.void(&tasks[t]).await),
                };
                match m.holds.get_mut(&t) {
                    None => prop_assert_eq!(got.unwrap_err().kind(), ErrorKind::NotFound),
                    Some((a, p, state)) => {
                        let r = got.unwrap();
                        if *state == HoldState::Held {
                            prop_assert!(r.applied(), "step {}: first resolution applies", step);
                            *state = to;
                            if to == HoldState::Voided {
                                m.balance[*a] += *p;
                            }
                        } else {
                            prop_assert!(!r.applied(), "step {}: resolved twice", step);
                        }
                        prop_assert_eq!(r.hold().state, *state);
                    }
                }
            }
        }
        check_invariants(store, &accounts, &tasks, &m, step).await?;
    }
    Ok(())
}

async fn check_invariants(
    store: &Store,
    accounts: &[String],
    tasks: &[String],
    m: &Model,
    step: usize,
) -> Result<(), TestCaseError> {
    for (i, a) in accounts.iter().enumerate() {
        let balance = store.ledger.balance(a).await.unwrap();
        prop_assert_eq!(
            balance,
            m.balance[i],
            "step {}: balance of account {}",
            step,
            i
        );
        let entries = store.ledger.entries(a).await.unwrap();
        let mut running = 0;
        for e in &entries {
            running += e.amount;
            prop_assert!(
                running >= 0,
                "I1: negative running balance at step {}",
                step
            );
        }
        prop_assert_eq!(running, balance, "I1 at step {}", step);
        for t in tasks {
            let of = |k: &[EntryKind]| {
                entries
                    .iter()
                    .filter(|e| e.task_id.as_deref() == Some(t.as_str()) && k.contains(&e.kind))
                    .count()
            };
            prop_assert!(
                of(&[EntryKind::Hold]) <= 1,
                "I2: two holds at step {}",
                step
            );
            prop_assert!(
                of(&[EntryKind::Post, EntryKind::Void]) <= 1,
                "I2: resolved twice at step {}",
                step
            );
        }
    }
    for (t, id) in tasks.iter().enumerate() {
        let stored = store.ledger.get_hold(id).await.unwrap();
        match (stored, m.holds.get(&t)) {
            (None, None) => {}
            (Some(h), Some((a, p, state))) => {
                // I3: what is held (and later posted) is exactly the quote.
                prop_assert_eq!(&h.account_id, &accounts[*a]);
                prop_assert_eq!(h.points, *p);
                prop_assert_eq!(h.state, *state);
            }
            (s, want) => prop_assert!(false, "step {}: hold {:?}, model {:?}", step, s, want),
        }
    }
    Ok(())
}

pub async fn random_ledger_operations_keep_i1_to_i3(store: &Store) {
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = proptest::collection::vec(op(), 1..25);
    let handle = tokio::runtime::Handle::current();
    // proptest drives cases synchronously; each case runs on this test's runtime.
    let result = tokio::task::block_in_place(|| {
        runner.run(&strategy, |ops| handle.block_on(run_case(store, ops)))
    });
    if let Err(e) = result {
        panic!("ledger invariants broken: {e}");
    }
}
