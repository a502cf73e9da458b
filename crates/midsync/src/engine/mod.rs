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
/// pass takes the item again.
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
        let item_id = id(&item);
        let fut = work(item);
        set.spawn(async move {
            if let Err(e) = fut.await {
                tracing::error!(item = %item_id, error = %e, "{what} failed");
            }
        });
    }
    while set.join_next().await.is_some() {}
    n
}

impl Engine {
    /// Starts the poller, the deliverer, the repair sweep (which runs at once, then every
    /// `repair_every`) and, on PostgreSQL, the follower of key revocations made by other
    /// gateways. Unfinished tasks and pending callbacks left by an
    /// earlier run (or a crashed replica, once its leases expire) are picked up as they come
    /// due.
    pub fn spawn(state: AppState) -> Engine {
        let (stop, rx) = watch::channel(false);
        let poll_state = state.clone();
        let poller = tokio::spawn(run_loop(
            rx.clone(),
            state.config().poll.tick,
            "poller",
            move || {
                let s = poll_state.clone();
                async move { poller::poll_due(&s).await }
            },
        ));
        let deliver_state = state.clone();
        let deliverer = tokio::spawn(run_loop(
            rx,
            state.config().delivery.tick,
            "deliverer",
            move || {
                let s = deliver_state.clone();
                async move { delivery::deliver_due(&s).await }
            },
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
            let copy_state = state.clone();
            let copy_stop = stop.subscribe();
            workers.push(tokio::spawn(run_loop(
                stop.subscribe(),
                state.config().assets.tick,
                "copier",
                move || {
                    let s = copy_state.clone();
                    let mut stop = copy_stop.clone();
                    // A download may take up to `assets.fetch_timeout`: shutdown does not
                    // wait for it. The copy's lease expires and a later start (or another
                    // replica) copies it again into the same object.
                    async move {
                        tokio::select! {
                            n = crate::assets::copy::copy_due(&s) => n,
                            _ = stop.wait_for(|stopped| *stopped) => Ok(0),
                        }
                    }
                },
            )));
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

    /// Stops after the passes in progress finish. Work leased but not finished is left to
    /// its lease expiry, so another replica (or the next start) takes it over.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for w in self.workers {
            if let Err(e) = w.await {
                tracing::error!(error = %e, "engine worker ended abnormally");
            }
        }
    }
}
