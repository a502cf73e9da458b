//! The task lifecycle every framework simulator walks on its clock.
//!
//! A task is created `Queued`; at `ready_ms` (creation + queue time) it takes one of its
//! account's slots and runs for its render time, then ends with the outcome drawn at
//! creation. Without a free slot it waits: `Throttled` under
//! [`OverConcurrency::Throttle`] (Runway's `THROTTLED`), still `Queued` otherwise. A task
//! drawn to expire never runs and ends `Expired` one render time after it was ready. Slots
//! free at the exact simulated moment a task ends, so the next waiting task of the account
//! starts then, whenever the clock is looked at.
//!
//! Each provider maps [`Phase`] to its own status words (`queued`, `Preparing`, `PENDING`,
//! `pending`, …).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

/// Where a task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Created, not running yet.
    Queued,
    /// Ready, but its account has no free slot ([`OverConcurrency::Throttle`]).
    Throttled,
    /// Running.
    Running,
    /// Finished with results.
    Succeeded,
    /// Finished without results.
    Failed,
    /// Cancelled by its owner.
    Cancelled,
    /// Never ran: its time ran out.
    Expired,
}

impl Phase {
    /// Whether the task will not move again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Phase::Succeeded | Phase::Failed | Phase::Cancelled | Phase::Expired
        )
    }
}

/// What a provider does when an account would hold more unfinished tasks than its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverConcurrency {
    /// The create is refused (the provider answers its own rate-limit error).
    Reject,
    /// The task is accepted and waits `Throttled` for a slot.
    Throttle,
}

/// How a task will end, drawn when it is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Succeeds with results.
    Succeed,
    /// Fails after running.
    Fail,
    /// Expires without running.
    Expire,
}

/// One file a finished task produced, served at `url` until `expires_ms`.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaLink {
    /// The path token under `/media/` (with its extension).
    pub token: String,
    /// The full URL.
    pub url: String,
    /// Unix ms after which the URL answers 403 (expired).
    pub expires_ms: i64,
    /// The file.
    pub spec: super::media::MediaSpec,
}

/// One task: the lifecycle fields the framework keeps, and the provider's own `data`.
#[derive(Clone, Debug)]
pub struct TaskRecord<D, E> {
    /// The task id the provider answered with.
    pub id: String,
    /// Index of the owning account.
    pub account: usize,
    /// The endpoint that created it (its faults decide lost callbacks).
    pub endpoint: E,
    /// Where it is.
    pub phase: Phase,
    /// Unix ms it was created.
    pub created_ms: i64,
    /// Unix ms of its last phase change (the scheduled moment, not when it was seen).
    pub updated_ms: i64,
    /// Unix ms it may start running.
    pub ready_ms: i64,
    /// Unix ms it started running.
    pub started_ms: Option<i64>,
    /// Unix ms it ended.
    pub finished_ms: Option<i64>,
    /// How long it runs.
    pub render_ms: i64,
    /// How it will end.
    pub outcome: Outcome,
    /// Its files, once it succeeded.
    pub outputs: Vec<MediaLink>,
    /// Where its callbacks go.
    pub callback_url: Option<String>,
    /// What its account was charged at creation (the provider's unit); refunded when it
    /// ends without results.
    pub charged: i64,
    /// The provider's own fields (the validated request, model, …).
    pub data: D,
}

impl<D, E> TaskRecord<D, E> {
    /// Share of the run done at `now_ms`: 0 before it runs, 1 once finished.
    pub fn progress(&self, now_ms: i64) -> f64 {
        match (self.phase, self.started_ms) {
            (Phase::Running, Some(start)) if self.render_ms > 0 => {
                ((now_ms - start) as f64 / self.render_ms as f64).clamp(0.0, 1.0)
            }
            (Phase::Succeeded, _) => 1.0,
            _ => 0.0,
        }
    }
}

/// A phase change, in the order they happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// Index of the task in the book.
    pub index: usize,
    /// The phase it reached.
    pub phase: Phase,
    /// When (Unix ms).
    pub at_ms: i64,
}

/// Refusal of a create under [`OverConcurrency::Reject`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverLimit {
    /// Unfinished tasks the account holds.
    pub used: u32,
    /// Its limit.
    pub limit: u32,
}

/// What a new task needs.
#[derive(Clone, Debug)]
pub struct NewTask<D, E> {
    /// Its id.
    pub id: String,
    /// Owning account.
    pub account: usize,
    /// The creating endpoint.
    pub endpoint: E,
    /// Where callbacks go.
    pub callback_url: Option<String>,
    /// Queue time (ms).
    pub queue_ms: i64,
    /// Render time (ms).
    pub render_ms: i64,
    /// How it ends.
    pub outcome: Outcome,
    /// What the account was charged (refunded if it ends without results).
    pub charged: i64,
    /// The provider's fields.
    pub data: D,
}

/// Every task of one simulator, with its schedule.
#[derive(Debug)]
pub struct TaskBook<D, E> {
    tasks: Vec<TaskRecord<D, E>>,
    by_id: HashMap<String, usize>,
    /// (Unix ms, index) of each unfinished task's next scheduled move.
    due: BinaryHeap<Reverse<(i64, usize)>>,
    /// Per account: tasks ready but waiting for a slot, oldest first.
    waiting: HashMap<usize, VecDeque<usize>>,
    /// Per account: tasks running.
    running: HashMap<usize, u32>,
    /// Per account: tasks not final.
    open: HashMap<usize, u32>,
    /// Per account: charges of tasks that ended without results, not yet taken by
    /// [`TaskBook::take_refunds`].
    refunds: Vec<(usize, i64)>,
    /// Phase changes not yet taken by [`TaskBook::take_transitions`].
    transitions: Vec<Transition>,
}

impl<D, E> Default for TaskBook<D, E> {
    fn default() -> Self {
        TaskBook {
            tasks: Vec::new(),
            by_id: HashMap::new(),
            due: BinaryHeap::new(),
            waiting: HashMap::new(),
            running: HashMap::new(),
            open: HashMap::new(),
            refunds: Vec::new(),
            transitions: Vec::new(),
        }
    }
}

impl<D, E> TaskBook<D, E> {
    /// Unfinished tasks of `account`.
    pub fn unfinished(&self, account: usize) -> u32 {
        self.open.get(&account).copied().unwrap_or(0)
    }

    /// Adds a task created at `now_ms`. Under [`OverConcurrency::Reject`] with a `limit`,
    /// an account already holding `limit` unfinished tasks is refused.
    pub fn create(
        &mut self,
        task: NewTask<D, E>,
        now_ms: i64,
        limit: Option<u32>,
        policy: OverConcurrency,
    ) -> Result<&TaskRecord<D, E>, OverLimit> {
        if let (Some(limit), OverConcurrency::Reject) = (limit, policy) {
            let used = self.unfinished(task.account);
            if used >= limit {
                return Err(OverLimit { used, limit });
            }
        }
        let index = self.tasks.len();
        let ready_ms = now_ms + task.queue_ms;
        self.tasks.push(TaskRecord {
            id: task.id.clone(),
            account: task.account,
            endpoint: task.endpoint,
            phase: Phase::Queued,
            created_ms: now_ms,
            updated_ms: now_ms,
            ready_ms,
            started_ms: None,
            finished_ms: None,
            render_ms: task.render_ms,
            outcome: task.outcome,
            outputs: Vec::new(),
            callback_url: task.callback_url,
            charged: task.charged,
            data: task.data,
        });
        *self.open.entry(task.account).or_default() += 1;
        self.by_id.insert(task.id, index);
        self.due.push(Reverse((ready_ms, index)));
        Ok(&self.tasks[index])
    }

    /// Applies every move due at or before `now_ms`, in time order; `limit_of` gives each
    /// account's concurrency, `policy` what waiting looks like. Returns the indexes of
    /// tasks that succeeded (the caller attaches their files).
    pub fn advance(
        &mut self,
        now_ms: i64,
        limit_of: impl Fn(usize) -> Option<u32>,
        policy: OverConcurrency,
    ) -> Vec<usize> {
        let mut succeeded = Vec::new();
        while let Some(&Reverse((at, index))) = self.due.peek() {
            if at > now_ms {
                break;
            }
            self.due.pop();
            let (phase, account, outcome) = {
                let t = &self.tasks[index];
                (t.phase, t.account, t.outcome)
            };
            match phase {
                Phase::Queued if outcome == Outcome::Expire => {
                    if at >= self.tasks[index].ready_ms + self.tasks[index].render_ms {
                        self.finish(index, Phase::Expired, at);
                    } else {
                        let end = self.tasks[index].ready_ms + self.tasks[index].render_ms;
                        self.due.push(Reverse((end, index)));
                    }
                }
                Phase::Queued => {
                    let running = self.running.get(&account).copied().unwrap_or(0);
                    if limit_of(account).is_none_or(|l| running < l) {
                        self.start(index, at);
                    } else {
                        if policy == OverConcurrency::Throttle {
                            self.set_phase(index, Phase::Throttled, at);
                        }
                        self.waiting.entry(account).or_default().push_back(index);
                    }
                }
                Phase::Running => {
                    let t = &self.tasks[index];
                    if t.started_ms.map(|s| s + t.render_ms) != Some(at) {
                        continue; // a stale entry
                    }
                    let end = match outcome {
                        Outcome::Succeed => Phase::Succeeded,
                        _ => Phase::Failed,
                    };
                    if end == Phase::Succeeded {
                        succeeded.push(index);
                    }
                    self.finish(index, end, at);
                }
                // Throttled tasks move through `waiting`; final ones never move.
                _ => {}
            }
        }
        succeeded
    }

    fn set_phase(&mut self, index: usize, phase: Phase, at_ms: i64) {
        let t = &mut self.tasks[index];
        t.phase = phase;
        t.updated_ms = at_ms;
        self.transitions.push(Transition {
            index,
            phase,
            at_ms,
        });
    }

    fn start(&mut self, index: usize, at_ms: i64) {
        let account = self.tasks[index].account;
        *self.running.entry(account).or_default() += 1;
        self.tasks[index].started_ms = Some(at_ms);
        self.set_phase(index, Phase::Running, at_ms);
        self.due
            .push(Reverse((at_ms + self.tasks[index].render_ms, index)));
    }

    /// Ends task `index` in `phase` at `at_ms`, freeing its slot for the next waiting
    /// task of its account.
    fn finish(&mut self, index: usize, phase: Phase, at_ms: i64) {
        let account = self.tasks[index].account;
        let was_running = self.tasks[index].phase == Phase::Running;
        self.tasks[index].finished_ms = Some(at_ms);
        self.set_phase(index, phase, at_ms);
        if let Some(n) = self.open.get_mut(&account) {
            *n = n.saturating_sub(1);
        }
        let charged = self.tasks[index].charged;
        if phase != Phase::Succeeded && charged != 0 {
            self.refunds.push((account, charged));
        }
        if let Some(w) = self.waiting.get_mut(&account) {
            w.retain(|&i| i != index);
        }
        if was_running {
            if let Some(n) = self.running.get_mut(&account) {
                *n = n.saturating_sub(1);
            }
            if let Some(next) = self.waiting.get_mut(&account).and_then(|w| w.pop_front()) {
                self.start(next, at_ms);
            }
        }
    }

    /// Cancels an unfinished task at `now_ms`; `false` if it already ended.
    pub fn cancel(&mut self, index: usize, now_ms: i64) -> bool {
        if self.tasks[index].phase.is_final() {
            return false;
        }
        self.finish(index, Phase::Cancelled, now_ms);
        true
    }

    /// Phase changes since the last call, in the order they happened.
    pub fn take_transitions(&mut self) -> Vec<Transition> {
        let mut t = std::mem::take(&mut self.transitions);
        t.sort_by_key(|t| t.at_ms);
        t
    }

    /// Charges to give back (account, amount) since the last call: tasks that ended
    /// without results.
    pub fn take_refunds(&mut self) -> Vec<(usize, i64)> {
        std::mem::take(&mut self.refunds)
    }

    /// The index of task `id`.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// Task `id`, whatever account owns it.
    pub fn get(&self, id: &str) -> Option<&TaskRecord<D, E>> {
        self.index_of(id).map(|i| &self.tasks[i])
    }

    /// Task `id` if `account` owns it (another account's task is "not found").
    pub fn get_owned(&self, account: usize, id: &str) -> Option<&TaskRecord<D, E>> {
        self.get(id).filter(|t| t.account == account)
    }

    /// The task at `index`.
    pub fn at(&self, index: usize) -> &TaskRecord<D, E> {
        &self.tasks[index]
    }

    /// The task at `index`, to change provider fields or attach outputs.
    pub fn at_mut(&mut self, index: usize) -> &mut TaskRecord<D, E> {
        &mut self.tasks[index]
    }

    /// Every task, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &TaskRecord<D, E>> {
        self.tasks.iter()
    }

    /// Tasks of `account`, newest first, `page` (from 1) of `size`.
    pub fn page(&self, account: usize, page: usize, size: usize) -> Vec<&TaskRecord<D, E>> {
        self.tasks
            .iter()
            .rev()
            .filter(|t| t.account == account)
            .skip(page.saturating_sub(1) * size)
            .take(size)
            .collect()
    }

    /// How many tasks there are.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(book: &mut TaskBook<(), u8>, id: &str, outcome: Outcome, now: i64) {
        book.create(
            NewTask {
                id: id.into(),
                account: 0,
                endpoint: 0,
                callback_url: None,
                queue_ms: 1_000,
                render_ms: 10_000,
                outcome,
                charged: 0,
                data: (),
            },
            now,
            Some(1),
            OverConcurrency::Throttle,
        )
        .unwrap();
    }

    #[test]
    fn tasks_walk_their_phases_and_wait_for_a_slot_at_the_exact_moment() {
        let mut book = TaskBook::default();
        new(&mut book, "a", Outcome::Succeed, 0);
        new(&mut book, "b", Outcome::Fail, 0);
        // Looked at late: both moves are applied at their scheduled times.
        let ok = book.advance(100_000, |_| Some(1), OverConcurrency::Throttle);
        assert_eq!(ok, vec![0]);
        let t: Vec<_> = book
            .take_transitions()
            .into_iter()
            .map(|t| (t.index, t.phase, t.at_ms))
            .collect();
        assert_eq!(
            t,
            vec![
                (0, Phase::Running, 1_000),
                (1, Phase::Throttled, 1_000),
                (0, Phase::Succeeded, 11_000),
                (1, Phase::Running, 11_000),
                (1, Phase::Failed, 21_000),
            ]
        );
        assert_eq!(book.at(1).started_ms, Some(11_000));
    }

    #[test]
    fn reject_counts_unfinished_tasks_and_cancel_frees_the_slot() {
        let mut book: TaskBook<(), u8> = TaskBook::default();
        let mk = |id: &str| NewTask {
            id: id.into(),
            account: 0,
            endpoint: 0,
            callback_url: None,
            queue_ms: 0,
            render_ms: 10,
            outcome: Outcome::Succeed,
            charged: 0,
            data: (),
        };
        book.create(mk("a"), 0, Some(1), OverConcurrency::Reject)
            .unwrap();
        let e = book
            .create(mk("b"), 0, Some(1), OverConcurrency::Reject)
            .unwrap_err();
        assert_eq!(e, OverLimit { used: 1, limit: 1 });
        assert!(book.cancel(0, 0));
        assert!(!book.cancel(0, 1));
        assert!(book
            .create(mk("b"), 1, Some(1), OverConcurrency::Reject)
            .is_ok());
    }

    #[test]
    fn an_expiring_task_never_runs() {
        let mut book = TaskBook::default();
        new(&mut book, "x", Outcome::Expire, 0);
        assert!(book
            .advance(5_000, |_| Some(1), OverConcurrency::Throttle)
            .is_empty());
        assert_eq!(book.at(0).phase, Phase::Queued);
        book.advance(11_000, |_| Some(1), OverConcurrency::Throttle);
        assert_eq!(book.at(0).phase, Phase::Expired);
        assert_eq!(book.at(0).started_ms, None);
    }
}
