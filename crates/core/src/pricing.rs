//! Table-driven prices in integer points.
//!
//! A [`PriceRule`] is data (it lives in the catalog TOML): the first [`Rate`] whose
//! conditions match the request gives `base + per_unit × (units − offset)`; a percentage
//! for generated audio applies on top; the result is rounded half-up to whole points, at
//! least 1. Internally every amount is an integer of micro-units, so no float reaches the
//! ledger (`ARCHITECTURE.md` "Money is integers").
//!
//! The same rule type describes a provider offering's upstream cost (in micro-USD), which
//! the router uses to order candidates.

use crate::request::Operation;
use serde::{Deserialize, Serialize};

/// One million: amounts are kept as integer micro-units.
pub const MICROS: i64 = 1_000_000;

/// Points per US dollar used to derive default prices from upstream USD prices.
///
/// 50 points = $1 (1 point = $0.02). At this rate the published midsync examples line up
/// with upstream costs: seedance 8 s 720p costs ≈ $0.21 upstream → 10 points (the seed's
/// example answer), and hailuo's published 34 points ≈ $0.68 covers MiniMax's ≈ $0.56.
pub const POINTS_PER_USD: i64 = 50;

/// What the per-unit amount multiplies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceUnit {
    /// Billed seconds of output (duration, shot sum, or lip-sync audio crop).
    #[default]
    Second,
    /// Images produced (`n`).
    Image,
    /// One per request.
    Request,
}

/// Conditions under which a [`Rate`] applies; an absent condition matches anything.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateCondition {
    /// Matches the (defaulted) resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Matches the (defaulted) mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Matches the (defaulted) quality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<String>,
    /// Matches whether audio is generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<bool>,
    /// Matches the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
}

/// One row of a price table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// When this row applies.
    #[serde(default)]
    pub when: RateCondition,
    /// Fixed amount per request (may be negative when combined with `offset`, as in
    /// grok's `9 + (d − 6) × 2`).
    #[serde(default)]
    pub base: f64,
    /// Amount per unit.
    #[serde(default)]
    pub per_unit: f64,
}

/// A price table: see the module docs for the formula.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceRule {
    /// What `per_unit` multiplies.
    #[serde(default)]
    pub unit: PriceUnit,
    /// Units subtracted before multiplying (grok: 6).
    #[serde(default)]
    pub offset: u32,
    /// Billed seconds are rounded up to a multiple of this (Kling lip sync: per 5 s).
    #[serde(default = "one")]
    pub billing_increment: u32,
    /// Percentage applied when audio is generated (100 = no change).
    #[serde(default = "hundred")]
    pub audio_percent: u32,
    /// Rows, first match wins.
    pub rates: Vec<Rate>,
    /// Free-text note on where the figures come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

fn one() -> u32 {
    1
}
fn hundred() -> u32 {
    100
}

/// The facts of a (validated, defaulted) request that a price depends on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PriceInputs<'a> {
    /// The operation.
    pub operation: Option<Operation>,
    /// Resolution after defaults.
    pub resolution: Option<&'a str>,
    /// Mode after defaults.
    pub mode: Option<&'a str>,
    /// Quality after defaults.
    pub quality: Option<&'a str>,
    /// Audio generated.
    pub audio: bool,
    /// Seconds of output (after defaults).
    pub seconds: u32,
    /// Images requested.
    pub images: u32,
}

/// Why a price cannot be computed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PriceError {
    /// No row of the table matches.
    #[error("no price is defined for {0}")]
    NoRate(String),
    /// The amount does not fit in an i64.
    #[error("price overflows")]
    Overflow,
}

impl RateCondition {
    fn matches(&self, i: &PriceInputs<'_>) -> bool {
        fn eq(want: &Option<String>, got: Option<&str>) -> bool {
            want.as_deref().is_none_or(|w| Some(w) == got)
        }
        eq(&self.resolution, i.resolution)
            && eq(&self.mode, i.mode)
            && eq(&self.quality, i.quality)
            && self.audio.is_none_or(|a| a == i.audio)
            && self.operation.is_none_or(|o| Some(o) == i.operation)
    }
}

fn to_micros(x: f64) -> Result<i64, PriceError> {
    let m = (x * MICROS as f64).round();
    if m.is_finite() && m.abs() < 9.0e18 {
        Ok(m as i64)
    } else {
        Err(PriceError::Overflow)
    }
}

impl PriceRule {
    /// The billed units for `inputs` (seconds rounded up to the billing increment, images,
    /// or 1).
    pub fn units(&self, i: &PriceInputs<'_>) -> u32 {
        match self.unit {
            PriceUnit::Second => {
                let inc = self.billing_increment.max(1);
                i.seconds.div_ceil(inc).saturating_mul(inc)
            }
            PriceUnit::Image => i.images.max(1),
            PriceUnit::Request => 1,
        }
    }

    /// The amount in micro-units (micro-points for a catalog price, micro-USD for an
    /// upstream cost), before rounding.
    pub fn amount_micros(&self, i: &PriceInputs<'_>) -> Result<i64, PriceError> {
        let rate = self
            .rates
            .iter()
            .find(|r| r.when.matches(i))
            .ok_or_else(|| PriceError::NoRate(describe(i)))?;
        let units = i64::from(self.units(i)) - i64::from(self.offset);
        let mut amount = to_micros(rate.base)?
            .checked_add(
                to_micros(rate.per_unit)?
                    .checked_mul(units)
                    .ok_or(PriceError::Overflow)?,
            )
            .ok_or(PriceError::Overflow)?;
        if i.audio && self.audio_percent != 100 {
            amount = amount
                .checked_mul(i64::from(self.audio_percent))
                .ok_or(PriceError::Overflow)?
                / 100;
        }
        Ok(amount)
    }

    /// The price in whole points: the amount rounded half-up, never below 1.
    pub fn points(&self, i: &PriceInputs<'_>) -> Result<i64, PriceError> {
        let micros = self.amount_micros(i)?;
        Ok(((micros + MICROS / 2).div_euclid(MICROS)).max(1))
    }
}

fn describe(i: &PriceInputs<'_>) -> String {
    let mut parts = Vec::new();
    if let Some(o) = i.operation {
        parts.push(format!("operation {o}"));
    }
    if let Some(r) = i.resolution {
        parts.push(format!("resolution {r}"));
    }
    if let Some(m) = i.mode {
        parts.push(format!("mode {m}"));
    }
    if let Some(q) = i.quality {
        parts.push(format!("quality {q}"));
    }
    if i.audio {
        parts.push("audio".into());
    }
    if parts.is_empty() {
        "this request".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grok() -> PriceRule {
        // spec/upstreams.md: 480p = 9 + (d − 6) × 2; 720p = 17 + (d − 6) × 2
        PriceRule {
            offset: 6,
            rates: vec![
                Rate {
                    when: RateCondition {
                        resolution: Some("480p".into()),
                        ..Default::default()
                    },
                    base: 9.0,
                    per_unit: 2.0,
                },
                Rate {
                    when: RateCondition {
                        resolution: Some("720p".into()),
                        ..Default::default()
                    },
                    base: 17.0,
                    per_unit: 2.0,
                },
            ],
            ..PriceRule::default_with_rates()
        }
    }

    impl PriceRule {
        fn default_with_rates() -> Self {
            PriceRule {
                billing_increment: 1,
                audio_percent: 100,
                ..Default::default()
            }
        }
    }

    #[test]
    fn grok_formula_is_reproduced_for_every_duration() {
        let rule = grok();
        for d in 6..=30u32 {
            for (res, base) in [("480p", 9), ("720p", 17)] {
                let i = PriceInputs {
                    resolution: Some(res),
                    seconds: d,
                    ..Default::default()
                };
                assert_eq!(
                    rule.points(&i).unwrap(),
                    base + (i64::from(d) - 6) * 2,
                    "{res} {d}s"
                );
            }
        }
    }

    #[test]
    fn no_matching_rate_names_the_inputs() {
        let i = PriceInputs {
            resolution: Some("1080p"),
            seconds: 10,
            ..Default::default()
        };
        assert_eq!(
            grok().points(&i),
            Err(PriceError::NoRate("resolution 1080p".into()))
        );
    }

    #[test]
    fn audio_percent_and_rounding_and_increment() {
        let rule = PriceRule {
            billing_increment: 5,
            audio_percent: 150,
            rates: vec![Rate {
                per_unit: 0.7,
                ..Default::default()
            }],
            ..PriceRule::default_with_rates()
        };
        // 6 s → billed 10 s → 7.0 points
        let i = PriceInputs {
            seconds: 6,
            ..Default::default()
        };
        assert_eq!(rule.points(&i).unwrap(), 7);
        // with audio ×1.5 → 10.5 → rounds half-up to 11
        let a = PriceInputs {
            seconds: 6,
            audio: true,
            ..Default::default()
        };
        assert_eq!(rule.points(&a).unwrap(), 11);
        // never below one point
        let tiny = PriceRule {
            rates: vec![Rate {
                per_unit: 0.01,
                ..Default::default()
            }],
            ..PriceRule::default_with_rates()
        };
        assert_eq!(
            tiny.points(&PriceInputs {
                seconds: 1,
                ..Default::default()
            })
            .unwrap(),
            1
        );
    }
}
