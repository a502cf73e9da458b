//! Configuration of the Kling simulator: accounts, clock, task timings, faults.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use crate::clock::ClockMode;
use crate::fault::{FaultKey, FaultPlan, Faults};

/// The eight task kinds of `spec/kling-api.md`, each with its create/query/list path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Feature {
    /// `POST /v1/videos/text2video` (§2).
    Text2Video,
    /// `POST /v1/videos/image2video` (§3).
    Image2Video,
    /// `POST /v1/videos/multi-image2video` (§4).
    MultiImage2Video,
    /// `POST /v1/videos/motion-control` (§5).
    MotionControl,
    /// `POST /v1/videos/video-extend` (§6).
    VideoExtend,
    /// `POST /v1/videos/advanced-lip-sync` (§1).
    AdvancedLipSync,
    /// `POST /v1/images/generations` (§7).
    ImageGenerations,
    /// `POST /v1/images/omni-image` (§8).
    OmniImage,
}

impl Feature {
    /// All eight, in spec order of their paths.
    pub const ALL: [Feature; 8] = [
        Feature::Text2Video,
        Feature::Image2Video,
        Feature::MultiImage2Video,
        Feature::MotionControl,
        Feature::VideoExtend,
        Feature::AdvancedLipSync,
        Feature::ImageGenerations,
        Feature::OmniImage,
    ];

    /// The create path (also the list path; the query path appends `/{id}`).
    pub fn path(self) -> &'static str {
        match self {
            Feature::Text2Video => "/v1/videos/text2video",
            Feature::Image2Video => "/v1/videos/image2video",
            Feature::MultiImage2Video => "/v1/videos/multi-image2video",
            Feature::MotionControl => "/v1/videos/motion-control",
            Feature::VideoExtend => "/v1/videos/video-extend",
            Feature::AdvancedLipSync => "/v1/videos/advanced-lip-sync",
            Feature::ImageGenerations => "/v1/images/generations",
            Feature::OmniImage => "/v1/images/omni-image",
        }
    }

    /// Image tasks count against the image pack and hold `n` slots; the rest are video.
    pub fn is_image(self) -> bool {
        matches!(self, Feature::ImageGenerations | Feature::OmniImage)
    }

    /// Whether the single-task query accepts an `external_task_id` in place of the
    /// `task_id`: text2video, image2video and multi-image2video by the seed, and
    /// motion-control, video-extend, images/generations and omni-image by the 2026 docs
    /// (spec/kling-api.md "Reconciliation"); advanced-lip-sync looks up `task_id` only.
    pub fn query_accepts_external_id(self) -> bool {
        !matches!(self, Feature::AdvancedLipSync)
    }

    fn index(self) -> u64 {
        match self {
            Feature::Text2Video => 0,
            Feature::Image2Video => 1,
            Feature::MultiImage2Video => 2,
            Feature::MotionControl => 3,
            Feature::VideoExtend => 4,
            Feature::AdvancedLipSync => 5,
            Feature::ImageGenerations => 6,
            Feature::OmniImage => 7,
        }
    }
}

/// One endpoint of the simulator, the unit of fault injection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST <feature path>`.
    Create(Feature),
    /// `GET <feature path>/{id}`.
    Query(Feature),
    /// `GET <feature path>?pageNum&pageSize`.
    List(Feature),
    /// `POST /v1/videos/identify-face`.
    IdentifyFace,
    /// `GET /media/...` (result downloads).
    Media,
}

impl FaultKey for Endpoint {
    fn stable_id(&self) -> u64 {
        match self {
            Endpoint::Create(f) => 1 + f.index() * 4,
            Endpoint::Query(f) => 2 + f.index() * 4,
            Endpoint::List(f) => 3 + f.index() * 4,
            Endpoint::IdentifyFace => 1000,
            Endpoint::Media => 1001,
        }
    }
}

/// Standing of an account; anything but `Active` answers every call with the matching
/// 429 code (spec, errors table: 1100 abnormal, 1101 arrears, 1102 pack exhausted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AccountStatus {
    /// Normal.
    #[default]
    Active,
    /// 1100: account abnormal.
    Abnormal,
    /// 1101: account in arrears.
    InArrears,
    /// 1102: resource pack exhausted or expired.
    PackExhausted,
}

/// One Kling account: the AccessKey/SecretKey pair and its pack limits.
#[derive(Clone, Debug)]
pub struct KlingAccount {
    /// The JWT `iss`.
    pub access_key: String,
    /// The HS256 signing key.
    pub secret_key: String,
    /// Concurrent video tasks (submitted or processing) before 1303.
    pub video_concurrency: u32,
    /// Concurrent image slots (an image task holds `n`) before 1303.
    pub image_concurrency: u32,
    /// Account standing.
    pub status: AccountStatus,
    /// When set, models outside this list answer 1103 (403, no access to this model).
    pub allowed_models: Option<Vec<String>>,
    /// A static API key this account also accepts as the bearer token (spec "Auth").
    pub api_key: Option<String>,
}

impl KlingAccount {
    /// An active account with the default limits (5 video tasks, 9 image slots).
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        KlingAccount {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            video_concurrency: 5,
            image_concurrency: 9,
            status: AccountStatus::Active,
            allowed_models: None,
            api_key: None,
        }
    }

    /// Also accepts `key` as a static bearer token (spec "Auth").
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }
}

/// Which clock JWT `exp`/`nbf` are checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AuthClock {
    /// The machine's wall clock, like the real service: clients sign with wall time, so
    /// advancing the simulated clock by hours does not expire their tokens.
    #[default]
    Wall,
    /// The simulator's clock, to test token expiry by advancing it.
    Sim,
}

/// How long tasks stay in each state, on the simulated clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timings {
    /// `submitted` → `processing`.
    pub queue: Duration,
    /// `processing` → final, for video tasks.
    pub video: Duration,
    /// `processing` → final, for image tasks.
    pub image: Duration,
}

impl Default for Timings {
    /// 2 s queued, 30 s rendering a video, 10 s an image: every task is final 60 s after
    /// it was created.
    fn default() -> Self {
        Timings {
            queue: Duration::from_secs(2),
            video: Duration::from_secs(30),
            image: Duration::from_secs(10),
        }
    }
}

/// Everything the simulator can be told. `Default` gives one account
/// (`sim-access-key` / `sim-secret-key`), a manual clock, no faults, no failures.
#[derive(Clone, Debug)]
pub struct KlingSimConfig {
    /// Address to bind; default `127.0.0.1:0`.
    pub addr: SocketAddr,
    /// URL placed in result URLs instead of `http://<bound addr>` (behind a proxy).
    pub public_base_url: Option<String>,
    /// Accounts; at least one.
    pub accounts: Vec<KlingAccount>,
    /// How the clock moves.
    pub clock: ClockMode,
    /// Clock start in Unix ms; `None` = the wall clock at start.
    pub clock_start_ms: Option<i64>,
    /// Seed of every random choice (faults, failures, ids).
    pub seed: u64,
    /// Task state durations.
    pub timings: Timings,
    /// Share of tasks that end `failed` (drawn from the seeded stream at creation).
    pub failure_rate: f64,
    /// `task_status_msg` of failed tasks.
    pub failure_message: String,
    /// Fault plans.
    pub faults: Faults<Endpoint>,
    /// Which clock JWT times are checked against.
    pub auth_clock: AuthClock,
    /// Reject fields the spec does not list for an endpoint (1201, naming the field), so
    /// misspelt or camelCase fields are caught instead of silently ignored.
    pub strict_fields: bool,
    /// Prompts containing any of these (case-insensitive) are refused with 1301
    /// (content safety).
    pub blocked_words: Vec<String>,
    /// Real time allowed for one callback delivery.
    pub callback_timeout: Duration,
    /// Real time between ticks when the clock follows real time.
    pub tick_interval: Duration,
    /// URL prefixes of outside media the simulator downloads and measures, as Kling does
    /// with a `video_url` (motion control, identify-face): the MP4's own length and size
    /// then decide the output, the checks and the price. Empty (the default): nothing is
    /// downloaded and an outside video gets an assumed length. The sandbox names its
    /// sample server here ([`crate::samples`]), never an arbitrary host.
    pub measured_media: Vec<String>,
}

impl Default for KlingSimConfig {
    fn default() -> Self {
        KlingSimConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_base_url: None,
            accounts: vec![KlingAccount::new("sim-access-key", "sim-secret-key")],
            clock: ClockMode::Manual,
            clock_start_ms: None,
            seed: 0,
            timings: Timings::default(),
            failure_rate: 0.0,
            failure_message: "Task failed: the simulator's configured failure share".into(),
            faults: Faults {
                default: FaultPlan::default(),
                per_endpoint: HashMap::new(),
            },
            auth_clock: AuthClock::Wall,
            strict_fields: true,
            blocked_words: Vec::new(),
            callback_timeout: Duration::from_secs(5),
            tick_interval: Duration::from_millis(100),
            measured_media: Vec::new(),
        }
    }
}

impl KlingSimConfig {
    /// Listens on `127.0.0.1:<port>` (0 = any free port).
    pub fn with_port(mut self, port: u16) -> Self {
        self.addr = SocketAddr::from(([127, 0, 0, 1], port));
        self
    }

    /// Listens on `addr`.
    pub fn with_addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Seeds every random choice.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Lets the clock follow real time at `speed` simulated seconds per real second.
    pub fn with_speed(mut self, speed: f64) -> Self {
        self.clock = ClockMode::RealTime { speed };
        self
    }

    /// The same fault plan on every endpoint.
    pub fn with_faults(mut self, plan: FaultPlan) -> Self {
        self.faults.default = plan;
        self
    }

    /// A fault plan for one endpoint.
    pub fn with_endpoint_faults(mut self, endpoint: Endpoint, plan: FaultPlan) -> Self {
        self.faults.per_endpoint.insert(endpoint, plan);
        self
    }

    /// Share of tasks that end `failed`.
    pub fn with_failure_rate(mut self, rate: f64) -> Self {
        self.failure_rate = rate;
        self
    }

    /// Adds an account.
    pub fn with_account(mut self, account: KlingAccount) -> Self {
        self.accounts.push(account);
        self
    }

    /// Replaces the accounts.
    pub fn with_accounts(mut self, accounts: Vec<KlingAccount>) -> Self {
        self.accounts = accounts;
        self
    }

    /// Task state durations.
    pub fn with_timings(mut self, timings: Timings) -> Self {
        self.timings = timings;
        self
    }

    /// Checks the settings, naming the first bad one.
    pub fn validate(&self) -> Result<(), String> {
        if self.accounts.is_empty() {
            return Err("accounts: at least one account is required".into());
        }
        for (i, a) in self.accounts.iter().enumerate() {
            if a.access_key.is_empty() || a.secret_key.is_empty() {
                return Err(format!(
                    "accounts[{i}]: access_key and secret_key must be non-empty"
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.failure_rate) {
            return Err(format!(
                "failure_rate = {} is outside [0, 1]",
                self.failure_rate
            ));
        }
        if let ClockMode::RealTime { speed } = self.clock {
            if !(speed.is_finite() && speed > 0.0) {
                return Err(format!("clock speed = {speed} must be finite and > 0"));
            }
        }
        if self.tick_interval.is_zero() {
            return Err("tick_interval must be > 0".into());
        }
        Ok(())
    }
}
