//! The NPS pre-survey (SPEC §4.2, §4.6): on the hosted page of an invitation, before the
//! review, "how likely are you to recommend us, 0–10". Every respondent is then asked to
//! review whatever the score (reviews are never gated on sentiment); a detractor (0–6) also
//! opens a case for the vendor to remove the cause; a promoter (9–10) is offered the vendor's
//! referral link after the review. `GET /api/v1/reports/nps` reports the score.

use chrono::Datelike;
use serde::Serialize;
use utoipa::ToSchema;

use crate::core::Core;
use crate::domain::funnel::{NpsGroup, NpsTally};
use crate::error::{Error, Result};
use crate::funnel::invitations::{bad_link, claims_for, REVIEW};
use crate::store;
use crate::store::cases::{Case, DETRACTOR};

/// Records the invited buyer's answer (0–10). The first answer counts; answering again
/// changes nothing. 404 for a link that is not one of ours, 409 for an expired one or when
/// the shop does not ask the question.
pub async fn answer(core: &Core, token: &str, score: u8) -> Result<()> {
    if score > 10 {
        return Err(Error::validation("score", "must be between 0 and 10"));
    }
    let claims = claims_for(core, token, REVIEW)?;
    let (now, event_id, case_id) = (core.now_ms(), core.new_id(), core.new_id());
    core.db
        .write(move |conn| {
            let invitation = store::funnel::get(conn, &claims.vid, &claims.sub)?.ok_or_else(bad_link)?;
            if invitation.order_id != claims.oid {
                return Err(bad_link());
            }
            if !store::funnel::settings(conn, &invitation.vendor_id)?.nps {
                return Err(Error::Conflict("this shop does not ask the recommendation question".into()));
            }
            if !store::cases::answer_nps(conn, &invitation.id, i32::from(score), now)? {
                return Ok(());
            }
            let e = store::funnel::Event::of(event_id, &invitation, "nps_answered", now);
            store::funnel::record(conn, &e)?;
            if NpsGroup::of(score) == NpsGroup::Detractor {
                let about = (None, Some(invitation.id.clone()));
                let case = Case::open(case_id, &invitation.vendor_id, DETRACTOR, about, Some(i32::from(score)), now);
                store::cases::insert(conn, &case)?;
            }
            Ok(())
        })
        .await
}

/// One week of answers (weeks start on Monday, UTC).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NpsWeek {
    /// The Monday the week starts on, `YYYY-MM-DD`.
    pub week: String,
    #[serde(flatten)]
    pub tally: NpsTally,
}

/// `GET /api/v1/reports/nps`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NpsReport {
    pub days: i64,
    /// The whole window: NPS = % promoters (9–10) − % detractors (0–6).
    #[serde(flatten)]
    pub total: NpsTally,
    /// Per week, oldest first; weeks without answers are left out.
    pub weeks: Vec<NpsWeek>,
}

/// The NPS of the answers of the last `days` days (1–366).
pub async fn report(core: &Core, vendor_id: &str, days: i64) -> Result<NpsReport> {
    if !(1..=366).contains(&days) {
        return Err(Error::BadRequest("days must be between 1 and 366".into()));
    }
    let since = core.now_ms() - days * 86_400_000;
    let vendor_id = vendor_id.to_owned();
    let answers = core.db.run(move |conn| store::cases::nps_answers(conn, &vendor_id, since)).await?;
    let score = |s: i32| u8::try_from(s.clamp(0, 10)).unwrap_or(0);
    let mut weeks: std::collections::BTreeMap<chrono::NaiveDate, Vec<u8>> = Default::default();
    for (s, at) in &answers {
        let day = crate::clock::from_ms(*at).date_naive();
        let monday = day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()));
        weeks.entry(monday).or_default().push(score(*s));
    }
    Ok(NpsReport {
        days,
        total: NpsTally::of(answers.iter().map(|(s, _)| score(*s))),
        weeks: weeks
            .into_iter()
            .map(|(monday, scores)| NpsWeek {
                week: monday.format("%Y-%m-%d").to_string(),
                tally: NpsTally::of(scores),
            })
            .collect(),
    })
}
