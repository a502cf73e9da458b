//! Errors starting or configuring a simulator.

/// Why a simulator could not start or be configured.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Binding the listening socket failed.
    #[error("cannot bind the simulator to {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The configuration is inconsistent (names the setting and what is allowed).
    #[error("invalid simulator configuration: {0}")]
    Config(String),
}

/// `Result` with the simulator's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
