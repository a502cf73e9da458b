//! Where an Ark account lives: BytePlus ModelArk (international, Asia-Pacific) or
//! Volcengine Ark (China). Keys are per region, and so are the model ids
//! (`spec/upstreams.md`, Seedance "Base", "Model ids").

/// BytePlus ModelArk (spec: "keys are per region, Seedance is served from Asia-Pacific").
pub const BYTEPLUS_BASE_URL: &str = "https://ark.ap-southeast.bytepluses.com/api/v3";
/// Volcengine Ark.
pub const VOLCENGINE_BASE_URL: &str = "https://ark.cn-beijing.volces.com/api/v3";

/// The region of an Ark base URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    /// BytePlus ModelArk: model ids as the catalog names them (`seedance-1-5-pro-251215`).
    BytePlus,
    /// Volcengine Ark: the same models prefixed `doubao-` (`doubao-seedance-1-5-pro-251215`).
    Volcengine,
}

impl Region {
    /// Volcengine for a host under `volces.com`, BytePlus for anything else (BytePlus is
    /// the default, and simulators speak its ids).
    ///
    /// ```
    /// use genmux_seedance::region::{Region, VOLCENGINE_BASE_URL, BYTEPLUS_BASE_URL};
    /// assert_eq!(Region::of_base_url(VOLCENGINE_BASE_URL), Region::Volcengine);
    /// assert_eq!(Region::of_base_url(BYTEPLUS_BASE_URL), Region::BytePlus);
    /// assert_eq!(Region::of_base_url("http://127.0.0.1:4010/api/v3"), Region::BytePlus);
    /// ```
    pub fn of_base_url(base_url: &str) -> Region {
        let host = url::Url::parse(base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
        match host {
            Some(h) if h == "volces.com" || h.ends_with(".volces.com") => Region::Volcengine,
            _ => Region::BytePlus,
        }
    }

    /// The id this region knows a catalog provider model by: the catalog names the
    /// BytePlus id; Volcengine's is the same with `doubao-` in front (spec "Model ids":
    /// `seedance-1-5-pro-251215` / `doubao-seedance-1-5-pro-251215`).
    ///
    /// ```
    /// use genmux_seedance::region::Region;
    /// assert_eq!(Region::Volcengine.model_id("seedance-1-5-pro-251215"), "doubao-seedance-1-5-pro-251215");
    /// assert_eq!(Region::BytePlus.model_id("seedance-1-5-pro-251215"), "seedance-1-5-pro-251215");
    /// ```
    pub fn model_id(self, provider_model: &str) -> String {
        const PREFIX: &str = "doubao-";
        match self {
            Region::Volcengine if provider_model.starts_with("seedance-") => {
                format!("{PREFIX}{provider_model}")
            }
            Region::BytePlus => provider_model
                .strip_prefix(PREFIX)
                .unwrap_or(provider_model)
                .to_string(),
            Region::Volcengine => provider_model.to_string(),
        }
    }
}
