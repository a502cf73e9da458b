//! Command-line definitions and dispatch.

mod accounts;
mod gateway;
mod local;

use crate::exit::{CliError, EXIT_CODES_HELP};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// genmux: AI video and image generation behind one API.
#[derive(Debug, Parser)]
#[command(name = "genmux", version, about, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Gateway URL for client commands.
    #[arg(
        long,
        global = true,
        env = "GENMUX_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub url: String,
    /// API key for client commands (`gmx_<id>_<secret>`).
    #[arg(long, global = true, env = "GENMUX_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway (SQLite in ./genmux-data and in-process simulators when nothing is
    /// configured).
    Serve(ServeArgs),
    /// List the providers linked into this binary: their settings (secrets shown only as
    /// set), whether each is configured, and its offerings with their upstream cost.
    Providers(ProvidersArgs),
    /// Start everything in this process, generate a video, save the MP4 to ./genmux-out and
    /// print the usage summary.
    Demo(DemoArgs),
    /// Run the upstream simulators standalone.
    Sim(SimArgs),
    /// List the models the gateway sells, with their fields and example prices; with an
    /// ID, one model in full: each field's type, allowed values and default, and the
    /// price rule.
    Models {
        /// A model id (see `genmux models`).
        id: Option<String>,
    },
    /// Price a request without creating it.
    Quote(RequestArgs),
    /// Create a generation task.
    Generate(GenerateArgs),
    /// Show a task's status and assets.
    Status {
        /// The task id returned by `generate`.
        task_id: String,
    },
    /// List the account's tasks, newest first (video and image unless --kind or --model
    /// says which).
    Tasks(TasksArgs),
    /// Cancel an unfinished task (where its provider supports cancel); its points are
    /// refunded.
    Cancel {
        /// The task id returned by `generate`.
        task_id: String,
    },
    /// Usage logs and summary.
    Usage {
        /// Which view.
        #[command(subcommand)]
        view: UsageView,
    },
    /// Manage API keys (needs an `admin` key; another account's keys need an `operator` key).
    Keys {
        /// What to do with keys.
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Manage accounts and their points (needs an `operator` key).
    Accounts {
        /// What to do with accounts.
        #[command(subcommand)]
        action: AccountsAction,
    },
    /// Your account's balance and held points.
    Balance,
    /// Print a shell completion script, e.g. `genmux completions bash >
    /// /etc/bash_completion.d/genmux`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `genmux man > /usr/local/share/man/man1/genmux.1`.
    Man,
}

/// `serve` flags; each overrides the config file and the environment.
#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// TOML config file.
    #[arg(long, env = "GENMUX_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<String>,
    /// Public base URL upstream callbacks are sent to.
    #[arg(long)]
    pub public_url: Option<String>,
    /// Data directory (SQLite database, callback key).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// `postgres://…` to share one database between replicas.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Points for the first account on first start.
    #[arg(long)]
    pub starter_points: Option<i64>,
    /// Also write the first admin key to this file.
    #[arg(long)]
    pub bootstrap_key_file: Option<PathBuf>,
    /// A provider setting as `<provider>.<key>=<value>` (repeat), e.g.
    /// `<provider>.base_url=https://…`; `genmux providers` lists each provider's keys.
    /// Secrets are refused here (flags show in `ps`): set them in the environment, a file
    /// (`NAME_FILE`) or the config file.
    #[arg(long = "provider-setting", value_name = "PROVIDER.KEY=VALUE")]
    pub provider_settings: Vec<String>,
    /// Requests per second to each provider.
    #[arg(long)]
    pub provider_rps: Option<u32>,
    /// Tasks in flight per provider.
    #[arg(long)]
    pub provider_concurrency: Option<u32>,
    /// Requests per minute per API key.
    #[arg(long)]
    pub key_rpm: Option<u32>,
    /// Count the per-key rate in this Redis (`redis://host:port/db`), shared by replicas.
    #[arg(long)]
    pub redis_url: Option<String>,
    /// Run the in-process simulators in place of every provider (refused when provider
    /// credentials are set); admits loopback callbackUrls …
    #[arg(long, conflicts_with = "no_sandbox")]
    pub sandbox: bool,
    /// … or never (by default the sandbox starts by itself only when no provider
    /// credential and no database_url is set).
    #[arg(long)]
    pub no_sandbox: bool,
    /// Sandbox clock speed (simulated seconds per real second).
    #[arg(long)]
    pub sandbox_speed: Option<f64>,
    /// Admit loopback callbackUrls.
    #[arg(long)]
    pub allow_loopback_callbacks: bool,
    /// `pretty` or `json` logs.
    #[arg(long)]
    pub log_format: Option<String>,
}

/// `providers` flags: the same provider inputs `serve` reads.
#[derive(Debug, Args, Default)]
pub struct ProvidersArgs {
    /// TOML config file.
    #[arg(long, env = "GENMUX_CONFIG")]
    pub config: Option<PathBuf>,
    /// `postgres://…` or `sqlite://…`, as `serve` would take it (it changes whether the
    /// sandbox starts by itself).
    #[arg(long)]
    pub database_url: Option<String>,
    /// A provider setting as `<provider>.<key>=<value>` (repeat).
    #[arg(long = "provider-setting", value_name = "PROVIDER.KEY=VALUE")]
    pub provider_settings: Vec<String>,
    /// As `serve --sandbox`.
    #[arg(long)]
    pub sandbox: bool,
}

/// `demo` flags.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Model to generate with.
    #[arg(long, default_value = "kling-2.5-turbo")]
    pub model: String,
    /// Prompt.
    #[arg(
        long,
        default_value = "A red fox trotting through fresh snow at golden hour, cinematic"
    )]
    pub prompt: String,
    /// Seconds.
    #[arg(long, default_value_t = 5)]
    pub duration: u32,
    /// Where to save the video.
    #[arg(long, default_value = "genmux-out")]
    pub out: PathBuf,
}

/// `sim` flags.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Where a simulator listens, as NAME=HOST:PORT (repeat); the names are the keys
    /// `genmux --json sim` prints, and a wrong one is refused listing them. Simulators not
    /// named take a free loopback port.
    #[arg(long = "listen", value_name = "NAME=HOST:PORT")]
    pub listen: Vec<String>,
    /// Concurrent tasks per account on simulators that limit them (beyond it the
    /// simulator answers as its upstream does when over the plan's concurrency).
    #[arg(long)]
    pub concurrency: Option<u32>,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Share of tasks that fail (0–1).
    #[arg(long, default_value_t = 0.0)]
    pub failure_rate: f64,
    /// Error rate injected on every endpoint (0–1), seeded.
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Latency added to every response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
}

/// A generation request from flags (or a JSON body file), the same for quote and generate.
#[derive(Debug, Args, Clone)]
pub struct RequestArgs {
    /// Model id (see `genmux models`).
    #[arg(long, short)]
    pub model: String,
    /// Main prompt.
    #[arg(long, short)]
    pub prompt: Option<String>,
    /// Length in seconds.
    #[arg(long, short)]
    pub duration: Option<u32>,
    /// Resolution, e.g. 720p.
    #[arg(long, short)]
    pub resolution: Option<String>,
    /// Aspect ratio, e.g. 16:9.
    #[arg(long)]
    pub aspect_ratio: Option<String>,
    /// std or pro.
    #[arg(long)]
    pub mode: Option<String>,
    /// Quality grade (runway).
    #[arg(long)]
    pub quality: Option<String>,
    /// Generate audio.
    #[arg(long)]
    pub audio: bool,
    /// Input image URL (repeat for several).
    #[arg(long = "image")]
    pub images: Vec<String>,
    /// Any other field as FIELD=VALUE (VALUE parsed as JSON when it is JSON; dotted
    /// FIELD for nested objects, e.g. cameraControl.cameraMotion=pan).
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// Start from a JSON body file; flags override its fields.
    #[arg(long)]
    pub body: Option<PathBuf>,
    /// Where the gateway POSTs the finished task.
    #[arg(long)]
    pub callback_url: Option<String>,
}

/// `generate` flags.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The request.
    #[command(flatten)]
    pub request: RequestArgs,
    /// Wait for the task to finish, with a progress bar.
    #[arg(long)]
    pub wait: bool,
    /// Save the assets into this directory once the task finished (implies --wait).
    #[arg(long, value_name = "DIR")]
    pub download: Option<PathBuf>,
    /// With --wait: give up after this many seconds (exit 9; the task goes on).
    #[arg(long, default_value_t = 900)]
    pub timeout: u64,
    /// Idempotency-Key header (a random one by default, so a retried command is safe).
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

/// `tasks` flags: the filters of `GET /unified-video/tasks`.
#[derive(Debug, Args)]
pub struct TasksArgs {
    /// Only these statuses (repeat, or comma-separate): submitted, processing, succeeded,
    /// failed, cancelled, unknown.
    #[arg(long, value_name = "STATUS", value_delimiter = ',')]
    pub status: Vec<String>,
    /// Only this model (its kind picks the video or image listing).
    #[arg(long, short)]
    pub model: Option<String>,
    /// Only video or only image tasks.
    #[arg(long, value_parser = ["video", "image"])]
    pub kind: Option<String>,
    /// Creation date: `today`, `last_7_days`, `last_30_days`, `last_90_days` or
    /// `YYYY-MM-DD_YYYY-MM-DD` (default: every task).
    #[arg(long)]
    pub date_range: Option<String>,
    /// Tasks per page (1–1000).
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Page, from 1.
    #[arg(long, default_value_t = 1)]
    pub page: u32,
}

/// Usage views.
#[derive(Debug, Subcommand)]
pub enum UsageView {
    /// Totals and per-model groups.
    Summary {
        /// `today`, `last_7_days`, `last_30_days`, `last_90_days` or `YYYY-MM-DD_YYYY-MM-DD`.
        #[arg(long, default_value = "last_7_days")]
        date_range: String,
    },
    /// One row per settled task.
    Logs {
        /// `today`, `last_7_days`, `last_30_days`, `last_90_days` or `YYYY-MM-DD_YYYY-MM-DD`.
        #[arg(long, default_value = "last_7_days")]
        date_range: String,
        /// Only this model.
        #[arg(long)]
        model: Option<String>,
        /// Page, from 1.
        #[arg(long, default_value_t = 1)]
        page: u32,
        /// Rows per page.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

/// Key actions.
#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Create a key; the secret is printed once.
    Create {
        /// A name to recognise the key by.
        #[arg(long)]
        name: String,
        /// Scopes: api.read, api.generate, admin, operator (repeat; operator needs an operator key).
        #[arg(long = "scope", default_values_t = ["api.read".to_string(), "api.generate".to_string()])]
        scopes: Vec<String>,
        /// The account the key belongs to (default: the caller's).
        #[arg(long)]
        account: Option<String>,
    },
    /// List keys (prefix and last 4 characters only).
    List {
        /// Another account's keys (needs an `operator` key).
        #[arg(long)]
        account: Option<String>,
    },
    /// Revoke a key by id.
    Revoke {
        /// The key id (the `<id>` of `gmx_<id>_<secret>`).
        id: String,
    },
}

/// Account actions (scope `operator`). Account ids: 1–63 characters of lowercase a–z,
/// 0–9, `_` and `-`, starting with a letter or digit.
#[derive(Debug, Subcommand)]
pub enum AccountsAction {
    /// Create an account with a zero balance.
    Create {
        /// The new account's id.
        id: String,
    },
    /// List every account with its balance and held points.
    List {
        /// Page, from 1.
        #[arg(long, default_value_t = 1)]
        page: u32,
        /// Accounts per page (1–1000).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Show one account: balance, held points, creation time.
    Show {
        /// The account id.
        id: String,
    },
    /// Add points to an account.
    TopUp {
        /// The account id.
        id: String,
        /// Points to add (1 to 10^15).
        #[arg(long)]
        points: i64,
        /// Why (kept on the ledger entry and the audit row; 1–500 characters).
        #[arg(long)]
        reason: String,
    },
    /// Add (positive) or take (negative) points; never below zero.
    Adjust {
        /// The account id.
        id: String,
        /// Points, e.g. `--points -250` (non-zero, at most 10^15 either way).
        #[arg(long, allow_negative_numbers = true)]
        points: i64,
        /// Why (kept on the ledger entry and the audit row; 1–500 characters).
        #[arg(long)]
        reason: String,
    },
    /// An account's ledger entries, newest first.
    Ledger {
        /// The account id.
        id: String,
        /// Page, from 1.
        #[arg(long, default_value_t = 1)]
        page: u32,
        /// Entries per page (1–1000).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let Cli {
        json,
        url,
        api_key,
        command,
    } = cli;
    let command = match command {
        Command::Serve(a) => return local::serve(a).await,
        Command::Providers(a) => return local::providers(a, json),
        Command::Demo(a) => return local::demo(a, json).await,
        Command::Sim(a) => return local::sim(a, json).await,
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "genmux",
                &mut std::io::stdout(),
            );
            return Ok(());
        }
        Command::Man => {
            return clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut std::io::stdout())
                .map_err(|e| CliError::Other(format!("writing the man page: {e}")));
        }
        other => other,
    };
    let ctx = gateway::Ctx::new(&url, api_key, json)?;
    match command {
        Command::Models { id } => match id {
            Some(id) => gateway::model(&ctx, &id).await,
            None => gateway::models(&ctx).await,
        },
        Command::Quote(r) => gateway::quote(&ctx, &r).await,
        Command::Generate(g) => gateway::generate(&ctx, &g).await,
        Command::Status { task_id } => gateway::status(&ctx, &task_id).await,
        Command::Tasks(t) => gateway::tasks(&ctx, &t).await,
        Command::Cancel { task_id } => gateway::cancel(&ctx, &task_id).await,
        Command::Usage { view } => gateway::usage(&ctx, &view).await,
        Command::Keys { action } => gateway::keys(&ctx, &action).await,
        Command::Accounts { action } => accounts::accounts(&ctx, &action).await,
        Command::Balance => accounts::balance(&ctx).await,
        Command::Serve(_)
        | Command::Providers(_)
        | Command::Demo(_)
        | Command::Sim(_)
        | Command::Completions { .. }
        | Command::Man => Ok(()),
    }
}
