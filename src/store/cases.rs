//! Cases (a negative review or an NPS detractor for the vendor to follow up) and the earlier
//! versions of reviews their authors updated after the vendor's reply.

use diesel::prelude::*;

use crate::db::schema::{cases, review_revisions, reviews};
use crate::db::DbConn;
use crate::error::{Error, Result};
use crate::store::reviews::Review;

pub const OPEN: &str = "open";
pub const RESOLVED: &str = "resolved";
/// A review of 1 or 2 stars.
pub const REVIEW: &str = "review";
/// An invited buyer who answered the NPS question 0–6.
pub const DETRACTOR: &str = "detractor";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = cases)]
pub struct Case {
    pub id: String,
    pub vendor_id: String,
    /// [`REVIEW`] or [`DETRACTOR`].
    pub kind: String,
    pub review_id: Option<String>,
    pub invitation_id: Option<String>,
    /// The NPS answer of a detractor case.
    pub score: Option<i32>,
    /// [`OPEN`] or [`RESOLVED`].
    pub state: String,
    pub opened_at: i64,
    pub resolved_at: Option<i64>,
    pub resolved_by: Option<String>,
    /// When the author was invited to update the review (once).
    pub update_invited_at: Option<i64>,
    /// When the author updated it.
    pub author_updated_at: Option<i64>,
}

impl Case {
    /// A new open case of `kind` about a review or an invitation.
    pub fn open(
        id: String,
        vendor_id: &str,
        kind: &str,
        about: (Option<String>, Option<String>),
        score: Option<i32>,
        now: i64,
    ) -> Case {
        Case {
            id,
            vendor_id: vendor_id.to_owned(),
            kind: kind.into(),
            review_id: about.0,
            invitation_id: about.1,
            score,
            state: OPEN.into(),
            opened_at: now,
            resolved_at: None,
            resolved_by: None,
            update_invited_at: None,
            author_updated_at: None,
        }
    }
}

/// An earlier version of a review, replaced by its author.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = review_revisions)]
pub struct Revision {
    pub review_id: String,
    pub version: i32,
    pub vendor_id: String,
    pub rating: i32,
    pub title: String,
    pub body: String,
    pub pros: Option<String>,
    pub cons: Option<String>,
    pub written_at: i64,
    pub replaced_at: i64,
}

pub fn insert(conn: &mut DbConn, case: &Case) -> Result<()> {
    diesel::insert_into(cases::table).values(case).execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConn, vendor_id: &str, id: &str) -> Result<Case> {
    cases::table
        .filter(cases::vendor_id.eq(vendor_id).and(cases::id.eq(id)))
        .select(Case::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("case"))
}

/// A case by id alone (the id came in a signed link).
pub fn by_id(conn: &mut DbConn, id: &str) -> Result<Option<Case>> {
    Ok(cases::table.find(id).select(Case::as_select()).first(conn).optional()?)
}

/// The vendor's cases in `state` (all when `None`), oldest first (ids are time-ordered),
/// after the cursor id.
pub fn page(
    conn: &mut DbConn,
    vendor_id: &str,
    state: Option<&str>,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<Case>> {
    let mut q = cases::table.filter(cases::vendor_id.eq(vendor_id)).select(Case::as_select()).into_boxed();
    if let Some(state) = state {
        q = q.filter(cases::state.eq(state.to_owned()));
    }
    if let Some(id) = after {
        q = q.filter(cases::id.gt(id));
    }
    Ok(q.order(cases::id.asc()).limit(limit).load(conn)?)
}

/// Resolves an open case; false if it was resolved meanwhile.
pub fn resolve(conn: &mut DbConn, id: &str, by: &str, now: i64) -> Result<bool> {
    let n = diesel::update(cases::table.find(id).filter(cases::state.eq(OPEN)))
        .set((cases::state.eq(RESOLVED), cases::resolved_at.eq(Some(now)), cases::resolved_by.eq(Some(by))))
        .execute(conn)?;
    Ok(n == 1)
}

/// Records the one invitation to update; false if the author was invited before.
pub fn mark_update_invited(conn: &mut DbConn, id: &str, now: i64) -> Result<bool> {
    let n = diesel::update(cases::table.find(id).filter(cases::update_invited_at.is_null()))
        .set(cases::update_invited_at.eq(Some(now)))
        .execute(conn)?;
    Ok(n == 1)
}

/// Records the author's one update; false if they updated before.
pub fn mark_author_updated(conn: &mut DbConn, id: &str, now: i64) -> Result<bool> {
    let n = diesel::update(
        cases::table.find(id).filter(cases::update_invited_at.is_not_null()).filter(cases::author_updated_at.is_null()),
    )
    .set(cases::author_updated_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Keeps the review's current version in its history and writes the author's new one
/// (rating, title, body). The UPDATE is conditional on the version read, so a concurrent
/// change makes it match no row (409).
pub fn revise(conn: &mut DbConn, review: &Review, rating: i32, title: &str, body: &str, now: i64) -> Result<Review> {
    let version: Option<i32> = review_revisions::table
        .filter(review_revisions::review_id.eq(&review.id))
        .select(diesel::dsl::max(review_revisions::version))
        .first(conn)?;
    let written_at = review_revisions::table
        .filter(review_revisions::review_id.eq(&review.id))
        .select(diesel::dsl::max(review_revisions::replaced_at))
        .first::<Option<i64>>(conn)?
        .unwrap_or(review.created_at);
    diesel::insert_into(review_revisions::table)
        .values(&Revision {
            review_id: review.id.clone(),
            version: version.unwrap_or(0) + 1,
            vendor_id: review.vendor_id.clone(),
            rating: review.rating,
            title: review.title.clone(),
            body: review.body.clone(),
            pros: review.pros.clone(),
            cons: review.cons.clone(),
            written_at,
            replaced_at: now,
        })
        .execute(conn)?;
    let n = diesel::update(
        reviews::table
            .filter(reviews::vendor_id.eq(&review.vendor_id).and(reviews::id.eq(&review.id)))
            .filter(reviews::status.eq(&review.status))
            .filter(reviews::rating.eq(review.rating))
            .filter(reviews::erased.eq(false)),
    )
    .set((reviews::rating.eq(rating), reviews::title.eq(title), reviews::body.eq(body), reviews::changed_at.eq(now)))
    .execute(conn)?;
    if n == 0 {
        return Err(Error::Conflict("the review changed meanwhile; open the link again".into()));
    }
    crate::store::reviews::get(conn, &review.vendor_id, &review.id)
}

/// The earlier versions of these reviews, oldest first.
pub fn revisions_for(conn: &mut DbConn, review_ids: &[String]) -> Result<Vec<Revision>> {
    if review_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(review_revisions::table
        .filter(review_revisions::review_id.eq_any(review_ids))
        .select(Revision::as_select())
        .order((review_revisions::review_id.asc(), review_revisions::version.asc()))
        .load(conn)?)
}

/// The NPS answers since `since`, of invitations and of review flows that started on the
/// shop's site: (score, answered at).
pub fn nps_answers(conn: &mut DbConn, vendor_id: &str, since: i64) -> Result<Vec<(i32, i64)>> {
    use crate::db::schema::{flows, invitations};
    let mut rows: Vec<(Option<i32>, Option<i64>)> = invitations::table
        .filter(invitations::vendor_id.eq(vendor_id).and(invitations::nps_at.ge(since)))
        .select((invitations::nps_score, invitations::nps_at))
        .load(conn)?;
    rows.extend(
        flows::table
            .filter(flows::vendor_id.eq(vendor_id).and(flows::nps_at.ge(since)))
            .select((flows::nps_score, flows::nps_at))
            .load::<(Option<i32>, Option<i64>)>(conn)?,
    );
    Ok(rows.into_iter().filter_map(|(s, at)| Some((s?, at?))).collect())
}

/// Records an invitation's NPS answer; false if it was answered before (the first answer
/// counts).
pub fn answer_nps(conn: &mut DbConn, invitation_id: &str, score: i32, now: i64) -> Result<bool> {
    use crate::db::schema::invitations;
    let n = diesel::update(invitations::table.find(invitation_id).filter(invitations::nps_score.is_null()))
        .set((invitations::nps_score.eq(Some(score)), invitations::nps_at.eq(Some(now))))
        .execute(conn)?;
    Ok(n == 1)
}
