//! The task engine: the poller and the outbound-callback deliverer, as background loops
//! over the store ([`Engine::spawn`]), and settlement shared with the inbound callback route.

pub mod delivery;
pub mod poller;
pub mod repair;
pub mod settle;

use crate::AppState;
use genmux_store::Revocation;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The running background workers.
#[derive(Debug)]
pub struct Engine {
    stop: watch::Sender<bool>,
    workers: Vec<JoinHandle<()>>,
}

async fn run_loop<F, Fut>(
    mut stop: watch::Receiver<bool>,
    tick: Duration,
    name: &'static str,
    pass: F,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = genmux_core::Result<usize>>,
{
    loop {
        if *stop.borrow() {
            break;
        }
        let busy = match pass().await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::error!(worker = name, error = %e, "engine pass failed");
                false
            }
        };
        // A full pass may have left more due work: go again at once.
        if busy {
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Drops cached authentications of keys revoked by any gateway sharing the store, as the
/// store announces them (PostgreSQL); nothing to do where the store has no feed.
async fn follow_revocations(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut feed = loop {
        match state.store().keys.revocations().await {
            Ok(Some(feed)) => break feed,
            Ok(None) => return,
            Err(e) => {
                // Until the feed is up, revocations elsewhere take effect within the TTL.
                tracing::warn!(error = %e, "cannot follow key revocations; retrying in 5 s");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    };
    // Revocations committed before the feed started are not announced to it.
    state.auth_cache().clear();
    loop {
        tokio::select! {
            event = feed.recv() => match event {
                Some(Revocation::Key(id)) => state.auth_cache().forget(&id),
                Some(Revocation::Resync) => state.auth_cache().clear(),
                None => return,
            },
            _ = stop.changed() => return,
        }
    }
}

/// Runs `work` on every leased item at once and waits for all of them; returns how many
/// there were. A failure is logged with the item's `id`: its lease expires and a later
/// pass takes the item again. (One pass, as tests and tools drive it; the engine's poller
/// and deliverer use [`run_pipelined`].)
pub(crate) async fn run_leased<T, F, Fut>(
    items: Vec<T>,
    what: &'static str,
    id: fn(&T) -> String,
    work: F,
) -> usize
where
    T: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = genmux_core::Result<()>> + Send + 'static,
{
    let n = items.len();
    let mut set = tokio::task::JoinSet::new();
    for item in items {
        set.spawn(logged(what, id(&item), work(item)));
    }
    while set.join_next().await.is_some() {}
    n
}

/// `work`, with its failure logged under the item's id.
async fn logged<Fut>(what: &'static str, item_id: String, work: Fut)
where
    Fut: std::future::Future<Output = genmux_core::Result<()>>,
{
    if let Err(e) = work.await {
        tracing::error!(item = %item_id, error = %e, "{what} failed");
    }
}

/// How a background worker leases and runs its items (the poller's tasks, the
/// deliverer's callbacks).
struct Pipeline {
    name: &'static str,
    /// How long to wait when nothing was due.
    tick: Duration,
    /// Most items leased at once.
    batch: usize,
    /// Most items running at once.
    in_flight: usize,
}

/// Leases due items and keeps up to `p.in_flight` of them running, leasing more as slots
/// free up, until `stop`; then waits for those running. Issue 21: a pass that waited for
/// its whole batch let one slow receiver (or a connection retried after a dropped SYN)
/// hold back every callback behind it — deliveries ran at ~20/s while a receiver answered
/// at once. Items are leased only for free slots, so none waits out its lease unstarted.
async fn run_pipelined<T, L, LFut, W, WFut>(
    mut stop: watch::Receiver<bool>,
    p: Pipeline,
    lease: L,
    id: fn(&T) -> String,
    work: W,
) where
    L: Fn(usize) -> LFut,
    LFut: std::future::Future<Output = genmux_core::Result<Vec<T>>>,
    W: Fn(T) -> WFut,
    WFut: std::future::Future<Output = genmux_core::Result<()>> + Send + 'static,
{
    let mut running = tokio::task::JoinSet::new();
    let in_flight = p.in_flight.max(1);
    loop {
        while running.try_join_next().is_some() {}
        if *stop.borrow() {
            break;
        }
        let room = in_flight.saturating_sub(running.len());
        // A lease is a write: while items are running, wait until enough slots are free
        // for a lease of at least half a batch rather than leasing items one at a time.
        let min_lease = (p.batch / 2).clamp(1, in_flight);
        if room == 0 || (!running.is_empty() && room < min_lease) {
            tokio::select! {
                _ = running.join_next() => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let want = room.min(p.batch.max(1));
        match lease(want).await {
            Ok(items) => {
                let full = items.len() == want;
                for item in items {
                    running.spawn(logged(p.name, id(&item), work(item)));
                }
                // A full lease may have left more due work: go again at once.
                if full {
                    tokio::task::yield_now().await;
                    continue;
                }
            }
            Err(e) => tracing::error!(worker = p.name, error = %e, "engine lease failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(p.tick) => {}
            _ = stop.changed() => {}
        }
    }
    while running.join_next().await.is_some() {}
}

/// [`run_pipelined`] of one worker of `state`: `lease` and `work` are its functions.
fn pipeline_over<T, LFut, WFut>(
    state: &AppState,
    stop: watch::Receiver<bool>,
    p: Pipeline,
    lease: fn(AppState, usize) -> LFut,
    id: fn(&T) -> String,
    work: fn(AppState, T) -> WFut,
) -> impl std::future::Future<Output = ()>
where
    LFut: std::future::Future<Output = genmux_core::Result<Vec<T>>>,
    WFut: std::future::Future<Output = genmux_core::Result<()>> + Send + 'static,
{
    let (leasing, working) = (state.clone(), state.clone());
    run_pipelined(
        stop,
        p,
        move |n| lease(leasing.clone(), n),
        id,
        move |item| work(working.clone(), item),
    )
}

impl Engine {
    /// Starts the poller, the deliverer, the repair sweep (which runs at once, then every
    /// `repair_every`) and, on PostgreSQL, the follower of key revocations made by other
    /// gateways. Unfinished tasks and pending callbacks left by an
    /// earlier run (or a crashed replica, once its leases expire) are picked up as they come
    /// due.
    pub fn spawn(state: AppState) -> Engine {
        let (stop, rx) = watch::channel(false);
        let poll = &state.config().poll;
        let poller = tokio::spawn(pipeline_over(
            &state,
            rx.clone(),
            Pipeline {
                name: "polling a task",
                tick: poll.tick,
                batch: poll.batch as usize,
                in_flight: poll.in_flight,
            },
            poller::lease,
            |t| t.id.clone(),
            poller::poll_leased,
        ));
        let delivery = &state.config().delivery;
        let deliverer = tokio::spawn(pipeline_over(
            &state,
            rx,
            Pipeline {
                name: "recording a delivery",
                tick: delivery.tick,
                batch: delivery.batch as usize,
                in_flight: delivery.in_flight,
            },
            delivery::lease,
            |d| d.webhook_id.clone(),
            delivery::deliver_leased,
        ));
        let repair_state = state.clone();
        let repairer = tokio::spawn(run_loop(
            stop.subscribe(),
            state.config().repair_every,
            "repair",
            move || {
                let s = repair_state.clone();
                async move { repair::repair_pass(&s).await.map(|_| 0) }
            },
        ));
        let gauge_state = state.clone();
        let gauges = tokio::spawn(run_loop(
            stop.subscribe(),
            crate::telemetry::GAUGE_EVERY,
            "gauges",
            move || {
                let s = gauge_state.clone();
                async move { crate::telemetry::refresh_gauges(&s).await.map(|_| 0) }
            },
        ));
        let mut workers = vec![poller, deliverer, repairer, gauges];
        if state.blobs().is_some() {
            // Issue 18: results copied into the blob store, and expired ones deleted.
            let assets = &state.config().assets;
            let copier = pipeline_over(
                &state,
                stop.subscribe(),
                Pipeline {
                    name: "copying a task's results",
                    tick: assets.tick,
                    batch: assets.batch as usize,
                    in_flight: assets.in_flight,
                },
                crate::assets::copy::lease,
                |j| j.task_id.clone(),
                crate::assets::copy::copy_leased,
            );
            let mut copy_stop = stop.subscribe();
            workers.push(tokio::spawn(async move {
                // A download may take up to `assets.fetch_timeout`: shutdown does not wait
                // for it — dropping the pipeline aborts the copies in flight. Their leases
                // expire and a later start (or another replica) copies them again into the
                // same objects.
                tokio::select! {
                    _ = copier => {}
                    _ = copy_stop.wait_for(|stopped| *stopped) => {}
                }
            }));
            let sweep_state = state.clone();
            workers.push(tokio::spawn(run_loop(
                stop.subscribe(),
                state.config().assets.sweep_every,
                "retention",
                move || {
                    let s = sweep_state.clone();
                    async move { crate::assets::retention::sweep(&s).await.map(|_| 0) }
                },
            )));
        }
        workers.push(tokio::spawn(follow_revocations(state, stop.subscribe())));
        Engine { stop, workers }
    }

    /// Stops after the polls and deliveries in flight (and the passes of the other
    /// workers in progress) finish; nothing new is leased. Work leased but not finished is
    /// left to its lease expiry, so another replica (or the next start) takes it over.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for w in self.workers {
            if let Err(e) = w.await {
                tracing::error!(error = %e, "engine worker ended abnormally");
            }
        }
    }
}
