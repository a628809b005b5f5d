//! The funnel report (`GET /api/v1/reports/funnel`): what happened to the vendor's
//! invitations over a window, per step, per channel and per trigger, with the conversion
//! from invited.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::core::Core;
use crate::error::{Error, Result};
use crate::store;

/// The steps counted, in funnel order.
pub const STEPS: [&str; 8] =
    ["invited", "opened", "nps_answered", "reminded", "reviewed", "incentive_granted", "opted_out", "bounced"];

/// Counts per step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct StepCounts {
    pub invited: i64,
    pub opened: i64,
    /// Answers to the NPS pre-survey.
    pub nps_answered: i64,
    pub reminded: i64,
    pub reviewed: i64,
    /// Thank-you messages sent for granted incentives.
    pub incentive_granted: i64,
    pub opted_out: i64,
    pub bounced: i64,
}

impl StepCounts {
    fn add(&mut self, kind: &str, n: i64) {
        let slot = match kind {
            "invited" => &mut self.invited,
            "opened" => &mut self.opened,
            "nps_answered" => &mut self.nps_answered,
            "reminded" => &mut self.reminded,
            "reviewed" => &mut self.reviewed,
            "incentive_granted" => &mut self.incentive_granted,
            "opted_out" => &mut self.opted_out,
            "bounced" => &mut self.bounced,
            _ => return,
        };
        *slot += n;
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelCounts {
    /// `email` (SMS invitations come later).
    pub channel: String,
    #[serde(flatten)]
    pub counts: StepCounts,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TriggerCounts {
    /// What prompted the invitations: `order` (the imported order itself) or a trigger
    /// (`repeat_purchase`, `successful_use`, `social_mention`, `long_session`, `referral`).
    pub trigger: String,
    #[serde(flatten)]
    pub counts: StepCounts,
}

/// Shares of the invited, 0–1 (`null` before anyone was invited).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Conversion {
    pub opened: Option<f64>,
    pub reviewed: Option<f64>,
    pub opted_out: Option<f64>,
    pub bounced: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FunnelReport {
    /// The window, `(from, to]`, RFC 3339.
    pub from: String,
    pub to: String,
    pub steps: StepCounts,
    pub conversion: Conversion,
    pub by_channel: Vec<ChannelCounts>,
    pub by_trigger: Vec<TriggerCounts>,
}

/// The report over the last `days` days (1–366).
pub async fn funnel(core: &Core, vendor_id: &str, days: i64) -> Result<FunnelReport> {
    if !(1..=366).contains(&days) {
        return Err(Error::BadRequest("days must be between 1 and 366".into()));
    }
    let to = core.now_ms();
    let from = to - days * 86_400_000;
    let vendor_id = vendor_id.to_owned();
    let rows = core.db.run(move |conn| store::funnel::event_counts(conn, &vendor_id, from, to)).await?;
    let mut steps = StepCounts::default();
    let mut channels: BTreeMap<String, StepCounts> = BTreeMap::new();
    let mut triggers: BTreeMap<String, StepCounts> = BTreeMap::new();
    for (kind, channel, prompt, n) in rows {
        steps.add(&kind, n);
        channels.entry(channel).or_default().add(&kind, n);
        triggers.entry(prompt.unwrap_or_else(|| "order".into())).or_default().add(&kind, n);
    }
    let share = |n: i64| (steps.invited > 0).then(|| n as f64 / steps.invited as f64);
    let conversion = Conversion {
        opened: share(steps.opened),
        reviewed: share(steps.reviewed),
        opted_out: share(steps.opted_out),
        bounced: share(steps.bounced),
    };
    Ok(FunnelReport {
        from: crate::clock::from_ms(from).to_rfc3339(),
        to: crate::clock::from_ms(to).to_rfc3339(),
        conversion,
        steps,
        by_channel: channels.into_iter().map(|(channel, counts)| ChannelCounts { channel, counts }).collect(),
        by_trigger: triggers.into_iter().map(|(trigger, counts)| TriggerCounts { trigger, counts }).collect(),
    })
}
