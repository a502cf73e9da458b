//! The lifecycle both simulators share once started: bind the address, serve the router,
//! settle due tasks whenever the clock moves, and stop the two together.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::{ClockMode, SimClock};
use crate::error::{Error, Result};

/// What a simulator's shared state gives the lifecycle.
pub(crate) trait SimState: Clone + Send + Sync + 'static {
    /// The HTTP routes over this state.
    fn router(&self) -> axum::Router;
    /// The clock whose moves trigger a settle.
    fn clock(&self) -> SimClock;
    /// How often a real-time clock settles even when nothing else moved it.
    fn tick_interval(&self) -> Duration;
    /// Moves every due task and sends its callbacks.
    fn settle_due(&self) -> impl Future<Output = ()> + Send;
}

/// A simulator serving on a bound socket, with the ticker that settles its tasks.
pub(crate) struct Running {
    addr: SocketAddr,
    base_url: String,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    ticker: JoinHandle<()>,
}

impl Running {
    /// Binds `addr`, builds the state with the base URL clients reach (`public_base_url`,
    /// else `http://<bound address>`), then starts serving and ticking.
    pub(crate) async fn start<S: SimState>(
        addr: SocketAddr,
        public_base_url: Option<String>,
        new_state: impl FnOnce(String) -> Result<S>,
    ) -> Result<(S, Running)> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| Error::Bind { addr, source })?;
        let base_url = public_base_url.unwrap_or_else(|| format!("http://{local}"));
        let state = new_state(base_url.clone())?;
        let (stop, stop_rx) = watch::channel(false);
        let server = tokio::spawn(crate::server::serve(
            listener,
            state.router(),
            stop_rx.clone(),
        ));
        let ticker = tokio::spawn(run_ticker(state.clone(), stop_rx));
        let running = Running {
            addr: local,
            base_url,
            stop,
            server,
            ticker,
        };
        Ok((state, running))
    }

    /// The bound socket address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL without a trailing slash.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Stops serving and ticking; open connections are closed.
    pub(crate) async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
        let _ = self.ticker.await;
    }
}

/// Runs until `stop` turns true, settling whenever the clock moves (and, for a real-time
/// clock, every `tick_interval`).
async fn run_ticker<S: SimState>(state: S, mut stop: watch::Receiver<bool>) {
    let clock = state.clock();
    let mut changed = clock.changed();
    let real_time = !matches!(clock.mode(), ClockMode::Manual);
    let mut every = tokio::time::interval(state.tick_interval());
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            r = changed.changed() => if r.is_err() { return },
            _ = every.tick(), if real_time => {}
        }
        state.settle_due().await;
    }
}
