//! `genmux`: serve the gateway, run the demo and the simulators, and talk to a running
//! gateway (`GENMUX_URL`, `GENMUX_API_KEY`).

mod client;
mod commands;
mod config;
mod exit;
mod gateway;
mod observability;
mod output;
mod providers;
mod sandbox;

use clap::Parser;

#[tokio::main]
async fn main() {
    // Keeps every provider crate (and its inventory registration) in the binary.
    genmux::link_providers();
    let cli = commands::Cli::parse();
    let json = cli.json;
    let code = match commands::run(cli).await {
        Ok(()) => 0,
        Err(e) => {
            // Under --json, scripts read stdout: the error is one JSON object there too.
            if json {
                println!("{}", e.to_json());
            } else {
                eprintln!("error: {e}");
            }
            e.exit_code()
        }
    };
    std::process::exit(code);
}
